/*
 * engine.c: the heart of tocsin-probed. It owns the targets, starts their
 * checks when the scheduler says they are due (within the global and
 * per-host limits), resolves names with c-ares, enforces each check's
 * deadline, runs results through the state machine, and hands them on:
 * hard changes to the spool first and to the watchers once durable,
 * samples to the archives, results to the watchers.
 */
#include <sys/stat.h>

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "conf.h"
#include "daemon.h"
#include "fsutil.h"
#include "log.h"
#include "paths.h"
#include "history.h"
#include "spool.h"
#include "util.h"
#include "jsontext.h"
#include "worker.h"
#include "xmalloc.h"

#include "archive.h"
#include "cluster.h"
#include "cluster_ctl.h"
#include "confref.h"
#include "ctl.h"
#include "curlmulti.h"
#include "engine.h"
#include "http_native.h"
#include "probed.h"
#include "resolver.h"
#include "scheduler.h"
#include "slots.h"
#include "spoolq.h"
#include "statefile.h"
#include "writer.h"

#define LATE_RING	8192	/* lateness samples kept for percentiles */
#define NOT_QUEUED	((size_t)-1)
#define DNSCHANS_MAX	64	/* distinct servers asked by dns:// checks */
#define ARCHIVE_QUEUE	16384	/* samples waiting for the writer; then the
				   oldest is dropped (counted) */

struct dnschan_slot {
	char		*server;
	struct dnschan	*chan;
};

struct engine {
	struct event_base *base;
	struct confref	*cur;		/* current config */
	struct target	**targets;
	size_t		 ntargets;
	TAILQ_HEAD(, target) gone;	/* removed, check still in flight */
	TAILQ_HEAD(, target) parked;	/* failures waiting for a parent */
	struct sched	*sched;
	struct slots	*slots;
	struct probe	*spares;	/* probes to reuse, timers made */
	struct resolver	*resolver;
	struct dnschan_slot dnschans[DNSCHANS_MAX];
	size_t		 ndnschans;
	struct spool	*spool;
	struct spoolq	*spoolq;
	struct history	*history;	/* events for the page; or NULL */
	struct writer	*writer;	/* NULL: archives off */
	struct writer	*closing;	/* one a reload replaced, being closed
					   on bg; the next opens after it */
	struct worker	*bg;		/* closes writers off the loop */
	char		*state_dir;	/* the one it started with */
	int		 stopping;	/* engine_free is under way */
	struct ctl	*ctl;
	uint64_t	 checks;
	uint64_t	 events;
	int64_t		 late[LATE_RING];
	uint64_t	 nlate;
	int64_t		 started;	/* Unix s */
	struct statefile *statefile;
	struct cluster	*cluster;	/* set cluster; else NULL */
};

static void	 on_fire(struct target *, void *);
static void	 on_deadline(evutil_socket_t, short, void *);
static void	 on_resolved(void *, int, const struct sockaddr *, socklen_t,
		    const char *);
static void	 on_durable(void *, const struct spool_event *, void *);
static void	 start_probe(struct target *, void *);
static void	 launch(struct probe *);
static void	 finish(struct probe *);
static void	 probe_stop(struct probe *);
static void	 reschedule(struct engine *, struct target *);
static void	 unpark_children(struct engine *, struct target *);
static const struct check_ops *ops_for(enum check_kind);
static void	 target_free(struct target *);
static void	 archives_open(struct engine *);

static const struct check_ops *
ops_for(enum check_kind k)
{
	switch (k) {
	case KIND_HTTP:
		return &check_http_ops;
	case KIND_TCP:
		return &check_tcp_ops;
	case KIND_DNS:
		return &check_dns_ops;
	case KIND_FTP:
		return &check_ftp_ops;
	case KIND_SMTP:
	case KIND_POP3:
	case KIND_IMAP:
		return &check_mail_ops;
	case KIND_PING:
		return &check_ping_ops;
	case KIND_EXEC:
		return &check_exec_ops;
	case KIND_MAX:
		break;
	}
	return NULL;
}

static struct target *
target_new(struct engine *e, const struct server_conf *sc)
{
	struct target *t;

	t = xcalloc(1, sizeof(*t));
	t->sc = sc;
	t->heap_idx = NOT_QUEUED;
	t->host = slots_host(e->slots, sc->host);
	t->life = TARGET_LIVE;
	state_init(&t->st);
	return t;
}

static void
target_free(struct target *t)
{
	state_free(&t->st);
	free(t);
}

