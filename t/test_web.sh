#!/bin/bash
# t/test_web.sh: tocsin.cgi as a CGI under lighttpd and as --serve, against
# a running tocsin-probed watching a real nginx and an exec plugin whose
# message carries HTML, script and quotes. Every page, JSON against
# tocsinctl, /metrics through promtool, bad paths, escaping, methods,
# headers; then probed stopped: the pages go on from the state file.
set -u
. "${srcdir:-.}/t/servers.sh" || exit 1
. "${srcdir:-.}/t/probed.sh" || exit 1
. "${srcdir:-.}/t/web.sh" || exit 1
servers_trap

start_nginx || exit 1
H=127.0.0.1
N=$NGINX_PORT
cat >"$T/evil.sh" <<'EVIL'
#!/bin/sh
echo "<script>alert(\"x\")</script> & 'q' <b>bold</b>"
exit 2
EVIL
chmod 755 "$T/evil.sh"

cat >"$T/probed.conf" <<CONF
set state-dir $T/state
set interval 1s
set timeout 2s
set retries 1
server www http://$H:$N/health
server evil exec "$T/evil.sh"
farm shop {
    server web1 https://$H:$NGINX_TLS_PORT/health insecure
    server web2 http://$H:$N/wrong
}
server quiet http://$H:$N/health interval 1h
CONF

probed_start "$T/probed.conf" || exit 1
expect_state www up
expect_state shop/web1 up
expect_state shop/web2 down
expect_state evil down
ctl check quiet >/dev/null || failed "check quiet"
expect_state quiet up
ctl ack shop/web2 "on it <b>now</b>" >/dev/null || failed "ack shop/web2"
ctl downtime www 1h "maintenance" >/dev/null || failed "downtime www"
sleep 3     # a few rows in the archives

start_serve "$T/probed.conf" || exit 1
start_lighttpd "$T/probed.conf" || exit 1

EVIL_ESC="&lt;script&gt;alert\(&quot;x&quot;\)&lt;/script&gt; &amp; &#39;q&#39; &lt;b&gt;bold&lt;/b&gt;"
PROMTOOL=$("${TOCSIN_SRCDIR:-.}/tools/promtool" 2>"$T/promtool.why") ||
    PROMTOOL=
ctl -j status >"$T/ctl.json" || failed "tocsinctl -j status"

