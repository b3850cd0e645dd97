#!/bin/sh
# t/test_cluster_events.sh: dependencies (depends-on) in cluster mode, on
# a real 3-server NATS cluster with three probe nodes (quorum 2) and two
# pagers. web (nginx) is the parent of c1 and c2 (TCP listeners of their
# own). web and c1 go down together: c1's cluster event says unreachable;
# the pagers, started after, page web once, listing c1, and c1's event
# goes to no one (listed in web's page). c2 goes down later: its event
# is not paged alone but folded into its storm window (bucket
# tocsin_storm) whatever set storm's count (100 here), and listed in
# the window's one digest (STORM), which lists c2 and not c1. web comes
# back while c1 and c2 are still down: one new event each (down -> down,
# not unreachable), however many nodes saw it, paged alone once.
# Then a downtime of web ends (cancelled on another node than set it)
# while web is still down: one event says so (Nats-Msg-Id
# web:dtend:REVISION, so every node publishing it makes one), paged
# once; a second downtime ending in the same outage pages nothing.
# Last, web flaps: one event of the cluster starts the flapping and one
# ends it (FLAPPING, FLAPPING STOPPED), not one a node; the changes in
# between are held, paged to no one.
set -u
. "${srcdir:-.}/t/cluster.sh" || exit 1
cluster_setup iptables

# listener NAME VAR: a TCP server that takes connections and closes them,
# on the port $VAR.
listener() {
    _srv_setport "$2" || return 1
    eval "p=\$$2"
    _srv_spawn "$1" $SERVERS_PY -c '
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(64)
while True:
    s.accept()[0].close()' "$p" &&
        _srv_wait "$1" "t:$p"
}
# cut_port PORT | uncut_port PORT: connections to PORT refused (heal, or
# uncut_port, ends it).
cut_port() {
    echo "-p tcp -d 127.0.0.1 --dport $1 -j REJECT --reject-with tcp-reset" >>"$RULES"
    iptables -I OUTPUT -p tcp -d 127.0.0.1 --dport "$1" -j REJECT \
        --reject-with tcp-reset
}
uncut_port() {
    iptables -D OUTPUT -p tcp -d 127.0.0.1 --dport "$1" -j REJECT \
        --reject-with tcp-reset
    grep -v -- "--dport $1 " "$RULES" >"$RULES.new"
    mv "$RULES.new" "$RULES"
}
# seqs ID OLD NEW [UNREACHABLE]: the stream's events of ID from OLD to
# NEW (and unreachable True or False), their sequences, one a line.
seqs() {
    natsdump TOCSIN_EVENTS | "$PY" -c '
import json, sys
for line in sys.stdin:
    seq, d = line.split(" ", 1)
    d = json.loads(d)
    if [d["id"], d["old"], d["new"]] == sys.argv[1:4] and (
            len(sys.argv) < 5 or str(d["unreachable"]) == sys.argv[4]):
        print(seq)' "$@"
}
# mail SEQ: the mails to ops with the Message-ID of event SEQ, their
# text; nmail SEQ: how many.
mail() {
    "$PY" -c '
import json, sys
for l in open(sys.argv[1]):
    m = json.loads(l)
    if m["message_id"] == "<%s.ops.email@tocsin-pager.example.net>" % sys.argv[2]:
        print(m["data"])' "$T/smtpd/mail.log" "$1" 2>/dev/null
}
nmail() {
    [ -s "$T/smtpd/mail.log" ] || { echo 0; return; }
    "$PY" -c '
import json, sys
print(sum(json.loads(l)["message_id"] ==
          "<%s.ops.email@tocsin-pager.example.net>" % sys.argv[2]
          for l in open(sys.argv[1])))' "$T/smtpd/mail.log" "$1" 2>/dev/null
}
has_mail() { [ "$(nmail "$1")" -ge 1 ]; }
one_seq() { [ "$(seqs "$@" | wc -l)" -ge 1 ]; }