/* Spread first runs evenly over each interval, with a little jitter. */
static void
schedule_initial(struct engine *e)
{
	int64_t		 now = mono_us(), wall = time(NULL), off, iv;
	size_t		 i;
	struct target	*t;

	for (i = 0; i < e->ntargets; i++) {
		t = e->targets[i];
		iv = (int64_t)t->sc->o.interval * 1000;
		if (t->st.last_check > 0 && t->st.last_check <= wall &&
		    (wall - t->st.last_check) * 1000000 < iv) {
			/* Known from the state file: keep its cadence. */
			off = t->st.last_check * 1000000 + iv - wall * 1000000;
		} else
			off = iv * (int64_t)i / (int64_t)e->ntargets;
		off += random() % (iv / 100 + 1);
		sched_set(e->sched, t, now + off);
	}
}

static void
build_targets(struct engine *e)
{
	struct conf	*c = confref_conf(e->cur);
	size_t		 i;

	e->targets = xcalloc(c->nservers, sizeof(*e->targets));
	for (i = 0; i < c->nservers; i++)
		e->targets[i] = target_new(e, c->servers[i]);
	e->ntargets = c->nservers;
}

/*
 * Make the engine for conf (which it then owns) on base. Opens the state
 * folder, the spool, the archives and the resolver. NULL with *err.
 */
struct engine *
engine_new(struct event_base *base, struct conf *conf, char **err)
{
	struct engine	*e;
	char		*rrddir;

	e = xcalloc(1, sizeof(*e));
	e->base = base;
	e->cur = confref_new(conf, http_native_prepare(conf),
	    http_native_prep_free);
	TAILQ_INIT(&e->gone);
	TAILQ_INIT(&e->parked);
	e->started = time(NULL);
	e->state_dir = xstrdup(conf->state_dir);
	if (fsutil_mkdir_p(conf->state_dir, 0750) == -1) {
		xasprintf(err, "cannot make state folder %s: %s",
		    conf->state_dir, strerror(errno));
		goto fail;
	}
	if ((e->spool = spool_open(conf->state_dir)) == NULL) {
		xasprintf(err, "cannot open the spool in %s", conf->state_dir);
		goto fail;
	}
	if ((e->resolver = resolver_new(base, conf->dns_servers, err)) == NULL)
		goto fail;
	xasprintf(&rrddir, "%s/%s", conf->state_dir, PATH_RRD_DIR);
	if (fsutil_mkdir_p(rrddir, 0750) == -1)
		log_warn("cannot make %s", rrddir);
	free(rrddir);
	e->bg = worker_new(base, "archives");
	archives_open(e);
	e->spoolq = spoolq_new(base, e->spool, on_durable, e);
	e->history = history_open(conf->state_dir);
	spoolq_set_history(e->spoolq, e->history);
	curlmulti_init(base);
	e->sched = sched_new(base, on_fire, e);
	e->slots = slots_new(base, start_probe, e);
	slots_set_limit(e->slots, conf->max_concurrent);
	build_targets(e);
	if ((e->statefile = statefile_open(e, e->spoolq, conf->state_dir,
	    err)) == NULL)
		goto fail;
	statefile_load(e->statefile);
	if (conf->cluster != NULL &&
	    (e->cluster = cluster_new(base, e, err)) == NULL)
		goto fail;
	schedule_initial(e);
	return e;
fail:
	spool_close(e->spool);
	http_native_prep_free(confref_prep(e->cur));
	free(e->cur);	/* conf stays the caller's on failure */
	free(e->state_dir);
	free(e);
	return NULL;
}

void
engine_set_ctl(struct engine *e, struct ctl *ctl)
{
	e->ctl = ctl;
}

struct event_base *
engine_base(struct engine *e)
{
	return e->base;
}

const struct conf *
engine_conf(struct engine *e)
{
	return confref_conf(e->cur);
}

/*
 * The c-ares channel asking one server ("host:port") for dns:// checks;
 * made on first use and kept. NULL with err when the server is not valid
 * or too many are in use.
 */
struct dnschan *
engine_dnschan(struct engine *e, const char *server, char *err, size_t len)
{
	size_t	 i;
	char	*msg = NULL;
	struct dnschan *c;

	for (i = 0; i < e->ndnschans; i++)
		if (strcmp(e->dnschans[i].server, server) == 0)
			return e->dnschans[i].chan;
	if (e->ndnschans == DNSCHANS_MAX) {
		snprintf(err, len, "more than %d DNS servers checked",
		    DNSCHANS_MAX);
		return NULL;
	}
	if ((c = dnschan_new_check(e->base, *server ? server : NULL, &msg)) ==
	    NULL) {
		snprintf(err, len, "%s", msg);
		free(msg);
		return NULL;
	}
	e->dnschans[e->ndnschans].server = xstrdup(server);
	e->dnschans[e->ndnschans++].chan = c;
	return c;
}

