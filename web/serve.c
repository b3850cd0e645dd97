/*
 * serve.c: tocsin.cgi --serve ADDR:PORT, the pages on libevent's evhttp
 * (keep-alive, bounded headers and bodies, a timeout), with the graph
 * cache. Pages that show servers ask probed without blocking the loop
 * (prefetch.c), so a hung probed delays only them; graphs are drawn by
 * worker processes (graphworker.c), one at a time each, as librrd wants,
 * so a slow one delays only itself, and so are the figures of a page
 * (its uptime, its probe nodes' archives), read before the page is made
 * (a slow rrdcached delays only the pages that show them, at most
 * --graph-timeout). A graph asked again while it is drawn waits for that
 * drawing.
 */
#include <sys/queue.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "conf.h"
#include "daemon.h"
#include "log.h"
#include "xmalloc.h"
#include "archive.h"
#include "graph.h"
#include "web.h"

#define SERVE_HEADERS_MAX	8192	/* bytes of request headers */
#define SERVE_BODY_MAX		4096	/* bytes of a request body */
#define SERVE_TIMEOUT_S		30	/* an idle or slow connection */

struct pending;

static struct conns	*conns;
static TAILQ_HEAD(, pending) flights = TAILQ_HEAD_INITIALIZER(flights);

static void	 on_request(struct evhttp_request *, void *);
static void	 on_signal(evutil_socket_t, short, void *);
static void	 on_hup(evutil_socket_t, short, void *);
static void	 add_header(void *, const char *, const char *);
static const char *method_str(enum evhttp_cmd_type);

static int	 resp_new(struct web_resp *);
static void	 ask_figures(struct pending *, const struct graph_ask *);
static void	 figures_late(struct pending *);
static void	 ask_probed(struct pending *);
static void	 answer(struct pending *, struct web_prefetch *);
static void	 draw(struct pending *, struct web_resp *);
static void	 send_reply(struct pending *, struct web_resp *);
static void	 send_copy(struct pending *, const struct web_resp *);
static void	 send_500(struct pending *);
static void	 pending_free(struct pending *);
static void	 on_figures(enum graphjob_end, struct graph_image *, void *);
static void	 on_late(evutil_socket_t, short, void *);
static void	 on_prefetched(struct web_prefetch *, void *);
static void	 on_drawn(enum graphjob_end, struct graph_image *, void *);
static void	 on_gone(void *);

static const char *
method_str(enum evhttp_cmd_type m)
{
	switch (m) {
	case EVHTTP_REQ_GET: return "GET";
	case EVHTTP_REQ_HEAD: return "HEAD";
	case EVHTTP_REQ_POST: return "POST";
	case EVHTTP_REQ_PUT: return "PUT";
	case EVHTTP_REQ_DELETE: return "DELETE";
	case EVHTTP_REQ_OPTIONS: return "OPTIONS";
	case EVHTTP_REQ_TRACE: return "TRACE";
	case EVHTTP_REQ_CONNECT: return "CONNECT";
	case EVHTTP_REQ_PATCH: return "PATCH";
	}
	return "OTHER";
}

static void
add_header(void *arg, const char *name, const char *value)
{
	evhttp_add_header(arg, name, value);
}

/*
 * A request on its way: the figures its page shows, read by a
 * worker; what route_request needs once probed answered; or the graph a
 * worker draws for it, or for a request before it (its leader).
 */
struct pending {
	struct web		*w;
	struct evhttp_request	*req;	/* NULL: its client went away */
	struct conn		*conn;	/* NULL: not counted */
	struct prefetch		*pf;
	struct graph_drawing	*drawing;	/* its graph, to be drawn */
	struct graphjob		*job;	/* that graph, or its figures, with
					   the workers */
	struct event		*late;	/* its figures' deadline */
	struct web_figures	 fig;
	int			 has_fig;	/* fig is its page's */
	struct pending		*leader;	/* whose drawing answers it */
	TAILQ_HEAD(, pending)	 followers;	/* those it answers too */
	TAILQ_ENTRY(pending)	 entry;	/* in flights, or in leader's
					   followers */
	int			 flying;	/* in flights */
	struct web_req		 q;
	char			*path;	/* decoded; NULL: could not be */
};

/* An empty 200 reply in r; -1 when out of memory. */
static int
resp_new(struct web_resp *r)
{
	memset(r, 0, sizeof(*r));
	r->code = 200;
	r->ctype = "text/html; charset=utf-8";
	return (r->body = evbuffer_new()) == NULL ? -1 : 0;
}

/*
 * Have a worker read the figures of p's page (a): on_figures, or
 * on_late after --graph-timeout, asks probed next. No worker to take
 * them (the queue is full): the page goes without.
 */
