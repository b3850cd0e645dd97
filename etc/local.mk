# etc/: the sample config, the systemd unit, its user and its state folder.
EXTRA_DIST += etc/demo.conf etc/tocsin.conf etc/tocsin-probed.service \
	etc/tocsin.sysusers etc/tocsin.tmpfiles

# The commented sample goes to sysconfdir as tocsin.conf only when there is
# none: an installed config, edited or not, is never overwritten; the
# sample then lands beside it as tocsin.conf.sample. Uninstall removes the
# config only while it is the unedited sample.
install-data-hook: install-sample-conf
install-sample-conf:
	$(MKDIR_P) '$(DESTDIR)$(sysconfdir)'
	@if test -e '$(DESTDIR)$(sysconfdir)/tocsin.conf'; then \
	  echo " keeping $(DESTDIR)$(sysconfdir)/tocsin.conf; the sample is tocsin.conf.sample"; \
	  echo " $(INSTALL_DATA) etc/tocsin.conf '$(DESTDIR)$(sysconfdir)/tocsin.conf.sample'"; \
	  $(INSTALL_DATA) $(srcdir)/etc/tocsin.conf \
	    '$(DESTDIR)$(sysconfdir)/tocsin.conf.sample'; \
	else \
	  echo " $(INSTALL_DATA) etc/tocsin.conf '$(DESTDIR)$(sysconfdir)/tocsin.conf'"; \
	  $(INSTALL_DATA) $(srcdir)/etc/tocsin.conf \
	    '$(DESTDIR)$(sysconfdir)/tocsin.conf'; \
	fi
uninstall-local: uninstall-sample-conf
uninstall-sample-conf:
	rm -f '$(DESTDIR)$(sysconfdir)/tocsin.conf.sample'
	@if cmp -s $(srcdir)/etc/tocsin.conf \
	    '$(DESTDIR)$(sysconfdir)/tocsin.conf'; then \
	  echo " rm -f '$(DESTDIR)$(sysconfdir)/tocsin.conf'"; \
	  rm -f '$(DESTDIR)$(sysconfdir)/tocsin.conf'; \
	fi
.PHONY: install-sample-conf uninstall-sample-conf

# The unit, its sysusers.d and tmpfiles.d files: templates written out with
# this build's folders to etc/systemd/ and installed under the prefix, so
# `make distcheck` (a temporary prefix, no root) works. Distributions that
# want /lib/systemd/system and /usr/lib pass unitdir=..., sysusersdir=...
# and tmpfilesdir=... to make install.
unitdir = $(prefix)/lib/systemd/system
sysusersdir = $(prefix)/lib/sysusers.d
tmpfilesdir = $(prefix)/lib/tmpfiles.d
unit_DATA = etc/systemd/tocsin-probed.service
sysusers_DATA = etc/systemd/sysusers.d/tocsin.conf
tmpfiles_DATA = etc/systemd/tmpfiles.d/tocsin.conf
CLEANFILES += $(unit_DATA) $(sysusers_DATA) $(tmpfiles_DATA)

# etc_sed: the build's folders into a template.
etc_sed = sed -e 's|@sbindir[@]|$(sbindir)|g' \
	-e 's|@bindir[@]|$(bindir)|g' \
	-e 's|@pkglibexecdir[@]|$(pkglibexecdir)|g' \
	-e 's|@sysconfdir[@]|$(sysconfdir)|g' \
	-e 's|@localstatedir[@]|$(localstatedir)|g'

etc/systemd/tocsin-probed.service: $(srcdir)/etc/tocsin-probed.service Makefile
	$(AM_V_GEN)$(MKDIR_P) etc/systemd && \
	$(etc_sed) $(srcdir)/etc/tocsin-probed.service >$@.tmp && mv $@.tmp $@
etc/systemd/sysusers.d/tocsin.conf: $(srcdir)/etc/tocsin.sysusers Makefile
	$(AM_V_GEN)$(MKDIR_P) etc/systemd/sysusers.d && \
	$(etc_sed) $(srcdir)/etc/tocsin.sysusers >$@.tmp && mv $@.tmp $@
etc/systemd/tmpfiles.d/tocsin.conf: $(srcdir)/etc/tocsin.tmpfiles Makefile
	$(AM_V_GEN)$(MKDIR_P) etc/systemd/tmpfiles.d && \
	$(etc_sed) $(srcdir)/etc/tocsin.tmpfiles >$@.tmp && mv $@.tmp $@

# The pager's unit, the same way.
unit_DATA += etc/systemd/tocsin-pager.service
EXTRA_DIST += etc/tocsin-pager.service
etc/systemd/tocsin-pager.service: $(srcdir)/etc/tocsin-pager.service Makefile
	$(AM_V_GEN)$(MKDIR_P) etc/systemd && \
	$(etc_sed) $(srcdir)/etc/tocsin-pager.service >$@.tmp && mv $@.tmp $@

# tocsin-lb's unit, the same way; keepalived's check of it, and a sample
# keepalived config for two lb boxes (doc examples, see tocsin-lb(8)).
unit_DATA += etc/systemd/tocsin-lb.service
EXTRA_DIST += etc/tocsin-lb.service etc/tocsin-lb-check \
	etc/keepalived-tocsin-lb.conf.sample
etc/systemd/tocsin-lb.service: $(srcdir)/etc/tocsin-lb.service Makefile
	$(AM_V_GEN)$(MKDIR_P) etc/systemd && \
	$(etc_sed) $(srcdir)/etc/tocsin-lb.service >$@.tmp && mv $@.tmp $@
pkglibexec_SCRIPTS = etc/examples/tocsin-lb-check
lbexampledir = $(docdir)/examples
lbexample_DATA = etc/examples/keepalived-tocsin-lb.conf.sample
CLEANFILES += etc/examples/tocsin-lb-check $(lbexample_DATA)
etc/examples/tocsin-lb-check: $(srcdir)/etc/tocsin-lb-check Makefile
	$(AM_V_GEN)$(MKDIR_P) etc/examples && \
	$(etc_sed) $(srcdir)/etc/tocsin-lb-check >$@.tmp && \
	chmod +x $@.tmp && mv $@.tmp $@
etc/examples/keepalived-tocsin-lb.conf.sample: \
    $(srcdir)/etc/keepalived-tocsin-lb.conf.sample Makefile
	$(AM_V_GEN)$(MKDIR_P) etc/examples && $(etc_sed) \
	$(srcdir)/etc/keepalived-tocsin-lb.conf.sample >$@.tmp && \
	mv $@.tmp $@

# Cluster mode's samples (tocsin-cluster(7)): 3 NATS servers, 2 vantage
# points, 2 pagers, a balancer.
EXTRA_DIST += etc/cluster/nats.conf etc/cluster/servers.conf \
	etc/cluster/probe-a.conf etc/cluster/probe-b.conf \
	etc/cluster/pager-1.conf etc/cluster/pager-2.conf \
	etc/cluster/lb-1.conf
