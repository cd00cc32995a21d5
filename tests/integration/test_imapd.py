"""The IMAP mail process (imapd) on a real instance's Maildir.

imapd runs pre-authenticated on a pipe (imaplib.IMAP4_stream), as the
mailbox owner, on the Maildir that local delivers into over SMTP. Checked:
the capability list and SPECIAL-USE folders created at first login; mail
delivered over SMTP seen with the UIDs the store gave it and its bytes in
CRLF form; FETCH of sections and structures; STORE, COPY, MOVE, APPEND
with UIDPLUS answers; SEARCH and ESEARCH; two sessions seeing each other's
flag changes and expunges (never an EXPUNGE during FETCH by sequence
number); IDLE reporting a delivery within a second; UIDs never reused;
hostile input answered with BAD/NO while the session goes on.
"""

import imaplib
import os
import re
import shlex
import time

import harness

SERVICES = """
127.0.0.1:{smtp_port} inet n - n - 100 smtpd
qmgr unix - - n 300 1 qmgr
local unix - root n - 10 local
"""


def message(n, body="body"):
    return ("From: Alice <alice@example.org>\r\nTo: demo@demo.test\r\n"
            "Subject: imap test %d\r\nMessage-ID: <m%d@example.org>\r\n"
            "\r\n%s %d\r\nsecond line\r\n" % (n, n, body, n))


