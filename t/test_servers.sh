#!/bin/sh
# t/test_servers.sh: the integration-test harness tests itself: every server
# t/servers.sh knows starts, answers as a client expects, and stops without
# leaving a process behind (servers_selftest).
. "${srcdir:-.}/t/servers.sh" || exit 99
. "${srcdir:-.}/t/probed.sh" || exit 99
servers_trap
servers_selftest
finish
