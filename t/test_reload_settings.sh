#!/bin/bash
# t/test_reload_settings.sh: what a reload of tocsin-probed does with the
# `set` keys. dns-servers: lookups after the reload ask the new name
# servers (a name that did not resolve on a dead one does on dnsmasq).
# archives and rrdcached: the archives go through a real rrdcached once a
# reload says so, stop when one turns them off (rrdcached's count of
# updates stands still), and are written directly when one turns them on
# without rrdcached (the archive's last update moves). state-dir, control,
# pidfile and user: the reload logs that each takes a restart, and the
# daemon keeps its socket. A `tocsinctl reload` of a config with errors is
# logged as a SIGHUP's is.
set -u
. "${srcdir:-.}/t/servers.sh" || exit 1
. "${srcdir:-.}/t/probed.sh" || exit 1
servers_trap
start_dnsmasq || exit 1
start_rrdcached || exit 1
DEAD=$(servers_port) || exit 1	# no name server answers there
S=$RRDCACHED_DIR/state		# under rrdcached's base folder
mkdir -p "$S/rrd" && chmod -R 777 "$S"

# conf DNS-SERVER ARCHIVE-LINES...: the config, with these `set` lines.
conf() {
    local dns=$1 line
    shift
    {
        echo "set state-dir $S"
        echo "set interval 1s"
        echo "set timeout 3s"
        echo "set retries 1"
        echo "set dns-servers $dns"
        for line in "$@"; do echo "$line"; done
        echo "server named tcp://www.test:$DNS_PORT"
    } >"$T/probed.conf.new" && mv "$T/probed.conf.new" "$T/probed.conf"
}

# in_log TEXT [SECONDS]: wait until probed's log holds TEXT (fixed string).
in_log() {
    local i=0
    while ! grep -qF -- "$1" "$T/probed.log" && [ $i -lt $((${2:-15} * 10)) ]
    do
        sleep 0.1
        i=$((i + 1))
    done
    grep -qF -- "$1" "$T/probed.log"
}

# updates: rrdcached's UpdatesReceived (every update any client sent).
updates() {
    "$PY" - "$RRDCACHED_SOCK" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"STATS\n")
data = b""
while b"UpdatesReceived" not in data or not data.endswith(b"\n"):
    chunk = s.recv(4096)
    if not chunk:
        break
    data += chunk
for line in data.decode().splitlines():
    if line.startswith("UpdatesReceived:"):
        print(line.split()[1])
PY
}

# checks_after N: wait until named has N more results than now.
checks_after() {
    local c
    c=$(field named checks)
    wait_field_ge named checks $((c + $1)) 20
}

# wait_field_ge ID FIELD MIN SECONDS: the number in FIELD reaches MIN.
wait_field_ge() {
    local i=0 v
    while [ $i -lt $(($4 * 10)) ]; do
        v=$(field "$1" "$2")
        [ -n "$v" ] && [ "$v" -ge "$3" ] && return 0
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}

# last_update: the archive's last update (Unix s), as the file has it.
last_update() {
    rrdtool lastupdate "$S/rrd/named.rrd" 2>/dev/null |
        sed -n 's/^\([0-9][0-9]*\):.*/\1/p' | tail -n 1
}

# --- dns-servers: the lookups after the reload ask the new servers ---------
conf "127.0.0.1:$DEAD" "set archives off"
probed_start "$T/probed.conf" || exit 1
expect_state named down
assert_match named message "cannot resolve"
conf "127.0.0.1:$DNS_PORT" "set archives off"
kill -HUP "$PROBED_PID"
check "the reload says which name servers the lookups to come ask" \
    in_log "reload: dns-servers 127.0.0.1:$DNS_PORT for the lookups to come"
expect_state named up

# --- archives through rrdcached, then off ----------------------------------
n0=$(updates)
check "no update reached rrdcached while the archives were off ($n0)" \
    [ "$n0" = 0 ]
conf "127.0.0.1:$DNS_PORT" "set rrdcached unix:$RRDCACHED_SOCK"
kill -HUP "$PROBED_PID"
check "the reload says the archives go through rrdcached" \
    in_log "reload: archives on through rrdcached unix:$RRDCACHED_SOCK"
i=0
while [ "$(updates)" = 0 ] && [ $i -lt 150 ]; do sleep 0.1; i=$((i + 1)); done
n1=$(updates)
check "after the reload the updates go to rrdcached ($n1)" [ "$n1" -gt 0 ]

conf "127.0.0.1:$DNS_PORT" "set rrdcached unix:$RRDCACHED_SOCK" \
    "set archives off"
kill -HUP "$PROBED_PID"
check "set archives off closes the writer (its queue written first)" \
    in_log "reload: the archive writer it replaced is closed"
n2=$(updates)
checks_after 3 || failed "named was not checked 3 more times"
n3=$(updates)
check "archives off: rrdcached gets no more updates ($n2, then $n3)" \
    [ "$n2" = "$n3" ]

# --- archives on again, written directly ------------------------------------
l0=$(last_update)
conf "127.0.0.1:$DNS_PORT"
kill -HUP "$PROBED_PID"
check "the reload says the archives are on" in_log "reload: archives on"
i=0
while [ "$(last_update)" = "$l0" ] && [ $i -lt 150 ]; do
    sleep 0.1
    i=$((i + 1))
done
l1=$(last_update)
if [ -n "$l1" ] && [ "$l1" != "$l0" ]; then
    pass "archives on: the archive itself is written ($l0, then $l1)"
else
    failed "archives on: the archive's last update stays '$l0' ('$l1')"
fi
n4=$(updates)
checks_after 2 || failed "named was not checked 2 more times"
check "written directly, not through rrdcached ($n4, then $(updates))" \
    [ "$(updates)" = "$n4" ]

# --- keys that take a restart ----------------------------------------------
me=$(id -un)
{
    sed "s|^set state-dir .*|set state-dir $T/elsewhere|" "$T/probed.conf"
    echo "set control $T/other.sock"
    echo "set pidfile $T/other.pid"
    echo "set user $me"
} >"$T/probed.conf.new" && mv "$T/probed.conf.new" "$T/probed.conf"
kill -HUP "$PROBED_PID"
for k in "state-dir changed: it takes a restart (still $S)" \
    "control changed: it takes a restart (still $PROBED_SOCK)" \
    "pidfile changed: it takes a restart (still unset)" \
    "user changed: it takes a restart (still unset)"; do
    check "the reload logs: set $k" in_log "reload: set $k"
done
check "the control socket the daemon started with still answers" \
    ctl status named
check_not "no control socket at the new path" [ -e "$T/other.sock" ]
check_not "no state folder at the new path" [ -e "$T/elsewhere" ]

# --- a failed tocsinctl reload is logged ------------------------------------
sed -i "s|^set dns-servers .*|set dns-servers garbage|" "$T/probed.conf"
line=$(grep -n '^set dns-servers' "$T/probed.conf" | cut -d: -f1)
check_not "tocsin-probed -t refuses set dns-servers garbage" \
    "$PROBED" -t -c "$T/probed.conf"
out=$(ctl reload 2>&1)
rc=$?
if [ $rc != 0 ] && printf '%s\n' "$out" |
    grep -qF "probed.conf:$line: bad dns-servers entry 'garbage'"; then
    pass "tocsinctl reload of a bad config fails, naming the line"
else
    failed "tocsinctl reload of a bad config: rc $rc" "$out"
fi
check "probed logs the failed reload as it logs SIGHUP's" in_log \
    "reload failed, keeping the running config: $T/probed.conf:$line: bad dns-servers entry 'garbage'"
expect_state named up
finish
