/*
 * test_state.c: the state machine (probed/state.c): soft and hard states,
 * retries, rise, warn, flapping, ack, downtime, and its JSON persistence.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <jansson.h>

#include "conf.h"
#include "result.h"
#include "state.h"

#include "ckrun.h"

#define T0		1700000000	/* Unix s: the tests' clock */
#define FLAP_LOW	20
#define FLAP_HIGH	30
#define PCT_TOL		1e-9

static struct server_conf *mkconf(unsigned long, unsigned long, uint64_t);
static int	feed(struct state *, const struct server_conf *,
		    enum check_status, int64_t, int64_t,
		    struct state_change *);
static int	res_ok(struct state *, const struct server_conf *, int64_t,
		    struct state_change *);
static int	res_fail(struct state *, const struct server_conf *, int64_t,
		    struct state_change *);
static void	start_up(struct state *, const struct server_conf *);
static double	full_window_pct(unsigned, unsigned);
static void	assert_sane(const struct state *);
static Suite	*state_suite(void);

static struct server_conf conf;

/* A zeroed server_conf with the options the state machine reads. */
static struct server_conf *
mkconf(unsigned long retries, unsigned long rise, uint64_t warn_ms)
{
	memset(&conf, 0, sizeof(conf));
	conf.id = "web/www1";
	conf.name = "www1";
	conf.o.retries = retries;
	conf.o.rise = rise;
	conf.o.warn = warn_ms;
	return &conf;
}

/* One result with this status and total latency, at time now. */
static int
feed(struct state *st, const struct server_conf *sc, enum check_status s,
    int64_t total_us, int64_t now, struct state_change *chg)
{
	struct check_result	 r;

	result_init(&r, now * 1000000);
	r.total_us = total_us;
	result_set(&r, s, "%s after %lld us", check_status_str(s),
	    (long long)total_us);
	return state_update(st, sc, &r, FLAP_LOW, FLAP_HIGH, now, chg);
}

static int
res_ok(struct state *st, const struct server_conf *sc, int64_t now,
    struct state_change *chg)
{
	return feed(st, sc, CHECK_OK, 1000, now, chg);
}

static int
res_fail(struct state *st, const struct server_conf *sc, int64_t now,
    struct state_change *chg)
{
	return feed(st, sc, CHECK_CRITICAL, 10000000, now, chg);
}

/* A new state fed one ok result at T0: hard up, no event. */
static void
start_up(struct state *st, const struct server_conf *sc)
{
	state_init(st);
	ck_assert_int_eq(res_ok(st, sc, T0, NULL), 0);
}

/*
 * Nagios' percent for a full window where `changed` consecutive pairs
 * differ, starting at window position `from` (0 = oldest pair), computed
 * here on its own: weights 0.8 to 1.2 over 20 pairs.
 */
static double
full_window_pct(unsigned from, unsigned changed)
{
	double		 sum = 0;
	unsigned	 k;

	for (k = from; k < from + changed; k++)
		sum += 0.8 + 0.4 * k / 19.0;
	return sum / 20.0 * 100.0;
}

/* What any state read back must satisfy, however bad the file was. */
static void
assert_sane(const struct state *st)
{
	unsigned	 i;

	ck_assert_int_ge(st->state, HSTATE_UNKNOWN);
	ck_assert_int_le(st->state, HSTATE_UNKNOWN_STATUS);
	ck_assert_int_ge(st->hard, HSTATE_UNKNOWN);
	ck_assert_int_le(st->hard, HSTATE_UNKNOWN_STATUS);
	ck_assert_int_ge(st->candidate, HSTATE_UNKNOWN);
	ck_assert_int_le(st->candidate, HSTATE_UNKNOWN_STATUS);
	ck_assert(st->type == STATE_SOFT || st->type == STATE_HARD);
	ck_assert_uint_le(st->nhist, FLAP_WINDOW);
	for (i = 0; i < st->nhist; i++)
		ck_assert_uint_le(st->hist[i], HSTATE_UNKNOWN_STATUS);
	ck_assert(st->flap_pct >= 0 && st->flap_pct <= 100.0 + PCT_TOL);
	ck_assert(st->message == NULL ||
	    strlen(st->message) < STATE_MSG_MAX);
	ck_assert(st->ack_comment == NULL ||
	    strlen(st->ack_comment) < STATE_COMMENT_MAX);
	ck_assert_uint_le(st->ndowntimes, STATE_DOWNTIMES_MAX);
	for (i = 0; i < st->ndowntimes; i++) {
		ck_assert(st->downtimes[i].comment == NULL ||
		    strlen(st->downtimes[i].comment) < STATE_COMMENT_MAX);
		ck_assert(st->downtimes[i].until > st->downtimes[i].from);
	}
	ck_assert_uint_le(st->failures, st->checks);
}

START_TEST(first_ok_is_hard_up_without_event)
{
	struct state		 st;
	struct state_change	 chg;
	struct server_conf	*sc = mkconf(3, 2, 0);

	state_init(&st);
	ck_assert_int_eq(st.hard, HSTATE_UNKNOWN);
	ck_assert_int_eq(st.last_check, 0);
	ck_assert_int_eq(st.last_latency_us, -1);

	memset(&chg, 0xa5, sizeof(chg));
	ck_assert_int_eq(res_ok(&st, sc, T0, &chg), 0);
	ck_assert_int_eq(st.state, HSTATE_UP);
	ck_assert_int_eq(st.hard, HSTATE_UP);
	ck_assert_int_eq(st.type, STATE_HARD);
	ck_assert_int_eq(st.since, T0);
	ck_assert_int_eq(st.last_check, T0);
	ck_assert_int_eq(st.last_latency_us, 1000);
	ck_assert_int_eq(st.last_status, CHECK_OK);
	ck_assert_str_eq(st.message, "ok after 1000 us");
	ck_assert_uint_eq(st.checks, 1);
	ck_assert_uint_eq(st.failures, 0);
	ck_assert_uint_eq(st.nhist, 1);

	/* More of the same is no news either; since stays. */
	ck_assert_int_eq(res_ok(&st, sc, T0 + 60, &chg), 0);
	ck_assert_int_eq(st.since, T0);
	ck_assert_uint_eq(st.checks, 2);
	state_free(&st);
}
END_TEST

