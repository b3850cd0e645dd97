/*
 * format.c: the texts of a page: the kind, the subject, the body a person
 * reads, the whole email, and the webhook's JSON. Pure functions; the
 * caller frees what they return.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "conf.h"
#include "jsontext.h"
#include "xmalloc.h"

#include "pager.h"

#define BODY_MAX	4096

static void	 upper(const char *, char *, size_t);
static void	 stamp(int64_t, char *, size_t);
static void	 header_safe(const char *, char *, size_t);
static char	*email_wrap(const struct page_ctx *, uint64_t, const char *,
		    const char *);
static const char *after_stamp(const char *);

/*
 * What the page is about. A flapping event opens a flapping page; one that
 * ends the flapping (flap_stopped) says the state it settled in; otherwise
 * up is a recovery and anything else a problem.
 */
enum page_kind
format_kind(const struct spool_event *ev, int flap_stopped)
{
	if (flap_stopped)
		return PAGE_FLAP_STOP;
	if (ev->flapping)
		return PAGE_FLAP_START;
	if (strcmp(ev->new_state, "up") == 0)
		return PAGE_RECOVERY;
	return PAGE_PROBLEM;
}

static void
upper(const char *s, char *out, size_t len)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i + 1 < len; i++)
		out[i] = s[i] >= 'a' && s[i] <= 'z' ? s[i] - 'a' + 'A' : s[i];
	out[i] = '\0';
}

/* "2026-12-01 03:04:05 UTC" */
static void
stamp(int64_t t, char *buf, size_t len)
{
	struct tm	 tm;
	time_t		 tt = t;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(buf, len, "%" PRId64, t);
}

/* Copy for a header: controls and non-ASCII become '?' or a space. */
static void
header_safe(const char *s, char *out, size_t len)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i + 1 < len; i++) {
		unsigned char c = s[i];
		out[i] = c < 0x20 || c == 0x7f ? ' ' : c >= 0x80 ? '?' : c;
	}
	out[i] = '\0';
}

/* <42.ops.email@tocsin-pager.example.net>, <42.ops.email.r2@...> for the
 * second reminder: the domain is the one of `set from` (or localhost). */
void
format_message_id(const struct conf *c, uint64_t seq, const char *contact,
    enum channel ch, unsigned round, char *buf, size_t len)
{
	const char	*dom = NULL;
	char		 r[16] = "";

	if (c != NULL && c->from != NULL && (dom = strrchr(c->from, '@')))
		dom++;
	if (dom == NULL || *dom == '\0' || strchr(dom, '>') != NULL)
		dom = "localhost";
	if (round > 0)
		snprintf(r, sizeof(r), ".r%u", round);
	snprintf(buf, len, "<%" PRIu64 ".%s.%s%s@tocsin-pager.%s>", seq,
	    contact, queue_channel_str(ch), r, dom);
}

/* tocsin-42-ops-webhook, tocsin-42-ops-webhook-r2 for the second
 * reminder. */
void
format_idempotency_key(uint64_t seq, const char *contact, enum channel ch,
    unsigned round, char *buf, size_t len)
{
	char r[16] = "";

	if (round > 0)
		snprintf(r, sizeof(r), "-r%u", round);
	snprintf(buf, len, "tocsin-%" PRIu64 "-%s-%s%s", seq, contact,
	    queue_channel_str(ch), r);
}

/*
 * A page's Idempotency-Key (format_idempotency_key), and for a stale
 * digest (window not 0) its own: tocsin-42-ops-webhook-s1796295061. The
 * digest goes in the place of the newest stale page, which may have been
 * tried (and taken by a receiver that then failed to answer): under that
 * page's key an idempotent receiver would drop it. The window is in the
 * record, so a restart makes the same key.
 */
void
format_digest_key(uint64_t seq, const char *contact, enum channel ch,
    unsigned round, int64_t window, char *buf, size_t len)
{
	size_t n;

	format_idempotency_key(seq, contact, ch, round, buf, len);
	if (window != 0 && (n = strlen(buf)) < len)
		snprintf(buf + n, len - n, "-s%" PRId64, window);
}

