#!/usr/bin/env python3
"""Connection floods (issue 8, finding 6): anvil's per-client connection
count and rate limits, postscreen holding clients that have not spoken,
the hand-off to smtpd (no second greeting, the client's bytes intact),
stress mode, and the flood target: with 1,000 idle connections and
1,000 that sent EHLO and went silent, a normal session on 25 and on 587
still completes within a second.

Loopback is one host, but 127.0.0.0/8 gives each "client" its own
address: the tests set mynetworks = 127.0.0.1/32 so that 127.0.0.2 and
127.0.0.3 are outsiders held to the limits.
"""
import base64
import os
import pwd
import resource
import socket
import ssl
import subprocess
import time
import unittest

import harness
from harness import Instance, SmtpRaw

PASSWORD = "flood pw 1"


def sanitized_build():
    """True in a --enable-sanitizers build, whose daemons (ASan, UBSan)
    run several times slower: the 1 s target is for a normal build."""
    try:
        with open(harness.libexec("smtpd"), "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False


# The flood target: a normal session within a second.
SESSION_LIMIT = 3.0 if sanitized_build() else 1.0
MESSAGE = "Subject: hi\r\n\r\nhello\r\n"


def raise_nofile(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, want))
            return
        except (ValueError, OSError):
            raise unittest.SkipTest("RLIMIT_NOFILE hard limit %d < %d"
                                    % (hard, want))
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def tls_context():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def plain(user, password):
    return base64.b64encode(("\0%s\0%s" % (user, password)).encode()
                            ).decode()


def add_user(inst, user, password):
    kw = {}
    if inst.user is not None:
        kw = dict(user=inst.user.pw_uid, group=inst.user.pw_gid,
                  extra_groups=[])
    r = subprocess.run([inst.correo_path(), "-c", inst.dir, "user", "add",
                        user, "--password-stdin"], input=password + "\n",
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=60, cwd=inst.tmp, **kw)
    if r.returncode != 0:
        raise AssertionError("correo user add: %s%s" % (r.stdout, r.stderr))


def greeting(sock, timeout=5.0):
    """The first reply line the server sent on sock."""
    sock.settimeout(timeout)
    buf = b""
    try:
        while b"\r\n" not in buf:
            chunk = sock.recv(4096)
            if not chunk:
                break
            buf += chunk
    except (ConnectionResetError, socket.timeout):
        pass
    return buf.decode(errors="replace")


def connect_many(port, source, n, send=None):
    """n connections from source; send (bytes) on each at once if given.
    Returns the sockets (the server may have refused some)."""
    socks = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind((source, 0))
        s.settimeout(10)
        s.connect(("127.0.0.1", port))
        if send is not None:
            s.sendall(send)
        socks.append(s)
    return socks


def first_codes(socks, got=None):
    """The reply code each socket got first ("" if none); got, a dict,
    keeps what each socket received so far."""
    codes = []
    for s in socks:
        text = greeting(s)
        if got is not None:
            got[s] = text.encode()
        codes.append(text[:3])
    return codes


def wait_ehlo_reply(sock, buf, timeout=60.0):
    """Read until the last line of an EHLO reply (or the end); buf is
    what the socket received before."""
    sock.settimeout(timeout)
    try:
        while not (buf.startswith(b"220 ") and b"\r\n250 " in buf):
            chunk = sock.recv(4096)
            if not chunk:
                break
            buf += chunk
    except (ConnectionResetError, socket.timeout):
        pass
    return b"\r\n250 " in buf


def close_all(socks):
    for s in socks:
        s.close()


def smtp_session(port, source="127.0.0.1"):
    """One plain SMTP transaction on port."""
    r = SmtpRaw(port, source=source, timeout=5)
    assert r.greeting[0] == 220, r.greeting
    for cmd, want in (("EHLO client.test", 250),
                      ("MAIL FROM:<a@example.org>", 250),
                      ("RCPT TO:<demo@demo.test>", 250),
                      ("DATA", 354)):
        code, text = r.cmd(cmd)
        assert code == want, (cmd, code, text)
    code, text = r.cmd(MESSAGE + ".")
    assert code == 250, text
    code, text = r.cmd("QUIT")
    assert code == 221, text
    r.close()


