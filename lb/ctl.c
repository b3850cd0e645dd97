/*
 * ctl.c: tocsin-lb's control socket, STATE_DIR/lb.sock (PATH_LB_SOCKET),
 * mode 0660: the protocol of probed's (one request a line, one compact
 * JSON object a line back, {"ok": ...} first), so lib/ctlclient talks to
 * it. Requests: "stats" (per farm and member, as tocsin-lb sees them,
 * summed over every loop) and "ping". Read-only: nothing here changes
 * the balancing.
 *
 * With lb-threads above 1 each loop owns its farms: "stats" asks every
 * other loop for a snapshot of its own (event_base_once into that loop,
 * which posts the snapshot back the same way), and answers once all are
 * in. A connection reads no further request meanwhile.
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

/* A client of the socket; freed when it has gone and no stats request
 * of its is out in the loops. */
struct lbconn {
	struct lbctl		*c;
	struct bufferevent	*bev;		/* NULL once gone */
	struct statsreq		*req;		/* out in the loops; or NULL */
};

/* A "stats" request out in the loops: one snapshot each. */
struct statsreq {
	struct lbconn		*conn;
	json_t			**parts;	/* farms arrays, by loop */
	size_t			 nparts, left;
	struct event_base	*home;		/* the first loop's */
};

/* One loop's part of a request, taken there and back. */
struct statsjob {
	struct statsreq		*req;
	size_t			 i;
	struct lb		*lb;		/* the loop asked */
};

static void	on_accept(struct evconnlistener *, evutil_socket_t,
		    struct sockaddr *, int, void *);
static void	on_read(struct bufferevent *, void *);
static void	on_write(struct bufferevent *, void *);
static void	on_event(struct bufferevent *, short, void *);
static json_t	*stats(struct lb *, json_t *farms);
static json_t	*snapshot(struct lb *);
static void	stats_ask(struct lbconn *);
static void	on_job(evutil_socket_t, short, void *);
static void	on_part(evutil_socket_t, short, void *);
static void	stats_done(struct statsreq *);
static void	merge(json_t *into, json_t *part);
static void	merge_server(json_t *into, json_t *part);
static void	lbconn_read(struct lbconn *);
static void	lbconn_free(struct lbconn *);
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
	struct lbconn		*conn;
	struct timeval		 tv = { LBCTL_IDLE_S, 0 };

	(void)l;
	(void)sa;
	(void)salen;
	conn = xcalloc(1, sizeof(*conn));
	conn->c = c;
	conn->bev = bufferevent_socket_new(c->lb->base, fd,
	    BEV_OPT_CLOSE_ON_FREE);
	if (conn->bev == NULL) {
		close(fd);
		free(conn);
		return;
	}
	bufferevent_setcb(conn->bev, on_read, NULL, on_event, conn);
	bufferevent_set_timeouts(conn->bev, &tv, &tv);
	bufferevent_enable(conn->bev, EV_READ | EV_WRITE);
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

static void
on_read(struct bufferevent *bev, void *arg)
{
	(void)bev;
	lbconn_read(arg);
}

/* Each whole line a request, in order: a "stats" out in the loops holds
 * the lines after it until it is answered. A line longer than
 * CTL_REQUEST_MAX gets an error and the connection closes once it is
 * written. */
static void
lbconn_read(struct lbconn *conn)
{
	struct bufferevent *bev = conn->bev;
	struct evbuffer	*in = bufferevent_get_input(bev);
	char		*line;
	size_t		 len;

	while (conn->req == NULL &&
	    (line = evbuffer_readln(in, &len, EVBUFFER_EOL_CRLF)) != NULL) {
		if (strcmp(line, "stats") == 0)
			stats_ask(conn);
		else if (strcmp(line, "ping") == 0)
			answer(bev, json_pack("{sb}", "ok", 1));
		else
			answer(bev, json_pack("{sbss}", "ok", 0, "error",
			    "unknown request (tocsin-lb answers stats, "
			    "ping)"));
		free(line);
	}
	if (conn->req != NULL) {
		bufferevent_disable(bev, EV_READ);
		return;
	}
	if (evbuffer_get_length(in) > CTL_REQUEST_MAX) {
		answer(bev, json_pack("{sbss}", "ok", 0, "error",
		    "request too long"));
		bufferevent_disable(bev, EV_READ);
		bufferevent_setcb(bev, NULL, on_write, on_event, conn);
	}
}

