#!/usr/bin/python3
"""t/lbfull.py PORT: a listener on 127.0.0.1 that never accepts, its
queue filled by connections of its own: the kernel drops the SYNs that
come next, so a connect to it gets no answer (for tocsin-lb's connect
timeout)."""
import socket
import sys
import time

ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", int(sys.argv[1])))
ls.listen(0)
held = []
for _ in range(4):
    c = socket.socket()
    c.setblocking(False)
    c.connect_ex(("127.0.0.1", int(sys.argv[1])))
    held.append(c)
while True:
    time.sleep(60)
