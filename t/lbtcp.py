#!/usr/bin/python3
"""t/lbtcp.py PORT NAME MODE STATFILE: a TCP server on
127.0.0.1 for tocsin-lb's tcp tests, writing "NOW PEAK TOTAL" (its
connections open now, the most at once, all so far) to STATFILE at each
change. MODE greet: sends "NAME\\n" as a connection opens, then echoes
until the client's end. mute: reads and never answers (a member that
accepts and hangs)."""
import socket
import sys
import os
import threading

PORT, NAME, MODE, STAT = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
lock = threading.Lock()
count = {"now": 0, "peak": 0, "total": 0}


def stat(delta):
    with lock:
        count["now"] += delta
        if delta > 0:
            count["total"] += 1
        count["peak"] = max(count["peak"], count["now"])
        with open(STAT + ".tmp", "w") as f:
            f.write("%(now)d %(peak)d %(total)d\n" % count)
        os.replace(STAT + ".tmp", STAT)


def serve(c):
    stat(1)
    try:
        if MODE == "greet":
            c.sendall(NAME.encode() + b"\n")
        while True:
            d = c.recv(65536)
            if not d:
                break
            if MODE == "greet":
                c.sendall(d)
    except OSError:
        pass
    finally:
        # Counted out before the close: the balancer may hand the slot
        # on as soon as the close reaches it.
        stat(-1)
        c.close()


ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", PORT))
ls.listen(512)
stat(0)
while True:
    conn, _ = ls.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
