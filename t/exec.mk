# t/exec.mk: the perfdata parser's Check suite (probed/perfdata.c), and the
# exec and ping checks end to end (t/test_exec_ping.sh: real
# monitoring-plugins, ICMP in network namespaces; needs root, else it
# skips). Included from t/local.mk.
check_PROGRAMS += t/test_perfdata
TESTS += t/test_perfdata t/test_exec_ping.sh
EXTRA_DIST += t/test_exec_ping.sh

t_test_perfdata_SOURCES = t/test_perfdata.c t/ckrun.c t/ckrun.h \
	probed/perfdata.c probed/perfdata.h
t_test_perfdata_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/probed
t_test_perfdata_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
t_test_perfdata_LDADD = $(CHECK_LIBS) -lm
