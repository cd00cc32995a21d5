#!/usr/bin/env python3
"""condstore: CONDSTORE and QRESYNC (RFC 7162) over imap-login, as
correo init sets it up, with SMTP delivery and POP3 changing the same
folder while IMAP clients are away.

Checked, with a raw client (exact responses) and imaplib: the
capabilities; HIGHESTMODSEQ in SELECT and STATUS growing with mail
delivered while no client is connected; MODSEQ in FETCH and in the
unsolicited FETCH another session's STORE causes; FETCH (CHANGEDSINCE);
STORE (UNCHANGEDSINCE) answering [MODIFIED]; SEARCH MODSEQ and ESEARCH
MODSEQ; ENABLE QRESYNC, VANISHED instead of EXPUNGE (also pushed in
IDLE, with the flag changes' MODSEQ), [CLOSED]; a client
that disconnects, while another IMAP session changes flags and expunges,
POP3 deletes and a message arrives, then reconnects with SELECT (QRESYNC
...) and gets exactly the VANISHED (EARLIER) UIDs and the changed flags,
and UID FETCH (CHANGEDSINCE ... VANISHED) says the same; the expunge
record after a compaction, and the conservative answer when the record
no longer reaches back to the client's modseq (with and without
sequence match data).
"""
import imaplib
import os
import poplib
import re
import socket
import struct

import harness

PASSWORD = "condstore secret 7"
USER = "carol@demo.test"

CONFIG = {
    "auth_failure_delay": "10ms",
    "auth_failure_delay_max": "20ms",
    "queue_run_delay": "1s",
}


