/*
 * proxy_tcp.c: layer 4 sessions. A client is sent to a member chosen by
 * balance.c; until that member answers its first byte the client's bytes
 * are kept (LB_REPLAY_MAX at most), so a connect failure, a reset or a
 * close before any answer retries at once on another member. After the
 * first answer bytes go both ways: small reads (as a request or answer
 * of a few hundred bytes is) copied with recv(2) and send(2), which cost
 * less than two splices, bulk with splice(2) through two pipes; each
 * side's end of stream is passed on as a half-close. Out of descriptors
 * for a pipe, a direction copies with recv(2) and send(2) through a
 * buffer of its own instead: slower, but the client is served. With the
 * farm's proxy-protocol, each connection to a member begins with the
 * PROXY header naming the client and the address it connected to.
 *
 * A small copy's send(2), once the member has answered, is staged in the
 * loop's batch (batch.c) and made with the others of the same turn of the
 * loop in one io_uring_enter(2); what a socket did not take goes on as a
 * send that would block does (into the pipe or buffer, the write event
 * waited for). Where the batch is not used, each send is made at once.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "util.h"
#include "xmalloc.h"

#include "lb.h"

#define SPLICE_CHUNK	65536
#define COPY_CHUNK	4096	/* a read this full: splice from then on
				   (a pipe holds one whatever its size) */

enum sess_state {
	S_CONNECTING,		/* waiting for the member's connect */
	S_OPEN,			/* connected */
};

/* One direction of the relay. */
struct half {
	int		 from, to;
	int		 pipe[2];	/* -1 until splicing starts, or when
					   none could be made (buf then) */
	char		*buf;		/* COPY_CHUNK bytes read and not yet
					   sent, with no pipe; or NULL */
	size_t		 boff;		/* of them, sent */
	size_t		 inpipe;	/* bytes in the pipe (or buf) */
	int		 eof;		/* from has ended */
	int		 bulk;		/* the last read was COPY_CHUNK or more:
					   splice; else recv(2) and send(2) */
	int		 shut;		/* to was half-closed */
	struct session	*s;
	char		*ubuf;		/* a staged send's bytes (COPY_CHUNK);
					   NULL until one is staged */
	struct batch_op	 op;		/* its send; while staged, nothing
					   else moves */
};

struct session {
	struct lb	*lb;
	struct farm	*farm;		/* referenced */
	struct backend	*be;		/* referenced, counted in inflight */
	struct backend	*tried[LB_TRIES_MAX];
	size_t		 ntried;
	struct sockaddr_storage client;
	socklen_t	 clientlen;
	enum sess_state	 state;
	int		 cfd, sfd;
	struct event	*cr, *cw, *sr, *sw, *idle;
	short		 cr_on, cw_on, sr_on, sw_on;	/* see want() */
	int64_t		 t_start;	/* mono_us the member's connect began */
	int64_t		 t_sent;	/* mono_us the first bytes went; 0 */
	int64_t		 last;		/* mono_us of the last byte moved */
	int		 answered;	/* the member sent a byte */
	int		 waiting;	/* counted in the member's waiting,
					   from t_sent */
	int		 fail_client;	/* pump's -1 was the client's socket */
	int		 buffered;	/* c2s goes through replay, not splice */
	char		*replay;	/* client bytes so far; NULL after */
	size_t		 rlen, rsent;
	int		 c_eof;		/* client ended while buffered */
	unsigned char	 pp[PROXYPROTO_MAX];	/* PROXY header; or none */
	size_t		 pplen, ppsent;
	struct half	 c2s, s2c;
	struct waiter	 wait;		/* for a slot, when all are full */
};

static _Thread_local size_t nsessions;	/* this thread's */

