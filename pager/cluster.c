/*
 * cluster.c: tocsin-pager in cluster mode. Every pager of the cluster
 * pulls from one durable consumer (tocsin-pager) of the stream
 * TOCSIN_EVENTS, which tocsin-probed's nodes fill with the changes a
 * quorum agreed on; acks are explicit, so an event a pager took and did
 * not finish (it died) goes to another after the ack wait. Its delivery
 * records, one per (event, contact, channel), live in the bucket
 * tocsin_deliveries, not on local disk: "sending" before a try,
 * "waiting" between two, "done" or "failed" after the last; an event is
 * acked once each of its deliveries is final.
 * A delivery found "sending" (its pager died mid-send, or is stuck) is
 * sent again with the same Message-ID: the one window where the far side
 * may see a page twice, as on one machine (see tocsin-pager(8)); one
 * whose pager is alive and sending waits. A consumer deleted is made
 * again.
 *
 * All of it blocks (fetch, records, SMTP), so it runs on a thread of its
 * own; the loop serves only the NATS connection. The event's number in
 * pages (Message-ID, subject) is its stream sequence.
 * Webhooks go through webhook.c on the loop (the thread hands each over
 * and waits for its end), with the Idempotency-Key of one machine, so
 * a webhook resent after a pager died mid-send carries the same key;
 * so do SMS to phone numbers, by the HTTP API of set sms-gateway
 * (cluster_sms.c).
 * The memo of each server (who got its problem by SMS, whether it
 * flapped) is in the bucket tocsin_memo (cluster_memo.c), noted before
 * an event's pages go, in the order of the server's events; an event
 * sends nothing while an earlier one of its server is open (its pages
 * not all final): its records are made "waiting", and it comes again.
 * Storm digests (set storm) count each window's changes in the bucket
 * tocsin_storm (cluster_storm.c); one pager sends
 * the window's digest. Dependencies (a parent's page lists its children
 * down; an unreachable child's event is not paged alone but listed in
 * that page or in the storm window's digest) are cluster_events.c's.
 * Reminders and escalations (renotify, escalate-after) are claimed in the
 * bucket tocsin_remind (cluster_remind.c), looked at between fetches; so
 * are stale digests (set stale-after), in tocsin_stale
 * (cluster_stale.c), and set admin's pages when too few probe nodes are
 * alive (cluster_watchdog.c). A claim names its pager (NODE-PID-START),
 * whose heartbeat the loop puts in the bucket tocsin_pagers every 2 s:
 * the claims of a pager whose heartbeat is gone are taken over at once
 * (cluster_claim_lapsed), those of one alive but stuck after CLAIM_S.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>
#include <nats/nats.h>

#include "conf.h"
#include "jsontext.h"
#include "log.h"
#include "spool.h"
#include "util.h"
#include "xmalloc.h"

#include "cluster.h"
#include "cluster_impl.h"
#include "link.h"
#include "pager.h"
#include "quorum.h"
#include "store.h"

#define DURABLE		"tocsin-pager"
#define DELIVERIES	"tocsin_deliveries"	/* KV: SEQ.CONTACT.CHANNEL */
#define ACK_WAIT_S	15	/* an event unacked this long goes to
				   another pager; kept alive while held */
#define FETCH_WAIT_MS	1000
#define PAGERS		"tocsin_pagers"	/* KV: pager -> its heartbeat */
#define BEAT_S		2
#define FINAL_RETRY_MS	250	/* a final record the bucket refused */

static int
stopping(struct cluster *cl)
{
	int s;

	pthread_mutex_lock(&cl->mtx);
	s = cl->stop;
	pthread_mutex_unlock(&cl->mtx);
	return s;
}

/* Thread: the stream, the bucket and the shared consumer. 0 or -1. */
static int
setup(struct cluster *cl)
{
	jsCtx		*js = link_js(cl->link);
	jsSubOptions	 so;
	jsErrCode	 jerr = 0;
	natsStatus	 s;
	char		 err[256];
	int		 r = link_replicas(cl->link);

	if (store_stream(js, r, err, sizeof(err)) == -1 ||
	    (cl->kv == NULL && store_bucket(js, DELIVERIES, r, 1, &cl->kv,
	    err, sizeof(err)) == -1) ||
	    (cl->pagers == NULL && store_bucket_ttl(js, PAGERS, r, 1,
	    (int64_t)PAGER_TTL_S * 1000, &cl->pagers, err,
	    sizeof(err)) == -1) ||
	    cluster_memo_open(cl, err, sizeof(err)) == -1 ||
	    cluster_storm_open(cl, err, sizeof(err)) == -1 ||
	    cluster_events_open(cl, err, sizeof(err)) == -1 ||
	    cluster_remind_open(cl, err, sizeof(err)) == -1 ||
	    cluster_stale_open(cl, err, sizeof(err)) == -1 ||
	    cluster_watchdog_open(cl, err, sizeof(err)) == -1) {
		log_warnx("cluster: %s; trying again", err);
		return -1;
	}
	jsSubOptions_Init(&so);
	so.Stream = QUORUM_STREAM;
	so.Config.AckPolicy = js_AckExplicit;
	so.Config.AckWait = (int64_t)ACK_WAIT_S * 1000000000;
	so.Config.DeliverPolicy = js_DeliverAll;
	s = js_PullSubscribe(&cl->sub, js, QUORUM_SUBJECT ".>", DURABLE, NULL,
	    &so, &jerr);
	if (s != NATS_OK) {
		log_warnx("cluster: consumer %s: %s; trying again", DURABLE,
		    link_error(s));
		cl->sub = NULL;
		return -1;
	}
	log_info("cluster: pulling events from %s (consumer %s), records in "
	    "%s", QUORUM_STREAM, DURABLE, DELIVERIES);
	return 0;
}

