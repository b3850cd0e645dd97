# t/: unit tests (Check) and integration tests against real servers.
include $(srcdir)/t/conf.mk
include $(srcdir)/t/state.mk
include $(srcdir)/t/badserver.mk
include $(srcdir)/t/ctl.mk
include $(srcdir)/t/exec.mk

# Every test is registered here or in a t/*.mk included above. Check
# suites print "NN%: Checks: N, Failures: N, Errors: N" in their log; the
# t/*.sh tests source t/probed.sh and print TAP, read by automake's
# tap-driver.sh: one result per assertion in make check's summary, a skip
# with its reason. TOCSIN_BUILD is the build folder, srcdir the source's.
# Each Check suite links t/ckrun.c (main's run of its suite), and those
# with a folder to work in t/tmpdir.c.
TEST_EXTENSIONS = .sh
SH_LOG_DRIVER = env AM_TAP_AWK='$(AWK)' $(SHELL) \
	$(top_srcdir)/build-aux/tap-driver.sh
AM_SH_LOG_DRIVER_FLAGS = --ignore-exit
# Check's 4 s per test is short for a sanitizer build on a busy machine; a
# hang still ends in 30 s.
TESTS_ENVIRONMENT = TOCSIN_BUILD=$(abs_top_builddir) \
	TOCSIN_SRCDIR=$(abs_top_srcdir) srcdir=$(abs_top_srcdir) \
	CK_DEFAULT_TIMEOUT=30

# Long tests first, so that none of them starts last while the short
# ones are done (make check runs four side by side: tools/test).
TESTS += t/test_web_audit.sh t/test_http_native.sh t/test_lb_latency.sh

# Integration tests run the built daemons; t/servers.sh starts the servers.
# t/test_demo.sh: tools/demo stops everything it started, however it stops.
# t/test_install.sh: make install keeps an edited config; the man pages,
# the unit and its sysusers.d and tmpfiles.d files show this build's folders.
TESTS += t/test_servers.sh t/test_probed.sh t/test_archives.sh \
	t/test_mail_ftp.sh t/test_demo.sh t/test_install.sh
EXTRA_DIST += t/probed.sh t/install.sh t/test_probed.sh t/test_archives.sh \
	t/test_mail_ftp.sh t/test_demo.sh t/test_install.sh t/lsan.supp

check_PROGRAMS += t/test_spool
TESTS += t/test_spool
t_test_spool_SOURCES = t/test_spool.c t/ckrun.c t/ckrun.h t/tmpdir.c \
	t/tmpdir.h probed/spoolq.c
t_test_spool_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/probed
t_test_spool_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(EVENT_CFLAGS) \
	$(JANSSON_CFLAGS)
t_test_spool_LDADD = lib/libtocsin.a $(EVENT_LIBS) $(JANSSON_LIBS) \
	$(CHECK_LIBS) -lm -lpthread

# The engine's reload, on a real engine (no daemon, no socket).
check_PROGRAMS += t/test_reload
TESTS += t/test_reload
t_test_reload_SOURCES = t/test_reload.c t/ckrun.c t/ckrun.h t/tmpdir.c \
	t/tmpdir.h $(probed_engine_sources)
t_test_reload_CPPFLAGS = $(probed_tocsin_probed_CPPFLAGS)
t_test_reload_CFLAGS = $(probed_tocsin_probed_CFLAGS) $(CHECK_CFLAGS)
t_test_reload_LDADD = $(probed_tocsin_probed_LDADD) $(CHECK_LIBS) -lm \
	-lpthread

# tocsinctl against a running probed (t/test_ctlsock.sh).
TESTS += t/test_ctlsock.sh
EXTRA_DIST += t/test_ctlsock.sh

# The daemons started without -f: exit 0 once running, 1 with the reason.
TESTS += t/test_daemon_start.sh
EXTRA_DIST += t/test_daemon_start.sh

# tocsin-probed -t on configs that must be refused or warned about.
TESTS += t/test_conf_check.sh
EXTRA_DIST += t/test_conf_check.sh

# Crash safety and the state folder.
include $(srcdir)/t/durability.mk

# The check kinds' second pass: TLS verdicts, cert-days, http body and
# redirects, FTP floods (t/test_checks2.sh).
TESTS += t/test_checks2.sh
EXTRA_DIST += t/test_checks2.sh

