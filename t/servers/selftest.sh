# t/servers/selftest.sh: servers_selftest, sourced by t/servers.sh. It
# starts every server, talks to each as a client would and checks the
# answer, stops them all (also after a crash) and checks that no process is
# left. Each step is an assertion of t/probed.sh's harness (pass, failed),
# which the caller sources; returns 0 if all passed. Every step is bounded
# (curl --max-time, timeout, probe.py).

_st_n=0
_st_bad=0

# _st WHAT RC PATTERN CMD...: run CMD (its stdout in $T/selftest.out, its
# stderr in $T/selftest.err); pass if its exit status matches RC (a case
# pattern: 0, 1|8) and PATTERN, an extended regex, matches a line of either
# ("" for anything, "-" for no output at all).
_st() {
    local what=$1 rc=$2 pat=$3 got o=$T/selftest.out e=$T/selftest.err
    shift 3
    _st_n=$((_st_n + 1))
    "$@" >"$o" 2>"$e"
    got=$?
    if eval "case \$got in $rc) true ;; *) false ;; esac" &&
        case $pat in
        '') true ;;
        -) [ ! -s "$o" ] && [ ! -s "$e" ] ;;
        *) grep -Eq -- "$pat" "$o" || grep -Eq -- "$pat" "$e" ;;
        esac; then
        pass "$what"
    else
        failed "$what (exit $got, wanted $rc${pat:+, output /$pat/})" \
            "$(head -c 600 "$o"; echo; head -c 600 "$e")"
        _st_bad=$((_st_bad + 1))
    fi
}

# _st_start WHAT CMD...: a start function; its failure is a failed test.
_st_start() {
    _st "$* starts" 0 "" "$@"
}

_st_curl() {
    curl -sS --max-time 5 "$@"
}

# HTTP status, or curl's failure.
_st_code() {
    curl -sS --max-time 5 -o /dev/null -w '%{http_code}' "$@"
}

_st_probe() {
    $SERVERS_PY "$SERVERS_TDIR/servers/probe.py" "$@"
}

# _st_checkend PORT SECS: the certificate on PORT is still valid in SECS.
_st_checkend() {
    timeout 5 openssl s_client -connect "127.0.0.1:$1" -servername localhost \
        </dev/null 2>/dev/null | openssl x509 -noout -checkend "$2"
}

# _st_gone PID...: none of these groups has a live process left.
_st_gone() {
    local p left=""
    for p in "$@"; do
        [ -z "$(_srv_members "$p")" ] && ! _srv_alive "$p" "" ||
            left="$left $p"
    done
    [ -z "$left" ] || { echo "still running:$left"; ps -o pid,pgid,user,args \
        -p "$(echo $left | tr ' ' ,)" 2>&1; return 1; }
}

