/*
 * page_server.c: "/server/ID": the last result and its latency parts, the
 * server's recent events, the graphs (1 d large; 3 h,
 * 1 w, 1 m, 1 y below; a line per probe node in cluster mode) and the
 * uptime table from the archive.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>

#include "conf.h"
#include "archive.h"
#include "uptime.h"
#include "web.h"

#define SERVER_EVENTS	10	/* recent events on the page */

static const char *const small[] = { "3h", "1w", "1m", "1y" };

static void	 facts(struct evbuffer *, struct web *,
		    const struct web_data *, const struct server_conf *,
		    const struct ctl_server *);
static void	 parts(struct evbuffer *, json_t *);
static void	 duration(char *, size_t, double);
static void	 uptime_table(struct evbuffer *, const struct web_figures *);
static void	 vantage(struct evbuffer *, const struct web_figures *);
static void	 vantage_uptime(struct evbuffer *, const struct web_figures *);

/* What probed says of the server, as a list of terms. */
static void
facts(struct evbuffer *b, struct web *w, const struct web_data *d,
    const struct server_conf *sc, const struct ctl_server *s)
{
	char	 t1[32], t2[32], lat[32];

	evbuffer_add_printf(b, "<dl class=\"kv\" id=\"facts\">");
	if (s == NULL) {
		evbuffer_add_printf(b, "<dt>state</dt><dd><span class=\"st "
		    "st-unknown\">unknown</span> not checked yet</dd></dl>");
		return;
	}
	html_time(t1, sizeof(t1), (time_t)s->since);
	html_ago(t2, sizeof(t2), (time_t)s->since, d->now);
	evbuffer_add_printf(b, "<dt>state</dt><dd><span id=\"state\" "
	    "class=\"st st-%s\">%s</span> %s</dd><dt>since</dt><dd>%s "
	    "<span class=\"muted\">(%s)</span></dd>", s->state, s->state,
	    s->state_type, t1, t2);
	html_time(t1, sizeof(t1), (time_t)s->last_check);
	html_ago(t2, sizeof(t2), (time_t)s->last_check, d->now);
	overview_latency(lat, sizeof(lat), s->latency_ms);
	evbuffer_add_printf(b, "<dt>last check</dt><dd>%s <span "
	    "class=\"muted\">(%s ago)</span></dd><dt>latency</dt><dd>%s</dd>"
	    "<dt>kind</dt><dd>%s</dd>", t1, t2, lat,
	    conf_kind_str(sc->kind));
	if (!w->public) {
		evbuffer_add_printf(b, "<dt>check</dt><dd class=\"url\">");
		html_esc(b, sc->url);
		evbuffer_add_printf(b, "</dd><dt>message</dt><dd id=\"message\">");
		html_esc(b, s->message);
		evbuffer_add_printf(b, "</dd>");
	}
	if (s->acked && !w->public) {
		evbuffer_add_printf(b, "<dt>acknowledged</dt><dd>");
		html_esc(b, s->ack_comment[0] != '\0' ? s->ack_comment : "yes");
		evbuffer_add_printf(b, "</dd>");
	}
	if (s->downtime_until > d->now) {
		html_time(t1, sizeof(t1), (time_t)s->downtime_until);
		evbuffer_add_printf(b, "<dt>downtime</dt><dd>until %s</dd>", t1);
	}
	if (s->drained)
		evbuffer_add_printf(b, "<dt>drained</dt><dd>yes</dd>");
	if (s->flapping)
		evbuffer_add_printf(b, "<dt>flapping</dt><dd>yes</dd>");
	evbuffer_add_printf(b, "</dl>\n");
}

/*
 * The last check's latency parts from probed's object: when each part
 * ended, from the start ("-" for one that did not happen); nothing when
 * probed gave none (its state file has no parts).
 */
static void
parts(struct evbuffer *b, json_t *o)
{
	static const struct {
		const char	*key, *name;
	} p[] = {
		{ "dns_ms", "dns" }, { "connect_ms", "connect" },
		{ "tls_ms", "tls" }, { "firstbyte_ms", "first byte" },
		{ "latency_ms", "total" },
	};
	char	 lat[32];
	json_t	*v;
	size_t	 i;

	if (o == NULL || json_object_get(o, "dns_ms") == NULL)
		return;
	evbuffer_add_printf(b, "<h2>last check</h2><table id=\"parts\">"
	    "<thead><tr>");
	for (i = 0; i < sizeof(p) / sizeof(p[0]); i++)
		evbuffer_add_printf(b, "<th class=\"num\">%s</th>", p[i].name);
	evbuffer_add_printf(b, "</tr></thead><tbody><tr>");
	for (i = 0; i < sizeof(p) / sizeof(p[0]); i++) {
		v = json_object_get(o, p[i].key);
		overview_latency(lat, sizeof(lat), json_is_number(v) ?
		    json_number_value(v) : -1);
		evbuffer_add_printf(b, "<td class=\"num\" id=\"part-%.*s\">%s"
		    "</td>", (int)strcspn(p[i].key, "_"), p[i].key, lat);
	}
	evbuffer_add_printf(b, "</tr></tbody></table>\n");
}

/* A length of time, seconds, as "45 s", "12 min", "5 h" or "3 d". */
static void
duration(char *dst, size_t len, double s)
{
	if (s < 120)
		snprintf(dst, len, "%.0f s", s);
	else if (s < 120 * 60)
		snprintf(dst, len, "%.0f min", s / 60);
	else if (s < 48 * 3600)
		snprintf(dst, len, "%.0f h", s / 3600);
	else
		snprintf(dst, len, "%.0f d", s / 86400);
}

