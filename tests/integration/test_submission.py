#!/usr/bin/env python3
"""smtpd with TLS and AUTH: STARTTLS (RFC 3207) and its plaintext
injection defence (CVE-2011-0411), the submission services on 587
(STARTTLS, then AUTH, then MAIL) and 465 (implicit TLS), AUTH PLAIN and
LOGIN relayed to the auth service (RFC 4954 replies), relaying and
sender ownership after login, Message-ID/Date on submitted mail, and the
DSN parameters (RFC 3461) as they land in the queue file.

One instance serves every test: smtpd on four ports, auth, no qmgr, so
accepted messages stay in queue/incoming/ to be read back.
"""
import base64
import os
import re
import shutil
import smtplib
import socket
import ssl
import subprocess
import unittest

import harness
from harness import Instance

PASSWORD = "s3cret horse"
ALICE_PASSWORD = "alice pw 42"

CONFIG = {
    "mynetworks": "127.0.0.1/32",
    "smtpd_error_sleep_time": "0",
    "smtpd_timeout": "10s",
    "smtpd_hard_error_limit": "50",
    "auth_failure_delay": "100ms",
    "auth_failure_delay_max": "200ms",
    "auth_lockout_threshold": "0",
    "auth_lockout_address_threshold": "0",
    "smtpd_sender_login_maps": "texthash:$config_directory/sender_logins",
}

SUBMIT_OPTS = "-o smtpd_sasl_auth_enable=yes -o smtpd_require_auth=yes"


def b64(text):
    return base64.b64encode(text.encode()).decode()


def plain(user, password):
    return b64("\0%s\0%s" % (user, password))


def tls_context():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def parse_queue_file(data):
    """(records, content) of a queue file (common/queue_file.c): records
    is a list of (type, data bytes)."""
    head = data[:46].split()
    assert head[0] == b"CORREO-Q", head
    off, length = int(head[2]), int(head[3])
    pos, records = 46, []
    while pos < off:
        typ = data[pos:pos + 1]
        colon = data.index(b":", pos)
        n = int(data[pos + 1:colon])
        records.append((typ.decode(), data[colon + 1:colon + 1 + n]))
        assert data[colon + 1 + n:colon + 2 + n] == b"\n"
        pos = colon + 2 + n
    return records, data[off:off + length]


def envelope(records):
    """dict: sender, attrs (name -> value), rcpts (list of dicts)."""
    out = dict(sender=None, attrs={}, rcpts=[])
    for typ, d in records:
        d = d.decode()
        if typ == "S":
            out["sender"] = d
        elif typ == "A":
            k, _, v = d.partition("=")
            out["attrs"][k] = v
        elif typ == "R":
            notify = int(d[1], 16)
            olen, _, rest = d[2:].partition(":")
            olen = int(olen)
            out["rcpts"].append(dict(status=d[0], notify=notify,
                                     orig=rest[:olen],
                                     address=rest[olen:]))
    return out


class Raw(harness.SmtpRaw):
    """harness.SmtpRaw with this test's TLS context."""

    def __init__(self, port, source="127.0.0.1", implicit=False):
        super().__init__(port, source,
                         tls=tls_context() if implicit else None)

    def starttls(self):
        super().starttls(tls_context())


