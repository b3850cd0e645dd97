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

#include <curl/curl.h>
#include <event2/event.h>
#include <jansson.h>

#include "conf.h"
#include "fsutil.h"
#include "log.h"
#include "paths.h"
#include "spool.h"
#include "util.h"
#include "jsontext.h"
#include "xmalloc.h"

#include "ctl.h"
#include "curlglue.h"
#include "curlopt.h"
#include "engine.h"
#include "probed.h"
#include "resolver.h"
#include "scheduler.h"
#include "spoolq.h"
#include "statefile.h"
#include "writer.h"

#define LATE_RING	8192	/* lateness samples kept for percentiles */
#define HOST_BUCKETS	4096
#define NOT_QUEUED	((size_t)-1)
#define DNSCHANS_MAX	64	/* distinct servers asked by dns:// checks */
#define ARCHIVE_QUEUE	16384	/* samples waiting for the writer; then the
				   oldest is dropped (counted) */

/* A config and the probes still using it, so a reload never pulls
 * settings from under a check in flight. */
struct confref {
	struct conf	*conf;
	unsigned	 refs;
	struct confref	*next;
};

struct hostslot {
	char		*host;
	unsigned	 active;
	struct hostslot	*next;
};

struct dnschan_slot {
	char		*server;
	struct dnschan	*chan;
};

struct engine {
	struct event_base *base;
	struct confref	*cur;		/* current config */
	struct confref	*old;		/* retired, still referenced */
	struct target	**targets;
	size_t		 ntargets;
	struct sched	*sched;
	struct curlglue	*curl;
	struct resolver	*resolver;
	struct dnschan_slot dnschans[DNSCHANS_MAX];
	size_t		 ndnschans;
	struct spool	*spool;
	struct spoolq	*spoolq;
	struct writer	*writer;
	struct ctl	*ctl;
	struct hostslot	*hosts[HOST_BUCKETS];
	struct target	*pend_head, *pend_tail;
	uint64_t	 npending;
	uint64_t	 running;
	uint64_t	 checks;
	uint64_t	 events;
	int64_t		 late[LATE_RING];
	uint64_t	 nlate;
	int64_t		 started;	/* Unix s */
	struct statefile *statefile;
};

static void	 on_fire(struct target *, void *);
static void	 on_deadline(evutil_socket_t, short, void *);
static void	 on_resolved(void *, int, const struct sockaddr *, socklen_t,
		    const char *);
static void	 on_durable(void *, const struct spool_event *, void *);
static void	 on_curl_done(void *, CURL *, CURLcode);
static void	 start_probe(struct engine *, struct target *);
static void	 launch(struct probe *);
static void	 finish(struct probe *);
static void	 probe_stop(struct probe *);
static void	 reschedule(struct engine *, struct target *, int soft_fail);
static void	 run_pending(struct engine *);
static const struct check_ops *ops_for(enum check_kind);
static struct hostslot *host_slot(struct engine *, const char *);
static void	 target_free(struct target *);

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

/* The per-host counter of running checks; made on first use, kept. */
static struct hostslot *
host_slot(struct engine *e, const char *host)
{
	struct hostslot	*h;
	unsigned	 b;

	if (host == NULL)
		host = "";
	b = hash_str(host) % HOST_BUCKETS;
	for (h = e->hosts[b]; h != NULL; h = h->next)
		if (strcmp(h->host, host) == 0)
			return h;
	h = xcalloc(1, sizeof(*h));
	h->host = xstrdup(host);
	h->next = e->hosts[b];
	e->hosts[b] = h;
	return h;
}

