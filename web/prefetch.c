/*
 * prefetch.c: --serve asks probed for status and stats without blocking
 * its loop: a non-blocking connection to the control socket on a
 * bufferevent, an answer a line, all within PREFETCH_TIMEOUT_MS. A probed
 * that hangs makes the request that waits on it fall back to the state
 * file once the time is up; every other request goes on meanwhile. For a
 * farm page tocsin-lb's socket is asked for its stats next, the same way,
 * within PREFETCH_LB_MS more; no answer there is no balancer figures.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <jansson.h>

#include "ctlclient.h"
#include "util.h"
#include "xmalloc.h"
#include "web.h"

#define PREFETCH_TIMEOUT_MS	3000	/* both answers, at most */
#define PREFETCH_LB_MS		1000	/* tocsin-lb's, at most */

struct prefetch {
	struct bufferevent	*bev;
	struct event		*timer;
	int			 stage;	/* 0: status asked, 1: stats asked,
					   2: lb's stats asked */
	char			*lb_path;	/* NULL: lb not to be asked */
	int			 want_stats;	/* ask probed's stats too */
	int			 connected;
	struct web_prefetch	 res;
	prefetch_cb		 done;
	void			*arg;
};

static void	 on_read(struct bufferevent *, void *);
static void	 on_event(struct bufferevent *, short, void *);
static void	 on_timer(evutil_socket_t, short, void *);
static void	 finish(struct prefetch *, const char *);
static json_t	*answer(const char *);
static int	 connect_to(struct prefetch *, struct event_base *,
		    const char *, const char *);

/* An answer line parsed, or NULL when it is not "ok". */
static json_t *
answer(const char *line)
{
	json_t	*j = NULL;

	if (ctlclient_parse(line, &j, NULL, 0) != CTL_LINE_OK) {
		json_decref(j);
		return NULL;
	}
	return j;
}

/*
 * Probed is done with (why NULL when status came): ask tocsin-lb next
 * when a farm page wants it, else hand the answers to done and free p.
 */
static void
finish(struct prefetch *p, const char *why)
{
	struct event_base	*base;
	struct timeval		 tv = { PREFETCH_LB_MS / 1000,
				    PREFETCH_LB_MS % 1000 * 1000 };

	if (why != NULL && why != p->res.why && p->res.status == NULL &&
	    p->res.status_text == NULL)
		snprintf(p->res.why, sizeof(p->res.why), "%s", why);
	if (p->stage < 2 && p->lb_path != NULL) {
		base = event_get_base(p->timer);
		if (p->bev != NULL)
			bufferevent_free(p->bev);
		p->bev = NULL;
		p->stage = 2;
		p->connected = 0;
		p->res.lb_asked = 1;
		evtimer_del(p->timer);
		if (connect_to(p, base, p->lb_path, "stats\n") == 0) {
			evtimer_add(p->timer, &tv);
			return;
		}
	}
	p->done(&p->res, p->arg);
	prefetch_cancel(p);
}

/* A line from probed: the status answer (then ask stats), or stats. */
static void
on_read(struct bufferevent *bev, void *arg)
{
	struct prefetch	*p = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);
	char		*line;
	size_t		 len;

	while ((line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF)) != NULL) {
		if (strncmp(line, "{\"type\":", 8) == 0) {
			free(line);
			continue;
		}
		if (p->stage == 2) {
			p->res.lb = answer(line);
			free(line);
			finish(p, NULL);
			return;
		}
		if (p->stage == 0 && strncmp(line, "{\"ok\":true,", 11) == 0) {
			/* Parsed by data_load, as the page needs. */
			p->res.status_text = line;
		} else if (p->stage == 0) {
			p->res.status = answer(line);
			free(line);
			if (p->res.status == NULL) {
				finish(p, "tocsin-probed did not answer "
				    "status");
				return;
			}
		}
		if (p->stage == 0 && !p->want_stats) {
			finish(p, NULL);	/* status is all the page needs */
			return;
		}
		if (p->stage == 0) {
			p->stage = 1;
			bufferevent_write(bev, "stats\n", 6);
			continue;
		}
		p->res.stats = answer(line);
		free(line);
		finish(p, NULL);
		return;
	}
	if (evbuffer_get_length(in) > CTL_ANSWER_MAX)
		finish(p, "tocsin-probed's answer is too long");
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	struct prefetch	*p = arg;
	int		 err = EVUTIL_SOCKET_ERROR();

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		p->connected = 1;
		return;
	}
	/* A refused connect is reported later, errno long gone. */
	if (!p->connected && err != ENOENT && err != EAGAIN)
		err = ECONNREFUSED;
	if (p->stage >= 1)	/* status came; stats, lb's a bonus */
		finish(p, NULL);
	else
		finish(p, what & BEV_EVENT_EOF ? "tocsin-probed did not "
		    "answer status" : data_why(err));
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct prefetch	*p = arg;

	(void)fd;
	(void)what;
	if (p->stage == 2)
		finish(p, NULL);
	else if (p->bev == NULL)	/* the connect failed at once */
		finish(p, p->res.why[0] != '\0' ? p->res.why :
		    "cannot reach tocsin-probed");
	else if (p->stage == 1)
		finish(p, NULL);
	else
		finish(p, data_why(ETIMEDOUT));
}

