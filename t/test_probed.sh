#!/bin/bash
# t/test_probed.sh: tocsin-probed against real servers on 127.0.0.1: nginx
# over HTTP and HTTPS, dnsmasq for dns:// and for resolving names, a closed
# port, and each kind of bad server (t/badserver). Asserts states, messages
# and latency parts as tocsinctl shows them, the spool, reload, restart.
set -u
. "${srcdir:-.}/t/servers.sh" || exit 1
. "${srcdir:-.}/t/probed.sh" || exit 1
servers_trap

start_nginx || exit 1
start_dnsmasq || exit 1
for m in noaccept silent drip flood garbage halfheader notls slow; do
    start_badserver "$m" || exit 1
done
CLOSED=$(servers_port)
printf 'secret\n' >"$T/pw"
printf 'wrong\n' >"$T/badpw"
H=127.0.0.1
N=$NGINX_PORT

cat >"$T/probed.conf" <<CONF
set state-dir $T/state
set interval 2s
set timeout 2s
set retries 2
set retry-interval 1s
set dns-servers 127.0.0.1:$DNS_PORT
contact ops email ops@example.net

server www http://$H:$N/health expect 200 body "^OK" notify ops
server named http://localhost.test:$N/health
server wrong http://$H:$N/wrong
server bodymiss http://$H:$N/body body "^nope"
server vhost http://$H:$N/health host vhost.test body "vhost ok"
server auth http://$H:$N/auth user tocsin password-file $T/pw body "auth ok"
server noauth http://$H:$N/auth
server badauth http://$H:$N/auth user tocsin password-file $T/badpw
server redirect http://$H:$N/redirect expect 302
server follow http://$H:$N/redirect follow body "^OK"
server tls https://localhost:$NGINX_TLS_PORT/health
server tlsinsecure https://localhost:$NGINX_TLS_PORT/health insecure
server expiring https://localhost:$NGINX_EXPIRING_PORT/health insecure cert-days 14
server closed http://$H:$CLOSED/
server behind http://$H:$N/wrong depends-on closed retries 4
server tcpclosed tcp://$H:$CLOSED
server tcpok tcp://$H:$N send "GET /health HTTP/1.0\\r\\n\\r\\n" expect "OK"
server tcptls tcp://$H:$NGINX_TLS_PORT tls insecure
server dnsa dns://127.0.0.1:$DNS_PORT/example.test?type=A expect 192.0.2.10
server dnsmx dns://127.0.0.1:$DNS_PORT/example.test?type=MX expect mail.example.test
server dnsaaaa dns://127.0.0.1:$DNS_PORT/v6.test?type=AAAA expect 2001:db8::10
server dnswrong dns://127.0.0.1:$DNS_PORT/example.test?type=A expect 192.0.2.99
server dnsnx dns://127.0.0.1:$DNS_PORT/nothing.test
server nxhost http://nothing.test:$N/
server noaccept http://$H:$BAD_NOACCEPT_PORT/
server silent http://$H:$BAD_SILENT_PORT/
server drip http://$H:$BAD_DRIP_PORT/
server flood http://$H:$BAD_FLOOD_PORT/
server garbage http://$H:$BAD_GARBAGE_PORT/
server halfheader http://$H:$BAD_HALFHEADER_PORT/
server notls https://$H:$BAD_NOTLS_PORT/ insecure
server slow http://$H:$BAD_SLOW_PORT/ warn 1ms
CONF

"$PROBED" -t -c "$T/probed.conf" >"$T/t.out" 2>&1
check "-t says config ok" grep -q "config ok: 32 servers, 0 farms, 1 contact" \
    "$T/t.out"
probed_start "$T/probed.conf" || exit 1

expect_state www up
assert_field www state_type hard
assert_match www message "^HTTP 200, [0-9]+ bytes in [0-9.]+ ms"
assert_match www latency_ms "^[0-9.]+$"
expect_state named up
expect_state vhost up
expect_state auth up
expect_state redirect up
expect_state follow up
expect_state tlsinsecure up
expect_state tcpok up
expect_state tcptls up
assert_match tcptls message "connected with TLS"
expect_state dnsa up
assert_match dnsa message "192.0.2.10"
expect_state dnsmx up
expect_state dnsaaaa up

