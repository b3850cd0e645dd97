#!/bin/sh
# t/test_cluster_ctl_farm.sh: a downtime of a big farm reaches the bucket
# tocsin_control whole. One probe node on a 3-server NATS JetStream
# cluster watches farm big, $N servers (1100: more than the 1024 changes
# the node once let wait, dropping the oldest, the one being written
# among them, so the daemon died of a use after free); `tocsinctl
# downtime big for 1h` puts one key a server, each one's downtime, the
# node logs no change dropped and stops cleanly, with no sanitizer report.
set -u
. "${srcdir:-.}/t/cluster.sh" || exit 1
cluster_setup


N=${TOCSIN_FARM_SERVERS:-1100}

# dt_keys: the servers of big with a downtime (comment "test") in
# tocsin_control, one a line.
dt_keys() {
    natsdump -k tocsin_control | "$PY" -c '
import json, sys
seen = set()
for line in sys.stdin:
    key, data = line.rstrip("\n").split(" ", 1)
    try:
        d = json.loads(data)
    except ValueError:
        continue
    if d.get("kind") == "downtime" and \
            d.get("downtime", {}).get("comment") == "test":
        seen.add(d["server"])
print("\n".join(sorted(seen)))'
}
# all_dt: every server of big has its downtime there.
all_dt() {
    [ "$(dt_keys | grep -c '^big/s[0-9]*$')" = "$N" ]
}

start_nginx || exit 1
start_nats_cluster || exit 1
NODE_EXTRA=$(
    echo "set max-concurrent 200"
    echo "farm big {"
    echo "    interval 60s"
    i=0
    while [ $i -lt "$N" ]; do
        echo "    server s$i tcp://127.0.0.1:$NGINX_PORT"
        i=$((i + 1))
    done
    echo "}"
)
start_node 1 1 || exit 1
pass "a probe node with a farm of $N servers runs"
wait_for 60 grep -q "bucket tocsin_control ready" "$T/node1.log" ||
    failed "tocsin_control is not set up" "$(tail -20 "$T/node1.log")"

out=$(nctl 1 downtime big for 1h test 2>&1)
rc=$?
check "tocsinctl downtime big for 1h: taken ($(echo "$out" | cut -c1-40) ...)" \
    [ "$rc" = 0 ]
if wait_for 120 all_dt; then
    pass "each of the $N servers' downtime is in tocsin_control"
else
    failed "$(dt_keys | grep -c .) of $N downtimes in tocsin_control" \
        "$(grep -c dropped "$T/node1.log") dropped; $(tail -5 "$T/node1.log")"
fi
check "the node logged no change dropped" \
    [ "$(grep -c 'dropped' "$T/node1.log")" = 0 ]
check "the node still runs" servers_running node1
stop_node 1
clean_log node1
finish
