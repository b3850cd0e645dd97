/*
 * worker.c: a thread that runs blocking jobs (fsync, SMTP) off the event
 * loop and hands each back to the loop, in order, through one event. The
 * queue has no cap of its own: the dispatcher bounds what it submits (one
 * job per lane in flight, and PAGER_INFLIGHT_MAX in all).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "log.h"
#include "xmalloc.h"

#include "pager.h"

struct job {
	worker_fn		*work;
	worker_fn		*done;
	void			*arg;
	TAILQ_ENTRY(job)	 entry;
};
TAILQ_HEAD(jobs, job);

struct worker {
	char		 name[16];
	pthread_t	 thread;
	pthread_mutex_t	 mtx;
	pthread_cond_t	 cond;
	struct jobs	 todo;
	struct jobs	 finished;
	struct event	*ev;		/* activated when jobs finish */
	int		 stop;
	int		 joined;	/* the thread is gone: jobs run inline */
};

struct batch {
	struct worker	*w;
	batch_fn	*work;
	batch_fn	*done;
	void		*ctx;
	void		**items;	/* waiting for the next job */
	size_t		 n, cap;
	int		 busy;		/* a job is out */
};

/* One job of a batch: the items it took. */
struct batch_job {
	struct batch	*b;
	void		**items;
	size_t		 n;
};

static void	*run(void *);
static void	 on_finished(evutil_socket_t, short, void *);
static void	 batch_start(struct batch *);
static void	 batch_work(void *);
static void	 batch_done(void *);

/* The thread: take a job, run it, hand it to the loop. */
static void *
run(void *arg)
{
	struct worker	*w = arg;
	struct job	*j;

	pthread_mutex_lock(&w->mtx);
	for (;;) {
		while (TAILQ_EMPTY(&w->todo) && !w->stop)
			pthread_cond_wait(&w->cond, &w->mtx);
		if ((j = TAILQ_FIRST(&w->todo)) == NULL)
			break;		/* stopping, nothing left */
		TAILQ_REMOVE(&w->todo, j, entry);
		pthread_mutex_unlock(&w->mtx);
		j->work(j->arg);
		pthread_mutex_lock(&w->mtx);
		TAILQ_INSERT_TAIL(&w->finished, j, entry);
		event_active(w->ev, EV_READ, 0);
	}
	pthread_mutex_unlock(&w->mtx);
	return NULL;
}

/* On the loop: call done for every finished job, in order. */
static void
on_finished(evutil_socket_t fd, short what, void *arg)
{
	struct worker	*w = arg;
	struct jobs	 list;
	struct job	*j;

	TAILQ_INIT(&list);
	pthread_mutex_lock(&w->mtx);
	TAILQ_CONCAT(&list, &w->finished, entry);
	pthread_mutex_unlock(&w->mtx);
	while ((j = TAILQ_FIRST(&list)) != NULL) {
		TAILQ_REMOVE(&list, j, entry);
		if (j->done != NULL)
			j->done(j->arg);
		free(j);
	}
}

/* A worker whose done callbacks run on base. Fatal when no thread can be
 * made (start-up only). */
struct worker *
worker_new(struct event_base *base, const char *name)
{
	struct worker *w;

	w = xcalloc(1, sizeof(*w));
	strlcpy(w->name, name, sizeof(w->name));
	TAILQ_INIT(&w->todo);
	TAILQ_INIT(&w->finished);
	pthread_mutex_init(&w->mtx, NULL);
	pthread_cond_init(&w->cond, NULL);
	if ((w->ev = event_new(base, -1, 0, on_finished, w)) == NULL)
		fatalx("worker %s: event_new", name);
	if (pthread_create(&w->thread, NULL, run, w) != 0)
		fatalx("worker %s: cannot start a thread", name);
	return w;
}

/* Run work(arg) on the thread, then done(arg) on the loop. Once
 * worker_free has stopped the thread (a done callback submitting more),
 * both run at once on the caller's thread. */
void
worker_submit(struct worker *w, worker_fn *work, worker_fn *done, void *arg)
{
	struct job *j;

	if (w->joined) {
		work(arg);
		if (done != NULL)
			done(arg);
		return;
	}
	j = xcalloc(1, sizeof(*j));
	j->work = work;
	j->done = done;
	j->arg = arg;
	pthread_mutex_lock(&w->mtx);
	TAILQ_INSERT_TAIL(&w->todo, j, entry);
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->mtx);
}

/*
 * Finish the jobs queued (their work runs; their done callbacks run here,
 * on the caller's thread), then stop the thread and free everything.
 */
void
worker_free(struct worker *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mtx);
	w->stop = 1;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->mtx);
	pthread_join(w->thread, NULL);
	w->joined = 1;
	on_finished(-1, 0, w);
	event_free(w->ev);
	pthread_mutex_destroy(&w->mtx);
	pthread_cond_destroy(&w->cond);
	free(w);
}

/*
 * A batch on w: items added while a job of it runs wait, and the next
 * job takes them all. work(items, n, ctx) runs on the thread, done(items,
 * n, ctx) on the loop; the item array is the batch's, the items the
 * caller's.
 */
struct batch *
batch_new(struct worker *w, batch_fn *work, batch_fn *done, void *ctx)
{
	struct batch *b;

	b = xcalloc(1, sizeof(*b));
	b->w = w;
	b->work = work;
	b->done = done;
	b->ctx = ctx;
	return b;
}

/* Add one item; it goes with the next job (at once when none is out). */
void
batch_add(struct batch *b, void *item)
{
	if (b->n == b->cap) {
		b->cap = b->cap ? 2 * b->cap : 16;
		b->items = xreallocarray(b->items, b->cap, sizeof(*b->items));
	}
	b->items[b->n++] = item;
	if (!b->busy)
		batch_start(b);
}

/* Hand the waiting items to a job. */
static void
batch_start(struct batch *b)
{
	struct batch_job *j;

	j = xcalloc(1, sizeof(*j));
	j->b = b;
	j->items = b->items;
	j->n = b->n;
	b->items = NULL;
	b->n = b->cap = 0;
	b->busy = 1;
	worker_submit(b->w, batch_work, batch_done, j);
}

static void
batch_work(void *arg)
{
	struct batch_job *j = arg;

	j->b->work(j->items, j->n, j->b->ctx);
}

/* On the loop: the job's items are done; start the next job if any. */
static void
batch_done(void *arg)
{
	struct batch_job	*j = arg;
	struct batch		*b = j->b;

	b->done(j->items, j->n, b->ctx);
	free(j->items);
	free(j);
	b->busy = 0;
	if (b->n > 0)
		batch_start(b);
}

/* Free a batch with no job out and nothing waiting (after worker_free). */
void
batch_free(struct batch *b)
{
	if (b == NULL)
		return;
	free(b->items);
	free(b);
}
