#!/bin/bash
# t/test_lb_stream.sh: tocsin-lb in http mode before a real nginx:
# X-Forwarded-For and Forwarded appended to (every such header the
# client sent kept, in order); request line and header limits answered
# 414/431 at once, costing only that connection (a keep-alive client
# beside it goes on); 100 MB uploads (with a length and chunked) and
# downloads (with a length and chunked) streamed through with tocsin-lb's
# peak memory bounded.
set -u
. "${srcdir:-.}/t/servers.sh" || exit 1
. "${srcdir:-.}/t/probed.sh" || exit 1
servers_trap
. "${srcdir:-.}/t/lb.sh" || exit 1

command -v curl >/dev/null || skip_all "no curl"
# Under ASan freed memory waits in a quarantine (256 MB by default):
# keep it small, so peak memory is what tocsin-lb holds.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=1"
BP=$(servers_port)
d=$T/ngx
mkdir -p "$d/tmp" "$d/up" || exit 1
_srv_fill nginx_stream.conf "$d/nginx.conf" DIR="$d" PORT="$BP" || exit 1
touch "$d/access.log"
head -c $((100 * 1024 * 1024)) /dev/urandom >"$d/big" || exit 1
_srv_chown "$d"
_srv_spawn ngx $SERVERS_ASUSER nginx -p "$d" -c nginx.conf \
    -e "$d/error.log" || exit 1
_srv_wait ngx "t:$BP" "log:$d/error.log" || exit 1

P=$(servers_port) P6=$(servers_port)
H=127.0.0.1
have6=1
python3 -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1", 0))' \
    2>/dev/null || have6=0
listen6=
[ $have6 = 1 ] && listen6="listen [::1]:$P6 http"
cat >"$T/lb.conf" <<CONF
set state-dir $T/state
farm web {
    listen $H:$P http
    $listen6
    server n1 tcp://$H:$BP
}
CONF
lb_start "$T/lb.conf" || exit 1

# --- X-Forwarded-For and Forwarded ------------------------------------------
out=$(curl -s --max-time 5 --interface 127.0.0.2 "http://$H:$P/hdr")
[ "$out" = "xff=[127.0.0.2] fwd=[for=127.0.0.2;proto=http]" ] &&
    pass "a client's address in X-Forwarded-For and Forwarded ($out)" ||
    failed "forwarding headers of a direct client" "got '$out'"
out=$(curl -s --max-time 5 --interface 127.0.0.2 \
    -H 'X-Forwarded-For: 192.0.2.1' -H 'X-Forwarded-For: 192.0.2.2' \
    -H 'Forwarded: for=192.0.2.9;proto=https' "http://$H:$P/hdr")
want='xff=[192.0.2.1, 192.0.2.2, 127.0.0.2] fwd=[for=192.0.2.9;proto=https, for=127.0.0.2;proto=http]'
[ "$out" = "$want" ] &&
    pass "both received X-Forwarded-For kept in order and appended to; Forwarded appended to" ||
    failed "forwarding headers appended" "got  '$out'
want '$want'"
if [ $have6 = 1 ]; then
    out=$(curl -s --max-time 5 -g "http://[::1]:$P6/hdr")
    [ "$out" = 'xff=[::1] fwd=[for="[::1]";proto=http]' ] &&
        pass "an IPv6 client is quoted and bracketed in Forwarded ($out)" ||
        failed "IPv6 Forwarded" "got '$out'"
else
    skip "an IPv6 client in Forwarded" "no ::1 here"
fi

# --- limits: 414 and 431 cost only their own connection ---------------------
# A keep-alive client asks once, a bad request comes on another
# connection, and the first asks again on the same connection.
cat >"$T/limits.py" <<'PYEOF'
import socket, sys
port, bad = int(sys.argv[1]), sys.argv[2]
def ask(s, req):
    s.sendall(req)
    d = b""
    while b"\r\n\r\n" not in d:
        b = s.recv(65536)
        if not b:
            break
        d += b
    head = d.split(b"\r\n\r\n")[0].decode("latin-1")
    n = 0
    for l in head.split("\r\n")[1:]:
        k, _, v = l.partition(":")
        if k.lower() == "content-length":
            n = int(v)
    body = d.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in d else b""
    while len(body) < n:
        b = s.recv(65536)
        if not b:
            break
        body += b
    return head, body
