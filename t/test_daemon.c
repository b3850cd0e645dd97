/*
 * test_daemon.c: the start-up helpers every daemon shares (the locked
 * pidfile, mkdir -p, -t's one-line verdict) and the unit parsing under the
 * config language (durations, numbers, percentages, times, exec words),
 * with their edges: overflow, empty input, unterminated quotes.
 */
#include <sys/stat.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "fsutil.h"
#include "util.h"

#include "ckrun.h"

static char	*tmp;		/* this test's folder */

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

/* Checked fixture: a fresh folder for each test, removed after it. */
static void
tmp_setup(void)
{
	char	 tmpl[PATH_MAX];
	const char *base = getenv("TMPDIR");

	snprintf(tmpl, sizeof(tmpl), "%s/test_daemon.XXXXXX",
	    base != NULL && *base != '\0' ? base : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	tmp = strdup(tmpl);
}

static void
tmp_teardown(void)
{
	nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(tmp);
	tmp = NULL;
}

/* The test folder's path for rel, in one of a few static buffers. */
static const char *
at(const char *rel)
{
	static char	 path[4][PATH_MAX];
	static int	 i;

	i = (i + 1) % 4;
	snprintf(path[i], sizeof(path[i]), "%s/%s", tmp, rel);
	return path[i];
}

/* Read a small file whole into buf; returns its length. */
static size_t
slurp(const char *path, char *buf, size_t len)
{
	FILE	*fp;
	size_t	 n;

	ck_assert_ptr_nonnull(fp = fopen(path, "r"));
	n = fread(buf, 1, len - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	return n;
}

static void
put(const char *path, const char *text)
{
	FILE	*fp;

	ck_assert_ptr_nonnull(fp = fopen(path, "w"));
	ck_assert_int_ne(fputs(text, fp), EOF);
	ck_assert_int_eq(fclose(fp), 0);
}

/* ---- pidfile ---- */

START_TEST(pidfile_holds_pid_and_lock)
{
	const char	*path = at("probed.pid");
	char		 buf[64], want[32];
	int		 fd;

	put(path, "99999999\nstale content from a dead run\n");
	fd = pidfile_open(path);
	ck_assert_int_ge(fd, 0);
	snprintf(want, sizeof(want), "%ld\n", (long)getpid());
	slurp(path, buf, sizeof(buf));
	ck_assert_str_eq(buf, want);	/* the stale pid is gone */
	pidfile_remove(path, fd);
	ck_assert_int_eq(access(path, F_OK), -1);
	ck_assert_int_eq(errno, ENOENT);
}
END_TEST

START_TEST(pidfile_second_open_fails_with_ewouldblock)
{
	const char	*path = at("probed.pid");
	char		 before[64], after[64];
	int		 fd, fd2;

	ck_assert_int_ge(fd = pidfile_open(path), 0);
	slurp(path, before, sizeof(before));
	errno = 0;
	fd2 = pidfile_open(path);
	ck_assert_int_eq(fd2, -1);
	ck_assert_int_eq(errno, EWOULDBLOCK);
	/* the loser left the winner's pid in place */
	slurp(path, after, sizeof(after));
	ck_assert_str_eq(after, before);
	pidfile_remove(path, fd);
	/* once released, it can be taken again */
	ck_assert_int_ge(fd = pidfile_open(path), 0);
	pidfile_remove(path, fd);
}
END_TEST

START_TEST(pidfile_in_missing_folder_fails)
{
	errno = 0;
	ck_assert_int_eq(pidfile_open(at("no/such/dir/probed.pid")), -1);
	ck_assert_int_eq(errno, ENOENT);
	pidfile_remove(at("no/such/dir/probed.pid"), -1);	/* no-op */
}
END_TEST

/* ---- fsutil_mkdir_p ---- */

START_TEST(mkdir_p_creates_every_level)
{
	struct stat	 st;

	umask(022);
	ck_assert_int_eq(fsutil_mkdir_p(at("a/b/c"), 0750), 0);
	ck_assert_int_eq(stat(at("a/b/c"), &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_int_eq(st.st_mode & 0777, 0750);
	ck_assert_int_eq(stat(at("a/b"), &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
}
END_TEST

START_TEST(mkdir_p_accepts_existing_and_odd_slashes)
{
	ck_assert_int_eq(fsutil_mkdir_p(at("x/y"), 0755), 0);
	ck_assert_int_eq(fsutil_mkdir_p(at("x/y"), 0755), 0);
	ck_assert_int_eq(fsutil_mkdir_p(at("x/y/"), 0755), 0);
	ck_assert_int_eq(fsutil_mkdir_p(at("x//y//z"), 0755), 0);
	ck_assert_int_eq(access(at("x/y/z"), F_OK), 0);
	ck_assert_int_eq(fsutil_mkdir_p("/", 0755), 0);
}
END_TEST

START_TEST(mkdir_p_fails_on_a_file_in_the_way)
{
	put(at("file"), "x\n");
	errno = 0;
	ck_assert_int_eq(fsutil_mkdir_p(at("file"), 0755), -1);
	ck_assert_int_eq(errno, ENOTDIR);
	errno = 0;
	ck_assert_int_eq(fsutil_mkdir_p(at("file/sub"), 0755), -1);
	ck_assert_int_eq(errno, ENOTDIR);
}
END_TEST

START_TEST(mkdir_p_rejects_empty_path)
{
	errno = 0;
	ck_assert_int_eq(fsutil_mkdir_p("", 0755), -1);
	ck_assert_int_eq(errno, ENOENT);
}
END_TEST

/* ---- -t ---- */

/* Run daemon_check_conf on path with stdout and stderr in files. */
static int
check_conf(const char *path, char *out, size_t outlen, char *err,
    size_t errlen)
{
	int	 o, e, so, se, r;

	fflush(stdout);
	fflush(stderr);
	so = dup(1);
	se = dup(2);
	o = open(at("stdout"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	e = open(at("stderr"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ck_assert(so >= 0 && se >= 0 && o >= 0 && e >= 0);
	dup2(o, 1);
	dup2(e, 2);
	r = daemon_check_conf(path);
	fflush(stdout);
	fflush(stderr);
	dup2(so, 1);
	dup2(se, 2);
	close(o);
	close(e);
	close(so);
	close(se);
	slurp(at("stdout"), out, outlen);
	slurp(at("stderr"), err, errlen);
	return r;
}

START_TEST(check_conf_prints_summary_and_exits_zero)
{
	char	 out[256], err[256];

	put(at("ok.conf"), "contact ops email ops@example.net\n"
	    "server a http://a notify ops\n"
	    "farm f {\n  server b http://b\n}\n");
	ck_assert_int_eq(check_conf(at("ok.conf"), out, sizeof(out), err,
	    sizeof(err)), 0);
	ck_assert_str_eq(out, "config ok: 2 servers, 1 farm, 1 contact\n");
	ck_assert_str_eq(err, "");
}
END_TEST

START_TEST(check_conf_prints_every_error_and_exits_nonzero)
{
	char	 out[256], err[512], want[512];

	put(at("bad.conf"), "server a http://a\nsever b http://b\n"
	    "server a http://c\n");
	ck_assert_int_ne(check_conf(at("bad.conf"), out, sizeof(out), err,
	    sizeof(err)), 0);
	ck_assert_str_eq(out, "");
	snprintf(want, sizeof(want),
	    "%s:2: unknown keyword 'sever' (did you mean 'server'?)\n"
	    "%s:3: duplicate server id 'a' (first at %s:1)\n",
	    at("bad.conf"), at("bad.conf"), at("bad.conf"));
	ck_assert_str_eq(err, want);
}
END_TEST

/* ---- parse_duration_ms ---- */

START_TEST(duration_units_are_understood)
{
	uint64_t ms;

	ck_assert_int_eq(parse_duration_ms("500ms", &ms), 0);
	ck_assert_uint_eq(ms, 500);
	ck_assert_int_eq(parse_duration_ms("10s", &ms), 0);
	ck_assert_uint_eq(ms, 10000);
	ck_assert_int_eq(parse_duration_ms("5m", &ms), 0);
	ck_assert_uint_eq(ms, 300000);
	ck_assert_int_eq(parse_duration_ms("2h", &ms), 0);
	ck_assert_uint_eq(ms, 7200000);
	ck_assert_int_eq(parse_duration_ms("1d", &ms), 0);
	ck_assert_uint_eq(ms, 86400000);
	ck_assert_int_eq(parse_duration_ms("0", &ms), 0);
	ck_assert_uint_eq(ms, 0);
	ck_assert_int_eq(parse_duration_ms("007s", &ms), 0);
	ck_assert_uint_eq(ms, 7000);
}
END_TEST

START_TEST(compound_durations_add_up)
{
	uint64_t ms;

	ck_assert_int_eq(parse_duration_ms("1h30m", &ms), 0);
	ck_assert_uint_eq(ms, 5400000);
	ck_assert_int_eq(parse_duration_ms("2d4h", &ms), 0);
	ck_assert_uint_eq(ms, 2 * 86400000ULL + 4 * 3600000ULL);
	ck_assert_int_eq(parse_duration_ms("90s", &ms), 0);
	ck_assert_uint_eq(ms, 90000);
	ck_assert_int_eq(parse_duration_ms("1m30s", &ms), 0);
	ck_assert_uint_eq(ms, 90000);
	ck_assert_int_eq(parse_duration_ms("1s500ms", &ms), 0);
	ck_assert_uint_eq(ms, 1500);
	ck_assert_int_eq(parse_duration_ms("1d2h3m4s5ms", &ms), 0);
	ck_assert_uint_eq(ms, 86400000ULL + 7200000 + 180000 + 4000 + 5);
}
END_TEST

START_TEST(compound_durations_go_down_the_units_once_each)
{
	static const char *bad[] = { "30m1h", "1m1m", "1s1m", "1ms1s",
	    "1h30", "1h 30m", "1h-30m", "h30m", NULL };
	uint64_t	 ms = 42;
	int		 i;

	for (i = 0; bad[i] != NULL; i++)
		ck_assert_msg(parse_duration_ms(bad[i], &ms) == -1,
		    "'%s' accepted", bad[i]);
	ck_assert_uint_eq(ms, 42);
	/* the sum is bounded as each part is */
	ck_assert_int_eq(parse_duration_ms("213503982d28909552ms", &ms), -1);
	ck_assert_int_eq(parse_duration_ms("213503982d28909551ms", &ms), 0);
	ck_assert_uint_eq(ms, UINT64_MAX / 1000);
}
END_TEST

START_TEST(bare_number_is_no_duration_but_zero_is)
{
	uint64_t ms = 42;

	ck_assert_int_eq(parse_duration_ms("10", &ms), DURATION_BARE);
	ck_assert_int_eq(parse_duration_ms("5", &ms), DURATION_BARE);
	ck_assert_uint_eq(ms, 42);
	ck_assert_int_eq(parse_duration_ms("0", &ms), 0);
	ck_assert_uint_eq(ms, 0);
}
END_TEST

START_TEST(duration_rejects_bad_text)
{
	static const char *bad[] = { "", "s", "ms", "-1s", "+1s", " 1s",
	    "1s ", "1.5s", "1S", "1sec", "1 s", "1w", "1ms1", "0x10", "1e3",
	    NULL };
	uint64_t	 ms = 42;
	int		 i;

	for (i = 0; bad[i] != NULL; i++)
		ck_assert_msg(parse_duration_ms(bad[i], &ms) == -1,
		    "'%s' accepted", bad[i]);
	ck_assert_uint_eq(ms, 42);	/* untouched on error */
}
END_TEST

START_TEST(duration_rejects_overflow)
{
	uint64_t ms;

	/* more than 64 bits of digits */
	ck_assert_int_eq(parse_duration_ms("18446744073709551616", &ms), -1);
	ck_assert_int_eq(parse_duration_ms("99999999999999999999999ms", &ms),
	    -1);
	/* fits in 64 bits as a number, not once multiplied into ms */
	ck_assert_int_eq(parse_duration_ms("18446744073709551615d", &ms), -1);
	ck_assert_int_eq(parse_duration_ms("213503982335d", &ms), -1);
	/* the largest accepted leaves room to count in microseconds */
	ck_assert_int_eq(parse_duration_ms("18446744073709551ms", &ms), 0);
	ck_assert_uint_eq(ms, 18446744073709551ULL);
	ck_assert(ms <= UINT64_MAX / 1000);
	ck_assert_int_eq(parse_duration_ms("18446744073709552ms", &ms), -1);
	ck_assert_int_eq(parse_duration_ms("213503d", &ms), 0);
	ck_assert(ms <= UINT64_MAX / 1000);
}
END_TEST

/* ---- parse_uint ---- */

START_TEST(uint_accepts_up_to_max)
{
	unsigned long	 v;
	char		 buf[32];

	ck_assert_int_eq(parse_uint("0", 10, &v), 0);
	ck_assert_uint_eq(v, 0);
	ck_assert_int_eq(parse_uint("10", 10, &v), 0);
	ck_assert_uint_eq(v, 10);
	ck_assert_int_eq(parse_uint("0010", 10, &v), 0);
	ck_assert_uint_eq(v, 10);
	snprintf(buf, sizeof(buf), "%lu", ULONG_MAX);
	ck_assert_int_eq(parse_uint(buf, ULONG_MAX, &v), 0);
	ck_assert_uint_eq(v, ULONG_MAX);
}
END_TEST

START_TEST(uint_rejects_bad_text_and_overflow)
{
	static const char *bad[] = { "", "11", "-1", "+1", " 1", "1 ", "1x",
	    "0x1", "1.0", "99999999999999999999999", "18446744073709551616",
	    NULL };
	unsigned long	 v = 42;
	int		 i;

	for (i = 0; bad[i] != NULL; i++)
		ck_assert_msg(parse_uint(bad[i], 10, &v) == -1,
		    "'%s' accepted", bad[i]);
	ck_assert_int_eq(parse_uint("18446744073709551616", ULONG_MAX, &v),
	    -1);
	ck_assert_uint_eq(v, 42);
}
END_TEST

/* ---- parse_percent ---- */

START_TEST(percent_accepts_0_to_100)
{
	double v;

	ck_assert_int_eq(parse_percent("0", &v), 0);
	ck_assert_double_eq(v, 0);
	ck_assert_int_eq(parse_percent("20%", &v), 0);
	ck_assert_double_eq(v, 20);
	ck_assert_int_eq(parse_percent("12.5%", &v), 0);
	ck_assert_double_eq(v, 12.5);
	ck_assert_int_eq(parse_percent("100", &v), 0);
	ck_assert_double_eq(v, 100);
}
END_TEST

START_TEST(percent_rejects_out_of_range_and_junk)
{
	static const char *bad[] = { "", "%", "-1", "-0", "100.01", "101%",
	    "1e999", "5%%", "5 %", "abc", "nan", "inf", ".5", "5%x", NULL };
	double	 v = 42;
	int	 i;

	for (i = 0; bad[i] != NULL; i++)
		ck_assert_msg(parse_percent(bad[i], &v) == -1,
		    "'%s' accepted", bad[i]);
	ck_assert_double_eq(v, 42);
}
END_TEST

/* ---- parse_hhmm_range, format_duration, edit_distance ---- */

START_TEST(hhmm_range_is_minutes_after_midnight)
{
	int	 from, to;

	ck_assert_int_eq(parse_hhmm_range("23:00-07:00", &from, &to), 0);
	ck_assert_int_eq(from, 1380);
	ck_assert_int_eq(to, 420);
	ck_assert_int_eq(parse_hhmm_range("00:00-23:59", &from, &to), 0);
	ck_assert_int_eq(to, 1439);
	ck_assert_int_eq(parse_hhmm_range("24:00-07:00", &from, &to), -1);
	ck_assert_int_eq(parse_hhmm_range("23:60-07:00", &from, &to), -1);
	ck_assert_int_eq(parse_hhmm_range("23:00", &from, &to), -1);
	ck_assert_int_eq(parse_hhmm_range("23:00-07:00x", &from, &to), -1);
	ck_assert_int_eq(parse_hhmm_range("", &from, &to), -1);
}
END_TEST

START_TEST(format_duration_picks_shortest_exact_unit)
{
	char	 buf[32];

	format_duration(500, buf, sizeof(buf));
	ck_assert_str_eq(buf, "500ms");
	format_duration(90000, buf, sizeof(buf));
	ck_assert_str_eq(buf, "90s");
	format_duration(120000, buf, sizeof(buf));
	ck_assert_str_eq(buf, "2m");
	format_duration(7200000, buf, sizeof(buf));
	ck_assert_str_eq(buf, "2h");
	format_duration(86400000, buf, sizeof(buf));
	ck_assert_str_eq(buf, "1d");
	format_duration(0, buf, sizeof(buf));
	ck_assert_str_eq(buf, "0s");
	format_duration(1500, buf, sizeof(buf));
	ck_assert_str_eq(buf, "1500ms");
}
END_TEST

START_TEST(edit_distance_counts_edits)
{
	char	 longw[100];

	ck_assert_uint_eq(edit_distance("server", "server"), 0);
	ck_assert_uint_eq(edit_distance("sever", "server"), 1);
	ck_assert_uint_eq(edit_distance("intervall", "interval"), 1);
	ck_assert_uint_eq(edit_distance("", "abc"), 3);
	ck_assert_uint_eq(edit_distance("ab", "ba"), 2);
	memset(longw, 'a', sizeof(longw) - 1);
	longw[sizeof(longw) - 1] = '\0';
	ck_assert_uint_ge(edit_distance(longw, "a"), 3);	/* too long */
}
END_TEST

/* ---- split_words ---- */

/* Split s, which must succeed, and compare with the NULL-ended want. */
static void
assert_words(const char *s, const char **want)
{
	char		**argv = NULL;
	const char	 *err = NULL;
	int		  argc = -1, i;

	ck_assert_msg(split_words(s, &argv, &argc, &err) == 0,
	    "'%s': %s", s, err);
	for (i = 0; want[i] != NULL; i++) {
		ck_assert_ptr_nonnull(argv[i]);
		ck_assert_str_eq(argv[i], want[i]);
	}
	ck_assert_ptr_null(argv[i]);
	ck_assert_int_eq(argc, i);
	free_words(argv);
}

START_TEST(split_words_splits_on_blanks)
{
	assert_words("/bin/check -w 10% -c 5%", (const char *[]){
	    "/bin/check", "-w", "10%", "-c", "5%", NULL });
	assert_words("  \t/bin/x \t y  ", (const char *[]){
	    "/bin/x", "y", NULL });
}
END_TEST

START_TEST(split_words_groups_quotes_and_escapes)
{
	assert_words("/bin/x \"a b\" c", (const char *[]){
	    "/bin/x", "a b", "c", NULL });
	assert_words("/bin/x \"say \\\"hi\\\"\" \"back\\\\slash\"",
	    (const char *[]){ "/bin/x", "say \"hi\"", "back\\slash", NULL });
	assert_words("/bin/x a\\ b", (const char *[]){
	    "/bin/x", "a b", NULL });
	assert_words("/bin/x pre\"mid dle\"post", (const char *[]){
	    "/bin/x", "premid dlepost", NULL });
	assert_words("/bin/x \"\"", (const char *[]){ "/bin/x", "", NULL });
	assert_words("/bin/x trailing\\", (const char *[]){
	    "/bin/x", "trailing\\", NULL });
}
END_TEST

START_TEST(split_words_rejects_empty_and_unterminated)
{
	char		**argv = NULL;
	const char	 *err = NULL;
	int		  argc = -1;

	ck_assert_int_eq(split_words("", &argv, &argc, &err), -1);
	ck_assert_str_eq(err, "empty command");
	err = NULL;
	ck_assert_int_eq(split_words(" \t ", &argv, &argc, &err), -1);
	ck_assert_str_eq(err, "empty command");
	err = NULL;
	/* the words before the open quote are freed, not leaked */
	ck_assert_int_eq(split_words("/bin/x a b \"c d", &argv, &argc, &err),
	    -1);
	ck_assert_str_eq(err, "unterminated string");
	err = NULL;
	ck_assert_int_eq(split_words("\"", &argv, &argc, &err), -1);
	ck_assert_str_eq(err, "unterminated string");
	err = NULL;
	ck_assert_int_eq(split_words("/bin/x \"ends in\\\"", &argv, &argc,
	    &err), -1);
	ck_assert_str_eq(err, "unterminated string");
	ck_assert_ptr_null(argv);	/* untouched on error */
	ck_assert_int_eq(argc, -1);
	free_words(NULL);		/* safe */
}
END_TEST

static Suite *
daemon_suite(void)
{
	Suite	*s = suite_create("daemon");
	TCase	*tc;

	tc = tcase_create("files");
	tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_test(tc, pidfile_holds_pid_and_lock);
	tcase_add_test(tc, pidfile_second_open_fails_with_ewouldblock);
	tcase_add_test(tc, pidfile_in_missing_folder_fails);
	tcase_add_test(tc, mkdir_p_creates_every_level);
	tcase_add_test(tc, mkdir_p_accepts_existing_and_odd_slashes);
	tcase_add_test(tc, mkdir_p_fails_on_a_file_in_the_way);
	tcase_add_test(tc, mkdir_p_rejects_empty_path);
	tcase_add_test(tc, check_conf_prints_summary_and_exits_zero);
	tcase_add_test(tc, check_conf_prints_every_error_and_exits_nonzero);
	suite_add_tcase(s, tc);

	tc = tcase_create("units");
	tcase_add_test(tc, duration_units_are_understood);
	tcase_add_test(tc, duration_rejects_bad_text);
	tcase_add_test(tc, compound_durations_add_up);
	tcase_add_test(tc, compound_durations_go_down_the_units_once_each);
	tcase_add_test(tc, bare_number_is_no_duration_but_zero_is);
	tcase_add_test(tc, duration_rejects_overflow);
	tcase_add_test(tc, uint_accepts_up_to_max);
	tcase_add_test(tc, uint_rejects_bad_text_and_overflow);
	tcase_add_test(tc, percent_accepts_0_to_100);
	tcase_add_test(tc, percent_rejects_out_of_range_and_junk);
	tcase_add_test(tc, hhmm_range_is_minutes_after_midnight);
	tcase_add_test(tc, format_duration_picks_shortest_exact_unit);
	tcase_add_test(tc, edit_distance_counts_edits);
	tcase_add_test(tc, split_words_splits_on_blanks);
	tcase_add_test(tc, split_words_groups_quotes_and_escapes);
	tcase_add_test(tc, split_words_rejects_empty_and_unterminated);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return ckrun(daemon_suite());
}
