#!/usr/bin/env python3
"""test_twohost: Alice writes to bob@marvel.test, across two real hosts.

Two correo instances, each in its own network namespace (alice.test at
10.77.0.2, marvel.test at 10.77.0.3), and a dnsmasq in a third one
(10.77.0.1) that serves the MX records of both domains; each host's
/etc/resolv.conf points at it (netns.py). The instances run the way root
runs them in production (privilege-separated, smtpd on port 25 of every
address of the host), with short retry times. Checked:

  - the network itself: the MX record is served, marvel's smtpd answers
    on 10.77.0.3:25 from alice's host and delivers into Bob's Maildir;
  - mail submitted at alice.test for bob@marvel.test arrives in Bob's
    Maildir through the MX lookup;
  - with marvel.test's correo stopped the message sits deferred ("correo
    queue" shows it with its reason and its next try) and is delivered
    once marvel.test is back and the retry fires;
  - with a short queue lifetime and marvel.test down, Alice gets a DSN
    bounce in her Maildir.

Skips (exit 77, saying why) unless run as root on a machine that permits
network namespaces, with iproute2 and dnsmasq installed (scripts/deps).
"""

import email
import email.policy
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import netns  # noqa: E402  (first: its atexit teardown runs last)
import harness  # noqa: E402
from harness import wait_for  # noqa: E402

HOSTS = {"alice": "alice.test", "marvel": "marvel.test"}

# The test DNS: MX and A records of both domains; everything else under
# .test is answered locally (NXDOMAIN/NODATA), never forwarded.
DNS_RECORDS = [
    "--local=/test/",
    "--mx-host=alice.test,mx.alice.test,10",
    "--mx-host=marvel.test,mx.marvel.test,10",
    "--host-record=mx.alice.test,10.77.0.2",
    "--host-record=mx.marvel.test,10.77.0.3",
]

# Short retry times so the deferred and bounce cases take seconds.
FAST_RETRY = {
    "minimal_backoff_time": "2s",
    "maximal_backoff_time": "4s",
    "queue_run_delay": "2s",
    "smtp_connect_timeout": "5s",
    "inet_protocols": "ipv4",
    "mynetworks": "127.0.0.0/8",
}

# A DNS MX query over UDP, run inside a host's namespace: prints JSON
# {"rcode": N, "mx": [[pref, name], ...]}. Standard library only.
MX_QUERY = r'''
import json, random, socket, struct, sys
name, server = sys.argv[1], sys.argv[2]
qid = random.randrange(65536)
q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
for label in name.split("."):
    q += bytes([len(label)]) + label.encode()
q += b"\0" + struct.pack(">HH", 15, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
s.sendto(q, (server, 53))
r = s.recv(4096)
def skip_name(p):
    while True:
        n = r[p]
        if n == 0:
            return p + 1
        if n >= 0xc0:
            return p + 2
        p += n + 1
def read_name(p):
    out = []
    while True:
        n = r[p]
        if n == 0:
            return ".".join(out)
        if n >= 0xc0:
            p = ((n & 0x3f) << 8) | r[p + 1]
            continue
        out.append(r[p + 1:p + 1 + n].decode())
        p += n + 1
rid, flags, qd, an = struct.unpack(">HHHH", r[:8])
assert rid == qid, "wrong id"
p = 12
for _ in range(qd):
    p = skip_name(p) + 4
mx = []
for _ in range(an):
    p = skip_name(p)
    rtype, _, _, rdlen = struct.unpack(">HHIH", r[p:p + 10])
    p += 10
    if rtype == 15:
        mx.append([struct.unpack(">H", r[p:p + 2])[0], read_name(p + 2)])
    p += rdlen
print(json.dumps({"rcode": flags & 15, "mx": mx}))
'''

# Submit one message over SMTP from inside a host's namespace; argv:
# host port sender rcpt, the message on stdin. Prints the refused dict.
SUBMIT = r'''
import smtplib, sys
host, port, sender, rcpt = sys.argv[1:5]
msg = sys.stdin.read()
with smtplib.SMTP(host, int(port), timeout=20) as s:
    print(s.sendmail(sender, [rcpt], msg))
'''


