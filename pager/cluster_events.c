/*
 * cluster_events.c: dependencies (depends-on) for tocsin-pager in
 * cluster mode, as dispatch.c does them on one machine. A parent's
 * problem page lists its dependents the cluster has down; a child's
 * event that carries `unreachable` is never paged alone: it goes to no
 * one who read it in the parent's page, to the others in a digest sent
 * when its window (set storm's duration, 1 s at least) ends.
 * What the pagers share lives in the bucket tocsin_unreachable:
 *  - listed.SKEY: a child's problem and the parent's page that listed
 *    it ({"by": its event, "who": "contact/channel,..."}), or that it
 *    went to the digests ({"by": 0}), whichever came first; gone when
 *    the child's next event is paged alone (its recovery, or the record
 *    saying its parents are up again and it is still down);
 *  - page.SKEY: a parent's last problem page made ({"seq": its event}):
 *    a child's unreachable event that came after the parent's waits for
 *    it (WAIT_S at most), so that page may list it;
 *  - digest.CKEY.CHANNEL: a contact's open digest ({"state": "open",
 *    "end", "lines": {SEQ: line}}), "sending" while a pager sends it
 *    (taken by compare-and-set, so one does), "done" once sent.
 * Everything here runs on the cluster thread of cluster.c and blocks.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <nats/nats.h>

#include "conf.h"
#include "jsontext.h"
#include "log.h"
#include "xmalloc.h"

#include "cluster.h"
#include "link.h"
#include "pager.h"
#include "quorum.h"
#include "store.h"

#define BUCKET		"tocsin_unreachable"
#define TAKE_S		30	/* a digest "sending" this long: its pager
				   died; another sends it again */
#define AGAIN_S		5	/* a digest not sent: tried again after */
#define LINES_MAX	512	/* lines one digest lists */
#define WAIT_S		60	/* an unreachable child's event waits this
				   long (by its time) for its parent's page */
#define PUT_ANY		UINT64_MAX

struct cluster_events {
	const struct conf *conf;	/* the caller's */
	struct link	*link;		/* the caller's */
	kvStore		*kv;		/* BUCKET */
	kvStore		*states;	/* QUORUM_STATES */
	int64_t		 due_at;	/* Unix s: next look at the digests */
	int		 deps;		/* the config has a depends-on */
};

static int	 open_buckets(struct cluster_events *);
static const char *str(const json_t *, const char *key);
static json_t	*get_json(kvStore *, const char *key, uint64_t *rev,
		    int *found);
static int	 put_json(kvStore *, const char *key, json_t *, uint64_t rev,
		    uint64_t *nrev);
static void	 list_dependents(struct cluster_events *,
		    const struct spool_event *, const struct want *, size_t,
		    struct server_info *);
static int	 parent_wait(struct cluster_events *,
		    const struct spool_event *, const struct server_conf *);
static int	 listed_by(struct cluster_events *, const char *skey,
		    uint64_t *by, char *who, size_t wholen);
static int	 fold(struct cluster_events *, const struct spool_event *,
		    const struct want *);
static int	 by_time(const void *, const void *);
static void	 send_digest(struct cluster_events *, const char *key,
		    cluster_send_fn, void *);

/* The dependencies of a cluster pager whose link is link; no I/O yet. */
struct cluster_events *
cluster_events_new(const struct conf *conf, struct link *link)
{
	struct cluster_events *ce;
	size_t i;

	ce = xcalloc(1, sizeof(*ce));
	ce->conf = conf;
	ce->link = link;
	for (i = 0; i < conf->nservers; i++)
		ce->deps |= conf->servers[i]->ndeps > 0;
	return ce;
}

void
cluster_events_free(struct cluster_events *ce)
{
	if (ce == NULL)
		return;
	kvStore_Destroy(ce->kv);
	kvStore_Destroy(ce->states);
	free(ce);
}

/* The buckets, made or found once. 0, or -1 (logged). */
static int
open_buckets(struct cluster_events *ce)
{
	jsCtx	*js = link_js(ce->link);
	char	 err[256];
	int	 r = link_replicas(ce->link);

	if ((ce->kv == NULL && store_bucket(js, BUCKET, r, 1, &ce->kv, err,
	    sizeof(err)) == -1) || (ce->states == NULL && store_bucket(js,
	    QUORUM_STATES, r, 1, &ce->states, err, sizeof(err)) == -1)) {
		log_warnx("cluster: %s; trying again", err);
		return -1;
	}
	return 0;
}

