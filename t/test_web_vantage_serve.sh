#!/bin/bash
# t/test_web_vantage_serve.sh: tocsin.cgi --serve reads a server's probe
# nodes' archives in its graph workers, off its loop: /api/vantage/ID,
# and, through an rrdcached reached over TCP, the listing of those
# archives (ID@NODE.rrd) that the server's page and its graphs need. A
# real tocsin-probed archives alpha through a real rrdcached; its archive,
# copied as alpha@n1.rrd and alpha@n2.rrd, stands for two probe nodes'
# (a cluster of NATS servers is not needed: the web side only looks at
# the archives). --serve reads them through the same rrdcached over TCP.
# With rrdcached stopped (SIGSTOP), /api/status, /metrics and the
# overview answer while /api/vantage/alpha, /server/alpha and its graph
# are pending (asserted while they are, not against a time), and they
# come with their data once it goes on (SIGCONT); past a short
# --graph-timeout /api/vantage answers 503 saying why, and its worker is
# killed. The phases that expect data run with a --graph-timeout of LONG.
set -u
. "${srcdir:-.}/t/servers.sh" || exit 1
. "${srcdir:-.}/t/probed.sh" || exit 1
. "${srcdir:-.}/t/web.sh" || exit 1
servers_trap

command -v rrdtool >/dev/null 2>&1 || skip_all "no rrdtool"

TIMEOUT=6	# --graph-timeout where the listing is to be late
LONG=60		# and where it is to come
LIST_TTL=5	# s a process keeps a folder's listing (rrd/archive.c)

probed_alpha_rrdcached || exit 1
sleep 2     # a few rows
RRD_PID=$(servers_pid rrdcached)
# Two probe nodes' archives of alpha, in rrdcached's base folder, where
# a remote (TCP) rrdcached finds ID@NODE.rrd.
rrdtool flushcached --daemon "unix:$RRDCACHED_SOCK" \
    "$RRDCACHED_DIR/state/rrd/alpha.rrd" || failed "flushcached alpha.rrd"
for n in n1 n2; do
    cp "$RRDCACHED_DIR/state/rrd/alpha.rrd" "$RRDCACHED_DIR/alpha@$n.rrd" ||
        exit 1
done
sed "s|^set rrdcached .*|set rrdcached 127.0.0.1:$RRDCACHED_PORT|" \
    "$T/probed.conf" >"$T/web.conf"

# has NAME WHAT REGEX | lacks NAME WHAT REGEX: get_bg's body of NAME.
has() {
    grep -qE -- "$3" "$T/$1.body" && pass "$2" ||
        failed "$2: no /$3/ in the body" "$(head -c 600 "$T/$1.body")"
}

# nodes NAME: "NODE:ARCHIVE:LAST ..." of get_bg's NAME, an /api/vantage
# answer (LAST "yes" when a number).
nodes() {
    "$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(" ".join("%s:%s:%s" % (n["node"], n["archive"],
      "yes" if isinstance(n["last"], int) else "no") for n in d["nodes"]))
' "$T/$1.body" 2>/dev/null
}

# vantage_data WHAT NAME: NAME (/api/vantage/alpha) is 200 with both nodes.
vantage_data() {
    local got
    check "$1: /api/vantage/alpha ($(cat "$T/$2.code"))" \
        test "$(cat "$T/$2.code")" = 200
    got=$(nodes "$2")
    [ "$got" = "n1:alpha@n1:yes n2:alpha@n2:yes" ] &&
        pass "$1: /api/vantage/alpha lists n1 and n2, each read" ||
        failed "$1: /api/vantage/alpha says '$got'" "$(cat "$T/$2.body")"
}

# page_data WHAT PAGE GRAPH: the server page names both nodes, its graph
# is drawn.
page_data() {
    check "$1: the server page ($(cat "$T/$2.code"))" \
        test "$(cat "$T/$2.code")" = 200
    has "$2" "$1: the server page names the two nodes" \
        'id="vantage">A line per probe node: <span class="node">n1</span>, <span class="node">n2</span>'
    check "$1: the graph ($(cat "$T/$3.code"))" test "$(cat "$T/$3.code")" = 200
    tr -d '\r' <"$T/$3.hdrs" | grep -qi '^content-type: image/png' &&
        pass "$1: the graph is a PNG" ||
        failed "$1: the graph is not a PNG" "$(cat "$T/$3.hdrs")"
}

start_serve "$T/web.conf" --graph-timeout "$LONG" || exit 1
get_bg v0 /api/vantage/alpha
get_bg s0 /server/alpha
get_bg g0 /graph/alpha.png
wait_done v0 s0 g0
vantage_data "rrdcached running" v0
page_data "rrdcached running" s0 g0

# rrdcached stopped, once the listings made above are old (a process
# keeps one LIST_TTL s), with a graph not in the cache: each request
# below waits on rrdcached, in the workers; the status pages answer
# meanwhile; the data come once it goes on.
sleep $((LIST_TTL + 1))
while_stopped "rrdcached stopped" cont v1 /api/vantage/alpha \
    s1 /server/alpha g1 "/graph/alpha.png?period=1w"
vantage_data "rrdcached going on" v1
page_data "rrdcached going on" s1 g1

# The listing past --graph-timeout: /api/vantage answers 503 saying
# why, the worker is killed; the status pages answer meanwhile.
servers_stop serve
start_serve "$T/web.conf" --graph-timeout "$TIMEOUT" || exit 1
while_stopped "the listing past its time" done v2 /api/vantage/alpha
check "the listing past $TIMEOUT s: /api/vantage is 503 ($(cat "$T/v2.code"))" \
    test "$(cat "$T/v2.code")" = 503
has v2 "the listing past its time: /api/vantage says why" \
    '"error": *"the archives were not listed in time, or the graph workers were busy or failed"'
grep -q "graph worker [0-9]* killed after $TIMEOUT s reading the probe nodes' archives of alpha (killed by signal 9): started again" \
    "$T/serve.log" && pass "the listing past its time: the worker's end logged" ||
    failed "the listing past its time: not logged" "$(tail -n 5 "$T/serve.log")"

# Once rrdcached goes on, new workers read them again.
servers_stop serve
start_serve "$T/web.conf" --graph-timeout "$LONG" || exit 1
get_bg v3 /api/vantage/alpha
wait_done v3
vantage_data "rrdcached back" v3

servers_stop serve
probed_stop
log_clean tocsin.cgi "$T/serve.log"
finish
