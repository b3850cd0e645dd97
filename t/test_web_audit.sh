#!/bin/bash
# t/test_web_audit.sh: what issue 16 asks of tocsin.cgi that t/test_web.sh
# does not show on its own: the CGI under a second real web server
# (busybox httpd), farm uptime figures, /api/server/ID and /api/events as
# the objects tocsinctl and the spool hold, graphs of any start and end,
# a graph's ETag that changes with new data, the CSP header on every
# answer, only GET and HEAD, and requests too long to be worth reading.
set -u
. "${srcdir:-.}/t/servers.sh" || exit 1
. "${srcdir:-.}/t/probed.sh" || exit 1
. "${srcdir:-.}/t/web.sh" || exit 1
servers_trap

start_nginx || exit 1
H=127.0.0.1
N=$NGINX_PORT
# flip: down while $T/flip.rc says 2, up when it says 0.
echo 2 >"$T/flip.rc"
cat >"$T/flip.sh" <<FLIP
#!/bin/sh
echo "flip \$(cat $T/flip.rc)"
exit \$(cat $T/flip.rc)
FLIP
chmod 755 "$T/flip.sh"
cat >"$T/probed.conf" <<CONF
set state-dir $T/state
set interval 1s
set timeout 2s
set retries 1
server www http://$H:$N/health
server flip exec "$T/flip.sh"
farm shop {
    server web1 http://$H:$N/health
    server web2 http://$H:$N/wrong
}
server quiet http://$H:$N/health interval 1h
CONF

probed_start "$T/probed.conf" || exit 1
expect_state www up
expect_state shop/web1 up
expect_state shop/web2 down
expect_state flip down
ctl check quiet >/dev/null || failed "check quiet"
expect_state quiet up
sleep 3     # a few rows in the archives

start_serve "$T/probed.conf" || exit 1
start_lighttpd "$T/probed.conf" || exit 1

# busybox httpd: cgi-bin/ under its home, the config from its environment.
_srv_setport BB_PORT || exit 1
mkdir -p "$T/bb/cgi-bin" || exit 1
cp "$WEBCGI" "$T/bb/cgi-bin/tocsin.cgi" || exit 1
_srv_spawn busybox env TOCSIN_CONF="$T/probed.conf" LSAN_OPTIONS="$WEB_LSAN" \
    ASAN_OPTIONS="$WEB_ASAN" busybox httpd -f -p "$H:$BB_PORT" -h "$T/bb" ||
    exit 1
_srv_wait busybox "t:$BB_PORT" || exit 1
BB_URL=http://$H:$BB_PORT/cgi-bin/tocsin.cgi

# Under busybox httpd: every page, the right servers and states.
b=$BB_URL
expect_code "busybox overview" 200 "$b"
body_has "busybox overview: 5 servers counted" 'id="count-all"[^>]*><b>5</b>'
body_has "busybox overview: 2 down" 'id="count-down"[^>]*><b>2</b>'
body_has "busybox overview: links under the CGI's path" "href=\"/cgi-bin/tocsin.cgi/server/www\""
body_has "busybox overview: web2 down" 'row-down.*/server/shop/web2">web2</a>'
hdr_has "busybox overview: CSP" "^Content-Security-Policy: default-src 'none'"
# busybox answers 404 to /cgi-bin/tocsin.cgi/: the links to the overview
# (the brand, the counts, the filter form) name the CGI with no slash.
home=$(grep -o 'class="brand" href="[^"]*"' "$T/body" | sed 's/.*href="//; s/"$//')
expect_code "busybox: the brand's link ($home) leads to the overview" 200 "http://$H:$BB_PORT$home"
body_has "busybox: the brand's link, the overview" 'id="count-all"'
down=$(grep -o 'id="count-down"[^>]*href="[^"]*"' "$T/body" | sed 's/.*href="//; s/"$//')
expect_code "busybox: the count of down servers links to its filter ($down)" 200 "http://$H:$BB_PORT$down"
body_lacks "busybox: that filter, no up server" '/server/www"'
expect_code "busybox server page" 200 "$b/server/shop/web1"
body_has "busybox server page: up" 'id="state" class="st st-up">up'
expect_code "busybox farm page" 200 "$b/farm/shop"
expect_code "busybox events" 200 "$b/events"
expect_code "busybox graph" 200 "$b/graph/www.png?period=3h"
hdr_has "busybox graph: PNG" '^Content-Type: image/png'
expect_code "busybox badge" 200 "$b/badge/www.svg?show=uptime"
expect_code "busybox api status" 200 "$b/api/status"
ctl -j status >"$T/ctl.json" || failed "tocsinctl -j status"
if "$PY" -c 'import json,sys; a=json.load(open(sys.argv[1])); c=json.load(open(sys.argv[2])); assert [(o["id"],o["state"]) for o in a] == [(o["id"],o["state"]) for o in c]' "$T/body" "$T/ctl.json"; then
    pass "busybox api status: the ids and states of tocsinctl -j status"
