/*
 * test_statefile.c: probed's state file (probed/statefile.c) through a
 * real engine: at start it is brought level with the spool (a crash can
 * leave it behind, never ahead), a version it does not know or a link is
 * refused rather than misread, crash leftovers go, and what it writes says
 * which events it holds.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <curl/curl.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <jansson.h>

#include "conf.h"
#include "spool.h"
#include "stateread.h"

#include "engine.h"
#include "probed.h"

#include "ckrun.h"
#include "tmpdir.h"

static char	 dir[64], sdir[128];

static void
put(const char *name, const char *text)
{
	char	 path[256];
	FILE	*fp;

	snprintf(path, sizeof(path), "%s/%s", sdir, name);
	ck_assert_ptr_nonnull(fp = fopen(path, "w"));
	fputs(text, fp);
	ck_assert_int_eq(fclose(fp), 0);
}

static int
exists(const char *name)
{
	char	 path[256];

	snprintf(path, sizeof(path), "%s/%s", sdir, name);
	return access(path, F_OK) == 0;
}

static void
setup(void)
{
	char	 path[256];
	FILE	*fp;

	tmpdir_make(dir, sizeof(dir), "statefile");
	snprintf(sdir, sizeof(sdir), "%s/state", dir);
	ck_assert_int_eq(mkdir(sdir, 0750), 0);
	snprintf(path, sizeof(path), "%s/spool", sdir);
	ck_assert_int_eq(mkdir(path, 0750), 0);
	snprintf(path, sizeof(path), "%s/tocsin.conf", dir);
	ck_assert_ptr_nonnull(fp = fopen(path, "w"));
	fprintf(fp, "set state-dir %s\nset interval 1h\nset archives off\n"
	    "server a tcp://127.0.0.1:1\nserver b tcp://127.0.0.1:2\n", sdir);
	ck_assert_int_eq(fclose(fp), 0);
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
	char		*errs = NULL, path[256];

	snprintf(path, sizeof(path), "%s/tocsin.conf", dir);
	ck_assert_ptr_nonnull(c = conf_load(path, &errs));
	e = engine_new(base, c, &errs);
	ck_assert_msg(e != NULL, "engine_new: %s", errs ? errs : "");
	return e;
}

/* A state file with a hard and b hard, as probed writes it. */
static void
put_state(int version, uint64_t spooled, const char *a, const char *b)
{
	char	 text[512];

	snprintf(text, sizeof(text), "{\"version\":%d,\"written\":1,"
	    "\"spooled\":%llu,\"servers\":{"
	    "\"a\":{\"state\":\"%s\",\"type\":\"hard\",\"hard\":\"%s\"},"
	    "\"b\":{\"state\":\"%s\",\"type\":\"hard\",\"hard\":\"%s\"}}}",
	    version, (unsigned long long)spooled, a, a, b, b);
	put("state.json", text);
}

static void
put_event(uint64_t seq, const char *id, const char *from, const char *to)
{
	char	 name[64], text[256];

	snprintf(name, sizeof(name), "spool/%020llu.json",
	    (unsigned long long)seq);
	snprintf(text, sizeof(text), "{\"seq\":%llu,\"id\":\"%s\",\"time\":"
	    "1700000000,\"old\":\"%s\",\"new\":\"%s\"}\n",
	    (unsigned long long)seq, id, from, to);
	put(name, text);
}

START_TEST(state_file_behind_the_spool_takes_the_last_event)
{
	struct event_base	*base;
	struct engine		*e;
	struct target		*t;

	put_state(1, 3, "up", "up");
	put_event(2, "b", "down", "up");	/* in the file already */
	put_event(4, "a", "up", "down");	/* cut off by a crash */
	put_event(5, "a", "down", "degraded");
	ck_assert_ptr_nonnull(base = event_base_new());
	e = start(base);
	ck_assert_ptr_nonnull(t = engine_find(e, "a"));
	ck_assert_int_eq(t->st.hard, HSTATE_DEGRADED);
	ck_assert_int_eq(t->st.state, HSTATE_DEGRADED);
	ck_assert_int_eq(t->st.type, STATE_HARD);
	ck_assert_int_eq(t->st.since, 1700000000);
	ck_assert_ptr_nonnull(t = engine_find(e, "b"));
	ck_assert_int_eq(t->st.hard, HSTATE_UP);
	engine_free(e);
	event_base_free(base);
}
END_TEST

