/*
 * conns.c: --serve's connections: at most CONNS_MAX open (the next ones
 * are closed at once), a deadline for each request (a client that sends
 * its head a byte at a time is closed, however often it sends), and the
 * listener's back-off when accept runs out of descriptors.
 *
 * libevent 2.1's evhttp tells nobody of a new connection but through the
 * bufferevent it asks for (evhttp_set_bevcb), and sets that bufferevent's
 * callbacks, with the connection as their argument, just after: a
 * connection is taken on the loop's next turn, when its close callback
 * can be set.
 */
#include <sys/queue.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>

#include "log.h"
#include "util.h"
#include "xmalloc.h"
#include "web.h"

#define CONNS_MAX		256	/* open connections */
#define CONNS_REQUEST_MS	10000	/* first byte to a whole request */
#define CONNS_BACKOFF_MS	250	/* no accept after EMFILE or ENFILE */

struct conn {
	struct conns		*cs;
	struct bufferevent	*bev;	/* ours until taken */
	struct evhttp_connection *evcon;	/* NULL until taken */
	struct event		*take;	/* the loop's next turn */
	struct event		*deadline;
	int			 busy;	/* a request is answered */
	void			(*gone)(void *);
	void			*gone_arg;
	TAILQ_ENTRY(conn)	 entry;
};

struct conns {
	size_t			 n;
	TAILQ_HEAD(, conn)	 all;
};

static struct bufferevent *on_bev(struct event_base *, void *);
static void	 on_take(evutil_socket_t, short, void *);
static void	 on_input(struct evbuffer *, const struct evbuffer_cb_info *,
		    void *);
static void	 on_deadline(evutil_socket_t, short, void *);
static void	 on_conn_close(struct evhttp_connection *, void *);
static void	 on_accept_error(struct evconnlistener *, void *);
static void	 on_resume(evutil_socket_t, short, void *);
static void	 conn_free(struct conn *);
static void	 arm(struct conn *);

/*
 * Count and time the connections of http, which listens on bound. Never
 * NULL (fatal on no memory).
 */
struct conns *
conns_new(struct evhttp *http,
    struct evhttp_bound_socket *bound)
{
	struct conns	*cs;

	cs = xcalloc(1, sizeof(*cs));
	TAILQ_INIT(&cs->all);
	evconnlistener_set_error_cb(evhttp_bound_socket_get_listener(bound),
	    on_accept_error);
	evhttp_set_bevcb(http, on_bev, cs);
	return cs;
}

/* Forget every connection (evhttp_free has closed them). */
void
conns_free(struct conns *cs)
{
	struct conn	*c;

	if (cs == NULL)
		return;
	while ((c = TAILQ_FIRST(&cs->all)) != NULL)
		conn_free(c);
	free(cs);
}

/*
 * A new connection: its bufferevent, with a callback on its input (the
 * first byte of each request starts the deadline). NULL lets evhttp make
 * one of its own, untimed.
 */
