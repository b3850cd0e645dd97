/*
 * cluster_memo.c: the memo (memo.c) of the cluster's pagers, one entry a
 * server in the bucket tocsin_memo, its value memo.c's entry as JSON
 * plus the event it last noted: whichever pager pages a server's problem,
 * the one that pages its recovery knows who got the problem by SMS (the
 * recovery reaches them by SMS even in their quiet hours), whether the
 * server flapped and the state its contacts last heard (the end of
 * flapping goes to those who heard its start). Changed by compare-and-set: two pagers noting
 * events of one server at once both count.
 * It also keeps a server's events in their order, as the lanes of one
 * machine do (dispatch.c): an event is noted only once every earlier
 * event of its server in the stream is (until then it is NAKed to come
 * again), and "open" lists the events noted whose pages are not all
 * final yet, each with what the memo said before it; an event with an
 * earlier one open makes its records but sends nothing (cluster.c). So
 * a recovery never reaches a contact before its problem's page, in
 * flight at another pager or retried, and a stale digest may still list
 * both, as on one machine.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "conf.h"
#include "jsontext.h"
#include "log.h"
#include "xmalloc.h"

#include "cluster_impl.h"
#include "link.h"
#include "quorum.h"
#include "store.h"

#define MEMO_BUCKET	"tocsin_memo"	/* KV: server key -> entry */
#define CAS_TRIES	10		/* read-change-write rounds */
#define SCAN_MAX	16		/* events skipped, at most, looking for
					   an earlier one not noted */
#define OPEN_MAX	64		/* events of a server open at once; one
					   more waits to be noted */

/* Thread: the bucket, made unless it exists. 0, or -1 with err. */
int
cluster_memo_open(struct cluster *cl, char *err, size_t errlen)
{
	if (cl->memo != NULL)
		return 0;
	return store_bucket(link_js(cl->link), MEMO_BUCKET,
	    link_replicas(cl->link), 1, &cl->memo, err, errlen);
}

/* What the memo said before an event, from o (the entry, or one of its
 * open events). */
static void
before_of(json_t *o, struct cluster_memo *cm)
{
	memset(cm, 0, sizeof(*cm));
	cm->was_flapping = json_is_true(json_object_get(o, "was_flapping"));
	cm->problem = (uint64_t)json_integer_value(json_object_get(o,
	    "was_problem"));
	snprintf(cm->sms, sizeof(cm->sms), "%s",
	    json_string_value(json_object_get(o, "was_sms")) != NULL ?
	    json_string_value(json_object_get(o, "was_sms")) : "");
	snprintf(cm->heard, sizeof(cm->heard), "%s",
	    json_string_value(json_object_get(o, "was_heard")) != NULL ?
	    json_string_value(json_object_get(o, "was_heard")) : "up");
}

/* Put event seq and what the memo said before it in o. 0, or -1. */
static int
put_before(json_t *o, uint64_t seq, const struct cluster_memo *cm)
{
	if (jsontext_set(o, "seq", jsontext_u64(seq)) == -1 ||
	    jsontext_set(o, "was_flapping", json_boolean(cm->was_flapping)) ==
	    -1 ||
	    jsontext_set(o, "was_sms", jsontext(cm->sms)) == -1 ||
	    jsontext_set(o, "was_heard", jsontext(cm->heard)) == -1 ||
	    jsontext_set(o, "was_problem", jsontext_u64(cm->problem)) == -1)
		return -1;
	return 0;
}

/* The event's sequence in o (an open event, or the entry: its last). */
static uint64_t
seq_of(const json_t *o)
{
	return (uint64_t)json_integer_value(json_object_get(o, "seq"));
}

/*
 * The open events of entry o (val; none: NULL), a new array; its parsed
 * entry in e (e->id set by the caller), what the memo said before its
 * last event in *before, that event in *seen (0: none).
 */
