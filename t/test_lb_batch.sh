#!/bin/bash
# t/test_lb_batch.sh: tocsin-lb's tcp relay after the server's answer,
# its small copies' sends staged in the loop's io_uring (lb/proxy_tcp.c),
# before slow readers: t/lbdrip.py drips 3 MB in writes of 100 to 3000
# bytes, 1 ms apart, to a reader with a 4 KiB window that reads nothing
# until the writer finds its own socket full (so the relay's socket to the
# reader is full, whatever the machine's pace; $T/flags says so), from the
# server to the client (down) and from the client to the server (up). The
# relay's socket to the reader fills after about 1.5 MB, while its reads
# are mostly still small: a staged send then
# takes less than it was given, and the rest must go on first (the log
# says so, and to whom; each direction checks for it). Every stream
# arrives whole and in order
# (SHA-256). The http proxy's writes are staged alike (lb/conn.c):
# t/lbranges.py sends 700 pipelined GETs for ranges of an nginx's file,
# the last with Connection: close, from a client with the same small
# window, and checks every answer's bytes and the close. tocsin-lb holds
# an io_uring once it relayed; with TOCSIN_LB_NO_URING set it holds none,
# says so in its log, and relays the same streams whole with send(2).
set -u
. "${srcdir:-.}/t/servers.sh" || exit 1
. "${srcdir:-.}/t/probed.sh" || exit 1
servers_trap
. "${srcdir:-.}/t/lb.sh" || exit 1

D=$(servers_port) P=$(servers_port) W=$(servers_port)
H=127.0.0.1
mkdir -m 1777 "$T/flags" || exit 1
start_lb_backends 1 || exit 1
_srv_spawn drip $SERVERS_ASUSER "$PY" "$SERVERS_TDIR/lbdrip.py" server "$D" \
    "$T/flags" || exit 1
_srv_wait drip "t:$D" || exit 1
cat >"$T/lb.conf" <<CONF
set state-dir $T/state
farm drip {
    listen $H:$P tcp
    server drip tcp://$H:$D
}
farm web {
    listen $H:$W http
    server b1 http://$H:$LB_B1_PORT/health
}
CONF

# ranges DESC CLIENTS SEED: every client's pipelined answers arrived
# whole, in order, and then the close.
ranges() {
    local out i
    out=$(for i in $(seq 1 "$2"); do
        "$PY" "$SERVERS_TDIR/lbranges.py" "$W" "$T/big" $(($3 + i)) &
    done; wait)
    all_ok "$1" "$2" "$out"
}

# wshort: how many staged http writes took less than they were given.
wshort() {
    grep -c "staged write took" "$T/lb.log"
}

# streams DESC MODES CLIENTS SEED: every client's stream arrived whole,
# CLIENTS of each of MODES (down, up or both) at once.
streams() {
    local out i m n=0
    for m in $2; do n=$((n + $3)); done
    out=$(for m in $2; do for i in $(seq 1 "$3"); do
        "$PY" "$SERVERS_TDIR/lbdrip.py" client "$P" "$m" $(($4 + i)) \
            "$T/flags" &
    done; done; wait)
    all_ok "$1" "$n" "$out"
}

# short TO: how many staged sends to the client or the member (TO) took
# less than they were given so far.
short() {
    grep -c "staged send to the $1 took" "$T/lb.log"
}

# met_full DESC TO BEFORE: a staged send to TO met a full socket since
# BEFORE. Which send meets it first depends on the loop's pace: a relay
# behind its client reads 4 KiB at once and splices from then on, so a
# stream may fill its socket in a splice; each direction is counted over
# its seven streams (one alone, six with the other direction's six).
met_full() {
    local now
    now=$(short "$2")
    if [ "$now" -gt "$3" ]; then
        pass "staged: $1 met a full socket in a staged send ($((now - $3)))"
    else
        failed "staged: $1 never met a full socket in a staged send" \
            "the test does not try what it is for"
    fi
}

# rings: how many io_uring descriptors tocsin-lb holds.
rings() {
    ls -l "/proc/$LB_PID/fd" 2>/dev/null | grep -c 'io_uring'
}

for how in staged direct; do
    if [ $how = staged ]; then
        lb_start "$T/lb.conf" || exit 1
    else
        TOCSIN_LB_NO_URING=1 lb_start "$T/lb.conf" || exit 1
    fi
    rm -f "$T/flags"/*
    kd=$(short client) ku=$(short member)
    streams "$how: one stream down to a slow client: whole, in order" down 1 10
    streams "$how: one stream up to a slow server: whole, in order" up 1 20
    streams "$how: 6 streams down and 6 up at once: each whole" "down up" 6 30
    if [ $how = staged ]; then
        met_full "the streams down" client "$kd"
        met_full "the streams up" member "$ku"
    fi
    k=$(wshort)
    ranges "$how: http, 700 pipelined answers to a slow client: whole" 1 40
    ranges "$how: http, 6 slow clients at once: each whole" 6 50
    if [ $how = staged ]; then
        if [ "$(wshort)" -gt "$k" ]; then
            pass "staged: http writes met a full socket ($(($(wshort) - k)))"
        else
            failed "staged: no http write met a full socket" \
                "the test does not try what it is for"
        fi
    fi
    n=$(rings)
    if [ $how = staged ]; then
        if [ "$n" -ge 1 ]; then
            pass "staged: tocsin-lb holds its loop's io_uring ($n)"
        else
            failed "staged: tocsin-lb holds no io_uring" \
                "$(grep -i uring "$T/lb.log" | head -2)"
        fi
    elif [ "$n" = 0 ] && grep -q "TOCSIN_LB_NO_URING: each send made at once" "$T/lb.log"; then
        pass "direct: no io_uring, and the log says each copy is sent at once"
    else
        failed "direct: $n io_uring descriptors; log:" \
            "$(grep -i uring "$T/lb.log" | head -2)"
    fi
    if kill -0 "$LB_PID" 2>/dev/null; then pass "$how: tocsin-lb still runs"
    else failed "$how: tocsin-lb died"; fi
    lb_stop
done
finish
