/*
 * test_ctl.c: the control socket (probed/ctl.c) and its client library
 * (lib/ctlclient.c), end to end over a real Unix socket. The loop runs in
 * a thread of its own on a stub engine (t/ctl_stub_engine.c); the test's
 * main thread is the client, and anything that touches the engine or
 * publishes runs on the loop thread through run_on_loop().
 */
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <jansson.h>

#include "ctlclient.h"
#include "ctlsock.h"
#include "util.h"
#include "xmalloc.h"

#include "ctl.h"
#include "probed.h"

#include "ckrun.h"

#define OUT_CAP		(1024 * 1024)	/* CTL_OUT_MAX in ctl.c */
#define CLIENTS_MAX	256		/* CTL_CLIENTS_MAX in ctl.c */

/* t/ctl_stub_engine.c; keep in step with the list there. */
struct engine	*stub_engine_new(struct event_base *);
void		 stub_engine_free(struct engine *);
unsigned	 stub_engine_saves(const struct engine *);
unsigned	 stub_engine_checks_now(const struct engine *);
unsigned	 stub_engine_reloads(const struct engine *);
void		 stub_engine_fail_reload(struct engine *, const char *);

struct loop_call {
	void		(*fn)(void *);
	void		*arg;
	int		 done;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
};

/* A copy of a target's state; its text fields and downtimes are NULL,
 * the comments copied beside it ("" for none), the downtimes' times and
 * numbers too. */
struct snap {
	const char	*id;
	struct state	 st;
	char		 ack_comment[STATE_COMMENT_MAX];
	unsigned	 ndt;
	struct {
		unsigned	 id;
		int64_t		 from, until;
		char		 comment[STATE_COMMENT_MAX];
		char		 farm[32];
	}		 dt[STATE_DOWNTIMES_MAX];
	int		 check_now;
	unsigned	 saves;
	unsigned	 checks_now;
	unsigned	 reloads;
};

struct pub {
	const char	*id;
	int		 n;
	int		 event;		/* publish an event, not results */
	uint64_t	 seq;
	const char	*message;
	int64_t		 total_us;
};

static struct event_base *base;
static struct engine	*eng;
static struct ctl	*ctl;
static pthread_t	 loop_thread;
static struct event	*stop_ev;
static char		 dir[64];
static char		 sock_path[128];

static void
on_stop(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	event_base_loopbreak(base);
}

