#!/bin/bash
# t/test_lb_more.sh: tocsin-lb's slow start, maxconn with its queue, its
# control socket's stats and lb-threads, before three real nginx on
# 127.0.0.1 with tocsin-probed watching them through the same config.
set -u
. "${srcdir:-.}/t/servers.sh" || exit 1
. "${srcdir:-.}/t/probed.sh" || exit 1
servers_trap

. "${srcdir:-.}/t/lb.sh" || exit 1

start_lb_backends 3 || exit 1
SRR=$(servers_port) SFA=$(servers_port)
MCH=$(servers_port) MCT=$(servers_port) MCN=$(servers_port)
THR=$(servers_port) TPE=$(servers_port)
BZ1=$(servers_port) BZ2=$(servers_port)
for i in 1 2; do
    eval "p=\$BZ$i"
    _srv_spawn "busy$i" $SERVERS_ASUSER "$PY" "$SERVERS_TDIR/lbbusy.py" \
        "$p" "z$i" 2000 || exit 1
    _srv_wait "busy$i" "t:$p" || exit 1
done
B1=$LB_B1_PORT B2=$LB_B2_PORT B3=$LB_B3_PORT
H=127.0.0.1

# farm NAME ALGO PORT MODE [EXTRA LINE]
farm() {
    cat <<F
farm $1 {
    balance $2
    listen $H:$3 $4
    ${5:-}
    server b1 http://$H:$B1/health
    server b2 http://$H:$B2/health
    server b3 http://$H:$B3/health
}
F
}
{
    cat <<CONF
set state-dir $T/state
set interval 1s
set timeout 1s
set retries 1
set retry-interval 1s
CONF
    farm srr roundrobin "$SRR" tcp "slowstart 10s"
    farm sfa fastest "$SFA" http "slowstart 10s"
    farm thr roundrobin "$THR" tcp
    for m in "mch $MCH http 1" "mct $MCT tcp 1" "mcn $MCN http 0"; do
        set -- $m
        cat <<F
farm $1 {
    balance roundrobin
    listen $H:$2 $3
    server z1 http://$H:$BZ1/health maxconn $4
    server z2 http://$H:$BZ2/health maxconn $4
}
F
    done
} >"$T/lb.conf"

probed_start "$T/lb.conf" || exit 1
lb_start "$T/lb.conf" || exit 1
for f in srr sfa mch mct mcn; do
    for b in b1 b2 b3 z1 z2; do
        case $f/$b in mc?/b?|s??/z?) continue ;; esac
        wait_field "$f/$b" state up 15
    done
done

# --- maxconn and its queue -----------------------------------------------
# z1 and z2 answer after 2 s; maxconn 1 each: two requests at once are
# served, two more wait for a slot (2 s, within the 3 s connect timeout),
# the rest get 503 (http) or are closed (tcp) after 3 s.
peaks() {
    echo "$(curl -s "http://$H:$BZ1/peak") $(curl -s "http://$H:$BZ2/peak")"
}
peaks >/dev/null
for m in "mch http" "mct tcp"; do
    set -- $m
    eval "port=\$$(echo "$1" | tr a-z A-Z)"
    t0=$(date +%s%N)
    r=$($LBCLIENT "$port" 4 4 --timeout 10)
    t1=$(date +%s%N)
    p=$(peaks)
    check_json "$2 maxconn 1 x 2: 4 at once all served, 2 after waiting ($(( (t1 - t0) / 1000000 )) ms)" \
        "$r" "d['ok'] == 4 and d['by'] == {'z1': 2, 'z2': 2} and $(( (t1 - t0) / 1000000 )) >= 3500"
    [ "$p" = "1 1" ] && pass "$2 maxconn 1: never 2 at once on a server (peaks $p)" ||
        failed "$2 maxconn 1: peaks $p"
    r=$($LBCLIENT "$port" 8 8 --timeout 10)
    p=$(peaks)
    check_json "$2 maxconn 1 x 2: 8 at once: 4 served, 4 turned away after the connect timeout" \
        "$r" "d['ok'] == 4 and d['failed'] == 4"
    [ "$p" = "1 1" ] && pass "$2 maxconn 1, 8 at once: peaks $p" ||
        failed "$2 maxconn 1, 8 at once: peaks $p"
