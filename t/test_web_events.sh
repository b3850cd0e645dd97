#!/bin/bash
# t/test_web_events.sh: /events after tocsin-pager deleted the spool
# files (the history tocsin-probed keeps), and what was paged to whom
# (the pager's delivery records). Real probed against nginx, real
# tocsin-pager paging to its Maildir and to a webhook whose port has no
# one listening; then a hand-made history for paging and merging.
set -u
. "${srcdir:-.}/t/servers.sh" || exit 1
. "${srcdir:-.}/t/probed.sh" || exit 1
. "${srcdir:-.}/t/web.sh" || exit 1
servers_trap

PAGER=${TOCSIN_PAGER:-${TOCSIN_BUILD:-.}/pager/tocsin-pager}
[ -z "${ASAN_OPTIONS:-}" ] ||
    export ASAN_OPTIONS="$ASAN_OPTIONS:suppressions=$SERVERS_TDIR/asan-pager.supp"

start_nginx || exit 1
_srv_setport CLOSED_PORT || exit 1     # nothing listens there
cat >"$T/probed.conf" <<CONF
set state-dir $T/state
set interval 1s
set timeout 1s
set retries 1
set from tocsin@example.net
contact ops email ops@example.net
contact hook webhook http://127.0.0.1:$CLOSED_PORT/hook
server alpha http://127.0.0.1:$NGINX_PORT/wrong notify ops
server beta http://127.0.0.1:$NGINX_PORT/wrong notify ops,hook
server gamma http://127.0.0.1:$NGINX_PORT/health
CONF

probed_start "$T/probed.conf" || exit 1
expect_state alpha down
expect_state beta down
"$PAGER" -f -d -c "$T/probed.conf" >>"$T/pager.log" 2>&1 &
PAGER_PID=$!

# alpha's event: paged by email, then deleted by the pager once probed's
# state file covers it (within about a minute).
alpha_gone() {
    ! grep -lq '"id":"alpha"' "$T/state/spool/"*.json 2>/dev/null
}
i=0
while [ $i -lt 90 ] && ! alpha_gone; do
    sleep 1
    i=$((i + 1))
done
if alpha_gone; then
    pass "the pager deleted alpha's spool event"
else
    failed "alpha's event still in the spool after 90 s" "$(tail -5 "$T/pager.log")"
fi
if grep -q '"id":"alpha","time":[0-9]*,"old":"unknown","new":"down"' \
    "$T/state/history.jsonl"; then
    pass "probed's history holds alpha's event"
else
    failed "no alpha event in history.jsonl" "$(cat "$T/state/history.jsonl")"
fi
# beta's webhook cannot be made: its event stays, the records say so.
i=0
while [ $i -lt 30 ] && ! grep -qs '"error":"[^"]' "$T/state/pager/queue/"*-hook-webhook.json; do
    sleep 1
    i=$((i + 1))
done

start_serve "$T/probed.conf" || exit 1
start_lighttpd "$T/probed.conf" || exit 1
for pair in "$CGI_URL CGI" "$SERVE_URL serve"; do
    set -- $pair
    expect_code "$2 events" 200 "$1/events"
    body_has "$2 events: alpha's change, deleted from the spool" '/server/alpha">alpha</a></td><td>unknown &rarr; down'
    body_has "$2 events: paged column" '<th>paged</th>'
    body_has "$2 events: beta paged to ops by email, done" 'class="page" title="ops@example\.net">ops by email: <span class="pg-done">done</span>'
    body_has "$2 events: beta's webhook not made, with why" "class=\"page\" title=\"http://127\\.0\\.0\\.1:$CLOSED_PORT/hook: [^\"]+\">hook by webhook: <span class=\"pg-queued\">queued</span>"
    expect_code "$2 events of alpha" 200 "$1/events?server=alpha"
    body_has "$2 events of alpha: alpha" '/server/alpha">alpha</a>'
    body_lacks "$2 events of alpha: no beta" '/server/beta">beta</a>'
    expect_code "$2 api events" 200 "$1/api/events"
    if "$PY" -c '
