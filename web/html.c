/*
 * html.c: escaping for HTML text and attributes (one function: both
 * escape & < > " '), URL paths, and the parts every page shares: head,
 * stylesheet, banner when probed is gone, error pages, times.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>

#include "util.h"
#include "web.h"

static const char *period_name(const char *);

/*
 * Text for an HTML element or a quoted attribute (also SVG/XML text):
 * & < > " ' as entities, control characters other than tab and line feed
 * dropped. Bytes above 0x7f pass: probed's text is UTF-8 already.
 */
void
html_esc(struct evbuffer *b, const char *s)
{
	const char	*run = s;

	for (; *s != '\0'; s++) {
		const char *e = NULL;

		switch (*s) {
		case '&': e = "&amp;"; break;
		case '<': e = "&lt;"; break;
		case '>': e = "&gt;"; break;
		case '"': e = "&quot;"; break;
		case '\'': e = "&#39;"; break;
		default:
			if ((unsigned char)*s < 0x20 && *s != '\t' &&
			    *s != '\n')
				e = "";
			else if (*s == 0x7f)
				e = "";
		}
		if (e == NULL)
			continue;
		evbuffer_add(b, run, (size_t)(s - run));
		evbuffer_add(b, e, strlen(e));
		run = s + 1;
	}
	evbuffer_add(b, run, (size_t)(s - run));
}

/*
 * A path segment or query value for a URL inside an attribute: all but
 * unreserved characters and '/' percent-encoded, so the result needs no
 * HTML escaping either.
 */
void
html_url(struct evbuffer *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char	 c;

	for (; *s != '\0'; s++) {
		c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		    c == '.' || c == '~' || c == '/')
			evbuffer_add(b, s, 1);
		else
			evbuffer_add_printf(b, "%%%c%c", hex[c >> 4],
			    hex[c & 15]);
	}
}

/*
 * The overview's address: the CGI's own (SCRIPT_NAME) with no slash after
 * it, since busybox httpd answers 404 to /cgi-bin/x.cgi/; "/" in --serve.
 */
void
html_home(struct evbuffer *b, const struct web *w)
{
	if (w->base[0] == '\0')
		evbuffer_add(b, "/", 1);
	else
		html_url(b, w->base);
}

/* "3d 4h", "5m 2s", "12s": how long ago t was (or "never"). */
void
html_ago(char *dst, size_t len, time_t t, time_t now)
{
	long long	d;

	if (t <= 0) {
		snprintf(dst, len, "never");
		return;
	}
	d = (long long)(now - t);
	if (d < 0)
		d = 0;
	if (d < 60)
		snprintf(dst, len, "%llds", d);
	else if (d < 3600)
		snprintf(dst, len, "%lldm %llds", d / 60, d % 60);
	else if (d < 86400)
		snprintf(dst, len, "%lldh %lldm", d / 3600, d % 3600 / 60);
	else
		snprintf(dst, len, "%lldd %lldh", d / 86400, d % 86400 / 3600);
}

/* Local time as "2026-12-01 01:02:03", or "-" for none. */
void
html_time(char *dst, size_t len, time_t t)
{
	struct tm	tm;

	if (t <= 0 || localtime_r(&t, &tm) == NULL) {
		snprintf(dst, len, "-");
		return;
	}
	strftime(dst, len, "%Y-%m-%d %H:%M:%S", &tm);
}

/* The document up to the start of <main>; refresh 0 = none. */
void
html_head(struct evbuffer *b, struct web *w, const char *title, int refresh)
{
	evbuffer_add_printf(b, "<!DOCTYPE html>\n<html lang=\"en\"><head>"
	    "<meta charset=\"utf-8\">"
	    "<meta name=\"viewport\" content=\"width=device-width, "
	    "initial-scale=1\">"
	    "<meta name=\"color-scheme\" content=\"light dark\">");
	if (refresh > 0)
		evbuffer_add_printf(b, "<meta http-equiv=\"refresh\" "
		    "content=\"%d\">", refresh);
	evbuffer_add_printf(b, "<title>");
	html_esc(b, title);
	evbuffer_add_printf(b, " - tocsin</title><link rel=\"stylesheet\" "
	    "href=\"");
	html_url(b, w->base);
	evbuffer_add_printf(b, "/style.css\"></head>\n<body><header>"
	    "<a class=\"brand\" href=\"");
	html_home(b, w);
	evbuffer_add_printf(b, "\">tocsin</a><nav><a href=\"");
	html_url(b, w->base);
	evbuffer_add_printf(b, "/events\">events</a>");
	if (!w->public) {
		evbuffer_add_printf(b, " <a href=\"");
		html_url(b, w->base);
		evbuffer_add_printf(b, "/api/status\">JSON</a> <a href=\"");
		html_url(b, w->base);
		evbuffer_add_printf(b, "/metrics\">metrics</a>");
	}
	evbuffer_add_printf(b, "</nav></header>\n<main>");
}

