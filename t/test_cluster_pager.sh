#!/bin/sh
# t/test_cluster_pager.sh: two tocsin-pagers in cluster mode share one
# durable consumer of the events stream, their delivery records in a
# JetStream bucket. A real 3-server NATS cluster, a real nginx watched by
# three probe nodes (quorum 2), a real SMTP server (aiosmtpd) that keeps
# what it receives. The server goes down and up again and again while
# one pager, then the other, is killed -9 (and started again), a
# nats-server is killed -9 and a probe node too; the SMTP server takes
# 1.5 s to answer, a real HTTP server takes webhooks and answers 1 s
# later, and each kill of a pager comes while it sends: every page is
# delivered exactly once, counted by Message-ID at the SMTP server and by
# Idempotency-Key at the HTTP server, but for the window the contract
# leaves (a try cut between the far side taking it and its record: sent
# again with the same Message-ID or Idempotency-Key).
# Then acks, downtimes and drains made on one node with tocsinctl reach
# the others (and a node started again) through the bucket
# tocsin_control: web going down and up under a downtime set on node2
# makes events that say so and no mail; the ack and the downtime go again
# (node3, cut off from NATS meanwhile, drops it once it reconnects).
set -u
. "${srcdir:-.}/t/cluster.sh" || exit 1
cluster_setup iptables


# kill_sending N CHANNEL: kill -9 the pager that is sending a CHANNEL
# page now (its log's last page line says "sending CHANNEL"), or after
# 40 s, pager N. A pager killed holds its event, and web's later ones
# (paged in their order), for the ack wait and until its heartbeat is
# gone (15 to 25 s): the next round's pages may only start then.
kill_sending() {
    local i=0 n
    while [ $i -lt 400 ]; do
        for n in 1 2; do
            if servers_running "pager$n" && grep -E "page to" \
                "$T/pager$n.log" | tail -1 | grep -q "sending $2 "; then
                kill9 "pager$n"
                echo "$n"
                return 0
            fi
        done
        sleep 0.1
        i=$((i + 1))
    done
    kill9 "pager$1"
    echo "$1"
}

start_nginx || exit 1
start_smtpd 1.5 || exit 1
# webhooks answered 1 s late: a pager killed meanwhile is killed mid-send
start_hookd 1 || exit 1
start_nats_cluster || exit 1
: >"$RULES"
# Flap damping off: every change is paged, however fast the machine flips
# web (eight changes in a short run made the last one "flapping", held).
NODE_EXTRA="set flap-low 99
set flap-high 100"
for n in 1 2 3; do
    start_node "$n" || exit 1
done
start_pager 1 && start_pager 2 || exit 1
pass "3 nats-servers, 3 probe nodes, 2 pagers run"
check "the first state (unknown -> up) is in the stream" wait_events 1 30

# flip: web goes down for every node, then up again; one event each.
# In the background: what went wrong goes to $T/flip.err.
flip() {
    local n
    n=$(events)
    [ "$n" -ge 0 ] || echo "cannot count the events" >>"$T/flip.err"
    cut_view
    wait_events $((n + 1)) 60 || echo "no down event after $n" >>"$T/flip.err"
    settle down
    heal
    wait_events $((n + 2)) 60 ||
        echo "no up event after $((n + 1))" >>"$T/flip.err"
    settle up
}
# settle STATE: every running node's verdict is STATE. A heal (or cut)
# that comes while one node's verdict still lags makes the quorum flip
# twice: two nodes cut, the cluster down, healed, one of them up again
# while the third's late "down" and the other's make a quorum down.
settle() {
    local k
    for k in 1 2 3; do
        servers_running "node$k" || continue
        wait_verdict "node$k" "$1" 30 ||
            echo "node$k's verdict is not $1" >>"$T/flip.err"
    done
}
: >"$T/flip.err"

# A pager killed at a random moment of each round, the other then.
for round in 1 2 3 4; do
    case $round in
    2) kill9 nats2 ;;
    3)  # its last verdict stays: let it be up, as the others'
        wait_verdict node3 up 15 || failed "node3 does not say up"
        kill9 node3 ;;
    esac
    flip &
    flipping=$!
    # rounds 2 and 4 cut a webhook, 1 and 3 a mail
    p=$(kill_sending $((round % 2 + 1)) \
        "$([ $((round % 2)) = 0 ] && echo webhook || echo email)")
    wait "$flipping"
    start_pager "$p" || exit 1
    [ "$round" = 2 ] && { start_nats 2 || failed "nats2 did not start"; }
