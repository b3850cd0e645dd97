/*
 * queue.c: sessions and requests waiting for a member slot when every
 * member their farm may use is at its maxconn. One FIFO for all farms,
 * at most LB_QUEUE_MAX waiters a farm; each waits at most the connect
 * timeout. A freed slot wakes the queue on the next loop turn: each
 * waiter in order tries again, and those that find a slot leave it.
 * Each loop (set lb-threads) has its own queue; as maxconn counts every
 * loop's sessions, a slot freed in one loop wakes the queues of all.
 */
#include <sys/queue.h>

#include <pthread.h>
#include <stdlib.h>

#include <event2/event.h>

#include "log.h"
#include "util.h"

#include "lb.h"

/* One queue a loop (thread). */
TAILQ_HEAD(waiterq, waiter);
static _Thread_local struct waiterq waiters_;
static _Thread_local int waiters_ready;
static _Thread_local struct event *kick_ev;

/* Every loop's kick_ev, for queue_kick_all; under kicks_lock. */
#define QUEUE_LOOPS_MAX	256
static struct event	*kicks[QUEUE_LOOPS_MAX];
static size_t		 nkicks;
static pthread_mutex_t	 kicks_lock = PTHREAD_MUTEX_INITIALIZER;

static struct waiterq *
waitq(void)
{
	if (!waiters_ready) {
		TAILQ_INIT(&waiters_);
		waiters_ready = 1;
	}
	return &waiters_;
}

static void	on_kick(evutil_socket_t, short, void *);
static void	on_expire(evutil_socket_t, short, void *);

/*
 * Queue w for farm f: retry(arg) is called when a slot may be free (it
 * takes one and calls queue_cancel, or leaves w queued), expire(arg)
 * after the farm's connect timeout, w already out of the queue. Returns 0, or
 * -1 when the farm's queue is full (w is not queued).
 */
int
queue_add(struct lb *lb, struct waiter *w, struct farm *f,
    void (*retry)(void *), void (*expire)(void *), void *arg)
{
	struct timeval	 tv;

	ms_to_timeval(f->connect_ms, &tv);
	if (w->queued)
		return 0;
	if (f->st->nqueued >= LB_QUEUE_MAX)
		return -1;
	if (kick_ev == NULL) {
		if ((kick_ev = event_new(lb->base, -1, 0, on_kick, NULL)) ==
		    NULL)
			fatalx("out of memory for the queue's event");
		pthread_mutex_lock(&kicks_lock);
		if (nkicks < QUEUE_LOOPS_MAX)
			kicks[nkicks++] = kick_ev;
		pthread_mutex_unlock(&kicks_lock);
	}
	if ((w->timer = evtimer_new(lb->base, on_expire, w)) == NULL)
		fatalx("out of memory for a waiter's timer");
	w->farm = f;
	w->retry = retry;
	w->expire = expire;
	w->arg = arg;
	w->queued = 1;
	f->st->nqueued++;
	f->st->queued_total++;
	TAILQ_INSERT_TAIL(waitq(), w, entry);
	evtimer_add(w->timer, &tv);
	return 0;
}

/* Take w out of the queue, if it is in. */
void
queue_cancel(struct waiter *w)
{
	if (!w->queued)
		return;
	TAILQ_REMOVE(waitq(), w, entry);
	event_free(w->timer);
	w->timer = NULL;
	w->farm->st->nqueued--;
	w->queued = 0;
}

/* A slot was freed: let the waiters try on the next loop turn (never
 * from inside the caller, which may be a waiter's own dispatch). */
void
queue_kick(void)
{
	if (kick_ev != NULL && !TAILQ_EMPTY(waitq()))
		event_active(kick_ev, 0, 0);
}

/* A slot shared by the loops was freed: wake every loop's queue (each
 * on its own thread, event_active(3) being safe across threads). */
void
queue_kick_all(void)
{
	size_t	 i;

	pthread_mutex_lock(&kicks_lock);
	for (i = 0; i < nkicks; i++)
		if (kicks[i] == kick_ev)
			queue_kick();
		else
			event_active(kicks[i], 0, 0);
	pthread_mutex_unlock(&kicks_lock);
}

static void
on_kick(evutil_socket_t fd, short what, void *arg)
{
	struct waiter	*w, *next;

	(void)fd;
	(void)what;
	(void)arg;
	for (w = TAILQ_FIRST(waitq()); w != NULL; w = next) {
		next = TAILQ_NEXT(w, entry);
		w->retry(w->arg);	/* may cancel w, never another */
	}
}

static void
on_expire(evutil_socket_t fd, short what, void *arg)
{
	struct waiter	*w = arg;

	(void)fd;
	(void)what;
	queue_cancel(w);
	w->expire(w->arg);
}

/* At exit: the queue's own event. */
void
queue_shutdown(void)
{
	size_t	 i;

	if (kick_ev == NULL)
		return;
	pthread_mutex_lock(&kicks_lock);
	for (i = 0; i < nkicks && kicks[i] != kick_ev; i++)
		;
	if (i < nkicks)
		kicks[i] = kicks[--nkicks];
	pthread_mutex_unlock(&kicks_lock);
	event_free(kick_ev);
	kick_ev = NULL;
}
