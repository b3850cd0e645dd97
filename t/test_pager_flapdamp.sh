#!/bin/sh
# t/test_pager_flapdamp.sh: flapping is damped. While a server flaps, the
# change that starts the flapping is paged (FLAPPING, the state now) and
# so is its end (FLAPPING STOPPED, the state it settled in); the changes
# in between are held: recorded, done and never sent, "not paged:
# flapping", which `tocsinctl pages` lists. Every change of a flapping
# server was paged as FLAPPING before (24 pages in 45 s for a listener
# going up and down every 2 s).
# First by hand (a spool made here, a real HTTP receiver, the pages over
# the pager's control socket): a flapping that starts down and settles up
# reaches night (min-state down), who heard the down, with the end too.
# Then a real tocsin-probed checks a real listener (t/servers/flap.py)
# that opens and closes every 2 s for 30 s, then stays closed: one
# FLAPPING page, the held changes sent to no one, the end paged as
# settled down to both contacts (night must learn it is down), and the
# recovery once it opens again.
set -u
. "${srcdir:-.}/t/pager.sh" || exit 1

# summaries CONTACT SERVER: the summaries CONTACT's webhook got of
# SERVER, answered 200, in order, one a line.
summaries() {
    "$PY" - "$LOG" "$1" "$2" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["status"] == 200 and r["path"] == "/" + sys.argv[2] and \
            r["body"]["server"] == sys.argv[3]:
        print(r["body"]["summary"])
PY
}
count() { summaries "$1" "$2" | grep -c "$3"; }

# nginx (unused) and the HTTP receiver; the config of the part with probed
# begun.
pager_probed_setup 0 "$T/probed.conf" || exit 1

# --- by hand --------------------------------------------------------------
pager_spooled 0 || exit 1
{
    pager_conf_head
    echo "contact ops webhook http://127.0.0.1:$HOOK_PORT/ops"
    echo "contact night webhook http://127.0.0.1:$HOOK_PORT/night min-state down"
    echo "server web2 http://127.0.0.1:1/ notify ops,night"
} >"$T/tocsin.conf"
# ev SEQ OLD NEW FLAPPING: a spool event of web2, renamed into place whole.
ev() {
    printf '{"seq":%s,"id":"web2","time":%s,"old":"%s","new":"%s","message":"m%s","flapping":%s,"downtime":false,"acked":false,"unreachable":false}\n' \
        "$1" "$(date +%s)" "$2" "$3" "$1" "$4" >"$T/state/spool/.tmp" &&
        mv "$T/state/spool/.tmp" "$T/state/spool/$(printf %020d "$1").json"
}
ev 1 up down true
ev 2 down up true
ev 3 up down true
ev 4 down up true
ev 5 up up false
pager_start || exit 1
# done_pages: the deliveries `pages` lists as done (all ten once final).
done_pages() { [ "$(pager_ctl -j pages | grep -o '"state":"done"' | wc -l)" = 10 ]; }
wait_for 20 done_pages && pass "every delivery of the five events is final" ||
    failed "pages: $(pager_ctl pages)"
"$PY" - "$(pager_ctl -j pages)" <<'PY' && pass "pages lists the changes held while it flapped: done, 'not paged: flapping'" ||
import json, sys
pages = json.loads(sys.argv[1])["pages"]
held = sorted((p["event"], p["contact"]) for p in pages
              if p["state"] == "done" and p["error"] == "not paged: flapping")
want = sorted((e, c) for e in (2, 3, 4) for c in ("ops", "night"))
print(held)
sys.exit(0 if held == want else 1)
PY
    failed "pages: $(pager_ctl pages)"
[ "$(summaries ops web2)" = "$(printf '%s\n%s' 'FLAPPING web2 (now DOWN): m1' 'FLAPPING STOPPED web2, settled UP')" ] &&
    pass "ops gets the flapping's start and its end, nothing between" ||
    failed "ops got: $(summaries ops web2)"