START_TEST(failure_is_soft_until_retries_then_hard_down_with_event)
{
	struct state		 st;
	struct state_change	 chg;
	struct server_conf	*sc = mkconf(3, 1, 0);

	state_init(&st);
	ck_assert_int_eq(res_ok(&st, sc, T0, &chg), 0);

	ck_assert_int_eq(res_fail(&st, sc, T0 + 10, &chg), 0);
	ck_assert_int_eq(st.state, HSTATE_DOWN);
	ck_assert_int_eq(st.type, STATE_SOFT);
	ck_assert_int_eq(st.hard, HSTATE_UP);
	ck_assert_uint_eq(st.count, 1);
	ck_assert_int_eq(res_fail(&st, sc, T0 + 20, &chg), 0);
	ck_assert_int_eq(st.type, STATE_SOFT);
	ck_assert_uint_eq(st.count, 2);

	memset(&chg, 0, sizeof(chg));
	ck_assert_int_eq(res_fail(&st, sc, T0 + 30, &chg), 1);
	ck_assert_int_eq(chg.old_state, HSTATE_UP);
	ck_assert_int_eq(chg.new_state, HSTATE_DOWN);
	ck_assert_int_eq(chg.flapping, 0);
	ck_assert_int_eq(chg.in_downtime, 0);
	ck_assert_int_eq(chg.acked, 0);
	ck_assert_int_eq(st.state, HSTATE_DOWN);
	ck_assert_int_eq(st.hard, HSTATE_DOWN);
	ck_assert_int_eq(st.type, STATE_HARD);
	ck_assert_int_eq(st.since, T0 + 30);
	ck_assert_uint_eq(st.checks, 4);
	ck_assert_uint_eq(st.failures, 3);
	ck_assert_int_eq(st.last_status, CHECK_CRITICAL);

	/* Staying down is not another event. */
	ck_assert_int_eq(res_fail(&st, sc, T0 + 40, &chg), 0);
	ck_assert_int_eq(st.since, T0 + 30);

	/* From unknown (start), down also waits for its retries... */
	state_free(&st);
	ck_assert_int_eq(res_fail(&st, sc, T0, &chg), 0);
	ck_assert_int_eq(st.type, STATE_SOFT);
	ck_assert_int_eq(st.hard, HSTATE_UNKNOWN);
	ck_assert_int_eq(res_fail(&st, sc, T0 + 10, &chg), 0);
	/* ...and is reported. */
	ck_assert_int_eq(res_fail(&st, sc, T0 + 20, &chg), 1);
	ck_assert_int_eq(chg.old_state, HSTATE_UNKNOWN);
	ck_assert_int_eq(chg.new_state, HSTATE_DOWN);

	/* retries 0 means 1: the first failure is hard. */
	sc = mkconf(0, 0, 0);
	state_free(&st);
	ck_assert_int_eq(res_ok(&st, sc, T0, &chg), 0);
	ck_assert_int_eq(res_fail(&st, sc, T0 + 10, NULL), 1);
	ck_assert_int_eq(st.hard, HSTATE_DOWN);
	ck_assert_int_eq(res_ok(&st, sc, T0 + 20, NULL), 1);
	ck_assert_int_eq(st.hard, HSTATE_UP);
	state_free(&st);
}
END_TEST

START_TEST(retries_reset_by_success)
{
	struct state		 st;
	struct state_change	 chg;
	struct server_conf	*sc = mkconf(3, 1, 0);

	start_up(&st, sc);
	ck_assert_int_eq(res_fail(&st, sc, T0 + 1, &chg), 0);
	ck_assert_int_eq(res_fail(&st, sc, T0 + 2, &chg), 0);
	ck_assert_int_eq(res_ok(&st, sc, T0 + 3, &chg), 0);
	ck_assert_int_eq(st.state, HSTATE_UP);
	ck_assert_int_eq(st.type, STATE_HARD);
	ck_assert_uint_eq(st.count, 0);

	ck_assert_int_eq(res_fail(&st, sc, T0 + 4, &chg), 0);
	ck_assert_int_eq(res_fail(&st, sc, T0 + 5, &chg), 0);
	ck_assert_int_eq(st.type, STATE_SOFT);
	ck_assert_uint_eq(st.count, 2);
	ck_assert_int_eq(res_fail(&st, sc, T0 + 6, &chg), 1);
	ck_assert_int_eq(st.since, T0 + 6);
	state_free(&st);
}
END_TEST

/*
 * Any problem counts towards retries, whatever its kind (as Nagios counts
 * any non-OK result as an attempt), and the hard state is then the latest
 * result's: a plugin alternating critical and unknown, or warning and
 * critical, goes hard (and makes its event) after retries results.
 */
START_TEST(mixed_problems_count_together_latest_is_hard)
{
	static const struct {
		enum check_status	 s[3];
		enum hstate		 hard;
	} runs[] = {
		{ { CHECK_CRITICAL, CHECK_UNKNOWN, CHECK_CRITICAL },
		    HSTATE_DOWN },
		{ { CHECK_UNKNOWN, CHECK_CRITICAL, CHECK_UNKNOWN },
		    HSTATE_UNKNOWN_STATUS },
		{ { CHECK_WARNING, CHECK_CRITICAL, CHECK_WARNING },
		    HSTATE_DEGRADED },
		{ { CHECK_CRITICAL, CHECK_CRITICAL, CHECK_WARNING },
		    HSTATE_DEGRADED },
	};
	struct state		 st;
	struct state_change	 chg;
	struct server_conf	*sc = mkconf(3, 1, 0);
	size_t			 i;

	for (i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
		state_init(&st);
		ck_assert_int_eq(res_ok(&st, sc, T0, &chg), 0);
		ck_assert_int_eq(feed(&st, sc, runs[i].s[0], 1000, T0 + 1,
		    &chg), 0);
		ck_assert_int_eq(feed(&st, sc, runs[i].s[1], 1000, T0 + 2,
		    &chg), 0);
		ck_assert_int_eq(st.type, STATE_SOFT);
		ck_assert_uint_eq(st.count, 2);
		ck_assert_int_eq(st.candidate, state_observe(sc,
		    &(struct check_result){ .status = runs[i].s[1] }));
		ck_assert_int_eq(st.hard, HSTATE_UP);
		memset(&chg, 0, sizeof(chg));
		ck_assert_int_eq(feed(&st, sc, runs[i].s[2], 1000, T0 + 3,
		    &chg), 1);
		ck_assert_int_eq(chg.old_state, HSTATE_UP);
		ck_assert_int_eq(chg.new_state, runs[i].hard);
		ck_assert_int_eq(st.hard, runs[i].hard);
		ck_assert_int_eq(st.type, STATE_HARD);
		ck_assert_int_eq(st.since, T0 + 3);
		state_free(&st);
	}

	/*
	 * Alternating critical and unknown for 12 results (the reviewer's
	 * plugin): hard down at the 3rd; the 4th, unknown, is better than
	 * down, so rise (1) makes it hard unknown; then a critical needs 3
	 * in a row again, and each unknown ends its run: it stays there.
	 */
	state_free(&st);
	res_ok(&st, sc, T0, NULL);
	for (i = 1; i <= 12; i++)
		ck_assert_int_eq(feed(&st, sc, i % 2 ? CHECK_CRITICAL :
		    CHECK_UNKNOWN, 1000, T0 + (int64_t)i, NULL),
		    i == 3 || i == 4);
	ck_assert_int_eq(st.hard, HSTATE_UNKNOWN_STATUS);
	ck_assert_int_eq(st.since, T0 + 4);
	state_free(&st);
}
END_TEST

/*
 * Results better than the hard state count towards rise whatever their
 * kind: a down server answering ok, warning, ok is up again after rise 3
 * (the latest result's state); a result on the other side of the hard
 * state restarts the run.
 */
