/*
 * data.c: what tocsin.cgi knows of the servers at a request: probed's
 * `status` (and `stats`) over its control socket, or, when probed is gone,
 * the state file it left, made into the objects `tocsinctl -j status`
 * prints then.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "conf.h"
#include "ctlclient.h"
#include "paths.h"
#include "util.h"
#include "xmalloc.h"
#include "web.h"

static void	 ask_live(struct web *, int, json_t **, json_t **, char *,
		    size_t, struct web_data *);
static int	 load_live(struct web *, struct web_data *, json_t *, json_t *);
static int	 load_state(struct web *, struct web_data *);
static json_t	*stale_obj(const struct ctl_server *);
static json_t	*ask(int, const char *);
static void	 read_status(const char *, int, json_t **,
		    struct web_data *);

/* One request on fd; the parsed answer when ok, else NULL. */
static json_t *
ask(int fd, const char *req)
{
	char	*line;
	json_t	*j;

	if (ctlclient_request(fd, req, &line) == -1)
		return NULL;
	if (ctlclient_parse(line, &j, NULL, 0) != CTL_LINE_OK) {
		json_decref(j);
		j = NULL;
	}
	free(line);
	return j;
}

/*
 * probed's status answer text: unless need has DATA_OBJS, read straight
 * into d's servers (d->live set) when statusscan can; else parsed into
 * *status (NULL when it is not an ok answer).
 */
static void
read_status(const char *text, int need, json_t **status,
    struct web_data *d)
{
	if (!(need & DATA_OBJS) &&
	    statusscan(text, &d->servers, &d->n) == 0) {
		d->live = 1;
		return;
	}
	if (ctlclient_parse(text, status, NULL, 0) != CTL_LINE_OK) {
		json_decref(*status);
		*status = NULL;
	}
}

/*
 * status (and with DATA_STATS in need, stats) from probed over its
 * socket, blocking (CTL_TIMEOUT_MS at most): *status the answer or NULL
 * with why set; *stats may be NULL. Without DATA_OBJS in need the status
 * answer is read straight into d's servers when statusscan can
 * (d->servers set, *status NULL, why empty); else it is parsed.
 */
static void
ask_live(struct web *w, int need, json_t **status, json_t **stats,
    char *why, size_t len, struct web_data *d)
{
	char	*line = NULL;
	int	 fd, saved;

	*status = *stats = NULL;
	if ((fd = ctlclient_connect(w->conf->control)) == -1) {
		saved = errno;
		snprintf(why, len, "%s", data_why(saved));
		return;
	}
	if (ctlclient_request(fd, "status", &line) == 0)
		read_status(line, need, status, d);
	free(line);
	if (*status == NULL && !d->live)
		snprintf(why, len, "tocsin-probed did not answer status");
	else if (need & DATA_STATS)
		*stats = ask(fd, "stats");
	close(fd);
}

/* Why probed is not live, from a connect's errno. */
const char *
data_why(int err)
{
	return err == ENOENT || err == ECONNREFUSED ?
	    "tocsin-probed is not running" : err == ETIMEDOUT ||
	    err == EAGAIN ?
	    "tocsin-probed is not answering" : "cannot reach tocsin-probed";
}

/* d from probed's answers. Returns 0, or -1 with d->why set. */
static int
load_live(struct web *w, struct web_data *d, json_t *status, json_t *stats)
{
	char	 err[256];

	(void)w;
	if (ctlclient_servers_from_answer(status, &d->servers, &d->n, err,
	    sizeof(err)) == -1) {
		snprintf(d->why, sizeof(d->why), "a bad answer from "
		    "tocsin-probed");
		return -1;
	}
	d->objs = json_incref(json_object_get(status, "servers"));
	if (stats != NULL)
		d->stats = json_incref(json_object_get(stats, "stats"));
	d->live = 1;
	return 0;
}

/* A stale server as `tocsinctl -j status` prints it from the state file. */
static json_t *
stale_obj(const struct ctl_server *s)
{
	return json_pack("{s:s,s:s?,s:s,s:s?,s:o,s:o,s:o,s:s,s:b,s:b,"
	    "s:b,s:o,s:b}",
	    "id", s->id,
	    "kind", s->kind[0] != '\0' ? s->kind : NULL,
	    "state", s->state,
	    "state_type", s->state_type[0] != '\0' ? s->state_type : NULL,
	    "since", s->since != 0 ? json_integer(s->since) : json_null(),
	    "last_check", s->last_check != 0 ? json_integer(s->last_check) :
	    json_null(),
	    "latency_ms", s->latency_ms >= 0 ? json_real(s->latency_ms) :
	    json_null(),
	    "message", s->message,
	    "flapping", s->flapping,
	    "acked", s->acked,
	    "drained", s->drained,
	    "downtime_until", s->downtime_until != 0 ?
	    json_integer(s->downtime_until) : json_null(),
	    "stale", 1);
}

