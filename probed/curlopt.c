/*
 * curlopt.c: curl options and results shared by the curl-based checks
 * (http, ftp).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "util.h"
#include "xmalloc.h"

#include "curlmulti.h"
#include "curlopt.h"
#include "probed.h"

static int	curlopt_common(struct probe *, struct curlxfer *);
static void	line_add(char *, size_t, size_t *, const char *);
static void	line_host(char *, size_t, size_t *, const char *, int);
static CURLcode	on_ssl_ctx(CURL *, void *, void *);

/*
 * Options every curl check sets: where to connect (the address c-ares
 * found, so curl's own resolver is never used), a fresh connection, a
 * timeout just past the engine's deadline (the engine's fires first and
 * says what was awaited), TLS verification unless `insecure`, and the
 * credentials from `user` + `password-file`. 0, or -1 with p->r set.
 */
static int
curlopt_common(struct probe *p, struct curlxfer *x)
{
	const struct server_conf *sc = p->sc;
	const char *name = curlopt_host(sc), *ca;
	CURL	*c = x->easy;
	long	 ms = sc->o.timeout + 1000;
	int	 v6host = strchr(name, ':') != NULL;
	int	 v6addr = p->addr.ss_family == AF_INET6;
	char	 port[16];
	size_t	 at;

	/* Only this host:port goes to our address; a redirect elsewhere
	 * (follow) is resolved by curl itself. The name is the one the URL
	 * carries (`host` when given), so curl sends it as the TLS server
	 * name and verifies the certificate against it. */
	if (p->addrlen > 0) {
		snprintf(port, sizeof(port), ":%d", sc->port);
		at = 0;
		line_host(x->connect_line, sizeof(x->connect_line), &at, name,
		    v6host);
		line_add(x->connect_line, sizeof(x->connect_line), &at, port);
		line_add(x->connect_line, sizeof(x->connect_line), &at, ":");
		line_host(x->connect_line, sizeof(x->connect_line), &at,
		    p->addrstr, v6addr);
		line_add(x->connect_line, sizeof(x->connect_line), &at, port);
		x->connect_to.data = x->connect_line;
		x->connect_to.next = NULL;
		curl_easy_setopt(c, CURLOPT_CONNECT_TO, &x->connect_to);
	}
	curl_easy_setopt(c, CURLOPT_PRIVATE, p);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, ms);
	curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, 1L);
	curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
	curl_easy_setopt(c, CURLOPT_DNS_CACHE_TIMEOUT, 0L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR,
	    "http,https,ftp,ftps");
	curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
	/* A check goes to the server itself, never through a proxy that
	 * the environment happens to name. */
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	/* The trust store OpenSSL's defaults name, as conn.c uses: the
	 * environment's SSL_CERT_FILE and SSL_CERT_DIR when set. */
	if ((ca = getenv("SSL_CERT_FILE")) != NULL && *ca != '\0')
		curl_easy_setopt(c, CURLOPT_CAINFO, ca);
	if ((ca = getenv("SSL_CERT_DIR")) != NULL && *ca != '\0')
		curl_easy_setopt(c, CURLOPT_CAPATH, ca);
	if (sc->o.insecure) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (sc->o.user != NULL) {
		curl_easy_setopt(c, CURLOPT_USERNAME, sc->o.user);
		if (sc->password != NULL)	/* read at load */
			curl_easy_setopt(c, CURLOPT_PASSWORD, sc->password);
	}
	return 0;
}

/*
 * Append s to the string buf holds (at is its length), cut to fit size:
 * the CONNECT_TO line is built per check, where snprintf's general
 * formatter cost more than the rest of the options together.
 */
static void
line_add(char *buf, size_t size, size_t *at, const char *s)
{
	size_t	n = strlen(s);

	if (*at >= size - 1)
		return;
	if (n > size - 1 - *at)
		n = size - 1 - *at;
	memcpy(buf + *at, s, n);
	*at += n;
	buf[*at] = '\0';
}

/* Append a host, in brackets when it is an IPv6 address. */
static void
line_host(char *buf, size_t size, size_t *at, const char *host, int v6)
{
	if (v6)
		line_add(buf, size, at, "[");
	line_add(buf, size, at, host);
	if (v6)
		line_add(buf, size, at, "]");
}

/*
 * The host name a curl check's URL carries: `host` when given (the
 * virtual host, the TLS server name and the name the certificate must
 * hold), else the URL's own. The connection still goes to the address
 * the engine resolved for the URL's host.
 */
const char *
curlopt_host(const struct server_conf *sc)
{
	return sc->o.host != NULL ? sc->o.host : sc->host;
}

/* Curl's SSL_CTX for a connection of ours: watch its handshakes. */
static CURLcode
on_ssl_ctx(CURL *c, void *ctx, void *arg)
{
	(void)c;
	tlsinfo_attach_ctx(arg, ctx);
	return CURLE_OK;
}

/*
 * Begin a transfer for p: a handle from the pool and the options every
 * curl check sets. The kind adds its own, then curlmulti_add. 0, or -1
 * with p->r set (curlopt_close still cleans up).
 */
int
curlopt_open(struct probe *p, struct curlxfer *x)
{
	if ((x->easy = curlmulti_get()) == NULL) {
		result_set(&p->r, CHECK_UNKNOWN, "curl_easy_init failed");
		return -1;
	}
	x->launch_us = probe_elapsed_us(p);
	memset(&x->tls, 0, sizeof(x->tls));
	curl_easy_setopt(x->easy, CURLOPT_SSL_CTX_FUNCTION, on_ssl_ctx);
	curl_easy_setopt(x->easy, CURLOPT_SSL_CTX_DATA, &x->tls);
	return curlopt_common(p, x);
}