START_TEST(mixed_successes_count_towards_rise)
{
	struct state		 st;
	struct state_change	 chg;
	struct server_conf	*sc = mkconf(1, 3, 0);

	start_up(&st, sc);
	ck_assert_int_eq(res_fail(&st, sc, T0 + 1, NULL), 1);
	ck_assert_int_eq(res_ok(&st, sc, T0 + 2, &chg), 0);
	ck_assert_int_eq(feed(&st, sc, CHECK_WARNING, 1000, T0 + 3, &chg), 0);
	ck_assert_int_eq(st.type, STATE_SOFT);
	ck_assert_uint_eq(st.count, 2);
	ck_assert_int_eq(res_ok(&st, sc, T0 + 4, &chg), 1);
	ck_assert_int_eq(chg.old_state, HSTATE_DOWN);
	ck_assert_int_eq(chg.new_state, HSTATE_UP);
	ck_assert_int_eq(st.hard, HSTATE_UP);

	/* ok, warning, warning from down: degraded, the latest. */
	ck_assert_int_eq(res_fail(&st, sc, T0 + 5, NULL), 1);
	res_ok(&st, sc, T0 + 6, NULL);
	feed(&st, sc, CHECK_WARNING, 1000, T0 + 7, NULL);
	ck_assert_int_eq(feed(&st, sc, CHECK_WARNING, 1000, T0 + 8, &chg), 1);
	ck_assert_int_eq(chg.new_state, HSTATE_DEGRADED);

	/* From degraded, better and worse results each restart the other. */
	sc = mkconf(2, 2, 0);
	ck_assert_int_eq(res_ok(&st, sc, T0 + 9, NULL), 0);
	ck_assert_uint_eq(st.count, 1);
	ck_assert_int_eq(res_fail(&st, sc, T0 + 10, NULL), 0);
	ck_assert_uint_eq(st.count, 1);
	ck_assert_int_eq(res_ok(&st, sc, T0 + 11, NULL), 0);
	ck_assert_uint_eq(st.count, 1);
	ck_assert_int_eq(st.hard, HSTATE_DEGRADED);
	ck_assert_int_eq(st.type, STATE_SOFT);
	state_free(&st);
}
END_TEST

START_TEST(rise_needs_n_successes)
{
	struct state		 st;
	struct state_change	 chg;
	struct server_conf	*sc = mkconf(1, 3, 0);

	start_up(&st, sc);
	ck_assert_int_eq(res_fail(&st, sc, T0 + 10, &chg), 1);
	ck_assert_int_eq(st.hard, HSTATE_DOWN);

	ck_assert_int_eq(res_ok(&st, sc, T0 + 20, &chg), 0);
	ck_assert_int_eq(st.state, HSTATE_UP);
	ck_assert_int_eq(st.type, STATE_SOFT);
	ck_assert_int_eq(res_ok(&st, sc, T0 + 30, &chg), 0);
	ck_assert_int_eq(st.type, STATE_SOFT);
	ck_assert_uint_eq(st.count, 2);

	/* A failure in between starts the rise over. */
	ck_assert_int_eq(res_fail(&st, sc, T0 + 40, &chg), 0);
	ck_assert_int_eq(st.state, HSTATE_DOWN);
	ck_assert_int_eq(st.type, STATE_HARD);
	ck_assert_int_eq(res_ok(&st, sc, T0 + 50, &chg), 0);
	ck_assert_int_eq(res_ok(&st, sc, T0 + 60, &chg), 0);
	ck_assert_int_eq(res_ok(&st, sc, T0 + 70, &chg), 1);
	ck_assert_int_eq(chg.old_state, HSTATE_DOWN);
	ck_assert_int_eq(chg.new_state, HSTATE_UP);
	ck_assert_int_eq(st.hard, HSTATE_UP);
	ck_assert_int_eq(st.type, STATE_HARD);
	ck_assert_int_eq(st.since, T0 + 70);
	state_free(&st);
}
END_TEST

START_TEST(slow_answer_is_degraded_not_down)
{
	struct state		 st;
	struct state_change	 chg;
	struct check_result	 r;
	struct server_conf	*sc = mkconf(2, 1, 500);

	result_init(&r, 0);
	result_set(&r, CHECK_OK, "200 OK");
	r.total_us = 500000;
	ck_assert_int_eq(state_observe(sc, &r), HSTATE_UP);
	r.total_us = 500001;
	ck_assert_int_eq(state_observe(sc, &r), HSTATE_DEGRADED);
	r.total_us = -1;	/* not measured: not slow */
	ck_assert_int_eq(state_observe(sc, &r), HSTATE_UP);
	sc->o.warn = 0;		/* no threshold: never slow */
	r.total_us = INT64_MAX;
	ck_assert_int_eq(state_observe(sc, &r), HSTATE_UP);
	sc->o.warn = UINT64_MAX;
	ck_assert_int_eq(state_observe(sc, &r), HSTATE_UP);
	sc->o.warn = 500;

	start_up(&st, sc);
	ck_assert_int_eq(feed(&st, sc, CHECK_OK, 800000, T0 + 10, &chg), 0);
	ck_assert_int_eq(st.state, HSTATE_DEGRADED);
	ck_assert_int_eq(st.type, STATE_SOFT);
	ck_assert_uint_eq(st.failures, 0);	/* it answered ok */
	ck_assert_int_eq(feed(&st, sc, CHECK_OK, 800000, T0 + 20, &chg), 1);
	ck_assert_int_eq(chg.old_state, HSTATE_UP);
	ck_assert_int_eq(chg.new_state, HSTATE_DEGRADED);
	ck_assert_int_eq(st.hard, HSTATE_DEGRADED);
	ck_assert_int_eq(st.last_latency_us, 800000);

	/* Found slow at start: hard at once, and reported. */
	state_free(&st);
	ck_assert_int_eq(feed(&st, sc, CHECK_OK, 800000, T0, &chg), 1);
	ck_assert_int_eq(chg.old_state, HSTATE_UNKNOWN);
	ck_assert_int_eq(chg.new_state, HSTATE_DEGRADED);
	ck_assert_int_eq(st.type, STATE_HARD);
	state_free(&st);
}
END_TEST

START_TEST(warning_result_is_degraded)
{
	struct state		 st;
	struct state_change	 chg;
	struct check_result	 r;
	struct server_conf	*sc = mkconf(1, 1, 0);

	result_init(&r, 0);
	result_set(&r, CHECK_WARNING, "certificate expires in 5 days");
	r.total_us = 1000;
	ck_assert_int_eq(state_observe(sc, &r), HSTATE_DEGRADED);
	r.status = CHECK_CRITICAL;
	ck_assert_int_eq(state_observe(sc, &r), HSTATE_DOWN);
	r.status = CHECK_UNKNOWN;
	ck_assert_int_eq(state_observe(sc, &r), HSTATE_UNKNOWN_STATUS);
	r.status = CHECK_OK;
	ck_assert_int_eq(state_observe(sc, &r), HSTATE_UP);

	start_up(&st, sc);
	ck_assert_int_eq(feed(&st, sc, CHECK_WARNING, 1000, T0 + 1, &chg), 1);
	ck_assert_int_eq(chg.new_state, HSTATE_DEGRADED);
	ck_assert_uint_eq(st.failures, 1);
	/* Degraded to down is worse again: a change. */
	ck_assert_int_eq(res_fail(&st, sc, T0 + 2, &chg), 1);
	ck_assert_int_eq(chg.old_state, HSTATE_DEGRADED);
	ck_assert_int_eq(chg.new_state, HSTATE_DOWN);
	state_free(&st);
}
END_TEST

