/*
 * views.c: whose archives tell a server's uptime. Its own (ID.rrd); or,
 * when probe nodes archive it each on their own (cluster mode,
 * ID@NODE.rrd), the cluster's view of them: up where at least its quorum
 * of nodes had it up, unknown where fewer than that have data. The quorum
 * is the probe nodes' own (cluster/quorum.h): `set quorum`, else a
 * majority of its vantage nodes, else of the nodes that have archives.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "xmalloc.h"
#include "archive.h"
#include "quorum.h"
#include "uptime.h"
#include "web.h"

/* Whose archives tell a server's uptime: its graph's lines, with the
 * quorum of them in cluster mode. */
struct web_view {
	struct web_lines	 ls;
	struct uptime_src	 src;
};

static void	 view_init(struct web *, const struct server_conf *,
		    struct web_view *);
static void	 nodes_named(const struct web_lines *, struct web_figures *);
static void	 node_read(struct web *, const char *, time_t,
		    struct web_node *);

/*
 * The archives of sc's uptime (the same as its graph's lines), with the
 * quorum of them that must have had it up. Close with views_close.
 */
struct web_view *
views_open(struct web *w, const struct server_conf *sc)
{
	struct web_view	*v;

	v = xcalloc(1, sizeof(*v));
	view_init(w, sc, v);
	return v;
}

/* views_open into v. */
static void
view_init(struct web *w, const struct server_conf *sc, struct web_view *v)
{
	graphcache_lines_server(w, sc, &v->ls);
	v->src.ids = v->ls.ids;
	v->src.n = v->ls.n;
	v->src.need = v->ls.nodes == NULL ? 1 : views_quorum(w->conf, sc,
	    v->ls.n);
}

/*
 * The quorum of sc's n probe nodes with archives: as the nodes decide
 * its state (quorum_vantage, quorum_needed).
 */
size_t
views_quorum(const struct conf *c, const struct server_conf *sc, size_t n)
{
	return (size_t)quorum_needed(quorum_vantage(c->quorum,
	    sc->o.nvantage), n);
}

/* The server's uptime over [from, to) from v (sla: with scheduled
 * downtime left out): uptime_view. Returns 0 or -1. */
int
views_uptime(struct web *w, const struct web_view *v, int sla, time_t from,
    time_t to, struct uptime *u)
{
	return uptime_view(w->store, &v->src, sla, from, to, u);
}

/* The archives v reads (n of them): the server's own, or its nodes'. */
const char *const *
views_ids(const struct web_view *v, size_t *n)
{
	*n = v->src.n;
	return v->src.ids;
}

void
views_close(struct web_view *v)
{
	if (v == NULL)
		return;
	graphcache_lines_free(&v->ls);
	free(v);
}

/*
 * sc's uptime over each span (uptime.h) into raw, and with scheduled
 * downtime left out into sla. Returns 1 when both were read, else 0
 * (archives off or unreadable).
 */
int
views_spans(struct web *w, const struct server_conf *sc, time_t now,
    struct uptime *raw, struct uptime *sla)
{
	struct web_view	*v;
	int		 have;

	if (w->store == NULL)
		return 0;
	v = views_open(w, sc);
	have = uptime_view_spans(w->store, &v->src, 0, now, raw) == 0 &&
	    uptime_view_spans(w->store, &v->src, 1, now, sla) == 0;
	views_close(v);
	return have;
}

/*
 * A farm's members, each as views_open reads it; every archive of every
 * member in all. Close with views_farm_close.
 */
void
views_farm_open(struct web *w, const struct farm_conf *f,
    struct web_farmview *fv)
{
	size_t	i, j;

	memset(fv, 0, sizeof(*fv));
	fv->n = f->nservers;
	fv->v = xcalloc(fv->n > 0 ? fv->n : 1, sizeof(*fv->v));
	fv->src = xcalloc(fv->n > 0 ? fv->n : 1, sizeof(*fv->src));
	fv->labels = xcalloc(fv->n > 0 ? fv->n : 1, sizeof(*fv->labels));
	for (i = 0; i < fv->n; i++) {
		view_init(w, f->servers[i], &fv->v[i]);
		fv->src[i] = fv->v[i].src;
		fv->labels[i] = f->servers[i]->id;
		fv->nall += fv->src[i].n;
	}
	fv->all = xcalloc(fv->nall > 0 ? fv->nall : 1, sizeof(*fv->all));
	fv->nall = 0;
	for (i = 0; i < fv->n; i++)
		for (j = 0; j < fv->src[i].n; j++)
			fv->all[fv->nall++] = fv->src[i].ids[j];
}

