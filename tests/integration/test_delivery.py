"""Local delivery end to end: smtpd -> queue -> qmgr -> local -> Maildir.

Virtual mailboxes, virtual aliases and catch-alls land in the right
Maildir with Return-Path and Delivered-To; an alias to an unknown user
bounces (and the sender gets a notice); the log traces one queue ID from
arrival to "removed"; garbage in incoming/ ends in corrupt/; messages in
active/ left by a killed qmgr are delivered after its restart; a
concurrency limit above local's process limit does not stall deliveries.
"""

import os
import re
import select
import signal
import smtplib
import socket
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
    "virtual_alias_maps": "texthash:$config_directory/virtual",
    "transport_maps": "texthash:$config_directory/transport",
    "service_throttle_time": "1s",
    "minimal_backoff_time": "1s",
    "maximal_backoff_time": "2s",
    "queue_run_delay": "1s",
}

VIRTUAL = """\
alias@demo.test demo@demo.test
@catch.test demo@demo.test
ghost@demo.test nobody@demo.test
"""

# Relay routes that need no smtp agent (test_relay.py covers that).
TRANSPORT = """remote.test error:4.4.1 remote.test is unreachable for now
gone.test error:5.1.2 gone.test is retired
pipe.test fake:[127.0.0.1]
"""


class FakeAgent(threading.Thread):
    """A delivery agent on private/fake that notes whether qmgr sent a
    request before the previous one was answered, answering each after
    a pause (and at once once a second request is waiting)."""

    def __init__(self, path, owner):
        super().__init__(daemon=True)
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(path)
        if owner is not None:
            os.chown(path, owner.pw_uid, owner.pw_gid)
        self.listener.listen(8)
        self.requests = 0
        self.pipelined = 0      # requests that came before an answer
        self.start()

    def reply(self, conn, req):
        index = [v for n, v in req if n == "rcpt_index"][0]
        conn.sendall(("status=ok\nrcpt_index=%s\nrcpt_status=ok\n"
                      "dsn=2.0.0\nreason=fake%%20ok\nrelay=none\n\n"
                      % index).encode())

    def serve(self, conn):
        conn.sendall(b"protocol=delivery\n\n")
        buf, waiting = b"", []
        while True:
            while b"\n\n" in buf:
                text, buf = buf.split(b"\n\n", 1)
                self.requests += 1
                if waiting:
                    self.pipelined += 1
                waiting.append([tuple(l.split("=", 1)) for l in
                                text.decode().split("\n")])
            # Answer when a second request is waiting, or after 1 s.
            if len(waiting) < 2:
                ready, _, _ = select.select([conn], [], [],
                                            1.0 if waiting else 30)
                if ready:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buf += data
                    continue
            while waiting:
                self.reply(conn, waiting.pop(0))

    def run(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(conn,),
                             daemon=True).start()



def message(subject, msgid=None):
    msgid = msgid or "<%s.%f@test>" % (subject.replace(" ", "."),
                                       time.time())
    return ("From: sender@example.org\nTo: someone\nSubject: %s\n"
            "Message-ID: %s\n\nbody of %s\n" % (subject, msgid, subject))


def headers(raw):
    head = raw.split(b"\n\n", 1)[0].decode()
    return head.splitlines()


