#!/usr/bin/python3
"""t/lbhold.py PORT N WAIT_S [HOLD_S] [--conc C]: N tcp clients of
tocsin-lb on 127.0.0.1, C at once (all N by default). Each connects,
sends "x", waits at most WAIT_S for the first line of the answer, then
holds the connection HOLD_S more (with its line), half-closes and reads
to the end (WAIT_S at most), and closes. Prints JSON:
{"served": N, "closed": N, "reset": N, "timeout": N, "by": {line: N},
"secs": S}."""
import json
import socket
import sys
import threading
import time

args = [a for a in sys.argv[1:] if not a.startswith("--")]
conc = 0
if "--conc" in sys.argv:
    conc = int(sys.argv[sys.argv.index("--conc") + 1])
    args.remove(str(conc))
port, n, wait = int(args[0]), int(args[1]), float(args[2])
hold = float(args[3]) if len(args) > 3 else 0.0
res = {"served": 0, "closed": 0, "reset": 0, "timeout": 0, "by": {}}
lock = threading.Lock()


def one():
    k, line = "closed", None
    s = socket.socket()
    try:
        s.settimeout(wait)
        s.connect(("127.0.0.1", port))
        s.sendall(b"x")
        buf = b""
        while b"\n" not in buf:
            d = s.recv(100)
            if not d:
                break
            buf += d
        if b"\n" in buf:
            k, line = "served", buf.split(b"\n")[0].decode()
            time.sleep(hold)
            # End as a client should: our end, then the member's. A
            # close with the echo unread would be a reset, which ends
            # the session (and frees its slot) before the member has
            # seen the end and counted the connection out.
            s.shutdown(socket.SHUT_WR)
            while s.recv(4096):
                pass
    except ConnectionResetError:
        k = "reset"
    except socket.timeout:
        k = "timeout"
    except OSError:
        k = "reset"
    s.close()
    with lock:
        res[k] += 1
        if line is not None:
            res["by"][line] = res["by"].get(line, 0) + 1


t0 = time.time()
left = n
while left > 0:
    batch = min(left, conc or n)
    ts = [threading.Thread(target=one) for _ in range(batch)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    left -= batch
res["secs"] = round(time.time() - t0, 2)
print(json.dumps(res))