size_t
engine_ntargets(struct engine *e)
{
	return e->ntargets;
}

struct target *
engine_target(struct engine *e, size_t i)
{
	return i < e->ntargets ? e->targets[i] : NULL;
}

/* targets[i] always holds the config's servers[i]. */
struct target *
engine_find(struct engine *e, const char *id)
{
	const struct server_conf *sc;

	if ((sc = conf_find_server(confref_conf(e->cur), id)) == NULL)
		return NULL;
	return e->targets[sc->idx];
}

void
engine_check_now(struct engine *e, struct target *t)
{
	if (t->probe != NULL || t->waiting || t->parked != NULL)
		return;
	sched_set(e->sched, t, mono_us());
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

void
engine_stats(struct engine *e, struct engine_stats *s)
{
	int64_t	*v;
	size_t	 n, i;

	memset(s, 0, sizeof(*s));
	s->checks = e->checks;
	s->running = slots_running(e->slots);
	s->pending = slots_waiting(e->slots);
	s->events = e->events;
	s->uptime_s = time(NULL) - e->started;
	s->exec_leftovers = check_exec_leftovers();
	if (e->writer != NULL) {
		struct writer_stats ws;
		writer_stats(e->writer, &ws);
		s->archive_dropped = ws.dropped;
	}
	n = e->nlate < LATE_RING ? e->nlate : LATE_RING;
	if (n == 0)
		return;
	v = xcalloc(n, sizeof(*v));
	for (i = 0; i < n; i++)
		v[i] = e->late[i];
	qsort(v, n, sizeof(*v), cmp_i64);
	s->lateness_p50_us = v[n / 2];
	s->lateness_p99_us = v[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1];
	s->lateness_max_us = v[n - 1];
	free(v);
}

/* The scheduler says t is due: start it when its slots allow. */
static void
on_fire(struct target *t, void *arg)
{
	struct engine *e = arg;

	if (t->probe != NULL || t->parked != NULL)
		return;
	if (!cluster_mine(e->cluster, t)) {
		/* another node's (set shard on): asked again soon, so a
		 * dead node's servers move within their interval; a
		 * child's failure that waits for its check (it was ours
		 * when the child parked) goes on without it */
		unpark_children(e, t);
		sched_set(e->sched, t, mono_us() + (int64_t)(t->sc->o.interval
		    < CLUSTER_ASK_MS ? t->sc->o.interval : CLUSTER_ASK_MS) *
		    1000);
		return;
	}
	slots_want(e->slots, t);
}

/* A spare probe, or a new one with its deadline timer. */
static struct probe *
probe_get(struct engine *e)
{
	struct probe	*p;
	struct event	*timer;

	if ((p = e->spares) != NULL) {
		e->spares = p->next_spare;
		timer = p->timer;
	} else {
		p = xmalloc(sizeof(*p));
		if ((timer = evtimer_new(e->base, on_deadline, p)) == NULL)
			fatalx("engine: probe timer");
	}
	memset(p, 0, sizeof(*p));
	p->timer = timer;
	p->eng = e;
	return p;
}

/* Keep a stopped probe for the next check. */
static void
probe_put(struct engine *e, struct probe *p)
{
	result_release(&p->r);
	p->next_spare = e->spares;
	e->spares = p;
}

/* Count how late t starts (not for `check ID`, which is early). */
static void
note_lateness(struct engine *e, struct target *t, int64_t now)
{
	int64_t late = now - t->due;

	if (!t->check_now && late >= 0) {
		e->late[e->nlate % LATE_RING] = late;
		e->nlate++;
	}
	t->check_now = 0;
}

/*
 * Slots are taken for t (slots.c): start its check, under the config of
 * now, with its deadline; resolve the name first if the kind needs it.
 */
static void
start_probe(struct target *t, void *arg)
{
	struct engine		*e = arg;
	struct probe		*p;
	struct timeval		 tv;
	int64_t			 now = mono_us();
	char			 err[128];
	struct resolve_req	*req;
	int			 r;

	note_lateness(e, t, now);
	p = probe_get(e);
	p->t = t;
	p->sc = t->sc;
	p->ops = ops_for(t->sc->kind);
	p->start_mono = now;
	p->deadline_mono = now + (int64_t)t->sc->o.timeout * 1000;
	result_init(&p->r, now_us());
	t->probe = p;
	t->started_mono = now;
	p->cref = confref_hold(e->cur);
	ms_to_timeval(t->sc->o.timeout, &tv);
	if (evtimer_add(p->timer, &tv) == -1)
		fatalx("engine: probe timer");
	if (!p->ops->needs_addr || t->sc->host == NULL) {
		launch(p);
		return;
	}
	r = resolver_lookup(e->resolver, t->sc->host, t->sc->port, &p->addr,
	    &p->addrlen, on_resolved, p, &req, err, sizeof(err));
	if (r == 1) {
		p->r.dns_us = probe_elapsed_us(p);
		launch(p);
	} else if (r == -1) {
		result_set(&p->r, CHECK_CRITICAL, "%s: %s", t->sc->host, err);
		finish(p);
	} else
		p->priv = req;	/* until resolved; launch() replaces it */
}

static void
on_resolved(void *arg, int status, const struct sockaddr *sa, socklen_t len,
    const char *err)
{
	struct probe *p = arg;

	p->priv = NULL;
	p->r.dns_us = probe_elapsed_us(p);
	if (status != 0) {
		result_set(&p->r, CHECK_CRITICAL, "%s: %s", p->sc->host, err);
		finish(p);
		return;
	}
	memcpy(&p->addr, sa, len);
	p->addrlen = len;
	launch(p);
}

/*
 * An IPv4 address in dotted form, as inet_ntop writes it; by hand, since
 * every check needs one and glibc's goes through sprintf. buf holds at
 * least INET_ADDRSTRLEN bytes.
 */
static void
ntop4(const struct in_addr *in, char *buf)
{
	const unsigned char *b = (const unsigned char *)&in->s_addr;
	char	*o = buf;
	int	 i;

	for (i = 0; i < 4; i++) {
		if (i > 0)
			*o++ = '.';
		if (b[i] >= 100)
			*o++ = '0' + b[i] / 100;
		if (b[i] >= 10)
			*o++ = '0' + b[i] / 10 % 10;
		*o++ = '0' + b[i] % 10;
	}
	*o = '\0';
}

/* The address is known (or not needed): hand the probe to its kind. */
static void
launch(struct probe *p)
{
	if (p->addrlen > 0) {
		if (p->addr.ss_family == AF_INET)
			ntop4(&((struct sockaddr_in *)&p->addr)->sin_addr,
			    p->addrstr);
		else
			inet_ntop(AF_INET6,
			    &((struct sockaddr_in6 *)&p->addr)->sin6_addr,
			    p->addrstr, sizeof(p->addrstr));
	}
	p->started = 1;
	if (p->ops->start(p) == -1)
		probe_done(p);
}

int64_t
probe_elapsed_us(const struct probe *p)
{
	return mono_us() - p->start_mono;
}

/* The deadline passed: the check fails, whatever it was doing. */
static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct probe	*p = arg;
	const char	*phase = NULL;
	char		 d[32];

	if (p->started && p->ops->phase != NULL)
		phase = p->ops->phase(p);
	else if (!p->started)
		phase = "name resolution";
	format_duration(p->sc->o.timeout, d, sizeof(d));
	result_set(&p->r, CHECK_CRITICAL, "timeout after %s waiting for %s", d,
	    phase != NULL ? phase : "an answer");
	p->r.total_us = probe_elapsed_us(p);
	finish(p);
}

