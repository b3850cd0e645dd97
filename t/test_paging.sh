#!/bin/sh
# t/test_paging.sh: tocsin-pager end to end. Real tocsin-probed watches a
# real nginx; the pager delivers its events into the Maildir (no relay),
# then through a real aiosmtpd (STARTTLS required, AUTH) and to a real HTTP
# receiver for the webhook (which answers 500 to its first calls). Stopping
# nginx must give one down page per channel, starting it one recovery page;
# kill -9 of the pager at random moments must lose no page and send none
# twice (Message-IDs counted at the SMTP server, Idempotency-Keys at the
# HTTP server).
#
# As root, the whole test runs in its own mount namespace with an empty
# /etc/hosts, as on a minimal root or in a container: the relay is named
# `localhost`, which the pager must know as loopback itself (RFC 6761).
set -u
if [ -z "${PAGING_NO_HOSTS:-}" ] && [ "$(id -u)" = 0 ] &&
    unshare -m true 2>/dev/null; then
	PAGING_NO_HOSTS=1 exec unshare -m sh -c \
	    'mount --bind /dev/null /etc/hosts && exec sh "$0" "$@"' "$0" "$@"
fi
. "${srcdir:-.}/t/pager.sh" || exit 1

maildir_has() {
    grep -l -- "$2" "$T/state/maildir/new/"*"-ops-$1" 2>/dev/null | wc -l
}
has_pages() { [ "$(maildir_has "$1" "$2")" -ge "$3" ]; }
hook_ok() {
    grep -c "\"status\": 200" "$T/hookd/hook.log" 2>/dev/null | grep -qx "$1"
}
# The queue is empty: nothing queued, the spool down to its seq file. The
# pager deletes an event only once state.json's "spooled" covers it, and
# probed writes that file every minute: `enable` makes it write it now.
drained() {
    [ -z "${PROBED_PID:-}" ] || ctl enable web1 >/dev/null 2>&1 ||
        return 1
    [ -z "$(ls "$T/state/pager/queue")" ] &&
        [ "$(ls "$T/state/spool")" = seq ]
}

# Every event paged alone (storms off; the storm digest is
# t/test_pager_storm.sh's).
pager_probed_setup 2 "$T/base.conf" || exit 1
start_smtpd || exit 1
cat >>"$T/base.conf" <<CONF
set web-url http://tocsin.example.net/status
contact ops email ops@example.net sms 5551234@sms.example.net webhook http://$H:$HOOK_PORT/hook
contact gone webhook http://$H:$HOOK_PORT/gone
server web1 http://$H:$NGINX_PORT/health notify ops,gone
CONF
cp "$T/base.conf" "$T/tocsin.conf"

# --- no relay: the Maildir ----------------------------------------------------
"$PAGER" -t -c "$T/tocsin.conf" >/dev/null 2>&1 &&
    pass "-t accepts the config" || failed "-t refuses the config"
probed_start "$T/tocsin.conf" || exit 1
expect_state web1 up
pager_start || exit 1
grep -q "no smtp-relay in the config: email and SMS pages go to the Maildir $T/state/maildir" \
    "$T/pager.log" && pass "the pager says pages go to the Maildir" ||
    failed "no word of the Maildir at start"

servers_stop nginx
if wait_for 20 has_pages email "DOWN web1" 1; then
    pass "down page in the Maildir"
else
    failed "no down page in the Maildir"
fi
wait_for 10 has_pages sms "DOWN web1" 1
[ "$(maildir_has email 'DOWN web1')" = 1 ] && [ "$(maildir_has sms 'DOWN web1')" = 1 ] &&
    pass "one down email and one down SMS" ||
    failed "down pages: $(maildir_has email 'DOWN web1') email, $(maildir_has sms 'DOWN web1') SMS"
f=$(grep -l "DOWN web1" "$T/state/maildir/new/"*-ops-email | head -1)
grep -q "^link: *http://tocsin.example.net/status/server/web1$" "$f" &&
    grep -q "^since: " "$f" && grep -q "^latency: " "$f" &&
    grep -q "^message: " "$f" &&
    pass "the down page says since, message, latency and link" ||
    failed "the down page lacks a field: $(cat "$f")"
sms=$(sed '1,/^$/d' "$(grep -l 'DOWN web1' "$T/state/maildir/new/"*-ops-sms | head -1)")
[ "${#sms}" -le 160 ] && pass "SMS text fits one segment (${#sms})" ||
    failed "SMS text is ${#sms} characters"

