/*
 * scheduler.h: when each target runs next: a binary heap on the due time and
 * one libevent timer armed for the earliest, so a hundred thousand idle
 * targets cost one pointer each here and no event.
 */
#ifndef TOCSIN_SCHEDULER_H
#define TOCSIN_SCHEDULER_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct sched;
struct target;

typedef void	(*sched_fire_fn)(struct target *, void *arg);

struct sched	*sched_new(struct event_base *, sched_fire_fn, void *arg);
void		 sched_free(struct sched *);
void		 sched_set(struct sched *, struct target *, int64_t due);
void		 sched_remove(struct sched *, struct target *);

#endif
