#!/bin/bash
# t/test_lb_tcp.sh: tocsin-lb's tcp relay is byte-exact before a slow
# reader: t/lbsink.py (a 4 KiB receive window, nothing read for its first
# 1.5 s) behind a tcp farm. Each client sends a random stream (16 KiB to
# 320 KiB in small chunks, so the first 16 KiB, kept for a retry until the
# server answers, fill while the server reads nothing, and the rest goes
# from copies to splices), then its end; the sink answers the length and
# SHA-256 of what it read, then closes. The answer and the server's end
# often come in one read event: the client must get both.
# One-way sessions: before two sinks that read to the end and close
# without a word (a log line, a metric), each session reaches one sink
# once, and no sink is taken for failed.
set -u
. "${srcdir:-.}/t/servers.sh" || exit 1
. "${srcdir:-.}/t/probed.sh" || exit 1
servers_trap
. "${srcdir:-.}/t/lb.sh" || exit 1

SINK=$(servers_port) P=$(servers_port)
Q1=$(servers_port) Q2=$(servers_port) OW=$(servers_port)
H=127.0.0.1
_srv_spawn sink $SERVERS_ASUSER "$PY" "$SERVERS_TDIR/lbsink.py" "$SINK" 1500 ||
    exit 1
mkdir -p "$T/rec" && _srv_chown "$T/rec" || exit 1
_srv_spawn q1 $SERVERS_ASUSER "$PY" "$SERVERS_TDIR/lbsink.py" "$Q1" 0 \
    "$T/rec/q1" || exit 1
_srv_spawn q2 $SERVERS_ASUSER "$PY" "$SERVERS_TDIR/lbsink.py" "$Q2" 0 \
    "$T/rec/q2" || exit 1
_srv_wait sink "t:$SINK" || exit 1
_srv_wait q1 "t:$Q1" || exit 1
_srv_wait q2 "t:$Q2" || exit 1
cat >"$T/lb.conf" <<CONF
set state-dir $T/state
farm sink {
    listen $H:$P tcp
    server sink tcp://$H:$SINK
}
farm oneway {
    balance roundrobin
    listen $H:$OW tcp
    server q1 tcp://$H:$Q1
    server q2 tcp://$H:$Q2
}
CONF
lb_start "$T/lb.conf" || exit 1

# sent DESC CLIENTS SEED: every client's stream reached the sink whole.
sent() {
    all_ok "$1" "$2" "$("$PY" "$SERVERS_TDIR/lbsend.py" "$P" "$2" "$3")"
}
sent "one client, 16-320 KiB in small chunks to a sink that waits 1.5 s: every byte, then the end" 1 1
sent "20 clients at once, the same: every stream whole" 20 2
sent "20 more, other streams: every stream whole" 20 3

# --- one-way sessions --------------------------------------------------
out=$("$PY" - "$OW" <<'PY'
import socket, sys
for i in range(20):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
    s.sendall(b"line %d\n" % i)
    s.shutdown(socket.SHUT_WR)
    print("eof" if s.recv(100) == b"" else "data")
    s.close()
PY
)
if [ "$(printf '%s\n' "$out" | grep -c '^eof$')" = 20 ]; then
    pass "20 one-way sessions: each client sees the end"
else
    failed "one-way sessions: clients saw" "$(printf '%s\n' "$out" | sort | uniq -c)"
fi
sleep 0.5
got=$(cat "$T/rec/q1" "$T/rec/q2" 2>/dev/null | sort -t' ' -k2n | tr '\n' ' ')
want=$(seq 0 19 | sed 's/^/line /' | tr '\n' ' ')
if [ "$got" = "$want" ]; then
    pass "20 one-way sessions: each line reached one sink once"
else
    failed "one-way sessions: the sinks got" "$got"
fi
n1=$(wc -l <"$T/rec/q1" 2>/dev/null || echo 0)
n2=$(wc -l <"$T/rec/q2" 2>/dev/null || echo 0)
if [ "$n1" = 10 ] && [ "$n2" = 10 ]; then
    pass "one-way sessions: roundrobin gave each sink 10"
else
    failed "one-way sessions: q1 got $n1, q2 got $n2 (want 10 each)"
fi
if grep -q "closed before answering" "$T/lb.log"; then
    failed "one-way sessions: a sink was taken for failed" \
        "$(grep "closed before answering" "$T/lb.log" | head -3)"
else
    pass "one-way sessions: no sink taken for failed"
fi
if kill -0 "$LB_PID" 2>/dev/null; then pass "tocsin-lb still runs"
else failed "tocsin-lb died"; fi
lb_stop
finish
