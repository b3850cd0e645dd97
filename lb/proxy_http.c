/*
 * proxy_http.c: HTTP/1.1 sessions. A client's requests are read one at a
 * time with Debian's http_parser (a proven parser, fuzzed upstream, so we
 * write none), rewritten (hop-by-hop headers dropped, X-Forwarded-For and
 * Forwarded appended to) and sent to a member over a pooled keep-alive
 * connection. A body up to LB_HTTP_BODY_KEEP is read whole first (and
 * sent with a length), so the request can go to another member; a longer
 * one is streamed on a new connection as it comes (chunked stays
 * chunked). The answer is streamed back, its head's Connection rewritten
 * for the client. Either direction stops reading from its source while
 * LB_HTTP_HIGH bytes wait for the other side, so memory stays bounded
 * whatever the sizes and speeds. A request that reached no server
 * (connect failed) is retried on another at once; one whose server closed
 * without a byte of answer is retried only when idempotent and not
 * streamed. Bad input gets 400, 414 or 431 and costs only its connection;
 * no member up gets 503. With persist, a cookie keeps a client on its
 * member. With proxy-protocol, a server connection begins with the PROXY
 * header of the client it was opened for and serves only that client's
 * requests. A request to switch protocols (a WebSocket's Upgrade) that
 * its member takes (101) turns both connections into a tcp session
 * (proxy_tcp_adopt).
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <http_parser.h>

#include "log.h"
#include "util.h"
#include "xmalloc.h"

#include "lb.h"

#define LB_HTTP_URL_MAX		8192	/* request target, bytes */
#define LB_HTTP_HEADERS_MAX	32768	/* all header lines, bytes */
#define LB_HTTP_BODY_KEEP	65536	/* a body read whole first, at most */
#define LB_HTTP_HIGH		262144	/* bytes waiting for one side: stop
					   reading the other; go on at half */
#define LB_HTTP_POOL_IDLE_MS	4000	/* a pooled server connection */
#define LB_HTTP_POOL_MAX	512	/* pooled connections, in all */
#define LB_HTTP_COOKIE		"tocsin_lb"	/* persist's cookie */
#define LB_HTTP_LINGER_MS	2000	/* reading after our last answer */

struct hconn;

/* Bytes that grow, kept between requests: header lines. */
struct text {
	char		*p;
	size_t		 len, cap;
};

/* A connection to a member: serving one request, or idle in the pool. */
struct sconn {
	TAILQ_ENTRY(sconn) entry;	/* in the pool while idle */
	struct backend	*be;		/* referenced */
	struct conn *conn;
	struct hconn	*hc;		/* NULL while idle */
	http_parser	 parser;	/* the answer */
	int		 connected;
	int		 reused;	/* served a request before */
	int		 done;		/* the answer ended */
	int		 keepalive;	/* the member keeps it open */
	int		 head_done;	/* the answer's head went on */
	int		 needs_eof;	/* its body ends with the connection */
	int		 dechunk;	/* its chunked body goes to an HTTP/1.0
					   client bare, ended by the close */
	int		 pp;		/* PROXY version it began with; 0 */
	int		 pp_sent;
	struct sockaddr_storage client;	/* with pp: the only client */
};
TAILQ_HEAD(sconnq, sconn);

/* One client connection and the request it is on. */
struct hconn {
	struct lb	*lb;
	struct farm	*farm;		/* referenced */
	unsigned	 gen;		/* lb->gen when farm was looked up */
	struct conn *conn;
	struct sockaddr_storage client;
	socklen_t	 clientlen;
	char		 ip[64];
	unsigned char	 pp[PROXYPROTO_MAX];	/* PROXY header; or none */
	size_t		 pplen;
	http_parser	 parser;	/* the requests */
	int		 reading;	/* between requests or in one */
	int		 complete;	/* the request is read whole */
	int		 streaming;	/* its body goes on as it comes */
	int		 sent;		/* streaming: the head went */
	int		 chunked;	/* its body is chunked */
	uint64_t	 clen;		/* else its Content-Length */
	int		 answer_done;	/* streaming: answered before the
					   body ended */
	int		 s_paused;	/* server reads stopped: our output
					   to the client is full */
	int		 c_paused;	/* no next request parsed: answers
					   wait for the client, LB_HTTP_HIGH
					   bytes or more */
	int		 closing;	/* close once the output is written */
	int		 lingering;	/* written and half-closed: reading
					   what is left, then close */
	int64_t		 linger_end;	/* mono_us it closes by, lingering */
	int		 error;		/* status to answer on a bad request */
	int		 eof;		/* it sent its end: the requests read
					   are served, then it is closed */
	int		 keepalive;
	int		 idempotent;
	int		 head;		/* method HEAD */
	int		 http10;	/* an HTTP/1.0 request: no chunks and
					   no 1xx in its answer */
	size_t		 urllen, hdrlen;
	size_t		 urlcap;
	char		*url;		/* kept across requests, as hdrs */
	struct text	 hdrs;		/* kept header lines, as received;
					   the one being read at the end */
	size_t		 fstart, vstart;	/* its field's and value's */
	int		 in_hdr;	/* 0 none, 1 its field, 2 its value */
	int		 in_body;	/* the head is read: header fields now
					   are a chunked body's trailers */
	struct evbuffer	*body;
	int		 has_host;	/* Host lines in its head */
	char		*xff;		/* X-Forwarded-For as received, every
					   such header joined by ", " */
	char		*fwd;		/* Forwarded, the same way */
	char		*conn_opts;	/* Connection's options, the same way */
	char		*upgrade_to;	/* its Upgrade header's value */
	int		 upgrade;	/* it asks to switch protocols */
	int		 has_cookie;	/* it carried our persist cookie */
	uint64_t	 cookie_key;	/* its member's persist_key */
	struct backend	*tried[LB_TRIES_MAX];
	size_t		 ntried;
	struct sconn	*sc;
	int		 answered;	/* a byte of answer came from the member */
	int		 forwarded;	/* a byte of answer went to the client */
	int		 reached;	/* a member it tried took it and failed */
	int64_t		 t_sent;
	int64_t		 t_wait;	/* t_sent while counted in its member's
					   waiting; 0 = not */
	struct waiter	 wait;		/* for a slot, when all are full */
	struct hconn	*next;		/* in the cache */
};

#define LB_HTTP_CACHE_MAX	256	/* freed clients kept, a thread */

/* Each loop (thread) has its own pool, parser settings and counts, and
 * its freed clients with their buffers, for the next ones. */
static _Thread_local struct hconn *hc_cache;
static _Thread_local size_t	 nhc_cache;
static _Thread_local struct sconnq pool_;
static _Thread_local int	 pool_ready;
static _Thread_local size_t	 npool;

static _Thread_local http_parser_settings req_settings, resp_settings;

static void	hc_free(struct hconn *);
static struct hconn *hc_new(void);
static void	hc_destroy(struct hconn *);
static void	hc_reply(struct hconn *, int status, const char *reason,
		    const char *body);
static void	hc_parse(struct hconn *);
static void	hc_dispatch(struct hconn *);
static void	hc_slot(void *);
static void	hc_busy(void *);
static void	hc_next(struct hconn *);
static void	hc_read_next(struct hconn *);
static int	client_full(struct hconn *);
static void	hc_linger(struct hconn *);
static void	hc_last(struct hconn *);
static int	hc_refarm(struct hconn *);
static void	hc_reset_request(struct hconn *);
static void	hc_wait_begin(struct hconn *);
static void	hc_wait_end(struct hconn *);
static void	sc_free(struct sconn *);
static struct sconn *sc_detach(struct hconn *);
static void	sc_release(struct hconn *, int reusable);
static void	sc_failed(struct hconn *, const char *why, int how);
static struct sconn *sc_get(struct hconn *, struct backend *, int *);
static void	sc_send(struct hconn *);
static void	on_client_read(struct conn *, void *);
static void	on_client_write(struct conn *, void *);
static void	on_server_write(struct conn *, void *);
static void	stream_body(struct hconn *, const char *, size_t);
static void	stream_end(struct hconn *);
static void	hc_tunnel(struct hconn *);
static int	stream_full(struct hconn *);
static void	on_client_event(struct conn *, short, void *);
static void	on_server_read(struct conn *, void *);
static void	on_server_event(struct conn *, short, void *);
static void	on_pool_event(struct conn *, short, void *);
static void	on_pool_read(struct conn *, void *);
static void	settings_init(void);
static struct sconnq *pool_get(void);
static void	read_cookie(struct hconn *, const char *);
static void	join_value(char **, const char *);
static int	token_in(const char *, size_t, const char *, size_t);
static void	drop_named(struct hconn *);
static int	fwd_valid(const char *);
static void	write_head(struct hconn *, const char *, size_t);
static int	read_head(struct hconn *, struct sconn *, struct evbuffer *);
static int	sc_fits(const struct sconn *, const struct hconn *,
		    const struct backend *);

/* The request headers we look at: each dropped (hop-by-hop ones, and
 * those we append to), noted, or both. */
