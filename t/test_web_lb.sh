#!/bin/bash
# t/test_web_lb.sh: the farm page shows tocsin-lb's figures when it
# balances the farm (its stats on STATE_DIR/lb.sock), as a CGI under
# lighttpd and in --serve; a farm it does not balance has none; a
# stopped balancer (SIGSTOP) never holds --serve: the farm page comes
# without the figures within about a second and other pages at once;
# SIGHUP to --serve finds the balancer's socket in the new state folder.
set -u
. "${srcdir:-.}/t/servers.sh" || exit 1
. "${srcdir:-.}/t/probed.sh" || exit 1
. "${srcdir:-.}/t/web.sh" || exit 1
servers_trap
. "${srcdir:-.}/t/lb.sh" || exit 1

start_lb_backends 2 || exit 1
H=127.0.0.1
LBP=$(servers_port) || exit 1
cat >"$T/probed.conf" <<CONF
set state-dir $T/state
set interval 1s
set timeout 1s
set retries 1
farm shop {
    balance roundrobin
    listen $H:$LBP http
    server b1 http://$H:$LB_B1_PORT/health
    server b2 http://$H:$LB_B2_PORT/health
}
farm plain {
    server p1 http://$H:$LB_B1_PORT/health
}
CONF
probed_start "$T/probed.conf" || exit 1
expect_state shop/b1 up
expect_state shop/b2 up
lb_start "$T/probed.conf" || exit 1
sleep 1
n=0
for i in $(seq 1 20); do
    curl -s -o /dev/null --max-time 5 "http://$H:$LBP/" && n=$((n + 1))
done
[ "$n" = 20 ] && pass "20 requests through the balancer" ||
    failed "only $n of 20 requests through the balancer"

start_serve "$T/probed.conf" || exit 1
start_lighttpd "$T/probed.conf" || exit 1
for pair in "$CGI_URL CGI" "$SERVE_URL serve"; do
    set -- $pair
    expect_code "$2 farm page shop" 200 "$1/farm/shop"
    body_has "$2 shop: balancer section" '<h2>balancer</h2><p id="balancer">tocsin-lb, roundrobin: <b id="lb-clients">20</b> clients'
    body_has "$2 shop: b1's requests" '<td class="id">shop/b1</td><td>up</td><td class="num">100%</td><td class="num">0</td><td class="num wide">[0-9]+</td><td class="num lb-requests">10</td>'
    body_has "$2 shop: b2's requests" '<td class="id">shop/b2</td><td>up</td>.*<td class="num lb-requests">10</td>'
    expect_code "$2 metrics" 200 "$1/metrics"
    body_has "$2 metrics: probed's own counters (its stats)" '^tocsin_probed_checks_total [0-9]+$'
    expect_code "$2 farm page plain" 200 "$1/farm/plain"
    body_lacks "$2 plain: not balanced, no section" 'id="balancer"'
done

# A balancer that stops answering (SIGSTOP): --serve does not wait on it.
kill -STOP "$LB_PID"
t0=$(date +%s%N)
curl -s -o "$T/slow" --max-time 10 "$SERVE_URL/farm/shop" &
cpid=$!
sleep 0.2
expect_code "serve: the overview while the balancer hangs" 200 "$SERVE_URL/"
t1=$(date +%s%N)
wait "$cpid"
t2=$(date +%s%N)
kill -CONT "$LB_PID"
if [ $(( (t1 - t0) / 1000000 )) -lt 900 ]; then
    pass "serve: another page at once ($(( (t1 - t0) / 1000000 )) ms)"
else
    failed "serve: another page waited $(( (t1 - t0) / 1000000 )) ms"
fi
if grep -q '<h1><span class="muted">farm</span> shop</h1>' "$T/slow" &&
    ! grep -q 'id="balancer"' "$T/slow" &&
    [ $(( (t2 - t0) / 1000000 )) -lt 2500 ]; then
    pass "serve: the farm page without figures after $(( (t2 - t0) / 1000000 )) ms"
else
    failed "serve: farm page with a stopped balancer ($(( (t2 - t0) / 1000000 )) ms)" "$(head -c 300 "$T/slow")"
fi
# A CGI before a balancer whose backlog is full (stopped, its socket's
# queue filled): the connect gives up after 1 s, the page comes without
# the figures (it waited 10 s for the connect).
kill -STOP "$LB_PID"
"$PY" - "$T/state/lb.sock" "$T/full.done" >"$T/full.out" 2>&1 <<'PYEOF' &
import os, socket, sys, time
held = []
for i in range(5000):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.setblocking(False)
    try:
        s.connect(sys.argv[1])
    except BlockingIOError:
        break
    held.append(s)
