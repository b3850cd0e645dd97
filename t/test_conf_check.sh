#!/bin/bash
# t/test_conf_check.sh: `tocsin-probed -t` as an admin meets it on configs
# that used to pass -t and fail (or hang) later: a FIFO named by an include
# or a password-file is refused at once, includes are bounded in total, a
# bare number for a duration gets a hint, a password-file that everyone may
# read is a warning (and the config still passes), a contact with no
# channel is refused by every program's -t. No servers needed.
set -u
. "${srcdir:-.}/t/servers.sh" || exit 1
. "${srcdir:-.}/t/probed.sh" || exit 1
servers_trap

# check NAME WANT_RC WANT_STDOUT WANT_STDERR CONF: run -t (killed after 10 s,
# which would be a hang) and compare exit code and both outputs exactly.
# The program is PROG (default tocsin-probed).
check() {
    local name=$1 rc=0
    timeout 10 "${PROG:-$PROBED}" -t -c "$5" >"$T/out" 2>"$T/err" || rc=$?
    if [ "$rc" != "$2" ]; then
        failed "$name: exit $rc, want $2 ($(cat "$T/err"))"
    elif [ "$(cat "$T/out")" != "$3" ]; then
        failed "$name: stdout '$(cat "$T/out")', want '$3'"
    elif [ "$(cat "$T/err")" != "$4" ]; then
        failed "$name: stderr '$(cat "$T/err")', want '$4'"
    else
        pass "$name"
    fi
}

mkfifo "$T/fifo.conf" || exit 1
printf 'include "fifo.conf"\n' >"$T/inc-fifo.conf"
check "an include naming a FIFO is refused, not waited on" 1 "" \
    "$T/inc-fifo.conf:1: include '$T/fifo.conf': not a regular file" \
    "$T/inc-fifo.conf"

printf 'server a ftp://127.0.0.1 user u password-file %s\n' "$T/fifo.conf" \
    >"$T/pw-fifo.conf"
check "a password-file naming a FIFO is refused, not waited on" 1 "" \
    "$T/pw-fifo.conf:1: server 'a': password-file $T/fifo.conf: not a regular file" \
    "$T/pw-fifo.conf"

check "the config itself as a FIFO is refused" 1 "" \
    "$T/fifo.conf: not a regular file" "$T/fifo.conf"

mkdir "$T/many" || exit 1
for i in $(seq 0 15); do
    : >"$T/many/f$i.conf"
    [ "$i" -lt 15 ] || continue
    for j in $(seq 10); do
        printf 'include "f%d.conf"\n' $((i + 1)) >>"$T/many/f$i.conf"
    done
done
check "16 files each including the next ten times fail fast" 1 "" \
    "$T/many/f14.conf:9: includes read more than 1000 files in total" \
    "$T/many/f0.conf"

printf 'server a http://127.0.0.1 interval 5\n' >"$T/bare.conf"
check "a bare number for a duration gets a hint" 1 "" \
    "$T/bare.conf:1: bad duration '5' for 'interval': a number needs a unit (write 5s or 5m)" \
    "$T/bare.conf"

printf 'secret\n' >"$T/open.pw"
chmod 644 "$T/open.pw"
printf 'server a pop3://127.0.0.1 user u password-file %s\n' "$T/open.pw" \
    >"$T/open.conf"
check "a world-readable password-file is a warning, not an error" 0 \
    "config ok: 1 server, 0 farms, 0 contacts" \
    "$T/open.conf:1: warning: server 'a': password-file $T/open.pw is readable by every user (chmod o-r it)" \
    "$T/open.conf"

chmod 600 "$T/open.pw"
check "a password-file only its owner reads passes quietly" 0 \
    "config ok: 1 server, 0 farms, 0 contacts" "" "$T/open.conf"

# A contact with no channel: its pages went nowhere ("not paged, no
# contact for it"), so every program refuses it at its line.
printf 'contact ops email ops@example.net\ncontact bob\nserver a tcp://127.0.0.1:1 notify ops,bob\n' \
    >"$T/nochan.conf"
for PROG in "$PROBED" "$TOCSIN_BUILD/pager/tocsin-pager" \
    "$TOCSIN_BUILD/lb/tocsin-lb"; do
    check "${PROG##*/} -t: a contact with no channel is refused at its line" \
        1 "" "$T/nochan.conf:2: contact 'bob' has no channel: give it email, sms or webhook" \
        "$T/nochan.conf"
done
PROG=

finish
