# t/: unit tests (Check) and integration tests against real servers.
include $(srcdir)/t/conf.mk
include $(srcdir)/t/state.mk
include $(srcdir)/t/badserver.mk
include $(srcdir)/t/ctl.mk
include $(srcdir)/t/exec.mk

# Integration tests run the built daemons; t/servers.sh starts the servers.
TESTS += t/test_probed.sh t/test_archives.sh t/test_mail_ftp.sh
TESTS_ENVIRONMENT = TOCSIN_BUILD=$(abs_top_builddir) \
	TOCSIN_BUILDDIR=$(abs_top_builddir) TOCSIN_SRCDIR=$(abs_top_srcdir) \
	srcdir=$(abs_top_srcdir)
EXTRA_DIST += t/probed.sh t/test_probed.sh t/test_archives.sh \
	t/test_mail_ftp.sh t/lsan.supp

check_PROGRAMS += t/test_spool
TESTS += t/test_spool
t_test_spool_SOURCES = t/test_spool.c probed/spoolq.c
t_test_spool_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/probed
t_test_spool_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(EVENT_CFLAGS) \
	$(JANSSON_CFLAGS)
t_test_spool_LDADD = lib/libtocsin.a $(EVENT_LIBS) $(JANSSON_LIBS) \
	$(CHECK_LIBS) -lm -lpthread

# The engine's reload, on a real engine (no daemon, no socket).
check_PROGRAMS += t/test_reload
TESTS += t/test_reload
t_test_reload_SOURCES = t/test_reload.c $(probed_engine_sources)
t_test_reload_CPPFLAGS = $(probed_tocsin_probed_CPPFLAGS)
t_test_reload_CFLAGS = $(probed_tocsin_probed_CFLAGS) $(CHECK_CFLAGS)
t_test_reload_LDADD = $(probed_tocsin_probed_LDADD) $(CHECK_LIBS) -lm \
	-lpthread

# tocsin-probed -t on configs that must be refused or warned about.
TESTS += t/test_conf_check.sh
EXTRA_DIST += t/test_conf_check.sh

# tocsin-pager: its pure logic (queue, rules, texts), and the daemon
# against real probed, nginx, aiosmtpd and an HTTP receiver.
check_PROGRAMS += t/test_pager
TESTS += t/test_pager t/test_pager.sh
t_test_pager_SOURCES = t/test_pager.c pager/queue.c pager/rules.c \
	pager/format.c pager/sms.c pager/memo.c
t_test_pager_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/pager
t_test_pager_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(JANSSON_CFLAGS)
t_test_pager_LDADD = lib/libtocsin.a $(JANSSON_LIBS) $(CHECK_LIBS) -lm \
	-lpthread
EXTRA_DIST += t/test_pager.sh t/servers/hookd.py t/servers/smtpd.py
EXTRA_DIST += t/asan-pager.supp
