"""Crash test: nothing accepted is ever lost.

2,000 messages arrive from several concurrent SMTP senders while qmgr and
local are killed with SIGKILL at random moments. Once things settle,
every message that got a 250 must be in the Maildir at least once
(counted by its unique Message-ID): losses fail the test, duplicates
(allowed by the durability rule: a crash may duplicate, never lose) are
reported. Then the whole instance is killed with mail still queued, and
a fresh start delivers it.
"""

import collections
import os
import re
import signal
import sys
import threading
import time

import harness
from harness import Instance, wait_for

SERVICES = """
127.0.0.1:{smtp_port} inet n - n - 100 smtpd
qmgr unix - - n 300 1 qmgr
local unix - root n - 10 local
"""

CONFIG = {
    "service_throttle_time": "1s",
    "minimal_backoff_time": "1s",
    "maximal_backoff_time": "2s",
    "queue_run_delay": "1s",
}

TOTAL = int(os.environ.get("CORREO_CRASH_MESSAGES", "2000"))
SENDERS = 8
MSGID_RX = re.compile(rb"^Message-ID: <([^>]+)>", re.M | re.I)


def message(msgid):
    return ("From: crash@example.org\nTo: demo@demo.test\n"
            "Subject: crash test\nMessage-ID: <%s>\n\n"
            "body %s\n" % (msgid, msgid))


class CrashTest(harness.TestCase):

    def setUp(self):
        harness.require_daemons(self, "smtpd", "qmgr", "local", "master")
        self.inst = self.instance(services=SERVICES, config=CONFIG)
        self.inst.start()
        self.accepted = set()
        self.lock = threading.Lock()

    def sender(self, n, ids):
        harness.send_counting(self.inst, "crash@example.org",
                              ["demo@demo.test"], ids, message,
                              self.accepted, self.lock)

    def killer(self, stop, kills):
        harness.kill_randomly(self.inst, stop, kills, "local", 1234, 0.5)

    def delivered(self):
        counts = collections.Counter()
        for _, raw in self.inst.maildir("demo.test/demo"):
            m = MSGID_RX.search(raw)
            if m:
                counts[m.group(1).decode()] += 1
        return counts

    def queue_empty(self):
        return not any(harness.queue_ids(self.inst.queue, sub)
                       for sub in ("incoming", "active", "deferred"))

    def test_kill_qmgr_and_local_under_load(self):
        inst = self.inst
        ids = ["crash-%d@test" % i for i in range(TOTAL)]
        stop = threading.Event()
        kills = collections.Counter()
        killer = threading.Thread(target=self.killer, args=(stop, kills))
        senders = [threading.Thread(target=self.sender,
                                    args=(n, ids[n::SENDERS]))
                   for n in range(SENDERS)]
        started = time.monotonic()
        killer.start()
        for t in senders:
            t.start()
        for t in senders:
            t.join()
        sent_secs = time.monotonic() - started
        # Keep killing while the queue drains (that is when deliveries
        # are interrupted), for a few seconds at most.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not self.queue_empty():
            time.sleep(0.1)
        stop.set()
        killer.join()
        self.assertGreater(len(self.accepted), TOTAL * 0.9,
                           "most messages should be accepted")

        def all_there():
            counts = self.delivered()
            return counts if self.accepted <= set(counts) else None
        try:
            counts = wait_for(all_there, timeout=60, interval=0.5,
                              what="every accepted message delivered")
        except AssertionError:
            counts = self.delivered()
            lost = sorted(self.accepted - set(counts))
            self.fail("%d of %d accepted messages lost, e.g. %s%s" % (
                len(lost), len(self.accepted), lost[:5],
                inst.log_tail(40)))
        dups = {k: v for k, v in counts.items() if v > 1}
        sys.stderr.write(
            "crash test: %d accepted in %.1fs, kills %s, %d delivered "
            "twice or more%s\n" % (
                len(self.accepted), sent_secs, dict(kills), len(dups),
                (": e.g. %s" % list(dups)[:3]) if dups else ""))
        self.assertGreater(sum(kills.values()), 0, "nothing was killed")
        wait_for(self.queue_empty, timeout=30, interval=0.2,
                 what="an empty queue%s" % inst.log_tail())

    def test_queue_survives_master_restart(self):
        inst = self.inst
        wait_for(lambda: inst.children("local"), what="a local process")
        held = [p["pid"] for p in inst.children("local")]
        for pid in held:
            os.kill(pid, signal.SIGSTOP)
        ids = ["restart-%d@test" % i for i in range(20)]
        for msgid in ids:
            inst.send_mail("crash@example.org", ["demo@demo.test"],
                           message(msgid))
        # Everything dies at once, with mail in incoming/ or active/.
        for p in inst.processes():
            try:
                os.kill(p["pid"], signal.SIGKILL)
            except ProcessLookupError:
                pass
        for pid in held:
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        wait_for(lambda: not inst.processes(), what="the instance to die")
        self.assertEqual(self.delivered().keys() & set(ids), set())
        self.assertFalse(self.queue_empty())
        inst.start()
        wait_for(lambda: set(ids) <= set(self.delivered()), timeout=30,
                 what="the queued messages delivered after restart%s"
                 % inst.log_tail())
        wait_for(self.queue_empty, timeout=30, what="an empty queue")


if __name__ == "__main__":
    harness.main()
