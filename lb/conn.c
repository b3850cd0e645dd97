/*
 * conn.c: a buffered socket for the HTTP proxy, in place of libevent's
 * socket bufferevent, whose reads cost an ioctl(FIONREAD) each (two a
 * proxied request). Reads go straight into the input evbuffer's reserved
 * space with one readv(2); writes are one writev(2) from the output.
 * Callbacks, enabling, watermarks and timeouts behave as a bufferevent's
 * do, so the proxy reads the same either way; but the socket's events
 * carry no timeout (re-adding one costs as much as a read), and output
 * added while writing is enabled waits for conn_flush (no callback on
 * each change of a buffer). A side's timeout counts from its last byte
 * moved, a time noted as it moves; one coarse timer per connection
 * checks them, added again only when it fires before any is due or a
 * new one falls due earlier than it.
 *
 * conn_flush stages its write (up to CONN_STAGE_MAX bytes, copied) in the
 * loop's batch (batch.c), made with the turn's other sends in one
 * io_uring_enter(2); the bytes stay in the output until it is made, so
 * the output's length counts them, and what the socket did not take goes
 * on from the write event as after a writev(2) that took less. Anything
 * that closes the socket, hands it on or shuts its sending side makes a
 * staged write first (batch_settle).
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "log.h"
#include "util.h"
#include "xmalloc.h"

#include "lb.h"

#define CONN_READ_MAX	16384	/* bytes one read takes, at most */
#define CONN_CACHE_MAX	256	/* freed connections kept, a thread */
#define CONN_STAGE_MAX	16384	/* output staged (copied) in one piece, at
				   most; more is written at once */

struct conn {
	struct event_base *base;
	int		 fd;
	struct event	*rev, *wev;	/* persistent, on fd */
	struct event	*tmr;		/* the timeouts' one timer */
	struct evbuffer	*in, *out;
	conn_data_cb	*readcb, *writecb;
	conn_event_cb	*eventcb;
	void		*arg;
	short		 enabled;	/* EV_READ, EV_WRITE as asked */
	short		 rpending, wpending;	/* rev, wev added */
	short		 rwatch;	/* on_in_change enabled */
	int		 connecting;
	int		 connect_errno;	/* the connect's own failure; 0 */
	size_t		 rhigh;		/* input: stop reading at; 0 = none */
	size_t		 wlow;		/* output: writecb at or below */
	int64_t		 rto, wto;	/* timeouts, ms; -1 = none */
	int64_t		 rlast, wlast;	/* mono_us: a side began waiting or
					   last moved a byte */
	int64_t		 tdue;		/* mono_us the timer fires; 0 none */
	struct batch_op	 op;		/* the staged write, of sbuf's bytes */
	char		*sbuf;		/* CONN_STAGE_MAX; NULL until used */
	struct conn	*next;		/* in the cache */
};

/* Freed connections with their buffers and timer, for the next ones of
 * this thread: a connection a client costs no allocation of these. */
static _Thread_local struct conn *cache;
static _Thread_local size_t	 ncache;

static void	conn_update(struct conn *);
static void	on_read(evutil_socket_t, short, void *);
static void	on_write(evutil_socket_t, short, void *);
static void	on_timer(evutil_socket_t, short, void *);
static void	arm(struct conn *);
static void	fail(struct conn *, short);
static void	on_in_change(struct evbuffer *,
		    const struct evbuffer_cb_info *, void *);
static void	on_staged(struct batch_op *, int);

/* A buffered socket on fd (non-blocking, taken: closed by conn_free), or
 * on none yet when fd is -1 (conn_connect makes it). Reading and writing
 * start disabled; no timeouts. */
struct conn *
conn_new(struct event_base *base, int fd)
{
	struct conn	*c = cache;
	struct evbuffer	*in, *out;
	struct event	*tmr;
	char		*sbuf;

	if (c != NULL && c->base == base) {
		cache = c->next;
		ncache--;
		in = c->in;
		out = c->out;
		tmr = c->tmr;
		sbuf = c->sbuf;
		memset(c, 0, sizeof(*c));
		c->in = in;
		c->out = out;
		c->tmr = tmr;
		c->sbuf = sbuf;
	} else {
		c = xcalloc(1, sizeof(*c));
		c->in = evbuffer_new();
		c->out = evbuffer_new();
		c->tmr = evtimer_new(base, on_timer, c);
		if (c->in == NULL || c->out == NULL || c->tmr == NULL)
			fatalx("out of memory for a connection");
	}
	c->base = base;
	c->fd = fd;
	c->rto = c->wto = -1;
	c->op.done = on_staged;
	if (fd != -1)
		conn_setfd(c, fd);
	return c;
}

