"""The smtp client authenticating to a relayhost (smtp_sasl_auth_enable,
smtp_sasl_password_maps), end to end between two correo instances.

Instance A (demo.test) relays everything not its own through
relayhost = [127.0.0.1]:PORT, the submission port of instance B
(b.test), which wants STARTTLS and then AUTH (what "correo init"
writes). Checked: with the right credentials the mail arrives in B's
mailbox and B logged the login; with a wrong password it is deferred at
A with the server's 535 turned into a 4.7.8 soft bounce (Postfix's
smtp_sasl_auth_soft_bounce) and B delivered nothing; with soft bounce
off it bounces; without TLS A refuses to send the credentials at all.

Run by "make check" (CORREO_BUILDDIR set); see harness.py."""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import Instance  # noqa: E402

FAST = {
    "service_throttle_time": "1s",
    "minimal_backoff_time": "60s",
    "maximal_backoff_time": "60s",
    "queue_run_delay": "60s",
    "smtp_connect_timeout": "5s",
    "smtp_helo_timeout": "5s",
    "smtp_starttls_timeout": "5s",
}

USER = "relayuser@b.test"
PASSWORD = "s3cret pass:word"


class RelayAuthTest(harness.TestCase):
    def setUp(self):
        harness.require_daemons(self, "master", "smtpd", "qmgr", "local",
                                "smtp", "auth", "postscreen")
        self.b = self.instance(domain="b.test", config=FAST)
        self.b.add_user(USER, PASSWORD)
        self.b.start()
        self.b.wait_for_port(self.b.port(587))

    def relay_a(self, password=PASSWORD, tls="encrypt", extra=None):
        a = self.instance(config=FAST)
        path = os.path.join(a.dir, "sasl_passwd")
        with open(path, "w") as f:
            f.write("# nexthop user:password\n[127.0.0.1]:%d %s:%s\n"
                    % (self.b.port(587), USER, password))
        os.chmod(path, 0o600)
        if a.user is not None:
            os.chown(path, a.user.pw_uid, a.user.pw_gid)
        a.run([a.correo_path(), "-c", a.dir, "map", "lmdb:" + path],
              check=True)
        config = {
            "relayhost": "[127.0.0.1]:%d" % self.b.port(587),
            "smtp_tls_security_level": tls,
            "smtp_sasl_auth_enable": "yes",
            "smtp_sasl_password_maps": "lmdb:$config_directory/sasl_passwd",
        }
        config.update(extra or {})
        a.add_config(config)
        a.start()
        a.wait_for_port(a.smtp_port)
        return a

    def send(self, a, subject):
        # B's submission lets the user send only as himself.
        refused = a.send_mail(USER, ["demo@b.test"],
                              "From: %s\nTo: demo@b.test\nSubject: %s\n"
                              "\nrelayed with AUTH\n" % (USER, subject))
        self.assertEqual(refused, {})

    def b_messages(self):
        path = os.path.join(self.b.mail_dir, "b.test", "demo", "new")
        return os.listdir(path) if os.path.isdir(path) else []

    def test_auth_relays(self):
        a = self.relay_a()
        self.send(a, "authenticated")
        msgs = self.b.wait_for_maildir("b.test/demo", 1)
        self.assertIn(b"relayed with AUTH", msgs[0][1])
        a.wait_for_log(r"to=<demo@b\.test>.*relay=127\.0\.0\.1\[127\.0\.0"
                       r"\.1\]:%d.*status=sent" % self.b.port(587))
        # B saw a login by that user (its smtpd logs sasl_username).
        self.b.wait_for_log(r"sasl_username=%s" % re.escape(USER))
        # The password never reaches either log.
        self.assertNotIn(PASSWORD, a.log())
        self.assertNotIn(PASSWORD, self.b.log())

    def test_wrong_password_defers(self):
        a = self.relay_a(password="wrong")
        self.send(a, "wrong password")
        a.wait_for_log(r"to=<demo@b\.test>.*dsn=4\.7\.8.*status=deferred"
                       r".*SASL authentication failed; server 127\.0\.0\.1"
                       r"\[127\.0\.0\.1\] said: 535")
        self.assertEqual(self.b_messages(), [])
        self.assertEqual(len(os.listdir(os.path.join(a.queue, "deferred"))),
                         1)

    def test_wrong_password_bounces_without_soft_bounce(self):
        a = self.relay_a(password="wrong",
                         extra={"smtp_sasl_auth_soft_bounce": "no"})
        self.send(a, "wrong password, hard")
        a.wait_for_log(r"to=<demo@b\.test>.*dsn=5\.7\.8.*status=bounced"
                       r".*SASL authentication failed")
        self.assertEqual(self.b_messages(), [])

    def test_no_credentials_in_plain_text(self):
        a = self.relay_a(tls="none")
        self.send(a, "plain text")
        a.wait_for_log(r"to=<demo@b\.test>.*dsn=4\.7\.0.*status=deferred"
                       r".*not sending SASL credentials")
        self.assertEqual(self.b_messages(), [])
        self.assertNotIn("sasl_username", self.b.log())


if __name__ == "__main__":
    harness.main()
