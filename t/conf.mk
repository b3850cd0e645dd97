# t/conf.mk: unit tests of the config language (t/test_conf) and of the
# daemon helpers and unit parsing (t/test_daemon). Included from t/local.mk.
# The fuzz target t/fuzz_conf.c and its seeds t/fuzz/ are built by
# tools/fuzz with clang, never here; they only ship in the tarball.
check_PROGRAMS += t/test_conf t/test_daemon
TESTS += t/test_conf t/test_daemon
EXTRA_DIST += t/fuzz_conf.c t/fuzz

t_test_conf_SOURCES = t/test_conf.c t/ckrun.c t/ckrun.h
t_test_conf_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
t_test_conf_LDADD = lib/libtocsin.a $(JANSSON_LIBS) $(CHECK_LIBS) -lm -lpthread

t_test_daemon_SOURCES = t/test_daemon.c t/ckrun.c t/ckrun.h
t_test_daemon_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
t_test_daemon_LDADD = lib/libtocsin.a $(JANSSON_LIBS) $(CHECK_LIBS) -lm -lpthread
