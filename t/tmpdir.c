/*
 * tmpdir.c: the folder a Check suite's tests work in, made afresh under
 * /tmp by the suite's setup and removed, with all it holds, by its
 * teardown. Both fail the test (an assertion) when they cannot.
 */
#include <stdio.h>
#include <stdlib.h>

#include <check.h>

#include "tmpdir.h"

/*
 * Make a new folder /tmp/tocsin-NAME.XXXXXX and write its path into DIR
 * (SIZE bytes, 64 are enough for a short NAME).
 */
void
tmpdir_make(char *dir, size_t size, const char *name)
{
	int	 n;

	n = snprintf(dir, size, "/tmp/tocsin-%s.XXXXXX", name);
	ck_assert(n > 0 && (size_t)n < size);
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

/* Remove DIR and everything in it. */
void
tmpdir_remove(const char *dir)
{
	char	 cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}
