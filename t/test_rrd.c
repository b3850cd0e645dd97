/*
 * test_rrd.c: the archive layer: archives written and read back, interval
 * and perfdata changes keeping history, the writer's full queue, uptime on
 * synthetic data, PNG and SVG graphs (also from eight threads at once), and
 * writing through a real rrdcached started here.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <rrd.h>

#include "log.h"
#include "result.h"
#include "xmalloc.h"
#include "rrd/archive.h"
#include "rrd/graph.h"
#include "rrd/uptime.h"
#include "rrd/writer.h"

#include "ckrun.h"

#define RRDCACHED	"/usr/bin/rrdcached"
#define STEP		60

/*
 * Sanitizer hooks (their names are the sanitizers'). librrd's graph code
 * and fontconfig keep caches and leak a little on every graph (librrd
 * 1.7.2): not ours to fix, so stacks through rrd_graph_v or inside
 * fontconfig are left out, and only those: leaks of what we fetch or
 * create are still reported. Those libraries have no frame pointers, so
 * allocation stacks are taken with the slow unwinder, or the suppressions
 * would not see them.
 */
const char	*__asan_default_options(void);
const char	*__lsan_default_suppressions(void);

const char *
__asan_default_options(void)
{
	return "fast_unwind_on_malloc=0";
}

const char *
__lsan_default_suppressions(void)
{
	return "leak:rrd_graph_v\n"
	    "leak:libfontconfig.so\n";
}

static char	 base[64];		/* the test case's folder */
static char	 tmp[96];		/* this test's state folder */
static pid_t	 cached_pid = -1;	/* rrdcached started here */

static int	 rm_entry(const char *, const struct stat *, int,
		    struct FTW *);
static void	 case_setup(void);
static void	 case_teardown(void);
static void	 setup(void);
static void	 teardown(void);
static time_t	 hour_ago(int);
static void	 result_at(struct check_result *, time_t, enum check_status,
		    int64_t);
static void	 drain_close(struct writer *, struct writer_stats *);
static double	 row_at(const struct archive_series *, time_t,
		    const char *);
static void	 fill_pattern(struct writer *, const char *, time_t,
		    const char *);
static void	 fill_server(const char *, time_t, int);
static void	*fake_main(void *);
static void	*grapher_main(void *);
static void	 check_png(const struct graph_image *);
static int	 svg_well_formed(const char *, size_t);
static void	 check_svg(const struct graph_image *);
static int	 wait_socket(const char *);
static int	 wait_port(int);
static int	 free_port(void);
static pid_t	 start_rrdcached(const char *, int);
static void	 stop_rrdcached(void);

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

/*
 * A failed check ends a forked test at once (_exit), with no teardown: so
 * each test's folder lives under one made and removed by the runner itself
 * (unchecked fixtures run there), and an rrdcached a test started dies with
 * it (PR_SET_PDEATHSIG).
 */
static void
case_setup(void)
{
	strlcpy(base, "/tmp/tocsin-rrd.XXXXXX", sizeof(base));
	if (mkdtemp(base) == NULL) {
		fprintf(stderr, "test_rrd: mkdtemp: %s\n", strerror(errno));
		exit(1);
	}
}

