# t/install.sh: what the install tests share, sourced after t/probed.sh.
#
#   mk ARGS...            make in the build folder, outside make check's
#                         jobserver (mk install DESTDIR=...)
#   install_dirs          sets prefix sysconfdir localstatedir sbindir bindir
#                         mandir libexec (pkglibexecdir) docdir as this
#                         build's make expands them; fails the test if not
#   unit_analyze NAME U   systemd-analyze verify (with the programs looked
#                         for under $D) and security (exposure below 3.0)
#                         of the installed unit U, or a skip saying why
#   as_unit CAP CMD...    starts CMD in the background as nobody with
#                         capability CAP alone and no new privileges, as
#                         the units run the daemons; its pid in UNIT_PID

mk() {
    env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL "${MAKE:-make}" -s \
        -C "$TOCSIN_BUILD" "$@"
}

install_dirs() {
    local dirs
    dirs=$(printf 'print-dirs:\n\t@echo $(prefix) $(sysconfdir) $(localstatedir) $(sbindir) $(bindir) $(mandir) $(pkglibexecdir) $(docdir)\n' |
        env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL "${MAKE:-make}" -s \
            --no-print-directory -C "$TOCSIN_BUILD" -f Makefile -f - \
            print-dirs | tail -n 1)
    read -r prefix sysconfdir localstatedir sbindir bindir mandir libexec \
        docdir <<<"$dirs"
    if [ -z "$docdir" ]; then
        failed "the build's folders" "$dirs"
        finish
        exit 1
    fi
}

unit_analyze() {
    local name=$1 unit=$2 x
    if ! command -v systemd-analyze >/dev/null; then
        skip "systemd-analyze verify and security of $name" \
            "no systemd-analyze here"
        return
    fi
    # verify needs the programs where the unit says; point it at $D.
    mkdir -p "$T/verify"
    sed "s|$sbindir/|$D$sbindir/|g" "$unit" >"$T/verify/$name"
    systemd-analyze verify --man=no "$T/verify/$name" >"$T/verify.out" 2>&1
    check "systemd-analyze verify $name: exit 0" test $? = 0
    check "systemd-analyze verify $name: no warning" test ! -s "$T/verify.out"
    cat "$T/verify.out"
    x=$(systemd-analyze security --offline=yes "$unit" 2>&1 |
        sed -n "s/.*Overall exposure level for $name: \([0-9.]*\).*/\1/p")
    check "systemd-analyze security $name: exposure ${x:-?} is below 3.0" \
        awk -v x="${x:-99}" 'BEGIN { exit !(x < 3.0) }'
}

as_unit() {
    local cap=$1
    shift
    setpriv --reuid=65534 --regid=65534 --clear-groups \
        --inh-caps=-all,+"$cap" --ambient-caps=-all,+"$cap" \
        --bounding-set=-all,+"$cap" --no-new-privs "$@" &
    UNIT_PID=$!
}
