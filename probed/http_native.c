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
 * curl 7.88 reads it, so a check gets the same verdict and words either
 * way (both judge through http_judge.c): the status line as curl's sscanf
 * takes it, 1xx answers skipped, the body ended by Content-Length, by
 * chunked encoding (extensions and trailers allowed) or by the close;
 * none for HEAD, 204 and 304; a header line over 100 KiB refused; reading
 * stopped after 1 MiB of body. Latency parts as curl's timers give them:
 * connect when the connection is seen up, first byte at the first read
 * that returns (data or the close), nothing on a timeout. One difference
 * is kept: a transfer coding other than chunked (gzip, which servers do
 * not send unasked) is not decoded; such a body runs to the close, as
 * curl 8 reads it, where curl 7.88 decodes it.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
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
#include "http_judge.h"
#include "http_native.h"
#include "probed.h"

#define REQUEST_MAX	1024		/* bytes of a request, at most */
#define LINE_KEEP	256		/* bytes kept of a header line */
#define HEADER_LINE_MAX	(100 * 1024)	/* curl's longest header line */
#define TRAILER_MAX	(64 * 1024)	/* curl's longest trailer line */
#define HEX_MAX		16		/* digits of a chunk size */
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

enum phase {
	PH_HEAD,			/* status line and header */
	PH_BODY,
};

enum framing {
	FR_CLOSE,			/* the body ends at the close */
	FR_LENGTH,			/* Content-Length */
	FR_CHUNKED,
};

/* Chunked decoding, in curl's steps. */
enum chunk {
	CH_HEX,				/* the size's digits */
	CH_LF,				/* to the end of the size line */
	CH_DATA,
	CH_POSTLF,			/* the CRLF after the data */
	CH_TRAILER,			/* a trailer line, or the end */
	CH_TRAILER_CR,
	CH_TRAILER_POSTCR,
	CH_STOP,			/* the last LF */
};

