#!/bin/sh
# t/test_statefile_reload.sh: the state file follows a reload at once. A
# quiet probed (two servers on a closed port, no archives) has written
# its file for an ack; a reload drops one server: the file drops it
# within 3 s (it waited for the next minute's write, so a CGI reading it
# with probed gone showed a server no longer watched), and an ack given
# just before the reload is in it.
set -u
. "${srcdir:-.}/t/servers.sh" || exit 1
. "${srcdir:-.}/t/probed.sh" || exit 1
servers_trap

P=$(servers_port) || exit 1
cat >"$T/probed.conf" <<CONF
set state-dir $T/state
set archives off
set interval 1s
set retries 1
server a tcp://127.0.0.1:$P
server b tcp://127.0.0.1:$P
CONF
probed_start "$T/probed.conf" || exit 1
expect_state a down
expect_state b down
in_file() { grep -q "\"$1\":{" "$T/state/state.json" 2>/dev/null; }
ctl ack b looking >/dev/null || failed "tocsinctl ack b"
i=0
while ! in_file b && [ $i -lt 30 ]; do sleep 0.1; i=$((i + 1)); done
check "the ack writes the state file" in_file b
grep -v "^server b " "$T/probed.conf" >"$T/probed.conf.new" &&
    mv "$T/probed.conf.new" "$T/probed.conf"
ctl ack a noted >/dev/null
kill -HUP "$PROBED_PID"
i=0
while in_file b && [ $i -lt 30 ]; do sleep 0.1; i=$((i + 1)); done
check_not "a server removed by reload leaves the state file at once" in_file b
check "the ack just before the reload is in the file" \
    grep -q '"ack_comment":"noted"' "$T/state/state.json"
probed_stop
finish
