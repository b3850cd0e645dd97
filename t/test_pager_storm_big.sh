#!/bin/sh
# t/test_pager_storm_big.sh: a storm whose digest would be larger than a
# record used to be read back (1200 servers down with long messages under
# `set storm 2 in 5s`, the relay down). The digest lists DIGEST_LINES (500)
# of them and says how many more; the pager is killed and started again
# with the digest on disk, and once the relay (a real aiosmtpd) is back
# the digest goes, once: no record set aside as unreadable.
set -u
. "${srcdir:-.}/t/pager.sh" || exit 1

N=1200
_srv_setport SMTPD_PORT || exit 1
pager_spooled 10000 || exit 1
{
    pager_conf_head "2 in 5s"
    echo "contact ops email ops@example.net"
    storm_servers "$N" ops
} >"$T/tocsin.conf"
# Spooled 30 s ago: the window has ended by the clock when the pager
# reads them, 1000 at a time; its end must wait for the last 200 (one
# digest, not one of 998 and one of 200).
storm_spool "$N" 240 30 || exit 1
pager_start || exit 1
wait_for 60 grep -q "storm digest of $((N - 2)) changes for ops (email)" \
    "$T/pager.log" && pass "the storm's digest is made" ||
    failed "no digest: $(tail -3 "$T/pager.log")"
pager_kill9
pager_start || exit 1
bad=$(ls "$Q" | grep -c '\.bad$')
[ "$bad" = 0 ] && ! grep -q "set aside" "$T/pager.log" &&
    pass "after a restart every record reads back" ||
    failed "$bad set aside: $(grep 'set aside' "$T/pager.log" | tail -1 | cut -c1-200)"
start_smtpd plain || exit 1
drained() { [ -z "$(ls "$Q" | grep -v '\.bad$')" ]; }
wait_for 60 drained && pass "relay back: every record goes" ||
    failed "left: $(ls "$Q" | wc -l) records"
sleep 1
"$PY" - "$MAIL" "$N" <<'PY'
import json, re, sys
m = [json.loads(l) for l in open(sys.argv[1])]
n = int(sys.argv[2])
d = [x for x in m if "STORM" in (x["subject"] or "")]
alone = [x for x in m if "STORM" not in (x["subject"] or "")]
ok = len(d) == 1 and len(alone) == 2
if ok:
    body = d[0]["data"]
    listed = re.findall(r"DOWN s(\d+):", body)
    ok = len(listed) == 500 and len(set(listed)) == 500 and \
        ("... and %d more, not listed" % (n - 2 - 500)) in body and \
        d[0]["subject"] == "[tocsin] STORM: %d more state changes, listed once" % (n - 2)
print(len(m), [x["subject"] for x in d])
sys.exit(0 if ok else 1)
PY
[ $? = 0 ] && pass "one digest: 500 lines, the rest counted, the first two alone" ||
    failed "mails wrong"
pager_stop
pager_sanitizers
finish