# pages BASE MODE: everything, on one base URL.
pages() {
    local b=$1 m=$2 id

    expect_code "$m overview" 200 "$b/"
    body_has "$m overview: 5 servers counted" 'id="count-all"[^>]*><b>5</b>'
    body_has "$m overview: 2 down" 'id="count-down"[^>]*><b>2</b>'
    body_has "$m overview: www is up" 'class="row-up".*href="[^"]*/server/www"'
    body_has "$m overview: web2 in farm shop" '<h2>farm <a href="[^"]*/farm/shop">shop</a></h2>'
    body_has "$m overview: web2 down and acked" 'row-down.*/server/shop/web2">web2</a>.*acked'
    body_has "$m overview: www in downtime" '/server/www">www</a>.*downtime until'
    body_has "$m overview: meta refresh" '<meta http-equiv="refresh"'
    body_has "$m overview: viewport" 'name="viewport"'
    body_lacks "$m overview: no JavaScript" '<script'
    body_has "$m overview: message escaped" "$EVIL_ESC"
    body_lacks "$m overview: no stale banner" 'id="stale"'
    # Problems first: the first row is a down one, the farm with one first.
    if grep -o 'class="row-[a-z]*"' "$T/body" | head -n 1 |
        grep -q row-down; then
        pass "$m overview: the first row is down"
    else
        failed "$m overview: the first row is not down"
    fi
    hdr_has "$m overview: CSP" "^Content-Security-Policy: default-src 'none'"
    hdr_has "$m overview: HTML" '^Content-Type: text/html; charset=utf-8'
    hdr_has "$m overview: not cached" '^Cache-Control: no-store'

    expect_code "$m filter down" 200 "$b/?state=down"
    body_has "$m filter down: web2" '/server/shop/web2"'
    body_lacks "$m filter down: no www" '/server/www"'
    expect_code "$m filter name" 200 "$b/?q=WEB"
    body_has "$m filter name: web1" '/server/shop/web1"'
    body_lacks "$m filter name: no evil" '/server/evil"'
    expect_code "$m filter problems" 200 "$b/?state=problems"
    body_lacks "$m filter problems: no web1" '/server/shop/web1"'
    expect_code "$m bad state filter" 400 "$b/?state=sideways"
    body_has "$m bad state filter says why" 'state is problems, up'
    expect_code "$m control character in a query" 400 "$b/?q=a%01"

    expect_code "$m server page" 200 "$b/server/shop/web1"
    body_has "$m server page: state up" 'id="state" class="st st-up">up'
    body_has "$m server page: 1d graph" '/graph/shop/web1.png\?period=1d'
    for p in 3h 1w 1m 1y; do
        body_has "$m server page: $p graph" "/graph/shop/web1.png\\?period=$p"
    done
    body_has "$m server page: uptime table" 'id="uptime".*<td>1d</td>.*<td>7d</td>.*<td>30d</td>.*<td>365d</td>'
    body_has "$m server page: uptime figure" '<td class="num">[0-9.]+%</td>'
    for p in connect tls firstbyte latency; do
        body_has "$m server page: latency part $p" "id=\"part-$p\">[0-9.]+ ms<"
    done
    body_has "$m server page: no events of web1" 'id="recent-events">No events'
    body_lacks "$m server page: no other server's events" '/server/shop/web2"'
    expect_code "$m server page evil" 200 "$b/server/evil"
    body_has "$m server page: message escaped" "$EVIL_ESC"
    body_lacks "$m server page: no raw script" '<script'
    expect_code "$m server page web2" 200 "$b/server/shop/web2"
    body_has "$m server page: ack comment escaped" 'on it &lt;b&gt;now&lt;/b&gt;'
    body_has "$m server page: recent events" '<table id="recent-events">'
    body_has "$m server page: web2 went down" '/server/shop/web2">shop/web2</a></td><td>unknown &rarr; down'
    body_lacks "$m server page: no other server's events" '/server/evil"'
    body_has "$m server page: no tls part over http" 'id="part-tls">-<'

    expect_code "$m farm page" 200 "$b/farm/shop"
    body_has "$m farm page: both members" '/server/shop/web1">web1</a>.*' 
    body_has "$m farm page: web2 down" 'row-down.*/server/shop/web2">web2</a>'
    body_lacks "$m farm page: no other server" '/server/www"'
    body_has "$m farm page: farm graph" '/farmgraph/shop.png\?period=1d'
    body_has "$m farm page: farm uptime" 'some member up.*all members up'
    expect_code "$m unknown farm" 404 "$b/farm/nosuch"
    expect_code "$m farm graph" 200 "$b/farmgraph/shop.png?period=3h"
    hdr_has "$m farm graph: type" '^Content-Type: image/png'
    expect_code "$m farm graph svg" 200 "$b/farmgraph/shop.svg?period=1d&size=small"
    expect_code "$m farm graph unknown" 404 "$b/farmgraph/nosuch.png"

    expect_code "$m events" 200 "$b/events"
    body_has "$m events: web2 went down" '/server/shop/web2">shop/web2</a></td><td>unknown &rarr; down'
    body_has "$m events: evil's message escaped" "$EVIL_ESC"
    body_lacks "$m events: no raw script" '<script'
    expect_code "$m events of web2" 200 "$b/events?server=shop/web2"
    body_lacks "$m events of web2: not evil" '/server/evil"'
    expect_code "$m events bad before" 400 "$b/events?before=x1"
    expect_code "$m events unknown server" 404 "$b/events?server=nosuch"
    expect_code "$m api events" 200 "$b/api/events"
    if "$PY" -c 'import json,sys; a=json.load(open(sys.argv[1])); ids={o["id"] for o in a}; assert {"shop/web2","evil"} <= ids, ids; s=[o["seq"] for o in a]; assert s == sorted(s, reverse=True)' "$T/body"; then
        pass "$m api events: web2 and evil, newest first"
    else
        failed "$m api events: $(head -c 300 "$T/body")"
    fi

    expect_code "$m graph png" 200 "$b/graph/shop/web1.png?period=1d"
    hdr_has "$m graph png: type" '^Content-Type: image/png'
    hdr_has "$m graph png: cache" '^Cache-Control: public, max-age='
    hdr_has "$m graph png: etag" '^ETag: "'
    if head -c 8 "$T/body" | od -An -c | grep -q 'P   N   G'; then
        pass "$m graph png: a PNG"
    else
        failed "$m graph png: not a PNG"
    fi
    # quiet is checked once an hour: its archive, and so its ETag, stay.
    expect_code "$m graph quiet" 200 "$b/graph/quiet.png?period=1d"
    etag=$(tr -d '\r' <"$T/hdrs" | sed -n 's/^[Ee][Tt][Aa][Gg]: //p')
    expect_code "$m graph 304 on its etag" 304 \
        "$b/graph/quiet.png?period=1d" -H "If-None-Match: $etag"
    expect_code "$m graph 200 on another etag" 200 \
        "$b/graph/quiet.png?period=1d" -H 'If-None-Match: "other"'
    expect_code "$m graph svg" 200 "$b/graph/shop/web1.svg?period=3h"
    body_has "$m graph svg: an SVG" '<svg'
    expect_code "$m graph start/end" 200 \
        "$b/graph/www.png?start=$(( $(date +%s) - 600 ))"
    expect_code "$m graph bad period" 400 "$b/graph/www.png?period=7y"
    expect_code "$m graph bad span" 400 "$b/graph/www.png?start=10&end=5"
    expect_code "$m graph unknown id" 404 "$b/graph/nosuch.png"
    expect_code "$m graph no format" 404 "$b/graph/www.gif"

    expect_code "$m api status" 200 "$b/api/status"
    hdr_has "$m api status: JSON" '^Content-Type: application/json'
    if "$PY" - "$T/body" "$T/ctl.json" <<'PYEOF'
import json, sys
a = json.load(open(sys.argv[1]))
c = json.load(open(sys.argv[2]))
volatile = {"since", "last_check", "latency_ms", "message", "checks",
            "failures", "flap_pct", "state_type", "dns_ms", "connect_ms",
            "tls_ms", "firstbyte_ms"}
def strip(l):
    return [{k: v for k, v in o.items() if k not in volatile} for o in l]
assert [o["id"] for o in a] == [o["id"] for o in c], "ids differ"
assert [list(o.keys()) for o in a] == [list(o.keys()) for o in c], "keys differ"
assert strip(a) == strip(c), "values differ"
PYEOF
    then
        pass "$m api status matches tocsinctl -j status"
    else
        failed "$m api status differs from tocsinctl -j status"
    fi
    expect_code "$m api server" 200 "$b/api/server/shop/web2"
    if "$PY" -c 'import json,sys; o=json.load(open(sys.argv[1])); assert o["id"]=="shop/web2" and o["state"]=="down" and o["acked"] is True' "$T/body"; then
        pass "$m api server: shop/web2 down, acked"
    else
        failed "$m api server: $(head -c 300 "$T/body")"
    fi
    expect_code "$m api server web1" 200 "$b/api/server/shop/web1"
    if "$PY" -c 'import json,sys,time; o=json.load(open(sys.argv[1])); assert all(isinstance(o[k], float) and 0 <= o[k] <= o["latency_ms"] for k in ("connect_ms","tls_ms","firstbyte_ms")), o; assert o["cert_not_after"] > time.time() + 86400, o' "$T/body"; then
        pass "$m api server: probed gives web1's latency parts and certificate end"
    else
        failed "$m api server: parts: $(head -c 400 "$T/body")"
    fi
    expect_code "$m api unknown server" 404 "$b/api/server/shop/nosuch"

    expect_code "$m metrics" 200 "$b/metrics"
    hdr_has "$m metrics: text format 0.0.4" '^Content-Type: text/plain; version=0.0.4'
    body_has "$m metrics: www up" '^tocsin_server_up\{id="www",farm="",kind="http"\} 1$'
    body_has "$m metrics: web2 down, with its farm and kind" '^tocsin_server_state\{id="shop/web2",farm="shop",kind="http",state="down"\} 1$'
    body_has "$m metrics: www's state, no farm" '^tocsin_server_state\{id="www",farm="",kind="http",state="up"\} 1$'
    body_has "$m metrics: evil's state, not up" '^tocsin_server_state\{id="evil",farm="",kind="exec",state="up"\} 0$'
    body_has "$m metrics: a counter" '^tocsin_server_checks_total\{id="evil"'
    body_has "$m metrics: tls part" '^tocsin_server_tls_seconds\{id="shop/web1",farm="shop",kind="https?"\} [0-9.e-]+$'
    body_has "$m metrics: first byte part" '^tocsin_server_first_byte_seconds\{id="www",farm="",kind="http"\} [0-9.e-]+$'
    body_has "$m metrics: certificate time left" '^tocsin_server_certificate_expires_in_seconds\{id="shop/web1",farm="shop",kind="https?"\} [0-9][0-9.e+]*$'
    body_lacks "$m metrics: no certificate over http" '^tocsin_server_certificate_expires_in_seconds\{id="www"'
    if [ -n "$PROMTOOL" ]; then
        if "$PROMTOOL" check metrics <"$T/body" >"$T/promtool.out" 2>&1; then
            pass "$m metrics pass promtool check metrics"
        else
            failed "$m metrics: promtool: $(head -n 5 "$T/promtool.out")"
        fi
    else
        echo "# SKIP $m promtool check metrics: $(cat "$T/promtool.why")"
    fi

    expect_code "$m badge" 200 "$b/badge/shop/web1.svg"
    body_has "$m badge: state" '>up</text>'
    expect_code "$m badge bad show" 400 "$b/badge/www.svg?show=evil"
    expect_code "$m stylesheet" 200 "$b/style.css"
    body_has "$m stylesheet: dark" 'prefers-color-scheme:dark'

    expect_code "$m unknown server" 404 "$b/server/nosuch"
    body_has "$m unknown server says which" "No server &#39;nosuch&#39; in the config"
    expect_code "$m escaped unknown id" 404 "$b/server/%3Cscript%3E"
    body_lacks "$m escaped unknown id: no raw" '<script>'
    expect_code "$m traversal" 404 "$b/server/../../etc/passwd"
    expect_code "$m traversal graph" 404 "$b/graph/..%2F..%2Fetc%2Fpasswd.png"
    expect_code "$m unknown page" 404 "$b/nothing/here"
    body_has "$m unknown page says so" 'There is no page at this address'
    expect_code "$m control character" 400 "$b/server/a%01b"
    expect_code "$m POST" 405 "$b/" -X POST -d x=1
    hdr_has "$m POST: Allow" '^Allow: GET, HEAD'
    expect_code "$m DELETE" 405 "$b/server/www" -X DELETE
    # HEAD: the status and headers of GET, no body.
    if "$PY" - "$b/server/www" <<'PYEOF'
import http.client, sys, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1])
c = http.client.HTTPConnection(u.hostname, u.port, timeout=20)
c.request("HEAD", u.path)
r = c.getresponse()
assert r.status == 200, r.status
assert r.getheader("Content-Type").startswith("text/html"), "type"
assert r.read() == b"", "a body"
PYEOF
    then
        pass "$m HEAD: 200, no body"
    else
        failed "$m HEAD"
    fi
}