start_nginx || exit 1
start_smtpd || exit 1
listener lst1 L1_PORT && listener lst2 L2_PORT || exit 1
start_nats_cluster || exit 1
: >"$RULES"
child() {
    echo "server $1 tcp://127.0.0.1:$2 depends-on web interval 1s timeout 1s retries 1 retry-interval 1s"
}
NODE_EXTRA="$(child c1 "$L1_PORT")
$(child c2 "$L2_PORT")"
for n in 1 2 3; do
    start_node "$n" || exit 1
done
for s in web c1 c2; do
    wait_cstate "$s" up 30 || failed "$s is not up for the cluster"
done

# web and c1 down together, no pager yet.
cut_view
cut_port "$L1_PORT"
wait_cstate web down 30 && wait_cstate c1 down 30 ||
    failed "web and c1 are not down for the cluster"
check "c1's event says unreachable (its parent web is down)" \
    wait_for 10 one_seq c1 up down True
check "c1 has no event that is not unreachable" \
    [ -z "$(seqs c1 up down False)" ]
check "web's own event does not say unreachable" \
    [ -n "$(seqs web up down False)" ]
WEB=$(seqs web up down | head -1)
C1=$(seqs c1 up down | head -1)
check "web's event comes first in the stream, c1's waited for it" \
    [ "${WEB:-0}" -lt "${C1:-0}" ]

# set storm 100: the test pages more than 10 changes of web in a minute
# (the downtime's end, flapping), which the default would fold.
PAGER_EXTRA="set storm 100 in 60s"
PAGER_BODY="contact ops email ops@example.net
server web http://127.0.0.1:$NGINX_PORT/body notify ops
$(child c1 "$L1_PORT") notify ops
$(child c2 "$L2_PORT") notify ops"
start_pager 1 && start_pager 2 || exit 1
wait_for 30 has_mail "$WEB" || failed "no page for web (event $WEB)"
mail "$WEB" | grep -q "^unreachable: c1 (they depend on it)" &&
    pass "web's page lists c1, down and depending on it" ||
    failed "web's page" "$(mail "$WEB")"
mail "$WEB" | grep -q "c2" && failed "web's page lists c2, which is up" ||
    pass "web's page does not list c2, which is up"
listed() {
    cat "$T/pager1.log" "$T/pager2.log" |
        grep -q "event $C1 c1 up -> down: ops/email listed in the page of event $WEB"
}
wait_for 20 listed &&
    pass "c1's event goes to no one: listed in the page of event $WEB" ||
    failed "c1's event goes to no one: listed in the page of event $WEB" \
        "$(grep -h "event \($WEB\|$C1\) \|cluster" "$T"/pager*.log)"
check "web was paged once" [ "$(nmail "$WEB")" = 1 ]

# c2 down after web's page went out: in a digest at its window's end.
cut_port "$L2_PORT"
wait_cstate c2 down 30 || failed "c2 is not down for the cluster"
check "c2's event says unreachable" wait_for 10 one_seq c2 up down True
C2=$(seqs c2 up down | head -1)
folded() {
    cat "$T/pager1.log" "$T/pager2.log" |
        grep -q "event $C2 c2 up -> down: listed in the storm digest at the window's end (unreachable: a server it depends on is down)"
}
check "c2's event is folded into its storm window, though it pages 100 alone" \
    wait_for 20 folded
# the window is 60 s (set storm 100 in 60s)
wait_for 120 has_mail "$C2" || failed "no digest for c2 (event $C2)"
mail "$C2" | grep -q "^Subject: \[tocsin\] STORM: 1 more state change" &&
    mail "$C2" | grep -q " DOWN c2: .*(unreachable: a server it depends on is down)" &&
    pass "c2 is in a digest (STORM), not paged alone" ||
    failed "c2's mail" "$(mail "$C2")"
