# etc/: the sample config and the systemd unit.
EXTRA_DIST += etc/demo.conf

# The commented sample; `make install` puts it in sysconfdir.
dist_sysconf_DATA += etc/tocsin.conf

# The unit: etc/tocsin-probed.service is a template, written out with this
# build's folders to etc/systemd/ and installed under the prefix, so
# `make distcheck` (a temporary prefix, no root) works. Distributions that
# want /lib/systemd/system pass unitdir=... to make install.
unitdir = $(prefix)/lib/systemd/system
unit_DATA = etc/systemd/tocsin-probed.service
EXTRA_DIST += etc/tocsin-probed.service
CLEANFILES += etc/systemd/tocsin-probed.service

etc/systemd/tocsin-probed.service: $(srcdir)/etc/tocsin-probed.service Makefile
	$(AM_V_GEN)$(MKDIR_P) etc/systemd && \
	sed -e 's|@sbindir[@]|$(sbindir)|g' \
	    -e 's|@sysconfdir[@]|$(sysconfdir)|g' \
	    $(srcdir)/etc/tocsin-probed.service >$@.tmp && mv $@.tmp $@

# The pager's unit, written out the same way.
unit_DATA += etc/systemd/tocsin-pager.service
EXTRA_DIST += etc/tocsin-pager.service
CLEANFILES += etc/systemd/tocsin-pager.service

etc/systemd/tocsin-pager.service: $(srcdir)/etc/tocsin-pager.service Makefile
	$(AM_V_GEN)$(MKDIR_P) etc/systemd && \
	sed -e 's|@sbindir[@]|$(sbindir)|g' \
	    -e 's|@sysconfdir[@]|$(sysconfdir)|g' \
	    $(srcdir)/etc/tocsin-pager.service >$@.tmp && mv $@.tmp $@
