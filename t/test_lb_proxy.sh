#!/bin/bash
# t/test_lb_proxy.sh: tocsin-lb's `proxy-protocol v1|v2` toward servers
# that read it (nginx `listen ... proxy_protocol`, which answers what the
# header said): in tcp and http mode, over IPv4 and IPv6, the server
# learns the client's address and port and the address it connected to;
# in http mode a pooled server connection serves only the client it
# was opened for.
set -u
. "${srcdir:-.}/t/servers.sh" || exit 1
. "${srcdir:-.}/t/probed.sh" || exit 1
servers_trap
. "${srcdir:-.}/t/lb.sh" || exit 1

command -v curl >/dev/null || skip_all "no curl"
PP=$(servers_port)
d=$T/pp
mkdir -p "$d/tmp" || exit 1
_srv_fill nginx_pp.conf "$d/nginx.conf" DIR="$d" PORT="$PP" || exit 1
touch "$d/access.log"
_srv_chown "$d"
_srv_spawn pp $SERVERS_ASUSER nginx -p "$d" -c nginx.conf \
    -e "$d/error.log" || exit 1
_srv_wait pp "t:$PP" "log:$d/error.log" || exit 1

T1=$(servers_port) T2=$(servers_port) H1=$(servers_port) H2=$(servers_port)
T6=$(servers_port)
H=127.0.0.1
have6=1
python3 -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1", 0))' \
    2>/dev/null || have6=0
listen6=
[ $have6 = 1 ] && listen6="listen [::1]:$T6 tcp"
cat >"$T/lb.conf" <<CONF
set state-dir $T/state
farm t1 {
    proxy-protocol v1
    listen $H:$T1 tcp
    $listen6
    server pp tcp://$H:$PP
}
farm t2 {
    proxy-protocol v2
    listen $H:$T2 tcp
    server pp tcp://$H:$PP
}
farm h1 {
    proxy-protocol v1
    listen $H:$H1 http
    server pp tcp://$H:$PP
}
farm h2 {
    proxy-protocol v2
    listen $H:$H2 http
    server pp tcp://$H:$PP
}
CONF
lb_start "$T/lb.conf" || exit 1

# expect_pp DESC OUT SRCIP LBADDR LBPORT: nginx said the client was
# SRCIP (any port), that it connected to LBADDR:LBPORT, and that the
# connection came from 127.0.0.1 (tocsin-lb).
expect_pp() {
    case $2 in
    "client=$3:"[0-9]*" server=$4:$5 from=127.0.0.1")
        pass "$1 ($2)" ;;
    *) failed "$1" "nginx answered '$2'" ;;
    esac
}

for v in 1 2; do
    port=$(eval echo "\$T$v")
    out=$(curl -s --max-time 5 --interface 127.0.0.2 "http://$H:$port/t$v")
    expect_pp "tcp, v$v: the server reads the client and the listener" \
        "$out" 127.0.0.2 127.0.0.1 "$port"
    port=$(eval echo "\$H$v")
    out=$(curl -s --max-time 5 --interface 127.0.0.3 "http://$H:$port/h$v")
    expect_pp "http, v$v: the server reads the client and the listener" \
        "$out" 127.0.0.3 127.0.0.1 "$port"
done

# The client's port, exactly: one chosen here.
cport=$(servers_port)
out=$(curl -s --max-time 5 --interface 127.0.0.2 --local-port "$cport" \
    "http://$H:$T2/port")
[ "$out" = "client=127.0.0.2:$cport server=127.0.0.1:$T2 from=127.0.0.1" ] &&
    pass "v2 carries the client's port ($cport)" ||
    failed "v2 client port" "nginx answered '$out'"

if [ $have6 = 1 ]; then
    out=$(curl -s --max-time 5 -g "http://[::1]:$T6/six")
    expect_pp "tcp over IPv6, v1: TCP6 with both addresses" "$out" ::1 ::1 \
        "$T6"
else
    skip "tcp over IPv6" "no ::1 here"
fi

# http: keep-alive from two clients in turn; each answer names its own
# client, so a server connection pooled after the first client's
# requests was not handed to the second.
for v in 1 2; do
    port=$(eval echo "\$H$v")
    a=$(curl -s --max-time 5 --interface 127.0.0.2 "http://$H:$port/a1" \
        "http://$H:$port/a2" | cut -d' ' -f1 | cut -d: -f1 | sort -u |
        tr '\n' ' ')
    b=$(curl -s --max-time 5 --interface 127.0.0.3 "http://$H:$port/b1" \
        "http://$H:$port/b2" | cut -d' ' -f1 | cut -d: -f1 | sort -u |
        tr '\n' ' ')
    [ "$a" = "client=127.0.0.2 " ] && [ "$b" = "client=127.0.0.3 " ] &&
        pass "http v$v: a pooled connection serves only its own client" ||
        failed "http v$v: pooled connection crossed clients" \
            "first client saw '$a', second '$b'"
done
if grep -q "broken header" "$d/error.log"; then
    failed "nginx read every PROXY header" "$(grep 'broken header' "$d/error.log" | head -3)"
else
    pass "nginx read every PROXY header (no broken header)"
fi

lb_stop
_harness_summary
[ "$nfail" -eq 0 ]
