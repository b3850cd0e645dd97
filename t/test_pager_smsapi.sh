#!/bin/sh
# t/test_pager_smsapi.sh: SMS through an HTTP API (`set sms-gateway`)
# against a real HTTP receiver (t/servers/hookd.py). A phone number with
# no gateway and an auth-file others may read are refused; each SMS goes
# as one form POST with Basic auth and its Idempotency-Key, retried with
# back-off after the gateway's 500s, exactly once across a kill -9 of the
# pager, while the email of the same event goes once; a number the
# gateway refuses (400) is final and listed; a reload to a JSON body with
# a bearer token takes effect. No probed: the spool and state.json are
# made by hand; email goes to the Maildir.
set -u
. "${srcdir:-.}/t/pager.sh" || exit 1

# event SEQ OLD NEW: a spool event made by hand.
event() {
    printf '{"seq":%s,"id":"web1","time":%s,"old":"%s","new":"%s","message":"conn refused","flapping":false,"downtime":false,"acked":false,"unreachable":false}\n' \
        "$1" "$(date +%s)" "$2" "$3" \
        >"$T/state/spool/.tmp" &&
        mv "$T/state/spool/.tmp" "$T/state/spool/$(printf %020d "$1").json"
}
# ok200 KEY: the receiver answered KEY with 200 at least once.
ok200() { grep "\"key\": \"$1\"" "$LOG" 2>/dev/null | grep -q '"status": 200'; }
drained() {
    [ -z "$(ls "$T/state/pager/queue")" ] &&
        [ -z "$(ls "$T/state/spool")" ]
}

start_hookd 2 || exit 1
GW="http://127.0.0.1:$HOOK_PORT/sms"

# --- refusals -------------------------------------------------------------
cat >"$T/tocsin.conf" <<CONF
set state-dir $T/state
contact ops email ops@example.net sms +15551234567
CONF
out=$("$PAGER" -t -c "$T/tocsin.conf" 2>&1) &&
    failed "-t accepts a phone number with no sms-gateway" ||
    { echo "$out" | grep -q "tocsin.conf:2: contact 'ops': sms +15551234567 is a phone number, which needs 'set sms-gateway URL'" &&
        pass "-t refuses a phone number with no sms-gateway, at FILE:LINE" ||
        failed "-t says: $out"; }
printf 'AC123:t0ken\n' >"$T/sms.auth"
{ pager_conf_head; cat <<CONF; } >"$T/tocsin.conf"
set sms-gateway "$GW" auth-file $T/sms.auth body "From=%2B15550001111&To={to}&Body={text}"
contact ops email ops@example.net sms +15551234567
contact bad sms +15550000000
server web1 http://127.0.0.1:1/ notify ops,bad
CONF
pager_auth_mode "$T/sms.auth" "sms-gateway auth-file" \
    "sms-gateway auth-file $T/sms.auth is mode 0644: it must be 0600"
check "-t accepts the gateway with a 0600 auth-file" \
    "$PAGER" -t -c "$T/tocsin.conf"

# --- down, 500s, a kill -9 in the back-off, recovery ----------------------
pager_spooled 100 || exit 1
pager_start || exit 1
event 1 up down
wait_for 10 grep -q "event 1 web1: sms page to ops (+15551234567) failed (try 1)" \
    "$T/pager.log" && pass "the gateway's 500 is a retry, logged with the next try" ||
    failed "no failed try: $(grep 'event 1' "$T/pager.log")"
pager_kill9
pager_start || exit 1
wait_for 20 ok200 tocsin-1-ops-sms &&
    pass "after the 500s and a kill -9 the SMS is delivered" ||
    failed "not delivered: $(cat "$LOG")"
event 2 down up
wait_for 20 ok200 tocsin-2-ops-sms && pass "the recovery SMS is delivered" ||
    failed "no recovery SMS: $(cat "$LOG")"
wait_for 20 drained && pass "spool and queue emptied" ||
    failed "left: $(ls "$T/state/spool" "$T/state/pager/queue")"
