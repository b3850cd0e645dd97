#!/bin/bash
# t/test_lb_limits.sh: tocsin-lb's limits and what a reload changes, tcp
# farms before real servers (t/lbtcp.py, nginx) and a real
# tocsin-probed: maxconn caps a server over every loop of lb-threads 2,
# and a slot freed in one loop serves a client queued in another; balance
# fastest stops sending to a member that accepts and never answers; out
# of descriptors, every client accepted is served (relayed without pipes);
# a reload
# that fails leaves the running members' weights; a member a reload adds
# takes probed's word at once; persist of 3650 days (the longest the
# config takes; 200000000d overflowed) keeps a client.
set -u
. "${srcdir:-.}/t/servers.sh" || exit 1
. "${srcdir:-.}/t/probed.sh" || exit 1
servers_trap
. "${srcdir:-.}/t/lb.sh" || exit 1

H=127.0.0.1
HOLD="$PY $SERVERS_TDIR/lbhold.py"
G1=$(servers_port) G2=$(servers_port) MUTE=$(servers_port)
P1=$(servers_port) P2=$(servers_port) P3=$(servers_port)
P5=$(servers_port) P6=$(servers_port)
P7=$(servers_port) P8=$(servers_port)
mkdir -p "$T/stat" && _srv_chown "$T/stat"
for m in "g1 $G1 greet" "g2 $G2 greet" "mute $MUTE mute"; do
    set -- $m
    _srv_spawn "$1" $SERVERS_ASUSER "$PY" "$SERVERS_TDIR/lbtcp.py" "$2" "$1" \
        "$3" "$T/stat/$1" || exit 1
    _srv_wait "$1" "t:$2" || exit 1
done
# peak NAME: the most connections member NAME had at once; total NAME.
peak() { cut -d' ' -f2 "$T/stat/$1"; }
total() { cut -d' ' -f3 "$T/stat/$1"; }

# lbx_start NAME CONF: tocsin-lb on CONF, logging to $T/NAME.log.
lbx_start() {
    LBX_LOG=$T/$1.log
    "$LB" -f -d -c "$2" >"$LBX_LOG" 2>&1 &
    LB_PID=$!
    for _ in $(seq 100); do
        grep -q "started:" "$LBX_LOG" && return 0
        kill -0 "$LB_PID" 2>/dev/null || break
        sleep 0.1
    done
    failed "tocsin-lb did not start" "$(cat "$LBX_LOG")"
    return 1
}
lbx_stop() {
    term_wait "$LB_PID" tocsin-lb
    LB_PID=
    log_clean_quiet tocsin-lb "$LBX_LOG"
}
# head_conf STATEDIR [EXTRA]: a config's first lines, probed nowhere.
head_conf() {
    printf 'set state-dir %s\nset control %s\n%s\n' "$1" "$T/nowhere.sock" \
        "${2:-}"
}

# --- maxconn_caps_a_server_over_every_loop ---------------------------------
# lb-threads 2, g1 maxconn 2; 8 clients at once, each holding 1 s once
# served: never more than 2 on g1 at once, and the 6 that wait (in
# either loop's queue) are served as slots free in either loop: 4 waves.
{
    head_conf "$T/s1" "set lb-threads 2"
    cat <<F
farm mc {
    connect-timeout 10s
    listen $H:$P1 tcp
    server g1 tcp://$H:$G1 maxconn 2
}
F
} >"$T/mc.conf"
lbx_start mc "$T/mc.conf" || exit 1
# The kernel hashes each connection to a loop's listener, so 8 clients
# all land in one loop once in 128 runs: then 8 more, up to three rounds.
for round in 1 2 3; do
    r=$($HOLD "$P1" 8 12 1)
    check_json "maxconn_caps_a_server_over_every_loop: lb-threads 2, maxconn 2: 8 clients all served, round $round ($r)" \
        "$r" "d['served'] == 8 and d['secs'] >= 3.5"
    j=$(lbstat "$T/s1")
    jq_ "$j" "min(d['farms'][0]['clients_by_loop'])" | grep -qx 0 || break
    echo "# round $round: every client in one loop ($(jq_ "$j" "d['farms'][0]['clients_by_loop']"))"
done
p=$(peak g1)
[ "$p" = 2 ] && pass "maxconn_caps_a_server_over_every_loop: g1 had 2 at once at most" ||
    failed "maxconn_caps_a_server_over_every_loop: g1 had $p at once (maxconn 2)"
