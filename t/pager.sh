# t/pager.sh: what tocsin-pager's tests share; it sources t/servers.sh and
# t/probed.sh and sets servers_trap, so a test begins with
#     set -u
#     . "${srcdir:-.}/t/pager.sh" || exit 1
# The pager started, killed and stopped, the HTTP receiver
# (t/servers/hookd.py) and aiosmtpd (t/servers/smtpd.py) that count what
# they get, polling, and the sanitizer check of the pager's log.
#
#     H, LOG, NEW, MAIL, Q       # 127.0.0.1, the receiver's log, the
#                                # Maildir's new/, the relay's log, the
#                                # pager's queue folder
#     pager_start | pager_kill9 | pager_stop   # -f -d; log in $T/pager.log
#     pager_ctl ARGS...          # tocsinctl on $T/tocsin.conf
#     pager_sanitizers           # one failed assertion per report in the log
#     start_hookd FAIL_FIRST     # HOOK_PORT; POSTs in $LOG
#     start_smtpd [plain|ARGS...] # SMTPD_PORT; STARTTLS + AUTH pager:s3cret
#                                # unless plain or ARGS; $MAIL
#     spool_events DIR FROM TO [WORD] # events FROM..TO of web1 (down,
#                                # up, ...)
#     storm_servers N CONTACTS   # config lines of s1..sN, refused at once
#     storm_spool N [PAD]        # their down events, over 4 s
#     pager_spooled N            # $T/state/spool made, state.json saying
#                                # "spooled" N
#     pager_conf_head [STORM]    # a config's first lines, without probed
#     pager_auth_mode FILE WHAT SAYS # FILE 0644 refused, 0600 taken
#     pager_stale_setup          # stale-after 3s, ops by email, relay down
#     pager_probed_setup [FAIL_FIRST [CONF]] # beside probed: nginx, hookd;
#                                # CONF ($T/tocsin.conf) begun
#     hook_keys PREFIX           # distinct keys PREFIX* answered 200
#     has_key KEY                # KEY answered 200
#     paged_seq ID CHANNEL CONTACT # the event of ID's first page delivered
#     was_paged ID CHANNEL CONTACT # one was, by the pager's log

. "${srcdir:-.}/t/servers.sh" || exit 1
. "${srcdir:-.}/t/probed.sh" || exit 1
servers_trap

PAGER=${TOCSIN_PAGER:-${TOCSIN_BUILD:-.}/pager/tocsin-pager}
# Under the sanitizers: libesmtp's header lookup trips strict_string_checks
# (see the file).
[ -z "${ASAN_OPTIONS:-}" ] ||
    export ASAN_OPTIONS="$ASAN_OPTIONS:suppressions=$SERVERS_TDIR/asan-pager.supp"
PAGER_PID=
# The paths the tests read (the list above).
# shellcheck disable=SC2034
{
    H=127.0.0.1
    LOG=$T/hookd/hook.log
    NEW=$T/state/maildir/new
    MAIL=$T/smtpd/mail.log
    Q=$T/state/pager/queue
}

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

# pager_ctl ARGS...: tocsinctl on the test's config, $T/tocsin.conf.
pager_ctl() { "$TOCSINCTL" -c "$T/tocsin.conf" "$@"; }

# pager_sanitizers: a failed assertion when the pager's log holds a
# sanitizer report (printed under it).
pager_sanitizers() {
    log_clean_quiet tocsin-pager "$T/pager.log" || :
}

# start_hookd FAIL_FIRST: the HTTP receiver (webhooks, the SMS API); each
# request one JSON line in $LOG ($T/hookd/hook.log). Kept on HOOK_PORT
# when set.
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
# receives in $MAIL ($T/smtpd/mail.log).
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

# spool_events DIR FROM TO [WORD]: events FROM..TO of server web1 in the
# spool DIR, odd ones down, even ones up, each renamed into place whole as
# probed writes them; each message "spooled", or with WORD "WORD SEQ".
spool_events() {
    "$PY" - "$@" <<'PY'
import json, os, sys, time
d, a, b = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
word = sys.argv[4] if len(sys.argv) > 4 else ""
for s in range(a, b + 1):
    ev = {"seq": s, "id": "web1", "time": int(time.time()),
          "old": "up" if s % 2 else "down", "new": "down" if s % 2 else "up",
          "message": "%s %d" % (word, s) if word else "spooled",
          "flapping": False, "downtime": False, "acked": False,
          "unreachable": False}
    with open(d + "/.tmp", "w") as f:
        f.write(json.dumps(ev) + "\n")
    os.rename(d + "/.tmp", "%s/%020d.json" % (d, s))
PY
}

# storm_servers N CONTACTS: the config lines of servers s1..sN, each
# refused at once (http://127.0.0.1:1/), notifying CONTACTS.
storm_servers() {
    local i=0
    while [ $i -lt "$1" ]; do
        i=$((i + 1))
        echo "server s$i http://127.0.0.1:1/ notify $2"
    done
}

