/*
 * cluster_events.c: dependencies (depends-on) for tocsin-pager in
 * cluster mode, as dispatch.c does them on one machine. A parent's
 * problem page lists its dependents the cluster has down; a child's
 * event that carries `unreachable` is never paged alone: it goes to no
 * one who read it in the parent's page, to the others in the digest of
 * its storm window (cluster_storm.c folds it, whatever set storm's
 * count), one a window, contact and channel.
 * What the pagers share lives in the bucket tocsin_unreachable:
 *  - listed.SKEY: a child's problem and the parent's page that listed
 *    it ({"by": its event, "who": "contact/channel,..."}), or that it
 *    went to the digest ({"by": 0}), whichever came first; gone when
 *    the child's next event is paged alone (its recovery, or the record
 *    saying its parents are up again and it is still down);
 *  - page.SKEY: a parent's last problem page made ({"seq": its event}):
 *    a child's unreachable event that came after the parent's waits for
 *    it (WAIT_S at most), so that page may list it.
 * Keys go KEEP_MS after their last change (a server taken out of the
 * config leaves none behind for good).
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
#include "log.h"

#include "cluster_impl.h"
#include "link.h"
#include "quorum.h"
#include "store.h"

#define BUCKET		"tocsin_unreachable"
#define CAS_TRIES	3
#define WAIT_S		60	/* an unreachable child's event waits this
				   long (by its time) for its parent's page */
#define KEEP_MS		((int64_t)7 * 24 * 3600 * 1000)	/* keys kept */

/* Thread: the buckets, made or found once; none when the config has no
 * depends-on (cl->deps stays NULL: nothing here is needed). 0, or -1
 * with err. */
int
cluster_events_open(struct cluster *cl, char *err, size_t errlen)
{
	jsCtx	*js = link_js(cl->link);
	size_t	 i;
	int	 r = link_replicas(cl->link), any = 0;

	for (i = 0; i < cl->conf->nservers; i++)
		any |= cl->conf->servers[i]->ndeps > 0;
	if (!any)
		return 0;
	if (cl->deps == NULL && store_bucket_ttl(js, BUCKET, r, 1, KEEP_MS,
	    &cl->deps, err, errlen) == -1)
		return -1;
	if (cl->states == NULL && store_bucket(js, QUORUM_STATES, r, 1,
	    &cl->states, err, errlen) == -1)
		return -1;
	return 0;
}

/* o's string at key, or "". */
static const char *
str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "";
}

/*
 * Thread: must the unreachable event ev (of server sc) wait for a
 * parent's page? When the parent's last event in the stream came before
 * it and is a problem, and no page of it was made yet (page.SKEY): a
 * pager may be making it, and it may list ev's server. Not once ev is
 * WAIT_S old: the parent's event may go to no one (in a downtime).
 */
