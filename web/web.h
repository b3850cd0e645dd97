/*
 * web.h: tocsin.cgi, the status page. One request in (struct web_req),
 * one reply out (struct web_resp), the same in CGI mode (main.c) and on
 * evhttp (serve.c); what is known of the servers in struct web_data.
 */
#ifndef TOCSIN_WEB_H
#define TOCSIN_WEB_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "conf.h"
#include "ctlclient.h"
#include "archive.h"
#include "uptime.h"

#define WEB_PATH_MAX	1024	/* bytes of a path we look at */
#define WEB_QUERY_MAX	1024	/* bytes of a query string */
#define WEB_REFRESH_S	30	/* the pages' meta refresh */
#define WEB_CSP		"default-src 'none'; img-src 'self' data:; " \
			"style-src 'self'; base-uri 'none'; " \
			"form-action 'self'; frame-ancestors 'none'"

#define SUMMARY_POINTS	24	/* hours of latency in a sparkline */
#define SUMMARY_MAX_AGE	60	/* seconds before the summary is redone */

struct archive_store;
struct event_base;
struct graph_drawing;
struct graph_image;
struct graphcache;
struct graphworkers;

/*
 * What one graph draws (graphcache.c): archive ids and each line's
 * label: a server's own archive; in cluster mode one a probe node,
 * ID@NODE, labelled with the node (nodes then set); a farm's members.
 */
struct web_lines {
	const char	**ids;
	const char	**labels;
	char		**nodes;	/* archive_nodes' answer, or NULL */
	char		**bufs;		/* the ID@NODE ids, or NULL */
	size_t		  n;
};
struct summary;
struct web_view;
struct uptime_src;

/* A farm's members as views.c reads them (views_farm_open). */
struct web_farmview {
	struct web_view		*v;		/* a member */
	struct uptime_src	*src;		/* a member */
	const char		**labels;	/* a member: its id */
	size_t			  n;
	const char		**all;		/* every member's archives */
	size_t			  nall;
};

/* A server's figures in the summary; NaN where unknown. */
struct summary_row {
	double		 up1d;			/* percent */
	double		 up30d;			/* percent */
	double		 sla1d;			/* percent, scheduled
						   downtime left out */
	double		 sla30d;		/* percent, likewise */
	double		 lat[SUMMARY_POINTS];	/* ms, oldest hour first */
};

#define WEB_NODES_MAX	32	/* probe nodes a page or /api/vantage
				   shows, the first by name */

/* What a job of figures reads (graph_ask's figures, views_figures). */
#define WEB_FIGURES_UPTIME	1	/* a page's uptime, its nodes named */
#define WEB_FIGURES_VANTAGE	2	/* each node's archive (/api/vantage) */

/* A probe node's archive of a server (cluster mode, ID@NODE). */
struct web_node {
	char		 name[ARCHIVE_ID_MAX];
	int64_t		 last;		/* Unix s of its last update;
					   -1: unreadable */
	int		 rows;		/* rows with a latency, the hour
					   before now (WEB_FIGURES_VANTAGE) */
	double		 latency_ms;	/* the newest of them; NaN: none */
};

/*
 * The figures of a server's page or of a farm's (views_figures), read
 * from the archives: the uptime, and in cluster mode the probe nodes
 * that archive the server (listed through rrdcached when it is remote).
 * In --serve a graph worker reads them, ahead of the page, which the
 * loop must not wait on (rrdcached flushes before a read).
 */
struct web_figures {
	int64_t		 now;		/* Unix s: the spans end here */
	int		 late;		/* 1: not read in time: none */
	int		 have;		/* a server: raw and sla read;
					   a farm: any and all read */
	int		 have_nodes;	/* a server in cluster mode: any
					   and all read from its nodes */
	int		 listed;	/* a server: its nodes were listed */
	struct uptime	 raw[UPTIME_NSPANS];
	struct uptime	 sla[UPTIME_NSPANS];	/* scheduled downtime out */
	struct uptime	 any[UPTIME_NSPANS];	/* some member (node) up */
	struct uptime	 all[UPTIME_NSPANS];	/* every member (node) up */
	size_t		 nnodes;	/* in nodes; none: not cluster mode */
	struct web_node	 nodes[WEB_NODES_MAX];	/* by name */
};

