#!/bin/bash
# t/test_web_sla.sh: uptime with scheduled downtime left out (the SLA
# figure). Two servers on one real nginx, checked every second; one gets a
# downtime, then nginx stops: both go down, one inside its downtime. The
# archive's sla series is unknown while the downtime runs, so the planned
# server's SLA figure stays 100 % while its raw uptime falls; the other's
# SLA figure is its raw one. Checked in the archive (rrdtool), /api/uptime,
# the server page and the overview (the summary file), as a CGI under
# lighttpd and in --serve.
set -u
. "${srcdir:-.}/t/servers.sh" || exit 1
. "${srcdir:-.}/t/probed.sh" || exit 1
. "${srcdir:-.}/t/web.sh" || exit 1
servers_trap

start_nginx || exit 1
cat >"$T/probed.conf" <<CONF
set state-dir $T/state
set interval 1s
set timeout 1s
set retries 1
server planned http://127.0.0.1:$NGINX_PORT/health
server unplanned http://127.0.0.1:$NGINX_PORT/health
CONF

probed_start "$T/probed.conf" || exit 1
expect_state planned up
expect_state unplanned up
sleep 4     # rows up in both archives
ctl downtime planned 1h "patching" >/dev/null || failed "downtime planned"
wait_field planned downtime_until "" 1 >/dev/null; if [ "$(field planned downtime_until)" -gt "$(date +%s)" ] 2>/dev/null; then pass "planned is in downtime"; else failed "planned not in downtime"; fi
sleep 2
servers_stop nginx || failed "nginx stops"
expect_state planned down
expect_state unplanned down
sleep 5     # rows down in both archives, planned's in its downtime

RRD=$T/state/rrd
if rrdtool info "$RRD/planned.rrd" | grep -q '^ds\[sla\]\.type = "GAUGE"'; then
    pass "the archive has an sla series"
else
    failed "no sla series in planned.rrd" "$(rrdtool info "$RRD/planned.rrd" | grep '^ds\[' | head)"
fi
# In the archive: planned has rows down (up 0) and none with sla 0;
# unplanned has rows with sla 0.
rrd_rows() { # rrd_rows FILE: "up sla" a row, the last minute
    rrdtool fetch "$1" AVERAGE -s -60 -e now | "$PY" -c '
import sys
lines = sys.stdin.read().splitlines()
names = lines[0].split()
for l in lines[1:]:
    if ":" not in l:
        continue
    v = l.split(":")[1].split()
    print(v[names.index("up")], v[names.index("sla")])
'
}
rrd_rows "$RRD/planned.rrd" >"$T/planned.rows"
rrd_rows "$RRD/unplanned.rrd" >"$T/unplanned.rows"
if grep -qE '^0\.0+e\+00 ' "$T/planned.rows" &&
    ! grep -qE ' 0\.0+e\+00$' "$T/planned.rows"; then
    pass "planned: down rows in the archive, none of them in sla"
else
    failed "planned: rows wrong" "$(cat "$T/planned.rows")"
fi
if grep -qE '^0\.0+e\+00 0\.0+e\+00$' "$T/unplanned.rows"; then
    pass "unplanned: its down rows count in sla"
else
    failed "unplanned: no down row in sla" "$(cat "$T/unplanned.rows")"
fi

start_serve "$T/probed.conf" || exit 1
start_lighttpd "$T/probed.conf" || exit 1

# api BASE MODE: /api/uptime of both servers.
api() {
    local b=$1 m=$2
    expect_code "$m api uptime planned" 200 "$b/api/uptime/planned"
    if "$PY" -c '
import json, sys
o = json.load(open(sys.argv[1]))
assert o["id"] == "planned", o
d = {u["span"]: u for u in o["uptime"]}
assert set(d) == {"1d", "7d", "30d", "365d"}, d
u = d["1d"]
assert 0 < u["raw"]["pct"] < 100, u
assert u["sla"]["pct"] == 100, u
assert u["downtime_s"] >= 4, u
assert u["sla"]["known_s"] < u["raw"]["known_s"], u
assert u["sla"]["unknown_pct"] > u["raw"]["unknown_pct"], u
' "$T/body"; then
        pass "$m api uptime planned: raw below 100, sla 100, downtime counted"
    else
        failed "$m api uptime planned" "$(cat "$T/body")"
    fi
    expect_code "$m api uptime unplanned" 200 "$b/api/uptime/unplanned"
    if "$PY" -c '
import json, sys
o = json.load(open(sys.argv[1]))
u = {u["span"]: u for u in o["uptime"]}["1d"]
assert 0 < u["raw"]["pct"] < 100, u
assert abs(u["sla"]["pct"] - u["raw"]["pct"]) < 1e-9, u
assert u["downtime_s"] == 0, u
' "$T/body"; then
        pass "$m api uptime unplanned: sla is raw, no downtime"
    else
        failed "$m api uptime unplanned" "$(cat "$T/body")"
    fi
    expect_code "$m api uptime unknown server" 404 "$b/api/uptime/nosuch"
}

# server BASE MODE: the uptime table.
server_page() {
    local b=$1 m=$2
    expect_code "$m server page planned" 200 "$b/server/planned"
    body_has "$m planned: SLA column" '<th class="num" title="scheduled downtime left out">SLA</th>'
    body_has "$m planned: 1d raw below 100, SLA 100" '<tr id="uptime-1d"><td>1d</td><td class="num">[0-9]{1,2}\.[0-9]{3}%</td><td class="num sla">100\.000%</td><td class="num">[1-9][0-9]* s</td>'
    expect_code "$m server page unplanned" 200 "$b/server/unplanned"
    body_has "$m unplanned: 1d raw below 100, no downtime" '<tr id="uptime-1d"><td>1d</td><td class="num">[0-9]{1,2}\.[0-9]{3}%</td><td class="num sla">[0-9]{1,2}\.[0-9]{3}%</td><td class="num">0 s</td>'
}

for pair in "$CGI_URL CGI" "$SERVE_URL serve"; do
    set -- $pair
    api "$1" "$2"
    server_page "$1" "$2"
done

# The overview reads the summary file: write it now, as the background
# writer would.
rm -f "$T/state/web-summary.txt"
if "$WEBCGI" -c "$T/probed.conf" --write-summary; then
    pass "--write-summary"
else
    failed "--write-summary"
fi
if grep -qP '^planned\t[0-9.]+\t[0-9.]+\t[-0-9.,]+\t100\.000\t100\.000$' \
    "$T/state/web-summary.txt"; then
    pass "summary: planned's SLA figures are 100"
else
    failed "summary: planned" "$(cat "$T/state/web-summary.txt")"
fi
for pair in "$CGI_URL CGI" "$SERVE_URL serve"; do
    set -- $pair
    expect_code "$2 overview" 200 "$1/"
    body_has "$2 overview: planned shows its SLA figure" '/server/planned">planned</a>.*class="num up1d">[0-9]{1,2}\.[0-9]{2}%<small class="sla" title="scheduled downtime left out">SLA 100\.00%</small>'
    if grep -o '/server/unplanned">unplanned</a>.*' "$T/body" | head -n 1 |
        grep -q 'class="sla"'; then
        failed "$2 overview: unplanned shows an SLA figure of its own"
    else
        pass "$2 overview: unplanned's SLA is its raw figure, not repeated"
    fi
done

servers_stop serve
servers_stop lighttpd
log_clean tocsin.cgi "$T/serve.log" "$T/lighttpd/error.log"
finish
