#!/bin/sh
# t/test_cluster.sh: cluster mode end to end on loopback. A real 3-server
# NATS JetStream cluster (routes between them), a real nginx, and three
# tocsin-probed nodes with quorum 2, each running as a user of its own so
# that a firewall rule scoped to that user (iptables' owner match on
# nginx's port) cuts that node's view of the server, and only its.
# One node cut: its verdict says down, the cluster's state stays up and
# the events stream gets nothing. Two nodes cut: exactly one event, which
# names what each node saw. kill -9 of a nats-server while the server
# changes state for every node: still exactly one event for the change.
# tocsinctl status on any node shows the cluster's view: who answers,
# which nodes are alive, web's cluster state and each node's verdict.
# An ack on one node holds on every node, one whose own check sees the
# server up too, until the cluster has it up again.
set -u
. "${srcdir:-.}/t/cluster.sh" || exit 1
cluster_setup iptables


start_nginx || exit 1
start_nats_cluster || exit 1
pass "3 nats-servers with JetStream and routes run"

: >"$RULES"
for n in 1 2 3; do
    start_node "$n" || exit 1
done
pass "3 probe nodes started, each as its own user"

# The first verdicts (up) make the first cluster state: unknown -> up.
if wait_events 1 30; then
    pass "first cluster state published"
else
    failed "no event within 30 s" "$(tail -20 "$T/node1.log")"
fi
sleep 2
check "the stream holds exactly one event" [ "$(events)" = 1 ]
check "it says web is up" [ "$(event_field 1 new)" = up ]

# One node cut off: its verdict goes down, the cluster's does not.
cut_view 1
if wait_verdict node1 down 15; then
    pass "node1, cut off, says web is down"
else
    failed "node1's verdict is '$(verdict node1)'" "$(tail -20 "$T/node1.log")"
fi
check "node2 still says up" [ "$(verdict node2)" = up ]
sleep 4
check "one node cut off: no cluster event (quorum 2)" [ "$(events)" = 1 ]

# Two nodes cut off: one event.
cut_view 2
wait_verdict node2 down 15 || failed "node2's verdict is '$(verdict node2)'"
if wait_events 2 15; then
    pass "two nodes cut off: a cluster event"
else
    failed "no second event" "$(tail -20 "$T/node2.log")"
fi
sleep 4
check "exactly one event for it" [ "$(events)" = 2 ]
check "the event says up -> down" \
    [ "$(event_field 2 old) $(event_field 2 new)" = "up down" ]
check "the event carries node1's verdict (down)" \
    [ "$(event_field 2 nodes.node1.state)" = down ]
check "... node2's (down)" [ "$(event_field 2 nodes.node2.state)" = down ]
check "... node3's (up)" [ "$(event_field 2 nodes.node3.state)" = up ]
check "... and the quorum (2)" [ "$(event_field 2 quorum)" = 2 ]
natsdump TOCSIN_EVENTS >&2

# tocsinctl status on any node: the cluster's view. cview N: node N's
# `-j status` as "NODE ALIVE... | web CLUSTER NODE=STATE... | AGES OK".
cview() {
    "$TOCSINCTL" -s "$T/node$1/probed.sock" -j status | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
c = d["cluster"]
w = [s for s in d["servers"] if s["id"] == "web"][0]["cluster"]
n = w["nodes"]
print(c["node"], " ".join(c["alive"]), "|", "web", w["state"],
      " ".join("%s=%s" % (k, n[k]["state"]) for k in sorted(n)), "|",
      all(n[k]["age_s"] >= 0 and n[k]["alive"] for k in n),
      all(isinstance(n[k]["latency_ms"], (int, float)) for k in n
          if n[k]["state"] == "up"))'
}
v=$(cview 3)
check "node3's -j status: node3 answers, 3 nodes alive, web down for the cluster, each node's verdict ($v)" \
    [ "$v" = "node3 node1 node2 node3 | web down node1=down node2=down node3=up | True True" ]
check "node1's says the same but who answers" \
    [ "$(cview 1)" = "node1 node1 node2 node3 | web down node1=down node2=down node3=up | True True" ]
"$TOCSINCTL" -s "$T/node2/probed.sock" status >"$T/table" 2>&1
cat "$T/table" >&2
check "node2's table: who answers and who is alive" \
    grep -q "^cluster: node2 answers; alive: node1, node2, node3$" "$T/table"
check "... the cluster's state of web and node1's verdict" \
    grep -qE "^web +down +node1 +down +[-0-9. ms]+ +[0-9]+s ago$" "$T/table"
check "... node3's verdict" grep -qE "^ +node3 +up +[0-9.]+ ms +[0-9]+s ago$" \
    "$T/table"

# An ack on node1 holds on node3 too, though node3's own check still sees
# web up: it acknowledges the cluster's problem. It goes with the problem.
check "ack on node1" nctl 1 ack web on it
check "node3, which sees web up, has node1's ack" \
    wait_for 15 sfield_is 3 acked true
check "... with its comment" sfield_is 3 ack_comment '"on it"'
check "... and its own state is up" sfield_is 3 state '"up"'
# node1 sees web up again while node2 and node3 have it down: node1's
# own state forgets the ack, as a server that came back does, and the
# cluster's ack (its key is there) holds on.
cut_view 3
wait_verdict node3 down 15 || failed "node3's verdict is '$(verdict node3)'"
uncut_view 1
check "node1's view whole again: its verdict says up" wait_verdict node1 up 15
check "... the cluster still has web down" [ "$(cstate web)" = down ]
check "... and node1 still has the cluster's ack" sfield_is 1 acked true

heal
wait_events 3 20 || failed "no recovery event"
sleep 3
check "healed: exactly one recovery event" [ "$(events)" = 3 ]
check "it says down -> up" \
    [ "$(event_field 3 old) $(event_field 3 new)" = "down up" ]
check "web up for the cluster: node3's ack goes" \
    wait_for 15 sfield_is 3 acked false

# kill -9 of a nats-server while web goes down for every node.
kill -KILL "$(servers_pid nats1)"
cut_view
if wait_events 4 30; then
    pass "nats1 killed: the change still makes an event"
else
    failed "no event with nats1 dead" "$(tail -30 "$T/node3.log")"
fi
sleep 5
check "exactly one event for it, though 3 nodes publish it" \
    [ "$(events)" = 4 ]
check "it says up -> down" \
    [ "$(event_field 4 old) $(event_field 4 new)" = "up down" ]
heal
servers_stop nats1
start_nats 1 || failed "nats1 did not start again"
wait_events 5 30 || failed "no recovery event after nats1 came back"
sleep 3
check "nats1 back: exactly one recovery event" [ "$(events)" = 5 ]
natsdump TOCSIN_EVENTS | "$PY" -c '
import json, sys
for line in sys.stdin:
    seq, d = line.split(" ", 1)
    d = json.loads(d)
    print("#", seq, d["old"], "->", d["new"], "by", d["by"],
          {n: v["state"] for n, v in d["nodes"].items()})' >&2

for n in 1 2 3; do
    stop_node "$n"
    clean_log "node$n"
done
finish