static json_t *
entry_of(const char *val, struct memo_entry *e, struct cluster_memo *before,
    uint64_t *seen)
{
	json_t	*o, *open, *v;
	size_t	 i;

	memset(before, 0, sizeof(*before));
	*seen = 0;
	if ((open = json_array()) == NULL)
		fatalx("cluster: memo: out of memory");
	if (val == NULL || (o = json_loads(val, 0, NULL)) == NULL)
		return open;
	memo_entry_parse(e, o);
	*seen = seq_of(o);
	before_of(o, before);
	json_array_foreach(json_object_get(o, "open"), i, v)
		json_array_append(open, v);
	json_decref(o);
	return open;
}

/* Thread: the events of open at most the consumer's ack floor taken out
 * (acked: their "done" was lost), the floor in *floor. 0, or -1. */
static int
open_prune(struct cluster *cl, json_t *open, uint64_t *floor)
{
	size_t i;

	if (cluster_ack_floor(cl, floor) == -1)
		return -1;
	for (i = json_array_size(open); i > 0; i--)
		if (seq_of(json_array_get(open, i - 1)) <= *floor)
			json_array_remove(open, i - 1);
	return 0;
}

/* The earliest event of open before seq (0: none). */
static uint64_t
open_first(json_t *open, uint64_t seq)
{
	json_t		*v;
	uint64_t	 first = 0;
	size_t		 i;

	json_array_foreach(open, i, v)
		if (seq_of(v) < seq && (first == 0 || seq_of(v) < first))
			first = seq_of(v);
	return first;
}

/* The index of event seq in open, or -1. */
static int
open_find(json_t *open, uint64_t seq)
{
	json_t	*v;
	size_t	 i;

	json_array_foreach(open, i, v)
		if (seq_of(v) == seq)
			return (int)i;
	return -1;
}

/* Event seq, and what the memo said before it, added to open. 0, or -1. */
static int
put_open(json_t *open, uint64_t seq, const struct cluster_memo *cm)
{
	json_t *v = json_object();

	if (v == NULL || put_before(v, seq, cm) == -1 ||
	    json_array_append_new(open, v) == -1)
		return -1;
	return 0;
}

/* The value for entry e once event seq is noted, what the memo said
 * before it in before, open its open events; the caller frees it. */
static char *
value_of(const struct memo_entry *e, uint64_t seq,
    const struct cluster_memo *before, json_t *open)
{
	json_t	*o;
	char	*s;

	if ((o = memo_entry_dump(e)) == NULL ||
	    put_before(o, seq, before) == -1 ||
	    (json_array_size(open) > 0 &&
	    jsontext_set(o, "open", json_incref(open)) == -1) ||
	    (s = json_dumps(o, JSONTEXT_DUMP_FLAGS)) == NULL)
		fatalx("cluster: memo: out of memory");
	json_decref(o);
	return s;
}

/* Note event ev in entry e as tocsin-pager does on one machine
 * (make_deliveries in dispatch.c); what it said before goes in cm. 1
 * when ev is paged, else 0. */
static int
note(const struct conf *conf, struct memo_entry *e,
    const struct spool_event *ev, struct cluster_memo *cm)
{
	struct want	 wants[WANT_MAX];
	struct spool_event as;
	const char	*why;
	size_t		 n = 0;
	int		 worthy;

	/* flapped before: the memo says so, or the event's record */
	cm->was_flapping = e->flapping || ev->was_flapping;
	cm->problem = e->problem;
	snprintf(cm->sms, sizeof(cm->sms), "%s", e->sms);
	snprintf(cm->heard, sizeof(cm->heard), "%s", memo_heard(e));
	memo_event_read(e, ev);
	if ((worthy = rules_page_worthy(ev, cm->was_flapping, &why)))
		n = rules_wants(conf, rules_as_heard(ev, cm->was_flapping,
		    cm->heard, &as), cm->sms, wants, WANT_MAX);
	memo_event_paged(e, ev, why, wants, n);
	return worthy;
}

