/*
 * cluster.c: tocsin-probed's part of cluster mode. The node joins the
 * NATS JetStream cluster that `set cluster` names as `set node`, and:
 *  - puts its verdict of each server (its hard state, latency, message)
 *    in the bucket tocsin_verdicts under SKEY.NODE, whenever the hard
 *    state changes (and after its first check since it started: a state
 *    restored from the state file is no verdict);
 *  - puts its heartbeat in the bucket tocsin_nodes under NODE every
 *    QUORUM_BEAT seconds: a node whose heartbeat is older than
 *    QUORUM_NODE_MAX_AGE is dead, and its verdicts stop counting. The
 *    first goes once the verdicts it left before it started are deleted
 *    (clear_stale), which would count again with it;
 *  - watches that bucket: a server's cluster-level state is the state
 *    that `set quorum` nodes (default a majority of the live nodes with
 *    a verdict of it) agree on (quorum.c), so every node computes the
 *    same;
 *  - keeps that state in the bucket tocsin_states under SKEY, moved only
 *    by compare-and-set on its revision, so one node wins each change;
 *  - watches tocsin_states: each change it sees live is published to the
 *    stream TOCSIN_EVENTS with Nats-Msg-Id SKEY:REVISION, the revision
 *    the change replaced. Every node publishes it; the stream keeps it
 *    once. A node that won the change and died before publishing is
 *    covered by the others.
 * A change's record says `unreachable` when a server it depends on is
 * down for the cluster (evaluate, parent_down), `flapping` when a quorum
 * of the live verdicts flap. A child still down when its parents are up
 * again gets one more record; a downtime's end while the server is still
 * down, one more event (on_dtend).
 * People's acks, downtimes and drains go through the bucket
 * tocsin_control (cluster_ctl.c), ticked from here.
 * JetStream calls block, so they run as link jobs; their ends and the
 * watches' changes come back to the loop, where all state here lives.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <jansson.h>

#include "conf.h"
#include "hash.h"
#include "jsontext.h"
#include "log.h"
#include "util.h"
#include "xmalloc.h"

#include "cluster.h"
#include "cluster_ctl.h"
#include "link.h"
#include "probed.h"
#include "quorum.h"
#include "store.h"
#include "watch.h"

#define NODES_MAX	32	/* verdicts kept a server */
#define TICK_MS		(QUORUM_BEAT * 1000)	/* set-up retried,
				   heartbeat, verdicts, changes and events
				   that failed tried again */
#define PUBQ_MAX	16	/* states waiting to be published, a server */
#define PUBLISH_MAX_AGE	300	/* seconds: an older state is not
				   published (the stream's dedup window
				   is 10 minutes) */

struct vote {
	char		 node[64];
	int		 state;		/* enum hstate; 0 = none */
	json_t		*v;		/* the node's verdict, as put */
};

/* What this node knows of one server in the cluster. */
struct cserver {
	char		*id;
	char		 skey[QUORUM_KEY_MAX];
	struct vote	 votes[NODES_MAX];
	size_t		 nvotes;
	int		 cstate;	/* cluster-level enum hstate */
	int		 unreach;	/* ... its record says unreachable */
	int		 held;		/* ... not up, by a change made in a
					   downtime: paged at its end */
	char		*message;	/* ... its message */
	uint64_t	 dtend_rev;	/* crev when its downtime's end was
					   published; 0 none */
	uint64_t	 crev;		/* its revision; 0 = none yet */
	int		 cas;		/* a change is being written */
	int		 want;		/* this node's verdict to put */
	int		 sent;		/* ... and the one put; 0 none */
	int		 putting;
	int		 mine;		/* this node watches it (set shard) */
	int		 take;		/* ... newly: its verdict is put after
					   its next check */
	int		 dropping;	/* the verdict is being deleted */
	struct {
		char	*data;		/* a state's record to publish */
		uint64_t rev;		/* its revision */
		uint64_t from;		/* the revision it replaced: its
					   event's id */
	}		 pubq[PUBQ_MAX];	/* oldest first */
	size_t		 npub;
	uint64_t	 pub_rev;	/* the newest queued or published */
	int		 publishing;
};

/* A node's last heartbeat, as the watch of tocsin_nodes gave it. */
struct beat {
	char		 node[64];
	int64_t		 time;
};

struct cluster {
	struct engine	*eng;
	struct link	*link;
	struct event	*tick;
	kvStore		*verdicts;	/* set by the set-up job */
	kvStore		*states;
	kvStore		*nodes;
	struct watch	*wv, *ws, *wn;
	struct beat	 beats[NODES_MAX];
	size_t		 nbeats;
	int		 setting_up;
	int		 ready;		/* buckets and stream are there */
	int		 v_synced;	/* the watches gave the whole bucket */
	int		 s_synced;
	int		 n_synced;
	int		 clearing;	/* stale verdicts of ours being deleted
					   (-1: not looked for yet): no
					   heartbeat meanwhile */
	unsigned	 generation;	/* the link's, when last watched */
	struct hash	*servers;	/* id -> struct cserver */
	struct hash	*byskey;	/* its skey -> the same */
	struct cluster_ctl *ctl;	/* people's changes, shared */
};

/* A set-up, a put, a change or a publish, for the link's thread. */
struct job {
	struct cluster	*cl;
	char		 skey[QUORUM_KEY_MAX];
	char		 key[QUORUM_KEY_MAX + 80];
	char		*data;
	uint64_t	 rev;
	uint64_t	 from;		/* the event's id: see publish_later */
	int		 state;
	int		 ok;
	int		 dup;
	char		 err[256];
};

static const int severity[QUORUM_STATES_MAX] = {
	[HSTATE_UNKNOWN] = 0, [HSTATE_UP] = 1, [HSTATE_DEGRADED] = 2,
	[HSTATE_UNKNOWN_STATUS] = 3, [HSTATE_DOWN] = 4,
};

static void	 on_tick(evutil_socket_t, short, void *);
static void	 on_verdict(const struct watch_entry *, void *);
static void	 on_state(const struct watch_entry *, void *);
static void	 evaluate(struct cluster *, struct cserver *);
static int	 decided(struct cluster *, struct cserver *);
static int	 parent_down(struct cluster *, const struct cserver *);
static void	 evaluate_children(struct cluster *, const struct cserver *);
static void	 put_verdict(struct cluster *, struct cserver *);
static void	 publish(struct cluster *, struct cserver *);
static void	 on_beat(const struct watch_entry *, void *);
static void	 on_dtend(void *, const char *, uint64_t);
static void	 heartbeat(struct cluster *);
static void	 clear_stale(struct cluster *);
static int	 has_vote(const struct cserver *, const char *);

static struct cserver *
cserver_get(struct cluster *cl, const char *id)
{
	struct cserver *cs;

	if ((cs = hash_get(cl->servers, id)) != NULL)
		return cs;
	cs = xcalloc(1, sizeof(*cs));
	cs->id = xstrdup(id);
	quorum_key(id, cs->skey, sizeof(cs->skey));
	hash_put(cl->servers, cs->id, cs);
	hash_put(cl->byskey, cs->skey, cs);
	return cs;
}

