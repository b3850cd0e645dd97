/*
 * statefile.c: the state file of tocsin-probed. Its one promise: it is
 * never ahead of the spool. A hard change is queued to the spool worker
 * when it is decided; the state file is queued to the same worker, which
 * works in order, so every change the file holds is on disk as an event
 * before the file is. The file says up to which sequence number it holds
 * every event ("spooled"); at start the events above it are read back, and
 * a server whose saved hard state is older than its last event takes the
 * event's, so each server's events stay a chain (each old is the previous
 * new) however the daemon was stopped.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "fsutil.h"
#include "jsontext.h"
#include "log.h"
#include "paths.h"
#include "spool.h"
#include "stateread.h"
#include "xmalloc.h"

#include "probed.h"
#include "spoolq.h"
#include "statefile.h"

#define SAVE_EVERY_S	60	/* rewritten at most this often when dirty */
#define SAVE_SLICE	500	/* targets added to the file per loop turn */

struct statefile {
	struct engine	*eng;
	struct spoolq	*spoolq;
	char		*dir;		/* the state folder */
	int		 dirfd;
	struct event	*timer;		/* every SAVE_EVERY_S */
	struct event	*step_ev;	/* next slice */
	int		 dirty;		/* changed since the last save */
	char		*buf;		/* the file being built */
	size_t		 len, cap;
	size_t		 next;		/* next target to add */
	int		 saving;
	int		 again;		/* asked for while saving */
};

/* The last event of a server found in the spool at start. */
struct last_event {
	uint64_t	 seq;		/* 0 = none */
	enum hstate	 state;
	int64_t		 time;
};

static void	 on_timer(evutil_socket_t, short, void *);
static void	 on_step(evutil_socket_t, short, void *);
static void	 step(struct statefile *, int);
static void	 add(struct statefile *, const char *, size_t);
static void	 add_target(struct statefile *, const struct target *);
static void	 read_state(struct statefile *, uint64_t *);
static void	 catch_up(struct statefile *, uint64_t);

/*
 * Open the state folder for e's state file; written through spoolq, which
 * must outlive it until statefile_free. Removes a temporary a crash left.
 * NULL with *err.
 */
