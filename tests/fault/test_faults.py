#!/usr/bin/env python3
"""faults (fast subset): one injected fault per (program, kind) on every
path a message takes, each followed by the audit of tests/fault/faults.py
(acknowledged = delivered, refused = not half-delivered, nothing left
unreadable, the error logged). `make crashtest` runs every point with
every action."""
import fcntl
import os
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faults  # noqa: E402
import harness  # noqa: E402


class FaultsFast(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        if not os.path.exists(faults.SHIM):
            raise unittest.SkipTest(faults.SHIM + " not built")
        for d in ("smtpd", "qmgr", "local", "imapd", "pop3d", "pickup"):
            if not harness.have_daemon(d):
                raise unittest.SkipTest(d + " not built")

    def check_path(self, name):
        points, results = faults.run_path(name, fast=True,
                                          report=lambda s: None)
        self.assertTrue(points, "%s: no fault point found" % name)
        bad = [repr(r) for r in results if r.problems]
        self.assertEqual(bad, [], "\n".join(bad))


class TempSweep(harness.TestCase):
    """A writer killed mid-file leaves its unfinished file: in incoming/
    an ID in the writing mode (0200), in maildrop/ a ".ID". qmgr removes
    those older than an hour, and logs it, and leaves alone a young one
    and an old one whose writer still holds its lock (a live writer's,
    however slow: its commit may be under way)."""

    def test_stale_temporary_files_removed(self):
        inst = self.instance()
        old = ["incoming/1K1MH497K8T002FM00", "maildrop/.1K1MH497K8T002FM01",
               "incoming/.1K1MH497K8T002FM03"]
        young = "incoming/1K1MH497K8T002FM02"
        locked = "incoming/1K1MH497K8T002FM04"
        for rel in old + [young, locked]:
            path = os.path.join(inst.queue, rel)
            with open(path, "w") as f:
                f.write("partial")
            if inst.user is not None:
                os.chown(path, inst.user.pw_uid, inst.user.pw_gid)
            if not os.path.basename(rel).startswith("."):
                os.chmod(path, 0o200)
        t = time.time() - 2 * 3600
        for rel in old + [locked]:
            os.utime(os.path.join(inst.queue, rel), (t, t))
        # The live writer's lock (flock, as queue_file.c takes it).
        fd = os.open(os.path.join(inst.queue, locked), os.O_WRONLY)
        self.addCleanup(os.close, fd)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        inst.start()
        for rel in old:
            inst.wait_for_log(r"removed %s, a temporary file" %
                              re.escape(rel))
            self.assertFalse(os.path.exists(os.path.join(inst.queue, rel)))
        self.assertTrue(os.path.exists(os.path.join(inst.queue, young)))
        self.assertTrue(os.path.exists(os.path.join(inst.queue, locked)))
        self.assertNotIn("1K1MH497K8T002FM0", inst.correo("queue").stdout)


for _name in faults.PATHS:
    setattr(FaultsFast, "test_" + _name.replace("-", "_"),
            lambda self, n=_name: self.check_path(n))


if __name__ == "__main__":
    harness.main()