START_TEST(first_change_after_start_is_not_flapping)
{
	struct state		 st;
	struct server_conf	*sc = mkconf(1, 1, 0);

	start_up(&st, sc);
	ck_assert_double_eq_tol(st.flap_pct, 0, PCT_TOL);
	res_fail(&st, sc, T0 + 1, NULL);
	/* One change, in the newest pair (weight 1.2), out of 20 pairs. */
	ck_assert_double_eq_tol(st.flap_pct, 1.2 / 20 * 100, PCT_TOL);
	ck_assert_int_eq(st.flapping, 0);
	state_free(&st);
}
END_TEST

START_TEST(flapping_detected_and_cleared_with_hysteresis)
{
	struct state		 st;
	struct server_conf	*sc = mkconf(2, 2, 0);
	int64_t			 t = T0;
	int			 i;

	state_init(&st);
	/* Alternate from start: the pairs present are the newest ones. */
	for (i = 0; i < 6; i++, t++)
		(i % 2 == 0 ? res_ok : res_fail)(&st, sc, t, NULL);
	ck_assert_double_eq_tol(st.flap_pct, full_window_pct(15, 5),
	    PCT_TOL);
	ck_assert(st.flap_pct < FLAP_HIGH);	/* 28.9% */
	ck_assert_int_eq(st.flapping, 0);
	res_ok(&st, sc, t++, NULL);
	ck_assert_double_eq_tol(st.flap_pct, full_window_pct(14, 6),
	    PCT_TOL);
	ck_assert(st.flap_pct > FLAP_HIGH);	/* 34.4% */
	ck_assert_int_eq(st.flapping, 1);

	for (i = 7; i < FLAP_WINDOW; i++, t++)
		(i % 2 == 0 ? res_ok : res_fail)(&st, sc, t, NULL);
	ck_assert_uint_eq(st.nhist, FLAP_WINDOW);
	ck_assert_double_eq_tol(st.flap_pct, 100.0, PCT_TOL);
	ck_assert_int_eq(st.flapping, 1);
	/* Never two in a row: it never became hard down. */
	ck_assert_int_eq(st.hard, HSTATE_UP);

	/* Now steady: the changes slide out of the window, oldest last. */
	for (i = 1; i <= FLAP_WINDOW; i++, t++) {
		res_ok(&st, sc, t, NULL);
		ck_assert_double_eq_tol(st.flap_pct,
		    full_window_pct(0, i < 20 ? 20 - i : 0), PCT_TOL);
		if (i == 1)
			ck_assert_double_eq_tol(st.flap_pct, 94.0, PCT_TOL);
		if (i == 14) {
			/* 25.6%: under high, above low: still flapping. */
			ck_assert(st.flap_pct < FLAP_HIGH &&
			    st.flap_pct > FLAP_LOW);
			ck_assert_int_eq(st.flapping, 1);
		}
		if (i == 15) {
			ck_assert(st.flap_pct > FLAP_LOW);	/* 21.05% */
			ck_assert_int_eq(st.flapping, 1);
		}
		if (i == 16) {
			ck_assert(st.flap_pct < FLAP_LOW);	/* 16.6% */
			ck_assert_int_eq(st.flapping, 0);
		}
	}
	ck_assert_double_eq_tol(st.flap_pct, 0, PCT_TOL);
	ck_assert_int_eq(st.flapping, 0);
	ck_assert_uint_eq(st.nhist, FLAP_WINDOW);

	/* Going up through the band between low and high is not enough. */
	for (i = 0; i < 5; i++, t++)
		(i % 2 == 0 ? res_fail : res_ok)(&st, sc, t, NULL);
	ck_assert_double_eq_tol(st.flap_pct, full_window_pct(15, 5),
	    PCT_TOL);
	ck_assert(st.flap_pct > FLAP_LOW && st.flap_pct < FLAP_HIGH);
	ck_assert_int_eq(st.flapping, 0);
	res_ok(&st, sc, t++, NULL);
	ck_assert(st.flap_pct > FLAP_HIGH);
	ck_assert_int_eq(st.flapping, 1);
	state_free(&st);
}
END_TEST

START_TEST(event_marked_flapping)
{
	struct state		 st;
	struct state_change	 chg;
	struct server_conf	*sc = mkconf(1, 1, 0);
	int64_t			 t = T0;
	int			 i, rc;

	state_init(&st);
	ck_assert_int_eq(res_ok(&st, sc, t++, &chg), 0);
	for (i = 1; i < 6; i++, t++) {
		rc = (i % 2 == 0 ? res_ok : res_fail)(&st, sc, t, &chg);
		ck_assert_int_eq(rc, 1);
		ck_assert_int_eq(chg.flapping, 0);
	}
	/* The 7th result puts the change above 30%. */
	ck_assert_int_eq(res_ok(&st, sc, t++, &chg), 1);
	ck_assert_int_eq(chg.new_state, HSTATE_UP);
	ck_assert_int_eq(chg.flapping, 1);
	ck_assert_int_eq(st.flapping, 1);
	state_free(&st);
}
END_TEST

/*
 * Flapping that ends with no hard change (the server stays in the state
 * of its last change) is one change, old and new that state, flapping
 * off: else nothing said it stopped, and a server settled down was never
 * paged as down.
 */
START_TEST(flapping_end_without_change_is_one_event)
{
	struct state		 st;
	struct state_change	 chg;
	struct server_conf	*sc = mkconf(1, 1, 0);
	int64_t			 t = T0;
	int			 i, rc, ends = 0;

	state_init(&st);
	res_ok(&st, sc, t++, NULL);
	for (i = 1; i < 12; i++, t++)
		(i % 2 == 0 ? res_ok : res_fail)(&st, sc, t, NULL);
	ck_assert_int_eq(st.flapping, 1);
	ck_assert_int_eq(st.hard, HSTATE_DOWN);
	for (i = 0; i < FLAP_WINDOW + 5; i++, t++) {
		memset(&chg, 0xff, sizeof(chg));
		rc = res_fail(&st, sc, t, &chg);
		if (rc == 0)
			continue;
		ends++;
		ck_assert_int_eq(chg.old_state, HSTATE_DOWN);
		ck_assert_int_eq(chg.new_state, HSTATE_DOWN);
		ck_assert_int_eq(chg.flapping, 0);
		ck_assert_int_eq(st.flapping, 0);
	}
	ck_assert_int_eq(ends, 1);
	ck_assert_int_eq(st.hard, HSTATE_DOWN);
	state_free(&st);
}
END_TEST

/*
 * A second downtime is added beside the first, which keeps its comment
 * and end; a scheduled one runs only from its start; cancel and expire
 * drop what they name; a server holds STATE_DOWNTIMES_MAX at most.
 */
