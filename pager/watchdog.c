/*
 * watchdog.c: who watches the watcher. From each poll of tocsin-probed
 * (did it answer; its newest check result), whether monitoring has
 * stopped (no answer, or no result for twice the longest interval, for
 * longer than the grace) or is back, for `set admin` to be paged once
 * each way. What was told is kept in STATE_DIR/pager/watchdog.json, so a
 * restart neither repeats nor forgets it.
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

#define WATCHDOG_FILE		"watchdog.json"
#define WATCHDOG_GRACE_MIN	10	/* seconds, at least */

/* The longest check interval of conf, ms: its grace is twice that. */
uint64_t
watchdog_interval(const struct conf *conf)
{
	uint64_t	 interval = 0;
	size_t		 i;

	for (i = 0; i < conf->nservers; i++)
		if (conf->servers[i]->o.interval > interval)
			interval = conf->servers[i]->o.interval;
	return interval;
}

/*
 * Judge one poll at now (Unix s). answered: probed answered `status`;
 * newest: its newest check result (Unix s; 0 = none known); interval_ms:
 * the longest check interval of the config. Returns WD_STOPPED once the
 * trouble has lasted the grace (twice the longest interval, 10 s at
 * least), WD_BACK at the first good poll after that, else WD_NONE; why
 * says what is wrong (or "").
 */
enum wd_verdict
watchdog_judge(struct watchdog *w, int answered, int64_t newest,
    uint64_t interval_ms, int64_t now, char *why, size_t whylen)
{
	int64_t grace = 2 * (int64_t)(interval_ms / 1000);

	if (grace < WATCHDOG_GRACE_MIN)
		grace = WATCHDOG_GRACE_MIN;
	why[0] = '\0';
	if (!answered)
		snprintf(why, whylen, "tocsin-probed does not answer on its "
		    "control socket");
	else if (newest > 0 && now - newest > grace)
		snprintf(why, whylen, "no check result for %" PRId64 " s",
		    now - newest);
	if (why[0] == '\0') {
		w->bad_since = 0;
		if (!w->down)
			return WD_NONE;
		w->down = 0;
		return WD_BACK;
	}
	if (w->bad_since == 0)
		w->bad_since = now;
	if (w->down || now - w->bad_since < grace)
		return WD_NONE;
	w->down = 1;
	w->since = w->bad_since;
	w->incident++;
	return WD_STOPPED;
}

/* What was told before (nothing when there is no file). */
void
watchdog_load(int dirfd, struct watchdog *w)
{
	json_t		*o;
	json_error_t	 je;
	FILE		*f;
	int		 fd;

	memset(w, 0, sizeof(*w));
	if ((fd = openat(dirfd, WATCHDOG_FILE, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno != ENOENT)
			log_warn("%s", WATCHDOG_FILE);
		return;
	}
	if ((f = fdopen(fd, "r")) == NULL) {
		close(fd);
		return;
	}
	o = json_loadf(f, 0, &je);
	fclose(f);
	if (!json_is_object(o)) {
		log_warnx("%s: not an object; starting afresh", WATCHDOG_FILE);
		json_decref(o);
		return;
	}
	w->incident = json_integer_value(json_object_get(o, "incident"));
	w->down = json_is_true(json_object_get(o, "down"));
	w->since = json_integer_value(json_object_get(o, "since"));
	json_decref(o);
}

/* Keep what was told (atomically). Returns 0 or -1 (logged). */
int
watchdog_save(int dirfd, const struct watchdog *w)
{
	json_t	*o;
	char	*s;
	int	 r;

	if ((o = json_pack("{sIsbsI}", "incident", (json_int_t)w->incident,
	    "down", w->down, "since", (json_int_t)w->since)) == NULL ||
	    (s = json_dumps(o, JSON_COMPACT)) == NULL) {
		json_decref(o);
		return -1;
	}
	json_decref(o);
	if ((r = fsutil_write_atomic(dirfd, WATCHDOG_FILE, s, strlen(s), 0640,
	    0)) == -1)
		log_warn("cannot write %s", WATCHDOG_FILE);
	free(s);
	return r;
}

/*
 * The page set admin gets: event 0 of server "tocsin-probed", down when
 * monitoring stopped, up when it is back; its round (2N-1 and 2N for
 * incident N) makes each a message of its own.
 */
unsigned
watchdog_event(const struct watchdog *w, enum wd_verdict v, const char *why,
    int64_t now, struct spool_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	strlcpy(ev->id, "tocsin-probed", sizeof(ev->id));
	ev->time = now;
	strlcpy(ev->old_state, v == WD_STOPPED ? "up" : "down",
	    sizeof(ev->old_state));
	strlcpy(ev->new_state, v == WD_STOPPED ? "down" : "up",
	    sizeof(ev->new_state));
	if (v == WD_STOPPED)
		snprintf(ev->message, sizeof(ev->message), "monitoring has "
		    "stopped: %.200s", why);
	else
		snprintf(ev->message, sizeof(ev->message), "monitoring is "
		    "back: tocsin-probed answers again");
	return v == WD_STOPPED ? 2 * w->incident - 1 : 2 * w->incident;
}
