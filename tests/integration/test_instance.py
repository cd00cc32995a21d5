"""Integration tests of an instance's life: correo init, check, start,
status, the master's supervision (restart after a kill, reload), stop,
and, as root, privilege separation (users and chroot).

Run by "make check" (CORREO_BUILDDIR set); see harness.py."""

import os
import re
import signal
import socket
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import Instance, wait_for  # noqa: E402

# The queue tree correo init must create (DESIGN.md, common/queue.c).
QUEUE_MODES = {
    "incoming": 0o700, "active": 0o700, "deferred": 0o700, "hold": 0o700,
    "corrupt": 0o700, "maildrop": 0o1730, "private": 0o700,
    "public": 0o710, "pid": 0o755,
}

# Two echod listeners: one inet port, one unix socket (public/echo).
ECHO_SERVICES = """\
# service type private user chroot wakeup maxproc command
127.0.0.1:{port1} inet n - n - 10 echod
echo unix n - n - 10 echod
"""

TEST_CONFIG = {"service_throttle_time": "1s"}


def echo_tcp(port):
    with harness.AttrClient.tcp(port) as c:
        return harness.echo_request(c, [("request", "ping"),
                                        ("text", "a b%c\x01")])


def echo_unix(path):
    with harness.AttrClient.unix(path) as c:
        return harness.echo_request(c, [("request", "ping"),
                                        ("text", "over unix")])


