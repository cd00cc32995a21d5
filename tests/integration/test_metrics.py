#!/usr/bin/env python3
"""metrics: the Prometheus endpoint (correo-metrics(8)).

A real instance with the metrics row enabled on a loopback port; mail is
sent over SMTP and delivered, and scrapes over HTTP (urllib) show the
counters move: messages received and delivered by transport, the delay
histogram, sessions by protocol, the process pools, queue folder sizes
read from the queue directory. Malformed updates are ignored and
counted; other paths and methods are refused.
"""

import base64
import os
import re
import signal
import socket
import ssl
import urllib.error
import urllib.request

import harness
from harness import Instance, wait_for

ROW = "127.0.0.1:{port9} inet n - n - 1 metrics\n"
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$')


def scrape(inst):
    url = "http://127.0.0.1:%d/metrics" % inst.port(9)
    with urllib.request.urlopen(url, timeout=10) as r:
        ctype = r.headers.get("Content-Type")
        text = r.read().decode()
    return ctype, text


def parse(text):
    """{(name, labels): value}; asserts every line is well-formed."""
    out = {}
    for line in text.splitlines():
        if line.startswith("#"):
            assert re.match(r"^# (HELP|TYPE) [a-z_]+ .+$", line), line
            continue
        m = SAMPLE.match(line)
        assert m is not None, "malformed sample line %r" % line
        out[(m.group(1), m.group(2) or "")] = float(m.group(3))
    return out


def value(samples, name, labels=""):
    return samples.get((name, labels), 0.0)


