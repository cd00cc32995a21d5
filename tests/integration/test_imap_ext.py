#!/usr/bin/env python3
"""imap_ext: the IMAP extensions of issue 10 item 4 over loopback, with
imaplib (and a deflate wrapper of it, as imaplib has no COMPRESS):

- COMPRESS=DEFLATE (RFC 4978) after a plaintext login on 143 (the socket
  is the mail process's) and after a TLS login on 993 (imap-login relays
  the bytes): everything after the OK is raw deflate both ways, a big
  APPEND and FETCH go through it, a second COMPRESS is answered
  [COMPRESSIONACTIVE], a "bomb" line is refused by the line limit;
- UTF8=ACCEPT (RFC 6855): ENABLE, UTF-8 mailbox names both ways (mUTF-7
  for a client that did not enable it), APPEND UTF8 (~{n}), SEARCH with
  UTF-8 strings and without CHARSET;
- OBJECTID (RFC 8474): MAILBOXID in CREATE, SELECT and STATUS and across
  RENAME, a new one after DELETE and CREATE; EMAILID the same after COPY,
  MOVE, another session and an index rebuild; SEARCH EMAILID/THREADID;
- PREVIEW (RFC 8970): plain, quoted-printable Latin-1, base64, HTML only,
  multipart/alternative, an attachment first, truncation at 256
  characters, PREVIEW (LAZY);
- SAVEDATE (RFC 8514): the save date, not the internal date, unchanged by
  a flag change; SEARCH SAVEDSINCE/SAVEDON/SAVEDBEFORE/SAVEDATESUPPORTED.
"""
import base64
import imaplib
import os
import re
import shutil
import socket
import ssl
import time
import unittest
import zlib

import harness

PASSWORD = "ext secret 7"
USER = "bob@demo.test"

imaplib.Commands.setdefault("COMPRESS", ("AUTH", "SELECTED"))
imaplib.Commands.setdefault("ENABLE", ("AUTH",))


def tls_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class DeflateMixin:
    """imaplib with COMPRESS=DEFLATE: after the OK, send() compresses
    with a sync flush per command and read()/readline() inflate."""

    _zo = None

    def compress(self):
        typ, data = self._simple_command("COMPRESS", "DEFLATE")
        if typ == "OK":
            self._zo = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION,
                                        zlib.DEFLATED, -15)
            self._zi = zlib.decompressobj(-15)
            self._plain = b""
            self.raw_in = self.raw_out = 0
        return typ, data

    def send(self, data):
        if self._zo is not None:
            data = self._zo.compress(data) + self._zo.flush(zlib.Z_SYNC_FLUSH)
            self.raw_out += len(data)
        super().send(data)

    def _fill(self):
        raw = self.file.read1(65536)
        if not raw:
            raise imaplib.IMAP4.abort("EOF on compressed stream")
        self.raw_in += len(raw)
        self._plain += self._zi.decompress(raw)

    def read(self, size):
        if self._zo is None:
            return super().read(size)
        while len(self._plain) < size:
            self._fill()
        data, self._plain = self._plain[:size], self._plain[size:]
        return data

    def readline(self):
        if self._zo is None:
            return super().readline()
        while b"\n" not in self._plain:
            self._fill()
        i = self._plain.index(b"\n") + 1
        line, self._plain = self._plain[:i], self._plain[i:]
        return line


class DeflateIMAP4(DeflateMixin, imaplib.IMAP4):
    pass


class DeflateIMAP4_SSL(DeflateMixin, imaplib.IMAP4_SSL):
    pass


def message(subject, body, headers=""):
    return ("From: Ann <ann@demo.test>\r\nTo: bob@demo.test\r\n"
            "Subject: %s\r\nDate: Mon, 01 Jan 2024 10:00:00 +0000\r\n"
            "Message-ID: <%s@demo.test>\r\n%s\r\n%s" % (
                subject, subject.replace(" ", "."), headers,
                body)).encode("latin-1")


class ImapExtTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        for d in ("imapd", "imap-login", "auth"):
            if not harness.have_daemon(d):
                raise unittest.SkipTest(d + " not built")
        inst = harness.Instance(config={"auth_failure_delay": "10ms",
                                        "auth_failure_delay_max": "20ms"})
        cls.addClassCleanup(inst.cleanup)
        cls.p143, cls.p993 = inst.port(143), inst.port(993)
        inst.make_cert()
        inst.add_user(USER, PASSWORD)
        inst.start()
        for p in (cls.p143, cls.p993):
            inst.wait_for_port(p)
        cls.inst = inst
        cls.maildir = os.path.join(inst.mail_dir, "demo.test", "bob")

    def tearDown(self):
        # In a sanitizer build, a report from any process is a failure.
        err = self.inst.master_stderr()
        for bad in ("Sanitizer", "runtime error:"):
            self.assertNotIn(bad, err, self.inst.log_tail())

    def login(self, cls=imaplib.IMAP4, tls=False):
        if tls:
            m = cls("127.0.0.1", self.p993, ssl_context=tls_context(),
                    timeout=30)
        else:
            m = cls("127.0.0.1", self.p143, timeout=30)
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

    def ok(self, result):
        typ, data = result
        self.assertEqual(typ, "OK", data)
        return data

    def bad(self, fn, *args):
        """The command is answered BAD (imaplib raises on BAD)."""
        with self.assertRaises(imaplib.IMAP4.error) as cm:
            typ, data = fn(*args)
            if typ == "BAD":
                raise imaplib.IMAP4.error("BAD %s" % data)
        self.assertIn("BAD", str(cm.exception))

    def fresh(self, m, name):
        m.delete(name)
        self.ok(m.create(name))

    def append(self, m, box, msg, flags=None, date=None):
        data = self.ok(m.append(box, flags, date, msg))
        uid = re.search(rb"APPENDUID \d+ (\d+)", data[0])
        return int(uid.group(1))

    # --- COMPRESS ---

    def compress_session(self, tls):
        m = self.login(DeflateIMAP4_SSL if tls else DeflateIMAP4, tls)
        self.assertIn(b"COMPRESS=DEFLATE", self.ok(m.capability())[0])
        box = "Z%s" % ("tls" if tls else "plain")
        self.fresh(m, box)
        self.ok(m.compress())
        # A second COMPRESS, compressed itself: COMPRESSIONACTIVE.
        typ, data = m._simple_command("COMPRESS", "DEFLATE")
        self.assertEqual(typ, "NO")
        self.assertIn(b"[COMPRESSIONACTIVE]", data[0])
        # A compressible 1 MB message both ways.
        body = "".join("line %06d of a long and repetitive body\r\n" % i
                       for i in range(25000))
        msg = message("big %s" % box, body)
        uid = self.append(m, box, msg)
        self.ok(m.select(box))
        data = self.ok(m.uid("FETCH", str(uid), "(BODY.PEEK[])"))
        self.assertEqual(data[0][1], msg)
        data = self.ok(m.uid("FETCH", str(uid), "(RFC822.SIZE)"))
        self.assertIn(b"RFC822.SIZE %d" % len(msg), data[0])
        # The wire carried deflate: far fewer bytes than the message.
        self.assertLess(m.raw_out, len(msg) // 5)
        self.assertLess(m.raw_in, len(msg) // 5)
        # Many small commands, each answered whole after its flush.
        for i in range(50):
            self.ok(m.noop())
        typ, data = m.uid("SEARCH", "BODY", "\"line 024999\"")
        self.assertEqual(data[0].split(), [str(uid).encode()])
        # IDLE: a delivery by another session is pushed through the
        # deflate stream (flushed at once), and DONE is read from it.
        m.send(b"t1 IDLE\r\n")
        self.assertTrue(m.readline().startswith(b"+"))
        other = self.login()
        self.append(other, box, message("pushed", "x\r\n"))
        self.assertEqual(m.readline(), b"* 2 EXISTS\r\n")
        m.send(b"DONE\r\n")
        line = m.readline()
        while line.startswith(b"*"):
            line = m.readline()
        self.assertTrue(line.startswith(b"t1 OK"), line)
        self.ok(m.noop())

    def test_compress_plaintext(self):
        self.compress_session(tls=False)

    def test_compress_tls_proxy(self):
        self.compress_session(tls=True)

    def test_compress_raw_stream_and_bomb(self):
        # Raw socket: after the OK the server's bytes are deflate, not
        # text; a line that inflates to 64 MB is cut off by the line
        # limit (a BYE), not buffered.
        s = socket.create_connection(("127.0.0.1", self.p143), timeout=60)
        self.addCleanup(s.close)
        f = s.makefile("rb")
        self.assertTrue(f.readline().startswith(b"* OK"))
        s.sendall(b'a LOGIN "%s" "%s"\r\n' % (USER.encode(),
                                              PASSWORD.encode()))
        while not f.readline().startswith(b"a OK"):
            pass
        # Pipelined: the first compressed command in the same packet as
        # COMPRESS itself.
        zo = zlib.compressobj(9, zlib.DEFLATED, -15)
        zi = zlib.decompressobj(-15)
        s.sendall(b"b COMPRESS DEFLATE\r\n" + zo.compress(b"c NOOP\r\n") +
                  zo.flush(zlib.Z_SYNC_FLUSH))
        self.assertTrue(f.readline().startswith(b"b OK"))
        raw = b""
        while b"c OK" not in zi.decompress(raw) and len(raw) < 1000:
            raw += f.read1(4096)
        self.assertNotIn(b"c OK", raw)     # compressed on the wire
        bomb = zo.compress(b"d NOOP " + b"a" * (64 << 20) + b"\r\n")
        bomb += zo.compress(b"e NOOP\r\n") + zo.flush(zlib.Z_SYNC_FLUSH)
        self.assertLess(len(bomb), 200 * 1024)
        s.sendall(bomb)
        out = b""
        while b"e OK" not in out:
            raw = f.read1(4096)
            self.assertTrue(raw, out)
            out += zi.decompress(raw)
        # Refused by the line limit, and the session goes on: 64 MB went
        # through a bounded inflate, never into one buffer.
        self.assertRegex(out, rb"d BAD Command line too long")

    # --- UTF8=ACCEPT ---

    def append_utf8(self, m, box, msg):
        tag = m._new_tag()
        m.send(b'%s APPEND "%s" UTF8 (~{%d}\r\n' % (tag, box.encode(),
                                                   len(msg)))
        line = m.readline()
        self.assertTrue(line.startswith(b"+"), line)
        m.send(msg + b")\r\n")
        line = m.readline()
        while line.startswith(b"*"):
            line = m.readline()
        self.assertTrue(line.startswith(tag + b" OK [APPENDUID"), line)

    def test_utf8_accept(self):
        m = self.login()
        self.assertIn(b"UTF8=ACCEPT", self.ok(m.capability())[0])
        # Before ENABLE: UTF8 APPEND is refused.
        self.bad(m._simple_command, "APPEND", "INBOX", "UTF8",
                 "(~{1}\r\nx)")
        typ, data = m.enable("UTF8=ACCEPT")
        self.assertEqual(typ, "OK")
        self.assertEqual(m.untagged_responses.pop("ENABLED"),
                         [b"UTF8=ACCEPT"])
        self.assertEqual(m._encoding, "utf-8")
        name = "Ünïcødé €"
        m.delete('"%s"' % name)
        typ, data = m._simple_command("CREATE", '"%s"' % name)
        self.assertEqual(typ, "OK", data)
        typ, data = m.list('""', "*")
        self.assertIn(('"%s"' % name).encode(), b"\n".join(data))
        # Messages with raw UTF-8 headers, as literal8s. (imaplib's
        # own append() in UTF-8 mode puts "UTF8 (" inside its literal.)
        self.append_utf8(m, name, (
            "From: Zoë <zoe@demo.test>\r\nSubject: Grüße aus Köln\r\n"
            "\r\nHallo Welt\r\n").encode())
        self.append_utf8(m, name, "Subject: Ça va\r\n\r\nbien\r\n"
                         .encode())
        self.ok(m.select('"%s"' % name))
        data = self.ok(m.fetch("1", "(ENVELOPE)"))
        # UTF-8 goes out in a quoted string once enabled.
        self.assertIn('"Grüße aus Köln"'.encode(), data[0])
        typ, data = m.search(None, "SUBJECT", '"Grüße"')
        self.assertEqual(typ, "OK")
        self.assertEqual(data[0].split(), [b"1"])
        typ, data = m.search(None, "SUBJECT", '"Ça VA"')
        self.assertEqual(data[0].split(), [b"2"])
        self.bad(m._simple_command, "SEARCH", "CHARSET", "UTF-8", "ALL")
        # Another session that did not enable it sees modified UTF-7.
        m2 = self.login()
        typ, data = m2.list('""', "*")
        self.assertIn(b'"&ANw-n&AO8-c&APg-d&AOk- &IKw-"', b"\n".join(data))

    # --- OBJECTID ---

    def mailboxid(self, text):
        found = re.search(rb"MAILBOXID \(([A-Za-z0-9_-]+)\)", text)
        self.assertIsNotNone(found, text)
        return found.group(1)

    def test_objectid(self):
        m = self.login()
        self.assertIn(b"OBJECTID", self.ok(m.capability())[0])
        m.delete("Oa")
        m.delete("Ob")
        m.delete("Oc")
        typ, data = m.create("Oa")
        self.assertEqual(typ, "OK")
        ida = self.mailboxid(data[0])
        self.ok(m.create("Ob"))
        data = self.ok(m.status("Oa", "(MESSAGES MAILBOXID)"))
        self.assertEqual(self.mailboxid(data[0]), ida)
        self.ok(m.select("Oa"))
        sel = m.untagged_responses.get("OK", [])
        self.assertIn(ida, b" ".join(self.mailboxid(x) for x in sel
                                     if b"MAILBOXID" in x))
        self.ok(m.close())
        self.ok(m.rename("Oa", "Oc"))
        data = self.ok(m.status("Oc", "(MAILBOXID)"))
        self.assertEqual(self.mailboxid(data[0]), ida)
        self.ok(m.delete("Oc"))
        typ, data = m.create("Oc")
        self.assertNotEqual(self.mailboxid(data[0]), ida)
        # EMAILID: distinct per message, kept by COPY and MOVE.
        u1 = self.append(m, "Oc", message("one", "first\r\n"))
        u2 = self.append(m, "Oc", message("two", "second\r\n"))
        self.ok(m.select("Oc"))
        data = self.ok(m.uid("FETCH", "%d:%d" % (u1, u2),
                             "(EMAILID THREADID)"))
        ids = re.findall(rb"EMAILID \(([A-Za-z0-9_-]+)\)", b" ".join(
            d if isinstance(d, bytes) else d[0] for d in data))
        self.assertEqual(len(ids), 2)
        self.assertNotEqual(ids[0], ids[1])
        self.assertIn(b"THREADID NIL", data[0])
        typ, data = m.uid("SEARCH", "EMAILID", ids[1].decode())
        self.assertEqual(data[0].split(), [str(u2).encode()])
        typ, data = m.uid("SEARCH", "THREADID", "T123")
        self.assertEqual((typ, data[0]), ("OK", b""))
        self.bad(m.uid, "SEARCH", "EMAILID", "bad.id")
        self.ok(m.uid("COPY", str(u1), "Ob"))
        self.ok(m.uid("MOVE", str(u2), "Ob"))
        m2 = self.login()
        self.ok(m2.select("Ob"))
        data = self.ok(m2.fetch("1:*", "(EMAILID)"))
        self.assertEqual(sorted(re.findall(rb"EMAILID \(([^)]+)\)",
                                           b" ".join(data))), sorted(ids))
        m2.logout()
        # The ids are the store's: an index rebuild keeps them.
        for f in os.listdir(os.path.join(self.maildir, ".Ob")):
            if f.startswith("correo-index"):
                os.unlink(os.path.join(self.maildir, ".Ob", f))
        m3 = self.login()
        self.ok(m3.select("Ob"))
        data = self.ok(m3.fetch("1:*", "(EMAILID)"))
        self.assertEqual(sorted(re.findall(rb"EMAILID \(([^)]+)\)",
                                           b" ".join(data))), sorted(ids))
        # A move into the mailbox m3 has selected, by another session:
        # m3's next FETCH sees the moved message's recorded id.
        self.ok(m.uid("MOVE", str(u1), "Ob"))
        self.ok(m3.noop())
        data = self.ok(m3.fetch("1:*", "(EMAILID)"))
        self.assertEqual(sorted(re.findall(rb"EMAILID \(([^)]+)\)",
                                           b" ".join(data))),
                         sorted(ids + [ids[0]]))
        data = self.ok(m3.status("Ob", "(MAILBOXID)"))
        self.assertEqual(self.mailboxid(data[0]),
                         self.mailboxid(self.ok(m.status("Ob",
                                                         "(MAILBOXID)"))[0]))

    # --- PREVIEW ---

    def preview(self, m, uid, item="PREVIEW"):
        data = self.ok(m.uid("FETCH", str(uid), "(%s)" % item))
        if isinstance(data[0], tuple):   # a literal (8-bit text)
            return data[0][1].decode()
        found = re.search(rb'PREVIEW "((?:[^"\\]|\\.)*)"', data[0])
        self.assertIsNotNone(found, data)
        return found.group(1).decode().replace('\\"', '"').replace(
            "\\\\", "\\")

    def test_preview(self):
        m = self.login()
        self.assertIn(b"PREVIEW", self.ok(m.capability())[0])
        self.fresh(m, "Pv")
        plain = self.append(m, "Pv", message(
            "plain", "Hello   Bob,\r\n\r\n  the\tmeeting is at 10.\r\n"))
        qp = self.append(m, "Pv", message(
            "qp", "Caf=E9 au lait =\r\nsoft break\r\n",
            "Content-Type: text/plain; charset=iso-8859-1\r\n"
            "Content-Transfer-Encoding: quoted-printable\r\n"))
        b64 = self.append(m, "Pv", message(
            "b64", base64.encodebytes("Grüße — € 5\n".encode()).decode()
            .replace("\n", "\r\n"),
            "Content-Type: text/plain; charset=utf-8\r\n"
            "Content-Transfer-Encoding: base64\r\n"))
        html = self.append(m, "Pv", message(
            "html", "<html><head><title>T</title><style>p {x}</style>"
            "</head><body><p>Dear&nbsp;Bob,</p><script>var x;</script>"
            "<p>see &lt;this&gt; &amp; &#233;t&#xe9;</p></body></html>\r\n",
            "Content-Type: text/html; charset=us-ascii\r\n"))
        alt = self.append(m, "Pv", message(
            "alt", "--b\r\nContent-Type: text/html\r\n\r\n<b>html</b>\r\n"
            "--b\r\nContent-Type: text/plain\r\n\r\nplain wins\r\n--b--\r\n",
            "MIME-Version: 1.0\r\n"
            "Content-Type: multipart/alternative; boundary=b\r\n"))
        att = self.append(m, "Pv", message(
            "att", "--b\r\nContent-Type: text/plain\r\n"
            "Content-Disposition: attachment; filename=a.txt\r\n\r\n"
            "attached\r\n--b\r\nContent-Type: image/png\r\n\r\nPNG\r\n"
            "--b\r\nContent-Type: text/plain\r\n\r\nthe body\r\n--b--\r\n",
            "MIME-Version: 1.0\r\n"
            "Content-Type: multipart/mixed; boundary=b\r\n"))
        long_ = self.append(m, "Pv", message(
            "long", "word " * 200 + "\r\n"))
        none = self.append(m, "Pv", message(
            "none", "PNG", "Content-Type: image/png\r\n"))
        self.ok(m.select("Pv"))
        self.assertEqual(self.preview(m, plain),
                         "Hello Bob, the meeting is at 10.")
        self.assertEqual(self.preview(m, qp), "Café au lait soft break")
        self.assertEqual(self.preview(m, b64), "Grüße — € 5")
        self.assertEqual(self.preview(m, html),
                         "Dear Bob, see <this> & été")
        self.assertEqual(self.preview(m, alt), "plain wins")
        self.assertEqual(self.preview(m, att), "the body")
        text = self.preview(m, long_)
        self.assertEqual(len(text), 256)
        self.assertEqual(text, ("word " * 60)[:256])
        self.assertEqual(self.preview(m, none), "")
        self.assertEqual(self.preview(m, plain, "PREVIEW (LAZY)"),
                         "Hello Bob, the meeting is at 10.")
        self.bad(m.uid, "FETCH", str(plain), "(PREVIEW (FUZZY))")
        # PREVIEW does not set \Seen.
        data = self.ok(m.uid("FETCH", str(plain), "(FLAGS)"))
        self.assertNotIn(b"\\Seen", data[0])

    # --- SAVEDATE ---

    def savedate(self, m, uid):
        data = self.ok(m.uid("FETCH", str(uid), "(SAVEDATE INTERNALDATE)"))
        found = re.search(rb'SAVEDATE "([^"]+)"', data[0])
        self.assertIsNotNone(found, data)
        return found.group(1).decode()

    def test_savedate(self):
        m = self.login()
        self.assertIn(b"SAVEDATE", self.ok(m.capability())[0])
        self.fresh(m, "Sv")
        m.delete("Sv2")
        self.ok(m.create("Sv2"))
        before = time.time()
        uid = self.append(m, "Sv", message("old", "x\r\n"),
                          date='"01-Jan-2020 12:00:00 +0000"')
        self.ok(m.select("Sv"))
        data = self.ok(m.uid("FETCH", str(uid), "(INTERNALDATE)"))
        self.assertIn(b"01-Jan-2020", data[0])
        saved = self.savedate(m, uid)
        t = time.mktime(time.strptime(saved[:20], "%d-%b-%Y %H:%M:%S")) \
            - time.timezone
        self.assertLessEqual(abs(t - before), 5, saved)
        today = time.strftime("%d-%b-%Y", time.gmtime(t))
        # A flag change renames the file: the save date stays.
        self.ok(m.uid("STORE", str(uid), "+FLAGS", "(\\Flagged)"))
        self.assertEqual(self.savedate(m, uid), saved)
        for key, want in (("SAVEDSINCE " + today, [uid]),
                          ("SAVEDON " + today, [uid]),
                          ("SAVEDBEFORE " + today, []),
                          ("SAVEDBEFORE 02-Jan-2020", []),
                          ("SAVEDATESUPPORTED", [uid]),
                          ("SINCE " + today, [])):
            typ, data = m.uid("SEARCH", *key.split())
            self.assertEqual(typ, "OK")
            self.assertEqual([int(x) for x in data[0].split()], want, key)
        # Moved: saved into Sv2 now, a new save date is allowed to be
        # the same second; it must still be today and the internal date
        # unchanged.
        self.ok(m.uid("MOVE", str(uid), "Sv2"))
        self.ok(m.select("Sv2"))
        data = self.ok(m.fetch("1", "(SAVEDATE INTERNALDATE)"))
        self.assertIn(b"01-Jan-2020", data[0])
        self.assertIn(today.encode(), data[0])


if __name__ == "__main__":
    harness.main()