pages "$SERVE_URL" serve
pages "$CGI_URL" cgi

# Uptime and sparklines on the overview come from a summary file that a
# request starts writing (detached) when it is missing or a minute old.
for i in $(seq 1 100); do
    [ -s "$T/state/web-summary.txt" ] && break
    sleep 0.1
done
if [ -s "$T/state/web-summary.txt" ]; then
    pass "summary: written after the first overview"
else
    failed "summary: no $T/state/web-summary.txt"
fi
# quiet's archive made by hand (probed checks it once an hour): the last
# three hours at a minute a row, up for the first half, latency rising.
now=$(date +%s)
t0=$(( now - 3 * 3600 - now % 60 ))
rm -f "$T/state/rrd/quiet.rrd"
rrdtool create "$T/state/rrd/quiet.rrd" --start $(( t0 - 60 )) --step 60 \
    DS:total:GAUGE:120:0:U DS:dns:GAUGE:120:0:U DS:connect:GAUGE:120:0:U \
    DS:tls:GAUGE:120:0:U DS:firstbyte:GAUGE:120:0:U DS:up:GAUGE:120:0:1 \
    RRA:AVERAGE:0.5:1:2880 RRA:AVERAGE:0.5:60:800 ||
    failed "rrdtool create quiet.rrd"
