/*
 * history.h: the bounded history of events (STATE_DIR/history.jsonl and
 * history.1.jsonl, one spool event of JSON a line, oldest first),
 * written by tocsin-probed as it spools, read by tocsin.cgi. See
 * history.c and tocsin-probed(8), EVENT HISTORY.
 */
#ifndef TOCSIN_HISTORY_H
#define TOCSIN_HISTORY_H

#include <stddef.h>

#define HISTORY_FILE	 "history.jsonl"
#define HISTORY_OLD	 "history.1.jsonl"
#define HISTORY_MAX	 (1 << 20)	/* bytes a file before it turns */
#define HISTORY_READ_MAX (2 << 20)	/* bytes of a file a reader takes */

struct history;
struct spool_event;

struct history	*history_open(const char *);
struct history	*history_open_file(const char *, const char *, const char *);
int		 history_append(struct history *, const struct spool_event *);
int		 history_append_line(struct history *, const char *);
void		 history_close(struct history *);
char		*history_load(const char *, size_t *);
char		*history_load_file(const char *, const char *, const char *,
		    size_t *);

#endif
