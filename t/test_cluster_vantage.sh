#!/bin/sh
# t/test_cluster_vantage.sh: `vantage NODE,...`. Three probe nodes on a
# 3-server NATS JetStream cluster, no `set quorum`; server v (nginx) has
# `vantage node1,node2`: verdicts of v come from exactly node1 and node2,
# node3 never checks it (0 checks in its status, no v.node3 key). v's
# quorum is a majority of its 2 nodes, so node1 alone seeing it down makes
# no event of v; node1 and node2 make one, naming only them. Server c
# depends on v and fails: node3, which never checks v, still judges c
# (its failure does not wait for a check of v that never comes).
set -u
. "${srcdir:-.}/t/cluster.sh" || exit 1
cluster_setup iptables


# vkeys: the verdict keys of v, sorted.
vkeys() {
    natsdump -k tocsin_verdicts 2>/dev/null | cut -d' ' -f1 | grep '^v\.' |
        sort | tr '\n' ' '
}
# vstate NODE: that node's verdict of v.
vstate() {
    natsdump -k tocsin_verdicts 2>/dev/null |
        sed -n "s/^v\.$1 .*\"state\":\"\([a-z]*\)\".*/\1/p"
}
# vchecks N: node N's count of checks of v (its status).
vchecks() {
    "$TOCSINCTL" -s "$T/node$1/probed.sock" -j status | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
for s in d if isinstance(d, list) else d["servers"]:
    if s["id"] == "v":
        print(s["checks"])
'
}
# cverdict NODE: that node's verdict of c.
cverdict() {
    natsdump -k tocsin_verdicts 2>/dev/null |
        sed -n "s/^c\.$1 .*\"state\":\"\([a-z]*\)\".*/\1/p"
}
# vfield N FIELD: FIELD of v's Nth event ("nodes": their names); vevents:
# how many events of v the stream holds.
vfield() {
    natsdump TOCSIN_EVENTS | "$PY" -c '
import json, sys
ev = [json.loads(l.split(" ", 1)[1]) for l in sys.stdin if l.strip()]
ev = [d for d in ev if d["id"] == "v"]
if sys.argv[1] == "0":
    print(len(ev))
else:
    v = ev[int(sys.argv[1]) - 1][sys.argv[2]]
    print(" ".join(sorted(v)) if isinstance(v, dict) else v)
' "$1" "${2:-}"
}
vevents() {
    vfield 0
}

start_nginx || exit 1
start_nats_cluster || exit 1
: >"$RULES"
NODE_EXTRA="server v http://127.0.0.1:$NGINX_PORT/body interval 1s timeout 1s retries 1 retry-interval 1s vantage node1,node2
server c tcp://127.0.0.1:1 depends-on v interval 1s timeout 1s retries 1 retry-interval 1s"
for n in 1 2 3; do
    start_node "$n" - || exit 1
done
pass "3 nats-servers and 3 probe nodes run"
i=0
while [ "$(vkeys)" != "v.node1 v.node2 " ] && [ $i -lt 100 ]; do
    sleep 0.2
    i=$((i + 1))
done
check "v has verdicts from node1 and node2" [ "$(vkeys)" = "v.node1 v.node2 " ]
wait_verdict node3 up 15 || failed "node3's verdict of web is '$(verdict node3)'"
sleep 3		# node3 checked web several times meanwhile
check "node3 never puts a verdict of v" [ "$(vkeys)" = "v.node1 v.node2 " ]
c1=$(vchecks 1) c3=$(vchecks 3)
check "node1 checks v ($c1 times)" [ "${c1:-0}" -gt 2 ]
check "node3 never checks v" [ "$c3" = 0 ]
# c (nothing listens on its port) depends on v: a failure of c waits for
# a fresh check of v, on the nodes that check v only
check "node3 judges c, whose parent it never checks: its verdict is down" \
    until_says 20 down cverdict node3
check "... as node1's is" until_says 20 down cverdict node1
if wait_events 2 15 && [ "$(vevents)" = 1 ]; then
    pass "v's first cluster state published once"
else
    failed "v's events: $(vevents)" "$(natsdump TOCSIN_EVENTS)"
fi
check "... naming node1 and node2 only" [ "$(vfield 1 nodes)" = "node1 node2" ]
check "... with quorum 2 (a majority of v's 2 nodes)" [ "$(vfield 1 quorum)" = 2 ]

# quorum a majority of v's 2 nodes: node1 alone is no quorum
cut_view 1
i=0
while [ "$(vstate node1)" != down ] && [ $i -lt 75 ]; do
    sleep 0.2
    i=$((i + 1))
done
if [ "$(vstate node1)" = down ]; then
    pass "node1, cut off, says v is down"
else
    failed "node1's verdict of v is '$(vstate node1)'" "$(tail -20 "$T/node1.log")"
fi
sleep 5
check "node1 alone: no event of v (its quorum is 2)" [ "$(vevents)" = 1 ]
cut_view 2
i=0
while [ "$(vevents)" -lt 2 ] && [ $i -lt 75 ]; do
    sleep 0.2
    i=$((i + 1))
done
check "node1 and node2: an event of v" [ "$(vevents)" = 2 ]
check "... up -> down" [ "$(vfield 2 old) $(vfield 2 new)" = "up down" ]
check "node3 still never checked v" [ "$(vchecks 3)" = 0 ]
check "... nor put a verdict of it" [ "$(vkeys)" = "v.node1 v.node2 " ]
heal

for n in 1 2 3; do
    stop_node "$n"
    clean_log "node$n"
done
finish
