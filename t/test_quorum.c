/*
 * test_quorum.c: cluster mode's pure parts: the `set cluster`, `set node`
 * and `set quorum` keywords (each error as the FILE:LINE: text a user
 * sees), and the quorum rule every node applies to the verdicts.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "quorum.h"

#include "ckrun.h"

/* As probed numbers hard states: up 1, degraded 2, down 3, unknown 4. */
enum { UP = 1, DEG = 2, DOWN = 3, UNK = 4 };
static const int sev[QUORUM_STATES_MAX] = { 0, 1, 2, 4, 3 };

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
	    "(credentials, ca)\n");
	assert_errors("set cluster nats://n1 credentials\n",
	    "t.conf:1: 'credentials' needs a file\n");
	assert_errors("set node a.b\n",
	    "t.conf:1: bad node name 'a.b' (1 to 63 letters, digits, '-' or "
	    "'_')\n");
	assert_errors("set node a b\n",
	    "t.conf:1: unexpected 'b' after 'set node'\n");
}
END_TEST

START_TEST(quorum_takes_numbers_only)
{
	struct conf *c;

	c = parse_ok("set cluster nats://n1:4222\nset quorum 2\n"
	    "server a http://x/\n");
	ck_assert_uint_eq(c->quorum, 2);
	conf_free(c);
	c = parse_ok("server a http://x/\n");
	ck_assert_uint_eq(c->quorum, 0);
	conf_free(c);
	assert_errors("set quorum 0\n",
	    "t.conf:1: bad number '0' for 'quorum' (1 to 32)\n");
	assert_errors("set quorum most\n",
	    "t.conf:1: bad number 'most' for 'quorum' (1 to 32)\n");
	assert_errors("set quorum 2 3\n",
	    "t.conf:1: unexpected '3' after 'set quorum'\n");
}
END_TEST

START_TEST(default_quorum_is_a_majority_of_watchers)
{
	ck_assert_int_eq(quorum_needed(0, 1), 1);
	ck_assert_int_eq(quorum_needed(0, 2), 2);
	ck_assert_int_eq(quorum_needed(0, 3), 2);
	ck_assert_int_eq(quorum_needed(0, 4), 3);
	ck_assert_int_eq(quorum_needed(0, 5), 3);
	ck_assert_int_eq(quorum_needed(2, 5), 2);
}
END_TEST

START_TEST(one_node_cut_off_changes_nothing)
{
	int v[3] = { UP, UP, DOWN };

	ck_assert_int_eq(quorum_decide(v, 3, 2, UP, sev), UP);
	ck_assert_int_eq(quorum_decide(v, 3, 0, UP, sev), UP);
	v[1] = DOWN;
	ck_assert_int_eq(quorum_decide(v, 3, 2, UP, sev), DOWN);
	ck_assert_int_eq(quorum_decide(v, 3, 0, UP, sev), DOWN);
}
END_TEST

START_TEST(no_quorum_keeps_the_current_state)
{
	int v[3] = { UP, DEG, DOWN };
	int w[3] = { UP, 0, 0 };	/* two nodes without a verdict yet */

	ck_assert_int_eq(quorum_decide(v, 3, 0, UP, sev), UP);
	ck_assert_int_eq(quorum_decide(v, 3, 0, DOWN, sev), DOWN);
	ck_assert_int_eq(quorum_decide(w, 3, 0, 0, sev), 0);
	ck_assert_int_eq(quorum_decide(w, 3, 4, 0, sev), 0);
}
END_TEST

START_TEST(small_quorum_takes_the_worst_agreed)
{
	int v[4] = { UP, UP, DOWN, UNK };

	ck_assert_int_eq(quorum_decide(v, 4, 1, UP, sev), DOWN);
	v[2] = UP;
	ck_assert_int_eq(quorum_decide(v, 4, 1, DOWN, sev), UNK);
	v[3] = DEG;
	ck_assert_int_eq(quorum_decide(v, 4, 2, DOWN, sev), UP);
}
END_TEST

START_TEST(heartbeats_older_than_the_max_age_are_dead)
{
	ck_assert(quorum_alive(1000, 1000));
	ck_assert(quorum_alive(1000, 1000 + QUORUM_NODE_MAX_AGE));
	ck_assert(!quorum_alive(1000, 1001 + QUORUM_NODE_MAX_AGE));
	ck_assert(!quorum_alive(0, 5));
	ck_assert(quorum_alive(1005, 1000));	/* a clock a little ahead */
	ck_assert_int_gt(QUORUM_NODE_MAX_AGE, 2 * QUORUM_BEAT);
}
END_TEST

