# pager/: the paging daemon.
sbin_PROGRAMS += pager/tocsin-pager
# Everything but main(), so tests can link the logic.
pager_core_sources = \
	pager/pager.h pager/dispatch.c pager/dispatch.h \
	pager/queue.c pager/rules.c pager/format.c pager/sms.c pager/memo.c \
	pager/remind.c pager/maildir.c pager/mail.c pager/webhook.c \
	pager/smsapi.c pager/watchdog.c \
	pager/cluster.c pager/cluster.h pager/cluster_impl.h \
	pager/cluster_memo.c pager/cluster_storm.c pager/cluster_events.c \
	pager/cluster_sms.c pager/cluster_remind.c pager/cluster_stale.c \
	pager/cluster_watchdog.c
pager_tocsin_pager_SOURCES = pager/main.c pager/ctl.c pager/testpage.c \
	$(pager_core_sources)
pager_tocsin_pager_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/pager \
	-I$(top_srcdir)/cluster
pager_tocsin_pager_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) $(EVENT_CFLAGS) \
	$(JANSSON_CFLAGS) $(OPENSSL_CFLAGS) $(ESMTP_CFLAGS) $(NATS_CFLAGS)
pager_tocsin_pager_LDADD = cluster/libcluster.a lib/libtocsin.a \
	$(CURL_LIBS) $(EVENT_LIBS) \
	$(JANSSON_LIBS) $(OPENSSL_LIBS) $(ESMTP_LIBS) $(NATS_LIBS) -lpthread