/* The one teardown of what a probe holds: its kind's state (or its name
 * lookup), its deadline and its config. The probe itself is the caller's
 * to put back. */
static void
probe_stop(struct probe *p)
{
	p->finished = 1;
	if (p->started)
		p->ops->release(p);
	else if (p->priv != NULL)
		resolver_cancel(p->priv);
	evtimer_del(p->timer);
	confref_drop(p->cref);
	p->cref = NULL;
}

/* Called by a kind when its check is over; p is freed. */
void
probe_done(struct probe *p)
{
	finish(p);
}

/*
 * Is a server this one depends on down? Hard down, or failing by its
 * latest result, which a child's failure made fresh (see park()).
 */
static int
unreachable(struct engine *e, const struct target *t)
{
	struct target	*d;
	size_t		 i;

	for (i = 0; i < t->sc->ndeps; i++)
		if ((d = engine_find(e, t->sc->deps[i]->id)) != NULL &&
		    (d->st.hard == HSTATE_DOWN || d->st.state == HSTATE_DOWN))
			return 1;
	return 0;
}

static void
fill_event(struct engine *e, struct spool_event *ev, const struct target *t,
    const struct state_change *chg)
{
	memset(ev, 0, sizeof(*ev));
	snprintf(ev->id, sizeof(ev->id), "%s", t->sc->id);
	ev->time = time(NULL);
	snprintf(ev->old_state, sizeof(ev->old_state), "%s",
	    hstate_str(chg->old_state));
	snprintf(ev->new_state, sizeof(ev->new_state), "%s",
	    hstate_str(chg->new_state));
	snprintf(ev->message, sizeof(ev->message), "%s",
	    t->st.message != NULL ? t->st.message : "");
	ev->flapping = chg->flapping;
	ev->downtime = chg->in_downtime;
	ev->acked = chg->acked;
	ev->unreachable = unreachable(e, t);
}

