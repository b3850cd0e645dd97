/*
 * test_statusscan.c: web/statusscan.c reads probed's status answer into
 * the same ctl_server records as json_loads + ctlclient do, or declines
 * (-1) so the caller parses it with jansson.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <check.h>
#include <jansson.h>

#include "ctlclient.h"
#include "web.h"

#include "ckrun.h"

static Suite	*statusscan_suite(void);

/* Both readers on text: the same servers, field by field. */
static void
same(const char *text)
{
	struct ctl_server	*a, *b;
	size_t			 na, nb, i;
	json_t			*j = NULL;
	char			 err[256];

	ck_assert_int_eq(ctlclient_parse(text, &j, err, sizeof(err)),
	    CTL_LINE_OK);
	ck_assert_int_eq(ctlclient_servers_from_answer(j, &a, &na, err,
	    sizeof(err)), 0);
	ck_assert_msg(statusscan(text, &b, &nb) == 0, "declined: %s", text);
	ck_assert_uint_eq(na, nb);
	for (i = 0; i < na; i++) {
		ck_assert_str_eq(a[i].id, b[i].id);
		ck_assert_str_eq(a[i].kind, b[i].kind);
		ck_assert_str_eq(a[i].state, b[i].state);
		ck_assert_str_eq(a[i].state_type, b[i].state_type);
		ck_assert_str_eq(a[i].message, b[i].message);
		ck_assert_str_eq(a[i].ack_comment, b[i].ack_comment);
		ck_assert_int_eq(a[i].since, b[i].since);
		ck_assert_int_eq(a[i].last_check, b[i].last_check);
		ck_assert_int_eq(a[i].downtime_until, b[i].downtime_until);
		ck_assert_int_eq(a[i].flapping, b[i].flapping);
		ck_assert_int_eq(a[i].acked, b[i].acked);
		ck_assert_int_eq(a[i].drained, b[i].drained);
		ck_assert_int_eq(a[i].unreachable, b[i].unreachable);
		ck_assert(a[i].latency_ms == b[i].latency_ms);
	}
	ctlclient_servers_free(a, na);
	ctlclient_servers_free(b, nb);
	json_decref(j);
}

static void
declined(const char *text)
{
	struct ctl_server	*b;
	size_t			 nb;

	ck_assert_msg(statusscan(text, &b, &nb) == -1, "read: %s", text);
}

START_TEST(a_status_answer_reads_the_same)
{
	char	 buf[4096], msg[600];
	long	 now = (long)time(NULL);

	same("{\"ok\":true,\"servers\":[]}");
	same("{\"ok\":true,\"servers\":[{\"id\":\"s50\",\"name\":\"s50\","
	    "\"farm\":null,\"kind\":\"http\",\"url\":\"http://127.0.0.1:1/h\","
	    "\"state\":\"up\",\"state_type\":\"hard\",\"since\":1796097154,"
	    "\"last_check\":1796097154,\"latency_ms\":0.432,\"dns_ms\":0.011,"
	    "\"connect_ms\":0.129,\"tls_ms\":null,\"firstbyte_ms\":0.411,"
	    "\"cert_not_after\":null,\"message\":\"HTTP 200, 2 bytes\","
	    "\"long_output\":null,\"flapping\":false,\"flap_pct\":0.0,"
	    "\"acked\":false,\"ack_comment\":null,\"downtime_until\":null,"
	    "\"downtime_comment\":null,\"downtimes\":[],\"drained\":false,"
	    "\"unreachable\":false,\"checks\":1,\"failures\":0}]}");
	/* Escapes, a real for an integer, flags as integers, the type
	 * fallback, the latency in microseconds, a repeated key. */
	same("{\"ok\":true,\"servers\":[{\"id\":\"f/a\\\"b\\\\c\",\"state\":"
	    "\"down\",\"type\":\"soft\",\"since\":17.9,\"message\":\"<b>\\n"
	    "\\t\\u003cscript\\u003e \\u00e9\\u20ac \\/ \\b\\f\\r\","
	    "\"acked\":1,\"drained\":0,\"flapping\":true,\"ack_comment\":"
	    "\"on it\",\"last_latency_us\":1500,\"x\":{\"y\":[1,{\"z\":"
	    "null}]},\"state\":\"degraded\"}, {\"id\":\"b\",\"state\":"
	    "\"unknown\",\"type\":\"sideways\",\"latency_ms\":12,"
	    "\"last_latency_us\":99}]}");
	/* A downtime that runs, one over, one to come. */
	snprintf(buf, sizeof(buf), "{\"servers\":[{\"id\":\"d\",\"state\":"
	    "\"up\",\"downtimes\":[{\"id\":1,\"from\":%ld,\"until\":%ld},"
	    "{\"from\":%ld,\"until\":%ld},{\"from\":%ld,\"until\":%ld.5},"
	    "7]}],\"ok\":true}", now - 60, now + 600, now - 900, now - 300,
	    now + 60, now + 6000);
	same(buf);
	/* A message past the record's 256 bytes. */
	memset(msg, 'x', sizeof(msg) - 1);
	msg[sizeof(msg) - 1] = '\0';
	snprintf(buf, sizeof(buf), "{\"ok\":true,\"servers\":[{\"id\":\"m\","
	    "\"state\":\"up\",\"message\":\"%s\"}]}", msg);
	same(buf);
}
END_TEST

START_TEST(what_it_does_not_read_alike_is_declined)
{
	declined("{\"ok\":true,\"servers\":[{\"id\":\"a\",\"state\":\"up\","
	    "\"message\":\"caf\xc3\xa9\"}]}");		/* raw UTF-8 */
	declined("{\"ok\":true,\"servers\":[{\"id\":\"a\",\"state\":\"up\","
	    "\"message\":\"\\ud83d\\ude00\"}]}");	/* surrogates */
	declined("{\"ok\":true,\"servers\":[{\"id\":\"a\",\"state\":\"up\","
	    "\"since\":01}]}");
	declined("{\"ok\":true,\"servers\":[{\"id\":\"a\",\"state\":\"up\"}"
	    "]} x");
	declined("{\"ok\":true,\"servers\":[{\"state\":\"up\"}]}");
	declined("{\"ok\":true,\"servers\":[{\"id\":\"a\",\"state\":null}]}");
	declined("{\"ok\":false,\"error\":\"no\"}");
	declined("{\"ok\":true,\"servers\":[1]}");
	declined("{\"ok\":true,\"servers\":[{\"id\":\"a\",\"state\":\"up\","
	    "\"since\":99999999999999999999}]}");
	declined("{\"ok\":true,\"servers\":[{\"id\":\"a\",\"state\":\"up\"");
	declined("{\"type\":\"event\",\"ok\":true,\"servers\":[]}");
}
END_TEST

static Suite *
statusscan_suite(void)
{
	Suite	*s = suite_create("statusscan");
	TCase	*tc = tcase_create("statusscan");

	tcase_add_test(tc, a_status_answer_reads_the_same);
	tcase_add_test(tc, what_it_does_not_read_alike_is_declined);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return ckrun(statusscan_suite());
}
