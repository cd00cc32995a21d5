#!/usr/bin/env python3
"""What a distribution installs agrees with the code (issue 12).

- correo --help, correo COMMAND --help and correo help COMMAND for every
  command, each command in correo(8), the exit codes;
- the man pages: every correo page another page or the README names
  exists and is installed, and no daemon page takes a name another MTA
  uses (smtpd.8, qmgr.8...);
- systemd: the sysusers.d file creates every account the configuration
  names, the tmpfiles.d file the queue tree "correo init" makes (modes
  and owners), systemd-analyze verify accepts the unit, and "correo
  start-fg" is master itself in the foreground (the unit's ExecStart),
  stopped cleanly by SIGTERM.

The Debian package itself is checked by scripts/deb-check (slow: a fresh
Debian root), not here. Run by "make check"; see harness.py."""

import grp
import os
import pwd
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import Instance, wait_for  # noqa: E402

BUILD = harness.BUILDDIR
SRC = harness.SRCDIR
CORREO = os.path.join(BUILD, "correo")
MAN = os.path.join(SRC, "doc", "man")

# Daemon pages other MTAs install (Postfix, OpenSMTPD, Dovecot...).
FOREIGN_NAMES = {"smtpd.8", "qmgr.8", "local.8", "smtp.8", "pickup.8",
                 "auth.8", "anvil.8", "postscreen.8", "master.8",
                 "lmtp.8", "pop3d.8", "imapd.8"}


def run(*args, **kw):
    return subprocess.run(list(args), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=60,
                          **kw)


def commands():
    """The command names "correo help" lists."""
    out = run(CORREO, "help").stdout
    listed = out.split("commands:\n", 1)[1].split("DIR defaults", 1)[0]
    return [line.split()[0] for line in listed.splitlines() if line.strip()]


def config_defaults(*keys):
    out = run(CORREO, "config", "-d", *keys).stdout
    return dict(line.split(" = ", 1) for line in out.splitlines()
                if " = " in line)


class HelpTest(unittest.TestCase):
    def test_every_command_has_help(self):
        names = commands()
        self.assertGreater(len(names), 12)
        with open(os.path.join(MAN, "correo.8")) as f:
            page = f.read()
        for name in names:
            for args in ([name, "--help"], [name, "-h"], ["help", name]):
                r = run(CORREO, *args)
                self.assertEqual(r.returncode, 0, "%s: %s" % (args, r.stderr))
                self.assertTrue(r.stdout.startswith(
                    "usage: correo [-c DIR] " + name), r.stdout)
                self.assertIn("Exit status", r.stdout)
            # Documented under COMMANDS: ".B name", ".BI "name ..." etc.
            pattern = r"\\?-".join(re.escape(w) for w in name.split("-"))
            self.assertTrue(re.search(r'(?m)^\.B[IR]? "?%s(\s|"|\\|$)'
                                      % pattern, page),
                            "%s is not in correo(8)" % name)
        self.assertIn(".SH EXIT STATUS", page)

    def test_global_help_and_usage_errors(self):
        for args in (["--help"], ["-h"], ["help"]):
            r = run(CORREO, *args)
            self.assertEqual(r.returncode, 0, args)
            self.assertIn("correo COMMAND --help", r.stdout)
        self.assertEqual(run(CORREO).returncode, 2)
        self.assertEqual(run(CORREO, "nosuch").returncode, 2)
        self.assertEqual(run(CORREO, "help", "nosuch").returncode, 2)
        self.assertEqual(run(CORREO, "-c", "/nonexistent", "check",
                             "extra").returncode, 2)
        self.assertEqual(run(CORREO, "-c", "/nonexistent",
                             "check").returncode, 1)


