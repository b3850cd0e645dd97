/*
 * test_conf.c: the config language. Every error the language promises is
 * asserted as the exact FILE:LINE: text a user sees; the model is checked
 * for ids, defaults and their order of precedence, strings, URLs and the
 * include rules (with real files under a mkdtemp folder).
 */
#include <sys/stat.h>

#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"

#include "ckrun.h"

static char	*errors_of(const char *);
static struct conf *parse_ok(const char *);
static char	*tmp;		/* the include tests' folder, or NULL */

/* Parse text that must be rejected; return its errors (caller frees). */
static char *
errors_of(const char *text)
{
	struct conf	*c;
	char		*errs = NULL;

	c = conf_parse_string("t.conf", text, &errs);
	ck_assert_msg(c == NULL, "config accepted:\n%s", text);
	ck_assert_ptr_nonnull(errs);
	return errs;
}

/* Parse text that must be accepted. */
static struct conf *
parse_ok(const char *text)
{
	struct conf	*c;
	char		*errs = NULL;

	c = conf_parse_string("t.conf", text, &errs);
	ck_assert_msg(c != NULL, "config rejected:\n%s", errs);
	ck_assert_ptr_null(errs);
	return c;
}

/* The errors of text are exactly want (lines of FILE:LINE: message). */
#define assert_errors(text, want) do {					\
	char *errs_ = errors_of(text);					\
	ck_assert_str_eq(errs_, want);					\
	free(errs_);							\
} while (0)

/* The server with that id, which must exist. */
static struct server_conf *
server(const struct conf *c, const char *id)
{
	struct server_conf *sv = conf_find_server(c, id);

	ck_assert_msg(sv != NULL, "no server '%s'", id);
	return sv;
}

/* ---- errors: one per promise, with the exact text ---- */

START_TEST(unknown_keyword_suggests_closest)
{
	assert_errors("sever www1 https://www1.example.net/\n",
	    "t.conf:1: unknown keyword 'sever' (did you mean 'server'?)\n");
	assert_errors("\n\nfram shop {\n}\n",
	    "t.conf:3: unknown keyword 'fram' (did you mean 'farm'?)\n"
	    "t.conf:4: '}' without a block\n");
}
END_TEST

START_TEST(unknown_keyword_far_from_any_has_no_hint)
{
	assert_errors("frobnicate x\n",
	    "t.conf:1: unknown keyword 'frobnicate'\n");
}
END_TEST

START_TEST(unknown_server_option_suggests_closest)
{
	/* the typo's value is not reported as a second unknown keyword */
	assert_errors("server a http://a wran 5s\n",
	    "t.conf:1: unknown keyword 'wran' (did you mean 'warn'?)\n");
	assert_errors("server a http://a insecur follow\n",
	    "t.conf:1: unknown keyword 'insecur' (did you mean "
	    "'insecure'?)\n");
}
END_TEST

START_TEST(unknown_set_keyword_suggests_closest)
{
	assert_errors("set intervall 5s\n",
	    "t.conf:1: unknown keyword 'intervall' (did you mean "
	    "'interval'?)\n");
	assert_errors("set state-dri /x\n",
	    "t.conf:1: unknown keyword 'state-dri' (did you mean "
	    "'state-dir'?)\n");
	assert_errors("set smtp-relay m:25 startls\n",
	    "t.conf:1: unknown keyword 'startls' after smtp-relay "
	    "(starttls, auth-file)\n");
}
END_TEST

START_TEST(sms_number_without_gateway_is_refused)
{
	assert_errors("contact k email k@example.net sms +15551234567\n",
	    "t.conf:1: contact 'k': sms +15551234567 is a phone number, "
	    "which needs 'set sms-gateway URL' (or give an email-to-SMS "
	    "gateway address, NUMBER@gateway)\n");
	assert_errors("set sms-gateway https://sms.example.net/send\n"
	    "contact k sms 15551234567\ncontact j sms +12\n",
	    "t.conf:2: sms '15551234567': give a phone number in "
	    "international form (+ and 6 to 15 digits) or an email-to-SMS "
	    "gateway address (NUMBER@gateway)\n"
	    "t.conf:3: sms '+12': give a phone number in "
	    "international form (+ and 6 to 15 digits) or an email-to-SMS "
	    "gateway address (NUMBER@gateway)\n");
}
END_TEST

START_TEST(contact_without_channel_is_refused)
{
	struct conf *c;

	/* Its pages went nowhere ("not paged, no contact for it"). */
	assert_errors("contact ops email ops@example.net\n"
	    "contact bob\n"
	    "contact eve min-state down renotify 1h escalate-after 1h ops\n"
	    "server a http://a/ notify ops,bob\n",
	    "t.conf:2: contact 'bob' has no channel: give it email, sms or "
	    "webhook\n"
	    "t.conf:3: contact 'eve' has no channel: give it email, sms or "
	    "webhook\n");
	c = parse_ok("contact a email a@example.net\n"
	    "contact b sms 15551234567@sms.example.net\n"
	    "contact h webhook https://hooks.example.net/x\n");
	ck_assert_uint_eq(c->ncontacts, 3);
	conf_free(c);
}
END_TEST

START_TEST(sms_gateway_is_checked)
{
	assert_errors("set sms-gateway \"ftp://x/{text}\"\n",
	    "t.conf:1: bad sms-gateway URL 'ftp://x/{text}' (http:// or "
	    "https://)\n");
	assert_errors("set sms-gateway https://x/ body \"to={to}&m={txt}\"\n",
	    "t.conf:1: unknown placeholder '{txt}' in the sms-gateway body "
	    "({to}, {text}, {key})\n"
	    "t.conf:1: sms-gateway: no {text} in the body: the message "
	    "would go nowhere\n");
	assert_errors("set sms-gateway \"https://x/?to={to}\" get\n",
	    "t.conf:1: sms-gateway: no {text} in the URL: the message "
	    "would go nowhere\n");
	assert_errors("set sms-gateway \"https://x/?m={text}\" get body "
	    "\"a={text}\"\n",
	    "t.conf:1: sms-gateway: a GET has no body (drop 'body' or use "
	    "post)\n");
	assert_errors("set sms-gateway https://x/ auth digest auth-file\n",
	    "t.conf:1: bad value 'digest' for 'auth' (basic or bearer)\n"
	    "t.conf:1: 'auth-file' needs a value\n");
	assert_errors("set sms-gateway https://x/ methd post\n",
	    "t.conf:1: unknown keyword 'methd' after sms-gateway (get, "
	    "post, auth, auth-file, body)\n");
}
END_TEST

START_TEST(sms_gateway_parses)
{
	struct conf *c;

	c = parse_ok("set sms-gateway \"https://api.example.net/{key}\" auth "
	    "bearer auth-file /etc/tocsin/sms.token body "
	    "\"{\\\"to\\\":\\\"{to}\\\",\\\"text\\\":\\\"{text}\\\"}\"\n"
	    "contact k sms +15551234567\n");
	ck_assert_str_eq(c->sms_gateway, "https://api.example.net/{key}");
	ck_assert_int_eq(c->sms_get, 0);
	ck_assert_int_eq(c->sms_bearer, 1);
	ck_assert_str_eq(c->sms_auth_file, "/etc/tocsin/sms.token");
	ck_assert_str_eq(c->sms_body,
	    "{\"to\":\"{to}\",\"text\":\"{text}\"}");
	ck_assert_str_eq(c->contacts[0]->sms, "+15551234567");
	conf_free(c);
	c = parse_ok("set sms-gateway \"http://x/s?to={to}&text={text}\" "
	    "get\n");
	ck_assert_int_eq(c->sms_get, 1);
	ck_assert_ptr_null(c->sms_body);
	ck_assert_ptr_null(c->sms_auth_file);
	conf_free(c);
}
END_TEST

START_TEST(renotify_and_escalate_after_are_checked)
{
	struct conf *c;

	assert_errors("contact a email a@example.net escalate-after 5m nobody\n"
	    "contact b email b@example.net escalate-after 5m b\n"
	    "contact d email d@example.net escalate-after 5m\n"
	    "contact e email e@example.net renotify 5\n",
	    "t.conf:3: 'escalate-after' needs a duration and a contact\n"
	    "t.conf:4: bad duration '5' for 'renotify': a number needs a unit "
	    "(write 5s or 5m)\n"
	    "t.conf:1: contact 'a': escalate-after names unknown contact "
	    "'nobody'\n"
	    "t.conf:2: contact 'b': escalate-after names the contact itself\n");
	c = parse_ok("set renotify 1h\n"
	    "contact ops email o@example.net renotify 30m escalate-after 1h "
	    "boss\ncontact boss email b@example.net\n"
	    "server web1 http://a/ notify ops\n"
	    "server web2 http://a/ notify ops renotify 0s\n");
	ck_assert_uint_eq(c->contacts[0]->renotify, 1800000);
	ck_assert_uint_eq(c->contacts[0]->escalate_ms, 3600000);
	ck_assert_ptr_eq(c->contacts[0]->escalate, c->contacts[1]);
	ck_assert_uint_eq(server(c, "web1")->o.renotify, 3600000);
	ck_assert_uint_eq(server(c, "web2")->o.renotify, 0);
	conf_free(c);
	assert_errors("contact a email a@example.net\n\nset admin root\n",
	    "t.conf:3: set admin: unknown contact 'root'\n");
	c = parse_ok("set admin a\ncontact a email a@example.net\n");
	ck_assert_ptr_eq(c->admin_contact, c->contacts[0]);
	ck_assert_uint_eq(c->stale_after_ms, 1800000);	/* the default */
	conf_free(c);
	c = parse_ok("set stale-after 10m\n");
	ck_assert_uint_eq(c->stale_after_ms, 600000);
	conf_free(c);
	assert_errors("set stale-after 10\n", "t.conf:1: bad duration '10' "
	    "for 'stale-after': a number needs a unit (write 10s or 10m)\n");
}
END_TEST

START_TEST(unknown_contact_keyword_suggests_closest)
{
	assert_errors("contact k emial k@example.net sms 1555@sms.example.net\n",
	    "t.conf:1: unknown keyword 'emial' (did you mean 'email'?)\n");
}
END_TEST

START_TEST(unknown_farm_keyword_suggests_closest)
{
	assert_errors("farm f {\n  balanse fastest\n  server a http://a\n}\n",
	    "t.conf:2: unknown keyword 'balanse' (did you mean "
	    "'balance'?)\n");
	assert_errors("farm f { listen 127.0.0.1:1; balance fastst }\n",
	    "t.conf:1: unknown balance 'fastst' (did you mean "
	    "'fastest'?)\n");
}
END_TEST

START_TEST(missing_value_is_reported)
{
	assert_errors("server a http://a warn\n",
	    "t.conf:1: 'warn' needs a value\n");
	assert_errors("set timeout\n", "t.conf:1: 'timeout' needs a value\n");
	assert_errors("set state-dir\n",
	    "t.conf:1: 'state-dir' needs a value\n");
	assert_errors("set\n", "t.conf:1: 'set' needs a keyword\n");
	assert_errors("set smtp-relay m:25 auth-file\n",
	    "t.conf:1: 'auth-file' needs a value\n");
	assert_errors("contact c email\n",
	    "t.conf:1: 'email' needs a value\n");
	assert_errors("contact\n", "t.conf:1: 'contact' needs a name\n");
	assert_errors("server\n",
	    "t.conf:1: 'server' needs a name and a URL\n");
	assert_errors("server a\n", "t.conf:1: server 'a' needs a URL\n");
	assert_errors("include\n",
	    "t.conf:1: 'include' needs one file name or pattern\n");
	assert_errors("farm f { listen 127.0.0.1:1; persist }\n",
	    "t.conf:1: 'persist' needs one duration\n");
	assert_errors("farm f { listen 127.0.0.1:1; slowstart }\n",
	    "t.conf:1: 'slowstart' needs one duration\n");
	assert_errors("farm f { listen 127.0.0.1:1; proxy-protocol v3 }\n",
	    "t.conf:1: 'proxy-protocol' needs v1 or v2\n");
	assert_errors("farm f { listen 127.0.0.1:1; proxy-protocol }\n",
	    "t.conf:1: 'proxy-protocol' needs v1 or v2\n");
	assert_errors("farm f { listen 127.0.0.1:1; slowstart 5q }\n",
	    "t.conf:1: bad duration '5q' for 'slowstart' (a number with ms, "
	    "s, m, h or d)\n");
	assert_errors("farm f { listen }\n",
	    "t.conf:1: 'listen' needs ADDRESS:PORT [http|tcp]\n");
	assert_errors("farm f { listen 127.0.0.1:1; client-timeout }\n",
	    "t.conf:1: 'client-timeout' needs one duration\n");
	assert_errors("farm f { listen 127.0.0.1:1; connect-timeout 0s }\n",
	    "t.conf:1: 'connect-timeout' needs a duration above 0\n");
	assert_errors("farm f {\n listen 127.0.0.1:1 tcp\n server-timeout 5s\n"
	    "}\n", "t.conf:3: farm 'f': 'server-timeout' times http answers, "
	    "and the farm has no 'listen ... http' (a tcp session ends after "
	    "its client-timeout)\n");
}
END_TEST

