/*
 * confref.h: a config and the probes still using it, so a reload never
 * pulls settings from under a check in flight.
 */
#ifndef TOCSIN_CONFREF_H
#define TOCSIN_CONFREF_H

struct conf;
struct confref;

struct confref	*confref_new(struct conf *);
struct conf	*confref_conf(const struct confref *);
struct confref	*confref_hold(struct confref *);
void		 confref_drop(struct confref *);
void		 confref_retire(struct confref *);

#endif
