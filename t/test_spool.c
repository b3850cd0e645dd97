/*
 * test_spool.c: the event spool (lib/spool.c) and probed's worker that
 * writes it (probed/spoolq.c): durable files, sequence numbers that never
 * repeat across reopen, and an event reported only once it is on disk.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <event2/event.h>
#include <event2/thread.h>

#include "fsutil.h"
#include "spool.h"
#include "spoolq.h"

#include "ckrun.h"
#include "tmpdir.h"

static char	 dir[64];
static Suite	*spool_suite(void);

static void
setup(void)
{
	tmpdir_make(dir, sizeof(dir), "spool");
}

static void
teardown(void)
{
	tmpdir_remove(dir);
}

static void
mkevent(struct spool_event *ev, const char *id, const char *from,
    const char *to)
{
	memset(ev, 0, sizeof(*ev));
	snprintf(ev->id, sizeof(ev->id), "%s", id);
	snprintf(ev->old_state, sizeof(ev->old_state), "%s", from);
	snprintf(ev->new_state, sizeof(ev->new_state), "%s", to);
	snprintf(ev->message, sizeof(ev->message), "HTTP 503 \"quoted\"\n");
	ev->time = 1700000000;
}

START_TEST(append_writes_a_file_that_reads_back)
{
	struct spool		*s;
	struct spool_event	 ev, back;
	char			 sdir[128];

	ck_assert_ptr_nonnull(s = spool_open(dir));
	mkevent(&ev, "shop/web1", "up", "down");
	ev.flapping = 1;
	ev.downtime = 1;
	ev.unreachable = 1;
	ck_assert_int_eq(spool_append(s, &ev), 0);
	ck_assert_uint_eq(ev.seq, 1);
	snprintf(sdir, sizeof(sdir), "%s/spool", dir);
	ck_assert_int_eq(spool_read(sdir, ev.seq, &back), 0);
	ck_assert_uint_eq(back.seq, 1);
	ck_assert_str_eq(back.id, "shop/web1");
	ck_assert_str_eq(back.old_state, "up");
	ck_assert_str_eq(back.new_state, "down");
	ck_assert_str_eq(back.message, "HTTP 503 \"quoted\"\n");
	ck_assert_int_eq(back.time, 1700000000);
	ck_assert_int_eq(back.flapping, 1);
	ck_assert_int_eq(back.downtime, 1);
	ck_assert_int_eq(back.acked, 0);
	ck_assert_int_eq(back.unreachable, 1);
	spool_close(s);
}
END_TEST

START_TEST(sequence_never_repeats_across_reopen)
{
	struct spool		*s;
	struct spool_event	 ev;
	uint64_t		*seqs, last = 0;
	size_t			 n, i;
	char			 sdir[128];

	for (i = 0; i < 3; i++) {
		ck_assert_ptr_nonnull(s = spool_open(dir));
		mkevent(&ev, "www", "up", "down");
		ck_assert_int_eq(spool_append(s, &ev), 0);
		ck_assert_uint_gt(ev.seq, last);
		last = ev.seq;
		mkevent(&ev, "www", "down", "up");
		ck_assert_int_eq(spool_append(s, &ev), 0);
		ck_assert_uint_gt(ev.seq, last);
		last = ev.seq;
		spool_close(s);
	}
	/* The pager deletes what it delivered: numbers still only grow. */
	snprintf(sdir, sizeof(sdir), "%s/spool", dir);
	ck_assert_int_eq(spool_list(sdir, 0, &seqs, &n), 0);
	ck_assert_uint_eq(n, 6);
	for (i = 0; i < n; i++) {
		char path[256];
		snprintf(path, sizeof(path), "%s/%020llu.json", sdir,
		    (unsigned long long)seqs[i]);
		ck_assert_int_eq(unlink(path), 0);
	}
	free(seqs);
	ck_assert_ptr_nonnull(s = spool_open(dir));
	mkevent(&ev, "www", "up", "down");
	ck_assert_int_eq(spool_append(s, &ev), 0);
	ck_assert_uint_gt(ev.seq, last);
	spool_close(s);
}
END_TEST

