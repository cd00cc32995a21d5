"""test_master_security: what master does against its own children and
against the users it hands directories to (issue 8, findings 3 and 4,
and the environment allowlist).

Checked: a service's child that writes forged IDLE reports about
another service's children onto its status pipe neither stops master
from growing that service's pool nor goes unnoticed (each service has its
own pipe); a child killed by a signal is logged with the signal's name;
no daemon (nor master) keeps a variable of the environment correo was
started with unless import_environment lets it through; in root mode,
symlinks planted where master creates or chowns a directory or a socket
are not followed, and sockets are made with $mail_owner's ids and the
right mode from the start.
"""

import os
import pwd
import re
import signal
import socket
import stat
import sys
import time

import harness
from harness import AttrClient, wait_for

FAST = {"service_throttle_time": "2s", "max_idle": "30s"}

# A service program that lies: every 20 ms it reports IDLE, on the status
# fd master gave it (fd 3, server.h), for every other child of master.
# struct server_status_msg is { int pid; int code; }, IDLE is 1.
FORGER = """\
#!{python}
import os, struct, time
me, master = os.getpid(), os.getppid()

def siblings():
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == me:
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                stat = f.read()
        except OSError:
            continue
        if int(stat[stat.rindex(")") + 2:].split()[1]) == master:
            yield int(name)

while os.getppid() == master:
    for pid in siblings():
        os.write(3, struct.pack("ii", pid, 1))
    time.sleep(0.02)
"""


def system_python():
    """A python3 the instance's user can run (the harness's own may live
    under /root)."""
    for path in ("/usr/bin/python3", "/usr/local/bin/python3"):
        if os.access(path, os.X_OK):
            return path
    return sys.executable

SECRET = "CORREO_TEST_SECRET"


def environ_of(pid):
    """The environment pid was exec'd with, as a dict (None if gone)."""
    try:
        with open("/proc/%d/environ" % pid, "rb") as f:
            data = f.read()
    except OSError:
        return None
    out = {}
    for item in data.split(b"\0"):
        if item:
            name, _, value = item.decode(errors="replace").partition("=")
            out[name] = value
    return out


