#!/bin/bash
# t/test_mail_ftp.sh: the ftp, smtp, pop3 and imap checks against real
# servers on 127.0.0.1 high ports: pyftpdlib (anonymous, a user, explicit
# and implicit TLS), aiosmtpd (plain, STARTTLS, implicit TLS), dovecot
# (POP3 and IMAP, plain, STLS/STARTTLS, TLS; good and bad logins, the bad
# ones on 127.0.0.9), pyftpdlib that never answers QUIT (curl waits for
# that answer with a blocking poll: the daemon must not), and t/badserver
# (banner then close, a garbage banner, silence). Asserts each server's
# state and message as tocsinctl shows them, the latency parts, and a clean
# exit (no sanitizer report).
set -u
. "${srcdir:-.}/t/servers.sh" || exit 1
. "${srcdir:-.}/t/probed.sh" || exit 1
servers_trap
# Also stop the daemon if we leave early (servers_trap's handler after).
trap 'rc=$?; [ -z "${PROBED_PID:-}" ] || kill -TERM "$PROBED_PID" 2>/dev/null
(exit $rc); _srv_on_exit' EXIT

start_ftp || exit 1
start_smtp || exit 1
start_dovecot || exit 1
for m in banner-close garbage-banner silent; do
    start_badserver "$m" || exit 1
done
# Implicit FTPS (TLS before the banner): t/servers/ftps.py in its implicit
# mode, beside start_ftp's explicit one.
if [ -n "${FTPS_PORT:-}" ]; then
    _srv_setport FTPS_IMPLICIT_PORT &&
        _srv_spawn ftps-implicit $SERVERS_ASUSER $SERVERS_PY \
            "$SERVERS_TDIR/servers/ftps.py" "$FTPS_IMPLICIT_PORT" \
            "$T/ftp/home" "$TLS_CERT" "$TLS_KEY" tocsin secret implicit &&
        _srv_wait ftps-implicit "t:$FTPS_IMPLICIT_PORT" || exit 1
fi

# An FTP server that takes QUIT and never answers it nor closes.
cat >"$T/ftp-noquit.py" <<'PYEOF'
import sys
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer


class NoQuit(FTPHandler):
    def ftp_QUIT(self, line):
        pass


auth = DummyAuthorizer()
auth.add_anonymous(sys.argv[2])
NoQuit.authorizer = auth
FTPServer(("127.0.0.1", int(sys.argv[1])), NoQuit).serve_forever()
PYEOF
_srv_setport FTP_NOQUIT_PORT &&
    _srv_spawn ftp-noquit $SERVERS_ASUSER $SERVERS_PY "$T/ftp-noquit.py" \
        "$FTP_NOQUIT_PORT" "$T/ftp/anon" &&
    _srv_wait ftp-noquit "t:$FTP_NOQUIT_PORT" || exit 1

printf 'secret\n' >"$T/pw"
printf 'wrong\n' >"$T/badpw"
chmod 600 "$T/pw" "$T/badpw"
H=127.0.0.1
BAD=$DOVECOT_BADLOGIN_ADDR
BC=$BAD_BANNER_CLOSE_PORT
GB=$BAD_GARBAGE_BANNER_PORT
SI=$BAD_SILENT_PORT
LOGIN="user tocsin password-file $T/pw"
# A TLS handshake is given 10 s: the silent servers' "timeout after 2s"
# is what is tested, and on a loaded 2-core machine (four tests side by
# side, one an ASan build) dovecot's fresh login process can take more
# than 2 s to finish one.
TLSW="timeout 10s"
BADLOGIN="user tocsin password-file $T/badpw"