START_TEST(list_skips_temporaries_and_sorts)
{
	struct spool		*s;
	struct spool_event	 ev;
	uint64_t		*seqs;
	size_t			 n, i;
	char			 sdir[128], path[256];
	FILE			*fp;

	ck_assert_ptr_nonnull(s = spool_open(dir));
	for (i = 0; i < 12; i++) {
		mkevent(&ev, "www", "up", "down");
		ck_assert_int_eq(spool_append(s, &ev), 0);
	}
	snprintf(sdir, sizeof(sdir), "%s/spool", dir);
	snprintf(path, sizeof(path), "%s/.tmp.00000000000000000099.json", sdir);
	ck_assert_ptr_nonnull(fp = fopen(path, "w"));
	fputs("{\"seq\":", fp);	/* a write cut by a crash */
	fclose(fp);
	ck_assert_int_eq(spool_list(sdir, 5, &seqs, &n), 0);
	ck_assert_uint_eq(n, 7);
	for (i = 0; i < n; i++)
		ck_assert_uint_eq(seqs[i], 6 + i);
	free(seqs);
	ck_assert_int_eq(spool_read(sdir, 99, &ev), -1);
	spool_close(s);
}
END_TEST

START_TEST(message_that_is_not_utf8_is_kept_readable)
{
	struct spool		*s;
	struct spool_event	 ev, back;
	char			 sdir[128];

	ck_assert_ptr_nonnull(s = spool_open(dir));
	mkevent(&ev, "mx1", "up", "down");
	snprintf(ev.message, sizeof(ev.message), "banner caf\xe9 \xff ok");
	ck_assert_int_eq(spool_append(s, &ev), 0);
	snprintf(sdir, sizeof(sdir), "%s/spool", dir);
	ck_assert_int_eq(spool_read(sdir, ev.seq, &back), 0);
	ck_assert_str_eq(back.message, "banner caf? ? ok");
	spool_close(s);
}
END_TEST

START_TEST(bad_event_text_is_rejected)
{
	struct spool_event ev;

	ck_assert_int_eq(spool_event_parse("", &ev), -1);
	ck_assert_int_eq(spool_event_parse("{\"seq\":1}", &ev), -1);
	ck_assert_int_eq(spool_event_parse("[1,2]", &ev), -1);
	ck_assert_int_eq(spool_event_parse("{\"seq\":\"x\",\"id\":\"a\"}", &ev),
	    -1);
	ck_assert_int_eq(spool_event_parse("{\"seq\":3,\"id\":\"a\"}", &ev), 0);
	ck_assert_uint_eq(ev.seq, 3);
}
END_TEST

/* The worker's callback runs on the loop; the file must already exist. */
static int	 ndone;
static int	 on_disk_when_told;

static void
on_done(void *arg, const struct spool_event *ev, void *ctx)
{
	struct spool_event	 back;
	char			 sdir[128];

	snprintf(sdir, sizeof(sdir), "%s/spool", dir);
	if (spool_read(sdir, ev->seq, &back) == 0 &&
	    strcmp(back.id, ev->id) == 0 && ctx == (void *)0x1234)
		on_disk_when_told++;
	if (++ndone == 50)
		event_base_loopbreak(arg);
}

START_TEST(event_is_on_disk_before_the_loop_hears_of_it)
{
	struct event_base	*base;
	struct spool		*s;
	struct spoolq		*q;
	struct spool_event	 ev;
	struct timeval		 tv = { 10, 0 };
	int			 i;

	ck_assert_int_eq(evthread_use_pthreads(), 0);
	ck_assert_ptr_nonnull(base = event_base_new());
	ck_assert_ptr_nonnull(s = spool_open(dir));
	q = spoolq_new(base, s, on_done, base);
	ndone = on_disk_when_told = 0;
	for (i = 0; i < 50; i++) {
		mkevent(&ev, i % 2 ? "a" : "b", "up", "down");
		spoolq_event(q, &ev, (void *)0x1234);
	}
	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
	spoolq_free(q);
	ck_assert_int_eq(ndone, 50);
	ck_assert_int_eq(on_disk_when_told, 50);
	ck_assert_uint_eq(spool_last_seq(s), 50);
	spool_close(s);
	event_base_free(base);
}
END_TEST


