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
server www http://127.0.0.1:$NGINX_PORT/health
server wrong http://127.0.0.1:$NGINX_PORT/wrong
farm shop {
    server web1 http://127.0.0.1:$NGINX_PORT/health
}
CONF
}

# Directly, by the writer thread.
conf "$T/direct.conf" "$T/direct"
probed_start "$T/direct.conf" || exit 1
sleep 6
probed_stop
fetch_check "$T/direct/rrd/www.rrd" direct
fetch_check "$T/direct/rrd/shop/web1.rrd" "direct, farm member"
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
