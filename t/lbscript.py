#!/usr/bin/python3
"""t/lbscript.py PORT: an HTTP/1.1 server on 127.0.0.1, keep-alive, that
answers by path what nginx cannot be made to send, for tocsin-lb's tests:

  /echo      200, its body the request's head as received (a request's
             body, by Content-Length or chunked, is read and dropped)
  /304       304 with Content-Length: 1234 and no body
  /204       204 with Content-Length: 5 and no body
  /hop       200 with Connection: close, X-Secret naming X-Secret, and
             Proxy-Connection, Upgrade and Keep-Alive headers
  /chunked   200 chunked, 3 chunks: "hello ", "chunked ", "world\\n"
  /continue  100 Continue, then 200 "yes"
  /partial   "HTTP/1.1 200 O", then the close
  /garbage   a head that is no HTTP, then the close
  /lf        200 whose head ends its lines in a bare LF, its body
             "a\\r\\n\\r\\nb\\n" (a CRLF CRLF that is no end of head)
  /slow      200 "/slow\\n" after half a second
  /hang      no answer: the connection is held 30 s, then closed
  /hangs     200, its body the count of /hang requests so far
  /fresh     200 "/fresh\\n" as the first request of its connection; as
             a later one, the close with no answer (a member closing an
             idle keep-alive connection as a request comes on it)
  else       200 "PATH\\n"

Each answer but /partial and /garbage carries X-Served: N, the count of
requests this connection served."""
import socket
import sys
import threading
import time

hangs = 0


def read_line(f):
    line = f.readline(65537)
    if not line.endswith(b"\n"):
        raise EOFError
    return line


def read_request(f):
    """Head as received (bytes) and path; the body is read and dropped."""
    head = b""
    while True:
        line = f.readline(65537)
        if not line:
            if head:
                raise EOFError
            return None, None
        head += line
        if line in (b"\r\n", b"\n"):
            break
    lines = head.split(b"\r\n")
    path = lines[0].split(b" ")[1].decode("latin-1")
    clen = 0
    chunked = False
    for h in lines[1:]:
        name, _, value = h.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            clen = int(value.strip())
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if chunked:
        while True:
            size = int(read_line(f).split(b";")[0].strip(), 16)
            if size == 0:
                while read_line(f) not in (b"\r\n", b"\n"):
                    pass
                break
            f.read(size + 2)
    elif clen:
        f.read(clen)
    return head, path


def answer(c, head, path, n):
    served = b"X-Served: %d\r\n" % n
    if path == "/echo":
        c.sendall(b"HTTP/1.1 200 OK\r\n" + served + b"Content-Length: %d"
                  b"\r\n\r\n" % len(head) + head)
    elif path == "/304":
        c.sendall(b"HTTP/1.1 304 Not Modified\r\n" + served +
                  b"ETag: \"x\"\r\nContent-Length: 1234\r\n\r\n")
    elif path == "/204":
        c.sendall(b"HTTP/1.1 204 No Content\r\n" + served +
                  b"Content-Length: 5\r\n\r\n")
    elif path == "/hop":
        c.sendall(b"HTTP/1.1 200 OK\r\n" + served +
                  b"Connection: X-Secret\r\nX-Secret: s\r\n"
                  b"Proxy-Connection: keep-alive\r\nUpgrade: h2c\r\n"
                  b"Keep-Alive: timeout=5\r\nX-Kept: k\r\n"
                  b"Content-Length: 3\r\n\r\nhop")
    elif path == "/chunked":
        c.sendall(b"HTTP/1.1 200 OK\r\n" + served +
                  b"Transfer-Encoding: chunked\r\n\r\n6\r\nhello \r\n"
                  b"8\r\nchunked \r\n6\r\nworld\n\r\n0\r\n\r\n")
    elif path == "/continue":
        c.sendall(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n" +
                  served + b"Content-Length: 3\r\n\r\nyes")
    elif path == "/partial":
        c.sendall(b"HTTP/1.1 200 O")
        return False
    elif path == "/garbage":
        c.sendall(b"\x00\x01 this is no HTTP\r\n\r\n")
        return False
    elif path == "/lf":
        c.sendall(b"HTTP/1.1 200 OK\nX-Served: %d\nContent-Length: 7\n\n"
                  b"a\r\n\r\nb\n" % n)
    elif path == "/hang":
        global hangs
        hangs += 1
        time.sleep(30)
        return False
    elif path == "/hangs":
        body = b"%d\n" % hangs
        c.sendall(b"HTTP/1.1 200 OK\r\n" + served + b"Content-Length: %d"
                  b"\r\n\r\n" % len(body) + body)
    elif path == "/fresh" and n > 1:
        return False
    elif path == "/slow":
        time.sleep(0.5)
        c.sendall(b"HTTP/1.1 200 OK\r\n" + served +
                  b"Content-Length: 6\r\n\r\n/slow\n")
    else:
        body = (path + "\n").encode("latin-1")
        c.sendall(b"HTTP/1.1 200 OK\r\n" + served + b"Content-Length: %d"
                  b"\r\n\r\n" % len(body) + body)
    return True


def serve(c):
    with c:
        f = c.makefile("rb")
        n = 0
        try:
            while True:
                head, path = read_request(f)
                if head is None:
                    return
                n += 1
                if not answer(c, head, path, n):
                    return
        except (EOFError, ValueError, IndexError, OSError):
            return


ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", int(sys.argv[1])))
ls.listen(64)
while True:
    conn, _ = ls.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
