"""netns: a small private network of test hosts, in network namespaces.

Standard library only; needs root, iproute2 ("ip") and, for DNS, dnsmasq.
Used by test_twohost.py and usable by any test that needs hosts that
find each other through real DNS (MX records) and talk over real TCP.

    net = netns.Net(["alice", "marvel"], dns=[...dnsmasq options...])
    net.setup()                         # raises unittest.SkipTest if the
                                        # kernel or the sandbox refuses
    net.run("alice", ["getent", "hosts", "mx.marvel.test"])
    net.teardown()                      # also at exit (atexit), always

The layout: one hub namespace "correo-net-PID" holds a bridge br0 with
10.77.0.1/24 (where dnsmasq answers), and each host NAME gets a namespace
"correo-NAME-PID" with lo up and eth0 = 10.77.0.(2+i)/24, a veth whose
other end sits on the bridge. Nothing is added to the caller's own
network namespace: every link is created inside the hub, so names cannot
clash with the machine's interfaces or with a parallel test run (the
addresses only exist inside the namespaces, which each run has for
itself).

Each host's resolver: "ip netns exec NS" bind-mounts every file of
/etc/netns/NS/ over /etc/, so /etc/netns/NS/resolv.conf (nameserver
10.77.0.1) and /etc/netns/NS/hosts make the host see only the test DNS.
Those directories are removed again by teardown.

Cleanup: teardown kills every process still inside the namespaces
(ip netns pids), stops dnsmasq, deletes the namespaces (their veths go
with them) and the /etc/netns directories. Namespaces left behind by a
run that was killed with SIGKILL (names with a pid that no longer runs)
are removed by the next setup.
"""

import atexit
import os
import re
import shutil
import signal
import subprocess
import time
import unittest

PREFIX = "correo-"
SUBNET = "10.77.0"
HUB_ADDR = SUBNET + ".1"
IP = shutil.which("ip") or "/usr/sbin/ip"
DNSMASQ = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"
ETC_NETNS = "/etc/netns"

_live = []


def _ip(*args, timeout=10, check=True):
    r = subprocess.run([IP] + list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise RuntimeError("ip %s: exit %d: %s" % (" ".join(args),
                                                   r.returncode,
                                                   r.stderr.strip()))
    return r


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def list_namespaces():
    r = _ip("netns", "list", check=False)
    return [line.split()[0] for line in r.stdout.splitlines() if line]


def _kill_namespace_pids(ns):
    """SIGKILL every process inside ns; wait (bounded) until none is left."""
    for _ in range(50):
        r = _ip("netns", "pids", ns, check=False)
        pids = [int(p) for p in r.stdout.split() if p.isdigit()]
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.1)


def _remove_namespace(ns):
    _kill_namespace_pids(ns)
    _ip("netns", "del", ns, check=False)
    shutil.rmtree(os.path.join(ETC_NETNS, ns), ignore_errors=True)


def remove_stale():
    """Remove correo-*-PID namespaces whose PID no longer runs."""
    rx = re.compile("^" + re.escape(PREFIX) + r"[a-z0-9]+-(\d+)$")
    for ns in list_namespaces():
        m = rx.match(ns)
        if m and not _pid_alive(int(m.group(1))):
            _remove_namespace(ns)


def skip_reason():
    """Why this machine cannot run namespace tests, or None."""
    if os.geteuid() != 0:
        return "network namespaces need root (run the tests as root)"
    if not os.access(IP, os.X_OK):
        return "no ip command (Debian package iproute2)"
    return None


