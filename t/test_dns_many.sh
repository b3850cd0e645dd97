#!/bin/bash
# t/test_dns_many.sh: a DNS check's expect is matched against every
# record of the answer, however many (a name with 20 round-robin A and
# AAAA records; 12 TXT records of 80 bytes, which dnsmasq gives last one
# first), while the message keeps as many as fit and says how many more
# there were. A real dnsmasq serves them.
set -u
. "${srcdir:-.}/t/servers.sh" || exit 1
. "${srcdir:-.}/t/probed.sh" || exit 1
servers_trap
trap 'rc=$?; [ -z "${PROBED_PID:-}" ] || kill -TERM "$PROBED_PID" 2>/dev/null
(exit $rc); _srv_on_exit' EXIT

FILL=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
records=()
for i in $(seq 1 20); do
    records+=("--host-record=many.test,10.0.0.$i,2001:db8::$i")
done
for i in $(seq 1 12); do
    records+=("--txt-record=long.test,record $i $FILL tail$i")
done
_srv_setport MANY_DNS_PORT || exit 1
_srv_spawn dns-many dnsmasq --keep-in-foreground --conf-file=/dev/null \
    --no-resolv --no-hosts --no-poll --bind-interfaces \
    --listen-address=127.0.0.1 --port="$MANY_DNS_PORT" \
    --pid-file="$T/dns-many.pidfile" --local=/test/ "${records[@]}" ||
    exit 1
_srv_wait dns-many "u:$MANY_DNS_PORT" "t:$MANY_DNS_PORT" || exit 1

D=dns://127.0.0.1:$MANY_DNS_PORT
cat >"$T/probed.conf" <<CONF
set state-dir $T/state
set archives off
set interval 200ms
set timeout 2s
set retries 1
server last4 $D/many.test?type=A expect 10.0.0.20
server first4 $D/many.test?type=A expect 10.0.0.1
server last6 $D/many.test?type=AAAA expect 2001:db8::20
server lasttxt $D/long.test?type=TXT expect tail1
server absent $D/many.test?type=A expect 10.0.0.21
CONF
probed_start "$T/probed.conf" || exit 1

# expect_found_among_all_records: 5 s at 200 ms, about 25 checks each,
# and not one failure (dnsmasq turns the records round, so a check that
# saw only 16 of them failed now and then, and always for the 20th).
sleep 5
for s in last4 first4 last6 lasttxt; do
    c=$(field $s checks)
    f=$(field $s failures)
    if [ "${c:-0}" -ge 10 ] && [ "$f" = 0 ]; then
        pass "$s: expect found in all $c checks"
    else
        failed "$s: $f failures in ${c:-0} checks ($(field $s message))"
    fi
    assert_field $s state up
done

# message_keeps_what_fits: 20 addresses fit a message; 12 TXT records of
# 80 bytes do not, and the message says how many were left out.
assert_match last4 message \
    "^many.test A (10\.0\.0\.[0-9]+ ){20}in [0-9.]+ ms$"
assert_match lasttxt message \
    "^long.test TXT record [0-9]+ x+ tail[0-9]+ .*\(\+[0-9]+ more\) in [0-9.]+ ms$"

# expect_missing_from_all_records_is_down: an address no record holds.
expect_state absent down 5
assert_match absent message \
    "^many.test A is (10\.0\.0\.[0-9]+ ){19}10\.0\.0\.[0-9]+, expected 10\.0\.0\.21$"
finish
