#!/usr/bin/env python3
"""login: the pre-auth front end (common/login) and the mail-process
spawner, through POP3: what the mail process inherits (its descriptors)
and holds (no earlier user's credentials), many clients per front-end
process, the pre-auth deadline and command limit, the plaintext policy's
loopback exemption, a forged login cookie, and a flood of idle
connections on one port that must not delay a login on another (with
the memory an idle connection costs).
"""
import base64
import os
import re
import socket
import ssl
import subprocess
import time

import harness
from test_pop3 import Client, PASSWORD, USER

USER2 = "alice@demo.test"
PASSWORD2 = "alice's other secret 7"

ROWS = ("\n127.0.0.1:{p112}     inet n       correo-login y -   100     "
        "pop3-login -o pop3_disable_plaintext_auth=yes\n")

CONFIG = {
    "pop3_disable_plaintext_auth": "no",
    "auth_failure_delay": "10ms",
    "auth_failure_delay_max": "20ms",
    "pop3_timeout": "30s",
}


def plain(user, password):
    return base64.b64encode(("\0%s\0%s" % (user, password)).encode())


def fds_of(pid):
    out = {}
    d = "/proc/%d/fd" % pid
    for n in os.listdir(d):
        try:
            out[int(n)] = os.readlink(os.path.join(d, n))
        except OSError:
            pass
    return out


def memory_has(pid, needles):
    """Which of needles occur in the writable memory of pid (heap, stack,
    anonymous maps, data): read through /proc/PID/mem, no core."""
    found = set()
    with open("/proc/%d/maps" % pid) as f:
        maps = f.read().splitlines()
    with open("/proc/%d/mem" % pid, "rb", buffering=0) as mem:
        for line in maps:
            fields = line.split()
            start, end = (int(x, 16) for x in fields[0].split("-"))
            if "w" not in fields[1] or (len(fields) > 5 and
                                        fields[5].startswith("[v")):
                continue
            # Sanitizer builds reserve terabytes of shadow memory:
            # skip giant regions, read the rest in pieces.
            if end - start > 1 << 30:
                continue
            pos, tail = start, b""
            while pos < end:
                size = min(end - pos, 16 << 20)
                try:
                    mem.seek(pos)
                    data = tail + mem.read(size)
                except OSError:
                    break
                for n in needles:
                    if n in data:
                        found.add(n)
                tail = data[-256:]
                pos += size
    return found


def pss_kb(pid):
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1])
    raise AssertionError("no Pss for %d" % pid)


