/*
 * spool.c: durable events. spool_append blocks on fsync, so probed calls it
 * from a worker thread, never from its event loop. Every file in the spool
 * folder is opened through the folder's descriptor, without following
 * links.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "fsutil.h"
#include "jsontext.h"
#include "log.h"
#include "paths.h"
#include "spool.h"
#include "xmalloc.h"

#define SEQ_BLOCK	1000	/* numbers reserved per write of the seq file */
#define EVENT_FILE_MAX	8192
#define SKIP_MAX	1000	/* numbers skipped when names are taken */

struct spool {
	char		*dir;
	int		 dirfd;
	uint64_t	 last;		/* last number used */
	uint64_t	 reserved;	/* highest number on disk in seq */
};

static int	parse_seq(const char *, const char *, uint64_t *);
static int	list_at(int, uint64_t, uint64_t **, size_t *, int);
static int	reserve(struct spool *);
static uint64_t	read_seq_file(struct spool *);

/*
 * A sequence number from the digits in [s, end): 0, or -1 when it is
 * empty, holds anything but digits, or is above SPOOL_SEQ_MAX.
 */
static int
parse_seq(const char *s, const char *end, uint64_t *seq)
{
	uint64_t	 v = 0;

	if (s == end)
		return -1;
	for (; s < end; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > (SPOOL_SEQ_MAX - (uint64_t)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*seq = v;
	return 0;
}

/* Reserve the next block of numbers in seq (never beyond the maximum). */
static int
reserve(struct spool *s)
{
	char		 buf[32];
	uint64_t	 to;
	int		 n;

	to = s->reserved > SPOOL_SEQ_MAX - SEQ_BLOCK ? SPOOL_SEQ_MAX :
	    s->reserved + SEQ_BLOCK;
	n = snprintf(buf, sizeof(buf), "%" PRIu64 "\n", to);
	if (fsutil_write_atomic(s->dirfd, PATH_SPOOL_SEQ, buf, n, 0640, 0) ==
	    -1)
		return -1;
	s->reserved = to;
	return 0;
}

/* The number in spool/seq; 0 when it is missing or not a number (said). */
static uint64_t
read_seq_file(struct spool *s)
{
	char		 buf[32], *end;
	ssize_t		 len;
	uint64_t	 v;
	int		 fd;

	fd = openat(s->dirfd, PATH_SPOOL_SEQ, O_RDONLY | O_NOFOLLOW |
	    O_NONBLOCK | O_CLOEXEC);
	if (fd == -1) {
		if (errno != ENOENT)
			log_warn("spool: %s/%s", s->dir, PATH_SPOOL_SEQ);
		return 0;
	}
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len < 0)
		len = 0;
	buf[len] = '\0';
	end = buf + strcspn(buf, "\n");
	if (parse_seq(buf, end, &v) == -1) {
		log_warnx("spool: %s/%s is not a sequence number up to %" PRIu64
		    "; numbers go on above the events on disk", s->dir,
		    PATH_SPOOL_SEQ, (uint64_t)SPOOL_SEQ_MAX);
		return 0;
	}
	return v;
}

/*
 * Open (creating) STATE_DIR/spool, removing the temporaries a crash left.
 * The next number is above both the reserved bound in `seq` and every
 * event file present, so an event not yet delivered is never overwritten
 * even when `seq` is lost. NULL after logging.
 */
struct spool *
spool_open(const char *state_dir)
{
	struct spool	*s;
	uint64_t	*seqs = NULL;
	size_t		 n = 0;
	int		 sfd;

	s = xcalloc(1, sizeof(*s));
	xasprintf(&s->dir, "%s/%s", state_dir, PATH_SPOOL_DIR);
	if ((sfd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		log_warn("spool: open %s", state_dir);
		goto fail;
	}
	s->dirfd = fsutil_open_dir(sfd, PATH_SPOOL_DIR, 0750);
	close(sfd);
	if (s->dirfd == -1) {
		log_warn("spool: open %s (a link is not followed)", s->dir);
		goto fail;
	}
	fsutil_clean_tmp(s->dirfd, s->dir);
	s->reserved = read_seq_file(s);
	if (list_at(s->dirfd, 0, &seqs, &n, 1) == -1) {
		log_warn("spool: cannot list %s", s->dir);
		close(s->dirfd);
		goto fail;
	}
	if (n > 0 && seqs[n - 1] > s->reserved)
		s->reserved = seqs[n - 1];
	free(seqs);
	s->last = s->reserved;
	return s;
fail:
	free(s->dir);
	free(s);
	return NULL;
}

/*
 * Give ev the next sequence number and make it durable (fsutil_write_atomic
 * with FSUTIL_NOREPLACE: a name already taken is skipped, never
 * overwritten). Returns 0, or -1 after logging (the caller keeps the event
 * and tries again); past SPOOL_SEQ_MAX every append fails: numbers never
 * wrap.
 */
int
spool_append(struct spool *s, struct spool_event *ev)
{
	char	 name[40], *json;
	int	 r, skips = 0;

	json = NULL;
	for (;;) {
		if (s->last >= SPOOL_SEQ_MAX) {
			log_warnx("spool: %s: sequence numbers exhausted (%"
			    PRIu64 "); events are kept in memory", s->dir,
			    (uint64_t)SPOOL_SEQ_MAX);
			errno = EOVERFLOW;
			r = -1;
			break;
		}
		if (s->last + 1 > s->reserved && reserve(s) == -1) {
			log_warn("spool: cannot reserve sequence numbers in %s",
			    s->dir);
			r = -1;
			break;
		}
		ev->seq = s->last + 1;
		snprintf(name, sizeof(name), "%020" PRIu64 ".json", ev->seq);
		free(json);
		json = spool_event_json(ev);
		r = fsutil_write_atomic(s->dirfd, name, json, strlen(json), 0640,
		    FSUTIL_NOREPLACE);
		if (r == 0 || errno != EEXIST || ++skips > SKIP_MAX) {
			if (r == -1)
				log_warn("spool: cannot write %s/%s", s->dir,
				    name);
			break;
		}
		log_warnx("spool: %s/%s exists; skipping that number", s->dir,
		    name);
		s->last = ev->seq;
	}
	free(json);
	if (r == 0)
		s->last = ev->seq;
	return r;
}

uint64_t
spool_last_seq(const struct spool *s)
{
	return s->last;
}

void
spool_close(struct spool *s)
{
	if (s == NULL)
		return;
	close(s->dirfd);
	free(s->dir);
	free(s);
}

/* The event as one line of JSON with a newline; the caller frees it. */
char *
spool_event_json(const struct spool_event *ev)
{
	json_t	*o;
	char	*s, *line;

	/* jsontext: a server's message may hold any bytes. */
	o = json_pack("{s:I,s:o,s:I,s:o,s:o,s:o,s:b,s:b,s:b,s:b}",
	    "seq", (json_int_t)ev->seq, "id", jsontext(ev->id),
	    "time", (json_int_t)ev->time, "old", jsontext(ev->old_state),
	    "new", jsontext(ev->new_state), "message", jsontext(ev->message),
	    "flapping", ev->flapping, "downtime", ev->downtime,
	    "acked", ev->acked, "unreachable", ev->unreachable);
	if (o == NULL || (s = json_dumps(o, JSON_COMPACT)) == NULL)
		fatalx("spool: cannot encode event %" PRIu64, ev->seq);
	json_decref(o);
	xasprintf(&line, "%s\n", s);
	free(s);
	return line;
}

static void
copy_str(char *dst, size_t len, json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	snprintf(dst, len, "%s", json_is_string(v) ? json_string_value(v) :
	    "");
}

/* Parse one event; 0, or -1 if it is not a valid event. */
int
spool_event_parse(const char *text, struct spool_event *ev)
{
	json_t		*o;
	json_error_t	 err;

	memset(ev, 0, sizeof(*ev));
	if ((o = json_loads(text, 0, &err)) == NULL)
		return -1;
	if (!json_is_integer(json_object_get(o, "seq")) ||
	    !json_is_string(json_object_get(o, "id"))) {
		json_decref(o);
		return -1;
	}
	ev->seq = json_integer_value(json_object_get(o, "seq"));
	if (json_integer_value(json_object_get(o, "seq")) < 1 ||
	    ev->seq > SPOOL_SEQ_MAX) {
		json_decref(o);
		return -1;
	}
	ev->time = json_integer_value(json_object_get(o, "time"));
	copy_str(ev->id, sizeof(ev->id), o, "id");
	copy_str(ev->old_state, sizeof(ev->old_state), o, "old");
	copy_str(ev->new_state, sizeof(ev->new_state), o, "new");
	copy_str(ev->message, sizeof(ev->message), o, "message");
	ev->flapping = json_is_true(json_object_get(o, "flapping"));
	ev->was_flapping = json_is_true(json_object_get(o, "was_flapping"));
	ev->downtime = json_is_true(json_object_get(o, "downtime"));
	ev->acked = json_is_true(json_object_get(o, "acked"));
	ev->unreachable = json_is_true(json_object_get(o, "unreachable"));
	json_decref(o);
	return 0;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * The numbers of complete events above after in the folder dirfd, sorted,
 * in a malloc'd array: names of digits ending in ".json". A name whose
 * number is above SPOOL_SEQ_MAX is left alone (logged when loud). 0, or
 * -1 with errno.
 */
static int
list_at(int dirfd, uint64_t after, uint64_t **seqs, size_t *n, int loud)
{
	DIR		*d;
	struct dirent	*de;
	uint64_t	*v = NULL, seq;
	size_t		 cnt = 0, len;
	int		 fd;

	if ((fd = dup(dirfd)) == -1)
		return -1;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (de->d_name[0] < '0' || de->d_name[0] > '9' || len <= 5 ||
		    strcmp(de->d_name + len - 5, ".json") != 0)
			continue;
		if (parse_seq(de->d_name, de->d_name + len - 5, &seq) == -1) {
			if (loud)
				log_warnx("spool: %s is not an event name (a "
				    "number up to %" PRIu64 "); left alone",
				    de->d_name, (uint64_t)SPOOL_SEQ_MAX);
			continue;
		}
		if (seq <= after)
			continue;
		v = xreallocarray(v, cnt + 1, sizeof(*v));
		v[cnt++] = seq;
	}
	closedir(d);
	if (cnt > 0)
		qsort(v, cnt, sizeof(*v), cmp_u64);
	*seqs = v;
	*n = cnt;
	return 0;
}

/*
 * The sequence numbers of complete events above `after` in the spool
 * folder dir, in order, in a malloc'd array. 0, or -1 with errno set.
 */
int
spool_list(const char *dir, uint64_t after, uint64_t **seqs, size_t *n)
{
	int	 fd, r, saved;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	r = list_at(fd, after, seqs, n, 0);
	saved = errno;
	close(fd);
	errno = saved;
	return r;
}

/* Read event seq; 0, or -1 with errno: open's or read's (ENOENT when it
 * is missing), EINVAL when the file is not a valid event. */
int
spool_read(const char *dir, uint64_t seq, struct spool_event *ev)
{
	char	 path[4096], buf[EVENT_FILE_MAX];
	ssize_t	 len;
	int	 fd, saved;

	snprintf(path, sizeof(path), "%s/%020" PRIu64 ".json", dir, seq);
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC)) == -1)
		return -1;
	len = read(fd, buf, sizeof(buf) - 1);
	saved = errno;
	close(fd);
	errno = len < 0 ? saved : EINVAL;
	if (len <= 0)
		return -1;
	buf[len] = '\0';
	if (spool_event_parse(buf, ev) == -1) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}