else
    failed "busybox api status" "$(head -c 300 "$T/body")"
fi
expect_code "busybox metrics" 200 "$b/metrics"
body_has "busybox metrics: www up" '^tocsin_server_up\{id="www",farm="",kind="http"\} 1$'
expect_code "busybox unknown server" 404 "$b/server/nosuch"
expect_code "busybox control character" 400 "$b/server/a%01b"
expect_code "busybox POST" 405 "$b/server/www" -X POST -d x=1

# Farm uptime: some member up (web1 is) 100 %, all members up (web2 never
# is) 0 %, for every span.
for pair in "$SERVE_URL serve" "$CGI_URL cgi"; do
    set -- $pair
    expect_code "$2 farm page" 200 "$1/farm/shop"
    for s in 1d 7d 30d 365d; do
        body_has "$2 farm uptime $s: some member up 100 %, all 0 %" \
            "<tr><td>$s</td><td class=\"num\">100\\.0+%</td><td class=\"num\">0\\.0+%</td></tr>"
    done
done

# /metrics: uptime over 1 and 30 days (from the summary the overview
# starts writing) and check lateness (from probed's stats), through
# promtool's lint.
for i in $(seq 1 100); do
    [ -s "$T/state/web-summary.txt" ] && break
    sleep 0.1
done
check "the summary is written" test -s "$T/state/web-summary.txt"
PROMTOOL=$("${TOCSIN_SRCDIR:-.}/tools/promtool" 2>"$T/promtool.why") ||
    PROMTOOL=
for pair in "$SERVE_URL serve" "$CGI_URL cgi"; do
    set -- $pair
    expect_code "$2 metrics" 200 "$1/metrics"
    for s in 1d 30d; do
        body_has "$2 metrics: www's uptime over $s" "^tocsin_server_uptime_ratio\{id=\"www\",farm=\"\",kind=\"http\",span=\"$s\"\} 1\$"
        body_has "$2 metrics: web2's uptime over $s" "^tocsin_server_uptime_ratio\{id=\"shop/web2\",farm=\"shop\",kind=\"http\",span=\"$s\"\} 0\$"
        body_has "$2 metrics: www's SLA uptime over $s" "^tocsin_server_sla_uptime_ratio\{id=\"www\",farm=\"\",kind=\"http\",span=\"$s\"\} 1\$"
    done
    body_has "$2 metrics: check lateness" '^tocsin_probed_check_lateness_p99_seconds [0-9.e-]+$'
    body_has "$2 metrics: checks counter" '^tocsin_server_checks_total\{id="www",farm="",kind="http"\} [1-9][0-9]*$'
    body_has "$2 metrics: failures counter" '^tocsin_server_failures_total\{id="shop/web2",farm="shop",kind="http"\} [1-9][0-9]*$'
    if [ -n "$PROMTOOL" ]; then
        if "$PROMTOOL" check metrics <"$T/body" >"$T/promtool.out" 2>&1; then
            pass "$2 metrics pass promtool check metrics"
        else
            failed "$2 metrics: promtool: $(head -n 5 "$T/promtool.out")"
        fi
    else
        echo "# SKIP $2 promtool check metrics: $(cat "$T/promtool.why")"
    fi
done

# /api/server/ID: the object tocsinctl -j status ID prints (live: all but
# the figures that move with each check).
for id in www shop/web2 flip; do
    ctl -j status "$id" >"$T/ctl1.json" || failed "tocsinctl -j status $id"
    for pair in "$SERVE_URL serve" "$CGI_URL cgi"; do
        set -- $pair
        expect_code "$2 api server $id" 200 "$1/api/server/$id"
        if "$PY" - "$T/body" "$T/ctl1.json" <<'PYEOF'
