/*
 * confref.h: a config and the probes still using it, so a reload never
 * pulls settings from under a check in flight; with it, what probed
 * prepared from it once at load (its HTTP requests), freed with it.
 */
#ifndef TOCSIN_CONFREF_H
#define TOCSIN_CONFREF_H

struct conf;
struct confref;

typedef void	(*confref_prep_free)(void *);

struct confref	*confref_new(struct conf *, void *prep, confref_prep_free);
struct conf	*confref_conf(const struct confref *);
void		*confref_prep(const struct confref *);
struct confref	*confref_hold(struct confref *);
void		 confref_drop(struct confref *);
void		 confref_retire(struct confref *);

#endif
