"""test_sendmail: the sendmail command, mailq and the pickup daemon.

A real instance (correo init, pickup enabled by default): messages
submitted with sendmail land in the demo Maildir; -t takes To:/Cc:/Bcc:
and drops Bcc:, -f and command-line recipients work, a lone "." ends
input unless -i; a message submitted while the instance is stopped
waits in maildrop/ and is delivered once it starts; mailq and -bp list
it; a garbage file in maildrop/ goes to corrupt/ and pickup goes on.
"sendmail -bs" speaks SMTP on its standard input and output: Python's
smtplib drives it over a socket pair, several messages in one session,
and a raw dialogue checks the replies to errors.
"""

import os
import re
import smtplib
import socket
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

    def bs_client(self, inst):
        """smtplib.SMTP talking to "sendmail -bs" through a socket pair
        that is the program's stdin and stdout."""
        ours, theirs = socket.socketpair()
        kw = {}
        if inst.user is not None:
            kw = dict(user=inst.user.pw_uid, group=inst.user.pw_gid,
                      extra_groups=[])
        env = dict(os.environ, CORREO_CONFIG_DIR=inst.dir)
        proc = subprocess.Popen([sendmail_path(inst), "-bs"], stdin=theirs,
                                stdout=theirs, stderr=subprocess.PIPE,
                                env=env, cwd=inst.tmp, **kw)
        theirs.close()
        ours.settimeout(30)
        client = smtplib.SMTP()
        client.sock = ours
        code, greeting = client.getreply()
        self.assertEqual(code, 220)
        self.assertIn(b"sendmail -bs", greeting)
        return client, proc

    def test_bs_smtplib(self):
        inst = self.started()
        client, proc = self.bs_client(inst)
        code, _ = client.ehlo("client.example")
        self.assertEqual(code, 250)
        self.assertTrue(client.has_extn("pipelining"))
        self.assertTrue(client.has_extn("size"))
        refused = client.sendmail(
            "someone@demo.test", ["demo@demo.test"],
            "Subject: via -bs one\r\n\r\n.leading dot\r\nbody one\r\n")
        self.assertEqual(refused, {})
        # A bare user name is qualified with $myorigin (postmaster is
        # an alias of demo).
        refused = client.sendmail(
            "<>", ["postmaster"], "Subject: via -bs two\r\n\r\nbody two\r\n")
        self.assertEqual(refused, {})
        client.quit()
        self.assertEqual(proc.wait(timeout=30), 0)
        self.assertEqual(proc.stderr.read(), b"")
        proc.stderr.close()
        msgs = inst.wait_for_maildir("demo.test/demo", 2)
        one = [m[1].decode() for m in msgs if b"via -bs one" in m[1]]
        two = [m[1].decode() for m in msgs if b"via -bs two" in m[1]]
        self.assertEqual(len(one), 1)
        self.assertEqual(len(two), 1)
        self.assertIn("\n.leading dot\nbody one", one[0])
        self.assertIn("Return-Path: <someone@demo.test>", one[0])
        self.assertIn("Return-Path: <>", two[0])
        inst.wait_for_log(r"from=<someone@demo\.test>")
        inst.wait_for_log(r"to=<demo@demo\.test>.*status=sent")

    def test_bs_raw_dialogue(self):
        inst = self.instance()
        r = self.sendmail(inst, ["-bs"], (
            "DATA\r\n"
            "RCPT TO:<demo@demo.test>\r\n"
            "MAIL FROM:<a@demo.test> SIZE=999999999999\r\n"
            "MAIL FROM:<a@demo.test> XFOO=1\r\n"
            "MAIL FROM:<a@@b>\r\n"
            "MAIL FROM:<a@demo.test>\r\n"
            "MAIL FROM:<a@demo.test>\r\n"
            "DATA\r\n"
            "RCPT TO:<@@>\r\n"
            "RCPT TO:<demo@demo.test>\r\n"
            "VRFY demo\r\n"
            "BOGUS\r\n"
            "RSET\r\n"
            "DATA\r\n"
            "QUIT\r\n"
            "NOOP\r\n"), check=True)
        codes = [line[:3] for line in r.stdout.splitlines() if line]
        self.assertEqual(codes, ["220", "503", "503", "552", "555", "501",
                                 "250", "503", "554", "501", "250", "252",
                                 "502", "250", "503", "221"])
        # Nothing was queued; the instance was never started.
        self.assertEqual(self.maildrop(inst), [])

    def test_bs_queues_while_stopped(self):
        """Like plain sendmail: the file waits in maildrop/."""
        inst = self.instance()
        r = self.sendmail(inst, ["-bs"], (
            "HELO me\r\nMAIL FROM:<a@demo.test>\r\n"
            "RCPT TO:<demo@demo.test>\r\nDATA\r\nSubject: x\r\n\r\n"
            "waiting\r\n.\r\nQUIT\r\n"))
        m = re.search(r"250 2\.0\.0 Ok: queued as (\w+)", r.stdout)
        self.assertIsNotNone(m, r.stdout)
        self.assertEqual(self.maildrop(inst), [m.group(1)])
        inst.start()
        msgs = inst.wait_for_maildir("demo.test/demo", 1)
        self.assertIn(b"waiting", msgs[0][1])

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
