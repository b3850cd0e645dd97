#!/bin/sh
# t/test_pager_kinds.sh: the pages of each kind of change, end to end into
# the Maildir and to a real HTTP receiver: unknown (a problem page), a
# flapping start ("FLAPPING", the state now), a flapping stop (the state
# it settled in) and a recovery; a contact in its quiet hours gets the
# email but no SMS, and no SMS for the recovery either (it got none for
# the problem). No probed: the spool and state.json are made by hand.
set -u
. "${srcdir:-.}/t/pager.sh" || exit 1

start_hookd 0 || exit 1
pager_spooled 100 || exit 1
# Quiet from an hour ago to an hour from now (local time, as the config).
quiet="$(date -d '-1 hour' +%H:%M)-$(date -d '+1 hour' +%H:%M)"
{
    pager_conf_head
    echo "contact ops email ops@example.net sms 5551234@sms.example.net webhook http://127.0.0.1:$HOOK_PORT/ops"
    echo "contact night email night@example.net sms 5559999@sms.example.net quiet $quiet"
    echo "server web1 http://127.0.0.1:1/ notify ops,night"
    echo "server web2 http://127.0.0.1:1/ notify ops"
} >"$T/tocsin.conf"
# ev SEQ ID OLD NEW FLAPPING: a spool event, renamed into place whole.
ev() {
    printf '{"seq":%s,"id":"%s","time":%s,"old":"%s","new":"%s","message":"m%s","flapping":%s,"downtime":false,"acked":false,"unreachable":false}\n' \
        "$1" "$2" "$(date +%s)" "$3" "$4" "$1" "$5" >"$T/state/spool/.tmp" &&
        mv "$T/state/spool/.tmp" "$T/state/spool/$(printf %020d "$1").json"
}
ev 1 web1 up unknown false
ev 2 web2 up down true
ev 3 web2 down up false
ev 4 web1 unknown down false
ev 5 web1 down up false
pager_start || exit 1

# subject SEQ CONTACT: the Subject of that email in the Maildir.
subject() {
    sed -n 's/^Subject: //p' "$NEW/$(printf %020d "$1")-$2-email" 2>/dev/null
}
# state SEQ: the state the webhook of event SEQ says.
state() {
    grep '"status": 200' "$LOG" 2>/dev/null | grep "\"key\": \"tocsin-$1-ops-webhook\"" |
        sed -n 's/.*"state": "\([a-z]*\)".*/\1/p' | head -1
}
drained() { [ -z "$(ls "$T/state/pager/queue")" ]; }
wait_for 20 drained && pass "the five events are paged" ||
    failed "left: $(ls "$T/state/pager/queue")"
[ "$(subject 1 ops)" = "[tocsin] UNKNOWN web1: m1" ] && [ "$(state 1)" = unknown ] &&
    pass "unknown: a problem page, UNKNOWN, by email and webhook" ||
    failed "unknown: '$(subject 1 ops)', webhook '$(state 1)'"
[ "$(subject 2 ops)" = "[tocsin] FLAPPING web2 (now DOWN): m2" ] && [ "$(state 2)" = down ] &&
    pass "flapping started: FLAPPING, the state now" ||
    failed "flapping started: '$(subject 2 ops)', webhook '$(state 2)'"
[ "$(subject 3 ops)" = "[tocsin] FLAPPING STOPPED web2, settled UP" ] && [ "$(state 3)" = up ] &&
    pass "flapping stopped: the state it settled in" ||
    failed "flapping stopped: '$(subject 3 ops)', webhook '$(state 3)'"
[ "$(subject 5 ops)" = "[tocsin] RECOVERED web1 is up: m5" ] &&
    pass "the recovery page" || failed "recovery: '$(subject 5 ops)'"
[ -f "$NEW/00000000000000000001-ops-sms" ] && [ -f "$NEW/00000000000000000005-ops-sms" ] &&
    pass "ops, not in quiet hours, gets the problem and recovery by SMS" ||
    failed "ops SMS: $(ls "$NEW")"
[ -n "$(subject 1 night)" ] && [ -n "$(subject 4 night)" ] && [ -n "$(subject 5 night)" ] &&
    pass "night, in its quiet hours, still gets the emails" ||
    failed "night's emails: $(ls "$NEW")"
ls "$NEW" | grep -q -- '-night-sms' &&
    failed "night got an SMS in its quiet hours: $(ls "$NEW")" ||
    pass "night gets no SMS in its quiet hours, not even the recovery"
pager_stop
pager_sanitizers
finish
