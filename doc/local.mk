# doc/: man pages (mdoc), installed by section from their suffix.
dist_man_MANS += doc/tocsin.conf.5 doc/tocsin-probed.8 doc/tocsinctl.8
dist_man_MANS += doc/tocsin-pager.8
