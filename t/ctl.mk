# t/ctl.mk: the control socket and its client library, over a stub engine.
# lib/ctlclient.c is in lib/libtocsin.a.
check_PROGRAMS += t/test_ctl
TESTS += t/test_ctl
t_test_ctl_SOURCES = t/test_ctl.c t/ckrun.c t/ckrun.h t/ctl_stub_engine.c \
	probed/ctl.c probed/ctl.h probed/state.c
t_test_ctl_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/probed
t_test_ctl_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(EVENT_CFLAGS) \
	$(JANSSON_CFLAGS)
t_test_ctl_LDADD = lib/libtocsin.a $(EVENT_LIBS) $(JANSSON_LIBS) \
	$(CHECK_LIBS) -lm -lpthread