class MetricsTest(harness.TestCase):
    def setUp(self):
        harness.require_daemons(self, "metrics")

    def start(self, inst):
        with open(os.path.join(inst.dir, "services.conf")) as f:
            conf = f.read()
        # correo init writes the row commented out.
        self.assertRegex(conf, r"(?m)^#127\.0\.0\.1:9154 +inet .* metrics$")
        inst.set_services(conf.replace("{", "{{").replace("}", "}}") + ROW)
        inst.start()
        inst.wait_for_port(inst.port(9))
        wait_for(lambda: os.path.exists(
            os.path.join(inst.queue, "private", "metrics")),
            what="private/metrics")

    def test_counters_move(self):
        with Instance() as inst:
            self.start(inst)
            ctype, text = scrape(inst)
            self.assertEqual(
                ctype, "text/plain; version=0.0.4; charset=utf-8")
            before = parse(text)
            self.assertEqual(
                value(before, "correo_messages_received_total"), 0)
            self.assertIn("# TYPE correo_delivery_delay_seconds histogram",
                          text)
            for q in ("incoming", "active", "deferred", "hold",
                      "corrupt"):
                self.assertIn(("correo_queue_messages",
                               '{queue="%s"}' % q), before)

            for i in range(3):
                inst.send_mail("a@example.org", ["demo@demo.test"],
                               "Subject: m%d\n\nhello\n" % i)
            inst.wait_for_maildir("demo.test/demo", 3)

            def moved():
                s = parse(scrape(inst)[1])
                ok = (value(s, "correo_messages_received_total") >= 3 and
                      value(s, "correo_messages_delivered_total",
                            '{transport="local"}') >= 3 and
                      value(s, "correo_delivery_delay_seconds_count",
                            '{transport="local"}') >= 3 and
                      value(s, "correo_sessions_total",
                            '{protocol="smtpd"}') >= 3 and
                      ("correo_process_pool_limit",
                       '{service="smtpd"}') in s)
                return s if ok else None
            s = wait_for(moved, timeout=20, what="counters after 3 mails")
            self.assertEqual(value(s, "correo_messages_received_total"), 3)
            self.assertEqual(value(s, "correo_messages_delivered_total",
                                   '{transport="local"}'), 3)
            # Histogram: cumulative buckets, +Inf equals the count.
            lab = '{transport="local",le="%s"}'
            inf = value(s, "correo_delivery_delay_seconds_bucket",
                        lab % "+Inf")
            self.assertEqual(inf, 3)
            self.assertLessEqual(
                value(s, "correo_delivery_delay_seconds_bucket",
                      lab % "0.1"),
                value(s, "correo_delivery_delay_seconds_bucket",
                      lab % "86400"))
            self.assertEqual(value(s, "correo_process_pool_limit",
                                   '{service="smtpd"}'), 100)
            self.assertEqual(value(s, "correo_messages_bounced_total",
                                   '{transport="local"}'), 0)

    def test_queue_folders_and_bad_input(self):
        with Instance() as inst:
            self.start(inst)
            # A file in corrupt/ and a file being written in incoming/
            # (dot name, not counted).
            for name in ("corrupt/XXXXXXXXXXXXXXXXXX", "incoming/.tmp1"):
                path = os.path.join(inst.queue, name)
                with open(path, "w") as f:
                    f.write("x")
                if inst.user is not None:
                    os.chown(path, inst.user.pw_uid, inst.user.pw_gid)
            s = parse(scrape(inst)[1])
            self.assertEqual(value(s, "correo_queue_messages",
                                   '{queue="corrupt"}'), 1)
            self.assertEqual(value(s, "correo_queue_messages",
                                   '{queue="incoming"}'), 0)

            # Updates the service must ignore (and count as rejected).
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(os.path.join(inst.queue, "private", "metrics"))
            for bad in (b"c correo_bogus_total - 1",
                        b"c correo_messages_received_total - x",
                        b"c correo_messages_received_total - -5",
                        b"g correo_messages_received_total - 7",
                        b"c correo_sessions_total a\"b 1",
                        b"garbage"):
                sock.sendall(bad + b"\n")
            # A line split across writes counts once, whole.
            sock.sendall(b"c correo_auth_failures_total ima")
            sock.sendall(b"p-login 2\n")
            # A line that never ends closes the connection.
            sock.sendall(b"c " + b"x" * 300)
            sock.settimeout(10)
            try:
                self.assertEqual(sock.recv(10), b"")
            except ConnectionResetError:
                pass    # closed with the rest of the line unread
            sock.close()
            s = wait_for(lambda: (lambda s: s if value(
                s, "correo_metrics_updates_rejected_total") >= 7 else None)(
                    parse(scrape(inst)[1])), what="rejected updates")
            self.assertEqual(
                value(s, "correo_metrics_updates_rejected_total"), 7)
            self.assertEqual(value(s, "correo_messages_received_total"), 0)
            self.assertNotIn("correo_bogus", scrape(inst)[1])
            self.assertEqual(value(s, "correo_auth_failures_total",
                                   '{service="imap-login"}'), 2)

            base = "http://127.0.0.1:%d" % inst.port(9)
            with self.assertRaises(urllib.error.HTTPError) as e:
                urllib.request.urlopen(base + "/other", timeout=10)
            self.assertEqual(e.exception.code, 404)
            with self.assertRaises(urllib.error.HTTPError) as e:
                urllib.request.urlopen(base + "/metrics", data=b"x",
                                       timeout=10)
            self.assertEqual(e.exception.code, 405)

    def test_tls_and_auth(self):
        config = {"auth_failure_delay": "100ms",
                  "auth_failure_delay_max": "200ms",
                  "smtpd_error_sleep_time": "0"}
        with Instance(config=config) as inst:
            inst.add_user("bob@demo.test", "right password")
            self.start(inst)
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            # Submission: STARTTLS, then a wrong password.
            r = harness.SmtpRaw(inst.port(587))
            r.cmd("EHLO client.example")
            r.starttls(ctx)
            r.cmd("EHLO client.example")
            code, _ = r.cmd("AUTH PLAIN " + base64.b64encode(
                b"\0demo@demo.test\0wrong").decode())
            self.assertEqual(code, 535, inst.log_tail())
            r.cmd("QUIT")
            r.close()
            # A client that says STARTTLS and then sends no ClientHello.
            r = harness.SmtpRaw(inst.port(587))
            r.cmd("EHLO client.example")
            code, _ = r.cmd("STARTTLS")
            self.assertEqual(code, 220)
            r.send(b"this is not TLS\r\n" * 8)
            r.closed()
            r.close()

            def moved():
                s = parse(scrape(inst)[1])
                sub = '{service="submission"}'
                ok = (value(s, "correo_tls_handshakes_total", sub) >= 1 and
                      value(s, "correo_tls_handshake_failures_total",
                            sub) >= 1 and
                      value(s, "correo_auth_failures_total", sub) >= 1 and
                      value(s, "correo_sessions_total",
                            '{protocol="submission"}') >= 2)
                return s if ok else None
            try:
                s = wait_for(moved, timeout=10, what="TLS and auth counters")
            except AssertionError:
                print(scrape(inst)[1], inst.log_tail(40))
                raise
            sub = '{service="submission"}'
            self.assertEqual(value(s, "correo_tls_handshakes_total", sub), 1)
            self.assertEqual(
                value(s, "correo_tls_handshake_failures_total", sub), 1)
            self.assertEqual(value(s, "correo_auth_failures_total", sub), 1)

    def test_imap_front_end(self):
        harness.require_daemons(self, "imap-login", "imapd")
        with Instance() as inst:
            self.start(inst)
            # A front end connects to metrics before it is jailed: one
            # started before the metrics service reports nothing, so
            # let master start fresh ones now.
            old = [p["pid"] for p in inst.children("imap-login")]
            for pid in old:
                os.kill(pid, signal.SIGTERM)
            wait_for(lambda: not any(harness.pid_alive(pid)
                                     for pid in old),
                     what="old imap-login processes gone")
            inst.wait_for_port(inst.port(143))

            def login_fails():
                with socket.create_connection(
                        ("127.0.0.1", inst.port(143)), timeout=10) as c:
                    f = c.makefile("rwb")
                    f.readline()
                    f.write(b"a LOGIN nobody@demo.test wrong\r\n")
                    f.flush()
                    return f.readline()
            self.assertRegex(login_fails(), rb"^a NO")

            def moved():
                s = parse(scrape(inst)[1])
                ok = (value(s, "correo_sessions_total",
                            '{protocol="imap"}') >= 1 and
                      value(s, "correo_auth_failures_total",
                            '{service="imap"}') >= 1)
                return s if ok else None
            wait_for(moved, timeout=20, what="imap counters")


if __name__ == "__main__":
    harness.main()
