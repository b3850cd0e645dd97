#!/bin/sh
# t/test_pager_unreadable.sh: a spool event the pager cannot read for a
# while (mode 000, the pager running as an unprivileged user, as it does
# in production) is not passed over: the events after it are paged, and
# once it can be read it is paged too, without a restart. A real HTTP
# receiver counts the webhooks.
set -u
. "${srcdir:-.}/t/pager.sh" || exit 1

start_hookd 0 || exit 1
{
    pager_conf_head
    echo "contact ops webhook http://127.0.0.1:$HOOK_PORT/ops"
    echo "server web1 http://127.0.0.1:1/ notify ops"
} >"$T/tocsin.conf"
pager_spooled 100 || exit 1
spool_events "$T/state/spool" 1 3
EV2=$T/state/spool/00000000000000000002.json
chmod 000 "$EV2"
if [ "$(id -u)" = 0 ]; then
    # Root reads a mode 000 file: the pager runs as nobody, as in
    # production it runs as its own user.
    chown -R 65534:65534 "$T/state" && chmod 644 "$T/tocsin.conf" &&
        chmod 755 "$T" || exit 1
    printf '#!/bin/sh\nexec setpriv --reuid=65534 --regid=65534 --clear-groups -- %s "$@"\n' \
        "$PAGER" >"$T/pager-as-nobody" && chmod 755 "$T/pager-as-nobody" ||
        exit 1
    PAGER=$T/pager-as-nobody
fi
pager_start || exit 1
both() { has_key tocsin-1-ops-webhook && has_key tocsin-3-ops-webhook; }
wait_for 10 both
has_key tocsin-1-ops-webhook && has_key tocsin-3-ops-webhook &&
    pass "the events around the unreadable one are paged" ||
    failed "events 1 and 3: $(tail -3 "$T/pager.log")"
grep -q "spool: event 2 cannot be read" "$T/pager.log" &&
    pass "the unreadable event is logged" || failed "not logged"
has_key tocsin-2-ops-webhook && failed "event 2 paged while unreadable"
chmod 644 "$EV2"
wait_for 10 has_key tocsin-2-ops-webhook &&
    pass "readable again: event 2 is paged, no restart" ||
    failed "event 2 never paged: $(grep 'event 2' "$T/pager.log" | tail -2)"
n=$(grep -c "spool: event 2 cannot be read" "$T/pager.log")
[ "$n" = 1 ] && pass "logged once" || failed "logged $n times"
wait_for 10 sh -c "[ -z \"\$(ls '$T/state/spool' | grep json)\" ]" &&
    pass "the three events are removed once paged" ||
    failed "left: $(ls "$T/state/spool")"
pager_stop
pager_sanitizers
finish
