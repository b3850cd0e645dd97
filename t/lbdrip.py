#!/usr/bin/python3
"""t/lbdrip.py server PORT FLAGDIR | client PORT MODE SEED FLAGDIR: a
stream of small writes (100 to 3000 bytes, 1 ms apart, 3 MB in all, from
SEED) through tocsin-lb's tcp relay to a reader with a small receive
window (SO_RCVBUF 4096) that reads nothing until the writer finds its own
socket full (the relay stopped reading from it: its socket to the reader
is full) or has written all (FLAGDIR/MODE-SEED says so, at most HOLD_MAX s
waited), so the relay's small copies meet a full socket whatever the pace
of the machine (their sends staged in the loop's io_uring, or made at
once) and must keep the rest in order.
The server says "hi MODE SEED?" first (the session has an answer from
there on, as after a request), reads the client's line "MODE SEED".
MODE down: the server drips, the client is the slow reader and checks
the stream against its own making of it. MODE up: the client drips and
ends, the server is the slow reader and answers "BYTES SHA256". The
client prints "ok", or what went wrong."""
import hashlib
import os
import random
import select
import socket
import sys
import threading
import time

TOTAL = 3000000
HOLD_MAX = 30


def stream(seed):
    """The chunks of SEED's stream."""
    r = random.Random(seed)
    left = TOTAL
    while left > 0:
        n = min(left, r.randint(100, 3000))
        yield r.randbytes(n)
        left -= n


def flag_path(flags, mode, seed):
    """The file that tells the reader of MODE SEED's stream to read."""
    return os.path.join(flags, "%s-%s" % (mode, seed))


def drip(sock, seed, flag):
    """Writes SEED's stream; FLAG made once sock is full, or at the end."""
    for chunk in stream(seed):
        if flag and not select.select([], [sock], [], 0)[1]:
            open(flag, "w").close()
            flag = None
        sock.sendall(chunk)
        time.sleep(0.001)
    if flag:
        open(flag, "w").close()


def slow_read(sock, flag):
    end = time.monotonic() + HOLD_MAX
    while not os.path.exists(flag) and time.monotonic() < end:
        time.sleep(0.01)
    h = hashlib.sha256()
    n = 0
    while True:
        b = sock.recv(65536)
        if not b:
            return n, h.hexdigest()
        h.update(b)
        n += len(b)


def want(seed):
    h = hashlib.sha256()
    for chunk in stream(seed):
        h.update(chunk)
    return TOTAL, h.hexdigest()


def line(sock):
    got = b""
    while not got.endswith(b"\n"):
        b = sock.recv(1)
        if not b:
            break
        got += b
    return got.decode().strip()


def serve(c, flags):
    with c:
        c.sendall(b"hi\n")
        mode, seed = line(c).split()
        flag = flag_path(flags, mode, seed)
        if mode == "down":
            drip(c, int(seed), flag)
            c.shutdown(socket.SHUT_WR)
            c.recv(1)
        else:
            n, digest = slow_read(c, flag)
            c.sendall(("%d %s\n" % (n, digest)).encode())


def server(port, flags):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    ls.bind(("127.0.0.1", port))
    ls.listen(64)
    while True:
        conn, _ = ls.accept()
        threading.Thread(target=serve, args=(conn, flags), daemon=True).start()


def client(port, mode, seed, flags):
    flag = flag_path(flags, mode, seed)
    c = socket.socket()
    c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    c.settimeout(60)
    c.connect(("127.0.0.1", port))
    if line(c) != "hi":
        return "no greeting"
    c.sendall(("%s %d\n" % (mode, seed)).encode())
    if mode == "down":
        got = slow_read(c, flag)
    else:
        drip(c, seed, flag)
        c.shutdown(socket.SHUT_WR)
        a = line(c).split()
        got = (int(a[0]), a[1]) if len(a) == 2 else (0, "no answer")
    c.close()
    exp = want(seed)
    return "ok" if got == exp else "got %d bytes %s, want %d %s" % (
        got + exp)


if sys.argv[1] == "server":
    server(int(sys.argv[2]), sys.argv[3])
else:
    # One write of the whole line: the clients share one pipe.
    said = client(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]),
                  sys.argv[5])
    sys.stdout.write(said + "\n")
