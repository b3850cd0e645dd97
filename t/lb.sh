# t/lb.sh: what tocsin-lb's tests share (after t/servers.sh and
# t/probed.sh): nginx backends that answer their name, tocsin-lb started
# and stopped, the bounded client t/lbclient.py, and JSON assertions.
#
#     start_lb_backends N        # lb_b1..lb_bN on LB_B1_PORT..
#     hits I                     # requests backend I logged
#     lb_start CONF | lb_stop    # log in $T/lb.log; LB_PID
#     $LBCLIENT PORT COUNT CONC [--keepalive] ...   # prints JSON
#     check DESC JSON EXPR       # pass when the Python EXPR on d is True
#     lbstat [STATEDIR]          # tocsin-lb's stats, JSON
#     raw PORT DATA [shut]       # bytes sent, what came back printed
#     srvq ID | farmq NAME       # a server's, a farm's object in them

LB=${TOCSIN_LB:-${TOCSIN_BUILD:-.}/lb/tocsin-lb}
LBCLIENT="$PY $SERVERS_TDIR/lbclient.py"
LB_PID=

# start_lb_backends N: nginx lb_b1..lb_bN, each on LB_Bi_PORT (kept when
# set, so a stopped one comes back on its port), answering its name.
start_lb_backends() {
    local i d
    for i in $(seq 1 "$1"); do
        d=$T/lb_b$i
        _srv_setport "LB_B${i}_PORT" && mkdir -p "$d" || return 1
        [ -f "$T/big" ] || head -c 4194304 /dev/urandom >"$T/big"
        cp "$T/big" "$d/big"
        start_nginx_backend "lb_b$i" "b$i" \
            "$(eval echo "\$LB_B${i}_PORT")" || return 1
    done
}

# all_ok DESC N OUT: pass when OUT (the clients' lines) is N lines "ok"
# and nothing else, else fail with the first lines that are not.
all_ok() {
    local bad
    bad=$(printf '%s\n' "$3" | grep -v '^ok$')
    if [ -z "$bad" ] && [ "$(printf '%s\n' "$3" | grep -c '^ok$')" = "$2" ]
    then
        pass "$1"
    else
        failed "$1" "$(printf '%s\n' "$bad" | head -3)"
    fi
}

# hits I: requests backend I has logged.
hits() {
    wc -l <"$T/lb_b$1/access.log"
}

lb_start() {
    : >>"$T/lb.log"
    "$LB" -f -d -c "$1" >>"$T/lb.log" 2>&1 &
    LB_PID=$!
    local i=0
    while [ $i -lt 100 ]; do
        grep -q "started:" "$T/lb.log" && return 0
        kill -0 "$LB_PID" 2>/dev/null || break
        sleep 0.1
        i=$((i + 1))
    done
    echo "tocsin-lb did not start; its log:" >&2
    cat "$T/lb.log" >&2
    return 1
}

lb_stop() {
    [ -n "$LB_PID" ] || return 0
    term_wait "$LB_PID" tocsin-lb
    LB_PID=
    log_clean tocsin-lb "$T/lb.log"
}
# On exit: tocsin-lb stopped, then t/servers.sh's own exit with the
# script's status (every server stopped; the run's folder removed when the
# script passed, kept and named when not; an early end reported in TAP).
# It replaced that exit, which then never ran.
_lb_on_exit() {
    local rc=$?
    lb_stop >/dev/null
    (exit "$rc")
    _srv_on_exit
}
trap _lb_on_exit EXIT

# jq_ JSON EXPR: a Python expression on the parsed JSON as d.
jq_() {
    "$PY" -c 'import json,sys; d=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2"
}

# lbstat [STATEDIR]: tocsin-lb's stats as JSON, by tocsinctl lb-stats -j
# on STATEDIR/lb.sock ($T/state by default).
lbstat() {
    "$TOCSINCTL" -s "${1:-$T/state}/lb.sock" -j lb-stats
}
# srvq ID, farmq NAME: for check_json, that server's or that farm's
# object in the stats (d).
srvq() {
    echo "[s for f in d['farms'] for s in f['servers'] if s['id'] == '$1'][0]"
}
farmq() {
    echo "[f for f in d['farms'] if f['name'] == '$1'][0]"
}

# check_json DESC JSON EXPR: pass when EXPR (on d) is True (the harness's
# check runs a command).
check_json() {
    local v
    v=$(jq_ "$2" "$3" 2>&1)
    if [ "$v" = True ]; then
        pass "$1"
    else
        failed "$1: $3 is '$v' on $2"
    fi
}

# raw PORT DATA [shut]: DATA (with \r\n escapes) sent on one connection,
# its sending side closed after it with shut; prints all that came back
# until the close (or 4 s of silence), \r dropped.
raw() {
    "$PY" - "$@" <<'PYEOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=4)
s.sendall(sys.argv[2].encode().decode("unicode_escape").encode("latin-1"))
if len(sys.argv) > 3:
    s.shutdown(socket.SHUT_WR)
d = b""
try:
    while True:
        b = s.recv(65536)
        if not b:
            break
        d += b
except socket.timeout:
    d += b"\n<timeout>\n"
sys.stdout.write(d.replace(b"\r", b"").decode("latin-1"))
PYEOF
}