enum hdr_kind {
	H_OTHER,
	H_HOP,		/* hop-by-hop, or a length we set again: dropped */
	H_CONNECTION,	/* dropped; the fields it names dropped too */
	H_EXPECT,	/* dropped; 100-continue answered */
	H_COOKIE,	/* kept; our persist cookie read */
	H_XFF,		/* dropped, appended to */
	H_FORWARDED,	/* dropped, appended to */
	H_HOST,		/* kept; noted */
	H_UPGRADE,	/* dropped; noted, sent again with a switch asked */
};

static const struct {
	const char	*name;
	size_t		 len;
	enum hdr_kind	 kind;
} hdr_kinds[] = {
#define H(name, kind)	{ name, sizeof(name) - 1, kind }
	H("connection", H_CONNECTION),
	H("keep-alive", H_HOP),
	H("proxy-connection", H_HOP),
	H("transfer-encoding", H_HOP),
	H("te", H_HOP),
	H("trailer", H_HOP),
	H("upgrade", H_UPGRADE),
	H("content-length", H_HOP),
	H("expect", H_EXPECT),
	H("cookie", H_COOKIE),
	H("x-forwarded-for", H_XFF),
	H("forwarded", H_FORWARDED),
	H("host", H_HOST),
#undef H
};

/* From a write callback: all written, back to writing at once. A
 * client connection and a pooled server connection keep their writing
 * disabled while all is written, so an answer or request costs one
 * writev(2) in the turn of the loop that made it (conn_flush), not a
 * write event added, waited for and deleted. */
static void
drained(struct conn *conn)
{
	if (evbuffer_get_length(conn_output(conn)) == 0)
		conn_disable(conn, EV_WRITE);
}

static void
set_timeout(struct conn *conn, int64_t ms)
{
	conn_set_timeouts(conn, ms, ms);
}

/* --- the request --------------------------------------------------------- */

static int
on_req_begin(http_parser *p)
{
	struct hconn	*hc = p->data;

	hc_reset_request(hc);
	return 0;
}

static int
on_req_url(http_parser *p, const char *at, size_t len)
{
	struct hconn	*hc = p->data;

	if (hc->urllen + len > LB_HTTP_URL_MAX) {
		hc->error = 414;
		return -1;
	}
	if (hc->urllen + len + 1 > hc->urlcap) {
		hc->urlcap = hc->urllen + len + 1 < 256 ? 256 :
		    hc->urllen + len + 1;
		hc->url = xreallocarray(hc->url, 1, hc->urlcap);
	}
	memcpy(hc->url + hc->urllen, at, len);
	hc->urllen += len;
	hc->url[hc->urllen] = '\0';
	return 0;
}

/* Our persist cookie in a Cookie header, if there: tocsin_lb=16 hex. */
static void
read_cookie(struct hconn *hc, const char *v)
{
	const char	*p = v;
	char		*end;

	while ((p = strstr(p, LB_HTTP_COOKIE "=")) != NULL) {
		if (p == v || p[-1] == ' ' || p[-1] == ';') {
			hc->cookie_key = strtoull(p + strlen(LB_HTTP_COOKIE) + 1,
			    &end, 16);
			hc->has_cookie = end == p + strlen(LB_HTTP_COOKIE) + 17;
			return;
		}
		p++;
	}
}

/* Add v to a list header's value kept in *list (RFC 9110 5.3: the same
 * field twice is one list). Its size is bounded by the request's. */
static void
join_value(char **list, const char *v)
{
	char	*joined;

	if (*list == NULL) {
		*list = xstrdup(v);
		return;
	}
	xasprintf(&joined, "%s, %s", *list, v);
	free(*list);
	*list = joined;
}

/* Room for n more bytes, and a NUL after them. */
static void
text_grow(struct text *t, size_t n)
{
	if (t->len + n + 1 <= t->cap)
		return;
	t->cap = t->len + n + 1 < 1024 ? 1024 : (t->len + n + 1) * 2;
	t->p = xreallocarray(t->p, 1, t->cap);
}

static void
text_add(struct text *t, const void *at, size_t n)
{
	text_grow(t, n);
	memcpy(t->p + t->len, at, n);
	t->len += n;
}

/* What a field name (len bytes, any case) is to us. */
static enum hdr_kind
hdr_kind(const char *f, size_t len)
{
	size_t	 i;

	for (i = 0; i < sizeof(hdr_kinds) / sizeof(hdr_kinds[0]); i++)
		if (hdr_kinds[i].len == len &&
		    strncasecmp(f, hdr_kinds[i].name, len) == 0)
			return hdr_kinds[i].kind;
	return H_OTHER;
}

/*
 * The next token of a comma-separated list at *pp (before end), spaces
 * and folds around it skipped: its length, *tok set, and *pp past its
 * element; 0 at the list's end (empty elements are skipped).
 */
static size_t
list_next(const char **pp, const char *end, const char **tok)
{
	const char	*p = *pp;
	size_t		 n = 0;

	while (n == 0 && p < end) {
		while (p < end && (*p == ' ' || *p == '\t' || *p == ',' ||
		    *p == '\r' || *p == '\n'))
			p++;
		for (*tok = p; p < end && *p != ',' && *p != ' ' &&
		    *p != '\t' && *p != '\r' && *p != '\n';)
			p++;
		n = p - *tok;
		while (p < end && *p != ',')
			p++;
	}
	*pp = p;
	return n;
}

/* Whether the field name (nlen bytes) is one of the comma-separated
 * tokens of list (llen bytes), in any case and with any spaces: a name
 * a Connection header lists. */
static int
token_in(const char *list, size_t llen, const char *name, size_t nlen)
{
	const char	*p = list, *tok;
	size_t		 n;

	while ((n = list_next(&p, list + llen, &tok)) > 0)
		if (n == nlen && strncasecmp(tok, name, nlen) == 0)
			return 1;
	return 0;
}

/*
 * The kept header lines that the request's Connection header names go
 * (RFC 9110 7.6.1: they are for this hop only), but Host (a request
 * needs one; we would otherwise name the member). An X-Forwarded-For or
 * Forwarded named is dropped too: ours then begins the list.
 */
static void
drop_named(struct hconn *hc)
{
	struct text	*t = &hc->hdrs;
	const char	*opts = hc->conn_opts, *colon;
	size_t		 olen = strlen(opts), in = 0, out = 0, eol, n;

	if (token_in(opts, olen, "x-forwarded-for", 15)) {
		free(hc->xff);
		hc->xff = NULL;
	}
	if (token_in(opts, olen, "forwarded", 9)) {
		free(hc->fwd);
		hc->fwd = NULL;
	}
	while (in < t->len) {
		/* A line, with the folded ones that follow it. */
		for (eol = in; eol + 1 < t->len; eol++)
			if (t->p[eol] == '\r' && t->p[eol + 1] == '\n' &&
			    (eol + 2 >= t->len || (t->p[eol + 2] != ' ' &&
			    t->p[eol + 2] != '\t')))
				break;
		eol = eol + 2 < t->len ? eol + 2 : t->len;
		n = (colon = memchr(t->p + in, ':', eol - in)) != NULL ?
		    (size_t)(colon - (t->p + in)) : 0;
		if (n == 0 || !token_in(opts, olen, t->p + in, n) ||
		    hdr_kind(t->p + in, n) == H_HOST) {
			memmove(t->p + out, t->p + in, eol - in);
			out += eol - in;
		}
		in = eol;
	}
	t->len = out;
}

/*
 * The header just read whole, as received at the end of the kept lines
 * ("field: value", its field from fstart): keep it as it is, or drop it
 * again and note what it says.
 */
static void
end_header(struct hconn *hc)
{
	struct text	*t = &hc->hdrs;
	char		*v;
	size_t		 flen;
	enum hdr_kind	 kind;

	if (hc->in_hdr == 1) {		/* a field with no value */
		text_add(t, ": ", 2);
		hc->vstart = t->len;
	}
	if (hc->in_hdr == 0)
		return;
	hc->in_hdr = 0;
	flen = hc->vstart - 2 - hc->fstart;
	if (flen == 0) {
		t->len = hc->fstart;
		return;
	}
	text_grow(t, 0);
	t->p[t->len] = '\0';
	v = t->p + hc->vstart;
	switch ((kind = hdr_kind(t->p + hc->fstart, flen))) {
	case H_EXPECT:
		/* Never to HTTP/1.0 (RFC 9110 15.2: it knows no 1xx). */
		if (strcasecmp(v, "100-continue") == 0 &&
		    (hc->parser.http_major > 1 || hc->parser.http_minor > 0)) {
			evbuffer_add(conn_output(hc->conn),
			    "HTTP/1.1 100 Continue\r\n\r\n", 25);
			conn_flush(hc->conn);
		}
		break;
	case H_COOKIE:
		read_cookie(hc, v);
		break;
	case H_XFF:
		join_value(&hc->xff, v);
		break;
	case H_FORWARDED:
		join_value(&hc->fwd, v);
		break;
	case H_HOST:
		if (!hc->in_body)
			hc->has_host++;
		break;
	case H_CONNECTION:
		join_value(&hc->conn_opts, v);
		break;
	case H_UPGRADE:
		free(hc->upgrade_to);
		hc->upgrade_to = xstrdup(v);
		break;
	default:
		break;
	}
	if (kind == H_OTHER || kind == H_COOKIE || kind == H_HOST)
		text_add(t, "\r\n", 2);
	else
		t->len = hc->fstart;
}

