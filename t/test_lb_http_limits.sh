#!/bin/bash
# t/test_lb_http_limits.sh: tocsin-lb's http farms at their limits and
# through reloads, before members that count the requests they have at
# once (t/lbbusy.py) or switch protocols and echo (t/lbupgrade.py):
# maxconn holds over every loop of lb-threads 2, as a tcp farm's does
# (t/test_lb_limits.sh), and a slot is let go once when a connect fails;
# out of descriptors for pipes, upgraded connections carry their bytes
# both ways through buffers, each holding its member's slot until it
# ends; clients waiting for a slot through a reload are served and still
# counted, a reload raising maxconn lets them go, and what they do after
# it (a reject) counts where lb-stats reads it.
set -u
. "${srcdir:-.}/t/servers.sh" || exit 1
. "${srcdir:-.}/t/probed.sh" || exit 1
servers_trap
. "${srcdir:-.}/t/lb.sh" || exit 1

H=127.0.0.1
Z=$(servers_port) DEAD=$(servers_port) P1=$(servers_port) P2=$(servers_port)
_srv_spawn z $SERVERS_ASUSER "$PY" "$SERVERS_TDIR/lbbusy.py" "$Z" z 50 close ||
    exit 1
_srv_wait z "t:$Z" || exit 1
U=$(servers_port) P3=$(servers_port)
_srv_spawn up1 $SERVERS_ASUSER "$PY" "$SERVERS_TDIR/lbupgrade.py" "$U" up1 ||
    exit 1
_srv_wait up1 "t:$U" || exit 1
Y=$(servers_port) P4=$(servers_port) P5=$(servers_port)
_srv_spawn y $SERVERS_ASUSER "$PY" "$SERVERS_TDIR/lbbusy.py" "$Y" y 50 ||
    exit 1
