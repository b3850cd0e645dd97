/*
 * summary.c: what the overview shows from the archives, made ahead: each
 * server's uptime over 1 and 30 days and its latency averaged by the hour
 * over the last day, in one small text file in the state folder. Reading
 * 1,000 archives takes seconds, so no request does it: a request that
 * finds the file missing or older than SUMMARY_MAX_AGE starts a detached
 * `tocsin.cgi --write-summary` (one at a time, under a lock) and shows the
 * file as it is. The file is written atomically (lib/fsutil).
 *
 * The file: a first line "tocsin-web-summary 1 TIME", then a line a
 * server: "ID<TAB>UP1D<TAB>UP30D<TAB>MS,MS,...<TAB>SLA1D<TAB>SLA30D",
 * "-" for an unknown figure; the SLA figures leave scheduled downtime out
 * (a line without them has them unknown). Ids hold no tab or line feed.
 * In cluster mode the figures come from the probe nodes' archives
 * (views.c).
 */
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "conf.h"
#include "fsutil.h"
#include "hash.h"
#include "log.h"
#include "xmalloc.h"
#include "archive.h"
#include "uptime.h"
#include "web.h"

#define SUMMARY_FILE	"web-summary.txt"
#define SUMMARY_LOCK	"web-summary.lock"
#define SUMMARY_MAGIC	"tocsin-web-summary 1 "
#define SUMMARY_MAX	(8 << 20)	/* bytes of a summary we read */

struct summary {
	struct hash	*rows;		/* id -> struct summary_row */
	time_t		 made;		/* Unix s */
};

static int	 lock_path(const struct web *, char *, size_t);
static int	 parse_line(struct summary *, char *);
static double	 parse_num(const char *);
static void	 spawn(const struct web *);
static void	 hourly(struct web *, const struct web_view *, time_t,
		    double *);
static double	 pct(struct web *, const struct web_view *, int, int,
		    time_t);
static void	 write_row(struct evbuffer *, struct web *,
		    const struct server_conf *, time_t);
static void	 put_num(struct evbuffer *, double, const char *);

/* The lock file's path; -1 when too long. */
static int
lock_path(const struct web *w, char *dst, size_t len)
{
	int	n;

	n = snprintf(dst, len, "%s/%s", w->conf->state_dir, SUMMARY_LOCK);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* A number, or NaN for "-" and junk. */
static double
parse_num(const char *s)
{
	char	*end;
	double	 v;

	if (strcmp(s, "-") == 0)
		return NAN;
	v = strtod(s, &end);
	return end == s || *end != '\0' ? NAN : v;
}

/* One server's line into s; -1 when it is not one. */
static int
parse_line(struct summary *s, char *line)
{
	struct summary_row	*r;
	char			*f[6] = { NULL }, *p, *pt;
	int			 i;

	for (i = 0, p = line; i < 6 && p != NULL; i++) {
		f[i] = p;
		if ((p = strchr(p, '\t')) == NULL && i < 3)
			return -1;
		if (p != NULL)
			*p++ = '\0';
	}
	if (f[0][0] == '\0' || strlen(f[0]) > SERVER_ID_MAX ||
	    hash_get(s->rows, f[0]) != NULL)
		return -1;
	r = xcalloc(1, sizeof(*r));
	r->up1d = parse_num(f[1]);
	r->up30d = parse_num(f[2]);
	r->sla1d = f[4] != NULL ? parse_num(f[4]) : NAN;
	r->sla30d = f[5] != NULL ? parse_num(f[5]) : NAN;
	for (i = 0; i < SUMMARY_POINTS; i++)
		r->lat[i] = NAN;
	for (i = 0, p = f[3]; i < SUMMARY_POINTS && p != NULL; i++) {
		if ((pt = strchr(p, ',')) != NULL)
			*pt++ = '\0';
		r->lat[i] = parse_num(p);
		p = pt;
	}
	hash_put(s->rows, f[0], r);
	return 0;
}

/*
 * The summary as the file holds it, or NULL when there is none yet (or it
 * is unreadable). Starts writing a new one when it is missing or older
 * than SUMMARY_MAX_AGE; never waits for it. Free with summary_free.
 */
struct summary *
summary_load(struct web *w, time_t now)
{
	struct summary	*s;
	char		 path[PATH_MAX], *buf, *line, *next;
	struct stat	 sb;
	ssize_t		 got;
	int		 fd;

	if (w->store == NULL || snprintf(path, sizeof(path), "%s/%s",
	    w->conf->state_dir, SUMMARY_FILE) >= (int)sizeof(path))
		return NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		spawn(w);
		return NULL;
	}
	if (fstat(fd, &sb) == -1 || sb.st_size <= 0 ||
	    sb.st_size > SUMMARY_MAX) {
		close(fd);
		return NULL;
	}
	if (now - sb.st_mtime >= SUMMARY_MAX_AGE || sb.st_mtime > now + 60)
		spawn(w);
	buf = xmalloc((size_t)sb.st_size + 1);
	got = read(fd, buf, (size_t)sb.st_size);
	close(fd);
	if (got <= 0 || strncmp(buf, SUMMARY_MAGIC,
	    strlen(SUMMARY_MAGIC)) != 0) {
		free(buf);
		return NULL;
	}
	buf[got] = '\0';
	s = xcalloc(1, sizeof(*s));
	s->rows = hash_new();
	s->made = (time_t)strtoll(buf + strlen(SUMMARY_MAGIC), NULL, 10);
	for (line = strchr(buf, '\n'); line != NULL; line = next) {
		*line++ = '\0';
		if ((next = strchr(line, '\n')) == NULL)
			break;	/* the last line is cut: leave it */
		*next = '\0';
		(void)parse_line(s, line);
		*next = '\n';
	}
	free(buf);
	return s;
}

