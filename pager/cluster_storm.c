/*
 * cluster_storm.c: storm digests of the cluster's pagers (set storm N
 * DURATION), as on one machine (rules_storm): the first change opens a
 * window, its first N changes are paged alone, the rest (and unreachable
 * servers' changes, whatever the count, to whom cluster_events.c left
 * them: not who read them in their parent's page) wait for one digest
 * per contact and channel at the window's end. The windows live in the bucket tocsin_storm:
 *   open       {"end": T}: the window now open (Unix s, event time)
 *   ev.SEQ     {"end": T}: the window of event SEQ, set once
 *   win.T      {"counted": [SEQ...], "folded": [{"seq", "line", "to":
 *              ["contact/channel"...]}...], "digest": {"by", "time",
 *              "state": "sending"|"sent"}}
 * all changed by compare-and-set. A folded event is NAKed until 2 s past
 * its window's end; then the pager that holds one claims the digest (by
 * compare-and-set on win.T), sends it in the place of the last folded
 * event's own pages (their Message-ID, Idempotency-Key and records), and
 * says "sent"; the others' folded events are acked as listed in it. The
 * claimant makes its claim fresh before each page; a claim whose pager
 * died (cluster_claim_lapsed) is taken over: the records say what went
 * already.
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

#define STORM_BUCKET	"tocsin_storm"
#define STORM_TTL_MS	((int64_t)24 * 3600 * 1000)	/* keys kept */
#define CAS_TRIES	10
#define AFTER_END_S	2	/* a folded event comes back then */

enum verdict { V_PAGE, V_FOLD, V_FAIL };

/* Thread: the bucket, made unless it exists. 0, or -1 with err. */
int
cluster_storm_open(struct cluster *cl, char *err, size_t errlen)
{
	if (cl->storm != NULL)
		return 0;
	return store_bucket_ttl(link_js(cl->link), STORM_BUCKET,
	    link_replicas(cl->link), 1, STORM_TTL_MS, &cl->storm, err,
	    errlen);
}

static int64_t
end_of(json_t *o)
{
	return json_integer_value(json_object_get(o, "end"));
}

/*
 * The end of event ev's window (0 when the bucket failed): the one it
 * was given before (it comes again), else the open one, or a new one it
 * opens when the open one ended before its time.
 */
static int64_t
window_of(struct cluster *cl, const struct spool_event *ev)
{
	json_t		*o;
	char		 key[64];
	uint64_t	 rev;
	int64_t		 end = 0, len;
	int		 i, r = 0;

	snprintf(key, sizeof(key), "ev.%" PRIu64, ev->seq);
	for (i = 0; i < CAS_TRIES && r == 0; i++) {
		if ((o = cluster_kv_object(cl->storm, key, &rev,
		    "storm")) == NULL)
			return 0;
		if ((end = end_of(o)) > 0) {
			json_decref(o);
			return end;
		}
		json_decref(o);
		if ((o = cluster_kv_object(cl->storm, "open", &rev,
		    "storm")) == NULL)
			return 0;
		if ((end = end_of(o)) <= ev->time) {
			len = (int64_t)(cl->conf->storm_ms / 1000);
			end = ev->time + (len > 0 ? len : 1);
			json_object_set_new(o, "end", json_integer(end));
			if ((r = cluster_kv_cas(cl->storm, "open", o, &rev,
			    "storm")) != 1) {
				json_decref(o);
				if (r == -1)
					return 0;
				continue;
			}
		}
		json_decref(o);
		o = json_pack("{s:I}", "end", (json_int_t)end);
		rev = 0;	/* made: another pager may have first */
		r = cluster_kv_cas(cl->storm, key, o, &rev, "storm");
		json_decref(o);
		if (r == -1)
			return 0;
	}
	return r == 1 ? end : 0;
}

