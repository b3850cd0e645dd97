#!/bin/bash
# t/test_lb_more.sh: tocsin-lb's slow start, maxconn with its queue, its
# control socket's stats and lb-threads, before three real nginx on
# 127.0.0.1 with tocsin-probed watching them through the same config.
set -u
. "${srcdir:-.}/t/servers.sh" || exit 1
. "${srcdir:-.}/t/probed.sh" || exit 1
servers_trap

. "${srcdir:-.}/t/lb.sh" || exit 1

start_lb_backends 3 || exit 1
SRR=$(servers_port) SFA=$(servers_port)
B1=$LB_B1_PORT B2=$LB_B2_PORT B3=$LB_B3_PORT
H=127.0.0.1

# farm NAME ALGO PORT MODE [EXTRA LINE]
farm() {
    cat <<F
farm $1 {
    balance $2
    listen $H:$3 $4
    ${5:-}
    server b1 http://$H:$B1/health
    server b2 http://$H:$B2/health
    server b3 http://$H:$B3/health
}
F
}
{
    cat <<CONF
set state-dir $T/state
set interval 1s
set timeout 1s
set retries 1
set retry-interval 1s
CONF
    farm srr roundrobin "$SRR" tcp "slowstart 5s"
    farm sfa fastest "$SFA" http "slowstart 5s"
} >"$T/lb.conf"

probed_start "$T/lb.conf" || exit 1
lb_start "$T/lb.conf" || exit 1
for f in srr sfa; do
    for b in b1 b2 b3; do wait_field "$f/$b" state up 15; done
done

# --- slow start ------------------------------------------------------------
# share3 JSON: b3's share of the requests, in percent.
share3() {
    jq_ "$1" 'int(100 * d["by"].get("b3", 0) / max(1, d["ok"])) if d["failed"] == 0 else -1'
}
r=$($LBCLIENT "$SRR" 300 1)
s0=$(share3 "$r")
check "slowstart, at start nobody ramps: b3 has its third ($s0 %)" "$r" \
    'd["failed"] == 0 and d["by"].get("b3", 0) == 100'

# A member back from down, then one undrained: a small share at first,
# its full share once slowstart (5 s) is over, in both algorithms.
ramp() {    # FARM PORT HOW
    local r a b c
    r=$($LBCLIENT "$2" 300 4 --duration 0.7 ${4:-})
    a=$(share3 "$r")
    sleep 1.8
    r=$($LBCLIENT "$2" 300 4 --duration 1 ${4:-})
    b=$(share3 "$r")
    sleep 3.5
    r=$($LBCLIENT "$2" 600 4 ${4:-})
    c=$(share3 "$r")
    if [ "$a" -ge 0 ] && [ "$a" -le 12 ] && [ "$b" -le 30 ] &&
        [ "$c" -ge 20 ] && [ "$c" -gt $((a + 10)) ]; then
        pass "$1 b3 $3: ramps $a % -> $b % -> $c % of the requests"
    else
        failed "$1 b3 $3: shares $a % -> $b % -> $c % (want <= 12, then <= 30, then >= 20 and 10 more than at first)"
    fi
}
touch "$T/lb_b3/down"
expect_state srr/b3 down 10
rm -f "$T/lb_b3/down"
expect_state srr/b3 up 10
ramp roundrobin "$SRR" "back from down"
wait_field sfa/b3 state up 10
sleep 5
ctl drain sfa/b3 >/dev/null || failed "tocsinctl drain sfa/b3"
sleep 1
ctl enable sfa/b3 >/dev/null || failed "tocsinctl enable sfa/b3"
sleep 0.3
ramp fastest "$SFA" undrained --keepalive
if grep -q "srr/b3: slow start over 5000 ms" "$T/lb.log"; then
    pass "the ramp is logged"
else
    failed "no slow start in tocsin-lb's log"
fi

lb_stop
probed_stop
finish
