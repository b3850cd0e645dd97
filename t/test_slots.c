/*
 * test_slots.c: probed/slots.c, the limits on checks in flight: the
 * global limit, the per-address limit with its first-come queue, and a
 * hung check giving its address slot back (only once the address's
 * healthy latency is known).
 */
#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <event2/event.h>

#include "conf.h"
#include "util.h"

#include "probed.h"
#include "slots.h"

#include "ckrun.h"

#define NT	8

static struct event_base	*base;
static struct slots		*s;
static struct server_conf	 sc[NT];
static struct target		 t[NT];
static int			 order[NT * 4];
static int			 nstarted;

static void
on_start(struct target *tt, void *arg)
{
	(void)arg;
	tt->started_mono = mono_us();
	order[nstarted++] = (int)(tt - t);
}

/* NT targets on one address, max_per_host per target. */
static void
setup(unsigned max_total, unsigned long max_per_host)
{
	int i;

	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	s = slots_new(base, on_start, NULL);
	slots_set_limit(s, max_total);
	memset(sc, 0, sizeof(sc));
	memset(t, 0, sizeof(t));
	nstarted = 0;
	for (i = 0; i < NT; i++) {
		sc[i].host = "127.0.0.1";
		sc[i].o.max_per_host = max_per_host;
		t[i].sc = &sc[i];
		t[i].host = slots_host(s, sc[i].host);
	}
}

static void
teardown(void)
{
	slots_free(s);
	event_base_free(base);
}

START_TEST(global_limit_queues_and_starts_in_order)
{
	setup(2, 0);
	slots_want(s, &t[0]);
	slots_want(s, &t[1]);
	slots_want(s, &t[2]);
	ck_assert_int_eq(nstarted, 2);
	ck_assert_uint_eq(slots_running(s), 2);
	ck_assert_uint_eq(slots_waiting(s), 1);
	slots_release(s, &t[0], 1000);
	slots_pump(s);
	ck_assert_int_eq(nstarted, 3);
	ck_assert_int_eq(order[2], 2);
	ck_assert_uint_eq(slots_waiting(s), 0);
	teardown();
}
END_TEST

START_TEST(address_limit_takes_turns_first_come)
{
	setup(0, 1);
	slots_want(s, &t[0]);
	slots_want(s, &t[3]);
	slots_want(s, &t[1]);
	ck_assert_int_eq(nstarted, 1);
	ck_assert_uint_eq(slots_waiting(s), 2);
	slots_release(s, &t[0], -1);
	slots_pump(s);
	ck_assert_int_eq(nstarted, 2);
	ck_assert_int_eq(order[1], 3);
	slots_release(s, &t[3], -1);
	slots_pump(s);
	ck_assert_int_eq(order[2], 1);
	teardown();
}
END_TEST

START_TEST(hung_check_gives_its_slot_back_once_latency_known)
{
	setup(0, 1);
	/* t0 healthy in 1 ms: the address's typical latency is known. */
	slots_want(s, &t[0]);
	slots_release(s, &t[0], 1000);
	slots_pump(s);
	/* t1 hangs: started 200 ms ago, past the 100 ms floor. */
	slots_want(s, &t[1]);
	t[1].started_mono -= 200000;
	slots_want(s, &t[2]);
	ck_assert_int_eq(nstarted, 3);
	ck_assert_int_eq(order[2], 2);
	ck_assert_uint_eq(slots_running(s), 2);	/* t1 still in flight */
	/* t1 ends later: its global slot goes back, no address slot twice. */
	slots_release(s, &t[1], -1);
	slots_pump(s);
	ck_assert_uint_eq(slots_running(s), 1);
	slots_want(s, &t[3]);
	ck_assert_int_eq(nstarted, 3);	/* t2 holds the one slot */
	teardown();
}
END_TEST

START_TEST(hung_checks_keep_slots_without_a_healthy_latency)
{
	setup(0, 1);
	slots_want(s, &t[0]);
	t[0].started_mono -= 60 * 1000000LL;
	slots_want(s, &t[1]);
	ck_assert_int_eq(nstarted, 1);
	ck_assert_uint_eq(slots_waiting(s), 1);
	slots_cancel(s, &t[1]);
	ck_assert_uint_eq(slots_waiting(s), 0);
	teardown();
}
END_TEST

static Suite *
slots_suite(void)
{
	Suite	*su = suite_create("slots");
	TCase	*tc = tcase_create("slots");

	tcase_add_test(tc, global_limit_queues_and_starts_in_order);
	tcase_add_test(tc, address_limit_takes_turns_first_come);
	tcase_add_test(tc, hung_check_gives_its_slot_back_once_latency_known);
	tcase_add_test(tc, hung_checks_keep_slots_without_a_healthy_latency);
	suite_add_tcase(su, tc);
	return su;
}

int
main(void)
{
	return ckrun(slots_suite());
}
