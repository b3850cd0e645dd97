/*
 * test_backend.c: lb/backend.c's response-time average: samples, its
 * decay, and what an error does to it (always counts as slow).
 */
#include <sys/types.h>

#include <check.h>

#include "lb.h"

#include "ckrun.h"
#include "lbtest.h"

#define NOW	1000000000LL	/* mono_us, any */

/* What backend.c calls in lb/persist.c, which this test does not link. */
struct persist *
persist_new(const char *farm)
{
	(void)farm;
	return NULL;
}

void
persist_unref(struct persist *p)
{
	(void)p;
}

START_TEST(error_without_average_counts_as_penalty)
{
	struct backend	*b = lbtest_member("f/m", BE_UNKNOWN);

	backend_error(b, NOW);
	ck_assert_double_eq_tol(backend_ewma(b, NOW), LB_ERROR_PENALTY_MS,
	    1e-9);
	ck_assert_uint_eq(b->errors, 1);
	backend_unref(b);
}
END_TEST

START_TEST(error_moves_a_fast_member_halfway_to_penalty)
{
	struct backend	*b = lbtest_member("f/m", BE_UNKNOWN);

	backend_sample(b, 4, NOW);
	backend_error(b, NOW);
	ck_assert_double_eq_tol(backend_ewma(b, NOW),
	    (4 + LB_ERROR_PENALTY_MS) / 2.0, 1e-9);
	backend_unref(b);
}
END_TEST

START_TEST(error_never_makes_a_slow_member_faster)
{
	struct backend	*b = lbtest_member("f/m", BE_UNKNOWN);
	double		 before;

	backend_sample(b, 3000, NOW);
	before = backend_ewma(b, NOW);
	backend_error(b, NOW);
	ck_assert_double_ge(backend_ewma(b, NOW), before);
	/* Its average decayed since: the error counts from what it is now. */
	before = backend_ewma(b, NOW + 500000);
	backend_error(b, NOW + 500000);
	ck_assert_double_ge(backend_ewma(b, NOW + 500000), before);
	ck_assert_double_ge(backend_ewma(b, NOW + 500000),
	    LB_ERROR_PENALTY_MS);
	backend_unref(b);
}
END_TEST

START_TEST(weight_zero_stays_zero_when_degraded)
{
	struct backend	*b = lbtest_member("f/m", BE_UNKNOWN);

	b->weight = 0;
	b->health = BE_DEGRADED;
	ck_assert_uint_eq(backend_weight(b), 0);
	b->health = BE_UP;
	ck_assert_uint_eq(backend_weight(b), 0);
	backend_unref(b);
}
END_TEST

/* tocsin-lb(8): degraded halves a member's weight; at weight 1 too. */
START_TEST(degraded_gets_half_the_weight_of_up_at_any_weight)
{
	struct backend	*b = lbtest_member("f/m", BE_UNKNOWN);
	unsigned	 w, up;

	for (w = 1; w <= 256; w++) {
		b->weight = w;
		b->health = BE_UP;
		up = backend_weight(b);
		b->health = BE_UNKNOWN;
		ck_assert_uint_eq(backend_weight(b), up);
		b->health = BE_DEGRADED;
		ck_assert_uint_gt(backend_weight(b), 0);
		ck_assert_uint_eq(backend_weight(b) * 2, up);
	}
	backend_unref(b);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("backend");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, error_without_average_counts_as_penalty);
	tcase_add_test(tc, error_moves_a_fast_member_halfway_to_penalty);
	tcase_add_test(tc, error_never_makes_a_slow_member_faster);
	tcase_add_test(tc, weight_zero_stays_zero_when_degraded);
	tcase_add_test(tc, degraded_gets_half_the_weight_of_up_at_any_weight);
	suite_add_tcase(s, tc);
	return ckrun(s);
}
