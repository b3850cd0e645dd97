/*
 * route.c: which page a request asks for. The path (PATH_INFO, decoded)
 * picks the page; an ID must name a server of the config, a farm a farm;
 * nothing from the request is ever used as a file name. Only GET and HEAD.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>

#include "conf.h"
#include "xmalloc.h"
#include "web.h"

static int	 hexval(int);
static int	 path_ok(const char *, char *, size_t);
static const struct server_conf *find_server(struct web *, const char *,
		    struct web_resp *);
static const struct farm_conf *find_farm(struct web *, const char *,
		    struct web_resp *);
static int	 strip_suffix(char *, const char *);
static void	 style(struct web_resp *);
static int	 data_page(const char *, int);
static void	 not_found(struct web *, struct web_resp *);

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * The value of key in a query string (k=v&k=v, %-encoded, '+' a blank)
 * into dst. Returns 1 when found, 0 when absent, -1 when it is too long
 * for dst or badly encoded or holds a control character.
 */
int
route_query(const char *q, const char *key, char *dst, size_t len)
{
	size_t		 klen = strlen(key), o;
	const char	*p, *end;
	int		 hi, lo, c;

	for (p = q; p != NULL && *p != '\0'; p = end[0] ? end + 1 : NULL) {
		end = p + strcspn(p, "&;");
		if (strncmp(p, key, klen) != 0 || p[klen] != '=')
			continue;
		for (p += klen + 1, o = 0; p < end; p++) {
			c = (unsigned char)*p;
			if (c == '+')
				c = ' ';
			else if (c == '%') {
				if (p + 2 >= end || (hi = hexval(p[1])) < 0 ||
				    (lo = hexval(p[2])) < 0)
					return -1;
				c = hi * 16 + lo;
				p += 2;
			}
			if (c < 0x20 || c == 0x7f || o + 1 >= len)
				return -1;
			dst[o++] = (char)c;
		}
		dst[o] = '\0';
		return 1;
	}
	dst[0] = '\0';
	return 0;
}

