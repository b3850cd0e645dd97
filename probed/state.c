/*
 * state.c: the state machine that turns check results into soft and hard
 * states (retries, rise, flapping), and its persistence as JSON. Pure logic:
 * the caller passes the time and does the I/O.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "conf.h"
#include "result.h"
#include "jsontext.h"
#include "state.h"
#include "util.h"
#include "xmalloc.h"

#if JSON_INTEGER_IS_LONG_LONG
#define JINT_MAX	LLONG_MAX
#else
#define JINT_MAX	LONG_MAX
#endif

#define FLAP_PAIRS	(FLAP_WINDOW - 1)
#define FLAP_W_LOW	0.8	/* weight of the oldest pair in the window */
#define FLAP_W_HIGH	1.2	/* weight of the newest pair */

static unsigned long	 threshold(const struct server_conf *, enum hstate,
			    enum hstate);
static int		 severity(enum hstate);
static int		 worse(const struct state *, enum hstate);
static void		 hist_push(struct state *, enum hstate);
static double		 flap_percent(const unsigned char *, unsigned);
static int		 status_parse(const char *, enum check_status *);
static int		 get_string(json_t *, const char *, const char **);
static int		 get_int(json_t *, const char *, json_int_t *);
static int		 get_bool(json_t *, const char *, int *);
static int		 get_hstate(json_t *, const char *, enum hstate *);
static json_int_t	 clamp(json_int_t, json_int_t, json_int_t);
static void		 downtime_free(struct downtime *);
static int		 downtime_from_json(struct downtime *, json_t *);
static void		 unknowns(struct state *);
static void		 ack_clear(struct state *);

/*
 * Start a server's state: unknown (hard, nothing seen yet), no history,
 * no ack, no downtime.
 */
void
state_init(struct state *st)
{
	memset(st, 0, sizeof(*st));
	st->state = HSTATE_UNKNOWN;
	st->type = STATE_HARD;
	st->hard = HSTATE_UNKNOWN;
	st->candidate = HSTATE_UNKNOWN;
	st->last_latency_us = -1;
	st->last_parts_us[0] = st->last_parts_us[1] = -1;
	st->last_parts_us[2] = st->last_parts_us[3] = -1;
	st->last_status = CHECK_UNKNOWN;
}

/* Release the texts a state owns; it is then as after state_init. */
void
state_free(struct state *st)
{
	free(st->message);
	free(st->long_output);
	free(st->ack_comment);
	while (st->ndowntimes > 0)
		downtime_free(&st->downtimes[--st->ndowntimes]);
	free(st->downtimes);
	state_init(st);
}

/*
 * Replace *dst with a copy of src cut to max-1 bytes (at a UTF-8
 * boundary); NULL or "" leaves NULL.
 */
void
state_set_text(char **dst, const char *src, size_t max)
{
	char	 small[STATE_MSG_MAX], *buf = small;
	size_t	 len;

	if (src == NULL || *src == '\0' || max < 2) {
		free(*dst);
		*dst = NULL;
		return;
	}
	/* Once a check: no allocation but the text's own, resized. */
	if (max > sizeof(small))
		buf = xmalloc(max);
	copy_utf8(buf, max, src);
	len = strlen(buf) + 1;
	if (*dst == NULL || strcmp(*dst, buf) != 0) {
		*dst = xreallocarray(*dst, len, 1);
		memcpy(*dst, buf, len);
	}
	if (buf != small)
		free(buf);
}

/*
 * What one result says about a server, before retries and rise: ok is up,
 * unless the server has a warn threshold and took longer than it (then
 * degraded); warning is degraded; critical is down; unknown is
 * HSTATE_UNKNOWN_STATUS (a check that cannot tell is a problem and a
 * page, not silence, and not a down either). Never returns HSTATE_UNKNOWN.
 */
enum hstate
state_observe(const struct server_conf *sc, const struct check_result *r)
{
	uint64_t	 warn = sc->o.warn;

	switch (r->status) {
	case CHECK_OK:
		if (warn > 0 && warn <= (uint64_t)INT64_MAX / 1000 &&
		    r->total_us > (int64_t)warn * 1000)
			return HSTATE_DEGRADED;
		return HSTATE_UP;
	case CHECK_WARNING:
		return HSTATE_DEGRADED;
	case CHECK_UNKNOWN:
		return HSTATE_UNKNOWN_STATUS;
	case CHECK_CRITICAL:
		break;
	}
	return HSTATE_DOWN;
}