/* After a last answer: close once it is written. */
static void
on_write(struct bufferevent *bev, void *arg)
{
	(void)bev;
	lbconn_free(arg);
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)what;
	lbconn_free(arg);
}

/* The client is gone: its socket now, the rest once no request of its
 * is out in the loops. */
static void
lbconn_free(struct lbconn *conn)
{
	if (conn->bev != NULL)
		bufferevent_free(conn->bev);
	conn->bev = NULL;
	if (conn->req == NULL)
		free(conn);
}

/*
 * "stats": this loop's snapshot now; with other loops, theirs asked for
 * and the answer given when the last is in (stats_done).
 */
static void
stats_ask(struct lbconn *conn)
{
	struct lb	*lb = conn->c->lb;
	struct statsreq	*req;
	struct statsjob	*job;
	size_t		 i;

	if (lb->npeers == 0) {
		answer(conn->bev, stats(lb, snapshot(lb)));
		return;
	}
	req = xcalloc(1, sizeof(*req));
	req->conn = conn;
	req->home = lb->base;
	req->nparts = 1 + lb->npeers;
	req->parts = xcalloc(req->nparts, sizeof(*req->parts));
	req->parts[0] = snapshot(lb);
	req->left = lb->npeers;
	conn->req = req;
	for (i = 0; i < lb->npeers; i++) {
		job = xcalloc(1, sizeof(*job));
		job->req = req;
		job->i = i + 1;
		job->lb = lb->peers[i];
		if (event_base_once(job->lb->base, -1, EV_TIMEOUT, on_job, job,
		    NULL) == -1) {
			log_warnx("stats: cannot ask loop %zu", i + 2);
			free(job);
			if (--req->left == 0)
				stats_done(req);
		}
	}
}

/* In the loop asked: its snapshot, posted back to the first loop. */
static void
on_job(evutil_socket_t fd, short what, void *arg)
{
	struct statsjob	*job = arg;

	(void)fd;
	(void)what;
	job->req->parts[job->i] = snapshot(job->lb);
	if (event_base_once(job->req->home, -1, EV_TIMEOUT, on_part, job,
	    NULL) == -1)
		fatalx("stats: cannot post a loop's snapshot back");
}

/* Back in the first loop: one more part in. */
static void
on_part(evutil_socket_t fd, short what, void *arg)
{
	struct statsjob	*job = arg;
	struct statsreq	*req = job->req;

	(void)fd;
	(void)what;
	free(job);
	if (--req->left == 0)
		stats_done(req);
}

/* Every part in: sum them, answer (when the client is still there), and
 * read its next requests. */
static void
stats_done(struct statsreq *req)
{
	struct lbconn	*conn = req->conn;
	size_t		 i;

	for (i = 1; i < req->nparts; i++) {
		if (req->parts[i] != NULL)
			merge(req->parts[0], req->parts[i]);
		json_decref(req->parts[i]);
	}
	conn->req = NULL;
	if (conn->bev == NULL) {
		json_decref(req->parts[0]);
		free(conn);
	} else {
		answer(conn->bev, stats(conn->c->lb, req->parts[0]));
		bufferevent_enable(conn->bev, EV_READ);
		lbconn_read(conn);
	}
	free(req->parts);
	free(req);
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
 * This loop's farms as the answer's "farms" array, each with
 * "clients_by_loop": [its clients]. Run in the loop that owns them.
 */
static json_t *
snapshot(struct lb *lb)
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
		fj = json_pack("{ss ss sI sI si sI s[I] so}",
		    "name", f->name,
		    "balance", conf_balance_str(f->algo),
		    "clients", (json_int_t)f->clients,
		    "rejected", (json_int_t)f->rejected,
		    "queued", (int)f->nqueued,
		    "queued_total", (json_int_t)f->queued_total,
		    "clients_by_loop", (json_int_t)f->clients,
		    "servers", servers);
		json_array_append_new(farms, fj);
	}
	return farms;
}

/* into[key] += part[key], integers. */
static void
add_int(json_t *into, json_t *part, const char *key)
{
	json_object_set_new(into, key, json_integer(
	    json_integer_value(json_object_get(into, key)) +
	    json_integer_value(json_object_get(part, key))));
}

