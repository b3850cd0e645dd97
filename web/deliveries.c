/*
 * deliveries.c: what was paged to whom, as tocsin-pager's own records
 * say: a reader of the format tocsin-pager(8) documents (DELIVERIES),
 * never a writer. Each (event, contact, channel) is one file named
 * SEQ-CONTACT-CHANNEL.json in STATE_DIR/pager/queue (pending, or final
 * and waiting for the event's removal) or STATE_DIR/pager/failed
 * (refused for good), holding one JSON object with "seq", "contact",
 * "channel", "to", "state", "tries", "error" and the page itself. The
 * pager removes a done record with its event, after appending its outcome
 * to STATE_DIR/pager/deliveries.jsonl (and .1.jsonl before it, bounded as
 * lib/history.c keeps them), which gives the older events theirs. Bounded:
 * DELIVERY_SCAN_MAX names a folder, files of at most DELIVERY_FILE_MAX
 * bytes, DELIVERY_MAX records an event, HISTORY_READ_MAX bytes a log.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "history.h"
#include "paths.h"
#include "xmalloc.h"
#include "web.h"

#define DELIVERY_SCAN_MAX	100000	/* names looked at in a folder */
#define DELIVERY_FILE_MAX	(256 * 1024)	/* the pager's RECORD_MAX */
#define DELIVERY_MAX		32	/* records shown for one event */

static json_t	*find_event(json_t *, unsigned long long);
static json_t	*read_record(int, const char *, char *);
static void	 scan(const char *, const char *, json_t *);
static void	 scan_log(const char *, json_t *);
static int	 listed(json_t *, json_t *);
static json_t	*paged_entry(json_t *, const char *);

/* The event of arr numbered seq, or NULL. arr is small (a page). */
static json_t *
find_event(json_t *arr, unsigned long long seq)
{
	json_t	*e;
	size_t	 i;

	json_array_foreach(arr, i, e)
		if ((unsigned long long)json_integer_value(json_object_get(e,
		    "seq")) == seq)
			return e;
	return NULL;
}

/*
 * What the page shows of a delivery from o (a record, or a line of the
 * delivery log): contact, channel, to, state (from o's field state_key),
 * tries and error, JSON null where o lacks one. NULL when jansson fails.
 */
static json_t *
paged_entry(json_t *o, const char *state_key)
{
	json_t	*to, *tries, *error;

	to = json_object_get(o, "to");
	tries = json_object_get(o, "tries");
	error = json_object_get(o, "error");
	return json_pack("{s:O,s:O,s:O,s:O,s:O,s:O}",
	    "contact", json_object_get(o, "contact"),
	    "channel", json_object_get(o, "channel"),
	    "to", json_is_string(to) ? to : json_null(),
	    "state", json_object_get(o, state_key),
	    "tries", json_is_integer(tries) ? tries : json_null(),
	    "error", json_is_string(error) ? error : json_null());
}

/*
 * One record, the fields a person needs: {"contact","channel","to",
 * "state","tries","error"}; NULL when it is gone or not a record. buf
 * holds DELIVERY_FILE_MAX + 1 bytes.
 */