static void
cserver_free(void *arg)
{
	struct cserver	*cs = arg;
	size_t		 i;

	for (i = 0; i < cs->nvotes; i++)
		json_decref(cs->votes[i].v);
	while (cs->npub > 0)
		free(cs->pubq[--cs->npub].data);
	free(cs->message);
	free(cs->id);
	free(cs);
}

static struct job *
job_new(struct cluster *cl)
{
	struct job *j;

	j = xcalloc(1, sizeof(*j));
	j->cl = cl;
	return j;
}

static void
job_free(struct job *j)
{
	free(j->data);
	free(j);
}

/* Thread: make (or find) the buckets and the stream. */
static void
setup_work(void *arg)
{
	struct job	*j = arg;
	struct cluster	*cl = j->cl;
	jsCtx		*js = link_js(cl->link);
	int		 r = link_replicas(cl->link);

	j->ok = store_bucket(js, QUORUM_VERDICTS, r, 1, &cl->verdicts, j->err,
	    sizeof(j->err)) == 0 &&
	    store_bucket(js, QUORUM_STATES, r, 1, &cl->states, j->err,
	    sizeof(j->err)) == 0 &&
	    store_bucket(js, QUORUM_NODES, r, 1, &cl->nodes, j->err,
	    sizeof(j->err)) == 0 &&
	    store_stream(js, r, j->err, sizeof(j->err)) == 0;
}

/*
 * Has t a hard state of its own checks since this node started? One
 * restored from the state file is no verdict: put again as a fresh one
 * (a new time, no message) it made a change the cluster had left, and
 * paged it. A check held for its parent's (parked) is not concluded yet.
 */
static int
checked(const struct target *t)
{
	return t->done_mono != 0 && t->parked == NULL;
}

/* Loop: set up, so watch; or try again at the next tick. */
static void
setup_done(void *arg)
{
	struct job	*j = arg;
	struct cluster	*cl = j->cl;
	struct target	*t;
	size_t		 i;

	cl->setting_up = 0;
	if (!j->ok) {
		log_warnx("cluster: %s; trying again", j->err);
		kvStore_Destroy(cl->verdicts);
		kvStore_Destroy(cl->states);
		kvStore_Destroy(cl->nodes);
		cl->verdicts = cl->states = cl->nodes = NULL;
		job_free(j);
		return;
	}
	job_free(j);
	cl->ready = 1;
	log_info("cluster: buckets %s, %s, %s and stream %s ready",
	    QUORUM_VERDICTS, QUORUM_STATES, QUORUM_NODES, QUORUM_STREAM);
	cl->generation = link_generation(cl->link);
	cl->wv = watch_new(engine_base(cl->eng), cl->verdicts, on_verdict, cl);
	cl->ws = watch_new(engine_base(cl->eng), cl->states, on_state, cl);
	cl->wn = watch_new(engine_base(cl->eng), cl->nodes, on_beat, cl);
	heartbeat(cl);
	for (i = 0; (t = engine_target(cl->eng, i)) != NULL; i++)
		if (checked(t))
			cluster_verdict(cl, t);
}

/* Thread: put one verdict (arg: a struct put_job, its job first). */
static void
put_work(void *arg)
{
	struct job	*j = arg;
	uint64_t	 rev;
	natsStatus	 s;

	if (j->cl->verdicts == NULL)
		return;
	s = kvStore_PutString(&rev, j->cl->verdicts, j->key, j->data);
	j->ok = s == NATS_OK;
	if (!j->ok)
		snprintf(j->err, sizeof(j->err), "%s", link_error(s));
}

/*
 * The node's verdict of t for the cluster (its hard state changed, or
 * the cluster link is new): put once set up; a failed put is tried again
 * at the next tick.
 */
void
cluster_verdict(struct cluster *cl, const struct target *t)
{
	struct cserver *cs;

	if (cl == NULL || t->st.hard == HSTATE_UNKNOWN)
		return;
	if (!quorum_named(link_node(cl->link), t->sc->o.vantage,
	    t->sc->o.nvantage))
		return;		/* not a vantage point of t */
	cs = cserver_get(cl, t->sc->id);
	if (engine_conf(cl->eng)->shard && !cs->mine)
		return;
	cs->want = t->st.hard;
	cs->sent = 0;
	if (cl->ready)
		put_verdict(cl, cs);
}

/* The verdict JSON of t by this node. */
static char *
verdict_json(struct cluster *cl, const struct target *t)
{
	json_t	*o;
	char	*s;

	o = json_pack("{s:s, s:s, s:s, s:i, s:I, s:s, s:b}",
	    "server", t->sc->id, "node", link_node(cl->link),
	    "state", hstate_str(t->st.hard), "code", (int)t->st.hard,
	    "time", (json_int_t)time(NULL),
	    "message", t->st.message != NULL ? t->st.message : "",
	    "flapping", t->st.flapping);
	if (o == NULL)
		fatalx("cluster: json_pack");
	if (t->st.last_latency_us >= 0)
		json_object_set_new(o, "latency_ms",
		    json_real(t->st.last_latency_us / 1000.0));
	s = json_dumps(o, JSONTEXT_DUMP_FLAGS);
	json_decref(o);
	if (s == NULL)
		fatalx("cluster: json_dumps");
	return s;
}

struct put_job {
	struct job	 j;
	struct cserver	*cs;
};

static void
put_verdict_done(void *arg)
{
	struct put_job	*pj = arg;

	pj->cs->putting = 0;
	if (pj->j.ok)
		pj->cs->sent = pj->j.state;
	else
		log_warnx("cluster: verdict of %s: %s", pj->cs->id,
		    pj->j.err);
	free(pj->j.data);
	free(pj);
}

/* Put cs's verdict unless a put is under way (its end tries again). */
static void
put_verdict(struct cluster *cl, struct cserver *cs)
{
	struct put_job	*pj;
	struct target	*t;

	if (cs->putting || cs->sent == cs->want ||
	    (t = engine_find(cl->eng, cs->id)) == NULL)
		return;
	pj = xcalloc(1, sizeof(*pj));
	pj->cs = cs;
	pj->j.cl = cl;
	pj->j.state = cs->want;
	snprintf(pj->j.key, sizeof(pj->j.key), "%s.%s", cs->skey,
	    link_node(cl->link));
	pj->j.data = verdict_json(cl, t);
	cs->putting = 1;
	link_job(cl->link, put_work, put_verdict_done, pj);
}

/*
 * Put this node's heartbeat: published from the loop without waiting for
 * the ack, so it never waits behind the link's thread (behind thousands
 * of verdicts a node looked dead). A lost one is made up 2 s later.
 */
