/*
 * cluster_ctl.c: what people ask of one node (ack, downtime, drain and
 * their removal, through the control socket) shared with every node of
 * the cluster through the bucket tocsin_control, one key a thing:
 *   SKEY.ack      {"kind":"ack","server":ID,"comment":...}
 *   SKEY.drain    {"kind":"drain","server":ID}
 *   SKEY.dt.N     {"kind":"downtime","server":ID,"downtime":{...}}
 * (SKEY the server's key, N the downtime's number). A change on the node
 * is put (or deleted) there; every node watches the bucket, with its
 * values first, so one that starts or reconnects gets them all, and
 * applies each to its servers' state as the control socket would have.
 * A downtime's key goes once it ended (any node deletes it); an ack's
 * once the cluster's state of the server is up again. While its key is
 * there, the ack holds on every node, whatever that node's own check saw
 * yet (the cluster's problem is what was acknowledged).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "hash.h"
#include "jsontext.h"
#include "log.h"
#include "xmalloc.h"

#include "cluster_ctl.h"
#include "link.h"
#include "probed.h"
#include "quorum.h"
#include "store.h"
#include "watch.h"

/*
 * The puts and deletes waiting for the bucket are bounded by its keys,
 * not by a count: a key has one op waiting at most, and a later change
 * of it replaces that op's value (the bucket keeps only the last). So
 * none is ever dropped: a downtime of a farm of thousands of servers
 * reaches the bucket whole. The op on the link's thread is no longer
 * waiting: a change of its key meanwhile queues one more after it.
 */

enum ckind {
	CK_ACK,
	CK_DRAIN,
	CK_DOWNTIME,
};

/* One key of the bucket, as the watch gave it. */
struct centry {
	char		*id;		/* the server's */
	enum ckind	 kind;
	json_t		*v;		/* the value */
	unsigned	 dtid;		/* CK_DOWNTIME: its number */
	uint64_t	 rev;		/* the key's revision */
	int64_t		 until;		/* ... its end, Unix s */
	int		 stale;		/* not given again by a restarted
					   watch yet */
	int		 deleting;	/* a delete of it is queued */
};

/* A put (data set) or delete, for the link's thread. */
struct op {
	struct cluster_ctl *cc;
	char		 key[QUORUM_KEY_MAX + 32];
	char		*data;		/* NULL: delete */
	int		 ok;
	char		 err[256];
	struct op	*next;
};

struct cluster_ctl {
	struct engine	*eng;
	cluster_ctl_ended_fn *ended;	/* a downtime ended */
	void		*ended_arg;
	struct link	*link;		/* the cluster's */
	kvStore		*kv;		/* set by the set-up job */
	struct watch	*w;
	struct hash	*entries;	/* key -> struct centry */
	struct hash	*up;		/* ids the cluster has up -> cc */
	struct op	*ops, **ops_tail;	/* waiting for the bucket */
	struct hash	*waiting;	/* key -> its op in ops, not the
					   one running */
	int		 running;	/* an op is on the link's thread */
	int		 setting_up;
	int		 stopped;	/* the link closes: no more jobs */
	int		 ready;
	int		 synced;	/* the watch gave the whole bucket */
	int		 resync;	/* a restarted watch gives it again */
	unsigned	 generation;	/* the link's, when last watched */
	char		 setup_err[256];
};

static void	 on_entry(const struct watch_entry *, void *);
static void	 run_ops(struct cluster_ctl *);
static void	 apply_entry(struct cluster_ctl *, const struct centry *, int);
static void	 centry_free(void *);

static const char *const kind_name[] = {
	[CK_ACK] = "ack", [CK_DRAIN] = "drain", [CK_DOWNTIME] = "downtime",
};

/* The key of a server's kind (dtid: a downtime's number). */
static void
make_key(char *out, size_t len, const char *id, enum ckind k, unsigned dtid)
{
	char skey[QUORUM_KEY_MAX];

	quorum_key(id, skey, sizeof(skey));
	if (k == CK_DOWNTIME)
		snprintf(out, len, "%s.dt.%u", skey, dtid);
	else
		snprintf(out, len, "%s.%s", skey, kind_name[k]);
}

