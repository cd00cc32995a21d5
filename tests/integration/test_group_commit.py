"""Crash test for the group commits (issue 11): nothing acknowledged is
lost when the processes that share a directory fsync die mid-commit.

smtpd processes share one fsync of incoming/, local deliveries to one
Maildir share one fsync of new/; the one
that runs the sync (the leader) may be killed while others wait for it.
16 senders write to one mailbox while smtpd and local processes are
killed with SIGKILL at random moments; every message answered 250 must
then be in the Maildir (duplicates are allowed: a crash may repeat a
delivery, never lose one), and the first reader's scan (local does not
index) must count each delivered file once.
"""

import collections
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time

import harness
from harness import wait_for

SERVICES = """
127.0.0.1:{smtp_port} inet n - n - 100 smtpd
qmgr unix - - n 300 1 qmgr
local unix - - n - 10 local
"""

CONFIG = {
    "service_throttle_time": "1s",
    "minimal_backoff_time": "1s",
    "maximal_backoff_time": "2s",
    "queue_run_delay": "1s",
    "local_destination_concurrency_limit": "10",
}

TOTAL = int(os.environ.get("CORREO_CRASH_MESSAGES", "1200"))
SENDERS = 16
MSGID_RX = re.compile(rb"^Message-ID: <([^>]+)>", re.M | re.I)


def message(msgid):
    return ("From: gc@example.org\nTo: demo@demo.test\n"
            "Subject: group commit\nMessage-ID: <%s>\n\nbody %s\n"
            % (msgid, msgid))


class GroupCommitCrashTest(harness.TestCase):

    def setUp(self):
        harness.require_daemons(self, "smtpd", "qmgr", "local", "master")
        self.inst = self.instance(services=SERVICES, config=CONFIG)
        self.inst.start()
        self.accepted = set()
        self.lock = threading.Lock()

    def killer(self, stop, kills):
        rng = random.Random(4321)
        while not stop.is_set():
            time.sleep(rng.uniform(0.05, 0.25))
            victims = self.inst.children(rng.choice(["smtpd", "local"]))
            if not victims:
                continue
            p = rng.choice(victims)
            try:
                os.kill(p["pid"], signal.SIGKILL)
                kills[p["comm"]] += 1
            except ProcessLookupError:
                pass

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

    def examine_inbox(self):
        md = os.path.join(self.inst.mail_dir, "demo.test/demo")
        cmd = [harness.libexec("imapd"), "-m", md, "-u", "demo"]
        if self.inst.user is not None:
            cmd = ["setpriv", "--reuid=%d" % self.inst.user.pw_uid,
                   "--regid=%d" % self.inst.user.pw_gid,
                   "--clear-groups"] + cmd
        out = subprocess.run(cmd, input=b"a EXAMINE INBOX\r\nb LOGOUT\r\n",
                             capture_output=True, timeout=60).stdout
        self.assertIn(b"a OK", out)
        return int(re.search(rb"\* (\d+) EXISTS", out).group(1))

    def test_kill_during_group_commits(self):
        inst = self.inst
        ids = ["gc-%d@test" % i for i in range(TOTAL)]
        stop = threading.Event()
        kills = collections.Counter()
        killer = threading.Thread(target=self.killer, args=(stop, kills))
        senders = [threading.Thread(
            target=harness.send_counting,
            args=(inst, "gc@example.org", ["demo@demo.test"],
                  ids[n::SENDERS], message, self.accepted, self.lock))
            for n in range(SENDERS)]
        killer.start()
        for t in senders:
            t.start()
        for t in senders:
            t.join()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not self.queue_empty():
            time.sleep(0.1)
        stop.set()
        killer.join()
        self.assertGreater(len(self.accepted), TOTAL * 0.8,
                           "most messages should be accepted")
        self.assertGreater(kills["smtpd"], 0, "no smtpd was killed")
        self.assertGreater(kills["local"], 0, "no local was killed")

        def all_there():
            counts = self.delivered()
            return counts if self.accepted <= set(counts) else None
        try:
            counts = wait_for(all_there, timeout=90, interval=0.5,
                              what="every accepted message delivered")
        except AssertionError:
            counts = self.delivered()
            lost = sorted(self.accepted - set(counts))
            self.fail("%d of %d accepted messages lost, e.g. %s%s" % (
                len(lost), len(self.accepted), lost[:5],
                inst.log_tail(40)))
        wait_for(self.queue_empty, timeout=60, interval=0.2,
                 what="an empty queue%s" % inst.log_tail())
        dups = sum(1 for v in counts.values() if v > 1)
        sys.stderr.write("group commit crash test: %d accepted, kills %s, "
                         "%d delivered twice or more\n"
                         % (len(self.accepted), dict(kills), dups))
        # local does not index: a reader (imapd, as a session's SELECT
        # would) finds every file, each one message.
        files = sum(len(os.listdir(os.path.join(
            inst.mail_dir, "demo.test/demo", sub))) for sub in ("new", "cur"))
        self.assertEqual(self.examine_inbox(), files)


if __name__ == "__main__":
    harness.main()
