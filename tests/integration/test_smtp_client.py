"""Integration tests of the smtp/lmtp client (libexec/smtp).

The agent runs in a real instance (services.conf: smtp and lmtp rows
only) and is driven the way qmgr drives it: a "deliver" request over
queue/private/smtp naming a queue file this test writes itself (the
format of common/queue_file.c). The other side is a scripted fake
SMTP/LMTP server in this file that records every byte it receives, so
the tests check both the replies to qmgr and what went over the wire:
CRLF and dot-stuffing, pipelining, SIZE, HELO fallback, per-recipient
replies, timeouts, dropped connections, connection reuse, STARTTLS.

Run by "make check" (CORREO_BUILDDIR set); see harness.py."""

import os
import random
import socket
import socketserver
import ssl
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import AttrClient  # noqa: E402

SERVICES = """\
# service type private user chroot wakeup maxproc command
smtp unix - - n - 4 smtp
lmtp unix - - n - 4 smtp
"""

CONFIG = {
    "smtp_connect_timeout": "2s",
    "smtp_helo_timeout": "2s",
    "smtp_mail_timeout": "2s",
    "smtp_rcpt_timeout": "2s",
    "smtp_data_init_timeout": "2s",
    "smtp_data_xfer_timeout": "2s",
    "smtp_data_done_timeout": "2s",
    "smtp_quit_timeout": "2s",
    "lmtp_data_done_timeout": "2s",
    "smtp_helo_name": "client.test",
    "lmtp_lhlo_name": "client.test",
    "service_throttle_time": "1s",
}

ID_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


# ---- a queue file writer (common/queue_file.c) --------------------------

def record(rtype, data):
    return rtype + str(len(data)).encode() + b":" + data + b"\n"


def queue_file_bytes(sender, rcpts, content, attrs=()):
    """rcpts: list of addresses or (address, orig) pairs."""
    env = record(b"T", b"%d.%06d" % (int(time.time()), 0))
    env += record(b"S", sender.encode())
    for name, value in attrs:
        env += record(b"A", ("%s=%s" % (name, value)).encode())
    for r in rcpts:
        addr, orig = (r, "") if isinstance(r, str) else r
        data = b"R0" + str(len(orig)).encode() + b":" + orig.encode() + \
            addr.encode()
        env += record(b"R", data)
    env += record(b"E", b"")
    offset = 46 + len(env)
    header = b"CORREO-Q 1 %012d %012d %08d\n" % (offset, len(content),
                                                  len(rcpts))
    assert len(header) == 46
    return header + env + content


def new_queue_id():
    return "".join(random.choice(ID_ALPHABET) for _ in range(18))


# ---- the fake server ----------------------------------------------------

class Script:
    """What the fake server does. Replies are full lines without CRLF."""

    def __init__(self, **kw):
        self.greeting = "220 fake.test ESMTP"
        self.ehlo = True            # False: 502 to EHLO
        self.pipelining = True
        self.size = 10240000        # SIZE to announce (None: no SIZE)
        self.eightbit = True
        self.dsn = False
        self.starttls = False
        self.mail_reply = "250 2.1.0 Ok"
        self.rcpt_replies = {}      # address -> reply (default 250)
        self.data_reply = "354 go ahead"
        self.done_reply = "250 2.0.0 Ok: queued as ABC"
        self.lmtp_replies = {}      # address -> reply after "."
        self.stall_greeting = False
        self.stall_done = False
        self.drop_in_data = None    # close after this many data bytes
        self.close_after_done = False   # hang up after the "." reply
        self.rset_reply = "250 2.0.0 Ok"
        self.lmtp = False
        self.__dict__.update(kw)


class Session:
    def __init__(self):
        self.commands = []          # command lines, CRLF stripped
        self.rset_ahead = []        # input already sent behind each RSET
        self.data = []              # raw bytes of each DATA, with "."
        self.raw = b""              # everything received
        self.tls = False