import json, sys
a = json.load(open(sys.argv[1]))
c = json.load(open(sys.argv[2]))
if isinstance(c, list):
    assert len(c) == 1, c
    c = c[0]
volatile = {"since", "last_check", "latency_ms", "message", "checks",
            "failures", "flap_pct", "state_type", "dns_ms", "connect_ms",
            "tls_ms", "firstbyte_ms"}
assert list(a.keys()) == list(c.keys()), (list(a.keys()), list(c.keys()))
strip = lambda o: {k: v for k, v in o.items() if k not in volatile}
assert strip(a) == strip(c), (strip(a), strip(c))
PYEOF
        then
            pass "$2 api server $id: tocsinctl -j status $id's object"
        else
            failed "$2 api server $id differs from tocsinctl -j status $id"
        fi
    done
done

# /api/events: the spool's objects (plus "paged"), and the fields the
# watch stream's event line shares with them. flip comes up while we watch.
"$TOCSINCTL" -c "$T/probed.conf" -j watch >"$T/watch.out" 2>&1 &
WATCH_PID=$!
sleep 0.5
echo 0 >"$T/flip.rc"
expect_state flip up
for i in $(seq 1 50); do
    grep -q '"type":"event".*"id":"flip".*"new":"up"' "$T/watch.out" && break
    sleep 0.1
done
kill "$WATCH_PID" 2>/dev/null
wait "$WATCH_PID" 2>/dev/null
for pair in "$SERVE_URL serve" "$CGI_URL cgi"; do
    set -- $pair
    expect_code "$2 api events" 200 "$1/api/events"
    if "$PY" - "$T/body" "$T/state/spool" "$T/watch.out" <<'PYEOF'
import json, os, sys
a = json.load(open(sys.argv[1]))
spool = {}
for f in os.listdir(sys.argv[2]):
    if f.endswith(".json"):
        o = json.load(open(os.path.join(sys.argv[2], f)))
        spool[o["seq"]] = o
watch = [json.loads(l) for l in open(sys.argv[3]) if '"type":"event"' in l]
assert watch, "no event line from tocsinctl -j watch"
assert len(a) >= 3, a
for o in a:
    # "paged" only when tocsin-pager holds records of the event.
    p = o.pop("paged", [])
    assert isinstance(p, list), p
    assert o == spool[o["seq"]], (o, spool.get(o["seq"]))
    assert list(o.keys()) == list(spool[o["seq"]].keys())
for w in watch:
    o = [e for e in a if e["seq"] == w["seq"]]
    assert o, ("watch event not listed", w)
    for k in w:
        if k not in ("type", "time", "message"):
            assert w[k] == o[0][k], (k, w, o[0])
assert any(w["id"] == "flip" and w["new"] == "up" for w in watch), watch
PYEOF
    then
        pass "$2 api events: the spool's objects, and the watch stream's"
    else
        failed "$2 api events: not the spool's or watch's objects" "$(head -c 400 "$T/body")"
    fi
done

# Graphs of any start and end (absolute, relative, both) and their ETags.
now=$(date +%s)
for pair in "$SERVE_URL serve" "$CGI_URL cgi"; do
    set -- $pair
    expect_code "$2 graph start and end" 200 \
        "$1/graph/www.svg?start=$((now - 7200))&end=$((now - 3600))"
    body_has "$2 graph start and end: an SVG" '<svg'
    e1=$(tr -d '\r' <"$T/hdrs" | sed -n 's/^[Ee][Tt][Aa][Gg]: //p')
    expect_code "$2 graph another span" 200 \
        "$1/graph/www.svg?start=$((now - 86400 * 3))&end=$((now - 86400))"
    e2=$(tr -d '\r' <"$T/hdrs" | sed -n 's/^[Ee][Tt][Aa][Gg]: //p')
    check "$2 graph: another span, another ETag ($e1 $e2)" \
        test -n "$e1" -a -n "$e2" -a "$e1" != "$e2"
    expect_code "$2 graph a year ago" 200 \
        "$1/farmgraph/shop.png?start=$((now - 86400 * 365))&end=$((now - 86400 * 360))"
    expect_code "$2 graph end before start" 400 \
        "$1/graph/www.png?start=$((now - 60))&end=$((now - 120))"
    expect_code "$2 graph start not a number" 400 "$1/graph/www.png?start=yesterday"
done

