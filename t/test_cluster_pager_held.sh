#!/bin/sh
# t/test_cluster_pager_held.sh: an event held past CLAIM_S (90 s) by a
# pager that is alive and still sending goes to another pager, which does
# not send again the page the first one is sending. One probe node
# (quorum 1) on a 3-server NATS JetStream cluster, two pagers, a real SMTP
# server that takes 8 s to answer each mail: web's down event has $N
# contacts, so pager1 holds it for more than 2 minutes. At about 105 s
# (90 s held, then the 15 s ack wait) it goes to pager2, which finds a
# page "sending" by pager1: that pager's heartbeat is there and the
# record young, so pager2 leaves it (the event NAKed) instead of sending
# it too. Every page reaches the SMTP server once.
set -u
. "${srcdir:-.}/t/cluster.sh" || exit 1
cluster_setup iptables


N=16

# all_got: every contact's page of event $EV reached the SMTP server.
all_got() {
    local i=1
    while [ $i -le $N ]; do
        [ "$(got "$EV.c$i.email")" -ge 1 ] || return 1
        i=$((i + 1))
    done
}
# dups: the Message-IDs the SMTP server took more than once.
dups() { mids | sort | uniq -d; }

start_nginx || exit 1
start_smtpd 8 || exit 1
start_nats_cluster || exit 1
: >"$RULES"
start_node 1 1 || exit 1
PAGER_BODY=$(
    i=1 to=""
    while [ $i -le $N ]; do
        echo "contact c$i email c$i@example.net"
        to="${to:+$to,}c$i"
        i=$((i + 1))
    done
    echo "server web http://127.0.0.1:$NGINX_PORT/body notify $to"
)
start_pager 1 || exit 1
pass "3 nats-servers, a probe node and pager1 run"
check "the first state (unknown -> up) is in the stream" wait_events 1 30
web_goes down
if wait_for 30 grep -q "event $EV web: sending email page to c1 " \
    "$T/pager1.log"; then
    pass "pager1 took event $EV"
else
    failed "pager1 did not take event $EV" "$(tail -20 "$T/pager1.log")"
fi
start_pager 2 || exit 1
pass "pager2 runs"
if wait_for 200 all_got; then
    pass "each of the $N pages of event $EV reached the SMTP server"
else
    failed "$(mids | grep -c "^$EV\.") of $N pages" \
        "$(tail -20 "$T/pager1.log")"
fi
sleep 10
check "event $EV went to pager2 while pager1 was sending" \
    grep -q "event $EV web: email page to c[0-9]* is being sent by pager pager1" \
    "$T/pager2.log"
d=$(dups)
check "each page reached it once (twice: $(echo ${d:-none}))" [ -z "$d" ]
heal
stop_node 1
servers_stop pager1
servers_stop pager2
log_clean "the node and the pagers" "$T"/node*.log "$T"/pager*.log
finish
