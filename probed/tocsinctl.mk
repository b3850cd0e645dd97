# probed/tocsinctl.mk: tocsinctl, the control socket's client for people.
# lib/ctlclient.c is in lib/libtocsin.a.
bin_PROGRAMS += probed/tocsinctl
probed_tocsinctl_SOURCES = probed/tocsinctl.c
probed_tocsinctl_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
probed_tocsinctl_LDADD = lib/libtocsin.a $(JANSSON_LIBS)