{
cat <<CONF
set state-dir $T/state
set interval 2s
set timeout 2s
set retries 1
set rise 1
set retry-interval 1s
set archives off

server ftp_anon ftp://$H:$FTP_PORT/
server ftp_anon_file ftp://$H:$FTP_PORT/ file /pub/hello.txt
server ftp_url_path ftp://$H:$FTP_PORT/pub/hello.txt
server ftp_user ftp://$H:$FTP_AUTH_PORT/ $LOGIN file pub/hello.txt
server ftp_missing_file ftp://$H:$FTP_PORT/ file /pub/missing.txt
server ftp_no_anonymous ftp://$H:$FTP_AUTH_PORT/ timeout 6s
server ftp_anon_refused ftp://$H:$FTP_AUTH_PORT/ user anonymous timeout 6s
server ftp_bad_password ftp://$H:$FTP_AUTH_PORT/ $BADLOGIN timeout 6s
server ftp_starttls_refused ftp://$H:$FTP_PORT/ starttls
server ftp_banner_close ftp://$H:$BC/
server ftp_garbage_banner ftp://$H:$GB/
server ftp_silent ftp://$H:$SI/
server ftp_no_quit_answer ftp://$H:$FTP_NOQUIT_PORT/ file /pub/hello.txt

server smtp smtp://$H:$SMTP_PORT
server smtp_expect smtp://$H:$SMTP_PORT expect "Python SMTP"
server smtp_expect_wrong smtp://$H:$SMTP_PORT expect "Postfix"
server smtp_starttls smtp://localhost:$SMTP_STARTTLS_PORT starttls insecure $TLSW
server smtp_starttls_verify smtp://localhost:$SMTP_STARTTLS_PORT starttls $TLSW
server smtp_starttls_missing smtp://$H:$SMTP_PORT starttls
server smtps smtps://localhost:$SMTPS_PORT insecure $TLSW
server smtp_banner_close smtp://$H:$BC
server smtp_garbage_banner smtp://$H:$GB
server smtp_silent smtp://$H:$SI

server pop3 pop3://$H:$POP3_PORT
server pop3_login pop3://$H:$POP3_PORT $LOGIN
server pop3_bad_login pop3://$BAD:$POP3_PORT $BADLOGIN timeout 5s
server pop3_stls pop3://$H:$POP3_PORT starttls insecure $LOGIN $TLSW
server pop3s pop3s://$H:$POP3S_PORT insecure $LOGIN $TLSW
server pop3s_verify pop3s://$H:$POP3S_PORT $TLSW
server pop3_garbage_banner pop3://$H:$GB

server imap imap://$H:$IMAP_PORT
server imap_expect imap://$H:$IMAP_PORT expect "Dovecot"
server imap_login imap://$H:$IMAP_PORT $LOGIN
server imap_bad_login imap://$BAD:$IMAP_PORT $BADLOGIN timeout 5s
server imap_starttls imap://$H:$IMAP_PORT starttls insecure $LOGIN $TLSW
server imaps imaps://$H:$IMAPS_PORT insecure $LOGIN $TLSW
server imaps_verify imaps://$H:$IMAPS_PORT $TLSW
server imap_garbage_banner imap://$H:$GB
server imap_silent imap://$H:$SI
CONF
if [ -n "${FTPS_PORT:-}" ]; then
    cat <<CONF
server ftp_starttls ftp://localhost:$FTPS_PORT/ starttls insecure $LOGIN file /pub/hello.txt $TLSW
server ftp_starttls_verify ftp://localhost:$FTPS_PORT/ starttls $TLSW
server ftps_implicit ftps://localhost:$FTPS_IMPLICIT_PORT/ insecure file /pub/hello.txt $TLSW
server ftps_implicit_verify ftps://localhost:$FTPS_IMPLICIT_PORT/ $TLSW
CONF
fi
} >"$T/probed.conf"

"$PROBED" -t -c "$T/probed.conf" >"$T/t.out" 2>&1
check "-t says config ok" grep -q "config ok" "$T/t.out"
probed_start "$T/probed.conf" || exit 1

# expect_case ID STATE REGEX [SECONDS]: the state, then the message. It
# waits for both: a check that timed out at load and ends "down" with a
# timeout's message gets its next tries before the message is judged.
expect_case() {
    local _case_left=$((${4:-20} * 2))
    while [ "$_case_left" -gt 0 ]; do
        [ "$(field "$1" state)" = "$2" ] &&
            field "$1" message | grep -qE -- "$3" && break
        sleep 0.5
        _case_left=$((_case_left - 1))
    done
    expect_state "$1" "$2" 1
    assert_match "$1" message "$3"
}

# FTP
expect_case ftp_anon up "^banner 220 .* in [0-9.]+ ms$"
expect_case ftp_anon_file up "^logged in as anonymous, file /pub/hello.txt 18 bytes in [0-9.]+ ms$"
expect_case ftp_url_path up "file /pub/hello.txt 18 bytes"
expect_case ftp_user up "^logged in as tocsin, file pub/hello.txt 18 bytes in"
expect_case ftp_missing_file down "^file /pub/missing.txt missing \(550\)$"
expect_case ftp_no_anonymous up "^banner 220 "
expect_case ftp_anon_refused down "^login failed as anonymous: 530 " 30
expect_case ftp_bad_password down "^login failed as tocsin: 530 Authentication failed" 30
expect_case ftp_starttls_refused down "^AUTH TLS refused: 500 "
expect_case ftp_banner_close up "^banner 220 hello in "
expect_case ftp_garbage_banner down "^greeting is not FTP: \"xyzzy garbage\"$"
expect_case ftp_silent down "^timeout after 2s waiting for the banner$"
expect_case ftp_no_quit_answer up "^logged in as anonymous, file /pub/hello.txt 18 bytes in"
if [ -n "${FTPS_PORT:-}" ]; then
    expect_case ftp_starttls up "^logged in as tocsin with TLS, file /pub/hello.txt 18 bytes in"
    expect_case ftp_starttls_verify down "^TLS certificate not trusted"
    expect_case ftps_implicit up "^logged in as anonymous with TLS, file /pub/hello.txt 18 bytes in"
    expect_case ftps_implicit_verify down "^TLS certificate not trusted"
