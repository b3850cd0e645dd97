#!/bin/bash
# t/test_lb_install.sh: `make install DESTDIR=...` puts tocsin-lb's unit
# (this build's folders, user tocsin, CAP_NET_BIND_SERVICE alone, systemd's
# hardening: systemd-analyze verify and security when there is
# systemd-analyze), keepalived's check script and the sample keepalived
# config (which keepalived -t reads without an error, when installed);
# tocsin-lb run as the unit runs it (an unprivileged user with
# CAP_NET_BIND_SERVICE alone) listens on a port below 1024.
set -u
. "${srcdir:-.}/t/servers.sh" || exit 1
. "${srcdir:-.}/t/probed.sh" || exit 1
. "${srcdir:-.}/t/install.sh" || exit 1
servers_trap

install_dirs
D=$T/root
check "make install" mk install DESTDIR="$D"

U=$D$prefix/lib/systemd/system/tocsin-lb.service
check "the unit is installed" test -f "$U"
for line in "User=tocsin" "AmbientCapabilities=CAP_NET_BIND_SERVICE" \
    "CapabilityBoundingSet=CAP_NET_BIND_SERVICE" "NoNewPrivileges=yes" \
    "ProtectSystem=strict" "ReadWritePaths=$localstatedir/lib/tocsin" \
    "PrivateTmp=yes" "ProtectHome=yes" \
    "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6" \
    "ExecStart=$sbindir/tocsin-lb -f -c $sysconfdir/tocsin.conf" \
    "ExecReload=$sbindir/tocsin-lb -t -c $sysconfdir/tocsin.conf"; do
    check "the unit has $line" grep -qxF "$line" "$U"
done
check_not "no @placeholder@ left in the unit" grep -n '@[a-z]*dir@' "$U"
unit_analyze tocsin-lb.service "$U"

C=$D$libexec/tocsin-lb-check
S=$D$docdir/examples/keepalived-tocsin-lb.conf.sample
check "the check script is installed, executable" test -x "$C"
check "the check script runs $bindir/tocsinctl" \
    grep -qF "$bindir/tocsinctl" "$C"
check "the keepalived sample is installed" test -f "$S"
check "the sample runs $libexec/tocsin-lb-check" \
    grep -qF "script \"$libexec/tocsin-lb-check\"" "$S"
check_not "no @placeholder@ left in the check or the sample" \
    grep -n '@[a-z]*dir@' "$C" "$S"
if command -v keepalived >/dev/null; then
    # As written but for the user (tocsin may not exist here) and the
    # script's place (DESTDIR). keepalived 2.2 may end its config test
    # by SIGTERM once its script checker is set up: what counts is that
    # it found nothing to say.
    sed -e 's/script_user tocsin/script_user nobody/' \
        -e "s|\"$libexec/|\"$D$libexec/|" "$S" >"$T/ka.conf"
    keepalived -t -f "$T/ka.conf" >"$T/ka.out" 2>&1
    rc=$?
    check "keepalived -t on the sample: exit 0 or its SIGTERM ($rc)" \
        test "$rc" = 0 -o "$rc" = 143
    check "keepalived -t on the sample: nothing to say" test ! -s "$T/ka.out"
    cat "$T/ka.out"
    printf 'vrrp_instance x {\n    bogus 1\n}\n' >"$T/bad.conf"
    keepalived -t -f "$T/bad.conf" >"$T/bad.out" 2>&1
    check "keepalived -t speaks up on a bad config" test -s "$T/bad.out"
else
    skip "keepalived -t on the sample" "no keepalived here"
fi

# As the unit runs it: not root, CAP_NET_BIND_SERVICE alone.
if [ "$(id -u)" = 0 ]; then
    port=
    for p in $(seq 700 999); do
        ss -Htln "sport = :$p" | grep -q . || { port=$p; break; }
    done
    mkdir -p "$T/st"
    chown 65534:65534 "$T/st"
    cat >"$T/low.conf" <<CONF
set state-dir $T/st
set control $T/st/probed.sock
farm low {
    listen 127.0.0.1:$port tcp
    server a http://127.0.0.1:9/
}
CONF
    as_unit net_bind_service "$TOCSIN_BUILD/lb/tocsin-lb" -f -d -c "$T/low.conf" \
        >"$T/low.log" 2>&1
    pid=$UNIT_PID
    for _ in $(seq 50); do
        grep -q 'started:' "$T/low.log" && break
        sleep 0.1
    done
    check "as nobody with CAP_NET_BIND_SERVICE alone: listens on $port" \
        grep -q 'started: 1 farms balanced, 1 listeners' "$T/low.log"
    check "... and its control socket is there" test -S "$T/st/lb.sock"
    kill -TERM "$pid" 2>/dev/null
    wait "$pid"
    check "... and exits 0 on SIGTERM" test $? = 0
    check_not "... and removed its socket" test -e "$T/st/lb.sock"
    cat "$T/low.log"
else
    skip "tocsin-lb with CAP_NET_BIND_SERVICE alone" "needs root to set it up"
fi
finish
