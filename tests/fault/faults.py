"""faults.py: inject a fault at every file-system call on a message's path
and check correo's promise after each (doc/RELIABILITY.md).

A fault point is (program, kind, N): the Nth call of that kind (write,
fsync, rename, link, unlink, create, mkdir, truncate; see
tests/fault/faultshim.c) made by that program while it carries the
message. A path is enumerated once with the shim tracing every call;
then it runs once per point and action:

  ENOSPC (writes) or EIO (everything else): the call fails;
  kill-before: the process dies just before the call;
  kill-after: the call is made, then the process dies.

After each run the instance (or Maildir) is restarted without faults,
given time to finish what it owes, and audited:

- acknowledged (250 / sendmail exit 0 / IMAP OK / POP3 +OK) means done:
  the message is in the mailbox (copies allowed: counted as duplicates),
  the flag is set, the expunged message is gone;
- refused means not half-done: no Maildir file holds part of a message;
- nothing is unreadable: "correo queue" and a fresh IMAP SELECT of every
  folder work; a queue file quarantined in corrupt/ has its log line;
- an injected error is logged by the daemon that got it, naming the
  queue ID when the message has one.

Paths: smtp (smtpd -> queue -> qmgr -> local -> Maildir + index),
pickup (sendmail -> maildrop -> pickup -> queue -> ...), pop3 (DELE +
QUIT in pop3d), imap-append, imap-copy, imap-move, imap-expunge,
imap-store and imap-compact (imapd on the store, its log and its
compaction). Each run is bounded in time.
"""

import email
import imaplib
import os
import poplib
import re
import shlex
import shutil
import signal
import smtplib
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import harness  # noqa: E402

SHIM = os.path.join(harness.BUILDDIR, "tests", "fault", "faultshim.so")
ERRTEXT = {"EIO": "Input/output error", "ENOSPC": "No space left on device",
           "EDQUOT": "Disk quota exceeded"}
# Files whose writes are not on a message's path.
NOT_MAIL = re.compile(r"(correo\.log|master\.stderr|master\.pid(\.tmp)?"
                      r"|/dev/null)$")


def asan_options():
    """ASAN_OPTIONS for a process with the shim preloaded: in the
    sanitizer build ASan must otherwise come first in the library list
    and refuses to start."""
    cur = os.environ.get("ASAN_OPTIONS", "")
    return (cur + ":" if cur else "") + "verify_asan_link_order=0"


def import_environment(fault):
    """The import_environment line that gives every daemon the shim."""
    return "TZ, LANG=C, ASAN_OPTIONS=%s, UBSAN_OPTIONS, LSAN_OPTIONS, " \
           "LD_PRELOAD=%s, CORREO_FAULT=%s" % (asan_options(), SHIM, fault)


def actions_for(kind):
    return ["ENOSPC" if kind == "write" else "EIO", "kill-before",
            "kill-after"]


class Point:
    def __init__(self, prog, kind, n, path):
        self.prog, self.kind, self.n, self.path = prog, kind, n, path

    def spec(self, action):
        return "%s:%s:%d:%s" % (self.prog, self.kind, self.n, action)

    def __repr__(self):
        return "%s %s #%d (%s)" % (self.prog, self.kind, self.n,
                                   self.path or "-")


def parse_trace(text, progs):
    """The fault points of a trace, in order; only programs in progs and
    only calls that touch mail (not the log)."""
    points = []
    seen = set()
    for line in text.splitlines():
        m = re.match(r"correo-fault: (\S+) (\d+) (\S+) (\d+)(?: (.*))?$",
                     line)
        if not m or m.group(1) not in progs:
            continue
        prog, kind, n, path = m.group(1), m.group(3), int(m.group(4)), \
            m.group(5)
        if path and NOT_MAIL.search(path):
            continue
        key = (prog, kind, n)
        if key not in seen:
            seen.add(key)
            points.append(Point(prog, kind, n, path))
    return points


