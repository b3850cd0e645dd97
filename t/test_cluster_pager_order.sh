#!/bin/sh
# t/test_cluster_pager_order.sh: a server's problem and its recovery reach
# a contact in the order they happened, whichever pager takes which: an
# event waits while an earlier event of its server is not finished. One
# probe node (quorum 1) on a 3-server NATS JetStream cluster, a real SMTP
# server whose mail.log lists the mails in the order it took them.
#   1. Two pagers; the relay takes 8 s over its first mail. web goes
#      down; while the problem's mail to ops is in flight at one pager, web
#      comes up, and its event goes to the other: that one waits, and ops
#      gets DOWN, then RECOVERED (the recovery first without the order).
#   2. One pager; the relay answers its first mail 451 after 5 s. web
#      goes down, and up while that try lasts: the problem's page is
#      retried 5 s later, and the recovery waits for it (it went first,
#      and the problem after it, without the order).
set -u
. "${srcdir:-.}/t/cluster.sh" || exit 1
cluster_setup iptables

# sending SEQ: a pager is sending ops the page of event SEQ.
sending() {
    grep -q "event $1 web: sending email page to ops" "$T"/pager*.log
}
# both D U: the SMTP server took the pages of events D and U.
both() { [ "$(got "$1.ops.email")" -ge 1 ] && [ "$(got "$2.ops.email")" -ge 1 ]; }
# in_order D U: ops's page of D came first, each once.
in_order() {
    [ "$(mids | grep -x -e "$1.ops.email" -e "$2.ops.email" | tr '\n' ' ')" = \
        "$1.ops.email $2.ops.email " ]
}
# problem_then_recovery: web down, then up while a pager sends (tries)
# its problem's page; sets D and U, the two events.
problem_then_recovery() {
    web_goes down
    D=$EV
    check "a pager sends ops the problem's page (event $D)" \
        wait_for 30 sending "$D"
    web_goes up
    U=$EV
    check "ops got both pages" wait_for 90 both "$D" "$U"
    sleep 3     # a page sent twice would be there
}

start_nginx || exit 1
start_smtpd 8 first || exit 1
start_nats_cluster || exit 1
: >"$RULES"
start_node 1 1 || exit 1
PAGER_BODY="contact ops email ops@example.net
server web http://127.0.0.1:$NGINX_PORT/body notify ops"
export PAGER_BODY
start_pager 1 && start_pager 2 || exit 1
pass "3 nats-servers, a probe node and 2 pagers run"
check "the first state (unknown -> up) is in the stream" wait_events 1 30

# 1. The problem's mail in flight at one pager, the recovery at the other.
problem_then_recovery
check "ops got the problem, then the recovery ($(mids | tr '\n' ' '))" \
    in_order "$D" "$U"
check "the recovery waited for the problem's page" \
    grep -q "event $U web: waiting for event $D of web" "$T"/pager*.log

# 2. The problem's page retried at the one pager left.
servers_stop pager2
servers_stop smtpd
start_smtpd 5 defer-first || exit 1
problem_then_recovery
check "the problem's first try was deferred" \
    grep -q "event $D web: email page to ops: .*; trying again" \
    "$T/pager1.log"
check "ops got the problem, then the recovery ($(mids | tr '\n' ' '))" \
    in_order "$D" "$U"

heal
stop_node 1
servers_stop pager1
log_clean "the node and the pagers" "$T"/node*.log "$T"/pager*.log
finish
