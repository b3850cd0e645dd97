#!/bin/bash
# t/test_lb_timeouts.sh: a farm's connect-timeout, client-timeout and
# server-timeout, each shorter than its default, before real servers:
# a silent tcp client or a half-sent request head is closed after the
# client timeout; a member that never answers costs the server timeout
# (not the default 60 s); a streamed upload that takes longer than the
# server timeout but keeps moving is not cut (nginx answers a PUT at its
# end); a server that answers an upload early and waits does not hold a
# client that stops sending (t/lbearly.py); a connect that gets no
# answer (a listener whose queue is full drops the SYN) is given up
# after the connect timeout and the request goes to the other member.
# And the config's errors: a zero timeout, and a server-timeout in a farm
# with no http listener, each named by file:line.
set -u
. "${srcdir:-.}/t/servers.sh" || exit 1
. "${srcdir:-.}/t/probed.sh" || exit 1
servers_trap
. "${srcdir:-.}/t/lb.sh" || exit 1

command -v curl >/dev/null || skip_all "no curl"
H=127.0.0.1
BP=$(servers_port) MUTE=$(servers_port) EARLY=$(servers_port)
FULL=$(servers_port)
PU=$(servers_port) PM=$(servers_port) PE=$(servers_port) PT=$(servers_port)
PC=$(servers_port)
d=$T/ngx
mkdir -p "$d/tmp" "$d/up" || exit 1
_srv_fill nginx_stream.conf "$d/nginx.conf" DIR="$d" PORT="$BP" || exit 1
_srv_chown "$d"
_srv_spawn ngx $SERVERS_ASUSER nginx -p "$d" -c nginx.conf \
    -e "$d/error.log" || exit 1
_srv_wait ngx "t:$BP" "log:$d/error.log" || exit 1
echo 30000 >"$T/mute.ms"
_srv_spawn mute $SERVERS_ASUSER "$PY" "$SERVERS_TDIR/lbheld.py" "$MUTE" mute \
    "$T/mute.ms" || exit 1
_srv_spawn early $SERVERS_ASUSER "$PY" "$SERVERS_TDIR/lbearly.py" "$EARLY" ||
    exit 1
_srv_wait mute "t:$MUTE" || exit 1
_srv_wait early "t:$EARLY" || exit 1

_srv_spawn full $SERVERS_ASUSER "$PY" "$SERVERS_TDIR/lbfull.py" "$FULL" || exit 1
sleep 1

# --- config errors ----------------------------------------------------------
cat >"$T/bad.conf" <<CONF
set state-dir $T/state
farm a {
    listen $H:$PT tcp
    server-timeout 2s
    server s tcp://$H:$BP
}
farm b {
    listen $H:$PU http
    client-timeout 0s
    server s tcp://$H:$BP
}
CONF
out=$("$LB" -t -c "$T/bad.conf" 2>&1)
rc=$?
[ $rc != 0 ] && printf '%s\n' "$out" | grep -q "bad.conf:4: .*server-timeout" &&
    pass "server-timeout in a farm with only tcp listeners: an error at file:line" ||
    failed "server-timeout in a tcp farm: rc $rc" "$out"
printf '%s\n' "$out" | grep -q "bad.conf:9: 'client-timeout' needs a duration above 0" &&
    pass "client-timeout 0s: an error at file:line" ||
    failed "client-timeout 0s" "$out"

cat >"$T/lb.conf" <<CONF
set state-dir $T/state
farm up {
    listen $H:$PU http
    client-timeout 2s
    server-timeout 2s
    server n http://$H:$BP/
}
farm mute {
    listen $H:$PM http
    server-timeout 2s
    server m http://$H:$MUTE/
}
farm early {
    listen $H:$PE http
    client-timeout 2s
    server e http://$H:$EARLY/
}
farm t {
    listen $H:$PT tcp
    client-timeout 2s
    server n http://$H:$BP/
}
farm c {
    balance roundrobin
    listen $H:$PC http
    connect-timeout 1s
    server full http://$H:$FULL/
    server n http://$H:$BP/
}
CONF
lb_start "$T/lb.conf" || exit 1

