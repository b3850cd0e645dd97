/*
 * slots.c: the limits on checks in flight. A target that is due takes a
 * global slot and, when its server has an address, one of that address's
 * slots; if either is full it waits in a queue: the global one, or its
 * address's own. Each target waits at most once, so a queue is a fair
 * round of the targets of an address, and every step is O(1): addresses
 * are found by pointer (looked up once by name when a target is made), a
 * slot freed starts the oldest waiter that can run.
 *
 * The per-address limit spares a server; it must not let a hung site
 * starve its healthy neighbours. So a check that has run far longer than
 * the address's healthy checks typically take (RELEASE_FACTOR times their
 * mean, at least RELEASE_FLOOR_US) gives its address slot back: it still
 * runs to its own timeout and still holds its global slot, but the server
 * is no longer working for it.
 */
#include <sys/queue.h>

#include <stdlib.h>

#include <event2/event.h>

#include "hash.h"
#include "log.h"
#include "util.h"
#include "xmalloc.h"

#include "probed.h"
#include "slots.h"

#define RELEASE_FACTOR	8
#define RELEASE_FLOOR_US 100000	/* 100 ms */

enum wait_place { WAIT_NONE, WAIT_GLOBAL, WAIT_HOST };

/* One address's share. */
struct hostq {
	struct slots	*s;
	unsigned	 active;	/* slots held */
	int64_t		 typical_us;	/* mean latency of healthy checks;
					   0 = none seen yet */
	TAILQ_HEAD(, target) waiting;
	TAILQ_HEAD(, target) holding;	/* oldest first */
	TAILQ_ENTRY(hostq) ready_link;	/* in s->ready */
	int		 ready;		/* has room and a waiter */
	struct event	*timer;		/* next hung check's release */
};

struct slots {
	struct event_base *base;
	slots_start_fn	 start;
	void		*arg;
	unsigned	 max_total;	/* 0: no global limit */
	uint64_t	 running;
	uint64_t	 nwaiting;
	struct hash	*hosts;		/* name -> struct hostq */
	TAILQ_HEAD(, target) gwait;	/* waiting for a global slot */
	TAILQ_HEAD(, hostq) ready;	/* addresses that can start a waiter */
	int		 pumping;
	int		 again;
};

static void	on_release(evutil_socket_t, short, void *);
static void	host_update(struct hostq *);
static void	pump(struct slots *);

struct slots *
slots_new(struct event_base *base, slots_start_fn start, void *arg)
{
	struct slots *s;

	s = xcalloc(1, sizeof(*s));
	s->base = base;
	s->start = start;
	s->arg = arg;
	s->hosts = hash_new();
	TAILQ_INIT(&s->gwait);
	TAILQ_INIT(&s->ready);
	return s;
}

static void
host_free(void *v)
{
	struct hostq *h = v;

	if (h->timer != NULL)
		event_free(h->timer);
	free(h);
}

void
slots_free(struct slots *s)
{
	if (s == NULL)
		return;
	hash_free(s->hosts, host_free);
	free(s);
}

void
slots_set_limit(struct slots *s, unsigned max_total)
{
	s->max_total = max_total;
	pump(s);
}

/* The share of an address (a server's host name); made on first use and
 * kept for the daemon's life. NULL for servers with no host. */
struct hostq *
slots_host(struct slots *s, const char *host)
{
	struct hostq *h;

	if (host == NULL)
		return NULL;
	if ((h = hash_get(s->hosts, host)) != NULL)
		return h;
	h = xcalloc(1, sizeof(*h));
	h->s = s;
	TAILQ_INIT(&h->waiting);
	TAILQ_INIT(&h->holding);
	hash_put(s->hosts, host, h);
	return h;
}

static int
global_room(const struct slots *s)
{
	return s->max_total == 0 || s->running < s->max_total;
}

/* How long a check may hold its address slot; 0: until it ends. */
static int64_t
release_after(const struct hostq *h)
{
	int64_t us;

	if (h->typical_us == 0)
		return 0;
	us = h->typical_us * RELEASE_FACTOR;
	return us < RELEASE_FLOOR_US ? RELEASE_FLOOR_US : us;
}

static void
unhold(struct target *t)
{
	struct hostq *h = t->held;

	TAILQ_REMOVE(&h->holding, t, hold_link);
	h->active--;
	t->held = NULL;
}

/* Give back the slots of checks that hung past release_after. */
static void
release_hung(struct hostq *h, int64_t now)
{
	struct target	*t;
	int64_t		 after = release_after(h);

	if (after == 0)
		return;
	while ((t = TAILQ_FIRST(&h->holding)) != NULL &&
	    now - t->started_mono >= after) {
		log_debug("%s: running %lld ms, its address slot goes to "
		    "the next site", t->sc->id,
		    (long long)(now - t->started_mono) / 1000);
		unhold(t);
	}
}

/* May t take a slot of its address now? */
static int
host_room(struct hostq *h, const struct target *t)
{
	unsigned max = t->sc->o.max_per_host;

	if (h == NULL || max == 0 || h->active < max)
		return 1;
	release_hung(h, mono_us());
	return h->active < max;
}

/* Take t's slots and start it. */
static void
begin(struct slots *s, struct target *t)
{
	s->running++;
	if (t->host != NULL) {
		t->held = t->host;
		t->host->active++;
		TAILQ_INSERT_TAIL(&t->host->holding, t, hold_link);
	}
	s->start(t, s->arg);
}