mail "$C2" | grep -q " c1: " && failed "c1, listed in web's page, is in the digest too" ||
    pass "c1, listed in web's page, is not in the digest"
sleep 3
check "one mail for c2's event (the digest), none for c1's" \
    [ "$(nmail "$C2")" = 1 -a "$(nmail "$C1")" = 0 ]
check "that mail is the storm window's digest, of c2's change alone" \
    grep -q "event $C2: storm digest of 1 changes for ops (email)" \
    "$T/pager1.log" "$T/pager2.log"

# web comes back; c1 and c2 stay down: each is down on its own now.
uncut_port "$NGINX_PORT"
wait_cstate web up 30 || failed "web is not up again"
for s in c1 c2; do
    check "$s gets an event down -> down, not unreachable" \
        wait_for 20 one_seq "$s" down down False
done
sleep 5   # every node had its chance to publish it again
check "one such event each, whichever nodes saw it" \
    [ "$(seqs c1 down down | wc -l)" = 1 -a "$(seqs c2 down down | wc -l)" = 1 ]
for s in c1 c2; do
    q=$(seqs "$s" down down | head -1)
    wait_for 30 has_mail "$q" || failed "no page for $s (event $q)"
    mail "$q" | grep -q "^Subject: \[tocsin\] DOWN $s" &&
        pass "$s, down on its own, is paged alone" ||
        failed "$s's page" "$(mail "$q")"
done
sleep 3
check "each paged once" [ "$(nmail "$(seqs c1 down down | head -1)")" = 1 -a \
    "$(nmail "$(seqs c2 down down | head -1)")" = 1 ]

heal

# A downtime that ends while web is still down: one event says so,
# whichever nodes saw the end, paged once; a second downtime set and
# ended in the same outage pages nothing more.
# dt_seqs: the stream's events that say web is still down after it.
dt_seqs() {
    natsdump TOCSIN_EVENTS | grep '"id":"web"' |
        grep 'still down after the downtime' | cut -d' ' -f1
}
has_dt() { [ -n "$(dt_seqs)" ]; }
has_dt_ok() { nctl "$1" -j status web | grep -q '"downtime_until": *[0-9]'; }
dt_everywhere() { has_dt_ok 1 && has_dt_ok 2 && has_dt_ok 3; }
no_dt() { ! has_dt_ok 1 && ! has_dt_ok 2 && ! has_dt_ok 3; }
set_dt() { nctl "$1" downtime web 10m "$2" >/dev/null && wait_for 15 dt_everywhere; }
wait_cstate web up 30 || failed "web is not up again"
check "a downtime of web set on node1 reaches every node" set_dt 1 maintenance
cut_view
wait_cstate web down 30 || failed "web is not down under its downtime"
DOWN=$(seqs web up down | tail -1)
check "web's event under the downtime says so" \
    [ "$(event_field "$DOWN" downtime)" = True ]
indt() {
    cat "$T/pager1.log" "$T/pager2.log" |
        grep -q "event $DOWN web up -> down: not paged, in downtime"
}
check "... and is not paged" wait_for 20 indt
check "the downtime cancelled on node2" nctl 2 downtime-cancel web
check "an event says web is still down after the downtime" \
    wait_for 20 has_dt
sleep 5   # every node saw the end and published it
check "one such event, whichever nodes saw the end" \
    [ "$(dt_seqs | wc -l)" = 1 ]
DT=$(dt_seqs | head -1)
wait_for 30 has_mail "$DT" || failed "no page at the downtime's end"
mail "$DT" | grep -q "^Subject: \[tocsin\] DOWN web: still down after the downtime" &&
    pass "web, down at the downtime's end, is paged" ||
    failed "the downtime's end page" "$(mail "$DT")"
check "another downtime on node3" set_dt 3 again
check "... cancelled on node1" nctl 1 downtime-cancel web
wait_for 15 no_dt || failed "the second downtime stays"
sleep 5
check "its end, in the same outage, makes no second event" \
    [ "$(dt_seqs | wc -l)" = 1 ]
