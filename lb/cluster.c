/*
 * cluster.c: tocsin-lb's word on its members in cluster mode (`set
 * cluster`): the cluster-level state of each server, as the probe nodes'
 * quorum put it in the bucket tocsin_states, and its drain, as `tocsinctl
 * drain` on any node put it in tocsin_control, both watched from this
 * loop. So a balancer needs no probe node of its own. When the cluster
 * cannot be reached the last word stays, as when probed is gone.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <jansson.h>

#include "log.h"
#include "util.h"
#include "xmalloc.h"

#include "lb.h"
#include "link.h"
#include "quorum.h"
#include "store.h"
#include "watch.h"

#define TICK_MS		(QUORUM_BEAT * 1000)	/* set-up tried again, the
						   link's reconnection seen */

struct cluster {
	struct lb	*lb;
	struct link	*link;
	struct event	*tick;
	kvStore		*states;	/* set by the set-up job */
	kvStore		*control;	/* set by the set-up job */
	struct watch	*watch;
	struct watch	*cwatch;	/* of control */
	unsigned	 generation;	/* the link's, when last watched */
	int		 setting_up;
	int		 synced;	/* said the states were read */
};

/* The set-up, on the link's thread. */
struct setup_job {
	struct cluster	*cl;
	kvStore		*kv;
	kvStore		*ckv;
	int		 ok;
	char		 err[256];
};

static void	on_tick(evutil_socket_t, short, void *);
static void	on_state(const struct watch_entry *, void *);
static void	on_control(const struct watch_entry *, void *);
static struct backend *find_by_key(struct lb *, const char *);

/* Thread: find (or make) the states and control buckets. */
static void
setup_work(void *arg)
{
	struct setup_job *j = arg;

	j->ok = store_bucket(link_js(j->cl->link), QUORUM_STATES,
	    link_replicas(j->cl->link), 1, &j->kv, j->err,
	    sizeof(j->err)) == 0 &&
	    store_bucket(link_js(j->cl->link), QUORUM_CONTROL,
	    link_replicas(j->cl->link), 1, &j->ckv, j->err,
	    sizeof(j->err)) == 0;
}

/* Loop: watch the bucket, or try again at the next tick. Also run by
 * link_close for a job never started (ok 0). */
static void
setup_done(void *arg)
{
	struct setup_job *j = arg;
	struct cluster	*cl = j->cl;

	cl->setting_up = 0;
	if (!j->ok) {
		if (j->err[0] != '\0')
			log_warnx("cluster: %s; trying again", j->err);
		kvStore_Destroy(j->kv);
		kvStore_Destroy(j->ckv);
		free(j);
		return;
	}
	cl->states = j->kv;
	cl->control = j->ckv;
	free(j);
	cl->generation = link_generation(cl->link);
	cl->watch = watch_new(cl->lb->base, cl->states, on_state, cl);
	cl->cwatch = watch_new(cl->lb->base, cl->control, on_control, cl);
	log_info("cluster: watching %s and %s", QUORUM_STATES,
	    QUORUM_CONTROL);
}

/*
 * The watch of tocsin_states: a server's cluster-level state, as the
 * quorum of probe nodes made it. A member of ours takes it at once; a
 * deleted key or a record that cannot be read changes nothing.
 */
static void
on_state(const struct watch_entry *e, void *arg)
{
	struct cluster	*cl = arg;
	struct backend	*b;
	json_t		*o;
	const char	*id, *state;

	if (e->key == NULL) {
		if (!cl->synced)
			log_info("cluster: servers' states read");
		cl->synced = 1;
		return;
	}
	if (e->deleted || (o = json_loads(e->value, 0, NULL)) == NULL)
		return;
	id = json_string_value(json_object_get(o, "id"));
	state = json_string_value(json_object_get(o, "new"));
	if (id != NULL && state != NULL &&
	    (b = lb_find_backend(cl->lb, id)) != NULL)
		health_word(b, backend_health_parse(state), -1, mono_us(),
		    "cluster");
	json_decref(o);
}