/* A change on disk: now the watchers may hear of it. */
static void
on_durable(void *arg, const struct spool_event *ev, void *ctx)
{
	struct engine		*e = arg;
	struct state_change	*chg = ctx;
	struct target		*t;

	e->events++;
	log_info("%s: %s -> %s (event %" PRIu64 "): %s", ev->id,
	    ev->old_state, ev->new_state, ev->seq, ev->message);
	if (e->ctl != NULL && (t = engine_find(e, ev->id)) != NULL)
		ctl_publish_event(e->ctl, t, ev->seq, chg);
	free(chg);
}

/* Feed the state machine; 1 with *chg when the hard state changed, or
 * flapping ended without a change (state_update). */
static int
judge(struct engine *e, struct target *t, const struct check_result *r,
    struct state_change *chg)
{
	const struct conf *c = confref_conf(e->cur);

	statefile_touch(e->statefile);
	return state_update(&t->st, t->sc, r, c->flap_low, c->flap_high,
	    time(NULL), chg);
}

/* A hard change goes to the spool; the watchers hear once durable. */
static void
spool_change(struct engine *e, struct target *t,
    const struct state_change *chg)
{
	struct spool_event	 ev;
	struct state_change	*copy;

	fill_event(e, &ev, t, chg);
	copy = xmalloc(sizeof(*copy));
	*copy = *chg;
	spoolq_event(e->spoolq, &ev, copy);
}

/*
 * The sample goes to the archive writer (off the loop), marked when a
 * scheduled downtime of the server ran as the check started (the
 * archive's sla series leaves it out). The writer copies the struct and
 * never its long output. In cluster mode the archive is the node's:
 * ID@NODE (tocsin-probed(8), ARCHIVES).
 */
static void
archive(struct engine *e, struct target *t, const struct check_result *r)
{
	const struct conf	*c = confref_conf(e->cur);
	struct check_result	s;
	char			id[ARCHIVE_ID_MAX];

	if (e->writer == NULL)
		return;
	s = *r;
	s.in_downtime = state_in_downtime(&t->st, r->started / 1000000);
	if (c->cluster == NULL)
		snprintf(id, sizeof(id), "%s", t->sc->id);
	else if (archive_node_id(t->sc->id, c->node, id, sizeof(id)) == -1)
		id[0] = '\0';	/* refused and counted by the writer */
	writer_submit(e->writer, id, t->sc->o.interval / 1000 ?
	    t->sc->o.interval / 1000 : 1, &s);
}

/* The result goes to the watchers and the debug log. */
static void
publish(struct engine *e, struct target *t, const struct check_result *r)
{
	if (e->ctl != NULL)
		ctl_publish_result(e->ctl, t, r);
	if (r->total_us >= 0)
		log_debug("%s: %s %.1f ms: %s", t->sc->id,
		    check_status_str(r->status), r->total_us / 1000.0,
		    r->message);
	else
		log_debug("%s: %s - ms: %s", t->sc->id,
		    check_status_str(r->status), r->message);
}

/* A removed target's last check ended: it goes. */
static void
target_gone(struct engine *e, struct target *t)
{
	TAILQ_REMOVE(&e->gone, t, gone_link);
	target_free(t);
}

/*
 * A parent of t whose state is not known to be fresh for t's failure
 * started at start_mono: not hard down (that answer needs no check), not
 * checked since, and checked by this node (in cluster mode another may
 * check it: its vantage, or the shares of set shard on; the cluster's
 * state of it then says whether t's change is unreachable). NULL when
 * t's result can be judged now.
 */
static struct target *
stale_parent(struct engine *e, struct target *t, int64_t start_mono)
{
	struct target	*d;
	size_t		 i;

	for (i = 0; i < t->sc->ndeps; i++)
		if ((d = engine_find(e, t->sc->deps[i]->id)) != NULL &&
		    d->st.hard != HSTATE_DOWN && d->done_mono < start_mono &&
		    cluster_checks(e->cluster, d))
			return d;
	return NULL;
}

