/*
 * page_overview.c: "/", every server: counts at the top, problems first,
 * grouped by farm; filter by state and by name from the query. No
 * JavaScript: a form and a meta refresh.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "conf.h"
#include "web.h"

/* One row to print, with what it sorts on. */
struct row {
	const struct ctl_server	*s;
	const struct server_conf *sc;	/* NULL: not in our config */
	size_t			 farm;	/* 0 no farm, else index + 1 */
	int			 farmsev;
	int			 sev;
	size_t			 idx;
};

static const char *const states[] = { "down", "degraded", "unknown", "up" };
#define NSTATES	(sizeof(states) / sizeof(states[0]))

static int	 cmp_row(const void *, const void *);
static size_t	 farm_index(const struct conf *, const struct farm_conf *);
static void	 counts(struct evbuffer *, struct web *,
		    const struct web_data *, const char *);
static void	 filter_form(struct evbuffer *, struct web *, const char *,
		    const char *);
static int	 wanted(const struct ctl_server *, const char *, const char *);
static void	 group(struct evbuffer *, struct web *, const struct web_data *,
		    struct row *, size_t);
static void	 summary_cells(struct evbuffer *, const struct web_data *,
		    const char *);
static void	 uptime_cell(struct evbuffer *, const char *, double, double);

/*
 * An uptime cell: the raw figure, and below it the SLA figure (scheduled
 * downtime left out) when that is known and says something else.
 */
static void
uptime_cell(struct evbuffer *b, const char *cls, double up, double sla)
{
	char	 raw[16], other[16];

	evbuffer_add_printf(b, "<td class=\"num %s\">", cls);
	if (isnan(up)) {
		evbuffer_add_printf(b, "-</td>");
		return;
	}
	snprintf(raw, sizeof(raw), "%.2f", up);
	evbuffer_add_printf(b, "%s%%", raw);
	if (!isnan(sla) && (snprintf(other, sizeof(other), "%.2f", sla),
	    strcmp(raw, other) != 0))
		evbuffer_add_printf(b, "<small class=\"sla\" title=\"scheduled "
		    "downtime left out\">SLA %s%%</small>", other);
	evbuffer_add_printf(b, "</td>");
}

/* Uptime 1 d, 30 d and the day's sparkline from the summary, "-" when
 * it has none yet. */
static void
summary_cells(struct evbuffer *b, const struct web_data *d, const char *id)
{
	const struct summary_row	*r = summary_get(d->sum, id);

	uptime_cell(b, "up1d", r != NULL ? r->up1d : NAN,
	    r != NULL ? r->sla1d : NAN);
	uptime_cell(b, "wide up30d", r != NULL ? r->up30d : NAN,
	    r != NULL ? r->sla30d : NAN);
	evbuffer_add_printf(b, "<td class=\"wide\">");
	if (r != NULL)
		summary_sparkline(b, r);
	evbuffer_add_printf(b, "</td>");
}

/* Farms with the worst state first, then config order, in each farm
 * the worst first, then config order. */