/*
 * Uptime over 1, 7, 30 and 365 days from fig: raw from the archive's up
 * series, SLA from its sla series (scheduled downtime left out), the
 * downtime left out and the time without data; in cluster mode the
 * cluster's view of its probe nodes' archives (views.c).
 */
static void
uptime_table(struct evbuffer *b, const struct web_figures *fig)
{
	const struct uptime	*u = fig->raw, *s = fig->sla;
	char			 dt[32];
	int			 i, have = fig->have;

	evbuffer_add_printf(b, "<h2>uptime</h2><table id=\"uptime\"><thead>"
	    "<tr><th>period</th><th class=\"num\">uptime</th>"
	    "<th class=\"num\" title=\"scheduled downtime left out\">SLA"
	    "</th><th class=\"num\">in downtime</th>"
	    "<th class=\"num\">no data</th></tr></thead><tbody>");
	for (i = 0; i < UPTIME_NSPANS; i++) {
		evbuffer_add_printf(b, "<tr id=\"uptime-%s\"><td>%s</td>",
		    uptime_span_name((enum uptime_span)i),
		    uptime_span_name((enum uptime_span)i));
		if (!have || isnan(u[i].pct)) {
			evbuffer_add_printf(b, "<td class=\"num\">-</td>"
			    "<td class=\"num sla\">-</td><td class=\"num\">-"
			    "</td><td class=\"num\">%s</td></tr>",
			    have ? "100%" : "-");
			continue;
		}
		evbuffer_add_printf(b, "<td class=\"num\">%.3f%%</td>",
		    u[i].pct);
		if (isnan(s[i].pct))
			evbuffer_add_printf(b, "<td class=\"num sla\">-</td>");
		else
			evbuffer_add_printf(b, "<td class=\"num sla\">%.3f%%"
			    "</td>", s[i].pct);
		duration(dt, sizeof(dt), fmax(0, u[i].known_s - s[i].known_s));
		evbuffer_add_printf(b, "<td class=\"num\">%s</td>"
		    "<td class=\"num\">%.1f%%</td></tr>", dt, u[i].unknown_pct);
	}
	evbuffer_add_printf(b, "</tbody></table>\n");
}

/* In cluster mode, the probe nodes whose archives the graphs draw, a
 * line each (named with the page's figures). */
static void
vantage(struct evbuffer *b, const struct web_figures *fig)
{
	size_t	i;

	if (fig->nnodes == 0)
		return;
	evbuffer_add_printf(b, "<p id=\"vantage\">A line per probe node:");
	for (i = 0; i < fig->nnodes; i++) {
		evbuffer_add_printf(b, "%s <span class=\"node\">",
		    i > 0 ? "," : "");
		html_esc(b, fig->nodes[i].name);
		evbuffer_add_printf(b, "</span>");
	}
	evbuffer_add_printf(b, ".</p>");
}

/* In cluster mode, the uptime as the probe nodes saw it: some node, every
 * node (the uptime table has the cluster's view: a quorum of them). */
static void
vantage_uptime(struct evbuffer *b, const struct web_figures *fig)
{
	if (fig->nnodes == 0)
		return;
	evbuffer_add_printf(b, "<h2>uptime from the probe nodes</h2>");
	page_farm_uptime_table(b, "vantage-uptime", fig->have_nodes,
	    fig->any, fig->all, "up for some node", "up for every node");
}

void
page_server(struct web *w, const struct web_data *d,
    const struct server_conf *sc, struct web_resp *r)
{
	const struct ctl_server	*s;
	const struct web_figures *fig;
	struct web_figures	 own;
	json_t			*o = NULL;
	size_t			 i;

	s = data_find(d, sc->id, &o);
	r->ctype = "text/html; charset=utf-8";
	html_head(r->body, w, sc->id, WEB_REFRESH_S * 2);
	html_status_banner(r->body, d);
	evbuffer_add_printf(r->body, "<h1>");
	if (sc->farm != NULL) {
		evbuffer_add_printf(r->body, "<span class=\"muted\">");
		html_esc(r->body, sc->farm->name);
		evbuffer_add_printf(r->body, " /</span> ");
	}
	html_esc(r->body, sc->name);
	evbuffer_add_printf(r->body, "</h1>\n");
	facts(r->body, w, d, sc, s);
	parts(r->body, s != NULL ? o : NULL);
	evbuffer_add_printf(r->body, "<h2>recent events</h2>");
	events_recent(r->body, w, sc->id, SERVER_EVENTS);
	evbuffer_add_printf(r->body, "<p><a id=\"events-link\" href=\"");
	html_url(r->body, w->base);
	evbuffer_add_printf(r->body, "/events?server=");
	html_url(r->body, sc->id);
	evbuffer_add_printf(r->body, "\">all state changes</a></p>\n");
	if (w->store != NULL) {
		fig = views_page_figures(w, sc, NULL, WEB_FIGURES_UPTIME,
		    d->now, &own);
		evbuffer_add_printf(r->body, "<h2>latency</h2>");
		vantage(r->body, fig);
		evbuffer_add_printf(r->body, "<div class=\"graphs\" "
		    "id=\"graphs\">");
		html_graph_img(r->body, w, "graph", sc->id, "1d", 0);
		evbuffer_add_printf(r->body, "<div class=\"small\">");
		for (i = 0; i < sizeof(small) / sizeof(small[0]); i++)
			html_graph_img(r->body, w, "graph", sc->id, small[i],
			    1);
		evbuffer_add_printf(r->body, "</div></div>\n");
		html_figures_late(r->body, w, fig);
		vantage_uptime(r->body, fig);
		uptime_table(r->body, fig);
	} else
		evbuffer_add_printf(r->body, "<p class=\"muted\">Archives are "
		    "off: no graphs or uptime.</p>");
	html_foot(r->body);
}