static void
heartbeat(struct cluster *cl)
{
	json_t	*o;
	char	*data, subject[128];

	if (cl->clearing != 0)
		return;		/* see clear_stale */
	snprintf(subject, sizeof(subject), "$KV.%s.%s", QUORUM_NODES,
	    link_node(cl->link));
	if ((o = json_pack("{s:s, s:I}", "node", link_node(cl->link), "time",
	    (json_int_t)time(NULL))) == NULL ||
	    (data = json_dumps(o, JSONTEXT_DUMP_FLAGS)) == NULL)
		fatalx("cluster: heartbeat json");
	json_decref(o);
	if (link_publish(cl->link, subject, data) == -1)
		log_warnx("cluster: heartbeat not sent");
	free(data);
}

/* The watch of tocsin_nodes: a node's heartbeat. */
static void
on_beat(const struct watch_entry *e, void *arg)
{
	struct cluster	*cl = arg;
	json_t		*o;
	const char	*node;
	size_t		 i;

	if (e->key == NULL) {
		if (!cl->n_synced)
			log_info("cluster: heartbeats read");
		cl->n_synced = 1;
		return;
	}
	if (e->deleted || (o = json_loads(e->value, 0, NULL)) == NULL)
		return;
	node = json_string_value(json_object_get(o, "node"));
	if (node == NULL || strlen(node) >= sizeof(cl->beats[0].node)) {
		json_decref(o);
		return;
	}
	for (i = 0; i < cl->nbeats; i++)
		if (strcmp(cl->beats[i].node, node) == 0)
			break;
	if (i == cl->nbeats) {
		if (cl->nbeats == NODES_MAX) {
			json_decref(o);
			return;
		}
		snprintf(cl->beats[cl->nbeats++].node,
		    sizeof(cl->beats[0].node), "%s", node);
	}
	cl->beats[i].time = json_integer_value(json_object_get(o, "time"));
	json_decref(o);
}

/* Is node alive, as this node's watch of the heartbeats has it? */
static int
node_alive(const struct cluster *cl, const char *node)
{
	size_t i;

	for (i = 0; i < cl->nbeats; i++)
		if (strcmp(cl->beats[i].node, node) == 0)
			return quorum_alive(cl->beats[i].time, time(NULL));
	return 0;
}

/* The live nodes, as this node's watch of the heartbeats has them: their
 * names in out (pointers into cl), how many. */
static size_t
live_nodes(const struct cluster *cl, const char **out)
{
	int64_t	 now = time(NULL);
	size_t	 i, n = 0;

	for (i = 0; i < cl->nbeats; i++)
		if (quorum_alive(cl->beats[i].time, now))
			out[n++] = cl->beats[i].node;
	return n;
}

/* cs's options in the running config (NULL: a server it no longer
 * has). */
static const struct options *
cs_options(const struct cluster *cl, const struct cserver *cs)
{
	const struct server_conf *sc;

	sc = conf_find_server(engine_conf(cl->eng), cs->id);
	return sc != NULL ? &sc->o : NULL;
}

/* cs's quorum: set quorum, or a majority of its vantage nodes, or 0. */
static unsigned long
cs_quorum(const struct cluster *cl, const struct cserver *cs)
{
	const struct options *o = cs_options(cl, cs);

	return quorum_vantage(engine_conf(cl->eng)->quorum, o != NULL ?
	    o->nvantage : 0);
}

/*
 * Does node watch cs? Those its `vantage` names (every node without
 * it); with `set shard`, the quorum_watchers() of those alive that
 * rendezvous hashing picks.
 */
static int
watches(const struct cluster *cl, const struct cserver *cs, const char *node)
{
	const struct conf *c = engine_conf(cl->eng);
	const struct options *o = cs_options(cl, cs);
	const char	*live[NODES_MAX];
	size_t		 n, k, i, out[QUORUM_SHARD_MAX];

	if (o != NULL && !quorum_named(node, o->vantage, o->nvantage))
		return 0;
	if (!c->shard)
		return 1;
	n = live_nodes(cl, live);
	if (o != NULL)
		n = quorum_among(live, n, o->vantage, o->nvantage);
	k = quorum_shard(cs->skey, live, n, quorum_watchers(c->quorum, n),
	    out);
	for (i = 0; i < k; i++)
		if (strcmp(live[out[i]], node) == 0)
			return 1;
	return 0;
}

/* Thread: delete this node's verdict of a server it no longer watches. */
static void
drop_work(void *arg)
{
	struct job	*j = arg;
	natsStatus	 s;

	if (j->cl->verdicts == NULL)
		return;
	s = kvStore_Delete(j->cl->verdicts, j->key);
	j->ok = s == NATS_OK;
	if (!j->ok)
		snprintf(j->err, sizeof(j->err), "%s", link_error(s));
}

struct drop_job {
	struct job	 j;
	struct cserver	*cs;
};

static void
drop_done(void *arg)
{
	struct drop_job	*dj = arg;

	dj->cs->dropping = 0;
	if (!dj->j.ok)	/* tried again at the next ask */
		log_warnx("cluster: verdict of %s not deleted: %s",
		    dj->cs->id, dj->j.err);
	free(dj);
}

/* A stale verdict of ours deleted (or not: logged); the last one lets
 * the heartbeat go. */
static void
clear_done(void *arg)
{
	struct drop_job	*dj = arg;
	struct cluster	*cl = dj->j.cl;

	dj->cs->dropping = 0;
	if (!dj->j.ok)
		log_warnx("cluster: old verdict of %s not deleted: %s",
		    dj->cs->id, dj->j.err);
	free(dj);
	if (--cl->clearing == 0)
		heartbeat(cl);
}

/* Delete this node's verdict of cs from the bucket, on the link's
 * thread; done runs on the loop after. */
static void
drop_verdict(struct cluster *cl, struct cserver *cs, link_fn *done)
{
	struct drop_job	*dj;

	dj = xcalloc(1, sizeof(*dj));
	dj->cs = cs;
	dj->j.cl = cl;
	snprintf(dj->j.key, sizeof(dj->j.key), "%s.%s", cs->skey,
	    link_node(cl->link));
	cs->dropping = 1;
	link_job(cl->link, drop_work, done, dj);
}

/* hash_each: delete this node's verdict of a server it has not put since
 * it started (see clear_stale). */
static void
clear_one(const char *key, void *value, void *arg)
{
	struct cluster	*cl = arg;
	struct cserver	*cs = value;

	(void)key;
	if (cs->sent != 0 || cs->putting || cs->dropping ||
	    !has_vote(cs, link_node(cl->link)))
		return;
	log_info("cluster: %s: the verdict this node left is deleted until "
	    "its first check", cs->id);
	cl->clearing++;
	drop_verdict(cl, cs, clear_done);
}

/*
 * The verdicts bucket was read at start: each verdict of this node's in
 * it that this run has not put (left by the node before, killed or
 * stopped, maybe long ago) is deleted before the node's first heartbeat,
 * for with it the verdict would count again at once, though the server
 * may have changed since. The node's first check of the server puts a
 * fresh one (cluster_checked).
 */
static void
clear_stale(struct cluster *cl)
{
	cl->clearing = 1;
	hash_each(cl->servers, clear_one, cl);
	if (--cl->clearing == 0)
		heartbeat(cl);
}