class HostInstance(harness.Instance):
    """A root-mode correo instance whose every command runs inside the
    namespace of one test host; smtpd listens on port 25 of every
    address of that host."""

    def __init__(self, net, host, config=None):
        self.net = net
        self.host = host
        super().__init__(domain=HOSTS[host], root_mode=True, init=False)
        self.init()
        conf = dict(FAST_RETRY)
        conf["myhostname"] = "mx." + self.domain
        conf.update(config or {})
        self.add_config(conf)
        self.smtp_port = 25
        self._fix_services()
        self.correo("user", "add", self.mailbox_address(), check=True)

    def mailbox_address(self):
        return "%s@%s" % ("bob" if self.host == "marvel" else "alice",
                          self.domain)

    def mailbox(self):
        local, domain = self.mailbox_address().split("@")
        return "%s/%s" % (domain, local)

    def run(self, args, check=False, timeout=60, env=None):
        return super().run(self.net.exec_args(self.host, args),
                           check=check, timeout=timeout, env=env)

    def _fix_services(self):
        """smtpd on port 25 (all addresses); the smtp client enabled."""
        path = os.path.join(self.dir, "services.conf")
        with open(path) as f:
            lines = f.read().splitlines()
        out = []
        for line in lines:
            cols = line.split()
            if line and not line.startswith("#") and len(cols) >= 8 \
                    and cols[1] == "inet" and \
                    cols[0].endswith(":%d" % (self.base + 25)):
                line = "25" + line[len(cols[0]):]
            elif re.match(r"#\s*smtp\s+unix\s", line):
                line = line[1:]
            out.append(line)
        with open(path, "w") as f:
            f.write("\n".join(out) + "\n")

    def start(self, check=True):
        r = super().start(check=check)
        if check:
            wait_for(lambda: self.net.can_connect(self.host, "127.0.0.1",
                                                  25),
                     15, what="smtpd on port 25 of %s%s" % (
                         self.host, self.log_tail()))
        return r

    def submit(self, sender, rcpt, message, addr="127.0.0.1", port=25,
               client=None):
        """SMTP to addr:port from inside the namespace of host client
        (default: this instance's own host)."""
        client = client or self.host
        r = self.net.run(client, [sys.executable, "-c", SUBMIT, addr,
                                  str(port), sender, rcpt],
                         input=message, timeout=60)
        if r.returncode != 0:
            raise AssertionError("submission to %s:%d from %s failed:\n%s%s"
                                 % (addr, port, client, r.stderr,
                                    self.log_tail()))
        return r.stdout.strip()

    def queue_ids(self):
        ids = []
        for sub in ("incoming", "active", "deferred", "hold", "maildrop"):
            ids.extend(harness.queue_ids(self.queue, sub))
        return ids

    def wait_for_empty_queue(self, timeout=20):
        wait_for(lambda: not self.queue_ids(), timeout,
                 what="an empty queue at %s%s" % (self.host,
                                                  self.log_tail()))


def message(subject, body="Hello Bob.\n"):
    return ("From: Alice <alice@alice.test>\n"
            "To: Bob <bob@marvel.test>\n"
            "Subject: %s\n"
            "Message-ID: <%s.%d@alice.test>\n"
            "\n%s" % (subject, subject.replace(" ", "-"), os.getpid(),
                      body))


