/*
 * test_perfdata.c: reading plugin output (probed/perfdata.c): the message,
 * perfdata of real monitoring-plugins outputs, units, quoted labels,
 * garbage, too many series, nothing at all.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "result.h"
#include "perfdata.h"

#include "ckrun.h"

#define TOL	1e-9

static int	 out(const char *, char *, size_t);
static double	 val(const char *);
static int	 has(const char *);
static Suite	*perfdata_suite(void);

static struct perf_value pv[PERF_MAX];
static int		 npv;

/* Run perfdata_output on text; the series land in pv/npv. */
static int
out(const char *text, char *msg, size_t len)
{
	char dummy[RESULT_MSG_MAX];

	memset(pv, 0, sizeof(pv));
	if (msg == NULL) {
		msg = dummy;
		len = sizeof(dummy);
	}
	npv = perfdata_output(text, msg, len, pv, PERF_MAX);
	return npv;
}

static int
has(const char *label)
{
	int i;

	for (i = 0; i < npv; i++)
		if (strcmp(pv[i].label, label) == 0)
			return 1;
	return 0;
}

/* The value of a label; fails the test when it is missing. */
static double
val(const char *label)
{
	int i;

	for (i = 0; i < npv; i++)
		if (strcmp(pv[i].label, label) == 0)
			return pv[i].value;
	ck_abort_msg("no series '%s'", label);
	return NAN;
}

START_TEST(check_load_output_gives_three_series)
{
	char msg[RESULT_MSG_MAX];

	ck_assert_int_eq(out("LOAD OK - total load average: 0.42, 0.62, 0.77|"
	    "load1=0.420;5.000;10.000;0; load5=0.620;4.000;8.000;0; "
	    "load15=0.770;3.000;6.000;0; \n", msg, sizeof(msg)), 3);
	ck_assert_str_eq(msg, "LOAD OK - total load average: 0.42, 0.62, 0.77");
	ck_assert_str_eq(pv[0].label, "load1");
	ck_assert_double_eq_tol(val("load1"), 0.42, TOL);
	ck_assert_double_eq_tol(val("load5"), 0.62, TOL);
	ck_assert_double_eq_tol(val("load15"), 0.77, TOL);
}
END_TEST

START_TEST(check_disk_root_label_and_bytes)
{
	char msg[RESULT_MSG_MAX];

	ck_assert_int_eq(out("DISK OK - free space: / 81250MiB (82% inode=97%);"
	    "| /=17547919360B;243497277849;257024904396;0;270552530944\n",
	    msg, sizeof(msg)), 1);
	ck_assert_str_eq(msg, "DISK OK - free space: / 81250MiB (82% "
	    "inode=97%);");
	ck_assert_str_eq(pv[0].label, "_");
	ck_assert_double_eq_tol(val("_"), 17547919360.0, TOL);
}
END_TEST

START_TEST(check_disk_megabytes_are_bytes)
{
	out("DISK OK| /=1234MB;2000;3000;0;4000 /var/log=2GB;;;; /tmp=5KB "
	    "/t=1TB", NULL, 0);
	ck_assert_int_eq(npv, 4);
	ck_assert_double_eq_tol(val("_"), 1234.0 * 1024 * 1024, TOL);
	ck_assert_double_eq_tol(val("_var_log"), 2.0 * 1024 * 1024 * 1024,
	    TOL);
	ck_assert_double_eq_tol(val("_tmp"), 5.0 * 1024, TOL);
	ck_assert_double_eq_tol(val("_t"), 1024.0 * 1024 * 1024 * 1024, 1);
}
END_TEST

START_TEST(check_http_time_in_seconds_size_in_bytes)
{
	char msg[RESULT_MSG_MAX];

	out("HTTP OK: HTTP/1.0 200 OK - 4087 bytes in 0.002 second response "
	    "time |time=0.001780s;;;0.000000;10.000000 size=4087B;;;0;\n",
	    msg, sizeof(msg));
	ck_assert_int_eq(npv, 2);
	ck_assert_str_eq(msg, "HTTP OK: HTTP/1.0 200 OK - 4087 bytes in 0.002 "
	    "second response time");
	ck_assert_double_eq_tol(val("time"), 0.00178, TOL);
	ck_assert_double_eq_tol(val("size"), 4087, TOL);
}
END_TEST

START_TEST(time_units_become_seconds)
{
	out("PING OK|rta=0.044000ms;100.000000;200.000000;0.000000 pl=0%;20;40;0;"
	    " t=250us x=3s", NULL, 0);
	ck_assert_int_eq(npv, 4);
	ck_assert_double_eq_tol(val("rta"), 0.000044, TOL);
	ck_assert_double_eq_tol(val("pl"), 0, TOL);
	ck_assert_double_eq_tol(val("t"), 0.00025, TOL);
	ck_assert_double_eq_tol(val("x"), 3, TOL);
}
END_TEST