/* Does the bucket hold a verdict of cs by node, as the watch has it? */
static int
has_vote(const struct cserver *cs, const char *node)
{
	size_t i;

	for (i = 0; i < cs->nvotes; i++)
		if (strcmp(cs->votes[i].node, node) == 0)
			return 1;
	return 0;
}

/*
 * Does this node check t now (its vantage names it; with `set shard
 * on`, the shares give it)? Nothing moves (cluster_mine does that): a
 * child's failure waits for a fresh check of its parent only when this
 * node makes one (engine.c, stale_parent).
 */
int
cluster_checks(struct cluster *cl, const struct target *t)
{
	if (cl == NULL)
		return 1;
	if (!engine_conf(cl->eng)->shard)	/* a node not named skips t */
		return quorum_named(link_node(cl->link), t->sc->o.vantage,
		    t->sc->o.nvantage);
	return cl->ready && cl->n_synced &&
	    watches(cl, cserver_get(cl, t->sc->id), link_node(cl->link));
}

/*
 * With `set shard on`: is t this node's to check? Asked before each
 * check is due. A server newly this node's has its verdict put after its
 * next check; one no longer its has its verdict deleted, so the
 * verdicts bucket holds those of its watchers.
 */
int
cluster_mine(struct cluster *cl, const struct target *t)
{
	struct cserver	*cs;
	int		 mine;

	mine = cluster_checks(cl, t);
	if (cl == NULL || !engine_conf(cl->eng)->shard || !cl->ready ||
	    !cl->n_synced)
		return mine;
	cs = cserver_get(cl, t->sc->id);
	if (mine && !cs->mine) {
		log_debug("cluster: %s is this node's now", cs->id);
		cs->take = 1;
	} else if (!mine && (cs->mine || has_vote(cs, link_node(cl->link))) &&
	    !cs->dropping && !cs->putting) {
		log_debug("cluster: %s is another node's now", cs->id);
		cs->take = 0;
		cs->want = cs->sent = 0;
		drop_verdict(cl, cs, drop_done);
	}
	cs->mine = mine;
	return mine;
}

/*
 * t was checked: when it is newly this node's, its verdict goes out now
 * (the first fresh one; later ones on hard changes). Without `set
 * shard`, a first hard state that is no change (unknown to up, after the
 * link was set up) goes out too.
 */
void
cluster_checked(struct cluster *cl, const struct target *t)
{
	struct cserver *cs;

	if (cl != NULL && !engine_conf(cl->eng)->shard &&
	    t->st.hard != HSTATE_UNKNOWN && ((cs = hash_get(cl->servers,
	    t->sc->id)) == NULL || cs->want != (int)t->st.hard)) {
		cluster_verdict(cl, t);
		return;
	}
	if (cl == NULL || !engine_conf(cl->eng)->shard ||
	    (cs = hash_get(cl->servers, t->sc->id)) == NULL || !cs->take ||
	    t->st.hard == HSTATE_UNKNOWN)
		return;
	cs->take = 0;
	cs->want = t->st.hard;
	cs->sent = 0;
	if (cl->ready)
		put_verdict(cl, cs);
}

/* A verdict SKEY.NODE was deleted: the node no longer votes on SKEY. */
static void
forget_vote(struct cluster *cl, const char *key)
{
	const char	*dot = strrchr(key, '.');
	struct cserver	*cs;
	char		 skey[QUORUM_KEY_MAX];
	size_t		 v;

	if (dot == NULL || (size_t)(dot - key) >= sizeof(skey))
		return;
	memcpy(skey, key, dot - key);
	skey[dot - key] = '\0';
	if ((cs = hash_get(cl->byskey, skey)) == NULL)
		return;
	for (v = 0; v < cs->nvotes; v++)
		if (strcmp(cs->votes[v].node, dot + 1) == 0) {
			json_decref(cs->votes[v].v);
			cs->nvotes--;
			memmove(&cs->votes[v], &cs->votes[v + 1],
			    (cs->nvotes - v) * sizeof(cs->votes[0]));
			/* the slot left is free: no copy of a pointer */
			memset(&cs->votes[cs->nvotes], 0,
			    sizeof(cs->votes[0]));
			break;
		}
	evaluate(cl, cs);
}

/* The watch of tocsin_verdicts: a node's verdict came, changed or went. */
static void
on_verdict(const struct watch_entry *e, void *arg)
{
	struct cluster	*cl = arg;
	struct cserver	*cs;
	json_t		*o;
	const char	*id, *node;
	size_t		 i;
	int		 code;

	if (e->key == NULL) {
		if (!cl->v_synced) {
			log_info("cluster: verdicts read");
			cl->v_synced = 1;
			clear_stale(cl);
		}
		return;
	}
	if (e->deleted) {
		forget_vote(cl, e->key);
		return;
	}
	if ((o = json_loads(e->value, 0, NULL)) == NULL)
		return;
	id = json_string_value(json_object_get(o, "server"));
	node = json_string_value(json_object_get(o, "node"));
	code = json_integer_value(json_object_get(o, "code"));
	if (id == NULL || node == NULL || code <= 0 ||
	    code >= QUORUM_STATES_MAX || strlen(node) >= sizeof(cs->votes[0].node)) {
		json_decref(o);
		return;
	}
	cs = cserver_get(cl, id);
	for (i = 0; i < cs->nvotes; i++)
		if (strcmp(cs->votes[i].node, node) == 0)
			break;
	if (i == cs->nvotes) {
		if (cs->nvotes == NODES_MAX) {
			json_decref(o);
			return;
		}
		snprintf(cs->votes[cs->nvotes++].node, sizeof(cs->votes[0].node),
		    "%s", node);
	}
	json_decref(cs->votes[i].v);
	cs->votes[i].v = o;
	cs->votes[i].state = code;
	evaluate(cl, cs);
}

struct pub_job {
	struct job	 j;
	struct cserver	*cs;
};

/* Thread: publish one event. */
static void
publish_work(void *arg)
{
	struct job *j = arg;

	j->ok = store_publish_event(link_js(j->cl->link), j->skey, NULL,
	    j->from, j->data, strlen(j->data), &j->dup, j->err,
	    sizeof(j->err)) == 0;
}

/* Loop: published (or the stream had it), or tried again at the next
 * tick unless a newer state came meanwhile. */
static void
publish_done(void *arg)
{
	struct pub_job	*pj = arg;
	struct cserver	*cs = pj->cs;

	cs->publishing = 0;
	if (!pj->j.ok)
		log_warnx("cluster: event %s:%" PRIu64 ": %s; trying again",
		    pj->j.skey, pj->j.rev, pj->j.err);
	else {
		log_info("cluster: event %s:%" PRIu64 " %s", pj->j.skey,
		    pj->j.rev, pj->j.dup ? "was published already" :
		    "published");
		if (cs->npub > 0 && cs->pubq[0].rev == pj->j.rev) {
			free(cs->pubq[0].data);
			memmove(&cs->pubq[0], &cs->pubq[1],
			    --cs->npub * sizeof(cs->pubq[0]));
			publish(pj->j.cl, cs);
		}
	}
	free(pj->j.data);
	free(pj);
}

