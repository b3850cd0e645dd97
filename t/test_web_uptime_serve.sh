#!/bin/bash
# t/test_web_uptime_serve.sh: tocsin.cgi --serve reads the uptime figures
# of a page (a server's, a farm's, /api/uptime/ID, an uptime badge) in
# its graph workers,
# off its loop. A real tocsin-probed archives shop/alpha through a real
# rrdcached, which --serve reads through too; rrdcached stopped
# (SIGSTOP) makes a read wait on its flush, honestly. Meanwhile
# /api/status, /metrics and the overview answer (asserted while the pages
# are still pending, not against a time), and the pages come, with their
# figures, once rrdcached goes on. Pages whose figures take over
# --graph-timeout are answered without them, saying so. The phases that
# expect figures run with a --graph-timeout of LONG, so that a slow build
# (ASan) on a busy machine still reads them in time; the one that
# expects them late with TIMEOUT.
set -u
. "${srcdir:-.}/t/servers.sh" || exit 1
. "${srcdir:-.}/t/probed.sh" || exit 1
. "${srcdir:-.}/t/web.sh" || exit 1
servers_trap

TIMEOUT=6	# --graph-timeout where figures are to be late
LONG=60		# and where they are to come

probed_alpha_rrdcached shop || exit 1
sleep 2     # a few rows, so the figures are numbers
start_serve "$T/probed.conf" --graph-timeout "$LONG" || exit 1
RRD_PID=$(servers_pid rrdcached)

FIGURE='<td class="num">[0-9.]+%</td>'

# has NAME WHAT REGEX | lacks NAME WHAT REGEX: get_bg's body of NAME.
has() {
    grep -qE -- "$3" "$T/$1.body" && pass "$2" ||
        failed "$2: no /$3/ in the body" "$(head -c 600 "$T/$1.body")"
}
lacks() {
    grep -qE -- "$3" "$T/$1.body" && failed "$2: /$3/ in the body" ||
        pass "$2"
}

# figures WHAT [seq]: the four pages of shop/alpha have their figures;
# asked at once, or with seq one after the other.
figures() {
    local n
    for n in "s /server/shop/alpha" "f /farm/shop" \
        "a /api/uptime/shop/alpha" "b /badge/shop/alpha.svg?show=uptime"; do
        get_bg $n
        [ "${2:-}" = seq ] && wait_done "${n%% *}"
    done
    wait_done s f a b
    check "$1: the server page ($(cat "$T/s.code"))" test "$(cat "$T/s.code")" = 200
    has s "$1: the server page's uptime figures" "id=\"uptime\".*$FIGURE"
    lacks s "$1: the server page says nothing is late" 'uptime-late'
    check "$1: the farm page ($(cat "$T/f.code"))" test "$(cat "$T/f.code")" = 200
    has f "$1: the farm page's uptime figures" "id=\"uptime\".*$FIGURE"
    lacks f "$1: the farm page says nothing is late" 'uptime-late'
    check "$1: /api/uptime ($(cat "$T/a.code"))" test "$(cat "$T/a.code")" = 200
    has a "$1: /api/uptime's figures" '"raw": *\{"pct": *[0-9.]+'
    check "$1: the badge ($(cat "$T/b.code"))" test "$(cat "$T/b.code")" = 200
    has b "$1: the badge's figure" '>[0-9.]+% 30d</text>'
}

figures "rrdcached running"

# rrdcached stopped: the three wait on its flush, in the workers; the
# status pages answer meanwhile; the figures come once it goes on.
kill -STOP "$RRD_PID"
get_bg s1 "/server/shop/alpha"
get_bg f1 "/farm/shop"
get_bg a1 "/api/uptime/shop/alpha"
get_bg b1 "/badge/shop/alpha.svg?show=uptime"
sleep 1     # they reach the server and wait on rrdcached
answers_meanwhile "rrdcached stopped" s1 f1 a1 b1
expect_code "rrdcached stopped: a page without figures" 200 \
    "$SERVE_URL/events"