/* Write text to the spool folder's file name (made by hand, as a crash or
 * a person would leave it). */
static void
put(const char *name, const char *text)
{
	char	 path[256];
	FILE	*fp;

	snprintf(path, sizeof(path), "%s/spool/%s", dir, name);
	ck_assert_ptr_nonnull(fp = fopen(path, "w"));
	fputs(text, fp);
	ck_assert_int_eq(fclose(fp), 0);
}

static int
exists(const char *name)
{
	char	 path[256];

	snprintf(path, sizeof(path), "%s/spool/%s", dir, name);
	return access(path, F_OK) == 0;
}

START_TEST(lost_seq_file_numbers_go_above_events_on_disk)
{
	struct spool		*s;
	struct spool_event	 ev, back;
	char			 sdir[128], path[256];

	ck_assert_ptr_nonnull(s = spool_open(dir));
	mkevent(&ev, "www", "up", "down");
	ck_assert_int_eq(spool_append(s, &ev), 0);
	spool_close(s);
	/* An undelivered event far above the block, then seq is lost. */
	put("00000000000000005000.json", "{\"seq\":5000,\"id\":\"old\","
	    "\"old\":\"up\",\"new\":\"down\"}\n");
	snprintf(path, sizeof(path), "%s/spool/seq", dir);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_ptr_nonnull(s = spool_open(dir));
	mkevent(&ev, "www", "down", "up");
	ck_assert_int_eq(spool_append(s, &ev), 0);
	ck_assert_uint_gt(ev.seq, 5000);
	snprintf(sdir, sizeof(sdir), "%s/spool", dir);
	ck_assert_int_eq(spool_read(sdir, 5000, &back), 0);
	ck_assert_str_eq(back.id, "old");
	spool_close(s);
}
END_TEST

START_TEST(seq_file_with_garbage_still_goes_above_events)
{
	struct spool		*s;
	struct spool_event	 ev;

	ck_assert_ptr_nonnull(s = spool_open(dir));
	spool_close(s);
	put("00000000000000000777.json", "{\"seq\":777,\"id\":\"a\"}\n");
	put("seq", "99999999999999999999999999\n");
	ck_assert_ptr_nonnull(s = spool_open(dir));
	mkevent(&ev, "www", "up", "down");
	ck_assert_int_eq(spool_append(s, &ev), 0);
	ck_assert_uint_gt(ev.seq, 777);
	ck_assert_uint_le(ev.seq, SPOOL_SEQ_MAX);
	spool_close(s);
}
END_TEST

START_TEST(huge_file_name_is_left_alone_and_never_wraps)
{
	struct spool		*s;
	struct spool_event	 ev, back;
	uint64_t		*seqs;
	size_t			 n;
	char			 sdir[128];

	ck_assert_ptr_nonnull(s = spool_open(dir));
	mkevent(&ev, "www", "up", "down");
	ck_assert_int_eq(spool_append(s, &ev), 0);
	ck_assert_uint_eq(ev.seq, 1);
	spool_close(s);
	put("18446744073709551615.json", "{\"seq\":1,\"id\":\"huge\"}\n");
	put("99999999999999999999999.json", "{\"seq\":1,\"id\":\"huger\"}\n");
	ck_assert_ptr_nonnull(s = spool_open(dir));
	mkevent(&ev, "www", "down", "up");
	ck_assert_int_eq(spool_append(s, &ev), 0);
	ck_assert_uint_gt(ev.seq, 1);
	ck_assert_uint_lt(ev.seq, 100000);
	snprintf(sdir, sizeof(sdir), "%s/spool", dir);
	ck_assert_int_eq(spool_read(sdir, 1, &back), 0);
	ck_assert_str_eq(back.new_state, "down");	/* not overwritten */
	ck_assert(exists("18446744073709551615.json"));
	ck_assert(exists("99999999999999999999999.json"));
	ck_assert_int_eq(spool_list(sdir, 0, &seqs, &n), 0);
	ck_assert_uint_eq(n, 2);
	free(seqs);
	spool_close(s);
}
END_TEST

