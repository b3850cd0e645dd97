#!/bin/bash
# t/test_daemon_start.sh: tocsin-probed, tocsin-pager and tocsin-lb started
# without -f, as a user types them. The command returns once the daemon
# runs (exit 0, the daemon alive under the pid in its pidfile) or once its
# start failed (exit 1 with the reason on stderr, nothing left running, no
# pidfile left): a control socket in a missing folder, a state folder that
# cannot be made, a listen address taken, a second instance, a second
# tocsin-probed on the same state folder under another pidfile and socket.
# No /dev/log is needed: what stops the start is said on stderr. Each
# daemon is stopped by the pid in its pidfile.
set -u
. "${srcdir:-.}/t/servers.sh" || exit 1
. "${srcdir:-.}/t/probed.sh" || exit 1
servers_trap

PAGER=${TOCSIN_BUILD:-.}/pager/tocsin-pager
LB=${TOCSIN_BUILD:-.}/lb/tocsin-lb
S=$T/state
: >"$T/file"

# On exit: every daemon this test started, by the pid in its pidfile.
PIDFILES=
stop_pidfiles() {
    local f
    for f in $PIDFILES; do
        [ -s "$f" ] && kill -TERM "$(cat "$f")" 2>/dev/null
    done
}
trap 'rc=$?; stop_pidfiles; (exit $rc); _srv_on_exit' EXIT

# start NAME PROGRAM CONF: PROGRAM -c CONF without -f; its exit status in
# $rc, its stdout and stderr in $T/NAME.out. The TAP stream (7) is not
# handed on: a daemon left running would hold it open.
start() {
    "$2" -c "$3" >"$T/$1.out" 2>&1 </dev/null 7>&-
    rc=$?
    echo "$1: exit $rc: $(cat "$T/$1.out")"
}

# refused NAME PROGRAM CONF REGEX [PID]: the start fails, exit 1, and
# stderr matches REGEX; no process of CONF is left but PID (the first
# instance).
refused() {
    local left
    start "$1" "$2" "$3"
    check "$1: exit 1 (was $rc)" test "$rc" = 1
    check "$1: the reason is on stderr: $(head -c 300 "$T/$1.out")" \
        grep -qE -- "$4" "$T/$1.out"
    left=$(pgrep -f -- "-c $3\$" | grep -vx "${5:-none}")
    check "$1: no process is left (${left:-none})" test -z "$left"
}

# runs NAME PIDFILE: the start succeeded and the pidfile's pid runs.
runs() {
    check "$1: exit 0 (was $rc)" test "$rc" = 0
    check "$1: nothing on stdout or stderr" test ! -s "$T/$1.out"
    check "$1: the pid in $2 runs ($(cat "$2" 2>/dev/null))" \
        sh -c 'kill -0 "$(cat "$1")"' sh "$2"
    PIDFILES="$PIDFILES $2"
}

# stopped NAME PIDFILE: SIGTERM to the pidfile's pid; gone within 10 s.
stopped() {
    local pid
    pid=$(cat "$2" 2>/dev/null)
    [ -n "$pid" ] || { failed "$1: no pid in $2"; return; }
    term_wait "$pid" "$1"
    check "$1: stopped by the pid in its pidfile" test ! -e "/proc/$pid"
}

# --- tocsin-probed ----------------------------------------------------------
cat >"$T/probed.conf" <<CONF
set state-dir $S
set archives off
set interval 1s
server a exec "/bin/true"
CONF
{ cat "$T/probed.conf"; echo "set control $T/nodir/probed.sock"; } \
    >"$T/nodir.conf"

refused "probed, control socket in a missing folder" "$PROBED" \
    "$T/nodir.conf" "control socket $T/nodir/probed.sock.*No such file"
check "probed: the failed start left no pidfile" test ! -e "$S/probed.pid"

start "probed" "$PROBED" "$T/probed.conf"
runs "probed" "$S/probed.pid"
PROBED_SOCK=$S/probed.sock
check "probed: its control socket answers" ctl status

refused "probed, a second instance" "$PROBED" "$T/probed.conf" \
    "already running.*pid $(cat "$S/probed.pid")" "$(cat "$S/probed.pid")"
check "probed: the second left the first's pidfile" \
    sh -c 'kill -0 "$(cat "$1")"' sh "$S/probed.pid"

# Another config on the same state folder, with a pidfile and a control
# socket of its own: the folder itself is locked (two probeds on one spool
# paged twice and lost pages).
{
    cat "$T/probed.conf"
    echo "set pidfile $T/other.pid"
    echo "set control $T/other.sock"
} >"$T/other.conf"
LOCKED="already running on the state folder $S \\(pid $(cat "$S/probed.pid") holds $S/probed.lock\\)"
refused "probed, another pidfile and control socket on the same state folder" \
    "$PROBED" "$T/other.conf" "$LOCKED" "$(cat "$S/probed.pid")"
check "probed: the second made no control socket" test ! -e "$T/other.sock"
PIDFILES="$PIDFILES $T/other.pid"
timeout 30 "$PROBED" -f -c "$T/other.conf" >"$T/other-f.out" 2>&1 7>&-
rc=$?
check "probed -f on the same state folder: exit 1 (was $rc)" test "$rc" = 1
check "probed -f on the same state folder: says why: $(cat "$T/other-f.out")" \
    grep -qE -- "$LOCKED" "$T/other-f.out"

# --- tocsin-pager -----------------------------------------------------------
sed "s|^set state-dir .*|set state-dir $T/file/state|" "$T/probed.conf" \
    >"$T/nostate.conf"
refused "pager, a state folder that cannot be made" "$PAGER" \
    "$T/nostate.conf" "cannot make state folder $T/file/state"

start "pager" "$PAGER" "$T/probed.conf"
runs "pager" "$S/pager.pid"
check "pager: its control socket is bound" test -S "$S/pager.sock"
refused "pager, a second instance" "$PAGER" "$T/probed.conf" \
    "already running.*pid $(cat "$S/pager.pid")" \
    "$(cat "$S/probed.pid" "$S/pager.pid")"

# --- tocsin-lb --------------------------------------------------------------
P=$(servers_port) || exit 1
cat >"$T/lb.conf" <<CONF
set state-dir $T/lbstate
set control $S/probed.sock
set archives off
farm f {
    listen 127.0.0.1:$P tcp
    server a tcp://127.0.0.1:1
}
CONF
start "lb" "$LB" "$T/lb.conf"
runs "lb" "$T/lbstate/lb.pid"
check "lb: it listens on $P" sh -c "ss -Hltn 'sport = :$P' | grep -q ."
refused "lb, a second instance" "$LB" "$T/lb.conf" \
    "already running.*pid $(cat "$T/lbstate/lb.pid")" \
    "$(cat "$T/lbstate/lb.pid")"
sed "s|lbstate|lbstate2|" "$T/lb.conf" >"$T/lb2.conf"
refused "lb, its listen address taken" "$LB" "$T/lb2.conf" \
    "127.0.0.1:$P.*in use"

stopped "lb" "$T/lbstate/lb.pid"
stopped "pager" "$S/pager.pid"
stopped "probed" "$S/probed.pid"
check "probed: its pidfile is removed at exit" test ! -e "$S/probed.pid"
finish