class InitTest(harness.TestCase):
    def test_init_creates_tree_and_config(self):
        inst = self.instance()
        out = inst.correo_init_result.stdout
        self.assertIn("created a correo instance in " + inst.dir, out)
        self.assertIn("swaks", out)
        uid = inst.user.pw_uid if inst.user else os.getuid()
        for name, mode in QUEUE_MODES.items():
            st = os.stat(os.path.join(inst.queue, name))
            self.assertTrue(stat.S_ISDIR(st.st_mode), name)
            self.assertEqual(stat.S_IMODE(st.st_mode), mode,
                             "queue/%s mode %o" % (name, st.st_mode))
            self.assertEqual(st.st_uid, uid, "queue/%s owner" % name)
        for name in ("log", "mail", "mail/demo.test/demo/new",
                     "mail/demo.test/demo/cur", "mail/demo.test/demo/tmp"):
            self.assertTrue(os.path.isdir(os.path.join(inst.dir, name)),
                            name)
        self.assertEqual(stat.S_IMODE(os.stat(inst.mail_dir).st_mode),
                         0o700)
        with open(os.path.join(inst.dir, "correo.conf")) as f:
            conf = f.read()
        for line in ("queue_directory = $config_directory/queue",
                     "log_file = $config_directory/log/correo.log",
                     "myhostname = mail.demo.test",
                     "virtual_mailbox_domains = demo.test",
                     "virtual_mailbox_maps = hash:$config_directory/vmailbox",
                     "daemon_directory = " + os.path.join(inst.bindir,
                                                          "libexec")):
            self.assertIn(line + "\n", conf)
        with open(os.path.join(inst.dir, "services.conf")) as f:
            svcs = f.read()
        self.assertRegex(svcs, r"(?m)^127\.0\.0\.1:%d\s+inet\s.*postscreen$"
                         % inst.smtp_port)
        self.assertRegex(svcs, r"(?m)^smtpd\s+unix\s.*smtpd$")
        self.assertRegex(svcs, r"(?m)^anvil\s+unix\s.*anvil$")
        self.assertRegex(svcs, r"(?m)^qmgr\s+unix\s+-\s+-\s+n\s+300\s+1\s")
        self.assertRegex(svcs, r"(?m)^local\s+unix\s")
        with open(os.path.join(inst.dir, "vmailbox")) as f:
            self.assertIn("demo@demo.test demo.test/demo/\n", f.read())
        for db in ("vmailbox.db", "aliases.db"):
            self.assertTrue(os.path.isfile(os.path.join(inst.dir, db)), db)

    def test_init_refuses_non_empty_dir(self):
        inst = self.instance()
        r = inst.run([inst.correo_path(), "init", inst.dir])
        self.assertEqual(r.returncode, 1)
        self.assertIn("exists and is not empty", r.stderr)

    def test_init_picks_free_ports(self):
        inst = self.instance(init=False)
        r = inst.run([inst.correo_path(), "init", inst.dir,
                      "--domain", "example.test"], check=True)
        with open(os.path.join(inst.dir, "services.conf")) as f:
            m = re.search(r"(?m)^127\.0\.0\.1:(\d+)\s+inet", f.read())
        self.assertIsNotNone(m)
        port = int(m.group(1))
        self.assertEqual(port % 1000, 25)
        self.assertTrue(harness.port_is_free(port))
        self.assertIn("demo@example.test", r.stdout)

    def test_init_refuses_busy_given_ports(self):
        inst = self.instance(init=False)
        busy = socket.socket()
        busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        busy.bind(("127.0.0.1", inst.base + 995))
        busy.listen()
        try:
            r = inst.run([inst.correo_path(), "init", inst.dir,
                          "--ports", str(inst.base)])
        finally:
            busy.close()
        self.assertEqual(r.returncode, 1)
        self.assertIn("port %d on 127.0.0.1 is in use" % (inst.base + 995),
                      r.stderr)

    def test_init_makes_dir_searchable(self):
        # A directory made by mktemp or under umask 077 is 0700; the
        # daemons' users must still reach the queue and mailboxes.
        inst = self.instance(init=False)
        os.mkdir(inst.dir, 0o700)
        if inst.user is not None:
            os.chown(inst.dir, inst.user.pw_uid, inst.user.pw_gid)
        inst.run([inst.correo_path(), "init", inst.dir], check=True)
        self.assertEqual(stat.S_IMODE(os.stat(inst.dir).st_mode), 0o755)

    def test_init_usage(self):
        inst = self.instance(init=False)
        for args in ([], [inst.dir, "--ports", "x"],
                     [inst.dir, "--domain", "bad domain"],
                     [inst.dir, "--bogus"]):
            r = inst.run([inst.correo_path(), "init"] + args)
            self.assertEqual(r.returncode, 2, args)
            self.assertIn("usage: correo init", r.stderr)
        r = inst.run([inst.correo_path(), "frobnicate"])
        self.assertEqual(r.returncode, 2)
        self.assertIn('unknown command "frobnicate"', r.stderr)


    def test_config_dir_from_environment(self):
        inst = self.instance()
        correo = inst.correo_path()
        r = inst.run([correo, "status"], env={"CORREO_CONFIG_DIR": inst.dir})
        self.assertEqual(r.returncode, 1)
        self.assertIn("the correo mail system is not running", r.stdout)
        r = inst.run([correo, "status"],
                     env={"CORREO_CONFIG_DIR": inst.tmp + "/nowhere"})
        self.assertEqual(r.returncode, 1)
        self.assertIn(inst.tmp + "/nowhere/correo.conf", r.stderr)
        r = inst.run([correo, "-c", inst.dir, "status"],
                     env={"CORREO_CONFIG_DIR": inst.tmp + "/nowhere"})
        self.assertIn("not running", r.stdout)
        r = inst.run([correo, "help"])
        self.assertRuns(r)
        self.assertIn("usage: correo [-c DIR]", r.stdout)


