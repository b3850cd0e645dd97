/*
 * ctl_stub_engine.c: a test double of the engine functions ctl.c calls,
 * over a small fixed table of targets with made-up states, so the control
 * socket is tested without checks, archives or a config file. It counts
 * what ctl.c asked of it; test_ctl.c reads the counts through the stub_*
 * functions below (declared again there: keep the two lists in step).
 */
#include <stdlib.h>
#include <string.h>

#include "probed.h"
#include "xmalloc.h"

#define STUB_TARGETS	4

struct engine {
	struct event_base	*base;
	struct target		 targets[STUB_TARGETS];
	unsigned		 saves;		/* engine_save_state calls */
	unsigned		 checks_now;	/* engine_check_now calls */
	unsigned		 reloads;
	char			*reload_error;	/* next reloads fail with it */
};

struct engine	*stub_engine_new(struct event_base *);
void		 stub_engine_free(struct engine *);
unsigned	 stub_engine_saves(const struct engine *);
unsigned	 stub_engine_checks_now(const struct engine *);
unsigned	 stub_engine_reloads(const struct engine *);
void		 stub_engine_fail_reload(struct engine *, const char *);

static struct farm_conf stub_farm = { .name = "shop" };

static struct server_conf stub_confs[STUB_TARGETS] = {
	{ .id = "www1", .name = "www1", .kind = KIND_HTTP,
	  .url = "https://www1.example.net/health" },
	{ .id = "shop/web1", .name = "web1", .farm = &stub_farm,
	  .kind = KIND_HTTP, .url = "http://10.0.0.11:8080/health" },
	{ .id = "db1", .name = "db1", .kind = KIND_TCP,
	  .url = "tcp://db1.example.net:5432" },
	{ .id = "gw", .name = "gw", .kind = KIND_PING,
	  .url = "ping://gw.example.net" },
};

/*
 * A stub engine on base: www1 up (hard, 12.3 ms), shop/web1 degraded
 * (soft), db1 down (hard, with failures), gw never checked.
 */
struct engine *
stub_engine_new(struct event_base *base)
{
	struct engine	*eng;
	struct state	*st;
	int		 i;

	eng = xcalloc(1, sizeof(*eng));
	eng->base = base;
	for (i = 0; i < STUB_TARGETS; i++) {
		eng->targets[i].sc = &stub_confs[i];
		eng->targets[i].life = TARGET_LIVE;
		state_init(&eng->targets[i].st);
	}

	st = &eng->targets[0].st;
	st->state = st->hard = st->candidate = HSTATE_UP;
	st->type = STATE_HARD;
	st->since = 1700000000;
	st->last_check = 1700003600;
	st->last_latency_us = 12300;
	st->last_status = CHECK_OK;
	state_set_text(&st->message, "HTTP 200 in 12 ms", STATE_MSG_MAX);
	st->checks = 60;

	st = &eng->targets[1].st;
	st->state = HSTATE_DEGRADED;
	st->hard = HSTATE_UP;
	st->type = STATE_SOFT;
	st->since = 1700000100;
	st->last_check = 1700003590;
	st->last_latency_us = 812000;
	st->last_status = CHECK_OK;
	state_set_text(&st->message, "HTTP 200 in 812 ms, over 500 ms",
	    STATE_MSG_MAX);
	st->checks = 60;
	st->failures = 1;

	st = &eng->targets[2].st;
	st->state = st->hard = st->candidate = HSTATE_DOWN;
	st->type = STATE_HARD;
	st->since = 1700003000;
	st->last_check = 1700003595;
	st->last_latency_us = 1500;
	st->last_status = CHECK_CRITICAL;
	state_set_text(&st->message, "db1: connection refused",
	    STATE_MSG_MAX);
	st->flap_pct = 12.5;
	st->checks = 40;
	st->failures = 12;

	return eng;
}

void
stub_engine_free(struct engine *eng)
{
	int	 i;

	if (eng == NULL)
		return;
	for (i = 0; i < STUB_TARGETS; i++)
		state_free(&eng->targets[i].st);
	free(eng->reload_error);
	free(eng);
}

unsigned
stub_engine_saves(const struct engine *eng)
{
	return eng->saves;
}

unsigned
stub_engine_checks_now(const struct engine *eng)
{
	return eng->checks_now;
}

unsigned
stub_engine_reloads(const struct engine *eng)
{
	return eng->reloads;
}

/* Make the next reloads fail with errors (NULL: succeed again). */
void
stub_engine_fail_reload(struct engine *eng, const char *errors)
{
	free(eng->reload_error);
	eng->reload_error = errors != NULL ? xstrdup(errors) : NULL;
}

struct event_base *
engine_base(struct engine *eng)
{
	return eng->base;
}

size_t
engine_ntargets(struct engine *eng)
{
	(void)eng;
	return STUB_TARGETS;
}

struct target *
engine_target(struct engine *eng, size_t i)
{
	return i < STUB_TARGETS ? &eng->targets[i] : NULL;
}

struct target *
engine_find(struct engine *eng, const char *id)
{
	int	 i;

	for (i = 0; i < STUB_TARGETS; i++)
		if (strcmp(eng->targets[i].sc->id, id) == 0)
			return &eng->targets[i];
	return NULL;
}

void
engine_check_now(struct engine *eng, struct target *t)
{
	t->check_now = 1;
	eng->checks_now++;
}

/* As the engine: 0, or -1 with *errors malloc'd ("FILE:LINE: ...\n"). */
int
engine_reload(struct engine *eng, char **errors)
{
	eng->reloads++;
	*errors = NULL;
	if (eng->reload_error == NULL)
		return 0;
	*errors = xstrdup(eng->reload_error);
	return -1;
}

void
engine_save_state(struct engine *eng)
{
	eng->saves++;
}

void
engine_share_change(struct engine *eng, struct target *const *ts, size_t n,
    const char *what)
{
	(void)eng;
	(void)ts;
	(void)n;
	(void)what;
}

struct json_t *
engine_cluster_json(struct engine *eng, const struct target *t, int64_t now)
{
	(void)eng;
	(void)t;
	(void)now;
	return NULL;
}

struct json_t *
engine_cluster_head(struct engine *eng)
{
	(void)eng;
	return NULL;
}

void
engine_stats(struct engine *eng, struct engine_stats *es)
{
	(void)eng;
	memset(es, 0, sizeof(*es));
	es->checks = 160;
	es->running = 2;
	es->pending = 1;
	es->lateness_p50_us = 1500;
	es->lateness_p99_us = 25000;
	es->lateness_max_us = 40000;
	es->events = 3;
	es->archive_dropped = 0;
	es->uptime_s = 3600;
}
