# t/web.sh: what the web tests share: start tocsin.cgi --serve and lighttpd
# running tocsin.cgi as a CGI, fetch pages, assert on them. Source it after
# t/servers.sh and t/probed.sh.
#
#     start_serve CONF [ARGS]   # exports SERVE_PORT, SERVE_URL
#     probed_alpha_rrdcached    # probed archiving alpha through rrdcached
#     start_lighttpd CONF [MORE] # exports LIGHTTPD_PORT, CGI_URL; MORE is
#                               # a file of lighttpd config to add
#     fetch URL [CURL ARGS]     # sets CODE; body in $T/body, headers $T/hdrs
#     get_bg NAME PATH          # GET $SERVE_URL/PATH in the background
#     pending NAME | wait_done NAME... | answers_meanwhile WHAT NAME...
#     while_stopped WHAT cont|done NAME PATH...  # with rrdcached stopped
#     rrdcached_stat NAME       # a counter of rrdcached's STATS
#     workers_ready N           # N graph workers of --serve are ready
#     expect_code WHAT CODE URL [CURL ARGS]
#     body_has WHAT REGEX | body_lacks WHAT REGEX | hdr_has WHAT REGEX

WEBCGI=${TOCSIN_WEBCGI:-${TOCSIN_BUILD:-.}/web/tocsin.cgi}

# workers_ready N: N graph workers of --serve said they are ready (each
# names itself tocsin-graph then), 120 s at most: a test that stops
# rrdcached to make a read late must not find a worker still starting
# (killed "not ready" instead, under ASan on a busy machine).
workers_ready() {
    local serve i n p
    serve=$(servers_pid serve)
    for i in $(seq 1200); do
        n=0
        for p in /proc/[0-9]*; do
            [ "$(cat "$p/comm" 2>/dev/null)" = tocsin-graph ] &&
                [ "$(cut -d' ' -f4 "$p/stat" 2>/dev/null)" = "$serve" ] &&
                n=$((n + 1))
        done
        [ "$n" -ge "$1" ] && return 0
        sleep 0.1
    done
    return 1
}
# In a sanitizer build: librrd's graph code keeps memory for good.
# Full stacks, so the suppressions see librrd's frames.
WEB_LSAN="suppressions=$SERVERS_TDIR/web-lsan.supp:print_suppressions=0"
WEB_ASAN="${ASAN_OPTIONS:+$ASAN_OPTIONS:}fast_unwind_on_malloc=0"

# start_serve CONF [ARGS...]: tocsin.cgi --serve on a free port.
start_serve() {
    local conf=$1
    shift
    _srv_setport SERVE_PORT || return 1
    LSAN_OPTIONS=$WEB_LSAN ASAN_OPTIONS=$WEB_ASAN _srv_spawn serve "$WEBCGI" -c "$conf" --serve "127.0.0.1:$SERVE_PORT" \
        "$@" || return 1
    SERVE_URL=http://127.0.0.1:$SERVE_PORT
    export SERVE_URL
    _srv_wait serve "t:$SERVE_PORT"
}

# probed_alpha_rrdcached [FARM]: a real rrdcached, and a tocsin-probed on
# $T/probed.conf whose one server, alpha (an exec plugin that says fine,
# every second; in farm FARM when given, its id FARM/alpha), it archives
# through that rrdcached; returns once alpha is up and its archive is
# there.
probed_alpha_rrdcached() {
    local i id=alpha servers="server alpha exec \"$T/ok.sh\""
    if [ -n "${1:-}" ]; then
        id=$1/alpha
        servers=$(printf 'farm %s {\n    %s\n}' "$1" "$servers")
    fi
    cat >"$T/ok.sh" <<'OK'
#!/bin/sh
echo "fine"
exit 0
OK
    chmod 755 "$T/ok.sh"
    start_rrdcached || return 1
    # rrdcached's base folder holds the state folder's archives.
    mkdir -p "$RRDCACHED_DIR/state/rrd/${1:-}" || return 1
    chmod -R 777 "$RRDCACHED_DIR/state"
    cat >"$T/probed.conf" <<CONF
set state-dir $RRDCACHED_DIR/state
set rrdcached unix:$RRDCACHED_SOCK
set interval 1s
set timeout 2s
set retries 1
$servers
CONF
    probed_start "$T/probed.conf" || return 1
    expect_state "$id" up
    for i in $(seq 1 100); do
        [ -e "$RRDCACHED_DIR/state/rrd/$id.rrd" ] && return 0
        sleep 0.1
    done
    failed "$id's archive through rrdcached: none after 10 s"
    return 1
}