void
html_foot(struct evbuffer *b)
{
	evbuffer_add_printf(b, "</main></body></html>\n");
}

/* When probed is gone: say so, and since when the state is. */
void
html_status_banner(struct evbuffer *b, const struct web_data *d)
{
	char	when[64], ago[32];

	if (d->live)
		return;
	evbuffer_add_printf(b, "<p class=\"banner\" id=\"stale\">");
	html_esc(b, d->why);
	if (d->written > 0) {
		html_time(when, sizeof(when), (time_t)d->written);
		html_ago(ago, sizeof(ago), (time_t)d->written, d->now);
		evbuffer_add_printf(b, ": showing the last known state, "
		    "written %s (%s ago)", when, ago);
	}
	evbuffer_add_printf(b, ".</p>\n");
}

/* An error page: code, a title, and what was wrong (escaped). */
void
html_error(struct web *w, struct web_resp *r, int code, const char *title,
    const char *detail)
{
	r->code = code;
	r->ctype = "text/html; charset=utf-8";
	r->cache[0] = '\0';
	evbuffer_drain(r->body, evbuffer_get_length(r->body));
	html_head(r->body, w, title, 0);
	evbuffer_add_printf(r->body, "<h1>%d ", code);
	html_esc(r->body, title);
	evbuffer_add_printf(r->body, "</h1><p class=\"detail\">");
	html_esc(r->body, detail);
	evbuffer_add_printf(r->body, "</p><p><a href=\"");
	html_home(r->body, w);
	evbuffer_add_printf(r->body, "\">All servers</a></p>");
	html_foot(r->body);
}

/* The one stylesheet: light and dark, narrow screens first. */
const char *
html_css(void)
{
	return
":root{--bg:#fafafa;--fg:#1d2126;--mute:#636b75;--line:#dde1e6;"
"--card:#fff;--up:#1a7f37;--deg:#b35900;--down:#cf222e;--unk:#6e7781;"
"--link:#0550ae}\n"
"@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;"
"--mute:#8d96a0;--line:#30363d;--card:#161b22;--up:#3fb950;--deg:#d29922;"
"--down:#f85149;--unk:#8b949e;--link:#58a6ff}:root .st{color:#0d1117}}\n"
"*{box-sizing:border-box}\n"
"body{margin:0;background:var(--bg);color:var(--fg);"
"font:15px/1.4 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}\n"
"a{color:var(--link);text-decoration:none}a:hover{text-decoration:underline}\n"
"header{display:flex;justify-content:space-between;align-items:center;"
"padding:.6rem 1rem;border-bottom:1px solid var(--line);background:var(--card)}\n"
"header .brand{font-weight:700;font-size:1.1rem;color:var(--fg)}\n"
"header nav a{margin-left:1rem;color:var(--mute)}\n"
"main{max-width:72rem;margin:0 auto;padding:1rem}\n"
"h1{font-size:1.3rem;margin:.2rem 0 .8rem;overflow-wrap:anywhere}\n"
"h2{font-size:1.05rem;margin:1.4rem 0 .4rem;color:var(--mute)}\n"
".banner{background:var(--deg);color:#fff;padding:.6rem .8rem;"
"border-radius:6px;font-weight:600}\n"
".counts{display:flex;flex-wrap:wrap;gap:.5rem;margin:0 0 .8rem;padding:0;"
"list-style:none}\n"
".counts a{display:block;padding:.35rem .7rem;border-radius:6px;"
"border:1px solid var(--line);background:var(--card);color:var(--fg)}\n"
".counts b{font-size:1.15rem;margin-right:.3rem}\n"
".counts .sel{outline:2px solid var(--link)}\n"
"form.filter{display:flex;flex-wrap:wrap;gap:.5rem;margin:0 0 1rem}\n"
"form.filter input,form.filter select,form.filter button{font:inherit;"
"padding:.3rem .5rem;border:1px solid var(--line);border-radius:6px;"
"background:var(--card);color:var(--fg)}\n"
"form.filter input{flex:1 1 10rem;min-width:0}\n"
"table{width:100%;border-collapse:collapse;background:var(--card);"
"border:1px solid var(--line);border-radius:6px}\n"
"th,td{text-align:left;padding:.4rem .6rem;border-top:1px solid var(--line);"
"vertical-align:top}\n"
"th{font-weight:600;color:var(--mute);font-size:.85rem;border-top:0}\n"
"td.id{overflow-wrap:anywhere}\n"
"td.msg{color:var(--mute);overflow-wrap:anywhere;max-width:28rem}\n"
"th.num,td.num{text-align:right;white-space:nowrap}\n"
"table.servers{table-layout:fixed}\n"
".c-state{width:6.5rem}.c-since{width:5.5rem}.c-lat{width:6rem}"
".c-checked{width:5rem}.c-msg{width:32%}.c-up{width:5rem}"
".c-spark{width:6.5rem}\n"
"svg.spark{width:6rem;height:1.4rem;display:block}"
"svg.spark path{fill:none;stroke:var(--link);stroke-width:1.2;"
"vector-effect:non-scaling-stroke}\n"
"#uptime{max-width:40rem}\n"
"small.sla{display:block;color:var(--mute);font-size:.75rem}\n"
"figure{margin:0}figcaption{font-size:.85rem;color:var(--mute)}\n"
".st{display:inline-block;min-width:5.2rem;text-align:center;"
"padding:.05rem .4rem;border-radius:4px;color:#fff;font-weight:600;"
"font-size:.85rem}\n"
".st-up{background:var(--up)}.st-degraded{background:var(--deg)}"
".st-down{background:var(--down)}.st-unknown{background:var(--unk)}\n"
"tr.row-down td:first-child{box-shadow:inset 4px 0 var(--down)}\n"
"tr.row-degraded td:first-child{box-shadow:inset 4px 0 var(--deg)}\n"
"tr.row-unknown td:first-child{box-shadow:inset 4px 0 var(--unk)}\n"
".tag{display:inline-block;font-size:.75rem;padding:0 .35rem;margin:.1rem;"
"border:1px solid var(--line);border-radius:4px;color:var(--mute)}\n"
".muted{color:var(--mute)}\n"
".graphs img{max-width:100%;height:auto;display:block;margin:.3rem 0;"
"border:1px solid var(--line);border-radius:6px;background:#fff}\n"
".small{display:grid;grid-template-columns:repeat(auto-fit,minmax(20rem,1fr));"
"gap:.5rem}\n"
"dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;"
"margin:0}\n"
"dl.kv dt{color:var(--mute)}dl.kv dd{margin:0;overflow-wrap:anywhere}\n"
"pre{white-space:pre-wrap;overflow-wrap:anywhere;background:var(--card);"
"border:1px solid var(--line);padding:.5rem;border-radius:6px}\n"
"@media (max-width:40rem){main{padding:.5rem}.wide{display:none}"
"th,td{padding:.35rem .4rem}.st{min-width:0}td.num{font-size:.9rem}"
".c-state{width:4.4rem}.c-since{width:3.8rem}.c-lat{width:4.6rem}"
".c-up{width:4.6rem}}\n";
}