static void
case_teardown(void)
{
	nftw(base, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void
setup(void)
{
	log_init("test_rrd", 1, 0);
	snprintf(tmp, sizeof(tmp), "%s/t.XXXXXX", base);
	ck_assert_msg(mkdtemp(tmp) != NULL, "mkdtemp: %s", strerror(errno));
}

static void
teardown(void)
{
	stop_rrdcached();
	nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A whole hour some hours back: synthetic data starts there. */
static time_t
hour_ago(int hours)
{
	time_t	t = time(NULL) - (time_t)hours * 3600;

	return t - t % 3600;
}

/*
 * A result at Unix second t (plus some microseconds, to be floored): total
 * latency total_us, fixed dns and connect parts, no TLS, first byte at
 * 90 % of the total; no latency at all when total_us is -1.
 */
static void
result_at(struct check_result *r, time_t t, enum check_status st,
    int64_t total_us)
{
	result_init(r, (int64_t)t * 1000000 + 4321);
	result_set(r, st, "synthetic");
	if (total_us >= 0) {
		r->total_us = total_us;
		r->dns_us = 500;
		r->connect_us = 700;
		r->firstbyte_us = total_us * 9 / 10;
	}
}

/*
 * Wait until the writer has dealt with everything submitted, keep its
 * final counters, and close it.
 */
static void
drain_close(struct writer *w, struct writer_stats *ws)
{
	int	i;

	for (i = 0; i < 3000; i++) {
		writer_stats(w, ws);
		if (ws->queued == 0 && ws->written + ws->dropped +
		    ws->skipped + ws->errors == ws->submitted)
			break;
		usleep(10000);
	}
	writer_close(w);
}

/* The value of a series in the row ending at time t; NaN if none. */
static double
row_at(const struct archive_series *s, time_t t, const char *ds)
{
	int	col = archive_series_ds(s, ds);
	time_t	k;

	ck_assert_msg(col != -1, "no series %s", ds);
	if (t <= s->start || (t - s->start) % (time_t)s->step != 0)
		return NAN;
	k = (t - s->start) / (time_t)s->step - 1;
	if (k < 0 || (size_t)k >= s->nrows)
		return NAN;
	return s->data[(size_t)k * s->nds + (size_t)col];
}

START_TEST(update_then_fetch_returns_same_values)
{
	struct writer		*w;
	struct writer_stats	 ws;
	struct archive_store	*st;
	struct archive_layout	 l;
	struct archive_series	 s;
	struct check_result	 r;
	struct stat		 sb;
	char			 path[512];
	time_t			 t0 = hour_ago(20), t;
	int			 k;

	w = writer_open(tmp, NULL, 1000);
	ck_assert_ptr_nonnull(w);
	for (k = 1; k <= 60; k++) {
		result_at(&r, t0 + k * STEP, k % 7 == 0 ? CHECK_CRITICAL :
		    k % 5 == 0 ? CHECK_WARNING : CHECK_OK, 1000 * k + 17);
		ck_assert_int_eq(writer_submit(w, "shop/web1", STEP, &r), 0);
	}
	drain_close(w, &ws);
	ck_assert_uint_eq(ws.submitted, 60);
	ck_assert_uint_eq(ws.written, 60);

	snprintf(path, sizeof(path), "%s/rrd/shop/web1.rrd", tmp);
	ck_assert_msg(stat(path, &sb) == 0, "%s: %s", path, strerror(errno));

	st = archive_store_open(tmp, NULL);
	ck_assert_ptr_nonnull(st);
	ck_assert_int_eq(archive_info(st, "shop/web1", &l), 0);
	ck_assert_uint_eq(l.step, STEP);
	ck_assert_int_eq(l.nds, ARCHIVE_NFIXED);
	ck_assert_str_eq(l.ds[ARCHIVE_TOTAL], "total");
	ck_assert_str_eq(l.ds[ARCHIVE_UP], "up");
	ck_assert_int_eq(l.last, t0 + 60 * STEP);
	ck_assert_int_eq(archive_info(st, "shop/none", &l), 1);

	ck_assert_int_eq(archive_fetch(st, "shop/web1", "AVERAGE", t0,
	    t0 + 60 * STEP, STEP, &s), 0);
	ck_assert_uint_eq(s.step, STEP);
	for (k = 1; k <= 60; k++) {
		t = t0 + k * STEP;
		ck_assert_double_eq_tol(row_at(&s, t, "total"),
		    (1000 * k + 17) / 1e6, 1e-9);
		ck_assert_double_eq_tol(row_at(&s, t, "dns"), 500e-6, 1e-9);
		ck_assert_double_eq_tol(row_at(&s, t, "connect"), 700e-6,
		    1e-9);
		ck_assert(isnan(row_at(&s, t, "tls")));
		ck_assert_double_eq_tol(row_at(&s, t, "firstbyte"),
		    (double)((1000 * k + 17) * 9 / 10) / 1e6, 1e-9);
		ck_assert_double_eq_tol(row_at(&s, t, "up"),
		    k % 7 == 0 ? 0.0 : 1.0, 1e-12);
	}
	archive_series_free(&s);

	/* At full resolution MIN and MAX are the samples too (from AVERAGE). */
	ck_assert_int_eq(archive_fetch(st, "shop/web1", "MAX", t0,
	    t0 + 60 * STEP, STEP, &s), 0);
	ck_assert_double_eq_tol(row_at(&s, t0 + 30 * STEP, "total"),
	    30017 / 1e6, 1e-9);
	archive_series_free(&s);
	ck_assert_int_eq(archive_fetch(st, "nope", "AVERAGE", t0, t0 + 600,
	    STEP, &s), 1);
	archive_store_close(st);
}
END_TEST

/*
 * A read while the writer holds the archive's lock (tocsin-probed's
 * update) waits for it, and an update while a reader holds it: librrd
 * takes its locks without waiting, and a page read during an update
 * failed with "could not lock RRD" (an update during a read lost its
 * sample). A child holds a write lock on the whole file for 300 ms; a
 * fetch asked meanwhile succeeds, and so does a graph of it; then a read
 * lock, and an update waits it out.
 */
START_TEST(read_waits_for_the_writers_lock)
{
	struct writer		*w;
	struct writer_stats	 ws;
	struct archive_store	*st;
	struct archive_series	 s;
	struct graph_image	 img;
	struct graph_req	 req;
	struct check_result	 r;
	struct flock		 fl;
	struct archive_layout	 l;
	double			 v[ARCHIVE_DS_MAX];
	char			 path[512], c;
	time_t			 t0 = hour_ago(2);
	pid_t			 pid;
	int			 k, i, fd, p[2], status;

	w = writer_open(tmp, NULL, 1000);
	ck_assert_ptr_nonnull(w);
	for (k = 1; k <= 10; k++) {
		result_at(&r, t0 + k * STEP, CHECK_OK, 1000 * k);
		ck_assert_int_eq(writer_submit(w, "locked", STEP, &r), 0);
	}
	drain_close(w, &ws);
	snprintf(path, sizeof(path), "%s/rrd/locked.rrd", tmp);
	memset(&req, 0, sizeof(req));
	req.start = t0;
	req.end = t0 + 10 * STEP;
	st = archive_store_open(tmp, NULL);
	ck_assert_ptr_nonnull(st);
	for (k = 0; k < 3; k++) {
		ck_assert_int_eq(pipe(p), 0);
		if ((pid = fork()) == 0) {
			memset(&fl, 0, sizeof(fl));
			fl.l_type = k < 2 ? F_WRLCK : F_RDLCK;
			fl.l_whence = SEEK_SET;
			if ((fd = open(path, O_RDWR)) == -1 ||
			    fcntl(fd, F_SETLK, &fl) == -1)
				_exit(1);
			(void)!write(p[1], "l", 1);
			usleep(300000);
			_exit(0);
		}
		ck_assert_int_gt(pid, 0);
		close(p[1]);
		ck_assert_int_eq(read(p[0], &c, 1), 1);	/* it holds it */
		close(p[0]);
		if (k == 0) {
			ck_assert_msg(archive_fetch(st, "locked", "AVERAGE", t0,
			    t0 + 10 * STEP, STEP, &s) == 0, "fetch: %s",
			    archive_error());
			ck_assert_uint_eq(s.step, STEP);
			archive_series_free(&s);
		} else if (k == 1) {
			ck_assert_int_eq(graph_server(st, "locked", &req,
			    &img), 0);
			ck_assert_uint_gt(img.len, 0);
			graph_image_free(&img);
		} else {
			ck_assert_int_eq(archive_info(st, "locked", &l), 0);
			for (i = 0; i < l.nds; i++)
				v[i] = 0.001;
			ck_assert_msg(archive_update(st, "locked", &l,
			    t0 + 11 * STEP, v) == 0, "update: %s",
			    archive_error());
		}
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_assert_int_eq(status, 0);
	}
	archive_store_close(st);
}
END_TEST

START_TEST(unknown_status_and_missing_parts_are_unknown)
{
	struct writer		*w;
	struct archive_store	*st;
	struct archive_series	 s;
	struct check_result	 r;
	time_t			 t0 = hour_ago(10);

	w = writer_open(tmp, NULL, 10);
	ck_assert_ptr_nonnull(w);
	result_at(&r, t0 + STEP, CHECK_OK, 5000);
	writer_submit(w, "solo", STEP, &r);
	result_at(&r, t0 + 2 * STEP, CHECK_UNKNOWN, -1);
	writer_submit(w, "solo", STEP, &r);
	result_at(&r, t0 + 3 * STEP, CHECK_CRITICAL, -1);
	writer_submit(w, "solo", STEP, &r);
	writer_close(w);

	st = archive_store_open(tmp, NULL);
	ck_assert_int_eq(archive_fetch(st, "solo", "AVERAGE", t0,
	    t0 + 3 * STEP, STEP, &s), 0);
	ck_assert_double_eq_tol(row_at(&s, t0 + STEP, "up"), 1, 1e-12);
	ck_assert(isnan(row_at(&s, t0 + 2 * STEP, "up")));
	ck_assert(isnan(row_at(&s, t0 + 2 * STEP, "total")));
	ck_assert_double_eq_tol(row_at(&s, t0 + 3 * STEP, "up"), 0, 1e-12);
	ck_assert(isnan(row_at(&s, t0 + 3 * STEP, "total")));
	archive_series_free(&s);
	archive_store_close(st);
}
END_TEST

START_TEST(downtime_is_unknown_in_sla_only)
{
	struct writer		*w;
	struct archive_store	*st;
	struct archive_series	 s;
	struct check_result	 r;
	struct uptime		 raw, sla;
	time_t			 t0 = hour_ago(10);

	w = writer_open(tmp, NULL, 10);
	ck_assert_ptr_nonnull(w);
	result_at(&r, t0 + STEP, CHECK_OK, 5000);
	writer_submit(w, "sla", STEP, &r);
	result_at(&r, t0 + 2 * STEP, CHECK_CRITICAL, -1);
	r.in_downtime = 1;
	writer_submit(w, "sla", STEP, &r);
	result_at(&r, t0 + 3 * STEP, CHECK_CRITICAL, -1);
	writer_submit(w, "sla", STEP, &r);
	result_at(&r, t0 + 4 * STEP, CHECK_OK, 5000);
	writer_submit(w, "sla", STEP, &r);
	writer_close(w);

	st = archive_store_open(tmp, NULL);
	ck_assert_int_eq(archive_fetch(st, "sla", "AVERAGE", t0,
	    t0 + 4 * STEP, STEP, &s), 0);
	ck_assert_double_eq_tol(row_at(&s, t0 + STEP, "sla"), 1, 1e-12);
	ck_assert_double_eq_tol(row_at(&s, t0 + 2 * STEP, "up"), 0, 1e-12);
	ck_assert(isnan(row_at(&s, t0 + 2 * STEP, "sla")));
	ck_assert_double_eq_tol(row_at(&s, t0 + 3 * STEP, "sla"), 0, 1e-12);
	archive_series_free(&s);
	/* Up 2 of 4 steps; 2 of the 3 known outside the downtime. */
	ck_assert_int_eq(uptime_server(st, "sla", t0, t0 + 4 * STEP, &raw), 0);
	ck_assert_int_eq(uptime_server_sla(st, "sla", t0, t0 + 4 * STEP,
	    &sla), 0);
	ck_assert_double_eq_tol(raw.pct, 50, 1e-9);
	ck_assert_double_eq_tol(sla.pct, 100.0 * 2 / 3, 1e-9);
	ck_assert_double_eq_tol(raw.known_s - sla.known_s, STEP, 1e-9);
	archive_store_close(st);
}
END_TEST

START_TEST(interval_change_keeps_history)
{
	struct writer		*w;
	struct writer_stats	 ws;
	struct archive_store	*st;
	struct archive_layout	 l;
	struct archive_series	 s;
	struct check_result	 r;
	time_t			 t0 = hour_ago(20), t1, t;
	int			 k, old_known = 0;

	w = writer_open(tmp, NULL, 1000);
	ck_assert_ptr_nonnull(w);
	for (k = 1; k <= 30; k++) {
		result_at(&r, t0 + k * 60, CHECK_OK, 1000 * k);
		writer_submit(w, "shop/web1", 60, &r);
	}
	t1 = t0 + 30 * 60;
	for (k = 1; k <= 20; k++) {
		result_at(&r, t1 + k * 30, CHECK_OK, 99000);
		writer_submit(w, "shop/web1", 30, &r);
	}
	drain_close(w, &ws);
	ck_assert_uint_eq(ws.written, 50);
	ck_assert_uint_eq(ws.recreated, 1);

	st = archive_store_open(tmp, NULL);
	ck_assert_int_eq(archive_info(st, "shop/web1", &l), 0);
	ck_assert_uint_eq(l.step, 30);
	ck_assert_int_eq(l.last, t1 + 20 * 30);

	ck_assert_int_eq(archive_fetch(st, "shop/web1", "AVERAGE", t0,
	    t1 + 20 * 30, 30, &s), 0);
	ck_assert_uint_eq(s.step, 30);
	/* The minute rows live on as two half-minute rows each. */
	for (k = 2; k <= 30; k++) {
		t = t0 + k * 60;
		if (isnan(row_at(&s, t, "total")))
			continue;
		old_known++;
		ck_assert_double_eq_tol(row_at(&s, t, "total"), k / 1e3,
		    1e-9);
		ck_assert_double_eq_tol(row_at(&s, t - 30, "total"), k / 1e3,
		    1e-9);
	}
	ck_assert_int_ge(old_known, 28);
	for (k = 1; k <= 20; k++)
		ck_assert_double_eq_tol(row_at(&s, t1 + k * 30, "total"),
		    0.099, 1e-9);
	archive_series_free(&s);
	archive_store_close(st);
}
END_TEST

START_TEST(new_perf_label_adds_series_and_keeps_history)
{
	struct writer		*w;
	struct writer_stats	 ws;
	struct archive_store	*st;
	struct archive_layout	 l;
	struct archive_series	 s;
	struct check_result	 r;
	time_t			 t0 = hour_ago(20);
	int			 k;

	w = writer_open(tmp, NULL, 1000);
	ck_assert_ptr_nonnull(w);
	for (k = 1; k <= 40; k++) {
		result_at(&r, t0 + k * STEP, CHECK_OK, 2000 * k);
		if (k > 20) {
			r.nperf = 2;
			strlcpy(r.perf[0].label, "load1", PERF_LABEL_MAX);
			r.perf[0].value = k / 10.0;
			/* A label naming a fixed series is not a new one. */
			strlcpy(r.perf[1].label, "total", PERF_LABEL_MAX);
			r.perf[1].value = 12345;
		}
		writer_submit(w, "exec1", STEP, &r);
	}
	drain_close(w, &ws);
	ck_assert_uint_eq(ws.written, 40);
	ck_assert_uint_eq(ws.recreated, 1);

	st = archive_store_open(tmp, NULL);
	ck_assert_int_eq(archive_info(st, "exec1", &l), 0);
	ck_assert_int_eq(l.nds, ARCHIVE_NFIXED + 1);
	ck_assert_str_eq(l.ds[ARCHIVE_NFIXED], "load1");
	ck_assert_int_eq(archive_fetch(st, "exec1", "AVERAGE", t0,
	    t0 + 40 * STEP, STEP, &s), 0);
	for (k = 1; k <= 40; k++) {
		ck_assert_double_eq_tol(row_at(&s, t0 + k * STEP, "total"),
		    2000 * k / 1e6, 1e-9);
		if (k <= 20)
			ck_assert(isnan(row_at(&s, t0 + k * STEP, "load1")));
		else
			ck_assert_double_eq_tol(row_at(&s, t0 + k * STEP,
			    "load1"), k / 10.0, 1e-9);
	}
	archive_series_free(&s);
	archive_store_close(st);
}
END_TEST

START_TEST(too_many_perf_labels_are_capped)
{
	struct archive_layout	have, want;
	struct check_result	r;
	int			i, lost;

	archive_layout_init(&have, STEP);
	result_init(&r, 0);
	r.nperf = PERF_MAX;
	for (i = 0; i < PERF_MAX; i++)
		snprintf(r.perf[i].label, PERF_LABEL_MAX, "p%d", i);
	lost = archive_layout_want(&have, STEP, &r, &want);
	ck_assert_int_eq(lost, 0);
	ck_assert_int_eq(want.nds, ARCHIVE_DS_MAX);
	have = want;
	snprintf(r.perf[0].label, PERF_LABEL_MAX, "another");
	lost = archive_layout_want(&have, STEP, &r, &want);
	ck_assert_int_eq(lost, 1);
	ck_assert(archive_layout_same(&have, &want));
	want.step = 30;
	ck_assert(!archive_layout_same(&have, &want));
}
END_TEST

START_TEST(bad_ids_are_refused)
{
	struct writer		*w;
	struct writer_stats	 ws;
	struct check_result	 r;

	ck_assert(archive_id_valid("web1"));
	ck_assert(archive_id_valid("shop/web-1.example_2"));
	ck_assert(!archive_id_valid(""));
	ck_assert(!archive_id_valid("/abs"));
	ck_assert(!archive_id_valid("shop/"));
	ck_assert(!archive_id_valid("shop//web"));
	ck_assert(!archive_id_valid("../etc/passwd"));
	ck_assert(!archive_id_valid("shop/.."));
	ck_assert(!archive_id_valid("a b"));
	ck_assert(!archive_id_valid("a:b"));

	w = writer_open(tmp, NULL, 4);
	ck_assert_ptr_nonnull(w);
	result_at(&r, hour_ago(1), CHECK_OK, 1000);
	ck_assert_int_eq(writer_submit(w, "../x", STEP, &r), -1);
	ck_assert_int_eq(writer_submit(w, "ok", 0, &r), -1);
	drain_close(w, &ws);
	ck_assert_uint_eq(ws.submitted, 2);
	ck_assert_uint_eq(ws.errors, 2);
	ck_assert_uint_eq(ws.written, 0);
}
END_TEST

/* Cluster mode: a node's archive ID@NODE is a valid id of its own, and
 * archive_nodes lists the nodes of a server's archives, by name. */
START_TEST(node_archives_are_listed_by_server)
{
	struct archive_store	*st;
	struct writer		*w;
	struct writer_stats	 ws;
	struct check_result	 r;
	char			 id[ARCHIVE_ID_MAX], **nodes;

	ck_assert(archive_id_valid("shop/web1@node-2"));
	ck_assert(!archive_id_valid("shop@n/web1"));
	ck_assert(!archive_id_valid("web1@"));
	ck_assert(!archive_id_valid("@n"));
	ck_assert(!archive_id_valid("web1@a@b"));
	ck_assert_int_eq(archive_node_id("shop/web1", "b", id, sizeof(id)), 0);
	ck_assert_str_eq(id, "shop/web1@b");
	ck_assert_int_eq(archive_node_id("web1@x", "b", id, sizeof(id)), -1);
	ck_assert_int_eq(archive_node_id("web1", "b", id, 6), -1);

	w = writer_open(tmp, NULL, 16);
	ck_assert_ptr_nonnull(w);
	result_at(&r, hour_ago(1), CHECK_OK, 1000);
	ck_assert_int_eq(writer_submit(w, "shop/web1@b", STEP, &r), 0);
	ck_assert_int_eq(writer_submit(w, "shop/web1@a", STEP, &r), 0);
	ck_assert_int_eq(writer_submit(w, "shop/web10@c", STEP, &r), 0);
	ck_assert_int_eq(writer_submit(w, "shop/web2", STEP, &r), 0);
	drain_close(w, &ws);
	ck_assert_uint_eq(ws.written, 4);

	st = archive_store_open(tmp, NULL);
	ck_assert_ptr_nonnull(st);
	ck_assert_int_eq(archive_nodes(st, "shop/web1", &nodes), 2);
	ck_assert_str_eq(nodes[0], "a");
	ck_assert_str_eq(nodes[1], "b");
	ck_assert_ptr_null(nodes[2]);
	archive_nodes_free(nodes);
	ck_assert_int_eq(archive_nodes(st, "shop/web2", &nodes), 0);
	ck_assert_ptr_null(nodes);
	ck_assert_int_eq(archive_nodes(st, "nofarm/web1", &nodes), 0);
	ck_assert_int_eq(archive_nodes(st, "shop/web1@a", &nodes), -1);
	archive_store_close(st);
}
END_TEST

START_TEST(same_second_is_written_once)
{
	struct writer		*w;
	struct writer_stats	 ws;
	struct check_result	 r;
	time_t			 t0 = hour_ago(5);

	w = writer_open(tmp, NULL, 16);
	ck_assert_ptr_nonnull(w);
	result_at(&r, t0 + STEP, CHECK_OK, 1000);
	writer_submit(w, "twice", STEP, &r);
	r.started += 500000;
	writer_submit(w, "twice", STEP, &r);
	result_at(&r, t0 + 2 * STEP, CHECK_OK, 1000);
	writer_submit(w, "twice", STEP, &r);
	/* Older than what is written: skipped, not an error. */
	result_at(&r, t0, CHECK_OK, 1000);
	writer_submit(w, "twice", STEP, &r);
	drain_close(w, &ws);
	ck_assert_uint_eq(ws.submitted, 4);
	ck_assert_uint_eq(ws.written, 2);
	ck_assert_uint_eq(ws.skipped, 2);
	ck_assert_uint_eq(ws.errors, 0);
}
END_TEST

/*
 * A stand-in for rrdcached on a Unix socket: it answers nothing to the
 * first request until released (a stalled rrdcached), then "0 ok" to
 * everything, and records every request line. A "create" makes an empty
 * file, so that librrd's client finds the path afterwards.
 */
struct fake {
	char		 path[108];
	int		 lfd;
	pthread_t	 thread;
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;
	int		 got_first;
	int		 released;
	int		 nlines;
	char		 lines[32][512];
};

static void *
fake_main(void *arg)
{
	struct fake	*f = arg;
	char		 buf[8192] = "", *nl, path[512];
	size_t		 have = 0;
	ssize_t		 n;
	int		 fd, tfd;

	if ((fd = accept(f->lfd, NULL, NULL)) == -1)
		return NULL;
	for (;;) {
		while ((nl = memchr(buf, '\n', have)) == NULL) {
			n = read(fd, buf + have, sizeof(buf) - have);
			if (n <= 0 || have + (size_t)n >= sizeof(buf)) {
				close(fd);
				return NULL;
			}
			have += (size_t)n;
		}
		*nl = '\0';
		pthread_mutex_lock(&f->lock);
		if (f->nlines < 32)
			strlcpy(f->lines[f->nlines++], buf,
			    sizeof(f->lines[0]));
		if (!f->got_first) {
			f->got_first = 1;
			pthread_cond_broadcast(&f->cond);
		}
		while (!f->released)
			pthread_cond_wait(&f->cond, &f->lock);
		pthread_mutex_unlock(&f->lock);
		if (sscanf(buf, "create %511s", path) == 1 &&
		    (tfd = open(path, O_CREAT | O_WRONLY, 0644)) != -1)
			close(tfd);
		if (write(fd, "0 ok\n", 5) != 5) {
			close(fd);
			return NULL;
		}
		have -= (size_t)(nl + 1 - buf);
		memmove(buf, nl + 1, have);
	}
}

START_TEST(full_queue_drops_oldest_and_counts)
{
	struct fake		 f;
	struct sockaddr_un	 sun;
	struct writer		*w;
	struct writer_stats	 ws;
	struct check_result	 r;
	struct timespec		 until;
	char			 addr[160], path[512];
	time_t			 t0 = hour_ago(3), got[8];
	double			 total;
	int			 k, i, ngot = 0;

	memset(&f, 0, sizeof(f));
	pthread_mutex_init(&f.lock, NULL);
	pthread_cond_init(&f.cond, NULL);
	snprintf(f.path, sizeof(f.path), "%s/fake.sock", tmp);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strlcpy(sun.sun_path, f.path, sizeof(sun.sun_path));
	f.lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_ne(f.lfd, -1);
	ck_assert_int_eq(bind(f.lfd, (struct sockaddr *)&sun, sizeof(sun)),
	    0);
	ck_assert_int_eq(listen(f.lfd, 4), 0);
	ck_assert_int_eq(pthread_create(&f.thread, NULL, fake_main, &f), 0);

	snprintf(addr, sizeof(addr), "unix:%s", f.path);
	w = writer_open(tmp, addr, 4);
	ck_assert_ptr_nonnull(w);

	/* The first sample is taken by the writer, which then stalls. */
	result_at(&r, t0 + STEP, CHECK_OK, 1000);
	ck_assert_int_eq(writer_submit(w, "a", STEP, &r), 0);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 20;
	pthread_mutex_lock(&f.lock);
	while (!f.got_first)
		if (pthread_cond_timedwait(&f.cond, &f.lock, &until) != 0)
			break;
	ck_assert_msg(f.got_first, "writer never reached rrdcached");
	ck_assert_msg(strncmp(f.lines[0], "create ", 7) == 0,
	    "first request: %s", f.lines[0]);
	pthread_mutex_unlock(&f.lock);

	/* Four fit; each one more drops the oldest waiting, at once. */
	for (k = 2; k <= 11; k++) {
		result_at(&r, t0 + k * STEP, CHECK_OK, 1000 * k);
		ck_assert_int_eq(writer_submit(w, "a", STEP, &r),
		    k <= 5 ? 0 : 1);
	}
	writer_stats(w, &ws);
	ck_assert_uint_eq(ws.submitted, 11);
	ck_assert_uint_eq(ws.dropped, 6);
	ck_assert_uint_eq(ws.queued, 4);
	ck_assert_uint_eq(ws.written, 0);

	/* Same second as one still waiting: the later replaces it. */
	result_at(&r, t0 + 11 * STEP, CHECK_OK, 77000);
	r.started += 300000;
	ck_assert_int_eq(writer_submit(w, "a", STEP, &r), 0);
	writer_stats(w, &ws);
	ck_assert_uint_eq(ws.skipped, 1);
	ck_assert_uint_eq(ws.queued, 4);

	pthread_mutex_lock(&f.lock);
	f.released = 1;
	pthread_cond_broadcast(&f.cond);
	pthread_mutex_unlock(&f.lock);
	for (i = 0; i < 200; i++) {
		writer_stats(w, &ws);
		if (ws.queued == 0 && ws.written == 5)
			break;
		usleep(10000);
	}
	writer_close(w);
	pthread_join(f.thread, NULL);
	close(f.lfd);
	ck_assert_uint_eq(ws.submitted, 12);
	ck_assert_uint_eq(ws.written, 5);
	ck_assert_uint_eq(ws.dropped, 6);
	ck_assert_uint_eq(ws.skipped, 1);
	ck_assert_uint_eq(ws.errors, 0);

	/* What reached rrdcached: the first, then the newest four. */
	for (i = 1; i < f.nlines; i++) {
		long long	ts;

		if (sscanf(f.lines[i], "update %511s %lld:%lf", path, &ts,
		    &total) != 3)
			continue;
		ck_assert_int_lt(ngot, 8);
		got[ngot++] = (time_t)ts;
		if (ts == (long long)(t0 + 11 * STEP))
			ck_assert_double_eq_tol(total, 0.077, 1e-9);
	}
	ck_assert_int_eq(ngot, 5);
	ck_assert_int_eq(got[0], t0 + 1 * STEP);
	for (k = 8; k <= 11; k++)
		ck_assert_int_eq(got[k - 7], t0 + k * STEP);
}
END_TEST

/*
 * Write a server's samples at STEP from t0: status and latency from a
 * pattern string, one character a step: 'u' up, 'w' warning (up), 'd'
 * down, '?' unknown status, ' ' no sample at all.
 */
static void
fill_pattern(struct writer *w, const char *id, time_t t0, const char *pat)
{
	struct check_result	r;
	enum check_status	s;
	size_t			k;

	for (k = 0; pat[k] != '\0'; k++) {
		if (pat[k] == ' ')
			continue;
		s = pat[k] == 'u' ? CHECK_OK : pat[k] == 'w' ? CHECK_WARNING :
		    pat[k] == 'd' ? CHECK_CRITICAL : CHECK_UNKNOWN;
		result_at(&r, t0 + (time_t)(k + 1) * STEP, s,
		    s == CHECK_OK ? 20000 : -1);
		ck_assert_int_ge(writer_submit(w, id, STEP, &r), 0);
	}
}

START_TEST(uptime_matches_hand_computed)
{
	struct writer		*w;
	struct archive_store	*st;
	struct uptime		 u, spans[UPTIME_NSPANS];
	char			 pat[101];
	time_t			 t0 = hour_ago(20);
	int			 k;

	/*
	 * Rows 1-60 up (ok and warning), 61-80 down, no samples for 81-90,
	 * 91-100 up. librrd marks 81-91 unknown (the gap is longer than the
	 * heartbeat, so the row of the first sample after it is unknown
	 * too): known 89 rows, up 60 + 9 = 69, unknown 11 of 100.
	 */
	for (k = 0; k < 100; k++)
		pat[k] = k < 60 ? (k % 3 == 0 ? 'w' : 'u') : k < 80 ? 'd' :
		    k < 90 ? ' ' : 'u';
	pat[100] = '\0';
	w = writer_open(tmp, NULL, 1000);
	ck_assert_ptr_nonnull(w);
	fill_pattern(w, "shop/web1", t0, pat);
	writer_close(w);

	st = archive_store_open(tmp, NULL);
	ck_assert_ptr_nonnull(st);
	ck_assert_int_eq(uptime_server(st, "shop/web1", t0, t0 + 100 * STEP,
	    &u), 0);
	ck_assert_double_eq_tol(u.known_s, 89 * STEP, 1e-6);
	ck_assert_double_eq_tol(u.up_s, 69 * STEP, 1e-6);
	ck_assert_double_eq_tol(u.pct, 100.0 * 69 / 89, 1e-9);
	ck_assert_double_eq_tol(u.unknown_pct, 11.0, 1e-9);

	/* Half a row at each end counts for half a row. */
	ck_assert_int_eq(uptime_server(st, "shop/web1", t0 + 30,
	    t0 + 60 * STEP + 30, &u), 0);
	ck_assert_double_eq_tol(u.known_s, 60 * STEP, 1e-6);
	ck_assert_double_eq_tol(u.up_s, 60 * STEP - 30, 1e-6);

	/* No archive: all unknown, not an error. */
	ck_assert_int_eq(uptime_server(st, "shop/none", t0, t0 + 3600, &u),
	    0);
	ck_assert(isnan(u.pct));
	ck_assert_double_eq_tol(u.unknown_pct, 100, 1e-9);

	/* The standard spans: a day back holds all 100 rows. */
	ck_assert_int_eq(uptime_server_spans(st, "shop/web1",
	    t0 + 100 * STEP, spans), 0);
	ck_assert_double_eq_tol(spans[UPTIME_1D].pct, 100.0 * 69 / 89, 1e-9);
	ck_assert_double_eq_tol(spans[UPTIME_1D].known_s, 89 * STEP, 1e-6);
	ck_assert(spans[UPTIME_365D].unknown_pct > 99);
	ck_assert_str_eq(uptime_span_name(UPTIME_30D), "30d");
	archive_store_close(st);
}
END_TEST

START_TEST(farm_uptime_any_and_all)
{
	struct writer		*w;
	struct archive_store	*st;
	struct uptime		 any, all, a;
	const char		*ids[] = { "farm/a", "farm/b", "farm/never" };
	time_t			 t0 = hour_ago(20);

	/*
	 *        1 2 3 4 5 6 7 8 9 10
	 * a      u u u d d d u u ? ?
	 * b      u d d d u u u ? ? u
	 * any    1 1 1 0 1 1 1 1 ? 1   (8 up of 9 known)
	 * all    1 0 0 0 0 0 1 ? ? ?   (2 up of 7 known)
	 */
	w = writer_open(tmp, NULL, 1000);
	ck_assert_ptr_nonnull(w);
	fill_pattern(w, "farm/a", t0, "uuudddwu??");
	fill_pattern(w, "farm/b", t0, "udddwuu??u");
	writer_close(w);

	st = archive_store_open(tmp, NULL);
	ck_assert_int_eq(uptime_farm(st, ids, 2, t0, t0 + 10 * STEP, &any,
	    &all), 0);
	ck_assert_double_eq_tol(any.pct, 100.0 * 8 / 9, 1e-9);
	ck_assert_double_eq_tol(any.unknown_pct, 10, 1e-9);
	ck_assert_double_eq_tol(all.pct, 100.0 * 2 / 7, 1e-9);
	ck_assert_double_eq_tol(all.unknown_pct, 30, 1e-9);

	ck_assert_int_eq(uptime_server(st, "farm/a", t0, t0 + 10 * STEP, &a),
	    0);
	ck_assert_double_eq_tol(a.pct, 100.0 * 5 / 8, 1e-9);
	ck_assert_double_eq_tol(a.unknown_pct, 20, 1e-9);

	/* A member that never wrote leaves "all" unknown but "any" known. */
	ck_assert_int_eq(uptime_farm(st, ids, 3, t0, t0 + 10 * STEP, &any,
	    &all), 0);
	ck_assert_double_eq_tol(any.known_s, 8 * STEP, 1e-6);
	ck_assert_double_eq_tol(any.pct, 100, 1e-9);
	ck_assert_double_eq_tol(all.known_s, 5 * STEP, 1e-6);
	ck_assert_double_eq_tol(all.pct, 0, 1e-9);
	archive_store_close(st);
}
END_TEST

/* Two servers' archives from two probe nodes (the rows below). */
static void
fill_nodes(time_t t0)
{
	struct writer	*w;

	w = writer_open(tmp, NULL, 1000);
	ck_assert_ptr_nonnull(w);
	fill_pattern(w, "web@node1", t0, "uuuddddu??");
	fill_pattern(w, "web@node2", t0, "uuuuuuuuu?");
	fill_pattern(w, "db@node1", t0, "ddduuuuuuu");
	fill_pattern(w, "db@node2", t0, "uuuuuuuuuu");
	writer_close(w);
}

/*
 * The cluster's view of a server from its probe nodes' archives: up where
 * at least need of them had it up, unknown where fewer than need have data.
 *
 *          1 2 3 4 5 6 7 8 9 10
 * node1    u u u d d d d u ? ?
 * node2    u u u u u u u u u ?
 * need 2   1 1 1 0 0 0 0 1 ? ?   (4 up of 8 known)
 * need 1   1 1 1 1 1 1 1 1 1 ?   (9 up of 9 known)
 */
START_TEST(quorum_uptime_from_node_archives)
{
	struct archive_store	*st;
	struct uptime		 u, any, all;
	const char		*ids[] = { "web@node1", "web@node2" };
	const char		*farm[] = { "db@node1", "db@node2" };
	struct uptime_src	 src = { ids, 2, 2 };
	struct uptime_src	 two[2] = { { ids, 2, 2 }, { farm, 2, 2 } };
	time_t			 t0 = hour_ago(20);

	fill_nodes(t0);
	st = archive_store_open(tmp, NULL);
	ck_assert_ptr_nonnull(st);

	/* Quorum 2: down while node1 saw it down. */
	ck_assert_int_eq(uptime_view(st, &src, 0, t0, t0 + 10 * STEP, &u), 0);
	ck_assert_double_eq_tol(u.known_s, 8 * STEP, 1e-6);
	ck_assert_double_eq_tol(u.up_s, 4 * STEP, 1e-6);
	ck_assert_double_eq_tol(u.pct, 50, 1e-9);
	ck_assert_double_eq_tol(u.unknown_pct, 20, 1e-9);

	/* Quorum 1: up, node2 saw it up throughout; row 9 known from
	 * node2 alone. */
	src.need = 1;
	ck_assert_int_eq(uptime_view(st, &src, 0, t0, t0 + 10 * STEP, &u), 0);
	ck_assert_double_eq_tol(u.known_s, 9 * STEP, 1e-6);
	ck_assert_double_eq_tol(u.pct, 100, 1e-9);

	/* A quorum more than the nodes: never known. */
	src.need = 3;
	ck_assert_int_eq(uptime_view(st, &src, 0, t0, t0 + 10 * STEP, &u), 0);
	ck_assert(isnan(u.pct));
	ck_assert_double_eq_tol(u.unknown_pct, 100, 1e-9);

	/* A farm of two such servers: db is down (quorum 2) in 1-3, web in
	 * 4-7 and unknown in 9-10: some member up in 10 of 10... */
	ck_assert_int_eq(uptime_views(st, two, 2, 0, t0, t0 + 10 * STEP,
	    &any, &all), 0);
	ck_assert_double_eq_tol(any.known_s, 10 * STEP, 1e-6);
	ck_assert_double_eq_tol(any.pct, 100, 1e-9);
	/* ... all members up in 1 of 8 (row 8; 9-10 web unknown, db up). */
	ck_assert_double_eq_tol(all.known_s, 8 * STEP, 1e-6);
	ck_assert_double_eq_tol(all.up_s, 1 * STEP, 1e-6);
	archive_store_close(st);
}
END_TEST

/* The rule on consolidated fractions: the need-th largest. */
START_TEST(quorum_of_fractions_is_the_kth_largest)
{
	const double	v[] = { 0.5, NAN, 1, 0.25 };
	double		vals[4];

	ck_assert_double_eq(uptime_quorum_at(v, 4, 1, vals), 1);
	ck_assert_double_eq(uptime_quorum_at(v, 4, 2, vals), 0.5);
	ck_assert_double_eq(uptime_quorum_at(v, 4, 3, vals), 0.25);
	ck_assert(isnan(uptime_quorum_at(v, 4, 4, vals)));
	ck_assert(isnan(uptime_quorum_at(v, 4, 0, vals)));
}
END_TEST

/* Three hours of samples up to now, down for a while in the middle. */
static void
fill_server(const char *id, time_t t0, int rows)
{
	struct writer		*w;
	struct check_result	 r;
	int			 k;

	w = writer_open(tmp, NULL, (size_t)rows + 1);
	ck_assert_ptr_nonnull(w);
	for (k = 1; k <= rows; k++) {
		if (k > rows / 2 && k <= rows / 2 + 10)
			result_at(&r, t0 + k * STEP, CHECK_CRITICAL, -1);
		else
			result_at(&r, t0 + k * STEP, CHECK_OK,
			    15000 + (k * 7919) % 9000);
		ck_assert_int_eq(writer_submit(w, id, STEP, &r), 0);
	}
	writer_close(w);
}

static void
check_png(const struct graph_image *img)
{
	static const unsigned char sig[8] = {
		0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'
	};
	const unsigned char	*p = img->data;
	unsigned		 w, h;

	ck_assert_ptr_nonnull(p);
	ck_assert_uint_gt(img->len, 2000);
	ck_assert_msg(memcmp(p, sig, sizeof(sig)) == 0, "no PNG signature");
	ck_assert_msg(memcmp(p + 12, "IHDR", 4) == 0, "no IHDR first");
	w = (unsigned)p[16] << 24 | (unsigned)p[17] << 16 |
	    (unsigned)p[18] << 8 | p[19];
	h = (unsigned)p[20] << 24 | (unsigned)p[21] << 16 |
	    (unsigned)p[22] << 8 | p[23];
	ck_assert_uint_eq(w, img->width);
	ck_assert_uint_eq(h, img->height);
	ck_assert_uint_gt(w, 800);
	ck_assert_uint_gt(h, 200);
	ck_assert_msg(memcmp(p + img->len - 8, "IEND", 4) == 0,
	    "PNG does not end with IEND");
}

/*
 * Enough of XML to tell a broken document: every tag closed in order,
 * quoted attributes, comments, processing instructions, one root.
 */
static int
svg_well_formed(const char *s, size_t len)
{
	const char	*p = s, *end = s + len, *q, *name;
	char		 stack[128][64];
	size_t		 nlen;
	int		 depth = 0, roots = 0;
	char		 quote;

	while (p < end) {
		if (*p != '<') {
			p++;
			continue;
		}
		if (end - p >= 4 && memcmp(p, "<!--", 4) == 0) {
			if ((q = memmem(p, (size_t)(end - p), "-->", 3)) ==
			    NULL)
				return 0;
			p = q + 3;
			continue;
		}
		if (end - p >= 2 && (p[1] == '?' || p[1] == '!')) {
			if ((q = memchr(p, '>', (size_t)(end - p))) == NULL)
				return 0;
			p = q + 1;
			continue;
		}
		if (end - p >= 2 && p[1] == '/') {
			name = p + 2;
			for (q = name; q < end && *q != '>' && *q != ' '; q++)
				;
			nlen = (size_t)(q - name);
			if (depth == 0 || nlen != strlen(stack[depth - 1]) ||
			    memcmp(name, stack[depth - 1], nlen) != 0)
				return 0;
			depth--;
			if ((q = memchr(q, '>', (size_t)(end - q))) == NULL)
				return 0;
			p = q + 1;
			continue;
		}
		name = p + 1;
		for (q = name; q < end && *q != '>' && *q != '/' &&
		    *q != ' ' && *q != '\n' && *q != '\t'; q++)
			;
		nlen = (size_t)(q - name);
		if (nlen == 0 || nlen >= sizeof(stack[0]))
			return 0;
		for (quote = 0; q < end; q++) {
			if (quote != 0) {
				if (*q == quote)
					quote = 0;
			} else if (*q == '"' || *q == '\'')
				quote = *q;
			else if (*q == '>')
				break;
		}
		if (q >= end)
			return 0;
		if (depth == 0)
			roots++;
		if (q[-1] != '/') {
			if (depth == 128)
				return 0;
			memcpy(stack[depth], name, nlen);
			stack[depth][nlen] = '\0';
			depth++;
		}
		p = q + 1;
	}
	return depth == 0 && roots == 1;
}

static void
check_svg(const struct graph_image *img)
{
	const char	*s = (const char *)img->data;
	size_t		 n = img->len;

	ck_assert_ptr_nonnull(s);
	ck_assert_uint_gt(n, 1000);
	ck_assert_msg(strncmp(s, "<?xml", 5) == 0, "SVG without <?xml");
	ck_assert_ptr_nonnull(memmem(s, n, "<svg", 4));
	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' '))
		n--;
	ck_assert_msg(n >= 6 && memcmp(s + n - 6, "</svg>", 6) == 0,
	    "SVG does not end with </svg>");
	ck_assert_msg(svg_well_formed(s, img->len), "SVG is not well formed");
}

START_TEST(png_and_svg_are_valid)
{
	struct archive_store	*st;
	struct graph_req	 req;
	struct graph_image	 img;
	const char		*ids[] = { "shop/web1", "shop/web2",
				    "shop/new" };
	time_t			 now = time(NULL);
	time_t			 t0 = now - 3 * 3600 - now % STEP;

	fill_server("shop/web1", t0, 180);
	fill_server("shop/web2", t0 + 17, 170);
	st = archive_store_open(tmp, NULL);
	ck_assert_ptr_nonnull(st);

	memset(&req, 0, sizeof(req));
	ck_assert_int_eq(graph_period("3h", now, &req), 0);
	ck_assert_int_eq(req.end - req.start, 3 * 3600);
	ck_assert_int_eq(graph_period("2h", now, &req), -1);

	req.format = GRAPH_PNG;
	ck_assert_int_eq(graph_server(st, "shop/web1", &req, &img), 0);
	check_png(&img);
	graph_image_free(&img);

	req.format = GRAPH_SVG;
	ck_assert_int_eq(graph_server(st, "shop/web1", &req, &img), 0);
	check_svg(&img);
	graph_image_free(&img);

	/* A farm, one member without an archive yet. */
	req.format = GRAPH_PNG;
	req.title = "shop";
	ck_assert_int_eq(graph_farm(st, "shop", ids, 3, &req, &img), 0);
	check_png(&img);
	graph_image_free(&img);
	req.format = GRAPH_SVG;
	ck_assert_int_eq(graph_farm(st, "shop", ids, 3, &req, &img), 0);
	check_svg(&img);
	graph_image_free(&img);

	/* Any start and end, and every named period. */
	req.title = NULL;
	req.format = GRAPH_PNG;
	req.start = t0 + 1800;
	req.end = t0 + 5400;
	req.width = 400;
	req.height = 120;
	ck_assert_int_eq(graph_server(st, "shop/web2", &req, &img), 0);
	ck_assert_uint_gt(img.width, 400);
	ck_assert_uint_lt(img.width, 800);
	graph_image_free(&img);
	req.width = req.height = 0;
	ck_assert_int_eq(graph_period("1y", now, &req), 0);
	ck_assert_int_eq(graph_server(st, "shop/web1", &req, &img), 0);
	check_png(&img);
	graph_image_free(&img);

	/* No archive, or a nonsense period: an error, not a crash. */
	ck_assert_int_eq(graph_server(st, "shop/new", &req, &img), -1);
	ck_assert_ptr_null(img.data);
	req.end = req.start - 1;
	ck_assert_int_eq(graph_server(st, "shop/web1", &req, &img), -1);
	archive_store_close(st);
}
END_TEST

/* The legend librrd drew holds s. */
static int
legend_has(const struct graph_image *img, const char *s)
{
	ck_assert_ptr_nonnull(img->legend);
	return strstr(img->legend, s) != NULL;
}

/*
 * An archive without a complete row yet (its first minute) gets a legend
 * in words, never librrd's "-nan"; one with rows gets its figures.
 */
START_TEST(legend_never_says_nan)
{
	struct archive_store	*st;
	struct graph_req	 req;
	struct graph_image	 img;
	const char		*ids[] = { "shop/web1", "shop/fresh" };
	time_t			 now = time(NULL);

	fill_server("shop/web1", now - 3 * 3600 - now % STEP, 180);
	fill_server("shop/fresh", now - 2 * STEP, 1);
	st = archive_store_open(tmp, NULL);
	ck_assert_ptr_nonnull(st);
	memset(&req, 0, sizeof(req));
	ck_assert_int_eq(graph_period("3h", now, &req), 0);
	req.format = GRAPH_SVG;

	ck_assert_int_eq(graph_server(st, "shop/fresh", &req, &img), 0);
	ck_assert_msg(legend_has(&img, "no sample yet"), "no words for no rows");
	ck_assert_msg(!legend_has(&img, "nan"), "legend prints nan");
	graph_image_free(&img);

	ck_assert_int_eq(graph_server(st, "shop/web1", &req, &img), 0);
	ck_assert_msg(legend_has(&img, "avg"), "no figures with rows");
	ck_assert_msg(!legend_has(&img, "no sample yet"), "words with rows");
	ck_assert_msg(!legend_has(&img, "nan"), "legend prints nan");
	graph_image_free(&img);

	ck_assert_int_eq(graph_farm(st, "shop", ids, 2, &req, &img), 0);
	ck_assert_msg(legend_has(&img, "no sample yet"), "no words for fresh");
	ck_assert_msg(legend_has(&img, "farm up"), "no farm figure");
	ck_assert_msg(!legend_has(&img, "nan"), "farm legend prints nan");
	graph_image_free(&img);
	archive_store_close(st);
}
END_TEST

/*
 * A farm's graph in cluster mode: each member from its probe nodes'
 * archives with its quorum, the same figures as the uptime above (web
 * 50 % with quorum 2, db 70 %; some member up 100 %, all 1 of 8).
 */
START_TEST(farm_graph_from_node_archives)
{
	struct archive_store	*st;
	struct graph_req	 req;
	struct graph_image	 img;
	const char		*web[] = { "web@node1", "web@node2" };
	const char		*db[] = { "db@node1", "db@node2" };
	const char		*labels[] = { "web", "db" };
	struct uptime_src	 two[2] = { { web, 2, 2 }, { db, 2, 2 } };
	time_t			 t0 = hour_ago(20);

	fill_nodes(t0);
	st = archive_store_open(tmp, NULL);
	ck_assert_ptr_nonnull(st);
	memset(&req, 0, sizeof(req));
	req.start = t0;
	req.end = t0 + 10 * STEP;
	req.format = GRAPH_SVG;
	ck_assert_int_eq(graph_farm_views(st, "shop", two, labels, 2, &req,
	    &img), 0);
	check_svg(&img);
	ck_assert_msg(legend_has(&img, "up  50.000%"), "web: %s", img.legend);
	ck_assert_msg(legend_has(&img, "up  70.000%"), "db: %s", img.legend);
	ck_assert_msg(legend_has(&img, "(some member) 100.000%"), "any: %s",
	    img.legend);
	ck_assert_msg(legend_has(&img, "(all members)  12.500%"), "all: %s",
	    img.legend);
	graph_image_free(&img);

	/* Quorum 1: web up throughout (node2), db too. */
	two[0].need = two[1].need = 1;
	ck_assert_int_eq(graph_farm_views(st, "shop", two, labels, 2, &req,
	    &img), 0);
	ck_assert_msg(legend_has(&img, "(all members) 100.000%"), "all: %s",
	    img.legend);
	ck_assert_msg(!legend_has(&img, "up  50.000%"), "web: %s", img.legend);
	graph_image_free(&img);

	/* A quorum above the nodes: the member is never known. */
	two[0].need = 3;
	ck_assert_int_eq(graph_farm_views(st, "shop", two, labels, 2, &req,
	    &img), 0);
	ck_assert_msg(legend_has(&img, "up     nan%") ||
	    legend_has(&img, "up    -nan%"), "web: %s", img.legend);
	graph_image_free(&img);
	archive_store_close(st);
}
END_TEST

struct grapher {
	struct archive_store	*st;
	int			 n;
	int			 ok;
};

static void *
grapher_main(void *arg)
{
	struct grapher		*g = arg;
	struct graph_req	 req;
	struct graph_image	 img;
	const char		*ids[] = { "shop/web1", "shop/web2" };
	int			 i, rc;

	memset(&req, 0, sizeof(req));
	for (i = 0; i < 4; i++) {
		graph_period(i % 2 == 0 ? "3h" : "1d", time(NULL), &req);
		req.format = (g->n + i) % 2 == 0 ? GRAPH_PNG : GRAPH_SVG;
		if (i == 3)
			rc = graph_farm(g->st, "shop", ids, 2, &req, &img);
		else
			rc = graph_server(g->st, ids[(g->n + i) % 2], &req,
			    &img);
		if (rc == 0 && img.len > 1000 &&
		    (req.format == GRAPH_PNG ?
		    memcmp(img.data, "\x89PNG", 4) == 0 :
		    svg_well_formed((const char *)img.data, img.len)))
			g->ok++;
		graph_image_free(&img);
	}
	return NULL;
}

START_TEST(eight_threads_graph_at_once)
{
	struct archive_store	*st;
	struct grapher		 g[8];
	pthread_t		 th[8];
	time_t			 now = time(NULL);
	time_t			 t0 = now - 3 * 3600 - now % STEP;
	int			 i;

	fill_server("shop/web1", t0, 180);
	fill_server("shop/web2", t0, 180);
	st = archive_store_open(tmp, NULL);
	ck_assert_ptr_nonnull(st);
	for (i = 0; i < 8; i++) {
		g[i].st = st;
		g[i].n = i;
		g[i].ok = 0;
		ck_assert_int_eq(pthread_create(&th[i], NULL, grapher_main,
		    &g[i]), 0);
	}
	for (i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		ck_assert_int_eq(g[i].ok, 4);
	}
	archive_store_close(st);
}
END_TEST

/* Wait until something accepts on a Unix socket; 1 when it does. */
static int
wait_socket(const char *path)
{
	struct sockaddr_un	sun;
	int			i, fd, ok;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
	for (i = 0; i < 200; i++) {
		if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1)
			return 0;
		ok = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
		close(fd);
		if (ok)
			return 1;
		usleep(25000);
	}
	return 0;
}

