"""Inflow control and wake-ups under a stopped qmgr (issue 11).

1. Inflow control: with in_flow_tokens = 3 and a long in_flow_delay,
   qmgr stopped (SIGSTOP), three messages are accepted on the tokens
   qmgr handed out, and the fourth DATA waits for a token instead of
   being queued; once qmgr runs again it finishes the first three,
   hands out tokens, and the fourth is accepted and delivered.
2. Trigger flood: many smtpd processes commit while qmgr is stopped, so
   its trigger socket's backlog fills. smtpd must not log a warning per
   message, and once qmgr runs again every message is delivered within
   a bound far below the periodic queue run (set to an hour here), as
   read from the delay= of each delivery in the log.
3. A stale listing: with qmgr_message_active_limit = 2, qmgr works
   through an old listing of incoming/ while new messages arrive; the
   wake-ups for the last of them come while that listing still has
   names, and must still make qmgr list incoming/ again once it is
   used up (a bench run once found two messages there 192 s later).
"""

import array
import fcntl
import os
import re
import signal
import socket
import termios
import threading
import time

import harness
from harness import wait_for

SERVICES = """
127.0.0.1:{smtp_port} inet n - n - 100 smtpd
qmgr unix - - n 3600 1 qmgr
local unix - - n - 10 local
"""

DELAY_RX = re.compile(r"to=<[^>]*>.*? delay=([0-9.]+),.*status=sent")


def message(n):
    return ("From: a@example.org\nTo: demo@demo.test\nSubject: m%d\n\n"
            "body %d\n" % (n, n))


