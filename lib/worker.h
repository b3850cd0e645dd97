/*
 * worker.h: a thread that runs blocking jobs (fsync, SMTP, JetStream
 * requests) off the event loop and hands each back to the loop, in order
 * (worker.c).
 */
#ifndef TOCSIN_WORKER_H
#define TOCSIN_WORKER_H

#include <stddef.h>

#include <event2/event.h>

struct worker;
typedef void	 worker_fn(void *);

/* How worker_stop treats the jobs not started yet. */
enum worker_stop {
	WORKER_FINISH,		/* run them */
	WORKER_SKIP,		/* only their done */
};

/* worker.c */
struct worker	*worker_new(struct event_base *, const char *);
void		 worker_submit(struct worker *, worker_fn *, worker_fn *,
		    void *);
void		 worker_stop(struct worker *, enum worker_stop);
void		 worker_free(struct worker *);

/* A worker's jobs over items that gather while one runs (worker.c). */
struct batch;
typedef void	 batch_fn(void **items, size_t n, void *ctx);
struct batch	*batch_new(struct worker *, batch_fn *, batch_fn *, void *);
void		 batch_add(struct batch *, void *);
void		 batch_free(struct batch *);

#endif
