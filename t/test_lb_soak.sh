#!/bin/bash
# t/test_lb_soak.sh: tocsin-lb under steady load while its world churns.
# Two loops (lb-threads 2); an http farm over three nginx and a tcp farm
# over two of them; no probed to ask, so only its own traffic judges.
# For LB_SOAK_SECONDS (default 8; the long form is a few minutes or
# more), at once: HTTP keep-alive and HTTP close clients on the http farm,
# one-request connections through the tcp farm; b3 (only in the http farm)
# killed and started again every 2 s; SIGHUP every 3 s. Every request of
# every client is answered (a GET that met the killed member is retried on
# another); each reload is logged; once the clients are gone tocsin-lb
# holds no request queued or in flight, no connection from a client, and
# its count of requests is at least what the clients had answered. Its
# resident size is sampled each second; the long form (120 s or more, a
# build without AddressSanitizer, whose quarantine grows by design) checks
# that the last quarter grew less than a tenth over the first's.
set -u
. "${srcdir:-.}/t/servers.sh" || exit 1
. "${srcdir:-.}/t/probed.sh" || exit 1
servers_trap
. "${srcdir:-.}/t/lb.sh" || exit 1

SECS=${LB_SOAK_SECONDS:-8}
W=$(servers_port) P=$(servers_port)
H=127.0.0.1
start_lb_backends 3 || exit 1
cat >"$T/lb.conf" <<CONF
set state-dir $T/state
set control $T/state/none.sock
set lb-threads 2
farm web {
    listen $H:$W http
    server b1 http://$H:$LB_B1_PORT/health
    server b2 http://$H:$LB_B2_PORT/health
    server b3 http://$H:$LB_B3_PORT/health
}
farm relay {
    listen $H:$P tcp
    server t1 http://$H:$LB_B1_PORT/health
    server t2 http://$H:$LB_B2_PORT/health
}
CONF
lb_start "$T/lb.conf" || exit 1

# rss: tocsin-lb's resident size in KiB.
rss() {
    awk '/^VmRSS:/ {print $2}' "/proc/$LB_PID/status" 2>/dev/null
}

N=100000000
$LBCLIENT "$W" $N 8 --keepalive --duration "$SECS" >"$T/ka.json" &
ka=$!
$LBCLIENT "$W" $N 4 --duration "$SECS" >"$T/close.json" &
cl=$!
$LBCLIENT "$P" $N 4 --duration "$SECS" >"$T/tcp.json" &
tc=$!
: >"$T/rss"
kills=0 hups=0 t=0
end=$((SECONDS + SECS))
while [ $SECONDS -lt $end ]; do
    sleep 1
    t=$((t + 1))
    rss >>"$T/rss"
    if [ $((t % 2)) = 0 ]; then
        if servers_running lb_b3; then
            servers_stop lb_b3 KILL >/dev/null
            kills=$((kills + 1))
        else
            start_lb_backends 3 >/dev/null || exit 1
        fi
    fi
    if [ $((t % 3)) = 0 ]; then
        kill -HUP "$LB_PID"
        hups=$((hups + 1))
    fi
done
wait "$ka" "$cl" "$tc"
start_lb_backends 3 >/dev/null || exit 1

ka=$(cat "$T/ka.json") cl=$(cat "$T/close.json") tc=$(cat "$T/tcp.json")
echo "# keep-alive $ka" >&2
echo "# close $cl" >&2
echo "# tcp $tc" >&2
check_json "http keep-alive for ${SECS}s, b3 killed $kills times, $hups reloads: every request answered" \
    "$ka" 'd["failed"] == 0 and d["ok"] > 0'
check_json "http close, the same: every request answered" \
    "$cl" 'd["failed"] == 0 and d["ok"] > 0'
check_json "tcp relay, the same reloads: every request answered" \
    "$tc" 'd["failed"] == 0 and d["ok"] > 0'
if [ "$kills" -ge 1 ]; then
    b3=$(jq_ "$ka" 'd["by"].get("b3", 0)')
    [ "$b3" -gt 0 ] && pass "b3 answered keep-alive requests ($b3)" ||
        failed "b3 answered no keep-alive request: $ka"
fi

# Every reload was made and logged, none failed.
i=0
while [ $i -lt 50 ]; do
    [ "$(grep -c 'reloaded:' "$T/lb.log")" -ge "$hups" ] && break
    sleep 0.1
    i=$((i + 1))
done
n=$(grep -c 'reloaded:' "$T/lb.log")
[ "$n" = "$hups" ] && ! grep -q 'reload failed' "$T/lb.log" &&
    pass "$hups SIGHUPs, $n reloads logged, none failed" ||
    failed "$hups SIGHUPs, $n reloads logged" \
        "$(grep 'reload' "$T/lb.log" | head -3)"

# Once the clients are gone: nothing held.
held='all(f["queued"] == 0 and all(s["inflight"] == 0 for s in f["servers"]) for f in d["farms"])'
i=0
while [ $i -lt 50 ]; do
    [ "$(jq_ "$(lbstat)" "$held")" = True ] && break
    sleep 0.1
    i=$((i + 1))
done
check_json "the clients gone: no request queued or in flight" \
    "$(lbstat)" "$held"
est=$("$PY" - "$W" "$P" <<'PYEOF'
import sys
ports = {int(p) for p in sys.argv[1:]}
n = 0
for line in open("/proc/net/tcp"):
    f = line.split()
    if f[0] == "sl":
        continue
    if int(f[1].split(":")[1], 16) in ports and f[3] == "01":
        n += 1
print(n)
PYEOF
)
[ "$est" = 0 ] && pass "no connection from a client is left open" ||
    failed "$est connections to the listeners are still established"
served=$(jq_ "$ka" 'd["ok"]')
served=$((served + $(jq_ "$cl" 'd["ok"]')))
check_json "the http farm counted at least the $served requests answered" \
    "$(lbstat)" "sum(s['requests'] for s in $(farmq web)['servers']) >= $served"

# Resident size: reported always, judged in the long form.
"$PY" - "$T/rss" "$SECS" "$LB" <<'PYEOF' >&2
import sys
v = [int(x) for x in open(sys.argv[1]) if x.strip()]
q = max(1, len(v) // 4)
print("# tocsin-lb resident KiB: first quarter max %d, last quarter max %d, "
      "%d samples over %s s" % (max(v[:q]), max(v[-q:]), len(v), sys.argv[2]))
PYEOF
if [ "$SECS" -ge 120 ] && ! ldd "$LB" 2>/dev/null | grep -q libasan; then
    grow=$("$PY" -c '
import sys
v = [int(x) for x in open(sys.argv[1]) if x.strip()]
q = max(1, len(v) // 4)
print("ok" if max(v[-q:]) <= max(v[:q]) * 1.1 else
      "%d KiB then %d KiB" % (max(v[:q]), max(v[-q:])))' "$T/rss")
    [ "$grow" = ok ] &&
        pass "resident size: the last quarter within a tenth of the first" ||
        failed "resident size grew: $grow"
fi
if kill -0 "$LB_PID" 2>/dev/null; then pass "tocsin-lb still runs"
else failed "tocsin-lb died"; fi
lb_stop
finish