static void *
loop_main(void *arg)
{
	(void)arg;
	event_base_loop(base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

static void
on_call(evutil_socket_t fd, short what, void *arg)
{
	struct loop_call *call = arg;

	(void)fd;
	(void)what;
	call->fn(call->arg);
	pthread_mutex_lock(&call->mu);
	call->done = 1;
	pthread_cond_signal(&call->cv);
	pthread_mutex_unlock(&call->mu);
}

/* Run fn(arg) on the loop thread and wait for it. */
static void
run_on_loop(void (*fn)(void *), void *arg)
{
	struct loop_call	 call;
	struct event		*ev;

	memset(&call, 0, sizeof(call));
	call.fn = fn;
	call.arg = arg;
	pthread_mutex_init(&call.mu, NULL);
	pthread_cond_init(&call.cv, NULL);
	ev = event_new(base, -1, 0, on_call, &call);
	ck_assert_ptr_nonnull(ev);
	event_active(ev, EV_TIMEOUT, 0);
	pthread_mutex_lock(&call.mu);
	while (!call.done)
		pthread_cond_wait(&call.cv, &call.mu);
	pthread_mutex_unlock(&call.mu);
	event_free(ev);
	pthread_mutex_destroy(&call.mu);
	pthread_cond_destroy(&call.cv);
}

static void
setup(void)
{
	signal(SIGPIPE, SIG_IGN);
	snprintf(dir, sizeof(dir), "/tmp/test_ctl.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sock_path, sizeof(sock_path), "%s/probed.sock", dir);
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	eng = stub_engine_new(base);
	ctl = ctl_open(eng, sock_path);
	ck_assert_ptr_nonnull(ctl);
	stop_ev = event_new(base, -1, 0, on_stop, NULL);
	ck_assert_int_eq(pthread_create(&loop_thread, NULL, loop_main, NULL),
	    0);
}

/* Stop the loop (an active event, so a stop before the loop runs is not
 * lost) and free everything. */
static void
teardown(void)
{
	char	 path[160];

	event_active(stop_ev, EV_TIMEOUT, 0);
	pthread_join(loop_thread, NULL);
	event_free(stop_ev);
	ctl_close(ctl);
	stub_engine_free(eng);
	event_base_free(base);
	snprintf(path, sizeof(path), "%s/state.json", dir);
	unlink(path);
	unlink(sock_path);
	rmdir(dir);
}

static int
cl_connect_to(const char *path)
{
	int	 fd;

	fd = ctlclient_connect(path);
	ck_assert_msg(fd >= 0, "connect %s: %s", path, strerror(errno));
	return fd;
}

static int
cl_connect(void)
{
	return cl_connect_to(sock_path);
}

/* Send req; return the parsed answer (either kind). */
static json_t *
ask(int fd, const char *req)
{
	char		*line, err[256];
	json_t		*j;
	enum ctl_line	 k;

	ck_assert_msg(ctlclient_request(fd, req, &line) == 0, "%s: %s", req,
	    strerror(errno));
	k = ctlclient_parse(line, &j, err, sizeof(err));
	ck_assert_msg(k == CTL_LINE_OK || k == CTL_LINE_ERROR,
	    "%s: bad answer %s (%s)", req, line, err);
	free(line);
	return j;
}

static json_t *
ask_ok(int fd, const char *req)
{
	json_t	*j;

	j = ask(fd, req);
	ck_assert_msg(json_is_true(json_object_get(j, "ok")), "%s: %s", req,
	    json_string_value(json_object_get(j, "error")));
	return j;
}

/* The error of a request that must fail, in a static buffer. */
static const char *
ask_err(int fd, const char *req)
{
	static char	 buf[1024];
	json_t		*j;
	const char	*e;

	j = ask(fd, req);
	ck_assert_msg(json_is_false(json_object_get(j, "ok")),
	    "%s: should fail", req);
	e = json_string_value(json_object_get(j, "error"));
	ck_assert_ptr_nonnull(e);
	snprintf(buf, sizeof(buf), "%s", e);
	json_decref(j);
	return buf;
}

static void
do_snap(void *arg)
{
	struct snap	*s = arg;
	struct target	*t;
	unsigned	 i;

	if (s->id != NULL) {
		t = engine_find(eng, s->id);
		ck_assert_ptr_nonnull(t);
		s->st = t->st;
		s->st.message = NULL;
		strlcpy(s->ack_comment, t->st.ack_comment != NULL ?
		    t->st.ack_comment : "", sizeof(s->ack_comment));
		s->ndt = t->st.ndowntimes;
		for (i = 0; i < s->ndt; i++) {
			s->dt[i].id = t->st.downtimes[i].id;
			s->dt[i].from = t->st.downtimes[i].from;
			s->dt[i].until = t->st.downtimes[i].until;
			strlcpy(s->dt[i].comment, t->st.downtimes[i].comment ?
			    t->st.downtimes[i].comment : "",
			    sizeof(s->dt[i].comment));
			strlcpy(s->dt[i].farm, t->st.downtimes[i].scope ?
			    t->st.downtimes[i].scope : "",
			    sizeof(s->dt[i].farm));
		}
		s->st.ack_comment = NULL;
		s->st.downtimes = NULL;
		s->check_now = t->check_now;
	}
	s->saves = stub_engine_saves(eng);
	s->checks_now = stub_engine_checks_now(eng);
	s->reloads = stub_engine_reloads(eng);
}

static struct snap
snapshot(const char *id)
{
	struct snap	 s;

	memset(&s, 0, sizeof(s));
	s.id = id;
	run_on_loop(do_snap, &s);
	return s;
}

static void
do_publish(void *arg)
{
	struct pub		*p = arg;
	struct target		*t;
	struct check_result	 r;
	struct state_change	 chg;
	int			 i;

	t = engine_find(eng, p->id);
	ck_assert_ptr_nonnull(t);
	if (p->event) {
		memset(&chg, 0, sizeof(chg));
		chg.old_state = HSTATE_UP;
		chg.new_state = HSTATE_DOWN;
		chg.acked = 1;
		ctl_publish_event(ctl, t, p->seq, &chg);
		return;
	}
	for (i = 0; i < p->n; i++) {
		result_init(&r, 1700000000123456LL + i);
		r.status = p->total_us < 0 ? CHECK_CRITICAL : CHECK_OK;
		r.connect_us = 800;
		r.firstbyte_us = 9000;
		r.total_us = p->total_us;
		snprintf(r.message, sizeof(r.message), "%s", p->message);
		ctl_publish_result(ctl, t, &r);
	}
}

static void
publish_results(const char *id, int n, int64_t total_us, const char *msg)
{
	struct pub	 p;

	memset(&p, 0, sizeof(p));
	p.id = id;
	p.n = n;
	p.total_us = total_us;
	p.message = msg;
	run_on_loop(do_publish, &p);
}

static void
publish_event(const char *id, uint64_t seq)
{
	struct pub	 p;

	memset(&p, 0, sizeof(p));
	p.id = id;
	p.event = 1;
	p.seq = seq;
	run_on_loop(do_publish, &p);
}

/* Read one watch line of the given kind within 5 s. */
static json_t *
read_stream(int fd, enum ctl_line want)
{
	char		*line, err[256];
	json_t		*j;
	enum ctl_line	 k;

	ck_assert_msg(ctlclient_readline(fd, 5000, &line) == 1,
	    "readline: %s", strerror(errno));
	k = ctlclient_parse(line, &j, err, sizeof(err));
	ck_assert_msg(k == want, "got %s (%s)", line, err);
	free(line);
	return j;
}

enum { T_STR = 1, T_INT = 2, T_REAL = 4, T_BOOL = 8, T_NULL = 16 };

static void
expect_type(json_t *o, const char *key, int types)
{
	json_t	*v;
	int	 t;

	v = json_object_get(o, key);
	ck_assert_msg(v != NULL, "no '%s' in %s", key,
	    json_string_value(json_object_get(o, "id")));
	switch (json_typeof(v)) {
	case JSON_STRING:
		t = T_STR;
		break;
	case JSON_INTEGER:
		t = T_INT;
		break;
	case JSON_REAL:
		t = T_REAL;
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		t = T_BOOL;
		break;
	case JSON_NULL:
		t = T_NULL;
		break;
	default:
		t = 0;
	}
	ck_assert_msg((t & types) != 0, "'%s' of %s has the wrong type", key,
	    json_string_value(json_object_get(o, "id")));
}

static json_t *
server_of(json_t *ans, size_t i)
{
	json_t	*arr;

	arr = json_object_get(ans, "servers");
	ck_assert(json_is_array(arr));
	return json_array_get(arr, i);
}

START_TEST(status_lists_every_server_with_required_fields)
{
	static const char *states[] = { "up", "degraded", "down", "unknown" };
	json_t		*ans, *o;
	const char	*st;
	size_t		 i, k;
	int		 fd, found;

	fd = cl_connect();
	ans = ask_ok(fd, "status");
	ck_assert_int_eq(json_array_size(json_object_get(ans, "servers")), 4);
	for (i = 0; i < 4; i++) {
		o = server_of(ans, i);
		expect_type(o, "id", T_STR);
		expect_type(o, "name", T_STR);
		expect_type(o, "farm", T_STR | T_NULL);
		expect_type(o, "kind", T_STR);
		expect_type(o, "url", T_STR);
		expect_type(o, "state", T_STR);
		expect_type(o, "state_type", T_STR);
		expect_type(o, "since", T_INT | T_NULL);
		expect_type(o, "last_check", T_INT | T_NULL);
		expect_type(o, "latency_ms", T_REAL | T_NULL);
		expect_type(o, "message", T_STR);
		expect_type(o, "flapping", T_BOOL);
		expect_type(o, "flap_pct", T_REAL);
		expect_type(o, "acked", T_BOOL);
		expect_type(o, "ack_comment", T_STR | T_NULL);
		expect_type(o, "downtime_until", T_INT | T_NULL);
		expect_type(o, "drained", T_BOOL);
		expect_type(o, "checks", T_INT);
		expect_type(o, "failures", T_INT);
		st = json_string_value(json_object_get(o, "state"));
		for (k = found = 0; k < 4; k++)
			found |= strcmp(st, states[k]) == 0;
		ck_assert_msg(found, "state '%s'", st);
		st = json_string_value(json_object_get(o, "state_type"));
		ck_assert(strcmp(st, "soft") == 0 || strcmp(st, "hard") == 0);
	}

	o = server_of(ans, 0);
	ck_assert_str_eq(json_string_value(json_object_get(o, "id")), "www1");
	ck_assert_str_eq(json_string_value(json_object_get(o, "kind")), "http");
	ck_assert_str_eq(json_string_value(json_object_get(o, "state")), "up");
	ck_assert(json_is_null(json_object_get(o, "farm")));
	ck_assert_double_eq_tol(json_real_value(json_object_get(o,
	    "latency_ms")), 12.3, 1e-9);
	ck_assert_int_eq(json_integer_value(json_object_get(o, "since")),
	    1700000000);
	o = server_of(ans, 1);
	ck_assert_str_eq(json_string_value(json_object_get(o, "id")),
	    "shop/web1");
	ck_assert_str_eq(json_string_value(json_object_get(o, "farm")), "shop");
	ck_assert_str_eq(json_string_value(json_object_get(o, "state_type")),
	    "soft");
	o = server_of(ans, 3);
	ck_assert_str_eq(json_string_value(json_object_get(o, "id")), "gw");
	ck_assert_str_eq(json_string_value(json_object_get(o, "kind")), "ping");
	ck_assert(json_is_null(json_object_get(o, "last_check")));
	ck_assert(json_is_null(json_object_get(o, "latency_ms")));
	json_decref(ans);
	close(fd);
}
END_TEST

START_TEST(status_of_one_server_and_of_an_unknown_one)
{
	json_t	*ans;
	int	 fd;

	fd = cl_connect();
	ans = ask_ok(fd, "status db1");
	ck_assert_int_eq(json_array_size(json_object_get(ans, "servers")), 1);
	ck_assert_str_eq(json_string_value(json_object_get(server_of(ans, 0),
	    "message")), "db1: connection refused");
	json_decref(ans);
	ck_assert_str_eq(ask_err(fd, "status nope"), "unknown server 'nope'");
	ck_assert_str_eq(ask_err(fd, "status db1 www1"), "usage: status [ID]");
	/* The connection still works after errors. */
	json_decref(ask_ok(fd, "status www1"));
	close(fd);
}
END_TEST

START_TEST(ack_sets_flag_and_comment_and_saves)
{
	struct snap	 s;
	json_t		*ans;
	int		 fd;

	fd = cl_connect();
	json_decref(ask_ok(fd, "ack db1 on it, ticket 42"));
	s = snapshot("db1");
	ck_assert_int_eq(s.st.acked, 1);
	ck_assert_str_eq(s.ack_comment, "on it, ticket 42");
	ck_assert_uint_eq(s.saves, 1);
	ans = ask_ok(fd, "status db1");
	ck_assert(json_is_true(json_object_get(server_of(ans, 0), "acked")));
	ck_assert_str_eq(json_string_value(json_object_get(server_of(ans, 0),
	    "ack_comment")), "on it, ticket 42");
	json_decref(ans);

	ck_assert_str_eq(ask_err(fd, "ack www1"),
	    "www1 is up: nothing to acknowledge");
	ck_assert_str_eq(ask_err(fd, "ack ghost"), "unknown server 'ghost'");
	ck_assert_str_eq(ask_err(fd, "ack"), "usage: ack ID [COMMENT]");
	s = snapshot("www1");
	ck_assert_int_eq(s.st.acked, 0);
	ck_assert_uint_eq(s.saves, 1);
	close(fd);
}
END_TEST

START_TEST(downtime_sets_until_and_cancel_ends_it)
{
	struct snap	 s;
	json_t		*ans;
	int64_t		 before, after;
	int		 fd;

	fd = cl_connect();
	before = time(NULL);
	ans = ask_ok(fd, "downtime db1 2h kernel upgrade");
	after = time(NULL);
	s = snapshot("db1");
	ck_assert_uint_eq(s.ndt, 1);
	ck_assert(s.dt[0].until >= before + 7200 &&
	    s.dt[0].until <= after + 7200);
	ck_assert_str_eq(s.dt[0].comment, "kernel upgrade");
	ck_assert_int_eq(json_integer_value(json_object_get(ans,
	    "downtime_until")), s.dt[0].until);
	json_decref(ans);
	ans = ask_ok(fd, "status db1");
	ck_assert_int_eq(json_integer_value(json_object_get(server_of(ans, 0),
	    "downtime_until")), s.dt[0].until);
	json_decref(ans);

	ans = ask_ok(fd, "downtime-cancel db1");
	ck_assert_int_eq(json_integer_value(json_object_get(ans,
	    "cancelled")), 1);
	json_decref(ans);
	s = snapshot("db1");
	ck_assert_uint_eq(s.ndt, 0);
	ck_assert_uint_eq(s.saves, 2);
	ans = ask_ok(fd, "status db1");
	ck_assert(json_is_null(json_object_get(server_of(ans, 0),
	    "downtime_until")));
	json_decref(ans);
	close(fd);
}
END_TEST

START_TEST(downtime_with_a_bad_duration_fails)
{
	struct snap	 s;
	int		 fd;

	fd = cl_connect();
	ck_assert_ptr_nonnull(strstr(ask_err(fd, "downtime db1 soon"),
	    "bad duration 'soon'"));
	ck_assert_ptr_nonnull(strstr(ask_err(fd, "downtime db1 -5m"),
	    "bad duration"));
	ck_assert_str_eq(ask_err(fd, "downtime db1"),
	    "usage: downtime ID|FARM [from WHEN] [for] DURATION [COMMENT]");
	ck_assert_str_eq(ask_err(fd, "downtime nope 1h"),
	    "unknown server or farm 'nope'");
	s = snapshot("db1");
	ck_assert_uint_eq(s.ndt, 0);
	ck_assert_uint_eq(s.saves, 0);
	close(fd);
}
END_TEST

/*
 * A bare number has no unit: refused, and the running downtime keeps its
 * end and comment. A second downtime is added beside it, with a new
 * number, and the answer names the one it overlaps.
 */
START_TEST(downtime_never_replaces_a_running_one)
{
	struct snap	 s;
	json_t		*ans, *over;
	int		 fd;

	fd = cl_connect();
	json_decref(ask_ok(fd, "downtime db1 2h kernel upgrade"));
	ck_assert_ptr_nonnull(strstr(ask_err(fd, "downtime db1 30"),
	    "'30' has no unit: write 30s or 30m"));
	ck_assert_ptr_nonnull(strstr(ask_err(fd, "downtime db1 0"),
	    "no unit"));
	s = snapshot("db1");
	ck_assert_uint_eq(s.ndt, 1);
	ck_assert_str_eq(s.dt[0].comment, "kernel upgrade");

	ans = ask_ok(fd, "downtime db1 for 1h30m \"disk swap\"");
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(
	    ans, "downtime"), "until")) - json_integer_value(json_object_get(
	    json_object_get(ans, "downtime"), "from")), 5400);
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(
	    ans, "downtime"), "id")), 2);
	over = json_object_get(ans, "overlaps");
	ck_assert_uint_eq(json_array_size(over), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(
	    json_array_get(over, 0), "id")), 1);
	ck_assert_str_eq(json_string_value(json_object_get(
	    json_array_get(over, 0), "comment")), "kernel upgrade");
	json_decref(ans);
	s = snapshot("db1");
	ck_assert_uint_eq(s.ndt, 2);
	ck_assert(strcmp(s.dt[0].comment, "kernel upgrade") == 0 ||
	    strcmp(s.dt[1].comment, "kernel upgrade") == 0);
	ck_assert(strcmp(s.dt[0].comment, "disk swap") == 0 ||
	    strcmp(s.dt[1].comment, "disk swap") == 0);
	/* status shows the one that ends last. */
	ans = ask_ok(fd, "status db1");
	ck_assert_str_eq(json_string_value(json_object_get(server_of(ans, 0),
	    "downtime_comment")), "kernel upgrade");
	json_decref(ans);
	close(fd);
}
END_TEST