/* Its events, once it has a descriptor. */
void
conn_setfd(struct conn *c, int fd)
{
	c->fd = fd;
	c->rev = event_new(c->base, fd, EV_READ | EV_PERSIST, on_read, c);
	c->wev = event_new(c->base, fd, EV_WRITE | EV_PERSIST, on_write, c);
	if (c->rev == NULL || c->wev == NULL)
		fatalx("out of memory for a connection");
}

/* Its socket, for another owner: its events and timer stop, and
 * conn_free will not close it. What its buffers hold stays there. */
int
conn_take_fd(struct conn *c)
{
	int	 fd = c->fd;

	batch_settle(&c->op);
	if (c->rev != NULL)
		event_free(c->rev);
	if (c->wev != NULL)
		event_free(c->wev);
	c->rev = c->wev = NULL;
	c->rpending = c->wpending = 0;
	event_del(c->tmr);
	c->tdue = 0;
	c->fd = -1;
	return fd;
}

/* Close and free (into this thread's cache while it has room); safe
 * from the connection's own callbacks. */
void
conn_free(struct conn *c)
{
	if (c == NULL)
		return;
	batch_settle(&c->op);
	if (c->rev != NULL)
		event_free(c->rev);
	if (c->wev != NULL)
		event_free(c->wev);
	if (c->fd != -1)
		close(c->fd);
	if (ncache < CONN_CACHE_MAX) {
		event_del(c->tmr);
		if (c->rwatch)
			evbuffer_remove_cb(c->in, on_in_change, c);
		evbuffer_drain(c->in, evbuffer_get_length(c->in));
		evbuffer_drain(c->out, evbuffer_get_length(c->out));
		c->next = cache;
		cache = c;
		ncache++;
		return;
	}
	event_free(c->tmr);
	evbuffer_free(c->in);
	evbuffer_free(c->out);
	free(c->sbuf);
	free(c);
}

/* At a loop's end: free its cache (before its base). */
void
conn_cache_free(void)
{
	struct conn	*c;

	while ((c = cache) != NULL) {
		cache = c->next;
		event_free(c->tmr);
		evbuffer_free(c->in);
		evbuffer_free(c->out);
		free(c->sbuf);
		free(c);
	}
	ncache = 0;
}

/*
 * Connect to sa. Returns -1 when no socket could be made; else 0, and
 * the event callback says CONN_CONNECTED or CONN_ERROR later (a failure
 * the connect itself returned too, from the next turn of the loop).
 */
int
conn_connect(struct conn *c, const struct sockaddr *sa, socklen_t len)
{
	int	 fd;

	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1)
		return -1;
	conn_setfd(c, fd);
	c->connecting = 1;
	if (connect(fd, sa, len) == -1 && errno != EINPROGRESS) {
		c->connect_errno = errno;
		event_active(c->wev, EV_WRITE, 1);
		return 0;
	}
	conn_update(c);
	return 0;
}

void
conn_setcb(struct conn *c, conn_data_cb *readcb, conn_data_cb *writecb,
    conn_event_cb *eventcb, void *arg)
{
	c->readcb = readcb;
	c->writecb = writecb;
	c->eventcb = eventcb;
	c->arg = arg;
}

void
conn_enable(struct conn *c, short what)
{
	c->enabled |= what;
	conn_update(c);
}

void
conn_disable(struct conn *c, short what)
{
	c->enabled &= ~what;
	conn_update(c);
}

short
conn_enabled(const struct conn *c)
{
	return c->enabled;
}

/* Read and write timeouts in ms, -1 for none. A timeout counts while
 * that side waits for its socket; each read or write starts it again,
 * and so does a change of timeouts. */
void
conn_set_timeouts(struct conn *c, int64_t read_ms, int64_t write_ms)
{
	if (read_ms == c->rto && write_ms == c->wto)
		return;
	c->rto = read_ms;
	c->wto = write_ms;
	c->rlast = c->wlast = mono_us();
	conn_update(c);
	arm(c);
}

/* Stop reading while rhigh bytes wait in the input (0: never); call the
 * write callback once an event's write leaves wlow bytes or fewer. */
void
conn_set_watermarks(struct conn *c, size_t rhigh, size_t wlow)
{
	c->rhigh = rhigh;
	c->wlow = wlow;
	conn_update(c);
}

struct evbuffer *
conn_input(const struct conn *c)
{
	return c->in;
}

struct evbuffer *
conn_output(const struct conn *c)
{
	return c->out;
}

int
conn_fd(const struct conn *c)
{
	return c->fd;
}

