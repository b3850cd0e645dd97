/*
 * batch.c: a loop thread's staged sends. A send(2) the relay (proxy_tcp.c)
 * or an HTTP connection (conn.c) would make at once is staged in the
 * thread's io_uring instead, and every one staged in a turn of the loop is
 * made in one io_uring_enter(2) once the turn's events are done
 * (batch_flush, from an event with no descriptor that the first staged
 * send activates): a system call costs a microsecond and more on a
 * virtual machine with page-table isolation, and a turn carries a dozen
 * requests and answers under load.
 *
 * Each staged send is MSG_DONTWAIT, so it completes within that call, and
 * its owner's done callback settles it there: what the socket did not take
 * goes on as after a send(2) that took less. A done callback closes and
 * frees nothing (it may run from any owner's teardown: batch_settle).
 * Where io_uring cannot be used (an old kernel, a sandbox,
 * io_uring_disabled, TOCSIN_LB_NO_URING) or does not complete such sends
 * at once (batch_probe), batch_ready says no and each send is made at once.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <liburing.h>

#include "log.h"

#include "lb.h"

#define BATCH_ENTRIES	256

struct batch {
	int		 state;		/* 0 untried, 1 in use, -1 not used */
	struct io_uring	 ring;
	struct event	*flush;		/* active while sends are staged */
	unsigned	 staged;
};

static _Thread_local struct batch batch;

static int	batch_probe(struct io_uring *);
static void	on_batch(evutil_socket_t, short, void *);

/*
 * This thread's io_uring, made at the first ask: 1 when sends are staged,
 * 0 when each is to be made at once.
 */
int
batch_ready(struct event_base *base)
{
	if (batch.state != 0)
		return batch.state == 1;
	batch.state = -1;
	if (getenv("TOCSIN_LB_NO_URING") != NULL) {
		log_info("TOCSIN_LB_NO_URING: each send made at once");
		return 0;
	}
	if (io_uring_queue_init(BATCH_ENTRIES, &batch.ring, 0) != 0) {
		log_info("io_uring unavailable: each send made at once");
		return 0;
	}
	if (batch_probe(&batch.ring) == -1) {
		log_info("io_uring does not complete a send that would block "
		    "at once: each send made at once");
		io_uring_queue_exit(&batch.ring);
		return 0;
	}
	if ((batch.flush = event_new(base, -1, 0, on_batch, NULL)) == NULL)
		fatalx("out of memory for the loop's batch event");
	batch.state = 1;
	return 1;
}

/*
 * Whether this kernel's io_uring ends a MSG_DONTWAIT send to a full
 * socket with EAGAIN within io_uring_enter(2) (as every send staged here
 * must end, its bytes in its owner's memory): one tried on a full socket
 * pair. 0 when it does, -1 when not (the try reaped first).
 */
static int
batch_probe(struct io_uring *r)
{
	struct io_uring_sqe	*sqe;
	struct io_uring_cqe	*cqe;
	char			 fill[4096];
	int			 sv[2], rc = -1, got = 0;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0, sv) == -1)
		return -1;
	memset(fill, 0, sizeof(fill));
	while (send(sv[0], fill, sizeof(fill), MSG_DONTWAIT | MSG_NOSIGNAL) >
	    0)
		;
	sqe = io_uring_get_sqe(r);
	io_uring_prep_send(sqe, sv[0], fill, sizeof(fill),
	    MSG_NOSIGNAL | MSG_DONTWAIT);
	io_uring_sqe_set_data64(sqe, 1);
	if (io_uring_submit(r) == 1 && io_uring_peek_cqe(r, &cqe) == 0) {
		rc = cqe->res == -EAGAIN ? 0 : -1;
		io_uring_cqe_seen(r, cqe);
		got = 1;
	}
	if (!got) {
		/* Left waiting in the kernel: the peer's end closed makes it
		 * fail, and it is reaped before its buffer goes. */
		close(sv[1]);
		sv[1] = -1;
		if (io_uring_wait_cqe(r, &cqe) == 0)
			io_uring_cqe_seen(r, cqe);
	}
	close(sv[0]);
	if (sv[1] != -1)
		close(sv[1]);
	return rc;
}

/*
 * Stage a send of len bytes at p (which stay put until op's done
 * callback) to fd. Returns 0, or -1 when the ring is full: the caller
 * sends at once. Only after batch_ready said 1.
 */
int
batch_send(struct batch_op *op, int fd, const void *p, size_t len)
{
	struct io_uring_sqe	*sqe;

	if ((sqe = io_uring_get_sqe(&batch.ring)) == NULL)
		return -1;
	io_uring_prep_send(sqe, fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	io_uring_sqe_set_data(sqe, op);
	op->len = len;
	if (batch.staged++ == 0)
		event_active(batch.flush, EV_WRITE, 1);
	return 0;
}

/* The turn's events are done: make its staged sends. */
static void
on_batch(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	batch_flush();
}

/*
 * Make every staged send in one io_uring_enter(2), and have each owner
 * settle its own (done, with the bytes sent or -errno; op->len is the
 * staged length until done returns). Closes nothing itself, and no done
 * callback may, so it may run from any owner's teardown.
 */
void
batch_flush(void)
{
	struct io_uring_cqe	*cqe;
	struct batch_op		*op;
	unsigned		 head, n;
	int			 rc;

	if (batch.staged == 0)
		return;
	/* EAGAIN and EBUSY: the kernel short of memory for a moment. */
	while ((rc = io_uring_submit_and_wait(&batch.ring, batch.staged)) < 0
	    && (rc == -EINTR || rc == -EAGAIN || rc == -EBUSY))
		;
	if (rc < 0)
		fatalx("io_uring_submit_and_wait: %s", strerror(-rc));
	n = 0;
	io_uring_for_each_cqe(&batch.ring, head, cqe) {
		n++;
		if ((op = io_uring_cqe_get_data(cqe)) == NULL)
			continue;
		op->done(op, cqe->res);
		op->len = 0;
	}
	io_uring_cq_advance(&batch.ring, n);
	batch.staged -= n;
}

/* Before op's socket closes or changes hands: its send made and settled. */
void
batch_settle(struct batch_op *op)
{
	if (op->len != 0)
		batch_flush();
}

/* This thread's loop ends: its io_uring goes. */
void
batch_shutdown(void)
{
	if (batch.state == 1) {
		batch_flush();
		event_free(batch.flush);
		io_uring_queue_exit(&batch.ring);
	}
	batch.state = 0;
}