/* Queue a put (data, taken) or a delete (data NULL) of key; a change of
 * a key that waits replaces it, where it waits. */
static void
queue_op(struct cluster_ctl *cc, const char *key, char *data)
{
	struct op *op;

	if ((op = hash_get(cc->waiting, key)) != NULL) {
		free(op->data);
		op->data = data;
		run_ops(cc);
		return;
	}
	op = xcalloc(1, sizeof(*op));
	op->cc = cc;
	snprintf(op->key, sizeof(op->key), "%s", key);
	op->data = data;
	*cc->ops_tail = op;
	cc->ops_tail = &op->next;
	hash_put(cc->waiting, op->key, op);
	run_ops(cc);
}

/* Thread: one put or delete. */
static void
op_work(void *arg)
{
	struct op	*op = arg;
	uint64_t	 rev;
	natsStatus	 s;

	if (op->data != NULL)
		s = kvStore_PutString(&rev, op->cc->kv, op->key, op->data);
	else
		s = kvStore_Delete(op->cc->kv, op->key);
	op->ok = s == NATS_OK;
	if (!op->ok)
		snprintf(op->err, sizeof(op->err), "%s", link_error(s));
}

/* Loop: done, next; a failed one stays first, tried at the next tick. */
static void
op_done(void *arg)
{
	struct op		*op = arg;
	struct cluster_ctl	*cc = op->cc;

	cc->running = 0;
	if (!op->ok) {
		log_warnx("cluster: control %s: %s; trying again", op->key,
		    op->err);
		return;
	}
	log_debug("cluster: control %s %s", op->key, op->data != NULL ?
	    "put" : "deleted");
	if ((cc->ops = op->next) == NULL)
		cc->ops_tail = &cc->ops;
	free(op->data);
	free(op);
	run_ops(cc);
}

/* Hand the first op waiting to the link's thread, one at a time: it
 * waits no more (a failed one is tried again as it is, first). */
static void
run_ops(struct cluster_ctl *cc)
{
	if (!cc->ready || cc->stopped || cc->running || cc->ops == NULL)
		return;
	if (hash_get(cc->waiting, cc->ops->key) == cc->ops)
		hash_remove(cc->waiting, cc->ops->key);
	cc->running = 1;
	link_job(cc->link, op_work, op_done, cc->ops);
}

/* Queue the delete of an entry's key, once. */
static void
delete_entry(struct cluster_ctl *cc, const char *key, struct centry *ce)
{
	if (ce->deleting)
		return;
	ce->deleting = 1;
	queue_op(cc, key, NULL);
}

/* The value node puts for a server's kind (d: the downtime, for one). */
static char *
value_json(const char *node, const char *id, enum ckind k,
    const char *comment, const struct downtime *d)
{
	json_t	*o;
	char	*s;

	if ((o = json_object()) == NULL ||
	    jsontext_set(o, "kind", json_string(kind_name[k])) == -1 ||
	    jsontext_set(o, "server", jsontext(id)) == -1 ||
	    jsontext_set(o, "node", jsontext(node)) == -1 ||
	    jsontext_set(o, "time", json_integer(time(NULL))) == -1 ||
	    (comment != NULL && jsontext_set(o, "comment",
	    jsontext(comment)) == -1) ||
	    (d != NULL && jsontext_set(o, "downtime",
	    state_downtime_json(d)) == -1) ||
	    (s = json_dumps(o, JSONTEXT_DUMP_FLAGS)) == NULL)
		fatalx("cluster: control json");
	json_decref(o);
	return s;
}

struct dt_scan {
	struct cluster_ctl *cc;
	const struct target *t;
};

/* hash_each: a downtime of scan->t in the bucket that t no longer has
 * was cancelled here: its key goes. */
static void
drop_cancelled(const char *key, void *value, void *arg)
{
	struct dt_scan	*scan = arg;
	struct centry	*ce = value;
	const struct state *st = &scan->t->st;
	unsigned	 i;

	if (ce->kind != CK_DOWNTIME || strcmp(ce->id, scan->t->sc->id) != 0)
		return;
	for (i = 0; i < st->ndowntimes; i++)
		if (st->downtimes[i].id == ce->dtid)
			return;
	delete_entry(scan->cc, key, ce);
}