# The webhook: two 500s, then delivered once after the back-off.
if wait_for 20 hook_ok 1; then
    pass "webhook delivered after the receiver's 500s"
else
    failed "webhook not delivered: $(cat "$T/hookd/hook.log" 2>/dev/null)"
fi
[ "$(grep -c '"status": 500' "$T/hookd/hook.log")" -ge 2 ] &&
    pass "the 500s were retried" || failed "no 500 seen"
"$PY" - "$T/hookd/hook.log" <<'PY' && pass "webhook JSON has text, server, state and the same key on every try" || failed "webhook JSON"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
hook = [r for r in rows if r["path"] == "/hook"]
keys = {r["key"] for r in hook}
ok = hook[-1]["status"] == 200 and len(keys) == 1
b = hook[-1]["body"]
ok = ok and b["text"].startswith("DOWN web1") and b["server"] == "web1" \
    and b["state"] == "down" and list(keys)[0].endswith("-ops-webhook")
sys.exit(0 if ok else 1)
PY
# A 410 is final: listed as failed, not retried.
wait_for 10 sh -c "'$PAGER' -l -c '$T/tocsin.conf' | grep -q 'gone	webhook	failed'" &&
    pass "a 410 is final and listed" ||
    failed "410 not listed as failed: $("$PAGER" -l -c "$T/tocsin.conf")"
n410=$(grep -c '"status": 410' "$T/hookd/hook.log")
[ "$n410" = 1 ] && pass "the 410 was asked once" || failed "410 asked $n410 times"

# SIGHUP: a bad config is refused and the old one kept; a good one adds a
# contact, who gets the recovery page.
echo "contact broken emial x@example.net" >>"$T/tocsin.conf"
kill -HUP "$PAGER_PID"
wait_for 5 grep -q "reload failed, keeping the running config" "$T/pager.log" &&
    kill -0 "$PAGER_PID" && pass "a bad config on SIGHUP is refused, the pager runs on" ||
    failed "bad reload: $(tail -3 "$T/pager.log")"
sed -e 's/^contact broken.*//' \
    -e 's/notify ops,gone$/notify ops,gone,late/' "$T/base.conf" >"$T/tocsin.conf"
echo "contact late email late@example.net" >>"$T/tocsin.conf"
kill -HUP "$PAGER_PID"
wait_for 5 grep -q "reloaded $T/tocsin.conf" "$T/pager.log" &&
    pass "SIGHUP reloads" || failed "no reload: $(tail -3 "$T/pager.log")"

start_nginx || exit 1
wait_for 20 sh -c "grep -q RECOVERED '$T/state/maildir/new/'*-late-email 2>/dev/null" &&
    pass "the contact added by the reload gets the recovery page" ||
    failed "no page for the contact added by the reload"
if wait_for 20 has_pages email "RECOVERED web1" 1; then
    pass "recovery page in the Maildir"
else
    failed "no recovery page in the Maildir"
fi
wait_for 30 drained && pass "spool and queue emptied; spool/seq kept" ||
    failed "left: $(ls "$T/state/spool" "$T/state/pager/queue")"
[ "$(maildir_has email 'DOWN web1')" = 1 ] &&
    [ "$(maildir_has email 'RECOVERED web1')" = 1 ] &&
    pass "one down and one recovery email, no more" ||
    failed "emails: $(ls "$T/state/maildir/new")"
pager_stop

# --- the relay: auth-file mode, STARTTLS, AUTH --------------------------------
printf 'pager:s3cret\n' >"$T/auth"
{ cat "$T/base.conf"; echo "set smtp-relay localhost:$SMTPD_PORT starttls auth-file $T/auth"; } \
    >"$T/tocsin.conf"
pager_auth_mode "$T/auth" auth-file "is mode 0644: it must be 0600"
SSL_CERT_FILE=$TLS_CA
export SSL_CERT_FILE
pager_start || exit 1
grep -q "pages go through localhost:$SMTPD_PORT (STARTTLS required) with AUTH" \
    "$T/pager.log" && pass "the pager names its relay" || failed "relay not named"

