#!/bin/bash
# t/test_checks2.sh: the check kinds' second pass against real servers on
# 127.0.0.1: nginx (with the test CA trusted through SSL_CERT_FILE),
# aiosmtpd (smtps, STARTTLS), pyftpdlib, openssl s_server (an expired certificate, a
# TLS 1.0-only server) and
# dnsmasq (SERVFAIL from a validating one, REFUSED) and t/badserver (a
# stalled TLS handshake, an FTP greeting without end, a wrong banner).
# Asserts states and messages as tocsinctl shows them.
set -u
. "${srcdir:-.}/t/servers.sh" || exit 1
. "${srcdir:-.}/t/probed.sh" || exit 1
servers_trap
trap 'rc=$?; [ -z "${PROBED_PID:-}" ] || kill -TERM "$PROBED_PID" 2>/dev/null
(exit $rc); _srv_on_exit' EXIT

start_nginx || exit 1
start_dnsmasq || exit 1
start_smtp || exit 1
start_ftp || exit 1
if [ -z "${FTPS_PORT:-}" ]; then
    echo "FAIL - no FTPS server (python3-openssl for /usr/bin/python3)"
    exit 1
fi
for m in silent longline flood garbage-banner; do
    start_badserver "$m" || exit 1
done

# An expired certificate signed by the test CA (openssl ca takes explicit
# dates; req and x509 take only a positive number of days).
make_expired() {
    local d=$T/certs2
    mkdir -p "$d" && (
        set -e
        cd "$d"
        : >index.txt
        echo 01 >serial
        printf '%s\n' "[ca]" "default_ca = c" "[c]" "dir = ." \
            "database = index.txt" "new_certs_dir = ." "serial = serial" \
            "default_md = sha256" "policy = p" "copy_extensions = copy" \
            "unique_subject = no" "[p]" "commonName = supplied" >ca.cnf
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
            -nodes -keyout expired.key -out expired.csr -subj /CN=localhost \
            -addext "subjectAltName=DNS:localhost,IP:127.0.0.1"
        openssl ca -batch -config ca.cnf -cert "$TLS_CA" \
            -keyfile "$T/certs/ca.key" -in expired.csr -out expired.crt \
            -startdate 20250101000000Z -enddate 20250201000000Z
        # A certificate for TLS 1.0 (RSA, signed with SHA-256 is fine;
        # the protocol is what is refused).
        openssl req -x509 -newkey rsa:2048 -nodes -keyout old.key \
            -out old.crt -days 30 -subj /CN=localhost
        chmod 644 ./*.key ./*.crt
    ) >"$T/certs2.log" 2>&1 || { cat "$T/certs2.log"; return 1; }
}
make_expired || exit 1

# s_server NAME PORTVAR ARGS...: openssl s_server answering HTTP (-www).
s_server() {
    local name=$1 var=$2 port
    shift 2
    _srv_setport "$var" || return 1
    eval "port=\$$var"
    _srv_spawn "$name" openssl s_server -accept "127.0.0.1:$port" -www \
        -quiet "$@" || return 1
    _srv_wait "$name" "t:$port"
}
s_server expired EXPIRED_PORT -cert "$T/certs2/expired.crt" \
    -key "$T/certs2/expired.key" || exit 1
s_server tls10 TLS10_PORT -cert "$T/certs2/old.crt" -key "$T/certs2/old.key" \
    -tls1 -cipher "DEFAULT:@SECLEVEL=0" || exit 1

# A validating dnsmasq whose only upstream (another dnsmasq) serves
# unsigned answers: it cannot prove them, so it answers SERVFAIL; names
# outside .test the upstream refuses, and so it passes REFUSED on.
_srv_setport UPSTREAM_DNS_PORT && _srv_setport SERVFAIL_DNS_PORT || exit 1
_srv_spawn dns-upstream dnsmasq --keep-in-foreground --conf-file=/dev/null \
    --no-resolv --no-hosts --no-poll --bind-interfaces \
    --listen-address=127.0.0.1 --port="$UPSTREAM_DNS_PORT" \
    --pid-file="$T/dns-upstream.pidfile" --local=/test/ \
    --host-record=x.fail.test,192.0.2.1 || exit 1
_srv_wait dns-upstream "u:$UPSTREAM_DNS_PORT" || exit 1
_srv_spawn dns-servfail dnsmasq --keep-in-foreground --conf-file=/dev/null \
    --no-resolv --no-hosts --no-poll --bind-interfaces \
    --listen-address=127.0.0.1 --port="$SERVFAIL_DNS_PORT" \
    --pid-file="$T/dns-servfail.pidfile" \
    --server="127.0.0.1#$UPSTREAM_DNS_PORT" --dnssec \
    --dnssec-check-unsigned \
    --trust-anchor=.,20326,8,2,E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D ||
    exit 1
_srv_wait dns-servfail "u:$SERVFAIL_DNS_PORT" || exit 1

export SSL_CERT_FILE=$TLS_CA
H=127.0.0.1
N=$NGINX_PORT
printf 'secret\n' >"$T/pw"
chmod 600 "$T/pw"
LOGIN="user tocsin password-file $T/pw"

cat >"$T/probed.conf" <<CONF
set state-dir $T/state
set interval 2s
set timeout 2s
set retries 1
set retry-interval 1s
set dns-servers 127.0.0.1:$DNS_PORT

server tls https://localhost:$NGINX_TLS_PORT/health
server sni https://localhost.test:$NGINX_TLS_PORT/health host vhost.test body "vhost ok"
server sniname https://$H:$NGINX_WRONGNAME_PORT/health host wrong.test
server snibad https://$H:$NGINX_WRONGNAME_PORT/health host vhost.test
server wrongname https://localhost:$NGINX_WRONGNAME_PORT/health
server expired https://localhost:$EXPIRED_PORT/
server expiredins https://localhost:$EXPIRED_PORT/ insecure cert-days 14
server tls10 https://localhost:$TLS10_PORT/ insecure
server tcpwrongname tcp://localhost:$NGINX_WRONGNAME_PORT tls
server tcpexpired tcp://localhost:$EXPIRED_PORT tls
server tcptls10 tcp://localhost:$TLS10_PORT tls insecure
server tcpexpiring tcp://localhost:$NGINX_EXPIRING_PORT tls cert-days 14
server tcpexpiredins tcp://localhost:$EXPIRED_PORT tls insecure cert-days 14
server expiring https://localhost:$NGINX_EXPIRING_PORT/health cert-days 14
server expiringcrit https://localhost:$NGINX_EXPIRING_PORT/health cert-days 14,7
server longwarn https://localhost:$NGINX_TLS_PORT/health cert-days 400
server longok https://localhost:$NGINX_TLS_PORT/health cert-days 30,7
server smtpsdays smtps://localhost:$SMTPS_PORT cert-days 400
server ftpsdays ftp://localhost:$FTPS_PORT/ starttls cert-days 400
server ftpsdayslogin ftp://localhost:$FTPS_PORT/ starttls $LOGIN cert-days 400,380
server starttlsdays smtp://localhost:$SMTP_STARTTLS_PORT starttls cert-days 400,380
server stall https://$H:$BAD_SILENT_PORT/
server ftpsstall ftps://$H:$BAD_SILENT_PORT/
server ftpflood ftp://$H:$BAD_LONGLINE_PORT/
server ftpfloodlogin ftp://$H:$BAD_LONGLINE_PORT/ $LOGIN
server ftpgreet ftp://$H:$FTP_AUTH_PORT/
server ftpexpect ftp://$H:$FTP_PORT/ expect "pyftpdlib"
server ftpexpectbad ftp://$H:$FTP_PORT/ expect "vsFTPd"
server ftploginexpect ftp://$H:$FTP_AUTH_PORT/ $LOGIN expect "Login successful"
server ftploginexpectbad ftp://$H:$FTP_AUTH_PORT/ $LOGIN expect "nope"
server servfail dns://127.0.0.1:$SERVFAIL_DNS_PORT/x.fail.test?type=A
server refused dns://127.0.0.1:$SERVFAIL_DNS_PORT/example.com?type=A
server tcpwait tcp://$H:$BAD_GARBAGE_BANNER_PORT expect "220 "
server tcpsilent tcp://$H:$BAD_SILENT_PORT expect "220 "
server s400 http://$H:$N/s400
server s399 http://$H:$N/s399
server bigbody http://$H:$BAD_FLOOD_PORT/ timeout 10s
server bigmiss http://$H:$BAD_FLOOD_PORT/ body "^nothing like it" timeout 10s
server loop http://$H:$N/loop follow
server chain5 http://$H:$N/r5 follow body "^OK"
server chain6 http://$H:$N/r6 follow
server chain6ok http://$H:$N/r6 follow max-redirects 6 body "^OK"
CONF
probed_start "$T/probed.conf" || exit 1

# host names the TLS server and the name verified, not only Host.
expect_state tls up
expect_state sni up
assert_match sni message "^HTTP 200"
expect_state sniname up
expect_state snibad down
assert_match snibad message "TLS certificate name mismatch: the certificate does not name vhost.test"

# A wrong name and an expired certificate say which.
expect_state wrongname down
assert_match wrongname message "^TLS certificate name mismatch: the certificate does not name localhost"
expect_state expired down
assert_match expired message "^TLS certificate expired on 2025-02-01"
expect_state tcpwrongname down
assert_match tcpwrongname message "^TLS certificate name mismatch"
expect_state tcpexpired down
assert_match tcpexpired message "^TLS certificate expired on 2025-02-01"

# cert-days: degraded before expiry, down once expired (insecure too), on
# https and on tcp tls alike.
expect_state expiring degraded
assert_match expiring message "certificate expires in [0-9] days? "
expect_state tcpexpiring degraded
assert_match tcpexpiring message "certificate expires in [0-9] days? "
expect_state expiredins down
assert_match expiredins message "certificate expired on 2025-02-01"
expect_state tcpexpiredins down
assert_match tcpexpiredins message "certificate expired on 2025-02-01"
# cert-days WARN,CRIT: down under the critical threshold.
expect_state expiringcrit down
assert_match expiringcrit message "certificate expires in [0-9] days? "
expect_state longwarn degraded
assert_match longwarn message "certificate expires in 36[0-9] days"
expect_state longok up
# STARTTLS and implicit TLS mail checks read the certificate too.
expect_state smtpsdays degraded
assert_match smtpsdays message "^SMTP, certificate expires in 36[0-9] days"
expect_state starttlsdays down
assert_match starttlsdays message "^SMTP, certificate expires in 36[0-9] days"
expect_state ftpsdays degraded
assert_match ftpsdays message "^FTP, certificate expires in 36[0-9] days"
expect_state ftpsdayslogin down
assert_match ftpsdayslogin message "^FTP, certificate expires in 36[0-9] days"

# A TLS 1.0-only server is named for its protocol.
expect_state tls10 down
assert_match tls10 message "server offers only TLSv1.0"
expect_state tcptls10 down
assert_match tcptls10 message "server offers only TLSv1.0"

# A stalled handshake, an FTP greeting that never ends.
expect_state stall down 20
assert_match stall message "timeout after 2s waiting for the TLS handshake"
expect_state ftpsstall down 20
assert_match ftpsstall message "timeout after 2s waiting for the TLS handshake"
expect_state ftpflood down 20
assert_match ftpflood message "^reply line too long: no line end in the greeting"
expect_state ftpfloodlogin down 20
assert_match ftpfloodlogin message "^reply line too long: no line end in the greeting"

# ftp: the greeting alone unless user is given; expect is honoured, by
# the greeting or the login reply.
expect_state ftpgreet up
assert_match ftpgreet message "^banner 220 pyftpdlib"
expect_state ftpexpect up
expect_state ftpexpectbad down
assert_match ftpexpectbad message "^banner \"220 pyftpdlib.*\" does not hold \"vsFTPd\""
expect_state ftploginexpect up
assert_match ftploginexpect message "^logged in as tocsin in"
expect_state ftploginexpectbad down
assert_match ftploginexpectbad message "^neither greeting .* nor login reply \"230 Login successful.\" holds \"nope\""

# DNS: SERVFAIL and REFUSED are named, with the server asked.
expect_state servfail down
assert_match servfail message "^x.fail.test A: SERVFAIL from 127.0.0.1:$SERVFAIL_DNS_PORT$"
expect_state refused down
assert_match refused message "^example.com A: REFUSED by 127.0.0.1:$SERVFAIL_DNS_PORT$"

# tcp: a timeout waiting for expect shows what did arrive, escaped.
expect_state tcpwait down 20
assert_match tcpwait message 'waiting for the expected answer \(got "xyzzy garbage\\r\\n"\)$'
expect_state tcpsilent down 20
assert_match tcpsilent message "waiting for the expected answer \(nothing arrived\)$"

# The status boundary without expect: 399 passes, 400 fails.
expect_state s399 up
assert_match s399 message "^HTTP 399"
expect_state s400 down
assert_match s400 message "^HTTP 400, expected 2xx or 3xx"

# A body over 1 MiB: judged on its status without a pattern; with one,
# no match in the first 1 MiB.
expect_state bigbody up 20
assert_match bigbody message "^HTTP 200, 1048576 bytes \(stopped at 1 MiB\)"
expect_state bigmiss down 20
assert_match bigmiss message "no match for .* in the first 1 MiB"

# follow: a loop is called one; five redirects pass by default, six not.
expect_state loop down
assert_match loop message "^redirect loop: back to http://$H:$N/loop"
expect_state chain5 up
expect_state chain6 down
assert_match chain6 message "more than 5 redirects"
expect_state chain6ok up

finish