def submission_session(port, user, password):
    """STARTTLS, AUTH PLAIN and one message on a submission port."""
    r = SmtpRaw(port, timeout=5)
    assert r.greeting[0] == 220, r.greeting
    code, text = r.cmd("EHLO client.test")
    assert code == 250, text
    r.starttls(tls_context())
    for cmd, want in (("EHLO client.test", 250),
                      ("AUTH PLAIN " + plain(user, password), 235),
                      ("MAIL FROM:<%s>" % user, 250),
                      ("RCPT TO:<demo@demo.test>", 250),
                      ("DATA", 354)):
        code, text = r.cmd(cmd)
        assert code == want, (cmd, code, text)
    code, text = r.cmd(MESSAGE + ".")
    assert code == 250, text
    code, text = r.cmd("QUIT")
    assert code == 221, text
    r.close()


def timed(fn, *args):
    t = time.monotonic()
    fn(*args)
    return time.monotonic() - t


class LimitTest(harness.TestCase):
    """anvil's limits, through postscreen and through a plain smtpd."""

    def start(self, config, direct=False):
        base = {"mynetworks": "127.0.0.1/32",
                "smtpd_error_sleep_time": "0"}
        base.update(config)
        inst = self.instance(config=base)
        if direct:
            inst.set_services(
                "{smtp_port} inet n - n - 20 smtpd\n"
                "anvil unix - - n - 1 anvil\n")
        inst.start()
        inst.wait_for_port(inst.smtp_port)
        inst.wait_for_unix("anvil")
        return inst

    def check_count_limit(self, inst, service):
        outsider = connect_many(inst.smtp_port, "127.0.0.2", 4)
        codes = first_codes(outsider)
        self.assertEqual(codes[:3], ["220"] * 3, codes)
        reply = greeting(outsider[3]) if codes[3] == "" else None
        self.assertEqual(codes[3], "421", codes)
        inst.wait_for_log(r"warning: Connection concurrency limit exceeded:"
                          r" 4 from unknown\[127\.0\.0\.2\] for service "
                          + service)
        # mynetworks: no limit.
        insider = connect_many(inst.smtp_port, "127.0.0.1", 6)
        self.assertEqual(first_codes(insider), ["220"] * 6)
        # A closed connection no longer counts.
        close_all(outsider)
        time.sleep(0.5)
        again = connect_many(inst.smtp_port, "127.0.0.2", 1)
        self.assertEqual(first_codes(again), ["220"])
        close_all(insider + again)
        return reply

    def test_count_limit_postscreen(self):
        inst = self.start({"smtpd_client_connection_count_limit": "3"})
        s = connect_many(inst.smtp_port, "127.0.0.2", 4)
        texts = [greeting(x) for x in s]
        self.assertTrue(texts[3].startswith(
            "421 4.7.0 mail.demo.test Error: too many connections from"
            " 127.0.0.2") or "too many connections from 127.0.0.2"
            in texts[3], texts)
        close_all(s)
        time.sleep(0.5)
        self.check_count_limit(inst, r"127\.0\.0\.1:%d" % inst.smtp_port)
        self.assertIn("NOQUEUE: reject: CONNECT from [127.0.0.2]:",
                      inst.log())

    def test_count_limit_smtpd(self):
        inst = self.start({"smtpd_client_connection_count_limit": "3"},
                          direct=True)
        self.check_count_limit(inst, r"%d" % inst.smtp_port)

    def test_rate_limit(self):
        inst = self.start({"smtpd_client_connection_rate_limit": "3",
                           "smtpd_client_connection_count_limit": "0"})
        for source, want in (("127.0.0.2", ["220"] * 3 + ["421"]),
                             ("127.0.0.1", ["220"] * 5)):
            codes = []
            for _ in range(len(want)):
                s = connect_many(inst.smtp_port, source, 1)[0]
                codes.append(greeting(s)[:3])
                s.close()
            self.assertEqual(codes, want, source)
        inst.wait_for_log(r"warning: Connection rate limit exceeded: 4 from"
                          r" unknown\[127\.0\.0\.2\]")

    def test_rate_limit_smtpd(self):
        inst = self.start({"smtpd_client_connection_rate_limit": "2"},
                          direct=True)
        codes = []
        for _ in range(3):
            r = SmtpRaw(inst.smtp_port, source="127.0.0.2")
            codes.append(r.greeting[0])
            if r.greeting[0] == 220:
                r.cmd("QUIT")
            r.close()
        self.assertEqual(codes, [220, 220, 421])

    def test_without_anvil_fail_open(self):
        inst = self.instance(config={
            "mynetworks": "127.0.0.1/32",
            "smtpd_client_connection_count_limit": "1"})
        inst.set_services("{smtp_port} inet n - n - 10 smtpd\n")
        inst.start()
        inst.wait_for_port(inst.smtp_port)
        socks = connect_many(inst.smtp_port, "127.0.0.2", 3)
        self.assertEqual(first_codes(socks), ["220"] * 3)
        close_all(socks)
        inst.wait_for_log(r"anvil service private/anvil: cannot connect: "
                          r"connection limits are not enforced")
        smtp_session(inst.smtp_port, "127.0.0.2")

    def test_anvil_forgets_a_dead_client(self):
        inst = self.start({})
        path = inst.unix_socket("anvil")
        req = {"request": "connect", "service": "t",
               "client_address": "192.0.2.1"}
        with harness.AttrClient.unix(path) as a:
            a.hello("anvil")
            self.assertEqual(dict(a.request(req))["count"], "1")
            got = dict(a.request(req))
            self.assertEqual((got["count"], got["rate"], got["active"]),
                             ("2", "2", "2"))
        time.sleep(0.2)
        with harness.AttrClient.unix(path) as b:
            b.hello("anvil")
            got = dict(b.request(req))
            # The first connection's two registrations are gone; the
            # rate window remembers them.
            self.assertEqual((got["count"], got["rate"]), ("1", "3"))
            got = dict(b.request({"request": "disconnect", "service": "t",
                                  "client_address": "192.0.2.1"}))
            self.assertEqual(got["status"], "ok")
            got = dict(b.request({"request": "bogus", "service": "t",
                                  "client_address": "x"}))
            self.assertEqual(got["status"], "error")


