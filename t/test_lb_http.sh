#!/bin/bash
# t/test_lb_http.sh: tocsin-lb in http mode before three real nginx on
# 127.0.0.1, tocsin-probed watching them: spread, keep-alive both sides,
# X-Forwarded-For, a backend killed under keep-alive load costs no
# request, down and drained get nothing within 1 s, bad requests get
# 400/414/431 and cost only their connection, all down gets a 503 page.
set -u
. "${srcdir:-.}/t/servers.sh" || exit 1
. "${srcdir:-.}/t/probed.sh" || exit 1
servers_trap
. "${srcdir:-.}/t/lb.sh" || exit 1

start_lb_backends 3 || exit 1
RR=$(servers_port) FAST=$(servers_port) PH=$(servers_port)
LAT=$(servers_port) SLOW=$(servers_port)
_srv_spawn slow $SERVERS_ASUSER "$PY" "$SERVERS_TDIR/lbslow.py" "$SLOW" 50 ||
    exit 1
_srv_wait slow "t:$SLOW" || exit 1
B1=$LB_B1_PORT B2=$LB_B2_PORT B3=$LB_B3_PORT
H=127.0.0.1
cat >"$T/lb.conf" <<CONF
set state-dir $T/state
set interval 1s
set timeout 1s
set retries 1
set retry-interval 1s
farm rr {
    balance roundrobin
    listen $H:$RR http
    server b1 http://$H:$B1/health weight 1
    server b2 http://$H:$B2/health weight 2
    server b3 http://$H:$B3/health weight 1
}
farm ph {
    balance roundrobin
    persist 30s
    listen $H:$PH http
    server b1 http://$H:$B1/health
    server b2 http://$H:$B2/health
    server b3 http://$H:$B3/health
}
farm lat {
    listen $H:$LAT http
    interval 1h
    server b1 http://$H:$B1/health
    server b2 http://$H:$B2/health
    server slow http://$H:$SLOW/health
}
farm fast {
    listen $H:$FAST
    server b1 http://$H:$B1/health
    server b2 http://$H:$B2/health
    server b3 http://$H:$B3/health
}
CONF
probed_start "$T/lb.conf" || exit 1
lb_start "$T/lb.conf" || exit 1
for f in rr fast; do
    for b in b1 b2 b3; do wait_field "$f/$b" state up 15; done
done
assert_field fast/b3 state up

# --- spread, keep-alive, X-Forwarded-For -----------------------------------
r=$($LBCLIENT "$RR" 400 1 --keepalive)
check_json "http roundrobin 1:2:1, keep-alive: 400 requests are 100/200/100" \
    "$r" 'd["failed"] == 0 and d["by"] == {"b1": 100, "b2": 200, "b3": 100}'
r=$($LBCLIENT "$RR" 400 1)
check_json "http roundrobin, a connection each: 100/200/100" "$r" \
    'd["failed"] == 0 and d["by"] == {"b1": 100, "b2": 200, "b3": 100}'
if tail -1 "$T/lb_b1/access.log" | grep -q 'xff=127.0.0.1$'; then
    pass "X-Forwarded-For names the client"
else
    failed "no X-Forwarded-For: $(tail -1 "$T/lb_b1/access.log")"
fi
out=$(curl -s -H 'X-Forwarded-For: 192.0.2.7' "http://$H:$RR/xff")
if grep -q 'GET /xff HTTP/1.1 xff=192.0.2.7, 127.0.0.1$' \
    "$T"/lb_b*/access.log; then
    pass "X-Forwarded-For received is extended ($out)"
else
    failed "X-Forwarded-For not extended: $(grep -h /xff "$T"/lb_b*/access.log)"
fi
n=$(curl -s -w '%{num_connects}' -o /dev/null "http://$H:$RR/a" \
    -o /dev/null "http://$H:$RR/b" -o /dev/null "http://$H:$RR/c")
if [ "$n" = 100 ]; then pass "three requests on one client connection"
else failed "client keep-alive: connects $n"; fi
h=$(curl -s -D - -o /dev/null -H 'Connection: close' "http://$H:$RR/" |
    tr -d '\r' | grep -i '^connection:')
[ "$h" = "Connection: close" ] &&
    pass "a closing client's answer says Connection: close, once" ||
    failed "a closing client's answer has: $h"
h=$(curl -s -D - -o /dev/null "http://$H:$RR/" | tr -d '\r' |
    grep -ci '^connection: close')
[ "$h" = 0 ] && pass "a keep-alive client's answer does not say close" ||
    failed "a keep-alive client's answer says close"
