/*
 * graphcache.c: "/graph/ID.png" and ".svg": one graph at a time through
 * rrd/graph.h, with an ETag made of the archive's mtime (through
 * rrdcached, of the minute), and in --serve a
 * cache of rendered images keyed by id, period and format, good until the
 * archive changes (or GRAPH_TTL_S passes: rrdcached may hold new data
 * that the file does not show yet). In --serve the ETag and the cache
 * are looked at on the loop, and a graph to draw goes to a graph worker
 * (graphworker.c) as a struct graph_drawing; a CGI draws it itself.
 */
#include <sys/stat.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>

#include "conf.h"
#include "log.h"
#include "util.h"
#include "xmalloc.h"
#include "archive.h"
#include "graph.h"
#include "web.h"

#define GRAPH_TTL_S	60	/* a cached graph, at most */
#define GRAPH_SPAN_MAX	(2 * 366 * 86400)	/* start..end, seconds */
#define GRAPH_START_MIN	(10 * 365 * 86400)	/* librrd reads a number as
						   Unix seconds above it */

#define GRAPH_KEY_MAX	(SERVER_ID_MAX + 48)	/* "sID PERIOD p" */

struct entry {
	char			 key[GRAPH_KEY_MAX];
	char			 etag[80];
	struct graph_image	 img;
	time_t			 made;
	unsigned long		 used;
};

struct graphcache {
	struct entry	*e;
	size_t		 n;
	unsigned long	 tick;
};

/* The reply to a graph not drawn, by how it ended; %u: the timeout. */
static const struct {
	int		 code;
	const char	*title;
	const char	*text;
} undrawn[] = {
	[GRAPHJOB_FAILED] = { 503, "Graph failed", "The graph could not be "
	    "drawn; see the log." },
	[GRAPHJOB_DIED] = { 500, "Graph failed", "The process drawing the "
	    "graph died; see the log." },
	[GRAPHJOB_TIMEOUT] = { 503, "Graph too slow", "The graph took over "
	    "%u s to draw and was given up; see the log." },
	[GRAPHJOB_BUSY] = { 503, "Busy", "Too many graphs are waiting to be "
	    "drawn: try again in a moment." },
	[GRAPHJOB_STOPPED] = { 503, "Stopping", "The server is stopping." },
};

/*
 * A graph a worker draws for a request (--serve): what to draw, and what
 * its reply and cache entry need once it comes (graphcache_drawn).
 */
struct graph_drawing {
	struct graph_ask	 ask;
	char			 key[GRAPH_KEY_MAX];
	char			 etag[80];
	time_t			 made;		/* Unix s, at the request */
};

static int	 parse(const char *, time_t, struct graph_req *, char *,
		    size_t, const char **);
static struct entry *lookup(struct graphcache *, const char *);
static struct entry *slot(struct graphcache *);
static int	 newest(struct web *, const struct server_conf *,
		    const struct farm_conf *, time_t, struct timespec *);
static void	 lines_open(struct web *, const struct server_conf *,
		    const struct farm_conf *, struct web_lines *,
		    struct web_farmview *, const char *const **, size_t *);
static void	 done(const struct server_conf *, struct web_lines *,
		    struct web_farmview *);
static int	 draw(struct web *, const struct server_conf *,
		    const struct farm_conf *, struct web_lines *,
		    struct web_farmview *, const struct graph_req *,
		    struct graph_image *);
static void	 image_headers(struct web_resp *, int);
static void	 keep(struct graphcache *, const char *, const char *,
		    struct graph_image *, time_t);
static void	 drawing_new(const struct server_conf *,
		    const struct farm_conf *, int, const struct graph_req *,
		    const char *, struct web_resp *, time_t);

/*
 * The archives of sc's graph: its own, or (cluster mode) one a probe
 * node that has one, ID@NODE, labelled with the node (ls->nodes set).
 * It lists the nodes' archives (archive_nodes: through a remote
 * rrdcached, a request to it), so --serve calls it in its graph workers
 * only. Returns 0, or -1 when they could not be listed (its own archive
 * then). Free with graphcache_lines_free.
 */
int
graphcache_lines_server(struct web *w, const struct server_conf *sc,
    struct web_lines *ls)
{
	char	 id[ARCHIVE_ID_MAX], *node;
	int	 k, i;

