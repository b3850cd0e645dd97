/*
 * graph.c: latency graphs with librrd's rrd_graph_v, Smokeping-like: the
 * average line inside its min-max band ("smoke"), down time shaded, a
 * legend with last, average, maximum and uptime. librrd's drawing is not
 * thread-safe (fontconfig crashes when two graphs render at once), so every
 * call goes through one lock.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rrd.h>

#include "log.h"
#include "xmalloc.h"
#include "archive.h"
#include "graph.h"
#include "uptime.h"

#define GRAPH_WIDTH	800
#define GRAPH_HEIGHT	200
#define GRAPH_MAX_PX	4000	/* either side */

/* Everything that calls into librrd's graph code holds this. */
static pthread_mutex_t graph_lock = PTHREAD_MUTEX_INITIALIZER;

static const struct period {
	const char	*name;
	time_t		 span;		/* seconds */
} periods[] = {
	{ "3h", 3 * 3600 },
	{ "1d", 86400 },
	{ "1w", 7 * 86400 },
	{ "1m", 30 * 86400 },
	{ "1y", 365 * 86400 },
};

/* Member colours of a farm graph; red and orange mean down. */
static const char *const palette[] = {
	"0050c0", "2ca02c", "9467bd", "8c564b", "e377c2", "17becf",
	"bcbd22", "1f77b4", "7f7f7f", "005030",
};
#define NPALETTE	(sizeof(palette) / sizeof(palette[0]))

/* The argument vector handed to rrd_graph_v, built up one string a time. */
struct args {
	char	**v;
	int	  n;
	int	  cap;
};

/* The legend's uptime figures of a graph of several lines. */
struct lines_text {
	const char	*some;		/* up where some line is */
	const char	*all;		/* up where every line is */
};

static void	 args_add(struct args *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static void	 args_free(struct args *);
static char	*escape(const char *);
static int	 common_args(struct args *, struct archive_store *,
		    const struct graph_req *, const char *);
static int	 def_path(struct archive_store *, const char *, char **);
static int	 known(struct archive_store *, const char *,
		    const struct graph_req *);
static int	 farm_defs(struct args *, const int *, size_t, int);
static int	 render(struct args *, const char *, struct graph_image *);
static void	 legend_add(struct graph_image *, const char *);
static int	 lines(struct archive_store *, const char *,
		    const struct uptime_src *, const char *const *, size_t,
		    const struct lines_text *, const struct graph_req *,
		    struct graph_image *);
static const char *rpn(struct args *);
static struct uptime_src *own_archives(const char *const *, size_t);
static int	 member_defs(struct args *, struct archive_store *,
		    const struct uptime_src *, size_t,
		    const struct graph_req *, int *);

static void
args_add(struct args *a, const char *fmt, ...)
{
	va_list	 ap;
	char	*s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) == -1)
		fatal("vasprintf");
	va_end(ap);
	if (a->n + 1 >= a->cap) {
		a->cap = a->cap == 0 ? 64 : a->cap * 2;
		a->v = xreallocarray(a->v, (size_t)a->cap, sizeof(*a->v));
	}
	a->v[a->n++] = s;
	a->v[a->n] = NULL;
}