static void
ask_figures(struct pending *p, const struct graph_ask *a)
{
	struct timeval	 tv = { p->w->graph_timeout_s, 0 };

	conns_on_gone(p->conn, on_gone, p);
	if ((p->late = evtimer_new(evhttp_connection_get_base(
	    evhttp_request_get_connection(p->req)), on_late, p)) == NULL ||
	    (p->job = graphworker_submit(p->w->workers, a, on_figures,
	    p)) == NULL) {
		figures_late(p);
		return;
	}
	evtimer_add(p->late, &tv);
}

/* p's figures came, or failed: on to probed. */
static void
on_figures(enum graphjob_end end, struct graph_image *img, void *arg)
{
	struct pending	*p = arg;

	p->job = NULL;
	evtimer_del(p->late);
	if (end != GRAPHJOB_DRAWN || img->len != sizeof(p->fig)) {
		figures_late(p);
		return;
	}
	memcpy(&p->fig, img->data, sizeof(p->fig));
	p->has_fig = 1;
	ask_probed(p);
}

/* p's figures are not read by --graph-timeout: the page goes without. */
static void
on_late(evutil_socket_t fd, short what, void *arg)
{
	struct pending	*p = arg;

	(void)fd;
	(void)what;
	graphworker_forget(p->job);
	p->job = NULL;
	figures_late(p);
}

/* p's page is made without its figures ("not available"). */
static void
figures_late(struct pending *p)
{
	memset(&p->fig, 0, sizeof(p->fig));
	p->fig.now = (int64_t)time(NULL);
	p->fig.late = 1;
	p->has_fig = 1;
	p->w->figures_late++;
	log_debug("serve: %s: the figures not read in time", p->path);
	ask_probed(p);
}

/*
 * A page that shows servers first asks probed without blocking the loop
 * (prefetch.c); the rest is answered at once.
 */
static void
ask_probed(struct pending *p)
{
	const char	*lb;

	lb = p->path != NULL && strncmp(p->path, "/farm/", 6) == 0 &&
	    p->w->lb_sock[0] != '\0' ? p->w->lb_sock : NULL;
	if (p->path != NULL && route_needs_data(p->w, &p->q) &&
	    p->conn != NULL && (p->pf = prefetch_start(
	    evhttp_connection_get_base(evhttp_request_get_connection(p->req)),
	    p->w->conf->control, strcmp(p->path, "/metrics") == 0, lb,
	    on_prefetched, p)) != NULL) {
		conns_on_gone(p->conn, on_gone, p);
		return;
	}
	answer(p, NULL);
}

/*
 * Route p's request (with probed's answers in pre, or none, and its
 * figures when read) and reply; or, for a graph to draw, have it drawn
 * (draw). Takes p.
 */
static void
answer(struct pending *p, struct web_prefetch *pre)
{
	struct web_resp	 r;

	if (resp_new(&r) == -1) {
		send_500(p);
		pending_free(p);
		return;
	}
	if (p->path == NULL)
		html_error(p->w, &r, 400, "Bad request", "The address could "
		    "not be decoded.");
	else {
		p->w->pre = pre;
		p->w->fig = p->has_fig ? &p->fig : NULL;
		route_request(p->w, &p->q, &r);
		p->w->pre = NULL;
		p->w->fig = NULL;
	}
	if ((p->drawing = r.drawing) != NULL) {
		draw(p, &r);
		return;
	}
	send_reply(p, &r);
	evbuffer_free(r.body);
	pending_free(p);
}

/*
 * p's graph (p->drawing) is not cached: it waits for the same graph's
 * drawing when one is on its way (its leader's: on_drawn answers both,
 * with one image, one cache entry), else it is given to the workers,
 * as the leader of those to come; refused when too many wait. Takes p
 * and r's body.
 */
static void
draw(struct pending *p, struct web_resp *r)
{
	struct pending	*l;

	TAILQ_INIT(&p->followers);
	TAILQ_FOREACH(l, &flights, entry)
		if (graphcache_same(l->drawing, p->drawing))
			break;
	if (l != NULL) {
		p->leader = l;
		TAILQ_INSERT_TAIL(&l->followers, p, entry);
		p->w->graphs_shared++;
	} else if ((p->job = graphworker_submit(p->w->workers,
	    graphcache_ask(p->drawing), on_drawn, p)) != NULL) {
		TAILQ_INSERT_TAIL(&flights, p, entry);
		p->flying = 1;
	} else {
		graphcache_drawn(p->w, p->drawing, GRAPHJOB_BUSY, NULL, r);
		send_reply(p, r);
		evbuffer_free(r->body);
		pending_free(p);
		return;
	}
	conns_on_gone(p->conn, on_gone, p);
	evbuffer_free(r->body);
}

