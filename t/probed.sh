# t/probed.sh: the one harness every t/*.sh uses. It prints TAP (read by
# automake's tap-driver.sh, see t/local.mk): one "ok N - what" or
# "not ok N - what" line per assertion, "ok N - what # SKIP why" for an
# assertion that cannot run here, then the plan "1..N" and a summary
# comment "# t/NAME.sh: N passed, M failed, K skipped". A file that cannot
# run at all says why with skip_all. It also runs tocsin-probed on a config
# and asks tocsinctl what it sees. Source it after t/servers.sh (which makes
# $T, stops servers on exit and, through harness_on_exit, ends the TAP
# stream when a script leaves before finish).
#
#     pass WHAT | failed WHAT [DETAIL] | fail WHAT [DETAIL]
#     check WHAT CMD...          # passes if CMD succeeds
#     check_not WHAT CMD...      # passes if CMD fails
#     skip WHAT WHY              # one assertion that cannot run here
#     skip_all WHY               # the whole file cannot run here; exits
#     wait_for SECONDS CMD...    # poll CMD until it succeeds
#     probed_start CONF          # background, -f -d; log in $T/probed.log
#     wait_field ID FIELD VALUE [SECONDS]
#     assert_field ID FIELD VALUE | assert_match ID FIELD REGEX
#     expect_state ID STATE [SECONDS]
#     probed_stop                # TERM; fails on sanitizer reports
#     term_wait PID WHAT         # TERM, gone within 10 s, reaped
#     log_clean WHAT LOG...      # no sanitizer report in the LOGs
#     probed_kill9               # KILL, reaped
#     flapper_start PERIOD N     # N ports in PORTS, up PERIOD s, down PERIOD s
#     crash_conf INTERVAL        # probed's fast config lines (crash tests)
#     crash_pause [MAX]          # a random 0.3 to MAX (2) s, where those kill
#     finish                     # plan and summary; status 0 if none failed
#
# The build folder is TOCSIN_BUILD (make check sets it to the top build
# folder); the source folder is srcdir. POSIX sh: sourced by bash and dash.
#
# Only the harness writes to the TAP stream (file descriptor 7, the
# script's standard output); from here on the script's own standard output
# goes to standard error, which lands in the test's log, so no line a
# command prints can pass for a result.
exec 7>&1 1>&2
ntest=0

PROBED=${TOCSIN_PROBED:-${TOCSIN_BUILD:-.}/probed/tocsin-probed}
TOCSINCTL=${TOCSINCTL:-${TOCSIN_BUILD:-.}/tocsinctl/tocsinctl}
PY=/usr/bin/python3
npass=0
nfail=0

nskip=0
harness_done=

# _tap_text TEXT: TEXT on one line, its '#' escaped (TAP reads an
# unescaped '# SKIP' or '# TODO' as a directive).
_tap_text() {
    printf '%s' "$*" | tr '\n' ' ' | sed 's/#/\\#/g'
}

pass() {
    ntest=$((ntest + 1))
    npass=$((npass + 1))
    echo "ok $ntest - $(_tap_text "$*")" >&7
}

# failed WHAT [DETAIL]: a failed assertion; DETAIL (any lines) is printed
# as TAP comments under it.
failed() {
    ntest=$((ntest + 1))
    nfail=$((nfail + 1))
    echo "not ok $ntest - $(_tap_text "$1")" >&7
    [ -z "${2:-}" ] || printf '%s\n' "$2" | sed 's/^/#   /' >&7
    return 0
}

fail() {
    failed "$@"
}

# skip WHAT WHY: WHAT is not asserted here, because WHY (shown in make
# check's summary).
skip() {
    ntest=$((ntest + 1))
    nskip=$((nskip + 1))
    echo "ok $ntest - $(_tap_text "$1") # SKIP $(_tap_text "${2:-no reason given}")" >&7
}

# skip_all WHY: nothing in this file can run here; say why and exit.
skip_all() {
    harness_done=1
    echo "1..0 # SKIP $(_tap_text "$*")" >&7
    exit 0
}

# check WHAT CMD...: run CMD (its output goes to the log); pass if it
# succeeds. check_not: pass if it fails.
check() {
    local what=$1
    shift
    if "$@"; then
        pass "$what"
    else
        failed "$what" "exit status $?: $*"
    fi
}

