#!/bin/bash
# t/test_exec_ping.sh: exec and ping checks end to end. tocsin-probed runs
# real monitoring-plugins (check_dummy, check_tcp against nginx, check_disk,
# check_load), plugins that hang, flood or die, and more plugins than
# exec-max; it pings loopback through a raw socket and, in a network
# namespace, through an unprivileged ICMP datagram socket and at a host
# that ignores echoes. Perfdata must land in the archives. Needs root (raw
# sockets, namespaces); skipped otherwise, saying why. Results as TAP
# through t/probed.sh's harness.
#
# TOCSIN_PLUGINS: the plugins' folder (default /usr/lib/nagios/plugins).
# TOCSIN_KEEP=1 keeps the test folder (it is kept anyway on failure).
set -u
PLUG=${TOCSIN_PLUGINS:-/usr/lib/nagios/plugins}
srcdir=${srcdir:-.}

. "$srcdir/t/servers.sh" || exit 99
. "$srcdir/t/probed.sh" || exit 99
servers_trap

if [ "$(id -u)" != 0 ]; then
    skip_all "needs root (raw ICMP sockets, network namespaces)"
fi
# check_disk reads the mount table from /etc/mtab, which a minimal root
# made with debootstrap does not have (and where / is no mount point):
# there the check_disk cases are skipped, saying so.
DISK_PATH=/ DISK_DS=_ HAVE_DISK=1
[ -e /etc/mtab ] && grep -q ' / ' /etc/mtab 2>/dev/null || HAVE_DISK=0
for f in "$PROBED" "$PLUG/check_dummy" "$PLUG/check_tcp" "$PLUG/check_disk" \
    "$PLUG/check_load"; do
    [ -x "$f" ] || skip_all "$f is missing (monitoring-plugins)"
done
command -v rrdtool >/dev/null || skip_all "rrdtool is missing"

DPID=
DLOG=
NETNS=
NETNS2=
RPID=
# Plugins that sleep get odd durations with our pid in them, so pgrep finds
# ours and no one else's (not even this test's, run at once from another
# build).
SLOW=29.41$$
QSLOW=28.93$$
MSLOW=1.43$$

cleanup() {
    local rc=$?
    if [ -n "$DPID" ] && kill -0 "$DPID" 2>/dev/null; then
        kill -TERM "$DPID" 2>/dev/null
        wait "$DPID" 2>/dev/null
    fi
    [ -z "$RPID" ] || { kill "$RPID"; wait "$RPID"; } 2>/dev/null
    [ -z "$NETNS" ] || ip netns del "$NETNS" 2>/dev/null
    [ -z "$NETNS2" ] || ip netns del "$NETNS2" 2>/dev/null
    (exit "$rc")
    _srv_on_exit
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# wait_log REGEX [SECONDS]: until the daemon's log has a line matching
# REGEX (extended), 15 s by default.
wait_log() {
    local i=0 n=$((${2:-15} * 10))
    while [ $i -lt $n ]; do
        grep -Eq -- "$1" "$DLOG" && return 0
        kill -0 "$DPID" 2>/dev/null || return 1
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}

# result ID STATUS MESSAGE-REGEX [SECONDS]: a result line for ID, e.g.
# "tocsin-probed: d0: ok 1.2 ms: OK: all good" ("- ms" when no latency).
result() {
    if wait_log "^tocsin-probed: $1: $2 (-|[0-9.]+) ms: $3\$" "${4:-15}"; then
        pass "$1: $2: $3"
    else
        fail "$1: $2: $3" "got: $(grep -E "^tocsin-probed: $1: " "$DLOG" |
            grep -v ' started /' | tail -1)"
    fi
}

# start NAME CONF [WRAPPER...]: run the daemon in the foreground with debug,
# logging to $T/NAME.log.
start() {
    local name=$1 conf=$2
    shift 2
    DLOG=$T/$name.log
    : >"$DLOG"
    "$@" "$PROBED" -f -d -c "$conf" >"$DLOG" 2>&1 7>&- &
    DPID=$!
    if wait_log "started: " 10; then
        pass "$name: daemon starts"
    else
        fail "$name: daemon starts" "$(tail -5 "$DLOG")"
        DPID=
        return 1
    fi
}

# stop NAME: SIGTERM, a clean exit, no sanitizer report.
stop() {
    local rc
    kill -TERM "$DPID"
    wait "$DPID"
    rc=$?
    DPID=
    check "$1: daemon exits 0 on SIGTERM (rc $rc)" [ "$rc" = 0 ]
    log_clean "$1: the daemon" "$DLOG"
}