h=$(curl -s -0 -D - -o /dev/null -H 'Connection: keep-alive' \
    "http://$H:$RR/" | tr -d '\r' | grep -i '^connection:')
[ "$h" = "Connection: keep-alive" ] &&
    pass "an HTTP/1.0 keep-alive client is told keep-alive" ||
    failed "an HTTP/1.0 keep-alive client's answer has: $h"
# A second run only when the first missed: on a loaded machine one nginx
# can lag for a while, and that is not herding; herding misses both.
r=$($LBCLIENT "$FAST" 3000 16 --keepalive)
[ "$(jq_ "$r" 'min(d["by"].values()) >= 500 and len(d["by"]) == 3')" = True ] ||
    r=$($LBCLIENT "$FAST" 3000 16 --keepalive)
check_json "http fastest, keep-alive, 16 at once: each member ≥ 500" "$r" \
    'd["failed"] == 0 and len(d["by"]) == 3 and min(d["by"].values()) >= 500'

# --- latency routing: a member 50 ms slower gets little ---------------------
r=$($LBCLIENT "$LAT" 1500 8 --keepalive)
echo "# lat: $r"
check_json "fastest: a member answering in 50 ms gets under 5 % of 1500" "$r" \
    'd["failed"] == 0 and d["by"].get("slow", 0) < 75'

# --- persist: a cookie keeps a client on its member -------------------------
first=$(curl -s -c "$T/jar" "http://$H:$PH/")
if grep -q 'tocsin_lb' "$T/jar"; then pass "persist sets a cookie"
else failed "persist set no cookie: $(cat "$T/jar")"; fi
same=0
for i in $(seq 1 20); do
    [ "$(curl -s -b "$T/jar" "http://$H:$PH/")" = "$first" ] &&
        same=$((same + 1))
done
[ "$same" = 20 ] && pass "persist: 20 requests with the cookie all on $first" ||
    failed "persist: only $same of 20 requests with the cookie on $first"
names=$(for i in 1 2 3; do curl -s "http://$H:$PH/"; done | sort -u | wc -l)
[ "$names" = 3 ] && pass "persist: without the cookie, roundrobin" ||
    failed "persist: without the cookie, $names members of 3"

# --- bad requests cost only their connection --------------------------------
code=$(raw "$RR" 'GARBAGE\r\n\r\n' | head -1)
[ "$code" = "HTTP/1.1 400 Bad Request" ] && pass "garbage gets 400" ||
    failed "garbage got '$code'"
code=$(curl -s -o /dev/null -w '%{http_code}' \
    "http://$H:$RR/$(head -c 9000 /dev/zero | tr '\0' a)")
[ "$code" = 414 ] && pass "a 9000-byte target gets 414" ||
    failed "long target got $code"
code=$(curl -s -o /dev/null -w '%{http_code}' \
    -H "X-Big: $(head -c 40000 /dev/zero | tr '\0' a)" "http://$H:$RR/")
[ "$code" = 431 ] && pass "40000 bytes of headers get 431" ||
    failed "big headers got $code"
r=$($LBCLIENT "$RR" 40 4 --keepalive)
check_json "after bad requests, the next clients are served" "$r" \
    'd["failed"] == 0 and d["ok"] == 40'
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST \
    -H 'Transfer-Encoding: chunked' -d 'hello' "http://$H:$RR/post")
[ "$code" = 200 ] && pass "a chunked POST is served" ||
    failed "chunked POST got $code"
