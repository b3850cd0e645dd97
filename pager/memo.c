/*
 * memo.c: what the pager remembers of each server between its events:
 * whether it was flapping (so the end of flapping is paged as such) and
 * which contacts got an SMS for the problem still open (so the recovery
 * reaches them by SMS even in their quiet hours). Kept in
 * STATE_DIR/pager/memo.json, written whole (atomically) after each scan
 * that changed it; used by the scan only, on the I/O worker.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "fsutil.h"
#include "jsontext.h"
#include "log.h"
#include "xmalloc.h"

#include "pager.h"

#define MEMO_FILE	"memo.json"
#define MEMO_MAX	100000		/* servers remembered, at most */
#define MEMO_FILE_MAX	(64 * 1024 * 1024)

struct memo {
	struct memo_entry	*e;
	size_t			 n;
	int			 dirty;
};

/* Load what was remembered (nothing when there is no file yet). */
struct memo *
memo_load(int dirfd)
{
	struct memo	*m = xcalloc(1, sizeof(*m));
	json_t		*o, *v;
	json_error_t	 je;
	const char	*id;
	FILE		*f;
	int		 fd;

	if ((fd = openat(dirfd, MEMO_FILE, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno != ENOENT)
			log_warn("memo: %s", MEMO_FILE);
		return m;
	}
	if ((f = fdopen(fd, "r")) == NULL) {
		close(fd);
		return m;
	}
	o = json_loadf(f, 0, &je);
	fclose(f);
	if (!json_is_object(o)) {
		log_warnx("memo: %s: %s; starting afresh", MEMO_FILE,
		    o == NULL ? je.text : "not an object");
		json_decref(o);
		return m;
	}
	json_object_foreach(o, id, v) {
		struct memo_entry *e = memo_get(m, id);
		json_t *s = json_object_get(v, "sms");
		e->flapping = json_is_true(json_object_get(v, "flapping"));
		if (json_is_string(s))
			strlcpy(e->sms, json_string_value(s), sizeof(e->sms));
	}
	json_decref(o);
	m->dirty = 0;
	return m;
}

/* The server's entry, made when new (NULL past MEMO_MAX). */
struct memo_entry *
memo_get(struct memo *m, const char *id)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (strcmp(m->e[i].id, id) == 0)
			return &m->e[i];
	if (m->n == MEMO_MAX)
		return NULL;
	m->e = xreallocarray(m->e, m->n + 1, sizeof(*m->e));
	memset(&m->e[m->n], 0, sizeof(*m->e));
	strlcpy(m->e[m->n].id, id, sizeof(m->e[m->n].id));
	m->dirty = 1;
	return &m->e[m->n++];
}

/* Say an entry changed, so memo_save writes. */
void
memo_touch(struct memo *m)
{
	m->dirty = 1;
}

/* Write the file if anything changed. Returns 0 or -1 (logged). */
int
memo_save(struct memo *m, int dirfd)
{
	json_t	*o, *e;
	char	*s;
	size_t	 i;
	int	 r;

	if (!m->dirty)
		return 0;
	if ((o = json_object()) == NULL)
		return -1;
	for (i = 0; i < m->n; i++) {
		if (!m->e[i].flapping && m->e[i].sms[0] == '\0')
			continue;	/* nothing worth keeping */
		if ((e = json_object()) == NULL ||
		    jsontext_set(e, "flapping",
		    json_boolean(m->e[i].flapping)) == -1 ||
		    jsontext_set(e, "sms", jsontext(m->e[i].sms)) == -1 ||
		    jsontext_set(o, m->e[i].id, e) == -1) {
			json_decref(o);
			return -1;
		}
	}
	s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	if (s == NULL)
		return -1;
	r = fsutil_write_atomic(dirfd, MEMO_FILE, s, strlen(s), 0640, 0);
	free(s);
	if (r == -1)
		log_warn("memo: cannot write %s", MEMO_FILE);
	else
		m->dirty = 0;
	return r;
}

void
memo_free(struct memo *m)
{
	if (m == NULL)
		return;
	free(m->e);
	free(m);
}

/* 1 if name is in the comma-separated list. */
int
memo_listed(const char *list, const char *name)
{
	size_t		 len = strlen(name);
	const char	*p = list;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, name, len) == 0 && (p[len] == ',' ||
		    p[len] == '\0'))
			return 1;
		if ((p = strchr(p, ',')) != NULL)
			p++;
	}
	return 0;
}

/* Add name to the comma-separated list (kept when it does not fit). */
void
memo_list_add(char *list, size_t len, const char *name)
{
	size_t l = strlen(list);

	if (memo_listed(list, name) || l + strlen(name) + 2 > len)
		return;
	snprintf(list + l, len - l, "%s%s", l > 0 ? "," : "", name);
}