# Children of the daemon that are zombies now and still 0.5 s later.
lasting_zombies() {
    local a b
    a=$(ps --ppid "$DPID" -o pid=,stat= | awk '$2 ~ /Z/ {print $1}' | sort)
    sleep 0.5
    b=$(ps --ppid "$DPID" -o pid=,stat= | awk '$2 ~ /Z/ {print $1}' | sort)
    comm -12 <(echo "$a") <(echo "$b") | grep -c .
}

# rrd_has_ds ID DS: the archive of ID (under $RRD) has the data source DS.
rrd_has_ds() {
    rrdtool info "$RRD/$1.rrd" 2>/dev/null | grep -q "^ds\[$2\]\.type"
}

# rrd_value ID DS [VALUE]: some row of DS's column in the last two minutes
# of ID's archive holds a number (not NaN), or VALUE when given.
rrd_value() {
    rrdtool fetch "$RRD/$1.rrd" AVERAGE -s -120 2>/dev/null |
        awk -v ds="$2" -v want="${3:-}" '
        NR == 1 { for (i = 1; i <= NF; i++) if ($i == ds) col = i + 1; next }
        col && NF >= col && $col !~ /nan/ &&
            (want == "" || $col + 0 == want + 0) { found = 1 }
        END { exit !found }'
}

sleeps() {
    pgrep -xf "/bin/sleep $1" | grep -c .
}

# --- A: plugins, their results and perfdata ----------------------------------

start_nginx || { fail "nginx starts for check_tcp"; exit 1; }
CLOSED=$(servers_port)
mkdir -p "$T/a"
# A plugin whose first line comes before a megabyte of text.
cat >"$T/bigtext.sh" <<'EOF'
#!/bin/sh
echo "BIG OK - a megabyte follows|bytes=1048576B"
head -c 1048576 /dev/zero | tr '\0' x
exit 0
EOF
chmod 755 "$T/bigtext.sh"
cat >"$T/a.conf" <<EOF
set state-dir $T/a
set interval 2s
set timeout 3s
server slow exec "/bin/sleep $SLOW" interval 60s
server flood exec "/usr/bin/yes" interval 60s
server d0 exec "$PLUG/check_dummy 0 \"all good\""
server d1 exec "$PLUG/check_dummy 1 meh"
server d2 exec "$PLUG/check_dummy 2 bad"
server d3 exec "$PLUG/check_dummy 3 \"who knows\""
server d4 exec "/usr/bin/python3 -c \"import sys; print('odd'); sys.exit(4)\""
server tcpopen exec "$PLUG/check_tcp -H 127.0.0.1 -p $NGINX_PORT"
server tcpclosed exec "$PLUG/check_tcp -H 127.0.0.1 -p $CLOSED"
server zeros exec "/usr/bin/head -c 1048576 /dev/zero"
server bigtext exec "$T/bigtext.sh"
server missing exec "/nonexistent/check_nothing -w 1"
server killed exec "/usr/bin/python3 -c \"import os; os.kill(os.getpid(), 9)\""
$( [ $HAVE_DISK = 1 ] && echo "server disk exec \"$PLUG/check_disk -w 1% -c 1% -p $DISK_PATH\"")
server load exec "$PLUG/check_load -w 1000,1000,1000 -c 2000,2000,2000"
server lo ping://127.0.0.1
server lo6 ping://[::1]
EOF
start a "$T/a.conf" || exit 1
DAEMON_A=$DPID
check "a: raw ICMP socket opened as root" grep -q 'ping: raw ICMP socket' \
    "$DLOG"

result d0 ok "OK: all good"
result d1 warning "WARNING: meh"
result d2 critical "CRITICAL: bad"
result d3 unknown "UNKNOWN: who knows"
result d4 unknown "exit status 4: odd"
result tcpopen ok "TCP OK - [0-9.]+ second response time on 127.0.0.1 port $NGINX_PORT"
result tcpclosed critical "connect to address 127.0.0.1 and port $CLOSED: Connection refused"
result missing unknown "cannot run /nonexistent/check_nothing: No such file or directory"
result killed critical "killed by signal 9"
result zeros ok "\\?{255}"
result bigtext ok "BIG OK - a megabyte follows"
result flood unknown "plugin printed more than 16 MiB, killed: y"
# The real root file system: its state is whatever it is.
if [ $HAVE_DISK = 1 ]; then
    result disk "(ok|warning|critical)" "DISK (OK|WARNING|CRITICAL) - free space: .*"