/* Publish cs's oldest pending state unless a publish is under way: in
 * order, so the stream has a server's changes as they came. */
static void
publish(struct cluster *cl, struct cserver *cs)
{
	struct pub_job *pj;

	if (cs->npub == 0 || cs->publishing)
		return;
	pj = xcalloc(1, sizeof(*pj));
	pj->cs = cs;
	pj->j.cl = cl;
	snprintf(pj->j.skey, sizeof(pj->j.skey), "%s", cs->skey);
	pj->j.rev = cs->pubq[0].rev;
	pj->j.from = cs->pubq[0].from;
	pj->j.data = xstrdup(cs->pubq[0].data);
	cs->publishing = 1;
	link_job(cl->link, publish_work, publish_done, pj);
}

/*
 * State record data of revision rev is to be in the stream: queued after
 * the server's others and published until it is, with the id SKEY:FROM,
 * FROM the revision it replaced. Two nodes whose changes from the same
 * revision both pass the compare-and-set (nats-server 2.9 lets
 * concurrent proposals in a replicated bucket through) so make one
 * event: the first in the stream. Not when it is older
 * than PUBLISH_MAX_AGE: the stream's dedup may have forgotten it. A full
 * queue loses its oldest (logged), but the one being published, whose
 * end takes it: the newest, the server's state now, always goes.
 */
static void
publish_later(struct cluster *cl, struct cserver *cs, uint64_t rev,
    const char *data, int64_t when, uint64_t from)
{
	size_t k;

	if (rev <= cs->pub_rev || time(NULL) - when > PUBLISH_MAX_AGE)
		return;
	if (cs->npub == PUBQ_MAX) {
		k = cs->publishing ? 1 : 0;	/* the head is being published */
		log_warnx("cluster: event %s:%" PRIu64 " not published: "
		    "%d newer wait", cs->skey, cs->pubq[k].rev,
		    (int)(PUBQ_MAX - k));
		free(cs->pubq[k].data);
		memmove(&cs->pubq[k], &cs->pubq[k + 1],
		    (--cs->npub - k) * sizeof(cs->pubq[0]));
	}
	cs->pubq[cs->npub].data = xstrdup(data);
	cs->pubq[cs->npub].from = from;
	cs->pubq[cs->npub++].rev = rev;
	cs->pub_rev = rev;
	publish(cl, cs);
}

/* The watch of tocsin_states: a server's cluster-level state moved. */
static void
on_state(const struct watch_entry *e, void *arg)
{
	struct cluster	*cl = arg;
	struct cserver	*cs;
	json_t		*o;
	const char	*id;
	int64_t		 when;
	uint64_t	 from;
	int		 code;

	if (e->key == NULL) {
		cl->s_synced = 1;
		return;
	}
	if (e->deleted || (o = json_loads(e->value, 0, NULL)) == NULL)
		return;
	id = json_string_value(json_object_get(o, "id"));
	code = json_integer_value(json_object_get(o, "code"));
	when = json_integer_value(json_object_get(o, "time"));
	from = json_integer_value(json_object_get(o, "from"));
	if (id == NULL || code <= 0 || code >= QUORUM_STATES_MAX) {
		json_decref(o);
		return;
	}
	cs = cserver_get(cl, id);
	/* Live, or missed while a watch was gone (not at start: the
	 * states then are old news); even when a fresh read told of it
	 * already, as its winner may have died before publishing. */
	if (!e->initial || cl->s_synced)
		publish_later(cl, cs, e->rev, e->value, when, from);
	if (e->rev >= cs->crev) {	/* the newest, the winner's own too */
		cluster_ctl_state(cl->ctl, cs->id, code == HSTATE_UP);
		cs->held = code != HSTATE_UP &&
		    json_is_true(json_object_get(o, "downtime"));
		free(cs->message);
		cs->message = xstrdup(json_string_value(json_object_get(o,
		    "message")) != NULL ? json_string_value(json_object_get(o,
		    "message")) : "");
	}
	if (e->rev <= cs->crev) {
		json_decref(o);
		return;
	}
	cs->cstate = code;
	cs->crev = e->rev;
	cs->unreach = json_is_true(json_object_get(o, "unreachable"));
	json_decref(o);
	evaluate(cl, cs);
	evaluate_children(cl, cs);
}

/*
 * A change being made, on the link's thread: what it needs is copied, so
 * the thread never reads the loop's tables.
 */
struct cas_job {
	struct cluster	*cl;
	struct cserver	*cs;		/* the loop's; only done touches it */
	char		 id[SERVER_ID_MAX + 1];
	char		 skey[QUORUM_KEY_MAX];
	char		 me[64];
	char		 nodes[NODES_MAX][64];	/* those with a verdict */
	size_t		 nnodes;
	unsigned long	 quorum;	/* set quorum; 0 = majority */
	size_t		 nlive;		/* set by the thread: the nodes
					   alive, whose verdicts count */
	int		 acked;		/* a person's, for the event */
	int		 downtime;
	int		 unreachable;	/* a server it depends on is down */
	int		 flapping;	/* set by the thread: a quorum of the
					   live verdicts says it flaps */
	int		 was_flapping;	/* ... the record it replaces did */
	int		 reach;		/* down and unreachable, its parents
					   up now: a new record says so */
	/* Set by the thread. */
	int		 state;		/* the cluster's, as read or made */
	uint64_t	 rev;		/* its revision; 0 = not read */
	uint64_t	 from;		/* the revision a change replaces */
	int		 moved;		/* this node made the change */
	char		*unpublished;	/* its record, when publishing it
					   failed */
	int		 dup;
	char		 err[256];
};

/*
 * Thread: the last value of a bucket's key as its stream's leader has it
 * (a key-value get may be answered by a replica that lags, as one that
 * just came back does). 0 with *o (NULL when the value is no JSON) and
 * *rev, 1 when there is none, -1 on failure.
 */
static int
leader_get(struct cluster *cl, const char *bucket, const char *key,
    json_t **o, uint64_t *rev)
{
	natsMsg		*m = NULL;
	jsErrCode	 jerr = 0;
	natsStatus	 s;
	char		 stream[64], subj[QUORUM_KEY_MAX + 128];

	*o = NULL;
	*rev = 0;
	snprintf(stream, sizeof(stream), "KV_%s", bucket);
	snprintf(subj, sizeof(subj), "$KV.%s.%s", bucket, key);
	s = js_GetLastMsg(&m, link_js(cl->link), stream, subj, NULL, &jerr);
	if (s == NATS_NOT_FOUND || jerr == JSNoMessageFoundErr)
		return 1;
	if (s != NATS_OK)
		return -1;
	*rev = natsMsg_GetSequence(m);
	*o = json_loadb(natsMsg_GetData(m), natsMsg_GetDataLength(m), 0, NULL);
	natsMsg_Destroy(m);
	return 0;
}