class InflowTest(harness.TestCase):

    def start(self, config):
        harness.require_daemons(self, "smtpd", "qmgr", "local", "master")
        base = {"queue_run_delay": "3600s", "in_flow_delay": "600s"}
        base.update(config)
        self.inst = self.instance(services=SERVICES, config=base)
        self.inst.start()
        self.inst.wait_for_port(self.inst.smtp_port)
        procs = wait_for(lambda: self.inst.children("qmgr"),
                         what="qmgr running")
        self.qmgr = procs[0]["pid"]
        # qmgr's first scan has handed out the tokens.
        wait_for(lambda: self.tokens() > 0, what="inflow tokens")

    def tokens(self):
        fd = os.open(self.inst.queue + "/private/flow",
                     os.O_RDWR | os.O_NONBLOCK)
        try:
            buf = array.array("i", [0])
            fcntl.ioctl(fd, termios.FIONREAD, buf)
            return buf[0]
        finally:
            os.close(fd)

    def resume_qmgr(self):
        os.kill(self.qmgr, signal.SIGCONT)

    def tearDown(self):
        try:
            os.kill(self.qmgr, signal.SIGCONT)
        except (OSError, AttributeError):
            pass
        super().tearDown()

    def test_acceptance_waits_for_delivery(self):
        self.start({"in_flow_tokens": "3"})
        self.assertEqual(self.tokens(), 3)
        os.kill(self.qmgr, signal.SIGSTOP)
        for n in range(3):
            self.inst.send_mail("a@example.org", ["demo@demo.test"],
                                message(n))
        self.assertEqual(self.tokens(), 0)
        c = harness.SmtpRaw(self.inst.smtp_port, timeout=60)
        try:
            self.assertEqual(c.greeting[0], 220)
            self.assertEqual(c.cmd("HELO t")[0], 250)
            self.assertEqual(c.cmd("MAIL FROM:<a@example.org>")[0], 250)
            self.assertEqual(c.cmd("RCPT TO:<demo@demo.test>")[0], 250)
            c.send(b"DATA\r\n")
            # No token: smtpd must not answer DATA while qmgr is stopped
            # (in_flow_delay is 600 s).
            c.s.settimeout(2)
            with self.assertRaises(socket.timeout):
                c.reply()
            c.s.settimeout(60)
            self.resume_qmgr()
            self.assertEqual(c.reply()[0], 354)
            c.send(message(3).replace("\n", "\r\n").encode() + b".\r\n")
            self.assertEqual(c.reply()[0], 250)
            c.cmd("QUIT")
        finally:
            c.close()
        self.inst.wait_for_maildir("demo.test/demo", 4, timeout=30)

    def sender(self, first, count, accepted, lock):
        for n in range(first, first + count):
            self.inst.send_mail("a@example.org", ["demo@demo.test"],
                                message(n))
            with lock:
                accepted.append(n)

    def send_from_threads(self, threads, each):
        """threads senders of each messages at once; all accepted."""
        accepted, lock = [], threading.Lock()
        senders = [threading.Thread(target=self.sender,
                                    args=(i * each, each, accepted, lock))
                   for i in range(threads)]
        for t in senders:
            t.start()
        for t in senders:
            t.join(120)
        self.assertEqual(len(accepted), threads * each)

    def test_trigger_flood_loses_no_wakeup(self):
        # Enough tokens that inflow control does not hold the senders.
        self.start({"in_flow_tokens": "10000"})
        os.kill(self.qmgr, signal.SIGSTOP)
        stopped = time.monotonic()
        self.send_from_threads(20, 40)
        held = time.monotonic() - stopped
        self.resume_qmgr()
        self.inst.wait_for_maildir("demo.test/demo", 800, timeout=120)
        # qmgr logs a delivery just after local put it in the Maildir.
        harness.wait_for(lambda: len(DELAY_RX.findall(self.inst.log()))
                         >= 800, 30, what="800 delivery lines")
        log = self.inst.log()
        self.assertNotIn("cannot wake up qmgr", log)
        delays = [float(d) for d in DELAY_RX.findall(log)]
        self.assertEqual(len(delays), 800)
        # Each message waited at most as long as qmgr was stopped plus
        # its own delivery; a lost wake-up would wait for the hourly
        # queue run.
        self.assertLess(max(delays), held + 60,
                        "largest delay=%.1f s, qmgr stopped %.1f s" % (
                            max(delays), held))


    def test_stale_listing_loses_no_message(self):
        self.start({"in_flow_tokens": "10000",
                    "qmgr_message_active_limit": "2"})
        self.send_from_threads(8, 30)
        # A message left in incoming/ would wait for the hourly run.
        self.inst.wait_for_maildir("demo.test/demo", 240, timeout=60)

    def test_kept_trigger_survives_qmgr_restart(self):
        self.start({"in_flow_tokens": "100"})
        c = harness.SmtpRaw(self.inst.smtp_port, timeout=60)
        try:
            self.assertEqual(c.cmd("HELO t")[0], 250)
            self.send_one(c, 0)
            self.inst.wait_for_maildir("demo.test/demo", 1, timeout=10)
            # The session's smtpd now holds a connection to this qmgr.
            os.kill(self.qmgr, signal.SIGKILL)
            procs = wait_for(lambda: [p for p in self.inst.children("qmgr")
                                      if p["pid"] != self.qmgr],
                             timeout=30, what="a new qmgr")
            self.qmgr = procs[0]["pid"]
            wait_for(lambda: self.tokens() > 0, what="the new qmgr's tokens")
            # Past the new qmgr's start-up scan: only a trigger finds
            # the next message before the hourly queue run.
            time.sleep(1)
            sent = time.monotonic()
            self.send_one(c, 1)
            self.inst.wait_for_maildir("demo.test/demo", 2, timeout=20)
            self.assertLess(time.monotonic() - sent, 10)
            c.cmd("QUIT")
        finally:
            c.close()
        self.assertNotIn("cannot wake up qmgr", self.inst.log())

    def send_one(self, c, n):
        self.assertEqual(c.cmd("MAIL FROM:<a@example.org>")[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<demo@demo.test>")[0], 250)
        self.assertEqual(c.cmd("DATA")[0], 354)
        c.send(message(n).replace("\n", "\r\n").encode() + b".\r\n")
        self.assertEqual(c.reply()[0], 250)


if __name__ == "__main__":
    harness.main()
