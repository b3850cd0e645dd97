/*
 * uptime.c: uptime over a period from the `up` series (AVERAGE: the
 * fraction of samples that were up), fetched with rrd_fetch_r at the finest
 * resolution that covers the period; the SLA figure the same way from the
 * `sla` series, which is unknown while a scheduled downtime ran, so that
 * time is left out of it (a consolidated row more than half in downtime
 * is unknown as a whole: xff 0.5). Members of a farm may have different
 * steps: the period is cut at every row boundary of every member and each
 * piece is judged on its own. A server that probe nodes archive each on
 * their own (cluster mode) is judged in each piece from its nodes' rows
 * with a quorum (uptime_quorum_at), and a farm of them from those.
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

#define UPTIME_TAIL_S	3600	/* the last hour: at the finest rows */
/*
 * The tail is asked for this much less than UPTIME_TAIL_S: the finest
 * tier of a 1 s archive holds an hour up to its last update, which lags
 * now, and a tier that does not cover the whole ask loses to a coarser one
 * that covers more of it (librrd's choice): minute rows, of which a young
 * archive has none yet.
 */
#define UPTIME_TAIL_LAG	120	/* seconds */

/*
 * One member's `up` (or `sla`) rows: those that cover the period, and
 * for a longer period the last hour at a finer step as well, so a change
 * of the last minutes counts before librrd has consolidated it.
 */
struct member {
	struct archive_series	 s;
	int			 col;	/* of the series; -1: no data */
	struct archive_series	 tail;
	int			 tcol;	/* of the series; -1: no tail */
};

static int	 load(struct archive_store *, const char *, const char *,
		    time_t, time_t, struct member *);
static int	 load_one(struct archive_store *, const char *, const char *,
		    time_t, time_t, struct archive_series *, int *);
static double	 row_at(const struct archive_series *, int, double);
static double	 value_at(const struct member *, double);
static size_t	 add_cuts(time_t *, size_t, const struct archive_series *,
		    int, time_t, time_t);
static int	 cmp_time(const void *, const void *);
static struct uptime_src *farm_src(const char *const *, size_t);
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
 * Fetch an id's rows of series ("up" or "sla") for [from, to) into s,
 * *col its column. An id without an archive has no data (*col -1), which
 * is not an error; nor is an archive without `sla` (made before it, until
 * probed re-creates it). Returns -1 on error (logged).
 */
static int
load_one(struct archive_store *st, const char *series, const char *id,
    time_t from, time_t to, struct archive_series *s, int *col)
{
	int	rc;

	*col = -1;
	memset(s, 0, sizeof(*s));
	rc = archive_fetch(st, id, "AVERAGE", from, to, 1, s);
	if (rc == -1) {
		log_warnx("rrd: uptime %s: %s", id, archive_error());
		return -1;
	}
	if (rc == 1)
		return 0;
	if ((*col = archive_series_ds(s, series)) == -1 &&
	    strcmp(series, archive_fixed_ds[ARCHIVE_SLA]) == 0)
		return 0;
	if (*col == -1) {
		log_warnx("rrd: uptime %s: archive has no up series", id);
		archive_series_free(s);
		return -1;
	}
	return 0;
}

/*
 * A member's rows for [from, to), and the last UPTIME_TAIL_S of them at
 * a finer step when the archive has one. Returns -1 on error (logged).
 */
static int
load(struct archive_store *st, const char *series, const char *id,
    time_t from, time_t to, struct member *m)
{
	m->tcol = -1;
	memset(&m->tail, 0, sizeof(m->tail));
	if (load_one(st, series, id, from, to, &m->s, &m->col) == -1)
		return -1;
	if (m->col == -1 || to - from <= UPTIME_TAIL_S)
		return 0;
	if (load_one(st, series, id, to - UPTIME_TAIL_S + UPTIME_TAIL_LAG, to,
	    &m->tail, &m->tcol) == -1) {
		archive_series_free(&m->s);
		m->col = -1;
		return -1;
	}
	if (m->tcol != -1 && m->tail.step >= m->s.step) {
		archive_series_free(&m->tail);	/* no finer: no use */
		m->tcol = -1;
	}
	return 0;
}