static int
cmp_row(const void *a, const void *b)
{
	const struct row *x = a, *y = b;

	if (x->farmsev != y->farmsev)
		return y->farmsev - x->farmsev;
	if (x->farm != y->farm)
		return x->farm < y->farm ? -1 : 1;
	if (x->sev != y->sev)
		return y->sev - x->sev;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static size_t
farm_index(const struct conf *c, const struct farm_conf *f)
{
	size_t	i;

	if (f == NULL)
		return 0;
	for (i = 0; i < c->nfarms; i++)
		if (c->farms[i] == f)
			return i + 1;
	return 0;
}

/* Format a latency in ms as "12.3 ms" or "1.20 s"; "-" for none. */
void
overview_latency(char *dst, size_t len, double ms)
{
	if (ms < 0)
		snprintf(dst, len, "-");
	else if (ms < 1000)
		snprintf(dst, len, "%.1f ms", ms);
	else
		snprintf(dst, len, "%.2f s", ms / 1000);
}

/* The counts of each state, each a link that filters on it. */
static void
counts(struct evbuffer *b, struct web *w, const struct web_data *d,
    const char *sel)
{
	size_t	 n[NSTATES] = { 0 }, i, k;

	for (i = 0; i < d->n; i++)
		for (k = 0; k < NSTATES; k++)
			if (strcmp(d->servers[i].state, states[k]) == 0)
				n[k]++;
	evbuffer_add_printf(b, "<ul class=\"counts\"><li><a id=\"count-all\" "
	    "%shref=\"", sel[0] == '\0' ? "class=\"sel\" " : "");
	html_home(b, w);
	evbuffer_add_printf(b, "\"><b>%zu</b>servers</a></li>", d->n);
	for (k = 0; k < NSTATES; k++) {
		evbuffer_add_printf(b, "<li><a id=\"count-%s\" %shref=\"",
		    states[k], strcmp(sel, states[k]) == 0 ?
		    "class=\"sel\" " : "");
		html_home(b, w);
		evbuffer_add_printf(b, "?state=%s\"><b>%zu</b>"
		    "<span class=\"st st-%s\">%s</span></a></li>", states[k],
		    n[k], states[k], states[k]);
	}
	evbuffer_add_printf(b, "</ul>\n");
}

static void
filter_form(struct evbuffer *b, struct web *w, const char *state,
    const char *name)
{
	size_t	k;

	evbuffer_add_printf(b, "<form class=\"filter\" method=\"get\" "
	    "action=\"");
	html_home(b, w);
	evbuffer_add_printf(b, "\"><input type=\"search\" name=\"q\" "
	    "placeholder=\"name contains\" aria-label=\"name\" value=\"");
	html_esc(b, name);
	evbuffer_add_printf(b, "\"><select name=\"state\" aria-label=\"state\">"
	    "<option value=\"\">any state</option><option value=\"problems\"%s>"
	    "problems</option>", strcmp(state, "problems") == 0 ?
	    " selected" : "");
	for (k = 0; k < NSTATES; k++)
		evbuffer_add_printf(b, "<option%s>%s</option>",
		    strcmp(state, states[k]) == 0 ? " selected" : "",
		    states[k]);
	evbuffer_add_printf(b, "</select><button type=\"submit\">Filter"
	    "</button></form>\n");
}

static int
wanted(const struct ctl_server *s, const char *state, const char *name)
{
	if (strcmp(state, "problems") == 0) {
		if (strcmp(s->state, "up") == 0)
			return 0;
	} else if (state[0] != '\0' && strcmp(s->state, state) != 0)
		return 0;
	return name[0] == '\0' || strcasestr(s->id, name) != NULL;
}

/*
 * One table of servers under a heading: farm (a farm's name, linked to
 * its page, or NULL for servers outside farms); no heading when heading
 * is 0.
 */
void
overview_table(struct evbuffer *b, struct web *w, const struct web_data *d,
    const char *farm, int heading, const struct ctl_server *const *list,
    size_t n)
{
	const struct server_conf *sc;
	const struct ctl_server	*s;
	char			 ago[32], when[32], lat[32], until[32];
	size_t			 i;

	if (!heading)
		;
	else if (farm != NULL) {
		evbuffer_add_printf(b, "<h2>farm <a href=\"");
		html_url(b, w->base);
		evbuffer_add_printf(b, "/farm/");
		html_url(b, farm);
		evbuffer_add_printf(b, "\">");
		html_esc(b, farm);
		evbuffer_add_printf(b, "</a></h2>");
	} else
		evbuffer_add_printf(b, "<h2>servers</h2>");
	evbuffer_add_printf(b, "<table class=\"servers\"><thead><tr>"
	    "<th class=\"c-state\">state</th><th class=\"c-id\">server</th>"
	    "<th class=\"c-since\">since</th><th class=\"num c-lat\">"
	    "latency</th><th class=\"num c-up\" title=\"uptime, last day\">"
	    "1 d</th><th class=\"num wide c-up\" title=\"uptime, last 30 "
	    "days\">30 d</th><th class=\"wide c-spark\">last day</th>"
	    "<th class=\"wide c-checked\">checked</th>%s</tr>"
	    "</thead><tbody>\n", w->public ? "" :
	    "<th class=\"wide c-msg\">message</th>");
	for (i = 0; i < n; i++) {
		s = list[i];
		sc = conf_find_server(w->conf, s->id);
		html_ago(ago, sizeof(ago), (time_t)s->since, d->now);
		html_time(when, sizeof(when), (time_t)s->since);
		overview_latency(lat, sizeof(lat), s->latency_ms);
		evbuffer_add_printf(b, "<tr class=\"row-%s\"><td><span "
		    "class=\"st st-%s\">%s</span></td><td class=\"id\"><a "
		    "href=\"", s->state, s->state, s->state);
		html_url(b, w->base);
		evbuffer_add_printf(b, "/server/");
		html_url(b, s->id);
		evbuffer_add_printf(b, "\">");
		html_esc(b, sc != NULL ? sc->name : s->id);
		evbuffer_add_printf(b, "</a>");
		if (strcmp(s->state_type, "soft") == 0)
			evbuffer_add_printf(b, " <span class=\"tag\">soft"
			    "</span>");
		if (s->acked)
			evbuffer_add_printf(b, " <span class=\"tag ack\">"
			    "acked</span>");
		if (s->downtime_until > d->now) {
			html_time(until, sizeof(until),
			    (time_t)s->downtime_until);
			evbuffer_add_printf(b, " <span class=\"tag downtime\" "
			    "title=\"until %s\">downtime until %s</span>",
			    until, until + 11);
		}
		if (s->drained)
			evbuffer_add_printf(b, " <span class=\"tag\">drained"
			    "</span>");
		if (s->flapping)
			evbuffer_add_printf(b, " <span class=\"tag\">flapping"
			    "</span>");
		evbuffer_add_printf(b, "</td><td title=\"%s\">%s</td>"
		    "<td class=\"num\">%s</td>", when, ago, lat);
		summary_cells(b, d, s->id);
		html_ago(ago, sizeof(ago), (time_t)s->last_check, d->now);
		evbuffer_add_printf(b, "<td class=\"wide\">%s</td>", ago);
		if (!w->public) {
			evbuffer_add_printf(b, "<td class=\"msg wide\">");
			html_esc(b, s->message);
			evbuffer_add_printf(b, "</td>");
		}
		evbuffer_add_printf(b, "</tr>\n");
	}
	evbuffer_add_printf(b, "</tbody></table>\n");
}

/* One table of rows, all of one farm (or of none). */
static void
group(struct evbuffer *b, struct web *w, const struct web_data *d,
    struct row *rows, size_t n)
{
	const struct ctl_server	**list;
	size_t			  i;

	if ((list = calloc(n, sizeof(*list))) == NULL)
		return;
	for (i = 0; i < n; i++)
		list[i] = rows[i].s;
	overview_table(b, w, d, rows[0].farm != 0 ?
	    w->conf->farms[rows[0].farm - 1]->name : NULL, 1, list, n);
	free(list);
}

/*
 * The overview. query may hold state=(problems|up|degraded|down|unknown)
 * and q=TEXT (a part of the id, any case); other values give 400.
 */
void
page_overview(struct web *w, const struct web_data *d, const char *query,
    struct web_resp *r)
{
	struct row			*rows;
	const struct server_conf	*sc;
	char				 state[32], name[SERVER_ID_MAX + 1];
	int				*farmsev;
	size_t				 i, n, k, start;
	int				 ok;

	if (route_query(query, "state", state, sizeof(state)) == -1 ||
	    route_query(query, "q", name, sizeof(name)) == -1) {
		html_error(w, r, 400, "Bad request", "A filter is too long or "
		    "badly encoded.");
		return;
	}
	for (ok = state[0] == '\0' || strcmp(state, "problems") == 0, k = 0;
	    k < NSTATES; k++)
		ok |= strcmp(state, states[k]) == 0;
	if (!ok) {
		html_error(w, r, 400, "Bad request", "state is problems, up, "
		    "degraded, down or unknown.");
		return;
	}
	rows = calloc(d->n == 0 ? 1 : d->n, sizeof(*rows));
	farmsev = calloc(w->conf->nfarms + 1, sizeof(*farmsev));
	if (farmsev == NULL) {
		free(rows);
		rows = NULL;
	}
	for (i = n = 0; rows != NULL && i < d->n; i++) {
		if (!wanted(&d->servers[i], state, name))
			continue;
		sc = conf_find_server(w->conf, d->servers[i].id);
		rows[n].s = &d->servers[i];
		rows[n].sc = sc;
		rows[n].farm = sc != NULL ? farm_index(w->conf, sc->farm) : 0;
		rows[n].sev = data_severity(d->servers[i].state);
		rows[n].idx = i;
		if (rows[n].sev > farmsev[rows[n].farm])
			farmsev[rows[n].farm] = rows[n].sev;
		n++;
	}
	for (i = 0; i < n; i++)
		rows[i].farmsev = farmsev[rows[i].farm];
	qsort(rows, n, sizeof(*rows), cmp_row);

	r->ctype = "text/html; charset=utf-8";
	html_head(r->body, w, "Servers", WEB_REFRESH_S);
	html_status_banner(r->body, d);
	counts(r->body, w, d, state);
	filter_form(r->body, w, state, name);
	if (n == 0)
		evbuffer_add_printf(r->body, "<p class=\"muted\" id=\"none\">"
		    "No server%s.</p>", d->n > 0 ? " matches" : "s known");
	for (start = 0, i = 1; i <= n; i++)
		if (i == n || rows[i].farm != rows[start].farm) {
			group(r->body, w, d, rows + start, i - start);
			start = i;
		}
	html_foot(r->body);
	free(rows);
	free(farmsev);
}
