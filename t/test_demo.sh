#!/bin/bash
# t/test_demo.sh: tools/demo leaves nothing running after it stops, however
# it stops: SIGTERM to the script, Ctrl-C (SIGINT to its process group),
# SIGKILL of its process group (its guard cleans up), and tocsin-probed
# stopping. Each time every server it started, tocsin-probed, tocsin-pager
# and the guard are gone, and net.ipv4.ping_group_range is what it was.
# Its configs load without a warning, and its farm fails over: one of farm
# shop's two nginx stopped, no request fails.
# The demo runs on this build (DEMO_BUILD: no packages, no rebuild) in a
# folder of $T, on its fixed ports (skipped, saying why, when one is taken
# or a server program is missing).
set -u
. "${srcdir:-.}/t/servers.sh" || exit 1
. "${srcdir:-.}/t/probed.sh" || exit 1
servers_trap

for p in nginx dnsmasq dovecot /usr/bin/python3; do
    command -v "$p" >/dev/null || skip_all "$p is missing (tools/deps installs it)"
done
/usr/bin/python3 -c 'import pyftpdlib, aiosmtpd' 2>/dev/null ||
    skip_all "python3-pyftpdlib or python3-aiosmtpd is missing"
for port in 18080 18443 18444 18445 18053 18021 18022 18990 18025 18587 \
    18465 18110 18143 18995 18993 18088 18090 18091 18092; do
    [ -z "$(ss -Hantu "sport = :$port" 2>/dev/null)" ] ||
        skip_all "port $port is taken (is a demo running?)"
done

DD=$T/demo
DEMO=
ping_range() { cat /proc/sys/net/ipv4/ping_group_range 2>/dev/null; }
RANGE=$(ping_range)

# On any exit: no demo left behind by this test either.
demo_cleanup() {
    local rc=$?
    if [ -n "$DEMO" ]; then
        kill -KILL -- "-$DEMO" 2>/dev/null
        wait "$DEMO" 2>/dev/null
    fi
    (T=$DD; servers_stop_all) >/dev/null 2>&1
    (exit $rc)
    _srv_on_exit
}
trap demo_cleanup EXIT

# demo_start WHAT: run tools/demo in a session of its own until it says it
# runs (DEMO_SHOW=0: no wait before its first table); record the pids it
# started in $T/WHAT.pids as "NAME PID START" lines.
demo_start() {
    local i=0 f n g p
    : >"$T/$1.out"
    DEMO_BUILD=$TOCSIN_BUILD DEMO_DIR=$DD DEMO_SHOW=0 \
        DEMO_PAGE=${DEMO_PAGE:-0} setsid "$srcdir/tools/demo" </dev/null >"$T/$1.out" 2>&1 7>&- &
    DEMO=$!
    while ! grep -q '^Running; Ctrl-C stops' "$T/$1.out"; do
        if ! kill -0 "$DEMO" 2>/dev/null || [ $i -ge 1800 ]; then
            failed "$1: the demo starts" "$(tail -20 "$T/$1.out")"
            return 1
        fi
        sleep 0.1
        i=$((i + 1))
    done
    : >"$T/$1.pids"
    for f in "$DD"/*.pid; do
        n=${f##*/}
        echo "${n%.pid} $(cat "$f") $(cat "$DD/${n%.pid}.start")" >>"$T/$1.pids"
    done
    pass "$1: the demo runs ($(wc -l <"$T/$1.pids") processes recorded)"
    p=$(awk '$1 == "pager" { print $2 }' "$T/$1.pids")
    check "$1: tocsin-pager is recorded and runs (${p:-no pid})" \
        running "$p"
    for d in web lb; do
        p=$(awk -v d=$d '$1 == d { print $2 }' "$T/$1.pids")
        check "$1: $d is recorded and runs (${p:-no pid})" running "$p"
    done
    g=$(cat "$DD/guard.run" 2>/dev/null)
    if [ -n "$g" ] && [ -e "/proc/$g" ]; then
        echo "guard $g $(_srv_stat "$g" 20)" >>"$T/$1.pids"
        pass "$1: the demo's guard runs"
        check "$1: the guard is in another process group" \
            test "$(_srv_stat "$g" 3)" != "$DEMO"
    else
        failed "$1: the demo's guard runs"
    fi
}

running() { [ -n "$1" ] && [ -e "/proc/$1" ]; }

# left WHAT: print what of $T/WHAT.pids still runs (a server's group counts
# while any member lives).
left() {
    local name pid start
    while read -r name pid start; do
        if _srv_alive "$pid" "$start" ||
            { [ "$name" != probed ] && [ "$name" != pager ] &&
                [ "$name" != guard ] &&
                _srv_ours "$pid" "$start"; }; then
            echo "$name ($pid)"
        fi
    done <"$T/$1.pids"
}

