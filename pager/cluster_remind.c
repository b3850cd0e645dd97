/*
 * cluster_remind.c: renotify and escalate-after of the cluster's pagers.
 * What is due comes from remind.c, as on one machine, from the server's
 * open problem in its memo entry (tocsin_memo); what was made of it, and
 * what is being sent, is in the bucket tocsin_remind, one entry a
 * server:
 *   {"problem": SEQ, "rounds": "ops:2", "escalated": "boss",
 *    "escalated_at": "boss:T", "pending": [{"to", "round", "from", "time", "pager", "claimed"}]}
 * Every pager looks at it every few seconds; the one whose
 * compare-and-set puts a due reminder in "pending" (claimed) sends it,
 * each page under its delivery record in tocsin_deliveries like an
 * event's (SEQ.CONTACT.CHANNEL.rN), then takes it out. A claim whose
 * pager died mid-send (cluster_claim_lapsed) is taken over by another,
 * which sends what is not final yet with the same Message-ID and
 * Idempotency-Key. Acks and downtimes are the cluster's, in the bucket
 * tocsin_control (tocsinctl on any node).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "conf.h"
#include "jsontext.h"
#include "log.h"
#include "xmalloc.h"

#include "cluster_impl.h"
#include "link.h"
#include "quorum.h"
#include "store.h"

#define REMIND_BUCKET	"tocsin_remind"	/* KV: server key -> entry */
#define EVERY_S		2	/* a look at what is due */
#define DUE_MAX		64

/* Thread: the buckets (tocsin_remind, tocsin_control for acks and
 * downtimes, and the cluster's states), made unless they exist. 0, or -1
 * with err. */
int
cluster_remind_open(struct cluster *cl, char *err, size_t errlen)
{
	if (cl->remind == NULL && store_bucket(link_js(cl->link),
	    REMIND_BUCKET, link_replicas(cl->link), 1, &cl->remind, err,
	    errlen) == -1)
		return -1;
	if (cl->control == NULL && store_bucket(link_js(cl->link),
	    QUORUM_CONTROL, link_replicas(cl->link), 1, &cl->control, err,
	    errlen) == -1)
		return -1;
	if (cl->states == NULL && store_bucket(link_js(cl->link),
	    QUORUM_STATES, link_replicas(cl->link), 1, &cl->states, err,
	    errlen) == -1)
		return -1;
	return 0;
}

/* 1 if server sv has renotify or escalate-after for one of its
 * contacts: only then can anything be due. */
static int
reminds(const struct server_conf *sv)
{
	size_t i;

	for (i = 0; i < sv->ncontacts; i++)
		if (rules_renotify_ms(sv, sv->contacts[i]) != 0 ||
		    sv->contacts[i]->escalate != NULL)
			return 1;
	return 0;
}

static const struct contact_conf *
contact_named(const struct conf *c, const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < c->ncontacts; i++)
		if (strcmp(c->contacts[i]->name, name) == 0)
			return c->contacts[i];
	return NULL;
}

/*
 * Thread: 1 if the cluster holds the problem of the server of key skey
 * from being paged again at now: acknowledged (SKEY.ack in
 * tocsin_control), in a downtime (a SKEY.dt.N running), or over (the
 * cluster's state is up again: its recovery is on its way, and the ack
 * went with it); 0 if not; -1 when a bucket cannot tell.
 */
static int
held(struct cluster *cl, const char *skey, int64_t now)
{
	kvKeysList	 keys;
	kvEntry		*e;
	json_t		*o, *d;
	char		 pre[QUORUM_KEY_MAX + 8];
	uint64_t	 rev;
	natsStatus	 s;
	int		 i, r = 0;

	if ((s = store_keys(cl->control, &keys)) == NATS_NOT_FOUND)
		return 0;
	if (s != NATS_OK)
		return -1;
	snprintf(pre, sizeof(pre), "%s.", skey);
	for (i = 0; i < keys.Count && r == 0; i++) {
		if (strncmp(keys.Keys[i], pre, strlen(pre)) != 0)
			continue;
		if (strcmp(keys.Keys[i] + strlen(pre), "ack") == 0) {
			r = 1;
			continue;
		}
		if (strncmp(keys.Keys[i] + strlen(pre), "dt.", 3) != 0 ||
		    kvStore_Get(&e, cl->control, keys.Keys[i]) != NATS_OK)
			continue;
		o = json_loads(kvEntry_ValueString(e), 0, NULL);
		d = json_object_get(o, "downtime");
		r = json_integer_value(json_object_get(d, "from")) <= now &&
		    now < json_integer_value(json_object_get(d, "until"));
		json_decref(o);
		kvEntry_Destroy(e);
	}
	kvKeysList_Destroy(&keys);
	if (r == 0) {
		if ((o = cluster_kv_object(cl->states, skey, &rev,
		    "states")) == NULL)
			return -1;
		r = json_is_string(json_object_get(o, "new")) &&
		    strcmp(json_string_value(json_object_get(o, "new")),
		    "up") == 0;
		json_decref(o);
	}
	return r;
}