START_TEST(no_state_file_takes_every_server_from_the_spool)
{
	struct event_base	*base;
	struct engine		*e;

	put_event(7, "b", "unknown", "down");
	ck_assert_ptr_nonnull(base = event_base_new());
	e = start(base);
	ck_assert_int_eq(engine_find(e, "a")->st.hard, HSTATE_UNKNOWN);
	ck_assert_int_eq(engine_find(e, "b")->st.hard, HSTATE_DOWN);
	engine_free(e);
	event_base_free(base);
}
END_TEST

START_TEST(unknown_version_is_refused_not_misread)
{
	struct event_base	*base;
	struct engine		*e;

	put_state(2, 0, "down", "down");
	ck_assert_ptr_nonnull(base = event_base_new());
	e = start(base);
	ck_assert_int_eq(engine_find(e, "a")->st.hard, HSTATE_UNKNOWN);
	ck_assert_int_eq(engine_find(e, "b")->st.hard, HSTATE_UNKNOWN);
	engine_free(e);
	event_base_free(base);
}
END_TEST

START_TEST(state_file_that_is_a_link_is_not_followed)
{
	struct event_base	*base;
	struct engine		*e;
	char			 path[256], target[256];

	put_state(1, 0, "down", "down");
	snprintf(path, sizeof(path), "%s/state.json", sdir);
	snprintf(target, sizeof(target), "%s/elsewhere.json", dir);
	ck_assert_int_eq(rename(path, target), 0);
	ck_assert_int_eq(symlink(target, path), 0);
	ck_assert_ptr_nonnull(base = event_base_new());
	e = start(base);
	ck_assert_int_eq(engine_find(e, "a")->st.hard, HSTATE_UNKNOWN);
	engine_free(e);
	event_base_free(base);
	/* The link was replaced by a file; what it pointed to is intact. */
	{
		struct stat st;

		ck_assert_int_eq(lstat(path, &st), 0);
		ck_assert(S_ISREG(st.st_mode));
		ck_assert_int_eq(lstat(target, &st), 0);
		ck_assert(S_ISREG(st.st_mode));
	}
}
END_TEST

START_TEST(crash_leftovers_are_removed_and_file_says_what_it_holds)
{
	struct event_base	*base;
	struct engine		*e;
	struct stateread	 sr;
	char			 err[256];
	int			 dfd;

	put("state.json.tmp", "{\"vers");
	put(".tmp.state.json", "{\"vers");
	put_event(9, "a", "unknown", "down");
	ck_assert_ptr_nonnull(base = event_base_new());
	e = start(base);
	ck_assert(!exists("state.json.tmp"));
	ck_assert(!exists(".tmp.state.json"));
	engine_free(e);
	event_base_free(base);
	ck_assert_int_ne(dfd = open(sdir, O_RDONLY | O_DIRECTORY), -1);
	ck_assert_msg(stateread_load(dfd, "state.json", &sr, err,
	    sizeof(err)) == 0, "%s", err);
	close(dfd);
	ck_assert_uint_ge(sr.spooled, 9);
	ck_assert_str_eq(json_string_value(json_object_get(
	    json_object_get(sr.servers, "a"), "hard")), "down");
	stateread_free(&sr);
	ck_assert(!exists("state.json.tmp"));
	ck_assert(!exists(".tmp.state.json"));
}
END_TEST

static Suite *
statefile_suite(void)
{
	Suite	*s = suite_create("statefile");
	TCase	*tc = tcase_create("statefile");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, state_file_behind_the_spool_takes_the_last_event);
	tcase_add_test(tc, no_state_file_takes_every_server_from_the_spool);
	tcase_add_test(tc, unknown_version_is_refused_not_misread);
	tcase_add_test(tc, state_file_that_is_a_link_is_not_followed);
	tcase_add_test(tc,
	    crash_leftovers_are_removed_and_file_says_what_it_holds);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	int	 rc;

	evthread_use_pthreads();
	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = ckrun(statefile_suite());
	curl_global_cleanup();
	return rc;
}
