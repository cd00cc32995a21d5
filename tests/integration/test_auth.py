#!/usr/bin/env python3
"""auth: passwords set with "correo user", the auth protocol spoken
directly on queue/private/auth (as smtpd and the POP3/IMAP front ends
speak it), failure delays, lockouts, and what never reaches the disk.
"""
import base64
import os
import socket
import stat
import subprocess
import threading
import time

import harness
from harness import AttrClient

PASSWORD = "correct horse battery"
FAST = {
    "auth_failure_delay": "100ms",
    "auth_failure_delay_max": "400ms",
}


def b64(text):
    return base64.b64encode(text.encode()).decode()


def plain(user, password):
    return b64("\0%s\0%s" % (user, password))


class AuthTest(harness.TestCase):
    def setUp(self):
        harness.require_daemons(self, "auth")
        self.inst = self.instance(config=FAST)
        self.set_password("bob@demo.test", PASSWORD, add=True)
        self.inst.start()
        self.path = self.inst.wait_for_unix("auth")

    # -- helpers --

    def correo_stdin(self, args, text):
        """Run correo as the instance's user with text on stdin."""
        inst = self.inst
        kw = {}
        if inst.user is not None:
            kw = dict(user=inst.user.pw_uid, group=inst.user.pw_gid,
                      extra_groups=[])
        return subprocess.run(
            [inst.correo_path(), "-c", inst.dir] + args, input=text,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            timeout=60, cwd=inst.tmp, **kw)

    def set_password(self, address, password, add=False):
        verb = ["user", "add", address] if add else ["user", "passwd",
                                                       address]
        r = self.correo_stdin(verb + ["--password-stdin"], password + "\n")
        self.assertRuns(r)
        return r

    def connect(self):
        c = AttrClient.unix(self.path, timeout=30)
        c.hello("auth")
        return c

    def authenticate(self, client, mech, response=None,
                     addr="127.0.0.1", service="smtp"):
        req = [("request", "authenticate"), ("service", service),
               ("mechanism", mech), ("client_address", addr)]
        if response is not None:
            req.append(("response", response))
        return dict(client.request(req))

    def cont(self, client, response):
        return dict(client.request([("request", "continue"),
                                    ("response", response)]))

    def login_plain(self, user, password, addr="127.0.0.1"):
        with self.connect() as c:
            return self.authenticate(c, "PLAIN", plain(user, password),
                                     addr=addr)

    # -- tests --

    def test_password_file(self):
        path = os.path.join(self.inst.dir, "passwd")
        for p in (path, path + ".db"):
            st = os.stat(p)
            self.assertEqual(stat.S_IMODE(st.st_mode), 0o600, p)
            with open(p, "rb") as f:
                data = f.read()
            self.assertNotIn(PASSWORD.encode(), data, p)
        with open(path) as f:
            line = f.read().strip()
        addr, _, hashed = line.partition(" ")
        self.assertEqual(addr, "bob@demo.test")
        self.assertTrue(hashed.startswith(("$y$", "$6$")), hashed)
        # The mailbox came from the same "user add".
        self.assertTrue(os.path.isdir(os.path.join(
            self.inst.mail_dir, "demo.test", "bob", "new")))

    def test_plain_ok_with_mailbox(self):
        r = self.login_plain("Bob@Demo.Test", PASSWORD)
        self.assertEqual(r["status"], "ok", r)
        self.assertEqual(r["user"], "bob@demo.test")
        self.assertTrue(r["mailbox"].endswith("/mail/demo.test/bob/"),
                        r["mailbox"])
        uid = self.inst.user.pw_uid if self.inst.user else os.getuid()
        self.assertEqual(int(r["uid"]), uid)
        self.inst.wait_for_log(
            r"unknown\[127\.0\.0\.1\]: sasl_method=PLAIN, "
            r"sasl_username=bob@demo\.test, service=smtp")

    def test_plain_empty_challenge_then_response(self):
        with self.connect() as c:
            r = self.authenticate(c, "PLAIN")
            self.assertEqual(r, {"status": "continue", "challenge": ""})
            r = self.cont(c, plain("bob@demo.test", PASSWORD))
            self.assertEqual(r["status"], "ok", r)

    def test_login_two_steps(self):
        with self.connect() as c:
            r = self.authenticate(c, "LOGIN", service="pop3")
            self.assertEqual(r, {"status": "continue",
                                 "challenge": b64("Username:")})
            r = self.cont(c, b64("bob@demo.test"))
            self.assertEqual(r, {"status": "continue",
                                 "challenge": b64("Password:")})
            r = self.cont(c, b64(PASSWORD))
            self.assertEqual(r["status"], "ok", r)
            # The same connection serves the next exchange (initial
            # response = the user name).
            r = self.authenticate(c, "LOGIN", b64("bob@demo.test"))
            self.assertEqual(r["challenge"], b64("Password:"))
            r = self.cont(c, "*")
            self.assertEqual(r["status"], "fail")
            self.assertEqual(r["reason"], "authentication cancelled")

    def test_bad_password_and_unknown_user_look_the_same(self):
        # The first request also pays for opening the tables: not timed.
        self.login_plain("carol@demo.test", "wrong", addr="10.0.0.9")
        # Each kind three times, from fresh addresses (no throttle delay
        # grows); the fastest of each is compared, so a load spike on a
        # busy machine cannot make the two look different.
        t_bad = t_unknown = None
        for i in range(3):
            t0 = time.monotonic()
            bad = self.login_plain("bob@demo.test", "wrong",
                                   addr="10.0.0.%d" % (1 + 2 * i))
            t = time.monotonic() - t0
            t_bad = t if t_bad is None else min(t_bad, t)
            t0 = time.monotonic()
            unknown = self.login_plain("nobody@demo.test", "wrong",
                                       addr="10.0.0.%d" % (2 + 2 * i))
            t = time.monotonic() - t0
            t_unknown = t if t_unknown is None else min(t_unknown, t)
            self.assertEqual(bad, unknown)
        self.assertEqual(bad, {"status": "fail", "temporary": "0",
                               "delay": "100",
                               "reason": "authentication failed"})
        self.assertGreaterEqual(min(t_bad, t_unknown), 0.09)
        self.assertLess(abs(t_bad - t_unknown), 0.25)
        self.inst.wait_for_log(
            r"warning: unknown\[10\.0\.0\.1\]: SASL PLAIN authentication "
            r"failed: authentication failure, "
            r"sasl_username=bob@demo\.test")
        self.inst.wait_for_log(
            r"warning: unknown\[10\.0\.0\.2\]: SASL PLAIN authentication "
            r"failed: authentication failure, "
            r"sasl_username=nobody@demo\.test")

    def test_growing_delays_then_address_lockout(self):
        delays = []
        with self.connect() as c:
            for i in range(20):
                t0 = time.monotonic()
                r = self.authenticate(c, "PLAIN",
                                      plain("u%d@demo.test" % i, "x"),
                                      addr="10.9.9.9")
                took = time.monotonic() - t0
                self.assertEqual(r["status"], "fail", r)
                self.assertEqual(r["temporary"], "0", r)
                delays.append(int(r["delay"]))
                self.assertGreaterEqual(took, int(r["delay"]) / 1000 - 0.02)
        self.assertEqual(delays[:4], [100, 200, 400, 400])
        self.assertEqual(delays, sorted(delays))
        self.inst.wait_for_log(
            r"unknown\[10\.9\.9\.9\]: SASL authentication locked out for "
            r"900s after 20 failures from this address")
        # Locked: even the right password fails, temporarily.
        r = self.login_plain("bob@demo.test", PASSWORD, addr="10.9.9.9")
        self.assertEqual(r["status"], "fail", r)
        self.assertEqual(r["temporary"], "1", r)
        # Another client address logs in fine.
        r = self.login_plain("bob@demo.test", PASSWORD, addr="10.1.1.1")
        self.assertEqual(r["status"], "ok", r)

    def test_user_lockout_is_per_user(self):
        for _ in range(10):
            r = self.login_plain("bob@demo.test", "nope", addr="10.7.7.7")
            self.assertEqual(r["temporary"], "0", r)
        self.inst.wait_for_log(
            r"unknown\[10\.7\.7\.7\]: SASL authentication locked out for "
            r"900s after 10 failures, sasl_username=bob@demo\.test")
        r = self.login_plain("bob@demo.test", PASSWORD, addr="10.7.7.7")
        self.assertEqual((r["status"], r["temporary"]), ("fail", "1"))
        # Other users from that address are not locked out.
        r = self.login_plain("carol@demo.test", "nope", addr="10.7.7.7")
        self.assertEqual((r["status"], r["temporary"]), ("fail", "0"))

    def test_delay_does_not_block_others(self):
        got = {}

        def slow():
            # Earn a long delay first, then time one more failure.
            with self.connect() as c:
                for _ in range(3):
                    self.authenticate(c, "PLAIN", plain("x@demo.test", "y"),
                                      addr="10.5.5.5")
                got["slow_done"] = time.monotonic()

        t = threading.Thread(target=slow)
        t.start()
        time.sleep(0.35)        # inside the 400 ms wait of the 3rd
        r = self.login_plain("bob@demo.test", PASSWORD, addr="10.6.6.6")
        fast_done = time.monotonic()
        t.join()
        self.assertEqual(r["status"], "ok", r)
        self.assertLess(fast_done, got["slow_done"])

    def test_passwd_changes_password(self):
        r = self.set_password("bob@demo.test", "new secret")
        self.assertIn("changed password for bob@demo.test", r.stdout)
        self.assertEqual(self.login_plain("bob@demo.test", "new secret",
                                          addr="10.2.2.2")["status"], "ok")
        self.assertEqual(self.login_plain("bob@demo.test", PASSWORD,
                                          addr="10.3.3.3")["status"],
                         "fail")
        with open(os.path.join(self.inst.dir, "passwd")) as f:
            text = f.read()
        self.assertEqual(text.count("bob@demo.test"), 1)
        self.assertNotIn("new secret", text)
        # No terminal and no --password-stdin: refused, nothing changed.
        r = self.correo_stdin(["user", "passwd", "bob@demo.test"], "x\n")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("--password-stdin", r.stderr)

    def test_request_one_byte_at_a_time(self):
        with self.connect() as c:
            req = ("request=authenticate\nservice=imap\nmechanism=PLAIN\n"
                   "client_address=10.4.4.4\nresponse=%s\n\n"
                   % plain("bob@demo.test", PASSWORD)).encode()
            # Two requests back to back, the second pipelined.
            req += req
            for i in range(len(req)):
                c.sock.sendall(req[i:i + 1])
                time.sleep(0.001)
            for _ in range(2):
                r = dict(c.read_list())
                self.assertEqual(r["status"], "ok", r)

    def test_refusals(self):
        with self.connect() as c:
            r = self.authenticate(c, "CRAM-MD5")
            self.assertEqual(r["status"], "fail")
            self.assertEqual(r["reason"], "mechanism not available")
            r = self.authenticate(c, "PLAIN", "not base64!")
            self.assertEqual((r["status"], r["temporary"]), ("fail", "0"))
        with self.connect() as c:
            r = dict(c.request([("request", "continue"),
                                ("response", "eA==")]))
            self.assertEqual(r["status"], "error")
        with self.connect() as c:
            r = dict(c.request([("request", "authenticate"),
                                ("service", "smtp"),
                                ("mechanism", "PLAIN"),
                                ("client_address", "1.2.3.4\nfake")]))
            self.assertEqual(r["status"], "error")
            self.assertIsNone(c.read_list())   # and the connection closes
        # A front end that sends half a request and stalls does not stop
        # the service.
        stall = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        stall.connect(self.path)
        stall.sendall(b"request=authenticate\nservice=smtp\n")
        try:
            r = self.login_plain("bob@demo.test", PASSWORD)
            self.assertEqual(r["status"], "ok", r)
        finally:
            stall.close()


if __name__ == "__main__":
    harness.main()
