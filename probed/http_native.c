/*
 * http_native.c: plain http:// checks on probed's own HTTP/1.1 client.
 * libcurl costs some ten system calls and much bookkeeping a transfer;
 * this costs socket, SO_LINGER, connect, send, two epoll changes, recv
 * and close, on the engine's loop, with the address the engine resolved
 * (c-ares) and within the slots it took. It is not conn.c: that is a
 * bufferevent (buffers, FIONREAD, TLS filters) for line protocols; this
 * reads a socket straight into a parser.
 *
 * It takes a check only when the check needs none of libcurl's extras,
 * decided once per config at load (http_native_prepare):
 *   - http:// (no TLS), without `follow`, `user` or `password-file`;
 *   - a host (and `host`) of small letters, digits, '-' and '.' (not an
 *     IPv6 address), and when numeric a plain dotted quad (curl rewrites
 *     the other forms of an IPv4 address);
 *   - a path starting with '/', of URL characters, without '#' and
 *     without "." or ".." segments (curl removes them);
 *   - a method that is an HTTP token, and a request under 1 KiB;
 *   - TOCSIN_HTTP_CURL not set in probed's environment (a switch for
 *     t/test_http_native.sh, which runs the same checks both ways).
 * Every other check goes to libcurl (check_http.c). Neither uses a proxy.
 *
 * The request is written once at load as curl writes it: request line,
 * Host, User-Agent, Accept, Connection: close. The answer is read as
 * curl 7.88 reads it (http_answer.c), so a check gets the same verdict
 * and words either way (both judge through http_judge.c); connection
 * failures are worded as curl words them. Latency parts as curl's
 * timers give them: connect when the connection is seen up, first byte
 * at the first read that returns (data or the close), nothing on a
 * timeout. One difference is kept: a transfer coding other than chunked
 * (gzip, which servers do not send unasked) is not decoded; such a body
 * runs to the close, as curl 8 reads it, where curl 7.88 decodes it.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <event2/event.h>
#include <event2/event_struct.h>	/* events kept in the check */

#include "config.h"
#include "conf.h"
#include "hash.h"
#include "log.h"
#include "xmalloc.h"

#include "confref.h"
#include "http_answer.h"
#include "http_judge.h"
#include "http_native.h"
#include "probed.h"

#define REQUEST_MAX	1024		/* bytes of a request, at most */
#define READ_SIZE	16384		/* bytes asked of one recv */

/* The request of one server, written at load. */
struct http_req {
	int		 head;		/* HEAD: no body comes */
	size_t		 len;
	char		 text[];
};

/*
 * What a config's servers send, by server index (NULL: libcurl's); the
 * same request is kept once, however many servers send it.
 */
struct http_prep {
	size_t		 n;
	struct http_req	**reqs;
	struct http_req	**owned;	/* each distinct request */
	size_t		 nowned;
};

struct native {
	struct probe	*p;
	const struct http_req *req;
	int		 fd;
	struct event	 rev;		/* readable; persistent */
	struct event	 wev;		/* writable, while the request waits */
	int		 rev_on;
	size_t		 sent;		/* bytes of the request sent */
	int		 up;		/* the connection was seen up */
	int64_t		 connect_us;	/* from the check's start; -1 */
	int64_t		 firstbyte_us;	/* from the check's start; -1 */
	struct http_answer *ans;	/* the answer read so far */
};

static int	 plain_host(const char *);
static int	 plain_path(const char *);
static int	 token(const char *);
static int	 takes(const struct server_conf *);
static struct http_req *request_of_conf(struct http_prep *, struct hash *,
		    const struct server_conf *);
static const struct http_req *request_of(const struct probe *);
static int	 native_start(struct probe *);
static void	 native_release(struct probe *);
static const char *native_phase(struct probe *);
static void	 on_socket(evutil_socket_t, short, void *);
static int	 send_request(struct native *);
static void	 read_answer(struct native *);
static void	 end(struct native *, enum http_step);

const struct check_ops http_native_ops = {
	.name = "http",
	.needs_addr = 1,
	.start = native_start,
	.release = native_release,
	.phase = native_phase,
};

