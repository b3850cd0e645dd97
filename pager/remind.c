/*
 * remind.c: renotify and escalate-after. From a server's open problem (its
 * memo entry), what probed says of the server now and the config: which
 * reminders and escalations are due, the page each one is, and what the
 * memo keeps once it is made. Pure functions, no I/O: the renotify pass in
 * dispatch.c makes the records.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "conf.h"
#include "ctlclient.h"
#include "xmalloc.h"

#include "pager.h"

#define REMIND_CONTACTS	64	/* contacts a problem reaches, at most */

/* The problem e is escalated to contact, whose page went at (Unix s). */
static void
escalated(struct memo_entry *e, const char *contact, int64_t at)
{
	memo_list_add(e->escalated, sizeof(e->escalated), contact);
	memo_num_set(e->escalated_at, sizeof(e->escalated_at), contact,
	    (uint64_t)at);
}

/* "1h2m", "5m", "40s": an age for a person. */
static void
age_str(int64_t s, char *buf, size_t len)
{
	if (s >= 3600)
		snprintf(buf, len, "%" PRId64 "h%" PRId64 "m", s / 3600,
		    s % 3600 / 60);
	else if (s >= 60)
		snprintf(buf, len, "%" PRId64 "m", s / 60);
	else
		snprintf(buf, len, "%" PRId64 "s", s);
}

/* 1 if ct is one of the n in list. */
static int
has(const struct contact_conf **list, size_t n,
    const struct contact_conf *ct)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (list[i] == ct)
			return 1;
	return 0;
}

/*
 * The contacts the problem reached: those its page went to (a contact of
 * the server whose min-state left the problem out was not paged, and
 * neither reminded nor escalated from; a memo of before that did not keep
 * them: the server's own), then those it was escalated to (still in the
 * config). Returns how many (at most max).
 */
static size_t
reached(const struct conf *c, const struct server_conf *sv,
    const struct memo_entry *e, const struct contact_conf **out, size_t max)
{
	size_t i, n = 0;

	if (e->paged[0] == '\0')
		for (i = 0; i < sv->ncontacts && n < max; i++)
			out[n++] = sv->contacts[i];
	for (i = 0; e->paged[0] != '\0' && i < c->ncontacts && n < max; i++)
		if (memo_listed(e->paged, c->contacts[i]->name))
			out[n++] = c->contacts[i];
	for (i = 0; i < c->ncontacts && n < max; i++)
		if (memo_listed(e->escalated, c->contacts[i]->name) &&
		    !has(out, n, c->contacts[i]))
			out[n++] = c->contacts[i];
	return n;
}

/*
 * 1 if the problem may be paged again now: probed (or its state file)
 * knows the server, which is still not up, not acknowledged and not in a
 * downtime. st may be NULL (not known: nothing is paged).
 */
int
remind_allowed(const struct ctl_server *st, int64_t now)
{
	return st != NULL && strcmp(st->state, "up") != 0 && !st->acked &&
	    st->downtime_until <= now;
}

/*
 * When contact ct's page of the open problem e went (Unix s): the
 * problem's time for a contact its page reached, the escalation's for one
 * it was escalated to (the problem's when the memo, of before, does not
 * say).
 */
static int64_t
paged_at(const struct memo_entry *e, const struct contact_conf *ct)
{
	uint64_t t;

	if ((e->paged[0] == '\0' || !memo_listed(e->paged, ct->name)) &&
	    (t = memo_num(e->escalated_at, ct->name)) != 0)
		return (int64_t)t;
	return e->problem_time;
}

/*
 * The reminders and escalations due for the open problem e of server sv
 * at now (Unix s): a reminder to each contact it reached whose renotify
 * period has passed again since the problem's page (only the latest
 * round when several passed: one reminder, not a burst), and for each
 * such contact with escalate-after, once that long has passed since its
 * own page (the problem's, or its escalation's), its escalation contact
 * (unless the problem reached it already). Nothing while the server
 * flaps: its pages are damped. Returns how many went in out (at most
 * max).
 */
size_t
remind_due(const struct conf *c, const struct server_conf *sv,
    const struct memo_entry *e, int64_t now, struct remind *out, size_t max)
{
	const struct contact_conf	*ct[REMIND_CONTACTS];
	int64_t				 at[REMIND_CONTACTS];
	uint64_t			 ms, age_ms;
	size_t				 n, i, k = 0;
	unsigned			 round;

	if (e->problem == 0 || e->flapping || now < e->problem_time)
		return 0;
	age_ms = (uint64_t)(now - e->problem_time) * 1000;
	n = reached(c, sv, e, ct, REMIND_CONTACTS);
	for (i = 0; i < n && k < max; i++) {
		at[i] = paged_at(e, ct[i]);
		if ((ms = rules_renotify_ms(sv, ct[i])) == 0)
			continue;
		round = age_ms / ms;
		if (round > 0 && round > memo_num(e->rounds, ct[i]->name))
			out[k++] = (struct remind){ ct[i], round, NULL };
	}
	for (i = 0; i < n && k < max; i++) {
		if (ct[i]->escalate == NULL || now < at[i] ||
		    (uint64_t)(now - at[i]) * 1000 < ct[i]->escalate_ms ||
		    has(ct, n, ct[i]->escalate))
			continue;
		out[k++] = (struct remind){ ct[i]->escalate, 0, ct[i] };
		/* Once, even when two contacts escalate to it; its own
		 * escalate-after counts from now, its page. */
		if (n < REMIND_CONTACTS) {
			at[n] = now;
			ct[n++] = ct[i]->escalate;
		}
	}
	return k;
}

/*
 * The recovery's deliveries to the contacts the problem was escalated to
 * (escalated: their comma-separated names) that the server's own notify
 * does not reach already. Returns how many went in out.
 */