class MasterSecurityTest(harness.TestCase):

    def setUp(self):
        harness.require_daemons(self, "master", "echod")

    def started(self, services, config=FAST, **kw):
        inst = self.instance(services=services, config=config, **kw)
        inst.start()
        inst.wait_for_log(r"master\[\d+\]: daemon started")
        return inst

    def start_with_env(self, inst, env):
        inst.run([inst.correo_path(), "-c", inst.dir, "start"], env=env,
                 check=True)
        inst.wait_for_log(r"master\[\d+\]: daemon started")

    # -- status pipes (finding 4) --

    def test_forged_status_reports_do_not_starve_another_service(self):
        inst = self.instance(config=FAST, init=True)
        forger = os.path.join(inst.dir, "forger.py")
        with open(forger, "w") as f:
            f.write(FORGER.replace("{python}", system_python()))
        os.chmod(forger, 0o755)
        inst.set_services("forger unix - - n - 1 %s\n"
                          "127.0.0.1:{port1} inet n - n - 3 echod\n"
                          % forger)
        inst.start()
        port = inst.port(1)
        inst.wait_for_port(port)
        wait_for(lambda: [p for p in inst.children()
                          if forger in " ".join(p["argv"])],
                 what="the forging service")
        # Each client holds its echod busy until it closes.
        clients = []
        self.addCleanup(lambda: [c.close() for c in clients])
        clients.append(AttrClient.tcp(port))
        clients[0].hello("echo")
        wait_for(lambda: len(inst.children("echod")) >= 2,
                 what="a second echod once the first is busy")
        # Time for the forger to call the busy child idle; on a shared
        # status pipe master then believes it has a spare child.
        time.sleep(0.5)
        clients.append(AttrClient.tcp(port))
        clients[1].hello("echo")
        time.sleep(0.5)
        # A third client needs a third child, which master starts only if
        # it did not believe the forgery.
        clients.append(AttrClient.tcp(port, timeout=5))
        try:
            clients[2].hello("echo")
        except socket.timeout:
            self.fail("the third client got no child: master believed "
                      "another service's forged IDLE reports"
                      + inst.log_tail())
        self.assertEqual(len(inst.children("echod")), 3)
        inst.wait_for_log(r"master\[\d+\]: warning: service forger: "
                          r"status report for pid \d+, which is not a "
                          r"child of this service; ignored")

    # -- exit logging --

    def test_signal_death_is_logged_with_its_name(self):
        inst = self.started("echo unix - - n - 2 echod\n")
        pid = wait_for(lambda: inst.children("echod"),
                       what="an echod")[0]["pid"]
        os.kill(pid, signal.SIGSYS)
        inst.wait_for_log(r"master\[\d+\]: warning: process \S+/echod pid "
                          r"%d killed by signal %d \(SIGSYS\)"
                          % (pid, signal.SIGSYS))

    # -- the environment --

    def exec_environments(self, inst):
        """(pid, argv, environment) of master and of every child that
        has exec'd its program (a child forked by master but not yet
        exec'd still has master's image and is left out)."""
        master = inst.master_pid()
        try:
            master_exe = os.readlink("/proc/%d/exe" % master)
        except OSError:
            master_exe = None
        out = []
        for p in inst.processes():
            env = environ_of(p["pid"])
            if env is None:
                continue
            try:
                exe = os.readlink("/proc/%d/exe" % p["pid"])
            except OSError:
                continue
            if p["pid"] != master and exe == master_exe:
                continue    # forked by master, not yet exec'd
            out.append((p["pid"], p["argv"], env))
        return out

    def assert_clean_environments(self, inst, expect_children=2):
        # Right after a start or reload a child may be between fork and
        # exec: ask again until master and its children have all run.
        procs = wait_for(lambda: (lambda p: p if len(p) > expect_children
                                  else None)(self.exec_environments(inst)),
                         what="master and its exec'd children")
        master = inst.master_pid()
        for pid, argv, env in procs:
            self.assertNotIn(SECRET, env, "%s (pid %d) has the secret"
                             % (argv[:1], pid))
            self.assertNotIn("HOME", env)
            self.assertEqual(env.get("TZ"), "UTC", argv[:1])
            self.assertEqual(env.get("LANG"), "C", argv[:1])
            if pid != master:
                self.assertIn("CORREO_LISTEN_FDS", env)

    def test_environment_is_reduced_to_the_allowlist(self):
        inst = self.instance(services="echo unix - - n - 2 echod\n"
                             "127.0.0.1:{port1} inet n - n - 2 echod\n",
                             config=FAST)
        self.start_with_env(inst, {SECRET: "hunter2", "TZ": "UTC",
                                   "LANG": "de_DE.UTF-8",
                                   "HOME": "/root"})
        self.assert_clean_environments(inst)
        # A reload starts new children: they get the same.
        inst.reload()
        inst.wait_for_log(r"master\[\d+\]: reload")
        self.assert_clean_environments(inst)

    def test_import_environment_setting(self):
        inst = self.instance(services="echo unix - - n - 2 echod\n",
                             config=dict(FAST, import_environment=(
                                 "KEEP_ME, FIXED=value")))
        self.start_with_env(inst, {"KEEP_ME": "kept", "TZ": "UTC",
                                   SECRET: "x"})
        child = wait_for(lambda: inst.children("echod"),
                         what="an echod")[0]
        env = environ_of(child["pid"])
        self.assertEqual(env.get("KEEP_ME"), "kept")
        self.assertEqual(env.get("FIXED"), "value")
        self.assertNotIn("TZ", env)
        self.assertNotIn(SECRET, env)

    def test_bad_import_environment_is_refused(self):
        inst = self.instance(services="echo unix - - n - 2 echod\n",
                             config=dict(FAST, import_environment="1BAD"))
        r = inst.start(check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn('import_environment: "1BAD" is not a variable name',
                      r.stderr + r.stdout + inst.log())
        self.assertIsNone(inst.master_pid())

    # -- root mode: the environment and symlinks (finding 3) --

    def root_instance(self, services):
        if not harness.is_root():
            self.skipTest("needs root")
        inst = self.instance(root_mode=True, config=FAST, services=services)
        return inst, pwd.getpwnam("correo")

    def test_root_mode_environment_and_socket_owners(self):
        inst, owner = self.root_instance(
            "jail unix - - y - 2 echod\n"
            "pub unix n - n - 2 echod\n"
            "nobodys unix - nobody n - 2 echod\n")
        self.start_with_env(inst, {SECRET: "hunter2", "TZ": "UTC"})
        wait_for(lambda: len(inst.children("echod")) >= 3,
                 what="three echods")
        self.assert_clean_environments(inst)
        # Created as $mail_owner with the final mode, never chowned.
        for name, private, mode in (("jail", True, 0o600),
                                    ("nobodys", True, 0o600),
                                    ("pub", False, 0o666)):
            st = os.lstat(inst.unix_socket(name, private))
            self.assertTrue(stat.S_ISSOCK(st.st_mode))
            self.assertEqual((st.st_uid, st.st_gid, st.st_mode & 0o777),
                             (owner.pw_uid, owner.pw_gid, mode), name)

    def planted(self, where, make_victim):
        """A root-mode instance with where (relative to the queue)
        replaced by a symlink to a root-owned victim; start it and
        return (instance, start result, victim path, victim stat)."""
        inst, owner = self.root_instance("echo unix - - n - 2 echod\n")
        victim = os.path.join(inst.tmp, "victim")
        make_victim(victim)
        before = os.lstat(victim)
        path = os.path.join(inst.queue, where)
        if os.path.isdir(path):
            os.rmdir(path)
        os.symlink(victim, path)
        # master itself, not "correo start": its "correo check" would
        # refuse some of these before master runs, but only at that
        # moment; master must hold on its own.
        r = inst.run([os.path.join(inst.bindir, "libexec", "master"),
                      "-c", inst.dir])
        return inst, r, victim, before

    def assert_untouched(self, victim, before, inst):
        after = os.lstat(victim)
        self.assertEqual((after.st_uid, after.st_gid, after.st_mode),
                         (before.st_uid, before.st_gid, before.st_mode),
                         "master changed %s%s" % (victim, inst.log_tail()))
        if stat.S_ISDIR(after.st_mode):
            self.assertEqual(os.listdir(victim), [],
                             "master wrote into %s" % victim)

    def test_root_mode_symlinked_queue_dirs_are_not_followed(self):
        def victim_dir(path):
            os.mkdir(path, 0o755)
        for where in ("private", "public", "pid"):
            with self.subTest(where=where):
                inst, r, victim, before = self.planted(where, victim_dir)
                self.assert_untouched(victim, before, inst)
                self.assertNotEqual(r.returncode, 0)
                self.assertRegex(r.stdout + r.stderr + inst.log(),
                                 r"%s/%s: .*refusing to follow it"
                                 % (re.escape(inst.queue), where))
                inst.cleanup()

    def test_root_mode_symlink_at_socket_path_is_not_followed(self):
        def victim_file(path):
            with open(path, "w") as f:
                f.write("precious\n")
            os.chmod(path, 0o644)
        inst, r, victim, before = self.planted("private/echo", victim_file)
        self.assert_untouched(victim, before, inst)
        with open(victim) as f:
            self.assertEqual(f.read(), "precious\n")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("%s/private/echo exists and is not a socket"
                      % inst.queue, r.stdout + r.stderr + inst.log())


if __name__ == "__main__":
    harness.main()