	memset(ls, 0, sizeof(*ls));
	ls->ids = xcalloc(1, sizeof(*ls->ids));
	ls->ids[0] = sc->id;
	ls->labels = ls->ids;
	ls->n = 1;
	if ((k = archive_nodes(w->store, sc->id, &ls->nodes)) <= 0)
		return k;
	free(ls->ids);
	ls->ids = xcalloc((size_t)k, sizeof(*ls->ids));
	ls->bufs = xcalloc((size_t)k, sizeof(*ls->bufs));
	ls->n = 0;
	for (i = 0; i < k; i++) {
		node = ls->nodes[i];
		ls->nodes[i] = NULL;
		if (archive_node_id(sc->id, node, id, sizeof(id)) == -1) {
			free(node);
			continue;
		}
		ls->nodes[ls->n] = node;
		ls->bufs[ls->n] = xstrdup(id);
		ls->ids[ls->n] = ls->bufs[ls->n];
		ls->n++;
	}
	ls->labels = (const char **)ls->nodes;
	return 0;
}

void
graphcache_lines_free(struct web_lines *ls)
{
	size_t	i;

	for (i = 0; ls->bufs != NULL && i < ls->n; i++)
		free(ls->bufs[i]);
	free(ls->bufs);
	archive_nodes_free(ls->nodes);
	free(ls->ids);
}

/* A cache of at most n images; NULL never (fatal on no memory). */
struct graphcache *
graphcache_new(size_t n)
{
	struct graphcache	*c;

	c = xcalloc(1, sizeof(*c));
	c->e = xcalloc(n, sizeof(*c->e));
	c->n = n;
	return c;
}

/* Forget every image (the config changed). */
void
graphcache_clear(struct graphcache *c)
{
	size_t	i;

	for (i = 0; c != NULL && i < c->n; i++)
		graph_image_free(&c->e[i].img);
}

void
graphcache_free(struct graphcache *c)
{
	size_t	i;

	if (c == NULL)
		return;
	for (i = 0; i < c->n; i++)
		graph_image_free(&c->e[i].img);
	free(c->e);
	free(c);
}

static struct entry *
lookup(struct graphcache *c, const char *key)
{
	size_t	i;

	for (i = 0; c != NULL && i < c->n; i++)
		if (c->e[i].img.data != NULL && strcmp(c->e[i].key, key) == 0)
			return &c->e[i];
	return NULL;
}

/* An empty entry, or the least recently used one, emptied. */
static struct entry *
slot(struct graphcache *c)
{
	struct entry	*best = &c->e[0];
	size_t		 i;

	for (i = 0; i < c->n; i++) {
		if (c->e[i].img.data == NULL)
			return &c->e[i];
		if (c->e[i].used < best->used)
			best = &c->e[i];
	}
	graph_image_free(&best->img);
	return best;
}

/*
 * The graph's period from the query: period=3h|1d|1w|1m|1y (default 1d),
 * or start=UNIX&end=UNIX (end may be absent: now; librrd takes no start
 * before 1980: a smaller number is a date to it), and size=small. name
 * gets a short name of it for keys. Returns 0, or -1 with *why set.
 */
static int
parse(const char *q, time_t now, struct graph_req *req, char *name,
    size_t len, const char **why)
{
	char		 period[16], a[24], z[24], size[16];
	unsigned long	 s, e;
	int		 hp, ha, hz;

	memset(req, 0, sizeof(*req));
	*why = "period is 3h, 1d, 1w, 1m or 1y; start and end are Unix "
	    "seconds after 1980, at most two years apart; size is small";
	if ((hp = route_query(q, "period", period, sizeof(period))) == -1 ||
	    (ha = route_query(q, "start", a, sizeof(a))) == -1 ||
	    (hz = route_query(q, "end", z, sizeof(z))) == -1 ||
	    route_query(q, "size", size, sizeof(size)) == -1)
		return -1;
	if (size[0] != '\0' && strcmp(size, "small") != 0)
		return -1;
	if (size[0] != '\0') {
		req->width = 400;
		req->height = 120;
	}
	if (ha == 1) {
		if (hp == 1 || parse_uint(a, 4102444800UL, &s) == -1)
			return -1;
		e = (unsigned long)now;
		if (hz == 1 && parse_uint(z, 4102444800UL, &e) == -1)
			return -1;
		if (s <= GRAPH_START_MIN || e <= s || e - s > GRAPH_SPAN_MAX)
			return -1;
		req->start = (time_t)s;
		req->end = (time_t)e;
		snprintf(name, len, "%lu-%lu%s", s, hz == 1 ? e : 0, size);
		return 0;
	}
	if (hz == 1)
		return -1;
	if (hp == 0)
		snprintf(period, sizeof(period), "1d");
	if (graph_period(period, now, req) == -1)
		return -1;
	snprintf(name, len, "%s%s", period, size);
	return 0;
}