START_TEST(bad_duration_is_reported)
{
	assert_errors("server a http://a interval 5q\n",
	    "t.conf:1: bad duration '5q' for 'interval' (a number with ms, "
	    "s, m, h or d)\n");
	assert_errors("set timeout 1.5s\n",
	    "t.conf:1: bad duration '1.5s' for 'timeout' (a number with ms, "
	    "s, m, h or d)\n");
	assert_errors("server a http://a warn -1s\n",
	    "t.conf:1: bad duration '-1s' for 'warn' (a number with ms, "
	    "s, m, h or d)\n");
	assert_errors("server a http://a timeout 99999999999999999999s\n",
	    "t.conf:1: bad duration '99999999999999999999s' for 'timeout' "
	    "(a number with ms, s, m, h or d)\n");
	assert_errors("farm f { listen 127.0.0.1:1; persist 10x }\n",
	    "t.conf:1: bad duration '10x' for 'persist' (a number with ms, "
	    "s, m, h or d)\n");
	assert_errors("server a http://a interval 0\n",
	    "t.conf:1: server 'a': interval and timeout must be more "
	    "than 0\n");
}
END_TEST

START_TEST(bare_number_duration_is_refused_with_a_hint)
{
	assert_errors("server a http://a interval 5\n"
	    "farm f { listen 127.0.0.1:1; persist 30 }\n"
	    "set retry-interval 10\n",
	    "t.conf:1: bad duration '5' for 'interval': a number needs a unit "
	    "(write 5s or 5m)\n"
	    "t.conf:2: bad duration '30' for 'persist': a number needs a unit "
	    "(write 30s or 30m)\n"
	    "t.conf:3: bad duration '10' for 'retry-interval': a number needs "
	    "a unit (write 10s or 10m)\n");
}
END_TEST

START_TEST(compound_durations_are_accepted)
{
	struct conf	*c = parse_ok(
	    "server a http://a interval 1h30m timeout 1m30s warn 1s500ms\n"
	    "server b http://b interval 2d4h timeout 90s warn 0\n");

	ck_assert_uint_eq(server(c, "a")->o.interval, 5400000);
	ck_assert_uint_eq(server(c, "a")->o.timeout, 90000);
	ck_assert_uint_eq(server(c, "a")->o.warn, 1500);
	ck_assert_uint_eq(server(c, "b")->o.interval, 187200000);
	ck_assert_uint_eq(server(c, "b")->o.timeout, 90000);
	ck_assert_uint_eq(server(c, "b")->o.warn, 0);
	conf_free(c);
	assert_errors("server a http://a interval 30m1h\n",
	    "t.conf:1: bad duration '30m1h' for 'interval' (a number with "
	    "ms, s, m, h or d)\n");
}
END_TEST

START_TEST(timeout_zero_is_refused)
{
	assert_errors("server a http://a timeout 0\n",
	    "t.conf:1: server 'a': interval and timeout must be more "
	    "than 0\n");
	assert_errors("set timeout 0ms\nserver a http://a\n",
	    "t.conf:2: server 'a': interval and timeout must be more "
	    "than 0\n");
}
END_TEST

START_TEST(bad_number_is_reported)
{
	assert_errors("server a http://a retries many\n",
	    "t.conf:1: bad number 'many' for 'retries' (1 to 100)\n");
	assert_errors("server a http://a retries 101\n",
	    "t.conf:1: bad number '101' for 'retries' (1 to 100)\n");
	/* 0 was taken and counted as 1 */
	assert_errors("server a http://a retries 0\nset rise 0\n",
	    "t.conf:1: bad number '0' for 'retries' (1 to 100)\n"
	    "t.conf:2: bad number '0' for 'rise' (1 to 100)\n");
	assert_errors("farm f { listen :80; server a http://a weight -1 }\n",
	    "t.conf:1: bad number '-1' for 'weight' (0 to 256)\n");
	assert_errors("farm f { listen :80; server a http://a maxconn x }\n",
	    "t.conf:1: bad number 'x' for 'maxconn' (0 to 1000000)\n");
	assert_errors("set max-concurrent 9999999\n",
	    "t.conf:1: bad number '9999999' for 'max-concurrent' "
	    "(0 to 1000000)\n");
	assert_errors("set flap-high 101\n",
	    "t.conf:1: bad number '101' for 'flap-high' (0 to 100)\n");
	assert_errors("server g ping://g loss 200%\n",
	    "t.conf:1: bad percentage '200%' for 'loss'\n");
}
END_TEST

START_TEST(port_out_of_range_is_reported)
{
	assert_errors("server a http://a.example.net:70000/\n",
	    "t.conf:1: port 70000 out of range (1-65535)\n");
	assert_errors("server a tcp://a.example.net:0\n",
	    "t.conf:1: port 0 out of range (1-65535)\n");
	assert_errors("server a http://a.example.net:http/\n",
	    "t.conf:1: bad port 'http' in URL 'http://a.example.net:http/'\n");
	assert_errors("farm f { listen 0.0.0.0:65536 }\n",
	    "t.conf:1: port 65536 out of range (1-65535)\n");
	assert_errors("farm f { listen 0.0.0.0 }\n",
	    "t.conf:1: listen address '0.0.0.0' needs a port\n");
}
END_TEST

START_TEST(unknown_url_scheme_is_reported)
{
	assert_errors("server a gopher://a.example.net/\n",
	    "t.conf:1: unknown URL scheme 'gopher' (http, https, tcp, dns, "
	    "ftp, ftps, smtp, smtps, pop3, pop3s, imap, imaps, ping, or "
	    "exec \"command\")\n");
	assert_errors("server a www.example.net\n",
	    "t.conf:1: bad URL 'www.example.net' "
	    "(scheme://host[:port][/path])\n");
	assert_errors("server a tcp://a.example.net\n",
	    "t.conf:1: tcp URL 'tcp://a.example.net' needs a port\n");
	assert_errors("server a http:///x\n",
	    "t.conf:1: URL 'http:///x' has no host\n");
}
END_TEST

START_TEST(duplicate_id_names_both_lines)
{
	assert_errors("server www1 http://a\nserver www2 http://b\n"
	    "server www1 http://c\n",
	    "t.conf:3: duplicate server id 'www1' (first at t.conf:1)\n");
	assert_errors("farm shop {\n server web1 http://a\n}\n"
	    "farm shop2 {\n server web1 http://a\n}\n"
	    "farm shop {\n server web1 http://b\n}\n",
	    "t.conf:7: duplicate farm 'shop' (first at t.conf:1)\n"
	    "t.conf:8: duplicate server id 'shop/web1' (first at t.conf:2)\n");
	/* a server notifying the twice-defined contact (found by fuzzing:
	 * it used to write past the end of the server's contact list) */
	assert_errors("contact ops email a@b\ncontact ops email c@d\n"
	    "server a http://a notify ops\n",
	    "t.conf:2: duplicate contact 'ops' (first at t.conf:1)\n");
}
END_TEST

START_TEST(unknown_contact_is_reported)
{
	assert_errors("contact ops email ops@example.net\n"
	    "server a http://a notify ops,opz\n",
	    "t.conf:2: server 'a': unknown contact 'opz'\n");
}
END_TEST

START_TEST(unknown_depends_on_target_is_reported)
{
	assert_errors("server a tcp://a:1 depends-on gw\n",
	    "t.conf:1: server 'a': unknown depends-on target 'gw'\n");
	assert_errors("server a tcp://a:1 depends-on a\n",
	    "t.conf:1: server 'a' depends on itself\n");
}
END_TEST

START_TEST(dependency_cycle_names_the_cycle)
{
	/* x leads into the cycle but is no part of it */
	assert_errors("server x tcp://x:1 depends-on a\n"
	    "server a tcp://a:1 depends-on b\n"
	    "server b tcp://b:1 depends-on c\n"
	    "server c tcp://c:1 depends-on a\n",
	    "t.conf:2: dependency cycle: a -> b -> c -> a\n");
	assert_errors("farm f {\n server a tcp://a:1 depends-on b\n"
	    " server b tcp://b:1 depends-on f/a\n}\n",
	    "t.conf:2: dependency cycle: f/a -> f/b -> f/a\n");
}
END_TEST

START_TEST(unterminated_string_is_reported_once)
{
	/* the broken statement is dropped, not reported again as empty */
	assert_errors("server a exec \"/bin/check -x\n"
	    "server b http://b body \"OK\n",
	    "t.conf:1: unterminated string\n"
	    "t.conf:2: unterminated string\n");
	assert_errors("server a http://a body \"OK", /* no newline at end */
	    "t.conf:1: unterminated string\n");
}
END_TEST

START_TEST(unterminated_block_is_reported)
{
	assert_errors("farm shop {\n  server web1 http://a\n\n",
	    "t.conf:1: farm 'shop': block not closed with '}'\n");
}
END_TEST

START_TEST(stray_braces_are_reported)
{
	assert_errors("server a http://a\n}\n",
	    "t.conf:2: '}' without a block\n");
	assert_errors("server a http://a {\n}\n",
	    "t.conf:1: '{' after 'server': only a farm opens a block\n"
	    "t.conf:2: '}' without a block\n");
	assert_errors("farm shop\n",
	    "t.conf:1: farm needs a block: farm NAME { ... }\n");
	assert_errors("farm a {\n farm b {\n }\n}\n",
	    "t.conf:2: farm inside farm 'a'\n"
	    "t.conf:4: '}' without a block\n");
	assert_errors("\"server\" a http://a\n",
	    "t.conf:1: expected a keyword, found a string\n");
}
END_TEST

START_TEST(bad_exec_is_reported)
{
	assert_errors("server a exec /bin/true\n",
	    "t.conf:1: exec needs a quoted command: exec \"/path/check_x "
	    "ARGS\"\n");
	assert_errors("server a exec \"check_disk -w 10%\"\n",
	    "t.conf:1: exec command 'check_disk' must be an absolute path\n");
	assert_errors("server a exec \"/bin/check \\\"x\"\n",
	    "t.conf:1: bad exec command: unterminated string\n");
	assert_errors("server a exec \"  \"\n",
	    "t.conf:1: bad exec command: empty command\n");
}
END_TEST

START_TEST(bad_dns_url_is_reported)
{
	assert_errors("server a dns://127.0.0.1/example.net?type=BOGUS\n",
	    "t.conf:1: unknown DNS type 'BOGUS' (A, AAAA, MX, NS, TXT, "
	    "SOA)\n");
	assert_errors("server a dns://127.0.0.1/\n",
	    "t.conf:1: dns URL 'dns://127.0.0.1/' needs a name to look up "
	    "(dns://server/name?type=A)\n");
	assert_errors("server a dns://127.0.0.1/example.net?class=IN\n",
	    "t.conf:1: bad query 'class=IN' in dns URL "
	    "(?type=A|AAAA|MX|NS|TXT|SOA)\n");
}
END_TEST

START_TEST(bad_http_expect_is_reported)
{
	assert_errors("server a http://a expect 200-\n",
	    "t.conf:1: server 'a': bad status list '200-' for 'expect' "
	    "(e.g. 200, 200-299,301)\n");
	assert_errors("server a http://a expect 302-301\n",
	    "t.conf:1: server 'a': bad status list '302-301' for 'expect' "
	    "(e.g. 200, 200-299,301)\n");
	assert_errors("server a http://a expect 99\n",
	    "t.conf:1: server 'a': bad status list '99' for 'expect' "
	    "(e.g. 200, 200-299,301)\n");
}
END_TEST

START_TEST(bad_names_and_contact_values_are_reported)
{
	assert_errors("server a/b http://a\n",
	    "t.conf:1: bad server name 'a/b' (letters, digits, '.', '_', "
	    "'-')\n");
	assert_errors("farm -f { }\n",
	    "t.conf:1: bad farm name '-f' (letters, digits, '.', '_', "
	    "'-')\n");
	assert_errors("contact ops email ops.example.net\n",
	    "t.conf:1: bad email address 'ops.example.net'\n");
	assert_errors("contact ops email a@b quiet 25:00-07:00\n",
	    "t.conf:1: bad time range '25:00-07:00' for 'quiet' "
	    "(HH:MM-HH:MM)\n");
}
END_TEST

START_TEST(several_errors_are_reported_in_one_run)
{
	/* parse errors first, in file order; then the whole-file checks */
	assert_errors(
	    "sever www1 https://www1.example.net/\n"
	    "server www2 https://www2.example.net/ warn 5q\n"
	    "server www3 gopher://www3.example.net/\n"
	    "server www2 http://other.example.net/ notify nobody\n"
	    "server db tcp://db:5432 depends-on gw\n"
	    "set retries lots\n",
	    "t.conf:1: unknown keyword 'sever' (did you mean 'server'?)\n"
	    "t.conf:2: bad duration '5q' for 'warn' (a number with ms, s, m, "
	    "h or d)\n"
	    "t.conf:3: unknown URL scheme 'gopher' (http, https, tcp, dns, "
	    "ftp, ftps, smtp, smtps, pop3, pop3s, imap, imaps, ping, or "
	    "exec \"command\")\n"
	    "t.conf:6: bad number 'lots' for 'retries' (1 to 100)\n"
	    "t.conf:4: duplicate server id 'www2' (first at t.conf:2)\n"
	    "t.conf:4: server 'www2': unknown contact 'nobody'\n"
	    "t.conf:5: server 'db': unknown depends-on target 'gw'\n");
}
END_TEST

/* ---- the model ---- */

