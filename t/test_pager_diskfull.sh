#!/bin/sh
# t/test_pager_diskfull.sh: the disk fills up under the pager. The relay
# (a real aiosmtpd) takes a page whose record then cannot be written (the
# queue folder is a real tmpfs, filled to the last page): the page is not
# sent again, the outcome is kept in memory and the record written once
# there is room, then the event goes. As root only, in a mount namespace
# of its own (the tmpfs goes with it).
set -u
if [ -z "${DISKFULL_NS:-}" ] && [ "$(id -u)" = 0 ] &&
    unshare -m true 2>/dev/null; then
	DISKFULL_NS=1 exec unshare -m sh "$0" "$@"
fi
. "${srcdir:-.}/t/pager.sh" || exit 1

mkdir -p "$Q" "$T/state/spool" || exit 1
[ -n "${DISKFULL_NS:-}" ] && mount -t tmpfs -o size=256k tmpfs "$Q" ||
    skip_all "a small tmpfs needs root and a mount namespace"
_srv_setport SMTPD_PORT || exit 1
{
    pager_conf_head
    echo "contact ops email ops@example.net"
    echo "server web1 http://127.0.0.1:1/ notify ops"
} >"$T/tocsin.conf"
pager_spooled 100
spool_events "$T/state/spool" 1 1
pager_start || exit 1
wait_for 10 sh -c "ls '$Q' | grep -q -- '-ops-email.json'" &&
    pass "the relay is down: event 1's record is made" ||
    failed "no record: $(tail -3 "$T/pager.log")"
# Full to the last page: no temporary of a record fits any more.
dd if=/dev/zero of="$Q/fill" bs=4096 2>/dev/null
if echo x 2>/dev/null >"$Q/probe"; then
    failed "the tmpfs is not full"
fi
rm -f "$Q/probe"
start_smtpd plain || exit 1
wait_for 30 sh -c "[ -s '$MAIL' ]" && pass "relay back: the page goes" ||
    failed "nothing at the relay: $(tail -3 "$T/pager.log")"
# It went at 2 s tries before the fix; now never again.
sleep 7
n=$(grep -c '"<1.ops.email@tocsin-pager.example.net>"' "$MAIL")
[ "$n" = 1 ] && pass "taken once, not sent again while its record cannot be written" ||
    failed "sent $n times" "$(grep -i 'record' "$T/pager.log" | tail -5)"
n=$(grep -c "record written again until it can be" "$T/pager.log")
[ "$n" = 1 ] && pass "said once" || failed "said $n times"
"$PAGER" -l -c "$T/tocsin.conf" | grep -Eq "^1	web1	ops	email	(queued|retrying)	" &&
    pass "on disk it is still to send (the write failed for real)" ||
    failed "records: $("$PAGER" -l -c "$T/tocsin.conf")"
rm -f "$Q/fill"
wait_for 30 sh -c "grep -q 'the record of the email page to ops is written' '$T/pager.log'" &&
    pass "room again: the record is written" ||
    failed "not written: $(tail -3 "$T/pager.log")"
wait_for 10 sh -c "[ ! -e '$T/state/spool/00000000000000000001.json' ] &&
    ! ls '$Q' | grep -q json" &&
    pass "then the event and its record go" ||
    failed "left: $(ls "$Q" "$T/state/spool")"
pager_stop
pager_start || exit 1
sleep 3
n=$(grep -c '"<1.ops.email@tocsin-pager.example.net>"' "$MAIL")
[ "$n" = 1 ] && pass "a restart sends nothing again" || failed "sent $n times"
pager_stop
pager_sanitizers
umount "$Q"
finish
