"""Crash test of relaying: nothing accepted is ever lost.

A few hundred messages for example.test arrive from several concurrent
SMTP senders while the smtp agents and qmgr are killed with SIGKILL at
random moments; transport_maps sends example.test to a fake SMTP peer
(test_relay.py's). Once things settle every message that got a 250 must
have reached the peer at least once (counted by its Message-ID):
losses fail the test, duplicates (a crash may duplicate, never lose)
are reported. No bounce may be generated: the peer accepts everything.
"""

import collections
import os
import re
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import wait_for  # noqa: E402
from test_relay import SERVICES, start_peer  # noqa: E402

CONFIG = {
    "service_throttle_time": "1s",
    "minimal_backoff_time": "1s",
    "maximal_backoff_time": "2s",
    "queue_run_delay": "1s",
    "destination_dead_time": "1s",
    "transport_maps": "texthash:$config_directory/transport",
    "smtp_connect_timeout": "2s",
    "smtp_data_done_timeout": "5s",
    "smtp_destination_concurrency_limit": "8",
}

TOTAL = int(os.environ.get("CORREO_RELAY_CRASH_MESSAGES", "300"))
SENDERS = 6
MSGID_RX = re.compile(rb"^Message-ID: <([^>]+)>", re.M | re.I)


def message(msgid):
    return ("From: crash@demo.test\nTo: far@example.test\n"
            "Subject: relay crash test\nMessage-ID: <%s>\n\n"
            "body %s\n" % (msgid, msgid))


class RelayCrashTest(harness.TestCase):

    def setUp(self):
        harness.require_daemons(self, "smtpd", "qmgr", "local", "smtp",
                                "master")
        self.inst = self.instance(services=SERVICES, config=CONFIG)
        self.peer = start_peer(self.inst.port(7))
        self.addCleanup(self.peer.server_close)
        self.addCleanup(self.peer.shutdown)
        path = os.path.join(self.inst.dir, "transport")
        with open(path, "w") as f:
            f.write("example.test smtp:[127.0.0.1]:%d\n" % self.inst.port(7))
        if self.inst.user is not None:
            os.chown(path, self.inst.user.pw_uid, self.inst.user.pw_gid)
        self.inst.start()
        self.accepted = set()
        self.lock = threading.Lock()

    def sender(self, ids):
        harness.send_counting(self.inst, "crash@demo.test",
                              ["far@example.test"], ids, message,
                              self.accepted, self.lock)

    def killer(self, stop, kills):
        harness.kill_randomly(self.inst, stop, kills, "smtp", 4321, 0.7)

    def received(self):
        counts = collections.Counter()
        with self.peer.lock:
            msgs = list(self.peer.messages)
        for _, _, data in msgs:
            m = MSGID_RX.search(data)
            if m:
                counts[m.group(1).decode()] += 1
        return counts

    def queue_empty(self):
        return not any(harness.queue_ids(self.inst.queue, sub)
                       for sub in ("incoming", "active", "deferred"))

    def test_kill_smtp_and_qmgr_under_relay_load(self):
        inst = self.inst
        ids = ["relaycrash-%d@test" % i for i in range(TOTAL)]
        stop = threading.Event()
        kills = collections.Counter()
        killer = threading.Thread(target=self.killer, args=(stop, kills))
        senders = [threading.Thread(target=self.sender,
                                    args=(ids[n::SENDERS],))
                   for n in range(SENDERS)]
        started = time.monotonic()
        killer.start()
        for t in senders:
            t.start()
        for t in senders:
            t.join()
        sent_secs = time.monotonic() - started
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not self.queue_empty():
            time.sleep(0.1)
        stop.set()
        killer.join()
        self.assertGreater(len(self.accepted), TOTAL * 0.9,
                           "most messages should be accepted")

        def all_there():
            counts = self.received()
            return counts if self.accepted <= set(counts) else None
        try:
            counts = wait_for(all_there, timeout=60, interval=0.5,
                              what="every accepted message relayed")
        except AssertionError:
            counts = self.received()
            lost = sorted(self.accepted - set(counts))
            self.fail("%d of %d accepted messages lost, e.g. %s%s" % (
                len(lost), len(self.accepted), lost[:5],
                inst.log_tail(40)))
        dups = {k: v for k, v in counts.items() if v > 1}
        sys.stderr.write(
            "relay crash test: %d accepted in %.1fs, kills %s, %d relayed "
            "twice or more\n" % (len(self.accepted), sent_secs, dict(kills),
                                 len(dups)))
        self.assertGreater(kills["smtp"], 0, "no smtp agent was killed")
        self.assertGreater(kills["qmgr"], 0, "qmgr was never killed")
        wait_for(self.queue_empty, timeout=30, interval=0.2,
                 what="an empty queue%s" % inst.log_tail())
        # The peer accepted everything: nobody was bounced.
        self.assertEqual(inst.maildir("demo.test/demo"), [])
        self.assertNotIn("non-delivery notification", inst.log())


if __name__ == "__main__":
    harness.main()
