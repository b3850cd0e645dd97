#!/bin/sh
# t/test_pager_spooled.sh: tocsin-pager deletes a delivered spool event only
# once state.json's "spooled" covers it (tocsin-probed(8), EVENT SPOOL):
# above it the event stays, its deliveries final and not sent again; when
# "spooled" passes it the sweep deletes it. No probed: the spool and the
# state file are made by hand; pages go to the Maildir.
set -u
. "${srcdir:-.}/t/pager.sh" || exit 1

# event SEQ OLD NEW: a spool event made by hand.
event() {
    printf '{"seq":%s,"id":"web1","time":1700000000,"old":"%s","new":"%s","message":"by hand","flapping":false,"downtime":false,"acked":false,"unreachable":false}\n' \
        "$1" "$2" "$3" >"$T/state/spool/$(printf %020d "$1").json"
}
in_spool() { [ -f "$T/state/spool/$(printf %020d "$1").json" ]; }
gone() { ! in_spool "$1"; }
pages() { ls "$T/state/maildir/new/" 2>/dev/null | grep -c -- "-ops-email$"; }
final() {
    grep -q '"state": *"done"' \
        "$T/state/pager/queue/$(printf %020d "$1")-ops-email.json" 2>/dev/null
}

cat >"$T/tocsin.conf" <<CONF
set state-dir $T/state
set control $T/none.sock
set from tocsin@example.net
contact ops email ops@example.net
server web1 http://127.0.0.1:1/ notify ops
CONF
pager_spooled 10 || exit 1
event 11 up down
# 12: nothing to page (a change of unknown to up); 9: covered already.
event 12 unknown up
event 9 unknown up
pager_start || exit 1

wait_for 10 final 11 && pass "event 11 is delivered, its record final" ||
    failed "event 11 not delivered: $(ls "$T/state/pager/queue")"
wait_for 5 gone 9 && pass "an event at or below spooled with nothing to page goes" ||
    failed "event 9 kept with spooled at 10"
sleep 11	# past a sweep
in_spool 11 && final 11 &&
    pass "above spooled: the delivered event stays, its record final" ||
    failed "event 11 deleted above spooled: $(ls "$T/state/spool")"
in_spool 12 && pass "above spooled: an event with nothing to page stays" ||
    failed "event 12 deleted above spooled"
[ "$(pages)" = 1 ] && pass "one page, not sent again while kept" ||
    failed "$(pages) pages"

# A restart with the event still above spooled: nothing sent again.
pager_stop
pager_start || exit 1
sleep 2
in_spool 11 && [ "$(pages)" = 1 ] &&
    pass "a restart keeps the event and sends nothing again" ||
    failed "after a restart: $(pages) pages, spool $(ls "$T/state/spool")"

pager_spooled 11
wait_for 15 gone 11 && pass "once spooled passes it, the sweep deletes the event" ||
    failed "event 11 kept with spooled at 11"
wait_for 2 sh -c "[ -z \"\$(ls '$T/state/pager/queue')\" ]" &&
    pass "and its records" || failed "records left: $(ls "$T/state/pager/queue")"
in_spool 12 && pass "event 12 still above spooled" || failed "event 12 deleted"
pager_stop
# At start: spooled covers 12 now.
pager_spooled 12
pager_start || exit 1
wait_for 5 gone 12 && pass "at start, a kept event spooled covers now goes" ||
    failed "event 12 kept at start with spooled at 12"
[ "$(pages)" = 1 ] && pass "still one page" || failed "$(pages) pages"
pager_stop
pager_sanitizers
finish
