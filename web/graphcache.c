/*
 * graphcache.c: "/graph/ID.png" and ".svg": one graph at a time through
 * rrd/graph.h, with an ETag made of the archive's mtime (through
 * rrdcached, of the minute), and in --serve a
 * cache of rendered images keyed by id, period and format, good until the
 * archive changes (or GRAPH_TTL_S passes: rrdcached may hold new data
 * that the file does not show yet).
 */
#include <sys/stat.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>

#include "conf.h"
#include "util.h"
#include "xmalloc.h"
#include "archive.h"
#include "graph.h"
#include "web.h"

#define GRAPH_TTL_S	60	/* a cached graph, at most */
#define GRAPH_SPAN_MAX	(2 * 366 * 86400)	/* start..end, seconds */
#define GRAPH_START_MIN	(10 * 365 * 86400)	/* librrd reads a number as
						   Unix seconds above it */

struct entry {
	char			 key[SERVER_ID_MAX + 48];
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

static int	 parse(const char *, time_t, struct graph_req *, char *,
		    size_t, const char **);
static struct entry *lookup(struct graphcache *, const char *);
static struct entry *slot(struct graphcache *);
static int	 newest(struct web *, const char *const *, size_t, time_t,
		    struct timespec *);

/*
 * The archives of sc's graph: its own, or (cluster mode) one a probe
 * node that has one, ID@NODE, labelled with the node (ls->nodes set).
 * Free with graphcache_lines_free.
 */
void
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
		return;
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
 * The newest mtime of the archives of ids. Through rrdcached a file's
 * mtime does not move with the rows the daemon holds: then the start of
 * now's GRAPH_TTL_S slot, so a graph's ETag (and cache entry) lasts as
 * long as its max-age, and a client's If-None-Match gets the new graph
 * after that (asking rrdcached for the last update instead would flush
 * the archive on every request, which the daemon is there to avoid).
 * Returns 0, or -1 when none of them has an archive.
 */
static int
newest(struct web *w, const char *const *ids, size_t n, time_t now,
    struct timespec *ts)
{
	struct stat	 sb;
	char		 path[PATH_MAX];
	size_t		 i;
	int		 found = 0;

	memset(ts, 0, sizeof(*ts));
	for (i = 0; i < n; i++) {
		if (archive_path(w->store, ids[i], path, sizeof(path)) == -1)
			continue;
		if (archive_store_daemon(w->store) != NULL) {
			ts->tv_sec = now - now % GRAPH_TTL_S;
			return 0;
		}
		if (stat(path, &sb) == -1)
			continue;
		found = 1;
		if (sb.st_mtim.tv_sec > ts->tv_sec ||
		    (sb.st_mtim.tv_sec == ts->tv_sec &&
		    sb.st_mtim.tv_nsec > ts->tv_nsec))
			*ts = sb.st_mtim;
	}
	return found ? 0 : -1;
}

/* graphcache_reply's lines let go: a server's, or a farm's. */
static void
done(const struct server_conf *sc, struct web_lines *ls,
    struct web_farmview *fv)
{
	if (sc != NULL)
		graphcache_lines_free(ls);
	else
		views_farm_close(fv);
}

/*
 * Answer a graph request for sc, or for farm when sc is NULL (configured
 * ones: their ids, not the request's text, name the archives).
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
	char			 name[64], key[sizeof(e->key)];
	struct web_lines	 ls;
	struct web_farmview	 fv;
	const char		*why, *label;
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
	if (sc != NULL) {
		graphcache_lines_server(w, sc, &ls);
		rc = newest(w, ls.ids, ls.n, now, &ts);
		label = sc->id;
	} else {
		views_farm_open(w, farm, &fv);
		rc = newest(w, fv.all, fv.nall, now, &ts);
		label = farm->name;
	}
	if (rc == -1) {
		done(sc, &ls, &fv);
		html_error(w, r, 404, "No graph yet", "No archive yet: not "
		    "checked so far.");
		return;
	}
	snprintf(r->etag, sizeof(r->etag), "\"%c%x-%llx.%lx-%s-%c\"",
	    sc != NULL ? 's' : 'f', hash_str(label), (long long)ts.tv_sec,
	    (long)ts.tv_nsec, name, svg ? 's' : 'p');
	snprintf(r->cache, sizeof(r->cache), "public, max-age=%d",
	    GRAPH_TTL_S);
	r->ctype = svg ? "image/svg+xml" : "image/png";
	/* If-None-Match may list several tags, or be "*". */
	if (strstr(q->if_none_match, r->etag) != NULL ||
	    strcmp(q->if_none_match, "*") == 0) {
		r->code = 304;
		done(sc, &ls, &fv);
		return;
	}
	snprintf(key, sizeof(key), "%c%s %s %c", sc != NULL ? 's' : 'f',
	    label, name, svg ? 's' : 'p');
	if ((e = lookup(w->cache, key)) != NULL &&
	    strcmp(e->etag, r->etag) == 0 && now - e->made < GRAPH_TTL_S) {
		e->used = ++w->cache->tick;
		evbuffer_add(r->body, e->img.data, e->img.len);
		done(sc, &ls, &fv);
		return;
	}
	if (sc == NULL)
		rc = graph_farm_views(w->store, farm->name, fv.src, fv.labels,
		    fv.n, &req, &img);
	else if (ls.nodes != NULL)
		rc = graph_vantage(w->store, sc->id, ls.ids, ls.labels, ls.n,
		    &req, &img);
	else
		rc = graph_server(w->store, sc->id, &req, &img);
	done(sc, &ls, &fv);
	if (rc == -1) {
		html_error(w, r, 503, "Graph failed", "The graph could not be "
		    "drawn; see the log.");
		r->etag[0] = '\0';
		return;
	}
	evbuffer_add(r->body, img.data, img.len);
	if (w->cache == NULL) {
		graph_image_free(&img);
		return;
	}
	if (e == NULL)
		e = slot(w->cache);
	else
		graph_image_free(&e->img);
	strlcpy(e->key, key, sizeof(e->key));
	strlcpy(e->etag, r->etag, sizeof(e->etag));
	e->img = img;
	e->made = now;
	e->used = ++w->cache->tick;
}

/*
 * Draw one small graph at start so librrd has found its fonts before the
 * first request (fontconfig takes long the first time). Any server with
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
