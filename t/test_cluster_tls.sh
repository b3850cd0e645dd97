#!/bin/sh
# t/test_cluster_tls.sh: `set cluster` over TLS with a password. A real
# nats-server (JetStream) with TLS (t/servers.sh's test CA) and a user and
# password: a probe node with `ca` and the right password joins (its
# heartbeat and verdict go through the buckets, and the cluster's view of
# web comes back up) and reconnects when the server restarts; one without
# `ca` and one with a wrong password say why in their log (the TLS or
# authorization error); no log shows the password. tocsin-probed -t
# refuses `ca` without tls:// and files that are missing or, for
# credentials, readable by every user, naming FILE:LINE.
set -u
. "${srcdir:-.}/t/cluster.sh" || exit 1
cluster_setup

# says N TEXT: node N's log has TEXT (fixed string).
says() {
    grep -qF "$2" "$T/node$1.log"
}

# cview: node1's cluster view: the live nodes and web's cluster state.
cview() {
    nctl 1 -j status 2>/dev/null | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
print(",".join(d["cluster"]["alive"]),
      [s for s in d["servers"] if s["id"] == "web"][0]["cluster"]["state"])
' 2>/dev/null
}

# -t refusals, each naming the line.
servers_certs || exit 1
printf 'set cluster nats://127.0.0.1:4222 ca %s\nserver web tcp://127.0.0.1:1\n' \
    "$TLS_CA" >"$T/ca-plain.conf"
out=$("$PROBED" -t -c "$T/ca-plain.conf" 2>&1)
check "-t: ca with nats:// URLs is refused at FILE:LINE ($out)" \
    expr "$out" : ".*ca-plain.conf:1: 'ca' is for tls:// URLs" \
    \& "$out" : "config ok" = 0
printf 'set cluster tls://127.0.0.1:4222 ca %s/nothing.pem\nserver web tcp://127.0.0.1:1\n' \
    "$T" >"$T/ca-missing.conf"
out=$("$PROBED" -t -c "$T/ca-missing.conf" 2>&1)
check "-t: a missing ca file is refused at FILE:LINE ($out)" \
    expr "$out" : ".*ca-missing.conf:1: cluster: ca .*nothing.pem: No such file"
printf 'not a real creds file\n' >"$T/world.creds"
chmod 644 "$T/world.creds"
printf '\nset cluster tls://127.0.0.1:4222 credentials %s\nserver web tcp://127.0.0.1:1\n' \
    "$T/world.creds" >"$T/creds.conf"
out=$("$PROBED" -t -c "$T/creds.conf" 2>&1)
check "-t: a credentials file every user reads is refused at FILE:LINE ($out)" \
    expr "$out" : ".*creds.conf:2: cluster: credentials .*readable by every user"
chmod 600 "$T/world.creds"
out=$("$PROBED" -t -c "$T/creds.conf" 2>&1)
check "-t: ... and taken once it is 0600 ($out)" expr "$out" : "config ok"

start_nginx || exit 1
_srv_setport NATS_TLS_PORT || exit 1
mkdir -p "$T/natstls" && _srv_chown "$T/natstls" || exit 1
_srv_spawn natstls $SERVERS_ASUSER nats-server -js -a 127.0.0.1 \
    -p "$NATS_TLS_PORT" -sd "$T/natstls" --tls --tlscert "$TLS_CERT" \
    --tlskey "$TLS_KEY" --user tocsin --pass s3cret || exit 1
_srv_wait natstls "t:$NATS_TLS_PORT" || exit 1

# start_node reads the URLs from NATS_URLS; the line's options follow.
URL="127.0.0.1:$NATS_TLS_PORT"
NATS_URLS="tls://tocsin:s3cret@$URL ca $TLS_CA"
start_node 1 - || exit 1
NATS_URLS="tls://tocsin:s3cret@$URL"
start_node 2 - || exit 1
NATS_URLS="tls://tocsin:wrong@$URL ca $TLS_CA"
start_node 3 - || exit 1

if until_says 20 "node1 up" cview; then
    pass "TLS + password + ca: node1 is alive in the cluster and web is up there"
else
    failed "node1's cluster view: '$(cview)'" "$(grep cluster "$T/node1.log" | tail -5)"
fi
check "node1 says it connected" says 1 "cluster: connected as node node1"
if wait_for 10 says 2 "unable to get local issuer certificate"; then
    pass "without ca: the log says the server's certificate is not trusted"
else
    failed "node2 does not say why" "$(grep cluster "$T/node2.log" | head -3)"
fi
check_not "... and it never connected" says 2 "connected as node"
if wait_for 10 says 3 "Authorization Violation"; then
    pass "a wrong password: the log says Authorization Violation"
else
    failed "node3 does not say why" "$(grep cluster "$T/node3.log" | head -3)"
fi
check_not "... and it never connected" says 3 "connected as node"
# The server restarted: node1 reconnects, and its log names the server
# without the password.
servers_stop natstls
_srv_spawn natstls $SERVERS_ASUSER nats-server -js -a 127.0.0.1 \
    -p "$NATS_TLS_PORT" -sd "$T/natstls" --tls --tlscert "$TLS_CERT" \
    --tlskey "$TLS_KEY" --user tocsin --pass s3cret || exit 1
_srv_wait natstls "t:$NATS_TLS_PORT" || exit 1
if wait_for 20 says 1 "cluster: connected to tls://$URL as node node1"; then
    pass "the server restarted: node1 reconnects and names it"
else
    failed "node1 did not reconnect" "$(grep cluster "$T/node1.log" | tail -5)"
fi
check_not "no log shows the password" grep -q s3cret "$T"/node1.log \
    "$T"/node2.log "$T"/node3.log
check "node1 alone is alive: the refused nodes put no heartbeat" \
    [ "$(cview)" = "node1 up" ]

for n in 1 2 3; do
    stop_node "$n"
    clean_log "node$n"
done
finish