static void
wait_in(struct slots *s, struct target *t, struct hostq *h)
{
	if (h != NULL) {
		TAILQ_INSERT_TAIL(&h->waiting, t, wait_link);
		t->waiting = WAIT_HOST;
		t->wait_on = h;
	} else {
		TAILQ_INSERT_TAIL(&s->gwait, t, wait_link);
		t->waiting = WAIT_GLOBAL;
	}
	s->nwaiting++;
}

static void
unwait(struct slots *s, struct target *t)
{
	if (t->waiting == WAIT_HOST)
		TAILQ_REMOVE(&t->wait_on->waiting, t, wait_link);
	else
		TAILQ_REMOVE(&s->gwait, t, wait_link);
	t->waiting = WAIT_NONE;
	t->wait_on = NULL;
	s->nwaiting--;
}

/* t has a global slot: start it, or wait behind its address. */
static void
place(struct slots *s, struct target *t)
{
	struct hostq *h = t->host;

	if (h != NULL && (!TAILQ_EMPTY(&h->waiting) || !host_room(h, t))) {
		wait_in(s, t, h);
		host_update(h);
		return;
	}
	begin(s, t);
}

/*
 * Keep h in the ready list exactly when its first waiter could start, and
 * its timer armed for the next release while a waiter is blocked.
 */
static void
host_update(struct hostq *h)
{
	struct slots	*s = h->s;
	struct target	*w = TAILQ_FIRST(&h->waiting), *old;
	int		 ready = w != NULL && host_room(h, w);
	struct timeval	 tv;
	int64_t		 after;

	if (ready && !h->ready)
		TAILQ_INSERT_TAIL(&s->ready, h, ready_link);
	else if (!ready && h->ready)
		TAILQ_REMOVE(&s->ready, h, ready_link);
	h->ready = ready;
	if (w == NULL || ready || (after = release_after(h)) == 0 ||
	    (old = TAILQ_FIRST(&h->holding)) == NULL) {
		if (h->timer != NULL)
			evtimer_del(h->timer);
		return;
	}
	if (h->timer == NULL &&
	    (h->timer = evtimer_new(s->base, on_release, h)) == NULL)
		fatalx("slots: evtimer_new");
	us_to_timeval(old->started_mono + after - mono_us(), &tv);
	evtimer_add(h->timer, &tv);
}

static void
on_release(evutil_socket_t fd, short what, void *arg)
{
	struct hostq *h = arg;

	host_update(h);
	pump(h->s);
}

/*
 * Start waiters while there is a global slot: the one that has waited
 * longest of the global queue's first and the first ready address's.
 * Re-entered from a start that ends at once: the outer call goes on.
 */
static void
pump(struct slots *s)
{
	struct target	*a, *b;
	struct hostq	*h;

	if (s->pumping) {
		s->again = 1;
		return;
	}
	s->pumping = 1;
	do {
		s->again = 0;
		while (global_room(s)) {
			a = TAILQ_FIRST(&s->gwait);
			h = TAILQ_FIRST(&s->ready);
			b = h != NULL ? TAILQ_FIRST(&h->waiting) : NULL;
			if (a == NULL && b == NULL)
				break;
			if (a != NULL && (b == NULL ||
			    a->wait_since <= b->wait_since)) {
				unwait(s, a);
				place(s, a);
			} else {
				unwait(s, b);
				begin(s, b);
				host_update(h);
			}
		}
	} while (s->again);
	s->pumping = 0;
}

/* t is due: start it now if both its limits allow, else queue it. */
void
slots_want(struct slots *s, struct target *t)
{
	if (t->waiting != WAIT_NONE)
		return;
	t->wait_since = mono_us();
	if (!global_room(s) || !TAILQ_EMPTY(&s->gwait)) {
		wait_in(s, t, NULL);
		return;
	}
	place(s, t);
	/* Queuing t may have released hung slots: start who can. */
	pump(s);
}

/* t no longer waits (removed by a reload, or shutdown). */
void
slots_cancel(struct slots *s, struct target *t)
{
	struct hostq *h = t->wait_on;

	if (t->waiting == WAIT_NONE)
		return;
	unwait(s, t);
	if (h != NULL)
		host_update(h);
	pump(s);
}

/*
 * t's check ended: its slots go back (call slots_pump next, once t may be
 * gone). ok_latency_us: how long a healthy check took, feeding the
 * address's typical latency; negative when the check failed.
 */
void
slots_release(struct slots *s, struct target *t, int64_t ok_latency_us)
{
	struct hostq *h = t->held;

	s->running--;
	if (h != NULL)
		unhold(t);
	if (t->host != NULL && ok_latency_us >= 0) {
		if (t->host->typical_us == 0)
			t->host->typical_us = ok_latency_us + 1;
		else
			t->host->typical_us += (ok_latency_us + 1 -
			    t->host->typical_us) / 8;
	}
	if (h != NULL)
		host_update(h);
}

/* Start the waiters that can, now that slots are free. */
void
slots_pump(struct slots *s)
{
	pump(s);
}

uint64_t
slots_running(const struct slots *s)
{
	return s->running;
}

uint64_t
slots_waiting(const struct slots *s)
{
	return s->nwaiting;
}
