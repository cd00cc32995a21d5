#!/usr/bin/env python3
"""test_sandbox: every daemon runs sandboxed (common/util/sandbox.c).

Checked through /proc/PID/status of a real instance: in root mode every
process (master included) has NoNewPrivs 1 and a seccomp filter
(Seccomp 2); local and pop3d, the root processes that only switch users,
keep just CAP_SETUID and CAP_SETGID (CapEff, CapPrm and CapBnd 0xc0);
the POP3 mail process and the unprivileged daemons keep nothing; the
secret holders are not dumpable. And a forbidden call after init kills
the daemon with SIGSYS, which master logs; "sandbox = no" turns that
off (the test daemon echod makes the call on request: "forbidden=yes").
"""

import imaplib
import os
import poplib
import re
import subprocess
import time

import harness
from harness import AttrClient, wait_for

PASSWORD = "sandbox secret 7"
USER = "bob@demo.test"
SETID_CAPS = "00000000000000c0"     # CAP_SETGID (6) | CAP_SETUID (7)
NO_CAPS = "0000000000000000"
FAST = {"service_throttle_time": "1s", "max_idle": "60s"}


def proc_status(pid):
    """The fields of /proc/PID/status as a dict; None if it is gone."""
    try:
        with open("/proc/%d/status" % pid) as f:
            text = f.read()
    except OSError:
        return None
    out = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        out[key] = value.strip()
    return out


def program(p):
    return os.path.basename(p["argv"][0]) if p["argv"] else p["comm"]


class SandboxTest(harness.TestCase):

    def test_root_mode_every_daemon_sandboxed(self):
        if not harness.is_root():
            self.skipTest("needs root")
        harness.require_daemons(self, "master", "smtpd", "qmgr", "local",
                                "pop3d", "pop3-login", "auth")
        subprocess.run(["/usr/sbin/useradd", "--system", "--no-create-home",
                        "--home-dir", "/nonexistent", "--shell",
                        "/usr/sbin/nologin", "correo-login"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # No daemon exits during the test (an exiting one is briefly
        # traced by LeakSanitizer's helper in sanitizer builds).
        inst = self.instance(root_mode=True, config=dict(
            FAST, max_idle="600s", pop3_disable_plaintext_auth="no",
            auth_failure_delay="10ms", auth_failure_delay_max="20ms"))
        r = subprocess.run([inst.correo_path(), "-c", inst.dir, "user",
                            "add", USER, "--password-stdin"],
                           input=PASSWORD + "\n", text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.assertEqual(r.returncode, 0, r.stderr)
        inst.start()
        # Mail in (smtpd, qmgr, local, pickup) and a POP3 session held
        # open (pop3-login, pop3d, auth, the mail process).
        inst.send_mail("alice@example.org", [USER],
                       "Subject: sandboxed\n\nhello\n")
        inst.wait_for_maildir("demo.test/bob", 1)
        pop = poplib.POP3("127.0.0.1", inst.port(110), timeout=10)
        imap = imaplib.IMAP4("127.0.0.1", inst.port(143), timeout=10)
        try:
            pop.user(USER)
            pop.pass_(PASSWORD)
            self.assertEqual(pop.stat()[0], 1)
            # An IMAP session too (imap-login, the imapd spawner and its
            # mail process), idle in IDLE-less SELECTed state.
            imap.login(USER, PASSWORD)
            self.assertEqual(imap.select("INBOX")[0], "OK")
            self.check_processes(inst)
        finally:
            pop.quit()
            imap.logout()

    def check_processes(self, inst):
        owner = os.stat(os.path.join(inst.mail_dir, "demo.test",
                                     "bob")).st_uid
        master = inst.master_pid()
        seen = set()
        before = {p["pid"] for p in inst.processes()}
        time.sleep(0.5)
        for p in inst.processes():
            st = proc_status(p["pid"])
            # Only what lived through both looks and is not exiting.
            if (st is None or p["pid"] not in before or
                    st["TracerPid"] != "0" or st["State"][0] in "ZX"):
                continue
            name = "master" if p["pid"] == master else program(p)
            what = "%s pid %d uid %d" % (name, p["pid"], p["uid"])
            seen.add(name if p["uid"] != owner else name + " (owner)")
            self.assertEqual(st["NoNewPrivs"], "1", what)
            self.assertEqual(st["Seccomp"], "2", what)
            if name == "master":
                continue
            if p["uid"] == 0:
                # Only the user switchers stay root, and barely.
                self.assertIn(name, ("local", "pop3d", "imapd"), what)
                self.assertEqual(st["CapEff"], SETID_CAPS, what)
                self.assertEqual(st["CapPrm"], SETID_CAPS, what)
                self.assertEqual(st["CapBnd"], SETID_CAPS, what)
                self.assertEqual(st["CapInh"], NO_CAPS, what)
            else:
                self.assertEqual(st["CapEff"], NO_CAPS, what)
                self.assertEqual(st["CapPrm"], NO_CAPS, what)
            if name in ("smtpd", "pop3-login", "pop3d", "auth",
                        "imap-login", "imapd"):
                # Not dumpable: the files in /proc/PID belong to root.
                self.assertEqual(
                    os.stat("/proc/%d/environ" % p["pid"]).st_uid, 0, what)
        for name in ("master", "smtpd", "qmgr", "pickup", "local",
                     "auth", "pop3-login", "pop3d", "pop3d (owner)",
                     "imap-login", "imapd", "imapd (owner)", "anvil",
                     "postscreen"):
            self.assertIn(name, seen)

    def echo_forbidden(self, inst):
        """Ask an echod for the forbidden call; its reply, or None when
        the connection died with it."""
        path = inst.wait_for_unix("echo", private=False)
        with AttrClient.unix(path) as c:
            c.hello("echo")
            try:
                return c.request(dict(request="echo", forbidden="yes"))
            except ConnectionResetError:
                return None

    def test_forbidden_call_kills_and_master_logs_it(self):
        harness.require_daemons(self, "master", "echod")
        inst = self.instance(config=FAST, services=(
            "echo unix n - n - 2 echod\n"))
        inst.start()
        self.assertIsNone(self.echo_forbidden(inst))
        inst.wait_for_log(r"master\[\d+\]: .*echod pid \d+ killed by "
                          r"signal (31|SIGSYS)")
        self.assertNotIn("sandbox not in force", inst.log())
        # The service lives on: master replaced the child.
        path = inst.wait_for_unix("echo", private=False)
        with AttrClient.unix(path) as c:
            reply = dict(harness.echo_request(c, dict(request="echo")))
        self.assertEqual(reply["status"], "ok")

    def test_sandbox_no_turns_it_off(self):
        harness.require_daemons(self, "master", "echod")
        inst = self.instance(config=dict(FAST, sandbox="no"), services=(
            "echo unix n - n - 2 echod\n"))
        inst.start()
        reply = self.echo_forbidden(inst)
        self.assertIsNotNone(reply)
        self.assertEqual(dict(reply)["status"], "ok")
        inst.wait_for_log(r"echod\[\d+\]: warning: forbidden open "
                          r"returned \d+: sandbox not in force")
        pid = int(dict(reply)["pid"])
        st = proc_status(pid)
        self.assertEqual(st["NoNewPrivs"], "1")
        self.assertEqual(st["Seccomp"], "0")
        self.assertNotRegex(inst.log(), r"killed by signal (31|SIGSYS)")


if __name__ == "__main__":
    harness.main()