check_json "maxconn_caps_a_server_over_every_loop: both loops took clients, none left in flight" \
    "$j" "min(d['farms'][0]['clients_by_loop']) >= 1 and $(srvq mc/g1)['inflight'] == 0"
lbx_stop

# --- fastest_avoids_a_member_that_accepts_and_never_answers --------------
# mute takes the client's bytes and says nothing; client-timeout 1 s.
{
    head_conf "$T/s2"
    cat <<F
farm ff {
    balance fastest
    client-timeout 1s
    listen $H:$P2 tcp
    server g1 tcp://$H:$G1
    server mute tcp://$H:$MUTE
}
F
} >"$T/ff.conf"
lbx_start ff "$T/ff.conf" || exit 1
r=$($HOLD "$P2" 30 2 --conc 5)
check_json "fastest_avoids_a_member_that_accepts_and_never_answers: 30 clients 5 at once, at most 5 unanswered ($r)" \
    "$r" "d['served'] >= 25 and d['served'] + d['closed'] + d['timeout'] == 30"
j=$(lbstat "$T/s2")
check_json "fastest_avoids_a_member_that_accepts_and_never_answers: its idle timeouts count as errors" \
    "$j" "$(srvq ff/mute)['errors'] >= 1 and $(srvq ff/mute)['errors'] == $(srvq ff/mute)['requests'] and $(srvq ff/g1)['errors'] == 0"
lbx_stop

# --- out_of_descriptors_every_accepted_client_is_served --------------------
# 64 descriptors (11 taken at start, 8 kept free by accept): 12 clients
# held at once need 24 with their members; with 2 pipes a direction, 72.
{
    head_conf "$T/s3"
    cat <<F
farm fd {
    listen $H:$P3 tcp
    server g2 tcp://$H:$G2
}
F
} >"$T/fd.conf"
LBX_LOG=$T/fd.log
(ulimit -n 64 && exec "$LB" -f -d -c "$T/fd.conf") >"$LBX_LOG" 2>&1 &
LB_PID=$!
for _ in $(seq 100); do grep -q started: "$LBX_LOG" && break; sleep 0.1; done
t0=$(total g2)
r=$($HOLD "$P3" 12 3 1.5)
n=$(( $(total g2) - t0 ))
check_json "out_of_descriptors_every_accepted_client_is_served: 12 held at once, limit 64: all served ($r)" \
    "$r" "d['served'] == 12"
[ "$n" = 12 ] && pass "out_of_descriptors_every_accepted_client_is_served: g2 saw each client once" ||
    failed "out_of_descriptors_every_accepted_client_is_served: g2 saw $n connections for 12 clients"
r=$($HOLD "$P3" 20 3 1.5)
t1=$(total g2)
r2=$($HOLD "$P3" 1 3)
n=$(( t1 - t0 - 12 ))
check_json "out_of_descriptors_every_accepted_client_is_served: of 20, each one that reached g2 served ($n reached it: $r)" \
    "$r" "d['served'] == $n and d['served'] >= 12 and d['served'] + d['reset'] + d['closed'] == 20"
check_json "out_of_descriptors_every_accepted_client_is_served: and then one more, served" "$r2" "d['served'] == 1"
lbx_stop

# --- failed_reload_keeps_the_running_weights -------------------------------
rr_conf() {    # WEIGHT_OF_G2 [EXTRA LISTEN]
    head_conf "$T/s5"
    cat <<F
farm rw {
    balance roundrobin
    listen $H:$P5 tcp
    ${2:-}
    server g1 tcp://$H:$G1
    server g2 tcp://$H:$G2 weight $1
}
F
}
rr_conf 1 >"$T/rw.conf"
lbx_start rw "$T/rw.conf" || exit 1
# The new config sets g2's weight to 0 and listens where g1 does: bind fails.
rr_conf 0 "listen $H:$G1 tcp" >"$T/rw.conf"
kill -HUP "$LB_PID"
for _ in $(seq 50); do grep -q "reload failed" "$LBX_LOG" && break; sleep 0.1; done
grep -q "reload failed" "$LBX_LOG" &&
    pass "failed_reload_keeps_the_running_weights: the reload fails (address in use)" ||
    failed "failed_reload_keeps_the_running_weights: no failed reload" "$(tail -3 "$LBX_LOG")"
