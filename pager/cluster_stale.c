/*
 * cluster_stale.c: stale digests of the cluster's pagers (set
 * stale-after), as on one machine: a contact's channel with two or more
 * pages not delivered (their record in tocsin_deliveries not final)
 * made longer than stale-after ago gets them in one digest,
 * in the place of the last one's page (its Message-ID and
 * Idempotency-Key). Every pager looks every EVERY_S between fetches at
 * the records of the events not acked yet (past the consumer's ack
 * floor); the one whose compare-and-set makes the lane's entry in the
 * bucket tocsin_stale, one a contact and channel:
 *   {"state": "sending"|"sent", "pager", "claimed", "digest": SEQ,
 *    "contact", "to", "channel", "lines": [...], "keys": [...]}
 * marks each listed record "stale" (final: its event is acked as listed
 * in the digest) and sends the digest until it goes, then says "sent".
 * A record is marked only between two tries ("waiting"), by
 * compare-and-set, as a try begins by one ("sending"): so a page goes
 * either alone or in the digest, never both. A try under way as its lane
 * is claimed is waited for (SETTLE_MS at most): listed when it failed,
 * left out when it went or still runs.
 * A claim whose pager died mid-send (cluster_claim_lapsed) is taken
 * over by another pager, which sends it again with the same Message-ID.
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
#include "store.h"

#define STALE_BUCKET	"tocsin_stale"	/* KV: CONTACT.CHANNEL -> entry */
#define EVERY_S		2	/* a look at what is stale */
#define CAS_TRIES	10
#define SETTLE_MS	3000	/* a try under way waited for, at most */
#define SETTLE_STEP_MS	100

/* Thread: the bucket, made unless it exists. 0, or -1 with err. */
int
cluster_stale_open(struct cluster *cl, char *err, size_t errlen)
{
	if (cl->stale != NULL)
		return 0;
	return store_bucket(link_js(cl->link), STALE_BUCKET,
	    link_replicas(cl->link), 1, &cl->stale, err, errlen);
}

static const char *
str(json_t *o, const char *name)
{
	const char *s = json_string_value(json_object_get(o, name));

	return s != NULL ? s : "";
}

/* Thread: may record o (a page not final) be marked stale at now? When
 * no try of it is under way: it waits for its next try, or the pager
 * trying it died (or is stuck). */
static int
markable(struct cluster *cl, json_t *o, int64_t now)
{
	if (strcmp(str(o, "state"), "waiting") == 0)
		return 1;
	return strcmp(str(o, "state"), "sending") == 0 &&
	    cluster_claim_lapsed(cl, str(o, "pager"), json_integer_value(
	    json_object_get(o, "time")), now);
}

/*
 * Thread: each record of keys that no try has under way marked "stale",
 * listed in the digest of event seq, by compare-and-set (a pager that
 * begins a try meanwhile wins, and its page is not listed). A try under
 * way is waited for, SETTLE_MS at most: mostly it is short (a relay that
 * refuses), and a page whose try failed belongs in the digest, not in a
 * mail of its own a retry later. In listed, 1 for each that is stale now
 * (a record already so counts), else 0.
 */
static void
mark(struct cluster *cl, json_t *keys, uint64_t seq, int64_t now,
    char *listed)
{
	json_t		*k, *o;
	uint64_t	 rev;
	size_t		 i;
	int		 t, r, waited;

	json_array_foreach(keys, i, k)
		for (t = 0, r = 0, waited = 0, listed[i] = 0; t < CAS_TRIES &&
		    r == 0; t++) {
			if ((o = cluster_kv_object(cl->kv, json_string_value(k),
			    &rev, "stale")) == NULL)
				break;
			r = 1;
			if (strcmp(str(o, "state"), "stale") == 0)
				listed[i] = 1;
			else if (markable(cl, o, now)) {
				json_object_set_new(o, "state",
				    json_string("stale"));
				json_object_set_new(o, "digest",
				    jsontext_u64(seq));
				r = cluster_kv_cas(cl->kv, json_string_value(k),
				    o, &rev, "stale");
				listed[i] = r == 1;
			} else if (strcmp(str(o, "state"), "sending") == 0 &&
			    waited < SETTLE_MS) {
				r = 0;
				t--;	/* a wait, not a lost compare-and-set */
				waited += SETTLE_STEP_MS;
				nanosleep(&(struct timespec){ 0,
				    SETTLE_STEP_MS * 1000000L }, NULL);
			}
			json_decref(o);
		}
}

