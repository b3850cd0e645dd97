/*
 * test_worker.c: lib/worker.c and lib/handoff.c, the one way a thread
 * hands work back to an event loop: jobs run off the loop thread, one at
 * a time in the order submitted; their dones run on the loop thread in
 * that order; a stop finishes or skips what waits; items left in a
 * handoff reach the drop function at free.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <event2/event.h>
#include <event2/thread.h>

#include "handoff.h"
#include "worker.h"

#include "ckrun.h"

#define NJOBS	200

static Suite	*worker_suite(void);

struct run {
	struct event_base	*base;
	pthread_t		 loop;		/* the loop's thread */
	int			 worked[NJOBS];	/* order of work, by job */
	int			 done[NJOBS];	/* order of done, by job */
	int			 nwork;		/* touched by the worker only */
	int			 ndone;
	int			 off_loop;	/* works that ran off the loop */
	int			 on_loop;	/* dones that ran on the loop */
	int			 slow;		/* ms each work sleeps */
};

struct job {
	struct run	*r;
	int		 i;
};

static struct job jobs[NJOBS];

static void
work(void *arg)
{
	struct job	*j = arg;

	if (j->r->slow > 0)
		usleep((useconds_t)j->r->slow * 1000);
	j->r->worked[j->i] = j->r->nwork++;
	if (!pthread_equal(pthread_self(), j->r->loop))
		j->r->off_loop++;
}

static void
done(void *arg)
{
	struct job	*j = arg;

	j->r->done[j->i] = j->r->ndone++;
	if (pthread_equal(pthread_self(), j->r->loop))
		j->r->on_loop++;
	if (j->r->ndone == NJOBS)
		event_base_loopbreak(j->r->base);
}

/* The loop's guard: a test that hangs ends. */
static void
on_guard(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopbreak(arg);
}

static void
submit_all(struct run *r, struct worker *w)
{
	int	i;

	for (i = 0; i < NJOBS; i++) {
		jobs[i].r = r;
		jobs[i].i = i;
		r->worked[i] = r->done[i] = -1;
		worker_submit(w, work, done, &jobs[i]);
	}
}

static void
run_init(struct run *r)
{
	memset(r, 0, sizeof(*r));
	ck_assert_int_eq(evthread_use_pthreads(), 0);
	r->base = event_base_new();
	ck_assert_ptr_nonnull(r->base);
	r->loop = pthread_self();
}

START_TEST(jobs_run_off_the_loop_and_end_on_it_in_order)
{
	struct run	 r;
	struct worker	*w;
	struct event	*guard;
	struct timeval	 tv = { 60, 0 };
	int		 i;

	run_init(&r);
	/* Keeps the loop running until the last done breaks it. */
	guard = evtimer_new(r.base, on_guard, r.base);
	evtimer_add(guard, &tv);
	w = worker_new(r.base, "test");
	submit_all(&r, w);
	ck_assert_int_eq(event_base_dispatch(r.base), 0);
	event_free(guard);
	ck_assert_int_eq(r.ndone, NJOBS);
	for (i = 0; i < NJOBS; i++) {
		ck_assert_int_eq(r.worked[i], i);
		ck_assert_int_eq(r.done[i], i);
	}
	ck_assert_int_eq(r.off_loop, NJOBS);
	ck_assert_int_eq(r.on_loop, NJOBS);
	worker_free(w);
	event_base_free(r.base);
}
END_TEST

/* WORKER_FINISH runs every waiting job; WORKER_SKIP ends them unrun. */
START_TEST(a_stop_finishes_or_skips_what_waits)
{
	struct run	 r;
	struct worker	*w;
	int		 i;

	run_init(&r);
	w = worker_new(r.base, "finish");
	submit_all(&r, w);
	worker_free(w);		/* no loop ran: the dones come here */
	ck_assert_int_eq(r.nwork, NJOBS);
	ck_assert_int_eq(r.ndone, NJOBS);
	ck_assert_int_eq(r.on_loop, NJOBS);
	event_base_free(r.base);

	run_init(&r);
	r.slow = 20;
	w = worker_new(r.base, "skip");
	submit_all(&r, w);
	usleep(30 * 1000);
	worker_stop(w, WORKER_SKIP);
	ck_assert_int_eq(r.ndone, NJOBS);
	ck_assert_int_lt(r.nwork, NJOBS / 2);
	for (i = 0; i < NJOBS; i++)
		ck_assert_int_eq(r.done[i], i);
	worker_stop(w, WORKER_FINISH);	/* again: nothing */
	ck_assert_int_eq(r.ndone, NJOBS);
	worker_free(w);
	ck_assert_int_eq(r.ndone, NJOBS);
	event_base_free(r.base);
}
END_TEST