/* How bad a state is: a worse one takes retries, a better one rise. */
static int
severity(enum hstate s)
{
	switch (s) {
	case HSTATE_UNKNOWN:
		return 0;
	case HSTATE_UP:
		return 1;
	case HSTATE_DEGRADED:
		return 2;
	case HSTATE_UNKNOWN_STATUS:
		return 3;
	case HSTATE_DOWN:
		break;
	}
	return 4;
}

/* Is observed state o worse than st's hard state (else it is better)? */
static int
worse(const struct state *st, enum hstate o)
{
	return severity(o) > severity(st->hard);
}

/*
 * How long a run ending in o must be to leave hard state h: retries
 * when o is worse, rise when it is better (both at least 1). From
 * unknown, up and degraded count at once (the first answer is the truth),
 * while down and a check's unknown still need their retries, so a probe
 * hiccup at start does not page anyone.
 */
static unsigned long
threshold(const struct server_conf *sc, enum hstate h, enum hstate o)
{
	unsigned long	 n;

	if (h == HSTATE_UNKNOWN && o != HSTATE_DOWN &&
	    o != HSTATE_UNKNOWN_STATUS)
		return 1;
	n = severity(o) > severity(h) ? sc->o.retries : sc->o.rise;
	return n < 1 ? 1 : n;
}

/* Append an observed state to the flap history, dropping the oldest. */
static void
hist_push(struct state *st, enum hstate o)
{
	if (st->nhist > FLAP_WINDOW)
		st->nhist = FLAP_WINDOW;
	if (st->nhist == FLAP_WINDOW) {
		memmove(st->hist, st->hist + 1, FLAP_WINDOW - 1);
		st->nhist--;
	}
	st->hist[st->nhist++] = (unsigned char)o;
}

/*
 * Nagios' weighted percent state change over hist[0..n-1], oldest first.
 * A full window holds FLAP_PAIRS (20) consecutive pairs; pair k (0 the
 * oldest) weighs FLAP_W_LOW + k * (FLAP_W_HIGH - FLAP_W_LOW) / 19, so
 * recent changes count more; the sum over the pairs that differ is divided
 * by 20 and given in percent (0 to 100).
 *
 * With fewer than FLAP_WINDOW results (after start) the pairs present sit
 * at the newest positions of the window, with those positions' weights,
 * and the missing older pairs count as "no change"; the sum is still
 * divided by 20. That is what Nagios does, since it fills its history with
 * the first state. Dividing by the pairs present instead would call a
 * server flapping on its first change after start (1 change in 1 pair is
 * 100%). Needs n >= 2; returns 0 otherwise.
 */
static double
flap_percent(const unsigned char *hist, unsigned n)
{
	double		 sum = 0;
	unsigned	 i, npairs, k;

	if (n < 2)
		return 0;
	if (n > FLAP_WINDOW)
		n = FLAP_WINDOW;
	npairs = n - 1;
	for (i = 0; i < npairs; i++) {
		if (hist[i] == hist[i + 1])
			continue;
		k = FLAP_PAIRS - npairs + i;
		sum += FLAP_W_LOW +
		    (double)k * (FLAP_W_HIGH - FLAP_W_LOW) / (FLAP_PAIRS - 1);
	}
	return sum * 100.0 / FLAP_PAIRS;
}

