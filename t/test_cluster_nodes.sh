#!/bin/sh
# t/test_cluster_nodes.sh: node heartbeats (bucket tocsin_nodes). Three
# probe nodes, quorum 2, on a 3-server NATS JetStream cluster. node3 sees
# web down (its view cut), then is killed -9: its verdict "down" stays in
# tocsin_verdicts, stale. Once its heartbeat is older than the max age
# (10 s) it is dead, and its verdict no longer counts: node1 alone seeing
# web down makes no event (without heartbeats node1 + node3's stale
# verdict were a quorum); node1 and node2 together make exactly one, which
# names only the live nodes.
set -u
. "${srcdir:-.}/t/cluster.sh" || exit 1
cluster_setup iptables


# beats: the nodes with a heartbeat in tocsin_nodes, sorted.
beats() {
    natsdump -k tocsin_nodes 2>/dev/null | cut -d' ' -f1 | sort | tr '\n' ' '
}

start_nginx || exit 1
start_nats_cluster || exit 1
: >"$RULES"
for n in 1 2 3; do
    start_node "$n" || exit 1
done
pass "3 nats-servers and 3 probe nodes run"
if wait_events 1 30; then
    pass "first cluster state published"
else
    failed "no event within 30 s" "$(tail -20 "$T/node1.log")"
fi
i=0
while [ "$(beats)" != "node1 node2 node3 " ] && [ $i -lt 50 ]; do
    sleep 0.2
    i=$((i + 1))
done
check "each node puts a heartbeat" [ "$(beats)" = "node1 node2 node3 " ]

cut_view 3
if wait_verdict node3 down 15; then
    pass "node3, cut off, says web is down"
else
    failed "node3's verdict is '$(verdict node3)'" "$(tail -20 "$T/node3.log")"
fi
servers_stop node3 KILL
pass "node3 killed -9"
heal
check "node3's stale verdict stays in the bucket (down)" \
    [ "$(verdict node3)" = down ]
sleep 12	# node3's heartbeat now older than the max age (10 s)

cut_view 1
if wait_verdict node1 down 15; then
    pass "node1, cut off, says web is down"
else
    failed "node1's verdict is '$(verdict node1)'" "$(tail -20 "$T/node1.log")"
fi
sleep 6
check "node1 + node3's stale verdict: no event (node3 is dead)" \
    [ "$(events)" = 1 ]
check "node3's verdict is still down (it is its death that counts)" \
    [ "$(verdict node3)" = down ]

cut_view 2
wait_verdict node2 down 15 || failed "node2's verdict is '$(verdict node2)'"
if wait_events 2 15; then
    pass "node1 and node2 see web down: a cluster event (quorum 2)"
else
    failed "no second event" "$(tail -20 "$T/node2.log")"
fi
sleep 4
check "exactly one event for it" [ "$(events)" = 2 ]
check "it says up -> down" \
    [ "$(event_field 2 old) $(event_field 2 new)" = "up down" ]
check "... not dead node3" \
    [ "$(event_field 2 nodes.node3.state 2>/dev/null)" = "" ]
check "... with node2's verdict (down)" \
    [ "$(event_field 2 nodes.node2.state)" = down ]

# node3 back: alive again, its verdict counts and is named.
start_node 3 || exit 1
sleep 5
check "node3 back: its heartbeat is there" \
    [ "$(beats)" = "node1 node2 node3 " ]
heal
wait_events 3 20 || failed "no recovery event"
sleep 3
check "healed: exactly one recovery event" [ "$(events)" = 3 ]
check "it says down -> up" \
    [ "$(event_field 3 old) $(event_field 3 new)" = "down up" ]
check "it names node3 again (up)" \
    [ "$(event_field 3 nodes.node3.state)" = up ]

for n in 1 2 3; do
    stop_node "$n"
    clean_log "node$n"
done
finish