upd=()
for i in $(seq 0 179); do
    upd+=("$(( t0 + i * 60 )):0.$(printf %03d $(( 10 + i ))):U:U:U:U:$(( i < 90 ? 1 : 0 ))")
done
rrdtool update "$T/state/rrd/quiet.rrd" "${upd[@]}" ||
    failed "rrdtool update quiet.rrd"
m0=$(stat -c %Y "$T/state/web-summary.txt")
touch -d '-2 min' "$T/state/web-summary.txt"
fetch "$CGI_URL/"
for i in $(seq 1 100); do
    [ "$(stat -c %Y "$T/state/web-summary.txt")" -ge "$m0" ] && break
    sleep 0.1
done
if [ "$(stat -c %Y "$T/state/web-summary.txt")" -ge "$m0" ]; then
    pass "summary: an old one is written again"
else
    failed "summary: an old one was not written again"
fi
sed 's/^/# /' "$T/state/web-summary.txt"
for b in "$SERVE_URL" "$CGI_URL"; do
    expect_code "summary overview" 200 "$b/"
    body_has "summary: quiet's uptime, 1 d" '/server/quiet">quiet</a>.*<td class="num up1d">(49\.[5-9]|50\.[0-4])[0-9]%</td>'
    body_has "summary: quiet's uptime, 30 d" '/server/quiet">quiet</a>.*<td class="num wide up30d">[0-9]+\.[0-9]{2}%</td>'
    body_has "summary: quiet's sparkline" '/server/quiet">quiet</a>.*<svg class="spark" [^>]*><path d="M4[0-9] [0-9]+L'
    body_has "summary: www counts its last minutes (the tail at 1 s)" '/server/www">www</a>.*<td class="num up1d">100\.00%</td>'