# A graph is kept until its archive has new data: quiet's ETag stays
# while nothing is checked, and changes once a check writes a row; then
# the old tag no longer gets 304.
for pair in "$SERVE_URL serve" "$CGI_URL cgi"; do
    set -- $pair
    fetch "$1/graph/quiet.png?period=3h"
    cp "$T/body" "$T/quiet1.png"
    e1=$(tr -d '\r' <"$T/hdrs" | sed -n 's/^[Ee][Tt][Aa][Gg]: //p')
    expect_code "$2 quiet graph: 304 while no new data" 304 \
        "$1/graph/quiet.png?period=3h" -H "If-None-Match: $e1"
    # The page's contract: the tag follows the archive. Wait until probed
    # has written a row (the file's mtime moves), then the tag must move.
    m1=$(stat -c %y "$T/state/rrd/quiet.rrd")
    m2=$m1
    for i in $(seq 1 150); do
        # A row a second at most: ask again until one is written.
        [ $((i % 5)) = 1 ] && { ctl check quiet >/dev/null || failed "check quiet"; }
        sleep 0.2
        m2=$(stat -c %y "$T/state/rrd/quiet.rrd")
        [ "$m2" != "$m1" ] && break
    done
    if [ "$m2" = "$m1" ]; then
        skip "$2 quiet graph: a new ETag after a check" \
            "no row written to quiet.rrd in 30 s of checks (its mtime stayed $m1)"
        skip "$2 quiet graph: the old ETag gets the new graph" "as above"
        continue
    fi
    fetch "$1/graph/quiet.png?period=3h"
    e2=$(tr -d '\r' <"$T/hdrs" | sed -n 's/^[Ee][Tt][Aa][Gg]: //p')
    check "$2 quiet graph: a new ETag after a check ($e1 -> $e2)" \
        test -n "$e2" -a "$e2" != "$e1"
    expect_code "$2 quiet graph: the old ETag gets the new graph" 200 \
        "$1/graph/quiet.png?period=3h" -H "If-None-Match: $e1"
done

# The CSP header on every answer, pages, images, JSON, errors and 304.
for pair in "$SERVE_URL serve" "$CGI_URL cgi" "$BB_URL busybox"; do
    set -- $pair
    for p in "" /server/www /farm/shop /events /graph/www.png /graph/www.svg \
        /farmgraph/shop.svg /badge/www.svg /api/status /api/server/www \
        /api/events /api/uptime/www /metrics /style.css /healthz \
        /server/nosuch /nothing /graph/www.png?period=7y /events?before=x; do
        fetch "$1$p"
        hdr_has "$2 $p ($CODE): CSP" "^Content-Security-Policy: default-src 'none';"
        hdr_has "$2 $p ($CODE): nosniff" '^X-Content-Type-Options: nosniff'
    done
    fetch "$1/server/www" -X POST -d x=1
    check "$2 POST: 405 ($CODE)" test "$CODE" = 405
    hdr_has "$2 POST ($CODE): CSP" "^Content-Security-Policy: default-src 'none';"
done
fetch "$SERVE_URL/server/a%01b"
check "serve control character: 400 ($CODE)" test "$CODE" = 400
hdr_has "serve control character: CSP" "^Content-Security-Policy: default-src 'none';"
# A 304 too (quiet's archive stays as it is while nobody checks it).
for pair in "$SERVE_URL serve" "$CGI_URL cgi"; do
    set -- $pair
    fetch "$1/graph/quiet.png?period=1w"
    etag=$(tr -d '\r' <"$T/hdrs" | sed -n 's/^[Ee][Tt][Aa][Gg]: //p')
    expect_code "$2 graph on its ETag" 304 "$1/graph/quiet.png?period=1w" \
        -H "If-None-Match: $etag"
    hdr_has "$2 304: CSP" "^Content-Security-Policy: default-src 'none';"
done

# Only GET and HEAD: every other method 405 with Allow, and no body read.
for m in POST PUT DELETE PATCH OPTIONS; do
    for pair in "$SERVE_URL serve" "$CGI_URL cgi"; do
        set -- $pair
        expect_code "$2 $m" 405 "$1/api/status" -X "$m" -d x=1
        hdr_has "$2 $m: Allow" '^Allow: GET, HEAD'
        body_has "$2 $m: says why" 'only GET and HEAD'
    done
done

