/*
 * check_http.c: http:// and https:// on the curl multi handle. Curl never
 * resolves: the engine's c-ares answer goes in through CURLOPT_CONNECT_TO.
 * The body is read up to 1 MiB (kept only when a regular expression
 * needs it; otherwise counted and dropped), then reading stops and what
 * came is judged; the status is matched against `expect`, and with
 * `cert-days` the peer certificate's expiry (tlsinfo.c) is judged.
 * `follow` follows at most `max-redirects` redirections and tells a loop.
 * A plain http:// check that needs none of curl's extras is handed to
 * http_native.c instead; both judge through http_judge.c.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "config.h"
#include "log.h"
#include "util.h"
#include "xmalloc.h"

#include "probed.h"
#include "curlmulti.h"
#include "curlopt.h"
#include "http_judge.h"
#include "http_native.h"

#define VISITED_MAX	64	/* URLs remembered to tell a redirect loop */

/* The one header every check adds, never allocated: curl only reads it. */
static char		 close_line[] = "Connection: close";
static struct curl_slist close_header = { close_line, NULL };

struct http {
	struct curlxfer	 x;		/* the transfer */
	char		*url;		/* with `host`: the URL naming it */
	char		*body;		/* only when matching a regex */
	size_t		 len;		/* bytes received */
	int		 over;		/* stopped at HTTP_BODY_MAX */
	int		 hdr_end;	/* the blank line ending a header */
	CURL		*easy;		/* for on_header */
	int		 follow;	/* the server's `follow` */
	char		*visited[VISITED_MAX];	/* URLs answered, in order */
	int		 nvisited;
};

static int	 http_start(struct probe *);
static void	 http_release(struct probe *);
static const char *http_phase(struct probe *);
static void	 http_done(struct probe *, int);
static size_t	 on_body(char *, size_t, size_t, void *);
static size_t	 on_header(char *, size_t, size_t, void *);
static int	 on_sockopt(void *, curl_socket_t, curlsocktype);
static char	*url_with_host(const char *, const char *);
static void	 redirects_message(struct probe *, struct http *);
static void	 judge_answer(struct probe *, struct http *, long);

const struct check_ops check_http_ops = {
	.name = "http",
	.needs_addr = 1,
	.start = http_start,
	.release = http_release,
	.phase = http_phase,
	.curl_done = http_done,
};

/*
 * The body: at most HTTP_BODY_MAX bytes are read (kept only for a `body`
 * pattern); then reading stops (curl ends with CURLE_WRITE_ERROR and
 * h->over says it was us) and what came is judged.
 */
static size_t
on_body(char *data, size_t size, size_t n, void *arg)
{
	struct probe	*p = arg;
	struct http	*h = p->priv;
	size_t		 len = size * n;

	if (h->len + len > HTTP_BODY_MAX) {
		len = HTTP_BODY_MAX - h->len;
		h->over = 1;
	}
	if (p->sc->o.body != NULL) {
		h->body = xreallocarray(h->body, h->len + len + 1, 1);
		memcpy(h->body + h->len, data, len);
		h->body[h->len + len] = '\0';
	}
	h->len += len;
	return h->over ? 0 : len;
}

/*
 * Close with a reset, as HAProxy's health checks do: the answer is in, so
 * nothing is lost, and neither side keeps the connection in TIME_WAIT or
 * spends packets on a FIN handshake. Thousands of checks a second would
 * otherwise fill the port range with TIME_WAIT sockets.
 */
static int
on_sockopt(void *arg, curl_socket_t fd, curlsocktype purpose)
{
	struct linger l = { 1, 0 };

	if (purpose == CURLSOCKTYPE_IPCXN)
		(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	return CURL_SOCKOPT_OK;
}

/*
 * Curl takes a header cut by a close as whole; we want to know. With
 * follow, also which URLs answered (a loop goes back to one).
 */
static size_t
on_header(char *data, size_t size, size_t n, void *arg)
{
	struct http	*h = arg;
	size_t		 len = size * n;
	char		*url = NULL;

	/* A status line opens a header, a blank line ends it; a chunked
	 * body's trailer lines come after its end and change nothing. */
	if (len > 5 && strncmp(data, "HTTP/", 5) == 0)
		h->hdr_end = 0;
	else if ((len == 2 && data[0] == '\r' && data[1] == '\n') ||
	    (len == 1 && data[0] == '\n'))
		h->hdr_end = 1;
	/* With follow, a status line: remember which URL answered, to tell
	 * a loop. */
	if (h->follow && len > 5 && strncmp(data, "HTTP/", 5) == 0 &&
	    h->nvisited < VISITED_MAX &&
	    curl_easy_getinfo(h->easy, CURLINFO_EFFECTIVE_URL, &url) ==
	    CURLE_OK && url != NULL)
		h->visited[h->nvisited++] = xstrdup(url);
	return len;
}

/*
 * url with its host part replaced by host: curl then sends that name in
 * the Host header and as the TLS server name, and verifies the
 * certificate against it, while curlopt's CONNECT_TO still sends the
 * connection to the address resolved for the URL's own host. A malloc'd
 * string, or NULL if curl's URL parser refuses either.
 */
static char *
url_with_host(const char *url, const char *host)
{
	CURLU	*u;
	char	*full = NULL, *out = NULL;

	if ((u = curl_url()) == NULL)
		return NULL;
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_set(u, CURLUPART_HOST, host, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_URL, &full, 0) == CURLUE_OK)
		out = xstrdup(full);
	curl_free(full);
	curl_url_cleanup(u);
	return out;
}