done
expect_code "summary on the farm page" 200 "$SERVE_URL/farm/shop"
body_has "summary on the farm page: a column" '/server/shop/web1">web1</a>.*<td class="num up1d">'

# The same graph twice on --serve (quiet: its archive does not change):
# the second from the cache, the same
# bytes and ETag (the times are printed, never asserted).
t0=$(date +%s%N)
fetch "$SERVE_URL/graph/quiet.png?period=1w"
cp "$T/body" "$T/graph1.png"
e1=$(tr -d '\r' <"$T/hdrs" | sed -n 's/^[Ee][Tt][Aa][Gg]: //p')
t1=$(date +%s%N)
fetch "$SERVE_URL/graph/quiet.png?period=1w"
e2=$(tr -d '\r' <"$T/hdrs" | sed -n 's/^[Ee][Tt][Aa][Gg]: //p')
t2=$(date +%s%N)
echo "# graph 1w cold $(( (t1 - t0) / 1000000 )) ms, cached $(( (t2 - t1) / 1000000 )) ms"
check "serve: the graph again is the same image" cmp -s "$T/body" "$T/graph1.png"
check "serve: the graph again has the same ETag ($e1)" \
    test -n "$e1" -a "$e1" = "$e2"

# Keep-alive on --serve: two requests, one connection.
if curl -sv -o /dev/null -o /dev/null "$SERVE_URL/" "$SERVE_URL/style.css" \
    2>&1 | grep -q 'Re-using existing connection'; then
    pass "serve: keep-alive"
else
    failed "serve: the second request did not reuse the connection"
fi

