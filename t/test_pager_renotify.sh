#!/bin/sh
# t/test_pager_renotify.sh: renotify and escalate-after against a real
# tocsin-probed watching a real nginx (web1) and a closed port (web2), with
# a real HTTP receiver. A problem is paged again every renotify period (the
# contact's, or the server's own option), escalated once to the contact
# named by escalate-after, not while probed says it is acknowledged or in a
# downtime, again once the downtime is cancelled; the escalated contact
# gets the recovery; across a kill -9 of the pager no reminder goes twice
# (Idempotency-Keys counted at the receiver).
set -u
. "${srcdir:-.}/t/pager.sh" || exit 1

mails() { grep -l -- "$2" "$NEW/"*"-$1-email"* 2>/dev/null | wc -l; }
has_mail() { [ "$(mails "$1" "$2")" -ge 1 ]; }

pager_probed_setup || exit 1
cat >>"$T/tocsin.conf" <<CONF
contact ops email ops@example.net webhook http://$H:$HOOK_PORT/ops renotify 3s escalate-after 5s boss
contact boss email boss@example.net
contact dev webhook http://$H:$HOOK_PORT/dev
server web1 http://$H:$NGINX_PORT/health notify ops
server web2 tcp://$H:1 notify dev renotify 4s
CONF
check "-t accepts renotify and escalate-after" "$PAGER" -t -c "$T/tocsin.conf"
probed_start "$T/tocsin.conf" || exit 1
expect_state web1 up
pager_start || exit 1

# web2 is down from the start: its page, then a reminder every 4 s.
wait_for 15 was_paged web2 webhook dev &&
    pass "web2's problem is paged" || failed "no page for web2"
S2=$(paged_seq web2 webhook dev)
wait_for 10 has_key "tocsin-$S2-dev-webhook-r1" &&
    pass "the server's renotify 4s pages dev again" ||
    failed "no reminder for web2: $(tail -3 "$LOG")"
grep "tocsin-$S2-dev-webhook-r1" "$LOG" | grep -q 'still down after [0-9]*s, reminder 1' &&
    pass "the reminder says still down, after how long, which reminder" ||
    failed "reminder text: $(grep "tocsin-$S2-dev-webhook-r1" "$LOG" | head -1)"

# web1 down: ops paged, reminded every 3 s, escalated to boss after 5 s.
servers_stop nginx
wait_for 15 has_mail ops "DOWN web1" && pass "web1's problem is paged to ops" ||
    failed "no page for web1"
S1=$(paged_seq web1 email ops)
wait_for 10 has_key "tocsin-$S1-ops-webhook-r1" &&
    pass "ops's renotify 3s pages ops again" || failed "no reminder for web1"
# A kill -9 between reminders: none goes twice, none is lost.
pager_kill9
pager_start || exit 1
wait_for 15 has_mail boss "escalated from ops: down" &&
    pass "escalate-after 5s pages boss" ||
    failed "no escalation: $(ls "$NEW")"
wait_for 10 has_key "tocsin-$S1-ops-webhook-r2" &&
    pass "ops is reminded again after the restart" ||
    failed "no second reminder: $(grep ops "$LOG" | tail -2)"

# An ack stops web2's reminders.
ctl ack web2 on it >/dev/null || failed "ack web2"
sleep 3		# a poll, and a reminder already made may still go
n=$(hook_keys "tocsin-$S2-dev-webhook-r")
sleep 9
[ "$(hook_keys "tocsin-$S2-dev-webhook-r")" = "$n" ] &&
    pass "acknowledged: no more reminders (still $n)" ||
    failed "reminders after the ack: $n then $(hook_keys "tocsin-$S2-dev-webhook-r")"

# A downtime stops web1's; cancelling it lets them come again.
ctl downtime web1 10m maintenance >/dev/null || failed "downtime web1"
sleep 3
n=$(hook_keys "tocsin-$S1-ops-webhook-r")
sleep 8
[ "$(hook_keys "tocsin-$S1-ops-webhook-r")" = "$n" ] &&
    pass "in downtime: no more reminders (still $n)" ||
    failed "reminders in downtime: $n then $(hook_keys "tocsin-$S1-ops-webhook-r")"
ctl downtime-cancel web1 >/dev/null || failed "downtime-cancel web1"
wait_for 10 sh -c "[ \$(grep '\"status\": 200' '$LOG' | sed -n 's/.*\"key\": \"\\(tocsin-$S1-ops-webhook-r[0-9]*\\)\".*/\\1/p' | sort -u | wc -l) -gt $n ]" &&
    pass "the downtime cancelled: reminders again" ||
    failed "no reminder after the downtime: $(hook_keys "tocsin-$S1-ops-webhook-r")"
[ "$(mails boss escalated)" = 1 ] && pass "boss is escalated to once" ||
    failed "boss escalations: $(mails boss escalated)"

# Recovery: ops and the escalated boss get it; reminders stop.
start_nginx || exit 1
wait_for 15 has_mail boss "RECOVERED web1" &&
    pass "the escalated contact gets the recovery" ||
    failed "no recovery for boss: $(ls "$NEW")"
has_mail ops "RECOVERED web1" && pass "ops gets the recovery" ||
    failed "no recovery for ops"
sleep 2
n=$(hook_keys "tocsin-$S1-ops-webhook-r")
sleep 7
[ "$(hook_keys "tocsin-$S1-ops-webhook-r")" = "$n" ] &&
    pass "after the recovery: no more reminders" ||
    failed "reminders after the recovery"

# Exactly once: each key answered 200 once, but for a try cut by the kill.
"$PY" - "$LOG" "$T/pager.log" <<'PY'
import collections, json, re, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
cut, open_tries = set(), set()
for line in open(sys.argv[2]):
    if "started:" in line:
        cut |= open_tries
        open_tries = set()
    m = re.search(r"event (\d+) \S+: sending webhook page to (\S+) \(try", line)
    if m:
        open_tries.add((m[1], m[2]))
    m = re.search(r"event (\d+) \S+: webhook page to (\S+) \(.*\) delivered", line)
    if m:
        open_tries.discard((m[1], m[2]))
ok = collections.Counter(r["key"] for r in rows if r["status"] == 200)
bad = []
for k, n in ok.items():
    seq, who = k.split("-")[1], k.split("-")[2]
    if n > 1 and not (n == 2 and (seq, who) in cut):
        bad.append("%s answered %d times" % (k, n))
print("%d keys, %d calls" % (len(ok), sum(ok.values())))
print("\n".join(bad))
sys.exit(1 if bad else 0)
PY
[ $? = 0 ] && pass "every reminder and page once at the receiver" ||
    failed "a reminder or page went twice"
pager_stop
probed_stop
pager_sanitizers
finish