# _st_ours_listening: print each listener on a port this test was handed
# ($T/ports) that is this test's (its command line or working directory in
# $T). Tests run side by side, and another test's server may take a port
# this one freed: that one is not a leftover.
_st_ours_listening() {
    local p pid
    for p in $(cat "$T/ports"); do
        for pid in $(_srv_port_pids t "$p"); do
            if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null |
                grep -qF -- "$T" ||
                case $(readlink "/proc/$pid/cwd" 2>/dev/null) in
                "$T"|"$T"/*) true ;; *) false ;; esac; then
                echo "port $p: $(ps -o pid=,args= -p "$pid")"
            fi
        done
    done
}

# _st_users PID: the users a process group runs as, on one line.
_st_users() {
    ps -o user= -p "$(_srv_members "$1" | paste -sd, -)" | sort -u |
        tr -s ' \n' ' '
}

_st_mail() {
    printf '%s\r\n' "From: a@localhost.test" "To: b@localhost.test" \
        "Subject: t" "" "hello" >"$T/selftest.mail"
    curl -sS --max-time 5 --mail-from a@localhost.test \
        --mail-rcpt b@localhost.test -T "$T/selftest.mail" "$@"
}

servers_selftest() {
    local req='GET / HTTP/1.0\r\n\r\n' m pids ca
    _st_n=0
    _st_bad=0
    echo "# servers_selftest in $T"

    _st_start start_nginx
    _st_start start_dnsmasq
    _st_start start_ftp
    _st_start start_smtp
    _st_start start_dovecot
    _st_start start_rrdcached
    for m in noaccept silent drip flood garbage halfheader shortbody notls \
        banner-close garbage-banner reset; do
        _st_start start_badserver "$m"
    done
    _st_start start_badserver slow -d 1000
    ca="--cacert $TLS_CA"

    # nginx
    _st "http /health is OK" 0 '^OK$' \
        _st_curl "http://127.0.0.1:$NGINX_PORT/health"
    _st "http /wrong is 503" 0 '^503$' \
        _st_code "http://127.0.0.1:$NGINX_PORT/wrong"
    _st "http /body" 0 '^hello world$' \
        _st_curl "http://127.0.0.1:$NGINX_PORT/body"
    _st "http vhost.test /health" 0 '^vhost ok$' \
        _st_curl -H 'Host: vhost.test' "http://127.0.0.1:$NGINX_PORT/health"
    _st "http /auth without a password is 401" 0 '^401$' \
        _st_code "http://127.0.0.1:$NGINX_PORT/auth"
    _st "http /auth with a wrong password is 401" 0 '^401$' \
        _st_code -u tocsin:wrong "http://127.0.0.1:$NGINX_PORT/auth"
    _st "http /auth tocsin:secret" 0 '^auth ok$' \
        _st_curl -u tocsin:secret "http://127.0.0.1:$NGINX_PORT/auth"
    _st "http /redirect is 302 to /health" 0 '^Location: /health' \
        _st_curl -D - -o /dev/null "http://127.0.0.1:$NGINX_PORT/redirect"
    _st "http /redirect followed" 0 '^OK$' \
        _st_curl -L "http://127.0.0.1:$NGINX_PORT/redirect"
    _st "http unknown path is 404" 0 '^404$' \
        _st_code "http://127.0.0.1:$NGINX_PORT/nothing"
    _st "https verified with TLS_CA" 0 '^OK$' \
        _st_curl $ca "https://localhost:$NGINX_TLS_PORT/health"
    _st "https vhost.test by SNI" 0 '^vhost ok$' _st_curl $ca \
        --resolve "vhost.test:$NGINX_TLS_PORT:127.0.0.1" \
        "https://vhost.test:$NGINX_TLS_PORT/health"
    _st "https unverified without TLS_CA" 60 'issuer' \
        _st_curl "https://localhost:$NGINX_TLS_PORT/health"
    _st "https wrong name fails verification" 60 'subject name' \
        _st_curl $ca "https://localhost:$NGINX_WRONGNAME_PORT/health"
    _st "https expiring cert is valid now" 0 '^OK$' \
        _st_curl $ca "https://localhost:$NGINX_EXPIRING_PORT/health"
    _st "expiring cert lasts 1 more day" 0 '' \
        _st_checkend "$NGINX_EXPIRING_PORT" 86400
    _st "expiring cert is gone in 3 days" 1 'will expire' \
        _st_checkend "$NGINX_EXPIRING_PORT" 259200
    _st "good cert lasts 300 days" 0 '' _st_checkend "$NGINX_TLS_PORT" 25920000
    _st "nginx runs as $SERVERS_USER" 0 "^ ?$SERVERS_USER \$" \
        _st_users "$(servers_pid nginx)"

    # dnsmasq
    _st "dns localhost.test A" 0 '^A 127\.0\.0\.1$' \
        _st_probe dns 127.0.0.1 "$DNS_PORT" localhost.test A
    _st "dns example.test A" 0 '^A 192\.0\.2\.10$' \
        _st_probe dns 127.0.0.1 "$DNS_PORT" example.test A
    _st "dns example.test MX" 0 '^MX 10 mail\.example\.test$' \
        _st_probe dns 127.0.0.1 "$DNS_PORT" example.test MX
    _st "dns example.test TXT" 0 '^TXT v=spf1 -all$' \
        _st_probe dns 127.0.0.1 "$DNS_PORT" example.test TXT
    _st "dns v6.test AAAA" 0 '^AAAA 2001:db8::10$' \
        _st_probe dns 127.0.0.1 "$DNS_PORT" v6.test AAAA
    _st "dns www.test A" 0 '^A 127\.0\.0\.1$' \
        _st_probe dns 127.0.0.1 "$DNS_PORT" www.test A
    _st "dns alias.test CNAME" 0 '^CNAME localhost\.test$' \
        _st_probe dns 127.0.0.1 "$DNS_PORT" alias.test A
    _st "dns dual.test AAAA" 0 '^AAAA ::1$' \
        _st_probe dns 127.0.0.1 "$DNS_PORT" dual.test AAAA
    _st "dns nx.test NXDOMAIN" 0 '^rcode=NXDOMAIN$' \
        _st_probe dns 127.0.0.1 "$DNS_PORT" nx.test A
    _st "dns outside .test REFUSED" 0 '^rcode=REFUSED$' \
        _st_probe dns 127.0.0.1 "$DNS_PORT" example.com A
    _st "dns over TCP" 0 '^A 192\.0\.2\.10$' \
        _st_probe dns 127.0.0.1 "$DNS_PORT" example.test A --tcp
    _st "dnsmasq runs as $SERVERS_USER" 0 "^ ?$SERVERS_USER \$" \
        _st_users "$(servers_pid dnsmasq)"

    # FTP
    _st "ftp anonymous get" 0 '^hello from tocsin$' \
        _st_curl "ftp://127.0.0.1:$FTP_PORT/pub/hello.txt"
    _st "ftp anonymous list" 0 'hello\.txt' \
        _st_curl "ftp://127.0.0.1:$FTP_PORT/pub/"
    _st "ftp anonymous login refused on the auth server" 67 '' \
        _st_curl "ftp://127.0.0.1:$FTP_AUTH_PORT/pub/hello.txt"
    _st "ftp tocsin:secret get" 0 '^hello from tocsin$' \
        _st_curl -u tocsin:secret \
        "ftp://127.0.0.1:$FTP_AUTH_PORT/pub/hello.txt"
    _st "ftp tocsin:secret upload" 0 '' _st_curl -u tocsin:secret \
        -T "$SERVERS_TDIR/servers/probe.py" \
        "ftp://127.0.0.1:$FTP_AUTH_PORT/up.txt"
    _st "ftp wrong password" 67 '530' \
        _st_curl -u tocsin:wrong "ftp://127.0.0.1:$FTP_AUTH_PORT/pub/hello.txt"
    if [ -n "${FTPS_PORT:-}" ]; then
        _st "ftps (AUTH TLS, PROT P) get" 0 '^hello from tocsin$' \
            _st_curl --ssl-reqd $ca -u tocsin:secret \
            "ftp://localhost:$FTPS_PORT/pub/hello.txt"
        _st "ftps unverified without TLS_CA" 60 '' _st_curl --ssl-reqd \
            -u tocsin:secret "ftp://localhost:$FTPS_PORT/pub/hello.txt"
    fi

    # SMTP
    _st "smtp banner and QUIT" 0 '^220 .*' \
        _st_probe tcp 127.0.0.1 "$SMTP_PORT" --send 'QUIT\r\n'
    _st "smtp send" 0 '' _st_mail "smtp://127.0.0.1:$SMTP_PORT"
    _st "smtp STARTTLS send" 0 '' \
        _st_mail --ssl-reqd $ca "smtp://localhost:$SMTP_STARTTLS_PORT"
    _st "smtp without STARTTLS is refused" 55 '530' \
        _st_mail "smtp://localhost:$SMTP_STARTTLS_PORT"
    _st "smtps send" 0 '' _st_mail $ca "smtps://localhost:$SMTPS_PORT"

    # dovecot
    _st "pop3 login and list" 0 '^1 [0-9]+' \
        _st_curl -u tocsin:secret "pop3://127.0.0.1:$POP3_PORT/"
    _st "pop3 STLS" 0 '^1 [0-9]+' \
        _st_curl --ssl-reqd $ca -u tocsin:secret "pop3://localhost:$POP3_PORT/"
    _st "pop3s retr" 0 '^hello from tocsin' \
        _st_curl $ca -u tocsin:secret "pop3s://localhost:$POP3S_PORT/1"
    _st "imap login and list" 0 'INBOX' \
        _st_curl -u tocsin:secret "imap://127.0.0.1:$IMAP_PORT/"
    _st "imap STARTTLS status" 0 'MESSAGES 1' \
        _st_curl --ssl-reqd $ca -u tocsin:secret -X 'STATUS INBOX (MESSAGES)' \
        "imap://localhost:$IMAP_PORT/INBOX"
    _st "imaps list" 0 'INBOX' \
        _st_curl $ca -u tocsin:secret "imaps://localhost:$IMAPS_PORT/"
    _st "pop3 on $DOVECOT_BADLOGIN_ADDR" 0 '^1 [0-9]+' \
        _st_curl -u tocsin:secret "pop3://$DOVECOT_BADLOGIN_ADDR:$POP3_PORT/"
    _st "pop3 wrong password" 67 '' \
        _st_curl -u tocsin:wrong "pop3://$DOVECOT_BADLOGIN_ADDR:$POP3_PORT/"
    _st "imap wrong password, again: no growing penalty" 67 '' \
        _st_curl --max-time 3 -u tocsin:wrong "imap://127.0.0.1:$IMAP_PORT/"
    _st "dovecot runs as $SERVERS_USER" 0 "^ ?$SERVERS_USER \$" \
        _st_users "$(servers_pid dovecot)"

    # rrdcached
    _st "rrdcached PING" 3 '^0 PONG' \
        _st_probe tcp 127.0.0.1 "$RRDCACHED_PORT" --send 'PING\n' --timeout 1
    _st "rrdcached unix socket" 0 '' test -S "$RRDCACHED_SOCK"
    if command -v rrdtool >/dev/null; then
        _st "rrdtool create through rrdcached" 0 '' rrdtool create \
            --daemon "127.0.0.1:$RRDCACHED_PORT" selftest.rrd -s 60 \
            DS:x:GAUGE:120:0:U RRA:AVERAGE:0.5:1:10
        _st "the archive is in RRDCACHED_DIR" 0 '' \
            test -f "$RRDCACHED_DIR/selftest.rrd"
    fi

    # badserver
    _st "noaccept: connect times out" 28 'Failed to connect|timed out' \
        _st_curl --connect-timeout 1 "http://127.0.0.1:$BAD_NOACCEPT_PORT/"
    _st "silent: timeout, 0 bytes" 28 'with 0 bytes' \
        _st_curl --max-time 1 "http://127.0.0.1:$BAD_SILENT_PORT/"
    _st "drip: 2 bytes in 1.5 s" 3 '^HT$' \
        _st_probe tcp 127.0.0.1 "$BAD_DRIP_PORT" --timeout 1.5
    _st "drip: http timeout" 28 '' \
        _st_curl --max-time 1 "http://127.0.0.1:$BAD_DRIP_PORT/"
    _st "flood: http timeout after many bytes" 28 '[0-9]{7,} bytes' \
        _st_curl --max-time 1 -o /dev/null "http://127.0.0.1:$BAD_FLOOD_PORT/"
    _st "garbage: protocol error" 1 'HTTP/0.9' \
        _st_curl "http://127.0.0.1:$BAD_GARBAGE_PORT/"
    _st "halfheader: half a header, then FIN" 0 'Content-Len$' \
        _st_probe tcp 127.0.0.1 "$BAD_HALFHEADER_PORT" --send "$req"
    _st "shortbody: curl sees a partial file" 18 '95 bytes remaining' \
        _st_curl "http://127.0.0.1:$BAD_SHORTBODY_PORT/"
    _st "notls: TLS handshake fails" 35 'wrong version number' \
        _st_curl "https://127.0.0.1:$BAD_NOTLS_PORT/"
    _st "banner-close: banner, then FIN" 0 '^220 hello' \
        _st_probe tcp 127.0.0.1 "$BAD_BANNER_CLOSE_PORT"
    _st "garbage-banner: banner, stays open" 3 '^xyzzy garbage' \
        _st_probe tcp 127.0.0.1 "$BAD_GARBAGE_BANNER_PORT" --timeout 1
    _st "slow: 200 OK after 1 s" 0 '^1\.[0-4]' \
        _st_curl -w '%{time_total}' "http://127.0.0.1:$BAD_SLOW_PORT/"
    _st "reset: connection reset" 56 'reset' \
        _st_curl "http://127.0.0.1:$BAD_RESET_PORT/"
    _st "slow: 500 clients at once, all answered in 1 s" 0 \
        '^connected=500 data=500 closed=500 ' _st_probe many 127.0.0.1 \
        "$BAD_SLOW_PORT" 500 --send "$req" --timeout 1.8
    # 2 bytes each in 1.5 s; a loaded machine sets up the 500 late and some
    # get a third byte: 1,000 to 1,499 bytes.
    _st "drip: 500 clients at once, all dripped on" 0 \
        '^connected=500 data=500 closed=0 bytes=1[0-4][0-9][0-9]$' \
        _st_probe many 127.0.0.1 "$BAD_DRIP_PORT" 500 --timeout 1.5
    _st "flood: 50 floods do not hold up banner-close" 0 '^220 hello' sh -c '
        "$1" "$2" many 127.0.0.1 "$3" 50 --timeout 1.5 >/dev/null &
        sleep 0.5
        "$1" "$2" tcp 127.0.0.1 "$4"; rc=$?; wait; exit $rc' sh \
        "$SERVERS_PY" "$SERVERS_TDIR/servers/probe.py" "$BAD_FLOOD_PORT" \
        "$BAD_BANNER_CLOSE_PORT"

    # monitoring plugins, as exec checks would run them
    m=/usr/lib/nagios/plugins
    if [ -x $m/check_http ]; then
        _st "check_http /health" 0 'HTTP OK' $m/check_http -H 127.0.0.1 \
            -p "$NGINX_PORT" -u /health -s OK -t 5
        _st "check_http /wrong is CRITICAL" 2 '503' $m/check_http \
            -H 127.0.0.1 -p "$NGINX_PORT" -u /wrong -t 5
        _st "check_smtp" 0 'SMTP OK' $m/check_smtp -H 127.0.0.1 \
            -p "$SMTP_PORT" -t 5
        _st "check_ftp" 0 'FTP OK' $m/check_ftp -H 127.0.0.1 \
            -p "$FTP_PORT" -t 5
        _st "check_pop" 0 'POP OK' $m/check_pop -H 127.0.0.1 \
            -p "$POP3_PORT" -t 5
        _st "check_imap" 0 'IMAP OK' $m/check_imap -H 127.0.0.1 \
            -p "$IMAP_PORT" -t 5
        _st "check_tcp on silent times out" 2 'CRITICAL' $m/check_tcp \
            -H 127.0.0.1 -p "$BAD_SILENT_PORT" -e 220 -t 2
    fi

    # Stop and start one server on the same port.
    _st "servers_stop nginx" 0 '' servers_stop nginx
    _st "nginx is down" 7 '' _st_curl "http://127.0.0.1:$NGINX_PORT/health"
    _st_start start_nginx
    _st "nginx is back on NGINX_PORT" 0 '^OK$' \
        _st_curl "http://127.0.0.1:$NGINX_PORT/health"

    # Crashes: nginx's master dies and leaves its worker; a badserver dies.
    pids=$(cat "$T"/*.pid)
    _st "kill -9 the nginx master" 0 '' kill -s KILL "$(servers_pid nginx)"
    _st "kill -9 a badserver" 0 '' kill -s KILL "$(servers_pid bad-silent)"
    sleep 0.2
    _st "the nginx worker outlives its master" 0 '[0-9]' \
        _srv_members "$(servers_pid nginx)"
    _st "servers_stop_all" 0 '' servers_stop_all
    _st "no process left" 0 '' _st_gone $pids
    _st "no pid file left" 0 '' sh -c '! ls "$1"/*.pid 2>/dev/null' sh "$T"
    _st "servers_stop_all again" 0 - servers_stop_all
    _st "no listener of this test on its ports" 0 - _st_ours_listening

    if [ $_st_bad = 0 ]; then
        echo "# servers_selftest: all $_st_n passed"
        return 0
    fi
    echo "# servers_selftest: $_st_bad of $_st_n failed (logs in $T)"
    return 1
}