class ManTest(unittest.TestCase):
    REF = [re.compile(r'(?m)^\.BR\s+"?([\w.\\-]+)"?\s+\((\d)\)'),
           re.compile(r'\\fB([\w.\\-]+)\\f[PR]\((\d)\)'),
           re.compile(r'`([\w.-]+)\((\d)\)`')]

    def ours(self, name):
        return name.startswith("correo") or name in (
            "sendmail", "mailq", "newaliases", "services.conf")

    def test_references_resolve(self):
        files = [os.path.join(MAN, n) for n in os.listdir(MAN)]
        files.append(os.path.join(SRC, "README.md"))
        missing = []
        for path in files:
            with open(path) as f:
                text = f.read()
            for rx in self.REF:
                for name, sec in rx.findall(text):
                    name = name.replace("\\-", "-")
                    if self.ours(name) and not os.path.exists(
                            os.path.join(MAN, "%s.%s" % (name, sec))):
                        missing.append("%s: %s(%s)"
                                       % (os.path.basename(path), name, sec))
        self.assertEqual(missing, [])

    def test_names_and_install_list(self):
        pages = sorted(os.listdir(MAN))
        self.assertEqual([p for p in pages if p in FOREIGN_NAMES], [])
        for p in pages:
            if p.endswith(".8"):
                self.assertTrue(p.startswith("correo"), p)
        with open(os.path.join(SRC, "doc", "Makefile.inc")) as f:
            installed = set(re.findall(r"doc/man/(\S+)", f.read()))
        self.assertEqual(sorted(installed), pages)


def need(*programs):
    for p in programs:
        if shutil.which(p) is None:
            raise unittest.SkipTest("%s not installed (package systemd)" % p)


class SystemdTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="correo-pkg-test-")
        os.makedirs(os.path.join(self.tmp, "etc"))

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def sysusers(self):
        """Run the sysusers.d file into self.tmp; {user: (uid, gid)},
        {group: gid}."""
        need("systemd-sysusers")
        r = run("systemd-sysusers", "--root=" + self.tmp,
                os.path.join(BUILD, "systemd/sysusers.d/correo.conf"))
        self.assertEqual(r.returncode, 0, r.stderr)
        users, groups = {}, {}
        with open(os.path.join(self.tmp, "etc/passwd")) as f:
            for line in f:
                p = line.split(":")
                users[p[0]] = (int(p[2]), int(p[3]), p[6].strip())
        with open(os.path.join(self.tmp, "etc/group")) as f:
            for line in f:
                p = line.split(":")
                groups[p[0]] = int(p[2])
        return users, groups

    def test_sysusers_creates_every_account(self):
        users, groups = self.sysusers()
        d = config_defaults("mail_owner", "virtual_owner", "setgid_group")
        wanted = {d["mail_owner"], d["virtual_owner"]}
        with Instance() as inst:
            with open(os.path.join(inst.dir, "services.conf")) as f:
                for line in f:
                    cols = line.split()
                    if cols and not cols[0].startswith("#") \
                            and cols[3] not in ("-", "root"):
                        wanted.add(cols[3])
        self.assertIn("correo-auth", wanted)
        self.assertIn("correo-login", wanted)
        for u in wanted:
            self.assertIn(u, users)
            self.assertEqual(users[u][2], "/usr/sbin/nologin", u)
        self.assertIn(d["setgid_group"], groups)

    def test_tmpfiles_makes_the_queue_tree(self):
        need("systemd-tmpfiles")
        users, groups = self.sysusers()
        r = run("systemd-tmpfiles", "--root=" + self.tmp, "--create",
                os.path.join(BUILD, "systemd/tmpfiles.d/correo.conf"))
        self.assertEqual(r.returncode, 0, r.stderr)
        d = config_defaults("queue_directory", "data_directory",
                            "mail_owner", "setgid_group")
        queue = self.tmp + d["queue_directory"]
        self.assertTrue(os.path.isdir(self.tmp + d["data_directory"]))
        owner, drop = users[d["mail_owner"]][0], groups[d["setgid_group"]]
        with Instance() as inst:
            expected = sorted(os.listdir(inst.queue))
            self.assertEqual(sorted(os.listdir(queue)), expected)
            for name in expected:
                made = os.stat(os.path.join(queue, name))
                ref = os.stat(os.path.join(inst.queue, name))
                self.assertEqual(stat.S_IMODE(made.st_mode),
                                 stat.S_IMODE(ref.st_mode), name)
                self.assertEqual(made.st_uid, 0 if name == "pid" else owner,
                                 name)
                if name in ("maildrop", "public"):
                    self.assertEqual(made.st_gid, drop, name)

    def test_unit_verifies(self):
        need("systemd-analyze")
        with open(os.path.join(BUILD, "systemd/correo.service")) as f:
            unit = f.read()
        start = re.search(r"(?m)^ExecStart=(\S+) start-fg$", unit)
        self.assertIsNotNone(start, unit)
        self.assertRegex(unit, r"(?m)^ExecReload=%s reload$"
                         % re.escape(start.group(1)))
        # This machine's units, the unit, and correo where it says.
        units = os.path.join(self.tmp, "lib/systemd/system")
        shutil.copytree("/lib/systemd/system", units, symlinks=True)
        shutil.copy(os.path.join(BUILD, "systemd/correo.service"), units)
        exe = self.tmp + start.group(1)
        os.makedirs(os.path.dirname(exe), exist_ok=True)
        shutil.copy(CORREO, exe)
        r = run("systemd-analyze", "verify", "--man=no",
                "--root=" + self.tmp, "correo.service")
        self.assertEqual((r.returncode, r.stdout + r.stderr), (0, ""))
        # And it does notice a broken one.
        os.unlink(exe)
        r = run("systemd-analyze", "verify", "--man=no",
                "--root=" + self.tmp, "correo.service")
        self.assertNotEqual(r.returncode, 0)


