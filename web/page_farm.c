/*
 * page_farm.c: "/farm/NAME": the members, the farm graph (every member's
 * latency) and the farm's uptime: some member up, all members up.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "conf.h"
#include "archive.h"
#include "uptime.h"
#include "web.h"

static void	 farm_uptime(struct evbuffer *, struct web *,
		    const struct web_data *, const struct farm_conf *);
static void	 pct(struct evbuffer *, int, const struct uptime *);

static void
pct(struct evbuffer *b, int have, const struct uptime *u)
{
	if (have && !isnan(u->pct))
		evbuffer_add_printf(b, "<td class=\"num\">%.3f%%</td>", u->pct);
	else
		evbuffer_add_printf(b, "<td class=\"num\">-</td>");
}

/* The farm's uptime table, from the figures of its page. */
static void
farm_uptime(struct evbuffer *b, struct web *w, const struct web_data *d,
    const struct farm_conf *f)
{
	const struct web_figures	*fig;
	struct web_figures		 own;

	fig = views_page_figures(w, NULL, f, WEB_FIGURES_UPTIME, d->now,
	    &own);
	evbuffer_add_printf(b, "<h2>uptime</h2>");
	html_figures_late(b, w, fig);
	page_farm_uptime_table(b, "uptime", fig->have, fig->any, fig->all,
	    "some member up", "all members up");
}

/*
 * A table of uptime over each span: where some series was up (any) and
 * where all were (all), under those heads; "-" where !have. Shared with
 * a server's probe nodes (page_server.c).
 */
void
page_farm_uptime_table(struct evbuffer *b, const char *tid, int have,
    const struct uptime *any, const struct uptime *all,
    const char *any_head, const char *all_head)
{
	int	i;

	evbuffer_add_printf(b, "<table id=\"%s\"><thead><tr><th>period</th>"
	    "<th class=\"num\">%s</th><th class=\"num\">%s</th></tr>"
	    "</thead><tbody>", tid, any_head, all_head);
	for (i = 0; i < UPTIME_NSPANS; i++) {
		evbuffer_add_printf(b, "<tr><td>%s</td>",
		    uptime_span_name((enum uptime_span)i));
		pct(b, have, &any[i]);
		pct(b, have, &all[i]);
		evbuffer_add_printf(b, "</tr>");
	}
	evbuffer_add_printf(b, "</tbody></table>\n");
}

void
page_farm(struct web *w, const struct web_data *d, const struct farm_conf *f,
    struct web_resp *r)
{
	const struct ctl_server	**list;
	json_t			 *lb;
	size_t			  i, n;
	static const char *const small[] = { "3h", "1w", "1m", "1y" };

	r->ctype = "text/html; charset=utf-8";
	html_head(r->body, w, f->name, WEB_REFRESH_S * 2);
	html_status_banner(r->body, d);
	evbuffer_add_printf(r->body, "<h1><span class=\"muted\">farm</span> ");
	html_esc(r->body, f->name);
	evbuffer_add_printf(r->body, "</h1>\n");
	list = calloc(f->nservers == 0 ? 1 : f->nservers, sizeof(*list));
	for (i = n = 0; list != NULL && i < f->nservers; i++)
		if ((list[n] = data_find(d, f->servers[i]->id, NULL)) != NULL)
			n++;
	if (list != NULL)
		overview_table(r->body, w, d, f->name, 0, list, n);
	free(list);
	lb = lbstats_fetch(w);
	lbstats_farm(r->body, lb, f->name);
	json_decref(lb);
	if (w->store != NULL) {
		evbuffer_add_printf(r->body, "<h2>latency</h2><div "
		    "class=\"graphs\" id=\"graphs\">");
		html_graph_img(r->body, w, "farmgraph", f->name, "1d", 0);
		evbuffer_add_printf(r->body, "<div class=\"small\">");
		for (i = 0; i < sizeof(small) / sizeof(small[0]); i++)
			html_graph_img(r->body, w, "farmgraph", f->name,
			    small[i], 1);
		evbuffer_add_printf(r->body, "</div></div>\n");
		farm_uptime(r->body, w, d, f);
	}
	html_foot(r->body);
}