# Exec checks, second pass: unknown, long output, leftovers
# (t/test_exec_checks.sh).
TESTS += t/test_exec_checks.sh
EXTRA_DIST += t/test_exec_checks.sh

# DNS expect against every record of a big answer (t/test_dns_many.sh).
TESTS += t/test_dns_many.sh
EXTRA_DIST += t/test_dns_many.sh

# The engine's timing, reload with checks in flight, slots per address.
TESTS += t/test_engine.sh t/test_slots.sh t/test_depends.sh
EXTRA_DIST += t/test_engine.sh t/test_slots.sh t/test_depends.sh

# lib/hash.c, the one string-keyed table.
check_PROGRAMS += t/test_hash
TESTS += t/test_hash
t_test_hash_SOURCES = t/test_hash.c t/ckrun.c t/ckrun.h
t_test_hash_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
t_test_hash_LDADD = lib/libtocsin.a $(CHECK_LIBS) -lm -lpthread

# probed/slots.c: global and per-address limits, turns, hung checks.
check_PROGRAMS += t/test_slots
TESTS += t/test_slots
t_test_slots_SOURCES = t/test_slots.c t/ckrun.c t/ckrun.h probed/slots.c \
	probed/slots.h
t_test_slots_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/probed
t_test_slots_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(EVENT_CFLAGS)
t_test_slots_LDADD = lib/libtocsin.a $(EVENT_LIBS) $(CHECK_LIBS) -lm -lpthread

# tocsin.cgi under lighttpd and --serve, against a running probed.
TESTS += t/test_web.sh
EXTRA_DIST += t/test_web.sh t/web.sh t/web-lsan.supp
# tocsin.cgi --serve on raw sockets: HEAD on a kept-alive connection, a
# trickled head, a cap on connections, accept out of descriptors, graph
# ETags through rrdcached.
TESTS += t/test_web_serve.sh
EXTRA_DIST += t/test_web_serve.sh
# tocsin.cgi --serve's graph workers: a graph waiting on a stopped
# rrdcached holds up no other request; a worker killed, or past its time,
# costs its graph alone; the queue's bound; a reload.
TESTS += t/test_web_graphworkers.sh
EXTRA_DIST += t/test_web_graphworkers.sh
# tocsin.cgi --serve reads the uptime figures of its pages in the graph
# workers: a stopped rrdcached holds up only the pages that show them, up
# to --graph-timeout, after which they come saying the figures are late.
TESTS += t/test_web_uptime_serve.sh
EXTRA_DIST += t/test_web_uptime_serve.sh
# And a server's probe nodes' archives: /api/vantage/ID, and their listing
# through a remote rrdcached for the server's page and graphs.
TESTS += t/test_web_vantage_serve.sh
EXTRA_DIST += t/test_web_vantage_serve.sh