# SIGHUP makes --serve read its config again, and keep it when broken.
cp "$T/probed.conf" "$T/probed.conf.keep"
echo "server later http://$H:$N/health" >>"$T/probed.conf"
expect_code "serve: a server not yet in the config" 404 "$SERVE_URL/server/later"
kill -HUP "$(servers_pid serve)"
sleep 0.5
expect_code "serve: after SIGHUP the new server" 200 "$SERVE_URL/server/later"
body_has "serve: the new server is not checked yet" 'not checked yet'
echo "server broken nonsense://" >>"$T/probed.conf"
kill -HUP "$(servers_pid serve)"
sleep 0.5
expect_code "serve: a broken config is not taken" 200 "$SERVE_URL/server/later"
cp "$T/probed.conf.keep" "$T/probed.conf"
kill -HUP "$(servers_pid serve)"
sleep 0.5
expect_code "serve: the server gone again" 404 "$SERVE_URL/server/later"

# The customers' page: --serve --public, and the CGI with TOCSIN_PUBLIC=1.
_srv_setport PUBLIC_PORT || exit 1
LSAN_OPTIONS=$WEB_LSAN ASAN_OPTIONS=$WEB_ASAN _srv_spawn public "$WEBCGI" -c "$T/probed.conf" --public \
    --serve "127.0.0.1:$PUBLIC_PORT" || exit 1
_srv_wait public "t:$PUBLIC_PORT" || exit 1
cat >"$T/public.lighttpd" <<LCONF
\$HTTP["url"] =~ "^/public.cgi" {
    setenv.add-environment = ("TOCSIN_CONF" => "$T/probed.conf",
        "TOCSIN_PUBLIC" => "1", "LSAN_OPTIONS" => "$WEB_LSAN",
        "ASAN_OPTIONS" => "$WEB_ASAN")
}
LCONF
servers_stop lighttpd
ln -s tocsin.cgi "$T/lighttpd/www/public.cgi"
start_lighttpd "$T/probed.conf" "$T/public.lighttpd" || exit 1
for b in "http://127.0.0.1:$PUBLIC_PORT" \
    "http://127.0.0.1:$LIGHTTPD_PORT/public.cgi"; do
    for p in / /server/evil /server/shop/web2 /farm/shop /events; do
        expect_code "public $p" 200 "$b$p"
        body_lacks "public $p: no message" 'alert|HTTP 503|expected 2xx'
        body_lacks "public $p: no URL" "127\.0\.0\.1:$N|evil\.sh"
        body_lacks "public $p: no ack comment" 'on it'
    done
    fetch "$b/"
    body_has "public overview: states" 'row-down.*/server/shop/web2"'
    for p in /api/status /api/server/www /api/events /metrics; do
        expect_code "public $p" 404 "$b$p"
    done
    expect_code "public badge" 200 "$b/badge/www.svg?show=latency"
    expect_code "public graph" 200 "$b/graph/www.svg?period=3h"
done
servers_stop public
# `set public-page on` in the config does what --public does.
{ cat "$T/probed.conf"; echo "set public-page on"; } >"$T/public.conf"
for p in / /server/evil /farm/shop /events; do
    REQUEST_METHOD=GET PATH_INFO=$p QUERY_STRING= TOCSIN_CONF=$T/public.conf \
        "$WEBCGI" >"$T/body" 2>"$T/public-page.err"
    body_has "public-page on $p: 200" '^Status: 200'
    body_lacks "public-page on $p: no message" 'alert|HTTP 503|expected 2xx'
    body_lacks "public-page on $p: no URL" "127\.0\.0\.1:$N|evil\.sh"
done
REQUEST_METHOD=GET PATH_INFO=/metrics TOCSIN_CONF=$T/public.conf \
    "$WEBCGI" >"$T/body" 2>"$T/public-page.err"
body_has "public-page on: no /metrics" '^Status: 404'

# A probed that hangs (a socket that takes connections and never answers)
# must not stall --serve: while /api/status waits for it, /healthz and the
# stylesheet answer at once; then the page falls back to the state file.
cat >"$T/hung.py" <<'PYEOF'
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])
s.listen(16)
held = []
while True:
    c, _ = s.accept()
    held.append(c)
