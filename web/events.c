/*
 * events.c: "/events" and "/api/events": the hard state changes still in
 * probed's spool (STATE_DIR/spool/SEQ.json), newest first, PAGE_EVENTS a
 * page, filterable by server, paged by ?before=SEQ. Only names of 20
 * digits and ".json" are read, each at most EVENT_FILE_MAX bytes, and at
 * most SCAN_MAX of the newest are looked at: a request stays bounded
 * whatever the spool holds. tocsin-pager deletes delivered events, so
 * this is what it has not delivered yet, or everything when no pager runs.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "conf.h"
#include "web.h"

#define PAGE_EVENTS	50
#define SCAN_MAX	100000	/* spool names looked at, newest kept */
#define EVENT_FILE_MAX	4096	/* bytes of one event file */

static int	 cmp_desc(const void *, const void *);
static int	 seq_name(const char *, unsigned long long *);
static json_t	*read_event(const char *, unsigned long long);
static json_t	*collect(struct web *, const char *, unsigned long long,
		    size_t, unsigned long long *);
static void	 table(struct evbuffer *, struct web *, json_t *,
		    const char *);
static int	 params(struct web *, const char *, char *, size_t,
		    unsigned long long *, struct web_resp *);

static int
cmp_desc(const void *a, const void *b)
{
	unsigned long long x = *(const unsigned long long *)a;
	unsigned long long y = *(const unsigned long long *)b;

	return x < y ? 1 : x > y ? -1 : 0;
}

/* 1 with *seq when name is 20 digits and ".json". */
static int
seq_name(const char *name, unsigned long long *seq)
{
	size_t	i;

	if (strlen(name) != 25 || strcmp(name + 20, ".json") != 0)
		return 0;
	for (i = 0; i < 20; i++)
		if (name[i] < '0' || name[i] > '9')
			return 0;
	*seq = strtoull(name, NULL, 10);
	return 1;
}

/* One event file, parsed; NULL when it is gone or not an event. */
static json_t *
read_event(const char *dir, unsigned long long seq)
{
	char		 path[PATH_MAX + 32], buf[EVENT_FILE_MAX + 1];
	ssize_t		 n;
	int		 fd;
	json_t		*j;

	if (snprintf(path, sizeof(path), "%s/%020llu.json", dir, seq) >=
	    (int)sizeof(path))
		return NULL;
	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) == -1)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	if ((j = json_loads(buf, 0, NULL)) == NULL || !json_is_object(j) ||
	    !json_is_string(json_object_get(j, "id"))) {
		json_decref(j);
		return NULL;
	}
	return j;
}

/*
 * The events of id (NULL: all) with seq below before (0: any), newest
 * first, max at most, as an array; *next gets the seq to ask
 * before for the next page, 0 when there is none.
 */
static json_t *
collect(struct web *w, const char *id, unsigned long long before,
    size_t max, unsigned long long *next)
{
	char			 dir[PATH_MAX];
	DIR			*d;
	struct dirent		*de;
	unsigned long long	*seqs, s;
	size_t			 n = 0, i;
	json_t			*arr, *e;

	*next = 0;
	arr = json_array();
	snprintf(dir, sizeof(dir), "%s/spool", w->conf->state_dir);
	if ((d = opendir(dir)) == NULL)
		return arr;
	seqs = calloc(SCAN_MAX, sizeof(*seqs));
	while (seqs != NULL && (de = readdir(d)) != NULL) {
		if (!seq_name(de->d_name, &s) || (before != 0 && s >= before))
			continue;
		if (n == SCAN_MAX) {
			/* Full: keep the newer half; the newest stay. */
			qsort(seqs, n, sizeof(*seqs), cmp_desc);
			n = SCAN_MAX / 2;
		}
		seqs[n++] = s;
	}
	closedir(d);
	if (seqs == NULL)
		return arr;
	qsort(seqs, n, sizeof(*seqs), cmp_desc);
	for (i = 0; i < n; i++) {
		if (json_array_size(arr) == max) {
			*next = seqs[i - 1];
			break;
		}
		if ((e = read_event(dir, seqs[i])) == NULL)
			continue;
		if (id != NULL && strcmp(json_string_value(json_object_get(e,
		    "id")), id) != 0) {
			json_decref(e);
			continue;
		}
		if (w->public)
			json_object_del(e, "message");
		json_array_append_new(arr, e);
	}
	free(seqs);
	return arr;
}

/* The query's server and before; -1 after a 400 or 404 page. */
static int
params(struct web *w, const char *query, char *id, size_t idlen,
    unsigned long long *before, struct web_resp *r)
{
	char	 b[24];
	char	*end;
	int	 h;

	*before = 0;
	if ((h = route_query(query, "server", id, idlen)) == -1 ||
	    route_query(query, "before", b, sizeof(b)) == -1) {
		html_error(w, r, 400, "Bad request", "server is a server id, "
		    "before an event number.");
		return -1;
	}
	if (b[0] != '\0') {
		errno = 0;
		*before = strtoull(b, &end, 10);
		if (*end != '\0' || errno != 0 || b[0] < '0' || b[0] > '9') {
			html_error(w, r, 400, "Bad request", "before is an "
			    "event number.");
			return -1;
		}
	}
	if (h == 1 && conf_find_server(w->conf, id) == NULL) {
		html_error(w, r, 404, "No such server", "No server by that "
		    "id in the config.");
		return -1;
	}
	return 0;
}

