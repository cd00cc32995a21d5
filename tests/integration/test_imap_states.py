#!/usr/bin/env python3
"""imap states: every IMAP command in every state, from a raw client.

Through imap-login and imapd of a real instance on loopback, each
command of RFC 3501 and RFC 9051 and of the advertised extensions is
sent in each state:

  not authenticated   (imap-login)
  authenticated       (after LOGIN, nothing selected)
  selected            (SELECT: read-write)
  selected read-only  (EXAMINE)
  logged out          (after LOGOUT the connection is closed)

and the answer is checked against the RFCs: the tagged OK, NO or BAD,
the untagged responses that must come with it and those that must not
(RECENT, [UNSEEN] and SEARCH after ENABLE IMAP4rev2; EXPUNGE from a
read-only mailbox; \\Seen set by a read-only FETCH). Then hostile input:
numbers at or above 2^32, deep parentheses, huge sequence sets, literals
over the limits, mailbox names that would leave the Maildir.
"""
import os
import re
import socket
import unittest

import harness

USER = "walk@demo.test"
PASSWORD = "every state 9"
CONFIG = {"queue_run_delay": "1s", "mail_max_userip_connections": "50"}

MSG = (b"From: Alice <alice@example.org>\r\nTo: walk@demo.test\r\n"
       b"Subject: walk %d\r\nMessage-ID: <walk%d@example.org>\r\n"
       b"\r\nbody %d\r\n")

# Commands that need a selected mailbox, valid as written once one is.
SELECTED_ONLY = [
    "CHECK", "CLOSE", "UNSELECT", "EXPUNGE", "SEARCH ALL", "FETCH 1 FLAGS",
    "STORE 1 +FLAGS (\\Flagged)", "COPY 1 INBOX", "MOVE 1 Trash",
    "UID SEARCH ALL", "UID FETCH 1 FLAGS", "UID STORE 1 +FLAGS (\\Seen)",
    "UID COPY 1 INBOX", "UID MOVE 1 Trash", "UID EXPUNGE 1",
]
# Commands that need to be logged in.
AUTHENTICATED = [
    "SELECT INBOX", "EXAMINE INBOX", "CREATE x", "DELETE x", "RENAME x y",
    "SUBSCRIBE x", "UNSUBSCRIBE x", 'LIST "" *', 'LSUB "" *', "NAMESPACE",
    "STATUS INBOX (MESSAGES)", "APPEND INBOX {1+}\r\nx", "IDLE",
    "ENABLE IMAP4rev2", "NOTIFY NONE",
    "APPEND INBOX CATENATE (TEXT {1+}\r\nx)",
]