/* o's string at key, or "". */
static const char *
str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "";
}

/* A key's JSON value and revision: *found 0 when there is none (NULL);
 * NULL with *found 1 when the bucket failed or the value is no JSON. */
static json_t *
get_json(kvStore *kv, const char *key, uint64_t *rev, int *found)
{
	kvEntry		*e;
	json_t		*o;
	natsStatus	 s;

	*rev = 0;
	*found = 1;
	if ((s = kvStore_Get(&e, kv, key)) == NATS_NOT_FOUND) {
		*found = 0;
		return NULL;
	}
	if (s != NATS_OK)
		return NULL;
	*rev = kvEntry_Revision(e);
	if (kvEntry_Operation(e) != kvOp_Put) {
		*found = 0;	/* deleted: a create may take it */
		kvEntry_Destroy(e);
		return NULL;
	}
	o = json_loads(kvEntry_ValueString(e), 0, NULL);
	kvEntry_Destroy(e);
	return o;
}

/* Put o at key if its revision is still rev (0: a new key; PUT_ANY:
 * whatever it holds); o is the caller's. 0 with *nrev (may be NULL), or
 * -1 (another came first, or the bucket failed). */
static int
put_json(kvStore *kv, const char *key, json_t *o, uint64_t rev,
    uint64_t *nrev)
{
	char		*s;
	uint64_t	 r;
	natsStatus	 st;

	if ((s = json_dumps(o, JSONTEXT_DUMP_FLAGS | JSON_SORT_KEYS)) == NULL)
		fatalx("cluster: json_dumps");
	if (rev == PUT_ANY)
		st = kvStore_PutString(&r, kv, key, s);
	else if (rev == 0)
		st = kvStore_CreateString(&r, kv, key, s);
	else
		st = kvStore_UpdateString(&r, kv, key, s, rev);
	if (nrev != NULL)
		*nrev = r;
	free(s);
	return st == NATS_OK ? 0 : -1;
}

/*
 * Thread: what becomes of event ev, whose deliveries are wants[0 .. n).
 * CLUSTER_EVENTS_PAGE: page it as usual, info filled for its page (the
 * dependents listed, for a parent's problem). Else the event is done
 * here: 1 (ack: listed in a parent's page or folded into digests), 0
 * (try again later), -1 (the bucket failed).
 */
int
cluster_events_take(struct cluster_events *ce, const struct spool_event *ev,
    const struct want *wants, size_t n, struct server_info *info)
{
	const struct server_conf *sc = conf_find_server(ce->conf, ev->id);
	char		 skey[QUORUM_KEY_MAX], key[QUORUM_KEY_MAX + 16];
	char		 who[512] = "", w[CONTACT_MAX + 16];
	uint64_t	 by = 0;
	size_t		 i;
	int		 recovery = format_kind(ev, 0) == PAGE_RECOVERY;

	memset(info, 0, sizeof(*info));
	info->latency_ms = -1;
	if (!ce->deps)
		return CLUSTER_EVENTS_PAGE;	/* none of this is needed */
	if (open_buckets(ce) == -1)
		return -1;
	quorum_key(ev->id, skey, sizeof(skey));
	/* a child's problem paged alone now, or over: no longer listed */
	if (sc != NULL && sc->ndeps > 0 && (rules_alone(ev) || recovery)) {
		snprintf(key, sizeof(key), "listed.%s", skey);
		kvStore_Delete(ce->kv, key);
	}
	if (rules_alone(ev)) {
		if (format_kind(ev, 0) == PAGE_PROBLEM)
			list_dependents(ce, ev, wants, n, info);
		return CLUSTER_EVENTS_PAGE;
	}
	if (!recovery && sc != NULL && parent_wait(ce, ev, sc)) {
		log_debug("event %" PRIu64 " %s: unreachable; waiting for its "
		    "parent's page", ev->seq, ev->id);
		return 0;
	}
	if (!recovery && listed_by(ce, skey, &by, who, sizeof(who)) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		snprintf(w, sizeof(w), "%s/%s", wants[i].contact->name,
		    queue_channel_str(wants[i].ch));
		if (by != 0 && memo_listed(who, w)) {
			log_info("event %" PRIu64 " %s %s -> %s: %s listed in "
			    "the page of event %" PRIu64, ev->seq, ev->id,
			    ev->old_state, ev->new_state, w, by);
			continue;
		}
		if (fold(ce, ev, &wants[i]) == -1)
			return 0;
	}
	return 1;
}

