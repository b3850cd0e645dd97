/*
 * spoolq.c: one worker thread for fsync-bound work. Jobs go in through a
 * mutex-protected list and are done strictly in the order queued, so a
 * state file queued after an event is never on disk before it; finished
 * events come back to the loop through a handoff. An event that
 * cannot be written is retried every second, never dropped: "nothing
 * lost" wins over memory, and each event is small. Once one is lost (at
 * shutdown) no state file is written after it: the state file must never
 * get ahead of the spool.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "fsutil.h"
#include "handoff.h"
#include "log.h"
#include "history.h"
#include "spoolq.h"
#include "xmalloc.h"

struct job {
	int			 kind;	/* 0 event, 1 file */
	struct spool_event	 ev;
	void			*ctx;
	int			 dirfd;	/* file: in this folder */
	char			*name;
	char			*data;
	struct job		*next;
};

struct spoolq {
	struct spool	*spool;
	struct history	*history;	/* NULL: none; not ours */
	pthread_t	 thread;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	struct job	*in_head, *in_tail;
	struct handoff	*out;		/* durable events, to the loop */
	int		 stop;
	int		 lost;		/* an event was dropped: no more files */
	uint64_t	 told;		/* highest seq handed to the loop */
	spoolq_done_fn	 done;
	void		*arg;
};

static void	*worker(void *);
static void	 on_durable(void *, void *);
static void	 write_file(struct spoolq *, struct job *);

/* A file job, on the worker: written atomically, unless an event was lost
 * before it. */
static void
write_file(struct spoolq *q, struct job *j)
{
	if (q->lost)
		log_warnx("%s not written: an event before it was lost",
		    j->name);
	else if (fsutil_write_atomic(j->dirfd, j->name, j->data,
	    strlen(j->data), 0640, 0) == -1)
		log_warn("cannot write %s", j->name);
	free(j->name);
	free(j->data);
}

static void *
worker(void *arg)
{
	struct spoolq	*q = arg;
	struct job	*j;

	pthread_mutex_lock(&q->mu);
	for (;;) {
		while (q->in_head == NULL && !q->stop)
			pthread_cond_wait(&q->cv, &q->mu);
		if (q->in_head == NULL && q->stop)
			break;
		j = q->in_head;
		q->in_head = j->next;
		if (q->in_head == NULL)
			q->in_tail = NULL;
		pthread_mutex_unlock(&q->mu);

		if (j->kind == 0) {
			while (spool_append(q->spool, &j->ev) == -1) {
				if (q->stop) {
					log_warnx("spool: event for %s lost at "
					    "shutdown", j->ev.id);
					q->lost = 1;
					break;
				}
				sleep(1);
			}
			if (!q->lost)
				(void)history_append(q->history, &j->ev);
		} else
			write_file(q, j);

		if (j->kind == 0)
			handoff_push(q->out, j);
		else
			free(j);
		pthread_mutex_lock(&q->mu);
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

/* On the loop: tell the engine about a durable event, in order. */
static void
on_durable(void *item, void *arg)
{
	struct spoolq	*q = arg;
	struct job	*j = item;

	if (j->ev.seq > q->told)
		q->told = j->ev.seq;
	q->done(q->arg, &j->ev, j->ctx);
	free(j);
}

struct spoolq *
spoolq_new(struct event_base *base, struct spool *spool, spoolq_done_fn done,
    void *arg)
{
	struct spoolq *q;

	q = xcalloc(1, sizeof(*q));
	q->spool = spool;
	q->told = spool_last_seq(spool);
	q->done = done;
	q->arg = arg;
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
	q->out = handoff_new(base, on_durable, q);
	if ((errno = pthread_create(&q->thread, NULL, worker, q)) != 0)
		fatal("spoolq: pthread_create");
	return q;
}

/*
 * Every event written from now on is appended to h as well (after the
 * spool has it). Call before the first event; h stays the caller's and
 * must outlive spoolq_free.
 */
void
spoolq_set_history(struct spoolq *q, struct history *h)
{
	pthread_mutex_lock(&q->mu);
	q->history = h;
	pthread_mutex_unlock(&q->mu);
}

static void
push(struct spoolq *q, struct job *j)
{
	pthread_mutex_lock(&q->mu);
	j->next = NULL;
	if (q->in_tail != NULL)
		q->in_tail->next = j;
	else
		q->in_head = j;
	q->in_tail = j;
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

/* Queue an event for the spool; ctx comes back with it once durable. */
void
spoolq_event(struct spoolq *q, const struct spool_event *ev, void *ctx)
{
	struct job *j;

	j = xcalloc(1, sizeof(*j));
	j->kind = 0;
	j->ev = *ev;
	j->ctx = ctx;
	push(q, j);
}

/*
 * Queue an atomic write of name in the folder dirfd (which must stay open
 * until spoolq_free); takes ownership of data. The file is written after
 * every event queued before it. A write of the same file still waiting is
 * dropped and this one goes to the end of the queue, so a slow disk never
 * piles up copies of the state file (at most one per file waits, plus
 * events, which are never dropped: one per hard change, small) and the
 * order holds.
 */
void
spoolq_write_file(struct spoolq *q, int dirfd, const char *name, char *data)
{
	struct job	*j, *prev = NULL, *nj;

	nj = xcalloc(1, sizeof(*nj));
	nj->kind = 1;
	nj->dirfd = dirfd;
	nj->name = xstrdup(name);
	nj->data = data;
	pthread_mutex_lock(&q->mu);
	for (j = q->in_head; j != NULL; prev = j, j = j->next)
		if (j->kind == 1 && j->dirfd == dirfd &&
		    strcmp(j->name, name) == 0)
			break;
	if (j != NULL) {
		if (prev != NULL)
			prev->next = j->next;
		else
			q->in_head = j->next;
		if (q->in_tail == j)
			q->in_tail = prev;
	}
	pthread_mutex_unlock(&q->mu);
	if (j != NULL) {
		free(j->name);
		free(j->data);
		free(j);
	}
	push(q, nj);
}

/*
 * On the loop: the highest sequence number whose event the loop has been
 * told of (or that was on disk at start). Every event up to it is durable
 * and its change is in the servers' state.
 */
uint64_t
spoolq_durable_seq(const struct spoolq *q)
{
	return q->told;
}

/* Finish what is queued, join the thread, deliver the last events. */
void
spoolq_free(struct spoolq *q)
{
	if (q == NULL)
		return;
	pthread_mutex_lock(&q->mu);
	q->stop = 1;
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
	pthread_join(q->thread, NULL);
	handoff_free(q->out, NULL);
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->cv);
	free(q);
}