/* t's downtimes to the bucket: those it has that the bucket has not are
 * put, those the bucket has that it has not are deleted. */
static void
share_downtimes(struct cluster_ctl *cc, const struct target *t)
{
	struct dt_scan	 scan = { cc, t };
	struct centry	*ce;
	const struct downtime *d;
	char		 key[QUORUM_KEY_MAX + 32];
	unsigned	 i;

	for (i = 0; i < t->st.ndowntimes; i++) {
		d = &t->st.downtimes[i];
		make_key(key, sizeof(key), t->sc->id, CK_DOWNTIME, d->id);
		if ((ce = hash_get(cc->entries, key)) != NULL &&
		    !ce->deleting && ce->until == d->until)
			continue;
		queue_op(cc, key, value_json(link_node(cc->link), t->sc->id,
		    CK_DOWNTIME, NULL, d));
	}
	hash_each(cc->entries, drop_cancelled, &scan);
}

/*
 * A person changed the n servers ts on this node (what: "ack",
 * "downtime", "drain" or "enable", as the control socket says): the
 * change goes to the bucket, so every node has it. cc NULL: not in
 * cluster mode.
 */
void
cluster_ctl_changed(struct cluster_ctl *cc, struct target *const *ts,
    size_t n, const char *what)
{
	const struct target *t;
	const char	*me;
	char		 key[QUORUM_KEY_MAX + 32];
	size_t		 i;

	if (cc == NULL)
		return;
	me = link_node(cc->link);
	for (i = 0; i < n; i++) {
		t = ts[i];
		if (strcmp(what, "ack") == 0 && t->st.acked) {
			make_key(key, sizeof(key), t->sc->id, CK_ACK, 0);
			queue_op(cc, key, value_json(me, t->sc->id, CK_ACK,
			    t->st.ack_comment != NULL ? t->st.ack_comment : "",
			    NULL));
		} else if (strcmp(what, "drain") == 0) {
			make_key(key, sizeof(key), t->sc->id, CK_DRAIN, 0);
			queue_op(cc, key, value_json(me, t->sc->id, CK_DRAIN,
			    NULL, NULL));
		} else if (strcmp(what, "enable") == 0) {
			make_key(key, sizeof(key), t->sc->id, CK_DRAIN, 0);
			queue_op(cc, key, NULL);
		} else if (strcmp(what, "downtime") == 0)
			share_downtimes(cc, t);
	}
}

/*
 * The cluster's state of server id, as this node's watch has it (up or
 * not). Up: its ack, a person's word on a problem that ended, goes from
 * the bucket (every node that sees it asks; the deletes are alike), so
 * it never silences the next problem.
 */
void
cluster_ctl_state(struct cluster_ctl *cc, const char *id, int up)
{
	struct centry	*ce;
	char		 key[QUORUM_KEY_MAX + 32];

	if (cc == NULL)
		return;
	if (!up) {
		hash_remove(cc->up, id);
		return;
	}
	hash_put(cc->up, id, cc);
	make_key(key, sizeof(key), id, CK_ACK, 0);
	if ((ce = hash_get(cc->entries, key)) != NULL)
		delete_entry(cc, key, ce);
}

/*
 * t's own hard state changed on this node: the cluster's ack of it, if
 * its key is there, holds still (state.c forgets an ack when the server
 * comes back here, while the cluster may have it down yet).
 */
void
cluster_ctl_local(struct cluster_ctl *cc, struct target *t)
{
	struct centry	*ce;
	char		 key[QUORUM_KEY_MAX + 32];

	if (cc == NULL || t->st.acked)
		return;
	make_key(key, sizeof(key), t->sc->id, CK_ACK, 0);
	if ((ce = hash_get(cc->entries, key)) != NULL && !ce->deleting)
		apply_entry(cc, ce, 0);
}

