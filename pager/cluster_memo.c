/*
 * cluster_memo.c: the memo (memo.c) of the cluster's pagers, one entry a
 * server in the bucket tocsin_memo, its value memo.c's entry as JSON
 * plus the event it last noted: whichever pager pages a server's problem,
 * the one that pages its recovery knows who got the problem by SMS (the
 * recovery reaches them by SMS even in their quiet hours), whether the
 * server flapped and the state its contacts last heard (the end of
 * flapping goes to those who heard its start). Changed by compare-and-set: two pagers noting
 * events of one server at once both count.
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

/* Thread: the bucket, made unless it exists. 0, or -1 with err. */
int
cluster_memo_open(struct cluster *cl, char *err, size_t errlen)
{
	if (cl->memo != NULL)
		return 0;
	return store_bucket(link_js(cl->link), MEMO_BUCKET,
	    link_replicas(cl->link), 1, &cl->memo, err, errlen);
}

/*
 * The entry of a stored value (e->id set by the caller; none: left
 * empty), the event it last noted (0: none), and what the memo said
 * before that event into *before.
 */
static uint64_t
entry_of(const char *val, struct memo_entry *e, struct cluster_memo *before)
{
	json_t		*o;
	uint64_t	 seq;

	memset(before, 0, sizeof(*before));
	if (val == NULL || (o = json_loads(val, 0, NULL)) == NULL)
		return 0;
	memo_entry_parse(e, o);
	seq = (uint64_t)json_integer_value(json_object_get(o, "seq"));
	before->was_flapping = json_is_true(json_object_get(o,
	    "was_flapping"));
	before->problem = (uint64_t)json_integer_value(json_object_get(o,
	    "was_problem"));
	snprintf(before->sms, sizeof(before->sms), "%s",
	    json_string_value(json_object_get(o, "was_sms")) != NULL ?
	    json_string_value(json_object_get(o, "was_sms")) : "");
	snprintf(before->heard, sizeof(before->heard), "%s",
	    json_string_value(json_object_get(o, "was_heard")) != NULL ?
	    json_string_value(json_object_get(o, "was_heard")) : "up");
	json_decref(o);
	return seq;
}

/* The value for the entry once event seq is noted, what the memo said
 * before it in before; the caller frees it. */
static char *
value_of(const struct memo_entry *e, uint64_t seq,
    const struct cluster_memo *before)
{
	json_t	*o;
	char	*s;

	if ((o = memo_entry_dump(e)) == NULL ||
	    jsontext_set(o, "seq", jsontext_u64(seq)) == -1 ||
	    jsontext_set(o, "was_flapping",
	    json_boolean(before->was_flapping)) == -1 ||
	    jsontext_set(o, "was_sms", jsontext(before->sms)) == -1 ||
	    jsontext_set(o, "was_heard", jsontext(before->heard)) == -1 ||
	    jsontext_set(o, "was_problem", jsontext_u64(before->problem)) ==
	    -1 ||
	    (s = json_dumps(o, JSONTEXT_DUMP_FLAGS)) == NULL)
		fatalx("cluster: memo: out of memory");
	json_decref(o);
	return s;
}

/* Note event ev in entry e as tocsin-pager does on one machine
 * (make_deliveries in dispatch.c); what it said before goes in cm. */
static void
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
}

/*
 * Thread: note event ev in its server's entry, before any of its pages
 * go, and say in cm what the memo said before it (whether the server
 * flapped, who got its problem by SMS). The event noted already (its
 * pager died before it was acked) changes nothing and gets what was
 * said the first time; so does an older one that comes late (it gets
 * what the memo says now). 0, or -1 when the bucket failed (logged; the
 * event comes again).
 */
int
cluster_memo_note(struct cluster *cl, const struct spool_event *ev,
    struct cluster_memo *cm)
{
	struct memo_entry	 e;
	struct cluster_memo	 before;
	char			 key[QUORUM_KEY_MAX], err[256], *val, *nval;
	uint64_t		 rev, seen;
	int			 i, r, none;

	quorum_key(ev->id, key, sizeof(key));
	for (i = 0; i < CAS_TRIES; i++) {
		if (store_get(cl->memo, key, &val, &rev, err,
		    sizeof(err)) == -1) {
			log_warnx("cluster: memo: %s", err);
			return -1;
		}
		memset(&e, 0, sizeof(e));
		snprintf(e.id, sizeof(e.id), "%s", ev->id);
		seen = entry_of(val, &e, &before);
		none = val == NULL;
		free(val);
		if (seen == ev->seq) {
			*cm = before;
			return 0;
		}
		note(cl->conf, &e, ev, cm);
		if (seen > ev->seq)
			return 0;
		/* No entry, and the event leaves none worth keeping (a
		 * first state up, as each server's first is): nothing to
		 * write; coming again, it is noted the same. A backlog of
		 * first states costs no write each. */
		if (none && memo_entry_empty(&e))
			return 0;
		nval = value_of(&e, ev->seq, cm);
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
