#!/bin/bash
# t/test_web_graphworkers.sh: tocsin.cgi --serve draws its graphs in worker
# processes, so a slow graph holds up nothing but itself. A real
# tocsin-probed writes alpha's archive through a real rrdcached, which
# --serve reads through too; rrdcached stopped (SIGSTOP) makes a graph
# wait on its flush, honestly. Meanwhile /api/status, /metrics and the
# overview answer (asserted while the graph is still pending, not against
# a time), and the graph comes, whole, once rrdcached goes on. A worker
# killed mid-graph costs that graph (500) and no other, and is replaced; a
# graph past --graph-timeout is given up (503, said so) and its worker
# replaced; graphs past the two workers and the queue of 32 are refused
# (503) and the rest drawn; two identical graphs asked together are drawn
# once (rrdcached's flushes counted), both answered with that image; a
# reload starts new workers.
set -u
. "${srcdir:-.}/t/servers.sh" || exit 1
. "${srcdir:-.}/t/probed.sh" || exit 1
. "${srcdir:-.}/t/web.sh" || exit 1
servers_trap

TIMEOUT=10	# --graph-timeout

probed_alpha_rrdcached || exit 1
start_serve "$T/probed.conf" --graph-timeout "$TIMEOUT" || exit 1
SERVE_PID=$(servers_pid serve)
RRD_PID=$(servers_pid rrdcached)

# workers: the ready graph workers' pids (a worker takes its name once
# ready), sorted, on one line.
workers() {
    pgrep -P "$SERVE_PID" -x tocsin-graph | sort -n | tr '\n' ' '
}

# wait_workers N OLD: up to 10 s until there are N workers, none of OLD.
wait_workers() {
    local i w p new
    for i in $(seq 1 100); do
        w=$(workers)
        new=1
        for p in $2; do
            case " $w" in *" $p "*) new=0 ;; esac
        done
        [ "$(echo $w | wc -w)" = "$1" ] && [ $new = 1 ] && return 0
        sleep 0.1
    done
    return 1
}

# is_png NAME | is_svg NAME: the body is a whole image of its kind.
is_png() {
    [ "$(head -c 8 "$T/$1.body" | od -An -tx1 | tr -d ' \n')" = \
        89504e470d0a1a0a ] && [ "$(tail -c 12 "$T/$1.body" |
        od -An -tx1 | tr -d ' \n' | cut -c9-16)" = 49454e44 ]
}
is_svg() {
    head -c 200 "$T/$1.body" | grep -q '<svg' &&
        tail -c 20 "$T/$1.body" | grep -q '</svg>'
}

expect_code "a graph, rrdcached running" 200 "$SERVE_URL/graph/alpha.png"
wait_workers 2 "" &&
    pass "two graph workers: $(workers)" ||
    failed "two graph workers: $(workers)"

# rrdcached stopped: two graphs wait on its flush, each in a worker.
while_stopped "rrdcached stopped" cont g1 "/graph/alpha.png?period=1w" \
    g2 "/graph/alpha.svg?period=1w"
check "rrdcached going on: the PNG graph ($(cat "$T/g1.code"))" \
    test "$(cat "$T/g1.code")" = 200
check "rrdcached going on: a whole PNG" is_png g1
check "rrdcached going on: the SVG graph ($(cat "$T/g2.code"))" \
    test "$(cat "$T/g2.code")" = 200
check "rrdcached going on: a whole SVG" is_svg g2

# A worker killed mid-graph: its graph alone is answered 500, at once;
# the other worker's comes once rrdcached goes on; a new worker starts.
before=$(workers)
kill -STOP "$RRD_PID"
get_bg k1 "/graph/alpha.png?period=1m"
get_bg k2 "/graph/alpha.png?period=1y"
sleep 1
victim=${before%% *}
kill -KILL "$victim"
for i in $(seq 1 100); do
    pending k1 && pending k2 || break
    sleep 0.1
done
if ! pending k1 && pending k2; then
    killed=k1 other=k2
else
    killed=k2 other=k1
fi
if pending "$killed"; then
    failed "worker $victim killed: no graph answered"
else
    check "worker $victim killed: its graph is answered 500 ($(cat "$T/$killed.code"))" \
        test "$(cat "$T/$killed.code")" = 500
    grep -q 'The process drawing the graph died' "$T/$killed.body" &&
        pass "worker killed: the page says its drawer died" ||
        failed "worker killed: the page" "$(head -c 600 "$T/$killed.body")"
    check "worker killed: the other graph is still pending" pending "$other"
