#!/bin/bash
# t/test_downtime.sh: downtime against real servers (nginx): a farm's
# downtime covers its members and no one else, a scheduled one is listed
# but not in force before its start, and the outages that happen inside a
# downtime are spooled marked `downtime` (the pager stays silent for them)
# while a server outside it is spooled as a plain outage.
set -u
. "${srcdir:-.}/t/servers.sh" || exit 1
. "${srcdir:-.}/t/probed.sh" || exit 1
servers_trap

start_nginx || exit 1
H=127.0.0.1
N=$NGINX_PORT

cat >"$T/probed.conf" <<CONF
set state-dir $T/state
set interval 1s
set timeout 1s
set retries 1
set archives off
set max-per-host 0
farm shop {
  server web1 http://$H:$N/health
  server web2 http://$H:$N/health host vhost.test
}
server solo http://$H:$N/health
server later http://$H:$N/health
CONF
probed_start "$T/probed.conf" || exit 1
for s in shop/web1 shop/web2 solo later; do
    expect_state "$s" up
done

# farm_downtime_covers_its_members_only
out=$(ctl downtime shop 1h "shop maintenance" 2>&1)
check "downtime shop 1h is taken: $out" [ -n "$out" ]
for s in shop/web1 shop/web2; do
    v=$(field "$s" downtime_until)
    check "$s is in the farm's downtime (until $v)" [ "$v" != null ]
done
v=$(field solo downtime_until)
check "solo is outside the farm's downtime" [ "$v" = null ]

# scheduled_downtime_is_listed_not_in_force: from two hours ahead.
from=$(date -d '+2 hours' +%Y-%m-%dT%H:%M)
out=$(ctl downtime later from "$from" for 1h "night deploy" 2>&1)
check "a downtime from $from is taken: $out" [ -n "$out" ]
ctl downtimes >"$T/dts" 2>&1
check "downtimes lists the scheduled one" grep -q "night deploy" "$T/dts"
check "downtimes lists the farm's" grep -q "shop maintenance" "$T/dts"
v=$(field later downtime_until)
check "later is not in downtime before its start" [ "$v" = null ]

# outages_inside_a_downtime_are_spooled_marked
servers_stop nginx
for s in shop/web1 shop/web2 solo later; do
    expect_state "$s" down 15
done
spooled() {	# spooled ID FLAG: the 'down' event of ID carries FLAG
    local f
    f=$(grep -l "\"id\":\"$1\"" "$T/state/spool/"*.json 2>/dev/null |
        xargs grep -l '"new":"down"' 2>/dev/null | head -1)
    [ -n "$f" ] && grep -q "$2" "$f"
}
for s in shop/web1 shop/web2; do
    check "$s's outage is spooled inside its downtime" \
        spooled "$s" '"downtime":true'
done
check "solo's outage is spooled as a plain outage" \
    spooled solo '"downtime":false'
check "later's outage (downtime not started) is a plain outage" \
    spooled later '"downtime":false'

# kept_across_restart
probed_stop
probed_start "$T/probed.conf" || exit 1
ctl downtimes >"$T/dts2" 2>&1
check "after a restart the farm's downtime is still listed" \
    grep -q "shop maintenance" "$T/dts2"
check "after a restart the scheduled one is still listed" \
    grep -q "night deploy" "$T/dts2"
finish