/*
 * The newest mtime of the archives of sc's graph, or of farm's when sc
 * is NULL. Through rrdcached a file's mtime does not move with the rows
 * the daemon holds: then the start of now's GRAPH_TTL_S slot, so a
 * graph's ETag (and cache entry) lasts as long as its max-age, and a
 * client's If-None-Match gets the new graph after that (asking rrdcached
 * for the last update instead would flush the archive on every request,
 * which the daemon is there to avoid); nor are the probe nodes' archives
 * listed then (through a remote rrdcached, which may be slow: --serve
 * asks here, on its loop). Returns 0, or -1 when none of them has an
 * archive.
 */
static int
newest(struct web *w, const struct server_conf *sc,
    const struct farm_conf *farm, time_t now, struct timespec *ts)
{
	struct stat		 sb;
	char			 path[PATH_MAX];
	struct web_lines	 ls;
	struct web_farmview	 fv;
	const char *const	*ids;
	size_t			 i, n;
	int			 found = 0;

	memset(ts, 0, sizeof(*ts));
	if (archive_store_daemon(w->store) != NULL) {
		ts->tv_sec = now - now % GRAPH_TTL_S;
		return sc == NULL && farm->nservers == 0 ? -1 : 0;
	}
	lines_open(w, sc, farm, &ls, &fv, &ids, &n);
	for (i = 0; i < n; i++) {
		if (archive_path(w->store, ids[i], path, sizeof(path)) == -1 ||
		    stat(path, &sb) == -1)
			continue;
		found = 1;
		if (sb.st_mtim.tv_sec > ts->tv_sec ||
		    (sb.st_mtim.tv_sec == ts->tv_sec &&
		    sb.st_mtim.tv_nsec > ts->tv_nsec))
			*ts = sb.st_mtim;
	}
	done(sc, &ls, &fv);
	return found ? 0 : -1;
}

/*
 * The lines of sc's graph into ls, or of farm's into fv when sc is NULL;
 * every archive they read in *ids (*n of them). Let go with done.
 */
static void
lines_open(struct web *w, const struct server_conf *sc,
    const struct farm_conf *farm, struct web_lines *ls,
    struct web_farmview *fv, const char *const **ids, size_t *n)
{
	if (sc != NULL) {
		graphcache_lines_server(w, sc, ls);
		*ids = ls->ids;
		*n = ls->n;
	} else {
		views_farm_open(w, farm, fv);
		*ids = fv->all;
		*n = fv->nall;
	}
}

/* lines_open's lines let go: a server's, or a farm's. */
static void
done(const struct server_conf *sc, struct web_lines *ls,
    struct web_farmview *fv)
{
	if (sc != NULL)
		graphcache_lines_free(ls);
	else
		views_farm_close(fv);
}

/* Draw sc's graph, or farm's when sc is NULL, from lines_open's lines. */
static int
draw(struct web *w, const struct server_conf *sc,
    const struct farm_conf *farm, struct web_lines *ls,
    struct web_farmview *fv, const struct graph_req *req,
    struct graph_image *img)
{
	if (sc == NULL)
		return graph_farm_views(w->store, farm->name, fv->src,
		    fv->labels, fv->n, req, img);
	if (ls->nodes != NULL)
		return graph_vantage(w->store, sc->id, ls->ids, ls->labels,
		    ls->n, req, img);
	return graph_server(w->store, sc->id, req, img);
}