/* Thread: event m, held, NAKed to come again in delay_ms: no longer
 * kept in progress by the loop. */
void
cluster_nak(struct cluster *cl, natsMsg *m, int64_t delay_ms)
{
	pthread_mutex_lock(&cl->mtx);
	if (cl->held == m)
		cl->held = NULL;
	natsMsg_NakWithDelay(m, delay_ms, NULL);
	pthread_mutex_unlock(&cl->mtx);
}

/* The event of a stream message's data (len bytes), numbered seq. 0, or
 * -1. */
int
cluster_event_parse(const char *data, size_t len, uint64_t seq,
    struct spool_event *ev)
{
	json_t	*o;
	char	*s;
	int	 rc;

	if ((o = json_loadb(data, len, 0, NULL)) == NULL)
		return -1;
	json_object_set_new(o, "seq", json_integer((json_int_t)seq));
	s = json_dumps(o, JSONTEXT_DUMP_FLAGS);
	json_decref(o);
	rc = s != NULL ? spool_event_parse(s, ev) : -1;
	free(s);
	return rc;
}

/* The event of a message the consumer delivered, numbered by its stream
 * sequence. */
static int
event_of(natsMsg *m, struct spool_event *ev)
{
	jsMsgMetaData	*meta = NULL;
	uint64_t	 seq;

	if (natsMsg_GetMetaData(&meta, m) != NATS_OK)
		return -1;
	seq = meta->Sequence.Stream;
	jsMsgMetaData_Destroy(meta);
	return cluster_event_parse(natsMsg_GetData(m),
	    (size_t)natsMsg_GetDataLength(m), seq, ev);
}

/* Thread: the consumer's ack floor in *floor (every event up to it is
 * acked). 0, or -1 (logged). */
int
cluster_ack_floor(struct cluster *cl, uint64_t *floor)
{
	jsConsumerInfo	*ci = NULL;
	jsErrCode	 jerr = 0;
	natsStatus	 s;

	if ((s = js_GetConsumerInfo(&ci, link_js(cl->link), QUORUM_STREAM,
	    DURABLE, NULL, &jerr)) != NATS_OK) {
		log_warnx("cluster: consumer %s: %s", DURABLE, link_error(s));
		return -1;
	}
	*floor = ci->AckFloor.Stream;
	jsConsumerInfo_Destroy(ci);
	return 0;
}

/* What a delivery's record says. */
struct record {
	char		 state[16];	/* "sending": a try under way;
					   "waiting": between two tries;
					   "done", "failed", "stale": listed
					   in a stale digest; "": none */
	char		 pager[PAGER_MAX];	/* who wrote it */
	int64_t		 time;		/* ... when, Unix s */
	int64_t		 made;		/* when its first try began */
	uint64_t	 rev;		/* its revision; 0: none */
};

/* Thread: the record of key in rec; -1 when the bucket cannot tell. */
static int
record_get(struct cluster *cl, const char *key, struct record *rec)
{
	kvEntry		*e;
	json_t		*o;
	natsStatus	 s;

	memset(rec, 0, sizeof(*rec));
	if ((s = kvStore_Get(&e, cl->kv, key)) == NATS_NOT_FOUND)
		return 0;
	if (s != NATS_OK)
		return -1;
	rec->rev = kvEntry_Revision(e);
	if ((o = json_loads(kvEntry_ValueString(e), 0, NULL)) != NULL) {
		rec->made = json_integer_value(json_object_get(o, "made"));
		rec->time = json_integer_value(json_object_get(o, "time"));
		snprintf(rec->state, sizeof(rec->state), "%s",
		    json_string_value(json_object_get(o, "state")) ?
		    json_string_value(json_object_get(o, "state")) : "");
		snprintf(rec->pager, sizeof(rec->pager), "%s",
		    json_string_value(json_object_get(o, "pager")) ?
		    json_string_value(json_object_get(o, "pager")) : "");
		json_decref(o);
	}
	kvEntry_Destroy(e);
	return 0;
}