/*
 * Send r as p's reply: a 304 without its body; HEAD with the
 * Content-Length a GET would have and no body (evhttp writes any body it
 * is given, and on a kept-alive connection the client would read it as
 * the next answer).
 */
static void
send_reply(struct pending *p, struct web_resp *r)
{
	struct evhttp_request	*req = p->req;
	char			 len[24];

	if (p->conn != NULL)
		conns_answered(p->conn);
	route_headers(r, add_header, evhttp_request_get_output_headers(req));
	if (r->code != 304 &&
	    evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
		snprintf(len, sizeof(len), "%zu", evbuffer_get_length(r->body));
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Content-Length", len);
	}
	evhttp_send_reply(req, r->code, route_reason(r->code),
	    r->code == 304 || evhttp_request_get_command(req) ==
	    EVHTTP_REQ_HEAD ? NULL : r->body);
}

/*
 * r as f's reply, with a copy of its body (evhttp takes what it sends);
 * 500 when r has no body (no memory for it) or the copy cannot be made.
 */
static void
send_copy(struct pending *f, const struct web_resp *r)
{
	struct web_resp	 c = *r;

	if (r->body == NULL || (c.body = evbuffer_new()) == NULL ||
	    evbuffer_add(c.body, evbuffer_pullup(r->body, -1),
	    evbuffer_get_length(r->body)) == -1)
		send_500(f);
	else
		send_reply(f, &c);
	if (c.body != NULL)
		evbuffer_free(c.body);
}

/* 500 with no page, when there is no memory to make one. */
static void
send_500(struct pending *p)
{
	if (p->req == NULL)
		return;
	if (p->conn != NULL)
		conns_answered(p->conn);
	evhttp_send_error(p->req, 500, NULL);
}

/* p's one teardown (its followers answered or gone already). */
static void
pending_free(struct pending *p)
{
	if (p->flying)
		TAILQ_REMOVE(&flights, p, entry);
	if (p->late != NULL)
		event_free(p->late);
	graphcache_drawing_free(p->drawing);
	free(p->path);
	free(p);
}

/* Probed answered (or did not in time): reply. */
static void
on_prefetched(struct web_prefetch *pre, void *arg)
{
	struct pending	*p = arg;

	p->pf = NULL;
	answer(p, pre);
}

/*
 * p's graph ended (drawn, or why not): cached when drawn, and the reply
 * sent to p, when its client is still there, and to each of its
 * followers. p's end.
 */
static void
on_drawn(enum graphjob_end end, struct graph_image *img, void *arg)
{
	struct pending	*p = arg, *f;
	struct web_resp	 r;

	p->job = NULL;
	if (end == GRAPHJOB_DRAWN)
		p->w->graphs_drawn++;
	if (resp_new(&r) == 0)
		graphcache_drawn(p->w, p->drawing, end, img, &r);
	while ((f = TAILQ_FIRST(&p->followers)) != NULL) {
		TAILQ_REMOVE(&p->followers, f, entry);
		send_copy(f, &r);
		pending_free(f);
	}
	if (r.body == NULL)
		send_500(p);
	else if (p->req != NULL)
		send_reply(p, &r);
	if (r.body != NULL)
		evbuffer_free(r.body);
	pending_free(p);
}

/*
 * The client went away while its figures were read, probed asked or its
 * graph drawn: forget the request. A graph a worker draws already, or
 * that others wait for, is drawn all the same, for the cache and for
 * them, and on_drawn ends p.
 */
static void
on_gone(void *arg)
{
	struct pending	*p = arg;

	prefetch_cancel(p->pf);
	p->pf = NULL;
	if (p->leader != NULL) {
		TAILQ_REMOVE(&p->leader->followers, p, entry);
	} else if (p->job != NULL && p->drawing == NULL) {
		graphworker_forget(p->job);
	} else if (p->job != NULL && (!TAILQ_EMPTY(&p->followers) ||
	    !graphworker_cancel(p->job))) {
		p->req = NULL;
		p->conn = NULL;
		return;
	}
	pending_free(p);
}

/*
 * One request: decode the path; a page that shows figures has a
 * worker read them first (ask_figures), then probed is asked.
 */
