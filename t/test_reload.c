/*
 * test_reload.c: the engine's reload (what SIGHUP and `tocsinctl reload`
 * do): a bad config keeps the running one and reports FILE:LINE; a good
 * one keeps each server's state by id, drops removed servers and adds new
 * ones as unknown.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <curl/curl.h>
#include <event2/event.h>
#include <event2/thread.h>

#include "conf.h"
#include "engine.h"
#include "probed.h"

#include "ckrun.h"
#include "tmpdir.h"

static char	 dir[64], path[128];

static void
write_conf(const char *body)
{
	FILE *fp;

	ck_assert_ptr_nonnull(fp = fopen(path, "w"));
	fprintf(fp, "set state-dir %s/state\nset interval 1h\n"
	    "set archives off\n%s", dir, body);
	fclose(fp);
}

static void
setup(void)
{
	tmpdir_make(dir, sizeof(dir), "reload");
	snprintf(path, sizeof(path), "%s/tocsin.conf", dir);
}

static void
teardown(void)
{
	tmpdir_remove(dir);
}

static struct engine *
start(struct event_base *base)
{
	struct conf	*c;
	struct engine	*e;
	char		*errs = NULL;

	ck_assert_ptr_nonnull(c = conf_load(path, &errs));
	e = engine_new(base, c, &errs);
	ck_assert_msg(e != NULL, "engine_new: %s", errs ? errs : "");
	return e;
}

START_TEST(reload_with_bad_config_keeps_old)
{
	struct event_base	*base;
	struct engine		*e;
	struct target		*t;
	char			*errs = NULL, want[256];

	write_conf("server a tcp://127.0.0.1:1\nserver b tcp://127.0.0.1:2\n");
	ck_assert_ptr_nonnull(base = event_base_new());
	e = start(base);
	ck_assert_ptr_nonnull(t = engine_find(e, "a"));
	t->st.checks = 7;

	write_conf("server a tcp://127.0.0.1:1\nserver c gopher://x/\n");
	ck_assert_int_eq(engine_reload(e, &errs), -1);
	snprintf(want, sizeof(want), "%s:5: unknown URL scheme 'gopher'", path);
	ck_assert_ptr_nonnull(errs);
	ck_assert_msg(strstr(errs, want) != NULL, "errors: %s", errs);
	free(errs);
	ck_assert_uint_eq(engine_ntargets(e), 2);
	ck_assert_ptr_eq(engine_find(e, "a"), t);
	ck_assert_ptr_nonnull(engine_find(e, "b"));
	ck_assert_ptr_null(engine_find(e, "c"));
	ck_assert_uint_eq(t->st.checks, 7);
	engine_free(e);
	event_base_free(base);
}
END_TEST

START_TEST(reload_keeps_state_by_id_drops_removed_adds_new)
{
	struct event_base	*base;
	struct engine		*e;
	struct target		*t, *n;
	char			*errs = NULL;

	write_conf("server a tcp://127.0.0.1:1\nserver b tcp://127.0.0.1:2\n");
	ck_assert_ptr_nonnull(base = event_base_new());
	e = start(base);
	ck_assert_ptr_nonnull(t = engine_find(e, "a"));
	t->st.checks = 7;
	t->st.hard = t->st.state = HSTATE_DOWN;
	t->st.since = 1700000000;

	write_conf("server new http://127.0.0.1:3/ interval 5m\n"
	    "server a tcp://127.0.0.1:1 interval 2h\n");
	ck_assert_int_eq(engine_reload(e, &errs), 0);
	ck_assert_ptr_null(errs);
	ck_assert_uint_eq(engine_ntargets(e), 2);
	ck_assert_ptr_eq(engine_find(e, "a"), t);
	ck_assert_uint_eq(t->st.checks, 7);
	ck_assert_int_eq(t->st.hard, HSTATE_DOWN);
	ck_assert_int_eq(t->st.since, 1700000000);
	ck_assert_uint_eq(t->sc->o.interval, 2 * 3600 * 1000);
	ck_assert_ptr_null(engine_find(e, "b"));
	ck_assert_ptr_nonnull(n = engine_find(e, "new"));
	ck_assert_int_eq(n->st.hard, HSTATE_UNKNOWN);
	ck_assert_uint_eq(n->st.checks, 0);
	engine_free(e);
	event_base_free(base);
}
END_TEST

static Suite *
reload_suite(void)
{
	Suite	*s = suite_create("reload");
	TCase	*tc = tcase_create("reload");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, reload_with_bad_config_keeps_old);
	tcase_add_test(tc, reload_keeps_state_by_id_drops_removed_adds_new);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	int	 rc;

	evthread_use_pthreads();
	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = ckrun(reload_suite());
	curl_global_cleanup();
	return rc;
}
