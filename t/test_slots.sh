#!/bin/bash
# t/test_slots.sh: the per-address limit (max-per-host, 8 by default)
# spares a server without letting hung sites starve their neighbours:
# 200 healthy sites (nginx) and 200 hanging ones (t/badserver silent) on
# one address, every 2 s, default limits: every healthy site is checked
# about every interval. Where no check on an address is healthy, the
# limit still holds: hung checks keep their slots and the rest wait.
set -u
. "${srcdir:-.}/t/servers.sh" || exit 1
. "${srcdir:-.}/t/probed.sh" || exit 1
servers_trap

start_nginx || exit 1
start_badserver silent || exit 1
H=127.0.0.1

# stat KEY: one number from `tocsinctl -j stats`.
stat() {
    ctl -j stats | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
print(d.get("stats", d)[sys.argv[1]])' "$1"
}

# healthy_sites_keep_their_turn_beside_hung_ones
{
    echo "set state-dir $T/state"
    echo "set interval 2s"
    echo "set archives off"
    for i in $(seq 1 200); do
        echo "server ok$i http://$H:$NGINX_PORT/health"
        echo "server hung$i http://$H:$BAD_SILENT_PORT/"
    done
} >"$T/probed.conf"
probed_start "$T/probed.conf" || exit 1
sleep 14
ctl -j status >"$T/status.json" || failed "status"
"$PY" - "$T/status.json" >"$T/counts" <<'PYEOF'
import json, sys
d = json.load(open(sys.argv[1]))
if isinstance(d, dict):
    d = d.get("servers", d.get("status", []))
ok = [s["checks"] for s in d if s["id"].startswith("ok")]
hung = [s["checks"] for s in d if s["id"].startswith("hung")]
print(len(ok), min(ok) if ok else 0, len(hung), min(hung) if hung else 0)
PYEOF
read -r nok minok nhung minhung <"$T/counts"
if [ "$nok" -eq 200 ] && [ "$minok" -ge 4 ]; then
    pass "every healthy site checked at least 4 times in 14 s (min $minok)"
else
    failed "$nok healthy sites, the least checked $minok times in 14 s" \
        "(expected 200, at least 4)"
fi
if [ "$nhung" -eq 200 ] && [ "$minhung" -ge 1 ]; then
    pass "every hanging site checked too (min $minhung)"
else
    failed "$nhung hanging sites, the least checked $minhung times"
fi
probed_stop

# per_host_limit_holds_for_hung_checks: 20 hanging sites alone on an
# address: 8 run (the default limit), 12 wait.
{
    echo "set state-dir $T/state2"
    echo "set interval 2s"
    echo "set archives off"
    for i in $(seq 1 20); do
        echo "server hung$i http://$H:$BAD_SILENT_PORT/"
    done
} >"$T/probed2.conf"
probed_start "$T/probed2.conf" || exit 1
sleep 3
running=$(stat running)
pending=$(stat pending)
if [ "$running" -eq 8 ] && [ "$pending" -eq 12 ]; then
    pass "8 hung checks run on one address, 12 wait"
else
    failed "$running running, $pending pending; expected 8 and 12"
fi
finish