static const char spec_example[] =
    "set state-dir /var/lib/tocsin\n"
    "set interval 60s\n"
    "set timeout 10s\n"
    "set retries 3\n"
    "set retry-interval 10s\n"
    "set dns-servers 127.0.0.1:5353\n"
    "set smtp-relay mail.example.net:587 starttls auth-file "
    "/etc/tocsin/smtp.secret\n"
    "set from tocsin@example.net\n"
    "contact ops email ops@example.net sms 15551234567@sms.example.net\n"
    "contact night email oncall@example.net sms "
    "15557654321@sms.example.net quiet 23:00-07:00\n"
    "server www1 https://www1.example.net/health expect 200 body \"OK\" "
    "warn 500ms cert-days 14 notify ops\n"
    "server ns1  dns://127.0.0.1:5353/example.net?type=A expect "
    "192.0.2.10\n"
    "server db1  tcp://db1.example.net:5432 interval 30s depends-on gw\n"
    "server gw   ping://gw.example.net\n"
    "server disk exec \"/usr/lib/nagios/plugins/check_disk -w 10% -c 5% "
    "-p /\"\n"
    "farm shop notify ops { balance fastest; listen 0.0.0.0:80 http; "
    "persist 10m; maxconn 50; server web1 http://10.0.0.11:8080/health "
    "weight 2 }\n";

START_TEST(spec_example_parses)
{
	struct conf		*c = parse_ok(spec_example);
	struct server_conf	*sv;
	char			 sum[128];

	conf_summary(c, sum, sizeof(sum));
	ck_assert_str_eq(sum, "6 servers, 1 farm, 2 contacts");
	ck_assert_str_eq(c->state_dir, "/var/lib/tocsin");
	ck_assert_str_eq(c->control, "/var/lib/tocsin/probed.sock");
	ck_assert_str_eq(c->dns_servers, "127.0.0.1:5353");
	ck_assert_str_eq(c->smtp_relay, "mail.example.net:587");
	ck_assert_int_eq(c->smtp_starttls, 1);
	ck_assert_str_eq(c->smtp_auth_file, "/etc/tocsin/smtp.secret");
	ck_assert_str_eq(c->from, "tocsin@example.net");

	sv = server(c, "www1");
	ck_assert_int_eq(sv->kind, KIND_HTTP);
	ck_assert_str_eq(sv->host, "www1.example.net");
	ck_assert_int_eq(sv->port, 443);
	ck_assert_int_eq(sv->implicit_tls, 1);
	ck_assert_str_eq(sv->path, "/health");
	ck_assert_str_eq(sv->o.body, "OK");
	ck_assert_uint_eq(sv->o.warn, 500);
	ck_assert_uint_eq(sv->o.cert_days_warn, 14);
	ck_assert_uint_eq(sv->ncontacts, 1);
	ck_assert_str_eq(sv->contacts[0]->name, "ops");
	ck_assert_int_eq(sv->line, 11);
	ck_assert_str_eq(sv->file, "t.conf");

	sv = server(c, "db1");
	ck_assert_uint_eq(sv->o.interval, 30000);
	ck_assert_uint_eq(sv->ndeps, 1);
	ck_assert_ptr_eq(sv->deps[0], server(c, "gw"));
	ck_assert_int_eq(server(c, "gw")->kind, KIND_PING);
	ck_assert_int_eq(server(c, "disk")->kind, KIND_EXEC);

	sv = server(c, "shop/web1");
	ck_assert_str_eq(sv->name, "web1");
	ck_assert_uint_eq(sv->o.weight, 2);
	ck_assert_uint_eq(sv->o.maxconn, 50);
	ck_assert_uint_eq(server(c, "www1")->o.maxconn, 0);
	ck_assert_uint_eq(sv->ncontacts, 1);
	ck_assert_ptr_null(conf_find_server(c, "web1"));
	conf_free(c);
}
END_TEST

START_TEST(farm_servers_are_named_farm_slash_name)
{
	struct conf	*c = parse_ok(
	    "farm shop {\n server web1 http://a\n server web2 http://b\n}\n"
	    "farm api {\n server web1 http://c\n}\n"
	    "server web1 http://d\n");

	ck_assert_uint_eq(c->nservers, 4);
	ck_assert_uint_eq(c->nfarms, 2);
	ck_assert_str_eq(c->servers[0]->id, "shop/web1");
	ck_assert_str_eq(c->servers[1]->id, "shop/web2");
	ck_assert_str_eq(c->servers[2]->id, "api/web1");
	ck_assert_str_eq(c->servers[3]->id, "web1");
	ck_assert_ptr_eq(c->servers[0]->farm, c->farms[0]);
	ck_assert_ptr_null(c->servers[3]->farm);
	ck_assert_uint_eq(c->farms[0]->nservers, 2);
	ck_assert_ptr_eq(c->farms[0]->servers[1], c->servers[1]);
	conf_free(c);
}
END_TEST

START_TEST(farm_block_options_are_parsed)
{
	struct conf	*c = parse_ok(
	    "farm shop {\n"
	    "  balance leastconn\n"
	    "  listen 0.0.0.0:80 http\n"
	    "  listen [::]:8443 tcp\n"
	    "  listen 127.0.0.1:8080\n"
	    "  persist 10m\n"
	    "  slowstart 30s\n"
	    "  proxy-protocol v2\n"
	    "  connect-timeout 1500ms\n"
	    "  client-timeout 2m\n"
	    "  server-timeout 45s\n"
	    "  server web1 http://a\n"
	    "}\n");
	struct farm_conf *f = c->farms[0];

	ck_assert_str_eq(f->name, "shop");
	ck_assert_int_eq(f->balance, BALANCE_LEASTCONN);
	ck_assert_str_eq(conf_balance_str(f->balance), "leastconn");
	ck_assert_uint_eq(f->persist, 600000);
	ck_assert_uint_eq(f->slowstart, 30000);
	ck_assert_int_eq(f->proxy_protocol, 2);
	ck_assert_uint_eq(f->connect_timeout, 1500);
	ck_assert_uint_eq(f->client_timeout, 120000);
	ck_assert_uint_eq(f->server_timeout, 45000);
	ck_assert_uint_eq(f->nlistens, 3);
	ck_assert_str_eq(f->listens[0].addr, "0.0.0.0:80");
	ck_assert_int_eq(f->listens[0].http, 1);
	ck_assert_str_eq(f->listens[1].addr, "[::]:8443");
	ck_assert_int_eq(f->listens[1].http, 0);
	ck_assert_int_eq(f->listens[2].http, 1);
	ck_assert_int_eq(f->line, 1);
	conf_free(c);
}
END_TEST

START_TEST(farm_defaults_are_inherited)
{
	struct conf	*c = parse_ok(
	    "contact ops email ops@example.net\n"
	    "contact dev email dev@example.net\n"
	    "farm shop interval 15s notify ops insecure {\n"
	    "  timeout 2s\n"
	    "  server web1 http://a\n"
	    "  server web2 http://b notify dev\n"
	    "}\n");
	struct server_conf *sv = server(c, "shop/web1");

	ck_assert_uint_eq(sv->o.interval, 15000);
	ck_assert_uint_eq(sv->o.timeout, 2000);
	ck_assert_int_eq(sv->o.insecure, 1);
	ck_assert_uint_eq(sv->ncontacts, 1);
	ck_assert_str_eq(sv->contacts[0]->name, "ops");
	/* notify adds up: the server's own and the farm's */
	sv = server(c, "shop/web2");
	ck_assert_uint_eq(sv->ncontacts, 2);
	ck_assert_str_eq(sv->contacts[0]->name, "dev");
	ck_assert_str_eq(sv->contacts[1]->name, "ops");
	conf_free(c);
}
END_TEST

START_TEST(server_option_overrides_farm_and_set)
{
	struct conf	*c = parse_ok(
	    "set interval 2m\n"
	    "set timeout 20s\n"
	    "set retries 5\n"
	    "farm shop interval 30s {\n"
	    "  server web1 http://a interval 5s\n"
	    "  server web2 http://b\n"
	    "}\n"
	    "server solo http://c\n");

	ck_assert_uint_eq(server(c, "shop/web1")->o.interval, 5000);
	ck_assert_uint_eq(server(c, "shop/web2")->o.interval, 30000);
	ck_assert_uint_eq(server(c, "solo")->o.interval, 120000);
	/* what the farm leaves alone comes from set */
	ck_assert_uint_eq(server(c, "shop/web1")->o.timeout, 20000);
	ck_assert_uint_eq(server(c, "shop/web2")->o.retries, 5);
	conf_free(c);
}
END_TEST

START_TEST(set_after_servers_still_applies)
{
	struct conf	*c = parse_ok(
	    "server a http://a\n"
	    "farm f {\n server b http://b\n}\n"
	    "set interval 5m\n"
	    "set rise 2\n");

	ck_assert_uint_eq(server(c, "a")->o.interval, 300000);
	ck_assert_uint_eq(server(c, "f/b")->o.interval, 300000);
	ck_assert_uint_eq(server(c, "a")->o.rise, 2);
	conf_free(c);
}
END_TEST

START_TEST(builtin_defaults_apply)
{
	struct conf		*c = parse_ok("server a http://a\n");
	struct server_conf	*sv = server(c, "a");

	ck_assert_uint_eq(sv->o.interval, 60000);
	ck_assert_uint_eq(sv->o.timeout, 10000);
	ck_assert_uint_eq(sv->o.retries, 3);
	ck_assert_uint_eq(sv->o.retry_interval, 10000);
	ck_assert_uint_eq(sv->o.rise, 1);
	ck_assert_uint_eq(sv->o.warn, 0);
	ck_assert_uint_eq(sv->o.weight, 1);
	ck_assert_str_eq(sv->o.method, "GET");
	ck_assert_int_eq(sv->o.insecure, 0);
	ck_assert_int_eq(sv->nexpect_status, 0);
	ck_assert_uint_eq(c->max_concurrent, 1000);
	ck_assert_uint_eq(c->exec_max, 8);
	ck_assert_uint_eq(c->lb_threads, 1);
	ck_assert_uint_eq(c->flap_low, 20);
	ck_assert_uint_eq(c->flap_high, 30);
	ck_assert_ptr_null(c->smtp_relay);
	conf_free(c);
}
END_TEST

START_TEST(retry_interval_defaults_to_at_most_interval)
{
	struct conf	*c = parse_ok(
	    "server fast tcp://a:1 interval 5s\n"
	    "server slow tcp://a:2 interval 5m\n"
	    "server given tcp://a:3 interval 5s retry-interval 20s\n"
	    "farm f retry-interval 1s {\n server b tcp://b:1 interval 500ms\n}\n");

	ck_assert_uint_eq(server(c, "fast")->o.retry_interval, 5000);
	ck_assert_uint_eq(server(c, "slow")->o.retry_interval, 10000);
	/* written is kept, even above the interval */
	ck_assert_uint_eq(server(c, "given")->o.retry_interval, 20000);
	ck_assert_uint_eq(server(c, "f/b")->o.retry_interval, 1000);
	conf_free(c);
}
END_TEST

START_TEST(semicolons_separate_statements)
{
	struct conf	*c = parse_ok(
	    "server a tcp://a:1; server b tcp://b:2 ;server c tcp://c:3;\n"
	    ";;\n"
	    "server d tcp://d:4\n");

	ck_assert_uint_eq(c->nservers, 4);
	ck_assert_int_eq(server(c, "c")->line, 1);
	ck_assert_int_eq(server(c, "d")->line, 3);
	conf_free(c);
}
END_TEST

START_TEST(comments_are_ignored)
{
	struct conf	*c = parse_ok(
	    "# a comment\n"
	    "   # an indented one\n"
	    "server a http://a body \"x#y\" # after a statement\n"
	    "server b http://b#frag\n"
	    "#server c http://c\n");

	ck_assert_uint_eq(c->nservers, 2);
	ck_assert_str_eq(server(c, "a")->o.body, "x#y");
	ck_assert_str_eq(server(c, "b")->url, "http://b");
	ck_assert_int_eq(server(c, "b")->line, 4);
	conf_free(c);
}
END_TEST

START_TEST(strings_keep_escapes_and_backslashes)
{
	struct conf	*c = parse_ok(
	    "server a http://a body \"say \\\"hi\\\"\"\n"
	    "server b http://b body \"a\\\\b\"\n"
	    "server c http://c body \"^OK \\d+$\"\n"
	    "server d tcp://d:1 send \"PING\\r\\n\" expect \"\"\n"
	    "server e tcp://e:1 send \"with ; and { } inside\"\n");

	ck_assert_str_eq(server(c, "a")->o.body, "say \"hi\"");
	ck_assert_str_eq(server(c, "b")->o.body, "a\\b");
	ck_assert_str_eq(server(c, "c")->o.body, "^OK \\d+$");
	ck_assert_str_eq(server(c, "d")->o.send, "PING\\r\\n");
	ck_assert_str_eq(server(c, "d")->o.expect, "");
	ck_assert_str_eq(server(c, "e")->o.send, "with ; and { } inside");
	conf_free(c);
}
END_TEST

START_TEST(exec_command_is_split_into_argv)
{
	struct conf	*c = parse_ok(
	    "server disk exec \"/usr/lib/nagios/plugins/check_disk -w 10% "
	    "-c 5% -p /\" interval 5m\n"
	    "server q exec \"/usr/bin/check -m \\\"a b\\\"  x\"\n");
	struct server_conf *sv = server(c, "disk");
	static const char *want[] = { "/usr/lib/nagios/plugins/check_disk",
	    "-w", "10%", "-c", "5%", "-p", "/", NULL };
	int	 i;

	ck_assert_int_eq(sv->kind, KIND_EXEC);
	ck_assert_str_eq(sv->scheme, "exec");
	ck_assert_ptr_null(sv->host);
	ck_assert_int_eq(sv->port, 0);
	ck_assert_uint_eq(sv->o.interval, 300000);
	for (i = 0; want[i] != NULL; i++)
		ck_assert_str_eq(sv->argv[i], want[i]);
	ck_assert_ptr_null(sv->argv[i]);

	sv = server(c, "q");
	ck_assert_str_eq(sv->url, "/usr/bin/check -m \"a b\"  x");
	ck_assert_str_eq(sv->argv[0], "/usr/bin/check");
	ck_assert_str_eq(sv->argv[1], "-m");
	ck_assert_str_eq(sv->argv[2], "a b");
	ck_assert_str_eq(sv->argv[3], "x");
	ck_assert_ptr_null(sv->argv[4]);
	conf_free(c);
}
END_TEST

