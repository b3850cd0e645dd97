/*
 * history.c: a bounded history of every event, for the status page after
 * tocsin-pager deleted the spool files. tocsin-probed's spool worker
 * appends each event, once it is durable in the spool, as one line of the
 * spool's JSON to STATE_DIR/history.jsonl; when the file passes
 * HISTORY_MAX bytes it becomes history.1.jsonl (replacing the older one)
 * and a new one starts, so the two hold between HISTORY_MAX and twice as
 * much, the newest events. The history is not durable (no fsync): the
 * spool is the record, and a reader merges both by sequence number.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "history.h"
#include "log.h"
#include "spool.h"
#include "xmalloc.h"

struct history {
	int	 dirfd;		/* the state folder */
	int	 fd;		/* history.jsonl, -1 until opened */
	off_t	 size;		/* its size, bytes */
	char	 file[64];	/* history.jsonl, or another log's */
	char	 old[64];	/* what it turns into: history.1.jsonl */
};

static int	 reopen(struct history *);
static int	 read_file(int, const char *, char *, size_t, size_t *);

/* The history of a state folder; NULL (logged) when it cannot be opened. */
struct history *
history_open(const char *state_dir)
{
	return history_open_file(state_dir, HISTORY_FILE, HISTORY_OLD);
}

/*
 * Another bounded log of JSON lines kept the same way: FILE in folder dir,
 * turning into OLD past HISTORY_MAX bytes (tocsin-pager's
 * pager/deliveries.jsonl). NULL (logged) when dir cannot be opened.
 */
struct history *
history_open_file(const char *dir, const char *file, const char *old)
{
	struct history	*h;
	int		 dfd;

	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		log_warn("history: %s", dir);
		return NULL;
	}
	h = xcalloc(1, sizeof(*h));
	h->dirfd = dfd;
	h->fd = -1;
	strlcpy(h->file, file, sizeof(h->file));
	strlcpy(h->old, old, sizeof(h->old));
	return h;
}

/* (Re)open history.jsonl for appending; -1 (logged) on error. */
static int
reopen(struct history *h)
{
	struct stat	sb;

	if (h->fd != -1)
		close(h->fd);
	h->fd = openat(h->dirfd, h->file, O_WRONLY | O_APPEND | O_CREAT |
	    O_CLOEXEC, 0640);
	if (h->fd == -1 || fstat(h->fd, &sb) == -1) {
		log_warn("history: %s", h->file);
		if (h->fd != -1)
			close(h->fd);
		h->fd = -1;
		return -1;
	}
	h->size = sb.st_size;
	return 0;
}

/*
 * Append one event (blocking: call it off the event loop). The line goes
 * in one write of O_APPEND, so a reader sees it whole or not at all.
 * Returns 0, or -1 (logged) when it could not be written; the event is
 * in the spool all the same.
 */
int
history_append(struct history *h, const struct spool_event *ev)
{
	char	*line;
	int	 rc;

	if (h == NULL)
		return -1;
	line = spool_event_json(ev);
	rc = history_append_line(h, line);
	free(line);
	return rc;
}

/*
 * Append one line (ending in a newline, no other), as history_append
 * does: one write, the file turned first when it passed HISTORY_MAX.
 * Blocking; one thread at a time for a given h. 0, or -1 (logged).
 */
int
history_append_line(struct history *h, const char *line)
{
	size_t	 len;
	ssize_t	 n;

	if (h == NULL)
		return -1;
	if (h->fd != -1 && h->size >= HISTORY_MAX) {
		if (renameat(h->dirfd, h->file, h->dirfd, h->old) == -1)
			log_warn("history: rename %s", h->file);
		close(h->fd);
		h->fd = -1;
	}
	if (h->fd == -1 && reopen(h) == -1)
		return -1;
	len = strlen(line);
	n = write(h->fd, line, len);
	if (n != (ssize_t)len) {
		log_warn("history: %s", h->file);
		return -1;
	}
	h->size += n;
	return 0;
}

void
history_close(struct history *h)
{
	if (h == NULL)
		return;
	if (h->fd != -1)
		close(h->fd);
	close(h->dirfd);
	free(h);
}

/* Up to max bytes of a file in dirfd into buf, *got set; a missing file
 * is empty. -1 on another error. */
static int
read_file(int dirfd, const char *name, char *buf, size_t max, size_t *got)
{
	ssize_t	 n;
	int	 fd;

	*got = 0;
	if ((fd = openat(dirfd, name, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) ==
	    -1)
		return errno == ENOENT ? 0 : -1;
	while (*got < max && (n = read(fd, buf + *got, max - *got)) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			close(fd);
			return -1;
		}
		*got += (size_t)n;
	}
	close(fd);
	return 0;
}

/*
 * The history as text, oldest first: history.1.jsonl then history.jsonl,
 * each read up to HISTORY_READ_MAX bytes, only whole lines kept (a line
 * cut by the cap or being written is left out). The caller frees it;
 * *len is its length. NULL when the folder cannot be read.
 */
char *
history_load(const char *state_dir, size_t *len)
{
	return history_load_file(state_dir, HISTORY_FILE, HISTORY_OLD, len);
}

/* The same for another log: OLD then FILE in folder dir. */
char *
history_load_file(const char *dir, const char *file, const char *old,
    size_t *len)
{
	const char	*names[2];
	char		*buf, *end;
	size_t		 got, i;
	int		 dfd;

	names[0] = old;
	names[1] = file;
	*len = 0;
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return NULL;
	buf = xmalloc(2 * HISTORY_READ_MAX + 1);
	for (i = 0; i < 2; i++) {
		if (read_file(dfd, names[i], buf + *len, HISTORY_READ_MAX,
		    &got) == -1)
			continue;
		/* Whole lines only. */
		for (end = buf + *len + got; end > buf + *len &&
		    end[-1] != '\n'; end--)
			;
		*len = (size_t)(end - buf);
	}
	close(dfd);
	buf[*len] = '\0';
	return buf;
}