fi
expect_code "worker killed: /api/status answers" 200 "$SERVE_URL/api/status"
kill -CONT "$RRD_PID"
wait_done "$other"
check "worker killed: the other graph comes ($(cat "$T/$other.code"))" \
    test "$(cat "$T/$other.code")" = 200
check "worker killed: the other graph is a whole PNG" is_png "$other"
wait_workers 2 "$victim" &&
    pass "worker killed: replaced ($before-> $(workers))" ||
    failed "worker killed: not replaced ($before-> $(workers))"
expect_code "worker killed: the next graph is drawn" 200 \
    "$SERVE_URL/graph/alpha.png?period=1m"
grep -q "graph worker $victim died drawing alpha (killed by signal 9): started again" \
    "$T/serve.log" && pass "worker killed: logged" ||
    failed "worker killed: not logged" "$(tail -n 5 "$T/serve.log")"

# A graph past --graph-timeout: given up, said so; its worker killed and
# replaced; the status pages answer meanwhile.
before=$(workers)
while_stopped "a graph past its time" done \
    t1 "/graph/alpha.png?period=3h&size=small"
check "a graph past $TIMEOUT s is answered 503 ($(cat "$T/t1.code"))" \
    test "$(cat "$T/t1.code")" = 503
grep -q "The graph took over $TIMEOUT s to draw and was given up" \
    "$T/t1.body" && pass "a graph past its time: the page says so" ||
    failed "a graph past its time: the page" "$(head -c 600 "$T/t1.body")"
grep -q "graph worker [0-9]* killed after $TIMEOUT s drawing alpha (killed by signal 9): started again" \
    "$T/serve.log" && pass "a graph past its time: logged" ||
    failed "a graph past its time: not logged" "$(tail -n 5 "$T/serve.log")"
wait_workers 2 "" && [ "$(workers)" != "$before" ] &&
    pass "a graph past its time: its worker replaced ($before-> $(workers))" ||
    failed "a graph past its time: not replaced ($before-> $(workers))"
expect_code "a graph past its time: the next graph is drawn" 200 \
    "$SERVE_URL/graph/alpha.png?period=3h&size=small"

# 35 graphs at once with rrdcached stopped: two drawn, 32 queued, one
# refused at once (503); the 34 come once rrdcached goes on.
kill -STOP "$RRD_PID"
if "$PY" - "$SERVE_PORT" "$RRD_PID" >"$T/queue.out" 2>&1 <<'PYEOF'
import os, signal, socket, sys, time
port, rrd = int(sys.argv[1]), int(sys.argv[2])
socks = []
start = int(time.time()) - 86400
for i in range(35):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /graph/alpha.png?start=%d HTTP/1.1\r\nHost: x\r\n"
              b"Connection: close\r\n\r\n" % (start - 60 * i))
    socks.append(s)
    time.sleep(0.05)
def whole(s, wait):
    s.settimeout(wait)
    data = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                return data
            data += d
    except socket.timeout:
        return None
early = [whole(s, 0.1) for s in socks]
refused = [d for d in early if d is not None]
print("answered with rrdcached stopped: %d: %s" %
      (len(refused), [d.split(b"\r\n")[0] for d in refused]))
os.kill(rrd, signal.SIGCONT)
late = [whole(s, 90) for s, d in zip(socks, early) if d is None]
ok = [d for d in late if d and d.startswith(b"HTTP/1.1 200")
      and b"\r\n\r\n\x89PNG\r\n\x1a\n" in d]
print("then: %d of %d a 200 with a PNG" % (len(ok), len(late)))
assert len(refused) == 1 and refused[0].startswith(b"HTTP/1.1 503")
assert b"Too many graphs are waiting" in refused[0]
assert len(late) == 34 and len(ok) == 34
PYEOF
then
    pass "35 graphs at once: one refused (503), 34 drawn ($(tr '\n' ' ' <"$T/queue.out"))"
else
    failed "35 graphs at once" "$(cat "$T/queue.out")"
fi
kill -CONT "$RRD_PID"
expect_code "after the queue: /api/status answers" 200 "$SERVE_URL/api/status"

