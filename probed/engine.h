/*
 * engine.h: the probe engine's life: made from a config on a loop, run
 * until told to stop, saved on the way out.
 */
#ifndef TOCSIN_ENGINE_H
#define TOCSIN_ENGINE_H

struct conf;
struct event_base;
struct engine;
struct ctl;

struct engine	*engine_new(struct event_base *, struct conf *, char **err);
void		 engine_free(struct engine *);
void		 engine_set_ctl(struct engine *, struct ctl *);

#endif