/*
 * Write what waits in the output now, in this turn of the loop, when
 * writing is not enabled: an answer or request costs one writev(2) (or
 * one staged send, made with the turn's others), not a write event
 * added, waited for and deleted. What the socket does not take, and an
 * error, are left to the write event: writing is enabled until the
 * output drains (the write callback may then disable it). When writing
 * is enabled, or a write is staged, the write event or the staged
 * write's end carries on with what was added. Whoever adds to the
 * output calls this (or conn_enable) after.
 */
void
conn_flush(struct conn *c)
{
	size_t	 len = evbuffer_get_length(c->out);

	if ((c->enabled & EV_WRITE) || c->connecting || c->fd == -1) {
		conn_update(c);
		return;
	}
	if (c->op.len != 0 || len == 0)
		return;
	if (len <= CONN_STAGE_MAX && batch_ready(c->base)) {
		if (c->sbuf == NULL)
			c->sbuf = xmalloc(CONN_STAGE_MAX);
		evbuffer_copyout(c->out, c->sbuf, len);
		if (batch_send(&c->op, c->fd, c->sbuf, len) == 0)
			return;
	}
	if (evbuffer_write(c->out, c->fd) > 0)
		c->wlast = mono_us();
	if (evbuffer_get_length(c->out) > 0)
		conn_enable(c, EV_WRITE);
}

/*
 * The staged write made (batch_flush): its bytes leave the output; what
 * the socket did not take, what was added since, or all of it after a
 * failure (the write event meets the error again), waits for the write
 * event. Closes nothing.
 */
static void
on_staged(struct batch_op *op, int res)
{
	struct conn	*c = (struct conn *)((char *)op -
			    offsetof(struct conn, op));

	if (res > 0) {
		evbuffer_drain(c->out, (size_t)res);
		c->wlast = mono_us();
	}
	if (res < (int)op->len)
		log_debug("a staged write took %d of %zu bytes, the rest "
		    "waits for the socket", res, op->len);
	if (evbuffer_get_length(c->out) > 0)
		conn_enable(c, EV_WRITE);
}

/* A staged write made now, before its caller looks at what is left. */
void
conn_settle(struct conn *c)
{
	batch_settle(&c->op);
}

/* No more to send after the output: shut the sending side (a staged
 * write made first). */
void
conn_shutdown_write(struct conn *c)
{
	batch_settle(&c->op);
	shutdown(c->fd, SHUT_WR);
}

/* The earliest a waiting side's timeout falls due; 0 when none. */
static int64_t
next_due(const struct conn *c)
{
	int64_t	 due = 0, d;

	if (c->rpending && c->rto >= 0)
		due = c->rlast + c->rto * 1000;
	if (c->wpending && c->wto >= 0) {
		d = c->wlast + c->wto * 1000;
		if (due == 0 || d < due)
			due = d;
	}
	return due;
}

/* Have the timer fire by the earliest timeout due: added only when it
 * is not armed, or armed later than that (firing early costs a check). */
static void
arm(struct conn *c)
{
	int64_t		 due = next_due(c), now;
	struct timeval	 tv;

	if (due == 0 || (c->tdue != 0 && c->tdue <= due))
		return;
	now = mono_us();
	us_to_timeval(due > now ? due - now : 0, &tv);
	event_add(c->tmr, &tv);
	c->tdue = due;
}

/* Add or delete a socket event; one that begins waiting starts its
 * side's timeout. Returns 1 when it began waiting. */
static int
set_event(struct event *ev, short *pending, int want, int64_t *last)
{
	if (want && !*pending) {
		event_add(ev, NULL);
		*pending = 1;
		*last = mono_us();
		return 1;
	}
	if (!want && *pending) {
		event_del(ev);
		*pending = 0;
	}
	return 0;
}

/* Add or delete the events to match what is asked and possible. */
static void
conn_update(struct conn *c)
{
	int	 rd, wr, mark, began;

	if (c->rev == NULL)
		return;
	mark = c->rhigh > 0 && evbuffer_get_length(c->in) >= c->rhigh;
	rd = (c->enabled & EV_READ) && !c->connecting && !mark;
	wr = c->connecting ||
	    ((c->enabled & EV_WRITE) && evbuffer_get_length(c->out) > 0);
	began = set_event(c->rev, &c->rpending, rd, &c->rlast);
	began |= set_event(c->wev, &c->wpending, wr, &c->wlast);
	if (began)
		arm(c);
	/* Stopped at the high mark: reading goes on once the input drains
	 * below it (the only buffer callback, and only while needed). */
	if ((mark && (c->enabled & EV_READ)) != c->rwatch) {
		c->rwatch = !c->rwatch;
		if (c->rwatch && evbuffer_add_cb(c->in, on_in_change, c) ==
		    NULL)
			fatalx("out of memory for a connection");
		if (!c->rwatch)
			evbuffer_remove_cb(c->in, on_in_change, c);
	}
}

