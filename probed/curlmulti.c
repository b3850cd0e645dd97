/*
 * curlmulti.c: libcurl multi_socket on libevent, in the shape of curl's
 * hiperfifo example: curl says which sockets to watch (socket callback) and
 * when to wake it (timer callback); we tell it what happened with
 * curl_multi_socket_action and then read the finished transfers with
 * curl_multi_info_read. No polling, no thread per transfer. It also keeps
 * the easy handles: idle ones wait in a pool, reset but with their buffers
 * still allocated, which saves an allocation storm per check.
 *
 * One multi handle per process (one loop), so the module's state is
 * static: check kinds reach it without going through the engine.
 */
#include <stdlib.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "log.h"
#include "util.h"
#include "xmalloc.h"

#include "curlmulti.h"
#include "probed.h"

#define POOL_MAX	1024	/* idle easy handles kept for reuse */

struct curlglue {
	struct event_base *base;
	CURLM		*multi;
	struct event	*timer;
	int		 running;
	CURL		*pool[POOL_MAX];
	size_t		 npool;
};

static struct curlglue	*glue;

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
 * Drain finished transfers: each goes to its probe's kind, which gives
 * the handle back (curlmulti_put), as curl allows while reading.
 */
static void
drain_done(struct curlglue *g)
{
	CURLMsg		*m;
	int		 left;
	void		*priv;
	struct probe	*p;

	while ((m = curl_multi_info_read(g->multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		priv = NULL;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
		if ((p = priv) == NULL || p->ops->curl_done == NULL) {
			/* Every handle we add carries its probe; never here. */
			log_warnx("curl: finished transfer with no check");
			curl_multi_remove_handle(g->multi, m->easy_handle);
			continue;
		}
		p->ops->curl_done(p, m->data.result);
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
	ms_to_timeval(timeout_ms, &tv);
	return evtimer_add(g->timer, &tv) == 0 ? 0 : -1;
}

/* Make the multi handle on base; once, before any check starts. */
void
curlmulti_init(struct event_base *base)
{
	struct curlglue *g;

	if (glue != NULL)
		fatalx("curl: initialised twice");
	g = xcalloc(1, sizeof(*g));
	g->base = base;
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
	glue = g;
}

/*
 * An easy handle: from the pool of idle ones or new. NULL if curl cannot
 * make one. The caller gives it back with curlmulti_put, added or not.
 */
CURL *
curlmulti_get(void)
{
	if (glue != NULL && glue->npool > 0)
		return glue->pool[--glue->npool];
	return curl_easy_init();
}

/* Start the handle's transfer; 0, or -1 after logging. */
int
curlmulti_add(CURL *easy)
{
	CURLMcode rc;

	if (glue == NULL)
		return -1;
	if ((rc = curl_multi_add_handle(glue->multi, easy)) != CURLM_OK) {
		log_warnx("curl: add_handle: %s", curl_multi_strerror(rc));
		return -1;
	}
	return 0;
}

/*
 * Give a handle back: its transfer (finished or not) stops, and the handle
 * is reset into the pool or freed. NULL is ignored.
 */
void
curlmulti_put(CURL *easy)
{
	CURLMcode rc;

	if (easy == NULL)
		return;
	if (glue == NULL) {
		curl_easy_cleanup(easy);
		return;
	}
	/* A handle never added is "already removed": CURLM_OK. */
	if ((rc = curl_multi_remove_handle(glue->multi, easy)) != CURLM_OK)
		log_warnx("curl: remove_handle: %s", curl_multi_strerror(rc));
	if (glue->npool < POOL_MAX) {
		curl_easy_reset(easy);
		glue->pool[glue->npool++] = easy;
	} else
		curl_easy_cleanup(easy);
}

/* Free the pool and the multi handle; every handle must be back. */
void
curlmulti_shutdown(void)
{
	struct curlglue *g = glue;

	if (g == NULL)
		return;
	while (g->npool > 0)
		curl_easy_cleanup(g->pool[--g->npool]);
	curl_multi_cleanup(g->multi);
	event_free(g->timer);
	free(g);
	glue = NULL;
}
