/*
 * metrics.c: "/metrics", Prometheus text format 0.0.4: one HELP and TYPE
 * per metric, counters ending in _total, label values escaped.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "conf.h"
#include "web.h"

static void	 label(struct evbuffer *, const char *);
static void	 server_labels(struct evbuffer *, struct web *,
		    const struct ctl_server *);
static void	 head(struct evbuffer *, const char *, const char *,
		    const char *);
static void	 per_server(struct evbuffer *, struct web *,
		    const struct web_data *, const char *, const char *,
		    const char *, int);
static double	 value(const struct ctl_server *, json_t *, int, time_t);
static double	 num(json_t *, const char *, double);
static void	 serve_counts(struct evbuffer *, const struct web *);

enum what {
	M_UP, M_STATE, M_LATENCY, M_LAST, M_CHECKS, M_FAILURES, M_ACKED,
	M_DOWNTIME, M_FLAPPING, M_DNS, M_CONNECT, M_TLS, M_FIRSTBYTE,
	M_CERT_DAYS,
};

/* A label value: \ " and line feed escaped, nothing else touched. */
static void
label(struct evbuffer *b, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			evbuffer_add(b, "\\\\", 2);
		else if (*s == '"')
			evbuffer_add(b, "\\\"", 2);
		else if (*s == '\n')
			evbuffer_add(b, "\\n", 2);
		else
			evbuffer_add(b, s, 1);
	}
}

static void
head(struct evbuffer *b, const char *name, const char *type,
    const char *help)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help,
	    name, type);
}

/* o's number under key times scale; NAN when it is null or absent. */
static double
num(json_t *o, const char *key, double scale)
{
	json_t	*v = json_object_get(o, key);

	return json_is_number(v) ? json_number_value(v) * scale : NAN;
}

/*
 * tocsin.cgi --serve's own counters (a CGI, one request, has none): the
 * graph workers' work, and what spared or was late for it.
 */
static void
serve_counts(struct evbuffer *b, const struct web *w)
{
	const struct {
		const char		*name, *help;
		unsigned long long	 v;
	} c[] = {
		{ "tocsin_web_graphs_drawn_total", "Graphs the graph workers "
		    "drew.", w->graphs_drawn },
		{ "tocsin_web_graphs_shared_total", "Graph requests answered "
		    "with the drawing of the same graph asked just before.",
		    w->graphs_shared },
		{ "tocsin_web_uptime_late_total", "Pages answered without "
		    "the figures they read from the archives (uptime, or "
		    "/api/vantage's probe nodes): not read in time, the queue "
		    "full, or the worker failed.",
		    w->figures_late },
	};
	size_t	i;

	if (w->workers == NULL)
		return;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		head(b, c[i].name, "counter", c[i].help);
		evbuffer_add_printf(b, "%s %llu\n", c[i].name, c[i].v);
	}
}

/* The value of one metric for one server; NAN when there is none. */
static double
value(const struct ctl_server *s, json_t *o, int what, time_t now)
{
	json_t	*v;

	switch (what) {
	case M_UP:
		return strcmp(s->state, "up") == 0;
	case M_LATENCY:
		return s->latency_ms < 0 ? NAN : s->latency_ms / 1000.0;
	case M_LAST:
		return s->last_check > 0 ? (double)s->last_check : NAN;
	case M_CHECKS:
	case M_FAILURES:
		v = json_object_get(o, what == M_CHECKS ? "checks" :
		    "failures");
		return json_is_integer(v) ? (double)json_integer_value(v) :
		    NAN;
	case M_ACKED:
		return s->acked;
	case M_DOWNTIME:
		return s->downtime_until > 0;
	case M_FLAPPING:
		return s->flapping;
	case M_DNS:
		return num(o, "dns_ms", 1e-3);
	case M_CONNECT:
		return num(o, "connect_ms", 1e-3);
	case M_TLS:
		return num(o, "tls_ms", 1e-3);
	case M_FIRSTBYTE:
		return num(o, "firstbyte_ms", 1e-3);
	case M_CERT_DAYS:
		return num(o, "cert_not_after", 1) - (double)now;
	}
	return NAN;
}

/*
 * The labels every per-server sample starts with: id="ID",farm="FARM"
 * ("" outside farms),kind="KIND".
 */
static void
server_labels(struct evbuffer *b, struct web *w, const struct ctl_server *s)
{
	const struct server_conf	*sc;

	sc = conf_find_server(w->conf, s->id);
	evbuffer_add_printf(b, "id=\"");
	label(b, s->id);
	evbuffer_add_printf(b, "\",farm=\"");
	label(b, sc != NULL && sc->farm != NULL ? sc->farm->name : "");
	evbuffer_add_printf(b, "\",kind=\"");
	label(b, s->kind);
	evbuffer_add_printf(b, "\"");
}

/* One metric, a sample per server that has a value. */
static void
per_server(struct evbuffer *b, struct web *w, const struct web_data *d,
    const char *name, const char *type, const char *help, int what)
{
	size_t	 i;
	double	 v;

	head(b, name, type, help);
	for (i = 0; i < d->n; i++) {
		v = value(&d->servers[i], json_array_get(d->objs, i), what,
		    d->now);
		if (isnan(v))
			continue;
		evbuffer_add_printf(b, "%s{", name);
		server_labels(b, w, &d->servers[i]);
		evbuffer_add_printf(b, "} %.17g\n", v);
	}
}

/*
 * The uptime of each server over 1 and 30 days as a ratio (0 to 1), raw
 * or sla (scheduled downtime left out), from the summary file the
 * overview uses: none for a server it has no figure of yet.
 */