class CheckTest(harness.TestCase):
    def test_check_passes_on_fresh_instance(self):
        harness.require_daemons(self, "master", "smtpd", "qmgr", "local")
        inst = self.instance()
        r = inst.correo("check")
        self.assertRuns(r)
        self.assertIn("no problems found", r.stdout)

    def test_fresh_instance_delivers_mail(self):
        """What correo init prints must work: start, send, read."""
        harness.require_daemons(self, "master", "smtpd", "qmgr", "local")
        inst = self.instance(config=TEST_CONFIG)
        inst.start()
        inst.wait_for_port(inst.smtp_port)
        refused = inst.send_mail("you@example.org", ["demo@demo.test"],
                                 "Subject: hello\n\nfirst mail\n")
        self.assertEqual(refused, {})
        msgs = inst.wait_for_maildir("demo.test/demo", 1)
        self.assertIn(b"first mail", msgs[0][1])
        inst.wait_for_log(r"to=<demo@demo\.test>.*status=sent")

    def test_lmdb_instance(self):
        """correo init --table-type lmdb: every table is an LMDB file,
        no Berkeley DB file anywhere; mail is delivered, and a user added
        while the instance runs (the tables rebuilt under the running
        daemons) receives mail too."""
        harness.require_daemons(self, "master", "smtpd", "qmgr", "local")
        inst = self.instance(init=False)
        inst.init(config=TEST_CONFIG, extra_args=["--table-type", "lmdb"])
        with open(os.path.join(inst.dir, "correo.conf")) as f:
            conf = f.read()
        self.assertIn("alias_maps = lmdb:", conf)
        self.assertIn("virtual_mailbox_maps = lmdb:", conf)
        self.assertIn("auth_password_maps = lmdb:", conf)
        names = os.listdir(inst.dir)
        self.assertIn("vmailbox.lmdb", names)
        self.assertIn("aliases.lmdb", names)
        self.assertEqual([n for n in names if n.endswith(".db")], [])
        r = inst.correo("check")
        self.assertRuns(r)
        inst.start()
        inst.wait_for_port(inst.smtp_port)
        refused = inst.send_mail("you@example.org", ["postmaster@demo.test"],
                                 "Subject: one\n\nvia the alias\n")
        self.assertEqual(refused, {})
        inst.wait_for_maildir("demo.test/demo", 1)
        inst.add_user("new@demo.test", "secret-pw-1")
        self.assertIn("passwd.lmdb", os.listdir(inst.dir))
        r = inst.correo("map", "-q", "new@demo.test",
                        "lmdb:" + os.path.join(inst.dir, "vmailbox"))
        self.assertRuns(r)
        refused = inst.send_mail("you@example.org", ["new@demo.test"],
                                 "Subject: two\n\nto the new user\n")
        self.assertEqual(refused, {})
        msgs = inst.wait_for_maildir("demo.test/new", 1)
        self.assertIn(b"to the new user", msgs[0][1])
        self.assertEqual([n for n in os.listdir(inst.dir)
                          if n.endswith(".db")], [])

    def test_init_rejects_unknown_table_type(self):
        inst = self.instance(init=False)
        r = inst.run([inst.correo_path(), "init", inst.dir,
                      "--table-type", "cdb"])
        self.assertEqual(r.returncode, 2)
        self.assertIn("--table-type cdb: expected hash, btree or lmdb",
                      r.stderr)

    def test_check_warns_about_agent_process_limit(self):
        # qmgr keeps up to local_destination_concurrency_limit (10)
        # connections to local open; one local process would leave the
        # others unserved.
        harness.require_daemons(self, "master", "smtpd", "qmgr", "local")
        inst = self.instance()
        path = os.path.join(inst.dir, "services.conf")
        with open(path) as f:
            rows = [re.sub(r"^(local\s+unix\s+\S+\s+\S+\s+\S+\s+\S+"
                           r"\s+)\S+", r"\g<1>1", line) for line in f]
        with open(path, "w") as f:
            f.writelines(rows)
        r = inst.correo("check")
        self.assertRuns(r)
        self.assertIn("warning: service local has a process limit of 1, "
                      "but qmgr may keep 10 connections to it "
                      "(local_destination_concurrency_limit)", r.stderr)

    def test_status_leaves_the_log_clean(self):
        # status must not probe services in a way that makes them log
        # lost connections or failed TLS handshakes.
        harness.require_daemons(self, "master", "smtpd", "qmgr", "local",
                                "pop3-login", "pop3d", "auth")
        inst = self.instance(config=TEST_CONFIG)
        inst.start()
        inst.wait_for_port(inst.smtp_port)
        # wait_for_port's own connection is logged (by postscreen);
        # let it finish.
        inst.wait_for_log(r"disconnect from|DISCONNECT \[")
        before = len(inst.log())
        r = inst.status()
        self.assertRuns(r)
        self.assertNotIn("NOT accepting", r.stdout)
        time.sleep(0.5)
        new = inst.log()[before:]
        for bad in ("warning", "error", "lost connection", "handshake",
                    "connect from"):
            self.assertNotIn(bad, new, "status left this in the log:\n"
                             + new)

    def test_check_passes_with_echod(self):
        harness.require_daemons(self, "master", "echod")
        inst = self.instance(services=ECHO_SERVICES)
        self.assertRuns(inst.correo("check"))

    def test_check_reports_queue_mode(self):
        inst = self.instance(services="# no services\n")
        active = os.path.join(inst.queue, "active")
        os.chmod(active, 0o755)
        r = inst.correo("check")
        self.assertEqual(r.returncode, 1)
        self.assertIn("queue directory %s is mode 0755, expected 0700: "
                      "chmod 700 %s" % (active, active), r.stderr)
        os.rmdir(os.path.join(inst.queue, "hold"))
        r = inst.correo("check")
        self.assertIn("queue directory %s/hold is missing" % inst.queue,
                      r.stderr)
        self.assertIn("2 problems found", r.stderr)

    def test_check_reports_missing_daemon(self):
        inst = self.instance(services="nosuch unix n - n - 1 nosuchd\n")
        r = inst.correo("check")
        self.assertEqual(r.returncode, 1)
        self.assertIn("nosuchd does not exist", r.stderr)
        r = inst.correo("start")
        self.assertEqual(r.returncode, 1)
        self.assertIn("not starting", r.stderr)

    def test_check_reports_config_error_with_line(self):
        inst = self.instance(config="max_use = many\n")
        r = inst.correo("check")
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stderr, r"correo\.conf:\d+:.*max_use")
        inst = self.instance(services="echo unix n - n - 10\n")
        r = inst.correo("check")
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stderr, r"services\.conf:1:")


