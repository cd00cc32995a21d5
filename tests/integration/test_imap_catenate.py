#!/usr/bin/env python3
"""CATENATE (RFC 4469) over imap-login and imapd: APPEND builds a message
from TEXT literals and relative IMAP URLs (RFC 5092) of messages and
parts in the user's own mailboxes. Checked against bytes computed here:
a part of a multipart, its MIME header, HEADER.FIELDS, a whole message
with PARTIAL, URLs of another folder and of INBOX in any case, flags and
the internal date of the built message, APPENDUID; MULTIAPPEND with a
bad URL in its second message stores nothing (all or none); a wrong
UIDVALIDITY, an expunged or missing message, a missing mailbox, an
absolute URL, URLAUTH and a broken section get NO [BADURL url]; a
CATENATE to a missing mailbox gets NO [TRYCREATE]; a synchronizing
literal inside the CATENATE list gets its continuation.
"""
import os
import re
import shlex
import subprocess

import harness

PASSWORD = "catenate secret 7"
USER = "bob@demo.test"

PART1 = b"Hello Bob,\r\nthe report is attached.\r\n"
PART2_MIME = (b"Content-Type: text/plain; name=report.txt\r\n"
              b"Content-Disposition: attachment; filename=report.txt\r\n")
PART2 = b"line one of the report\r\nline two\r\n"
MULTI = (b"From: Alice <alice@example.org>\r\n"
         b"To: bob@demo.test\r\n"
         b"Subject: quarterly report\r\n"
         b"MIME-Version: 1.0\r\n"
         b"Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
         b"\r\n"
         b"--b1\r\n"
         b"Content-Type: text/plain\r\n"
         b"\r\n" + PART1 +
         b"--b1\r\n" + PART2_MIME +
         b"\r\n" + PART2 +
         b"--b1--\r\n")
SIMPLE = (b"From: carol@example.org\r\n"
          b"Subject: short\r\n"
          b"\r\n"
          b"just a line\r\n")


def lit(data):
    """A non-synchronizing literal (LITERAL+)."""
    return b"{%d+}\r\n" % len(data) + data


