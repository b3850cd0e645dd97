/*
 * ctl.c: tocsin-lb's control socket, STATE_DIR/lb.sock (PATH_LB_SOCKET),
 * served by lib/ctlsock as the pager's is: mode 0660, the protocol of
 * probed's (one request a line, one compact JSON object a line back,
 * {"ok": ...} first), so lib/ctlclient talks to it. Requests: "stats" (per farm and member, as tocsin-lb sees them,
 * summed over every loop) and "ping". Read-only: nothing here changes
 * the balancing.
 *
 * With lb-threads above 1 each loop owns its farms: "stats" asks every
 * other loop for a snapshot of its own (event_base_once into that loop,
 * which posts the snapshot back the same way), and answers once all are
 * in (ctlsock_reply). A connection reads no further request meanwhile.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "conf.h"
#include "ctlsock.h"
#include "log.h"
#include "util.h"
#include "xmalloc.h"

#include "lb.h"

/* A "stats" request out in the loops: one snapshot each. */
struct statsreq {
	struct ctlsock_req	*creq;		/* answered by stats_done */
	struct lb		*lb;		/* the first loop's */
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

static json_t	*on_request(struct ctlsock_req *, char *, void *);
static json_t	*stats(struct lb *, json_t *farms);
static json_t	*snapshot(struct lb *);
static json_t	*stats_ask(struct lb *, struct ctlsock_req *);
static void	on_job(evutil_socket_t, short, void *);
static void	on_part(evutil_socket_t, short, void *);
static void	stats_done(struct statsreq *);
static json_t	*stats_sum(struct statsreq *);
static void	merge(json_t *into, json_t *part);
static void	merge_server(json_t *into, json_t *part);
static json_t	*server_stats(struct backend *, int64_t now);
static const char *lb_state(struct backend *, int64_t now);

/*
 * Open the socket at path (lib/ctlsock; a stale one is replaced: the
 * pidfile, locked before, says no other tocsin-lb runs). Returns it, or
 * NULL after logging why; tocsin-lb then balances without one.
 */
struct ctlsock *
lbctl_open(struct lb *lb, const char *path)
{
	struct ctlsock	*cs;
	char		 err[512];

	if ((cs = ctlsock_open(lb->base, path, on_request, lb, err,
	    sizeof(err))) == NULL) {
		log_warnx("%s", err);
		return NULL;
	}
	log_debug("control socket %s", path);
	return cs;
}

/* One request: answered now, or ("stats" with other loops) later. */
static json_t *
on_request(struct ctlsock_req *creq, char *line, void *arg)
{
	struct lb	*lb = arg;

	if (strcmp(line, "stats") == 0)
		return stats_ask(lb, creq);
	if (strcmp(line, "ping") == 0)
		return json_pack("{sb}", "ok", 1);
	return json_pack("{sbss}", "ok", 0, "error",
	    "unknown request (tocsin-lb answers stats, ping)");
}

/*
 * "stats": this loop's snapshot now; with other loops, theirs asked for
 * and the answer given when the last is in (stats_done): NULL then.
 */
static json_t *
stats_ask(struct lb *lb, struct ctlsock_req *creq)
{
	struct statsreq	*req;
	struct statsjob	*job;
	size_t		 i;

	if (lb->npeers == 0)
		return stats(lb, snapshot(lb));
	req = xcalloc(1, sizeof(*req));
	req->creq = creq;
	req->lb = lb;
	req->home = lb->base;
	req->nparts = 1 + lb->npeers;
	req->parts = xcalloc(req->nparts, sizeof(*req->parts));
	req->parts[0] = snapshot(lb);
	req->left = lb->npeers;
	for (i = 0; i < lb->npeers; i++) {
		job = xcalloc(1, sizeof(*job));
		job->req = req;
		job->i = i + 1;
		job->lb = lb->peers[i];
		if (event_base_once(job->lb->base, -1, EV_TIMEOUT, on_job, job,
		    NULL) == -1) {
			log_warnx("stats: cannot ask loop %zu", i + 2);
			free(job);
			req->left--;
		}
	}
	/* No other loop could be asked: answered now. */
	return req->left == 0 ? stats_sum(req) : NULL;
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

/* Every part in: the answer, summed; req is freed. */
static json_t *
stats_sum(struct statsreq *req)
{
	json_t		*farms = req->parts[0];
	struct lb	*lb = req->lb;
	size_t		 i;

	for (i = 1; i < req->nparts; i++) {
		if (req->parts[i] != NULL)
			merge(farms, req->parts[i]);
		json_decref(req->parts[i]);
	}
	free(req->parts);
	free(req);
	return stats(lb, farms);
}

/* Every part in: answered (to nowhere when the client has gone; its
 * next requests are read then). */
static void
stats_done(struct statsreq *req)
{
	struct ctlsock_req *creq = req->creq;

	ctlsock_reply(creq, stats_sum(req));
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
	return json_pack("{ss ss ss ss sb sb sf si si si sI sI sI sf sf}",
	    "id", b->id,
	    "addr", b->addrstr,
	    "state", lb_state(b, now),
	    "probed", backend_health_str(b->health),
	    "drained", b->drained,
	    "suspect", b->suspect_until > now,
	    "share", backend_traffic_share(b, now),
	    "weight", (int)b->weight,
	    "maxconn", (int)b->maxconn,
	    "inflight", (int)b->inflight,
	    "connections", (json_int_t)b->conns,
	    "requests", (json_int_t)b->requests,
	    "errors", (json_int_t)b->errors,
	    "ewma_ms", backend_ewma(b, now),
	    "rt_ms", b->answered > 0 ? b->answer_ms_sum /
	    (double)b->answered : 0.0);
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
		    "clients", (json_int_t)f->st->clients,
		    "rejected", (json_int_t)f->st->rejected,
		    "queued", (int)f->st->nqueued,
		    "queued_total", (json_int_t)f->st->queued_total,
		    "clients_by_loop", (json_int_t)f->st->clients,
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

/* into's key made the mean of into's and part's, weighted by their
 * requests ri and rp (equal weights when neither has any). */
static void
merge_mean(json_t *into, json_t *part, const char *key, double ri, double rp)
{
	double	 a, b;

	a = json_number_value(json_object_get(into, key));
	b = json_number_value(json_object_get(part, key));
	json_object_set_new(into, key, json_real(ri + rp > 0 ?
	    (a * ri + b * rp) / (ri + rp) : (a + b) / 2));
}

/*
 * One loop's view of a member added to another's: counts summed, the
 * worst state, suspect when any loop says so, the smaller share, and the
 * response time averaged weighted by requests.
 */
static void
merge_server(json_t *into, json_t *part)
{
	double	 ri, rp;

	ri = (double)json_integer_value(json_object_get(into, "requests"));
	rp = (double)json_integer_value(json_object_get(part, "requests"));
	merge_mean(into, part, "ewma_ms", ri, rp);
	merge_mean(into, part, "rt_ms", ri, rp);
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
