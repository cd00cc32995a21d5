#!/usr/bin/env python3
"""smtpd end to end: real clients (smtplib, swaks, raw sockets) against a
real instance.

Most tests run an instance with smtpd alone, so accepted messages stay in
queue/incoming/ where the test reads them back (the queue file's content
must be exactly our Received: header plus the message, unstuffed, with LF
line ends). The delivery test runs the whole pipeline when qmgr and local
are built and compares delivered bytes.
"""
import os
import re
import shutil
import smtplib
import subprocess
import time
import unittest

import harness
from harness import Instance

SMTPD_ONLY = (
    "127.0.0.1:{smtp_port} inet n - n - 10 smtpd\n"
)

BASE_CONFIG = {
    "mynetworks": "127.0.0.1/32",
    "smtpd_error_sleep_time": "0",
    "smtpd_timeout": "3s",
    "message_size_limit": "200000",
    "smtpd_recipient_limit": "3",
    "smtpd_hard_error_limit": "40",
}


def queue_files(inst, sub="incoming"):
    return harness.queue_ids(inst.queue, sub)


def read_queue_file(inst, name, sub="incoming"):
    """(envelope bytes, content bytes) of a queue file: the first line
    holds the content offset and length."""
    with open(os.path.join(inst.queue, sub, name), "rb") as f:
        data = f.read()
    head = data.split(b"\n", 1)[0].split()
    off, length = int(head[2]), int(head[3])
    return data[:off], data[off:off + length]


def strip_received(content):
    """Content minus our Received: header (first line plus its tab-led
    continuation lines); asserts the header is there."""
    assert content.startswith(b"Received: from "), content[:80]
    lines = content.split(b"\n")
    i = 1
    while lines[i].startswith(b"\t"):
        i += 1
    return b"\n".join(lines[i:]), b"\n".join(lines[:i])


Raw = harness.SmtpRaw


class SmtpdTest(harness.TestCase):
    config = BASE_CONFIG

    @classmethod
    def setUpClass(cls):
        if not harness.have_daemon("smtpd"):
            raise unittest.SkipTest("smtpd not built")
        cls.inst = Instance(config=cls.config, services=SMTPD_ONLY)
        cls.inst.start()
        cls.inst.wait_for_port(cls.inst.smtp_port)
        cls.port = cls.inst.smtp_port

    @classmethod
    def tearDownClass(cls):
        cls.inst.cleanup()

    def setUp(self):
        self.before = set(queue_files(self.inst))

    def new_files(self):
        return sorted(set(queue_files(self.inst)) - self.before)

    def raw(self, source="127.0.0.1"):
        r = Raw(self.port, source)
        self.addCleanup(r.close)
        self.assertEqual(r.greeting[0], 220, r.greeting)
        return r

    def assert_serving(self):
        """The daemon still answers a fresh client."""
        r = self.raw()
        self.assertEqual(r.cmd("EHLO check.example")[0], 250)
        self.assertEqual(r.cmd("QUIT")[0], 221)