class Raw:
    """A line-level IMAP client: cmd() sends one tagged command and
    returns the untagged lines and the tagged one (no literals come back
    for the commands used here)."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port),
                                             timeout=30)
        self.f = self.sock.makefile("rb")
        self.n = 0
        greeting = self.f.readline()
        assert greeting.startswith(b"* OK"), greeting

    def cmd(self, text):
        self.n += 1
        tag = "t%d" % self.n
        self.sock.sendall(("%s %s\r\n" % (tag, text)).encode())
        lines = []
        while True:
            line = self.f.readline()
            assert line, "connection closed after %r" % text
            line = line.decode().rstrip("\r\n")
            if line.startswith(tag + " "):
                return lines, line[len(tag) + 1:]
            lines.append(line)

    def ok(self, text):
        lines, tagged = self.cmd(text)
        assert tagged.startswith("OK"), "%s: %s %s" % (text, lines, tagged)
        return lines, tagged

    def close(self):
        try:
            self.cmd("LOGOUT")
        except Exception:
            pass
        self.sock.close()


def code(lines, name):
    """The value of an untagged OK [NAME value] response code."""
    for l in lines:
        m = re.match(r"\* OK \[%s (\d+)\]" % name, l)
        if m:
            return int(m.group(1))
    raise AssertionError("no %s in %s" % (name, lines))


def fetches(lines):
    """{uid: (flags set, modseq)} of the FETCH lines that carry a UID."""
    out = {}
    for l in lines:
        if " FETCH " not in l:
            continue
        uid = int(re.search(r"UID (\d+)", l).group(1))
        flags = re.search(r"FLAGS \(([^)]*)\)", l)
        modseq = re.search(r"MODSEQ \((\d+)\)", l)
        out[uid] = (set(flags.group(1).split()) if flags else None,
                    int(modseq.group(1)) if modseq else None)
    return out


def vanished(lines, earlier):
    """The UIDs of the VANISHED [(EARLIER)] lines, as a sorted list."""
    prefix = "* VANISHED (EARLIER) " if earlier else "* VANISHED "
    uids = []
    for l in lines:
        if l.startswith(prefix) and (earlier or "(EARLIER)" not in l):
            for part in l[len(prefix):].split(","):
                lo, _, hi = part.partition(":")
                uids += range(int(lo), int(hi or lo) + 1)
    return sorted(uids)


class CondstoreTest(harness.TestCase):

    @classmethod
    def setUpClass(cls):
        for d in ("imapd", "imap-login", "auth", "pop3d"):
            if not harness.have_daemon(d):
                raise __import__("unittest").SkipTest(d + " not built")

    def setUp(self):
        inst = self.instance(config=CONFIG)
        self.p143 = inst.port(143)
        inst.make_cert()
        inst.add_user(USER, PASSWORD)
        inst.start()
        inst.wait_for_port(self.p143)
        self.inst = inst
        self.md = os.path.join(inst.mail_dir, "demo.test", "carol")
        self.delivered = 0

    def deliver(self, n=1, present=None):
        """Deliver n messages; present: how many the folder then has
        (default: all delivered so far)."""
        for i in range(n):
            self.delivered += 1
            self.inst.send_mail("alice@example.org", [USER],
                                "Subject: m%d\r\n\r\nbody %d\r\n" %
                                (self.delivered, self.delivered))
            self.inst.wait_for_maildir(
                "demo.test/carol", self.delivered if present is None
                else present - (n - 1 - i))
        # The index record follows the file: wait for local's report.
        harness.wait_for(lambda: self.inst.log().count("status=sent")
                         >= self.delivered, what="deliveries reported")

    def raw(self):
        r = Raw(self.p143)
        self.addCleanup(r.close)
        r.ok('LOGIN "%s" "%s"' % (USER, PASSWORD))
        return r

    def imaplib(self):
        m = imaplib.IMAP4("127.0.0.1", self.p143, timeout=30)
        self.addCleanup(lambda: m.logout())
        self.assertEqual(m.login(USER, PASSWORD)[0], "OK")
        return m

    def status_modseq(self):
        r = self.raw()
        lines, _ = r.ok("STATUS INBOX (HIGHESTMODSEQ MESSAGES)")
        m = re.search(r"HIGHESTMODSEQ (\d+) MESSAGES (\d+)", lines[-1])
        r.close()
        return int(m.group(1)), int(m.group(2))

    def test_condstore_basics(self):
        self.deliver(3)
        m = self.imaplib()
        caps = m.capability()[1][0].split()
        for cap in (b"CONDSTORE", b"QRESYNC", b"ENABLE"):
            self.assertIn(cap, caps)
        # Deliveries while nobody is connected advance the modseq.
        before, count = self.status_modseq()
        self.assertEqual(count, 3)
        self.deliver(1)
        after, count = self.status_modseq()
        self.assertEqual(count, 4)
        self.assertGreater(after, before)

        r = self.raw()
        lines, _ = r.ok("SELECT INBOX (CONDSTORE)")
        highest = code(lines, "HIGHESTMODSEQ")
        self.assertGreaterEqual(highest, after)
        lines, _ = r.ok("UID FETCH 1:* (FLAGS MODSEQ)")
        seen = fetches(lines)
        self.assertEqual(sorted(seen), [1, 2, 3, 4])
        self.assertTrue(all(ms <= highest for _, ms in seen.values()))
        # STORE answers with the new modseq; UNCHANGEDSINCE below it
        # fails with [MODIFIED].
        lines, _ = r.ok("UID STORE 2 (UNCHANGEDSINCE %d) +FLAGS (\\Seen)"
                        % seen[2][1])
        ms2 = fetches(lines)[2][1]
        self.assertGreater(ms2, highest)
        lines, tagged = r.ok("UID STORE 1:2 (UNCHANGEDSINCE %d) "
                             "+FLAGS (\\Flagged)" % seen[2][1])
        self.assertIn("[MODIFIED 2]", tagged)
        self.assertEqual(set(fetches(lines)), {1})
        lines, tagged = r.ok("STORE 3 (UNCHANGEDSINCE 0) +FLAGS (\\Seen)")
        self.assertIn("[MODIFIED 3]", tagged)
        # CHANGEDSINCE: only what changed, with MODSEQ added.
        lines, _ = r.ok("UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % highest)
        changed = fetches(lines)
        self.assertEqual(sorted(changed), [1, 2])
        self.assertIn("\\Flagged", changed[1][0])
        # SEARCH MODSEQ and ESEARCH MODSEQ: the highest of the matches.
        lines, _ = r.ok("UID SEARCH MODSEQ %d" % (highest + 1))
        self.assertEqual(lines[0], "* SEARCH 1 2 (MODSEQ %d)" %
                         max(changed[1][1], changed[2][1]))
        lines, _ = r.ok('SEARCH RETURN (MIN) MODSEQ "/flags/\\\\seen" all '
                        '%d' % (highest + 1))
        self.assertRegex(lines[0], r'^\* ESEARCH \(TAG "t\d+"\) MIN 1 '
                         r'MODSEQ %d$' % changed[1][1])
        lines, _ = r.ok("SEARCH MODSEQ 9000000000")
        self.assertEqual(lines, ["* SEARCH"])
        # imaplib's view: STATUS HIGHESTMODSEQ.
        typ, data = m.status("INBOX", "(HIGHESTMODSEQ)")
        self.assertEqual(typ, "OK")
        self.assertEqual(int(re.search(rb"HIGHESTMODSEQ (\d+)",
                                       data[0]).group(1)),
                         max(changed[1][1], changed[2][1]))

    def test_two_sessions_and_delivery(self):
        self.deliver(2)
        a, b = self.raw(), self.raw()
        a.ok("ENABLE CONDSTORE")
        lines, _ = a.ok("SELECT INBOX")
        highest = code(lines, "HIGHESTMODSEQ")
        b.ok("SELECT INBOX")
        b.ok("STORE 2 +FLAGS ($Work)")
        lines, _ = b.ok("UID FETCH 2 (MODSEQ)")
        ms = fetches(lines)[2][1]
        # A hears of it with the modseq, unsolicited.
        lines, _ = a.ok("NOOP")
        # (A took both messages as \Recent at its SELECT.)
        self.assertIn("* 2 FETCH (FLAGS (\\Recent $Work) MODSEQ (%d))" % ms,
                      lines)
        # A delivery: EXISTS, then its modseq is above everything.
        self.deliver(1)
        lines, _ = a.ok("NOOP")
        self.assertIn("* 3 EXISTS", lines)
        lines, _ = a.ok("FETCH 3 (UID MODSEQ)")
        self.assertGreater(fetches(lines)[3][1], ms)
        # imaplib sees the same messages and flags.
        m = self.imaplib()
        m.select("INBOX")
        typ, data = m.fetch("2", "(FLAGS MODSEQ)")
        self.assertIn(b"$Work", data[0])
        self.assertIn(b"MODSEQ (%d)" % ms, data[0])
        self.assertGreater(ms, highest)

    def test_qresync_after_disconnect(self):
        self.deliver(4)
        a = self.raw()
        lines, _ = a.ok("ENABLE QRESYNC")
        self.assertIn("* ENABLED QRESYNC", lines)
        lines, _ = a.ok("SELECT INBOX")
        validity = code(lines, "UIDVALIDITY")
        highest = code(lines, "HIGHESTMODSEQ")
        a.close()
        # While A is away: another IMAP session flags 2 and expunges 3,
        # POP3 deletes the first message (uid 1), a message arrives.
        b = self.raw()
        b.ok("SELECT INBOX")
        b.ok("UID STORE 2 +FLAGS (\\Flagged)")
        b.ok("UID STORE 3 +FLAGS (\\Deleted)")
        b.ok("EXPUNGE")
        b.close()
        p = poplib.POP3("127.0.0.1", self.inst.port(110), timeout=30)
        p.user(USER)
        p.pass_(PASSWORD)
        self.assertTrue(p.uidl(1).split()[2].startswith(b"00000001"))
        p.dele(1)
        p.quit()
        self.deliver(1, present=3)
        # A comes back: exactly the expunges and the changed flags of
        # the messages it knew.
        a = self.raw()
        lines, _ = a.ok("ENABLE QRESYNC CONDSTORE")
        self.assertEqual(lines, ["* ENABLED QRESYNC CONDSTORE"])
        lines, _ = a.ok("SELECT INBOX (QRESYNC (%d %d 1:4))"
                        % (validity, highest))
        self.assertEqual(vanished(lines, True), [1, 3])
        changed = fetches(lines)
        self.assertEqual(sorted(changed), [2])
        self.assertEqual(changed[2][0], {"\\Flagged"})
        self.assertIn("* 3 EXISTS", lines)
        new_highest = code(lines, "HIGHESTMODSEQ")
        self.assertGreater(new_highest, highest)
        # Without known UIDs the new message (uid 5) counts too.
        lines, _ = a.ok("EXAMINE INBOX (QRESYNC (%d %d))"
                        % (validity, highest))
        self.assertEqual(lines[0], "* OK [CLOSED] Previous mailbox closed.")
        self.assertEqual(vanished(lines, True), [1, 3])
        self.assertEqual(sorted(fetches(lines)), [2, 5])
        # The same from UID FETCH (CHANGEDSINCE ... VANISHED).
        lines, _ = a.ok("UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)"
                        % highest)
        self.assertEqual(vanished(lines, True), [1, 3])
        self.assertEqual(sorted(fetches(lines)), [2, 5])
        # Nothing changed since the new HIGHESTMODSEQ.
        lines, _ = a.ok("UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)"
                        % new_highest)
        self.assertEqual(lines, [])
        # A wrong UIDVALIDITY: a plain SELECT, no resync.
        lines, _ = a.ok("SELECT INBOX (QRESYNC (%d %d 1:4))"
                        % (validity + 1, highest))
        self.assertEqual(vanished(lines, True), [])
        self.assertEqual(fetches(lines), {})
        # In the session: VANISHED, not EXPUNGE, for another's expunge,
        # and the tagged OK of EXPUNGE carries the HIGHESTMODSEQ.
        b = self.raw()
        b.ok("SELECT INBOX")
        b.ok("UID STORE 4 +FLAGS (\\Deleted)")
        b.ok("UID EXPUNGE 4")
        lines, _ = a.ok("NOOP")
        self.assertIn("* VANISHED 4", lines)
        self.assertFalse([l for l in lines if l.endswith("EXPUNGE")])
        a.ok("UID STORE 5 +FLAGS (\\Deleted)")
        lines, tagged = a.ok("EXPUNGE")
        self.assertEqual(vanished(lines, False), [5])
        self.assertRegex(tagged, r"^OK \[HIGHESTMODSEQ \d+\]")
        # QRESYNC without ENABLE is refused.
        b.close()
        c = self.raw()
        lines, tagged = c.cmd("SELECT INBOX (QRESYNC (%d 1))" % validity)
        self.assertTrue(tagged.startswith("BAD"), tagged)

    def test_idle_pushes_vanished_and_modseq(self):
        self.deliver(3)
        a, b = self.raw(), self.raw()
        a.ok("ENABLE QRESYNC")
        a.ok("SELECT INBOX")
        b.ok("SELECT INBOX")
        a.sock.sendall(b"i1 IDLE\r\n")
        self.assertTrue(a.f.readline().startswith(b"+"))
        b.ok("UID STORE 1 +FLAGS (\\Answered)")
        b.ok("UID STORE 2 +FLAGS (\\Deleted)")
        b.ok("UID EXPUNGE 2")
        lines, ms = [], None
        while ms is None or not vanished(lines, False):
            line = a.f.readline().decode().rstrip("\r\n")
            self.assertTrue(line, "connection closed in IDLE")
            lines.append(line)
            got = fetches(lines)
            if 1 in got and "\\Answered" in got[1][0]:
                ms = got[1][1]
        self.assertEqual(vanished(lines, False), [2])
        self.assertIsNotNone(ms)
        a.sock.sendall(b"DONE\r\n")
        while True:
            line = a.f.readline().decode()
            if line.startswith("i1 "):
                break
        self.assertTrue(line.startswith("i1 OK"), line)
        lines, _ = a.ok("UID FETCH 1 (MODSEQ)")
        self.assertEqual(fetches(lines)[1][1], ms)

    def highest(self, r):
        lines, _ = r.ok("STATUS INBOX (HIGHESTMODSEQ)")
        return int(re.search(r"HIGHESTMODSEQ (\d+)", lines[-1]).group(1))

    def test_vanished_survives_compaction_and_trim(self):
        self.deliver(6)
        a = self.raw()
        a.ok("ENABLE QRESYNC")
        lines, _ = a.ok("SELECT INBOX")
        validity = code(lines, "UIDVALIDITY")
        a.ok("UID STORE 1 +FLAGS (\\Deleted)")
        a.ok("UID EXPUNGE 1")
        mid = self.highest(a)
        a.ok("UID STORE 3 +FLAGS (\\Deleted)")
        a.ok("UID EXPUNGE 3")
        a.close()
        # A compaction (correo mailbox USER purge): the log's E records
        # become the snapshot's X records.
        self.assertRuns(self.inst.correo_input(["mailbox", USER, "purge"],
                                               ""))
        with open(os.path.join(self.md, "correo-index"), "rb") as f:
            snap = f.read()
        self.assertEqual(snap[:8], b"CORREOI3")
        # The expunged ranges: the section's count in the header.
        self.assertGreater(struct.unpack_from("<I", snap, 60)[0], 0)
        with open(os.path.join(self.md, "correo-index.log")) as f:
            self.assertEqual(len(f.read().splitlines()), 1)
        a = self.raw()
        a.ok("ENABLE QRESYNC")
        lines, _ = a.ok("SELECT INBOX (QRESYNC (%d %d 1:6))"
                        % (validity, mid))
        self.assertEqual(vanished(lines, True), [3])
        lines, _ = a.ok("SELECT INBOX (QRESYNC (%d 1 1:6))" % validity)
        self.assertEqual(vanished(lines, True), [1, 3])
        a.close()
        # Trim the record as a long history would: a floor above the
        # client's modseq. The answer is then every known UID that is
        # gone, and sequence match data narrows it.
        self.add_floor(mid + 1)
        a = self.raw()
        a.ok("ENABLE QRESYNC")
        lines, _ = a.ok("SELECT INBOX (QRESYNC (%d %d 1:6))"
                        % (validity, mid))
        self.assertEqual(vanished(lines, True), [1, 3])
        # Seq 1 is uid 2 then and now: nothing below uid 2 is news.
        lines, _ = a.ok("SELECT INBOX (QRESYNC (%d %d 1:6 (1 2)))"
                        % (validity, mid))
        self.assertEqual(vanished(lines, True), [3])
        # Seq 2 was uid 3, now uid 4: no help there.
        lines, _ = a.ok("SELECT INBOX (QRESYNC (%d %d 1:6 (2 3)))"
                        % (validity, mid))
        self.assertEqual(vanished(lines, True), [1, 3])
        # Not trimmed that far: exact again.
        lines, _ = a.ok("SELECT INBOX (QRESYNC (%d %d 1:6))"
                        % (validity, mid + 1))
        self.assertEqual(vanished(lines, True), [3])

    def add_floor(self, floor):
        """Set the expunge record's floor in the (binary) snapshot, as a
        trimmed record leaves it (store/store_snapshot.c: the floor at
        byte 64, the check at 120); replaced by rename, as correo's
        writers do (open sessions keep the file they mapped)."""
        path = os.path.join(self.md, "correo-index")
        with open(path, "rb") as f:
            snap = bytearray(f.read())
        self.assertEqual(snap[:8], b"CORREOI3")
        struct.pack_into("<Q", snap, 64, floor)
        struct.pack_into("<Q", snap, 120, snap_check(bytes(snap)))
        with open(path + ".new", "wb") as f:
            f.write(snap)
        os.rename(path + ".new", path)


def snap_check(data):
    """store/store_snapshot.c's check: four lanes over what follows the
    128-byte header, folded with the header's first 120 bytes."""
    m = (1 << 64) - 1
    body = data[128:]
    n = len(body)
    h = [0x9e3779b97f4a7c15 ^ n, 0xc2b2ae3d27d4eb4f, 0x165667b19e3779f9,
         0x27d4eb2f165667c5]
    full = n - n % 32
    for i in range(0, full, 32):
        for lane in range(4):
            w = int.from_bytes(body[i + 8 * lane:i + 8 * lane + 8], "little")
            h[lane] ^= w
            h[lane] = (h[lane] * 0xff51afd7ed558ccd) & m
            h[lane] ^= h[lane] >> 32

    def rotl(v, k):
        return ((v << k) | (v >> (64 - k))) & m
    w = h[0] ^ rotl(h[1], 17) ^ rotl(h[2], 31) ^ rotl(h[3], 47)
    return store_hash64(data[:120], store_hash64(body[full:], w))


def store_hash64(data, seed=0):
    """store/store_cache.c's store_hash64, which checks snapshots."""
    m = (1 << 64) - 1
    h = seed ^ ((len(data) * 0x9e3779b97f4a7c15) & m)
    full = len(data) - len(data) % 8
    for i in range(0, full, 8):
        h ^= int.from_bytes(data[i:i + 8], "little")
        h = (h * 0xff51afd7ed558ccd) & m
        h ^= h >> 32
    h ^= int.from_bytes(data[full:], "little")
    h = (h * 0xc4ceb9fe1a85ec53) & m
    h ^= h >> 29
    h = (h * 0xff51afd7ed558ccd) & m
    h ^= h >> 32
    return h


if __name__ == "__main__":
    harness.main()
