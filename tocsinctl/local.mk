# tocsinctl/: tocsinctl, the control socket's client for people (beside
# probed/, as relayd keeps relayctl/). lib/ctlclient.c is in lib/libtocsin.a.
bin_PROGRAMS += tocsinctl/tocsinctl
tocsinctl_tocsinctl_SOURCES = tocsinctl/tocsinctl.c tocsinctl/lbstats.c \
	tocsinctl/lbstats.h tocsinctl/pagerctl.c tocsinctl/pagerctl.h
tocsinctl_tocsinctl_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
tocsinctl_tocsinctl_LDADD = lib/libtocsin.a $(JANSSON_LIBS)