static struct worker	*chain_w;
static int		 chain_work, chain_done;

static void
chain_second_work(void *arg)
{
	(void)arg;
	chain_work++;
}

static void
chain_second_done(void *arg)
{
	(void)arg;
	chain_done++;
}

/* A done that submits more, as the pager's do (a send's end saves). */
static void
chain_first_done(void *arg)
{
	(void)arg;
	worker_submit(chain_w, chain_second_work, chain_second_done, NULL);
}

static void
chain_first_work(void *arg)
{
	(void)arg;
}

/* Work submitted by a done while the worker stops is not lost. */
START_TEST(a_done_may_submit_while_the_worker_stops)
{
	struct event_base	*base;

	ck_assert_int_eq(evthread_use_pthreads(), 0);
	base = event_base_new();
	chain_w = worker_new(base, "chain");
	worker_submit(chain_w, chain_first_work, chain_first_done, NULL);
	worker_free(chain_w);
	ck_assert_int_eq(chain_work, 1);
	ck_assert_int_eq(chain_done, 1);
	event_base_free(base);
}
END_TEST

static size_t		 batch_jobs, batch_items, batch_first;

static void
batch_slow_work(void **items, size_t n, void *ctx)
{
	(void)items;
	(void)ctx;
	if (batch_jobs == 0)
		usleep(50 * 1000);	/* the rest gather meanwhile */
	batch_first = batch_first == 0 ? n : batch_first;
}

static void
batch_count_done(void **items, size_t n, void *ctx)
{
	size_t	i;

	(void)ctx;
	for (i = 0; i < n; i++)
		ck_assert_int_eq(*(int *)items[i], (int)batch_items + (int)i);
	batch_jobs++;
	batch_items += n;
}

/* Items added while a job runs go together in the next one, in order. */
START_TEST(a_batch_gathers_items_while_a_job_runs)
{
	struct event_base	*base;
	struct worker		*w;
	struct batch		*b;
	static int		 v[100];
	int			 i;

	ck_assert_int_eq(evthread_use_pthreads(), 0);
	base = event_base_new();
	w = worker_new(base, "batch");
	b = batch_new(w, batch_slow_work, batch_count_done, NULL);
	for (i = 0; i < 100; i++) {
		v[i] = i;
		batch_add(b, &v[i]);
	}
	worker_free(w);
	ck_assert_uint_eq(batch_items, 100);
	ck_assert_uint_eq(batch_first, 1);
	ck_assert_uint_eq(batch_jobs, 2);
	batch_free(b);
	event_base_free(base);
}
END_TEST

static int	delivered, dropped;

static void
deliver(void *item, void *arg)
{
	(void)arg;
	delivered += *(int *)item;
}

static void
drop(void *item, void *arg)
{
	(void)arg;
	dropped += *(int *)item;
}

/* What the loop never took goes to the drop function, once. */
START_TEST(handoff_free_drops_what_the_loop_did_not_take)
{
	struct event_base	*base;
	struct handoff		*h;
	int			 one = 1, ten = 10;

	ck_assert_int_eq(evthread_use_pthreads(), 0);
	base = event_base_new();
	h = handoff_new(base, deliver, NULL);
	handoff_push(h, &one);
	event_base_loop(base, EVLOOP_NONBLOCK);
	ck_assert_int_eq(delivered, 1);
	handoff_push(h, &ten);
	handoff_push(h, &ten);
	handoff_free(h, drop);
	ck_assert_int_eq(delivered, 1);
	ck_assert_int_eq(dropped, 20);
	event_base_free(base);
}
END_TEST

static Suite *
worker_suite(void)
{
	Suite	*s = suite_create("worker");
	TCase	*tc = tcase_create("worker");

	tcase_add_test(tc, jobs_run_off_the_loop_and_end_on_it_in_order);
	tcase_add_test(tc, a_stop_finishes_or_skips_what_waits);
	tcase_add_test(tc, a_done_may_submit_while_the_worker_stops);
	tcase_add_test(tc, handoff_free_drops_what_the_loop_did_not_take);
	tcase_add_test(tc, a_batch_gathers_items_while_a_job_runs);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return ckrun(worker_suite());
}