/*
 * Thread: the dependents of ev's server that the cluster has not up, in
 * info->unreachable for its problem page; each one's problem noted as
 * listed by this page (unless a page or a digest has it already) for the
 * email and webhook deliveries of wants (an SMS lists none).
 */
static void
list_dependents(struct cluster_events *ce, const struct spool_event *ev,
    const struct want *wants, size_t n, struct server_info *info)
{
	const struct server_conf *sc;
	json_t		*o, *claim;
	const char	*st;
	char		 skey[QUORUM_KEY_MAX], key[QUORUM_KEY_MAX + 16];
	char		 who[512] = "", w[CONTACT_MAX + 16];
	uint64_t	 rev;
	size_t		 i;
	int		 found, ndeps = 0;

	for (i = 0; i < n; i++) {
		snprintf(w, sizeof(w), "%s/%s", wants[i].contact->name,
		    queue_channel_str(wants[i].ch));
		if (wants[i].ch != CH_SMS)
			memo_list_add(who, sizeof(who), w);
	}
	for (i = 0; i < ce->conf->nservers; i++) {
		sc = ce->conf->servers[i];
		if (!conf_depends_on(sc, ev->id))
			continue;
		ndeps++;
		quorum_key(sc->id, skey, sizeof(skey));
		o = get_json(ce->states, skey, &rev, &found);
		st = json_string_value(json_object_get(o, "new"));
		if (st != NULL && strcmp(st, "up") != 0) {
			memo_list_add(info->unreachable,
			    sizeof(info->unreachable), sc->id);
			snprintf(key, sizeof(key), "listed.%s", skey);
			claim = json_pack("{s:I, s:s, s:s}", "by",
			    (json_int_t)ev->seq, "parent", ev->id, "who", who);
			if (claim == NULL)
				fatalx("cluster: json_pack");
			/* the first wins */
			put_json(ce->kv, key, claim, 0, NULL);
			json_decref(claim);
		}
		json_decref(o);
	}
	if (ndeps == 0)
		return;
	/* its children's events need wait no more */
	quorum_key(ev->id, skey, sizeof(skey));
	snprintf(key, sizeof(key), "page.%s", skey);
	if ((o = json_pack("{s:I}", "seq", (json_int_t)ev->seq)) == NULL)
		fatalx("cluster: json_pack");
	put_json(ce->kv, key, o, PUT_ANY, NULL);
	json_decref(o);
}

/*
 * Thread: must the unreachable event ev (of server sc) wait for a
 * parent's page? When the parent's last event in the stream came before
 * it and is a problem, and no page of it was made yet (page.SKEY): a
 * pager may be making it, and it may list ev's server. Not once ev is
 * WAIT_S old: the parent's event may go to no one (in a downtime).
 */
static int
parent_wait(struct cluster_events *ce, const struct spool_event *ev,
    const struct server_conf *sc)
{
	natsMsg		*m;
	jsErrCode	 jerr = 0;
	json_t		*o, *pg;
	char		 pkey[QUORUM_KEY_MAX], subj[QUORUM_KEY_MAX + 32];
	char		 key[QUORUM_KEY_MAX + 16];
	uint64_t	 pseq, rev;
	size_t		 i;
	int		 found, wait = 0;

	if (time(NULL) - ev->time >= WAIT_S)
		return 0;
	for (i = 0; i < sc->ndeps && !wait; i++) {
		quorum_key(sc->deps[i]->id, pkey, sizeof(pkey));
		snprintf(subj, sizeof(subj), "%s.%s", QUORUM_SUBJECT, pkey);
		m = NULL;
		if (js_GetLastMsg(&m, link_js(ce->link), QUORUM_STREAM, subj,
		    NULL, &jerr) != NATS_OK)
			continue;
		pseq = natsMsg_GetSequence(m);
		o = json_loadb(natsMsg_GetData(m), natsMsg_GetDataLength(m), 0,
		    NULL);
		natsMsg_Destroy(m);
		if (pseq < ev->seq && strcmp(str(o, "new"), "up") != 0) {
			snprintf(key, sizeof(key), "page.%s", pkey);
			pg = get_json(ce->kv, key, &rev, &found);
			wait = (uint64_t)json_integer_value(json_object_get(pg,
			    "seq")) < pseq;
			json_decref(pg);
		}
		json_decref(o);
	}
	return wait;
}

