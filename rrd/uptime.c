/*
 * uptime.c: uptime over a period from the `up` series (AVERAGE: the
 * fraction of samples that were up), fetched with rrd_fetch_r at the finest
 * resolution that covers the period. Members of a farm may have different
 * steps: the period is cut at every row boundary of every member and each
 * piece is judged on its own.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "xmalloc.h"
#include "archive.h"
#include "uptime.h"

static const struct span {
	const char	*name;
	time_t		 seconds;
} spans[UPTIME_NSPANS] = {
	{ "1d", 86400 },
	{ "7d", 7 * 86400 },
	{ "30d", 30 * 86400 },
	{ "365d", 365 * 86400 },
};

/* One member's `up` rows. */
struct member {
	struct archive_series	 s;
	int			 col;	/* of `up`; -1: no data */
};

static int	 load(struct archive_store *, const char *, time_t, time_t,
		    struct member *);
static double	 value_at(const struct member *, double);
static int	 cmp_time(const void *, const void *);
static void	 finish(struct uptime *, double, double, double);

time_t
uptime_span_seconds(enum uptime_span sp)
{
	return sp < UPTIME_NSPANS ? spans[sp].seconds : 0;
}

const char *
uptime_span_name(enum uptime_span sp)
{
	return sp < UPTIME_NSPANS ? spans[sp].name : "?";
}

/*
 * Fetch an id's `up` rows for [from, to). An id without an archive has no
 * data (col -1), which is not an error. Returns -1 on error (logged).
 */
static int
load(struct archive_store *st, const char *id, time_t from, time_t to,
    struct member *m)
{
	int	rc;

	m->col = -1;
	rc = archive_fetch(st, id, "AVERAGE", from, to, 1, &m->s);
	if (rc == -1) {
		log_warnx("rrd: uptime %s: %s", id, archive_error());
		return -1;
	}
	if (rc == 1)
		return 0;
	if ((m->col = archive_series_ds(&m->s, "up")) == -1) {
		log_warnx("rrd: uptime %s: archive has no up series", id);
		archive_series_free(&m->s);
		return -1;
	}
	return 0;
}

/* The member's up fraction (0..1) at time t, or NaN when unknown. */
static double
value_at(const struct member *m, double t)
{
	double	k, v;

	if (m->col == -1 || m->s.step == 0)
		return NAN;
	k = floor((t - (double)m->s.start) / (double)m->s.step);
	if (k < 0 || k >= (double)m->s.nrows)
		return NAN;
	v = m->s.data[(size_t)k * m->s.nds + (size_t)m->col];
	if (isnan(v))
		return NAN;
	return v < 0 ? 0 : v > 1 ? 1 : v;
}

static int
cmp_time(const void *a, const void *b)
{
	time_t	x = *(const time_t *)a, y = *(const time_t *)b;

	return x < y ? -1 : x > y;
}

static void
finish(struct uptime *u, double up, double known, double period)
{
	u->up_s = up;
	u->known_s = known;
	u->period_s = period;
	u->pct = known > 0 ? 100 * up / known : NAN;
	u->unknown_pct = period > 0 ? 100 * (period - known) / period : 100;
}

/*
 * Uptime of a farm over [from, to) in two senses: any (at least one member
 * up) and all (every member up). Where a row says a member was up for a
 * fraction of its time (a consolidated row), outages of members are taken
 * to overlap as much as they can: any = the largest fraction, all = the
 * smallest. A piece of time is unknown when a member has no data there,
 * unless the others settle it: one member wholly up makes "any" known, one
 * wholly down makes "all" known. Returns 0, or -1 on error (logged).
 */
int
uptime_farm(struct archive_store *st, const char *const *ids, size_t n,
    time_t from, time_t to, struct uptime *any, struct uptime *all)
{
	struct member	*m;
	time_t		*cut, t;
	size_t		 i, j, ncut = 0, maxcut = 2, nknown;
	double		 len, mid, v, vmax, vmin;
	double		 any_up = 0, any_known = 0;
	double		 all_up = 0, all_known = 0;
	int		 rc = -1;

	memset(any, 0, sizeof(*any));
	memset(all, 0, sizeof(*all));
	if (to <= from || n == 0) {
		log_warnx("rrd: uptime: empty period or no server");
		return -1;
	}
	m = xcalloc(n, sizeof(*m));
	for (i = 0; i < n; i++) {
		if (load(st, ids[i], from, to, &m[i]) == -1)
			goto out;
		maxcut += m[i].s.nrows + 1;
	}
	cut = xcalloc(maxcut, sizeof(*cut));
	cut[ncut++] = from;
	cut[ncut++] = to;
	for (i = 0; i < n; i++)
		for (j = 0; m[i].col != -1 && j <= m[i].s.nrows; j++) {
			t = m[i].s.start + (time_t)(j * m[i].s.step);
			if (t > from && t < to)
				cut[ncut++] = t;
		}
	qsort(cut, ncut, sizeof(*cut), cmp_time);

	for (j = 0; j + 1 < ncut; j++) {
		if (cut[j + 1] == cut[j])
			continue;
		len = (double)(cut[j + 1] - cut[j]);
		mid = (double)cut[j] + len / 2;
		nknown = 0;
		vmax = 0;
		vmin = 1;
		for (i = 0; i < n; i++) {
			if (isnan(v = value_at(&m[i], mid)))
				continue;
			nknown++;
			vmax = fmax(vmax, v);
			vmin = fmin(vmin, v);
		}
		if (nknown == n || (nknown > 0 && vmax >= 1)) {
			any_known += len;
			any_up += (nknown == n ? vmax : 1) * len;
		}
		if (nknown == n || (nknown > 0 && vmin <= 0)) {
			all_known += len;
			all_up += (nknown == n ? vmin : 0) * len;
		}
	}
	free(cut);
	finish(any, any_up, any_known, (double)(to - from));
	finish(all, all_up, all_known, (double)(to - from));
	rc = 0;
out:
	for (i = 0; i < n; i++)
		archive_series_free(&m[i].s);
	free(m);
	return rc;
}

/*
 * Uptime of one server over [from, to). A server without an archive yet
 * has its whole period unknown. Returns 0, or -1 on error (logged).
 */
int
uptime_server(struct archive_store *st, const char *id, time_t from,
    time_t to, struct uptime *u)
{
	struct uptime	all;

	return uptime_farm(st, &id, 1, from, to, u, &all);
}

/* A server's uptime for the last 1, 7, 30 and 365 days up to now. */
int
uptime_server_spans(struct archive_store *st, const char *id, time_t now,
    struct uptime *out)
{
	int	i;

	for (i = 0; i < UPTIME_NSPANS; i++)
		if (uptime_server(st, id, now - spans[i].seconds, now,
		    &out[i]) == -1)
			return -1;
	return 0;
}

/* A farm's uptime, any member and all members, for the same spans. */
int
uptime_farm_spans(struct archive_store *st, const char *const *ids,
    size_t n, time_t now, struct uptime *any, struct uptime *all)
{
	int	i;

	for (i = 0; i < UPTIME_NSPANS; i++)
		if (uptime_farm(st, ids, n, now - spans[i].seconds, now,
		    &any[i], &all[i]) == -1)
			return -1;
	return 0;
}