START_TEST(dns_url_gives_server_name_and_type)
{
	struct conf	*c = parse_ok(
	    "server ns1 dns://127.0.0.1:5353/example.net?type=A expect "
	    "192.0.2.10\n"
	    "server ns2 dns:///example.org?type=mx\n"
	    "server ns3 dns://[::1]/example.com\n"
	    "server ns4 dns://ns.example.net/example.com?type=AAAA\n");
	struct server_conf *sv = server(c, "ns1");

	ck_assert_int_eq(sv->kind, KIND_DNS);
	ck_assert_str_eq(sv->host, "127.0.0.1");
	ck_assert_int_eq(sv->port, 5353);
	ck_assert_str_eq(sv->path, "example.net");
	ck_assert_str_eq(sv->dns_type, "A");
	ck_assert_str_eq(sv->o.expect, "192.0.2.10");
	sv = server(c, "ns2");
	ck_assert_ptr_null(sv->host);	/* the system's resolvers */
	ck_assert_int_eq(sv->port, 53);
	ck_assert_str_eq(sv->dns_type, "MX");
	sv = server(c, "ns3");
	ck_assert_str_eq(sv->host, "::1");
	ck_assert_str_eq(sv->path, "example.com");
	ck_assert_str_eq(sv->dns_type, "A");
	ck_assert_str_eq(server(c, "ns4")->dns_type, "AAAA");
	conf_free(c);
}
END_TEST

START_TEST(http_expect_is_a_status_list)
{
	struct conf	*c = parse_ok(
	    "server a http://a expect 200\n"
	    "server b http://b expect 200-299,301,302-304\n"
	    "server c http://c\n");
	struct server_conf *sv = server(c, "a");

	ck_assert_int_eq(sv->nexpect_status, 1);
	ck_assert_int_eq(sv->expect_status[0].lo, 200);
	ck_assert_int_eq(sv->expect_status[0].hi, 200);
	sv = server(c, "b");
	ck_assert_int_eq(sv->nexpect_status, 3);
	ck_assert_int_eq(sv->expect_status[0].lo, 200);
	ck_assert_int_eq(sv->expect_status[0].hi, 299);
	ck_assert_int_eq(sv->expect_status[1].lo, 301);
	ck_assert_int_eq(sv->expect_status[1].hi, 301);
	ck_assert_int_eq(sv->expect_status[2].lo, 302);
	ck_assert_int_eq(sv->expect_status[2].hi, 304);
	ck_assert_int_eq(server(c, "c")->nexpect_status, 0);
	conf_free(c);
}
END_TEST

START_TEST(url_scheme_picks_check_and_default_port)
{
	static const struct {
		const char	*url;
		enum check_kind	 kind;
		int		 port, tls;
	} t[] = {
		{ "http://h", KIND_HTTP, 80, 0 },
		{ "https://h", KIND_HTTP, 443, 1 },
		{ "tcp://h:22", KIND_TCP, 22, 0 },
		{ "dns://h/x", KIND_DNS, 53, 0 },
		{ "ftp://h", KIND_FTP, 21, 0 },
		{ "ftps://h", KIND_FTP, 990, 1 },
		{ "smtp://h", KIND_SMTP, 25, 0 },
		{ "smtps://h", KIND_SMTP, 465, 1 },
		{ "pop3://h", KIND_POP3, 110, 0 },
		{ "pop3s://h", KIND_POP3, 995, 1 },
		{ "imap://h", KIND_IMAP, 143, 0 },
		{ "imaps://h", KIND_IMAP, 993, 1 },
		{ "ping://h", KIND_PING, 0, 0 },
		{ "HTTPS://h:8443", KIND_HTTP, 8443, 1 },
	};
	struct conf		*c;
	struct server_conf	*sv;
	char			 text[128];
	size_t			 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(text, sizeof(text), "server s %s\n", t[i].url);
		c = parse_ok(text);
		sv = server(c, "s");
		ck_assert_msg(sv->kind == t[i].kind, "%s: kind %s", t[i].url,
		    conf_kind_str(sv->kind));
		ck_assert_msg(sv->port == t[i].port, "%s: port %d", t[i].url,
		    sv->port);
		ck_assert_msg(sv->implicit_tls == t[i].tls, "%s: tls",
		    t[i].url);
		ck_assert_str_eq(sv->host, "h");
		conf_free(c);
	}
}
END_TEST

START_TEST(url_parts_are_split)
{
	struct conf	*c = parse_ok(
	    "server a http://probe@[2001:db8::1]:8080/x?y=1\n"
	    "server b http://b.example.net\n");
	struct server_conf *sv = server(c, "a");

	ck_assert_str_eq(sv->scheme, "http");
	ck_assert_str_eq(sv->url, "http://probe@[2001:db8::1]:8080/x?y=1");
	ck_assert_str_eq(sv->host, "2001:db8::1");
	ck_assert_int_eq(sv->port, 8080);
	ck_assert_str_eq(sv->path, "/x?y=1");
	ck_assert_str_eq(sv->o.user, "probe");
	ck_assert_str_eq(server(c, "b")->path, "/");
	conf_free(c);
}
END_TEST

START_TEST(every_server_option_is_parsed)
{
	struct conf	*c = parse_ok(
	    "server a https://a interval 30s timeout 5s retry-interval 2s "
	    "warn 750ms retries 4 rise 2 cert-days 21 "
	    "max-per-host 16 follow insecure method HEAD body \"ok\" "
	    "host www.example.net user u password-file /etc/tocsin/a.pw "
	    "expect 200\n"
	    "server g ping://g count 10 loss 12.5%\n"
	    "server m smtp://m starttls\n"
	    "server i tcp://i:993 tls\n"
	    "server t tcp://t:7 send \"x\" expect \"y\"\n"
	    "server f ftp://f file /pub/README\n");
	struct server_conf *sv = server(c, "a");

	ck_assert_uint_eq(sv->o.interval, 30000);
	ck_assert_uint_eq(sv->o.timeout, 5000);
	ck_assert_uint_eq(sv->o.retry_interval, 2000);
	ck_assert_uint_eq(sv->o.warn, 750);
	ck_assert_uint_eq(sv->o.retries, 4);
	ck_assert_uint_eq(sv->o.rise, 2);
	ck_assert_uint_eq(sv->o.cert_days_warn, 21);
	ck_assert_uint_eq(sv->o.max_per_host, 16);
	ck_assert_int_eq(sv->o.follow, 1);
	ck_assert_int_eq(sv->o.insecure, 1);
	ck_assert_str_eq(sv->o.method, "HEAD");
	ck_assert_str_eq(sv->o.body, "ok");
	ck_assert_str_eq(sv->o.host, "www.example.net");
	ck_assert_str_eq(sv->o.user, "u");
	ck_assert_str_eq(sv->o.password_file, "/etc/tocsin/a.pw");
	sv = server(c, "g");
	ck_assert_uint_eq(sv->o.count, 10);
	ck_assert_double_eq_tol(sv->o.loss, 12.5, 1e-9);
	ck_assert_int_eq(server(c, "m")->o.starttls, 1);
	ck_assert_int_eq(server(c, "i")->o.tls, 1);
	ck_assert_str_eq(server(c, "t")->o.send, "x");
	ck_assert_str_eq(server(c, "t")->o.expect, "y");
	ck_assert_str_eq(server(c, "f")->o.file, "/pub/README");
	conf_free(c);
}
END_TEST

START_TEST(every_set_keyword_is_parsed)
{
	struct conf	*c = parse_ok(
	    "set state-dir /srv/tocsin\n"
	    "set control /run/tocsin.sock\n"
	    "set pidfile /run/tocsin-probed.pid\n"
	    "set user tocsin\n"
	    "set dns-servers 192.0.2.1:53,192.0.2.2\n"
	    "set rrdcached unix:/run/rrdcached.sock\n"
	    "set from \"Tocsin <tocsin@example.net>\"\n"
	    "set smtp-relay mail.example.net:25\n"
	    "set max-concurrent 200\n"
	    "set exec-max 2\n"
	    "set lb-threads 4\n"
	    "set flap-low 10\n"
	    "set flap-high 40\n"
	    "set archives off\n"
	    "set public-page on\n");

	ck_assert_str_eq(c->state_dir, "/srv/tocsin");
	ck_assert_str_eq(c->control, "/run/tocsin.sock");
	ck_assert_str_eq(c->pidfile, "/run/tocsin-probed.pid");
	ck_assert_str_eq(c->user, "tocsin");
	ck_assert_str_eq(c->dns_servers, "192.0.2.1:53,192.0.2.2");
	ck_assert_str_eq(c->rrdcached, "unix:/run/rrdcached.sock");
	ck_assert_str_eq(c->from, "Tocsin <tocsin@example.net>");
	ck_assert_str_eq(c->smtp_relay, "mail.example.net:25");
	ck_assert_int_eq(c->smtp_starttls, 0);
	ck_assert_ptr_null(c->smtp_auth_file);
	ck_assert_uint_eq(c->max_concurrent, 200);
	ck_assert_uint_eq(c->exec_max, 2);
	ck_assert_uint_eq(c->lb_threads, 4);
	ck_assert_uint_eq(c->flap_low, 10);
	ck_assert_uint_eq(c->flap_high, 40);
	ck_assert_int_eq(c->no_archives, 1);
	ck_assert_int_eq(c->public_page, 1);
	ck_assert_uint_eq(c->nservers, 0);
	conf_free(c);
}
END_TEST

START_TEST(public_page_is_off_unless_set_on)
{
	struct conf	*c = parse_ok("server a ftp://a\n");

	ck_assert_int_eq(c->public_page, 0);
	conf_free(c);
	c = parse_ok("set public-page on\nset public-page off\n");
	ck_assert_int_eq(c->public_page, 0);
	conf_free(c);
	assert_errors("set public-page yes\n",
	    "t.conf:1: bad value 'yes' for 'public-page' (on or off)\n");
}
END_TEST

START_TEST(set_user_is_the_daemon_user_not_a_login)
{
	struct conf	*c = parse_ok("set user tocsin\nserver a ftp://a\n");

	ck_assert_str_eq(c->user, "tocsin");
	ck_assert_ptr_null(server(c, "a")->o.user);
	conf_free(c);
	assert_errors("set archives maybe\n",
	    "t.conf:1: bad value 'maybe' for 'archives' (on or off)\n");
}
END_TEST

START_TEST(contacts_are_parsed)
{
	struct conf	*c = parse_ok(
	    "contact ops email ops@example.net sms 15551234567@sms.example.net\n"
	    "contact night email oncall@example.net "
	    "sms 15557654321@sms.example.net quiet 23:00-07:00\n");

	ck_assert_uint_eq(c->ncontacts, 2);
	ck_assert_str_eq(c->contacts[0]->name, "ops");
	ck_assert_str_eq(c->contacts[0]->email, "ops@example.net");
	ck_assert_str_eq(c->contacts[0]->sms, "15551234567@sms.example.net");
	ck_assert_int_eq(c->contacts[0]->quiet_from, -1);
	ck_assert_int_eq(c->contacts[1]->quiet_from, 23 * 60);
	ck_assert_int_eq(c->contacts[1]->quiet_to, 7 * 60);
	ck_assert_ptr_null(c->contacts[1]->webhook);
	ck_assert_int_eq(c->contacts[1]->line, 2);
	conf_free(c);
}
END_TEST

START_TEST(depends_on_names_an_id_or_a_farm_member)
{
	struct conf	*c = parse_ok(
	    "server gw ping://gw\n"
	    "farm f {\n"
	    "  server db tcp://db:5432\n"
	    "  server web http://web depends-on db,gw\n"
	    "}\n"
	    "server x tcp://x:1 depends-on f/db\n");
	struct server_conf *sv = server(c, "f/web");

	ck_assert_uint_eq(sv->ndeps, 2);
	ck_assert_ptr_eq(sv->deps[0], server(c, "f/db"));
	ck_assert_ptr_eq(sv->deps[1], server(c, "gw"));
	ck_assert_ptr_eq(server(c, "x")->deps[0], server(c, "f/db"));
	conf_free(c);
}
END_TEST

START_TEST(conf_summary_counts_with_plurals)
{
	struct conf	*c;
	char		 sum[128];

	c = parse_ok("contact ops email a@b\nserver a http://a\n");
	conf_summary(c, sum, sizeof(sum));
	ck_assert_str_eq(sum, "1 server, 0 farms, 1 contact");
	conf_free(c);
	c = parse_ok("");
	conf_summary(c, sum, sizeof(sum));
	ck_assert_str_eq(sum, "0 servers, 0 farms, 0 contacts");
	conf_free(c);
	c = parse_ok("farm a { server x http://x }\nfarm b { }\n"
	    "server y http://y\ncontact p email p@q\ncontact q email q@r\n");
	conf_summary(c, sum, sizeof(sum));
	ck_assert_str_eq(sum, "2 servers, 2 farms, 2 contacts");
	conf_free(c);
}
END_TEST

