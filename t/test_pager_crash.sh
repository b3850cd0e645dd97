#!/bin/bash
# t/test_pager_crash.sh: tocsin-pager and tocsin-probed both killed with
# SIGKILL at random moments, and started again, while its servers change
# state every two seconds. At the end every paged event went out exactly
# once on each channel: its Message-ID counted at a real aiosmtpd, its
# Idempotency-Key at a real HTTP receiver; the only resend allowed is a
# try the kill cut between the far side taking it and the fsync of its
# outcome (seen in the pager's log as "sending" with no outcome before the
# next start). PAGER_CRASH_ROUNDS (default 10) kills of each, over
# PAGER_CRASH_SERVERS (default 4) servers; the issue's long form, about 200
# events and 20 kills: PAGER_CRASH_ROUNDS=20 PAGER_CRASH_SERVERS=8.
set -u
. "${srcdir:-.}/t/pager.sh" || exit 1

ROUNDS=${PAGER_CRASH_ROUNDS:-10}
NSERVERS=${PAGER_CRASH_SERVERS:-4}
# Each port listens for two seconds, then is closed for two.
flapper_start 2 $NSERVERS || exit 1
start_hookd 0 || exit 1
start_smtpd plain || exit 1
{
    crash_conf 200ms
    echo "set flap-low 99"
    echo "set flap-high 100"
    echo "set storm 0 in 60s"
    echo "set from tocsin@example.net"
    echo "set smtp-relay 127.0.0.1:$SMTPD_PORT"
    echo "contact ops email ops@example.net webhook http://127.0.0.1:$HOOK_PORT/hook"
    i=0
    for p in $PORTS; do
        i=$((i + 1))
        echo "server s$i tcp://127.0.0.1:$p notify ops"
    done
} >"$T/tocsin.conf"

probed_start "$T/tocsin.conf" || exit 1
pager_start || exit 1
for r in $(seq "$ROUNDS"); do
    crash_pause 1
    pager_kill9
    crash_pause 1
    probed_kill9
    pager_start || exit 1
    probed_start "$T/tocsin.conf" || exit 1
    crash_pause
done
# Quiet: every server stays down; everything drains.
servers_stop flapper
drained() {
    ctl enable s1 >/dev/null 2>&1 || return 1
    [ -z "$(ls "$T/state/pager/queue")" ] &&
        [ "$(ls "$T/state/spool")" = seq ]
}
wait_for 60 drained && pass "spool and queue drained after $ROUNDS kills of each" ||
    failed "left: $(ls "$T/state/spool" "$T/state/pager/queue" | head -20)"

"$PY" - "$T/probed.log" "$T/pager.log" "$T/smtpd/mail.log" "$T/hookd/hook.log" <<'PY'
import collections, json, re, sys
events = set()
for line in open(sys.argv[1]):
    m = re.search(r"\(event (\d+)\)", line)
    if m:
        events.add(int(m[1]))
unpaged, cut, open_tries = set(), set(), set()
for line in open(sys.argv[2]):
    if "started:" in line:
        cut |= open_tries
        open_tries = set()
    m = re.search(r"event (\d+) \S+ \S+ -> \S+: not paged", line)
    if m:
        unpaged.add(int(m[1]))
    m = re.search(r"event (\d+) \S+: sending (\w+) page to (\S+) ", line)
    if m:
        open_tries.add((int(m[1]), m[2]))
    m = re.search(r"event (\d+) \S+: (\w+) page to (\S+) \(.*\) "
                  r"(delivered|failed|refused)", line)
    if m:
        open_tries.discard((int(m[1]), m[2]))
mail = collections.Counter(json.loads(l)["message_id"] for l in open(sys.argv[3]))
hook = collections.Counter(json.loads(l)["key"] for l in open(sys.argv[4])
                           if json.loads(l)["status"] == 200)
paged = sorted(events - unpaged)
bad, resent = [], 0
for s in paged:
    for ch, n in (("email", mail["<%d.ops.email@tocsin-pager.example.net>" % s]),
                  ("webhook", hook["tocsin-%d-ops-webhook" % s])):
        if n == 2 and (s, ch) in cut:
            resent += 1
        elif n != 1:
            bad.append("event %d %s: %d times" % (s, ch, n))
for k, n in list(mail.items()) + list(hook.items()):
    if n > 2:
        bad.append("%s: %d times" % (k, n))
print("%d events logged by probed, %d paged, %d messages, %d webhook calls, "
      "%d tries cut by a kill, %d of them sent again"
      % (len(events), len(paged), sum(mail.values()), sum(hook.values()),
         len(cut), resent))
if len(paged) < 20:
    bad.append("only %d paged events: too few to tell" % len(paged))
print("\n".join(bad[:30]))
sys.exit(1 if bad else 0)
PY
[ $? = 0 ] && pass "every paged event once by email and once by webhook, across kills of both daemons" ||
    failed "pages lost or doubled"
pager_stop
probed_stop
pager_sanitizers
finish
