/*
 * webhook.c: webhook and SMS API calls with libcurl's multi
 * interface on the pager's event loop, in the shape of curl's hiperfifo
 * example: curl says which sockets to watch and when to time out, libevent
 * tells curl what happened, and finished transfers are read back with
 * curl_multi_info_read. Each POST carries its Idempotency-Key, so a resend
 * after a crash is recognisably the same call.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "log.h"
#include "util.h"
#include "xmalloc.h"

#include "pager.h"

#define WEBHOOK_TIMEOUT_MS	10000	/* a whole call, at most */
#define WEBHOOK_CONNECT_MS	5000

struct call;
TAILQ_HEAD(calls, call);

struct webhook {
	struct event_base	*base;
	CURLM			*multi;
	struct event		*timer;
	int			 running;
	struct calls		 calls;		/* in flight */
};

/* One call in flight; CURLOPT_PRIVATE points here. */
struct call {
	struct webhook		*wh;
	CURL			*easy;
	struct curl_slist	*headers;
	char			*body;
	webhook_cb		*cb;
	void			*arg;
	char			 errbuf[CURL_ERROR_SIZE];
	TAILQ_ENTRY(call)	 entry;
};

/* A socket curl asked us to watch; curl_multi_assign points here. */
struct sock {
	struct event	*ev;
};

static int	 on_socket_change(CURL *, curl_socket_t, int, void *, void *);
static int	 on_timer_change(CURLM *, long, void *);
static void	 on_socket(evutil_socket_t, short, void *);
static void	 on_timeout(evutil_socket_t, short, void *);
static void	 drain(struct webhook *);
static void	 call_close(struct call *);
static size_t	 discard(char *, size_t, size_t, void *);
static int	 header(struct call *, const char *, const char *,
		    const char *);
static int	 call_setup(struct call *, const struct http_call *);

/* curl's answer bodies are not kept (a 4xx is told by its code). */
static size_t
discard(char *p, size_t size, size_t n, void *arg)
{
	return size * n;
}

/* curl wants a socket watched for what (CURL_POLL_*), or forgotten. */
static int
on_socket_change(CURL *e, curl_socket_t fd, int what, void *arg, void *sp)
{
	struct webhook	*wh = arg;
	struct sock	*s = sp;
	short		 kind;

	if (what == CURL_POLL_REMOVE) {
		if (s != NULL) {
			event_free(s->ev);
			free(s);
			curl_multi_assign(wh->multi, fd, NULL);
		}
		return 0;
	}
	kind = EV_PERSIST | (what & CURL_POLL_IN ? EV_READ : 0) |
	    (what & CURL_POLL_OUT ? EV_WRITE : 0);
	if (s == NULL) {
		s = xcalloc(1, sizeof(*s));
		curl_multi_assign(wh->multi, fd, s);
	} else
		event_free(s->ev);
	if ((s->ev = event_new(wh->base, fd, kind, on_socket, wh)) == NULL ||
	    event_add(s->ev, NULL) == -1) {
		log_warnx("webhook: cannot watch a socket");
		return -1;
	}
	return 0;
}

/* curl wants to be called back in ms (-1: never). */
static int
on_timer_change(CURLM *multi, long ms, void *arg)
{
	struct webhook	*wh = arg;
	struct timeval	 tv;

	if (ms < 0) {
		evtimer_del(wh->timer);
		return 0;
	}
	ms_to_timeval(ms, &tv);
	return evtimer_add(wh->timer, &tv) == -1 ? -1 : 0;
}

static void
on_socket(evutil_socket_t fd, short what, void *arg)
{
	struct webhook	*wh = arg;
	CURLMcode	 rc;
	int		 action;

	action = (what & EV_READ ? CURL_CSELECT_IN : 0) |
	    (what & EV_WRITE ? CURL_CSELECT_OUT : 0);
	if ((rc = curl_multi_socket_action(wh->multi, fd, action,
	    &wh->running)) != CURLM_OK)
		log_warnx("webhook: %s", curl_multi_strerror(rc));
	drain(wh);
}