/* Wait until something accepts on 127.0.0.1:port; 1 when it does. */
static int
wait_port(int port)
{
	struct sockaddr_in	sin;
	int			i, fd, ok;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (i = 0; i < 200; i++) {
		if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
			return 0;
		ok = connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
		close(fd);
		if (ok)
			return 1;
		usleep(25000);
	}
	return 0;
}

/* A TCP port nobody listens on now. */
static int
free_port(void)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof(sin);
	int			fd;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ne(fd, -1);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	close(fd);
	return ntohs(sin.sin_port);
}

/*
 * Start rrdcached in the foreground on listen (unix:PATH or host:port),
 * base STATE/rrd (restricted to it), journal and pid file in the state
 * folder; recursive creates allowed when recursive. It dies with us.
 */
static pid_t
start_rrdcached(const char *listen_on, int recursive)
{
	char	rrddir[160], journal[160], pidfile[160], logfile[160];
	pid_t	pid;
	int	fd;

	ck_assert_msg(access(RRDCACHED, X_OK) == 0,
	    "%s not found: the rrdcached tests need it (Debian package "
	    "rrdcached, installed by tools/deps)", RRDCACHED);
	snprintf(rrddir, sizeof(rrddir), "%s/rrd", tmp);
	snprintf(journal, sizeof(journal), "%s/journal", tmp);
	snprintf(pidfile, sizeof(pidfile), "%s/rrdcached.pid", tmp);
	snprintf(logfile, sizeof(logfile), "%s/rrdcached.log", tmp);
	ck_assert(mkdir(rrddir, 0755) == 0 || errno == EEXIST);
	ck_assert(mkdir(journal, 0755) == 0 || errno == EEXIST);
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if ((fd = open(logfile, O_WRONLY | O_CREAT | O_TRUNC,
		    0644)) != -1) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		execl(RRDCACHED, "rrdcached", "-g", "-l", listen_on,
		    "-b", rrddir, "-B", "-j", journal, "-p", pidfile,
		    recursive ? "-R" : "-F", (char *)NULL);
		_exit(127);
	}
	cached_pid = pid;
	return pid;
}

