#!/bin/bash
# t/test_exec_checks.sh: exec checks, second pass. A plugin's UNKNOWN is
# the state "unknown" (not down), its long output is kept (capped) and
# shown by the status JSON; a plugin that exits while something it left
# (gone to a session of its own with setsid) holds its output ends its
# check at its exit, and the leftover is killed and counted. Failures of
# mixed kinds count together towards retries, and mixed successes towards
# rise: a plugin alternating exit 2 and 3 goes hard and is spooled, one
# alternating 0 and 1 after a hard down is up again.
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
# Alternates exit 2 and 3, from a counter in a file.
cat >"$T/crit_unknown.sh" <<PLUG
#!/bin/sh
n=\$(cat "$T/crit_unknown.n" 2>/dev/null || echo 0)
n=\$((n + 1))
echo \$n >"$T/crit_unknown.n"
if [ \$((n % 2)) -eq 1 ]; then echo "CRITICAL: \$n"; exit 2; fi
echo "UNKNOWN: \$n"
exit 3
PLUG
# Exits 2 three times (hard down), then alternates 0 and 1.
cat >"$T/ok_warning.sh" <<PLUG
#!/bin/sh
n=\$(cat "$T/ok_warning.n" 2>/dev/null || echo 0)
n=\$((n + 1))
echo \$n >"$T/ok_warning.n"
if [ \$n -le 3 ]; then echo "CRITICAL: \$n"; exit 2; fi
if [ \$((n % 2)) -eq 0 ]; then echo "OK: \$n"; exit 0; fi
echo "WARNING: \$n"
exit 1
PLUG
chmod 755 "$T/unknown.sh" "$T/bigtext.sh" "$T/leaver.sh" \
    "$T/crit_unknown.sh" "$T/ok_warning.sh"

cat >"$T/probed.conf" <<CONF
set state-dir $T/state
set interval 2s
set timeout 5s
set retries 1
set retry-interval 1s
server unknown exec "$T/unknown.sh"
server bigtext exec "$T/bigtext.sh"
server leaver exec "$T/leaver.sh"
server critunk exec "$T/crit_unknown.sh" interval 1s retries 3 rise 1
server okwarn exec "$T/ok_warning.sh" interval 1s retries 3 rise 3
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
# wait_hard ID STATES SECONDS: poll until the server is hard in one of
# STATES (a regex) after a check (a server not checked yet is hard
# unknown); 1 when it never was.
wait_hard() {
    local left=$(($3 * 4))
    while [ "$left" -gt 0 ]; do
        ctl -j status "$1" 2>/dev/null | "$PY" -c '
import json, re, sys
d = json.load(sys.stdin)
d = d[0] if isinstance(d, list) else d
sys.exit(0 if d.get("checks", 0) > 0 and d.get("state_type") == "hard"
    and re.fullmatch(sys.argv[1], d.get("state", "")) else 1)' "$2" &&
            return 0
        sleep 0.25
        left=$((left - 1))
    done
    return 1
}

# mixed_failures_count_towards_retries: critical, unknown, critical is 3
# failures in a row: hard down at the 3rd result (then hard unknown at
# the 4th, better than down with rise 1), and spooled. Counting exact
# states, it stayed soft for ever and was never spooled.
if wait_hard critunk 'down|unknown' 10; then
    pass "critical/unknown alternating went hard ($(field critunk state))"
else
    failed "critical/unknown alternating is $(field critunk state)" \
        "$(field critunk state_type) after $(field critunk checks) checks"
fi
if grep -l '"id":"critunk"' "$T/state/spool/"*.json 2>/dev/null |
    xargs -r grep -l '"new":"down"' | grep -q .; then
    pass "critunk's hard down is spooled"
else
    failed "no spooled event with new state down for critunk"
fi

# mixed_successes_count_towards_rise: critical 3 times (hard down), then
# ok, warning, ok is 3 results better than down in a row: up again with
# rise 3, at the 6th result, and both changes are spooled. (Then warning,
# ok, ... keeps it up: ok ends each run of warnings.)
if wait_hard okwarn up 15; then
    pass "ok/warning alternating after down recovered to up" \
        "($(field okwarn checks) checks)"
else
    failed "ok/warning alternating is still $(field okwarn state)" \
        "$(field okwarn state_type) after $(field okwarn checks) checks"
fi
v=$("$PY" -c '
import glob, json, sys
ev = [json.load(open(f)) for f in glob.glob(sys.argv[1] + "/*.json")]
for e in sorted(ev, key=lambda e: e["seq"]):
    if e.get("id") == "okwarn":
        print("%s>%s" % (e["old"], e["new"]), end=" ")' "$T/state/spool")
if [ "$v" = "unknown>down down>up " ]; then
    pass "okwarn's events: $v"
else
    failed "okwarn's events are '$v', expected unknown>down down>up"
fi
finish
