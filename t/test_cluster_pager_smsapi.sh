#!/bin/sh
# t/test_cluster_pager_smsapi.sh: SMS to a phone number through the HTTP
# API of set sms-gateway, by the cluster's pagers: a real 3-server NATS
# cluster, nginx watched by three probe nodes, a real HTTP receiver as
# the gateway (t/servers/hookd.py, answering 3 s late), two pagers.
#   1. tocsin-pager -t takes set sms-gateway with set cluster.
#   2. web goes down; the pager sending ops's SMS is killed -9 once the
#      gateway has the request, before its answer: the other pager, which
#      takes the event after the ack wait, sends it again, with the same
#      Idempotency-Key and text (the gateway can drop the second).
#   3. web comes up: the recovery SMS goes once.
# Each request is a form POST of the body template, the text alone.
set -u
. "${srcdir:-.}/t/cluster.sh" || exit 1
cluster_setup iptables

LOG=$T/hookd/hook.log
# keyed KEY: how many requests the gateway took with Idempotency-Key KEY.
keyed() { grep -c "\"key\": \"$1\"" "$LOG" 2>/dev/null; }
# delivered N SEQ: pager N logged ops's SMS of event SEQ delivered.
delivered() {
    grep -q "event $2 web: sms page to ops (+15551234567) delivered" \
        "$T/pager$1.log"
}

start_nginx || exit 1
start_smtpd || exit 1
start_hookd 3 || exit 1
start_probing || exit 1
PAGER_EXTRA="set sms-gateway \"http://127.0.0.1:$HOOK_PORT/sms\" body \"To={to}&Body={text}\""
PAGER_BODY="contact ops sms +15551234567
server web http://127.0.0.1:$NGINX_PORT/body notify ops"
export PAGER_EXTRA PAGER_BODY
start_pager 1 && start_pager 2 || exit 1
pass "3 nats-servers, 3 probe nodes, 2 pagers with set sms-gateway run"
check "tocsin-pager -t takes set sms-gateway with set cluster" \
    "$PAGER" -t -c "$T/pager1.conf"

# 2. The problem's SMS, its pager killed between request and answer.
web_goes down
d=$EV
check "the gateway takes the SMS" \
    wait_for 60 eval '[ "$(keyed "tocsin-$d-ops-sms")" -ge 1 ]'
killed=
for p in 1 2; do
    if grep -q "event $d web: sending sms page to ops" "$T/pager$p.log"; then
        kill9 "pager$p"
        killed=$p
        break
    fi
done
check "its pager is killed -9 before the gateway answers" \
    eval '[ -n "$killed" ] && ! delivered "$killed" "$d"'
other=$((3 - ${killed:-2}))
check "the other pager sends it again (after the ack wait)" \
    wait_for 60 delivered "$other" "$d"
check "... with the same Idempotency-Key: two requests, no third" \
    [ "$(keyed "tocsin-$d-ops-sms")" = 2 ]

# 3. The recovery, no kill.
start_pager "$killed" || exit 1
web_goes up
u=$EV
check "the recovery SMS is delivered" \
    wait_for 60 eval "delivered 1 $u || delivered 2 $u"
sleep 2
check "... once" [ "$(keyed "tocsin-$u-ops-sms")" = 1 ]

"$PY" - "$LOG" "$d" "$u" <<'PY' >"$T/verdict" 2>&1
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
d, u = sys.argv[2], sys.argv[3]
bad = []
keys = {r["key"] for r in rows}
want = {"tocsin-%s-ops-sms" % d, "tocsin-%s-ops-sms" % u}
if keys != want:
    bad.append("keys %s, not %s" % (sorted(keys), sorted(want)))
for r in rows:
    if r["method"] != "POST" or r["path"] != "/sms" or \
            r["ctype"] != "application/x-www-form-urlencoded" or \
            not r["body"].startswith("To=%2B15551234567&Body=") or \
            r["status"] != 200:
        bad.append("request: %r" % r)
first = [r["body"] for r in rows if r["key"] == "tocsin-%s-ops-sms" % d]
if len(set(first)) != 1:
    bad.append("the SMS sent again differs: %r" % first)
if "DOWN" not in first[0] or "web" not in first[0]:
    bad.append("the text is not the problem's SMS: %r" % first[0])
if bad:
    print("; ".join(bad))
sys.exit(1 if bad else 0)
PY
check "each request a form POST of the text alone, the same text when sent again ($(cat "$T/verdict"))" \
    [ ! -s "$T/verdict" ]

stop_all