static void
on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct webhook	*wh = arg;
	CURLMcode	 rc;

	if ((rc = curl_multi_socket_action(wh->multi, CURL_SOCKET_TIMEOUT, 0,
	    &wh->running)) != CURLM_OK)
		log_warnx("webhook: %s", curl_multi_strerror(rc));
	drain(wh);
}

/*
 * Read every finished call and tell its owner: 2xx delivered; 4xx
 * refused for good (but 408 and 429, which ask to come back later);
 * anything else, and transport errors, to be retried.
 */
static void
drain(struct webhook *wh)
{
	struct call	*c;
	CURLMsg		*msg;
	long		 code = 0;
	int		 left;
	char		 err[ERROR_MAX];
	enum send_result r;

	while ((msg = curl_multi_info_read(wh->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
		    (char **)&c);
		if (msg->data.result != CURLE_OK) {
			snprintf(err, sizeof(err), "%s", c->errbuf[0] ?
			    c->errbuf : curl_easy_strerror(msg->data.result));
			r = SEND_RETRY;
		} else {
			curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE,
			    &code);
			snprintf(err, sizeof(err), "HTTP %ld", code);
			if (code >= 200 && code < 300)
				r = SEND_OK;
			else if (code >= 400 && code < 500 && code != 408 &&
			    code != 429)
				r = SEND_REFUSED;
			else
				r = SEND_RETRY;
		}
		c->cb(c->arg, r, err);
		call_close(c);
	}
}

/* The one teardown of a call: out of the multi handle, then freed. */
static void
call_close(struct call *c)
{
	TAILQ_REMOVE(&c->wh->calls, c, entry);
	curl_multi_remove_handle(c->wh->multi, c->easy);
	curl_easy_cleanup(c->easy);
	curl_slist_free_all(c->headers);
	free(c->body);
	free(c);
}

struct webhook *
webhook_new(struct event_base *base)
{
	struct webhook *wh;

	wh = xcalloc(1, sizeof(*wh));
	wh->base = base;
	TAILQ_INIT(&wh->calls);
	if ((wh->multi = curl_multi_init()) == NULL ||
	    (wh->timer = evtimer_new(base, on_timeout, wh)) == NULL) {
		webhook_free(wh);
		return NULL;
	}
	curl_multi_setopt(wh->multi, CURLMOPT_SOCKETFUNCTION,
	    on_socket_change);
	curl_multi_setopt(wh->multi, CURLMOPT_SOCKETDATA, wh);
	curl_multi_setopt(wh->multi, CURLMOPT_TIMERFUNCTION, on_timer_change);
	curl_multi_setopt(wh->multi, CURLMOPT_TIMERDATA, wh);
	return wh;
}

/*
 * Abandon the calls in flight (their callbacks are not called: what they
 * carried stays queued on disk) and free everything.
 */
void
webhook_free(struct webhook *wh)
{
	struct call *c;

	if (wh == NULL)
		return;
	while ((c = TAILQ_FIRST(&wh->calls)) != NULL)
		call_close(c);
	if (wh->multi != NULL)
		curl_multi_cleanup(wh->multi);
	if (wh->timer != NULL)
		event_free(wh->timer);
	free(wh);
}

/* The call that POSTs json to url with the Idempotency-Key header key
 * (hc points at the strings given). */
void
webhook_json(struct http_call *hc, const char *url, const char *key,
    const char *json)
{
	memset(hc, 0, sizeof(*hc));
	hc->url = (char *)url;
	hc->body = (char *)json;
	hc->content_type = "application/json";
	hc->key = key;
}

/*
 * POST json to url with the Idempotency-Key header; cb(arg, result, err)
 * runs on the loop when it is over. Returns 0, or -1 (nothing started, cb
 * is not called).
 */
int
webhook_post(struct webhook *wh, const char *url, const char *key,
    const char *json, webhook_cb *cb, void *arg)
{
	struct http_call hc;

	webhook_json(&hc, url, key, json);
	return webhook_call(wh, &hc, cb, arg);
}