expect_state wrong down
assert_match wrong message "HTTP 503, expected 200|HTTP 503, expected 2xx"
assert_field wrong state_type hard
expect_state bodymiss down
assert_match bodymiss message "body does not match"
expect_state noauth down
assert_match noauth message "HTTP 401"
expect_state badauth down
expect_state tls down
assert_match tls message "TLS certificate not trusted"
expect_state expiring degraded
assert_match expiring message "certificate expires in [0-9] days?"
expect_state closed down
assert_match closed message "Connection refused"
expect_state tcpclosed down
assert_match tcpclosed message "Connection refused"
expect_state dnswrong down
assert_match dnswrong message "expected 192.0.2.99"
expect_state dnsnx down
assert_match dnsnx message "no such name"
expect_state nxhost down
assert_match nxhost message "nothing.test"

# Bad servers: each costs its own check, with a clear message.
expect_state silent down 20
assert_match silent message "timeout after 2s waiting for first byte"
expect_state drip down 20
assert_match drip message "timeout after 2s"
expect_state flood up 20
assert_match flood message "stopped at 1 MiB"
expect_state garbage down 20
assert_match garbage message "bad answer|Unsupported|weird|HTTP"
expect_state halfheader down 20
assert_match halfheader message "mid-header"
expect_state notls down 20
assert_match notls message "TLS"
expect_state noaccept down 20
assert_match noaccept message "timeout after 2s|refused"
expect_state slow degraded 20

# Latency parts from the watch stream.
ctl -j watch >"$T/watch.log" 2>&1 &
wpid=$!
sleep 5
kill "$wpid" 2>/dev/null
wait "$wpid" 2>/dev/null
check "latency parts in the watch stream" "$PY" - "$T/watch.log" <<'PYEOF'
import json, sys
seen = {}
for line in open(sys.argv[1]):
    try:
        o = json.loads(line)
    except Exception:
        continue
    if o.get("type") == "result":
        seen[o["id"]] = o
w, t = seen.get("www"), seen.get("tlsinsecure")
assert w and t, "no results for www and tlsinsecure: %s" % list(seen)
assert w["connect_ms"] is not None and w["firstbyte_ms"] is not None
assert w["connect_ms"] <= w["firstbyte_ms"] <= w["latency_ms"], w
assert w["tls_ms"] is None, w
assert t["tls_ms"] is not None and t["connect_ms"] <= t["tls_ms"], t
assert seen.get("named") and seen["named"]["dns_ms"] is not None
PYEOF

# Healthy checks kept running while the bad servers hung.
c1=$(field www checks)
sleep 5
c2=$(field www checks)
check "www checked ${c1:-?} -> ${c2:-?} times: 2 or more in 5 s beside hanging servers" \
    [ "$((${c2:-0} - ${c1:-0}))" -ge 2 ]

# The spool holds the hard changes, written before watchers hear of them.
check "spool has events" ls "$T/state/spool/"*.json
check "spool: wrong went down" sh -c \
    'grep -l "\"id\":\"wrong\"" "$1"/*.json | xargs -r grep -q "\"new\":\"down\""' \
    sh "$T/state/spool"

expect_state behind down
check "spool: behind is marked unreachable (closed is down)" sh -c \
    'grep -l "\"id\":\"behind\"" "$1"/*.json | xargs -r grep -q "\"unreachable\":true"' \
    sh "$T/state/spool"

# Control commands.
check "tocsinctl ack wrong" ctl ack wrong "looking"
assert_field wrong acked true
check "tocsinctl downtime wrong 1h" ctl downtime wrong 1h "maintenance"
assert_match wrong downtime_until "^[0-9]+$"
check "tocsinctl drain www" ctl drain www
assert_field www drained true
check "tocsinctl enable www" ctl enable www
assert_field www drained false
check_not "status of an unknown id fails" ctl status nosuch

# Reload: a bad config keeps the old one; a good one keeps state by id.
since=$(field www since)
cp "$T/probed.conf" "$T/probed.conf.good"
echo "server broken gopher://x/" >>"$T/probed.conf"
kill -HUP "$PROBED_PID"
sleep 1
check "bad reload logged with FILE:LINE" grep -q \
    "reload failed, keeping the running config: .*probed.conf:[0-9]*: unknown URL scheme 'gopher'" \
    "$T/probed.log"
assert_field www state up
grep -v "^server wrong " "$T/probed.conf.good" >"$T/probed.conf"
echo "server added http://$H:$N/health" >>"$T/probed.conf"
kill -HUP "$PROBED_PID"
expect_state added up
assert_field www since "$since"
check_not "removed server is gone" ctl status wrong

# Restart: state, counters and since survive.
checks=$(field www checks)
probed_stop
probed_start "$T/probed.conf" || exit 1
assert_field www since "$since"
c3=$(field www checks)
check "checks counter kept over restart ($checks -> $c3)" \
    [ "${c3:-0}" -ge "${checks:-1}" ]
assert_field noauth state down
finish
