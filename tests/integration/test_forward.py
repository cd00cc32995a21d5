#!/usr/bin/env python3
"""~/.forward for system accounts (local(8) as root).

Two real accounts with homes the mail owner cannot enter (0700), so the
file is necessarily read as its owner. A .forward keeps a copy
("\\user"), sends one on (with Delivered-To, so a loop between two
.forward files bounces), runs a |command as the user; a .forward that is
group writable, a symlink, or someone else's defers the mail until it
is fixed; |commands follow allow_mail_to_commands' "forward".
"""
import glob
import os
import pwd
import subprocess
import time

import harness
from harness import Instance, wait_for

USERS = ("correofwda", "correofwdb")
CONFIG = {
    "home_mailbox": "Maildir/",
    "queue_run_delay": "1s",
    "minimal_backoff_time": "2s",
    "maximal_backoff_time": "4s",
}


def ensure_user(name):
    try:
        pw = pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["/usr/sbin/useradd", "--create-home", "--shell",
                        "/bin/bash", name], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        pw = pwd.getpwnam(name)
    os.chmod(pw.pw_dir, 0o700)
    for junk in (".forward", "Maildir", "out"):
        path = os.path.join(pw.pw_dir, junk)
        if os.path.islink(path) or os.path.isfile(path):
            os.unlink(path)
        elif os.path.isdir(path):
            subprocess.run(["rm", "-rf", path], check=True)
    return pw


def messages(pw):
    return sorted(glob.glob(os.path.join(pw.pw_dir, "Maildir", "new", "*")))


def write_forward(pw, text, mode=0o644, owner=None):
    path = os.path.join(pw.pw_dir, ".forward")
    with open(path, "w") as f:
        f.write(text)
    uid = owner.pw_uid if owner is not None else pw.pw_uid
    os.chown(path, uid, pw.pw_gid)
    os.chmod(path, mode)
    return path


