#!/bin/bash
# t/test_depends.sh: a child failing because its parent (depends-on)
# failed is `unreachable`, decided from the parent's fresh result (checked
# at once, as Nagios does), even while the parent is only soft down: nginx
# is the parent; two sites behind it go hard down at their first failure,
# the parent only after four. Its own failure (parent up) is a plain outage.
set -u
. "${srcdir:-.}/t/servers.sh" || exit 1
. "${srcdir:-.}/t/probed.sh" || exit 1
servers_trap

start_nginx || exit 1
H=127.0.0.1
N=$NGINX_PORT

cat >"$T/probed.conf" <<CONF
set state-dir $T/state
set interval 3s
set timeout 2s
set retry-interval 1s
set archives off
set max-per-host 0
server gateway http://$H:$N/health retries 4
server site1 http://$H:$N/health depends-on gateway retries 1
server site2 http://$H:$N/health host vhost.test depends-on gateway retries 1
server own http://$H:$N/wrong depends-on gateway retries 1
CONF
probed_start "$T/probed.conf" || exit 1
expect_state site1 up
expect_state site2 up
expect_state gateway up

# child_of_a_failing_parent_is_unreachable
sleep 1
servers_stop nginx
expect_state site1 down 10
expect_state site2 down 10
# The gateway is still soft (4 retries) when its children went hard.
for s in site1 site2; do
    f=$(grep -l "\"id\":\"$s\"" "$T/state/spool/"*.json | head -1)
    if [ -z "$f" ]; then
        failed "no spool event for $s"
    elif grep -q '"unreachable":true' "$f"; then
        pass "$s's outage is marked unreachable (gateway failing)"
    else
        failed "$s paged as a plain outage: $(cat "$f")"
    fi
done
# Nothing was decided on a stale parent: the gateway was checked on demand.
grep -q "site1: failed; checking gateway first\|site2: failed; checking gateway first" \
    "$T/probed.log"
if [ $? -eq 0 ]; then
    pass "the gateway was checked on demand"
else
    failed "no on-demand check of the gateway in the log"
fi

# child_failing_on_its_own_is_a_plain_outage: /wrong answers 503 while
# the gateway was up; its event is not unreachable.
f=$(grep -l '"id":"own"' "$T/state/spool/"*.json | head -1)
if [ -n "$f" ] && grep -q '"unreachable":false' "$f"; then
    pass "own failure with the gateway up is a plain outage"
else
    failed "own's event: $(cat "$f" 2>/dev/null)"
fi
finish
