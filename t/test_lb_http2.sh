#!/bin/bash
# t/test_lb_http2.sh: tocsin-lb's HTTP/1.1 at its edges, before
# t/lbscript.py (a server that answers what nginx will not send) and real
# nginx, no probed: a chunked request's trailers never reach the head;
# 204 and 304 end with their head; weight 0 gets nothing in any algorithm;
# hop-by-hop fields go neither way; an HTTP/1.0 client gets no chunks and
# no 1xx; a Forwarded not well formed is dropped; pipelined requests then
# a half-close are all answered; a head cut short gets 502 or another
# member; EMFILE blames no member; a reload reaches keep-alive clients.
set -u
. "${srcdir:-.}/t/servers.sh" || exit 1
. "${srcdir:-.}/t/probed.sh" || exit 1
servers_trap
. "${srcdir:-.}/t/lb.sh" || exit 1

start_lb_backends 3 || exit 1
SP=$(servers_port)
_srv_spawn script $SERVERS_ASUSER "$PY" "$SERVERS_TDIR/lbscript.py" "$SP" ||
    exit 1
_srv_wait script "t:$SP" || exit 1
B1=$LB_B1_PORT B2=$LB_B2_PORT B3=$LB_B3_PORT
H=127.0.0.1
ONE=$(servers_port) TWO=$(servers_port) KA=$(servers_port)
cat >"$T/lb.conf" <<CONF
set state-dir $T/state
set control $T/state/none.sock
farm one {
    listen $H:$ONE http
    server-timeout 2s
    server s http://$H:$SP/
}
farm ka {
    balance roundrobin
    listen $H:$KA http
    server b1 http://$H:$B1/health
    server b2 http://$H:$B2/health
}
farm two {
    balance roundrobin
    listen $H:$TWO http
    server s http://$H:$SP/
    server b1 http://$H:$B1/health
}
CONF
ALGOS="fastest leastconn roundrobin source random"
for a in $ALGOS tcp; do
    port=$(servers_port)
    eval "W_$a=$port"
    if [ $a = tcp ]; then algo=fastest listen="$H:$port"
    else algo=$a listen="$H:$port http"; fi
    cat >>"$T/lb.conf" <<CONF
farm w_$a {
    balance $algo
    listen $listen
    server b1 http://$H:$B1/health weight 1
    server b2 http://$H:$B2/health weight 1
    server b3 http://$H:$B3/health weight 0
}
CONF
done
lb_start "$T/lb.conf" || exit 1

# --- 1. a chunked request's trailers stay out of the forwarded head ---------
out=$(raw "$ONE" 'POST /echo HTTP/1.1\r\nHost: good\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\nHost: evil\r\nX-A: b\r\nTransfer-Encoding: chunked\r\n\r\n')
echo "$out" | sed 's/^/# /'
hosts=$(echo "$out" | grep -ci '^host:')
if [ "$hosts" = 1 ] && echo "$out" | grep -qx 'Host: good' &&
    echo "$out" | grep -qx 'X-Forwarded-For: 127.0.0.1' &&
    ! echo "$out" | grep -qi '^x-a:\|^transfer-encoding:\|evil'; then
    pass "chunked trailers: one Host, X-Forwarded-For alone on its line"
else
    failed "chunked trailers reached the head: $out"
fi

