#!/bin/sh
# t/test_cluster_archives.sh: per-node archives. Two probe nodes of a
# 3-server NATS cluster write their samples of server web through one
# real rrdcached over TCP: each into its own archive, web@node1.rrd and
# web@node2.rrd, never one web.rrd that both would write. tocsin.cgi
# --serve, reading through the same rrdcached, lists both nodes with
# rows (/api/vantage/web), names them on the server's page with their
# uptime and draws the graph with a line each. Every uptime it shows is
# the cluster's view of those archives (tocsin.cgi(8), UPTIME IN CLUSTER
# MODE): /api/uptime/web, the page's uptime table, the overview's column
# (the summary), /metrics' ratios and the badge.
set -u
. "${srcdir:-.}/t/cluster.sh" || exit 1
. "${srcdir:-.}/t/web.sh" || exit 1
cluster_setup

command -v rrdcached >/dev/null 2>&1 || skip_all "no rrdcached"

# vantage_rows: "NODE:ROWS ..." from /api/vantage/web.
vantage_rows() {
    fetch "$SERVE_URL/api/vantage/web"
    "$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(" ".join("%s:%s" % (n["node"], "yes" if n["rows"] > 0 else "no")
      for n in d["nodes"]))
' "$T/body" 2>/dev/null
}

# vantage_uptime: "yes" when the server page of web has its 1 d uptime
# as some node and every node saw it.
vantage_uptime() {
    fetch "$SERVE_URL/server/web"
    grep -qE 'id="vantage-uptime".*<td>1d</td><td class="num">[0-9.]+%</td><td class="num">[0-9.]+%</td>' \
        "$T/body" && echo yes
}

# uptime_1d ID: of /api/uptime/ID's 1 d raw figure, whether it has time
# with data ("known" or "none") and its percentage: "up" at 90 % or more
# (a check may time out on a loaded machine), "null" without data.
uptime_1d() {
    fetch "$SERVE_URL/api/uptime/$1"
    "$PY" -c '
import json, sys
u = json.load(open(sys.argv[1]))["uptime"][0]["raw"]
print("known" if u["known_s"] > 0 else "none",
      "null" if u["pct"] is None else "up" if u["pct"] >= 90 else
      "%.1f" % u["pct"])
' "$T/body" 2>/dev/null
}

# overview_up ID: the overview row of ID's 1 d uptime cell ("up" for 90 %
# or more).
overview_up() {
    fetch "$SERVE_URL/"
    "$PY" -c '
import re, sys
for row in open(sys.argv[1]).read().split("<tr")[1:]:
    if "/server/%s\"" % sys.argv[2] in row:
        m = re.search(r"class=\"num up1d\">([^<]*)<", row)
        print("up" if m and re.match(r"(100|9[0-9])\.[0-9]{2}%$",
              m.group(1)) else m.group(1) if m else "no cell")
' "$T/body" "$1" 2>/dev/null
}

start_nginx || exit 1
start_rrdcached || exit 1
start_nats_cluster || exit 1
NODE_EXTRA="set archives on
set rrdcached 127.0.0.1:$RRDCACHED_PORT"
for n in 1 2; do
    start_node "$n" || exit 1
done
pass "3 nats-servers, rrdcached and 2 probe nodes run"

i=0
while { [ ! -f "$RRDCACHED_DIR/web@node1.rrd" ] ||
    [ ! -f "$RRDCACHED_DIR/web@node2.rrd" ]; } && [ $i -lt 75 ]; do
    sleep 0.2
    i=$((i + 1))
done
check "node1's archive web@node1.rrd is made" [ -f "$RRDCACHED_DIR/web@node1.rrd" ]
check "node2's archive web@node2.rrd is made" [ -f "$RRDCACHED_DIR/web@node2.rrd" ]
check "no web.rrd that both nodes would write" [ ! -e "$RRDCACHED_DIR/web.rrd" ]

mkdir -p "$T/web"
# The page runs beside node1: its live states, a summary in its folder.
cat >"$T/web.conf" <<CONF
set state-dir $T/node1
set rrdcached 127.0.0.1:$RRDCACHED_PORT
server web http://127.0.0.1:$NGINX_PORT/body
server other http://127.0.0.1:$NGINX_PORT/other
CONF
start_serve "$T/web.conf" || exit 1
if until_says 15 "node1:yes node2:yes" vantage_rows; then
    pass "/api/vantage/web: node1 and node2, each archive with rows"
else
    failed "/api/vantage/web says '$(vantage_rows)'" "$(cat "$T/body")"
fi
expect_code "the server's page" 200 "$SERVE_URL/server/web"
body_has "... names node1 and node2 as its lines" \
    'id="vantage">[^<]*<span class="node">node1</span>, <span class="node">node2</span>'
# Their first rows may be a second apart: ask until both have one.
if until_says 15 yes vantage_uptime; then
    pass "... and has their uptime (1 d, up for some node and every node)"
else
    failed "... no uptime from node1 and node2 on the page" \
        "$(grep -o 'id="vantage-uptime".\{0,300\}' "$T/body")"
fi
expect_code "its graph, a line per node" 200 "$SERVE_URL/graph/web.svg"
hdr_has "... an SVG image" '^Content-Type: image/svg\+xml'
fetch "$SERVE_URL/api/vantage/other"
body_has "a server no node archives has no vantage node" '"nodes": ?\[\]'

# The cluster's view: both nodes see web up, so with quorum 2 (a majority
# of 2) it is up wherever both have data (90 % or more: on a loaded
# machine a check may time out).
if until_says 15 "known up" uptime_1d web; then
    pass "/api/uptime/web: time with data, up (the nodes' view)"
else
    failed "/api/uptime/web says '$(uptime_1d web)'" "$(head -c 600 "$T/body")"
fi
fetch "$SERVE_URL/api/uptime/web"
body_has "... its SLA figure too" '"sla": ?\{"pct": ?(100|9[0-9])[.0-9]*,'
check "/api/uptime/other: no archive, no data" \
    [ "$(uptime_1d other)" = "none null" ]
expect_code "the server's page" 200 "$SERVE_URL/server/web"
if grep -qE '<tr id="uptime-1d"><td>1d</td><td class="num">(100|9[0-9])\.[0-9]{3}%</td><td class="num sla">(100|9[0-9])\.[0-9]{3}%</td>' "$T/body"; then
    pass "... its uptime table has the cluster's 1 d figure"
else
    failed "... no cluster's 1 d figure in its uptime table" \
        "$(grep -o '<tr id="uptime-1d">.\{0,200\}' "$T/body")"
fi
if until_says 20 up overview_up web; then
    pass "the overview's row of web shows its uptime (the summary)"
else
    failed "the overview's web row says '$(overview_up web)'"
fi
expect_code "/metrics" 200 "$SERVE_URL/metrics"
body_has "... web's uptime ratio over 1 d" \
    '^tocsin_server_uptime_ratio\{id="web",farm="",kind="http",span="1d"\} (1|0\.9[0-9]*)$'
body_has "... and its SLA ratio" \
    '^tocsin_server_sla_uptime_ratio\{id="web",farm="",kind="http",span="1d"\} (1|0\.9[0-9]*)$'
expect_code "the uptime badge" 200 "$SERVE_URL/badge/web.svg?show=uptime"
body_has "... says its figure over 30 d" '>(100|9[0-9])\.[0-9]{2}% 30d<'

servers_stop serve
clean_log serve
for n in 1 2; do
    stop_node "$n"
    clean_log "node$n"
done
finish