class Net:
    """A hub with DNS and hosts in network namespaces. See the module doc.

    hosts: names ("alice", ...); host i gets address 10.77.0.(2+i).
    dns: extra dnsmasq options (records), or None for no DNS server."""

    def __init__(self, hosts, dns=None):
        self.tag = str(os.getpid())
        self.hub = "%snet-%s" % (PREFIX, self.tag)
        self.hosts = list(hosts)
        self.ns = {h: "%s%s-%s" % (PREFIX, h, self.tag) for h in self.hosts}
        self.addr = {h: "%s.%d" % (SUBNET, 2 + i)
                     for i, h in enumerate(self.hosts)}
        self.dns_options = dns
        self.dnsmasq = None
        self.dns_log = None
        self.workdir = None
        self.made = []
        self.torn_down = False

    # -- setting up --

    def setup(self):
        """Build the network; SkipTest if namespaces are not permitted."""
        reason = skip_reason()
        if reason:
            raise unittest.SkipTest(reason)
        if self.dns_options is not None and not os.access(DNSMASQ, os.X_OK):
            raise unittest.SkipTest("no dnsmasq (Debian package "
                                    "dnsmasq-base; scripts/deps installs "
                                    "it)")
        remove_stale()
        _live.append(self)
        r = _ip("netns", "add", self.hub, check=False)
        if r.returncode != 0:
            _live.remove(self)
            raise unittest.SkipTest("network namespaces are not permitted "
                                    "here: ip netns add: %s"
                                    % r.stderr.strip())
        self.made.append(self.hub)
        try:
            self._build()
        except BaseException:
            self.teardown()
            raise

    def _build(self):
        hub = self.hub
        _ip("-n", hub, "link", "set", "lo", "up")
        _ip("-n", hub, "link", "add", "br0", "type", "bridge")
        _ip("-n", hub, "addr", "add", HUB_ADDR + "/24", "dev", "br0")
        _ip("-n", hub, "link", "set", "br0", "up")
        for i, h in enumerate(self.hosts):
            ns = self.ns[h]
            _ip("netns", "add", ns)
            self.made.append(ns)
            port = "p%d" % i
            _ip("-n", hub, "link", "add", port, "type", "veth", "peer",
                "name", "eth0", "netns", ns)
            _ip("-n", hub, "link", "set", port, "master", "br0")
            _ip("-n", hub, "link", "set", port, "up")
            _ip("-n", ns, "link", "set", "lo", "up")
            _ip("-n", ns, "addr", "add", self.addr[h] + "/24", "dev", "eth0")
            _ip("-n", ns, "link", "set", "eth0", "up")
            self._write_etc(h)
        self.workdir = "/tmp/%snet-%s" % (PREFIX, self.tag)
        shutil.rmtree(self.workdir, ignore_errors=True)
        os.makedirs(self.workdir)
        if self.dns_options is not None:
            self._start_dns()

    def _write_etc(self, host):
        d = os.path.join(ETC_NETNS, self.ns[host])
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "resolv.conf"), "w") as f:
            f.write("# test network %s\nnameserver %s\n"
                    "options timeout:1 attempts:2\n" % (self.hub, HUB_ADDR))
        with open(os.path.join(d, "hosts"), "w") as f:
            f.write("127.0.0.1 localhost\n::1 localhost\n")

    def _start_dns(self):
        self.dns_log = os.path.join(self.workdir, "dnsmasq.log")
        args = [IP, "netns", "exec", self.hub, DNSMASQ, "-k",
                "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
                "--no-poll", "--user=root", "--group=root",
                "--listen-address=" + HUB_ADDR, "--bind-interfaces",
                "--pid-file=" + os.path.join(self.workdir, "dnsmasq.pid"),
                "--log-queries", "--log-facility=" + self.dns_log
                ] + list(self.dns_options)
        self.dnsmasq = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.dnsmasq.poll() is not None:
                raise RuntimeError("dnsmasq exited %d: %s" % (
                    self.dnsmasq.returncode,
                    self.dnsmasq.stderr.read().decode(errors="replace")))
            if self._dns_listening():
                return
            time.sleep(0.05)
        raise RuntimeError("dnsmasq does not listen on %s:53" % HUB_ADDR)

    def _dns_listening(self):
        r = _ip("netns", "exec", self.hub, "cat", "/proc/net/udp",
                check=False)
        want = "%08X:0035" % int.from_bytes(
            bytes(int(x) for x in HUB_ADDR.split(".")), "little")
        return want in r.stdout

    # -- using --

    def exec_args(self, host, args):
        """argv that runs args inside host's namespace (with its /etc)."""
        ns = self.hub if host is None else self.ns[host]
        return [IP, "netns", "exec", ns] + list(args)

    def run(self, host, args, timeout=30, check=False, input=None):
        """Run args inside host's namespace; CompletedProcess (text)."""
        r = subprocess.run(self.exec_args(host, args), input=input,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError("%s in %s: exit %d\nstdout:\n%s\n"
                                 "stderr:\n%s" % (" ".join(args), host,
                                                  r.returncode, r.stdout,
                                                  r.stderr))
        return r

    def python(self, host, code, timeout=30, check=True):
        """Run a Python program text inside host's namespace."""
        import sys
        return self.run(host, [sys.executable, "-c", code], timeout=timeout,
                        check=check)

    def can_connect(self, host, addr, port, timeout=1.0):
        code = ("import socket,sys\n"
                "try:\n"
                "    socket.create_connection((%r, %d), %r).close()\n"
                "except OSError:\n"
                "    sys.exit(1)\n" % (addr, port, timeout))
        return self.python(host, code, check=False,
                           timeout=timeout + 10).returncode == 0

    def dns_queries(self):
        try:
            with open(self.dns_log, errors="replace") as f:
                return f.read()
        except (OSError, TypeError):
            return ""

    # -- tearing down --

    def teardown(self):
        """Idempotent; never raises."""
        if self.torn_down:
            return
        self.torn_down = True
        if self.dnsmasq is not None and self.dnsmasq.poll() is None:
            self.dnsmasq.kill()
            try:
                self.dnsmasq.wait(5)
            except subprocess.TimeoutExpired:
                pass
        if self.dnsmasq is not None:
            self.dnsmasq.stderr.close()
        for ns in reversed(self.made):
            try:
                _remove_namespace(ns)
            except Exception:  # keep going: remove what we can
                pass
        if self.workdir and not os.environ.get("CORREO_KEEP_TEST_DIRS"):
            shutil.rmtree(self.workdir, ignore_errors=True)
        if self in _live:
            _live.remove(self)


@atexit.register
def _teardown_all():
    for net in list(_live):
        net.teardown()