done
start_node 3 || failed "node3 did not start again"
check "each flip made its down and up events" [ ! -s "$T/flip.err" ]
[ ! -s "$T/flip.err" ] || cat "$T/flip.err"

# Every event but the first (unknown -> up) pages ops by email.
natsdump TOCSIN_EVENTS | sed -n 's/^\([0-9]*\) .*"old":"\(up\|down\)".*/\1/p' \
    >"$T/paged"
want=$(wc -l <"$T/paged")
natsdump TOCSIN_EVENTS | "$PY" -c '
import json, sys
for line in sys.stdin:
    seq, d = line.split(" ", 1)
    d = json.loads(d)
    print("#", seq, d["old"], "->", d["new"], "by", d["by"],
          {n: v["state"] for n, v in d["nodes"].items()})' >&2
check "the server changed state 8 times in the stream, once each" \
    [ "$want" = 8 -a "$(events)" = 9 ]
i=0
while [ $i -lt 120 ]; do
    got=$(sed -n 's/.*"message_id": "<\([0-9]*\)\.ops\.email@.*/\1/p' \
        "$T/smtpd/mail.log" 2>/dev/null | sort -un | wc -l)
    hooks=$(sed -n 's/.*"key": "tocsin-\([0-9]*\)-ops-webhook".*/\1/p' \
        "$T/hookd/hook.log" 2>/dev/null | sort -un | wc -l)
    [ "$got" -ge "$want" ] && [ "$hooks" -ge "$want" ] && break
    sleep 1
    i=$((i + 1))
done
sleep 3
"$PY" - "$T/paged" "$T/smtpd/mail.log" "$T/hookd/hook.log" \
    "$T/pager1.log" "$T/pager2.log" <<'PY' >"$T/verdict" 2>&1
import collections, json, re, sys
seqs = [int(l) for l in open(sys.argv[1]) if l.strip()]
mail = [json.loads(l) for l in open(sys.argv[2])]
hooks = [json.loads(l) for l in open(sys.argv[3])]
cut = collections.Counter()     # (event, channel): tries cut by a kill
for log in sys.argv[4:]:
    open_tries = set()
    for line in open(log):
        if "started:" in line:
            cut.update(open_tries)
            open_tries = set()
        m = re.search(r"event (\d+) \S+: sending (\w+) page to (\S+) ", line)
        if m:
            open_tries.add((int(m[1]), m[2]))
        m = re.search(r"event (\d+) \S+: (\w+) page to (\S+) \(.*\) "
                      r"(delivered|refused)", line)
        if m:
            open_tries.discard((int(m[1]), m[2]))
    cut.update(open_tries)
got = {"email": collections.Counter(m["message_id"] for m in mail),
       "webhook": collections.Counter(h["key"] for h in hooks)}
name = {"email": "<%d.ops.email@tocsin-pager.example.net>",
        "webhook": "tocsin-%d-ops-webhook"}
bad, resent = [], 0
for ch in ("email", "webhook"):
    for s in seqs:
        k = name[ch] % s
        if 1 < got[ch][k] <= 1 + cut[(s, ch)]:
            resent += got[ch][k] - 1    # each cut try, once at most
        elif got[ch][k] != 1:
            bad.append("%s seen %d times, %d tries cut" % (k, got[ch][k],
                       cut[(s, ch)]))
    extra = set(got[ch]) - {name[ch] % s for s in seqs}
    if extra:
        bad.append("%s for no event: %s" % (ch, sorted(extra)))
if not any(cut[k] for k in cut if k[1] == "webhook"):
    bad.append("no webhook was cut by a kill")
print("%d events paged, %d mails, %d webhooks, %d tries cut by a kill, "
      "%d sent again" % (len(seqs), len(mail), len(hooks), sum(cut.values()),
                         resent))
for b in bad:
    print("  " + b)
sys.exit(1 if bad else 0)
PY
if [ $? = 0 ]; then
    pass "every page (mail by Message-ID, webhook by Idempotency-Key) delivered exactly once across the kills ($(head -1 "$T/verdict"))"
else
    failed "pages not delivered exactly once" "$(cat "$T/verdict")"
fi
check "both pagers delivered pages" \
    [ "$(grep -l 'delivered' "$T/pager1.log" "$T/pager2.log" | wc -l)" = 2 ]