/*
 * As Nagios does: a failure that counts towards t going hard down waits
 * while its parent d is checked at once, so the change is judged
 * `unreachable` (or not) from d's fresh result, not a stale one. The
 * result is kept (t is neither scheduled nor checked meanwhile) until
 * d's check ends (unpark_children) or d leaves the config.
 */
static int
park(struct engine *e, struct target *t, const struct check_result *r,
    int64_t start_mono)
{
	struct target *d;

	if (t->st.hard == HSTATE_DOWN || state_observe(t->sc, r) !=
	    HSTATE_DOWN || (d = stale_parent(e, t, start_mono)) == NULL)
		return 0;
	t->parked = xmalloc(sizeof(*t->parked));
	*t->parked = *r;
	if (r->long_output != NULL)
		t->parked->long_output = xstrdup(r->long_output);
	t->parked_on = d;
	t->parked_start = start_mono;
	TAILQ_INSERT_TAIL(&e->parked, t, park_link);
	log_debug("%s: failed; checking %s first", t->sc->id, d->sc->id);
	if (d->probe == NULL && !d->waiting) {
		d->check_now = 1;
		sched_set(e->sched, d, mono_us());
	}
	return 1;
}

/* state, spool, archive, control, reschedule: t's result r is final. */
static void
conclude(struct engine *e, struct target *t, const struct check_result *r)
{
	struct state_change chg;

	/* The end of flapping with no change (old and new alike) is an
	 * event of one node's; the cluster decides its events from the
	 * nodes' verdicts, which say flapping themselves. */
	if (judge(e, t, r, &chg) && (chg.old_state != chg.new_state ||
	    e->cluster == NULL)) {
		spool_change(e, t, &chg);
		cluster_verdict(e->cluster, t);
		cluster_ctl_local(cluster_control(e->cluster), t);
	}
	cluster_checked(e->cluster, t);
	archive(e, t, r);
	publish(e, t, r);
	reschedule(e, t);
}

/* Take t's held failure back; concluded unless another parent is stale
 * or t is gone. */
static void
unpark(struct engine *e, struct target *t, int conclude_it)
{
	struct check_result	*r = t->parked;

	TAILQ_REMOVE(&e->parked, t, park_link);
	t->parked = NULL;
	t->parked_on = NULL;
	if (conclude_it && !park(e, t, r, t->parked_start))
		conclude(e, t, r);
	result_release(r);
	free(r);
}

/* d's check ended (or d left): the failures waiting on it go on. */
static void
unpark_children(struct engine *e, struct target *d)
{
	struct target *t, *next;

	for (t = TAILQ_FIRST(&e->parked); t != NULL; t = next) {
		next = TAILQ_NEXT(t, park_link);
		if (t->parked_on == d)
			unpark(e, t, 1);
	}
}

/*
 * End a probe: stop it, then state, spool, archive, control, reschedule
 * (unless the result waits for a parent); last its slots go back, which
 * may start what waits. Idempotent.
 */
static void
finish(struct probe *p)
{
	struct engine		*e = p->eng;
	struct target		*t = p->t;
	int64_t			 ok_us;

	if (p->finished)
		return;
	probe_stop(p);
	/* A ping with no reply has no latency; anything else took this. */
	if (p->r.total_us < 0 && p->sc->kind != KIND_PING)
		p->r.total_us = probe_elapsed_us(p);
	ok_us = p->r.status == CHECK_OK ? p->r.total_us : -1;
	e->checks++;
	t->probe = NULL;
	t->done_mono = mono_us();
	slots_release(e->slots, t, ok_us);
	if (t->life == TARGET_REMOVED)
		target_gone(e, t);
	else {
		if (!park(e, t, &p->r, p->start_mono))
			conclude(e, t, &p->r);
		unpark_children(e, t);
	}
	probe_put(e, p);
	slots_pump(e->slots);
}

/* Next run: one interval after the planned start, or a retry interval
 * while a failure is soft; never in the past. */
static void
reschedule(struct engine *e, struct target *t)
{
	int64_t now = mono_us(), step, due;
	int	soft_fail = t->st.type == STATE_SOFT && t->st.state != HSTATE_UP;

	step = (int64_t)(soft_fail ? t->sc->o.retry_interval :
	    t->sc->o.interval) * 1000;
	due = (soft_fail ? t->started_mono : t->due) + step;
	if (due <= now)
		due = t->started_mono + step;
	if (due <= now)
		due = now + step / 100;
	sched_set(e->sched, t, due);
}

/* Write the state file soon (the worker fsyncs, never the loop). */
void
engine_save_state(struct engine *e)
{
	statefile_save(e->statefile);
}