/* "DOWN shop/web1: connect: Connection refused" and the like. */
void
format_subject(const struct spool_event *ev, int flap_stopped, char *buf,
    size_t len)
{
	char st[16];

	upper(ev->new_state, st, sizeof(st));
	switch (format_kind(ev, flap_stopped)) {
	case PAGE_FLAP_START:
		snprintf(buf, len, "FLAPPING %s (now %s): %s", ev->id, st,
		    ev->message);
		break;
	case PAGE_FLAP_STOP:
		snprintf(buf, len, "FLAPPING STOPPED %s, settled %s", ev->id,
		    st);
		break;
	case PAGE_RECOVERY:
		snprintf(buf, len, "RECOVERED %s is up: %s", ev->id,
		    ev->message);
		break;
	case PAGE_PROBLEM:
		snprintf(buf, len, "%s %s: %s", st, ev->id, ev->message);
		break;
	}
}

/*
 * The text a person reads: what, since when, the last message and
 * latency, the servers that depend on it and are unreachable (a problem
 * page), and the link to the server's page when `set web-url` is given.
 */
char *
format_page(const struct spool_event *ev, const struct page_ctx *p)
{
	char	 buf[BODY_MAX], subj[512], when[40], lat[48] = "";
	size_t	 n;

	format_subject(ev, p->flap_stopped, subj, sizeof(subj));
	stamp(ev->time, when, sizeof(when));
	if (p->info != NULL && p->info->latency_ms >= 0)
		snprintf(lat, sizeof(lat), "%.1f ms", p->info->latency_ms);
	else
		snprintf(lat, sizeof(lat), "not known");
	n = snprintf(buf, sizeof(buf),
	    "%s\n\n"
	    "server:   %s\n"
	    "state:    %s (was %s)%s\n"
	    "since:    %s\n"
	    "message:  %s\n"
	    "latency:  %s\n"
	    "event:    %" PRIu64 "\n",
	    subj, ev->id, ev->new_state, ev->old_state,
	    ev->unreachable ? ", unreachable: a server it depends on is down"
	    : "", when, ev->message, lat, ev->seq);
	if (n < sizeof(buf) && p->info != NULL && p->info->unreachable[0] &&
	    format_kind(ev, p->flap_stopped) == PAGE_PROBLEM)
		n += snprintf(buf + n, sizeof(buf) - n, "unreachable: %s "
		    "(they depend on it)\n", p->info->unreachable);
	if (n < sizeof(buf) && p->conf != NULL && p->conf->web_url != NULL)
		snprintf(buf + n, sizeof(buf) - n, "link:     %s/server/%s\n",
		    p->conf->web_url, ev->id);
	return xstrdup(buf);
}

/*
 * An SMS page: for an email-to-SMS gateway address the whole email (see
 * format_email); for a phone number (the SMS API) the bare text, one
 * GSM-7 segment.
 */
char *
format_sms(const struct spool_event *ev, const struct page_ctx *p)
{
	char sms[SMS_MAX * 2 + 1];

	if (sms_is_gateway(p->to))
		return format_email(ev, p);
	sms_text(ev, p->flap_stopped, sms, sizeof(sms));
	return xstrdup(sms);
}

/*
 * The whole email (headers, blank line, body), lines ending in LF.
 * SMS through a gateway gets the short text as its body and no subject
 * (gateways put the subject in front of the text).
 */
char *
format_email(const struct spool_event *ev, const struct page_ctx *p)
{
	char	 subj[512], sms[SMS_MAX * 2 + 1], *body, *msg;

	format_subject(ev, p->flap_stopped, subj, sizeof(subj));
	if (p->ch == CH_SMS) {
		sms_text(ev, p->flap_stopped, sms, sizeof(sms));
		body = xstrdup(sms);
	} else
		body = format_page(ev, p);
	msg = email_wrap(p, ev->seq, subj, body);
	free(body);
	return msg;
}

/* A stale digest's own Message-ID: ".sWINDOW" before the '@' of mid
 * (format_digest_key says why). */
static void
tag_message_id(char *mid, size_t len, int64_t window)
{
	char	 rest[300], *at;
	size_t	 n;

	if ((at = strchr(mid, '@')) == NULL)
		return;
	strlcpy(rest, at, sizeof(rest));
	n = at - mid;
	snprintf(at, len - n, ".s%" PRId64 "%s", window, rest);
}

/*
 * The whole email around body for the page of event seq to p->to:
 * headers (Message-ID from (seq, contact, channel, round), Date p->now),
 * a blank line, body ending in a newline. Subject "[tocsin] subj", made
 * safe for a header, except for an SMS gateway (which puts the subject in
 * front of the text). The caller frees it.
 */
