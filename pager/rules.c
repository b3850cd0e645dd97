/*
 * rules.c: who gets what. From an event and the config: whether the event
 * is paged at all, and the (contact, channel, address) it goes to. Pure
 * functions, no I/O.
 */
#include <string.h>
#include <time.h>

#include "conf.h"
#include "xmalloc.h"

#include "pager.h"

/*
 * 1 if the event is paged, else 0 with *why saying why not: inside a
 * downtime, already acknowledged, held while its server flaps
 * (RULES_FLAPPING), or an unknown-to-up start. was_flapping says the
 * server flapped at its previous event. Flapping is damped as Nagios
 * does: the change that starts it (the event flaps, the one before did
 * not) is paged, and so is the event that ends it (it does not flap: a
 * change, or probed's old and new alike when the server settled in the
 * state of its last change), even where it would not be otherwise; the
 * changes in between are held. Both modes ask it.
 */
int
rules_page_worthy(const struct spool_event *ev, int was_flapping,
    const char **why)
{
	*why = NULL;
	if (ev->downtime) {
		*why = "in downtime";
		return 0;
	}
	if (ev->acked && strcmp(ev->new_state, "up") != 0) {
		*why = "acknowledged";
		return 0;
	}
	if (ev->flapping && was_flapping) {
		*why = RULES_FLAPPING;
		return 0;
	}
	if (strcmp(ev->old_state, "unknown") == 0 &&
	    strcmp(ev->new_state, "up") == 0 && !was_flapping) {
		*why = "first state is up";
		return 0;
	}
	return 1;
}

/* 1 when why (rules_page_worthy's) says the event was held because its
 * server flaps. */
int
rules_flap_held(const char *why)
{
	return why != NULL && strcmp(why, RULES_FLAPPING) == 0;
}

/*
 * The event as its contacts take it, for whom it goes to: the end of
 * flapping follows changes that were held, so the state they last heard
 * (heard: the open problem's state, "up" when none; see memo_heard)
 * stands for its old state. A contact with min-state down that was paged
 * the flapping's start as down then gets the end settled up, and the
 * recovery reaches those its problem was escalated to. Any other event
 * is itself. Returns ev, or buf filled.
 */
const struct spool_event *
rules_as_heard(const struct spool_event *ev, int was_flapping,
    const char *heard, struct spool_event *buf)
{
	if (!was_flapping || ev->flapping || heard == NULL)
		return ev;
	*buf = *ev;
	strlcpy(buf->old_state, heard, sizeof(buf->old_state));
	return buf;
}

/*
 * 1 if the event may be paged alone; 0 when it carries `unreachable` (a
 * server it depends on is down): it is listed in that server's page, or
 * in a digest, never alone. Both modes ask it: dispatch.c folds it into
 * the storm digest, cluster_events.c into the cluster's digest.
 */
int
rules_alone(const struct spool_event *ev)
{
	return !ev->unreachable;
}

/*
 * Storms: the first change opens a window of `set storm`'s duration (by
 * event time); the first N changes in it are paged alone, the rest are
 * folded into one digest per contact and channel, sent when the window
 * ends (*window_end). An event that carries `unreachable` (a server it
 * depends on is down, and paged) is never paged alone: it is folded, and
 * opens a window if none is open; it does not count. `set storm 0` pages
 * every other change alone.
 */
enum storm_verdict
rules_storm(struct storm *st, const struct conf *c,
    const struct spool_event *ev, int64_t *window_end)
{
	int64_t len;

	if (c->storm_n == 0 && rules_alone(ev))
		return STORM_PAGE;
	if (ev->time >= st->end) {
		len = c->storm_ms / 1000;
		st->end = ev->time + (len > 0 ? len : 1);
		st->count = 0;
	}
	*window_end = st->end;
	if (!rules_alone(ev))
		return STORM_FOLD;
	if (++st->count > c->storm_n)
		return STORM_FOLD;
	return STORM_PAGE;
}

/* 1 if `when` (Unix s, local time) falls in the contact's quiet hours. */
int
rules_in_quiet(const struct contact_conf *ct, int64_t when)
{
	struct tm	 tm;
	time_t		 t = when;
	int		 m;

	if (ct->quiet_from < 0 || localtime_r(&t, &tm) == NULL)
		return 0;
	m = tm.tm_hour * 60 + tm.tm_min;
	if (ct->quiet_from <= ct->quiet_to)
		return m >= ct->quiet_from && m < ct->quiet_to;
	return m >= ct->quiet_from || m < ct->quiet_to;	/* over midnight */
}

/*
 * The deliveries one contact wants for an event: each channel it has. A
 * contact with `min-state down` gets only events into or out of down. SMS
 * (a gateway address or a phone number for `set sms-gateway`) is held in
 * the contact's quiet hours, except a recovery to a contact whose problem
 * went by SMS (sms_sent: the comma-separated contacts it went to; may be
 * NULL). Returns how many went in out (at most max).
 */
size_t
rules_contact_wants(const struct contact_conf *ct,
    const struct spool_event *ev, const char *sms_sent, struct want *out,
    size_t max)
{
	size_t	 n = 0;
	int	 recovery, sms_ok;

	recovery = strcmp(ev->new_state, "up") == 0;
	if (max < 3 || (ct->min_down && strcmp(ev->new_state, "down") != 0 &&
	    strcmp(ev->old_state, "down") != 0))
		return 0;
	if (ct->email != NULL)
		out[n++] = (struct want){ ct, CH_EMAIL, ct->email };
	sms_ok = !rules_in_quiet(ct, ev->time) || (recovery &&
	    sms_sent != NULL && memo_listed(sms_sent, ct->name));
	if (ct->sms != NULL && sms_ok)
		out[n++] = (struct want){ ct, CH_SMS, ct->sms };
	if (ct->webhook != NULL)
		out[n++] = (struct want){ ct, CH_WEBHOOK, ct->webhook };
	return n;
}

/*
 * The deliveries an event wants: every contact its server names (notify on
 * the server, its farm or `set`), as rules_contact_wants says. Returns how
 * many went in out (at most max); none when the server is not in the
 * config.
 */
size_t
rules_wants(const struct conf *c, const struct spool_event *ev,
    const char *sms_sent, struct want *out, size_t max)
{
	const struct server_conf	*sv;
	size_t				 i, n = 0;

	if ((sv = conf_find_server(c, ev->id)) == NULL)
		return 0;
	for (i = 0; i < sv->ncontacts && n + 3 <= max; i++)
		n += rules_contact_wants(sv->contacts[i], ev, sms_sent,
		    out + n, max - n);
	return n;
}

/* How often a server's problem is paged again to a contact, in
 * milliseconds: the server's renotify (from it, its farm or `set`), else
 * the contact's; 0 = never. */
uint64_t
rules_renotify_ms(const struct server_conf *sv,
    const struct contact_conf *ct)
{
	return sv->o.renotify != 0 ? sv->o.renotify : ct->renotify;
}
