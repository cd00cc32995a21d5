#!/usr/bin/env python3
"""quota: per-user limits from mailbox_quota_maps and
mailbox_quota_default, enforced by local (a 4.2.2 deferral logged the
Postfix way, shown by `correo queue`, delivered after the user makes
room, or bounced with 5.2.2 at the queue lifetime) and by IMAP APPEND
and COPY (NO [OVERQUOTA]); RFC 9208 GETQUOTA/GETQUOTAROOT/SETQUOTA and
STATUS DELETED-STORAGE; the usage (Maildir++ maildirsize) matching the
Maildir after deliveries, IMAP EXPUNGE, MOVE and POP3 DELE; and
`correo mailbox USER` showing usage and limits.
"""
import imaplib
import os
import poplib
import re

import harness

PASSWORD = "quota secret 42"
BOB = "bob@demo.test"          # messages=3 from the table
ALICE = "alice@demo.test"      # the default
CAROL = "carol@demo.test"      # storage=1 from the table: always full

CONFIG = {
    "auth_failure_delay": "10ms",
    "auth_failure_delay_max": "20ms",
    "queue_run_delay": "1s",
    "minimal_backoff_time": "1s",
    "maximal_backoff_time": "2s",
    "pop3_disable_plaintext_auth": "no",
    "mailbox_quota_maps": "texthash:{dir}/quota",
    "mailbox_quota_default": "storage=10M messages=1000",
}

TABLE = """\
# address -> quota rule
bob@demo.test    storage=64k messages=3
carol@demo.test  storage=1
"""


def message(n, body="hello\n"):
    return ("From: alice@demo.test\r\nTo: bob@demo.test\r\n"
            "Subject: quota %d\r\n\r\n%s" % (n, body))


def quota_of(m, root="User quota"):
    """(storage used, limit, messages used, limit) from GETQUOTA."""
    typ, data = m._simple_command("GETQUOTA", '"%s"' % root)
    assert typ == "OK", data
    typ, data = m._untagged_response(typ, data, "QUOTA")
    text = data[-1].decode()
    st = re.search(r"STORAGE (\d+) (\d+)", text)
    ms = re.search(r"MESSAGE (\d+) (\d+)", text)
    return (int(st.group(1)) if st else None,
            int(st.group(2)) if st else None,
            int(ms.group(1)) if ms else None,
            int(ms.group(2)) if ms else None)


def maildir_usage(path):
    """(bytes, files) of every message file in the Maildir++ tree."""
    size = count = 0
    for folder in [path] + [os.path.join(path, d) for d in os.listdir(path)
                            if d.startswith(".") and
                            os.path.isdir(os.path.join(path, d, "cur"))]:
        for sub in ("new", "cur"):
            for name in os.listdir(os.path.join(folder, sub)):
                size += os.path.getsize(os.path.join(folder, sub, name))
                count += 1
    return size, count


