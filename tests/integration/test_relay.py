"""Relay scheduling end to end: smtpd -> qmgr -> smtp -> a fake peer.

qmgr routes example.test through transport_maps to the smtp agent and a
scripted fake SMTP server (test_smtp_client.py's, extended here to
count concurrent transactions). Each test checks the resulting queue
state (deferred/, queue/defer/ID, "correo queue --json") and the notices
the sender gets, parsed with Python's email package: the RFC 3464
multipart/report with every per-message and per-recipient field, the
returned header or message per RET. Also: retries after the backoff
deliver once the peer recovers, a dead destination does not stall mail
for others, the per-destination concurrency limit holds, NOTIFY=SUCCESS,
NEVER and DELAY, and a bounce that cannot be delivered goes to
postmaster once and never loops.

Run by "make check" (CORREO_BUILDDIR set); see harness.py."""

import email
import email.policy
import json
import os
import re
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import wait_for  # noqa: E402
from test_smtp_client import (FakeHandler, FakeTCPServer,  # noqa: E402
                              Script)

SERVICES = """
127.0.0.1:{smtp_port} inet n - n - 100 smtpd
qmgr unix - - n 300 1 qmgr
local unix - root n - 10 local
smtp unix - - n - 20 smtp
"""

CONFIG = {
    "service_throttle_time": "1s",
    "minimal_backoff_time": "2s",
    "maximal_backoff_time": "3s",
    "queue_run_delay": "1s",
    "destination_dead_time": "3s",
    "transport_maps": "texthash:$config_directory/transport",
    "smtp_connect_timeout": "2s",
    "smtp_helo_timeout": "2s",
    "smtp_mail_timeout": "2s",
    "smtp_rcpt_timeout": "2s",
    "smtp_data_init_timeout": "2s",
    "smtp_data_xfer_timeout": "2s",
    "smtp_data_done_timeout": "2s",
    "smtp_quit_timeout": "2s",
    "smtp_connection_reuse_time": "1s",
    "bounce_notice_recipient": "demo@demo.test",
}

SENDER = "demo@demo.test"
MAILDIR = "demo.test/demo"


class CountingHandler(FakeHandler):
    """The fake peer, counting transactions in DATA at once and keeping
    each message with its envelope."""

    def read_data(self):
        srv = self.server
        with srv.lock:
            srv.active += 1
            srv.max_active = max(srv.max_active, srv.active)
        try:
            if srv.script.data_delay:
                time.sleep(srv.script.data_delay)
            data = super().read_data()
        finally:
            with srv.lock:
                srv.active -= 1
        if data is not None:
            cmds = self.sess.commands
            i = max(k for k, c in enumerate(cmds)
                    if c.upper().startswith("MAIL"))
            with srv.lock:
                srv.messages.append((cmds[i], cmds[i + 1:], data))
        return data


def start_peer(port, **kw):
    script = Script(**kw)
    if not hasattr(script, "data_delay"):
        script.data_delay = 0
    srv = FakeTCPServer(("127.0.0.1", port), CountingHandler)
    srv.script = script
    srv.sessions = []
    srv.tls_ctx = None
    srv.lock = threading.Lock()
    srv.active = srv.max_active = 0
    srv.messages = []
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def message(subject, body="hello\n", msgid=None):
    msgid = msgid or "<%s.%f@demo.test>" % (subject.replace(" ", "."),
                                            time.time())
    return ("From: demo@demo.test\nTo: someone@example.test\n"
            "Subject: %s\nMessage-ID: %s\n\n%s" % (subject, msgid, body))


def parse(raw):
    return email.message_from_bytes(raw, policy=email.policy.default)