/* Add "Name: [prefix]value" to the call's headers; -1 when out of
 * memory. */
static int
header(struct call *c, const char *name, const char *prefix,
    const char *value)
{
	struct curl_slist	*l;
	char			*h;

	xasprintf(&h, "%s: %s%s", name, prefix, value);
	l = curl_slist_append(c->headers, h);
	explicit_bzero(h, strlen(h));	/* may be a token */
	free(h);
	if (l == NULL)
		return -1;
	c->headers = l;
	return 0;
}

/* Set the method, the body and the credentials of hc on c's handle. */
static int
call_setup(struct call *c, const struct http_call *hc)
{
	CURL *e = c->easy;

	if (hc->body != NULL) {
		c->body = xstrdup(hc->body);
		if (curl_easy_setopt(e, CURLOPT_POSTFIELDS, c->body) !=
		    CURLE_OK ||
		    header(c, "Content-Type", "", hc->content_type != NULL ?
		    hc->content_type : "application/octet-stream") == -1)
			return -1;
	} else if (curl_easy_setopt(e, CURLOPT_HTTPGET, 1L) != CURLE_OK)
		return -1;
	if (hc->userpwd != NULL && (curl_easy_setopt(e, CURLOPT_HTTPAUTH,
	    (long)CURLAUTH_BASIC) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_USERPWD, hc->userpwd) != CURLE_OK))
		return -1;
	if (hc->bearer != NULL && header(c, "Authorization", "Bearer ",
	    hc->bearer) == -1)
		return -1;
	/* "Expect:" with no value: no 100-continue round trip. */
	if (header(c, "Idempotency-Key", "", hc->key) == -1 ||
	    header(c, "Expect", "", "") == -1)
		return -1;
	return 0;
}

/*
 * Start the request hc (copied: the caller may free it on return); cb(arg,
 * result, err) runs on the loop when it is over: 2xx delivered, 4xx
 * refused for good (but 408 and 429), the rest retried. Returns 0, or -1
 * (nothing started, cb is not called).
 */
int
webhook_call(struct webhook *wh, const struct http_call *hc, webhook_cb *cb,
    void *arg)
{
	struct call	*c;

	c = xcalloc(1, sizeof(*c));
	c->wh = wh;
	c->cb = cb;
	c->arg = arg;
	if ((c->easy = curl_easy_init()) == NULL || call_setup(c, hc) == -1)
		goto fail;
	if (curl_easy_setopt(c->easy, CURLOPT_URL, hc->url) != CURLE_OK ||
	    curl_easy_setopt(c->easy, CURLOPT_PROTOCOLS_STR,
	    "http,https") != CURLE_OK ||
	    curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, c->headers) !=
	    CURLE_OK ||
	    curl_easy_setopt(c->easy, CURLOPT_PRIVATE, c) != CURLE_OK ||
	    curl_easy_setopt(c->easy, CURLOPT_ERRORBUFFER, c->errbuf) !=
	    CURLE_OK ||
	    curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, discard) !=
	    CURLE_OK ||
	    curl_easy_setopt(c->easy, CURLOPT_TIMEOUT_MS,
	    (long)WEBHOOK_TIMEOUT_MS) != CURLE_OK ||
	    curl_easy_setopt(c->easy, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)WEBHOOK_CONNECT_MS) != CURLE_OK ||
	    curl_easy_setopt(c->easy, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(c->easy, CURLOPT_USERAGENT,
	    "tocsin-pager") != CURLE_OK)
		goto fail;
	if (curl_multi_add_handle(wh->multi, c->easy) != CURLM_OK)
		goto fail;
	TAILQ_INSERT_TAIL(&wh->calls, c, entry);
	return 0;
fail:
	if (c->easy != NULL)
		curl_easy_cleanup(c->easy);
	curl_slist_free_all(c->headers);
	free(c->body);
	free(c);
	return -1;
}