_srv_wait y "t:$Y" || exit 1
# peak: the most requests z had at once since the last asked.
peak() { curl -s "http://$H:$Z/peak"; }
# lb_next NAME: tocsin-lb stopped, its log kept as lb-NAME.log (so the
# next lb_start waits for a "started:" of its own).
lb_next() {
    lb_stop
    mv "$T/lb.log" "$T/lb-$1.log"
}
# wait_stats EXPR: until EXPR holds on lb-stats (10 s at most).
wait_stats() {
    for _ in $(seq 100); do
        [ "$(jq_ "$(lbstat)" "$1" 2>/dev/null)" = True ] && return 0
        sleep 0.1
    done
    return 1
}
# reload_lb: SIGHUP, and wait for its "reloaded:".
reload_lb() {
    local n
    n=$(grep -c "reloaded:" "$T/lb.log")
    kill -HUP "$LB_PID"
    for _ in $(seq 100); do
        [ "$(grep -c "reloaded:" "$T/lb.log")" -gt "$n" ] && return 0
        sleep 0.1
    done
    failed "reload: no 'reloaded:' in tocsin-lb's log"
}
# queue_up PORT N FARM/MEMBER OUT: N requests for /held on PORT in the
# background, their statuses to OUT; true once one is on MEMBER and the
# others wait in FARM's queue (10 s at most).
GETS=
queue_up() {
    local i
    for i in $(seq "$2"); do
        curl -s -m 60 -o /dev/null -w '%{http_code}\n' \
            "http://$H:$1/held" >>"$4" &
        GETS="$GETS $!"
    done
    wait_stats "$(farmq "${3%/*}")['queued'] == $(($2 - 1)) and $(srvq "$3")['inflight'] == 1"
}
# statuses_are OUT WANT DESC: once queue_up's requests are answered,
# their statuses, sorted, match the shell pattern WANT.
statuses_are() {
    local codes
    wait $GETS
    GETS=
    codes=$(sort "$1" | tr '\n' ' ')
    case $codes in
    $2" ") pass "$3" ;;
    *) failed "$3: statuses $codes" ;;
    esac
}

# --- http_maxconn_caps_a_server_over_every_loop ----------------------------
# 2 loops, z maxconn 2, 50 ms a request, each answer closing its
# connection (so each request connects anew); 100 clients at once, twice:
# all served (each may wait 30 s in either loop's queue), never more than
# 2 on z at once, though each freed slot wakes both loops' queues at once
# and each then tries for it.
cat >"$T/maxconn.conf" <<F
set state-dir $T/state
set control $T/nowhere.sock
set lb-threads 2
farm hm {
    connect-timeout 30s
    listen $H:$P1 http
    server z http://$H:$Z/health maxconn 2
}
farm hd {
    balance roundrobin
    connect-timeout 30s
    listen $H:$P2 http
    server dead http://$H:$DEAD/health maxconn 1
    server z http://$H:$Z/health maxconn 2
}
F
lb_start "$T/maxconn.conf" || exit 1
peak >/dev/null
for round in 1 2; do
    r=$($LBCLIENT "$P1" 100 100 --timeout 60)
    p=$(peak)
    check_json "http_maxconn_caps_a_server_over_every_loop: round $round: 100 at once, all served ($r)" \
        "$r" "d['ok'] == 100 and d['by'] == {'z': 100}"
    [ "$p" = 2 ] &&
        pass "http_maxconn_caps_a_server_over_every_loop: round $round: z had 2 at once at most" ||
        failed "http_maxconn_caps_a_server_over_every_loop: round $round: z had $p at once (maxconn 2)"
done
check_json "http_maxconn_caps_a_server_over_every_loop: both loops took clients, none in flight, 200 requests" \
    "$(lbstat)" "$(srvq hm/z)['inflight'] == 0 and $(srvq hm/z)['requests'] == 200 and min($(farmq hm)['clients_by_loop']) >= 1"

# --- http_slot_let_go_once_when_a_connect_fails ----------------------------
# dead (maxconn 1) refuses every connect: a request that tried it goes on
# to z. The slot it took on dead is let go once, and z's once answered:
# none is left in flight on either.
r=$($LBCLIENT "$P2" 20 4 --timeout 60)
check_json "http_slot_let_go_once_when_a_connect_fails: 20 requests, all served by z ($r)" \
    "$r" "d['ok'] == 20 and d['by'] == {'z': 20}"
check_json "http_slot_let_go_once_when_a_connect_fails: dead failed, none in flight on dead or z" \
    "$(lbstat)" "$(srvq hd/dead)['errors'] >= 1 and $(srvq hd/dead)['inflight'] == 0 and $(srvq hd/z)['inflight'] == 0"
lb_next maxconn

# --- upgrade_out_of_pipes_carries_bytes_both_ways --------------------------
# 64 descriptors, about 11 taken at start: 10 tunnels open at once take
# 20 for their sockets, and with two pipes a direction 60 more. Each
# client (t/lbupclient.py) sends bytes with its request, gets them back
# after the 101 and the member's greeting, and once all 10 are open
# sends 100000 more and ends.
cat >"$T/upgrade.conf" <<F
set state-dir $T/state
set control $T/nowhere.sock
farm up {
    listen $H:$P3 http
    server up1 http://$H:$U/ maxconn 10
}
F
(ulimit -n 64 && exec "$LB" -f -d -c "$T/upgrade.conf") >>"$T/lb.log" 2>&1 &
LB_PID=$!
for _ in $(seq 100); do grep -q started: "$T/lb.log" && break; sleep 0.1; done
r=$("$PY" "$SERVERS_TDIR/lbupclient.py" "$P3" 10 "$TOCSINCTL" \
    -s "$T/state/lb.sock" -j lb-stats)
check_json "upgrade_out_of_pipes_carries_bytes_both_ways: 10 tunnels at once, limit 64: each switched, with the member's greeting and its own early bytes back ($r)" \
    "$r" "d['greeted'] == 10"
check_json "upgrade_out_of_pipes_carries_bytes_both_ways: and then 100000 bytes more each way, and the end" \
    "$r" "d['ok'] == 10"
check_json "upgrade_out_of_pipes_carries_bytes_both_ways: the 10 tunnels open at once held 10 slots of up1" \
    "$r" "json.loads(d['cmd'])['farms'][0]['servers'][0]['inflight'] == 10"
check_json "upgrade_out_of_pipes_carries_bytes_both_ways: closed, none in flight" \
    "$(lbstat)" "$(srvq up/up1)['inflight'] == 0"
r=$("$PY" "$SERVERS_TDIR/lbupclient.py" "$P3" 10)
check_json "upgrade_out_of_pipes_carries_bytes_both_ways: 10 more at once, all right ($r)" \
    "$r" "d['ok'] == 10"
lb_next upgrade

# --- reload_keeps_waiting_clients_and_their_counts -------------------------
# z holds every /held request until /release, y likewise; maxconn 1 each,
# clients waiting 60 s at most for a slot.
reload_conf() {    # MAXCONN_OF_Z
    cat <<F
set state-dir $T/state
set control $T/nowhere.sock
farm q {
    connect-timeout 60s
    listen $H:$P4 http
    server z http://$H:$Z/health maxconn $1
}
farm r {
    connect-timeout 60s
    listen $H:$P5 http
    server y http://$H:$Y/health maxconn 1
}
F
}
reload_conf 1 >"$T/reload.conf"
lb_start "$T/reload.conf" || exit 1
# Of 4 clients, 1 on z and 3 waiting. A reload of the same config: still
# 3 queued, and queued_total 3. A reload raising maxconn to 4: the 3 go
# to z at once.
queue_up "$P4" 4 q/z "$T/q.codes" ||
    failed "reload_keeps_waiting_clients_and_their_counts: 3 never queued" "$(lbstat)"
reload_lb
check_json "reload_keeps_waiting_clients_and_their_counts: after a reload, still 3 queued of 3, 4 clients" \
    "$(lbstat)" "$(farmq q)['queued'] == 3 and $(farmq q)['queued_total'] == 3 and $(farmq q)['clients'] == 4 and $(srvq q/z)['inflight'] == 1"
reload_conf 4 >"$T/reload.conf"
reload_lb
wait_stats "$(srvq q/z)['inflight'] == 4" &&
    pass "reload_keeps_waiting_clients_and_their_counts: a reload raising maxconn to 4 lets the 3 waiting go to z" ||
    failed "reload_keeps_waiting_clients_and_their_counts: maxconn 4, not 4 on z" "$(lbstat)"
check_json "reload_keeps_waiting_clients_and_their_counts: none queued now, 3 ever" \
    "$(lbstat)" "$(farmq q)['queued'] == 0 and $(farmq q)['queued_total'] == 3"
curl -s -m 10 "http://$H:$Z/release" >/dev/null
statuses_are "$T/q.codes" "200 200 200 200" \
    "reload_keeps_waiting_clients_and_their_counts: all 4 served"
check_json "reload_keeps_waiting_clients_and_their_counts: 4 requests to z, none in flight, none rejected" \
    "$(lbstat)" "$(srvq q/z)['requests'] == 4 and $(srvq q/z)['inflight'] == 0 and $(farmq q)['rejected'] == 0 and $(farmq q)['queued_total'] == 3"

# --- reload_keeps_counting_rejects_of_clients_from_before ------------------
# y holds its request, 2 wait; a reload; then y stops: the request on it
# gets 502 (no other member to try), the 2 waiting 503 (y refuses), or
# 502 when y took the connect as it stopped.
queue_up "$P5" 3 r/y "$T/r.codes" ||
    failed "reload_keeps_counting_rejects_of_clients_from_before: 2 never queued" "$(lbstat)"
reload_lb
servers_stop y
statuses_are "$T/r.codes" "502 50[23] 50[23]" \
    "reload_keeps_counting_rejects_of_clients_from_before: 502 for the one on y, 502 or 503 for the 2 waiting"
check_json "reload_keeps_counting_rejects_of_clients_from_before: r rejected 3, queued 2 ever, none now; y's errors kept" \
    "$(lbstat)" "$(farmq r)['rejected'] == 3 and $(farmq r)['queued_total'] == 2 and $(farmq r)['queued'] == 0 and $(srvq r/y)['errors'] >= 1 and $(srvq r/y)['inflight'] == 0"
lb_next reload
finish
