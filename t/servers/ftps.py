#!/usr/bin/python3
"""ftps.py: an FTP server with explicit TLS (AUTH TLS) for tocsin's tests,
started by t/servers.sh (start_ftp). Needs python3-pyftpdlib and
python3-openssl (pyftpdlib's TLS_FTPHandler is built on PyOpenSSL).

  ftps.py PORT DIR CERT KEY USER PASSWORD [implicit]

Serves DIR read-write to USER and read-only to anonymous on 127.0.0.1:PORT;
TLS is offered, not required, on control and data connections. With
"implicit", TLS starts at connect, before the banner (ftps://, port 990
style), and AUTH is refused.
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


class ImplicitFTPHandler(TLS_FTPHandler):
    """TLS before anything else; the banner follows the handshake."""

    def handle(self):
        self.secure_connection(self.ssl_context)

    def handle_ssl_established(self):
        TLS_FTPHandler.handle(self)

    def ftp_AUTH(self, line):
        self.respond("503 TLS is on already (implicit).")


def main():
    if len(sys.argv) not in (7, 8) or (len(sys.argv) == 8 and
                                       sys.argv[7] != "implicit"):
        print(__doc__, file=sys.stderr)
        return 2
    port, root, cert, key, user, password = sys.argv[1:7]
    auth = DummyAuthorizer()
    auth.add_user(user, password, root, perm="elradfmwMT")
    auth.add_anonymous(root)
    handler = ImplicitFTPHandler if len(sys.argv) == 8 else TLS_FTPHandler
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