void
events_page(struct web *w, const struct web_data *d, const char *query,
    int json, struct web_resp *r)
{
	char			 id[SERVER_ID_MAX + 1];
	unsigned long long	 before, next;
	json_t			*arr;
	char			*s;

	if (params(w, query, id, sizeof(id), &before, r) == -1)
		return;
	arr = collect(w, id[0] != '\0' ? id : NULL, before, PAGE_EVENTS,
	    &next);
	if (json) {
		r->ctype = "application/json";
		s = json_dumps(arr, JSON_COMPACT);
		if (s != NULL) {
			evbuffer_add(r->body, s, strlen(s));
			evbuffer_add(r->body, "\n", 1);
		}
		free(s);
		json_decref(arr);
		return;
	}
	r->ctype = "text/html; charset=utf-8";
	html_head(r->body, w, "Events", WEB_REFRESH_S);
	html_status_banner(r->body, d);
	evbuffer_add_printf(r->body, "<h1>Events");
	if (id[0] != '\0') {
		evbuffer_add_printf(r->body, " of ");
		html_esc(r->body, id);
	}
	evbuffer_add_printf(r->body, "</h1><p class=\"muted\">State changes "
	    "still in the spool, newest first; tocsin-pager removes those it "
	    "delivered.</p>\n");
	table(r->body, w, arr, "events");
	if (json_array_size(arr) == 0)
		evbuffer_add_printf(r->body, "<p class=\"muted\">No events."
		    "</p>");
	if (next != 0) {
		evbuffer_add_printf(r->body, "<p><a id=\"older\" href=\"");
		html_url(r->body, w->base);
		evbuffer_add_printf(r->body, "/events?before=%llu", next);
		if (id[0] != '\0') {
			evbuffer_add_printf(r->body, "&amp;server=");
			html_url(r->body, id);
		}
		evbuffer_add_printf(r->body, "\">older</a></p>");
	}
	html_foot(r->body);
	json_decref(arr);
}

/* Events (an array of spool objects) as a table with this id. */
static void
table(struct evbuffer *b, struct web *w, json_t *arr, const char *tid)
{
	const char	*eid, *msg;
	char		 when[32];
	json_t		*e;
	size_t		 i;

	evbuffer_add_printf(b, "<table id=\"%s\"><thead><tr><th>time</th>"
	    "<th>server</th><th>change</th>%s</tr></thead><tbody>\n", tid,
	    w->public ? "" : "<th class=\"wide\">message</th>");
	json_array_foreach(arr, i, e) {
		html_time(when, sizeof(when), (time_t)json_integer_value(
		    json_object_get(e, "time")));
		eid = json_string_value(json_object_get(e, "id"));
		evbuffer_add_printf(b, "<tr><td>%s</td><td><a href=\"",
		    when);
		html_url(b, w->base);
		evbuffer_add_printf(b, "/server/");
		html_url(b, eid);
		evbuffer_add_printf(b, "\">");
		html_esc(b, eid);
		evbuffer_add_printf(b, "</a></td><td>");
		html_esc(b, json_string_value(json_object_get(e,
		    "old")) != NULL ? json_string_value(json_object_get(e,
		    "old")) : "?");
		evbuffer_add_printf(b, " &rarr; ");
		html_esc(b, json_string_value(json_object_get(e,
		    "new")) != NULL ? json_string_value(json_object_get(e,
		    "new")) : "?");
		if (json_is_true(json_object_get(e, "downtime")))
			evbuffer_add_printf(b, " <span class=\"tag\">"
			    "downtime</span>");
		if (json_is_true(json_object_get(e, "acked")))
			evbuffer_add_printf(b, " <span class=\"tag\">"
			    "acked</span>");
		if (json_is_true(json_object_get(e, "flapping")))
			evbuffer_add_printf(b, " <span class=\"tag\">"
			    "flapping</span>");
		if (json_is_true(json_object_get(e, "unreachable")))
			evbuffer_add_printf(b, " <span class=\"tag\">"
			    "unreachable</span>");
		evbuffer_add_printf(b, "</td>");
		if (!w->public) {
			msg = json_string_value(json_object_get(e, "message"));
			evbuffer_add_printf(b, "<td class=\"msg wide\">");
			html_esc(b, msg != NULL ? msg : "");
			evbuffer_add_printf(b, "</td>");
		}
		evbuffer_add_printf(b, "</tr>\n");
	}
	evbuffer_add_printf(b, "</tbody></table>\n");
}

/*
 * The newest max events of one server as a table (id "recent-events"),
 * with the same bounds as /events; "No events." when the spool has none.
 */
void
events_recent(struct evbuffer *b, struct web *w, const char *id, size_t max)
{
	unsigned long long	 next;
	json_t			*arr;

	arr = collect(w, id, 0, max, &next);
	if (json_array_size(arr) > 0)
		table(b, w, arr, "recent-events");
	else
		evbuffer_add_printf(b, "<p class=\"muted\" id=\"recent-events\">"
		    "No events in the spool.</p>");
	json_decref(arr);
}
