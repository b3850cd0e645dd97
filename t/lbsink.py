#!/usr/bin/python3
"""t/lbsink.py PORT HOLD_MS [RECORD]: a TCP server on 127.0.0.1 with a
small receive window (SO_RCVBUF 4096) that, for each connection, reads
nothing for HOLD_MS, then reads to the end of the client's stream and
answers "BYTES SHA256\\n" of what it read, then closes: a real slow
reader, for tocsin-lb's tcp relay (the client's first bytes are kept for a
retry while the server takes none of them). With RECORD it answers
nothing: it appends what it read to that file and closes (a log or metric
sink: one-way sessions)."""
import hashlib
import socket
import sys
import threading
import time

HOLD = int(sys.argv[2]) / 1000.0
RECORD = sys.argv[3] if len(sys.argv) > 3 else None
lock = threading.Lock()


def serve(c):
    with c:
        time.sleep(HOLD)
        h = hashlib.sha256()
        n = 0
        got = []
        while True:
            b = c.recv(65536)
            if not b:
                break
            h.update(b)
            n += len(b)
            if RECORD is not None:
                got.append(b)
        if RECORD is None:
            c.sendall(("%d %s\n" % (n, h.hexdigest())).encode())
            return
        with lock, open(RECORD, "ab") as f:
            f.write(b"".join(got))


ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
ls.bind(("127.0.0.1", int(sys.argv[1])))
ls.listen(64)
while True:
    conn, _ = ls.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
