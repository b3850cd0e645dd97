# t/cluster.mk: cluster mode (set cluster, NATS JetStream). Included from
# t/local.mk.
check_PROGRAMS += t/test_cluster
TESTS += t/test_cluster
t_test_cluster_SOURCES = t/test_cluster.c
t_test_cluster_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/cluster
t_test_cluster_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
t_test_cluster_LDADD = cluster/libcluster.a lib/libtocsin.a \
	$(JANSSON_LIBS) $(CHECK_LIBS) -lm -lpthread

# The tests' window on JetStream (t/test_cluster.sh).
check_PROGRAMS += t/natsdump
t_natsdump_SOURCES = t/natsdump.c
t_natsdump_CFLAGS = $(AM_CFLAGS) $(NATS_CFLAGS)
t_natsdump_LDADD = $(NATS_LIBS)
