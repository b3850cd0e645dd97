#!/bin/sh
# t/test_pager_storm300.sh: the issue's storm at full size. 300 servers go
# down within 5 s (their events spooled by hand, times spread over 4 s)
# under `set storm 2 in 5s` (the minute shortened): each of two contacts
# gets at most 3 pages on each channel, the first two alone and one digest
# listing the 298 others, and no event is lost (each listed once). Pages
# go to the Maildir and to a real HTTP receiver.
set -u
. "${srcdir:-.}/t/pager.sh" || exit 1

N=300
start_hookd 0 || exit 1
pager_spooled 1000 || exit 1
{
    pager_conf_head "2 in 5s"
    echo "contact ops email ops@example.net webhook http://127.0.0.1:$HOOK_PORT/ops"
    echo "contact dev email dev@example.net webhook http://127.0.0.1:$HOOK_PORT/dev"
    storm_servers "$N" ops,dev
} >"$T/tocsin.conf"
storm_spool "$N" || exit 1
pager_start || exit 1
drained() { [ -z "$(ls "$T/state/pager/queue")" ]; }
wait_for 30 drained && pass "the $N events are paged or digested" ||
    failed "left: $(ls "$T/state/pager/queue" | wc -l) records"
pager_stop

# Per contact and channel: pages, digests, and the servers the pages and
# the digest name (each of the N once).
"$PY" - "$NEW" "$LOG" "$N" <<'PY' >"$T/storm.out"
import collections, json, os, re, sys
new, log, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
pages = collections.defaultdict(list)
for f in os.listdir(new):
    seq, who, ch = f.split("-")
    pages[(who, ch)].append(open(os.path.join(new, f)).read())
for l in open(log):
    h = json.loads(l)
    if h["status"] == 200:
        pages[(h["path"].strip("/"), "webhook")].append(h["body"]["text"])
for who in ("ops", "dev"):
    for ch in ("email", "webhook"):
        p = pages[(who, ch)]
        named = collections.Counter()
        for text in p:
            named.update(re.findall(r"\b(s\d+)\b", text.split("STORM")[-1])
                         if "STORM" in text else
                         set(re.findall(r"server: +(s\d+)", text)))
        ok = len(p) <= 3 and sorted(named) == sorted("s%d" % i for i in range(1, n + 1)) \
            and max(named.values()) == 1
        print(who, ch, len(p), "ok" if ok else "bad %s" % sorted(named.items())[:5])
PY
for who in ops dev; do
    for ch in email webhook; do
        l=$(grep "^$who $ch " "$T/storm.out")
        [ "${l##* }" = ok ] &&
            pass "$who by $ch: $(echo "$l" | cut -d' ' -f3) pages for the $N servers, each named once" ||
            failed "$who by $ch: $l"
    done
done
pager_sanitizers
finish
