#!/bin/sh
# t/test_pager_stale_key.sh: a stale digest by webhook has an
# Idempotency-Key of its own. Three pages wait on one lane (a real HTTP
# receiver answers 500 to the first two tries) past stale-after and are
# folded into one digest in the place of the newest: its key is none of
# the pages' own (tocsin-N-ops-webhook), which a receiver may have taken
# already and would drop the digest as a repeat.
set -u
. "${srcdir:-.}/t/pager.sh" || exit 1

start_hookd 2 || exit 1
{
    pager_conf_head
    echo "set stale-after 3s"
    echo "contact ops webhook http://127.0.0.1:$HOOK_PORT/ops"
    echo "server web1 http://127.0.0.1:1/ notify ops"
} >"$T/tocsin.conf"
pager_spooled 100 || exit 1
spool_events "$T/state/spool" 1 3
pager_start || exit 1
wait_for 20 sh -c "grep '\"status\": 200' '$LOG' | grep -q '\"stale\": true'" &&
    pass "the stale digest is delivered" ||
    failed "no digest: $(tail -3 "$T/pager.log")"
"$PY" - "$LOG" <<'PY'
import json, re, sys
h = [json.loads(l) for l in open(sys.argv[1])]
d = [x for x in h if x["status"] == 200 and x["body"].get("stale")]
own = ["tocsin-%d-ops-webhook" % i for i in (1, 2, 3)]
ok = len(d) == 1 and re.fullmatch(r"tocsin-3-ops-webhook-s\d+", d[0]["key"]) \
    and d[0]["key"] not in own and d[0]["body"]["key"] == d[0]["key"]
print([(x["status"], x["key"]) for x in h])
sys.exit(0 if ok else 1)
PY
[ $? = 0 ] && pass "its Idempotency-Key is its own, none of the pages'" ||
    failed "digest key wrong (see the log)"
pager_stop
pager_sanitizers
finish
