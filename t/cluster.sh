# t/cluster.sh: what the cluster tests share; it sources t/servers.sh,
# t/probed.sh and t/nats.sh. Probe nodes (each as a user of its own, so
# an iptables owner rule cuts one node's view), the events stream, the
# verdicts bucket. Our iptables rules go on exit, whatever happens.
#     cluster_setup [iptables] # the trap, and a skip when a need is missing
#     cluster_needs [iptables] # only the skips (a test with its own trap)
#     cluster_trap             # instead of servers_trap
#     start_node N [OPTIONS]   # probe node N watching nginx (web)
#     node_spawn N             # node N on its own $T/nodeN.conf
#     stop_node N              # TERM; asserts it exits within 10 s
#     events | wait_events N SECONDS | event_field SEQ FIELD
#     verdict NODE | wait_verdict NODE STATE SECONDS
#     cstate ID | wait_cstate ID STATE SECONDS   # the cluster's state
#     until_says SECONDS WANT CMD...             # until CMD prints WANT
#     clean_log NAME           # no sanitizer report in $T/NAME.log
#     cut_view [N] | heal      # node N's (or every node's) view of nginx
#     uncut_view N             # node N's view whole again, alone
#     cut_nats N               # node N's NATS connections (heal ends it)
#     cut_nats_of USER         # USER's (the pagers run as nobody)
#     wait_for SECONDS CMD...  # until CMD succeeds (t/probed.sh)
#     nctl N ARGS...           # tocsinctl on node N's control socket
#     sfield N FIELD | sfield_is N FIELD [!]VALUE   # web's, node N's status
#     start_smtpd [DELAY]      # aiosmtpd into $T/smtpd/mail.log
#     start_hookd [DELAY]      # HTTP receiver into $T/hookd/hook.log
#     start_pager N            # pager N in cluster mode ($PAGER_BODY)
#     start_probing            # 3 nats-servers, 3 probe nodes, web up
#     web_goes down|up         # its event asserted, its number in $EV
#     stop_all                 # nodes, pagers, their logs checked, finish
#     kill9 NAME               # kill -9 a server of servers.sh
#     mids, got ID             # Message-IDs start_smtpd took; how many ID
. "${srcdir:-.}/t/servers.sh" || exit 1
. "${srcdir:-.}/t/probed.sh" || exit 1
. "${srcdir:-.}/t/nats.sh" || exit 1

RULES=$T/iptables.rules
# Our rules go, whatever happens; then servers.sh's exit path.
on_exit() {
    local rc=$? r
    if [ -f "$RULES" ]; then
        while read -r r; do
            # shellcheck disable=SC2086
            iptables -D OUTPUT $r 2>/dev/null
        done <"$RULES"
    fi
    for n in 1 2 3; do servers_stop "node$n"; done
    for n in 1 2; do servers_stop "pager$n"; done
    (exit $rc)
    _srv_on_exit
}
cluster_trap() {
    trap on_exit EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
}

# cluster_setup [iptables]: the exit trap, then cluster_needs.
cluster_setup() {
    cluster_trap
    cluster_needs "$@"
}

# cluster_needs [iptables]: skip the whole test when what it needs is
# missing: root (nodes run as users of their own), nats-server,
# t/natsdump, and iptables when asked.
cluster_needs() {
    [ "$(id -u)" = 0 ] || skip_all "needs root: nodes run as users of their own"
    if [ "${1:-}" = iptables ]; then
        command -v iptables >/dev/null 2>&1 ||
            skip_all "no iptables (apt-get install iptables)"
        iptables -L OUTPUT -n >/dev/null 2>&1 ||
            skip_all "iptables cannot work here"
    fi
    command -v nats-server >/dev/null 2>&1 || skip_all "no nats-server"
    [ -x "$NATSDUMP" ] || skip_all "no $NATSDUMP (make check builds it)"
}

# nctl N ARGS...: tocsinctl on probe node N's control socket.
nctl() {
    local n=$1
    shift
    "$TOCSINCTL" -s "$T/node$n/probed.sock" "$@"
}