static json_t *
read_record(int dfd, const char *name, char *buf)
{
	json_t	*o, *r;
	ssize_t	 n;
	size_t	 got = 0;
	int	 fd;

	if ((fd = openat(dfd, name, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) == -1)
		return NULL;
	while (got < DELIVERY_FILE_MAX && (n = read(fd, buf + got,
	    DELIVERY_FILE_MAX - got)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			break;
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	if ((o = json_loads(buf, 0, NULL)) == NULL)
		return NULL;
	r = NULL;
	if (json_is_string(json_object_get(o, "contact")) &&
	    json_is_string(json_object_get(o, "channel")) &&
	    json_is_string(json_object_get(o, "state")))
		r = paged_entry(o, "state");
	json_decref(o);
	return r;
}

/* The records in STATE_DIR/pager/SUB of events in arr, added to them. */
static void
scan(const char *state_dir, const char *sub, json_t *arr)
{
	char			 dir[PATH_MAX], *buf = NULL;
	DIR			*d;
	struct dirent		*de;
	unsigned long long	 seq;
	size_t			 seen = 0;
	json_t			*e, *paged, *r;
	char			*end;

	if (snprintf(dir, sizeof(dir), "%s/pager/%s", state_dir, sub) >=
	    (int)sizeof(dir) || (d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL && seen++ < DELIVERY_SCAN_MAX) {
		if (strlen(de->d_name) < 26 || de->d_name[20] != '-' ||
		    strcmp(de->d_name + strlen(de->d_name) - 5, ".json") != 0)
			continue;
		errno = 0;
		seq = strtoull(de->d_name, &end, 10);
		if (errno != 0 || end != de->d_name + 20 ||
		    (e = find_event(arr, seq)) == NULL)
			continue;
		if ((paged = json_object_get(e, "paged")) == NULL) {
			paged = json_array();
			json_object_set_new(e, "paged", paged);
		}
		if (json_array_size(paged) >= DELIVERY_MAX)
			continue;
		if (buf == NULL)
			buf = xmalloc(DELIVERY_FILE_MAX + 1);
		if ((r = read_record(dirfd(d), de->d_name, buf)) != NULL)
			json_array_append_new(paged, r);
	}
	closedir(d);
	free(buf);
}

/*
 * Give each event of arr (an array of event objects, a page of them)
 * "paged": the deliveries tocsin-pager still holds for it, pending and
 * done from pager/queue, refused ones from pager/failed, then the final
 * outcomes of its delivery log; no "paged" when there are none.
 */
void
deliveries_attach(const char *state_dir, json_t *arr)
{
	if (json_array_size(arr) == 0)
		return;
	scan(state_dir, "queue", arr);
	scan(state_dir, "failed", arr);
	scan_log(state_dir, arr);
}

/* Whether paged already holds r's contact and channel. */
static int
listed(json_t *paged, json_t *r)
{
	json_t	*p;
	size_t	 i;

	json_array_foreach(paged, i, p)
		if (json_equal(json_object_get(p, "contact"),
		    json_object_get(r, "contact")) &&
		    json_equal(json_object_get(p, "channel"),
		    json_object_get(r, "channel")))
			return 1;
	return 0;
}

/*
 * The outcomes in the delivery log of events in arr whose records are
 * gone, added to them: one line {"seq","contact","channel","to",
 * "result","tries","error",...} each, "result" shown as "state". A
 * (contact, channel) the records or an earlier line gave is not added
 * again (a crash may log one twice).
 */
static void
scan_log(const char *state_dir, json_t *arr)
{
	char			 dir[PATH_MAX], *text, *line, *nl, *end;
	unsigned long long	 seq;
	size_t			 len;
	json_t			*e, *o, *r, *paged;

	if (snprintf(dir, sizeof(dir), "%s/%s", state_dir, PATH_PAGER_DIR) >=
	    (int)sizeof(dir) || (text = history_load_file(dir,
	    PATH_DELIVERY_LOG, PATH_DELIVERY_OLD, &len)) == NULL)
		return;
	for (line = text; line < text + len; line = nl + 1) {
		if ((nl = memchr(line, '\n', text + len - line)) == NULL)
			break;
		*nl = '\0';
		/* The pager writes "seq" first: skip other events cheaply. */
		if (strncmp(line, "{\"seq\":", 7) == 0) {
			errno = 0;
			seq = strtoull(line + 7, &end, 10);
			if (errno != 0 || end == line + 7 ||
			    find_event(arr, seq) == NULL)
				continue;
		}
		if ((o = json_loads(line, 0, NULL)) == NULL)
			continue;
		if (!json_is_integer(json_object_get(o, "seq")) ||
		    !json_is_string(json_object_get(o, "contact")) ||
		    !json_is_string(json_object_get(o, "channel")) ||
		    !json_is_string(json_object_get(o, "result")) ||
		    (e = find_event(arr, (unsigned long long)
		    json_integer_value(json_object_get(o, "seq")))) == NULL) {
			json_decref(o);
			continue;
		}
		r = paged_entry(o, "result");
		json_decref(o);
		if (r == NULL)
			continue;
		if ((paged = json_object_get(e, "paged")) == NULL) {
			paged = json_array();
			json_object_set_new(e, "paged", paged);
		}
		if (json_array_size(paged) >= DELIVERY_MAX ||
		    listed(paged, r))
			json_decref(r);
		else
			json_array_append_new(paged, r);
	}
	free(text);
}
