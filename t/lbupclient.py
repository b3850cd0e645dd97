#!/usr/bin/python3
"""t/lbupclient.py PORT N [CMD...]: N clients at once switching protocols
through tocsin-lb's http listener on 127.0.0.1:PORT to t/lbupgrade.py.
Each sends its request and, in the same write, 10000 bytes of its own;
reads the 101, the member's 6000-byte greeting and the echo of its
bytes; then, once all N tunnels are open at once (every client's first
part done or failed), CMD is run (its output is kept) and each client
sends 100000 bytes more, reads their echo, half-closes and reads to the
end. Prints JSON: {"ok": clients whose every byte came back right,
"greeted": clients that had the 101 and greeting, "cmd": CMD's output,
"errors": [the first few failures]}."""
import json
import socket
import subprocess
import sys
import threading

PORT, N, CMD = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
out = {"ok": 0, "greeted": 0, "cmd": None, "errors": []}
lock = threading.Lock()
opened = threading.Barrier(N + 1)
go = threading.Barrier(N + 1)


def recv_exactly(s, n):
    buf = b""
    while len(buf) < n:
        d = s.recv(n - len(buf))
        if not d:
            raise EOFError("closed after %d of %d bytes" % (len(buf), n))
        buf += d
    return buf


def pattern(i, tag, n):
    unit = ("%d%s" % (i, tag)).encode()
    return (unit * (n // len(unit) + 1))[:n]


def first(i, s):
    early = pattern(i, "e", 10000)
    s.connect(("127.0.0.1", PORT))
    s.sendall(b"GET /up HTTP/1.1\r\nHost: lb.test\r\nConnection: Upgrade"
              b"\r\nUpgrade: echo\r\n\r\n" + early)
    head = b""
    while b"\r\n\r\n" not in head:
        d = s.recv(1)
        if not d:
            raise EOFError("closed in the head: %r" % head)
        head += d
    if not head.startswith(b"HTTP/1.1 101 "):
        raise ValueError("not switched: %r" % head[:40])
    name, dots = recv_exactly(s, 6000).split(b" ", 1)
    if dots != b"." * len(dots):
        raise ValueError("greeting of %r differs" % name)
    if recv_exactly(s, len(early)) != early:
        raise ValueError("early bytes came back wrong")


def second(i, s):
    late = pattern(i, "l", 100000)
    s.sendall(late)
    if recv_exactly(s, len(late)) != late:
        raise ValueError("late bytes came back wrong")
    s.shutdown(socket.SHUT_WR)
    if s.recv(1) != b"":
        raise ValueError("bytes after the echo")


def client(i):
    s = socket.socket()
    s.settimeout(30)
    ok = False
    try:
        first(i, s)
        ok = True
        with lock:
            out["greeted"] += 1
    except Exception as e:  # noqa: BLE001 (every failure is reported)
        with lock:
            out["errors"].append("client %d: %s: %s" %
                                 (i, type(e).__name__, e))
    opened.wait()
    go.wait()
    try:
        if ok:
            second(i, s)
            with lock:
                out["ok"] += 1
    except Exception as e:  # noqa: BLE001
        with lock:
            out["errors"].append("client %d: %s: %s" %
                                 (i, type(e).__name__, e))
    s.close()


ts = [threading.Thread(target=client, args=(i,)) for i in range(N)]
for t in ts:
    t.start()
opened.wait()
if CMD:
    out["cmd"] = subprocess.run(CMD, capture_output=True,
                                text=True).stdout.strip()
go.wait()
for t in ts:
    t.join()
out["errors"] = out["errors"][:5]
print(json.dumps(out))
