#!/bin/sh
# t/test_pager_remind_crash.sh: a crash between a reminder's record and the
# memo's save. The pager makes reminder 1 of a problem while the relay is
# down, is killed, and its memo is put back as it was before the reminder
# (what a kill -9 between the two writes leaves); started again with the
# relay (a real aiosmtpd) back, it sends the reminder once: the record
# found on disk is kept in the memo, so the next pass makes no second one.
# No probed: the spool and state.json (web1 down) are made by hand.
set -u
. "${srcdir:-.}/t/pager.sh" || exit 1

_srv_setport SMTPD_PORT || exit 1
MEMO=$T/state/pager/memo.json
{
    pager_conf_head
    echo "contact ops email ops@example.net renotify 12s"
    echo "server web1 http://127.0.0.1:1/ notify ops"
} >"$T/tocsin.conf"
mkdir -p "$T/state/spool" || exit 1
printf '{"version":1,"written":%s,"spooled":100,"servers":{"web1":{"state":"down","state_type":"hard","message":"refused"}}}\n' \
    "$(date +%s)" >"$T/state/state.json"
spool_events "$T/state/spool" 1 1
start_smtpd plain || exit 1
pager_start || exit 1
wait_for 10 sh -c "grep -q '<1.ops.email@' '$MAIL'" &&
    wait_for 10 sh -c "grep -q '\"problem\": *1' '$MEMO'" &&
    pass "the problem is paged and open in the memo" ||
    failed "memo: $(cat "$MEMO")"
cp "$MEMO" "$T/memo.before"
servers_stop smtpd
wait_for 20 sh -c "ls '$T/state/pager/queue' | grep -q -- '-ops-email-r1.json'" &&
    pass "reminder 1 is made (relay down)" ||
    failed "no reminder: $(tail -3 "$T/pager.log")"
pager_kill9
cp "$T/memo.before" "$MEMO"
# Due at once at the start: taken and removed before the first pass.
sleep 2
start_smtpd plain || exit 1
pager_start || exit 1
R1='"<1.ops.email.r1@tocsin-pager.example.net>"'
wait_for 20 sh -c "grep -q '$R1' '$MAIL'" && pass "relay back: reminder 1 goes" ||
    failed "no reminder 1: $(tail -3 "$T/pager.log")"
grep -q "the reminder to ops is on disk, not in the memo: kept" "$T/pager.log" &&
    pass "the record found at start is kept in the memo" ||
    failed "not kept"
# Reminder 2 is due 24 s after the problem; a second reminder 1 came at
# the first poll after the record's removal.
sleep 5
n=$(grep -c "$R1" "$MAIL")
[ "$n" = 1 ] && pass "reminder 1 is sent once" || failed "sent $n times"
pager_stop
pager_sanitizers
finish