[ "$(summaries night web2)" = "$(printf '%s\n%s' 'FLAPPING web2 (now DOWN): m1' 'FLAPPING STOPPED web2, settled UP')" ] &&
    pass "night (min-state down) heard the down, and gets the end settled up" ||
    failed "night got: $(summaries night web2)"
grep -q "event 3 web2 up -> down: not paged, flapping" "$T/pager.log" &&
    pass "the pager logs a held change: not paged, flapping" ||
    failed "log: $(grep 'event 3 ' "$T/pager.log")"
pager_stop

# --- a real probed, a listener going up and down every 2 s ----------------
FP=$(servers_port) || exit 1
rm -rf "$T/state"
cat >>"$T/probed.conf" <<CONF
set archives off
contact ops webhook http://$H:$HOOK_PORT/ops
contact night webhook http://$H:$HOOK_PORT/night min-state down
server flap tcp://$H:$FP interval 1s retries 1 rise 1 notify ops,night
CONF
probed_start "$T/probed.conf" || exit 1
pager_start "$T/probed.conf" || exit 1
_srv_spawn flap "$PY" "$SERVERS_TDIR/servers/flap.py" "$FP" 2 30 "$T/open" ||
    exit 1
settled() { [ "$(count ops flap 'FLAPPING STOPPED flap, settled DOWN')" -ge 1 ]; }
wait_for 120 settled && pass "the end of flapping is paged: settled DOWN" ||
    failed "no end of flapping paged: $(summaries ops flap | tail -3)"
held=$(sed -n 's/.*event \([0-9]*\) flap [a-z]* -> [a-z]*: not paged, flapping.*/\1/p' \
    "$T/pager.log")
[ "$(echo "$held" | grep -c .)" -ge 3 ] &&
    pass "changes while it flapped are held ($(echo $held))" ||
    failed "held: '$held'; probed: $(grep ' flap: ' "$T/probed.log" | tail -5)"
[ "$(count ops flap '^FLAPPING flap (now ')" = 1 ] &&
    pass "one FLAPPING page, at the start" ||
    failed "FLAPPING pages: $(summaries ops flap)"
"$PY" - "$LOG" "$T/state/pager" $held <<'PY' && pass "the held changes went to no one, each recorded 'not paged: flapping'" ||
import glob, json, sys
log, pager, held = sys.argv[1], sys.argv[2], set(int(s) for s in sys.argv[3:])
rows = [json.loads(l) for l in open(log)]
sent = set(r["body"]["event"] for r in rows
           if r["path"] in ("/ops", "/night") and r["body"]["server"] == "flap")
recs = [json.load(open(f)) for f in glob.glob(pager + "/queue/*.json")]
try:
    recs += [json.loads(l) for l in open(pager + "/deliveries.jsonl")]
except FileNotFoundError:
    pass
said = set((r["seq"], r["contact"]) for r in recs
           if r.get("error") == "not paged: flapping")
want = set((s, c) for s in held for c in ("ops", "night"))
print("sent", sorted(sent & held), "missing", sorted(want - said))
sys.exit(0 if not sent & held and want <= said else 1)
PY
    failed "a held change was sent, or not recorded"
[ "$(count ops flap 'FLAPPING STOPPED flap, settled DOWN')" = 1 ] &&
    [ "$(count night flap 'FLAPPING STOPPED flap, settled DOWN')" = 1 ] &&
    pass "ops and night (min-state down) learn it settled down, once each" ||
    failed "ops: $(summaries ops flap | tail -2); night: $(summaries night flap | tail -2)"
: >"$T/open"
recovered() {
    [ "$(count ops flap '^RECOVERED flap is up')" -ge 1 ] &&
        [ "$(count night flap '^RECOVERED flap is up')" -ge 1 ]
}
wait_for 20 recovered && pass "its recovery is paged where the down went" ||
    failed "ops: $(summaries ops flap | tail -2); night: $(summaries night flap | tail -2)"
servers_stop flap
pager_stop
probed_stop
pager_sanitizers
finish