# Events while the pager is killed at random moments.
first=$(grep -c ' (event ' "$T/probed.log")
for round in 1 2 3; do
    servers_stop nginx
    sleep "0.$(od -An -N1 -tu1 /dev/urandom | tr -d ' ')"
    pager_kill9
    pager_start || exit 1
    sleep 2
    pager_kill9
    pager_start || exit 1
    start_nginx || exit 1
    sleep "1.$(od -An -N1 -tu1 /dev/urandom | tr -d ' ')"
    pager_kill9
    pager_start || exit 1
    sleep 2
done
wait_for 30 drained && pass "everything delivered after 9 kills" ||
    failed "left after the kills: $(ls "$T/state/pager/queue")"
sed -n 's/.* (event \([0-9]*\)).*/\1/p' "$T/probed.log" | tail -n +$((first + 1)) \
    >"$T/seqs"
echo "events during the kills: $(tr '\n' ' ' <"$T/seqs")"
# Exactly once, but for the window the contract leaves: a try the kill
# cut between the far side taking it and the fsync of its outcome may go
# again (with the same Message-ID or Idempotency-Key). Such a try shows in
# the pager's log as "sending" with no outcome before the next start.
# The changes come fast enough for web1 to flap: a change held while it
# flaps (the pager logs "not paged, flapping") goes nowhere, never.
"$PY" - "$T/seqs" "$T/smtpd/mail.log" "$T/hookd/hook.log" "$T/pager.log" <<'PY'
import collections, json, re, sys
seqs = [int(l) for l in open(sys.argv[1]) if l.strip()]
mail = [json.loads(l) for l in open(sys.argv[2])]
hook = [json.loads(l) for l in open(sys.argv[3])]
cut, open_tries, held = set(), set(), set()
for line in open(sys.argv[4]):
    if "started:" in line:
        cut |= open_tries
        open_tries = set()
    m = re.search(r"event (\d+) \S+: sending (\w+) page to (\S+) ", line)
    if m:
        open_tries.add((int(m[1]), m[2], m[3]))
    m = re.search(r"event (\d+) \S+: (\w+) page to (\S+) \(.*\) "
                  r"(delivered|failed|refused)", line)
    if m:
        open_tries.discard((int(m[1]), m[2], m[3]))
    m = re.search(r"event (\d+) web1 \w+ -> \w+: not paged, flapping", line)
    if m:
        held.add(int(m[1]))
mids = collections.Counter(m["message_id"] for m in mail)
keys = collections.Counter(h["key"] for h in hook
                           if h["status"] == 200 and h["path"] == "/hook")
bad = []
if len(seqs) < 6:
    bad.append("only %d events" % len(seqs))
resent = 0
def once(what, n, s, ch):
    global resent
    if s in held:
        if n != 0:
            bad.append("%s, held while web1 flapped, seen %d times" %
                       (what, n))
    elif n == 2 and (s, ch, "ops") in cut:
        resent += 1
    elif n != 1:
        bad.append("%s seen %d times" % (what, n))
for s in seqs:
    for ch in ("email", "sms"):
        mid = "<%d.ops.%s@tocsin-pager.example.net>" % (s, ch)
        once(mid, mids[mid], s, ch)
    k = "tocsin-%d-ops-webhook" % s
    once(k, keys[k], s, "webhook")
if not all(m["tls"] and m["auth"] for m in mail):
    bad.append("a message came without STARTTLS or AUTH")
print("%d events (%d held while it flapped), %d messages, %d webhook "
      "calls, %d tries cut by a kill, %d of them sent again" %
      (len(seqs), len(held & set(seqs)), len(mail), sum(keys.values()),
       len(cut), resent))
for b in bad:
    print("  " + b)
sys.exit(1 if bad else 0)
PY
[ $? = 0 ] && pass "every (event, channel) exactly once at the SMTP and HTTP servers, none held while it flapped" ||
    failed "deliveries lost or doubled"

# A recovery page through the relay says it.
grep -q '"subject": "\[tocsin\] RECOVERED web1' "$T/smtpd/mail.log" &&
    pass "recovery email through the relay" || failed "no recovery email at the relay"

# The relay down: pages wait, retried with back-off, and go when it is back.
servers_stop smtpd
nmail=$(wc -l <"$T/smtpd/mail.log")
servers_stop nginx
wait_for 20 sh -c "'$PAGER' -l -c '$T/tocsin.conf' | grep -q 'ops	email	retrying'" &&
    pass "relay down: the email is listed as retrying" ||
    failed "relay down: $("$PAGER" -l -c "$T/tocsin.conf")"