done
if grep -q "every server at its maxconn" "$T/lb.log"; then
    pass "tcp: closed clients that found no slot"
else
    failed "tcp: no 'every server at its maxconn' in tocsin-lb's log"
fi
# Five at once (no pause between them: on a busy machine a pause let the
# fifth come late enough to be served): two served, three wait, and the
# third in the queue finds no slot within the connect timeout.
r=$(for i in 1 2 3 4; do
        curl -s -m 10 -w ' %{http_code}' "http://$H:$MCH/" &
    done
    curl -s -m 10 -w ' %{http_code}' "http://$H:$MCH/"; wait)
case $r in
*"Every server of this farm is busy"*" 503"*) pass "http: the 503 page says busy" ;;
*) failed "http: no busy 503 among: $r" ;;
esac
r=$($LBCLIENT "$MCN" 4 4 --timeout 10)
p=$(peaks)
[ "$p" != "1 1" ] && pass "maxconn 0 (no limit): 4 at once, peaks $p" ||
    failed "maxconn 0: peaks $p"

# --- stats on tocsin-lb's control socket ---------------------------------
if [ -S "$T/state/lb.sock" ] && [ "$(stat -c %a "$T/state/lb.sock")" = 660 ]
then pass "tocsin-lb's socket is state-dir/lb.sock, mode 660"
else failed "no socket $T/state/lb.sock (mode 660)"; fi
if j=$(lbstat); then pass "tocsinctl -s lb.sock -j lb-stats"
else failed "tocsinctl lb-stats: $j"; j='{}'; fi
check_json "stats: mch rejected the 5 turned away, queued the waiting" "$j" \
    "$(farmq mch)['rejected'] == 5 and $(farmq mch)['queued_total'] >= 6 and $(farmq mch)['queued'] == 0"
check_json "stats: mch clients counted (4 + 8 + 5 accepted)" "$j" \
    "$(farmq mch)['clients'] == 17 and $(farmq mch)['balance'] == 'roundrobin'"
check_json "stats: mch/z1 served 6 requests on connections of its own, none in flight" "$j" \
    "$(srvq mch/z1)['requests'] == 6 and $(srvq mch/z1)['connections'] >= 1 and $(srvq mch/z1)['inflight'] == 0 and $(srvq mch/z1)['maxconn'] == 1"
# rt_ms is the mean time to our answers (z1 takes 2 s, nginx ~1 ms);
# ewma_ms, what the balancer expects now, decays while a server is idle
# (t/test_lb_latency.sh tests it), so no fixed figure of it holds here.
check_json "stats: mch/z1 up, its response time 2 s; srr/b1, not asked yet, none" "$j" \
    "$(srvq mch/z1)['state'] == 'up' and $(srvq mch/z1)['rt_ms'] >= 1900 and $(srvq srr/b1)['rt_ms'] == 0 and $(srvq mch/z1)['errors'] == 0"
check_json "stats: mct (tcp) sessions are connections" "$j" \
    "$(srvq mct/z2)['requests'] == $(srvq mct/z2)['connections'] == 4"
out=$("$TOCSINCTL" -c "$T/lb.conf" lb-stats 2>&1)
case $out in
*"farm mch (roundrobin): 17 clients, 5 rejected"*"mch/z1 "*" up "*) pass "tocsinctl -c CONF lb-stats: a table" ;;
*) failed "tocsinctl lb-stats table: $out" ;;
esac
r=$("$PY" - "$T/state/lb.sock" <<'PYEOF'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(5)
s.connect(sys.argv[1])
s.sendall(b"ping\nbogus\nstats\n")
buf = b""
while buf.count(b"\n") < 3:
    b = s.recv(65536)
    if not b:
        break
    buf += b
ls = [json.loads(l) for l in buf.decode().splitlines()]
print(json.dumps([ls[0]["ok"], ls[1]["ok"], "error" in ls[1], len(ls[2]["farms"])]))
PYEOF
)
check_json "socket: one JSON line per request: ping ok, unknown refused, stats" \
    "$r" 'd == [True, False, True, 6]'
"$TOCSINCTL" -s "$T/nowhere.sock" lb-stats >/dev/null 2>&1
rc=$?
[ $rc = 3 ] && pass "lb-stats with tocsin-lb gone: exit 3" ||
    failed "lb-stats with tocsin-lb gone: exit $rc"