START_TEST(shard_takes_on_or_off)
{
	struct conf *c;

	c = parse_ok("server a http://x/\n");
	ck_assert_int_eq(c->shard, 0);
	conf_free(c);
	c = parse_ok("set cluster nats://n1:4222\nset shard on\n"
	    "server a http://x/\n");
	ck_assert_int_eq(c->shard, 1);
	conf_free(c);
	c = parse_ok("set cluster nats://n1:4222\nset shard on\n"
	    "set shard off\nserver a http://x/\n");
	ck_assert_int_eq(c->shard, 0);
	conf_free(c);
	assert_errors("set shard yes\n",
	    "t.conf:1: bad value 'yes' for 'shard' (on or off)\n");
	assert_errors("\nset shard on off\n",
	    "t.conf:2: unexpected 'off' after 'set shard'\n");
}
END_TEST

START_TEST(shard_picks_the_same_watchers_whatever_the_order)
{
	const char *a[3] = { "n1", "n2", "n3" }, *b[3] = { "n3", "n1", "n2" };
	size_t	 oa[3], ob[3], count[3] = { 0 }, i, moved = 0, two = 0;
	char	 key[32];

	for (i = 0; i < 3000; i++) {
		snprintf(key, sizeof(key), "web%zu", i);
		ck_assert_uint_eq(quorum_shard(key, a, 3, 2, oa), 2);
		ck_assert_uint_eq(quorum_shard(key, b, 3, 2, ob), 2);
		ck_assert_str_eq(a[oa[0]], b[ob[0]]);
		ck_assert_str_eq(a[oa[1]], b[ob[1]]);
		ck_assert_uint_ne(oa[0], oa[1]);
		count[oa[0]]++;
		count[oa[1]]++;
		/* n3 gone: a server n3 did not watch keeps its two */
		quorum_shard(key, a, 2, 2, ob);
		if (oa[0] != 2 && oa[1] != 2) {
			two++;
			if (!((ob[0] == oa[0] && ob[1] == oa[1]) ||
			    (ob[0] == oa[1] && ob[1] == oa[0])))
				moved++;
		}
	}
	ck_assert_uint_eq(moved, 0);
	ck_assert_uint_gt(two, 800);	/* a third of them, about */
	for (i = 0; i < 3; i++)		/* each 2,000 of 6,000, about */
		ck_assert_msg(count[i] > 1800 && count[i] < 2200,
		    "node %zu watches %zu", i, count[i]);
	ck_assert_uint_eq(quorum_shard("x", a, 3, 5, oa), 3);
	ck_assert_uint_eq(quorum_shard("x", a, 0, 2, oa), 0);
	ck_assert_uint_eq(quorum_watchers(0, 3), 2);
	ck_assert_uint_eq(quorum_watchers(3, 3), 3);
	ck_assert_uint_eq(quorum_watchers(3, 2), 2);
}
END_TEST

START_TEST(vantage_names_nodes_and_inherits)
{
	struct conf			*c;
	const struct server_conf	*s;

	c = parse_ok("set cluster nats://h:4222\n"
	    "set vantage n1,n2,n3\n"
	    "server a http://x/ vantage n1,n2\n"
	    "server b http://x/\n"
	    "farm f {\n vantage n3\n server c http://x/\n"
	    " server d http://x/ vantage n2\n}\n");
	s = conf_find_server(c, "a");
	ck_assert_uint_eq(s->o.nvantage, 2);
	ck_assert_str_eq(s->o.vantage[0], "n1");
	ck_assert_str_eq(s->o.vantage[1], "n2");
	s = conf_find_server(c, "b");		/* set's */
	ck_assert_uint_eq(s->o.nvantage, 3);
	s = conf_find_server(c, "f/c");		/* the farm's replaces set's */
	ck_assert_uint_eq(s->o.nvantage, 1);
	ck_assert_str_eq(s->o.vantage[0], "n3");
	s = conf_find_server(c, "f/d");		/* its own replaces both */
	ck_assert_uint_eq(s->o.nvantage, 1);
	ck_assert_str_eq(s->o.vantage[0], "n2");
	conf_free(c);
	c = parse_ok("set cluster nats://h:4222\nserver a http://x/\n");
	ck_assert_uint_eq(conf_find_server(c, "a")->o.nvantage, 0);
	conf_free(c);
	assert_errors("set cluster nats://h:4222\n"
	    "\nserver a http://x/ vantage n1,no.dot\n",
	    "t.conf:3: bad node name 'no.dot' for 'vantage' (1 to 63 "
	    "letters, digits, '-' or '_')\n");
	assert_errors("\nserver a http://x/ vantage n1\n",
	    "t.conf:2: server 'a': vantage needs 'set cluster' "
	    "(tocsin-cluster(7))\n");
	assert_errors("set vantage n1\nserver a http://x/\n",
	    "t.conf:2: server 'a': vantage needs 'set cluster' "
	    "(tocsin-cluster(7))\n");
}
END_TEST