# closed_after PORT SEND: seconds until tocsin-lb closes a client that
# connected and sent SEND (may be empty), then nothing; 99 when it is
# still open after 20 s.
closed_after() {
    "$PY" - "$1" "$2" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(sys.argv[2].encode())
s.settimeout(20)
t0 = time.monotonic()
try:
    while s.recv(4096):
        pass
    print("%.1f" % (time.monotonic() - t0))
except socket.timeout:
    print(99)
PY
}
# within LO HI X: LO <= X <= HI.
within() {
    "$PY" -c 'import sys; sys.exit(not float(sys.argv[1]) <= float(sys.argv[3]) <= float(sys.argv[2]))' "$@"
}

# --- client-timeout -----------------------------------------------------------
t=$(closed_after "$PT" "")
within 1.5 10 "$t" && pass "tcp: a silent client closed after client-timeout 2s (${t}s)" ||
    failed "tcp: a silent client closed after ${t}s (client-timeout 2s)"
t=$(closed_after "$PU" "GET / HTTP/1.1
Host: x")
within 1.5 10 "$t" && pass "http: a half-sent head closed after client-timeout 2s (${t}s)" ||
    failed "http: a half-sent head closed after ${t}s (client-timeout 2s)"

# --- server-timeout -----------------------------------------------------------
s=$(date +%s.%N)
code=$(curl -s -o /dev/null -w '%{http_code}' -m 30 "http://$H:$PM/")
e=$(awk -v a="$s" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
case $code in
5??) within 1.5 10 "$e" &&
    pass "a member that never answers: $code after ${e}s (server-timeout 2s)" ||
    failed "a member that never answers: $code after ${e}s (server-timeout 2s)" ;;
*) failed "a member that never answers: $code after ${e}s" ;;
esac

# A PUT of 512 KiB at 128 KiB/s: 4 s, twice the server timeout, moving all
# along; nginx answers at its end.
head -c 524288 /dev/urandom >"$T/put"
s=$(date +%s.%N)
code=$(curl -s -o /dev/null -w '%{http_code}' -m 60 --limit-rate 128k \
    -H 'Expect:' -T "$T/put" "http://$H:$PU/up/put")
e=$(awk -v a="$s" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
if [ "$code" = 201 ] || [ "$code" = 204 ]; then
    if cmp -s "$T/put" "$d/up/put"; then
        pass "a streamed PUT of ${e}s, longer than server-timeout 2s: $code, stored whole"
    else
        failed "a streamed PUT: $code, but what nginx stored differs"
    fi
else
    failed "a streamed PUT of ${e}s (server-timeout 2s): $code"
fi
within 3 60 "$e" || failed "the PUT took ${e}s: too short to prove anything"

# --- an early answer, then a client that stops sending ----------------------
r=$("$PY" - "$PE" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 1048576\r\n\r\n")
s.sendall(b"a" * 131072)
s.settimeout(20)
got = b""
t0 = time.monotonic()
try:
    while True:
        b = s.recv(4096)
        if not b:
            break
        got += b
    print("%s %.1f" % (got.split(b" ")[1].decode() if b" " in got else "-",
                       time.monotonic() - t0))
except socket.timeout:
    print("%s 99" % (got.split(b" ")[1].decode() if b" " in got else "-"))
PY
)
set -- $r
[ "${1:-}" = 401 ] && within 1.5 10 "${2:-99}" &&
    pass "answered early (401), then the client stops: closed after client-timeout 2s (${2}s)" ||
    failed "answered early, client stops sending: got '$r' (want 401, closed in 2 s)"

# --- connect-timeout --------------------------------------------------------
s=$(date +%s.%N)
out=$(for i in 1 2 3 4; do curl -s -m 20 "http://$H:$PC/"; done)
e=$(awk -v a="$s" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
[ "$(printf '%s\n' "$out" | grep -c '^ok$')" = 4 ] &&
    pass "a member whose connect hangs: 4 requests served by the other (${e}s)" ||
    failed "a member whose connect hangs: got" "$out"
grep -q "c/full: connect timed out" "$T/lb.log" &&
    pass "its connect was given up (connect-timeout 1s)" ||
    failed "no 'connect timed out' for c/full" "$(tail -5 "$T/lb.log")"
within 0.5 12 "$e" || failed "4 requests took ${e}s with connect-timeout 1s"

lb_stop
finish