# People's changes on one node reach every node (bucket tocsin_control).
# nctl N ARGS: tocsinctl on node N; sfield, sfield_is (t/cluster.sh).
# ckeys_are KEYS: the keys of tocsin_control, sorted, as one line. paged_not SEQ: a pager logged event SEQ as not paged in
# downtime; pages_of SEQ: how many mails and webhooks it made.
# disconnects N: how often node N lost NATS; disconnected_since
# N COUNT: more often than COUNT.
ckeys_are() {
    [ "$(natsdump -k tocsin_control 2>/dev/null | cut -d' ' -f1 | sort |
        tr '\n' ' ')" = "$1" ]
}
paged_not() {
    grep -q "event $1 web .*: not paged, in downtime" "$T/pager1.log" \
        "$T/pager2.log"
}
pages_of() {
    cat "$T/smtpd/mail.log" "$T/hookd/hook.log" |
        grep -cE "<$1\.ops\.email@|\"tocsin-$1-ops-webhook\""
}
disconnects() {
    grep -c "cluster: disconnected" "$T/node$1.log"
}
# disconnected_since N COUNT: node N logged a disconnect past its first
# COUNT and has not connected again since (a disconnect of before the
# cut, logged late on a loaded machine, was followed by a reconnect, and
# the cut node went on reading the bucket until its own next send).
disconnected_since() {
    [ "$(disconnects "$1")" -gt "$2" ] &&
        grep -E "cluster: (disconnected|connected to)" "$T/node$1.log" |
        tail -1 | grep -q "cluster: disconnected"
}

check "downtime on node2" nctl 2 downtime web 10m maintenance
for n in 1 3; do
    check "node2's downtime reaches node$n" \
        wait_for 15 sfield_is $n downtime_until '!null'
done
check "... as one key of tocsin_control" ckeys_are "web.dt.1 "
stop_node 3
start_node 3 || failed "node3 did not start again"
check "node3, started again, has the downtime" \
    wait_for 15 sfield_is 3 downtime_until '!null'
n=$(events)
cut_view
check "web down under the downtime: an event" wait_events $((n + 1)) 30
check "... that says downtime" [ "$(event_field $((n + 1)) downtime)" = True ]
wait_for 15 sfield_is 1 state '"down"' ||
    failed "node1's status does not say down"
check "ack on node1" nctl 1 ack web on it
for n2 in 2 3; do
    check "node1's ack reaches node$n2" wait_for 15 sfield_is $n2 acked true
done
check "... with its comment" sfield_is 3 ack_comment '"on it"'
heal
check "web up again: an event" wait_events $((n + 2)) 30
check "the pagers leave the down event unpaged (downtime)" \
    wait_for 20 paged_not $((n + 1))
check "... and the up event" wait_for 20 paged_not $((n + 2))
check "no mail nor webhook for them" \
    [ "$(pages_of $((n + 1))) $(pages_of $((n + 2)))" = "0 0" ]
check "web up: its ack leaves tocsin_control" \
    wait_for 15 ckeys_are "web.dt.1 "
check "... and node2's status" wait_for 15 sfield_is 2 acked false
# node3 cut off from NATS while the downtime is cancelled: it learns of
# it once it reconnects (its watch gives the bucket again).
c=$(disconnects 3)
cut_nats 3
# its next heartbeat (2 s) meets the cut
check "node3 cut off from NATS" wait_for 10 disconnected_since 3 "$c"
check "downtime-cancel on node2" nctl 2 downtime-cancel web
check "the downtime goes from node1" wait_for 15 sfield_is 1 downtime_until null
check "... and from tocsin_control" ckeys_are ""
check "node3, cut off from NATS, still has it" sfield_is 3 downtime_until '!null'
heal
if wait_for 30 sfield_is 3 downtime_until null; then
    pass "node3, reconnected, drops the cancelled downtime"
else
    failed "node3 still has the downtime" "$(tail -20 "$T/node3.log")"
fi
# An ack on node1 cut off alone, which the cluster has up: it goes again
# (kept, it would silence web's next problem).
cut_view 1
check "node1, cut off alone, sees web down" \
    wait_for 15 sfield_is 1 state '"down"'
check "ack on node1" nctl 1 ack web cut off
check "... the cluster has web up: the ack goes again" \
    wait_for 15 sfield_is 1 acked false
check "... and from tocsin_control" ckeys_are ""
heal
check "drain on node3" nctl 3 drain web
check "node3's drain reaches node1" wait_for 15 sfield_is 1 drained true
check "enable on node1" nctl 1 enable web
check "node1's enable reaches node3" wait_for 15 sfield_is 3 drained false

for n in 1 2; do
    pid=$(servers_pid "pager$n")
    kill -TERM "$pid"
    i=0
    while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    check "pager$n exits within 10 s of SIGTERM" [ $i -lt 100 ]
    servers_stop "pager$n"
done
for n in 1 2 3; do
    stop_node "$n"
done
log_clean "the nodes and pagers" "$T"/node*.log "$T"/pager*.log
finish
