#!/bin/sh
# t/test_pager_dtend.sh: a problem that outlasts its downtime is paged when
# the downtime ends, once, against a real tocsin-probed watching a real
# nginx (a, b) and a real listener (c), with a real HTTP receiver and the
# Maildir. Inside the downtime nothing is paged; when it is cancelled, a
# (still down) is paged once, also across a kill -9 of the pager at that
# moment; b (acknowledged) and c (recovered inside the downtime) are not.
set -u
. "${srcdir:-.}/t/pager.sh" || exit 1

# calls SERVER: 200 answers whose body names SERVER.
calls() { grep '"status": 200' "$LOG" 2>/dev/null | grep -c "\"server\": \"$1\""; }
mails() { grep -l -- "$1" "$NEW/"* 2>/dev/null | wc -l; }
logged() { grep -q -- "$1" "$T/pager.log"; }

PC=$(servers_port) || exit 1
cat >"$T/listen.py" <<'PY'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(16)
while True:
    s.accept()[0].close()
PY
pager_probed_setup || exit 1
_srv_spawn lc "$PY" "$T/listen.py" "$PC" || exit 1
cat >>"$T/tocsin.conf" <<CONF
contact ops email ops@example.net webhook http://$H:$HOOK_PORT/ops
server a http://$H:$NGINX_PORT/health notify ops
server b http://$H:$NGINX_PORT/health notify ops
server c tcp://$H:$PC notify ops
CONF
probed_start "$T/tocsin.conf" || exit 1
expect_state a up
expect_state b up
expect_state c up
pager_start || exit 1
for s in a b c; do
    ctl downtime $s 10m maintenance >/dev/null || failed "downtime $s"
done

# Down inside the downtime: not paged.
servers_stop nginx
servers_stop lc
for s in a b c; do
    wait_for 20 logged "$s up -> down: not paged, in downtime" &&
        pass "$s down inside its downtime: not paged" ||
        failed "$s: $(grep " $s " "$T/pager.log" | tail -2)"
done
ctl ack b on it >/dev/null || failed "ack b"
_srv_spawn lc "$PY" "$T/listen.py" "$PC" || exit 1
wait_for 20 logged "c down -> up: not paged, in downtime" &&
    pass "c recovers inside its downtime: not paged" ||
    failed "c: $(grep ' c ' "$T/pager.log" | tail -2)"
sleep 3		# polls: the downtime still runs, nothing due
[ "$(calls a)$(calls b)$(calls c)$(mails DOWN)" = 0000 ] &&
    pass "nothing paged inside the downtime" ||
    failed "pages in downtime: $(cat "$LOG" 2>/dev/null | head -3)"

# The downtime ends with a still down: paged once, and a kill -9 at that
# moment changes nothing.
SA=$(sed -n 's/.*event \([0-9]*\) a up -> down: not paged.*/\1/p' \
    "$T/pager.log" | head -1)
for s in a b c; do
    ctl downtime-cancel $s >/dev/null || failed "downtime-cancel $s"
done
wait_for 10 logged "a: downtime over"
pager_kill9
logged "a: downtime over" && pass "the pager pages a when its downtime ends" ||
    failed "a not paged after the downtime: $(tail -3 "$T/pager.log")"
pager_start || exit 1
wait_for 15 sh -c "[ \$(grep -l 'still down after the downtime' '$NEW/'* 2>/dev/null | wc -l) -ge 1 ]" &&
    pass "a's email says still down after the downtime" ||
    failed "no email for a: $(ls "$NEW" 2>/dev/null)"
wait_for 15 sh -c "grep '\"status\": 200' '$LOG' | grep -q 'tocsin-$SA-ops-webhook'" &&
    pass "a's webhook page is made with the held event's key" ||
    failed "no webhook for a: $(tail -2 "$LOG" 2>/dev/null)"
sleep 6		# polls after the restart, and with the first pager gone
[ "$(grep -c 'downtime over' "$T/pager.log")" = 1 ] &&
    pass "made once across the kill -9" ||
    failed "made $(grep -c 'downtime over' "$T/pager.log") times"
[ "$(mails 'still down after the downtime')" = 1 ] &&
    pass "one email for a" || failed "$(mails 'still down after the downtime') emails for a"
# A kill -9 between the call and its record resends it with the same
# Idempotency-Key (the receiver's contract): one key, at most one resend.
[ "$(hook_keys "tocsin-$SA-ops-webhook")" = 1 ] && [ "$(calls a)" -le 2 ] &&
    pass "one webhook page for a (one key)" ||
    failed "webhook for a: $(hook_keys "tocsin-$SA-ops-webhook") keys, $(calls a) calls"
[ "$(calls b)" = 0 ] && ! logged "b: downtime over" &&
    pass "b, acknowledged, is not paged after the downtime" ||
    failed "b paged: $(calls b)"
[ "$(calls c)" = 0 ] && ! logged "c: downtime over" &&
    pass "c, recovered inside the downtime, is not paged" ||
    failed "c paged: $(calls c)"
pager_stop
probed_stop
pager_sanitizers
finish
