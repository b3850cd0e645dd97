# t/servers.sh: real servers for tocsin's integration tests, on 127.0.0.1
# high ports, unprivileged, started in the background and stopped by pid.
# Source it from sh (dash) or bash:
#
#     . "$srcdir/t/servers.sh"     # makes $T unless TOCSIN_TEST_DIR is set
#     servers_trap                 # on exit: stop everything, tidy $T
#     start_nginx || exit 1        # exports NGINX_PORT, NGINX_TLS_PORT, ...
#
# Every start_* function takes its ports from the environment when they are
# set (so a stopped server can be started again on the same ports) and picks
# free ones otherwise; it exports them, waits (SERVERS_WAIT seconds, default
# 10) until every port listens, and on failure prints the server's log and
# returns 1. Each server runs in its own process group; $T/NAME.pid holds the
# group leader's pid and $T/NAME.start its start time, so a stale pid is
# never signalled. Logs are in $T/NAME.log. When we are root, servers run as
# nobody (setpriv), or drop to nobody themselves (dnsmasq).
#
# Functions: servers_port, servers_certs, start_nginx, start_nginx_backend,
# start_dnsmasq, start_ftp, start_smtp, start_dovecot, start_rrdcached,
# start_badserver, servers_pid, servers_running, servers_stop,
# servers_stop_all, servers_trap, servers_selftest. Names starting with
# _srv_ are private.

# --- set-up ------------------------------------------------------------------

# Where t/ is: TOCSIN_SRCDIR (top source dir), automake's $srcdir, bash's
# BASH_SOURCE, or the current directory.
if [ -n "${TOCSIN_SRCDIR:-}" ]; then
    SERVERS_TDIR=$TOCSIN_SRCDIR/t
elif [ -n "${srcdir:-}" ] && [ -f "$srcdir/t/servers.sh" ]; then
    SERVERS_TDIR=$srcdir/t
elif [ -n "${BASH_SOURCE:-}" ]; then
    SERVERS_TDIR=$(cd "$(dirname "$BASH_SOURCE")" && pwd)
elif [ -f t/servers.sh ]; then
    SERVERS_TDIR=$(pwd)/t
elif [ -f servers.sh ] && [ -d servers ]; then
    SERVERS_TDIR=$(pwd)
else
    echo "servers.sh: cannot find t/; set TOCSIN_SRCDIR" >&2
    return 1 2>/dev/null || exit 1
