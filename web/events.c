/*
 * events.c: "/events" and "/api/events": the hard state changes, newest
 * first, PAGE_EVENTS a page, filterable by server, paged by ?before=SEQ.
 * They come from the bounded history tocsin-probed keeps
 * (STATE_DIR/history.jsonl and history.1.jsonl, lib/history.c) merged by
 * sequence number with what is still in its spool (STATE_DIR/spool/
 * SEQ.json), so events tocsin-pager delivered and deleted are still
 * shown, and one the history lacks (written before it, or lost in a
 * crash between the spool and the history) too while it is spooled.
 * Each event carries "paged": what tocsin-pager holds of its deliveries
 * (deliveries.c). Only spool names of 20 digits and ".json" are read,
 * each at most EVENT_FILE_MAX bytes, at most SCAN_MAX of the newest, and
 * the history at most HISTORY_READ_MAX bytes a file: a request stays
 * bounded whatever the folder holds.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "conf.h"
#include "history.h"
#include "web.h"

#define PAGE_EVENTS	50
#define SCAN_MAX	100000	/* spool names looked at, newest kept */
#define EVENT_FILE_MAX	4096	/* bytes of one event file */

/* One event known by number: its history line, or NULL: in the spool. */
struct ref {
	unsigned long long	 seq;
	const char		*line;	/* NUL-ended line of the history */
};

static int	 cmp_desc(const void *, const void *);
static int	 seq_name(const char *, unsigned long long *);
static json_t	*read_event(const char *, unsigned long long);
static size_t	 push_ref(struct ref **, size_t, size_t *,
		    unsigned long long, const char *);
static size_t	 history_refs(char *, struct ref **, size_t *);
static json_t	*parse_line(const char *);
static size_t	 spool_refs(const char *, unsigned long long, struct ref **,
		    size_t *, size_t);
static json_t	*collect(struct web *, const char *, unsigned long long,
		    size_t, unsigned long long *);
static void	 table(struct evbuffer *, struct web *, json_t *,
		    const char *);
static void	 paged_cell(struct evbuffer *, json_t *);
static int	 params(struct web *, const char *, char *, size_t,
		    unsigned long long *, struct web_resp *);

/* By number, newest first; a history line before a spool file. */
static int
cmp_desc(const void *a, const void *b)
{
	const struct ref *x = a, *y = b;

	if (x->seq != y->seq)
		return x->seq < y->seq ? 1 : -1;
	return (x->line == NULL) - (y->line == NULL);
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

/* Append r to *refs (n used, *cap allocated); the new n. */
static size_t
push_ref(struct ref **refs, size_t n, size_t *cap, unsigned long long seq,
    const char *line)
{
	if (n == *cap) {
		*cap = *cap == 0 ? 1024 : *cap * 2;
		*refs = reallocarray(*refs, *cap, sizeof(**refs));
		if (*refs == NULL)
			abort();
	}
	(*refs)[n].seq = seq;
	(*refs)[n].line = line;
	return n + 1;
}

/* The history's lines (text cut into lines here) as refs; the new n. */
static size_t
history_refs(char *text, struct ref **refs, size_t *cap)
{
	unsigned long long	 seq;
	char			*line, *next, *end;
	size_t			 n = 0;

	for (line = text; *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) == NULL)
			break;
		*next++ = '\0';
		if (strncmp(line, "{\"seq\":", 7) != 0)
			continue;
		errno = 0;
		seq = strtoull(line + 7, &end, 10);
		if (errno != 0 || end == line + 7 || *end != ',')
			continue;
		n = push_ref(refs, n, cap, seq, line);
	}
	return n;
}

/* The spool's numbers below before (0: any) as refs after n; the new n.
 * At most SCAN_MAX of the newest. */
static size_t
spool_refs(const char *dir, unsigned long long before, struct ref **refs,
    size_t *cap, size_t n)
{
	DIR			*d;
	struct dirent		*de;
	unsigned long long	 s;
	size_t			 first = n;

	if ((d = opendir(dir)) == NULL)
		return n;
	while ((de = readdir(d)) != NULL) {
		if (!seq_name(de->d_name, &s) || (before != 0 && s >= before))
			continue;
		if (n - first == SCAN_MAX) {
			/* Full: keep the newer half; the newest stay. */
			qsort(*refs + first, n - first, sizeof(**refs),
			    cmp_desc);
			n = first + SCAN_MAX / 2;
		}
		n = push_ref(refs, n, cap, s, NULL);
	}
	closedir(d);
	return n;
}

/* A history line's event, parsed; NULL when it is not one. */
static json_t *
parse_line(const char *line)
{
	json_t	*j;

	if ((j = json_loads(line, 0, NULL)) == NULL || !json_is_object(j) ||
	    !json_is_string(json_object_get(j, "id"))) {
		json_decref(j);
		return NULL;
	}
	return j;
}