/* ---- includes, with real files ---- */

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void
tmp_setup(void)
{
	char	 tmpl[PATH_MAX];
	const char *base = getenv("TMPDIR");

	snprintf(tmpl, sizeof(tmpl), "%s/test_conf.XXXXXX",
	    base != NULL && *base != '\0' ? base : "/tmp");
	if ((tmp = mkdtemp(tmpl)) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
	tmp = strdup(tmp);
}

static void
tmp_teardown(void)
{
	if (tmp != NULL)
		nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(tmp);
	tmp = NULL;
}

/* Write text to the test folder's file rel (folders made as needed). */
static void
put(const char *rel, const char *text)
{
	char	 path[PATH_MAX], *slash;
	FILE	*fp;

	snprintf(path, sizeof(path), "%s/%s", tmp, rel);
	for (slash = path + strlen(tmp) + 1; (slash = strchr(slash, '/'));
	    slash++) {
		*slash = '\0';
		ck_assert(mkdir(path, 0755) == 0 || errno == EEXIST);
		*slash = '/';
	}
	ck_assert_ptr_nonnull(fp = fopen(path, "w"));
	ck_assert_int_ne(fputs(text, fp), EOF);
	ck_assert_int_eq(fclose(fp), 0);
}

/* The test folder's path for rel, in a static buffer. */
static const char *
at(const char *rel)
{
	static char	 path[4][PATH_MAX];
	static int	 i;

	i = (i + 1) % 4;
	snprintf(path[i], sizeof(path[i]), "%s/%s", tmp, rel);
	return path[i];
}

/* Load the test folder's file rel, which must fail; return its errors. */
static char *
load_errors(const char *rel)
{
	struct conf	*c;
	char		*errs = NULL;

	c = conf_load(at(rel), &errs);
	ck_assert_msg(c == NULL, "%s accepted", rel);
	ck_assert_ptr_nonnull(errs);
	return errs;
}

static struct conf *
load_ok(const char *rel)
{
	struct conf	*c;
	char		*errs = NULL;

	c = conf_load(at(rel), &errs);
	ck_assert_msg(c != NULL, "%s rejected:\n%s", rel, errs);
	ck_assert_ptr_null(errs);
	return c;
}

/* printf into a malloc'd string. */
static char *
fmt(const char *f, ...)
{
	va_list	 ap;
	char	*s;
	int	 r;

	va_start(ap, f);
	r = vasprintf(&s, f, ap);
	va_end(ap);
	ck_assert_int_ge(r, 0);
	return s;
}

#define assert_load_errors(rel, want) do {				\
	char *errs_ = load_errors(rel), *want_ = (want);		\
	ck_assert_str_eq(errs_, want_);					\
	free(errs_);							\
	free(want_);							\
} while (0)

START_TEST(include_is_relative_to_including_file)
{
	struct conf	*c;

	put("rel/main.conf", "include \"conf.d/*.conf\"\n"
	    "server main http://main notify ops\n");
	put("rel/conf.d/a.conf", "contact ops email ops@example.net\n"
	    "include \"more/b.inc\"\n");
	put("rel/conf.d/more/b.inc", "server b http://b\n");
	/* the current folder is elsewhere: only the file's folder counts */
	c = load_ok("rel/main.conf");
	ck_assert_uint_eq(c->nservers, 2);
	ck_assert_str_eq(c->servers[0]->id, "b");
	ck_assert_str_eq(c->servers[0]->file, at("rel/conf.d/more/b.inc"));
	ck_assert_int_eq(c->servers[0]->line, 1);
	ck_assert_str_eq(c->servers[1]->file, at("rel/main.conf"));
	ck_assert_int_eq(c->servers[1]->line, 2);
	ck_assert_uint_eq(c->servers[1]->ncontacts, 1);
	conf_free(c);
}
END_TEST

START_TEST(include_glob_reads_every_match_in_order)
{
	struct conf	*c;

	put("glob/main.conf", "include \"conf.d/*.conf\"\n");
	put("glob/conf.d/20-b.conf", "server b http://b\n");
	put("glob/conf.d/10-a.conf", "server a http://a\n");
	put("glob/conf.d/README", "not a config\n");
	c = load_ok("glob/main.conf");
	ck_assert_uint_eq(c->nservers, 2);
	ck_assert_str_eq(c->servers[0]->id, "a");
	ck_assert_str_eq(c->servers[1]->id, "b");
	ck_assert_uint_eq(c->nfiles, 3);
	conf_free(c);
}
END_TEST

START_TEST(include_matching_nothing_is_an_error)
{
	put("none/main.conf", "server a http://a\n"
	    "include \"conf.d/*.conf\"\n");
	assert_load_errors("none/main.conf",
	    fmt("%s:2: include 'conf.d/*.conf' matches nothing\n",
	    at("none/main.conf")));
	put("none/plain.conf", "include \"missing.conf\"\n");
	assert_load_errors("none/plain.conf",
	    fmt("%s:1: include 'missing.conf' matches nothing\n",
	    at("none/plain.conf")));
}
END_TEST

START_TEST(include_of_itself_is_an_error)
{
	put("self/main.conf", "server a http://a\ninclude \"main.conf\"\n");
	assert_load_errors("self/main.conf",
	    fmt("%s:2: include '%s' includes itself\n",
	    at("self/main.conf"), at("self/main.conf")));
	/* through another file, and through a glob that matches itself */
	put("loop/a.conf", "include \"b.conf\"\n");
	put("loop/b.conf", "\ninclude \"a.conf\"\n");
	assert_load_errors("loop/a.conf",
	    fmt("%s:2: include '%s' includes itself\n",
	    at("loop/b.conf"), at("loop/a.conf")));
	put("star/main.conf", "include \"*.conf\"\n");
	put("star/other.conf", "server o http://o\n");
	assert_load_errors("star/main.conf",
	    fmt("%s:1: include '%s' includes itself\n",
	    at("star/main.conf"), at("star/main.conf")));
}
END_TEST

START_TEST(include_nesting_is_bounded)
{
	struct conf	*c;
	char		 name[32], text[64];
	int		 i;

	/* f0 includes f1 ... f16 includes f17: 17 includes deep */
	for (i = 0; i <= 17; i++) {
		snprintf(name, sizeof(name), "deep/f%d.conf", i);
		snprintf(text, sizeof(text), "include \"f%d.conf\"\n", i + 1);
		put(name, i < 17 ? text : "server z http://z\n");
	}
	assert_load_errors("deep/f0.conf",
	    fmt("%s:1: includes nested more than 16 deep\n",
	    at("deep/f16.conf")));
	/* from f1 on it is 16 deep, as tocsin.conf(5) allows */
	c = load_ok("deep/f1.conf");
	ck_assert_uint_eq(c->nservers, 1);
	conf_free(c);
}
END_TEST

START_TEST(error_in_included_file_names_that_file_and_line)
{
	put("err/main.conf", "server a http://a\n"
	    "include \"inc.conf\"\n"
	    "sever c http://c\n");
	put("err/inc.conf", "# included\n"
	    "server b http://b warn 5q\n"
	    "server a http://a2\n");
	assert_load_errors("err/main.conf",
	    fmt("%s:2: bad duration '5q' for 'warn' (a number with ms, s, m, "
	    "h or d)\n"
	    "%s:3: unknown keyword 'sever' (did you mean 'server'?)\n"
	    "%s:3: duplicate server id 'a' (first at %s:1)\n",
	    at("err/inc.conf"), at("err/main.conf"), at("err/inc.conf"),
	    at("err/main.conf")));
}
END_TEST

START_TEST(unterminated_block_in_included_file_is_its_own)
{
	put("blk/main.conf", "include \"inc.conf\"\nserver a http://a\n");
	put("blk/inc.conf", "farm f {\n server b http://b\n");
	assert_load_errors("blk/main.conf",
	    fmt("%s:1: farm 'f': block not closed with '}'\n",
	    at("blk/inc.conf")));
}
END_TEST

START_TEST(large_config_file_is_read_whole)
{
	struct conf	*c;
	FILE		*fp;
	char		 id[32];
	int		 i;

	/* well past the first read buffer (64 KiB) */
	ck_assert_ptr_nonnull(fp = fopen(at("large.conf"), "w"));
	for (i = 0; i < 4000; i++)
		fprintf(fp, "server s%d tcp://s%d.example.net:22 # padding\n",
		    i, i);
	ck_assert_int_eq(fclose(fp), 0);
	c = load_ok("large.conf");
	ck_assert_uint_eq(c->nservers, 4000);
	snprintf(id, sizeof(id), "s%d", 3999);
	ck_assert_int_eq(server(c, id)->line, 4000);
	conf_free(c);
}
END_TEST

START_TEST(nul_byte_in_file_is_reported)
{
	FILE	*fp;

	ck_assert_ptr_nonnull(fp = fopen(at("nul.conf"), "w"));
	ck_assert_uint_eq(fwrite("server a\0 http://a\n", 1, 20, fp), 20);
	ck_assert_int_eq(fclose(fp), 0);
	assert_load_errors("nul.conf",
	    fmt("%s:1: file holds a NUL byte\n", at("nul.conf")));
	/* on a later line, and in an included file: that file's line */
	ck_assert_ptr_nonnull(fp = fopen(at("nul3.conf"), "w"));
	ck_assert_uint_eq(fwrite("\n# x\nserver a\0\n", 1, 16, fp), 16);
	ck_assert_int_eq(fclose(fp), 0);
	assert_load_errors("nul3.conf",
	    fmt("%s:3: file holds a NUL byte\n", at("nul3.conf")));
	put("nulinc.conf", "server b http://b\ninclude \"nul3.conf\"\n");
	assert_load_errors("nulinc.conf",
	    fmt("%s:3: file holds a NUL byte\n", at("nul3.conf")));
}
END_TEST

START_TEST(missing_config_file_is_reported)
{
	assert_load_errors("nowhere.conf",
	    fmt("%s: No such file or directory\n", at("nowhere.conf")));
}
END_TEST

/* ---- keywords and checks added with issue 13 ---- */

START_TEST(cert_days_takes_a_warning_and_a_critical_threshold)
{
	struct conf	*c = parse_ok(
	    "server a https://a cert-days 14,7\n"
	    "server b https://b cert-days 21\n"
	    "server c https://c\n");

	ck_assert_uint_eq(server(c, "a")->o.cert_days_warn, 14);
	ck_assert_uint_eq(server(c, "a")->o.cert_days_crit, 7);
	ck_assert_uint_eq(server(c, "b")->o.cert_days_warn, 21);
	ck_assert_uint_eq(server(c, "b")->o.cert_days_crit, 0);
	ck_assert_uint_eq(server(c, "c")->o.cert_days_warn, 0);
	conf_free(c);
	assert_errors("server a https://a cert-days 7,14\n"
	    "server b https://b cert-days 14,x\n",
	    "t.conf:1: bad days '7,14' for 'cert-days' (WARN or WARN,CRIT, "
	    "CRIT below WARN, 0 to 3650)\n"
	    "t.conf:2: bad days '14,x' for 'cert-days' (WARN or WARN,CRIT, "
	    "CRIT below WARN, 0 to 3650)\n");
}
END_TEST

START_TEST(cert_days_is_inherited_with_both_thresholds)
{
	struct conf	*c = parse_ok(
	    "set cert-days 30,10\n"
	    "server a https://a\n");

	ck_assert_uint_eq(server(c, "a")->o.cert_days_warn, 30);
	ck_assert_uint_eq(server(c, "a")->o.cert_days_crit, 10);
	conf_free(c);
}
END_TEST

START_TEST(max_redirects_defaults_to_five)
{
	struct conf	*c = parse_ok(
	    "server a http://a follow\n"
	    "server b http://b follow max-redirects 12\n");

	ck_assert_uint_eq(server(c, "a")->o.max_redirects, 5);
	ck_assert_uint_eq(server(c, "b")->o.max_redirects, 12);
	conf_free(c);
	assert_errors("server a http://a follow max-redirects 51\n",
	    "t.conf:1: bad number '51' for 'max-redirects' (0 to 50)\n");
}
END_TEST

START_TEST(ftp_user_means_log_in)
{
	struct conf	*c = parse_ok(
	    "server a ftp://a\n"
	    "server b ftp://b user bob password-file /b.pw\n"
	    "server d ftp://dan@d password-file /d.pw\n");

	ck_assert_ptr_null(server(c, "a")->o.user);
	ck_assert_str_eq(server(c, "b")->o.user, "bob");
	ck_assert_str_eq(server(c, "d")->o.user, "dan");
	conf_free(c);
}
END_TEST


/* Parse text (which is freed) and check it against this machine, which
 * must fail; return the errors. */
static char *
host_errors(char *text)
{
	struct conf	*c = parse_ok(text);
	char		*errs = NULL;

	ck_assert_msg(conf_host_check(c, &errs) == -1, "host check passed:\n%s",
	    text);
	ck_assert_ptr_nonnull(errs);
	conf_free(c);
	free(text);
	return errs;
}

/* Parse text (which is freed) and check it against this machine, which
 * must pass. */
static struct conf *
host_ok(char *text)
{
	struct conf	*c = parse_ok(text);
	char		*errs = NULL;

	ck_assert_msg(conf_host_check(c, &errs) == 0, "host check failed:\n%s",
	    errs);
	ck_assert_ptr_null(errs);
	free(text);
	return c;
}

#define assert_host_errors(text, want) do {				\
	char *errs_ = host_errors(text), *w_ = (want);			\
	ck_assert_str_eq(errs_, w_);					\
	free(errs_);							\
	free(w_);							\
} while (0)

/* The warnings of a config that passes are exactly want ("" for none). */
#define assert_warnings(c, want) do {					\
	char *w_ = (want);						\
	ck_assert_str_eq((c)->warnings != NULL ? (c)->warnings : "", w_); \
	free(w_);							\
} while (0)