/*
 * What the cluster says of server id at now (Unix s), for its events:
 * *acked when a person acknowledged its problem (its key is in the
 * bucket), *downtime when a downtime of it runs (the bucket's are the
 * server's here).
 */
void
cluster_ctl_flags(struct cluster_ctl *cc, const char *id, int64_t now,
    int *acked, int *downtime)
{
	struct centry	*ce;
	struct target	*t;
	char		 key[QUORUM_KEY_MAX + 32];

	*acked = *downtime = 0;
	if (cc == NULL)
		return;
	make_key(key, sizeof(key), id, CK_ACK, 0);
	*acked = (ce = hash_get(cc->entries, key)) != NULL && !ce->deleting;
	*downtime = (t = engine_find(cc->eng, id)) != NULL &&
	    state_in_downtime(&t->st, now);
}

/*
 * Apply an entry to its server's state here, as the control socket would
 * (gone: the key was deleted). 1 when the state changed.
 */
static int
apply(struct target *t, const struct centry *ce, int gone)
{
	struct downtime	 d;
	json_t		*o;
	const char	*s;
	int		 was;

	switch (ce->kind) {
	case CK_ACK:
		was = t->st.acked;
		if (gone) {
			t->st.acked = 0;
			state_set_text(&t->st.ack_comment, NULL, 0);
			return was;
		}
		/* not state_ack: this node may not have seen the problem
		 * yet, and its ack would be refused for good */
		s = json_string_value(json_object_get(ce->v, "comment"));
		t->st.acked = 1;
		state_set_text(&t->st.ack_comment, s != NULL ? s : "",
		    STATE_COMMENT_MAX);
		return !was;
	case CK_DRAIN:
		was = t->st.drained;
		if (gone)
			state_enable(&t->st);
		else
			state_drain(&t->st);
		return was != t->st.drained;
	case CK_DOWNTIME:
		was = state_downtime_cancel(&t->st, ce->dtid);
		if (gone)
			return was;
		o = json_object_get(ce->v, "downtime");
		memset(&d, 0, sizeof(d));
		d.id = ce->dtid;
		d.from = json_integer_value(json_object_get(o, "from"));
		d.until = ce->until;
		d.uid = json_is_integer(json_object_get(o, "uid")) ?
		    (long)json_integer_value(json_object_get(o, "uid")) : -1;
		d.scope = (char *)json_string_value(json_object_get(o,
		    "farm"));
		d.comment = (char *)json_string_value(json_object_get(o,
		    "comment"));
		return state_downtime_add(&t->st, &d) == 0 && !was;
	}
	return 0;
}

/* Apply ce to its server, if this node has it; tell who watches, and
 * the cluster when a downtime ended. */
static void
apply_entry(struct cluster_ctl *cc, const struct centry *ce, int gone)
{
	struct target	*t;
	int		 changed;

	if ((t = engine_find(cc->eng, ce->id)) == NULL ||
	    t->life == TARGET_REMOVED)
		return;
	changed = apply(t, ce, gone);
	if (gone && ce->kind == CK_DOWNTIME)
		cc->ended(cc->ended_arg, ce->id, ce->rev);
	if (!changed)
		return;
	log_info("cluster: %s %s%s from the cluster", ce->id,
	    kind_name[ce->kind], gone ? " removed" : "");
	engine_person_changed(cc->eng, t, ce->kind == CK_DRAIN ? (gone ?
	    "enable" : "drain") : kind_name[ce->kind]);
}