/*
 * Thread: the record of key, by this pager; what, made and line for a
 * stale digest (cluster_stale.c). rev NULL: put as it is; else only if
 * it is still at *rev (0: none), which becomes its new revision. 1, 0
 * when it changed under us, -1 when the bucket failed.
 */
static int
record_put(struct cluster *cl, const char *key, uint64_t *rev,
    const char *state, const struct want *w, const char *error,
    const char *what, int64_t made, const char *line)
{
	json_t		*o;
	char		*s, err[256];
	uint64_t	 nrev;
	int		 rc;

	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:I, s:s}",
	    "state", state, "contact", w->contact->name, "channel",
	    queue_channel_str(w->ch), "to", w->to, "pager", cl->self,
	    "time", (json_int_t)time(NULL), "error", error != NULL ? error :
	    "", "what", what, "made", (json_int_t)made, "line", line);
	if (o == NULL || (s = json_dumps(o, JSONTEXT_DUMP_FLAGS)) == NULL)
		fatalx("cluster: json");
	json_decref(o);
	if (rev == NULL)
		rc = kvStore_PutString(&nrev, cl->kv, key, s) == NATS_OK ?
		    1 : -1;
	else if ((rc = store_cas_rev(cl->kv, key, s, rev, err,
	    sizeof(err))) == -1)
		log_warnx("cluster: %s", err);
	free(s);
	return rc;
}

/*
 * Thread, between two fetches: whether a look made every every_s is due
 * (monotonic seconds; *next, 0 at first, then says when the next is).
 */
int
cluster_due(int64_t *next, int every_s)
{
	int64_t	 now = mono_us() / 1000000;

	if (now < *next)
		return 0;
	*next = now + every_s;
	return 1;
}

/*
 * Thread: the final record of a try that went (record_put's arguments;
 * ev names the event in logs). The page has left: were the record lost,
 * the event would come again, find the try "sending" and page again. So
 * a bucket that fails (a nats-server killed, its stream electing a new
 * leader) is tried again, every FINAL_RETRY_MS, while the held event is
 * kept in progress by the loop, for up to CLAIM_S or until the pager
 * stops. 1, or -1 when it never took it.
 */
static int
record_final(struct cluster *cl, const char *key, const char *ev,
    const char *state, const struct want *w, const char *error,
    const char *what, int64_t made, const char *line)
{
	int64_t	 until = mono_us() + (int64_t)CLAIM_S * 1000000;
	int	 tries = 0;

	while (record_put(cl, key, NULL, state, w, error, what, made,
	    line) != 1) {
		if (tries++ == 0)
			log_warnx("%s: the %s record of %s to %s cannot be "
			    "written; trying again", ev, state,
			    queue_channel_str(w->ch), w->contact->name);
		if (stopping(cl) || mono_us() > until) {
			log_warnx("%s: the %s record of %s to %s: given up "
			    "after %d tries; it may be sent again", ev, state,
			    queue_channel_str(w->ch), w->contact->name,
			    tries);
			return -1;
		}
		nanosleep(&(struct timespec){ 0, FINAL_RETRY_MS * 1000000L },
		    NULL);
	}
	if (tries > 0)
		log_info("%s: the %s record of %s to %s written after %d "
		    "tries", ev, state, queue_channel_str(w->ch),
		    w->contact->name, tries + 1);
	return 1;
}

/* Loop: the webhook's end, for the thread waiting on it. */
static void
on_hook_done(void *arg, enum send_result r, const char *err)
{
	struct cluster *cl = arg;

	pthread_mutex_lock(&cl->mtx);
	if (cl->call != NULL) {
		cl->call->r = r;
		snprintf(cl->call->err, sizeof(cl->call->err), "%s",
		    err != NULL ? err : "");
		cl->call->done = 1;
		cl->call = NULL;
		pthread_cond_broadcast(&cl->cond);
	}
	pthread_mutex_unlock(&cl->mtx);
}

/* Loop: start the webhook the thread handed over. */
static void
on_hook_start(evutil_socket_t fd, short what, void *arg)
{
	struct cluster	*cl = arg;
	struct hookcall	*hc;

	(void)fd;
	(void)what;
	pthread_mutex_lock(&cl->mtx);
	hc = cl->call;
	pthread_mutex_unlock(&cl->mtx);
	if (hc != NULL && webhook_call(cl->wh, hc->http, on_hook_done, cl) ==
	    -1)
		on_hook_done(cl, SEND_RETRY, "cannot start the HTTP request");
}

/*
 * Thread: the request http on the loop, waited for. A stop meanwhile
 * gives SEND_RETRY: the record stays "sending", and the pager that takes
 * the event sends it again under the same Idempotency-Key.
 */
