/*
 * test_persist.c: lb/persist.c's table of tcp clients and their members:
 * a client is found again on its member, and a full table still takes a
 * new client (in the place of the longest idle one of its bucket).
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <check.h>
#include <string.h>

#include "lb.h"

#include "ckrun.h"
#include "lbtest.h"

#define TTL_MS	3600000		/* an hour: nothing expires in the test */
#define FULL	262144		/* PERSIST_MAX */

/* Client number i, as 10.x.y.z. */
static struct sockaddr *
client(uint32_t i, struct sockaddr_in *sin)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(0x0a000000u + i);
	return (struct sockaddr *)sin;
}

START_TEST(client_found_on_its_member)
{
	struct persist		*p = persist_new("f");
	struct backend		*be[2] = { lbtest_member("f/a", BE_UP),
				    lbtest_member("f/b", BE_UP) };
	struct farm		 f = { .be = be, .nbe = 2 };
	struct sockaddr_in	 sin;

	persist_note(p, client(1, &sin), be[1]);
	persist_note(p, client(2, &sin), be[0]);
	ck_assert_ptr_eq(persist_lookup(p, &f, client(1, &sin), TTL_MS), be[1]);
	ck_assert_ptr_eq(persist_lookup(p, &f, client(2, &sin), TTL_MS), be[0]);
	ck_assert_ptr_null(persist_lookup(p, &f, client(3, &sin), TTL_MS));
	persist_unref(p);
	backend_unref(be[0]);
	backend_unref(be[1]);
}
END_TEST

START_TEST(full_table_takes_a_new_client)
{
	struct persist		*p = persist_new("g");
	struct backend		*be[2] = { lbtest_member("g/a", BE_UP),
				    lbtest_member("g/b", BE_UP) };
	struct farm		 f = { .be = be, .nbe = 2 };
	struct sockaddr_in	 sin;
	uint32_t		 i;

	for (i = 0; i < FULL; i++)
		persist_note(p, client(i, &sin), be[0]);
	/* The last clients noted are the least idle: they stay. */
	ck_assert_ptr_eq(persist_lookup(p, &f, client(FULL - 1, &sin),
	    TTL_MS), be[0]);
	persist_note(p, client(FULL + 7, &sin), be[1]);
	ck_assert_ptr_eq(persist_lookup(p, &f, client(FULL + 7, &sin),
	    TTL_MS), be[1]);
	ck_assert_ptr_eq(persist_lookup(p, &f, client(FULL - 1, &sin),
	    TTL_MS), be[0]);
	persist_unref(p);
	backend_unref(be[0]);
	backend_unref(be[1]);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("persist");
	TCase	*tc = tcase_create("table");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, client_found_on_its_member);
	tcase_add_test(tc, full_table_takes_a_new_client);
	suite_add_tcase(s, tc);
	return ckrun(s);
}