PYEOF
_srv_spawn hung "$PY" "$T/hung.py" "$T/hung.sock" || exit 1
_srv_wait hung "f:$T/hung.sock" || exit 1
{ cat "$T/probed.conf"; echo "set control $T/hung.sock"; } >"$T/hung.conf"
_srv_setport HUNG_PORT || exit 1
LSAN_OPTIONS=$WEB_LSAN ASAN_OPTIONS=$WEB_ASAN _srv_spawn hungserve "$WEBCGI" \
    -c "$T/hung.conf" --serve "127.0.0.1:$HUNG_PORT" || exit 1
_srv_wait hungserve "t:$HUNG_PORT" || exit 1
HU=http://127.0.0.1:$HUNG_PORT
curl -s -o "$T/hung-api.body" -w '%{http_code} %{time_total}' --max-time 20 \
    "$HU/api/status" >"$T/hung-api.out" &
api_pid=$!
sleep 0.5
# Both at once, answered while /api/status still waits on the hung probed:
# these pages never wait for it (no wall-clock bound: a loaded machine).
hung_pids=
for p in /healthz /style.css; do
    curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time 20 \
        "$HU$p" >"$T/hung-${p#/}.out" &
    hung_pids="$hung_pids $!"
done
wait $hung_pids
api_waits=no
kill -0 "$api_pid" 2>/dev/null && api_waits=yes
for p in /healthz /style.css; do
    t=$(cat "$T/hung-${p#/}.out")
    if [ "${t%% *}" = 200 ] && [ "$api_waits" = yes ]; then
        pass "hung probed: $p answers before /api/status gives up (${t#* } s)"
    else
        failed "hung probed: $p: $t (/api/status still waiting: $api_waits)"
    fi
done
if kill -0 "$api_pid" 2>/dev/null; then
    pass "hung probed: /api/status still waits meanwhile"
else
    failed "hung probed: /api/status did not wait: $(cat "$T/hung-api.out")"
fi
wait "$api_pid"
t=$(cat "$T/hung-api.out")
if [ "${t%% *}" = 200 ] && "$PY" -c 'import json,sys; a=json.load(open(sys.argv[1])); assert len(a)==5 and all(o["stale"] is True for o in a); assert float(sys.argv[2]) > 2.0' "$T/hung-api.body" "${t#* }"; then
    pass "hung probed: /api/status from the state file after the deadline (${t#* } s)"
else
    failed "hung probed: /api/status: $t $(head -c 200 "$T/hung-api.body")"
fi
expect_code "hung probed: overview" 200 "$HU/"
body_has "hung probed: the overview says probed is not answering" 'id="stale">tocsin-probed is not answering: showing the last known state'
servers_stop hungserve
servers_stop hung

# probed gone: the state file.
probed_stop
for b in "$SERVE_URL" "$CGI_URL"; do
    expect_code "stale overview" 200 "$b/"
    body_has "stale overview: says probed is not running" \
        'id="stale">tocsin-probed is not running: showing the last known state, written'
    body_has "stale overview: web2 still down" 'row-down.*/server/shop/web2"'
    body_has "stale overview: 5 servers" 'id="count-all"[^>]*><b>5</b>'
    expect_code "stale server page" 200 "$b/server/www"
    body_has "stale server page: banner" 'id="stale"'
    expect_code "stale api" 200 "$b/api/status"
    if "$PY" -c 'import json,sys; a=json.load(open(sys.argv[1])); assert len(a)==5 and all(o["stale"] is True for o in a)' "$T/body"; then
        pass "stale api: 5 servers, stale"
    else
        failed "stale api: $(head -c 300 "$T/body")"
    fi
done
"$TOCSINCTL" -c "$T/probed.conf" -j status >"$T/ctl-stale.json" 2>/dev/null
fetch "$SERVE_URL/api/status"
if cmp -s "$T/body" "$T/ctl-stale.json"; then
    pass "stale api is what tocsinctl -j status prints"
else
    failed "stale api differs from tocsinctl -j status" \
        "$(diff <(tr ',' '\n' <"$T/body") <(tr ',' '\n' <"$T/ctl-stale.json") | head -20)"
    diff "$T/body" "$T/ctl-stale.json" | head -5
