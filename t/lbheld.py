#!/usr/bin/python3
"""t/lbheld.py PORT NAME DELAYFILE: an HTTP/1.1 backend on 127.0.0.1
that answers every request with its NAME, keep-alive, after the delay in
milliseconds that DELAYFILE holds when the request comes (none when the
file is missing or empty): a real server that a test holds slow on
command, for tocsin-lb's latency routing experiment."""
import http.server
import sys
import time

NAME, DELAYFILE = sys.argv[2], sys.argv[3]


def delay():
    try:
        with open(DELAYFILE) as f:
            return int(f.read().strip() or "0") / 1000.0
    except (OSError, ValueError):
        return 0.0


class Held(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        d = delay()
        if d > 0:
            time.sleep(d)
        body = (NAME + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128


Server(("127.0.0.1", int(sys.argv[1])), Held).serve_forever()
