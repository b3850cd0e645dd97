/*
 * testpage.c: `test-page CONTACT` on the control socket: one try on each
 * of the contact's channels, sent at once with senders of its own (a
 * webhook multi on the loop, a mail worker, the relay's settings and the
 * SMS gateway made from the config in force), not recorded. It needs
 * nothing of the queue, so it works alike on one machine and in cluster
 * mode.
 */
#include <sys/queue.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "conf.h"
#include "jsontext.h"
#include "log.h"
#include "util.h"
#include "worker.h"
#include "xmalloc.h"

#include "dispatch.h"
#include "pager.h"

/* One channel's try. */
struct testch {
	struct testpage		*t;
	enum channel		 ch;
	char			 to[ADDR_MAX];
	char			*msg;
	char			 name[200];	/* in the Maildir */
	enum send_result	 r;
	char			 err[ERROR_MAX];
	int			 over;
};

/* One test page: a try on each channel, answered when all are over. */
struct testpage {
	struct testpages	*tp;
	char			 contact[CONTACT_MAX];
	char			 state_dir[1024];	/* its Maildir's */
	struct mail_conf	*mc;		/* NULL: the Maildir */
	size_t			 n, left;
	struct testch		 ch[3];
	dispatch_answer_fn	*cb;
	void			*arg;
	TAILQ_ENTRY(testpage)	 entry;
};

/* When a contact's last test page began. */
struct testlast {
	char			 contact[CONTACT_MAX];
	int64_t			 at;		/* mono_us */
};

struct testpages {
	struct webhook		*wh;		/* webhooks and the SMS API */
	struct worker		*mail;		/* the relay, or the Maildir */
	TAILQ_HEAD(, testpage)	 tests;		/* in flight */
	struct testlast		*last;		/* one a contact tested */
	size_t			 nlast;
};

#define TEST_GAP_S	5	/* a contact's test pages, one this often */

static void	 channel_start(struct testpage *, const struct conf *,
		    size_t);
static int	 mail_ready(struct testpage *, const struct conf *,
		    char *, size_t);
static char	*test_json(const char *, const char *);
static void	 mail_work(void *);
static void	 mail_done(void *);
static void	 on_http(void *, enum send_result, const char *);
static void	 over(struct testpage *, size_t, enum send_result,
		    const char *);
static void	 answer(struct testpage *, const char *);

/* The senders of the tests, on base; NULL with err when libcurl cannot
 * start. */
struct testpages *
testpages_new(struct event_base *base, char *err, size_t errlen)
{
	struct testpages *tp;

	tp = xcalloc(1, sizeof(*tp));
	TAILQ_INIT(&tp->tests);
	if ((tp->wh = webhook_new(base)) == NULL) {
		snprintf(err, errlen, "cannot start libcurl");
		free(tp);
		return NULL;
	}
	tp->mail = worker_new(base, "testpage");
	return tp;
}

/*
 * Stop: the mails in flight finish (bounded by the relay's timeouts) and
 * their tests answer; webhooks in flight are abandoned, and the tests
 * still in flight answer with what they have.
 */
void
testpages_free(struct testpages *tp)
{
	struct testpage *t;

	if (tp == NULL)
		return;
	webhook_free(tp->wh);
	worker_free(tp->mail);
	while ((t = TAILQ_FIRST(&tp->tests)) != NULL)
		answer(t, "tocsin-pager stopped first");
	free(tp->last);
	free(tp);
}

/*
 * May a test page to contact begin now? Not while one to it is under
 * way, nor within TEST_GAP_S of the last one's start: a script that
 * loops on test-page pages a phone once in TEST_GAP_S at the most. 1
 * (its start noted), or 0 with err.
 */
static int
test_allowed(struct testpages *tp, const char *contact, char *err,
    size_t errlen)
{
	struct testpage	*t;
	int64_t		 now = mono_us(), ago;
	size_t		 i;

	TAILQ_FOREACH(t, &tp->tests, entry)
		if (strcmp(t->contact, contact) == 0) {
			snprintf(err, errlen, "a test page to '%s' is under "
			    "way: one at a time", contact);
			return 0;
		}
	for (i = 0; i < tp->nlast; i++)
		if (strcmp(tp->last[i].contact, contact) == 0)
			break;
	if (i < tp->nlast && (ago = now - tp->last[i].at) <
	    TEST_GAP_S * 1000000LL) {
		snprintf(err, errlen, "a test page to '%s' began %lld s ago: "
		    "one in %d s, try again in %lld s", contact,
		    (long long)(ago / 1000000), TEST_GAP_S,
		    (long long)(TEST_GAP_S - ago / 1000000));
		return 0;
	}
	if (i == tp->nlast) {
		tp->last = xreallocarray(tp->last, tp->nlast + 1,
		    sizeof(*tp->last));
		strlcpy(tp->last[tp->nlast++].contact, contact,
		    sizeof(tp->last[0].contact));
	}
	tp->last[i].at = now;
	return 1;
}