static int
http_start(struct probe *p)
{
	const struct server_conf *sc = p->sc;
	struct http	*h;
	CURL		*c;

	/* A plain check goes to our own client (http_native.c), which
	 * takes the probe over from here. */
	if (http_native_takes(p)) {
		p->ops = &http_native_ops;
		return p->ops->start(p);
	}
	h = xcalloc(1, sizeof(*h));
	p->priv = h;
	if (curlopt_open(p, &h->x) == -1)
		return -1;
	c = h->easy = h->x.easy;
	h->follow = sc->o.follow;
	if (sc->o.host != NULL) {
		if ((h->url = url_with_host(sc->url, sc->o.host)) == NULL) {
			result_set(&p->r, CHECK_UNKNOWN, "cannot put host %s "
			    "in URL %s", sc->o.host, sc->url);
			return -1;
		}
		curl_easy_setopt(c, CURLOPT_URL, h->url);
	} else
		curl_easy_setopt(c, CURLOPT_URL, sc->url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, p);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, h);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "tocsin/" PACKAGE_VERSION);
	curl_easy_setopt(c, CURLOPT_SOCKOPTFUNCTION, on_sockopt);
	if (strcasecmp(sc->o.method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	else if (strcasecmp(sc->o.method, "GET") != 0)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, sc->o.method);
	/* A new connection per check, closed by the server as it answers:
	 * no connection left idle, no TIME_WAIT piling up on our side. */
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, &close_header);
	if (sc->o.follow) {
		curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
		curl_easy_setopt(c, CURLOPT_MAXREDIRS, (long)sc->o.max_redirects);
		curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	}
	if (curlmulti_add(c) == -1) {
		result_set(&p->r, CHECK_UNKNOWN, "cannot start the transfer");
		return -1;
	}
	return 0;
}

static void
http_release(struct probe *p)
{
	struct http *h = p->priv;

	if (h == NULL)
		return;
	curlopt_close(p, &h->x);
	while (h->nvisited > 0)
		free(h->visited[--h->nvisited]);
	free(h->url);
	free(h->body);
	free(h);
	p->priv = NULL;
}

static const char *
http_phase(struct probe *p)
{
	struct http *h = p->priv;

	return h != NULL ? curlopt_phase(h->x.easy, p->sc->implicit_tls,
	    "first byte") : NULL;
}

/*
 * Too many redirections: a loop when the next one goes to a URL that
 * already answered, else just too many.
 */
static void
redirects_message(struct probe *p, struct http *h)
{
	char	*next = NULL;
	int	 i;

	if (curl_easy_getinfo(h->x.easy, CURLINFO_REDIRECT_URL, &next) ==
	    CURLE_OK && next != NULL)
		for (i = 0; i < h->nvisited; i++)
			if (strcmp(h->visited[i], next) == 0) {
				result_set(&p->r, CHECK_CRITICAL, "redirect "
				    "loop: back to %s", next);
				return;
			}
	result_set(&p->r, CHECK_CRITICAL, "more than %ld redirects "
	    "(max-redirects)", (long)p->sc->o.max_redirects);
}

/* The answer came: judge its body, then its certificate. */
static void
judge_answer(struct probe *p, struct http *h, long status)
{
	char		 what[32];

	if (http_judge_body(p, status, h->body, h->over))
		return;
	snprintf(what, sizeof(what), "HTTP %ld", status);
	if (p->sc->implicit_tls &&
	    tlsinfo_cert_days(&h->x.tls, p->sc, &p->r, what))
		return;
	http_judge_ok(p, status, h->len, h->over);
}

static void
http_done(struct probe *p, int code)
{
	struct http	*h = p->priv;
	long		 status = 0;

	curlopt_times(p, h->x.easy, h->x.launch_us);
	curl_easy_getinfo(h->x.easy, CURLINFO_RESPONSE_CODE, &status);
	if (code == CURLE_WRITE_ERROR && h->over)
		code = CURLE_OK;	/* we stopped reading: judge it */
	if (code == CURLE_TOO_MANY_REDIRECTS)
		redirects_message(p, h);
	else if (code != CURLE_OK) {
		if (!curlopt_tls_error(p, &h->x, code))
			curlopt_error(p, h->x.easy, code, h->x.errbuf,
			    "first byte");
	} else if (!http_judge_head(p, status, h->hdr_end))
		judge_answer(p, h, status);
	probe_done(p);
}