r=$($HOLD "$P5" 20 3 --conc 1)
check_json "failed_reload_keeps_the_running_weights: g2 keeps its weight 1: half of 20 ($r)" \
    "$r" "d['served'] == 20 and d['by'] == {'g1': 10, 'g2': 10}"
check_json "failed_reload_keeps_the_running_weights: lb-stats says weight 1" \
    "$(lbstat "$T/s5")" "$(srvq rw/g2)['weight'] == 1"
rr_conf 0 >"$T/rw.conf"
kill -HUP "$LB_PID"
for _ in $(seq 50); do grep -q "reloaded:" "$LBX_LOG" && break; sleep 0.1; done
r=$($HOLD "$P5" 10 3 --conc 1)
check_json "failed_reload_keeps_the_running_weights: a reload that works sets weight 0 ($r)" \
    "$r" "d['served'] == 10 and d['by'] == {'g1': 10}"
lbx_stop

# --- persist_of_3650_days_keeps_the_client -------------------------------
{
    head_conf "$T/s6"
    cat <<F
farm pl {
    balance roundrobin
    persist 3650d
    listen $H:$P6 tcp
    server g1 tcp://$H:$G1
    server g2 tcp://$H:$G2
}
F
} >"$T/pl.conf"
sed 's/persist 3650d/persist 200000000d/' "$T/pl.conf" >"$T/pl-long.conf"
out=$("$LB" -t -c "$T/pl-long.conf" 2>&1)
case $out in
*pl-long.conf:6:*"at most 3650d"*) pass "persist 200000000d is refused at its line" ;;
*) failed "persist 200000000d: $out" ;;
esac
lbx_start pl "$T/pl.conf" || exit 1
r=$($HOLD "$P6" 10 3 --conc 1)
check_json "persist_of_3650_days_keeps_the_client: 10 connections, one member ($r)" \
    "$r" "d['served'] == 10 and len(d['by']) == 1"
lbx_stop

# --- reload_added_member_takes_probeds_word_at_once ------------------------
# probed (interval 30 s: no result for b3 within the test but its first)
# sees b3 down; tocsin-lb's first config has b1 and b2 only, the reload
# adds b3: no request goes to it.
start_lb_backends 3 || exit 1
touch "$T/lb_b3/down"
pconf() {    # STATEDIR CONTROL SERVERS...
    local sd=$1 cs=$2
    shift 2
    printf 'set state-dir %s\nset control %s\nset interval 30s\n' "$sd" "$cs"
    printf 'set timeout 1s\nset retries 1\nset retry-interval 30s\n'
    printf 'farm ad {\n    balance roundrobin\n    listen %s:%s http\n' "$H" "$P7"
    for b in "$@"; do
        eval "printf '    server %s http://%s:%s/health\n' $b $H \$LB_${b^^}_PORT"
    done
    printf '}\n'
}
pconf "$T/state" "$T/state/probed.sock" b1 b2 b3 >"$T/probed.conf"
probed_start "$T/probed.conf" || exit 1
ctl check ad/b3 >/dev/null
expect_state ad/b3 down 10
wait_field ad/b1 state up 10
wait_field ad/b2 state up 10
pconf "$T/s7" "$T/state/probed.sock" b1 b2 >"$T/ad.conf"
lbx_start ad "$T/ad.conf" || exit 1
for _ in $(seq 50); do grep -q "watching tocsin-probed" "$LBX_LOG" && break; sleep 0.1; done
sleep 0.5
pconf "$T/s7" "$T/state/probed.sock" b1 b2 b3 >"$T/ad.conf"
kill -HUP "$LB_PID"
for _ in $(seq 50); do grep -q "reloaded:" "$LBX_LOG" && break; sleep 0.1; done
# probed's answer to the status asked at the reload, well before its next
# result for b3 (30 s away)
b3_down() { jq_ "$(lbstat "$T/s7")" "$(srvq ad/b3)['state']" | grep -qx down; }
wait_for 10 b3_down
r=$($LBCLIENT "$P7" 60 2)
check_json "reload_added_member_takes_probeds_word_at_once: b3, down, gets none of 60 ($r)" \
    "$r" "d['failed'] == 0 and d['ok'] == 60 and 'b3' not in d['by']"
check_json "reload_added_member_takes_probeds_word_at_once: lb-stats says b3 down" \
    "$(lbstat "$T/s7")" "$(srvq ad/b3)['state'] == 'down'"
lbx_stop

finish