# --- 2. 204 and 304 have no body, whatever their length says ----------------
for st in 304 204; do
    out=$(raw "$ONE" "GET /$st HTTP/1.1\r\nHost: a\r\n\r\nGET /after HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    n=$(echo "$out" | grep -c '^HTTP/1.1 ')
    served=$(echo "$out" | sed -n 's/^X-Served: //p' | tr '\n' ' ')
    if [ "$n" = 2 ] && echo "$out" | grep -q "^HTTP/1.1 $st " &&
        echo "$out" | grep -qx '/after' &&
        [ "$(echo $served | awk '{ print $2 - $1 }')" = 1 ]; then
        pass "a $st with a length, then the next request on the same connections ($served)"
    else
        failed "a $st with a length stalled the client: $out"
    fi
done
if grep -q 'one/s: \|one/s .*suspect' "$T/lb.log"; then
    failed "a member answering 204 or 304 was blamed: $(grep 'one/s' "$T/lb.log")"
else
    pass "a member answering 204 or 304 is not blamed"
fi

# --- 3. weight 0: no new traffic, in every algorithm -------------------------
for a in $ALGOS tcp; do
    r=$($LBCLIENT "$(eval echo "\$W_$a")" 60 2)
    check_json "weight 0 ($a): b3 gets none of 60, b1 and b2 share them" "$r" \
        'd["failed"] == 0 and "b3" not in d["by"] and sum(d["by"].values()) == 60'
done
# source: from one address all goes to one member; 16 addresses spread.
map=$(for i in $(seq 1 16); do
    $LBCLIENT "$W_source" 3 1 --source 127.0.0.$i |
        "$PY" -c 'import json,sys; print(*json.load(sys.stdin)["by"])'
done | sort | uniq -c | tr -s ' \n' ' ')
case "$map" in
*b3*) failed "weight 0 (source, 16 addresses): b3 got some: $map" ;;
*b1*b2*) pass "weight 0 (source, 16 addresses): b1 and b2 only: $map" ;;
*) failed "weight 0 (source, 16 addresses): $map" ;;
esac
r=$($LBCLIENT "$W_roundrobin" 40 1 --keepalive)
check_json "weight 0, roundrobin: 1:1:0 is 20/20/0" "$r" \
    'd["failed"] == 0 and d["by"] == {"b1": 20, "b2": 20}'

# --- 4. hop-by-hop headers, and those Connection names, go neither way ------
out=$(raw "$ONE" 'GET /echo HTTP/1.1\r\nX-Internal: secret\r\nHost: good\r\nConnection: close, X-Internal\r\nProxy-Connection: keep-alive\r\nX-Keep: yes\r\nConnection: x-other\r\nX-Other: 1\r\n\r\n')
out=$(echo "$out" | sed '1,/^$/d')	# the head the member got
echo "$out" | sed 's/^/# /'
if echo "$out" | grep -qx 'X-Keep: yes' && echo "$out" | grep -qx 'Host: good' &&
    ! echo "$out" | grep -qi '^x-internal\|^proxy-connection\|^x-other\|^connection'; then
    pass "request: fields Connection names, and Proxy-Connection, are dropped"
else
    failed "request: hop-by-hop fields went on: $out"