print("full after %d connections" % len(held), flush=True)
t0 = time.time()
while not os.path.exists(sys.argv[2]) and time.time() - t0 < 60:
    time.sleep(0.1)
PYEOF
FULL_PID=$!
for i in $(seq 1 100); do
    grep -q '^full' "$T/full.out" && break
    sleep 0.1
done
t0=$(date +%s%N)
REQUEST_METHOD=GET PATH_INFO=/farm/shop QUERY_STRING= \
    TOCSIN_CONF=$T/probed.conf "$WEBCGI" >"$T/body" 2>"$T/full-cgi.err"
t1=$(date +%s%N)
touch "$T/full.done"
wait "$FULL_PID"
kill -CONT "$LB_PID"
ms=$(( (t1 - t0) / 1000000 ))
if grep -q '^Status: 200' "$T/body" && ! grep -q 'id="balancer"' "$T/body" &&
    [ "$ms" -lt 4000 ]; then
    pass "cgi: a full balancer's socket costs 1 s at most ($ms ms, $(cat "$T/full.out"))"
else
    failed "cgi: a full balancer's socket: $ms ms ($(cat "$T/full.out"))" \
        "$(head -c 200 "$T/body")"
fi

expect_code "serve: the figures again once it runs" 200 "$SERVE_URL/farm/shop"
body_has "serve: balancer section back" 'id="balancer"'

# SIGHUP names tocsin-lb's socket again from the new state folder: a
# --serve started on a folder with no balancer's socket shows the
# figures once its config names the folder that has one.
mkdir -p "$T/other"
sed "s|^set state-dir .*|set state-dir $T/other\nset control $T/state/probed.sock|" \
    "$T/probed.conf" >"$T/hup.conf"
_srv_setport HUP_PORT || exit 1
LSAN_OPTIONS=$WEB_LSAN ASAN_OPTIONS=$WEB_ASAN _srv_spawn hupserve "$WEBCGI" \
    -c "$T/hup.conf" --serve "127.0.0.1:$HUP_PORT" || exit 1
_srv_wait hupserve "t:$HUP_PORT" || exit 1
expect_code "serve, another state folder: farm page shop" 200 \
    "http://127.0.0.1:$HUP_PORT/farm/shop"
body_lacks "serve, another state folder: no balancer there" 'id="balancer"'
sed "s|^set state-dir .*|set state-dir $T/state\nset control $T/state/probed.sock|" \
    "$T/probed.conf" >"$T/hup.conf"
kill -HUP "$(servers_pid hupserve)"
for i in $(seq 1 50); do
    grep -q 'reload: .*hup.conf' "$T/hupserve.log" && break
    sleep 0.1
done
expect_code "serve, after SIGHUP to the balancer's folder: farm page shop" 200 \
    "http://127.0.0.1:$HUP_PORT/farm/shop"
body_has "serve, after SIGHUP: the balancer's figures" 'id="balancer"'
# A config with two bad lines: the running one stays, and each error is
# logged on a line of its own, with the file and line it names.
cp "$T/hup.conf" "$T/hup.good"
printf 'server bad1 nope://x/\nserver bad2 http://x/ interval\n' >>"$T/hup.conf"
kill -HUP "$(servers_pid hupserve)"
for i in $(seq 1 50); do
    [ "$(grep -c 'reload failed, keeping the running config: .*hup.conf:[0-9]*: ' "$T/hupserve.log")" -ge 2 ] && break
    sleep 0.1
done
nl=$(wc -l <"$T/hup.good")
grep -q "reload failed, keeping the running config: $T/hup.conf:$((nl + 1)): unknown URL scheme 'nope'" "$T/hupserve.log" &&
    grep -q "reload failed, keeping the running config: $T/hup.conf:$((nl + 2)): " "$T/hupserve.log" &&
    pass "serve, a bad reload: each error logged on its own line, at its file:line" ||
    failed "serve, a bad reload: each error logged on its own line" "$(tail -5 "$T/hupserve.log")"
expect_code "serve, after a bad reload: the running config stays" 200 \
    "http://127.0.0.1:$HUP_PORT/farm/shop"
mv "$T/hup.good" "$T/hup.conf"
servers_stop hupserve

servers_stop serve
servers_stop lighttpd
lb_stop
log_clean tocsin.cgi "$T/serve.log" "$T/hupserve.log" "$T/lighttpd/error.log"
finish