sleep 3
start_smtpd || exit 1
wait_for 30 drained && pass "relay back: the queue drains" ||
    failed "relay back: left $(ls "$T/state/pager/queue")"
[ $(($(wc -l <"$T/smtpd/mail.log") - nmail)) = 2 ] &&
    tail -2 "$T/smtpd/mail.log" | grep -q '"subject": "\[tocsin\] .*DOWN' &&
    pass "relay back: the down email and SMS arrive, once each" ||
    failed "relay back: $(tail -3 "$T/smtpd/mail.log")"
grep -q "email page to ops (ops@example.net) failed (try [0-9]*), next in [0-9]* s: relay localhost:$SMTPD_PORT" \
    "$T/pager.log" && pass "relay down: each failed try is logged with the next" ||
    failed "no retry logged"

# What a crash leaves, made by hand: an event whose deliveries are all
# final is removed without a page; an event with only some records made
# sends the one on disk as it is (same bytes) and makes the others.
probed_stop
pager_stop
"$PY" - "$T/state" <<'PY'
import json, os, sys
st = sys.argv[1]
q = st + "/pager/queue/"
def ev(seq):
    return {"seq": seq, "id": "web1", "time": 1700000000, "old": "up",
            "new": "down", "message": "by hand", "flapping": False,
            "downtime": False, "acked": False, "unreachable": False}
def rec(seq, contact, ch, to, state, payload):
    json.dump({"seq": seq, "contact": contact, "channel": ch,
               "server": "web1", "to": to, "state": state, "tries": 0,
               "next": 0, "created": 0, "error": "", "payload": payload},
              open(q + "%020d-%s-%s.json" % (seq, contact, ch), "w"))
for seq in (5001, 5002):
    with open("%s/spool/%020d.json" % (st, seq), "w") as f:
        f.write(json.dumps(ev(seq)) + "\n")
# What probed would write once these events are in its state.
state = json.load(open(st + "/state.json"))
state["spooled"] = 5002
json.dump(state, open(st + "/.tmp.state.json", "w"))
os.rename(st + "/.tmp.state.json", st + "/state.json")
for ch, to in (("email", "ops@example.net"),
               ("sms", "5551234@sms.example.net"),
               ("webhook", "http://127.0.0.1:1/hook")):
    rec(5001, "ops", ch, to, "done", "")
rec(5001, "gone", "webhook", "http://127.0.0.1:1/gone", "failed", "")
rec(5002, "ops", "email", "ops@example.net", "queued",
    "From: tocsin@example.net\nTo: ops@example.net\n"
    "Subject: made by hand\n"
    "Message-ID: <5002.ops.email@tocsin-pager.example.net>\n\nby hand\n")
PY
pager_start || exit 1
wait_for 30 drained && pass "a restart finishes the events a crash left" ||
    failed "left after the restart: $(ls "$T/state/spool" "$T/state/pager/queue")"
"$PY" - "$T/smtpd/mail.log" "$T/hookd/hook.log" <<'PY'
import collections, json, sys
mail = [json.loads(l) for l in open(sys.argv[1])]
hook = [json.loads(l) for l in open(sys.argv[2])]
mids = collections.Counter(m["message_id"] for m in mail)
keys = collections.Counter(h["key"] for h in hook if h["status"] == 200)
bad = [k for k in mids if k.startswith("<5001.")]
bad += [k for k in keys if k.startswith("tocsin-5001-")]
mine = [m for m in mail if m["message_id"] ==
        "<5002.ops.email@tocsin-pager.example.net>"]
if len(mine) != 1 or mine[0]["subject"] != "made by hand":
    bad.append("5002 email: %r" % mine)
if mids["<5002.ops.sms@tocsin-pager.example.net>"] != 1:
    bad.append("5002 sms missing")
if keys["tocsin-5002-ops-webhook"] != 1:
    bad.append("5002 webhook missing")
if bad:
    print("\n".join(bad))
sys.exit(1 if bad else 0)
PY
[ $? = 0 ] && pass "final records are not sent again; a record on disk goes as written, the missing ones are made" ||
    failed "crash leftovers handled wrongly"
[ -f "$T/state/pager/failed/00000000000000005001-gone-webhook.json" ] &&
    pass "a refused delivery is kept in pager/failed" ||
    failed "no pager/failed record for 5001"

pager_stop
pager_sanitizers
finish
