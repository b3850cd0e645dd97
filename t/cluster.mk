# t/cluster.mk: cluster mode (set cluster, NATS JetStream). Included from
# t/local.mk.
check_PROGRAMS += t/test_quorum
TESTS += t/test_quorum
t_test_quorum_SOURCES = t/test_quorum.c t/ckrun.c t/ckrun.h
t_test_quorum_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/cluster
t_test_quorum_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
t_test_quorum_LDADD = cluster/libcluster.a lib/libtocsin.a \
	$(JANSSON_LIBS) $(CHECK_LIBS) -lm -lpthread

# The tests' window on JetStream (t/test_cluster.sh).
check_PROGRAMS += t/natsdump
t_natsdump_SOURCES = t/natsdump.c
t_natsdump_CFLAGS = $(AM_CFLAGS) $(NATS_CFLAGS)
t_natsdump_LDADD = $(NATS_LIBS)

# 3 nats-servers, 3 probe nodes, nginx; needs root (iptables).
TESTS += t/test_cluster.sh
EXTRA_DIST += t/test_cluster.sh t/nats.sh t/cluster.sh

# 2 pagers in cluster mode, exactly once across kills.
TESTS += t/test_cluster_pager.sh
EXTRA_DIST += t/test_cluster_pager.sh
EXTRA_DIST += t/servers/smtpd_slow.py
# A downtime of a farm of 1100 servers reaches tocsin_control whole.
TESTS += t/test_cluster_ctl_farm.sh
EXTRA_DIST += t/test_cluster_ctl_farm.sh
# A pager's durable consumer deleted: made again, and paging goes on.
TESTS += t/test_cluster_pager_consumer.sh
EXTRA_DIST += t/test_cluster_pager_consumer.sh
# A node started again puts no verdict before its first check.
TESTS += t/test_cluster_restart.sh
EXTRA_DIST += t/test_cluster_restart.sh
# The control socket in cluster mode: ping, test-page; pages says no.
TESTS += t/test_cluster_pager_ctl.sh
EXTRA_DIST += t/test_cluster_pager_ctl.sh
# A page another pager, alive, is sending is left to it (CLAIM_S).
TESTS += t/test_cluster_pager_held.sh
EXTRA_DIST += t/test_cluster_pager_held.sh

# Node heartbeats: a dead node's stale verdict never counts.
TESTS += t/test_cluster_nodes.sh
EXTRA_DIST += t/test_cluster_nodes.sh

# set shard on: 300 servers over 3 nodes (TOCSIN_SHARD_SERVERS=3000 for
# the issue's long form).
TESTS += t/test_cluster_shard.sh
EXTRA_DIST += t/test_cluster_shard.sh

# vantage NODE,...: only the named nodes check a server and vote on it.
TESTS += t/test_cluster_vantage.sh
EXTRA_DIST += t/test_cluster_vantage.sh

# set cluster in tocsin-lb: the cluster's states, no probed of its own.
TESTS += t/test_cluster_lb.sh
EXTRA_DIST += t/test_cluster_lb.sh

# Per-node archives (ID@NODE) through one rrdcached; the page's lines.
TESTS += t/test_cluster_archives.sh
EXTRA_DIST += t/test_cluster_archives.sh

# set cluster tls:// with ca and a password; -t on its files.
TESTS += t/test_cluster_tls.sh
EXTRA_DIST += t/test_cluster_tls.sh

# The pagers' memo (bucket tocsin_memo): the recovery by SMS to who got
# the problem so, whichever pager pages which.
TESTS += t/test_cluster_pager_memo.sh
EXTRA_DIST += t/test_cluster_pager_memo.sh

# Storm digests of the cluster's pagers (bucket tocsin_storm): one
# digest, across a kill -9 inside the window.
TESTS += t/test_cluster_pager_storm.sh
EXTRA_DIST += t/test_cluster_pager_storm.sh

# depends-on in cluster mode: unreachable children listed in the parent's
# page or in a digest, never paged alone; paged when the parent is back.
# The page at a downtime's end, and flapping, once for the cluster.
TESTS += t/test_cluster_events.sh
EXTRA_DIST += t/test_cluster_events.sh
# SMS by the HTTP API (set sms-gateway) of the cluster's pagers: the same
# Idempotency-Key across a kill -9 mid-send.
TESTS += t/test_cluster_pager_smsapi.sh
EXTRA_DIST += t/test_cluster_pager_smsapi.sh

# renotify and escalate-after of the cluster's pagers (bucket
# tocsin_remind): each reminder once across a kill -9 mid-send; an ack
# on any node stops them.
TESTS += t/test_cluster_pager_remind.sh
EXTRA_DIST += t/test_cluster_pager_remind.sh
# set stale-after of the cluster's pagers (bucket tocsin_stale): pages
# stuck past it go in one digest, once across two pagers, under the last
# one's Message-ID; once more only when pages are stale again.
TESTS += t/test_cluster_pager_stale.sh
EXTRA_DIST += t/test_cluster_pager_stale.sh
# set admin of the cluster's pagers (bucket tocsin_watchdog): paged once
# across two pagers when fewer probe nodes are alive than set quorum,
# once when they are back.
TESTS += t/test_cluster_pager_admin.sh
EXTRA_DIST += t/test_cluster_pager_admin.sh
# A page's final record that NATS cannot take for a while (the pager cut
# off from it after the mail left) is written later, never paged again.
TESTS += t/test_cluster_pager_record.sh
EXTRA_DIST += t/test_cluster_pager_record.sh
# A server's events paged in their order across the pagers: a recovery
# waits for its problem's page, in flight at another pager or retried.
TESTS += t/test_cluster_pager_order.sh
EXTRA_DIST += t/test_cluster_pager_order.sh
