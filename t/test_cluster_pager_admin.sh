#!/bin/sh
# t/test_cluster_pager_admin.sh: set admin in cluster mode (bucket
# tocsin_watchdog): a real 3-server NATS cluster, three probe nodes
# (quorum 2), two pagers with `set quorum 2` and `set admin root`, a real
# SMTP server.
#   1. nodes 2 and 3 killed -9: one node alive, fewer than set quorum:
#      once their heartbeats are 10 s old and the grace (twice the
#      longest interval, 10 s at least: interval 1s here) has passed,
#      root gets "monitoring has stopped" once across both pagers
#      (event 0, round 1: Message-ID 0.root.email.r1).
#   2. node 2 back: two alive, "monitoring is back" once (round 2).
#   3. node 3 back too: nothing more.
# No count the pagers logged is of more than the three nodes: a
# heartbeat that changed while a pager listed tocsin_nodes was listed
# twice, and counted so (1 of 3 alive seen as 2 of 4, "back"; 2 of 3 as
# 3 of 4).
set -u
. "${srcdir:-.}/t/cluster.sh" || exit 1
cluster_setup

has() { [ "$(got "$1")" -ge 1 ]; }
# subject ID: the subject of the mail with Message-ID ID.
subject() {
    "$PY" - "$T/smtpd/mail.log" "$1" <<'PY'
import email, json, sys
for line in open(sys.argv[1]):
    d = json.loads(line)
    m = email.message_from_string(d["data"])
    if m["Message-ID"].startswith("<%s@" % sys.argv[2]):
        print(m["Subject"])
PY
}
# subject_is ID RE: that mail's subject matches RE (grep).
subject_is() { subject "$1" | grep -q "$2"; }
# miscounts: the counts of probe nodes the pagers logged of more than
# the three, one a line (fewer is right while a node has not put its
# first heartbeat).
miscounts() {
    cat "$T"/pager*.log | grep -o "[0-9]* of [0-9]* probe nodes" |
        grep -v " of [0-3] probe nodes" | sort -u
}

start_nginx || exit 1
start_smtpd 1 || exit 1
start_probing || exit 1
PAGER_EXTRA="set quorum 2
set admin root"
PAGER_BODY="contact ops email ops@example.net
contact root email root@example.net
server web http://127.0.0.1:$NGINX_PORT/body interval 1s notify ops"
export PAGER_EXTRA PAGER_BODY
start_pager 1 && start_pager 2 || exit 1
pass "3 nats-servers, 3 probe nodes, 2 pagers run"
check "tocsin-pager -t takes set admin with set cluster" \
    "$PAGER" -t -c "$T/pager1.conf"
sleep 5
check "no admin page while the nodes are alive" [ "$(mids | grep -c '^0\.')" = 0 ]

# 1. Two of three nodes gone.
kill9 node2
kill9 node3
check "monitoring has stopped: root is paged" \
    wait_for 60 has 0.root.email.r1
sleep 5     # five more looks of each pager: a second copy would be there
check "... once ($(mids | tr '\n' ' '))" [ "$(got 0.root.email.r1)" = 1 ]
check "... saying so ($(subject 0.root.email.r1))" subject_is \
    0.root.email.r1 "^\[tocsin\] DOWN tocsin-probed: monitoring has stopped: 1 of 3 probe nodes alive, set quorum 2 needs more\$"

# 2. One back: two alive.
start_node 2 || exit 1
check "monitoring is back: root is paged again" \
    wait_for 60 has 0.root.email.r2
sleep 5
check "... once" [ "$(got 0.root.email.r2)" = 1 ]
check "... saying so ($(subject 0.root.email.r2))" subject_is \
    0.root.email.r2 "^\[tocsin\] RECOVERED tocsin-probed.*monitoring is back: 2 of 3 probe nodes alive"

# 3. The last one back: nothing more.
start_node 3 || exit 1
sleep 8
check "nothing more for root ($(mids | tr '\n' ' '))" \
    [ "$(mids | grep -c '^0\.')" = 2 ]
check "one pager told each: one 'monitoring has stopped' line in all" \
    [ "$(cat "$T"/pager*.log | grep -c 'cluster: monitoring has stopped')" = 1 ]
check "each node counted once ($(miscounts | tr '\n' ' '))" [ -z "$(miscounts)" ]

stop_all