# sfield N FIELD: FIELD of web in node N's `tocsinctl -j status`, as
# JSON. sfield_is N FIELD [!]VALUE: it is (is not) VALUE.
sfield() {
    nctl "$1" -j status web | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
s = (d if isinstance(d, list) else d["servers"])[0]
print(json.dumps(s[sys.argv[1]]))' "$2"
}
sfield_is() {
    case $3 in
    !*) [ "$(sfield "$1" "$2")" != "${3#!}" ] ;;
    *) [ "$(sfield "$1" "$2")" = "$3" ] ;;
    esac
}

# node user: the users the nodes run as, one each.
NODE_USER_1=daemon NODE_USER_2=bin NODE_USER_3=sys

# start_node N [QUORUM]: probe node N (its config in $T/node$N.conf),
# until its control socket answers. QUORUM - : no `set quorum`; lines in
# $NODE_EXTRA go at the end of the config.
start_node() {
    local n=$1 q=${2:-2} u
    eval "u=\$NODE_USER_$n"
    mkdir -p "$T/node$n"
    cat >"$T/node$n.conf" <<CONF
set state-dir $T/node$n
set user $u
set archives off
set cluster $NATS_URLS
set node node$n
server web http://127.0.0.1:$NGINX_PORT/body interval 1s timeout 1s retries 1 retry-interval 1s
CONF
    [ "$q" = - ] || echo "set quorum $q" >>"$T/node$n.conf"
    [ -z "${NODE_EXTRA:-}" ] || printf '%s\n' "$NODE_EXTRA" >>"$T/node$n.conf"
    node_spawn "$n"
}

# node_spawn N: probe node N on its config $T/node$N.conf, until its
# control socket answers (10 s at most; else its log's end, and 1).
node_spawn() {
    local n=$1 i=0
    _srv_spawn "node$n" "$PROBED" -f -d -c "$T/node$n.conf" || return 1
    while [ $i -lt 100 ]; do
        "$TOCSINCTL" -s "$T/node$n/probed.sock" status >/dev/null 2>&1 &&
            return 0
        sleep 0.1
        i=$((i + 1))
    done
    echo "node$n did not start:" >&2
    tail -20 "$T/node$n.log" >&2
    return 1
}

# events: how many events the stream holds; asked again (10 s at most)
# while the cluster cannot answer (a leader being elected), never 0 for
# a failed ask.
events() {
    local i=0 out
    while [ $i -lt 50 ]; do
        if out=$(natsdump TOCSIN_EVENTS); then
            printf '%s' "$out" | grep -c .
            return 0
        fi
        sleep 0.2
        i=$((i + 1))
    done
    echo "events: natsdump failed for 10 s" >&2
    echo -1
}

# wait_events N SECONDS: until the stream holds N events.
wait_events() {
    local i=0
    while [ $i -lt $(($2 * 5)) ]; do
        [ "$(events)" -ge "$1" ] && return 0
        sleep 0.2
        i=$((i + 1))
    done
    return 1
}

# verdict NODE: that node's verdict of web in tocsin_verdicts.
verdict() {
    natsdump -k tocsin_verdicts 2>/dev/null | sed -n "s/^web\.$1 .*\"state\":\"\([a-z]*\)\".*/\1/p"
}

# until_says SECONDS WANT CMD...: until CMD prints WANT (asked as wait_for does).
until_says() {
    local secs=$1
    shift
    wait_for "$secs" _says "$@"
}
# _says WANT CMD...: CMD prints WANT.
_says() {
    local want=$1
    shift
    [ "$("$@")" = "$want" ]
}

# wait_verdict NODE STATE SECONDS
wait_verdict() {
    until_says "$3" "$2" verdict "$1"
}

# cstate ID: the cluster's state of server ID in tocsin_states.
cstate() {
    natsdump -k tocsin_states 2>/dev/null | "$PY" -c '
import json, sys
for line in sys.stdin:
    d = json.loads(line.split(" ", 1)[1])
    if d.get("id") == sys.argv[1]:
        print(d["new"])
' "$1"
}

