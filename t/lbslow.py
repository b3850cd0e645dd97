#!/usr/bin/python3
"""t/lbslow.py PORT DELAY_MS: an HTTP/1.1 backend on 127.0.0.1 that
answers every request with its name "slow" after DELAY_MS, keep-alive,
for tocsin-lb's latency routing test."""
import http.server
import sys
import time

DELAY = int(sys.argv[2]) / 1000.0


class Slow(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        time.sleep(DELAY)
        body = b"slow\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])),
                                Slow).serve_forever()