class Raw:
    """An IMAP client that shows every byte: cmd() sends one command and
    returns (untagged lines, tagged line); literals in responses are
    kept inline."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port),
                                             timeout=30)
        self.buf = b""
        self.n = 0
        self.greeting = self.line()

    def close(self):
        self.sock.close()

    def fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("connection closed")
        self.buf += data

    def line(self):
        while b"\r\n" not in self.buf:
            self.fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        m = re.search(rb"~?\{(\d+)\}$", line)
        if m:
            n = int(m.group(1))
            while len(self.buf) < n:
                self.fill()
            lit, self.buf = self.buf[:n], self.buf[n:]
            return line + b"\r\n" + lit + self.line()
        return line

    def closed(self):
        """True if the server closed the connection (nothing more)."""
        try:
            self.fill()
        except (EOFError, ConnectionResetError):
            return True
        return False

    def send(self, data):
        self.sock.sendall(data)

    def cmd(self, text, tag=None):
        self.n += 1
        tag = tag or ("w%d" % self.n).encode()
        if isinstance(text, str):
            text = text.encode()
        self.send(tag + b" " + text + b"\r\n")
        untagged = []
        while True:
            line = self.line()
            if line.startswith(tag + b" "):
                return untagged, line[len(tag) + 1:]
            if line.startswith(b"+ ") and text.upper() == b"IDLE":
                self.send(b"DONE\r\n")
                continue
            untagged.append(line)


class ImapStatesTest(harness.TestCase):

    @classmethod
    def setUpClass(cls):
        for d in ("imapd", "imap-login", "auth"):
            if not harness.have_daemon(d):
                raise unittest.SkipTest(d + " not built")

    def setUp(self):
        inst = self.instance(config=CONFIG)
        inst.add_user(USER, PASSWORD)
        inst.start()
        self.port = inst.port(143)
        inst.wait_for_port(self.port)
        self.inst = inst

    # ---- helpers ----

    def raw(self):
        r = Raw(self.port)
        self.addCleanup(r.close)
        return r

    def login(self, n=0):
        """A logged-in client; n messages appended to INBOX."""
        r = self.raw()
        self.expect(r, 'LOGIN %s "%s"' % (USER, PASSWORD), "OK",
                    tagged=rb"^OK \[CAPABILITY IMAP4rev1 ")
        for i in range(1, n + 1):
            msg = MSG % (i, i, i)
            self.expect(r, b"APPEND INBOX {%d+}\r\n%s" % (len(msg), msg),
                        "OK", tagged=rb"^OK \[APPENDUID \d+ %d\]" % i)
        return r

    def expect(self, r, command, status, want=(), never=(), tagged=None):
        """Send command; the tagged status must be status, each regex
        in want must match an untagged line, none in never may."""
        untagged, line = r.cmd(command)
        what = (command, untagged, line)
        self.assertEqual(line.split(b" ", 1)[0], status.encode(), what)
        if tagged is not None:
            self.assertRegex(line, tagged, what)
        for rx in want:
            self.assertTrue(any(re.search(rx, u) for u in untagged),
                            (rx,) + what)
        for rx in never:
            self.assertFalse(any(re.search(rx, u) for u in untagged),
                             (rx,) + what)
        return untagged

    # ---- not authenticated ----

    def test_not_authenticated(self):
        r = self.raw()
        self.assertRegex(r.greeting, rb"^\* OK \[CAPABILITY IMAP4rev1 "
                         rb"IMAP4rev2 ")
        # No LOGIN-REFERRALS: correo never refers a client elsewhere.
        self.expect(r, "CAPABILITY", "OK",
                    want=[rb"^\* CAPABILITY IMAP4rev1 IMAP4rev2 .*AUTH=PLAIN"],
                    never=[rb"REFERRALS"])
        self.expect(r, "NOOP", "OK")
        self.expect(r, 'ID ("name" "walk")', "OK", want=[rb"^\* ID "])
        self.expect(r, "AUTHENTICATE NOSUCH", "NO")
        self.expect(r, "LOGIN %s wrong" % USER, "NO",
                    tagged=rb"^NO \[AUTHENTICATIONFAILED\]")
        self.expect(r, "LOGIN", "BAD")
        for c in ("NOOP x", "CAPABILITY x", "LOGOUT x", "STARTTLS x"):
            self.expect(r, c, "BAD")
        r = self.raw()
        # Everything else is not allowed yet: BAD, and nothing happens.
        # (A new connection every few commands: the front end ends one
        # after login_error_limit bad commands.)
        for i, c in enumerate(AUTHENTICATED + SELECTED_ONLY +
                              ["BOGUS", "UID BOGUS 1"]):
            if i % 8 == 7:
                r = self.raw()
            self.expect(r, c, "BAD", never=[rb"^\* (LIST|STATUS|\d+)"])
        self.expect(r, "LOGOUT", "OK", want=[rb"^\* BYE"])
        self.assertTrue(r.closed())

    # ---- authenticated ----

    def test_authenticated(self):
        r = self.login(2)
        self.expect(r, "CAPABILITY", "OK", want=[rb"^\* CAPABILITY .*"
                                                 rb"IMAP4rev2"],
                    never=[rb"AUTH=", rb"STARTTLS"])
        self.expect(r, "NOOP", "OK")
        self.expect(r, "LOGIN %s x" % USER, "BAD")
        self.expect(r, "AUTHENTICATE PLAIN", "BAD")
        self.expect(r, "STARTTLS", "BAD")
        self.expect(r, 'ID NIL', "OK", want=[rb'^\* ID \("name" '])
        self.expect(r, "NAMESPACE", "OK",
                    want=[rb'^\* NAMESPACE \(\("" "\."\)\) NIL NIL$'])
        self.expect(r, 'LIST "" ""', "OK",
                    want=[rb'^\* LIST \(\\Noselect\) "\." ""$'])
        self.expect(r, 'LIST "" *', "OK",
                    want=[rb'^\* LIST \([^)]*\) "\." "?INBOX"?$',
                          rb'^\* LIST \([^)]*\\Sent[^)]*\) "\." "?Sent"?$',
                          rb'\\Trash', rb'\\Drafts', rb'\\Junk',
                          rb'\\Archive'])
        self.expect(r, 'LIST (SPECIAL-USE) "" *', "OK",
                    want=[rb"\\Sent"], never=[rb'"?INBOX"?$'])
        self.expect(r, 'LSUB "" *', "OK", want=[rb'^\* LSUB \(\) "\." '])
        self.expect(r, "STATUS INBOX (MESSAGES RECENT UIDNEXT UIDVALIDITY "
                       "UNSEEN SIZE)", "OK",
                    want=[rb"^\* STATUS \"?INBOX\"? \(MESSAGES 2 RECENT 2 "
                          rb"UIDNEXT 3 UIDVALIDITY \d+ UNSEEN 2 SIZE \d+\)"])
        self.expect(r, "STATUS nosuch (MESSAGES)", "NO")
        self.expect(r, "CREATE Work.2024", "OK")
        self.expect(r, "CREATE Work", "NO", tagged=rb"^NO \[ALREADYEXISTS\]")
        self.expect(r, "CREATE INBOX", "NO")
        self.expect(r, 'LIST "" Work*', "OK",
                    want=[rb'^\* LIST \(\\HasChildren\) "\." "?Work"?$',
                          rb'^\* LIST \(\\HasNoChildren\) "\." '
                          rb'"?Work\.2024"?$'])
        self.expect(r, "SUBSCRIBE Work.2024", "OK")
        self.expect(r, 'LSUB "" Work.*', "OK", want=[rb'Work\.2024'])
        self.expect(r, "UNSUBSCRIBE Work.2024", "OK")
        self.expect(r, 'LSUB "" Work.*', "OK", never=[rb'Work\.2024'])
        self.expect(r, "DELETE Work", "NO", tagged=rb"^NO \[HASCHILDREN\]")
        self.expect(r, "RENAME Work Play", "OK")
        self.expect(r, "RENAME Play Sent", "NO",
                    tagged=rb"^NO \[ALREADYEXISTS\]")
        self.expect(r, "RENAME nosuch x", "NO",
                    tagged=rb"^NO \[NONEXISTENT\]")
        self.expect(r, "DELETE Play.2024", "OK")
        self.expect(r, "DELETE Play", "OK")
        self.expect(r, "DELETE INBOX", "NO")
        self.expect(r, "DELETE nosuch", "NO", tagged=rb"^NO \[NONEXISTENT\]")
        self.expect(r, "APPEND nosuch {1+}\r\nx", "NO",
                    tagged=rb"^NO \[TRYCREATE\]")
        self.expect(r, "APPEND Trash (\\Seen) \"01-Feb-2024 10:00:00 +0100\""
                       " {3+}\r\nabc", "OK", tagged=rb"^OK \[APPENDUID ")
        self.expect(r, "STATUS Trash (MESSAGES UNSEEN)", "OK",
                    want=[rb"\(MESSAGES 1 UNSEEN 0\)"])
        self.expect(r, "ENABLE NOSUCH", "OK", never=[rb"NOSUCH"])
        self.expect(r, "IDLE", "OK")
        for c in SELECTED_ONLY:
            self.expect(r, c, "BAD", never=[rb"^\* \d+ "])
        self.expect(r, "BOGUS", "BAD")
        # Commands without arguments take none (RFC 3501 9).
        for c in ("NOOP x", "CAPABILITY x", "NAMESPACE x", "IDLE x",
                  "LOGOUT x"):
            self.expect(r, c, "BAD", never=[rb"^\* (BYE|NAMESPACE|CAP)"])
        self.expect(r, "LOGOUT", "OK", want=[rb"^\* BYE"])
        self.assertTrue(r.closed())

    def test_list_levels_without_mailbox(self):
        # Another Maildir tool made ".p.q" without ".p": the level "p"
        # is listed as not selectable (RFC 3501 6.3.8), \Noselect for a
        # plain rev1 LIST, \NonExistent with RFC 5258 syntax or rev2.
        r = self.login()
        md = os.path.join(self.inst.mail_dir, "demo.test", "walk")
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(md, ".p.q", sub))
            if self.inst.user is not None:
                for d in (".p.q", ".p.q/" + sub):
                    os.chown(os.path.join(md, d), self.inst.user.pw_uid,
                             self.inst.user.pw_gid)
        self.expect(r, 'LIST "" %', "OK",
                    want=[rb'^\* LIST \(\\Noselect \\HasChildren\) "\." '
                          rb'"?p"?$'], never=[rb'"?p\.q"?$'])
        self.expect(r, 'LIST "" p*', "OK",
                    want=[rb'\(\\Noselect \\HasChildren\) "\." "?p"?$',
                          rb'\(\\HasNoChildren\) "\." "?p\.q"?$'])
        self.expect(r, 'LIST "" p* RETURN (CHILDREN)', "OK",
                    want=[rb'\(\\NonExistent \\HasChildren\) "\." '
                          rb'"?p"?$'])
        self.expect(r, "SELECT p", "NO", tagged=rb"^NO \[NONEXISTENT\]")
        self.expect(r, "SELECT p.q", "OK")
        self.expect(r, "ENABLE IMAP4rev2", "OK")
        self.expect(r, 'LIST "" %', "OK",
                    want=[rb'\(\\NonExistent \\HasChildren\) "\." '
                          rb'"?p"?$'])

    # ---- selected ----

    def test_selected(self):
        r = self.login(3)
        self.expect(r, "SELECT INBOX", "OK",
                    want=[rb"^\* FLAGS \(", rb"^\* 3 EXISTS$",
                          rb"^\* 3 RECENT$", rb"^\* OK \[UNSEEN 1\]",
                          rb"^\* OK \[PERMANENTFLAGS \(.*\\\*\)\]",
                          rb"^\* OK \[UIDVALIDITY \d+\]",
                          rb"^\* OK \[UIDNEXT 4\]"],
                    tagged=rb"^OK \[READ-WRITE\]")
        self.expect(r, "NOOP", "OK")
        self.expect(r, "CHECK", "OK")
        # The commands of the authenticated state work here too.
        for c, want in (("CAPABILITY", rb"^\* CAPABILITY "),
                        ("ID NIL", rb"^\* ID "),
                        ("NAMESPACE", rb"^\* NAMESPACE "),
                        ('LIST "" INBOX', rb'^\* LIST '),
                        ('LSUB "" *', rb'^\* LSUB '),
                        ("STATUS Sent (MESSAGES)", rb"^\* STATUS "),
                        ("ENABLE NOSUCH", rb"^\* ENABLED$")):
            self.expect(r, c, "OK", want=[want])
        for c in ("CREATE Sel", "SUBSCRIBE Sel", "UNSUBSCRIBE Sel",
                  "RENAME Sel Sel2", "DELETE Sel2"):
            self.expect(r, c, "OK")
        for c in ("LOGIN %s x" % USER, "AUTHENTICATE PLAIN", "STARTTLS"):
            self.expect(r, c, "BAD")
        self.expect(r, "FETCH 1:* (UID FLAGS)", "OK",
                    want=[rb"^\* 1 FETCH \(UID 1 FLAGS \(\\Recent\)\)$",
                          rb"^\* 3 FETCH \(UID 3 FLAGS \(\\Recent\)\)$"])
        self.expect(r, "FETCH 1 (ENVELOPE BODYSTRUCTURE RFC822.SIZE "
                       "INTERNALDATE BODY.PEEK[HEADER.FIELDS (SUBJECT)])",
                    "OK", want=[rb'"walk 1"', rb'\("text" "plain"',
                                rb"Subject: walk 1"], never=[rb"\\Seen"])
        self.expect(r, "FETCH 1 BODY[TEXT]", "OK",
                    want=[rb"BODY\[TEXT\] \{8\}\r\nbody 1\r\n",
                          rb"\\Seen"])
        self.expect(r, "FETCH 4 FLAGS", "BAD")
        # A part that does not exist is empty (as in Dovecot); BINARY
        # refuses only an encoding it does not know (RFC 3516).
        self.expect(r, "FETCH 1 (BODY.PEEK[5] BINARY.PEEK[2.1] "
                       "BINARY.SIZE[7])", "OK",
                    want=[rb"BODY\[5\] \{0\}\r\n BINARY\[2\.1\] \{0\}\r\n "
                          rb"BINARY\.SIZE\[7\] 0"])
        self.expect(r, "FETCH 1 BINARY.PEEK[1]", "OK",
                    want=[rb"BINARY\[1\] \{8\}\r\nbody 1\r\n"])
        self.expect(r, "UID FETCH 4:99 FLAGS", "OK", never=[rb"FETCH"])
        self.expect(r, "SEARCH UNSEEN", "OK", want=[rb"^\* SEARCH 2 3$"])
        self.expect(r, "SEARCH RETURN (MIN MAX COUNT) ALL", "OK",
                    want=[rb'^\* ESEARCH \(TAG "w\d+"\) MIN 1 MAX 3 '
                          rb'COUNT 3$'])
        self.expect(r, "UID SEARCH SUBJECT \"walk 2\"", "OK",
                    want=[rb"^\* SEARCH 2$"])
        self.expect(r, "STORE 2 +FLAGS (\\Flagged $Work)", "OK",
                    want=[rb"^\* FLAGS \(.*\$Work",
                          rb"^\* OK \[PERMANENTFLAGS \(.*\$Work",
                          rb"^\* 2 FETCH \(FLAGS \((?=.*\\Flagged)"
                          rb"(?=.*\$Work)(?=.*\\Recent)[^)]*\)\)$"])
        self.expect(r, "STORE 2 -FLAGS.SILENT (\\Flagged)", "OK",
                    never=[rb"FETCH"])
        self.expect(r, "UID STORE 2 FLAGS (\\Deleted)", "OK",
                    want=[rb"^\* 2 FETCH \(UID 2 FLAGS \(\\Deleted "
                          rb"\\Recent\)\)$|^\* 2 FETCH \(FLAGS \(\\Deleted "
                          rb"\\Recent\) UID 2\)$"])
        self.expect(r, "STORE 1 +FLAGS (\\Recent)", "BAD")
        self.expect(r, "COPY 1 Trash", "OK", tagged=rb"^OK \[COPYUID \d+ 1 1\]")
        self.expect(r, "COPY 1 nosuch", "NO", tagged=rb"^NO \[TRYCREATE\]")
        self.expect(r, "EXPUNGE", "OK", want=[rb"^\* 2 EXPUNGE$"])
        self.expect(r, "MOVE 2 Archive", "OK",
                    want=[rb"^\* OK \[COPYUID \d+ 3 1\]", rb"^\* 2 EXPUNGE$"])
        self.expect(r, "UID EXPUNGE 99", "OK", never=[rb"EXPUNGE"])
        for c in ("EXPUNGE 1", "CHECK x", "CLOSE x", "UNSELECT x"):
            self.expect(r, c, "BAD", never=[rb"EXPUNGE"])
        self.expect(r, "APPEND INBOX {1+}\r\nx", "OK",
                    want=[rb"^\* 2 EXISTS$"])
        uu = (b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; "
              b"boundary=B\r\n\r\n--B\r\nContent-Transfer-Encoding: "
              b"x-uuencode\r\n\r\nbegin 644 x\r\n--B--\r\n")
        self.expect(r, b"APPEND INBOX {%d+}\r\n%s" % (len(uu), uu), "OK",
                    want=[rb"^\* 3 EXISTS$"])
        self.expect(r, "FETCH 3 BINARY.PEEK[1]", "NO",
                    tagged=rb"^NO \[UNKNOWN-CTE\]")
        self.expect(r, "FETCH 3 (BODY.PEEK[1] BINARY.PEEK[2])", "OK",
                    want=[rb"BODY\[1\] \{11\}\r\nbegin 644 x"])
        self.expect(r, "UID STORE 5 +FLAGS.SILENT (\\Deleted)", "OK")
        self.expect(r, "UID EXPUNGE 5", "OK", want=[rb"^\* 3 EXPUNGE$"])
        self.expect(r, "IDLE", "OK")
        self.expect(r, "STATUS INBOX (MESSAGES)", "OK",
                    want=[rb"MESSAGES 2"])
        # CLOSE expunges \Deleted silently; UNSELECT does not.
        self.expect(r, "STORE 1:* +FLAGS.SILENT (\\Deleted)", "OK")
        self.expect(r, "UNSELECT", "OK", never=[rb"EXPUNGE"])
        self.expect(r, "FETCH 1 FLAGS", "BAD")
        self.expect(r, "SELECT INBOX", "OK", want=[rb"^\* 2 EXISTS$"])
        self.expect(r, "CLOSE", "OK", never=[rb"EXPUNGE"])
        self.expect(r, "STATUS INBOX (MESSAGES)", "OK",
                    want=[rb"MESSAGES 0"])
        # A failed SELECT leaves no mailbox selected.
        self.expect(r, "SELECT Trash", "OK", want=[rb"^\* 1 EXISTS$"])
        self.expect(r, "SELECT nosuch", "NO", tagged=rb"^NO \[NONEXISTENT\]")
        self.expect(r, "FETCH 1 FLAGS", "BAD")
        # LOGOUT in the selected state expunges nothing.
        self.expect(r, "SELECT Trash", "OK")
        self.expect(r, "STORE 1 +FLAGS (\\Deleted)", "OK")
        self.expect(r, "LOGOUT", "OK", want=[rb"^\* BYE"],
                    never=[rb"EXPUNGE"])
        self.assertTrue(r.closed())
        r = self.login()
        self.expect(r, "STATUS Trash (MESSAGES)", "OK",
                    want=[rb"MESSAGES 1"])

    def test_examine_read_only(self):
        r = self.login(2)
        self.expect(r, "EXAMINE INBOX", "OK",
                    want=[rb"^\* 2 EXISTS$", rb"^\* 2 RECENT$",
                          rb"^\* OK \[PERMANENTFLAGS \(\)\]"],
                    tagged=rb"^OK \[READ-ONLY\]")
        # Reading does not set \Seen; nothing can be changed.
        self.expect(r, "FETCH 1 BODY[]", "OK", never=[rb"\\Seen"])
        self.expect(r, "FETCH 1 FLAGS", "OK", never=[rb"\\Seen"])
        self.expect(r, "STORE 1 +FLAGS (\\Deleted)", "NO",
                    never=[rb"FETCH"])
        self.expect(r, "UID STORE 1 +FLAGS (\\Seen)", "NO")
        self.expect(r, "EXPUNGE", "NO", never=[rb"EXPUNGE"])
        self.expect(r, "UID EXPUNGE 1", "NO", never=[rb"EXPUNGE"])
        self.expect(r, "MOVE 1 Trash", "NO", never=[rb"EXPUNGE"])
        self.expect(r, "COPY 1 Trash", "OK", tagged=rb"^OK \[COPYUID ")
        self.expect(r, "SEARCH ALL", "OK", want=[rb"^\* SEARCH 1 2$"])
        self.expect(r, "CLOSE", "OK", never=[rb"EXPUNGE"])
        self.expect(r, "STATUS INBOX (MESSAGES UNSEEN)", "OK",
                    want=[rb"\(MESSAGES 2 UNSEEN 2\)"])
        self.expect(r, "SELECT INBOX", "OK", tagged=rb"^OK \[READ-WRITE\]")

    # ---- IMAP4rev2 ----

    def test_imap4rev2(self):
        r = self.login(2)
        self.expect(r, "ENABLE IMAP4rev2", "OK",
                    want=[rb"^\* ENABLED IMAP4rev2$"])
        u = self.expect(r, "SELECT INBOX", "OK",
                        want=[rb"^\* 2 EXISTS$",
                              rb'^\* LIST \([^)]*\) "\." "?INBOX"?$',
                              rb"^\* OK \[UIDVALIDITY ",
                              rb"^\* OK \[UIDNEXT 3\]"],
                        never=[rb"RECENT", rb"\[UNSEEN"])
        self.expect(r, "SELECT Trash", "OK",
                    want=[rb"^\* OK \[CLOSED\]",
                          rb'^\* LIST \(\\Trash\) "\." "?Trash"?$'])
        self.assertTrue(u)
        self.expect(r, "SELECT INBOX", "OK")
        self.expect(r, "FETCH 1:* FLAGS", "OK", never=[rb"\\Recent"])
        self.expect(r, "SEARCH ALL", "OK",
                    want=[rb'^\* ESEARCH \(TAG "w\d+"\) ALL 1:2$'],
                    never=[rb"^\* SEARCH"])
        self.expect(r, "UID SEARCH ALL", "OK",
                    want=[rb'^\* ESEARCH \(TAG "w\d+"\) UID ALL 1:2$'])
        self.expect(r, "SEARCH SUBJECT nothing", "OK",
                    want=[rb'^\* ESEARCH \(TAG "w\d+"\)$'])
        self.expect(r, "STATUS INBOX (MESSAGES DELETED SIZE)", "OK",
                    want=[rb"\(MESSAGES 2 DELETED 0 SIZE \d+\)"])
        self.expect(r, "STORE 1 +FLAGS (\\Recent)", "BAD")
        # UTF-8 mailbox names, not modified UTF-7.
        self.expect(r, 'CREATE "Entwürfe.Ärger"', "OK")
        self.expect(r, 'LIST "" "Entw*"', "OK",
                    want=['^\\* LIST \\(\\\\HasChildren\\) "\\." '
                          '"Entwürfe"$'.encode(),
                          '"Entwürfe\\.Ärger"$'.encode()])
        self.expect(r, 'SELECT "Entwürfe.Ärger"', "OK",
                    want=['"Entwürfe\\.Ärger"$'.encode()])
        self.expect(r, "SELECT INBOX", "OK")
        self.expect(r, "MOVE 1 x", "NO", tagged=rb"^NO \[TRYCREATE\]")
        self.expect(r, 'CREATE "bad\xff"'.encode("latin-1"), "BAD")
        # The same names seen by an IMAP4rev1 session: modified UTF-7.
        r1 = self.login()
        self.expect(r1, 'LIST "" "Entw*"', "OK",
                    want=[rb'"Entw&APw-rfe"$',
                          rb'"Entw&APw-rfe\.&AMQ-rger"$'])
        self.expect(r1, "SELECT INBOX", "OK", want=[rb"RECENT"])

    # ---- hostile input ----

    def test_hostile(self):
        r = self.login(2)
        self.expect(r, "SELECT INBOX", "OK")
        for c in ("FETCH 4294967296 FLAGS", "FETCH 1:4294967296 FLAGS",
                  "UID FETCH 4294967296 FLAGS", "FETCH 0 FLAGS",
                  "FETCH 99999999999999999999 FLAGS",
                  "SEARCH UID 4294967296", "SEARCH 4294967296",
                  "FETCH 1 BODY[1.4294967296]",
                  "STORE 4294967297 +FLAGS (\\Seen)",
                  "FETCH 1 " + "(" * 40 + "FLAGS" + ")" * 40,
                  "SEARCH " + "(" * 100 + "ALL" + ")" * 100,
                  "SEARCH " + "NOT " * 1000 + "ALL",
                  "FETCH 1 (FLAGS", "FETCH 1 FLAGS)", 'SEARCH "unclosed',
                  "UID FETCH " + ",".join("%d:%d" % (i, i + 1)
                                          for i in range(1, 60000, 3)) +
                  " FLAGS"):
            self.expect(r, c, "BAD", never=[rb"^\* 1 FETCH"])
        # 2^32 - 1 is a valid (absent) UID: OK with nothing.
        self.expect(r, "UID FETCH 4294967295 FLAGS", "OK",
                    never=[rb"FETCH"])
        # A big but valid sequence set of existing messages.
        self.expect(r, "UID FETCH " + ",".join(["1", "2"] * 5000) +
                    " (UID)", "OK", want=[rb"^\* 1 FETCH \(UID 1\)$"])
        # Literals over the limit: a synchronising one is refused before
        # its data is sent; the session goes on.
        self.expect(r, "APPEND INBOX {99999999999}", "NO",
                    tagged=rb"^NO \[TOOBIG\]")
        self.expect(r, "APPEND INBOX {4294967296}", "NO")
        self.expect(r, "NOOP", "OK")
        # Mailbox names that would leave the Maildir, or are not names.
        for name in ("..", "../x", "a..b", ".hidden", "a/b", "/etc",
                     "~/../x", '"a\x01b"', '"a\x7fb"', "x" * 300,
                     ".".join(["a"] * 40), "*", "a%b"):
            for verb in ("CREATE", "SELECT", "DELETE",
                         "STATUS %s (MESSAGES)", "RENAME INBOX %s",
                         "APPEND %s {1+}\r\nx"):
                c = verb % name if "%s" in verb else "%s %s" % (verb, name)
                untagged, line = r.cmd(c)
                self.assertIn(line.split(b" ")[0], (b"NO", b"BAD"),
                              (c, untagged, line))
        self.expect(r, 'LIST "" *', "OK", never=[rb"\.\.", rb"/", rb"hidden",
                                                 rb"xxxxxxxxxx"])
        self.expect(r, "SELECT INBOX", "OK", want=[rb"^\* 2 EXISTS$"])
        # Bytes that are not IMAP: BAD, the session survives.
        for c in (b"\x00\x01\x02", b"FETCH 1 FLAGS\x00", b"\xff\xfe",
                  b"NOOP " + b"x" * 70000):
            untagged, line = r.cmd(c)
            self.assertEqual(line.split(b" ")[0], b"BAD", (c[:40], line))
        self.expect(r, "FETCH 1 (UID)", "OK",
                    want=[rb"^\* 1 FETCH \(UID 1\)$"])
        # IDLE ended by anything but DONE: BAD, the session goes on.
        r.send(b"i1 IDLE\r\n")
        self.assertTrue(r.line().startswith(b"+ "))
        r.send(b"STOP\r\n")
        self.assertTrue(r.line().startswith(b"i1 BAD"))
        # A synchronising literal is invited with "+", then read.
        r.send(b"l1 SEARCH CHARSET UTF-8 SUBJECT {6}\r\n")
        self.assertTrue(r.line().startswith(b"+ "))
        r.send(b"walk 2\r\n")
        self.assertEqual(r.line(), b"* SEARCH 2")
        self.assertTrue(r.line().startswith(b"l1 OK"))
        # A non-synchronising literal over the limit cannot be skipped:
        # BYE, and the connection ends.
        r.send(b"l2 APPEND INBOX {70000000+}\r\n" + b"x" * 1000)
        self.assertTrue(r.line().startswith(b"* BYE"))
        self.assertTrue(r.closed())


if __name__ == "__main__":
    harness.main()
