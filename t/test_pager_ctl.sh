#!/bin/sh
# t/test_pager_ctl.sh: tocsin-pager's control socket through tocsinctl.
# `pages` lists what is queued, retrying (with its next try) and refused;
# `test-page CONTACT` sends a test page on each of the contact's channels
# (email through a real aiosmtpd, SMS through the HTTP API and a webhook to
# a real HTTP receiver) and reports each outcome, a refusal included. No
# probed: the spool and state.json are made by hand.
set -u
. "${srcdir:-.}/t/pager.sh" || exit 1

start_hookd 0 || exit 1
start_smtpd plain || exit 1
{ pager_conf_head; cat <<CONF; } >"$T/tocsin.conf"
set sms-gateway "http://127.0.0.1:$HOOK_PORT/sms"
contact ops email ops@example.net sms +15551234567 webhook http://127.0.0.1:$HOOK_PORT/hook
contact bad webhook http://127.0.0.1:$HOOK_PORT/gone
contact down webhook http://127.0.0.1:1/closed
server web1 http://127.0.0.1:1/ notify ops,bad,down
CONF
pager_spooled 100 || exit 1

out=$(pager_ctl pages 2>&1); rc=$?
[ $rc = 3 ] && echo "$out" | grep -q "cannot reach tocsin-pager ($T/state/pager.sock" &&
    pass "no pager: pages exits 3 and says where it looked" ||
    failed "no pager: rc $rc: $out"
pager_start || exit 1
grep -q "control socket $T/state/pager.sock" "$T/pager.log" &&
    pass "the pager says where its control socket is" ||
    failed "no control socket in the log"
[ "$(stat -c %a "$T/state/pager.sock")" = 660 ] &&
    pass "the socket is mode 0660" || failed "mode $(stat -c %a "$T/state/pager.sock")"

# --- test-page --------------------------------------------------------------
out=$(pager_ctl test-page ops 2>&1); rc=$?
echo "$out"
[ $rc = 0 ] && [ "$(echo "$out" | grep -c ' delivered$')" = 3 ] &&
    pass "test-page ops: email, sms and webhook delivered, exit 0" ||
    failed "test-page ops: rc $rc: $out"
grep -q '"subject": "\[tocsin\] TEST page from tocsin-pager to ops (email)"' \
    "$T/smtpd/mail.log" && pass "the test email reached the relay" ||
    failed "relay: $(cat "$T/smtpd/mail.log" 2>/dev/null)"
"$PY" - "$LOG" <<'PY' && pass "the test SMS and webhook reached the receiver, each with its key" ||
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
sms = [r for r in rows if r["path"] == "/sms"]
hook = [r for r in rows if r["path"] == "/hook"]
ok = len(sms) == 1 and "TEST%20page" in sms[0]["body"] and \
    sms[0]["key"].startswith("tocsin-0-ops-sms-r") and \
    len(hook) == 1 and hook[0]["body"]["test"] is True and \
    hook[0]["key"].startswith("tocsin-0-ops-webhook-r")
print(rows)
sys.exit(0 if ok else 1)
PY
    failed "test SMS or webhook"
# A second test page to ops at once is refused: one in 5 s a contact, so
# a script that loops on test-page does not flood a phone.
out=$(pager_ctl test-page ops 2>&1); rc=$?
[ $rc = 1 ] && echo "$out" | grep -q "a test page to 'ops' began [0-9]* s ago: one in 5 s, try again in [1-5] s" &&
    pass "a second test-page to ops at once: refused, saying when to try again, exit 1" ||
    failed "a second test-page ops: rc $rc: $out"
[ "$(grep -c 'TEST page from tocsin-pager to ops (email)' "$T/smtpd/mail.log")" = 1 ] &&
    pass "... and it sent nothing" ||
    failed "the refused test-page sent mail: $(cat "$T/smtpd/mail.log")"
out=$(pager_ctl test-page bad 2>&1); rc=$?
[ $rc = 1 ] && echo "$out" | grep -q "webhook .*/gone *failed: HTTP 410" &&
    pass "test-page bad: the refusal is reported, exit 1" ||
    failed "test-page bad: rc $rc: $out"
out=$(pager_ctl test-page nobody 2>&1); rc=$?
[ $rc = 1 ] && echo "$out" | grep -q "no contact 'nobody' in the config" &&
    pass "test-page of an unknown contact says so, exit 1" ||
    failed "test-page nobody: rc $rc: $out"
# A client that sends requests and never reads their answers: its
# answers and waiting lines are bounded, and no more of its requests are
# read (the pager read them all and grew by 27 MiB a second), so the
# client can send little more than the sockets' buffers hold.
"$PY" - "$T/state/pager.sock" "$T/hog" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.setblocking(False)
end, sent = time.time() + 3, 0
while time.time() < end:
    try:
        sent += s.send(b"pages\n" * 4096)
    except BlockingIOError:
        time.sleep(0.01)
open(sys.argv[2], "w").write("%d\n" % sent)
time.sleep(2)
PY
hog=$!
sleep 2
out=$(pager_ctl pages 2>&1); rc=$?
[ $rc = 0 ] && pass "meanwhile another client is answered" ||
    failed "pages beside the hog: rc $rc: $out"
wait $hog
sent=$(cat "$T/hog" 2>/dev/null)
[ -n "$sent" ] && [ "$sent" -lt 1048576 ] &&
    pass "a client that never reads could send $sent bytes of requests (< 1 MiB)" ||
    failed "a client that never reads sent ${sent:-?} bytes of requests"
