/*
 * queue.c: deliveries on disk and in order. Each delivery is one file in
 * STATE_DIR/pager/queue, named SEQ-CONTACT-CHANNEL.json, written whole
 * (temporary, fsync, rename, folder fsync) at every change of state, so
 * after a crash the queue is what the last fsync said. The disk functions
 * block: the pager calls them from its I/O worker, never from the loop.
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
#include "hash.h"
#include "jsontext.h"
#include "xmalloc.h"

#include "pager.h"

/* Bytes in one record file: queue_write refuses a longer one, so every
 * record written is read back whole. A digest (the longest) lists at most
 * DIGEST_LINES lines of about 1 KiB, twice in a webhook's, each escaped in
 * JSON twice: a few MiB at worst. */
#define RECORD_MAX	(8 * 1024 * 1024)

static const char *channels[CH_MAX] = { "email", "sms", "webhook" };
static const char *states[] = { "queued", "done", "failed", "held" };

const char *
queue_channel_str(enum channel ch)
{
	return ch < CH_MAX ? channels[ch] : "?";
}

/* Returns 0 with *ch set, or -1 for a name that is no channel. */
int
queue_channel_parse(const char *s, enum channel *ch)
{
	int i;

	for (i = 0; i < CH_MAX; i++)
		if (strcmp(s, channels[i]) == 0) {
			*ch = i;
			return 0;
		}
	return -1;
}

const char *
queue_state_str(enum dstate st)
{
	return st <= D_HELD ? states[st] : "?";
}

/* The record's file name: 00000000000000000042-ops-email.json, and
 * 00000000000000000042-ops-email-r2.json for the second reminder. Contact
 * names are letters, digits, '.', '_' and '-' (the config says so). */
void
queue_name(const struct delivery *d, char *buf, size_t len)
{
	char r[16] = "";

	if (d->round > 0)
		snprintf(r, sizeof(r), "-r%u", d->round);
	snprintf(buf, len, "%020" PRIu64 "-%s-%s%s.json", d->seq, d->contact,
	    queue_channel_str(d->ch), r);
}

/* The record as one line of JSON; the caller frees it. */
char *
queue_to_json(const struct delivery *d)
{
	json_t	*o;
	char	*s;

	if ((o = json_object()) == NULL)
		return NULL;
	if (jsontext_set(o, "seq", jsontext_u64(d->seq)) == -1 ||
	    jsontext_set(o, "contact", jsontext(d->contact)) == -1 ||
	    jsontext_set(o, "channel",
	    json_string(queue_channel_str(d->ch))) == -1 ||
	    jsontext_set(o, "server", jsontext(d->server)) == -1 ||
	    jsontext_set(o, "to", jsontext(d->to)) == -1 ||
	    jsontext_set(o, "state",
	    json_string(queue_state_str(d->state))) == -1 ||
	    jsontext_set(o, "tries", json_integer(d->tries)) == -1 ||
	    jsontext_set(o, "next", json_integer(d->next)) == -1 ||
	    jsontext_set(o, "created", json_integer(d->created)) == -1 ||
	    jsontext_set(o, "error", jsontext(d->error)) == -1 ||
	    (d->window != 0 && jsontext_set(o, "window",
	    json_integer(d->window)) == -1) ||
	    (d->digest && jsontext_set(o, "digest", json_true()) == -1) ||
	    (d->stale && jsontext_set(o, "stale", json_true()) == -1) ||
	    (d->round > 0 && jsontext_set(o, "round",
	    json_integer(d->round)) == -1) ||
	    jsontext_set(o, "payload",
	    jsontext(d->payload ? d->payload : "")) == -1) {
		json_decref(o);
		return NULL;
	}
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return s;
}

static int
get_str(json_t *o, const char *key, char *dst, size_t len)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_string(v) || strlen(json_string_value(v)) >= len)
		return -1;
	strlcpy(dst, json_string_value(v), len);
	return 0;
}

/*
 * Parse a record. Returns a new delivery (queue_free), or NULL with err
 * set when the text is not a record of ours.
 */