static const char *
period_name(const char *p)
{
	if (strcmp(p, "3h") == 0)
		return "last 3 hours";
	if (strcmp(p, "1d") == 0)
		return "last day";
	if (strcmp(p, "1w") == 0)
		return "last week";
	if (strcmp(p, "1m") == 0)
		return "last month";
	if (strcmp(p, "1y") == 0)
		return "last year";
	return p;
}

/*
 * A graph as a link to its SVG around its PNG: what is "graph" or
 * "farmgraph", name the server id or farm name (from the config), period
 * one of graph_period's; small ones are drawn small.
 */
void
html_graph_img(struct evbuffer *b, struct web *w, const char *what,
    const char *name, const char *period, int small)
{
	const char	*size = small ? "&amp;size=small" : "";

	evbuffer_add_printf(b, "<figure><a href=\"");
	html_url(b, w->base);
	evbuffer_add_printf(b, "/%s/", what);
	html_url(b, name);
	evbuffer_add_printf(b, ".svg?period=%s\"><img src=\"", period);
	html_url(b, w->base);
	evbuffer_add_printf(b, "/%s/", what);
	html_url(b, name);
	evbuffer_add_printf(b, ".png?period=%s%s\" alt=\"latency, %s\" "
	    "loading=\"lazy\"></a><figcaption>%s</figcaption></figure>",
	    period, size, period, period_name(period));
}

/*
 * When --serve could not read fig in time (the archives, or rrdcached's
 * flush, slower than --graph-timeout), a line saying the uptime tables
 * below have no figures, and why; else nothing.
 */
void
html_figures_late(struct evbuffer *b, const struct web *w,
    const struct web_figures *fig)
{
	if (!fig->late)
		return;
	evbuffer_add_printf(b, "<p class=\"muted\" id=\"uptime-late\">The "
	    "uptime figures are not available: the archives were not read "
	    "within %u s, or the graph workers were all busy or failed. Try "
	    "again in a moment.</p>", w->graph_timeout_s);
}