/* A token character (RFC 9110 5.6.2). */
static int
tchar(int c)
{
	return isalnum(c) || (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/*
 * Whether a Forwarded value is well formed (RFC 7239 4): elements
 * separated by commas, each pairs token=value separated by semicolons,
 * a value a token or a quoted-string that ends. One that is not must not
 * be appended to: our element could land inside the client's quote.
 */
static int
fwd_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == ',' || *p == ';')
			p++;
		if (*p == '\0')
			return 1;
		if (!tchar(*p))
			return 0;
		while (tchar(*p))
			p++;
		if (*p++ != '=')
			return 0;
		if (*p == '"') {
			for (p++; *p != '"'; p++) {
				if (*p == '\\')
					p++;
				if (*p == '\0' || (*p < ' ' && *p != '\t') ||
				    *p == 0x7f)
					return 0;
			}
			p++;
		} else if (!tchar(*p))
			return 0;
		while (tchar(*p))
			p++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != '\0' && *p != ',' && *p != ';')
			return 0;
	}
}

static int
header_bytes(struct hconn *hc, size_t len)
{
	hc->hdrlen += len;
	if (hc->hdrlen > LB_HTTP_HEADERS_MAX) {
		hc->error = 431;
		return -1;
	}
	return 0;
}

/*
 * A header field's name, or a part of it. After the head, http_parser
 * reports a chunked body's trailer fields here too: they are counted
 * against LB_HTTP_HEADERS_MAX and dropped (the body goes on with a
 * length, or as chunks we frame; RFC 9112 7.1.2 lets a recipient discard
 * them), so none reaches the head sent on (a Host or Transfer-Encoding
 * there would be a second one).
 */
static int
on_req_field(http_parser *p, const char *at, size_t len)
{
	struct hconn	*hc = p->data;

	if (hc->in_body)
		return header_bytes(hc, len);
	if (hc->in_hdr == 2)
		end_header(hc);
	if (header_bytes(hc, len) == -1)
		return -1;
	if (hc->in_hdr == 0) {
		hc->fstart = hc->hdrs.len;
		hc->in_hdr = 1;
	}
	text_add(&hc->hdrs, at, len);
	return 0;
}

static int
on_req_value(http_parser *p, const char *at, size_t len)
{
	struct hconn	*hc = p->data;

	if (header_bytes(hc, len) == -1)
		return -1;
	if (hc->in_body)
		return 0;	/* a trailer's: dropped (on_req_field) */
	if (hc->in_hdr == 1) {
		text_add(&hc->hdrs, ": ", 2);
		hc->vstart = hc->hdrs.len;
		hc->in_hdr = 2;
	}
	text_add(&hc->hdrs, at, len);
	return 0;
}

static int
on_req_headers(http_parser *p)
{
	struct hconn	*hc = p->data;

	end_header(hc);
	if (hc->has_host > 1) {
		/* Which one the member reads is anyone's guess: 400, as
		 * RFC 9112 3.2 asks. */
		log_debug("client %s: more than one Host", hc->ip);
		return -1;
	}
	if (hc->conn_opts != NULL)
		drop_named(hc);
	if (hc->fwd != NULL && !fwd_valid(hc->fwd)) {
		log_debug("client %s: Forwarded not well formed, dropped",
		    hc->ip);
		free(hc->fwd);
		hc->fwd = NULL;
	}
	hc->in_body = 1;
	hc->keepalive = http_should_keep_alive(p);
	hc->head = p->method == HTTP_HEAD;
	hc->http10 = p->http_major == 1 && p->http_minor == 0;
	hc->chunked = (p->flags & F_CHUNKED) != 0;
	hc->clen = p->content_length;
	hc->idempotent = p->method == HTTP_GET || p->method == HTTP_HEAD ||
	    p->method == HTTP_PUT || p->method == HTTP_DELETE ||
	    p->method == HTTP_OPTIONS || p->method == HTTP_TRACE;
	if (p->upgrade) {
		/* A switch of protocols (a WebSocket): asked of the member,
		 * and tunnelled once it agrees (hc_tunnel). Not CONNECT: no
		 * forward proxy here. */
		if (p->method == HTTP_CONNECT || hc->upgrade_to == NULL ||
		    strpbrk(hc->upgrade_to, "\r\n") != NULL) {
			hc->error = 501;
			return -1;
		}
		hc->upgrade = 1;
	}
	return 0;
}

static int
on_req_body(http_parser *p, const char *at, size_t len)
{
	struct hconn	*hc = p->data;

	if (hc->streaming && hc->sent)
		stream_body(hc, at, len);
	else
		evbuffer_add(hc->body, at, len);
	return 0;
}

static int
on_req_complete(http_parser *p)
{
	struct hconn	*hc = p->data;

	hc->complete = 1;
	http_parser_pause(p, 1);
	return 0;
}

/* --- the answer ---------------------------------------------------------- */

/*
 * The answer's head is parsed: does a body follow? Returns 1 (none) for
 * an answer to HEAD and for 1xx, 204 and 304, whatever Content-Length or
 * Transfer-Encoding they carry (RFC 9110 6.4.1, 15.3.5, 15.4.5: a 304's
 * length is the representation's, not its own), so such an answer ends
 * with its head and the connection serves the next request. A chunked
 * body for an HTTP/1.0 client, which cannot read chunks, goes to it bare
 * (on_resp_body) and ends with the connection: simpler than reading it
 * all for a length, and bounded as any body is.
 */
static int
on_resp_headers(http_parser *p)
{
	struct sconn	*sc = p->data;
	int		 nobody;

	nobody = (sc->hc != NULL && sc->hc->head) || p->status_code < 200 ||
	    p->status_code == 204 || p->status_code == 304;
	sc->needs_eof = !nobody && !(p->flags & F_CHUNKED) &&
	    p->content_length == ULLONG_MAX;
	sc->dechunk = !nobody && (p->flags & F_CHUNKED) && sc->hc != NULL &&
	    sc->hc->http10;
	return nobody ? 1 : 0;
}

/* Body bytes of an answer: to the client here only when de-chunked (else
 * on_server_read passes them on as they came, framing and all). */
static int
on_resp_body(http_parser *p, const char *at, size_t len)
{
	struct sconn	*sc = p->data;

	if (sc->dechunk && sc->hc != NULL)
		evbuffer_add(conn_output(sc->hc->conn), at, len);
	return 0;
}

static int
on_resp_complete(http_parser *p)
{
	struct sconn	*sc = p->data;

	if (p->status_code >= 100 && p->status_code < 200)
		return 0;	/* an interim answer; the real one follows */
	sc->done = 1;
	sc->keepalive = http_should_keep_alive(p);
	http_parser_pause(p, 1);
	return 0;
}

/* This thread's pool of idle server connections. */
static struct sconnq *
pool_get(void)
{
	if (!pool_ready) {
		TAILQ_INIT(&pool_);
		pool_ready = 1;
	}
	return &pool_;
}

static void
settings_init(void)
{
	static _Thread_local int done;

	if (done)
		return;
	done = 1;
	http_parser_settings_init(&req_settings);
	req_settings.on_message_begin = on_req_begin;
	req_settings.on_url = on_req_url;
	req_settings.on_header_field = on_req_field;
	req_settings.on_header_value = on_req_value;
	req_settings.on_headers_complete = on_req_headers;
	req_settings.on_body = on_req_body;
	req_settings.on_message_complete = on_req_complete;
	http_parser_settings_init(&resp_settings);
	resp_settings.on_headers_complete = on_resp_headers;
	resp_settings.on_body = on_resp_body;
	resp_settings.on_message_complete = on_resp_complete;
}

/* --- the client ---------------------------------------------------------- */

/* An IPv4 address in dotted decimal, as inet_ntop(3) writes it (which
 * costs a sprintf(3) a connection). */
static void
ip4_str(const struct in_addr *a, char *out)
{
	const unsigned char *b = (const unsigned char *)&a->s_addr;
	int		 i;

	for (i = 0; i < 4; i++) {
		if (b[i] >= 100)
			*out++ = '0' + b[i] / 100;
		if (b[i] >= 10)
			*out++ = '0' + b[i] / 10 % 10;
		*out++ = '0' + b[i] % 10;
		*out++ = i < 3 ? '.' : '\0';
	}
}

/* A client zeroed but for its buffers: from the cache, or new. */
static struct hconn *
hc_new(void)
{
	struct hconn	*hc = hc_cache;
	struct evbuffer	*body;
	struct text	 hdrs;
	char		*url;
	size_t		 urlcap;

	if (hc == NULL) {
		hc = xcalloc(1, sizeof(*hc));
		if ((hc->body = evbuffer_new()) == NULL)
			fatalx("out of memory for an HTTP client");
		return hc;
	}
	hc_cache = hc->next;
	nhc_cache--;
	body = hc->body;
	hdrs = hc->hdrs;
	url = hc->url;
	urlcap = hc->urlcap;
	memset(hc, 0, sizeof(*hc));
	hc->body = body;
	hc->hdrs.p = hdrs.p;
	hc->hdrs.cap = hdrs.cap;
	hc->url = url;
	hc->urlcap = urlcap;
	return hc;
}