/* A pending reminder as stored. */
static json_t *
item_new(const struct remind *r, int64_t now, const char *pager)
{
	json_t *o;

	o = json_pack("{s:s, s:i, s:s, s:I, s:s, s:I}", "to", r->ct->name,
	    "round", (int)r->round, "from", r->from != NULL ?
	    r->from->name : "", "time", (json_int_t)now, "pager", pager,
	    "claimed", (json_int_t)now);
	if (o == NULL)
		fatalx("cluster: remind: out of memory");
	return o;
}

/* 1 if items a and b are the same reminder. */
static int
item_same(json_t *a, json_t *b)
{
	return json_equal(json_object_get(a, "to"), json_object_get(b,
	    "to")) && json_equal(json_object_get(a, "round"),
	    json_object_get(b, "round")) && json_equal(json_object_get(a,
	    "from"), json_object_get(b, "from"));
}

/*
 * The reminder an item is, for the open problem of e; 0, or -1 when its
 * contact left the config.
 */
static int
item_remind(const struct conf *c, json_t *it, struct remind *r)
{
	const char *from;

	memset(r, 0, sizeof(*r));
	r->ct = contact_named(c, json_string_value(json_object_get(it,
	    "to")));
	r->round = (unsigned)json_integer_value(json_object_get(it,
	    "round"));
	from = json_string_value(json_object_get(it, "from"));
	if (from != NULL && *from != '\0' &&
	    (r->from = contact_named(c, from)) == NULL)
		return -1;
	return r->ct != NULL ? 0 : -1;
}

/*
 * Thread: change the entry of skey by fn(entry, arg) under
 * compare-and-set, read again on a conflict. fn returns 1 to write, 0
 * for no change. 1 when written, 0 when nothing to write, -1 when the
 * bucket failed or others kept changing it.
 */
static int
entry_change(struct cluster *cl, const char *skey,
    int (*fn)(json_t *, void *), void *arg)
{
	char		 err[256], *val, *nval;
	uint64_t	 rev;
	json_t		*o;
	int		 i, r;

	for (i = 0; i < 10; i++) {
		if (store_get(cl->remind, skey, &val, &rev, err,
		    sizeof(err)) == -1)
			break;
		o = val != NULL ? json_loads(val, 0, NULL) : NULL;
		free(val);
		if (!json_is_object(o)) {
			json_decref(o);
			o = json_object();
		}
		if (fn(o, arg) == 0) {
			json_decref(o);
			return 0;
		}
		nval = json_dumps(o, JSONTEXT_DUMP_FLAGS);
		json_decref(o);
		if (nval == NULL)
			fatalx("cluster: remind: out of memory");
		r = store_cas(cl->remind, skey, nval, rev, err, sizeof(err));
		free(nval);
		if (r != 0)
			return r;
	}
	log_warnx("cluster: remind %s: %s", skey, i < 10 ? err :
	    "changed under us too often");
	return -1;
}

/* The string member name of o into buf ("" when it has none). */
static void
get_str_into(json_t *o, const char *name, char *buf, size_t len)
{
	const char *v = json_string_value(json_object_get(o, name));

	snprintf(buf, len, "%s", v != NULL ? v : "");
}

/* What one look at a server's entry takes and gives. */
struct look {
	struct cluster		*cl;
	const struct server_conf *sv;
	struct memo_entry	*e;	/* its open problem */
	int64_t			 now;
	int			 held;	/* acked or in a downtime */
	json_t			*mine;	/* the items claimed now */
};

