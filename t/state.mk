# t/state.mk: the state machine's Check suite (probed/state.c).
check_PROGRAMS += t/test_state
TESTS += t/test_state
t_test_state_SOURCES = t/test_state.c t/ckrun.c t/ckrun.h probed/state.c \
	probed/state.h
t_test_state_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/probed
t_test_state_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(JANSSON_CFLAGS)
t_test_state_LDADD = lib/libtocsin.a $(JANSSON_LIBS) $(CHECK_LIBS) -lm -lpthread