static void
stop_rrdcached(void)
{
	int	status;

	if (cached_pid <= 0)
		return;
	kill(cached_pid, SIGTERM);
	waitpid(cached_pid, &status, 0);
	cached_pid = -1;
}

START_TEST(writes_through_rrdcached)
{
	struct writer		*w;
	struct writer_stats	 ws;
	struct archive_store	*st, *direct;
	struct archive_layout	 l;
	struct archive_series	 s;
	struct check_result	 r;
	struct uptime		 u;
	struct graph_req	 req;
	struct graph_image	 img;
	char			 sock[128], addr[160];
	time_t			 t0 = hour_ago(6), t;
	int			 k;

	snprintf(sock, sizeof(sock), "%s/rrdcached.sock", tmp);
	snprintf(addr, sizeof(addr), "unix:%s", sock);
	start_rrdcached(addr, 0);
	ck_assert_msg(wait_socket(sock), "rrdcached did not come up; see "
	    "its log in the state folder");

	w = writer_open(tmp, addr, 100);
	ck_assert_ptr_nonnull(w);
	for (k = 1; k <= 40; k++) {
		result_at(&r, t0 + k * STEP, k == 10 ? CHECK_CRITICAL :
		    CHECK_OK, 3000 * k);
		if (k > 30) {
			r.nperf = 1;
			strlcpy(r.perf[0].label, "users", PERF_LABEL_MAX);
			r.perf[0].value = k;
		}
		ck_assert_int_eq(writer_submit(w, "shop/web1", STEP, &r), 0);
		ck_assert_int_eq(writer_submit(w, "solo", STEP, &r), 0);
	}
	drain_close(w, &ws);
	ck_assert_uint_eq(ws.errors, 0);
	ck_assert_uint_eq(ws.written, 80);
	ck_assert_uint_eq(ws.recreated, 2);

	/* Read back through rrdcached (flush, then fetch). */
	st = archive_store_open(tmp, addr);
	ck_assert_ptr_nonnull(st);
	ck_assert_int_eq(archive_info(st, "shop/web1", &l), 0);
	ck_assert_int_eq(l.nds, ARCHIVE_NFIXED + 1);
	ck_assert_int_eq(archive_fetch(st, "shop/web1", "AVERAGE", t0,
	    t0 + 40 * STEP, STEP, &s), 0);
	for (k = 1; k <= 40; k++) {
		t = t0 + k * STEP;
		ck_assert_double_eq_tol(row_at(&s, t, "total"),
		    3000 * k / 1e6, 1e-9);
		ck_assert_double_eq_tol(row_at(&s, t, "up"), k == 10 ? 0 : 1,
		    1e-12);
		if (k > 30)
			ck_assert_double_eq_tol(row_at(&s, t, "users"), k,
			    1e-9);
	}
	archive_series_free(&s);
	ck_assert_int_eq(uptime_server(st, "solo", t0, t0 + 40 * STEP, &u),
	    0);
	ck_assert_double_eq_tol(u.pct, 100.0 * 39 / 40, 1e-9);

	/* A graph asks rrdcached (--daemon) for what it holds. */
	memset(&req, 0, sizeof(req));
	req.start = t0;
	req.end = t0 + 40 * STEP;
	req.format = GRAPH_SVG;
	ck_assert_int_eq(graph_server(st, "shop/web1", &req, &img), 0);
	check_svg(&img);
	graph_image_free(&img);

	/* Flushed: the file itself says the same. */
	ck_assert_int_eq(archive_flush(st, "solo"), 0);
	direct = archive_store_open(tmp, NULL);
	ck_assert_int_eq(archive_fetch(direct, "solo", "AVERAGE", t0,
	    t0 + 40 * STEP, STEP, &s), 0);
	ck_assert_double_eq_tol(row_at(&s, t0 + 40 * STEP, "total"), 0.12,
	    1e-9);
	archive_series_free(&s);
	archive_store_close(direct);
	archive_store_close(st);
	stop_rrdcached();
}
END_TEST