START_TEST(numbers_stop_at_the_maximum)
{
	struct spool		*s;
	struct spool_event	 ev;
	char			 name[64], sdir[128];
	uint64_t		*seqs;
	size_t			 n;

	ck_assert_ptr_nonnull(s = spool_open(dir));
	spool_close(s);
	snprintf(name, sizeof(name), "%020llu.json",
	    (unsigned long long)SPOOL_SEQ_MAX);
	put(name, "{\"seq\":9007199254740991,\"id\":\"last\"}\n");
	ck_assert_ptr_nonnull(s = spool_open(dir));
	mkevent(&ev, "www", "up", "down");
	ck_assert_int_eq(spool_append(s, &ev), -1);
	ck_assert_int_eq(spool_append(s, &ev), -1);
	snprintf(sdir, sizeof(sdir), "%s/spool", dir);
	ck_assert_int_eq(spool_list(sdir, 0, &seqs, &n), 0);
	ck_assert_uint_eq(n, 1);	/* nothing wrapped to 0 or 1 */
	ck_assert_uint_eq(seqs[0], SPOOL_SEQ_MAX);
	free(seqs);
	spool_close(s);
}
END_TEST

START_TEST(crash_leftovers_are_removed_at_open)
{
	struct spool	*s;

	ck_assert_ptr_nonnull(s = spool_open(dir));
	spool_close(s);
	put(".tmp.00000000000000000007.json", "{\"seq\":");
	put(".tmp.seq", "10");
	ck_assert_ptr_nonnull(s = spool_open(dir));
	ck_assert(!exists(".tmp.00000000000000000007.json"));
	ck_assert(!exists(".tmp.seq"));
	spool_close(s);
}
END_TEST

START_TEST(taken_name_is_skipped_not_replaced)
{
	struct spool		*s;
	struct spool_event	 ev, back;
	char			 sdir[128];

	ck_assert_ptr_nonnull(s = spool_open(dir));
	/* Appears after the open, as a second writer would make it. */
	put("00000000000000000001.json", "{\"seq\":1,\"id\":\"first\"}\n");
	mkevent(&ev, "www", "up", "down");
	ck_assert_int_eq(spool_append(s, &ev), 0);
	ck_assert_uint_eq(ev.seq, 2);
	snprintf(sdir, sizeof(sdir), "%s/spool", dir);
	ck_assert_int_eq(spool_read(sdir, 1, &back), 0);
	ck_assert_str_eq(back.id, "first");
	spool_close(s);
}
END_TEST

/*
 * The calls that make a write durable, recorded in order: "F" fsync of a
 * regular file, "D" fsync of a folder, "R name" rename, "L name" link.
 * hold: the first fsync waits until it is cleared (to queue behind it).
 */
static char		 calls[4096];
static volatile int	 hold;

static void
record(const char *what)
{
	strncat(calls, what, sizeof(calls) - strlen(calls) - 1);
}

static int
rec_fsync(int fd)
{
	struct stat st;

	while (hold)
		usleep(1000);
	if (fstat(fd, &st) == 0)
		record(S_ISDIR(st.st_mode) ? "D " : "F ");
	return fsync(fd);
}

static int
rec_renameat(int a, const char *from, int b, const char *to)
{
	record("R ");
	record(to);
	record(" ");
	return renameat(a, from, b, to);
}

static int
rec_linkat(int a, const char *from, int b, const char *to, int flags)
{
	record("L ");
	record(to);
	record(" ");
	return linkat(a, from, b, to, flags);
}

static const struct fsutil_sys rec_sys = { rec_fsync, rec_renameat,
	rec_linkat };