/*
 * entry_change: the entry set for the open problem (a new one starts
 * afresh); reminders due put in "pending", claimed; lapsed claims
 * taken over (dropped when the problem is over or held).
 */
static int
claim(json_t *o, void *arg)
{
	struct look	*lk = arg;
	struct memo_entry *e = lk->e;
	struct remind	 due[DUE_MAX];
	json_t		*pend, *it, *keep;
	size_t		 n, i;
	int		 changed = 0;

	json_array_clear(lk->mine);
	if ((uint64_t)json_integer_value(json_object_get(o, "problem")) !=
	    e->problem && e->problem != 0) {
		json_object_clear(o);
		jsontext_set(o, "problem", jsontext_u64(e->problem));
		changed = 1;
	}
	if (!json_is_array(pend = json_object_get(o, "pending")))
		json_object_set_new(o, "pending", pend = json_array());
	keep = json_array();
	json_array_foreach(pend, i, it) {
		if (!cluster_claim_lapsed(lk->cl, json_string_value(
		    json_object_get(it, "pager")), json_integer_value(
		    json_object_get(it, "claimed")), lk->now))
			json_array_append(keep, it);
		else if (e->problem != 0 && !lk->held) {
			json_object_set_new(it, "pager",
			    json_string(lk->cl->self));
			json_object_set_new(it, "claimed",
			    json_integer(lk->now));
			json_array_append(keep, it);
			json_array_append(lk->mine, it);
			changed = 1;
		} else
			changed = 1;	/* dropped: over, or held */
	}
	json_object_set_new(o, "pending", keep);
	if (e->problem == 0 || lk->held)
		return changed;
	get_str_into(o, "rounds", e->rounds, sizeof(e->rounds));
	get_str_into(o, "escalated", e->escalated, sizeof(e->escalated));
	get_str_into(o, "escalated_at", e->escalated_at,
	    sizeof(e->escalated_at));
	n = remind_due(lk->cl->conf, lk->sv, e, lk->now, due, DUE_MAX);
	for (i = 0; i < n; i++) {
		remind_done(e, &due[i], lk->now);
		it = item_new(&due[i], lk->now, lk->cl->self);
		json_array_append(keep, it);
		json_array_append_new(lk->mine, it);
		changed = 1;
	}
	json_object_set_new(o, "rounds", json_string(e->rounds));
	json_object_set_new(o, "escalated", json_string(e->escalated));
	json_object_set_new(o, "escalated_at", json_string(e->escalated_at));
	return changed;
}

/* entry_change: the claim of item arg made fresh (0: it is gone). */
static int
refresh(json_t *o, void *arg)
{
	json_t	*it;
	size_t	 i;

	json_array_foreach(json_object_get(o, "pending"), i, it)
		if (item_same(it, arg)) {
			json_object_set_new(it, "claimed",
			    json_integer(time(NULL)));
			return 1;
		}
	return 0;
}

/* entry_change: item arg sent, taken out of "pending". */
static int
unpend(json_t *o, void *arg)
{
	json_t	*pend = json_object_get(o, "pending"), *it;
	size_t	 i;

	json_array_foreach(pend, i, it)
		if (item_same(it, arg)) {
			json_array_remove(pend, i);
			return 1;
		}
	return 0;
}

/*
 * Thread: the pages of claimed item it (a reminder or an escalation of
 * the open problem of lk), each under its delivery record, as an event's
 * are: one final already is not sent again. 1 when all are final (or its
 * contact left the config), 0 when one is to be tried again (the claim
 * then lapses and the next look takes it).
 */
static int
send_item(struct look *lk, const char *skey, json_t *it)
{
	struct cluster		*cl = lk->cl;
	struct remind		 r;
	struct spool_event	 ev;
	struct want		 w[3];
	char			*msg;
	size_t			 k, j;
	int			 rc = 1;

	if (item_remind(cl->conf, it, &r) == -1)
		return 1;
	remind_event(lk->e, &r, json_integer_value(json_object_get(it,
	    "time")), &ev);
	k = rules_contact_wants(r.ct, &ev, NULL, w, 3);
	log_info("event %" PRIu64 " %s: %s to %s (%zu page%s): %s",
	    lk->e->problem, lk->e->id, r.from != NULL ? "escalated" :
	    "reminder", r.ct->name, k, k == 1 ? "" : "s", ev.message);
	for (j = 0; j < k && rc == 1; j++) {
		/* best effort: a read may not see our claim yet */
		if (j > 0)
			entry_change(cl, skey, refresh, it);
		msg = cluster_page_format(cl, &ev, &w[j], NULL, r.round, 0);
		rc = cluster_page_made(cl, NULL, ev.seq, NULL, &w[j], r.round,
		    r.from != NULL ? "escalation" : "reminder", msg);
		free(msg);
	}
	return rc == 1;
}