/* The outcome of reading some bytes. */
enum step {
	ST_MORE,			/* read on */
	ST_DONE,			/* the answer is whole: judge it */
	ST_FAILED,			/* p->r says why */
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
	enum phase	 phase;
	char		 line[LINE_KEEP];	/* a header line's first bytes */
	size_t		 linelen;	/* its bytes so far */
	int		 line_colon;	/* it holds a ':' */
	int		 line_nul;	/* it holds a NUL byte */
	unsigned	 lines;		/* whole lines of this answer's header */
	uint64_t	 hdrbytes;	/* bytes of whole header lines */
	uint64_t	 deduct;	/* of those, 1xx answers' */
	int		 hdr_end;	/* the last line was the blank one */
	long		 status;
	int		 bodyless;	/* 1xx, 204, 304: no length read */
	int		 nobody;	/* 204, 304: the header ends it */
	int		 have_length;
	int64_t		 length;	/* Content-Length */
	int		 ignore_length;	/* a Transfer-Encoding not chunked */
	int		 chunked;
	enum framing	 framing;
	uint64_t	 left;		/* FR_LENGTH: bytes still to come */
	enum chunk	 cs;
	char		 hex[HEX_MAX + 1];
	size_t		 nhex;
	uint64_t	 csize;		/* the chunk's bytes still to come */
	size_t		 trailer;	/* bytes of the trailer line */
	size_t		 len;		/* body bytes taken */
	int		 over;		/* stopped at HTTP_BODY_MAX */
	char		*body;		/* only for a `body` pattern */
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
static enum step feed(struct native *, const char *, size_t);
static enum step head_bytes(struct native *, const char *, size_t,
		    size_t *);
static enum step head_line(struct native *);
static enum step status_line(struct native *);
static enum step header_line(struct native *);
static void	 transfer_encoding(struct native *, const char *);
static enum step body_start(struct native *);
static enum step body_bytes(struct native *, const char *, size_t,
		    size_t *);
static enum step chunk_size(struct native *);
static enum step chunk_bytes(struct native *, const char *, size_t,
		    size_t *);
static int	 take_body(struct native *, const char *, size_t);
static enum step at_close(struct native *);
static enum step fail(struct native *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static void	 end(struct native *, enum step);

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
	n->phase = PH_HEAD;
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
	free(n->body);
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
			end(n, ST_FAILED);
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

	r = recv(n->fd, buf, sizeof(buf), 0);
	if (r == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		end(n, fail(n, "connection broken mid-answer: Recv failure: "
		    "%s", strerror(errno)));
		return;
	}
	if (n->firstbyte_us < 0)
		n->firstbyte_us = probe_elapsed_us(n->p);
	end(n, r == 0 ? at_close(n) : feed(n, buf, r));
}

/* Set p->r's message as failing; returns ST_FAILED. */
static enum step
fail(struct native *n, const char *fmt, ...)
{
	va_list	 ap;
	char	 msg[RESULT_MSG_MAX];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	result_set(&n->p->r, CHECK_CRITICAL, "%s", msg);
	return ST_FAILED;
}

/*
 * The check ends (unless step is ST_MORE): latency parts as curl's timers
 * give them, then the verdict of a whole answer, then the engine.
 */
static void
end(struct native *n, enum step step)
{
	struct probe	*p = n->p;

	if (step == ST_MORE)
		return;
	if (n->up)
		p->r.connect_us = n->connect_us;
	if (n->firstbyte_us >= 0)
		p->r.firstbyte_us = n->firstbyte_us;
	p->r.total_us = probe_elapsed_us(p);
	if (step == ST_DONE && !http_judge_head(p, n->status, n->hdr_end) &&
	    !http_judge_body(p, n->status, n->body, n->over))
		http_judge_ok(p, n->status, n->len, n->over);
	probe_done(p);
}

/* --- the answer -------------------------------------------------------- */

/* Bytes of the answer, in whatever pieces they come. */
static enum step
feed(struct native *n, const char *d, size_t len)
{
	enum step	 st = ST_MORE;
	size_t		 used;

	while (len > 0 && st == ST_MORE) {
		if (n->phase == PH_HEAD)
			st = head_bytes(n, d, len, &used);
		else if (n->framing == FR_CHUNKED)
			st = chunk_bytes(n, d, len, &used);
		else
			st = body_bytes(n, d, len, &used);
		d += used;
		len -= used;
	}
	return st;
}

/*
 * Header bytes, up to the end of the line they hold. The first line of
 * an answer must start as "HTTP/" does, checked as its bytes come, as
 * curl does (else it is HTTP/0.9, which curl refuses).
 */
static enum step
head_bytes(struct native *n, const char *d, size_t len, size_t *used)
{
	const char	*nl = memchr(d, '\n', len);
	size_t		 take = nl != NULL ? (size_t)(nl - d) + 1 : len;
	size_t		 keep, k;

	*used = take;
	if (n->linelen < LINE_KEEP - 1) {
		keep = LINE_KEEP - 1 - n->linelen;
		if (keep > take)
			keep = take;
		memcpy(n->line + n->linelen, d, keep);
		n->line[n->linelen + keep] = '\0';
	}
	n->linelen += take;
	if (!n->line_colon && memchr(d, ':', take) != NULL)
		n->line_colon = 1;
	if (!n->line_nul && memchr(d, '\0', take) != NULL)
		n->line_nul = 1;
	if (n->lines == 0) {
		k = n->linelen < 5 ? n->linelen : 5;
		if (strncasecmp(n->line, "HTTP/", k) != 0)
			return fail(n, "bad answer: Received HTTP/0.9 when "
			    "not allowed");
	}
	if (n->linelen >= HEADER_LINE_MAX)
		return fail(n, "Out of memory");
	if (nl == NULL)
		return ST_MORE;
	n->hdrbytes += n->linelen;
	return head_line(n);
}

/*
 * A whole header line is in n->line (its first bytes): the blank one, the
 * status line or a field, which curl refuses with a NUL byte or, past the
 * status line, without a colon.
 */
static enum step
head_line(struct native *n)
{
	enum step	 st;
	int		 colon = n->line_colon, nul = n->line_nul;

	n->linelen = 0;
	n->line_colon = n->line_nul = 0;
	if (n->line[0] == '\r' || n->line[0] == '\n') {
		n->hdr_end = 1;
		if (n->status >= 100 && n->status < 200 && n->status != 101) {
			/* A provisional answer: the real one follows. */
			n->lines = 0;
			n->deduct = n->hdrbytes;
			return ST_MORE;
		}
		return body_start(n);
	}
	if (n->lines == 0 && (st = status_line(n)) != ST_MORE)
		return st;
	if (nul)
		return fail(n, "bad answer: Nul byte in header");
	if (n->lines > 0 && !colon)
		return fail(n, "bad answer: Header without colon");
	st = n->lines == 0 ? ST_MORE : header_line(n);
	n->lines++;
	return st;
}

/*
 * "HTTP/1.1 200 OK", read as curl 7.88 reads it; a line that starts as
 * "HTTP/" (in any case) but has no version curl reads is taken as
 * HTTP/1.0 200, as curl takes it.
 */
static enum step
status_line(struct native *n)
{
	int	 major = 0, minor = 0, code = 0, nc, version;
	char	 sep = 0, digit4 = 0, two[2];

	n->hdr_end = 0;
	n->have_length = n->chunked = n->ignore_length = 0;
	nc = sscanf(n->line, " HTTP/%1d.%1d%c%3d%c", &major, &minor, &sep,
	    &code, &digit4);
	if (nc == 1 && major >= 2 &&
	    sscanf(n->line, " HTTP/%1[23] %d", two, &code) == 2) {
		nc = 4;
		sep = ' ';
		major = minor = 1;	/* no version check */
	} else if (isdigit((unsigned char)digit4) || (nc >= 4 && code < 100))
		return fail(n, "bad answer: Unsupported response code in "
		    "HTTP response");
	if (nc == 0) {
		major = 1;
		minor = 0;
		code = 200;
	} else if (nc < 4 || sep != ' ')
		return fail(n, "bad answer: Unsupported HTTP version in "
		    "response");
	version = major * 10 + minor;
	if (version != 10 && version != 11 && version != 20)
		return fail(n, "bad answer: Unsupported HTTP version (%d.%d) "
		    "in response", major, minor);
	n->status = code;
	n->nobody = code == 204 || code == 304;
	n->bodyless = n->nobody || (code >= 100 && code < 200);
	return ST_MORE;
}

/* A header field: only the body's framing matters here. */
static enum step
header_line(struct native *n)
{
	const char	*v;
	char		*e;
	long long	 cl;

	if (!n->bodyless && strncasecmp(n->line, "Content-Length:", 15) == 0) {
		for (v = n->line + 15; *v == ' ' || *v == '\t'; v++)
			;
		if (*v == '-' || isspace((unsigned char)*v))
			return fail(n, "bad answer: Invalid Content-Length: "
			    "value");
		errno = 0;
		cl = strtoll(v, &e, 10);
		if (errno == ERANGE)
			n->have_length = 0;	/* curl: read to the close */
		else if (e == v)
			return fail(n, "bad answer: Invalid Content-Length: "
			    "value");
		else {
			n->have_length = 1;
			n->length = cl;
		}
	} else if (!n->bodyless &&
	    strncasecmp(n->line, "Transfer-Encoding:", 18) == 0)
		transfer_encoding(n, n->line + 18);
	return ST_MORE;
}

/*
 * A Transfer-Encoding list, as curl reads it: "chunked" among the names
 * before the first other one says chunked; without it the body runs to
 * the close whatever Content-Length says.
 */
static void
transfer_encoding(struct native *n, const char *v)
{
	const char	*name;
	size_t		 len;

	do {
		while (*v == ' ' || *v == '\t' || *v == ',')
			v++;
		name = v;
		for (len = 0; *v != '\0' && *v != ','; v++)
			if (!isspace((unsigned char)*v))
				len = v - name + 1;
		if (len == 7 && strncasecmp(name, "chunked", 7) == 0)
			n->chunked = 1;
		else if (len > 0)
			break;		/* curl stops at one it does not do */
	} while (*v != '\0');
	if (!n->chunked)
		n->ignore_length = 1;
}

/* The header ended: how the body comes, or that none does. */
static enum step
body_start(struct native *n)
{
	n->phase = PH_BODY;
	if (n->req->head || n->nobody)
		return ST_DONE;
	if (n->chunked) {
		n->framing = FR_CHUNKED;
		n->cs = CH_HEX;
		return ST_MORE;
	}
	if (n->have_length && !n->ignore_length) {
		if (n->length == 0)
			return ST_DONE;
		n->framing = FR_LENGTH;
		n->left = n->length;
		return ST_MORE;
	}
	n->framing = FR_CLOSE;
	return ST_MORE;
}

/*
 * Body bytes, as check_http.c's on_body takes them: at most
 * HTTP_BODY_MAX counted (kept for a `body` pattern); 1 when that stops
 * the reading.
 */
static int
take_body(struct native *n, const char *d, size_t len)
{
	if (n->len + len > HTTP_BODY_MAX) {
		len = HTTP_BODY_MAX - n->len;
		n->over = 1;
	}
	if (n->p->sc->o.body != NULL) {
		n->body = xreallocarray(n->body, n->len + len + 1, 1);
		memcpy(n->body + n->len, d, len);
		n->body[n->len + len] = '\0';
	}
	n->len += len;
	return n->over;
}

/* Body bytes ended by Content-Length or by the close. */
static enum step
body_bytes(struct native *n, const char *d, size_t len, size_t *used)
{
	if (n->framing == FR_LENGTH && len > n->left)
		len = n->left;
	*used = len;
	if (take_body(n, d, len))
		return ST_DONE;
	if (n->framing == FR_LENGTH) {
		n->left -= len;
		if (n->left == 0)
			return ST_DONE;
	}
	return ST_MORE;
}

/* The size line's digits are in: the chunk's size. */
static enum step
chunk_size(struct native *n)
{
	char			*e;
	unsigned long long	 v;

	n->hex[n->nhex] = '\0';
	errno = 0;
	v = strtoull(n->hex, &e, 16);
	if (errno == ERANGE || v > INT64_MAX)
		return fail(n, "connection broken mid-answer: Illegal or "
		    "missing hexadecimal sequence in chunked-encoding");
	n->csize = v;
	n->nhex = 0;
	n->cs = CH_LF;
	return ST_MORE;
}

/* Chunked body bytes, decoded in curl's steps. */
static enum step
chunk_bytes(struct native *n, const char *d, size_t len, size_t *used)
{
	char	 c = d[0];
	size_t	 take;

	*used = 1;
	switch (n->cs) {
	case CH_HEX:
		if (isxdigit((unsigned char)c)) {
			if (n->nhex >= HEX_MAX)
				return fail(n, "connection broken mid-answer: "
				    "Too long hexadecimal number in "
				    "chunked-encoding");
			n->hex[n->nhex++] = c;
			return ST_MORE;
		}
		*used = 0;
		if (n->nhex == 0)
			return fail(n, "connection broken mid-answer: Illegal "
			    "or missing hexadecimal sequence in "
			    "chunked-encoding");
		return chunk_size(n);
	case CH_LF:
		if (c == '\n')
			n->cs = n->csize == 0 ? CH_TRAILER : CH_DATA;
		return ST_MORE;
	case CH_DATA:
		take = len < n->csize ? len : (size_t)n->csize;
		*used = take;
		if (take_body(n, d, take))
			return ST_DONE;
		if ((n->csize -= take) == 0)
			n->cs = CH_POSTLF;
		return ST_MORE;
	case CH_POSTLF:
		if (c == '\n')
			n->cs = CH_HEX;
		else if (c != '\r')
			return fail(n, "connection broken mid-answer: "
			    "Malformed encoding found in chunked-encoding");
		return ST_MORE;
	case CH_TRAILER:
		if (c != '\r' && c != '\n') {
			if (++n->trailer >= TRAILER_MAX)
				return fail(n, "connection broken mid-answer: "
				    "Out of memory in chunked-encoding");
			return ST_MORE;
		}
		if (n->trailer > 0) {
			n->trailer = 0;
			n->cs = CH_TRAILER_CR;
			if (c == '\n')
				*used = 0;	/* already on the LF */
		} else {
			n->cs = CH_TRAILER_POSTCR;
			*used = 0;
		}
		return ST_MORE;
	case CH_TRAILER_CR:
		if (c != '\n')
			return fail(n, "connection broken mid-answer: "
			    "Malformed encoding found in chunked-encoding");
		n->cs = CH_TRAILER_POSTCR;
		return ST_MORE;
	case CH_TRAILER_POSTCR:
		if (c != '\r' && c != '\n') {
			n->cs = CH_TRAILER;	/* another trailer line */
			*used = 0;
			return ST_MORE;
		}
		if (c != '\r')
			*used = 0;
		n->cs = CH_STOP;
		return ST_MORE;
	case CH_STOP:
		if (c != '\n')
			return fail(n, "connection broken mid-answer: "
			    "Malformed encoding found in chunked-encoding");
		return ST_DONE;
	}
	return ST_MORE;
}

/* The server closed: a whole answer, or which part was cut. */
static enum step
at_close(struct native *n)
{
	if (n->phase == PH_HEAD) {
		if (n->hdrbytes - n->deduct == 0)
			return fail(n, "connection closed with no answer");
		return ST_DONE;		/* judged: "mid-header" */
	}
	if (n->framing == FR_LENGTH)
		return fail(n, "connection broken mid-answer: transfer closed "
		    "with %llu bytes remaining to read",
		    (unsigned long long)n->left);
	if (n->framing == FR_CHUNKED)
		return fail(n, "connection broken mid-answer: transfer closed "
		    "with outstanding read data remaining");
	return ST_DONE;
}
