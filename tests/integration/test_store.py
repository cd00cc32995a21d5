"""The mailbox store at delivery: local gives every message its UID.

Messages delivered over SMTP land in the Maildir with an index record
each (correo-index.log: A records, uids 1, 2, 3 in delivery order, names
matching the files in new/), so no reader has to scan the folder; a file
another program drops into new/ is not indexed by the next delivery (its
UID comes from the next reader's scan) and never makes a delivery fail.
"""

import os
import re

import harness

SERVICES = """
127.0.0.1:{smtp_port} inet n - n - 100 smtpd
qmgr unix - - n 300 1 qmgr
local unix - root n - 10 local
"""

RECORD = re.compile(r"^([A-Z])((?: [A-Z][^ ]*)*?)(?: :(\S+))? \*[0-9a-f]{8}$")


def records(maildir):
    """(kind, fields dict, name) of each record of the folder's log."""
    out = []
    with open(os.path.join(maildir, "correo-index.log")) as f:
        for line in f:
            m = RECORD.match(line.rstrip("\n"))
            assert m, "bad record %r" % line
            fields = {t[0]: t[1:] for t in m.group(2).split()}
            out.append((m.group(1), fields, m.group(3)))
    return out


def message(n):
    return ("From: a@example.org\r\nTo: demo@demo.test\r\n"
            "Subject: store %d\r\n\r\nbody %d\r\n" % (n, n))


class StoreTest(harness.TestCase):

    def setUp(self):
        harness.require_daemons(self, "smtpd", "qmgr", "local", "master")
        self.inst = self.instance(services=SERVICES, config={
            "queue_run_delay": "1s"})
        self.inst.start()
        self.md = os.path.join(self.inst.mail_dir, "demo.test", "demo")

    def deliver(self, n, total):
        self.inst.send_mail("a@example.org", ["demo@demo.test"], message(n))
        self.inst.wait_for_maildir("demo.test/demo", total)
        # The file is renamed into new/ before its index record is
        # written (under the index lock): wait for local's report.
        harness.wait_for(lambda: self.inst.log().count("status=sent")
                         >= n, what="delivery %d reported" % n)

    def test_delivery_assigns_uids(self):
        for n in range(1, 4):
            self.deliver(n, n)
        adds = [(int(f["U"]), name) for kind, f, name in records(self.md)
                if kind == "A"]
        self.assertEqual([u for u, _ in adds], [1, 2, 3])
        files = sorted(os.listdir(os.path.join(self.md, "new")))
        self.assertEqual(sorted(name for _, name in adds), files)
        # Subjects in UID order are the delivery order.
        for uid, name in adds:
            with open(os.path.join(self.md, "new", name)) as f:
                self.assertIn("Subject: store %d" % uid, f.read())

    def test_foreign_file_not_claimed_by_delivery(self):
        self.deliver(1, 1)
        foreign = os.path.join(self.md, "new", "1.foreign.host")
        with open(foreign, "w") as f:
            f.write("Subject: dropped\n\nby another program\n")
        if self.inst.user is not None:
            os.chown(foreign, self.inst.user.pw_uid, self.inst.user.pw_gid)
        self.deliver(2, 3)
        recs = records(self.md)
        names = [name for kind, _, name in recs if kind == "A"]
        self.assertNotIn("1.foreign.host", names)
        self.assertEqual([int(f["U"]) for k, f, _ in recs if k == "A"],
                         [1, 2])


if __name__ == "__main__":
    harness.main()