/*
 * Thread: the page that listed the child of key skey (*by, its event,
 * and who read it there), or *by 0 when none did: then it goes to the
 * digests, and a later page of its parent does not take it. 0, or -1.
 */
static int
listed_by(struct cluster_events *ce, const char *skey, uint64_t *by,
    char *who, size_t wholen)
{
	json_t		*o;
	char		 key[QUORUM_KEY_MAX + 16];
	uint64_t	 rev;
	int		 found, i;

	snprintf(key, sizeof(key), "listed.%s", skey);
	for (i = 0; i < 3; i++) {
		o = get_json(ce->kv, key, &rev, &found);
		if (found && o == NULL)
			return -1;
		if (found) {
			*by = json_integer_value(json_object_get(o, "by"));
			snprintf(who, wholen, "%s", str(o, "who"));
			json_decref(o);
			return 0;
		}
		if ((o = json_pack("{s:i}", "by", 0)) == NULL)
			fatalx("cluster: json_pack");
		found = put_json(ce->kv, key, o, rev, NULL);
		json_decref(o);
		if (found == 0) {
			*by = 0;
			who[0] = '\0';
			return 0;
		}
	}
	return -1;
}

/*
 * Thread: ev's line in the open digest of w's contact and channel, one
 * opened (ending set storm's duration from now) when none is. -1 while
 * that digest is being sent (the event comes again, for the next one),
 * or when the bucket failed.
 */
static int
fold(struct cluster_events *ce, const struct spool_event *ev,
    const struct want *w)
{
	json_t		*o, *lines;
	const char	*st;
	char		 ckey[QUORUM_KEY_MAX], key[QUORUM_KEY_MAX + 32];
	char		 line[1024], seq[24];
	uint64_t	 rev;
	int64_t		 len = ce->conf->storm_ms / 1000, now = time(NULL);
	int		 found, i;

	quorum_key(w->contact->name, ckey, sizeof(ckey));
	snprintf(key, sizeof(key), "digest.%s.%s", ckey,
	    queue_channel_str(w->ch));
	snprintf(seq, sizeof(seq), "%" PRIu64, ev->seq);
	format_digest_line(ev, line, sizeof(line));
	for (i = 0; i < 3; i++) {
		o = get_json(ce->kv, key, &rev, &found);
		if (found && o == NULL)
			return -1;
		st = json_string_value(json_object_get(o, "state"));
		if (st != NULL && strcmp(st, "sending") == 0) {
			json_decref(o);
			return -1;
		}
		if (st == NULL || strcmp(st, "open") != 0) {
			json_decref(o);
			o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:{}}",
			    "state", "open", "contact", w->contact->name,
			    "channel", queue_channel_str(w->ch), "to", w->to,
			    "end", (json_int_t)(now + (len > 0 ? len : 1)),
			    "lines");
			if (o == NULL)
				fatalx("cluster: json_pack");
		}
		lines = json_object_get(o, "lines");
		if (json_object_size(lines) < LINES_MAX)
			json_object_set_new(lines, seq, json_string(line));
		if (put_json(ce->kv, key, o, rev, NULL) == 0) {
			log_info("event %" PRIu64 " %s %s -> %s: %s/%s listed "
			    "in the digest at the window's end (unreachable: "
			    "a server it depends on is down)", ev->seq, ev->id,
			    ev->old_state, ev->new_state, w->contact->name,
			    queue_channel_str(w->ch));
			json_decref(o);
			return 0;
		}
		json_decref(o);
	}
	return -1;
}

/*
 * Thread: send the digests whose window ended (once a second at most),
 * each by send(arg, ...) after taking it by compare-and-set, so one pager
 * sends it; one whose pager died while sending is sent again with the
 * same Message-ID or Idempotency-Key, as any page.
 */