ka = socket.create_connection(("127.0.0.1", port), timeout=5)
h1, _ = ask(ka, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
if bad == "line":
    req = b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: a\r\n\r\n"
elif bad == "one":
    req = b"GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + b"a" * 40000 + b"\r\n\r\n"
elif bad == "many":
    req = b"GET / HTTP/1.1\r\nHost: a\r\n" + b"X-Small: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n" * 1200 + b"\r\n"
else:
    req = b"GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + b"a" * 30000 + b"\r\n\r\n"
b = socket.create_connection(("127.0.0.1", port), timeout=5)
try:
    hb, bb = ask(b, req)
    b.settimeout(1)
    try:
        closed = b.recv(1) == b""
    except socket.timeout:
        closed = False
except OSError as e:
    hb, bb, closed = "error " + str(e), b"", False
h2, _ = ask(ka, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
print(hb.split("\r\n")[0], "close" if "Connection: close" in hb else "-",
      "closed" if closed else "open", bb.decode("latin-1").strip(), "|",
      h1.split("\r\n")[0], "|", h2.split("\r\n")[0])
PYEOF
limit() {
    local out
    out=$("$PY" "$T/limits.py" "$P" "$2" 2>&1)
    case $out in
    "$3 | HTTP/1.1 200 OK | HTTP/1.1 200 OK") pass "$1 ($out)" ;;
    *) failed "$1" "got '$out'" ;;
    esac
}
limit "a 9000-byte request target: 414, that connection closed, the other served" \
    line "HTTP/1.1 414 URI Too Long close closed <h1>414 URI Too Long</h1>"
limit "one 40000-byte header: 431, that connection closed, the other served" \
    one "HTTP/1.1 431 Request Header Fields Too Large close closed <h1>431 Request Header Fields Too Large</h1>"
limit "1200 small headers over 32 KiB: 431, that connection closed, the other served" \
    many "HTTP/1.1 431 Request Header Fields Too Large close closed <h1>431 Request Header Fields Too Large</h1>"
limit "a 30000-byte header is under the limit: served, kept open" \
    under "HTTP/1.1 200 OK - open ok"

# --- 100 MB both ways, streamed, with bounded memory ------------------------
# hwm: tocsin-lb's peak resident memory so far, KiB.
hwm() {
    awk '/^VmHWM:/ { print $2 }' "/proc/$LB_PID/status"
}
# bounded DESC BEFORE: the peak grew by less than 32 MiB since BEFORE.
bounded() {
    local after
    after=$(hwm)
    if [ -n "$after" ] && [ $((after - $2)) -lt 32768 ]; then
        pass "$1: tocsin-lb's peak memory grew $(((after - $2) / 1024)) MiB (< 32)"
    else
        failed "$1: tocsin-lb's peak memory grew from $2 to ${after:-?} KiB"
    fi
}
want=$(sha256sum <"$d/big" | cut -d' ' -f1)
base=$(hwm)
out=$(curl -s --max-time 120 -o /dev/null -w '%{http_code} %{size_upload}' \
    -T "$d/big" "http://$H:$P/up/a")
got=$(sha256sum <"$d/up/a" 2>/dev/null | cut -d' ' -f1)
[ "$out" = "201 104857600" ] && [ "$got" = "$want" ] &&
    pass "a 100 MB upload with a length arrives whole ($out)" ||
    failed "100 MB upload with a length" "curl: '$out', stored sha256 $got"
bounded "100 MB upload with a length" "$base"
rm -f "$d/up/a"
base=$(hwm)
out=$(curl -s --max-time 120 -o /dev/null -w '%{http_code}' \
    -H 'Transfer-Encoding: chunked' -T - "http://$H:$P/up/b" <"$d/big")
got=$(sha256sum <"$d/up/b" 2>/dev/null | cut -d' ' -f1)
[ "$out" = 201 ] && [ "$got" = "$want" ] &&
    pass "a 100 MB chunked upload arrives whole ($out)" ||
    failed "100 MB chunked upload" "curl: '$out', stored sha256 $got"
bounded "100 MB chunked upload" "$base"
rm -f "$d/up/b"
base=$(hwm)
got=$(curl -s --max-time 120 --limit-rate 40M "http://$H:$P/big" |
    sha256sum | cut -d' ' -f1)
[ "$got" = "$want" ] &&
    pass "a 100 MB download with a length, read slower than nginx sends, arrives whole" ||
    failed "100 MB download with a length" "sha256 $got"
bounded "100 MB download to a slow reader" "$base"
base=$(hwm)
hdr=$(curl -s --max-time 120 --compressed -D "$T/gz.head" \
    "http://$H:$P/gz/big" | sha256sum | cut -d' ' -f1)
grep -qi '^transfer-encoding: chunked' "$T/gz.head" &&
    [ "$hdr" = "$want" ] &&
    pass "a 100 MB chunked (gzip) download arrives whole" ||
    failed "100 MB chunked download" "sha256 $hdr, head: $(tr '\r\n' '  ' <"$T/gz.head")"
bounded "100 MB chunked download" "$base"
out=$(curl -s --max-time 20 -o /dev/null -w '%{http_code}' -H 'Expect:' \
    --data-binary @"$d/big" "http://$H:$P/small")
[ "$out" = 413 ] &&
    pass "nginx's 413 answered before the body ended reaches the client" ||
    failed "an answer before the body's end" "got '$out'"
out=$(curl -s --max-time 5 "http://$H:$P/hdr")
case $out in
xff=*) pass "after the big transfers, the next request is served" ;;
*) failed "request after the big transfers" "got '$out'" ;;
esac

lb_stop
_harness_summary
[ "$nfail" -eq 0 ]
