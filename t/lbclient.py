#!/usr/bin/python3
"""t/lbclient.py: a bounded HTTP/1.0 client for tocsin-lb's tests.

    lbclient.py PORT COUNT CONCURRENCY [--timeout S] [--source IP]
                [--duration S] [--keepalive] [--rate R]

Sends COUNT requests (one connection each, or with --keepalive HTTP/1.1
on one connection a thread, opened again after a failure) to
127.0.0.1:PORT from
CONCURRENCY threads, each with a TIMEOUT (default 5 s), and stops after
DURATION seconds (default 60) whatever is left. With --rate, an open
load: request i is due i / R s after the start and is sent then, or as
soon as a thread is free (late ones catch up), so a slow server costs
its share of requests and not only the threads it holds. Prints one
JSON object:
{"ok": N, "failed": N, "by": {"b1": N, ...}, "errors": {"why": N}}.
"""
import http.client
import json
import socket
import sys
import threading
import time


def one(port, timeout, source):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        if source:
            s.bind((source, 0))
        s.connect(("127.0.0.1", port))
        s.sendall(b"GET / HTTP/1.0\r\nHost: lb.test\r\n\r\n")
        data = b""
        while True:
            b = s.recv(4096)
            if not b:
                break
            data += b
    finally:
        s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise ValueError("status " + head[:20].decode("ascii", "replace"))
    return body.decode().strip()


class KeepAlive:
    """One thread's HTTP/1.1 connection, kept between requests."""

    def __init__(self, port, timeout, source):
        self.port, self.timeout, self.source = port, timeout, source
        self.conn = None

    def one(self):
        if self.conn is None:
            src = (self.source, 0) if self.source else None
            self.conn = http.client.HTTPConnection(
                "127.0.0.1", self.port, timeout=self.timeout,
                source_address=src)
        try:
            self.conn.request("GET", "/", headers={"Host": "lb.test"})
            r = self.conn.getresponse()
            body = r.read()
        except Exception:
            self.conn.close()
            self.conn = None
            raise
        if r.status != 200:
            raise ValueError("status %d" % r.status)
        return body.decode().strip()


def main():
    args = sys.argv[1:]
    opts = {"--timeout": "5", "--source": "", "--duration": "60",
            "--rate": "0"}
    keepalive = False
    pos = []
    while args:
        a = args.pop(0)
        if a == "--keepalive":
            keepalive = True
        elif a in opts:
            opts[a] = args.pop(0)
        else:
            pos.append(a)
    port, count, conc = int(pos[0]), int(pos[1]), int(pos[2])
    timeout = float(opts["--timeout"])
    deadline = time.monotonic() + float(opts["--duration"])
    lock = threading.Lock()
    res = {"ok": 0, "failed": 0, "by": {}, "errors": {}}
    left = [count]
    rate = float(opts["--rate"])
    start = time.monotonic()
    sent = [0]

    def worker():
        ka = KeepAlive(port, timeout, opts["--source"]) if keepalive else None
        while True:
            with lock:
                if left[0] == 0 or time.monotonic() > deadline:
                    return
                left[0] -= 1
                due = start + sent[0] / rate if rate > 0 else 0
                sent[0] += 1
            if due > deadline:
                return
            if due > time.monotonic():
                time.sleep(due - time.monotonic())
            try:
                if ka is not None:
                    name = ka.one()
                else:
                    name = one(port, timeout, opts["--source"])
                with lock:
                    res["ok"] += 1
                    res["by"][name] = res["by"].get(name, 0) + 1
            except Exception as e:  # every failure counts, by kind
                why = type(e).__name__ + ": " + str(e)[:60]
                with lock:
                    res["failed"] += 1
                    res["errors"][why] = res["errors"].get(why, 0) + 1

    ts = [threading.Thread(target=worker) for _ in range(conc)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print(json.dumps(res, sort_keys=True))


main()