/* What probed answered, asked ahead without blocking (serve.c). */
struct web_prefetch {
	json_t		*status;	/* its status answer, or NULL */
	char		*status_text;	/* or that answer unparsed */
	json_t		*stats;		/* its stats answer, or NULL */
	json_t		*lb;		/* tocsin-lb's stats, or NULL */
	int		 lb_asked;	/* 1: lb was asked (farm pages) */
	char		 why[256];	/* why status is NULL */
};

/* What the program was started with; lives as long as it runs. */
struct web {
	struct conf		*conf;
	struct archive_store	*store;		/* NULL: archives off */
	struct graphcache	*cache;		/* --serve only; else NULL */
	const char		*base;		/* SCRIPT_NAME, "" in --serve */
	const char		*conf_path;	/* to read again on SIGHUP */
	char			 lb_sock[4096];	/* STATE_DIR/lb.sock */
	int			 public;	/* no URL, message: --public,
						   TOCSIN_PUBLIC=1 or
						   set public-page on */
	int			 public_arg;	/* --public or TOCSIN_PUBLIC=1 */
	struct web_prefetch	*pre;		/* set around one request */
	const struct web_figures *fig;		/* set around one request:
						   its page's figures, read
						   ahead (--serve); NULL:
						   read them when needed */
	int			 once;		/* a CGI: one request, then
						   exit (data_keep) */
	unsigned		 graph_workers;	/* --graph-workers */
	unsigned		 graph_timeout_s; /* --graph-timeout */
	struct graphworkers	*workers;	/* --serve: they draw the
						   graphs; else NULL */
	unsigned long long	 graphs_drawn;	/* by the workers */
	unsigned long long	 graphs_shared;	/* requests given another's
						   drawing (serve.c) */
	unsigned long long	 figures_late;	/* pages answered without
						   their uptime figures */
};

/* One request; strings never NULL. path is already %-decoded. */
struct web_req {
	const char	*method;
	const char	*path;
	const char	*query;		/* raw, without '?' */
	const char	*if_none_match;
	int		 can_wait;	/* 1: the reply may come later
					   (web_resp's drawing) */
};

/* One reply. body is an evbuffer the caller made; headers are fixed. */
struct web_resp {
	int		 code;
	const char	*ctype;
	char		 etag[80];	/* "" none; with its quotes */
	char		 cache[64];	/* Cache-Control; "" = no-store */
	char		 allow[32];	/* Allow, for 405; "" none */
	struct evbuffer	*body;
	struct graph_drawing *drawing;	/* set: a graph for a worker to
					   draw; the reply is made by
					   graphcache_drawn */
};

/*
 * One job for a graph worker (graphworker.c): a graph to draw, as
 * graphcache.c asks it, or the uptime figures of a page, as route.c asks
 * them (figures set); a server's, by id, or a farm's, by name. No
 * pointer, so it goes over a socket as it is.
 */
struct graph_ask {
	char		 name[SERVER_ID_MAX + 1];
	int		 farm;		/* 1: name is a farm's */
	int		 figures;	/* WEB_FIGURES_*: the figures
					   (views_figures) up to end;
					   0: a graph */
	int		 svg;		/* 0: PNG */
	int64_t		 start;		/* Unix seconds */
	int64_t		 end;		/* Unix seconds */
	unsigned	 width;		/* plot area, pixels; 0: default */
	unsigned	 height;	/* likewise */
};

/* How a job given to the workers ended (graphworker.c). */
enum graphjob_end {
	GRAPHJOB_DRAWN,		/* here is its image (or its figures) */
	GRAPHJOB_FAILED,	/* librrd drew none (the worker logged why) */
	GRAPHJOB_DIED,		/* its worker died drawing it */
	GRAPHJOB_TIMEOUT,	/* its worker took too long: killed */
	GRAPHJOB_BUSY,		/* the queue was full: not drawn */
	GRAPHJOB_STOPPED,	/* tocsin.cgi stops: not drawn */
};