/* The fraction (0..1) of row col at time t, or NaN when unknown. */
static double
row_at(const struct archive_series *s, int col, double t)
{
	double	k, v;

	if (col == -1 || s->step == 0)
		return NAN;
	k = floor((t - (double)s->start) / (double)s->step);
	if (k < 0 || k >= (double)s->nrows)
		return NAN;
	v = s->data[(size_t)k * s->nds + (size_t)col];
	if (isnan(v))
		return NAN;
	return v < 0 ? 0 : v > 1 ? 1 : v;
}

/* The member's up fraction (0..1) at time t, the finer rows first, or
 * NaN when unknown. */
static double
value_at(const struct member *m, double t)
{
	double	v;

	if (!isnan(v = row_at(&m->tail, m->tcol, t)))
		return v;
	return row_at(&m->s, m->col, t);
}

/* Add the row boundaries of s inside (from, to) to cut[n...]; the new n. */
static size_t
add_cuts(time_t *cut, size_t n, const struct archive_series *s, int col,
    time_t from, time_t to)
{
	time_t	t;
	size_t	j;

	for (j = 0; col != -1 && j <= s->nrows; j++) {
		t = s->start + (time_t)(j * s->step);
		if (t > from && t < to)
			cut[n++] = t;
	}
	return n;
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
	struct uptime_src	*src = farm_src(ids, n);
	int			 rc;

	rc = uptime_views(st, src, n, 0, from, to, any, all);
	free(src);
	return rc;
}

/* Each of n ids as a server read from its own archive; free() it. */
static struct uptime_src *
farm_src(const char *const *ids, size_t n)
{
	struct uptime_src	*src;
	size_t			 i;

	src = xcalloc(n + 1, sizeof(*src));
	for (i = 0; i < n; i++) {
		src[i].ids = &ids[i];
		src[i].n = 1;
		src[i].need = 1;
	}
	return src;
}

/*
 * A server's up fraction (0..1) at time t as its need of n archives saw
 * it (vals: room for n): NaN when fewer than need have data there, else
 * the need-th largest fraction, so that the nodes' outages overlap as
 * much as they can (need 1: the largest, need n: the smallest, as a
 * farm's any and all).
 */
double
uptime_quorum_at(const double *v, size_t n, size_t need, double *vals)
{
	size_t	i, j, k = 0;
	double	x;

	for (i = 0; i < n; i++) {
		if (isnan(x = v[i]))
			continue;
		for (j = k++; j > 0 && vals[j - 1] < x; j--)
			vals[j] = vals[j - 1];
		vals[j] = x;
	}
	return need == 0 || k < need ? NAN : vals[need - 1];
}

/*
 * uptime_farm over servers each read from its own src (a server's
 * archive, or its probe nodes' with a quorum: uptime_view), from the
 * rows of the up series, or the sla series when sla. Returns 0, or -1 on
 * error (logged).
 */
int
uptime_views(struct archive_store *st, const struct uptime_src *src,
    size_t n, int sla, time_t from, time_t to, struct uptime *any,
    struct uptime *all)
{
	struct member	*m;
	time_t		*cut;
	size_t		 i, j, k, nm = 0, ncut = 0, maxcut = 2, nknown;
	double		 len, mid, v, vmax, vmin, *at, *vals;
	double		 any_up = 0, any_known = 0;
	double		 all_up = 0, all_known = 0;
	int		 rc = -1;

	memset(any, 0, sizeof(*any));
	memset(all, 0, sizeof(*all));
	if (to <= from || n == 0) {
		log_warnx("rrd: uptime: empty period or no server");
		return -1;
	}
	for (i = 0; i < n; i++)
		nm += src[i].n;
	m = xcalloc(nm + 1, sizeof(*m));
	at = xcalloc(nm + 1, sizeof(*at));
	vals = xcalloc(nm + 1, sizeof(*vals));
	for (i = 0, k = 0; i < n; i++)
		for (j = 0; j < src[i].n; j++, k++) {
			if (load(st, archive_fixed_ds[sla ? ARCHIVE_SLA :
			    ARCHIVE_UP], src[i].ids[j], from, to, &m[k]) == -1)
				goto out;
			maxcut += m[k].s.nrows + m[k].tail.nrows + 2;
		}
	cut = xcalloc(maxcut, sizeof(*cut));
	cut[ncut++] = from;
	cut[ncut++] = to;
	for (k = 0; k < nm; k++) {
		ncut = add_cuts(cut, ncut, &m[k].s, m[k].col, from, to);
		ncut = add_cuts(cut, ncut, &m[k].tail, m[k].tcol, from, to);
	}
	qsort(cut, ncut, sizeof(*cut), cmp_time);