check_not() {
    local what=$1
    shift
    if "$@"; then
        failed "$what" "succeeded: $*"
    else
        pass "$what"
    fi
}

# _harness_summary: the plan and the summary comment.
_harness_summary() {
    harness_done=1
    echo "1..$ntest" >&7
    echo "# ${0##*/}: $npass passed, $nfail failed, $nskip skipped" >&7
}

# harness_on_exit STATUS: called by the exit handler (t/servers.sh's, or a
# test's own). A script that leaves without finish fails, saying so,
# unless it exits 0 after assertions that all passed; one that exits 77
# before any assertion is a skip.
harness_on_exit() {
    [ -z "$harness_done" ] || return 0
    if [ "$1" = 77 ] && [ "$ntest" = 0 ]; then
        harness_done=1
        echo "1..0 # SKIP exit status 77 (see the log)" >&7
        return 0
    fi
    if [ "$1" = 0 ] && [ "$nfail" = 0 ] && [ "$ntest" -gt 0 ]; then
        _harness_summary
        return 0
    fi
    failed "the script ended (exit status $1) before finish" \
        "see its log; logs of servers are kept in ${T:-?}"
    _harness_summary
}
# probed_start CONF: start the daemon in the foreground (our child, in the
# background), wait until its control socket answers.
probed_start() {
    PROBED_CONF=$1
    PROBED_SOCK=$(sed -n 's/^set control //p' "$1")
    [ -n "$PROBED_SOCK" ] ||
        PROBED_SOCK=$(sed -n 's/^set state-dir //p' "$1")/probed.sock
    "$PROBED" -f -d -c "$PROBED_CONF" >>"$T/probed.log" 2>&1 7>&- &
    PROBED_PID=$!
    echo "$PROBED_PID" >"$T/probed.pid"
    local i=0
    while [ $i -lt 100 ]; do
        if ctl status >/dev/null 2>&1; then
            return 0
        fi
        kill -0 "$PROBED_PID" 2>/dev/null || break
        sleep 0.1
        i=$((i + 1))
    done
    echo "tocsin-probed did not start; its log:" >&2
    cat "$T/probed.log" >&2
    return 1
}

