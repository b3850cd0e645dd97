#!/bin/bash
# t/test_web_serve.sh: tocsin.cgi --serve as an HTTP server, on raw
# sockets where curl would hide what goes over the wire: HEAD on a
# kept-alive connection; a client that sends its request a byte at a
# time; more connections than it takes; accept out of descriptors; a
# graph's ETag when the archives go through rrdcached; 404s that do not
# ask probed. A real
# tocsin-probed watches an exec plugin, its archives through a real
# rrdcached.
set -u
. "${srcdir:-.}/t/servers.sh" || exit 1
. "${srcdir:-.}/t/probed.sh" || exit 1
. "${srcdir:-.}/t/web.sh" || exit 1
servers_trap

probed_alpha_rrdcached || exit 1
start_serve "$T/probed.conf" || exit 1

# Through rrdcached the archive's mtime says nothing of new rows: the
# ETag follows the clock, a minute at a time (the graph's cache life).
# Its first tag here, and the 304 asked well before the minute turns (the
# pair starts before second 50); the minute is checked at the end.
while [ $(( $(date +%s) % 60 )) -ge 50 ]; do sleep 1; done
for i in 1 2 3; do
    etag_min=$(( $(date +%s) / 60 ))
    fetch "$SERVE_URL/graph/alpha.png?period=3h"
    etag1=$(tr -d '\r' <"$T/hdrs" | sed -n 's/^[Ee][Tt][Aa][Gg]: //p')
    [ "$etag_min" = $(( $(date +%s) / 60 )) ] && break
done
check "serve, rrdcached: a graph ($CODE) with an ETag ($etag1)" \
    test "$CODE" = 200 -a -n "$etag1"
expect_code "serve, rrdcached: 304 on its ETag within the minute" 304 \
    "$SERVE_URL/graph/alpha.png?period=3h" -H "If-None-Match: $etag1"

# A graph's start before 1980 (librrd draws none) is a bad request, said
# so, not a graph that failed.
for q in "start=0&end=600" "start=315360000&end=315363600" "start=0"; do
    expect_code "serve: graph $q" 400 "$SERVE_URL/graph/alpha.png?$q"
    body_has "serve: graph $q says why" 'start and end are Unix seconds after 1980'
done
expect_code "serve: graph from 1980" 200 \
    "$SERVE_URL/graph/alpha.svg?start=315532800&end=315536400"

# An address that is no page is answered 404 without asking probed (its
# log counts the control connections); the overview does ask.
ctl_conns() { grep -c 'control: .* connected' "$T/probed.log"; }
n0=$(ctl_conns)
for p in /favicon.ico /robots.txt /nosuch /api /server; do
    expect_code "serve: $p" 404 "$SERVE_URL$p"
    REQUEST_METHOD=GET PATH_INFO=$p QUERY_STRING= TOCSIN_CONF=$T/probed.conf \
        "$WEBCGI" >"$T/body" 2>>"$T/cgi.err"
    body_has "cgi: $p: 404" '^Status: 404'
done
sleep 0.5
n1=$(ctl_conns)
check "404s: probed not asked ($n0 control connections before, $n1 after)" \
    test "$n1" = "$n0"
expect_code "serve: the overview" 200 "$SERVE_URL/"
sleep 0.5
n2=$(ctl_conns)
check "the overview asks probed ($n1 control connections before, $n2 after)" \
    test "$n2" -gt "$n1"

# HEAD then GET on one connection: HEAD's answer has GET's Content-Length
# and no body, so the GET's answer that follows parses as one.
if "$PY" - "$SERVE_PORT" >"$T/head.out" 2>&1 <<'PYEOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
f = s.makefile("rb")
def head():
    line = f.readline()
    hdrs = {}
    while True:
        l = f.readline()
        if l in (b"\r\n", b""):
            break
        k, _, v = l.decode("latin-1").partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return line, hdrs
