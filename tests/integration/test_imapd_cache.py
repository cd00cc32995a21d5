"""imapd on the store's message cache (correo-cache).

Mail delivered over SMTP (local through the store fills the cache) and a
file dropped into new/ by another program (filled at its first FETCH).
Checked, on the raw bytes of a pre-authenticated imapd on a pipe: a
folder listing (ENVELOPE, BODYSTRUCTURE, BODY, the header fields mail
readers ask for) opens no message file (strace, when installed), and is
served from the cache even when the files' text changed behind its back;
SEARCH on cached header fields likewise; the answers are the same bytes
with the cache, without it, and with a damaged one (recomputed, no error
to the client), in IMAP4rev1 and after ENABLE IMAP4rev2 (UTF-8 strings).
"""

import os
import re
import shlex
import shutil
import subprocess
import tempfile
import time
import unittest

import harness

SERVICES = """
127.0.0.1:{smtp_port} inet n - n - 100 smtpd
qmgr unix - - n 300 1 qmgr
local unix - root n - 10 local
"""

LISTING = (b"FETCH 1:* (UID FLAGS ENVELOPE BODYSTRUCTURE BODY "
           b"BODY.PEEK[HEADER.FIELDS (From To Cc Subject Date Message-ID "
           b"References In-Reply-To Content-Type)] "
           b"BODY.PEEK[HEADER.FIELDS (DATE FROM SUBJECT)]<0.20>)")