import json, sys
a = json.load(open(sys.argv[1]))
ids = [o["id"] for o in a]
assert "alpha" in ids and "beta" in ids, ids
b = [o for o in a if o["id"] == "beta" and o["new"] == "down"][0]
p = {(d["contact"], d["channel"]): d for d in b["paged"]}
assert p[("ops", "email")]["state"] == "done", p
assert p[("ops", "email")]["to"] == "ops@example.net", p
assert p[("hook", "webhook")]["state"] == "queued", p
assert p[("hook", "webhook")]["tries"] >= 1 and p[("hook", "webhook")]["error"], p
s = [o["seq"] for o in a]
assert s == sorted(s, reverse=True) and len(s) == len(set(s)), s
' "$T/body"; then
        pass "$2 api events: history and spool merged, paged to whom"
    else
        failed "$2 api events" "$(cat "$T/body")"
    fi
    expect_code "$2 server page alpha" 200 "$1/server/alpha"
    body_has "$2 server page: a table of recent events" '<table id="recent-events">'
    body_has "$2 server page: alpha's recent event from the history" '/server/alpha">alpha</a></td><td>unknown &rarr; down'
done
kill -TERM "$PAGER_PID" 2>/dev/null
wait "$PAGER_PID"
servers_stop serve
servers_stop lighttpd

# Paging and merging over a made history: 1..60 in the older file,
# 61..120 in the newer, 110..130 in the spool (the overlap shown once),
# one line cut and one of junk skipped.
mkdir -p "$T/made/spool" || exit 1
ev() { # ev SEQ ID
    printf '{"seq":%s,"id":"%s","time":%s,"old":"up","new":"down","message":"m %s","flapping":false,"downtime":false,"acked":false,"unreachable":false}\n' \
        "$1" "$2" "$((1700000000 + $1))" "$1"
}
for i in $(seq 1 60); do ev "$i" "$([ $((i % 3)) = 0 ] && echo beta || echo alpha)"; done >"$T/made/history.1.jsonl"
{
    for i in $(seq 61 120); do ev "$i" "$([ $((i % 3)) = 0 ] && echo beta || echo alpha)"; done
    echo 'junk'
    printf '{"seq":999,"id":"alpha"'     # being written: no newline
} >"$T/made/history.jsonl"
for i in $(seq 110 130); do
    ev "$i" "$([ $((i % 3)) = 0 ] && echo beta || echo alpha)" >"$T/made/spool/$(printf %020d "$i").json"
done
sed "s|^set state-dir .*|set state-dir $T/made|" "$T/probed.conf" >"$T/made.conf"
cgi_get() { # cgi_get PATH QUERY: the CGI by hand; the JSON body in $T/body
    REQUEST_METHOD=GET PATH_INFO=$1 QUERY_STRING=$2 TOCSIN_CONF=$T/made.conf \
        "$WEBCGI" | tr -d '\r' | sed '1,/^$/d' >"$T/body"
}
seqs() { "$PY" -c 'import json,sys; print(" ".join(str(o["seq"]) for o in json.load(open(sys.argv[1]))))' "$T/body"; }
cgi_get /api/events ""
if [ "$(seqs)" = "$(seq -s ' ' 130 -1 81)" ]; then
    pass "made history: the newest 50, spool and history merged once"
else
    failed "made history: first page" "$(seqs)"
fi
cgi_get /api/events "before=81"
if [ "$(seqs)" = "$(seq -s ' ' 80 -1 31)" ]; then
    pass "made history: the second page crosses into the older file"
else
    failed "made history: second page" "$(seqs)"
fi
cgi_get /api/events "server=beta&before=40"
if [ "$(seqs)" = "39 36 33 30 27 24 21 18 15 12 9 6 3" ]; then
    pass "made history: filtered by server, to the oldest"
else
    failed "made history: filter" "$(seqs)"
fi
# The end of flapping with no change (old and new alike) is tagged.
printf '{"seq":131,"id":"alpha","time":1700000131,"old":"down","new":"down","message":"settled","flapping":false,"downtime":false,"acked":false,"unreachable":false}\n' \
    >"$T/made/spool/$(printf %020d 131).json"
cgi_get /events ""
if grep -q 'down &rarr; down <span class="tag">flapping stopped</span>' \
    "$T/body"; then
    pass "events page: the end of flapping is tagged"
else
    failed "events page: no tag" "$(grep -m1 'down &rarr; down' "$T/body")"
fi
finish