else
    skip "disk" "no /etc/mtab here, check_disk cannot see a file system"
fi
result load ok "LOAD OK - total load average: .*"
result lo ok "loss 0% \\(5/5 replies\\), rtt median [0-9.]+ ms min [0-9.]+ max [0-9.]+"
if ip -6 addr show dev lo 2>/dev/null | grep -q 'inet6 ::1'; then
    result lo6 ok "loss 0% \\(5/5 replies\\), rtt median [0-9.]+ ms min [0-9.]+ max [0-9.]+"
else
    skip "lo6" "loopback has no ::1 here"
fi

# The plugin that sleeps past its timeout: critical, its process killed.
SLOWPID=$(sed -n "s/^tocsin-probed: slow: started .*, pid \([0-9]*\)\$/\1/p" \
    "$DLOG" | head -1)
result slow critical "timeout after 3s waiting for the plugin" 10
sleep 0.5
check "slow: the timed-out plugin (pid ${SLOWPID:-?}) is gone, not a zombie" \
    test -n "$SLOWPID" -a ! -e "/proc/${SLOWPID:-0}"
check "slow: at most one $SLOW sleep at a time (a retry may run)" \
    [ "$(sleeps $SLOW)" -le 1 ]

# Let every server run a few times, then look for zombies.
sleep 4
check "a: no zombie children last" [ "$(lasting_zombies)" = 0 ]
check "a: daemon still runs after floods and kills" kill -0 "$DAEMON_A"
stop a

# Perfdata in the archives (the writer has drained by now).
RRD=$T/a/rrd
if [ $HAVE_DISK = 1 ]; then
    check "disk: perfdata label '$DISK_PATH' is data source '$DISK_DS'" \
        rrd_has_ds disk "$DISK_DS"
    check "disk: fetch shows a value for '$DISK_DS'" rrd_value disk "$DISK_DS"
else
    skip "disk: perfdata '/' as data source '_'" "no /etc/mtab here, so no check_disk"
fi
check "load: perfdata load1, load5, load15 are data sources" \
    eval 'rrd_has_ds load load1 && rrd_has_ds load load5 && rrd_has_ds load load15'
check "load: fetch shows a value for load1" rrd_value load load1
check "tcpopen: check_tcp's time is a data source with a value" \
    eval 'rrd_has_ds tcpopen time && rrd_value tcpopen time'
check "bigtext: perfdata of a 1 MB output lands (bytes)" rrd_value bigtext bytes
check "lo: rtt_min, rtt_max, loss are data sources" \
    eval 'rrd_has_ds lo rtt_min && rrd_has_ds lo rtt_max && rrd_has_ds lo loss'
check "lo: fetch shows rtt_min and total (the median)" \
    eval 'rrd_value lo rtt_min && rrd_value lo total'
check "after exit: no $SLOW sleep survives" [ "$(sleeps $SLOW)" = 0 ]

# --- B: exec-max 2 with 6 slow plugins ---------------------------------------

mkdir -p "$T/b"
{
    echo "set state-dir $T/b"
    echo "set interval 3s"
    echo "set timeout 8s"
    echo "set exec-max 2"
    for i in 1 2 3 4 5 6; do
        echo "server m$i exec \"/bin/sleep $MSLOW\""
    done
} >"$T/b.conf"
start b "$T/b.conf" || exit 1
max=0
min_after_start=99
for i in $(seq 1 90); do
    n=$(pgrep -P "$DPID" | grep -c .)
    [ "$n" -gt "$max" ] && max=$n
    sleep 0.1
done
check "b: never more than 2 plugins at once (saw at most $max)" [ "$max" -le 2 ]
check "b: the 2 slots were used (saw $max at once)" [ "$max" = 2 ]
for i in 1 2 3 4 5 6; do
    result "m$i" ok "\\(no output\\)" 5
done
stop b
check "b: no $MSLOW sleep survives" [ "$(sleeps $MSLOW)" = 0 ]

# --- C: a check times out waiting for a free exec slot -----------------------