class SetupTest(unittest.TestCase):
    """correo setup, as the package's postinst runs it, on paths of a
    temporary directory (correo.conf written first moves them there)."""

    def setUp(self):
        if not harness.is_root():
            r = run(CORREO, "-c", "/nonexistent", "setup")
            self.assertEqual(r.returncode, 1)
            self.assertIn("must run as root", r.stderr)
            raise unittest.SkipTest("correo setup needs root")
        self.tmp = tempfile.mkdtemp(prefix="correo-setup-test-")
        os.chmod(self.tmp, 0o755)
        self.etc = os.path.join(self.tmp, "etc")
        os.makedirs(self.etc)
        sbin = os.path.join(self.tmp, "sbin")
        os.makedirs(sbin)
        shutil.copy(os.path.join(BUILD, "sendmail"), sbin)
        self.conf = os.path.join(self.etc, "correo.conf")
        with open(self.conf, "w") as f:
            f.write("queue_directory = %s/spool/correo\n"
                    "data_directory = %s/lib/correo\n"
                    "command_directory = %s\n"
                    "daemon_directory = %s\n"
                    "virtual_mailbox_base = $data_directory/vmail\n"
                    % (self.tmp, self.tmp, sbin,
                       os.path.join(BUILD, "libexec")))

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_setup_makes_what_is_missing_and_keeps_the_rest(self):
        r = run(CORREO, "-c", self.etc, "setup")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        for name in ("services.conf", "aliases", "aliases.db", "vmailbox",
                     "vmailbox.db", "tls/cert.pem", "tls/key.pem",
                     "tls/ticket.key"):
            self.assertTrue(os.path.isfile(os.path.join(self.etc, name)),
                            name)
        self.assertNotIn("wrote %s" % self.conf, r.stderr)
        with open(os.path.join(self.etc, "services.conf")) as f:
            rows = [line.split() for line in f if line[:1].isdigit()]
        self.assertEqual(sorted(int(r[0]) for r in rows),
                         [25, 110, 143, 465, 587, 993, 995])
        d = config_defaults("mail_owner", "setgid_group", "virtual_owner")
        owner = pwd.getpwnam(d["mail_owner"]).pw_uid
        drop = grp.getgrnam(d["setgid_group"]).gr_gid
        queue = os.path.join(self.tmp, "spool/correo")
        for name in os.listdir(queue):
            st = os.stat(os.path.join(queue, name))
            self.assertEqual(st.st_uid, 0 if name == "pid" else owner, name)
        self.assertEqual(os.stat(os.path.join(queue, "maildrop")).st_gid,
                         drop)
        vmail = os.stat(os.path.join(self.tmp, "lib/correo/vmail"))
        self.assertEqual(vmail.st_uid,
                         pwd.getpwnam(d["virtual_owner"]).pw_uid)
        self.assertEqual(stat.S_IMODE(vmail.st_mode), 0o700)
        sm = os.stat(os.path.join(self.tmp, "sbin/sendmail"))
        self.assertEqual((stat.S_IMODE(sm.st_mode), sm.st_gid),
                         (0o2755, drop))
        # Again (an upgrade): nothing rewritten, what the admin changed
        # stays, a queue directory's wrong mode is set right.
        with open(os.path.join(self.etc, "aliases"), "a") as f:
            f.write("alice: root\n")
        cert = os.stat(os.path.join(self.etc, "tls/cert.pem"))
        os.chmod(os.path.join(queue, "active"), 0o755)
        r = run(CORREO, "-c", self.etc, "setup")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertNotIn("wrote", r.stderr)
        with open(os.path.join(self.etc, "aliases")) as f:
            self.assertIn("alice: root", f.read())
        self.assertEqual(os.stat(os.path.join(self.etc,
                                              "tls/cert.pem")).st_mtime_ns,
                         cert.st_mtime_ns)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(
            queue, "active")).st_mode), 0o700)
        # correo check names a missing queue directory and the fix.
        os.rmdir(os.path.join(queue, "hold"))
        r = run(CORREO, "-c", self.etc, "check")
        self.assertEqual(r.returncode, 1)
        self.assertIn("correo setup", r.stderr)

    def test_setup_table_type(self):
        r = run(CORREO, "-c", self.etc, "setup", "--table-type", "cdb")
        self.assertEqual(r.returncode, 2)
        self.assertIn("expected hash, btree or lmdb", r.stderr)
        r = run(CORREO, "-c", self.etc, "setup", "--table-type", "lmdb")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        for name in ("aliases", "vmailbox"):
            self.assertTrue(os.path.isfile(
                os.path.join(self.etc, name + ".lmdb")), name)
            self.assertFalse(os.path.exists(
                os.path.join(self.etc, name + ".db")), name)
        r = run(CORREO, "-c", self.etc, "map", "-q", "postmaster",
                "lmdb:" + os.path.join(self.etc, "aliases"))
        self.assertEqual((r.returncode, r.stdout.strip()), (0, "root"),
                         r.stderr)