struct statefile *
statefile_open(struct engine *e, struct spoolq *q, const char *state_dir,
    char **err)
{
	struct statefile	*sf;
	struct timeval		 tv = { SAVE_EVERY_S, 0 };

	sf = xcalloc(1, sizeof(*sf));
	sf->eng = e;
	sf->spoolq = q;
	sf->dir = xstrdup(state_dir);
	if ((sf->dirfd = open(state_dir, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1) {
		xasprintf(err, "cannot open state folder %s: %s", state_dir,
		    strerror(errno));
		free(sf->dir);
		free(sf);
		return NULL;
	}
	fsutil_clean_tmp(sf->dirfd, state_dir);
	if ((sf->step_ev = event_new(engine_base(e), -1, 0, on_step, sf)) ==
	    NULL)
		fatalx("statefile: event_new");
	if ((sf->timer = event_new(engine_base(e), -1, EV_PERSIST, on_timer,
	    sf)) == NULL || event_add(sf->timer, &tv) == -1)
		fatalx("statefile: timer");
	return sf;
}

/*
 * Read the state file into the engine's targets, then bring it level
 * with the spool. A file that cannot be read (a link, a version this
 * program does not know, broken JSON) is logged and every server starts
 * unknown; the next save replaces it.
 */
void
statefile_load(struct statefile *sf)
{
	uint64_t	 spooled = 0;

	read_state(sf, &spooled);
	catch_up(sf, spooled);
}

/* Fill the targets from the file; *spooled as it says (0 if none). */
static void
read_state(struct statefile *sf, uint64_t *spooled)
{
	struct stateread	 sr;
	struct target		*t;
	json_t			*v;
	char			 err[512];
	size_t			 i;

	if (stateread_load(sf->dirfd, PATH_STATE_FILE, &sr, err,
	    sizeof(err)) == -1) {
		if (errno != ENOENT)
			log_warnx("%s/%s; starting with every server unknown",
			    sf->dir, err);
		return;
	}
	*spooled = sr.spooled;
	for (i = 0; i < engine_ntargets(sf->eng); i++) {
		t = engine_target(sf->eng, i);
		if ((v = json_object_get(sr.servers, t->sc->id)) != NULL &&
		    state_from_json(&t->st, v) == -1) {
			log_warnx("%s/%s: bad saved state for %s, ignored",
			    sf->dir, PATH_STATE_FILE, t->sc->id);
			state_free(&t->st);
		}
	}
	stateread_free(&sr);
}

/*
 * The events above spooled may be missing from the file (a crash before
 * its next write): a server whose hard state differs from its last such
 * event's new state takes that state, as the pager has heard it.
 */
static void
catch_up(struct statefile *sf, uint64_t spooled)
{
	struct last_event	*last;
	struct spool_event	 ev;
	struct target		*t;
	uint64_t		*seqs = NULL;
	size_t			 n = 0, i, nt = engine_ntargets(sf->eng);
	char			*sdir;
	enum hstate		 h;

	xasprintf(&sdir, "%s/%s", sf->dir, PATH_SPOOL_DIR);
	if (spool_list(sdir, spooled, &seqs, &n) == -1) {
		log_warn("cannot list %s", sdir);
		free(sdir);
		return;
	}
	last = xcalloc(nt + 1, sizeof(*last));
	for (i = 0; i < n; i++) {
		if (spool_read(sdir, seqs[i], &ev) == -1 ||
		    (t = engine_find(sf->eng, ev.id)) == NULL ||
		    hstate_parse(ev.new_state, &h) == -1)
			continue;
		last[t->sc->idx].seq = ev.seq;
		last[t->sc->idx].state = h;
		last[t->sc->idx].time = ev.time;
	}
	for (i = 0; i < nt; i++) {
		t = engine_target(sf->eng, i);
		if (last[i].seq == 0 || t->st.hard == last[i].state)
			continue;
		log_info("%s: saved state %s is older than event %" PRIu64
		    " (%s); taking the event's", t->sc->id,
		    hstate_str(t->st.hard), last[i].seq,
		    hstate_str(last[i].state));
		state_set_hard(&t->st, last[i].state, last[i].time);
		sf->dirty = 1;
	}
	free(last);
	free(seqs);
	free(sdir);
}

/* Something changed: write the file at the next tick. */
void
statefile_touch(struct statefile *sf)
{
	sf->dirty = 1;
}

/* Append to the file being built. */
static void
add(struct statefile *sf, const char *text, size_t len)
{
	if (sf->len + len + 1 > sf->cap) {
		while (sf->len + len + 1 > sf->cap)
			sf->cap = sf->cap ? sf->cap * 2 : 65536;
		sf->buf = xreallocarray(sf->buf, sf->cap, 1);
	}
	memcpy(sf->buf + sf->len, text, len);
	sf->len += len;
	sf->buf[sf->len] = '\0';
}

/* One target's entry: "ID":{state}, with a comma before all but the first. */
static void
add_target(struct statefile *sf, const struct target *t)
{
	json_t	*id, *st;
	char	*a, *b;

	id = jsontext(t->sc->id);
	st = state_to_json(&t->st);
	if (id == NULL || st == NULL ||
	    (a = json_dumps(id, JSON_ENCODE_ANY)) == NULL ||
	    (b = json_dumps(st, JSON_COMPACT)) == NULL)
		fatalx("statefile: cannot encode the state of %s", t->sc->id);
	if (sf->next > 0)
		add(sf, ",", 1);
	add(sf, a, strlen(a));
	add(sf, ":", 1);
	add(sf, b, strlen(b));
	free(a);
	free(b);
	json_decref(id);
	json_decref(st);
}

/*
 * Build the file a slice of SAVE_SLICE targets per loop turn, so a
 * hundred thousand servers never stall the checks (each entry is one
 * server's state at one moment); when whole, queue it behind the events
 * already queued. "spooled" is taken when the build starts: every event
 * the loop had been told of by then is in every entry. all: finish in one
 * go (at exit).
 */
static void
step(struct statefile *sf, int all)
{
	char	 head[160];
	size_t	 n = 0, nt = engine_ntargets(sf->eng);
	int	 len;

	if (sf->next == 0 && sf->len == 0) {
		len = snprintf(head, sizeof(head), "{\"version\":%d,"
		    "\"written\":%lld,\"spooled\":%" PRIu64 ",\"servers\":{",
		    STATE_VERSION, (long long)time(NULL),
		    spoolq_durable_seq(sf->spoolq));
		add(sf, head, len);
	}
	while (sf->next < nt && (all || n++ < SAVE_SLICE)) {
		add_target(sf, engine_target(sf->eng, sf->next));
		sf->next++;
	}
	if (sf->next < nt) {
		event_active(sf->step_ev, EV_TIMEOUT, 0);
		return;
	}
	add(sf, "}}\n", 3);
	spoolq_write_file(sf->spoolq, sf->dirfd, PATH_STATE_FILE, sf->buf);
	sf->buf = NULL;
	sf->len = sf->cap = sf->next = 0;
	sf->saving = 0;
	if (sf->again) {
		sf->again = 0;
		statefile_save(sf);
	}
}

static void
on_step(evutil_socket_t fd, short what, void *arg)
{
	step(arg, 0);
}

/* Drop a save under way (the target list changes): the caller saves
 * again once it has changed (statefile_save), or is exiting. */
void
statefile_abort(struct statefile *sf)
{
	if (!sf->saving)
		return;
	event_del(sf->step_ev);
	free(sf->buf);
	sf->buf = NULL;
	sf->len = sf->cap = sf->next = 0;
	sf->saving = 0;
	sf->again = 0;
}

/* Write the state file soon (the worker fsyncs, never the loop). */
void
statefile_save(struct statefile *sf)
{
	sf->dirty = 0;
	if (sf->saving) {
		sf->again = 1;
		return;
	}
	sf->saving = 1;
	step(sf, 0);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct statefile *sf = arg;

	if (sf->dirty)
		statefile_save(sf);
}

/* At exit: build the whole file now and queue it (spoolq_free writes it). */
void
statefile_flush(struct statefile *sf)
{
	statefile_abort(sf);
	sf->again = 0;
	sf->saving = 1;
	step(sf, 1);
}

/* After spoolq_free: nothing is queued for the folder any more. */
void
statefile_free(struct statefile *sf)
{
	if (sf == NULL)
		return;
	event_free(sf->timer);
	event_free(sf->step_ev);
	free(sf->buf);
	close(sf->dirfd);
	free(sf->dir);
	free(sf);
}
