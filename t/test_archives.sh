#!/bin/bash
# t/test_archives.sh: tocsin-probed fills the archives with what it
# measured, written directly and through a real rrdcached.
set -u
. "${srcdir:-.}/t/servers.sh" || exit 1
. "${srcdir:-.}/t/probed.sh" || exit 1
servers_trap
start_nginx || exit 1
start_rrdcached || exit 1

# fetch_check RRD WHAT: the archive holds measured latencies and up=1.
fetch_check() {
    local rrd=$1 what=$2
    if [ ! -f "$rrd" ]; then
        failed "$what: no archive at $rrd"
        return
    fi
    rrdtool info "$rrd" >"$T/info.txt"
    check "$what: archive has the latency series" \
        grep -q '^ds\[firstbyte\]' "$T/info.txt"
    rrdtool fetch "$rrd" AVERAGE -s -120 -r 1 >"$T/fetch.txt"
    check "$what: fetch shows measured latencies with up=1" \
        "$PY" - "$T/fetch.txt" "$what" <<'PYEOF'
import math, sys
names = None
vals = []
for line in open(sys.argv[1]):
    if not line.strip():
        continue
    if ":" not in line:
        names = line.split()
        continue
    t, rest = line.split(":", 1)
    row = dict(zip(names, [float(x) for x in rest.split()]))
    if not math.isnan(row["total"]):
        vals.append(row)
assert vals, "no row with a total"
for r in vals:
    assert 0 < r["total"] < 1.0, r
    assert r["up"] == 1.0, r
    assert r["connect"] <= r["firstbyte"] <= r["total"] + 1e-9, r
print("%s: %d rows, total %.6f s .. %.6f s" % (sys.argv[2], len(vals),
    min(r["total"] for r in vals), max(r["total"] for r in vals)))
PYEOF
}

conf() { # conf FILE STATEDIR [EXTRA]
    cat >"$1" <<CONF
set state-dir $2
set interval 1s
set timeout 2s
${3:-}
server minute http://127.0.0.1:$NGINX_PORT/health interval 60s
server www http://127.0.0.1:$NGINX_PORT/health
server wrong http://127.0.0.1:$NGINX_PORT/wrong
farm shop {
    server web1 http://127.0.0.1:$NGINX_PORT/health
}
CONF
}

# Directly, by the writer thread. www's archive is there already, made by
# the layout before (every sample for two days, AVERAGE, MIN and MAX each:
# 25 MB at 1 s), with ten minutes of samples of 0.5 s ending 400 s ago
# (out of fetch_check's window): probed re-creates it in today's layout,
# under 2 MB, and the old samples stay.
old=$(( $(date +%s) - 1000 ))
mkdir -p "$T/direct/rrd"
rrdtool create "$T/direct/rrd/www.rrd" --step 1 --start "$old" \
    DS:total:GAUGE:2:0:U DS:dns:GAUGE:2:0:U DS:connect:GAUGE:2:0:U \
    DS:tls:GAUGE:2:0:U DS:firstbyte:GAUGE:2:0:U DS:up:GAUGE:2:0:1 \
    RRA:AVERAGE:0.5:1:172800 RRA:MIN:0.5:1:172800 RRA:MAX:0.5:1:172800 \
    RRA:AVERAGE:0.5:300:4032 RRA:MIN:0.5:300:4032 RRA:MAX:0.5:300:4032 \
    RRA:AVERAGE:0.5:3600:1488 RRA:MIN:0.5:3600:1488 RRA:MAX:0.5:3600:1488 \
    RRA:AVERAGE:0.5:86400:732 RRA:MIN:0.5:86400:732 RRA:MAX:0.5:86400:732 ||
    failed "rrdtool create of an old-layout archive"
"$PY" -c "
for t in range($old + 1, $old + 601):
    print('%d:0.5:U:U:U:U:1' % t)" | xargs -n 100 rrdtool update "$T/direct/rrd/www.rrd" ||
    failed "rrdtool update of the old-layout archive"
