#!/bin/sh
# t/test_cluster_pager_consumer.sh: a pager whose durable consumer goes
# makes it again. One probe node (quorum 1) on a NATS JetStream server of
# its own (start_nats_alone: deleting a consumer in a 3-server cluster
# timed out on a loaded machine), one tocsin-pager, a real SMTP server.
# The consumer tocsin-pager is deleted by a raw JetStream API request
# ($JS.API.CONSUMER.DELETE):
# the pager's pulls fail from then on (they failed, slept 200 ms and
# failed again for ever, logging nothing, and nothing was paged again).
# Now it says so once, makes the consumer again, and web's going down
# is paged.
set -u
. "${srcdir:-.}/t/cluster.sh" || exit 1
cluster_setup iptables


# consumer: whether the consumer tocsin-pager is there (its info's name).
consumer() {
    natsdump -r '$JS.API.CONSUMER.INFO.TOCSIN_EVENTS.tocsin-pager' |
        grep -q '"name": *"tocsin-pager"'
}

start_nginx || exit 1
start_smtpd || exit 1
start_nats_alone || exit 1
: >"$RULES"
start_node 1 1 || exit 1
start_pager 1 || exit 1
pass "a nats-server, a probe node and a pager run"
check "the first state (unknown -> up) is in the stream" wait_events 1 30
check "the pager's consumer is there" wait_for 15 consumer

# delete: the consumer deleted by a raw request, asked again when the
# answer is late (the second then finds none: deleted by the first).
# nats-server 2.9 may answer 500 (err_code 10051) "unlinkat
# .../obs/tocsin-pager: directory not empty" when the consumer's state
# is written while it removes its folder: the consumer is gone all the
# same (the checks below see the pager find it gone and make it again).
delete() {
    local i out late=0
    for i in 1 2 3; do
        if out=$("$NATSDUMP" "$(nats_url)" -r \
            '$JS.API.CONSUMER.DELETE.TOCSIN_EVENTS.tocsin-pager'); then
            echo "$out" >&2
            echo "$out" | grep -q '"success": *true' && return 0
            echo "$out" | grep -q '"err_code": *10051.*obs/tocsin-pager: directory not empty' &&
                return 0
            [ $late = 1 ] && echo "$out" | grep -q '"err_code": *10014' &&
                return 0
            return 1
        fi
        late=1
    done
    return 1
}
check "the consumer is deleted by a raw request" delete
sleep 3
if wait_for 30 grep -q "consumer tocsin-pager is gone" "$T/pager1.log"; then
    pass "the pager says its consumer is gone"
else
    failed "the pager does not say its consumer is gone" \
        "$(tail -20 "$T/pager1.log")"
fi
check "the pager makes it again" wait_for 30 consumer

web_goes down
if wait_for 30 eval '[ "$(got "$EV.ops.email")" -ge 1 ]'; then
    pass "web's down event ($EV) is paged"
else
    failed "event $EV is not paged" "$(tail -20 "$T/pager1.log")"
fi
check "... once" [ "$(got "$EV.ops.email")" = 1 ]
check "the pager said its consumer is gone once" \
    [ "$(grep -c "consumer tocsin-pager is gone" "$T/pager1.log")" = 1 ]
heal
stop_node 1
servers_stop pager1
log_clean "the node and the pager" "$T"/node*.log "$T"/pager*.log
finish