# start_lighttpd CONF [MORE]: lighttpd on a free port, running tocsin.cgi (a copy,
# in its document root) as a CGI with TOCSIN_CONF=CONF. It runs as we do,
# so the CGI reaches probed's socket as tocsinctl does.
start_lighttpd() {
    local d=$T/lighttpd
    _srv_setport LIGHTTPD_PORT || return 1
    mkdir -p "$d/www" || return 1
    cp "$WEBCGI" "$d/www/tocsin.cgi" || return 1
    cat >"$d/lighttpd.conf" <<LCONF
server.document-root = "$d/www"
server.bind = "127.0.0.1"
server.port = $LIGHTTPD_PORT
server.errorlog = "$d/error.log"
server.modules = ("mod_cgi", "mod_setenv")
cgi.assign = (".cgi" => "")
setenv.add-environment = ("TOCSIN_CONF" => "$1",
    "LSAN_OPTIONS" => "$WEB_LSAN", "ASAN_OPTIONS" => "$WEB_ASAN")
LCONF
    if [ -n "${2:-}" ]; then
        cat "$2" >>"$d/lighttpd.conf" || return 1
    fi
    _srv_spawn lighttpd lighttpd -D -f "$d/lighttpd.conf" || return 1
    CGI_URL=http://127.0.0.1:$LIGHTTPD_PORT/tocsin.cgi
    export CGI_URL
    _srv_wait lighttpd "t:$LIGHTTPD_PORT" "log:$d/error.log"
}

# fetch URL [ARGS...]: GET it; CODE gets the status.
fetch() {
    local url=$1
    shift
    CODE=$(curl -s -o "$T/body" -D "$T/hdrs" -w '%{http_code}' \
        --max-time 20 "$@" "$url") || CODE=000
}

expect_code() {
    local what=$1 want=$2
    shift 2
    fetch "$@"
    if [ "$CODE" = "$want" ]; then
        pass "$what: $want"
    else
        failed "$what: got $CODE, expected $want ($1)"
        head -c 600 "$T/body"
        echo
    fi
}

body_has() {
    if grep -qE -- "$2" "$T/body"; then
        pass "$1"
    else
        failed "$1: no /$2/ in the body"
    fi
}

body_lacks() {
    if grep -qE -- "$2" "$T/body"; then
        failed "$1: /$2/ in the body: $(grep -oE -- ".{0,40}$2.{0,40}" \
            "$T/body" | head -n 1)"
    else
        pass "$1"
    fi
}

hdr_has() {
    if tr -d '\r' <"$T/hdrs" | grep -qiE -- "$2"; then
        pass "$1"
    else
        failed "$1: no /$2/ in the headers"
        cat "$T/hdrs"
    fi
}

# get_bg NAME PATH: GET $SERVE_URL/PATH in the background; $T/NAME.code
# gets its status once the answer is whole, $T/NAME.body its body,
# $T/NAME.hdrs its headers.
get_bg() {
    rm -f "$T/$1.code"
    (
        code=$(curl -s -o "$T/$1.body" -D "$T/$1.hdrs" -w '%{http_code}' \
            --max-time 90 "$SERVE_URL$2") || code=000
        echo "$code" >"$T/$1.tmp" && mv "$T/$1.tmp" "$T/$1.code"
    ) &
}

# pending NAME: get_bg's NAME has no answer yet.
pending() {
    [ ! -s "$T/$1.code" ]
}

# wait_done NAME...: up to 90 s until every NAME has its answer.
wait_done() {
    local n i left
    for i in $(seq 1 900); do
        left=0
        for n in "$@"; do
            pending "$n" && left=1
        done
        [ $left = 0 ] && return 0
        sleep 0.1
    done
    return 1
}

# answers_meanwhile WHAT NAME...: the status pages answer (200) while
# each of get_bg's NAME is still pending.
answers_meanwhile() {
    local what=$1 p g
    shift
    for p in /api/status /metrics /; do
        fetch "$SERVE_URL$p"
        for g in "$@"; do
            if [ "$CODE" = 200 ] && pending "$g"; then
                pass "$what: $p answers while $g is pending"
            elif [ "$CODE" = 200 ]; then
                failed "$what: $p answered only after $g ($(cat "$T/$g.code"))"
            else
                failed "$what: $p: got $CODE while $g is pending"
            fi
        done
    done
}

# while_stopped WHAT AFTER NAME PATH [NAME PATH]...: with rrdcached
# ($RRD_PID) stopped, each PATH asked as NAME (get_bg); the status pages
# answer while they are all pending (answers_meanwhile); rrdcached goes
# on then, and they are awaited (AFTER "cont"), or once they are
# answered (AFTER "done": they come past --graph-timeout).
while_stopped() {
    local what=$1 after=$2 names=
    shift 2
    kill -STOP "$RRD_PID"
    while [ $# -ge 2 ]; do
        get_bg "$1" "$2"
        names="$names $1"
        shift 2
    done
    sleep 1     # they reach the server and wait on rrdcached
    answers_meanwhile "$what" $names
    [ "$after" = done ] && wait_done $names
    kill -CONT "$RRD_PID"
    wait_done $names
}

# rrdcached_stat NAME: the counter NAME of start_rrdcached's STATS (e.g.
# FlushesReceived), or nothing when it does not answer.
rrdcached_stat() {
    "$PY" - "$RRDCACHED_SOCK" "$1" <<'PYEOF'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(sys.argv[1])
s.sendall(b"STATS\n")
f = s.makefile("r")
for _ in range(int(f.readline().split()[0])):
    name, value = f.readline().split(":", 1)
    if name == sys.argv[2]:
        print(value.strip())
PYEOF
}