struct delivery *
queue_from_json(const char *text, char *err, size_t errlen)
{
	struct delivery	*d;
	json_t		*o, *v;
	json_error_t	 je;
	char		 ch[16], st[16];
	int		 i;

	if ((o = json_loads(text, 0, &je)) == NULL) {
		snprintf(err, errlen, "not JSON: %s", je.text);
		return NULL;
	}
	d = xcalloc(1, sizeof(*d));
	if (!json_is_integer(v = json_object_get(o, "seq")) ||
	    json_integer_value(v) < 0 ||
	    get_str(o, "contact", d->contact, sizeof(d->contact)) == -1 ||
	    get_str(o, "channel", ch, sizeof(ch)) == -1 ||
	    queue_channel_parse(ch, &d->ch) == -1 ||
	    get_str(o, "server", d->server, sizeof(d->server)) == -1 ||
	    get_str(o, "to", d->to, sizeof(d->to)) == -1 ||
	    get_str(o, "state", st, sizeof(st)) == -1 ||
	    get_str(o, "error", d->error, sizeof(d->error)) == -1 ||
	    !json_is_string(json_object_get(o, "payload"))) {
		snprintf(err, errlen, "a key is missing or bad");
		goto bad;
	}
	d->seq = json_integer_value(v);
	for (i = 0; i <= D_HELD; i++)
		if (strcmp(st, states[i]) == 0)
			break;
	if (i > D_HELD) {
		snprintf(err, errlen, "bad state '%s'", st);
		goto bad;
	}
	d->state = i;
	d->tries = json_integer_value(json_object_get(o, "tries"));
	d->next = json_integer_value(json_object_get(o, "next"));
	d->created = json_integer_value(json_object_get(o, "created"));
	d->window = json_integer_value(json_object_get(o, "window"));
	d->digest = json_is_true(json_object_get(o, "digest"));
	d->stale = json_is_true(json_object_get(o, "stale"));
	d->round = json_integer_value(json_object_get(o, "round"));
	d->payload = xstrdup(json_string_value(json_object_get(o,
	    "payload")));
	json_decref(o);
	return d;
bad:
	json_decref(o);
	free(d);
	return NULL;
}

