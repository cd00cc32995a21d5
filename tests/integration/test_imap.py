#!/usr/bin/env python3
"""imap: the IMAP front end (imap-login) and mail process (imapd) over
loopback, as correo init sets them up (143 with STARTTLS, 993 with TLS
from the first byte), spoken to by imaplib and a raw client.

Checked: the pre-login capabilities (STARTTLS, AUTH=PLAIN, SASL-IR;
LOGINDISABLED where plaintext is refused), LOGIN (quoted and with a
literal) and AUTHENTICATE PLAIN (with SASL-IR and with a continuation),
the tagged OK with the post-login capabilities, wrong passwords
answered NO [AUTHENTICATIONFAILED], STARTTLS and implicit TLS, mail
delivered over SMTP read back, and the mail process: running as the
mailbox owner, never root, holding no socket but its client and its log.
"""
import base64
import imaplib
import os
import poplib
import re
import socket
import ssl
import subprocess

import harness

PASSWORD = "imap secret 42"
USER = "bob@demo.test"

# A row that refuses plaintext even on loopback (the test's client then
# counts as remote).
ROWS = """
127.0.0.1:{p144}     inet n       correo-login y -   100     imap-login -o imap_disable_plaintext_auth=yes -o login_plaintext_loopback=no
"""

CONFIG = {
    "auth_failure_delay": "10ms",
    "auth_failure_delay_max": "20ms",
    "queue_run_delay": "1s",
}


