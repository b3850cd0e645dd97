# doc/: man pages (mdoc), installed by section from their suffix. Their
# sources are doc/*.in: make writes each with the build's folders
# (@sysconfdir@, @localstatedir@, @sbindir@), so a page shows the paths this
# build uses.
man_MANS += doc/tocsin.conf.5 doc/tocsin-probed.8 doc/tocsinctl.8
EXTRA_DIST += doc/tocsin.conf.5.in doc/tocsin-probed.8.in doc/tocsinctl.8.in
CLEANFILES += doc/tocsin.conf.5 doc/tocsin-probed.8 doc/tocsinctl.8

doc/tocsin.conf.5: $(srcdir)/doc/tocsin.conf.5.in Makefile
	$(AM_V_GEN)$(MKDIR_P) doc && \
	$(etc_sed) $(srcdir)/doc/tocsin.conf.5.in >$@.tmp && mv $@.tmp $@
doc/tocsin-probed.8: $(srcdir)/doc/tocsin-probed.8.in Makefile
	$(AM_V_GEN)$(MKDIR_P) doc && \
	$(etc_sed) $(srcdir)/doc/tocsin-probed.8.in >$@.tmp && mv $@.tmp $@
doc/tocsinctl.8: $(srcdir)/doc/tocsinctl.8.in Makefile
	$(AM_V_GEN)$(MKDIR_P) doc && \
	$(etc_sed) $(srcdir)/doc/tocsinctl.8.in >$@.tmp && mv $@.tmp $@

# tocsin.cgi(8) and tocsin-lb(8) name no configured folder: shipped as
# written.
dist_man_MANS += doc/tocsin.cgi.8 doc/tocsin-lb.8

# tocsin-pager(8), with the build's folders like the pages above.
man_MANS += doc/tocsin-pager.8
EXTRA_DIST += doc/tocsin-pager.8.in
CLEANFILES += doc/tocsin-pager.8
doc/tocsin-pager.8: $(srcdir)/doc/tocsin-pager.8.in Makefile
	$(AM_V_GEN)$(MKDIR_P) doc && \
	$(etc_sed) $(srcdir)/doc/tocsin-pager.8.in >$@.tmp && mv $@.tmp $@

# tocsin-cluster(7): cluster mode on NATS JetStream.
dist_man_MANS += doc/tocsin-cluster.7