/*
 * Does noting ev in e, an entry the bucket does not hold, page nothing
 * and leave nothing worth keeping (a first state up, as each server's
 * first is)? Such an event needs no write, and waits for no other: a
 * backlog of first states costs no write each, and one coming again is
 * noted the same.
 */
static int
silent(const struct conf *conf, const struct memo_entry *e,
    const struct spool_event *ev)
{
	struct memo_entry	 c = *e;
	struct cluster_memo	 cm;

	return !note(conf, &c, ev, &cm) && memo_entry_empty(&c);
}

/*
 * Thread: an earlier event of ev's server that no pager has noted yet
 * (taken by a pager that has not got so far, or NAKed before it did), in
 * *wait (0: none): the stream is asked for the server's next event after
 * seen, the last noted, and floor (every event up to it is acked). A
 * silent one (of a server without entry; e is its entry, as it is now)
 * is skipped, as no pager notes it; SCAN_MAX at most. 0, or -1 when
 * JetStream cannot tell (logged).
 */
static int
unnoted(struct cluster *cl, const struct spool_event *ev,
    const struct memo_entry *e, int none, uint64_t seen, uint64_t floor,
    uint64_t *wait)
{
	struct spool_event	 o;
	char			 skey[QUORUM_KEY_MAX], err[256], *data;
	size_t			 len;
	uint64_t		 from, seq;
	int			 i, r;

	*wait = 0;
	quorum_key(ev->id, skey, sizeof(skey));
	from = (seen > floor ? seen : floor) + 1;
	for (i = 0; i < SCAN_MAX && from < ev->seq; i++) {
		data = NULL;
		if ((r = store_next_event(link_conn(cl->link), skey, from, &seq,
		    &data, &len, err, sizeof(err))) == -1) {
			log_warnx("cluster: memo: %s", err);
			return -1;
		}
		if (r == 0 || seq >= ev->seq) {
			free(data);
			return 0;
		}
		r = cluster_event_parse(data, len, seq, &o);
		free(data);
		if (r == -1) {
			log_warnx("cluster: memo: event %" PRIu64 " cannot be "
			    "read", seq);
			return -1;
		}
		if (!none || !silent(cl->conf, e, &o)) {
			*wait = seq;
			return 0;
		}
		from = seq + 1;
	}
	return 0;
}

/*
 * Thread: the noted event ev (at i in open) is there again (its pager
 * died, or it is tried again): what the memo said before it, and
 * whether an earlier one is open. 0, or -1.
 */
static int
noted_again(struct cluster *cl, json_t *open, int i,
    const struct spool_event *ev, struct cluster_memo *cm)
{
	uint64_t floor;

	before_of(json_array_get(open, (size_t)i), cm);
	cm->open = 1;
	if (open_first(open, ev->seq) != 0 &&
	    open_prune(cl, open, &floor) == -1)
		return -1;
	cm->behind = open_first(open, ev->seq);
	return 0;
}

/*
 * Thread: note event ev (held as m) in its server's entry, before any of
 * its pages go, and say in cm what the memo said before it (whether the
 * server flapped, who got its problem by SMS), whether it is open (paged:
 * cluster_memo_done once its pages are final) and which earlier event of
 * its server is (cm->behind: ev sends nothing before that one is done).
 * An event whose server has an earlier one in the stream not noted yet,
 * or OPEN_MAX open, is not noted: NAKed, it comes again ORDER_WAIT_MS
 * later. The event noted already (its pager died before it was acked, or
 * it comes again to be tried) changes nothing and gets what was said the
 * first time; so does an older one that comes late (it gets what the
 * memo says now). 0, or -1 when it comes again (NAKed, or JetStream
 * failed: logged).
 */
