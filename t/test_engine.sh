#!/bin/bash
# t/test_engine.sh: the engine's timing and life, each seen directly rather
# than through a race: a soft failure is checked again at retry-interval;
# a check's own timeout ends it even when curl's would come later; a
# reload that drops servers with checks in flight frees them (the
# sanitizer build fails probed_stop on any leak).
set -u
. "${srcdir:-.}/t/servers.sh" || exit 1
. "${srcdir:-.}/t/probed.sh" || exit 1
servers_trap

start_badserver silent || exit 1
CLOSED=$(servers_port)
H=127.0.0.1

# checks ID: how many results the server has seen (0 when unknown).
checks() {
    local v
    v=$(field "$1" checks)
    echo "${v:-0}"
}

conf() { # conf EXTRA...: the config, with the extra server lines
    {
        echo "set state-dir $T/state"
        echo "set interval 60s"
        echo "set timeout 1s"
        echo "set max-per-host 0"
        echo "set archives off"
        echo "server retrying http://$H:$CLOSED/ retries 10 retry-interval 1s"
        echo "server hung http://$H:$BAD_SILENT_PORT/"
        for l in "$@"; do echo "$l"; done
    } >"$T/probed.conf"
}

drops=""
for i in $(seq 1 20); do
    drops="$drops|server drop$i http://$H:$BAD_SILENT_PORT/ interval 1s timeout 30s"
done
IFS='|' read -r -a droplines <<<"${drops#|}"
conf "${droplines[@]}"
probed_start "$T/probed.conf" || exit 1

# retry_interval_paces_a_soft_failure: interval 60 s, retry-interval 1 s,
# 10 retries: in 5.5 s a failing server is checked about 5 times, not once
# (interval) and not in a loop.
sleep 5.5
n=$(checks retrying)
if [ "$n" -ge 4 ] && [ "$n" -le 7 ]; then
    pass "soft failure rechecked at retry-interval ($n checks in 5.5 s)"
else
    failed "soft failure checked $n times in 5.5 s, expected 4..7"
fi
assert_field retrying state_type soft

# probe_deadline_is_the_checks_own_timeout: curl's own timeout is set a
# second past the check's; the engine's deadline must end it at 1 s.
wait_field hung state down 5 || true
assert_match hung message "^timeout after 1s waiting for"
lat=$(field hung latency_ms)
if "$PY" -c "import sys; sys.exit(0 if 900 <= float('$lat') < 1500 else 1)"; then
    pass "hung check ended by its own 1 s timeout (latency $lat ms)"
else
    failed "hung check's latency is $lat ms, expected about 1000"
fi

# reload_drops_servers_with_checks_in_flight: 20 servers hang for 30 s;
# reloads drop and add them while their checks run, and every dropped
# check is freed (at the latest at exit).
for r in 1 2 3; do
    conf
    ctl reload >/dev/null || failed "reload $r (drop) refused"
    sleep 0.3
    conf "${droplines[@]}"
    ctl reload >/dev/null || failed "reload $r (add) refused"
    sleep 1.5
done
running=$(ctl -j stats | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
print(d.get("stats", d)["running"])')
if [ "$running" -ge 20 ]; then
    pass "dropped servers' checks still in flight at exit ($running running)"
else
    failed "only $running checks in flight; the reload test needs 20"
fi
conf
ctl reload >/dev/null || failed "last reload refused"
finish