kill -CONT "$RRD_PID"
wait_done s1 f1 a1 b1
check "rrdcached going on: the server page ($(cat "$T/s1.code"))" \
    test "$(cat "$T/s1.code")" = 200
has s1 "rrdcached going on: the server page's figures" "id=\"uptime\".*$FIGURE"
check "rrdcached going on: the farm page ($(cat "$T/f1.code"))" \
    test "$(cat "$T/f1.code")" = 200
has f1 "rrdcached going on: the farm page's figures" "id=\"uptime\".*$FIGURE"
check "rrdcached going on: /api/uptime ($(cat "$T/a1.code"))" \
    test "$(cat "$T/a1.code")" = 200
has b1 "rrdcached going on: the badge's figure" '>[0-9.]+% 30d</text>'

# Figures past --graph-timeout: the pages come without them, saying so
# (the API with 503, the badge with no data); the status pages answer
# meanwhile.
servers_stop serve
start_serve "$T/probed.conf" --graph-timeout "$TIMEOUT" || exit 1
check "figures past their time: both graph workers ready" workers_ready 2
fetch "$SERVE_URL/metrics"
late0=$(sed -n 's/^tocsin_web_uptime_late_total //p' "$T/body")
kill -STOP "$RRD_PID"
t0=$(date +%s)
get_bg s2 "/server/shop/alpha"
get_bg f2 "/farm/shop"
get_bg a2 "/api/uptime/shop/alpha"
get_bg b2 "/badge/shop/alpha.svg?show=uptime"
sleep 1
answers_meanwhile "figures past their time" s2 f2 a2 b2
wait_done s2 f2 a2 b2
took=$(($(date +%s) - t0))
kill -CONT "$RRD_PID"
check "figures past $TIMEOUT s: the server page ($(cat "$T/s2.code"))" \
    test "$(cat "$T/s2.code")" = 200
has s2 "figures past their time: the server page says so" \
    "id=\"uptime-late\">The uptime figures are not available: the archives were not read within $TIMEOUT s"
has s2 "figures past their time: the server page's table, empty" \
    'id="uptime-1d"><td>1d</td><td class="num">-</td>'
lacks s2 "figures past their time: no figure on the server page" "$FIGURE"
has s2 "figures past their time: the rest of the server page" 'id="facts"'
check "figures past $TIMEOUT s: the farm page ($(cat "$T/f2.code"))" \
    test "$(cat "$T/f2.code")" = 200
has f2 "figures past their time: the farm page says so" 'id="uptime-late"'
lacks f2 "figures past their time: no figure on the farm page" \
    "id=\"uptime\".*$FIGURE"
check "figures past $TIMEOUT s: /api/uptime is 503 ($(cat "$T/a2.code"))" \
    test "$(cat "$T/a2.code")" = 503
has a2 "figures past their time: /api/uptime says why" \
    'the archive was not read in time'
has b2 "figures past their time: the badge has no figure" '>no data</text>'
check "figures past $TIMEOUT s: answered within $((TIMEOUT + 30)) s ($took s)" \
    test "$took" -le $((TIMEOUT + 30))
grep -q "graph worker [0-9]* killed after $TIMEOUT s reading the uptime of shop/alpha (killed by signal 9): started again" \
    "$T/serve.log" && pass "figures past their time: the worker's end logged" ||
    failed "figures past their time: not logged" "$(tail -n 5 "$T/serve.log")"
fetch "$SERVE_URL/metrics"
check "figures past their time: /metrics counts 4 late pages" \
    test "$(sed -n 's/^tocsin_web_uptime_late_total //p' "$T/body")" = \
    "$((${late0:-0} + 4))"

# Once rrdcached goes on, the figures are read again (new workers), one
# page at a time (none waits behind another for a worker).
figures "rrdcached back" seq

servers_stop serve
probed_stop
log_clean tocsin.cgi "$T/serve.log"
finish
