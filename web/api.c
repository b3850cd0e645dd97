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
static json_t	*num(double);
static json_t	*figures(const struct uptime *);
static json_t	*vantage_node(struct web *, const struct server_conf *,
		    const char *, time_t);

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

	fig = views_page_figures(w, sc, NULL, d->now, &own);
	if (!fig->have) {
		no_archive(w, sc, fig->late ? "the archive was not read in "
		    "time, or the graph workers were busy or failed" :
		    "cannot read the archive", r);
		return;
	}
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
 * One node's archive of sc: {"node","archive","last","rows","latency_ms"}
 * with its last update (null when unreadable), its rows with a total
 * latency over the hour before now and the newest of them (null: none).
 */
static json_t *
vantage_node(struct web *w, const struct server_conf *sc, const char *node,
    time_t now)
{
	struct archive_layout	 l;
	struct archive_series	 s;
	char			 id[ARCHIVE_ID_MAX];
	double			 last = NAN, v;
	size_t			 row;
	int			 col, rows = 0;

	if (archive_node_id(sc->id, node, id, sizeof(id)) == -1)
		return NULL;
	col = archive_fetch(w->store, id, "AVERAGE", now - 3600, now, 1,
	    &s) == 0 ? archive_series_ds(&s, archive_fixed_ds[ARCHIVE_TOTAL]) :
	    -1;
	for (row = 0; col >= 0 && row < s.nrows; row++) {
		v = s.data[row * s.nds + (size_t)col];
		if (!isnan(v)) {
			rows++;
			last = v * 1000;
		}
	}
	archive_series_free(&s);
	return json_pack("{s:s,s:s,s:o,s:i,s:o}", "node", node, "archive", id,
	    "last", archive_info(w->store, id, &l) == 0 ?
	    json_integer((json_int_t)l.last) : json_null(), "rows", rows,
	    "latency_ms", num(last));
}

/*
 * {"id":ID,"nodes":[...]}: each probe node that archives the server
 * (ID@NODE, cluster mode; none on one machine), by name, as
 * vantage_node gives it. 503 when the archives are off or cannot be
 * listed.
 */
void
api_vantage(struct web *w, const struct web_data *d,
    const struct server_conf *sc, struct web_resp *r)
{
	json_t	*o, *arr, *one;
	char	**nodes;
	int	 i, n;

	if (w->store == NULL || (n = archive_nodes(w->store, sc->id,
	    &nodes)) == -1) {
		no_archive(w, sc, "cannot list the archives", r);
		return;
	}
	arr = json_array();
	for (i = 0; i < n; i++)
		if ((one = vantage_node(w, sc, nodes[i], d->now)) != NULL)
			json_array_append_new(arr, one);
	archive_nodes_free(nodes);
	o = json_pack("{s:s,s:o}", "id", sc->id, "nodes", arr);
	dump(r, o);
	json_decref(o);
}