/*
 * Feed one result to the state machine at time now (Unix seconds). Records
 * the result (time, latency, status, message, counters, flap history),
 * then moves the state:
 *
 * - observed == hard: hard again, any candidate forgotten;
 * - otherwise the observed state is the candidate, and the run counts
 *   results on the same side of the hard state: worse ones (down,
 *   unknown, degraded from up: any problem, as Nagios counts any non-OK
 *   result as an attempt) extend a run of worse ones, better ones a run of
 *   better ones, whatever their exact state; a result on the other side
 *   restarts the run at 1. Below threshold() the state is soft; at it the
 *   hard state becomes the latest result's (as in Nagios: critical,
 *   unknown, critical makes it down) and `since` is now. Counting exact
 *   states instead left a plugin alternating critical and unknown soft
 *   forever, never paged.
 *
 * Flapping starts when the percent state change goes above flap_high and
 * stops when it falls below flap_low (percent), so a value in between
 * keeps the previous verdict. An ack is cleared when the hard state
 * returns to up, and when a result is up while the hard state is up: an
 * ack given during a soft failure ends with it (else the next outage
 * would come acknowledged, and go unpaged).
 *
 * Returns 1 when the hard state changed, and fills *chg (may be NULL) with
 * old and new state and the flapping, downtime and ack flags as they are
 * after this result; returns 0 otherwise and leaves *chg alone. unknown ->
 * up makes the state hard but returns 0: finding a server up at start is
 * not news. unknown -> degraded and unknown -> down are reported. The end
 * of flapping with no hard change returns 1 too, old and new the hard
 * state it settled in: else a server that flapped and stayed in the state
 * of its last change was never said to have stopped (its last event says
 * flapping), and one that settled down was never paged as down.
 */
/* The problem acknowledged is over: forget the ack and its comment. */
static void
ack_clear(struct state *st)
{
	st->acked = 0;
	state_set_text(&st->ack_comment, NULL, 0);
}

/* Flapping stopped with no hard change (and a hard state to settle in):
 * 1 with *chg saying the hard state, old and new alike; else 0. */
static int
flap_ended(struct state *st, int was_flapping, int64_t now,
    struct state_change *chg)
{
	if (!was_flapping || st->flapping || st->hard == HSTATE_UNKNOWN)
		return 0;
	if (chg != NULL) {
		memset(chg, 0, sizeof(*chg));
		chg->old_state = chg->new_state = st->hard;
		chg->in_downtime = state_in_downtime(st, now);
		chg->acked = st->acked;
	}
	return 1;
}

int
state_update(struct state *st, const struct server_conf *sc,
    const struct check_result *r, unsigned flap_low, unsigned flap_high,
    int64_t now, struct state_change *chg)
{
	enum hstate	 o, old;
	int		 was_flapping = st->flapping;

	o = state_observe(sc, r);

	state_downtime_expire(st, now);
	st->last_check = now;
	st->last_latency_us = r->total_us;
	st->last_parts_us[0] = r->dns_us;
	st->last_parts_us[1] = r->connect_us;
	st->last_parts_us[2] = r->tls_us;
	st->last_parts_us[3] = r->firstbyte_us;
	if (r->cert_not_after != 0)
		st->cert_not_after = r->cert_not_after;
	st->last_status = r->status;
	state_set_text(&st->message, r->message, STATE_MSG_MAX);
	state_set_text(&st->long_output, r->long_output, STATE_LONG_MAX);
	st->checks++;
	if (r->status != CHECK_OK)
		st->failures++;

	hist_push(st, o);
	st->flap_pct = flap_percent(st->hist, st->nhist);
	if (!st->flapping && st->flap_pct > flap_high)
		st->flapping = 1;
	else if (st->flapping && st->flap_pct < flap_low)
		st->flapping = 0;

	if (o == st->hard) {
		st->state = o;
		st->type = STATE_HARD;
		st->candidate = o;
		st->count = 0;
		if (o == HSTATE_UP)
			ack_clear(st);	/* a soft failure's ack: it is over */
		return flap_ended(st, was_flapping, now, chg);
	}

	if (st->count > 0 && worse(st, st->candidate) == worse(st, o)) {
		if (st->count < UINT_MAX)
			st->count++;
	} else
		st->count = 1;
	st->candidate = o;
	st->state = o;
	if (st->count < threshold(sc, st->hard, o)) {
		st->type = STATE_SOFT;
		return flap_ended(st, was_flapping, now, chg);
	}

	old = st->hard;
	st->hard = o;
	st->type = STATE_HARD;
	st->since = now;
	st->count = 0;
	if (o == HSTATE_UP)
		ack_clear(st);
	if (old == HSTATE_UNKNOWN && o == HSTATE_UP)
		return 0;
	if (chg != NULL) {
		memset(chg, 0, sizeof(*chg));
		chg->old_state = old;
		chg->new_state = o;
		chg->flapping = st->flapping;
		chg->in_downtime = state_in_downtime(st, now);
		chg->acked = st->acked;
	}
	return 1;
}

