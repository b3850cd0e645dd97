#!/usr/bin/python3
# t/servers/hookd.py PORT LOG [FAIL_FIRST [DELAY]]: a real HTTP server for the
# pager's webhook and SMS API tests, on 127.0.0.1:PORT. Each POST or GET is
# appended to LOG as one JSON line {"method", "path" (with its query),
# "key" (the Idempotency-Key header), "auth" (the Authorization header),
# "ctype" (the Content-Type), "status", "body" (the JSON posted, else the
# text)}. A path ending in /gone, and a request naming the phone number
# +15550000000 (one the gateway refuses), are answered 410 and 400; of the
# others, the first FAIL_FIRST (default 0) are answered 500, the rest 200.
# DELAY (seconds, default 0): the answer waits so long after the line is
# written, so a client killed meanwhile was cut mid-send.
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, log = int(sys.argv[1]), sys.argv[2]
fail_first = int(sys.argv[3]) if len(sys.argv) > 3 else 0
delay = float(sys.argv[4]) if len(sys.argv) > 4 else 0
lock = threading.Lock()
seen = 0


class Hook(BaseHTTPRequestHandler):
    def do_GET(self):
        self.do_POST()

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
        refused = "15550000000" in self.path + raw.decode("utf-8", "replace")
        with lock:
            if self.path.endswith("/gone"):
                status = 410
            elif refused:
                status = 400
            else:
                seen += 1
                status = 500 if seen <= fail_first else 200
            with open(log, "a") as f:
                f.write(json.dumps({"method": self.command,
                                    "path": self.path,
                                    "key": self.headers.get("Idempotency-Key"),
                                    "auth": self.headers.get("Authorization"),
                                    "ctype": self.headers.get("Content-Type"),
                                    "status": status, "body": body}) + "\n")
        time.sleep(delay)
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, fmt, *args):
        sys.stderr.write("hookd: " + fmt % args + "\n")


ThreadingHTTPServer(("127.0.0.1", port), Hook).serve_forever()
