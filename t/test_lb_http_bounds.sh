#!/bin/bash
# t/test_lb_http_bounds.sh: tocsin-lb's HTTP where a client or a member
# does what is allowed but unkind, before t/lbscript.py and real nginx:
# a client sending HEAD after HEAD and never reading is held at a bound,
# then served every answer in order; one closed with its input full is
# let go after the linger; a member holding a request on a pooled
# connection is blamed once, not tried again as if the connection were
# stale; a POST never goes on a pooled connection the member may be
# closing; two Host lines get 400; a member's head ended by bare LFs is
# read to its own end.
set -u
. "${srcdir:-.}/t/servers.sh" || exit 1
. "${srcdir:-.}/t/probed.sh" || exit 1
servers_trap
. "${srcdir:-.}/t/lb.sh" || exit 1

start_lb_backends 1 || exit 1
SP=$(servers_port)
_srv_spawn script $SERVERS_ASUSER "$PY" "$SERVERS_TDIR/lbscript.py" "$SP" ||
    exit 1
_srv_wait script "t:$SP" || exit 1
H=127.0.0.1
ONE=$(servers_port) NG=$(servers_port)
cat >"$T/lb.conf" <<CONF
set state-dir $T/state
set control $T/state/none.sock
farm one {
    listen $H:$ONE http
    server-timeout 1s
    server s http://$H:$SP/
}
farm ng {
    listen $H:$NG http
    server b1 http://$H:$LB_B1_PORT/health
}
CONF
lb_start "$T/lb.conf" || exit 1

hangs() { curl -s "http://$H:$SP/hangs"; }

# --- 1. HEAD after HEAD, never read: the balancer stops taking them ---------
# The client's buffers are small, so what the kernel holds is small; the
# balancer must stop reading once its answers wait (256 KiB), not pile
# them up without end. Then the client reads: every request it sent
# whole is answered, in order.
r=$("$PY" - "$NG" <<'PYEOF'
import json, select, socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
s.connect(("127.0.0.1", int(sys.argv[1])))
s.setblocking(False)
req = b"HEAD /health HTTP/1.1\r\nHost: a\r\n\r\n"
buf = req * 2000
sent, pos = 0, 0
start = last = time.monotonic()
stalled = False
while time.monotonic() - start < 30:
    try:
        n = s.send(buf[pos:])
        sent += n
        pos = (pos + n) % len(req)
        last = time.monotonic()
    except BlockingIOError:
        select.select([], [s], [], 0.2)
    if time.monotonic() - last > 2:
        stalled = True
        break
want = sent // len(req)
s.setblocking(True)
s.settimeout(10)
got, data = 0, b""
try:
    while got < want:
        b = s.recv(262144)
        if not b:
            break
        data += b
        k = data.rfind(b"\r\n\r\n")
        if k >= 0:
            got += data.count(b"HTTP/1.1 200 ", 0, k + 4)
            data = data[k + 4:]
except socket.timeout:
    pass
print(json.dumps({"sent": sent, "requests": want, "stalled": stalled,
                  "answered": got}))
PYEOF
)
echo "# $r"
check_json "HEAD pipelined, never read: the balancer stops taking requests" \
    "$r" 'd["stalled"] and d["sent"] < 64 << 20'
check_json "HEAD pipelined: once read, each whole request is answered" \
    "$r" 'd["requests"] > 0 and d["answered"] == d["requests"]'
out=$(raw "$NG" 'GET /health HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
case "$out" in
"HTTP/1.1 200 "*) pass "the next client is served" ;;
*) failed "the next client: $out" ;;
esac