/* The state file. Returns 0, or -1 (d->why says probed is gone and
 * why there is no last state either). */
static int
load_state(struct web *w, struct web_data *d)
{
	const struct server_conf	*sc;
	char				 path[PATH_MAX], err[PATH_MAX + 64];
	json_t				*o;
	size_t				 i;

	snprintf(path, sizeof(path), "%s/%s", w->conf->state_dir,
	    PATH_STATE_FILE);
	if (ctlclient_state_load(path, &d->servers, &d->n, &d->written, err,
	    sizeof(err)) == -1) {
		d->servers = NULL;
		d->n = 0;
		i = strlen(d->why);
		snprintf(d->why + i, sizeof(d->why) - i,
		    "; no last known state");
		return -1;
	}
	d->objs = json_array();
	for (i = 0; i < d->n; i++) {
		if ((sc = conf_find_server(w->conf, d->servers[i].id)) != NULL)
			strlcpy(d->servers[i].kind, conf_kind_str(sc->kind),
			    sizeof(d->servers[i].kind));
		if ((o = stale_obj(&d->servers[i])) == NULL)
			o = json_object();
		json_array_append_new(d->objs, o);
	}
	return 0;
}

/*
 * Fill d: live from probed, else from the state file. Returns 0 (d may
 * hold no servers when neither is there: d->why says so); d is freed
 * with data_free either way. When w->pre is set (--serve asked probed
 * without blocking) its answers are used; else probed is asked here.
 * need: DATA_OBJS when the page needs d->objs, probed's JSON objects
 * (without, the servers are read straight from the answer, statusscan.c,
 * and d->objs is an empty array), DATA_STATS when it needs d->stats (a
 * CGI asks probed for them only then).
 */
int
data_load(struct web *w, struct web_data *d, int need)
{
	json_t	*status, *stats;
	int	 rc;

	memset(d, 0, sizeof(*d));
	d->now = time(NULL);
	if (w->pre != NULL) {
		status = json_incref(w->pre->status);
		stats = json_incref(w->pre->stats);
		snprintf(d->why, sizeof(d->why), "%s", w->pre->why);
		if (status == NULL && w->pre->status_text != NULL) {
			read_status(w->pre->status_text, need, &status, d);
			if (status == NULL && !d->live)
				snprintf(d->why, sizeof(d->why), "tocsin-probed "
				    "did not answer status");
		}
	} else
		ask_live(w, need, &status, &stats, d->why, sizeof(d->why), d);
	if (d->live) {		/* read straight: no objects */
		d->objs = json_array();
		if (stats != NULL)
			d->stats = json_incref(json_object_get(stats,
			    "stats"));
		json_decref(stats);
		return 0;
	}
	rc = status != NULL ? load_live(w, d, status, stats) : -1;
	json_decref(status);
	json_decref(stats);
	if (rc == 0)
		return 0;
	d->servers = NULL;
	d->n = 0;
	json_decref(d->objs);
	d->objs = NULL;
	load_state(w, d);
	if (d->objs == NULL)
		d->objs = json_array();
	return 0;
}

void
data_free(struct web_data *d)
{
	ctlclient_servers_free(d->servers, d->n);
	json_decref(d->objs);
	json_decref(d->stats);
	summary_free(d->sum);
	memset(d, 0, sizeof(*d));
}

/*
 * A CGI about to exit: keep d's data, reachable, instead of freeing it
 * (one request a process). Freeing a parsed status of thousands of
 * servers costs a CGI more than drawing its page (perf: a sixth of the
 * CPU for 10,000, with glibc consolidating as it goes); the kernel takes
 * it back at exit, and LeakSanitizer sees it reachable, not leaked.
 */
void
data_keep(struct web_data *d)
{
	static struct web_data	kept;

	data_free(&kept);
	kept = *d;
	memset(d, 0, sizeof(*d));
}

/* The server with this id and (obj non-NULL) its JSON object; NULL when
 * probed does not know it. */
const struct ctl_server *
data_find(const struct web_data *d, const char *id, json_t **obj)
{
	size_t	 i;

	for (i = 0; i < d->n; i++)
		if (strcmp(d->servers[i].id, id) == 0) {
			if (obj != NULL)
				*obj = json_array_get(d->objs, i);
			return &d->servers[i];
		}
	return NULL;
}

/* How bad a state is, for sorting: down 3, degraded 2, unknown 1, up 0. */
int
data_severity(const char *state)
{
	if (strcmp(state, "down") == 0)
		return 3;
	if (strcmp(state, "degraded") == 0)
		return 2;
	if (strcmp(state, "up") == 0)
		return 0;
	return 1;
}
