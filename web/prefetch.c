/*
 * prefetch.c: --serve asks probed for status and stats without blocking
 * its loop: a non-blocking connection to the control socket on a
 * bufferevent, an answer a line, all within PREFETCH_TIMEOUT_MS. A probed
 * that hangs makes the request that waits on it fall back to the state
 * file once the time is up; every other request goes on meanwhile.
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

struct prefetch {
	struct bufferevent	*bev;
	struct event		*timer;
	int			 stage;	/* 0: status asked, 1: stats asked */
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
 * Hand the answers to done and free p; why (NULL when status came) says
 * why there is no status.
 */
static void
finish(struct prefetch *p, const char *why)
{
	if (why != NULL && why != p->res.why && p->res.status == NULL)
		snprintf(p->res.why, sizeof(p->res.why), "%s", why);
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
		if (p->stage == 0) {
			p->res.status = answer(line);
			free(line);
			if (p->res.status == NULL) {
				finish(p, "tocsin-probed did not answer "
				    "status");
				return;
			}
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
	if (p->stage == 1)	/* status came; stats is a bonus */
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
	if (p->bev == NULL)	/* the connect failed at once */
		finish(p, p->res.why[0] != '\0' ? p->res.why :
		    "cannot reach tocsin-probed");
	else if (p->stage == 1)
		finish(p, NULL);
	else
		finish(p, data_why(ETIMEDOUT));
}

/*
 * Ask probed at path for status and stats; done(res, arg) is called once,
 * later, from the loop (never from here), with what came: res->status
 * NULL and res->why set when probed did not answer in time. res lives
 * only during the call. Returns NULL when out of memory.
 */
struct prefetch *
prefetch_start(struct event_base *base, const char *path, prefetch_cb done,
    void *arg)
{
	struct prefetch		*p;
	struct sockaddr_un	 sun;
	struct timeval		 tv = { PREFETCH_TIMEOUT_MS / 1000,
				    PREFETCH_TIMEOUT_MS % 1000 * 1000 };

	p = xcalloc(1, sizeof(*p));
	p->done = done;
	p->arg = arg;
	if ((p->timer = evtimer_new(base, on_timer, p)) == NULL) {
		free(p);
		return NULL;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path)) {
		snprintf(p->res.why, sizeof(p->res.why), "%s",
		    data_why(ENAMETOOLONG));
	} else if ((p->bev = bufferevent_socket_new(base, -1,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL ||
	    bufferevent_socket_connect(p->bev, (struct sockaddr *)&sun,
	    sizeof(sun)) == -1) {
		snprintf(p->res.why, sizeof(p->res.why), "%s",
		    data_why(errno));
		if (p->bev != NULL)
			bufferevent_free(p->bev);
		p->bev = NULL;
	}
	if (p->bev != NULL) {
		bufferevent_setcb(p->bev, on_read, NULL, on_event, p);
		bufferevent_enable(p->bev, EV_READ | EV_WRITE);
		bufferevent_write(p->bev, "status\n", 7);
	} else
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
	json_decref(p->res.stats);
	free(p);
}