class FakeHandler(socketserver.StreamRequestHandler):
    def setup(self):
        super().setup()
        self.sess = Session()
        self.server.sessions.append(self.sess)
        self.script = self.server.script

    def send(self, line):
        self.wfile.write(line.encode() + b"\r\n")
        self.wfile.flush()

    def input_ahead(self):
        """What the client sent behind the line just read, without
        waiting for more (b"" if it is waiting for our reply)."""
        self.request.setblocking(False)
        try:
            return self.rfile.peek(1)
        except OSError:
            return b""
        finally:
            self.request.setblocking(True)

    def readline(self):
        line = self.rfile.readline(4096)
        self.sess.raw += line
        return line

    def ehlo_lines(self, name):
        ext = []
        if self.script.pipelining:
            ext.append("PIPELINING")
        if self.script.size is not None:
            ext.append("SIZE %d" % self.script.size)
        if self.script.eightbit:
            ext.append("8BITMIME")
        if self.script.dsn:
            ext.append("DSN")
        if self.script.starttls and not self.sess.tls:
            ext.append("STARTTLS")
        ext.append("ENHANCEDSTATUSCODES")
        lines = ["fake.test hello " + name] + ext
        return ["250%s%s" % ("-" if i < len(lines) - 1 else " ", t)
                for i, t in enumerate(lines)]

    def starttls(self):
        self.send("220 2.0.0 Ready to start TLS")
        self.wfile.flush()
        sock = self.server.tls_ctx.wrap_socket(self.request,
                                               server_side=True)
        self.request = sock
        self.rfile = sock.makefile("rb")
        self.wfile = sock.makefile("wb")
        self.sess.tls = True

    def read_data(self):
        buf = b""
        while not buf.endswith(b"\r\n.\r\n") and buf != b".\r\n":
            chunk = self.readline()
            if not chunk:
                return None
            buf += chunk
            if (self.script.drop_in_data is not None and
                    len(buf) >= self.script.drop_in_data):
                return None
        self.sess.data.append(buf)
        return buf

    def handle(self):
        try:
            self.serve()
        except (OSError, ssl.SSLError):
            pass

    def serve(self):
        sc = self.script
        if sc.stall_greeting:
            time.sleep(5)
            return
        self.send(sc.greeting)
        rcpts = []
        mail_ok = False
        while True:
            line = self.readline()
            if not line:
                return
            cmd = line.rstrip(b"\r\n").decode()
            self.sess.commands.append(cmd)
            verb = cmd.split(" ")[0].upper()
            if verb in ("EHLO", "LHLO"):
                if not sc.ehlo:
                    self.send("502 5.5.2 Error: command not recognized")
                    continue
                for ln in self.ehlo_lines(cmd[5:]):
                    self.send(ln)
            elif verb == "HELO":
                self.send("250 fake.test")
            elif verb == "STARTTLS":
                self.starttls()
            elif verb == "MAIL":
                rcpts = []
                mail_ok = sc.mail_reply.startswith("2")
                self.send(sc.mail_reply)
            elif verb == "RCPT":
                addr = cmd[cmd.index("<") + 1:cmd.index(">")]
                reply = sc.rcpt_replies.get(addr, "250 2.1.5 Ok")
                if not mail_ok:
                    reply = "503 5.5.1 Error: need MAIL command"
                if reply.startswith("2"):
                    rcpts.append(addr)
                self.send(reply)
            elif verb == "DATA":
                if not rcpts:
                    self.send("554 5.5.1 Error: no valid recipients")
                    continue
                self.send(sc.data_reply)
                if not sc.data_reply.startswith("354"):
                    continue
                if self.read_data() is None:
                    return
                if sc.stall_done:
                    time.sleep(5)
                    return
                if sc.lmtp:
                    for r in rcpts:
                        self.send(sc.lmtp_replies.get(
                            r, "250 2.0.0 <%s> delivered" % r))
                else:
                    self.send(sc.done_reply)
                if sc.close_after_done:
                    return
            elif verb == "RSET":
                rcpts = []
                self.sess.rset_ahead.append(self.input_ahead())
                self.send(sc.rset_reply)
            elif verb == "QUIT":
                self.send("221 2.0.0 Bye")
                return
            else:
                self.send("502 5.5.2 Error: command not recognized")


class FakeTCPServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