class ImapdTest(harness.TestCase):

    def setUp(self):
        harness.require_daemons(self, "smtpd", "qmgr", "local", "master",
                                "imapd")
        self.inst = self.instance(services=SERVICES, config={
            "queue_run_delay": "1s"})
        self.inst.start()
        self.md = os.path.join(self.inst.mail_dir, "demo.test", "demo")
        self.sessions = []

    def tearDown(self):
        for m in self.sessions:
            try:
                m.logout()
            except Exception:
                pass

    def deliver(self, n, total, body="body"):
        self.inst.send_mail("alice@example.org", ["demo@demo.test"],
                            message(n, body))
        self.inst.wait_for_maildir("demo.test/demo", total)

    def session(self):
        cmd = "%s -m %s -u demo" % (
            shlex.quote(harness.libexec("imapd")), shlex.quote(self.md))
        if self.inst.user is not None:
            cmd = "setpriv --reuid=%d --regid=%d --clear-groups %s" % (
                self.inst.user.pw_uid, self.inst.user.pw_gid, cmd)
        m = imaplib.IMAP4_stream(cmd)
        self.sessions.append(m)
        return m

    def ok(self, result):
        typ, data = result
        self.assertEqual(typ, "OK", data)
        return data

    def test_capability_and_special_use(self):
        self.deliver(1, 1)
        m = self.session()
        caps = self.ok(m.capability())[0].split()
        for cap in (b"IMAP4rev1", b"IDLE", b"UIDPLUS", b"MOVE",
                    b"SPECIAL-USE", b"NAMESPACE", b"ENABLE", b"ESEARCH"):
            self.assertIn(cap, caps)
        lines = self.ok(m.list())
        names = {re.search(rb'"([^"]*)"$', l).group(1): l for l in lines}
        for name, attr in ((b"Sent", b"\\Sent"), (b"Drafts", b"\\Drafts"),
                           (b"Trash", b"\\Trash"), (b"Junk", b"\\Junk"),
                           (b"Archive", b"\\Archive")):
            self.assertIn(name, names)
            self.assertIn(attr, names[name])
        self.assertIn(b"INBOX", names)
        # The folders exist on disk, Maildir++ style.
        self.assertTrue(os.path.isdir(os.path.join(self.md, ".Sent", "cur")))

    def test_delivered_mail_fetched(self):
        for n in (1, 2):
            self.deliver(n, n)
        m = self.session()
        data = self.ok(m.select("INBOX"))
        self.assertEqual(data, [b"2"])
        self.assertEqual(m.untagged_responses.get("RECENT"), [b"2"])
        uids = self.ok(m.fetch("1:*", "(UID)"))
        self.assertEqual([re.search(rb"UID (\d+)", u).group(1)
                          for u in uids], [b"1", b"2"])
        typ, data = m.fetch("2", "(BODY.PEEK[] RFC822.SIZE FLAGS)")
        body = data[0][1]
        # local adds Return-Path and Delivered-To in front.
        self.assertTrue(body.startswith(b"Return-Path: <alice@example.org>"
                                        b"\r\n"), body)
        self.assertTrue(body.endswith(message(2).encode()), body)
        size = int(re.search(rb"RFC822.SIZE (\d+)",
                             data[0][0] + data[1]).group(1))
        self.assertEqual(size, len(body))
        self.assertNotIn(b"\\Seen", data[0][0] + data[1])
        # Sections and structures.
        typ, data = m.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)] "
                                 "BODY.PEEK[TEXT]<0.6> ENVELOPE "
                                 "BODYSTRUCTURE)")
        self.assertEqual(data[0][1], b"Subject: imap test 1\r\n\r\n")
        self.assertEqual(data[1][1], b"body 1")
        self.assertIn(b'"imap test 1"', data[2])
        self.assertIn(b'("text" "plain"', data[2])
        # A part that does not exist is an empty string, as in Dovecot
        # (not NIL, not NO); BINARY too, with size 0.
        typ, data = m.fetch("1", "(BODY.PEEK[5] BODY.PEEK[1.2.MIME] "
                                 "BINARY.PEEK[5] BINARY.SIZE[3])")
        self.assertEqual(typ, "OK", data)
        self.assertEqual([d[1] for d in data[:3]], [b"", b"", b""])
        self.assertIn(b"BINARY.SIZE[3] 0", data[3])
        self.assertEqual(self.ok(m.fetch("1", "(BODY.PEEK[1])"))[0][1],
                         b"body 1\r\nsecond line\r\n")
        # A non-peek fetch sets \Seen and says so.
        typ, data = m.fetch("1", "(BODY[TEXT])")
        self.assertIn(b"\\Seen", data[0][0] + data[1])
        flags = self.ok(m.fetch("1", "(FLAGS)"))[0]
        self.assertIn(b"\\Seen", flags)

    def test_store_copy_move_append(self):
        self.deliver(1, 1)
        self.deliver(2, 2)
        m = self.session()
        self.ok(m.select("INBOX"))
        data = self.ok(m.store("1", "+FLAGS", r"(\Flagged $Label1)"))
        self.assertIn(b"\\Flagged", data[0])
        self.assertIn(b"$Label1", data[0])
        typ, data = m.copy("1", "Archive")
        self.assertEqual(typ, "OK")
        # imaplib files the response code under its name.
        self.assertRegex(m.untagged_responses.pop("COPYUID")[0],
                         rb"^\d+ 1 1$")
        typ, data = m.uid("MOVE", "2", "Trash")
        self.assertEqual(typ, "OK", data)
        self.assertEqual(self.ok(m.status("Trash", "(MESSAGES)"))[0],
                         b'"Trash" (MESSAGES 1)')
        # The move expunged message 2 from INBOX.
        self.assertEqual(self.ok(m.select("INBOX")), [b"1"])
        typ, data = m.append("Drafts", r"(\Draft)", None,
                             b"Subject: draft\r\n\r\nwip\r\n")
        self.assertEqual(typ, "OK")
        self.assertRegex(data[0], rb"\[APPENDUID \d+ 1\]")
        self.ok(m.select("Archive"))
        flags = self.ok(m.fetch("1", "(FLAGS)"))[0]
        self.assertIn(b"\\Flagged", flags)
        self.assertIn(b"$Label1", flags)
        # APPEND to a mailbox that does not exist: TRYCREATE.
        typ, data = m.append("Nowhere", None, None, b"Subject: x\r\n\r\n")
        self.assertEqual(typ, "NO")
        self.assertIn(b"TRYCREATE", data[0])

    def test_search(self):
        self.deliver(1, 1, body="apples")
        self.deliver(2, 2, body="pears")
        self.deliver(3, 3, body="apples and pears")
        m = self.session()
        self.ok(m.select("INBOX"))
        self.assertEqual(self.ok(m.search(None, "BODY", "apples")),
                         [b"1 3"])
        self.assertEqual(self.ok(m.search(None, "SUBJECT", "test 2")),
                         [b"2"])
        self.assertEqual(self.ok(m.uid("SEARCH", "NOT", "BODY", "apples")),
                         [b"2"])
        self.ok(m.store("2", "+FLAGS", r"(\Seen)"))
        self.assertEqual(self.ok(m.search(None, "UNSEEN")), [b"1 3"])
        typ, data = m._simple_command("SEARCH", "RETURN", "(MIN MAX COUNT)",
                                      "ALL")
        self.assertEqual(typ, "OK")
        esearch = m.untagged_responses.pop("ESEARCH")[0]
        self.assertIn(b"MIN 1 MAX 3 COUNT 3", esearch)
        typ, data = m._simple_command("SEARCH", "CHARSET", "KOI8-R", "ALL")
        self.assertEqual(typ, "NO")

    def test_foreign_files_dates(self):
        # Files another program put in cur/ with Dovecot-style names
        # (,S= and ,W=): indexed without a stat, their INTERNALDATE read
        # from the mtime when asked for: FETCH, SEARCH, SORT, COPY; the
        # same after the index is rebuilt from scratch. A session looks
        # at the delivered message first (local does not index: the
        # first reader gives it UID 1).
        self.deliver(1, 1)
        first = self.session()
        self.assertEqual(self.ok(first.select("INBOX")), [b"1"])
        first.logout()
        self.sessions.remove(first)
        st = os.stat(self.md)
        text = b"Subject: foreign\n\nbody\n"
        mtimes = {2: 1500000000, 3: 1600000000, 4: 1400000000}
        for uid, mtime in mtimes.items():
            name = "%d.M1P1.other,S=%d,W=%d:2," % (
                1700000000 + uid, len(text), len(text) + 3)
            path = os.path.join(self.md, "cur", name)
            with open(path, "wb") as f:
                f.write(text)
            os.chown(path, st.st_uid, st.st_gid)
            os.utime(path, (mtime, mtime))
        want = {2: b"14-Jul-2017 02:40:00 +0000",
                3: b"13-Sep-2020 12:26:40 +0000",
                4: b"13-May-2014 16:53:20 +0000"}

        def check(m, uid_of):
            # uid_of: the UID each of the files above has (by mtimes'
            # key), and the delivered message under key 1.
            key_of = {u: k for k, u in uid_of.items()}
            self.assertEqual(self.ok(m.select("INBOX")), [b"4"])
            data = self.ok(m.uid("FETCH", "1:*",
                                 "(INTERNALDATE RFC822.SIZE)"))
            seen = 0
            for line in data:
                uid = int(re.search(rb"UID (\d+)", line).group(1))
                if key_of[uid] == 1:
                    continue
                seen += 1
                self.assertIn(b'INTERNALDATE "%s"' % want[key_of[uid]],
                              line)
                self.assertIn(b"RFC822.SIZE %d" % (len(text) + 3), line)
            self.assertEqual(seen, 3)

            def uids(*keys):
                return [" ".join(str(uid_of[k]) for k in keys).encode()]
            self.assertEqual(self.ok(m.uid("SEARCH", "BEFORE",
                                           "1-Jan-2016")), uids(4))
            self.assertEqual(self.ok(m.uid("SEARCH", "SINCE", "1-Jan-2020")),
                             [b" ".join(sorted(
                                 uids(3, 1)[0].split(), key=int))])
            self.assertEqual(self.ok(m.uid("SORT", "(ARRIVAL)", "UTF-8",
                                           "ALL")), uids(4, 2, 3, 1))

        m = self.session()
        check(m, {1: 1, 2: 2, 3: 3, 4: 4})
        typ, data = m.uid("COPY", "4", "Archive")
        self.assertEqual(typ, "OK", data)
        self.ok(m.select("Archive"))
        self.assertIn(b'INTERNALDATE "%s"' % want[4],
                      self.ok(m.fetch("1", "(INTERNALDATE)"))[0])
        m.logout()
        self.sessions.remove(m)
        # The index made anew: every file found by the scan, in the
        # order of the names' leading seconds (the delivered one last).
        for name in os.listdir(self.md):
            if name.startswith("correo-index"):
                os.unlink(os.path.join(self.md, name))
        check(self.session(), {2: 1, 3: 2, 4: 3, 1: 4})

    def test_refresh_in_mid_command(self):
        # Another session renames message 2's file and expunges message
        # 1 between our commands. Our FETCH then finds the file gone,
        # and the open refreshes the folder, which shifts its array
        # under the message being answered: the items after the body
        # must still be message 2's.
        for n, body in ((1, "a"), (2, "b" * 200), (3, "c" * 4000)):
            self.deliver(n, n, body=body)
        a = self.session()
        self.ok(a.select("INBOX"))
        sizes = {}
        for line in self.ok(a.uid("FETCH", "1:*", "(RFC822.SIZE)")):
            uid = int(re.search(rb"UID (\d+)", line).group(1))
            sizes[uid] = int(re.search(rb"RFC822.SIZE (\d+)", line).group(1))
        self.assertEqual(len(set(sizes.values())), 3, sizes)
        b = self.session()
        self.ok(b.select("INBOX"))
        self.ok(b.uid("STORE", "2", "+FLAGS", r"(\Flagged)"))
        self.ok(b.uid("STORE", "1", "+FLAGS", r"(\Deleted)"))
        self.ok(b.expunge())
        data = self.ok(a.uid("FETCH", "2", "(BODY.PEEK[] RFC822.SIZE)"))
        line = b"".join(x if isinstance(x, bytes) else x[0] + x[1]
                        for x in data)
        self.assertIn(b"RFC822.SIZE %d" % sizes[2], line)
        self.assertIn(b"b" * 200, line)
        # The same for SEARCH: the key after the body is message 2's.
        b.logout()
        self.sessions.remove(b)
        a.logout()
        self.sessions.remove(a)
        self.deliver(4, 3, body="d")
        a = self.session()
        self.ok(a.select("INBOX"))
        b = self.session()
        self.ok(b.select("INBOX"))
        self.ok(b.uid("STORE", "3", "+FLAGS", r"(\Flagged)"))
        self.ok(b.uid("STORE", "2", "+FLAGS", r"(\Deleted)"))
        self.ok(b.expunge())
        # Message 3 is 4 kB; the one after it is small.
        self.assertEqual(self.ok(a.uid("SEARCH", "UID", "3", "BODY", "cc",
                                       "SMALLER", "1000")), [b""])
        self.assertEqual(self.ok(a.uid("SEARCH", "UID", "3", "LARGER",
                                       "1000")), [b"3"])

    def test_two_sessions_and_delivery(self):
        for n in (1, 2, 3):
            self.deliver(n, n)
        a, b = self.session(), self.session()
        self.ok(a.select("INBOX"))
        self.ok(b.select("INBOX"))
        self.ok(a.store("2", "+FLAGS", r"(\Deleted)"))
        self.ok(a.expunge())
        # b: FETCH by sequence number gets no EXPUNGE in the middle...
        typ, data = b.fetch("1:3", "(UID)")
        self.assertEqual(typ, "OK")
        self.assertNotIn("EXPUNGE", b.untagged_responses)
        # ...NOOP does, and the flags change before it.
        self.ok(a.store("1", "+FLAGS", r"(\Answered)"))
        b.noop()
        self.assertEqual(b.untagged_responses.pop("EXPUNGE", None), [b"2"])
        fetches = b.untagged_responses.pop("FETCH", [])
        self.assertTrue(any(b"\\Answered" in f for f in fetches), fetches)
        # A new delivery shows up as EXISTS in both.
        self.deliver(4, 3)
        b.noop()
        self.assertEqual(b.untagged_responses.pop("EXISTS", None)[-1], b"3")
        uids = self.ok(b.fetch("1:*", "(UID)"))
        self.assertEqual([re.search(rb"UID (\d+)", u).group(1)
                          for u in uids], [b"1", b"3", b"4"])

    def test_idle_sees_delivery(self):
        self.deliver(1, 1)
        m = self.session()
        self.ok(m.select("INBOX"))
        tag = m._new_tag().decode()
        m.send(("%s IDLE\r\n" % tag).encode())
        self.assertTrue(m.readline().startswith(b"+"))
        self.inst.send_mail("alice@example.org", ["demo@demo.test"],
                            message(2))
        start = time.monotonic()
        # Delivery itself takes a moment; the push must follow within
        # a second of the message reaching the Maildir.
        self.inst.wait_for_maildir("demo.test/demo", 2)
        seen = time.monotonic()
        line = m.readline()
        pushed = time.monotonic()
        self.assertEqual(line, b"* 2 EXISTS\r\n")
        self.assertLess(pushed - seen, 1.0, "pushed %.2fs after delivery"
                        " (%.2fs after send)" % (pushed - seen,
                                                 pushed - start))
        m.send(b"DONE\r\n")
        while True:
            line = m.readline()
            if line.startswith(tag.encode()):
                break
        self.assertIn(b"OK", line)

    def test_uids_never_reused(self):
        self.deliver(1, 1)
        self.deliver(2, 2)
        m = self.session()
        self.ok(m.select("INBOX"))
        self.ok(m.store("2", "+FLAGS", r"(\Deleted)"))
        self.ok(m.expunge())
        m.logout()
        self.sessions.remove(m)
        self.deliver(3, 2)
        m = self.session()
        self.ok(m.select("INBOX"))
        uids = self.ok(m.fetch("1:*", "(UID)"))
        self.assertEqual([re.search(rb"UID (\d+)", u).group(1)
                          for u in uids], [b"1", b"3"])

    def test_list_extended_and_status(self):
        self.deliver(1, 1)
        m = self.session()
        self.ok(m.create("Work.Deep"))
        self.ok(m.subscribe("Work.Deep"))
        self.ok(m.subscribe("Gone"))
        typ, data = m._simple_command("LIST", "(SUBSCRIBED)", '""', "*")
        lines = m.untagged_responses.pop("LIST", [])
        self.assertEqual(typ, "OK")
        gone = [l for l in lines if l.endswith(b'"Gone"')]
        self.assertEqual(len(gone), 1, lines)
        self.assertIn(b"\\NonExistent", gone[0])
        self.assertIn(b"\\Subscribed", gone[0])
        # RECURSIVEMATCH: Work is not subscribed, its child is, and "%"
        # does not reach the child.
        typ, data = m._simple_command("LIST", "(SUBSCRIBED RECURSIVEMATCH)",
                                      '""', "%")
        lines = m.untagged_responses.pop("LIST", [])
        work = [l for l in lines if b'"Work"' in l]
        self.assertEqual(len(work), 1, lines)
        self.assertIn(b"CHILDINFO", work[0])
        # LIST-STATUS.
        typ, data = m._simple_command("LIST", '""', "INBOX", "RETURN",
                                      "(STATUS (MESSAGES UNSEEN))")
        self.assertEqual(typ, "OK")
        self.assertEqual(m.untagged_responses.pop("STATUS", []),
                         [b'"INBOX" (MESSAGES 1 UNSEEN 1)'])
        with self.assertRaises(m.error) as cm:   # imaplib raises on BAD
            m._simple_command("LIST", "(BOGUS)", '""', "*")
        self.assertIn("BAD", str(cm.exception))

    def test_imap4rev2(self):
        self.deliver(1, 1)
        self.deliver(2, 2)
        m = self.session()
        self.assertIn(b"IMAP4rev2", self.ok(m.capability())[0])
        # A rev1 client names folders in modified UTF-7.
        self.ok(m._simple_command("CREATE", "B&APw-ro"))
        self.assertTrue(os.path.isdir(os.path.join(self.md, ".B&APw-ro")))
        typ, data = m._simple_command("ENABLE", "IMAP4rev2")
        self.assertEqual(typ, "OK")
        self.assertEqual(m.untagged_responses.pop("ENABLED", None),
                         [b"IMAP4rev2"])
        m.untagged_responses.clear()
        typ, data = m.select("INBOX")
        self.assertNotIn("RECENT", m.untagged_responses)
        # SEARCH answers with ESEARCH.
        typ, data = m._simple_command("SEARCH", "ALL")
        self.assertEqual(typ, "OK")
        self.assertNotIn("SEARCH", m.untagged_responses)
        esearch = m.untagged_responses.pop("ESEARCH")[0]
        self.assertIn(b"ALL 1:2", esearch)
        # No \Recent in flags; UTF-8 names.
        flags = self.ok(m.fetch("1", "(FLAGS)"))[0]
        self.assertNotIn(b"\\Recent", flags)
        lines = self.ok(m._simple_command("LIST", '""', "B*"))
        lines = m.untagged_responses.pop("LIST", [])
        self.assertTrue(any("\"Büro\"".encode() in l for l in lines),
                        lines)
        # SELECT while selected says [CLOSED].
        m.select("INBOX")
        self.assertIn("CLOSED", m.untagged_responses)

    def test_correo_mailbox(self):
        self.deliver(1, 1)
        self.deliver(2, 2)
        m = self.session()
        self.ok(m.select("INBOX"))
        self.ok(m.store("1", "+FLAGS", r"(\Deleted \Seen)"))
        m.logout()
        self.sessions.remove(m)
        r = self.inst.correo("mailbox", "demo@demo.test")
        self.assertRuns(r)
        inbox = [l.split() for l in r.stdout.splitlines()
                 if l.startswith("INBOX")][0]
        self.assertEqual(inbox[1:3], ["2", "1"])     # messages, unseen
        self.assertIn("Sent", r.stdout)
        r = self.inst.correo("mailbox", "demo@demo.test", "expunge", "INBOX")
        self.assertRuns(r)
        self.assertIn("1 messages expunged", r.stdout)
        r = self.inst.correo("mailbox", "demo@demo.test", "rebuild", "INBOX")
        self.assertRuns(r)
        self.assertIn("index rebuilt, 1 messages", r.stdout)
        # The index files belong to the mailbox owner, not to root.
        st = os.stat(os.path.join(self.md, "correo-index"))
        self.assertEqual(st.st_uid, os.stat(self.md).st_uid)
        r = self.inst.correo("mailbox", "nobody@nowhere.test")
        self.assertNotEqual(r.returncode, 0)

    def test_rename(self):
        for n in (1, 2):
            self.deliver(n, n)
        m = self.session()
        self.ok(m.select("INBOX"))
        self.ok(m.store("1", "+FLAGS", r"(\Flagged $Work)"))
        self.ok(m.create("a.x.y"))
        self.ok(m.subscribe("a.x"))
        self.ok(m.create("b"))
        # To an existing name: ALREADYEXISTS, nothing moved.
        typ, data = m.rename("a", "b")
        self.assertEqual(typ, "NO")
        self.assertIn(b"[ALREADYEXISTS]", data[0])
        typ, data = m.rename("nosuch", "c")
        self.assertIn(b"[NONEXISTENT]", data[0])
        # With children: the hierarchy moves, subscriptions follow, new
        # superiors are made.
        self.ok(m.rename("a", "c.d"))
        names = [re.search(rb'"([^"]*)"$', l).group(1)
                 for l in self.ok(m.list())]
        for gone in (b"a", b"a.x", b"a.x.y"):
            self.assertNotIn(gone, names)
        for there in (b"c", b"c.d", b"c.d.x", b"c.d.x.y"):
            self.assertIn(there, names)
        subs = [re.search(rb'"([^"]*)"$', l).group(1)
                for l in self.ok(m.lsub())]
        self.assertIn(b"c.d.x", subs)
        self.assertNotIn(b"a.x", subs)
        # Into its own inferior: the superior is made again, selectable.
        self.ok(m.rename("b", "b.inner"))
        lines = self.ok(m.list('""', "b*"))
        self.assertEqual(len(lines), 2, lines)
        self.assertTrue(lines[0].startswith(b"(\\HasChildren)"), lines)
        self.assertTrue(lines[1].endswith(b'"b.inner"'), lines)
        # RENAME INBOX: its messages move with their flags, INBOX stays,
        # empty, and the selected session sees the expunges.
        self.ok(m.rename("INBOX", "Old"))
        self.ok(m.noop())
        self.assertEqual(m.untagged_responses.get("EXPUNGE", [])[:2],
                         [b"1", b"1"])
        self.assertTrue(self.ok(m.status("INBOX", "(MESSAGES)"))[0]
                        .endswith(b"(MESSAGES 0)"))
        self.ok(m.select("Old"))
        data = self.ok(m.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS "
                                      "(SUBJECT)])"))
        self.assertIn(b"\\Flagged", data[0][0])
        self.assertIn(b"$Work", data[0][0])
        self.assertIn(b"imap test 1", data[0][1])
        self.assertIn(b"imap test 2", data[2][1])
        typ, data = m.rename("INBOX", "Old")
        self.assertIn(b"[ALREADYEXISTS]", data[0])
        typ, data = m.rename("Old", "INBOX")
        self.assertIn(b"[ALREADYEXISTS]", data[0])
        # The selected mailbox renamed: the session goes on there.
        self.ok(m.rename("Old", "Older"))
        self.ok(m.store("2", "+FLAGS", r"(\Answered)"))
        self.assertIn(b"imap test 2", self.ok(m.fetch(
            "2", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])"))[0][1])
        self.ok(m.expunge())
        self.assertEqual(self.ok(m.status("Older", "(MESSAGES)"))[0],
                         b'"Older" (MESSAGES 2)')
        # Mail delivered after the rename lands in INBOX, not in Old.
        self.deliver(3, 1)
        self.ok(m.select("INBOX"))
        self.assertEqual(m.untagged_responses.get("EXISTS"), [b"1"])

    def test_hostile_input(self):
        imaplib.Commands.setdefault("BOGUS", ("SELECTED",))
        self.deliver(1, 1)
        m = self.session()
        self.ok(m.select("INBOX"))
        for cmd in (("FETCH", "4294967296", "(UID)"),
                    ("FETCH", "0", "(UID)"),
                    ("FETCH", "1:5", "(UID)"),
                    ("STORE", "1", "+FLAGS", r"(\Recent)"),
                    ("BOGUS",)):
            try:
                typ, data = m._simple_command(*cmd)
            except m.error as e:    # imaplib raises on BAD
                typ, data = "BAD", str(e)
            self.assertEqual(typ, "BAD", (cmd, data))
        for name in ("../x", ".hidden", "a..b", "a/b"):
            typ, data = m.create(name)
            self.assertEqual(typ, "NO", (name, data))
        # Nothing outside the Maildir was made.
        self.assertFalse(os.path.exists(os.path.join(self.md, "..", "x")))
        self.assertEqual(self.ok(m.fetch("1", "(UID)")), [b"1 (UID 1)"])


if __name__ == "__main__":
    harness.main()
