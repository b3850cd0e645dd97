#!/bin/bash
# t/test_checks2.sh: the check kinds' second pass against real servers on
# 127.0.0.1: nginx (with the test CA trusted through SSL_CERT_FILE),
# openssl s_server (an expired certificate, a TLS 1.0-only server) and
# t/badserver (a stalled TLS handshake, an FTP greeting without end).
# Asserts states and messages as tocsinctl shows them.
set -u
. "${srcdir:-.}/t/servers.sh" || exit 1
. "${srcdir:-.}/t/probed.sh" || exit 1
servers_trap
trap 'rc=$?; [ -z "${PROBED_PID:-}" ] || kill -TERM "$PROBED_PID" 2>/dev/null
(exit $rc); _srv_on_exit' EXIT

start_nginx || exit 1
start_dnsmasq || exit 1
for m in silent longline; do
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

export SSL_CERT_FILE=$TLS_CA
H=127.0.0.1
N=$NGINX_PORT

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
server stall https://$H:$BAD_SILENT_PORT/
server ftpsstall ftps://$H:$BAD_SILENT_PORT/
server ftpflood ftp://$H:$BAD_LONGLINE_PORT/
server s400 http://$H:$N/s400
server s399 http://$H:$N/s399
CONF
probed_start "$T/probed.conf" || exit 1
sleep 6
ctl status
