#!/bin/sh
# t/test_cluster_restart.sh: a probe node started again says nothing of a
# server to the cluster before it checked it. Two probe nodes, set quorum
# 1, on a 3-server NATS JetStream cluster, watching app (every 30 s) and
# web: only node2 sees them down (its view cut), so the cluster has them
# down; node2 is killed -9, the fault cleared, and the cluster has them
# up again once node2 is dead (node1 alone). node2 started again (its
# state file says down; app's next check is up to 30 s away) makes no
# event: it put its old hard state again as a fresh verdict as soon as
# it joined the cluster, and its verdict left in the bucket counted
# again with its first heartbeat, so the cluster went down and up again,
# both paged. Its verdict left is deleted; its first one is up. A reload
# of node1 that changes set node and set cluster logs that each takes a
# restart.
set -u
. "${srcdir:-.}/t/cluster.sh" || exit 1
cluster_setup iptables


# vapp NODE: that node's verdict of app ("" when it has none).
vapp() {
    natsdump -k tocsin_verdicts 2>/dev/null |
        sed -n "s/^app\.$1 .*\"state\":\"\([a-z]*\)\".*/\1/p"
}
# v2time: the time of node2's verdict of app.
v2time() {
    natsdump -k tocsin_verdicts 2>/dev/null |
        sed -n 's/^app\.node2 .*"time":\([0-9]*\).*/\1/p'
}

start_nginx || exit 1
start_nats_cluster || exit 1
: >"$RULES"
NODE_EXTRA="server app http://127.0.0.1:$NGINX_PORT/body interval 30s timeout 1s retries 1 retry-interval 1s"
start_node 1 1 && start_node 2 1 || exit 1
pass "3 nats-servers and 2 probe nodes (quorum 1) run"
check "the cluster has app up" wait_cstate app up 60

cut_view 2
check "node2, cut off, says app is down" until_says 40 down vapp node2
check "the cluster has app down (quorum 1)" wait_cstate app down 30
check "... and web" wait_cstate web down 30
sleep 2		# node2's state file has them down
servers_stop node2 KILL
pass "node2 killed -9"
heal
if wait_cstate app up 40 && wait_cstate web up 10; then
    pass "node2 dead, the fault cleared: the cluster has app and web up"
else
    failed "the cluster has app $(cstate app)" "$(tail -20 "$T/node1.log")"
fi
n=$(events)
natsdump TOCSIN_EVENTS >&2

started=$(date +%s)
start_node 2 1 || exit 1
pass "node2 started again"
if wait_for 45 eval '[ "$(v2time)" -ge "$started" ]'; then
    pass "node2 puts a verdict of app after its start"
else
    failed "node2's verdict of app is not fresh" "$(tail -20 "$T/node2.log")"
fi
check "... and it says up" [ "$(vapp node2)" = up ]
check "node2 deleted its verdict of app it left" \
    grep -q "app: the verdict this node left is deleted" "$T/node2.log"
sleep 4
natsdump TOCSIN_EVENTS >&2
check "node2's start made no event ($n before, $(events) now)" \
    [ "$(events)" = "$n" ]
check "the cluster has app up" [ "$(cstate app)" = up ]
check "... and web" [ "$(cstate web)" = up ]

# A reload that changes set node and set cluster takes neither: each is
# logged as needing a restart, and node1 goes on as it joined.
sed -e 's/^set node node1$/set node renamed/' \
    -e "s|^set cluster .*|set cluster nats://127.0.0.1:$NATS1_PORT|" \
    "$T/node1.conf" >"$T/node1.conf.new" && mv "$T/node1.conf.new" "$T/node1.conf"
kill -HUP "$(servers_pid node1)"
check "the reload says set node takes a restart" wait_for 10 grep -q \
    "reload: set node changed: it takes a restart" "$T/node1.log"
check "... and set cluster" grep -q \
    "reload: set cluster changed: it takes a restart" "$T/node1.log"
check "node1 still answers as node1" eval \
    'nctl 1 status | grep -q "^cluster: node1 answers"'
stop_node 1
stop_node 2
log_clean "the nodes" "$T"/node*.log
finish
