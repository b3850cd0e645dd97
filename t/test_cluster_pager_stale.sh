#!/bin/sh
# t/test_cluster_pager_stale.sh: set stale-after of the cluster's pagers
# (bucket tocsin_stale): a real 3-server NATS cluster, nginx watched by
# three probe nodes, two pagers, stale-after 8s, the SMTP relay down.
#   1. web goes down and up: both pages wait past stale-after; one pager
#      claims their digest, which goes once the relay is back (a real
#      SMTP server): one message listing the two, under the Message-ID
#      of the last one's page, neither page alone, counted by Message-ID
#      at the SMTP server.
#   2. nothing more while nothing is stale; the relay down again, web
#      down and up: a second claim, for these two only.
#   3. its claimant killed -9 while the SMTP server (answering 3 s late)
#      takes it: the other pager takes the claim over once the
#      claimant's heartbeat is gone and sends it again with the same
#      Message-ID.
set -u
. "${srcdir:-.}/t/cluster.sh" || exit 1
cluster_setup iptables

# held: how many digests the pagers claimed.
held() { cat "$T"/pager*.log | grep -c "2 pages to ops (email) made over 8 s ago: held for one digest"; }
# claims N: how many digests pager N claimed.
claims() { grep -c 'held for one digest' "$T/pager$1.log"; }
# digest N SEQ: mail N (from 1) is the stale digest of event SEQ listing
# web's down and recovery pages in order.
digest() {
    "$PY" - "$T/smtpd/mail.log" "$@" <<'PY'
import json, sys
m = [json.loads(l) for l in open(sys.argv[1])]
n, seq = int(sys.argv[2]), sys.argv[3]
d = m[n - 1] if len(m) >= n else {}
head, _, body = d.get("data", "").replace("\r", "").partition("\n\n")
pos = [body.find("%s web" % w) for w in ("DOWN", "RECOVERED")]
sys.exit(0 if "\nSubject: [tocsin] STALE: 2 pages not delivered in time, "
         "listed once\n" in "\n" + head + "\n" and
         d.get("message_id", "").startswith("<%s.ops.email@" % seq) and
         all(p >= 0 for p in pos) and pos == sorted(pos) else 1)
PY
}

start_nginx || exit 1
_srv_setport SMTPD_PORT || exit 1       # the relay, down for now
start_probing || exit 1
PAGER_EXTRA="set stale-after 8s"
PAGER_BODY="contact ops email ops@example.net
server web http://127.0.0.1:$NGINX_PORT/body notify ops"
export PAGER_EXTRA PAGER_BODY
start_pager 1 && start_pager 2 || exit 1
pass "3 nats-servers, 3 probe nodes, 2 pagers run"
check "tocsin-pager -t takes set stale-after with set cluster" \
    "$PAGER" -t -c "$T/pager1.conf"

# 1. Two pages stuck past stale-after: one digest.
web_goes down
a=$EV
web_goes up
b=$EV
check "past stale-after one pager claims the digest of the two pages" \
    wait_for 60 sh -c "[ \$(cat '$T'/pager*.log | grep -c 'held for one digest') -ge 1 ]"
start_smtpd || exit 1
check "relay back: the digest comes" wait_for 30 sh -c "[ -s '$T/smtpd/mail.log' ]"
sleep 10    # five looks of each pager: a second copy would be there
check "one mail only, the digest ($(mids | tr '\n' ' '))" \
    [ "$(mids | wc -l)" = 1 ]
check "it lists web's down and up in order, as event $b's page" \
    digest 1 "$b"
check "event $a was not paged alone" [ "$(got "$a.ops.email")" = 0 ]
check "one claim across the pagers" [ "$(held)" = 1 ]

# 2. Nothing more until two pages are stale again.
kill9 smtpd
h2=$(claims 2)
sleep 12
check "nothing more while nothing is stale" [ "$(held)" = 1 ]
web_goes down
c=$EV
web_goes up
d=$EV
check "the next two pages stale: a second claim" wait_for 60 sh -c \
    "[ \$(cat '$T'/pager*.log | grep -c 'held for one digest') -ge 2 ]"
# 3. Its claimant killed -9 while the SMTP server (back, answering 3 s
# late) takes it: the other takes the claim over once the claimant's
# heartbeat is gone (tocsin_pagers) and sends it again, with the same
# Message-ID.
claimant=1
[ "$(claims 2)" -gt "$h2" ] && claimant=2
start_smtpd 3 || exit 1
check "relay back: the second digest comes" \
    wait_for 30 sh -c "[ \$(grep -c . '$T/smtpd/mail.log') -ge 2 ]"
kill9 "pager$claimant"
other=$((3 - claimant))
check "its claimant (pager$claimant) killed -9 mid-send; pager$other takes it over" \
    wait_for 60 grep -q "event $d: stale digest of 2 pages for ops (email) delivered" \
    "$T/pager$other.log"
check "... once the claimant's heartbeat is gone (not after 90 s)" \
    grep -q "cluster: pager .* is gone: its claim of [0-9]* s ago" \
    "$T/pager$other.log"
check "the second digest came again, with the same Message-ID ($(mids | tr '\n' ' '))" \
    [ "$(got "$d.ops.email")" = 2 -a "$(mids | wc -l)" = 3 ]
check "the second lists the next down and up, as event $d's page" \
    digest 2 "$d"
check "event $c was not paged alone" [ "$(got "$c.ops.email")" = 0 ]
check "two claims in all" [ "$(held)" = 2 ]

stop_all