size_t
remind_escalated_wants(const struct conf *c, const char *escalated,
    const struct spool_event *ev, struct want *out, size_t max)
{
	const struct server_conf	*sv;
	size_t				 i, j, n = 0;

	if (escalated[0] == '\0' || (sv = conf_find_server(c, ev->id)) ==
	    NULL)
		return 0;
	for (i = 0; i < c->ncontacts; i++) {
		if (!memo_listed(escalated, c->contacts[i]->name))
			continue;
		for (j = 0; j < sv->ncontacts; j++)
			if (sv->contacts[j] == c->contacts[i])
				break;
		if (j == sv->ncontacts)
			n += rules_contact_wants(c->contacts[i], ev, NULL,
			    out + n, max - n);
	}
	return n;
}

/*
 * The page a reminder or escalation is: the problem's event again (its
 * number, so its Message-ID and Idempotency-Key say which problem), at
 * now, with a message saying what it is: "still down after 1h2m, reminder
 * 2: ..." or "escalated from ops: down 30m, not acknowledged: ...".
 */
void
remind_event(const struct memo_entry *e, const struct remind *r,
    int64_t now, struct spool_event *ev)
{
	char age[32], msg[600];

	memset(ev, 0, sizeof(*ev));
	ev->seq = e->problem;
	strlcpy(ev->id, e->id, sizeof(ev->id));
	ev->time = now;
	strlcpy(ev->old_state, e->state, sizeof(ev->old_state));
	strlcpy(ev->new_state, e->state, sizeof(ev->new_state));
	age_str(now - e->problem_time, age, sizeof(age));
	if (r->from == NULL)
		snprintf(msg, sizeof(msg), "still %s after %s, reminder %u: "
		    "%s", e->state, age, r->round, e->message);
	else
		snprintf(msg, sizeof(msg), "escalated from %s: %s %s, not "
		    "acknowledged: %s", r->from->name, e->state, age,
		    e->message);
	strlcpy(ev->message, msg, sizeof(ev->message));
}

/* The reminder or escalation is made at now (Unix s): the memo keeps it,
 * and when an escalation's page went (its contact's own escalate-after
 * counts from then). */
void
remind_done(struct memo_entry *e, const struct remind *r, int64_t now)
{
	if (r->from == NULL)
		memo_num_set(e->rounds, sizeof(e->rounds), r->ct->name,
		    r->round);
	else
		escalated(e, r->ct->name, now);
}

/*
 * At start: a record of the open problem e's event is on disk, for
 * contact with round (0: the event's own page, or an escalation), made
 * at created (Unix s). When it is a reminder or escalation the memo does
 * not know of (a crash came between the record and the memo's save), the
 * memo keeps it now (an escalation with its record's time), before the
 * record goes and is removed: else the next pass would make it again
 * under no record, and send it twice. Returns 1 when the memo changed.
 */
int
remind_found(const struct conf *c, struct memo_entry *e,
    const char *contact, unsigned round, int64_t created)
{
	const struct contact_conf	*ct[REMIND_CONTACTS];
	const struct server_conf	*sv;
	size_t				 n, i;

	if (round > 0) {
		if (memo_num(e->rounds, contact) >= round)
			return 0;
		memo_num_set(e->rounds, sizeof(e->rounds), contact, round);
		return 1;
	}
	if (memo_listed(e->escalated, contact) ||
	    (sv = conf_find_server(c, e->id)) == NULL)
		return 0;
	n = reached(c, sv, e, ct, REMIND_CONTACTS);
	for (i = 0; i < n; i++)
		if (strcmp(ct[i]->name, contact) == 0)
			return 0;	/* its own page */
	for (i = 0; i < n; i++)
		if (ct[i]->escalate != NULL &&
		    strcmp(ct[i]->escalate->name, contact) == 0) {
			escalated(e, contact, created);
			return 1;
		}
	return 0;
}

/*
 * 1 if the problem a downtime held (e->held) is to be paged now: its
 * downtime is over and probed says the server is still not up, and not
 * acknowledged (st NULL: not known, nothing is paged).
 */
int
remind_dtend_due(const struct ctl_server *st, const struct memo_entry *e,
    int64_t now)
{
	return e->held != 0 && remind_allowed(st, now);
}

/*
 * The page for a held problem at the downtime's end: the held event
 * itself (its number, so its records, Message-ID and Idempotency-Key are
 * that event's, which was never paged: made once), at now, saying "still
 * down after the downtime: ...".
 */
void
remind_dtend_event(const struct memo_entry *e, int64_t now,
    struct spool_event *ev)
{
	char msg[600];

	memset(ev, 0, sizeof(*ev));
	ev->seq = e->held;
	strlcpy(ev->id, e->id, sizeof(ev->id));
	ev->time = now;
	strlcpy(ev->old_state, e->held_state, sizeof(ev->old_state));
	strlcpy(ev->new_state, e->held_state, sizeof(ev->new_state));
	snprintf(msg, sizeof(msg), "still %s after the downtime: %s",
	    e->held_state, e->held_message);
	strlcpy(ev->message, msg, sizeof(ev->message));
}

/*
 * The held problem is paged (its records made at now): it is the open
 * problem from here on, for renotify and escalate-after, counted from
 * now.
 */
void
remind_dtend_done(struct memo_entry *e, int64_t now)
{
	struct spool_event ev;

	remind_dtend_event(e, now, &ev);
	strlcpy(ev.message, e->held_message, sizeof(ev.message));
	memo_problem_open(e, &ev);
	e->held = 0;
	e->held_time = 0;
	e->held_state[0] = e->held_message[0] = '\0';
}