class StartFgTest(unittest.TestCase):
    def test_start_fg_is_master(self):
        harness.require_daemons(self, "master", "smtpd", "qmgr")
        with Instance() as inst:
            kw = {}
            if inst.user is not None:
                kw = dict(user=inst.user.pw_uid, group=inst.user.pw_gid,
                          extra_groups=[])
            p = subprocess.Popen([inst.correo_path(), "-c", inst.dir,
                                  "start-fg"], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE, text=True,
                                 cwd=inst.tmp, **kw)
            try:
                wait_for(lambda: inst.master_pid() is not None, timeout=30,
                         what="master's pid file")
                # exec'd, not forked: systemd's main process is master.
                self.assertEqual(inst.master_pid(), p.pid)
                inst.wait_for_port(inst.smtp_port, timeout=30)
                self.assertEqual(inst.status().returncode, 0)
                # A second one refuses while it runs.
                r = inst.correo("start-fg")
                self.assertEqual(r.returncode, 1)
                self.assertIn("already running", r.stderr)
                p.send_signal(signal.SIGTERM)
                self.assertEqual(p.wait(timeout=60), 0,
                                 p.stderr.read() + inst.log_tail())
                wait_for(lambda: inst.processes() == [], timeout=30,
                         what="no process left")
            finally:
                if p.poll() is None:
                    p.kill()
                    p.wait()
                p.stderr.close()


if __name__ == "__main__":
    unittest.main()