def body_of(n, size=2000):
    return ("From: alice@example.org\r\nTo: demo@demo.test\r\n"
            "Subject: fault %d\r\nX-Fault-Id: %d\r\n\r\n%s\r\n" % (
                n, n, ("fault test line %d\r\n" % n) * (size // 20))
            ).encode()


def fault_id(data):
    m = re.search(rb"X-Fault-Id: (\d+)", data)
    return int(m.group(1)) if m else None


def complete(data):
    """Does a stored message hold the whole of what was sent?"""
    n = fault_id(data)
    if n is None:
        return True     # not one of ours (a bounce, say)
    # Headers may be added or rewritten on the way (Received, Message-ID,
    # sendmail's); the body must be whole.
    want = body_of(n).replace(b"\r\n", b"\n").split(b"\n\n", 1)[1]
    got = data.replace(b"\r\n", b"\n").split(b"\n\n", 1)
    return len(got) == 2 and got[1] == want


class Result:
    """What one run promised and what the audit found."""

    def __init__(self, path, point, action):
        self.path, self.point, self.action = path, point, action
        self.acked = False
        self.duplicates = 0
        self.problems = []

    def fail(self, text):
        self.problems.append(text)

    def __repr__(self):
        return "%s %r %s: %s%s" % (
            self.path, self.point, self.action,
            "acked" if self.acked else "refused",
            "; " + "; ".join(self.problems) if self.problems else "")


# ---- paths through a whole instance -----------------------------------

class InstancePath:
    """smtp, pickup and pop3: a real instance, the shim in every daemon
    through import_environment."""

    progs = ()
    name = "?"

    def __init__(self, keep=False):
        self.keep = keep

    def make(self, fault):
        cfg = {"queue_run_delay": "1s", "minimal_backoff_time": "1s",
               "maximal_backoff_time": "2s"}
        inst = harness.Instance(config=cfg)
        self.conf = os.path.join(inst.dir, "correo.conf")
        with open(self.conf) as f:
            self.clean_conf = f.read()
        if fault is not None:
            self.set_fault(inst, fault)
        return inst

    def set_fault(self, inst, fault):
        text = self.clean_conf + "\nimport_environment = %s\n" % \
            import_environment(fault)
        if fault == "trace":
            text += "sandbox = no\n"    # the trace reads /proc/self/fd
        with open(self.conf, "w") as f:
            f.write(text)

    def clear_fault(self, inst):
        with open(self.conf, "w") as f:
            f.write(self.clean_conf)

    def halt(self, inst):
        """Stop, and kill whatever is left (a crashed daemon's peers)."""
        inst.stop(check=False)
        for p in inst.processes():
            try:
                os.kill(p["pid"], signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.2)

    def maildir(self, inst, who="demo"):
        return os.path.join(inst.mail_dir, "demo.test", who)

    def queue_files(self, inst):
        # Not ".ID" nor, in incoming/, an ID in the writing mode: a
        # writer's unfinished file, never acknowledged; qmgr sweeps it
        # once it is an hour old.
        return [os.path.join(inst.queue, d, qid)
                for d in ("incoming", "active", "deferred", "hold",
                          "maildrop")
                for qid in harness.queue_ids(inst.queue, d)]

    def settle(self, inst, want, timeout=20):
        """Restarted clean: flush until the queue is empty and want()."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            inst.correo("queue", "flush")
            if not self.queue_files(inst) and want():
                return True
            time.sleep(0.5)
        return False

    def audit_queue(self, inst, r):
        q = inst.correo("queue")
        if q.returncode != 0:
            r.fail("correo queue fails: %s" % q.stderr.strip())
        corrupt = os.path.join(inst.queue, "corrupt")
        if os.path.isdir(corrupt):
            for name in os.listdir(corrupt):
                if name not in inst.log():
                    r.fail("corrupt/%s without a log line" % name)
        left = self.queue_files(inst)
        if left:
            r.fail("queue not empty after settling: %s" % left)

    def audit_logged(self, inst, r, fault_log):
        """The injected error is logged; when it cost the message a
        deferral, the line that says so names the queue ID."""
        if r.action not in ERRTEXT:
            return
        text = ERRTEXT[r.action]
        lines = [ln for ln in fault_log.splitlines() if text in ln]
        if not lines:
            r.fail("the injected %s was not logged" % r.action)
            return
        deferred = [ln for ln in fault_log.splitlines()
                    if "status=deferred" in ln or "status=bounced" in ln]
        if deferred and not any(
                re.search(r"\b[0-9A-Z]{18}\b", ln) for ln in deferred):
            r.fail("the deferral names no queue ID: %s" % deferred[0])

    def audit_maildir(self, inst, r, n, who="demo"):
        """Copies of message n in who's Maildir; partial files fail."""
        copies = 0
        for name, data in harness.maildir_messages(self.maildir(inst,
                                                                 who)):
            if not complete(data):
                r.fail("partial message in the Maildir: %s" % name)
            elif fault_id(data) == n:
                copies += 1
        return copies

    def audit_store(self, inst, r, who="demo"):
        """A fresh imapd opens every folder of the mailbox."""
        md = self.maildir(inst, who)
        if not os.path.isdir(md):
            return
        problem = imap_audit_open(md)
        if problem:
            r.fail(problem)

    def trace(self):
        inst = self.make("trace")
        try:
            inst.start()
            self.act(inst, 0)
            time.sleep(1.5)
            self.wait_done(inst)
            # Daemons trace to master's stderr, mail processes (pop3d)
            # to their log descriptor, the log file.
            with open(os.path.join(inst.queue, "pid",
                                   "master.stderr")) as f:
                text = f.read()
            return parse_trace(text + inst.log(), self.progs)
        finally:
            inst.cleanup()

    def run(self, point, action, n):
        r = Result(self.name, point, action)
        inst = self.make(point.spec(action))
        try:
            self.prepare(inst, n)
            inst.start()
            r.acked = self.act(inst, n)
            self.wait_done(inst)
            self.halt(inst)
            fault_log = inst.log() + getattr(self, "command_output", "")
            self.clear_fault(inst)
            inst.start()
            self.check(inst, r, n)
            self.audit_queue(inst, r)
            self.audit_logged(inst, r, fault_log)
        except Exception as e:  # an audit that cannot even run
            r.fail("%s: %s" % (type(e).__name__, e))
        finally:
            if self.keep and r.problems:
                # Keep the directory, not the processes.
                print("kept %s" % inst.tmp, file=sys.stderr)
                self.halt(inst)
                inst.cleaned = True
                harness.release_port_base(inst.base)
            else:
                inst.cleanup()
        return r

    def prepare(self, inst, n):
        pass

    def wait_done(self, inst):
        """Give the faulted system a moment to carry the message as far
        as it can (it may have crashed on the way)."""
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline:
            if not self.queue_files(inst) and harness.maildir_messages(
                    self.maildir(inst)):
                return
            time.sleep(0.1)


def send_smtp(inst, n):
    try:
        with smtplib.SMTP("127.0.0.1", inst.smtp_port, timeout=15) as s:
            s.sendmail("alice@example.org", ["demo@demo.test"], body_of(n))
        return True
    except (smtplib.SMTPException, OSError):
        return False


class SmtpPath(InstancePath):
    name = "smtp"
    progs = ("smtpd", "qmgr", "local")

    def act(self, inst, n):
        return send_smtp(inst, n)

    def check(self, inst, r, n):
        if r.acked:
            ok = self.settle(inst, lambda: self.audit_maildir(
                inst, Result("", None, None), n) >= 1)
            if not ok:
                r.fail("acknowledged message not delivered")
        else:
            self.settle(inst, lambda: True, timeout=8)
        copies = self.audit_maildir(inst, r, n)
        if r.acked and copies == 0:
            r.fail("acknowledged message lost")
        r.duplicates = max(0, copies - 1)
        self.audit_store(inst, r)


class PickupPath(SmtpPath):
    name = "pickup"
    progs = ("sendmail", "pickup")

    def act(self, inst, n):
        sendmail = os.path.join(inst.bindir, "sendmail")
        kw = {}
        if inst.user is not None:
            kw = dict(user=inst.user.pw_uid, group=inst.user.pw_gid,
                      extra_groups=[])
        env = dict(os.environ)
        with open(self.conf) as f:
            m = re.search(r"CORREO_FAULT=(\S+)", f.read())
        if m:   # sendmail is not started by master: give it the shim
            env.update(LD_PRELOAD=SHIM, CORREO_FAULT=m.group(1),
                       ASAN_OPTIONS=asan_options())
        try:
            p = subprocess.run([sendmail, "-C", inst.dir, "-f",
                                "alice@example.org", "demo@demo.test"],
                               input=body_of(n), stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=30,
                               env=env, cwd=inst.tmp, **kw)
        except subprocess.TimeoutExpired:
            return False
        # sendmail is a command: it reports to its caller (stderr).
        self.command_output = p.stdout.decode(errors="replace")
        if m and m.group(1) == "trace":
            with open(os.path.join(inst.queue, "pid", "master.stderr"),
                      "ab") as f:
                f.write(p.stdout)
        return p.returncode == 0


class Pop3Path(InstancePath):
    name = "pop3"
    progs = ("pop3d-mail",)
    PASSWORD = "fault pop3 pw"

    def make(self, fault):
        inst = InstancePath.make(self, None)
        inst.add_user("bob@demo.test", self.PASSWORD)
        inst.start()
        for k in (1, 2):
            with smtplib.SMTP("127.0.0.1", inst.smtp_port, timeout=15) as s:
                s.sendmail("alice@example.org", ["bob@demo.test"],
                           body_of(1000 + k))
        inst.wait_for_maildir(self.maildir(inst, "bob"), 2, timeout=20)
        self.halt(inst)
        if fault is not None:
            self.set_fault(inst, fault)
        return inst

    def maildir(self, inst, who="bob"):
        return os.path.join(inst.mail_dir, "demo.test", who)

    def act(self, inst, n):
        inst.wait_for_port(inst.port(110))
        self.deleted = None
        try:
            p = poplib.POP3("127.0.0.1", inst.port(110), timeout=15)
            p.user("bob@demo.test")
            p.pass_(self.PASSWORD)
            self.uidls = p.uidl()[1]
            # Two local processes may deliver the two messages in either
            # order: learn which one is message 1 before deleting it.
            self.deleted = fault_id(b"\r\n".join(p.top(1, 0)[1]))
            p.dele(1)
            p.quit()
            return True
        except (poplib.error_proto, OSError, EOFError):
            return False

    def wait_done(self, inst):
        time.sleep(0.3)

    def check(self, inst, r, n):
        inst.wait_for_port(inst.port(110))
        p = poplib.POP3("127.0.0.1", inst.port(110), timeout=15)
        p.user("bob@demo.test")
        p.pass_(self.PASSWORD)
        ids = []
        for line in p.uidl()[1]:
            num = line.split()[0]
            ids.append((line.split()[1], fault_id(b"\r\n".join(
                p.retr(int(num))[1]))))
        p.quit()
        present = [i for _, i in ids]
        gone = getattr(self, "deleted", None) or 1001
        kept = 1002 if gone == 1001 else 1001
        if r.acked and gone in present:
            r.fail("DELE + QUIT acknowledged, message still there")
        if kept not in present:
            r.fail("the message not deleted was lost")
        if not r.acked and gone not in present:
            # Allowed only if the deletion was in fact done (QUIT's +OK
            # lost with the process): count, do not fail.
            r.duplicates = 0
        for name, data in harness.maildir_messages(self.maildir(inst)):
            if not complete(data):
                r.fail("partial message: %s" % name)
        self.audit_store(inst, r, "bob")


# ---- paths through imapd on a Maildir (pre-authenticated) ---------------

def imapd_session(md, fault=None, log=None):
    cmd = "exec %s -m %s -u fault" % (shlex.quote(harness.libexec("imapd")),
                                      shlex.quote(md))
    if fault is not None:
        cmd = "LD_PRELOAD=%s CORREO_FAULT=%s ASAN_OPTIONS=%s %s" % (
            shlex.quote(SHIM), shlex.quote(fault),
            shlex.quote(asan_options()), cmd)
    if log is not None:
        cmd += " 2>>%s" % shlex.quote(log)
    return imaplib.IMAP4_stream(cmd)


def imap_contents(md):
    """{folder: {uid: (flags, id)}}, UIDVALIDITY per folder."""
    m = imapd_session(md)
    try:
        out, validity = {}, {}
        typ, data = m.list()
        folders = [re.search(rb'"([^"]*)"$|(\S+)$', d).group(0).strip(b'"')
                   .decode() for d in data if d]
        for folder in folders:
            typ, data = m.select('"%s"' % folder)
            if typ != "OK":
                raise AssertionError("SELECT %s: %s" % (folder, data))
            validity[folder] = m.untagged_responses.get(
                "UIDVALIDITY", [None])[-1]
            msgs = {}
            if int(data[0]) > 0:
                typ, data = m.fetch("1:*", "(UID FLAGS BODY.PEEK[])")
                for item in data:
                    if isinstance(item, tuple):
                        uid = int(re.search(rb"UID (\d+)",
                                            item[0]).group(1))
                        flags = re.search(rb"FLAGS \(([^)]*)\)",
                                          item[0]).group(1).decode()
                        if not complete(item[1]):
                            raise AssertionError("partial message %s/%d"
                                                 % (folder, uid))
                        msgs[uid] = (flags, fault_id(item[1]))
            out[folder] = msgs
        return out, validity
    finally:
        try:
            m.logout()
        except Exception:
            pass


def imap_audit_open(md):
    try:
        imap_contents(md)
    except Exception as e:
        return "store does not open cleanly: %s" % e
    return None


class ImapPath:
    """An operation of imapd on a Maildir prepared without faults."""

    progs = ("imapd",)

    def __init__(self, op, keep=False):
        self.op = op
        self.name = "imap-" + op
        self.keep = keep
        self.template = None

    def make_template(self):
        t = tempfile.mkdtemp(prefix="correo-fault-imap-")
        md = os.path.join(t, "Maildir")
        m = imapd_session(md)
        for k in (1, 2, 3):
            m.append("INBOX", None, None, body_of(2000 + k))
        if self.op == "compact":
            # Just under the compaction threshold (1024 log records): the
            # faulted session's changes cross it.
            m.select("INBOX")
            for i in range(505):
                m.store("1", "+FLAGS" if i % 2 == 0 else "-FLAGS",
                        r"(\Answered)")
        m.logout()
        self.template = t
        self.before, self.validity = imap_contents(md)

    def copy(self):
        t = tempfile.mkdtemp(prefix="correo-fault-run-")
        shutil.copytree(os.path.join(self.template, "Maildir"),
                        os.path.join(t, "Maildir"), symlinks=True)
        return t

    def act(self, m, n):
        """Run the operation; True if imapd said OK."""
        op = self.op
        if op == "append":
            typ, _ = m.append("INBOX", r"(\Seen)", None, body_of(n))
            return typ == "OK"
        m.select("INBOX")
        if op == "copy":
            typ, _ = m.copy("1", "Archive")
        elif op == "move":
            typ, _ = m.uid("MOVE", "1", "Archive")
        elif op == "store":
            typ, _ = m.store("2", "+FLAGS", r"(\Flagged)")
        elif op == "expunge":
            typ, _ = m.store("3", "+FLAGS", r"(\Deleted)")
            if typ == "OK":
                typ, _ = m.expunge()
        elif op == "compact":
            typ = "OK"
            for i in range(30):
                t, _ = m.store("2", "+FLAGS" if i % 2 == 0 else "-FLAGS",
                               r"(\Answered)")
                typ = t if t != "OK" else typ
            if typ == "OK":
                typ, _ = m.store("2", "+FLAGS", r"(\Flagged)")
        return typ == "OK"

    def trace(self):
        self.make_template()
        t = self.copy()
        log = os.path.join(t, "trace")
        try:
            m = imapd_session(os.path.join(t, "Maildir"), "trace", log)
            self.act(m, 0)
            m.logout()
            with open(log) as f:
                return parse_trace(f.read(), self.progs)
        finally:
            shutil.rmtree(t, True)

    def run(self, point, action, n):
        r = Result(self.name, point, action)
        t = self.copy()
        md = os.path.join(t, "Maildir")
        log = os.path.join(t, "stderr")
        try:
            try:
                m = imapd_session(md, point.spec(action), log)
                r.acked = self.act(m, n)
                try:
                    m.logout()
                except Exception:
                    pass
            except (imaplib.IMAP4.error, OSError, EOFError):
                r.acked = False
            try:
                after, validity = imap_contents(md)
            except Exception as e:
                r.fail("store does not open cleanly: %s" % e)
                return r
            self.audit(r, after, validity, n)
            if action in ERRTEXT:
                with open(log, errors="replace") as f:
                    text = f.read()
                if r.acked is False and ERRTEXT[action] not in text:
                    r.fail("the injected %s was not reported" % action)
        finally:
            if self.keep and r.problems:
                print("kept %s" % t, file=sys.stderr)
            else:
                shutil.rmtree(t, True)
        return r

    def audit(self, r, after, validity, n):
        for folder, v in validity.items():
            if folder in self.validity and self.validity[folder] != v:
                r.fail("UIDVALIDITY of %s changed" % folder)
        where = {}
        for folder, msgs in after.items():
            before = self.before.get(folder, {})
            for uid, (flags, mid) in msgs.items():
                where.setdefault(mid, []).append((folder, flags))
                if uid in before and before[uid][1] != mid:
                    r.fail("UID %d of %s reused" % (uid, folder))
        for k in (2001, 2002, 2003):
            if k not in where and not (self.op in ("expunge",) and
                                       k == 2003):
                r.fail("message %d lost" % k)
        op = self.op
        copies = len(where.get(n, [])) if op == "append" else 0
        if op == "append" and r.acked and copies == 0:
            r.fail("APPEND acknowledged, message lost")
        if op == "append":
            r.duplicates = max(0, copies - 1)
        if op in ("copy", "move") and r.acked:
            if not any(f == "Archive" for f, _ in where.get(2001, [])):
                r.fail("%s acknowledged, not in Archive" % op.upper())
        if op == "move" and r.acked and any(
                f == "INBOX" for f, _ in where.get(2001, [])):
            r.fail("MOVE acknowledged, still in INBOX")
        if op in ("copy", "move"):
            r.duplicates = max(0, len(where.get(2001, [])) -
                               (2 if op == "copy" else 1))
        if op in ("store", "compact") and r.acked and not any(
                "\\Flagged" in fl for _, fl in where.get(2002, [])):
            r.fail("STORE acknowledged, flag lost")
        if op == "expunge" and r.acked and 2003 in where:
            r.fail("EXPUNGE acknowledged, message still there")


PATHS = {
    "smtp": SmtpPath,
    "pickup": PickupPath,
    "pop3": Pop3Path,
    "imap-append": lambda keep=False: ImapPath("append", keep),
    "imap-copy": lambda keep=False: ImapPath("copy", keep),
    "imap-move": lambda keep=False: ImapPath("move", keep),
    "imap-expunge": lambda keep=False: ImapPath("expunge", keep),
    "imap-store": lambda keep=False: ImapPath("store", keep),
    "imap-compact": lambda keep=False: ImapPath("compact", keep),
}


def run_path(name, fast=False, keep=False, report=print):
    """Enumerate a path's fault points and run each. fast: one point per
    (program, kind), one action each (rotating). Returns (points,
    results)."""
    path = PATHS[name](keep=keep)
    points = path.trace()
    if isinstance(path, ImapPath) and path.template is None:
        path.make_template()
    todo = []
    if fast:
        seen = {}
        for p in points:
            key = (p.prog, p.kind)
            if key not in seen:
                seen[key] = p
        for i, p in enumerate(seen.values()):
            acts = actions_for(p.kind)
            todo.append((p, acts[i % len(acts)]))
    else:
        todo = [(p, a) for p in points for a in actions_for(p.kind)]
    results = []
    n = 1
    for p, a in todo:
        r = path.run(p, a, n)
        n += 1
        results.append(r)
        report(repr(r))
    if isinstance(path, ImapPath) and path.template:
        shutil.rmtree(path.template, True)
    return points, results


def main(argv):
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("paths", nargs="*", default=list(PATHS))
    ap.add_argument("--fast", action="store_true")
    ap.add_argument("--keep", action="store_true",
                    help="keep the directories of failed runs")
    ap.add_argument("--table", help="write a markdown table here")
    args = ap.parse_args(argv)
    rows, bad = [], 0
    for name in args.paths:
        t0 = time.monotonic()
        points, results = run_path(name, args.fast, args.keep)
        failed = [r for r in results if r.problems]
        bad += len(failed)
        rows.append((name, len(points), len(results),
                     sum(r.acked for r in results),
                     sum(r.duplicates for r in results), len(failed),
                     time.monotonic() - t0))
    table = ("| path | fault points | faults injected | acknowledged | "
             "lost or broken | duplicated | seconds |\n|---|---|---|---|"
             "---|---|---|\n")
    for name, np, nr, na, nd, nf, secs in rows:
        table += "| %s | %d | %d | %d | %d | %d | %.0f |\n" % (
            name, np, nr, na, nf, nd, secs)
    print(table)
    if args.table:
        with open(args.table, "w") as f:
            f.write(table)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