static struct target *
target_new(const struct server_conf *sc)
{
	struct target *t;

	t = xcalloc(1, sizeof(*t));
	t->sc = sc;
	t->heap_idx = NOT_QUEUED;
	t->alive = 1;
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
	struct conf	*c = e->cur->conf;
	size_t		 i;

	e->targets = xcalloc(c->nservers, sizeof(*e->targets));
	for (i = 0; i < c->nservers; i++)
		e->targets[i] = target_new(c->servers[i]);
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
	e->cur = xcalloc(1, sizeof(*e->cur));
	e->cur->conf = conf;
	e->started = time(NULL);
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
	if (!conf->no_archives &&
	    (e->writer = writer_open(conf->state_dir, conf->rrdcached,
	    ARCHIVE_QUEUE)) == NULL)
		log_warnx("archives off: cannot start the writer");
	e->spoolq = spoolq_new(base, e->spool, on_durable, e);
	e->curl = curlglue_new(base, on_curl_done);
	e->sched = sched_new(base, on_fire, e);
	build_targets(e);
	if ((e->statefile = statefile_open(e, e->spoolq, conf->state_dir,
	    err)) == NULL)
		goto fail;
	statefile_load(e->statefile);
	schedule_initial(e);
	return e;
fail:
	spool_close(e->spool);
	free(e->cur);
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

int
engine_curl_add(struct engine *e, void *easy)
{
	return curlglue_add(e->curl, easy);
}

void
engine_curl_remove(struct engine *e, void *easy)
{
	curlglue_remove(e->curl, easy);
}

const struct conf *
engine_conf(struct engine *e)
{
	return e->cur->conf;
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

	if ((sc = conf_find_server(e->cur->conf, id)) == NULL)
		return NULL;
	return e->targets[sc->idx];
}

void
engine_check_now(struct engine *e, struct target *t)
{
	if (t->probe != NULL || t->pending)
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
	s->running = e->running;
	s->pending = e->npending;
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

/* The scheduler says t is due: start it, or queue it for a free slot. */
static void
on_fire(struct target *t, void *arg)
{
	struct engine	*e = arg;
	const struct conf *c = e->cur->conf;

	if (t->probe != NULL || t->pending)
		return;
	if ((c->max_concurrent > 0 && e->running >= c->max_concurrent) ||
	    (t->sc->o.max_per_host > 0 && t->sc->host != NULL &&
	    host_slot(e, t->sc->host)->active >= t->sc->o.max_per_host)) {
		t->pending = 1;
		t->pending_next = NULL;
		if (e->pend_tail != NULL)
			e->pend_tail->pending_next = t;
		else
			e->pend_head = t;
		e->pend_tail = t;
		e->npending++;
		return;
	}
	start_probe(e, t);
}

/*
 * Start what waits for a slot, in order. A target whose host is still
 * full is skipped for now; at most a bounded number are looked at per call.
 */
static void
run_pending(struct engine *e)
{
	const struct conf	*c = e->cur->conf;
	struct target		*t, *prev = NULL, *next;
	unsigned		 looked = 0;

	for (t = e->pend_head; t != NULL && looked < 256; t = next) {
		next = t->pending_next;
		looked++;
		if (c->max_concurrent > 0 && e->running >= c->max_concurrent)
			return;
		if (t->alive && t->sc->o.max_per_host > 0 &&
		    t->sc->host != NULL &&
		    host_slot(e, t->sc->host)->active >= t->sc->o.max_per_host) {
			prev = t;
			continue;
		}
		if (prev != NULL)
			prev->pending_next = next;
		else
			e->pend_head = next;
		if (e->pend_tail == t)
			e->pend_tail = prev;
		t->pending = 0;
		e->npending--;
		if (t->alive)
			start_probe(e, t);
		else
			target_free(t);
	}
}

static void
start_probe(struct engine *e, struct target *t)
{
	struct probe		*p;
	struct timeval		 tv;
	int64_t			 now = mono_us(), late;
	char			 err[128];
	struct resolve_req	*req;
	int			 r;

	late = now - t->due;
	if (!t->check_now && late >= 0) {
		e->late[e->nlate % LATE_RING] = late;
		e->nlate++;
	}
	t->check_now = 0;
	p = xcalloc(1, sizeof(*p));
	p->eng = e;
	p->t = t;
	p->sc = t->sc;
	p->ops = ops_for(t->sc->kind);
	p->start_mono = now;
	p->deadline_mono = now + (int64_t)t->sc->o.timeout * 1000;
	result_init(&p->r, now_us());
	t->probe = p;
	t->started_mono = now;
	p->cref = e->cur;
	e->cur->refs++;
	e->running++;
	if (t->sc->host != NULL)
		host_slot(e, t->sc->host)->active++;
	tv.tv_sec = t->sc->o.timeout / 1000;
	tv.tv_usec = (t->sc->o.timeout % 1000) * 1000;
	if ((p->timer = evtimer_new(e->base, on_deadline, p)) == NULL ||
	    evtimer_add(p->timer, &tv) == -1)
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

/* The address is known (or not needed): hand the probe to its kind. */
static void
launch(struct probe *p)
{
	const void *a;

	if (p->addrlen > 0) {
		if (p->addr.ss_family == AF_INET)
			a = &((struct sockaddr_in *)&p->addr)->sin_addr;
		else
			a = &((struct sockaddr_in6 *)&p->addr)->sin6_addr;
		inet_ntop(p->addr.ss_family, a, p->addrstr,
		    sizeof(p->addrstr));
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
 * lookup) and its deadline. The probe itself is the caller's to free. */
static void
probe_stop(struct probe *p)
{
	p->finished = 1;
	if (p->started)
		p->ops->release(p);
	else if (p->priv != NULL)
		resolver_cancel(p->priv);
	event_free(p->timer);
}

/* Called by a kind when its check is over; p is freed. */
void
probe_done(struct probe *p)
{
	finish(p);
}

static void
on_curl_done(void *priv, CURL *easy, CURLcode code)
{
	struct probe *p = priv;

	if (p == NULL || p->ops->curl_done == NULL) {
		/* Every handle we add carries its probe; never here. */
		log_warnx("curl: finished transfer with no check");
		return;
	}
	p->ops->curl_done(p, code);
}

/* Is a server this one depends on hard down? */
static int
unreachable(struct engine *e, const struct target *t)
{
	struct target	*d;
	size_t		 i;

	for (i = 0; i < t->sc->ndeps; i++)
		if ((d = engine_find(e, t->sc->deps[i]->id)) != NULL &&
		    d->st.hard == HSTATE_DOWN)
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

/*
 * End a probe: release the kind's state, count it, feed the state machine,
 * hand the result on, schedule the next run, start what waits.
 */
static void
finish(struct probe *p)
{
	struct engine		*e = p->eng;
	struct target		*t = p->t;
	struct state_change	 chg, *copy;
	struct spool_event	 ev;
	struct confref		*cr, **prevp;
	const struct conf	*c;
	int			 changed, soft_fail;

	if (p->finished)
		return;
	probe_stop(p);
	/* A ping with no reply has no latency; anything else took this. */
	if (p->r.total_us < 0 && p->sc->kind != KIND_PING)
		p->r.total_us = probe_elapsed_us(p);
	e->running--;
	e->checks++;
	if (t->sc->host != NULL)
		host_slot(e, t->sc->host)->active--;
	/* Drop the reference on the config the probe started under. */
	cr = p->cref;
	if (--cr->refs == 0 && cr != e->cur) {
		for (prevp = &e->old; *prevp != NULL; prevp = &(*prevp)->next)
			if (*prevp == cr) {
				*prevp = cr->next;
				break;
			}
		conf_free(cr->conf);
		free(cr);
	}
	t->probe = NULL;
	if (!t->alive) {
		result_release(&p->r);
		free(p);
		target_free(t);
		run_pending(e);
		return;
	}
	c = e->cur->conf;
	changed = state_update(&t->st, t->sc, &p->r, c->flap_low, c->flap_high,
	    time(NULL), &chg);
	statefile_touch(e->statefile);
	if (changed) {
		fill_event(e, &ev, t, &chg);
		copy = xmalloc(sizeof(*copy));
		*copy = chg;
		spoolq_event(e->spoolq, &ev, copy);
	}
	if (e->writer != NULL)
		writer_submit(e->writer, t->sc->id, t->sc->o.interval / 1000 ?
		    t->sc->o.interval / 1000 : 1, &p->r);
	if (e->ctl != NULL)
		ctl_publish_result(e->ctl, t, &p->r);
	if (p->r.total_us >= 0)
		log_debug("%s: %s %.1f ms: %s", t->sc->id,
		    check_status_str(p->r.status), p->r.total_us / 1000.0,
		    p->r.message);
	else
		log_debug("%s: %s - ms: %s", t->sc->id,
		    check_status_str(p->r.status), p->r.message);
	soft_fail = t->st.type == STATE_SOFT && t->st.state != HSTATE_UP;
	result_release(&p->r);
	free(p);
	reschedule(e, t, soft_fail);
	run_pending(e);
}

/* Next run: one interval after the planned start, or a retry interval
 * while a failure is soft; never in the past. */
static void
reschedule(struct engine *e, struct target *t, int soft_fail)
{
	int64_t now = mono_us(), step, due;

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
	struct confref	*cr;
	size_t		 i;
	int64_t		 now = mono_us();
	char		 sum[128];

	if ((nc = conf_load(e->cur->conf->path, errors)) == NULL)
		return -1;
	if (conf_host_check(nc, errors) == -1) {
		conf_free(nc);
		return -1;
	}
	if (nc->warnings != NULL)
		log_warnx("reload: %s", nc->warnings);
	statefile_abort(e->statefile);
	nt = xcalloc(nc->nservers, sizeof(*nt));
	for (i = 0; i < nc->nservers; i++) {
		if ((t = engine_find(e, nc->servers[i]->id)) != NULL) {
			t->sc = nc->servers[i];
			t->alive = 2;	/* kept */
		} else {
			t = target_new(nc->servers[i]);
			sched_set(e->sched, t, now + (int64_t)
			    t->sc->o.interval * 1000 * i / nc->nservers);
		}
		nt[i] = t;
	}
	for (i = 0; i < e->ntargets; i++) {
		t = e->targets[i];
		if (t->alive == 2) {
			t->alive = 1;
			continue;
		}
		t->alive = 0;
		sched_remove(e->sched, t);
		if (t->probe == NULL && !t->pending)
			target_free(t);
	}
	for (i = 0; i < nc->nservers; i++)
		nt[i]->alive = 1;
	free(e->targets);
	e->targets = nt;
	e->ntargets = nc->nservers;
	/* The old config lives on while probes still use it. */
	cr = e->cur;
	if (cr->refs == 0) {
		conf_free(cr->conf);
		free(cr);
	} else {
		cr->next = e->old;
		e->old = cr;
	}
	e->cur = xcalloc(1, sizeof(*e->cur));
	e->cur->conf = nc;
	conf_summary(nc, sum, sizeof(sum));
	log_info("reloaded %s: %s", nc->path, sum);
	statefile_touch(e->statefile);
	return 0;
}

/* Stop everything: checks in flight are dropped, state is written. */
void
engine_free(struct engine *e)
{
	struct confref	*cr;
	struct hostslot	*h, *hn;
	struct target	*t;
	size_t		 i;

	if (e == NULL)
		return;
	for (i = 0; i < e->ntargets; i++) {
		struct probe *p = e->targets[i]->probe;
		if (p == NULL)
			continue;
		probe_stop(p);
		result_release(&p->r);
		free(p);
		e->targets[i]->probe = NULL;
	}
	while ((t = e->pend_head) != NULL) {
		e->pend_head = t->pending_next;
		if (!t->alive)
			target_free(t);
	}
	statefile_flush(e->statefile);
	spoolq_free(e->spoolq);
	statefile_free(e->statefile);
	if (e->writer != NULL)
		writer_close(e->writer);
	sched_free(e->sched);
	curlglue_free(e->curl);
	curlopt_pool_free();
	resolver_free(e->resolver);
	for (i = 0; i < e->ndnschans; i++) {
		dnschan_free(e->dnschans[i].chan);
		free(e->dnschans[i].server);
	}
	spool_close(e->spool);
	for (i = 0; i < e->ntargets; i++)
		target_free(e->targets[i]);
	free(e->targets);
	while ((cr = e->old) != NULL) {
		e->old = cr->next;
		conf_free(cr->conf);
		free(cr);
	}
	conf_free(e->cur->conf);
	free(e->cur);
	for (i = 0; i < HOST_BUCKETS; i++)
		for (h = e->hosts[i]; h != NULL; h = hn) {
			hn = h->next;
			free(h->host);
			free(h);
		}
	free(e);
}