class ForwardTest(harness.TestCase):
    def setUp(self):
        if not harness.is_root():
            self.skipTest("needs root")
        harness.require_daemons(self, "master", "smtpd", "qmgr", "local")
        self.a, self.b = [ensure_user(u) for u in USERS]

    def start(self, config=None):
        conf = dict(CONFIG)
        conf.update(config or {})
        inst = self.instance(root_mode=True, config=conf)
        inst.start()
        inst.wait_for_port(inst.smtp_port)
        return inst

    def send(self, inst, user, subject):
        inst.send_mail("sender@example.org", ["%s@localhost" % user],
                       "From: sender@example.org\nSubject: %s\n\nbody\n"
                       % subject)

    def test_keep_forward_and_command(self):
        inst = self.start()
        out = os.path.join(self.a.pw_dir, "out")
        write_forward(self.a, "# a comment\n\\%s, %s\n\"|cat > %s\"\n" % (
            USERS[0], USERS[1], out))
        self.send(inst, USERS[0], "one")
        got_a = wait_for(lambda: messages(self.a), 20,
                         what="a's own copy" + inst.log_tail())
        got_b = wait_for(lambda: messages(self.b), 20,
                         what="b's forwarded copy" + inst.log_tail())
        wait_for(lambda: os.path.exists(out) and os.path.getsize(out) > 0,
                 20, what="the command's output")
        self.assertEqual(len(got_a), 1)
        self.assertEqual(len(got_b), 1)
        with open(got_b[0]) as f:
            text = f.read()
        # The forwarded copy names a, then b (the loop check's trail).
        self.assertIn("Delivered-To: %s@localhost" % USERS[0], text)
        self.assertIn("Delivered-To: %s@localhost" % USERS[1], text)
        self.assertIn("Subject: one", text)
        # The command ran as a, not root and not default_privs.
        self.assertEqual(os.stat(out).st_uid, self.a.pw_uid)
        with open(out) as f:
            self.assertIn("Subject: one", f.read())
        inst.wait_for_log(r"forwarded as \w+ to 1 address")

    def test_worker_holds_a_copy_never_the_queue_file(self):
        """Queue files are reused for later messages (queue_spare.c),
        so the owner's worker gets a sealed memfd copy of the content:
        while a |command runs, its descriptors name no queue file."""
        inst = self.start()
        write_forward(self.a, "\"|sleep 4\"\n")
        self.send(inst, USERS[0], "held")

        def worker_fds():
            for p in inst.processes():
                if p["uid"] != self.a.pw_uid or p["comm"] in ("sleep",
                                                              "sh"):
                    continue
                links = []
                d = "/proc/%d/fd" % p["pid"]
                try:
                    for n in os.listdir(d):
                        links.append(os.readlink(os.path.join(d, n)))
                except OSError:
                    continue
                if any(x.startswith("/memfd:") for x in links):
                    return links
            return None
        links = wait_for(worker_fds, 20, what="a worker in a delivery" +
                         inst.log_tail())
        self.assertIn("/memfd:correo-message (deleted)", links)
        queue = os.path.realpath(inst.queue)
        for x in links:
            for sub in ("incoming", "active", "deferred", "hold"):
                self.assertFalse(x.startswith(os.path.join(queue, sub)),
                                 links)

    def test_loop_between_two_forwards_bounces(self):
        inst = self.start()
        write_forward(self.a, USERS[1] + "\n")
        write_forward(self.b, USERS[0] + "\n")
        self.send(inst, USERS[0], "loop")
        inst.wait_for_log(r"status=bounced \(mail forwarding loop for "
                          + USERS[0], timeout=30)
        self.assertEqual(messages(self.a), [])
        self.assertEqual(messages(self.b), [])

    def test_unsafe_forward_defers_until_fixed(self):
        inst = self.start()
        path = write_forward(self.a, USERS[1] + "\n", mode=0o664)
        self.send(inst, USERS[0], "gw")
        inst.wait_for_log(r"status=deferred \(mail system configuration "
                          r"error: .*\.forward is group or world writable")
        # Someone else's file (not root's) is refused too.
        write_forward(self.a, USERS[1] + "\n", owner=self.b)
        inst.wait_for_log(r"\.forward is not owned by the user or root",
                          timeout=30)
        # A symlink (to a file a owns) is never followed.
        real = os.path.join(self.a.pw_dir, "real-forward")
        os.unlink(path)
        with open(real, "w") as f:
            f.write(USERS[1] + "\n")
        os.chown(real, self.a.pw_uid, self.a.pw_gid)
        os.symlink(real, path)
        inst.wait_for_log(r"\.forward is a symbolic link", timeout=30)
        self.assertEqual(messages(self.a), [])
        self.assertEqual(messages(self.b), [])
        # Fixed: the mail goes out to b on the next try.
        os.unlink(path)
        os.unlink(real)
        write_forward(self.a, USERS[1] + "\n", mode=0o600)
        wait_for(lambda: messages(self.b), 30,
                 what="b's copy after the fix" + inst.log_tail())
        self.assertEqual(messages(self.a), [])

    def test_commands_follow_allow_mail_to_commands(self):
        inst = self.start({"allow_mail_to_commands": "alias"})
        out = os.path.join(self.a.pw_dir, "out")
        write_forward(self.a, "\"|cat > %s\"\n" % out)
        self.send(inst, USERS[0], "cmd")
        inst.wait_for_log(r"status=bounced \(mail to command is restricted")
        self.assertFalse(os.path.exists(out))

    def test_no_forward_means_mailbox(self):
        inst = self.start()
        self.send(inst, USERS[0], "plain")
        got = wait_for(lambda: messages(self.a), 20,
                       what="a's mailbox" + inst.log_tail())
        self.assertEqual(len(got), 1)
        # An empty .forward (comments only) changes nothing either.
        write_forward(self.a, "# nothing\n")
        self.send(inst, USERS[0], "plain2")
        wait_for(lambda: len(messages(self.a)) == 2, 20,
                 what="a's second message" + inst.log_tail())


if __name__ == "__main__":
    harness.main()
