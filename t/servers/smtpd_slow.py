#!/usr/bin/python3
# t/servers/smtpd_slow.py PORT LOG DELAY: aiosmtpd on 127.0.0.1:PORT that
# keeps each message it receives as one JSON line {"message_id", "to",
# "data"} in LOG, then waits DELAY seconds before it answers 250: a
# client killed meanwhile has had its page taken without knowing it (the
# window where a page may be sent twice).
import asyncio
import json
import sys
import threading
from email import message_from_bytes

from aiosmtpd.controller import Controller

port, log, delay = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
lock = threading.Lock()


class KeepSlowly:
    async def handle_DATA(self, server, session, envelope):
        m = message_from_bytes(envelope.content)
        with lock, open(log, "a") as f:
            f.write(json.dumps({
                "message_id": m.get("Message-ID"),
                "to": envelope.rcpt_tos,
                "data": envelope.content.decode("utf-8", "replace"),
            }) + "\n")
        await asyncio.sleep(delay)
        return "250 OK kept"


c = Controller(KeepSlowly(), hostname="127.0.0.1", port=port)
c.start()
threading.Event().wait()
