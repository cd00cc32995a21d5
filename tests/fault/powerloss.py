"""powerloss.py: simulated power loss on the receive -> deliver path.

This machine has no device-mapper (no dm-flakey, no dm-log-writes), so
the cut is simulated the way ALICE does it: the fault shim records every
change correo makes to the file system (tests/fault/faultshim.c, record
mode: creates, writes with their bytes, truncates, renames, links,
unlinks, mkdirs, and every fsync of a file or a directory), while real
clients send mail to a real instance. Then, for every fsync in the
recording (each one is a point where the disk is known to hold
something), the state a power cut just after it could leave is built
from a copy of the instance taken before the mail was sent, keeping
only what POSIX promises to have reached the disk by then:

- a file's bytes survive only if an fsync/fdatasync of that file came
  after them (before the cut);
- a name created or removed in a directory survives only if an fsync of
  that directory came after it;
- a rename is atomic, as on every journaling file system (and in ALICE's
  model): it survives, both halves at once, if an fsync of its source or
  of its target directory came after it, else neither half does.

Anything else is lost, the harshest outcome the rules allow. correo is
then started on that state, given time to recover, and audited: every
message whose 250 came before the cut is delivered, whole; the queue
drains; no message file is partial; the mailbox index opens.
"""

import os
import shutil
import signal
import smtplib
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import faults  # noqa: E402
import harness  # noqa: E402

MESSAGES = 3


def _only_files(d, names):
    """copytree's ignore: sockets and fifos (master's) are not copied."""
    import stat
    out = []
    for n in names:
        try:
            m = os.lstat(os.path.join(d, n)).st_mode
        except OSError:
            out.append(n)
            continue
        if not (stat.S_ISREG(m) or stat.S_ISDIR(m) or stat.S_ISLNK(m)):
            out.append(n)
    return out


def copy_tree(src, dst):
    """A copy keeping owners and modes (cp -a), without master's
    sockets."""
    import stat
    subprocess.run(["cp", "-a", src, dst], check=True)
    for d, dn, fn in os.walk(dst):
        for n in fn:
            p = os.path.join(d, n)
            if stat.S_ISSOCK(os.lstat(p).st_mode) or \
                    stat.S_ISFIFO(os.lstat(p).st_mode):
                os.unlink(p)


def scan(root):
    """{relpath: (ino, bytes)} of the files and {relpath: ino} of the
    directories under root (symlinks skipped)."""
    files, dirs = {}, {}
    for d, dn, fn in os.walk(root):
        rel = os.path.relpath(d, root)
        st = os.lstat(d)
        dirs[rel] = "%d:%d" % (st.st_dev, st.st_ino)
        for n in fn:
            p = os.path.join(d, n)
            st = os.lstat(p)
            if not os.path.isfile(p) or os.path.islink(p):
                continue
            try:
                with open(p, "rb") as f:
                    data = f.read()
            except OSError:
                data = b""
            files[os.path.normpath(os.path.join(rel, n))] = (
                "%d:%d" % (st.st_dev, st.st_ino), data)
    return files, dirs