mkdir -p "$T/c"
cat >"$T/c.conf" <<EOF
set state-dir $T/c
set interval 10s
set exec-max 1
server holder exec "/bin/sleep $QSLOW" timeout 8s
server waiter exec "/bin/sleep $QSLOW" timeout 2s
EOF
start c "$T/c.conf" || exit 1
result waiter critical "timeout after 2s waiting for a free exec slot" 12
# exec-max 1: never both (the holder's own end is its result, just below).
n=$(sleeps $QSLOW)
check "c: the waiter never ran beside the holder ($n running)" [ "$n" -le 1 ]
result holder critical "timeout after 8s waiting for the plugin" 12
sleep 0.3
check "c: no $QSLOW sleep survives its timeout" [ "$(sleeps $QSLOW)" -le 1 ]
stop c
check "c: none after exit" [ "$(sleeps $QSLOW)" = 0 ]

# --- D: ping in network namespaces -------------------------------------------
# The daemon runs in namespace $NETNS; a second one, $NETNS2, at the other
# end of a veth pair, holds 192.0.2.2-4 (TEST-NET-1), where the kernel
# ignores echoes and t/'s echo responder answers instead: late, or
# dropping some echoes and sending forged, short and corrupt replies in
# their place. Namespaced sysctls (ping_group_range, icmp_echo_ignore_all)
# change nothing outside, and no packet leaves the machine.

# The echo responder: per address a delay (ms) and which echoes, by
# arrival number mod 5, to drop. For each dropped echo it sends a valid
# reply from another address, a short reply and one with a bad checksum;
# each kept reply is sent twice. None of that may count.
cat >"$T/responder.py" <<'EOF'
import heapq, select, socket, struct, sys, time

def csum(b):
    if len(b) % 2:
        b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff

def ip(src, dst, icmp):
    return struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(icmp), 0, 0, 64,
                       socket.IPPROTO_ICMP, 0, socket.inet_aton(src),
                       socket.inet_aton(dst)) + icmp

def reply(req, short=False, bad=False):
    body = req[4:12] if short else req[4:]
    c = csum(b'\0\0\0\0' + body) ^ (0x5a5a if bad else 0)
    return b'\0\0' + struct.pack('!H', c) + body

rules = {}
for arg in sys.argv[1:]:
    addr, delay, drop = arg.split(':')
    rules[addr] = (float(delay) / 1000, {int(c) for c in drop})
seen = {}
rx = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
tx = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
q, n = [], 0
print('ready', flush=True)
while True:
    wait = max(0.0, q[0][0] - time.monotonic()) if q else None
    r = select.select([rx], [], [], wait)[0]
    now = time.monotonic()
    while q and q[0][0] <= now:
        _, _, pkt, to = heapq.heappop(q)
        tx.sendto(pkt, (to, 0))
    if not r:
        continue
    data, (src, _) = rx.recvfrom(2048)
    icmp = data[(data[0] & 15) * 4:]
    dst = socket.inet_ntoa(data[16:20])
    if len(icmp) < 8 or icmp[0] != 8 or dst not in rules:
        continue
    delay, drop = rules[dst]
    i = seen.get(dst, 0)
    seen[dst] = i + 1
    if i % 5 in drop:
        pkts = [ip('192.0.2.99', src, reply(icmp)),
                ip(dst, src, reply(icmp, short=True)),
                ip(dst, src, reply(icmp, bad=True))]
    else:
        pkts = [ip(dst, src, reply(icmp))] * 2
    for p in pkts:
        n += 1
        heapq.heappush(q, (now + delay, n, p, src))
EOF

# responder_start / responder_stop: the responder in $NETNS2, afresh for
# each daemon so that its counts start at the first echo.
responder_start() {
    ip netns exec "$NETNS2" /usr/bin/python3 -u "$T/responder.py" \
        192.0.2.2:30: 192.0.2.3:0:02 192.0.2.4:0:13 >"$T/responder.log" 2>&1 7>&- &
    RPID=$!
    for i in $(seq 1 50); do
        grep -q ready "$T/responder.log" && return 0
        sleep 0.1
    done
    fail "echo responder starts" "$(cat "$T/responder.log")"
    return 1
}
responder_stop() {
    [ -n "$RPID" ] || return 0
    kill "$RPID" 2>/dev/null
    wait "$RPID" 2>/dev/null
    RPID=
}

# veth_results: what the responder's three addresses must give.
veth_results() {
    local rtt='rtt median [0-9.]+ ms min [0-9.]+ max [0-9.]+'
    result late warning "loss 0% \\(5/5 replies\\), rtt median 3[0-9]\\.[0-9]+ ms min [0-9.]+ max [0-9.]+"
    result lossy critical "loss 40% \\(3/5 replies\\), $rtt"
    result tolerant ok "loss 40% \\(3/5 replies\\), $rtt"
}

