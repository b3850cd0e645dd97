/*
 * test_pager.c: tocsin-pager's pure logic: delivery records and their
 * order (pager/queue.c), who gets what (pager/rules.c), and the texts
 * (pager/format.c, pager/sms.c).
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <jansson.h>

#include "conf.h"
#include "ctlclient.h"
#include "xmalloc.h"

#include "pager.h"

#include "ckrun.h"
#include "tmpdir.h"

static char	 dir[64];

static void
setup(void)
{
	tmpdir_make(dir, sizeof(dir), "pager");
}

static void
teardown(void)
{
	tmpdir_remove(dir);
}

static struct conf *
parse(const char *text)
{
	struct conf	*c;
	char		*errs = NULL;

	c = conf_parse_string("test.conf", text, &errs);
	if (c == NULL)
		ck_abort_msg("config: %s", errs);
	return c;
}

static void
event(struct spool_event *ev, uint64_t seq, const char *id,
    const char *old, const char *new)
{
	memset(ev, 0, sizeof(*ev));
	ev->seq = seq;
	strlcpy(ev->id, id, sizeof(ev->id));
	ev->time = 1700000000;
	strlcpy(ev->old_state, old, sizeof(ev->old_state));
	strlcpy(ev->new_state, new, sizeof(ev->new_state));
	strlcpy(ev->message, "connect: Connection refused",
	    sizeof(ev->message));
}

static struct delivery *
delivery(uint64_t seq, const char *contact, enum channel ch)
{
	struct delivery *d = xcalloc(1, sizeof(*d));

	d->seq = seq;
	strlcpy(d->contact, contact, sizeof(d->contact));
	d->ch = ch;
	strlcpy(d->server, "shop/web1", sizeof(d->server));
	strlcpy(d->to, "ops@example.net", sizeof(d->to));
	d->payload = xstrdup("Subject: x\n\nbody \"quoted\"\n");
	return d;
}

static void
free_all(struct deliveries *q)
{
	struct delivery *d;

	while ((d = TAILQ_FIRST(q)) != NULL) {
		TAILQ_REMOVE(q, d, entry);
		queue_free(d);
	}
}

START_TEST(record_survives_write_and_load)
{
	struct deliveries	 q;
	struct delivery		*d = delivery(42, "ops", CH_WEBHOOK), *l;
	char			 err[128];
	int			 fd;

	TAILQ_INIT(&q);
	d->tries = 3;
	d->next = 1700000123;
	strlcpy(d->error, "HTTP 500", sizeof(d->error));
	fd = open(dir, O_RDONLY | O_DIRECTORY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(queue_exists(fd, d), 0);
	ck_assert_int_eq(queue_write(fd, d), 0);
	ck_assert_int_eq(queue_exists(fd, d), 1);
	ck_assert_int_eq(queue_load(fd, &q, err, sizeof(err)), 1);
	l = TAILQ_FIRST(&q);
	ck_assert_uint_eq(l->seq, 42);
	ck_assert_str_eq(l->contact, "ops");
	ck_assert_int_eq(l->ch, CH_WEBHOOK);
	ck_assert_int_eq(l->state, D_QUEUED);
	ck_assert_uint_eq(l->tries, 3);
	ck_assert_int_eq(l->next, 1700000123);
	ck_assert_str_eq(l->error, "HTTP 500");
	ck_assert_str_eq(l->payload, d->payload);
	free_all(&q);
	queue_free(d);
	/* set admin's pages: event 0, a round; a stale digest's flag. */
	d = delivery(0, "root", CH_EMAIL);
	d->round = 3;
	d->stale = 1;
	ck_assert_int_eq(queue_write(fd, d), 0);
	ck_assert_int_eq(faccessat(fd,
	    "00000000000000000000-root-email-r3.json", F_OK, 0), 0);
	TAILQ_INIT(&q);
	ck_assert_int_eq(queue_load(fd, &q, err, sizeof(err)), 2);
	l = TAILQ_FIRST(&q);
	ck_assert_uint_eq(l->seq, 0);
	ck_assert_uint_eq(l->round, 3);
	ck_assert_int_eq(l->stale, 1);
	free_all(&q);
	queue_free(d);
	close(fd);
}
END_TEST

START_TEST(record_name_is_seq_contact_channel)
{
	struct delivery	*d = delivery(7, "night-ops", CH_SMS);
	char		 name[200];

	queue_name(d, name, sizeof(name));
	ck_assert_str_eq(name, "00000000000000000007-night-ops-sms.json");
	queue_free(d);
}
END_TEST

