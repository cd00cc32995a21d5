"""harness: real correo instances for the integration tests.

Standard library only. An Instance is a complete correo set up by
"correo init" in a fresh temporary directory, on loopback ports nobody
else uses, driven through the real correo command of the build tree
($CORREO_BUILDDIR, set by "make check").

    import harness
    from harness import Instance

    class T(harness.TestCase):
        def test_mail(self):
            with Instance() as inst:          # correo init
                inst.start()                  # correo start (must succeed)
                inst.send_mail("a@example.org", ["demo@demo.test"],
                               "Subject: hi\\n\\nhello\\n")
                msgs = inst.wait_for_maildir("demo.test/demo", 1)

    if __name__ == "__main__":
        harness.main()                        # exit 0 / 1 / 77 (skip)

Who runs what. Instance mode is the normal case: everything runs as an
ordinary user. When the tests themselves run as root (CI), the harness
creates (once) the system user "correotest" and runs "correo init",
"correo start" and friends as that user, in a temporary directory that
user owns; the harness itself stays root so it can inspect and kill.
Instance(root_mode=True) instead runs correo as root, so master switches
users and chroots as configured (those tests skip unless run as root).

Ports. Each instance gets a base port (Instance.base); correo init puts
smtp on base+25. Tests may use any port in [base, base+1000) for their
own services: use inst.port(N) for base+N.

Custom services. Instance(services=TEXT) replaces services.conf after
init. TEXT may use {base}, {port1}..{port9} (base+1..), {smtp_port},
{dir} and {queue}, filled in with str.format.

Cleanup always happens: on leaving the with block, at interpreter exit
(atexit) and from Instance.cleanup(): "correo stop", then SIGKILL for
any process that still belongs to the instance, then the directory is
removed (kept if $CORREO_KEEP_TEST_DIRS is set).
"""

import atexit
import errno
import grp
import os
import pwd
import random
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
import unittest

