/*
 * api.c: "/api/status" and "/api/server/ID": the objects `tocsinctl -j
 * status` prints (probed's, or the state file's with "stale": true);
 * "/api/uptime/ID": a server's uptime from the archives, raw and with
 * scheduled downtime left out; "/api/vantage/ID": the probe nodes that
 * archive it (cluster mode).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "conf.h"
#include "jsontext.h"
#include "archive.h"
#include "uptime.h"
#include "web.h"

static void	 dump(struct web_resp *, json_t *);
static void	 no_archive(struct web *, const struct server_conf *,
		    const char *, struct web_resp *);
static const struct web_figures *read_figures(struct web *,
		    const struct web_data *, const struct server_conf *, int,
		    struct web_figures *, struct web_resp *);
static json_t	*num(double);
static json_t	*figures(const struct uptime *);
static json_t	*vantage_node(const struct server_conf *,
		    const struct web_node *);

static void
dump(struct web_resp *r, json_t *j)
{
	char	*s;

	r->ctype = "application/json";
	if ((s = json_dumps(j, JSONTEXT_DUMP_FLAGS)) == NULL) {
		r->code = 500;
		evbuffer_add_printf(r->body, "{\"error\":\"out of memory\"}\n");
		return;
	}
	evbuffer_add(r->body, s, strlen(s));
	evbuffer_add(r->body, "\n", 1);
	free(s);
}

/* Every server: an array, in probed's (config) order. */
void
api_status(struct web *w, const struct web_data *d, struct web_resp *r)
{
	(void)w;
	dump(r, d->objs);
}

/* One server's object; 404 with {"error":...} when probed has none. */
void
api_server(struct web *w, const struct web_data *d,
    const struct server_conf *sc, struct web_resp *r)
{
	json_t	*obj = NULL, *e;

	(void)w;
	if (data_find(d, sc->id, &obj) != NULL && obj != NULL) {
		dump(r, obj);
		return;
	}
	r->code = 404;
	e = json_pack("{s:s,s:s}", "error", "no state for this server yet",
	    "id", sc->id);
	dump(r, e);
	json_decref(e);
}

/* 503 {"error","id"}: the archives are off, or why they cannot be read. */
static void
no_archive(struct web *w, const struct server_conf *sc, const char *why,
    struct web_resp *r)
{
	json_t	*o;

	r->code = 503;
	o = json_pack("{s:s,s:s}", "error", w->store == NULL ?
	    "archives are off" : why, "id", sc->id);
	dump(r, o);
	json_decref(o);
}

/*
 * The figures of sc that the request shows (what, as views_figures):
 * those --serve read ahead, else read now into own. NULL after a 503
 * saying why there are none: the archives are off or could not be read,
 * or (--serve) were not read in time.
 */
static const struct web_figures *
read_figures(struct web *w, const struct web_data *d,
    const struct server_conf *sc, int what, struct web_figures *own,
    struct web_resp *r)
{
	static const struct {
		const char	*late;
		const char	*failed;
	} unread[] = {
		[WEB_FIGURES_UPTIME] = { "the archive was not read in time, "
		    "or the graph workers were busy or failed",
		    "cannot read the archive" },
		[WEB_FIGURES_VANTAGE] = { "the archives were not listed in "
		    "time, or the graph workers were busy or failed",
		    "cannot list the archives" },
	};
	const struct web_figures	*fig;

	fig = views_page_figures(w, sc, NULL, what, d->now, own);
	if (what == WEB_FIGURES_UPTIME ? fig->have : fig->listed)
		return fig;
	no_archive(w, sc, fig->late ? unread[what].late : unread[what].failed,
	    r);
	return NULL;
}

/* A JSON number, null for NaN. */
static json_t *
num(double v)
{
	return isnan(v) ? json_null() : json_real(v);
}

/* One uptime figure as {"pct","unknown_pct","up_s","known_s"}. */
static json_t *
figures(const struct uptime *u)
{
	return json_pack("{s:o,s:o,s:o,s:o}", "pct", num(u->pct),
	    "unknown_pct", num(u->unknown_pct), "up_s", num(u->up_s),
	    "known_s", num(u->known_s));
}

/*
 * {"id":ID,"now":T,"uptime":[{"span":"1d","from":T,"to":T,"raw":{...},
 * "sla":{...},"downtime_s":S},...]} for 1, 7, 30 and 365 days: raw from
 * the up series, sla with scheduled downtime left out; downtime_s is the
 * time known in raw but not in sla (the downtime with data). In cluster
 * mode the figures are the cluster's view of its probe nodes' archives
 * (views.c). 503 when the archives are off or unreadable.
 */
void
api_uptime(struct web *w, const struct web_data *d,
    const struct server_conf *sc, struct web_resp *r)
{
	const struct web_figures	*fig;
	struct web_figures		 own;
	const struct uptime		*raw, *sla;
	json_t				*o, *arr;
	int				 i;

	if ((fig = read_figures(w, d, sc, WEB_FIGURES_UPTIME, &own,
	    r)) == NULL)
		return;
	raw = fig->raw;
	sla = fig->sla;
	arr = json_array();
	for (i = 0; i < UPTIME_NSPANS; i++)
		json_array_append_new(arr, json_pack("{s:s,s:I,s:I,s:o,s:o,"
		    "s:o}", "span", uptime_span_name((enum uptime_span)i),
		    "from", (json_int_t)(fig->now -
		    uptime_span_seconds((enum uptime_span)i)),
		    "to", (json_int_t)fig->now, "raw", figures(&raw[i]),
		    "sla", figures(&sla[i]), "downtime_s",
		    num(fmax(0, raw[i].known_s - sla[i].known_s))));
	o = json_pack("{s:s,s:I,s:o}", "id", sc->id, "now",
	    (json_int_t)fig->now, "uptime", arr);
	dump(r, o);
	json_decref(o);
}

/*
 * One node's archive of sc, as views_figures read it: {"node","archive",
 * "last","rows","latency_ms"} with its last update (null when
 * unreadable), its rows with a total latency over the hour before now
 * and the newest of them (null: none).
 */
static json_t *
vantage_node(const struct server_conf *sc, const struct web_node *n)
{
	char	 id[ARCHIVE_ID_MAX];

	if (archive_node_id(sc->id, n->name, id, sizeof(id)) == -1)
		return NULL;
	return json_pack("{s:s,s:s,s:o,s:i,s:o}", "node", n->name, "archive",
	    id, "last", n->last >= 0 ? json_integer((json_int_t)n->last) :
	    json_null(), "rows", n->rows, "latency_ms", num(n->latency_ms));
}

/*
 * {"id":ID,"nodes":[...]}: each probe node that archives the server
 * (ID@NODE, cluster mode; none on one machine), by name, as
 * vantage_node gives it; the first WEB_NODES_MAX. 503 when the archives
 * are off or cannot be listed, or (--serve) were not listed in time.
 */
void
api_vantage(struct web *w, const struct web_data *d,
    const struct server_conf *sc, struct web_resp *r)
{
	const struct web_figures	*fig;
	struct web_figures		 own;
	json_t				*o, *arr, *one;
	size_t				 i;

	if ((fig = read_figures(w, d, sc, WEB_FIGURES_VANTAGE, &own,
	    r)) == NULL)
		return;
	arr = json_array();
	for (i = 0; i < fig->nnodes; i++)
		if ((one = vantage_node(sc, &fig->nodes[i])) != NULL)
			json_array_append_new(arr, one);
	o = json_pack("{s:s,s:o}", "id", sc->id, "nodes", arr);
	dump(r, o);
	json_decref(o);
}