/* Take an accepted HTTP client of farm f. */
void
proxy_http_accept(struct lb *lb, struct farm *f, int fd,
    const struct sockaddr *sa, socklen_t salen)
{
	struct hconn	*hc;
	int		 on = 1;

	settings_init();
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	hc = hc_new();
	hc->lb = lb;
	f->st->clients++;
	farm_ref(f);
	hc->farm = f;
	hc->gen = lb->gen;
	memcpy(&hc->client, sa, salen);
	hc->clientlen = salen;
	if (sa->sa_family == AF_INET)
		ip4_str(&((const struct sockaddr_in *)sa)->sin_addr, hc->ip);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6,
		    &((const struct sockaddr_in6 *)sa)->sin6_addr, hc->ip,
		    sizeof(hc->ip));
	if (f->proxy_protocol != 0)
		hc->pplen = proxyproto_client(f->proxy_protocol, fd, sa, hc->pp,
		    sizeof(hc->pp));
	hc->conn = conn_new(lb->base, fd);
	http_parser_init(&hc->parser, HTTP_REQUEST);
	hc->parser.data = hc;
	hc->reading = 1;
	conn_setcb(hc->conn, on_client_read, on_client_write,
	    on_client_event, hc);
	/* Reading stays on while a request is served (see hc_dispatch);
	 * what a client sends ahead waits, LB_HTTP_HIGH bytes at most. */
	conn_set_watermarks(hc->conn, LB_HTTP_HIGH, LB_HTTP_HIGH / 2);
	set_timeout(hc->conn, f->client_ms);
	conn_disable(hc->conn, EV_WRITE);	/* see flush_now */
	conn_enable(hc->conn, EV_READ);
}

static void
hc_reset_request(struct hconn *hc)
{
	free(hc->xff);
	hc->xff = NULL;
	free(hc->fwd);
	hc->fwd = NULL;
	free(hc->conn_opts);
	hc->conn_opts = NULL;
	free(hc->upgrade_to);
	hc->upgrade_to = NULL;
	hc->upgrade = 0;
	hc->urllen = hc->hdrlen = 0;
	hc->hdrs.len = 0;
	hc->in_hdr = hc->in_body = 0;
	hc->has_host = hc->complete = hc->answered = hc->forwarded = 0;
	hc->reached = 0;
	hc->streaming = hc->sent = hc->chunked = hc->answer_done = 0;
	hc->s_paused = 0;
	hc->has_cookie = 0;
	hc->ntried = 0;
	evbuffer_drain(hc->body, evbuffer_get_length(hc->body));
}

/* The request, sent at t_sent, now waits for its member's answer. */
static void
hc_wait_begin(struct hconn *hc)
{
	hc_wait_end(hc);
	hc->t_wait = hc->t_sent;
	backend_wait_begin(hc->sc->be, hc->t_wait);
}

/* It waits no more: answered, failed or given up. */
static void
hc_wait_end(struct hconn *hc)
{
	if (hc->t_wait == 0)
		return;
	backend_wait_end(hc->sc->be, hc->t_wait);
	hc->t_wait = 0;
}

/*
 * The one teardown of a client: its server connection, if on one,
 * closes too (its answer can no longer go anywhere). A client that gave
 * up waiting tells us the member takes at least that long: that time is
 * a sample when it is more than the member's average (a client leaving
 * early says nothing of a member's speed, and must never make it look
 * fast).
 */
static void
hc_free(struct hconn *hc)
{
	int64_t		 now;
	double		 ms;

	queue_cancel(&hc->wait);
	if (hc->sc != NULL && hc->t_wait != 0) {
		now = mono_us();
		ms = (double)(now - hc->t_wait) / 1000.0;
		if (ms > backend_ewma(hc->sc->be, now))
			backend_sample(hc->sc->be, ms, now);
	}
	if (hc->sc != NULL)
		sc_release(hc, 0);
	conn_free(hc->conn);
	free(hc->xff);
	free(hc->fwd);
	free(hc->conn_opts);
	free(hc->upgrade_to);
	farm_unref(hc->farm);
	if (nhc_cache < LB_HTTP_CACHE_MAX) {
		evbuffer_drain(hc->body, evbuffer_get_length(hc->body));
		hc->next = hc_cache;
		hc_cache = hc;
		nhc_cache++;
		return;
	}
	hc_destroy(hc);
}

/* Free a client's own memory (the rest went in hc_free). */
static void
hc_destroy(struct hconn *hc)
{
	evbuffer_free(hc->body);
	free(hc->hdrs.p);
	free(hc->url);
	free(hc);
}

/* A short answer of our own; the connection closes after it. */
static void
hc_reply(struct hconn *hc, int status, const char *reason, const char *body)
{
	struct evbuffer	*out = conn_output(hc->conn);

	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\nContent-Type: text/html\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n\r\n%s", status,
	    reason, strlen(body), body);
	hc->closing = 1;
	hc->reading = 0;
	conn_disable(hc->conn, EV_READ);
	conn_enable(hc->conn, EV_WRITE);
}

static void
bad_request(struct hconn *hc)
{
	switch (hc->error) {
	case 414:
		hc_reply(hc, 414, "URI Too Long", "<h1>414 URI Too Long</h1>\n");
		break;
	case 431:
		hc_reply(hc, 431, "Request Header Fields Too Large",
		    "<h1>431 Request Header Fields Too Large</h1>\n");
		break;
	case 501:
		hc_reply(hc, 501, "Not Implemented",
		    "<h1>501 Not Implemented</h1>\n");
		break;
	default:
		hc_reply(hc, 400, "Bad Request", "<h1>400 Bad Request</h1>\n");
		break;
	}
}

/*
 * Feed what the client sent to the parser until a request is whole, then
 * send it; or, once its body outgrows LB_HTTP_BODY_KEEP, send what there
 * is and stream the rest (while the member's side is not full: its
 * write callback brings us back).
 */
static void
hc_parse(struct hconn *hc)
{
	struct evbuffer	*in = conn_input(hc->conn);
	struct evbuffer_iovec v;
	size_t		 n;
	enum http_errno	 e;

	hc->c_paused = 0;
	while (hc->reading && !hc->complete &&
	    evbuffer_peek(in, -1, NULL, &v, 1) > 0 && v.iov_len > 0) {
		if (hc->streaming && (!hc->sent || stream_full(hc)))
			break;
		if (!hc->streaming && client_full(hc)) {
			/* Its answers wait: no more until it reads them
			 * (on_client_write resumes), or what a client
			 * sends ahead (HEAD after HEAD, never reading)
			 * would pile answers up here without end. */
			hc->c_paused = 1;
			break;
		}
		n = http_parser_execute(&hc->parser, &req_settings,
		    v.iov_base, v.iov_len);
		evbuffer_drain(in, n);
		e = HTTP_PARSER_ERRNO(&hc->parser);
		if (e == HPE_PAUSED)
			break;
		if (e != HPE_OK && hc->streaming) {
			/* Half a request went: nothing sane can follow. */
			log_info("client %s: bad request body: %s", hc->ip,
			    http_errno_name(e));
			hc_free(hc);
			return;
		}
		if (e != HPE_OK) {
			if (hc->error == 0 && e == HPE_HEADER_OVERFLOW)
				hc->error = 431;
			log_debug("client %s: bad request: %s", hc->ip,
			    http_errno_name(e));
			bad_request(hc);
			return;
		}
		if (!hc->streaming && !hc->complete &&
		    evbuffer_get_length(hc->body) > LB_HTTP_BODY_KEEP) {
			hc->streaming = 1;
			hc_dispatch(hc);
			return;
		}
	}
	if (hc->complete && hc->streaming) {
		hc->reading = 0;
		stream_end(hc);
	} else if (hc->complete) {
		hc->reading = 0;
		hc_dispatch(hc);
	} else if (hc->streaming && hc->sent && stream_full(hc))
		conn_disable(hc->conn, EV_READ);
}

/* Answers wait for the client, LB_HTTP_HIGH bytes or more once it took
 * what it would now. */
static int
client_full(struct hconn *hc)
{
	struct evbuffer	*out = conn_output(hc->conn);

	if (evbuffer_get_length(out) <= LB_HTTP_HIGH)
		return 0;
	conn_flush(hc->conn);
	return evbuffer_get_length(out) > LB_HTTP_HIGH;
}

/* The request's body, as much as came, on to the member: as it is, or
 * as one chunk when the client sent it chunked. */
static void
stream_body(struct hconn *hc, const char *at, size_t len)
{
	struct evbuffer	*out = conn_output(hc->sc->conn);

	if (len == 0)
		return;
	if (hc->chunked)
		evbuffer_add_printf(out, "%zx\r\n", len);
	evbuffer_add(out, at, len);
	if (hc->chunked)
		evbuffer_add(out, "\r\n", 2);
	conn_flush(hc->sc->conn);
}