s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
line, h = head()
assert line.startswith(b"HTTP/1.1 200"), line
glen = int(h["content-length"])
f.read(glen)
s.sendall(b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n")
line, hh = head()
assert line.startswith(b"HTTP/1.1 200"), ("HEAD", line)
s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
line, h = head()
bad = []
if not line.startswith(b"HTTP/1.1 200"):
    bad.append("the answer after HEAD's starts %r" % line[:60])
elif f.read(int(h["content-length"])) != b"ok\n":
    bad.append("/healthz's body")
# The page's length may move by a digit or two between GET and HEAD.
if abs(int(hh.get("content-length", -1000)) - glen) > 64:
    bad.append("HEAD's Content-Length %s, GET's %d" %
               (hh.get("content-length"), glen))
assert not bad, bad
PYEOF
then
    pass "serve: HEAD / on a kept-alive connection: GET's length, no body; the next answer parses"
else
    failed "serve: HEAD on a kept-alive connection" "$(tail -n 5 "$T/head.out")"
fi

# A client that sends its head a byte a second (each byte restarts the
# 30 s idle timeout) is closed by the 10 s deadline of a request; a
# normal client is answered meanwhile.
"$PY" - "$SERVE_PORT" >"$T/trickle.out" 2>&1 <<'PYEOF' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(1)
t0 = time.time()
s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
why = "still open after 40 s"
while time.time() - t0 < 40:
    try:
        d = s.recv(100)
        why = "closed" if d == b"" else "answered %r" % d[:30]
        break
    except socket.timeout:
        pass
    except OSError as e:
        why = "closed (%s)" % e.__class__.__name__
        break
    try:
        s.sendall(b"a")
    except OSError as e:
        why = "closed (%s)" % e.__class__.__name__
        break
print("%s after %.1f s" % (why, time.time() - t0))
PYEOF
TRICKLE_PID=$!
sleep 2
expect_code "serve: answers while a client trickles its head" 200 \
    "$SERVE_URL/healthz"
wait "$TRICKLE_PID"
t=$(sed -n 's/^closed.* after \([0-9]*\)\..*/\1/p' "$T/trickle.out")
if [ -n "$t" ] && [ "$t" -ge 8 ] && [ "$t" -lt 20 ]; then
    pass "serve: a head trickled a byte a second is closed by the deadline ($(cat "$T/trickle.out"))"
else
    failed "serve: a trickled head: $(cat "$T/trickle.out")"
fi

# 300 connections at once: the first 256 are held (until the deadline),
# the others closed at once; once they close, /healthz answers.
"$PY" - "$SERVE_PORT" >"$T/cap.out" 2>&1 <<'PYEOF'
import socket, sys, time
port = int(sys.argv[1])
socks = []
for i in range(300):
    socks.append(socket.create_connection(("127.0.0.1", port)))
    time.sleep(0.002)
def closed(s, wait):
    s.settimeout(wait)
    try:
        return s.recv(1) == b""
    except socket.timeout:
        return False
    except OSError:
        return True
time.sleep(1)
late = sum(closed(s, 0.05) for s in socks[260:])
early = sum(closed(s, 0.01) for s in socks[:200])
for s in socks:
    s.close()
print("closed at once: %d of the last 40, %d of the first 200" % (late, early))
assert late == 40 and early == 0
PYEOF
rc=$?
if [ $rc = 0 ]; then
    pass "serve: over 256 connections, the next are closed at once ($(cat "$T/cap.out"))"
else
    failed "serve: the cap on connections" "$(tail -n 3 "$T/cap.out")"
fi
expect_code "serve: answers once the connections are closed" 200 \
    "$SERVE_URL/healthz"
grep -q '256 connections open: one more closed' "$T/serve.log" &&
    pass "serve: the cap is logged" || failed "serve: the cap is not logged"

# Out of descriptors (an fd limit of 48): accept rests instead of
# failing again at once, for ever (100 % CPU); /healthz answers again once
# the clients close their connections.
_srv_setport LOW_PORT || exit 1
LSAN_OPTIONS=$WEB_LSAN ASAN_OPTIONS=$WEB_ASAN _srv_spawn lowfd bash -c \
    'ulimit -n 48 && exec "$@"' lowfd "$WEBCGI" -c "$T/probed.conf" \
    --serve "127.0.0.1:$LOW_PORT" || exit 1
_srv_wait lowfd "t:$LOW_PORT" || exit 1
LOW_PID=$(servers_pid lowfd)
"$PY" - "$LOW_PORT" "$LOW_PID" >"$T/lowfd.out" 2>&1 <<'PYEOF'
import os, socket, sys, time, urllib.request
port, pid = int(sys.argv[1]), sys.argv[2]
def cpu():
    f = open("/proc/%s/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(80)]
time.sleep(0.5)
c0 = cpu()
time.sleep(2)
used = cpu() - c0
for s in socks:
    s.close()
print("cpu %.2f s in 2 s with 80 connections" % used)
assert used < 0.5, used
PYEOF
rc=$?
if [ $rc = 0 ]; then
    pass "serve: out of descriptors, no spinning ($(tail -n 1 "$T/lowfd.out"))"
else
    failed "serve: out of descriptors" "$(tail -n 3 "$T/lowfd.out")"
fi
expect_code "serve: out of descriptors, then answers again" 200 \
    "http://127.0.0.1:$LOW_PORT/healthz"
grep -q 'accept: Too many open files: no new connection for' "$T/lowfd.log" &&
    pass "serve: the back-off is logged" ||
    failed "serve: the back-off is not logged" "$(tail -n 3 "$T/lowfd.log")"
servers_stop lowfd

# The next minute: the old ETag gets the graph again, with a new tag.
while [ $(( $(date +%s) / 60 )) = "$etag_min" ]; do
    sleep 1
done
expect_code "serve, rrdcached: the minute after, 200 on the old ETag" 200 \
    "$SERVE_URL/graph/alpha.png?period=3h" -H "If-None-Match: $etag1"
etag2=$(tr -d '\r' <"$T/hdrs" | sed -n 's/^[Ee][Tt][Aa][Gg]: //p')
check "serve, rrdcached: a new ETag ($etag1 -> $etag2)" \
    test -n "$etag2" -a "$etag2" != "$etag1"

servers_stop serve
probed_stop
log_clean tocsin.cgi "$T/serve.log" "$T/lowfd.log"
finish
