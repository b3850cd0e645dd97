/*
 * memo.c: what the pager remembers of each server between its events:
 * whether it was flapping (so the end of flapping is paged as such) and
 * which contacts got an SMS for the problem still open (so the recovery
 * reaches them by SMS even in their quiet hours), and the open problem
 * that renotify and escalate-after page about again: its event, time,
 * state and message, the reminders made per contact, who it was
 * escalated to and when. Kept in
 * STATE_DIR/pager/memo.json, written whole (atomically) after each scan
 * that changed it; used on the I/O worker only (the scan and the
 * renotify pass).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "conf.h"
#include "fsutil.h"
#include "jsontext.h"
#include "log.h"
#include "xmalloc.h"

#include "pager.h"

#define MEMO_FILE	"memo.json"
#define MEMO_MAX	100000		/* servers remembered, at most */
#define MEMO_FILE_MAX	(64 * 1024 * 1024)

struct memo {
	struct memo_entry	**e;	/* each its own allocation: an entry
					   stays put when others are added */
	size_t			 n;
	int			 dirty;
};

/* Copy a string member into dst, when it is one. */
static void
get_str(json_t *o, const char *key, char *dst, size_t len)
{
	json_t *v = json_object_get(o, key);

	if (json_is_string(v))
		strlcpy(dst, json_string_value(v), len);
}

/* The open problem of a loaded entry, if any. */
static void
get_problem(struct memo_entry *e, json_t *v)
{
	json_t *p = json_object_get(v, "problem");

	if (!json_is_integer(p) || json_integer_value(p) <= 0)
		return;
	e->problem = json_integer_value(p);
	e->problem_time = json_integer_value(json_object_get(v,
	    "problem_time"));
	get_str(v, "state", e->state, sizeof(e->state));
	get_str(v, "message", e->message, sizeof(e->message));
	get_str(v, "rounds", e->rounds, sizeof(e->rounds));
	get_str(v, "escalated", e->escalated, sizeof(e->escalated));
	get_str(v, "escalated_at", e->escalated_at, sizeof(e->escalated_at));
	get_str(v, "paged", e->paged, sizeof(e->paged));
}

/* The problem held by a downtime of a loaded entry, if any. */
static void
get_held(struct memo_entry *e, json_t *v)
{
	json_t *p = json_object_get(v, "held");

	if (!json_is_integer(p) || json_integer_value(p) <= 0)
		return;
	e->held = json_integer_value(p);
	e->held_time = json_integer_value(json_object_get(v, "held_time"));
	get_str(v, "held_state", e->held_state, sizeof(e->held_state));
	get_str(v, "held_message", e->held_message, sizeof(e->held_message));
}

/* Add the held problem to a saved entry; -1 when out of memory. */
static int
put_held(json_t *e, const struct memo_entry *m)
{
	if (m->held == 0)
		return 0;
	if (jsontext_set(e, "held", jsontext_u64(m->held)) == -1 ||
	    jsontext_set(e, "held_time", json_integer(m->held_time)) == -1 ||
	    jsontext_set(e, "held_state", jsontext(m->held_state)) == -1 ||
	    jsontext_set(e, "held_message", jsontext(m->held_message)) == -1)
		return -1;
	return 0;
}

/* The listing by a parent's page, from a saved entry. */
static void
get_listed(struct memo_entry *e, json_t *v)
{
	json_t *p = json_object_get(v, "listed_by");

	if (!json_is_integer(p) || json_integer_value(p) <= 0)
		return;
	e->listed_by = json_integer_value(p);
	get_str(v, "listed", e->listed, sizeof(e->listed));
}

/* Add the listing to a saved entry; -1 when out of memory. */
static int
put_listed(json_t *e, const struct memo_entry *m)
{
	if (m->listed_by == 0)
		return 0;
	if (jsontext_set(e, "listed_by", jsontext_u64(m->listed_by)) == -1 ||
	    jsontext_set(e, "listed", jsontext(m->listed)) == -1)
		return -1;
	return 0;
}

/* Add the open problem to a saved entry; -1 when out of memory. */
static int
put_problem(json_t *e, const struct memo_entry *m)
{
	if (m->problem == 0)
		return 0;
	if (jsontext_set(e, "problem", jsontext_u64(m->problem)) == -1 ||
	    jsontext_set(e, "problem_time",
	    json_integer(m->problem_time)) == -1 ||
	    jsontext_set(e, "state", jsontext(m->state)) == -1 ||
	    jsontext_set(e, "message", jsontext(m->message)) == -1 ||
	    jsontext_set(e, "rounds", jsontext(m->rounds)) == -1 ||
	    jsontext_set(e, "escalated", jsontext(m->escalated)) == -1 ||
	    jsontext_set(e, "escalated_at", jsontext(m->escalated_at)) == -1 ||
	    (m->paged[0] != '\0' &&
	    jsontext_set(e, "paged", jsontext(m->paged)) == -1))
		return -1;
	return 0;
}