/* Thread: is node alive, by its heartbeat now? */
static int
fresh_alive(struct cluster *cl, const char *node)
{
	json_t		*o;
	uint64_t	 rev;
	int		 alive;

	if (leader_get(cl, QUORUM_NODES, node, &o, &rev) != 0)
		return 0;
	alive = o != NULL && quorum_alive(json_integer_value(
	    json_object_get(o, "time")), time(NULL));
	json_decref(o);
	return alive;
}

/* Thread: a node's verdict now: its state (0 = none) and the JSON (NULL
 * = none; the caller's). */
static int
fresh_verdict(struct cluster *cl, const char *skey, const char *node,
    json_t **v)
{
	char		 key[QUORUM_KEY_MAX + 80];
	uint64_t	 rev;
	int		 code = 0;

	snprintf(key, sizeof(key), "%s.%s", skey, node);
	if (leader_get(cl, QUORUM_VERDICTS, key, v, &rev) != 0)
		return 0;
	if (*v != NULL)
		code = json_integer_value(json_object_get(*v, "code"));
	if (code <= 0 || code >= QUORUM_STATES_MAX)
		code = 0;
	return code;
}

/* Thread: the cluster's state of the server now (0 and rev 0: none), and
 * whether its record says unreachable and flapping; or -1 with err. */
static int
fresh_state(struct cluster *cl, const char *skey, uint64_t *rev,
    int *unreach, int *flapping, char *err, size_t errlen)
{
	json_t	*o;
	int	 code = 0, r;

	*unreach = *flapping = 0;
	if ((r = leader_get(cl, QUORUM_STATES, skey, &o, rev)) == 1)
		return 0;
	if (r == -1) {
		snprintf(err, errlen, "%s", link_error(NATS_ERR));
		return -1;
	}
	if (o != NULL) {
		code = json_integer_value(json_object_get(o, "code"));
		*unreach = json_is_true(json_object_get(o, "unreachable"));
		*flapping = json_is_true(json_object_get(o, "flapping"));
		json_decref(o);
	}
	return code;
}

/*
 * The new cluster-level state's record: the event as the stream and the
 * pager read it (spool fields), with each node's verdict (nodes: node ->
 * verdict, taken) and the quorum. The message is the first agreeing
 * node's by name.
 */
static char *
state_json(const struct cas_job *cj, int old, int state, json_t *nodes)
{
	json_t		*o, *v;
	const char	*msg = "", *first = NULL, *node;
	char		*s;

	json_object_foreach(nodes, node, v) {
		if (json_integer_value(json_object_get(v, "code")) == state &&
		    json_is_string(json_object_get(v, "message")) &&
		    (first == NULL || strcmp(node, first) < 0)) {
			first = node;
			msg = json_string_value(json_object_get(v, "message"));
		}
	}
	o = json_pack("{s:s, s:I, s:s, s:s, s:i, s:s, s:b, s:b, s:b, s:b, "
	    "s:i, s:s, s:o}",
	    "id", cj->id, "time", (json_int_t)time(NULL),
	    "old", hstate_str(old), "new", hstate_str(state),
	    "code", state, "message", msg,
	    "flapping", cj->flapping, "downtime", cj->downtime,
	    "acked", cj->acked && state != HSTATE_UP,
	    "unreachable", cj->unreachable,
	    "quorum", quorum_needed(cj->quorum, cj->nlive), "by", cj->me,
	    "nodes", nodes);
	if (o != NULL) {
		json_object_set_new(o, "from", json_integer((json_int_t)
		    cj->from));
		json_object_set_new(o, "was_flapping",
		    json_boolean(cj->was_flapping));
	}
	if (o == NULL)
		fatalx("cluster: json_pack");
	s = json_dumps(o, JSONTEXT_DUMP_FLAGS | JSON_SORT_KEYS);
	json_decref(o);
	if (s == NULL)
		fatalx("cluster: json_dumps");
	return s;
}

/*
 * Thread: decide again on what the buckets hold now (this node's view
 * may lag: a watch that was on a dead server), and when a quorum agrees
 * on another state, move it by compare-and-set on the revision read; the
 * winner publishes the event at once (the watches publish it too: the
 * stream keeps it once).
 */
static void
cas_work(void *arg)
{
	struct cas_job	*cj = arg;
	struct cluster	*cl = cj->cl;
	json_t		*nodes, *v;
	int		 votes[NODES_MAX], old, state, unreach, nflap = 0;
	uint64_t	 rev;
	size_t		 i;
	natsStatus	 s;
	char		*data;

	if (cl->states == NULL || (old = fresh_state(cl, cj->skey,
	    &cj->rev, &unreach, &cj->was_flapping, cj->err,
	    sizeof(cj->err))) == -1)
		return;
	cj->state = old;
	nodes = json_object();
	cj->nlive = 0;
	for (i = 0; i < cj->nnodes; i++) {
		if (!fresh_alive(cl, cj->nodes[i]))
			continue;	/* dead: its verdict may be stale */
		votes[cj->nlive++] = fresh_verdict(cl, cj->skey,
		    cj->nodes[i], &v);
		nflap += json_is_true(json_object_get(v, "flapping"));
		if (v != NULL)
			json_object_set_new(nodes, cj->nodes[i], v);
	}
	if (cj->nlive == 0) {
		json_decref(nodes);
		return;
	}
	state = quorum_decide(votes, cj->nlive, cj->quorum, old, severity);
	if ((state == old && !(cj->reach && unreach &&
	    old == HSTATE_DOWN)) || state <= 0) {
		json_decref(nodes);
		return;
	}
	cj->from = cj->rev;
	cj->flapping = nflap >= quorum_needed(cj->quorum, cj->nlive);
	data = state_json(cj, old, state, nodes);
	if (cj->rev == 0)
		s = kvStore_CreateString(&rev, cl->states, cj->skey, data);
	else
		s = kvStore_UpdateString(&rev, cl->states, cj->skey, data,
		    cj->rev);
	if (s != NATS_OK) {
		snprintf(cj->err, sizeof(cj->err), "%s", link_error(s));
		free(data);
		return;
	}
	cj->moved = 1;
	cj->state = state;
	cj->rev = rev;
	if (store_publish_event(link_js(cl->link), cj->skey, NULL, cj->from,
	    data, strlen(data), &cj->dup, cj->err, sizeof(cj->err)) == -1) {
		cj->unpublished = data;	/* the loop tries again */
		return;
	}
	free(data);
}

