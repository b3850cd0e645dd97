#!/bin/sh
# t/test_pager_flapend.sh: the end of flapping is paged with the state the
# server settled in, also when that is the state of its last change. A
# real probed checks a real listener (t/servers/flap.py) that opens
# and closes every 0.5 s for 8 s, then stays closed; the pager and a real
# HTTP receiver are beside it. probed spools an event down -> down,
# flapping false, once flapping ends (before, the last event said
# flapping and nothing followed: the server was down and never paged as
# such), and the pager sends "FLAPPING STOPPED fl, settled DOWN"; of the
# changes before it only the first, which started the flapping, is paged.
set -u
. "${srcdir:-.}/t/pager.sh" || exit 1

FP=$(servers_port) || exit 1
pager_probed_setup || exit 1
cat >>"$T/tocsin.conf" <<CONF
set archives off
contact ops webhook http://$H:$HOOK_PORT/ops
server fl tcp://$H:$FP interval 250ms retry-interval 250ms timeout 200ms notify ops
CONF
probed_start "$T/tocsin.conf" || exit 1
pager_start || exit 1
_srv_spawn flap "$PY" "$SERVERS_TDIR/servers/flap.py" "$FP" 0.5 8 || exit 1
ev() { cat "$T/state/spool/"*.json "$T/state/spool/".done/*.json 2>/dev/null; }
flapped() { grep -q "FLAPPING fl" "$LOG" 2>/dev/null; }
wait_for 20 flapped && pass "flapping is paged" ||
    failed "no flapping page: $(tail -3 "$T/pager.log")"
settled() { grep -q "FLAPPING STOPPED fl, settled DOWN" "$LOG" 2>/dev/null; }
wait_for 40 settled && pass "its end is paged: settled down" ||
    failed "no end of flapping paged: $(grep ' fl' "$T/probed.log" | tail -3)"
grep -q "fl: down -> down" "$T/probed.log" &&
    pass "probed announced down -> down, flapping ended" ||
    failed "probed: $(grep ' fl' "$T/probed.log" | tail -3)"
n=$(grep -c "FLAPPING STOPPED fl" "$LOG")
sleep 3
[ "$(grep -c "FLAPPING STOPPED fl" "$LOG")" = "$n" ] && [ "$n" -ge 1 ] &&
    pass "paged once ($n request)" || failed "$(grep -c "FLAPPING STOPPED fl" "$LOG") requests"
# Damped: the changes between its start and its end were held.
n=$(grep '"status": 200' "$LOG" | grep -c '"summary": "FLAPPING fl (now ')
[ "$n" = 1 ] && grep -q "event [0-9]* fl [a-z]* -> [a-z]*: not paged, flapping" "$T/pager.log" &&
    pass "one FLAPPING page, at its start; the changes after it held" ||
    failed "$n FLAPPING pages; held: $(grep -c 'not paged, flapping' "$T/pager.log")"
assert_field fl flapping false
servers_stop flap
pager_stop
probed_stop
pager_sanitizers
finish
