#!/bin/sh
# t/test_cluster_pager_storm.sh: storm digests of the cluster's pagers
# (bucket tocsin_storm). A real 3-server NATS cluster, three probe nodes
# watching six servers on one nginx, two pagers with `set storm 2 in
# 10s`, a real SMTP server. nginx is cut off for every node: the six go
# down at once. The first two changes are paged alone; the other four
# wait for the window's end, and pager 1 is killed -9 inside the window
# (after it held some of them) and started again: exactly one digest
# reaches the SMTP server, listing the four (one pager claims it by
# compare-and-set), and none of them is paged alone. A page alone that
# pager 1 was sending when killed may come twice, under its one
# Message-ID (the SMTP server's copy is what a mail reader folds).
set -u
. "${srcdir:-.}/t/cluster.sh" || exit 1
cluster_setup iptables

SERVERS="web s1 s2 s3 s4 s5"
# held: how many events the pagers held for the window's end.
held() {
    cat "$T/pager1.log" "$T/pager2.log" 2>/dev/null |
        sed -n "s/.*event \([0-9]*\) .*listed in the storm digest at the window's end.*/\1/p" |
        sort -u | wc -l
}
# mails: what the SMTP server took, one line a mail: "SUBJECT|MESSAGE-ID"
# and, for a digest, its lines listed ("DOWN s1", ...).
mails() {
    [ -f "$T/smtpd/mail.log" ] || return 0
    "$PY" - "$T/smtpd/mail.log" <<'PY'
import email, json, re, sys
for line in open(sys.argv[1]):
    d = json.loads(line)
    m = email.message_from_string(d["data"])
    body = m.get_payload()
    listed = sorted(re.findall(r"UTC (DOWN \S+):", body)) \
        if "STORM" in m["Subject"] else []
    print("%s|%s|%s" % (m["Subject"], m["Message-ID"], " ".join(listed)))
PY
}
digests() {
    mails | grep -c "STORM"
}

start_nginx || exit 1
start_smtpd 0.5 || exit 1
start_nats_cluster || exit 1
: >"$RULES"
NODE_EXTRA=$(for s in s1 s2 s3 s4 s5; do
    echo "server $s http://127.0.0.1:$NGINX_PORT/body interval 1s timeout 1s retries 1 retry-interval 1s"
done)
for n in 1 2 3; do
    start_node "$n" || exit 1
done
PAGER_EXTRA="set storm 2 in 10s"
PAGER_BODY=$(echo "contact ops email ops@example.net"
    for s in $SERVERS; do
        echo "server $s http://127.0.0.1:$NGINX_PORT/body notify ops"
    done)
start_pager 1 && start_pager 2 || exit 1
pass "3 nats-servers, 3 probe nodes (6 servers), 2 pagers run"
check "the six first states are in the stream" wait_events 6 30

n=$(events)
cut_view
check "the six servers go down: six events" wait_events $((n + 6)) 30
check "the pagers hold four of them for the window's end" \
    wait_for 20 eval '[ "$(held)" -ge 4 ]'
kill9 pager1
pass "pager 1 killed -9 inside the window"
# both at the window's end: each has held events back, one digest
start_pager 1 || exit 1
check "one digest comes at the window's end" \
    wait_for 60 eval '[ "$(digests)" -ge 1 ]'
# what else may come: a second digest, a single page of a folded event
sleep 5
mails >"$T/mails"
cat "$T/mails" >&2
check "exactly one digest" [ "$(grep -c STORM "$T/mails")" = 1 ]
check "... of the four other changes" \
    grep -q "^\[tocsin\] STORM: 4 more state changes, listed once|" "$T/mails"
# SERVER MESSAGE-ID of each page alone; pager 1 killed while the SMTP
# server held one (0.5 s) sends it again with its one Message-ID
pages=$(sed -n 's/^\[tocsin\] DOWN \([a-z0-9]*\):[^|]*|\([^|]*\)|.*/\1 \2/p' \
    "$T/mails")
alone=$(echo "$pages" | cut -d' ' -f1 | sort -u | tr '\n' ' ')
check "two changes paged alone, each under one Message-ID, at most twice ($(echo "$pages" | tr '\n' ' '))" \
    [ "$(echo "$alone" | wc -w)" = 2 -a \
      "$(echo "$pages" | sort -u | grep -c .)" = 2 -a \
      "$(echo "$pages" | sort | uniq -c | awk '$1 > 2' | grep -c .)" = 0 ]
want=$(for s in $SERVERS; do
    case " $alone " in *" $s "*) ;; *) echo "DOWN $s" ;; esac
done | sort | tr '\n' ' ')
got=$(sed -n 's/^\[tocsin\] STORM[^|]*|[^|]*|//p' "$T/mails")
check "the digest lists the four others, once each" \
    [ "$got " = "$want" ]
last=$(natsdump TOCSIN_EVENTS | tail -6 | cut -d' ' -f1 | while read -r s;
    do
        id=$(event_field "$s" id)
        case " $alone " in *" $id "*) ;; *) echo "$s" ;; esac
    done | sort -n | tail -1)
check "... in the place of the last folded event's page (its Message-ID)" \
    grep -q "^\[tocsin\] STORM[^|]*|<$last\\.ops\\.email@" "$T/mails"
check "the folded events are acked as listed in it" \
    wait_for 30 eval '[ "$(cat "$T"/pager*.log | grep -c "listed in the storm digest of event $last")" -ge 4 ]'

grep -h "storm" "$T/pager1.log" "$T/pager2.log" >&2
stop_all
