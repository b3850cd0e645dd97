/*
 * badge.c: "/badge/ID.svg?show=state|latency|uptime": a small SVG that a
 * customer's page can embed. Every text in it is escaped as XML.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>

#include "conf.h"
#include "archive.h"
#include "uptime.h"
#include "web.h"

#define CHAR_PX	7	/* a rough width of one character at 11px */

static int	 uptime_30d(struct web *, const struct web_data *,
		    const struct server_conf *, double *);

/*
 * sc's uptime over the last 30 days into *pct: from the figures --serve
 * read ahead (w->fig), else read now, that span alone (a CGI). Returns
 * 0, or -1 when it is not known.
 */
static int
uptime_30d(struct web *w, const struct web_data *d,
    const struct server_conf *sc, double *pct)
{
	struct uptime	 u;
	struct web_view	*v;
	int		 rc = -1;

	if (w->fig != NULL) {
		*pct = w->fig->raw[UPTIME_30D].pct;
		return w->fig->have && !isnan(*pct) ? 0 : -1;
	}
	if (w->store == NULL)
		return -1;
	v = views_open(w, sc);
	if (views_uptime(w, v, 0, d->now - 30 * 86400, d->now, &u) == 0 &&
	    !isnan(u.pct)) {
		*pct = u.pct;
		rc = 0;
	}
	views_close(v);
	return rc;
}

void
badge_svg(struct web *w, const struct web_data *d,
    const struct server_conf *sc, const char *show, struct web_resp *r)
{
	const struct ctl_server	*s;
	double			 pct;
	const char		*colour = "#6e7781";
	char			 val[32];
	unsigned		 lw, rw;

	s = data_find(d, sc->id, NULL);
	snprintf(val, sizeof(val), "%s", s != NULL ? s->state : "unknown");
	if (s != NULL && strcmp(s->state, "up") == 0)
		colour = "#1a7f37";
	else if (s != NULL && strcmp(s->state, "degraded") == 0)
		colour = "#b35900";
	else if (s != NULL && strcmp(s->state, "down") == 0)
		colour = "#cf222e";
	if (strcmp(show, "latency") == 0)
		overview_latency(val, sizeof(val), s != NULL ?
		    s->latency_ms : -1);
	else if (strcmp(show, "uptime") == 0) {
		if (uptime_30d(w, d, sc, &pct) == 0)
			snprintf(val, sizeof(val), "%.2f%% 30d", pct);
		else
			snprintf(val, sizeof(val), "no data");
	}
	lw = (unsigned)strlen(sc->name) * CHAR_PX + 12;
	if (lw > 300)
		lw = 300;
	rw = (unsigned)strlen(val) * CHAR_PX + 12;
	r->ctype = "image/svg+xml";
	snprintf(r->cache, sizeof(r->cache), "public, max-age=60");
	evbuffer_add_printf(r->body, "<svg xmlns=\"http://www.w3.org/2000/svg\" "
	    "width=\"%u\" height=\"20\" role=\"img\" aria-label=\"", lw + rw);
	html_esc(r->body, sc->name);
	evbuffer_add_printf(r->body, ": %s\"><rect width=\"%u\" height=\"20\" "
	    "rx=\"3\" fill=\"#555\"/><rect x=\"%u\" width=\"%u\" height=\"20\" "
	    "rx=\"3\" fill=\"%s\"/><g fill=\"#fff\" font-family=\"Verdana,"
	    "DejaVu Sans,sans-serif\" font-size=\"11\"><text x=\"6\" y=\"14\">",
	    val, lw, lw, rw, colour);
	html_esc(r->body, sc->name);
	evbuffer_add_printf(r->body, "</text><text x=\"%u\" y=\"14\">%s</text>"
	    "</g></svg>\n", lw + 6, val);
}