/* As many bytes as we let wait for the member: read no more from the
 * client until they drain to half. */
static int
stream_full(struct hconn *hc)
{
	return hc->sc != NULL && evbuffer_get_length(
	    conn_output(hc->sc->conn)) > LB_HTTP_HIGH;
}

/* A streamed request read whole: its last chunk; when the answer came
 * already, the next request (the member's connection pooled). */
static void
stream_end(struct hconn *hc)
{
	if (hc->sc == NULL)
		return;
	/* From now on the member's answer is awaited (see sc_send). */
	conn_set_timeouts(hc->sc->conn, hc->farm->server_ms,
	    hc->farm->server_ms);
	conn_set_timeouts(hc->conn, -1, hc->farm->client_ms);
	if (hc->chunked) {
		evbuffer_add(conn_output(hc->sc->conn), "0\r\n\r\n", 5);
		conn_flush(hc->sc->conn);
	}
	if (!hc->answered) {
		hc->t_sent = mono_us();
		hc_wait_begin(hc);
	}
	if (hc->answer_done) {
		sc_release(hc, 1);
		hc_next(hc);
	}
}

static void
on_client_read(struct conn *conn, void *arg)
{
	struct hconn	*hc = arg;
	struct evbuffer	*in = conn_input(conn);

	if (hc->lingering) {
		evbuffer_drain(in, evbuffer_get_length(in));
		if (mono_us() >= hc->linger_end)
			hc_free(hc);	/* it talks on: enough */
	} else if (hc->reading)
		hc_parse(hc);
}

/*
 * Our answer is written and the client is to be closed: half-close, and
 * read what it still sends (for LB_HTTP_LINGER_MS at most) before the
 * close, lest unread bytes make the kernel reset the connection and
 * discard the answer before the client reads it. What waits unread is
 * dropped and the read mark goes: an input full to it would stop the
 * reading, and with it the timeout, for good.
 */
static void
hc_linger(struct hconn *hc)
{
	struct evbuffer	*in = conn_input(hc->conn);

	hc->lingering = 1;
	hc->linger_end = mono_us() + LB_HTTP_LINGER_MS * 1000;
	evbuffer_drain(in, evbuffer_get_length(in));
	conn_set_watermarks(hc->conn, 0, LB_HTTP_HIGH / 2);
	conn_shutdown_write(hc->conn);
	set_timeout(hc->conn, LB_HTTP_LINGER_MS);
	conn_enable(hc->conn, EV_READ);
}

/* Output drained to LB_HTTP_HIGH / 2: read the member's answer again
 * when that was stopped; when all is written and the client is to be
 * closed, linger. */
static void
on_client_write(struct conn *conn, void *arg)
{
	struct hconn	*hc = arg;

	if (hc->s_paused && hc->sc != NULL) {
		hc->s_paused = 0;
		conn_enable(hc->sc->conn, EV_READ);
		on_server_read(hc->sc->conn, hc);
		return;
	}
	if (hc->c_paused) {
		drained(conn);
		hc_read_next(hc);
		return;
	}
	if (hc->closing && hc->sc == NULL && !hc->lingering &&
	    evbuffer_get_length(conn_output(conn)) == 0)
		hc_linger(hc);
	else if (!hc->closing)
		drained(conn);
}

/* The client closed or failed. Having sent a whole request and only its
 * sending side closed, it still gets the answer, and those of the
 * requests it sent after it (read already), then the close. */
static void
on_client_event(struct conn *conn, short what, void *arg)
{
	struct hconn	*hc = arg;

	(void)conn;
	if ((what & CONN_EOF) && (what & CONN_READING) &&
	    (!hc->reading || hc->c_paused) && !hc->closing &&
	    !hc->lingering) {
		hc->eof = 1;
		conn_disable(hc->conn, EV_READ);
		return;
	}
	hc_free(hc);
}

/* No more requests: close once the output is written. */
static void
hc_last(struct hconn *hc)
{
	hc->closing = 1;
	hc->reading = 0;
	conn_disable(hc->conn, EV_READ);
	conn_settle(hc->conn);	/* the answer's staged write made */
	if (evbuffer_get_length(conn_output(hc->conn)) == 0)
		hc_linger(hc);
}

/*
 * After a reload, a keep-alive client's next request goes to the farm of
 * its farm's name now running (its members as the new config has them).
 * Returns -1 when that farm is gone: the client is to be closed.
 */
static int
hc_refarm(struct hconn *hc)
{
	struct lb	*lb = hc->lb;
	size_t		 i;

	hc->gen = lb->gen;
	for (i = 0; i < lb->nfarms; i++)
		if (strcmp(lb->farms[i]->name, hc->farm->name) == 0)
			break;
	if (i == lb->nfarms)
		return -1;
	if (lb->farms[i] != hc->farm) {
		farm_ref(lb->farms[i]);
		farm_unref(hc->farm);
		hc->farm = lb->farms[i];
	}
	return 0;
}

/* The answer is all written: next request, or close. After the client's
 * end, the requests it sent before are served (reading stays off: only
 * its end would come), and a part of one left at the end closes. */
static void
hc_next(struct hconn *hc)
{
	if (hc->streaming && !hc->complete)
		hc->keepalive = 0;	/* the rest of its body is not read */
	if (!hc->keepalive || (hc->eof &&
	    evbuffer_get_length(conn_input(hc->conn)) == 0) ||
	    (hc->gen != hc->lb->gen && hc_refarm(hc) == -1)) {
		hc_last(hc);
		return;
	}
	hc_reset_request(hc);
	hc->reading = 1;
	http_parser_pause(&hc->parser, 0);
	set_timeout(hc->conn, hc->farm->client_ms);
	if (!hc->eof)
		conn_enable(hc->conn, EV_READ);
	hc_read_next(hc);
}

/* Parse the next request from what the client sent; after its end,
 * what is left of one there closes (unless parsing waits for it to read
 * its answers). */
static void
hc_read_next(struct hconn *hc)
{
	hc_parse(hc);
	if (hc->eof && hc->reading && !hc->closing && !hc->c_paused)
		hc_last(hc);
}

/* --- members ------------------------------------------------------------- */

/* A slot may be free: try again (staying queued when not). */
static void
hc_slot(void *arg)
{
	hc_dispatch(arg);
}

/* No slot within the connect timeout: 503. */
static void
hc_busy(void *arg)
{
	struct hconn	*hc = arg;

	hc->farm->st->rejected++;
	hc_reply(hc, 503, "Service Unavailable",
	    "<h1>503 Service Unavailable</h1>\n<p>Every server of this farm "
	    "is busy.</p>\n");
}

/*
 * Pick a member (none tried yet by this request), take its slot, and send
 * the request there on a pooled or new connection. The slot is taken
 * first, at once against maxconn (backend_try_take, as a tcp session
 * does), so no two loops take the last one; the request holds it while
 * hc->sc is set (sc_release lets it go). When the members left are all
 * at their maxconn, or another loop took the slot picked, wait in the
 * queue for one; 503 when none comes in time or the queue is full.
 */
static void
hc_dispatch(struct hconn *hc)
{
	struct backend	*b;
	int		 full = 0, local = 0;

	/*
	 * The client's reading stays on (turning it off and on again costs
	 * two epoll_ctl(2) a request): bytes it sends ahead wait in its
	 * input (on_client_read parses only between answers; the read
	 * watermark bounds them), its close is seen at once. Only its idle
	 * timeout is off while a member answers: the member's timeout
	 * counts then (but not while a streamed body still comes: see
	 * sc_send).
	 */
	conn_set_timeouts(hc->conn, -1, hc->farm->client_ms);
	for (;;) {
		b = NULL;
		if (hc->ntried == 0 && hc->farm->persist_ms > 0 &&
		    hc->has_cookie &&
		    (b = persist_by_key(hc->farm, hc->cookie_key)) != NULL &&
		    backend_full(b))
			b = NULL;
		if (b == NULL && hc->ntried < LB_TRIES_MAX)
			b = balance_pick(hc->farm, (struct sockaddr *)&hc->client,
			    hc->clientlen, hc->tried, hc->ntried, &full);
		if ((b == NULL && full) ||
		    (b != NULL && backend_try_take(b) == -1)) {
			if (queue_add(hc->lb, &hc->wait, hc->farm, hc_slot,
			    hc_busy, hc) == -1)
				hc_busy(hc);
			return;
		}
		queue_cancel(&hc->wait);
		if (b == NULL) {
			hc->farm->st->rejected++;
			if (hc->ntried == 0)
				hc_reply(hc, 503, "Service Unavailable",
				    "<h1>503 Service Unavailable</h1>\n<p>No "
				    "server of this farm is up.</p>\n");
			else if (hc->reached)
				hc_reply(hc, 502, "Bad Gateway",
				    "<h1>502 Bad Gateway</h1>\n");
			else
				hc_reply(hc, 503, "Service Unavailable",
				    "<h1>503 Service Unavailable</h1>\n<p>Every "
				    "server tried failed.</p>\n");
			return;
		}
		hc->tried[hc->ntried++] = b;
		if ((hc->sc = sc_get(hc, b, &local)) != NULL)
			break;
		backend_release(b);
		if (local) {
			/* Out of descriptors here: no member is to blame,
			 * and none would do better now. */
			hc->farm->st->rejected++;
			hc_reply(hc, 503, "Service Unavailable",
			    "<h1>503 Service Unavailable</h1>\n<p>The balancer "
			    "is out of resources; try again later.</p>\n");
			return;
		}
	}
	b->requests++;
	if (hc->sc->connected)
		sc_send(hc);
}