/* 1 when the entry holds nothing worth keeping. */
int
memo_entry_empty(const struct memo_entry *e)
{
	return !e->flapping && e->sms[0] == '\0' && e->problem == 0 &&
	    e->held == 0 && e->listed_by == 0;
}

/*
 * The entry as JSON (its id is not in it: memo.json and the cluster's
 * bucket tocsin_memo key it), or NULL when out of memory. The caller
 * owns it. memo_entry_parse reads it back.
 */
json_t *
memo_entry_dump(const struct memo_entry *m)
{
	json_t *e;

	if ((e = json_object()) == NULL)
		return NULL;
	if (jsontext_set(e, "flapping", json_boolean(m->flapping)) == -1 ||
	    jsontext_set(e, "sms", jsontext(m->sms)) == -1 ||
	    put_problem(e, m) == -1 || put_held(e, m) == -1 ||
	    put_listed(e, m) == -1) {
		json_decref(e);
		return NULL;
	}
	return e;
}

/* Fill the entry (its id kept) from memo_entry_dump's JSON; members
 * missing or of the wrong type stay as they were. */
void
memo_entry_parse(struct memo_entry *e, json_t *v)
{
	e->flapping = json_is_true(json_object_get(v, "flapping"));
	get_str(v, "sms", e->sms, sizeof(e->sms));
	get_problem(e, v);
	get_held(e, v);
	get_listed(e, v);
}

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
		if (e == NULL)
			break;
		memo_entry_parse(e, v);
	}
	json_decref(o);
	m->dirty = 0;
	return m;
}

/* The server's entry, made when new (NULL past MEMO_MAX); it stays valid
 * until memo_free. */
struct memo_entry *
memo_get(struct memo *m, const char *id)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (strcmp(m->e[i]->id, id) == 0)
			return m->e[i];
	if (m->n == MEMO_MAX)
		return NULL;
	m->e = xreallocarray(m->e, m->n + 1, sizeof(*m->e));
	m->e[m->n] = xcalloc(1, sizeof(**m->e));
	strlcpy(m->e[m->n]->id, id, sizeof(m->e[m->n]->id));
	m->dirty = 1;
	return m->e[m->n++];
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
		if (memo_entry_empty(m->e[i]))
			continue;	/* nothing worth keeping */
		if ((e = memo_entry_dump(m->e[i])) == NULL ||
		    jsontext_set(o, m->e[i]->id, e) == -1) {
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
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->n; i++)
		free(m->e[i]);
	free(m->e);
	free(m);
}

/* Entries, for a walk with memo_at (each valid until memo_free). */
size_t
memo_count(const struct memo *m)
{
	return m->n;
}

struct memo_entry *
memo_at(struct memo *m, size_t i)
{
	return i < m->n ? m->e[i] : NULL;
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

/* Contact's number in a list of them ("ops:3,boss:1700000000": the
 * reminders made, or when each escalation was paged), 0 if none. */
uint64_t
memo_num(const char *list, const char *contact)
{
	size_t		 len = strlen(contact);
	const char	*p = list;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, contact, len) == 0 && p[len] == ':')
			return strtoull(p + len + 1, NULL, 10);
		if ((p = strchr(p, ',')) != NULL)
			p++;
	}
	return 0;
}

/* Set contact's number in the list (kept when it does not fit). */
void
memo_num_set(char *list, size_t len, const char *contact, uint64_t n)
{
	char		 out[256], item[128];
	const char	*p = list, *e;
	size_t		 clen = strlen(contact), o = 0;

	out[0] = '\0';
	while (p != NULL && *p != '\0') {
		e = strchr(p, ',');
		if (!(strncmp(p, contact, clen) == 0 && p[clen] == ':'))
			o += snprintf(out + o, sizeof(out) - o, "%s%.*s",
			    o > 0 ? "," : "", e != NULL ? (int)(e - p) :
			    (int)strlen(p), p);
		if (o >= sizeof(out))
			return;
		p = e != NULL ? e + 1 : NULL;
	}
	snprintf(item, sizeof(item), "%s%s:%" PRIu64, o > 0 ? "," : "",
	    contact, n);
	if (o + strlen(item) + 1 > len || o + strlen(item) + 1 > sizeof(out))
		return;
	memcpy(out + o, item, strlen(item) + 1);
	strlcpy(list, out, len);
}

/* A problem page went out for ev: remember it, reminders and escalations
 * start afresh. An event at or below the open problem's (a rescan after a
 * restart) changes nothing. */