class RelayBase(harness.TestCase):
    config = {}
    peer_kw = {}

    def setUp(self):
        harness.require_daemons(self, "smtpd", "qmgr", "local", "smtp",
                                "master")
        cfg = dict(CONFIG)
        cfg.update(self.config)
        self.inst = self.instance(services=SERVICES, config=cfg)
        self.peer_port = self.inst.port(7)
        self.down_port = self.inst.port(8)
        self.peer = start_peer(self.peer_port, **self.peer_kw)
        self.addCleanup(self.peer.server_close)
        self.addCleanup(self.peer.shutdown)
        path = os.path.join(self.inst.dir, "transport")
        with open(path, "w") as f:
            f.write("example.test smtp:[127.0.0.1]:%d\n"
                    "down.test smtp:[127.0.0.1]:%d\n"
                    % (self.peer_port, self.down_port))
        if self.inst.user is not None:
            os.chown(path, self.inst.user.pw_uid, self.inst.user.pw_gid)
        self.inst.start()

    # -- helpers --

    def submit(self, rcpts, msg, sender=SENDER, mail_opts=(),
               rcpt_opts=None):
        """Send with per-recipient options; returns the queue ID."""
        with self.inst.smtp() as s:
            s.ehlo("client.test")
            code, _ = s.mail(sender, list(mail_opts))
            self.assertEqual(code, 250)
            for r in rcpts:
                opts = (rcpt_opts or {}).get(r, [])
                code, text = s.rcpt(r, opts)
                self.assertEqual(code, 250, text)
            code, text = s.data(msg)
            self.assertEqual(code, 250, text)
        return re.search(r"queued as (\w+)", text.decode()).group(1)

    def queue_ids(self, sub):
        return harness.queue_ids(self.inst.queue, sub)

    def defer_log(self, qid):
        try:
            with open(os.path.join(self.inst.queue, "defer", qid)) as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def queue_json(self):
        r = self.inst.correo("queue", "--json")
        self.assertRuns(r)
        return [json.loads(ln) for ln in r.stdout.splitlines()]

    def wait_empty(self, timeout=20):
        wait_for(lambda: not any(self.queue_ids(d) for d in
                                 ("incoming", "active", "deferred")),
                 timeout, what="an empty queue" + self.inst.log_tail())

    def notices(self, count, timeout=20):
        msgs = self.inst.wait_for_maildir(MAILDIR, count, timeout)
        return [parse(raw) for _, raw in msgs]

    def report(self, dsn):
        """(per-message fields, [per-recipient fields]) of a DSN."""
        self.assertEqual(dsn.get_content_type(), "multipart/report")
        self.assertEqual(dsn.get_param("report-type"), "delivery-status")
        parts = list(dsn.iter_parts())
        self.assertEqual(len(parts), 3)
        self.assertEqual(parts[0].get_content_type(), "text/plain")
        self.assertEqual(parts[1].get_content_type(),
                         "message/delivery-status")
        blocks = parts[1].get_payload()
        return blocks[0], blocks[1:], parts

    def check_envelope(self, dsn, subject):
        self.assertEqual(dsn["Return-Path"], "<>")
        self.assertEqual(dsn["From"].addresses[0].username,
                         "MAILER-DAEMON")
        self.assertEqual(dsn["Subject"], subject)
        self.assertEqual(dsn["Auto-Submitted"], "auto-replied")
        self.assertIsNotNone(dsn["Date"].datetime)



