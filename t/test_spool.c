/*
 * test_spool.c: the event spool (lib/spool.c) and probed's worker that
 * writes it (probed/spoolq.c): durable files, sequence numbers that never
 * repeat across reopen, and an event reported only once it is on disk.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <event2/event.h>
#include <event2/thread.h>

#include "spool.h"
#include "spoolq.h"

static char	 dir[64];
static Suite	*spool_suite(void);

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/tocsin-spool.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void
teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
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
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(spool_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
