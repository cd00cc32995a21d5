#!/usr/bin/env python3
"""pop3: the POP3 front end (pop3-login) and mail process (pop3d) over
loopback: every command in every state, byte-exact RETR, deletion only in
the UPDATE state, stable UIDLs, [IN-USE], STLS (and its injection test),
implicit TLS, plaintext refusal, and real clients (poplib, fetchmail,
getmail6). Messages are put into the Maildir directly.
"""
import base64
import os
import poplib
import pwd
import shutil
import socket
import ssl
import subprocess
import tempfile
import time

import harness

PASSWORD = "pop secret 42"
USER = "bob@demo.test"

# correo init writes the pop3d row and pop3-login on base+110 and
# base+995 (implicit TLS); the tests add one that refuses plaintext
# (the loopback exemption turned off, so the test's loopback client
# counts as remote) and one that refuses it except on loopback (the
# default).
ROWS = """
127.0.0.1:{p111}     inet n       correo-login y -   100     pop3-login -o pop3_disable_plaintext_auth=yes -o login_plaintext_loopback=no
127.0.0.1:{p112}     inet n       correo-login y -   100     pop3-login -o pop3_disable_plaintext_auth=yes
"""

CONFIG = {
    "pop3_disable_plaintext_auth": "no",
    "auth_failure_delay": "10ms",
    "auth_failure_delay_max": "20ms",
    "pop3_timeout": "30s",
}

# name -> raw file content (LF line ends, as local delivers)
MESSAGES = [
    b"From: a@x\nSubject: one\n\nhello\n",
    b"From: a@x\nSubject: dots\n\n.leading dot\n..two dots\n.\nend\n",
    b"From: a@x\nSubject: 8bit\n\ncaf\xc3\xa9 \xff\xfe bytes\n",
    b"From: a@x\nSubject: nofinal\n\nno final newline",
    b"From: a@x\r\nSubject: crlf\r\n\r\nalready crlf\r\nbare\nmixed\n",
]


def wire(raw):
    """What RETR must send for raw (without the +OK line)."""
    out = b""
    lines = raw.split(b"\n")
    last = lines.pop()
    for line in lines:
        if line.startswith(b"."):
            line = b"." + line
        if not line.endswith(b"\r"):
            line += b"\r"
        out += line + b"\n"
    if last:
        if last.startswith(b"."):
            last = b"." + last
        out += last + b"\r\n"
    return out + b".\r\n"


def vsize(raw):
    n = len(raw)
    prev = b""
    for i in range(len(raw)):
        c = raw[i:i + 1]
        if c == b"\n" and prev != b"\r":
            n += 1
        prev = c
    return n