fi
out=$(raw "$ONE" 'GET /hop HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
if echo "$out" | grep -qx 'X-Kept: k' && echo "$out" | grep -qx 'hop' &&
    [ "$(echo "$out" | grep -ci '^connection:')" = 1 ] &&
    echo "$out" | grep -qx 'Connection: close' &&
    ! echo "$out" | grep -qi '^x-secret\|^proxy-connection\|^upgrade\|^keep-alive'; then
    pass "answer: fields Connection names, Proxy-Connection and Upgrade are dropped"
else
    failed "answer: hop-by-hop fields reached the client: $out"
fi

# --- 5. an HTTP/1.0 client: no chunks, no 1xx --------------------------------
out=$(raw "$ONE" 'GET /chunked HTTP/1.0\r\nHost: a\r\n\r\n')
body=$(echo "$out" | sed '1,/^$/d')
if [ "$body" = "hello chunked world" ] &&
    ! echo "$out" | grep -qi '^transfer-encoding' &&
    echo "$out" | grep -qx 'Connection: close'; then
    pass "HTTP/1.0 client: a chunked answer comes de-chunked, ended by the close"
else
    failed "HTTP/1.0 client, chunked answer: $out"
fi
out=$(raw "$ONE" 'GET /chunked HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
echo "$out" | grep -qi '^transfer-encoding: chunked' &&
    echo "$out" | grep -qx '0' &&
    pass "HTTP/1.1 client: a chunked answer stays chunked" ||
    failed "HTTP/1.1 client, chunked answer: $out"
out=$(raw "$ONE" 'GET /continue HTTP/1.0\r\nHost: a\r\n\r\n')
if ! echo "$out" | grep -q ' 100 ' && echo "$out" | grep -q '^HTTP/1.1 200 ' &&
    [ "$(echo "$out" | sed '1,/^$/d')" = yes ]; then
    pass "HTTP/1.0 client: a member's 100 Continue is not passed on"
else
    failed "HTTP/1.0 client got: $out"
fi
out=$(raw "$ONE" 'POST /echo HTTP/1.0\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi')
if ! echo "$out" | grep -q ' 100 ' && echo "$out" | grep -q '^HTTP/1.1 200 '; then
    pass "HTTP/1.0 client: no 100 Continue of our own"
else
    failed "HTTP/1.0 client with Expect got: $out"
fi

# --- 6. a Forwarded not well formed is dropped, not appended to --------------
out=$(raw "$ONE" 'GET /echo HTTP/1.1\r\nHost: a\r\nForwarded: for=6.6.6.6;x="\r\nConnection: close\r\n\r\n')
fwd=$(echo "$out" | grep -i '^forwarded:')
[ "$fwd" = "Forwarded: for=127.0.0.1;proto=http" ] &&
    pass "Forwarded with an open quote: dropped, ours alone ($fwd)" ||
    failed "Forwarded with an open quote: $fwd"
out=$(raw "$ONE" 'GET /echo HTTP/1.1\r\nHost: a\r\nForwarded: for=192.0.2.1;by="[2001:db8::1]", for=_x\r\nConnection: close\r\n\r\n')
fwd=$(echo "$out" | grep -i '^forwarded:')
[ "$fwd" = 'Forwarded: for=192.0.2.1;by="[2001:db8::1]", for=_x, for=127.0.0.1;proto=http' ] &&
    pass "a well-formed Forwarded is appended to" ||
    failed "a well-formed Forwarded became: $fwd"

# --- 7. pipelined requests, then the client's end: each is answered ---------
out=$(raw "$ONE" 'GET /p1 HTTP/1.1\r\nHost: a\r\n\r\nGET /p2 HTTP/1.1\r\nHost: a\r\n\r\nGET /p3 HTTP/1.1\r\nHost: a\r\n\r\nGET /p4 HTTP/1.1\r\nHo' shut)
got=$(echo "$out" | grep '^/p' | tr '\n' ' ')
if [ "$got" = "/p1 /p2 /p3 " ] && ! echo "$out" | grep -q '<timeout>' &&
    [ "$(echo "$out" | grep -c '^HTTP/1.1 200 ')" = 3 ]; then
    pass "three pipelined requests and a half-close: three answers, then the close"
else
    failed "pipelined, half-closed: $got: $out"
fi

# --- 10. a head cut short or no HTTP, then the close: 502, or another ------
out=$(raw "$ONE" 'GET /partial HTTP/1.1\r\nHost: a\r\n\r\n')
case $out in
"HTTP/1.1 502 Bad Gateway"*) pass "GET, a head cut short, no other member: 502" ;;
*) failed "GET, a head cut short: '$out'" ;;
esac
out=$(raw "$ONE" 'POST /garbage HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nx')
case $out in
"HTTP/1.1 502 Bad Gateway"*) pass "POST, a head that is no HTTP: 502" ;;
*) failed "POST, a head that is no HTTP: '$out'" ;;
esac
out=$(curl -s -m 5 -w ' %{http_code}' "http://$H:$TWO/partial" | tr -d '\n')
[ "$out" = "b1 200" ] &&
    pass "GET, a head cut short: answered by another member" ||
    failed "GET, a head cut short, two members: '$out'"

# --- 8. out of descriptors here: 503, and no member is blamed ---------------
# A second tocsin-lb, one loop, whose descriptor limit, once it has read
# it (at its first accept), is lowered to leave one free: the client's
# accept takes it, the member's socket(2) gets EMFILE.
FD=$(servers_port)
cat >"$T/fd.conf" <<CONF
set state-dir $T/state4
set control $T/state4/none.sock
set lb-threads 1
farm fd {
    balance roundrobin
    listen $H:$FD http
    server m1 http://$H:$B1/health
    server m2 http://$H:$B2/health
}
CONF
"$LB" -f -d -c "$T/fd.conf" >"$T/fd.log" 2>&1 &
fpid=$!
for i in $(seq 1 100); do
    grep -q started: "$T/fd.log" && break
    sleep 0.1