/* --- at load: which servers, and what they send ------------------------ */

/* A host name curl sends as written: small letters, digits, '-', '.';
 * an IPv4 address only as a plain dotted quad. */
static int
plain_host(const char *h)
{
	struct in_addr	 a;
	char		 back[INET_ADDRSTRLEN];
	const char	*s;
	int		 numeric = 1;

	if (h == NULL || *h == '\0' || strlen(h) > 253)
		return 0;
	for (s = h; *s != '\0'; s++) {
		if (!islower((unsigned char)*s) &&
		    !isdigit((unsigned char)*s) && *s != '-' && *s != '.')
			return 0;
		if (!isdigit((unsigned char)*s) && *s != '.')
			numeric = 0;
	}
	if (!numeric)
		return 1;
	return inet_pton(AF_INET, h, &a) == 1 &&
	    inet_ntop(AF_INET, &a, back, sizeof(back)) != NULL &&
	    strcmp(back, h) == 0;
}

/* A path curl sends as written. */
static int
plain_path(const char *path)
{
	const char	*s, *seg;
	size_t		 n;

	if (path == NULL || path[0] != '/')
		return 0;
	for (s = path; *s != '\0' && *s != '?'; s = seg + n) {
		seg = s + 1;		/* after the '/' */
		n = strcspn(seg, "/?");
		if ((n == 1 && seg[0] == '.') ||
		    (n == 2 && seg[0] == '.' && seg[1] == '.'))
			return 0;
	}
	for (s = path; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) &&
		    strchr("-._~!$&'()*+,;=:@/?%", *s) == NULL)
			return 0;
	return 1;
}

/* An HTTP token (RFC 9110), as a method must be. */
static int
token(const char *s)
{
	if (s == NULL || *s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) &&
		    strchr("!#$%&'*+-.^_`|~", *s) == NULL)
			return 0;
	return 1;
}

/* Does sc go to this client? */
static int
takes(const struct server_conf *sc)
{
	return sc->kind == KIND_HTTP && !sc->implicit_tls && !sc->o.follow &&
	    sc->o.user == NULL && sc->o.password_file == NULL &&
	    plain_host(sc->host) &&
	    (sc->o.host == NULL || plain_host(sc->o.host)) &&
	    plain_path(sc->path) && token(sc->o.method);
}

/*
 * The request curl would send for sc: one already in seen (text ->
 * request) or a new one put there and in hp->owned. NULL when it is too
 * long.
 */
static struct http_req *
request_of_conf(struct http_prep *hp, struct hash *seen,
    const struct server_conf *sc)
{
	struct http_req	*r;
	const char	*method = sc->o.method;
	const char	*host = sc->o.host != NULL ? sc->o.host : sc->host;
	char		 port[16] = "", text[REQUEST_MAX];
	int		 n;

	if (strcasecmp(method, "GET") == 0)
		method = "GET";
	else if (strcasecmp(method, "HEAD") == 0)
		method = "HEAD";
	if (sc->port != 80)
		snprintf(port, sizeof(port), ":%d", sc->port);
	n = snprintf(text, sizeof(text), "%s %s HTTP/1.1\r\n"
	    "Host: %s%s\r\n"
	    "User-Agent: tocsin/" PACKAGE_VERSION "\r\n"
	    "Accept: */*\r\n"
	    "Connection: close\r\n\r\n", method, sc->path, host, port);
	if (n < 0 || (size_t)n >= sizeof(text))
		return NULL;
	if ((r = hash_get(seen, text)) != NULL)
		return r;
	r = xmalloc(sizeof(*r) + n + 1);
	memcpy(r->text, text, n + 1);
	r->len = n;
	r->head = strcmp(method, "HEAD") == 0;
	hash_put(seen, text, r);
	hp->owned[hp->nowned++] = r;
	return r;
}

/*
 * The requests of conf's plain http:// servers, written once; every other
 * server's is NULL (libcurl's). The engine keeps the result with the
 * config (confref) and frees it with http_native_prep_free.
 */
