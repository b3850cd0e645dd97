# t/durability.mk: crash safety of events and state, the state folder's
# security. Included from t/local.mk.
check_PROGRAMS += t/test_statefile
TESTS += t/test_statefile
t_test_statefile_SOURCES = t/test_statefile.c t/ckrun.c t/ckrun.h t/tmpdir.c \
	t/tmpdir.h $(probed_engine_sources)
t_test_statefile_CPPFLAGS = $(probed_tocsin_probed_CPPFLAGS)
t_test_statefile_CFLAGS = $(probed_tocsin_probed_CFLAGS) $(CHECK_CFLAGS)
t_test_statefile_LDADD = $(probed_tocsin_probed_LDADD) $(CHECK_LIBS) -lm \
	-lpthread

TESTS += t/test_crash.sh
EXTRA_DIST += t/test_crash.sh t/crash_check.py
TESTS += t/test_statedir.sh
EXTRA_DIST += t/test_statedir.sh

check_PROGRAMS += t/test_fsutil
TESTS += t/test_fsutil
t_test_fsutil_SOURCES = t/test_fsutil.c t/ckrun.c t/ckrun.h t/tmpdir.c \
	t/tmpdir.h
t_test_fsutil_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
t_test_fsutil_LDADD = lib/libtocsin.a $(JANSSON_LIBS) $(CHECK_LIBS) -lm \
	-lpthread
