/*
 * slots.h: how many checks may run: a global limit (max-concurrent) and a
 * per-address one (max-per-host), with the targets that wait for a slot
 * in first-come order, one place each, so every target of a busy address
 * gets its turn.
 */
#ifndef TOCSIN_SLOTS_H
#define TOCSIN_SLOTS_H

#include <stdint.h>

struct event_base;
struct slots;
struct hostq;
struct target;

/* Start t's check now: its slots are taken. */
typedef void	(*slots_start_fn)(struct target *, void *arg);

struct slots	*slots_new(struct event_base *, slots_start_fn, void *arg);
void		 slots_free(struct slots *);
void		 slots_set_limit(struct slots *, unsigned max_total);
struct hostq	*slots_host(struct slots *, const char *host);
void		 slots_want(struct slots *, struct target *);
void		 slots_cancel(struct slots *, struct target *);
void		 slots_release(struct slots *, struct target *,
		    int64_t ok_latency_us);
void		 slots_pump(struct slots *);
uint64_t	 slots_running(const struct slots *);
uint64_t	 slots_waiting(const struct slots *);

#endif
