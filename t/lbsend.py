#!/usr/bin/python3
"""t/lbsend.py PORT CLIENTS SEED: CLIENTS clients at once, each sending
tocsin-lb's tcp listener on 127.0.0.1:PORT a random stream (16 KiB to
320 KiB, in chunks of 1 to 16 KiB a few ms apart), then its end, and
reading the answer of t/lbsink.py behind it. Prints one line per client:
"ok" when the sink read every byte in order, else what went wrong."""
import hashlib
import random
import socket
import sys
import threading
import time

PORT, CLIENTS = int(sys.argv[1]), int(sys.argv[2])
out = [None] * CLIENTS


def client(i):
    rnd = random.Random(int(sys.argv[3]) * 1000 + i)
    size = 16384 + rnd.randrange(0, 320 * 1024 - 16384)
    data = rnd.randbytes(size)
    try:
        s = socket.create_connection(("127.0.0.1", PORT), timeout=30)
        off = 0
        while off < size:
            k = min(size - off, rnd.randrange(1024, 16385))
            s.sendall(data[off:off + k])
            off += k
            time.sleep(rnd.random() * 0.01)
        s.shutdown(socket.SHUT_WR)
        got = b""
        while True:
            b = s.recv(4096)
            if not b:
                break
            got += b
        s.close()
        want = "%d %s\n" % (size, hashlib.sha256(data).hexdigest())
        out[i] = "ok" if got.decode() == want else \
            "client %d sent %d, sink said %r" % (i, size, got.decode())
    except OSError as e:
        out[i] = "client %d: %s" % (i, e)


ts = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
for t in ts:
    t.start()
for t in ts:
    t.join()
print("\n".join(out))