/*
 * What is known of the servers at this request: from probed ("live") or
 * from the state file probed left. objs[i] is the JSON object `tocsinctl
 * -j status` prints for servers[i].
 */
struct web_data {
	struct ctl_server	*servers;
	size_t			 n;
	json_t			*objs;		/* array, same order */
	json_t			*stats;		/* probed's stats, or NULL */
	int			 live;
	int64_t			 written;	/* state file, Unix s */
	char			 why[256];	/* why not live */
	time_t			 now;
	struct summary		*sum;		/* uptime, sparklines; or NULL */
};

/* route.c */
void	 route_request(struct web *, const struct web_req *,
	    struct web_resp *);
int	 route_needs_data(const struct web *, const struct web_req *);
int	 route_figures(const struct web *, const struct web_req *,
	    struct graph_ask *);
int	 route_query(const char *, const char *, char *, size_t);
const char *route_reason(int);
void	 route_headers(const struct web_resp *,
	    void (*)(void *, const char *, const char *), void *);

/* data.c */
#define DATA_OBJS	1	/* the page shows probed's JSON objects */
#define DATA_STATS	2	/* and its stats */
int	 data_load(struct web *, struct web_data *, int);
const char *data_why(int);
void	 data_free(struct web_data *);
void	 data_keep(struct web_data *);
const struct ctl_server *data_find(const struct web_data *, const char *,
	    json_t **);
int	 data_severity(const char *);

/* html.c */
void	 html_esc(struct evbuffer *, const char *);
void	 html_url(struct evbuffer *, const char *);
void	 html_home(struct evbuffer *, const struct web *);
void	 html_head(struct evbuffer *, struct web *, const char *, int);
void	 html_foot(struct evbuffer *);
void	 html_status_banner(struct evbuffer *, const struct web_data *);
void	 html_ago(char *, size_t, time_t, time_t);
void	 html_time(char *, size_t, time_t);
void	 html_error(struct web *, struct web_resp *, int, const char *,
	    const char *);
const char *html_css(void);
void	 html_graph_img(struct evbuffer *, struct web *, const char *,
	    const char *, const char *, int);
void	 html_figures_late(struct evbuffer *, const struct web *,
	    const struct web_figures *);

/* page_overview.c */
void	 overview_latency(char *, size_t, double);
void	 overview_table(struct evbuffer *, struct web *,
	    const struct web_data *, const char *, int,
	    const struct ctl_server *const *, size_t);
void	 page_overview(struct web *, const struct web_data *, const char *,
	    struct web_resp *);

/* lbstats.c */
void	 lbstats_path(struct web *);
json_t	*lbstats_fetch(struct web *);
void	 lbstats_farm(struct evbuffer *, json_t *, const char *);

/* page_farm.c */
void	 page_farm(struct web *, const struct web_data *,
	    const struct farm_conf *, struct web_resp *);
void	 page_farm_uptime_table(struct evbuffer *, const char *, int,
	    const struct uptime *, const struct uptime *, const char *,
	    const char *);

/* page_server.c */
void	 page_server(struct web *, const struct web_data *,
	    const struct server_conf *, struct web_resp *);

/* api.c */
void	 api_status(struct web *, const struct web_data *, struct web_resp *);
void	 api_server(struct web *, const struct web_data *,
	    const struct server_conf *, struct web_resp *);
void	 api_uptime(struct web *, const struct web_data *,
	    const struct server_conf *, struct web_resp *);
void	 api_vantage(struct web *, const struct web_data *,
	    const struct server_conf *, struct web_resp *);

/* events.c */
void	 events_page(struct web *, const struct web_data *, const char *,
	    int, struct web_resp *);
void	 events_recent(struct evbuffer *, struct web *, const char *, size_t);

/* statusscan.c */
int	 statusscan(const char *, struct ctl_server **, size_t *);

/* deliveries.c */
void	 deliveries_attach(const char *, json_t *);

/* metrics.c */
void	 metrics_page(struct web *, const struct web_data *,
	    struct web_resp *);