/* A value read: the entry it makes, or NULL when it is not one. */
static struct centry *
centry_parse(const struct watch_entry *e)
{
	struct centry	*ce;
	json_t		*o, *d;
	const char	*kind, *id;

	if ((o = json_loads(e->value, 0, NULL)) == NULL)
		return NULL;
	kind = json_string_value(json_object_get(o, "kind"));
	id = json_string_value(json_object_get(o, "server"));
	if (kind == NULL || id == NULL) {
		json_decref(o);
		return NULL;
	}
	ce = xcalloc(1, sizeof(*ce));
	ce->v = o;
	ce->rev = e->rev;
	ce->id = xstrdup(id);
	if (strcmp(kind, "ack") == 0)
		ce->kind = CK_ACK;
	else if (strcmp(kind, "drain") == 0)
		ce->kind = CK_DRAIN;
	else if (strcmp(kind, "downtime") == 0 &&
	    json_is_object(d = json_object_get(o, "downtime")) &&
	    json_integer_value(json_object_get(d, "id")) > 0 &&
	    json_integer_value(json_object_get(d, "until")) >
	    json_integer_value(json_object_get(d, "from"))) {
		ce->kind = CK_DOWNTIME;
		ce->dtid = (unsigned)json_integer_value(json_object_get(d,
		    "id"));
		ce->until = json_integer_value(json_object_get(d, "until"));
	} else {
		centry_free(ce);
		return NULL;
	}
	return ce;
}

static void
centry_free(void *arg)
{
	struct centry *ce = arg;

	json_decref(ce->v);
	free(ce->id);
	free(ce);
}

/* hash_each: mark every entry until a restarted watch gives it again. */
static void
mark_stale(const char *key, void *value, void *arg)
{
	struct centry *ce = value;

	(void)key;
	(void)arg;
	ce->stale = 1;
}

struct sweep {
	char		**keys;
	size_t		 n;
};

/* hash_each: the keys still stale once the watch gave the bucket. */
static void
take_stale(const char *key, void *value, void *arg)
{
	struct sweep	*sw = arg;
	struct centry	*ce = value;

	if (ce->stale)
		sw->keys[sw->n++] = xstrdup(key);
}

/* The watch gave the whole bucket again: what it did not give went
 * meanwhile. */
static void
sweep(struct cluster_ctl *cc)
{
	struct sweep	 sw = { NULL, 0 };
	struct centry	*ce;
	size_t		 i;

	sw.keys = xcalloc(hash_count(cc->entries) + 1, sizeof(*sw.keys));
	hash_each(cc->entries, take_stale, &sw);
	for (i = 0; i < sw.n; i++) {
		ce = hash_remove(cc->entries, sw.keys[i]);
		apply_entry(cc, ce, 1);
		centry_free(ce);
		free(sw.keys[i]);
	}
	free(sw.keys);
}

/*
 * An ack this node put for a server the cluster has up (the person saw
 * this node's own state, down): nothing of the cluster's to acknowledge,
 * and it would silence the next problem. Only its node judges, on the
 * view the person had.
 */
static int
stale_ack(struct cluster_ctl *cc, const struct centry *ce)
{
	const char *node = json_string_value(json_object_get(ce->v, "node"));

	return node != NULL && strcmp(node, link_node(cc->link)) == 0 &&
	    hash_get(cc->up, ce->id) != NULL;
}

/* The watch of tocsin_control: a key came, changed or went. */
static void
on_entry(const struct watch_entry *e, void *arg)
{
	struct cluster_ctl	*cc = arg;
	struct centry		*ce, *old;

	if (e->key == NULL) {
		/* a restarted watch that gave nothing: the bucket is empty */
		if (e->initial && cc->synced && !cc->resync)
			hash_each(cc->entries, mark_stale, NULL);
		if (e->initial && cc->synced)
			sweep(cc);
		if (!cc->synced)
			log_info("cluster: control read (%zu keys)",
			    hash_count(cc->entries));
		cc->synced = 1;
		cc->resync = 0;
		return;
	}
	if (e->initial && cc->synced && !cc->resync) {
		cc->resync = 1;
		hash_each(cc->entries, mark_stale, NULL);
	}
	old = hash_remove(cc->entries, e->key);
	if (e->deleted) {
		if (old != NULL) {
			apply_entry(cc, old, 1);
			centry_free(old);
		}
		return;
	}
	if ((ce = centry_parse(e)) == NULL) {
		if (old != NULL)
			centry_free(old);
		return;
	}
	if (old != NULL && old->kind == CK_DOWNTIME && (ce->kind !=
	    CK_DOWNTIME || strcmp(old->id, ce->id) != 0))
		apply_entry(cc, old, 1);
	if (old != NULL)
		centry_free(old);
	hash_put(cc->entries, e->key, ce);
	if (ce->kind == CK_DOWNTIME && ce->until <= time(NULL))
		delete_entry(cc, e->key, ce);
	else if (ce->kind == CK_ACK && stale_ack(cc, ce))
		delete_entry(cc, e->key, ce);
	else
		apply_entry(cc, ce, 0);
}

