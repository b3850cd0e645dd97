#!/bin/sh
# t/test_pager_escalate.sh: an escalate-after chain counts each step from
# the escalated contact's own page, across a kill -9 of the pager. A real
# tocsin-probed watches a real nginx; a real HTTP receiver takes the
# webhooks. ops escalates to boss after 6 s, boss to ceo after 20 s:
# ceo's page goes 20 s after boss's at the earliest (it went 14 s after,
# at the problem's 20 s, when every step counted from the problem's page).
# The pager is killed after boss's page and started again: when boss was
# paged is kept in pager/memo.json.
set -u
. "${srcdir:-.}/t/pager.sh" || exit 1

pager_probed_setup || exit 1
cat >>"$T/tocsin.conf" <<CONF
contact ops webhook http://$H:$HOOK_PORT/ops escalate-after 6s boss
contact boss webhook http://$H:$HOOK_PORT/boss escalate-after 20s ceo
contact ceo webhook http://$H:$HOOK_PORT/ceo
server web1 http://$H:$NGINX_PORT/health notify ops
CONF
probed_start "$T/tocsin.conf" || exit 1
expect_state web1 up
pager_start || exit 1

# field KEY NAME: NAME of the JSON body answered 200 under KEY.
field() {
    "$PY" - "$LOG" "$1" "$2" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["status"] == 200 and r["key"] == sys.argv[2]:
        print(r["body"][sys.argv[3]])
        break
PY
}

servers_stop nginx
wait_for 20 was_paged web1 webhook ops &&
    pass "web1's problem is paged to ops" || failed "no page for web1"
S=$(paged_seq web1 webhook ops)
wait_for 20 has_key "tocsin-$S-boss-webhook" &&
    pass "escalate-after 6s pages boss" ||
    failed "no escalation to boss: $(tail -3 "$LOG")"
# The pager dies after boss's page: boss's 20 s go on from that page.
pager_kill9
pager_start || exit 1
wait_for 45 has_key "tocsin-$S-ceo-webhook" &&
    pass "boss's escalate-after 20s pages ceo" ||
    failed "no escalation to ceo: $(tail -3 "$LOG")"
tb=$(field "tocsin-$S-boss-webhook" time)
tc=$(field "tocsin-$S-ceo-webhook" time)
[ -n "$tb" ] && [ -n "$tc" ] && [ $((tc - tb)) -ge 20 ] &&
    pass "ceo is paged $((tc - tb)) s after boss: 20 s from boss's page" ||
    failed "ceo paged $((tc - tb)) s after boss (boss at $tb, ceo at $tc)"
field "tocsin-$S-ceo-webhook" message | grep -q "^escalated from boss: down " &&
    pass "ceo's page says it is escalated from boss" ||
    failed "ceo's page: $(field "tocsin-$S-ceo-webhook" message)"
[ "$(hook_keys "tocsin-$S-boss-webhook")" = 1 ] &&
    [ "$(hook_keys "tocsin-$S-ceo-webhook")" = 1 ] &&
    pass "boss and ceo are paged once each" ||
    failed "boss $(hook_keys "tocsin-$S-boss-webhook"), ceo $(hook_keys "tocsin-$S-ceo-webhook")"
start_nginx || exit 1
pager_stop
probed_stop
pager_sanitizers
finish
