#!/bin/bash
# t/test_ctlsock.sh: tocsinctl against a running tocsin-probed: --help and
# --version, reload with a bad config or with warnings, a config that cannot
# be read, scheduled and farm downtimes that survive restart and reload,
# the status table's ACK and DOWNTIME columns, unreachable, latency to the
# microsecond, messages cut at a word, and a plugin's long output. Exec
# checks only: no server to start.
set -u
. "${srcdir:-.}/t/servers.sh" || exit 1
. "${srcdir:-.}/t/probed.sh" || exit 1
servers_trap

cat >"$T/long.sh" <<'SH'
#!/bin/sh
echo "first line of the answer with quite a few words in it to be cut somewhere along the way"
echo "detail line two"
exit 2
SH
printf '#!/bin/sh\necho "CRITICAL: no route"\nexit 2\n' >"$T/crit.sh"
chmod 755 "$T/long.sh" "$T/crit.sh"
cat >"$T/probed.conf" <<CONF
set state-dir $T/state
set interval 1s
set timeout 1s
set retries 1
server gw exec "$T/crit.sh"
server app exec "$T/crit.sh" depends-on gw
server long exec "$T/long.sh"
server fine exec "/bin/true"
server 3 exec "/bin/true"
farm shop {
  server web1 exec "/bin/true"
  server web2 exec "/bin/true"
}
CONF

# --- --help, --version, -V ---------------------------------------------------
for prog in "$TOCSINCTL" "$PROBED"; do
    name=$(basename "$prog")
    if out=$("$prog" --help 2>&1) && printf '%s\n' "$out" | grep -q usage; then
        pass "$name --help prints usage, exit 0"
    else
        failed "$name --help: $out"
    fi
    if out=$("$prog" --version 2>&1) &&
        printf '%s\n' "$out" | grep -qE "^$name [0-9]"; then
        pass "$name --version: $out"
    else
        failed "$name --version: $out"
    fi
done
if out=$("$TOCSINCTL" -V 2>&1) && printf '%s\n' "$out" | grep -qE '^tocsinctl [0-9]'
then
    pass "tocsinctl -V: $out"
else
    failed "tocsinctl -V: $out"
fi

probed_start "$T/probed.conf" || exit 1
wait_field gw state down 15 || true
wait_field app state down 15 || true
wait_field long state down 15 || true
wait_field fine state up 15 || true

# --- status table: ACK, DOWNTIME, unreachable, latency, word cut -----------
ctl ack gw on it >/dev/null || failed "ack gw"
ctl downtime fine 2h kernel >/dev/null || failed "downtime fine 2h"
ctl status >"$T/table" 2>&1 || failed "status: $(cat "$T/table")"
head -1 "$T/table" | grep -qE '^ID +KIND +STATE +TYPE +SINCE +LATENCY +ACK +DOWNTIME +MESSAGE$' &&
    pass "status table has ACK and DOWNTIME columns" ||
    failed "status header: $(head -1 "$T/table")"
grep -E '^gw ' "$T/table" | grep -q ' on it ' &&
    pass "ACK column holds the ack's comment" ||
    failed "gw row: $(grep -E '^gw ' "$T/table")"
until=$(date -d "@$(field fine downtime_until)" +%H:%M 2>/dev/null)
grep -E '^fine ' "$T/table" | grep -q " $until " &&
    pass "DOWNTIME column holds the downtime's end ($until)" ||
    failed "fine row: $(grep -E '^fine ' "$T/table")"
grep -E '^app ' "$T/table" | grep -q ' unreachable ' &&
    pass "a server down behind a down parent shows unreachable" ||
    failed "app row: $(grep -E '^app ' "$T/table")"
grep -E '^fine ' "$T/table" | grep -qE ' [0-9]+\.[0-9]{3} ms ' &&
    pass "latency to the microsecond" ||
    failed "fine row latency: $(grep -E '^fine ' "$T/table")"
assert_field app unreachable true
row=$(grep -E '^long ' "$T/table")
case $row in
*"..."*)
    cut=${row%...}
    last=${cut##* }
    if printf '%s\n' "first line of the answer with quite a few words in it to be cut somewhere along the way" |
        tr ' ' '\n' | grep -qx -- "$last"; then
        pass "message cut after a whole word ($last...)"
    else
        failed "message cut mid-word: $row"
    fi ;;
*) failed "long message not cut: $row" ;;
esac
lat=$(ctl -j status fine | grep -o '"latency_ms":[0-9.]*' | cut -d: -f2)
if printf '%s\n' "$lat" | grep -qE '^[0-9]+(\.[0-9]{1,3})?$'; then
    pass "latency_ms in JSON has at most 3 decimals ($lat)"
else
    failed "latency_ms in JSON: $lat"
fi

# --- downtime: no bare number, never replaced, scheduled, farm ----------------
if out=$(ctl downtime fine 30 2>&1); then
    failed "a bare number was taken: $out"
