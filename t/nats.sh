# t/nats.sh: a real NATS JetStream cluster for the cluster tests, after
# t/servers.sh's conventions (127.0.0.1 high ports, its own process group,
# stopped by pid, as nobody when we are root). Source it after servers.sh.
#     start_nats_cluster       # 3 servers nats1..nats3 with routes;
#                              # exports NATS1_PORT..NATS3_PORT, NATS_URLS
#     start_nats_alone         # one server nats1, no cluster (a test
#                              # of the clients, not of JetStream's raft)
#     start_nats I             # (re)start server I on its ports and store
#     nats_url                 # any live server's URL
#     natsdump ARGS...         # t/natsdump against a live server

NATSDUMP=${TOCSIN_BUILD:-.}/t/natsdump

# start_nats I: server I of 3, JetStream on, routes to the others.
start_nats() {
    local i=$1 p r routes="" j d=$T/nats$1
    mkdir -p "$d" && _srv_chown "$d" || return 1
    for j in 1 2 3; do
        _srv_setport "NATS${j}_PORT" && _srv_setport "NATS${j}_ROUTE" ||
            return 1
        [ "$j" = "$i" ] && continue
        eval "r=\$NATS${j}_ROUTE"
        routes="${routes:+$routes,}nats://127.0.0.1:$r"
    done
    eval "p=\$NATS${i}_PORT r=\$NATS${i}_ROUTE"
    _srv_spawn "nats$i" $SERVERS_ASUSER nats-server -js -a 127.0.0.1 \
        -p "$p" -n "tocsin-n$i" -sd "$d" --cluster_name tocsin \
        --cluster "nats://127.0.0.1:$r" --routes "$routes" || return 1
    _srv_wait "nats$i" "t:$p" "t:$r"
}

# start_nats_cluster: all three, and NATS_URLS for `set cluster`.
start_nats_cluster() {
    command -v nats-server >/dev/null 2>&1 || {
        echo "nats.sh: no nats-server (apt-get install nats-server)" >&2
        return 1
    }
    start_nats 1 && start_nats 2 && start_nats 3 || return 1
    NATS_URLS="nats://127.0.0.1:$NATS1_PORT,nats://127.0.0.1:$NATS2_PORT"
    NATS_URLS="$NATS_URLS,nats://127.0.0.1:$NATS3_PORT"
    export NATS_URLS
}

# start_nats_alone: server 1 on its own, JetStream on, NATS_URLS its URL:
# the tocsin programs then keep one replica. A consumer's creation or
# deletion needs no agreement of three servers, which on a loaded machine
# took past a request's 10 s.
start_nats_alone() {
    local d=$T/nats1
    command -v nats-server >/dev/null 2>&1 || {
        echo "nats.sh: no nats-server (apt-get install nats-server)" >&2
        return 1
    }
    mkdir -p "$d" && _srv_chown "$d" && _srv_setport NATS1_PORT || return 1
    _srv_spawn nats1 $SERVERS_ASUSER nats-server -js -a 127.0.0.1 \
        -p "$NATS1_PORT" -n tocsin-n1 -sd "$d" || return 1
    _srv_wait nats1 "t:$NATS1_PORT" || return 1
    NATS_URLS="nats://127.0.0.1:$NATS1_PORT"
    export NATS_URLS
}

# nats_url: the URL of a server that runs.
nats_url() {
    local j p
    for j in 1 2 3; do
        if servers_running "nats$j"; then
            eval "p=\$NATS${j}_PORT"
            echo "nats://127.0.0.1:$p"
            return 0
        fi
    done
    return 1
}

# A JetStream request may time out on a loaded machine: up to 3 tries,
# the output of the first that succeeds.
natsdump() {
    local i out
    for i in 1 2 3; do
        if out=$("$NATSDUMP" "$(nats_url)" "$@"); then
            [ -z "$out" ] || printf '%s\n' "$out"
            return 0
        fi
        sleep 0.5
    done
    "$NATSDUMP" "$(nats_url)" "$@"
}
