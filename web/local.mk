# web/: tocsin.cgi, the status page: a CGI, or an HTTP server of its own
# with --serve.
bin_PROGRAMS += web/tocsin.cgi
web_tocsin_cgi_SOURCES = web/web.h web/main.c web/route.c web/data.c \
	web/html.c web/page_overview.c web/page_server.c web/page_farm.c web/api.c \
	web/metrics.c web/events.c web/deliveries.c web/lbstats.c web/badge.c web/graphcache.c web/graphworker.c web/conns.c web/serve.c \
	web/summary.c web/views.c web/prefetch.c web/rrdload.c web/statusscan.c
web_tocsin_cgi_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/rrd \
	-I$(top_srcdir)/cluster
web_tocsin_cgi_CFLAGS = $(AM_CFLAGS) $(EVENT_CFLAGS) $(JANSSON_CFLAGS) \
	$(RRD_CFLAGS)
# cluster/libcluster.a for quorum.c's pure rules only (no NATS).
# Not $(RRD_LIBS): web/rrdload.c loads librrd when a page first needs it.
web_tocsin_cgi_LDADD = rrd/librrdarch.a cluster/libcluster.a lib/libtocsin.a $(EVENT_LIBS) \
	$(JANSSON_LIBS) -ldl -lpthread -lm
