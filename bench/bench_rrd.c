/*
 * bench_rrd.c: archive updates a second through the writer, for 10,000
 * archives, written straight with librrd and through an rrdcached started
 * here, in one run; or (-s) the size of one archive at given steps.
 * Prints figures; never part of pass or fail.
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

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rrd.h>

#include "log.h"
#include "result.h"
#include "xmalloc.h"
#include "rrd/archive.h"
#include "rrd/writer.h"

#define RRDCACHED	"/usr/bin/rrdcached"
#define STEP		60
#define DEADLINE	50	/* seconds for everything, at most */
#define NRRA_MAX	32	/* round-robin archives of an archive */

static char	 dir[64];
static pid_t	 cached = -1;
static time_t	 started;

static double	 now_s(void);
static int	 rm_entry(const char *, const struct stat *, int,
		    struct FTW *);
static void	 cleanup(void);
static int	 plan_args(unsigned long, unsigned long, char (*)[64], int);
static void	 make_archives(int, time_t);
static void	 archive_sizes(const char *);
static int	 drain(struct writer *, uint64_t);
static double	 run(const char *, int, int, time_t *);
static int	 start_rrdcached(const char *);
static void	 usage(void) __attribute__((noreturn));

static double
now_s(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void
cleanup(void)
{
	int	status;

	if (cached > 0) {
		kill(cached, SIGTERM);
		waitpid(cached, &status, 0);
		cached = -1;
	}
	if (dir[0] != '\0') {
		nftw(dir, rm_entry, 32, FTW_DEPTH | FTW_PHYS);
		dir[0] = '\0';
	}
}

/*
 * The round-robin archives of a real archive of this step, as librrd
 * create arguments with at most maxrows rows each (0: as they are).
 * Returns how many, at most max.
 */
static int
plan_args(unsigned long step, unsigned long maxrows, char (*args)[64],
    int max)
{
	struct archive_store	*st;
	struct archive_layout	 l;
	rrd_info_t		*info, *p;
	char			 path[256], cf[NRRA_MAX][16], field[32];
	unsigned long		 pdp[NRRA_MAX] = { 0 }, rows[NRRA_MAX] = { 0 };
	unsigned long		 idx;
	int			 i, n = 0;

	memset(cf, 0, sizeof(cf));
	if ((st = archive_store_open(dir, NULL)) == NULL)
		fatalx("%s", archive_error());
	archive_layout_init(&l, step);
	l.last = time(NULL) - 10;
	if (archive_create(st, "plan", &l, NULL) == -1 ||
	    archive_path(st, "plan", path, sizeof(path)) == -1)
		fatalx("%s", archive_error());
	if ((info = rrd_info_r(path)) == NULL)
		fatalx("info %s: %s", path, rrd_get_error());
	for (p = info; p != NULL; p = p->next) {
		if (sscanf(p->key, "rra[%lu].%31s", &idx, field) != 2)
			continue;
		if (idx >= NRRA_MAX || (int)idx >= max)
			fatalx("%s: too many archives", path);
		if (strcmp(field, "cf") == 0)
			strlcpy(cf[idx], p->value.u_str, sizeof(cf[idx]));
		else if (strcmp(field, "pdp_per_row") == 0)
			pdp[idx] = p->value.u_cnt;
		else if (strcmp(field, "rows") == 0)
			rows[idx] = p->value.u_cnt;
		if ((int)idx + 1 > n)
			n = (int)idx + 1;
	}
	rrd_info_free(info);
	unlink(path);
	archive_store_close(st);
	for (i = 0; i < n; i++)
		snprintf(args[i], sizeof(args[0]), "RRA:%s:0.5:%lu:%lu", cf[i],
		    pdp[i], maxrows != 0 && rows[i] > maxrows ? maxrows :
		    rows[i]);
	return n;
}

/*
 * n archives with the series the writer writes and the consolidations of
 * real ones (archive.c's plan for STEP), but 10 rows each: an update
 * touches the same places, and 10,000 full-size archives would take 10 GB.
 * Their row counts differ from the plan's, which the writer leaves alone.
 */
static void
make_archives(int n, time_t last)
{
	char			 args[ARCHIVE_NFIXED + NRRA_MAX][64], path[256];
	char			 id[64], sub[128];
	const char		*argv[ARCHIVE_NFIXED + NRRA_MAX];
	struct archive_store	*st;
	int			 i, nrra, argc = 0;
	double			 t;

	for (i = 0; i < ARCHIVE_NFIXED; i++) {
		snprintf(args[argc], sizeof(args[0]), "DS:%s:GAUGE:%d:%s",
		    archive_fixed_ds[i], 2 * STEP,
		    i == ARCHIVE_UP ? "0:1" : "0:U");
		argv[argc] = args[argc];
		argc++;
	}
	nrra = plan_args(STEP, 10, args + argc, NRRA_MAX);
	for (i = 0; i < nrra; i++) {
		argv[argc] = args[argc];
		argc++;
	}
	if ((st = archive_store_open(dir, NULL)) == NULL)
		fatalx("%s", archive_error());
	t = now_s();
	for (i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "f%03d/s%03d", i / 100, i % 100);
		if (i % 100 == 0) {
			snprintf(sub, sizeof(sub), "%s/rrd/f%03d", dir,
			    i / 100);
			if (mkdir(sub, 0755) == -1 && errno != EEXIST)
				fatal("mkdir %s", sub);
		}
		if (archive_path(st, id, path, sizeof(path)) == -1)
			fatalx("%s", archive_error());
		rrd_clear_error();
		if (rrd_create_r2(path, STEP, last, 0, NULL, NULL, argc,
		    argv) != 0)
			fatalx("create %s: %s", path, rrd_get_error());
	}
	printf("rrd create: %.0f archives/s (%d archives)\n",
	    n / (now_s() - t), n);
	archive_store_close(st);
}