# No request makes the page run long or grow: a path or query too long,
# or a query of thousands of parameters, is refused at once (400, or the
# server's own 413/414/431) and the servers keep answering.
long=$(head -c 5000 /dev/zero | tr '\0' a)
huge=$(head -c 60000 /dev/zero | tr '\0' a)
many=$(for i in $(seq 1 3000); do printf 'a%d=1&' "$i"; done)
refused() { # refused WHAT URL: a 4xx in well under the fetch's 20 s
    local t0 t1
    t0=$(date +%s%N)
    fetch "$2"
    t1=$(date +%s%N)
    case $CODE in
    # 404: the web server in front found no file of a name that long.
    400|404|413|414|431) pass "$1: $CODE in $(( (t1 - t0) / 1000000 )) ms" ;;
    *) failed "$1: got $CODE" ;;
    esac
}
for pair in "$SERVE_URL serve" "$CGI_URL cgi" "$BB_URL busybox"; do
    set -- $pair
    refused "$2 a 5,000-byte path" "$1/server/$long"
    refused "$2 a 5,000-byte query" "$1/events?q=$long"
    refused "$2 3,000 parameters" "$1/events?$many"
    refused "$2 a 60,000-byte path" "$1/server/$huge"
    refused "$2 a 60,000-byte query" "$1/graph/www.png?period=$huge"
    expect_code "$2 still answers" 200 "$1/healthz"
done
# As a CGI by hand: 120 kB of QUERY_STRING and of PATH_INFO (the most
# Linux passes in one variable is 128 kB).
mb=$(head -c 120000 /dev/zero | tr '\0' a)
for v in "PATH_INFO=/server/$mb QUERY_STRING=" "PATH_INFO=/ QUERY_STRING=q=$mb"; do
    env REQUEST_METHOD=GET TOCSIN_CONF="$T/probed.conf" $v "$WEBCGI" \
        >"$T/body" 2>"$T/mb.err"
    rc=$?
    check "cgi: 120 kB of ${v%%=*}: exits 0 ($rc)" test "$rc" = 0
    body_has "cgi: 120 kB of ${v%%=*}: 400" '^Status: 400'
    if [ "$(wc -c <"$T/body")" -lt 8192 ]; then
        pass "cgi: 120 kB of ${v%%=*}: a short answer"
    else
        failed "cgi: 120 kB of ${v%%=*}: $(wc -c <"$T/body") bytes"
    fi
done
# A request that never ends its headers is dropped by --serve's timeout,
# and others are answered meanwhile.
"$PY" - "$SERVE_PORT" >"$T/slow.out" 2>&1 <<'PYEOF' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
s.settimeout(120)
t0 = time.time()
try:
    d = s.recv(100)
except Exception as e:
    d = repr(e).encode()
print("closed after %.0f s: %r" % (time.time() - t0, d[:40]))
PYEOF
SLOW_PID=$!
sleep 0.5
expect_code "serve: answers while a request hangs" 200 "$SERVE_URL/healthz"
wait "$SLOW_PID"
if grep -q '^closed after [0-9]* s' "$T/slow.out" &&
    [ "$(sed -n 's/^closed after \([0-9]*\) s.*/\1/p' "$T/slow.out")" -lt 100 ]; then
    pass "serve: an unfinished request is dropped ($(cat "$T/slow.out"))"
else
    failed "serve: an unfinished request: $(cat "$T/slow.out")"
fi

servers_stop busybox
# probed gone: /api/server/ID is byte for byte what tocsinctl -j status ID
# prints from the state file.
probed_stop
for id in www shop/web2 flip quiet; do
    "$TOCSINCTL" -c "$T/probed.conf" -j status "$id" >"$T/ctl-stale.json" 2>/dev/null
    for pair in "$SERVE_URL serve" "$CGI_URL cgi"; do
        set -- $pair
        fetch "$1/api/server/$id"
        # tocsinctl prints an array of the one object.
        { printf '['; tr -d '\n' <"$T/body"; printf ']\n'; } >"$T/body-arr"
        if cmp -s "$T/body-arr" "$T/ctl-stale.json"; then
            pass "$2 stale api server $id is what tocsinctl -j status $id prints"
        else
            failed "$2 stale api server $id differs from tocsinctl -j status $id" \
                "$(head -c 300 "$T/body")" "$(head -c 300 "$T/ctl-stale.json")"
        fi
    done
done

servers_stop serve
servers_stop lighttpd
log_clean tocsin.cgi "$T/serve.log" "$T/busybox.log" "$T/lighttpd/error.log"
finish
