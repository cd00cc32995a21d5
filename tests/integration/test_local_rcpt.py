#!/usr/bin/env python3
"""Who is a local recipient, and what an :include: file may be.

:include: files are opened without following a symlink or blocking on a
FIFO (which used to hang qmgr), and refused unless they are regular files
nobody else may write: the recipient is deferred (as Postfix defers on a
mode or owner problem), with a warning in the log, and the queue keeps
moving.

System accounts: by default only accounts with a login shell and a home
they own are local recipients (local_system_recipients = login), so
RCPT TO:<bin@...> is refused at RCPT time (root mode, where the real
passwd file is used as is).
"""
import os
import pwd
import subprocess
import unittest

import harness
from harness import Instance

SERVICES = """
127.0.0.1:{smtp_port} inet n - n - 100 smtpd
qmgr unix - - n 300 1 qmgr
local unix - root n - 10 local
"""

CONFIG = {
    "service_throttle_time": "1s",
    "minimal_backoff_time": "30s",
    "maximal_backoff_time": "60s",
    "queue_run_delay": "1s",
}


def message(subject):
    return "From: a@example.org\nSubject: %s\n\nbody\n" % subject


class IncludeFileTest(harness.TestCase):
    @classmethod
    def setUpClass(cls):
        for d in ("smtpd", "qmgr", "local"):
            if not harness.have_daemon(d):
                raise unittest.SkipTest(d + " not built")
        inst = cls.inst = Instance(config=CONFIG, services=SERVICES)
        inc = cls.inc = os.path.join(inst.tmp, "inc")
        os.mkdir(inc, 0o755)
        rcpt = "demo@%s\n" % inst.domain
        with open(os.path.join(inc, "ok"), "w") as f:
            f.write(rcpt)
        with open(os.path.join(inc, "ww"), "w") as f:
            f.write(rcpt)
        os.chmod(os.path.join(inc, "ww"), 0o666)
        os.mkfifo(os.path.join(inc, "fifo"), 0o644)
        os.symlink(os.path.join(inc, "ok"), os.path.join(inc, "link"))
        if inst.user is not None:
            for n in ("ok", "ww", "fifo", "link"):
                os.lchown(os.path.join(inc, n), inst.user.pw_uid,
                          inst.user.pw_gid)
        with open(os.path.join(inst.dir, "aliases"), "a") as f:
            for n in ("ok", "ww", "fifo", "link"):
                f.write("inc%s: :include:%s/%s\n" % (n, inc, n))
        inst.correo("newaliases", check=True)
        inst.start()
        inst.wait_for_port(inst.smtp_port)

    @classmethod
    def tearDownClass(cls):
        cls.inst.cleanup()

    def refused(self, name, why):
        inst = self.inst
        inst.send_mail("a@example.org", ["inc%s@mail.%s" % (name,
                                                          inst.domain)],
                       message(name))
        inst.wait_for_log(r"warning: :include: file \S+/%s %s: refused"
                          % (name, why))
        inst.wait_for_log(r"to=<inc%s@mail\.demo\.test>.*status=deferred "
                          r"\(mail system configuration error: :include: "
                          r"file \S+/%s %s" % (name, name, why))

    def test_a_fifo_is_refused_not_waited_on(self):
        self.refused("fifo", "is not a regular file")
        self.still_delivers()

    def test_a_symlink_is_refused(self):
        self.refused("link", "is a symbolic link")
        self.still_delivers()

    def test_world_writable_is_refused(self):
        self.refused("ww", "is world-writable")
        self.still_delivers()

    def still_delivers(self):
        # The queue keeps moving: a good include file still works.
        inst = self.inst
        before = len(inst.maildir("%s/demo" % inst.domain))
        inst.send_mail("a@example.org", ["incok@mail.%s" % inst.domain],
                       message("ok"))
        inst.wait_for_maildir("%s/demo" % inst.domain, before + 1)


LOCAL_USER = "correolocal"


def ensure_local_user():
    """A normal account: a login shell and a home it owns."""
    try:
        return pwd.getpwnam(LOCAL_USER)
    except KeyError:
        pass
    subprocess.run(["/usr/sbin/useradd", "--create-home", "--shell",
                    "/bin/bash", LOCAL_USER], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return pwd.getpwnam(LOCAL_USER)


class SystemAccountTest(harness.TestCase):
    def setUp(self):
        if not harness.is_root():
            self.skipTest("needs root")
        harness.require_daemons(self, "master", "smtpd")
        self.user = ensure_local_user()

    def rcpt(self, inst, address):
        r = harness.SmtpRaw(inst.smtp_port)
        try:
            r.cmd("EHLO client.example")
            r.cmd("MAIL FROM:<a@example.org>")
            return r.cmd("RCPT TO:<%s>" % address)
        finally:
            r.close()

    def start(self, config=None):
        inst = self.instance(root_mode=True, config=config)
        inst.start()
        inst.wait_for_port(inst.smtp_port)
        return inst

    def test_system_accounts_are_not_local_recipients(self):
        inst = self.start()
        for name in ("bin", "nobody", "vmail", "correo", "correo-auth"):
            code, text = self.rcpt(inst, name + "@localhost")
            self.assertEqual(code, 550, (name, text))
            self.assertIn("550 5.1.1", text)
        # A real user, and aliases to root and postmaster, still work.
        for name in (LOCAL_USER, "root", "postmaster", "abuse"):
            code, text = self.rcpt(inst, name + "@localhost")
            self.assertEqual(code, 250, (name, text))

    def test_listed_or_all(self):
        inst = self.start({"local_recipient_maps":
                           "texthash:$config_directory/local_rcpt"})
        with open(os.path.join(inst.dir, "local_rcpt"), "w") as f:
            f.write("bin x\n")
        inst.stop()
        inst.start()
        inst.wait_for_port(inst.smtp_port)
        self.assertEqual(self.rcpt(inst, "bin@localhost")[0], 250)
        self.assertEqual(self.rcpt(inst, "nobody@localhost")[0], 550)
        inst.stop()
        inst.add_config({"local_system_recipients": "all"})
        inst.start()
        inst.wait_for_port(inst.smtp_port)
        self.assertEqual(self.rcpt(inst, "nobody@localhost")[0], 250)


if __name__ == "__main__":
    harness.main()
