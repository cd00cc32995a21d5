"""test_master: the supervisor and the server skeleton, end to end.

A real instance runs master with echod services (tests/echod.c, the
"echo" protocol): requests travel over the sockets master opened and
passed to its children. Checked: unix and inet services answer, a
killed child is logged and replaced, a child that cannot start is
throttled, the pool grows while children are busy, max_use recycles
children, SIGHUP reloads (keeping unchanged listeners, finishing busy
clients), wakeups arrive, a second master is refused naming the first,
master's death takes the children with it, and a stop leaves nothing.
"""

import errno
import os
import pwd
import re
import signal
import socket
import subprocess
import threading
import time

import harness
from harness import AttrClient, echo_request, wait_for

SERVICES = """\
echo        unix  n  -  n  -  4  echod
secret      unix  -  -  n  -  2  echod
127.0.0.1:{port1} inet n - n - 3  echod -o max_use=2
"""

FAST = {"service_throttle_time": "2s", "max_idle": "30s"}


class MasterTest(harness.TestCase):

    def setUp(self):
        harness.require_daemons(self, "master", "echod")

    def started(self, services=SERVICES, config=FAST):
        inst = self.instance(services=services, config=config)
        inst.start()
        inst.wait_for_log(r"master\[\d+\]: daemon started -- version "
                          r"\S+, configuration " + re.escape(inst.dir))
        return inst

    def echo_unix(self, inst, name, private, **attrs):
        path = inst.wait_for_unix(name, private=private)
        with AttrClient.unix(path) as c:
            return dict(echo_request(c, dict(request="echo", **attrs)))

    def echo_tcp(self, port, **attrs):
        with AttrClient.tcp(port) as c:
            return dict(echo_request(c, dict(request="echo", **attrs)))

    def echods(self, inst, service=None):
        procs = inst.children("echod")
        if service is not None:
            procs = [p for p in procs if service in p["argv"]]
        return procs

    def test_unix_and_inet_services_answer(self):
        inst = self.started()
        reply = self.echo_unix(inst, "echo", False, text="a=b\n%\t")
        self.assertEqual(reply["status"], "ok")
        self.assertEqual(reply["text"], "a=b\n%\t")
        self.assertEqual(reply["service"], "echo")
        reply = self.echo_unix(inst, "secret", True, n="1")
        self.assertEqual(reply["service"], "secret")
        inst.wait_for_port(inst.port(1))
        reply = self.echo_tcp(inst.port(1), n="2")
        self.assertEqual(reply["status"], "ok")
        self.assertEqual(reply["service"], "127.0.0.1:%d" % inst.port(1))
        st = os.stat(inst.unix_socket("secret", private=True))
        self.assertEqual(st.st_mode & 0o777, 0o600)
        st = os.stat(inst.unix_socket("echo", private=False))
        self.assertEqual(st.st_mode & 0o777, 0o666)
        # The argv contract of server.h.
        child = self.echods(inst, "secret")[0]
        argv = child["argv"]
        self.assertEqual(argv[argv.index("-c") + 1], inst.dir)
        self.assertEqual(argv[argv.index("-t") + 1], "unix")
        self.assertNotIn("-r", argv)

    def test_bare_port_binds_ipv4_and_ipv6(self):
        inst = self.started(services="{port3} inet n - n - 2 echod\n",
                            config=dict(FAST, inet_interfaces="all"))
        inst.wait_for_port(inst.port(3))
        self.assertEqual(self.echo_tcp(inst.port(3))["status"], "ok")
        if not socket.has_ipv6:
            return
        try:
            s = socket.create_connection(("::1", inst.port(3)), timeout=5)
        except OSError as e:
            if e.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):
                return
            raise
        with AttrClient(s) as c:
            self.assertEqual(dict(echo_request(c, {"n": "6"}))["status"],
                             "ok")
        # Two sockets, the IPv6 one v6-only.
        master = inst.master_pid()
        kinds = set()
        for fd in os.listdir("/proc/%d/fd" % master):
            link = os.readlink("/proc/%d/fd/%s" % (master, fd))
            if link.startswith("socket:"):
                kinds.add(link)
        self.assertGreaterEqual(len(kinds), 2)

    def test_killed_child_is_logged_and_replaced(self):
        inst = self.started()
        old = wait_for(lambda: self.echods(inst, "secret"),
                       what="a secret echod")[0]["pid"]
        os.kill(old, signal.SIGKILL)
        inst.wait_for_log(r"warning: process \S+/echod pid %d killed by "
                          r"signal 9" % old)
        new = wait_for(lambda: [p for p in self.echods(inst, "secret")
                                if p["pid"] != old],
                       what="a new secret echod")
        self.assertTrue(new)
        reply = self.echo_unix(inst, "secret", True)
        self.assertEqual(reply["status"], "ok")
        self.assertNotEqual(int(reply["pid"]), old)
        self.assertNotIn("throttling", inst.log())

    def test_bad_command_is_throttled(self):
        services = SERVICES + "broken unix - - n - 1 /bin/false\n"
        inst = self.started(services=services)
        inst.wait_for_log(r"warning: process /bin/false pid \d+ exit "
                          r"status 1")
        inst.wait_for_log(r"warning: /bin/false: bad command startup -- "
                          r"throttling for 2 seconds")
        time.sleep(1)
        starts = len(re.findall(r"/bin/false pid \d+ exit", inst.log()))
        self.assertLessEqual(starts, 2, inst.log_tail())
        # After the throttle time it is tried again.
        wait_for(lambda: len(re.findall(r"/bin/false pid \d+ exit",
                                        inst.log())) > starts,
                 timeout=10, what="a restart after throttling")
        # The other services are unaffected.
        self.assertEqual(self.echo_unix(inst, "echo", False)["status"],
                         "ok")

    def test_pool_grows_while_busy_and_max_use_recycles(self):
        inst = self.started()
        inst.wait_for_port(inst.port(1))
        # max_use=2: one child serves two clients, then another takes
        # over.
        pids = [int(self.echo_tcp(inst.port(1))["pid"]) for _ in range(4)]
        self.assertGreaterEqual(len(set(pids)), 2, pids)
        # A busy child makes master start another, up to maxproc 4.
        path = inst.wait_for_unix("echo", private=False)
        slow = []

        def busy():
            with AttrClient.unix(path) as c:
                slow.append(dict(echo_request(c, {"sleep": "2"})))
        t = threading.Thread(target=busy)
        t.start()
        time.sleep(0.5)
        start = time.monotonic()
        fast = self.echo_unix(inst, "echo", False)
        self.assertLess(time.monotonic() - start, 1.5)
        t.join()
        self.assertEqual(slow[0]["status"], "ok")
        self.assertNotEqual(slow[0]["pid"], fast["pid"])
        self.assertLessEqual(len(self.echods(inst, "echo")), 4)

    def test_reload(self):
        inst = self.started()
        inst.wait_for_port(inst.port(1))
        old_pids = {p["pid"] for p in self.echods(inst)}
        path = inst.wait_for_unix("echo", private=False)
        slow = []

        def busy():
            with AttrClient.unix(path) as c:
                slow.append(dict(echo_request(c, {"sleep": "2"})))
        t = threading.Thread(target=busy)
        t.start()
        time.sleep(0.5)
        inst.set_services("echo unix n - n - 4 echod\n"
                          "127.0.0.1:{port2} inet n - n - 2 echod\n")
        inst.reload()
        inst.wait_for_log(r"master\[\d+\]: reload -- version \S+, "
                          r"configuration " + re.escape(inst.dir))
        inst.wait_for_port_closed(inst.port(1))
        inst.wait_for_port(inst.port(2))
        self.assertEqual(self.echo_tcp(inst.port(2))["status"], "ok")
        self.assertFalse(os.path.exists(inst.unix_socket("secret")))
        # The busy client was allowed to finish.
        t.join()
        self.assertEqual(slow[0]["status"], "ok")
        # Every old child went away gracefully; the unchanged listener
        # still works through new children.
        wait_for(lambda: not (old_pids & {p["pid"]
                                          for p in self.echods(inst)}),
                 what="old children to exit")
        reply = self.echo_unix(inst, "echo", False)
        self.assertNotIn(int(reply["pid"]), old_pids)
        self.assertNotIn("killed by signal", inst.log())

    def test_bad_reload_keeps_old_config(self):
        inst = self.started()
        inst.set_services("echo unix n - n - 4 echod\n"
                          "oops unix n - n - nope echod\n")
        inst.reload()
        inst.wait_for_log(r"error: reload: .*services.conf:2: .*"
                          r"keeping the old configuration")
        self.assertEqual(self.echo_unix(inst, "secret", True)["status"],
                         "ok")

    def test_reload_with_busy_port_keeps_old_config(self):
        inst = self.started()
        blocker = socket.socket()
        blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        blocker.bind(("127.0.0.1", inst.port(4)))
        blocker.listen(1)
        self.addCleanup(blocker.close)
        inst.set_services("fresh unix n - n - 1 echod\n"
                          "127.0.0.1:{port4} inet n - n - 1 echod\n")
        inst.reload()
        inst.wait_for_log(r"error: reload: bind 127.0.0.1 port %d: Address "
                          r"already in use; keeping the old configuration"
                          % inst.port(4))
        # Nothing of the failed attempt is left behind.
        self.assertFalse(os.path.exists(inst.unix_socket("fresh", False)))
        self.assertEqual(self.echo_unix(inst, "secret", True)["status"],
                         "ok")
        self.assertEqual(self.echo_tcp(inst.port(1))["status"], "ok")

    def test_wakeup(self):
        inst = self.started(services="tick unix - - n 1 1 echod\n")
        wait_for(lambda: len(re.findall(r"echod\[\d+\]: trigger W",
                                        inst.log())) >= 2,
                 timeout=10, what="two wakeups" + inst.log_tail())

    def test_second_master_refused(self):
        inst = self.started()
        pid = inst.master_pid()
        r = inst.run([harness.libexec("master"), "-c", inst.dir, "-f"])
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stderr, r"fatal: the correo mail system is "
                         r"already running \(master pid %d" % pid)
        self.assertEqual(inst.master_pid(), pid)
        self.assertEqual(self.echo_unix(inst, "echo", False)["status"],
                         "ok")

    def test_bind_conflict_is_fatal_and_clear(self):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        inst = self.instance(services=SERVICES, config=FAST)
        s.bind(("127.0.0.1", inst.port(1)))
        s.listen(1)
        try:
            r = inst.start(check=False)
        finally:
            s.close()
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("bind 127.0.0.1 port %d: Address already in use"
                      % inst.port(1), inst.log() + r.stderr)
        self.assertIsNone(inst.master_pid())
        self.assertEqual(inst.processes(), [])

    def test_daemon_refuses_without_master(self):
        r = subprocess.run([harness.libexec("echod")], text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.assertEqual(r.returncode, 1)
        self.assertIn("this is a correo daemon; it is started by "
                      "correo-master", r.stderr)

    def test_children_die_with_master(self):
        inst = self.started()
        wait_for(lambda: len(self.echods(inst)) >= 3, what="children")
        kids = [p["pid"] for p in self.echods(inst)]
        os.kill(inst.master_pid(), signal.SIGKILL)
        wait_for(lambda: not any(harness.pid_alive(p) for p in kids),
                 what="children to exit after master's death")

    def test_root_mode_drops_and_chroots(self):
        if not harness.is_root():
            self.skipTest("needs root")
        try:
            owner = pwd.getpwnam("correo")
        except KeyError:
            self.skipTest("no user correo (mail_owner)")
        inst = self.instance(root_mode=True, config=FAST, services=(
            "jail unix - - y - 2 echod\n"
            "nobodys unix n nobody n - 2 echod\n"))
        inst.start()
        # Wait for the privilege drop too, not just the process: right
        # after its start a child is still root (slow sanitizer builds
        # show it).
        jail = wait_for(lambda: [p for p in self.echods(inst, "jail")
                                 if p["uid"] == owner.pw_uid],
                        what="the chrooted echod")[0]
        self.assertEqual(jail["uid"], owner.pw_uid)
        self.assertEqual(os.path.realpath(jail["root"]),
                         os.path.realpath(inst.queue))
        self.assertIn("-r", jail["argv"])
        other = wait_for(lambda: [p for p in self.echods(inst, "nobodys")
                                  if p["user"] == "nobody"],
                         what="the echod run as nobody")[0]
        self.assertEqual(other["user"], "nobody")
        self.assertEqual(other["root"], "/")
        st = os.stat(inst.unix_socket("jail"))
        self.assertEqual((st.st_uid, st.st_mode & 0o777),
                         (owner.pw_uid, 0o600))
        self.assertEqual(self.echo_unix(inst, "jail", True)["status"], "ok")
        self.assertEqual(self.echo_unix(inst, "nobodys", False)["service"],
                         "nobodys")

    def test_stop_leaves_nothing(self):
        inst = self.started()
        wait_for(lambda: len(self.echods(inst)) >= 3, what="children")
        pid = inst.master_pid()
        inst.stop()
        wait_for(lambda: not inst.processes(), what="no processes left")
        inst.wait_for_log(r"master\[%d\]: terminating on signal 15" % pid)
        self.assertFalse(os.path.exists(
            os.path.join(inst.queue, "pid", "master.pid")))
        self.assertNotIn("killed by signal", inst.log())


if __name__ == "__main__":
    harness.main()