class RelayTest(RelayBase):

    def test_per_recipient_replies(self):
        """250/452/550 per recipient: one sent, one deferred (queue state,
        defer log, json), one bounced with a full DSN; the deferred one
        is delivered after the backoff once the peer accepts it."""
        self.peer.script.rcpt_replies = {
            "full@example.test": "452 4.2.2 mailbox full",
            "bad@example.test": "550 5.1.1 no such user",
        }
        rcpts = ["ok@example.test", "full@example.test", "bad@example.test"]
        qid = self.submit(
            rcpts, message("three ways"),
            mail_opts=["RET=FULL", "ENVID=env+2Dqmgr"],
            rcpt_opts={"bad@example.test":
                       ["NOTIFY=FAILURE", "ORCPT=rfc822;Bad@Example.test"]})
        wait_for(lambda: qid in self.queue_ids("deferred"), 15,
                 what="deferred/" + qid + self.inst.log_tail())
        self.assertIn("<full@example.test>: host 127.0.0.1[127.0.0.1] said: "
                      "452 4.2.2 mailbox full", self.defer_log(qid))
        self.assertNotIn("ok@example.test", self.defer_log(qid))
        [obj] = [o for o in self.queue_json() if o["queue_id"] == qid]
        self.assertEqual(obj["queue_name"], "deferred")
        self.assertEqual([r["address"] for r in obj["recipients"]],
                         ["full@example.test"])
        self.assertIn("452 4.2.2 mailbox full",
                      obj["recipients"][0]["delay_reason"])
        # The bounce for bad@ only.
        [dsn] = self.notices(1)
        self.check_envelope(dsn, "Undelivered Mail Returned to Sender")
        self.assertEqual(dsn["To"].addresses[0].addr_spec, "demo@demo.test")
        msgf, rcptf, parts = self.report(dsn)
        self.assertIn("<bad@example.test>: host 127.0.0.1[127.0.0.1] said: "
                      "550 5.1.1 no such user", parts[0].get_content())
        self.assertEqual(msgf["Original-Envelope-Id"], "env-qmgr")
        self.assertEqual(msgf["Reporting-MTA"], "dns; mail.demo.test")
        self.assertIsNotNone(email.utils.parsedate_to_datetime(
            msgf["Arrival-Date"]))
        self.assertEqual(len(rcptf), 1)
        r = rcptf[0]
        self.assertEqual(r["Final-Recipient"], "rfc822; bad@example.test")
        self.assertEqual(r["Original-Recipient"], "rfc822; Bad@Example.test")
        self.assertEqual(r["Action"], "failed")
        self.assertEqual(r["Status"], "5.1.1")
        self.assertEqual(r["Remote-MTA"], "dns; 127.0.0.1")
        self.assertEqual(r["Diagnostic-Code"],
                         "smtp; 550 5.1.1 no such user")
        # RET=FULL: the whole message comes back.
        self.assertEqual(parts[2].get_content_type(), "message/rfc822")
        orig = parts[2].get_payload()[0]
        self.assertEqual(orig["Subject"], "three ways")
        self.assertEqual(orig.get_content(), "hello\n")
        # The peer recovers: the retry after the backoff delivers.
        first = len(self.peer.messages)
        self.assertEqual(first, 1)
        self.assertEqual(self.peer.messages[0][1][:1],
                         ["RCPT TO:<ok@example.test>"])
        self.peer.script.rcpt_replies = {}
        t0 = time.monotonic()
        self.wait_empty()
        self.assertGreaterEqual(time.monotonic() - t0, 0.5)
        mail, rcpt_cmds, _ = self.peer.messages[1]
        self.assertEqual(rcpt_cmds[0], "RCPT TO:<full@example.test>")
        self.assertEqual(len(self.peer.messages), 2)
        self.assertEqual(self.defer_log(qid), "")
        self.assertEqual(len(self.inst.maildir(MAILDIR)), 1)

    def test_dropped_mid_data_then_recovers(self):
        self.peer.script.drop_in_data = 40
        qid = self.submit(["x@example.test"], message("dropped",
                                                     "x" * 400 + "\n"))
        wait_for(lambda: qid in self.queue_ids("deferred"), 15,
                 what="deferred/" + qid + self.inst.log_tail())
        self.assertRegex(self.defer_log(qid),
                         r"<x@example\.test>: .*(lost connection|"
                         r"[Cc]onnection).*")
        self.inst.wait_for_log(qid + r": to=<x@example\.test>, "
                               r"relay=127\.0\.0\.1\[127\.0\.0\.1\]:\d+, "
                               r".*dsn=4\.\d\.\d, status=deferred")
        self.peer.script.drop_in_data = None
        self.wait_empty()
        self.assertEqual(len(self.peer.messages), 1)
        self.assertIn(b"x" * 400, self.peer.messages[0][2])
        self.assertEqual(self.inst.maildir(MAILDIR), [])

    def test_stall_times_out_then_recovers(self):
        self.peer.script.stall_done = True
        qid = self.submit(["x@example.test"], message("stalled"))
        wait_for(lambda: qid in self.queue_ids("deferred"), 20,
                 what="deferred/" + qid + self.inst.log_tail())
        self.assertRegex(self.defer_log(qid), r"(?i)timeout|timed out")
        self.peer.script.stall_done = False
        self.wait_empty(30)
        # Delivered at least once after the stall (the stalled attempt
        # may have been accepted by the peer too: a duplicate is allowed,
        # a loss is not).
        self.assertGreaterEqual(len(self.peer.messages), 1)

    def test_small_size_bounces(self):
        """The peer announces SIZE 200: a bigger message bounces at once
        (5.3.4), the DSN returns the whole message (no RET, small)."""
        self.peer.script.size = 200
        qid = self.submit(["big@example.test"],
                          message("too big", "y" * 500 + "\n"))
        [dsn] = self.notices(1)
        msgf, [r], parts = self.report(dsn)
        self.assertEqual(r["Action"], "failed")
        self.assertEqual(r["Status"], "5.3.4")
        self.assertEqual(r["Final-Recipient"], "rfc822; big@example.test")
        self.assertIn("X-Correo-Queue-ID", msgf)
        self.assertEqual(msgf["X-Correo-Queue-ID"], qid)
        self.assertIsNone(msgf["Original-Envelope-Id"])
        self.assertEqual(parts[2].get_content_type(), "message/rfc822")
        self.assertIn("y" * 500, parts[2].get_payload()[0].get_content())
        self.wait_empty()
        self.assertEqual(self.peer.messages, [])

    def test_ret_hdrs_and_notify_never(self):
        self.peer.script.rcpt_replies = {
            "a@example.test": "550 5.1.1 gone",
            "b@example.test": "550 5.1.1 gone too",
        }
        self.submit(["a@example.test", "b@example.test"],
                    message("headers only", "secret body\n"),
                    mail_opts=["RET=HDRS"],
                    rcpt_opts={"b@example.test": ["NOTIFY=NEVER"]})
        [dsn] = self.notices(1)
        _, rcptf, parts = self.report(dsn)
        # b@ asked for no notice.
        self.assertEqual([r["Final-Recipient"] for r in rcptf],
                         ["rfc822; a@example.test"])
        self.assertEqual(parts[2].get_content_type(), "text/rfc822-headers")
        self.assertIn("Subject: headers only", parts[2].get_content())
        self.assertNotIn(b"secret body", dsn.as_bytes())
        self.wait_empty()
        time.sleep(1)
        self.assertEqual(len(self.inst.maildir(MAILDIR)), 1)

    def test_notify_success_relayed(self):
        """NOTIFY=SUCCESS through a peer without DSN: Action: relayed;
        the peer does not see NOTIFY (it did not announce DSN)."""
        self.submit(["s@example.test", "quiet@example.test"],
                    message("tell me"),
                    rcpt_opts={"s@example.test": ["NOTIFY=SUCCESS"]})
        [dsn] = self.notices(1)
        self.check_envelope(dsn, "Successful Mail Delivery Report")
        _, rcptf, parts = self.report(dsn)
        self.assertEqual(len(rcptf), 1)
        self.assertEqual(rcptf[0]["Action"], "relayed")
        self.assertEqual(rcptf[0]["Status"], "2.0.0")
        self.assertEqual(rcptf[0]["Remote-MTA"], "dns; 127.0.0.1")
        self.assertEqual(parts[2].get_content_type(), "text/rfc822-headers")
        self.wait_empty()
        self.assertFalse(any("NOTIFY" in c for s in self.peer.sessions
                             for c in s.commands))

    def test_dsn_passed_on_to_dsn_peer(self):
        self.peer.script.dsn = True
        self.submit(["p@example.test"], message("pass it on"),
                    mail_opts=["RET=HDRS", "ENVID=abc"],
                    rcpt_opts={"p@example.test": [
                        "NOTIFY=SUCCESS,FAILURE",
                        "ORCPT=rfc822;P@Example.test"]})
        self.wait_empty()
        mail, rcpts, _ = self.peer.messages[0]
        self.assertIn("RET=HDRS", mail)
        self.assertIn("ENVID=abc", mail)
        self.assertRegex(mail, r"SIZE=\d+")
        self.assertIn("NOTIFY=SUCCESS,FAILURE", rcpts[0])
        self.assertIn("ORCPT=rfc822;P@Example.test", rcpts[0])

    def test_dead_destination_does_not_stall_others(self):
        down = [self.submit(["u0@down.test"], message("down 0"))]
        self.inst.wait_for_log(r"destination smtp:\[127\.0\.0\.1\]:%d: "
                               r"delivery suspended" % self.down_port)
        # While it is dead, its mail is deferred without a try, and mail
        # for the live destination flows.
        t0 = time.monotonic()
        up = []
        for i in range(1, 4):
            down.append(self.submit(["u%d@down.test" % i],
                                    message("down %d" % i)))
            up.append(self.submit(["u%d@example.test" % i],
                                  message("up %d" % i)))
        wait_for(lambda: len(self.peer.messages) >= 3, 10,
                 what="mail for the live destination" + self.inst.log_tail())
        self.assertLess(time.monotonic() - t0, 8)
        for qid in up:
            self.inst.wait_for_log(qid + ": removed")
        # The dead destination's mail waits in deferred/ with a reason.
        wait_for(lambda: set(down) <= set(self.queue_ids("deferred")), 15,
                 what="the down.test mail deferred" + self.inst.log_tail())
        logs = "".join(self.defer_log(q) for q in down)
        self.assertRegex(logs, r"(?i)refused")
        # No bounce yet (lifetime 5d), nothing to the live peer for them.
        self.assertEqual(self.inst.maildir(MAILDIR), [])
        self.assertEqual(len(self.peer.messages), 3)
        for qid in down[1:]:
            self.inst.wait_for_log(qid + r": to=<u\d@down\.test>, "
                                   r"relay=none, .*status=deferred "
                                   r"\(delivery temporarily suspended: "
                                   r"connect to .*refused\)")

    def test_failed_bounce_goes_to_postmaster_once(self):
        """A remote sender whose bounce is refused: the bounce fails, the
        postmaster gets one copy; nothing loops."""
        self.peer.script.rcpt_replies = {
            "bad@example.test": "550 5.1.1 no such user",
            "sender@example.test": "550 5.1.1 no bounces here",
        }
        qid = self.submit(["bad@example.test"], message("to nowhere"),
                          sender="sender@example.test")
        [pm] = self.notices(1)
        self.check_envelope(pm, "Postmaster Copy: Undelivered Mail")
        _, [r], parts = self.report(pm)
        self.assertEqual(r["Final-Recipient"],
                         "rfc822; sender@example.test")
        self.assertEqual(r["Diagnostic-Code"],
                         "smtp; 550 5.1.1 no bounces here")
        # The returned message is the bounce itself.
        self.assertIn("Subject: Undelivered Mail Returned to Sender",
                      parts[2].as_string())
        self.wait_empty()
        time.sleep(2)
        self.assertEqual(len(self.inst.maildir(MAILDIR)), 1)
        bounce_tries = [c for s in self.peer.sessions for c in s.commands
                        if c == "RCPT TO:<sender@example.test>"]
        self.assertEqual(len(bounce_tries), 1)
        self.assertIn(qid + ": sender non-delivery notification",
                      self.inst.log())


