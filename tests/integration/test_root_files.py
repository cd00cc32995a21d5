#!/usr/bin/env python3
"""Root-side file operations in a tree another user owns.

"correo user add" runs as root and creates a Maildir below
virtual_mailbox_base, which belongs to the mailbox owner (vmail). A
symlink vmail plants at the new user's path must be refused, not
followed: following it used to give a root-owned directory to vmail
(the CVE-2008-2936 class).
"""
import os
import pwd
import unittest

import harness
from harness import Instance


class UserAddSymlinkTest(harness.TestCase):
    def setUp(self):
        if not harness.is_root():
            self.skipTest("needs root")
        self.inst = Instance(root_mode=True)
        self.addCleanup(self.inst.cleanup)
        self.vmail = pwd.getpwnam("vmail")
        self.target = os.path.join(self.inst.tmp, "rootdir")
        os.mkdir(self.target, 0o755)
        os.chown(self.target, 0, 0)

    def as_vmail(self, fn):
        """Run fn in a child process as vmail (the attacker)."""
        pid = os.fork()
        if pid == 0:
            try:
                os.setgroups([])
                os.setgid(self.vmail.pw_gid)
                os.setuid(self.vmail.pw_uid)
                fn()
                os._exit(0)
            except BaseException as e:
                print("as vmail: %r" % e)
                os._exit(1)
        _, status = os.waitpid(pid, 0)
        self.assertEqual(status, 0)

    def assert_untouched(self):
        st = os.stat(self.target)
        self.assertEqual((st.st_uid, st.st_gid), (0, 0))
        self.assertEqual(st.st_mode & 0o7777, 0o755)
        self.assertEqual(os.listdir(self.target), [])

    def test_symlink_at_maildir_refused(self):
        domain_dir = os.path.join(self.inst.mail_dir, self.inst.domain)
        link = os.path.join(domain_dir, "victim")

        def plant():
            os.makedirs(domain_dir, exist_ok=True)
            os.symlink(self.target, link)
        self.as_vmail(plant)
        r = self.inst.correo("user", "add", "victim@" + self.inst.domain)
        self.assertNotEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("refusing to create", r.stderr)
        self.assertIn("symbolic link", r.stderr)
        self.assert_untouched()
        # The user was not added either.
        r = self.inst.correo("user", "list")
        self.assertNotIn("victim@", r.stdout)

    def test_symlink_at_domain_refused(self):
        # The link one level up: the domain directory itself.
        link = os.path.join(self.inst.mail_dir, "other.test")
        self.inst.add_config("virtual_mailbox_domains = %s, other.test\n"
                             % self.inst.domain)
        self.as_vmail(lambda: os.symlink(self.target, link))
        r = self.inst.correo("user", "add", "x@other.test")
        self.assertNotEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("refusing to create", r.stderr)
        self.assert_untouched()

    def test_normal_add_owned_by_vmail(self):
        r = self.inst.correo("user", "add", "fresh@" + self.inst.domain)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        md = os.path.join(self.inst.mail_dir, self.inst.domain, "fresh")
        for d in (md, md + "/tmp", md + "/new", md + "/cur",
                  os.path.dirname(md)):
            st = os.lstat(d)
            self.assertEqual(st.st_uid, self.vmail.pw_uid, d)


SMTPD_ONLY = "127.0.0.1:{smtp_port} inet n - n - 10 smtpd\n"


class QueueAdminSymlinkTest(harness.TestCase):
    """correo queue run by root in directories the mail owner owns."""

    def setUp(self):
        if not harness.is_root():
            self.skipTest("needs root")
        harness.require_daemons(self, "master", "smtpd")

    def test_release_through_planted_symlink(self):
        # "release" moves hold/ID to deferred/ID and makes it due now by
        # setting its times. A symlink the mail owner planted as hold/ID
        # must not make root touch the file it points to.
        inst = self.instance(root_mode=True, services=SMTPD_ONLY)
        inst.start()
        inst.wait_for_port(inst.smtp_port)
        inst.send_mail("a@example.org", ["demo@" + inst.domain],
                       "Subject: x\n\nbody\n")
        incoming = os.path.join(inst.queue, "incoming")
        qid = harness.queue_ids(inst.queue, "incoming")[0]
        os.unlink(os.path.join(incoming, qid))
        target = os.path.join(inst.tmp, "rootfile")
        with open(target, "w") as f:
            f.write("root's\n")
        os.chmod(target, 0o644)
        os.utime(target, (946684800, 946684800))
        owner = pwd.getpwnam("correo")
        link = os.path.join(inst.queue, "hold", qid)
        pid = os.fork()
        if pid == 0:
            try:
                os.setgroups([])
                os.setgid(owner.pw_gid)
                os.setuid(owner.pw_uid)
                os.symlink(target, link)
                os._exit(0)
            except BaseException as e:
                print("as correo: %r" % e)
                os._exit(1)
        self.assertEqual(os.waitpid(pid, 0)[1], 0)
        inst.correo("queue", "release", qid)
        st = os.stat(target)
        self.assertEqual(int(st.st_mtime), 946684800)
        self.assertEqual((st.st_uid, st.st_mode & 0o777), (0, 0o644))

if __name__ == "__main__":
    harness.main()
