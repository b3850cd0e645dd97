#!/bin/sh
# t/test_pager_admin.sh: who watches the watcher. With `set admin`, when a
# real tocsin-probed is killed the pager pages the admin once that
# monitoring has stopped (after the grace, not at once), not again across
# a kill -9 of the pager, and once more when probed is back. A contact
# that is not admin gets none of it.
set -u
. "${srcdir:-.}/t/pager.sh" || exit 1

count_key() { grep '"status": 200' "$LOG" 2>/dev/null | grep -c "\"key\": \"$1\""; }

start_nginx || exit 1
start_hookd 0 || exit 1
cat >"$T/tocsin.conf" <<CONF
set state-dir $T/state
set interval 1s
set timeout 1s
set from tocsin@example.net
set admin root
contact root email root@example.net webhook http://$H:$HOOK_PORT/root
contact ops webhook http://$H:$HOOK_PORT/ops
server web1 http://$H:$NGINX_PORT/health notify ops
CONF
printf 'set admin nobody\n' >"$T/bad.conf"
out=$("$PAGER" -t -c "$T/bad.conf" 2>&1) &&
    failed "-t accepts set admin of an unknown contact" ||
    { echo "$out" | grep -q "bad.conf:1: set admin: unknown contact 'nobody'" &&
        pass "-t refuses set admin of an unknown contact, at FILE:LINE" ||
        failed "-t says: $out"; }
probed_start "$T/tocsin.conf" || exit 1
expect_state web1 up
pager_start || exit 1
sleep 4
[ ! -s "$LOG" ] && pass "probed answering: nothing paged" ||
    failed "pages while all is well: $(cat "$LOG")"

kill -KILL "$PROBED_PID"
wait "$PROBED_PID" 2>/dev/null
PROBED_PID=
t0=$(date +%s)
sleep 5
has_key tocsin-0-root-webhook-r1 && failed "admin paged within 5 s (no grace)" ||
    pass "no page within the grace"
wait_for 15 has_key tocsin-0-root-webhook-r1 &&
    pass "probed killed: admin paged after $(( $(date +%s) - t0 )) s" ||
    failed "no page to admin: $(tail -3 "$T/pager.log")"
grep "tocsin-0-root-webhook-r1" "$LOG" | grep -q "DOWN tocsin-probed: monitoring has stopped: tocsin-probed does not answer" &&
    pass "the page says monitoring has stopped and why" ||
    failed "text: $(grep root "$LOG" | head -1)"
wait_for 10 sh -c "ls '$T/state/maildir/new/' | grep -q -- '-root-email-r1\$'" &&
    pass "and by email" || failed "no email to admin: $(ls "$T/state/maildir/new/")"
# A kill -9 of the pager while probed is gone: not told again.
pager_kill9
pager_start || exit 1
sleep 15
[ "$(count_key tocsin-0-root-webhook-r1)" = 1 ] &&
    ! grep -q '"key": "tocsin-0-root-webhook-r3"' "$LOG" &&
    pass "after a restart of the pager: told once, not again" ||
    failed "told again: $(grep root "$LOG")"

probed_start "$T/tocsin.conf" || exit 1
wait_for 15 has_key tocsin-0-root-webhook-r2 &&
    pass "probed back: admin paged again" ||
    failed "no back page: $(tail -3 "$T/pager.log")"
grep "tocsin-0-root-webhook-r2" "$LOG" | grep -q "RECOVERED tocsin-probed is up: monitoring is back" &&
    pass "the page says monitoring is back" ||
    failed "text: $(grep root-webhook-r2 "$LOG" | head -1)"
grep -q '"path": "/ops"' "$LOG" && failed "ops was paged about probed" ||
    pass "a contact that is not admin is not paged about probed"
sleep 3
[ "$(count_key tocsin-0-root-webhook-r1)" = 1 ] &&
    [ "$(count_key tocsin-0-root-webhook-r2)" = 1 ] &&
    pass "each told exactly once" || failed "counts: $(grep root "$LOG")"
pager_stop
probed_stop
pager_sanitizers
finish