/* A path we look at: bounded, no control characters. Copies it. */
static int
path_ok(const char *path, char *dst, size_t len)
{
	const char	*p;

	if (strlen(path) >= len)
		return -1;
	for (p = path; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return -1;
	memcpy(dst, path, strlen(path) + 1);
	return 0;
}

/* The configured server of this id, or NULL after a 404 page. */
static const struct server_conf *
find_server(struct web *w, const char *id, struct web_resp *r)
{
	const struct server_conf	*sc;
	char				 msg[SERVER_ID_MAX + 64];

	if (*id != '\0' && (sc = conf_find_server(w->conf, id)) != NULL)
		return sc;
	if (*id == '\0')
		snprintf(msg, sizeof(msg), "The address names no server.");
	else if (strlen(id) > SERVER_ID_MAX)
		snprintf(msg, sizeof(msg), "No server has an id that long.");
	else
		snprintf(msg, sizeof(msg), "No server '%s' in the config.",
		    id);
	html_error(w, r, 404, "No such server", msg);
	return NULL;
}

/* The configured farm of this name, or NULL after a 404 page. */
static const struct farm_conf *
find_farm(struct web *w, const char *name, struct web_resp *r)
{
	const struct farm_conf	*f;
	char			 msg[SERVER_ID_MAX + 64];

	if ((f = conf_find_farm(w->conf, name)) != NULL)
		return f;
	snprintf(msg, sizeof(msg), "No farm '%.*s' in the config.",
	    SERVER_ID_MAX, name);
	html_error(w, r, 404, "No such farm", msg);
	return NULL;
}

/* Cut suffix off s; 1 when it was there. */
static int
strip_suffix(char *s, const char *suffix)
{
	size_t	ls = strlen(s), lx = strlen(suffix);

	if (ls <= lx || strcmp(s + ls - lx, suffix) != 0)
		return 0;
	s[ls - lx] = '\0';
	return 1;
}

static void
style(struct web_resp *r)
{
	r->ctype = "text/css; charset=utf-8";
	snprintf(r->cache, sizeof(r->cache), "public, max-age=3600");
	evbuffer_add(r->body, html_css(), strlen(html_css()));
}

/*
 * The pages answered from probed's data ("/" and "" the overview; a name
 * ending in '/' a prefix); with public set, the customers' ones only.
 */
static const struct {
	const char	*name;
	int		 private;
} data_pages[] = {
	{ "", 0 }, { "/", 0 }, { "/server/", 0 }, { "/farm/", 0 },
	{ "/badge/", 0 }, { "/events", 0 }, { "/api/events", 1 },
	{ "/api/status", 1 }, { "/api/server/", 1 }, { "/api/uptime/", 1 },
	{ "/api/vantage/", 1 }, { "/metrics", 1 },
};

/* 1 when path is one of data_pages, so worth asking probed for. */
static int
data_page(const char *path, int public)
{
	const char	*n;
	size_t		 i, len;

	for (i = 0; i < sizeof(data_pages) / sizeof(data_pages[0]); i++) {
		n = data_pages[i].name;
		len = strlen(n);
		if (public && data_pages[i].private)
			continue;
		if (len > 1 && n[len - 1] == '/' ? strncmp(path, n, len) == 0 :
		    strcmp(path, n) == 0)
			return 1;
	}
	return 0;
}

static void
not_found(struct web *w, struct web_resp *r)
{
	html_error(w, r, 404, "Not found", "There is no page at this "
	    "address: try the overview.");
}

/*
 * Answer one request into r (r->body empty, r->code 200 on entry).
 */
void
route_request(struct web *w, const struct web_req *q, struct web_resp *r)
{
	const struct server_conf	*sc;
	const struct farm_conf		*f;
	struct web_data			 d;
	char				 path[WEB_PATH_MAX], arg[256];
	char				*id;
	int				 svg, have;

	if (strcmp(q->method, "GET") != 0 && strcmp(q->method, "HEAD") != 0) {
		snprintf(r->allow, sizeof(r->allow), "GET, HEAD");
		html_error(w, r, 405, "Method not allowed", "This page is "
		    "read-only: only GET and HEAD are answered.");
		return;
	}
	if (path_ok(q->path, path, sizeof(path)) == -1 ||
	    strlen(q->query) > WEB_QUERY_MAX) {
		html_error(w, r, 400, "Bad request", "The address is too long "
		    "or holds control characters.");
		return;
	}
	if (strcmp(path, "/style.css") == 0) {
		style(r);
		return;
	}
	if (strcmp(path, "/healthz") == 0) {
		r->ctype = "text/plain; charset=utf-8";
		evbuffer_add_printf(r->body, "ok\n");
		return;
	}
	if (strncmp(path, "/graph/", 7) == 0) {
		id = path + 7;
		if (!(svg = strip_suffix(id, ".svg")) &&
		    !strip_suffix(id, ".png")) {
			html_error(w, r, 404, "No such graph", "A graph is "
			    "/graph/ID.png or /graph/ID.svg.");
			return;
		}
		if ((sc = find_server(w, id, r)) != NULL)
			graphcache_reply(w, sc, NULL, svg, q->query, q, r);
		return;
	}
	if (strncmp(path, "/farmgraph/", 11) == 0) {
		id = path + 11;
		if (!(svg = strip_suffix(id, ".svg")) &&
		    !strip_suffix(id, ".png")) {
			html_error(w, r, 404, "No such graph", "A farm graph "
			    "is /farmgraph/NAME.png or /farmgraph/NAME.svg.");
			return;
		}
		if ((f = find_farm(w, id, r)) != NULL)
			graphcache_reply(w, NULL, f, svg, q->query, q, r);
		return;
	}
	/* Pages that show probed's objects as they are, or their parts;
	 * any other address is answered before probed is asked. */
	if (!data_page(path, w->public)) {
		not_found(w, r);
		return;
	}
	data_load(w, &d, strcmp(path, "/metrics") == 0 ?
	    DATA_OBJS | DATA_STATS : strncmp(path, "/api/", 5) == 0 ||
	    strncmp(path, "/server/", 8) == 0 ? DATA_OBJS : 0);
	if (strcmp(path, "/") == 0 || path[0] == '\0') {
		d.sum = summary_load(w, d.now);
		page_overview(w, &d, q->query, r);
	} else if (strncmp(path, "/server/", 8) == 0) {
		if ((sc = find_server(w, path + 8, r)) != NULL)
			page_server(w, &d, sc, r);
	} else if (strncmp(path, "/farm/", 6) == 0) {
		if ((f = find_farm(w, path + 6, r)) != NULL) {
			d.sum = summary_load(w, d.now);
			page_farm(w, &d, f, r);
		}
	} else if (strncmp(path, "/badge/", 7) == 0) {
		id = path + 7;
		if (!strip_suffix(id, ".svg"))
			html_error(w, r, 404, "No such badge", "A badge is "
			    "/badge/ID.svg.");
		else if ((have = route_query(q->query, "show", arg,
		    sizeof(arg))) == -1 || (have == 1 &&
		    strcmp(arg, "state") != 0 && strcmp(arg, "latency") != 0 &&
		    strcmp(arg, "uptime") != 0))
			html_error(w, r, 400, "Bad request", "show is state, "
			    "latency or uptime.");
		else if ((sc = find_server(w, id, r)) != NULL)
			badge_svg(w, &d, sc, have == 1 ? arg : "state", r);
	} else if (strcmp(path, "/events") == 0) {
		events_page(w, &d, q->query, 0, r);
	} else if (strcmp(path, "/api/events") == 0 && !w->public) {
		events_page(w, &d, q->query, 1, r);
	} else if (strcmp(path, "/api/status") == 0 && !w->public) {
		api_status(w, &d, r);
	} else if (strncmp(path, "/api/server/", 12) == 0 && !w->public) {
		if ((sc = find_server(w, path + 12, r)) != NULL)
			api_server(w, &d, sc, r);
	} else if (strncmp(path, "/api/uptime/", 12) == 0 && !w->public) {
		if ((sc = find_server(w, path + 12, r)) != NULL)
			api_uptime(w, &d, sc, r);
	} else if (strncmp(path, "/api/vantage/", 13) == 0 && !w->public) {
		if ((sc = find_server(w, path + 13, r)) != NULL)
			api_vantage(w, &d, sc, r);
	} else if (strcmp(path, "/metrics") == 0 && !w->public) {
		d.sum = summary_load(w, d.now);
		metrics_page(w, &d, r);
	} else
		not_found(w, r);
	if (w->once)
		data_keep(&d);
	else
		data_free(&d);
}

/*
 * 1 when route_request would ask probed for this request (the pages of
 * data_pages, asked for with GET or HEAD), so --serve asks first.
 */
int
route_needs_data(const struct web *w, const struct web_req *q)
{
	if ((strcmp(q->method, "GET") != 0 && strcmp(q->method, "HEAD") != 0) ||
	    strlen(q->path) >= WEB_PATH_MAX || strlen(q->query) > WEB_QUERY_MAX)
		return 0;
	return data_page(q->path, w->public);
}

/*
 * 1 when route_request would show figures for this request from the
 * archives (uptime: a server's page or a farm's, /api/uptime/ID, an
 * uptime badge; the probe nodes' archives: /api/vantage/ID), with what
 * to ask a graph worker for them in *a, up to now: --serve has them read
 * ahead, off its loop (views_figures), and sets w->fig.
 */
int
route_figures(const struct web *w, const struct web_req *q,
    struct graph_ask *a)
{
	char		 show[16], badge[SERVER_ID_MAX + 1];
	const char	*name = NULL;

	if (w->store == NULL || !route_needs_data(w, q))
		return 0;
	memset(a, 0, sizeof(*a));
	a->figures = WEB_FIGURES_UPTIME;
	if (strncmp(q->path, "/server/", 8) == 0)
		name = q->path + 8;
	else if (strncmp(q->path, "/badge/", 7) == 0 &&
	    strlcpy(badge, q->path + 7, sizeof(badge)) < sizeof(badge) &&
	    strip_suffix(badge, ".svg") && route_query(q->query, "show",
	    show, sizeof(show)) == 1 && strcmp(show, "uptime") == 0)
		name = badge;
	else if (strncmp(q->path, "/api/uptime/", 12) == 0)
		name = q->path + 12;
	else if (strncmp(q->path, "/api/vantage/", 13) == 0) {
		name = q->path + 13;
		a->figures = WEB_FIGURES_VANTAGE;
	} else if (strncmp(q->path, "/farm/", 6) == 0) {
		name = q->path + 6;
		a->farm = 1;
	}
	if (name == NULL || (a->farm ? conf_find_farm(w->conf, name) ==
	    NULL : conf_find_server(w->conf, name) == NULL))
		return 0;
	strlcpy(a->name, name, sizeof(a->name));
	a->end = (int64_t)time(NULL);
	return 1;
}

/* The reason phrase of the codes we answer with. */
const char *
route_reason(int code)
{
	switch (code) {
	case 200: return "OK";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	}
	return "Error";
}

/* Every header of a reply but Status and Content-Length, through add. */
void
route_headers(const struct web_resp *r,
    void (*add)(void *, const char *, const char *), void *arg)
{
	add(arg, "Content-Type", r->ctype);
	add(arg, "Content-Security-Policy", WEB_CSP);
	add(arg, "X-Content-Type-Options", "nosniff");
	add(arg, "Referrer-Policy", "no-referrer");
	add(arg, "Cache-Control", r->cache[0] != '\0' ? r->cache :
	    "no-store");
	if (r->etag[0] != '\0')
		add(arg, "ETag", r->etag);
	if (r->allow[0] != '\0')
		add(arg, "Allow", r->allow);
}