class RootModeTest(harness.TestCase):
    def test_chrooted_postscreen_smtpd_and_anvil(self):
        """Privilege-separated and jailed in the queue directory, as a
        production row would be: postscreen hands over, smtpd reaches
        anvil through the jail's private/, the limits hold."""
        if not harness.is_root():
            self.skipTest("needs root")
        inst = self.instance(root_mode=True, config={
            "mynetworks": "127.0.0.1/32",
            "smtpd_client_connection_count_limit": "2"}, services=(
            "{smtp_port} inet n - y - 1 postscreen\n"
            "smtpd unix - - y - 10 smtpd\n"
            "anvil unix - - y - 1 anvil\n"))
        inst.start()
        inst.wait_for_port(inst.smtp_port)
        inst.wait_for_unix("smtpd")
        inst.wait_for_unix("anvil")
        owner = pwd.getpwnam("correo")
        smtp_session(inst.smtp_port, "127.0.0.2")
        # Two idle clients from outside: postscreen refuses a third.
        held = connect_many(inst.smtp_port, "127.0.0.2", 3)
        got = {}
        self.assertEqual(first_codes(held, got), ["220", "220", "421"])
        # Once they speak they hold smtpds, which count them with anvil
        # through the jail: a third that speaks is refused by smtpd.
        for s in held[:2]:
            s.sendall(b"EHLO x\r\n")
            self.assertTrue(wait_ehlo_reply(s, got[s]))
        third = connect_many(inst.smtp_port, "127.0.0.2", 1,
                             send=b"EHLO x\r\n")[0]
        data = b""
        third.settimeout(10)
        while True:
            chunk = third.recv(4096)
            if not chunk:
                break
            data += chunk
        self.assertRegex(data, rb"^220 [^\r]*\r\n421 4\.7\.0 mail\.demo"
                         rb"\.test Error: too many connections from"
                         rb" 127\.0\.0\.2\r\n$")
        held.append(third)
        def jailed(p):
            return (p["uid"] == owner.pw_uid and
                    os.path.realpath(p["root"] or "/") ==
                    os.path.realpath(inst.queue))
        for name in ("postscreen", "smtpd", "anvil"):
            # A process master has just started (the pool grows as the
            # clients above come and go) drops privileges a moment
            # later: wait for every one to be jailed, then check.
            harness.wait_for(lambda: (lambda ps: ps and
                                      all(jailed(p) for p in ps))(
                                          inst.children(name)),
                             timeout=15, what="%s jailed" % name)
            procs = inst.children(name)
            self.assertTrue(procs, name)
            for p in procs:
                self.assertEqual(p["uid"], owner.pw_uid, (name, p))
                self.assertEqual(os.path.realpath(p["root"]),
                                 os.path.realpath(inst.queue), (name, p))
        close_all(held)
        self.assertNotIn("anvil service", inst.log())