NETNS=tocsin-t-$$
NETNS2=tocsin-t2-$$
if ! ip netns add "$NETNS" 2>/dev/null ||
    ! ip netns exec "$NETNS" ip link set lo up ||
    ! ip netns add "$NETNS2" ||
    ! ip link add tct$$ netns "$NETNS" type veth peer name tcr$$ \
        netns "$NETNS2"; then
    skip "ping in namespaces" "cannot make network namespaces and a veth pair"
else
    NS="ip netns exec $NETNS"
    NS2="ip netns exec $NETNS2"
    NORAW="setpriv --bounding-set=-net_raw --inh-caps=-net_raw --"
    $NS ip addr add 192.0.2.1/24 dev tct$$
    $NS ip link set tct$$ up
    for a in 2 3 4; do
        $NS2 ip addr add 192.0.2.$a/24 dev tcr$$
    done
    $NS2 ip link set tcr$$ up
    $NS2 sysctl -qw net.ipv4.icmp_echo_ignore_all=1

    # Without CAP_NET_RAW and with ping_group_range off: a clear unknown.
    $NS sysctl -qw net.ipv4.ping_group_range="1 0"
    mkdir -p "$T/d1"
    cat >"$T/d1.conf" <<EOF
set state-dir $T/d1
set interval 2s
set timeout 3s
server lo ping://127.0.0.1
EOF
    start d1 "$T/d1.conf" $NS $NORAW || exit 1
    result lo unknown "cannot open an ICMP socket for 127.0.0.1: Permission denied .*"
    stop d1

    # Pings on the veth, and on loopback v4 and v6.
    cat >"$T/veth.conf" <<EOF
set interval 2s
set timeout 3s
server late ping://192.0.2.2 warn 10ms
server lossy ping://192.0.2.3
server tolerant ping://192.0.2.4 loss 50%
server lo ping://127.0.0.1
server lo6 ping://[::1]
EOF

    # Unprivileged ICMP datagram sockets, allowed by ping_group_range.
    $NS sysctl -qw net.ipv4.ping_group_range="0 2147483647"
    mkdir -p "$T/d2"
    { echo "set state-dir $T/d2"; cat "$T/veth.conf"; } >"$T/d2.conf"
    responder_start || exit 1
    start d2 "$T/d2.conf" $NS $NORAW || exit 1
    check "d2: datagram ICMP socket without CAP_NET_RAW" \
        grep -q 'ping: datagram ICMP socket' "$DLOG"
    veth_results
    result lo ok "loss 0% \\(5/5 replies\\), rtt median [0-9.]+ ms min [0-9.]+ max [0-9.]+"
    if $NS ip -6 addr show dev lo | grep -q 'inet6 ::1'; then
        result lo6 ok "loss 0% \\(5/5 replies\\), rtt median [0-9.]+ ms min [0-9.]+ max [0-9.]+"
    else
        skip "d2: lo6" "the namespace's loopback has no ::1"
    fi
    stop d2
    responder_stop

    # Raw sockets, and a loopback that ignores echoes: all lost.
    $NS sysctl -qw net.ipv4.ping_group_range="1 0"
    $NS sysctl -qw net.ipv4.icmp_echo_ignore_all=1
    mkdir -p "$T/d3"
    { echo "set state-dir $T/d3"; cat "$T/veth.conf"; } >"$T/d3.conf"
    echo "server lo3 ping://127.0.0.1 count 3" >>"$T/d3.conf"
    responder_start || exit 1
    start d3 "$T/d3.conf" $NS || exit 1
    check "d3: raw ICMP socket as root" grep -q 'ping: raw ICMP socket' "$DLOG"
    veth_results
    result lo critical "loss 100% \\(0/5 replies\\)"
    result lo3 critical "loss 100% \\(0/3 replies\\)"
    stop d3
    responder_stop
    RRD=$T/d3/rrd
    check "d3: the loss is archived as 100" rrd_value lo loss 100
    check "d3: 40% loss is archived" rrd_value lossy loss 40
    check "d3: the median (about 30 ms) is archived as total" eval \
        'rrdtool fetch "$RRD/late.rrd" AVERAGE -s -120 | awk "
            NR == 1 { next } \$2 !~ /nan/ && \$2 > 0.029 && \$2 < 0.040 { f = 1 }
            END { exit !f }"'
    ip netns del "$NETNS"
    ip netns del "$NETNS2"
    NETNS=
    NETNS2=
fi

finish
