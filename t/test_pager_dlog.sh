#!/bin/sh
# t/test_pager_dlog.sh: tocsin-pager's delivery log (tocsin-pager(8),
# FILES: pager/deliveries.jsonl): each final outcome is appended before
# the record goes, so tocsin.cgi's /events still says who was paged for
# an event after the pager deleted its spool file and its records. No
# probed: the spool, the state file and probed's history are made by
# hand; email goes to the Maildir.
set -u
. "${srcdir:-.}/t/pager.sh" || exit 1
. "${srcdir:-.}/t/web.sh" || exit 1

# event SEQ OLD NEW: a spool event made by hand, and its history line as
# probed writes it.
event() {
    printf '{"seq":%s,"id":"web1","time":%s,"old":"%s","new":"%s","message":"by hand","flapping":false,"downtime":false,"acked":false,"unreachable":false}\n' \
        "$1" "$((1700000000 + $1))" "$2" "$3" >"$T/state/.tmp.ev" &&
        cp "$T/state/.tmp.ev" "$T/state/spool/.tmp.$1" &&
        mv "$T/state/spool/.tmp.$1" "$T/state/spool/$(printf %020d "$1").json" &&
        cat "$T/state/.tmp.ev" >>"$T/state/history.jsonl"
}
in_spool() { [ -f "$T/state/spool/$(printf %020d "$1").json" ]; }
no_records() { [ -z "$(ls "$T/state/pager/queue/" 2>/dev/null)" ]; }
all_gone() { ! in_spool 1 && ! in_spool 2 && no_records; }
log_lines() { grep -c . "$T/state/pager/deliveries.jsonl" 2>/dev/null || echo 0; }

cat >"$T/tocsin.conf" <<CONF
set state-dir $T/state
set control $T/none.sock
set from tocsin@example.net
contact ops email ops@example.net
contact pal email pal@example.net
server web1 http://127.0.0.1:1/ notify ops,pal
CONF
pager_spooled 100 || exit 1
event 1 up down || exit 1
event 2 down up || exit 1

pager_start || exit 1
if wait_for 30 all_gone; then
    pass "the pager paged both events and deleted them and their records"
else
    failed "spool or records left after 30 s" \
        "$(ls "$T/state/spool" "$T/state/pager/queue"; tail -5 "$T/pager.log")"
fi
if [ "$(log_lines)" = 4 ]; then
    pass "pager/deliveries.jsonl: one line each (event, contact, channel)"
else
    failed "pager/deliveries.jsonl: $(log_lines) lines, not 4" \
        "$(cat "$T/state/pager/deliveries.jsonl" 2>&1)"
fi
if "$PY" -c '
import json, sys
ls = [json.loads(l) for l in open(sys.argv[1])]
got = sorted((o["seq"], o["contact"], o["channel"], o["to"], o["result"],
              o["tries"], o["server"]) for o in ls)
want = sorted((s, c, "email", c + "@example.net", "done", 0, "web1")
              for s in (1, 2) for c in ("ops", "pal"))
assert got == want, got
assert all(isinstance(o["time"], int) and o["time"] > 1700000000 for o in ls)
' "$T/state/pager/deliveries.jsonl"; then
    pass "the lines say seq, contact, channel, address, result, tries, time"
else
    failed "the lines" "$(cat "$T/state/pager/deliveries.jsonl" 2>&1)"
fi
pager_stop
pager_sanitizers

# The page reads them: both events, paged to whom, though nothing of the
# pager's records is left.
cgi_get() { # cgi_get PATH QUERY: the CGI by hand; the body in $T/body
    REQUEST_METHOD=GET PATH_INFO=$1 QUERY_STRING=$2 TOCSIN_CONF=$T/tocsin.conf \
        "$WEBCGI" | tr -d '\r' | sed '1,/^$/d' >"$T/body"
}
cgi_get /api/events ""
if "$PY" -c '
import json, sys
a = json.load(open(sys.argv[1]))
assert sorted(o["seq"] for o in a) == [1, 2], a
for o in a:
    p = {(d["contact"], d["channel"]): d for d in o["paged"]}
    assert set(p) == {("ops", "email"), ("pal", "email")}, o
    assert all(d["state"] == "done" for d in p.values()), o
    assert p[("ops", "email")]["to"] == "ops@example.net", o
' "$T/body"; then
    pass "/api/events: deleted events still say who was paged"
else
    failed "/api/events after the pager deleted everything" "$(cat "$T/body")"
fi
cgi_get /events ""
if grep -q 'class="page" title="pal@example\.net">pal by email: <span class="pg-done">done</span>' "$T/body"; then
    pass "/events: the paged column from the delivery log"
else
    failed "/events: no paged column" "$(grep -i paged "$T/body" | head -5)"
fi
# A line logged twice (a crash between the log and the record's removal)
# is shown once; junk and a cut line are skipped.
cp "$T/state/pager/deliveries.jsonl" "$T/state/pager/deliveries.1.jsonl"
{ echo junk; printf '{"seq":1,"contact":"x"'; } >>"$T/state/pager/deliveries.jsonl"
cgi_get /api/events ""
if "$PY" -c '
import json, sys
a = json.load(open(sys.argv[1]))
assert all(len(o["paged"]) == 2 for o in a), a
' "$T/body"; then
    pass "/api/events: an outcome in both files shown once, junk skipped"
else
    failed "/api/events with the log doubled" "$(cat "$T/body")"
fi
finish