/* Write the record durably. Returns 0 or -1 with errno set. */
int
queue_write(int dirfd, const struct delivery *d)
{
	char	 name[200], *s;
	int	 r;

	if ((s = queue_to_json(d)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	if (strlen(s) > RECORD_MAX) {
		free(s);
		errno = EFBIG;
		return -1;
	}
	queue_name(d, name, sizeof(name));
	r = fsutil_write_atomic(dirfd, name, s, strlen(s), 0640, 0);
	free(s);
	return r;
}

/* 1 if the record is on disk already, else 0. */
int
queue_exists(int dirfd, const struct delivery *d)
{
	struct stat	 st;
	char		 name[200];

	queue_name(d, name, sizeof(name));
	return fstatat(dirfd, name, &st, 0) == 0;
}

/* Remove the record (no folder fsync: the caller does it once for many). */
int
queue_remove(int dirfd, const struct delivery *d)
{
	char name[200];

	queue_name(d, name, sizeof(name));
	if (unlinkat(dirfd, name, 0) == -1 && errno != ENOENT)
		return -1;
	return 0;
}

/*
 * The record file whole, NUL-ended (the caller frees it); NULL when it
 * cannot be read. One longer than RECORD_MAX (never written so) comes
 * back cut, and then does not parse.
 */
static char *
read_at(int dirfd, const char *name)
{
	struct stat	 st;
	char		*buf;
	ssize_t		 n;
	size_t		 len = 0, cap;
	int		 fd;

	if ((fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC)) == -1)
		return NULL;
	cap = fstat(fd, &st) == 0 && st.st_size < RECORD_MAX ?
	    (size_t)st.st_size : RECORD_MAX;
	buf = xmalloc(cap + 1);
	while (len < cap && (n = read(fd, buf + len, cap - len)) > 0)
		len += n;
	close(fd);
	buf[len] = '\0';
	return buf;
}

/*
 * Load every record of the folder into q, in order. Temporaries left by a
 * crash are removed; a record that does not parse is renamed *.bad and
 * reported in err (the rest still load). Returns the number loaded, or -1.
 */
int
queue_load(int dirfd, struct deliveries *q, char *err, size_t errlen)
{
	struct delivery	*d;
	struct dirent	*de;
	DIR		*dir;
	char		 bad[300], why[128], *text;
	size_t		 len;
	int		 fd, n = 0;

	err[0] = '\0';
	if ((fd = dup(dirfd)) == -1 || (dir = fdopendir(fd)) == NULL)
		return -1;
	rewinddir(dir);
	while ((de = readdir(dir)) != NULL) {
		if (strncmp(de->d_name, ".tmp.", 5) == 0) {
			unlinkat(dirfd, de->d_name, 0);
			continue;
		}
		len = strlen(de->d_name);
		if (len < 6 || strcmp(de->d_name + len - 5, ".json") != 0)
			continue;
		if ((text = read_at(dirfd, de->d_name)) == NULL)
			continue;
		d = queue_from_json(text, why, sizeof(why));
		free(text);
		if (d == NULL) {
			snprintf(bad, sizeof(bad), "%s.bad", de->d_name);
			renameat(dirfd, de->d_name, dirfd, bad);
			snprintf(err, errlen, "%s: %s (set aside as %s)",
			    de->d_name, why, bad);
			continue;
		}
		queue_insert(q, d);
		n++;
	}
	closedir(dir);
	return n;
}

static int
before(const struct delivery *a, const struct delivery *b)
{
	int c;

	if (a->seq != b->seq)
		return a->seq < b->seq;
	if ((c = strcmp(a->contact, b->contact)) != 0)
		return c < 0;
	if (a->ch != b->ch)
		return a->ch < b->ch;
	return a->round < b->round;
}

/* Insert d in order of (seq, contact, channel); new events come last, so
 * the walk is from the tail. */
void
queue_insert(struct deliveries *q, struct delivery *d)
{
	struct delivery *p;

	TAILQ_FOREACH_REVERSE(p, q, deliveries, entry)
		if (before(p, d))
			break;
	if (p == NULL)
		TAILQ_INSERT_HEAD(q, d, entry);
	else
		TAILQ_INSERT_AFTER(q, p, d, entry);
}

void
queue_free(struct delivery *d)
{
	if (d == NULL)
		return;
	free(d->payload);
	free(d);
}

/* Seconds to wait after `tries` failed tries: 2, 4, 8, ... up to 600. */
int64_t
queue_backoff(unsigned tries)
{
	int64_t s = BACKOFF_MIN;

	while (tries-- > 1 && s < BACKOFF_MAX)
		s *= 2;
	return s < BACKOFF_MAX ? s : BACKOFF_MAX;
}

/* Record how a try ended: done, refused for good, or a retry after the
 * back-off. */
void
queue_outcome(struct delivery *d, enum send_result r, const char *error,
    int64_t now)
{
	switch (r) {
	case SEND_OK:
		d->state = D_DONE;
		d->error[0] = '\0';
		break;
	case SEND_REFUSED:
		d->state = D_FAILED;
		strlcpy(d->error, error ? error : "refused", sizeof(d->error));
		break;
	case SEND_RETRY:
		d->tries++;
		d->next = now + queue_backoff(d->tries);
		strlcpy(d->error, error ? error : "failed", sizeof(d->error));
		break;
	}
}

/* 1 if every delivery of the event is final (done or failed) on disk
 * too: one whose record is still to be written keeps its event. */
int
queue_event_final(const struct deliveries *q, uint64_t seq)
{
	const struct delivery *d;

	TAILQ_FOREACH(d, q, entry)
		if (d->seq == seq && (d->state == D_QUEUED ||
		    d->state == D_HELD || d->unsaved))
			return 0;
	return 1;
}

/*
 * The deliveries to try now: for each lane (contact, channel) only its
 * first delivery not final, in event order, and only when it is due and
 * nothing of that lane waits for the far side. A delivery the far side
 * has answered for good (taken), whose record is still being written,
 * holds nothing back: the lane's next goes at once, so pages are taken in
 * order without waiting for fsyncs. A failing lane never holds back
 * another. Returns how many went into out.
 */
size_t
queue_ready(struct deliveries *q, int64_t now, struct delivery **out,
    size_t max)
{
	struct delivery	*d;
	struct hash	*seen;		/* lanes whose head was met */
	char		 lane[CONTACT_MAX + 16];
	size_t		 n = 0;

	seen = hash_new();
	TAILQ_FOREACH(d, q, entry) {
		if ((d->state != D_QUEUED && !d->busy) || d->taken)
			continue;
		snprintf(lane, sizeof(lane), "%s/%s", d->contact,
		    queue_channel_str(d->ch));
		if (hash_get(seen, lane) != NULL)
			continue;	/* the lane's head is earlier */
		hash_put(seen, lane, d);
		if (d->busy || d->state != D_QUEUED || d->next > now)
			continue;
		if (n == max)
			break;
		out[n++] = d;
	}
	hash_free(seen, NULL);
	return n;
}

/*
 * The delivery after del in del's lane when it may go with del (in one
 * SMTP session): queued, due and idle. NULL when the lane's next is not
 * (or there is none).
 */
struct delivery *
queue_lane_next(struct delivery *del, int64_t now)
{
	struct delivery *d;

	for (d = TAILQ_NEXT(del, entry); d != NULL; d = TAILQ_NEXT(d, entry)) {
		if (d->ch != del->ch || strcmp(d->contact, del->contact) != 0)
			continue;
		if (d->state != D_QUEUED && !d->busy)
			continue;
		if (d->busy || d->state != D_QUEUED || d->next > now)
			return NULL;
		return d;
	}
	return NULL;
}
