"""SORT, ESORT, THREAD and WITHIN in the IMAP mail process (imapd).

imapd runs pre-authenticated on a pipe, as the mailbox owner, on a real
instance's Maildir; a folder is filled by APPEND with crafted messages
(Re:/Fwd:/[list] subjects, a folded subject, an RFC 2047 display name,
a Date with a zone, a missing and a broken Date, a duplicate
Message-ID, a reference to a message that is not there, a group
address) and every answer is compared whole with what RFC 5256, RFC
5957 and RFC 5267 give for that folder: each sort key with and without
REVERSE, ties in mailbox order, UID SORT and sequence numbers after an
expunge, ESORT's RETURN options and PARTIAL, search criteria,
THREAD=REFERENCES and THREAD=ORDEREDSUBJECT, errors, and CONTEXT=SEARCH's
and CONTEXT=SORT's live results (ADDTO/REMOVEFROM as another session
changes the folder; for a sort, with the positions RFC 5267 4.3 gives). imaplib speaks for the plain
commands, a raw client over the same pipe for literals and exact bytes.
WITHIN's OLDER and YOUNGER use internal dates set by APPEND.
"""

import imaplib
import os
import re
import shlex
import subprocess
import time

import harness


def msg(headers, body_len):
    lines = "".join("%s\r\n" % h for h in headers)
    return (lines + "\r\n" + ("x" * 70 + "\r\n") * (body_len // 72)
            ).encode()


# (headers, body size, internal date)
CORPUS = [
    (["From: \"Zed\" <zed@example.org>", "To: bob@demo.test",
      "Cc: carol@example.org", "Subject: [list] Meeting",
      "Date: Mon, 1 Jan 2024 10:00:00 +0000", "Message-ID: <m1@x>"],
     5000, "05-Jan-2024 00:00:00 +0000"),
    (["From: Alice <alice@example.org>",
      "To: =?utf-8?q?=C3=89mile?= <emile@example.org>",
      "Subject: Re: [list]\r\n\tMeeting",
      "Date: Mon, 1 Jan 2024 09:00:00 -0200", "Message-ID: <m2@x>",
      "References: <m1@x>"],
     1000, "04-Jan-2024 00:00:00 +0000"),
    (["From: bob@example.org", "To: alice@example.org",
      "Subject: Fwd: Budget", "Message-ID: <m3@x>",
      "In-Reply-To: <lost@x>"],
     3000, "03-Jan-2024 00:00:00 +0000"),
    (["From: \"Alice\" <aaron@example.org>", "To: \"Bob\" <bob@demo.test>",
      "Cc: alice@example.org", "Subject: budget (fwd)",
      "Date: not a date at all", "Message-ID: <m4@x>"],
     1000, "02-Jan-2024 00:00:00 +0000"),
    (["From: carol@example.org", "To: zed@example.org",
      "Subject: Re: Re: meeting", "Date: Tue, 2 Jan 2024 00:00:00 +0000",
      "Message-ID: <m5@x>", "References: <m1@x>\r\n <m2@x>"],
     4000, "01-Jan-2024 00:00:00 +0000"),
    (["To: group: a@example.org, b@example.org;", "Subject:",
      "Date: Mon, 1 Jan 2024 10:00:00 +0000", "Message-ID: <m1@x>",
      "References: <m5@x>"],
     2000, "06-Jan-2024 00:00:00 +0000"),
]


class RawSession:
    """A pre-authenticated imapd on a pipe, one command at a time."""

    def __init__(self, command):
        self.p = subprocess.Popen(command, shell=True,
                                  stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE)
        self.p.stdout.readline()        # the PREAUTH greeting

    def cmd(self, line):
        """Send line; everything up to its tagged answer, as text."""
        tag = line.split()[0].encode()
        self.p.stdin.write(line.encode() + b"\r\n")
        self.p.stdin.flush()
        out = b""
        while True:
            got = self.p.stdout.readline()
            if not got:
                raise EOFError(out)
            out += got
            if got.startswith(tag + b" "):
                return out.decode()

    def close(self):
        try:
            self.p.stdin.close()
        except OSError:
            pass
        try:
            self.p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        self.p.stdout.close()


class ImapSortTest(harness.TestCase):

    def setUp(self):
        harness.require_daemons(self, "imapd")
        self.inst = self.instance(config={})
        self.md = os.path.join(self.inst.mail_dir, "demo.test", "demo")
        os.makedirs(os.path.join(self.md, "new"), exist_ok=True)
        self.sessions = []

    def tearDown(self):
        for m in self.sessions:
            try:
                m.logout()
            except Exception:
                pass

    def command(self):
        cmd = "%s -m %s -u demo" % (
            shlex.quote(harness.libexec("imapd")), shlex.quote(self.md))
        if self.inst.user is not None:
            cmd = "setpriv --reuid=%d --regid=%d --clear-groups %s" % (
                self.inst.user.pw_uid, self.inst.user.pw_gid, cmd)
        return cmd

    def session(self):
        m = imaplib.IMAP4_stream(self.command())
        self.sessions.append(m)
        return m

    def ok(self, result):
        typ, data = result
        self.assertEqual(typ, "OK", data)
        return data

    def fill(self, m, folder="Views"):
        self.ok(m.create(folder))
        sizes = []
        for headers, body, date in CORPUS:
            data = msg(headers, body)
            sizes.append(len(data))
            self.ok(m.append(folder, None, '"%s"' % date, data))
        self.ok(m.select(folder))
        return sizes

    def sort(self, m, program, *criteria, uid=False):
        if uid:
            data = self.ok(m.uid("SORT", program, "UTF-8", *criteria))
        else:
            data = self.ok(m.sort(program, "UTF-8", *criteria))
        return (data[0] or b"").decode()

    def test_capabilities(self):
        m = self.session()
        caps = self.ok(m.capability())[0].split()
        for cap in (b"SORT", b"SORT=DISPLAY", b"ESORT",
                    b"THREAD=ORDEREDSUBJECT", b"THREAD=REFERENCES",
                    b"WITHIN"):
            self.assertEqual(caps.count(cap), 1, cap)

    def test_sort_keys(self):
        m = self.session()
        sizes = self.fill(m)
        self.assertEqual(self.sort(m, "(ARRIVAL)", "ALL"), "5 4 3 2 1 6")
        self.assertEqual(self.sort(m, "(REVERSE ARRIVAL)", "ALL"),
                         "6 1 2 3 4 5")
        # Sent dates in UTC; no Date and a broken one: the internal
        # date; 1 and 6 are equal, so mailbox order; so are 4 and 5.
        self.assertEqual(self.sort(m, "(DATE)", "ALL"), "1 6 2 4 5 3")
        self.assertEqual(self.sort(m, "(REVERSE DATE)", "ALL"),
                         "3 4 5 2 1 6")
        # RFC822.SIZE: the appended bytes.
        by_size = sorted(range(1, 7), key=lambda i: (sizes[i - 1], i))
        self.assertEqual(self.sort(m, "(SIZE)", "ALL"),
                         " ".join(map(str, by_size)))
        # Base subjects: "", BUDGET x2, MEETING x3.
        self.assertEqual(self.sort(m, "(SUBJECT)", "ALL"), "6 3 4 1 2 5")
        self.assertEqual(self.sort(m, "(SUBJECT REVERSE DATE)", "ALL"),
                         "6 3 4 5 2 1")
        # addr-mailbox of the first address; none sorts first; a group
        # by its name.
        self.assertEqual(self.sort(m, "(FROM)", "ALL"), "6 4 2 3 5 1")
        self.assertEqual(self.sort(m, "(TO)", "ALL"), "3 1 4 2 6 5")
        self.assertEqual(self.sort(m, "(CC)", "ALL"), "2 3 5 6 4 1")
        self.assertEqual(self.sort(m, "(REVERSE CC)", "ALL"),
                         "1 4 2 3 5 6")
        # RFC 5957: display names (decoded), else the address.
        self.assertEqual(self.sort(m, "(DISPLAYFROM)", "ALL"),
                         "6 2 4 3 5 1")
        self.assertEqual(self.sort(m, "(DISPLAYTO)", "ALL"), "3 4 1 2 6 5")
        # Search criteria choose the messages.
        self.assertEqual(self.sort(m, "(ARRIVAL)", "SUBJECT", "meeting"),
                         "5 2 1")
        self.assertEqual(self.sort(m, "(DATE)", "OR", "FROM", "alice",
                                   "CC", "alice"), "2 4")
        self.assertEqual(self.sort(m, "(DATE)", "SUBJECT", "nothing"), "")

    def test_uid_sort_after_expunge(self):
        m = self.session()
        self.fill(m)
        self.ok(m.store("3", "+FLAGS", "\\Deleted"))
        self.ok(m.expunge())
        self.assertEqual(self.sort(m, "(ARRIVAL)", "ALL"), "4 3 2 1 5")
        self.assertEqual(self.sort(m, "(ARRIVAL)", "ALL", uid=True),
                         "5 4 2 1 6")
        self.assertEqual(self.sort(m, "(SUBJECT)", "UID", "4:6",
                                   uid=True), "6 4 5")
        # THREAD by UID: the dummy for <lost@x> went with message 3.
        data = self.ok(m.uid("THREAD", "REFERENCES", "UTF-8", "ALL"))
        self.assertEqual(data[0], b"(1 2 5 6)(4)")

    def test_thread(self):
        m = self.session()
        self.fill(m)
        # m1 > m2 > m5 > m6 by References (m6's duplicate Message-ID
        # makes it unique); m3 under the dummy <lost@x>, promoted; m3
        # and m4 are both forwards of "budget": a new dummy holds them.
        data = self.ok(m.thread("REFERENCES", "UTF-8", "ALL"))
        self.assertEqual(data[0], b"(1 2 5 6)((4)(3))")
        data = self.ok(m.thread("ORDEREDSUBJECT", "UTF-8", "ALL"))
        self.assertEqual(data[0], b"(1 (2)(5))(6)(4 3)")
        data = self.ok(m.thread("REFERENCES", "US-ASCII", "NOT", "4"))
        self.assertEqual(data[0], b"(1 2 5 6)(3)")
        # Only the searched messages count: without m1, m6 is the only
        # message with ID <m1@x>, so it is the top of m5's References
        # chain: m5 hangs below it, and m6's own reference to m5 would
        # make a loop, so it is not made.
        data = self.ok(m.thread("REFERENCES", "UTF-8", "5:6"))
        self.assertEqual(data[0], b"(6 5)")

    def raw(self, lines):
        """Send raw command lines; the whole answer as bytes."""
        p = subprocess.Popen(self.command(), shell=True,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        try:
            out, _ = p.communicate(b"".join(lines) + b"z LOGOUT\r\n",
                                   timeout=30)
        finally:
            if p.poll() is None:
                p.kill()
        return out

    def test_esort_raw(self):
        m = self.session()
        self.fill(m)
        m.logout()
        self.sessions.remove(m)
        out = self.raw([
            b"s SELECT Views\r\n",
            b"a SORT RETURN (MIN MAX COUNT ALL) (DATE) UTF-8 ALL\r\n",
            b"b SORT RETURN () (REVERSE ARRIVAL) UTF-8 ALL\r\n",
            b"c UID SORT RETURN (COUNT) (SUBJECT) {5+}\r\nUTF-8 "
            b"SUBJECT {7+}\r\nmeeting\r\n",
            b"d SORT RETURN (MIN) (DATE) UTF-8 SUBJECT nothing\r\n",
            b"e SORT (DATE) KOI8-R ALL\r\n",
            b"f SORT (BOGUS) UTF-8 ALL\r\n",
            b"g SORT () UTF-8 ALL\r\n",
            b"h SORT (DATE REVERSE) UTF-8 ALL\r\n",
            b"i THREAD BOGUS UTF-8 ALL\r\n",
            b"j THREAD REFERENCES UTF-8 SUBJECT nothing\r\n",
            b"k SORT (DATE) UTF-8\r\n",
            b"l SORT RETURN (PARTIAL 1:*) (DATE) UTF-8 ALL\r\n",
            b"m SORT RETURN (PARTIAL 4:2) (DATE) UTF-8 ALL\r\n",
            b"n SORT RETURN (PARTIAL 6:9 COUNT) (DATE) UTF-8 ALL\r\n",
            b"o SORT RETURN (PARTIAL 7:9) (DATE) UTF-8 ALL\r\n",
            b"p SEARCH RETURN (PARTIAL 5:2) NOT 3\r\n",
            b"q SEARCH RETURN (PARTIAL 1) ALL\r\n",
        ]).decode()
        self.assertIn('\r\n* ESEARCH (TAG "a") MIN 1 MAX 3 COUNT 6 '
                      'ALL 1,6,2,4:5,3\r\na OK', out)
        self.assertIn('\r\n* ESEARCH (TAG "b") ALL 6,1:5\r\nb OK', out)
        self.assertIn('\r\n* ESEARCH (TAG "c") UID COUNT 3\r\nc OK', out)
        self.assertIn('\r\n* ESEARCH (TAG "d")\r\nd OK', out)
        self.assertIn("\r\ne NO [BADCHARSET (US-ASCII UTF-8)]", out)
        for tag in "fghiklq":
            self.assertRegex(out, r"\r\n%s BAD " % tag)
        self.assertIn("\r\n* THREAD\r\nj OK", out)
        # PARTIAL (RFC 5267 4.4): positions in the result's order.
        self.assertIn('\r\n* ESEARCH (TAG "m") PARTIAL (2:4 6,2,4)\r\nm OK',
                      out)
        self.assertIn('\r\n* ESEARCH (TAG "n") COUNT 6 PARTIAL (6:9 3)'
                      '\r\nn OK', out)
        self.assertIn('\r\n* ESEARCH (TAG "o") PARTIAL (7:9 NIL)\r\no OK',
                      out)
        self.assertIn('\r\n* ESEARCH (TAG "p") PARTIAL (2:5 2,4:6)\r\np OK',
                      out)
        self.assertRegex(out, r"\r\nq BAD ")
        # Without a selected mailbox.
        out = self.raw([b"a SORT (DATE) UTF-8 ALL\r\n",
                        b"b THREAD REFERENCES UTF-8 ALL\r\n"]).decode()
        self.assertIn("\r\na BAD", out)
        self.assertIn("\r\nb BAD", out)

    def test_context_search_update(self):
        """CONTEXT=SEARCH: a live search hears of another session's
        flag changes, appends and expunges (REMOVEFROM before the
        EXPUNGE, by the number the client still knows), until
        CANCELUPDATE."""
        other = self.session()
        self.fill(other)
        raw = RawSession(self.command())
        self.addCleanup(raw.close)
        raw.cmd("s SELECT Views")
        out = raw.cmd("a SEARCH RETURN (UPDATE ALL) UNSEEN")
        self.assertIn('* ESEARCH (TAG "a") ALL 1:6', out)
        out = raw.cmd("b UID SEARCH RETURN (UPDATE) SEEN")
        self.assertIn('* ESEARCH (TAG "b") UID', out)
        self.ok(other.store("2,4", "+FLAGS", "\\Seen"))
        out = raw.cmd("c NOOP")
        self.assertIn('* ESEARCH (TAG "a") REMOVEFROM (0 2,4)', out)
        self.assertIn('* ESEARCH (TAG "b") UID ADDTO (0 2,4)', out)
        # An expunge: REMOVEFROM first, by the old number.
        self.ok(other.store("1,2", "+FLAGS", "\\Deleted"))
        self.ok(other.expunge())
        out = raw.cmd("d NOOP")
        lines = out.split("\r\n")
        rem = lines.index('* ESEARCH (TAG "a") REMOVEFROM (0 1)')
        self.assertLess(rem, lines.index("* 1 EXPUNGE"))
        self.assertIn('* ESEARCH (TAG "b") UID REMOVEFROM (0 2)', lines)
        self.assertEqual(out.count("ESEARCH"), 2, out)
        # An append comes after its EXISTS.
        self.ok(other.append("Views", None, None, msg(["Subject: new"],
                                                      10)))
        out = raw.cmd("e NOOP")
        lines = out.split("\r\n")
        add = lines.index('* ESEARCH (TAG "a") ADDTO (0 5)')
        self.assertLess(lines.index("* 5 EXISTS"), add)
        # The session's own STORE counts too.
        out = raw.cmd("f STORE 5 +FLAGS.SILENT (\\Seen)")
        self.assertIn('* ESEARCH (TAG "a") REMOVEFROM (0 5)', out)
        self.assertIn('* ESEARCH (TAG "b") UID ADDTO (0 7)', out)
        # Nothing changed: nothing said.
        out = raw.cmd("g NOOP")
        self.assertNotIn("ESEARCH", out)
        self.assertIn("h BAD", raw.cmd('h CANCELUPDATE "zz"'))
        self.assertIn("i OK", raw.cmd('i CANCELUPDATE "a"'))
        self.ok(other.store("1:*", "-FLAGS", "\\Seen"))
        out = raw.cmd("j NOOP")
        self.assertNotIn('(TAG "a")', out)
        self.assertIn('* ESEARCH (TAG "b") UID REMOVEFROM (0 4,7)', out)
        # Reselecting ends every context.
        raw.cmd("k SELECT Views")
        self.ok(other.store("1", "+FLAGS", "\\Seen"))
        self.assertNotIn("ESEARCH", raw.cmd("l NOOP"))

    def test_context_sort_update(self):
        """CONTEXT=SORT: a live sort hears of changes as (position,
        number) pairs a client applies in order: removals at the
        position the message has at that moment, additions at the one
        it will have; an expunge's REMOVEFROM comes before the EXPUNGE
        by the number the client still knows."""
        other = self.session()
        self.fill(other)
        caps = self.ok(other.capability())[0].decode().split()
        self.assertIn("CONTEXT=SORT", caps)
        raw = RawSession(self.command())
        self.addCleanup(raw.close)
        raw.cmd("s SELECT Views")
        # Internal dates: 5 oldest, then 4, 3, 2, 1, 6.
        out = raw.cmd("a SORT RETURN (UPDATE) (ARRIVAL) UTF-8 UNSEEN")
        self.assertIn('* ESEARCH (TAG "a") ALL 5,4,3,2,1,6', out)
        out = raw.cmd("b UID SORT RETURN (UPDATE COUNT) (REVERSE ARRIVAL) "
                      "UTF-8 UNSEEN")
        self.assertIn('* ESEARCH (TAG "b") UID COUNT 6', out)
        self.assertIn("b OK", out)
        # [5,4,3,2,1,6] loses 4 at 2, then 2 at 3; [6,1,2,3,4,5] loses
        # 2 at 3, then 4 at 4.
        self.ok(other.store("2,4", "+FLAGS", "\\Seen"))
        out = raw.cmd("c NOOP")
        self.assertIn('* ESEARCH (TAG "a") REMOVEFROM (2 4 3 2)', out)
        self.assertIn('* ESEARCH (TAG "b") UID REMOVEFROM (3 2 4 4)', out)
        # 2 comes back at its place: [5,3,2,1,6] and [6,1,2,3,5].
        self.ok(other.store("2", "-FLAGS", "\\Seen"))
        out = raw.cmd("d NOOP")
        self.assertIn('* ESEARCH (TAG "a") ADDTO (3 2)', out)
        self.assertIn('* ESEARCH (TAG "b") UID ADDTO (3 2)', out)
        # An expunge of 1: position 4 in a, 2 in b; before "* 1 EXPUNGE".
        self.ok(other.store("1", "+FLAGS", "\\Deleted"))
        self.ok(other.expunge())
        out = raw.cmd("e NOOP")
        lines = out.split("\r\n")
        rem = lines.index('* ESEARCH (TAG "a") REMOVEFROM (4 1)')
        self.assertLess(rem, lines.index("* 1 EXPUNGE"))
        self.assertIn('* ESEARCH (TAG "b") UID REMOVEFROM (2 1)', lines)
        # A new message arrives last: the end of a, the start of b.
        self.ok(other.append("Views", None, None, msg(["Subject: new"],
                                                      10)))
        out = raw.cmd("f NOOP")
        lines = out.split("\r\n")
        add = lines.index('* ESEARCH (TAG "a") ADDTO (5 6)')
        self.assertLess(lines.index("* 6 EXISTS"), add)
        self.assertIn('* ESEARCH (TAG "b") UID ADDTO (1 7)', lines)
        # The result as a new SORT gives it.
        out = raw.cmd("g UID SORT (REVERSE ARRIVAL) UTF-8 UNSEEN")
        self.assertIn("* SORT 7 6 2 3 5", out)
        self.assertNotIn("ESEARCH", raw.cmd("h NOOP"))
        self.assertIn("i OK", raw.cmd('i CANCELUPDATE "a" "b"'))
        self.ok(other.store("1:*", "+FLAGS", "\\Seen"))
        self.assertNotIn("ESEARCH", raw.cmd("j NOOP"))

    def test_context_modseq(self):
        """A live search or sort on MODSEQ hears of a message whose flag
        was set and cleared again between two syncs: its flags are as
        before, but its modseq moved past the criterion."""
        other = self.session()
        self.fill(other)
        self.ok(other.select("Views"))
        raw = RawSession(self.command())
        self.addCleanup(raw.close)
        raw.cmd("a ENABLE CONDSTORE")
        out = raw.cmd("b SELECT Views")
        top = int(re.search(r"HIGHESTMODSEQ (\d+)", out).group(1))
        raw.cmd("c SEARCH RETURN (UPDATE) MODSEQ %d" % (top + 1))
        raw.cmd("d UID SORT RETURN (UPDATE) (ARRIVAL) UTF-8 MODSEQ %d"
                % (top + 1))
        self.ok(other.store("2", "+FLAGS", "\\Flagged"))
        self.ok(other.store("2", "-FLAGS", "\\Flagged"))
        out = raw.cmd("e NOOP")
        self.assertIn('* ESEARCH (TAG "c") ADDTO (0 2)', out)
        self.assertIn('* ESEARCH (TAG "d") UID ADDTO (1 2)', out)
        self.assertIn("* SEARCH 2 ", raw.cmd("f SEARCH MODSEQ %d"
                                             % (top + 1)))

    def test_context_fixed_sets(self):
        """Sequence numbers and "$" in a live search name the messages
        they named when it was made: a later SEARCH RETURN (SAVE) does
        not change what "$" meant, nor does an expunge shift what "1:2"
        meant onto other messages. '*' stays the last message."""
        other = self.session()
        self.fill(other)
        self.ok(other.select("Views"))
        raw = RawSession(self.command())
        self.addCleanup(raw.close)
        raw.cmd("s SELECT Views")
        raw.cmd("a SEARCH RETURN (SAVE) 1:2")
        out = raw.cmd("b UID SORT RETURN (UPDATE) (ARRIVAL) UTF-8 $")
        self.assertIn('* ESEARCH (TAG "b") UID ALL 2,1', out)
        out = raw.cmd("c SORT RETURN (UPDATE) (ARRIVAL) UTF-8 1:2")
        self.assertIn('* ESEARCH (TAG "c") ALL 2,1', out)
        out = raw.cmd("d UID SEARCH RETURN (UPDATE ALL) 5:*")
        self.assertIn('* ESEARCH (TAG "d") UID ALL 5:6', out)
        raw.cmd("e SEARCH RETURN (SAVE) 3:4")
        # An unrelated flag change: nothing to tell "b".
        self.ok(other.store("5", "+FLAGS", "\\Seen"))
        self.assertNotIn("ESEARCH", raw.cmd("f NOOP"))
        # Message 1 leaves: "c" loses it, and does not gain the one
        # that is number 2 now.
        self.ok(other.store("1", "+FLAGS", "\\Deleted"))
        self.ok(other.expunge())
        out = raw.cmd("g NOOP")
        self.assertIn('* ESEARCH (TAG "c") REMOVEFROM (2 1)', out)
        self.assertIn('* ESEARCH (TAG "b") UID REMOVEFROM (2 1)', out)
        self.assertNotIn("ADDTO", out)
        # A new message is the new '*': "d" (5:*) gains it.
        self.ok(other.append("Views", None, None, msg(["Subject: n"], 10)))
        out = raw.cmd("h NOOP")
        self.assertIn('* ESEARCH (TAG "d") UID ADDTO (0 7)', out)
        self.assertNotIn('TAG "b"', out)
        self.assertNotIn('TAG "c"', out)

    def test_context_sort_brute_force(self):
        """CONTEXT=SORT checked by brute force: random appends, flag
        changes and expunges by another session; after each step the
        ADDTO/REMOVEFROM pairs (and EXPUNGEs) are applied to the list
        the client holds, every REMOVEFROM must name the number at its
        position, and the list must equal what a fresh SORT says. UID
        and sequence-number contexts, criteria with ties (resolved by
        mailbox order), a fixed seed."""
        import random
        rnd = random.Random(int(os.environ.get("SEED", "5267")))
        other = self.session()
        self.ok(other.create("Rand"))
        subjects = ["alpha", "Re: alpha", "beta", "gamma", "Fwd: beta"]
        froms = ["a@example.org", "b@example.org", "Carl <c@x.org>"]
        dates = ["Mon, 1 Jan 2024 10:00:00 +0000",
                 "Tue, 2 Jan 2024 10:00:00 +0000",
                 "Wed, 3 Jan 2024 10:00:00 +0000"]

        def add():
            headers = ["From: " + rnd.choice(froms),
                       "Subject: " + rnd.choice(subjects),
                       "Date: " + rnd.choice(dates)]
            flags = rnd.choice([None, "(\\Flagged)", "(\\Seen)"])
            when = '"0%d-Jan-2024 00:00:00 +0000"' % rnd.randint(1, 3)
            self.ok(other.append("Rand", flags, when,
                                 msg(headers, rnd.choice([100, 800, 2000]))))

        for _ in range(8):
            add()
        self.ok(other.select("Rand"))
        raw = RawSession(self.command())
        self.addCleanup(raw.close)
        raw.cmd("s SELECT Rand")
        contexts = {
            "u1": (True, "(SUBJECT REVERSE DATE) UTF-8 FLAGGED"),
            "s1": (False, "(ARRIVAL) UTF-8 UNSEEN"),
            "u2": (True, "(REVERSE SIZE FROM) UTF-8 NOT DELETED"),
            "s2": (False, "(FROM REVERSE ARRIVAL) UTF-8 OR SEEN FLAGGED"),
            "s3": (False, "(DATE) UTF-8 ALL"),
        }

        def expand(word):
            out = []
            for part in word.split(","):
                a, _, b = part.partition(":")
                a = int(a)
                b = int(b) if b else a
                out.extend(range(a, b + 1) if a <= b
                           else range(a, b - 1, -1))
            return out

        def fresh(tag):
            uid, crit = contexts[tag]
            out = raw.cmd("f %sSORT %s" % ("UID " if uid else "", crit))
            m = re.search(r"^\* SORT([ 0-9]*)\r$", out, re.M)
            self.assertIsNotNone(m, out)
            return [int(x) for x in m.group(1).split()]

        lists = {}
        for tag, (uid, crit) in contexts.items():
            out = raw.cmd("%s %sSORT RETURN (UPDATE) %s" % (
                tag, "UID " if uid else "", crit))
            m = re.search(r'^\* ESEARCH \(TAG "%s"\)(?: UID)?'
                          r'(?: ALL ([0-9:,]+))?\r$' % tag, out, re.M)
            self.assertIsNotNone(m, out)
            lists[tag] = expand(m.group(1)) if m.group(1) else []
            self.assertEqual(lists[tag], fresh(tag), tag)

        upd = re.compile(r'^\* ESEARCH \(TAG "(\w+)"\)(?: UID)? '
                         r'(ADDTO|REMOVEFROM) \(([0-9:, ]+)\)$')
        applied = 0
        for step in range(60):
            op = rnd.random()
            n = len(self.ok(other.search(None, "ALL"))[0].split())
            if op < 0.3 or n < 3:
                for _ in range(rnd.randint(1, 2)):
                    add()
                self.ok(other.noop())
            elif op < 0.75:
                seqs = ",".join(str(rnd.randint(1, n))
                                for _ in range(rnd.randint(1, 3)))
                self.ok(other.store(seqs, rnd.choice(["+FLAGS", "-FLAGS"]),
                                    rnd.choice(["\\Seen", "\\Flagged",
                                                "\\Deleted"])))
            else:
                self.ok(other.store(str(rnd.randint(1, n)), "+FLAGS",
                                    "\\Deleted"))
                self.ok(other.expunge())
            out = raw.cmd("n%d NOOP" % step)
            for line in out.split("\r\n"):
                m = upd.match(line)
                if m:
                    tag, what, data = m.groups()
                    words = data.split()
                    self.assertEqual(len(words) % 2, 0, line)
                    lst = lists[tag]
                    applied += len(words) // 2
                    for i in range(0, len(words), 2):
                        pos = int(words[i])
                        nums = expand(words[i + 1])
                        self.assertGreater(pos, 0, line)
                        if what == "ADDTO":
                            self.assertLessEqual(pos, len(lst) + 1, line)
                            lst[pos - 1:pos - 1] = nums
                            continue
                        for num in nums:
                            self.assertLessEqual(pos, len(lst), line)
                            self.assertEqual(lst[pos - 1], num,
                                             "step %d %s: %s" % (
                                                 step, line, lst))
                            del lst[pos - 1]
                    continue
                m = re.match(r"^\* (\d+) EXPUNGE$", line)
                if m:
                    gone = int(m.group(1))
                    for tag, (uid, crit) in contexts.items():
                        if uid:
                            continue
                        self.assertNotIn(gone, lists[tag], (step, tag))
                        lists[tag] = [x - 1 if x > gone else x
                                      for x in lists[tag]]
            for tag in contexts:
                self.assertEqual(lists[tag], fresh(tag),
                                 "step %d, context %s" % (step, tag))
            self.assertNotIn("ESEARCH", raw.cmd("z NOOP"))
        # The updates were exercised, not just an unchanging result.
        self.assertGreater(applied, 50)

    def test_within(self):
        m = self.session()
        self.ok(m.create("Within"))
        now = imaplib.Time2Internaldate(time.time() - 60)
        old = imaplib.Time2Internaldate(time.time() - 7200)
        self.ok(m.append("Within", None, '"01-Jan-2000 00:00:00 +0000"',
                         msg(["Subject: ancient"], 100)))
        self.ok(m.append("Within", None, old, msg(["Subject: old"], 100)))
        self.ok(m.append("Within", None, now, msg(["Subject: new"], 100)))
        self.ok(m.select("Within"))
        self.assertEqual(self.ok(m.search(None, "YOUNGER", "3600")),
                         [b"3"])
        self.assertEqual(self.ok(m.search(None, "OLDER", "3600")),
                         [b"1 2"])
        self.assertEqual(self.ok(m.search(None, "YOUNGER", "86400",
                                          "OLDER", "600")), [b"2"])
        self.assertEqual(self.sort(m, "(REVERSE ARRIVAL)", "NOT",
                                   "YOUNGER", "3600"), "2 1")
        with self.assertRaisesRegex(imaplib.IMAP4.error, "BAD"):
            m.search(None, "YOUNGER", "0")


if __name__ == "__main__":
    harness.main()
