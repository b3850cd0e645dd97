#!/bin/bash
# t/test_exec_checks.sh: exec checks, second pass. A plugin's UNKNOWN is
# the state "unknown" (not down), its long output is kept (capped) and
# shown by the status JSON; a plugin that exits while something it left
# (gone to a session of its own with setsid) holds its output ends its
# check at its exit, and the leftover is killed and counted.
set -u
. "${srcdir:-.}/t/servers.sh" || exit 1
. "${srcdir:-.}/t/probed.sh" || exit 1
servers_trap
trap 'rc=$?; [ -z "${PROBED_PID:-}" ] || kill -TERM "$PROBED_PID" 2>/dev/null
(exit $rc); _srv_on_exit' EXIT

# Plugins: shell scripts run by execve through their #! line.
cat >"$T/unknown.sh" <<'PLUG'
#!/bin/sh
echo "UNKNOWN: cannot tell"
echo "detail line 2"
echo "detail line 3|extra=1"
echo "more perfdata"
exit 3
PLUG
cat >"$T/bigtext.sh" <<'PLUG'
#!/bin/sh
echo "OK: a lot of detail"
head -c 20000 /dev/zero | tr '\0' y
echo
exit 0
PLUG
# Leaves a grandchild in a session of its own holding stdout for 30 s,
# its pid in a file, then exits 0 at once.
cat >"$T/leaver.sh" <<PLUG
#!/bin/sh
rm -f "$T/leftover.pid"
/usr/bin/setsid /bin/sh -c 'echo \$\$ >"$T/leftover.pid.tmp"; mv "$T/leftover.pid.tmp" "$T/leftover.pid"; exec /bin/sleep 30' &
while [ ! -s "$T/leftover.pid" ]; do /bin/sleep 0.05; done
echo "OK: left something behind"
exit 0
PLUG
chmod 755 "$T/unknown.sh" "$T/bigtext.sh" "$T/leaver.sh"

cat >"$T/probed.conf" <<CONF
set state-dir $T/state
set interval 2s
set timeout 5s
set retries 1
set retry-interval 1s
server unknown exec "$T/unknown.sh"
server bigtext exec "$T/bigtext.sh"
server leaver exec "$T/leaver.sh"
CONF
probed_start "$T/probed.conf" || exit 1

# Not checked yet also reads "unknown": wait for the plugin's answer.
wait_field unknown message "UNKNOWN: cannot tell" 15
assert_match unknown message "^UNKNOWN: cannot tell$"
assert_field unknown state unknown
assert_field unknown state_type hard
assert_match unknown since "^[0-9]+$"
v=$(ctl -j status unknown | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
d = d[0] if isinstance(d, list) else d
print(repr(d.get("long_output")))')
if [ "$v" = "'detail line 2\\ndetail line 3'" ]; then
    pass "long output kept up to its perfdata: $v"
else
    failed "long output is $v"
fi
expect_state bigtext up
v=$(ctl -j status bigtext | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
d = d[0] if isinstance(d, list) else d
print(len(d.get("long_output") or ""))')
if [ "$v" = 4095 ]; then
    pass "long output capped at 4 KiB"
else
    failed "long output of 20000 bytes kept as $v bytes, expected 4095"
fi

# The leaver's check ends at its exit, well before the 5 s timeout.
expect_state leaver up 10
assert_match leaver message "^OK: left something behind$"
assert_match leaver latency_ms "^[0-9]{1,3}(\.[0-9]+)?$"
LEFT=$(cat "$T/leftover.pid" 2>/dev/null)
i=0
while [ -n "$LEFT" ] && kill -0 "$LEFT" 2>/dev/null && [ $i -lt 50 ]; do
    sleep 0.1
    i=$((i + 1))
done
if [ -n "$LEFT" ] && ! kill -0 "$LEFT" 2>/dev/null; then
    pass "the plugin's leftover (pid $LEFT, own session) was killed"
else
    failed "the plugin's leftover (pid '$LEFT') still runs"
    [ -z "$LEFT" ] || kill "$LEFT" 2>/dev/null
fi
v=$(ctl -j stats | "$PY" -c '
import json, sys
print(json.load(sys.stdin)["stats"]["exec_leftovers"])')
if [ "${v:-0}" -ge 1 ] 2>/dev/null; then
    pass "stats count the leftovers ($v)"
else
    failed "stats exec_leftovers is '$v'"
fi
finish