static struct session *session_new(struct lb *, struct farm *, int fd);
static void	server_events(struct session *);
static void	start_connect(struct session *);
static void	on_slot(void *);
static void	on_busy(void *);
static void	server_failed(struct session *, const char *why);
static void	release_server(struct session *);
static void	session_close(struct session *, const char *why);
static int	flush_replay(struct session *);
static int	pump(struct session *, struct half *);
static void	after_pump(struct session *, int);
static void	replay_failed(struct session *, int);
static int	start_splice(struct session *);
static void	half_pipe(struct half *);
static void	half_buf(struct half *, size_t len);
static int	half_fill(struct half *, const void *, size_t);
static void	wait_end(struct session *);
static ssize_t	copy_small(struct half *);
static void	on_answered(struct session *);
static void	on_client_read(evutil_socket_t, short, void *);
static void	on_client_write(evutil_socket_t, short, void *);
static void	on_server_read(evutil_socket_t, short, void *);
static void	on_server_write(evutil_socket_t, short, void *);
static void	on_idle(evutil_socket_t, short, void *);
static void	arm_idle(struct session *, int64_t ms);
static void	want(struct event *, short *on, int);
static void	half_sent(struct batch_op *, int);
static void	unstage(struct session *);
static void	keep_rest(struct half *, const char *, size_t);

size_t
proxy_tcp_sessions(void)
{
	return nsessions;
}

/*
 * Take an accepted client of farm f: choose a member and connect. With no
 * member to take it (all down or drained) the client is closed at once.
 */
void
proxy_tcp_accept(struct lb *lb, struct farm *f, int fd,
    const struct sockaddr *sa, socklen_t salen)
{
	struct session	*s;
	int		 on = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	f->st->clients++;
	s = session_new(lb, f, fd);
	memcpy(&s->client, sa, salen);
	s->clientlen = salen;
	/* Made once, sent again as it is to each member tried. */
	if (f->proxy_protocol != 0)
		s->pplen = proxyproto_client(f->proxy_protocol, fd, sa, s->pp,
		    sizeof(s->pp));
	s->buffered = 1;
	s->replay = xmalloc(LB_REPLAY_MAX);
	start_connect(s);
}

/* A session of farm f for the client on fd: its events, its idle
 * deadline; no member yet. */
static struct session *
session_new(struct lb *lb, struct farm *f, int fd)
{
	struct session	*s;

	s = xcalloc(1, sizeof(*s));
	s->lb = lb;
	farm_ref(f);
	s->farm = f;
	s->cfd = fd;
	s->sfd = -1;
	s->c2s.pipe[0] = s->c2s.pipe[1] = -1;
	s->s2c.pipe[0] = s->s2c.pipe[1] = -1;
	s->c2s.s = s->s2c.s = s;
	s->c2s.op.done = s->s2c.op.done = half_sent;
	s->last = mono_us();
	s->cr = event_new(lb->base, fd, EV_READ | EV_PERSIST, on_client_read,
	    s);
	s->cw = event_new(lb->base, fd, EV_WRITE | EV_PERSIST, on_client_write,
	    s);
	s->idle = evtimer_new(lb->base, on_idle, s);
	if (s->cr == NULL || s->cw == NULL || s->idle == NULL)
		fatalx("out of memory for a session's events");
	nsessions++;
	arm_idle(s, f->client_ms);
	return s;
}

/* The member's socket s->sfd: its read and write events (not added). */
static void
server_events(struct session *s)
{
	s->sr = event_new(s->lb->base, s->sfd, EV_READ | EV_PERSIST,
	    on_server_read, s);
	s->sw = event_new(s->lb->base, s->sfd, EV_WRITE | EV_PERSIST,
	    on_server_write, s);
	if (s->sr == NULL || s->sw == NULL)
		fatalx("out of memory for a session's events");
}

/*
 * Take over a client and its member that HTTP upgraded (101 Switching
 * Protocols, as for a WebSocket): cfd and sfd, connected; to_client and
 * to_server, bytes read from the other side and not yet sent (the 101
 * head and what came after it; what the client sent after its request).
 * From here on bytes go both ways as in a tcp session (through pipes, or
 * out of descriptors through buffers: half_pipe), in flight on
 * member b until either side ends (the caller's slot on b, taken with
 * backend_try_take, is the session's from here, released at its end),
 * with the farm's client timeout for its idle. Returns 0, or -1 (both
 * sockets closed, the slot released).
 */
