# probed/: the probe daemon.
sbin_PROGRAMS += probed/tocsin-probed
# Everything but main(), so tests can link the engine.
probed_engine_sources = \
	probed/probed.h probed/engine.c probed/engine.h \
	probed/scheduler.c probed/scheduler.h \
	probed/state.c probed/state.h \
	probed/spoolq.c probed/spoolq.h \
	probed/statefile.c probed/statefile.h \
	probed/resolver.c probed/resolver.h \
	probed/curlmulti.c probed/curlmulti.h \
	probed/slots.c probed/slots.h \
	probed/confref.c probed/confref.h \
	probed/reload.c \
	probed/curlopt.c probed/curlopt.h \
	probed/conn.c probed/conn.h \
	probed/ctl.c probed/ctl.h \
	probed/check_http.c probed/check_tcp.c probed/check_dns.c \
	probed/http_native.c probed/http_native.h \
	probed/http_answer.c probed/http_answer.h \
	probed/http_judge.c probed/http_judge.h \
	probed/check_ftp.c probed/check_mail.c probed/check_ping.c \
	probed/check_exec.c probed/perfdata.c probed/perfdata.h \
	probed/cluster.c probed/cluster.h \
	probed/cluster_ctl.c probed/cluster_ctl.h
probed_tocsin_probed_SOURCES = probed/main.c $(probed_engine_sources)
probed_tocsin_probed_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/probed \
	-I$(top_srcdir)/rrd -I$(top_srcdir)/cluster
probed_tocsin_probed_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) $(CARES_CFLAGS) \
	$(EVENT_CFLAGS) $(JANSSON_CFLAGS) $(OPENSSL_CFLAGS) $(RRD_CFLAGS) \
	$(NATS_CFLAGS)
probed_tocsin_probed_LDADD = rrd/librrdarch.a cluster/libcluster.a \
	lib/libtocsin.a \
	$(CURL_LIBS) $(CARES_LIBS) $(EVENT_LIBS) $(JANSSON_LIBS) \
	$(OPENSSL_LIBS) $(RRD_LIBS) $(NATS_LIBS)
# TLS handshake facts for the checks' verdicts (curl kinds and conn.c).
probed_engine_sources += probed/tlsinfo.c probed/tlsinfo.h