START_TEST(tcp_rrdcached_takes_relative_paths)
{
	struct writer		*w;
	struct archive_store	*st;
	struct archive_series	 s;
	struct check_result	 r;
	struct graph_req	 req;
	struct graph_image	 img;
	struct stat		 sb;
	char			 addr[64], path[256];
	time_t			 now = time(NULL);
	time_t			 t0 = now - 3 * 3600 - now % STEP;
	int			 k, port = free_port();

	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	start_rrdcached(addr, 1);
	ck_assert_msg(wait_port(port), "rrdcached did not come up on %s",
	    addr);

	w = writer_open(tmp, addr, 300);
	ck_assert_ptr_nonnull(w);
	for (k = 1; k <= 180; k++) {
		result_at(&r, t0 + k * STEP, CHECK_OK, 1000 * (k % 50 + 1));
		ck_assert_int_eq(writer_submit(w, "shop/web2", STEP, &r), 0);
	}
	writer_close(w);

	snprintf(path, sizeof(path), "%s/rrd/shop/web2.rrd", tmp);
	ck_assert_msg(stat(path, &sb) == 0, "%s: %s", path, strerror(errno));
	st = archive_store_open(tmp, addr);
	ck_assert_ptr_nonnull(st);
	ck_assert_int_eq(archive_path(st, "shop/web2", path, sizeof(path)),
	    0);
	ck_assert_str_eq(path, "shop/web2.rrd");
	ck_assert_int_eq(archive_fetch(st, "shop/web2", "AVERAGE", t0,
	    t0 + 180 * STEP, STEP, &s), 0);
	for (k = 1; k <= 180; k++)
		ck_assert_double_eq_tol(row_at(&s, t0 + k * STEP, "total"),
		    1000 * (k % 50 + 1) / 1e6, 1e-9);
	archive_series_free(&s);
	ck_assert_int_eq(archive_fetch(st, "shop/none", "AVERAGE", t0,
	    t0 + 600, STEP, &s), 1);

	/* Graphs read through rrdcached too. */
	memset(&req, 0, sizeof(req));
	graph_period("3h", now, &req);
	ck_assert_int_eq(graph_server(st, "shop/web2", &req, &img), 0);
	check_png(&img);
	graph_image_free(&img);
	archive_store_close(st);
	stop_rrdcached();
}
END_TEST