/*
 * A test page to contact on each channel it has in conf, sent at once
 * (not recorded: a crash forgets it), each outcome reported: cb(arg,
 * {"ok":true,"contact":C,"channels":[{"channel","to","result","error"}]})
 * once every try is over. conf is read now only. Returns 0, or -1 with
 * err set (no such contact, or one tested under TEST_GAP_S ago or now:
 * cb is not called).
 */
int
testpage_start(struct testpages *tp, const struct conf *conf,
    const char *contact, dispatch_answer_fn *cb, void *arg, char *err,
    size_t errlen)
{
	const struct contact_conf	*ct = NULL;
	struct testpage			*t;
	size_t				 i;

	for (i = 0; i < conf->ncontacts; i++)
		if (strcmp(conf->contacts[i]->name, contact) == 0)
			ct = conf->contacts[i];
	if (ct == NULL) {
		snprintf(err, errlen, "no contact '%s' in the config",
		    contact);
		return -1;
	}
	if (!test_allowed(tp, ct->name, err, errlen))
		return -1;
	t = xcalloc(1, sizeof(*t));
	t->tp = tp;
	t->cb = cb;
	t->arg = arg;
	strlcpy(t->contact, ct->name, sizeof(t->contact));
	strlcpy(t->state_dir, conf->state_dir, sizeof(t->state_dir));
	if (ct->email != NULL) {
		t->ch[t->n].ch = CH_EMAIL;
		strlcpy(t->ch[t->n++].to, ct->email, sizeof(t->ch[0].to));
	}
	if (ct->sms != NULL) {
		t->ch[t->n].ch = CH_SMS;
		strlcpy(t->ch[t->n++].to, ct->sms, sizeof(t->ch[0].to));
	}
	if (ct->webhook != NULL) {
		t->ch[t->n].ch = CH_WEBHOOK;
		strlcpy(t->ch[t->n++].to, ct->webhook, sizeof(t->ch[0].to));
	}
	TAILQ_INSERT_TAIL(&tp->tests, t, entry);
	t->left = t->n;
	if (t->n == 0) {
		answer(t, NULL);
		return 0;
	}
	for (i = 0; i < t->n; i++)
		channel_start(t, conf, i);
	return 0;
}

/*
 * Start one channel's test: the text says it is a test; its Message-ID
 * and Idempotency-Key are event 0's (no event has that number), with the
 * Unix time as round, so each test is a message of its own.
 */
static void
channel_start(struct testpage *t, const struct conf *conf, size_t i)
{
	struct http_call	 hc;
	struct smsapi		*sms;
	const char		*from;
	char			 mid[300], key[200], text[200], date[64];
	char			 err[ERROR_MAX];
	struct tm		 tm;
	time_t			 now = time(NULL);
	unsigned		 round = (unsigned)(now % 1000000000);
	enum channel		 ch = t->ch[i].ch;

	t->ch[i].t = t;
	snprintf(text, sizeof(text), "TEST page from tocsin-pager to %s (%s)",
	    t->contact, queue_channel_str(ch));
	format_message_id(conf, 0, t->contact, ch, round, mid, sizeof(mid));
	format_idempotency_key(0, t->contact, ch, round, key, sizeof(key));
	from = conf->from != NULL ? conf->from : "tocsin@localhost";
	if (gmtime_r(&now, &tm) == NULL || strftime(date, sizeof(date),
	    "%a, %d %b %Y %H:%M:%S +0000", &tm) == 0)
		date[0] = '\0';
	if (ch == CH_WEBHOOK) {
		t->ch[i].msg = test_json(text, key);
		if (webhook_post(t->tp->wh, t->ch[i].to, key, t->ch[i].msg,
		    on_http, &t->ch[i]) == -1)
			over(t, i, SEND_RETRY, "cannot start the HTTP request");
		return;
	}
	if (ch == CH_SMS && !sms_is_gateway(t->ch[i].to)) {
		if ((sms = smsapi_new(conf, err, sizeof(err))) == NULL) {
			over(t, i, SEND_REFUSED, err[0] != '\0' ? err :
			    "no 'set sms-gateway' in the config");
			return;
		}
		smsapi_request(sms, t->ch[i].to, text, key, &hc);
		if (webhook_call(t->tp->wh, &hc, on_http, &t->ch[i]) == -1)
			over(t, i, SEND_RETRY, "cannot start the HTTP request");
		smsapi_request_free(&hc);
		smsapi_free(sms);
		return;
	}
	if (mail_ready(t, conf, err, sizeof(err)) == -1) {
		over(t, i, SEND_REFUSED, err);
		return;
	}
	xasprintf(&t->ch[i].msg, "From: %s\nTo: %s\n%s%s%sDate: %s\n"
	    "Message-ID: %s\nMIME-Version: 1.0\n"
	    "Content-Type: text/plain; charset=utf-8\n"
	    "Auto-Submitted: auto-generated\n\n%s\n", from, t->ch[i].to,
	    ch == CH_SMS ? "" : "Subject: [tocsin] ", ch == CH_SMS ? "" :
	    text, ch == CH_SMS ? "" : "\n", date, mid, text);
	snprintf(t->ch[i].name, sizeof(t->ch[i].name), "test-%u-%s-%s",
	    round, t->contact, queue_channel_str(ch));
	worker_submit(t->tp->mail, mail_work, mail_done, &t->ch[i]);
}