START_TEST(counter_percent_plain_and_signed_values)
{
	out("OK | c=123c p=99.5% n=-4 e=1.5e3 f=+2 g=.5", NULL, 0);
	ck_assert_int_eq(npv, 6);
	ck_assert_double_eq_tol(val("c"), 123, TOL);
	ck_assert_double_eq_tol(val("p"), 99.5, TOL);
	ck_assert_double_eq_tol(val("n"), -4, TOL);
	ck_assert_double_eq_tol(val("e"), 1500, TOL);
	ck_assert_double_eq_tol(val("f"), 2, TOL);
	ck_assert_double_eq_tol(val("g"), 0.5, TOL);
}
END_TEST

START_TEST(unknown_unit_keeps_the_number)
{
	out("OK | rx=12Octets", NULL, 0);
	ck_assert_int_eq(npv, 1);
	ck_assert_double_eq_tol(val("rx"), 12, TOL);
}
END_TEST

START_TEST(undetermined_value_is_nan)
{
	out("OK | a=U;1;2 b=3", NULL, 0);
	ck_assert_int_eq(npv, 2);
	ck_assert(isnan(val("a")));
	ck_assert_double_eq_tol(val("b"), 3, TOL);
}
END_TEST

START_TEST(quoted_labels_with_spaces_and_quotes)
{
	out("OK | 'C:\\ Label'=1 'it''s'=2 'a=b'=3 'x y z'=4MB", NULL, 0);
	ck_assert_int_eq(npv, 4);
	ck_assert_double_eq_tol(val("C___Label"), 1, TOL);
	ck_assert_double_eq_tol(val("it_s"), 2, TOL);
	ck_assert_double_eq_tol(val("a_b"), 3, TOL);
	ck_assert_double_eq_tol(val("x_y_z"), 4.0 * 1024 * 1024, TOL);
}
END_TEST

START_TEST(long_label_cut_to_rrd_limit)
{
	out("OK | a_very_long_label_name_beyond_nineteen=7", NULL, 0);
	ck_assert_int_eq(npv, 1);
	ck_assert_uint_eq(strlen(pv[0].label), PERF_LABEL_MAX - 1);
	ck_assert_str_eq(pv[0].label, "a_very_long_label_n");
}
END_TEST

START_TEST(duplicate_label_after_sanitising_keeps_first)
{
	out("OK | a/b=1 a.b=2 a_b=3 c=4", NULL, 0);
	ck_assert_int_eq(npv, 2);
	ck_assert_double_eq_tol(val("a_b"), 1, TOL);
	ck_assert_double_eq_tol(val("c"), 4, TOL);
}
END_TEST

START_TEST(garbage_items_are_skipped)
{
	out("OK | =5 novalue= x=abc y=1x2 z=0x10 w=inf v=nan "
	    "'unterminated=3 good=1", NULL, 0);
	ck_assert_int_eq(npv, 0);
	out("OK | junk good=1 ;;; =;= a==2 b=3;;;; ''=4 c=--1 d=1e", NULL, 0);
	ck_assert(has("good"));
	ck_assert(has("b"));
	ck_assert(has("d"));	/* "1e": 1, unit "e" */
	ck_assert(!has("a"));
	ck_assert(!has("c"));
	ck_assert_int_eq(npv, 3);
}
END_TEST

START_TEST(too_many_keeps_the_first_perf_max)
{
	char	 buf[1024];
	size_t	 o;
	int	 i;

	o = snprintf(buf, sizeof(buf), "OK |");
	for (i = 0; i < PERF_MAX + 5; i++)
		o += snprintf(buf + o, sizeof(buf) - o, " s%d=%d", i, i);
	out(buf, NULL, 0);
	ck_assert_int_eq(npv, PERF_MAX);
	ck_assert_str_eq(pv[PERF_MAX - 1].label, "s7");
	ck_assert_double_eq_tol(pv[PERF_MAX - 1].value, PERF_MAX - 1, TOL);
}
END_TEST

START_TEST(empty_output_and_no_perfdata)
{
	char msg[RESULT_MSG_MAX];

	ck_assert_int_eq(out("", msg, sizeof(msg)), 0);
	ck_assert_str_eq(msg, "");
	ck_assert_int_eq(out("   \n\n", msg, sizeof(msg)), 0);
	ck_assert_str_eq(msg, "");
	ck_assert_int_eq(out("OK: fine\n", msg, sizeof(msg)), 0);
	ck_assert_str_eq(msg, "OK: fine");
	ck_assert_int_eq(out("OK |", msg, sizeof(msg)), 0);
	ck_assert_str_eq(msg, "OK");
	ck_assert_int_eq(out("|a=1", msg, sizeof(msg)), 1);
	ck_assert_str_eq(msg, "");
	ck_assert_int_eq(perfdata_parse(NULL, pv, 0, PERF_MAX), 0);
	ck_assert_int_eq(perfdata_parse("", pv, 0, PERF_MAX), 0);
}
END_TEST