SKIP = 77
TEST_USER = "correotest"
DEFAULT_DOMAIN = "demo.test"
BUILDDIR = os.environ.get("CORREO_BUILDDIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
SRCDIR = os.environ.get("CORREO_SRCDIR") or BUILDDIR

_live_instances = []


def is_root():
    return os.geteuid() == 0


def correo_binary():
    return os.path.join(BUILDDIR, "correo")


def libexec(name):
    """Path of a daemon in the build tree (libexec/NAME)."""
    return os.path.join(BUILDDIR, "libexec", name)


def have_daemon(name):
    return os.access(libexec(name), os.X_OK)


def require_daemons(testcase, *names):
    """Skip the calling test unless every daemon named is built."""
    missing = [n for n in names if not have_daemon(n)]
    if missing:
        testcase.skipTest("not built yet: " + ", ".join(missing))


def wait_for(predicate, timeout=10.0, interval=0.05, what="condition"):
    """Call predicate until it returns a true value; return that value.
    Raises AssertionError naming `what` after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.1fs waiting for %s"
                                 % (timeout, what))
        time.sleep(interval)


def port_is_free(port, host="127.0.0.1"):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


# Ports correo init uses above the base (smtp, pop3, submission, ...),
# and the ones tests take for themselves (base+1..base+30).
INIT_PORT_OFFSETS = (25, 80, 110, 143, 465, 587, 993, 995)
_port_locks = []


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def _lock_port_base(base):
    """Claim base for this process: parallel test programs see each
    other's claims (a lock file naming the owner pid), so two of them
    never start instances on the same ports. Stale claims are taken
    over."""
    path = os.path.join(tempfile.gettempdir(), "correo-ports-%d.lock" % base)
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                with open(path) as f:
                    owner = int(f.read().strip() or "0")
            except (OSError, ValueError):
                owner = 0
            if owner == os.getpid():
                return True
            if owner and _pid_alive(owner):
                return False
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            continue
        os.write(fd, b"%d\n" % os.getpid())
        os.close(fd)
        _port_locks.append(path)
        return True
    return False


def release_port_base(base):
    """Give up this process's claim on base (its instance is gone)."""
    path = os.path.join(tempfile.gettempdir(), "correo-ports-%d.lock" % base)
    if path in _port_locks:
        _port_locks.remove(path)
        try:
            os.unlink(path)
        except OSError:
            pass


@atexit.register
def _release_port_locks():
    for path in _port_locks:
        try:
            os.unlink(path)
        except OSError:
            pass


def pick_port_base():
    """A base B (multiple of 1000, below the kernel's ephemeral port
    range so client sockets never squat on it) with every port an
    instance uses free now, claimed for this test program. Random start,
    so parallel test programs rarely even try the same one."""
    # 2000..31000: 30 bases, enough for make -j on a busy machine (the
    # ports of each are checked free before use; below 1024 an ordinary
    # user cannot bind, 32768 and up are the kernel's ephemeral ports).
    bases = list(range(2000, 32000, 1000))
    random.shuffle(bases)
    offsets = list(range(1, 31)) + list(INIT_PORT_OFFSETS)
    for base in bases:
        if base in [int(re.sub(r"\D", "", os.path.basename(p)))
                    for p in _port_locks]:
            continue
        if all(port_is_free(base + n) for n in offsets) and \
                _lock_port_base(base):
            return base
    raise RuntimeError("no free port range on 127.0.0.1")


class SmtpRaw:
    """A raw SMTP client for protocol tests: send bytes, read replies as
    (code, text), optionally TLS from the first byte (tls = an
    ssl.SSLContext) or after STARTTLS."""

    def __init__(self, port, source="127.0.0.1", timeout=10, tls=None):
        self.s = socket.create_connection(("127.0.0.1", port),
                                          timeout=timeout,
                                          source_address=(source, 0))
        if tls is not None:
            self.s = tls.wrap_socket(self.s)
        self.buf = b""
        self.greeting = self.reply()

    def send(self, data):
        self.s.sendall(data.encode() if isinstance(data, str) else data)

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.s.recv(65536)
            if not chunk:
                raise EOFError("connection closed; have %r" % self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode(errors="replace")

    def reply(self):
        """One (possibly multi-line) reply as (code, all its lines)."""
        lines = [self._line()]
        while lines[-1][3:4] == "-":
            lines.append(self._line())
        return int(lines[-1][:3]), "\n".join(lines)

    def cmd(self, text):
        self.send(text + "\r\n")
        return self.reply()

    def starttls(self, context):
        """STARTTLS, checking the server sent nothing after its 220."""
        code, text = self.cmd("STARTTLS")
        assert code == 220, text
        assert self.buf == b"", self.buf
        self.s = context.wrap_socket(self.s)

    def closed(self, timeout=5):
        """True if the server closed the connection (after any buffered
        replies)."""
        self.s.settimeout(timeout)
        try:
            while True:
                chunk = self.s.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True

    def close(self):
        self.s.close()


class ImapRaw:
    """A raw IMAP client for protocol tests, logged in as user: commands
    as bytes, answers as (ok, every byte up to and with the tagged
    line), literals read whole; untagged lines that come on their own
    (IDLE, NOTIFY) with wait_line."""

    def __init__(self, port, user, password, timeout=30):
        self.timeout = timeout
        self.sock = socket.create_connection(("127.0.0.1", port),
                                             timeout=timeout)
        self.buf = b""
        self.greeting = self.line()
        ok, out = self.cmd(b'login LOGIN "%s" "%s"' % (
            user.encode(), password.encode()))
        assert ok, out

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("timed out")
        self.sock.settimeout(left)
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed; have %r" % self.buf)
        self.buf += chunk

    def line(self, timeout=None):
        """One line, with the literal it announces."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while b"\r\n" not in self.buf:
            self._fill(deadline)
        end = self.buf.index(b"\r\n") + 2
        line, self.buf = self.buf[:end], self.buf[end:]
        m = re.search(rb"\{(\d+)\+?\}\r\n$", line)
        if m:
            n = int(m.group(1))
            while len(self.buf) < n:
                self._fill(deadline)
            line += self.buf[:n]
            self.buf = self.buf[n:]
            line += self.line(timeout)
        return line

    def read_until_tag(self, tag):
        out = b""
        while True:
            line = self.line()
            out += line
            if line.startswith(tag + b" "):
                return line[len(tag) + 1:].startswith(b"OK"), out

    def cmd(self, line):
        tag = line.split(b" ", 1)[0]
        self.send(line + b"\r\n")
        return self.read_until_tag(tag)

    def wait_line(self, pattern, timeout=10.0):
        """Lines until one matches the regex pattern (bytes); all of
        them. AssertionError after timeout seconds."""
        deadline = time.monotonic() + timeout
        out = b""
        while True:
            try:
                line = self.line(max(deadline - time.monotonic(), 0.001))
            except socket.timeout:
                raise AssertionError("no line matching %r in %.1fs: %r"
                                     % (pattern, timeout, out))
            out += line
            if re.search(pattern, line):
                return out

    def close(self):
        try:
            self.cmd(b"z LOGOUT")
        except (OSError, EOFError, ValueError):
            pass
        self.sock.close()


def send_counting(inst, sender, rcpts, ids, make_message, accepted, lock):
    """Crash tests: send one message per id over one SMTP session,
    reconnecting and retrying (up to 5 times) after any error. An id is
    added to the set accepted (under lock) only once the server said 250:
    exactly the messages that must never be lost."""
    s = None
    for msgid in ids:
        for _ in range(5):
            try:
                if s is None:
                    s = inst.smtp(timeout=30)
                s.sendmail(sender, rcpts, make_message(msgid))
                with lock:
                    accepted.add(msgid)
                break
            except (smtplib.SMTPException, OSError):
                try:
                    if s is not None:
                        s.close()
                except Exception:
                    pass
                s = None
                time.sleep(0.05)
    if s is not None:
        try:
            s.quit()
        except Exception:
            pass


def kill_randomly(inst, stop, kills, agent, seed, qmgr_gap):
    """Crash tests: until stop is set, every 50-300 ms SIGKILL one agent
    process (children named agent) or, now and then but at most every
    qmgr_gap seconds, qmgr; count the kills by process name in kills."""
    rng = random.Random(seed)
    last_qmgr = 0.0
    started = time.monotonic()
    while not stop.is_set():
        time.sleep(rng.uniform(0.05, 0.3))
        # The first qmgr kill comes early (after 1 s) rather than by
        # chance: on a loaded machine a short run could otherwise end
        # without one, and the test would not test qmgr's recovery.
        first = kills["qmgr"] == 0 and time.monotonic() - started > 1.0
        if first or (time.monotonic() - last_qmgr > qmgr_gap and
                     rng.random() < 0.3):
            victims = inst.children("qmgr")
            last_qmgr = time.monotonic()
        else:
            victims = inst.children(agent)
            if victims:
                victims = [rng.choice(victims)]
        for p in victims:
            try:
                os.kill(p["pid"], signal.SIGKILL)
                kills[p["comm"]] += 1
            except ProcessLookupError:
                pass


def can_connect(port, host="127.0.0.1", timeout=1.0):
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def can_connect_unix(path, timeout=1.0):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()


# ---- the test user ------------------------------------------------------

def ensure_test_user():
    """Create the system user correotest once (root only); idempotent and
    safe when several test programs race to do it."""
    try:
        return pwd.getpwnam(TEST_USER)
    except KeyError:
        pass
    subprocess.run(["/usr/sbin/useradd", "--system", "--user-group",
                    "--no-create-home", "--home-dir", "/nonexistent",
                    "--shell", "/usr/sbin/nologin", TEST_USER],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(50):
        try:
            return pwd.getpwnam(TEST_USER)
        except KeyError:
            time.sleep(0.1)
    raise RuntimeError("cannot create the test user " + TEST_USER)


_bin_copy = None


def _user_can_run(pw, path):
    r = subprocess.run([path, "help"], user=pw.pw_uid, group=pw.pw_gid,
                       extra_groups=[], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    return r.returncode == 0


def _test_user_bindir(pw):
    """The directory holding correo and libexec/ as the test user can
    reach them. A build tree under /root is not reachable by others:
    then the binaries are copied once into a world-readable temp dir
    (correo init finds libexec/ next to the correo it runs)."""
    global _bin_copy
    if _user_can_run(pw, correo_binary()):
        return BUILDDIR
    if _bin_copy is None:
        _bin_copy = tempfile.mkdtemp(prefix="correo-bin-")
        os.chmod(_bin_copy, 0o755)
        shutil.copy2(correo_binary(), _bin_copy)
        shutil.copytree(os.path.join(BUILDDIR, "libexec"),
                        os.path.join(_bin_copy, "libexec"))
        atexit.register(shutil.rmtree, _bin_copy, True)
    return _bin_copy


# ---- processes ----------------------------------------------------------

def proc_info(pid):
    """dict(pid, ppid, uid, user, comm, argv, root) or None if gone."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            argv = [a.decode(errors="replace")
                    for a in f.read().split(b"\0") if a]
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
        uid = os.stat("/proc/%d" % pid).st_uid
    except OSError:
        return None
    comm = stat[stat.index("(") + 1:stat.rindex(")")]
    fields = stat[stat.rindex(")") + 2:].split()
    if fields[0] in ("Z", "X"):
        return None
    try:
        user = pwd.getpwuid(uid).pw_name
    except KeyError:
        user = str(uid)
    try:
        root = os.readlink("/proc/%d/root" % pid)
    except OSError:
        root = None
    try:
        cwd = os.readlink("/proc/%d/cwd" % pid)
    except OSError:
        cwd = None
    return dict(pid=pid, ppid=int(fields[1]), uid=uid, user=user,
                comm=comm, argv=argv, root=root, cwd=cwd)


def all_processes():
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            info = proc_info(int(name))
            if info is not None:
                out.append(info)
    return out


def pid_alive(pid):
    return proc_info(pid) is not None


# ---- the internal attribute protocol (common/attr.h) --------------------

def attr_encode(value):
    out = []
    for b in value.encode():
        if b == 0x25 or b < 0x20 or b >= 0x7f:
            out.append("%%%02X" % b)
        else:
            out.append(chr(b))
    return "".join(out)


def attr_decode(value):
    return re.sub(r"%([0-9A-Fa-f]{2})",
                  lambda m: chr(int(m.group(1), 16)), value)


class AttrClient:
    """A client of the internal request protocol: name=value lines, a
    blank line ends a list, the server speaks first with
    protocol=NAME."""

    def __init__(self, sock, timeout=10.0):
        sock.settimeout(timeout)
        self.sock = sock
        self.rfile = sock.makefile("rb")

    @classmethod
    def unix(cls, path, timeout=10.0):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect(path)
        return cls(s, timeout)

    @classmethod
    def tcp(cls, port, host="127.0.0.1", timeout=10.0):
        return cls(socket.create_connection((host, port), timeout=timeout),
                   timeout)

    def read_list(self):
        """One attribute list as [(name, value), ...]; None at EOF."""
        attrs = []
        while True:
            line = self.rfile.readline()
            if not line:
                return None if not attrs else attrs
            line = line.decode().rstrip("\n")
            if line == "":
                return attrs
            name, _, value = line.partition("=")
            attrs.append((name, attr_decode(value)))

    def hello(self, protocol):
        got = self.read_list()
        if got != [("protocol", protocol)]:
            raise AssertionError("expected protocol=%s hello, got %r"
                                 % (protocol, got))

    def request(self, attrs):
        """Send a list (dict or pairs) and return the reply list."""
        if isinstance(attrs, dict):
            attrs = list(attrs.items())
        text = "".join("%s=%s\n" % (n, attr_encode(v)) for n, v in attrs)
        self.sock.sendall((text + "\n").encode())
        return self.read_list()

    def close(self):
        self.rfile.close()
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def queue_ids(queue, sub):
    """The IDs of the messages in one queue directory (queue/sub): not
    dot files (".spare/", ".group-sync", sendmail's ".ID"), and in
    incoming/ not a file its writer has not committed yet (mode 0200,
    queue_file.c). Sorted; a missing directory is empty."""
    d = os.path.join(queue, sub)
    try:
        names = os.listdir(d)
    except FileNotFoundError:
        return []
    out = []
    for n in names:
        if n.startswith("."):
            continue
        if sub == "incoming":
            try:
                if os.lstat(os.path.join(d, n)).st_mode & 0o7777 == 0o200:
                    continue
            except FileNotFoundError:
                continue
        out.append(n)
    return sorted(out)


def echo_request(client, attrs):
    """Handshake with an echod and send one request; the reply list."""
    client.hello("echo")
    return client.request(attrs)


# ---- Maildir --------------------------------------------------------------

def maildir_messages(path):
    """The files of a Maildir's new/ and cur/ as [(name, bytes)], sorted by
    name. A missing Maildir is empty."""
    out = []
    for sub in ("new", "cur"):
        d = os.path.join(path, sub)
        try:
            names = sorted(os.listdir(d))
        except FileNotFoundError:
            continue
        for name in names:
            with open(os.path.join(d, name), "rb") as f:
                out.append((sub + "/" + name, f.read()))
    return out


# ---- the instance ---------------------------------------------------------

class Instance:
    """One correo instance in a temporary directory. See the module doc.

    Attributes: dir (the config directory), queue, log_file, mail_dir,
    base (port base), smtp_port, domain, root_mode, user (who runs
    correo: a pwd entry, or None for the current user)."""

    def __init__(self, domain=DEFAULT_DOMAIN, config=None, services=None,
                 root_mode=False, init=True):
        if not os.access(correo_binary(), os.X_OK):
            raise unittest.SkipTest("correo not built in " + BUILDDIR)
        self.domain = domain
        self.root_mode = root_mode
        self.base = pick_port_base()
        self.smtp_port = self.base + 25
        self.user = None
        self.bindir = BUILDDIR
        if root_mode and not is_root():
            raise unittest.SkipTest("root-mode test needs root")
        if is_root() and not root_mode:
            self.user = ensure_test_user()
            self.bindir = _test_user_bindir(self.user)
        self.tmp = tempfile.mkdtemp(prefix="correo-test-")
        os.chmod(self.tmp, 0o755)
        if self.user is not None:
            os.chown(self.tmp, self.user.pw_uid, self.user.pw_gid)
        self.dir = os.path.join(self.tmp, "inst")
        self.queue = os.path.join(self.dir, "queue")
        self.log_file = os.path.join(self.dir, "log", "correo.log")
        self.mail_dir = os.path.join(self.dir, "mail")
        self.cleaned = False
        _live_instances.append(self)
        if init:
            self.init(config=config, services=services)

    # -- running the correo command --

    def correo_path(self):
        return os.path.join(self.bindir, "correo")

    def run(self, args, check=False, timeout=60, env=None):
        """Run a program as the instance's user; CompletedProcess with
        text stdout/stderr. check=True raises with both shown. env: extra
        environment variables."""
        kw = {}
        if self.user is not None:
            kw = dict(user=self.user.pw_uid, group=self.user.pw_gid,
                      extra_groups=[])
        full_env = dict(os.environ)
        full_env.pop("CORREO_CONFIG_DIR", None)
        full_env.update(env or {})
        env = full_env
        r = subprocess.run(args, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True,
                           timeout=timeout, env=env, cwd=self.tmp, **kw)
        if check and r.returncode != 0:
            raise AssertionError("%s exited %d\nstdout:\n%s\nstderr:\n%s%s"
                                 % (" ".join(args), r.returncode, r.stdout,
                                    r.stderr, self.log_tail()))
        return r

    def correo(self, *args, check=False, timeout=60):
        """correo -c DIR ARGS..."""
        return self.run([self.correo_path(), "-c", self.dir] + list(args),
                        check=check, timeout=timeout)

    def correo_input(self, args, text, timeout=60):
        """correo -c DIR ARGS... with text on its standard input, run as
        the instance's user (a CompletedProcess)."""
        kw = {}
        if self.user is not None:
            kw = dict(user=self.user.pw_uid, group=self.user.pw_gid,
                      extra_groups=[])
        return subprocess.run([self.correo_path(), "-c", self.dir] +
                              list(args), input=text, text=True,
                              stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=timeout,
                              cwd=self.tmp, **kw)

    def add_user(self, address, password):
        """correo user add ADDRESS with PASSWORD; fails the caller's
        test through an AssertionError if it does not work."""
        r = self.correo_input(["user", "add", address,
                               "--password-stdin"], password + "\n")
        if r.returncode != 0:
            raise AssertionError("user add %s: %s%s" % (address, r.stdout,
                                                        r.stderr))

    def make_cert(self, cn="localhost", san=None):
        """A self-signed P-256 certificate in DIR/tls (cert.pem,
        key.pem), owned by the instance's user; san: an extra
        subjectAltName value ("IP:127.0.0.1,DNS:localhost")."""
        tls = os.path.join(self.dir, "tls")
        os.makedirs(tls, exist_ok=True)
        cmd = ["openssl", "req", "-x509", "-newkey", "ec",
               "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
               "-keyout", os.path.join(tls, "key.pem"),
               "-out", os.path.join(tls, "cert.pem"),
               "-days", "2", "-subj", "/CN=" + cn]
        if san is not None:
            cmd += ["-addext", "subjectAltName=" + san]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        if self.user is not None:
            for name in ("", "key.pem", "cert.pem"):
                os.chown(os.path.join(tls, name), self.user.pw_uid,
                         self.user.pw_gid)
        return os.path.join(tls, "cert.pem")

    def init(self, config=None, services=None, extra_args=()):
        for attempt in range(3):
            r = self.run([self.correo_path(), "init", self.dir, "--domain",
                          self.domain, "--ports", str(self.base)] +
                         list(extra_args))
            # Another program took a port of the base between the
            # harness's check and init's: another base.
            if r.returncode == 0 or "is in use" not in r.stderr or \
                    attempt == 2:
                break
            shutil.rmtree(self.dir, ignore_errors=True)
            release_port_base(self.base)
            self.base = pick_port_base()
            self.smtp_port = self.base + 25
        if r.returncode != 0:
            raise AssertionError("correo init exited %d\nstdout:\n%s\n"
                                 "stderr:\n%s" % (r.returncode, r.stdout,
                                                   r.stderr))
        self.correo_init_result = r
        if config:
            self.add_config(config)
        if services is not None:
            self.set_services(services)
        return self.correo_init_result

    def add_config(self, config):
        """Append lines (a string, or a dict of key -> value)."""
        if isinstance(config, dict):
            config = "".join("%s = %s\n" % kv for kv in config.items())
        with open(os.path.join(self.dir, "correo.conf"), "a") as f:
            f.write("\n# added by the test harness\n" + config + "\n")

    def port(self, n):
        return self.base + n

    def format(self, text):
        values = dict(base=self.base, smtp_port=self.smtp_port,
                      dir=self.dir, queue=self.queue)
        for n in range(1, 10):
            values["port%d" % n] = self.base + n
        return text.format(**values)

    def set_services(self, text):
        """Replace services.conf (placeholders: see the module doc)."""
        path = os.path.join(self.dir, "services.conf")
        with open(path, "w") as f:
            f.write(self.format(text))
        if self.user is not None:
            os.chown(path, self.user.pw_uid, self.user.pw_gid)

    def start(self, check=True):
        return self.correo("start", check=check)

    def stop(self, check=True):
        return self.correo("stop", check=check)

    def reload(self, check=True):
        return self.correo("reload", check=check)

    def status(self):
        return self.correo("status")

    # -- observing --

    def master_pid(self):
        """The pid in the pid file if that process lives, else None."""
        try:
            with open(os.path.join(self.queue, "pid", "master.pid")) as f:
                pid = int(f.read().strip())
        except (OSError, ValueError):
            return None
        return pid if pid_alive(pid) else None

    def processes(self):
        """Live processes of this instance: the master, everything below
        it, and anything whose command line names the instance dir."""
        procs = all_processes()
        mine = {p["pid"] for p in procs
                if any(self.dir in a for a in p["argv"])}
        master = self.master_pid()
        if master is not None:
            mine.add(master)
        changed = True
        while changed:
            changed = False
            for p in procs:
                if p["ppid"] in mine and p["pid"] not in mine:
                    mine.add(p["pid"])
                    changed = True
        return [p for p in procs if p["pid"] in mine]

    def children(self, command=None):
        """Processes of the instance other than master; with command,
        only those whose program's base name is command."""
        master = self.master_pid()
        out = []
        for p in self.processes():
            if p["pid"] == master:
                continue
            prog = os.path.basename(p["argv"][0]) if p["argv"] else ""
            if command is None or prog == command or p["comm"] == command:
                out.append(p)
        return out

    def wait_for_port(self, port, host="127.0.0.1", timeout=10.0):
        wait_for(lambda: can_connect(port, host), timeout,
                 what="%s:%d to accept connections" % (host, port))

    def wait_for_port_closed(self, port, host="127.0.0.1", timeout=10.0):
        wait_for(lambda: not can_connect(port, host), timeout,
                 what="%s:%d to stop accepting connections" % (host, port))

    def unix_socket(self, name, private=True):
        return os.path.join(self.queue, "private" if private else "public",
                            name)

    def wait_for_unix(self, name, private=True, timeout=10.0):
        path = self.unix_socket(name, private)
        wait_for(lambda: can_connect_unix(path), timeout,
                 what="unix socket %s" % path)
        return path

    def log(self):
        try:
            with open(self.log_file, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def master_stderr(self):
        """What master and its children wrote to stderr (sanitizer
        reports, crashes before the log was open): correo start sends it
        to queue/pid/master.stderr."""
        try:
            with open(os.path.join(self.queue, "pid", "master.stderr"),
                      errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def log_tail(self, lines=30):
        """The end of the log and of master.stderr, for failure messages."""
        out = ""
        text = self.log().splitlines()[-lines:]
        if text:
            out += "\n--- %s (last %d lines):\n%s\n" % (
                self.log_file, len(text), "\n".join(text))
        err = self.master_stderr().splitlines()[-lines * 2:]
        if err:
            out += "\n--- master.stderr (last %d lines):\n%s\n" % (
                len(err), "\n".join(err))
        return out

    def wait_for_log(self, pattern, timeout=10.0):
        """Wait until a log line matches the regex; return the match."""
        rx = re.compile(pattern)
        return wait_for(lambda: rx.search(self.log()), timeout,
                        what="log line matching %r%s" % (pattern,
                                                          self.log_tail()))

    # -- mail --

    def smtp(self, port=None, timeout=10.0):
        """A connected smtplib.SMTP to the instance's smtp port."""
        return smtplib.SMTP("127.0.0.1", port or self.smtp_port,
                            timeout=timeout)

    def send_mail(self, sender, rcpts, message, port=None):
        """Send one message over SMTP; smtplib's refused-recipients dict.
        message is str or bytes (a full message, headers included)."""
        with self.smtp(port) as s:
            return s.sendmail(sender, rcpts, message)

    def maildir(self, path):
        """Messages of the Maildir at mail/PATH (e.g. "demo.test/demo")."""
        return maildir_messages(os.path.join(self.mail_dir, path))

    def wait_for_maildir(self, path, count, timeout=15.0):
        return wait_for(
            lambda: (lambda m: m if len(m) >= count else None)(
                self.maildir(path)),
            timeout, what="%d message(s) in %s%s" % (count, path,
                                                     self.log_tail()))

    # -- cleanup --

    def cleanup(self):
        """Stop master, kill leftovers, remove the directory. Idempotent."""
        if self.cleaned:
            return
        self.cleaned = True
        try:
            if self.master_pid() is not None:
                self.correo("stop", timeout=30)
        except Exception as e:  # keep cleaning up
            print("harness: correo stop failed: %s" % e, file=sys.stderr)
        for p in self.processes():
            try:
                os.kill(p["pid"], signal.SIGKILL)
            except OSError:
                pass
        if os.environ.get("CORREO_KEEP_TEST_DIRS"):
            print("harness: kept %s" % self.tmp, file=sys.stderr)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)
        if self in _live_instances:
            _live_instances.remove(self)
        release_port_base(self.base)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup()


@atexit.register
def _cleanup_all():
    for inst in list(_live_instances):
        inst.cleanup()


def _on_signal(signum, frame):
    _cleanup_all()
    sys.exit(128 + signum)


class TestCase(unittest.TestCase):
    """unittest.TestCase with instance helpers: self.instance(...) makes
    an Instance cleaned up after the test (even on failure)."""

    def instance(self, **kw):
        inst = Instance(**kw)
        self.addCleanup(inst.cleanup)
        return inst

    def imap_instance(self, user, password):
        """A started instance with user, its IMAP port waited for, and an
        imaplib session logged in as user (logged out at cleanup):
        sets self.inst and self.port, returns the session."""
        import imaplib
        require_daemons(self, "imap-login", "imapd", "auth")
        inst = self.instance(init=True)
        inst.add_user(user, password)
        inst.start()
        self.inst, self.port = inst, inst.port(143)
        inst.wait_for_port(self.port)
        m = imaplib.IMAP4("127.0.0.1", self.port, timeout=30)
        self.addCleanup(m.logout)
        typ, data = m.login(user, password)
        self.assertEqual(typ, "OK", data)
        return m

    def assertRuns(self, result, msg=None):
        """Assert a CompletedProcess exited 0, showing its output if not."""
        if result.returncode != 0:
            self.fail("%s: exit %d\nstdout:\n%s\nstderr:\n%s" % (
                msg or " ".join(result.args), result.returncode,
                result.stdout, result.stderr))


def main():
    """Run the unittest tests of __main__; exit 0 on success, 1 on any
    failure, 77 (automake's skip) if every test was skipped."""
    signal.signal(signal.SIGTERM, _on_signal)
    if not os.access(correo_binary(), os.X_OK):
        print("SKIP: correo not built in %s" % BUILDDIR)
        sys.exit(SKIP)
    prog = unittest.main(module="__main__", exit=False, verbosity=2)
    result = prog.result
    _cleanup_all()
    if not result.wasSuccessful():
        sys.exit(1)
    if result.testsRun > 0 and len(result.skipped) == result.testsRun:
        sys.exit(SKIP)
    sys.exit(0)
