#!/usr/bin/env python3
"""imap clients: real IMAP clients from Debian against correo's IMAP.

- curl: lists the folders and fetches a message by UID over IMAPS;
- fetchmail and getmail6: download over IMAP (TLS), fetchmail keeping
  the mail on the server;
- mbsync (isync): a two-way sync between the server and a local Maildir
  (the "second device"): messages and folders arrive, a flag set on each
  side and a message moved on the server reach the other side;
- offlineimap (offlineimap3): the same two-way sync with Python's
  client: folders made on either side, flags, deletions and a move on
  the server reach the other side;
- mutt: opens the mailbox over IMAPS in batch mode and saves a message
  into another folder.

Each client is skipped (with its reason) when it is not installed;
scripts/deps installs them all.
"""
import imaplib
import os
import re
import shutil
import ssl
import subprocess
import tempfile

import harness

PASSWORD = "imap clients 42"
USER = "bob@demo.test"
CONFIG = {"queue_run_delay": "1s"}


def ctx():
    c = ssl.create_default_context()
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE
    return c


class ImapClientsTest(harness.TestCase):

    @classmethod
    def setUpClass(cls):
        for d in ("imapd", "imap-login", "auth"):
            if not harness.have_daemon(d):
                raise __import__("unittest").SkipTest(d + " not built")

    def setUp(self):
        inst = self.instance(config=CONFIG)
        self.inst = inst
        self.p143, self.p993 = inst.port(143), inst.port(993)
        self.cert = inst.make_cert(cn="127.0.0.1",
                                   san="IP:127.0.0.1,DNS:localhost")
        inst.add_user(USER, PASSWORD)
        inst.start()
        inst.wait_for_port(self.p993)
        self.work = tempfile.mkdtemp(prefix="correo-clients-")
        self.addCleanup(shutil.rmtree, self.work, True)

    def need(self, prog):
        if shutil.which(prog) is None:
            self.skipTest(prog + " is not installed")

    def deliver(self, n, total):
        self.inst.send_mail("alice@example.org", [USER],
                            "From: alice@example.org\r\nSubject: client "
                            "%d\r\n\r\nhello %d\r\n" % (n, n))
        self.inst.wait_for_maildir("demo.test/bob", total)

    def imap(self):
        m = imaplib.IMAP4_SSL("127.0.0.1", self.p993, ssl_context=ctx(),
                              timeout=30)
        m.login(USER, PASSWORD)
        self.addCleanup(lambda: m.logout())
        return m

    def run_tool(self, args, **kw):
        r = subprocess.run(args, capture_output=True, text=True,
                           timeout=120, **kw)
        return r

    def test_curl(self):
        self.need("curl")
        self.deliver(1, 1)
        base = "imaps://127.0.0.1:%d/" % self.p993
        auth = ["-k", "-s", "-u", "%s:%s" % (USER, PASSWORD)]
        r = self.run_tool(["curl"] + auth + [base])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("INBOX", r.stdout)
        self.assertIn("Sent", r.stdout)
        r = self.run_tool(["curl"] + auth + [base + "INBOX;UID=1"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("Subject: client 1", r.stdout)
        self.assertIn("hello 1", r.stdout)

    def test_fetchmail_and_getmail(self):
        self.need("fetchmail")
        self.deliver(1, 1)
        self.deliver(2, 2)
        rc = os.path.join(self.work, "fetchmailrc")
        with open(rc, "w") as f:
            # The certificate names localhost (and 127.0.0.1 as an IP,
            # which fetchmail's host check does not take).
            f.write('poll localhost via 127.0.0.1 protocol imap port %d\n'
                    '  user "%s" password "%s"\n'
                    '  ssl sslcertck sslcertfile "%s" sslcommonname localhost\n'
                    '  keep fetchall mda "cat"\n' % (
                        self.p993, USER, PASSWORD, self.cert))
        os.chmod(rc, 0o600)
        r = self.run_tool(["fetchmail", "-f", rc, "--nosyslog",
                           "--nodetach", "-N"],
                          env=dict(os.environ, HOME=self.work))
        self.assertIn(r.returncode, (0,), r.stdout + r.stderr)
        self.assertIn("hello 1", r.stdout)
        self.assertIn("hello 2", r.stdout)
        # keep: still on the server.
        m = self.imap()
        self.assertEqual(m.select("INBOX")[1], [b"2"])
        if shutil.which("getmail") is None:
            return
        md = os.path.join(self.work, "gm")
        for d in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(md, d))
        rcdir = os.path.join(self.work, "getmail")
        os.makedirs(rcdir)
        with open(os.path.join(rcdir, "getmailrc"), "w") as f:
            f.write("[retriever]\ntype = SimpleIMAPSSLRetriever\n"
                    "server = 127.0.0.1\nport = %d\nusername = %s\n"
                    "password = %s\nmailboxes = (\"INBOX\",)\n"
                    "[destination]\ntype = Maildir\npath = %s/\n"
                    "[options]\nread_all = true\ndelete = false\n" % (
                        self.p993, USER, PASSWORD, md))
        cmd = ["getmail", "--getmaildir", rcdir, "--rcfile", "getmailrc"]
        if os.geteuid() == 0:
            # getmail refuses to deliver as root: run it as the test's
            # unprivileged user.
            pw = harness.ensure_test_user()
            for dirpath, dirs, files in os.walk(self.work):
                for n in [dirpath] + [os.path.join(dirpath, f)
                                      for f in files]:
                    os.chown(n, pw.pw_uid, pw.pw_gid)
            os.chmod(self.work, 0o755)
            cmd = ["setpriv", "--reuid=%d" % pw.pw_uid,
                   "--regid=%d" % pw.pw_gid, "--clear-groups"] + cmd
        r = self.run_tool(cmd, env=dict(os.environ, HOME=self.work))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(len(os.listdir(os.path.join(md, "new"))), 2)

    def mbsync(self, rc):
        r = self.run_tool(["mbsync", "-c", rc, "-a"],
                          env=dict(os.environ, HOME=self.work))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_mbsync_two_way(self):
        self.need("mbsync")
        self.deliver(1, 1)
        self.deliver(2, 2)
        local = os.path.join(self.work, "device")
        os.makedirs(local)
        rc = os.path.join(self.work, "mbsyncrc")
        with open(rc, "w") as f:
            f.write("IMAPAccount correo\nHost 127.0.0.1\nPort %d\n"
                    "User %s\nPass \"%s\"\nSSLType IMAPS\n"
                    "CertificateFile %s\n\n"
                    "IMAPStore remote\nAccount correo\n\n"
                    "MaildirStore local\nPath %s/\nInbox %s/INBOX\n"
                    "SubFolders Verbatim\n\n"
                    "Channel sync\nFar :remote:\nNear :local:\n"
                    "Patterns *\nCreate Both\nExpunge Both\n"
                    "SyncState *\nSync All\n" % (
                        self.p993, USER, PASSWORD, self.cert, local,
                        local))
        self.mbsync(rc)
        inbox_cur = os.path.join(local, "INBOX", "cur")
        inbox_new = os.path.join(local, "INBOX", "new")

        def local_files():
            return [os.path.join(d, n) for d in (inbox_cur, inbox_new)
                    for n in os.listdir(d)]
        self.assertEqual(len(local_files()), 2)
        self.assertTrue(os.path.isdir(os.path.join(local, "Sent")))
        # A flag set on the device reaches the server...
        def text(p):
            with open(p, "rb") as fh:
                return fh.read()
        path = [p for p in local_files() if b"client 1" in text(p)][0]
        base = os.path.basename(path).split(":2,")[0]
        os.rename(path, os.path.join(inbox_cur, base + ":2,F"))
        self.mbsync(rc)
        m = self.imap()
        m.select("INBOX")
        flags = m.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS "
                               "(SUBJECT)])")[1]
        flagged = [x[1] for x in flags if isinstance(x, tuple) and
                   b"\\Flagged" in x[0]]
        self.assertEqual(flagged, [b"Subject: client 1\r\n\r\n"])
        # ...and a message moved on the server, and flagged there,
        # reaches the device.
        m.store("2", "+FLAGS", r"(\Seen)")
        typ, _ = m.uid("MOVE", m.fetch("1", "(UID)")[1][0].split()[2]
                       .rstrip(b")"), "Archive")
        self.assertEqual(typ, "OK")
        self.mbsync(rc)
        archive = os.path.join(local, "Archive")
        moved = [n for d in ("cur", "new")
                 for n in os.listdir(os.path.join(archive, d))]
        self.assertEqual(len(moved), 1)
        left = local_files()
        self.assertEqual(len(left), 1)
        self.assertTrue(left[0].endswith("S"), left)

    def offlineimap(self, rc):
        r = self.run_tool(["offlineimap", "-o", "-u", "basic", "-c", rc],
                          env=dict(os.environ, HOME=self.work))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertNotIn("ERROR", r.stdout + r.stderr)

    def test_offlineimap_two_way(self):
        self.need("offlineimap")
        self.deliver(1, 1)
        self.deliver(2, 2)
        m = self.imap()
        m.create("Projects")
        m.append("Projects", None, None,
                 b"From: carol@example.org\r\nSubject: plan\r\n\r\nx\r\n")
        local = os.path.join(self.work, "device")
        rc = os.path.join(self.work, "offlineimaprc")
        with open(rc, "w") as f:
            f.write("[general]\naccounts = correo\nmetadata = %s/meta\n\n"
                    "[Account correo]\nlocalrepository = local\n"
                    "remoterepository = remote\n\n"
                    "[Repository local]\ntype = Maildir\n"
                    "localfolders = %s\n\n"
                    "[Repository remote]\ntype = IMAP\n"
                    "remotehost = 127.0.0.1\nremoteport = %d\n"
                    "remoteuser = %s\nremotepass = %s\nssl = yes\n"
                    "sslcacertfile = %s\n" % (
                        self.work, local, self.p993, USER, PASSWORD,
                        self.cert))
        self.offlineimap(rc)

        def files(folder):
            d = os.path.join(local, folder)
            return sorted(os.path.join(d, sub, n) for sub in ("cur", "new")
                          for n in os.listdir(os.path.join(d, sub)))

        def text(p):
            with open(p, "rb") as fh:
                return fh.read()
        self.assertEqual(len(files("INBOX")), 2)
        self.assertEqual(len(files("Projects")), 1)
        self.assertTrue(os.path.isdir(os.path.join(local, "Sent")))
        # On the device: flag one message, delete the other, make a
        # folder with a message in it.
        one = [p for p in files("INBOX") if b"client 1" in text(p)][0]
        two = [p for p in files("INBOX") if b"client 2" in text(p)][0]
        base = os.path.basename(one).split(":2,")[0]
        os.rename(one, os.path.join(local, "INBOX", "cur",
                                    base + ":2,F"))
        os.unlink(two)
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(local, "Offline", sub))
        with open(os.path.join(local, "Offline", "new",
                               "1700000000.1.device"), "wb") as f:
            f.write(b"From: bob@demo.test\nSubject: written offline\n\n"
                    b"draft\n")
        self.offlineimap(rc)
        m.select("INBOX")
        data = m.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS "
                              "(SUBJECT)])")[1]
        msgs = [x for x in data if isinstance(x, tuple)]
        self.assertEqual(len(msgs), 1, data)
        self.assertIn(b"\\Flagged", msgs[0][0])
        self.assertEqual(msgs[0][1], b"Subject: client 1\r\n\r\n")
        typ, data = m.status("Offline", "(MESSAGES)")
        self.assertEqual(typ, "OK", data)
        self.assertIn(b"(MESSAGES 1)", data[0])
        # On the server: a flag, a move, a deletion reach the device.
        m.store("1", "+FLAGS", r"(\Seen)")
        m.select("Projects")
        self.assertEqual(m.uid("MOVE", "1:*", "Archive")[0], "OK")
        m.select("Offline")
        m.store("1", "+FLAGS", r"(\Deleted)")
        m.expunge()
        self.offlineimap(rc)
        inbox = files("INBOX")
        self.assertEqual(len(inbox), 1)
        self.assertTrue(inbox[0].endswith(":2,FS"), inbox)
        self.assertEqual(files("Projects"), [])
        self.assertEqual(len(files("Archive")), 1)
        self.assertIn(b"Subject: plan", text(files("Archive")[0]))
        self.assertEqual(files("Offline"), [])

    def test_mutt(self):
        self.need("mutt")
        self.need("script")
        self.deliver(1, 1)
        muttrc = os.path.join(self.work, "muttrc")
        with open(muttrc, "w") as f:
            f.write("set imap_user=\"%s\"\nset imap_pass=\"%s\"\n"
                    "set folder=imaps://127.0.0.1:%d/\n"
                    "set certificate_file=%s\n"
                    "set confirmappend=no\nset confirmcreate=no\n"
                    "set delete=yes\nset move=no\nset sort=date\n" % (
                        USER, PASSWORD, self.p993, self.cert))
        # mutt wants a terminal: script(1) gives it a pseudo-terminal;
        # the pushed keys save message 1 into Archive and quit.
        cmd = ("mutt -n -F %s -f =INBOX -e \"push "
               "'<save-message>=Archive<enter><quit>'\"" % muttrc)
        r = self.run_tool(["script", "-qec", cmd, "/dev/null"],
                          env=dict(os.environ, HOME=self.work,
                                   TERM="vt100"),
                          stdin=subprocess.DEVNULL)
        m = self.imap()
        typ, data = m.status("Archive", "(MESSAGES)")
        self.assertIn(b"(MESSAGES 1)", data[0], r.stdout[-500:])
        # Saved and deleted from INBOX (mutt's save = copy + delete).
        typ, data = m.status("INBOX", "(MESSAGES)")
        self.assertIn(b"(MESSAGES 0)", data[0], r.stdout[-500:])


if __name__ == "__main__":
    harness.main()