fi

# Paging: 120 events in a spool of their own, 50 a page, newest first.
mkdir -p "$T/paged/spool"
printf 'set state-dir %s\nserver a http://%s:%s/\nserver b http://%s:%s/\n' \
    "$T/paged" $H $N $H $N >"$T/paged.conf"
for i in $(seq 1 120); do
    id=a; [ $((i % 3)) = 0 ] && id=b
    printf '{"seq":%d,"id":"%s","time":%d,"old":"up","new":"down","message":"m%d","flapping":false,"downtime":false,"acked":false,"unreachable":false}\n' \
        "$i" "$id" $((1700000000 + i)) "$i" >"$T/paged/spool/$(printf %020d "$i").json"
done
printf 'junk' >"$T/paged/spool/00000000000000000999.json"
printf '{}' >"$T/paged/spool/notanevent.json"
cgi_get() { # cgi_get PATH QUERY: the CGI run by hand, its output in $T/body
    REQUEST_METHOD=GET PATH_INFO=$1 QUERY_STRING=$2 TOCSIN_CONF=$T/paged.conf \
        "$WEBCGI" >"$T/body"
}
cgi_get /api/events ""
if "$PY" -c 'import json,sys; t=open(sys.argv[1], newline="").read(); a=json.loads(t[t.index("\r\n\r\n")+4:]); assert [o["seq"] for o in a] == list(range(120, 70, -1)), [o["seq"] for o in a]' "$T/body"; then
    pass "events: the newest 50, junk skipped"
else
    failed "events: first page wrong"
fi
cgi_get /events ""
body_has "events: a link to older ones" 'id="older" href="[^"]*/events\?before=71"'
cgi_get /api/events "before=71"
if "$PY" -c 'import json,sys; t=open(sys.argv[1], newline="").read(); a=json.loads(t[t.index("\r\n\r\n")+4:]); assert [o["seq"] for o in a] == list(range(70, 20, -1))' "$T/body"; then
    pass "events: the second page"
else
    failed "events: second page wrong"
fi
cgi_get /api/events "server=b"
if "$PY" -c 'import json,sys; t=open(sys.argv[1], newline="").read(); a=json.loads(t[t.index("\r\n\r\n")+4:]); assert len(a) == 40 and all(o["id"] == "b" for o in a)' "$T/body"; then
    pass "events: filtered by server"
else
    failed "events: filter by server wrong"
fi

# ?server= pages: an "older" link only when that server has older
# events. a's 50 are the newest, b's 50 older: a's one page, no link.
mkdir -p "$T/paged2/spool"
sed "s|$T/paged|$T/paged2|" "$T/paged.conf" >"$T/paged2.conf"
for i in $(seq 1 100); do
    id=b; [ "$i" -gt 50 ] && id=a
    printf '{"seq":%d,"id":"%s","time":%d,"old":"up","new":"down","message":"m%d","flapping":false,"downtime":false,"acked":false,"unreachable":false}\n' \
        "$i" "$id" $((1700000000 + i)) "$i" >"$T/paged2/spool/$(printf %020d "$i").json"
done
cgi2_get() {
    REQUEST_METHOD=GET PATH_INFO=$1 QUERY_STRING=$2 TOCSIN_CONF=$T/paged2.conf \
        "$WEBCGI" >"$T/body"
}
cgi2_get /events "server=a"
body_has "events of a: its 50" '/server/a">a</a>.*m51<'
body_lacks "events of a: no older link (b's are older, not a's)" 'id="older"'
cgi2_get /events ""
body_has "events of all: an older link" 'id="older" href="[^"]*/events\?before=51"'
cgi2_get /events "server=b&before=100"
body_has "events of b: its 50" '/server/b">b</a>.*m1<'
body_lacks "events of b: no older link" 'id="older"'

servers_stop serve
servers_stop lighttpd
log_clean tocsin.cgi "$T/serve.log" "$T/public.log" "$T/hungserve.log" \
    "$T/lighttpd/error.log"
finish
