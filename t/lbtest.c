/*
 * lbtest.c: what tocsin-lb's Check suites share: a member made by hand,
 * the stub of a call backend.c makes into a file they do not link, and
 * main's run of one suite.
 */
#include <sys/types.h>

#include <check.h>

#include "xmalloc.h"

#include "lb.h"
#include "lbtest.h"

/* lb/queue.c's, which backend.c calls when a member can take more. */
void
queue_kick_all(void)
{
}

/*
 * A member of weight 1 with the id ID (copied) and the health HEALTH, one
 * reference held: the caller drops it with backend_unref.
 */
struct backend *
lbtest_member(const char *id, enum be_health health)
{
	struct backend	*b = xcalloc(1, sizeof(*b));

	b->id = xstrdup(id);
	b->refs = 1;
	b->weight = 1;
	b->health = health;
	return b;
}

/*
 * Run the suite NAME of the one test case TC (its tests added), as
 * CK_ENV says; main's exit status: 0 when every test passed, 1 otherwise.
 */
int
lbtest_run(const char *name, TCase *tc)
{
	Suite	*s = suite_create(name);
	SRunner	*sr;
	int	 failed;

	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
