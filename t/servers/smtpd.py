#!/usr/bin/python3
# t/servers/smtpd.py PORT LOG [--starttls CERT KEY] [--auth USER:PASSWORD]:
# aiosmtpd on 127.0.0.1:PORT that keeps what it receives: each message is
# appended to LOG as one JSON line {"message_id", "to", "subject", "auth",
# "tls", "peer", "data", "time"} ("peer": the client's address:port, one
# per session; "time": when it was taken, seconds since the epoch).
# --starttls offers STARTTLS and requires it before MAIL; --auth requires
# AUTH (PLAIN or LOGIN) with that user and password.
import argparse
import json
import ssl
import threading
import time
from email import message_from_bytes

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

p = argparse.ArgumentParser()
p.add_argument("port", type=int)
p.add_argument("log")
p.add_argument("--starttls", nargs=2, metavar=("CERT", "KEY"))
p.add_argument("--auth")
a = p.parse_args()
lock = threading.Lock()


class Keep:
    async def handle_DATA(self, server, session, envelope):
        m = message_from_bytes(envelope.content)
        with lock, open(a.log, "a") as f:
            f.write(json.dumps({
                "message_id": m.get("Message-ID"),
                "to": envelope.rcpt_tos,
                "subject": m.get("Subject"),
                "auth": session.authenticated,
                "tls": session.ssl is not None,
                "peer": "%s:%s" % tuple(session.peer[:2]),
                "data": envelope.content.decode("utf-8", "replace"),
                "time": time.time(),
            }) + "\n")
        return "250 OK kept"


def check(server, session, envelope, mechanism, data):
    user, pw = a.auth.split(":", 1)
    ok = (data.login.decode(), data.password.decode()) == (user, pw)
    return AuthResult(success=ok)


kw = {}
if a.starttls:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(*a.starttls)
    kw.update(tls_context=ctx, require_starttls=True)
if a.auth:
    kw.update(authenticator=check, auth_required=True,
              auth_require_tls=bool(a.starttls))
c = Controller(Keep(), hostname="127.0.0.1", port=a.port, **kw)
c.start()
threading.Event().wait()
