/*
 * worker.c: a thread that runs blocking jobs (fsync, SMTP, JetStream
 * requests) off the event loop, one at a time in order, and hands each
 * back to the loop through a handoff. The queue has no cap of its own:
 * callers bound what they submit.
 */
#include <sys/queue.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "handoff.h"
#include "log.h"
#include "xmalloc.h"
#include "worker.h"

struct job {
	worker_fn		*work;
	worker_fn		*done;
	void			*arg;
	STAILQ_ENTRY(job)	 entry;
};
STAILQ_HEAD(jobs, job);

/* Items added meanwhile wait for the next job, which takes them all. */
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

struct worker {
	char		 name[16];
	pthread_t	 thread;
	pthread_mutex_t	 mtx;
	pthread_cond_t	 cond;
	struct jobs	 todo;		/* under mtx */
	struct handoff	*finished;	/* to the loop */
	enum worker_stop how;		/* under mtx, once stop is set */
	int		 stop;		/* under mtx */
	int		 joined;	/* the loop's: the thread is gone, jobs
					   run at once (worker_stop ran) */
};

static void	*run(void *);
static void	 on_finished(void *, void *);
static void	 batch_start(struct batch *);
static void	 batch_work(void *);
static void	 batch_done(void *);

/* The thread: take a job, run it (or not, when skipping), hand it on. */
static void *
run(void *arg)
{
	struct worker	*w = arg;
	struct job	*j;
	int		 skip;

	pthread_mutex_lock(&w->mtx);
	for (;;) {
		while (STAILQ_EMPTY(&w->todo) && !w->stop)
			pthread_cond_wait(&w->cond, &w->mtx);
		if ((j = STAILQ_FIRST(&w->todo)) == NULL)
			break;		/* stopping, nothing left */
		STAILQ_REMOVE_HEAD(&w->todo, entry);
		skip = w->stop && w->how == WORKER_SKIP;
		pthread_mutex_unlock(&w->mtx);
		if (!skip)
			j->work(j->arg);
		handoff_push(w->finished, j);
		pthread_mutex_lock(&w->mtx);
	}
	pthread_mutex_unlock(&w->mtx);
	return NULL;
}

/* On the loop: a finished job's done. */
static void
on_finished(void *item, void *arg)
{
	struct job	*j = item;

	(void)arg;
	if (j->done != NULL)
		j->done(j->arg);
	free(j);
}

/* A worker whose done callbacks run on base. Fatal when no thread can be
 * made (start-up only). */
struct worker *
worker_new(struct event_base *base, const char *name)
{
	struct worker *w;

	w = xcalloc(1, sizeof(*w));
	strlcpy(w->name, name, sizeof(w->name));
	STAILQ_INIT(&w->todo);
	pthread_mutex_init(&w->mtx, NULL);
	pthread_cond_init(&w->cond, NULL);
	w->finished = handoff_new(base, on_finished, w);
	if (pthread_create(&w->thread, NULL, run, w) != 0)
		fatalx("worker %s: cannot start a thread", name);
	return w;
}

/*
 * Run work(arg) on the thread, then done(arg) (may be NULL) on the loop.
 * Once worker_stop has ended the thread (a done callback submitting more
 * while it drains), the job runs at once on the caller's thread: work as
 * the stop said (run, or skipped), then done.
 */
void
worker_submit(struct worker *w, worker_fn *work, worker_fn *done, void *arg)
{
	struct job *j;

	if (w->joined) {
		if (w->how == WORKER_FINISH)
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
	STAILQ_INSERT_TAIL(&w->todo, j, entry);
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->mtx);
}

/*
 * Stop the thread after the job under way and the queued ones (run, or
 * with WORKER_SKIP only ended: their work does not run), then run every
 * done here, on the caller's thread. Idempotent.
 */
void
worker_stop(struct worker *w, enum worker_stop how)
{
	if (w == NULL || w->joined)
		return;
	pthread_mutex_lock(&w->mtx);
	w->stop = 1;
	w->how = how;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->mtx);
	pthread_join(w->thread, NULL);
	w->joined = 1;
	handoff_drain(w->finished);
}

/* Stop (finishing the queued jobs, unless stopped already) and free. */
void
worker_free(struct worker *w)
{
	if (w == NULL)
		return;
	worker_stop(w, WORKER_FINISH);
	handoff_free(w->finished, NULL);
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