"$PAGER" -l -c "$T/tocsin.conf" >"$T/list" 2>&1
grep -q "web1	bad	sms	failed	.*HTTP 400" "$T/list" &&
    pass "a number the gateway refuses (400) is final and listed" ||
    failed "-l: $(cat "$T/list")"
"$PY" - "$LOG" "$T/state/maildir/new" <<'PY'
import base64, collections, json, os, sys, urllib.parse
rows = [json.loads(l) for l in open(sys.argv[1])]
sms = [r for r in rows if r["path"] == "/sms"]
bad = []
ok = collections.Counter(r["key"] for r in sms if r["status"] == 200)
for k in ("tocsin-1-ops-sms", "tocsin-2-ops-sms"):
    if ok[k] != 1:
        bad.append("%s delivered %d times" % (k, ok[k]))
if sum(1 for r in sms if r["status"] == 500) != 2:
    bad.append("not two 500s")
n400 = sum(1 for r in sms if r["status"] == 400)
if n400 != 2:
    bad.append("the refused number asked %d times (one per event)" % n400)
want = "Basic " + base64.b64encode(b"AC123:t0ken").decode()
for r in sms:
    if r["method"] != "POST" or r["auth"] != want or \
            r["ctype"] != "application/x-www-form-urlencoded":
        bad.append("request: %r" % r)
        break
first = [r for r in sms if r["key"] == "tocsin-1-ops-sms"]
if len({json.dumps(r["body"]) for r in first}) != 1:
    bad.append("the tries of event 1 differ")
f = urllib.parse.parse_qs(first[-1]["body"])
if f.get("From") != ["+15550001111"] or f.get("To") != ["+15551234567"] or \
        not f["Body"][0].endswith("DOWN web1: conn refused") or \
        len(f["Body"][0]) > 160:
    bad.append("form: %r" % f)
mails = [n for n in os.listdir(sys.argv[2]) if n.endswith("-ops-email")]
if len(mails) != 2:
    bad.append("%d emails, not 2: %r" % (len(mails), mails))
print("\n".join(bad))
sys.exit(1 if bad else 0)
PY
[ $? = 0 ] && pass "each SMS once with Basic auth and a form body, the same bytes on every try; each email once" ||
    failed "SMS API requests wrong"

# --- reload: JSON body and a bearer token ---------------------------------
printf 'tok-123\n' >"$T/sms.token"
chmod 600 "$T/sms.token"
{ pager_conf_head; cat <<CONF; } >"$T/tocsin.conf"
set sms-gateway "$GW" auth bearer auth-file $T/sms.token \
    body "{\"to\":\"{to}\",\"text\":\"{text}\",\"ref\":\"{key}\"}"
contact ops email ops@example.net sms +15551234567
server web1 http://127.0.0.1:1/ notify ops
CONF
check "-t accepts the JSON body" "$PAGER" -t -c "$T/tocsin.conf"
kill -HUP "$PAGER_PID"
wait_for 5 grep -q "reloaded $T/tocsin.conf" "$T/pager.log" &&
    pass "SIGHUP reloads" || failed "no reload: $(tail -3 "$T/pager.log")"
event 3 up down
wait_for 20 ok200 tocsin-3-ops-sms && pass "after the reload the SMS is delivered" ||
    failed "not delivered: $(tail -2 "$LOG")"
"$PY" - "$LOG" <<'PY'
import json, sys
r = [json.loads(l) for l in open(sys.argv[1])
     if '"tocsin-3-ops-sms"' in l][-1]
b = r["body"]
ok = r["auth"] == "Bearer tok-123" and r["ctype"] == "application/json" \
    and b["to"] == "+15551234567" and b["ref"] == "tocsin-3-ops-sms" \
    and b["text"].endswith("DOWN web1: conn refused")
print(r)
sys.exit(0 if ok else 1)
PY
[ $? = 0 ] && pass "the reloaded gateway: JSON body with {key}, bearer token" ||
    failed "JSON request wrong"
pager_stop
pager_sanitizers
finish