# demo_gone WHAT SECONDS: the demo has exited, nothing it started runs
# and its pid files are gone, within SECONDS (on a loaded machine the
# guard removes the last pid file a moment after the last process ends).
demo_gone() {
    local end=$(($(date +%s) + $2)) l
    while [ "$(date +%s)" -lt "$end" ]; do
        l=$(left "$1")
        if [ -z "$l" ] && ! kill -0 "$DEMO" 2>/dev/null &&
            ! ls "$DD"/*.pid >/dev/null 2>&1; then
            break
        fi
        sleep 0.2
    done
    wait "$DEMO" 2>/dev/null
    check "$1: the demo has exited" test ! -e "/proc/$DEMO"
    DEMO=
    l=$(left "$1")
    check "$1: no server, tocsin-probed, tocsin-pager or guard is left (${l:-none})" \
        test -z "$l"
    if ls "$DD"/*.pid >/dev/null 2>&1; then
        failed "$1: no pid file is left" "$(ls "$DD"/*.pid;
            echo "the guard's log ends:"; tail -n 20 "$DD/guard.log")"
    else
        pass "$1: no pid file is left"
    fi
    check "$1: ping_group_range is unchanged ($RANGE)" \
        test "$(ping_range)" = "$RANGE"
}

# jsonok JSON EXPR: the Python EXPR on the parsed JSON d is true.
jsonok() {
    "$PY" -c 'import json, sys; d = json.loads(sys.argv[1]); sys.exit(0 if eval(sys.argv[2]) else 1)' "$1" "$2"
}

# An ordinary kill of the script.
demo_start term || exit 1
# Its configs load without a warning, at start as at reload (ftp's
# interval 3s under the global timeout 5s warned four times).
check_not "term: no config warning from -t or the daemons" grep -H "warning:" \
    "$T/term.out" "$DD/probed.log" "$DD/pager.log" "$DD/lb.log"
# Farm shop: two nginx of their own behind tocsin-lb. One stopped while
# requests come, none fails and the other answers them (both members were
# one nginx: stopping it failed most requests).
LBC="$PY $srcdir/t/lbclient.py"
r=$($LBC 18090 30 2)
check "term: farm shop answers from web1 and web2: $r" \
    jsonok "$r" 'd["failed"] == 0 and set(d["by"]) == {"web1", "web2"}'
$LBC 18090 200 2 --rate 40 >"$T/failover.json" &
lbc=$!
sleep 1
stop_web1() { (T=$DD; servers_stop shop-web1); }
check "term: shop's web1 stopped by its pid" stop_web1
wait "$lbc"
r=$(cat "$T/failover.json")
check "term: no request failed while web1 was stopped: $r" \
    jsonok "$r" 'd["failed"] == 0 and d["by"].get("web2", 0) > 0'
r=$($LBC 18090 30 2)
check "term: with web1 gone, web2 answers every request: $r" \
    jsonok "$r" 'd["failed"] == 0 and d["by"] == {"web2": 30}'
check "term: SIGTERM to the demo script" kill -TERM "$DEMO"
demo_gone term 60
check "term: the demo said it stopped everything" \
    grep -q 'stopped tocsin-lb, tocsin.cgi, tocsin-pager, tocsin-probed and the servers' \
    "$T/term.out"

# Ctrl-C: SIGINT to its process group.
demo_start int || exit 1
check "int: SIGINT to the demo's process group" kill -INT -- "-$DEMO"
demo_gone int 60

# SIGKILL of the whole process group: no trap runs, the guard cleans up.
demo_start kill || exit 1
check "kill: SIGKILL to the demo's process group" kill -KILL -- "-$DEMO"
demo_gone kill 60

# The page the demo prints: every server of etc/demo.conf on it, and, once
# a minute of samples is in (10 s steps), a graph and an uptime figure.
DEMO_PAGE=1 demo_start page || exit 1
W=http://127.0.0.1:18088
# The demo stops its FTP server and shows the page arriving, then the
# recovery page once it is back.
check "page: the demo shows ftp's down page arriving in the Maildir" \
    grep -q '^  page: Subject: \[tocsin\] DOWN ftp' "$T/page.out"
check "page: ... and its recovery page" \
    grep -q '^  page: Subject: \[tocsin\] RECOVERED ftp is up' "$T/page.out"
check "page: ... both are files in the Maildir" sh -c \
    'test "$(grep -c "^  file: $1/state/maildir/new/" "$2")" = 2' \
    sh "$DD" "$T/page.out"
check "page: the demo prints the status page's address" \
    grep -q "^Status page: $W/ " "$T/page.out"
nsrv=$(grep -Ec '^ *server ' "$srcdir/etc/demo.conf")
check "page: the overview lists the demo's $nsrv servers" sh -c \
    'curl -sf "$1/" | grep -q "id=\"count-all\" [^>]*><b>$2</b>servers"' \
    sh "$W" "$nsrv"
i=0
while [ $i -lt 180 ]; do
    curl -sf "$W/api/uptime/web" >"$T/uptime.json" 2>/dev/null &&
        grep -q '"known_s": *[1-9]' "$T/uptime.json" && break
    sleep 1
    i=$((i + 1))
done
check "page: web's uptime has known time after $i s" \
    grep -q '"known_s": *[1-9]' "$T/uptime.json"
curl -s -o "$T/web.png" -w '%{http_code} %{content_type}' \
    "$W/graph/web.png?period=3h" >"$T/graph.out"
check "page: web's 3 h graph is a PNG ($(cat "$T/graph.out"))" \
    test "$(cat "$T/graph.out")" = "200 image/png"
check "page: ... with PNG bytes" sh -c \
    'head -c 8 "$1" | od -An -tx1 | grep -q "89 50 4e 47"' sh "$T/web.png"
check "page: SIGTERM to the demo script" kill -TERM "$DEMO"
demo_gone page 60

# tocsin-probed stops: the demo ends and takes its servers with it.
demo_start probed || exit 1
check "probed: SIGTERM to tocsin-probed" \
    kill -TERM "$(awk '$1 == "probed" { print $2 }' "$T/probed.pids")"
demo_gone probed 60
finish
