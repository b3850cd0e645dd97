#!/usr/bin/python3
# t/servers/hookd.py PORT LOG [FAIL_FIRST]: a real HTTP server for the
# pager's webhook tests, on 127.0.0.1:PORT. Each POST is appended to LOG as
# one JSON line {"path", "key" (the Idempotency-Key header), "status",
# "body" (the JSON posted)}. A path ending in /gone is answered 410; of
# the others, the first FAIL_FIRST (default 0) are answered 500, the rest
# 200.
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, log = int(sys.argv[1]), sys.argv[2]
fail_first = int(sys.argv[3]) if len(sys.argv) > 3 else 0
lock = threading.Lock()
seen = 0


class Hook(BaseHTTPRequestHandler):
    def do_POST(self):
        global seen
        n = int(self.headers.get("Content-Length") or 0)
        if n > 1 << 20:
            self.send_error(413)
            return
        raw = self.rfile.read(n)
        try:
            body = json.loads(raw)
        except ValueError:
            body = raw.decode("utf-8", "replace")
        with lock:
            if self.path.endswith("/gone"):
                status = 410
            else:
                seen += 1
                status = 500 if seen <= fail_first else 200
            with open(log, "a") as f:
                f.write(json.dumps({"path": self.path,
                                    "key": self.headers.get("Idempotency-Key"),
                                    "status": status, "body": body}) + "\n")
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, fmt, *args):
        sys.stderr.write("hookd: " + fmt % args + "\n")


ThreadingHTTPServer(("127.0.0.1", port), Hook).serve_forever()