/*
 * The round-robin archives of an archive file, from rrd info: cf, steps a
 * row and rows of each, in file order; returns how many (at most max).
 */
struct rra_info {
	char		cf[16];
	unsigned long	pdp;
	unsigned long	rows;
};

static int
read_rras(const char *path, struct rra_info *out, int max)
{
	rrd_info_t	*info, *p;
	unsigned long	 idx;
	char		 field[32];
	int		 n = 0;

	memset(out, 0, sizeof(*out) * (size_t)max);
	info = rrd_info_r(path);
	ck_assert_msg(info != NULL, "rrd info %s", path);
	for (p = info; p != NULL; p = p->next) {
		if (sscanf(p->key, "rra[%lu].%31s", &idx, field) != 2)
			continue;
		ck_assert_int_lt(idx, max);
		if (strcmp(field, "cf") == 0)
			strlcpy(out[idx].cf, p->value.u_str,
			    sizeof(out[idx].cf));
		else if (strcmp(field, "pdp_per_row") == 0)
			out[idx].pdp = p->value.u_cnt;
		else if (strcmp(field, "rows") == 0)
			out[idx].rows = p->value.u_cnt;
		if ((int)idx + 1 > n)
			n = (int)idx + 1;
	}
	rrd_info_free(info);
	return n;
}