# wait_cstate ID STATE SECONDS
wait_cstate() {
    until_says "$3" "$2" cstate "$1"
}

# view_rule [N]: the rule that cuts node N's view of nginx (every node's
# without N).
view_rule() {
    local u
    if [ -n "${1:-}" ]; then
        eval "u=\$NODE_USER_$1"
        echo "-p tcp -d 127.0.0.1 --dport $NGINX_PORT -m owner --uid-owner $u -j REJECT --reject-with tcp-reset"
    else
        echo "-p tcp -d 127.0.0.1 --dport $NGINX_PORT -j REJECT --reject-with tcp-reset"
    fi
}

# cut_view [N]: node N's view of nginx cut (every node's without N).
cut_view() {
    local r
    r=$(view_rule "${1:-}")
    echo "$r" >>"$RULES"
    # shellcheck disable=SC2086
    iptables -I OUTPUT $r
}

# uncut_view N: node N's view, cut by cut_view N, whole again (the other
# rules stay).
uncut_view() {
    local r
    r=$(view_rule "$1")
    # shellcheck disable=SC2086
    iptables -D OUTPUT $r
    grep -vxF -- "$r" "$RULES" >"$RULES.new"
    mv "$RULES.new" "$RULES"
}

# cut_nats N: node N's connections to the NATS servers cut (until heal).
cut_nats() {
    local u
    eval "u=\$NODE_USER_$1"
    cut_nats_of "$u"
}

# cut_nats_of USER: USER's connections to the NATS servers cut (until
# heal); the pagers run as nobody.
cut_nats_of() {
    local r u=$1 j p
    for j in 1 2 3; do
        eval "p=\$NATS${j}_PORT"
        r="-p tcp -d 127.0.0.1 --dport $p -m owner --uid-owner $u -j REJECT --reject-with tcp-reset"
        echo "$r" >>"$RULES"
        # shellcheck disable=SC2086
        iptables -I OUTPUT $r
    done
}

# heal: every rule of ours goes.
heal() {
    local r
    while read -r r; do
        # shellcheck disable=SC2086
        iptables -D OUTPUT $r
    done <"$RULES"
    : >"$RULES"
}

# event_field SEQ FIELD: a field of the stream's message SEQ.
event_field() {
    natsdump TOCSIN_EVENTS | "$PY" -c '
import json, sys
for line in sys.stdin:
    seq, data = line.split(" ", 1)
    if seq == sys.argv[1]:
        d = json.loads(data)
        for k in sys.argv[2].split("."):
            d = d[k]
        print(d)
' "$1" "$2"
}

# stop_node N: TERM; it must be gone within 10 s (its NATS close alone
# may wait 5 s, and LeakSanitizer's check follows under ASan).
stop_node() {
    local pid i=0
    pid=$(servers_pid "node$1")
    kill -TERM "$pid"
    while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    check "node$1 exits within 10 s of SIGTERM" [ $i -lt 100 ]
    servers_stop "node$1"
}


# clean_log NAME: pass when $T/NAME.log (a stopped process's) has no
# sanitizer report.
clean_log() {
    log_clean "$1" "$T/$1.log"
}

PAGER=${TOCSIN_PAGER:-${TOCSIN_BUILD:-.}/pager/tocsin-pager}
[ -z "${ASAN_OPTIONS:-}" ] ||
    export ASAN_OPTIONS="$ASAN_OPTIONS:suppressions=$SERVERS_TDIR/asan-pager.supp"

# start_smtpd [DELAY [MODE]]: aiosmtpd keeping each message in
# $T/smtpd/mail.log, then taking DELAY seconds (default 0) to say so: a
# pager killed meanwhile is killed mid-send. MODE first: only the first
# message waits, before it is kept; defer-first: the first is answered
# 451 after DELAY (t/servers/smtpd_slow.py).
start_smtpd() {
    mkdir -p "$T/smtpd" && _srv_chown "$T/smtpd" &&
        _srv_setport SMTPD_PORT || return 1
    _srv_spawn smtpd $SERVERS_ASUSER $SERVERS_PY \
        "$SERVERS_TDIR/servers/smtpd_slow.py" "$SMTPD_PORT" \
        "$T/smtpd/mail.log" "${1:-0}" ${2:+"$2"} || return 1
    _srv_wait smtpd "t:$SMTPD_PORT"
}

