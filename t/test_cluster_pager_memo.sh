#!/bin/sh
# t/test_cluster_pager_memo.sh: the memo of the cluster's pagers (bucket
# tocsin_memo). Who got a problem by SMS gets its recovery by SMS, quiet
# hours or not, whichever pager pages which: a real 3-server NATS
# cluster, nginx watched by three probe nodes, a real SMTP server (its
# SMS are mails to an email-to-SMS gateway address). ops gets SMS; pager
# 1's config has no quiet hours for it, pager 2's puts it in its quiet
# hours now (as if they began between the problem and its recovery):
#   1. web goes down, pager 1 alone: ops gets the SMS, night (in its
#      quiet hours) only the email; the memo says ops.
#   2. pager 1 killed -9, pager 2 started; web comes up: pager 2 sends
#      ops the recovery by SMS (its quiet hours or not), night none; the
#      memo forgets ops.
#   3. down and up again, pager 2 alone: ops, quiet now, gets no SMS,
#      not even for the recovery.
#   4. down with pager 1 (SMS to ops), then both pagers in quiet hours
#      for ops; the pager sending the recovery's email to ops is killed
#      -9 mid-send: the other, which takes the event again, still sends
#      ops the recovery SMS (the memo said before the event, kept with
#      it), once.
set -u
. "${srcdir:-.}/t/cluster.sh" || exit 1
cluster_setup iptables

quiet="$(date -d '-1 hour' +%H:%M)-$(date -d '+1 hour' +%H:%M)"
# body QUIET_OPS: the pager's contacts and server (ops in quiet hours or
# not).
body() {
    echo "contact ops email ops@example.net sms 5551111@sms.example.net${1:+ quiet $quiet}"
    echo "contact night email night@example.net sms 5552222@sms.example.net quiet $quiet"
    echo "server web http://127.0.0.1:$NGINX_PORT/body notify ops,night"
}
# pages SEQ CONTACT CHANNEL: how many mails the SMTP server took for that
# page (by Message-ID).
pages() {
    cat "$T/smtpd/mail.log" 2>/dev/null |
        grep -c "\"message_id\": \"<$1\\.$2\\.$3@"
}
# done_in PAGER SEQ: pager PAGER delivered night's email of event SEQ,
# its last page (ops's come first).
done_in() {
    grep -q "event $2 web: email page to night (.*) delivered" \
        "$T/pager$1.log"
}
# memo_sms: the contacts web's memo says got its problem by SMS.
memo_sms() {
    natsdump -k tocsin_memo 2>/dev/null | sed -n 's/^web //p' |
        "$PY" -c 'import json, sys; print(json.load(sys.stdin)["sms"])'
}
# flip down|up: web goes down (its view cut) or up; the event's number.
flip() {
    local n
    n=$(events)
    if [ "$1" = down ]; then cut_view; else heal; fi
    wait_events $((n + 1)) 60 || return 1
    echo $((n + 1))
}
# pager_mode N BODY: pager N started (again) with BODY.
pager_mode() {
    servers_running "pager$1" && kill9 "pager$1"
    PAGER_BODY=$2 start_pager "$1"
}

start_nginx || exit 1
LOUD=$(body) QUIET=$(body q)
start_smtpd 1 || exit 1
start_nats_cluster || exit 1
: >"$RULES"
for n in 1 2 3; do
    start_node "$n" || exit 1
done
check "the first state (unknown -> up) is in the stream" wait_events 1 30
pager_mode 1 "$LOUD" || exit 1
pass "3 nats-servers, 3 probe nodes, pager 1 run"

# 1. The problem, by pager 1.
d=$(flip down) || failed "no down event"
check "pager 1 pages the problem" wait_for 30 done_in 1 "$d"
check "... ops by SMS" [ "$(pages "$d" ops sms)" = 1 ]
check "... night, in its quiet hours, by email only" \
    [ "$(pages "$d" night email) $(pages "$d" night sms)" = "1 0" ]
check "the memo says ops got it by SMS" [ "$(memo_sms)" = ops ]

# 2. Its recovery, by pager 2 (ops in its quiet hours there).
kill9 pager1
pager_mode 2 "$QUIET" || exit 1
u=$(flip up) || failed "no up event"
check "pager 2 pages the recovery" wait_for 30 done_in 2 "$u"
check "... ops by SMS, in its quiet hours: the problem went so" \
    [ "$(pages "$u" ops sms)" = 1 ]
check "... night by email only" \
    [ "$(pages "$u" night email) $(pages "$u" night sms)" = "1 0" ]
check "the memo forgets ops" [ "$(memo_sms)" = "" ]

# 3. A problem in ops's quiet hours: no SMS, nor for its recovery.
d=$(flip down) || failed "no down event"
check "pager 2 pages the next problem" wait_for 30 done_in 2 "$d"
u=$(flip up) || failed "no up event"
check "... and its recovery" wait_for 30 done_in 2 "$u"
check "ops, in its quiet hours, gets neither by SMS" \
    [ "$(pages "$d" ops sms) $(pages "$u" ops sms)" = "0 0" ]
check "... both by email" \
    [ "$(pages "$d" ops email) $(pages "$u" ops email)" = "1 1" ]

# 4. A recovery whose pager dies mid-send.
kill9 pager2
pager_mode 1 "$LOUD" || exit 1
d=$(flip down) || failed "no down event"
check "pager 1 pages the problem, ops by SMS" wait_for 30 done_in 1 "$d"
check "... ops by SMS" [ "$(pages "$d" ops sms)" = 1 ]
pager_mode 1 "$QUIET" && pager_mode 2 "$QUIET" || exit 1
u=$(flip up) || failed "no up event"
# the pager sending ops's email of the recovery (the SMTP server answers
# 1 s later), killed -9 then
killed=
i=0
while [ -z "$killed" ] && [ $i -lt 300 ]; do
    for n in 1 2; do
        if grep -q "event $u web: sending email page to ops" \
            "$T/pager$n.log"; then
            kill9 "pager$n"
            killed=$n
            break
        fi
    done
    sleep 0.1
    i=$((i + 1))
done
check "a pager killed while it sends ops the recovery's email" \
    [ -n "$killed" ]
other=$((3 - ${killed:-2}))
check "the other pager pages the recovery (after the ack wait)" \
    wait_for 60 done_in "$other" "$u"
# On a loaded machine the kill can come after the email, mid-SMS: that
# SMS may then come twice with its one Message-ID (the contract's window).
if [ -n "$killed" ] && grep "event $u web: sending" "$T/pager$killed.log" |
    tail -1 | grep -q "sending sms page to ops"; then
    check "... ops by SMS still (killed mid-SMS: at most twice)" \
        [ "$(pages "$u" ops sms)" -ge 1 ] && [ "$(pages "$u" ops sms)" -le 2 ]
else
    check "... ops by SMS still, once" [ "$(pages "$u" ops sms)" = 1 ]
fi
check "... night by email only" [ "$(pages "$u" night sms)" = 0 ]
check "... the memo noted the event once" \
    [ "$(grep -c "event $u web: memo noted" "$T/pager1.log" \
        "$T/pager2.log" | awk -F: '{ s += $2 } END { print s }')" = 1 ]

for n in 1 2 3; do
    stop_node "$n"
done
servers_stop "pager$other"
log_clean "the nodes and pagers" "$T"/node*.log "$T"/pager*.log
finish