else
    skip "ftp starttls, ftps" "no python3-openssl, so no FTPS server"
fi

# SMTP
expect_case smtp up "^banner 220 .*Python SMTP.*, EHLO ok in [0-9.]+ ms$"
expect_case smtp_expect up "EHLO ok"
expect_case smtp_expect_wrong down "^banner \"220 .*\" does not hold \"Postfix\"$"
expect_case smtp_starttls up ", EHLO ok, STARTTLS ok in [0-9.]+ ms$"
expect_case smtp_starttls_verify down "^TLS certificate not trusted"
expect_case smtp_starttls_missing down "^STARTTLS required but not offered in the EHLO answer$"
expect_case smtps up "^banner 220 .*, EHLO ok in"
expect_case smtp_banner_close down "^connection closed after the banner$"
expect_case smtp_garbage_banner down "^greeting is not SMTP: \"xyzzy garbage\"$"
expect_case smtp_silent down "^timeout after 2s waiting for the banner$"

# POP3
expect_case pop3 up "^greeting \+OK .*Dovecot.* in [0-9.]+ ms$"
expect_case pop3_login up ", logged in, 1 message, [0-9]+ bytes in"
expect_case pop3_bad_login down "^login failed: -ERR \[AUTH\] Authentication failed" 30
expect_case pop3_stls up ", STLS ok, logged in, 1 message"
expect_case pop3s up ", logged in, 1 message"
expect_case pop3s_verify down "^TLS certificate not trusted"
expect_case pop3_garbage_banner down "^greeting is not POP3: \"xyzzy garbage\"$"

# IMAP
expect_case imap up "^greeting OK .*Dovecot.* in [0-9.]+ ms$"
expect_case imap_expect up "^greeting OK"
expect_case imap_login up ", logged in, 1 message in INBOX in"
expect_case imap_bad_login down "^login failed: NO \[AUTHENTICATIONFAILED\]" 30
expect_case imap_starttls up ", STARTTLS ok, logged in, 1 message in INBOX"
expect_case imaps up ", logged in, 1 message in INBOX"
expect_case imaps_verify down "^TLS certificate not trusted"
expect_case imap_garbage_banner down "^greeting is not IMAP: \"xyzzy garbage\"$"
expect_case imap_silent down "^timeout after 2s waiting for the greeting$"

# Healthy checks kept their pace beside the hanging and failing servers
# (and the FTP server that never answers QUIT, checked every 2 s).
c1=$(field smtp checks)
sleep 5
c2=$(field smtp checks)
check "smtp checked ${c1:-?} -> ${c2:-?} times: 2 or more in 5 s beside bad servers" \
    [ "$((${c2:-0} - ${c1:-0}))" -ge 2 ]

# Latency parts: connect, TLS and banner (first byte) times.
ctl -j watch >"$T/watch.log" 2>&1 &
wpid=$!
sleep 8
kill "$wpid" 2>/dev/null
wait "$wpid" 2>/dev/null
check "latency parts: connect <= tls <= banner <= total" \
    "$PY" - "$T/watch.log" <<'PYEOF'
import json, sys
seen = {}
for line in open(sys.argv[1]):
    try:
        o = json.loads(line)
    except Exception:
        continue
    # the last result that ended well, else the first (a loaded machine
    # can make one TLS handshake time out: that result has no parts)
    if o.get("type") == "result" and (o.get("status") == "ok" or
                                      o["id"] not in seen):
        seen[o["id"]] = o
def parts(i, tls):
    r = seen.get(i)
    assert r, "no result for %s: %s" % (i, sorted(seen))
    c, t, f, l = (r["connect_ms"], r["tls_ms"], r["firstbyte_ms"],
                  r["latency_ms"])
    assert c is not None and f is not None, r
    assert c <= f <= l, r
    if tls:
        assert t is not None and c <= t <= l, r
    else:
        assert t is None, r
for i in ("smtp", "pop3", "imap", "ftp_anon"):
    parts(i, False)
for i in ("smtps", "pop3s", "imaps", "smtp_starttls", "imap_starttls"):
    parts(i, True)
r = seen["smtp_banner_close"]
assert r["firstbyte_ms"] is not None, r
PYEOF

finish
