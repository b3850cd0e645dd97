#!/bin/sh
# t/test_cluster_shard.sh: set shard on. Three probe nodes, quorum 2, on
# a 3-server NATS JetStream cluster, and $TOCSIN_SHARD_SERVERS servers
# (300; the issue's long form: TOCSIN_SHARD_SERVERS=3000), tcp checks
# against one nginx every 15 s. Counted from the verdicts bucket: each
# server is watched by exactly 2 nodes, spread over the three. node3
# killed -9: each of its servers has a fresh verdict of a live node
# within two intervals (30 s), the other servers keep their nodes, and
# nothing pages. node3 back: the spread is the one before.
set -u
. "${srcdir:-.}/t/cluster.sh" || exit 1
cluster_setup


N=${TOCSIN_SHARD_SERVERS:-300}
INTERVAL=15

# shard_node N: probe node N with set shard on and the $N servers.
shard_node() {
    local n=$1 u i=0
    eval "u=\$NODE_USER_$n"
    mkdir -p "$T/node$n"
    {
        echo "set state-dir $T/node$n"
        echo "set user $u"
        echo "set archives off"
        echo "set cluster $NATS_URLS"
        echo "set node node$n"
        echo "set quorum 2"
        echo "set shard on"
        echo "set max-concurrent 200"
        i=0
        while [ $i -lt "$N" ]; do
            echo "server s$i tcp://127.0.0.1:$NGINX_PORT interval ${INTERVAL}s timeout 5s"
            i=$((i + 1))
        done
    } >"$T/node$n.conf"
    node_spawn "$n"
}

# spread [DEAD [SINCE FILE]]: from the verdicts bucket, one line a
# server: "ID NODE,NODE" (its verdicts' nodes, sorted, without DEAD's);
# with SINCE, a server named in FILE whose verdicts are all older than
# SINCE (epoch) ends in " stale".
spread() {
    natsdump -k tocsin_verdicts | "$PY" -c '
import json, sys
dead, since = sys.argv[1], int(sys.argv[2])
moved = set(open(sys.argv[3]).read().split()) if since else set()
by = {}
for line in sys.stdin:
    key, data = line.rstrip("\n").split(" ", 1)
    try:
        d = json.loads(data)
    except ValueError:
        continue        # a deleted key
    if d["node"] == dead:
        continue
    by.setdefault(d["server"], []).append((d["node"], d["time"]))
for s in sorted(by):
    v = by[s]
    fresh = s not in moved or any(t >= since for n, t in v)
    print(s, ",".join(sorted(n for n, t in v)) + ("" if fresh else " stale"))
' "${1:-}" "${2:-0}" "${3:-}"
}

# every_server_two FILE: every one of the $N servers has exactly 2 nodes
# (and none stale) in FILE, a spread.
every_server_two() {
    [ "$(grep -c . "$1")" = "$N" ] &&
        [ "$(awk '{ n = split($2, a, ","); if (n != 2 || NF > 2) bad++ }
            END { print bad + 0 }' "$1")" = 0 ]
}

start_nginx || exit 1
start_nats_cluster || exit 1
for n in 1 2 3; do
    shard_node "$n" || exit 1
done
pass "3 nats-servers and 3 probe nodes with set shard on, $N servers"

start=$(date +%s)
while :; do
    spread >"$T/spread0" 2>/dev/null
    every_server_two "$T/spread0" && break
    [ $(($(date +%s) - start)) -le 120 ] || break
    sleep 1
done
if every_server_two "$T/spread0"; then
    pass "each of the $N servers has the verdicts of exactly 2 nodes ($(($(date +%s) - start)) s)"
else
    failed "not 2 verdicts each after 120 s" "$(awk '{print $2}' \
        "$T/spread0" | sort | uniq -c)"
fi
for n in 1 2 3; do
    c=$(grep -c "node$n" "$T/spread0")
    check "node$n watches about 2/3 of them ($c of $N)" \
        [ "$c" -gt $((N * 2 / 3 - N / 6)) -a "$c" -lt $((N * 2 / 3 + N / 6)) ]
done
wait_events "$N" 60 || failed "not $N first events"
sleep 3
check "one first event a server ($N)" [ "$(events)" = "$N" ]

grep node3 "$T/spread0" | cut -d' ' -f1 >"$T/of3"
since=$(date +%s)
echo "# heartbeats at $since:" >&2
natsdump -k tocsin_nodes | sed 's/^/# /' >&2
servers_stop node3 KILL
pass "node3 killed -9; it watched $(grep -c . "$T/of3") servers"
# (a look at the bucket takes a while: the time is the clock's)
while :; do
    spread node3 "$since" "$T/of3" >"$T/spread1" 2>/dev/null
    moved=$(($(date +%s) - since))
    every_server_two "$T/spread1" && break
    [ $moved -le $((INTERVAL * 2)) ] || break
    sleep 0.5
done
echo "# node3's servers fresh again on 2 live nodes after $moved s" >&2
if every_server_two "$T/spread1"; then
    pass "node3's servers: fresh verdicts of 2 live nodes within two intervals ($moved s <= $((INTERVAL * 2)) s)"
else
    failed "after $((INTERVAL * 2)) s: $(grep -c stale "$T/spread1") stale" \
        "$(awk '{print $2, $3}' "$T/spread1" | sort | uniq -c)"
fi
check "the servers node3 did not watch keep their nodes" \
    [ "$(grep -v -w -F -f "$T/of3" "$T/spread0" | sort)" = \
      "$(grep -v -w -F -f "$T/of3" "$T/spread1" | sort)" ]
sleep 2
check "the move pages nothing (still $N events)" [ "$(events)" = "$N" ]

shard_node 3 || exit 1
back=$(date +%s)
while :; do
    spread >"$T/spread2" 2>/dev/null
    cmp -s "$T/spread0" "$T/spread2" && break
    [ $(($(date +%s) - back)) -le 60 ] || break
    sleep 0.5
done
if cmp -s "$T/spread0" "$T/spread2"; then
    pass "node3 back: the spread is the one before ($(($(date +%s) - back)) s)"
else
    failed "node3 back: spread differs after 60 s" \
        "$(diff "$T/spread0" "$T/spread2" | head -20)"
fi
check "still no page ($N events)" [ "$(events)" = "$N" ]

for n in 1 2 3; do
    stop_node "$n"
    if grep -qE "AddressSanitizer|LeakSanitizer|runtime error:" \
        "$T/node$n.log"; then
        failed "sanitizer report in node$n's log" \
            "$(grep -A30 -E "AddressSanitizer|LeakSanitizer|runtime error:" \
            "$T/node$n.log" | head -40)"
    else
        pass "node$n stopped cleanly"
    fi
done
finish
