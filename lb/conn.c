/*
 * conn.c: a buffered socket for the HTTP proxy, in place of libevent's
 * socket bufferevent, whose reads cost an ioctl(FIONREAD) each (two a
 * proxied request). Reads go straight into the input evbuffer's reserved
 * space with one readv(2); writes are one writev(2) from the output.
 * Callbacks, enabling, watermarks and timeouts behave as a bufferevent's
 * do, so the proxy reads the same either way.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "log.h"
#include "xmalloc.h"

#include "lb.h"

#define CONN_READ_MAX	16384	/* bytes one read takes, at most */

struct conn {
	struct event_base *base;
	int		 fd;
	struct event	*rev, *wev;	/* persistent, on fd */
	struct evbuffer	*in, *out;
	conn_data_cb	*readcb, *writecb;
	conn_event_cb	*eventcb;
	void		*arg;
	short		 enabled;	/* EV_READ, EV_WRITE as asked */
	short		 rpending, wpending;	/* rev, wev added */
	int		 connecting;
	int		 connect_errno;	/* the connect's own failure; 0 */
	size_t		 rhigh;		/* input: stop reading at; 0 = none */
	size_t		 wlow;		/* output: writecb at or below */
	int64_t		 rto, wto;	/* timeouts, ms; -1 = none */
};

static void	conn_update(struct conn *);
static void	on_read(evutil_socket_t, short, void *);
static void	on_write(evutil_socket_t, short, void *);
static void	on_in_change(struct evbuffer *,
		    const struct evbuffer_cb_info *, void *);
static void	on_out_change(struct evbuffer *,
		    const struct evbuffer_cb_info *, void *);

/* A buffered socket on fd (non-blocking, taken: closed by conn_free), or
 * on none yet when fd is -1 (conn_connect makes it). Reading and writing
 * start disabled; no timeouts. */
struct conn *
conn_new(struct event_base *base, int fd)
{
	struct conn	*c = xcalloc(1, sizeof(*c));

	c->base = base;
	c->fd = fd;
	c->rto = c->wto = -1;
	c->in = evbuffer_new();
	c->out = evbuffer_new();
	if (c->in == NULL || c->out == NULL ||
	    evbuffer_add_cb(c->in, on_in_change, c) == NULL ||
	    evbuffer_add_cb(c->out, on_out_change, c) == NULL)
		fatalx("out of memory for a connection");
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

/* Close and free; safe from the connection's own callbacks. */
void
conn_free(struct conn *c)
{
	if (c == NULL)
		return;
	if (c->rev != NULL)
		event_free(c->rev);
	if (c->wev != NULL)
		event_free(c->wev);
	if (c->fd != -1)
		close(c->fd);
	evbuffer_free(c->in);
	evbuffer_free(c->out);
	free(c);
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
 * that side waits for its socket; each read or write starts it again. */
void
conn_set_timeouts(struct conn *c, int64_t read_ms, int64_t write_ms)
{
	int	 moved = read_ms != c->rto || write_ms != c->wto;

	c->rto = read_ms;
	c->wto = write_ms;
	if (moved) {
		/* Pending events take the new timeouts when added again. */
		if (c->rpending)
			c->rpending = -1;
		if (c->wpending)
			c->wpending = -1;
		conn_update(c);
	}
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
 * writing is not enabled: an answer or request costs one writev(2), not
 * a write event added, waited for and deleted. What the socket does not
 * take, and an error, are left to the write event: writing is enabled
 * until the output drains (the write callback may then disable it).
 */
void
conn_flush(struct conn *c)
{
	if ((c->enabled & EV_WRITE) || c->connecting || c->fd == -1)
		return;
	if (evbuffer_get_length(c->out) > 0)
		(void)evbuffer_write(c->out, c->fd);
	if (evbuffer_get_length(c->out) > 0)
		conn_enable(c, EV_WRITE);
}

static void
set_event(struct event *ev, short *pending, int want, int64_t ms)
{
	struct timeval	 tv;

	if (want && *pending != 1) {
		tv.tv_sec = ms / 1000;
		tv.tv_usec = (ms % 1000) * 1000;
		event_add(ev, ms >= 0 ? &tv : NULL);
		*pending = 1;
	} else if (!want && *pending != 0) {
		event_del(ev);
		*pending = 0;
	}
}

/* Add or delete the events to match what is asked and possible. */
static void
conn_update(struct conn *c)
{
	int	 rd, wr;

	if (c->rev == NULL)
		return;
	rd = (c->enabled & EV_READ) && !c->connecting &&
	    (c->rhigh == 0 || evbuffer_get_length(c->in) < c->rhigh);
	wr = c->connecting ||
	    ((c->enabled & EV_WRITE) && evbuffer_get_length(c->out) > 0);
	set_event(c->rev, &c->rpending, rd, c->rto);
	set_event(c->wev, &c->wpending, wr, c->wto);
}

/* Input drained below the high mark: reading goes on. */
static void
on_in_change(struct evbuffer *b, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct conn	*c = arg;

	(void)b;
	if (info->n_deleted > 0 && c->rhigh > 0 && c->rpending == 0 &&
	    (c->enabled & EV_READ))
		conn_update(c);
}

/* Output grew while writing is enabled: the write event writes it. */
static void
on_out_change(struct evbuffer *b, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct conn	*c = arg;

	(void)b;
	if (info->n_added > 0 && c->wpending == 0 && (c->enabled & EV_WRITE))
		conn_update(c);
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

	if (what & EV_TIMEOUT) {
		fail(c, CONN_READING | CONN_TIMEOUT);
		return;
	}
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

	if (what & EV_TIMEOUT) {
		c->connecting = 0;
		fail(c, CONN_WRITING | CONN_TIMEOUT);
		return;
	}
	if (c->connecting) {
		connect_done(c);
		return;
	}
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
	}
	if (evbuffer_get_length(c->out) == 0)
		conn_update(c);
	if (evbuffer_get_length(c->out) <= c->wlow && c->writecb != NULL)
		c->writecb(c, c->arg);
}