# --- slow start ------------------------------------------------------------
# share3 JSON: b3's share of the requests, in percent.
share3() {
    jq_ "$1" 'int(100 * d["by"].get("b3", 0) / max(1, d["ok"])) if d["failed"] == 0 else -1'
}
r=$($LBCLIENT "$SRR" 300 1)
s0=$(share3 "$r")
check_json "slowstart, at start nobody ramps: b3 has its third ($s0 %)" "$r" \
    'd["failed"] == 0 and d["by"].get("b3", 0) == 100'

# A member back from down, then one undrained: a small share at first,
# its full share once slowstart (10 s) is over, in both algorithms.
ramp() {    # FARM PORT HOW
    local r a b c
    j=$(lbstat)
    check_json "stats: b3 of $1 is in slowstart" "$j" \
        "[(s['state'], s['share'] < 0.5) for f in d['farms'] for s in f['servers'] if s['id'].endswith('/b3') and f['name'] in ('srr', 'sfa') and f['balance'] == '$1'] == [('slowstart', True)]"
    r=$($LBCLIENT "$2" 300 4 --duration 0.7 ${4:-})
    a=$(share3 "$r")
    sleep 1.8
    r=$($LBCLIENT "$2" 300 4 --duration 1 ${4:-})
    b=$(share3 "$r")
    sleep 8.5
    r=$($LBCLIENT "$2" 600 4 ${4:-})
    c=$(share3 "$r")
    # The first share is taken within 0.7 s of a 10 s ramp; a loaded machine
    # can start it late, so "small" is under half its third (16 %). A loaded
    # machine can also make b3 answer slower for a while (fastest then
    # rightly gives it less): measure the ramped share once more.
    if [ "$c" -lt 20 ] || [ "$c" -le $((a + 10)) ]; then
        sleep 2
        r=$($LBCLIENT "$2" 600 4 ${4:-})
        c=$(share3 "$r")
    fi
    if [ "$a" -ge 0 ] && [ "$a" -le 16 ] &&
        [ "$c" -ge 20 ] && [ "$c" -gt $((a + 10)) ]; then
        pass "$1 b3 $3: ramps $a % -> $b % -> $c % of the requests"
    else
        failed "$1 b3 $3: shares $a % -> $b % -> $c % (want <= 16 at first, under half its third, then >= 20 and 10 more than at first)"
    fi
}
touch "$T/lb_b3/down"
expect_state srr/b3 down 10
rm -f "$T/lb_b3/down"
expect_state srr/b3 up 10
ramp roundrobin "$SRR" "back from down"
wait_field sfa/b3 state up 10
sleep 5
ctl drain sfa/b3 >/dev/null || failed "tocsinctl drain sfa/b3"
sleep 1
check_json "stats: sfa/b3 drained" "$(lbstat)" "$(srvq sfa/b3)['state'] == 'drained'"
ctl enable sfa/b3 >/dev/null || failed "tocsinctl enable sfa/b3"
sleep 0.3
ramp fastest "$SFA" undrained --keepalive
if grep -q "srr/b3: slow start over 10000 ms" "$T/lb.log"; then
    pass "the ramp is logged"
else
    failed "no slow start in tocsin-lb's log"
fi

# --- keepalived's check of tocsin-lb ----------------------------------------
sed "s|@bindir@|$(cd "$(dirname "$TOCSINCTL")" && pwd)|" \
    "$SERVERS_TDIR/../etc/tocsin-lb-check" >"$T/lbcheck"
chmod +x "$T/lbcheck"
if out=$("$T/lbcheck" "$T/state/lb.sock" 2>&1); then
    pass "tocsin-lb-check: tocsin-lb answers with servers up: exit 0"
else
    failed "tocsin-lb-check with tocsin-lb up: $out"
fi
lb_stop
if out=$("$T/lbcheck" "$T/state/lb.sock" 2>&1); then
    failed "tocsin-lb-check passes with tocsin-lb gone"
else
    pass "tocsin-lb-check with tocsin-lb gone: fails ($out)"
