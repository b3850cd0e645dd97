# t/pager.sh: what tocsin-pager's tests share (after t/servers.sh and
# t/probed.sh): the pager started, killed and stopped, the HTTP receiver
# (t/servers/hookd.py) and aiosmtpd (t/servers/smtpd.py) that count what
# they get, polling, and the sanitizer check of the pager's log.
#
#     pager_start | pager_kill9 | pager_stop   # -f -d; log in $T/pager.log
#     pager_sanitizers           # one failed assertion per report in the log
#     wait_for SECONDS CMD...    # poll CMD until it succeeds
#     start_hookd FAIL_FIRST     # HOOK_PORT; POSTs in $T/hookd/hook.log
#     start_smtpd [plain|ARGS...] # SMTPD_PORT; STARTTLS + AUTH pager:s3cret
#                                # unless plain or ARGS; $T/smtpd/mail.log
#     spool_events DIR FROM TO   # events FROM..TO of web1 (down, up, ...)
#     pager_spooled N            # $T/state/state.json saying "spooled" N
#     pager_conf_head            # a config's first lines, without probed
#     pager_probed_setup [FAIL_FIRST [CONF]] # beside probed: nginx, hookd,
#                                # H, LOG, NEW; CONF ($T/tocsin.conf) begun
#     hook_keys PREFIX           # distinct keys PREFIX* answered 200
#     has_key KEY                # KEY answered 200
#     paged_seq ID CHANNEL CONTACT # the event of ID's first page delivered
#     was_paged ID CHANNEL CONTACT # one was, by the pager's log

PAGER=${TOCSIN_PAGER:-${TOCSIN_BUILD:-.}/pager/tocsin-pager}
# Under the sanitizers: libesmtp's header lookup trips strict_string_checks
# (see the file).
[ -z "${ASAN_OPTIONS:-}" ] ||
    export ASAN_OPTIONS="$ASAN_OPTIONS:suppressions=$SERVERS_TDIR/asan-pager.supp"
PAGER_PID=

# pager_start [CONF]: run the pager in the foreground (our child,
# backgrounded) on CONF (default $T/tocsin.conf), wait until it says it
# started.
pager_start() {
    local n i=0
    : >>"$T/pager.log"
    n=$(grep -c 'started:' "$T/pager.log")
    "$PAGER" -f -d -c "${1:-$T/tocsin.conf}" >>"$T/pager.log" 2>&1 &
    PAGER_PID=$!
    while [ $i -lt 100 ]; do
        [ "$(grep -c 'started:' "$T/pager.log")" -gt "$n" ] && return 0
        kill -0 "$PAGER_PID" 2>/dev/null || break
        sleep 0.1
        i=$((i + 1))
    done
    echo "tocsin-pager did not start; its log ends:" >&2
    tail -20 "$T/pager.log" >&2
    return 1
}

pager_kill9() {
    [ -n "$PAGER_PID" ] || return 0
    kill -KILL "$PAGER_PID" 2>/dev/null
    wait "$PAGER_PID" 2>/dev/null
    PAGER_PID=
}

pager_stop() {
    [ -n "$PAGER_PID" ] || return 0
    kill -TERM "$PAGER_PID" 2>/dev/null
    wait "$PAGER_PID"
    PAGER_PID=
}

# pager_sanitizers: a failed assertion when the pager's log holds a
# sanitizer report (printed under it).
pager_sanitizers() {
    log_clean_quiet tocsin-pager "$T/pager.log" || :
}

# wait_for SECONDS COMMAND...: poll until COMMAND succeeds, at once, then
# after 0.1 s, 0.2 s, ... and every 0.5 s from then on; 1 when it never
# did over SECONDS of sleep.
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

# start_hookd FAIL_FIRST: the HTTP receiver (webhooks, the SMS API); each
# request one JSON line in $T/hookd/hook.log. Kept on HOOK_PORT when set.
start_hookd() {
    mkdir -p "$T/hookd" && _srv_chown "$T/hookd" &&
        _srv_setport HOOK_PORT || return 1
    _srv_spawn hookd $SERVERS_ASUSER $SERVERS_PY \
        "$SERVERS_TDIR/servers/hookd.py" "$HOOK_PORT" "$T/hookd/hook.log" \
        "$1" || return 1
    _srv_wait hookd "t:$HOOK_PORT"
}

