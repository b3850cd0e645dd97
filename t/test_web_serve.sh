#!/bin/bash
# t/test_web_serve.sh: tocsin.cgi --serve as an HTTP server, on raw
# sockets where curl would hide what goes over the wire: HEAD on a
# kept-alive connection. A real tocsin-probed watches an exec plugin.
set -u
. "${srcdir:-.}/t/servers.sh" || exit 1
. "${srcdir:-.}/t/probed.sh" || exit 1
. "${srcdir:-.}/t/web.sh" || exit 1
servers_trap

cat >"$T/ok.sh" <<'OK'
#!/bin/sh
echo "fine"
exit 0
OK
chmod 755 "$T/ok.sh"
cat >"$T/probed.conf" <<CONF
set state-dir $T/state
set interval 1s
set timeout 2s
set retries 1
server alpha exec "$T/ok.sh"
CONF
probed_start "$T/probed.conf" || exit 1
expect_state alpha up
start_serve "$T/probed.conf" || exit 1

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

servers_stop serve
probed_stop
log_clean tocsin.cgi "$T/serve.log"
finish