fi
# --- lb-threads 2: two loops on SO_REUSEPORT listeners --------------------
{
    printf 'set state-dir %s\nset control %s\nset lb-threads 2\n' \
        "$T/state3" "$T/state/probed.sock"
    farm thr roundrobin "$THR" tcp
    farm tpe random "$TPE" tcp "persist 30s"
} >"$T/thr.conf"
"$LB" -f -d -c "$T/thr.conf" >"$T/thr.log" 2>&1 &
tpid=$!
for _ in $(seq 100); do
    [ -S "$T/state3/lb.sock" ] && grep -q started: "$T/thr.log" && break
    sleep 0.1
done
if grep -q "started: 2 farms balanced, 2 listeners, 2 loops" "$T/thr.log"
then pass "lb-threads 2: two loops start"
else failed "lb-threads 2: $(grep started: "$T/thr.log")"; fi
tstat() { "$TOCSINCTL" -s "$T/state3/lb.sock" -j lb-stats; }
sleep 1.5      # both loops hear probed's word
r=$($LBCLIENT "$THR" 600 6)
check_json "lb-threads 2: 600 requests, 0 failed, all three servers" "$r" \
    'd["failed"] == 0 and len(d["by"]) == 3'
j=$(tstat)
check_json "lb-threads 2: each loop took some (clients_by_loop)" "$j" \
    "d['threads'] == 2 and len($(farmq thr)['clients_by_loop']) == 2 and min($(farmq thr)['clients_by_loop']) >= 60"
check_json "lb-threads 2: stats sum both loops: 600 clients, 600 sessions on the servers" "$j" \
    "$(farmq thr)['clients'] == 600 and sum($(farmq thr)['clients_by_loop']) == 600 and sum(s['requests'] for s in $(farmq thr)['servers']) == 600 and sum(s['connections'] for s in $(farmq thr)['servers']) == 600"
echo "# clients by loop: $(jq_ "$j" "$(farmq thr)['clients_by_loop']") of 600"
out=$("$TOCSINCTL" -s "$T/state3/lb.sock" lb-stats)
case $out in
*"farm thr (roundrobin): 600 clients"*) pass "tocsinctl lb-stats shows the farm's total over both loops" ;;
*) failed "tocsinctl lb-stats" "$out" ;;
esac
# tcp persist across loops: each address's 20 connections (spread by the
# kernel over both loops) all on one member, with balance random.
bad=
for i in $(seq 60 69); do
    r=$($LBCLIENT "$TPE" 20 1 --source "127.0.0.$i")
    m=$(jq_ "$r" '",".join(sorted(d["by"])) if d["failed"] == 0 else "failed"')
    case $m in b1|b2|b3) ;; *) bad="$bad 127.0.0.$i:$m" ;; esac
done
j=$(tstat)
[ -z "$bad" ] &&
    pass "lb-threads 2: tcp persist holds across loops (10 addresses, 20 connections each, one member each)" ||
    failed "lb-threads 2: tcp persist across loops" "$bad"
check_json "lb-threads 2: those connections came through both loops" "$j" \
    "min($(farmq tpe)['clients_by_loop']) >= 20 and $(farmq tpe)['clients'] == 200"
touch "$T/lb_b2/down"
expect_state thr/b2 down 10
sleep 1
r=$($LBCLIENT "$THR" 300 6)
check_json "lb-threads 2: b2 down by probed: no loop sends it anything" "$r" \
    'd["failed"] == 0 and "b2" not in d["by"]'
rm -f "$T/lb_b2/down"
expect_state thr/b2 up 10
$LBCLIENT "$THR" 2000 6 >"$T/thr-reload.json" &
cpid=$!
for _ in 1 2; do
    sleep 0.4
    kill -HUP "$tpid"
done
wait "$cpid"
check_json "lb-threads 2: 2 reloads under load, 0 failed" \
    "$(cat "$T/thr-reload.json")" 'd["failed"] == 0 and d["ok"] == 2000'
kill -TERM "$tpid"
wait "$tpid"
rc=$?
if [ $rc = 0 ] && ! grep -qE "AddressSanitizer|LeakSanitizer|ThreadSanitizer|runtime error:" "$T/thr.log"
then pass "lb-threads 2: exits 0 on SIGTERM, cleanly"
else failed "lb-threads 2: exit $rc; $(tail -5 "$T/thr.log")"; fi

probed_stop
finish