/*
 * Thread: entry e (lane's, at *rev, ours) down to the pages listed[] says
 * were marked, under the newest one's Message-ID, so that a pager taking
 * it over sends what this one would. 1, 0 when none was (nothing to
 * send), -1 when the bucket failed.
 */
static int
keep_listed(struct cluster *cl, const char *lane, json_t *e, uint64_t *rev,
    const char *listed)
{
	json_t		*lines, *keys, *k;
	uint64_t	 seq = 0;
	size_t		 i, n = json_array_size(json_object_get(e, "keys"));

	for (i = 0; i < n && listed[i]; i++)
		;
	if (i == n)
		return 1;	/* all of them */
	lines = json_array();
	keys = json_array();
	json_array_foreach(json_object_get(e, "keys"), i, k)
		if (listed[i]) {
			json_array_append(keys, k);
			json_array_append(lines, json_array_get(
			    json_object_get(e, "lines"), i));
			seq = strtoull(json_string_value(k), NULL, 10);
		}
	log_info("stale digest of event %" PRIu64 ": %zu of its %zu pages "
	    "listed (the others are being tried)", (uint64_t)
	    json_integer_value(json_object_get(e, "digest")),
	    json_array_size(keys), n);
	json_object_set_new(e, "lines", lines);
	json_object_set_new(e, "keys", keys);
	json_object_set_new(e, "digest", jsontext_u64(seq));
	if (seq == 0)
		json_object_set_new(e, "state", json_string("sent"));
	if (cluster_kv_cas(cl->stale, lane, e, rev, "stale") != 1)
		return -1;
	return seq != 0;
}

/* Thread: the digest of entry e (lane key) sent: 1 it went (or was
 * refused), 0 to try again at the next look. */
static int
send_lane(struct cluster *cl, json_t *e)
{
	struct want	 w;
	const char	**lines;
	json_t		*l;
	char		*msg, err[ERROR_MAX];
	uint64_t	 seq = (uint64_t)json_integer_value(json_object_get(e,
			    "digest"));
	size_t		 n, i;
	enum send_result r;

	memset(&w, 0, sizeof(w));
	if ((w.contact = conf_find_contact(cl->conf, str(e, "contact"))) ==
	    NULL || queue_channel_parse(str(e, "channel"), &w.ch) == -1)
		return 1;	/* it left the config */
	w.to = str(e, "to");
	n = json_array_size(json_object_get(e, "lines"));
	lines = xcalloc(n + 1, sizeof(*lines));
	json_array_foreach(json_object_get(e, "lines"), i, l)
		lines[i] = json_string_value(l);
	msg = cluster_digest_format(cl, &w, seq, lines, n, 1);
	free(lines);
	/* Tests read this line. */
	log_info("event %" PRIu64 ": sending stale digest of %zu pages for %s "
	    "(%s)", seq, n, w.contact->name, queue_channel_str(w.ch));
	if (msg == NULL) {
		snprintf(err, sizeof(err), "cannot make the stale digest");
		r = SEND_REFUSED;
	} else
		r = cluster_send_made(cl, seq, &w, 0, msg, err, sizeof(err));
	free(msg);
	if (r == SEND_RETRY) {
		log_warnx("event %" PRIu64 ": stale digest to %s: %s; trying "
		    "again", seq, w.contact->name, err);
		return 0;
	}
	log_info("event %" PRIu64 ": stale digest of %zu pages for %s (%s) "
	    "%s%s%s", seq, n, w.contact->name, queue_channel_str(w.ch),
	    r == SEND_OK ? "delivered" : "refused", r == SEND_OK ? "" : ": ",
	    r == SEND_OK ? "" : err);
	return 1;
}

