#!/usr/bin/env python3
"""NOTIFY (RFC 5465) over imap-login and imapd: a session names the
mailboxes and events it wants; another session (imaplib) and SMTP
delivery change things; the first hears of them after its next command
and while it IDLEs: STATUS for new, expunged and re-flagged messages of
other mailboxes, FETCH of the MessageNew items for new messages of the
selected one, LIST for mailboxes made, removed and (un)subscribed; the
initial STATUS of NOTIFY SET STATUS; nothing for mailboxes and events
not asked for, nor after NOTIFY NONE; BAD and NO [BADEVENT] for what
the RFC refuses or correo does not offer.
"""
import re

import harness

PASSWORD = "notify secret 3"
USER = "bob@demo.test"


def msg(subject):
    return ("From: alice@demo.test\r\nTo: bob@demo.test\r\n"
            "Subject: %s\r\n\r\nhello\r\n" % subject).encode()


class NotifyTest(harness.TestCase):

    def setUp(self):
        other = self.imap_instance(USER, PASSWORD)
        for name in ("Lists", "Lists.python", "Other"):
            self.ok(other.create(name))
        self.other = other
        self.raw = harness.ImapRaw(self.port, USER, PASSWORD)
        self.addCleanup(self.raw.close)

    def ok(self, result):
        typ, data = result
        self.assertEqual(typ, "OK", data)
        return data

    def cmd(self, line):
        ok, out = self.raw.cmd(line)
        self.assertTrue(ok, out)
        return out.decode()

    def test_capability_and_errors(self):
        self.assertIn(" NOTIFY", self.cmd(b"c CAPABILITY"))
        bad = [
            b"NOTIFY",
            b"NOTIFY SET",
            b"NOTIFY SET (FOO (MessageNew))",
            b"NOTIFY SET (SELECTED (MessageNew))",
            b"NOTIFY SET (SELECTED (FlagChange))",
            b"NOTIFY SET (SELECTED (MailboxName))",
            b"NOTIFY SET (SELECTED (MessageNew MessageExpunge)) "
            b"(SELECTED-DELAYED (MessageNew MessageExpunge))",
            b"NOTIFY SET (PERSONAL (MessageNew (UID)))",
            b"NOTIFY SET (MAILBOXES () (MessageNew))",
            b"NOTIFY SET (PERSONAL (NoSuchEvent))",
            b"NOTIFY SET (PERSONAL ())",
        ]
        for i, line in enumerate(bad):
            ok, out = self.raw.cmd(b"b%d " % i + line)
            self.assertIn(b"b%d BAD" % i, out, line)
        ok, out = self.raw.cmd(b"n NOTIFY SET (PERSONAL (MessageNew "
                               b"AnnotationChange))")
        self.assertIn(b"n NO [BADEVENT (", out)
        # A refused NOTIFY SET leaves none active.
        self.ok(self.other.append("Other", None, None, msg("x")))
        self.assertNotIn("STATUS", self.cmd(b"p NOOP"))

    def test_other_mailboxes(self):
        out = self.cmd(b"a NOTIFY SET STATUS (SUBTREE Lists (MessageNew "
                       b"MessageExpunge FlagChange)) (PERSONAL "
                       b"(MailboxName SubscriptionChange))")
        # The initial STATUS: Lists and Lists.python, not Other.
        self.assertRegex(out, r'\* STATUS "?Lists"? \(MESSAGES 0 UIDNEXT 1 '
                         r'UIDVALIDITY \d+ HIGHESTMODSEQ \d+\)')
        self.assertRegex(out, r'\* STATUS "?Lists\.python"? \(MESSAGES 0 ')
        self.assertNotIn("Other", out)
        self.cmd(b"s SELECT INBOX")
        # Arrival, then a flag change, then an expunge, in Lists.python.
        self.ok(self.other.append("Lists.python", None, None, msg("one")))
        out = self.cmd(b"b NOOP")
        # (With FlagChange wanted, also what a flag change would say:
        # an arrival moves HIGHESTMODSEQ too.)
        self.assertRegex(out, r'\* STATUS "?Lists\.python"? \(MESSAGES 1 '
                         r'UIDNEXT 2 (UIDVALIDITY \d+ )?UNSEEN 1'
                         r'( HIGHESTMODSEQ \d+)?\)')
        self.ok(self.other.select("Lists.python"))
        self.ok(self.other.store("1", "+FLAGS", "\\Seen"))
        out = self.cmd(b"c NOOP")
        self.assertRegex(out, r'\* STATUS "?Lists\.python"? \(UIDVALIDITY '
                         r'\d+ UNSEEN 0 HIGHESTMODSEQ \d+\)')
        self.ok(self.other.store("1", "+FLAGS", "\\Deleted"))
        self.ok(self.other.expunge())
        out = self.cmd(b"d NOOP")
        self.assertRegex(out, r'\* STATUS "?Lists\.python"? \(MESSAGES 0 '
                         r'UIDVALIDITY \d+ UNSEEN 0 HIGHESTMODSEQ \d+\)|'
                         r'\* STATUS "?Lists\.python"? \(MESSAGES 0\)')
        # Nothing changed: nothing said. Other is not watched.
        self.assertNotIn("STATUS", self.cmd(b"e NOOP"))
        self.ok(self.other.append("Other", None, None, msg("two")))
        self.assertNotIn("STATUS", self.cmd(b"f NOOP"))
        # Mailboxes made and removed; subscriptions.
        self.ok(self.other.create("NewBox"))
        out = self.cmd(b"g NOOP")
        self.assertRegex(out, r'\* LIST \(\) "\." "?NewBox"?\r\n')
        self.ok(self.other.delete("NewBox"))
        out = self.cmd(b"h NOOP")
        self.assertRegex(out, r'\* LIST \(\\NonExistent\) "\." "?NewBox"?')
        self.ok(self.other.subscribe("Other"))
        out = self.cmd(b"i NOOP")
        self.assertRegex(out, r'\* LIST \(\\Subscribed\) "\." "?Other"?')
        self.ok(self.other.unsubscribe("Other"))
        out = self.cmd(b"j NOOP")
        self.assertRegex(out, r'\* LIST \(\) "\." "?Other"?')
        # While IDLE: told within a bounded wait, without a command.
        self.raw.send(b"k IDLE\r\n")
        self.assertTrue(self.raw.line().startswith(b"+"))
        self.ok(self.other.append("Lists", None, None, msg("three")))
        self.raw.wait_line(rb'\* STATUS "?Lists"? \(MESSAGES 1 UIDNEXT 2',
                           timeout=10)
        self.raw.send(b"DONE\r\n")
        ok, out = self.raw.read_until_tag(b"k")
        self.assertTrue(ok, out)
        # NOTIFY NONE: quiet again.
        self.cmd(b"l NOTIFY NONE")
        self.ok(self.other.append("Lists", None, None, msg("four")))
        self.ok(self.other.create("Quiet"))
        out = self.cmd(b"m NOOP")
        self.assertNotIn("STATUS", out)
        self.assertNotIn("LIST", out)

    def test_flag_change_with_expunge(self):
        """A flag change and an expunge in the same mailbox between two
        checks: both are told (the new UNSEEN with the new MESSAGES),
        not only the expunge."""
        self.ok(self.other.append("Other", None, None, msg("one")))
        self.ok(self.other.append("Other", None, None, msg("two")))
        self.cmd(b"a NOTIFY SET (MAILBOXES Other (MessageNew "
                 b"MessageExpunge FlagChange))")
        self.ok(self.other.select("Other"))
        self.ok(self.other.store("1", "+FLAGS", "\\Seen"))
        self.ok(self.other.store("2", "+FLAGS", "\\Deleted"))
        self.ok(self.other.expunge())
        out = self.cmd(b"b NOOP")
        self.assertRegex(out, r'\* STATUS "?Other"? \(MESSAGES 1 .*'
                         r'UNSEEN 0 HIGHESTMODSEQ \d+\)')
        # And an arrival with a flag change: UNSEEN and HIGHESTMODSEQ.
        self.ok(self.other.store("1", "-FLAGS", "\\Seen"))
        self.ok(self.other.append("Other", None, None, msg("three")))
        out = self.cmd(b"c NOOP")
        self.assertRegex(out, r'\* STATUS "?Other"? \(MESSAGES 2 UIDNEXT 4 '
                         r'.*UNSEEN 2 HIGHESTMODSEQ \d+\)')

    def test_mailbox_made_during_idle(self):
        """A mailbox made while the client IDLEs is watched from then
        on: mail that arrives in it later in the same IDLE is told
        without waiting for some other event."""
        self.cmd(b"a NOTIFY SET (PERSONAL (MessageNew MessageExpunge "
                 b"MailboxName))")
        self.raw.send(b"i IDLE\r\n")
        self.assertTrue(self.raw.line().startswith(b"+"))
        self.ok(self.other.create("Fresh"))
        self.raw.wait_line(rb'\* LIST \(\) "\." "?Fresh"?', timeout=10)
        self.ok(self.other.append("Fresh", None, None, msg("new")))
        self.raw.wait_line(rb'\* STATUS "?Fresh"? \(MESSAGES 1 UIDNEXT 2',
                           timeout=10)
        self.raw.send(b"DONE\r\n")
        ok, out = self.raw.read_until_tag(b"i")
        self.assertTrue(ok, out)

    def test_idle_inbox_flags_after_notify_wakeup(self):
        """IDLE in INBOX with NOTIFY on other mailboxes: after a wake-up
        for another mailbox, a flag change in INBOX is still pushed (the
        root directory is both INBOX and where NOTIFY watches mailboxes
        come and go: one watch must not narrow the other's events)."""
        self.ok(self.other.append("INBOX", None, None, msg("in")))
        self.cmd(b"s SELECT INBOX")
        self.cmd(b"a NOTIFY SET (SELECTED (MessageNew MessageExpunge "
                 b"FlagChange)) (PERSONAL (MessageNew MessageExpunge "
                 b"MailboxName SubscriptionChange))")
        self.raw.send(b"i IDLE\r\n")
        self.assertTrue(self.raw.line().startswith(b"+"))
        self.ok(self.other.append("Other", None, None, msg("wake")))
        self.raw.wait_line(rb'\* STATUS "?Other"? \(MESSAGES 1', timeout=10)
        self.ok(self.other.subscribe("Other"))
        self.raw.wait_line(rb'\* LIST \(\\Subscribed\) "\." "?Other"?',
                           timeout=10)
        self.ok(self.other.select("INBOX"))
        self.ok(self.other.store("1", "+FLAGS", "\\Flagged"))
        self.raw.wait_line(rb"\* 1 FETCH \(FLAGS \([^)]*\\Flagged",
                           timeout=10)
        self.raw.send(b"DONE\r\n")
        ok, out = self.raw.read_until_tag(b"i")
        self.assertTrue(ok, out)

    def test_selected_mailbox_new_items(self):
        self.cmd(b"s SELECT INBOX")
        self.cmd(b"a NOTIFY SET (SELECTED (MessageNew (UID "
                 b"BODY.PEEK[HEADER.FIELDS (SUBJECT)]) MessageExpunge)) "
                 b"(INBOXES (MessageNew MessageExpunge))")
        # A delivery over SMTP while the client IDLEs.
        self.raw.send(b"i IDLE\r\n")
        self.assertTrue(self.raw.line().startswith(b"+"))
        self.inst.send_mail("alice@demo.test", [USER],
                            msg("delivered").decode())
        out = self.raw.wait_line(rb"\* 1 FETCH", timeout=15)
        self.assertIn(b"* 1 EXISTS", out)
        self.assertRegex(out, rb"\* 1 FETCH \(UID 1 BODY\[HEADER\.FIELDS "
                         rb"\(SUBJECT\)\] \{\d+\}\r\nSubject: delivered")
        self.raw.send(b"DONE\r\n")
        ok, out = self.raw.read_until_tag(b"i")
        self.assertTrue(ok, out)
        # No STATUS for the selected mailbox, though INBOXES takes it.
        self.assertNotIn(b"STATUS", out)
        self.ok(self.other.append("INBOX", None, None, msg("second")))
        out = self.cmd(b"n NOOP")
        self.assertIn("* 2 EXISTS", out)
        self.assertRegex(out, r"\* 2 FETCH \(UID 2 BODY")
        self.assertNotIn("STATUS", out)
        # Once another mailbox is selected, INBOX is an other mailbox.
        self.cmd(b"t SELECT Other")
        self.ok(self.other.append("INBOX", None, None, msg("third")))
        out = self.cmd(b"u NOOP")
        self.assertRegex(out, r'\* STATUS "?INBOX"? \(MESSAGES 3 UIDNEXT 4')


if __name__ == "__main__":
    harness.main()