/* The size of a file in bytes; fails the test if it is not there. */
static off_t
file_size(const char *path)
{
	struct stat	sb;

	ck_assert_msg(stat(path, &sb) == 0, "%s: %s", path, strerror(errno));
	return sb.st_size;
}

#define TWO_MB	(2L * 1024 * 1024)

START_TEST(archive_is_under_2mb_at_any_interval)
{
	static const unsigned long intervals_ms[] = { 60000, 5000, 1000, 500 };
	struct archive_store	*st;
	struct archive_layout	 l, got;
	struct rra_info		 rra[32];
	char			 id[32], path[512];
	size_t			 i;
	off_t			 size;
	int			 k, n, minmax;
	unsigned		 step;

	ck_assert_uint_eq(archive_step(60000), 60);
	ck_assert_uint_eq(archive_step(5000), 5);
	ck_assert_uint_eq(archive_step(1000), 1);
	ck_assert_uint_eq(archive_step(500), 1);
	st = archive_store_open(tmp, NULL);
	ck_assert_ptr_nonnull(st);
	for (i = 0; i < sizeof(intervals_ms) / sizeof(intervals_ms[0]); i++) {
		step = archive_step(intervals_ms[i]);
		snprintf(id, sizeof(id), "iv%lums", intervals_ms[i]);
		archive_layout_init(&l, step);
		l.last = time(NULL) - 10;
		ck_assert_int_eq(archive_create(st, id, &l, NULL), 0);
		ck_assert_int_eq(archive_path(st, id, path, sizeof(path)), 0);
		size = file_size(path);
		fprintf(stderr, "archive at %lu ms: %lld bytes\n",
		    intervals_ms[i], (long long)size);
		ck_assert_msg(size <= TWO_MB, "%lu ms: %lld bytes",
		    intervals_ms[i], (long long)size);
		ck_assert_int_eq(archive_info(st, id, &got), 0);
		ck_assert_int_eq(got.current, 1);
		ck_assert(archive_layout_same(&got, &l));

		/* Full resolution first: two days, but at most 3600 rows. */
		n = read_rras(path, rra, 32);
		ck_assert_str_eq(rra[0].cf, "AVERAGE");
		ck_assert_uint_eq(rra[0].pdp, 1);
		ck_assert_uint_eq(rra[0].rows, step >= 60 ? 2 * 86400 / step :
		    3600);
		/* MIN and MAX only where a row holds several samples. */
		minmax = 0;
		for (k = 0; k < n; k++) {
			if (rra[k].pdp == 1)
				ck_assert_str_eq(rra[k].cf, "AVERAGE");
			else if (strcmp(rra[k].cf, "AVERAGE") != 0)
				minmax++;
		}
		ck_assert_int_eq(minmax, step < 60 ? 8 : 6);
		/* Two years of daily rows at the end. */
		ck_assert_uint_eq(rra[n - 1].pdp * step, 86400);
		ck_assert_uint_ge(rra[n - 1].rows, 732);
	}
	archive_store_close(st);
}
END_TEST

/*
 * An archive as the layout before this one made it at a 1 s step (every
 * sample for two days, each tier as AVERAGE, MIN and MAX): 25 MB.
 */
static void
create_old_layout(const char *path, time_t last)
{
	static const char *const rras[] = {
		"RRA:AVERAGE:0.5:1:172800", "RRA:MIN:0.5:1:172800",
		"RRA:MAX:0.5:1:172800", "RRA:AVERAGE:0.5:300:4032",
		"RRA:MIN:0.5:300:4032", "RRA:MAX:0.5:300:4032",
		"RRA:AVERAGE:0.5:3600:1488", "RRA:MIN:0.5:3600:1488",
		"RRA:MAX:0.5:3600:1488", "RRA:AVERAGE:0.5:86400:732",
		"RRA:MIN:0.5:86400:732", "RRA:MAX:0.5:86400:732",
	};
	const char	*argv[ARCHIVE_NFIXED + 12];
	char		 ds[ARCHIVE_NFIXED][64];
	int		 i, argc = 0;

	for (i = 0; i < ARCHIVE_NFIXED; i++) {
		snprintf(ds[i], sizeof(ds[i]), "DS:%s:GAUGE:2:%s",
		    archive_fixed_ds[i], i == ARCHIVE_UP ? "0:1" : "0:U");
		argv[argc++] = ds[i];
	}
	for (i = 0; i < 12; i++)
		argv[argc++] = rras[i];
	rrd_clear_error();
	ck_assert_msg(rrd_create_r2(path, 1, last, 0, NULL, NULL, argc,
	    argv) == 0, "create %s: %s", path, rrd_get_error());
}