START_TEST(downtimes_add_beside_schedule_cancel_expire)
{
	struct state		 st;
	const struct downtime	*cur;
	int			 i;

	state_init(&st);
	ck_assert_int_eq(state_downtime_add(&st, &(struct downtime){ .id = 1,
	    .from = T0, .until = T0 + 7200, .comment = "kernel" }), 0);
	ck_assert_int_eq(state_downtime_add(&st, &(struct downtime){ .id = 2,
	    .from = T0, .until = T0 + 600 }), 0);
	ck_assert_uint_eq(st.ndowntimes, 2);
	ck_assert_ptr_nonnull(cur = state_downtime_current(&st, T0 + 1));
	ck_assert_uint_eq(cur->id, 1);		/* the one that ends last */
	ck_assert_str_eq(cur->comment, "kernel");
	ck_assert_int_eq(state_in_downtime(&st, T0 + 7199), 1);
	ck_assert_int_eq(state_in_downtime(&st, T0 + 7200), 0);

	/* Scheduled: from 02:00 for an hour, say. */
	ck_assert_int_eq(state_downtime_add(&st, &(struct downtime){ .id = 3,
	    .from = T0 + 10000, .until = T0 + 13600 }), 0);
	ck_assert_int_eq(state_in_downtime(&st, T0 + 9999), 0);
	ck_assert_int_eq(state_in_downtime(&st, T0 + 10000), 1);
	ck_assert_uint_eq(state_downtime_max_id(&st), 3);

	ck_assert_uint_eq(state_downtime_cancel(&st, 1), 1);
	ck_assert_uint_eq(state_downtime_cancel(&st, 1), 0);
	ck_assert_int_eq(state_in_downtime(&st, T0 + 601), 0);
	state_downtime_expire(&st, T0 + 600);
	ck_assert_uint_eq(st.ndowntimes, 1);
	ck_assert_uint_eq(st.downtimes[0].id, 3);

	/* No time span: refused. Full: refused. */
	ck_assert_int_eq(state_downtime_add(&st, &(struct downtime){ .id = 9,
	    .from = T0, .until = T0 }), -1);
	for (i = 1; i < STATE_DOWNTIMES_MAX; i++)
		ck_assert_int_eq(state_downtime_add(&st, &(struct downtime){
		    .id = 10 + i, .from = T0 + i, .until = T0 + 100000 }), 0);
	ck_assert_int_eq(state_downtime_add(&st, &(struct downtime){
	    .id = 99, .from = T0, .until = T0 + 1 }), -1);
	assert_sane(&st);
	state_free(&st);
	ck_assert_uint_eq(st.ndowntimes, 0);
	state_free(&st);
}
END_TEST

/* A state file from before scheduled downtimes: its running downtime
 * and comment are kept. */
START_TEST(old_state_file_downtime_is_kept)
{
	struct state	 st;
	json_t		*j;

	state_init(&st);
	j = json_pack("{s:s,s:I,s:s}", "hard", "down", "downtime_until",
	    (json_int_t)(T0 + 3600), "downtime_comment", "old comment");
	ck_assert_int_eq(state_from_json(&st, j), 0);
	json_decref(j);
	ck_assert_uint_eq(st.ndowntimes, 1);
	ck_assert_int_eq(st.downtimes[0].until, T0 + 3600);
	ck_assert_str_eq(st.downtimes[0].comment, "old comment");
	ck_assert_int_eq(state_in_downtime(&st, T0), 1);
	state_free(&st);
}
END_TEST

/* ack refuses a server that is up; drain and enable toggle. */
START_TEST(ack_drain_enable_change_state)
{
	struct state		 st;
	struct server_conf	*sc = mkconf(1, 1, 0);

	start_up(&st, sc);
	ck_assert_int_eq(state_ack(&st, "x"), -1);
	ck_assert_int_eq(st.acked, 0);
	res_fail(&st, sc, T0 + 1, NULL);
	ck_assert_int_eq(state_ack(&st, "on it"), 0);
	ck_assert_int_eq(st.acked, 1);
	ck_assert_str_eq(st.ack_comment, "on it");
	state_drain(&st);
	ck_assert_int_eq(st.drained, 1);
	state_enable(&st);
	ck_assert_int_eq(st.drained, 0);
	state_free(&st);
}
END_TEST

START_TEST(downtime_marks_change)
{
	struct state		 st;
	struct state_change	 chg;
	struct server_conf	*sc = mkconf(2, 1, 0);

	start_up(&st, sc);
	ck_assert_int_eq(state_downtime_add(&st, &(struct downtime){ .id = 1,
	    .from = T0, .until = T0 + 100, .comment = "kernel upgrade" }), 0);
	ck_assert_int_eq(state_in_downtime(&st, T0 + 99), 1);
	ck_assert_int_eq(state_in_downtime(&st, T0 + 100), 0);

	res_fail(&st, sc, T0 + 10, &chg);
	ck_assert_int_eq(res_fail(&st, sc, T0 + 20, &chg), 1);
	ck_assert_int_eq(chg.new_state, HSTATE_DOWN);
	ck_assert_int_eq(chg.in_downtime, 1);

	/* Still down after the downtime ends; the recovery is not in it. */
	ck_assert_int_eq(res_ok(&st, sc, T0 + 200, &chg), 1);
	ck_assert_int_eq(chg.new_state, HSTATE_UP);
	ck_assert_int_eq(chg.in_downtime, 0);
	state_free(&st);
}
END_TEST

START_TEST(ack_cleared_on_recovery)
{
	struct state		 st;
	struct state_change	 chg;
	struct server_conf	*sc = mkconf(1, 1, 0);

	start_up(&st, sc);
	ck_assert_int_eq(res_fail(&st, sc, T0 + 10, &chg), 1);
	st.acked = 1;
	state_set_text(&st.ack_comment, "alice: on it", STATE_COMMENT_MAX);

	/* Better but not up: the ack still holds. */
	ck_assert_int_eq(feed(&st, sc, CHECK_WARNING, 1000, T0 + 20, &chg),
	    1);
	ck_assert_int_eq(chg.new_state, HSTATE_DEGRADED);
	ck_assert_int_eq(chg.acked, 1);
	ck_assert_int_eq(st.acked, 1);

	ck_assert_int_eq(res_ok(&st, sc, T0 + 30, &chg), 1);
	ck_assert_int_eq(chg.new_state, HSTATE_UP);
	ck_assert_int_eq(chg.acked, 0);
	ck_assert_int_eq(st.acked, 0);
	ck_assert_ptr_null(st.ack_comment);

	/* The next problem is not acknowledged. */
	ck_assert_int_eq(res_fail(&st, sc, T0 + 40, &chg), 1);
	ck_assert_int_eq(chg.acked, 0);
	state_free(&st);
}
END_TEST

/*
 * An ack of a soft failure (hard still up) ends with that failure: a
 * result that is up again clears it, so the next hard down is paged
 * (tocsinctl(8): no pages until the hard state is up again).
 */
START_TEST(ack_of_soft_failure_cleared_when_up_again)
{
	struct state		 st;
	struct state_change	 chg;
	struct server_conf	*sc = mkconf(3, 1, 0);

	start_up(&st, sc);
	ck_assert_int_eq(res_fail(&st, sc, T0 + 1, &chg), 0);
	ck_assert_int_eq(st.type, STATE_SOFT);
	ck_assert_int_eq(state_ack(&st, "bob: on it"), 0);

	/* Up again, no hard change: the failure it acknowledged is over. */
	ck_assert_int_eq(res_ok(&st, sc, T0 + 2, &chg), 0);
	ck_assert_int_eq(st.acked, 0);
	ck_assert_ptr_null(st.ack_comment);

	/* The next outage is not acknowledged. */
	res_fail(&st, sc, T0 + 3, &chg);
	res_fail(&st, sc, T0 + 4, &chg);
	ck_assert_int_eq(res_fail(&st, sc, T0 + 5, &chg), 1);
	ck_assert_int_eq(chg.new_state, HSTATE_DOWN);
	ck_assert_int_eq(chg.acked, 0);

	/* A soft failure acknowledged that goes on to hard down stays
	 * acknowledged, as any ack of a problem does. */
	ck_assert_int_eq(res_ok(&st, sc, T0 + 6, &chg), 1);
	res_fail(&st, sc, T0 + 7, &chg);
	ck_assert_int_eq(state_ack(&st, "carol"), 0);
	res_fail(&st, sc, T0 + 8, &chg);
	ck_assert_int_eq(res_fail(&st, sc, T0 + 9, &chg), 1);
	ck_assert_int_eq(chg.acked, 1);
	state_free(&st);
}
END_TEST