/*
 * from WHEN: a scheduled downtime does not run yet, is listed by
 * `downtimes` with its number, start, end, comment and who set it, and
 * downtime-cancel N removes it.
 */
START_TEST(scheduled_downtime_listed_and_cancelled)
{
	struct snap	 s;
	struct tm	 tm;
	time_t		 start;
	json_t		*ans, *d;
	char		 req[128];
	int		 fd;

	/* Tomorrow at 02:00, written as a date. */
	start = time(NULL) + 86400;
	localtime_r(&start, &tm);
	tm.tm_hour = 2;
	tm.tm_min = tm.tm_sec = 0;
	tm.tm_isdst = -1;
	start = mktime(&tm);
	snprintf(req, sizeof(req), "downtime www1 from %04d-%02d-%02dT02:00 "
	    "for 2h \"rack move\"", tm.tm_year + 1900, tm.tm_mon + 1,
	    tm.tm_mday);
	fd = cl_connect();
	json_decref(ask_ok(fd, req));
	s = snapshot("www1");
	ck_assert_uint_eq(s.ndt, 1);
	ck_assert_int_eq(s.dt[0].from, (int64_t)start);
	ck_assert_int_eq(s.dt[0].until, (int64_t)start + 7200);
	ck_assert_str_eq(s.dt[0].comment, "rack move");
	ans = ask_ok(fd, "status www1");
	ck_assert(json_is_null(json_object_get(server_of(ans, 0),
	    "downtime_until")));
	json_decref(ans);

	/* HH:MM: the next such time, within a day. */
	json_decref(ask_ok(fd, "downtime db1 from 03:30 for 1h"));
	s = snapshot("db1");
	ck_assert_uint_eq(s.ndt, 1);
	ck_assert(s.dt[0].from > time(NULL) - 61 &&
	    s.dt[0].from <= time(NULL) + 86400);
	localtime_r(&(time_t){ (time_t)s.dt[0].from }, &tm);
	ck_assert_int_eq(tm.tm_hour, 3);
	ck_assert_int_eq(tm.tm_min, 30);
	ck_assert_ptr_nonnull(strstr(ask_err(fd, "downtime db1 from 25:00 "
	    "for 1h"), "bad start '25:00'"));
	/* A date that does not exist is refused, not moved to May 1. */
	ck_assert_ptr_nonnull(strstr(ask_err(fd, "downtime db1 from "
	    "2031-04-31T02:00 for 1h"), "bad start '2031-04-31T02:00'"));
	ck_assert_ptr_nonnull(strstr(ask_err(fd, "downtime db1 from "
	    "2031-02-29T02:00 for 1h"), "bad start"));

	ans = ask_ok(fd, "downtimes");
	ck_assert_uint_eq(json_array_size(json_object_get(ans, "downtimes")),
	    2);
	d = json_array_get(json_object_get(ans, "downtimes"), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(d, "from")),
	    s.dt[0].from < (int64_t)start ? s.dt[0].from : (int64_t)start);
	ck_assert_int_eq(json_integer_value(json_object_get(d, "uid")),
	    (json_int_t)geteuid());
	json_decref(ans);
	ans = ask_ok(fd, "downtimes www1");
	d = json_array_get(json_object_get(ans, "downtimes"), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(d, "id")), 1);
	ck_assert_str_eq(json_string_value(json_object_get(d, "comment")),
	    "rack move");
	ck_assert_int_eq(json_integer_value(json_object_get(d, "until")),
	    (int64_t)start + 7200);
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(d,
	    "servers"), 0)), "www1");
	json_decref(ans);

	json_decref(ask_ok(fd, "downtime-cancel 1"));
	ck_assert_uint_eq(snapshot("www1").ndt, 0);
	ck_assert_uint_eq(snapshot("db1").ndt, 1);
	ck_assert_str_eq(ask_err(fd, "downtime-cancel 1"),
	    "no downtime numbered 1");
	/* A number is not given again once its downtime ended: a later
	 * downtime-cancel 1 cannot end another. */
	json_decref(ask_ok(fd, "downtime www1 from 03:30 for 1h"));
	ck_assert_str_eq(ask_err(fd, "downtime-cancel 1"),
	    "no downtime numbered 1");
	ck_assert_uint_eq(snapshot("www1").ndt, 1);
	ck_assert_uint_eq(snapshot("www1").dt[0].id, 3);
	json_decref(ask_ok(fd, "downtime-cancel #3"));
	ck_assert_uint_eq(snapshot("www1").ndt, 0);
	close(fd);
}
END_TEST

