/*
 * health.c: what tocsin-probed says of the members, read on the loop from
 * its control socket: `watch` then `status`, and from then on every result,
 * event and drain. When probed cannot be reached its last word stays and
 * we try again every second; passive marks go on meanwhile. With `set
 * cluster` the word is the cluster's instead (cluster.c), and no probed
 * is watched.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <jansson.h>

#include "ctlclient.h"
#include "log.h"
#include "util.h"
#include "xmalloc.h"

#include "lb.h"

#define HEALTH_RETRY_MS	1000

struct health {
	struct lb	*lb;
	char		*path;
	struct bufferevent *bev;
	struct event	*retry;
	int		 up;		/* connected now */
	int		 warned;	/* said it is unreachable */
	struct cluster	*cluster;	/* set cluster: the word comes from
					   there, path is unused */
};

static void	try_connect(struct health *);
static void	lost(struct health *, const char *why);
static void	on_retry(evutil_socket_t, short, void *);
static void	on_read(struct bufferevent *, void *);
static void	on_event(struct bufferevent *, short, void *);
static void	handle_line(struct health *, const char *);
static void	apply(struct health *, const struct ctl_server *, int result,
		    json_t *obj);

/* Start watching probed on sockpath (NULL: nobody to watch), or the
 * cluster's states with `set cluster`. */
struct health *
health_start(struct lb *lb, const char *sockpath)
{
	struct health	*h;

	h = xcalloc(1, sizeof(*h));
	h->lb = lb;
	if ((h->retry = evtimer_new(lb->base, on_retry, h)) == NULL)
		fatalx("out of memory for an event");
	if (lb->conf->cluster != NULL) {
		h->cluster = cluster_start(lb);
		return h;
	}
	h->path = sockpath != NULL ? xstrdup(sockpath) : NULL;
	try_connect(h);
	return h;
}

/* A reload may move the socket: reconnect when it did. */
void
health_set_path(struct health *h, const char *sockpath)
{
	if (h->cluster != NULL || sockpath == NULL || (h->path != NULL &&
	    strcmp(h->path, sockpath) == 0))
		return;
	free(h->path);
	h->path = xstrdup(sockpath);
	lost(h, "the control socket moved");
}

/*
 * After a reload: ask for every server's state again (and, in a cluster,
 * read its states again), so a member the reload added takes its health
 * now rather than at probed's next result for it (unknown counts as
 * eligible: a member probed sees down would take traffic meanwhile). When
 * probed is not connected, the status that follows the reconnection does.
 */
void
health_refresh(struct health *h)
{
	if (h == NULL)
		return;
	if (h->cluster != NULL) {
		cluster_refresh(h->cluster);
		return;
	}
	if (h->bev != NULL && h->up)
		bufferevent_write(h->bev, "status\n", 7);
}

void
health_stop(struct health *h)
{
	if (h == NULL)
		return;
	cluster_stop(h->cluster);
	if (h->bev != NULL)
		bufferevent_free(h->bev);
	event_free(h->retry);
	free(h->path);
	free(h);
}

/* A non-blocking connect to the Unix socket (a full backlog counts as
 * not there yet), then watch and status. */
static void
try_connect(struct health *h)
{
	struct sockaddr_un	 sun;
	int			 fd;

	if (h->path == NULL)
		return;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, h->path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path)) {
		log_warnx("control socket path %s is too long", h->path);
		return;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1 || connect(fd, (struct sockaddr *)&sun,
	    sizeof(sun)) == -1) {
		if (fd != -1)
			close(fd);
		lost(h, strerror(errno));
		return;
	}
	h->bev = bufferevent_socket_new(h->lb->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (h->bev == NULL)
		fatalx("out of memory for a bufferevent");
	bufferevent_setcb(h->bev, on_read, NULL, on_event, h);
	bufferevent_enable(h->bev, EV_READ);
	bufferevent_write(h->bev, "watch\nstatus\n", 13);
	h->up = 1;
	h->warned = 0;
	log_info("watching tocsin-probed on %s", h->path);
}

/* The stream is gone: keep the last word, try again in a second. */
static void
lost(struct health *h, const char *why)
{
	struct timeval	 tv;

	ms_to_timeval(HEALTH_RETRY_MS, &tv);
	if (h->bev != NULL) {
		bufferevent_free(h->bev);
		h->bev = NULL;
	}
	if (h->up || !h->warned)
		log_warnx("tocsin-probed at %s: %s; keeping its last word, "
		    "retrying every second", h->path, why);
	h->up = 0;
	h->warned = 1;
	evtimer_add(h->retry, &tv);
}

