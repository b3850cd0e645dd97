#!/usr/bin/python3
"""ftps.py: an FTP server with explicit TLS (AUTH TLS) for tocsin's tests,
started by t/servers.sh (start_ftp). Needs python3-pyftpdlib and
python3-openssl (pyftpdlib's TLS_FTPHandler is built on PyOpenSSL).

  ftps.py PORT DIR CERT KEY USER PASSWORD

Serves DIR read-write to USER and read-only to anonymous on 127.0.0.1:PORT;
TLS is offered, not required, on control and data connections.
"""
import sys

from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import TLS_DTPHandler, TLS_FTPHandler
from pyftpdlib.servers import FTPServer


class DTPHandler(TLS_DTPHandler):
    """pyftpdlib 1.5.7 (Debian 12) drops a data connection whose TLS
    handshake the client starts before the transfer command, as curl does
    (curl: "Bad PASV/EPSV response"); upstream fixed it in pyftpdlib PR 612
    by keeping the channel readable while the handshake runs."""

    def readable(self):
        if self._ssl_accepting:
            return True
        return super().readable()


def main():
    if len(sys.argv) != 7:
        print(__doc__, file=sys.stderr)
        return 2
    port, root, cert, key, user, password = sys.argv[1:]
    auth = DummyAuthorizer()
    auth.add_user(user, password, root, perm="elradfmwMT")
    auth.add_anonymous(root)
    handler = TLS_FTPHandler
    handler.dtp_handler = DTPHandler
    handler.certfile = cert
    handler.keyfile = key
    handler.authorizer = auth
    handler.tls_control_required = False
    handler.tls_data_required = False
    server = FTPServer(("127.0.0.1", int(port)), handler)
    server.max_cons = 512
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