class RunTest(harness.TestCase):
    def setUp(self):
        harness.require_daemons(self, "master", "echod")
        self.inst = self.instance(services=ECHO_SERVICES, config=TEST_CONFIG)

    def start(self):
        inst = self.inst
        r = inst.start()
        self.assertIn("starting the correo mail system", r.stdout)
        inst.wait_for_port(inst.port(1))
        inst.wait_for_unix("echo", private=False)

    def echod_pids(self):
        return {p["pid"] for p in self.inst.children("echod")}

    def test_start_status_stop(self):
        inst = self.inst
        self.start()
        pid = inst.master_pid()
        self.assertIsNotNone(pid)
        r = inst.status()
        self.assertRuns(r)
        self.assertIn("the correo mail system is running: PID: %d" % pid,
                      r.stdout)
        self.assertRegex(r.stdout, r"service 127\.0\.0\.1:%d .*echod.*: "
                         r"accepting connections" % inst.port(1))
        self.assertRegex(r.stdout, r"service echo \(unix public/echo, "
                         r"echod\): accepting connections")
        r = inst.start(check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("already running: PID: %d" % pid, r.stderr)
        self.assertEqual(inst.master_pid(), pid)
        r = inst.stop()
        self.assertIn("stopping the correo mail system", r.stdout)
        wait_for(lambda: not inst.processes(), 10,
                 what="every process of the instance to exit")
        r = inst.status()
        self.assertEqual(r.returncode, 1)
        self.assertIn("the correo mail system is not running", r.stdout)
        r = inst.stop(check=False)
        self.assertEqual(r.returncode, 1)

    def test_echo_round_trip(self):
        self.start()
        reply = echo_tcp(self.inst.port(1))
        self.assertIn(("request", "ping"), reply)
        self.assertIn(("text", "a b%c\x01"), reply)
        reply = echo_unix(self.inst.unix_socket("echo", private=False))
        self.assertIn(("text", "over unix"), reply)

    def test_killed_child_is_replaced(self):
        inst = self.inst
        self.start()
        echo_tcp(inst.port(1))
        before = wait_for(self.echod_pids, what="an echod process")
        victim = min(before)
        os.kill(victim, signal.SIGKILL)
        inst.wait_for_log(r"pid %d killed by signal 9" % victim)

        def new_child():
            try:
                echo_tcp(inst.port(1))
                echo_unix(inst.unix_socket("echo", private=False))
            except OSError:
                return None
            return self.echod_pids() - before

        wait_for(new_child, 15, what="a new echod process")
        self.assertNotIn(victim, self.echod_pids())

    def test_reload_adds_a_port(self):
        inst = self.inst
        self.start()
        master = inst.master_pid()
        inst.set_services(ECHO_SERVICES +
                          "127.0.0.1:{port2} inet n - n - 10 echod\n")
        r = inst.reload()
        self.assertIn("refreshing the correo mail system", r.stdout)
        inst.wait_for_port(inst.port(2))
        self.assertIn(("request", "ping"), echo_tcp(inst.port(2)))
        self.assertIn(("request", "ping"), echo_tcp(inst.port(1)))
        self.assertEqual(inst.master_pid(), master)

    def test_start_failure_shows_why(self):
        inst = self.inst
        fake = os.path.join(inst.tmp, "fakebin")
        os.mkdir(fake)
        with open(os.path.join(fake, "master"), "w") as f:
            f.write("#!/bin/sh\necho 'master: cannot bind: boom' >&2\n"
                    "exit 1\n")
        os.chmod(os.path.join(fake, "master"), 0o755)
        os.symlink(harness.libexec("echod"), os.path.join(fake, "echod"))
        inst.add_config({"daemon_directory": fake})
        r = inst.start(check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("did not start", r.stderr)
        self.assertIn("master: cannot bind: boom", r.stderr)


class RootModeTest(harness.TestCase):
    """master started by root: users switch and chroot happens."""

    def setUp(self):
        if not harness.is_root():
            self.skipTest("needs root")
        harness.require_daemons(self, "master", "echod")

    def test_users_and_chroot(self):
        inst = self.instance(root_mode=True, config=TEST_CONFIG, services="""\
127.0.0.1:{port1} inet n nobody n - 10 echod
127.0.0.1:{port2} inet n - y - 10 echod
""")
        r = inst.correo("check")
        self.assertRuns(r)
        inst.start()
        for n in (1, 2):
            inst.wait_for_port(inst.port(n))
            try:
                echo_tcp(inst.port(n))
            except OSError as e:
                self.fail("echo on port %d: %s%s" % (inst.port(n), e,
                                                     inst.log_tail()))
        master = inst.master_pid()
        self.assertEqual(harness.proc_info(master)["user"], "root")
        svc1 = "127.0.0.1:%d" % inst.port(1)
        svc2 = "127.0.0.1:%d" % inst.port(2)
        # service -> (user, root directory) every child must end up with.
        want = {svc1: ("nobody", "/"),
                svc2: ("correo", os.path.realpath(inst.queue))}
        last = {}

        def settled():
            # A child that master just forked is still root and not yet
            # chrooted: wait until every child has finished its setup.
            last.clear()
            for p in inst.children("echod"):
                if not p["argv"]:
                    continue  # exiting (a zombie has no command line)
                service = [s for s in want if s in p["argv"]]
                self.assertEqual(len(service), 1, p["argv"])
                ps = subprocess.run(["ps", "-o", "user=,comm=", "-p",
                                     str(p["pid"])], stdout=subprocess.PIPE,
                                    text=True).stdout.split()
                last.setdefault(service[0], []).append((ps, p["root"]))
            return set(last) == set(want) and all(
                ps == [want[s][0], "echod"] and root == want[s][1]
                for s in last for ps, root in last[s])

        try:
            wait_for(settled, 10, what="echod children as configured")
        except AssertionError:
            self.fail("want %r, have %r" % (want, last))
        inst.stop()
        wait_for(lambda: not inst.processes(), 10,
                 what="every process of the instance to exit")


if __name__ == "__main__":
    harness.main()