int
proxy_tcp_adopt(struct lb *lb, struct farm *f, struct backend *b, int cfd,
    int sfd, const void *to_client, size_t clen, const void *to_server,
    size_t slen)
{
	struct session	*s;
	int		 rc;

	s = session_new(lb, f, cfd);
	s->sfd = sfd;
	server_events(s);
	backend_ref(b);
	s->be = b;
	s->tried[s->ntried++] = b;
	s->state = S_OPEN;
	s->answered = 1;
	s->c2s.from = s->s2c.to = cfd;
	s->c2s.to = s->s2c.from = sfd;
	if (half_fill(&s->s2c, to_client, clen) == -1 ||
	    half_fill(&s->c2s, to_server, slen) == -1) {
		log_warn("%s: an upgraded connection", b->id);
		session_close(s, NULL);
		return -1;
	}
	if ((rc = pump(s, &s->s2c)) != 0) {
		after_pump(s, rc);
		return 0;
	}
	after_pump(s, pump(s, &s->c2s));
	return 0;
}

/*
 * Wait for ev, or not: an event_add(3) or event_del(3) only when that
 * changes (each costs the base's lock and its bookkeeping, and the pump
 * asks at every step). *on: 0 not pending, 1 pending, 2 pending with a
 * timeout (which wanting it again clears).
 */
static void
want(struct event *ev, short *on, int yes)
{
	if (yes && *on != 1) {
		event_add(ev, NULL);
		*on = 1;
	} else if (!yes && *on != 0) {
		event_del(ev);
		*on = 0;
	}
}

static void
arm_idle(struct session *s, int64_t ms)
{
	struct timeval	 tv;

	ms_to_timeval(ms, &tv);
	evtimer_add(s->idle, &tv);
}

/* Idle deadline: close when nothing moved for the farm's client
 * timeout, else wait for what is left of it. */
static void
on_idle(evutil_socket_t fd, short what, void *arg)
{
	struct session	*s = arg;
	int64_t		 left;

	(void)fd;
	(void)what;
	left = s->farm->client_ms - (mono_us() - s->last) / 1000;
	if (left <= 0) {
		/* The member took the client's bytes and never answered:
		 * as slow as an error (a hung member must not look fast). */
		if (s->be != NULL && s->t_sent != 0 && !s->answered) {
			log_info("%s: no answer within the idle timeout",
			    s->be->id);
			backend_error(s->be, mono_us());
		}
		session_close(s, "idle timeout");
		return;
	}
	arm_idle(s, left);
}

/* A slot may be free: try again (staying queued when not). */
static void
on_slot(void *arg)
{
	start_connect(arg);
}

/* No slot within the connect timeout. */
static void
on_busy(void *arg)
{
	struct session	*s = arg;

	s->farm->st->rejected++;
	session_close(s, "every server at its maxconn");
}

/*
 * Connect to the next member; with none left, close the client. When the
 * members left are all at their maxconn, wait in the queue for a slot.
 */