# storm_spool N [PAD [AGE]]: events 1..N in $T/state/spool, server sS
# going down in event S, their times spread over the 4 s from now (or AGE
# seconds ago), each renamed into place whole as probed writes them; each
# message "storm", or with PAD "mS " and PAD x's.
storm_spool() {
    "$PY" - "$T/state/spool" "$1" "${2:-0}" "${3:-0}" <<'PY'
import json, os, sys, time
d, n, pad = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
now = int(time.time()) - int(sys.argv[4])
for s in range(1, n + 1):
    ev = {"seq": s, "id": "s%d" % s, "time": now + (s - 1) * 4 // n,
          "old": "up", "new": "down",
          "message": "m%d " % s + "x" * pad if pad else "storm",
          "flapping": False, "downtime": False, "acked": False,
          "unreachable": False}
    with open(d + "/.tmp", "w") as f:
        f.write(json.dumps(ev) + "\n")
    os.rename(d + "/.tmp", "%s/%020d.json" % (d, s))
PY
}

# pager_spooled N: the spool folder made, and $T/state/state.json as
# probed writes it (atomically), saying every event up to N is in it.
pager_spooled() {
    mkdir -p "$T/state/spool" || return 1
    printf '{"version":1,"written":%s,"spooled":%s,"servers":{}}\n' \
        "$(date +%s)" "$1" >"$T/state/.tmp.state.json" &&
        mv "$T/state/.tmp.state.json" "$T/state/state.json"
}

# pager_conf_head [STORM]: the first lines of a config for the pager
# without probed: state in $T/state, no control socket, set storm STORM
# (default 0 in 60s: storms off), and the relay when SMTPD_PORT is set
# (start_smtpd, or _srv_setport for a relay started later).
pager_conf_head() {
    echo "set state-dir $T/state"
    echo "set control $T/none.sock"
    echo "set from tocsin@example.net"
    echo "set storm ${1:-0 in 60s}"
    [ -z "${SMTPD_PORT:-}" ] || echo "set smtp-relay 127.0.0.1:$SMTPD_PORT"
}

# pager_stale_setup: what the stale tests by email share: the relay's
# port taken (SMTPD_PORT) with no relay on it yet, $T/tocsin.conf paging
# ops by email for web1 with stale-after 3s, and state.json saying
# "spooled" 100.
pager_stale_setup() {
    _srv_setport SMTPD_PORT || return 1
    {
        pager_conf_head
        echo "set stale-after 3s"
        echo "contact ops email ops@example.net"
        echo "server web1 http://127.0.0.1:1/ notify ops"
    } >"$T/tocsin.conf"
    pager_spooled 100
}

# pager_auth_mode FILE WHAT SAYS: the auth-file FILE that $T/tocsin.conf
# names (WHAT, in the assertions) made mode 0644: -t refuses it with a
# message holding SAYS and says no "config ok", and the pager refuses to
# start; then FILE made 0600: -t says config ok. Four assertions.
pager_auth_mode() {
    local out
    chmod 644 "$1" || return 1
    out=$("$PAGER" -t -c "$T/tocsin.conf" 2>&1) &&
        failed "-t accepts a 0644 $2" ||
        { echo "$out" | grep -q -- "$3" &&
            pass "-t refuses a 0644 $2 and says why" ||
            failed "-t says: $out"; }
    # "config ok" is said only once the auth-file is good too (it came
    # first).
    "$PAGER" -t -c "$T/tocsin.conf" >"$T/t.out" 2>/dev/null
    grep -q "config ok" "$T/t.out" &&
        failed "-t says config ok, then refuses the 0644 $2: $(cat "$T/t.out")" ||
        pass "-t says no 'config ok' of a 0644 $2"
    "$PAGER" -f -c "$T/tocsin.conf" >"$T/refused.log" 2>&1 &&
        failed "the pager starts with a 0644 $2" ||
        { grep -q "must be 0600" "$T/refused.log" &&
            pass "the pager refuses to start with a 0644 $2" ||
            failed "refusal: $(cat "$T/refused.log")"; }
    chmod 600 "$1"
    "$PAGER" -t -c "$T/tocsin.conf" 2>&1 | grep -q "^config ok: " &&
        pass "-t says config ok of the 0600 $2" ||
        failed "-t of the 0600 $2: $("$PAGER" -t -c "$T/tocsin.conf" 2>&1)"
}

# pager_probed_setup [FAIL_FIRST [CONF]]: what the tests of the pager
# beside a real probed share: nginx and the HTTP receiver (answering 500
# to the first FAIL_FIRST requests, default 0) started; CONF (default
# $T/tocsin.conf) begun with fast checks (every second, one retry), the
# from address and storms off, for the test to add its contacts and
# servers (cat >>).
pager_probed_setup() {
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