static void
on_request(struct evhttp_request *req, void *arg)
{
	struct pending			*p;
	const struct evhttp_uri		*uri;
	const char			*s, *inm;
	struct graph_ask		 a;
	size_t				 len = 0;

	p = xcalloc(1, sizeof(*p));
	p->w = arg;
	p->req = req;
	p->conn = conns_request(conns, req);
	uri = evhttp_request_get_evhttp_uri(req);
	s = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	if (s != NULL && (p->path = evhttp_uridecode(s, 0, &len)) != NULL &&
	    strlen(p->path) != len) {
		free(p->path);
		p->path = NULL;
	}
	p->q.method = method_str(evhttp_request_get_command(req));
	p->q.path = p->path != NULL ? p->path : "";
	p->q.query = uri != NULL && evhttp_uri_get_query(uri) != NULL ?
	    evhttp_uri_get_query(uri) : "";
	inm = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "If-None-Match");
	p->q.if_none_match = inm != NULL ? inm : "";
	p->q.can_wait = p->w->workers != NULL && p->conn != NULL;
	if (p->q.can_wait && p->path != NULL &&
	    route_figures(p->w, &p->q, &a)) {
		ask_figures(p, &a);
		return;
	}
	ask_probed(p);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	event_base_loopexit(arg, NULL);
}

/*
 * SIGHUP: read the config again; on errors keep the one running. The
 * archive store is opened again and tocsin-lb's socket named again (the
 * state folder may have moved), the graph cache emptied, and the graph
 * workers started again (each once its graph is done) with all that.
 */
static void
on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct web		*w = arg;
	struct conf		*nc;
	struct archive_store	*st = NULL;
	char			*errors = NULL;

	(void)sig;
	(void)what;
	if ((nc = conf_load(w->conf_path, &errors)) == NULL) {
		daemon_reload_failed(errors);	/* one a line */
		return;
	}
	free(errors);
	if (!nc->no_archives && (st = archive_store_open(nc->state_dir,
	    nc->rrdcached)) == NULL)
		log_warnx("reload: archives: %s", archive_error());
	if (w->store != NULL)
		archive_store_close(w->store);
	conf_free(w->conf);
	w->conf = nc;
	w->public = w->public_arg || nc->public_page;
	lbstats_path(w);
	w->store = st;
	graphcache_clear(w->cache);
	graphworker_reload(w->workers);
	log_info("reload: %s: %zu servers", w->conf_path, nc->nservers);
}

/*
 * Serve on addr ("host:port", "[v6]:port") until SIGINT or SIGTERM;
 * SIGHUP reads the config again.
 * Returns the exit code.
 */
int
serve_run(struct web *w, const char *addr)
{
	struct event_base	*base;
	struct evhttp		*http;
	struct event		*sigint, *sigterm, *sighup;
	char			 host[256], *colon;
	unsigned long		 port;
	char			*end;
	struct evhttp_bound_socket *bound;
	evutil_socket_t		 fd;
	int			 one = 1;

	if (strlen(addr) >= sizeof(host) || (colon = strrchr(addr, ':')) ==
	    NULL) {
		fprintf(stderr, "tocsin.cgi: --serve wants ADDR:PORT\n");
		return 2;
	}
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = '\0';
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	port = strtoul(colon + 1, &end, 10);
	if (*end != '\0' || colon[1] == '\0' || port > 65535) {
		fprintf(stderr, "tocsin.cgi: --serve: bad port '%s'\n",
		    colon + 1);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if ((base = event_base_new()) == NULL || (http = evhttp_new(base)) ==
	    NULL)
		fatalx("libevent: cannot make the HTTP server");
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD |
	    EVHTTP_REQ_POST | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	    EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH | EVHTTP_REQ_TRACE);
	evhttp_set_max_headers_size(http, SERVE_HEADERS_MAX);
	evhttp_set_max_body_size(http, SERVE_BODY_MAX);
	evhttp_set_timeout(http, SERVE_TIMEOUT_S);
	evhttp_set_gencb(http, on_request, w);
	if ((bound = evhttp_bind_socket_with_handle(http, host,
	    (ev_uint16_t)port)) == NULL) {
		fprintf(stderr, "tocsin.cgi: cannot listen on %s\n", addr);
		evhttp_free(http);
		event_base_free(base);
		return 1;
	}
	/* Accepted sockets inherit it: no 40 ms wait for a delayed ACK
	 * before the end of a reply (Nagle) on keep-alive connections. */
	fd = evhttp_bound_socket_get_fd(bound);
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	conns = conns_new(http, bound);
	w->workers = graphworker_start(base, w);
	sigint = evsignal_new(base, SIGINT, on_signal, base);
	sigterm = evsignal_new(base, SIGTERM, on_signal, base);
	sighup = evsignal_new(base, SIGHUP, on_hup, w);
	event_add(sigint, NULL);
	event_add(sigterm, NULL);
	event_add(sighup, NULL);
	fprintf(stderr, "tocsin.cgi: serving http://%s/\n", addr);
	event_base_dispatch(base);
	graphworker_stop(w->workers);
	w->workers = NULL;
	event_free(sigint);
	event_free(sigterm);
	event_free(sighup);
	evhttp_free(http);
	conns_free(conns);
	event_base_free(base);
	return 0;
}
