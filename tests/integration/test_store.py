"""The mailbox store at delivery: local writes the Maildir file only.

Messages delivered over SMTP land in new/ with no index record
(correo-index.log holds no A record for them), as Postfix's local
delivers for Dovecot; the first IMAP reader gives them their UIDs in
delivery order (the names start with the delivery time), and a session
that has the folder selected sees the next delivery at its next command
(new/'s mtime changed; one within the same clock tick as the session's
last scan is caught because an mtime younger than two seconds is never
recorded as clean: test_store.c same_tick_delivery_found).
"""

import imaplib
import os
import re
import time

import harness

USER = "storer@demo.test"
PASSWORD = "store at delivery"

RECORD = re.compile(r"^([A-Z])((?: [A-Z][^ ]*)*?)(?: :(\S+))? \*[0-9a-f]{8}$")


def records(maildir):
    """(kind, fields dict, name) of each record of the folder's log."""
    out = []
    try:
        f = open(os.path.join(maildir, "correo-index.log"))
    except FileNotFoundError:
        return out
    with f:
        for line in f:
            m = RECORD.match(line.rstrip("\n"))
            assert m, "bad record %r" % line
            fields = {t[0]: t[1:] for t in m.group(2).split()}
            out.append((m.group(1), fields, m.group(3)))
    return out


def message(n):
    return ("From: a@example.org\r\nTo: %s\r\n"
            "Subject: store %d\r\n\r\nbody %d\r\n" % (USER, n, n))


class StoreTest(harness.TestCase):

    def setUp(self):
        self.m = self.imap_instance(USER, PASSWORD)
        self.md = os.path.join(self.inst.mail_dir, "demo.test", "storer")
        self.sent = 0

    def deliver(self, n):
        self.inst.send_mail("a@example.org", [USER], message(n))
        self.sent += 1
        harness.wait_for(lambda: self.inst.log().count("status=sent")
                         >= self.sent, what="delivery %d reported" % n)

    def subjects(self, m):
        typ, data = m.uid("FETCH", "1:*",
                          "(UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        self.assertEqual(typ, "OK", data)
        out = []
        for item in data:
            if isinstance(item, tuple):
                uid = int(re.search(rb"UID (\d+)", item[0]).group(1))
                subject = item[1].decode().strip()
                out.append((uid, subject))
        return out

    def test_first_reader_assigns_uids(self):
        for n in range(1, 4):
            self.deliver(n)
        self.assertEqual(len(os.listdir(os.path.join(self.md, "new"))), 3)
        # Nothing indexed them at delivery: the folder has no index yet.
        self.assertFalse(os.path.exists(os.path.join(self.md,
                                                     "correo-index")))
        self.assertEqual([r for r in records(self.md) if r[0] == "A"], [])
        typ, data = self.m.select("INBOX")
        self.assertEqual(typ, "OK", data)
        self.assertEqual(int(data[0]), 3)
        self.assertEqual(self.subjects(self.m),
                         [(n, "Subject: store %d" % n) for n in (1, 2, 3)])
        # The reader's scan made the index.
        self.assertTrue(os.path.exists(os.path.join(self.md,
                                                    "correo-index")))
        # The next delivery goes to the log by the next reader's scan.
        self.deliver(4)
        self.assertEqual([r for r in records(self.md) if r[0] == "A"], [])
        self.m.noop()
        adds = [(int(f["U"]), name) for kind, f, name in records(self.md)
                if kind == "A"]
        self.assertEqual([u for u, _ in adds], [4])
        files = set()
        for sub in ("new", "cur"):
            files |= {n.split(":")[0]
                      for n in os.listdir(os.path.join(self.md, sub))}
        self.assertIn(adds[0][1].split(":")[0], files)

    def test_selected_session_sees_next_delivery(self):
        self.deliver(1)
        typ, data = self.m.select("INBOX")
        self.assertEqual(int(data[0]), 1)
        for n in (2, 3):
            self.deliver(n)
            typ, data = self.m.noop()
            self.assertEqual(typ, "OK", data)
            exists = [int(x.split()[0]) for x in
                      self.m.untagged_responses.get("EXISTS", [])]
            self.m.untagged_responses.pop("EXISTS", None)
            self.assertIn(n, exists)
        self.assertEqual([u for u, _ in self.subjects(self.m)], [1, 2, 3])
        # A second session agrees on the UIDs.
        other = imaplib.IMAP4("127.0.0.1", self.port, timeout=30)
        self.addCleanup(other.logout)
        self.assertEqual(other.login(USER, PASSWORD)[0], "OK")
        typ, data = other.select("INBOX", readonly=True)
        self.assertEqual(int(data[0]), 3)
        self.assertEqual(self.subjects(other), self.subjects(self.m))

    def test_idle_wakes_for_delivery(self):
        self.deliver(1)
        self.m.select("INBOX")
        tag = self.m._new_tag().decode()
        self.m.send(("%s IDLE\r\n" % tag).encode())
        self.assertTrue(self.m.readline().startswith(b"+"))
        self.deliver(2)
        deadline = time.monotonic() + 10
        seen = b""
        self.m.sock.settimeout(10)
        while b"2 EXISTS" not in seen and time.monotonic() < deadline:
            seen += self.m.readline()
        self.assertIn(b"* 2 EXISTS", seen)
        self.m.send(b"DONE\r\n")
        while not self.m.readline().startswith(tag.encode()):
            pass


if __name__ == "__main__":
    harness.main()