/*
 * A failed TLS transfer in words that name the cause (tlsinfo_failure):
 * sets p->r and returns 1, or returns 0 for curlopt_error to explain.
 */
int
curlopt_tls_error(struct probe *p, struct curlxfer *x, int code)
{
	char	 msg[RESULT_MSG_MAX];

	if (code != CURLE_PEER_FAILED_VERIFICATION &&
	    code != CURLE_SSL_CONNECT_ERROR)
		return 0;
	if (!tlsinfo_failure(&x->tls, curlopt_host(p->sc),
	    code == CURLE_PEER_FAILED_VERIFICATION, msg, sizeof(msg)))
		return 0;
	result_set(&p->r, CHECK_CRITICAL, "%s", msg);
	return 1;
}

/* End a transfer, finished or not: off the multi handle, back to the pool. */
void
curlopt_close(struct probe *p, struct curlxfer *x)
{
	curlmulti_put(x->easy);
	x->easy = NULL;
}

/* Latency parts from curl's timers, offset by when curl started. */
void
curlopt_times(struct probe *p, CURL *c, int64_t launch)
{
	curl_off_t v;

	if (curl_easy_getinfo(c, CURLINFO_CONNECT_TIME_T, &v) == CURLE_OK &&
	    v > 0)
		p->r.connect_us = launch + v;
	if (curl_easy_getinfo(c, CURLINFO_APPCONNECT_TIME_T, &v) == CURLE_OK &&
	    v > 0)
		p->r.tls_us = launch + v;
	if (curl_easy_getinfo(c, CURLINFO_STARTTRANSFER_TIME_T, &v) ==
	    CURLE_OK && v > 0)
		p->r.firstbyte_us = launch + v;
	if (curl_easy_getinfo(c, CURLINFO_TOTAL_TIME_T, &v) == CURLE_OK &&
	    v > 0)
		p->r.total_us = launch + v;
}

/*
 * What the transfer was waiting for, from which timers have run. Curl
 * starts the connect timer only once TLS is up too, but it knows its
 * local port as soon as TCP is: a port and no TLS time is a handshake
 * under way.
 */
const char *
curlopt_phase(CURL *c, int tls, const char *last)
{
	curl_off_t	 v = 0;
	long		 port = 0;

	if (c == NULL)
		return NULL;
	if (curl_easy_getinfo(c, CURLINFO_CONNECT_TIME_T, &v) != CURLE_OK ||
	    v == 0) {
		if (!tls || curl_easy_getinfo(c, CURLINFO_LOCAL_PORT, &port) !=
		    CURLE_OK || port <= 0)
			return "the connection";
		return "the TLS handshake";
	}
	if (tls && (curl_easy_getinfo(c, CURLINFO_APPCONNECT_TIME_T, &v) !=
	    CURLE_OK || v == 0))
		return "the TLS handshake";
	if (curl_easy_getinfo(c, CURLINFO_STARTTRANSFER_TIME_T, &v) !=
	    CURLE_OK || v == 0)
		return last;
	return "the end of the answer";
}

/* A failed transfer's message: what a person needs to act on. */
void
curlopt_error(struct probe *p, CURL *c, int code, const char *errbuf,
    const char *last)
{
	const char	*detail = errbuf[0] != '\0' ? errbuf :
			    curl_easy_strerror(code);
	char		 d[32];
	long		 oserr = 0;

	switch (code) {
	case CURLE_OPERATION_TIMEDOUT:
		format_duration(p->sc->o.timeout, d, sizeof(d));
		result_set(&p->r, CHECK_CRITICAL, "timeout after %s waiting "
		    "for %s", d, curlopt_phase(c, p->sc->implicit_tls, last));
		break;
	case CURLE_COULDNT_CONNECT:
		if (curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &oserr) !=
		    CURLE_OK || oserr == 0)
			result_set(&p->r, CHECK_CRITICAL, "cannot connect to "
			    "%s port %d: %s", p->addrstr, p->sc->port, detail);
		else
			result_set(&p->r, CHECK_CRITICAL, "cannot connect to "
			    "%s port %d: %s", p->addrstr, p->sc->port,
			    strerror(oserr));
		break;
	case CURLE_PEER_FAILED_VERIFICATION:
		result_set(&p->r, CHECK_CRITICAL, "TLS certificate not "
		    "trusted: %s", detail);
		break;
	case CURLE_SSL_CONNECT_ERROR:
		result_set(&p->r, CHECK_CRITICAL, "TLS handshake failed: %s",
		    detail);
		break;
	case CURLE_GOT_NOTHING:
		result_set(&p->r, CHECK_CRITICAL, "connection closed with no "
		    "answer");
		break;
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_UNSUPPORTED_PROTOCOL:
		result_set(&p->r, CHECK_CRITICAL, "bad answer: %s", detail);
		break;
	case CURLE_RECV_ERROR:
	case CURLE_PARTIAL_FILE:
		result_set(&p->r, CHECK_CRITICAL, "connection broken "
		    "mid-answer: %s", detail);
		break;
	case CURLE_LOGIN_DENIED:
		result_set(&p->r, CHECK_CRITICAL, "login denied: %s", detail);
		break;
	default:
		result_set(&p->r, CHECK_CRITICAL, "%s", detail);
		break;
	}
}
