#!/usr/bin/python3
# t/servers/smtpd_slow.py PORT LOG DELAY [MODE]: aiosmtpd on 127.0.0.1:PORT
# that keeps each message it receives as one JSON line {"message_id",
# "to", "data"} in LOG. MODE says what DELAY (seconds) is:
#   all (default)  every message is kept, then DELAY passes before its
#                  250: a client killed meanwhile has had its page taken
#                  without knowing it (the window where a page may be
#                  sent twice);
#   first          the first message waits DELAY before it is kept and
#                  answered 250, the others are kept and answered at once
#                  (a relay slow once): LOG's order is the order the
#                  relay took them in;
#   defer-first    the first message is answered 451 after DELAY, and
#                  not kept; the others are kept and answered at once.
import asyncio
import json
import sys
import threading
from email import message_from_bytes

from aiosmtpd.controller import Controller

port, log, delay = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
mode = sys.argv[4] if len(sys.argv) > 4 else "all"
lock = threading.Lock()
seen = 0


def keep(envelope):
    m = message_from_bytes(envelope.content)
    with lock, open(log, "a") as f:
        f.write(json.dumps({
            "message_id": m.get("Message-ID"),
            "to": envelope.rcpt_tos,
            "data": envelope.content.decode("utf-8", "replace"),
        }) + "\n")


class KeepSlowly:
    async def handle_DATA(self, server, session, envelope):
        global seen
        seen += 1
        if mode == "all":
            keep(envelope)
            await asyncio.sleep(delay)
        elif seen == 1:
            await asyncio.sleep(delay)
            if mode == "defer-first":
                return "451 4.3.0 try again later"
            keep(envelope)
        else:
            keep(envelope)
        return "250 OK kept"


c = Controller(KeepSlowly(), hostname="127.0.0.1", port=port)
c.start()
threading.Event().wait()
