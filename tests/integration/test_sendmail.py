"""test_sendmail: the sendmail command, mailq and the pickup daemon.

A real instance (correo init, pickup enabled by default): messages
submitted with sendmail land in the demo Maildir; -t takes To:/Cc:/Bcc:
and drops Bcc:, -f and command-line recipients work, a lone "." ends
input unless -i; a message submitted while the instance is stopped
waits in maildrop/ and is delivered once it starts; mailq and -bp list
it; a garbage file in maildrop/ goes to corrupt/ and pickup goes on.
"""

import os
import re
import subprocess
import time

import harness
from harness import wait_for


def sendmail_path(inst):
    return os.path.join(inst.bindir, "sendmail")


class SendmailTest(harness.TestCase):

    def setUp(self):
        harness.require_daemons(self, "master", "qmgr", "local", "pickup")
        if not os.access(sendmail_path(harness.Instance(init=False)),
                         os.X_OK):
            self.skipTest("sendmail not built")

    def sendmail(self, inst, args, text, name="sendmail", check=True):
        path = sendmail_path(inst)
        if name != "sendmail":
            link = os.path.join(inst.tmp, name)
            if not os.path.exists(link):
                os.symlink(path, link)
            path = link
        kw = {}
        if inst.user is not None:
            kw = dict(user=inst.user.pw_uid, group=inst.user.pw_gid,
                      extra_groups=[])
        env = dict(os.environ, CORREO_CONFIG_DIR=inst.dir)
        r = subprocess.run([path] + args, input=text, text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=env, cwd=inst.tmp, timeout=30, **kw)
        if check:
            self.assertRuns(r)
        return r

    def maildrop(self, inst):
        d = os.path.join(inst.queue, "maildrop")
        return [n for n in os.listdir(d) if not n.startswith(".")]

    def started(self):
        inst = self.instance()
        inst.start()
        inst.wait_for_unix("pickup", private=False)
        return inst

    def test_t_delivers_to_maildir(self):
        inst = self.started()
        self.sendmail(inst, ["-t"], "To: demo@demo.test\nSubject: hi\n\n"
                      "hi\n")
        msgs = inst.wait_for_maildir("demo.test/demo", 1)
        body = msgs[0][1].decode()
        self.assertIn("Subject: hi", body)
        self.assertRegex(body, r"Received: by \S+ \(correo, from userid "
                         r"\d+\)\n\tid \w+; ")
        for h in ("Message-Id: <", "Date: ", "From: "):
            self.assertIn(h, body)
        self.assertTrue(body.rstrip("\n").endswith("hi"))
        inst.wait_for_log(r"pickup\[\d+\]: \w+: uid=\d+ from=<")
        self.assertEqual(self.maildrop(inst), [])

    def test_bcc_removed_and_dot_ends_input(self):
        inst = self.started()
        self.sendmail(inst, ["-t"],
                      "To: Demo User <demo@demo.test>\n"
                      "Bcc: postmaster@demo.test\nSubject: bcc\n\n"
                      "one\n.\nnot part of it\n")
        # Two envelope recipients that end in one mailbox (qmgr delivers
        # one copy).
        inst.wait_for_log(r"from=<[^>]*>, size=\d+, nrcpt=2 ")
        msgs = inst.wait_for_maildir("demo.test/demo", 1)
        for _, raw in msgs:
            text = raw.decode()
            self.assertNotIn("Bcc:", text)
            self.assertIn("one\n", text)
            self.assertNotIn("not part of it", text)

    def test_i_keeps_dots_f_and_args(self):
        inst = self.started()
        self.sendmail(inst, ["-i", "-f", "boss@example.org", "-F",
                             "The Boss", "demo@demo.test"],
                      "Subject: dots\n\n.\nafter the dot\n")
        msgs = inst.wait_for_maildir("demo.test/demo", 1)
        text = msgs[0][1].decode()
        self.assertIn("\n.\nafter the dot\n", text)
        self.assertIn("From: The Boss <boss@example.org>", text)
        inst.wait_for_log(r"from=<boss@example\.org>")

    def test_oi_and_ignored_options(self):
        inst = self.started()
        r = self.sendmail(inst, ["-oi", "-odb", "-X", "/dev/null",
                                 "demo@demo.test"], "Subject: o\n\n.\nx\n")
        self.assertIn("-odb option ignored", r.stderr)
        msgs = inst.wait_for_maildir("demo.test/demo", 1)
        self.assertIn("\n.\nx\n", msgs[0][1].decode())

    def test_no_recipients_is_an_error(self):
        inst = self.instance()
        r = self.sendmail(inst, ["-t"], "Subject: none\n\nhi\n",
                          check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("No recipient addresses", r.stderr)
        r = self.sendmail(inst, ["bad address@@x"], "hi\n", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertEqual(self.maildrop(inst), [])

    def test_bs_not_supported(self):
        inst = self.instance()
        r = self.sendmail(inst, ["-bs"], "QUIT\r\n", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("not supported", r.stderr)

    def test_stopped_then_started(self):
        inst = self.instance()
        self.sendmail(inst, ["-t"], "To: demo@demo.test\nSubject: later"
                      "\n\nwaiting\n")
        waiting = self.maildrop(inst)
        self.assertEqual(len(waiting), 1)
        r = self.sendmail(inst, ["-bp"], "")
        self.assertIn(waiting[0], r.stdout)
        self.assertIn("demo@demo.test", r.stdout)
        self.assertRegex(r.stdout, r"-- \d+ Kbytes in 1 Request\.")
        r = self.sendmail(inst, [], "", name="mailq")
        self.assertIn(waiting[0], r.stdout)
        self.assertTrue(r.stdout.startswith(
            "-Queue ID-  --Size-- ----Arrival Time---- "
            "-Sender/Recipient-------\n"))
        inst.start()
        msgs = inst.wait_for_maildir("demo.test/demo", 1)
        self.assertIn("waiting", msgs[0][1].decode())
        wait_for(lambda: self.maildrop(inst) == [], what="empty maildrop")
        wait_for(lambda: self.sendmail(inst, [], "", name="mailq").stdout
                 == "Mail queue is empty\n", what="empty queue")

    def test_garbage_goes_to_corrupt(self):
        inst = self.started()
        junk = os.path.join(inst.queue, "maildrop", "1K0AAAAAAAAAAAAA00")
        with open(junk, "w") as f:
            f.write("this is not a queue file\n")
        if inst.user is not None:
            os.chown(junk, inst.user.pw_uid, inst.user.pw_gid)
        # A FIFO must not hang pickup either.
        fifo = os.path.join(inst.queue, "maildrop", "1K0AAAAAAAAAAAAB00")
        os.mkfifo(fifo)
        self.sendmail(inst, ["demo@demo.test"], "Subject: after\n\nok\n")
        inst.wait_for_maildir("demo.test/demo", 1)
        corrupt = os.path.join(inst.queue, "corrupt")
        wait_for(lambda: sorted(os.listdir(corrupt)) ==
                 ["1K0AAAAAAAAAAAAA00", "1K0AAAAAAAAAAAAB00"],
                 what="both bad files in corrupt/")
        inst.wait_for_log(r"1K0AAAAAAAAAAAAA00: uid=\d+: bad maildrop "
                          r"file: .*; moved to corrupt/")
        self.assertEqual(self.maildrop(inst), [])
        # Still working afterwards.
        self.sendmail(inst, ["demo@demo.test"], "Subject: again\n\nok\n")
        inst.wait_for_maildir("demo.test/demo", 2)


if __name__ == "__main__":
    harness.main()
