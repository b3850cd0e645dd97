/*
 * lbstats.c: what tocsin-lb says of a farm, on the farm page: its
 * `stats` answer on STATE_DIR/lb.sock (tocsin-lb(8), CONTROL SOCKET; the
 * same `tocsinctl lb-stats` prints). As a CGI it is asked here, LB_WAIT_MS
 * at most; --serve has it asked ahead without blocking (prefetch.c). No
 * balancer, or none for this farm, is no section.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "ctlclient.h"
#include "paths.h"
#include "web.h"

#define LB_WAIT_MS	1000	/* a CGI waits for tocsin-lb at most */

static json_t	*ask(const char *);
static long long num(json_t *, const char *);

/* tocsin-lb's stats answer at path, or NULL. Blocks LB_WAIT_MS at most
 * for each step. */
static json_t *
ask(const char *path)
{
	json_t	*j = NULL;
	char	*line = NULL;
	int	 fd;

	if ((fd = ctlclient_connect_timeout(path, LB_WAIT_MS)) == -1)
		return NULL;
	if (ctlclient_send(fd, "stats", LB_WAIT_MS) == 0 &&
	    ctlclient_readline(fd, LB_WAIT_MS, &line) == 1 &&
	    ctlclient_parse(line, &j, NULL, 0) != CTL_LINE_OK) {
		json_decref(j);
		j = NULL;
	}
	free(line);
	close(fd);
	return j;
}

/*
 * w->lb_sock from w->conf's state folder: at start and on each SIGHUP
 * (the folder may have moved). A path too long is none.
 */
void
lbstats_path(struct web *w)
{
	if ((size_t)snprintf(w->lb_sock, sizeof(w->lb_sock), "%s/%s",
	    w->conf->state_dir, PATH_LB_SOCKET) >= sizeof(w->lb_sock))
		w->lb_sock[0] = '\0';
}

/*
 * tocsin-lb's stats for this request (a reference: json_decref it), or
 * NULL when it does not run or did not answer in time. --serve never
 * asks here: it takes what prefetch.c asked ahead.
 */
json_t *
lbstats_fetch(struct web *w)
{
	if (w->public)
		return NULL;
	if (w->pre != NULL)
		return json_incref(w->pre->lb);
	if (w->cache != NULL)	/* --serve without an answer ahead */
		return NULL;
	return w->lb_sock[0] != '\0' ? ask(w->lb_sock) : NULL;
}

static long long
num(json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

/*
 * The balancer's figures of farm name from stats (may be NULL) as a
 * section with id "balancer": totals, then a row a server; nothing when
 * tocsin-lb does not balance that farm.
 */
void
lbstats_farm(struct evbuffer *b, json_t *stats, const char *name)
{
	json_t		*f = NULL, *s;
	const char	*v;
	size_t		 i;

	json_array_foreach(json_object_get(stats, "farms"), i, f)
		if ((v = json_string_value(json_object_get(f, "name"))) !=
		    NULL && strcmp(v, name) == 0)
			break;
	if (f == NULL || i == json_array_size(json_object_get(stats,
	    "farms")))
		return;
	evbuffer_add_printf(b, "<h2>balancer</h2><p id=\"balancer\">"
	    "tocsin-lb, ");
	html_esc(b, json_string_value(json_object_get(f, "balance")) != NULL ?
	    json_string_value(json_object_get(f, "balance")) : "?");
	evbuffer_add_printf(b, ": <b id=\"lb-clients\">%lld</b> clients, "
	    "<b id=\"lb-rejected\">%lld</b> rejected, %lld queued now, %lld "
	    "since start.</p>\n<table id=\"lb-servers\"><thead><tr>"
	    "<th>server</th><th>state</th><th class=\"num\">share</th>"
	    "<th class=\"num\">in flight</th>"
	    "<th class=\"num wide\">connections</th>"
	    "<th class=\"num\">requests</th><th class=\"num\">errors</th>"
	    "<th class=\"num\">response</th></tr></thead><tbody>\n",
	    num(f, "clients"), num(f, "rejected"), num(f, "queued"),
	    num(f, "queued_total"));
	json_array_foreach(json_object_get(f, "servers"), i, s) {
		evbuffer_add_printf(b, "<tr><td class=\"id\">");
		html_esc(b, json_string_value(json_object_get(s, "id")) !=
		    NULL ? json_string_value(json_object_get(s, "id")) : "?");
		evbuffer_add_printf(b, "</td><td>");
		html_esc(b, json_string_value(json_object_get(s, "state")) !=
		    NULL ? json_string_value(json_object_get(s, "state")) :
		    "?");
		evbuffer_add_printf(b, "</td><td class=\"num\">%.0f%%</td>"
		    "<td class=\"num\">%lld</td><td class=\"num wide\">%lld"
		    "</td><td class=\"num lb-requests\">%lld</td>"
		    "<td class=\"num\">%lld</td><td class=\"num\">%.1f ms</td>"
		    "</tr>\n", 100 * json_number_value(json_object_get(s,
		    "share")), num(s, "inflight"), num(s, "connections"),
		    num(s, "requests"), num(s, "errors"),
		    json_number_value(json_object_get(s, "rt_ms")));
	}
	evbuffer_add_printf(b, "</tbody></table>\n");
}