void
views_farm_close(struct web_farmview *fv)
{
	size_t	i;

	for (i = 0; i < fv->n; i++)
		graphcache_lines_free(&fv->v[i].ls);
	free(fv->v);
	free(fv->src);
	free(fv->labels);
	free(fv->all);
	memset(fv, 0, sizeof(*fv));
}

/*
 * A farm's uptime over each span: some member up (any), all up (all),
 * each member as views_open reads it. Returns 1 when read, else 0.
 */
int
views_farm_spans(struct web *w, const struct farm_conf *f, time_t now,
    struct uptime *any, struct uptime *all)
{
	struct web_farmview	fv;
	int			have;

	if (w->store == NULL || f->nservers == 0)
		return 0;
	views_farm_open(w, f, &fv);
	have = uptime_views_spans(w->store, fv.src, fv.n, now, any, all) == 0;
	views_farm_close(&fv);
	return have;
}

/*
 * ls's probe nodes (the first WEB_NODES_MAX, by name) into fig, each
 * with its last update unread (-1) and no latency.
 */
static void
nodes_named(const struct web_lines *ls, struct web_figures *fig)
{
	size_t	i;

	for (i = 0; ls->nodes != NULL && i < ls->n && i < WEB_NODES_MAX;
	    i++) {
		strlcpy(fig->nodes[i].name, ls->labels[i],
		    sizeof(fig->nodes[i].name));
		fig->nodes[i].last = -1;
		fig->nodes[i].latency_ms = NAN;
	}
	fig->nnodes = i;
}

/*
 * Node n's archive of sc (id): its last update, and its rows with a total
 * latency over the hour before now, the newest of them.
 */
static void
node_read(struct web *w, const char *id, time_t now, struct web_node *n)
{
	struct archive_layout	 l;
	struct archive_series	 s;
	double			 v;
	size_t			 row;
	int			 col;

	col = archive_fetch(w->store, id, "AVERAGE", now - 3600, now, 1,
	    &s) == 0 ? archive_series_ds(&s, archive_fixed_ds[ARCHIVE_TOTAL]) :
	    -1;
	for (row = 0; col >= 0 && row < s.nrows; row++) {
		v = s.data[row * s.nds + (size_t)col];
		if (!isnan(v)) {
			n->rows++;
			n->latency_ms = v * 1000;
		}
	}
	archive_series_free(&s);
	if (archive_info(w->store, id, &l) == 0)
		n->last = (int64_t)l.last;
}

/*
 * The figures of sc's page, or of farm's when sc is NULL, over the spans
 * ending at now, into fig. what is WEB_FIGURES_UPTIME: the uptime that
 * uptime_table and vantage_uptime (page_server.c), farm_uptime
 * (page_farm.c), api_uptime and an uptime badge show, and sc's probe
 * nodes by name (the page's line per node); or WEB_FIGURES_VANTAGE: sc's
 * probe nodes, each with its archive's last update and rows
 * (api_vantage). It reads the archives (rrdcached flushes first) and
 * lists the nodes' (through a remote rrdcached): --serve has a graph
 * worker call it, off the loop.
 */
void
views_figures(struct web *w, const struct server_conf *sc,
    const struct farm_conf *farm, int what, time_t now,
    struct web_figures *fig)
{
	struct web_lines	ls;
	size_t			i;

	memset(fig, 0, sizeof(*fig));
	fig->now = now;
	if (sc == NULL) {
		fig->have = views_farm_spans(w, farm, now, fig->any, fig->all);
		return;
	}
	if (w->store == NULL)
		return;
	if (what == WEB_FIGURES_UPTIME)
		fig->have = views_spans(w, sc, now, fig->raw, fig->sla);
	fig->listed = graphcache_lines_server(w, sc, &ls) == 0;
	nodes_named(&ls, fig);
	if (what == WEB_FIGURES_VANTAGE)
		for (i = 0; i < fig->nnodes; i++)
			node_read(w, ls.ids[i], now, &fig->nodes[i]);
	else if (ls.nodes != NULL && ls.n > 0)
		fig->have_nodes = uptime_farm_spans(w->store, ls.ids, ls.n,
		    now, fig->any, fig->all) == 0;
	graphcache_lines_free(&ls);
}

/*
 * The figures a page shows (what, as views_figures): those --serve read
 * ahead for this request (w->fig), else (a CGI) read now into buf. Never
 * NULL.
 */
const struct web_figures *
views_page_figures(struct web *w, const struct server_conf *sc,
    const struct farm_conf *farm, int what, time_t now,
    struct web_figures *buf)
{
	if (w->fig != NULL)
		return w->fig;
	views_figures(w, sc, farm, what, now, buf);
	return buf;
}