enum send_result
cluster_http_send(struct cluster *cl, const struct http_call *http,
    char *err, size_t errlen)
{
	struct hookcall	 hc;

	memset(&hc, 0, sizeof(hc));
	hc.http = http;
	hc.r = SEND_RETRY;
	pthread_mutex_lock(&cl->mtx);
	if (cl->stop) {
		pthread_mutex_unlock(&cl->mtx);
		snprintf(err, errlen, "stopping");
		return SEND_RETRY;
	}
	cl->call = &hc;
	event_active(cl->hook_ev, EV_READ, 0);
	while (!hc.done && !cl->stop)
		pthread_cond_wait(&cl->cond, &cl->mtx);
	cl->call = NULL;
	pthread_mutex_unlock(&cl->mtx);
	snprintf(err, errlen, "%s", hc.done ? hc.err : "stopping");
	return hc.r;
}

/* Thread: POST json to url with key, as webhook_post does. */
static enum send_result
hook_send(struct cluster *cl, const char *url, const char *key,
    const char *json, char *err, size_t errlen)
{
	struct http_call http;

	webhook_json(&http, url, key, json);
	return cluster_http_send(cl, &http, err, errlen);
}

/* Thread: one try of page msg, of event seq, to w: a webhook or an SMS
 * by the API under the Idempotency-Key of one machine, else a mail (relay
 * or Maildir). */
enum send_result
cluster_send_made(struct cluster *cl, uint64_t seq, const struct want *w,
    unsigned round, const char *msg, char *err, size_t errlen)
{
	char name[200], key[200];

	if (w->ch == CH_WEBHOOK) {
		format_idempotency_key(seq, w->contact->name, w->ch, round,
		    key, sizeof(key));
		return hook_send(cl, w->to, key, msg, err, errlen);
	}
	if (w->ch == CH_SMS && !sms_is_gateway(w->to)) {
		format_idempotency_key(seq, w->contact->name, w->ch, round,
		    key, sizeof(key));
		return cluster_sms_send(cl, w->to, key, msg, err, errlen);
	}
	if (cl->mc != NULL)
		return mail_send(cl->mc, w->to, msg, err, errlen);
	snprintf(name, sizeof(name), "%" PRIu64 ".%s.%s", seq,
	    w->contact->name, queue_channel_str(w->ch));
	return maildir_deliver(cl->maildir, name, msg, err, errlen) == 0 ?
	    SEND_OK : SEND_RETRY;
}

/* What the texts to w need, made now. */
static void
page_ctx_of(struct cluster *cl, const struct want *w, struct page_ctx *p)
{
	memset(p, 0, sizeof(*p));
	p->conf = cl->conf;
	p->contact = w->contact->name;
	p->to = w->to;
	p->ch = w->ch;
	p->now = time(NULL);
}

/* Thread: the digest (stale: of stale pages, else a storm's) of the n
 * lines to w, in the place of event seq's page, made now. The caller
 * frees it; NULL when it cannot be made. */
char *
cluster_digest_format(struct cluster *cl, const struct want *w,
    uint64_t seq, const char *const *lines, size_t n, int stale)
{
	struct page_ctx	 p;

	page_ctx_of(cl, w, &p);
	p.stale = stale;
	return format_digest(&p, seq, lines, n);
}

/* Thread: the JSON object of key in kv (an empty one when it has none or
 * holds no object) and its revision (0: none); NULL when the bucket
 * failed (logged, with what: the part of the pager asking). */
json_t *
cluster_kv_object(kvStore *kv, const char *key, uint64_t *rev,
    const char *what)
{
	char	*val, err[256];
	json_t	*o;
	int	 r;

	if ((r = store_get(kv, key, &val, rev, err, sizeof(err))) == -1) {
		log_warnx("cluster: %s %s: %s", what, key, err);
		return NULL;
	}
	if (r == 0)
		*rev = 0;
	o = r == 1 ? json_loads(val, 0, NULL) : NULL;
	free(val);
	if (!json_is_object(o)) {
		json_decref(o);
		o = json_object();
	}
	return o;
}

/* Thread: o (kept) put under key in kv if it is still at *rev (0: if it
 * has none), which becomes its new revision: 1, 0 on a conflict, -1
 * (logged, with what). */
int
cluster_kv_cas(kvStore *kv, const char *key, json_t *o, uint64_t *rev,
    const char *what)
{
	char	*s, err[256];
	int	 r;

	if ((s = json_dumps(o, JSONTEXT_DUMP_FLAGS)) == NULL)
		fatalx("cluster: %s: out of memory", what);
	if ((r = store_cas_rev(kv, key, s, rev, err, sizeof(err))) == -1)
		log_warnx("cluster: %s %s: %s", what, key, err);
	free(s);
	return r;
}

/*
 * Thread: may a claim pager by made at claimed (Unix s) be taken over at
 * now? When it is CLAIM_S old (its pager is stuck), or when it is not
 * ours, PAGER_TTL_S old, and its pager's heartbeat is gone from
 * tocsin_pagers (it died, or lost the cluster: a page it is still
 * sending may then go twice, under its one Message-ID). 1 or 0.
 */