START_TEST(long_text_perfdata_after_its_bar)
{
	char msg[RESULT_MSG_MAX];

	out("DISK OK - free space: / 3326 MB (56%); | /=2643MB;5948;5958;0;5968\n"
	    "/ 15272 MB (77%);\n"
	    "/boot 68 MB (69%);\n"
	    "/home 69357 MB (27%);\n"
	    "/var/log 819 MB (84%); | /boot=68MB;88;93;0;98\n"
	    "/home=69357MB;253404;253409;0;253414\n"
	    "/var/log=818MB;970;975;0;980\n", msg, sizeof(msg));
	ck_assert_str_eq(msg, "DISK OK - free space: / 3326 MB (56%);");
	ck_assert_int_eq(npv, 4);
	ck_assert_double_eq_tol(val("_"), 2643.0 * 1024 * 1024, TOL);
	ck_assert_double_eq_tol(val("_boot"), 68.0 * 1024 * 1024, TOL);
	ck_assert_double_eq_tol(val("_home"), 69357.0 * 1024 * 1024, TOL);
	ck_assert_double_eq_tol(val("_var_log"), 818.0 * 1024 * 1024, TOL);
}
END_TEST

START_TEST(long_text_without_bar_has_no_perfdata)
{
	out("OK - fine\nline two a=1\nline three b=2\n", NULL, 0);
	ck_assert_int_eq(npv, 0);
}
END_TEST

START_TEST(message_trimmed_controls_replaced_and_capped)
{
	char	 msg[16];
	char	 big[400];

	out("  \tWARN\x01 x\tz  \r\n", msg, sizeof(msg));
	ck_assert_str_eq(msg, "WARN? x z");
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	out(big, msg, sizeof(msg));
	ck_assert_uint_eq(strlen(msg), sizeof(msg) - 1);
	out("CRLF line|a=1\r\n", msg, sizeof(msg));
	ck_assert_str_eq(msg, "CRLF line");
	ck_assert_int_eq(npv, 1);
}
END_TEST

START_TEST(parse_appends_after_existing_series)
{
	int n;

	memset(pv, 0, sizeof(pv));
	n = perfdata_parse("a=1 b=2", pv, 0, PERF_MAX);
	ck_assert_int_eq(n, 2);
	n = perfdata_parse("b=5 c=3", pv, n, PERF_MAX);
	ck_assert_int_eq(n, 3);
	ck_assert_str_eq(pv[2].label, "c");
	ck_assert_double_eq_tol(pv[1].value, 2, TOL);
	n = perfdata_parse("d=4", pv, n, 3);
	ck_assert_int_eq(n, 3);
}
END_TEST

static Suite *
perfdata_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("perfdata");
	tc = tcase_create("plugins");
	tcase_add_test(tc, check_load_output_gives_three_series);
	tcase_add_test(tc, check_disk_root_label_and_bytes);
	tcase_add_test(tc, check_disk_megabytes_are_bytes);
	tcase_add_test(tc, check_http_time_in_seconds_size_in_bytes);
	tcase_add_test(tc, long_text_perfdata_after_its_bar);
	tcase_add_test(tc, long_text_without_bar_has_no_perfdata);
	suite_add_tcase(s, tc);

	tc = tcase_create("values");
	tcase_add_test(tc, time_units_become_seconds);
	tcase_add_test(tc, counter_percent_plain_and_signed_values);
	tcase_add_test(tc, unknown_unit_keeps_the_number);
	tcase_add_test(tc, undetermined_value_is_nan);
	suite_add_tcase(s, tc);

	tc = tcase_create("labels");
	tcase_add_test(tc, quoted_labels_with_spaces_and_quotes);
	tcase_add_test(tc, long_label_cut_to_rrd_limit);
	tcase_add_test(tc, duplicate_label_after_sanitising_keeps_first);
	suite_add_tcase(s, tc);

	tc = tcase_create("bad");
	tcase_add_test(tc, garbage_items_are_skipped);
	tcase_add_test(tc, too_many_keeps_the_first_perf_max);
	tcase_add_test(tc, empty_output_and_no_perfdata);
	tcase_add_test(tc, message_trimmed_controls_replaced_and_capped);
	tcase_add_test(tc, parse_appends_after_existing_series);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return ckrun(perfdata_suite());
}