/*
 * Make h the hard state since `since` (Unix s), as a hard change does,
 * without a result: for a start that finds a newer event in the spool
 * than in the state file. The flap history and counters stay.
 */
void
state_set_hard(struct state *st, enum hstate h, int64_t since)
{
	st->hard = h;
	st->state = h;
	st->candidate = h;
	st->type = STATE_HARD;
	st->count = 0;
	st->since = since;
	if (h == HSTATE_UP)
		ack_clear(st);
}

/* 1 while a downtime set for the server runs at now (Unix seconds). */
int
state_in_downtime(const struct state *st, int64_t now)
{
	return state_downtime_current(st, now) != NULL;
}

const char *
hstate_str(enum hstate s)
{
	switch (s) {
	case HSTATE_UP:
		return "up";
	case HSTATE_DEGRADED:
		return "degraded";
	case HSTATE_DOWN:
		return "down";
	case HSTATE_UNKNOWN:
	case HSTATE_UNKNOWN_STATUS:
		break;
	}
	return "unknown";
}

/*
 * Inverse of hstate_str. Returns 0, or -1 (and leaves *s) for other text.
 * "unknown" reads as HSTATE_UNKNOWN; the state file's reader tells the
 * two unknowns apart.
 */
int
hstate_parse(const char *text, enum hstate *s)
{
	int	 i;

	if (text == NULL)
		return -1;
	for (i = HSTATE_UNKNOWN; i <= HSTATE_DOWN; i++) {
		if (strcmp(text, hstate_str(i)) == 0) {
			*s = i;
			return 0;
		}
	}
	return -1;
}

const char *
state_type_str(enum state_type t)
{
	return t == STATE_SOFT ? "soft" : "hard";
}

/* Inverse of check_status_str. Returns 0 or -1. */
static int
status_parse(const char *text, enum check_status *s)
{
	static const enum check_status all[] = {
		CHECK_OK, CHECK_WARNING, CHECK_CRITICAL, CHECK_UNKNOWN
	};
	size_t	 i;

	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if (strcmp(text, check_status_str(all[i])) == 0) {
			*s = all[i];
			return 0;
		}
	}
	return -1;
}


/*
 * The whole state as a JSON object, one key per field of struct state
 * (hist as an array of state names, oldest first; nhist is its length), so
 * a restart keeps states, counters and flap history. The caller owns the
 * result (json_decref). NULL when out of memory.
 */
json_t *
state_to_json(const struct state *st)
{
	json_t		*obj, *hist;
	unsigned	 i, n;

	if ((obj = json_object()) == NULL)
		return NULL;
	if ((hist = json_array()) == NULL)
		goto fail;
	if (jsontext_set(obj, "hist", hist) == -1)
		goto fail;
	n = st->nhist > FLAP_WINDOW ? FLAP_WINDOW : st->nhist;
	for (i = 0; i < n; i++)
		if (json_array_append_new(hist,
		    json_string(hstate_str(st->hist[i]))) == -1)
			goto fail;
	if (jsontext_set(obj, "state", json_string(hstate_str(st->state))) == -1 ||
	    jsontext_set(obj, "type", json_string(state_type_str(st->type))) == -1 ||
	    jsontext_set(obj, "hard", json_string(hstate_str(st->hard))) == -1 ||
	    jsontext_set(obj, "candidate",
	    json_string(hstate_str(st->candidate))) == -1 ||
	    jsontext_set(obj, "count", json_integer(st->count)) == -1 ||
	    jsontext_set(obj, "since", json_integer(st->since)) == -1 ||
	    jsontext_set(obj, "last_check", json_integer(st->last_check)) == -1 ||
	    jsontext_set(obj, "last_latency_us",
	    json_integer(st->last_latency_us)) == -1 ||
	    jsontext_set(obj, "last_status",
	    json_string(check_status_str(st->last_status))) == -1 ||
	    jsontext_set(obj, "message", jsontext(st->message)) == -1 ||
	    (st->long_output != NULL && jsontext_set(obj, "long_output",
	    jsontext(st->long_output)) == -1) ||
	    jsontext_set(obj, "flap_pct", json_real(st->flap_pct)) == -1 ||
	    jsontext_set(obj, "flapping", json_boolean(st->flapping)) == -1 ||
	    jsontext_set(obj, "acked", json_boolean(st->acked)) == -1 ||
	    jsontext_set(obj, "ack_comment", jsontext(st->ack_comment)) == -1 ||
	    jsontext_set(obj, "downtimes", state_downtimes_to_json(st)) == -1 ||
	    jsontext_set(obj, "drained", json_boolean(st->drained)) == -1 ||
	    jsontext_set(obj, "checks", jsontext_u64(st->checks)) == -1 ||
	    jsontext_set(obj, "failures", jsontext_u64(st->failures)) == -1)
		goto fail;
	return obj;
fail:
	json_decref(obj);
	return NULL;
}

