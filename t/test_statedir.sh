#!/bin/bash
# t/test_statedir.sh: started as root with `set user nobody`, tocsin-probed
# follows none of the links nobody could plant in its state folder: no file
# outside it changes owner, mode or content (symlinks and a hard link in
# the folder, in rrd/, in spool/, at the pidfile, the state file and their
# temporaries). A state folder nobody could have swapped is refused, with
# the reason. Needs root (skipped otherwise, saying so).
set -u
if [ "$(id -u)" != 0 ]; then
    echo "SKIP: needs root to start tocsin-probed with set user nobody"
    exit 77
fi
. "${srcdir:-.}/t/servers.sh" || exit 1
. "${srcdir:-.}/t/probed.sh" || exit 1
servers_trap

O=$T/outside
S=$T/sd/state
mkdir -p "$O/dir" "$O/dir2" "$T/sd" "$S/spool" "$S/sub"
chmod 755 "$T/sd"
for f in secret pidvictim statevictim tmpvictim spooltmpvictim subvictim \
    hardvictim dir/inside dir2/inside; do
    echo "root's $f" >"$O/$f"
    chmod 600 "$O/$f"
done
chmod 700 "$O/dir" "$O/dir2"
# What nobody could have planted after an earlier run gave it the folder.
ln -s "$O/secret" "$S/evil"
ln -s "$O/pidvictim" "$S/probed.pid"
ln -s "$O/statevictim" "$S/state.json"
ln -s "$O/tmpvictim" "$S/.tmp.state.json"
ln -s "$O/dir" "$S/rrd"
ln -s "$O/spooltmpvictim" "$S/spool/.tmp.00000000000000000001.json"
ln -s "$O/dir2" "$S/sub/deeper"
ln -s "$O/subvictim" "$S/sub/link"
ln "$O/hardvictim" "$S/hard"     # root plants it: protected_hardlinks
chown -R -h nobody:nogroup "$S"

snapshot() {
    (cd "$O" && find . -printf '%p %u:%g %m %s\n' | sort &&
        find . -type f -exec sha256sum {} + | sort)
}
snapshot >"$T/before"

PORT=$(servers_port)
cat >"$T/probed.conf" <<CONF
set state-dir $S
set user nobody
set interval 1s
set retries 1
server closed tcp://127.0.0.1:$PORT
CONF

probed_start "$T/probed.conf" || exit 1
wait_field closed state_type hard 10 || true
assert_field closed state down
ctl drain closed >/dev/null || failed "drain (writes the state file)"
probed_stop
snapshot >"$T/after"
if diff -u "$T/before" "$T/after"; then
    pass "no file outside the state folder changed"
else
    failed "files outside the state folder changed (diff above)"
fi
[ "$(stat -c %U "$S")" = nobody ] && pass "state folder given to nobody" ||
    failed "state folder owner $(stat -c %U "$S")"
[ -f "$S/state.json" ] && [ ! -L "$S/state.json" ] &&
    pass "state.json is a file of its own" ||
    failed "state.json is still a link"
[ "$(stat -c %U "$S/state.json")" = nobody ] &&
    pass "state.json written as nobody" ||
    failed "state.json owner $(stat -c %U "$S/state.json")"
ls "$S/spool/"0*.json >/dev/null 2>&1 && pass "an event was spooled" ||
    failed "no event in the spool"
[ ! -e "$S/.tmp.state.json" ] && [ ! -L "$S/.tmp.state.json" ] &&
    [ ! -L "$S/spool/.tmp.00000000000000000001.json" ] &&
    pass "planted temporaries removed (the links, not their targets)" ||
    failed "planted temporaries still there"
grep -q "is a link: not followed" "$T/probed.log" &&
    pass "links in the folder logged" || failed "links not logged"

# A spool that is a link: refused, nothing outside touched.
rm -rf "$S/spool"
ln -s "$O/dir2" "$S/spool"
: >"$T/probed.log"
timeout 10 "$PROBED" -f -c "$T/probed.conf" >>"$T/probed.log" 2>&1
rc=$?
if [ $rc = 0 ] || [ $rc = 124 ]; then
    failed "started with spool/ a link (exit $rc)"
else
    pass "spool/ that is a link refused ($(tail -n1 "$T/probed.log"))"
fi
snapshot >"$T/after"
diff -q "$T/before" "$T/after" >/dev/null &&
    pass "nothing outside changed by the refused start" ||
    failed "the refused start changed files outside"

# A state folder nobody could swap: its parent belongs to nobody.
mkdir -p "$T/nob/state"
chown nobody "$T/nob"
sed "s|^set state-dir .*|set state-dir $T/nob/state|" "$T/probed.conf" \
    >"$T/nob.conf"
if out=$(timeout 10 "$PROBED" -f -c "$T/nob.conf" 2>&1); then
    failed "started in a folder nobody could swap"
else
    echo "$out" | grep -q "belongs to nobody, who could replace" &&
        pass "refused, saying why: $(echo "$out" | head -n1)" ||
        failed "refused without saying why: $out"
fi
# ... or it is writable by nobody's group.
mkdir -p "$T/grp/state"
chgrp nogroup "$T/grp"
chmod 775 "$T/grp"
sed "s|^set state-dir .*|set state-dir $T/grp/state|" "$T/probed.conf" \
    >"$T/grp.conf"
if out=$(timeout 10 "$PROBED" -f -c "$T/grp.conf" 2>&1); then
    failed "started in a folder nobody's group could swap"
else
    echo "$out" | grep -q "is writable by nobody" &&
        pass "refused, saying why: $(echo "$out" | head -n1)" ||
        failed "refused without saying why: $out"
fi
# ... or the folder belongs to another user.
mkdir -p "$T/other/state"
chown 4242 "$T/other/state"
sed "s|^set state-dir .*|set state-dir $T/other/state|" "$T/probed.conf" \
    >"$T/other.conf"
if out=$(timeout 10 "$PROBED" -f -c "$T/other.conf" 2>&1); then
    failed "started in a folder of uid 4242"
else
    echo "$out" | grep -q "neither root nor nobody" &&
        pass "refused, saying why: $(echo "$out" | head -n1)" ||
        failed "refused without saying why: $out"
fi
echo "$npass passed, $nfail failed"
[ "$nfail" -eq 0 ]
