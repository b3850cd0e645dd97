#!/usr/bin/python3
"""t/lbbusy.py PORT NAME DELAY_MS [close]: an HTTP/1.1 backend on
127.0.0.1 for tocsin-lb's maxconn tests. GET /health answers "ok" at
once; GET /peak answers the most requests it has had at once, and starts
counting afresh; GET /held answers NAME once GET /release was asked
(answered at once, and for good); any other request answers NAME after
DELAY_MS. With close, each answer closes its connection (Connection:
close): the balancer opens a connection a request and pools none."""
import http.server
import sys
import threading
import time

DELAY = int(sys.argv[3]) / 1000.0
NAME = sys.argv[2].encode()
CLOSE = sys.argv[4:] == ["close"]
lock = threading.Lock()
released = threading.Event()
now = [0]
peak = [0]


class Busy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self, body):
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        if CLOSE:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/health":
            self.answer(b"ok\n")
            return
        if self.path == "/peak":
            with lock:
                p, peak[0] = peak[0], now[0]
            self.answer(b"%d\n" % p)
            return
        if self.path == "/release":
            released.set()
            self.answer(b"released\n")
            return
        with lock:
            now[0] += 1
            peak[0] = max(peak[0], now[0])
        if self.path == "/held":
            released.wait()
        else:
            time.sleep(DELAY)
        with lock:
            now[0] -= 1
        self.answer(NAME + b"\n")

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])),
                                Busy).serve_forever()