void *
http_native_prepare(const struct conf *conf)
{
	struct http_prep *hp;
	struct hash	*seen = hash_new();
	size_t		 i, nhttp = 0, nnative = 0;
	const char	*force = getenv("TOCSIN_HTTP_CURL");
	int		 off = force != NULL && *force != '\0';

	hp = xcalloc(1, sizeof(*hp));
	hp->n = conf->nservers;
	hp->reqs = xcalloc(hp->n + 1, sizeof(*hp->reqs));
	hp->owned = xcalloc(hp->n + 1, sizeof(*hp->owned));
	for (i = 0; i < conf->nservers; i++) {
		if (conf->servers[i]->kind != KIND_HTTP)
			continue;
		nhttp++;
		if (off || !takes(conf->servers[i]))
			continue;
		if ((hp->reqs[i] = request_of_conf(hp, seen,
		    conf->servers[i])) != NULL)
			nnative++;
	}
	hash_free(seen, NULL);
	hp->owned = xreallocarray(hp->owned, hp->nowned + 1,
	    sizeof(*hp->owned));
	log_debug("http: %zu of %zu http checks on the native client",
	    nnative, nhttp);
	return hp;
}

void
http_native_prep_free(void *arg)
{
	struct http_prep *hp = arg;
	size_t		 i;

	if (hp == NULL)
		return;
	for (i = 0; i < hp->nowned; i++)
		free(hp->owned[i]);
	free(hp->owned);
	free(hp->reqs);
	free(hp);
}

/* The request p's server sends here, or NULL when libcurl checks it. */
static const struct http_req *
request_of(const struct probe *p)
{
	const struct http_prep *hp;

	if (p->cref == NULL || (hp = confref_prep(p->cref)) == NULL ||
	    p->sc->idx >= hp->n)
		return NULL;
	return hp->reqs[p->sc->idx];
}

/* Does this client check p? (check_http.c asks before starting.) */
int
http_native_takes(const struct probe *p)
{
	return p->addrlen > 0 && request_of(p) != NULL;
}

/* --- a check ----------------------------------------------------------- */

/*
 * Connect and send the request, at once when the connection is up by
 * then (on a near server it is), else when it is writable. 0, or -1
 * with p->r set (the engine then ends the probe).
 */
