# doc/: man pages (mdoc), installed by section from their suffix. Their
# sources are doc/*.in: make writes each with the build's folders
# (@sysconfdir@, @localstatedir@, @sbindir@), so a page shows the paths this
# build uses.
man_MANS += doc/tocsin.conf.5 doc/tocsin-probed.8 doc/tocsinctl.8 \
	doc/tocsin-lb.8 doc/tocsin.cgi.8 doc/tocsin-pager.8
EXTRA_DIST += doc/tocsin.conf.5.in doc/tocsin-probed.8.in doc/tocsinctl.8.in \
	doc/tocsin-lb.8.in doc/tocsin.cgi.8.in doc/tocsin-pager.8.in
CLEANFILES += doc/tocsin.conf.5 doc/tocsin-probed.8 doc/tocsinctl.8 \
	doc/tocsin-lb.8 doc/tocsin.cgi.8 doc/tocsin-pager.8

# man_sed: the page $@ from its source $@.in, with the build's folders.
man_sed = $(AM_V_GEN)$(MKDIR_P) doc && \
	$(etc_sed) $(srcdir)/$@.in >$@.tmp && mv $@.tmp $@

doc/tocsin.conf.5: $(srcdir)/doc/tocsin.conf.5.in Makefile
	$(man_sed)
doc/tocsin-probed.8: $(srcdir)/doc/tocsin-probed.8.in Makefile
	$(man_sed)
doc/tocsinctl.8: $(srcdir)/doc/tocsinctl.8.in Makefile
	$(man_sed)
doc/tocsin-lb.8: $(srcdir)/doc/tocsin-lb.8.in Makefile
	$(man_sed)
doc/tocsin.cgi.8: $(srcdir)/doc/tocsin.cgi.8.in Makefile
	$(man_sed)
doc/tocsin-pager.8: $(srcdir)/doc/tocsin-pager.8.in Makefile
	$(man_sed)

# tocsin-cluster(7): cluster mode on NATS JetStream.
dist_man_MANS += doc/tocsin-cluster.7