def parse(path, root, t0):
    """The recorded operations under root after t0: [(ts, op, fields)]."""
    ops = []
    root = root.rstrip("/") + "/"
    with open(path, errors="replace") as f:
        for line in f:
            parts = line.rstrip("\n").split(" ")
            if len(parts) < 3:
                continue
            ts, op, rest = int(parts[0]), parts[1], parts[2:]
            if ts < t0:
                continue
            ops.append((ts, op, rest))
    ops.sort(key=lambda o: o[0])

    def rel(p):
        p = os.path.normpath(p)
        if not (p + "/").startswith(root) and p + "/" != root:
            return None
        return os.path.relpath(p, root)
    out = []
    for ts, op, f in ops:
        if op in ("C", "T") and len(f) == 2 and f[1].startswith("/"):
            r = rel(f[1])     # created (T: truncated) by open
            if r is not None:
                out.append((ts, "C", (f[0], r)))
        elif op == "T" and len(f) == 2:
            out.append((ts, "T", (f[0], int(f[1]))))
        elif op == "W":
            out.append((ts, "W", (f[0], int(f[1]), bytes.fromhex(f[2]))))
        elif op == "S":
            out.append((ts, "S", (f[0],)))
        elif op == "D":
            r = rel(f[1])
            if r is not None:
                out.append((ts, "D", (f[0], r)))
        elif op == "R":
            a, b = rel(f[1]), rel(f[2])
            if a is not None and b is not None:
                out.append((ts, "R", (f[0], a, b)))
        elif op == "L":
            r = rel(f[1])
            if r is not None:
                out.append((ts, "L", (f[0], r)))
        elif op == "U":
            r = rel(f[0])
            if r is not None:
                out.append((ts, "U", (r,)))
        elif op == "M":
            r = rel(f[1])
            if r is not None:
                out.append((ts, "M", (f[0], r)))
        elif op in ("N", "P") and len(f) == 2:
            out.append((ts, op, (f[0], int(f[1], 8))))
    return out


def generations(ops, snap_files):
    """Inode numbers are reused (a file unlinked, a new one created gets
    its number): give each file its own key, "DEV:INO#N" for the Nth
    reuse, by following the names as they really were."""
    actual = {p: ino for p, (ino, _) in snap_files.items()}
    key = {ino: ino for ino in actual.values()}
    reuse = {}
    out = []
    for ts, op, f in ops:
        if op == "R" and f[0] not in key:
            # A file under the instance renamed without a recorded
            # creation: the shim missed how it was made, and its inode
            # number may be shared with a file removed before it, so
            # every state built from here on would be wrong.
            raise RuntimeError("recording hole: %s renamed to %s was "
                               "never seen created" % (f[1], f[2]))
        if op == "C":
            ino, path = f
            if actual.get(path) != ino:     # a new file
                if ino in key:
                    reuse[ino] = reuse.get(ino, 0) + 1
                    key[ino] = "%s#%d" % (ino, reuse[ino])
                else:
                    key[ino] = ino
            actual[path] = ino
            f = (key[ino], path)
        elif op in ("W", "T", "S", "N", "P"):
            f = (key.get(f[0], f[0]),) + tuple(f[1:])
        elif op == "R":
            actual.pop(f[1], None)
            actual[f[2]] = f[0]
            f = (key.get(f[0], f[0]), f[1], f[2])
        elif op == "L":
            actual[f[1]] = f[0]
            f = (key.get(f[0], f[0]), f[1])
        elif op == "U":
            actual.pop(f[0], None)
        out.append((ts, op, f))
    return out