class LoginTest(harness.TestCase):
    @classmethod
    def setUpClass(cls):
        if not (harness.have_daemon("pop3d") and
                harness.have_daemon("pop3-login") and
                harness.have_daemon("auth")):
            raise __import__("unittest").SkipTest("pop3d/auth not built")

    def make_instance(self, root_mode=False, config=None):
        conf = dict(CONFIG)
        conf.update(config or {})
        inst = self.instance(config=conf, root_mode=root_mode)
        self.ports = dict(p110=inst.port(110), p112=inst.port(112),
                          p995=inst.port(995))
        with open(os.path.join(inst.dir, "services.conf"), "a") as f:
            f.write(ROWS.format(**self.ports))
        self.inst = inst
        self.make_cert(inst)
        for user, pw in ((USER, PASSWORD), (USER2, PASSWORD2)):
            self.add_user(inst, user, pw)
        return inst

    def add_user(self, inst, user, pw):
        inst.add_user(user, pw)

    def make_cert(self, inst):
        inst.make_cert()

    def start(self):
        self.inst.start()
        self.inst.wait_for_port(self.ports["p110"])
        self.inst.wait_for_port(self.ports["p995"])

    def ctx(self):
        c = ssl.create_default_context()
        c.check_hostname = False
        c.verify_mode = ssl.CERT_NONE
        return c

    def client(self, port=None, **kw):
        c = Client(port or self.ports["p110"], **kw)
        self.addCleanup(c.close)
        greeting = c.line().decode()
        self.assertTrue(greeting.startswith("+OK"), greeting)
        return c

    def mail_processes(self):
        return [p for p in self.inst.children("pop3d")
                if "--mail-session" in p["argv"]]

    def wait_mail_process(self, uid=None, timeout=5):
        deadline = time.time() + timeout
        while time.time() < deadline:
            procs = [p for p in self.mail_processes()
                     if uid is None or p["uid"] == uid]
            if procs:
                return procs
            time.sleep(0.05)
        self.fail("no mail process")

    def login_process(self, port, minfds=1):
        """The pop3-login process holding at least minfds sockets, on
        the row of port (its argv names no port: pick by fd count)."""
        best = None
        for p in self.inst.children("pop3-login"):
            n = sum(1 for t in fds_of(p["pid"]).values()
                    if t.startswith("socket:"))
            if n >= minfds and (best is None or n > best[1]):
                best = (p, n)
        return best

    # ---- the mail process ----

    def check_mail_fds(self, pid, maildir):
        fds = fds_of(pid)
        self.assertTrue(fds.get(0, "").startswith("socket:"), fds)
        sockets = [fd for fd, t in fds.items() if t.startswith("socket:")]
        # fd 3: the held anvil connection counting the session for
        # mail_max_userip_connections, a Unix socket.
        self.assertIn(sorted(sockets), ([0], [0, 3]), fds)
        if 3 in sockets:
            with open("/proc/net/unix") as f:
                inodes = {l.split()[6] for l in f.readlines()[1:]}
            self.assertIn(fds[3][len("socket:["):-1], inodes, fds)
        self.assertEqual(fds.get(2), self.inst.log_file, fds)
        for fd, target in fds.items():
            if fd in (0, 2, 3):
                continue
            # The parameter pipe's place, kept taken (std_fds_reserve).
            if fd == 1 and target == "/dev/null":
                continue
            # Only what the session opened itself: its Maildir's files.
            self.assertTrue(target.startswith(maildir + "/"),
                            (fd, target, fds))

    def test_root_mail_process_fds_and_memory(self):
        if not harness.is_root():
            self.skipTest("needs root")
        subprocess.run(["/usr/sbin/useradd", "--system", "--no-create-home",
                        "--home-dir", "/nonexistent", "--shell",
                        "/usr/sbin/nologin", "correo-login"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        inst = self.make_instance(root_mode=True)
        self.start()
        b64_bob, b64_alice = plain(USER, PASSWORD), plain(USER2, PASSWORD2)
        c = self.client()
        c.assert_ok(c.cmd("AUTH PLAIN " + b64_bob.decode()))
        c.assert_ok(c.cmd("STAT"))
        c.assert_ok(c.cmd("QUIT"))
        c.close()
        time.sleep(0.3)
        c = self.client()
        c.assert_ok(c.cmd("AUTH PLAIN " + b64_alice.decode()))
        c.assert_ok(c.cmd("STAT"))
        procs = self.wait_mail_process()
        self.assertEqual(len(procs), 1, procs)
        mail = procs[0]
        maildir = os.path.join(inst.mail_dir, "demo.test", "alice")
        self.assertNotEqual(mail["uid"], 0)
        self.check_mail_fds(mail["pid"], maildir)
        # No credentials in the mail process, the spawner or the front
        # end, from the previous user or this one.
        needles = {b64_bob, PASSWORD.encode(), b64_alice,
                   PASSWORD2.encode()}
        self.assertEqual(memory_has(mail["pid"], needles), set())
        for p in inst.children("pop3d"):
            if p["pid"] != mail["pid"]:
                self.assertEqual(memory_has(p["pid"], needles), set(),
                                 "spawner %d" % p["pid"])
        for p in inst.children("pop3-login"):
            self.assertEqual(memory_has(p["pid"], {b64_bob,
                                                   PASSWORD.encode()}),
                             set(), "front end %d" % p["pid"])
        c.assert_ok(c.cmd("QUIT"))
        # Over TLS the mail process has one end of a socketpair.
        c = self.client(self.ports["p995"], tls=True, ctx=self.ctx())
        c.assert_ok(c.cmd("AUTH PLAIN " + b64_alice.decode()))
        c.assert_ok(c.cmd("STAT"))
        mail = self.wait_mail_process()[0]
        self.check_mail_fds(mail["pid"], maildir)
        c.assert_ok(c.cmd("QUIT"))

    def test_forged_cookie_refused(self):
        self.make_instance()
        self.start()
        path = self.inst.wait_for_unix("pop3d")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect(path)
        self.addCleanup(s.close)
        buf = b""
        while b"\n\n" not in buf:
            d = s.recv(4096)
            self.assertTrue(d, "the spawner closed")
            buf += d
        self.assertEqual(buf, b"protocol=login\n\n")
        victim = socket.create_connection(("127.0.0.1",
                                           self.ports["p110"]))
        self.addCleanup(victim.close)
        socket.send_fds(s, [b"L"], [victim.fileno()])
        s.sendall(b"request=login\ncookie=" + b"0" * 64 +
                  b"\nclient_address=127.0.0.1\n"
                  b"local_address=127.0.0.1\ntls=no\n\n")
        mark = s.recv(1)
        self.assertEqual(mark, b"L")
        reply = b""
        while not reply.endswith(b"\n\n"):
            d = s.recv(4096)
            self.assertTrue(d, "the spawner closed: %r" % reply)
            reply += d
        self.assertIn(b"status=fail", reply)
        self.assertEqual(self.mail_processes(), [])
        # The spawner survived it and serves the real front ends.
        c = self.client()
        c.assert_ok(c.login())

    # ---- many clients, limits ----

    def test_many_clients_one_process(self):
        self.make_instance()
        self.start()
        socks = []
        for i in range(300):
            sk = socket.create_connection(("127.0.0.1", self.ports["p110"]),
                                          timeout=10)
            socks.append(sk)
        self.addCleanup(lambda: [sk.close() for sk in socks])
        for sk in socks:
            self.assertTrue(sk.recv(100).startswith(b"+OK"))
        best = self.login_process(self.ports["p110"], 300)
        self.assertIsNotNone(best, "no process holds 300 clients")
        # One process serves them all, and still logs a client in.
        c = self.client()
        c.assert_ok(c.login())
        c.assert_ok(c.cmd("STAT"))

    def test_deadline_and_command_limit(self):
        self.make_instance(config={"login_timeout": "2s",
                                   "login_command_limit": "10"})
        self.start()
        c = self.client()
        t0 = time.time()
        c.sock.settimeout(10)
        self.assertEqual(c.line(), b"-ERR Disconnected for inactivity.")
        self.assertLess(time.time() - t0, 6)
        self.assertEqual(c.sock.recv(100), b"")
        # CAPA is a command like any other before login.
        c = self.client()
        c.send(b"CAPA\r\n" * 20)
        data = b""
        while True:
            d = c.sock.recv(65536)
            if not d:
                break
            data += d
        self.assertEqual(data.count(b"+OK Capability list follows"), 10)
        self.assertTrue(data.endswith(b"-ERR Too many bad commands.\r\n"),
                        data[-200:])

    def test_plaintext_allowed_on_loopback(self):
        self.make_instance()
        self.start()
        self.inst.wait_for_port(self.ports["p112"])
        # pop3_disable_plaintext_auth=yes, but 127.0.0.1 is loopback.
        c = self.client(self.ports["p112"])
        c.assert_ok(c.cmd("CAPA"))
        self.assertIn("USER", c.multi().decode().split("\r\n"))
        c.assert_ok(c.login())
        c.assert_ok(c.cmd("QUIT"))
        c = self.client(self.ports["p112"])
        c.assert_ok(c.cmd("AUTH PLAIN " + plain(USER, PASSWORD).decode()))
        c.assert_ok(c.cmd("QUIT"))

    def test_tls_session_survives_reload(self):
        self.make_instance()
        self.start()
        c = self.client(self.ports["p995"], tls=True, ctx=self.ctx())
        c.assert_ok(c.login())
        c.assert_ok(c.cmd("STAT"))
        old = {p["pid"] for p in self.inst.children("pop3-login")}
        self.inst.reload()
        time.sleep(1.0)
        # The front end that proxies the session finishes it first.
        c.assert_ok(c.cmd("STAT"))
        c.assert_ok(c.cmd("QUIT"))
        deadline = time.time() + 10
        while time.time() < deadline:
            alive = old & {p["pid"] for p in
                           self.inst.children("pop3-login")}
            if not alive:
                break
            time.sleep(0.1)
        c2 = self.client(self.ports["p995"], tls=True, ctx=self.ctx())
        c2.assert_ok(c2.login())

    # ---- floods ----

    def timed_995_login(self, user, password):
        t0 = time.time()
        c = Client(self.ports["p995"], tls=True, ctx=self.ctx(), timeout=5)
        c.assert_ok(c.line().decode())
        c.assert_ok(c.cmd("USER " + user))
        c.assert_ok(c.cmd("PASS " + password))
        elapsed = time.time() - t0
        c.assert_ok(c.cmd("QUIT"))
        c.close()
        time.sleep(0.2)
        return elapsed

    def test_flood_110_does_not_stop_995(self):
        n = 1000
        self.make_instance()
        self.start()
        baseline = self.timed_995_login(USER2, PASSWORD2)
        # One client first, so the process and its libraries are there.
        first = self.client()
        time.sleep(0.2)
        proc = self.login_process(self.ports["p110"])[0]
        before = pss_kb(proc["pid"])
        socks = [first.sock]
        for i in range(n - 1):
            socks.append(socket.create_connection(
                ("127.0.0.1", self.ports["p110"]), timeout=10))
        self.addCleanup(lambda: [sk.close() for sk in socks])
        for sk in socks[1:]:
            self.assertTrue(sk.recv(100).startswith(b"+OK"))
        after = pss_kb(proc["pid"])
        per_conn = (after - before) * 1024 / (n - 1)
        print("PSS per idle pre-auth connection: %.1f kB (%d -> %d kB)"
              % (per_conn / 1024, before, after))
        self.assertLessEqual(per_conn, 50 * 1024)
        t0 = time.time()
        c = Client(self.ports["p995"], tls=True, ctx=self.ctx(), timeout=5)
        self.addCleanup(c.close)
        c.assert_ok(c.line().decode())
        c.assert_ok(c.login())
        elapsed = time.time() - t0
        # Within 1 s; on a machine so loaded that even an unflooded
        # login takes longer, within twice that.
        self.assertLess(elapsed, max(1.0, 2 * baseline + 0.2),
                        "baseline %.2f s" % baseline)
        c.assert_ok(c.cmd("STAT"))
        # 110 itself: master started another front end for it.
        c = Client(self.ports["p110"], timeout=10)
        self.addCleanup(c.close)
        c.assert_ok(c.line().decode())
        c.assert_ok(c.cmd("USER " + USER2))
        c.assert_ok(c.cmd("PASS " + PASSWORD2))


if __name__ == "__main__":
    harness.main()