static void
start_connect(struct session *s)
{
	struct timeval	 tv;
	struct backend	*b;
	int		 on = 1, full = 0;

	ms_to_timeval(s->farm->connect_ms, &tv);
	for (;;) {
		b = NULL;
		if (s->ntried == 0 && s->farm->persist != NULL &&
		    (b = persist_lookup(s->farm->persist, s->farm,
		    (struct sockaddr *)&s->client, s->farm->persist_ms)) !=
		    NULL && backend_full(b))
			b = NULL;
		if (b == NULL && s->ntried < LB_TRIES_MAX)
			b = balance_pick(s->farm, (struct sockaddr *)&s->client,
			    s->clientlen, s->tried, s->ntried, &full);
		if (b == NULL && full) {
			if (queue_add(s->lb, &s->wait, s->farm, on_slot,
			    on_busy, s) == -1)
				on_busy(s);
			return;
		}
		queue_cancel(&s->wait);
		if (b == NULL) {
			s->farm->st->rejected++;
			session_close(s, s->ntried == 0 ? "no server up" :
			    "every server tried failed");
			return;
		}
		if (backend_try_take(b) == -1) {
			/* Another loop took its last slot meanwhile. */
			if (queue_add(s->lb, &s->wait, s->farm, on_slot,
			    on_busy, s) == -1)
				on_busy(s);
			return;
		}
		s->tried[s->ntried++] = b;
		backend_ref(b);
		b->conns++;
		b->requests++;
		s->be = b;
		s->state = S_CONNECTING;
		s->answered = 0;
		s->t_start = mono_us();
		s->t_sent = 0;
		s->ppsent = 0;
		s->sfd = socket(b->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
		if (s->sfd == -1) {
			log_warn("%s: socket", b->id);
			release_server(s);
			session_close(s, "no socket");
			return;
		}
		setsockopt(s->sfd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
		if (connect(s->sfd, (struct sockaddr *)&b->addr, b->addrlen) ==
		    0 || errno == EINPROGRESS)
			break;
		backend_error(b, mono_us());
		farm_mark_suspect(s->farm, b, mono_us());
		log_debug("%s: connect: %s", b->id, strerror(errno));
		release_server(s);
	}
	server_events(s);
	event_add(s->sw, &tv);
	s->sw_on = 2;
}

/* The session no longer waits for its member's first byte. */
static void
wait_end(struct session *s)
{
	if (!s->waiting)
		return;
	backend_wait_end(s->be, s->t_sent);
	s->waiting = 0;
}

/* Let go of the current member: its socket, events and our count. */
static void
release_server(struct session *s)
{
	unstage(s);
	if (s->sr != NULL)
		event_free(s->sr);
	if (s->sw != NULL)
		event_free(s->sw);
	s->sr = s->sw = NULL;
	s->sr_on = s->sw_on = 0;
	if (s->sfd != -1)
		close(s->sfd);
	s->sfd = -1;
	if (s->be != NULL) {
		wait_end(s);
		backend_release(s->be);
		backend_unref(s->be);
		s->be = NULL;
	}
}

/*
 * The member failed before answering a byte (connect refused or timed out,
 * reset, closed): it counts as slow, is marked suspect (panic threshold
 * permitting), and the client's kept bytes go to another member at once.
 * Once the kept bytes overflowed, nothing can be replayed: close.
 */
static void
server_failed(struct session *s, const char *why)
{
	int64_t	 now = mono_us();

	log_info("%s: %s; %s", s->be->id, why, s->replay != NULL &&
	    !s->answered ? "trying another server" : "closing the client");
	backend_error(s->be, now);
	farm_mark_suspect(s->farm, s->be, now);
	release_server(s);
	if (s->replay == NULL || s->answered) {
		/* Its bytes went to the client: another would add its own. */
		session_close(s, why);
		return;
	}
	want(s->cr, &s->cr_on, 0);
	s->rsent = 0;
	start_connect(s);
}

/* The PROXY header and every kept client byte went to the member. */
static int
all_sent(const struct session *s)
{
	return s->ppsent == s->pplen && s->rsent == s->rlen;
}

/* Write the PROXY header (when the farm sends one) and the kept client
 * bytes not yet sent; pass on the client's end. Returns 0, -1 when the
 * member failed (the caller retries or blames it), or -2 when the
 * client's side failed once relaying began (the caller closes, blaming
 * nobody). */
static int
flush_replay(struct session *s)
{
	ssize_t	 n;

	while (s->ppsent < s->pplen) {
		n = write(s->sfd, s->pp + s->ppsent, s->pplen - s->ppsent);
		if (n == -1 && errno == EAGAIN) {
			want(s->sw, &s->sw_on, 1);
			return 0;
		}
		if (n == -1)
			return -1;
		s->ppsent += n;
	}
	while (s->rsent < s->rlen) {
		n = write(s->sfd, s->replay + s->rsent, s->rlen - s->rsent);
		if (n == -1 && errno == EAGAIN) {
			want(s->sw, &s->sw_on, 1);
			return 0;
		}
		if (n == -1)
			return -1;
		s->rsent += n;
		if (s->t_sent == 0) {
			/* Timed until the first answer byte: meanwhile its
			 * age counts in the member's latency. */
			s->t_sent = mono_us();
			if (!s->answered) {
				backend_wait_begin(s->be, s->t_sent);
				s->waiting = 1;
			}
		}
	}
	want(s->sw, &s->sw_on, 0);
	if (s->c_eof && !s->c2s.shut) {
		shutdown(s->sfd, SHUT_WR);
		s->c2s.shut = 1;
	}
	if (s->answered && start_splice(s) == -1)
		return s->fail_client ? -2 : -1;
	if (s->answered)
		return 0;
	want(s->cr, &s->cr_on, !s->c_eof && s->rlen < LB_REPLAY_MAX);
	return 0;
}

/*
 * h's pipe, or when none can be made (out of descriptors) or its
 * descriptors are in the upper half of what we may open (kept for clients
 * and their members: listener_fd_plenty), its buffer: the direction then
 * copies with recv(2) and send(2), as tocsin-lb(8) says, rather than a
 * client whose member is connected being dropped, or never accepted. A
 * failed pipe2(2) is logged once a second at most.
 */
static void
half_pipe(struct half *h)
{
	static _Thread_local int64_t warned;
	int64_t	 now;

	if (h->pipe[0] != -1 || h->buf != NULL)
		return;
	if (pipe2(h->pipe, O_NONBLOCK | O_CLOEXEC) == 0) {
		if (listener_fd_plenty(h->pipe[1]))
			return;
	} else {
		h->pipe[0] = h->pipe[1] = -1;
		now = mono_us();
		if (warned == 0 || now - warned >= 1000000) {
			log_warn("pipe; copying through a buffer instead");
			warned = now;
		}
	}
	half_buf(h, COPY_CHUNK);
}

/* h copies through its buffer, its pipe (if any) closed: a buffer of
 * COPY_CHUNK bytes, or of len when more. */
static void
half_buf(struct half *h, size_t len)
{
	if (h->pipe[0] != -1) {
		close(h->pipe[0]);
		close(h->pipe[1]);
		h->pipe[0] = h->pipe[1] = -1;
	}
	h->buf = xreallocarray(h->buf, len > COPY_CHUNK ? len : COPY_CHUNK, 1);
	h->boff = 0;
}

/*
 * h's pipe or buffer (half_pipe), with len bytes at p in it to go on
 * first: the pipe grown to hold them when they are more than it holds,
 * and when it cannot be, given up for a buffer that holds them. Returns
 * 0, or -1 (errno set).
 */
static int
half_fill(struct half *h, const void *p, size_t len)
{
	ssize_t	 n;

	half_pipe(h);
	if (len == 0)
		return 0;
	if (h->pipe[1] != -1 && (len <= 65536 ||
	    fcntl(h->pipe[1], F_SETPIPE_SZ, (int)len) != -1)) {
		if ((n = write(h->pipe[1], p, len)) == -1 || (size_t)n != len)
			return -1;
	} else {
		half_buf(h, len);
		memcpy(h->buf, p, len);
	}
	h->inpipe = len;
	return 0;
}

/*
 * From kept bytes to relaying, once they are all sent and the member has
 * answered, or when the client sends more than can be kept. Returns
 * pump's 0, or -1 (errno set, s->fail_client telling whose socket).
 */
static int
start_splice(struct session *s)
{
	if (!s->buffered)
		return 0;
	half_pipe(&s->c2s);
	s->buffered = 0;
	s->c2s.from = s->cfd;
	s->c2s.to = s->sfd;
	s->c2s.eof = s->c_eof;
	free(s->replay);
	s->replay = NULL;
	return pump(s, &s->c2s);
}

/* The member's first byte: its time to answer (from the client's first
 * bytes sent, or from the connect when the member speaks first) feeds the
 * EWMA. */
static void
on_answered(struct session *s)
{
	int64_t	 now = mono_us();

	s->answered = 1;
	wait_end(s);
	backend_answered(s->be, (double)(now - (s->t_sent != 0 ? s->t_sent :
	    s->t_start)) / 1000.0, now);
	if (s->buffered && all_sent(s) && start_splice(s) == -1)
		s->answered = -1;
}

/*
 * One small read, sent on at once: what the other socket does not take
 * goes into the pipe (empty now, and holding COPY_CHUNK whatever its
 * size), sent from there as spliced bytes are. Returns what was read, 0
 * at its end, or -1 with errno (EPIPE for a failed send, so the session
 * closes rather than retries).
 */
static ssize_t
copy_small(struct half *h)
{
	char		 buf[COPY_CHUNK];
	char		*p = buf;
	ssize_t		 n, w;

	if (h->s->answered && !h->s->buffered && batch_ready(h->s->lb->base)) {
		if (h->ubuf == NULL)
			h->ubuf = xmalloc(COPY_CHUNK);
		if ((n = recv(h->from, h->ubuf, COPY_CHUNK, 0)) <= 0)
			return n;
		if (batch_send(&h->op, h->to, h->ubuf, n) == 0)
			return n;
		p = h->ubuf;	/* the ring is full: sent at once */
	} else if ((n = recv(h->from, buf, sizeof(buf), 0)) <= 0)
		return n;
	w = send(h->to, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (w == -1 && errno != EAGAIN) {
		errno = EPIPE;
		return -1;
	}
	if (w == -1)
		w = 0;
	if (w < n && h->pipe[1] == -1) {
		memcpy(h->buf, p + w, n - w);
		h->boff = 0;
	} else if (w < n && write(h->pipe[1], p + w, n - w) != n - w) {
		errno = EPIPE;
		return -1;
	}
	h->inpipe += n - w;
	return n;
}

/*
 * h's staged send made (batch_flush): what its socket did not take, or
 * all of it after a failure (the next try meets the error in pump, which
 * closes the session as for a send failing at once), goes on as after a
 * send(2) that took less, the write event waited for.
 */
static void
half_sent(struct batch_op *op, int res)
{
	struct half	*h = (struct half *)((char *)op -
			    offsetof(struct half, op));
	struct session	*s = h->s;
	size_t		 sent = res < 0 ? 0 : (size_t)res;

	if (sent >= op->len)
		return;
	log_debug("farm %s: a staged send to the %s took %zu of %zu bytes, "
	    "the rest waits for the socket", s->farm->name, h == &s->s2c ?
	    "client" : "member", sent, op->len);
	keep_rest(h, h->ubuf + sent, op->len - sent);
	want(h == &s->s2c ? s->sr : s->cr, h == &s->s2c ? &s->sr_on :
	    &s->cr_on, 0);
	want(h == &s->s2c ? s->cw : s->sw, h == &s->s2c ? &s->cw_on :
	    &s->sw_on, 1);
}

/*
 * len bytes at p, not taken by h's socket, go on first as a send that
 * would block: into the pipe (empty, and holding them) or the buffer.
 */
static void
keep_rest(struct half *h, const char *p, size_t len)
{
	if (h->pipe[1] == -1 || write(h->pipe[1], p, len) != (ssize_t)len) {
		half_buf(h, COPY_CHUNK);
		memcpy(h->buf, p, len);
	}
	h->boff = 0;
	h->inpipe = len;
}

/* Before s's sockets close: its staged sends made (the staged
 * descriptor numbers and buffers are s's). */
static void
unstage(struct session *s)
{
	batch_settle(&s->c2s.op);
	batch_settle(&s->s2c.op);
}

/*
 * Move what can move in one direction: from the socket into the pipe,
 * from the pipe to the other socket (or, for a small read, straight
 * across; with no pipe, always that way through h->buf), until one would
 * block (then wait for it) or the source ends (then half-close the other
 * side). Returns 0; -1 on an error (errno set, s->fail_client set when it
 * was the client's socket); -2 when the member failed before answering
 * and the session may retry.
 */
static int
pump(struct session *s, struct half *h)
{
	ssize_t		 n;
	int		 s2c = h == &s->s2c, more = 1;
	struct event	*rev = s2c ? s->sr : s->cr, *wev = s2c ? s->cw : s->sw;
	short		*ron = s2c ? &s->sr_on : &s->cr_on;
	short		*won = s2c ? &s->cw_on : &s->sw_on;

	if (h->op.len != 0)
		return 0;	/* batch_flush settles it */
	for (;;) {
		if (h->inpipe > 0) {
			if (h->pipe[0] == -1) {
				n = send(h->to, h->buf + h->boff, h->inpipe,
				    MSG_NOSIGNAL | MSG_DONTWAIT);
				if (n > 0)
					h->boff += n;
			} else
				n = splice(h->pipe[0], NULL, h->to, NULL,
				    h->inpipe, SPLICE_F_MOVE |
				    SPLICE_F_NONBLOCK);
			if (n > 0) {
				h->inpipe -= n;
				continue;
			}
			if (n == -1 && errno == EAGAIN) {
				/* Read no more until the other side drains. */
				want(rev, ron, 0);
				want(wev, won, 1);
				return 0;
			}
			s->fail_client = h->to == s->cfd;
			return -1;
		}
		want(wev, won, 0);
		if (h->eof) {
			want(rev, ron, 0);
			if (!h->shut) {
				shutdown(h->to, SHUT_WR);
				h->shut = 1;
			}
			return 0;
		}
		if (!more || h->op.len != 0) {
			/* The last read took less than asked: the socket is
			 * likely empty, and the read event says when not
			 * (or its bytes wait for the loop's batch: the read
			 * event comes again on the next turn). */
			want(rev, ron, 1);
			return 0;
		}
		if (h->bulk && h->pipe[0] != -1) {
			n = splice(h->from, NULL, h->pipe[1], NULL,
			    SPLICE_CHUNK, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (n > 0)
				h->inpipe += n;
		} else
			n = copy_small(h);
		if (n == -1 && errno == EPIPE) {
			s->fail_client = h->to == s->cfd;
			return -1;
		}
		if (n > 0) {
			more = n == (h->bulk ? SPLICE_CHUNK : COPY_CHUNK);
			h->bulk = n >= COPY_CHUNK;
			s->last = mono_us();
			if (s2c && !s->answered) {
				on_answered(s);
				if (s->answered == -1)
					return -1;
			}
			continue;
		}
		if (n == -1 && errno == EAGAIN) {
			want(rev, ron, 1);
			return 0;
		}
		/* A member that closes or resets before answering failed,
		 * and the session may retry; but not when the client sent
		 * nothing and ended (that close is the answer to its own),
		 * nor when the member ends cleanly after the client's end
		 * reached it: a one-way session (a log line, a metric) is
		 * over, and another member must not take it again. */
		if (s2c && !s->answered && s->replay != NULL &&
		    !(s->c_eof && s->rlen == 0) && !(n == 0 && s->c2s.shut))
			return -2;
		if (n == 0) {
			h->eof = 1;
			continue;
		}
		s->fail_client = h->from == s->cfd;
		return -1;
	}
}

/* Both directions ended and flushed: the session is over. */
static int
finished(struct session *s)
{
	return s->c2s.shut && s->s2c.shut && s->s2c.inpipe == 0 &&
	    s->c2s.inpipe == 0 && s->c2s.op.len == 0 && s->s2c.op.len == 0;
}

/* flush_replay's failure rc: the member's (-1: another member, or
 * blamed when it answered already), or the client's (-2: closed, no
 * member blamed). */
static void
replay_failed(struct session *s, int rc)
{
	if (rc == -2)
		session_close(s, strerror(errno));
	else
		server_failed(s, strerror(errno));
}

static void
after_pump(struct session *s, int rc)
{
	if (rc == -2)
		server_failed(s, "closed before answering");
	else if (rc == -1)
		session_close(s, strerror(errno));
	else if (finished(s))
		session_close(s, NULL);
}

static void
on_client_read(evutil_socket_t fd, short what, void *arg)
{
	struct session	*s = arg;
	ssize_t		 n;
	int		 rc;

	(void)what;
	if (!s->buffered) {
		after_pump(s, pump(s, &s->c2s));
		return;
	}
	if (s->rlen == LB_REPLAY_MAX) {
		/* Kept full and not all sent: the server's write event
		 * goes on (a read of 0 bytes would look like the end). */
		want(s->cr, &s->cr_on, 0);
		return;
	}
	n = read(fd, s->replay + s->rlen, LB_REPLAY_MAX - s->rlen);
	if (n == -1 && errno == EAGAIN)
		return;
	if (n == -1) {
		session_close(s, strerror(errno));
		return;
	}
	s->last = mono_us();
	if (n == 0) {
		/* Ended: always readable from now on, never again read. */
		s->c_eof = 1;
		want(s->cr, &s->cr_on, 0);
	}
	s->rlen += n;
	if ((rc = flush_replay(s)) != 0) {
		replay_failed(s, rc);
		return;
	}
	/* More than can be kept: no retry from here on, relay the rest. */
	if (s->buffered && s->rlen == LB_REPLAY_MAX && all_sent(s) &&
	    start_splice(s) == -1) {
		after_pump(s, -1);
		return;
	}
	if (finished(s))
		session_close(s, NULL);
}

static void
on_client_write(evutil_socket_t fd, short what, void *arg)
{
	struct session	*s = arg;

	(void)fd;
	(void)what;
	after_pump(s, pump(s, &s->s2c));
}

static void
on_server_read(evutil_socket_t fd, short what, void *arg)
{
	struct session	*s = arg;

	(void)fd;
	(void)what;
	after_pump(s, pump(s, &s->s2c));
}

/* Connected (or not), or the member can take more bytes. */
static void
on_server_write(evutil_socket_t fd, short what, void *arg)
{
	struct session	*s = arg;
	socklen_t	 len = sizeof(int);
	int		 err = 0, rc;

	if (s->state == S_CONNECTING) {
		if (what & EV_TIMEOUT) {
			server_failed(s, "connect timed out");
			return;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
			err = errno;
		if (err != 0) {
			errno = err;
			server_failed(s, strerror(err));
			return;
		}
		s->state = S_OPEN;
		want(s->sw, &s->sw_on, 0);	/* and its connect timeout */
		backend_ok(s->be);
		if (s->farm->persist != NULL)
			persist_note(s->farm->persist,
			    (struct sockaddr *)&s->client, s->be);
		half_pipe(&s->s2c);
		s->s2c.from = s->sfd;
		s->s2c.to = s->cfd;
		s->s2c.inpipe = 0;
		s->s2c.eof = 0;
		s->c2s.shut = 0;
		want(s->sr, &s->sr_on, 1);
	}
	if (s->buffered) {
		if ((rc = flush_replay(s)) != 0)
			replay_failed(s, rc);
		else if (s->buffered && s->rlen == LB_REPLAY_MAX &&
		    all_sent(s) && start_splice(s) == -1)
			after_pump(s, -1);
		return;
	}
	after_pump(s, pump(s, &s->c2s));
}

/* The one teardown: frees all the session owns, logs once when why. */
static void
session_close(struct session *s, const char *why)
{
	if (why != NULL)
		log_debug("session from farm %s closed: %s", s->farm->name,
		    why);
	unstage(s);
	queue_cancel(&s->wait);
	release_server(s);
	event_free(s->cr);
	event_free(s->cw);
	event_free(s->idle);
	close(s->cfd);
	if (s->c2s.pipe[0] != -1) {
		close(s->c2s.pipe[0]);
		close(s->c2s.pipe[1]);
	}
	if (s->s2c.pipe[0] != -1) {
		close(s->s2c.pipe[0]);
		close(s->s2c.pipe[1]);
	}
	free(s->c2s.buf);
	free(s->s2c.buf);
	free(s->c2s.ubuf);
	free(s->s2c.ubuf);
	farm_unref(s->farm);
	free(s->replay);
	free(s);
	nsessions--;
}