/* A pooled connection may serve hc's request on b: to b, begun with
 * the PROXY version hc's farm sends now, and with one, opened for this
 * client. */
static int
sc_fits(const struct sconn *sc, const struct hconn *hc,
    const struct backend *b)
{
	if (sc->be != b || sc->pp != hc->farm->proxy_protocol)
		return 0;
	return sc->pp == 0 || memcmp(&sc->client, &hc->client,
	    hc->clientlen) == 0;
}

/*
 * A pooled connection to b, or a new one being connected; NULL when no
 * socket could be made: a failure of ours (EMFILE, ENFILE, ENOBUFS), so
 * b is not blamed and *local says so (logged once a second at most).
 */
static struct sconn *
sc_get(struct hconn *hc, struct backend *b, int *local)
{
	static _Thread_local int64_t logged;
	struct sconn	*sc;
	int64_t		 now;

	/* A request that cannot be sent again (a streamed body, or one not
	 * idempotent: RFC 9110 9.2.2) goes on a new connection: a pooled
	 * one the member closes as the request comes would cost it a 502. */
	sc = NULL;
	if (!hc->streaming && hc->idempotent)
		TAILQ_FOREACH(sc, pool_get(), entry)
			if (sc_fits(sc, hc, b))
				break;
	if (sc != NULL) {
		TAILQ_REMOVE(pool_get(), sc, entry);
		npool--;
		sc->reused = 1;
	} else {
		sc = xcalloc(1, sizeof(*sc));
		backend_ref(b);
		b->conns++;
		sc->be = b;
		sc->pp = hc->farm->proxy_protocol;
		memcpy(&sc->client, &hc->client, hc->clientlen);
		sc->conn = conn_new(hc->lb->base, -1);
		set_timeout(sc->conn, hc->farm->connect_ms);
		if (conn_connect(sc->conn,
		    (struct sockaddr *)&b->addr, b->addrlen) == -1) {
			now = mono_us();
			if (now - logged >= 1000000) {
				log_warn("%s: no socket for a connection", b->id);
				logged = now;
			}
			*local = 1;
			sc_free(sc);
			return NULL;
		}
	}
	sc->hc = hc;
	sc->done = sc->head_done = sc->needs_eof = sc->dechunk = 0;
	http_parser_init(&sc->parser, HTTP_RESPONSE);
	sc->parser.data = sc;
	conn_setcb(sc->conn, on_server_read, on_server_write,
	    on_server_event, hc);
	conn_set_watermarks(sc->conn, 0, LB_HTTP_HIGH / 2);
	/* The request is written at once (conn_flush), on a new one as
	 * soon as it is connected; a streamed body as it comes. */
	conn_enable(sc->conn, hc->streaming ? EV_READ | EV_WRITE : EV_READ);
	return sc;
}

/* Where the head being built goes next. */
struct head {
	char		*p;
};

static void
put(struct head *h, const char *s, size_t n)
{
	if (n == 0)
		return;	/* s may be NULL then: no header kept */
	memcpy(h->p, s, n);
	h->p += n;
}

#define PUTS(h, s)	put((h), (s), sizeof(s) - 1)

/*
 * Write the request, rewritten, to the member: its head built in one
 * piece of the output (the kept header lines copied as they came, ours
 * added), then its body.
 */
static void
sc_send(struct hconn *hc)
{
	struct evbuffer	*out = conn_output(hc->sc->conn);
	size_t		 blen = evbuffer_get_length(hc->body);
	const char	*method = http_method_str(hc->parser.method);
	const char	*url = hc->urllen > 0 ? hc->url : "/";
	const char	*host = hc->sc->be->addrstr;
	int		 v6 = strchr(hc->ip, ':') != NULL;
	size_t		 mlen = strlen(method), ulen = strlen(url);
	size_t		 iplen = strlen(hc->ip), len, clen = 0, uplen = 0;
	char		 cl[64];
	struct evbuffer_iovec v;
	struct head	 h;

	if (hc->sc->pp != 0 && !hc->sc->pp_sent) {
		evbuffer_add(out, hc->pp, hc->pplen);
		hc->sc->pp_sent = 1;
	}
	if (hc->streaming && hc->chunked)
		clen = strlcpy(cl, "Transfer-Encoding: chunked\r\n",
		    sizeof(cl));
	else if (hc->streaming)
		clen = snprintf(cl, sizeof(cl), "Content-Length: %llu\r\n",
		    (unsigned long long)hc->clen);
	else if (blen > 0 || hc->parser.method == HTTP_POST ||
	    hc->parser.method == HTTP_PUT)
		clen = snprintf(cl, sizeof(cl), "Content-Length: %zu\r\n",
		    blen);
	if (hc->upgrade)
		uplen = strlen(hc->upgrade_to);
	/* What follows, as put below. RFC 7239: an IPv6 node is quoted
	 * and bracketed. */
	len = mlen + 1 + ulen + 11 + hc->hdrs.len +
	    (hc->upgrade ? 21 + 9 + uplen + 2 : 0) +
	    (hc->has_host ? 0 : 6 + strlen(host) + 2) +
	    17 + (hc->xff != NULL ? strlen(hc->xff) + 2 : 0) + iplen + 2 +
	    11 + (hc->fwd != NULL ? strlen(hc->fwd) + 2 : 0) +
	    (v6 ? 6 : 4) + iplen + (v6 ? 2 : 0) + 13 + clen + 2;
	if (evbuffer_reserve_space(out, len, &v, 1) != 1)
		fatalx("out of memory for a request");
	h.p = v.iov_base;
	put(&h, method, mlen);
	PUTS(&h, " ");
	put(&h, url, ulen);
	PUTS(&h, " HTTP/1.1\r\n");
	put(&h, hc->hdrs.p, hc->hdrs.len);
	if (hc->upgrade) {
		PUTS(&h, "Connection: Upgrade\r\n");
		PUTS(&h, "Upgrade: ");
		put(&h, hc->upgrade_to, uplen);
		PUTS(&h, "\r\n");
	}
	if (!hc->has_host) {
		PUTS(&h, "Host: ");
		put(&h, host, strlen(host));
		PUTS(&h, "\r\n");
	}
	PUTS(&h, "X-Forwarded-For: ");
	if (hc->xff != NULL) {
		put(&h, hc->xff, strlen(hc->xff));
		PUTS(&h, ", ");
	}
	put(&h, hc->ip, iplen);
	PUTS(&h, "\r\n");
	PUTS(&h, "Forwarded: ");
	if (hc->fwd != NULL) {
		put(&h, hc->fwd, strlen(hc->fwd));
		PUTS(&h, ", ");
	}
	if (v6)
		PUTS(&h, "for=\"[");
	else
		PUTS(&h, "for=");
	put(&h, hc->ip, iplen);
	if (v6)
		PUTS(&h, "]\"");
	PUTS(&h, ";proto=http\r\n");
	put(&h, cl, clen);
	PUTS(&h, "\r\n");
	if ((size_t)(h.p - (char *)v.iov_base) != len)
		fatalx("sc_send: %zu bytes of head, %zu counted",
		    (size_t)(h.p - (char *)v.iov_base), len);
	v.iov_len = len;
	evbuffer_commit_space(out, &v, 1);
	hc->t_sent = mono_us();
	if (!hc->streaming) {
		set_timeout(hc->sc->conn, hc->farm->server_ms);
		hc_wait_begin(hc);
		if (blen > 0)
			evbuffer_add(out, evbuffer_pullup(hc->body, -1), blen);
		conn_flush(hc->sc->conn);
		return;
	}
	/*
	 * The body kept so far, then the rest as it comes. Until it has all
	 * come, the member is not late to answer (most answer an upload at
	 * its end), only to take the bytes; and the client is timed as it
	 * sends, even when the member answered early and waits.
	 */
	conn_set_timeouts(hc->sc->conn, -1, hc->farm->server_ms);
	conn_set_timeouts(hc->conn, hc->farm->client_ms, hc->farm->client_ms);
	hc->sent = 1;
	stream_body(hc, (char *)evbuffer_pullup(hc->body, -1), blen);
	evbuffer_drain(hc->body, blen);
	conn_flush(hc->sc->conn);
	conn_enable(hc->conn, EV_READ);
	hc_parse(hc);
}

/* The member took bytes, down to LB_HTTP_HIGH / 2 waiting: a streamed
 * body goes on. */
