#!/bin/sh
# t/test_pager_storm.sh: a storm. Past `set storm 2 in 12s` (a window long
# enough for a slow pager to start inside it) changes the
# first two are paged alone at once; the rest of the window, and an event
# that carries `unreachable` (never paged alone), come as one digest page
# per contact and channel when the window ends, once, even across a kill
# -9 of the pager inside the window. No probed: the spool and state.json
# are made by hand; pages go to the Maildir.
set -u
. "${srcdir:-.}/t/pager.sh" || exit 1

# count CHANNEL [PATTERN]: pages of that channel (holding PATTERN).
count() {
    ls "$NEW" 2>/dev/null | grep -- "-ops-$1\$" | while read -r f; do
        grep -l -- "${2:-}" "$NEW/$f"
    done | wc -l
}
has() { [ "$(count "$1" "${3:-}")" -ge "$2" ]; }
drained() {
    [ -z "$(ls "$T/state/pager/queue")" ] &&
        [ -z "$(ls "$T/state/spool")" ]
}

{
    pager_conf_head "2 in 12s"
    echo "contact ops email ops@example.net sms 5551234@sms.example.net"
    storm_servers 6 ops
} >"$T/tocsin.conf"
pager_spooled 100 || exit 1
now=$(date +%s)
for i in 1 2 3 4 5 6; do
    u=false
    [ $i = 6 ] && u=true
    printf '{"seq":%s,"id":"s%s","time":%s,"old":"up","new":"down","message":"by hand","flapping":false,"downtime":false,"acked":false,"unreachable":%s}\n' \
        "$i" "$i" "$now" "$u" >"$T/state/spool/$(printf %020d "$i").json"
done
pager_start || exit 1

wait_for 3 has email 2 && pass "the first two changes are paged at once" ||
    failed "pages at once: $(ls "$NEW" 2>/dev/null)"
[ "$(count email)" = 2 ] && [ "$(count email 'DOWN s1:')" = 1 ] &&
    [ "$(count email 'DOWN s2:')" = 1 ] &&
    pass "only those two before the window ends" ||
    failed "before the window ends: $(ls "$NEW")"
grep -q "event 6 s6 up -> down: listed in the storm digest at the window's end (unreachable" \
    "$T/pager.log" && pass "the unreachable event is held for the digest" ||
    failed "no word of event 6 held"
# A crash inside the window: the held records are on disk.
kill -KILL "$PAGER_PID"
wait "$PAGER_PID" 2>/dev/null
pager_start || exit 1

wait_for 25 has email 3 && pass "the digest comes when the window ends" ||
    failed "no digest: $(ls "$NEW")"
wait_for 5 has sms 3 || :
sleep 1
[ "$(count email)" = 3 ] && [ "$(count sms)" = 3 ] &&
    pass "one digest per channel, and no single page for the rest" ||
    failed "pages: $(count email) email, $(count sms) SMS: $(ls "$NEW")"
d=$(grep -l "STORM: 4 more state changes" "$NEW/"*-ops-email 2>/dev/null)
[ -n "$d" ] && grep -q "DOWN s3: by hand$" "$d" && grep -q "DOWN s4: by hand$" "$d" &&
    grep -q "DOWN s5: by hand$" "$d" &&
    grep -q "DOWN s6: by hand (unreachable: a server it depends on is down)$" "$d" &&
    grep -q "^Message-ID: <6.ops.email@tocsin-pager.example.net>$" "$d" &&
    pass "the digest lists the four others, the unreachable one said so" ||
    failed "digest: $(cat "$d" 2>/dev/null)"
[ "$(count email 'Subject: \[tocsin\] DOWN s6')" = 0 ] &&
    pass "the unreachable event is not paged alone" ||
    failed "s6 paged alone"
s=$(grep -l "STORM 4 changes" "$NEW/"*-ops-sms 2>/dev/null)
[ -n "$s" ] && [ "$(sed '1,/^$/d' "$s" | wc -c)" -le 161 ] &&
    pass "the SMS digest is one segment" || failed "SMS digest: $(cat "$s" 2>/dev/null)"
wait_for 15 drained && pass "spool and queue emptied" ||
    failed "left: $(ls "$T/state/spool" "$T/state/pager/queue")"
"$PAGER" -l -c "$T/tocsin.conf" | grep -q held &&
    failed "held deliveries listed after the digest" || :
pager_stop
pager_sanitizers
finish
