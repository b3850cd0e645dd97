#!/bin/bash
# t/test_web_browser.sh: headless Chromium loads tocsin.cgi --serve's
# overview, a server page, a farm page and the public page; asserts on the
# rendered DOM (--dump-dom) and saves screenshots at phone (390x844) and
# desktop (1280x900) width in $TOCSIN_BUILD/t/web-screens/. Skipped when
# there is no chromium.
set -u
. "${srcdir:-.}/t/servers.sh" || exit 1
. "${srcdir:-.}/t/probed.sh" || exit 1
. "${srcdir:-.}/t/web.sh" || exit 1
servers_trap

CHROMIUM=$(command -v chromium || command -v chromium-browser) || {
    echo "# SKIP no chromium (Debian package chromium)"
    exit 77
}
SHOTS=${TOCSIN_BUILD:-.}/t/web-screens
mkdir -p "$SHOTS" || exit 1

start_nginx || exit 1
H=127.0.0.1
N=$NGINX_PORT
cat >"$T/evil.sh" <<'EVIL'
#!/bin/sh
echo "<script>document.title='pwned'</script><img src=x> & 'q'"
exit 2
EVIL
chmod 755 "$T/evil.sh"
{
    echo "set state-dir $T/state"
    echo "set interval 1s"
    echo "set timeout 2s"
    echo "set retries 1"
    echo "server www http://$H:$N/health"
    echo "server api-gateway-with-a-rather-long-name http://$H:$N/health"
    echo "server evil exec \"$T/evil.sh\""
    echo "farm shop {"
    for i in 1 2 3; do echo "    server web$i http://$H:$N/health"; done
    echo "    server web4 http://$H:$N/wrong"
    echo "}"
    echo "farm mail {"
    echo "    server mx1 tcp://$H:$N"
    echo "}"
} >"$T/probed.conf"

probed_start "$T/probed.conf" || exit 1
expect_state shop/web4 down
expect_state evil down
expect_state mail/mx1 up
ctl ack shop/web4 "looking into it" >/dev/null || failed "ack"
sleep 4
start_serve "$T/probed.conf" || exit 1
_srv_setport PUBLIC_PORT || exit 1
LSAN_OPTIONS=$WEB_LSAN ASAN_OPTIONS=$WEB_ASAN _srv_spawn public "$WEBCGI" -c "$T/probed.conf" --public \
    --serve "127.0.0.1:$PUBLIC_PORT" || exit 1
_srv_wait public "t:$PUBLIC_PORT" || exit 1

# chrome ARGS...: headless, no sandbox (we may be root), a private profile.
chrome() {
    timeout 60 "$CHROMIUM" --headless=new --no-sandbox --disable-gpu \
        --disable-dev-shm-usage --no-first-run --hide-scrollbars \
        --user-data-dir="$T/chromium" "$@" 2>>"$T/chromium.log"
}

# dom NAME URL: the rendered DOM into $T/NAME.dom.
dom() {
    if chrome --dump-dom "$2" >"$T/$1.dom" && [ -s "$T/$1.dom" ]; then
        pass "$1: chromium rendered $2"
    else
        failed "$1: chromium could not render $2"
    fi
}

# dom_has NAME WHAT PYTHON-EXPR: parse the DOM with html.parser and
# evaluate EXPR over the list of (tag, attrs-dict, text) of every element.
dom_has() {
    if "$PY" - "$T/$1.dom" "$3" <<'PYEOF'
import sys
from html.parser import HTMLParser
class P(HTMLParser):
    def __init__(s):
        super().__init__(); s.els = []; s.stack = []
    def handle_starttag(s, tag, attrs):
        e = [tag, dict(attrs), ""]; s.els.append(e)
        if tag not in ("img", "meta", "link", "input", "br"): s.stack.append(e)
    def handle_endtag(s, tag):
        while s.stack:
            if s.stack.pop()[0] == tag: break
    def handle_data(s, d):
        for e in s.stack: e[2] += d
p = P(); p.feed(open(sys.argv[1]).read())
els = p.els
def cls(c): return [e for e in els if c in e[1].get("class", "").split()]
def tag(t): return [e for e in els if e[0] == t]
def byid(i): return [e for e in els if e[1].get("id") == i]
sys.exit(0 if eval(sys.argv[2]) else 1)
PYEOF
    then
        pass "$1: $2"
    else
        failed "$1: $2"
    fi
}