/* Loop: what the thread read or made is the cluster's state now. */
static void
cas_done(void *arg)
{
	struct cas_job	*cj = arg;
	struct cserver	*cs = cj->cs;

	cs->cas = 0;
	if (cj->moved)
		log_info("cluster: %s is %s%s (revision %" PRIu64 ")", cs->id,
		    hstate_str(cj->state), cj->unreachable ? ", unreachable" :
		    cj->reach ? ", its parents up again" : "", cj->rev);
	else if (cj->err[0] != '\0')
		log_debug("cluster: %s not moved: %s", cs->id, cj->err);
	if (cj->rev > cs->crev) {
		cs->cstate = cj->state;
		cs->crev = cj->rev;
		if (cj->moved)
			cs->unreach = cj->unreachable;
	}
	if (cj->moved)
		evaluate_children(cj->cl, cs);
	if (cj->unpublished != NULL) {
		log_warnx("cluster: event %s:%" PRIu64 ": %s; trying again",
		    cj->skey, cj->rev, cj->err);
		publish_later(cj->cl, cs, cj->rev, cj->unpublished,
		    time(NULL), cj->from);
		free(cj->unpublished);
	}
	free(cj);
}

/* The state the live watchers' verdicts of cs decide now (the cluster's
 * when they decide none), as this node's watches have them; 0 when no
 * live watcher has a verdict. */
static int
decided(struct cluster *cl, struct cserver *cs)
{
	int	 votes[NODES_MAX];
	size_t	 i, n = 0;

	for (i = 0; i < cs->nvotes; i++)
		if (node_alive(cl, cs->votes[i].node) &&
		    watches(cl, cs, cs->votes[i].node))
			votes[n++] = cs->votes[i].state;
	if (n == 0)
		return 0;
	return quorum_decide(votes, n, cs_quorum(cl, cs), cs->cstate,
	    severity);
}

/*
 * The servers cs depends on (depends-on): 1 when one is down for the
 * cluster (cs's change is then `unreachable`); else 2 when one's
 * verdicts decide down and its change is on its way (each node checked
 * it before judging cs, as on one machine): cs's change waits for it,
 * so the stream has the parent's first and the child's says unreachable.
 * Else 0.
 */
static int
parent_down(struct cluster *cl, const struct cserver *cs)
{
	const struct server_conf *sc;
	struct cserver	*p;
	size_t		 i;
	int		 r = 0;

	if ((sc = conf_find_server(engine_conf(cl->eng), cs->id)) == NULL)
		return 0;
	for (i = 0; i < sc->ndeps; i++) {
		if ((p = hash_get(cl->servers, sc->deps[i]->id)) == NULL)
			continue;
		if (p->cstate == HSTATE_DOWN)
			return 1;
		if (p->nvotes > 0 && decided(cl, p) == HSTATE_DOWN)
			r = 2;
	}
	return r;
}

/* cs's cluster state moved: the servers that depend on it decide again
 * (a change that waited for it; one down and unreachable whose parents
 * are up again). */
static void
evaluate_children(struct cluster *cl, const struct cserver *cs)
{
	const struct conf *c = engine_conf(cl->eng);
	struct cserver	*d;
	size_t		 i;

	for (i = 0; i < c->nservers; i++)
		if (conf_depends_on(c->servers[i], cs->id) &&
		    (d = hash_get(cl->servers, c->servers[i]->id)) != NULL)
			evaluate(cl, d);
}

/*
 * Does a quorum seem to agree on another state than the cluster's? Or is
 * the server down and unreachable while its parents are up again (a
 * record, down to down, says it is down on its own)? Then
 * the link's thread decides again on fresh reads and moves it. Only once
 * both buckets were read whole.
 */
static void
evaluate(struct cluster *cl, struct cserver *cs)
{
	struct cas_job	*cj;
	int		 state, reach, parent;
	size_t		 i;

	if (!cl->v_synced || !cl->s_synced || !cl->n_synced || cs->cas ||
	    cs->nvotes == 0 || (state = decided(cl, cs)) <= 0)
		return;
	if ((parent = parent_down(cl, cs)) == 2)
		return;		/* evaluate_children() comes back */
	reach = cs->cstate == HSTATE_DOWN && cs->unreach && parent == 0;
	if (state == cs->cstate && !reach)
		return;
	cj = xcalloc(1, sizeof(*cj));
	cj->unreachable = parent;
	cj->reach = reach;
	cj->cl = cl;
	cj->cs = cs;
	snprintf(cj->id, sizeof(cj->id), "%s", cs->id);
	snprintf(cj->skey, sizeof(cj->skey), "%s", cs->skey);
	snprintf(cj->me, sizeof(cj->me), "%s", link_node(cl->link));
	/* the watchers as this node sees them; the thread drops the dead */
	for (i = 0; i < cs->nvotes; i++)
		if (watches(cl, cs, cs->votes[i].node))
			snprintf(cj->nodes[cj->nnodes++], sizeof(cj->nodes[0]),
			    "%s", cs->votes[i].node);
	cj->quorum = cs_quorum(cl, cs);
	cluster_ctl_flags(cl->ctl, cs->id, time(NULL), &cj->acked,
	    &cj->downtime);
	cs->cas = 1;
	link_job(cl->link, cas_work, cas_done, cj);
}

/* A downtime's end being published, for the link's thread. */
struct dtend_job {
	struct job	 j;
	char		 id[SERVER_ID_MAX + 1];
};

/* Thread: publish it with its id SKEY:dtend:REV. */
static void
dtend_work(void *arg)
{
	struct dtend_job *dj = arg;

	dj->j.ok = store_publish_event(link_js(dj->j.cl->link), dj->j.skey,
	    "dtend", dj->j.rev, dj->j.data, strlen(dj->j.data), &dj->j.dup,
	    dj->j.err, sizeof(dj->j.err)) == 0;
}

/* Loop: said; a failure is the other nodes' to cover. */
static void
dtend_done(void *arg)
{
	struct dtend_job *dj = arg;

	if (!dj->j.ok)
		log_warnx("cluster: %s: downtime's end: %s", dj->id, dj->j.err);
	else
		log_info("cluster: %s still %s after its downtime: event %s "
		    "(dtend %" PRIu64 ")", dj->id, hstate_str(dj->j.state),
		    dj->j.dup ? "was published already" : "published",
		    dj->j.rev);
	free(dj->j.data);
	free(dj);
}

/*
 * A downtime of server id ended (its key in tocsin_control, of revision
 * rev, went: expired or cancelled), as every node sees it. When the
 * cluster has the server not up by a change made inside a downtime (that
 * was not paged), and no ack and no other downtime holds it, one event
 * says it is still down: old and new its state, "still down after the
 * downtime: MESSAGE". Every node publishes it with the Nats-Msg-Id
 * SKEY:dtend:REV, so the stream keeps it once and it is paged once; once
 * a state, on each node.
 */
