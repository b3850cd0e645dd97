#!/bin/sh
# t/test_cluster_pager_record.sh: a page that left is never sent again
# because its record could not be written. A real 3-server NATS
# cluster, nginx watched by three probe nodes, one pager and a real SMTP
# server that takes 3 s to answer a mail. While the SMTP server holds the
# down page, the nats-server the pager is connected to is frozen
# (SIGSTOP): the mail is taken, and its "done" record goes into a server
# that never answers, then is killed -9 with it (as CI once saw a
# nats-server killed under a pager). The pager keeps trying to write
# the record, and once it has reconnected to another server the event is
# finished: the SMTP server has that page once. (It had it twice: the
# event came back after its ack wait, found the try "sending", and paged
# again.)
set -u
. "${srcdir:-.}/t/cluster.sh" || exit 1
cluster_setup iptables

# nats_of PID: the index (1-3) of the nats-server PID is connected to.
nats_of() {
    local j p
    for j in 1 2 3; do
        eval "p=\$NATS${j}_PORT"
        if ss -Htnp state established "dport = :$p" 2>/dev/null |
            grep -q "pid=$1,"; then
            echo "$j"
            return 0
        fi
    done
    return 1
}

start_nginx || exit 1
start_smtpd 3 || exit 1
start_hookd 0 || exit 1
start_probing || exit 1
start_pager 1 || exit 1
pass "3 nats-servers, 3 probe nodes, a pager run"

web_goes down
check "the pager begins the down page's mail" wait_for 30 \
    grep -q "event $EV web: sending email page to ops (try 1)" \
    "$T/pager1.log"
x=$(nats_of "$(servers_pid pager1)")
check "the pager's nats-server is known (nats${x:-?})" [ -n "$x" ]
[ -n "$x" ] || stop_all
kill -STOP "$(servers_pid "nats$x")"
pass "nats$x frozen while the SMTP server holds the mail"
check "the SMTP server takes the mail" wait_for 15 \
    eval '[ "$(got "$EV.ops.email")" -ge 1 ]'
# the record's write waits 5 s for its answer: it fails
check "the pager cannot write its record, and says so" wait_for 20 \
    grep -q "event $EV web: the done record of email to ops cannot be written" \
    "$T/pager1.log"
kill9 "nats$x"
pass "nats$x killed -9, the record it held lost with it"
check "the record is written on another server" wait_for 30 \
    grep -qE "event $EV web: the done record of email to ops written after [0-9]+ tries" \
    "$T/pager1.log"
check "the event's webhook goes after it" wait_for 30 \
    grep -q "event $EV web: webhook page to ops .* delivered" "$T/pager1.log"
start_nats "$x" || failed "nats$x did not start again"
# the down event is finished: it does not come back after its ack wait
# (15 s), and web's recovery is paged after it
web_goes up
check "web's up event is paged" wait_for 60 \
    grep -q "event $EV web: webhook page to ops .* delivered" "$T/pager1.log"
check "the down page reached the SMTP server once" \
    [ "$(got "$((EV - 1)).ops.email")" = 1 ]
check_not "... and was not sent again" \
    grep -q "event $((EV - 1)) web: sending email page to ops (again)" \
    "$T/pager1.log"
check "the recovery page reached it once" [ "$(got "$EV.ops.email")" = 1 ]
stop_all
