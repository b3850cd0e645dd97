#!/bin/sh
# t/test_pager_depends.sh: a parent's problem page lists the servers that
# depend on it and are unreachable or down now (as probed's state file
# says while probed is gone), and only those. A child's event that carries
# `unreachable` is never paged alone: when the parent's page listed it, it
# goes to no one (done, "listed in the page of event N"), not in the
# digest either; when it did not (the child failed after the page), it
# goes in the digest. No probed: the spool and state.json are made by
# hand; pages go to the Maildir.
set -u
. "${srcdir:-.}/t/pager.sh" || exit 1

{ pager_conf_head "0 in 2s"; cat <<CONF; } >"$T/tocsin.conf"
contact ops email ops@example.net webhook http://127.0.0.1:1/closed
server gw http://127.0.0.1:1/ notify ops
server c1 http://127.0.0.1:1/ notify ops depends-on gw
server c2 http://127.0.0.1:1/ notify ops depends-on gw
server c3 http://127.0.0.1:1/ notify ops depends-on gw
server other http://127.0.0.1:1/ notify ops
CONF
mkdir -p "$T/state/spool" || exit 1
now=$(date +%s)
cat >"$T/state/state.json" <<JSON
{"version":1,"written":$now,"spooled":100,"servers":{
 "gw":{"state":"down","state_type":"hard","since":$now,"message":"connect refused"},
 "c1":{"state":"down","state_type":"hard","since":$now,"unreachable":true,"message":"timeout"},
 "c2":{"state":"up","state_type":"hard","since":$now,"message":"ok"},
 "c3":{"state":"down","state_type":"soft","since":$now,"message":"timeout"},
 "other":{"state":"down","state_type":"hard","since":$now,"message":"timeout"}}}
JSON
ev() {
    printf '{"seq":%s,"id":"%s","time":%s,"old":"up","new":"down","message":"m","flapping":false,"downtime":false,"acked":false,"unreachable":%s}\n' \
        "$1" "$2" "$now" "$3" >"$T/state/spool/.tmp" &&
        mv "$T/state/spool/.tmp" "$T/state/spool/$(printf %020d "$1").json"
}
ev 1 gw false
ev 2 c1 true
pager_start || exit 1
wait_for 10 sh -c "ls '$NEW' 2>/dev/null | grep -q '^00000000000000000001-ops-email\$'" ||
    failed "no page for gw: $(ls "$NEW")"
f=$NEW/00000000000000000001-ops-email
grep -q "^unreachable: c1,c3 (they depend on it)$" "$f" &&
    pass "the parent's page lists the dependents down or unreachable" ||
    failed "page: $(cat "$f" 2>/dev/null)"
grep -q "c2\|other" "$f" && failed "a server up or not depending is listed" ||
    pass "a dependent that is up, and a server that does not depend, are not"
# c2 was up when gw's page was made: its unreachable event comes after.
ev 3 c2 true
wait_for 10 sh -c "grep -l 'STORM' '$NEW/'* >/dev/null 2>&1" ||
    failed "no digest: $(ls "$NEW")"
digest=$(grep -l 'STORM' "$NEW/"* 2>/dev/null)
[ "$(echo "$digest" | wc -l)" = 1 ] && grep -q " c2: " "$digest" &&
    pass "the child the parent's page did not list goes in the digest" ||
    failed "digest: $digest: $(cat $digest)"
grep -q " c1: " "$digest" && failed "c1, listed in gw's page, is in the digest too" ||
    pass "the child the parent's page listed is not in the digest"
ls "$NEW" | grep -qE '^0000000000000000000[23]-ops-email$' &&
    ! grep -q "STORM" "$NEW/00000000000000000002-ops-email" \
        "$NEW/00000000000000000003-ops-email" 2>/dev/null &&
    failed "an unreachable child was paged alone" ||
    pass "no unreachable child is paged alone"
# c1's event, all of it listed, is final at once and logged as such.
DLOG=$T/state/pager/deliveries.jsonl
listed() {
    [ "$(grep '"seq": *2,' "$DLOG" 2>/dev/null |
        grep -c 'listed in the page of event 1')" = 2 ]
}
wait_for 10 listed &&
    pass "c1's email and webhook are done, listed in the page of event 1" ||
    failed "delivery log: $(cat "$DLOG" 2>/dev/null)"
pager_stop
pager_sanitizers
finish