static char *
email_wrap(const struct page_ctx *p, uint64_t seq, const char *subj,
    const char *body)
{
	struct tm	 tm;
	time_t		 t = p->now;
	char		 date[64], mid[300], safe[512], *msg;
	const char	*from;
	int		 sms = p->ch == CH_SMS;

	from = p->conf != NULL && p->conf->from != NULL ? p->conf->from :
	    "tocsin@localhost";
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000",
	    &tm) == 0)
		date[0] = '\0';
	format_message_id(p->conf, seq, p->contact, p->ch, p->round, mid,
	    sizeof(mid));
	if (p->window != 0)
		tag_message_id(mid, sizeof(mid), p->window);
	header_safe(subj, safe, sizeof(safe));
	xasprintf(&msg,
	    "From: %s\n"
	    "To: %s\n"
	    "%s%s%s"
	    "Date: %s\n"
	    "Message-ID: %s\n"
	    "MIME-Version: 1.0\n"
	    "Content-Type: text/plain; charset=utf-8\n"
	    "Content-Transfer-Encoding: 8bit\n"
	    "Auto-Submitted: auto-generated\n"
	    "X-Tocsin-Event: %" PRIu64 "\n"
	    "\n"
	    "%s%s",
	    from, p->to, sms ? "" : "Subject: [tocsin] ", sms ? "" : safe,
	    sms ? "" : "\n", date, mid, seq,
	    body, body[0] != '\0' && body[strlen(body) - 1] == '\n' ? "" :
	    "\n");
	return msg;
}

/*
 * The webhook's JSON object: `text` for Slack and Mattermost, and the
 * event's fields for anything else.
 */
char *
format_webhook(const struct spool_event *ev, const struct page_ctx *p)
{
	json_t	*o;
	char	 subj[512], link[1024], key[200], *body, *s;

	format_subject(ev, p->flap_stopped, subj, sizeof(subj));
	body = format_page(ev, p);
	format_idempotency_key(ev->seq, p->contact, p->ch, p->round, key,
	    sizeof(key));
	link[0] = '\0';
	if (p->conf != NULL && p->conf->web_url != NULL)
		snprintf(link, sizeof(link), "%s/server/%s",
		    p->conf->web_url, ev->id);
	if ((o = json_object()) == NULL) {
		free(body);
		return NULL;
	}
	if (jsontext_set(o, "text", jsontext(body)) == -1 ||
	    jsontext_set(o, "summary", jsontext(subj)) == -1 ||
	    jsontext_set(o, "event", jsontext_u64(ev->seq)) == -1 ||
	    jsontext_set(o, "key", jsontext(key)) == -1 ||
	    jsontext_set(o, "server", jsontext(ev->id)) == -1 ||
	    jsontext_set(o, "state", jsontext(ev->new_state)) == -1 ||
	    jsontext_set(o, "old_state", jsontext(ev->old_state)) == -1 ||
	    jsontext_set(o, "time", json_integer(ev->time)) == -1 ||
	    jsontext_set(o, "message", jsontext(ev->message)) == -1 ||
	    jsontext_set(o, "flapping", json_boolean(ev->flapping)) == -1 ||
	    jsontext_set(o, "latency_ms", p->info != NULL &&
	    p->info->latency_ms >= 0 ? json_real(p->info->latency_ms) :
	    json_null()) == -1 ||
	    jsontext_set(o, "link", link[0] ? jsontext(link) :
	    json_null()) == -1) {
		json_decref(o);
		free(body);
		return NULL;
	}
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	free(body);
	return s;
}

/* A digest line without its time stamp (three words). */
static const char *
after_stamp(const char *line)
{
	const char	*s = line;
	int		 i;

	for (i = 0; i < 3; i++) {
		if ((s = strchr(s, ' ')) == NULL)
			return line;
		s++;
	}
	return s;
}

/* One change as the digest lists it: "2026-12-01 03:04:05 UTC DOWN web1:
 * connect: Connection refused (unreachable)". */
void
format_digest_line(const struct spool_event *ev, char *buf, size_t len)
{
	char when[40], subj[512];

	stamp(ev->time, when, sizeof(when));
	format_subject(ev, 0, subj, sizeof(subj));
	snprintf(buf, len, "%s %s%s", when, subj, ev->unreachable ?
	    " (unreachable: a server it depends on is down)" : "");
}

/*
 * A queued delivery as a stale digest lists it: when it was made, then
 * what it said (an email's subject, an email-to-SMS or SMS API text, a
 * webhook's summary): "2026-12-01 03:04:05 UTC DOWN web1: timeout".
 */