check "the downtime's end was paged once" [ "$(nmail "$DT")" = 1 ]
heal

# Flapping: web goes down and up every 2 s until its nodes flap. The
# cluster's records carry it: one event starts it (flapping, the one
# before not), paged as FLAPPING; the changes after it, while the nodes
# flap, are held; once the nodes settle, web's next change is the one
# event that ends it, paged as FLAPPING STOPPED.
# flap_seqs WAS NOW: web's events whose was_flapping is WAS and flapping
# NOW (True or False).
flap_seqs() {
    natsdump TOCSIN_EVENTS | "$PY" -c '
import json, sys
for line in sys.stdin:
    seq, d = line.split(" ", 1)
    d = json.loads(d)
    if d["id"] == "web" and d.get("old") != d.get("new") and \
            str(d.get("was_flapping", False)) == sys.argv[1] and \
            str(d["flapping"]) == sys.argv[2]:
        print(seq)' "$1" "$2"
}
node_flaps() { nctl "$1" -j status web | grep -q '"flapping": *true'; }
none_flaps() { ! node_flaps 1 && ! node_flaps 2 && ! node_flaps 3; }
wait_cstate web up 30 || failed "web is not up before it flaps"
i=0
while [ $i -lt 20 ] && [ -z "$(flap_seqs False True)" ]; do
    cut_view
    sleep 2
    uncut_port "$NGINX_PORT"
    sleep 2
    i=$((i + 1))
done
check "web's flapping starts in the stream" [ -n "$(flap_seqs False True)" ]
# Two more changes while its nodes flap: held, paged to no one.
for i in 1 2; do
    cut_view
    wait_cstate web down 30 || failed "web is not down while it flaps"
    uncut_port "$NGINX_PORT"
    wait_cstate web up 30 || failed "web is not up while it flaps"
done
check "changes while web flaps are in the stream" \
    [ "$(flap_seqs True True | wc -l)" -ge 2 ]
wait_cstate web up 30 || failed "web is not up after flapping"
check "the nodes settle: none says web flaps" wait_for 90 none_flaps
cut_view
wait_cstate web down 30 || failed "web is not down after settling"
flap_ended() { [ -n "$(flap_seqs True False)" ]; }
check "web's flapping ends in the stream" wait_for 10 flap_ended
check "one event starts it, one ends it, however many nodes" \
    [ "$(flap_seqs False True | wc -l)" = 1 -a "$(flap_seqs True False | wc -l)" = 1 ]
START=$(flap_seqs False True)
STOP=$(flap_seqs True False)
wait_for 30 has_mail "$START" && wait_for 30 has_mail "$STOP" ||
    failed "no page for the flapping's start ($START) or end ($STOP)"
mail "$START" | grep -q "^Subject: \[tocsin\] FLAPPING web (now " &&
    pass "its start is paged as FLAPPING" ||
    failed "the start's page" "$(mail "$START")"
mail "$STOP" | grep -q "^Subject: \[tocsin\] FLAPPING STOPPED web, settled DOWN" &&
    pass "its end is paged as FLAPPING STOPPED" ||
    failed "the end's page" "$(mail "$STOP")"
# held SEQ: a pager judged event SEQ of web held while it flaps.
held() { grep -q "event $1 web [a-z]* -> [a-z]*: not paged, flapping" "$T"/pager*.log; }
bad=
for s in $(flap_seqs True True); do
    wait_for 10 held "$s" && [ "$(nmail "$s")" = 0 ] || bad="$bad $s"
done
check "the changes while it flaps are held, paged to no one ($(flap_seqs True True | tr '\n' ' '))" \
    [ -z "$bad" ]
heal
for n in 1 2; do
    term_wait "$(servers_pid "pager$n")" "pager$n"
    servers_stop "pager$n"
    clean_log "pager$n"
done
finish