/* The member whose cluster key (quorum_key of its id) is skey, or NULL. */
static struct backend *
find_by_key(struct lb *lb, const char *skey)
{
	char	 k[512];
	size_t	 i, j;

	for (i = 0; i < lb->nfarms; i++)
		for (j = 0; j < lb->farms[i]->nbe; j++) {
			quorum_key(lb->farms[i]->be[j]->id, k, sizeof(k));
			if (strcmp(k, skey) == 0)
				return lb->farms[i]->be[j];
		}
	return NULL;
}

/*
 * The watch of tocsin_control: only drains concern a balancer. The key
 * SKEY.drain is there while a server is drained (`tocsinctl drain` on any
 * node) and goes with `tocsinctl enable`; a deleted key has no value, so
 * the member is found by its key.
 */
static void
on_control(const struct watch_entry *e, void *arg)
{
	struct cluster	*cl = arg;
	struct backend	*b;
	char		 skey[512];
	size_t		 klen;

	if (e->key == NULL)
		return;
	klen = strlen(e->key);
	if (klen <= 6 || strcmp(e->key + klen - 6, ".drain") != 0 ||
	    klen - 6 >= sizeof(skey))
		return;
	memcpy(skey, e->key, klen - 6);
	skey[klen - 6] = '\0';
	if ((b = find_by_key(cl->lb, skey)) != NULL)
		health_drain(b, !e->deleted, mono_us(), "cluster");
}

/* Every TICK_MS: set up if not yet; after a reconnection, watch again
 * (the watcher's consumer may have lived on a server that died). */
static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct cluster		*cl = arg;
	struct setup_job	*j;

	(void)fd;
	(void)what;
	if (cl->watch == NULL) {
		if (cl->setting_up)
			return;
		cl->setting_up = 1;
		j = xcalloc(1, sizeof(*j));
		j->cl = cl;
		link_job(cl->link, setup_work, setup_done, j);
		return;
	}
	if (link_generation(cl->link) != cl->generation) {
		cl->generation = link_generation(cl->link);
		watch_restart(cl->watch);
		watch_restart(cl->cwatch);
	}
}

/* After a reload: the states and drains again from the start of the
 * watches, for the members the reload added; nothing before the first
 * watch, which reads them all anyway. */
void
cluster_refresh(struct cluster *cl)
{
	if (cl == NULL || cl->watch == NULL)
		return;
	watch_restart(cl->watch);
	watch_restart(cl->cwatch);
}

/*
 * Join the cluster of lb's config (set cluster) and take its word on
 * lb's members. Only at start (or a loop's start): options the link
 * refuses (a credentials file that cannot be read) are fatal.
 */
struct cluster *
cluster_start(struct lb *lb)
{
	struct cluster	*cl;
	struct timeval	 tv;
	char		 err[512];

	cl = xcalloc(1, sizeof(*cl));
	cl->lb = lb;
	if ((cl->link = link_new(lb->base, lb->conf, "tocsin-lb", err,
	    sizeof(err))) == NULL)
		fatalx("%s", err);
	if ((cl->tick = event_new(lb->base, -1, EV_PERSIST, on_tick, cl)) ==
	    NULL)
		fatalx("out of memory for an event");
	ms_to_timeval(TICK_MS, &tv);
	event_add(cl->tick, &tv);
	on_tick(-1, EV_TIMEOUT, cl);
	return cl;
}

/* Leave the cluster: the link closes first (ending the set-up under way
 * and the watch's JetStream calls), then the watch. */
void
cluster_stop(struct cluster *cl)
{
	if (cl == NULL)
		return;
	event_free(cl->tick);
	link_close(cl->link);
	watch_free(cl->watch);
	watch_free(cl->cwatch);
	kvStore_Destroy(cl->states);
	kvStore_Destroy(cl->control);
	link_free(cl->link);
	free(cl);
}