void
memo_problem_open(struct memo_entry *e, const struct spool_event *ev)
{
	if (ev->seq <= e->problem)
		return;
	e->problem = ev->seq;
	e->problem_time = ev->time;
	strlcpy(e->state, ev->new_state, sizeof(e->state));
	strlcpy(e->message, ev->message, sizeof(e->message));
	e->rounds[0] = '\0';
	e->escalated[0] = e->escalated_at[0] = '\0';
	e->paged[0] = '\0';
}

/* The problem is over: a recovery, event seq (one older than the open
 * problem, read again after a restart, changes nothing). */
void
memo_problem_close(struct memo_entry *e, uint64_t seq)
{
	if (seq < e->problem)
		return;
	e->problem = 0;
	e->problem_time = 0;
	e->state[0] = e->message[0] = '\0';
	e->rounds[0] = '\0';
	e->escalated[0] = e->escalated_at[0] = '\0';
	e->paged[0] = '\0';
}

/*
 * Event ev of the entry's server is read: a problem inside a downtime
 * (not paged then) is held for the downtime's end; any other event ends
 * what was held (a recovery, or a change paged or judged on its own). An
 * event at or below the open problem or what is held (read again after a
 * restart) changes nothing.
 */
void
memo_held_note(struct memo_entry *e, const struct spool_event *ev)
{
	if (ev->seq <= e->problem || ev->seq <= e->held)
		return;
	if (ev->downtime && strcmp(ev->new_state, "up") != 0) {
		e->held = ev->seq;
		e->held_time = ev->time;
		strlcpy(e->held_state, ev->new_state, sizeof(e->held_state));
		strlcpy(e->held_message, ev->message,
		    sizeof(e->held_message));
	} else {
		e->held = 0;
		e->held_time = 0;
		e->held_state[0] = e->held_message[0] = '\0';
	}
}

/*
 * A parent's problem page (event seq) to contact on channel lists the
 * comma-separated children: each child's entry says so, for its own
 * unreachable event to go to no one who read it there.
 */
void
memo_listed_note(struct memo *m, const char *children, const char *contact,
    enum channel ch, uint64_t seq)
{
	struct memo_entry	*e;
	char			 name[256], who[CONTACT_MAX + 16];
	const char		*p = children;
	size_t			 len;

	snprintf(who, sizeof(who), "%s/%s", contact, queue_channel_str(ch));
	while (*p != '\0') {
		len = strcspn(p, ",");
		snprintf(name, sizeof(name), "%.*s", (int)len, p);
		if ((e = memo_get(m, name)) != NULL) {
			memo_list_add(e->listed, sizeof(e->listed), who);
			e->listed_by = seq;
			memo_touch(m);
		}
		p += len;
		if (*p == ',')
			p++;
	}
}

/*
 * Event ev of the entry's server is read, before its wants are made: the
 * flapping it says is noted, and what a downtime holds (memo_held_note).
 * Returns whether the server flapped before it (a change that ends the
 * flapping is paged as such).
 */
int
memo_event_read(struct memo_entry *e, const struct spool_event *ev)
{
	int was = e->flapping;

	e->flapping = ev->flapping;
	memo_held_note(e, ev);
	return was;
}

/*
 * Event ev is paged to the n wants w (why: NULL when it is paged at all,
 * else why not, as rules_page_worthy says). A recovery closes the open
 * problem and forgets who got it by SMS or read it in a parent's page; a
 * problem paged to someone opens it, its contacts are the ones it reached
 * (renotify and escalate-after start from them only), and the contacts of
 * its SMS wants join those SMSed (their recovery then goes by SMS, quiet
 * hours or not). A change held while the server flaps changes none of
 * it: its contacts never heard of it, and the end of flapping is paged
 * to those who heard the problem before.
 */
void
memo_event_paged(struct memo_entry *e, const struct spool_event *ev,
    const char *why, const struct want *w, size_t n)
{
	size_t i;

	if (rules_flap_held(why))
		return;
	if (strcmp(ev->new_state, "up") == 0) {
		memo_problem_close(e, ev->seq);
		e->sms[0] = '\0';
		e->listed[0] = '\0';
		e->listed_by = 0;
		return;
	}
	if (why == NULL && n > 0)
		memo_problem_open(e, ev);
	for (i = 0; why == NULL && ev->seq == e->problem && i < n; i++)
		memo_list_add(e->paged, sizeof(e->paged), w[i].contact->name);
	for (i = 0; i < n; i++)
		if (w[i].ch == CH_SMS)
			memo_list_add(e->sms, sizeof(e->sms),
			    w[i].contact->name);
}

/* The state the server's contacts last heard of it: its open problem's,
 * "up" when none is open. */
const char *
memo_heard(const struct memo_entry *e)
{
	return e->problem != 0 ? e->state : "up";
}