static int
native_start(struct probe *p)
{
	struct event_base *base = engine_base(p->eng);
	struct native	*n;
	struct linger	 l = { 1, 0 };

	n = xcalloc(1, sizeof(*n));
	p->priv = n;
	n->p = p;
	n->req = request_of(p);
	n->connect_us = n->firstbyte_us = -1;
	n->ans = http_answer_new(n->req->head, p->sc->o.body != NULL);
	n->fd = socket(p->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (n->fd == -1) {
		result_set(&p->r, CHECK_UNKNOWN, "cannot make a socket: %s",
		    strerror(errno));
		return -1;
	}
	/* Close with a reset, as the libcurl path does (check_http.c):
	 * no TIME_WAIT left behind by thousands of checks a second. */
	(void)setsockopt(n->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	event_assign(&n->rev, base, n->fd, EV_READ | EV_PERSIST, on_socket, n);
	event_assign(&n->wev, base, n->fd, EV_WRITE, on_socket, n);
	if (connect(n->fd, (struct sockaddr *)&p->addr, p->addrlen) == -1 &&
	    errno != EINPROGRESS) {
		result_set(&p->r, CHECK_CRITICAL, "cannot connect to %s port "
		    "%d: %s", p->addrstr, p->sc->port, strerror(errno));
		return -1;
	}
	return send_request(n);
}

/* Close and free; safe on a check half started. */
static void
native_release(struct probe *p)
{
	struct native *n = p->priv;

	if (n == NULL)
		return;
	if (n->fd != -1) {
		if (n->rev_on)
			event_del(&n->rev);
		event_del(&n->wev);
		close(n->fd);
	}
	http_answer_free(n->ans);
	free(n);
	p->priv = NULL;
}

static const char *
native_phase(struct probe *p)
{
	struct native *n = p->priv;

	if (n == NULL)
		return NULL;
	if (!n->up)
		return "the connection";
	return n->firstbyte_us < 0 ? "first byte" : "the end of the answer";
}

/*
 * Send what is left of the request. Once it is all out, wait for the
 * answer; while some is left, for the socket to take more. 0, or -1 with
 * p->r set: a failed send before the connection was up is a failed
 * connection, as curl says.
 */
static int
send_request(struct native *n)
{
	struct probe	*p = n->p;
	ssize_t		 r;

	r = send(n->fd, n->req->text + n->sent, n->req->len - n->sent,
	    MSG_NOSIGNAL);
	if (r == -1 && errno != EAGAIN && errno != EWOULDBLOCK &&
	    errno != EINTR) {
		if (!n->up)
			result_set(&p->r, CHECK_CRITICAL, "cannot connect to "
			    "%s port %d: %s", p->addrstr, p->sc->port,
			    strerror(errno));
		else
			result_set(&p->r, CHECK_CRITICAL, "Send failure: %s",
			    strerror(errno));
		return -1;
	}
	if (r > 0) {
		if (!n->up) {
			n->up = 1;
			n->connect_us = probe_elapsed_us(p);
		}
		n->sent += r;
	}
	if (!n->rev_on) {
		if (event_add(&n->rev, NULL) == -1) {
			result_set(&p->r, CHECK_UNKNOWN, "cannot watch a "
			    "socket");
			return -1;
		}
		n->rev_on = 1;
	}
	if (n->sent < n->req->len && !event_pending(&n->wev, EV_WRITE, NULL) &&
	    event_add(&n->wev, NULL) == -1) {
		result_set(&p->r, CHECK_UNKNOWN, "cannot watch a socket");
		return -1;
	}
	return 0;
}

/* The socket is ready: the rest of the request, then the answer. */
static void
on_socket(evutil_socket_t fd, short what, void *arg)
{
	struct native	*n = arg;

	if (n->sent < n->req->len) {
		if (send_request(n) == -1) {
			end(n, HTTP_FAILED);
			return;
		}
		if (n->sent < n->req->len)
			return;
	}
	if (what & EV_READ)
		read_answer(n);
}

/* One read: parse it, and end the check when the answer is whole. */
static void
read_answer(struct native *n)
{
	char		 buf[READ_SIZE];
	ssize_t		 r;
	enum http_step	 st;

	r = recv(n->fd, buf, sizeof(buf), 0);
	if (r == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		result_set(&n->p->r, CHECK_CRITICAL, "connection broken "
		    "mid-answer: Recv failure: %s", strerror(errno));
		end(n, HTTP_FAILED);
		return;
	}
	if (n->firstbyte_us < 0)
		n->firstbyte_us = probe_elapsed_us(n->p);
	st = r == 0 ? http_answer_close(n->ans) :
	    http_answer_feed(n->ans, buf, r);
	if (st == HTTP_FAILED)
		result_set(&n->p->r, CHECK_CRITICAL, "%s",
		    http_answer_error(n->ans));
	end(n, st);
}

/*
 * The check ends (unless step is HTTP_MORE; after HTTP_FAILED p->r says
 * why): latency parts as curl's timers give them, then the verdict of a
 * whole answer, then the engine.
 */
static void
end(struct native *n, enum http_step step)
{
	struct probe		*p = n->p;
	struct http_facts	 f;

	if (step == HTTP_MORE)
		return;
	if (n->up)
		p->r.connect_us = n->connect_us;
	if (n->firstbyte_us >= 0)
		p->r.firstbyte_us = n->firstbyte_us;
	p->r.total_us = probe_elapsed_us(p);
	if (step == HTTP_DONE) {
		http_answer_facts(n->ans, &f);
		if (!http_judge_head(p, f.status, f.hdr_end) &&
		    !http_judge_body(p, f.status, f.body, f.over))
			http_judge_ok(p, f.status, f.len, f.over);
	}
	probe_done(p);
}
