"""Queue files reused through the spare pool (common/mail/queue_spare.c).

qmgr keeps a finished queue file in queue/incoming/.spare/ instead of
removing it, and the next message is written into the same inode. Checked
through a real instance, in the user's and in root mode (where local
hands its per-owner workers a copy of the content, never the queue
file):
1. a big message, then a small one into the same inode: each arrives
   whole in the Maildir, nothing of the big one after the small one, and
   the pool holds the same inode again afterwards;
2. qmgr empties the pool when it starts, so nothing kept before a crash
   or restart is ever written into again;
3. the pool stays within its bound under a burst.
"""

import os
import signal

import harness
from harness import wait_for

SPARE_MAX = 256


def big_message(n):
    line = "%05d the quick brown fox jumps over the lazy dog\n"
    body = "".join(line % i for i in range(n))
    return ("From: a@example.org\nTo: demo@demo.test\nSubject: big\n\n" +
            body)


SMALL = "From: a@example.org\nTo: demo@demo.test\nSubject: small\n\nhi\n"


class QueueSpareTest(harness.TestCase):

    def spare(self, inst):
        d = os.path.join(inst.queue, "incoming", ".spare")
        out = {}
        for name in os.listdir(d):
            st = os.lstat(os.path.join(d, name))
            out[name] = (st.st_ino, st.st_size)
        return out

    def wait_idle(self, inst, count, who):
        inst.wait_for_maildir(who, count)
        # The queue file goes to the pool just after the delivery.
        wait_for(lambda: len(self.spare(inst)) >= 1, what="a spare")

    def check_reuse(self, inst, who, rcpt):
        inst.send_mail("a@example.org", [rcpt], big_message(2000))
        self.wait_idle(inst, 1, who)
        spare = self.spare(inst)
        self.assertEqual(len(spare), 1, spare)
        (ino, size), = spare.values()
        self.assertGreater(size, 90000)

        inst.send_mail("a@example.org", [rcpt], SMALL)
        inst.wait_for_maildir(who, 2)
        wait_for(lambda: [v[0] for v in self.spare(inst).values()] ==
                 [ino], what="the same inode back in the pool")
        (_, size2), = self.spare(inst).values()
        self.assertLess(size2, 1000)

        msgs = inst.maildir(who)
        self.assertEqual(len(msgs), 2)
        texts = sorted((m[1] for m in msgs), key=len)
        self.assertTrue(texts[0].endswith(b"\n\nhi\n"), texts[0][-200:])
        self.assertIn(b"Subject: small", texts[0])
        self.assertNotIn(b"quick brown fox", texts[0])
        self.assertTrue(texts[1].endswith(
            b"01999 the quick brown fox jumps over the lazy dog\n"))
        self.assertEqual(texts[1].count(b"the lazy dog\n"), 2000)

    def test_reuse_user_mode(self):
        harness.require_daemons(self, "smtpd", "qmgr", "local", "master")
        inst = self.instance()
        inst.start()
        inst.wait_for_port(inst.smtp_port)
        self.check_reuse(inst, "demo.test/demo", "demo@demo.test")

    def test_reuse_root_mode(self):
        if not harness.is_root():
            self.skipTest("needs root")
        harness.require_daemons(self, "smtpd", "qmgr", "local", "master")
        inst = self.instance(root_mode=True)
        r = inst.correo_input(["user", "add", "bob@demo.test",
                               "--password-stdin"], "secret 12345\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        inst.start()
        inst.wait_for_port(inst.smtp_port)
        self.check_reuse(inst, "demo.test/bob", "bob@demo.test")

    def test_qmgr_start_empties_the_pool(self):
        harness.require_daemons(self, "smtpd", "qmgr", "local", "master")
        inst = self.instance()
        inst.start()
        inst.wait_for_port(inst.smtp_port)
        inst.send_mail("a@example.org", ["demo@demo.test"], SMALL)
        self.wait_idle(inst, 1, "demo.test/demo")
        self.assertEqual(len(self.spare(inst)), 1)
        qmgr = inst.children("qmgr")[0]["pid"]
        os.kill(qmgr, signal.SIGKILL)
        # master starts a new qmgr; its first act empties the pool.
        wait_for(lambda: [p for p in inst.children("qmgr")
                          if p["pid"] != qmgr], timeout=30,
                 what="a new qmgr")
        wait_for(lambda: self.spare(inst) == {}, what="an empty pool")
        inst.send_mail("a@example.org", ["demo@demo.test"], SMALL)
        inst.wait_for_maildir("demo.test/demo", 2)

    def test_pool_bounded_under_a_burst(self):
        harness.require_daemons(self, "smtpd", "qmgr", "local", "master")
        inst = self.instance()
        inst.start()
        inst.wait_for_port(inst.smtp_port)
        n = 300
        with inst.smtp() as s:
            for i in range(n):
                s.sendmail("a@example.org", ["demo@demo.test"],
                           SMALL.replace("small", "m%d" % i))
        inst.wait_for_maildir("demo.test/demo", n, timeout=60)
        wait_for(lambda: len(self.spare(inst)) > 0, what="spares")
        spare = self.spare(inst)
        self.assertLessEqual(len(spare), SPARE_MAX)
        for name in spare:
            self.assertRegex(name, r"^\.[0-9]+$")
            self.assertLess(int(name[1:]), SPARE_MAX)
        subjects = set()
        for _, data in inst.maildir("demo.test/demo"):
            for line in data.split(b"\n"):
                if line.startswith(b"Subject: "):
                    subjects.add(line)
        self.assertEqual(len(subjects), n)


if __name__ == "__main__":
    harness.main()