static void
uptime(struct evbuffer *b, struct web *w, const struct web_data *d,
    const char *name, const char *help, int sla)
{
	const struct summary_row	*row;
	size_t				 i, k;
	double				 v;

	head(b, name, "gauge", help);
	for (i = 0; i < d->n; i++) {
		if ((row = summary_get(d->sum, d->servers[i].id)) == NULL)
			continue;
		for (k = 0; k < 2; k++) {
			v = k == 0 ? (sla ? row->sla1d : row->up1d) :
			    (sla ? row->sla30d : row->up30d);
			if (isnan(v))
				continue;
			evbuffer_add_printf(b, "%s{", name);
			server_labels(b, w, &d->servers[i]);
			evbuffer_add_printf(b, ",span=\"%s\"} %.17g\n",
			    k == 0 ? "1d" : "30d", v / 100.0);
		}
	}
}

void
metrics_page(struct web *w, const struct web_data *d, struct web_resp *r)
{
	static const char *const st[] = { "up", "degraded", "down",
	    "unknown" };
	struct evbuffer	*b = r->body;
	json_t		*v;
	size_t		 i, k;

	r->ctype = "text/plain; version=0.0.4; charset=utf-8";
	head(b, "tocsin_probed_running", "gauge",
	    "1 when tocsin-probed answered, 0 when this is its state file.");
	evbuffer_add_printf(b, "tocsin_probed_running %d\n", d->live);
	per_server(b, w, d, "tocsin_server_up", "gauge",
	    "1 when the server's state is up.", M_UP);
	head(b, "tocsin_server_state", "gauge",
	    "1 for the server's current state, 0 for the others.");
	for (i = 0; i < d->n; i++)
		for (k = 0; k < sizeof(st) / sizeof(st[0]); k++) {
			evbuffer_add_printf(b, "tocsin_server_state{");
			server_labels(b, w, &d->servers[i]);
			evbuffer_add_printf(b, ",state=\"%s\"} %d\n", st[k],
			    strcmp(d->servers[i].state, st[k]) == 0);
		}
	per_server(b, w, d, "tocsin_server_latency_seconds", "gauge",
	    "The last check's total time.", M_LATENCY);
	per_server(b, w, d, "tocsin_server_dns_seconds", "gauge",
	    "When the last check's name lookup ended, from its start.", M_DNS);
	per_server(b, w, d, "tocsin_server_connect_seconds", "gauge",
	    "When the last check's connection was made, from its start.",
	    M_CONNECT);
	per_server(b, w, d, "tocsin_server_tls_seconds", "gauge",
	    "When the last check's TLS handshake ended, from its start.",
	    M_TLS);
	per_server(b, w, d, "tocsin_server_first_byte_seconds", "gauge",
	    "When the last check's first byte came, from its start.",
	    M_FIRSTBYTE);
	per_server(b, w, d, "tocsin_server_certificate_expires_in_seconds",
	    "gauge", "Until the peer certificate the last TLS check saw "
	    "ends (86400 a day).", M_CERT_DAYS);
	per_server(b, w, d, "tocsin_server_last_check_timestamp_seconds",
	    "gauge", "When the last result came, Unix time.", M_LAST);
	per_server(b, w, d, "tocsin_server_checks_total", "counter",
	    "Results seen.", M_CHECKS);
	per_server(b, w, d, "tocsin_server_failures_total", "counter",
	    "Results that were not ok.", M_FAILURES);
	per_server(b, w, d, "tocsin_server_acknowledged", "gauge",
	    "1 while the server's problem is acknowledged.", M_ACKED);
	per_server(b, w, d, "tocsin_server_in_downtime", "gauge",
	    "1 while a downtime runs.", M_DOWNTIME);
	per_server(b, w, d, "tocsin_server_flapping", "gauge",
	    "1 while the server flaps.", M_FLAPPING);
	uptime(b, w, d, "tocsin_server_uptime_ratio", "Time up over the "
	    "span, from the archive (1 is always up).", 0);
	uptime(b, w, d, "tocsin_server_sla_uptime_ratio", "Time up over the "
	    "span with scheduled downtime left out.", 1);
	serve_counts(b, w);
	if (d->stats == NULL)
		return;
	if (json_is_integer(v = json_object_get(d->stats, "checks"))) {
		head(b, "tocsin_probed_checks_total", "counter",
		    "Checks finished since tocsin-probed started.");
		evbuffer_add_printf(b, "tocsin_probed_checks_total %lld\n",
		    (long long)json_integer_value(v));
	}
	if (json_is_number(v = json_object_get(d->stats,
	    "lateness_p99_ms"))) {
		head(b, "tocsin_probed_check_lateness_p99_seconds", "gauge",
		    "How late scheduled checks started, 99th percentile.");
		evbuffer_add_printf(b, "tocsin_probed_check_lateness_p99_"
		    "seconds %.17g\n", json_number_value(v) / 1000.0);
	}
	if (json_is_number(v = json_object_get(d->stats,
	    "lateness_max_ms"))) {
		head(b, "tocsin_probed_check_lateness_max_seconds", "gauge",
		    "How late scheduled checks started, the most.");
		evbuffer_add_printf(b, "tocsin_probed_check_lateness_max_"
		    "seconds %.17g\n", json_number_value(v) / 1000.0);
	}
	if (json_is_integer(v = json_object_get(d->stats,
	    "archive_dropped"))) {
		head(b, "tocsin_probed_archive_dropped_total", "counter",
		    "Samples the archive writer dropped.");
		evbuffer_add_printf(b, "tocsin_probed_archive_dropped_total "
		    "%lld\n", (long long)json_integer_value(v));
	}
}
