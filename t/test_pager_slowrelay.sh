#!/bin/sh
# t/test_pager_slowrelay.sh: a relay that stalls (a real aiosmtpd that
# holds each DATA for 60 s; the pager gives each step 10 s) under 80
# mails on two lanes does not hold every send slot: a webhook page of
# the same events, queued behind them, arrives at once at a real HTTP
# receiver.
set -u
. "${srcdir:-.}/t/pager.sh" || exit 1

mkdir -p "$T/smtpd" && _srv_chown "$T/smtpd" && _srv_setport SMTPD_PORT ||
    exit 1
_srv_spawn smtpd $SERVERS_ASUSER $SERVERS_PY \
    "$SERVERS_TDIR/servers/smtpd_slow.py" "$SMTPD_PORT" \
    "$T/smtpd/mail.log" 60 || exit 1
_srv_wait smtpd "t:$SMTPD_PORT" || exit 1
start_hookd 0 || exit 1
{
    pager_conf_head
    echo "contact a1 email a1@example.net"
    echo "contact a2 email a2@example.net"
    echo "contact z webhook http://127.0.0.1:$HOOK_PORT/z"
    echo "server web1 http://127.0.0.1:1/ notify a1,a2,z"
} >"$T/tocsin.conf"
pager_spooled 100 || exit 1
spool_events "$T/state/spool" 1 40
pager_start || exit 1
# Before, the two mail lanes' 32-mail sessions took all 64 slots: the
# webhook waited for the relay's 10 s timeout.
wait_for 4 has_key tocsin-1-z-webhook &&
    pass "the webhook goes beside the stalled relay" ||
    failed "no webhook in 4 s: $(grep -c . "$LOG" 2>/dev/null) requests"
wait_for 5 sh -c "[ \$(grep -c '\"status\": 200' '$LOG') -ge 5 ]" &&
    pass "and goes on" || failed "$(grep -c . "$LOG") requests"
pager_stop
pager_sanitizers
finish