/* downtime FARM covers its members, under one number. */
START_TEST(farm_downtime_covers_its_members)
{
	struct snap	 s;
	json_t		*ans, *d;
	int		 fd;

	fd = cl_connect();
	ans = ask_ok(fd, "downtime shop 1h deploy");
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(ans,
	    "servers"), 0)), "shop/web1");
	json_decref(ans);
	s = snapshot("shop/web1");
	ck_assert_uint_eq(s.ndt, 1);
	ck_assert_str_eq(s.dt[0].farm, "shop");
	ck_assert_uint_eq(snapshot("www1").ndt, 0);
	ans = ask_ok(fd, "status shop/web1");
	ck_assert(json_is_integer(json_object_get(server_of(ans, 0),
	    "downtime_until")));
	json_decref(ans);
	ans = ask_ok(fd, "downtimes shop");
	d = json_array_get(json_object_get(ans, "downtimes"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(d, "farm")),
	    "shop");
	json_decref(ans);
	json_decref(ask_ok(fd, "downtime-cancel shop"));
	ck_assert_uint_eq(snapshot("shop/web1").ndt, 0);
	close(fd);
}
END_TEST

/* latency_ms to three decimals, printed as such (not 0.6870000000000001). */
START_TEST(latency_printed_to_microseconds)
{
	char	*line;
	int	 fd;

	fd = cl_connect();
	json_decref(ask_ok(fd, "watch"));
	publish_results("www1", 1, 687, "fast");
	ck_assert_int_eq(ctlclient_readline(fd, 5000, &line), 1);
	ck_assert_msg(strstr(line, "\"latency_ms\":0.687,") != NULL, "%s",
	    line);
	free(line);
	close(fd);
}
END_TEST

/* help lists every command, which of them change things. */
START_TEST(help_lists_commands_from_the_table)
{
	json_t	*ans, *arr, *e;
	size_t	 i;
	int	 fd, seen = 0;

	fd = cl_connect();
	ans = ask_ok(fd, "help");
	arr = json_object_get(ans, "commands");
	json_array_foreach(arr, i, e) {
		if (strcmp(json_string_value(json_object_get(e, "name")),
		    "ack") == 0) {
			ck_assert(json_is_true(json_object_get(e, "changes")));
			seen++;
		}
		if (strcmp(json_string_value(json_object_get(e, "name")),
		    "status") == 0) {
			ck_assert(json_is_false(json_object_get(e, "changes")));
			seen++;
		}
	}
	ck_assert_int_eq(seen, 2);
	json_decref(ans);
	ck_assert_ptr_nonnull(strstr(ask_err(fd, "nope"), "downtimes"));
	close(fd);
}
END_TEST

static void
do_short_idle(void *arg)
{
	(void)arg;
	ctl_set_idle_timeout(ctl, 300);
}

/* A silent client that does not watch is closed; a watcher stays. */
START_TEST(idle_client_closed_watcher_kept)
{
	char	*line;
	int	 silent, watcher, r;

	run_on_loop(do_short_idle, NULL);
	silent = cl_connect();
	watcher = cl_connect();
	json_decref(ask_ok(watcher, "watch"));
	r = ctlclient_readline(silent, 3000, &line);
	ck_assert_msg(r == 0 || (r == -1 && errno == ECONNRESET),
	    "a silent client stayed: %d %s", r, strerror(errno));
	usleep(500000);
	publish_results("www1", 1, 1000, "ok");
	ck_assert_int_eq(ctlclient_readline(watcher, 3000, &line), 1);
	free(line);
	close(silent);
	close(watcher);
}
END_TEST

/*
 * Send "status" lines until the socket takes no more (probed stopped
 * reading them: its answers wait, untaken), then true when probed has
 * closed its side within ms.
 */
static int
hog_closed_within(int fd, int half, int ms)
{
	static const char	 req[] = "status\n";
	struct pollfd		 pfd = { .fd = fd, .events = POLLRDHUP };
	size_t			 sent = 0;
	ssize_t			 n;

	while (sent < 64 * 1024 * 1024) {
		n = send(fd, req, sizeof(req) - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n == -1 && errno == EAGAIN) {
			/* Probed may yet read more: make sure it stopped. */
			usleep(200000);
			if ((n = send(fd, req, sizeof(req) - 1, MSG_DONTWAIT |
			    MSG_NOSIGNAL)) == -1 && errno == EAGAIN)
				break;
		}
		if (n == -1 && (errno == EPIPE || errno == ECONNRESET))
			return 1;	/* closed already */
		ck_assert_msg(n > 0, "send: %s", strerror(errno));
		sent += n;
	}
	if (half)
		shutdown(fd, SHUT_WR);
	return poll(&pfd, 1, ms) == 1 && (pfd.revents & (POLLRDHUP | POLLHUP));
}

/* A client that asks and never reads its answers is closed idle_ms after
 * it stopped taking them, whether or not it ended its side. */
START_TEST(unread_answers_closed)
{
	int	 fd;

	run_on_loop(do_short_idle, NULL);
	fd = cl_connect();
	ck_assert_msg(hog_closed_within(fd, 0, 3000),
	    "a client that does not read its answers stayed");
	close(fd);
	fd = cl_connect();
	ck_assert_msg(hog_closed_within(fd, 1, 3000),
	    "a half-closed client that does not read its answers stayed");
	close(fd);
}
END_TEST

/* In a child, as uid 65534 with groups: hold nfds connections, say so
 * with a byte on holdfd, and wait to be killed. */
static void
as_nobody(int nfds, int holdfd, gid_t *groups, int ngroups)
{
	int	 i, fd = -1;
	char	 c;

	if (setgroups(ngroups, groups) == -1 || setgid(65534) == -1 ||
	    setuid(65534) == -1)
		_exit(9);
	for (i = 0; i < nfds; i++) {
		if ((fd = ctlclient_connect(sock_path)) == -1)
			_exit(8);
	}
	(void)fd;
	c = 'r';
	if (write(holdfd, &c, 1) != 1)
		_exit(7);
	pause();
	_exit(0);
}

/* Fork a child as nobody that asks req; returns its answer line. */
static char *
nobody_asks(const char *req, gid_t *groups, int ngroups)
{
	int	 p[2], fd;
	pid_t	 pid;
	char	*line = NULL, buf[4096];
	ssize_t	 n;

	ck_assert_int_eq(pipe(p), 0);
	if ((pid = fork()) == 0) {
		close(p[0]);
		if (setgroups(ngroups, groups) == -1 || setgid(65534) == -1 ||
		    setuid(65534) == -1)
			_exit(9);
		if ((fd = ctlclient_connect(sock_path)) == -1 ||
		    ctlclient_request(fd, req, &line) == -1)
			_exit(8);
		_exit(write(p[1], line, strlen(line)) > 0 ? 0 : 7);
	}
	close(p[1]);
	n = read(p[0], buf, sizeof(buf) - 1);
	close(p[0]);
	waitpid(pid, NULL, 0);
	ck_assert_msg(n > 0, "the child as nobody got no answer");
	buf[n] = '\0';
	return xstrdup(buf);
}