START_TEST(json_round_trip_keeps_everything)
{
	struct state		 st, back;
	struct state_change	 chg;
	struct server_conf	*sc = mkconf(3, 2, 0);
	json_t			*j, *loaded;
	char			*text;
	int64_t			 t = T0;
	int			 i;

	state_init(&st);
	for (i = 0; i < 30; i++, t++)
		(i % 3 == 0 ? res_fail : res_ok)(&st, sc, t, &chg);
	res_fail(&st, sc, t++, &chg);
	ck_assert_int_eq(st.type, STATE_SOFT);	/* a run in progress */
	ck_assert_uint_eq(st.count, 1);
	st.acked = 1;
	state_set_text(&st.ack_comment, "bob: \"quoted\"", STATE_COMMENT_MAX);
	ck_assert_int_eq(state_downtime_add(&st, &(struct downtime){ .id = 7,
	    .from = T0 + 3600, .until = T0 + 86400, .uid = 1000,
	    .scope = "shop", .comment = "moving racks \xc3\xa9t\xc3\xa9" }),
	    0);
	ck_assert_int_eq(state_downtime_add(&st, &(struct downtime){ .id = 3,
	    .from = T0, .until = T0 + 60, .uid = -1 }), 0);
	st.drained = 1;
	st.flapping = 1;

	ck_assert_ptr_nonnull(j = state_to_json(&st));
	ck_assert_ptr_nonnull(text = json_dumps(j, JSON_COMPACT));
	json_decref(j);
	ck_assert_ptr_nonnull(loaded = json_loads(text, 0, NULL));
	free(text);

	state_init(&back);
	ck_assert_int_eq(state_from_json(&back, loaded), 0);
	json_decref(loaded);

	ck_assert_int_eq(back.state, st.state);
	ck_assert_int_eq(back.type, st.type);
	ck_assert_int_eq(back.hard, st.hard);
	ck_assert_int_eq(back.candidate, st.candidate);
	ck_assert_uint_eq(back.count, st.count);
	ck_assert_int_eq(back.since, st.since);
	ck_assert_int_eq(back.last_check, st.last_check);
	ck_assert_int_eq(back.last_latency_us, st.last_latency_us);
	ck_assert_int_eq(back.last_status, st.last_status);
	ck_assert_str_eq(back.message, st.message);
	ck_assert_uint_eq(back.nhist, st.nhist);
	ck_assert_uint_eq(back.nhist, FLAP_WINDOW);
	ck_assert_mem_eq(back.hist, st.hist, st.nhist);
	ck_assert_double_eq(back.flap_pct, st.flap_pct);
	ck_assert_int_eq(back.flapping, st.flapping);
	ck_assert_int_eq(back.acked, st.acked);
	ck_assert_str_eq(back.ack_comment, st.ack_comment);
	ck_assert_uint_eq(back.ndowntimes, 2);
	ck_assert_uint_eq(back.downtimes[0].id, 3);	/* by start time */
	ck_assert_int_eq(back.downtimes[0].until, T0 + 60);
	ck_assert_int_eq(back.downtimes[0].uid, -1);
	ck_assert_ptr_null(back.downtimes[0].comment);
	ck_assert_ptr_null(back.downtimes[0].scope);
	ck_assert_uint_eq(back.downtimes[1].id, 7);
	ck_assert_int_eq(back.downtimes[1].from, T0 + 3600);
	ck_assert_int_eq(back.downtimes[1].until, T0 + 86400);
	ck_assert_int_eq(back.downtimes[1].uid, 1000);
	ck_assert_str_eq(back.downtimes[1].scope, "shop");
	ck_assert_str_eq(back.downtimes[1].comment,
	    "moving racks \xc3\xa9t\xc3\xa9");
	ck_assert_int_eq(back.drained, st.drained);
	ck_assert_uint_eq(back.checks, st.checks);
	ck_assert_uint_eq(back.checks, 31);
	ck_assert_uint_eq(back.failures, st.failures);
	ck_assert_uint_eq(back.failures, 11);

	/* And it carries on exactly as the original would. */
	ck_assert_int_eq(res_fail(&back, sc, t, &chg), 0);
	ck_assert_int_eq(res_fail(&st, sc, t, &chg), 0);
	ck_assert_uint_eq(back.count, st.count);
	ck_assert_double_eq(back.flap_pct, st.flap_pct);

	/* A fresh state round-trips too. */
	state_free(&st);
	ck_assert_ptr_nonnull(j = state_to_json(&st));
	ck_assert_int_eq(state_from_json(&back, j), 0);
	json_decref(j);
	ck_assert_int_eq(back.hard, HSTATE_UNKNOWN);
	ck_assert_int_eq(back.last_latency_us, -1);
	ck_assert_uint_eq(back.nhist, 0);
	state_free(&st);
}
END_TEST

START_TEST(invalid_utf8_message_is_saved_and_read_back)
{
	struct state		 st, back;
	struct check_result	 r;
	struct server_conf	*sc = mkconf(1, 1, 0);
	json_t			*j;
	char			*text;

	state_init(&st);
	result_init(&r, 0);
	result_set(&r, CHECK_CRITICAL, "bad banner: \xff\xfe caf\xc3\xa9 \xc3");
	state_update(&st, sc, &r, FLAP_LOW, FLAP_HIGH, T0, NULL);

	ck_assert_ptr_nonnull(j = state_to_json(&st));
	ck_assert_ptr_nonnull(text = json_dumps(j, 0));
	json_decref(j);
	ck_assert_ptr_nonnull(j = json_loads(text, 0, NULL));
	free(text);
	state_init(&back);
	ck_assert_int_eq(state_from_json(&back, j), 0);
	json_decref(j);
	ck_assert_str_eq(back.message, "bad banner: ?? caf\xc3\xa9 ?");
	state_free(&back);
	state_free(&st);
}
END_TEST