# term_wait PID WHAT: SIGTERM; it must be gone within 10 s (else a failed
# assertion and SIGKILL); reaped.
term_wait() {
    kill -TERM "$1" 2>/dev/null
    local i=0
    while kill -0 "$1" 2>/dev/null && [ $i -lt 100 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    if kill -0 "$1" 2>/dev/null; then
        failed "$2 did not exit within 10 s of SIGTERM"
        kill -KILL "$1" 2>/dev/null
    fi
    wait "$1" 2>/dev/null
}

# log_clean WHAT LOG...: a failed assertion when a LOG holds a sanitizer
# report (shown), else "WHAT: no sanitizer report". Missing LOGs are
# skipped. log_clean_quiet: the failure only.
SANITIZED='AddressSanitizer|LeakSanitizer|runtime error:'
log_clean_quiet() {
    local what=$1
    shift
    if grep -qE "$SANITIZED" "$@" 2>/dev/null; then
        failed "sanitizer report from $what" \
            "$(grep -hA30 -E "$SANITIZED" "$@" 2>/dev/null | head -60)"
        return 1
    fi
    return 0
}
log_clean() {
    log_clean_quiet "$@" && pass "$1: no sanitizer report"
}

# probed_stop: SIGTERM, wait, and fail on anything a sanitizer printed.
probed_stop() {
    [ -n "${PROBED_PID:-}" ] || return 0
    term_wait "$PROBED_PID" tocsin-probed
    PROBED_PID=
    log_clean tocsin-probed "$T/probed.log"
}

# probed_kill9: SIGKILL to probed, reaped; no report (a crash test's).
probed_kill9() {
    [ -n "${PROBED_PID:-}" ] || return 0
    kill -KILL "$PROBED_PID" 2>/dev/null
    wait "$PROBED_PID" 2>/dev/null
    PROBED_PID=
}

# flapper_start PERIOD N: N free ports, put in PORTS, each listening for
# PERIOD seconds then closed for PERIOD, each out of phase with the one
# before (the servers the crash tests watch change state), served by the
# server "flapper".
flapper_start() {
    local i
    PORTS=
    for i in $(seq "$2"); do
        PORTS="$PORTS $(servers_port)" || return 1
    done
    cat >"$T/flap.py" <<'PY'
import select, socket, sys, time
period = float(sys.argv[1])
ports = [int(p) for p in sys.argv[2:]]
socks = {}
while True:
    now = time.time()
    for i, p in enumerate(ports):
        up = int(now / period + i / len(ports)) % 2 == 0
        if up and p not in socks:
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", p))
                s.listen(64)
                socks[p] = s
            except OSError:
                s.close()
        elif not up and p in socks:
            socks.pop(p).close()
    r, _, _ = select.select(list(socks.values()), [], [], 0.02)
    for s in r:
        try:
            s.accept()[0].close()
        except OSError:
            pass
PY
    _srv_spawn flapper "$PY" "$T/flap.py" "$1" $PORTS
}

# crash_conf INTERVAL: the first lines of the crash tests' config: state
# in $T/state, no archives, checks every INTERVAL, one failure or success
# makes a hard state.
crash_conf() {
    echo "set state-dir $T/state"
    echo "set archives off"
    echo "set interval $1"
    echo "set timeout 500ms"
    echo "set retry-interval $1"
    echo "set retries 1"
    echo "set rise 1"
}

# crash_pause [MAX]: sleep a random 0.3 to MAX s (default 2; where the
# crash tests kill).
crash_pause() {
    sleep "$(awk -v s="$(od -An -N2 -tu2 /dev/urandom)" -v m="${1:-2}" \
        'BEGIN { srand(s); printf "%.2f", 0.3 + rand() * (m - 0.3) }')"
}

# ctl ARGS...: tocsinctl on the running daemon's socket (so it works even
# while the config file on disk is broken).
ctl() {
    "$TOCSINCTL" -s "$PROBED_SOCK" "$@"
}

# field ID FIELD: one field of `tocsinctl -j status ID` (null as "null";
# nothing when the server is unknown).
field() {
    ctl -j status "$1" 2>/dev/null |
        "$PY" -c '
import json, sys
try:
    d = json.load(sys.stdin)
except Exception:
    sys.exit(0)
if isinstance(d, list):
    d = d[0] if d else {}
if not isinstance(d, dict) or "id" not in d:
    sys.exit(0)
v = d.get(sys.argv[1])
print("null" if v is None else str(v).lower() if isinstance(v, bool) else v)
' "$2"
}

# wait_for SECONDS CMD [ARGS...]: until CMD succeeds, asked at once, then
# after 0.1 s, 0.2 s, ... and every 0.5 s from then on (a long wait runs
# CMD few times: the machine is shared by the tests running side by
# side); 1 when it never did over SECONDS of sleep.
wait_for() {
    local _wait_left=$(($1 * 10)) _wait_d=1
    shift
    while :; do
        "$@" && return 0
        [ "$_wait_left" -gt 0 ] || return 1
        sleep "0.$_wait_d"
        _wait_left=$((_wait_left - _wait_d))
        [ "$_wait_d" -ge 5 ] || _wait_d=$((_wait_d + 1))
    done
}

# wait_field ID FIELD VALUE [SECONDS]: wait_for (SECONDS, default 15) the
# field to have the value (each poll runs tocsinctl and python).
wait_field() {
    wait_for "${4:-15}" _field_is "$1" "$2" "$3"
}

_field_is() { [ "$(field "$1" "$2")" = "$3" ]; }

assert_field() {
    local v
    v=$(field "$1" "$2")
    if [ "$v" = "$3" ]; then
        pass "$1 $2 is $3"
    else
        failed "$1 $2 is '$v', expected '$3'"
    fi
}

assert_match() {
    local v
    v=$(field "$1" "$2")
    if printf '%s\n' "$v" | grep -qE -- "$3"; then
        pass "$1 $2 matches /$3/ ($v)"
    else
        failed "$1 $2 is '$v', expected to match /$3/"
    fi
}

# expect_state ID STATE [SECONDS]: wait for a state, then assert it.
expect_state() {
    wait_field "$1" state "$2" "${3:-15}"
    assert_field "$1" state "$2"
}

finish() {
    probed_stop
    _harness_summary
    [ "$nfail" -eq 0 ]
}
