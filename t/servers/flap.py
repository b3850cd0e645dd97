#!/usr/bin/python3
# t/servers/flap.py PORT HALF SECONDS [OPEN]: a TCP listener on
# 127.0.0.1:PORT that flaps: open for HALF seconds, closed for HALF, and so
# on for SECONDS from its start, then closed for good; or open for good
# from the moment the file OPEN exists. It takes each connection and
# closes it.
import os
import select
import socket
import sys
import time

port, half, secs = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
opened = sys.argv[4] if len(sys.argv) > 4 else None
t0, s = time.time(), None
while True:
    el = time.time() - t0
    up = (opened is not None and os.path.exists(opened)) or \
        (el < secs and int(el / half) % 2 == 0)
    if up and s is None:
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        s.listen(16)
    elif not up and s is not None:
        s.close()
        s = None
    if s is not None:
        for x in select.select([s], [], [], 0.02)[0]:
            x.accept()[0].close()
    else:
        time.sleep(0.02)