/*
 * Field readers for state_from_json. Each returns 1 and sets *v when the
 * key is there with the right type, 0 when the key is absent (or null),
 * -1 when it holds another type. get_bool also takes an integer (0 or
 * not), as a person editing the file may write.
 */
static int
get_string(json_t *obj, const char *key, const char **v)
{
	json_t	*j;

	if ((j = json_object_get(obj, key)) == NULL || json_is_null(j))
		return 0;
	if (!json_is_string(j))
		return -1;
	*v = json_string_value(j);
	return 1;
}

static int
get_int(json_t *obj, const char *key, json_int_t *v)
{
	json_t	*j;

	if ((j = json_object_get(obj, key)) == NULL || json_is_null(j))
		return 0;
	if (!json_is_integer(j))
		return -1;
	*v = json_integer_value(j);
	return 1;
}

static int
get_bool(json_t *obj, const char *key, int *v)
{
	json_t	*j;

	if ((j = json_object_get(obj, key)) == NULL || json_is_null(j))
		return 0;
	if (json_is_boolean(j))
		*v = json_is_true(j);
	else if (json_is_integer(j))
		*v = json_integer_value(j) != 0;
	else
		return -1;
	return 1;
}

/* A state name; a name this version does not know reads as unknown. */
static int
get_hstate(json_t *obj, const char *key, enum hstate *v)
{
	const char	*s;
	int		 rc;

	if ((rc = get_string(obj, key, &s)) != 1)
		return rc;
	if (hstate_parse(s, v) == -1)
		*v = HSTATE_UNKNOWN;
	return 1;
}

