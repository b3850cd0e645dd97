#!/usr/bin/python3
"""t/lbupgrade.py PORT NAME: an HTTP/1.1 server on 127.0.0.1 that takes
every switch of protocols asked of it, for tocsin-lb's upgrade tunnel
without a WebSocket library. To a request with an Upgrade header it
answers 101 (that Upgrade named back) and, in the same write, a greeting
of 6000 bytes ("NAME " then dots); from then on it echoes every byte the
client sends (those that came after its request first) until the
client's end, then closes. A request with no Upgrade gets 400."""
import socket
import sys
import threading

PORT, NAME = int(sys.argv[1]), sys.argv[2]
GREETING = (NAME + " ").encode().ljust(6000, b".")


def serve(c):
    try:
        buf = b""
        while b"\r\n\r\n" not in buf:
            d = c.recv(65536)
            if not d:
                return
            buf += d
        head, rest = buf.split(b"\r\n\r\n", 1)
        up = [line.split(b":", 1)[1].strip()
              for line in head.split(b"\r\n")[1:]
              if line.lower().startswith(b"upgrade:")]
        if not up:
            c.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                      b"Connection: close\r\n\r\n")
            return
        c.sendall(b"HTTP/1.1 101 Switching Protocols\r\nConnection: "
                  b"Upgrade\r\nUpgrade: " + up[0] + b"\r\n\r\n" + GREETING)
        c.sendall(rest)
        while True:
            d = c.recv(65536)
            if not d:
                break
            c.sendall(d)
    except OSError:
        pass
    finally:
        c.close()


ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", PORT))
ls.listen(512)
while True:
    conn, _ = ls.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