static void
do_group(void *arg)
{
	struct ctl_access	 a = { .group = *(long *)arg };

	ctl_set_access(ctl, &a);
}

static void
open_socket_to_all(void)
{
	ck_assert_int_eq(chmod(dir, 0755), 0);
	ck_assert_int_eq(chmod(sock_path, 0666), 0);
}

/*
 * With a control group, a peer outside it (SO_PEERCRED) may read but not
 * change things; a member may; root always may.
 */
START_TEST(changes_need_the_control_group)
{
	long	 group = 4242;
	gid_t	 member[1] = { 4242 };
	char	*ans;
	int	 fd;

	open_socket_to_all();
	run_on_loop(do_group, &group);
	ans = nobody_asks("ack db1 mine", NULL, 0);
	ck_assert_msg(strstr(ans, "permission denied") != NULL, "%s", ans);
	free(ans);
	ck_assert_int_eq(snapshot("db1").st.acked, 0);
	ans = nobody_asks("status db1", NULL, 0);
	ck_assert_msg(strncmp(ans, "{\"ok\":true", 10) == 0, "%s", ans);
	free(ans);
	ans = nobody_asks("ack db1 mine", member, 1);
	ck_assert_msg(strncmp(ans, "{\"ok\":true", 10) == 0, "%s", ans);
	free(ans);
	ck_assert_int_eq(snapshot("db1").st.acked, 1);
	fd = cl_connect();
	json_decref(ask_ok(fd, "drain db1"));
	close(fd);
}
END_TEST

/*
 * Other users fill the socket up to the reserve: the next of theirs is
 * refused, but root still gets in.
 */
START_TEST(full_socket_keeps_room_for_root)
{
	int	 p[2], fd;
	pid_t	 pid;
	char	 c, *line;

	open_socket_to_all();
	ck_assert_int_eq(pipe(p), 0);
	if ((pid = fork()) == 0) {
		close(p[0]);
		as_nobody(CLIENTS_MAX - 16, p[1], NULL, 0);
	}
	close(p[1]);
	ck_assert_int_eq(read(p[0], &c, 1), 1);
	close(p[0]);
	line = nobody_asks("stats", NULL, 0);
	ck_assert_msg(strstr(line, "too many clients") != NULL, "%s", line);
	free(line);
	fd = cl_connect();
	json_decref(ask_ok(fd, "status www1"));
	close(fd);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}
END_TEST

START_TEST(drain_and_enable_toggle_drained)
{
	struct snap	 s;
	int		 fd;

	fd = cl_connect();
	json_decref(ask_ok(fd, "drain shop/web1"));
	s = snapshot("shop/web1");
	ck_assert_int_eq(s.st.drained, 1);
	json_decref(ask_ok(fd, "enable shop/web1"));
	s = snapshot("shop/web1");
	ck_assert_int_eq(s.st.drained, 0);
	ck_assert_uint_eq(s.saves, 2);
	ck_assert_str_eq(ask_err(fd, "drain"), "usage: drain ID");
	ck_assert_str_eq(ask_err(fd, "enable x y"), "usage: enable ID");
	close(fd);
}
END_TEST

START_TEST(check_asks_the_engine_for_a_check_now)
{
	struct snap	 s;
	int		 fd;

	fd = cl_connect();
	json_decref(ask_ok(fd, "check gw"));
	s = snapshot("gw");
	ck_assert_int_eq(s.check_now, 1);
	ck_assert_uint_eq(s.checks_now, 1);
	ck_assert_str_eq(ask_err(fd, "check nope"), "unknown server 'nope'");
	close(fd);
}
END_TEST

static void
do_fail_reload(void *arg)
{
	stub_engine_fail_reload(eng, arg);
}

START_TEST(reload_passes_back_the_config_errors)
{
	struct snap	 s;
	int		 fd;

	fd = cl_connect();
	json_decref(ask_ok(fd, "reload"));
	run_on_loop(do_fail_reload, "/etc/tocsin.conf:3: unknown option "
	    "'intervall'\n/etc/tocsin.conf:9: bad URL\n");
	ck_assert_str_eq(ask_err(fd, "reload"), "/etc/tocsin.conf:3: unknown "
	    "option 'intervall'\n/etc/tocsin.conf:9: bad URL");
	s = snapshot(NULL);
	ck_assert_uint_eq(s.reloads, 2);
	close(fd);
}
END_TEST

START_TEST(stats_reports_engine_and_socket_figures)
{
	json_t	*ans, *st;
	int	 fd, fd2;

	fd = cl_connect();
	fd2 = cl_connect();
	json_decref(ask_ok(fd2, "watch"));
	ans = ask_ok(fd, "stats");
	st = json_object_get(ans, "stats");
	ck_assert(json_is_object(st));
	ck_assert_int_eq(json_integer_value(json_object_get(st, "checks")),
	    160);
	ck_assert_int_eq(json_integer_value(json_object_get(st, "running")), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(st, "pending")), 1);
	ck_assert_double_eq_tol(json_real_value(json_object_get(st,
	    "lateness_p50_ms")), 1.5, 1e-9);
	ck_assert_double_eq_tol(json_real_value(json_object_get(st,
	    "lateness_p99_ms")), 25.0, 1e-9);
	ck_assert_double_eq_tol(json_real_value(json_object_get(st,
	    "lateness_max_ms")), 40.0, 1e-9);
	ck_assert_int_eq(json_integer_value(json_object_get(st, "events")), 3);
	ck_assert(json_is_integer(json_object_get(st, "archive_dropped")));
	ck_assert_int_eq(json_integer_value(json_object_get(st, "uptime_s")),
	    3600);
	ck_assert_int_eq(json_integer_value(json_object_get(st, "targets")), 4);
	ck_assert_int_eq(json_integer_value(json_object_get(st, "clients")), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(st, "watchers")),
	    1);
	json_decref(ans);
	close(fd2);
	close(fd);
}
END_TEST

START_TEST(unknown_and_empty_requests_fail)
{
	int	 fd;

	fd = cl_connect();
	ck_assert_ptr_nonnull(strstr(ask_err(fd, "frobnicate www1"),
	    "unknown command 'frobnicate'"));
	ck_assert_str_eq(ask_err(fd, ""), "empty request");
	ck_assert_str_eq(ask_err(fd, "   "), "empty request");
	ck_assert_str_eq(ask_err(fd, "watch now"), "usage: watch");
	/* A CR before the LF (telnet, nc -C) is not part of the request. */
	ck_assert_int_eq(ctlclient_send(fd, "status www1\r", 1000), 0);
	json_decref(read_stream(fd, CTL_LINE_OK));
	close(fd);
}
END_TEST