def message(n):
    return ("From: =?utf-8?q?J=C3=B6rg?= <joerg@example.org>\r\n"
            "To: demo@demo.test\r\nCc: \"Dup, Licate\" <d@example.org>\r\n"
            "Subject: cache test %d \xe9t\xe9\r\n"
            "Message-ID: <c%d@example.org>\r\n"
            "Date: Wed, 2 Dec 2026 10:00:00 +0000\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n"
            "--b%d\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
            "hello %d\r\n--b%d\r\nContent-Type: application/pdf; "
            "name=x.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            "JVBERi0=\r\n--b%d--\r\n" % ((n,) * 7))


DROPPED = (b"From: other@example.org\nSubject: dropped in\n"
           b"References: <a@b> <c@d>\n\nplain text\n")


class RawImapd:
    """A pre-authenticated imapd on a pipe, read byte for byte."""

    def __init__(self, cmd):
        self.proc = subprocess.Popen(cmd, shell=True, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE)
        self.tag = 0
        self.read_response(b"*")

    def read_response(self, tag):
        out = b""
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise AssertionError("imapd closed: %r" % out)
            out += line
            m = re.search(rb"\{(\d+)\}\r\n$", line)
            if m:
                out += self.proc.stdout.read(int(m.group(1)))
                continue
            if line.startswith(tag + b" "):
                return out

    def command(self, text):
        self.tag += 1
        tag = b"c%d" % self.tag
        self.proc.stdin.write(tag + b" " + text + b"\r\n")
        self.proc.stdin.flush()
        out = self.read_response(tag)
        last = out.rstrip(b"\r\n").rsplit(b"\r\n", 1)[-1]
        if not last.startswith(tag + b" OK"):
            raise AssertionError("%r: %r" % (text, out))
        return out

    def close(self):
        try:
            self.command(b"LOGOUT")
        except AssertionError:
            pass
        self.proc.stdin.close()
        self.proc.stdout.close()
        self.proc.wait(timeout=30)


class ImapdCacheTest(harness.TestCase):

    def setUp(self):
        harness.require_daemons(self, "smtpd", "qmgr", "local", "master",
                                "imapd")
        self.inst = self.instance(services=SERVICES, config={
            "queue_run_delay": "1s"})
        self.inst.start()
        self.md = os.path.join(self.inst.mail_dir, "demo.test", "demo")
        for n in (1, 2, 3):
            self.inst.send_mail("alice@example.org", ["demo@demo.test"],
                                message(n).encode("utf-8"))
            self.inst.wait_for_maildir("demo.test/demo", n)
        # A reader gives the delivered messages UIDs 1-3 (local does
        # not index; the first reader does, in name order, which would
        # put the file dropped below first).
        s = RawImapd(self.imapd_cmd())
        try:
            s.command(b"EXAMINE INBOX")
        finally:
            s.close()
        # Another program's file, not delivered through the store.
        path = os.path.join(self.md, "new", "1700000000.dropped.host")
        with open(path, "wb") as f:
            f.write(DROPPED)
        if self.inst.user is not None:
            os.chown(path, self.inst.user.pw_uid, self.inst.user.pw_gid)
        self.cache = os.path.join(self.md, "correo-cache")

    def imapd_cmd(self, wrap=""):
        cmd = "%s -m %s -u demo" % (
            shlex.quote(harness.libexec("imapd")), shlex.quote(self.md))
        if self.inst.user is not None:
            cmd = "setpriv --reuid=%d --regid=%d --clear-groups %s" % (
                self.inst.user.pw_uid, self.inst.user.pw_gid, cmd)
        return wrap + cmd

    def listing(self, wrap="", rev2=False, search=True):
        s = RawImapd(self.imapd_cmd(wrap))
        try:
            if rev2:
                s.command(b"ENABLE IMAP4rev2")
            s.command(b"EXAMINE INBOX")
            out = [s.command(LISTING)]
            if search:
                out.append(s.command(b"SEARCH SUBJECT \"cache test 2\""))
                out.append(s.command(b"SEARCH FROM \"joerg\" NOT HEADER "
                                     b"References \"<c@d>\""))
                out.append(s.command(b"SEARCH HEADER Message-ID c3"))
            return out
        finally:
            s.close()

    def message_files(self):
        names = []
        for sub in ("new", "cur"):
            names += [os.path.join(self.md, sub, n)
                      for n in os.listdir(os.path.join(self.md, sub))]
        return names

    def test_same_bytes_with_and_without_cache(self):
        firsts = {}
        for rev2 in (False, True):
            with self.subTest(rev2=rev2):
                first = self.listing(rev2=rev2)   # fills the dropped one
                firsts[rev2] = first
                self.assertTrue(os.path.exists(self.cache))
                cached = self.listing(rev2=rev2)
                self.assertEqual(cached, first)
                os.unlink(self.cache)
                self.assertEqual(self.listing(rev2=rev2), first)
                # Damaged: garbage in the middle and a torn tail.
                with open(self.cache, "r+b") as f:
                    data = f.read()
                    f.seek(len(data) // 2)
                    f.write(b"\0garbage\xff" * 20)
                    f.truncate(len(data) - 7)
                self.assertEqual(self.listing(rev2=rev2), first)
                # Not a cache at all.
                with open(self.cache, "wb") as f:
                    f.write(b"not a cache\n")
                self.assertEqual(self.listing(rev2=rev2), first)
        self.assertIn(b"\"cache test 1", first[0])
        # The dropped file is listed too.
        self.assertIn(b"Subject: dropped in\r\n", first[0])
        # The 8-bit Subject: a literal in IMAP4rev1, a UTF-8 quoted
        # string in IMAP4rev2.
        self.assertIn("\"cache test 1 \xe9t\xe9\"".encode(), firsts[True][0])
        self.assertNotIn("\"cache test 1 \xe9t\xe9\"".encode(),
                         firsts[False][0])
        # (first is the IMAP4rev2 one: ESEARCH answers.)
        self.assertRegex(first[1], rb"ALL 2\r\n")
        self.assertRegex(first[2], rb"ALL 1:3\r\n")
        self.assertRegex(first[3], rb"ALL 3\r\n")

    def test_listing_served_from_cache(self):
        first = self.listing()
        # The files' text changes behind the cache's back (same names,
        # so no rescan): the listing still shows what was delivered.
        for path in self.message_files():
            with open(path, "r+b") as f:
                f.truncate(0)
                f.write(b"Subject: changed\n\nx\n")
        self.assertEqual(self.listing(), first)

    @unittest.skipUnless(shutil.which("strace"), "strace not installed")
    def test_listing_opens_no_message_file(self):
        self.listing()      # the dropped file's entry is computed here
        with tempfile.TemporaryDirectory() as tmp:
            log = os.path.join(tmp, "strace")
            self.listing(wrap="strace -f -qq -e trace=open,openat -o %s "
                         % shlex.quote(log))
            with open(log) as f:
                opened = f.read()
        self.assertIn("correo-cache", opened)
        for path in self.message_files():
            self.assertNotIn(os.path.basename(path).split(":")[0], opened)
        # Without the cache the same listing reads the files (the check
        # above can fail).
        os.unlink(self.cache)
        with tempfile.TemporaryDirectory() as tmp:
            log = os.path.join(tmp, "strace")
            self.listing(wrap="strace -f -qq -e trace=open,openat -o %s "
                         % shlex.quote(log), search=False)
            with open(log) as f:
                opened = f.read()
        self.assertIn("1700000000.dropped.host", opened)


if __name__ == "__main__":
    harness.main()
