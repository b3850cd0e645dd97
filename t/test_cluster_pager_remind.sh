#!/bin/sh
# t/test_cluster_pager_remind.sh: renotify and escalate-after of the
# cluster's pagers (bucket tocsin_remind): a real 3-server NATS cluster,
# nginx watched by three probe nodes, a real SMTP server answering 3 s
# late, two pagers. ops has renotify 10s and escalate-after 25s boss.
#   1. web goes down: its page, then a reminder every 10 s, each once
#      across both pagers (counted by Message-ID at the SMTP server),
#      and boss's escalation once.
#   2. the pager sending a reminder is killed -9 mid-send: the other goes
#      on with the next ones, and sends the cut one with the same
#      Message-ID once the killed one's heartbeat is gone (tocsin_pagers).
#   3. tocsinctl ack on node1 (bucket tocsin_control) stops them.
#   4. web comes up: the recovery goes to ops and to boss, whom the
#      problem was escalated to.
set -u
. "${srcdir:-.}/t/cluster.sh" || exit 1
cluster_setup iptables

# has ID: it took one at least.
has() { [ "$(got "$1")" -ge 1 ]; }
# rounds SEQ: the reminders of event SEQ to ops it took, by number.
rounds() { mids | sed -n "s/^$1\.ops\.email\.r\([0-9]*\)\$/\1/p" | sort -un; }
# sendings N: how many reminders pager N began to send.
sendings() { grep -c "sending email reminder to ops" "$T/pager$1.log"; }

start_nginx || exit 1
start_smtpd 3 || exit 1
start_probing || exit 1
PAGER_BODY="contact ops email ops@example.net renotify 10s escalate-after 25s boss
contact boss email boss@example.net
server web http://127.0.0.1:$NGINX_PORT/body notify ops"
export PAGER_BODY
start_pager 1 && start_pager 2 || exit 1
pass "3 nats-servers, 3 probe nodes, 2 pagers run"
check "tocsin-pager -t takes renotify and escalate-after with set cluster" \
    "$PAGER" -t -c "$T/pager1.conf"

# 1. The problem, its reminders and its escalation.
web_goes down
d=$EV
check "the problem is paged to ops" wait_for 30 has "$d.ops.email"
check "reminder 1 comes" wait_for 30 has "$d.ops.email.r1"
check "reminder 2 comes" wait_for 30 has "$d.ops.email.r2"
check "boss gets the escalation" wait_for 30 has "$d.boss.email"

# 2. The pager that begins to send a reminder, killed -9 before the SMTP
# server answers.
a=$(sendings 1) b=$(sendings 2) killed= i=0
while [ -z "$killed" ] && [ $i -lt 300 ]; do
    if [ "$(sendings 1)" -gt "$a" ]; then killed=1
    elif [ "$(sendings 2)" -gt "$b" ]; then killed=2
    else sleep 0.1; fi
    i=$((i + 1))
done
[ -n "$killed" ] && kill9 "pager$killed"
check "a pager killed -9 while it sends a reminder" [ -n "$killed" ]
other=$((3 - ${killed:-2}))
cut=$(sed -n 's/.*: reminder to ops .*, reminder \([0-9]*\):.*/\1/p' \
    "$T/pager$killed.log" | tail -1)
next=$(( ${cut:-0} + 1 ))
check "the other goes on: reminder $next comes" \
    wait_for 40 has "$d.ops.email.r$next"
check "... and takes over the cut reminder $cut" \
    wait_for 60 grep -q ": reminder to ops .*, reminder $cut:" \
    "$T/pager$other.log"
check "... once the killed pager's heartbeat is gone (not after 90 s)" \
    grep -q "cluster: pager .* is gone: its claim of [0-9]* s ago" \
    "$T/pager$other.log"
check "... which the SMTP server has then" \
    wait_for 20 has "$d.ops.email.r$cut"

# 3. The ack stops them.
check "ack on node1" nctl 1 ack web on it
sleep 8     # a reminder under way at the ack ends (3 s)
before=$(mids | wc -l)
reminders() { mids | grep -c "\.ops\.email\.r"; }
acked=$(reminders)
sleep 25
check "no reminder in 25 s after the ack (2 periods)" \
    [ "$(mids | wc -l)" = "$before" ]

# 4. The recovery.
web_goes up
check "the recovery goes to ops" wait_for 30 has "$EV.ops.email"
check "... and to boss, whom the problem was escalated to" \
    wait_for 30 has "$EV.boss.email"
# the ack goes once the cluster has web up, before a pager takes the
# recovery: a look meanwhile must not see the problem open and unacked
sleep 5
check "no reminder after the ack, the recovery's time too ($acked, then $(reminders))" \
    [ "$(reminders)" = "$acked" ]

mids >"$T/mids"
# the reminders to ops the pagers began to send, by number
cat "$T/pager1.log" "$T/pager2.log" |
    sed -n "s/.*event $d .*: reminder to ops .*, reminder \([0-9]*\):.*/\1/p" |
    sort -un >"$T/begun"
"$PY" - "$T/mids" "$d" "${cut:-0}" "$T/begun" <<'PY' >"$T/verdict" 2>&1
import collections, re, sys
ids = collections.Counter(l.strip() for l in open(sys.argv[1]))
d, cut = sys.argv[2], int(sys.argv[3])
begun = sorted(int(l) for l in open(sys.argv[4]) if l.strip())
bad = []
for k, v in sorted(ids.items()):
    m = re.fullmatch(r"(\d+)\.ops\.email\.r(\d+)", k)
    if v == 1 or (m and int(m[2]) == cut and v == 2):
        continue
    bad.append("%s taken %d times" % (k, v))
rounds = sorted(int(k.rsplit(".r", 1)[1]) for k in ids
                if k.startswith(d + ".ops.email.r"))
# A pager late by more than a period sends the latest round only (one
# reminder, not a burst): numbers may be skipped, but every one begun
# reaches the SMTP server.
if len(rounds) < 4 or rounds[:2] != [1, 2]:
    bad.append("too few reminders: %s" % rounds)
if rounds != begun:
    bad.append("begun %s, taken %s" % (begun, rounds))
if ids[d + ".boss.email"] != 1:
    bad.append("the escalation taken %d times" % ids[d + ".boss.email"])
print("reminders %s; %s" % (rounds, "; ".join(bad) or "each once"))
sys.exit(1 if bad else 0)
PY
check "each reminder and the escalation taken once, the cut one twice at most ($(cat "$T/verdict"))" \
    grep -q "each once" "$T/verdict"

stop_all
