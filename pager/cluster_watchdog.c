/*
 * cluster_watchdog.c: set admin in cluster mode, who watches the
 * watchers. Monitoring has stopped when fewer probe nodes are alive
 * (a heartbeat in tocsin_nodes younger than QUORUM_NODE_MAX_AGE) than a
 * change of the cluster's state needs: set quorum N, else one (the
 * default majority counts the nodes alive). Each pager judges it every
 * EVERY_S with watchdog_judge, as tocsin-pager does tocsin-probed on one
 * machine (the same grace); what was told is the cluster's, in the
 * bucket tocsin_watchdog, key "probed":
 *   {"incident": N, "down": bool, "since", "why", "told": bool,
 *    "pager", "claimed"}
 * The pager whose compare-and-set moves it (stopped, or back) sends set
 * admin's page, event 0 of server tocsin-probed, round 2N-1 when it
 * stopped and 2N when it is back, under its delivery records
 * (0.CONTACT.CHANNEL.rN), then says told; a claim whose pager died is
 * taken over (cluster_claim_lapsed) and sent with the same Message-ID.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "conf.h"
#include "log.h"

#include "cluster_impl.h"
#include "link.h"
#include "store.h"

#define WATCHDOG_BUCKET	"tocsin_watchdog"
#define KEY		"probed"
#define EVERY_S		2
#define CAS_TRIES	10

/* Thread: the buckets, when there is a set admin to page. 0, or -1 with
 * err. */
int
cluster_watchdog_open(struct cluster *cl, char *err, size_t errlen)
{
	jsCtx	*js = link_js(cl->link);
	int	 r = link_replicas(cl->link);

	if (cl->conf->admin_contact == NULL)
		return 0;
	if (cl->watchdog == NULL && store_bucket(js, WATCHDOG_BUCKET, r, 1,
	    &cl->watchdog, err, errlen) == -1)
		return -1;
	if (cl->nodes == NULL && store_bucket(js, QUORUM_NODES, r, 1,
	    &cl->nodes, err, errlen) == -1)
		return -1;
	return 0;
}

/* Thread: how many probe nodes are alive at now, of *known (those with a
 * heartbeat); -1 when the bucket cannot tell. */
static long
alive_nodes(struct cluster *cl, int64_t now, size_t *known)
{
	kvKeysList	 keys;
	json_t		*o;
	uint64_t	 rev;
	natsStatus	 s;
	long		 alive = 0;
	int		 i;

	*known = 0;
	if ((s = store_keys(cl->nodes, &keys)) == NATS_NOT_FOUND)
		return 0;
	if (s != NATS_OK)
		return -1;
	for (i = 0; i < keys.Count; i++) {
		if ((o = cluster_kv_object(cl->nodes, keys.Keys[i], &rev,
		    "watchdog")) == NULL) {
			alive = -1;
			break;
		}
		if (rev != 0) {
			(*known)++;
			alive += quorum_alive(json_integer_value(
			    json_object_get(o, "time")), now);
		}
		json_decref(o);
	}
	kvKeysList_Destroy(&keys);
	return alive;
}

/* What the entry o says was told, into w. */
static void
entry_watchdog(json_t *o, struct watchdog *w)
{
	memset(w, 0, sizeof(*w));
	w->incident = (unsigned)json_integer_value(json_object_get(o,
	    "incident"));
	w->down = json_is_true(json_object_get(o, "down"));
	w->since = json_integer_value(json_object_get(o, "since"));
}

/*
 * Thread: set admin's page of the entry o (which this pager claimed):
 * monitoring stopped (o says down) or back, each page under its record.
 * 1 when all are final, else 0 (the claim lapses; taken over then).
 */
static int
tell(struct cluster *cl, json_t *o)
{
	struct watchdog		 w;
	struct spool_event	 ev;
	struct want		 wants[3];
	const char		*why;
	enum wd_verdict		 v;
	unsigned		 round;
	char			*msg;
	size_t			 k, j;
	int			 rc = 1;

	entry_watchdog(o, &w);
	v = w.down ? WD_STOPPED : WD_BACK;
	why = json_string_value(json_object_get(o, "why"));
	round = watchdog_event(&w, v, why != NULL ? why : "", time(NULL),
	    &ev);
	if (v == WD_BACK)
		snprintf(ev.message, sizeof(ev.message), "monitoring is back: "
		    "%.200s", why != NULL ? why : "");
	k = rules_contact_wants(cl->conf->admin_contact, &ev, NULL, wants, 3);
	if (v == WD_STOPPED)
		log_warnx("cluster: %s; paging set admin (%s)", ev.message,
		    cl->conf->admin_contact->name);
	else
		log_info("cluster: %s; paging set admin (%s)", ev.message,
		    cl->conf->admin_contact->name);
	for (j = 0; j < k && rc == 1; j++) {
		msg = cluster_page_format(cl, &ev, &wants[j], NULL, round, 0);
		rc = cluster_page_made(cl, NULL, 0, ev.id, &wants[j], round,
		    "admin", msg);
		free(msg);
	}
	return rc == 1;
}