class Client:
    """A raw POP3 client reading replies exactly."""

    def __init__(self, port, tls=False, ctx=None, timeout=15):
        self.sock = socket.create_connection(("127.0.0.1", port),
                                             timeout=timeout)
        if tls:
            self.sock = ctx.wrap_socket(self.sock,
                                        server_hostname="localhost")
        self.buf = b""

    def starttls(self, ctx):
        self.assert_ok(self.cmd("STLS"))
        self.sock = ctx.wrap_socket(self.sock, server_hostname="localhost")

    def send(self, data):
        self.sock.sendall(data)

    def line(self):
        while b"\r\n" not in self.buf:
            d = self.sock.recv(65536)
            if not d:
                raise EOFError("connection closed; have %r" % self.buf)
            self.buf += d
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def multi(self):
        """Lines of a multi-line body up to '.', unstuffed, raw bytes."""
        data = b""
        while True:
            line = self.line()
            if line == b".":
                return data
            if line.startswith(b"."):
                line = line[1:]
            data += line + b"\r\n"

    def cmd(self, text):
        self.send(text.encode() + b"\r\n")
        return self.line().decode("latin-1")

    def assert_ok(self, reply):
        if not reply.startswith("+OK"):
            raise AssertionError("expected +OK, got %r" % reply)
        return reply

    def login(self):
        self.assert_ok(self.cmd("USER " + USER))
        return self.cmd("PASS " + PASSWORD)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class Pop3Test(harness.TestCase):
    @classmethod
    def setUpClass(cls):
        if not (harness.have_daemon("pop3d") and
                harness.have_daemon("pop3-login") and
                harness.have_daemon("auth")):
            raise __import__("unittest").SkipTest("pop3d/auth not built")

    def setUp(self):
        self.inst = self.make_instance()

    def make_instance(self, root_mode=False):
        inst = self.instance(config=CONFIG, root_mode=root_mode)
        self.ports = dict(p110=inst.port(110), p111=inst.port(111),
                          p112=inst.port(112), p995=inst.port(995))
        with open(os.path.join(inst.dir, "services.conf"), "a") as f:
            f.write(ROWS.format(**self.ports))
        self.make_cert(inst)
        self.inst = inst
        self.correo_stdin(["user", "add", USER, "--password-stdin"],
                          PASSWORD + "\n")
        self.maildir = os.path.join(inst.mail_dir, "demo.test", "bob")
        for d in ("tmp", "new", "cur"):
            os.makedirs(os.path.join(self.maildir, d), exist_ok=True)
        self.counter = 0
        return inst

    def correo_stdin(self, args, text):
        self.assertRuns(self.inst.correo_input(args, text))

    def make_cert(self, inst):
        inst.make_cert()

    def chown_tree(self, inst, path):
        owner = inst.user
        if owner is None:
            return
        for root, dirs, files in os.walk(path):
            os.chown(root, owner.pw_uid, owner.pw_gid)
            for f in files:
                os.chown(os.path.join(root, f), owner.pw_uid, owner.pw_gid)

    def owner_ids(self):
        st = os.stat(self.maildir)
        return st.st_uid, st.st_gid

    def put(self, raw):
        self.counter += 1
        name = "%d.M%dP%dQ%d.test" % (1700000000 + self.counter,
                                      self.counter, os.getpid(),
                                      self.counter)
        path = os.path.join(self.maildir, "new", name)
        with open(path, "wb") as f:
            f.write(raw)
        uid, gid = self.owner_ids()
        os.chown(path, uid, gid)
        return name

    def start(self):
        self.inst.start()
        self.inst.wait_for_port(self.ports["p110"])

    def ctx(self):
        c = ssl.create_default_context()
        c.check_hostname = False
        c.verify_mode = ssl.CERT_NONE
        return c

    def client(self, port=None, **kw):
        c = Client(port or self.ports["p110"], **kw)
        self.addCleanup(c.close)
        greeting = c.line().decode()
        self.assertTrue(greeting.startswith("+OK"), greeting)
        return c

    def files(self):
        out = []
        for d in ("new", "cur"):
            out += os.listdir(os.path.join(self.maildir, d))
        return sorted(out)

    # ---- AUTHORIZATION state ----

    def test_capa_before_and_after_login(self):
        self.start()
        c = self.client()
        c.assert_ok(c.cmd("CAPA"))
        caps = c.multi().decode().split("\r\n")
        for cap in ("TOP", "UIDL", "USER", "RESP-CODES", "AUTH-RESP-CODE",
                    "PIPELINING", "STLS", "IMPLEMENTATION correo"):
            self.assertIn(cap, caps)
        self.assertTrue(any(x.startswith("SASL") and "PLAIN" in x
                            for x in caps), caps)
        c.assert_ok(c.login())
        c.assert_ok(c.cmd("CAPA"))
        caps = c.multi().decode().split("\r\n")
        self.assertIn("UIDL", caps)
        self.assertNotIn("STLS", caps)
        self.assertNotIn("USER", caps)

    def test_authorization_state_commands(self):
        self.start()
        c = self.client()
        for cmd in ("STAT", "LIST", "LIST 1", "RETR 1", "DELE 1", "NOOP",
                    "RSET", "TOP 1 1", "UIDL", "UIDL 1", "FOO", "",
                    "PASS x", "APOP bob 0123456789abcdef",
                    "USER", "RETR", "AUTH NOPE"):
            reply = c.cmd(cmd)
            self.assertTrue(reply.startswith("-ERR"), (cmd, reply))
        c.assert_ok(c.cmd("USER " + USER))
        reply = c.cmd("PASS wrong")
        self.assertTrue(reply.startswith("-ERR [AUTH]"), reply)
        # The session survives all that.
        c.assert_ok(c.login())
        c.assert_ok(c.cmd("QUIT"))

    def test_quit_before_login(self):
        self.start()
        c = self.client()
        c.assert_ok(c.cmd("QUIT"))
        self.assertEqual(c.sock.recv(100), b"")

    def test_sasl_plain_login_and_cancel(self):
        self.start()
        c = self.client()
        c.assert_ok(c.cmd("AUTH"))
        self.assertIn(b"PLAIN", c.multi())
        reply = c.cmd("AUTH PLAIN")
        self.assertTrue(reply.startswith("+ "), reply)
        reply = c.cmd("*")
        self.assertTrue(reply.startswith("-ERR"), reply)
        reply = c.cmd("AUTH LOGIN")
        self.assertTrue(reply.startswith("+ "), reply)
        reply = c.cmd(base64.b64encode(USER.encode()).decode())
        self.assertTrue(reply.startswith("+ "), reply)
        c.assert_ok(c.cmd(base64.b64encode(PASSWORD.encode()).decode()))
        c.assert_ok(c.cmd("STAT"))
        c.assert_ok(c.cmd("QUIT"))
        c2 = self.client()
        resp = base64.b64encode(("\0%s\0%s" % (USER, PASSWORD)).encode())
        c2.assert_ok(c2.cmd("AUTH PLAIN " + resp.decode()))
        c2.assert_ok(c2.cmd("QUIT"))

    # ---- TRANSACTION state ----

    def test_transaction_commands(self):
        for raw in MESSAGES:
            self.put(raw)
        self.start()
        c = self.client()
        c.assert_ok(c.login())
        total = sum(vsize(m) for m in MESSAGES)
        self.assertEqual(c.cmd("STAT"), "+OK %d %d" % (len(MESSAGES),
                                                         total))
        c.assert_ok(c.cmd("LIST"))
        listing = c.multi().decode().split("\r\n")[:-1]
        self.assertEqual(listing, ["%d %d" % (i + 1, vsize(m))
                                   for i, m in enumerate(MESSAGES)])
        self.assertEqual(c.cmd("LIST 2"), "+OK 2 %d" % vsize(MESSAGES[1]))
        for bad in ("LIST 0", "LIST 6", "LIST x", "LIST -1", "LIST 1 2",
                    "RETR 0", "RETR 99", "TOP 1", "TOP 1 x", "DELE",
                    "USER bob", "PASS x", "STLS", "AUTH PLAIN", "BLAH"):
            reply = c.cmd(bad)
            self.assertTrue(reply.startswith("-ERR"), (bad, reply))
        for i, raw in enumerate(MESSAGES):
            self.assertEqual(c.cmd("RETR %d" % (i + 1)),
                             "+OK %d octets" % vsize(raw))
            got = b""
            while not got.endswith(b"\r\n.\r\n") and got != b".\r\n":
                got += c.line() + b"\r\n"
            self.assertEqual(got, wire(raw), "message %d" % (i + 1))
        c.assert_ok(c.cmd("TOP 2 0"))
        self.assertEqual(c.multi(), b"From: a@x\r\nSubject: dots\r\n\r\n")
        c.assert_ok(c.cmd("TOP 2 2"))
        self.assertEqual(c.multi(), b"From: a@x\r\nSubject: dots\r\n\r\n"
                         b".leading dot\r\n..two dots\r\n")
        c.assert_ok(c.cmd("UIDL"))
        uidls = c.multi().decode().split("\r\n")[:-1]
        self.assertEqual(len(uidls), len(MESSAGES))
        c.assert_ok(c.cmd("DELE 1"))
        self.assertTrue(c.cmd("DELE 1").startswith("-ERR"))
        self.assertTrue(c.cmd("RETR 1").startswith("-ERR"))
        self.assertTrue(c.cmd("LIST 1").startswith("-ERR"))
        self.assertEqual(c.cmd("STAT"), "+OK %d %d" % (
            len(MESSAGES) - 1, total - vsize(MESSAGES[0])))
        c.assert_ok(c.cmd("RSET"))
        self.assertEqual(c.cmd("STAT"), "+OK %d %d" % (len(MESSAGES),
                                                         total))
        c.assert_ok(c.cmd("NOOP"))
        c.assert_ok(c.cmd("QUIT"))
        self.assertEqual(len(self.files()), len(MESSAGES))

    def test_dele_quit_removes_drop_keeps(self):
        for raw in MESSAGES[:3]:
            self.put(raw)
        self.start()
        c = self.client()
        c.assert_ok(c.login())
        c.assert_ok(c.cmd("DELE 1"))
        c.assert_ok(c.cmd("DELE 3"))
        c.close()       # dropped: nothing removed
        time.sleep(0.5)
        self.assertEqual(len(self.files()), 3)
        c = self.client()
        c.assert_ok(c.login())
        c.assert_ok(c.cmd("DELE 1"))
        c.assert_ok(c.cmd("DELE 3"))
        c.assert_ok(c.cmd("QUIT"))
        self.assertEqual(len(self.files()), 1)
        c = self.client()
        c.assert_ok(c.login())
        self.assertEqual(c.cmd("STAT"),
                         "+OK 1 %d" % vsize(MESSAGES[1]))

    def test_uidl_stable(self):
        self.put(MESSAGES[0])
        self.put(MESSAGES[1])
        self.start()

        def uidls():
            c = self.client()
            c.assert_ok(c.login())
            c.assert_ok(c.cmd("UIDL"))
            u = [x.split()[1] for x in
                 c.multi().decode().split("\r\n")[:-1]]
            c.assert_ok(c.cmd("QUIT"))
            return u

        first = uidls()
        self.assertEqual(len(set(first)), 2)
        self.assertEqual(uidls(), first)
        self.put(MESSAGES[2])
        second = uidls()
        self.assertEqual(second[:2], first)
        self.assertNotIn(second[2], first)
        # Messages moved to cur/, the store's index exists.
        self.assertEqual(os.listdir(os.path.join(self.maildir, "new")), [])
        self.assertTrue(os.path.exists(os.path.join(self.maildir,
                                                    "correo-index")))

    def test_uidlist_migrated(self):
        # A mailbox from before the store: POP3's correo-uidlist gives
        # the UIDs, so the UIDLs clients remember do not change.
        a = self.put(MESSAGES[0])
        b = self.put(MESSAGES[1])
        for name in (a, b):
            os.rename(os.path.join(self.maildir, "new", name),
                      os.path.join(self.maildir, "cur", name + ":2,"))
        path = os.path.join(self.maildir, "correo-uidlist")
        with open(path, "w") as f:
            f.write("1 V1234567 N60\n41 :%s\n57 :%s\n" % (a, b))
        uid, gid = self.owner_ids()
        os.chown(path, uid, gid)
        self.put(MESSAGES[2])
        self.start()
        c = self.client()
        c.assert_ok(c.login())
        c.assert_ok(c.cmd("UIDL"))
        u = [x.split()[1] for x in c.multi().decode().split("\r\n")[:-1]]
        c.assert_ok(c.cmd("QUIT"))
        self.assertEqual(u, ["%08X%08X" % (41, 1234567),
                             "%08X%08X" % (57, 1234567),
                             "%08X%08X" % (60, 1234567)])

    def test_in_use(self):
        self.put(MESSAGES[0])
        self.start()
        a = self.client()
        a.assert_ok(a.login())
        b = self.client()
        reply = b.login()
        self.assertTrue(reply.startswith("-ERR [IN-USE]"), reply)
        a.assert_ok(a.cmd("QUIT"))
        time.sleep(0.2)
        c = self.client()
        c.assert_ok(c.login())

    def test_pipelining(self):
        self.put(MESSAGES[0])
        self.start()
        c = self.client()
        c.send(("USER %s\r\nPASS %s\r\nSTAT\r\nLIST\r\nQUIT\r\n"
                % (USER, PASSWORD)).encode())
        c.assert_ok(c.line().decode())
        c.assert_ok(c.line().decode())
        self.assertEqual(c.line().decode(), "+OK 1 %d" % vsize(MESSAGES[0]))
        c.assert_ok(c.line().decode())
        self.assertEqual(c.multi(), b"1 %d\r\n" % vsize(MESSAGES[0]))
        c.assert_ok(c.line().decode())

    # ---- TLS ----

    def test_stls_injection(self):
        self.start()
        c = self.client()
        c.send(b"STLS\r\nCAPA\r\n")
        c.assert_ok(c.line().decode())
        c.sock = self.ctx().wrap_socket(c.sock, server_hostname="localhost")
        c.sock.settimeout(1.0)
        try:
            data = c.sock.recv(100)
            self.fail("reply to injected command: %r" % data)
        except (socket.timeout, TimeoutError):
            pass
        c.sock.settimeout(15)
        self.assertTrue(c.cmd("STLS").startswith("-ERR"))
        c.assert_ok(c.login())

    def test_plaintext_refused_before_stls(self):
        self.start()
        c = self.client(self.ports["p111"])
        c.assert_ok(c.cmd("CAPA"))
        caps = c.multi().decode().split("\r\n")
        self.assertIn("STLS", caps)
        self.assertNotIn("USER", caps)
        for cmd in ("USER " + USER, "AUTH PLAIN"):
            reply = c.cmd(cmd)
            self.assertTrue(reply.startswith("-ERR [AUTH]"), reply)
        c.starttls(self.ctx())
        c.assert_ok(c.cmd("CAPA"))
        self.assertIn("USER", c.multi().decode().split("\r\n"))
        c.assert_ok(c.login())

    def test_poplib_stls_and_995(self):
        for raw in MESSAGES:
            self.put(raw)
        self.start()
        p = poplib.POP3("127.0.0.1", self.ports["p111"], timeout=15)
        p.stls(context=self.ctx())
        p.user(USER)
        p.pass_(PASSWORD)
        self.assertEqual(p.stat()[0], len(MESSAGES))
        resp, lines, octets = p.retr(2)
        self.assertIn(b".leading dot", lines)
        p.quit()
        self.inst.wait_for_port(self.ports["p995"])
        p = poplib.POP3_SSL("127.0.0.1", self.ports["p995"],
                            context=self.ctx(), timeout=15)
        p.user(USER)
        p.pass_(PASSWORD)
        self.assertEqual(len(p.uidl()[1]), len(MESSAGES))
        for i in range(len(MESSAGES)):
            resp, lines, octets = p.retr(i + 1)
            p.dele(i + 1)
        p.quit()
        self.assertEqual(self.files(), [])

    # ---- real clients ----

    def client_home(self, prefix):
        """A home directory for a real client, owned by whoever runs it
        (clients refuse to deliver as root)."""
        home = tempfile.mkdtemp(prefix=prefix)
        self.addCleanup(shutil.rmtree, home, True)
        return home

    def run_client(self, args, home):
        env = dict(os.environ, HOME=home)
        kw = {}
        user = self.inst.user
        if user is not None:
            self.chown_tree(self.inst, home)
            kw = dict(user=user.pw_uid, group=user.pw_gid, extra_groups=[])
        # A bound against hangs, not a speed test: a sanitizer build on
        # a loaded machine once needed more than 60 s (getmail6).
        return subprocess.run(args, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True,
                              timeout=180, env=env, cwd=home, **kw)

    def test_fetchmail(self):
        fetchmail = shutil.which("fetchmail")
        if fetchmail is None:
            self.skipTest("fetchmail not installed")
        for raw in MESSAGES[:3]:
            self.put(raw)
        self.start()
        home = self.client_home("fetchmail-")
        out = os.path.join(home, "out.mbox")
        rc = os.path.join(home, ".fetchmailrc")
        with open(rc, "w") as f:
            f.write('poll 127.0.0.1 service %d protocol pop3 uidl\n'
                    '  user "%s" password "%s" sslproto "TLS1.2+"\n'
                    '  no sslcertck\n'
                    '  mda "/bin/sh -c \'cat >> %s\'"\n'
                    % (self.ports["p111"], USER, PASSWORD, out))
        os.chmod(rc, 0o600)
        r = self.run_client([fetchmail, "-f", rc, "--nodetach",
                             "--nosyslog", "-v"], home)
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertIn("STLS", r.stdout)
        with open(out, "rb") as f:
            got = f.read()
        self.assertIn(b"Subject: dots", got)
        self.assertIn(b"caf\xc3\xa9", got)
        self.assertEqual(self.files(), [])

    def test_getmail6(self):
        getmail = shutil.which("getmail")
        if getmail is None:
            self.skipTest("getmail6 not installed")
        for raw in MESSAGES[:3]:
            self.put(raw)
        self.start()
        home = self.client_home("getmail-")
        md = os.path.join(home, "Maildir")
        for d in ("tmp", "new", "cur"):
            os.makedirs(os.path.join(md, d))
        with open(os.path.join(home, "getmailrc"), "w") as f:
            f.write("[retriever]\ntype = SimplePOP3SSLRetriever\n"
                    "server = 127.0.0.1\nport = %d\nusername = %s\n"
                    "password = %s\n\n[destination]\ntype = Maildir\n"
                    "path = %s/\n\n[options]\ndelete = true\n"
                    "read_all = true\n" % (self.ports["p995"], USER,
                                          PASSWORD, md))
        r = self.run_client([getmail, "--getmaildir", home, "--rcfile",
                             "getmailrc"], home)
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertEqual(len(os.listdir(os.path.join(md, "new"))), 3)
        self.assertEqual(self.files(), [])

    # ---- privilege separation ----

    def test_root_mode_users_and_chroot(self):
        if not harness.is_root():
            self.skipTest("needs root")
        subprocess.run(["/usr/sbin/useradd", "--system", "--no-create-home",
                        "--home-dir", "/nonexistent", "--shell",
                        "/usr/sbin/nologin", "correo-login"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        inst = self.make_instance(root_mode=True)
        self.put(MESSAGES[0])
        self.start()
        c = self.client()
        c.assert_ok(c.login())
        c.assert_ok(c.cmd("STAT"))
        login_uid = pwd.getpwnam("correo-login").pw_uid
        owner_uid = self.owner_ids()[0]
        self.assertNotEqual(login_uid, owner_uid)
        fronts = inst.children("pop3-login")
        self.assertTrue(fronts)
        for p in fronts:
            self.assertEqual(p["uid"], login_uid, p)
            self.assertTrue(p["root"].endswith("/queue/empty"), p)
            self.assertEqual(os.listdir("/proc/%d/root/" % p["pid"]), [])
        sessions = [p for p in inst.children("pop3d")
                    if p["uid"] == owner_uid]
        self.assertTrue(sessions, "no pop3d process running as the owner")
        c.assert_ok(c.cmd("QUIT"))


if __name__ == "__main__":
    harness.main()