START_TEST(watch_streams_results_and_events_in_order)
{
	json_t	*j, *ans;
	int	 fd, other;

	fd = cl_connect();
	other = cl_connect();
	j = ask_ok(fd, "watch");
	ck_assert(json_is_true(json_object_get(j, "watching")));
	json_decref(j);

	publish_results("www1", 1, 12345, "HTTP 200");
	publish_event("db1", 41);
	publish_results("db1", 1, -1, "connection refused");

	j = read_stream(fd, CTL_LINE_RESULT);
	ck_assert_str_eq(json_string_value(json_object_get(j, "id")), "www1");
	ck_assert_str_eq(json_string_value(json_object_get(j, "status")), "ok");
	ck_assert_str_eq(json_string_value(json_object_get(j, "state")), "up");
	ck_assert_str_eq(json_string_value(json_object_get(j, "state_type")),
	    "hard");
	/* 15 significant digits: 10 µs at today's Unix times. */
	ck_assert_double_eq_tol(json_real_value(json_object_get(j, "time")),
	    1700000000.123456, 1e-5);
	ck_assert_double_eq_tol(json_real_value(json_object_get(j,
	    "latency_ms")), 12.345, 1e-9);
	ck_assert_double_eq_tol(json_real_value(json_object_get(j,
	    "connect_ms")), 0.8, 1e-9);
	ck_assert_double_eq_tol(json_real_value(json_object_get(j,
	    "firstbyte_ms")), 9.0, 1e-9);
	ck_assert(json_is_null(json_object_get(j, "dns_ms")));
	ck_assert(json_is_null(json_object_get(j, "tls_ms")));
	ck_assert_str_eq(json_string_value(json_object_get(j, "message")),
	    "HTTP 200");
	json_decref(j);

	j = read_stream(fd, CTL_LINE_EVENT);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "seq")), 41);
	ck_assert_str_eq(json_string_value(json_object_get(j, "id")), "db1");
	ck_assert_str_eq(json_string_value(json_object_get(j, "old")), "up");
	ck_assert_str_eq(json_string_value(json_object_get(j, "new")), "down");
	ck_assert(json_is_true(json_object_get(j, "acked")));
	ck_assert(json_is_false(json_object_get(j, "flapping")));
	ck_assert(json_is_false(json_object_get(j, "downtime")));
	ck_assert(json_is_real(json_object_get(j, "time")));
	ck_assert(json_is_string(json_object_get(j, "message")));
	json_decref(j);

	j = read_stream(fd, CTL_LINE_RESULT);
	ck_assert_str_eq(json_string_value(json_object_get(j, "id")), "db1");
	ck_assert_str_eq(json_string_value(json_object_get(j, "status")),
	    "critical");
	ck_assert(json_is_null(json_object_get(j, "latency_ms")));
	json_decref(j);

	/* A watcher may ask things; results before the answer are skipped
	 * by ctlclient_request, the ones after still come. */
	publish_results("www1", 3, 1000, "HTTP 200");
	ans = ask_ok(fd, "status gw");
	ck_assert_str_eq(json_string_value(json_object_get(server_of(ans, 0),
	    "id")), "gw");
	json_decref(ans);

	/* A drain, by anyone, reaches the watchers (for tocsin-lb). */
	json_decref(ask_ok(other, "drain shop/web1"));
	j = read_stream(fd, CTL_LINE_SERVER);
	ck_assert_str_eq(json_string_value(json_object_get(j, "change")),
	    "drain");
	ck_assert_str_eq(json_string_value(json_object_get(j, "id")),
	    "shop/web1");
	ck_assert(json_is_true(json_object_get(j, "drained")));
	json_decref(j);
	publish_results("gw", 1, 2000, "echo reply");
	j = read_stream(fd, CTL_LINE_RESULT);
	ck_assert_str_eq(json_string_value(json_object_get(j, "id")), "gw");
	json_decref(j);
	close(other);
	close(fd);
}
END_TEST

/*
 * A watcher that never reads while 10 MB of results go out is dropped;
 * its queue never passes the cap; the loop keeps answering another
 * client all along.
 */
START_TEST(slow_watcher_is_dropped_and_others_still_served)
{
	char	 msg[201], *line, buf[65536];
	json_t	*ans, *st;
	size_t	 total = 0, got = 0;
	ssize_t	 n;
	int	 slow, fd, batch;

	memset(msg, 'x', sizeof(msg) - 1);
	msg[sizeof(msg) - 1] = '\0';
	slow = cl_connect();
	fd = cl_connect();
	json_decref(ask_ok(slow, "watch"));

	for (batch = 0; batch < 40; batch++) {
		publish_results("www1", 600, 12000, msg);
		total += 600 * 400;	/* each line is over 400 bytes */
		ans = ask_ok(fd, "stats");
		st = json_object_get(ans, "stats");
		ck_assert_int_le(json_integer_value(json_object_get(st,
		    "output_highwater")), OUT_CAP);
		json_decref(ans);
	}
	ck_assert_uint_ge(total, 9 * 1024 * 1024);

	ans = ask_ok(fd, "stats");
	st = json_object_get(ans, "stats");
	ck_assert_int_eq(json_integer_value(json_object_get(st,
	    "clients_dropped")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(st, "clients")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(st, "watchers")),
	    0);
	ck_assert_int_le(json_integer_value(json_object_get(st,
	    "output_highwater")), OUT_CAP);
	json_decref(ans);

	/* The slow one sees what the kernel held, then the end. */
	ck_assert_int_eq(ctlclient_readline(slow, 1000, &line), 1);
	ck_assert(strncmp(line, "{\"type\":\"result\"", 16) == 0);
	free(line);
	while ((n = read(slow, buf, sizeof(buf))) > 0)
		got += (size_t)n;
	ck_assert_msg(got < total / 2, "the slow watcher got %zu bytes", got);
	close(slow);

	json_decref(ask_ok(fd, "status"));
	close(fd);
}
END_TEST