/*
 * The events of id (NULL: all) with seq below before (0: any), newest
 * first, max at most, as an array, each with what was paged; *next gets
 * the seq to ask before for the next page, 0 when no older event of id
 * is left.
 */
static json_t *
collect(struct web *w, const char *id, unsigned long long before,
    size_t max, unsigned long long *next)
{
	unsigned long long	 last = 0;
	char			 dir[PATH_MAX];
	struct ref		*refs = NULL;
	size_t			 n, cap = 0, i, len;
	char			*text;
	json_t			*arr, *e;

	*next = 0;
	arr = json_array();
	text = history_load(w->conf->state_dir, &len);
	n = text != NULL ? history_refs(text, &refs, &cap) : 0;
	snprintf(dir, sizeof(dir), "%s/spool", w->conf->state_dir);
	n = spool_refs(dir, before, &refs, &cap, n);
	if (n > 0)
		qsort(refs, n, sizeof(*refs), cmp_desc);
	for (i = 0; i < n; i++) {
		if ((before != 0 && refs[i].seq >= before) ||
		    (i > 0 && refs[i].seq == refs[i - 1].seq))
			continue;
		e = refs[i].line != NULL ? parse_line(refs[i].line) :
		    read_event(dir, refs[i].seq);
		if (e == NULL)
			continue;
		if (id != NULL && strcmp(json_string_value(json_object_get(e,
		    "id")), id) != 0) {
			json_decref(e);
			continue;
		}
		if (json_array_size(arr) == max) {
			/* An older event of id: there is a next page. */
			json_decref(e);
			*next = last;
			break;
		}
		if (w->public)
			json_object_del(e, "message");
		json_array_append_new(arr, e);
		last = refs[i].seq;
	}
	free(refs);
	free(text);
	if (!w->public)
		deliveries_attach(w->conf->state_dir, arr);
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
	evbuffer_add_printf(r->body, "</h1><p class=\"muted\">State changes, "
	    "newest first, with what tocsin-pager paged for them while it "
	    "still holds the delivery.</p>\n");
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

/*
 * What was paged for an event: "CONTACT by CHANNEL: STATE" a line, the
 * address and last error in the title; "-" when the pager holds nothing.
 */
static void
paged_cell(struct evbuffer *b, json_t *paged)
{
	const char	*to, *err;
	json_t		*p;
	size_t		 i;

	if (json_array_size(paged) == 0) {
		evbuffer_add_printf(b, "-");
		return;
	}
	json_array_foreach(paged, i, p) {
		to = json_string_value(json_object_get(p, "to"));
		err = json_string_value(json_object_get(p, "error"));
		evbuffer_add_printf(b, "<div class=\"page\" title=\"");
		html_esc(b, to != NULL ? to : "");
		if (err != NULL && err[0] != '\0') {
			evbuffer_add_printf(b, ": ");
			html_esc(b, err);
		}
		evbuffer_add_printf(b, "\">");
		html_esc(b, json_string_value(json_object_get(p, "contact")));
		evbuffer_add_printf(b, " by ");
		html_esc(b, json_string_value(json_object_get(p, "channel")));
		evbuffer_add_printf(b, ": <span class=\"pg-");
		html_esc(b, json_string_value(json_object_get(p, "state")));
		evbuffer_add_printf(b, "\">");
		html_esc(b, json_string_value(json_object_get(p, "state")));
		evbuffer_add_printf(b, "</span></div>");
	}
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
	    w->public ? "" : "<th class=\"wide\">message</th><th>paged</th>");
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
		else if (json_is_string(json_object_get(e, "old")) &&
		    json_equal(json_object_get(e, "old"),
		    json_object_get(e, "new")))
			evbuffer_add_printf(b, " <span class=\"tag\">"
			    "flapping stopped</span>");
		if (json_is_true(json_object_get(e, "unreachable")))
			evbuffer_add_printf(b, " <span class=\"tag\">"
			    "unreachable</span>");
		evbuffer_add_printf(b, "</td>");
		if (!w->public) {
			msg = json_string_value(json_object_get(e, "message"));
			evbuffer_add_printf(b, "<td class=\"msg wide\">");
			html_esc(b, msg != NULL ? msg : "");
			evbuffer_add_printf(b, "</td><td class=\"paged\">");
			paged_cell(b, json_object_get(e, "paged"));
			evbuffer_add_printf(b, "</td>");
		}
		evbuffer_add_printf(b, "</tr>\n");
	}
	evbuffer_add_printf(b, "</tbody></table>\n");
}

/*
 * The newest max events of one server as a table (id "recent-events"),
 * with the same bounds as /events; "No events." when there are none.
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
		    "No events.</p>");
	json_decref(arr);
}
