# lb/: tocsin-lb, the balancer in front of a farm's servers.
sbin_PROGRAMS += lb/tocsin-lb
lb_tocsin_lb_SOURCES = lb/lb.h lb/main.c lb/listener.c lb/backend.c \
	lb/balance.c lb/health.c lb/proxy_tcp.c lb/proxy_http.c \
	lb/persist.c lb/queue.c lb/ctl.c lb/proxyproto.c lb/conn.c lb/batch.c \
	lb/cluster.c
lb_tocsin_lb_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/cluster
lb_tocsin_lb_CFLAGS = $(AM_CFLAGS) $(EVENT_CFLAGS) $(JANSSON_CFLAGS) \
	$(NATS_CFLAGS) $(URING_CFLAGS)
lb_tocsin_lb_LDADD = cluster/libcluster.a lib/libtocsin.a $(EVENT_LIBS) \
	$(JANSSON_LIBS) $(HTTP_PARSER_LIBS) $(NATS_LIBS) $(OPENSSL_LIBS) \
	$(URING_LIBS) -lm -lpthread