class SubmissionTest(harness.TestCase):
    @classmethod
    def setUpClass(cls):
        for d in ("smtpd", "auth"):
            if not harness.have_daemon(d):
                raise unittest.SkipTest(d + " not built")
        cls.inst = inst = Instance(config=CONFIG, init=True)
        cls.mx = inst.smtp_port
        cls.sub = inst.port(587)
        cls.smtps = inst.port(465)
        cls.opt = inst.port(26)     # AUTH optional, STARTTLS may
        cls.clear = inst.port(27)   # AUTH allowed without TLS
        cls.slow = inst.port(28)    # a short smtpd_timeout
        inst.set_services(
            "127.0.0.1:%d inet n - n - 10 smtpd\n"
            "127.0.0.1:%d inet n - n - 10 smtpd"
            " -o smtpd_tls_security_level=encrypt %s\n"
            "127.0.0.1:%d inet n - n - 10 smtpd"
            " -o smtpd_tls_wrappermode=yes %s\n"
            "127.0.0.1:%d inet n - n - 10 smtpd"
            " -o smtpd_sasl_auth_enable=yes\n"
            "127.0.0.1:%d inet n - n - 10 smtpd"
            " -o smtpd_sasl_auth_enable=yes -o smtpd_tls_auth_only=no\n"
            "127.0.0.1:%d inet n - n - 10 smtpd -o smtpd_timeout=2s\n"
            "auth unix - - n - 1 auth\n"
            % (cls.mx, cls.sub, SUBMIT_OPTS, cls.smtps, SUBMIT_OPTS,
               cls.opt, cls.clear, cls.slow))
        with open(os.path.join(inst.dir, "sender_logins"), "w") as f:
            f.write("sales@demo.test bob@demo.test, carol@demo.test\n"
                    "@shared.example alice@demo.test\n")
        for user, pw in (("bob@demo.test", PASSWORD),
                         ("alice@demo.test", ALICE_PASSWORD)):
            r = cls.correo_stdin(["user", "add", user, "--password-stdin"],
                                 pw + "\n")
            if r.returncode != 0:
                raise AssertionError("correo user add: %s%s"
                                     % (r.stdout, r.stderr))
        inst.start()
        for port in (cls.mx, cls.sub, cls.smtps, cls.opt, cls.clear,
                     cls.slow):
            inst.wait_for_port(port)
        inst.wait_for_unix("auth")

    @classmethod
    def tearDownClass(cls):
        cls.inst.cleanup()

    @classmethod
    def correo_stdin(cls, args, text):
        inst = cls.inst
        kw = {}
        if inst.user is not None:
            kw = dict(user=inst.user.pw_uid, group=inst.user.pw_gid,
                      extra_groups=[])
        return subprocess.run(
            [inst.correo_path(), "-c", inst.dir] + args, input=text,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            timeout=60, cwd=inst.tmp, **kw)

    def setUp(self):
        self.before = set(self.queue_files())

    def queue_files(self):
        return harness.queue_ids(self.inst.queue, "incoming")

    def new_files(self):
        return sorted(set(self.queue_files()) - self.before)

    def queued(self, qid=None):
        new = self.new_files() if qid is None else [qid]
        self.assertEqual(len(new), 1, new)
        with open(os.path.join(self.inst.queue, "incoming", new[0]),
                  "rb") as f:
            records, content = parse_queue_file(f.read())
        return new[0], envelope(records), content

    def raw(self, port, **kw):
        r = Raw(port, **kw)
        self.addCleanup(r.close)
        self.assertEqual(r.greeting[0], 220, r.greeting)
        return r

    def logged_in(self, port=None, user="bob@demo.test", password=PASSWORD):
        r = self.raw(port or self.sub)
        r.cmd("EHLO client.example")
        r.starttls()
        r.cmd("EHLO client.example")
        code, text = r.cmd("AUTH PLAIN " + plain(user, password))
        self.assertEqual(text, "235 2.7.0 Authentication successful")
        return r

    # -- STARTTLS --

    def test_timeout_reply_over_tls(self):
        # After STARTTLS the 421 for a timeout is a TLS record; written
        # as plaintext it broke the client's TLS stream instead.
        r = self.raw(self.slow)
        r.cmd("EHLO client.example")
        r.starttls()
        self.assertEqual(r.cmd("EHLO client.example")[0], 250)
        r.s.settimeout(10)
        self.assertRegex(r.reply()[1],
                         r"^421 4\.4\.2 \S+ Error: timeout exceeded$")
        self.inst.wait_for_log(r"timeout after EHLO from ")

    def test_starttls_smtplib(self):
        with smtplib.SMTP("127.0.0.1", self.sub, timeout=10) as s:
            s.ehlo("lib.example")
            self.assertTrue(s.has_extn("starttls"))
            self.assertFalse(s.has_extn("auth"))
            self.assertTrue(s.has_extn("dsn"))
            s.starttls(context=tls_context())
            s.ehlo("lib.example")
            self.assertFalse(s.has_extn("starttls"))
            self.assertEqual(s.esmtp_features["auth"].split(),
                             ["PLAIN", "LOGIN"])
        self.inst.wait_for_log(
            r"Anonymous TLS connection established from "
            r"unknown\[127\.0\.0\.1\]: TLSv1\.[23] with cipher \S+")
        # Port 25 offers STARTTLS but, without smtpd_sasl_auth_enable,
        # never AUTH.
        with smtplib.SMTP("127.0.0.1", self.mx, timeout=10) as s:
            s.ehlo("lib.example")
            self.assertTrue(s.has_extn("starttls"))
            s.starttls(context=tls_context())
            s.ehlo("lib.example")
            self.assertFalse(s.has_extn("auth"))

    def test_starttls_discards_pipelined_plaintext(self):
        r = self.raw(self.mx)
        r.cmd("EHLO inject.example")
        # The RSET rides in the same segment as STARTTLS: a man in the
        # middle's injection. It must never be answered.
        r.send("STARTTLS\r\nRSET\r\n")
        code, text = r.reply()
        self.assertEqual(text, "220 2.0.0 Ready to start TLS")
        r.s = tls_context().wrap_socket(r.s)
        r.buf = b""
        code, text = r.cmd("EHLO inject.example")
        self.assertEqual(code, 250, text)
        self.assertTrue(text.startswith("250-mail.demo.test"), text)
        self.assertEqual(r.cmd("NOOP"), (250, "250 2.0.0 Ok"))
        self.assertEqual(r.cmd("QUIT")[0], 221)
        log = self.inst.wait_for_log(
            r"disconnect from unknown\[127\.0\.0\.1\] ehlo=2 starttls=1"
            r" (\S+ )*commands=\d+")
        self.assertNotIn("rset=", log.group(0))

    def test_starttls_forgets_the_session(self):
        r = self.raw(self.mx)
        r.cmd("EHLO before.example")
        self.assertEqual(r.cmd("MAIL FROM:<a@example.org>")[0], 250)
        self.assertEqual(r.cmd("STARTTLS")[1],
                         "503 5.5.1 Error: MAIL transaction in progress")
        r.cmd("RSET")
        r.starttls()
        self.assertEqual(r.cmd("STARTTLS")[1],
                         "554 5.5.1 Error: TLS already active")
        # No EHLO after TLS: the old name is gone, so Received: and the
        # queue file know no HELO name.
        self.assertEqual(r.cmd("MAIL FROM:<a@example.org>")[0], 250)
        self.assertEqual(r.cmd("RCPT TO:<demo@demo.test>")[0], 250)
        self.assertEqual(r.cmd("DATA")[0], 354)
        self.assertEqual(r.cmd("Subject: t\r\n\r\nx\r\n.")[0], 250)
        _, env, content = self.queued()
        self.assertNotIn("helo", env["attrs"])
        self.assertTrue(content.startswith(
            b"Received: from unknown (unknown [127.0.0.1])"), content[:80])

    def test_starttls_forgets_a_plaintext_login(self):
        r = self.raw(self.clear)
        code, text = r.cmd("EHLO clear.example")
        self.assertIn("250-AUTH PLAIN LOGIN", text)
        login = "AUTH PLAIN " + plain("bob@demo.test", PASSWORD)
        self.assertEqual(r.cmd(login)[0], 235)
        self.assertEqual(r.cmd(login)[0], 503)
        r.starttls()
        r.cmd("EHLO clear.example")
        self.assertEqual(r.cmd(login)[1],
                         "235 2.7.0 Authentication successful")

    # -- submission on 587 --

    def test_587_requires_tls_then_auth(self):
        r = self.raw(self.sub)
        code, text = r.cmd("EHLO client.example")
        self.assertNotIn("AUTH", text)
        self.assertIn("250-STARTTLS", text)
        self.assertEqual(r.cmd("AUTH PLAIN " + plain("bob@demo.test",
                                                     PASSWORD))[1],
                         "530 5.7.0 Must issue a STARTTLS command first")
        self.assertEqual(r.cmd("MAIL FROM:<bob@demo.test>")[1],
                         "530 5.7.0 Must issue a STARTTLS command first")
        r.starttls()
        r.cmd("EHLO client.example")
        self.assertEqual(r.cmd("MAIL FROM:<bob@demo.test>")[1],
                         "530 5.7.0 Authentication required")
        self.assertEqual(r.cmd("RCPT TO:<demo@demo.test>")[1],
                         "503 5.5.1 Error: need MAIL command")

    def test_auth_not_offered_in_plaintext(self):
        # AUTH enabled, STARTTLS optional, smtpd_tls_auth_only default.
        r = self.raw(self.opt)
        code, text = r.cmd("EHLO client.example")
        self.assertNotIn("AUTH", text)
        self.assertEqual(r.cmd("AUTH PLAIN " + plain("bob@demo.test",
                                                     PASSWORD))[1],
                         "538 5.7.11 Encryption required for requested"
                         " authentication mechanism")
        r.starttls()
        code, text = r.cmd("EHLO client.example")
        self.assertIn("250-AUTH PLAIN LOGIN", text)

    def test_auth_replies(self):
        r = self.raw(self.sub)
        self.assertEqual(r.cmd("AUTH PLAIN")[0], 503)  # no EHLO yet
        r.cmd("EHLO client.example")
        r.starttls()
        r.cmd("EHLO client.example")
        self.assertEqual(r.cmd("AUTH CRAM-MD5")[1],
                         "504 5.5.4 Unsupported authentication mechanism")
        self.assertEqual(r.cmd("AUTH")[1], "501 5.5.4 Syntax: AUTH mechanism")
        self.assertEqual(r.cmd("AUTH PLAIN not*base64")[1],
                         "501 5.5.2 Error: cannot decode response")
        self.assertEqual(r.cmd("AUTH PLAIN " + plain("bob@demo.test",
                                                     "wrong"))[1],
                         "535 5.7.8 Error: authentication failed")
        self.assertEqual(r.cmd("AUTH PLAIN " + plain("nobody@demo.test",
                                                     PASSWORD))[1],
                         "535 5.7.8 Error: authentication failed")
        # LOGIN with challenges; "*" cancels.
        self.assertEqual(r.cmd("AUTH LOGIN"), (334, "334 VXNlcm5hbWU6"))
        self.assertEqual(r.cmd("*")[1], "501 5.7.0 Authentication aborted")
        self.assertEqual(r.cmd("AUTH LOGIN"), (334, "334 VXNlcm5hbWU6"))
        self.assertEqual(r.cmd(b64("bob@demo.test")),
                         (334, "334 UGFzc3dvcmQ6"))
        self.assertEqual(r.cmd("%%%")[1],
                         "501 5.5.2 Error: cannot decode response")
        # PLAIN without an initial response: an empty challenge.
        self.assertEqual(r.cmd("AUTH PLAIN"), (334, "334 "))
        self.assertEqual(r.cmd(plain("bob@demo.test", PASSWORD))[1],
                         "235 2.7.0 Authentication successful")
        self.assertEqual(r.cmd("AUTH PLAIN " + plain("bob@demo.test",
                                                     PASSWORD))[1],
                         "503 5.5.1 Error: already authenticated")
        self.assertEqual(r.cmd("MAIL FROM:<bob@demo.test> AUTH=<>")[0], 250)
        self.assertEqual(r.cmd("RSET")[0], 250)
        self.assertEqual(r.cmd("MAIL FROM:<bob@demo.test>"
                               " AUTH=bob+40demo.test")[0], 250)
        self.assertEqual(r.cmd("AUTH PLAIN =")[1],
                         "503 5.5.1 Error: already authenticated")
        self.inst.wait_for_log(r"warning: unknown\[127\.0\.0\.1\]: SASL"
                               r" PLAIN authentication failed")
        self.assertNotIn(PASSWORD, self.inst.log())

    def test_auth_in_transaction_refused(self):
        r = self.raw(self.opt)
        r.cmd("EHLO client.example")
        r.starttls()
        r.cmd("EHLO client.example")
        self.assertEqual(r.cmd("MAIL FROM:<a@example.org>")[0], 250)
        self.assertEqual(r.cmd("AUTH PLAIN " + plain("bob@demo.test",
                                                     PASSWORD))[1],
                         "503 5.5.1 Error: MAIL transaction in progress")

    def test_relay_needs_auth(self):
        # From outside $mynetworks: no relaying without AUTH ...
        r = self.raw(self.opt, source="127.0.0.2")
        r.cmd("EHLO outside.example")
        r.starttls()
        r.cmd("EHLO outside.example")
        self.assertEqual(r.cmd("MAIL FROM:<bob@demo.test>")[0], 250)
        self.assertEqual(r.cmd("RCPT TO:<friend@other.example>")[1],
                         "554 5.7.1 <friend@other.example>: Relay access"
                         " denied")
        self.assertEqual(r.cmd("RSET")[0], 250)
        # ... and with it.
        self.assertEqual(r.cmd("AUTH PLAIN " + plain("bob@demo.test",
                                                     PASSWORD))[0], 235)
        self.assertEqual(r.cmd("MAIL FROM:<bob@demo.test>")[0], 250)
        self.assertEqual(r.cmd("RCPT TO:<friend@other.example>")[0], 250)
        self.assertEqual(r.cmd("DATA")[0], 354)
        self.assertEqual(r.cmd("Subject: out\r\n\r\nhi\r\n.")[0], 250)
        _, env, _ = self.queued()
        self.assertEqual(env["rcpts"][0]["address"], "friend@other.example")
        self.assertEqual(env["attrs"]["sasl_username"], "bob@demo.test")

    def test_sender_must_be_owned(self):
        r = self.logged_in()
        self.assertEqual(
            r.cmd("MAIL FROM:<alice@demo.test>")[1],
            "553 5.7.1 <alice@demo.test>: Sender address rejected: not"
            " owned by user bob@demo.test")
        self.assertEqual(
            r.cmd("MAIL FROM:<x@shared.example>")[1][:40],
            "553 5.7.1 <x@shared.example>: Sender add")
        # sender_logins gives bob sales@; his own name in any case is his.
        for sender in ("sales@demo.test", "Bob@Demo.Test", ""):
            self.assertEqual(r.cmd("MAIL FROM:<%s>" % sender)[0], 250,
                             sender)
            self.assertEqual(r.cmd("RSET")[0], 250)
        a = self.logged_in(user="alice@demo.test", password=ALICE_PASSWORD)
        self.assertEqual(a.cmd("MAIL FROM:<x@shared.example>")[0], 250)
        a.cmd("RSET")
        self.assertEqual(a.cmd("MAIL FROM:<sales@demo.test>")[0], 553)
        self.inst.wait_for_log(r"reject: MAIL from unknown\[127\.0\.0\.1\]:"
                               r" 553 5\.7\.1 <alice@demo\.test>")

    def test_submission_adds_message_id_and_date(self):
        r = self.logged_in()
        r.cmd("MAIL FROM:<bob@demo.test>")
        r.cmd("RCPT TO:<demo@demo.test>")
        self.assertEqual(r.cmd("DATA")[0], 354)
        code, text = r.cmd("From: Bob <bob@demo.test>\r\nSubject: no id"
                           "\r\n\r\nbody line\r\n.")
        self.assertEqual(code, 250, text)
        qid = text.split()[-1]
        _, env, content = self.queued(qid)
        head, _, body = content.partition(b"\n\n")
        self.assertEqual(body, b"body line\n")
        self.assertIn(b"\n\tby mail.demo.test (correo) with ESMTPSA id "
                      + qid.encode(), head)
        self.assertIn(b"\nMessage-ID: <%s@mail.demo.test>" % qid.encode(),
                      head)
        self.assertRegex(head, rb"\nDate: \w{3}, \d\d \w{3} \d{4} "
                         rb"\d\d:\d\d:\d\d [+-]\d{4}(\n|$)")
        self.assertTrue(head.startswith(b"Received: "))
        self.assertIn(b"\nFrom: Bob <bob@demo.test>\nSubject: no id\n",
                      head + b"\n")
        self.assertEqual(env["attrs"]["protocol"], "ESMTPSA")
        self.assertEqual(env["attrs"]["sasl_method"], "PLAIN")
        self.assertEqual(env["attrs"]["sasl_username"], "bob@demo.test")
        self.inst.wait_for_log(
            r"%s: client=unknown\[127\.0\.0\.1\], sasl_method=PLAIN, "
            r"sasl_username=bob@demo\.test" % qid)

    def test_submission_keeps_existing_headers_bdat(self):
        r = self.logged_in()
        r.cmd("MAIL FROM:<bob@demo.test>")
        r.cmd("RCPT TO:<demo@demo.test>")
        # Header names cut across chunks; both fields present.
        parts = [b"Message-", b"ID: <own@x>\r\nDa",
                 b"te: Mon, 1 Jan 2024 00:00:00 +0000\r\n\r\nbody\r\n"]
        for i, p in enumerate(parts):
            last = b" LAST" if i == len(parts) - 1 else b""
            r.send(b"BDAT %d%s\r\n" % (len(p), last) + p)
            self.assertEqual(r.reply()[0], 250)
        _, _, content = self.queued()
        self.assertEqual(content.count(b"Message-ID:"), 1)
        self.assertEqual(content.count(b"Date:"), 1)
        self.assertTrue(content.endswith(
            b"\nMessage-ID: <own@x>\nDate: Mon, 1 Jan 2024 00:00:00 +0000"
            b"\n\nbody\n"), content)

    def test_submission_header_only_message(self):
        r = self.logged_in()
        r.cmd("MAIL FROM:<bob@demo.test>")
        r.cmd("RCPT TO:<demo@demo.test>")
        r.send(b"BDAT 13 LAST\r\nSubject: only")
        self.assertEqual(r.reply()[0], 250)
        _, _, content = self.queued()
        self.assertRegex(content, rb"\nSubject: only\nDate: [^\n]+\n"
                         rb"Message-ID: <\w+@mail\.demo\.test>\n$")

    def test_port_25_leaves_headers_alone(self):
        with smtplib.SMTP("127.0.0.1", self.mx, timeout=10) as s:
            s.sendmail("a@example.org", ["demo@demo.test"],
                       b"Subject: plain\r\n\r\nx\r\n")
        _, env, content = self.queued()
        self.assertNotIn(b"Message-ID", content)
        self.assertNotIn("sasl_username", env["attrs"])

    # -- implicit TLS on 465 --

    def test_implicit_tls_465(self):
        r = self.raw(self.smtps, implicit=True)
        code, text = r.cmd("EHLO tls.example")
        self.assertNotIn("STARTTLS", text)
        self.assertIn("250-AUTH PLAIN LOGIN", text)
        self.assertEqual(r.cmd("MAIL FROM:<bob@demo.test>")[1],
                         "530 5.7.0 Authentication required")
        with smtplib.SMTP_SSL("127.0.0.1", self.smtps, timeout=10,
                              context=tls_context()) as s:
            s.login("bob@demo.test", PASSWORD)
            s.sendmail("bob@demo.test", ["demo@demo.test"],
                       b"Subject: over 465\r\n\r\nhi\r\n")
        _, env, content = self.queued()
        self.assertEqual(env["attrs"]["protocol"], "ESMTPSA")
        self.assertIn(b"Subject: over 465\n", content)
        # A plaintext client gets nothing it could mistake for SMTP.
        s = socket.create_connection(("127.0.0.1", self.smtps), timeout=5)
        s.sendall(b"EHLO plain.example\r\n")
        try:
            data = s.recv(100)
        except (ConnectionResetError, socket.timeout):
            data = b""
        s.close()
        self.assertFalse(data.startswith(b"220"), data)

    # -- swaks --

    def swaks(self, mech):
        if shutil.which("swaks") is None:
            self.skipTest("swaks not installed")
        out = subprocess.run(
            ["swaks", "--server", "127.0.0.1:%d" % self.sub, "--tls",
             "--auth", mech, "--auth-user", "bob@demo.test",
             "--auth-password", PASSWORD, "--from", "bob@demo.test",
             "--to", "demo@demo.test", "--helo", "swaks.example",
             "--body", "via swaks " + mech],
            capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertIn("235 2.7.0 Authentication successful", out.stdout)
        m = re.search(r"<~  250 2\.0\.0 Ok: queued as (\S+)", out.stdout)
        self.assertIsNotNone(m, out.stdout)
        _, env, content = self.queued(m.group(1))
        self.assertEqual(env["attrs"]["sasl_method"], mech)
        self.assertIn(("via swaks " + mech).encode(), content)

    def test_swaks_plain(self):
        self.swaks("PLAIN")

    def test_swaks_login(self):
        self.swaks("LOGIN")

    # -- DSN --

    def test_dsn_parameters_in_queue_file(self):
        r = self.raw(self.mx)
        code, text = r.cmd("EHLO dsn.example")
        self.assertIn("250-DSN", text)
        self.assertEqual(r.cmd("MAIL FROM:<a@example.org> RET=HDRS"
                               " ENVID=env+2Bid+3D42")[0], 250)
        self.assertEqual(r.cmd("RCPT TO:<demo@demo.test>"
                               " NOTIFY=SUCCESS,FAILURE"
                               " ORCPT=rfc822;Orig+2Bx@demo.test")[0], 250)
        self.assertEqual(r.cmd("RCPT TO:<postmaster@demo.test>"
                               " NOTIFY=NEVER")[0], 250)
        self.assertEqual(r.cmd("RCPT TO:<demo2@demo.test>")[0], 550)
        self.assertEqual(r.cmd("DATA")[0], 354)
        self.assertEqual(r.cmd("Subject: dsn\r\n\r\nx\r\n.")[0], 250)
        _, env, _ = self.queued()
        self.assertEqual(env["attrs"]["ret"], "HDRS")
        self.assertEqual(env["attrs"]["envid"], "env+id=42")
        demo, pm = env["rcpts"]
        self.assertEqual(demo["address"], "demo@demo.test")
        self.assertEqual(demo["orig"], "Orig+x@demo.test")
        self.assertEqual(demo["notify"], 0x2 | 0x4)
        self.assertEqual(pm["notify"], 0x1)
        self.assertEqual(pm["orig"], "postmaster@demo.test")

    def test_dsn_syntax_errors(self):
        r = self.raw(self.mx)
        r.cmd("EHLO dsn.example")
        for bad, reply in (
                ("RET=PARTIAL", "501 5.5.4 Bad RET parameter syntax"),
                ("RET=FULL RET=HDRS", "501 5.5.4 Bad RET parameter syntax"),
                ("ENVID=a=b", "501 5.5.4 Bad ENVID parameter syntax"),
                ("ENVID=x+4", "501 5.5.4 Bad ENVID parameter syntax"),
                ("ENVID=x+0A", "501 5.5.4 Bad ENVID parameter syntax"),
                ("ENVID=" + "e" * 101, "501 5.5.4 Bad ENVID parameter"
                 " syntax"),
                ("AUTH=", "501 5.5.4 Bad AUTH parameter syntax")):
            self.assertEqual(r.cmd("MAIL FROM:<a@example.org> " + bad)[1],
                             reply, bad)
        self.assertEqual(r.cmd("MAIL FROM:<a@example.org> RET=full"
                               " ENVID=" + "e" * 100)[0], 250)
        for bad, reply in (
                ("NOTIFY=NEVER,SUCCESS", "501 5.5.4 Bad NOTIFY parameter"
                 " syntax"),
                ("NOTIFY=BOGUS", "501 5.5.4 Bad NOTIFY parameter syntax"),
                ("NOTIFY=", "501 5.5.4 Bad NOTIFY parameter syntax"),
                ("NOTIFY=DELAY,DELAY", "501 5.5.4 Bad NOTIFY parameter"
                 " syntax"),
                ("ORCPT=demo@demo.test", "501 5.5.4 Bad ORCPT parameter"
                 " syntax"),
                ("ORCPT=rfc822;", "501 5.5.4 Bad ORCPT parameter syntax"),
                ("ORCPT=rfc822;a+zz", "501 5.5.4 Bad ORCPT parameter"
                 " syntax"),
                ("FOO=1", "555 5.5.4 Unsupported option: FOO")):
            self.assertEqual(r.cmd("RCPT TO:<demo@demo.test> " + bad)[1],
                             reply, bad)
        self.assertEqual(r.cmd("RCPT TO:<demo@demo.test> NOTIFY=delay"
                               " ORCPT=x400;whatever")[0], 250)


class TlsCheckTest(harness.TestCase):
    """correo init makes a certificate; correo tls check reports it."""

    def test_init_certificate_and_tls_check(self):
        a = self.instance()
        r = a.correo("tls", "check")
        self.assertRuns(r)
        self.assertIn("certificate 0: subject /CN=mail.demo.test", r.stdout)
        self.assertRegex(r.stdout, r"expires .* \(in 36\d\d days\)")
        self.assertIn("matches the certificate", r.stdout)
        self.assertTrue(r.stdout.endswith("ok\n"), r.stdout)
        key = os.path.join(a.dir, "tls", "key.pem")
        self.assertEqual(os.stat(key).st_mode & 0o777, 0o600)
        with open(os.path.join(a.dir, "services.conf")) as f:
            services = f.read()
        # Each port's postscreen hands over to its smtpd pass row.
        self.assertRegex(services, r"(?m)^127\.0\.0\.1:%d .*postscreen .*"
                         r"postscreen_pass_service=submission$"
                         % a.port(587))
        self.assertRegex(services, r"(?m)^submission .*smtpd .*"
                         r"smtpd_tls_security_level=encrypt")
        self.assertRegex(services, r"(?m)^127\.0\.0\.1:%d .*postscreen .*"
                         r"smtpd_tls_wrappermode=yes" % a.port(465))
        self.assertRegex(services, r"(?m)^submissions .*smtpd .*"
                         r"smtpd_tls_wrappermode=yes")
        # Another instance's key does not match this certificate.
        b = self.instance()
        with open(os.path.join(b.dir, "tls", "key.pem"), "rb") as f:
            other = f.read()
        with open(key, "wb") as f:
            f.write(other)
        r = a.correo("tls", "check")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("does NOT match", r.stdout)
        self.assertEqual(a.correo("tls").returncode, 2)


if __name__ == "__main__":
    harness.main()