done
curl -s -o /dev/null "http://$H:$FD/warm"	# to m1, pooled
limit=$("$PY" - "$fpid" <<'PYEOF'
import os, sys
fds = sorted(int(f) for f in os.listdir("/proc/%s/fd" % sys.argv[1]))
lim = 1
while lim - len([f for f in fds if f < lim]) != 1:
    lim += 1
print(lim)
PYEOF
)
prlimit --pid "$fpid" --nofile="$limit:" || failed "prlimit"
out=$(curl -s -m 5 -w ' %{http_code}' "http://$H:$FD/x" | tr -d '\n')
prlimit --pid "$fpid" --nofile="$(ulimit -n):" || failed "prlimit"
case $out in
*"out of resources"*" 503") pass "no socket for a member: 503 ($limit descriptors)" ;;
*) failed "no socket for a member (limit $limit): '$out'" ;;
esac
if grep -q 'suspect\|fd/m[12]: connect' "$T/fd.log"; then
    failed "a member was blamed for our EMFILE: $(grep 'fd/m' "$T/fd.log")"
else
    pass "no member blamed for our EMFILE"
fi
r=$($LBCLIENT "$FD" 20 1)
check_json "descriptors back: both members serve again" "$r" \
    'd["failed"] == 0 and d["by"] == {"b1": 10, "b2": 10}'
kill -TERM "$fpid"
wait "$fpid"
log_clean "the second tocsin-lb" "$T/fd.log"

# --- 11. after a reload, a keep-alive client's requests go to the new farm -
"$PY" - "$KA" "$T/ka" >"$T/ka.out" 2>&1 <<'PYEOF' &
import os, socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
f = s.makefile("rb")

def get(i):
    s.sendall(b"GET /ka%d HTTP/1.1\r\nHost: a\r\n\r\n" % i)
    n = 0
    while True:
        line = f.readline()
        if line in (b"\r\n", b""):
            break
        if line.lower().startswith(b"content-length:"):
            n = int(line.split(b":")[1])
    print(f.read(n).decode().strip(), flush=True)

get(0)
get(1)
open(sys.argv[2] + ".ready", "w").close()
for i in range(100):
    if os.path.exists(sys.argv[2] + ".go"):
        break
    time.sleep(0.1)
print("go", flush=True)
for i in range(2, 12):
    get(i)
PYEOF
kpid=$!
for i in $(seq 1 50); do [ -f "$T/ka.ready" ] && break; sleep 0.1; done
"$PY" - "$T/lb.conf" <<'PYEOF'
import re, sys
s = open(sys.argv[1]).read()
s = re.sub(r"(farm ka \{[^}]*?)\n    server b2 [^\n]*", r"\1", s)
open(sys.argv[1], "w").write(s)
PYEOF
n0=$(grep -c 'reloaded:' "$T/lb.log")
kill -HUP "$LB_PID"
for i in $(seq 1 50); do
    [ "$(grep -c 'reloaded:' "$T/lb.log")" -gt "$n0" ] && break
    sleep 0.1
done
sleep 0.5	# the other loops reload after the first
touch "$T/ka.go"
wait "$kpid"
before=$(sed -n '1,/^go$/p' "$T/ka.out" | grep -v go | sort -u | tr '\n' ' ')
after=$(sed '1,/^go$/d' "$T/ka.out" | sort | uniq -c | tr -s ' \n' ' ')
[ "$before" = "b1 b2 " ] && [ "$after" = " 10 b1 " ] &&
    pass "reload without b2: a keep-alive client's next 10 requests all on b1" ||
    failed "reload without b2: before '$before', after '$after': $(cat "$T/ka.out")"

lb_stop
finish