static struct bufferevent *
on_bev(struct event_base *base, void *arg)
{
	struct conns	*cs = arg;
	struct conn	*c;

	c = xcalloc(1, sizeof(*c));
	c->cs = cs;
	if ((c->bev = bufferevent_socket_new(base, -1,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL ||
	    (c->take = evtimer_new(base, on_take, c)) == NULL ||
	    (c->deadline = evtimer_new(base, on_deadline, c)) == NULL) {
		log_warnx("serve: no memory for a connection");
		if (c->bev != NULL)
			bufferevent_free(c->bev);
		if (c->take != NULL)
			event_free(c->take);
		free(c);
		return NULL;
	}
	/* Held until taken, so a connection evhttp drops at once is safe. */
	bufferevent_incref(c->bev);
	evbuffer_add_cb(bufferevent_get_input(c->bev), on_input, c);
	TAILQ_INSERT_TAIL(&cs->all, c, entry);
	cs->n++;
	event_active(c->take, EV_TIMEOUT, 0);
	return c->bev;
}

/*
 * The loop's next turn after accept: take evhttp's connection (the
 * argument of its bufferevent's callbacks), close it at once over
 * CONNS_MAX (said once a minute at most), else time it.
 */
static void
on_take(evutil_socket_t fd, short what, void *arg)
{
	static time_t		 said;
	struct conn		*c = arg;
	struct bufferevent	*bev = c->bev;
	bufferevent_data_cb	 readcb;
	void			*evcon;
	time_t			 now;

	(void)fd;
	(void)what;
	bufferevent_getcb(bev, &readcb, NULL, NULL, &evcon);
	if (readcb == NULL || evcon == NULL) {
		/* evhttp dropped it already. */
		conn_free(c);
		return;
	}
	c->evcon = evcon;
	evhttp_connection_set_closecb(c->evcon, on_conn_close, c);
	bufferevent_decref(bev);
	if (c->cs->n > CONNS_MAX) {
		if ((now = time(NULL)) - said >= 60) {
			log_warnx("serve: %d connections open: one more "
			    "closed (said once a minute)", CONNS_MAX);
			said = now;
		}
		evhttp_connection_free(c->evcon);
		return;
	}
	arm(c);
}

/* Start c's deadline for a request, unless it runs already. */
static void
arm(struct conn *c)
{
	struct timeval	 tv;

	if (c->busy || evtimer_pending(c->deadline, NULL))
		return;
	ms_to_timeval(CONNS_REQUEST_MS, &tv);
	evtimer_add(c->deadline, &tv);
}

/* Bytes came in: the first ones of a request start its deadline. */
static void
on_input(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct conn	*c = arg;

	(void)buf;
	if (info->n_added > 0 && c->evcon != NULL)
		arm(c);
}

/* A request not whole by its deadline: its connection is closed. */
static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;

	(void)fd;
	(void)what;
	log_debug("serve: a request not whole after %d ms: closed",
	    CONNS_REQUEST_MS);
	evhttp_connection_free(c->evcon);
}

/* evhttp closes c's connection. */
static void
on_conn_close(struct evhttp_connection *evcon, void *arg)
{
	struct conn	*c = arg;

	(void)evcon;
	conn_free(c);
}

/*
 * c's one teardown: tell who waits on it, forget it (evhttp's connection
 * and bufferevent are evhttp's once taken).
 */
static void
conn_free(struct conn *c)
{
	void	(*gone)(void *) = c->gone;

	if (c->evcon != NULL)
		evhttp_connection_set_closecb(c->evcon, NULL, NULL);
	evbuffer_remove_cb(bufferevent_get_input(c->bev), on_input, c);
	if (c->evcon == NULL)
		bufferevent_decref(c->bev);	/* not taken: ours */
	TAILQ_REMOVE(&c->cs->all, c, entry);
	c->cs->n--;
	event_free(c->take);
	event_free(c->deadline);
	if (gone != NULL)
		gone(c->gone_arg);
	free(c);
}

/*
 * req's head and body are in: stop its connection's deadline until it
 * is answered. Returns the connection, or NULL when it is not one of
 * ours (then nothing waits on it).
 */
struct conn *
conns_request(struct conns *cs, struct evhttp_request *req)
{
	struct evhttp_connection	*evcon;
	struct conn			*c;

	if ((evcon = evhttp_request_get_connection(req)) == NULL)
		return NULL;
	TAILQ_FOREACH(c, &cs->all, entry)
		if (c->evcon == evcon)
			break;
	if (c == NULL)
		return NULL;
	c->busy = 1;
	evtimer_del(c->deadline);
	return c;
}

/*
 * Call gone(arg) if c closes before conns_answered; gone NULL: nothing
 * to call.
 */
void
conns_on_gone(struct conn *c, void (*gone)(void *), void *arg)
{
	c->gone = gone;
	c->gone_arg = arg;
}

/*
 * c's request is answered: the next one is timed from its first byte
 * (or now, when some of it is in already).
 */
void
conns_answered(struct conn *c)
{
	c->busy = 0;
	c->gone = NULL;
	c->gone_arg = NULL;
	if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
		arm(c);
}

/*
 * accept failed: out of descriptors, the listener rests CONNS_BACKOFF_MS
 * (else libevent would call accept again at once, for ever), said once
 * a minute at most; other errors are logged. arg is evhttp's.
 */
static void
on_accept_error(struct evconnlistener *lev, void *arg)
{
	static time_t	 said;
	struct timeval	 tv;
	time_t		 now;
	int		 e = EVUTIL_SOCKET_ERROR();

	(void)arg;
	if (e != EMFILE && e != ENFILE) {
		errno = e;
		log_warn("serve: accept");
		return;
	}
	if ((now = time(NULL)) - said >= 60) {
		log_warnx("serve: accept: %s: no new connection for %d ms",
		    strerror(e), CONNS_BACKOFF_MS);
		said = now;
	}
	ms_to_timeval(CONNS_BACKOFF_MS, &tv);
	if (evconnlistener_disable(lev) == -1 ||
	    event_base_once(evconnlistener_get_base(lev), -1, EV_TIMEOUT,
	    on_resume, lev, &tv) == -1) {
		log_warnx("serve: cannot rest the listener");
		evconnlistener_enable(lev);
	}
}

/* The back-off is over: accept again. */
static void
on_resume(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	evconnlistener_enable(arg);
}