class BasicTest(SmtpdTest):
    def test_swaks(self):
        if shutil.which("swaks") is None:
            self.skipTest("swaks not installed")
        out = subprocess.run(
            ["swaks", "--server", "127.0.0.1", "--port", str(self.port),
             "--from", "you@example.org", "--to", "demo@demo.test",
             "--helo", "swaks.example", "--body", "hello from swaks"],
            capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        m = re.search(r"<-  250 2\.0\.0 Ok: queued as (\S+)", out.stdout)
        self.assertIsNotNone(m, out.stdout)
        qid = m.group(1)
        self.assertIn(qid, self.new_files())
        env, content = read_queue_file(self.inst, qid)
        self.assertIn(b"you@example.org", env)
        self.assertIn(b"demo@demo.test", env)
        self.assertIn(b"helo=swaks.example", env)
        self.assertIn(b"protocol=ESMTP", env)
        body, received = strip_received(content)
        self.assertIn(b"Received: from swaks.example (unknown [127.0.0.1])"
                      b"\n\tby mail.demo.test (correo) with ESMTP id "
                      + qid.encode(), received)
        self.assertIn(b"\n\tfor <demo@demo.test>; ", received)
        self.assertIn(b"hello from swaks", body)
        self.assertNotIn(b"\r", content)
        log = self.inst.wait_for_log(
            r"disconnect from unknown\[127\.0\.0\.1\] ehlo=1 mail=1 "
            r"rcpt=1 data=1 quit=1 commands=5")
        self.assertIsNotNone(log)
        self.assertRegex(self.inst.log(), r"connect from unknown\[127\.0\.0\.1\]")
        self.assertIn("%s: client=unknown[127.0.0.1]" % qid, self.inst.log())

    def test_smtplib_content_exact(self):
        lines = [b"Subject: exact bytes", b"From: a@example.org", b"",
                 b".leading dot", b"..two dots", b".", b"caf\xc3\xa9 8bit",
                 b"x" * 998, b"y" * 5000, b"\x01\x02\x7f\xfe binaryish",
                 b"end"]
        msg = b"\r\n".join(lines) + b"\r\n"
        with smtplib.SMTP("127.0.0.1", self.port, timeout=10) as s:
            code, _ = s.ehlo("lib.example")
            self.assertEqual(code, 250)
            for ext in ("pipelining", "size", "8bitmime",
                        "enhancedstatuscodes", "chunking", "smtputf8"):
                self.assertTrue(s.has_extn(ext), ext)
            self.assertEqual(s.esmtp_features["size"], "200000")
            self.assertTrue(s.has_extn("dsn"))
            s.sendmail("a@example.org", ["demo@demo.test"], msg,
                       mail_options=["BODY=8BITMIME"])
        new = self.new_files()
        self.assertEqual(len(new), 1)
        env, content = read_queue_file(self.inst, new[0])
        self.assertIn(b"body=8BITMIME", env)
        body, _ = strip_received(content)
        self.assertEqual(body, b"\n".join(lines) + b"\n")

    def test_commands(self):
        r = self.raw()
        self.assertEqual(r.cmd("NOOP"), (250, "250 2.0.0 Ok"))
        code, text = r.cmd("HELP")
        self.assertEqual(code, 214)
        self.assertEqual(r.cmd("VRFY demo@demo.test")[1][:10],
                         "252 2.5.2 ")
        self.assertEqual(r.cmd("EXPN staff")[1],
                         "502 5.5.2 Error: command not recognized")
        self.assertEqual(r.cmd("RCPT TO:<demo@demo.test>")[1],
                         "503 5.5.1 Error: need MAIL command")
        self.assertEqual(r.cmd("DATA")[1],
                         "503 5.5.1 Error: need MAIL command")
        self.assertEqual(r.cmd("HELO")[1],
                         "501 5.5.4 Syntax: HELO hostname")
        self.assertEqual(r.cmd("helo client.example"),
                         (250, "250 mail.demo.test"))
        self.assertEqual(r.cmd("MAIL FROM:<a@example.org>")[0], 250)
        self.assertEqual(r.cmd("MAIL FROM:<a@example.org>")[1],
                         "503 5.5.1 Error: nested MAIL command")
        self.assertEqual(r.cmd("DATA")[1],
                         "503 5.5.1 Error: need RCPT command")
        self.assertEqual(r.cmd("RCPT TO:<bad address>")[1],
                         "501 5.1.3 Bad recipient address syntax")
        self.assertEqual(r.cmd("RSET"), (250, "250 2.0.0 Ok"))
        self.assertEqual(r.cmd("MAIL FROM:<>")[0], 250)
        self.assertEqual(r.cmd("RSET")[0], 250)
        self.assertEqual(r.cmd("MAIL FROM: <a@example.org> SIZE=100")[0],
                         250)
        self.assertEqual(r.cmd("RSET")[0], 250)
        self.assertEqual(r.cmd("MAIL FROM:<j\u00e9@example.org>")[1],
                         "553 5.6.7 Must declare SMTPUTF8 to send unicode"
                         " address")
        self.assertEqual(r.cmd("MAIL FROM:<a@example.org> FOO=BAR")[1],
                         "555 5.5.4 Unsupported option: FOO")
        self.assertEqual(r.cmd("QUIT"), (221, "221 2.0.0 Bye"))
        self.assertTrue(r.closed())

    def test_smtputf8(self):
        r = self.raw()
        r.cmd("EHLO u.example")
        self.assertEqual(r.cmd("MAIL FROM:<j\u00e9@example.org> SMTPUTF8")[0],
                         250)
        self.assertEqual(r.cmd("RCPT TO:<demo@demo.test>")[0], 250)
        self.assertEqual(r.cmd("DATA")[0], 354)
        self.assertEqual(r.cmd("Subject: \u00e9\r\n\r\nhi\r\n.")[0], 250)
        env, _ = read_queue_file(self.inst, self.new_files()[0])
        self.assertIn(b"smtputf8=yes", env)

    def test_unknown_user(self):
        r = self.raw()
        r.cmd("EHLO client.example")
        r.cmd("MAIL FROM:<a@example.org>")
        self.assertEqual(
            r.cmd("RCPT TO:<nobody@demo.test>")[1],
            "550 5.1.1 <nobody@demo.test>: Recipient address rejected:"
            " User unknown in virtual mailbox table")
        self.assertEqual(r.cmd("RCPT TO:<demo@demo.test>")[0], 250)
        self.assertEqual(r.cmd("QUIT")[0], 221)
        self.inst.wait_for_log(
            r"NOQUEUE: reject: RCPT from unknown\[127\.0\.0\.1\]: 550 5\.1\.1"
            r" <nobody@demo\.test>: Recipient address rejected: User unknown"
            r" in virtual mailbox table; from=<a@example\.org>"
            r" to=<nobody@demo\.test> proto=ESMTP helo=<client\.example>")
        self.inst.wait_for_log(r"rcpt=1/2 quit=1 commands=4/5")

    def test_pipelining_one_batch(self):
        r = self.raw()
        r.send("EHLO pipe.example\r\nMAIL FROM:<a@example.org>\r\n"
               "RCPT TO:<demo@demo.test>\r\nRCPT TO:<nobody@demo.test>\r\n"
               "RCPT TO:<postmaster@demo.test>\r\nDATA\r\n")
        time.sleep(0.5)
        batch = r.s.recv(65536)
        # Every reply, in order, arrived before we sent anything else.
        codes = [int(l[:3]) for l in batch.decode().split("\r\n") if l
                 and l[3:4] == " "]
        self.assertEqual(codes, [250, 250, 250, 550, 250, 354], batch)
        r.send("Subject: pipelined\r\n\r\nbody\r\n.\r\nQUIT\r\n")
        self.assertEqual(r.reply()[0], 250)
        self.assertEqual(r.reply()[0], 221)
        env, _ = read_queue_file(self.inst, self.new_files()[0])
        self.assertIn(b"demo@demo.test", env)
        self.assertIn(b"postmaster@demo.test", env)
        self.assertNotIn(b"nobody", env)

    def test_bdat(self):
        r = self.raw()
        r.cmd("EHLO chunk.example")
        r.cmd("MAIL FROM:<a@example.org> BODY=BINARYMIME")
        r.cmd("RCPT TO:<demo@demo.test>")
        part1 = b"Subject: chunks\r\n\r\nline one\r"
        part2 = b"\nline two has a bare \n LF and a . dot\r\n.\r\n"
        part3 = b"\x00\xff tail without newline"
        r.send(b"BDAT %d\r\n" % len(part1) + part1)
        self.assertEqual(r.reply(), (250, "250 2.0.0 Ok: %d bytes"
                                     % len(part1)))
        r.send(b"BDAT %d\r\n" % len(part2) + part2)
        self.assertEqual(r.reply()[0], 250)
        r.send(b"BDAT %d LAST\r\n" % len(part3) + part3)
        code, text = r.reply()
        self.assertEqual(code, 250, text)
        self.assertRegex(text, r"queued as")
        _, content = read_queue_file(self.inst, self.new_files()[0])
        body, _ = strip_received(content)
        self.assertEqual(body, b"Subject: chunks\n\nline one\nline two has"
                         b" a bare \n LF and a . dot\n.\n\x00\xff tail"
                         b" without newline\n")

    def test_bdat_errors_consume_chunk(self):
        r = self.raw()
        r.cmd("EHLO chunk.example")
        # No MAIL: refused, and the chunk (which looks like commands) is
        # swallowed, not executed.
        evil = b"MAIL FROM:<x@y.z>\r\nQUIT\r\n"
        r.send(b"BDAT %d\r\n" % len(evil) + evil)
        self.assertEqual(r.reply()[1], "503 5.5.1 Error: need MAIL command")
        self.assertEqual(r.cmd("NOOP")[0], 250)
        self.assertEqual(r.cmd("MAIL FROM:<a@example.org>")[0], 250)
        self.assertEqual(r.cmd("DATA")[0], 503)
        self.assertEqual(r.cmd("RCPT TO:<demo@demo.test>")[0], 250)
        r.send(b"BDAT 5\r\nhello")
        self.assertEqual(r.reply()[0], 250)
        self.assertEqual(r.cmd("DATA")[1], "503 5.5.1 Error: DATA after BDAT")
        big = b"z" * 250000
        r.send(b"BDAT %d LAST\r\n" % len(big) + big)
        self.assertEqual(r.reply()[1],
                         "552 5.3.4 Message size exceeds fixed limit")
        self.assertEqual(r.cmd("NOOP")[0], 250)
        self.assertEqual(self.new_files(), [])

    def test_bdat_unparseable_ends_session(self):
        # A BDAT whose count cannot be trusted: its chunk would be read
        # as commands, so the session ends with 421 instead.
        evil = b"RSET\r\nMAIL FROM:<x@y.example>\r\nNOOP\r\n"
        for args in (b"5 FIRST", b"x", b"", b"-1", b"10LAST",
                     b"0" * 19 + b"%d" % len(evil),
                     b"9223372036854775808",
                     b"99999999999999999999999"):
            r = self.raw()
            r.cmd("EHLO chunk.example")
            r.cmd("MAIL FROM:<a@example.org>")
            r.cmd("RCPT TO:<demo@demo.test>")
            r.send(b"BDAT " + args + b"\r\n" + evil)
            code, text = r.reply()
            self.assertEqual(code, 421, (args, text))
            self.assertIn("BDAT count", text)
            self.assertTrue(r.closed(), args)
            self.assertEqual(r.buf, b"", (args, "chunk run as commands"))
            r.close()
        # The largest count that parses is still a count (its octets
        # are read and refused as too big, not taken for commands).
        r = self.raw()
        r.cmd("EHLO chunk.example")
        r.cmd("MAIL FROM:<a@example.org>")
        r.cmd("RCPT TO:<demo@demo.test>")
        r.send(b"BDAT 5\r\nhello")
        self.assertEqual(r.reply()[0], 250)
        r.send(b"BDAT 0000000000000000005\r\nworld")
        self.assertEqual(r.reply()[0], 250)
        self.assertEqual(self.new_files(), [])

    def test_mail_loop(self):
        # More than 50 Received: fields is a mail loop (554 5.4.0), sent
        # with DATA or with BDAT, whose chunks may split a field name.
        def fields(n):
            return b"Received: from a.example by b.example; now\r\n" * n
        r = self.raw()
        r.cmd("EHLO loop.example")
        r.cmd("MAIL FROM:<a@example.org>")
        r.cmd("RCPT TO:<demo@demo.test>")
        self.assertEqual(r.cmd("DATA")[0], 354)
        r.send(fields(51) + b"Subject: loop\r\n\r\nbody\r\n.\r\n")
        self.assertEqual(r.reply()[1], "554 5.4.0 Error: too many hops")
        for n, want in ((51, 554), (50, 250)):
            r.cmd("MAIL FROM:<a@example.org>")
            r.cmd("RCPT TO:<demo@demo.test>")
            msg = fields(n) + b"Subject: loop\r\n\r\nbody\r\n"
            # Cuts inside "Received:" and between its CR and LF.
            cuts = [0, 3, 43, 47, 92, len(msg)]
            for i in range(len(cuts) - 1):
                last = b" LAST" if i == len(cuts) - 2 else b""
                part = msg[cuts[i]:cuts[i + 1]]
                r.send(b"BDAT %d%s\r\n" % (len(part), last) + part)
                code, text = r.reply()
                if not last:
                    self.assertEqual(code, 250, text)
            self.assertEqual(code, want, text)
            if want == 554:
                self.assertEqual(text, "554 5.4.0 Error: too many hops")
        self.assertEqual(len(self.new_files()), 1)
        # Fields after the header do not count.
        r.cmd("MAIL FROM:<a@example.org>")
        r.cmd("RCPT TO:<demo@demo.test>")
        msg = b"Subject: x\r\n\r\n" + fields(60)
        r.send(b"BDAT %d LAST\r\n" % len(msg) + msg)
        self.assertEqual(r.reply()[0], 250)


class LimitTest(SmtpdTest):
    config = dict(BASE_CONFIG, smtpd_hard_error_limit="8",
                  smtpd_junk_command_limit="5")

    def test_junk_command_limit(self):
        # Past 5 NOOP/VRFY/RSET commands each one counts as an error;
        # they are still answered, until the hard error limit (8).
        r = self.raw()
        for i in range(5 + 8):
            cmd = ("NOOP", "RSET", "VRFY demo")[i % 3]
            self.assertLess(r.cmd(cmd)[0], 300, "%s #%d" % (cmd, i + 1))
        self.assertEqual(r.cmd("NOOP")[1],
                         "421 4.7.0 mail.demo.test Error: too many errors")
        self.assertTrue(r.closed())
        self.assert_serving()

    def test_size_at_mail(self):
        r = self.raw()
        r.cmd("EHLO big.example")
        self.assertEqual(r.cmd("MAIL FROM:<a@example.org> SIZE=200001")[1],
                         "552 5.3.4 Message size exceeds fixed limit")
        self.assertEqual(r.cmd("MAIL FROM:<a@example.org> SIZE=200000")[0],
                         250)

    def test_size_while_streaming(self):
        r = self.raw()
        r.cmd("EHLO big.example")
        r.cmd("MAIL FROM:<a@example.org>")
        r.cmd("RCPT TO:<demo@demo.test>")
        self.assertEqual(r.cmd("DATA")[0], 354)
        r.send(b"Subject: big\r\n\r\n" + (b"a" * 1000 + b"\r\n") * 300)
        self.assertEqual(r.cmd(".")[1],
                         "552 5.3.4 Message size exceeds fixed limit")
        # The session survives and the next message goes through.
        self.assertEqual(r.cmd("MAIL FROM:<a@example.org>")[0], 250)
        self.assertEqual(r.cmd("RCPT TO:<demo@demo.test>")[0], 250)
        self.assertEqual(r.cmd("DATA")[0], 354)
        self.assertEqual(r.cmd("small\r\n.")[0], 250)
        self.assertEqual(len(self.new_files()), 1)
        self.inst.wait_for_log(r"reject: END-OF-MESSAGE from unknown"
                               r"\[127\.0\.0\.1\]: 552 5\.3\.4")

    def test_recipient_limit(self):
        r = self.raw()
        r.cmd("EHLO many.example")
        r.cmd("MAIL FROM:<a@example.org>")
        for rcpt in ("demo@demo.test", "postmaster@demo.test",
                     "postmaster"):
            self.assertEqual(r.cmd("RCPT TO:<%s>" % rcpt)[0], 250, rcpt)
        self.assertEqual(r.cmd("RCPT TO:<demo@demo.test>")[1],
                         "452 4.5.3 Error: too many recipients")
        self.assertEqual(r.cmd("DATA")[0], 354)
        self.assertEqual(r.cmd("hi\r\n.")[0], 250)
        env, _ = read_queue_file(self.inst, self.new_files()[0])
        self.assertIn(b"postmaster@mail.demo.test", env)

    def test_recipient_limit_counts_duplicates(self):
        # A duplicate RCPT is answered 250 and so counts against the
        # limit like any other.
        r = self.raw()
        r.cmd("EHLO many.example")
        r.cmd("MAIL FROM:<a@example.org>")
        for _ in range(3):
            self.assertEqual(r.cmd("RCPT TO:<demo@demo.test>")[0], 250)
        self.assertEqual(r.cmd("RCPT TO:<demo@demo.test>")[1],
                         "452 4.5.3 Error: too many recipients")
        self.assertEqual(r.cmd("RCPT TO:<postmaster@demo.test>")[0], 452)
        # A new transaction starts counting again.
        self.assertEqual(r.cmd("RSET")[0], 250)
        r.cmd("MAIL FROM:<a@example.org>")
        self.assertEqual(r.cmd("RCPT TO:<demo@demo.test>")[0], 250)

    def test_long_line_without_crlf(self):
        r = self.raw()
        r.send(b"NOOP " + b"x" * 100000)
        code, text = r.reply()
        self.assertEqual(text, "500 5.5.2 Error: line too long")
        r.send(b"still the same line\r\n")
        self.assertEqual(r.cmd("NOOP"), (250, "250 2.0.0 Ok"))
        # 512 octets (RFC minimum) are fine.
        self.assertEqual(r.cmd("NOOP " + "y" * 505)[0], 250)
        self.assert_serving()

    def test_nul_in_command(self):
        r = self.raw()
        r.send(b"EHLO a\x00b\r\n")
        self.assertEqual(r.reply()[1],
                         "500 5.5.2 Error: NUL character in command")
        self.assertEqual(r.cmd("EHLO ok.example")[0], 250)
        self.assert_serving()

    def test_hard_error_limit(self):
        r = self.raw()
        for _ in range(8):
            self.assertEqual(r.cmd("BOGUS")[0], 502)
        self.assertEqual(r.cmd("NOOP")[1],
                         "421 4.7.0 mail.demo.test Error: too many errors")
        self.assertTrue(r.closed())
        self.inst.wait_for_log(r"too many errors after unknown from")
        self.assert_serving()

    def test_timeout(self):
        r = self.raw()
        r.cmd("EHLO slow.example")
        r.s.settimeout(10)
        self.assertEqual(r.reply()[1],
                         "421 4.4.2 mail.demo.test Error: timeout exceeded")
        self.assertTrue(r.closed())
        self.inst.wait_for_log(r"timeout after EHLO from unknown\[127\.0\.0\.1\]")

    def test_lost_connection(self):
        r = self.raw()
        r.cmd("EHLO gone.example")
        r.cmd("MAIL FROM:<a@example.org>")
        r.cmd("RCPT TO:<demo@demo.test>")
        r.cmd("DATA")
        r.send("Subject: half\r\n\r\npartial")
        r.close()
        self.inst.wait_for_log(r"lost connection after DATA from unknown")
        time.sleep(0.2)
        self.assertEqual(self.new_files(), [])
        # No half-written file is left behind either.
        left = [n for n in os.listdir(os.path.join(self.inst.queue,
                                                   "incoming"))
                if n.startswith(".")]
        self.assertEqual(left, [])

    def test_forbidden_command(self):
        r = self.raw()
        code, _ = r.cmd("GET / HTTP/1.0")
        self.assertEqual(code, 221)
        self.assertTrue(r.closed())


RELAY_TRICKS = [
    "outside@other.example",
    "user%other.example@demo.test",
    "other.example!user@demo.test",
    '"user@other.example"@demo.test',
    "@demo.test:user@other.example",
    "@demo.test,@mail.demo.test:user@other.example",
    "user@other.example.",
    "user@[192.0.2.1]",
    "user@[IPv6:2001:db8::1]",
    "user%other.example@mail.demo.test",
    "user@other.example@demo.test",
]


class RelayTest(SmtpdTest):
    config = dict(BASE_CONFIG, smtpd_recipient_limit="10")

    def test_untrusted_client_tricks(self):
        r = self.raw(source="127.0.0.2")
        r.cmd("EHLO outsider.example")
        self.assertEqual(r.cmd("MAIL FROM:<spammer@example.org>")[0], 250)
        for rcpt in RELAY_TRICKS:
            code, text = r.cmd("RCPT TO:<%s>" % rcpt)
            if rcpt == "user@other.example@demo.test":
                self.assertEqual(text, "501 5.1.3 Bad recipient address"
                                 " syntax")
            else:
                self.assertEqual(text, "554 5.7.1 <%s>: Relay access denied"
                                 % rcpt)
        # Our own address as a literal is ours, judged locally.
        code, text = r.cmd("RCPT TO:<nosuchuser@[127.0.0.1]>")
        self.assertEqual(code, 550, text)
        self.assertIn("User unknown in local recipient table", text)
        self.assertEqual(r.cmd("DATA")[0], 503)
        # Ours stays ours: trailing dot, postmaster in every form.
        for rcpt in ("demo@demo.test.", "postmaster", "PostMaster@Demo.Test",
                     "@other.example:demo@demo.test"):
            self.assertEqual(r.cmd("RCPT TO:<%s>" % rcpt)[0], 250, rcpt)
        self.assertEqual(r.cmd("DATA")[0], 354)
        self.assertEqual(r.cmd("Subject: x\r\n\r\nx\r\n.")[0], 250)
        env, _ = read_queue_file(self.inst, self.new_files()[0])
        self.assertNotIn(b"other.example\n", env)
        self.assertNotIn(b"192.0.2.1", env)
        self.assertRegex(self.inst.log(),
                         r"NOQUEUE: reject: RCPT from unknown\[127\.0\.0\.2\]:"
                         r" 554 5\.7\.1 <outside@other\.example>: Relay access"
                         r" denied; from=<spammer@example\.org>"
                         r" to=<outside@other\.example> proto=ESMTP"
                         r" helo=<outsider\.example>")

    def test_trusted_client_relays(self):
        r = self.raw()
        r.cmd("EHLO insider.example")
        r.cmd("MAIL FROM:<me@demo.test>")
        self.assertEqual(r.cmd("RCPT TO:<outside@other.example>")[0], 250)
        self.assertEqual(r.cmd("RCPT TO:<user@[192.0.2.1]>")[0], 250)
        # Routing in a local part of ours is not a relay for anyone.
        self.assertEqual(r.cmd("RCPT TO:<user%other.example@demo.test>")[0],
                         550)
        self.assertEqual(r.cmd("RSET")[0], 250)


SMUGGLE = [b"\n.\n", b"\r.\n", b"\n.\r\n", b"\r\n.\r", b"\r.\r\n",
           b"\r\n.\n", b"\n.\r"]


def smuggle(test, forbid_rejects):
    """Run every smuggling sequence; never a second message."""
    for seq in SMUGGLE:
        r = test.raw()
        before = set(queue_files(test.inst))
        r.cmd("EHLO smuggler.example")
        r.cmd("MAIL FROM:<a@example.org>")
        r.cmd("RCPT TO:<demo@demo.test>")
        test.assertEqual(r.cmd("DATA")[0], 354)
        r.send(b"Subject: first\r\n\r\nbody" + seq +
               b"MAIL FROM:<evil@example.org>\r\n"
               b"RCPT TO:<demo@demo.test>\r\nDATA\r\n"
               b"Subject: smuggled\r\n\r\nsmuggled\r\n.\r\nQUIT\r\n")
        code, text = r.reply()
        # Exactly one answer to the data, then QUIT's.
        test.assertEqual(r.reply()[0], 221, (seq, text))
        test.assertTrue(r.closed())
        new = sorted(set(queue_files(test.inst)) - before)
        bare_lf = re.search(rb"(^|[^\r])\n", seq) is not None
        if bare_lf and forbid_rejects:
            test.assertEqual(text, "550 5.5.2 Error: bare <LF> received",
                             seq)
            test.assertEqual(new, [], seq)
            continue
        test.assertEqual(code, 250, (seq, text))
        test.assertEqual(len(new), 1, seq)
        env, content = read_queue_file(test.inst, new[0])
        test.assertNotIn(b"evil", env)
        test.assertIn(b"MAIL FROM:<evil@example.org>", content)
        test.assertIn(b"smuggled\n", content)


class SmuggleTest(SmtpdTest):
    def test_smuggling_forbid(self):
        smuggle(self, forbid_rejects=True)
        self.inst.wait_for_log(r"disallowed bare <LF> received")
        self.assert_serving()


class SmuggleNormalizeTest(SmtpdTest):
    config = dict(BASE_CONFIG, smtpd_forbid_bare_newline="no")

    def test_smuggling_normalize(self):
        smuggle(self, forbid_rejects=False)

    def test_bare_lf_stored_as_line_end(self):
        r = self.raw()
        r.cmd("EHLO lf.example")
        r.cmd("MAIL FROM:<a@example.org>")
        r.cmd("RCPT TO:<demo@demo.test>")
        r.cmd("DATA")
        r.send(b"Subject: lf\n\nline1\nline2\r\n..dot\n.\r\n")
        # ".\r\n" after a bare-LF line does not end the data ...
        r.send(b"more\r\n.\r\n")
        self.assertEqual(r.reply()[0], 250)
        _, content = read_queue_file(self.inst, self.new_files()[0])
        body, _ = strip_received(content)
        self.assertEqual(body, b"Subject: lf\n\nline1\nline2\n.dot\n\n"
                         b"more\n")


class DeliveryTest(unittest.TestCase):
    """The whole pipeline: smtpd -> qmgr -> local -> Maildir."""

    def test_delivered_bytes(self):
        harness.require_daemons(self, "smtpd", "qmgr", "local")
        with Instance(config={"smtpd_error_sleep_time": "0"}) as inst:
            inst.start()
            inst.wait_for_port(inst.smtp_port)
            try:
                inst.wait_for_unix("qmgr", timeout=5)
            except AssertionError:
                # Until master and qmgr bring up private/qmgr, the rest of
                # the pipeline cannot be judged here (test_qmgr's job).
                self.skipTest("qmgr is not listening on private/qmgr")
            lines = [b"From: a@example.org", b"To: demo@demo.test",
                     b"Subject: bytes", b"", b".leading", b"..double",
                     b"caf\xc3\xa9", b"w" * 998, b"v" * 3000,
                     b"\x01\x02\xfe binaryish", b"end"]
            msg = b"\r\n".join(lines) + b"\r\n"
            with inst.smtp() as s:
                s.sendmail("a@example.org", ["demo@demo.test"], msg,
                           mail_options=["BODY=8BITMIME"])
            got = inst.wait_for_maildir("demo.test/demo", 1)
            data = got[0][1]
            want = b"\n".join(lines) + b"\n"
            self.assertTrue(data.endswith(want), data[-200:])
            head = data[:len(data) - len(want)]
            self.assertIn(b"Received: from ", head)
            self.assertIn(b"by mail.demo.test (correo) with ESMTP", head)


if __name__ == "__main__":
    harness.main()
