#!/usr/bin/python3
"""t/lbranges.py PORT FILE SEED [COUNT]: COUNT (default 700) pipelined
keep-alive GETs of /big through tocsin-lb's http proxy, each for a range
of 100 to 15000 bytes of FILE (the backend's /big) chosen from SEED, the
last with "Connection: close", from a client with a small receive window
(SO_RCVBUF 4096) that reads nothing for its first 2.5 s: the lb's writes
of the answers (staged in the loop's io_uring, or made at once) meet a
full socket and must keep the rest in order. Reads to the end and checks
each answer (206, its range's bytes) and that the connection then
closes. Prints "ok", or what went wrong, in one write."""
import random
import socket
import sys
import time

HOLD = 2.5


def answers(sock):
    """Every byte until the lb closes."""
    sock.settimeout(30)
    parts = []
    while True:
        b = sock.recv(65536)
        if not b:
            return b"".join(parts)
        parts.append(b)


def check(data, want):
    """The answers in data against want's (start, end) ranges: None when
    all match, else what went wrong."""
    pos = 0
    for i, (start, end) in enumerate(want):
        head_end = data.find(b"\r\n\r\n", pos)
        if head_end == -1:
            return "answer %d of %d: no head (%d bytes in all)" % (
                i + 1, len(want), len(data))
        head = data[pos:head_end].decode("latin-1")
        status = head.split("\r\n", 1)[0]
        if " 206 " not in status + " ":
            return "answer %d: %s" % (i + 1, status)
        length = None
        for line in head.split("\r\n")[1:]:
            k, _, v = line.partition(":")
            if k.strip().lower() == "content-length":
                length = int(v.strip())
        if length != end - start + 1:
            return "answer %d: length %s, want %d" % (
                i + 1, length, end - start + 1)
        body = data[head_end + 4:head_end + 4 + length]
        if body != FILE[start:end + 1]:
            return "answer %d: its bytes differ from the range %d-%d" % (
                i + 1, start, end)
        pos = head_end + 4 + length
    if pos != len(data):
        return "%d bytes after the last answer" % (len(data) - pos)
    return None


def main():
    global FILE
    port, path, seed = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    count = int(sys.argv[4]) if len(sys.argv) > 4 else 700
    with open(path, "rb") as f:
        FILE = f.read()
    r = random.Random(seed)
    want, reqs = [], []
    for i in range(count):
        n = r.randint(100, 15000)
        start = r.randint(0, len(FILE) - n)
        want.append((start, start + n - 1))
        last = "Connection: close\r\n" if i == count - 1 else ""
        reqs.append("GET /big HTTP/1.1\r\nHost: t\r\nRange: bytes=%d-%d\r\n"
                    "%s\r\n" % (start, start + n - 1, last))
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", port))
    s.sendall("".join(reqs).encode())
    time.sleep(HOLD)
    try:
        data = answers(s)
    except OSError as e:
        sys.stdout.write("read failed: %s\n" % e)
        return
    bad = check(data, want)
    sys.stdout.write("ok\n" if bad is None else bad + "\n")


FILE = b""
if __name__ == "__main__":
    main()