/* A server's figures, or NULL when the summary has none (s may be NULL). */
const struct summary_row *
summary_get(const struct summary *s, const char *id)
{
	return s != NULL ? hash_get(s->rows, id) : NULL;
}

void
summary_free(struct summary *s)
{
	if (s == NULL)
		return;
	hash_free(s->rows, free);
	free(s);
}

/*
 * Start `tocsin.cgi -c CONF --write-summary`, detached (its parent exits
 * at once and is reaped here), with no descriptor of ours but /dev/null:
 * the web server sees the end of our reply, and a connection --serve
 * closes is closed. Nothing when a writer already holds the lock.
 */
static void
spawn(const struct web *w)
{
	char		 lock[PATH_MAX];
	struct rlimit	 rl;
	pid_t		 pid;
	int		 fd, nul, maxfd;

	if (lock_path(w, lock, sizeof(lock)) == -1 ||
	    (fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) == -1)
		return;
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		close(fd);
		return;
	}
	close(fd);	/* the writer takes it again */
	if ((pid = fork()) == -1)
		return;
	if (pid > 0) {
		while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
			;
		return;
	}
	(void)setsid();
	if (fork() != 0)
		_exit(0);
	if ((nul = open("/dev/null", O_RDWR)) != -1) {
		dup2(nul, 0);
		dup2(nul, 1);
		dup2(nul, 2);
	}
	maxfd = getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur < 65536 ? (int)rl.rlim_cur : 65536;
	for (fd = 3; fd < maxfd; fd++)
		close(fd);
	execl("/proc/self/exe", "tocsin.cgi", "-c", w->conf_path,
	    "--write-summary", (char *)NULL);
	_exit(127);
}

/* A figure with fmt, or "-". */
static void
put_num(struct evbuffer *b, double v, const char *fmt)
{
	if (isnan(v))
		evbuffer_add(b, "-", 1);
	else
		evbuffer_add_printf(b, fmt, v);
}

/*
 * A day's latency by the hour into lat (ms, NaN for an hour without
 * data), hour SUMMARY_POINTS - 1 ending at now: the finest rows that
 * cover the day, averaged, so the hour under way has its figure too; in
 * cluster mode the rows of every probe node's archive (v's), together.
 */
static void
hourly(struct web *w, const struct web_view *v, time_t now, double *lat)
{
	struct archive_series	 s;
	double			 sum[SUMMARY_POINTS] = { 0 }, x;
	int			 n[SUMMARY_POINTS] = { 0 }, col, i;
	time_t			 start = now - SUMMARY_POINTS * 3600, t;
	const char *const	*ids;
	size_t			 row, k, nids;

	ids = views_ids(v, &nids);
	for (k = 0; k < nids; k++) {
		col = archive_fetch(w->store, ids[k], "AVERAGE", start, now, 1,
		    &s) == 0 ? archive_series_ds(&s,
		    archive_fixed_ds[ARCHIVE_TOTAL]) : -1;
		for (row = 0; col >= 0 && row < s.nrows; row++) {
			t = s.start + (time_t)((row + 1) * s.step); /* end */
			x = s.data[row * s.nds + (size_t)col];
			if (isnan(x) || t <= start ||
			    t > now + (time_t)s.step)
				continue;
			i = (int)((t - 1 - start) / 3600);
			if (i >= SUMMARY_POINTS)
				i = SUMMARY_POINTS - 1;
			sum[i] += x * 1000;
			n[i]++;
		}
		archive_series_free(&s);
	}
	for (i = 0; i < SUMMARY_POINTS; i++)
		lat[i] = n[i] > 0 ? sum[i] / n[i] : NAN;
}