START_TEST(vantage_chooses_watchers_and_quorum)
{
	char	*v[2] = { "n1", "n2" };
	const char *live[3] = { "n3", "n2", "n1" }, *l[3];
	size_t	 out[3], i, k, n;
	char	 key[32];

	ck_assert_int_eq(quorum_named("n1", v, 2), 1);
	ck_assert_int_eq(quorum_named("n3", v, 2), 0);
	ck_assert_int_eq(quorum_named("n3", NULL, 0), 1);	/* none given */
	/* with shard: only named live nodes, whatever the hash says */
	for (i = 0; i < 300; i++) {
		snprintf(key, sizeof(key), "web%zu", i);
		memcpy(l, live, sizeof(l));
		n = quorum_among(l, 3, v, 2);
		ck_assert_uint_eq(n, 2);
		k = quorum_shard(key, l, n, quorum_watchers(0, n), out);
		ck_assert_uint_eq(k, 2);
		ck_assert_int_eq(quorum_named(l[out[0]], v, 2), 1);
		ck_assert_int_eq(quorum_named(l[out[1]], v, 2), 1);
		/* k 1: one of the named, never n3 */
		k = quorum_shard(key, l, n, 1, out);
		ck_assert_int_eq(quorum_named(l[out[0]], v, 2), 1);
	}
	memcpy(l, live, sizeof(l));
	ck_assert_uint_eq(quorum_among(l, 3, NULL, 0), 3);
	memcpy(l, live, sizeof(l));
	ck_assert_uint_eq(quorum_among(l, 1, v, 2), 0);	/* n3 only alive */
	/* default quorum: a majority of the vantage nodes; set quorum wins */
	ck_assert_uint_eq(quorum_vantage(0, 2), 2);
	ck_assert_uint_eq(quorum_vantage(0, 3), 2);
	ck_assert_uint_eq(quorum_vantage(0, 5), 3);
	ck_assert_uint_eq(quorum_vantage(1, 3), 1);
	ck_assert_uint_eq(quorum_vantage(0, 0), 0);
	/* 2 named, one of 3 live nodes' verdicts is n3's... not counted by
	 * the caller; of the named two, one down is no quorum */
	{
		int votes[2] = { UP, DOWN };

		ck_assert_int_eq(quorum_decide(votes, 2, quorum_vantage(0, 2),
		    UP, sev), UP);
		votes[0] = DOWN;
		ck_assert_int_eq(quorum_decide(votes, 2, quorum_vantage(0, 2),
		    UP, sev), DOWN);
	}
}
END_TEST

START_TEST(keys_hold_any_id_without_dots)
{
	char k[QUORUM_KEY_MAX];

	quorum_key("shop/web-1_a", k, sizeof(k));
	ck_assert_str_eq(k, "shop/web-1_a");
	quorum_key("a.b c=", k, sizeof(k));
	ck_assert_str_eq(k, "a=2Eb=20c=3D");
	quorum_key("\xc3\xa9", k, sizeof(k));
	ck_assert_str_eq(k, "=C3=A9");
	quorum_key("abcdef", k, 4);
	ck_assert_str_eq(k, "abc");
	quorum_key("a.b", k, 4);
	ck_assert_str_eq(k, "a");
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
	tcase_add_test(tc, quorum_takes_numbers_only);
	tcase_add_test(tc, shard_takes_on_or_off);
	suite_add_tcase(s, tc);
	tc = tcase_create("quorum");
	tcase_add_test(tc, default_quorum_is_a_majority_of_watchers);
	tcase_add_test(tc, one_node_cut_off_changes_nothing);
	tcase_add_test(tc, no_quorum_keeps_the_current_state);
	tcase_add_test(tc, small_quorum_takes_the_worst_agreed);
	tcase_add_test(tc, keys_hold_any_id_without_dots);
	tcase_add_test(tc, heartbeats_older_than_the_max_age_are_dead);
	tcase_add_test(tc, shard_picks_the_same_watchers_whatever_the_order);
	tcase_add_test(tc, vantage_names_nodes_and_inherits);
	tcase_add_test(tc, vantage_chooses_watchers_and_quorum);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return ckrun(cluster_suite());
}