/* A request line over 4 KiB costs that client its connection only. */
START_TEST(overlong_request_drops_that_client_only)
{
	char	 big[CTL_REQUEST_MAX + 200], *line;
	int	 fd, bad;

	fd = cl_connect();
	bad = cl_connect();
	memset(big, 'a', sizeof(big));
	big[sizeof(big) - 1] = '\n';
	ck_assert_int_eq(ctlclient_send(bad, "status", 1000), 0);
	ck_assert_int_eq(write(bad, big, sizeof(big)), (ssize_t)sizeof(big));
	ck_assert_int_eq(ctlclient_readline(bad, 5000, &line), 1);
	ck_assert(strncmp(line, "{\"ok\":true", 10) == 0);
	free(line);
	ck_assert_int_eq(ctlclient_readline(bad, 5000, &line), 1);
	ck_assert_str_eq(line,
	    "{\"ok\":false,\"error\":\"request line too long\"}");
	free(line);
	ck_assert_int_eq(ctlclient_readline(bad, 5000, &line), 0);
	close(bad);

	/* No newline at all: the same, once 4 KiB have come. */
	bad = cl_connect();
	ck_assert_int_eq(write(bad, big, sizeof(big) - 1),
	    (ssize_t)sizeof(big) - 1);
	ck_assert_int_eq(ctlclient_readline(bad, 5000, &line), 1);
	ck_assert_ptr_nonnull(strstr(line, "too long"));
	free(line);
	ck_assert_int_eq(ctlclient_readline(bad, 5000, &line), 0);
	close(bad);

	/* ctlclient itself refuses to send one. */
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(ctlclient_send(fd, big, 1000), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	json_decref(ask_ok(fd, "status www1"));
	close(fd);
}
END_TEST

/* Requests sent together, then a half close: every answer, in order,
 * then the end of the stream. */
START_TEST(pipelined_requests_answered_in_order_after_half_close)
{
	static const char req[] = "status www1\nstatus nope\ncheck gw\n";
	char	*line;
	int	 fd;

	fd = cl_connect();
	ck_assert_int_eq(write(fd, req, sizeof(req) - 1),
	    (ssize_t)sizeof(req) - 1);
	ck_assert_int_eq(shutdown(fd, SHUT_WR), 0);
	ck_assert_int_eq(ctlclient_readline(fd, 5000, &line), 1);
	ck_assert_ptr_nonnull(strstr(line, "\"id\":\"www1\""));
	free(line);
	ck_assert_int_eq(ctlclient_readline(fd, 5000, &line), 1);
	ck_assert_str_eq(line,
	    "{\"ok\":false,\"error\":\"unknown server 'nope'\"}");
	free(line);
	ck_assert_int_eq(ctlclient_readline(fd, 5000, &line), 1);
	ck_assert_str_eq(line, "{\"ok\":true}");
	free(line);
	ck_assert_int_eq(ctlclient_readline(fd, 5000, &line), 0);
	close(fd);
}
END_TEST

START_TEST(socket_is_mode_0660_and_removed_on_close)
{
	struct stat	 sb;

	ck_assert_int_eq(lstat(sock_path, &sb), 0);
	ck_assert(S_ISSOCK(sb.st_mode));
	ck_assert_int_eq(sb.st_mode & 07777, 0660);
	event_active(stop_ev, EV_TIMEOUT, 0);
	pthread_join(loop_thread, NULL);
	ctl_close(ctl);
	ck_assert_int_eq(lstat(sock_path, &sb), -1);
	ck_assert_int_eq(errno, ENOENT);
	/* teardown expects a running loop and an open ctl */
	ctl = ctl_open(eng, sock_path);
	ck_assert_ptr_nonnull(ctl);
	ck_assert_int_eq(pthread_create(&loop_thread, NULL, loop_main, NULL),
	    0);
}
END_TEST

START_TEST(second_probed_refused_stale_socket_replaced)
{
	struct sockaddr_un	 sun;
	char			 other[160];
	int			 fd;

	/* Someone answers at sock_path: refuse, leave it alone. */
	ck_assert_ptr_null(ctl_open(eng, sock_path));
	ck_assert_int_eq(errno, EADDRINUSE);
	fd = cl_connect();
	json_decref(ask_ok(fd, "status"));
	close(fd);

	/* A socket nobody listens on (a probed killed -9) is replaced. */
	snprintf(other, sizeof(other), "%s/stale.sock", dir);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strlcpy(sun.sun_path, other, sizeof(sun.sun_path));
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(fd);
	ck_assert_int_eq(ctlclient_connect(other), -1);
	ck_assert_int_eq(errno, ECONNREFUSED);
	{
		struct ctl *c2 = ctl_open(eng, other);

		ck_assert_ptr_nonnull(c2);
		ctl_close(c2);
	}
	ck_assert_int_eq(access(other, F_OK), -1);

	/* A file that is not a socket is never removed. */
	fd = open(other, O_WRONLY | O_CREAT, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_ptr_null(ctl_open(eng, other));
	ck_assert_int_eq(errno, EEXIST);
	ck_assert_int_eq(access(other, F_OK), 0);
	unlink(other);

	/* Nothing there: the clients say so plainly. */
	ck_assert_int_eq(ctlclient_connect(other), -1);
	ck_assert_int_eq(errno, ENOENT);
}
END_TEST

START_TEST(too_many_clients_refused_then_room_again)
{
	static int	 fds[CLIENTS_MAX];
	json_t		*ans;
	char		*line;
	int		 i, extra;

	for (i = 0; i < CLIENTS_MAX; i++) {
		fds[i] = cl_connect();
		json_decref(ask_ok(fds[i], "stats"));
	}
	extra = cl_connect();
	ck_assert_int_eq(ctlclient_readline(extra, 5000, &line), 1);
	ck_assert_str_eq(line, "{\"ok\":false,\"error\":\"too many clients\"}");
	free(line);
	ck_assert_int_eq(ctlclient_readline(extra, 5000, &line), 0);
	close(extra);

	close(fds[0]);
	for (i = 0; i < 500; i++) {
		ans = ask_ok(fds[1], "stats");
		if (json_integer_value(json_object_get(json_object_get(ans,
		    "stats"), "clients")) == CLIENTS_MAX - 1) {
			json_decref(ans);
			break;
		}
		json_decref(ans);
		usleep(10000);
	}
	ck_assert_int_lt(i, 500);
	extra = cl_connect();
	json_decref(ask_ok(extra, "status www1"));
	close(extra);
	for (i = 1; i < CLIENTS_MAX; i++)
		close(fds[i]);
}
END_TEST

/*
 * Out of descriptors, accept() fails: the listener pauses for a second
 * (no busy loop), everyone already connected is still served, and the
 * waiting client is taken once descriptors are free again.
 */
START_TEST(accept_backs_off_when_out_of_descriptors)
{
	struct sockaddr_un	 sun;
	struct rlimit		 old, low;
	struct timespec		 t0, t1;
	double			 waited;
	int			 fd, late, lowest;

	fd = cl_connect();
	json_decref(ask_ok(fd, "stats"));
	late = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(late, 0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strlcpy(sun.sun_path, sock_path, sizeof(sun.sun_path));

	lowest = dup(0);
	ck_assert_int_ge(lowest, 0);
	close(lowest);
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = (rlim_t)lowest;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
	ck_assert_int_eq(connect(late, (struct sockaddr *)&sun, sizeof(sun)),
	    0);
	usleep(200000);
	/* Still served while the listener is paused. */
	json_decref(ask_ok(fd, "status www1"));
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	json_decref(ask_ok(late, "status www1"));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	waited = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	ck_assert_msg(waited > 0.3 && waited < 5, "waited %.3f s", waited);
	close(late);
	close(fd);
}
END_TEST

START_TEST(readline_assembles_lines_and_times_out)
{
	char	*line;
	int	 sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(write(sv[0], "a\nbb\ncc", 7), 7);
	ck_assert_int_eq(write(sv[0], "c", 1), 1);
	ck_assert_int_eq(write(sv[0], "c\n{}", 4), 4);
	ck_assert_int_eq(ctlclient_readline(sv[1], 1000, &line), 1);
	ck_assert_str_eq(line, "a");
	free(line);
	ck_assert_int_eq(ctlclient_readline(sv[1], 1000, &line), 1);
	ck_assert_str_eq(line, "bb");
	free(line);
	ck_assert_int_eq(ctlclient_readline(sv[1], 1000, &line), 1);
	ck_assert_str_eq(line, "cccc");
	free(line);
	ck_assert_int_eq(ctlclient_readline(sv[1], 50, &line), -1);
	ck_assert_int_eq(errno, ETIMEDOUT);
	ck_assert_ptr_null(line);
	ck_assert_int_eq(write(sv[0], "\n", 1), 1);
	ck_assert_int_eq(ctlclient_readline(sv[1], 1000, &line), 1);
	ck_assert_str_eq(line, "");	/* "{}" went with the timeout */
	free(line);
	ck_assert_int_eq(write(sv[0], "half", 4), 4);
	close(sv[0]);
	ck_assert_int_eq(ctlclient_readline(sv[1], 1000, &line), -1);
	ck_assert_int_eq(errno, ECONNRESET);
	close(sv[1]);

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	close(sv[0]);
	ck_assert_int_eq(ctlclient_readline(sv[1], 1000, &line), 0);
	ck_assert_ptr_null(line);
	close(sv[1]);
}
END_TEST

/* lib/ctlsock (tocsin-pager's and tocsin-lb's sockets), opened on the
 * loop beside probed's. */
struct early {
	char		 path[160];
	struct ctlsock	*cs;
};

/* A handler that answers inside itself, before it returns NULL. */
static json_t *
on_early(struct ctlsock_req *req, char *line, void *arg)
{
	(void)line;
	(void)arg;
	ctlsock_reply(req, json_pack("{sb}", "ok", 1));
	return NULL;
}

static void
do_early_open(void *arg)
{
	struct early	*e = arg;
	char		 err[256];

	e->cs = ctlsock_open(base, e->path, on_early, NULL, err, sizeof(err));
	ck_assert_msg(e->cs != NULL, "%s", err);
}

static void
do_early_close(void *arg)
{
	ctlsock_close(((struct early *)arg)->cs);
}

/*
 * An answer given inside its request's handler, then the client's close:
 * the client is freed. It was left waiting on the freed request, so the
 * 64th such client (tocsin-pager's test-page of a contact with no
 * channel) filled the socket for good.
 */
START_TEST(ctlsock_answer_inside_handler_frees_the_client)
{
	struct early	 e;
	json_t		*j;
	int		 i, fd;

	snprintf(e.path, sizeof(e.path), "%s/early.sock", dir);
	run_on_loop(do_early_open, &e);
	for (i = 0; i < 70; i++) {
		fd = cl_connect_to(e.path);
		j = ask_ok(fd, "test-page quiet");
		json_decref(j);
		close(fd);
	}
	run_on_loop(do_early_close, &e);
	unlink(e.path);
}
END_TEST

/* A listener that never accepts: connect waits timeout_ms, not 10 s. */
START_TEST(connect_timeout_bounds_a_full_backlog)
{
	struct sockaddr_un	 sun;
	struct timespec		 t0, t1;
	char			 path[] = "/tmp/tocsin-ctl-full.XXXXXX";
	double			 waited = 0;
	int			 lfd, fds[64], n, fd = 0;

	ck_assert_ptr_nonnull(mkdtemp(path));
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/s", path);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_ge(lfd, 0);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	ck_assert_int_eq(listen(lfd, 0), 0);
	for (n = 0; n < 64; n++) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		fd = ctlclient_connect_timeout(sun.sun_path, 300);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (fd == -1)
			break;
		fds[n] = fd;
	}
	waited = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	ck_assert_int_eq(fd, -1);
	ck_assert_int_eq(errno, ETIMEDOUT);
	ck_assert_msg(waited > 0.2 && waited < 2, "waited %.3f s", waited);
	while (n-- > 0)
		close(fds[n]);
	close(lfd);
	unlink(sun.sun_path);
	rmdir(path);
}
END_TEST

START_TEST(parse_tells_answers_from_stream_lines)
{
	char	 err[128];
	json_t	*j;

	ck_assert_int_eq(ctlclient_parse("{\"ok\":true}", NULL, err,
	    sizeof(err)), CTL_LINE_OK);
	ck_assert_int_eq(ctlclient_parse("{\"ok\":false,\"error\":\"no\"}",
	    NULL, err, sizeof(err)), CTL_LINE_ERROR);
	ck_assert_str_eq(err, "no");
	ck_assert_int_eq(ctlclient_parse("{\"type\":\"event\",\"seq\":1}", &j,
	    err, sizeof(err)), CTL_LINE_EVENT);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "seq")), 1);
	json_decref(j);
	ck_assert_int_eq(ctlclient_parse("nonsense", &j, err, sizeof(err)),
	    CTL_LINE_BAD);
	ck_assert_ptr_null(j);
	ck_assert_int_eq(ctlclient_parse("[1]", NULL, NULL, 0), CTL_LINE_BAD);
	ck_assert_int_eq(ctlclient_parse("{\"type\":\"x\"}", NULL, err,
	    sizeof(err)), CTL_LINE_BAD);
}
END_TEST