# Headless Chromium on tocsin.cgi's pages: DOM asserts and screenshots.
TESTS += t/test_web_browser.sh
EXTRA_DIST += t/test_web_browser.sh
CLEANFILES += t/web-screens/*.png

# tocsin-lb in tcp mode before three nginx, probed watching them.
TESTS += t/test_lb.sh
EXTRA_DIST += t/test_lb.sh t/lbclient.py t/servers/nginx_lb.conf
TESTS += t/test_lb_http.sh
EXTRA_DIST += t/test_lb_http.sh t/lb.sh
EXTRA_DIST += t/lbslow.py

# tocsin-pager: its pure logic (queue, rules, texts), and the daemon
# against real probed, nginx, aiosmtpd and an HTTP receiver.
check_PROGRAMS += t/test_pager
TESTS += t/test_pager t/test_paging.sh
t_test_pager_SOURCES = t/test_pager.c t/ckrun.c t/ckrun.h t/tmpdir.c \
	t/tmpdir.h pager/queue.c pager/rules.c pager/format.c pager/sms.c \
	pager/memo.c pager/smsapi.c pager/remind.c pager/watchdog.c
t_test_pager_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/pager
t_test_pager_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(JANSSON_CFLAGS)
t_test_pager_LDADD = lib/libtocsin.a $(JANSSON_LIBS) $(CHECK_LIBS) -lm \
	-lpthread
EXTRA_DIST += t/test_paging.sh t/servers/hookd.py t/servers/smtpd.py
EXTRA_DIST += t/asan-pager.supp

# Downtime against real servers: farm scope, scheduled, spooled flags.
TESTS += t/test_downtime.sh
EXTRA_DIST += t/test_downtime.sh

# tocsin-pager deletes spool events only up to state.json's "spooled".
TESTS += t/test_pager_spooled.sh
EXTRA_DIST += t/test_pager_spooled.sh
# A spool event that cannot be read for a while is paged once it can.
TESTS += t/test_pager_unreadable.sh
EXTRA_DIST += t/test_pager_unreadable.sh
# A stopped tocsin-probed costs a storm of pages one wait, not one each.
TESTS += t/test_pager_probedstop.sh
EXTRA_DIST += t/test_pager_probedstop.sh
# The end of flapping is paged with the state it settled in.
TESTS += t/test_pager_flapend.sh
EXTRA_DIST += t/test_pager_flapend.sh t/servers/flap.py
# Flapping is damped: its start and end paged, the changes between held.
TESTS += t/test_pager_flapdamp.sh
EXTRA_DIST += t/test_pager_flapdamp.sh
# tocsin-probed's state file follows a reload at once.
TESTS += t/test_statefile_reload.sh
EXTRA_DIST += t/test_statefile_reload.sh
# What a reload does with the set keys: dns-servers, archives and
# rrdcached at once, a log line for those that take a restart.
TESTS += t/test_reload_settings.sh
EXTRA_DIST += t/test_reload_settings.sh

# tocsin-pager's storm digest and unreachable folding, end to end.
TESTS += t/test_pager_storm.sh
EXTRA_DIST += t/test_pager_storm.sh

# tocsin-lb: slow start, maxconn, stats on its socket, lb-threads.
TESTS += t/test_lb_more.sh
EXTRA_DIST += t/test_lb_more.sh
EXTRA_DIST += t/lbbusy.py
# tocsin-lb's unit, keepalived check and sample, installed; low ports.
TESTS += t/test_lb_install.sh
EXTRA_DIST += t/test_lb_install.sh
# tocsin-lb's proxy-protocol v1/v2 to nginx reading it (tcp, http).
TESTS += t/test_lb_proxy.sh
EXTRA_DIST += t/test_lb_proxy.sh t/servers/nginx_pp.conf
check_PROGRAMS += t/test_proxyproto
TESTS += t/test_proxyproto
t_test_proxyproto_SOURCES = t/test_proxyproto.c t/ckrun.c t/ckrun.h \
	lb/proxyproto.c lb/lb.h
t_test_proxyproto_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/lb
t_test_proxyproto_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
t_test_proxyproto_LDADD = lib/libtocsin.a $(CHECK_LIBS) -lm -lpthread
# tocsin-lb's members: the response-time average, errors, weights. Its
# suites share t/lbtest.c (a member made by hand, a stub of lb/queue.c).
check_PROGRAMS += t/test_backend
TESTS += t/test_backend
t_test_backend_SOURCES = t/test_backend.c t/ckrun.c t/ckrun.h t/lbtest.c \
	t/lbtest.h lb/backend.c lb/lb.h
t_test_backend_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/lb
t_test_backend_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
t_test_backend_LDADD = lib/libtocsin.a $(CHECK_LIBS) -lm -lpthread
# tocsin-lb's table of tcp clients and their members.
check_PROGRAMS += t/test_persist
TESTS += t/test_persist
t_test_persist_SOURCES = t/test_persist.c t/ckrun.c t/ckrun.h t/lbtest.c \
	t/lbtest.h lb/persist.c lb/backend.c lb/lb.h
t_test_persist_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/lb
t_test_persist_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
t_test_persist_LDADD = lib/libtocsin.a $(CHECK_LIBS) -lm -lpthread
# tocsin-lb http: forwarding headers, limits, 100 MB streamed both ways.
TESTS += t/test_lb_stream.sh
EXTRA_DIST += t/test_lb_stream.sh t/servers/nginx_stream.conf

# tocsin.cgi: uptime raw and with scheduled downtime left out (SLA).
TESTS += t/test_web_sla.sh
EXTRA_DIST += t/test_web_sla.sh

# tocsin.cgi: /events from probed's history after the pager deleted the
# spool, and what was paged to whom from the pager's records.
TESTS += t/test_web_events.sh
EXTRA_DIST += t/test_web_events.sh

# tocsin.cgi: tocsin-lb's figures on the farm page; a stopped balancer
# never holds --serve.
TESTS += t/test_web_lb.sh
EXTRA_DIST += t/test_web_lb.sh

# The bounded event history probed keeps for the page (lib/history.c).
check_PROGRAMS += t/test_history
TESTS += t/test_history
t_test_history_SOURCES = t/test_history.c t/ckrun.c t/ckrun.h t/tmpdir.c \
	t/tmpdir.h
t_test_history_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(JANSSON_CFLAGS)
t_test_history_LDADD = lib/libtocsin.a $(JANSSON_LIBS) $(CHECK_LIBS) -lm \
	-lpthread

# tocsin.cgi reads probed's status answer without jansson's tree, alike.
check_PROGRAMS += t/test_statusscan
TESTS += t/test_statusscan
t_test_statusscan_SOURCES = t/test_statusscan.c t/ckrun.c t/ckrun.h \
	web/statusscan.c
t_test_statusscan_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/web \
	-I$(top_srcdir)/rrd
t_test_statusscan_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(EVENT_CFLAGS) \
	$(JANSSON_CFLAGS)
t_test_statusscan_LDADD = lib/libtocsin.a $(JANSSON_LIBS) $(CHECK_LIBS) \
	-lm -lpthread

# Cluster mode on NATS JetStream.
include $(srcdir)/t/cluster.mk

# What tocsin-pager's shell tests share.
EXTRA_DIST += t/pager.sh

# SMS through an HTTP API (set sms-gateway), end to end.
TESTS += t/test_pager_smsapi.sh
EXTRA_DIST += t/test_pager_smsapi.sh

# renotify and escalate-after, with acks and downtimes from probed.
TESTS += t/test_pager_renotify.sh
EXTRA_DIST += t/test_pager_renotify.sh
# A crash between a reminder's record and the memo: sent once.
TESTS += t/test_pager_remind_crash.sh
EXTRA_DIST += t/test_pager_remind_crash.sh
# An escalate-after chain counts each step from its contact's own page.
TESTS += t/test_pager_escalate.sh
EXTRA_DIST += t/test_pager_escalate.sh

# tocsin-pager's control socket: tocsinctl pages and test-page.
TESTS += t/test_pager_ctl.sh
EXTRA_DIST += t/test_pager_ctl.sh

# set admin: tocsin-probed stopping and coming back.
TESTS += t/test_pager_admin.sh
EXTRA_DIST += t/test_pager_admin.sh

# Both daemons killed -9 while servers change state: no page lost or doubled.
TESTS += t/test_pager_crash.sh
EXTRA_DIST += t/test_pager_crash.sh

# A burst spooled at once: in order per lane, once each, few SMTP sessions.
TESTS += t/test_pager_batch.sh
EXTRA_DIST += t/test_pager_batch.sh
# A stalled relay leaves send slots for webhooks.
TESTS += t/test_pager_slowrelay.sh
EXTRA_DIST += t/test_pager_slowrelay.sh

# 300 servers down within 5 s: at most 3 pages a contact and channel.
TESTS += t/test_pager_storm300.sh
EXTRA_DIST += t/test_pager_storm300.sh
# A storm digest past the old 256 KiB record: bounded, read back after a
# restart.
TESTS += t/test_pager_storm_big.sh
EXTRA_DIST += t/test_pager_storm_big.sh

# The page of each kind of change; quiet hours hold SMS, not email.
TESTS += t/test_pager_kinds.sh
EXTRA_DIST += t/test_pager_kinds.sh

# A parent's page lists its unreachable dependents.
TESTS += t/test_pager_depends.sh
EXTRA_DIST += t/test_pager_depends.sh

# set stale-after: pages queued too long go as one digest.
TESTS += t/test_pager_stale.sh
EXTRA_DIST += t/test_pager_stale.sh
# More stale pages on one lane than one session tries: each listed once.
TESTS += t/test_pager_stale_many.sh
EXTRA_DIST += t/test_pager_stale_many.sh
# A stale digest's Idempotency-Key is its own.
TESTS += t/test_pager_stale_key.sh
EXTRA_DIST += t/test_pager_stale_key.sh

# A full disk under a page the relay took: not sent again, its record
# written once there is room.
TESTS += t/test_pager_diskfull.sh
EXTRA_DIST += t/test_pager_diskfull.sh

# Plain http:// on probed's own client judges as the libcurl path does.
EXTRA_DIST += t/test_http_native.sh
# The native http checks' answer reader: any split of the bytes, curl's words.
check_PROGRAMS += t/test_http_answer
TESTS += t/test_http_answer
t_test_http_answer_SOURCES = t/test_http_answer.c t/ckrun.c t/ckrun.h \
	probed/http_answer.c probed/http_answer.h probed/http_judge.h
t_test_http_answer_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/probed
t_test_http_answer_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
t_test_http_answer_LDADD = lib/libtocsin.a $(CHECK_LIBS) -lm -lpthread
# tocsin.cgi: issue 16's checklist (busybox httpd, farm uptime, the
# objects of /api/server and /api/events, graph spans and ETags, CSP,
# methods, bounded requests).
EXTRA_DIST += t/test_web_audit.sh t/pngedge.py
# The delivery log: who was paged, after the records are gone.
TESTS += t/test_pager_dlog.sh
EXTRA_DIST += t/test_pager_dlog.sh
# tocsin-lb: latency routing after Linkerd's experiment (one of eleven
# held at 2 s, 1 s client timeout); LB_LATENCY_SECONDS=60 for the long form.
EXTRA_DIST += t/test_lb_latency.sh t/lbheld.py
# tocsin-lb: the tcp relay byte-exact before a slow reader with a small
# window (the kept first bytes full and not yet taken).
TESTS += t/test_lb_tcp.sh
EXTRA_DIST += t/test_lb_tcp.sh t/lbsink.py t/lbsend.py
# tocsin-lb: the tcp relay's sends staged in io_uring (and made at once
# with TOCSIN_LB_NO_URING) byte-exact before slow readers both ways, and
# the http proxy's writes alike before a slow pipelining client.
TESTS += t/test_lb_batch.sh
EXTRA_DIST += t/test_lb_batch.sh t/lbdrip.py t/lbranges.py
# tocsin-lb soaked: keep-alive, close and tcp clients while a member is
# killed and started again and the config reloaded, every request answered
# and nothing held after (LB_SOAK_SECONDS for the long form).
TESTS += t/test_lb_soak.sh
EXTRA_DIST += t/test_lb_soak.sh
# tocsin-lb: a farm's connect-, client- and server-timeout.
TESTS += t/test_lb_timeouts.sh
EXTRA_DIST += t/test_lb_timeouts.sh t/lbearly.py t/lbfull.py
# tocsin-lb: WebSockets (HTTP Upgrade) tunnelled to real WebSocket servers.
TESTS += t/test_lb_ws.sh
EXTRA_DIST += t/test_lb_ws.sh t/lbws.py t/lbwsclient.py
# tocsin-lb: HTTP/1.1 at its edges (trailers, 304s, hop-by-hop, 1.0).
TESTS += t/test_lb_http2.sh
EXTRA_DIST += t/test_lb_http2.sh t/lbscript.py
# tocsin-lb: maxconn over loops, a hung tcp member, out of descriptors,
# reloads that fail or add a member, a long persist.
TESTS += t/test_lb_limits.sh
EXTRA_DIST += t/test_lb_limits.sh t/lbtcp.py t/lbhold.py
# tocsin-lb http: maxconn over loops, upgrades out of descriptors for
# pipes, clients waiting for a slot through a reload, the queue's counts.
TESTS += t/test_lb_http_limits.sh
EXTRA_DIST += t/test_lb_http_limits.sh t/lbupgrade.py t/lbupclient.py
# tocsin-lb http at bounds: HEAD pipelined unread, a full input at the
# close, a timeout on a pooled connection, POST on its own, two Hosts,
# bare-LF heads.
TESTS += t/test_lb_http_bounds.sh
EXTRA_DIST += t/test_lb_http_bounds.sh
# tocsin-pager: a problem that outlasts its downtime is paged at its end.
TESTS += t/test_pager_dtend.sh
EXTRA_DIST += t/test_pager_dtend.sh

# lib/worker.c and lib/handoff.c: threads handing work back to a loop.
check_PROGRAMS += t/test_worker
TESTS += t/test_worker
t_test_worker_SOURCES = t/test_worker.c t/ckrun.c t/ckrun.h
t_test_worker_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(EVENT_CFLAGS)
t_test_worker_LDADD = lib/libtocsin.a $(EVENT_LIBS) $(CHECK_LIBS) -lm \
	-lpthread
