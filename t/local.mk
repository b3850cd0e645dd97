# t/: unit tests (Check) and integration tests against real servers.
include $(srcdir)/t/conf.mk
include $(srcdir)/t/state.mk
include $(srcdir)/t/badserver.mk
include $(srcdir)/t/ctl.mk

# Integration tests run the built daemons; t/servers.sh starts the servers.
TESTS += t/test_probed.sh
TESTS_ENVIRONMENT = TOCSIN_BUILD=$(abs_top_builddir) \
	TOCSIN_BUILDDIR=$(abs_top_builddir) TOCSIN_SRCDIR=$(abs_top_srcdir) \
	srcdir=$(abs_top_srcdir)
EXTRA_DIST += t/probed.sh t/test_probed.sh t/lsan.supp
