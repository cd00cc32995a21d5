#!/usr/bin/env python3
"""full disk: the queue and the mailboxes on small file systems of their
own (tmpfs, mounted by the test; root only), filled up under correo:

- below queue_minfree / 1.5 x message_size_limit, MAIL gets "452 4.3.1
  Insufficient system storage" and smtpd logs the free space;
- a disk that fills during DATA: the end of data gets 452 4.3.1, never
  250, and nothing half-written stays in the queue; smtpd serves on;
- a full mailbox file system: local defers (4.2.2), qmgr keeps the
  message (never a bounce), also while the queue's own file system is
  full; IMAP APPEND answers NO [OVERQUOTA], and a MULTIAPPEND whose
  second message does not fit stores none;
- space back: everything resumes by itself and every acknowledged
  message arrives.
"""
import imaplib
import os
import shutil
import smtplib
import subprocess
import time
import unittest

import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faults  # noqa: E402
import harness  # noqa: E402

LIMIT = 100000
CONFIG = {"message_size_limit": str(LIMIT), "queue_run_delay": "1s",
          "minimal_backoff_time": "1s", "maximal_backoff_time": "2s"}


def mount_tmpfs(path, size, owner):
    """Put a tmpfs of size bytes under path, keeping what was there."""
    aside = path + ".aside"
    os.rename(path, aside)
    os.mkdir(path)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%d,mode=0755" %
                    size, "tmpfs", path], check=True)
    subprocess.run(["cp", "-a", aside + "/.", path], check=True)
    st = os.stat(aside)
    os.chown(path, st.st_uid, st.st_gid)
    os.chmod(path, st.st_mode & 0o7777)
    shutil.rmtree(aside)


def fill(path, leave):
    """A root-owned filler file leaving about `leave` bytes free."""
    filler = os.path.join(path, "filler")
    sv = os.statvfs(path)
    free = sv.f_bavail * sv.f_frsize
    size = max(0, free - leave)
    with open(filler, "ab") as f:
        chunk = b"\0" * 65536
        while size > 0:
            n = min(size, len(chunk))
            try:
                f.write(chunk[:n])
                f.flush()
            except OSError:
                break
            size -= n
    return filler


def message(n, size=2000):
    return faults.body_of(n, size)