/* badge.c */
void	 badge_svg(struct web *, const struct web_data *,
	    const struct server_conf *, const char *, struct web_resp *);

/* graphcache.c */
struct graphcache *graphcache_new(size_t);
void	 graphcache_free(struct graphcache *);
void	 graphcache_clear(struct graphcache *);
void	 graphcache_warm(struct web *);
void	 graphcache_reply(struct web *, const struct server_conf *,
	    const struct farm_conf *, int svg, const char *query,
	    const struct web_req *, struct web_resp *);
int	 graphcache_lines_server(struct web *, const struct server_conf *,
	    struct web_lines *);
void	 graphcache_lines_free(struct web_lines *);
int	 graphcache_draw(struct web *, const struct server_conf *,
	    const struct farm_conf *, const struct graph_ask *,
	    struct graph_image *);
const struct graph_ask *graphcache_ask(const struct graph_drawing *);
void	 graphcache_drawn(struct web *, const struct graph_drawing *,
	    enum graphjob_end, struct graph_image *, struct web_resp *);
void	 graphcache_drawing_free(struct graph_drawing *);
int	 graphcache_same(const struct graph_drawing *,
	    const struct graph_drawing *);

/* graphworker.c */
#define GRAPHWORKER_DEFAULT	2	/* workers */
#define GRAPHWORKER_MAX		16	/* --graph-workers, at most */
#define GRAPHWORKER_TIMEOUT_S	20	/* a graph, at most */
struct graphjob;
typedef void	(*graphjob_cb)(enum graphjob_end, struct graph_image *,
		    void *);
struct graphworkers *graphworker_start(struct event_base *, struct web *);
void	 graphworker_reload(struct graphworkers *);
void	 graphworker_stop(struct graphworkers *);
struct graphjob *graphworker_submit(struct graphworkers *,
	    const struct graph_ask *, graphjob_cb, void *);
int	 graphworker_cancel(struct graphjob *);
void	 graphworker_forget(struct graphjob *);

/* views.c */
struct web_view *views_open(struct web *, const struct server_conf *);
size_t	 views_quorum(const struct conf *, const struct server_conf *,
	    size_t);
int	 views_uptime(struct web *, const struct web_view *, int, time_t,
	    time_t, struct uptime *);
const char *const *views_ids(const struct web_view *, size_t *);
void	 views_close(struct web_view *);
int	 views_spans(struct web *, const struct server_conf *, time_t,
	    struct uptime *, struct uptime *);
void	 views_farm_open(struct web *, const struct farm_conf *,
	    struct web_farmview *);
void	 views_farm_close(struct web_farmview *);
int	 views_farm_spans(struct web *, const struct farm_conf *, time_t,
	    struct uptime *, struct uptime *);
void	 views_figures(struct web *, const struct server_conf *,
	    const struct farm_conf *, int, time_t, struct web_figures *);
const struct web_figures *views_page_figures(struct web *,
	    const struct server_conf *, const struct farm_conf *, int, time_t,
	    struct web_figures *);

/* summary.c */
struct summary *summary_load(struct web *, time_t);
const struct summary_row *summary_get(const struct summary *, const char *);
void	 summary_free(struct summary *);
int	 summary_write(struct web *);
void	 summary_sparkline(struct evbuffer *, const struct summary_row *);

/* prefetch.c */
struct prefetch;
typedef void	(*prefetch_cb)(struct web_prefetch *, void *);
struct prefetch *prefetch_start(struct event_base *, const char *, int,
	    const char *, prefetch_cb, void *);
void	 prefetch_cancel(struct prefetch *);

/* conns.c */
struct conn;
struct conns;
struct evhttp;
struct evhttp_bound_socket;
struct evhttp_request;
struct conns	*conns_new(struct evhttp *, struct evhttp_bound_socket *);
void		 conns_free(struct conns *);
struct conn	*conns_request(struct conns *, struct evhttp_request *);
void		 conns_on_gone(struct conn *, void (*)(void *), void *);
void		 conns_answered(struct conn *);

/* serve.c */
int	 serve_run(struct web *, const char *);

#endif
