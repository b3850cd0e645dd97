#!/bin/sh
# t/test_cluster_pager_ctl.sh: tocsin-pager's control socket in cluster
# mode. One probe node (quorum 1) on a NATS JetStream server of its own,
# one tocsin-pager, a real SMTP server and a real HTTP receiver. The pager
# opened no socket in cluster mode, so `tocsinctl test-page` and `pages`
# exited 3, "cannot reach tocsin-pager". Now ping and test-page work as on
# one machine (the test page through the relay and to the webhook), and
# pages answers that it is for one machine: the cluster's deliveries are
# the records of the bucket tocsin_deliveries.
set -u
. "${srcdir:-.}/t/cluster.sh" || exit 1
cluster_setup

start_nginx || exit 1
start_smtpd || exit 1
start_hookd || exit 1
start_nats_alone || exit 1
start_node 1 1 || exit 1
start_pager 1 || exit 1
pass "a nats-server, a probe node and a pager run"
CTL() { "$TOCSINCTL" -c "$T/pager1.conf" "$@"; }
SOCK=$T/pager1/pager.sock

grep -q "control socket $SOCK" "$T/pager1.log" &&
    pass "the pager says where its control socket is" ||
    failed "no control socket in the log" "$(tail -5 "$T/pager1.log")"
out=$("$PY" - "$SOCK" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(sys.argv[1])
s.sendall(b"ping\n")
print(s.makefile().readline().strip())
PY
)
[ "$out" = '{"ok":true}' ] && pass "ping answers ok" ||
    failed "ping: '$out'"

out=$(CTL test-page ops 2>&1); rc=$?
echo "$out"
[ $rc = 0 ] && [ "$(echo "$out" | grep -c ' delivered$')" = 2 ] &&
    pass "test-page ops: email and webhook delivered, exit 0" ||
    failed "test-page ops: rc $rc: $out"
grep -q 'TEST page from tocsin-pager to ops (email)' "$T/smtpd/mail.log" &&
    pass "the test email reached the relay" ||
    failed "relay: $(cat "$T/smtpd/mail.log" 2>/dev/null)"
grep -q '"key": "tocsin-0-ops-webhook-r' "$T/hookd/hook.log" &&
    pass "the test webhook reached the receiver" ||
    failed "receiver: $(cat "$T/hookd/hook.log" 2>/dev/null)"
out=$(CTL test-page nobody 2>&1); rc=$?
[ $rc = 1 ] && echo "$out" | grep -q "no contact 'nobody' in the config" &&
    pass "test-page of an unknown contact: refused, exit 1" ||
    failed "test-page nobody: rc $rc: $out"

out=$(CTL pages 2>&1); rc=$?
[ $rc = 1 ] && echo "$out" | grep -q "pages is for one machine: in cluster mode the deliveries are the records of the bucket tocsin_deliveries" &&
    pass "pages says it is for one machine, exit 1" ||
    failed "pages: rc $rc: $out"

# Paging goes on beside it.
check "the first state (unknown -> up) is in the stream" wait_events 1 30
n=$(events)
servers_stop nginx
check "web's down event is in the stream" wait_events $((n + 1)) 60
EV=$((n + 1))
wait_for 30 eval '[ "$(got "$EV.ops.email")" -ge 1 ]' &&
    pass "web's down event ($EV) is paged" ||
    failed "event $EV is not paged" "$(tail -20 "$T/pager1.log")"
stop_node 1
servers_stop pager1
log_clean "the node and the pager" "$T"/node*.log "$T"/pager*.log
finish