static json_int_t
clamp(json_int_t v, json_int_t lo, json_int_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/*
 * Tell the two unknowns apart in a state read back (both are written
 * "unknown"): a hard unknown that began at some time (since) was a
 * check's; observed states (a soft state, a candidate of a run; the flap
 * history is read so as it is parsed) are never "not checked yet".
 */
static void
unknowns(struct state *s)
{
	if (s->hard == HSTATE_UNKNOWN && s->since > 0)
		s->hard = HSTATE_UNKNOWN_STATUS;
	if (s->state == HSTATE_UNKNOWN && (s->type == STATE_SOFT ||
	    s->hard != HSTATE_UNKNOWN))
		s->state = HSTATE_UNKNOWN_STATUS;
	if (s->candidate == HSTATE_UNKNOWN && s->hard != HSTATE_UNKNOWN)
		s->candidate = HSTATE_UNKNOWN_STATUS;
}

/*
 * Read back what state_to_json wrote. The file may be old, hand-edited or
 * corrupt, so nothing in it is trusted:
 *
 * - Returns -1, leaving *st untouched, when obj is NULL or not an object,
 *   when "hard" is missing, or when any known key holds the wrong JSON
 *   type: such a file is not ours, and starting from unknown is safer
 *   than guessing. Unknown keys are ignored; other missing keys keep
 *   state_init's values.
 * - Values are clamped: unknown state or status names read as unknown,
 *   counters and times cannot go negative, strings are cut to their
 *   buffers, hist keeps its newest FLAP_WINDOW entries.
 * - What follows from other fields is made consistent: flap_pct is
 *   recomputed from hist, a hard state has state == hard and no candidate
 *   run, a soft state differs from hard and is its own candidate; the
 *   two unknowns are told apart (unknowns()).
 *
 * Returns 0 with *st filled. obj stays the caller's.
 */
int
state_from_json(struct state *st, json_t *obj)
{
	struct state	 s;
	json_t		*hist, *e;
	const char	*str, *msg = NULL, *lng = NULL, *ackc = NULL, *dtc = NULL;
	struct downtime	 old;
	enum hstate	 hs;
	json_int_t	 v;
	size_t		 n, i, first;
	int		 rc;

	if (obj == NULL || !json_is_object(obj))
		return -1;
	state_init(&s);

	if (get_hstate(obj, "hard", &s.hard) != 1)
		return -1;
	s.state = s.hard;
	s.candidate = s.hard;
	if (get_hstate(obj, "state", &s.state) == -1 ||
	    get_hstate(obj, "candidate", &s.candidate) == -1)
		return -1;

	if ((rc = get_string(obj, "type", &str)) == -1)
		return -1;
	s.type = rc == 1 && strcmp(str, "soft") == 0 ? STATE_SOFT : STATE_HARD;

	if ((rc = get_int(obj, "count", &v)) == -1)
		return -1;
	if (rc == 1)
		s.count = (unsigned)clamp(v, 0, UINT_MAX);
	if ((rc = get_int(obj, "since", &v)) == -1)
		return -1;
	if (rc == 1)
		s.since = clamp(v, 0, INT64_MAX);
	if ((rc = get_int(obj, "last_check", &v)) == -1)
		return -1;
	if (rc == 1)
		s.last_check = clamp(v, 0, INT64_MAX);
	if ((rc = get_int(obj, "last_latency_us", &v)) == -1)
		return -1;
	if (rc == 1)
		s.last_latency_us = clamp(v, -1, INT64_MAX);
	/* Before scheduled downtimes: one running, no number. */
	memset(&old, 0, sizeof(old));
	if ((rc = get_int(obj, "downtime_until", &v)) == -1)
		return -1;
	if (rc == 1)
		old.until = clamp(v, 0, INT64_MAX);
	if ((rc = get_int(obj, "checks", &v)) == -1)
		return -1;
	if (rc == 1)
		s.checks = (uint64_t)clamp(v, 0, JINT_MAX);
	if ((rc = get_int(obj, "failures", &v)) == -1)
		return -1;
	if (rc == 1)
		s.failures = (uint64_t)clamp(v, 0, JINT_MAX);
	if (s.failures > s.checks)
		s.failures = s.checks;

	if ((rc = get_string(obj, "last_status", &str)) == -1)
		return -1;
	if (rc == 1 && status_parse(str, &s.last_status) == -1)
		s.last_status = CHECK_UNKNOWN;
	if ((rc = get_string(obj, "message", &str)) == -1)
		return -1;
	if (rc == 1)
		msg = str;
	if ((rc = get_string(obj, "long_output", &str)) == -1)
		return -1;
	if (rc == 1)
		lng = str;
	if ((rc = get_string(obj, "ack_comment", &str)) == -1)
		return -1;
	if (rc == 1)
		ackc = str;
	if ((rc = get_string(obj, "downtime_comment", &str)) == -1)
		return -1;
	if (rc == 1)
		dtc = str;

	if (get_bool(obj, "flapping", &s.flapping) == -1 ||
	    get_bool(obj, "acked", &s.acked) == -1 ||
	    get_bool(obj, "drained", &s.drained) == -1)
		return -1;
	/* flap_pct is recomputed below, but a wrong type is still wrong. */
	if ((e = json_object_get(obj, "flap_pct")) != NULL &&
	    !json_is_null(e) && !json_is_number(e))
		return -1;

	if ((hist = json_object_get(obj, "hist")) != NULL &&
	    !json_is_null(hist)) {
		if (!json_is_array(hist))
			return -1;
		n = json_array_size(hist);
		first = n > FLAP_WINDOW ? n - FLAP_WINDOW : 0;
		for (i = first; i < n; i++) {
			e = json_array_get(hist, i);
			if (!json_is_string(e))
				return -1;
			if (hstate_parse(json_string_value(e), &hs) == -1)
				hs = HSTATE_UNKNOWN;
			else if (hs == HSTATE_UNKNOWN)
				hs = HSTATE_UNKNOWN_STATUS;	/* observed */
			s.hist[s.nhist++] = (unsigned char)hs;
		}
	}
	s.flap_pct = flap_percent(s.hist, s.nhist);
	unknowns(&s);

	if (s.type == STATE_HARD || s.state == s.hard) {
		s.type = STATE_HARD;
		s.state = s.hard;
		s.candidate = s.hard;
		s.count = 0;
	} else {
		s.candidate = s.state;
		if (s.count < 1)
			s.count = 1;
	}
	if (state_downtimes_from_json(&s, json_object_get(obj,
	    "downtimes")) == -1)
		return -1;
	if (s.ndowntimes == 0 && old.until > 0) {
		old.uid = -1;
		old.comment = (char *)dtc;
		(void)state_downtime_add(&s, &old);
	}
	state_free(st);
	*st = s;
	state_set_text(&st->message, msg, STATE_MSG_MAX);
	state_set_text(&st->long_output, lng, STATE_LONG_MAX);
	state_set_text(&st->ack_comment, ackc, STATE_COMMENT_MAX);
	return 0;
}

/*
 * The server's downtimes as a JSON array of {"id","from","until","uid",
 * "farm","comment"} (absent things null), by start time. NULL when out
 * of memory. Ended ones are listed until state_downtime_expire drops
 * them.
 */
json_t *
state_downtimes_to_json(const struct state *st)
{
	json_t		*arr;
	unsigned	 i;

	if ((arr = json_array()) == NULL)
		return NULL;
	for (i = 0; i < st->ndowntimes; i++)
		if (json_array_append_new(arr,
		    state_downtime_json(&st->downtimes[i])) == -1) {
			json_decref(arr);
			return NULL;
		}
	return arr;
}

/* One downtime as {"id","from","until","uid","farm","comment"}, absent
 * things null; NULL when out of memory. */
json_t *
state_downtime_json(const struct downtime *d)
{
	json_t	*o;

	if ((o = json_object()) == NULL)
		return NULL;
	if (jsontext_set(o, "id", json_integer(d->id)) == -1 ||
	    jsontext_set(o, "from", json_integer(d->from)) == -1 ||
	    jsontext_set(o, "until", json_integer(d->until)) == -1 ||
	    jsontext_set(o, "uid", d->uid >= 0 ? json_integer(d->uid) :
	    json_null()) == -1 ||
	    jsontext_set(o, "farm", d->scope != NULL ? jsontext(d->scope) :
	    json_null()) == -1 ||
	    jsontext_set(o, "comment", d->comment != NULL ?
	    jsontext(d->comment) : json_null()) == -1) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/*
 * Read back what state_downtimes_to_json wrote into st (whose list is
 * empty). arr may be NULL or null (no downtimes). Returns -1, with st's
 * list freed, when arr or an entry has the wrong types or an entry has
 * no time span; entries past STATE_DOWNTIMES_MAX are dropped.
 */
int
state_downtimes_from_json(struct state *st, json_t *arr)
{
	struct downtime	 d;
	size_t		 i;

	if (arr == NULL || json_is_null(arr))
		return 0;
	if (!json_is_array(arr))
		return -1;
	for (i = 0; i < json_array_size(arr); i++) {
		if (downtime_from_json(&d, json_array_get(arr, i)) == -1) {
			while (st->ndowntimes > 0)
				downtime_free(&st->downtimes[--st->ndowntimes]);
			free(st->downtimes);
			st->downtimes = NULL;
			return -1;
		}
		(void)state_downtime_add(st, &d);
	}
	return 0;
}

/* One entry of the array, pointing into obj's strings; 0 or -1. */
static int
downtime_from_json(struct downtime *d, json_t *obj)
{
	json_int_t	 v = 0;
	const char	*str = NULL;

	memset(d, 0, sizeof(*d));
	d->uid = -1;
	if (!json_is_object(obj) || get_int(obj, "from", &v) != 1)
		return -1;
	d->from = clamp(v, 0, INT64_MAX);
	if (get_int(obj, "until", &v) != 1 || v <= d->from)
		return -1;
	d->until = v;
	if (get_int(obj, "id", &v) == -1)
		return -1;
	d->id = (unsigned)clamp(v, 0, UINT_MAX);
	if (get_int(obj, "uid", &v) == -1)
		return -1;
	else if (json_is_integer(json_object_get(obj, "uid")))
		d->uid = (long)clamp(v, -1, LONG_MAX);
	if (get_string(obj, "farm", &str) == -1)
		return -1;
	else if (json_is_string(json_object_get(obj, "farm")))
		d->scope = (char *)str;
	if (get_string(obj, "comment", &str) == -1)
		return -1;
	else if (json_is_string(json_object_get(obj, "comment")))
		d->comment = (char *)str;
	return 0;
}

static void
downtime_free(struct downtime *d)
{
	free(d->scope);
	free(d->comment);
	memset(d, 0, sizeof(*d));
}

/*
 * A person is on the problem: ack with comment (may be NULL or ""). The
 * state machine clears it when the server is back up, so acknowledging a
 * server that is up would only hide its next problem: returns -1 then,
 * 0 when acknowledged.
 */
int
state_ack(struct state *st, const char *comment)
{
	if (st->state == HSTATE_UP && st->hard == HSTATE_UP)
		return -1;
	st->acked = 1;
	state_set_text(&st->ack_comment, comment, STATE_COMMENT_MAX);
	return 0;
}

/* The balancer sends the server no new traffic. */
void
state_drain(struct state *st)
{
	st->drained = 1;
}

/* Undo state_drain. */
void
state_enable(struct state *st)
{
	st->drained = 0;
}

/*
 * Add a copy of d (its texts are copied, comment cut to
 * STATE_COMMENT_MAX) to the server's downtimes, kept by start time; the
 * downtimes already there stay as they are. Returns 0, or -1 when d has
 * no time span or the server has STATE_DOWNTIMES_MAX already.
 */
int
state_downtime_add(struct state *st, const struct downtime *d)
{
	struct downtime	*n;
	unsigned	 i;

	if (d->until <= d->from || st->ndowntimes >= STATE_DOWNTIMES_MAX)
		return -1;
	st->downtimes = xreallocarray(st->downtimes, st->ndowntimes + 1,
	    sizeof(*st->downtimes));
	for (i = st->ndowntimes; i > 0 &&
	    st->downtimes[i - 1].from > d->from; i--)
		st->downtimes[i] = st->downtimes[i - 1];
	n = &st->downtimes[i];
	*n = *d;
	n->scope = d->scope != NULL ? xstrdup(d->scope) : NULL;
	n->comment = NULL;
	state_set_text(&n->comment, d->comment, STATE_COMMENT_MAX);
	st->ndowntimes++;
	return 0;
}

/* Remove the downtimes numbered id; returns how many went (0 or 1). */
unsigned
state_downtime_cancel(struct state *st, unsigned id)
{
	unsigned	 i, k, n = 0;

	for (i = k = 0; i < st->ndowntimes; i++) {
		if (st->downtimes[i].id == id) {
			downtime_free(&st->downtimes[i]);
			n++;
		} else
			st->downtimes[k++] = st->downtimes[i];
	}
	st->ndowntimes = k;
	return n;
}

/* Drop the downtimes that ended by now (Unix s). */
void
state_downtime_expire(struct state *st, int64_t now)
{
	unsigned	 i, k;

	for (i = k = 0; i < st->ndowntimes; i++) {
		if (st->downtimes[i].until <= now)
			downtime_free(&st->downtimes[i]);
		else
			st->downtimes[k++] = st->downtimes[i];
	}
	st->ndowntimes = k;
}

/*
 * The downtime running at now (Unix s): of those that do, the one that
 * ends last, so its end is when pages resume. NULL when none runs.
 */
const struct downtime *
state_downtime_current(const struct state *st, int64_t now)
{
	const struct downtime	*d, *best = NULL;
	unsigned		 i;

	for (i = 0; i < st->ndowntimes; i++) {
		d = &st->downtimes[i];
		if (d->from <= now && now < d->until &&
		    (best == NULL || d->until > best->until))
			best = d;
	}
	return best;
}

/* The highest downtime number the server holds; 0 when none. */
unsigned
state_downtime_max_id(const struct state *st)
{
	unsigned	 i, max = 0;

	for (i = 0; i < st->ndowntimes; i++)
		if (st->downtimes[i].id > max)
			max = st->downtimes[i].id;
	return max;
}