	for (j = 0; j + 1 < ncut; j++) {
		if (cut[j + 1] == cut[j])
			continue;
		len = (double)(cut[j + 1] - cut[j]);
		mid = (double)cut[j] + len / 2;
		for (k = 0; k < nm; k++)
			at[k] = value_at(&m[k], mid);
		nknown = 0;
		vmax = 0;
		vmin = 1;
		for (i = 0, k = 0; i < n; k += src[i].n, i++) {
			if (isnan(v = uptime_quorum_at(at + k, src[i].n,
			    src[i].need, vals)))
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
	for (k = 0; k < nm; k++) {
		archive_series_free(&m[k].s);
		archive_series_free(&m[k].tail);
	}
	free(m);
	free(at);
	free(vals);
	return rc;
}

/*
 * A server's uptime over [from, to) from src: its own archive, or (cluster
 * mode) its probe nodes' archives, up where at least src->need of them had
 * it up and unknown where fewer than src->need have data (the cluster's
 * view). From the sla series when sla. Returns 0, or -1 on error (logged).
 */
int
uptime_view(struct archive_store *st, const struct uptime_src *src, int sla,
    time_t from, time_t to, struct uptime *u)
{
	struct uptime	all;

	return uptime_views(st, src, 1, sla, from, to, u, &all);
}

/* uptime_view for the last 1, 7, 30 and 365 days up to now. */
int
uptime_view_spans(struct archive_store *st, const struct uptime_src *src,
    int sla, time_t now, struct uptime *out)
{
	int	i;

	for (i = 0; i < UPTIME_NSPANS; i++)
		if (uptime_view(st, src, sla, now - spans[i].seconds, now,
		    &out[i]) == -1)
			return -1;
	return 0;
}

/* uptime_views for the same spans. */
int
uptime_views_spans(struct archive_store *st, const struct uptime_src *src,
    size_t n, time_t now, struct uptime *any, struct uptime *all)
{
	int	i;

	for (i = 0; i < UPTIME_NSPANS; i++)
		if (uptime_views(st, src, n, 0, now - spans[i].seconds, now,
		    &any[i], &all[i]) == -1)
			return -1;
	return 0;
}

/*
 * Uptime of one server over [from, to). A server without an archive yet
 * has its whole period unknown. Returns 0, or -1 on error (logged).
 */
int
uptime_server(struct archive_store *st, const char *id, time_t from,
    time_t to, struct uptime *u)
{
	const struct uptime_src	src = { &id, 1, 1 };

	return uptime_view(st, &src, 0, from, to, u);
}

/*
 * A server's SLA uptime over [from, to): as uptime_server, with the time
 * of scheduled downtimes left out (counted in unknown_pct). Returns 0, or
 * -1 on error (logged).
 */
int
uptime_server_sla(struct archive_store *st, const char *id, time_t from,
    time_t to, struct uptime *u)
{
	const struct uptime_src	src = { &id, 1, 1 };

	return uptime_view(st, &src, 1, from, to, u);
}

/* uptime_server_spans for the SLA figure (uptime_server_sla). */
int
uptime_server_spans_sla(struct archive_store *st, const char *id,
    time_t now, struct uptime *out)
{
	const struct uptime_src	src = { &id, 1, 1 };

	return uptime_view_spans(st, &src, 1, now, out);
}

/* A server's uptime for the last 1, 7, 30 and 365 days up to now. */
int
uptime_server_spans(struct archive_store *st, const char *id, time_t now,
    struct uptime *out)
{
	const struct uptime_src	src = { &id, 1, 1 };

	return uptime_view_spans(st, &src, 0, now, out);
}

/* A farm's uptime, any member and all members, for the same spans. */
int
uptime_farm_spans(struct archive_store *st, const char *const *ids,
    size_t n, time_t now, struct uptime *any, struct uptime *all)
{
	struct uptime_src	*src = farm_src(ids, n);
	int			 rc;

	rc = uptime_views_spans(st, src, n, now, any, all);
	free(src);
	return rc;
}
