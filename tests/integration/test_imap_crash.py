#!/usr/bin/env python3
"""imap crash: kill -9 of imapd in the middle of APPEND, COPY, MOVE and
EXPUNGE loses nothing that was acknowledged and never reuses a UID.

Each round starts a pre-authenticated imapd (imaplib.IMAP4_stream) on one
Maildir, runs a random mix of APPEND (each message unique), COPY and MOVE
between INBOX and Archive, STORE \\Deleted and EXPUNGE, and SIGKILLs the
process after a random delay. After every round a fresh session checks:
every message whose APPEND got OK and that was not expunged on purpose is
in some folder (a copy interrupted may leave a duplicate: counted and
reported, allowed); UIDVALIDITY never changes; a folder's UIDs only grow
(a UID seen once is never seen again on a different message); the index
files open (the store repairs a torn log by itself).
"""
import imaplib
import os
import random
import re
import shlex
import signal
import subprocess
import threading
import time

import harness

ROUNDS = 25


class Tracker:
    """What the test knows for sure about the mailbox."""

    def __init__(self):
        self.acked = set()          # message ids whose APPEND got OK
        self.expunged = set()       # ids deliberately expunged (OK'd)
        self.uid_owner = {}         # (folder, uid) -> message id
        self.validity = {}          # folder -> UIDVALIDITY


class ImapCrashTest(harness.TestCase):

    def setUp(self):
        if not harness.have_daemon("imapd"):
            self.skipTest("imapd not built")
        self.tmp = self.make_tmp()
        self.md = os.path.join(self.tmp, "Maildir")
        self.rng = random.Random(int(os.environ.get("CRASH_SEED",
                                                    time.time())))

    def make_tmp(self):
        import tempfile
        d = tempfile.mkdtemp(prefix="correo-imapcrash-")
        self.addCleanup(lambda: subprocess.run(["rm", "-rf", d]))
        return d

    def session(self):
        cmd = "exec %s -m %s -u crash" % (
            shlex.quote(harness.libexec("imapd")),
                                     shlex.quote(self.md))
        return imaplib.IMAP4_stream(cmd)

    @staticmethod
    def msg_id(data):
        m = re.search(rb"X-Test-Id: (\d+)", data)
        return int(m.group(1)) if m else None

    def workload(self, m, t, next_id, stop):
        """Random operations until stop is set or the session dies."""
        try:
            m.select("INBOX")
            while not stop.is_set():
                op = self.rng.random()
                if op < 0.5:
                    n = next_id[0]
                    next_id[0] += 1
                    body = ("From: a@b\r\nSubject: m%d\r\nX-Test-Id: %d\r\n"
                            "\r\n%s\r\n" % (n, n, "x" * self.rng.randint(
                                10, 3000))).encode()
                    typ, _ = m.append("INBOX", None, None, body)
                    if typ == "OK":
                        t.acked.add(n)
                elif op < 0.65:
                    m.copy("1:*", "Archive")
                elif op < 0.8:
                    m.select("Archive")
                    m.uid("MOVE", "1:*", "INBOX")
                    m.select("INBOX")
                else:
                    typ, _ = m.store("1", "+FLAGS", r"(\Deleted)")
                    if typ != "OK":
                        continue
                    # Every \Deleted message may vanish from here on
                    # (earlier rounds' too): they leave the "must exist"
                    # set before EXPUNGE is sent.
                    typ, data = m.search(None, "DELETED")
                    if typ != "OK" or not data[0]:
                        continue
                    seqs = data[0].decode().replace(" ", ",")
                    typ, data = m.fetch(seqs, "(BODY.PEEK[HEADER])")
                    if typ != "OK":
                        continue
                    for item in data:
                        if isinstance(item, tuple):
                            mid = self.msg_id(item[1])
                            if mid is not None:
                                t.expunged.add(mid)
                    m.expunge()
        except Exception:
            pass    # killed under our feet: expected

    def audit(self, t, duplicates):
        m = self.session()
        try:
            present = {}
            for folder in ("INBOX", "Archive"):
                typ, data = m.select(folder)
                self.assertEqual(typ, "OK", data)
                v = m.untagged_responses.get("UIDVALIDITY", [None])[-1]
                t.validity.setdefault(folder, v)
                self.assertEqual(t.validity[folder], v,
                                 "UIDVALIDITY of %s changed" % folder)
                count = int(data[0])
                if count == 0:
                    continue
                typ, data = m.fetch("1:*", "(UID BODY.PEEK[HEADER])")
                self.assertEqual(typ, "OK")
                for item in data:
                    if not isinstance(item, tuple):
                        continue
                    uid = int(re.search(rb"UID (\d+)", item[0]).group(1))
                    mid = self.msg_id(item[1])
                    key = (folder, uid)
                    owner = t.uid_owner.setdefault(key, mid)
                    self.assertEqual(owner, mid, "UID %d of %s reused: "
                                     "message %s, then %s" % (
                                         uid, folder, owner, mid))
                    present[mid] = present.get(mid, 0) + 1
            # A message expunged on purpose may still exist as a copy;
            # an acknowledged one must exist somewhere.
            for mid in t.acked - t.expunged:
                self.assertIn(mid, present, "message %d lost" % mid)
            duplicates[0] = sum(1 for v in present.values() if v > 1)
        finally:
            m.logout()

    def test_kill_during_writes(self):
        t = Tracker()
        next_id = [1]
        duplicates = [0]
        m = self.session()
        m.create("Archive")
        m.logout()
        for _ in range(ROUNDS):
            m = self.session()
            stop = threading.Event()
            worker = threading.Thread(target=self.workload,
                                      args=(m, t, next_id, stop))
            worker.start()
            time.sleep(self.rng.uniform(0.05, 0.4))
            try:
                os.kill(m.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            stop.set()
            worker.join(30)
            self.assertFalse(worker.is_alive(), "workload hung")
            m.process.wait()
            self.audit(t, duplicates)
        self.assertGreater(len(t.acked), ROUNDS, "too little was written")
        print("imap crash: %d appends acknowledged, %d expunged on "
              "purpose, %d messages in more than one copy (COPY makes them; "
              "interrupted moves may too), nothing lost" % (len(t.acked),
                                               len(t.expunged),
                                               duplicates[0]))


if __name__ == "__main__":
    harness.main()
