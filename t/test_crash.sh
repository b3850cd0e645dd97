#!/bin/bash
# t/test_crash.sh: tocsin-probed killed with SIGKILL at random moments while
# its servers flap every second, and started again. After each kill the
# state file is never ahead of the spool; at the end every server's events
# form a chain (each old is the previous new), sequence numbers rise, the
# state file matches the last events, and no temporary is left.
# CRASH_ROUNDS (default 30) sets the number of kills; the long form is
# CRASH_ROUNDS=300.
set -u
. "${srcdir:-.}/t/servers.sh" || exit 1
. "${srcdir:-.}/t/probed.sh" || exit 1
servers_trap

ROUNDS=${CRASH_ROUNDS:-30}
NSERVERS=8
# Each port listens for a second, then is closed for a second.
flapper_start 1 $NSERVERS || exit 1

{
    crash_conf 100ms
    i=0
    for p in $PORTS; do
        i=$((i + 1))
        echo "server f$i tcp://127.0.0.1:$p"
    done
} >"$T/probed.conf"

# The state file is written at every drain and enable: write it a few
# times a second, so kills land both between an event and the state file
# that follows from it and long after the last state file.
churn() {
    while :; do
        for i in $(seq $NSERVERS); do
            "$TOCSINCTL" -s "$T/state/probed.sock" drain "f$i" >/dev/null 2>&1
            sleep 0.2
            "$TOCSINCTL" -s "$T/state/probed.sock" enable "f$i" >/dev/null 2>&1
            sleep 0.2
        done
    done
}
churn &
CHURN=$!
trap 'rc=$?; kill $CHURN 2>/dev/null; (exit $rc); _srv_on_exit' EXIT

: >"$T/tmps"
checks_failed=0
for r in $(seq "$ROUNDS"); do
    probed_start "$T/probed.conf" || { failed "start $r"; break; }
    # The leftovers of the previous kill are gone once it answers.
    # (by inode and time: the state file's temporary is made again and again)
    while read -r f ino; do
        [ "$(stat -c %i.%y "$f" 2>/dev/null)" = "$ino" ] &&
            failed "round $r: $f left after restart"
    done <"$T/tmps"
    crash_pause
    probed_kill9
    stat -c '%n %i.%y' "$T/state/spool/".tmp* "$T/state/".tmp* \
        "$T/state/"*.tmp 2>/dev/null >"$T/tmps"
    if ! out=$("$PY" "$SERVERS_TDIR/crash_check.py" "$T/state" killed); then
        failed "round $r: $(echo "$out" | grep FAIL)"
        checks_failed=$((checks_failed + 1))
    fi
done
[ "$checks_failed" -eq 0 ] &&
    pass "$ROUNDS kills: the state file was never ahead of the spool"
probed_start "$T/probed.conf" || failed "last start"
sleep 2
kill $CHURN 2>/dev/null
wait $CHURN 2>/dev/null
probed_stop
out=$("$PY" "$SERVERS_TDIR/crash_check.py" "$T/state" final)
echo "$out" | grep -v '^events' | while read -r line; do echo "$line"; done
nev=$(echo "$out" | sed -n 's/^events //p')
echo "$out" | grep -q '^FAIL' && failed "final checks (see above)" ||
    pass "final checks"
[ "${nev:-0}" -ge "$ROUNDS" ] && pass "$nev events over $ROUNDS kills" ||
    failed "only ${nev:-0} events over $ROUNDS kills: nothing was tested"
echo "state caught up with the spool at start: $(grep -c "older than event" \
    "$T/probed.log") times; crash leftovers removed at start: $(grep -c \
    "a write cut short" "$T/probed.log")"
echo "$npass passed, $nfail failed"
[ "$nfail" -eq 0 ]