/*
 * Thread: the lane's entry, if it is a digest to send that is ours or
 * whose claim lapsed: claimed afresh, its records marked, sent; "sent"
 * once it went.
 */
static void
drive(struct cluster *cl, const char *lane, int64_t now)
{
	json_t		*e;
	uint64_t	 rev;
	char		*listed;
	int		 r;

	if ((e = cluster_kv_object(cl->stale, lane, &rev, "stale")) == NULL)
		return;
	if (strcmp(str(e, "state"), "sending") != 0 ||
	    (strcmp(str(e, "pager"), cl->self) != 0 &&
	    !cluster_claim_lapsed(cl, str(e, "pager"), json_integer_value(
	    json_object_get(e, "claimed")), now))) {
		json_decref(e);
		return;
	}
	json_object_set_new(e, "pager", json_string(cl->self));
	json_object_set_new(e, "claimed", json_integer(now));
	if (cluster_kv_cas(cl->stale, lane, e, &rev, "stale") != 1) {
		json_decref(e);
		return;
	}
	listed = xcalloc(json_array_size(json_object_get(e, "keys")) + 1, 1);
	mark(cl, json_object_get(e, "keys"), (uint64_t)json_integer_value(
	    json_object_get(e, "digest")), now, listed);
	r = keep_listed(cl, lane, e, &rev, listed);
	free(listed);
	if (r == 1 && send_lane(cl, e) == 1) {
		json_decref(e);
		for (r = 0; r < CAS_TRIES; r++) {
			if ((e = cluster_kv_object(cl->stale, lane, &rev,
			    "stale")) == NULL)
				return;
			json_object_set_new(e, "state", json_string("sent"));
			if (cluster_kv_cas(cl->stale, lane, e, &rev,
			    "stale") != 0)
				break;
			json_decref(e);
			e = NULL;
		}
	}
	json_decref(e);
}

/* Thread: the lane's digest of the stale records in items (n >= 2),
 * claimed unless one is being sent. */
static void
claim(struct cluster *cl, const char *lane, json_t *items, int64_t now)
{
	json_t		*e, *it, *lines, *keys, *last = NULL;
	uint64_t	 rev;
	size_t		 i;

	if ((e = cluster_kv_object(cl->stale, lane, &rev, "stale")) == NULL)
		return;
	if (strcmp(str(e, "state"), "sending") == 0) {
		json_decref(e);
		return;
	}
	json_object_clear(e);
	lines = json_array();
	keys = json_array();
	json_array_foreach(items, i, it) {
		json_array_append(lines, json_object_get(it, "line"));
		json_array_append(keys, json_object_get(it, "key"));
		last = it;
	}
	json_object_set_new(e, "state", json_string("sending"));
	json_object_set_new(e, "pager", json_string(cl->self));
	json_object_set_new(e, "claimed", json_integer(now));
	json_object_set(e, "digest", json_object_get(last, "seq"));
	json_object_set(e, "contact", json_object_get(last, "contact"));
	json_object_set(e, "to", json_object_get(last, "to"));
	json_object_set(e, "channel", json_object_get(last, "channel"));
	json_object_set_new(e, "lines", lines);
	json_object_set_new(e, "keys", keys);
	if (cluster_kv_cas(cl->stale, lane, e, &rev, "stale") == 1)
		log_info("%zu pages to %s (%s) made over %" PRIu64 " s ago: "
		    "held for one digest", json_array_size(items),
		    str(last, "contact"), str(last, "channel"),
		    cl->conf->stale_after_ms / 1000);
	json_decref(e);
}

/* qsort: items by their event's number. */
static int
by_seq(const void *a, const void *b)
{
	json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a,
	    "seq")), y = json_integer_value(json_object_get(
	    *(json_t *const *)b, "seq"));

	return x < y ? -1 : x > y;
}