/* The uptime percentage over the days up to now from v (sla: with
 * scheduled downtime left out), or NaN. */
static double
pct(struct web *w, const struct web_view *v, int sla, int days, time_t now)
{
	struct uptime	u;

	return views_uptime(w, v, sla, now - days * 86400, now, &u) == 0 ?
	    u.pct : NAN;
}

/* One server's line: uptime 1 d and 30 d, hourly latency of a day, SLA
 * uptime 1 d and 30 d; the uptime in cluster mode the cluster's view
 * (views.c), the latency of every node's archive. */
static void
write_row(struct evbuffer *b, struct web *w, const struct server_conf *sc,
    time_t now)
{
	struct web_view	*v;
	double		 lat[SUMMARY_POINTS];
	int		 i;

	v = views_open(w, sc);
	evbuffer_add_printf(b, "%s\t", sc->id);
	put_num(b, pct(w, v, 0, 1, now), "%.3f");
	evbuffer_add(b, "\t", 1);
	put_num(b, pct(w, v, 0, 30, now), "%.3f");
	evbuffer_add(b, "\t", 1);
	hourly(w, v, now, lat);
	for (i = 0; i < SUMMARY_POINTS; i++) {
		if (i > 0)
			evbuffer_add(b, ",", 1);
		put_num(b, lat[i], "%.1f");
	}
	evbuffer_add(b, "\t", 1);
	put_num(b, pct(w, v, 1, 1, now), "%.3f");
	evbuffer_add(b, "\t", 1);
	put_num(b, pct(w, v, 1, 30, now), "%.3f");
	evbuffer_add(b, "\n", 1);
	views_close(v);
}

/*
 * --write-summary: write the summary of every configured server, unless
 * another writer holds the lock or the file is fresh. Returns the exit
 * code.
 */
int
summary_write(struct web *w)
{
	struct evbuffer	*b;
	char		 lock[PATH_MAX], path[PATH_MAX];
	struct stat	 sb;
	time_t		 now = time(NULL);
	size_t		 i;
	int		 lfd, dfd, rc = 1;

	if (w->store == NULL || lock_path(w, lock, sizeof(lock)) == -1)
		return 1;
	if ((lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) == -1 ||
	    flock(lfd, LOCK_EX | LOCK_NB) == -1) {
		if (lfd != -1)
			close(lfd);
		return 0;
	}
	snprintf(path, sizeof(path), "%s/%s", w->conf->state_dir,
	    SUMMARY_FILE);
	if (stat(path, &sb) == 0 && now - sb.st_mtime < SUMMARY_MAX_AGE / 2 &&
	    sb.st_mtime <= now) {
		close(lfd);
		return 0;
	}
	b = evbuffer_new();
	evbuffer_add_printf(b, "%s%lld\n", SUMMARY_MAGIC, (long long)now);
	for (i = 0; i < w->conf->nservers; i++)
		write_row(b, w, w->conf->servers[i], now);
	if ((dfd = open(w->conf->state_dir, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) != -1 && fsutil_write_atomic(dfd, SUMMARY_FILE,
	    evbuffer_pullup(b, -1), evbuffer_get_length(b), 0644, 0) == 0)
		rc = 0;
	else
		log_warn("%s", path);
	if (dfd != -1)
		close(dfd);
	evbuffer_free(b);
	close(lfd);
	return rc;
}

/*
 * A sparkline of a day's hourly latency as inline SVG (no script, no
 * style attribute: the stylesheet draws it); nothing when no hour has a
 * figure.
 */
void
summary_sparkline(struct evbuffer *b, const struct summary_row *r)
{
	double	 max = 0;
	int	 i, any = 0, pen = 0;

	for (i = 0; i < SUMMARY_POINTS; i++)
		if (!isnan(r->lat[i])) {
			max = fmax(max, r->lat[i]);
			any = 1;
		}
	if (!any)
		return;
	evbuffer_add_printf(b, "<svg class=\"spark\" viewBox=\"0 0 %d 12\" "
	    "role=\"img\" aria-label=\"latency, last day, max %.0f ms\">"
	    "<path d=\"", (SUMMARY_POINTS - 1) * 2, max);
	for (i = 0; i < SUMMARY_POINTS; i++) {
		if (isnan(r->lat[i])) {
			pen = 0;
			continue;
		}
		evbuffer_add_printf(b, "%c%d %.0f", pen ? 'L' : 'M', i * 2,
		    max > 0 ? 11 - r->lat[i] / max * 10 : 11);
		pen = 1;
	}
	evbuffer_add_printf(b, "\"/></svg>");
}