before=$(stat -c %s "$T/direct/rrd/www.rrd")
[ "$before" -gt 20000000 ] && pass "old-layout archive is $before bytes" ||
    failed "old-layout archive is only $before bytes"
conf "$T/direct.conf" "$T/direct"
probed_start "$T/direct.conf" || exit 1
sleep 6
probed_stop
fetch_check "$T/direct/rrd/www.rrd" direct
fetch_check "$T/direct/rrd/shop/web1.rrd" "direct, farm member"
for rrd in www shop/web1; do
    size=$(stat -c %s "$T/direct/rrd/$rrd.rrd")
    [ "$size" -le 2097152 ] && pass "$rrd: archive at 1 s is $size bytes (<= 2 MB)" ||
        failed "$rrd: archive at 1 s is $size bytes, over 2 MB"
    rrdtool info "$T/direct/rrd/$rrd.rrd" >"$T/info.txt"
    "$PY" - "$T/info.txt" <<'PYEOF' && pass "$rrd: MIN and MAX only where a row holds several samples" || failed "$rrd: MIN or MAX on single-sample rows"
import re, sys
rra = {}
for line in open(sys.argv[1]):
    m = re.match(r'rra\[(\d+)\]\.(cf|pdp_per_row) = "?([A-Z0-9]+)"?', line)
    if m:
        rra.setdefault(int(m.group(1)), {})[m.group(2)] = m.group(3)
assert rra, "no rra in rrd info"
assert all(r["cf"] == "AVERAGE" for r in rra.values() if r["pdp_per_row"] == "1"), rra
assert any(r["cf"] == "MIN" for r in rra.values()), rra
PYEOF
done
# tocsin-probed(8) gives an archive's size in bytes, at 60 s and below a
# minute: as the files are.
doc_says() { # doc_says RRD TEXT: the page says "SIZE bytes TEXT"
    local n
    n=$("$PY" -c 'import os, sys; print("{:,}".format(os.path.getsize(sys.argv[1])))' \
        "$1") || return 1
    echo "$1: $n bytes"
    tr '\n' ' ' <"${TOCSIN_BUILD:-.}/doc/tocsin-probed.8" | grep -qF "$n bytes $2"
}
check "tocsin-probed(8) gives the size of an archive at 60 s" \
    doc_says "$T/direct/rrd/minute.rrd" "with the seven fixed series"
check "tocsin-probed(8) gives the size of an archive at 1 s" \
    doc_says "$T/direct/rrd/shop/web1.rrd" "at any step below a minute"
rrdtool fetch "$T/direct/rrd/www.rrd" AVERAGE -s $((old + 100)) \
    -e $((old + 500)) -r 1 >"$T/old.txt"
n=$(grep -c ': 5\.0000000000e-01 ' "$T/old.txt")
[ "$n" -ge 400 ] && pass "www: the old samples are there after the re-create ($n rows of 0.5 s)" ||
    failed "www: $n old samples of 400 after the re-create"
rrdtool fetch "$T/direct/rrd/wrong.rrd" AVERAGE -s -60 -r 1 |
    grep -Eq ' 0\.0+e\+00$' && pass "wrong: up is 0 in its archive" ||
    failed "wrong: no up=0 row"

# Through rrdcached (its base folder holds the state folder's archives).
mkdir -p "$RRDCACHED_DIR/state/rrd"
chmod -R 777 "$RRDCACHED_DIR/state"
conf "$T/cached.conf" "$RRDCACHED_DIR/state" "set rrdcached unix:$RRDCACHED_SOCK"
probed_start "$T/cached.conf" || exit 1
sleep 6
probed_stop
rrdtool flushcached --daemon "unix:$RRDCACHED_SOCK" \
    "$RRDCACHED_DIR/state/rrd/www.rrd" 2>/dev/null
fetch_check "$RRDCACHED_DIR/state/rrd/www.rrd" rrdcached
finish