int
cluster_claim_lapsed(struct cluster *cl, const char *by, int64_t claimed,
    int64_t now)
{
	char		 err[256], *val = NULL;
	uint64_t	 rev;
	int		 r;

	if (now - claimed >= CLAIM_S)
		return 1;
	if (by == NULL || strcmp(by, cl->self) == 0 ||
	    now - claimed < PAGER_TTL_S || cl->pagers == NULL)
		return 0;
	if ((r = store_get(cl->pagers, by, &val, &rev, err,
	    sizeof(err))) == -1)
		log_warnx("cluster: %s: %s", PAGERS, err);
	free(val);
	if (r == 0)
		log_info("cluster: pager %s is gone: its claim of %" PRId64
		    " s ago is taken over", by, now - claimed);
	return r == 0;
}

/*
 * The loop, every BEAT_S: this pager's heartbeat, published without
 * waiting for the ack (a lost one is made up next time); and the event
 * the thread holds kept from other pagers (its ack wait starts again),
 * however long its buckets and pages take, up to CLAIM_S: past that the
 * thread is stuck, and another pager takes it.
 */
static void
on_beat(evutil_socket_t fd, short what, void *arg)
{
	struct cluster	*cl = arg;
	char		 subject[sizeof(PAGERS) + PAGER_MAX + 8], data[64];

	(void)fd;
	(void)what;
	snprintf(subject, sizeof(subject), "$KV.%s.%s", PAGERS, cl->self);
	snprintf(data, sizeof(data), "{\"time\":%lld}", (long long)time(NULL));
	link_publish(cl->link, subject, data);
	pthread_mutex_lock(&cl->mtx);
	if (cl->held != NULL && time(NULL) - cl->held_since < CLAIM_S)
		natsMsg_InProgress(cl->held, NULL);
	pthread_mutex_unlock(&cl->mtx);
}

/* Thread: the page of ev to w, made now (NULL: it cannot be); info (or
 * NULL) and flap_stopped for what it says; round: the reminder's number,
 * or 0. The caller frees it. */
char *
cluster_page_format(struct cluster *cl, const struct spool_event *ev,
    const struct want *w, const struct server_info *info, unsigned round,
    int flap_stopped)
{
	struct page_ctx	 p;

	page_ctx_of(cl, w, &p);
	p.info = info;
	p.flap_stopped = flap_stopped;
	p.round = round;
	return w->ch == CH_WEBHOOK ? format_webhook(ev, &p) :
	    w->ch == CH_SMS ? format_sms(ev, &p) : format_email(ev, &p);
}

/*
 * Thread: is a try of rec under way at another pager still alive? A
 * record left "sending" by a pager that died (its heartbeat gone), or
 * whose claim lapsed (cluster_claim_lapsed: CLAIM_S old, it is stuck), is
 * sent again; so is one of this pager's, whose thread is here, so that
 * try ended. An event held past CLAIM_S (many slow pages) goes to another
 * pager while its first one is still sending: that one waits.
 */
static int
sending_elsewhere(struct cluster *cl, const struct record *rec)
{
	return strcmp(rec->state, "sending") == 0 && rec->pager[0] != '\0' &&
	    strcmp(rec->pager, cl->self) != 0 &&
	    !cluster_claim_lapsed(cl, rec->pager, rec->time, time(NULL));
}

/* The record key of event seq's page to w (round: a reminder's, or 0). */
static void
record_key(uint64_t seq, const struct want *w, unsigned round, char *key,
    size_t len)
{
	char rn[16] = "", ckey[QUORUM_KEY_MAX];

	if (round > 0)
		snprintf(rn, sizeof(rn), ".r%u", round);
	quorum_key(w->contact->name, ckey, sizeof(ckey));
	snprintf(key, len, "%" PRIu64 ".%s.%s%s", seq, ckey,
	    queue_channel_str(w->ch), rn);
}

/* The line a stale digest lists for page msg to w, made at made. */
static void
stale_line(const struct want *w, const char *msg, int64_t made, char *line,
    size_t len)
{
	struct delivery d;

	memset(&d, 0, sizeof(d));
	d.ch = w->ch;
	d.payload = (char *)msg;
	d.created = made;
	format_stale_line(&d, line, len);
}

/*
 * Thread: page msg to w (what it is: "page", event seq's own; "digest",
 * a storm digest in its place; "reminder" or "escalation" number round;
 * "admin", set admin's, event 0), recorded "sending", sent, recorded
 * final ("waiting" when it is to be tried again); nothing when its record
 * is final already. id: the event's server, or NULL; m: the event held,
 * or NULL; msg NULL: the page could not be made (refused). 1 when final,
 * 0 to be tried later (also when another pager, alive, is sending it),
 * -1 when the bucket failed.
 */
