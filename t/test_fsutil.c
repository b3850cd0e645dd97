/*
 * test_fsutil.c: lib/fsutil.c (atomic writes, folders opened without
 * following links, crash leftovers) and the pidfile (lib/daemon.c), which
 * is never written through a link.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "daemon.h"
#include "fsutil.h"

#include "ckrun.h"
#include "tmpdir.h"

static char	 dir[64];
static int	 dfd;

static void
setup(void)
{
	tmpdir_make(dir, sizeof(dir), "fsutil");
	ck_assert_int_ne(dfd = open(dir, O_RDONLY | O_DIRECTORY), -1);
}

static void
teardown(void)
{
	close(dfd);
	tmpdir_remove(dir);
}

static const char *
at(const char *name)
{
	static char	 path[4][256];
	static int	 i;

	i = (i + 1) % 4;
	snprintf(path[i], sizeof(path[i]), "%s/%s", dir, name);
	return path[i];
}

static void
put(const char *name, const char *text)
{
	FILE	*fp;

	ck_assert_ptr_nonnull(fp = fopen(at(name), "w"));
	fputs(text, fp);
	ck_assert_int_eq(fclose(fp), 0);
}

static const char *
get(const char *name)
{
	static char	 buf[256];
	FILE		*fp;
	size_t		 n;

	ck_assert_ptr_nonnull(fp = fopen(at(name), "r"));
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

START_TEST(write_atomic_replaces_and_leaves_no_temporary)
{
	struct stat st;

	put("f", "old");
	ck_assert_int_eq(fsutil_write_atomic(dfd, "f", "new\n", 4, 0640, 0),
	    0);
	ck_assert_str_eq(get("f"), "new\n");
	ck_assert_int_eq(stat(at("f"), &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0640);
	ck_assert_int_eq(access(at(".tmp.f"), F_OK), -1);
}
END_TEST

START_TEST(write_atomic_noreplace_keeps_what_is_there)
{
	put("f", "old");
	errno = 0;
	ck_assert_int_eq(fsutil_write_atomic(dfd, "f", "new", 3, 0640,
	    FSUTIL_NOREPLACE), -1);
	ck_assert_int_eq(errno, EEXIST);
	ck_assert_str_eq(get("f"), "old");
	ck_assert_int_eq(access(at(".tmp.f"), F_OK), -1);
	ck_assert_int_eq(fsutil_write_atomic(dfd, "g", "new", 3, 0640,
	    FSUTIL_NOREPLACE), 0);
	ck_assert_str_eq(get("g"), "new");
}
END_TEST

START_TEST(write_batch_puts_each_in_place_and_reports_each)
{
	char		 longname[300];
	const char	*names[3], *data[3];
	int		 ok[3];
	struct stat	 st;

	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	put("a", "old");
	names[0] = "a";
	data[0] = "one\n";
	names[1] = longname;
	data[1] = "lost";
	names[2] = "c";
	data[2] = "three\n";
	errno = 0;
	ck_assert_int_eq(fsutil_write_batch(dfd, 3, names, data, 0640, ok), -1);
	ck_assert_int_eq(errno, ENAMETOOLONG);
	ck_assert_int_eq(ok[0], 1);
	ck_assert_int_eq(ok[1], 0);
	ck_assert_int_eq(ok[2], 1);
	ck_assert_str_eq(get("a"), "one\n");
	ck_assert_str_eq(get("c"), "three\n");
	ck_assert_int_eq(stat(at("c"), &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0640);
	ck_assert_int_eq(access(at(".tmp.a"), F_OK), -1);
	ck_assert_int_eq(access(at(".tmp.c"), F_OK), -1);
	ck_assert_int_eq(fsutil_write_batch(dfd, 1, names, data, 0640, ok), 0);
	ck_assert_int_eq(ok[0], 1);
}
END_TEST

START_TEST(write_atomic_never_writes_through_a_planted_link)
{
	put("victim", "victim");
	ck_assert_int_eq(symlink(at("victim"), at(".tmp.f")), 0);
	ck_assert_int_eq(symlink(at("victim"), at("f")), 0);
	ck_assert_int_eq(fsutil_write_atomic(dfd, "f", "new", 3, 0640, 0), 0);
	ck_assert_str_eq(get("victim"), "victim");
	ck_assert_str_eq(get("f"), "new");	/* the link was replaced */
}
END_TEST

START_TEST(open_dir_refuses_a_link)
{
	int fd;

	ck_assert_int_eq(mkdir(at("real"), 0750), 0);
	ck_assert_int_eq(symlink(at("real"), at("spool")), 0);
	ck_assert_int_eq(fsutil_open_dir(dfd, "spool", 0750), -1);
	ck_assert_int_ne(fd = fsutil_open_dir(dfd, "made", 0750), -1);
	close(fd);
	ck_assert_int_ne(fd = fsutil_open_dir(dfd, "made", 0750), -1);
	close(fd);
}
END_TEST

START_TEST(clean_tmp_removes_leftovers_and_links_not_targets)
{
	put("victim", "victim");
	put(".tmp.a", "x");
	put("state.json.tmp", "x");
	put("keep.json", "x");
	ck_assert_int_eq(symlink(at("victim"), at(".tmp.b")), 0);
	ck_assert_int_eq(fsutil_clean_tmp(dfd, dir), 3);
	ck_assert_int_eq(access(at(".tmp.a"), F_OK), -1);
	ck_assert_int_eq(access(at("state.json.tmp"), F_OK), -1);
	ck_assert_str_eq(get("victim"), "victim");
	ck_assert_str_eq(get("keep.json"), "x");
}
END_TEST

START_TEST(pidfile_that_is_a_link_is_replaced_not_followed)
{
	struct stat	 st;
	int		 fd;

	put("victim", "victim");
	ck_assert_int_eq(symlink(at("victim"), at("probed.pid")), 0);
	ck_assert_int_ge(fd = pidfile_open(at("probed.pid")), 0);
	ck_assert_str_eq(get("victim"), "victim");
	ck_assert_int_eq(lstat(at("probed.pid"), &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	pidfile_remove(at("probed.pid"), fd);
}
END_TEST

START_TEST(pidfile_that_is_a_hard_link_is_replaced)
{
	int	 fd;

	put("victim", "victim");
	ck_assert_int_eq(link(at("victim"), at("probed.pid")), 0);
	ck_assert_int_ge(fd = pidfile_open(at("probed.pid")), 0);
	ck_assert_str_eq(get("victim"), "victim");
	pidfile_remove(at("probed.pid"), fd);
}
END_TEST

static Suite *
fsutil_suite(void)
{
	Suite	*s = suite_create("fsutil");
	TCase	*tc = tcase_create("fsutil");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, write_atomic_replaces_and_leaves_no_temporary);
	tcase_add_test(tc, write_atomic_noreplace_keeps_what_is_there);
	tcase_add_test(tc, write_atomic_never_writes_through_a_planted_link);
	tcase_add_test(tc, write_batch_puts_each_in_place_and_reports_each);
	tcase_add_test(tc, open_dir_refuses_a_link);
	tcase_add_test(tc, clean_tmp_removes_leftovers_and_links_not_targets);
	tcase_add_test(tc, pidfile_that_is_a_link_is_replaced_not_followed);
	tcase_add_test(tc, pidfile_that_is_a_hard_link_is_replaced);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return ckrun(fsutil_suite());
}