START_TEST(body_regex_that_does_not_compile_is_an_error)
{
	assert_errors("server a http://a body \"(\"\n"
	    "set body \"x{1\"\nserver b http://b\n",
	    "t.conf:1: server 'a': bad regular expression \"(\" for 'body': "
	    "Unmatched ( or \\(\n"
	    "t.conf:3: server 'b': bad regular expression \"x{1\" for "
	    "'body': Unmatched \\{\n");
}
END_TEST

/* Patterns that would take regcomp gigabytes or minutes are refused at
 * their line, at once: repeats of repeats multiplying without end (the
 * config fuzzer's "O+++...", 2^70 copies), a repeat of what can match
 * nothing (its "^O+?++++++": minutes), a count over 255. Patterns a
 * check really uses, and big but bounded ones, pass. */
START_TEST(body_regex_too_costly_is_an_error)
{
	char	 text[1024], pluses[71];

	memset(pluses, '+', 70);
	pluses[70] = '\0';
	snprintf(text, sizeof(text), "server a http://a body \"^O%sK\"\n"
	    "server b http://b body \"((a{100}){100}){2}\"\n"
	    "server c http://c body \"(((((x+)+)+)+)+)*[]+]{9}\"\n"
	    "server d http://d body \"^O+?++++++\"\n"
	    "server e http://e body \"^((a?)+){20}\"\n"
	    "server f http://f body \"x(a|b|)*\"\n"
	    "server g http://g body \"a{0,256}\"\n", pluses);
	assert_errors(text,
	    "t.conf:1: server 'a': regular expression for 'body' too costly "
	    "to compile: its repeats multiply to over 10000 copies of its "
	    "atoms\n"
	    "t.conf:2: server 'b': regular expression for 'body' too costly "
	    "to compile: its repeats multiply to over 10000 copies of its "
	    "atoms\n"
	    "t.conf:4: server 'd': regular expression for 'body' too costly "
	    "to compile: it repeats what can match nothing, as (a?)+ or a*+ "
	    "do (write a*)\n"
	    "t.conf:5: server 'e': regular expression for 'body' too costly "
	    "to compile: it repeats what can match nothing, as (a?)+ or a*+ "
	    "do (write a*)\n"
	    "t.conf:6: server 'f': regular expression for 'body' too costly "
	    "to compile: it repeats what can match nothing, as (a?)+ or a*+ "
	    "do (write a*)\n"
	    "t.conf:7: server 'g': regular expression for 'body' too costly "
	    "to compile: a count of {m,n} is over 255\n");
	conf_free(parse_ok("server a http://a body "
	    "\"^([0-9]{1,3}[.]){3}[0-9]{1,3}$\"\n"
	    "server b http://b body \"(a{100}){100}\"\n"
	    "server c http://c body \"^(ok|up)+ [[:digit:]]+( ms)?$\"\n"
	    "server d http://d body \"[]{(]{99}\"\n"
	    "server e http://e body \"^(a+|b)*(c?d)+$\"\n"));
}
END_TEST

START_TEST(exec_plugin_missing_or_not_executable_is_a_warning)
{
	struct conf	*c;

	put("plain", "#!/bin/sh\n");
	ck_assert_int_eq(chmod(at("plain"), 0644), 0);
	c = host_ok(fmt("server a exec \"/nonexistent/check_x -w 1\"\n"
	    "server b exec \"%s\"\nserver c exec \"%s\"\n"
	    "server d exec \"/bin/sh -c true\"\n", at("plain"), tmp));
	assert_warnings(c, fmt("t.conf:1: warning: server 'a': exec plugin "
	    "/nonexistent/check_x: No such file or directory\n"
	    "t.conf:2: warning: server 'b': exec plugin %s is not an "
	    "executable file\n"
	    "t.conf:3: warning: server 'c': exec plugin %s is not an "
	    "executable file\n", at("plain"), tmp));
	conf_free(c);
}
END_TEST

START_TEST(password_file_missing_or_not_a_file_is_an_error)
{
	put("pwdir/x", "");
	assert_host_errors(fmt("server a pop3://a user u password-file "
	    "/nonexistent/pw\nserver b imap://b user u password-file %s\n",
	    at("pwdir")),
	    fmt("t.conf:1: server 'a': password-file /nonexistent/pw: No such "
	    "file or directory\n"
	    "t.conf:2: server 'b': password-file %s: a folder, not a regular "
	    "file\n", at("pwdir")));
	/* Root reads a mode 000 file; for anyone else it is unreadable. */
	if (geteuid() != 0) {
		put("locked", "pw\n");
		ck_assert_int_eq(chmod(at("locked"), 0), 0);
		assert_host_errors(fmt("server a ftp://a user u password-file "
		    "%s\n", at("locked")),
		    fmt("t.conf:1: server 'a': password-file %s: Permission "
		    "denied\n", at("locked")));
	}
}
END_TEST

START_TEST(password_file_fifo_is_refused_without_blocking)
{
	ck_assert_int_eq(mkfifo(at("pwfifo"), 0600), 0);
	/* A blocking open or read would hang here past Check's timeout. */
	assert_host_errors(fmt("server a ftp://a user u password-file %s\n",
	    at("pwfifo")),
	    fmt("t.conf:1: server 'a': password-file %s: not a regular "
	    "file\n", at("pwfifo")));
}
END_TEST

START_TEST(password_is_read_once_at_load)
{
	struct conf	*c;

	put("pw", "s3cret\r\nsecond line\n");
	ck_assert_int_eq(chmod(at("pw"), 0600), 0);
	c = host_ok(fmt("set password-file %s\n"
	    "server a pop3://a user u\nserver b imap://b user v\n",
	    at("pw")));
	ck_assert_str_eq(server(c, "a")->password, "s3cret");
	ck_assert_str_eq(server(c, "b")->password, "s3cret");
	assert_warnings(c, fmt("%s", ""));
	/* Changing the file changes nothing until the next load. */
	put("pw", "other\n");
	ck_assert_str_eq(server(c, "a")->password, "s3cret");
	conf_free(c);
	c = parse_ok("server a pop3://a user u password-file /nonexistent\n");
	ck_assert_ptr_null(server(c, "a")->password);	/* not read yet */
	conf_free(c);
}
END_TEST

START_TEST(world_readable_password_file_is_a_warning)
{
	struct conf	*c;

	put("open.pw", "pw\n");
	ck_assert_int_eq(chmod(at("open.pw"), 0644), 0);
	c = host_ok(fmt("server a pop3://a user u password-file %s\n"
	    "server b pop3://b user u password-file %s\n", at("open.pw"),
	    at("open.pw")));
	assert_warnings(c, fmt("t.conf:1: warning: server 'a': password-file "
	    "%s is readable by every user (chmod o-r it)\n", at("open.pw")));
	ck_assert_str_eq(server(c, "b")->password, "pw");
	conf_free(c);
}
END_TEST

START_TEST(set_user_naming_no_user_is_an_error)
{
	assert_host_errors(fmt("server a http://a\n"
	    "set user no-such-user-tocsin\n"),
	    fmt("t.conf:2: unknown user 'no-such-user-tocsin' for 'set "
	    "user'\n"));
	conf_free(host_ok(fmt("set user root\n")));
}
END_TEST

START_TEST(timeout_longer_than_interval_is_a_warning)
{
	struct conf	*c = parse_ok(
	    "server a http://a interval 2s timeout 3s\n"
	    "server b http://b interval 5s\n"
	    "server c http://c interval 5s timeout 5s\n");

	assert_warnings(c, fmt("t.conf:1: warning: server 'a': timeout 3s is "
	    "longer than the interval 2s (checks will start late)\n"));
	/* The built-in 10s never exceeds a shorter interval. */
	ck_assert_uint_eq(server(c, "b")->o.timeout, 5000);
	conf_free(c);
}
END_TEST

START_TEST(option_given_twice_on_one_line_is_an_error)
{
	assert_errors("server a http://a timeout 5s timeout 6s\n"
	    "farm f interval 1m interval 2m {\n"
	    "  follow follow\n"
	    "}\n"
	    "server b http://b notify x notify y\n"
	    "contact x email x@example.net\ncontact y email y@example.net\n",
	    "t.conf:1: 'timeout' given twice\n"
	    "t.conf:2: 'interval' given twice\n"
	    "t.conf:3: 'follow' given twice\n"
	    "t.conf:5: 'notify' given twice\n");
}
END_TEST

START_TEST(count_zero_is_an_error)
{
	assert_errors("server a ping://a count 0\nset count 0\n",
	    "t.conf:1: bad number '0' for 'count' (1 to 100)\n"
	    "t.conf:2: bad number '0' for 'count' (1 to 100)\n");
}
END_TEST

START_TEST(server_id_length_is_bounded)
{
	char		 name[SERVER_ID_MAX + 2], half[SERVER_ID_MAX / 2 + 1];
	char		*text, *want;
	struct conf	*c;

	memset(name, 'n', sizeof(name));
	name[SERVER_ID_MAX] = '\0';
	text = fmt("server %s http://a\n", name);
	c = parse_ok(text);				/* 200 bytes: fits */
	conf_free(c);
	free(text);
	name[SERVER_ID_MAX] = 'n';
	name[SERVER_ID_MAX + 1] = '\0';
	memset(half, 'h', sizeof(half));
	half[SERVER_ID_MAX / 2] = '\0';
	/* farm/name: 100 + 1 + 100 bytes */
	text = fmt("server %s http://a\nfarm %s {\n server %s http://b\n}\n",
	    name, half, half);
	want = fmt("t.conf:1: server id '%.32s...' is 201 bytes long (at most "
	    "200)\nt.conf:3: server id '%.32s...' is 201 bytes long (at most "
	    "200)\n", name, half);
	assert_errors(text, want);
	free(text);
	free(want);
}
END_TEST

START_TEST(include_fifo_is_refused_without_blocking)
{
	ck_assert_int_eq(mkfifo(at("fifo/in.conf"), 0600) == 0 ||
	    (mkdir(at("fifo"), 0755) == 0 &&
	    mkfifo(at("fifo/in.conf"), 0600) == 0), 1);
	put("fifo/main.conf", "include \"in.conf\"\n");
	assert_load_errors("fifo/main.conf",
	    fmt("%s:1: include '%s': not a regular file\n",
	    at("fifo/main.conf"), at("fifo/in.conf")));
	/* The config itself too. */
	assert_load_errors("fifo/in.conf",
	    fmt("%s: not a regular file\n", at("fifo/in.conf")));
}
END_TEST

START_TEST(includes_are_bounded_in_total)
{
	char	 rel[32], text[512];
	int	 i, j;

	/* 16 files, each including the next ten times: 10^15 reads. */
	for (i = 0; i < 16; i++) {
		text[0] = '\0';
		for (j = 0; j < 10 && i < 15; j++)
			snprintf(text + strlen(text), sizeof(text) -
			    strlen(text), "include \"f%d.conf\"\n", i + 1);
		snprintf(rel, sizeof(rel), "many/f%d.conf", i);
		put(rel, text);
	}
	assert_load_errors("many/f0.conf",
	    fmt("%s:9: includes read more than 1000 files in total\n",
	    at("many/f14.conf")));
}
END_TEST

