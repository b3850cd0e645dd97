#!/usr/bin/python3
"""t/lbwsclient.py PORT CLIENTS MESSAGES: CLIENTS WebSocket clients at once
(python3-websockets) through tocsin-lb's http listener on 127.0.0.1:PORT,
each reading the greeting, then sending MESSAGES messages of growing size
(up to 200 KiB) and checking each echo, in order, then "close" and waiting
for the server's close. Prints JSON: {"ok": clients that got every echo,
"by": {server: clients}, "errors": [the first few failures]}."""
import asyncio
import json
import sys

import websockets

PORT, CLIENTS, MESSAGES = (int(a) for a in sys.argv[1:4])


async def client(i, out):
    try:
        async with websockets.connect("ws://127.0.0.1:%d/chat" % PORT,
                                      max_size=None, open_timeout=10,
                                      close_timeout=10) as ws:
            hello = await asyncio.wait_for(ws.recv(), 10)
            name = hello.rsplit(" ", 1)[-1]
            for k in range(MESSAGES):
                msg = ("%d.%d:" % (i, k)) + "x" * (k * 4099 % 204800)
                await ws.send(msg)
                got = await asyncio.wait_for(ws.recv(), 10)
                if got != name + ": " + msg:
                    raise ValueError("echo %d of client %d differs" % (k, i))
            await ws.send("close")
            await asyncio.wait_for(ws.wait_closed(), 10)
            if ws.close_code != 1000:
                raise ValueError("closed with %s" % ws.close_code)
        out["ok"] += 1
        out["by"][name] = out["by"].get(name, 0) + 1
    except Exception as e:  # noqa: BLE001 (every failure is reported)
        out["errors"].append("client %d: %s: %s" % (i, type(e).__name__, e))


async def main():
    out = {"ok": 0, "by": {}, "errors": []}
    await asyncio.gather(*(client(i, out) for i in range(CLIENTS)))
    out["errors"] = out["errors"][:5]
    print(json.dumps(out))


asyncio.run(main())