START_TEST(corrupt_json_is_rejected_without_crash)
{
	static const char *rejected[] = {
		"[]", "\"up\"", "42", "null", "{}",
		"{\"state\": \"up\"}",
		"{\"hard\": 1}",
		"{\"hard\": \"up\", \"count\": \"3\"}",
		"{\"hard\": \"up\", \"count\": 1.5}",
		"{\"hard\": \"up\", \"hist\": \"up,down\"}",
		"{\"hard\": \"up\", \"hist\": [\"up\", 2]}",
		"{\"hard\": \"up\", \"acked\": \"yes\"}",
		"{\"hard\": \"up\", \"message\": 5}",
		"{\"hard\": \"up\", \"flap_pct\": \"high\"}",
		"{\"hard\": \"up\", \"type\": {}}",
	};
	static const char *keys[] = {
		"state", "type", "hard", "candidate", "count", "since",
		"last_check", "last_latency_us", "last_status", "message",
		"hist", "flap_pct", "flapping", "acked", "ack_comment",
		"downtime_until", "downtime_comment", "downtimes", "drained",
		"checks", "failures",
	};
	struct state		 st, before;
	struct server_conf	*sc = mkconf(2, 2, 0);
	json_t			*j, *good, *hist, *bad[8];
	char			*text, *cut, big[2000];
	size_t			 i, k, len;

	start_up(&st, sc);
	memcpy(&before, &st, sizeof(before));

	ck_assert_int_eq(state_from_json(&st, NULL), -1);
	for (i = 0; i < sizeof(rejected) / sizeof(rejected[0]); i++) {
		j = json_loads(rejected[i], JSON_DECODE_ANY, NULL);
		ck_assert_msg(j != NULL, "bad test input %s", rejected[i]);
		ck_assert_msg(state_from_json(&st, j) == -1, "accepted %s",
		    rejected[i]);
		ck_assert_msg(memcmp(&st, &before, sizeof(st)) == 0,
		    "changed by %s", rejected[i]);
		json_decref(j);
	}

	/* Usable but out of range: clamped. */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_ptr_nonnull(hist = json_array());
	for (i = 0; i < 40; i++)
		json_array_append_new(hist, json_string(i < 39 ? "down" :
		    "sideways"));
	j = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:s, s:s, s:o,"
	    " s:f, s:I, s:I, s:I, s:s}",
	    "hard", "sideways", "state", "up", "type", "soft",
	    "candidate", "down", "count", (json_int_t)-5,
	    "since", (json_int_t)-3, "last_latency_us", (json_int_t)-100,
	    "last_status", "exploded", "message", big, "hist", hist,
	    "flap_pct", 1e300, "checks", (json_int_t)3,
	    "failures", (json_int_t)10, "downtime_until", (json_int_t)-1,
	    "ack_comment", big);
	ck_assert_ptr_nonnull(j);
	ck_assert_int_eq(state_from_json(&st, j), 0);
	json_decref(j);
	assert_sane(&st);
	ck_assert_int_eq(st.hard, HSTATE_UNKNOWN);
	ck_assert_int_eq(st.state, HSTATE_UP);
	ck_assert_int_eq(st.type, STATE_SOFT);
	ck_assert_int_eq(st.candidate, HSTATE_UP);
	ck_assert_uint_eq(st.count, 1);
	ck_assert_int_eq(st.since, 0);
	ck_assert_int_eq(st.last_latency_us, -1);
	ck_assert_int_eq(st.last_status, CHECK_UNKNOWN);
	ck_assert_uint_eq(strlen(st.message), STATE_MSG_MAX - 1);
	ck_assert_uint_eq(strlen(st.ack_comment), STATE_COMMENT_MAX - 1);
	ck_assert_uint_eq(st.nhist, FLAP_WINDOW);
	ck_assert_uint_eq(st.hist[FLAP_WINDOW - 1], HSTATE_UNKNOWN);
	ck_assert_uint_eq(st.hist[0], HSTATE_DOWN);
	/* 1 change (down -> unknown) in the newest pair. */
	ck_assert_double_eq_tol(st.flap_pct, 6.0, PCT_TOL);
	ck_assert_uint_eq(st.failures, 3);
	ck_assert_uint_eq(st.ndowntimes, 0);
	ck_assert_int_eq(state_in_downtime(&st, T0), 0);

	/* It still works as a state after that. */
	ck_assert_int_eq(res_ok(&st, sc, T0, NULL), 0);
	ck_assert_int_eq(st.hard, HSTATE_UP);

	/* Every known key with every wrong or odd type: never a crash. */
	state_free(&st);
	for (i = 0; i < 25; i++)
		(i % 4 == 0 ? res_fail : res_ok)(&st, sc, T0 + i, NULL);
	ck_assert_ptr_nonnull(good = state_to_json(&st));
	for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		bad[0] = json_null();
		bad[1] = json_true();
		bad[2] = json_integer(-1);
		bad[3] = json_integer(INT64_MAX);
		bad[4] = json_real(-1e308);
		bad[5] = json_string("");
		bad[6] = json_array();
		bad[7] = json_object();
		for (i = 0; i < 8; i++) {
			ck_assert_ptr_nonnull(j = json_deep_copy(good));
			json_object_set_new(j, keys[k], bad[i]);
			if (state_from_json(&st, j) == 0)
				assert_sane(&st);
			json_decref(j);
		}
	}

	/* Every truncation of a good file. */
	ck_assert_ptr_nonnull(text = json_dumps(good, 0));
	len = strlen(text);
	for (i = 0; i < len; i++) {
		ck_assert_ptr_nonnull(cut = strndup(text, i));
		j = json_loads(cut, JSON_DECODE_ANY, NULL);
		if (state_from_json(&st, j) == 0)
			assert_sane(&st);
		json_decref(j);
		free(cut);
	}
	free(text);
	json_decref(good);
	state_free(&st);
}
END_TEST

START_TEST(names_parse_back)
{
	enum hstate	 s;
	int		 i;

	for (i = HSTATE_UNKNOWN; i <= HSTATE_DOWN; i++) {
		ck_assert_int_eq(hstate_parse(hstate_str(i), &s), 0);
		ck_assert_int_eq(s, i);
	}
	ck_assert_str_eq(hstate_str(HSTATE_UNKNOWN), "unknown");
	ck_assert_str_eq(hstate_str(HSTATE_UP), "up");
	ck_assert_str_eq(hstate_str(HSTATE_DEGRADED), "degraded");
	ck_assert_str_eq(hstate_str(HSTATE_DOWN), "down");
	s = HSTATE_UP;
	ck_assert_int_eq(hstate_parse("UP", &s), -1);
	ck_assert_int_eq(hstate_parse("", &s), -1);
	ck_assert_int_eq(hstate_parse(NULL, &s), -1);
	ck_assert_int_eq(s, HSTATE_UP);
	ck_assert_str_eq(state_type_str(STATE_SOFT), "soft");
	ck_assert_str_eq(state_type_str(STATE_HARD), "hard");
}
END_TEST

/*
 * A check's unknown (a plugin's exit 3) is its own state, "unknown", not
 * down: worse than up, so it waits for its retries and is an event both
 * ways, and recovery from it is news (unlike a first up after start).
 */