/*
 * Thread: item it is sent: out of "pending". A bucket's replica may
 * answer a read before it has our claim (JetStream KV reads go to any
 * replica): one without the item is read again a few times.
 */
static void
sent(struct cluster *cl, const char *skey, json_t *it)
{
	int i;

	for (i = 0; i < 20 && entry_change(cl, skey, unpend, it) == 0; i++)
		nanosleep(&(struct timespec){ 0, 100000000 }, NULL);
}

/*
 * Thread: one look at server sv: claim what is due (or a dead pager's
 * claim) and send it. Nothing when its problem is closed, acknowledged
 * or in a downtime, as on one machine (remind_allowed).
 */
static void
look(struct cluster *cl, const struct server_conf *sv, int64_t now)
{
	struct memo_entry	 e;
	struct look		 lk;
	char			 skey[QUORUM_KEY_MAX], err[256], *val;
	uint64_t		 rev;
	json_t			*o, *it;
	size_t			 i;

	quorum_key(sv->id, skey, sizeof(skey));
	if (store_get(cl->memo, skey, &val, &rev, err, sizeof(err)) != 1)
		return;
	memset(&e, 0, sizeof(e));
	snprintf(e.id, sizeof(e.id), "%s", sv->id);
	if ((o = json_loads(val, 0, NULL)) != NULL)
		memo_entry_parse(&e, o);
	json_decref(o);
	free(val);
	memset(&lk, 0, sizeof(lk));
	lk.cl = cl;
	lk.sv = sv;
	lk.e = &e;
	lk.now = now;
	if (e.problem != 0 && (lk.held = held(cl, skey, now)) == -1)
		return;
	lk.mine = json_array();
	if (entry_change(cl, skey, claim, &lk) == 1)
		json_array_foreach(lk.mine, i, it)
			if (send_item(&lk, skey, it) == 1)
				sent(cl, skey, it);
	json_decref(lk.mine);
}

/*
 * Thread, between two fetches: every EVERY_S, a look at each server
 * whose contacts have renotify or escalate-after.
 */
void
cluster_remind_tick(struct cluster *cl)
{
	size_t		 i;

	if (cl->remind == NULL || !cluster_due(&cl->remind_next, EVERY_S))
		return;
	for (i = 0; i < cl->conf->nservers; i++)
		if (reminds(cl->conf->servers[i]))
			look(cl, cl->conf->servers[i], time(NULL));
}

/*
 * Thread: the recovery ev's deliveries to the contacts its problem (cm's,
 * the memo's open problem before it) was escalated to, as on one machine
 * (remind_escalated_wants); in out, how many returned. None when the
 * bucket cannot tell (logged).
 */
size_t
cluster_remind_recovery(struct cluster *cl, const struct spool_event *ev,
    const struct cluster_memo *cm, struct want *out, size_t max)
{
	char		 skey[QUORUM_KEY_MAX], err[256], esc[256], *val;
	uint64_t	 rev;
	json_t		*o;
	size_t		 n = 0;
	int		 r;

	if (cm->problem == 0 || strcmp(ev->new_state, "up") != 0)
		return 0;
	quorum_key(ev->id, skey, sizeof(skey));
	if ((r = store_get(cl->remind, skey, &val, &rev, err,
	    sizeof(err))) == -1)
		log_warnx("cluster: remind: %s", err);
	if (r != 1)
		return 0;
	if ((o = json_loads(val, 0, NULL)) != NULL &&
	    (uint64_t)json_integer_value(json_object_get(o, "problem")) ==
	    cm->problem) {
		get_str_into(o, "escalated", esc, sizeof(esc));
		n = remind_escalated_wants(cl->conf, esc, ev, out, max);
	}
	json_decref(o);
	free(val);
	return n;
}
