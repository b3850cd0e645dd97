#!/bin/sh
# t/test_pager_batch.sh: a burst spooled at once (60 events of one server,
# tocsin-pager stopped meanwhile) goes out in order on each lane, each
# page once, with the mails of a lane in few SMTP sessions (a real
# aiosmtpd, which logs each message's client port) and the webhooks to a
# real HTTP receiver in event order. The lane's next page starts once the
# far side took the previous one, before its record is written; the
# records are written and synced in batches.
set -u
. "${srcdir:-.}/t/pager.sh" || exit 1

N=60
start_smtpd plain || exit 1
start_hookd 0 || exit 1
pager_spooled "$N" || exit 1
{
    pager_conf_head
    echo "contact ops email ops@example.net webhook http://127.0.0.1:$HOOK_PORT/hook"
    echo "server web1 http://127.0.0.1:1/ notify ops"
} >"$T/tocsin.conf"
spool_events "$T/state/spool" 1 "$N" || exit 1
pager_start || exit 1

drained() {
    [ -z "$(ls "$T/state/spool" | grep json)" ] &&
        [ -z "$(ls "$T/state/pager/queue")" ]
}
wait_for 60 drained && pass "the $N events are paged, spool and queue emptied" ||
    failed "left: $(ls "$T/state/spool" "$T/state/pager/queue" | head)"
pager_stop

# The sequence numbers in each log's order, which must be 1..N once
# each, and the number of SMTP sessions (client ports).
"$PY" - "$T/smtpd/mail.log" "$T/hookd/hook.log" "$N" <<'PY' >"$T/order.out"
import json, re, sys
n = int(sys.argv[3])
mails = [json.loads(l) for l in open(sys.argv[1])]
hooks = [json.loads(l) for l in open(sys.argv[2])]
hooks = [h for h in hooks if h["status"] == 200]
mseq = [int(re.match(r"<(\d+)\.", m["message_id"])[1]) for m in mails]
hseq = [int(re.match(r"tocsin-(\d+)-", h["key"])[1]) for h in hooks]
want = list(range(1, n + 1))
print("mail", "ok" if mseq == want else "got %s" % mseq)
print("hook", "ok" if hseq == want else "got %s" % hseq)
print("sessions", len({m["peer"] for m in mails}))
PY
check "the $N emails arrive once each, in event order" grep -qx 'mail ok' "$T/order.out"
check "the $N webhooks arrive once each, in event order" grep -qx 'hook ok' "$T/order.out"
s=$(sed -n 's/^sessions //p' "$T/order.out")
[ "${s:-0}" -ge 1 ] && [ "$s" -le $((N / 10)) ] &&
    pass "the $N emails went in $s SMTP sessions" ||
    failed "the $N emails went in ${s:-?} SMTP sessions: $(cat "$T/order.out")"
pager_sanitizers
finish