# start_smtpd [plain|ARGS...]: aiosmtpd, by default requiring STARTTLS and
# AUTH pager:s3cret (plain: neither; ARGS: smtpd.py's options); what it
# receives in $T/smtpd/mail.log.
start_smtpd() {
    servers_certs && mkdir -p "$T/smtpd" && _srv_chown "$T/smtpd" &&
        _srv_setport SMTPD_PORT || return 1
    if [ "${1:-}" = plain ]; then
        shift
    elif [ $# = 0 ]; then
        set -- --starttls "$TLS_CERT" "$TLS_KEY" --auth pager:s3cret
    fi
    _srv_spawn smtpd $SERVERS_ASUSER $SERVERS_PY \
        "$SERVERS_TDIR/servers/smtpd.py" "$SMTPD_PORT" "$T/smtpd/mail.log" \
        "$@" || return 1
    _srv_wait smtpd "t:$SMTPD_PORT"
}

# spool_events DIR FROM TO: events FROM..TO of server web1 in the spool
# DIR, odd ones down, even ones up, each renamed into place whole as
# probed writes them.
spool_events() {
    "$PY" - "$@" <<'PY'
import json, os, sys, time
d, a, b = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for s in range(a, b + 1):
    ev = {"seq": s, "id": "web1", "time": int(time.time()),
          "old": "up" if s % 2 else "down", "new": "down" if s % 2 else "up",
          "message": "spooled", "flapping": False, "downtime": False,
          "acked": False, "unreachable": False}
    with open(d + "/.tmp", "w") as f:
        f.write(json.dumps(ev) + "\n")
    os.rename(d + "/.tmp", "%s/%020d.json" % (d, s))
PY
}

# pager_spooled N: $T/state/state.json as probed writes it (atomically),
# saying every event up to N is in it.
pager_spooled() {
    printf '{"version":1,"written":%s,"spooled":%s,"servers":{}}\n' \
        "$(date +%s)" "$1" >"$T/state/.tmp.state.json" &&
        mv "$T/state/.tmp.state.json" "$T/state/state.json"
}

# pager_conf_head: the first lines of a config for the pager without
# probed: state in $T/state, no control socket, storms off, and the relay
# when start_smtpd ran.
pager_conf_head() {
    echo "set state-dir $T/state"
    echo "set control $T/none.sock"
    echo "set from tocsin@example.net"
    echo "set storm 0 in 60s"
    [ -z "${SMTPD_PORT:-}" ] || echo "set smtp-relay 127.0.0.1:$SMTPD_PORT"
}

# pager_probed_setup [FAIL_FIRST [CONF]]: what the tests of the pager
# beside a real probed share: nginx and the HTTP receiver (answering 500
# to the first FAIL_FIRST requests, default 0) started; H, LOG (the
# receiver's log) and NEW (the Maildir's new/) set; CONF (default
# $T/tocsin.conf) begun with fast checks (every second, one retry), the
# from address and storms off, for the test to add its contacts and
# servers (cat >>).
pager_probed_setup() {
    H=127.0.0.1
    LOG=$T/hookd/hook.log
    NEW=$T/state/maildir/new
    start_nginx && start_hookd "${1:-0}" || return 1
    cat >"${2:-$T/tocsin.conf}" <<CONF
set state-dir $T/state
set interval 1s
set timeout 1s
set retries 1
set retry-interval 1s
set from tocsin@example.net
set storm 0 in 60s
CONF
}

# hook_keys PREFIX: how many distinct Idempotency-Keys starting with
# PREFIX the receiver answered 200.
hook_keys() {
    grep '"status": 200' "$LOG" 2>/dev/null |
        sed -n 's/.*"key": "\([^"]*\)".*/\1/p' | grep -- "^$1" | sort -u |
        wc -l
}

# has_key KEY: the receiver answered KEY 200.
has_key() { grep '"status": 200' "$LOG" 2>/dev/null | grep -q "\"key\": \"$1\""; }

# paged_seq ID CHANNEL CONTACT: the event whose page of server ID was
# delivered to CONTACT on CHANNEL (email, sms, webhook), the first by the
# pager's log; nothing when none was yet. was_paged: one was.
paged_seq() {
    sed -n "s/.*event \([0-9]*\) $1: $2 page to $3 .* delivered.*/\1/p" \
        "$T/pager.log" 2>/dev/null | head -1
}
was_paged() { [ -n "$(paged_seq "$@")" ]; }