else
    printf '%s\n' "$out" | grep -q "no unit" &&
        pass "a bare number is refused: $out" || failed "bare number: $out"
fi
assert_field fine downtime_comment kernel
out=$(ctl downtime fine 30m disk swap 2>&1) || failed "second downtime: $out"
printf '%s\n' "$out" | grep -q "also has downtime 1 until .*: kernel" &&
    pass "a second downtime is added; the answer names the first" ||
    failed "second downtime said: $out"
assert_field fine downtime_comment kernel
out=$(ctl downtime shop from 02:00 for 2h "night deploy" 2>&1) ||
    failed "farm downtime: $out"
printf '%s\n' "$out" | grep -q "shop/web1 shop/web2" &&
    pass "farm downtime covers its members: $out" ||
    failed "farm downtime said: $out"
ctl downtimes >"$T/dts" 2>&1 || failed "downtimes: $(cat "$T/dts")"
grep -qE '^3 +.*02:00 +.*farm shop +night deploy$' "$T/dts" &&
    pass "downtimes lists the scheduled farm downtime" ||
    failed "downtimes: $(cat "$T/dts")"
grep -qE '^1 .* fine +kernel$' "$T/dts" &&
    pass "downtimes lists the running one with its comment" ||
    failed "downtimes: $(cat "$T/dts")"

# --- kept across reload and restart ----------------------------------------
ctl reload >/dev/null || failed "reload"
n=$(ctl -j downtimes | grep -o '"id":' | wc -l)
[ "$n" = 3 ] && pass "3 downtimes after reload" || failed "$n downtimes after reload"
probed_stop
probed_start "$T/probed.conf" || exit 1
n=$(ctl -j downtimes | grep -o '"id":' | wc -l)
[ "$n" = 3 ] && pass "3 downtimes after restart" ||
    failed "$n downtimes after restart: $(ctl downtimes)"
# A server called 3 and downtime number 3: refused, not guessed.
out=$(ctl downtime-cancel 3 2>&1) && failed "downtime-cancel 3 with a server 3: $out" ||
    { echo "$out" | grep -q "'3' is both a downtime number and a server: write #3 for the number" &&
      pass "downtime-cancel 3 with a server called 3: refused, says to write #3" ||
      failed "downtime-cancel 3: $out"; }
ctl downtime-cancel '#3' >/dev/null || failed "downtime-cancel #3"
ctl downtimes | grep -q "night deploy" && failed "cancelled downtime listed" ||
    pass "downtime-cancel #3 removes the farm's downtime"

# --- long output ---------------------------------------------------------------
if ctl -j status long | grep -q '"long_output"'; then
    ctl status long | grep -q '^  detail line two$' &&
        pass "status ID shows the plugin's long output" ||
        failed "status long: $(ctl status long)"
else
    pass "status ID prints long_output when probed gives it (this probed does not)"
fi

# --- reload with a bad config ------------------------------------------------
cp "$T/probed.conf" "$T/good.conf"
printf 'server broken nothing://x\n' >>"$T/probed.conf"
out=$("$TOCSINCTL" -c "$T/probed.conf" reload 2>&1)
rc=$?
[ $rc = 1 ] && pass "reload with a bad config exits 1" ||
    failed "reload with a bad config exited $rc: $out"
printf '%s\n' "$out" | grep -q "probed.conf:[0-9]*:" &&
    pass "reload prints FILE:LINE errors" || failed "no FILE:LINE: $out"
printf '%s\n' "$out" | grep -q "keeps running the config it had" &&
    pass "reload says the running config was kept" || failed "reload said: $out"
printf '%s\n' "$out" | grep -qE "default control socket|not running" &&
    failed "reload printed noise: $out" || pass "no 'default socket' or 'not running' noise"
# The same with its state-dir quoted, in an included file: tocsinctl
# still finds the socket (it read the raw word, quotes and all, and never
# the includes).
mkdir -p "$T/conf.d"
printf 'set state-dir "%s" # where probed is\n' "$T/state" >"$T/conf.d/paths.conf"
{ echo 'include conf.d/*.conf'; grep -v '^set state-dir' "$T/probed.conf"; } >"$T/split.conf"
out=$("$TOCSINCTL" -c "$T/split.conf" reload 2>&1)
rc=$?
[ $rc = 1 ] && printf '%s\n' "$out" | grep -q "keeps running the config it had" &&
    pass "a bad config with its state-dir quoted in an include: reload reaches probed" ||
    failed "split config: reload exited $rc: $out"
# Its state-dir on a line with another statement after ';', and written
# twice: the last one counts, as for the parser (tocsinctl read the
# state-dir as "DIR;" and kept the first one, so it said "not running").
{ echo "set state-dir $T/nowhere"; echo "set state-dir $T/state; set archives off"
  grep -v '^set state-dir' "$T/probed.conf"; } >"$T/semi.conf"