class FullDiskTest(harness.TestCase):

    def setUp(self):
        if not harness.is_root():
            self.skipTest("mounting a tmpfs needs root")
        inst = self.instance(config=CONFIG)
        self.inst = inst
        self.mounts = []
        for path, size in ((inst.queue, 4 << 20),
                           (os.path.join(inst.mail_dir, "demo.test"),
                            2 << 20)):
            try:
                mount_tmpfs(path, size, inst.user)
            except (subprocess.CalledProcessError, OSError) as e:
                self.skipTest("cannot mount a tmpfs: %s" % e)
            self.mounts.append(path)
            self.addCleanup(subprocess.run, ["umount", "-l", path])
        self.queue_fs, self.mail_fs = self.mounts
        self.demo = os.path.join(self.mail_fs, "demo")
        inst.start()
        inst.wait_for_port(inst.smtp_port)

    def send(self, n, size=2000):
        with smtplib.SMTP("127.0.0.1", self.inst.smtp_port,
                          timeout=30) as s:
            s.sendmail("alice@example.org", ["demo@demo.test"],
                       message(n, size))

    def delivered(self):
        return {faults.fault_id(d) for _, d in
                harness.maildir_messages(self.demo)}

    def test_queue_full_then_space_back(self):
        inst = self.inst
        filler = fill(self.queue_fs, 100 * 1024)    # < 1.5 x 100 kB
        with self.assertRaises(smtplib.SMTPSenderRefused) as cm:
            self.send(1)
        self.assertEqual(cm.exception.smtp_code, 452)
        self.assertIn(b"4.3.1 Insufficient system storage",
                      cm.exception.smtp_error)
        inst.wait_for_log(r"not enough free space in the mail queue")
        os.unlink(filler)
        self.send(2)
        harness.wait_for(lambda: 2 in self.delivered(), 20,
                         what="message 2 delivered")

    def test_disk_fills_during_data(self):
        inst = self.inst
        s = smtplib.SMTP("127.0.0.1", inst.smtp_port, timeout=30)
        s.ehlo()
        self.assertEqual(s.mail("alice@example.org")[0], 250)
        self.assertEqual(s.rcpt("demo@demo.test")[0], 250)
        filler = fill(self.queue_fs, 0)
        code, text = s.data(message(3, 60000))
        self.assertEqual(code, 452, text)
        self.assertIn(b"4.3.1", text)
        s.quit()
        # Nothing half-written left in the queue, no 250 ever (the
        # pool of finished queue files, incoming/.spare, may be there).
        for d in ("incoming", "active", "deferred"):
            self.assertEqual([n for n in os.listdir(
                os.path.join(self.queue_fs, d)) if n != ".spare"], [], d)
        inst.wait_for_log(r"queue file (write error|commit): .*No space")
        os.unlink(filler)
        self.send(4)        # smtpd serves on
        harness.wait_for(lambda: 4 in self.delivered(), 20,
                         what="message 4 delivered")
        self.assertNotIn(3, self.delivered())

    def test_mailbox_full_defers_then_delivers(self):
        inst = self.inst
        mail_filler = fill(self.mail_fs, 0)
        self.send(5)
        inst.wait_for_log(r"to=<demo@demo.test>.*dsn=4\.2\.2, status=deferred")
        # The queue's own file system full as well: qmgr must keep the
        # message, not bounce it.
        queue_filler = fill(self.queue_fs, 0)
        time.sleep(3)
        self.assertNotIn("status=bounced", inst.log())
        # IMAP APPEND on the full mailbox: NO, with the reason.
        who = ""
        if inst.user is not None:
            who = "setpriv --reuid=%d --regid=%d --clear-groups " % (
                inst.user.pw_uid, inst.user.pw_gid)
        m = imaplib.IMAP4_stream("exec %s%s -m %s -u demo" % (
            who, harness.libexec("imapd"), self.demo))
        typ, data = m.append("INBOX", None, None, message(6))
        self.assertEqual(typ, "NO")
        self.assertIn(b"OVERQUOTA", data[0])
        m.logout()
        # Space back: delivered by itself (the retry), nothing lost.
        os.unlink(queue_filler)
        os.unlink(mail_filler)
        harness.wait_for(lambda: 5 in self.delivered(), 30,
                         what="message 5 delivered after space came back")
        self.assertNotIn("status=bounced", inst.log())

    def test_multiappend_all_or_none(self):
        """A MULTIAPPEND whose second message does not fit: NO, and the
        first, stored already, is removed again (RFC 3502)."""
        inst = self.inst
        self.send(7)
        harness.wait_for(lambda: 7 in self.delivered(), 30,
                         what="message 7 delivered")
        before = sorted(os.listdir(os.path.join(self.demo, "cur")) +
                        os.listdir(os.path.join(self.demo, "new")))
        filler = fill(self.mail_fs, 60000)
        self.addCleanup(os.unlink, filler)
        small, big = message(8, 2000), message(9, 90000)
        cmd = [harness.libexec("imapd"), "-m", self.demo, "-u", "demo"]
        if inst.user is not None:
            cmd = ["setpriv", "--reuid=%d" % inst.user.pw_uid,
                   "--regid=%d" % inst.user.pw_gid, "--clear-groups"] + cmd
        script = (b"a1 APPEND INBOX {%d+}\r\n%s {%d+}\r\n%s\r\n"
                  b"a2 SELECT INBOX\r\na3 LOGOUT\r\n" %
                  (len(small), small, len(big), big))
        done = subprocess.run(cmd, input=script, capture_output=True,
                              timeout=60)
        out = done.stdout
        lines = out.split(b"\r\n")
        tagged = [l for l in lines if l.startswith(b"a1 ")]
        self.assertEqual(len(tagged), 1, out[-2000:])
        self.assertTrue(tagged[0].startswith(b"a1 NO"), tagged)
        self.assertIn(b"* 1 EXISTS", lines)
        after = sorted(os.listdir(os.path.join(self.demo, "cur")) +
                       os.listdir(os.path.join(self.demo, "new")))
        self.assertEqual(len(after), len(before), (before, after))
        self.assertNotIn(8, self.delivered())
        self.assertRegex(inst.log() + done.stderr.decode(errors="replace"),
                         r"removed the 1 message\(s\) stored before the "
                         r"failure")


if __name__ == "__main__":
    harness.main()