/*
 * The size of one server's archive (the six fixed series) as the writer
 * makes it, for each step in a comma-separated list of seconds: one line
 * "archive STEP s: BYTES bytes" each.
 */
static void
archive_sizes(const char *list)
{
	struct archive_store	*st;
	struct archive_layout	 l;
	struct stat		 sb;
	char			 id[32], path[256], *copy, *tok, *save, *end;
	unsigned long		 step;

	if ((st = archive_store_open(dir, NULL)) == NULL)
		fatalx("%s", archive_error());
	copy = xstrdup(list);
	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		step = strtoul(tok, &end, 10);
		if (*end != '\0' || step == 0 || step > 86400)
			usage();
		snprintf(id, sizeof(id), "size%lu", step);
		archive_layout_init(&l, step);
		l.last = time(NULL) - 10;
		if (archive_create(st, id, &l, NULL) == -1 ||
		    archive_path(st, id, path, sizeof(path)) == -1)
			fatalx("%s", archive_error());
		if (stat(path, &sb) == -1)
			fatal("stat %s", path);
		printf("archive %lu s: %lld bytes\n", step,
		    (long long)sb.st_size);
	}
	free(copy);
	archive_store_close(st);
}

/* Wait until the writer has dealt with want samples; -1 past the deadline. */
static int
drain(struct writer *w, uint64_t want)
{
	struct writer_stats	ws;

	for (;;) {
		writer_stats(w, &ws);
		if (ws.written + ws.skipped + ws.errors + ws.dropped >= want)
			break;
		if (time(NULL) - started > DEADLINE)
			return -1;
		usleep(1000);
	}
	if (ws.errors > 0 || ws.dropped > 0)
		fprintf(stderr, "bench_rrd: %llu errors, %llu dropped\n",
		    (unsigned long long)ws.errors,
		    (unsigned long long)ws.dropped);
	return 0;
}

/*
 * Through a writer (rrdcached NULL: librrd on the files): one round to
 * read every archive's layout, then rounds of one sample per archive, each
 * a step after the last (*t). Returns timed updates a second, -1 if the
 * deadline passed.
 */