# start_hookd [DELAY]: the HTTP receiver of webhooks and SMS by API
# (t/servers/hookd.py) on $HOOK_PORT, each request a line of
# $T/hookd/hook.log (its Idempotency-Key), answered DELAY seconds
# (default 0) later: a pager killed meanwhile is killed mid-send.
start_hookd() {
    mkdir -p "$T/hookd" && _srv_chown "$T/hookd" &&
        _srv_setport HOOK_PORT || return 1
    _srv_spawn hookd $SERVERS_ASUSER $SERVERS_PY \
        "$SERVERS_TDIR/servers/hookd.py" "$HOOK_PORT" "$T/hookd/hook.log" \
        0 "${1:-0}" || return 1
    _srv_wait hookd "t:$HOOK_PORT"
}

# start_pager N: pager N in cluster mode (relay $SMTPD_PORT), until it
# says it started. Its contacts and servers are $PAGER_BODY, by default
# ops (email, and a webhook to $HOOK_PORT) notified for web; $PAGER_EXTRA
# adds lines before them.
start_pager() {
    local n=$1 c i=0
    mkdir -p "$T/pager$n"
    cat >"$T/pager$n.conf" <<CONF
set state-dir $T/pager$n
set user nobody
set cluster $NATS_URLS
set node pager$n
set smtp-relay 127.0.0.1:$SMTPD_PORT
set from tocsin@example.net
${PAGER_EXTRA:-}
${PAGER_BODY:-contact ops email ops@example.net webhook http://127.0.0.1:${HOOK_PORT:-9}/hook
server web http://127.0.0.1:$NGINX_PORT/body notify ops}
CONF
    : >>"$T/pager$n.log"
    c=$(grep -c 'started:' "$T/pager$n.log")
    _srv_spawn "pager$n" "$PAGER" -f -d -c "$T/pager$n.conf" || return 1
    while [ $i -lt 100 ]; do
        [ "$(grep -c 'started:' "$T/pager$n.log")" -gt "$c" ] && return 0
        sleep 0.1
        i=$((i + 1))
    done
    echo "pager$n did not start:" >&2
    tail -20 "$T/pager$n.log" >&2
    return 1
}

# start_probing: a NATS cluster of 3 servers and probe nodes 1 to 3
# watching nginx, until the first state of web (unknown -> up) is in the
# stream (asserted).
start_probing() {
    start_nats_cluster || return 1
    : >"$RULES"
    for n in 1 2 3; do
        start_node "$n" || return 1
    done
    check "the first state (unknown -> up) is in the stream" wait_events 1 30
}

# web_goes down|up: every node's view of web cut, or healed; asserts its
# event is in the stream, and sets EV to its number.
web_goes() {
    local n
    n=$(events)
    if [ "$1" = down ]; then cut_view; else heal; fi
    check "web's $1 event is in the stream" wait_events $((n + 1)) 60
    EV=$((n + 1))
}

# stop_all: the probe nodes (each asserted to exit) and the pagers
# stopped, their logs checked for sanitizer reports; the test's end.
stop_all() {
    for n in 1 2 3; do
        stop_node "$n"
    done
    servers_stop pager1
    servers_stop pager2
    log_clean "the nodes and pagers" "$T"/node*.log "$T"/pager*.log
    finish
}

# mids: the Message-IDs the SMTP server took, without <@...>, one a line.
mids() {
    sed -n 's/.*"message_id": "<\([^@]*\)@.*/\1/p' "$T/smtpd/mail.log" \
        2>/dev/null
}
# got ID: how many mails it took with Message-ID ID.
got() { mids | grep -cx "$1"; }

# kill9 NAME: kill -9 the server NAME of servers.sh, and forget it.
kill9() {
    kill -KILL "$(servers_pid "$1")"
    servers_stop "$1"
}
