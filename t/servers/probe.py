#!/usr/bin/python3
"""probe.py: small, bounded network probes for t/servers.sh's self-test
(Debian has no dig or nc by default). Standard library only.

  probe.py dns SERVER PORT NAME TYPE [--tcp]
      one query; prints "rcode=NAME" then one answer a line ("A 1.2.3.4",
      "MX 10 mail.example.test", "TXT v=spf1 -all", "CNAME x.test").
  probe.py tcp HOST PORT [--send TEXT] [--timeout S] [--connect-timeout S]
      connects, sends TEXT (\\r \\n \\t escapes), prints what arrives until
      the peer closes or TIMEOUT seconds pass. Exit: 0 peer closed, 3 still
      open at the timeout, 4 connect timed out, 5 reset, 6 refused, 1 other.
  probe.py many HOST PORT N [--send TEXT] [--timeout S]
      N connections at once; prints "connected=C data=D closed=K bytes=B"
      after TIMEOUT seconds (or when all closed).
"""
import argparse
import random
import selectors
import socket
import struct
import sys
import time

TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "MX": 15, "TXT": 16,
         "AAAA": 28, "ANY": 255}
RCODES = ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"]


def unescape(text):
    return text.encode().decode("unicode_escape").encode("latin-1")


def dns_name(msg, off):
    """Decode a (possibly compressed) name at off; return (name, next)."""
    labels, jumped, nxt, hops = [], False, off, 0
    while True:
        n = msg[off]
        if n & 0xC0 == 0xC0:
            if not jumped:
                nxt = off + 2
            off = ((n & 0x3F) << 8) | msg[off + 1]
            jumped = True
            hops += 1
            if hops > 64:
                raise ValueError("name loop")
            continue
        if n == 0:
            if not jumped:
                nxt = off + 1
            return ".".join(labels), nxt
        labels.append(msg[off + 1:off + 1 + n].decode("ascii", "replace"))
        off += 1 + n


def cmd_dns(a):
    qid = random.randrange(65536)
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in a.name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\0" + struct.pack(">HH", TYPES[a.type.upper()], 1)
    if a.tcp:
        s = socket.create_connection((a.server, a.port), timeout=a.timeout)
        s.sendall(struct.pack(">H", len(q)) + q)
        buf = b""
        while len(buf) < 2 or len(buf) < 2 + struct.unpack(">H", buf[:2])[0]:
            chunk = s.recv(4096)
            if not chunk:
                break
            buf += chunk
        msg = buf[2:]
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(a.timeout)
        s.sendto(q, (a.server, a.port))
        msg, _ = s.recvfrom(65535)
    rid, flags, qd, an, _, _ = struct.unpack(">HHHHHH", msg[:12])
    if rid != qid:
        print("id mismatch", file=sys.stderr)
        return 1
    rcode = flags & 0xF
    print("rcode=" + (RCODES[rcode] if rcode < len(RCODES) else str(rcode)))
    off = 12
    for _ in range(qd):
        _, off = dns_name(msg, off)
        off += 4
    names = {v: k for k, v in TYPES.items()}
    for _ in range(an):
        _, off = dns_name(msg, off)
        rtype, _, _, rdlen = struct.unpack(">HHIH", msg[off:off + 10])
        off += 10
        rd = msg[off:off + rdlen]
        t = names.get(rtype, str(rtype))
        if rtype == 1:
            val = socket.inet_ntop(socket.AF_INET, rd)
        elif rtype == 28:
            val = socket.inet_ntop(socket.AF_INET6, rd)
        elif rtype in (2, 5):
            val = dns_name(msg, off)[0]
        elif rtype == 15:
            val = "%d %s" % (struct.unpack(">H", rd[:2])[0],
                             dns_name(msg, off + 2)[0])
        elif rtype == 16:
            parts, i = [], 0
            while i < len(rd):
                parts.append(rd[i + 1:i + 1 + rd[i]].decode("utf-8",
                                                            "replace"))
                i += 1 + rd[i]
            val = "".join(parts)
        else:
            val = rd.hex()
        print(t, val)
        off += rdlen
    return 0


def cmd_tcp(a):
    try:
        s = socket.create_connection((a.host, a.port),
                                     timeout=a.connect_timeout)
    except socket.timeout:
        print("connect timed out", file=sys.stderr)
        return 4
    except ConnectionRefusedError:
        print("connection refused", file=sys.stderr)
        return 6
    if a.send:
        s.sendall(unescape(a.send))
    end = time.monotonic() + a.timeout
    out = sys.stdout.buffer
    while True:
        left = end - time.monotonic()
        if left <= 0:
            print("still open after %gs" % a.timeout, file=sys.stderr)
            return 3
        s.settimeout(left)
        try:
            data = s.recv(65536)
        except socket.timeout:
            continue
        except ConnectionResetError:
            print("connection reset", file=sys.stderr)
            return 5
        if not data:
            print("closed by peer", file=sys.stderr)
            return 0
        out.write(data)
        out.flush()


def cmd_many(a):
    sel = selectors.DefaultSelector()
    socks, connected, data, closed, total = [], set(), set(), set(), 0
    for _ in range(a.n):
        s = socket.socket()
        s.setblocking(False)
        try:
            s.connect((a.host, a.port))
        except BlockingIOError:
            pass
        socks.append(s)
        sel.register(s, selectors.EVENT_WRITE | selectors.EVENT_READ)
    payload = unescape(a.send) if a.send else b""
    end = time.monotonic() + a.timeout
    while len(closed) < a.n:
        left = end - time.monotonic()
        if left <= 0:
            break
        for key, ev in sel.select(left):
            s = key.fileobj
            if s not in connected:
                err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    closed.add(s)
                    sel.unregister(s)
                    continue
                connected.add(s)
                if payload:
                    try:
                        s.send(payload)
                    except OSError:
                        pass
                sel.modify(s, selectors.EVENT_READ)
                continue
            if ev & selectors.EVENT_READ:
                try:
                    chunk = s.recv(65536)
                except BlockingIOError:
                    continue
                except OSError:
                    chunk = b""
                if chunk:
                    data.add(s)
                    total += len(chunk)
                else:
                    closed.add(s)
                    sel.unregister(s)
    print("connected=%d data=%d closed=%d bytes=%d"
          % (len(connected), len(data), len(closed), total))
    for s in socks:
        s.close()
    return 0


def main():
    p = argparse.ArgumentParser(description="bounded network probes")
    sub = p.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("dns")
    d.add_argument("server")
    d.add_argument("port", type=int)
    d.add_argument("name")
    d.add_argument("type")
    d.add_argument("--tcp", action="store_true")
    d.add_argument("--timeout", type=float, default=3)
    t = sub.add_parser("tcp")
    t.add_argument("host")
    t.add_argument("port", type=int)
    t.add_argument("--send")
    t.add_argument("--timeout", type=float, default=3)
    t.add_argument("--connect-timeout", type=float, default=3)
    m = sub.add_parser("many")
    m.add_argument("host")
    m.add_argument("port", type=int)
    m.add_argument("n", type=int)
    m.add_argument("--send")
    m.add_argument("--timeout", type=float, default=3)
    a = p.parse_args()
    try:
        return {"dns": cmd_dns, "tcp": cmd_tcp, "many": cmd_many}[a.cmd](a)
    except OSError as e:
        print("%s: %s" % (a.cmd, e), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
