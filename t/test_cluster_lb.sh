#!/bin/sh
# t/test_cluster_lb.sh: a balancer in cluster mode reads the cluster's
# health, with no probe node of its own. A 3-server NATS cluster, two
# probe nodes (quorum 2) checking farm f's two nginx members, and
# tocsin-lb with `set cluster`, two loops (lb-threads 2) and no probed
# to watch. When b2's health page fails (its traffic still answers 200)
# the cluster marks f/b2 down in tocsin_states; 1 s later b2 gets no new
# request from either loop; back up, it takes traffic again. A drain made
# on node1 (tocsin_control) takes b2 out of both loops; enable on node2
# brings it back.
set -u
. "${srcdir:-.}/t/cluster.sh" || exit 1
. "${srcdir:-.}/t/lb.sh" || exit 1
trap 'rc=$?; lb_stop >/dev/null; (exit $rc); on_exit' EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

cluster_needs

# lbhits I: the balanced requests backend I logged (health checks are
# not logged).
lbhits() {
    grep -c ' GET / ' "$T/lb_b$1/access.log"
}

start_nginx || exit 1
start_lb_backends 2 || exit 1
start_nats_cluster || exit 1
B1=$LB_B1_PORT B2=$LB_B2_PORT LBP=$(servers_port)
NODE_EXTRA="farm f {
    interval 1s
    timeout 1s
    retries 1
    retry-interval 1s
    server b1 http://127.0.0.1:$B1/health
    server b2 http://127.0.0.1:$B2/health
}"
for n in 1 2; do
    start_node "$n" || exit 1
done
pass "3 nats-servers and 2 probe nodes run"

mkdir -p "$T/lb"
cat >"$T/lb.conf" <<CONF
set state-dir $T/lb
set cluster $NATS_URLS
set node lb1
set lb-threads 2
farm f {
    balance roundrobin
    listen 127.0.0.1:$LBP tcp
    server b1 http://127.0.0.1:$B1/health
    server b2 http://127.0.0.1:$B2/health
}
CONF
lb_start "$T/lb.conf" || exit 1
if wait_cstate f/b1 up 30 && wait_cstate f/b2 up 10; then
    pass "the cluster says f/b1 and f/b2 are up"
else
    failed "cluster states: $(natsdump -k tocsin_states)" "$(tail -20 "$T/node1.log")"
fi
check "each of tocsin-lb's 2 loops takes f/b2's state from the cluster" \
    until_says 10 2 grep -c "f/b2: up (cluster)" "$T/lb.log"
if grep -q "tocsin-probed" "$T/lb.log"; then
    failed "tocsin-lb watches a probed in cluster mode" "$(grep tocsin-probed "$T/lb.log")"
else
    pass "tocsin-lb watches no probed of its own"
fi
r=$($LBCLIENT "$LBP" 40 2)
check_json "both up: 40 requests over b1 and b2" "$r" \
    'd["failed"] == 0 and d["by"].get("b1", 0) >= 10 and d["by"].get("b2", 0) >= 10'

touch "$T/lb_b2/down"
if wait_cstate f/b2 down 20; then
    pass "b2's health fails: the cluster marks f/b2 down"
else
    failed "f/b2's cluster state is '$(cstate f/b2)'" "$(tail -20 "$T/node2.log")"
fi
sleep 1
n0=$(lbhits 2)
r=$($LBCLIENT "$LBP" 40 2)
n1=$(lbhits 2)
check_json "f/b2 down by the cluster: 40 requests, 0 failed, all to b1" "$r" \
    'd["failed"] == 0 and d["by"] == {"b1": 40}'
check "... and b2's log got no request ($n0 then $n1)" [ "$n0" = "$n1" ]

rm -f "$T/lb_b2/down"
if wait_cstate f/b2 up 20; then
    pass "b2 healthy: the cluster marks f/b2 up"
else
    failed "f/b2's cluster state is '$(cstate f/b2)'"
fi
sleep 1
r=$($LBCLIENT "$LBP" 40 2)
check_json "f/b2 up again: it takes traffic" "$r" \
    'd["failed"] == 0 and d["by"].get("b2", 0) > 0'

# A drain made on a probe node reaches the balancer through the cluster.
check "drain f/b2 on node1" nctl 1 drain f/b2
check "each of tocsin-lb's loops hears f/b2 drained from the cluster" \
    until_says 10 2 grep -c "f/b2: drained (cluster)" "$T/lb.log"
n0=$(lbhits 2)
r=$($LBCLIENT "$LBP" 40 2)
n1=$(lbhits 2)
check_json "f/b2 drained: 40 requests, 0 failed, all to b1" "$r" \
    'd["failed"] == 0 and d["by"] == {"b1": 40}'
check "... and b2's log got no request ($n0 then $n1)" [ "$n0" = "$n1" ]
check "enable f/b2 on node2" nctl 2 enable f/b2
check "each loop hears f/b2 no longer drained" \
    until_says 10 2 grep -c "f/b2: no longer drained (cluster)" "$T/lb.log"
r=$($LBCLIENT "$LBP" 60 2)
check_json "f/b2 enabled: it takes traffic again" "$r" \
    'd["failed"] == 0 and d["by"].get("b2", 0) > 0'

lb_stop
for n in 1 2; do
    stop_node "$n"
    clean_log "node$n"
done
finish
