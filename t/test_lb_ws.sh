#!/bin/bash
# t/test_lb_ws.sh: WebSockets through tocsin-lb's http listener, before
# real WebSocket servers (t/lbws.py, python3-websockets): the client's
# Upgrade goes to a member, its 101 comes back as it is, and from there
# the two connections are a tunnel (the member's greeting that came with
# the 101 included). Messages up to 200 KiB echo in order for 20 clients
# at once, spread over two members; each ends with the member's close;
# the members are in flight while the tunnels are open, and not after.
# A member that answers an Upgrade without switching (nginx: 200) serves
# it as a plain request, and the connection goes on keep-alive. CONNECT
# stays 501.
set -u
. "${srcdir:-.}/t/servers.sh" || exit 1
. "${srcdir:-.}/t/probed.sh" || exit 1
servers_trap
. "${srcdir:-.}/t/lb.sh" || exit 1

"$PY" -c 'import websockets' 2>/dev/null ||
    skip_all "no python3-websockets (tools/deps installs it)"
start_lb_backends 1 || exit 1
W1=$(servers_port) W2=$(servers_port) PW=$(servers_port) PN=$(servers_port)
H=127.0.0.1
for w in "w1 $W1" "w2 $W2"; do
    set -- $w
    _srv_spawn "$1" $SERVERS_ASUSER "$PY" "$SERVERS_TDIR/lbws.py" "$2" "$1" ||
        exit 1
    _srv_wait "$1" "t:$2" || exit 1
done
cat >"$T/lb.conf" <<CONF
set state-dir $T/state
farm ws {
    balance roundrobin
    listen $H:$PW http
    server w1 http://$H:$W1/
    server w2 http://$H:$W2/
}
farm plain {
    listen $H:$PN http
    server b1 http://$H:$LB_B1_PORT/health
}
CONF
lb_start "$T/lb.conf" || exit 1
wsc() {
    "$PY" "$SERVERS_TDIR/lbwsclient.py" "$@"
}
lbstat() {
    "$TOCSINCTL" -s "$T/state/lb.sock" -j lb-stats
}
inflight() {
    jq_ "$(lbstat)" "sum(s['inflight'] for f in d['farms'] if f['name'] == 'ws' for s in f['servers'])"
}

r=$(wsc "$PW" 1 60)
check_json "one WebSocket client: greeting, 60 echoes up to 200 KiB in order, the member's close" \
    "$r" 'd["ok"] == 1'
r=$(wsc "$PW" 20 30)
check_json "20 WebSocket clients at once, 30 messages each: every echo right" \
    "$r" 'd["ok"] == 20'
check_json "20 WebSocket clients: roundrobin spread them over both members" \
    "$r" 'd["by"].get("w1", 0) == 10 and d["by"].get("w2", 0) == 10'

# Tunnels held open count as in flight on their members; each is held
# until the test has counted them (the file release), 30 s at most.
"$PY" - "$PW" "$T/release" >"$T/held.out" <<'PY' &
import asyncio, os, sys, websockets
async def one():
    async with websockets.connect("ws://127.0.0.1:%s/" % sys.argv[1]) as ws:
        await ws.recv()
        for _ in range(300):
            if os.path.exists(sys.argv[2]):
                break
            await asyncio.sleep(0.1)
        await ws.send("close")
        await ws.wait_closed()
        print("closed", ws.close_code)
async def main():
    await asyncio.gather(*(one() for _ in range(4)))
asyncio.run(main())
PY
hp=$!
wait_for 20 eval '[ "$(inflight)" = 4 ]'
n=$(inflight)
touch "$T/release"
[ "$n" = 4 ] && pass "4 open tunnels: 4 in flight on the farm's members" ||
    failed "4 open tunnels: $n in flight"
wait "$hp"
[ "$(grep -c '^closed 1000$' "$T/held.out")" = 4 ] &&
    pass "the 4 held tunnels closed cleanly" ||
    failed "held tunnels" "$(cat "$T/held.out")"
sleep 0.5
n=$(inflight)
[ "$n" = 0 ] && pass "tunnels closed: none in flight" ||
    failed "tunnels closed: $n still in flight"

# An Upgrade the member does not take (nginx answers 200): a plain answer,
# and the same connection serves the next request.
out=$("$PY" - "$PN" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
f = s.makefile("rb")
def answer():
    status = f.readline().split()[1].decode()
    n = 0
    while True:
        l = f.readline()
        if l in (b"\r\n", b""):
            break
        if l.lower().startswith(b"content-length:"):
            n = int(l.split(b":")[1])
    return status + " " + f.read(n).decode().strip()
s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
          b"Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
          b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
a = answer()
s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
print(a, "|", answer())
PY
)
[ "$out" = "200 b1 | 200 b1" ] &&
    pass "an Upgrade nginx does not take: 200, then the next request on the same connection" ||
    failed "an Upgrade nginx does not take: '$out'"

code=$(printf 'CONNECT example.net:443 HTTP/1.1\r\nHost: example.net:443\r\n\r\n' |
    timeout 10 "$PY" -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(sys.stdin.buffer.read())
print(s.recv(100).split()[1].decode())' "$PN")
[ "$code" = 501 ] && pass "CONNECT: 501" || failed "CONNECT: '$code'"
kill -0 "$LB_PID" 2>/dev/null && pass "tocsin-lb still runs" ||
    failed "tocsin-lb died"
lb_stop
finish
