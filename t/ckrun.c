/*
 * ckrun.c: main's run of a Check suite, the same for every suite in t/:
 * run all its tests, each in a child of its own, and tell make check.
 */
#include <check.h>

#include "ckrun.h"

/*
 * Run every test of the suite S, as CK_VERBOSITY says (normal when it is
 * not set), then free it; main's exit status: 0 when every test passed,
 * 1 otherwise.
 */
int
ckrun(Suite *s)
{
	SRunner	*sr = srunner_create(s);
	int	 failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