static void
on_server_write(struct conn *conn, void *arg)
{
	struct hconn	*hc = arg;

	(void)conn;
	if (hc->streaming && hc->sent && hc->reading && !hc->complete &&
	    !hc->closing) {
		conn_enable(hc->conn, EV_READ);
		hc_parse(hc);
	}
}

static void
sc_free(struct sconn *sc)
{
	conn_free(sc->conn);
	backend_unref(sc->be);
	free(sc);
}

/* The request lets go of its server connection, returned: its answer
 * is no longer awaited, and its slot on the member is the caller's to
 * release or hand on. */
static struct sconn *
sc_detach(struct hconn *hc)
{
	struct sconn	*sc = hc->sc;

	hc_wait_end(hc);
	hc->sc = NULL;
	hc->s_paused = 0;
	sc->hc = NULL;
	return sc;
}

/* The request is over on its member: its slot freed, the connection
 * pooled when the member keeps it and the answer ended cleanly, else
 * closed. */
static void
sc_release(struct hconn *hc, int reusable)
{
	struct sconn	*sc = sc_detach(hc);

	backend_release(sc->be);
	conn_settle(sc->conn);
	if (!reusable || !sc->keepalive || npool >= LB_HTTP_POOL_MAX ||
	    evbuffer_get_length(conn_input(sc->conn)) > 0 ||
	    evbuffer_get_length(conn_output(sc->conn)) > 0) {
		sc_free(sc);
		return;
	}
	conn_disable(sc->conn, EV_WRITE);	/* see flush_now */
	conn_setcb(sc->conn, on_pool_read, NULL, on_pool_event, sc);
	set_timeout(sc->conn, LB_HTTP_POOL_IDLE_MS);
	conn_enable(sc->conn, EV_READ);
	TAILQ_INSERT_HEAD(pool_get(), sc, entry);
	npool++;
}

#define SC_REACHED	1	/* sc_failed: the connection was up */
#define SC_TIMEDOUT	2	/* no answer within the server timeout */

/*
 * The member failed this request: closed, timed out, or sent a head that
 * is cut short or no HTTP. SC_REACHED in how: the request may have got
 * there (the connection was up). Once a byte of answer went to the
 * client nothing can be said: it is closed. Until then, retry on another
 * member when the request did not get there, or when it is idempotent
 * and was not streamed; else 502. The member is marked suspect unless
 * the failure was a stale pooled connection: closed with no byte of
 * answer, not a timeout (a member that holds a request unanswered is
 * slow or stuck, however old the connection it came on).
 */
static void
sc_failed(struct hconn *hc, const char *why, int how)
{
	struct sconn	*sc = hc->sc;
	int		 reached = (how & SC_REACHED) != 0;
	int		 stale = sc->reused && reached && !hc->answered &&
			    !(how & SC_TIMEDOUT);
	int64_t		 now = mono_us();

	log_info("%s: %s", sc->be->id, why);
	if (!stale) {
		backend_error(sc->be, now);
		farm_mark_suspect(hc->farm, sc->be, now);
	}
	sc_release(hc, 0);
	if (hc->forwarded) {
		hc_free(hc);
		return;
	}
	hc->answered = 0;	/* the next member's answer is timed afresh */
	if (reached && !stale)
		hc->reached = 1;
	if (reached && (!hc->idempotent || hc->sent)) {
		hc_reply(hc, 502, "Bad Gateway", "<h1>502 Bad Gateway</h1>\n");
		return;
	}
	if (stale)
		hc->ntried--;	/* the same member may be tried afresh */
	hc_dispatch(hc);
}

#define LB_HTTP_CONN_LISTS	8	/* Connection lines naming fields,
					   an answer's, looked at */

/* A Connection header's value (len bytes) that names only close and
 * keep-alive: nothing for write_head to drop by name. */
static int
conn_plain(const char *v, size_t len)
{
	const char	*p = v, *tok;
	size_t		 n;

	while ((n = list_next(&p, v + len, &tok)) > 0)
		if (!(n == 5 && strncasecmp(tok, "close", 5) == 0) &&
		    !(n == 10 && strncasecmp(tok, "keep-alive", 10) == 0))
			return 0;
	return 1;
}

/* The values of the answer's Connection lines that name other fields
 * (to list[], their lengths to len[]), LB_HTTP_CONN_LISTS at most. */
static size_t
conn_lists(const char *head, const char *end, const char **list,
    size_t *len)
{
	const char	*line, *eol;
	size_t		 n = 0;

	for (line = head; n < LB_HTTP_CONN_LISTS && line < end &&
	    (eol = memchr(line, '\n', end - line)) != NULL; line = eol + 1)
		if ((*line | 0x20) == 'c' && eol - line > 11 &&
		    strncasecmp(line, "connection:", 11) == 0 &&
		    !conn_plain(line + 11, eol - line - 11)) {
			list[n] = line + 11;
			len[n++] = eol - line - 11;
		}
	return n;
}

/*
 * The answer's header line at line (to eol) is for this hop only:
 * Connection, Keep-Alive, Proxy-Connection, Upgrade (a switch of
 * protocols is not passed here), Transfer-Encoding when the body goes
 * de-chunked, or a field one of the nlists Connection values names.
 */
static int
resp_hop(const char *line, const char *eol, const char **list,
    const size_t *len, size_t nlists, int dechunk)
{
	const char	*colon;
	size_t		 i;
	int		 c = *line | 0x20;

	/* the first letter first: most lines are none of these */
	if ((c == 'c' && strncasecmp(line, "connection:", 11) == 0) ||
	    (c == 'k' && strncasecmp(line, "keep-alive:", 11) == 0) ||
	    (c == 'p' && strncasecmp(line, "proxy-connection:", 17) == 0) ||
	    (c == 'u' && strncasecmp(line, "upgrade:", 8) == 0) ||
	    (dechunk && c == 't' &&
	    strncasecmp(line, "transfer-encoding:", 18) == 0))
		return 1;
	if (nlists == 0 || (colon = memchr(line, ':', eol - line)) == NULL)
		return 0;
	for (i = 0; i < nlists; i++)
		if (token_in(list[i], len[i], line, colon - line))
			return 1;
	return 0;
}

/*
 * The answer's head, hlen bytes at head, parsed already, goes to the
 * client rewritten: its hop-by-hop lines (resp_hop, and lines folded onto
 * them) dropped, ours added (close when the client asked it or the body
 * ends with the connection; keep-alive spelled out for HTTP/1.0), and
 * with persist a Set-Cookie naming the member, good for the persist time
 * from now.
 */
static void
write_head(struct hconn *hc, const char *head, size_t hlen)
{
	struct evbuffer	*out = conn_output(hc->conn);
	const char	*line = head, *end = head + hlen, *eol, *run = head;
	const char	*list[LB_HTTP_CONN_LISTS];
	char		 tail[160];
	size_t		 tlen = 0, len[LB_HTTP_CONN_LISTS], nlists;
	int		 first = 1, dropping = 0;

	nlists = conn_lists(head, end, list, len);
	/* The lines kept go on in runs, one copy each. */
	while (line < end && (eol = memchr(line, '\n', end - line)) != NULL) {
		eol++;
		if (eol - line <= 2 && (*line == '\r' || *line == '\n'))
			break;	/* the blank line */
		if (first || (*line != ' ' && *line != '\t')) {
			if (!first && resp_hop(line, eol, list, len, nlists,
			    hc->sc->dechunk)) {
				if (!dropping)
					evbuffer_add(out, run, line - run);
				dropping = 1;
			} else if (dropping) {
				dropping = 0;
				run = line;
			}
		}
		first = 0;
		line = eol;
	}
	if (!dropping)
		evbuffer_add(out, run, line - run);
	if (hc->sc->needs_eof || hc->sc->dechunk || (hc->eof &&
	    evbuffer_get_length(conn_input(hc->conn)) == 0))
		hc->keepalive = 0;
	if (!hc->keepalive)
		tlen = strlcpy(tail, "Connection: close\r\n", sizeof(tail));
	else if (hc->parser.http_major == 1 && hc->parser.http_minor == 0)
		tlen = strlcpy(tail, "Connection: keep-alive\r\n",
		    sizeof(tail));
	if (hc->farm->persist_ms > 0)
		tlen += snprintf(tail + tlen, sizeof(tail) - tlen,
		    "Set-Cookie: %s=%016llx; Max-Age=%llu; Path=/; HttpOnly\r\n",
		    LB_HTTP_COOKIE,
		    (unsigned long long)persist_key(hc->sc->be->id),
		    (unsigned long long)(hc->farm->persist_ms + 999) / 1000);
	memcpy(tail + tlen, "\r\n", 2);
	evbuffer_add(out, tail, tlen + 2);
}

/* The end of the blank line ending a head in the len bytes at p, or
 * NULL: a memchr(3) a line. Lines may end in a bare LF, as the parser
 * takes them (RFC 9112 2.2): a head so ended, found only by its CRLF
 * CRLF, would take in the body up to one. */