/* 1 when the array holds seq, as a number or an object's "seq". */
static int
holds(json_t *a, uint64_t seq)
{
	json_t	*v;
	size_t	 i;

	json_array_foreach(a, i, v)
		if ((uint64_t)json_integer_value(json_is_object(v) ?
		    json_object_get(v, "seq") : v) == seq)
			return 1;
	return 0;
}

/* An array member of o, made when missing. */
static json_t *
array_in(json_t *o, const char *key)
{
	json_t *a = json_object_get(o, key);

	if (!json_is_array(a)) {
		a = json_array();
		json_object_set_new(o, key, a);
	}
	return a;
}

/* Add ev to window o: counted (paged alone) while fewer than set storm's
 * N are, else folded with its digest line and wants. */
static enum verdict
add(struct cluster *cl, json_t *o, const struct spool_event *ev,
    const struct want *w, size_t n)
{
	json_t	*counted = array_in(o, "counted"), *to, *f;
	char	 line[1024], who[CONTACT_MAX + 16];
	size_t	 i;

	if (rules_alone(ev) &&
	    json_array_size(counted) < cl->conf->storm_n) {
		json_array_append_new(counted, jsontext_u64(ev->seq));
		return V_PAGE;
	}
	format_digest_line(ev, line, sizeof(line));
	to = json_array();
	for (i = 0; i < n; i++) {
		snprintf(who, sizeof(who), "%s/%s", w[i].contact->name,
		    queue_channel_str(w[i].ch));
		json_array_append_new(to, jsontext(who));
	}
	f = json_pack("{s:o, s:o, s:o}", "seq", jsontext_u64(ev->seq),
	    "line", jsontext(line), "to", to);
	json_array_append_new(array_in(o, "folded"), f);
	return V_FOLD;
}

/*
 * Whether ev, of the window ending at end, is paged alone or folded:
 * what the window says of it, or it joins (by compare-and-set). A
 * window whose digest is claimed takes no more: a late event is paged
 * alone. *win gets the window as read (the caller frees it).
 */
static enum verdict
join(struct cluster *cl, const char *key, const struct spool_event *ev,
    const struct want *w, size_t n, json_t **win)
{
	enum verdict	 v;
	uint64_t	 rev;
	int		 i, r;

	for (i = 0; i < CAS_TRIES; i++) {
		if ((*win = cluster_kv_object(cl->storm, key, &rev,
		    "storm")) == NULL)
			return V_FAIL;
		if (holds(json_object_get(*win, "counted"), ev->seq))
			return V_PAGE;
		if (holds(json_object_get(*win, "folded"), ev->seq))
			return V_FOLD;
		if (json_object_get(*win, "digest") != NULL)
			return V_PAGE;
		v = add(cl, *win, ev, w, n);
		if ((r = cluster_kv_cas(cl->storm, key, *win, &rev,
		    "storm")) == 1)
			return v;
		json_decref(*win);
		*win = NULL;
		if (r == -1)
			return V_FAIL;
	}
	return V_FAIL;
}

/* The want of "contact/channel" in the config, or 0 when it has none
 * now. */
static int
want_of(const struct conf *c, const char *who, struct want *w)
{
	char	 name[CONTACT_MAX];
	size_t	 i, len = strcspn(who, "/");

	snprintf(name, sizeof(name), "%.*s", (int)len, who);
	for (i = 0; i < c->ncontacts; i++) {
		if (strcmp(c->contacts[i]->name, name) != 0)
			continue;
		w->contact = c->contacts[i];
		w->ch = strcmp(who + len, "/sms") == 0 ? CH_SMS :
		    strcmp(who + len, "/webhook") == 0 ? CH_WEBHOOK : CH_EMAIL;
		w->to = w->ch == CH_SMS ? c->contacts[i]->sms :
		    w->ch == CH_WEBHOOK ? c->contacts[i]->webhook :
		    c->contacts[i]->email;
		return w->to != NULL;
	}
	return 0;
}