static void
on_retry(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	try_connect(arg);
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	lost(arg, (what & BEV_EVENT_EOF) ? "closed" : "read error");
}

static void
on_read(struct bufferevent *bev, void *arg)
{
	struct health	*h = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);
	char		*line;
	size_t		 len;

	while ((line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF)) != NULL) {
		handle_line(h, line);
		free(line);
		if (h->bev == NULL)
			return;
	}
	if (evbuffer_get_length(in) > CTL_ANSWER_MAX)
		lost(h, "a line too long");
}

/* One line from probed: status answers, results, events, drains. */
static void
handle_line(struct health *h, const char *line)
{
	struct ctl_server	 s, *all;
	json_t			*obj = NULL;
	const char		*id, *state;
	char			 err[256];
	size_t			 n, i;

	switch (ctlclient_parse(line, &obj, err, sizeof(err))) {
	case CTL_LINE_OK:
		if (json_object_get(obj, "servers") != NULL &&
		    ctlclient_servers_from_answer(obj, &all, &n, err,
		    sizeof(err)) == 0) {
			for (i = 0; i < n; i++)
				apply(h, &all[i], 0, NULL);
			ctlclient_servers_free(all, n);
		}
		break;
	case CTL_LINE_RESULT:
	case CTL_LINE_SERVER:
		if (ctlclient_server_from_json(obj, NULL, &s) == 0) {
			apply(h, &s, 1, obj);
			free(s.id);
		}
		break;
	case CTL_LINE_EVENT:
		id = json_string_value(json_object_get(obj, "id"));
		state = json_string_value(json_object_get(obj, "new"));
		if (id != NULL && state != NULL) {
			memset(&s, 0, sizeof(s));
			s.id = (char *)id;
			copy_utf8(s.state, sizeof(s.state), state);
			apply(h, &s, 0, NULL);
		}
		break;
	case CTL_LINE_ERROR:
		log_warnx("tocsin-probed: %s", err);
		break;
	default:
		log_warnx("tocsin-probed said something unreadable: %s", err);
		break;
	}
	json_decref(obj);
}

/*
 * Take probed's word on one member: its state (soft or hard: a member
 * that failed its check gets no new traffic from now), drained (event
 * lines do not carry it), and an ok result's latency as an EWMA sample.
 */
static void
apply(struct health *h, const struct ctl_server *s, int result, json_t *obj)
{
	struct backend	*b;
	const char	*status;
	int		 drained = -1;
	int64_t		 now = mono_us();

	if ((b = lb_find_backend(h->lb, s->id)) == NULL)
		return;
	if (obj != NULL && json_object_get(obj, "drained") != NULL)
		drained = s->drained;
	else if (!result && s->kind[0] != '\0')
		drained = s->drained;
	health_word(b, backend_health_parse(s->state), drained, now,
	    "tocsin-probed");
	if (result && obj != NULL && s->latency_ms >= 0 &&
	    (status = json_string_value(json_object_get(obj, "status"))) !=
	    NULL && strcmp(status, "ok") == 0)
		backend_sample(b, s->latency_ms, now);
}

/* Take who's word (the cluster) that member b is drained or not; one
 * no longer drained ramps up. */
void
health_drain(struct backend *b, int drained, int64_t now, const char *who)
{
	int	 was = b->drained;

	b->drained = drained;
	if (was && !drained && backend_eligible(b))
		backend_ramp(b, now);
	if (was != drained)
		log_info("%s: %s (%s)", b->id, drained ? "drained" :
		    "no longer drained", who);
}

/*
 * Take a word on member b from who (tocsin-probed, the cluster): its
 * health, and drained unless -1. Up lifts our passive mark; a member
 * that may take traffic again after down or drained ramps up.
 */
void
health_word(struct backend *b, enum be_health health, int drained,
    int64_t now, const char *who)
{
	enum be_health	 old = b->health;
	int		 was_drained = b->drained;

	b->health = health;
	b->health_at = now;
	if (drained != -1)
		b->drained = drained;
	if (b->health == BE_UP)
		b->suspect_until = 0;
	if ((old == BE_DOWN && backend_eligible(b)) ||
	    (was_drained && backend_eligible(b)))
		backend_ramp(b, now);
	if (old != b->health)
		log_info("%s: %s (%s)", b->id, backend_health_str(b->health),
		    who);
}