static void
args_free(struct args *a)
{
	int	i;

	for (i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
	memset(a, 0, sizeof(*a));
}

/* A copy with ':' escaped, for paths and legends inside graph elements. */
static char *
escape(const char *s)
{
	char	*out, *p;

	out = p = xmalloc(2 * strlen(s) + 1);
	for (; *s != '\0'; s++) {
		if (*s == ':')
			*p++ = '\\';
		*p++ = *s;
	}
	*p = '\0';
	return out;
}

/*
 * Set a request's period from its name: "3h", "1d", "1w", "1m" (30 days)
 * or "1y" (365 days), ending now. Returns -1 for an unknown name.
 */
int
graph_period(const char *name, time_t now, struct graph_req *req)
{
	size_t	i;

	for (i = 0; i < sizeof(periods) / sizeof(periods[0]); i++)
		if (strcmp(name, periods[i].name) == 0) {
			req->start = now - periods[i].span;
			req->end = now;
			return 0;
		}
	return -1;
}

/*
 * Arguments every graph has: output to memory, format, period, size,
 * title; --daemon when the store goes through rrdcached, so that librrd
 * reads what rrdcached holds.
 */
static int
common_args(struct args *a, struct archive_store *st,
    const struct graph_req *req, const char *title)
{
	time_t		end = req->end != 0 ? req->end : time(NULL);
	unsigned	w = req->width != 0 ? req->width : GRAPH_WIDTH;
	unsigned	h = req->height != 0 ? req->height : GRAPH_HEIGHT;

	if (req->start <= 0 || end <= req->start) {
		log_warnx("rrd: graph %s: bad period %lld..%lld", title,
		    (long long)req->start, (long long)end);
		return -1;
	}
	if (w > GRAPH_MAX_PX || h > GRAPH_MAX_PX) {
		log_warnx("rrd: graph %s: %ux%u is too big", title, w, h);
		return -1;
	}
	args_add(a, "graph");
	args_add(a, "-");
	args_add(a, "--imgformat");
	args_add(a, "%s", req->format == GRAPH_SVG ? "SVG" : "PNG");
	args_add(a, "--start");
	args_add(a, "%lld", (long long)req->start);
	args_add(a, "--end");
	args_add(a, "%lld", (long long)end);
	args_add(a, "--width");
	args_add(a, "%u", w);
	args_add(a, "--height");
	args_add(a, "%u", h);
	args_add(a, "--title");
	args_add(a, "%s", req->title != NULL ? req->title : title);
	args_add(a, "--vertical-label");
	args_add(a, "seconds");
	args_add(a, "--lower-limit");
	args_add(a, "0");
	if (archive_store_daemon(st) != NULL) {
		args_add(a, "--daemon");
		args_add(a, "%s", archive_store_daemon(st));
	}
	return 0;
}

/*
 * The escaped archive name for a DEF, if the id has an archive. Returns 0
 * (*out set, caller frees), 1 when there is no archive, -1 on error.
 */
static int
def_path(struct archive_store *st, const char *id, char **out)
{
	struct archive_layout	l;
	char			path[PATH_MAX];
	int			rc;

	if ((rc = archive_info(st, id, &l)) != 0) {
		if (rc == -1)
			log_warnx("rrd: graph %s: %s", id, archive_error());
		return rc;
	}
	if (archive_path(st, id, path, sizeof(path)) == -1) {
		log_warnx("rrd: graph %s: %s", id, archive_error());
		return -1;
	}
	*out = escape(path);
	return 0;
}

/* Append one legend entry, trimmed, as a line of img->legend. */
static void
legend_add(struct graph_image *img, const char *text)
{
	size_t	 have, len;

	text += strspn(text, " ");
	len = strlen(text);
	while (len > 0 && text[len - 1] == ' ')
		len--;
	have = img->legend != NULL ? strlen(img->legend) : 0;
	img->legend = xreallocarray(img->legend, 1, have + len + 2);
	memcpy(img->legend + have, text, len);
	img->legend[have + len] = '\n';
	img->legend[have + len + 1] = '\0';
}

/*
 * Draw under the graph lock and copy the image out of librrd's answer.
 * Returns 0 with *img filled, or -1 with librrd's reason logged.
 */
static int
render(struct args *a, const char *what, struct graph_image *img)
{
	rrd_info_t	*info, *p;
	int		 rc = -1, tries = 0;

	memset(img, 0, sizeof(*img));
	pthread_mutex_lock(&graph_lock);
	do {
		rrd_clear_error();
		info = rrd_graph_v(a->n, a->v);
	} while (info == NULL && archive_lock_wait(&tries));
	if (info == NULL) {
		log_warnx("rrd: graph %s: %s", what, rrd_test_error() ?
		    rrd_get_error() : "rrd_graph_v failed");
		goto out;
	}
	for (p = info; p != NULL; p = p->next) {
		if (strcmp(p->key, "image") == 0 && p->type == RD_I_BLO &&
		    img->data == NULL && p->value.u_blo.size > 0) {
			img->len = p->value.u_blo.size;
			img->data = xmalloc(img->len);
			memcpy(img->data, p->value.u_blo.ptr, img->len);
		} else if (strcmp(p->key, "image_width") == 0 &&
		    p->type == RD_I_CNT)
			img->width = (unsigned)p->value.u_cnt;
		else if (strcmp(p->key, "image_height") == 0 &&
		    p->type == RD_I_CNT)
			img->height = (unsigned)p->value.u_cnt;
		else if (strncmp(p->key, "legend[", 7) == 0 &&
		    p->type == RD_I_STR)
			legend_add(img, p->value.u_str);
	}
	rrd_info_free(info);
	if (img->data == NULL) {
		log_warnx("rrd: graph %s: librrd returned no image", what);
		graph_image_free(img);
	}
	else
		rc = 0;
out:
	pthread_mutex_unlock(&graph_lock);
	return rc;
}

/*
 * One server's graph over req's period: total latency as its average line
 * inside the min-max band, down time (any failure within a pixel) shaded
 * red, time without data shaded grey; legend with last, average and
 * maximum latency and uptime over the period. Returns 0 with *img filled
 * (free it with graph_image_free), -1 on error (logged).
 */
int
graph_server(struct archive_store *st, const char *id,
    const struct graph_req *req, struct graph_image *img)
{
	struct args	 a = { NULL, 0, 0 };
	char		*path = NULL;
	int		 rc;

	memset(img, 0, sizeof(*img));
	if ((rc = def_path(st, id, &path)) != 0) {
		if (rc == 1)
			log_warnx("rrd: graph %s: no archive yet", id);
		return -1;
	}
	if (common_args(&a, st, req, id) == -1) {
		free(path);
		return -1;
	}
	args_add(&a, "DEF:avg=%s:total:AVERAGE", path);
	args_add(&a, "DEF:min=%s:total:MIN", path);
	args_add(&a, "DEF:max=%s:total:MAX", path);
	args_add(&a, "DEF:up=%s:up:AVERAGE", path);
	args_add(&a, "CDEF:band=max,min,-");
	args_add(&a, "CDEF:down=up,UN,UNKN,up,1,LT,INF,UNKN,IF,IF");
	args_add(&a, "CDEF:nodata=up,UN,INF,UNKN,IF");
	args_add(&a, "CDEF:uppct=up,100,*");
	args_add(&a, "VDEF:vlast=avg,LAST");
	args_add(&a, "VDEF:vavg=avg,AVERAGE");
	args_add(&a, "VDEF:vmax=max,MAXIMUM");
	args_add(&a, "VDEF:vup=uppct,AVERAGE");
	/* Shading is an AREA of INF: librrd 1.7.2 garbles TICK legends. */
	args_add(&a, "AREA:nodata#a0a0a040:no data");
	args_add(&a, "AREA:down#ff000060:down\\l");
	args_add(&a, "AREA:min");
	args_add(&a, "AREA:band#c8c8c8:min-max:STACK");
	args_add(&a, "LINE1.5:avg#0050c0:total latency");
	if (known(st, id, req)) {
		args_add(&a, "GPRINT:vlast:last %%6.2lf %%ss");
		args_add(&a, "GPRINT:vavg:avg %%6.2lf %%ss");
		args_add(&a, "GPRINT:vmax:max %%6.2lf %%ss");
		args_add(&a, "GPRINT:vup:uptime %%7.3lf%%%%\\l");
	} else
		args_add(&a, "COMMENT:no sample yet in this period\\l");
	free(path);
	rc = render(&a, id, img);
	args_free(&a);
	return rc;
}

/* A line each of ids[0..n-1], read from its own archive (malloc'd). */
static struct uptime_src *
own_archives(const char *const *ids, size_t n)
{
	struct uptime_src	*src;
	size_t			 i;

	src = xcalloc(n > 0 ? n : 1, sizeof(*src));
	for (i = 0; i < n; i++) {
		src[i].ids = &ids[i];
		src[i].n = src[i].need = 1;
	}
	return src;
}

/*
 * A farm's graph: each member's average line in its colour inside its
 * band, with last, average, maximum and uptime; shaded orange where some
 * member was down, red where all were, grey where none has data; and the
 * farm's uptime (some member up, all members up; unknown where any member
 * is). Members without an archive are left out. Returns as graph_server.
 */
int
graph_farm(struct archive_store *st, const char *farm,
    const char *const *ids, size_t n, const struct graph_req *req,
    struct graph_image *img)
{
	struct uptime_src	*src;
	int			 rc;

	src = own_archives(ids, n);
	rc = graph_farm_views(st, farm, src, ids, n, req, img);
	free(src);
	return rc;
}

/*
 * graph_farm with each member read from its src (uptime.h): its own
 * archive, or in cluster mode its probe nodes' (ID@NODE), labelled
 * labels[i]. Such a member's line is the mean of its nodes' averages, its
 * band from the least minimum to the greatest maximum, and it is up where
 * src's quorum of nodes had it up (as its uptime is counted).
 */
int
graph_farm_views(struct archive_store *st, const char *farm,
    const struct uptime_src *src, const char *const *labels, size_t n,
    const struct graph_req *req, struct graph_image *img)
{
	static const struct lines_text t = { "farm up (some member)",
	    "(all members)" };

	return lines(st, farm, src, labels, n, &t, req, img);
}

/*
 * A server's graph from each probe node that archives it (cluster mode):
 * ids[i] is node nodes[i]'s archive of it (ID@NODE); one line a node,
 * drawn as a farm's members are, and the server's uptime as some node
 * and as every node saw it. Returns as graph_server.
 */
int
graph_vantage(struct archive_store *st, const char *id,
    const char *const *ids, const char *const *nodes, size_t n,
    const struct graph_req *req, struct graph_image *img)
{
	static const struct lines_text t = { "up (some node)", "(all nodes)" };
	struct uptime_src	*src;
	int			 rc;

	src = own_archives(ids, n);
	rc = lines(st, id, src, nodes, n, &t, req, img);
	free(src);
	return rc;
}

/*
 * The series of line k from src's archives: a{k} (average), n{k} (min),
 * x{k} (max), u{k} (up fraction). One archive: its own. Several (a
 * server's probe nodes): the mean of the averages, the least minimum, the
 * greatest maximum, and as up fraction the need-th largest of the
 * nodes' (unknown where fewer than need have data), as uptime_quorum_at
 * counts it. *seen: some archive has a sample in req's period. Returns 1
 * when none of src's archives exists, -1 on error, else 0.
 */
static int
member_defs(struct args *a, struct archive_store *st,
    const struct uptime_src *src, size_t k, const struct graph_req *req,
    int *seen)
{
	static const char *const ds[4] = { "a", "n", "x", "u" };
	static const char *const cf[4] = { "total:AVERAGE", "total:MIN",
	    "total:MAX", "up:AVERAGE" };
	struct args	 e = { NULL, 0, 0 };	/* an RPN expression's parts */
	char		*path;
	size_t		 i, j, m = 0;
	int		 rc, one = src->n == 1 && src->need == 1;

	*seen = 0;
	for (i = 0; i < src->n; i++) {
		if ((rc = def_path(st, src->ids[i], &path)) == 1)
			continue;
		if (rc == -1)
			return -1;
		for (j = 0; j < 4; j++)
			if (one)
				args_add(a, "DEF:%s%zu=%s:%s", ds[j], k, path,
				    cf[j]);
			else
				args_add(a, "DEF:%s%zu_%zu=%s:%s", ds[j], k, m,
				    path, cf[j]);
		free(path);
		*seen |= known(st, src->ids[i], req);
		m++;
	}
	if (m == 0)
		return 1;
	if (one)
		return 0;
	for (i = 0; i < m; i++)
		args_add(&e, "a%zu_%zu", k, i);
	args_add(a, "CDEF:a%zu=%s,%zu,AVG", k, rpn(&e), m);
	for (j = 1; j < 3; j++) {
		args_free(&e);
		for (i = 0; i < m; i++)
			args_add(&e, i == 0 ? "%s%zu_%zu" : "%s%zu_%zu,%s",
			    ds[j], k, i, j == 1 ? "MINNAN" : "MAXNAN");
		args_add(a, "CDEF:%s%zu=%s", ds[j], k, rpn(&e));
	}
	args_free(&e);
	/*
	 * u{k}: the nodes' fractions, -1 where unknown, sorted ascending;
	 * the need-th largest stays: POP the larger ones above it, then
	 * EXC,POP each smaller one below it. -1 left: too few knew.
	 */
	if (src->need > m) {
		args_add(a, "CDEF:u%zu=a%zu,POP,UNKN", k, k);
		return 0;
	}
	for (i = 0; i < m; i++)
		args_add(&e, "u%zu_%zu,UN,-1,u%zu_%zu,IF", k, i, k, i);
	args_add(&e, "%zu,SORT", m);
	for (i = 1; i < src->need; i++)
		args_add(&e, "POP");
	for (i = src->need; i < m; i++)
		args_add(&e, "EXC,POP");
	args_add(&e, "DUP,-1,EQ,EXC,UNKN,EXC,IF");
	args_add(a, "CDEF:u%zu=%s", k, rpn(&e));
	args_free(&e);
	return 0;
}

/* e's parts joined by commas, in e's last slot (freed with e). */
static const char *
rpn(struct args *e)
{
	size_t	 len = 0;
	char	*s;
	int	 i;

	for (i = 0; i < e->n; i++)
		len += strlen(e->v[i]) + 1;
	s = xmalloc(len + 1);
	s[0] = '\0';
	for (i = 0; i < e->n; i++) {
		if (i > 0)
			strcat(s, ",");
		strcat(s, e->v[i]);
	}
	args_add(e, "%s", s);
	free(s);
	return e->v[e->n - 1];
}

/*
 * One average line and band a member (member i read from src[i]),
 * labelled labels[i], under title, with the uptime figures text names
 * (graph_farm's drawing).
 */
static int
lines(struct archive_store *st, const char *title,
    const struct uptime_src *src, const char *const *labels, size_t n,
    const struct lines_text *text, const struct graph_req *req,
    struct graph_image *img)
{
	const char	*farm = title;
	struct args	 a = { NULL, 0, 0 };
	char		*label;
	size_t		 i, used = 0, nseen = 0, k, *member;
	int		*seen, rc;

	memset(img, 0, sizeof(*img));
	if (common_args(&a, st, req, farm) == -1)
		return -1;
	member = xcalloc(n > 0 ? n : 1, sizeof(*member));
	seen = xcalloc(n > 0 ? n : 1, sizeof(*seen));
	for (i = 0; i < n; i++) {
		if ((rc = member_defs(&a, st, &src[i], used, req,
		    &seen[used])) == 1)
			continue;
		if (rc == -1)
			goto fail;
		args_add(&a, "CDEF:b%zu=x%zu,n%zu,-", used, used, used);
		args_add(&a, "CDEF:d%zu=u%zu,UN,0,u%zu,1,LT,IF", used, used,
		    used);
		args_add(&a, "CDEF:z%zu=u%zu,UN,0,u%zu,0,EQ,IF", used, used,
		    used);
		args_add(&a, "CDEF:p%zu=u%zu,100,*", used, used);
		args_add(&a, "VDEF:vl%zu=a%zu,LAST", used, used);
		args_add(&a, "VDEF:va%zu=a%zu,AVERAGE", used, used);
		args_add(&a, "VDEF:vx%zu=x%zu,MAXIMUM", used, used);
		args_add(&a, "VDEF:vu%zu=p%zu,AVERAGE", used, used);
		nseen += seen[used] != 0;
		member[used++] = i;
	}
	if (used == 0) {
		log_warnx("rrd: graph %s: no member has an archive yet", farm);
		goto fail;
	}
	/*
	 * The farm's figures are over the members with samples in the
	 * period: one added a minute ago would make them unknown throughout.
	 */
	if (farm_defs(&a, seen, used, nseen > 0) == -1) {
		log_warnx("rrd: graph %s: too many members", farm);
		goto fail;
	}
	args_add(&a, "AREA:fnd#a0a0a040:no data");
	args_add(&a, "AREA:fsome#ffa00050:some down");
	args_add(&a, "AREA:fevery#ff000070:all down\\l");
	for (k = 0; k < used; k++) {
		args_add(&a, "AREA:n%zu", k);
		args_add(&a, "AREA:b%zu#%s30::STACK", k,
		    palette[k % NPALETTE]);
	}
	/* Lines after every band, so that no band hides a line. */
	for (k = 0; k < used; k++) {
		label = escape(labels[member[k]]);
		args_add(&a, "LINE1.5:a%zu#%s:%-20s", k,
		    palette[k % NPALETTE], label);
		free(label);
		if (!seen[k]) {
			args_add(&a, "COMMENT:no sample yet\\l");
			continue;
		}
		args_add(&a, "GPRINT:vl%zu:last %%6.2lf %%ss", k);
		args_add(&a, "GPRINT:va%zu:avg %%6.2lf %%ss", k);
		args_add(&a, "GPRINT:vx%zu:max %%6.2lf %%ss", k);
		args_add(&a, "GPRINT:vu%zu:up %%7.3lf%%%%\\l", k);
	}
	if (nseen > 0) {
		args_add(&a, "GPRINT:vany:%s %%7.3lf%%%%", text->some);
		args_add(&a, "GPRINT:vall:%s %%7.3lf%%%%\\l", text->all);
	}
	rc = render(&a, farm, img);
	args_free(&a);
	free(member);
	free(seen);
	return rc;
fail:
	args_free(&a);
	free(member);
	free(seen);
	return -1;
}

/*
 * The farm-wide series over members 0..used-1 (only those with seen set,
 * unless only_seen is 0): fany/fall the uptime of some/all members in
 * percent, fsome/fevery INF where some/every member was down, fnd INF where
 * none has data; vany and vall their averages. Unknown where any counted
 * member is. Returns -1 when the expressions would not fit.
 */
static int
farm_defs(struct args *a, const int *seen, size_t used, int only_seen)
{
	static const char *const first[5] = { "u", "u", "d", "z", "u" };
	static const char *const op[5] = { ",MAX", ",MIN", ",MAX", ",*",
	    ",UN,*" };
	char		 buf[5][4096];
	size_t		 k, j, len[5] = { 0, 0, 0, 0, 0 };
	int		 n = 0;

	for (k = 0; k < used; k++) {
		if (only_seen && !seen[k])
			continue;
		for (j = 0; j < 5; j++) {
			if (len[j] + 32 >= sizeof(buf[j]))
				return -1;
			len[j] += (size_t)snprintf(buf[j] + len[j],
			    sizeof(buf[j]) - len[j], "%s%s%zu%s",
			    n > 0 ? "," : "", first[j], k,
			    n > 0 ? op[j] : (j == 4 ? ",UN" : ""));
		}
		n++;
	}
	args_add(a, "CDEF:fany=%s,100,*", buf[0]);
	args_add(a, "CDEF:fall=%s,100,*", buf[1]);
	args_add(a, "CDEF:fsome=%s,0,GT,INF,UNKN,IF", buf[2]);
	args_add(a, "CDEF:fevery=%s,0,GT,INF,UNKN,IF", buf[3]);
	args_add(a, "CDEF:fnd=%s,0,GT,INF,UNKN,IF", buf[4]);
	args_add(a, "VDEF:vany=fany,AVERAGE");
	args_add(a, "VDEF:vall=fall,AVERAGE");
	return 0;
}

/*
 * Whether an archive holds at least one known latency row in req's period.
 * librrd prints an unknown legend figure as "-nan", which is what every
 * figure is until the first complete row (an archive's first minute), so
 * the legend says so in words instead. An error counts as known: the
 * graph then shows what librrd makes of it.
 */
static int
known(struct archive_store *st, const char *id, const struct graph_req *req)
{
	struct archive_series	 s;
	time_t			 end;
	size_t			 r;
	int			 ds, found = 0;

	end = req->end != 0 ? req->end : time(NULL);
	if (archive_fetch(st, id, "AVERAGE", req->start, end, 1, &s) != 0)
		return 1;
	if ((ds = archive_series_ds(&s, archive_fixed_ds[ARCHIVE_TOTAL])) < 0)
		found = 1;
	for (r = 0; !found && r < s.nrows; r++)
		if (!isnan(s.data[r * s.nds + (size_t)ds]))
			found = 1;
	archive_series_free(&s);
	return found;
}

void
graph_image_free(struct graph_image *img)
{
	free(img->data);
	free(img->legend);
	memset(img, 0, sizeof(*img));
}