/* The headers of an image reply, its ETag apart. */
static void
image_headers(struct web_resp *r, int svg)
{
	snprintf(r->cache, sizeof(r->cache), "public, max-age=%d",
	    GRAPH_TTL_S);
	r->ctype = svg ? "image/svg+xml" : "image/png";
}

/*
 * Keep img in c under key (c NULL: free it), made at made; c takes the
 * image, img is left empty.
 */
static void
keep(struct graphcache *c, const char *key, const char *etag,
    struct graph_image *img, time_t made)
{
	struct entry	*e;

	if (c == NULL) {
		graph_image_free(img);
		return;
	}
	if ((e = lookup(c, key)) == NULL)
		e = slot(c);
	else
		graph_image_free(&e->img);
	strlcpy(e->key, key, sizeof(e->key));
	strlcpy(e->etag, etag, sizeof(e->etag));
	e->img = *img;
	memset(img, 0, sizeof(*img));
	e->made = made;
	e->used = ++c->tick;
}

/*
 * What a worker must draw for a graph request not in the cache, with
 * what its reply and cache entry need: r->drawing.
 */
static void
drawing_new(const struct server_conf *sc, const struct farm_conf *farm,
    int svg, const struct graph_req *req, const char *key,
    struct web_resp *r, time_t now)
{
	struct graph_drawing	*d;

	d = xcalloc(1, sizeof(*d));
	strlcpy(d->ask.name, sc != NULL ? sc->id : farm->name,
	    sizeof(d->ask.name));
	d->ask.farm = sc == NULL;
	d->ask.svg = svg;
	d->ask.start = req->start;
	d->ask.end = req->end;
	d->ask.width = req->width;
	d->ask.height = req->height;
	strlcpy(d->key, key, sizeof(d->key));
	strlcpy(d->etag, r->etag, sizeof(d->etag));
	d->made = now;
	r->drawing = d;
}

/*
 * Answer a graph request for sc, or for farm when sc is NULL (configured
 * ones: their ids, not the request's text, name the archives). A graph
 * not in the cache is drawn here, or, when q->can_wait, left to a worker:
 * r->drawing says what to draw, and graphcache_drawn makes the reply.
 */
void
graphcache_reply(struct web *w, const struct server_conf *sc,
    const struct farm_conf *farm, int svg, const char *query,
    const struct web_req *q, struct web_resp *r)
{
	struct graph_req	 req;
	struct graph_image	 img;
	struct entry		*e;
	struct timespec		 ts;
	char			 name[64], key[GRAPH_KEY_MAX];
	struct web_lines	 ls;
	struct web_farmview	 fv;
	const char *const	*ids;
	const char		*why, *label = sc != NULL ? sc->id : farm->name;
	size_t			 n;
	int			 rc;
	time_t			 now = time(NULL);

	if (w->store == NULL) {
		html_error(w, r, 404, "No graphs", "Archives are off in the "
		    "config.");
		return;
	}
	if (parse(query, now, &req, name, sizeof(name), &why) == -1) {
		html_error(w, r, 400, "Bad request", why);
		return;
	}
	req.format = svg ? GRAPH_SVG : GRAPH_PNG;
	if (newest(w, sc, farm, now, &ts) == -1) {
		html_error(w, r, 404, "No graph yet", "No archive yet: not "
		    "checked so far.");
		return;
	}
	snprintf(r->etag, sizeof(r->etag), "\"%c%x-%llx.%lx-%s-%c\"",
	    sc != NULL ? 's' : 'f', hash_str(label), (long long)ts.tv_sec,
	    (long)ts.tv_nsec, name, svg ? 's' : 'p');
	image_headers(r, svg);
	/* If-None-Match may list several tags, or be "*". */
	if (strstr(q->if_none_match, r->etag) != NULL ||
	    strcmp(q->if_none_match, "*") == 0) {
		r->code = 304;
		return;
	}
	snprintf(key, sizeof(key), "%c%s %s %c", sc != NULL ? 's' : 'f',
	    label, name, svg ? 's' : 'p');
	if ((e = lookup(w->cache, key)) != NULL &&
	    strcmp(e->etag, r->etag) == 0 && now - e->made < GRAPH_TTL_S) {
		e->used = ++w->cache->tick;
		evbuffer_add(r->body, e->img.data, e->img.len);
		return;
	}
	if (q->can_wait) {
		drawing_new(sc, farm, svg, &req, key, r, now);
		return;
	}
	lines_open(w, sc, farm, &ls, &fv, &ids, &n);
	rc = draw(w, sc, farm, &ls, &fv, &req, &img);
	done(sc, &ls, &fv);
	if (rc == -1) {
		graphcache_drawn(w, NULL, GRAPHJOB_FAILED, NULL, r);
		return;
	}
	evbuffer_add(r->body, img.data, img.len);
	keep(w->cache, key, r->etag, &img, now);
}

