#!/bin/bash
# t/test_lb_latency.sh: latency routing, after Linkerd's published
# experiment (11 backends, one held at 2 s for 30 s of a 60 s run,
# clients with a 1 s timeout: round robin about 95 % success, least
# loaded 99 %, peak EWMA 99.9 %), at loopback scale: tocsin-lb (http)
# before ten real nginx and one real server held at 2 s answers for the
# middle half of each run, one run per algorithm, an open keep-alive load
# of RATE requests a second (t/lbclient.py --rate: late requests catch up,
# as a fixed-rate load generator's do) from 64 clients with a 1 s timeout. `fastest` must reach 99.9 % success;
# roundrobin must fail some (else nothing was held and the test proves
# nothing); the rates of all three are printed.
#
# The short form (make check) runs 10 s per algorithm. The long form,
# Linkerd's 60 s with the server held for 30 s:
#     LB_LATENCY_SECONDS=60 make check TESTS=t/test_lb_latency.sh
set -u
. "${srcdir:-.}/t/servers.sh" || exit 1
. "${srcdir:-.}/t/probed.sh" || exit 1
servers_trap
. "${srcdir:-.}/t/lb.sh" || exit 1

SECS=${LB_LATENCY_SECONDS:-10}
NFAST=10
CONC=64
RATE=${LB_LATENCY_RATE:-400}
start_lb_backends $NFAST || exit 1
HELD=$(servers_port) RR=$(servers_port) LC=$(servers_port)
FAST=$(servers_port)
rm -f "$T/held.ms"
_srv_spawn held $SERVERS_ASUSER "$PY" "$SERVERS_TDIR/lbheld.py" "$HELD" \
    held "$T/held.ms" || exit 1
_srv_wait held "t:$HELD" || exit 1
H=127.0.0.1

# farm NAME ALGO PORT: the ten nginx and the held server.
farm() {
    echo "farm $1 {"
    echo "    balance $2"
    echo "    listen $H:$3 http"
    echo "    interval 1h"
    for i in $(seq 1 $NFAST); do
        echo "    server b$i http://$H:$(eval echo "\$LB_B${i}_PORT")/health"
    done
    echo "    server held http://$H:$HELD/health"
    echo "}"
}
{
    echo "set state-dir $T/state"
    echo "set timeout 5s"
    farm rr roundrobin "$RR"
    farm lc leastconn "$LC"
    farm fast fastest "$FAST"
} >"$T/lb.conf"
# interval 1h: probed spreads its first checks over the hour, so the
# servers stay unknown (usable) and only the balancer's own measures of
# the traffic count, as in Linkerd's experiment
probed_start "$T/lb.conf" || exit 1
lb_start "$T/lb.conf" || exit 1

# run PORT: $SECS s of load; the held server answers in 2 s from a
# quarter of it to three quarters. Prints the client's JSON.
run() {
    local q=$((SECS * 1000 / 4)) r
    (
        sleep "$(awk "BEGIN { print $q / 1000 }")"
        echo 2000 >"$T/held.ms"
        sleep "$(awk "BEGIN { print 2 * $q / 1000 }")"
        : >"$T/held.ms"
    ) &
    r=$($LBCLIENT "$1" 100000000 $CONC --keepalive --timeout 1 \
        --duration "$SECS" --rate "$RATE")
    wait $!
    : >"$T/held.ms"
    echo "$r"
}

# rate JSON: success in percent, two decimals.
rate() {
    jq_ "$1" '"%.2f" % (100.0 * d["ok"] / max(1, d["ok"] + d["failed"]))'
}

declare -A R
for a in rr:roundrobin lc:leastconn fast:fastest; do
    port=$(eval echo "\$$(echo "${a%%:*}" | tr a-z A-Z)")
    R[${a#*:}]=$(run "$port")
    # Let the held server's late answers and the lb's view settle.
    sleep 3
done
for a in roundrobin leastconn fastest; do
    echo "# $a: $(rate "${R[$a]}") % success in ${SECS} s: ${R[$a]}"
done
check_json "the load ran: roundrobin answered 80 % of $((RATE * SECS))" \
    "${R[roundrobin]}" "d['ok'] > 0.8 * $RATE * $SECS"
check_json "the held server hurt roundrobin (success under 99 %)" \
    "${R[roundrobin]}" 'd["ok"] < 0.99 * (d["ok"] + d["failed"])'
check_json "fastest: ≥ 99.9 % success ($(rate "${R[fastest]}") %)" \
    "${R[fastest]}" \
    "d['ok'] > 0.8 * $RATE * $SECS and d['failed'] <= 0.001 * (d['ok'] + d['failed'])"
check_json "fastest: the held server was used while fast" \
    "${R[fastest]}" 'd["by"].get("held", 0) > 0'

lb_stop
finish