int
cluster_page_made(struct cluster *cl, natsMsg *m, uint64_t seq,
    const char *id, const struct want *w, unsigned round, const char *what,
    const char *msg)
{
	char		 key[QUORUM_KEY_MAX + 64];
	char		 err[ERROR_MAX], ev[QUORUM_KEY_MAX + 32];
	char		 line[1024] = "";
	enum send_result r = SEND_REFUSED;
	struct record	 rec;
	int64_t		 made;
	uint64_t	 rev;
	int		 rc;

	record_key(seq, w, round, key, sizeof(key));
	snprintf(ev, sizeof(ev), "event %" PRIu64 "%s%s", seq,
	    id != NULL ? " " : "", id != NULL ? id : "");
	if (record_get(cl, key, &rec) == -1)
		return -1;
	if (strcmp(rec.state, "done") == 0 ||
	    strcmp(rec.state, "failed") == 0 ||
	    strcmp(rec.state, "stale") == 0)
		return 1;
	if (sending_elsewhere(cl, &rec)) {
		log_info("%s: %s %s to %s is being sent by pager %s; later",
		    ev, queue_channel_str(w->ch), what, w->contact->name,
		    rec.pager);
		return 0;
	}
	rev = rec.rev;
	made = rec.made != 0 ? rec.made : time(NULL);
	stale_line(w, msg, made, line, sizeof(line));
	/* by compare-and-set: a pager marking it stale meanwhile, or
	 * trying it too, wins, and this one tries it no more now */
	if ((rc = record_put(cl, key, &rev, "sending", w, NULL, what, made,
	    line)) != 1)
		return rc;
	/* Tests read this line, as on one machine. */
	log_debug("%s: sending %s %s to %s (%s)", ev, queue_channel_str(w->ch),
	    what, w->contact->name, rec.state[0] != '\0' ? "again" : "try 1");
	if (msg == NULL)
		snprintf(err, sizeof(err), "cannot make the %s", what);
	else if ((r = cluster_send_made(cl, seq, w, round, msg, err, sizeof(err))) ==
	    SEND_RETRY) {
		log_warnx("%s: %s %s to %s: %s; trying again", ev,
		    queue_channel_str(w->ch), what, w->contact->name, err);
		/* no try under way: it may be listed in a stale digest */
		return record_put(cl, key, &rev, "waiting", w, err, what,
		    made, line) == -1 ? -1 : 0;
	}
	if (record_final(cl, key, ev, r == SEND_OK ? "done" : "failed", w,
	    r == SEND_OK ? NULL : err, what, made, line) == -1)
		return -1;
	log_info("%s: %s %s to %s (%s) %s%s%s", ev, queue_channel_str(w->ch),
	    what, w->contact->name, w->to, r == SEND_OK ? "delivered" :
	    "refused", r == SEND_OK ? "" : ": ", r == SEND_OK ? "" : err);
	return 1;
}

/*
 * Thread: page msg of event ev to w made, not sent, while the earlier
 * event after of its server is open: its record "waiting" (made now,
 * with its stale digest's line) unless it has one, so a stale digest
 * may list it, as on one machine. 0, or -1 when the bucket failed.
 */
static int
page_held(struct cluster *cl, const struct spool_event *ev,
    const struct want *w, uint64_t after, const char *msg)
{
	char		 key[QUORUM_KEY_MAX + 64], line[1024] = "", err[64];
	struct record	 rec;
	int64_t		 made = time(NULL);
	uint64_t	 rev = 0;

	record_key(ev->seq, w, 0, key, sizeof(key));
	if (record_get(cl, key, &rec) == -1)
		return -1;
	if (rec.rev != 0)
		return 0;
	stale_line(w, msg, made, line, sizeof(line));
	snprintf(err, sizeof(err), "after event %" PRIu64, after);
	return record_put(cl, key, &rev, "waiting", w, err, "page", made,
	    line) == -1 ? -1 : 0;
}

/*
 * Thread: each delivery of the event that is not final, by
 * cluster_page_made, mn being what its memo said before it; an
 * unreachable child's event goes to no one who read it in its parent's
 * page, and waits for its window's digest, as in a storm; a parent's
 * problem page lists its children down. While an earlier event of its
 * server is open (mn->behind) its pages are only made (page_held), and
 * it is NAKed to come again ORDER_WAIT_MS later. 1 when all are final
 * (or it was listed in a page or a digest), 0 when one must be tried
 * later, -1 when it comes again on its own (the bucket failed, or NAKed:
 * behind, or until its storm window's end or its parent's page).
 */
