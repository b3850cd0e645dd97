#!/usr/bin/python3
"""t/lbearly.py PORT: an HTTP/1.1 server on 127.0.0.1 that answers each
request "401 Unauthorized" (keep-alive, no body) as soon as its head has
come, then reads nothing more and keeps the connection open for a minute:
a server that answers an upload early and waits, for tocsin-lb's client
timeout while the rest of a body is due."""
import socket
import sys
import threading
import time


def serve(c):
    with c:
        head = b""
        while b"\r\n\r\n" not in head:
            b = c.recv(1)
            if not b:
                return
            head += b
        c.sendall(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n")
        time.sleep(60)


ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", int(sys.argv[1])))
ls.listen(64)
while True:
    conn, _ = ls.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
