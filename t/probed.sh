# t/probed.sh: what the integration tests share: run tocsin-probed on a
# config, ask tocsinctl what it sees, and count assertions. Source it after
# t/servers.sh (which makes $T and stops servers on exit).
#
#     probed_start CONF          # background, -f -d; log in $T/probed.log
#     wait_field ID FIELD VALUE [SECONDS]
#     assert_field ID FIELD VALUE | assert_match ID FIELD REGEX
#     probed_stop                # TERM; fails on sanitizer reports
#     finish                     # prints "N passed, M failed"; exit status

PROBED=${TOCSIN_PROBED:-${TOCSIN_BUILD:-.}/probed/tocsin-probed}
TOCSINCTL=${TOCSINCTL:-${TOCSIN_BUILD:-.}/tocsinctl/tocsinctl}
PY=/usr/bin/python3
npass=0
nfail=0

pass() { npass=$((npass + 1)); echo "ok - $*"; }
failed() { nfail=$((nfail + 1)); echo "FAIL - $*"; }

# probed_start CONF: start the daemon in the foreground (our child, in the
# background), wait until its control socket answers.
probed_start() {
    PROBED_CONF=$1
    PROBED_SOCK=$(sed -n 's/^set control //p' "$1")
    [ -n "$PROBED_SOCK" ] ||
        PROBED_SOCK=$(sed -n 's/^set state-dir //p' "$1")/probed.sock
    "$PROBED" -f -d -c "$PROBED_CONF" >>"$T/probed.log" 2>&1 &
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

# probed_stop: SIGTERM, wait, and fail on anything a sanitizer printed.
probed_stop() {
    [ -n "${PROBED_PID:-}" ] || return 0
    kill -TERM "$PROBED_PID" 2>/dev/null
    local i=0
    while kill -0 "$PROBED_PID" 2>/dev/null && [ $i -lt 100 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    if kill -0 "$PROBED_PID" 2>/dev/null; then
        failed "tocsin-probed did not exit within 10 s of SIGTERM"
        kill -KILL "$PROBED_PID" 2>/dev/null
    fi
    wait "$PROBED_PID" 2>/dev/null
    PROBED_PID=
    if grep -qE "AddressSanitizer|LeakSanitizer|runtime error:" \
        "$T/probed.log"; then
        failed "sanitizer report in tocsin-probed's log"
        grep -A30 -E "AddressSanitizer|LeakSanitizer|runtime error:" \
            "$T/probed.log" | head -60
    else
        pass "tocsin-probed exited cleanly"
    fi
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

# wait_field ID FIELD VALUE [SECONDS]: poll until the field has the value.
wait_field() {
    local limit=${4:-15} i=0 v
    while [ $i -lt $((limit * 5)) ]; do
        v=$(field "$1" "$2")
        [ "$v" = "$3" ] && return 0
        sleep 0.2
        i=$((i + 1))
    done
    return 1
}

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
    echo "$npass passed, $nfail failed"
    [ "$nfail" -eq 0 ]
}
