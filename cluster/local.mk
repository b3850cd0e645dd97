# cluster/: cluster mode on NATS JetStream (set cluster), shared by
# tocsin-probed and tocsin-pager.
noinst_LIBRARIES += cluster/libcluster.a
cluster_libcluster_a_SOURCES = \
	cluster/link.c cluster/link.h \
	cluster/quorum.c cluster/quorum.h \
	cluster/store.c cluster/store.h \
	cluster/watch.c cluster/watch.h
cluster_libcluster_a_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/cluster
cluster_libcluster_a_CFLAGS = $(AM_CFLAGS) $(EVENT_CFLAGS) $(NATS_CFLAGS) \
	$(JANSSON_CFLAGS) $(OPENSSL_CFLAGS)