START_TEST(live_status_parses_into_servers)
{
	struct ctl_server	*s;
	size_t			 n;
	json_t			*ans;
	char			 err[128];
	int			 fd;

	fd = cl_connect();
	ans = ask_ok(fd, "status");
	ck_assert_int_eq(ctlclient_servers_from_answer(ans, &s, &n, err,
	    sizeof(err)), 0);
	ck_assert_uint_eq(n, 4);
	ck_assert_str_eq(s[0].id, "www1");
	ck_assert_str_eq(s[0].kind, "http");
	ck_assert_str_eq(s[0].state, "up");
	ck_assert_str_eq(s[0].state_type, "hard");
	ck_assert_double_eq_tol(s[0].latency_ms, 12.3, 1e-9);
	ck_assert_int_eq(s[0].since, 1700000000);
	ck_assert_str_eq(s[2].message, "db1: connection refused");
	ck_assert_int_eq(s[3].last_check, 0);
	ck_assert(s[3].latency_ms < 0);
	ctlclient_servers_free(s, n);
	json_decref(ans);
	close(fd);
}
END_TEST

/* The last known state, as probed's state file (state_to_json) has it. */
START_TEST(state_file_gives_last_known_state)
{
	struct ctl_server	*s;
	struct state		 st;
	json_t			*root, *map;
	size_t			 n;
	int64_t			 written;
	char			 path[160], err[256];
	FILE			*f;

	root = json_object();
	map = json_object();
	json_object_set_new(root, "version", json_integer(1));
	json_object_set_new(root, "written", json_integer(1700009999));
	json_object_set_new(root, "servers", map);
	state_init(&st);
	st.state = st.hard = HSTATE_DOWN;
	st.type = STATE_HARD;
	st.since = 1700001000;
	st.last_check = 1700009990;
	st.last_latency_us = 2500;
	st.acked = 1;
	state_set_text(&st.message, "timeout after 10s", STATE_MSG_MAX);
	json_object_set_new(map, "zz", state_to_json(&st));
	state_free(&st);
	json_object_set_new(map, "aa", state_to_json(&st));
	snprintf(path, sizeof(path), "%s/state.json", dir);
	ck_assert_int_eq(json_dump_file(root, path, 0), 0);
	json_decref(root);

	ck_assert_int_eq(ctlclient_state_load(path, &s, &n, &written, err,
	    sizeof(err)), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(written, 1700009999);
	ck_assert_str_eq(s[0].id, "zz");	/* the file's order */
	ck_assert_str_eq(s[0].state, "down");
	ck_assert_str_eq(s[0].state_type, "hard");
	ck_assert_str_eq(s[0].kind, "");
	ck_assert_int_eq(s[0].since, 1700001000);
	ck_assert_int_eq(s[0].last_check, 1700009990);
	ck_assert_double_eq_tol(s[0].latency_ms, 2.5, 1e-9);
	ck_assert_str_eq(s[0].message, "timeout after 10s");
	ck_assert_int_eq(s[0].acked, 1);
	ck_assert_str_eq(s[1].id, "aa");
	ck_assert_str_eq(s[1].state, "unknown");
	ck_assert(s[1].latency_ms < 0);
	ctlclient_servers_free(s, n);

	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("{\"version\":2,\"servers\":{}}\n", f);
	fclose(f);
	ck_assert_int_eq(ctlclient_state_load(path, &s, &n, &written, err,
	    sizeof(err)), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "not a version 1 state file"));
	unlink(path);
	ck_assert_int_eq(ctlclient_state_load(path, &s, &n, &written, err,
	    sizeof(err)), -1);
	ck_assert_int_eq(errno, ENOENT);
}
END_TEST

static Suite *
ctl_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("ctl");
	tc = tcase_create("socket");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, status_lists_every_server_with_required_fields);
	tcase_add_test(tc, status_of_one_server_and_of_an_unknown_one);
	tcase_add_test(tc, ack_sets_flag_and_comment_and_saves);
	tcase_add_test(tc, downtime_sets_until_and_cancel_ends_it);
	tcase_add_test(tc, downtime_with_a_bad_duration_fails);
	tcase_add_test(tc, drain_and_enable_toggle_drained);
	tcase_add_test(tc, check_asks_the_engine_for_a_check_now);
	tcase_add_test(tc, reload_passes_back_the_config_errors);
	tcase_add_test(tc, stats_reports_engine_and_socket_figures);
	tcase_add_test(tc, unknown_and_empty_requests_fail);
	tcase_add_test(tc, watch_streams_results_and_events_in_order);
	tcase_add_test(tc, slow_watcher_is_dropped_and_others_still_served);
	tcase_add_test(tc, overlong_request_drops_that_client_only);
	tcase_add_test(tc,
	    pipelined_requests_answered_in_order_after_half_close);
	tcase_add_test(tc, socket_is_mode_0660_and_removed_on_close);
	tcase_add_test(tc, second_probed_refused_stale_socket_replaced);
	tcase_add_test(tc, too_many_clients_refused_then_room_again);
	tcase_add_test(tc, accept_backs_off_when_out_of_descriptors);
	tcase_add_test(tc, live_status_parses_into_servers);
	tcase_add_test(tc, state_file_gives_last_known_state);
	tcase_add_test(tc, downtime_never_replaces_a_running_one);
	tcase_add_test(tc, scheduled_downtime_listed_and_cancelled);
	tcase_add_test(tc, farm_downtime_covers_its_members);
	tcase_add_test(tc, latency_printed_to_microseconds);
	tcase_add_test(tc, help_lists_commands_from_the_table);
	tcase_add_test(tc, idle_client_closed_watcher_kept);
	tcase_add_test(tc, unread_answers_closed);
	tcase_add_test(tc, ctlsock_answer_inside_handler_frees_the_client);
	if (geteuid() == 0) {
		tcase_add_test(tc, changes_need_the_control_group);
		tcase_add_test(tc, full_socket_keeps_room_for_root);
	} else
		fprintf(stderr, "test_ctl: skipped changes_need_the_control_"
		    "group and full_socket_keeps_room_for_root: they need "
		    "root to connect as another user\n");
	suite_add_tcase(s, tc);

	tc = tcase_create("client");
	tcase_add_test(tc, readline_assembles_lines_and_times_out);
	tcase_add_test(tc, connect_timeout_bounds_a_full_backlog);
	tcase_add_test(tc, parse_tells_answers_from_stream_lines);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	evthread_use_pthreads();
	return ckrun(ctl_suite());
}