# --- 2. closed with its input full: let go after the linger ------------------
# Connection: close and 300 kB behind it while the member takes 0.5 s:
# the balancer's input fills (256 KiB) and reading stops. Once it
# answered it must still read and drop the rest, then close: a later
# byte from the client is then refused by a reset. Before, reading and
# its timeout stayed off and the connection was kept for ever.
r=$("$PY" - "$ONE" <<'PYEOF'
import json, socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(b"GET /slow HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n" +
          b"A" * 300000)
d = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    d += b
res = {"answer": d.decode("latin-1").replace("\r", ""), "closed": False}
start = time.monotonic()
try:
    while time.monotonic() - start < 15:
        time.sleep(0.5)
        s.send(b"B")
except OSError as e:
    res["closed"] = True
    res["after"] = round(time.monotonic() - start, 1)
    res["error"] = type(e).__name__
print(json.dumps(res))
PYEOF
)
echo "# $r"
check_json "closed with its input full: answered" "$r" \
    'd["answer"].startswith("HTTP/1.1 200 ") and d["answer"].endswith("/slow\n")'
check_json "closed with its input full: closed once the linger is over" \
    "$r" 'd["closed"]'

# --- 3. a POST goes on a connection of its own ------------------------------
# /fresh as a later request of its member connection is met by a close:
# a member closing an idle connection as the request comes. A GET there
# is sent again (nothing was answered); a POST must never have gone on it.
raw "$ONE" 'GET /pool HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n' \
    >/dev/null
out=$(raw "$ONE" 'POST /fresh HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi')
echo "$out" | sed 's/^/# /'
if echo "$out" | grep -q '^HTTP/1.1 200 ' && echo "$out" | grep -qx '/fresh'
then
    pass "a POST after a pooled connection: 200 on a new one"
else
    failed "a POST after a pooled connection: $out"
fi
raw "$ONE" 'GET /pool HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n' \
    >/dev/null
out=$(raw "$ONE" 'GET /fresh HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
if echo "$out" | grep -q '^HTTP/1.1 200 ' && echo "$out" | grep -qx '/fresh'
then
    pass "a GET on a pooled connection closed under it: sent again, 200"
else
    failed "a GET on a pooled connection closed under it: $out"
fi

# --- 4. no answer in time on a pooled connection: a failure, once -----------
raw "$ONE" 'GET /pool HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n' \
    >/dev/null
before=$(hangs)
out=$(raw "$ONE" 'GET /hang HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
after=$(hangs)
echo "$out" | head -1 | sed 's/^/# /'
if echo "$out" | grep -q '^HTTP/1.1 502 ' && [ $((after - before)) = 1 ]; then
    pass "a member holding a request on a pooled connection: 502, asked once"
else
    failed "held on a pooled connection: asked $((after - before)) times: $out"
fi
if grep -q 's: no answer in time' "$T/lb.log"; then
    pass "the timeout is logged against the member"
else
    failed "no 'no answer in time' in the log"
fi

# --- 5. two Host lines: 400, and the next client is served ------------------
out=$(raw "$ONE" 'GET /echo HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n')
if echo "$out" | grep -q '^HTTP/1.1 400 '; then
    pass "two Host lines: 400"
else
    failed "two Host lines: $out"
fi
out=$(raw "$ONE" 'GET /next HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
if echo "$out" | grep -qx '/next'; then
    pass "two Host lines: the next client is served"
else
    failed "after two Host lines: $out"
fi

# --- 6. a head ended by bare LFs: its body is its own ------------------------
out=$(raw "$ONE" 'GET /lf HTTP/1.1\r\nHost: a\r\n\r\nGET /after HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
echo "$out" | sed 's/^/# /'
body=$(echo "$out" | "$PY" -c '
import sys
d = sys.stdin.read()
i = d.find("\n\n")
print(repr(d[i + 2:i + 2 + 5]))')
if [ "$(echo "$out" | grep -c '^HTTP/1.1 200 ')" = 2 ] &&
    echo "$out" | grep -qx '/after' && [ "$body" = "'a\n\nb\n'" ]; then
    pass "a head ended by bare LFs: its body whole, the next answer after it"
else
    failed "a head ended by bare LFs: body $body: $out"
fi

lb_stop
finish
