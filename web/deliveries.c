/*
 * deliveries.c: what was paged to whom, as tocsin-pager's own records
 * say: a reader of the format tocsin-pager(8) documents (DELIVERIES),
 * never a writer. Each (event, contact, channel) is one file named
 * SEQ-CONTACT-CHANNEL.json in STATE_DIR/pager/queue (pending, or final
 * and waiting for the event's removal) or STATE_DIR/pager/failed
 * (refused for good), holding one JSON object with "seq", "contact",
 * "channel", "to", "state", "tries", "error" and the page itself. The
 * pager removes a done record with its event, so for older events there
 * is nothing to show. Bounded: DELIVERY_SCAN_MAX names a folder, files of
 * at most DELIVERY_FILE_MAX bytes, DELIVERY_MAX records an event.
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

#include "xmalloc.h"
#include "web.h"

#define DELIVERY_SCAN_MAX	100000	/* names looked at in a folder */
#define DELIVERY_FILE_MAX	(256 * 1024)	/* the pager's RECORD_MAX */
#define DELIVERY_MAX		32	/* records shown for one event */

static json_t	*find_event(json_t *, unsigned long long);
static json_t	*read_record(int, const char *, char *);
static void	 scan(const char *, const char *, json_t *);

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
		r = json_pack("{s:O,s:O,s:O,s:O,s:O,s:O}",
		    "contact", json_object_get(o, "contact"),
		    "channel", json_object_get(o, "channel"),
		    "to", json_is_string(json_object_get(o, "to")) ?
		    json_object_get(o, "to") : json_null(),
		    "state", json_object_get(o, "state"),
		    "tries", json_is_integer(json_object_get(o, "tries")) ?
		    json_object_get(o, "tries") : json_null(),
		    "error", json_is_string(json_object_get(o, "error")) ?
		    json_object_get(o, "error") : json_null());
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
 * done from pager/queue, refused ones from pager/failed; no "paged" when
 * it holds none.
 */
void
deliveries_attach(const char *state_dir, json_t *arr)
{
	if (json_array_size(arr) == 0)
		return;
	scan(state_dir, "queue", arr);
	scan(state_dir, "failed", arr);
}