class TwoHost(harness.TestCase):
    net = None

    skip_reason = None

    @classmethod
    def setUpClass(cls):
        # A skip here would count as no test run (exit 0, not 77):
        # remember why and skip each test instead.
        net = netns.Net(list(HOSTS), dns=DNS_RECORDS)
        try:
            net.setup()
        except harness.unittest.SkipTest as e:
            cls.skip_reason = str(e)
            print("SKIP: test_twohost: %s" % e, file=sys.stderr)
            return
        cls.net = net

    def setUp(self):
        if self.skip_reason:
            self.skipTest(self.skip_reason)

    @classmethod
    def tearDownClass(cls):
        if cls.net is not None:
            harness._cleanup_all()
            cls.net.teardown()

    def host(self, name, config=None):
        inst = HostInstance(self.net, name, config=config)
        self.addCleanup(inst.cleanup)
        return inst

    def need_relay(self):
        harness.require_daemons(self, "smtp")

    def mx_lookup(self, host, name):
        r = self.net.run(host, [sys.executable, "-c", MX_QUERY, name,
                                netns.HUB_ADDR], timeout=20)
        if r.returncode != 0:
            self.fail("MX query for %s from %s failed:\n%s\n%s"
                      % (name, host, r.stderr, self.net.dns_queries()))
        return json.loads(r.stdout)

    def bob_message(self, marvel, subject):
        msgs = marvel.wait_for_maildir(marvel.mailbox(), 1, timeout=30)
        self.assertEqual(len(msgs), 1, [m[0] for m in msgs])
        msg = email.message_from_bytes(msgs[0][1], policy=email.policy.default)
        self.assertEqual(msg["Subject"], subject)
        return msg

    # -- the network on its own --

    def test_network(self):
        """DNS serves the MX; marvel's smtpd takes mail from alice's host
        at 10.77.0.3:25 and delivers it into Bob's Maildir."""
        for host in HOSTS:
            got = self.mx_lookup(host, "marvel.test")
            self.assertEqual(got, {"rcode": 0,
                                   "mx": [[10, "mx.marvel.test"]]})
        got = self.mx_lookup("alice", "nowhere.test")
        self.assertEqual(got["rcode"], 3, "NXDOMAIN expected: %r" % got)
        r = self.net.run("alice", ["getent", "ahostsv4", "mx.marvel.test"])
        self.assertIn("10.77.0.3", r.stdout, r.stderr)
        marvel = self.host("marvel")
        marvel.start()
        self.assertTrue(self.net.can_connect("alice", "10.77.0.3", 25))
        # alice's host is not in marvel's mynetworks: only marvel's own
        # domain is accepted, relaying is refused.
        marvel.submit("alice@alice.test", "bob@marvel.test",
                      message("direct"), addr="10.77.0.3",
                      client="alice")
        msg = self.bob_message(marvel, "direct")
        self.assertIn("10.77.0.2", msg["Received"])
        with self.assertRaises(AssertionError) as cm:
            marvel.submit("alice@alice.test", "carol@elsewhere.test",
                          message("relay"), addr="10.77.0.3",
                          client="alice")
        self.assertRegex(str(cm.exception), r"55\d")

    # -- relay through the MX --

    def test_mx_delivery(self):
        """alice.test relays to marvel.test's MX; Bob gets the mail."""
        self.need_relay()
        alice = self.host("alice")
        marvel = self.host("marvel")
        marvel.start()
        alice.start()
        alice.submit("alice@alice.test", "bob@marvel.test",
                     message("through the MX"))
        msg = self.bob_message(marvel, "through the MX")
        # Received by marvel from alice's address (10.77.0.2), and by
        # alice from the submitting client.
        received = msg.get_all("Received")
        self.assertGreaterEqual(len(received), 2, received)
        self.assertIn("10.77.0.2", received[0])
        self.assertEqual(msg["Return-Path"], "<alice@alice.test>")
        alice.wait_for_log(r"to=<bob@marvel\.test>, relay=mx\.marvel\.test"
                           r"\[10\.77\.0\.3\]:25,.*status=sent", timeout=15)
        self.assertRegex(self.net.dns_queries(),
                         r"query\[MX\] marvel\.test from 10\.77\.0\.2")
        alice.wait_for_empty_queue()

    def test_deferred_then_delivered(self):
        """marvel.test down: deferred, visible in the queue with reason
        and next try; delivered once marvel.test is back."""
        self.need_relay()
        alice = self.host("alice")
        marvel = self.host("marvel")
        marvel.start()
        marvel.stop()
        alice.start()
        alice.submit("alice@alice.test", "bob@marvel.test",
                     message("while you were out"))
        alice.wait_for_log(r"to=<bob@marvel\.test>, relay=.*"
                           r"status=deferred", timeout=30)
        ids = wait_for(lambda: [i for i in alice.queue_ids()], 10,
                       what="the message in alice's queue")
        self.assertEqual(len(ids), 1, ids)
        qid = ids[0]
        reason = re.compile(r"(?m)^ *\(.*(?:refused|10\.77\.0\.3).*\)"
                            r"\n +bob@marvel\.test$")
        last = []

        def listed():
            last[:] = [alice.correo("queue", check=True).stdout]
            return qid in last[0] and reason.search(last[0])
        try:
            wait_for(listed, 10, what="the deferral reason in the listing")
        except AssertionError as e:
            self.fail("%s:\n%s" % (e, last[0]))
        self.check_next_try(alice, qid)
        self.assertEqual(marvel.maildir(marvel.mailbox()), [])
        marvel.start()
        self.bob_message(marvel, "while you were out")
        alice.wait_for_log(r"to=<bob@marvel\.test>, relay=mx\.marvel\.test"
                           r"\[10\.77\.0\.3\]:25,.*status=sent", timeout=15)
        alice.wait_for_empty_queue()
        self.assertEqual(alice.maildir(alice.mailbox()), [])

    def check_next_try(self, alice, qid):
        """The next try is the deferred file's mtime (qmgr's design):
        in the future, within maximal_backoff_time (4s). If the JSON
        listing gives next_attempt_time, it must agree with it."""
        path = os.path.join(alice.queue, "deferred", qid)
        try:
            nxt = os.stat(path).st_mtime
        except FileNotFoundError:
            # qmgr may be trying it right now: wait for the next deferral.
            wait_for(lambda: os.path.exists(path), 10,
                     what="%s back in deferred/" % qid)
            nxt = os.stat(path).st_mtime
        now = time.time()
        self.assertLessEqual(nxt, now + 4.5, "next try too late")
        js = alice.correo("queue", "--json", check=True).stdout
        entries = [json.loads(line) for line in js.splitlines() if line]
        entry = [e for e in entries if e.get("queue_id") == qid]
        self.assertEqual(len(entry), 1, js)
        self.assertTrue(all(r.get("delay_reason")
                            for r in entry[0]["recipients"]), js)
        if "next_attempt_time" in entry[0]:
            self.assertLessEqual(abs(entry[0]["next_attempt_time"] - nxt),
                                 5, js)

    def test_bounce_after_lifetime(self):
        """marvel.test down past the queue lifetime: Alice gets a DSN."""
        self.need_relay()
        alice = self.host("alice", config={"maximal_queue_lifetime": "8s",
                                           "bounce_queue_lifetime": "8s"})
        alice.start()
        start = time.monotonic()
        alice.submit("alice@alice.test", "bob@marvel.test",
                     message("never arrives"))
        msgs = alice.wait_for_maildir(alice.mailbox(), 1, timeout=60)
        self.assertGreaterEqual(time.monotonic() - start, 7)
        self.assertEqual(len(msgs), 1, [m[0] for m in msgs])
        dsn = email.message_from_bytes(msgs[0][1],
                                       policy=email.policy.default)
        self.assertEqual(dsn["Return-Path"], "<>")
        self.assertRegex(dsn["From"], r"(?i)mailer-daemon@")
        self.assertEqual(dsn.get_content_type(), "multipart/report")
        self.assertEqual(dsn.get_param("report-type"), "delivery-status")
        parts = list(dsn.iter_parts())
        self.assertGreaterEqual(len(parts), 2)
        status = parts[1]
        self.assertEqual(status.get_content_type(),
                         "message/delivery-status")
        text = msgs[0][1].decode(errors="replace")
        self.assertRegex(text, r"(?i)Final-Recipient: rfc822;\s*"
                         r"bob@marvel\.test")
        self.assertRegex(text, r"(?i)Action: failed")
        self.assertRegex(text, r"(?i)Status: [45]\.\d+\.\d+")
        self.assertIn("Subject: never arrives", text)
        # The reason is the real one: marvel's MX refused the connection.
        self.assertRegex(text, r"(?i)(mx\.marvel\.test|10\.77\.0\.3)"
                         r"(.|\n)*refused")
        alice.wait_for_log(r"to=<bob@marvel\.test>,.*status=bounced",
                           timeout=5)
        alice.wait_for_empty_queue()


if __name__ == "__main__":
    harness.main()