/* Thread: the entry said told, unless it moved on meanwhile (another
 * incident, or it is back: that one is to be told). */
static void
told(struct cluster *cl, const json_t *was)
{
	json_t		*o;
	uint64_t	 rev;
	int		 i;

	for (i = 0; i < CAS_TRIES; i++) {
		if ((o = cluster_kv_object(cl->watchdog, KEY, &rev,
		    "watchdog")) == NULL)
			return;
		if (!json_equal(json_object_get(o, "incident"),
		    json_object_get(was, "incident")) ||
		    !json_equal(json_object_get(o, "down"),
		    json_object_get(was, "down"))) {
			json_decref(o);
			return;
		}
		json_object_set_new(o, "told", json_true());
		if (cluster_kv_cas(cl->watchdog, KEY, o, &rev,
		    "watchdog") != 0) {
			json_decref(o);
			return;
		}
		json_decref(o);
	}
}

/*
 * Thread, between two fetches: every EVERY_S, whether monitoring stopped
 * or is back, moved in the bucket by the first pager to see it, which
 * tells set admin; a claim left untold by a dead pager is taken over.
 */
void
cluster_watchdog_tick(struct cluster *cl)
{
	const struct conf *c = cl->conf;
	struct watchdog	 w;
	enum wd_verdict	 v;
	json_t		*o;
	char		 why[256], said[256];
	uint64_t	 rev;
	int64_t		 now = time(NULL);
	size_t		 known;
	long		 alive, need = c->quorum > 0 ? (long)c->quorum : 1;

	if (cl->watchdog == NULL || !cluster_due(&cl->watchdog_next, EVERY_S))
		return;
	if ((alive = alive_nodes(cl, now, &known)) == -1)
		return;
	if (alive != cl->watchdog_alive)
		log_info("cluster: %ld of %zu probe nodes alive (set admin is "
		    "paged below %ld)", alive, known, need);
	cl->watchdog_alive = alive;
	if (alive >= need)
		snprintf(why, sizeof(why), "%ld of %zu probe nodes alive",
		    alive, known);
	else if (alive == 0)
		snprintf(why, sizeof(why), "no probe node alive (of %zu)",
		    known);
	else
		snprintf(why, sizeof(why), "%ld of %zu probe nodes alive, "
		    "set quorum %ld needs more", alive, known, need);
	if ((o = cluster_kv_object(cl->watchdog, KEY, &rev,
	    "watchdog")) == NULL)
		return;
	entry_watchdog(o, &w);
	w.bad_since = cl->watchdog_bad_since;
	v = watchdog_judge(&w, alive >= need, 0, watchdog_interval(c), now,
	    said, sizeof(said));
	cl->watchdog_bad_since = w.bad_since;
	if (v == WD_STOPPED || v == WD_BACK) {
		json_object_set_new(o, "incident", json_integer(w.incident));
		json_object_set_new(o, "down", json_boolean(w.down));
		json_object_set_new(o, "since", json_integer(w.since));
		json_object_set_new(o, "why", json_string(why));
		json_object_set_new(o, "told", json_false());
	} else if (json_is_false(json_object_get(o, "told")) &&
	    cluster_claim_lapsed(cl, json_string_value(json_object_get(o,
	    "pager")), json_integer_value(json_object_get(o, "claimed")),
	    now))
		log_info("cluster: set admin's page of watchdog incident %u "
		    "taken over", w.incident);
	else {
		json_decref(o);
		return;
	}
	json_object_set_new(o, "pager", json_string(cl->self));
	json_object_set_new(o, "claimed", json_integer(now));
	if (cluster_kv_cas(cl->watchdog, KEY, o, &rev, "watchdog") == 1 &&
	    tell(cl, o) == 1)
		told(cl, o);
	json_decref(o);
}