/* qsort: two digest lines, by the time each opens with. */
static int
by_time(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The digest of folded to who ("contact/channel"), in the place of event
 * seq's page: 1 sent (or none due), 0 later, -1 the bucket failed. */
static int
send_to(struct cluster *cl, natsMsg *m, json_t *folded, uint64_t seq,
    const char *who)
{
	struct want	 w;
	const char	**lines;
	json_t		*f, *t;
	size_t		 i, j, n = 0;
	char		*msg;
	int		 r;

	if (!want_of(cl->conf, who, &w))
		return 1;
	lines = xcalloc(json_array_size(folded), sizeof(*lines));
	json_array_foreach(folded, i, f)
		json_array_foreach(json_object_get(f, "to"), j, t)
			if (strcmp(json_string_value(t), who) == 0)
				lines[n++] = json_string_value(
				    json_object_get(f, "line"));
	qsort(lines, n, sizeof(*lines), by_time);
	msg = cluster_digest_format(cl, &w, seq, lines, n, 0);
	log_info("event %" PRIu64 ": storm digest of %zu changes for %s (%s)",
	    seq, n, w.contact->name, queue_channel_str(w.ch));
	r = cluster_page_made(cl, m, seq, NULL, &w, 0, "digest", msg);
	free(msg);
	free(lines);
	return r;
}

/* Set the digest's state in win (key at rev): 1, 0 conflict, -1. */
static int
claim(struct cluster *cl, const char *key, json_t *win, uint64_t rev,
    const char *state)
{
	json_object_set_new(win, "digest", json_pack("{s:s, s:I, s:s}",
	    "by", cl->self, "time", (json_int_t)time(NULL), "state",
	    state));
	return cluster_kv_cas(cl->storm, key, win, &rev, "storm");
}

/*
 * Before each page of the digest: the claim on window key made fresh
 * (its time now) while it is still ours, so no other pager takes it over
 * as stale while this one sends. 1, 0 when another pager has it, -1 when
 * the bucket failed.
 */
static int
keep_claim(struct cluster *cl, const char *key)
{
	json_t		*win;
	const char	*by;
	uint64_t	 rev;
	int		 i, r = 0;

	for (i = 0; i < CAS_TRIES; i++) {
		if ((win = cluster_kv_object(cl->storm, key, &rev,
		    "storm")) == NULL)
			return -1;
		by = json_string_value(json_object_get(json_object_get(win,
		    "digest"), "by"));
		if (by == NULL || strcmp(by, cl->self) != 0)
			r = 0;
		else if ((r = claim(cl, key, win, rev, "sending")) == 0) {
			json_decref(win);
			continue;
		}
		json_decref(win);
		return r;
	}
	return -1;
}

/* The digest of window win (key) to everyone its folded events want,
 * each once: 1 all sent, 0 one later (or another pager took it over), -1
 * the bucket failed. */
static int
send_digest(struct cluster *cl, natsMsg *m, const char *key, json_t *win,
    uint64_t seq)
{
	json_t		*folded = json_object_get(win, "folded"), *f, *t;
	json_t		*done = json_object();
	size_t		 i, j;
	const char	*who;
	int		 r = 1;

	json_array_foreach(folded, i, f)
		json_array_foreach(json_object_get(f, "to"), j, t) {
			who = json_string_value(t);
			if (r != 1 || who == NULL ||
			    json_object_get(done, who) != NULL)
				continue;
			json_object_set_new(done, who, json_true());
			if ((r = keep_claim(cl, key)) == 1)
				r = send_to(cl, m, folded, seq, who);
		}
	json_decref(done);
	return r;
}

/* The last folded event of a window: the digest goes in its place. */
static uint64_t
last_folded(json_t *win)
{
	json_t		*f;
	uint64_t	 seq = 0, s;
	size_t		 i;

	json_array_foreach(json_object_get(win, "folded"), i, f)
		if ((s = (uint64_t)json_integer_value(json_object_get(f,
		    "seq"))) > seq)
			seq = s;
	return seq;
}

/* The window's digest is sent: 1, or -1 when the bucket failed. */
static int
mark_sent(struct cluster *cl, const char *key)
{
	json_t		*win;
	uint64_t	 rev;
	int		 i, r = -1;

	for (i = 0; i < CAS_TRIES && r != 1; i++) {
		if ((win = cluster_kv_object(cl->storm, key, &rev,
		    "storm")) == NULL)
			return -1;
		r = claim(cl, key, win, rev, "sent");
		json_decref(win);
		if (r == -1)
			return -1;
	}
	return r == 1 ? 1 : -1;
}

/*
 * Folded event ev after its window's end: acked (1) once the digest is
 * sent; else it claims the digest (nobody has, or its claim is stale, or
 * it is ours) and sends it, or it comes again (-1, NAKed).
 */
static int
digest(struct cluster *cl, natsMsg *m, const struct spool_event *ev,
    const char *key)
{
	json_t		*win, *d;
	uint64_t	 rev, seq;
	const char	*by, *state;
	int64_t		 t;
	int		 i, r = -1;

	for (i = 0; i < CAS_TRIES; i++) {
		if ((win = cluster_kv_object(cl->storm, key, &rev,
		    "storm")) == NULL)
			return -1;
		d = json_object_get(win, "digest");
		state = json_string_value(json_object_get(d, "state"));
		by = json_string_value(json_object_get(d, "by"));
		t = json_integer_value(json_object_get(d, "time"));
		seq = last_folded(win);
		if (state != NULL && strcmp(state, "sent") == 0) {
			log_info("event %" PRIu64 " %s %s -> %s: listed in the "
			    "storm digest of event %" PRIu64, ev->seq, ev->id,
			    ev->old_state, ev->new_state, seq);
			json_decref(win);
			return 1;
		}
		if (state != NULL && (by == NULL ||
		    strcmp(by, cl->self) != 0) &&
		    !cluster_claim_lapsed(cl, by, t, time(NULL))) {
			json_decref(win);
			break;		/* another pager sends it */
		}
		if ((r = claim(cl, key, win, rev, "sending")) == 1) {
			if ((r = send_digest(cl, m, key, win, seq)) == 1)
				r = mark_sent(cl, key);
			json_decref(win);
			if (r == 0)
				break;	/* a page to try later */
			if (r == -1)
				return -1;
			continue;	/* sent: acked as listed */
		}
		json_decref(win);
		if (r == -1)
			return -1;
	}
	cluster_nak(cl, m, (int64_t)RETRY_S * 1000);
	return -1;
}

/*
 * Thread: event ev, paged to the n wants w unless a storm holds. 0 when
 * it is paged alone; 1 when it was listed in its window's digest (ack
 * it); -1 when it comes again: NAKed until its window's end (+2 s), or
 * while another pager sends the digest, or the bucket failed.
 */
int
cluster_storm_fold(struct cluster *cl, natsMsg *m,
    const struct spool_event *ev, const struct want *w, size_t n)
{
	json_t		*win = NULL;
	char		 key[64];
	int64_t		 end, wait;
	enum verdict	 v;

	if (n == 0 || (cl->conf->storm_n == 0 && rules_alone(ev)))
		return 0;
	if ((end = window_of(cl, ev)) == 0)
		return -1;
	snprintf(key, sizeof(key), "win.%" PRId64, end);
	v = join(cl, key, ev, w, n, &win);
	json_decref(win);
	if (v == V_PAGE)
		return 0;
	if (v == V_FAIL)
		return -1;
	if ((wait = end + AFTER_END_S - (int64_t)time(NULL)) > 0) {
		log_info("event %" PRIu64 " %s %s -> %s: listed in the storm "
		    "digest at the window's end (%s)", ev->seq, ev->id,
		    ev->old_state, ev->new_state, !rules_alone(ev) ?
		    "unreachable: a server it depends on is down" :
		    "more changes than set storm pages alone");
		cluster_nak(cl, m, wait * 1000);
		return -1;
	}
	return digest(cl, m, ev, key);
}
