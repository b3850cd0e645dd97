/*
 * handoff.h: items queued by any thread and handed, in order, to one
 * callback on an event loop (handoff.c). What worker threads use to give
 * their results back to the loop.
 */
#ifndef TOCSIN_HANDOFF_H
#define TOCSIN_HANDOFF_H

#include <event2/event.h>

struct handoff;
typedef void	 handoff_fn(void *item, void *arg);

/* handoff.c */
struct handoff	*handoff_new(struct event_base *, handoff_fn *, void *);
void		 handoff_push(struct handoff *, void *);
void		 handoff_drain(struct handoff *);
void		 handoff_free(struct handoff *, handoff_fn *);

#endif
