#!/usr/bin/env python3
"""TLS session resumption is per service: a session (ticket or id) from
implicit TLS on 465 (smtpd) is resumed by 465's next process but refused
by 995 (pop3-login), and the other way round, in TLS 1.2 and TLS 1.3.
One key file serves the instance; each service derives its own keys
from it (common/security/tls_ticket.c).
"""
import socket
import ssl
import unittest

import harness
from harness import Instance


def context(version):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = version
    ctx.maximum_version = version
    return ctx


class TicketTest(harness.TestCase):
    @classmethod
    def setUpClass(cls):
        for d in ("smtpd", "pop3-login", "pop3d", "auth"):
            if not harness.have_daemon(d):
                raise unittest.SkipTest(d + " not built")
        cls.inst = inst = Instance()
        inst.start()
        cls.smtps = inst.port(465)
        cls.pop3s = inst.port(995)
        inst.wait_for_port(cls.smtps)
        inst.wait_for_port(cls.pop3s)

    @classmethod
    def tearDownClass(cls):
        cls.inst.cleanup()

    def handshake(self, ctx, port, session=None):
        """Connect with TLS from the first byte offering session, read
        the greeting (which also takes in TLS 1.3 tickets); return
        (session, reused)."""
        raw = socket.create_connection(("127.0.0.1", port), timeout=20)
        with ctx.wrap_socket(raw, server_hostname="localhost",
                             session=session) as s:
            data = b""
            while b"\r\n" not in data:
                chunk = s.recv(4096)
                self.assertTrue(chunk, "closed before the greeting")
                data += chunk
            self.assertRegex(data, rb"^(220 |\+OK)")
            reused = s.session_reused
            session = s.session
            s.sendall(b"QUIT\r\n")
        self.assertIsNotNone(session)
        return session, reused

    def check(self, version):
        ctx = context(version)
        for first, other in ((self.smtps, self.pop3s),
                             (self.pop3s, self.smtps)):
            session, reused = self.handshake(ctx, first)
            self.assertFalse(reused)
            # The same service resumes it (whichever process serves).
            again, reused = self.handshake(ctx, first, session)
            self.assertTrue(reused, "port %d did not resume its own "
                            "session" % first)
            # Another service must not.
            _, reused = self.handshake(ctx, other, again)
            self.assertFalse(reused, "a session of port %d was resumed "
                             "on port %d" % (first, other))

    def test_tls12(self):
        self.check(ssl.TLSVersion.TLSv1_2)

    def test_tls13(self):
        self.check(ssl.TLSVersion.TLSv1_3)


if __name__ == "__main__":
    harness.main()