# Two identical graphs, not cached, asked while one is drawn: drawn once.
# A drawing asks rrdcached to flush the archive (FLUSH, counted in its
# STATS): one cold graph's flushes first, then the pair's, rrdcached
# stopped meanwhile so both wait on the one drawing. The pair shares its
# ETag's minute (through rrdcached a graph's ETag is of the minute).
flushes() {
    rrdcached_stat FlushesReceived
}
# hdr NAME HEADER: HEADER's value in get_bg NAME's headers ($T/NAME.hdrs),
# or with NAME '' in fetch's ($T/hdrs).
hdr() {
    tr -d '\r' <"$T/${1:+$1.}hdrs" | sed -n "s/^$2: //Ip"
}
f0=$(flushes)
expect_code "one cold graph" 200 "$SERVE_URL/graph/alpha.svg?period=1w&size=small"
f1=$(flushes)
one=$((f1 - f0))
check "one cold graph: rrdcached asked to flush ($f0 -> $f1)" test "$one" -gt 0
fetch "$SERVE_URL/metrics"
drawn0=$(sed -n 's/^tocsin_web_graphs_drawn_total //p' "$T/body")
shared0=$(sed -n 's/^tocsin_web_graphs_shared_total //p' "$T/body")
while [ $(($(date +%s) % 60)) -ge 55 ]; do
    sleep 1
done
kill -STOP "$RRD_PID"
get_bg c1 "/graph/alpha.png?period=1w&size=small"
get_bg c2 "/graph/alpha.png?period=1w&size=small"
sleep 1
check "the same graph twice, rrdcached stopped: both wait" \
    eval 'pending c1 && pending c2'
kill -CONT "$RRD_PID"
wait_done c1 c2
f2=$(flushes)
check "the same graph twice: both answered ($(cat "$T/c1.code") $(cat "$T/c2.code"))" \
    test "$(cat "$T/c1.code") $(cat "$T/c2.code")" = "200 200"
check "the same graph twice: drawn once (flushes $f1 -> $f2, one graph's $one)" \
    test $((f2 - f1)) = "$one"
check "the same graph twice: one image" cmp -s "$T/c1.body" "$T/c2.body"
check "the same graph twice: a whole PNG" is_png c1
check "the same graph twice: one ETag ($(hdr c1 etag))" \
    test -n "$(hdr c1 etag)" -a "$(hdr c1 etag)" = "$(hdr c2 etag)"
fetch "$SERVE_URL/metrics"
check "the same graph twice: /metrics counts one drawing, one shared" \
    test "$(sed -n 's/^tocsin_web_graphs_drawn_total //p' "$T/body") $(sed -n 's/^tocsin_web_graphs_shared_total //p' "$T/body")" = \
    "$((${drawn0:-0} + 1)) $((${shared0:-0} + 1))"
# The same graph again, from the cache. Its ETag is of the minute: should
# the minute have turned since the pair (a slow machine), that one is
# drawn anew and cached, and the next is the one from the cache.
f3=$(flushes)
expect_code "the same graph again: from the cache" 200 \
    "$SERVE_URL/graph/alpha.png?period=1w&size=small"
if [ "$(hdr '' etag)" != "$(hdr c1 etag)" ]; then
    echo "# the minute turned since the pair ($(hdr c1 etag) -> $(hdr '' etag)): once more"
    f3=$(flushes)
    expect_code "the same graph again, in the new minute: from the cache" \
        200 "$SERVE_URL/graph/alpha.png?period=1w&size=small"
fi
check "the same graph again: not drawn (flushes $f3 -> $(flushes))" \
    test "$(flushes)" = "$f3"

# SIGHUP: new workers, with the config read again; graphs still drawn.
before=$(workers)
kill -HUP "$SERVE_PID"
wait_workers 2 "$before" &&
    pass "reload: new graph workers ($before-> $(workers))" ||
    failed "reload: the graph workers ($before-> $(workers))"
expect_code "reload: a graph" 200 "$SERVE_URL/graph/alpha.svg?period=1d"
if grep 'graph worker' "$T/serve.log" | grep -qv 'killed by signal 9'; then
    failed "reload: a worker's end logged" "$(grep 'graph worker' "$T/serve.log")"
else
    pass "reload: the workers asked to end are not logged"
fi

# gone PID...: none of them runs as a graph worker.
gone() {
    local p
    for p in "$@"; do
        [ "$(cat "/proc/$p/comm" 2>/dev/null)" = tocsin-graph ] &&
            return 1
    done
    return 0
}
last=$(workers)
servers_stop serve
check "stopped: its graph workers ($last) are gone" gone $last
probed_stop
log_clean tocsin.cgi "$T/serve.log"
finish