/* Input drained below the high mark: reading goes on. */
static void
on_in_change(struct evbuffer *b, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct conn	*c = arg;

	(void)b;
	if (info->n_deleted > 0)
		conn_update(c);
}

/* The timer: a side waited its timeout through (the read side's first),
 * or the timer is added again for the earliest due. */
static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;
	int64_t		 now = mono_us();

	(void)fd;
	(void)what;
	c->tdue = 0;
	if (c->rpending && c->rto >= 0 && now >= c->rlast + c->rto * 1000) {
		fail(c, CONN_READING | CONN_TIMEOUT);
		return;
	}
	if (c->wpending && c->wto >= 0 && now >= c->wlast + c->wto * 1000) {
		c->connecting = 0;
		fail(c, CONN_WRITING | CONN_TIMEOUT);
		return;
	}
	arm(c);
}

/* Stop one side after an end or error, then say so (the last thing
 * done: the callback may free c). */
static void
fail(struct conn *c, short what)
{
	c->enabled &= ~((what & CONN_READING) ? EV_READ : EV_WRITE);
	conn_update(c);
	if (c->eventcb != NULL)
		c->eventcb(c, what, c->arg);
}

/* Readable: one readv(2) into the input's reserved space, at most
 * CONN_READ_MAX bytes or up to the high mark. */
static void
on_read(evutil_socket_t fd, short what, void *arg)
{
	struct conn		*c = arg;
	struct evbuffer_iovec	 v[2];
	size_t			 want = CONN_READ_MAX, have, left;
	ssize_t			 n;
	int			 nv, i;

	(void)what;
	have = evbuffer_get_length(c->in);
	if (c->rhigh > 0 && have + want > c->rhigh)
		want = c->rhigh > have ? c->rhigh - have : 0;
	if (want == 0) {
		conn_update(c);
		return;
	}
	nv = evbuffer_reserve_space(c->in, want, v, 2);
	if (nv <= 0)
		fatalx("out of memory for a connection's input");
	n = readv(fd, v, nv);
	if (n == -1) {
		evbuffer_commit_space(c->in, v, 0);
		if (errno == EAGAIN || errno == EINTR)
			return;
		fail(c, CONN_READING | CONN_ERROR);
		return;
	}
	if (n == 0) {
		evbuffer_commit_space(c->in, v, 0);
		fail(c, CONN_READING | CONN_EOF);
		return;
	}
	for (i = 0, left = n; i < nv; i++) {
		if (v[i].iov_len > left)
			v[i].iov_len = left;
		left -= v[i].iov_len;
		if (v[i].iov_len == 0)
			break;
	}
	evbuffer_commit_space(c->in, v, i);
	c->rlast = mono_us();
	if (c->rhigh > 0 && evbuffer_get_length(c->in) >= c->rhigh)
		conn_update(c);
	if (c->readcb != NULL)
		c->readcb(c, c->arg);
}

/* The connect ended: connected, or failed. */
static void
connect_done(struct conn *c)
{
	int		 err = c->connect_errno;
	socklen_t	 len = sizeof(err);

	if (err == 0 && getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err,
	    &len) == -1)
		err = errno;
	c->connecting = 0;
	if (err != 0) {
		errno = err;
		fail(c, CONN_WRITING | CONN_ERROR);
		return;
	}
	conn_update(c);
	if (c->eventcb != NULL)
		c->eventcb(c, CONN_CONNECTED, c->arg);
}

/* Writable: connected, or one writev(2) of the output. */
static void
on_write(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;
	int		 n;

	(void)what;
	if (c->connecting) {
		connect_done(c);
		return;
	}
	batch_settle(&c->op);
	if (evbuffer_get_length(c->out) > 0) {
		n = evbuffer_write(c->out, fd);
		if (n == -1 && errno != EAGAIN && errno != EINTR) {
			fail(c, CONN_WRITING | CONN_ERROR);
			return;
		}
		if (n == 0) {
			fail(c, CONN_WRITING | CONN_EOF);
			return;
		}
		if (n > 0)
			c->wlast = mono_us();
	}
	if (evbuffer_get_length(c->out) == 0)
		conn_update(c);
	if (evbuffer_get_length(c->out) <= c->wlow && c->writecb != NULL)
		c->writecb(c, c->arg);
}