START_TEST(old_layout_is_recreated_with_history)
{
	struct writer		*w;
	struct writer_stats	 ws;
	struct archive_store	*st;
	struct archive_layout	 l;
	struct archive_series	 s;
	struct check_result	 r;
	char			 path[512];
	double			 v[ARCHIVE_DS_MAX];
	time_t			 t0 = time(NULL) - 1800, t;
	int			 k, i;

	st = archive_store_open(tmp, NULL);
	ck_assert_ptr_nonnull(st);
	ck_assert_int_eq(archive_path(st, "old", path, sizeof(path)), 0);
	create_old_layout(path, t0);
	ck_assert_int_gt(file_size(path), 10 * TWO_MB);
	ck_assert_int_eq(archive_info(st, "old", &l), 0);
	ck_assert_int_eq(l.current, 0);
	for (k = 1; k <= 600; k++) {
		for (i = 0; i < l.nds; i++)
			v[i] = NAN;
		v[ARCHIVE_TOTAL] = k / 1e4;
		v[ARCHIVE_UP] = 1;
		ck_assert_int_eq(archive_update(st, "old", &l, t0 + k,
		    v), 0);
	}

	w = writer_open(tmp, NULL, 10);
	ck_assert_ptr_nonnull(w);
	result_at(&r, t0 + 601, CHECK_OK, 77000);
	ck_assert_int_eq(writer_submit(w, "old", 1, &r), 0);
	drain_close(w, &ws);
	ck_assert_uint_eq(ws.written, 1);
	ck_assert_uint_eq(ws.recreated, 1);
	ck_assert_int_le(file_size(path), TWO_MB);
	ck_assert_int_eq(archive_info(st, "old", &l), 0);
	ck_assert_int_eq(l.current, 1);
	ck_assert_uint_eq(l.step, 1);

	/* The old samples, second by second, then the new one. */
	ck_assert_int_eq(archive_fetch(st, "old", "AVERAGE", t0,
	    t0 + 601, 1, &s), 0);
	ck_assert_uint_eq(s.step, 1);
	for (k = 1; k <= 600; k++) {
		t = t0 + k;
		ck_assert_double_eq_tol(row_at(&s, t, "total"), k / 1e4, 1e-9);
		ck_assert_double_eq_tol(row_at(&s, t, "up"), 1, 1e-12);
	}
	ck_assert_double_eq_tol(row_at(&s, t0 + 601, "total"), 0.077, 1e-9);
	archive_series_free(&s);
	archive_store_close(st);
}
END_TEST

START_TEST(interval_5s_to_1s_keeps_minute_history)
{
	struct writer		*w;
	struct writer_stats	 ws;
	struct archive_store	*st;
	struct archive_layout	 l;
	struct archive_series	 s;
	struct check_result	 r;
	time_t			 t0 = hour_ago(3), t1, t;
	int			 k, known = 0;

	/* 30 minutes at 5 s, one latency a minute (12 samples each). */
	w = writer_open(tmp, NULL, 1000);
	ck_assert_ptr_nonnull(w);
	for (k = 1; k <= 360; k++) {
		result_at(&r, t0 + k * 5, CHECK_OK, 1000 * ((k - 1) / 12 + 1));
		ck_assert_int_ge(writer_submit(w, "fast", 5, &r), 0);
	}
	t1 = t0 + 360 * 5;
	for (k = 1; k <= 30; k++) {
		result_at(&r, t1 + k, CHECK_OK, 55000);
		ck_assert_int_ge(writer_submit(w, "fast", 1, &r), 0);
	}
	drain_close(w, &ws);
	ck_assert_uint_eq(ws.written, 390);
	ck_assert_uint_eq(ws.recreated, 1);

	st = archive_store_open(tmp, NULL);
	ck_assert_int_eq(archive_info(st, "fast", &l), 0);
	ck_assert_uint_eq(l.step, 1);
	ck_assert_int_eq(l.current, 1);

	/* Minute rows of the old 5 s samples, in the new layout. */
	ck_assert_int_eq(archive_fetch(st, "fast", "AVERAGE", t0, t1, 60,
	    &s), 0);
	ck_assert_uint_eq(s.step, 60);
	for (k = 1; k <= 30; k++) {
		t = t0 + k * 60;
		if (isnan(row_at(&s, t, "total")))
			continue;
		known++;
		ck_assert_double_eq_tol(row_at(&s, t, "total"), k / 1e3, 1e-9);
	}
	ck_assert_int_ge(known, 29);
	archive_series_free(&s);

	/* Those rows hold 12 samples: their MAX is kept, and the same. */
	ck_assert_int_eq(archive_fetch(st, "fast", "MAX", t0, t1, 60, &s), 0);
	ck_assert_uint_eq(s.step, 60);
	ck_assert_double_eq_tol(row_at(&s, t0 + 600, "total"), 0.010, 1e-9);
	archive_series_free(&s);

	/* The new samples at full resolution. */
	ck_assert_int_eq(archive_fetch(st, "fast", "AVERAGE", t1, t1 + 30, 1,
	    &s), 0);
	ck_assert_uint_eq(s.step, 1);
	for (k = 1; k <= 30; k++)
		ck_assert_double_eq_tol(row_at(&s, t1 + k, "total"), 0.055,
		    1e-9);
	archive_series_free(&s);
	archive_store_close(st);
}
END_TEST

START_TEST(min_max_of_single_sample_rows_are_the_samples)
{
	struct writer		*w;
	struct writer_stats	 ws;
	struct archive_store	*st;
	struct archive_series	 s;
	struct check_result	 r;
	time_t			 now = time(NULL);
	time_t			 t0 = now - 3 * 3600 - now % STEP;
	int			 k;

	w = writer_open(tmp, NULL, 1000);
	ck_assert_ptr_nonnull(w);
	for (k = 1; k <= 150; k++) {
		result_at(&r, t0 + k * STEP, CHECK_OK, 1000 * (k % 17 + 1));
		ck_assert_int_eq(writer_submit(w, "one", STEP, &r), 0);
	}
	drain_close(w, &ws);
	ck_assert_uint_eq(ws.written, 150);

	st = archive_store_open(tmp, NULL);
	/*
	 * No MIN or MAX at 60 s: librrd answers them from the 60 s AVERAGE
	 * rows (as it does a graph's DEF), which are the samples.
	 */
	ck_assert_int_eq(archive_fetch(st, "one", "MIN", t0, t0 + 150 * STEP,
	    STEP, &s), 0);
	ck_assert_uint_eq(s.step, STEP);
	for (k = 1; k <= 150; k++)
		ck_assert_double_eq_tol(row_at(&s, t0 + k * STEP, "total"),
		    (k % 17 + 1) / 1e3, 1e-9);
	archive_series_free(&s);
	archive_store_close(st);
}
END_TEST

START_TEST(graphs_of_a_1s_archive)
{
	struct writer		*w;
	struct writer_stats	 ws;
	struct archive_store	*st;
	struct graph_req	 req;
	struct graph_image	 img;
	struct uptime		 u;
	struct check_result	 r;
	const char		*ids[] = { "fast/a", "fast/b" };
	const char		*periods[] = { "3h", "1d", "1w" };
	time_t			 now = time(NULL), t0 = now - 1200;
	size_t			 i;
	int			 k;

	w = writer_open(tmp, NULL, 3000);
	ck_assert_ptr_nonnull(w);
	for (k = 1; k <= 1100; k++) {
		result_at(&r, t0 + k, k % 100 < 10 ? CHECK_CRITICAL : CHECK_OK,
		    k % 100 < 10 ? -1 : 10000 + k % 37 * 100);
		ck_assert_int_ge(writer_submit(w, ids[0], 1, &r), 0);
		ck_assert_int_ge(writer_submit(w, ids[1], 1, &r), 0);
	}
	drain_close(w, &ws);
	ck_assert_uint_eq(ws.written, 2200);

	st = archive_store_open(tmp, NULL);
	memset(&req, 0, sizeof(req));
	for (i = 0; i < sizeof(periods) / sizeof(periods[0]); i++) {
		ck_assert_int_eq(graph_period(periods[i], now, &req), 0);
		req.format = GRAPH_PNG;
		ck_assert_int_eq(graph_server(st, ids[0], &req, &img), 0);
		check_png(&img);
		graph_image_free(&img);
		req.format = GRAPH_SVG;
		ck_assert_int_eq(graph_farm(st, "fast", ids, 2, &req, &img), 0);
		check_svg(&img);
		graph_image_free(&img);
	}
	/* Uptime from the 1 s rows: 10 % of the samples were down. */
	ck_assert_int_eq(uptime_server(st, ids[0], t0 + 100, t0 + 1100, &u),
	    0);
	ck_assert_double_eq_tol(u.known_s, 1000, 1e-6);
	ck_assert_double_eq_tol(u.pct, 90, 1e-9);
	archive_store_close(st);
}
END_TEST

static Suite *
rrd_suite(void)
{
	Suite	*s = suite_create("rrd");
	TCase	*tc;

	tc = tcase_create("archive");
	tcase_add_unchecked_fixture(tc, case_setup, case_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, update_then_fetch_returns_same_values);
	tcase_add_test(tc, read_waits_for_the_writers_lock);
	tcase_add_test(tc, node_archives_are_listed_by_server);
	tcase_add_test(tc, unknown_status_and_missing_parts_are_unknown);
	tcase_add_test(tc, downtime_is_unknown_in_sla_only);
	tcase_add_test(tc, interval_change_keeps_history);
	tcase_add_test(tc, new_perf_label_adds_series_and_keeps_history);
	tcase_add_test(tc, too_many_perf_labels_are_capped);
	tcase_add_test(tc, bad_ids_are_refused);
	suite_add_tcase(s, tc);

	tc = tcase_create("layout");
	tcase_add_unchecked_fixture(tc, case_setup, case_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, archive_is_under_2mb_at_any_interval);
	tcase_add_test(tc, old_layout_is_recreated_with_history);
	tcase_add_test(tc, interval_5s_to_1s_keeps_minute_history);
	tcase_add_test(tc, min_max_of_single_sample_rows_are_the_samples);
	tcase_add_test(tc, graphs_of_a_1s_archive);
	suite_add_tcase(s, tc);

	tc = tcase_create("writer");
	tcase_add_unchecked_fixture(tc, case_setup, case_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, same_second_is_written_once);
	tcase_add_test(tc, full_queue_drops_oldest_and_counts);
	suite_add_tcase(s, tc);

	tc = tcase_create("uptime");
	tcase_add_unchecked_fixture(tc, case_setup, case_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, uptime_matches_hand_computed);
	tcase_add_test(tc, farm_uptime_any_and_all);
	tcase_add_test(tc, quorum_uptime_from_node_archives);
	tcase_add_test(tc, quorum_of_fractions_is_the_kth_largest);
	tcase_add_test(tc, farm_graph_from_node_archives);
	suite_add_tcase(s, tc);

	tc = tcase_create("graph");
	tcase_add_unchecked_fixture(tc, case_setup, case_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, png_and_svg_are_valid);
	tcase_add_test(tc, legend_never_says_nan);
	tcase_add_test(tc, eight_threads_graph_at_once);
	suite_add_tcase(s, tc);

	tc = tcase_create("rrdcached");
	tcase_add_unchecked_fixture(tc, case_setup, case_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, writes_through_rrdcached);
	tcase_add_test(tc, tcp_rrdcached_takes_relative_paths);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return ckrun(rrd_suite());
}