static void
on_dtend(void *arg, const char *id, uint64_t rev)
{
	struct cluster	*cl = arg;
	struct cserver	*cs;
	struct dtend_job *dj;
	json_t		*o;
	char		 msg[600];
	int		 acked, downtime;

	if ((cs = hash_get(cl->servers, id)) == NULL || !cs->held ||
	    cs->dtend_rev == cs->crev)
		return;
	cluster_ctl_flags(cl->ctl, id, time(NULL), &acked, &downtime);
	if (acked || downtime)
		return;
	snprintf(msg, sizeof(msg), "still %s after the downtime: %s",
	    hstate_str(cs->cstate), cs->message != NULL ? cs->message : "");
	o = json_pack("{s:s, s:I, s:s, s:s, s:i, s:s, s:b, s:b, s:b, s:b, "
	    "s:s, s:I}", "id", id, "time", (json_int_t)time(NULL),
	    "old", hstate_str(cs->cstate), "new", hstate_str(cs->cstate),
	    "code", cs->cstate, "message", msg, "flapping", 0, "downtime", 0,
	    "acked", 0, "unreachable", cs->unreach, "by", link_node(cl->link),
	    "dtend", (json_int_t)rev);
	dj = xcalloc(1, sizeof(*dj));
	if (o == NULL || (dj->j.data = json_dumps(o, JSONTEXT_DUMP_FLAGS |
	    JSON_SORT_KEYS)) == NULL)
		fatalx("cluster: dtend json");
	json_decref(o);
	dj->j.cl = cl;
	dj->j.rev = rev;
	dj->j.state = cs->cstate;
	snprintf(dj->j.skey, sizeof(dj->j.skey), "%s", cs->skey);
	snprintf(dj->id, sizeof(dj->id), "%s", id);
	cs->dtend_rev = cs->crev;
	link_job(cl->link, dtend_work, dtend_done, dj);
}

static void
retry_one(const char *id, void *value, void *arg)
{
	struct cluster	*cl = arg;
	struct cserver	*cs = value;

	put_verdict(cl, cs);
	publish(cl, cs);
	evaluate(cl, cs);
}

/* Every TICK_MS: set up if not yet, else what failed is tried again. */
static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct cluster	*cl = arg;

	if (!cl->ready) {
		if (!cl->setting_up) {
			cl->setting_up = 1;
			link_job(cl->link, setup_work, setup_done,
			    job_new(cl));
		}
		return;
	}
	if (link_generation(cl->link) != cl->generation) {
		cl->generation = link_generation(cl->link);
		watch_restart(cl->wv);
		watch_restart(cl->ws);
		watch_restart(cl->wn);
	}
	heartbeat(cl);
	hash_each(cl->servers, retry_one, cl);
	cluster_ctl_tick(cl->ctl);
}

/* Join the cluster of the engine's config (c->cluster set). NULL with
 * *err. */
struct cluster *
cluster_new(struct event_base *base, struct engine *eng, char **err)
{
	struct cluster	*cl;
	struct timeval	 tv;
	char		 msg[512];

	cl = xcalloc(1, sizeof(*cl));
	cl->eng = eng;
	cl->clearing = -1;
	cl->servers = hash_new();
	cl->byskey = hash_new();
	if ((cl->link = link_new(base, engine_conf(eng), "tocsin-probed", msg,
	    sizeof(msg))) == NULL) {
		*err = xstrdup(msg);
		hash_free(cl->servers, NULL);
		hash_free(cl->byskey, NULL);
		free(cl);
		return NULL;
	}
	cl->ctl = cluster_ctl_new(eng, cl->link, on_dtend, cl);
	if ((cl->tick = event_new(base, -1, EV_PERSIST, on_tick, cl)) ==
	    NULL)
		fatalx("cluster: event_new");
	ms_to_timeval(TICK_MS, &tv);
	event_add(cl->tick, &tv);
	on_tick(-1, EV_TIMEOUT, cl);
	return cl;
}

/*
 * The cluster's view of server id at now (Unix s), for `status`:
 * {"state": the cluster's, "nodes": {NODE: {"state", "latency_ms",
 * "age_s", "alive"}}}, each node's verdict as this node's watch has it
 * (age_s: since the node put it, at its last hard change). NULL when the
 * cluster has no word of id yet.
 */
json_t *
cluster_server_json(struct cluster *cl, const char *id, int64_t now)
{
	struct cserver	*cs;
	const struct vote *by[NODES_MAX], *tmp;
	json_t		*o, *nodes, *v, *lat;
	size_t		 i, k;

	if (cl == NULL || (cs = hash_get(cl->servers, id)) == NULL)
		return NULL;
	if ((nodes = json_object()) == NULL)
		return NULL;
	for (i = 0; i < cs->nvotes; i++)	/* by name: a few */
		for (by[i] = &cs->votes[i], k = i; k > 0 &&
		    strcmp(by[k - 1]->node, by[k]->node) > 0; k--) {
			tmp = by[k];
			by[k] = by[k - 1];
			by[k - 1] = tmp;
		}
	for (i = 0; i < cs->nvotes; i++) {
		lat = json_object_get(by[i]->v, "latency_ms");
		v = json_pack("{s:s, s:O, s:I, s:b}",
		    "state", hstate_str(by[i]->state),
		    "latency_ms", lat != NULL ? lat : json_null(),
		    "age_s", (json_int_t)(now - json_integer_value(
		    json_object_get(by[i]->v, "time"))),
		    "alive", node_alive(cl, by[i]->node));
		if (v == NULL || json_object_set_new(nodes, by[i]->node,
		    v) == -1) {
			json_decref(nodes);
			return NULL;
		}
	}
	if ((o = json_pack("{s:s, s:o}", "state", hstate_str(cs->cstate),
	    "nodes", nodes)) == NULL)
		return NULL;
	return o;
}

/* For `status`: {"node": this one, "alive": [the live nodes by name]}. */
json_t *
cluster_head_json(struct cluster *cl)
{
	const char	*live[NODES_MAX], *tmp;
	json_t		*arr;
	size_t		 n, i, k;

	if (cl == NULL || (arr = json_array()) == NULL)
		return NULL;
	n = live_nodes(cl, live);
	for (i = 1; i < n; i++)		/* by name: a few */
		for (k = i; k > 0 && strcmp(live[k - 1], live[k]) > 0; k--) {
			tmp = live[k];
			live[k] = live[k - 1];
			live[k - 1] = tmp;
		}
	for (i = 0; i < n; i++)
		json_array_append_new(arr, json_string(live[i]));
	return json_pack("{s:s, s:o}", "node", link_node(cl->link), "alive",
	    arr);
}

/* The people's changes shared by the cluster; NULL without one. */
struct cluster_ctl *
cluster_control(struct cluster *cl)
{
	return cl != NULL ? cl->ctl : NULL;
}

void
cluster_free(struct cluster *cl)
{
	if (cl == NULL)
		return;
	event_free(cl->tick);
	cluster_ctl_stop(cl->ctl);
	link_close(cl->link);	/* runs the jobs' ends; JetStream calls of
				   the watches fail at once */
	watch_free(cl->wv);
	watch_free(cl->ws);
	watch_free(cl->wn);
	kvStore_Destroy(cl->verdicts);
	kvStore_Destroy(cl->states);
	kvStore_Destroy(cl->nodes);
	cluster_ctl_free(cl->ctl);
	link_free(cl->link);
	hash_free(cl->byskey, NULL);
	hash_free(cl->servers, cserver_free);
	free(cl);
}
