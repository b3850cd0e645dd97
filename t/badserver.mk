# t/badserver.mk: t/badserver, a TCP server that misbehaves on purpose
# (silent, drip, flood, garbage, ...), started by integration tests through
# t/servers.sh (start_badserver). libc only; meant to be included from
# Makefile.am or t/local.mk.
check_PROGRAMS += t/badserver
t_badserver_SOURCES = t/badserver.c
EXTRA_DIST += t/servers.sh t/test_servers.sh \
	t/servers/nginx.conf t/servers/locations.conf t/servers/dovecot.conf \
	t/servers/ftps.py t/servers/probe.py t/servers/selftest.sh