void
format_stale_line(const struct delivery *d, char *buf, size_t len)
{
	const char	*pay = d->payload != NULL ? d->payload : "", *s;
	char		 when[40], what[512] = "";
	json_t		*o;

	stamp(d->created, when, sizeof(when));
	if (d->ch == CH_WEBHOOK) {
		if ((o = json_loads(pay, 0, NULL)) != NULL)
			strlcpy(what, json_string_value(json_object_get(o,
			    "summary")) != NULL ? json_string_value(
			    json_object_get(o, "summary")) : "", sizeof(what));
		json_decref(o);
	} else if ((s = strstr(pay, "\nSubject: [tocsin] ")) != NULL)
		snprintf(what, sizeof(what), "%.*s",
		    (int)strcspn(s + 19, "\n"), s + 19);
	else if ((s = strstr(pay, "\n\n")) != NULL)
		snprintf(what, sizeof(what), "%.*s",
		    (int)strcspn(s + 2, "\n"), s + 2);
	else
		snprintf(what, sizeof(what), "%.*s", (int)strcspn(pay, "\n"),
		    pay);
	snprintf(buf, len, "%s %s", when, what);
}

/*
 * The storm digest for one contact and channel: every line of the window,
 * once, up to DIGEST_LINES (then "... and K more", so that the page stays
 * readable and its record within what queue.c reads back). Its Message-ID
 * and Idempotency-Key are those of event seq (the window's last folded
 * event, whose own page it replaces), tagged with p->window for a stale
 * digest (format_digest_key). An email lists them; an SMS says how many
 * and as many as fit one segment (the text alone for the SMS API); a
 * webhook gets `text` and the lines in `changes`.
 */
char *
format_digest(const struct page_ctx *p, uint64_t seq,
    const char *const *lines, size_t n)
{
	json_t		*o, *arr;
	char		 key[200], subj[128], *body, *msg;
	char		 raw[1024], sms[SMS_MAX * 2 + 1], more[80] = "";
	size_t		 i, len = 0, cap, shown;

	if (p->stale)
		snprintf(subj, sizeof(subj), "STALE: %zu page%s not delivered "
		    "in time, listed once", n, n == 1 ? "" : "s");
	else
		snprintf(subj, sizeof(subj), "STORM: %zu more state change%s, "
		    "listed once", n, n == 1 ? "" : "s");
	shown = n < DIGEST_LINES ? n : DIGEST_LINES;
	if (shown < n)
		snprintf(more, sizeof(more), "... and %zu more, not listed\n",
		    n - shown);
	cap = 256 + sizeof(more);
	for (i = 0; i < shown; i++)
		cap += strlen(lines[i]) + 2;
	body = xmalloc(cap);
	len = snprintf(body, cap, "%s\n\n", subj);
	for (i = 0; i < shown; i++)
		len += snprintf(body + len, cap - len, "%s\n", lines[i]);
	len += snprintf(body + len, cap - len, "%s", more);
	if (p->ch == CH_WEBHOOK) {
		format_digest_key(seq, p->contact, p->ch, p->round, p->window,
		    key, sizeof(key));
		msg = NULL;
		if ((o = json_object()) != NULL && (arr = json_array()) !=
		    NULL) {
			for (i = 0; i < shown; i++)
				json_array_append_new(arr, jsontext(lines[i]));
			if (jsontext_set(o, "text", jsontext(body)) == 0 &&
			    jsontext_set(o, "summary", jsontext(subj)) == 0 &&
			    jsontext_set(o, "event", jsontext_u64(seq)) == 0 &&
			    jsontext_set(o, "key", jsontext(key)) == 0 &&
			    jsontext_set(o, p->stale ? "stale" : "storm",
			    json_true()) == 0 &&
			    jsontext_set(o, "changes", arr) == 0 &&
			    jsontext_set(o, "more",
			    json_integer(n - shown)) == 0)
				msg = json_dumps(o, JSON_COMPACT |
				    JSON_PRESERVE_ORDER);
		}
		json_decref(o);
		free(body);
		return msg;
	}
	if (p->ch == CH_SMS) {
		len = snprintf(raw, sizeof(raw), "%s %zu %s:", p->stale ?
		    "STALE" : "STORM", n, p->stale ? "pages" : "changes");
		for (i = 0; i < n && len < sizeof(raw); i++)
			len += snprintf(raw + len, sizeof(raw) - len, " %s%s",
			    after_stamp(lines[i]), i + 1 < n ? ";" : "");
		sms_gsm7(raw, sms, sizeof(sms), SMS_MAX);
		free(body);
		body = xstrdup(sms);
		if (!sms_is_gateway(p->to))
			return body;	/* the SMS API: the text alone */
	}
	msg = email_wrap(p, seq, subj, body);
	free(body);
	return msg;
}