START_TEST(included_bytes_are_bounded_in_total)
{
	FILE	*fp;
	char	 line[1024];
	int	 i;

	put("big/main.conf", "include \"big.inc\"\ninclude \"big.inc\"\n"
	    "include \"big.inc\"\ninclude \"big.inc\"\n"
	    "include \"big.inc\"\n");
	/* 30 MiB of comments, 5 times: over the 128 MiB in total */
	ck_assert_ptr_nonnull(fp = fopen(at("big/big.inc"), "w"));
	memset(line, '#', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\n';
	for (i = 0; i < 30 * 1024; i++)
		ck_assert_int_eq(fwrite(line, sizeof(line), 1, fp), 1);
	ck_assert_int_eq(fclose(fp), 0);
	assert_load_errors("big/main.conf",
	    fmt("%s:5: included files hold more than 128 MiB in total\n",
	    at("big/main.conf")));
}
END_TEST

START_TEST(set_storm_takes_a_count_and_a_window)
{
	struct conf *c;

	c = parse_ok("server a http://x/\n");
	ck_assert_uint_eq(c->storm_n, 10);
	ck_assert_uint_eq(c->storm_ms, 60000);
	conf_free(c);
	c = parse_ok("set storm 3 in 5s\nserver a http://x/\n");
	ck_assert_uint_eq(c->storm_n, 3);
	ck_assert_uint_eq(c->storm_ms, 5000);
	conf_free(c);
	c = parse_ok("set storm 0 2m\nserver a http://x/\n");
	ck_assert_uint_eq(c->storm_n, 0);
	ck_assert_uint_eq(c->storm_ms, 120000);
	conf_free(c);
	assert_errors("set storm 3\nserver a http://x/\n",
	    "t.conf:1: 'storm' needs a duration: set storm N in DURATION\n");
	assert_errors("set storm x 5s\nserver a http://x/\n",
	    "t.conf:1: bad number 'x' for 'storm' (0 to 1000000)\n");
	assert_errors("set storm 3 in 5\nserver a http://x/\n",
	    "t.conf:1: bad duration '5' for 'storm': a number needs a unit "
	    "(write 5s or 5m)\n");
	assert_errors("set storm 3 in 5s more\nserver a http://x/\n",
	    "t.conf:1: unexpected 'more' after 'set storm'\n");
	/* The window is whole seconds: 500ms was taken as 1 s. */
	assert_errors("set storm 3 in 500ms\nserver a http://x/\n"
	    "set storm 3 in 1500ms\n",
	    "t.conf:1: storm window '500ms' is not whole seconds, 1s or "
	    "more\n"
	    "t.conf:3: storm window '1500ms' is not whole seconds, 1s or "
	    "more\n");
	c = parse_ok("set storm 3 in 2000ms\nserver a http://x/\n");
	ck_assert_uint_eq(c->storm_ms, 2000);
	conf_free(c);
}
END_TEST

/* quiet holds SMS only: on a contact without sms it did nothing. */
START_TEST(quiet_without_sms_is_refused)
{
	struct conf *c;

	assert_errors("contact ops email ops@example.net quiet 23:00-07:00\n"
	    "contact h webhook https://h.example.net/x quiet 01:00-02:00\n"
	    "server a http://a/ notify ops,h\n",
	    "t.conf:1: contact 'ops': quiet hours hold only SMS, and it has "
	    "no sms\n"
	    "t.conf:2: contact 'h': quiet hours hold only SMS, and it has no "
	    "sms\n");
	c = parse_ok("contact ops email ops@example.net "
	    "sms 15551234567@sms.example.net quiet 23:00-07:00\n");
	ck_assert_int_eq(c->contacts[0]->quiet_from, 23 * 60);
	conf_free(c);
}
END_TEST

/* Cluster mode pages all one machine does: email, SMS (by gateway
 * address or set sms-gateway), webhooks, storm and stale digests,
 * reminders (renotify, escalate-after) and set admin. */
START_TEST(cluster_mode_takes_every_paging_keyword)
{
	struct conf	*c;

	c = parse_ok("set cluster nats://n1:4222\n"
	    "set sms-gateway \"https://sms.example.net/s?to={to}&m={text}\"\n"
	    "contact ops email ops@example.net webhook https://h.example.net/"
	    " renotify 1h\n"
	    "contact boss email boss@example.net escalate-after 30m ops\n"
	    "set admin boss\n"
	    "server a http://a.example.net/ notify ops renotify 2h\n"
	    "set storm 5 in 1m\n"
	    "set stale-after 10m\n");
	ck_assert_ptr_nonnull(c->admin_contact);
	ck_assert_str_eq(c->admin_contact->name, "boss");
	conf_free(c);
	c = parse_ok("set cluster nats://n1:4222\n"
	    "set sms-gateway \"https://sms.example.net/s?to={to}&m={text}\"\n"
	    "contact ops email ops@example.net sms 5551234@sms.example.net"
	    " webhook https://h.example.net/ renotify 1h escalate-after 30m"
	    " oncall\n"
	    "contact oncall sms +15551234567\n"
	    "server a http://a.example.net/ notify ops,oncall renotify 2h\n"
	    "set storm 5 in 1m\nset stale-after 10m\n");
	ck_assert_uint_eq(c->storm_n, 5);
	ck_assert_uint_eq(c->stale_after_ms, 600000);
	ck_assert_ptr_nonnull(c->sms_gateway);
	ck_assert_uint_eq(c->contacts[0]->renotify, 3600 * 1000);
	ck_assert_ptr_eq(c->contacts[0]->escalate, c->contacts[1]);
	conf_free(c);
	/* The same lines without `set cluster` are taken. */
	c = parse_ok("contact ops email ops@example.net webhook "
	    "https://h.example.net/ renotify 1h\n"
	    "server a http://a.example.net/ notify ops renotify 2h\n"
	    "set storm 5 in 1m\nset stale-after 10m\n");
	conf_free(c);
}
END_TEST

/* ---- reviewed defects: each test failed before its fix ---- */

START_TEST(duration_past_ten_years_is_refused)
{
	struct conf *c;

	/* microseconds of 200000000d overflow probed's int64 arithmetic */
	assert_errors("server a http://a interval 200000000d\n"
	    "set storm 3 in 3650d1ms\n",
	    "t.conf:1: duration too long for 'interval': 200000000d (at most "
	    "3650d)\n"
	    "t.conf:2: duration too long for 'storm': 3650d1ms (at most "
	    "3650d)\n");
	c = parse_ok("server a http://a interval 3650d timeout 10s\n");
	conf_free(c);
}
END_TEST

START_TEST(crlf_backslash_continues_the_line)
{
	struct conf *c;

	c = parse_ok("server a http://a \\\r\n  interval 5s\r\n"
	    "server b http://b\r\n");
	ck_assert_uint_eq(server(c, "a")->o.interval, 5000);
	ck_assert_int_eq(server(c, "b")->line, 3);
	conf_free(c);
}
END_TEST

START_TEST(backslash_at_end_of_file_is_an_error)
{
	assert_errors("server a http://a \\",
	    "t.conf:1: line continued past end of file\n");
	assert_errors("\nserver a http://a \\\r",
	    "t.conf:2: line continued past end of file\n");
}
END_TEST

START_TEST(include_inside_a_farm_block_reads_its_servers_there)
{
	struct conf *c;

	put("farminc/main.conf", "farm shop {\n"
	    "  include \"members.conf\"\n"
	    "  listen 127.0.0.1:1\n"
	    "  balance roundrobin\n"
	    "}\n"
	    "server solo http://solo\n");
	put("farminc/members.conf", "server web1 http://w1\n"
	    "interval 5s\n");
	c = load_ok("farminc/main.conf");
	ck_assert_uint_eq(c->nfarms, 1);
	ck_assert_uint_eq(c->farms[0]->nservers, 1);
	ck_assert_uint_eq(server(c, "shop/web1")->o.interval, 5000);
	ck_assert_ptr_null(server(c, "solo")->farm);
	conf_free(c);
	/* a '}' in the included file does not close the farm it is in */
	put("farminc/brace.conf", "farm shop {\n"
	    "  include \"close.conf\"\n"
	    "  server web2 http://w2\n"
	    "}\n");
	put("farminc/close.conf", "server web1 http://w1\n}\n");
	assert_load_errors("farminc/brace.conf",
	    fmt("%s:2: '}' without a block\n", at("farminc/close.conf")));
}
END_TEST

START_TEST(same_listen_twice_is_refused)
{
	struct conf *c;

	assert_errors("farm a {\n listen 0.0.0.0:80\n listen 0.0.0.0:80 tcp\n"
	    "}\nfarm b {\n listen [::]:443\n}\n"
	    "farm c {\n listen [::]:443 http\n}\n",
	    "t.conf:3: duplicate listen 0.0.0.0:80 (first at t.conf:2)\n"
	    "t.conf:9: duplicate listen [::]:443 (first at t.conf:6)\n");
	c = parse_ok("farm a {\n listen 0.0.0.0:80\n listen 0.0.0.0:81\n}\n"
	    "farm b {\n listen 127.0.0.1:80\n}\n");
	conf_free(c);
}
END_TEST

START_TEST(server_and_farm_may_not_share_a_name)
{
	struct conf *c;

	/* tocsinctl downtime shop could reach only one of them */
	assert_errors("server shop http://a\nfarm shop {\n server w http://w\n}\n",
	    "t.conf:2: farm 'shop' has the name of server 'shop' (at "
	    "t.conf:1)\n");
	assert_errors("farm shop {\n}\n\nserver shop http://a\n",
	    "t.conf:1: farm 'shop' has the name of server 'shop' (at "
	    "t.conf:4)\n");
	/* a server of the farm may: its id is shop/shop */
	c = parse_ok("farm shop {\n server shop http://w\n}\n");
	conf_free(c);
}
END_TEST

START_TEST(cluster_keywords_need_set_cluster)
{
	struct conf *c;

	assert_errors("set shard on\nset quorum 2\n\nset node n1\n"
	    "server a http://a\n",
	    "t.conf:1: 'set shard' needs 'set cluster' (tocsin-cluster(7))\n"
	    "t.conf:2: 'set quorum' needs 'set cluster' (tocsin-cluster(7))\n"
	    "t.conf:4: 'set node' needs 'set cluster' (tocsin-cluster(7))\n");
	/* a bad value is its own error, once */
	assert_errors("set node a.b\n",
	    "t.conf:1: bad node name 'a.b' (1 to 63 letters, digits, '-' or "
	    "'_')\n");
	c = parse_ok("set shard on\nset quorum 2\nset node n1\n"
	    "set cluster nats://n1:4222\nserver a http://a\n");
	conf_free(c);
}
END_TEST

START_TEST(flap_low_above_high_and_lb_threads_zero_are_refused)
{
	struct conf *c;

	assert_errors("set flap-low 90\nset flap-high 10\n",
	    "t.conf:1: flap-low 90 is above flap-high 10 (at t.conf:2)\n");
	/* against the default flap-high, 30 */
	assert_errors("\nset flap-low 40\n",
	    "t.conf:2: flap-low 40 is above flap-high 30\n");
	assert_errors("set flap-high 10\n",
	    "t.conf:1: flap-high 10 is below flap-low 20\n");
	assert_errors("set lb-threads 0\nset lb-threads 65\n",
	    "t.conf:1: bad number '0' for 'lb-threads' (1 to 64)\n"
	    "t.conf:2: bad number '65' for 'lb-threads' (1 to 64)\n");
	c = parse_ok("set flap-high 10\nset flap-low 10\nset lb-threads 1\n");
	ck_assert_uint_eq(c->flap_low, 10);
	conf_free(c);
}
END_TEST

START_TEST(keyword_twice_in_a_contact_or_farm_is_an_error)
{
	struct conf *c;

	/* a contact has one email and one sms (tocsin.conf(5)) */
	assert_errors("contact k email a@b email c@d\n"
	    "contact j sms 1@g \\\n sms 2@g quiet 01:00-02:00\n",
	    "t.conf:1: 'email' given twice\n"
	    "t.conf:3: 'sms' given twice\n");
	assert_errors("farm f interval 5s {\n balance source\n"
	    " balance random\n interval 10s\n persist 1m\n persist 2m\n"
	    " listen 127.0.0.1:1\n listen 127.0.0.1:2\n}\n",
	    "t.conf:3: 'balance' given twice\n"
	    "t.conf:4: 'interval' given twice\n"
	    "t.conf:6: 'persist' given twice\n");
	/* lists add up, so may come twice; each farm has its own */
	c = parse_ok("contact a email a@b\ncontact b email b@c\n"
	    "farm f {\n notify a\n notify b\n balance source\n"
	    " listen :1\n}\n"
	    "farm g {\n balance source\n listen :2\n}\n");
	ck_assert_uint_eq(c->farms[0]->o.nnotify, 2);
	conf_free(c);
}
END_TEST

START_TEST(option_that_means_nothing_for_the_check_is_refused)
{
	struct conf *c;

	assert_errors("server p ping://127.0.0.1 expect foo follow \\\n"
	    "  method POST count 3\n"
	    "server t tcp://h:1 count 7 loss 5 cert-days 10 tls send x\n"
	    "server e exec \"/bin/true\" insecure user u\n"
	    "server m smtp://m user u starttls\n",
	    "t.conf:1: 'expect' means nothing for a ping check\n"
	    "t.conf:1: 'follow' means nothing for a ping check\n"
	    "t.conf:2: 'method' means nothing for a ping check\n"
	    "t.conf:3: 'count' means nothing for a tcp check\n"
	    "t.conf:3: 'loss' means nothing for a tcp check\n"
	    "t.conf:4: 'insecure' means nothing for an exec check\n"
	    "t.conf:4: 'user' means nothing for an exec check\n"
	    "t.conf:5: 'user' means nothing for an smtp check\n");
	/* inherited from set or a farm, an option may fit only some */
	c = parse_ok("set count 3\nset follow\n"
	    "farm f method HEAD {\n server p ping://p\n"
	    " server w http://w\n}\n"
	    "server t tcp://h:1\nserver s pop3://u@p password-file /x.pw\n");
	ck_assert_uint_eq(server(c, "t")->o.count, 3);
	conf_free(c);
}
END_TEST

/*
 * Options a server's own line gives that would do nothing are refused at
 * its line (tocsin.conf(5), ERRORS); from set or a farm they apply where
 * they mean something.
 */
START_TEST(dead_options_on_a_server_line_are_refused)
{
	struct conf *c;

	assert_errors("server h http://h cert-days 14 insecure\n"
	    "server t tcp://t:1 insecure\n"
	    "server m smtp://m cert-days 3\n"
	    "server p pop3s://p starttls user u password-file /p.pw\n"
	    "server r http://r max-redirects 3\n"
	    "server w http://w password-file /w.pw\n",
	    "t.conf:1: server 'h': 'cert-days' means nothing without TLS "
	    "(use https://)\n"
	    "t.conf:1: server 'h': 'insecure' means nothing without TLS "
	    "(use https://)\n"
	    "t.conf:2: server 't': 'insecure' means nothing without TLS "
	    "(add 'tls')\n"
	    "t.conf:3: server 'm': 'cert-days' means nothing without TLS "
	    "(use smtps:// or add 'starttls')\n"
	    "t.conf:4: server 'p': 'starttls' means nothing for pop3s://, "
	    "which speaks TLS from the first byte\n"
	    "t.conf:5: server 'r': 'max-redirects' needs 'follow'\n"
	    "t.conf:6: server 'w': 'password-file' needs 'user' (or user@ "
	    "in the URL)\n");
	/* with what they need, or inherited, they are fine */
	c = parse_ok("set insecure\nset cert-days 14\nset starttls\n"
	    "set max-redirects 3\nset password-file /all.pw\n"
	    "server h http://h\nserver s smtps://s\nserver i imaps://i\n"
	    "server f http://f follow insecure max-redirects 2\n"
	    "server t tcp://t:1 tls insecure cert-days 7\n"
	    "server m smtp://m starttls cert-days 7\n"
	    "server u https://u@u password-file /u.pw\n"
	    "server p pop3://p user u\n");
	ck_assert_int_eq(server(c, "h")->o.insecure, 1);
	ck_assert_uint_eq(server(c, "f")->o.max_redirects, 2);
	conf_free(c);
}
END_TEST

/* A pop3, imap or ftp login without a password failed every check
 * ("user bob needs a password-file"): -t says so at the server's line. */
START_TEST(login_user_without_password_file_is_refused)
{
	assert_errors("server i imap://i user bob\n"
	    "server f ftp://dan@f\n"
	    "farm m user carol {\n server p pop3s://p\n"
	    " server q pop3s://q password-file /q.pw\n}\n",
	    "t.conf:1: server 'i': user bob needs a password-file\n"
	    "t.conf:2: server 'f': user dan needs a password-file\n"
	    "t.conf:4: server 'm/p': user carol needs a password-file\n");
	/* ftp's anonymous logs in with an empty password */
	conf_free(parse_ok("server f ftp://f user anonymous\n"));
}
END_TEST

/* weight, maxconn and a farm's block keywords are tocsin-lb's: without
 * a listen nothing balances the servers (tocsin.conf(5)). */
START_TEST(lb_options_without_listen_are_refused)
{
	struct conf *c;

	assert_errors("server a http://a weight 2\n"
	    "farm w maxconn 3 {\n balance source\n persist 1m\n"
	    " slowstart 5s\n proxy-protocol v1\n connect-timeout 1s\n"
	    " client-timeout 2s\n server-timeout 3s\n"
	    " server b http://b weight 2 maxconn 1\n}\n",
	    "t.conf:1: server 'a': 'weight' is tocsin-lb's and needs a farm "
	    "with a 'listen'\n"
	    "t.conf:3: farm 'w': 'balance' is tocsin-lb's and needs a "
	    "'listen' in the farm (a farm without one is watched, not "
	    "balanced)\n"
	    "t.conf:4: farm 'w': 'persist' is tocsin-lb's and needs a "
	    "'listen' in the farm (a farm without one is watched, not "
	    "balanced)\n"
	    "t.conf:5: farm 'w': 'slowstart' is tocsin-lb's and needs a "
	    "'listen' in the farm (a farm without one is watched, not "
	    "balanced)\n"
	    "t.conf:6: farm 'w': 'proxy-protocol' is tocsin-lb's and needs "
	    "a 'listen' in the farm (a farm without one is watched, not "
	    "balanced)\n"
	    "t.conf:7: farm 'w': 'connect-timeout' is tocsin-lb's and needs "
	    "a 'listen' in the farm (a farm without one is watched, not "
	    "balanced)\n"
	    "t.conf:8: farm 'w': 'client-timeout' is tocsin-lb's and needs "
	    "a 'listen' in the farm (a farm without one is watched, not "
	    "balanced)\n"
	    "t.conf:9: farm 'w': 'server-timeout' is tocsin-lb's and needs "
	    "a 'listen' in the farm (a farm without one is watched, not "
	    "balanced)\n"
	    "t.conf:2: farm 'w': 'maxconn' is tocsin-lb's and needs a "
	    "'listen' in the farm (a farm without one is watched, not "
	    "balanced)\n"
	    "t.conf:10: server 'w/b': 'weight' is tocsin-lb's and needs a "
	    "'listen' in its farm (a farm without one is watched, not "
	    "balanced)\n"
	    "t.conf:10: server 'w/b': 'maxconn' is tocsin-lb's and needs a "
	    "'listen' in its farm (a farm without one is watched, not "
	    "balanced)\n");
	/* a listen anywhere in the block; set's apply where they mean
	 * something */
	c = parse_ok("set weight 2\nset maxconn 9\nserver a http://a\n"
	    "farm w {\n balance source\n server b http://b weight 3\n"
	    " listen 127.0.0.1:8080\n}\nfarm watched {\n server c http://c\n"
	    "}\n");
	ck_assert_uint_eq(server(c, "w/b")->o.weight, 3);
	ck_assert_uint_eq(server(c, "w/b")->o.maxconn, 9);
	conf_free(c);
}
END_TEST

/*
 * dns-servers is read as c-ares reads it, or stricter, so -t and a
 * reload refuse what resolver_new would refuse at start.
 */
START_TEST(bad_dns_servers_are_refused_at_their_line)
{
	struct conf *c;

	assert_errors("\nset dns-servers garbage\n",
	    "t.conf:2: bad dns-servers entry 'garbage': not an IP address "
	    "(ADDRESS[:PORT] or [IPv6]:PORT, separated by commas)\n");
	assert_errors("set dns-servers 192.0.2.1:99999\n",
	    "t.conf:1: bad dns-servers entry '192.0.2.1:99999': bad port "
	    "(1-65535) (ADDRESS[:PORT] or [IPv6]:PORT, separated by "
	    "commas)\n");
	assert_errors("set dns-servers 192.0.2.1,\n",
	    "t.conf:1: bad dns-servers entry '': empty (ADDRESS[:PORT] or "
	    "[IPv6]:PORT, separated by commas)\n");
	assert_errors("set dns-servers [::1]\n",
	    "t.conf:1: bad dns-servers entry '[::1]': a bracketed address "
	    "needs ':PORT' after ']' (ADDRESS[:PORT] or [IPv6]:PORT, "
	    "separated by commas)\n");
	assert_errors("set dns-servers \"\"\n",
	    "t.conf:1: bad dns-servers entry '': empty (ADDRESS[:PORT] or "
	    "[IPv6]:PORT, separated by commas)\n");
	assert_errors("set dns-servers ns1.example.net:53\n",
	    "t.conf:1: bad dns-servers entry 'ns1.example.net:53': not an "
	    "IP address (ADDRESS[:PORT] or [IPv6]:PORT, separated by "
	    "commas)\n");
	c = parse_ok("set dns-servers 127.0.0.1,192.0.2.1:5353,::1,"
	    "[2001:db8::1]:53\n");
	ck_assert_str_eq(c->dns_servers,
	    "127.0.0.1,192.0.2.1:5353,::1,[2001:db8::1]:53");
	conf_free(c);
}
END_TEST

static Suite *
conf_suite(void)
{
	Suite	*s = suite_create("conf");
	TCase	*tc;

	tc = tcase_create("errors");
	tcase_add_test(tc, unknown_keyword_suggests_closest);
	tcase_add_test(tc, unknown_keyword_far_from_any_has_no_hint);
	tcase_add_test(tc, unknown_server_option_suggests_closest);
	tcase_add_test(tc, unknown_set_keyword_suggests_closest);
	tcase_add_test(tc, sms_number_without_gateway_is_refused);
	tcase_add_test(tc, contact_without_channel_is_refused);
	tcase_add_test(tc, sms_gateway_is_checked);
	tcase_add_test(tc, sms_gateway_parses);
	tcase_add_test(tc, renotify_and_escalate_after_are_checked);
	tcase_add_test(tc, unknown_contact_keyword_suggests_closest);
	tcase_add_test(tc, unknown_farm_keyword_suggests_closest);
	tcase_add_test(tc, missing_value_is_reported);
	tcase_add_test(tc, bad_duration_is_reported);
	tcase_add_test(tc, bare_number_duration_is_refused_with_a_hint);
	tcase_add_test(tc, compound_durations_are_accepted);
	tcase_add_test(tc, timeout_zero_is_refused);
	tcase_add_test(tc, bad_number_is_reported);
	tcase_add_test(tc, port_out_of_range_is_reported);
	tcase_add_test(tc, unknown_url_scheme_is_reported);
	tcase_add_test(tc, duplicate_id_names_both_lines);
	tcase_add_test(tc, unknown_contact_is_reported);
	tcase_add_test(tc, unknown_depends_on_target_is_reported);
	tcase_add_test(tc, dependency_cycle_names_the_cycle);
	tcase_add_test(tc, unterminated_string_is_reported_once);
	tcase_add_test(tc, unterminated_block_is_reported);
	tcase_add_test(tc, stray_braces_are_reported);
	tcase_add_test(tc, bad_exec_is_reported);
	tcase_add_test(tc, bad_dns_url_is_reported);
	tcase_add_test(tc, bad_http_expect_is_reported);
	tcase_add_test(tc, bad_names_and_contact_values_are_reported);
	tcase_add_test(tc, several_errors_are_reported_in_one_run);
	suite_add_tcase(s, tc);

	tc = tcase_create("model");
	tcase_add_test(tc, spec_example_parses);
	tcase_add_test(tc, farm_servers_are_named_farm_slash_name);
	tcase_add_test(tc, farm_block_options_are_parsed);
	tcase_add_test(tc, farm_defaults_are_inherited);
	tcase_add_test(tc, server_option_overrides_farm_and_set);
	tcase_add_test(tc, set_after_servers_still_applies);
	tcase_add_test(tc, builtin_defaults_apply);
	tcase_add_test(tc, retry_interval_defaults_to_at_most_interval);
	tcase_add_test(tc, semicolons_separate_statements);
	tcase_add_test(tc, comments_are_ignored);
	tcase_add_test(tc, strings_keep_escapes_and_backslashes);
	tcase_add_test(tc, exec_command_is_split_into_argv);
	tcase_add_test(tc, dns_url_gives_server_name_and_type);
	tcase_add_test(tc, http_expect_is_a_status_list);
	tcase_add_test(tc, url_scheme_picks_check_and_default_port);
	tcase_add_test(tc, url_parts_are_split);
	tcase_add_test(tc, every_server_option_is_parsed);
	tcase_add_test(tc, every_set_keyword_is_parsed);
	tcase_add_test(tc, bad_dns_servers_are_refused_at_their_line);
	tcase_add_test(tc, dead_options_on_a_server_line_are_refused);
	tcase_add_test(tc, login_user_without_password_file_is_refused);
	tcase_add_test(tc, lb_options_without_listen_are_refused);
	tcase_add_test(tc, set_user_is_the_daemon_user_not_a_login);
	tcase_add_test(tc, public_page_is_off_unless_set_on);
	tcase_add_test(tc, contacts_are_parsed);
	tcase_add_test(tc, depends_on_names_an_id_or_a_farm_member);
	tcase_add_test(tc, conf_summary_counts_with_plurals);
	suite_add_tcase(s, tc);

	tc = tcase_create("include");
	tcase_add_unchecked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_test(tc, include_is_relative_to_including_file);
	tcase_add_test(tc, include_glob_reads_every_match_in_order);
	tcase_add_test(tc, include_matching_nothing_is_an_error);
	tcase_add_test(tc, include_of_itself_is_an_error);
	tcase_add_test(tc, include_nesting_is_bounded);
	tcase_add_test(tc, error_in_included_file_names_that_file_and_line);
	tcase_add_test(tc, unterminated_block_in_included_file_is_its_own);
	tcase_add_test(tc, large_config_file_is_read_whole);
	tcase_add_test(tc, nul_byte_in_file_is_reported);
	tcase_add_test(tc, missing_config_file_is_reported);
	suite_add_tcase(s, tc);

	tc = tcase_create("issue13");
	tcase_add_unchecked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_test(tc, cert_days_takes_a_warning_and_a_critical_threshold);
	tcase_add_test(tc, cert_days_is_inherited_with_both_thresholds);
	tcase_add_test(tc, max_redirects_defaults_to_five);
	tcase_add_test(tc, ftp_user_means_log_in);
	tcase_add_test(tc, body_regex_that_does_not_compile_is_an_error);
	tcase_add_test(tc, body_regex_too_costly_is_an_error);
	tcase_add_test(tc, exec_plugin_missing_or_not_executable_is_a_warning);
	tcase_add_test(tc, password_file_missing_or_not_a_file_is_an_error);
	tcase_add_test(tc, password_file_fifo_is_refused_without_blocking);
	tcase_add_test(tc, password_is_read_once_at_load);
	tcase_add_test(tc, world_readable_password_file_is_a_warning);
	tcase_add_test(tc, set_user_naming_no_user_is_an_error);
	tcase_add_test(tc, timeout_longer_than_interval_is_a_warning);
	tcase_add_test(tc, option_given_twice_on_one_line_is_an_error);
	tcase_add_test(tc, count_zero_is_an_error);
	tcase_add_test(tc, server_id_length_is_bounded);
	tcase_add_test(tc, include_fifo_is_refused_without_blocking);
	tcase_add_test(tc, includes_are_bounded_in_total);
	tcase_add_test(tc, included_bytes_are_bounded_in_total);
	suite_add_tcase(s, tc);

	tc = tcase_create("issue15");
	tcase_add_test(tc, set_storm_takes_a_count_and_a_window);
	tcase_add_test(tc, quiet_without_sms_is_refused);
	suite_add_tcase(s, tc);

	tc = tcase_create("issue18");
	tcase_add_test(tc, cluster_mode_takes_every_paging_keyword);
	suite_add_tcase(s, tc);

	tc = tcase_create("review");
	tcase_add_unchecked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_test(tc, duration_past_ten_years_is_refused);
	tcase_add_test(tc, crlf_backslash_continues_the_line);
	tcase_add_test(tc, backslash_at_end_of_file_is_an_error);
	tcase_add_test(tc, include_inside_a_farm_block_reads_its_servers_there);
	tcase_add_test(tc, same_listen_twice_is_refused);
	tcase_add_test(tc, server_and_farm_may_not_share_a_name);
	tcase_add_test(tc, cluster_keywords_need_set_cluster);
	tcase_add_test(tc, flap_low_above_high_and_lb_threads_zero_are_refused);
	tcase_add_test(tc, keyword_twice_in_a_contact_or_farm_is_an_error);
	tcase_add_test(tc, option_that_means_nothing_for_the_check_is_refused);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return ckrun(conf_suite());
}
