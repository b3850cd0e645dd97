/*
 * scheduler.c: the scheduler's heap. Targets carry their due time (monotonic
 * microseconds) and their heap position; the timer is re-armed against the
 * absolute due time of the heap's top after every change.
 */
#include <stdlib.h>

#include <event2/event.h>

#include "log.h"
#include "probed.h"
#include "scheduler.h"
#include "util.h"
#include "xmalloc.h"

#define NOT_QUEUED	((size_t)-1)

struct sched {
	struct event_base *base;
	struct event	*timer;
	struct target	**heap;
	size_t		 n, cap;
	sched_fire_fn	 fire;
	void		*arg;
	int64_t		 armed;		/* due time the timer is set for */
};

static void	on_due(evutil_socket_t, short, void *);
static void	rearm(struct sched *);

static void
swap(struct sched *s, size_t a, size_t b)
{
	struct target *t = s->heap[a];

	s->heap[a] = s->heap[b];
	s->heap[b] = t;
	s->heap[a]->heap_idx = a;
	s->heap[b]->heap_idx = b;
}

static void
up(struct sched *s, size_t i)
{
	while (i > 0 && s->heap[(i - 1) / 2]->due > s->heap[i]->due) {
		swap(s, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void
down(struct sched *s, size_t i)
{
	size_t l, r, m;

	for (;;) {
		l = 2 * i + 1;
		r = l + 1;
		m = i;
		if (l < s->n && s->heap[l]->due < s->heap[m]->due)
			m = l;
		if (r < s->n && s->heap[r]->due < s->heap[m]->due)
			m = r;
		if (m == i)
			return;
		swap(s, i, m);
		i = m;
	}
}

struct sched *
sched_new(struct event_base *base, sched_fire_fn fire, void *arg)
{
	struct sched *s;

	s = xcalloc(1, sizeof(*s));
	s->base = base;
	s->fire = fire;
	s->arg = arg;
	s->armed = -1;
	if ((s->timer = evtimer_new(base, on_due, s)) == NULL)
		fatalx("sched: evtimer_new");
	return s;
}

void
sched_free(struct sched *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->n; i++)
		s->heap[i]->heap_idx = NOT_QUEUED;
	event_free(s->timer);
	free(s->heap);
	free(s);
}

static void
rearm(struct sched *s)
{
	struct timeval	 tv;

	if (s->n == 0) {
		evtimer_del(s->timer);
		s->armed = -1;
		return;
	}
	if (s->armed == s->heap[0]->due && evtimer_pending(s->timer, NULL))
		return;
	us_to_timeval(s->heap[0]->due - mono_us(), &tv);
	evtimer_add(s->timer, &tv);
	s->armed = s->heap[0]->due;
}

/* Queue t at due, or move it there if queued already. */
void
sched_set(struct sched *s, struct target *t, int64_t due)
{
	if (t->heap_idx != NOT_QUEUED && t->heap_idx < s->n &&
	    s->heap[t->heap_idx] == t) {
		t->due = due;
		up(s, t->heap_idx);
		down(s, t->heap_idx);
	} else {
		if (s->n == s->cap) {
			s->cap = s->cap ? s->cap * 2 : 64;
			s->heap = xreallocarray(s->heap, s->cap,
			    sizeof(*s->heap));
		}
		t->due = due;
		t->heap_idx = s->n;
		s->heap[s->n++] = t;
		up(s, t->heap_idx);
	}
	rearm(s);
}

void
sched_remove(struct sched *s, struct target *t)
{
	size_t i = t->heap_idx;

	if (i == NOT_QUEUED || i >= s->n || s->heap[i] != t)
		return;
	t->heap_idx = NOT_QUEUED;
	s->n--;
	if (i != s->n) {
		s->heap[i] = s->heap[s->n];
		s->heap[i]->heap_idx = i;
		up(s, i);
		down(s, i);
	}
	rearm(s);
}

/* Fire every target that is due; each leaves the heap before it runs. */
static void
on_due(evutil_socket_t fd, short what, void *arg)
{
	struct sched	*s = arg;
	struct target	*t;
	int64_t		 now = mono_us();

	s->armed = -1;
	while (s->n > 0 && s->heap[0]->due <= now + 500) {
		t = s->heap[0];
		t->heap_idx = NOT_QUEUED;
		s->n--;
		if (s->n > 0) {
			s->heap[0] = s->heap[s->n];
			s->heap[0]->heap_idx = 0;
			down(s, 0);
		}
		s->fire(t, s->arg);
	}
	rearm(s);
}