static double
run(const char *rrdcached, int n, int rounds, time_t *t)
{
	struct writer		*w;
	struct check_result	 r;
	char			 id[64];
	uint64_t		 sent = 0;
	double			 t0 = 0;
	int			 round, i;

	if ((w = writer_open(dir, rrdcached, (size_t)n + 1)) == NULL)
		return -1;
	for (round = 0; round <= rounds; round++) {
		if (round == 1)
			t0 = now_s();
		*t += STEP;
		for (i = 0; i < n; i++) {
			snprintf(id, sizeof(id), "f%03d/s%03d", i / 100,
			    i % 100);
			result_init(&r, (int64_t)*t * 1000000);
			result_set(&r, CHECK_OK, "bench");
			r.total_us = 10000 + i;
			r.connect_us = 3000;
			r.firstbyte_us = 9000;
			writer_submit(w, id, STEP, &r);
			sent++;
		}
		if (drain(w, sent) == -1) {
			writer_close(w);
			return -1;
		}
	}
	writer_close(w);
	return (double)n * rounds / (now_s() - t0);
}

/* Start rrdcached on a Unix socket in the bench folder; 0 when it answers. */
static int
start_rrdcached(const char *sock)
{
	struct sockaddr_un	sun;
	char			base[128], journal[128], pidfile[128];
	char			listen_on[160];
	int			i, fd, ok = 0;

	snprintf(base, sizeof(base), "%s/rrd", dir);
	snprintf(journal, sizeof(journal), "%s/journal", dir);
	snprintf(pidfile, sizeof(pidfile), "%s/rrdcached.pid", dir);
	snprintf(listen_on, sizeof(listen_on), "unix:%s", sock);
	if (mkdir(journal, 0755) == -1 && errno != EEXIST)
		fatal("mkdir %s", journal);
	if ((cached = fork()) == -1)
		fatal("fork");
	if (cached == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if ((fd = open("/dev/null", O_WRONLY)) != -1) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl(RRDCACHED, "rrdcached", "-g", "-l", listen_on, "-b",
		    base, "-B", "-j", journal, "-p", pidfile, (char *)NULL);
		_exit(127);
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strlcpy(sun.sun_path, sock, sizeof(sun.sun_path));
	for (i = 0; i < 200 && !ok; i++) {
		if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1)
			fatal("socket");
		ok = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
		close(fd);
		if (!ok)
			usleep(25000);
	}
	return ok ? 0 : -1;
}

static void
usage(void)
{
	fprintf(stderr, "usage: bench_rrd [-n archives] [-r rounds]\n"
	    "       bench_rrd -s step[,step...]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	char	 sock[128], addr[160];
	time_t	 t;
	double	 direct, viacached = -1;
	const char *sizes = NULL;
	int	 ch, n = 10000, rounds = 3;

	while ((ch = getopt(argc, argv, "n:r:s:")) != -1) {
		switch (ch) {
		case 'n':
			n = atoi(optarg);
			break;
		case 'r':
			rounds = atoi(optarg);
			break;
		case 's':
			sizes = optarg;
			break;
		default:
			usage();
		}
	}
	if (n < 1 || n > 100000 || rounds < 1 || rounds > 100)
		usage();
	log_init("bench_rrd", 1, 0);
	started = time(NULL);
	strlcpy(dir, "/tmp/tocsin-bench.XXXXXX", sizeof(dir));
	if (mkdtemp(dir) == NULL)
		fatal("mkdtemp");
	atexit(cleanup);
	if (sizes != NULL) {
		archive_sizes(sizes);
		return 0;
	}

	t = started - 86400;
	t -= t % STEP;
	make_archives(n, t);

	if ((direct = run(NULL, n, rounds, &t)) < 0)
		fatalx("direct: past the %ds deadline", DEADLINE);
	printf("rrd direct: %.0f updates/s (%d archives)\n", direct, n);

	snprintf(sock, sizeof(sock), "%s/rrdcached.sock", dir);
	snprintf(addr, sizeof(addr), "unix:%s", sock);
	if (access(RRDCACHED, X_OK) == -1)
		printf("rrd rrdcached: not measured, %s not installed\n",
		    RRDCACHED);
	else if (start_rrdcached(sock) == -1)
		printf("rrd rrdcached: not measured, it did not start\n");
	else if ((viacached = run(addr, n, rounds, &t)) < 0)
		printf("rrd rrdcached: not measured, past the %ds deadline\n",
		    DEADLINE);
	else
		printf("rrd rrdcached: %.0f updates/s (%d archives)\n",
		    viacached, n);
	if (viacached > 0)
		printf("rrd rrdcached/direct: %.1fx\n", viacached / direct);
	return 0;
}