START_TEST(broken_record_and_temporary_are_set_aside)
{
	struct deliveries	 q;
	char			 err[256], path[128];
	FILE			*f;
	int			 fd;

	TAILQ_INIT(&q);
	snprintf(path, sizeof(path), "%s/00000000000000000001-a-email.json",
	    dir);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs("{\"seq\":1,", f);	/* cut short */
	fclose(f);
	snprintf(path, sizeof(path), "%s/.tmp.x.json", dir);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fclose(f);
	fd = open(dir, O_RDONLY | O_DIRECTORY);
	ck_assert_int_eq(queue_load(fd, &q, err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(strstr(err, "set aside"));
	ck_assert_int_eq(access(path, F_OK), -1);
	snprintf(path, sizeof(path),
	    "%s/00000000000000000001-a-email.json.bad", dir);
	ck_assert_int_eq(access(path, F_OK), 0);
	close(fd);
}
END_TEST

START_TEST(backoff_doubles_up_to_ten_minutes)
{
	ck_assert_int_eq(queue_backoff(1), 2);
	ck_assert_int_eq(queue_backoff(2), 4);
	ck_assert_int_eq(queue_backoff(3), 8);
	ck_assert_int_eq(queue_backoff(9), 512);
	ck_assert_int_eq(queue_backoff(10), 600);
	ck_assert_int_eq(queue_backoff(1000), 600);
}
END_TEST

START_TEST(outcome_sets_state_tries_and_next)
{
	struct delivery *d = delivery(1, "ops", CH_WEBHOOK);

	queue_outcome(d, SEND_RETRY, "HTTP 500", 1000);
	ck_assert_int_eq(d->state, D_QUEUED);
	ck_assert_uint_eq(d->tries, 1);
	ck_assert_int_eq(d->next, 1002);
	queue_outcome(d, SEND_RETRY, "HTTP 500", 1002);
	ck_assert_int_eq(d->next, 1006);
	queue_outcome(d, SEND_REFUSED, "HTTP 404", 1006);
	ck_assert_int_eq(d->state, D_FAILED);
	ck_assert_str_eq(d->error, "HTTP 404");
	queue_free(d);
}
END_TEST

START_TEST(lane_waits_for_its_head_and_others_go_on)
{
	struct deliveries	 q;
	struct delivery		*a1, *a2, *b1, *out[8];
	size_t			 n;

	TAILQ_INIT(&q);
	a1 = delivery(1, "ops", CH_WEBHOOK);
	a2 = delivery(2, "ops", CH_WEBHOOK);
	b1 = delivery(2, "ops", CH_EMAIL);
	queue_insert(&q, a2);
	queue_insert(&q, b1);
	queue_insert(&q, a1);
	ck_assert_ptr_eq(TAILQ_FIRST(&q), a1);
	/* a1 backs off: a2 must wait behind it; the email lane goes. */
	a1->next = 2000;
	n = queue_ready(&q, 1000, out, 8);
	ck_assert_uint_eq(n, 1);
	ck_assert_ptr_eq(out[0], b1);
	/* Due again: a1, never a2 before it. */
	n = queue_ready(&q, 2000, out, 8);
	ck_assert_uint_eq(n, 2);
	ck_assert_ptr_eq(out[0], a1);
	/* In flight: nothing more in that lane. */
	a1->busy = 1;
	b1->busy = 1;
	ck_assert_uint_eq(queue_ready(&q, 2000, out, 8), 0);
	a1->busy = 0;
	a1->state = D_DONE;
	n = queue_ready(&q, 2000, out, 8);
	ck_assert_uint_eq(n, 1);
	ck_assert_ptr_eq(out[0], a2);
	ck_assert_int_eq(queue_event_final(&q, 1), 1);
	ck_assert_int_eq(queue_event_final(&q, 2), 0);
	free_all(&q);
}
END_TEST

/* Lanes past the first 256 with something unfinished start too. */
START_TEST(every_lane_starts_past_256)
{
	struct deliveries	 q;
	struct delivery		*d, *out[1000];
	char			 name[32];
	size_t			 n, i;

	TAILQ_INIT(&q);
	for (i = 0; i < 600; i++) {
		snprintf(name, sizeof(name), "c%zu", i);
		d = delivery(1, name, CH_EMAIL);
		/* The first 300 lanes wait for a try, the rest are due. */
		d->next = i < 300 ? 5000 : 0;
		queue_insert(&q, d);
	}
	n = queue_ready(&q, 1000, out, 1000);
	ck_assert_uint_eq(n, 300);
	for (i = 0; i < n; i++)
		ck_assert_int_eq(out[i]->next, 0);
	ck_assert_uint_eq(queue_ready(&q, 6000, out, 1000), 600);
	free_all(&q);
}
END_TEST

START_TEST(contacts_and_channels_from_notify)
{
	struct conf		*c;
	struct spool_event	 ev;
	struct want		 w[WANT_MAX];
	size_t			 n;

	c = parse("contact ops email ops@example.net sms 555@sms.example.net "
	    "webhook http://127.0.0.1/hook\n"
	    "contact boss email boss@example.net\n"
	    "set notify boss\n"
	    "server web1 http://127.0.0.1/ notify ops\n"
	    "server web2 http://127.0.0.1/ notify boss\n");
	event(&ev, 1, "web1", "up", "down");
	n = rules_wants(c, &ev, NULL, w, WANT_MAX);
	ck_assert_uint_eq(n, 4);	/* its own, and set notify's boss */
	ck_assert_int_eq(w[0].ch, CH_EMAIL);
	ck_assert_int_eq(w[1].ch, CH_SMS);
	ck_assert_str_eq(w[1].to, "555@sms.example.net");
	ck_assert_int_eq(w[2].ch, CH_WEBHOOK);
	/* boss has email only. */
	event(&ev, 2, "web2", "up", "down");
	n = rules_wants(c, &ev, NULL, w, WANT_MAX);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(w[0].contact->name, "boss");
	event(&ev, 3, "nosuch", "up", "down");
	ck_assert_uint_eq(rules_wants(c, &ev, NULL, w, WANT_MAX), 0);
	conf_free(c);
}
END_TEST

START_TEST(quiet_hours_hold_sms_not_email)
{
	struct conf		*c;
	struct spool_event	 ev;
	struct want		 w[WANT_MAX];
	char			 text[300];

	setenv("TZ", "UTC", 1);
	tzset();
	snprintf(text, sizeof(text), "contact ops email o@x.net "
	    "sms 5@sms.x.net quiet 22:00-07:00\n"
	    "server web1 http://127.0.0.1/ notify ops\n");
	c = parse(text);
	event(&ev, 1, "web1", "up", "down");
	ev.time = 1700000000;	/* 22:13 UTC */
	ck_assert_int_eq(rules_in_quiet(c->contacts[0], ev.time), 1);
	ck_assert_uint_eq(rules_wants(c, &ev, NULL, w, WANT_MAX), 1);
	ck_assert_int_eq(w[0].ch, CH_EMAIL);
	/* The recovery reaches by SMS, quiet or not, who got the problem
	 * by SMS. */
	event(&ev, 2, "web1", "down", "up");
	ck_assert_uint_eq(rules_wants(c, &ev, "boss,ops", w, WANT_MAX), 2);
	ck_assert_int_eq(w[1].ch, CH_SMS);
	ck_assert_uint_eq(rules_wants(c, &ev, "boss", w, WANT_MAX), 1);
	ev.time = 1700000000 + 10 * 3600;	/* 08:13 */
	ck_assert_int_eq(rules_in_quiet(c->contacts[0], ev.time), 0);
	ck_assert_uint_eq(rules_wants(c, &ev, NULL, w, WANT_MAX), 2);
	conf_free(c);
}
END_TEST

START_TEST(downtime_ack_and_first_up_are_not_paged)
{
	struct spool_event	 ev;
	const char		*why;

	event(&ev, 1, "web1", "up", "down");
	ck_assert_int_eq(rules_page_worthy(&ev, 0, &why), 1);
	ev.downtime = 1;
	ck_assert_int_eq(rules_page_worthy(&ev, 0, &why), 0);
	ck_assert_str_eq(why, "in downtime");
	ev.downtime = 0;
	ev.acked = 1;
	ck_assert_int_eq(rules_page_worthy(&ev, 0, &why), 0);
	event(&ev, 2, "web1", "down", "up");
	ck_assert_int_eq(rules_page_worthy(&ev, 0, &why), 1);
	event(&ev, 3, "web1", "unknown", "up");
	ck_assert_int_eq(rules_page_worthy(&ev, 0, &why), 0);
}
END_TEST

START_TEST(problem_page_says_what_since_message_latency_link)
{
	struct conf		*c;
	struct spool_event	 ev;
	struct server_info	 si = { 0, 12.5, "", "" };
	struct page_ctx		 p = { 0 };
	char			*msg;

	c = parse("set web-url https://mon.example.net/tocsin\n"
	    "set from pager@example.net\n"
	    "contact ops email ops@example.net\n"
	    "server web1 http://127.0.0.1/ notify ops\n");
	event(&ev, 42, "web1", "up", "down");
	p.conf = c;
	p.contact = "ops";
	p.to = "ops@example.net";
	p.ch = CH_EMAIL;
	p.info = &si;
	p.now = 1700000000;
	msg = format_email(&ev, &p);
	ck_assert_ptr_nonnull(strstr(msg, "Subject: [tocsin] DOWN web1: "
	    "connect: Connection refused\n"));
	ck_assert_ptr_nonnull(strstr(msg, "Message-ID: "
	    "<42.ops.email@tocsin-pager.example.net>\n"));
	ck_assert_ptr_nonnull(strstr(msg, "From: pager@example.net\n"));
	ck_assert_ptr_nonnull(strstr(msg, "since:    2023-11-14 22:13:20 UTC"));
	ck_assert_ptr_nonnull(strstr(msg, "latency:  12.5 ms"));
	ck_assert_ptr_nonnull(strstr(msg, "message:  connect: Connection "
	    "refused"));
	ck_assert_ptr_nonnull(strstr(msg,
	    "link:     https://mon.example.net/tocsin/server/web1"));
	free(msg);
	conf_free(c);
}
END_TEST

START_TEST(recovery_and_flapping_pages)
{
	struct spool_event	 ev;
	char			 s[512];

	event(&ev, 2, "web1", "down", "up");
	strlcpy(ev.message, "HTTP 200 in 3 ms", sizeof(ev.message));
	ck_assert_int_eq(format_kind(&ev, 0), PAGE_RECOVERY);
	format_subject(&ev, 0, s, sizeof(s));
	ck_assert_str_eq(s, "RECOVERED web1 is up: HTTP 200 in 3 ms");
	ev.flapping = 1;
	ck_assert_int_eq(format_kind(&ev, 0), PAGE_FLAP_START);
	format_subject(&ev, 0, s, sizeof(s));
	ck_assert_ptr_nonnull(strstr(s, "FLAPPING web1"));
	ev.flapping = 0;
	format_subject(&ev, 1, s, sizeof(s));
	ck_assert_str_eq(s, "FLAPPING STOPPED web1, settled UP");
	event(&ev, 3, "web1", "up", "degraded");
	format_subject(&ev, 0, s, sizeof(s));
	ck_assert_ptr_nonnull(strstr(s, "DEGRADED web1"));
}
END_TEST

/*
 * One event of a server through the memo and the rules, as tocsin-pager
 * takes it (make_deliveries, cluster_memo.c): *paged says whether it is
 * paged; returns its wants (those of a held change too), in w.
 */
static size_t
flap_step(const struct conf *c, struct memo_entry *e, uint64_t seq,
    const char *old, const char *new, int flapping, int *paged,
    struct want *w)
{
	struct spool_event	 ev, buf;
	const struct spool_event *as;
	const char		*why;
	size_t			 n = 0;
	int			 was;

	event(&ev, seq, "web1", old, new);
	ev.flapping = flapping;
	as = rules_as_heard(&ev, e->flapping, memo_heard(e), &buf);
	was = memo_event_read(e, &ev);
	if ((*paged = rules_page_worthy(&ev, was, &why)) ||
	    rules_flap_held(why))
		n = rules_wants(c, as, e->sms, w, WANT_MAX);
	memo_event_paged(e, &ev, why, w, n);
	return n;
}

/* Flapping is damped: its start and its end are paged, the changes in
 * between held; the end goes to whoever heard the start (min-state down
 * by the state they heard), and opens or closes the problem. */
START_TEST(flapping_pages_its_start_and_end_only)
{
	static const struct {
		const char	*old, *new;
		int		 flapping;
		size_t		 wants;		/* a held change's too */
		int		 paged;
		uint64_t	 problem;	/* the open one after it */
	} step[] = {
		/* It starts as down: paged to both, the problem opens. */
		{ "up", "down", 1, 2, 1, 1 },
		/* The changes while it flaps: held, the problem kept. */
		{ "down", "up", 1, 2, 0, 1 },
		{ "up", "down", 1, 2, 0, 1 },
		{ "down", "up", 1, 2, 0, 1 },
		/* It settles up (up -> up): night heard down, hears it. */
		{ "up", "up", 0, 2, 1, 0 },
		/* It starts as degraded (ops only), settles down: both hear
		 * it, and it is the open problem; its recovery goes where
		 * the down went. */
		{ "up", "degraded", 1, 1, 1, 6 },
		{ "degraded", "up", 1, 1, 0, 6 },
		{ "up", "down", 1, 2, 0, 6 },
		{ "down", "down", 0, 2, 1, 9 },
		{ "down", "up", 0, 2, 1, 0 },
	};
	struct conf		*c;
	struct memo_entry	 e;
	struct spool_event	 ev;
	struct want		 w[WANT_MAX];
	const char		*why;
	size_t			 i;
	int			 paged;

	c = parse("contact ops email o@x.net\n"
	    "contact night email n@x.net min-state down\n"
	    "server web1 http://127.0.0.1/ notify ops,night\n");
	memset(&e, 0, sizeof(e));
	strlcpy(e.id, "web1", sizeof(e.id));
	for (i = 0; i < sizeof(step) / sizeof(step[0]); i++) {
		ck_assert_uint_eq(flap_step(c, &e, i + 1, step[i].old,
		    step[i].new, step[i].flapping, &paged, w), step[i].wants);
		ck_assert_int_eq(paged, step[i].paged);
		ck_assert_uint_eq(e.problem, step[i].problem);
		if (i == 3)
			ck_assert_str_eq(memo_heard(&e), "down");
		if (i == 8)
			ck_assert_str_eq(e.paged, "ops,night");
	}
	/* A downtime or an ack says so first. */
	event(&ev, 11, "web1", "up", "down");
	ev.flapping = 1;
	ev.acked = 1;
	ck_assert_int_eq(rules_page_worthy(&ev, 1, &why), 0);
	ck_assert_str_eq(why, "acknowledged");
	ck_assert_int_eq(rules_flap_held(why), 0);
	ev.acked = 0;
	ck_assert_int_eq(rules_page_worthy(&ev, 1, &why), 0);
	ck_assert_int_eq(rules_flap_held(why), 1);
	ck_assert_int_eq(rules_page_worthy(&ev, 0, &why), 1);
	conf_free(c);
}
END_TEST

START_TEST(webhook_json_has_text_and_key)
{
	struct spool_event	 ev;
	struct page_ctx		 p = { 0 };
	char			*j, key[100];

	event(&ev, 9, "web1", "up", "down");
	p.contact = "ops";
	p.to = "http://127.0.0.1/hook";
	p.ch = CH_WEBHOOK;
	j = format_webhook(&ev, &p);
	ck_assert_ptr_nonnull(j);
	ck_assert_ptr_nonnull(strstr(j, "{\"text\":\"DOWN web1: connect"));
	ck_assert_ptr_nonnull(strstr(j, "\"key\":\"tocsin-9-ops-webhook\""));
	ck_assert_ptr_nonnull(strstr(j, "\"state\":\"down\""));
	free(j);
	format_idempotency_key(9, "ops", CH_WEBHOOK, 0, key, sizeof(key));
	ck_assert_str_eq(key, "tocsin-9-ops-webhook");
}
END_TEST

START_TEST(sms_is_one_gsm7_segment)
{
	struct spool_event	 ev;
	char			 out[400], big[400];
	size_t			 n;

	n = sms_gsm7("caf\xc3\xa9 \xe2\x82\xac 5\xe2\x80\x99s {x}", out,
	    sizeof(out), SMS_MAX);
	ck_assert_str_eq(out, "caf\xc3\xa9 ? 5?s {x}");
	ck_assert_uint_eq(n, 16);	/* { and } cost two septets each */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	event(&ev, 1, "web1", "up", "down");
	strlcpy(ev.message, big, sizeof(ev.message));
	sms_text(&ev, 0, out, sizeof(out));
	ck_assert_uint_eq(strlen(out), SMS_MAX);
	ck_assert_ptr_nonnull(strstr(out, "22:13 UTC DOWN web1: aaa"));
	ck_assert_int_eq(sms_is_gateway("5551234@sms.example.net"), 1);
	ck_assert_int_eq(sms_is_gateway("+15551234567"), 0);
}
END_TEST

START_TEST(webhook_and_web_url_parse)
{
	struct conf	*c;
	char		*errs = NULL;

	c = parse("set web-url http://mon.example.net\n"
	    "contact ops webhook https://hooks.example.net/x\n");
	ck_assert_str_eq(c->web_url, "http://mon.example.net");
	ck_assert_str_eq(c->contacts[0]->webhook,
	    "https://hooks.example.net/x");
	conf_free(c);
	c = conf_parse_string("t.conf", "contact ops webhook ftp://x/\n",
	    &errs);
	ck_assert_ptr_null(c);
	ck_assert_ptr_nonnull(strstr(errs, "t.conf:1: bad webhook URL "
	    "'ftp://x/'"));
	free(errs);
}
END_TEST

START_TEST(min_state_down_gets_only_down)
{
	struct conf		*c;
	struct spool_event	 ev;
	struct want		 w[WANT_MAX];
	char			*errs = NULL;

	c = parse("contact ops email o@x.net min-state down\n"
	    "contact all email a@x.net\n"
	    "server web1 http://127.0.0.1/ notify ops,all\n");
	event(&ev, 1, "web1", "up", "degraded");
	ck_assert_uint_eq(rules_wants(c, &ev, NULL, w, WANT_MAX), 1);
	ck_assert_str_eq(w[0].contact->name, "all");
	event(&ev, 2, "web1", "degraded", "down");
	ck_assert_uint_eq(rules_wants(c, &ev, NULL, w, WANT_MAX), 2);
	event(&ev, 3, "web1", "down", "up");
	ck_assert_uint_eq(rules_wants(c, &ev, NULL, w, WANT_MAX), 2);
	event(&ev, 4, "web1", "degraded", "up");
	ck_assert_uint_eq(rules_wants(c, &ev, NULL, w, WANT_MAX), 1);
	conf_free(c);
	ck_assert_ptr_null(conf_parse_string("t.conf",
	    "contact ops min-state up\n", &errs));
	ck_assert_ptr_nonnull(strstr(errs, "bad value 'up' for 'min-state'"));
	free(errs);
}
END_TEST

START_TEST(memo_survives_save_and_load)
{
	struct memo		*m;
	struct memo_entry	*e;
	char			 list[16] = "";
	int			 fd;

	fd = open(dir, O_RDONLY | O_DIRECTORY);
	m = memo_load(fd);
	e = memo_get(m, "shop/web1");
	e->flapping = 1;
	memo_list_add(e->sms, sizeof(e->sms), "ops");
	memo_list_add(e->sms, sizeof(e->sms), "night");
	memo_list_add(e->sms, sizeof(e->sms), "ops");
	ck_assert_str_eq(e->sms, "ops,night");
	memo_get(m, "quiet/one");	/* nothing to keep: not written */
	ck_assert_int_eq(memo_save(m, fd), 0);
	memo_free(m);
	m = memo_load(fd);
	e = memo_get(m, "shop/web1");
	ck_assert_int_eq(e->flapping, 1);
	ck_assert_str_eq(e->sms, "ops,night");
	ck_assert_int_eq(memo_listed(e->sms, "night"), 1);
	ck_assert_int_eq(memo_listed(e->sms, "nigh"), 0);
	ck_assert_int_eq(memo_listed(e->sms, "op"), 0);
	memo_free(m);
	/* A list that is full keeps what it has. */
	memo_list_add(list, sizeof(list), "abcdefgh");
	memo_list_add(list, sizeof(list), "ijklmnop");
	ck_assert_str_eq(list, "abcdefgh");
	close(fd);
}
END_TEST

/* The verdicts of a run of events, one letter each: P page, F fold. */
static void
storm_run(struct storm *st, const struct conf *c, int64_t t0,
    const char *unreach, const char *want)
{
	struct spool_event	 ev;
	int64_t			 end = 0;
	char			 got[32];
	size_t			 i;

	for (i = 0; want[i] != '\0'; i++) {
		event(&ev, i + 1, "web1", "up", "down");
		ev.time = t0 + i;
		ev.unreachable = unreach[i] == 'u';
		got[i] = rules_storm(st, c, &ev, &end) == STORM_FOLD ? 'F' :
		    'P';
	}
	got[i] = '\0';
	ck_assert_str_eq(got, want);
}

START_TEST(memo_entry_dump_parse_round_trip)
{
	struct conf		*c;
	struct memo_entry	 e, got;
	struct spool_event	 ev;
	struct want		 w[WANT_MAX];
	json_t			*o;
	char			*text;
	size_t			 n;

	/* A problem paged by email and SMS: it opens, ops joins those
	 * SMSed (as the cluster's pagers note it, too). */
	c = parse("contact ops email o@x.net sms 5@sms.x.net\n"
	    "server web1 http://127.0.0.1/ notify ops\n");
	memset(&e, 0, sizeof(e));
	strlcpy(e.id, "web1", sizeof(e.id));
	event(&ev, 7, "web1", "up", "down");
	ev.flapping = 1;
	ck_assert_int_eq(memo_event_read(&e, &ev), 0);
	n = rules_wants(c, &ev, e.sms, w, WANT_MAX);
	memo_event_paged(&e, &ev, NULL, w, n);
	ck_assert_str_eq(e.sms, "ops");
	ck_assert_uint_eq(e.problem, 7);
	e.held = 9;
	e.held_time = 1700000009;
	strlcpy(e.held_state, "degraded", sizeof(e.held_state));
	strlcpy(e.held_message, "slow \"quoted\" \xc3\xa9",
	    sizeof(e.held_message));
	e.listed_by = 5;
	strlcpy(e.listed, "ops/email,boss/webhook", sizeof(e.listed));
	strlcpy(e.rounds, "ops:2", sizeof(e.rounds));
	strlcpy(e.escalated, "boss", sizeof(e.escalated));
	strlcpy(e.escalated_at, "boss:1700000030", sizeof(e.escalated_at));
	/* Through text and back: the same entry (its id is the key). */
	ck_assert_ptr_nonnull(o = memo_entry_dump(&e));
	ck_assert_ptr_nonnull(text = json_dumps(o, JSON_COMPACT));
	json_decref(o);
	ck_assert_ptr_nonnull(o = json_loads(text, 0, NULL));
	free(text);
	memset(&got, 0, sizeof(got));
	strlcpy(got.id, "web1", sizeof(got.id));
	memo_entry_parse(&got, o);
	json_decref(o);
	ck_assert_int_eq(memcmp(&e, &got, sizeof(e)), 0);
	ck_assert_int_eq(got.flapping, 1);
	ck_assert_str_eq(got.held_message, e.held_message);
	/* Its recovery: read with the flapping it ended, the problem and
	 * who got it by SMS forgotten. */
	event(&ev, 8, "web1", "down", "up");
	ck_assert_int_eq(memo_event_read(&got, &ev), 1);
	memo_event_paged(&got, &ev, NULL, w, n);
	ck_assert_str_eq(got.sms, "");
	ck_assert_uint_eq(got.problem, 0);
	ck_assert_uint_eq(got.listed_by, 0);
	ck_assert_int_eq(memo_entry_empty(&got), 0);	/* held stays */
	got.held = 0;
	ck_assert_int_eq(memo_entry_empty(&got), 1);
	conf_free(c);
}
END_TEST

START_TEST(storm_pages_the_first_n_then_folds_the_window)
{
	struct conf		*c;
	struct storm		 st = { 0 };
	struct spool_event	 ev;
	int64_t			 end = 0;

	c = parse("set storm 3 in 60s\ncontact ops email ops@example.net\n"
	    "server web1 http://x/ notify ops\n");
	storm_run(&st, c, 1700000000, "......", "PPPFFF");
	ck_assert_int_eq(st.end, 1700000060);
	/* The window is over: a new one, counted from 0. */
	storm_run(&st, c, 1700000060, "....", "PPPF");
	ck_assert_int_eq(st.end, 1700000120);
	/* Unreachable: folded, opens a window, does not count. */
	memset(&st, 0, sizeof(st));
	storm_run(&st, c, 1700001000, "u.u...", "FPFPPF");
	/* The digest is sent when the window ends. */
	event(&ev, 50, "web1", "up", "down");
	ev.time = 1700001030;
	ck_assert_int_eq(rules_storm(&st, c, &ev, &end), STORM_FOLD);
	ck_assert_int_eq(end, 1700001060);
	conf_free(c);
	/* storm 0: every change alone, but unreachable ones still folded. */
	c = parse("set storm 0 in 60s\ncontact ops email ops@example.net\n"
	    "server web1 http://x/ notify ops\n");
	memset(&st, 0, sizeof(st));
	storm_run(&st, c, 1700000000, "....u....", "PPPPFPPPP");
	conf_free(c);
}
END_TEST

START_TEST(storm_digest_lists_every_change_once)
{
	struct spool_event	 ev;
	struct page_ctx		 p = { 0 };
	char			 l[3][512], *m, *sms;
	const char		*lines[3] = { l[0], l[1], l[2] };
	int			 i;

	for (i = 0; i < 3; i++) {
		event(&ev, 10 + i, i == 2 ? "db" : "web1", "up", "down");
		ev.unreachable = i == 2;
		format_digest_line(&ev, l[i], sizeof(l[i]));
	}
	ck_assert_str_eq(l[0], "2023-11-14 22:13:20 UTC DOWN web1: connect: "
	    "Connection refused");
	ck_assert_ptr_nonnull(strstr(l[2], "DOWN db: connect: Connection "
	    "refused (unreachable: a server it depends on is down)"));
	p.contact = "ops";
	p.to = "ops@example.net";
	p.ch = CH_EMAIL;
	m = format_digest(&p, 12, lines, 3);
	ck_assert_ptr_nonnull(strstr(m, "\nSubject: [tocsin] STORM: 3 more "
	    "state changes, listed once\n"));
	ck_assert_ptr_nonnull(strstr(m,
	    "\nMessage-ID: <12.ops.email@tocsin-pager.localhost>\n"));
	for (i = 0; i < 3; i++)
		ck_assert_ptr_nonnull(strstr(m, l[i]));
	free(m);
	p.ch = CH_SMS;
	m = format_digest(&p, 12, lines, 3);
	ck_assert_ptr_null(strstr(m, "Subject:"));
	sms = strstr(m, "\n\n") + 2;
	ck_assert_ptr_nonnull(strstr(sms, "STORM 3 changes: DOWN web1"));
	ck_assert_uint_le(strlen(sms), SMS_MAX + 1);	/* and its LF */
	free(m);
	p.ch = CH_WEBHOOK;
	m = format_digest(&p, 12, lines, 3);
	ck_assert_ptr_nonnull(strstr(m, "\"key\":\"tocsin-12-ops-webhook\""));
	ck_assert_ptr_nonnull(strstr(m, "\"storm\":true,\"changes\":[\"2023"));
	free(m);
}
END_TEST

START_TEST(held_record_keeps_its_window)
{
	struct deliveries	 q;
	struct delivery		*d;
	char			 err[128];
	int			 fd;

	TAILQ_INIT(&q);
	d = delivery(7, "ops", CH_EMAIL);
	d->state = D_HELD;
	d->window = d->next = 1700000060;
	ck_assert_int_eq(queue_event_final(&q, 7), 1);
	queue_insert(&q, d);
	ck_assert_int_eq(queue_event_final(&q, 7), 0);	/* held: not final */
	ck_assert_uint_eq(queue_ready(&q, 1800000000, &d, 1), 0);
	fd = open(dir, O_RDONLY | O_DIRECTORY);
	ck_assert_int_eq(queue_write(fd, TAILQ_FIRST(&q)), 0);
	TAILQ_FIRST(&q)->digest = 1;
	TAILQ_FIRST(&q)->seq = 8;
	ck_assert_int_eq(queue_write(fd, TAILQ_FIRST(&q)), 0);
	free_all(&q);
	TAILQ_INIT(&q);
	ck_assert_int_eq(queue_load(fd, &q, err, sizeof(err)), 2);
	close(fd);
	d = TAILQ_FIRST(&q);
	ck_assert_int_eq(d->state, D_HELD);
	ck_assert_int_eq(d->window, 1700000060);
	ck_assert_int_eq(d->digest, 0);
	ck_assert_int_eq(TAILQ_NEXT(d, entry)->digest, 1);
	free_all(&q);
}
END_TEST

/* Write text to dir/name with mode; returns the path (static buffer). */
static const char *
secret_file(const char *name, const char *text, mode_t mode)
{
	static char	 path[128];
	FILE		*f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
	ck_assert_int_eq(chmod(path, mode), 0);
	return path;
}

START_TEST(sms_api_request_is_filled_from_the_templates)
{
	struct conf		*c;
	struct smsapi		*sa;
	struct http_call	 hc;
	struct spool_event	 ev;
	struct want		 w[WANT_MAX];
	struct page_ctx		 p;
	char			 text[512], err[256];
	char			*pay;

	/* Form body by default, Basic auth from a 0600 file. */
	snprintf(text, sizeof(text), "set sms-gateway "
	    "https://api.example.net/send auth-file %s\n"
	    "contact ops sms +15551234567\n"
	    "server web1 http://127.0.0.1/ notify ops\n",
	    secret_file("basic", "AC123:t0ken\n", 0600));
	c = parse(text);
	ck_assert_ptr_nonnull(sa = smsapi_new(c, err, sizeof(err)));
	smsapi_request(sa, "+15551234567", "01:02 UTC DOWN a&b=c \"x\"",
	    "tocsin-7-ops-sms", &hc);
	ck_assert_str_eq(hc.url, "https://api.example.net/send");
	ck_assert_str_eq(hc.body, "to=%2B15551234567&text=01%3A02%20UTC%20"
	    "DOWN%20a%26b%3Dc%20%22x%22");
	ck_assert_str_eq(hc.content_type, "application/x-www-form-urlencoded");
	ck_assert_str_eq(hc.userpwd, "AC123:t0ken");
	ck_assert_ptr_null(hc.bearer);
	ck_assert_str_eq(hc.key, "tocsin-7-ops-sms");
	smsapi_request_free(&hc);
	smsapi_free(sa);
	/* The phone number is an SMS want; its payload is the text alone. */
	event(&ev, 7, "web1", "up", "down");
	ck_assert_uint_eq(rules_wants(c, &ev, NULL, w, WANT_MAX), 1);
	ck_assert_int_eq(w[0].ch, CH_SMS);
	ck_assert_str_eq(w[0].to, "+15551234567");
	memset(&p, 0, sizeof(p));
	p.conf = c;
	p.contact = "ops";
	p.to = w[0].to;
	p.ch = CH_SMS;
	pay = format_sms(&ev, &p);
	ck_assert_str_eq(pay, "22:13 UTC DOWN web1: connect: Connection "
	    "refused");
	free(pay);
	p.to = "555@sms.example.net";
	pay = format_sms(&ev, &p);
	ck_assert_ptr_nonnull(strstr(pay, "\nMessage-ID: <7.ops.sms@"));
	free(pay);
	conf_free(c);

	/* A JSON body is JSON-escaped; bearer takes the file as a token; a
	 * GET's URL is percent-encoded. */
	snprintf(text, sizeof(text), "set sms-gateway "
	    "\"https://x/{key}\" auth bearer auth-file %s body "
	    "\"{\\\"to\\\":\\\"{to}\\\",\\\"text\\\":\\\"{text}\\\"}\"\n",
	    secret_file("token", "s3cret-token\n", 0400));
	c = parse(text);
	ck_assert_ptr_nonnull(sa = smsapi_new(c, err, sizeof(err)));
	smsapi_request(sa, "+15551234567", "a \"b\" \\ c", "k-1", &hc);
	ck_assert_str_eq(hc.url, "https://x/k-1");
	ck_assert_str_eq(hc.body,
	    "{\"to\":\"+15551234567\",\"text\":\"a \\\"b\\\" \\\\ c\"}");
	ck_assert_str_eq(hc.content_type, "application/json");
	ck_assert_str_eq(hc.bearer, "s3cret-token");
	ck_assert_ptr_null(hc.userpwd);
	smsapi_request_free(&hc);
	smsapi_free(sa);
	conf_free(c);
	c = parse("set sms-gateway \"http://x/s?to={to}&m={text}\" get\n");
	ck_assert_ptr_nonnull(sa = smsapi_new(c, err, sizeof(err)));
	smsapi_request(sa, "+1555123", "UP web1/x", "k", &hc);
	ck_assert_str_eq(hc.url, "http://x/s?to=%2B1555123&m=UP%20web1%2Fx");
	ck_assert_ptr_null(hc.body);
	smsapi_request_free(&hc);
	smsapi_free(sa);
	conf_free(c);
}
END_TEST

START_TEST(sms_api_auth_file_must_be_private)
{
	struct conf	*c;
	char		 text[512], err[256];
	const char	*path;

	path = secret_file("open", "AC123:t0ken\n", 0644);
	snprintf(text, sizeof(text), "set sms-gateway https://x/ "
	    "auth-file %s\n", path);
	c = parse(text);
	ck_assert_ptr_null(smsapi_new(c, err, sizeof(err)));
	ck_assert_msg(strstr(err, "is mode 0644: it must be 0600") != NULL,
	    "%s", err);
	conf_free(c);
	path = secret_file("nocolon", "t0ken\n", 0600);
	snprintf(text, sizeof(text), "set sms-gateway https://x/ "
	    "auth-file %s\n", path);
	c = parse(text);
	ck_assert_ptr_null(smsapi_new(c, err, sizeof(err)));
	ck_assert_msg(strstr(err, "expected user:password") != NULL, "%s",
	    err);
	conf_free(c);
	c = parse("contact a email a@example.net\n");
	ck_assert_ptr_null(smsapi_new(c, err, sizeof(err)));
	ck_assert_str_eq(err, "");	/* no gateway is no error */
	conf_free(c);
}
END_TEST

/* A contact whose min-state left the problem out was not paged: it is
 * neither reminded nor escalated from. */
START_TEST(only_contacts_paged_are_reminded_and_escalate)
{
	struct conf		*c;
	struct memo_entry	 e;
	struct remind		 r[8];
	struct want		 w[8];
	struct spool_event	 ev;
	const struct server_conf *sv;
	size_t			 n;

	c = parse("contact ops email o@example.net min-state down "
	    "renotify 10m escalate-after 30m boss\n"
	    "contact dev email d@example.net renotify 10m\n"
	    "contact boss email b@example.net\n"
	    "server web1 http://127.0.0.1/ notify ops,dev\n");
	memset(&e, 0, sizeof(e));
	strlcpy(e.id, "web1", sizeof(e.id));
	event(&ev, 42, "web1", "up", "degraded");
	n = rules_wants(c, &ev, NULL, w, 8);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(w[0].contact->name, "dev");
	memo_event_paged(&e, &ev, NULL, w, n);
	ck_assert_str_eq(e.paged, "dev");
	sv = conf_find_server(c, "web1");
	n = remind_due(c, sv, &e, ev.time + 1800, r, 8);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(r[0].ct->name, "dev");
	ck_assert_ptr_null(r[0].from);
	/* A memo of before, without "paged": the server's contacts. */
	e.paged[0] = '\0';
	ck_assert_uint_eq(remind_due(c, sv, &e, ev.time + 1800, r, 8), 3);
	conf_free(c);
}
END_TEST

START_TEST(reminders_and_escalations_fall_due)
{
	struct conf		*c;
	struct memo_entry	 e;
	struct ctl_server	 st;
	struct remind		 r[8];
	struct spool_event	 ev, got;
	const struct server_conf *sv;
	size_t			 n;

	c = parse("contact ops email o@example.net renotify 10m "
	    "escalate-after 30m boss\n"
	    "contact boss email b@example.net escalate-after 1h ceo\n"
	    "contact ceo email c@example.net\n"
	    "server web1 http://127.0.0.1/ notify ops\n"
	    "server web2 http://127.0.0.1/ notify ops,boss renotify 5m\n");
	memset(&e, 0, sizeof(e));
	strlcpy(e.id, "web1", sizeof(e.id));
	event(&ev, 42, "web1", "up", "down");
	memo_problem_open(&e, &ev);
	ck_assert_uint_eq(e.problem, 42);
	sv = conf_find_server(c, "web1");
	/* 9 minutes: nothing; 10: reminder 1; 25: reminder 2 (one, not
	 * two); done, nothing again until 30: reminder 3 and boss. */
	ck_assert_uint_eq(remind_due(c, sv, &e, ev.time + 540, r, 8), 0);
	ck_assert_uint_eq(remind_due(c, sv, &e, ev.time + 600, r, 8), 1);
	ck_assert_uint_eq(r[0].round, 1);
	ck_assert_uint_eq(remind_due(c, sv, &e, ev.time + 1500, r, 8), 1);
	ck_assert_uint_eq(r[0].round, 2);
	remind_done(&e, &r[0], ev.time + 1500);
	ck_assert_str_eq(e.rounds, "ops:2");
	ck_assert_uint_eq(remind_due(c, sv, &e, ev.time + 1700, r, 8), 0);
	n = remind_due(c, sv, &e, ev.time + 1800, r, 8);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(r[0].round, 3);
	ck_assert_str_eq(r[1].ct->name, "boss");
	ck_assert_str_eq(r[1].from->name, "ops");
	remind_event(&e, &r[1], ev.time + 1800, &got);
	ck_assert_uint_eq(got.seq, 42);
	ck_assert_str_eq(got.message, "escalated from ops: down 30m, not "
	    "acknowledged: connect: Connection refused");
	remind_event(&e, &r[0], ev.time + 3720, &got);
	ck_assert_str_eq(got.message, "still down after 1h2m, reminder 3: "
	    "connect: Connection refused");
	remind_done(&e, &r[0], ev.time + 1800);
	remind_done(&e, &r[1], ev.time + 1830);	/* made a poll late */
	ck_assert_str_eq(e.rounds, "ops:3");
	ck_assert_str_eq(e.escalated, "boss");
	ck_assert_str_eq(e.escalated_at, "boss:1700001830");
	/* Boss once; boss's own escalate-after (1 h) counts from its own
	 * page, not the problem's: ceo at 1 h 30 m 30 s, not at 1 h. */
	n = remind_due(c, sv, &e, ev.time + 3600, r, 8);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(r[0].ct->name, "ops");
	ck_assert_uint_eq(remind_due(c, sv, &e, ev.time + 5429, r, 8), 1);
	n = remind_due(c, sv, &e, ev.time + 5430, r, 8);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(r[1].ct->name, "ceo");
	ck_assert_str_eq(r[1].from->name, "boss");
	/* A memo of before, with no time of the escalation: the problem's. */
	e.escalated_at[0] = '\0';
	ck_assert_uint_eq(remind_due(c, sv, &e, ev.time + 3600, r, 8), 2);
	/* An escalation found on disk after a crash: its record's time. */
	e.escalated[0] = '\0';
	ck_assert_int_eq(remind_found(c, &e, "boss", 0, ev.time + 1830), 1);
	ck_assert_str_eq(e.escalated_at, "boss:1700001830");
	ck_assert_int_eq(remind_found(c, &e, "boss", 0, ev.time + 1900), 0);
	ck_assert_uint_eq(remind_due(c, sv, &e, ev.time + 3600, r, 8), 1);
	/* While the server flaps, nothing: its pages are damped. */
	e.flapping = 1;
	ck_assert_uint_eq(remind_due(c, sv, &e, ev.time + 5430, r, 8), 0);
	e.flapping = 0;
	/* The server's renotify wins; boss is notified, never escalated to. */
	memo_problem_close(&e, 43);
	ck_assert_uint_eq(e.problem, 0);
	strlcpy(e.id, "web2", sizeof(e.id));
	event(&ev, 50, "web2", "up", "down");
	memo_problem_open(&e, &ev);
	memo_problem_open(&e, &ev);	/* read again: nothing changes */
	sv = conf_find_server(c, "web2");
	n = remind_due(c, sv, &e, ev.time + 1800, r, 8);
	ck_assert_uint_eq(n, 2);	/* ops r6, boss r6; ceo at 1 h */
	ck_assert_uint_eq(r[0].round, 6);
	ck_assert_str_eq(r[1].ct->name, "boss");
	ck_assert_uint_eq(r[1].round, 6);
	ck_assert_ptr_null(r[1].from);
	ck_assert_uint_eq(remind_due(c, sv, &e, ev.time + 1799, r, 1), 1);
	/* Acked, in downtime, up or unknown to probed: nothing. */
	memset(&st, 0, sizeof(st));
	strlcpy(st.state, "down", sizeof(st.state));
	ck_assert_int_eq(remind_allowed(&st, 1000), 1);
	st.acked = 1;
	ck_assert_int_eq(remind_allowed(&st, 1000), 0);
	st.acked = 0;
	st.downtime_until = 1001;
	ck_assert_int_eq(remind_allowed(&st, 1000), 0);
	st.downtime_until = 1000;
	ck_assert_int_eq(remind_allowed(&st, 1000), 1);
	strlcpy(st.state, "up", sizeof(st.state));
	ck_assert_int_eq(remind_allowed(&st, 1000), 0);
	ck_assert_int_eq(remind_allowed(NULL, 1000), 0);
	/* The rounds list keeps the others. */
	memo_num_set(e.rounds, sizeof(e.rounds), "a", 1);
	memo_num_set(e.rounds, sizeof(e.rounds), "b", 2);
	memo_num_set(e.rounds, sizeof(e.rounds), "a", 3);
	ck_assert_str_eq(e.rounds, "b:2,a:3");
	ck_assert_uint_eq(memo_num(e.rounds, "a"), 3);
	ck_assert_uint_eq(memo_num(e.rounds, "c"), 0);
	conf_free(c);
}
END_TEST

START_TEST(watchdog_tells_stopped_once_and_back)
{
	struct watchdog		 w, l;
	struct spool_event	 ev;
	char			 why[128];

	memset(&w, 0, sizeof(w));
	/* Grace: twice the longest interval (30 s), 10 s at least. */
	ck_assert_int_eq(watchdog_judge(&w, 1, 995, 15000, 1000, why,
	    sizeof(why)), WD_NONE);
	ck_assert_int_eq(watchdog_judge(&w, 0, 0, 15000, 1000, why,
	    sizeof(why)), WD_NONE);
	ck_assert_str_eq(why, "tocsin-probed does not answer on its control "
	    "socket");
	ck_assert_int_eq(watchdog_judge(&w, 0, 0, 15000, 1029, why,
	    sizeof(why)), WD_NONE);
	ck_assert_int_eq(watchdog_judge(&w, 0, 0, 15000, 1030, why,
	    sizeof(why)), WD_STOPPED);
	ck_assert_uint_eq(w.incident, 1);
	ck_assert_int_eq(w.since, 1000);
	ck_assert_uint_eq(watchdog_event(&w, WD_STOPPED, why, 1030, &ev), 1);
	ck_assert_str_eq(ev.new_state, "down");
	ck_assert_str_eq(ev.message, "monitoring has stopped: tocsin-probed "
	    "does not answer on its control socket");
	ck_assert_int_eq(watchdog_judge(&w, 0, 0, 15000, 1100, why,
	    sizeof(why)), WD_NONE);		/* told once */
	ck_assert_int_eq(watchdog_judge(&w, 1, 1101, 15000, 1102, why,
	    sizeof(why)), WD_BACK);
	ck_assert_uint_eq(watchdog_event(&w, WD_BACK, why, 1102, &ev), 2);
	ck_assert_str_eq(ev.new_state, "up");
	/* Answering but no result for longer than the grace (10 s). */
	ck_assert_int_eq(watchdog_judge(&w, 1, 1100, 1000, 1111, why,
	    sizeof(why)), WD_NONE);
	ck_assert_str_eq(why, "no check result for 11 s");
	ck_assert_int_eq(watchdog_judge(&w, 1, 1100, 1000, 1121, why,
	    sizeof(why)), WD_STOPPED);
	ck_assert_uint_eq(watchdog_event(&w, WD_STOPPED, why, 1121, &ev), 3);
	/* Kept across a restart. */
	ck_assert_int_eq(watchdog_save(open(dir, O_RDONLY | O_DIRECTORY), &w),
	    0);
	watchdog_load(open(dir, O_RDONLY | O_DIRECTORY), &l);
	ck_assert_uint_eq(l.incident, 2);
	ck_assert_int_eq(l.down, 1);
	ck_assert_int_eq(l.since, 1111);
}
END_TEST

static Suite *
pager_suite(void)
{
	Suite	*s = suite_create("pager");
	TCase	*tc = tcase_create("pager");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, record_survives_write_and_load);
	tcase_add_test(tc, record_name_is_seq_contact_channel);
	tcase_add_test(tc, broken_record_and_temporary_are_set_aside);
	tcase_add_test(tc, backoff_doubles_up_to_ten_minutes);
	tcase_add_test(tc, outcome_sets_state_tries_and_next);
	tcase_add_test(tc, lane_waits_for_its_head_and_others_go_on);
	tcase_add_test(tc, every_lane_starts_past_256);
	tcase_add_test(tc, contacts_and_channels_from_notify);
	tcase_add_test(tc, quiet_hours_hold_sms_not_email);
	tcase_add_test(tc, memo_entry_dump_parse_round_trip);
	tcase_add_test(tc, downtime_ack_and_first_up_are_not_paged);
	tcase_add_test(tc, problem_page_says_what_since_message_latency_link);
	tcase_add_test(tc, recovery_and_flapping_pages);
	tcase_add_test(tc, flapping_pages_its_start_and_end_only);
	tcase_add_test(tc, webhook_json_has_text_and_key);
	tcase_add_test(tc, sms_is_one_gsm7_segment);
	tcase_add_test(tc, webhook_and_web_url_parse);
	tcase_add_test(tc, min_state_down_gets_only_down);
	tcase_add_test(tc, memo_survives_save_and_load);
	tcase_add_test(tc, storm_pages_the_first_n_then_folds_the_window);
	tcase_add_test(tc, storm_digest_lists_every_change_once);
	tcase_add_test(tc, held_record_keeps_its_window);
	tcase_add_test(tc, sms_api_request_is_filled_from_the_templates);
	tcase_add_test(tc, sms_api_auth_file_must_be_private);
	tcase_add_test(tc, reminders_and_escalations_fall_due);
	tcase_add_test(tc, only_contacts_paged_are_reminded_and_escalate);
	tcase_add_test(tc, watchdog_tells_stopped_once_and_back);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	setenv("TZ", "UTC", 1);
	return ckrun(pager_suite());
}
