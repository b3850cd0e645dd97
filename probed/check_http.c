/*
 * check_http.c: http:// and https:// on the curl multi handle. Curl never
 * resolves: the engine's c-ares answer goes in through CURLOPT_CONNECT_TO.
 * The body is read into a buffer capped at 1 MiB (only when a regular
 * expression needs it; otherwise it is counted and dropped), the status is
 * matched against `expect`, and with `cert-days` the peer certificate's
 * expiry is read from curl's certificate info.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "config.h"
#include "log.h"
#include "util.h"
#include "xmalloc.h"

#include "probed.h"
#include "curlopt.h"

#define BODY_MAX	(1024 * 1024)

struct http {
	struct curlxfer	 x;		/* the transfer */
	struct curl_slist *headers;
	char		*body;		/* only when matching a regex */
	size_t		 len;		/* bytes received */
	int		 over;		/* stopped at BODY_MAX */
	int		 hdr_end;	/* the blank line ending a header */
};

static int	 http_start(struct probe *);
static void	 http_release(struct probe *);
static const char *http_phase(struct probe *);
static void	 http_done(struct probe *, int);
static size_t	 on_body(char *, size_t, size_t, void *);
static size_t	 on_header(char *, size_t, size_t, void *);
static int	 on_sockopt(void *, curl_socket_t, curlsocktype);

const struct check_ops check_http_ops = {
	.name = "http",
	.needs_addr = 1,
	.start = http_start,
	.release = http_release,
	.phase = http_phase,
	.curl_done = http_done,
};

static size_t
on_body(char *data, size_t size, size_t n, void *arg)
{
	struct probe	*p = arg;
	struct http	*h = p->priv;
	size_t		 len = size * n;

	if (h->len + len > BODY_MAX) {
		h->over = 1;
		return 0;	/* curl stops with CURLE_WRITE_ERROR */
	}
	if (p->sc->o.body != NULL) {
		h->body = xreallocarray(h->body, h->len + len + 1, 1);
		memcpy(h->body + h->len, data, len);
		h->body[h->len + len] = '\0';
	}
	h->len += len;
	return len;
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

/* Curl takes a header cut by a close as whole; we want to know. */
static size_t
on_header(char *data, size_t size, size_t n, void *arg)
{
	struct http	*h = arg;
	size_t		 len = size * n;

	h->hdr_end = (len == 2 && data[0] == '\r' && data[1] == '\n') ||
	    (len == 1 && data[0] == '\n');
	return len;
}

static int
http_start(struct probe *p)
{
	const struct server_conf *sc = p->sc;
	struct http	*h;
	CURL		*c;
	char		 line[512];

	h = xcalloc(1, sizeof(*h));
	p->priv = h;
	if (curlopt_open(p, &h->x) == -1)
		return -1;
	c = h->x.easy;
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
	h->headers = curl_slist_append(NULL, "Connection: close");
	if (sc->o.host != NULL) {
		snprintf(line, sizeof(line), "Host: %s", sc->o.host);
		h->headers = curl_slist_append(h->headers, line);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h->headers);
	if (sc->o.follow) {
		curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
		curl_easy_setopt(c, CURLOPT_MAXREDIRS,
		    (long)sc->o.max_redirects);
		curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	}
	if (sc->o.cert_days_warn > 0 && sc->implicit_tls)
		curl_easy_setopt(c, CURLOPT_CERTINFO, 1L);
	if (engine_curl_add(p->eng, c) == -1) {
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
	curl_slist_free_all(h->headers);
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

static int
status_ok(const struct server_conf *sc, long code)
{
	int i;

	if (sc->nexpect_status == 0)
		return code >= 200 && code < 400;
	for (i = 0; i < sc->nexpect_status; i++)
		if (code >= sc->expect_status[i].lo &&
		    code <= sc->expect_status[i].hi)
			return 1;
	return 0;
}

/* Days until the peer certificate expires, or -1 if curl has none. */
static int
cert_days_left(CURL *c, char *date, size_t len)
{
	struct curl_certinfo	*ci = NULL;
	struct curl_slist	*s;
	struct tm		 tm;
	const char		*v;
	time_t			 t;

	if (curl_easy_getinfo(c, CURLINFO_CERTINFO, &ci) != CURLE_OK ||
	    ci == NULL || ci->num_of_certs < 1)
		return -1;
	for (s = ci->certinfo[0]; s != NULL; s = s->next) {
		if (strncmp(s->data, "Expire date:", 12) != 0)
			continue;
		v = s->data + 12;
		memset(&tm, 0, sizeof(tm));
		if (strptime(v, "%b %d %H:%M:%S %Y", &tm) == NULL)
			return -1;
		t = timegm(&tm);
		strftime(date, len, "%Y-%m-%d", &tm);
		return (int)((t - time(NULL)) / 86400);
	}
	return -1;
}

static int
body_matches(const char *re, const char *body, char *err, size_t len)
{
	regex_t	 rx;
	int	 rc;

	if ((rc = regcomp(&rx, re, REG_EXTENDED | REG_NOSUB)) != 0) {
		regerror(rc, &rx, err, len);
		regfree(&rx);
		return -1;
	}
	rc = regexec(&rx, body != NULL ? body : "", 0, NULL, 0);
	regfree(&rx);
	return rc == 0;
}

static void
http_done(struct probe *p, int code)
{
	const struct server_conf *sc = p->sc;
	struct http	*h = p->priv;
	long		 status = 0;
	int		 days, m;
	char		 date[32], err[128];

	curlopt_times(p, h->x.easy, h->x.launch_us);
	curl_easy_getinfo(h->x.easy, CURLINFO_RESPONSE_CODE, &status);
	if (code == CURLE_WRITE_ERROR && h->over)
		result_set(&p->r, CHECK_CRITICAL, "body over 1 MiB, stopped");
	else if (code != CURLE_OK)
		curlopt_error(p, h->x.easy, code, h->x.errbuf, "first byte");
	else if (!h->hdr_end)
		result_set(&p->r, CHECK_CRITICAL, "connection closed "
		    "mid-header");
	else if (!status_ok(sc, status))
		result_set(&p->r, CHECK_CRITICAL, "HTTP %ld, expected %s",
		    status, sc->o.expect != NULL ? sc->o.expect : "2xx or 3xx");
	else if (sc->o.body != NULL &&
	    (m = body_matches(sc->o.body, h->body, err, sizeof(err))) != 1) {
		if (m == -1)
			result_set(&p->r, CHECK_UNKNOWN, "bad body regular "
			    "expression \"%s\": %s", sc->o.body, err);
		else
			result_set(&p->r, CHECK_CRITICAL, "HTTP %ld, body does "
			    "not match \"%s\"", status, sc->o.body);
	} else if (sc->o.cert_days_warn > 0 && sc->implicit_tls &&
	    (days = cert_days_left(h->x.easy, date, sizeof(date))) >= 0 &&
	    (unsigned long)days < sc->o.cert_days_warn)
		result_set(&p->r, CHECK_WARNING, "HTTP %ld, certificate "
		    "expires in %d day%s (%s)", status, days,
		    days == 1 ? "" : "s", date);
	else
		result_set(&p->r, CHECK_OK, "HTTP %ld, %zu bytes in %.1f ms",
		    status, h->len, p->r.total_us / 1000.0);
	probe_done(p);
}