shot() { # shot NAME URL WxH [CHROMIUM ARGS]
    local name=$1 url=$2 size=$3
    shift 3
    rm -f "$SHOTS/$name.png"
    chrome --screenshot="$SHOTS/$name.png" --window-size="$size" "$@" \
        "$url" >/dev/null
    set -- "$name" "$url" "$size"
    if [ -s "$SHOTS/$1.png" ]; then
        pass "screenshot $1 ($3)"
    else
        failed "screenshot $1 ($3)"
    fi
}

B=$SERVE_URL
dom overview "$B/"
dom_has overview "the title is ours, no script ran" \
    'tag("title")[0][2].startswith("Servers")'
dom_has overview "8 servers counted" \
    'byid("count-all")[0][2].startswith("8")'
dom_has overview "the first row is a down one" \
    'tag("tr")[1][1]["class"] == "row-down"'
dom_has overview "web4 shown down and acked" \
    'any("web4" in e[2] and "acked" in e[2] for e in cls("row-down"))'
dom_has overview "no script element" 'not tag("script")'
dom_has overview "no injected img" 'not [e for e in tag("img") if e[1].get("src") == "x"]'
dom_has overview "the message is text" \
    'any("<script>document.title" in e[2] for e in cls("msg"))'
dom_has overview "farms mail and shop" \
    'sum(1 for e in tag("h2") if e[2].startswith("farm ")) == 2'

dom server "$B/server/shop/web1"
dom_has server "state up" 'byid("state")[0][2] == "up"'
dom_has server "five graphs" \
    'len([e for e in tag("img") if "/graph/shop/web1.png" in e[1]["src"]]) == 5'
dom_has server "uptime for 4 spans" 'len(byid("uptime")) == 1 and len(tag("tr")) >= 5'

dom farm "$B/farm/shop"
dom_has farm "4 members" 'len([e for e in tag("tr") if e[1].get("class", "").startswith("row-")]) == 4'

dom public "http://127.0.0.1:$PUBLIC_PORT/"
dom_has public "no messages" 'not cls("msg") and "document.title" not in open(sys.argv[1]).read()'
dom_has public "states shown" 'len(cls("row-down")) == 2'

shot overview-phone "$B/" 390,844
shot overview-desktop "$B/" 1280,900
shot overview-dark "$B/" 1280,900 --force-dark-mode \
    --blink-settings=preferredColorScheme=0
shot server-phone "$B/server/shop/web1" 390,844
shot server-desktop "$B/server/shop/web1" 1280,1400
shot farm-desktop "$B/farm/shop" 1280,1400
shot public-phone "http://127.0.0.1:$PUBLIC_PORT/" 390,844
shot overview-dark-phone "$B/" 390,844 --force-dark-mode \
    --blink-settings=preferredColorScheme=0
shot server-dark-phone "$B/server/shop/web1" 390,844 --force-dark-mode \
    --blink-settings=preferredColorScheme=0
shot events-phone "$B/events" 390,844
# At a phone's width nothing runs past the right edge (the overview's
# uptime column did, at 390 px).
for s in overview-phone public-phone overview-dark-phone server-phone \
    server-dark-phone events-phone; do
    check "$s: nothing past the right edge" "$PY" "$SERVERS_TDIR/pngedge.py" \
        "$SHOTS/$s.png"
done
echo "# screenshots in $SHOTS"
servers_stop public
servers_stop serve
log_clean tocsin.cgi "$T/serve.log" "$T/public.log"
finish