static int
page(struct cluster *cl, natsMsg *m, const struct spool_event *ev,
    const struct cluster_memo *mn)
{
	struct want	 wants[WANT_MAX];
	struct server_info info;
	struct spool_event buf;
	const struct spool_event *as;
	const char	*why;
	char		*msg;
	size_t		 n, i;
	int		 r;

	if (!rules_page_worthy(ev, mn->was_flapping, &why)) {
		log_info("event %" PRIu64 " %s %s -> %s: not paged, %s",
		    ev->seq, ev->id, ev->old_state, ev->new_state, why);
		return 1;
	}
	as = rules_as_heard(ev, mn->was_flapping, mn->heard, &buf);
	n = rules_wants(cl->conf, as, mn->sms, wants, WANT_MAX);
	n += cluster_remind_recovery(cl, as, mn, wants + n, WANT_MAX - n);
	if ((r = cluster_events_take(cl, m, ev, wants, &n)) != 0 ||
	    (r = cluster_storm_fold(cl, m, ev, wants, n)) != 0)
		return r;	/* listed in a page, or in the digest */
	if (cluster_events_list(cl, ev, wants, n, &info) == -1)
		return 0;	/* tried again: what it lists is not all kept */
	for (i = 0, r = 1; i < n && r != -1 && (r == 1 || mn->behind); i++) {
		msg = cluster_page_format(cl, ev, &wants[i], &info, 0,
		    mn->was_flapping && !ev->flapping);
		r = mn->behind != 0 ?
		    page_held(cl, ev, &wants[i], mn->behind, msg) :
		    cluster_page_made(cl, m, ev->seq, ev->id, &wants[i], 0,
		    "page", msg);
		free(msg);
	}
	if (mn->behind == 0 || r == -1 || n == 0)
		return r;
	log_debug("event %" PRIu64 " %s: waiting for event %" PRIu64 " of %s",
	    ev->seq, ev->id, mn->behind, ev->id);
	cluster_nak(cl, m, (int64_t)ORDER_WAIT_MS);
	return -1;
}

/*
 * Thread: the event noted in its server's memo, paged, and once its
 * pages are final no longer open: a server's events are noted in their
 * order in the stream, and one sends nothing while an earlier one is
 * open (its pages are made "waiting"), whichever pager takes which. 1:
 * ack; 0: nak, to try again later; -1: it comes again on its own (the
 * bucket failed, or NAKed: waiting for an earlier event of its server,
 * its storm window's end or its parent's page).
 */
static int
deliver(struct cluster *cl, natsMsg *m, const struct spool_event *ev)
{
	struct cluster_memo mn;
	int		 r;

	if (cluster_memo_note(cl, m, ev, &mn) == -1)
		return -1;
	if ((r = page(cl, m, ev, &mn)) == 1 && mn.open &&
	    cluster_memo_done(cl, ev) == -1)
		return 0;	/* comes again: its records say all went */
	return r;
}

/* Thread: one message of the stream, to its ack. */
static void
handle(struct cluster *cl, natsMsg *m)
{
	struct spool_event	 ev;
	int			 r;

	if (event_of(m, &ev) == -1) {
		log_warnx("cluster: an event that cannot be read; dropped");
		natsMsg_Term(m, NULL);
		return;
	}
	pthread_mutex_lock(&cl->mtx);
	cl->held = m;
	cl->held_since = time(NULL);
	pthread_mutex_unlock(&cl->mtx);
	r = deliver(cl, m, &ev);
	pthread_mutex_lock(&cl->mtx);
	cl->held = NULL;
	pthread_mutex_unlock(&cl->mtx);
	/* The ack is not waited for: one lost brings the event back, and
	 * its records (all final) and memo (noted) make that a no-op; a
	 * backlog then costs no round trip an event for it. */
	if (r == 1)
		natsMsg_Ack(m, NULL);
	else if (r == 0)
		cluster_nak(cl, m, (int64_t)RETRY_S * 1000);
	/* -1: the ack wait brings it back */
}

/*
 * Thread: a pull failed, not for want of events (s); logged once a
 * streak. When the consumer is gone (deleted by hand, or with its
 * stream) no pull will ever work again: the subscription is dropped, and
 * the loop makes it, and the consumer, again (setup). Else (a reconnect,
 * a leader being elected) the pull is tried again in 200 ms.
 */
static void
fetch_failed(struct cluster *cl, natsStatus s)
{
	jsConsumerInfo	*ci = NULL;
	jsErrCode	 jerr = 0;
	natsStatus	 is = s;

	if (!cl->fetch_failing)
		log_warnx("cluster: pulling from consumer %s: %s", DURABLE,
		    link_error(s));
	cl->fetch_failing = 1;
	if (s != NATS_NOT_FOUND)
		is = js_GetConsumerInfo(&ci, link_js(cl->link), QUORUM_STREAM,
		    DURABLE, NULL, &jerr);
	jsConsumerInfo_Destroy(ci);
	if (is == NATS_NOT_FOUND || jerr == JSConsumerNotFoundErr ||
	    jerr == JSStreamNotFoundErr) {
		log_warnx("cluster: consumer %s is gone; making it again",
		    DURABLE);
		natsSubscription_Destroy(cl->sub);
		cl->sub = NULL;
		cl->fetch_failing = 0;
		return;
	}
	nanosleep(&(struct timespec){ 0, 200000000 }, NULL);
}

