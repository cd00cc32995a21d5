"""test_queue_admin: "correo queue" on a real instance.

A message to a remote domain is deferred by qmgr (there is no smtp
client in the test instance), which gives a stable message to steer:
the mailq listing and --json show it, hold/release/requeue/delete move
it between the queue directories (checked on disk and in the listing),
flush makes qmgr try it again, show prints envelope and content, ALL
works, bad IDs are refused.
"""

import json
import time
import os
import re

import harness
from harness import wait_for

HEADER = ("-Queue ID-  --Size-- ----Arrival Time---- "
          "-Sender/Recipient-------\n")


class QueueAdminTest(harness.TestCase):

    def setUp(self):
        harness.require_daemons(self, "master", "qmgr", "local", "smtpd")

    def started(self):
        # Remote mail goes to a relay host that refuses connections, so
        # it is deferred whether or not an smtp client is configured.
        inst = self.instance()
        inst.add_config({"relayhost": "[127.0.0.1]:%d" % inst.port(9)})
        inst.start()
        return inst

    def ids(self, inst, queue):
        return sorted(n for n in os.listdir(os.path.join(inst.queue, queue))
                      if not n.startswith("."))

    def deferred_message(self, inst, rcpt="someone@remote.example"):
        before = set(self.ids(inst, "deferred"))
        inst.send_mail("alice@demo.test", [rcpt],
                       "Subject: stuck\n\nfor the queue\n")
        new = wait_for(lambda: set(self.ids(inst, "deferred")) - before,
                       what="a deferred message" + inst.log_tail())
        return new.pop()

    def queue(self, inst, *args, check=True):
        r = inst.correo("queue", *args)
        if check:
            self.assertRuns(r)
        return r

    def test_listing_and_json(self):
        inst = self.started()
        r = self.queue(inst)
        self.assertEqual(r.stdout, "Mail queue is empty\n")
        qid = self.deferred_message(inst)
        r = self.queue(inst)
        self.assertTrue(r.stdout.startswith(HEADER), r.stdout)
        self.assertRegex(r.stdout, re.escape(qid) +
                         r" +\d+ \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d +"
                         r"alice@demo\.test\n")
        self.assertRegex(r.stdout, r"\n {42}someone@remote\.example\n")
        self.assertTrue(r.stdout.endswith("\n-- 0 Kbytes in 1 Request.\n"),
                        r.stdout)
        r = self.queue(inst, "--json")
        objs = [json.loads(line) for line in r.stdout.splitlines()]
        self.assertEqual(len(objs), 1)
        o = objs[0]
        self.assertEqual(o["queue_name"], "deferred")
        self.assertEqual(o["queue_id"], qid)
        self.assertEqual(o["sender"], "alice@demo.test")
        self.assertIsInstance(o["arrival_time"], int)
        self.assertGreater(o["message_size"], 0)
        self.assertEqual([x["address"] for x in o["recipients"]],
                         ["someone@remote.example"])
        r = self.queue(inst, "show", qid)
        self.assertIn("*** ENVELOPE RECORDS deferred/%s ***" % qid, r.stdout)
        self.assertIn("sender: alice@demo.test\n", r.stdout)
        self.assertIn("recipient: someone@remote.example (to do)\n",
                      r.stdout)
        self.assertIn("Subject: stuck\n\nfor the queue\n", r.stdout)
        self.assertTrue(r.stdout.endswith(
            "*** END OF MESSAGE deferred/%s ***\n" % qid))

    def test_defer_reason_shown(self):
        # Reasons come from queue/defer/ID (written by qmgr; the
        # format is "<rcpt>: reason" per line).
        inst = self.started()
        qid = self.deferred_message(inst)
        d = os.path.join(inst.queue, "defer")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, qid), "w") as f:
            f.write("<someone@remote.example>: connect to "
                    "remote.example: Connection refused\n")
        if inst.user is not None:
            for path in (d, os.path.join(d, qid)):
                os.chown(path, inst.user.pw_uid, inst.user.pw_gid)
        r = self.queue(inst)
        self.assertIn("(connect to remote.example: Connection refused)\n"
                      "%s someone@remote.example\n" % (" " * 41), r.stdout)
        o = json.loads(self.queue(inst, "--json").stdout)
        self.assertEqual(o["recipients"][0]["delay_reason"],
                         "connect to remote.example: Connection refused")
        # The next try is the deferred file's mtime (qmgr's retry time).
        mtime = int(os.stat(os.path.join(inst.queue, "deferred",
                                         qid)).st_mtime)
        self.assertEqual(o["queue_name"], "deferred")
        self.assertEqual(o["next_attempt_time"], mtime)
        when = time.strftime("%a %b %e %H:%M:%S", time.localtime(mtime))
        self.assertIn("(next try: %s)\n" % when, r.stdout)
        self.queue(inst, "delete", qid)
        self.assertFalse(os.path.exists(os.path.join(d, qid)))

    def test_hold_release_requeue_delete(self):
        inst = self.started()
        qid = self.deferred_message(inst)
        r = self.queue(inst, "hold", qid)
        self.assertIn("%s: placed on hold" % qid, r.stderr)
        self.assertEqual(self.ids(inst, "hold"), [qid])
        self.assertEqual(self.ids(inst, "deferred"), [])
        self.assertIn(qid + "!", self.queue(inst).stdout)
        self.assertEqual(json.loads(self.queue(inst, "--json").stdout)
                         ["queue_name"], "hold")
        # Held mail stays put when the queue is flushed.
        self.queue(inst, "flush")
        self.assertEqual(self.ids(inst, "hold"), [qid])
        r = self.queue(inst, "release", qid)
        self.assertIn("%s: released from hold" % qid, r.stderr)
        # Released: due now, so qmgr tries it again and defers it again.
        wait_for(lambda: self.ids(inst, "deferred") == [qid] and
                 inst.log().count("%s: to=<someone@remote.example>" % qid)
                 >= 2, what="second attempt after release" +
                 inst.log_tail())
        self.assertNotIn(qid + "!", self.queue(inst).stdout)
        r = self.queue(inst, "requeue", qid)
        self.assertIn("%s: requeued" % qid, r.stderr)
        wait_for(lambda: self.ids(inst, "deferred") == [qid] and
                 inst.log().count("%s: to=<someone@remote.example>" % qid)
                 >= 3, what="third attempt after requeue" + inst.log_tail())
        r = self.queue(inst, "delete", qid)
        self.assertIn("%s: removed" % qid, r.stderr)
        self.assertIn("Deleted: 1 message", r.stderr)
        inst.wait_for_log(r"queue\[\d+\]: %s: removed" % qid)
        self.assertEqual(self.ids(inst, "deferred"), [])
        self.assertEqual(self.queue(inst).stdout, "Mail queue is empty\n")

    def test_flush_retries(self):
        inst = self.started()
        qid = self.deferred_message(inst)
        self.queue(inst, "flush")
        wait_for(lambda: inst.log().count(
            "%s: to=<someone@remote.example>" % qid) >= 2,
            what="a second attempt after flush" + inst.log_tail())

    def test_all_and_errors(self):
        inst = self.started()
        a = self.deferred_message(inst, "a@remote.example")
        b = self.deferred_message(inst, "b@remote.example")
        r = self.queue(inst, "hold", "ALL")
        self.assertIn("Placed on hold: 2 messages", r.stderr)
        self.assertEqual(self.ids(inst, "hold"), sorted([a, b]))
        r = self.queue(inst)
        self.assertIn("-- 0 Kbytes in 2 Requests.", r.stdout)
        self.queue(inst, "release", "ALL")
        wait_for(lambda: self.ids(inst, "deferred") == sorted([a, b]),
                 what="both deferred again")
        r = self.queue(inst, "delete", "NOSUCHID", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("NOSUCHID: no such message", r.stderr)
        r = self.queue(inst, "delete", "../../correo.conf", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertTrue(os.path.exists(os.path.join(inst.dir,
                                                    "correo.conf")))
        r = self.queue(inst, "frobnicate", check=False)
        self.assertEqual(r.returncode, 2)
        r = self.queue(inst, "delete", "ALL")
        self.assertIn("Deleted: 2 messages", r.stderr)
        self.assertEqual(self.queue(inst).stdout, "Mail queue is empty\n")

    def test_flush_when_stopped(self):
        inst = self.instance()
        r = self.queue(inst, "flush", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("is the mail system running?", r.stderr)


if __name__ == "__main__":
    harness.main()