START_TEST(unknown_result_is_unknown_with_retries_and_events)
{
	struct state		 st;
	struct state_change	 chg;
	struct server_conf	*sc = mkconf(2, 1, 0);

	state_init(&st);
	ck_assert_int_eq(res_ok(&st, sc, T0, &chg), 0);
	ck_assert_int_eq(feed(&st, sc, CHECK_UNKNOWN, 1000, T0 + 10, &chg), 0);
	ck_assert_int_eq(st.type, STATE_SOFT);
	ck_assert_int_eq(st.state, HSTATE_UNKNOWN_STATUS);
	ck_assert_str_eq(hstate_str(st.state), "unknown");
	ck_assert_int_eq(feed(&st, sc, CHECK_UNKNOWN, 1000, T0 + 20, &chg), 1);
	ck_assert_int_eq(chg.old_state, HSTATE_UP);
	ck_assert_int_eq(chg.new_state, HSTATE_UNKNOWN_STATUS);
	ck_assert_int_eq(st.hard, HSTATE_UNKNOWN_STATUS);
	ck_assert_int_eq(st.since, T0 + 20);
	/* Critical from unknown is worse: its retries again. */
	ck_assert_int_eq(res_fail(&st, sc, T0 + 30, &chg), 0);
	ck_assert_int_eq(res_fail(&st, sc, T0 + 40, &chg), 1);
	ck_assert_int_eq(chg.old_state, HSTATE_UNKNOWN_STATUS);
	ck_assert_int_eq(chg.new_state, HSTATE_DOWN);
	/* Back to unknown is better than down: rise (1). */
	ck_assert_int_eq(feed(&st, sc, CHECK_UNKNOWN, 1000, T0 + 50, &chg), 1);
	ck_assert_int_eq(st.hard, HSTATE_UNKNOWN_STATUS);
	/* Recovery from a check's unknown is an event. */
	ck_assert_int_eq(res_ok(&st, sc, T0 + 60, &chg), 1);
	ck_assert_int_eq(chg.old_state, HSTATE_UNKNOWN_STATUS);
	ck_assert_int_eq(chg.new_state, HSTATE_UP);

	/* From start, unknown waits for its retries and is reported. */
	state_free(&st);
	ck_assert_int_eq(feed(&st, sc, CHECK_UNKNOWN, 1000, T0, &chg), 0);
	ck_assert_int_eq(st.hard, HSTATE_UNKNOWN);
	ck_assert_int_eq(feed(&st, sc, CHECK_UNKNOWN, 1000, T0 + 10, &chg), 1);
	ck_assert_int_eq(chg.old_state, HSTATE_UNKNOWN);
	ck_assert_int_eq(chg.new_state, HSTATE_UNKNOWN_STATUS);
	ck_assert_int_eq(res_ok(&st, sc, T0 + 20, &chg), 1);
	ck_assert_int_eq(chg.new_state, HSTATE_UP);
	state_free(&st);
}
END_TEST

/* Both unknowns are written "unknown"; reading back tells them apart. */
START_TEST(unknown_result_survives_the_state_file)
{
	struct state		 st, back;
	struct state_change	 chg;
	struct server_conf	*sc = mkconf(1, 1, 0);
	json_t			*j;

	state_init(&st);
	ck_assert_int_eq(feed(&st, sc, CHECK_UNKNOWN, 1000, T0, &chg), 1);
	ck_assert_int_eq(st.hard, HSTATE_UNKNOWN_STATUS);
	j = state_to_json(&st);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(json_string_value(json_object_get(j, "hard")),
	    "unknown");
	state_init(&back);
	ck_assert_int_eq(state_from_json(&back, j), 0);
	ck_assert_int_eq(back.hard, HSTATE_UNKNOWN_STATUS);
	ck_assert_int_eq(back.hist[back.nhist - 1], HSTATE_UNKNOWN_STATUS);
	/* So its recovery is still an event after a restart. */
	ck_assert_int_eq(res_ok(&back, sc, T0 + 10, &chg), 1);
	ck_assert_int_eq(chg.old_state, HSTATE_UNKNOWN_STATUS);
	json_decref(j);

	/* A server never checked reads back as such: its first up is quiet. */
	state_free(&back);
	state_free(&st);
	state_free(&st);
	j = state_to_json(&st);
	state_init(&back);
	ck_assert_int_eq(state_from_json(&back, j), 0);
	ck_assert_int_eq(back.hard, HSTATE_UNKNOWN);
	ck_assert_int_eq(res_ok(&back, sc, T0, &chg), 0);
	json_decref(j);
	state_free(&back);
	state_free(&st);
}
END_TEST

/* Long output is kept with the state, cut to its cap. */
START_TEST(long_output_kept_and_capped)
{
	struct state		 st;
	struct check_result	 r;
	struct server_conf	*sc = mkconf(1, 1, 0);
	char			*big;

	state_init(&st);
	result_init(&r, (int64_t)T0 * 1000000);
	result_set(&r, CHECK_OK, "OK");
	result_set_long(&r, "line 2\nline 3\n", 14);
	state_update(&st, sc, &r, FLAP_LOW, FLAP_HIGH, T0, NULL);
	ck_assert_str_eq(st.long_output, "line 2\nline 3");
	big = malloc(3 * RESULT_LONG_MAX);
	ck_assert_ptr_nonnull(big);
	memset(big, 'x', 3 * RESULT_LONG_MAX);
	result_set_long(&r, big, 3 * RESULT_LONG_MAX);
	state_update(&st, sc, &r, FLAP_LOW, FLAP_HIGH, T0 + 1, NULL);
	ck_assert_uint_eq(strlen(st.long_output), RESULT_LONG_MAX - 1);
	result_release(&r);
	ck_assert_ptr_null(r.long_output);
	state_update(&st, sc, &r, FLAP_LOW, FLAP_HIGH, T0 + 2, NULL);
	ck_assert_ptr_null(st.long_output);
	free(big);
	state_free(&st);
}
END_TEST

static Suite *
state_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("state");
	tc = tcase_create("machine");
	tcase_add_test(tc, first_ok_is_hard_up_without_event);
	tcase_add_test(tc,
	    failure_is_soft_until_retries_then_hard_down_with_event);
	tcase_add_test(tc, retries_reset_by_success);
	tcase_add_test(tc, mixed_problems_count_together_latest_is_hard);
	tcase_add_test(tc, mixed_successes_count_towards_rise);
	tcase_add_test(tc, rise_needs_n_successes);
	tcase_add_test(tc, slow_answer_is_degraded_not_down);
	tcase_add_test(tc, warning_result_is_degraded);
	tcase_add_test(tc, ack_cleared_on_recovery);
	tcase_add_test(tc, ack_of_soft_failure_cleared_when_up_again);
	tcase_add_test(tc, downtime_marks_change);
	tcase_add_test(tc, downtimes_add_beside_schedule_cancel_expire);
	tcase_add_test(tc, old_state_file_downtime_is_kept);
	tcase_add_test(tc, ack_drain_enable_change_state);
	tcase_add_test(tc, names_parse_back);
	tcase_add_test(tc, unknown_result_is_unknown_with_retries_and_events);
	tcase_add_test(tc, unknown_result_survives_the_state_file);
	tcase_add_test(tc, long_output_kept_and_capped);
	suite_add_tcase(s, tc);

	tc = tcase_create("flapping");
	tcase_add_test(tc, first_change_after_start_is_not_flapping);
	tcase_add_test(tc, flapping_detected_and_cleared_with_hysteresis);
	tcase_add_test(tc, event_marked_flapping);
	tcase_add_test(tc, flapping_end_without_change_is_one_event);
	suite_add_tcase(s, tc);

	tc = tcase_create("json");
	tcase_add_test(tc, json_round_trip_keeps_everything);
	tcase_add_test(tc, invalid_utf8_message_is_saved_and_read_back);
	tcase_add_test(tc, corrupt_json_is_rejected_without_crash);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return ckrun(state_suite());
}
