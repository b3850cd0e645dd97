# lib/: what every program shares.
noinst_LIBRARIES += lib/libtocsin.a
lib_libtocsin_a_SOURCES = \
	lib/log.c lib/log.h \
	lib/xmalloc.c lib/xmalloc.h \
	lib/result.c lib/result.h \
	lib/util.c lib/util.h \
	lib/hash.c lib/hash.h \
	lib/conf.c lib/conf.h lib/conf_impl.h \
	lib/conf_lex.c lib/conf_parse.c lib/conf_validate.c lib/conf_host.c \
	lib/conf_cluster.c \
	lib/secret.c lib/secret.h \
	lib/daemon.c lib/daemon.h lib/daemon_signals.c \
	lib/spool.c lib/spool.h \
	lib/history.c lib/history.h \
	lib/fsutil.c lib/fsutil.h lib/paths.h \
	lib/stateread.c lib/stateread.h \
	lib/ctlsock.c lib/ctlsock.h \
	lib/peer.c lib/peer.h \
	lib/ctlclient.c lib/ctlclient.h \
	lib/jsontext.c lib/jsontext.h \
	lib/handoff.c lib/handoff.h \
	lib/worker.c lib/worker.h
lib_libtocsin_a_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(EVENT_CFLAGS)
