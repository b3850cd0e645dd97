#!/bin/sh
# t/test_pager_probedstop.sh: a tocsin-probed that is alive but does not
# answer (SIGSTOP: its socket takes connections, nothing replies) costs
# a storm of pages one short wait, not one each. A real probed watches
# eight servers on a real nginx; nginx stops while the pager is down, the
# eight events are spooled, probed is stopped, then the pager starts: the
# eight webhooks go out at once (each waited 10 s on probed before, 80 s
# in all), with their details from probed's state file, and the pager
# says once that it reads the state file.
set -u
. "${srcdir:-.}/t/pager.sh" || exit 1

pager_probed_setup || exit 1
echo "contact ops webhook http://$H:$HOOK_PORT/ops" >>"$T/tocsin.conf"
for s in 1 2 3 4 5 6 7 8; do
    echo "server s$s http://$H:$NGINX_PORT/health notify ops"
done >>"$T/tocsin.conf"
probed_start "$T/tocsin.conf" || exit 1
for s in 1 2 3 4 5 6 7 8; do expect_state s$s up; done
servers_stop nginx
for s in 1 2 3 4 5 6 7 8; do expect_state s$s down; done
# The events are on disk before probed says down (the spool contract).
n=$(grep -l '"new": *"down"' "$T/state/spool/"*.json 2>/dev/null | wc -l)
[ "$n" = 8 ] && pass "eight down events spooled" || failed "spooled: $n"
kill -STOP "$PROBED_PID" || exit 1
downs() { grep '"status": 200' "$LOG" 2>/dev/null | grep -c '"state": "down"'; }
all8() { [ "$(downs)" -ge 8 ]; }
pager_start || exit 1
wait_for 30 all8 &&
    pass "the eight pages go out with probed stopped" ||
    failed "$(downs) of 8 pages in 30 s: $(tail -3 "$T/pager.log")"
n=$(grep -c "probed did not answer in" "$T/pager.log")
[ "$n" = 1 ] && pass "probed waited on once, then its state file" ||
    failed "waited on $n times"
grep '"status": 200' "$LOG" | grep '"server": "s1"' |
    grep -q '"message": "[^"]' &&
    pass "a page has the server's message, from the state file" ||
    failed "no message: $(grep '"server": "s1"' "$LOG" | head -1)"
kill -CONT "$PROBED_PID"
pager_stop
probed_stop
pager_sanitizers
finish