/*
 * A person's change of t came from elsewhere (another node of the
 * cluster, what: "ack", "downtime", "drain", "enable"): saved soon, told
 * to the control socket's watchers as the socket tells its own.
 */
void
engine_person_changed(struct engine *e, const struct target *t,
    const char *what)
{
	statefile_save(e->statefile);
	if (e->ctl != NULL)
		ctl_publish_server(e->ctl, t, what);
}

/* A person changed the n servers ts here (what as above): the cluster's
 * other nodes get it, in cluster mode. */
void
engine_share_change(struct engine *e, struct target *const *ts, size_t n,
    const char *what)
{
	cluster_ctl_changed(cluster_control(e->cluster), ts, n, what);
}

/* For `status`: the cluster's view of t ({"state", "nodes"}) and the
 * answer's head ({"node", "alive"}); NULL out of cluster mode. */
json_t *
engine_cluster_json(struct engine *e, const struct target *t, int64_t now)
{
	return cluster_server_json(e->cluster, t->sc->id, now);
}

json_t *
engine_cluster_head(struct engine *e)
{
	return cluster_head_json(e->cluster);
}

/*
 * Open the archive writer the running config asks for, unless one runs
 * or one a reload replaced is still being closed (its end calls this
 * again). In the state folder the daemon started with.
 */
static void
archives_open(struct engine *e)
{
	const struct conf *c = confref_conf(e->cur);

	if (c->no_archives || e->writer != NULL || e->closing != NULL)
		return;
	if ((e->writer = writer_open(e->state_dir, c->rrdcached,
	    ARCHIVE_QUEUE)) == NULL)
		log_warnx("archives off: cannot start the writer");
}

/* On the worker: close the writer a reload replaced, writing what it
 * still holds first (which may take a while with many waiting). */
static void
archives_close_job(void *arg)
{
	struct engine *e = arg;

	writer_close(e->closing);
}

/* On the loop: the replaced writer is gone; open the next, if any. */
static void
archives_closed(void *arg)
{
	struct engine *e = arg;

	e->closing = NULL;
	log_info("reload: the archive writer it replaced is closed");
	if (!e->stopping)
		archives_open(e);
}

/*
 * A reload changed set archives or set rrdcached: the running writer is
 * closed on the worker and the new one opened once it is gone, so two
 * writers never write one archive, nor share librrd's one connection to
 * rrdcached. Results in between are not archived.
 */
static void
archives_reload(struct engine *e)
{
	const struct conf *c = confref_conf(e->cur);

	log_info("reload: archives %s%s%s", c->no_archives ? "off" : "on",
	    !c->no_archives && c->rrdcached != NULL ? " through rrdcached " :
	    "", !c->no_archives && c->rrdcached != NULL ? c->rrdcached : "");
	if (e->writer == NULL) {
		archives_open(e);
		return;
	}
	e->closing = e->writer;
	e->writer = NULL;
	worker_submit(e->bg, archives_close_job, archives_closed, e);
}

/*
 * What a reload changed of the `set` keys the engine takes at once
 * (apply: reload_compare's bits): new name servers for the lookups to
 * come (those running finish on the old ones), the archives, who may
 * change things on the control socket.
 */
static void
reload_apply(struct engine *e, unsigned apply)
{
	const struct conf	*c = confref_conf(e->cur);
	struct resolver		*r;
	struct ctl_access	 access;
	char			*err = NULL;

	if ((apply & RELOAD_DNS) &&
	    (r = resolver_renew(e->resolver, c->dns_servers, &err)) == NULL) {
		log_warnx("reload: set dns-servers: %s (names are resolved as "
		    "before)", err);
		free(err);
	} else if (apply & RELOAD_DNS) {
		e->resolver = r;
		log_info("reload: dns-servers %s for the lookups to come",
		    c->dns_servers != NULL ? c->dns_servers :
		    "of /etc/resolv.conf");
	}
	if (apply & RELOAD_ARCHIVES)
		archives_reload(e);
	if ((apply & RELOAD_CONTROL) && e->ctl != NULL) {
		access.group = c->control_gid;
		ctl_set_access(e->ctl, &access);
		log_info("reload: control-group %s", c->control_group != NULL ?
		    c->control_group : "unset: anyone who can connect");
	}
}

/*
 * A reload dropped t: it leaves the schedule and the slot queues, and goes
 * now, or when its check in flight ends (then it waits in e->gone, so a
 * shutdown before that still frees it).
 */