def crash_state(snap_files, snap_dirs, ops, cut):
    """The files ({relpath: bytes}), directories and file modes
    ({relpath: mode}, where known) a power cut at time cut may leave, by
    the rules in the module doc: a file is born with its creation mode,
    and a chmod survives as its bytes do, if an fsync of the file came
    after it."""
    # Which directory (by path) and which file (by inode) was synced
    # when: a change at t survives if a sync in (t, cut] covers it.
    dir_syncs, file_syncs = {}, {}
    dir_ino = dict(snap_dirs)
    for ts, op, f in ops:
        if op == "M":
            dir_ino[f[1]] = f[0]
    ino_dir = {v: k for k, v in dir_ino.items()}
    for ts, op, f in ops:
        if ts > cut:
            break
        if op == "D":
            d = ino_dir.get(f[0], f[1])
            dir_syncs.setdefault(d, []).append(ts)
        elif op == "S":
            file_syncs.setdefault(f[0], []).append(ts)

    def dir_synced(path, t):
        d = os.path.dirname(path) or "."
        return any(t < s <= cut for s in dir_syncs.get(d, ()))

    def data_synced(ino, t):
        return any(t < s <= cut for s in file_syncs.get(ino, ()))

    content = {ino: bytearray(data) for ino, data in snap_files.values()}
    modes = {}
    names = {p: ino for p, (ino, _) in snap_files.items()}
    dirs = set(snap_dirs)
    for ts, op, f in ops:
        if ts > cut:
            break
        if op == "W" and data_synced(f[0], ts):
            buf = content.setdefault(f[0], bytearray())
            off, data = f[1], f[2]
            if len(buf) < off:
                buf.extend(b"\0" * (off - len(buf)))
            buf[off:off + len(data)] = data
        elif op == "T" and data_synced(f[0], ts):
            buf = content.setdefault(f[0], bytearray())
            del buf[f[1]:]
            if len(buf) < f[1]:
                buf.extend(b"\0" * (f[1] - len(buf)))
        elif op in ("C", "L") and dir_synced(f[1], ts):
            names[f[1]] = f[0]
            content.setdefault(f[0], bytearray())
        elif op == "R" and (dir_synced(f[1], ts) or dir_synced(f[2], ts)):
            # Atomic: both names change together, once either directory
            # is synced (one journal transaction holds the rename).
            names[f[2]] = f[0]
            content.setdefault(f[0], bytearray())
            if f[1] != f[2]:
                names.pop(f[1], None)
        elif op == "U" and dir_synced(f[0], ts):
            names.pop(f[0], None)
        elif op == "M" and dir_synced(f[1], ts):
            dirs.add(f[1])
        elif op == "N" or (op == "P" and data_synced(f[0], ts)):
            modes[f[0]] = f[1]
    files = {p: bytes(content[ino]) for p, ino in names.items()
             if os.path.dirname(p) in dirs or os.path.dirname(p) == ""}
    file_modes = {p: modes[ino] for p, ino in names.items()
                  if p in files and ino in modes}
    return files, dirs, file_modes


def materialize(snapshot, target, files, dirs, modes):
    """Make target hold exactly files/dirs, owned and moded like the
    snapshot's (new entries like their directory), files in modes with
    the mode given there."""
    if os.path.exists(target):
        shutil.rmtree(target)
    copy_tree(snapshot, target)
    for d in sorted(dirs, key=len):
        p = os.path.join(target, d)
        if not os.path.isdir(p):
            parent = os.stat(os.path.dirname(p))
            os.mkdir(p, 0o700)
            os.chown(p, parent.st_uid, parent.st_gid)
    for d, dn, fn in os.walk(target, topdown=False):
        rel = os.path.relpath(d, target)
        for n in fn:
            r = os.path.normpath(os.path.join(rel, n))
            p = os.path.join(d, n)
            if os.path.islink(p):
                continue
            if r not in files:
                os.unlink(p)
        if rel != "." and rel not in dirs:
            shutil.rmtree(d, ignore_errors=True)
    for r, data in files.items():
        p = os.path.join(target, r)
        if not os.path.isdir(os.path.dirname(p)):
            continue
        existed = os.path.exists(p)
        with open(p, "wb") as f:
            f.write(data)
        if not existed:
            parent = os.stat(os.path.dirname(p))
            os.chown(p, parent.st_uid, parent.st_gid)
            os.chmod(p, 0o600)
        if r in modes:
            os.chmod(p, modes[r])


def record_run(inst, log):
    """Start inst recording; send MESSAGES messages; return (t0,
    snapshot dir, snapshot scan, [ack times])."""
    path = os.path.join(inst.dir, "correo.conf")
    with open(path) as f:
        clean = f.read()
    with open(path, "a") as f:
        f.write("\nimport_environment = %s\nsandbox = no\n" %
                faults.import_environment("record:" + log))
    open(log, "w").close()
    os.chmod(log, 0o666)
    inst.start()
    inst.wait_for_port(inst.smtp_port)
    time.sleep(1.0)     # quiet: every daemon up
    snapshot = inst.dir + ".snapshot"
    t0 = time.monotonic_ns()
    copy_tree(inst.dir, snapshot)
    with open(os.path.join(snapshot, "correo.conf"), "w") as f:
        f.write(clean)
    snap = scan(inst.dir)
    acks = []
    for n in range(1, MESSAGES + 1):
        try:
            with smtplib.SMTP("127.0.0.1", inst.smtp_port, timeout=20) as s:
                s.sendmail("alice@example.org", ["demo@demo.test"],
                           faults.body_of(n))
            acks.append((n, time.monotonic_ns()))
        except (smtplib.SMTPException, OSError):
            pass
    md = os.path.join(inst.mail_dir, "demo.test", "demo")
    harness.wait_for(lambda: len(harness.maildir_messages(md)) >= MESSAGES,
                     30, what="%d messages delivered" % MESSAGES)
    time.sleep(1.0)
    return t0, snapshot, snap, acks