/*
 * Thread: the records of the events not acked yet that are pages not
 * final, made before cut, with no try under way at now (markable), by
 * lane (CONTACT.CHANNEL), each in seq order. NULL when the bucket or the
 * consumer cannot tell. The keys are listed only while an event taken is
 * not acked (a page is failing).
 */
static json_t *
stale_records(struct cluster *cl, int64_t now, int64_t cut)
{
	jsConsumerInfo	*ci = NULL;
	kvKeysList	 keys;
	json_t		*lanes, *o, *arr, *v;
	const char	*k, *dot;
	uint64_t	 floor, top, rev;
	json_t		**sorted;
	const char	*lk;
	size_t		 i, n;
	natsStatus	 s;

	if (natsSubscription_GetConsumerInfo(&ci, cl->sub, NULL, NULL) !=
	    NATS_OK)
		return NULL;
	floor = ci->AckFloor.Stream;
	top = ci->Delivered.Stream;
	jsConsumerInfo_Destroy(ci);
	lanes = json_object();
	if (top <= floor)
		return lanes;	/* every event taken is acked */
	if ((s = store_keys(cl->kv, &keys)) != NATS_OK &&
	    s != NATS_NOT_FOUND) {
		json_decref(lanes);
		return NULL;
	}
	for (i = 0; s == NATS_OK && i < (size_t)keys.Count; i++) {
		k = keys.Keys[i];
		/* SEQ.CONTACT.CHANNEL: an event's page (not a reminder's) */
		if (strtoull(k, NULL, 10) <= floor ||
		    (dot = strchr(k, '.')) == NULL ||
		    strchr(dot + 1, '.') == NULL ||
		    strchr(strchr(dot + 1, '.') + 1, '.') != NULL ||
		    (o = cluster_kv_object(cl->kv, k, &rev, "stale")) == NULL)
			continue;
		if (markable(cl, o, now) &&
		    strcmp(str(o, "what"), "page") == 0 &&
		    json_integer_value(json_object_get(o, "made")) < cut) {
			json_object_set_new(o, "seq", json_integer(
			    (json_int_t)strtoull(k, NULL, 10)));
			json_object_set_new(o, "key", json_string(k));
			if ((arr = json_object_get(lanes, dot + 1)) == NULL)
				json_object_set_new(lanes, dot + 1,
				    arr = json_array());
			json_array_append(arr, o);
		}
		json_decref(o);
	}
	if (s == NATS_OK)
		kvKeysList_Destroy(&keys);
	json_object_foreach(lanes, lk, arr) {
		n = json_array_size(arr);
		sorted = xcalloc(n + 1, sizeof(*sorted));
		json_array_foreach(arr, i, v)
			sorted[i] = json_incref(v);
		qsort(sorted, n, sizeof(*sorted), by_seq);
		json_array_clear(arr);
		for (i = 0; i < n; i++)
			json_array_append_new(arr, sorted[i]);
		free(sorted);
	}
	return lanes;
}

/*
 * Thread, between two fetches: every EVERY_S, the digests due claimed,
 * then each lane's digest that is ours, or whose claim lapsed, sent.
 */
void
cluster_stale_tick(struct cluster *cl)
{
	kvKeysList	 keys;
	json_t		*lanes, *arr;
	const char	*lane;
	int64_t		 now = time(NULL);
	int		 i;

	if (cl->stale == NULL || cl->sub == NULL ||
	    cl->conf->stale_after_ms == 0 ||
	    !cluster_due(&cl->stale_next, EVERY_S))
		return;
	if ((lanes = stale_records(cl, now, now -
	    (int64_t)(cl->conf->stale_after_ms / 1000))) != NULL)
		json_object_foreach(lanes, lane, arr)
			if (json_array_size(arr) >= 2)
				claim(cl, lane, arr, now);
	json_decref(lanes);
	if (store_keys(cl->stale, &keys) != NATS_OK)
		return;
	for (i = 0; i < keys.Count; i++)
		drive(cl, keys.Keys[i], now);
	kvKeysList_Destroy(&keys);
}