/*
 * The relay's settings for the test's mails, made once from conf (its
 * auth-file read again, as a reload does); none without set smtp-relay:
 * the Maildir. 0, or -1 with err (the auth-file is refused).
 */
static int
mail_ready(struct testpage *t, const struct conf *conf, char *err,
    size_t errlen)
{
	if (t->mc != NULL || conf->smtp_relay == NULL)
		return 0;
	return (t->mc = mail_conf_new(conf, err, errlen)) != NULL ? 0 : -1;
}

/* The test webhook's JSON: text, test, key. */
static char *
test_json(const char *text, const char *key)
{
	json_t	*o;
	char	*s;

	o = json_pack("{sssbss}", "text", text, "test", 1, "key", key);
	if (o == NULL || (s = json_dumps(o, JSON_COMPACT |
	    JSON_PRESERVE_ORDER)) == NULL)
		fatalx("out of memory for a test page");
	json_decref(o);
	return s;
}

/* On the mail worker: through the relay, or into the Maildir. */
static void
mail_work(void *arg)
{
	struct testch	*c = arg;
	char		 dir[1100];

	if (c->t->mc != NULL)
		c->r = mail_send(c->t->mc, c->to, c->msg, c->err,
		    sizeof(c->err));
	else if (maildir_open(c->t->state_dir, dir, sizeof(dir)) == -1) {
		c->r = SEND_RETRY;
		snprintf(c->err, sizeof(c->err), "the Maildir cannot be "
		    "made: %s", strerror(errno));
	} else
		c->r = maildir_deliver(dir, c->name, c->msg, c->err,
		    sizeof(c->err)) == 0 ? SEND_OK : SEND_RETRY;
}

static void
mail_done(void *arg)
{
	struct testch *c = arg;

	over(c->t, c - c->t->ch, c->r, c->err);
}

static void
on_http(void *arg, enum send_result r, const char *err)
{
	struct testch *c = arg;

	over(c->t, c - c->t->ch, r, err);
}

/* Channel i's try is over; when all are, answer. */
static void
over(struct testpage *t, size_t i, enum send_result r, const char *err)
{
	if (t->ch[i].over)
		return;
	t->ch[i].over = 1;
	t->ch[i].r = r;
	strlcpy(t->ch[i].err, r == SEND_OK ? "" : err != NULL ? err : "",
	    sizeof(t->ch[i].err));
	log_info("test page to %s (%s, %s): %s%s%s", t->contact,
	    queue_channel_str(t->ch[i].ch), t->ch[i].to, r == SEND_OK ?
	    "delivered" : "failed", r == SEND_OK ? "" : ": ", t->ch[i].err);
	if (--t->left == 0)
		answer(t, NULL);
}

/* Answer and forget the test (why: set when it could not finish). */
static void
answer(struct testpage *t, const char *why)
{
	json_t	*arr, *o;
	size_t	 i;

	arr = json_array();
	for (i = 0; i < t->n; i++) {
		o = json_object();
		jsontext_set(o, "channel",
		    json_string(queue_channel_str(t->ch[i].ch)));
		jsontext_set(o, "to", jsontext(t->ch[i].to));
		jsontext_set(o, "result", json_string(!t->ch[i].over ?
		    "unknown" : t->ch[i].r == SEND_OK ? "delivered" :
		    "failed"));
		jsontext_set(o, "error", jsontext(t->ch[i].over ?
		    t->ch[i].err : why != NULL ? why : ""));
		json_array_append_new(arr, o);
		free(t->ch[i].msg);
	}
	TAILQ_REMOVE(&t->tp->tests, t, entry);
	mail_conf_free(t->mc);
	t->cb(t->arg, json_pack("{sbssso}", "ok", 1, "contact", t->contact,
	    "channels", arr));
	free(t);
}