/* What a worker is to draw for d. */
const struct graph_ask *
graphcache_ask(const struct graph_drawing *d)
{
	return &d->ask;
}

/*
 * The reply to d's request once its graph ended so (img, the image, when
 * GRAPHJOB_DRAWN; then it goes to the cache, and img is left empty). d is
 * NULL for a graph drawn here, which failed.
 */
void
graphcache_drawn(struct web *w, const struct graph_drawing *d,
    enum graphjob_end end, struct graph_image *img, struct web_resp *r)
{
	char	 msg[128];

	if (end == GRAPHJOB_DRAWN) {
		strlcpy(r->etag, d->etag, sizeof(r->etag));
		image_headers(r, d->ask.svg);
		evbuffer_add(r->body, img->data, img->len);
		keep(w->cache, d->key, d->etag, img, d->made);
		return;
	}
	r->etag[0] = '\0';
	snprintf(msg, sizeof(msg), undrawn[end].text, w->graph_timeout_s);
	html_error(w, r, undrawn[end].code, undrawn[end].title, msg);
}

void
graphcache_drawing_free(struct graph_drawing *d)
{
	free(d);
}

/*
 * 1 when a and b are one graph as the cache sees it (its key and ETag):
 * what one is drawing answers the other, and makes the same entry.
 */
int
graphcache_same(const struct graph_drawing *a, const struct graph_drawing *b)
{
	return strcmp(a->key, b->key) == 0 && strcmp(a->etag, b->etag) == 0;
}

/*
 * Draw a's graph of sc, or of farm when sc is NULL (a graph worker's
 * job): 0 with *img filled, or -1 when librrd drew none or archives are
 * off (logged).
 */
int
graphcache_draw(struct web *w, const struct server_conf *sc,
    const struct farm_conf *farm, const struct graph_ask *a,
    struct graph_image *img)
{
	struct graph_req		 req;
	struct web_lines		 ls;
	struct web_farmview		 fv;
	const char *const		*ids;
	size_t				 n;
	int				 rc;

	if (w->store == NULL) {
		log_warnx("graph: %s: archives are off", a->name);
		return -1;
	}
	memset(&req, 0, sizeof(req));
	req.start = (time_t)a->start;
	req.end = (time_t)a->end;
	req.width = a->width;
	req.height = a->height;
	req.format = a->svg ? GRAPH_SVG : GRAPH_PNG;
	lines_open(w, sc, farm, &ls, &fv, &ids, &n);
	rc = draw(w, sc, farm, &ls, &fv, &req, img);
	done(sc, &ls, &fv);
	return rc;
}

/*
 * Draw one small graph at start (a graph worker's, before it says it is
 * ready) so librrd has found its fonts before the first request
 * (fontconfig takes long the first time). Any server with
 * an archive will do; none, nothing.
 */
void
graphcache_warm(struct web *w)
{
	struct graph_req	 req;
	struct graph_image	 img;
	struct stat		 sb;
	char			 path[PATH_MAX];
	size_t			 i;

	if (w->store == NULL)
		return;
	for (i = 0; i < w->conf->nservers; i++) {
		if (archive_path(w->store, w->conf->servers[i]->id, path,
		    sizeof(path)) == -1 || stat(path, &sb) == -1)
			continue;
		memset(&req, 0, sizeof(req));
		graph_period("3h", time(NULL), &req);
		req.width = 100;
		req.height = 50;
		if (graph_server(w->store, w->conf->servers[i]->id, &req,
		    &img) == 0)
			graph_image_free(&img);
		return;
	}
}