class CheckTest(harness.TestCase):
    def test_check_postscreen_rows(self):
        inst = self.instance()
        self.assertRuns(inst.correo("check"))
        path = os.path.join(inst.dir, "services.conf")
        with open(path) as f:
            text = f.read()
        with open(path, "w") as f:
            f.write(text.replace("\nsubmission ", "\n#submission ")
                    .replace("\nanvil ", "\n#anvil "))
        r = inst.correo("check")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("(postscreen) hands clients to \"submission\", but"
                      " services.conf has no unix row of that name",
                      r.stderr)
        self.assertIn("warning: no anvil row in services.conf", r.stderr)


class PostscreenTest(harness.TestCase):
    @classmethod
    def setUpClass(cls):
        for d in ("postscreen", "anvil", "smtpd", "auth"):
            if not harness.have_daemon(d):
                raise unittest.SkipTest(d + " not built")
        raise_nofile(8192)

    def start(self, config=None, services=None):
        inst = self.instance(config=config, services=services)
        inst.start()
        inst.wait_for_port(inst.smtp_port)
        inst.wait_for_unix("smtpd")
        return inst

    def smtpd_count(self, inst):
        return len(inst.children("smtpd"))

    def test_idle_clients_cost_no_smtpd(self):
        inst = self.start()
        before = self.smtpd_count(inst)
        socks = connect_many(inst.smtp_port, "127.0.0.1", 300)
        self.assertEqual(set(first_codes(socks)), {"220"})
        time.sleep(0.5)
        self.assertLessEqual(self.smtpd_count(inst), before + 1)
        self.assertLess(timed(smtp_session, inst.smtp_port), SESSION_LIMIT)
        close_all(socks)
        inst.wait_for_log(r"postscreen.*DISCONNECT \[127\.0\.0\.1\]:\d+")

    def test_one_greeting_and_pipelined_input_intact(self):
        inst = self.start()
        s = socket.create_connection(("127.0.0.1", inst.smtp_port), 5)
        # Sent before the greeting arrives, with a NUL line in between:
        # smtpd must see every byte, and only one 220 may come.
        s.sendall(b"NOOP\r\nNO\0OP\r\nEHLO x\r\nQUIT\r\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        s.close()
        lines = data.decode().split("\r\n")
        self.assertEqual([l[:4] for l in lines if l.startswith("220")],
                         ["220 "], data)
        self.assertEqual(lines[1], "250 2.0.0 Ok", data)
        self.assertTrue(lines[2].startswith("500 5.5.2"), data)
        self.assertIn("221 2.0.0 Bye", lines, data)

    def test_command_time_limit(self):
        inst = self.start({"postscreen_command_time_limit": "2s"})
        s = socket.create_connection(("127.0.0.1", inst.smtp_port), 10)
        t = time.monotonic()
        self.assertTrue(greeting(s).startswith("220 "))
        rest = b""
        s.settimeout(10)
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            rest += chunk
        self.assertGreater(time.monotonic() - t, 1.5)
        self.assertIn(b"421 4.4.2 mail.demo.test Error: timeout exceeded",
                      rest)
        inst.wait_for_log(r"COMMAND TIME LIMIT from \[127\.0\.0\.1\]:\d+")

    def test_implicit_tls_through_postscreen(self):
        inst = self.start()
        add_user(inst, "bob@demo.test", PASSWORD)
        port = inst.port(465)
        inst.wait_for_port(port)
        raw = socket.create_connection(("127.0.0.1", port), 5)
        # postscreen says nothing before TLS.
        raw.settimeout(0.5)
        with self.assertRaises(socket.timeout):
            raw.recv(1)
        raw.settimeout(5)
        tls = tls_context().wrap_socket(raw)
        self.assertTrue(greeting(tls).startswith("220 "))
        tls.sendall(b"EHLO x\r\nAUTH PLAIN " +
                    plain("bob@demo.test", PASSWORD).encode() +
                    b"\r\nQUIT\r\n")
        data = b""
        while b"221 " not in data:
            chunk = tls.recv(65536)
            if not chunk:
                break
            data += chunk
        self.assertIn(b"235 2.7.0", data)
        tls.close()

    def test_hand_over_with_input(self):
        """Impersonate postscreen on the pass socket: input handed over
        is read first, and greeted=1 means no 220 from smtpd."""
        inst = self.start()
        lsock = socket.socket()
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(1)
        client = socket.create_connection(lsock.getsockname(), 5)
        server_side, _ = lsock.accept()
        p = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        p.connect(inst.unix_socket("smtpd"))
        socket.send_fds(p, [b"P"], [server_side.fileno()])
        p.sendall(b"request=pass\ngreeted=1\ninput=HELO x%0D%0A\n\n")
        p.close()
        server_side.close()
        client.sendall(b"QUIT\r\n")
        data = b""
        client.settimeout(5)
        while True:
            chunk = client.recv(4096)
            if not chunk:
                break
            data += chunk
        client.close()
        lsock.close()
        self.assertEqual(data, b"250 mail.demo.test\r\n221 2.0.0 Bye\r\n")
        # Anything but a TCP socket is refused.
        a, b = socket.socketpair()
        p = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        p.connect(inst.unix_socket("smtpd"))
        socket.send_fds(p, [b"P"], [a.fileno()])
        try:
            p.sendall(b"request=pass\ngreeted=0\n\n")
        except (BrokenPipeError, ConnectionResetError):
            pass    # smtpd may refuse the descriptor before reading on
        p.close()
        a.close()
        b.settimeout(5)
        self.assertEqual(b.recv(100), b"")
        b.close()
        inst.wait_for_log(r"pass: the descriptor is not a TCP socket")

    def test_stress_mode(self):
        inst = self.start(
            config={"smtpd_timeout": "60s", "smtpd_stress_timeout": "1s"},
            services=(
                "{smtp_port} inet n - n - 1 postscreen\n"
                "smtpd unix - - n - 5 smtpd\n"
                "anvil unix - - n - 1 anvil\n"))
        busy = connect_many(inst.smtp_port, "127.0.0.1", 4,
                            send=b"EHLO busy\r\n")
        for s in busy:
            self.assertTrue(greeting(s).startswith("220 "))
        time.sleep(0.5)
        # The fifth session is under stress: its timeout is 1s.
        s = connect_many(inst.smtp_port, "127.0.0.1", 1,
                         send=b"EHLO late\r\n")[0]
        t = time.monotonic()
        data = b""
        s.settimeout(20)
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        self.assertLess(time.monotonic() - t, 10)
        self.assertIn(b"421 4.4.2 mail.demo.test Error: timeout exceeded",
                      data)
        inst.wait_for_log(r"smtpd.*service smtpd: [45] sessions of at most"
                          r" 5: stress mode")
        close_all(busy + [s])


class FloodTest(harness.TestCase):
    """The target of issue 8 for SMTP."""

    @classmethod
    def setUpClass(cls):
        for d in ("postscreen", "anvil", "smtpd", "auth"):
            if not harness.have_daemon(d):
                raise unittest.SkipTest(d + " not built")
        raise_nofile(16384)

    def flood_and_serve(self, inst, source_idle, n_idle, source_ehlo,
                        n_ehlo):
        """n_idle idle clients and n_ehlo that sent EHLO on port 25, a
        fifth as many of each on 587; then one normal session on each
        port, timed. Returns, per port, how many idle clients got a
        greeting and how many EHLO clients got an EHLO reply (are held
        by an smtpd), and the number of smtpd processes."""
        add_user(inst, "bob@demo.test", PASSWORD)
        inst.start()
        for p in (25, 587, 465):
            inst.wait_for_port(inst.port(p))
        inst.wait_for_unix("smtpd")
        inst.wait_for_unix("submission")
        socks, greeted, held = [], [], []
        try:
            for port, k in ((inst.smtp_port, 1), (inst.port(587), 5)):
                idle = connect_many(port, source_idle, n_idle // k)
                ehlo = connect_many(port, source_ehlo, n_ehlo // k,
                                    send=b"EHLO flood\r\n")
                socks += idle + ehlo
                greeted.append(first_codes(idle).count("220"))
                # The flood is in place once every silent client has its
                # EHLO answered (by an smtpd) or been refused.
                got = {}
                first_codes(ehlo, got)
                held.append(sum(wait_ehlo_reply(s, got[s])
                                for s in ehlo))
            t25 = timed(smtp_session, inst.smtp_port)
            t587 = timed(submission_session, inst.port(587),
                         "bob@demo.test", PASSWORD)
            smtpds = len(inst.children("smtpd"))
        finally:
            close_all(socks)
        self.assertLess(t25, SESSION_LIMIT)
        self.assertLess(t587, SESSION_LIMIT)
        return greeted, held, smtpds

    def test_flood_from_outsiders(self):
        """Outside mynetworks: 1,000 idle clients from one address and
        1,000 from another that sent EHLO and went silent. Each address
        is held to 50 connections per port (the default limit):
        postscreen refuses the idle ones past it at once, smtpd the
        silent ones past it."""
        inst = self.instance(config={"mynetworks": "127.0.0.1/32"})
        greeted, held, smtpds = self.flood_and_serve(
            inst, "127.0.0.2", 1000, "127.0.0.3", 1000)
        self.assertEqual(greeted, [50, 50])
        self.assertEqual(held, [50, 50])
        # Only the silent EHLO sessions hold an smtpd, 50 per port, plus
        # the idle ones master keeps ready and those that served the
        # refused clients and the normal sessions (a few per pass row).
        self.assertLessEqual(smtpds, 2 * 50 + 20)
        self.assertIn("Connection concurrency limit exceeded: 51 from"
                      " unknown[127.0.0.3] for service smtpd", inst.log())

    def test_flood_of_idle_insiders(self):
        """No limit applies (loopback is in mynetworks): postscreen holds
        1,000 idle clients without an smtpd each. (1,000 silent EHLO
        sessions from inside mynetworks would fill the smtpd pool: the
        limits, not postscreen, are the defence against those.)"""
        inst = self.instance()
        greeted, held, smtpds = self.flood_and_serve(
            inst, "127.0.0.1", 1000, "127.0.0.1", 20)
        self.assertEqual(greeted, [1000, 200])
        self.assertEqual(held, [20, 4])
        self.assertLessEqual(smtpds, 20 + 4 + 20)


if __name__ == "__main__":
    harness.main()