def audit(inst, acks, cut):
    """Start correo on the crash state in inst.dir; return problems."""
    problems = []
    inst.start()
    md = os.path.join(inst.mail_dir, "demo.test", "demo")
    want = {n for n, t in acks if t <= cut}
    pi = faults.InstancePath()

    def done():
        got = {faults.fault_id(d) for _, d in harness.maildir_messages(md)
               if faults.complete(d)}
        return want <= got and not pi.queue_files(inst)
    ok = pi.settle(inst, done, timeout=25)
    for name, data in harness.maildir_messages(md):
        if not faults.complete(data):
            problems.append("partial message %s" % name)
    got = {faults.fault_id(d) for _, d in harness.maildir_messages(md)}
    for n in sorted(want - got):
        problems.append("message %d lost (250 before the cut)" % n)
    if not ok and not problems:
        problems.append("queue did not drain: %s" % pi.queue_files(inst))
    problem = faults.imap_audit_open(md) if os.path.isdir(md) else None
    if problem:
        problems.append(problem)
    q = inst.correo("queue")
    if q.returncode != 0:
        problems.append("correo queue: %s" % q.stderr.strip())
    inst.stop(check=False)
    for p in inst.processes():
        try:
            os.kill(p["pid"], signal.SIGKILL)
        except OSError:
            pass
    copies = len([1 for _, d in harness.maildir_messages(md)
                  if faults.fault_id(d) in want])
    return problems, max(0, copies - len(want)), len(want)


def run(report=print, every=1):
    """Record once, then audit every cut (every Nth and the last, with
    every=N). Returns [(cut label, acked, duplicates, problems)]."""
    results = []
    inst = harness.Instance(config={"queue_run_delay": "1s",
                                    "minimal_backoff_time": "1s",
                                    "maximal_backoff_time": "2s"})
    log = os.path.join(inst.tmp, "record.log")
    try:
        t0, snapshot, (snap_files, snap_dirs), acks = record_run(inst, log)
        inst.stop(check=False)
        for p in inst.processes():
            try:
                os.kill(p["pid"], signal.SIGKILL)
            except OSError:
                pass
        ops = generations(parse(log, inst.dir, t0), snap_files)
        cuts = [ts for ts, op, _ in ops if op in ("S", "D")]
        cuts.append(ops[-1][0] if ops else t0)
        for i, cut in enumerate(cuts):
            if i % every != 0 and i != len(cuts) - 1:
                continue
            files, dirs, modes = crash_state(snap_files, snap_dirs, ops,
                                             cut)
            materialize(snapshot, inst.dir, files, dirs, modes)
            if inst.user is not None:
                os.chown(inst.dir, inst.user.pw_uid, inst.user.pw_gid)
            problems, dups, acked = audit(inst, acks, cut)
            label = "cut %d/%d" % (i + 1, len(cuts))
            results.append((label, acked, dups, problems))
            report("%s: %d acknowledged before it, %d duplicated%s" % (
                label, acked, dups,
                "; " + "; ".join(problems) if problems else ""))
    finally:
        shutil.rmtree(inst.dir + ".snapshot", True)
        inst.cleanup()
    return results


if __name__ == "__main__":
    res = run()
    bad = [r for r in res if r[3]]
    print("%d cuts, %d with problems" % (len(res), len(bad)))
    sys.exit(1 if bad else 0)