void
cluster_events_due(struct cluster_events *ce, cluster_send_fn send,
    void *arg)
{
	kvKeysList	 keys;
	int64_t		 now = time(NULL);
	int		 i;

	if (now < ce->due_at || ce->kv == NULL)
		return;
	ce->due_at = now + 1;
	memset(&keys, 0, sizeof(keys));
	if (kvStore_Keys(&keys, ce->kv, NULL) != NATS_OK)
		return;
	for (i = 0; i < keys.Count; i++)
		if (strncmp(keys.Keys[i], "digest.", 7) == 0)
			send_digest(ce, keys.Keys[i], send, arg);
	kvKeysList_Destroy(&keys);
}

/* qsort: two digest lines, by the time each opens with. */
static int
by_time(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Thread: the digest at key, if due: taken, made, sent, marked. */
static void
send_digest(struct cluster_events *ce, const char *key, cluster_send_fn send,
    void *arg)
{
	struct page_ctx	 p;
	struct want	 w;
	json_t		*o, *v;
	const char	*st, *lines[LINES_MAX], *k;
	char		*msg, err[ERROR_MAX];
	uint64_t	 rev, seq = 0;
	int64_t		 now = time(NULL);
	size_t		 n = 0;
	int		 found, due;
	enum send_result r;

	if ((o = get_json(ce->kv, key, &rev, &found)) == NULL)
		return;
	st = str(o, "state");
	if (strcmp(st, "open") == 0)
		due = json_integer_value(json_object_get(o, "end")) <= now;
	else	/* "sending" this long: its pager died */
		due = strcmp(st, "sending") == 0 && json_integer_value(
		    json_object_get(o, "time")) + TAKE_S <= now;
	if (!due) {
		json_decref(o);
		return;
	}
	memset(&w, 0, sizeof(w));
	if ((w.contact = conf_find_contact(ce->conf, str(o, "contact"))) ==
	    NULL || queue_channel_parse(str(o, "channel"), &w.ch) == -1 ||
	    (w.to = json_string_value(json_object_get(o, "to"))) == NULL) {
		json_decref(o);	/* a contact no longer in the config */
		return;
	}
	json_object_set_new(o, "state", json_string("sending"));
	json_object_set_new(o, "pager", json_string(ce->conf->node));
	json_object_set_new(o, "time", json_integer(now));
	if (put_json(ce->kv, key, o, rev, &rev) == -1) {
		json_decref(o);	/* another pager took it */
		return;
	}
	json_object_foreach(json_object_get(o, "lines"), k, v) {
		if (n < LINES_MAX && json_is_string(v))
			lines[n++] = json_string_value(v);
		if (strtoull(k, NULL, 10) > seq)
			seq = strtoull(k, NULL, 10);
	}
	qsort(lines, n, sizeof(lines[0]), by_time);	/* lines open with it */
	memset(&p, 0, sizeof(p));
	p.conf = ce->conf;
	p.contact = w.contact->name;
	p.to = w.to;
	p.ch = w.ch;
	p.now = now;
	if ((msg = format_digest(&p, seq, lines, n)) == NULL)
		r = SEND_REFUSED;
	else {
		log_debug("digest %s: sending %s page to %s (%zu lines)", key,
		    queue_channel_str(w.ch), w.contact->name, n);
		r = send(arg, &w, seq, msg, err, sizeof(err));
	}
	free(msg);
	log_info("digest of event %" PRIu64 ": %s page to %s (%s) of %zu "
	    "lines %s", seq, queue_channel_str(w.ch), w.contact->name, w.to,
	    n, r == SEND_OK ? "delivered" : r == SEND_RETRY ?
	    "not sent; trying again" : "refused");
	/* open again when not sent; else done, its lines gone */
	json_object_set_new(o, "state", json_string(r == SEND_RETRY ? "open" :
	    "done"));
	json_object_set_new(o, "end", json_integer(now + AGAIN_S));
	if (r != SEND_RETRY)
		json_object_set_new(o, "lines", json_object());
	put_json(ce->kv, key, o, rev, NULL);	/* lost: taken again */
	json_decref(o);
}
