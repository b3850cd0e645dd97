/*
 * spool.c: durable events. spool_append blocks on fsync, so probed calls it
 * from a worker thread, never from its event loop.
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

#include "daemon.h"
#include "jsontext.h"
#include "log.h"
#include "spool.h"
#include "xmalloc.h"

#define SEQ_BLOCK	1000	/* numbers reserved per write of the seq file */
#define EVENT_FILE_MAX	8192

struct spool {
	char		*dir;
	int		 dirfd;
	uint64_t	 last;		/* last number used */
	uint64_t	 reserved;	/* highest number on disk in seq */
};

static int	write_atomic(struct spool *, const char *, const char *,
		    size_t);

/*
 * Write name in the spool folder: temporary file, fsync, rename, fsync of
 * the folder. Returns 0 or -1 with errno set.
 */
static int
write_atomic(struct spool *s, const char *name, const char *data, size_t len)
{
	char	 tmp[64];
	int	 fd, saved;
	ssize_t	 n;

	snprintf(tmp, sizeof(tmp), ".tmp.%s", name);
	fd = openat(s->dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0640);
	if (fd == -1)
		return -1;
	while (len > 0) {
		if ((n = write(fd, data, len)) == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		data += n;
		len -= n;
	}
	if (fsync(fd) == -1)
		goto fail;
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (renameat(s->dirfd, tmp, s->dirfd, name) == -1)
		goto fail;
	return fsync(s->dirfd);
fail:
	saved = errno;
	if (fd != -1)
		close(fd);
	unlinkat(s->dirfd, tmp, 0);
	errno = saved;
	return -1;
}

static int
reserve(struct spool *s)
{
	char buf[32];
	int n;

	n = snprintf(buf, sizeof(buf), "%" PRIu64 "\n",
	    s->reserved + SEQ_BLOCK);
	if (write_atomic(s, "seq", buf, n) == -1)
		return -1;
	s->reserved += SEQ_BLOCK;
	return 0;
}

/*
 * Open (creating) STATE_DIR/spool. The next number is above both the
 * reserved bound in `seq` and any event file present. NULL after logging.
 */
struct spool *
spool_open(const char *state_dir)
{
	struct spool	*s;
	uint64_t	*seqs = NULL;
	size_t		 n = 0;
	char		 buf[32];
	ssize_t		 len;
	int		 fd;

	s = xcalloc(1, sizeof(*s));
	xasprintf(&s->dir, "%s/spool", state_dir);
	if (mkdir_p(s->dir, 0750) == -1) {
		log_warn("spool: mkdir %s", s->dir);
		goto fail;
	}
	if ((s->dirfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1) {
		log_warn("spool: open %s", s->dir);
		goto fail;
	}
	if ((fd = openat(s->dirfd, "seq", O_RDONLY | O_CLOEXEC)) != -1) {
		len = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (len > 0) {
			buf[len] = '\0';
			s->reserved = strtoull(buf, NULL, 10);
		}
	}
	if (spool_list(s->dir, 0, &seqs, &n) == 0 && n > 0 &&
	    seqs[n - 1] > s->reserved)
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
 * Give ev the next sequence number and make it durable. Returns 0, or -1
 * after logging (the caller keeps the event and tries again).
 */
int
spool_append(struct spool *s, struct spool_event *ev)
{
	char	 name[40], *json;
	int	 r;

	if (s->last + 1 > s->reserved && reserve(s) == -1) {
		log_warn("spool: cannot reserve sequence numbers in %s",
		    s->dir);
		return -1;
	}
	ev->seq = s->last + 1;
	snprintf(name, sizeof(name), "%020" PRIu64 ".json", ev->seq);
	json = spool_event_json(ev);
	r = write_atomic(s, name, json, strlen(json));
	free(json);
	if (r == -1) {
		log_warn("spool: cannot write %s/%s", s->dir, name);
		return -1;
	}
	s->last = ev->seq;
	return 0;
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
	ev->time = json_integer_value(json_object_get(o, "time"));
	copy_str(ev->id, sizeof(ev->id), o, "id");
	copy_str(ev->old_state, sizeof(ev->old_state), o, "old");
	copy_str(ev->new_state, sizeof(ev->new_state), o, "new");
	copy_str(ev->message, sizeof(ev->message), o, "message");
	ev->flapping = json_is_true(json_object_get(o, "flapping"));
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
 * The sequence numbers of complete events above `after`, in order, in a
 * malloc'd array. 0, or -1 with errno set.
 */
int
spool_list(const char *dir, uint64_t after, uint64_t **seqs, size_t *n)
{
	DIR		*d;
	struct dirent	*de;
	uint64_t	*v = NULL, seq;
	size_t		 cnt = 0;
	char		*end;

	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		seq = strtoull(de->d_name, &end, 10);
		if (strcmp(end, ".json") != 0 || seq <= after)
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

/* Read event seq; 0, or -1 (missing or not valid). */
int
spool_read(const char *dir, uint64_t seq, struct spool_event *ev)
{
	char	 path[4096], buf[EVENT_FILE_MAX];
	ssize_t	 len;
	int	 fd;

	snprintf(path, sizeof(path), "%s/%020" PRIu64 ".json", dir, seq);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return -1;
	buf[len] = '\0';
	return spool_event_parse(buf, ev);
}