START_TEST(event_is_synced_before_its_name_and_folder_after)
{
	struct spool		*s;
	struct spool_event	 ev;

	ck_assert_ptr_nonnull(s = spool_open(dir));
	mkevent(&ev, "www", "up", "down");
	ck_assert_int_eq(spool_append(s, &ev), 0);	/* reserves seq */
	calls[0] = '\0';
	fsutil_set_sys(&rec_sys);
	mkevent(&ev, "www", "down", "up");
	ck_assert_int_eq(spool_append(s, &ev), 0);
	fsutil_set_sys(NULL);
	ck_assert_str_eq(calls, "F L 00000000000000000002.json D ");
	spool_close(s);
}
END_TEST

static void
on_done_count(void *arg, const struct spool_event *ev, void *ctx)
{
	if (++ndone == 2)
		event_base_loopbreak(arg);
}

/*
 * The state file never reaches the disk before an event queued ahead of
 * it, even when a newer copy replaces one still waiting.
 */
START_TEST(state_file_waits_for_events_queued_before_it)
{
	struct event_base	*base;
	struct spool		*s;
	struct spoolq		*q;
	struct spool_event	 ev;
	struct timeval		 tv = { 10, 0 };
	char			 path[256], buf[64];
	int			 dfd;
	FILE			*fp;

	ck_assert_int_eq(evthread_use_pthreads(), 0);
	ck_assert_ptr_nonnull(base = event_base_new());
	ck_assert_ptr_nonnull(s = spool_open(dir));
	ck_assert_int_ne(dfd = open(dir, O_RDONLY | O_DIRECTORY), -1);
	calls[0] = '\0';
	hold = 1;
	fsutil_set_sys(&rec_sys);
	q = spoolq_new(base, s, on_done_count, base);
	ndone = 0;
	mkevent(&ev, "a", "up", "down");
	spoolq_event(q, &ev, NULL);		/* the worker holds here */
	spoolq_write_file(q, dfd, "state.json", strdup("one\n"));
	mkevent(&ev, "a", "down", "up");
	spoolq_event(q, &ev, NULL);
	spoolq_write_file(q, dfd, "state.json", strdup("two\n"));
	hold = 0;
	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
	spoolq_free(q);
	fsutil_set_sys(NULL);
	ck_assert_int_eq(ndone, 2);
	ck_assert_ptr_nonnull(strstr(calls, "L 00000000000000000002.json"));
	ck_assert_ptr_nonnull(strstr(calls, "R state.json"));
	ck_assert(strstr(calls, "L 00000000000000000002.json") <
	    strstr(calls, "R state.json"));
	ck_assert_ptr_null(strstr(strstr(calls, "R state.json") + 1,
	    "R state.json"));			/* written once */
	snprintf(path, sizeof(path), "%s/state.json", dir);
	ck_assert_ptr_nonnull(fp = fopen(path, "r"));
	ck_assert_ptr_nonnull(fgets(buf, sizeof(buf), fp));
	fclose(fp);
	ck_assert_str_eq(buf, "two\n");
	close(dfd);
	spool_close(s);
	event_base_free(base);
}
END_TEST

static Suite *
spool_suite(void)
{
	Suite	*s = suite_create("spool");
	TCase	*tc = tcase_create("spool");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, append_writes_a_file_that_reads_back);
	tcase_add_test(tc, sequence_never_repeats_across_reopen);
	tcase_add_test(tc, list_skips_temporaries_and_sorts);
	tcase_add_test(tc, message_that_is_not_utf8_is_kept_readable);
	tcase_add_test(tc, bad_event_text_is_rejected);
	tcase_add_test(tc, event_is_on_disk_before_the_loop_hears_of_it);
	tcase_add_test(tc, lost_seq_file_numbers_go_above_events_on_disk);
	tcase_add_test(tc, seq_file_with_garbage_still_goes_above_events);
	tcase_add_test(tc, huge_file_name_is_left_alone_and_never_wraps);
	tcase_add_test(tc, numbers_stop_at_the_maximum);
	tcase_add_test(tc, crash_leftovers_are_removed_at_open);
	tcase_add_test(tc, taken_name_is_skipped_not_replaced);
	tcase_add_test(tc, event_is_synced_before_its_name_and_folder_after);
	tcase_add_test(tc, state_file_waits_for_events_queued_before_it);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return ckrun(spool_suite());
}