/* The thread: set up, then pull one event at a time. */
static void *
run(void *arg)
{
	struct cluster	*cl = arg;
	natsMsgList	 list;
	natsStatus	 s;
	int		 i;

	while (!stopping(cl)) {
		if (cl->sub == NULL) {
			if (setup(cl) == -1) {
				for (i = 0; i < RETRY_S * 10 &&
				    !stopping(cl); i++)
					nanosleep(&(struct timespec){ 0,
					    100000000 }, NULL);
			}
			continue;
		}
		memset(&list, 0, sizeof(list));
		s = natsSubscription_Fetch(&list, cl->sub, 1, FETCH_WAIT_MS,
		    NULL);
		if (s == NATS_OK)
			for (i = 0; i < list.Count; i++)
				handle(cl, list.Msgs[i]);
		natsMsgList_Destroy(&list);
		if (s != NATS_OK && s != NATS_TIMEOUT && !stopping(cl))
			fetch_failed(cl, s);
		else
			cl->fetch_failing = 0;
		cluster_remind_tick(cl);
		cluster_stale_tick(cl);
		cluster_watchdog_tick(cl);
	}
	return NULL;
}

/*
 * Join the cluster of conf (set cluster) and page its events; conf must
 * outlive the cluster. NULL with err.
 */
struct cluster *
cluster_new(struct event_base *base, const struct conf *conf, char *err,
    size_t errlen)
{
	struct cluster	*cl;
	char		 node[QUORUM_KEY_MAX];

	cl = xcalloc(1, sizeof(*cl));
	cl->watchdog_alive = -1;
	cl->conf = conf;
	pthread_mutex_init(&cl->mtx, NULL);
	pthread_cond_init(&cl->cond, NULL);
	if ((cl->wh = webhook_new(base)) == NULL ||
	    (cl->hook_ev = event_new(base, -1, 0, on_hook_start, cl)) ==
	    NULL) {
		snprintf(err, errlen, "cannot set up webhooks");
		goto fail;
	}
	if (conf->smtp_relay != NULL &&
	    (cl->mc = mail_conf_new(conf, err, errlen)) == NULL)
		goto fail;
	if ((cl->sms = smsapi_new(conf, err, errlen)) == NULL && err[0] != '\0')
		goto fail;
	if (maildir_open(conf->state_dir, cl->maildir, sizeof(cl->maildir)) ==
	    -1) {
		snprintf(err, errlen, "cannot make the Maildir under %s",
		    conf->state_dir);
		goto fail;
	}
	if ((cl->link = link_new(base, conf, "tocsin-pager", err, errlen)) ==
	    NULL)
		goto fail;
	quorum_key(link_node(cl->link), node, sizeof(node));
	snprintf(cl->self, sizeof(cl->self), "%s-%ld-%lld", node,
	    (long)getpid(), (long long)time(NULL));
	if ((cl->beat_ev = event_new(base, -1, EV_PERSIST, on_beat, cl)) ==
	    NULL)
		fatalx("cluster: event_new");
	event_add(cl->beat_ev, &(struct timeval){ BEAT_S, 0 });
	on_beat(-1, 0, cl);
	if (pthread_create(&cl->thread, NULL, run, cl) != 0)
		fatalx("cluster: pthread_create");
	return cl;
fail:
	smsapi_free(cl->sms);
	mail_conf_free(cl->mc);
	if (cl->hook_ev != NULL)
		event_free(cl->hook_ev);
	webhook_free(cl->wh);
	pthread_cond_destroy(&cl->cond);
	pthread_mutex_destroy(&cl->mtx);
	free(cl);
	return NULL;
}

/* Stop: the link closes first, so a fetch or a record under way ends at
 * once; an event not acked goes to another pager. */
void
cluster_free(struct cluster *cl)
{
	if (cl == NULL)
		return;
	pthread_mutex_lock(&cl->mtx);
	cl->stop = 1;
	pthread_cond_broadcast(&cl->cond);
	pthread_mutex_unlock(&cl->mtx);
	event_free(cl->beat_ev);
	link_close(cl->link);
	pthread_join(cl->thread, NULL);
	/* on the loop's thread: no webhook callback runs meanwhile */
	event_free(cl->hook_ev);
	webhook_free(cl->wh);	/* a call in flight is abandoned */
	natsSubscription_Destroy(cl->sub);
	kvStore_Destroy(cl->kv);
	kvStore_Destroy(cl->pagers);
	kvStore_Destroy(cl->memo);
	kvStore_Destroy(cl->storm);
	kvStore_Destroy(cl->deps);
	kvStore_Destroy(cl->states);
	kvStore_Destroy(cl->remind);
	kvStore_Destroy(cl->control);
	kvStore_Destroy(cl->stale);
	kvStore_Destroy(cl->watchdog);
	kvStore_Destroy(cl->nodes);
	link_free(cl->link);
	mail_conf_free(cl->mc);
	smsapi_free(cl->sms);
	pthread_cond_destroy(&cl->cond);
	pthread_mutex_destroy(&cl->mtx);
	free(cl);
}