/*
 * Connect p->bev to the socket at path and send req; -1 (p->res.why set
 * for probed's socket) when that fails at once.
 */
static int
connect_to(struct prefetch *p, struct event_base *base, const char *path,
    const char *req)
{
	struct sockaddr_un	 sun;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path)) {
		if (p->stage == 0)
			snprintf(p->res.why, sizeof(p->res.why), "%s",
			    data_why(ENAMETOOLONG));
		return -1;
	}
	if ((p->bev = bufferevent_socket_new(base, -1,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL ||
	    bufferevent_socket_connect(p->bev, (struct sockaddr *)&sun,
	    sizeof(sun)) == -1) {
		if (p->stage == 0)
			snprintf(p->res.why, sizeof(p->res.why), "%s",
			    data_why(errno));
		if (p->bev != NULL)
			bufferevent_free(p->bev);
		p->bev = NULL;
		return -1;
	}
	bufferevent_setcb(p->bev, on_read, NULL, on_event, p);
	bufferevent_enable(p->bev, EV_READ | EV_WRITE);
	bufferevent_write(p->bev, req, strlen(req));
	return 0;
}

/*
 * Ask probed at path for status (and stats when want_stats: only
 * /metrics shows them), then, when lb_path is not
 * NULL, tocsin-lb at lb_path for its stats; done(res, arg) is called
 * once, later, from the loop (never from here), with what came:
 * res->status and res->status_text NULL and res->why set when probed
 * did not answer in time (an answer that starts as probed's ok ones do
 * comes as status_text, for data_load to read as the page needs),
 * res->lb NULL when tocsin-lb did not. res lives only during the call.
 * Returns NULL when out of memory.
 */
struct prefetch *
prefetch_start(struct event_base *base, const char *path, int want_stats,
    const char *lb_path, prefetch_cb done, void *arg)
{
	struct prefetch		*p;
	struct timeval		 tv = { PREFETCH_TIMEOUT_MS / 1000,
				    PREFETCH_TIMEOUT_MS % 1000 * 1000 };

	p = xcalloc(1, sizeof(*p));
	p->done = done;
	p->arg = arg;
	p->want_stats = want_stats;
	if (lb_path != NULL)
		p->lb_path = xstrdup(lb_path);
	if ((p->timer = evtimer_new(base, on_timer, p)) == NULL) {
		free(p->lb_path);
		free(p);
		return NULL;
	}
	if (connect_to(p, base, path, "status\n") == -1)
		tv.tv_sec = tv.tv_usec = 0;
	evtimer_add(p->timer, &tv);
	return p;
}

/* Forget p: done is not called; its connection is closed. */
void
prefetch_cancel(struct prefetch *p)
{
	if (p == NULL)
		return;
	if (p->bev != NULL)
		bufferevent_free(p->bev);
	event_free(p->timer);
	json_decref(p->res.status);
	free(p->res.status_text);
	json_decref(p->res.stats);
	json_decref(p->res.lb);
	free(p->lb_path);
	free(p);
}