class PostmasterFailsTest(RelayBase):
    """bounce_notice_recipient itself fails: the notice is dropped."""
    config = {"bounce_notice_recipient": "pm@example.test"}

    def test_failed_bounce_goes_to_postmaster_once(self):
        self.peer.script.rcpt_replies = {
            "bad@example.test": "550 5.1.1 no such user",
            "sender@example.test": "550 5.1.1 no bounces here",
            "pm@example.test": "550 5.1.1 no postmaster either",
        }
        self.submit(["bad@example.test"], message("loop bait"),
                    sender="sender@example.test")
        self.inst.wait_for_log(r"undeliverable postmaster notification "
                               r"discarded", timeout=20)
        self.wait_empty()
        time.sleep(2)
        tries = [c for s in self.peer.sessions for c in s.commands
                 if c.startswith("RCPT")]
        self.assertEqual(sorted(tries), ["RCPT TO:<bad@example.test>",
                                         "RCPT TO:<pm@example.test>",
                                         "RCPT TO:<sender@example.test>"])
        self.assertEqual(self.inst.maildir(MAILDIR), [])


class ConcurrencyTest(RelayBase):
    """smtp_destination_concurrency_limit holds for one next hop; the
    delay warning goes out once."""
    config = {"smtp_destination_concurrency_limit": "2",
              "delay_warning_time": "1s"}
    peer_kw = {"data_delay": 0.4}

    def test_concurrency_limit(self):
        for i in range(8):
            self.inst.send_mail(SENDER, ["c%d@example.test" % i],
                                message("conc %d" % i))
        self.wait_empty(30)
        self.assertEqual(len(self.peer.messages), 8)
        self.assertLessEqual(self.peer.max_active, 2)
        self.assertGreaterEqual(self.peer.max_active, 1)

    def test_delay_warning_once(self):
        self.peer.script.rcpt_replies = {
            "slow@example.test": "451 4.3.0 try later"}
        qid = self.submit(["slow@example.test"], message("slowly"))
        [dsn] = self.notices(1, timeout=20)
        self.check_envelope(dsn, "Delayed Mail (still being retried)")
        _, [r], parts = self.report(dsn)
        self.assertEqual(r["Action"], "delayed")
        self.assertEqual(r["Status"], "4.3.0")
        self.assertIsNotNone(r["Will-Retry-Until"])
        self.assertEqual(parts[2].get_content_type(), "text/rfc822-headers")
        # More retries, no second warning.
        n = self.inst.log().count(qid + ": to=<slow@example.test>")
        wait_for(lambda: self.inst.log().count(
            qid + ": to=<slow@example.test>") >= n + 2, 20,
            what="two more attempts")
        self.assertEqual(len(self.inst.maildir(MAILDIR)), 1)
        self.peer.script.rcpt_replies = {}
        self.wait_empty()
        self.assertEqual(len(self.inst.maildir(MAILDIR)), 1)


if __name__ == "__main__":
    harness.main()