# A contact with no channel, whose test-page was answered at once inside
# the request's handler (the 64th filled the pager's clients for good,
# now t/test_ctl's ctlsock_answer_inside_handler_frees_the_client), is
# refused by the config: its pages went nowhere.
{ cat "$T/tocsin.conf"; echo "contact quiet"; } >"$T/quiet.conf"
out=$("$PAGER" -t -c "$T/quiet.conf" 2>&1); rc=$?
n=$(wc -l <"$T/quiet.conf")
[ $rc = 1 ] && echo "$out" | grep -qF "$T/quiet.conf:$n: contact 'quiet' has no channel: give it email, sms or webhook" &&
    pass "a contact with no channel is refused at its line, exit 1" ||
    failed "contact quiet: rc $rc: $out"
# Answers given at once, the refusals: 70 more, the pager still takes
# clients.
i=0
while [ $i -lt 70 ]; do pager_ctl test-page nobody >/dev/null 2>&1; i=$((i + 1)); done
out=$(pager_ctl pages 2>&1); rc=$?
[ $rc = 0 ] && ! echo "$out" | grep -q "too many clients" &&
    pass "70 more test-pages of an unknown contact: the pager still takes clients" ||
    failed "after 70 test-page nobody: rc $rc: $out"
# 5 s after the first, ops may be tested again.
i=0
while [ $i -lt 70 ]; do
    out=$(pager_ctl -j test-page ops 2>&1)
    echo "$out" | grep -q "try again" || break
    sleep 0.1
    i=$((i + 1))
done
echo "$out" | "$PY" -c 'import json,sys; d=json.loads(sys.stdin.read()); sys.exit(0 if d["ok"] and d["contact"]=="ops" and [c["result"] for c in d["channels"]]==["delivered"]*3 else 1)' &&
    pass "test-page -j prints the JSON answer" || failed "-j: $out"
[ -z "$(ls "$T/state/pager/queue")" ] &&
    pass "test pages leave no delivery record" ||
    failed "records: $(ls "$T/state/pager/queue")"

# --- pages ------------------------------------------------------------------
# The event is renamed into place whole, as probed writes it (the pager
# found it empty once, half made).
now=$(date +%s)
printf '{"seq":1,"id":"web1","time":%s,"old":"up","new":"down","message":"by hand","flapping":false,"downtime":false,"acked":false,"unreachable":false}\n' \
    "$now" >"$T/state/spool/.tmp" &&
    mv "$T/state/spool/.tmp" "$T/state/spool/00000000000000000001.json"
wait_for 10 sh -c "grep -q 'event 1 web1: webhook page to down .* failed (try 1)' '$T/pager.log'" &&
    wait_for 10 sh -c "grep -q 'event 1 web1: webhook page to bad .* refused for good' '$T/pager.log'" ||
    failed "the event's deliveries: $(grep 'event 1' "$T/pager.log")"
out=$(pager_ctl pages 2>&1); rc=$?
echo "$out"
[ $rc = 0 ] && echo "$out" | grep -Eq "^1 +web1 +down +webhook +retrying +1 +[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8} .*Connection refused|^1 +web1 +down +webhook +retrying +1 +[0-9-]+ [0-9:]+ " &&
    pass "pages: the webhook to a closed port is retrying, with its next try" ||
    failed "pages: rc $rc: $out"
echo "$out" | grep -Eq "^1 +web1 +bad +webhook +failed +.*HTTP 410" &&
    pass "pages: the 410 is listed as failed" || failed "no failed line: $out"
out=$(pager_ctl -j pages 2>&1)
echo "$out" | "$PY" -c '
import json, sys
d = json.loads(sys.stdin.read())
p = {(x["contact"], x["channel"]): x for x in d["pages"]}
r = p[("down", "webhook")]
ok = d["ok"] and d["probed"] is False and r["state"] == "retrying" and \
    r["tries"] >= 1 and isinstance(r["next"], int) and r["event"] == 1 and \
    r["round"] == 0 and p[("bad", "webhook")]["state"] == "failed" and \
    p[("bad", "webhook")]["next"] is None
sys.exit(0 if ok else 1)' &&
    pass "pages -j: state, tries, next, round, probed" || failed "-j pages: $out"

# --- set control-group: test-page sends real pages, a change ----------------
if [ "$(id -u)" = 0 ]; then
    pager_stop
    sed -i "1i set control-group nogroup" "$T/tocsin.conf"
    pager_start || exit 1
    chmod 755 "$T" "$T/state"; chmod 644 "$T/tocsin.conf"
    chmod 666 "$T/state/pager.sock"
    # as GID ARGS...: tocsinctl as nobody with primary group GID.
    as() { g=$1; shift; setpriv --reuid=65534 --regid="$g" --clear-groups "$TOCSINCTL" -c "$T/tocsin.conf" "$@"; }
    out=$(as 1 test-page nobody 2>&1) &&
        failed "outside the control group, test-page was taken: $out" ||
        { echo "$out" | grep -q "permission denied: test-page sends pages, and uid 65534 is not in the control group" &&
            pass "outside the control group: test-page refused" ||
            failed "test-page as nobody said: $out"; }
    out=$(as 1 pages 2>&1) && pass "outside the control group: pages is open" ||
        failed "pages as nobody: $out"
    out=$(as 65534 test-page nobody 2>&1)
    echo "$out" | grep -q "no contact 'nobody' in the config" &&
        pass "in the control group (primary): test-page taken" ||
        failed "test-page in the group said: $out"
    sed -i "/^set control-group/d" "$T/tocsin.conf"
else
    skip "set control-group for test-page: needs root to connect as another user"
fi
pager_stop
out=$(pager_ctl pages 2>&1); rc=$?
[ $rc = 3 ] && [ ! -e "$T/state/pager.sock" ] &&
    pass "the socket is removed at exit" || failed "after exit: rc $rc, $(ls "$T/state")"
pager_sanitizers
finish