out=$("$TOCSINCTL" -c "$T/semi.conf" reload 2>&1)
rc=$?
[ $rc = 1 ] && printf '%s\n' "$out" | grep -q "keeps running the config it had" &&
    pass "a bad config with 'set state-dir DIR; set archives off': reload reaches probed" ||
    failed "state-dir before ';': reload exited $rc: $out"
# Where nothing runs: "not running", exit 3, and nothing leaked (a
# sanitizer build made the leak of the socket's path exit 1).
{ echo "set state-dir $T/nowhere; set archives off"; echo 'server broken nothing://x'; } >"$T/gone.conf"
out=$("$TOCSINCTL" -c "$T/gone.conf" drain fine 2>&1)
rc=$?
[ $rc = 3 ] && printf '%s\n' "$out" | grep -q "tocsin-probed is not running ($T/nowhere/probed.sock:" &&
    ! printf '%s\n' "$out" | grep -q "LeakSanitizer" &&
    pass "a bad config where nothing runs: not running, exit 3" ||
    failed "nothing running: exit $rc: $out"
# status too says first why the config did not load (it said only "not
# running", from the socket the broken file named).
out=$("$TOCSINCTL" -c "$T/gone.conf" status 2>&1)
rc=$?
[ $rc = 3 ] && printf '%s\n' "$out" | head -n 1 | grep -q "^$T/gone.conf:2: " &&
    printf '%s\n' "$out" | grep -q "tocsin-probed is not running ($T/nowhere/probed.sock:" &&
    pass "a bad config where nothing runs: status prints its errors first, exit 3" ||
    failed "status on a bad config, nothing running: exit $rc: $out"
# A config asked for that cannot be read: said, exit 2, whatever the
# command (status spoke of the default socket as if it were the config's).
for c in status "drain fine" reload pages lb-stats "test-page ops"; do
    out=$("$TOCSINCTL" -c "$T/no-such.conf" $c 2>&1)
    rc=$?
    [ $rc = 2 ] && [ "$out" = "tocsinctl: cannot read the config $T/no-such.conf: No such file or directory" ] &&
        pass "$c on a config that is not there: exit 2, saying so" ||
        failed "$c on a config that is not there: exit $rc: $out"
done

# --- reload with a warning ---------------------------------------------------
# Each warning is a line of the log of its own, and no empty line follows
# (the warnings' own line break made one). probed logs them before it
# answers.
{ cat "$T/good.conf"; echo 'server slow exec "/bin/true" interval 1s timeout 2s'
  echo 'server slower exec "/bin/true" interval 1s timeout 3s'; } >"$T/probed.conf"
n=$(wc -l <"$T/probed.log")
out=$(ctl reload 2>&1) && pass "reload with warnings: ok" ||
    failed "reload with warnings: $out"
tail -n +$((n + 1)) "$T/probed.log" >"$T/reload.log"
[ "$(grep -c "^tocsin-probed: reload: $T/probed.conf:[0-9]*: warning: server 'slow.*': timeout" "$T/reload.log")" = 2 ] &&
    pass "reload: each warning on a line of its own, FILE:LINE" ||
    failed "reload's warnings: $(cat "$T/reload.log")"
check_not "reload: no empty line in the log" grep -qx '' "$T/reload.log"
cp "$T/good.conf" "$T/probed.conf"
ctl reload >/dev/null || failed "reload of the good config"

# --- set control-group ----------------------------------------------------------
printf 'set control-group no-such-group-here\n' >"$T/badgroup.conf"
printf 'server x exec "/bin/true"\n' >>"$T/badgroup.conf"
if out=$("$PROBED" -t -c "$T/badgroup.conf" 2>&1); then
    failed "-t took an unknown control-group: $out"
else
    printf '%s\n' "$out" | grep -q "badgroup.conf:1: unknown group" &&
        pass "-t: unknown control-group is a FILE:LINE error" ||
        failed "-t said: $out"
fi
if [ "$(id -u)" = 0 ]; then
    probed_stop
    sed -i "1i set control-group nogroup" "$T/probed.conf"
    probed_start "$T/probed.conf" || exit 1
    chmod 755 "$T/state"; chmod 666 "$PROBED_SOCK"
    as() { setpriv --reuid=65534 --regid=65534 --clear-groups "$TOCSINCTL" -s "$PROBED_SOCK" "$@"; }
    out=$(as status fine 2>&1) &&
        pass "outside the control group: status is open" ||
        failed "status as nobody: $out"
    out=$(setpriv --reuid=65534 --regid=1 --clear-groups "$TOCSINCTL" -s "$PROBED_SOCK" drain fine 2>&1) &&
        failed "outside the control group, drain was taken: $out" ||
        { printf '%s\n' "$out" | grep -q "permission denied" &&
            pass "outside the control group: drain refused ($out)" ||
            failed "drain as nobody said: $out"; }
    out=$(as drain fine 2>&1) &&
        pass "in the control group (primary): drain taken" ||
        failed "drain as nogroup member: $out"
    cp "$T/good.conf" "$T/probed.conf"
else
    echo "# skipped control-group as another user: needs root"
fi

finish
