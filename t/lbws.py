#!/usr/bin/python3
"""t/lbws.py PORT NAME: a WebSocket server on 127.0.0.1 (python3-websockets,
a real implementation of RFC 6455): it greets each client with
"hello from NAME", then answers each message with "NAME: " and the
message; a message "close" closes the connection from its side. For
tocsin-lb's HTTP upgrade tunnel."""
import asyncio
import sys

import websockets

NAME = sys.argv[2]


async def handler(ws, path=None):
    await ws.send("hello from " + NAME)
    async for msg in ws:
        if msg == "close":
            await ws.close()
            return
        await ws.send(NAME + ": " + msg)


async def main():
    async with websockets.serve(handler, "127.0.0.1", int(sys.argv[1]),
                                max_size=None):
        await asyncio.Future()


asyncio.run(main())