n=$(raw "$RR" 'GET /p1 HTTP/1.1\r\nHost: a\r\n\r\nGET /p2 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
if [ "$(cat "$T"/lb_b*/access.log | grep -c 'GET /p[12] ')" = 2 ]; then
    pass "two pipelined requests both served"
else
    failed "pipelined requests: $(grep -h 'GET /p[12] ' "$T"/lb_b*/access.log)"
fi

# --- big bodies both ways -------------------------------------------------
want=$(sha256sum <"$T/big")
got=$(curl -s "http://$H:$RR/big" | sha256sum)
[ "$got" = "$want" ] && pass "4 MiB answer arrives whole" ||
    failed "4 MiB answer: sha256 differs"
head -c 524288 "$T/big" >"$T/half"
got=$(curl -s -o /dev/null -w '%{http_code} %{size_upload}' \
    --data-binary @"$T/half" -H 'Expect:' "http://$H:$RR/upload")
[ "$got" = "200 524288" ] && pass "512 KiB upload: 200" ||
    failed "512 KiB upload: $got"
got=$(curl -s -o /dev/null -w '%{http_code} %{size_upload}' \
    --data-binary @"$T/big" "http://$H:$RR/upload")
[ "$got" = "200 4194304" ] && pass "a 4 MiB request body is streamed: 200" ||
    failed "a 4 MiB request body got $got"
r=$($LBCLIENT "$RR" 20 2)
check_json "after the streamed body, the next clients are served" "$r" \
    'd["failed"] == 0'

# --- a backend killed under keep-alive load ---------------------------------
n3=$(hits 3)
$LBCLIENT "$FAST" 4000 16 --keepalive >"$T/kill.json" &
cpid=$!
# killed once it has answered some of this load, however slow the start
wait_for 10 eval '[ "$(hits 3)" -gt "$n3" ]'
sleep 0.2
servers_stop lb_b3 KILL
wait "$cpid"
r=$(cat "$T/kill.json")
check_json "http: b3 killed under keep-alive load: 4000 requests, 0 failed" \
    "$r" 'd["failed"] == 0 and d["ok"] == 4000'
check_json "b3 had taken some before it died" "$r" 'd["by"].get("b3", 0) > 0'
expect_state fast/b3 down 10
start_lb_backends 3 || exit 1
expect_state fast/b3 up 10
expect_state rr/b3 up 10

# --- down and drained: nothing new within 1 s --------------------------------
touch "$T/lb_b2/down"
expect_state rr/b2 down 10
sleep 1
n0=$(hits 2)
r=$($LBCLIENT "$RR" 300 4 --keepalive)
n1=$(hits 2)
check_json "http, b2 down by probed: 300 requests, 0 failed" "$r" \
    'd["failed"] == 0'
[ "$n0" = "$n1" ] && pass "http, b2 down by probed gets no request" ||
    failed "http, b2 down still got $((n1 - n0)) requests"
rm -f "$T/lb_b2/down"
expect_state rr/b2 up 10
ctl drain rr/b1 >/dev/null || failed "tocsinctl drain rr/b1"
sleep 1
n0=$(hits 1)
r=$($LBCLIENT "$RR" 300 4 --keepalive)
n1=$(hits 1)
check_json "http, b1 drained: 300 requests, 0 failed" "$r" 'd["failed"] == 0'
[ "$n0" = "$n1" ] && pass "http, drained b1 gets no request" ||
    failed "http, drained b1 still got $((n1 - n0)) requests"
ctl enable rr/b1 >/dev/null

# --- a member that resets: GET retried elsewhere, POST never replayed ------
# A second tocsin-lb with no probed to ask: only its own traffic judges.
start_badserver reset || exit 1
RG=$(servers_port) RP=$(servers_port)
cat >"$T/rst.conf" <<CONF
set state-dir $T/state3
set control $T/state3/none.sock
farm rg {
    balance roundrobin
    listen $H:$RG http
    server rst http://$H:$BAD_RESET_PORT/
    server b1 http://$H:$B1/health
}
farm rp {
    balance roundrobin
    listen $H:$RP http
    server rst http://$H:$BAD_RESET_PORT/
    server b1 http://$H:$B1/health
}
CONF
"$LB" -f -d -c "$T/rst.conf" >"$T/rst.log" 2>&1 &
rpid=$!
for i in $(seq 1 100); do
    grep -q started: "$T/rst.log" && break
    sleep 0.1
done
out=$(curl -s -w ' %{http_code}' "http://$H:$RG/retry" | tr -d '\n')
[ "$out" = "b1 200" ] &&
    pass "GET reset by its first member is answered by another" ||
    failed "GET on a resetting member: '$out'"
out=$(curl -s -o /dev/null -w '%{http_code}' -d x "http://$H:$RP/once")
n=$(grep -c 'POST /once' "$T/lb_b1/access.log")
[ "$out" = 502 ] && [ "$n" = 0 ] &&
    pass "POST reset by its member gets 502 and is not replayed" ||
    failed "POST on a resetting member: $out, replayed $n times"
r=$($LBCLIENT "$RP" 20 2 --keepalive)
check_json "then the resetting member is suspect: 20 requests served" "$r" \
    'd["failed"] == 0 and d["by"] == {"b1": 20}'
kill -TERM "$rpid"
wait "$rpid"
log_clean "the second tocsin-lb" "$T/rst.log"

# --- all down: 503 with a page ----------------------------------------------
touch "$T/lb_b1/down" "$T/lb_b2/down" "$T/lb_b3/down"
for b in b1 b2 b3; do wait_field "rr/$b" state down 10; done
out=$(curl -s -w ' %{http_code}' "http://$H:$RR/")
case $out in
*"503 Service Unavailable"*" 503") pass "all down: 503 with a page" ;;
*) failed "all down: got '$out'" ;;
esac

lb_stop
finish