static const char *
head_end(const char *p, size_t len)
{
	const char	*end = p + len, *lf;

	while ((lf = memchr(p, '\n', end - p)) != NULL) {
		if (end - lf < 2)
			return NULL;
		if (lf[1] == '\n')
			return lf + 2;
		if (lf[1] == '\r') {
			if (end - lf < 3)
				return NULL;
			if (lf[2] == '\n')
				return lf + 3;
		}
		p = lf + 1;
	}
	return NULL;
}

/*
 * The answer's head, once whole in the input: parse it, write it to the
 * client rewritten, drop it. Returns 1 when done, 2 after an interim
 * head (passed on as it is; the real one follows), 3 after a switch of
 * protocols the client asked (passed on as it is), 0 when more is
 * needed, -1 on a bad answer.
 */
static int
read_head(struct hconn *hc, struct sconn *sc, struct evbuffer *in)
{
	struct evbuffer_iovec	 v;
	unsigned char		*head;
	const char		*eoh = NULL;
	size_t			 hlen, n;
	enum http_errno		 e;

	/* Mostly the head came whole in the first read: look there first;
	 * else in one piece of what came, as much as a head may be. */
	if (evbuffer_peek(in, -1, NULL, &v, 1) > 0)
		eoh = head_end(v.iov_base, v.iov_len);
	if (eoh == NULL) {
		n = evbuffer_get_length(in);
		if (n > LB_HTTP_HEADERS_MAX + 4)
			n = LB_HTTP_HEADERS_MAX + 4;
		v.iov_base = evbuffer_pullup(in, n);
		if ((eoh = head_end(v.iov_base, n)) == NULL)
			return evbuffer_get_length(in) > LB_HTTP_HEADERS_MAX ?
			    -1 : 0;
	}
	hlen = eoh - (const char *)v.iov_base;
	head = evbuffer_pullup(in, hlen);
	n = http_parser_execute(&sc->parser, &resp_settings, (char *)head,
	    hlen);
	e = HTTP_PARSER_ERRNO(&sc->parser);
	if ((e != HPE_OK && e != HPE_PAUSED) || (e == HPE_OK && n != hlen))
		return -1;
	if (sc->parser.status_code == 101 && hc->upgrade && hc->complete) {
		/* Switched: the head on as it is, then a tunnel. */
		hc->forwarded = 1;
		evbuffer_remove_buffer(in, conn_output(hc->conn), hlen);
		return 3;
	}
	if (sc->parser.status_code < 200) {
		/* Interim (100): on as it is, but to HTTP/1.0 (which knows
		 * none); the real head follows. */
		if (hc->http10)
			evbuffer_drain(in, hlen);
		else {
			hc->forwarded = 1;
			evbuffer_remove_buffer(in, conn_output(hc->conn),
			    hlen);
		}
		return 2;
	}
	hc->forwarded = 1;
	write_head(hc, (char *)head, hlen);
	evbuffer_drain(in, hlen);
	sc->head_done = 1;
	return 1;
}

/* Answer bytes: parse to find their end, pass them on as they are. */
static void
on_server_read(struct conn *conn, void *arg)
{
	struct hconn	*hc = arg;
	struct sconn	*sc = hc->sc;
	struct evbuffer	*in = conn_input(conn);
	struct evbuffer_iovec v;
	size_t		 n;
	enum http_errno	 e = HPE_OK;
	int		 rc;

	if (!hc->answered && evbuffer_get_length(in) > 0) {
		hc->answered = 1;
		hc_wait_end(hc);
		backend_answered(sc->be, (double)(mono_us() - hc->t_sent) /
		    1000.0, mono_us());
	}
	while (!sc->head_done && evbuffer_get_length(in) > 0 &&
	    (rc = read_head(hc, sc, in)) != 1) {
		if (rc == -1) {
			e = HPE_UNKNOWN;
			break;
		}
		if (rc == 0) {
			conn_flush(hc->conn);	/* an interim head, if any */
			return;	/* the head is not whole yet */
		}
		if (rc == 3) {
			hc_tunnel(hc);
			return;
		}
	}
	while (e == HPE_OK && !sc->done &&
	    evbuffer_peek(in, -1, NULL, &v, 1) > 0 && v.iov_len > 0) {
		if (evbuffer_get_length(conn_output(hc->conn)) >
		    LB_HTTP_HIGH)
			conn_flush(hc->conn);
		if (evbuffer_get_length(conn_output(hc->conn)) >
		    LB_HTTP_HIGH) {
			/* The client's on_client_write brings us back. */
			hc->s_paused = 1;
			conn_disable(conn, EV_READ);
			return;
		}
		n = http_parser_execute(&sc->parser, &resp_settings,
		    v.iov_base, v.iov_len);
		if (sc->dechunk)
			evbuffer_drain(in, n);	/* on_resp_body took the body */
		else
			evbuffer_remove_buffer(in, conn_output(hc->conn), n);
		e = HTTP_PARSER_ERRNO(&sc->parser);
		if (e == HPE_PAUSED)
			e = HPE_OK;
	}
	conn_flush(hc->conn);
	if (e != HPE_OK && !hc->forwarded) {
		/* A head that is no HTTP: as if it had closed. */
		sc_failed(hc, "bad answer head", SC_REACHED);
		return;
	}
	if (e != HPE_OK) {
		log_info("%s: bad answer: %s", sc->be->id, http_errno_name(e));
		sc_release(hc, 0);
		hc_free(hc);
		return;
	}
	if (sc->done && hc->streaming && !hc->complete) {
		/* Answered before the body ended: the body goes on. */
		hc->answer_done = 1;
		conn_disable(conn, EV_READ);
	} else if (sc->done) {
		sc_release(hc, 1);
		hc_next(hc);
	}
}

/*
 * The member switched protocols as the client asked: both sockets go
 * to a tcp session (proxy_tcp_adopt) with what each side sent that the
 * other has not had yet, and the request is over here. Its slot on the
 * member goes to the tunnel, which keeps it until it ends.
 */
static void
hc_tunnel(struct hconn *hc)
{
	struct sconn	*sc = hc->sc;
	struct evbuffer	*tc = conn_output(hc->conn);
	struct evbuffer	*ts = conn_output(sc->conn);
	struct backend	*b = sc->be;
	int		 cfd, sfd;

	evbuffer_remove_buffer(conn_input(sc->conn), tc,
	    evbuffer_get_length(conn_input(sc->conn)));
	evbuffer_remove_buffer(conn_input(hc->conn), ts,
	    evbuffer_get_length(conn_input(hc->conn)));
	cfd = conn_take_fd(hc->conn);
	sfd = conn_take_fd(sc->conn);
	log_debug("client %s: %s switched to %s", hc->ip, b->id,
	    hc->upgrade_to);
	proxy_tcp_adopt(hc->lb, hc->farm, b, cfd, sfd,
	    evbuffer_pullup(tc, -1), evbuffer_get_length(tc),
	    evbuffer_pullup(ts, -1), evbuffer_get_length(ts));
	sc_free(sc_detach(hc));
	hc_free(hc);
}

static void
on_server_event(struct conn *conn, short what, void *arg)
{
	struct hconn	*hc = arg;
	struct sconn	*sc = hc->sc;

	(void)conn;
	if (what & CONN_CONNECTED) {
		sc->connected = 1;
		backend_ok(sc->be);
		sc_send(hc);
		return;
	}
	if (!sc->connected) {
		sc_failed(hc, (what & CONN_TIMEOUT) ? "connect timed out" :
		    "connect failed", 0);
		return;
	}
	if (hc->answer_done) {
		/* It answered, then stopped taking the body: the answer
		 * goes out, then the client is closed. */
		sc_release(hc, 0);
		hc_next(hc);
		return;
	}
	if ((what & CONN_EOF) && hc->answered) {
		/* An answer that ends with the connection. */
		http_parser_execute(&sc->parser, &resp_settings, NULL, 0);
		if (sc->done) {
			sc->keepalive = 0;
			sc_release(hc, 0);
			hc_next(hc);
			return;
		}
	}
	sc_failed(hc, (what & CONN_TIMEOUT) ? "no answer in time" :
	    hc->answered ? "closed in its answer" : "closed before answering",
	    SC_REACHED | ((what & CONN_TIMEOUT) ? SC_TIMEDOUT : 0));
}

/* An idle pooled connection that talks or closes is done. */
static void
on_pool_read(struct conn *conn, void *arg)
{
	(void)conn;
	on_pool_event(NULL, 0, arg);
}

static void
on_pool_event(struct conn *conn, short what, void *arg)
{
	struct sconn	*sc = arg;

	(void)conn;
	(void)what;
	TAILQ_REMOVE(pool_get(), sc, entry);
	npool--;
	sc_free(sc);
}

/* At a loop's end: close the pooled connections, free the caches. */
void
proxy_http_shutdown(void)
{
	struct sconn	*sc;
	struct hconn	*hc;

	while ((sc = TAILQ_FIRST(pool_get())) != NULL) {
		TAILQ_REMOVE(pool_get(), sc, entry);
		npool--;
		sc_free(sc);
	}
	while ((hc = hc_cache) != NULL) {
		hc_cache = hc->next;
		hc_destroy(hc);
	}
	nhc_cache = 0;
	conn_cache_free();
}
