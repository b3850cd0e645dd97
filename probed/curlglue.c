/*
 * curlglue.c: libcurl multi_socket on libevent, in the shape of curl's
 * hiperfifo example: curl says which sockets to watch (socket callback) and
 * when to wake it (timer callback); we tell it what happened with
 * curl_multi_socket_action and then read the finished transfers with
 * curl_multi_info_read. No polling, no thread per transfer.
 */
#include <stdlib.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "curlglue.h"
#include "log.h"
#include "xmalloc.h"

struct curlglue {
	struct event_base *base;
	CURLM		*multi;
	struct event	*timer;
	curlglue_done_fn done;
	int		 running;
};

/* What we keep per socket curl uses (curl_multi_assign). */
struct sockctx {
	curl_socket_t	 fd;
	struct event	*ev;
	struct curlglue	*g;
};

static int	on_curl_socket(CURL *, curl_socket_t, int, void *, void *);
static int	on_curl_timer(CURLM *, long, void *);
static void	on_socket(evutil_socket_t, short, void *);
static void	on_timeout(evutil_socket_t, short, void *);
static void	drain_done(struct curlglue *);

/*
 * Drain finished transfers. The done callback removes and frees the easy
 * handle (through curlglue_remove), which curl allows while reading.
 */
static void
drain_done(struct curlglue *g)
{
	CURLMsg	*m;
	int	 left;
	void	*priv;

	while ((m = curl_multi_info_read(g->multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		priv = NULL;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
		g->done(priv, m->easy_handle, m->data.result);
	}
}

static void
action(struct curlglue *g, curl_socket_t fd, int mask)
{
	CURLMcode rc;

	rc = curl_multi_socket_action(g->multi, fd, mask, &g->running);
	if (rc != CURLM_OK)
		log_warnx("curl: socket_action: %s", curl_multi_strerror(rc));
	drain_done(g);
}

static void
on_socket(evutil_socket_t fd, short what, void *arg)
{
	struct sockctx	*sc = arg;
	int		 mask = 0;

	if (what & EV_READ)
		mask |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		mask |= CURL_CSELECT_OUT;
	action(sc->g, fd, mask);
}

static void
on_timeout(evutil_socket_t fd, short what, void *arg)
{
	action(arg, CURL_SOCKET_TIMEOUT, 0);
}

/* curl asks to start, change or stop watching a socket. */
static int
on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp,
    void *socketp)
{
	struct curlglue	*g = userp;
	struct sockctx	*sc = socketp;
	short		 ev;

	if (what == CURL_POLL_REMOVE) {
		if (sc != NULL) {
			event_free(sc->ev);
			free(sc);
			curl_multi_assign(g->multi, fd, NULL);
		}
		return 0;
	}
	ev = EV_PERSIST;
	if (what & CURL_POLL_IN)
		ev |= EV_READ;
	if (what & CURL_POLL_OUT)
		ev |= EV_WRITE;
	if (sc == NULL) {
		sc = xcalloc(1, sizeof(*sc));
		sc->g = g;
		sc->fd = fd;
		if ((sc->ev = event_new(g->base, fd, ev, on_socket, sc)) ==
		    NULL)
			fatalx("curl: event_new");
		curl_multi_assign(g->multi, fd, sc);
	} else {
		/* Same event, new interest: no free and no allocation. */
		event_del(sc->ev);
		event_assign(sc->ev, g->base, fd, ev, on_socket, sc);
	}
	if (event_add(sc->ev, NULL) == -1) {
		log_warnx("curl: cannot watch socket %d", (int)fd);
		return -1;
	}
	return 0;
}

/* curl asks to be woken in timeout_ms (-1: not at all). */
static int
on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
	struct curlglue	*g = userp;
	struct timeval	 tv;

	if (timeout_ms < 0) {
		evtimer_del(g->timer);
		return 0;
	}
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	return evtimer_add(g->timer, &tv) == 0 ? 0 : -1;
}

struct curlglue *
curlglue_new(struct event_base *base, curlglue_done_fn done)
{
	struct curlglue *g;

	g = xcalloc(1, sizeof(*g));
	g->base = base;
	g->done = done;
	if ((g->multi = curl_multi_init()) == NULL)
		fatalx("curl_multi_init");
	if ((g->timer = evtimer_new(base, on_timeout, g)) == NULL)
		fatalx("curl: evtimer_new");
	curl_multi_setopt(g->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
	curl_multi_setopt(g->multi, CURLMOPT_SOCKETDATA, g);
	curl_multi_setopt(g->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
	curl_multi_setopt(g->multi, CURLMOPT_TIMERDATA, g);
	/* Checks measure new connections: never reuse one between checks. */
	curl_multi_setopt(g->multi, CURLMOPT_MAXCONNECTS, 0L);
	return g;
}

/* Start a transfer; 0, or -1 after logging. */
int
curlglue_add(struct curlglue *g, CURL *easy)
{
	CURLMcode rc;

	if ((rc = curl_multi_add_handle(g->multi, easy)) != CURLM_OK) {
		log_warnx("curl: add_handle: %s", curl_multi_strerror(rc));
		return -1;
	}
	return 0;
}

/* Stop a transfer (finished or not); the caller then frees the handle. */
void
curlglue_remove(struct curlglue *g, CURL *easy)
{
	CURLMcode rc;

	if ((rc = curl_multi_remove_handle(g->multi, easy)) != CURLM_OK)
		log_warnx("curl: remove_handle: %s", curl_multi_strerror(rc));
}

CURLM *
curlglue_multi(struct curlglue *g)
{
	return g->multi;
}

void
curlglue_free(struct curlglue *g)
{
	if (g == NULL)
		return;
	curl_multi_cleanup(g->multi);
	event_free(g->timer);
	free(g);
}
