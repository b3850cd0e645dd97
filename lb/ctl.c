/*
 * ctl.c: tocsin-lb's control socket, STATE_DIR/lb.sock (PATH_LB_SOCKET),
 * mode 0660: the protocol of probed's (one request a line, one compact
 * JSON object a line back, {"ok": ...} first), so lib/ctlclient talks to
 * it. Requests: "stats" (per farm and member, as tocsin-lb sees them)
 * and "ping". Read-only: nothing here changes the balancing.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <jansson.h>

#include "conf.h"
#include "ctlclient.h"
#include "log.h"
#include "util.h"
#include "xmalloc.h"

#include "lb.h"

#define LBCTL_IDLE_S	60	/* a silent client is closed after */
#define LBCTL_BACKLOG	16

struct lbctl {
	struct lb		*lb;
	char			*path;
	struct evconnlistener	*listener;
};

static void	on_accept(struct evconnlistener *, evutil_socket_t,
		    struct sockaddr *, int, void *);
static void	on_read(struct bufferevent *, void *);
static void	on_write(struct bufferevent *, void *);
static void	on_event(struct bufferevent *, short, void *);
static json_t	*stats(struct lb *);
static json_t	*server_stats(struct backend *, int64_t now);
static const char *lb_state(struct backend *, int64_t now);
static void	answer(struct bufferevent *, json_t *);

/*
 * Open the socket at path (a stale one is replaced: the pidfile, locked
 * before, says no other tocsin-lb runs). Returns it, or NULL after
 * logging why; tocsin-lb then balances without one.
 */
struct lbctl *
lbctl_open(struct lb *lb, const char *path)
{
	struct sockaddr_un	 sun;
	struct lbctl		*c;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path)) {
		log_warnx("control socket %s: path too long", path);
		return NULL;
	}
	if (unlink(path) == -1 && errno != ENOENT) {
		log_warn("control socket %s: unlink", path);
		return NULL;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		log_warn("control socket %s: socket", path);
		return NULL;
	}
	/* The node takes the socket's mode: never more open than 0660. */
	(void)fchmod(fd, 0660);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    chmod(path, 0660) == -1) {
		log_warn("control socket %s: bind", path);
		close(fd);
		return NULL;
	}
	c = xcalloc(1, sizeof(*c));
	c->lb = lb;
	c->path = xstrdup(path);
	c->listener = evconnlistener_new(lb->base, on_accept, c,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, LBCTL_BACKLOG, fd);
	if (c->listener == NULL) {
		log_warn("control socket %s: listen", path);
		close(fd);
		unlink(path);
		free(c->path);
		free(c);
		return NULL;
	}
	log_debug("control socket %s", path);
	return c;
}

/* Stop listening and remove the socket; clients connected stay until
 * the loop ends. */
void
lbctl_close(struct lbctl *c)
{
	if (c == NULL)
		return;
	evconnlistener_free(c->listener);
	unlink(c->path);
	free(c->path);
	free(c);
}

static void
on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct lbctl		*c = arg;
	struct bufferevent	*bev;
	struct timeval		 tv = { LBCTL_IDLE_S, 0 };

	(void)l;
	(void)sa;
	(void)salen;
	bev = bufferevent_socket_new(c->lb->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		close(fd);
		return;
	}
	bufferevent_setcb(bev, on_read, NULL, on_event, c);
	bufferevent_set_timeouts(bev, &tv, &tv);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

static void
answer(struct bufferevent *bev, json_t *j)
{
	char	*s;

	if ((s = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(6))) ==
	    NULL)
		fatalx("out of memory for an answer");
	evbuffer_add_printf(bufferevent_get_output(bev), "%s\n", s);
	free(s);
	json_decref(j);
}

/* Each whole line a request; a line longer than CTL_REQUEST_MAX gets an
 * error and the connection closes once it is written. */
static void
on_read(struct bufferevent *bev, void *arg)
{
	struct lbctl	*c = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);
	char		*line;
	size_t		 len;

	while ((line = evbuffer_readln(in, &len, EVBUFFER_EOL_CRLF)) !=
	    NULL) {
		if (strcmp(line, "stats") == 0)
			answer(bev, stats(c->lb));
		else if (strcmp(line, "ping") == 0)
			answer(bev, json_pack("{sb}", "ok", 1));
		else
			answer(bev, json_pack("{sbss}", "ok", 0, "error",
			    "unknown request (tocsin-lb answers stats, "
			    "ping)"));
		free(line);
	}
	if (evbuffer_get_length(in) > CTL_REQUEST_MAX) {
		answer(bev, json_pack("{sbss}", "ok", 0, "error",
		    "request too long"));
		bufferevent_disable(bev, EV_READ);
		bufferevent_setcb(bev, NULL, on_write, on_event, c);
	}
}

/* After a last answer: close once it is written. */
static void
on_write(struct bufferevent *bev, void *arg)
{
	(void)arg;
	bufferevent_free(bev);
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	(void)what;
	(void)arg;
	bufferevent_free(bev);
}

/* The member's state as tocsin-lb sees it, worst first. */
static const char *
lb_state(struct backend *b, int64_t now)
{
	if (b->drained)
		return "drained";
	if (b->health == BE_DOWN)
		return "down";
	if (b->suspect_until > now)
		return "suspect";
	if (backend_share(b, now) < 1.0)
		return "slowstart";
	if (b->health == BE_DEGRADED)
		return "degraded";
	return b->health == BE_UP ? "up" : "unknown";
}

static json_t *
server_stats(struct backend *b, int64_t now)
{
	return json_pack("{ss ss ss ss sb sb sf si si si sI sI sI sf}",
	    "id", b->id,
	    "addr", b->addrstr,
	    "state", lb_state(b, now),
	    "probed", backend_health_str(b->health),
	    "drained", b->drained,
	    "suspect", b->suspect_until > now,
	    "share", backend_share(b, now),
	    "weight", (int)b->weight,
	    "maxconn", (int)b->maxconn,
	    "inflight", (int)b->inflight,
	    "connections", (json_int_t)b->conns,
	    "requests", (json_int_t)b->requests,
	    "errors", (json_int_t)b->errors,
	    "ewma_ms", backend_ewma(b, now));
}

/*
 * {"ok": true, "pid", "uptime_s", "farms": [{"name", "balance",
 * "clients", "rejected", "queued", "queued_total", "servers": [...]}]}:
 * counters since start (kept across reloads for the same farm and
 * member), of the first loop only when lb-threads runs several.
 */
static json_t *
stats(struct lb *lb)
{
	json_t		*farms, *servers, *fj;
	struct farm	*f;
	int64_t		 now = mono_us();
	size_t		 i, j;

	farms = json_array();
	for (i = 0; i < lb->nfarms; i++) {
		f = lb->farms[i];
		servers = json_array();
		for (j = 0; j < f->nbe; j++)
			json_array_append_new(servers,
			    server_stats(f->be[j], now));
		fj = json_pack("{ss ss sI sI si sI so}",
		    "name", f->name,
		    "balance", conf_balance_str(f->algo),
		    "clients", (json_int_t)f->clients,
		    "rejected", (json_int_t)f->rejected,
		    "queued", (int)f->nqueued,
		    "queued_total", (json_int_t)f->queued_total,
		    "servers", servers);
		json_array_append_new(farms, fj);
	}
	return json_pack("{sb si sI si so}", "ok", 1, "pid", (int)getpid(),
	    "uptime_s", (json_int_t)((now - lb->started) / 1000000),
	    "threads", (int)lb->nthreads, "farms", farms);
}