static int
parent_wait(struct cluster *cl, const struct spool_event *ev,
    const struct server_conf *sc)
{
	natsMsg		*m;
	jsErrCode	 jerr = 0;
	json_t		*o, *pg;
	char		 pkey[QUORUM_KEY_MAX], subj[QUORUM_KEY_MAX + 32];
	char		 key[QUORUM_KEY_MAX + 16];
	natsStatus	 s;
	uint64_t	 pseq, rev;
	size_t		 i;
	int		 wait = 0;

	if (time(NULL) - ev->time >= WAIT_S)
		return 0;	/* the parent's may go to no one */
	for (i = 0; i < sc->ndeps && !wait; i++) {
		quorum_key(sc->deps[i]->id, pkey, sizeof(pkey));
		snprintf(subj, sizeof(subj), "%s.%s", QUORUM_SUBJECT, pkey);
		m = NULL;
		if ((s = js_GetLastMsg(&m, link_js(cl->link), QUORUM_STREAM,
		    subj, NULL, &jerr)) != NATS_OK) {
			/* no event of the parent: nothing to wait for; the
			 * stream cannot tell: wait, rather than guess */
			wait = s != NATS_NOT_FOUND &&
			    jerr != JSNoMessageFoundErr;
			continue;
		}
		pseq = natsMsg_GetSequence(m);
		o = json_loadb(natsMsg_GetData(m), natsMsg_GetDataLength(m), 0,
		    NULL);
		natsMsg_Destroy(m);
		if (pseq < ev->seq && strcmp(str(o, "new"), "up") != 0) {
			snprintf(key, sizeof(key), "page.%s", pkey);
			/* the bucket cannot tell: wait */
			wait = (pg = cluster_kv_object(cl->deps, key, &rev,
			    "dependencies")) == NULL ||
			    (uint64_t)json_integer_value(json_object_get(pg,
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
 * digest, and a later page of its parent does not take it. 0, or -1.
 */
static int
listed_by(struct cluster *cl, const char *skey, uint64_t *by, char *who,
    size_t wholen)
{
	json_t		*o;
	char		 key[QUORUM_KEY_MAX + 16];
	uint64_t	 rev;
	int		 i, r;

	snprintf(key, sizeof(key), "listed.%s", skey);
	for (i = 0; i < CAS_TRIES; i++) {
		if ((o = cluster_kv_object(cl->deps, key, &rev,
		    "dependencies")) == NULL)
			return -1;
		if (rev != 0) {
			*by = json_integer_value(json_object_get(o, "by"));
			snprintf(who, wholen, "%s", str(o, "who"));
			json_decref(o);
			return 0;
		}
		json_object_set_new(o, "by", json_integer(0));
		r = cluster_kv_cas(cl->deps, key, o, &rev, "dependencies");
		json_decref(o);
		if (r == -1)
			return -1;
		if (r == 1) {
			*by = 0;
			who[0] = '\0';
			return 0;
		}
	}
	return -1;
}

/*
 * Thread: event ev, whose deliveries are wants[0 .. *n). An event paged
 * alone is left to page (a child's problem is listed no more). An
 * unreachable child's event: the deliveries that read it in its parent's
 * page are taken out of wants (*n less; 0: nothing left, ack), the
 * others left for the storm window's digest. 0: go on; -1: it comes
 * again, NAKed while its parent's page may be on its way, or the bucket
 * failed.
 */
int
cluster_events_take(struct cluster *cl, natsMsg *m,
    const struct spool_event *ev, struct want *wants, size_t *n)
{
	const struct server_conf *sc = conf_find_server(cl->conf, ev->id);
	char		 skey[QUORUM_KEY_MAX], key[QUORUM_KEY_MAX + 16];
	char		 who[512] = "", w[CONTACT_MAX + 16];
	uint64_t	 by = 0;
	size_t		 i, j;
	int		 recovery = format_kind(ev, 0) == PAGE_RECOVERY;

	if (cl->deps == NULL)
		return 0;	/* no depends-on: the storm folds it */
	quorum_key(ev->id, skey, sizeof(skey));
	/* a child's problem paged alone now, or over: no longer listed */
	if (sc != NULL && sc->ndeps > 0 && (rules_alone(ev) || recovery)) {
		snprintf(key, sizeof(key), "listed.%s", skey);
		kvStore_Delete(cl->deps, key);
	}
	if (rules_alone(ev))
		return 0;
	if (!recovery && sc != NULL && parent_wait(cl, ev, sc)) {
		log_debug("event %" PRIu64 " %s: unreachable; waiting for its "
		    "parent's page", ev->seq, ev->id);
		cluster_nak(cl, m, (int64_t)RETRY_S * 1000);
		return -1;
	}
	if (!recovery && listed_by(cl, skey, &by, who, sizeof(who)) == -1)
		return -1;
	for (i = j = 0; i < *n; i++) {
		snprintf(w, sizeof(w), "%s/%s", wants[i].contact->name,
		    queue_channel_str(wants[i].ch));
		if (by != 0 && memo_listed(who, w))
			log_info("event %" PRIu64 " %s %s -> %s: %s listed in "
			    "the page of event %" PRIu64, ev->seq, ev->id,
			    ev->old_state, ev->new_state, w, by);
		else
			wants[j++] = wants[i];
	}
	*n = j;
	return 0;
}

/* 1 when every "contact/channel" of the comma-separated list who is in
 * the list has. */
static int
all_listed(const char *has, const char *who)
{
	char	 w[CONTACT_MAX + 16];
	size_t	 len;

	while (*who != '\0') {
		len = strcspn(who, ",");
		snprintf(w, sizeof(w), "%.*s", (int)len, who);
		if (!memo_listed(has, w))
			return 0;
		who += len;
		if (*who == ',')
			who++;
	}
	return 1;
}

/*
 * Thread: the problem of the child of key skey noted as listed by the
 * page of event ev, for who (its email and webhook deliveries), unless
 * a page or the digest has it already: the first wins; when down is 0
 * (the child is up now) no claim is made, only this page's own is
 * looked for (a try of the page before made it, and the child's event
 * may have been taken out for it). 1 when ev's page lists the child:
 * the claim is ev's, or an earlier page's for every one of who; 0 when
 * it does not (none; the digest's; another page's for others), so the
 * child is told to each in one place, the page or the digest, not in
 * both nor in none; -1 when the bucket cannot tell.
 */
static int
claim(struct cluster *cl, const char *skey, const struct spool_event *ev,
    const char *who, int down)
{
	json_t		*cur, *mine;
	char		 key[QUORUM_KEY_MAX + 16];
	uint64_t	 rev, by;
	int		 i, r = -1;

	snprintf(key, sizeof(key), "listed.%s", skey);
	mine = json_pack("{s:I, s:s, s:s}", "by", (json_int_t)ev->seq,
	    "parent", ev->id, "who", who);
	if (mine == NULL)
		fatalx("cluster: out of memory");
	/* a conflict: read who won */
	for (i = 0; i < CAS_TRIES && r == -1; i++) {
		if ((cur = cluster_kv_object(cl->deps, key, &rev,
		    "dependencies")) == NULL)
			break;
		by = (uint64_t)json_integer_value(json_object_get(cur, "by"));
		if (rev != 0)
			r = by == ev->seq || (down && by != 0 &&
			    all_listed(str(cur, "who"), who));
		else if (!down)
			r = 0;
		else if ((r = cluster_kv_cas(cl->deps, key, mine, &rev,
		    "dependencies")) == 0)
			r = -1;
		else if (r == -1)
			i = CAS_TRIES;
		json_decref(cur);
	}
	json_decref(mine);
	return r;
}

/* Thread: the parent's problem page of event ev made (page.SKEY), so its
 * children's events wait no more. 0, or -1 when the bucket failed. */
static int
page_noted(struct cluster *cl, const struct spool_event *ev)
{
	json_t		*cur, *o;
	char		 skey[QUORUM_KEY_MAX], key[QUORUM_KEY_MAX + 16];
	uint64_t	 rev;
	int		 i, r = 0;

	quorum_key(ev->id, skey, sizeof(skey));
	snprintf(key, sizeof(key), "page.%s", skey);
	if ((o = json_pack("{s:I}", "seq", (json_int_t)ev->seq)) == NULL)
		fatalx("cluster: out of memory");
	for (i = 0; i < CAS_TRIES && r == 0; i++) {
		if ((cur = cluster_kv_object(cl->deps, key, &rev,
		    "dependencies")) == NULL)
			r = -1;
		else if ((uint64_t)json_integer_value(json_object_get(cur,
		    "seq")) >= ev->seq)
			r = 1;		/* this page, or a later one */
		else
			r = cluster_kv_cas(cl->deps, key, o, &rev,
			    "dependencies");
		json_decref(cur);
	}
	json_decref(o);
	return r == 1 ? 0 : -1;
}

/*
 * Thread: what event ev's own page says besides (info); for a parent's
 * problem, the dependents of its server the cluster has not up, in
 * info->unreachable, each one's problem noted as listed by this page
 * (unless a page or the digest has it already) for the email and webhook
 * deliveries of wants (an SMS lists none), and the page noted made, so
 * its children's events wait no more. 0, or -1 when a bucket cannot
 * tell: then no page may go yet (a child's event could go to the digest
 * while the page lists it, or wait for it long), and ev is tried again.
 */
int
cluster_events_list(struct cluster *cl, const struct spool_event *ev,
    const struct want *wants, size_t n, struct server_info *info)
{
	const struct server_conf *sc;
	json_t		*o;
	char		 skey[QUORUM_KEY_MAX];
	char		 who[512] = "", w[CONTACT_MAX + 16];
	uint64_t	 rev;
	size_t		 i, ndep = 0;
	int		 r;

	memset(info, 0, sizeof(*info));
	info->latency_ms = -1;
	if (cl->deps == NULL || !rules_alone(ev) ||
	    format_kind(ev, 0) != PAGE_PROBLEM)
		return 0;
	for (i = 0; i < n; i++) {
		snprintf(w, sizeof(w), "%s/%s", wants[i].contact->name,
		    queue_channel_str(wants[i].ch));
		if (wants[i].ch != CH_SMS)
			memo_list_add(who, sizeof(who), w);
	}
	for (i = 0; i < cl->conf->nservers; i++) {
		sc = cl->conf->servers[i];
		if (!conf_depends_on(sc, ev->id))
			continue;
		ndep++;
		quorum_key(sc->id, skey, sizeof(skey));
		if ((o = cluster_kv_object(cl->states, skey, &rev,
		    "states")) == NULL)
			return -1;
		r = claim(cl, skey, ev, who, rev != 0 &&
		    strcmp(str(o, "new"), "up") != 0);
		json_decref(o);
		if (r == -1)
			return -1;
		if (r == 1)
			memo_list_add(info->unreachable,
			    sizeof(info->unreachable), sc->id);
	}
	return ndep > 0 ? page_noted(cl, ev) : 0;
}
