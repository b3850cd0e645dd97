/*
 * spoolq.c: one worker thread for fsync-bound work. Jobs go in through a
 * mutex-protected list; finished events come back through another list and
 * an event made active from the thread (libevent is set up with
 * evthread_use_pthreads). An event that cannot be written is retried every
 * second, never dropped: "nothing lost" wins over memory, and each event
 * is small.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "spoolq.h"
#include "xmalloc.h"

struct job {
	int			 kind;	/* 0 event, 1 file */
	struct spool_event	 ev;
	void			*ctx;
	char			*path;
	char			*data;
	struct job		*next;
};

struct spoolq {
	struct spool	*spool;
	pthread_t	 thread;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	struct job	*in_head, *in_tail;
	struct job	*out_head, *out_tail;
	int		 stop;
	struct event	*done_ev;
	spoolq_done_fn	 done;
	void		*arg;
};

static void	*worker(void *);
static void	 on_done(evutil_socket_t, short, void *);
static int	 write_file_atomic(const char *, const char *);

/* Write path through a temporary file, fsync and rename. */
static int
write_file_atomic(const char *path, const char *data)
{
	char	 tmp[4096];
	size_t	 len = strlen(data);
	ssize_t	 n;
	int	 fd;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640)) ==
	    -1)
		return -1;
	while (len > 0) {
		if ((n = write(fd, data, len)) == -1) {
			if (errno == EINTR)
				continue;
			close(fd);
			return -1;
		}
		data += n;
		len -= n;
	}
	if (fsync(fd) == -1 || close(fd) == -1)
		return -1;
	return rename(tmp, path);
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
					break;
				}
				sleep(1);
			}
		} else {
			if (write_file_atomic(j->path, j->data) == -1)
				log_warn("cannot write %s", j->path);
			free(j->path);
			free(j->data);
		}

		pthread_mutex_lock(&q->mu);
		if (j->kind == 0) {
			j->next = NULL;
			if (q->out_tail != NULL)
				q->out_tail->next = j;
			else
				q->out_head = j;
			q->out_tail = j;
			event_active(q->done_ev, EV_READ, 0);
		} else
			free(j);
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

/* On the loop: tell the engine about every durable event, in order. */
static void
on_done(evutil_socket_t fd, short what, void *arg)
{
	struct spoolq	*q = arg;
	struct job	*list, *j;

	pthread_mutex_lock(&q->mu);
	list = q->out_head;
	q->out_head = q->out_tail = NULL;
	pthread_mutex_unlock(&q->mu);
	while ((j = list) != NULL) {
		list = j->next;
		q->done(q->arg, &j->ev, j->ctx);
		free(j);
	}
}

struct spoolq *
spoolq_new(struct event_base *base, struct spool *spool, spoolq_done_fn done,
    void *arg)
{
	struct spoolq *q;

	q = xcalloc(1, sizeof(*q));
	q->spool = spool;
	q->done = done;
	q->arg = arg;
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
	if ((q->done_ev = event_new(base, -1, 0, on_done, q)) == NULL)
		fatalx("spoolq: event_new");
	if ((errno = pthread_create(&q->thread, NULL, worker, q)) != 0)
		fatal("spoolq: pthread_create");
	return q;
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
 * Queue an atomic write of path; takes ownership of data. A write of the
 * same path still waiting is replaced, so a slow disk never piles up
 * copies of the state file: the queue holds at most one per path, plus
 * events, which are never dropped (one per hard change, small).
 */
void
spoolq_write_file(struct spoolq *q, const char *path, char *data)
{
	struct job *j;

	pthread_mutex_lock(&q->mu);
	for (j = q->in_head; j != NULL; j = j->next)
		if (j->kind == 1 && strcmp(j->path, path) == 0) {
			free(j->data);
			j->data = data;
			pthread_mutex_unlock(&q->mu);
			return;
		}
	pthread_mutex_unlock(&q->mu);
	j = xcalloc(1, sizeof(*j));
	j->kind = 1;
	j->path = xstrdup(path);
	j->data = data;
	push(q, j);
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
	on_done(-1, 0, q);
	event_free(q->done_ev);
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->cv);
	free(q);
}