class DeliveryTest(harness.TestCase):

    def setUp(self):
        harness.require_daemons(self, "smtpd", "qmgr", "local", "master")
        config = dict(CONFIG)
        if self._testMethodName == "test_active_recovered_after_qmgr_killed":
            # One connection from qmgr to local: once the local process
            # holding it is stopped, nothing else can deliver what must
            # stay in active/ (a second local may exist, but idle).
            config["local_destination_concurrency_limit"] = "1"
        services = SERVICES
        if self._testMethodName == "test_active_recovered_after_qmgr_killed":
            # And only one local process: a slow (sanitizer) build
            # could otherwise have master start a second one, not
            # stopped, that delivers everything before the check.
            services = SERVICES.replace("- 10 local", "- 1 local")
        if self._testMethodName == "test_limit_above_process_limit":
            # qmgr may open 10 connections, only 2 local processes
            # exist to accept them.
            config["local_destination_concurrency_limit"] = "10"
            services = SERVICES.replace("- 10 local", "- 2 local")
        if self._testMethodName == "test_pipelined_requests":
            config["default_destination_concurrency_limit"] = "1"
        self.inst = self.instance(services=services, config=config)
        for name, text in (("virtual", VIRTUAL), ("transport", TRANSPORT)):
            path = os.path.join(self.inst.dir, name)
            with open(path, "w") as f:
                f.write(text)
            if self.inst.user is not None:
                os.chown(path, self.inst.user.pw_uid,
                         self.inst.user.pw_gid)
        self.inst.start()

    def queue_ids(self, sub):
        return harness.queue_ids(self.inst.queue, sub)

    def test_limit_above_process_limit(self):
        # Jobs sent on connections local never accepted used to wait
        # until a local process freed up (30 s of idleness, or the
        # delivery timeout); they move to the first idle connection.
        inst = self.inst
        inst.send_mail("a@example.org", ["demo@demo.test"], message("first"))
        inst.wait_for_maildir("demo.test/demo", 1)
        # qmgr stopped while 12 arrive: it then sends 10 at once.
        qmgr = inst.children("qmgr")[0]["pid"]
        os.kill(qmgr, signal.SIGSTOP)
        try:
            with inst.smtp() as s:
                for i in range(12):
                    s.sendmail("a@example.org", ["demo@demo.test"],
                               message("burst %d" % i))
        finally:
            os.kill(qmgr, signal.SIGCONT)
        start = time.monotonic()
        inst.wait_for_maildir("demo.test/demo", 13, timeout=15.0)
        self.assertLess(time.monotonic() - start, 15.0)
        self.assertNotIn("status=deferred", inst.log())

    def test_pipelined_requests(self):
        # One connection allowed to the fake agent: the next request goes
        # out behind the one being served, not after its answer.
        inst = self.inst
        agent = FakeAgent(os.path.join(inst.queue, "private", "fake"),
                          inst.user)
        qmgr = inst.children("qmgr")[0]["pid"]
        os.kill(qmgr, signal.SIGSTOP)
        try:
            with inst.smtp() as s:
                for i in range(4):
                    s.sendmail("a@example.org", ["x@pipe.test"],
                               message("pipe %d" % i))
        finally:
            os.kill(qmgr, signal.SIGCONT)
        wait_for(lambda: inst.log().count("status=sent (fake ok)") >= 4,
                 timeout=20, what="4 deliveries by the fake agent")
        self.assertEqual(agent.requests, 4)
        self.assertGreaterEqual(agent.pipelined, 1)
        wait_for(lambda: self.queue_ids("active") == [], timeout=5,
                 what="an empty active queue")
        agent.listener.close()

    def test_virtual_alias_catchall(self):
        inst = self.inst
        inst.send_mail("a@example.org", ["demo@demo.test"], message("one"))
        inst.send_mail("a@example.org", ["alias@demo.test"], message("two"))
        inst.send_mail("a@example.org", ["whoever@catch.test"],
                       message("three"))
        msgs = inst.wait_for_maildir("demo.test/demo", 3)
        by_subject = {}
        for name, raw in msgs:
            self.assertTrue(name.startswith("new/"), name)
            lines = headers(raw)
            subject = [l for l in lines if l.startswith("Subject:")][0]
            by_subject[subject[9:]] = lines
        self.assertEqual(set(by_subject), {"one", "two", "three"})
        for lines in by_subject.values():
            self.assertEqual(lines[0], "Return-Path: <a@example.org>")
            # The final address, after alias expansion.
            self.assertEqual(lines[1], "Delivered-To: demo@demo.test")
        # tmp/ is left clean.
        self.assertEqual(os.listdir(os.path.join(
            inst.mail_dir, "demo.test", "demo", "tmp")), [])
        log = inst.wait_for_log(r"orig_to=<alias@demo\.test>")
        self.assertIsNotNone(log)

    def test_log_traces_queue_id(self):
        inst = self.inst
        inst.send_mail("a@example.org", ["demo@demo.test"], message("trace"))
        inst.wait_for_maildir("demo.test/demo", 1)
        m = inst.wait_for_log(r"smtpd\[\d+\]: (\w+): client=")
        qid = m.group(1)
        inst.wait_for_log(qid + r": removed")
        lines = [l for l in inst.log().splitlines() if qid + ":" in l]
        text = "\n".join(lines)
        self.assertRegex(text, qid + r": from=<a@example\.org>, size=\d+, "
                         r"nrcpt=1 \(queue active\)")
        self.assertRegex(text, qid + r": to=<demo@demo\.test>, "
                         r"relay=local, delay=[\d.]+, "
                         r"delays=[\d.]+/[\d.]+/[\d.]+/[\d.]+, dsn=2\.0\.0, "
                         r"status=sent \(delivered to maildir\)")
        # In order: arrival, active, delivery, removal.
        kinds = []
        for l in lines:
            for k in ("client=", "from=", "status=sent", "removed"):
                if k in l:
                    kinds.append(k)
        self.assertEqual(kinds, ["client=", "from=", "status=sent",
                                 "removed"])
        self.assertEqual(self.queue_ids("incoming"), [])
        self.assertEqual(self.queue_ids("active"), [])

    def test_alias_to_unknown_bounces(self):
        inst = self.inst
        # The sender is local, so the bounce notice lands in a Maildir.
        inst.send_mail("demo@demo.test", ["ghost@demo.test"],
                       message("lost"))
        m = inst.wait_for_log(r"(\w+): to=<nobody@demo\.test>, "
                              r"orig_to=<ghost@demo\.test>, relay=none, "
                              r".*dsn=5\.1\.1, status=bounced "
                              r"\(unknown user")
        qid = m.group(1)
        inst.wait_for_log(qid + r": removed")
        msgs = inst.wait_for_maildir("demo.test/demo", 1)
        raw = msgs[0][1]
        self.assertIn(b"Return-Path: <>", raw)
        self.assertIn(b"Subject: Undelivered Mail Returned to Sender", raw)
        self.assertIn(b"<nobody@demo.test> (expanded from <ghost@demo.test>)"
                      b": unknown user", raw)
        self.assertIn(b"Content-Type: multipart/report", raw)
        self.assertIn(b"Subject: lost", raw)

    def test_garbage_goes_to_corrupt(self):
        inst = self.inst
        inst.send_mail("a@example.org", ["demo@demo.test"], message("x"))
        qid = inst.wait_for_log(r"(\w+): removed").group(1)
        # Another valid ID: the same with its last character changed.
        bad = qid[:-1] + ("1" if qid[-1] != "1" else "2")
        path = os.path.join(inst.queue, "incoming", bad)
        with open(path, "wb") as f:
            f.write(b"this is not a queue file\n")
        if inst.user is not None:
            os.chown(path, inst.user.pw_uid, inst.user.pw_gid)
        # Any new mail triggers a scan.
        inst.send_mail("a@example.org", ["demo@demo.test"], message("y"))
        inst.wait_for_log(bad + r": corrupt queue file: .*; moved to "
                          r"corrupt/")
        wait_for(lambda: bad in self.queue_ids("corrupt"),
                 what="the file in corrupt/")
        self.assertNotIn(bad, self.queue_ids("incoming"))
        inst.wait_for_maildir("demo.test/demo", 2)

    def test_active_recovered_after_qmgr_killed(self):
        inst = self.inst
        inst.wait_for_unix("local")
        # Hold local still so messages stay in active/.
        wait_for(lambda: inst.children("local"), what="a local process")
        held = [p["pid"] for p in inst.children("local")]
        for pid in held:
            os.kill(pid, signal.SIGSTOP)
        try:
            for i in range(3):
                inst.send_mail("a@example.org", ["demo@demo.test"],
                               message("held %d" % i))
            # At least one is handed to the stopped local and stays in
            # active/.
            wait_for(lambda: len(self.queue_ids("active")) >= 1 and
                     len(self.queue_ids("incoming")) == 0,
                     what="messages held in active/")
            for p in inst.children("qmgr"):
                os.kill(p["pid"], signal.SIGKILL)
        finally:
            for pid in held:
                try:
                    os.kill(pid, signal.SIGKILL)
                    os.kill(pid, signal.SIGCONT)
                except ProcessLookupError:
                    pass
        inst.wait_for_log(r"recovered \d+ messages from active/",
                          timeout=15)
        msgs = inst.wait_for_maildir("demo.test/demo", 3, timeout=20)
        subjects = set()
        for _, raw in msgs:
            for l in headers(raw):
                if l.startswith("Subject:"):
                    subjects.add(l[9:])
        self.assertEqual(subjects, {"held 0", "held 1", "held 2"})
        wait_for(lambda: not self.queue_ids("active") and
                 not self.queue_ids("incoming"), timeout=15,
                 what="an empty queue")

    def test_correo_user_add_then_deliver(self):
        inst = self.inst
        r = inst.correo("user", "add", "bob@demo.test")
        self.assertRuns(r)
        self.assertIn("added bob@demo.test", r.stdout)
        self.assertTrue(os.path.isdir(os.path.join(
            inst.mail_dir, "demo.test", "bob", "new")))
        r = inst.correo("user", "add", "bob@demo.test")
        self.assertEqual(r.returncode, 1)
        self.assertIn("already exists", r.stderr)
        r = inst.correo("user", "add", "x@elsewhere.test")
        self.assertEqual(r.returncode, 1)
        self.assertIn("not in virtual_mailbox_domains", r.stderr)
        r = inst.correo("user", "list")
        self.assertRuns(r)
        self.assertIn("bob@demo.test demo.test/bob/", r.stdout)
        # The running daemons see the rebuilt table. Tables are checked
        # for a rebuild at most once a second, per process: without this
        # pause smtpd may accept bob while qmgr still has the old table
        # and bounces him (XXX: dict_db should re-check on a miss).
        time.sleep(1.1)
        def accepted():
            try:
                inst.send_mail("a@example.org", ["bob@demo.test"],
                               message("bob"))
                return True
            except smtplib.SMTPRecipientsRefused:
                return False
        wait_for(accepted, timeout=5, interval=0.3,
                 what="smtpd to accept bob@demo.test")
        msgs = inst.wait_for_maildir("demo.test/bob", 1)
        self.assertIn(b"Delivered-To: bob@demo.test", msgs[0][1])
        r = inst.correo("user", "del", "bob@demo.test")
        self.assertRuns(r)
        self.assertIn("left in place", r.stdout)
        r = inst.correo("user", "list")
        self.assertNotIn("bob@demo.test", r.stdout)
        self.assertTrue(os.path.isdir(os.path.join(
            inst.mail_dir, "demo.test", "bob", "new")))

    def test_relay_recipient_deferred(self):
        inst = self.inst
        inst.send_mail("a@example.org", ["x@remote.test"], message("far"))
        m = inst.wait_for_log(r"(\w+): to=<x@remote\.test>, relay=none, "
                              r".*dsn=4\.4\.1, status=deferred "
                              r"\(remote\.test is unreachable for now\)")
        qid = m.group(1)
        path = os.path.join(inst.queue, "deferred", qid)
        wait_for(lambda: os.path.exists(path), what="deferred/" + qid)
        # The next attempt time is the file's mtime (backoff >= 1s).
        self.assertGreater(os.stat(path).st_mtime, time.time() - 0.5)
        with open(os.path.join(inst.queue, "defer", qid)) as f:
            self.assertIn("<x@remote.test>: remote.test is unreachable "
                          "for now", f.read())
        # Retried after the backoff (queue_run_delay = 1s), deferred again.
        wait_for(lambda: inst.log().count(qid + ": to=<x@remote.test>")
                 >= 2, timeout=10, what="a second attempt")
        self.assertNotIn(qid + ": removed", inst.log())

    def test_transport_error_bounces(self):
        inst = self.inst
        inst.send_mail("demo@demo.test", ["x@gone.test"], message("gone"))
        inst.wait_for_log(r"to=<x@gone\.test>, relay=none, .*dsn=5\.1\.2, "
                          r"status=bounced \(gone\.test is retired\)")
        # The DSN reaches the sender's Maildir.
        msgs = inst.wait_for_maildir("demo.test/demo", 1)
        self.assertIn(b"gone.test is retired", msgs[0][1])


if __name__ == "__main__":
    harness.main()