fi
case $SERVERS_TDIR in
/*) ;;
*) SERVERS_TDIR=$(cd "$SERVERS_TDIR" && pwd) ;;
esac
export SERVERS_TDIR

SERVERS_WAIT=${SERVERS_WAIT:-10}
SERVERS_PY=/usr/bin/python3     # Debian's, which has pyftpdlib and aiosmtpd

# The per-run directory.
_srv_made_T=0
if [ -n "${TOCSIN_TEST_DIR:-}" ]; then
    T=$TOCSIN_TEST_DIR
    mkdir -p "$T" || { return 1 2>/dev/null || exit 1; }
else
    T=$(mktemp -d "${TMPDIR:-/tmp}/tocsin-test.XXXXXX") ||
        { return 1 2>/dev/null || exit 1; }
    _srv_made_T=1
fi
case $T in /*) ;; *) T=$(cd "$T" && pwd) ;; esac
case $T in
*[!A-Za-z0-9_./+-]*)
    echo "servers.sh: test dir '$T' has characters the templates cannot" \
        "take; use letters, digits and _./+-" >&2
    return 1 2>/dev/null || exit 1 ;;
esac
TOCSIN_TEST_DIR=$T
export T TOCSIN_TEST_DIR

# Root runs servers as nobody; anyone else runs them as themselves.
if [ "$(id -u)" = 0 ]; then
    SERVERS_USER=nobody
    SERVERS_GROUP=nogroup
    SERVERS_UID=65534
    SERVERS_GID=65534
    SERVERS_ASUSER="setpriv --reuid=65534 --regid=65534 --clear-groups --"
    chmod 755 "$T"
    if ! $SERVERS_ASUSER test -x "$T" 2>/dev/null; then
        echo "servers.sh: nobody cannot reach $T (a parent is not" \
            "searchable); use a TOCSIN_TEST_DIR under /tmp" >&2
        return 1 2>/dev/null || exit 1
    fi
else
    SERVERS_USER=$(id -un)
    SERVERS_GROUP=$(id -gn)
    SERVERS_UID=$(id -u)
    SERVERS_GID=$(id -g)
    SERVERS_ASUSER=
fi
export SERVERS_USER SERVERS_GROUP SERVERS_UID SERVERS_GID

# --- private helpers ---------------------------------------------------------

# _srv_stat PID FIELD: a field of /proc/PID/stat counted after the command
# name (1 state, 3 process group, 20 start time); empty if PID is gone.
_srv_stat() {
    sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f"$2"
}

# _srv_alive PID START: PID runs, is no zombie, and started at START.
_srv_alive() {
    local st
    st=$(_srv_stat "$1" 1)
    [ -n "$st" ] && [ "$st" != Z ] || return 1
    [ -z "$2" ] || [ "$(_srv_stat "$1" 20)" = "$2" ]
}

# _srv_members PGID: live (non-zombie) processes of that group, one a line.
_srv_members() {
    local p
    for p in $(pgrep -g "$1" 2>/dev/null); do
        case $(_srv_stat "$p" 1) in ''|Z) ;; *) echo "$p" ;; esac
    done
}

# _srv_ours PID START: the group PID is still ours to signal: its leader
# runs with the recorded start time, or members of the group are left with
# the leader dead (a group id is not reused while the group has members).
# A live process PID with another start time is a stranger: never ours.
_srv_ours() {
    local st
    st=$(_srv_stat "$1" 20)
    if [ -n "$st" ]; then
        [ "$st" = "$2" ] || return 1
        [ "$(_srv_stat "$1" 1)" = Z ] || return 0
    fi
    [ -n "$(_srv_members "$1")" ]
}

# _srv_chown PATH...: hand files to the user the servers run as.
_srv_chown() {
    [ -z "$SERVERS_ASUSER" ] || chown -R "$SERVERS_UID:$SERVERS_GID" "$@"
}

# _srv_setport VAR: keep $VAR if set, else a free port; export it.
_srv_setport() {
    local p
    eval "p=\${$1:-}"
    if [ -z "$p" ]; then
        p=$(servers_port) || return 1
        eval "$1=\$p"
    fi
    export "$1"
}

# _srv_fill TEMPLATE OUT VAR=VALUE...: copy a template from t/servers/,
# replacing each @VAR@ with VALUE (values hold no '|', '&' or '\').
_srv_fill() {
    local in=$SERVERS_TDIR/servers/$1 out=$2 script="" kv
    shift 2
    for kv in "$@"; do
        script="$script;s|@${kv%%=*}@|${kv#*=}|g"
    done
    sed -e "${script#;}" "$in" >"$out" || return 1
    if grep -q '@[A-Z_]*@' "$out"; then
        echo "servers.sh: $out: unfilled: $(grep -o '@[A-Z_]*@' "$out" |
            sort -u | tr '\n' ' ')" >&2
        return 1
    fi
}

# _srv_spawn NAME CMD...: start CMD in the background in a process group
# of its own, output to $T/NAME.log; record pid and start time. With job
# control on (set -m) "&" already makes a group; otherwise setsid does it in
# place (it forks only for a group leader, which our child is not). A NAME
# that runs already is left alone: start_* after servers_stop of one of
# several servers restarts just that one, on the same ports.
_srv_spawn() {
    local name=$1 pid
    shift
    servers_running "$name" && return 0
    case $- in
    *m*) "$@" </dev/null >>"$T/$name.log" 2>&1 7>&- & ;;
    *) setsid "$@" </dev/null >>"$T/$name.log" 2>&1 7>&- & ;;
    esac
    pid=$!
    echo "$pid" >"$T/$name.pid"
    _srv_stat "$pid" 20 >"$T/$name.start"
}

# _srv_port_pids PROTO PORT: the pids listening on PORT (PROTO t) or
# bound to it (PROTO u), one a line.
_srv_port_pids() {
    ss -Hlnp"$1" "sport = :$2" 2>/dev/null | grep -o 'pid=[0-9]*' |
        cut -d= -f2 | sort -u
}

# _srv_listening PROTO PORT PGID: a process of group PGID listens on
# 127.0.0.x:PORT (PROTO t) or has bound it (PROTO u). Another program on the
# port does not count: then our server failed to bind and will exit.
_srv_listening() {
    local p
    for p in $(_srv_port_pids "$1" "$2"); do
        [ "$(_srv_stat "$p" 3)" = "$3" ] && return 0
    done
    return 1
}

# _srv_wait NAME CHECK...: wait up to SERVERS_WAIT seconds until the
# server runs and every CHECK holds ("t:PORT" TCP listens, "u:PORT" UDP
# is bound, "f:FILE" FILE exists; "log:FILE" is no check but one more log
# to show). On failure print why and the logs' tails, stop what is left,
# and return 1.
_srv_wait() {
    local name=$1 pid start i=0 max c ok why
    shift
    pid=$(servers_pid "$name")
    start=$(cat "$T/$name.start" 2>/dev/null)
    max=$((SERVERS_WAIT * 10))
    while :; do
        if ! _srv_alive "$pid" "$start"; then
            why="exited during start-up"
            break
        fi
        ok=1
        for c in "$@"; do
            case $c in
            f:*) [ -e "${c#f:}" ] || ok=0 ;;
            log:*) ;;
            *) _srv_listening "${c%%:*}" "${c#*:}" "$pid" || ok=0 ;;
            esac
        done
        [ $ok = 1 ] && return 0
        i=$((i + 1))
        if [ $i -ge $max ]; then
            why="not ready after ${SERVERS_WAIT}s (waiting for: $*)"
            break
        fi
        sleep 0.1
    done
    echo "servers.sh: $name (pid $pid) $why" >&2
    for c in "log:$T/$name.log" "$@"; do
        case $c in
        log:*)
            echo "  ${c#log:} ends:" >&2
            tail -n 20 "${c#log:}" 2>/dev/null | sed 's/^/    /' >&2 ;;
        esac
    done
    servers_stop "$name"
    return 1
}

# --- public ------------------------------------------------------------------

# servers_port: print a port that nothing uses, below the ephemeral range,
# never handed out before in this run ($T/ports).
servers_port() {
    local i=0 p
    while [ $i -lt 500 ]; do
        p=$((20000 + $(od -An -N2 -tu2 /dev/urandom) % 12000))
        if ! grep -qx "$p" "$T/ports" 2>/dev/null &&
            [ -z "$(ss -Hantu "sport = :$p" 2>/dev/null)" ]; then
            echo "$p" >>"$T/ports"
            echo "$p"
            return 0
        fi
        i=$((i + 1))
    done
    echo "servers.sh: no free port found" >&2
    return 1
}

# servers_certs: make (once per run) a test CA and certificates it signs,
# in $T/certs, and export their paths:
#   TLS_CA              the CA certificate; give it to clients to verify
#   TLS_CERT, TLS_KEY   CN=localhost, SAN localhost, vhost.test, 127.0.0.1,
#                       127.0.0.9; valid 365 days
#   TLS_EXPIRING_CERT, TLS_EXPIRING_KEY  the same names, valid 2 days
#   TLS_WRONGNAME_CERT, TLS_WRONGNAME_KEY  CN/SAN wrong.test only
#   TLS_SELFSIGNED_CERT, TLS_SELFSIGNED_KEY  CN=localhost, self-signed
servers_certs() {
    local d=$T/certs name cn days san
    TLS_CA=$d/ca.crt
    TLS_CERT=$d/localhost.crt
    TLS_KEY=$d/localhost.key
    TLS_EXPIRING_CERT=$d/expiring.crt
    TLS_EXPIRING_KEY=$d/expiring.key
    TLS_WRONGNAME_CERT=$d/wrongname.crt
    TLS_WRONGNAME_KEY=$d/wrongname.key
    TLS_SELFSIGNED_CERT=$d/selfsigned.crt
    TLS_SELFSIGNED_KEY=$d/selfsigned.key
    export TLS_CA TLS_CERT TLS_KEY TLS_EXPIRING_CERT TLS_EXPIRING_KEY \
        TLS_WRONGNAME_CERT TLS_WRONGNAME_KEY TLS_SELFSIGNED_CERT \
        TLS_SELFSIGNED_KEY
    [ -s "$d/complete" ] && return 0
    mkdir -p "$d" || return 1
    (
        set -e
        cd "$d"
        key="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
        openssl req -x509 $key -keyout ca.key -out ca.crt -days 3650 \
            -subj "/CN=tocsin test CA" \
            -addext "basicConstraints=critical,CA:TRUE" \
            -addext "keyUsage=critical,keyCertSign,cRLSign"
        local_san=DNS:localhost,DNS:vhost.test,IP:127.0.0.1,IP:127.0.0.9
        for spec in "localhost localhost 365 $local_san" \
            "expiring localhost 2 $local_san" \
            "wrongname wrong.test 365 DNS:wrong.test"; do
            set -- $spec
            name=$1 cn=$2 days=$3 san=$4
            printf '%s\n' "basicConstraints=CA:FALSE" \
                "keyUsage=critical,digitalSignature,keyEncipherment" \
                "extendedKeyUsage=serverAuth" "subjectAltName=$san" \
                >"$name.ext"
            openssl req $key -keyout "$name.key" -out "$name.csr" \
                -subj "/CN=$cn"
            openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key \
                -set_serial "0x$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')" \
                -days "$days" -extfile "$name.ext" -out "$name.crt"
        done
        openssl req -x509 $key -keyout selfsigned.key -out selfsigned.crt \
            -days 365 -subj "/CN=localhost" \
            -addext "subjectAltName=DNS:localhost,IP:127.0.0.1"
        chmod 644 ./*.key ./*.crt
        echo ok >complete
    ) >"$T/certs.log" 2>&1 || {
        echo "servers.sh: making certificates failed:" >&2
        sed 's/^/    /' "$T/certs.log" >&2
        return 1
    }
}

# start_nginx: nginx (master + 1 worker) with
#   NGINX_PORT            HTTP; default server and vhost.test
#   NGINX_TLS_PORT        HTTPS, TLS_CERT (verify with TLS_CA)
#   NGINX_EXPIRING_PORT   HTTPS, TLS_EXPIRING_CERT (2 days left)
#   NGINX_WRONGNAME_PORT  HTTPS, TLS_WRONGNAME_CERT (name mismatch)
# Paths: /health 200 "OK" (vhost.test: "vhost ok"), /wrong 503,
# /body 200 "hello world", /auth basic auth tocsin:secret (200 "auth ok",
# else 401), /redirect 302 to /health, /s399 399, /s400 400, /loop 302 to
# itself, /rN 302 to /r(N-1) (N 2 to 6), /r1 302 to /health, anything
# else 404.
start_nginx() {
    local d=$T/nginx
    servers_certs || return 1
    _srv_setport NGINX_PORT && _srv_setport NGINX_TLS_PORT &&
        _srv_setport NGINX_EXPIRING_PORT &&
        _srv_setport NGINX_WRONGNAME_PORT || return 1
    mkdir -p "$d/tmp" "$d/html" || return 1
    set -- DIR="$d" CERTS="$T/certs" HTTP_PORT="$NGINX_PORT" \
        HTTPS_PORT="$NGINX_TLS_PORT" EXPIRING_PORT="$NGINX_EXPIRING_PORT" \
        WRONGNAME_PORT="$NGINX_WRONGNAME_PORT"
    _srv_fill nginx.conf "$d/nginx.conf" "$@" &&
        _srv_fill locations.conf "$d/locations.conf" "$@" || return 1
    printf 'tocsin:%s\n' "$(openssl passwd -apr1 secret)" >"$d/htpasswd"
    printf 'auth ok' >"$d/html/auth.txt"
    _srv_chown "$d"
    _srv_spawn nginx $SERVERS_ASUSER nginx -p "$d" -c nginx.conf \
        -e "$d/error.log" || return 1
    _srv_wait nginx "t:$NGINX_PORT" "t:$NGINX_TLS_PORT" \
        "t:$NGINX_EXPIRING_PORT" "t:$NGINX_WRONGNAME_PORT" "log:$d/error.log"
}

# start_nginx_backend NAME ANSWER PORT: an nginx of its own, NAME, on
# 127.0.0.1:PORT (t/servers/nginx_lb.conf) that answers ANSWER (body and
# X-Backend) on every path but /health (200 "OK", 503 while $T/NAME/down
# exists) and /big (the file $T/NAME/big); requests logged in
# $T/NAME/access.log. A member of a farm that can die alone.
start_nginx_backend() {
    local d=$T/$1
    mkdir -p "$d/tmp" || return 1
    _srv_fill nginx_lb.conf "$d/nginx.conf" DIR="$d" NAME="$2" PORT="$3" ||
        return 1
    touch "$d/access.log"
    _srv_chown "$d"
    _srv_spawn "$1" $SERVERS_ASUSER nginx -p "$d" -c nginx.conf \
        -e "$d/error.log" || return 1
    _srv_wait "$1" "t:$3" "log:$d/error.log"
}

# start_dnsmasq: an authoritative-only DNS server on 127.0.0.1:DNS_PORT
# (UDP and TCP). Names (TTL 0):
#   localhost.test A 127.0.0.1      www.test, *.www.test A 127.0.0.1
#   example.test A 192.0.2.10, MX 10 mail.example.test,
#                TXT "v=spf1 -all"  mail.example.test A 192.0.2.25
#   v6.test AAAA 2001:db8::10       dual.test A 127.0.0.1, AAAA ::1
#   alias.test CNAME localhost.test
# Other names under .test are NXDOMAIN; names outside .test are REFUSED
# (there is no upstream).
start_dnsmasq() {
    local d=$T/dnsmasq user=""
    _srv_setport DNS_PORT || return 1
    mkdir -p "$d" || return 1
    _srv_chown "$d"
    [ -z "$SERVERS_ASUSER" ] || user="--user=nobody --group=nogroup"
    _srv_spawn dnsmasq dnsmasq --keep-in-foreground --conf-file=/dev/null \
        --no-resolv --no-hosts --no-poll --bind-interfaces \
        --listen-address=127.0.0.1 --port="$DNS_PORT" $user \
        --pid-file="$d/dnsmasq.pid" --log-facility="$d/dnsmasq.log" \
        --log-queries --local=/test/ \
        --address=/www.test/127.0.0.1 \
        --host-record=localhost.test,127.0.0.1 \
        --host-record=example.test,192.0.2.10 \
        --host-record=mail.example.test,192.0.2.25 \
        --host-record=v6.test,2001:db8::10 \
        --host-record=dual.test,127.0.0.1,::1 \
        --cname=alias.test,localhost.test \
        --mx-host=example.test,mail.example.test,10 \
        --txt-record=example.test,"v=spf1 -all" || return 1
    _srv_wait dnsmasq "u:$DNS_PORT" "t:$DNS_PORT" "log:$d/dnsmasq.log"
}

# start_ftp: pyftpdlib, three servers over trees holding pub/hello.txt
# ("hello from tocsin"):
#   FTP_PORT       anonymous, read-only ($T/ftp/anon)
#   FTP_AUTH_PORT  user tocsin, password secret, read-write ($T/ftp/home)
#   FTPS_PORT      explicit TLS (AUTH TLS, optional), tocsin:secret and
#                  anonymous, TLS_CERT; only with python3-openssl, else
#                  FTPS_PORT is unset and a warning printed
start_ftp() {
    local d=$T/ftp tree
    _srv_setport FTP_PORT && _srv_setport FTP_AUTH_PORT || return 1
    for tree in anon home; do
        mkdir -p "$d/$tree/pub" || return 1
        echo "hello from tocsin" >"$d/$tree/pub/hello.txt"
    done
    _srv_chown "$d"
    _srv_spawn ftp $SERVERS_ASUSER $SERVERS_PY -m pyftpdlib \
        -i 127.0.0.1 -p "$FTP_PORT" -d "$d/anon" || return 1
    _srv_spawn ftp-auth $SERVERS_ASUSER $SERVERS_PY -m pyftpdlib \
        -i 127.0.0.1 -p "$FTP_AUTH_PORT" -d "$d/home" -w \
        -u tocsin -P secret || return 1
    _srv_wait ftp "t:$FTP_PORT" && _srv_wait ftp-auth "t:$FTP_AUTH_PORT" ||
        return 1
    if ! $SERVERS_PY -c 'import OpenSSL' 2>/dev/null; then
        echo "servers.sh: no python3-openssl: no FTPS server" >&2
        unset FTPS_PORT
        return 0
    fi
    servers_certs && _srv_setport FTPS_PORT || return 1
    _srv_spawn ftps $SERVERS_ASUSER $SERVERS_PY \
        "$SERVERS_TDIR/servers/ftps.py" "$FTPS_PORT" "$d/home" \
        "$TLS_CERT" "$TLS_KEY" tocsin secret || return 1
    _srv_wait ftps "t:$FTPS_PORT"
}

# start_smtp: aiosmtpd (messages are discarded), three servers:
#   SMTP_PORT           plain, no TLS
#   SMTP_STARTTLS_PORT  STARTTLS offered and required before MAIL
#   SMTPS_PORT          implicit TLS
# All use TLS_CERT.
start_smtp() {
    local smtp
    smtp="$SERVERS_ASUSER $SERVERS_PY -m aiosmtpd -n"
    smtp="$smtp -c aiosmtpd.handlers.Sink"
    servers_certs || return 1
    _srv_setport SMTP_PORT && _srv_setport SMTP_STARTTLS_PORT &&
        _srv_setport SMTPS_PORT || return 1
    _srv_spawn smtp $smtp -l "127.0.0.1:$SMTP_PORT" &&
        _srv_spawn smtp-starttls $smtp -l "127.0.0.1:$SMTP_STARTTLS_PORT" \
            --tlscert "$TLS_CERT" --tlskey "$TLS_KEY" &&
        _srv_spawn smtps $smtp -l "127.0.0.1:$SMTPS_PORT" \
            --smtpscert "$TLS_CERT" --smtpskey "$TLS_KEY" || return 1
    _srv_wait smtp "t:$SMTP_PORT" &&
        _srv_wait smtp-starttls "t:$SMTP_STARTTLS_PORT" &&
        _srv_wait smtps "t:$SMTPS_PORT"
}

# start_dovecot: dovecot, master and all its processes as one unprivileged
# user, on 127.0.0.1 and DOVECOT_BADLOGIN_ADDR (127.0.0.9):
#   POP3_PORT, IMAP_PORT    plain; STLS / STARTTLS offered
#   POP3S_PORT, IMAPS_PORT  implicit TLS (TLS_CERT)
# User tocsin, password secret (PLAIN and LOGIN), one message in INBOX.
# A failed login is answered after 1 s. Dovecot's growing per-address
# penalty is off: a client connecting to 127.0.0.9 still comes from
# 127.0.0.1, so the second address alone would not shield other tests.
start_dovecot() {
    local d=$T/dovecot m
    servers_certs || return 1
    _srv_setport POP3_PORT && _srv_setport POP3S_PORT &&
        _srv_setport IMAP_PORT && _srv_setport IMAPS_PORT || return 1
    DOVECOT_BADLOGIN_ADDR=127.0.0.9
    export DOVECOT_BADLOGIN_ADDR
    m=$d/mail/tocsin/Maildir
    mkdir -p "$d/run" "$d/state" "$m/cur" "$m/new" "$m/tmp" || return 1
    _srv_fill dovecot.conf "$d/dovecot.conf" DIR="$d" CERTS="$T/certs" \
        USER="$SERVERS_USER" GROUP="$SERVERS_GROUP" \
        UID="$SERVERS_UID" GID="$SERVERS_GID" \
        POP3_PORT="$POP3_PORT" POP3S_PORT="$POP3S_PORT" \
        IMAP_PORT="$IMAP_PORT" IMAPS_PORT="$IMAPS_PORT" || return 1
    printf 'tocsin:secret:%s:%s::%s/mail/tocsin\n' "$SERVERS_UID" \
        "$SERVERS_GID" "$d" >"$d/passwd"
    if [ ! -e "$m/new/1.tocsin" ]; then
        printf '%s\r\n' "From: tocsin <tocsin@localhost.test>" \
            "To: tocsin <tocsin@localhost.test>" "Subject: hello" \
            "Date: Thu, 01 Jan 2026 00:00:00 +0000" "" \
            "hello from tocsin" >"$m/new/1.tocsin"
    fi
    _srv_chown "$d"
    _srv_spawn dovecot $SERVERS_ASUSER dovecot -F -c "$d/dovecot.conf" ||
        return 1
    _srv_wait dovecot "t:$POP3_PORT" "t:$POP3S_PORT" "t:$IMAP_PORT" \
        "t:$IMAPS_PORT" "log:$d/dovecot.log"
}

# start_rrdcached: RRDtool's caching daemon, journal and archives under
# $T/rrdcached:
#   RRDCACHED_PORT  TCP on 127.0.0.1
#   RRDCACHED_SOCK  its Unix socket (mode 0666)
#   RRDCACHED_DIR   its base folder (-b, -B: paths are under it)
start_rrdcached() {
    local d=$T/rrdcached
    _srv_setport RRDCACHED_PORT || return 1
    RRDCACHED_DIR=$d/db
    RRDCACHED_SOCK=$d/rrdcached.sock
    export RRDCACHED_DIR RRDCACHED_SOCK
    servers_running rrdcached && return 0
    mkdir -p "$d/db" "$d/journal" || return 1
    rm -f "$RRDCACHED_SOCK" "$d/rrdcached.pid"
    _srv_chown "$d"
    _srv_spawn rrdcached $SERVERS_ASUSER rrdcached -g -F -B \
        -b "$d/db" -j "$d/journal" -p "$d/rrdcached.pid" \
        -m 0666 -l "unix:$RRDCACHED_SOCK" -l "127.0.0.1:$RRDCACHED_PORT" ||
        return 1
    _srv_wait rrdcached "t:$RRDCACHED_PORT" "f:$RRDCACHED_SOCK"
}

# start_badserver MODE [OPTION...]: t/badserver in MODE (see its usage;
# OPTIONs such as "-i 200" or "-d 500" are passed on) on BAD_<MODE>_PORT,
# e.g. BAD_SILENT_PORT, BAD_BANNER_CLOSE_PORT. Recorded as bad-MODE. The
# program is $TOCSIN_BADSERVER, else $TOCSIN_BUILD/t/badserver,
# ./t/badserver, or t/badserver next to this file; failing all, it is
# compiled from t/badserver.c into $T/bin.
start_badserver() {
    local mode=$1 var bin port d=$T/badserver
    shift
    case $mode in
    ''|*[!a-z-]*) echo "servers.sh: start_badserver: bad mode '$mode'" >&2
        return 1 ;;
    esac
    bin=$(_srv_badserver_bin) || return 1
    var=BAD_$(echo "$mode" | tr a-z- A-Z_)_PORT
    _srv_setport "$var" || return 1
    servers_running "bad-$mode" && return 0
    mkdir -p "$d" || return 1
    rm -f "$d/$mode.pid"
    _srv_chown "$d"
    eval "port=\$$var"
    _srv_spawn "bad-$mode" $SERVERS_ASUSER "$bin" -p "$d/$mode.pid" "$@" \
        "$mode" "$port" || return 1
    # The pid file comes after listen (and, for noaccept, the backlog fill).
    _srv_wait "bad-$mode" "t:$port" "f:$d/$mode.pid"
}

# Print the badserver program to run, building it if need be.
_srv_badserver_bin() {
    local b
    for b in "${TOCSIN_BADSERVER:-}" \
        "${TOCSIN_BUILD:+$TOCSIN_BUILD/t/badserver}" \
        "$(pwd)/t/badserver" "$SERVERS_TDIR/badserver"; do
        [ -n "$b" ] && [ -x "$b" ] && [ -f "$b" ] && { echo "$b"; return 0; }
    done
    b=$T/bin/badserver
    if [ ! -x "$b" ]; then
        mkdir -p "$T/bin" &&
            ${CC:-cc} -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 \
                -o "$b" "$SERVERS_TDIR/badserver.c" >&2 || {
            echo "servers.sh: cannot build t/badserver" >&2
            return 1
        }
        chmod 755 "$T/bin"
    fi
    echo "$b"
}

# servers_pid NAME: print the recorded pid of NAME (nginx, dnsmasq, ftp,
# ftp-auth, ftps, smtp, smtp-starttls, smtps, dovecot, rrdcached,
# bad-MODE); nothing if none.
servers_pid() {
    cat "$T/$1.pid" 2>/dev/null
}

# servers_running NAME: true if NAME was started and still runs.
servers_running() {
    local pid
    pid=$(servers_pid "$1")
    [ -n "$pid" ] && _srv_alive "$pid" "$(cat "$T/$1.start" 2>/dev/null)"
}

# servers_stop NAME [SIGNAL]: signal NAME's process group (default TERM),
# wait up to 5 s, then KILL and wait up to 2 s more; reap it if it is our
# child; forget it. A server already gone, or never started, is fine.
# Returns 1 only if something of it still runs at the end.
servers_stop() {
    local name=$1 sig=${2:-TERM} pid start i
    pid=$(servers_pid "$name")
    start=$(cat "$T/$name.start" 2>/dev/null)
    if [ -n "$pid" ] && _srv_ours "$pid" "$start"; then
        kill -s "$sig" -- "-$pid" 2>/dev/null ||
            kill -s "$sig" "$pid" 2>/dev/null
        i=0
        while [ $i -lt 50 ] && _srv_ours "$pid" "$start"; do
            sleep 0.1
            i=$((i + 1))
        done
        if _srv_ours "$pid" "$start"; then
            echo "servers.sh: $name (pid $pid) still runs 5s after" \
                "$sig; sending KILL" >&2
            kill -s KILL -- "-$pid" 2>/dev/null ||
                kill -s KILL "$pid" 2>/dev/null
            i=0
            while [ $i -lt 50 ] && _srv_ours "$pid" "$start"; do
                sleep 0.1
                i=$((i + 1))
            done
        fi
    fi
    [ -z "$pid" ] || wait "$pid" 2>/dev/null || true
    if [ -n "$pid" ] && _srv_ours "$pid" "$start"; then
        echo "servers.sh: $name (pid $pid) will not die" >&2
        return 1
    fi
    rm -f "$T/$name.pid" "$T/$name.start"
    return 0
}

# servers_stop_all: stop every server recorded in $T. Safe to call twice,
# with servers already dead, or with $T gone.
servers_stop_all() {
    local f name rc=0
    [ -d "$T" ] || return 0
    for f in "$T"/*.pid; do
        [ -f "$f" ] || continue
        name=${f##*/}
        servers_stop "${name%.pid}" || rc=1
    done
    return $rc
}

# servers_trap: on exit stop all servers; remove $T if this library made it
# and the script succeeded (TOCSIN_KEEP=1 keeps it), else say where it is.
# INT, TERM and HUP exit through the same path. It replaces the caller's
# EXIT trap: a test with its own should call _srv_on_exit at its end (with
# $? as it was on entry), which also ends t/probed.sh's TAP stream.
servers_trap() {
    trap '_srv_on_exit' EXIT
    trap 'exit 129' HUP
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

_srv_on_exit() {
    local rc=$?
    ! command -v harness_on_exit >/dev/null || harness_on_exit "$rc"
    servers_stop_all || true
    if [ $_srv_made_T = 1 ] && [ $rc = 0 ] && [ -z "${TOCSIN_KEEP:-}" ]; then
        rm -rf "$T"
    elif [ -d "$T" ]; then
        echo "servers.sh: logs kept in $T" >&2
    fi
}

# servers_selftest: the harness's own test (run by t/test_servers.sh).
. "$SERVERS_TDIR/servers/selftest.sh"
