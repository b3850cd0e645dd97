#!/bin/sh
# t/test_pager_stale.sh: set stale-after. The relay is down while four
# events come; once their pages have waited longer than stale-after they
# are held and folded into one digest per contact and channel, which goes
# once the relay (a real aiosmtpd) is back: one message listing the four
# in order, none of them alone, under a Message-ID of its own (event 4's
# tagged with the digest's window); the next event is paged alone again. No
# probed: the spool and state.json are made by hand.
set -u
. "${srcdir:-.}/t/pager.sh" || exit 1

pager_stale_setup || exit 1
ev() {
    printf '{"seq":%s,"id":"web1","time":%s,"old":"%s","new":"%s","message":"change %s","flapping":false,"downtime":false,"acked":false,"unreachable":false}\n' \
        "$1" "$(date +%s)" "$2" "$3" "$1" >"$T/state/spool/.tmp" &&
        mv "$T/state/spool/.tmp" "$T/state/spool/$(printf %020d "$1").json"
}
# all four spooled before the pager starts: it queues them at once (one
# by one under load, two went stale before the others came: two digests)
ev 1 up down; ev 2 down up; ev 3 up down; ev 4 down up
pager_start || exit 1
wait_for 10 grep -q "4 pages to ops (email) made over 3 s ago: held for one digest" \
    "$T/pager.log" && pass "past stale-after the four queued pages are held" ||
    failed "not held: $(grep -i 'held\|failed' "$T/pager.log" | tail -3)"
wait_for 5 grep -q "event 4 web1: stale digest of 4 pages for ops (email)" \
    "$T/pager.log" && wait_for 5 sh -c "[ \$('$PAGER' -l -c '$T/tocsin.conf' | grep -c '	web1	') = 1 ]" &&
    "$PAGER" -l -c "$T/tocsin.conf" | grep -Eq "^4	web1	ops	email	(queued|retrying)	" &&
    pass "the digest is event 4's record; the three others are done" ||
    failed "records: $("$PAGER" -l -c "$T/tocsin.conf")"
# A crash with the digest made: it goes once all the same.
pager_kill9
pager_start || exit 1
start_smtpd plain || exit 1
wait_for 30 sh -c "[ -s '$MAIL' ]" && pass "relay back: the digest goes" ||
    failed "nothing at the relay: $(tail -3 "$T/pager.log")"
sleep 3
"$PY" - "$MAIL" <<'PY'
import json, re, sys
m = [json.loads(l) for l in open(sys.argv[1])]
ok = len(m) == 1 and m[0]["subject"] == \
    "[tocsin] STALE: 4 pages not delivered in time, listed once" and \
    re.fullmatch(r"<4\.ops\.email\.s\d+@tocsin-pager\.example\.net>",
                 m[0]["message_id"]) is not None
body = m[0]["data"] if m else ""
pos = [body.find("change %d" % i) for i in (1, 2, 3, 4)]
ok = ok and all(p >= 0 for p in pos) and pos == sorted(pos)
print(m)
sys.exit(0 if ok else 1)
PY
[ $? = 0 ] && pass "one message lists the four in order, none went alone" ||
    failed "digest wrong"
ev 5 up down
wait_for 10 sh -c "grep -q '<5.ops.email@' '$MAIL'" &&
    pass "the next event is paged alone" || failed "event 5: $(tail -1 "$MAIL")"
pager_stop
pager_sanitizers
finish