class FakeUnixServer(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True


def start_fake(script, port=None, unix_path=None, tls_ctx=None):
    if unix_path is not None:
        srv = FakeUnixServer(unix_path, FakeHandler)
        os.chmod(unix_path, 0o777)
    else:
        srv = FakeTCPServer(("127.0.0.1", port), FakeHandler)
    srv.script = script
    srv.sessions = []
    srv.tls_ctx = tls_ctx
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    return srv


# ---- the tests ----------------------------------------------------------

class SmtpClientTest(harness.TestCase):
    def setUp(self):
        harness.require_daemons(self, "smtp")
        self.inst = self.instance(services=SERVICES, config=CONFIG)
        self.inst.start()
        self.servers = []

    def tearDown(self):
        for s in self.servers:
            s.shutdown()
            s.server_close()

    def fake(self, script, n=1, **kw):
        port = self.inst.port(n)
        srv = start_fake(script, port=port, **kw)
        self.servers.append(srv)
        return srv, port

    def fake_unix(self, script):
        path = os.path.join(self.inst.tmp, "lmtp.sock")
        srv = start_fake(script, unix_path=path)
        self.servers.append(srv)
        return srv, path

    def queue_file(self, sender, rcpts, content, attrs=()):
        qid = new_queue_id()
        path = os.path.join(self.inst.queue, "active", qid)
        with open(path, "wb") as f:
            f.write(queue_file_bytes(sender, rcpts, content, attrs))
        if self.inst.user is not None:
            os.chown(path, self.inst.user.pw_uid, self.inst.user.pw_gid)
        return qid

    def connect(self, service="smtp"):
        path = self.inst.wait_for_unix(service)
        c = AttrClient.unix(path, timeout=30)
        c.hello("delivery")
        self.addCleanup(c.close)
        return c

    def deliver(self, client, qid, sender, rcpts, nexthop, extra=(),
                rcpt_extra=None):
        attrs = [("request", "deliver"), ("queue_id", qid),
                 ("queue_file", "active/" + qid), ("sender", sender),
                 ("nexthop", nexthop)] + list(extra)
        for i, r in enumerate(rcpts):
            attrs += [("recipient", r), ("orig_recipient", r),
                      ("rcpt_index", str(i))]
            attrs += (rcpt_extra or {}).get(r, [])
        reply = client.request(attrs)
        self.assertIsNotNone(reply, "agent closed the connection"
                             + self.inst.log_tail())
        return reply

    @staticmethod
    def results(reply):
        """{rcpt_index: {attr: value}} plus the head attributes."""
        head, out, cur = {}, {}, None
        for name, value in reply:
            if name == "rcpt_index":
                cur = out.setdefault(int(value), {})
            elif cur is None:
                head[name] = value
            else:
                cur[name] = value
        return head, out

    def one(self, script, rcpts, content, sender="alice@alice.test",
            nexthop=None, **kw):
        srv, port = self.fake(script)
        qid = self.queue_file(sender, rcpts, content)
        c = self.connect()
        reply = self.deliver(c, qid, sender, rcpts,
                             nexthop or "[127.0.0.1]:%d" % port, **kw)
        head, res = self.results(reply)
        self.assertEqual(head.get("status"), "ok", reply)
        return srv, port, head, res

    # -- the tests --

    def test_delivers_with_pipelining_and_per_rcpt_replies(self):
        content = b"Subject: t\n\n.hello\nline\n..two\n.\nend"
        script = Script(rcpt_replies={
            "nobody@bob.test": "550 5.1.1 <nobody@bob.test>: User unknown"})
        srv, port, head, res = self.one(
            script, ["bob@bob.test", "nobody@bob.test"], content)
        self.assertEqual(res[0]["rcpt_status"], "ok", res)
        self.assertEqual(res[0]["dsn"], "2.0.0")
        self.assertEqual(res[0]["reason"], "250 2.0.0 Ok: queued as ABC")
        self.assertEqual(res[0]["relay"], "127.0.0.1[127.0.0.1]:%d" % port)
        self.assertEqual(res[1]["rcpt_status"], "bounce")
        self.assertEqual(res[1]["dsn"], "5.1.1")
        self.assertEqual(res[1]["reason"],
                         "host 127.0.0.1[127.0.0.1] said: 550 5.1.1 "
                         "<nobody@bob.test>: User unknown (in reply to "
                         "RCPT TO command)")
        self.assertNotIn("dest_status", head)
        sess = srv.sessions[0]
        self.assertEqual(sess.commands[0], "EHLO client.test")
        self.assertEqual(sess.commands[1:5], [
            "MAIL FROM:<alice@alice.test> SIZE=%d" % len(content),
            "RCPT TO:<bob@bob.test>", "RCPT TO:<nobody@bob.test>", "DATA"])
        self.assertEqual(sess.data, [
            b"Subject: t\r\n\r\n..hello\r\nline\r\n...two\r\n..\r\n"
            b"end\r\n.\r\n"])

    def test_helo_fallback_without_pipelining(self):
        script = Script(ehlo=False, rcpt_replies={
            "later@bob.test": "451 try again later"})
        srv, port, head, res = self.one(
            script, ["bob@bob.test", "later@bob.test"], b"hi\n",
            sender="")
        self.assertEqual(res[0]["rcpt_status"], "ok")
        self.assertEqual(res[1]["rcpt_status"], "defer")
        self.assertEqual(res[1]["dsn"], "4.0.0")
        cmds = srv.sessions[0].commands
        self.assertEqual(cmds[:3], ["EHLO client.test", "HELO client.test",
                                    "MAIL FROM:<>"])
        self.assertEqual(srv.sessions[0].data, [b"hi\r\n.\r\n"])

    def test_size_limit_bounces_before_mail(self):
        script = Script(size=10)
        srv, port, head, res = self.one(script, ["bob@bob.test"],
                                        b"x" * 100 + b"\n")
        self.assertEqual(res[0]["rcpt_status"], "bounce")
        self.assertEqual(res[0]["dsn"], "5.3.4")
        self.assertIn("exceeds size limit 10", res[0]["reason"])
        self.assertFalse(any(c.startswith("MAIL")
                             for c in srv.sessions[0].commands))

    def test_mail_refused_pipelined(self):
        script = Script(mail_reply="553 5.7.1 sender rejected")
        srv, port, head, res = self.one(
            script, ["a@bob.test", "b@bob.test"], b"x\n")
        for r in res.values():
            self.assertEqual(r["rcpt_status"], "bounce")
            self.assertEqual(r["dsn"], "5.7.1")
            self.assertIn("(in reply to MAIL FROM command)", r["reason"])
        self.assertEqual(srv.sessions[0].data, [])

    def test_dropped_mid_data_defers(self):
        content = b"".join(b"line %d\n" % i for i in range(20000))
        script = Script(drop_in_data=1000)
        srv, port, head, res = self.one(script, ["bob@bob.test"], content)
        self.assertEqual(res[0]["rcpt_status"], "defer", res)
        self.assertTrue(res[0]["dsn"].startswith("4."))
        self.assertIn("lost connection with 127.0.0.1[127.0.0.1]",
                      res[0]["reason"])

    def test_stalled_greeting_times_out(self):
        script = Script(stall_greeting=True)
        t0 = time.monotonic()
        srv, port, head, res = self.one(script, ["bob@bob.test"], b"x\n")
        self.assertLess(time.monotonic() - t0, 4.5)
        self.assertEqual(res[0]["rcpt_status"], "defer")
        self.assertEqual(res[0]["reason"],
                         "conversation with 127.0.0.1[127.0.0.1] timed out"
                         " while receiving the initial server greeting")
        self.assertEqual(head.get("dest_status"), "defer")

    def test_stall_after_dot_times_out(self):
        script = Script(stall_done=True)
        srv, port, head, res = self.one(script, ["bob@bob.test"], b"x\n")
        self.assertEqual(res[0]["rcpt_status"], "defer")
        self.assertIn("timed out while sending end of data",
                      res[0]["reason"])

    def test_connection_refused(self):
        port = self.inst.port(7)       # nobody listens there
        qid = self.queue_file("a@alice.test", ["bob@bob.test"], b"x\n")
        c = self.connect()
        head, res = self.results(self.deliver(
            c, qid, "a@alice.test", ["bob@bob.test"],
            "[127.0.0.1]:%d" % port))
        self.assertEqual(head.get("dest_status"), "defer")
        self.assertEqual(res[0]["rcpt_status"], "defer")
        self.assertEqual(res[0]["reason"],
                         "connect to 127.0.0.1[127.0.0.1]:%d: Connection "
                         "refused" % port)
        self.assertEqual(res[0]["relay"], "none")

    def test_connection_reused_with_rset(self):
        srv, port = self.fake(Script(pipelining=False))
        c = self.connect()
        for n in range(3):
            qid = self.queue_file("a@alice.test", ["bob@bob.test"],
                                  b"msg %d\n" % n)
            head, res = self.results(self.deliver(
                c, qid, "a@alice.test", ["bob@bob.test"],
                "[127.0.0.1]:%d" % port))
            self.assertEqual(res[0]["rcpt_status"], "ok", res)
        self.assertEqual(len(srv.sessions), 1)
        cmds = srv.sessions[0].commands
        self.assertEqual(cmds.count("RSET"), 2)
        # Without PIPELINING each RSET is answered before MAIL is sent.
        self.assertEqual(srv.sessions[0].rset_ahead, [b"", b""])
        self.assertEqual(srv.sessions[0].data,
                         [b"msg %d\r\n.\r\n" % n for n in range(3)])

    def test_reused_session_rset_pipelined_with_mail(self):
        srv, port = self.fake(Script())
        c = self.connect()
        for n in range(2):
            qid = self.queue_file("a@alice.test", ["bob@bob.test"],
                                  b"msg %d\n" % n)
            head, res = self.results(self.deliver(
                c, qid, "a@alice.test", ["bob@bob.test"],
                "[127.0.0.1]:%d" % port))
            self.assertEqual(res[0]["rcpt_status"], "ok", res)
        self.assertEqual(len(srv.sessions), 1)
        sess = srv.sessions[0]
        i = sess.commands.index("RSET")
        self.assertTrue(sess.commands[i + 1].startswith(
            "MAIL FROM:<a@alice.test>"))
        self.assertEqual(sess.commands[i + 2:i + 4],
                         ["RCPT TO:<bob@bob.test>", "DATA"])
        # No round trip of its own: MAIL was already on its way.
        self.assertEqual(len(sess.rset_ahead), 1)
        self.assertTrue(sess.rset_ahead[0].startswith(b"MAIL FROM:"),
                        sess.rset_ahead)

    def stale_then_fresh(self, script):
        """Two deliveries where the cached session is no good: the
        second must go out on a new session, delivered once."""
        srv, port = self.fake(script)
        c = self.connect()
        for n in range(2):
            qid = self.queue_file("a@alice.test", ["bob@bob.test"],
                                  b"msg %d\n" % n)
            head, res = self.results(self.deliver(
                c, qid, "a@alice.test", ["bob@bob.test"],
                "[127.0.0.1]:%d" % port))
            self.assertEqual(res[0]["rcpt_status"], "ok", res)
            self.assertNotIn("dest_status", head)
        self.assertEqual(len(srv.sessions), 2)
        self.assertEqual(srv.sessions[0].data, [b"msg 0\r\n.\r\n"])
        self.assertEqual(srv.sessions[1].data, [b"msg 1\r\n.\r\n"])
        self.assertNotIn("RSET", srv.sessions[1].commands)
        return srv

    def test_cached_session_closed_by_server_is_replaced(self):
        self.stale_then_fresh(Script(close_after_done=True))

    def test_cached_session_refusing_rset_is_replaced(self):
        srv = self.stale_then_fresh(Script(
            rset_reply="421 4.3.2 Shutting down"))
        # The envelope pipelined behind the refused RSET went nowhere.
        self.assertIn("RSET", srv.sessions[0].commands)

    def test_dsn_parameters_when_offered(self):
        script = Script(dsn=True)
        srv, port = self.fake(script)
        qid = self.queue_file("a@alice.test", ["bob@bob.test"], b"x\n")
        c = self.connect()
        head, res = self.results(self.deliver(
            c, qid, "a@alice.test", ["bob@bob.test"],
            "[127.0.0.1]:%d" % port,
            extra=[("ret", "HDRS"), ("envid", "id+1 x")],
            rcpt_extra={"bob@bob.test": [("notify", "SUCCESS,FAILURE"),
                                         ("orcpt", "Bob=@bob.test")]}))
        self.assertEqual(res[0]["rcpt_status"], "ok")
        cmds = srv.sessions[0].commands
        self.assertEqual(cmds[1], "MAIL FROM:<a@alice.test> SIZE=2 "
                         "RET=HDRS ENVID=id+2B1+20x")
        self.assertEqual(cmds[2], "RCPT TO:<bob@bob.test> "
                         "NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;Bob+3D@bob.test")

    def test_malformed_request(self):
        c = self.connect()
        reply = c.request([("request", "deliver"), ("queue_id", "x"),
                           ("queue_file", "../etc/passwd"),
                           ("sender", ""), ("nexthop", "[127.0.0.1]"),
                           ("recipient", "a@b"), ("orig_recipient", "a@b"),
                           ("rcpt_index", "0")])
        self.assertEqual(dict(reply).get("status"), "error")

    def test_lmtp_unix_per_recipient_replies(self):
        script = Script(lmtp=True, pipelining=True, lmtp_replies={
            "full@store.test": "452 4.2.2 Mailbox full"})
        srv, path = self.fake_unix(script)
        rcpts = ["a@store.test", "full@store.test", "b@store.test"]
        qid = self.queue_file("x@alice.test", rcpts, b"body\n")
        c = self.connect("lmtp")
        head, res = self.results(self.deliver(
            c, qid, "x@alice.test", rcpts, "unix:" + path))
        self.assertEqual([res[i]["rcpt_status"] for i in range(3)],
                         ["ok", "defer", "ok"], res)
        self.assertEqual(res[1]["dsn"], "4.2.2")
        self.assertIn("(in reply to end of DATA command)", res[1]["reason"])
        self.assertEqual(res[0]["relay"], path)
        self.assertEqual(srv.sessions[0].commands[0], "LHLO client.test")

    def make_cert(self):
        d = tempfile.mkdtemp(dir=self.inst.tmp)
        key, cert = os.path.join(d, "k.pem"), os.path.join(d, "c.pem")
        r = subprocess.run(["openssl", "req", "-x509", "-newkey",
                            "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                            "-nodes", "-keyout", key, "-out", cert,
                            "-days", "2", "-subj", "/CN=fake.test"],
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        if r.returncode != 0:
            self.skipTest("openssl cannot make a certificate")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        return ctx

    def test_opportunistic_starttls(self):
        ctx = self.make_cert()
        script = Script(starttls=True)
        srv, port = self.fake(script, tls_ctx=ctx)
        qid = self.queue_file("a@alice.test", ["bob@bob.test"], b"x\n")
        c = self.connect()
        head, res = self.results(self.deliver(
            c, qid, "a@alice.test", ["bob@bob.test"],
            "[127.0.0.1]:%d" % port))
        self.assertEqual(res[0]["rcpt_status"], "ok", res)
        sess = srv.sessions[0]
        self.assertTrue(sess.tls)
        self.assertEqual(sess.commands[:3], ["EHLO client.test", "STARTTLS",
                                             "EHLO client.test"])
        self.assertEqual(sess.data, [b"x\r\n.\r\n"])

    def test_required_tls_not_offered_defers(self):
        self.inst.add_config({"smtp_tls_security_level": "encrypt"})
        self.inst.reload()
        time.sleep(0.5)
        srv, port = self.fake(Script(starttls=False))
        qid = self.queue_file("a@alice.test", ["bob@bob.test"], b"x\n")
        c = self.connect()
        head, res = self.results(self.deliver(
            c, qid, "a@alice.test", ["bob@bob.test"],
            "[127.0.0.1]:%d" % port))
        self.assertEqual(res[0]["rcpt_status"], "defer", res)
        self.assertIn("TLS is required, but was not offered by host "
                      "127.0.0.1[127.0.0.1]", res[0]["reason"])
        self.assertFalse(any(cmd.startswith("MAIL")
                             for cmd in srv.sessions[0].commands))


if __name__ == "__main__":
    harness.main()