class CatenateTest(harness.TestCase):

    def setUp(self):
        m = self.imap_instance(USER, PASSWORD)
        self.assertIn("CATENATE", self.ok(m.capability())[0].decode())
        self.ok(m.create("Built"))
        self.ok(m.create("Other"))
        self.ok(m.append("INBOX", None, None, MULTI))
        self.ok(m.append("Other", None, None, SIMPLE))
        self.ok(m.select("INBOX"))
        self.uidvalidity = int(m.untagged_responses["UIDVALIDITY"][0])
        self.m = m
        self.raw = harness.ImapRaw(self.port, USER, PASSWORD)
        self.addCleanup(self.raw.close)

    def ok(self, result):
        typ, data = result
        self.assertEqual(typ, "OK", data)
        return data

    def built(self):
        """Every message of Built, as FETCH BODY.PEEK[] gives it."""
        typ, data = self.m.select("Built", readonly=True)
        self.assertEqual(typ, "OK")
        n = int(data[0])
        if n == 0:
            return []
        data = self.ok(self.m.fetch("1:*", "(BODY.PEEK[])"))
        return [d[1] for d in data if isinstance(d, tuple)]

    def append(self, parts, extra=b""):
        """APPEND to Built with CATENATE of parts: ("TEXT", bytes) or
        ("URL", str)."""
        items = []
        for kind, value in parts:
            if kind == "TEXT":
                items.append(b"TEXT " + lit(value))
            else:
                items.append(b"URL \"" + value.encode() + b"\"")
        return self.raw.cmd(b"a APPEND Built " + extra + b"CATENATE (" +
                            b" ".join(items) + b")")

    def test_parts_and_sections(self):
        ok, out = self.append([
            ("TEXT", b"From: bob@demo.test\r\nSubject: fwd\r\n\r\n"),
            ("URL", "/INBOX/;UID=1/;SECTION=1"),
            ("TEXT", b"-- attached --\r\n"),
            ("URL", "/inbox;UIDVALIDITY=%d/;UID=1/;SECTION=2"
             % self.uidvalidity),
        ], extra=b"(\\Seen $Forwarded) \"01-Feb-2024 10:00:00 +0000\" ")
        self.assertTrue(ok, out)
        m = re.search(rb"\[APPENDUID (\d+) (\d+)\]", out)
        self.assertIsNotNone(m, out)
        ok, out = self.append([
            ("URL", "/INBOX/;UID=1/;SECTION=2.MIME"),
            ("TEXT", b"\r\n"),
            ("URL", "/INBOX/;UID=1/;SECTION=HEADER.FIELDS%20(SUBJECT)"),
            ("URL", "/Other/;UID=1/;SECTION=TEXT"),
        ])
        self.assertTrue(ok, out)
        ok, out = self.append([
            ("URL", "/Other/;UID=1/;PARTIAL=0.23"),
            ("TEXT", b"\r\n\r\nbody\r\n"),
        ])
        self.assertTrue(ok, out)
        ok, out = self.append([
            ("URL", "/Other/;UID=1"),
        ])
        self.assertTrue(ok, out)
        self.assertEqual(self.built(), [
            # A part's body ends before the CRLF of the next boundary.
            b"From: bob@demo.test\r\nSubject: fwd\r\n\r\n" + PART1[:-2] +
            b"-- attached --\r\n" + PART2[:-2],
            PART2_MIME + b"\r\n" + b"\r\n" +
            b"Subject: quarterly report\r\n\r\n" + b"just a line\r\n",
            SIMPLE[:23] + b"\r\n\r\nbody\r\n",
            SIMPLE,
        ])
        data = self.ok(self.m.fetch("1", "(FLAGS INTERNALDATE)"))
        self.assertIn(b"\\Seen", data[0])
        self.assertIn(b"$Forwarded", data[0])
        self.assertIn(b"01-Feb-2024 10:00:00 +0000", data[0])

    def test_bad_urls(self):
        bad = [
            "/INBOX;UIDVALIDITY=%d/;UID=1" % (self.uidvalidity + 1),
            "/INBOX/;UID=99",
            "/Nonesuch/;UID=1",
            "imap://bob@localhost/INBOX/;UID=1",
            "/INBOX/;UID=1/;URLAUTH=anonymous:internal:00",
            "/INBOX/;UID=1/;SECTION=BOGUS",
            "/INBOX/;UID=0",
        ]
        for url in bad:
            ok, out = self.append([("TEXT", b"Subject: x\r\n\r\n"),
                                   ("URL", url)])
            self.assertFalse(ok, url)
            # The URL bare, not quoted (RFC 4469 5, erratum 4046).
            self.assertIn(b"NO [BADURL " + url.encode() + b"] ", out)
        # An expunged message is gone for a URL too.
        self.ok(self.m.select("Other"))
        self.ok(self.m.store("1", "+FLAGS", "\\Deleted"))
        self.ok(self.m.expunge())
        ok, out = self.append([("URL", "/Other/;UID=1")])
        self.assertIn(b"NO [BADURL", out)
        self.assertEqual(self.built(), [])
        # Not a CATENATE part, and an empty list: BAD.
        ok, out = self.raw.cmd(b"b APPEND Built CATENATE (FOO \"x\")")
        self.assertIn(b"b BAD", out)
        ok, out = self.raw.cmd(b"c APPEND Built CATENATE ()")
        self.assertIn(b"c BAD", out)
        # A missing target mailbox: TRYCREATE, whatever the URLs say.
        ok, out = self.raw.cmd(b"d APPEND Nowhere CATENATE (URL "
                               b"\"/INBOX/;UID=1\")")
        self.assertIn(b"d NO [TRYCREATE]", out)

    def test_multiappend_all_or_none(self):
        good = b"CATENATE (URL \"/INBOX/;UID=1/;SECTION=HEADER\" TEXT " + \
            lit(b"one\r\n") + b")"
        bad = b"CATENATE (URL \"/INBOX;UIDVALIDITY=%d/;UID=1\")" % (
            self.uidvalidity + 7)
        ok, out = self.raw.cmd(b"a APPEND Built " + good + b" " + bad)
        self.assertFalse(ok)
        self.assertIn(b"BADURL", out)
        self.assertEqual(self.built(), [])
        # Both good, with a plain literal in between: three messages.
        ok, out = self.raw.cmd(b"b APPEND Built " + good + b" " +
                               lit(SIMPLE) + b" " + good)
        self.assertTrue(ok, out)
        self.assertRegex(out, rb"\[APPENDUID \d+ 1:3\]|"
                         rb"\[APPENDUID \d+ 1,2,3\]")
        header = MULTI[:MULTI.index(b"\r\n\r\n") + 4]
        self.assertEqual(self.built(), [header + b"one\r\n", SIMPLE,
                                        header + b"one\r\n"])

    def test_multiappend_built_total_bounded(self):
        """URLs are short but what they name is not: a MULTIAPPEND of
        many CATENATEs of one big message must not make imapd hold them
        all (it builds every message before storing any). Past what the
        literals of one command may total (twice APPENDLIMIT), NO
        [TOOBIG], nothing stored, and the session goes on."""
        caps = self.ok(self.m.capability())[0].decode()
        limit = int(re.search(r"APPENDLIMIT=(\d+)", caps).group(1))
        line = b"x" * 1022 + b"\r\n"
        big = SIMPLE + line * (limit // 32 // len(line))
        self.ok(self.m.append("Other", None, None, big))
        count = 2 * limit // len(big) + 2
        ok, out = self.raw.cmd(b"a APPEND Built" +
                               b" CATENATE (URL \"/Other/;UID=2\")" * count)
        self.assertFalse(ok, out[-200:])
        self.assertIn(b"a NO [TOOBIG]", out)
        self.assertEqual(self.built(), [])
        # Under the bound it works, and the session is still fine.
        ok, out = self.raw.cmd(b"b APPEND Built" +
                               b" CATENATE (URL \"/Other/;UID=2\")" * 3)
        self.assertTrue(ok, out)
        self.assertEqual(len(self.built()), 3)

    def test_synchronizing_literal_in_list(self):
        text = b"Subject: sync\r\n\r\n"
        self.raw.send(b"s APPEND Built CATENATE (TEXT {%d}\r\n" % len(text))
        self.assertTrue(self.raw.line().startswith(b"+"))
        self.raw.send(text + b" URL \"/Other/;UID=1/;SECTION=TEXT\")\r\n")
        ok, out = self.raw.read_until_tag(b"s")
        self.assertTrue(ok, out)
        self.assertEqual(self.built(), [text + b"just a line\r\n"])



class CatenateReadsTest(harness.TestCase):
    """A pre-authenticated imapd on a pipe, so the test can read its
    /proc/PID/io: a CATENATE of many URLs naming one message reads that
    message once, not once per URL (short commands must not make imapd
    read a big file thousands of times)."""

    def setUp(self):
        harness.require_daemons(self, "imapd")
        inst = self.instance(config={})
        md = os.path.join(inst.mail_dir, "demo.test", "demo")
        os.makedirs(os.path.join(md, "new"), exist_ok=True)
        cmd = "%s -m %s -u demo" % (shlex.quote(harness.libexec("imapd")),
                                    shlex.quote(md))
        if inst.user is not None:
            cmd = "setpriv --reuid=%d --regid=%d --clear-groups %s" % (
                inst.user.pw_uid, inst.user.pw_gid, cmd)
        self.p = subprocess.Popen(cmd, shell=True, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE)
        self.addCleanup(self.close)
        self.p.stdout.readline()

    def close(self):
        self.p.stdin.close()
        self.p.wait(timeout=30)
        self.p.stdout.close()

    def cmd(self, line):
        tag = line.split(b" ", 1)[0]
        self.p.stdin.write(line + b"\r\n")
        self.p.stdin.flush()
        out = b""
        while True:
            got = self.p.stdout.readline()
            self.assertTrue(got, out)
            out += got
            if got.startswith(tag + b" "):
                return out

    def read_bytes(self):
        """What the imapd process (the shell's child, or the shell
        itself after exec) has read so far."""
        pids = [self.p.pid]
        try:
            with open("/proc/%d/task/%d/children" % (self.p.pid,
                                                      self.p.pid)) as f:
                pids += [int(x) for x in f.read().split()]
        except OSError:
            pass
        total = 0
        for pid in pids:
            with open("/proc/%d/io" % pid) as f:
                for line in f:
                    if line.startswith("rchar:"):
                        total += int(line.split()[1])
        return total

    def test_one_read_per_message(self):
        big = SIMPLE + (b"y" * 998 + b"\r\n") * 1024    # 1 MB
        self.assertIn(b"a OK", self.cmd(b"a CREATE Built"))
        self.assertIn(b"b OK", self.cmd(b"b APPEND INBOX " + lit(big)))
        before = self.read_bytes()
        parts = b" ".join(b"URL \"/INBOX/;UID=1/;PARTIAL=%d.1\"" % i
                          for i in range(100))
        out = self.cmd(b"c APPEND Built CATENATE (" + parts + b")")
        self.assertIn(b"c OK", out)
        out = self.cmd(b"d APPEND Built" +
                       b" CATENATE (URL \"/INBOX/;UID=1/;PARTIAL=0.5\")" *
                       50)
        self.assertIn(b"d OK", out)
        # 150 URLs of a 1 MB message: read once per command (twice in
        # all), not 150 times.
        self.assertLess(self.read_bytes() - before, 4 * len(big))
        out = self.cmd(b"e SELECT Built")
        self.assertIn(b"* 51 EXISTS", out)
        # What was read once served every part.
        out = self.cmd(b"f FETCH 1:2 BODY.PEEK[]")
        self.assertIn(b"{100}\r\n" + big[:100] + b")", out)
        self.assertIn(b"{5}\r\n" + big[:5] + b")", out)


if __name__ == "__main__":
    harness.main()