class QuotaTest(harness.TestCase):

    @classmethod
    def setUpClass(cls):
        for d in ("imapd", "imap-login", "pop3d", "pop3-login", "auth",
                  "local"):
            if not harness.have_daemon(d):
                raise __import__("unittest").SkipTest(d + " not built")

    def setUp(self):
        inst = self.instance(init=True)
        config = dict(CONFIG)
        config["mailbox_quota_maps"] = config["mailbox_quota_maps"].format(
            dir=inst.dir)
        if self._testMethodName == "test_expired_bounces_with_5_2_2":
            config["maximal_queue_lifetime"] = "3s"
        inst.add_config(config)
        table = os.path.join(inst.dir, "quota")
        with open(table, "w") as f:
            f.write(TABLE)
        if inst.user is not None:
            os.chown(table, inst.user.pw_uid, inst.user.pw_gid)
        for user in (BOB, ALICE, CAROL):
            inst.add_user(user, PASSWORD)
        inst.start()
        self.p143, self.p110 = inst.port(143), inst.port(110)
        inst.wait_for_port(self.p143)
        inst.wait_for_port(self.p110)
        self.inst = inst
        self.bob_dir = os.path.join(inst.mail_dir, "demo.test", "bob")

    def imap(self, user=BOB):
        m = imaplib.IMAP4("127.0.0.1", self.p143, timeout=30)
        self.addCleanup(self.close, m)
        self.assertEqual(m.login(user, PASSWORD)[0], "OK")
        return m

    @staticmethod
    def close(m):
        try:
            m.logout()
        except Exception:
            pass

    def assert_usage_matches(self, m):
        """GETQUOTA's numbers are the Maildir's."""
        size, count = maildir_usage(self.bob_dir)
        used, limit, msgs, mlimit = quota_of(m)
        self.assertEqual((used, limit), ((size + 1023) // 1024, 64))
        self.assertEqual((msgs, mlimit), (count, 3))

    def test_capabilities_and_commands(self):
        m = self.imap()
        typ, caps = m.capability()
        caps = caps[0].decode().split()
        for c in ("QUOTA", "QUOTA=RES-STORAGE", "QUOTA=RES-MESSAGE"):
            self.assertIn(c, caps)
        self.assertNotIn("QUOTASET", caps)
        typ, data = m._simple_command("GETQUOTAROOT", "INBOX")
        self.assertEqual(typ, "OK", data)
        roots = m.untagged_responses.pop("QUOTAROOT")
        self.assertEqual(roots, [b'"INBOX" "User quota"'])
        quota = m.untagged_responses.pop("QUOTA")
        self.assertEqual(quota, [b'"User quota" (STORAGE 0 64 MESSAGE 0 3)'])
        typ, data = m._simple_command("GETQUOTA", '""')
        self.assertEqual(typ, "NO")
        typ, data = m._simple_command("GETQUOTAROOT", "Nonesuch")
        self.assertEqual(typ, "NO")
        self.assertIn(b"NONEXISTENT", data[0])
        typ, data = m._simple_command("SETQUOTA", '"User quota"',
                                      "(STORAGE 100)")
        self.assertEqual(typ, "NO")
        # The default applies to a user the table does not name.
        a = self.imap(ALICE)
        self.assertEqual(quota_of(a), (0, 10240, 0, 1000))

    def test_delete_folder_uncounts(self):
        a = self.imap(ALICE)
        a.create("Box")
        for n in range(2):
            self.assertEqual(a.append("Box", None, None,
                                      message(n).encode())[0], "OK")
        self.assertEqual(a.append("INBOX", None, None,
                                  message(5).encode())[0], "OK")
        alice_dir = os.path.join(self.inst.mail_dir, "demo.test", "alice")
        size, count = maildir_usage(alice_dir)
        self.assertEqual(quota_of(a)[0::2], ((size + 1023) // 1024, 3))
        self.assertEqual(a.delete("Box")[0], "OK")
        size, count = maildir_usage(alice_dir)
        self.assertEqual(count, 1)
        self.assertEqual(quota_of(a)[2], 1)
        with open(os.path.join(alice_dir, "maildirsize")) as f:
            lines = f.read().splitlines()
        self.assertEqual(lines[0], "10485760S,1000C")
        self.assertEqual(sum(int(x.split()[0]) for x in lines[1:]), size)

    def test_delivery_deferred_then_delivered(self):
        inst = self.inst
        for n in range(3):
            inst.send_mail(ALICE, [BOB], message(n))
        inst.wait_for_maildir("demo.test/bob", 3)
        inst.wait_for_log(r"to=<%s>.*status=sent" % BOB)
        # The fourth: over the message limit, deferred with 4.2.2.
        inst.send_mail(ALICE, [BOB], message(3))
        line = inst.wait_for_log(
            r"to=<%s>, relay=local.*dsn=4\.2\.2, status=deferred "
            r"\(maildir delivery failed: 4\.2\.2 Mailbox full / quota "
            r"exceeded[^)]*\)" % BOB)
        self.assertTrue(line)
        q = inst.correo("queue", check=True).stdout
        self.assertIn(BOB, q)
        self.assertIn("quota exceeded", q)
        self.assertEqual(len(inst.maildir("demo.test/bob")), 3)
        # Held while the counts below are checked: its next retry would
        # otherwise take the room they make at any moment.
        harness.wait_for(
            lambda: inst.correo("queue", "hold", "ALL").returncode == 0 and
            re.search(r"placed on hold", inst.log()), 20,
            what="the deferred message on hold")

        m = self.imap()
        self.assert_usage_matches(m)
        # APPEND and COPY over quota; nothing stored.
        typ, data = m.append("INBOX", None, None,
                             message(9).encode())
        self.assertEqual(typ, "NO")
        self.assertIn(b"[OVERQUOTA]", data[0])
        # Refused before the data is sent: no "+" continuation.
        m.send(b"x1 APPEND INBOX {100}\r\n")
        self.assertEqual(m.readline(), b"x1 NO [OVERQUOTA] Quota exceeded "
                         b"(mailbox for user is full)\r\n")
        self.assertEqual(m.noop()[0], "OK")
        m.create("Keep")
        m.select("INBOX")
        typ, data = m.copy("1", "Keep")
        self.assertEqual(typ, "NO")
        self.assertIn(b"[OVERQUOTA]", data[0])
        # MOVE adds nothing within one user: allowed even when full.
        typ, data = m._simple_command("MOVE", "1", "Keep")
        self.assertEqual(typ, "OK", data)
        self.assert_usage_matches(m)
        # STATUS: DELETED and DELETED-STORAGE (RFC 9208), SIZE.
        m.select("Keep")
        m.store("1", "+FLAGS", "\\Deleted")
        typ, data = m.status("Keep", "(DELETED DELETED-STORAGE SIZE)")
        self.assertEqual(typ, "OK")
        st = re.search(rb"DELETED (\d+) DELETED-STORAGE (\d+) SIZE (\d+)",
                       data[0])
        self.assertEqual(int(st.group(1)), 1)
        self.assertEqual(int(st.group(2)), 1)      # under 1024 octets
        self.assertGreater(int(st.group(3)), 0)
        m.expunge()
        self.assertEqual(quota_of(m)[2], 2)
        self.assert_usage_matches(m)

        # POP3 DELE counts too.
        p = poplib.POP3("127.0.0.1", self.p110, timeout=30)
        p.user(BOB)
        p.pass_(PASSWORD)
        p.dele(1)
        p.quit()
        self.assertEqual(quota_of(m)[2], 1)
        self.assert_usage_matches(m)

        # Room now: the deferred message goes in at the next try.
        inst.correo("queue", "release", "ALL", check=True)
        inst.correo("queue", "flush", check=True)
        harness.wait_for(
            lambda: quota_of(m)[2] == 2, 20,
            what="the deferred message delivered" + inst.log_tail())
        inst.wait_for_log(r"to=<%s>, relay=local.*status=sent.*\n"
                          r"(.*\n)*.*to=<%s>, relay=local.*status=sent"
                          % (BOB, BOB))
        self.assert_usage_matches(m)

        # The admin command shows the same.
        size, count = maildir_usage(self.bob_dir)
        out = inst.correo("mailbox", BOB, check=True).stdout
        self.assertIn("quota: storage %d of 65536 bytes" % size, out)
        self.assertIn("messages %d of 3" % count, out)
        # And the file is Maildir++'s.
        with open(os.path.join(self.bob_dir, "maildirsize")) as f:
            self.assertEqual(f.readline(), "65536S,3C\n")

    def test_expired_bounces_with_5_2_2(self):
        inst = self.inst
        inst.send_mail(ALICE, [CAROL], message(1))
        inst.wait_for_log(r"to=<%s>.*dsn=4\.2\.2, status=deferred" % CAROL)
        inst.wait_for_log(r"to=<%s>.*dsn=5\.2\.2, status=bounced"
                          % CAROL, timeout=30)
        dsn = inst.wait_for_maildir("demo.test/alice", 1)
        text = b"".join(content for name, content in dsn)
        self.assertIn(b"Status: 5.2.2", text)
        self.assertIn(b"Action: failed", text)


if __name__ == "__main__":
    harness.main()