int
cluster_memo_note(struct cluster *cl, natsMsg *m,
    const struct spool_event *ev, struct cluster_memo *cm)
{
	struct memo_entry	 e, was;
	struct cluster_memo	 before;
	json_t			*open;
	char			 key[QUORUM_KEY_MAX], err[256], *val, *nval;
	uint64_t		 rev, seen, floor, wait;
	int			 i, r, none, k;

	memset(cm, 0, sizeof(*cm));
	quorum_key(ev->id, key, sizeof(key));
	for (i = 0; i < CAS_TRIES; i++) {
		if (store_get(cl->memo, key, &val, &rev, err,
		    sizeof(err)) == -1) {
			log_warnx("cluster: memo: %s", err);
			return -1;
		}
		memset(&e, 0, sizeof(e));
		snprintf(e.id, sizeof(e.id), "%s", ev->id);
		open = entry_of(val, &e, &before, &seen);
		none = val == NULL;
		free(val);
		if ((k = open_find(open, ev->seq)) != -1 || seen >= ev->seq) {
			r = 0;
			if (k != -1)
				r = noted_again(cl, open, k, ev, cm);
			else if (seen == ev->seq)
				*cm = before;
			else
				note(cl->conf, &e, ev, cm);
			json_decref(open);
			return r;
		}
		was = e;
		cm->open = note(cl->conf, &e, ev, cm);
		cm->behind = 0;
		if (none && silent(cl->conf, &was, ev)) {
			json_decref(open);
			cm->open = 0;
			return 0;
		}
		if (open_prune(cl, open, &floor) == -1 ||
		    unnoted(cl, ev, &was, none, seen, floor, &wait) == -1) {
			json_decref(open);
			return -1;
		}
		if (wait == 0 && json_array_size(open) >= OPEN_MAX)
			wait = open_first(open, ev->seq);
		if (wait != 0) {
			json_decref(open);
			log_debug("event %" PRIu64 " %s: waiting for event %"
			    PRIu64 " of %s to be noted", ev->seq, ev->id, wait,
			    ev->id);
			cluster_nak(cl, m, ORDER_WAIT_MS);
			return -1;
		}
		cm->behind = open_first(open, ev->seq);
		if (cm->open && put_open(open, ev->seq, cm) == -1)
			fatalx("cluster: memo: out of memory");
		nval = value_of(&e, ev->seq, cm, open);
		json_decref(open);
		r = store_cas(cl->memo, key, nval, rev, err, sizeof(err));
		free(nval);
		if (r == 1) {
			log_debug("event %" PRIu64 " %s: memo noted (SMSed "
			    "before: %s)", ev->seq, ev->id, cm->sms[0] != '\0' ?
			    cm->sms : "none");
			return 0;
		}
		if (r == -1) {
			log_warnx("cluster: memo: %s", err);
			return -1;
		}
	}
	log_warnx("cluster: memo: %s changed %d times under us; trying "
	    "again later", key, CAS_TRIES);
	return -1;
}

/*
 * Thread: event ev, open, has all its pages final: its entry no longer
 * lists it, so its server's later events may go. 0, or -1 when the
 * bucket failed (logged; ev comes again, finds its records final, and is
 * done again).
 */
int
cluster_memo_done(struct cluster *cl, const struct spool_event *ev)
{
	json_t		*o, *open;
	char		 key[QUORUM_KEY_MAX];
	uint64_t	 rev;
	int		 i, k, r;

	quorum_key(ev->id, key, sizeof(key));
	for (i = 0; i < CAS_TRIES; i++) {
		if ((o = cluster_kv_object(cl->memo, key, &rev, "memo")) ==
		    NULL)
			return -1;
		open = json_object_get(o, "open");
		if ((k = open_find(open, ev->seq)) == -1) {
			json_decref(o);
			return 0;
		}
		json_array_remove(open, (size_t)k);
		r = cluster_kv_cas(cl->memo, key, o, &rev, "memo");
		json_decref(o);
		if (r != 0)
			return r == 1 ? 0 : -1;
	}
	return -1;
}