def tls_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class ImapTest(harness.TestCase):

    @classmethod
    def setUpClass(cls):
        for d in ("imapd", "imap-login", "auth"):
            if not harness.have_daemon(d):
                raise __import__("unittest").SkipTest(d + " not built")

    def setUp(self):
        self.make_instance()

    def make_instance(self, root_mode=False):
        inst = self.instance(config=CONFIG, root_mode=root_mode)
        self.p143, self.p993 = inst.port(143), inst.port(993)
        self.p144 = inst.port(144)
        with open(os.path.join(inst.dir, "services.conf"), "a") as f:
            f.write(ROWS.format(p144=self.p144))
        inst.make_cert()
        self.inst = inst
        inst.add_user(USER, PASSWORD)
        inst.start()
        for p in (self.p143, self.p993, self.p144):
            inst.wait_for_port(p)
        return inst

    def login(self, port=None):
        m = imaplib.IMAP4("127.0.0.1", port or self.p143, timeout=30)
        self.addCleanup(self.close, m)
        typ, data = m.login(USER, PASSWORD)
        self.assertEqual(typ, "OK", data)
        return m

    @staticmethod
    def close(m):
        try:
            m.logout()
        except Exception:
            pass

    def test_wrong_password_then_right(self):
        m = imaplib.IMAP4("127.0.0.1", self.p143, timeout=30)
        self.addCleanup(self.close, m)
        caps = m.capabilities
        for cap in ("IMAP4REV1", "STARTTLS", "AUTH=PLAIN", "SASL-IR"):
            self.assertIn(cap, caps)
        self.assertNotIn("LOGINDISABLED", caps)
        with self.assertRaises(imaplib.IMAP4.error) as cm:
            m.login(USER, "wrong password")
        self.assertIn("AUTHENTICATIONFAILED", str(cm.exception))
        typ, data = m.login(USER, PASSWORD)
        self.assertEqual(typ, "OK")
        # The tagged OK carries the post-login capabilities.
        self.assertIn(b"CAPABILITY", data[0])
        self.assertIn(b"IDLE", data[0])
        typ, data = m.select("INBOX")
        self.assertEqual(typ, "OK")

    def test_literal_login_and_sasl(self):
        # LOGIN with a synchronising literal for the password.
        s = socket.create_connection(("127.0.0.1", self.p143), timeout=30)
        f = s.makefile("rb")
        self.assertTrue(f.readline().startswith(b"* OK"))
        s.sendall(b'a LOGIN "%s" {%d}\r\n' % (USER.encode(),
                                              len(PASSWORD)))
        self.assertTrue(f.readline().startswith(b"+"))
        s.sendall(PASSWORD.encode() + b"\r\n")
        line = f.readline()
        self.assertTrue(line.startswith(b"a OK"), line)
        s.sendall(b"b LOGOUT\r\n")
        s.close()
        # AUTHENTICATE PLAIN with an initial response (SASL-IR) ...
        s = socket.create_connection(("127.0.0.1", self.p143), timeout=30)
        f = s.makefile("rb")
        f.readline()
        ir = base64.b64encode(b"\0" + USER.encode() + b"\0" +
                              PASSWORD.encode())
        s.sendall(b"a AUTHENTICATE PLAIN " + ir + b"\r\n")
        line = f.readline()
        self.assertTrue(line.startswith(b"a OK"), line)
        s.close()
        # ... and imaplib's way, with a continuation.
        m = imaplib.IMAP4("127.0.0.1", self.p143, timeout=30)
        self.addCleanup(self.close, m)
        typ, data = m.authenticate(
            "PLAIN", lambda _: b"\0" + USER.encode() + b"\0" +
            PASSWORD.encode())
        self.assertEqual(typ, "OK")

    def test_tls_and_plaintext_policy(self):
        m = imaplib.IMAP4_SSL("127.0.0.1", self.p993, timeout=30,
                              ssl_context=tls_context())
        self.addCleanup(self.close, m)
        self.assertEqual(m.login(USER, PASSWORD)[0], "OK")
        # Plaintext refused before TLS on the strict row...
        m = imaplib.IMAP4("127.0.0.1", self.p144, timeout=30)
        self.addCleanup(self.close, m)
        self.assertIn("LOGINDISABLED", m.capabilities)
        self.assertNotIn("AUTH=PLAIN", m.capabilities)
        with self.assertRaises(imaplib.IMAP4.error) as cm:
            m.login(USER, PASSWORD)
        self.assertIn("PRIVACYREQUIRED", str(cm.exception))
        # ...allowed after STARTTLS.
        m = imaplib.IMAP4("127.0.0.1", self.p144, timeout=30)
        self.addCleanup(self.close, m)
        m.starttls(ssl_context=tls_context())
        self.assertNotIn("LOGINDISABLED", m.capabilities)
        self.assertEqual(m.login(USER, PASSWORD)[0], "OK")

    def test_delivered_mail_and_mail_process(self):
        self.inst.send_mail("alice@example.org", [USER],
                            "Subject: over imap\r\n\r\nhello bob\r\n")
        self.inst.wait_for_maildir("demo.test/bob", 1)
        m = self.login()
        typ, data = m.select("INBOX")
        self.assertEqual(data, [b"1"])
        typ, data = m.fetch("1", "(BODY.PEEK[TEXT])")
        self.assertEqual(data[0][1], b"hello bob\r\n")
        # The mail process: this user's, not root, and no socket but its
        # client, its log, the anvil connection that counts it for
        # mail_max_userip_connections (fd 3, never used) and its
        # connection to the user's park process (fd 4, imapd_park.c).
        procs = [p for p in self.inst.processes()
                 if p["comm"] == "imapd" and p["argv"][1:2] ==
                 ["--mail-session"]]
        self.assertEqual(len(procs), 1, procs)
        p = procs[0]
        self.assertNotEqual(p["uid"], 0)
        fd_dir = "/proc/%d/fd" % p["pid"]
        sockets = [fd for fd in os.listdir(fd_dir)
                   if os.readlink(os.path.join(fd_dir, fd)).startswith(
                       "socket:")]
        self.assertLessEqual(len(sockets), 4, sockets)
        self.assertTrue(set(sockets) <= {"0", "1", "2", "3", "4"}, sockets)

    def test_pop3_and_imap_agree(self):
        for n in (1, 2):
            self.inst.send_mail("alice@example.org", [USER],
                                "Subject: m%d\r\n\r\nbody %d\r\n" % (n, n))
            self.inst.wait_for_maildir("demo.test/bob", n)
        m = self.login()
        typ, data = m.select("INBOX")
        validity = int(m.untagged_responses["UIDVALIDITY"][-1])
        uids = [int(re.search(rb"UID (\d+)", x).group(1))
                for x in m.fetch("1:*", "(UID)")[1]]
        p = poplib.POP3("127.0.0.1", self.inst.port(110), timeout=30)
        p.user(USER)
        p.pass_(PASSWORD)
        uidls = [l.split()[1].decode() for l in p.uidl()[1]]
        # The same messages under the same names: UIDL is uid and
        # UIDVALIDITY, as Dovecot's default.
        self.assertEqual(uidls, ["%08X%08X" % (u, validity) for u in uids])
        p.dele(1)
        p.quit()
        # The POP3 deletion reaches the IMAP session as an EXPUNGE.
        m.noop()
        self.assertEqual(m.untagged_responses.pop("EXPUNGE", None), [b"1"])
        left = [int(re.search(rb"UID (\d+)", x).group(1))
                for x in m.fetch("1:*", "(UID)")[1]]
        self.assertEqual(left, uids[1:])

    def test_connection_limit_outside_mynetworks(self):
        # A client outside mynetworks (127.0.0.2 here) may hold at most
        # login_client_connection_count_limit connections; mynetworks'
        # clients are not counted against it.
        inst = self.instance(config=dict(
            CONFIG, mynetworks="127.0.0.1/32",
            login_client_connection_count_limit="3"))
        inst.make_cert()
        inst.start()
        port = inst.port(143)
        inst.wait_for_port(port)
        held = []
        for _ in range(3):
            c = socket.create_connection(("127.0.0.1", port), timeout=10,
                                         source_address=("127.0.0.2", 0))
            held.append(c)
            self.assertTrue(c.recv(512).startswith(b"* OK"))
        c = socket.create_connection(("127.0.0.1", port), timeout=10,
                                     source_address=("127.0.0.2", 0))
        self.assertIn(b"UNAVAILABLE", c.recv(512))
        c.close()
        inst.wait_for_log("Connection concurrency limit exceeded")
        # mynetworks is not limited.
        for _ in range(4):
            c = socket.create_connection(("127.0.0.1", port), timeout=10)
            held.append(c)
            self.assertTrue(c.recv(512).startswith(b"* OK"))
        for c in held:
            c.close()

    @staticmethod
    def sessions(inst, comm):
        return [p["pid"] for p in inst.processes()
                if p["comm"] == comm and
                p["argv"][1:2] == ["--mail-session"]]

    def test_userip_limit(self):
        # mail_max_userip_connections: sessions of one user from one
        # address, per protocol, counted by anvil across every imapd;
        # one more login is refused in Dovecot's words and the
        # connection ends; a session that ends, even by kill -9, frees
        # its place.
        inst = self.instance(config=dict(CONFIG,
                                         mail_max_userip_connections="3"))
        inst.add_user(USER, PASSWORD)
        inst.start()
        port, pop = inst.port(143), inst.port(110)
        inst.wait_for_port(port)
        self.p143 = port
        held = [self.login() for _ in range(3)]
        m = imaplib.IMAP4("127.0.0.1", port, timeout=30)
        with self.assertRaises(imaplib.IMAP4.error) as e:
            m.login(USER, PASSWORD)
        self.assertEqual(e.exception.args[0],
                         b"[LIMIT] Maximum number of connections from "
                         b"user+IP exceeded (mail_max_userip_connections=3)")
        self.assertEqual(m.sock.recv(100), b"")     # disconnected
        m.sock.close()
        inst.wait_for_log(re.escape(
            "Maximum number of connections from user+IP exceeded "
            "(mail_max_userip_connections=3): user=<%s>" % USER))
        # Another address of the same user is counted apart.
        c = socket.create_connection(("127.0.0.1", port), timeout=30,
                                     source_address=("127.0.0.2", 0))
        c.recv(512)
        c.sendall(b"a LOGIN %s \"%s\"\r\n" % (USER.encode(),
                                                PASSWORD.encode()))
        self.assertTrue(c.recv(4096).startswith(b"a OK"))
        c.close()
        # POP3 is counted apart from IMAP.
        p = poplib.POP3("127.0.0.1", pop, timeout=30)
        p.user(USER)
        p.pass_(PASSWORD)
        p.quit()
        # A LOGOUT frees a place (once its process is gone) ...
        held.pop().logout()
        harness.wait_for(lambda: len(self.sessions(inst, "imapd")) == 2,
                         what="the logged out imapd gone")
        held.append(self.login())
        # ... and so does a mail process killed with -9.
        procs = self.sessions(inst, "imapd")
        self.assertEqual(len(procs), 3)
        os.kill(procs[0], 9)
        harness.wait_for(lambda: not harness.pid_alive(procs[0]),
                         what="the killed imapd gone")
        self.login()

    def test_userip_limit_pop3(self):
        # The same limit for POP3 (with 1: its mailbox lock would refuse
        # a second session anyway, in other words).
        inst = self.instance(config=dict(CONFIG,
                                         mail_max_userip_connections="1"))
        inst.add_user(USER, PASSWORD)
        inst.start()
        pop = inst.port(110)
        inst.wait_for_port(pop)
        p1 = poplib.POP3("127.0.0.1", pop, timeout=30)
        p1.user(USER)
        p1.pass_(PASSWORD)
        p = poplib.POP3("127.0.0.1", pop, timeout=30)
        p.user(USER)
        with self.assertRaises(poplib.error_proto) as e:
            p.pass_(PASSWORD)
        self.assertEqual(e.exception.args[0],
                         b"-ERR [IN-USE] Maximum number of connections "
                         b"from user+IP exceeded "
                         b"(mail_max_userip_connections=1)")
        p.close()
        p1.quit()
        harness.wait_for(lambda: not self.sessions(inst, "pop3d"),
                         what="the pop3d session gone")
        p = poplib.POP3("127.0.0.1", pop, timeout=30)
        p.user(USER)
        p.pass_(PASSWORD)
        p.quit()

    def test_root_mode_mail_process_user(self):
        if not harness.is_root():
            self.skipTest("root mode needs root")
        self.make_instance(root_mode=True)
        m = self.login()
        self.assertEqual(m.select("INBOX")[0], "OK")
        procs = [p for p in self.inst.processes()
                 if p["comm"] == "imapd" and p["argv"][1:2] ==
                 ["--mail-session"]]
        self.assertEqual(len(procs), 1)
        self.assertNotEqual(procs[0]["uid"], 0)
        # The root spawner reached anvil: the session holds its count.
        fd3 = os.readlink("/proc/%d/fd/3" % procs[0]["pid"])
        self.assertTrue(fd3.startswith("socket:"), fd3)
        logins = [p for p in self.inst.processes()
                  if p["comm"] == "imap-login"]
        self.assertTrue(logins)
        for p in logins:
            self.assertNotEqual(p["uid"], 0)


if __name__ == "__main__":
    harness.main()
