/*
 * test_history.c: the bounded event history (lib/history.c): each event
 * one line in order, the file turned into history.1.jsonl past
 * HISTORY_MAX so the two stay bounded and hold the newest, and a reader
 * that takes whole lines only, oldest first.
 */
#include <sys/stat.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "history.h"
#include "spool.h"

#include "ckrun.h"
#include "tmpdir.h"

static char	 dir[64];
static Suite	*history_suite(void);

static void
setup(void)
{
	tmpdir_make(dir, sizeof(dir), "history");
}

static void
teardown(void)
{
	tmpdir_remove(dir);
}

static void
event(struct spool_event *ev, uint64_t seq)
{
	memset(ev, 0, sizeof(*ev));
	ev->seq = seq;
	snprintf(ev->id, sizeof(ev->id), "farm/web%llu",
	    (unsigned long long)(seq % 7));
	ev->time = 1700000000 + (int64_t)seq;
	snprintf(ev->old_state, sizeof(ev->old_state), "up");
	snprintf(ev->new_state, sizeof(ev->new_state), "down");
	memset(ev->message, 'm', 200);
}

static off_t
size_of(const char *name)
{
	char		path[128];
	struct stat	sb;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return stat(path, &sb) == 0 ? sb.st_size : -1;
}

/* The seq of each line of text, in order; returns how many. */
static size_t
seqs(const char *text, uint64_t *out, size_t max)
{
	const char	*p;
	size_t		 n = 0;

	for (p = text; *p != '\0' && n < max; p = strchr(p, '\n') + 1) {
		ck_assert_msg(strncmp(p, "{\"seq\":", 7) == 0, "line %zu: %.40s",
		    n, p);
		out[n++] = strtoull(p + 7, NULL, 10);
		ck_assert_ptr_nonnull(strchr(p, '\n'));
	}
	return n;
}

START_TEST(events_are_lines_in_order)
{
	struct history		*h;
	struct spool_event	 ev;
	uint64_t		 s[8];
	char			*text;
	size_t			 len;

	h = history_open(dir);
	ck_assert_ptr_nonnull(h);
	for (int i = 1; i <= 3; i++) {
		event(&ev, (uint64_t)i);
		ck_assert_int_eq(history_append(h, &ev), 0);
	}
	history_close(h);
	text = history_load(dir, &len);
	ck_assert_ptr_nonnull(text);
	ck_assert_uint_eq(strlen(text), len);
	ck_assert_uint_eq(seqs(text, s, 8), 3);
	ck_assert(s[0] == 1 && s[1] == 2 && s[2] == 3);
	ck_assert_int_eq(size_of(HISTORY_OLD), -1);
	free(text);
}
END_TEST

START_TEST(past_the_limit_it_turns_and_stays_bounded)
{
	struct history		*h;
	struct spool_event	 ev;
	uint64_t		*s, i, n;
	char			*text;
	size_t			 len, k;

	h = history_open(dir);
	ck_assert_ptr_nonnull(h);
	n = 3 * HISTORY_MAX / 300;	/* three files' worth of lines */
	for (i = 1; i <= n; i++) {
		event(&ev, i);
		ck_assert_int_eq(history_append(h, &ev), 0);
	}
	history_close(h);
	ck_assert_int_ge(size_of(HISTORY_OLD), HISTORY_MAX);
	ck_assert_int_lt(size_of(HISTORY_OLD), HISTORY_MAX + 1024);
	ck_assert_int_lt(size_of(HISTORY_FILE), HISTORY_MAX + 1024);
	text = history_load(dir, &len);
	ck_assert_ptr_nonnull(text);
	s = calloc(n, sizeof(*s));
	k = seqs(text, s, n);
	/* The newest are kept, oldest first, with no gap. */
	ck_assert_uint_lt(k, n);
	ck_assert_uint_ge(k, HISTORY_MAX / 300);
	ck_assert_uint_eq(s[k - 1], n);
	for (size_t j = 1; j < k; j++)
		ck_assert_uint_eq(s[j], s[j - 1] + 1);
	free(s);
	free(text);
}
END_TEST

START_TEST(a_cut_last_line_is_left_out)
{
	struct history		*h;
	struct spool_event	 ev;
	char			 path[128], *text;
	uint64_t		 s[4];
	size_t			 len;
	FILE			*f;

	h = history_open(dir);
	ck_assert_ptr_nonnull(h);
	event(&ev, 5);
	ck_assert_int_eq(history_append(h, &ev), 0);
	history_close(h);
	snprintf(path, sizeof(path), "%s/%s", dir, HISTORY_FILE);
	f = fopen(path, "a");
	ck_assert_ptr_nonnull(f);
	fputs("{\"seq\":6,\"id\":\"half", f);
	fclose(f);
	text = history_load(dir, &len);
	ck_assert_uint_eq(seqs(text, s, 4), 1);
	ck_assert_uint_eq(s[0], 5);
	free(text);
}
END_TEST

static Suite *
history_suite(void)
{
	Suite	*s = suite_create("history");
	TCase	*tc = tcase_create("history");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, events_are_lines_in_order);
	tcase_add_test(tc, past_the_limit_it_turns_and_stays_bounded);
	tcase_add_test(tc, a_cut_last_line_is_left_out);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return ckrun(history_suite());
}