/* Rank of a member's state in lb_state's order, worst first. */
static int
state_rank(const char *st)
{
	static const char *order[] = { "drained", "down", "suspect",
	    "slowstart", "degraded", "up", "unknown", NULL };
	int	 i;

	for (i = 0; order[i] != NULL && st != NULL; i++)
		if (strcmp(order[i], st) == 0)
			return i;
	return i;
}

/*
 * One loop's view of a member added to another's: counts summed, the
 * worst state, suspect when any loop says so, the smaller share, and the
 * response time averaged weighted by requests.
 */
static void
merge_server(json_t *into, json_t *part)
{
	double	 ri, rp, e;

	ri = (double)json_integer_value(json_object_get(into, "requests"));
	rp = (double)json_integer_value(json_object_get(part, "requests"));
	e = ri + rp > 0 ? (json_number_value(json_object_get(into,
	    "ewma_ms")) * ri + json_number_value(json_object_get(part,
	    "ewma_ms")) * rp) / (ri + rp) : (json_number_value(
	    json_object_get(into, "ewma_ms")) + json_number_value(
	    json_object_get(part, "ewma_ms"))) / 2;
	json_object_set_new(into, "ewma_ms", json_real(e));
	add_int(into, part, "inflight");
	add_int(into, part, "connections");
	add_int(into, part, "requests");
	add_int(into, part, "errors");
	if (json_is_true(json_object_get(part, "suspect")))
		json_object_set(into, "suspect", json_true());
	if (json_number_value(json_object_get(part, "share")) <
	    json_number_value(json_object_get(into, "share")))
		json_object_set(into, "share", json_object_get(part, "share"));
	if (state_rank(json_string_value(json_object_get(part, "state"))) <
	    state_rank(json_string_value(json_object_get(into, "state"))))
		json_object_set(into, "state", json_object_get(part, "state"));
}

/* Find the object of array a whose key is the string v, or NULL. */
static json_t *
find_by(json_t *a, const char *key, const char *v)
{
	json_t	*o;
	size_t	 i;

	json_array_foreach(a, i, o)
		if (v != NULL && json_string_value(json_object_get(o, key)) !=
		    NULL && strcmp(json_string_value(json_object_get(o, key)),
		    v) == 0)
			return o;
	return NULL;
}

/*
 * Another loop's farms (part) added to into, farm by name and member by
 * id: the farm's counts summed, its clients appended to
 * clients_by_loop. A farm or member only part has (a loop between
 * reloads) is taken as it is.
 */
static void
merge(json_t *into, json_t *part)
{
	json_t	*pf, *f, *ps, *sv;
	size_t	 i, j;

	json_array_foreach(part, i, pf) {
		f = find_by(into, "name", json_string_value(json_object_get(pf,
		    "name")));
		if (f == NULL) {
			json_array_append(into, pf);
			continue;
		}
		add_int(f, pf, "clients");
		add_int(f, pf, "rejected");
		add_int(f, pf, "queued");
		add_int(f, pf, "queued_total");
		json_array_extend(json_object_get(f, "clients_by_loop"),
		    json_object_get(pf, "clients_by_loop"));
		json_array_foreach(json_object_get(pf, "servers"), j, ps) {
			sv = find_by(json_object_get(f, "servers"), "id",
			    json_string_value(json_object_get(ps, "id")));
			if (sv == NULL)
				json_array_append(json_object_get(f,
				    "servers"), ps);
			else
				merge_server(sv, ps);
		}
	}
}

/*
 * {"ok": true, "pid", "uptime_s", "threads", "farms": [{"name",
 * "balance", "clients", "rejected", "queued", "queued_total",
 * "clients_by_loop", "servers": [...]}]} around farms (taken): counters
 * since start (kept across reloads for the same farm and member),
 * summed over every loop.
 */
static json_t *
stats(struct lb *lb, json_t *farms)
{
	return json_pack("{sb si sI si so}", "ok", 1, "pid", (int)getpid(),
	    "uptime_s", (json_int_t)((mono_us() - lb->started) / 1000000),
	    "threads", (int)lb->nthreads, "farms", farms);
}
