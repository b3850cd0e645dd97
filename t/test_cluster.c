/*
 * test_cluster.c: cluster mode's pure parts: the `set cluster`, `set node`
 * and `set quorum` keywords (each error as the FILE:LINE: text a user
 * sees).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"

/* Parse text that must be rejected; its errors must be exactly want. */
static void
assert_errors(const char *text, const char *want)
{
	struct conf	*c;
	char		*errs = NULL;

	c = conf_parse_string("t.conf", text, &errs);
	ck_assert_msg(c == NULL, "config accepted:\n%s", text);
	ck_assert_str_eq(errs, want);
	free(errs);
}

static struct conf *
parse_ok(const char *text)
{
	struct conf	*c;
	char		*errs = NULL;

	c = conf_parse_string("t.conf", text, &errs);
	ck_assert_msg(c != NULL, "config rejected:\n%s", errs);
	return c;
}

START_TEST(no_cluster_by_default)
{
	struct conf *c = parse_ok("server a http://x/\n");

	ck_assert_ptr_null(c->cluster);
	ck_assert_ptr_null(c->node);
	conf_free(c);
}
END_TEST

START_TEST(cluster_takes_urls_and_credentials)
{
	struct conf *c;

	c = parse_ok("set cluster nats://10.0.0.1:4222,tls://n2,"
	    "nats://u:p@n3:4223 credentials /etc/tocsin/nats.creds\n"
	    "set node probe-1\nserver a http://x/\n");
	ck_assert_str_eq(c->cluster,
	    "nats://10.0.0.1:4222,tls://n2,nats://u:p@n3:4223");
	ck_assert_str_eq(c->cluster_creds, "/etc/tocsin/nats.creds");
	ck_assert_str_eq(c->node, "probe-1");
	conf_free(c);
}
END_TEST

START_TEST(node_defaults_to_the_host_name)
{
	struct conf	*c;
	char		 host[256], want[64];
	size_t		 i;

	c = parse_ok("set cluster nats://n1:4222\nserver a http://x/\n");
	ck_assert_int_eq(gethostname(host, sizeof(host)), 0);
	host[strcspn(host, ".")] = '\0';
	host[63] = '\0';
	memcpy(want, host, strlen(host) + 1);
	for (i = 0; want[i] != '\0'; i++)
		if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "0123456789_", want[i]) == NULL)
			want[i] = '-';
	ck_assert_str_eq(c->node, want);
	ck_assert(conf_cluster_valid_node(c->node));
	conf_free(c);
}
END_TEST

START_TEST(bad_cluster_values_name_file_and_line)
{
	assert_errors("\nset cluster http://n1:4222\n",
	    "t.conf:2: bad cluster URL 'http://n1:4222': needs nats:// or "
	    "tls://\n");
	assert_errors("set cluster nats://n1:99999\n",
	    "t.conf:1: bad cluster URL 'nats://n1:99999': bad port (1 to "
	    "65535)\n");
	assert_errors("set cluster nats://:4222\n",
	    "t.conf:1: bad cluster URL 'nats://:4222': needs a host: "
	    "nats://HOST:PORT\n");
	assert_errors("set cluster ,\n",
	    "t.conf:1: 'cluster' needs 1 to 16 URLs separated by commas\n");
	assert_errors("set cluster nats://n1 creds x\n",
	    "t.conf:1: unknown keyword 'creds' after cluster "
	    "(credentials)\n");
	assert_errors("set cluster nats://n1 credentials\n",
	    "t.conf:1: 'credentials' needs a file\n");
	assert_errors("set node a.b\n",
	    "t.conf:1: bad node name 'a.b' (1 to 63 letters, digits, '-' or "
	    "'_')\n");
	assert_errors("set node a b\n",
	    "t.conf:1: unexpected 'b' after 'set node'\n");
}
END_TEST

static Suite *
cluster_suite(void)
{
	Suite	*s = suite_create("cluster");
	TCase	*tc = tcase_create("conf");

	tcase_add_test(tc, no_cluster_by_default);
	tcase_add_test(tc, cluster_takes_urls_and_credentials);
	tcase_add_test(tc, node_defaults_to_the_host_name);
	tcase_add_test(tc, bad_cluster_values_name_file_and_line);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(cluster_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