struct expire {
	struct cluster_ctl *cc;
	int64_t		 now;
};

/* hash_each: a downtime that ended leaves the bucket. */
static void
expire_one(const char *key, void *value, void *arg)
{
	struct expire	*ex = arg;
	struct centry	*ce = value;

	if (ce->kind == CK_DOWNTIME && ce->until <= ex->now)
		delete_entry(ex->cc, key, ce);
}

/* Thread: make (or find) the bucket. */
static void
setup_work(void *arg)
{
	struct cluster_ctl *cc = arg;

	cc->setup_err[0] = '\0';
	if (store_bucket(link_js(cc->link), QUORUM_CONTROL,
	    link_replicas(cc->link), 1, &cc->kv, cc->setup_err,
	    sizeof(cc->setup_err)) == -1)
		cc->kv = NULL;
}

/* Loop: watch it, and send what waits; or try again at the next tick. */
static void
setup_done(void *arg)
{
	struct cluster_ctl *cc = arg;

	cc->setting_up = 0;
	if (cc->stopped)
		return;		/* the bucket, if made, goes at the free */
	if (cc->kv == NULL) {
		log_warnx("cluster: %s; trying again", cc->setup_err);
		return;
	}
	cc->ready = 1;
	cc->generation = link_generation(cc->link);
	log_info("cluster: bucket %s ready", QUORUM_CONTROL);
	cc->w = watch_new(engine_base(cc->eng), cc->kv, on_entry, cc);
	run_ops(cc);
}

/* Every tick of the cluster: set up, watch again after a reconnect, try
 * a failed put again, let ended downtimes go. */
void
cluster_ctl_tick(struct cluster_ctl *cc)
{
	struct expire ex = { cc, time(NULL) };

	if (cc == NULL || cc->stopped)
		return;
	if (!cc->ready) {
		if (!cc->setting_up) {
			cc->setting_up = 1;
			link_job(cc->link, setup_work, setup_done, cc);
		}
		return;
	}
	if (link_generation(cc->link) != cc->generation) {
		cc->generation = link_generation(cc->link);
		watch_restart(cc->w);
	}
	run_ops(cc);
	if (cc->synced)
		hash_each(cc->entries, expire_one, &ex);
}

/* Share people's changes of eng's servers over link (the cluster's, which
 * outlives it up to cluster_ctl_stop); ended(arg, ...) hears of each
 * downtime that ends (expired or cancelled) after its server's state
 * here lost it. */
struct cluster_ctl *
cluster_ctl_new(struct engine *eng, struct link *link,
    cluster_ctl_ended_fn *ended, void *arg)
{
	struct cluster_ctl *cc;

	cc = xcalloc(1, sizeof(*cc));
	cc->eng = eng;
	cc->ended = ended;
	cc->ended_arg = arg;
	cc->link = link;
	cc->entries = hash_new();
	cc->up = hash_new();
	cc->waiting = hash_new();
	cc->ops_tail = &cc->ops;
	return cc;
}

/* Before link_close: nothing more goes to the link's thread. */
void
cluster_ctl_stop(struct cluster_ctl *cc)
{
	if (cc == NULL)
		return;
	cc->stopped = 1;
}

/* After link_close (the jobs' ends ran), before link_free. */
void
cluster_ctl_free(struct cluster_ctl *cc)
{
	struct op *op;

	if (cc == NULL)
		return;
	watch_free(cc->w);
	kvStore_Destroy(cc->kv);
	while ((op = cc->ops) != NULL) {
		cc->ops = op->next;
		free(op->data);
		free(op);
	}
	hash_free(cc->entries, centry_free);
	hash_free(cc->up, NULL);
	hash_free(cc->waiting, NULL);
	free(cc);
}