static void
target_remove(struct engine *e, struct target *t)
{
	struct target *c;

	t->life = TARGET_REMOVED;
	sched_remove(e->sched, t);
	slots_cancel(e->slots, t);
	if (t->parked != NULL)
		unpark(e, t, 0);
	TAILQ_FOREACH(c, &e->parked, park_link)
		if (c->parked_on == t)
			c->parked_on = NULL;	/* concluded after the reload */
	if (t->probe != NULL)
		TAILQ_INSERT_TAIL(&e->gone, t, gone_link);
	else
		target_free(t);
}

/*
 * Swap in a new config. Targets kept by id keep their state and schedule
 * (a changed interval applies from the next run); removed ones go (a check
 * in flight finishes first); new ones start unknown. On a bad config
 * nothing changes and *errors holds every FILE:LINE message.
 */
int
engine_reload(struct engine *e, char **errors)
{
	struct conf	*nc;
	struct target	**nt, *t;
	size_t		 i;
	int64_t		 now = mono_us();
	unsigned	 apply;
	char		 sum[128];

	if ((nc = conf_load(confref_conf(e->cur)->path, errors)) == NULL)
		return -1;
	if (conf_host_check(nc, errors) == -1) {
		conf_free(nc);
		return -1;
	}
	log_warnx_lines("reload: ", nc->warnings);
	apply = reload_compare(confref_conf(e->cur), nc);
	statefile_abort(e->statefile);
	nt = xcalloc(nc->nservers, sizeof(*nt));
	for (i = 0; i < nc->nservers; i++) {
		if ((t = engine_find(e, nc->servers[i]->id)) != NULL) {
			t->sc = nc->servers[i];
			t->host = slots_host(e->slots, t->sc->host);
			t->life = TARGET_KEPT;
		} else {
			t = target_new(e, nc->servers[i]);
			sched_set(e->sched, t, now + (int64_t)
			    t->sc->o.interval * 1000 * i / nc->nservers);
		}
		nt[i] = t;
	}
	for (i = 0; i < e->ntargets; i++)
		if (e->targets[i]->life != TARGET_KEPT)
			target_remove(e, e->targets[i]);
	for (i = 0; i < nc->nservers; i++)
		nt[i]->life = TARGET_LIVE;
	free(e->targets);
	e->targets = nt;
	e->ntargets = nc->nservers;
	/* The old config lives on while probes still use it. */
	confref_retire(e->cur);
	e->cur = confref_new(nc, http_native_prepare(nc),
	    http_native_prep_free);
	slots_set_limit(e->slots, nc->max_concurrent);
	reload_apply(e, apply);
	unpark_children(e, NULL);
	conf_summary(nc, sum, sizeof(sum));
	log_info("reloaded %s: %s", nc->path, sum);
	/* The file lists the running config's servers: written now, and a
	 * save the reload cut short (an ack's, a downtime's) with it; it
	 * waited for the next minute's tick. */
	statefile_save(e->statefile);
	return 0;
}

/* Drop t's check in flight, if any (shutdown). */
static void
target_drop_probe(struct engine *e, struct target *t)
{
	if (t->probe == NULL)
		return;
	probe_stop(t->probe);
	probe_put(e, t->probe);
	t->probe = NULL;
}

/* Stop everything: checks in flight are dropped, state is written. */
void
engine_free(struct engine *e)
{
	struct target	*t;
	struct probe	*p;
	size_t		 i;

	if (e == NULL)
		return;
	cluster_free(e->cluster);
	for (i = 0; i < e->ntargets; i++)
		target_drop_probe(e, e->targets[i]);
	while ((t = TAILQ_FIRST(&e->parked)) != NULL)
		unpark(e, t, 0);
	while ((t = TAILQ_FIRST(&e->gone)) != NULL) {
		target_drop_probe(e, t);
		target_gone(e, t);
	}
	statefile_flush(e->statefile);
	spoolq_free(e->spoolq);
	history_close(e->history);
	statefile_free(e->statefile);
	e->stopping = 1;
	worker_free(e->bg);	/* a writer a reload replaced: closed */
	if (e->writer != NULL)
		writer_close(e->writer);
	sched_free(e->sched);
	slots_free(e->slots);
	curlmulti_shutdown();
	resolver_free(e->resolver);
	for (i = 0; i < e->ndnschans; i++) {
		dnschan_free(e->dnschans[i].chan);
		free(e->dnschans[i].server);
	}
	spool_close(e->spool);
	for (i = 0; i < e->ntargets; i++)
		target_free(e->targets[i]);
	free(e->targets);
	while ((p = e->spares) != NULL) {
		e->spares = p->next_spare;
		event_free(p->timer);
		free(p);
	}
	confref_retire(e->cur);
	free(e->state_dir);
	free(e);
}
