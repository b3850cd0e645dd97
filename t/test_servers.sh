#!/bin/sh
# t/test_servers.sh: the integration-test harness tests itself: every server
# t/servers.sh knows starts, answers as a client expects, and stops without
# leaving a process behind (servers_selftest). Output is TAP-like.
srcdir=${srcdir:-$(dirname "$0")/..}
. "$srcdir/t/servers.sh" || exit 99
servers_trap
servers_selftest
