#!/bin/sh
# t/test_pager_stale_many.sh: set stale-after with more stale pages on
# one lane than one SMTP session tries (40, the relay refused): the ones
# that come back from a try are held later than the others, maybe in the
# same second. Once the relay (a real aiosmtpd) is back, every event is
# listed in exactly one mail that arrives: none lost in a digest that was
# never sent, none twice.
set -u
. "${srcdir:-.}/t/pager.sh" || exit 1

N=40
pager_stale_setup || exit 1
spool_events "$T/state/spool" 1 "$N" change || exit 1
pager_start || exit 1
wait_for 20 grep -q "pages to ops (email) made over 3 s ago: held for one digest" \
    "$T/pager.log" && pass "past stale-after the pages are held" ||
    failed "not held: $(tail -3 "$T/pager.log")"
# Every held page folded (or a digest made of it) before the relay is back.
wait_for 20 sh -c "! '$PAGER' -l -c '$T/tocsin.conf' | grep -q '	held	'"
sleep 3
start_smtpd plain || exit 1
wait_for 60 sh -c "! '$PAGER' -l -c '$T/tocsin.conf' | grep -Eq '	(queued|retrying|held)	'" &&
    pass "relay back: nothing left to send" ||
    failed "left: $("$PAGER" -l -c "$T/tocsin.conf" | grep -Ev '	done	' | head -5)"
sleep 2
"$PY" - "$MAIL" $N <<'PY'
import json, re, sys
m = [json.loads(l) for l in open(sys.argv[1])]
n = int(sys.argv[2])
seen = {}
# A page alone counts by its Message-ID; a digest by the lines of its
# body ("change N").
for x in m:
    mid = re.match(r"<(\d+)\.ops\.email[.@]", x["message_id"])
    if "STALE:" in x["subject"]:
        body = x["data"].split("\n\n", 1)[-1]
        got = [int(s) for s in re.findall(r"change (\d+)\b", body)]
    else:
        got = [int(mid.group(1))] if mid else []
    for s in got:
        seen[s] = seen.get(s, 0) + 1
bad = [s for s in range(1, n + 1) if seen.get(s, 0) != 1]
print("mails %d, listed %s, wrong %s" % (len(m), seen, bad))
sys.exit(1 if bad else 0)
PY
[ $? = 0 ] && pass "each of the $N events arrives listed exactly once" ||
    failed "events lost or doubled (see the log)"
pager_stop
pager_sanitizers
finish
