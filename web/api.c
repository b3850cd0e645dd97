/*
 * api.c: "/api/status" and "/api/server/ID": the objects `tocsinctl -j
 * status` prints (probed's, or the state file's with "stale": true);
 * "/api/uptime/ID": a server's uptime from the archives, raw and with
 * scheduled downtime left out.
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
static json_t	*num(double);
static json_t	*figures(const struct uptime *);

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
 * time known in raw but not in sla (the downtime with data). 503 when the
 * archives are off or unreadable.
 */
void
api_uptime(struct web *w, const struct web_data *d,
    const struct server_conf *sc, struct web_resp *r)
{
	struct uptime	 raw[UPTIME_NSPANS], sla[UPTIME_NSPANS];
	json_t		*o, *arr;
	int		 i;

	if (w->store == NULL ||
	    uptime_server_spans(w->store, sc->id, d->now, raw) == -1 ||
	    uptime_server_spans_sla(w->store, sc->id, d->now, sla) == -1) {
		r->code = 503;
		o = json_pack("{s:s,s:s}", "error", w->store == NULL ?
		    "archives are off" : "cannot read the archive", "id",
		    sc->id);
		dump(r, o);
		json_decref(o);
		return;
	}
	arr = json_array();
	for (i = 0; i < UPTIME_NSPANS; i++)
		json_array_append_new(arr, json_pack("{s:s,s:I,s:I,s:o,s:o,"
		    "s:o}", "span", uptime_span_name((enum uptime_span)i),
		    "from", (json_int_t)(d->now -
		    uptime_span_seconds((enum uptime_span)i)),
		    "to", (json_int_t)d->now, "raw", figures(&raw[i]),
		    "sla", figures(&sla[i]), "downtime_s",
		    num(fmax(0, raw[i].known_s - sla[i].known_s))));
	o = json_pack("{s:s,s:I,s:o}", "id", sc->id, "now",
	    (json_int_t)d->now, "uptime", arr);
	dump(r, o);
	json_decref(o);
}
