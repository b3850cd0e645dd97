#!/bin/bash
# t/test_install.sh: `make install DESTDIR=...` of this build, twice, with
# the installed config edited in between: the edit survives, the sample
# lands beside it as tocsin.conf.sample; uninstall keeps the edited config.
# The man pages, the systemd unit, its sysusers.d and tmpfiles.d files show
# this build's folders; the unit runs as the user tocsin with CAP_NET_RAW
# alone and systemd's hardening (systemd-analyze verify and security, when
# there is systemd-analyze); and tocsin-probed run as the unit runs it (an
# unprivileged user with CAP_NET_RAW alone) pings through a raw socket.
# README.md names what is installed and how to reload each daemon.
set -u
. "${srcdir:-.}/t/servers.sh" || exit 1
. "${srcdir:-.}/t/probed.sh" || exit 1
. "${srcdir:-.}/t/install.sh" || exit 1
servers_trap

install_dirs
pass "the build's folders: sysconfdir $sysconfdir, localstatedir $localstatedir"

D=$T/root
SAMPLE=$srcdir/etc/tocsin.conf
CONF=$D$sysconfdir/tocsin.conf

check "first make install" mk install DESTDIR="$D"
check "the sample is installed as tocsin.conf" cmp "$SAMPLE" "$CONF"
check_not "no tocsin.conf.sample beside it" test -e "$CONF.sample"

echo "server mine http://127.0.0.1:1/   # edited" >>"$CONF"
cp "$CONF" "$T/edited.conf"
check "second make install" mk install DESTDIR="$D"
check "the edited tocsin.conf is kept" cmp "$T/edited.conf" "$CONF"
check "the sample is installed as tocsin.conf.sample" cmp "$SAMPLE" \
    "$CONF.sample"

# Man pages: this build's folders, no placeholder left.
M5=$D$mandir/man5/tocsin.conf.5
M8=$D$mandir/man8/tocsin-probed.8
C8=$D$mandir/man8/tocsinctl.8
L8=$D$mandir/man8/tocsin-lb.8
G8=$D$mandir/man8/tocsin.cgi.8
check "tocsin.conf(5) names $sysconfdir/tocsin.conf" \
    grep -q "$sysconfdir/tocsin.conf" "$M5"
check "tocsin-probed(8) names $sysconfdir/tocsin.conf" \
    grep -q "$sysconfdir/tocsin.conf" "$M8"
check "tocsin-probed(8) names the state folder $localstatedir/lib/tocsin" \
    grep -q "$localstatedir/lib/tocsin" "$M8"
check "tocsinctl(8) names $sysconfdir/tocsin.conf" \
    grep -q "$sysconfdir/tocsin.conf" "$C8"
# Their default config is the build's, not /etc/tocsin.conf (lib/conf.c).
check "tocsin-lb(8) names $sysconfdir/tocsin.conf" \
    grep -q "$sysconfdir/tocsin.conf" "$L8"
check "tocsin.cgi(8) names $sysconfdir/tocsin.conf" \
    grep -q "$sysconfdir/tocsin.conf" "$G8"
check_not "no @placeholder@ left in the man pages" \
    grep -n '@[a-z]*dir@' "$M5" "$M8" "$C8" "$L8" "$G8"
if [ "$sysconfdir" != /usr/local/etc ]; then
    check_not "no /usr/local/etc in the man pages" \
        grep -n /usr/local/etc "$M5" "$M8" "$C8" "$L8" "$G8"
else
    skip "no /usr/local/etc in the man pages" "this build's sysconfdir is /usr/local/etc"
fi

# The unit and its user and folder.
U=$D$prefix/lib/systemd/system/tocsin-probed.service
SU=$D$prefix/lib/sysusers.d/tocsin.conf
TF=$D$prefix/lib/tmpfiles.d/tocsin.conf
check "the unit is installed" test -f "$U"
for line in "User=tocsin" "AmbientCapabilities=CAP_NET_RAW" \
    "CapabilityBoundingSet=CAP_NET_RAW" "NoNewPrivileges=yes" \
    "ProtectSystem=strict" "ReadWritePaths=$localstatedir/lib/tocsin" \
    "PrivateTmp=yes" "ProtectHome=read-only" \
    "ExecStart=$sbindir/tocsin-probed -f -c $sysconfdir/tocsin.conf"; do
    check "the unit has $line" grep -qxF "$line" "$U"
done
check "RestrictAddressFamilies keeps AF_UNIX, AF_INET, AF_INET6 only, and netlink" \
    grep -qx 'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK' "$U"
check_not "no @placeholder@ left in the unit" grep -n '@[a-z]*dir@' "$U"
check "sysusers.d makes the system user tocsin" grep -q '^u tocsin ' "$SU"
check "tmpfiles.d makes $localstatedir/lib/tocsin for tocsin" \
    grep -qx "d $localstatedir/lib/tocsin 0750 tocsin tocsin -" "$TF"
unit_analyze tocsin-probed.service "$U"

# As the unit runs it: not root, CAP_NET_RAW alone, no new privileges.
if [ "$(id -u)" = 0 ]; then
    mkdir -p "$T/st"
    chown 65534:65534 "$T/st"
    cat >"$T/ping.conf" <<CONF
set state-dir $T/st
set interval 1s
set timeout 1s
set archives off
server lo ping://127.0.0.1
CONF
    as_unit net_raw "$PROBED" -f -d -c "$T/ping.conf" >"$T/ping.log" 2>&1 7>&-
    pid=$UNIT_PID
    for _ in $(seq 50); do
        grep -q '^tocsin-probed: lo: ' "$T/ping.log" && break
        sleep 0.1
    done
    kill -TERM "$pid" 2>/dev/null
    wait "$pid"
    check "as nobody with CAP_NET_RAW alone: exits 0 on SIGTERM" test $? = 0
    check "as nobody with CAP_NET_RAW alone: a raw ICMP socket" \
        grep -q 'ping: raw ICMP socket' "$T/ping.log"
    check "as nobody with CAP_NET_RAW alone: loopback answers" \
        grep -q '^tocsin-probed: lo: ok .*loss 0%' "$T/ping.log"
    cat "$T/ping.log"
else
    skip "tocsin-probed with CAP_NET_RAW alone" "needs root to set it up"
fi

# README.md tells the truth about what is installed: its `make install`
# paragraph names each program and man page put in place (it left out
# tocsin.cgi, tocsin-lb and three pages), and its reload recipe each
# daemon (it reloaded tocsin-probed alone, though each reads the config).
para=$(sed -n '/^`make install` puts/,/^$/p' "$srcdir/README.md")
reload=$(sed -n '/^Each daemon reads the config itself/,/instead\.$/p' \
    "$srcdir/README.md")
has() { printf '%s\n' "$1" | grep -qF -- "$2"; }
for f in "$D$sbindir"/* "$D$bindir"/* "$D$mandir"/man*/*; do
    n=${f##*/}
    case $f in "$D$mandir"/*) n="${n%.*}(${n##*.})" ;; esac
    check "README's make install names $n" has "$para" "\`$n\`"
done
for f in "$D$sbindir"/*; do
    check "README's reload recipe reloads ${f##*/}" has "$reload" "${f##*/}"
done

check "make uninstall" mk uninstall DESTDIR="$D"
check "uninstall keeps the edited tocsin.conf" cmp "$T/edited.conf" "$CONF"
check "uninstall leaves nothing else" \
    test "$(find "$D" -type f)" = "$CONF"
finish
