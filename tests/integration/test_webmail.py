#!/usr/bin/env python3
"""webmail: Debian's Roundcube over correo, driven in headless Chromium.

An instance made with "correo init --webmail" runs Roundcube on lighttpd
("correo webmail start"); a real browser (Debian's chromium through
chromedriver, tests/integration/webdriver.py) then does what a webmail
user does, and every result is checked through correo's own interfaces
(IMAP with imaplib, the Maildir, the log, an mbsync "second device"):

- log in as demo, see a message delivered over SMTP a moment earlier,
  open it and download its attachment (the same bytes as were sent);
- write a message with an attachment to bob: bob finds it in INBOX over
  IMAP with the attachment intact, demo finds it in Sent;
- create a folder, move a message into it, flag it, delete it (to
  Trash); mbsync sees the same folders, flags and places;
- failure paths: a message over message_size_limit shows the
  submission error in the compose window; a stopped correo shows
  Roundcube's connection error and the page works again after "correo
  start"; a wrong password shows Roundcube's login error, is logged by
  correo's auth as a failed login and counts toward its lockout.

Screenshots of each step go to $CORREO_TEST_OUTPUT/webmail/TEST (default
BUILDDIR/tests/output/webmail/TEST); doc/webmail-inbox.png in the README
is the inbox step's. Skipped, with the reason, when Roundcube,
lighttpd, php-cgi, chromium or chromedriver is missing (scripts/deps
installs them).
"""
import email
import email.policy
import imaplib
import os
import re
import shutil
import smtplib
import ssl
import subprocess
import tempfile
import time
import unittest
from email.message import EmailMessage

import harness
import webdriver

DEMO = "demo@demo.test"
DEMO_PW = "demo web secret 1"
BOB = "bob@demo.test"
BOB_PW = "bob web secret 2"
SIZE_LIMIT = 200000
CONFIG = {
    "queue_run_delay": "1s",
    "message_size_limit": str(SIZE_LIMIT),
    # Two wrong passwords lock an address+user out (the default is 10).
    "auth_lockout_threshold": "2",
    "auth_failure_delay": "0",
}
WEB_NEEDS = ["/var/lib/roundcube/public_html/index.php",
             "/usr/sbin/lighttpd", "/usr/bin/php-cgi"]


def output_dir():
    base = os.environ.get("CORREO_TEST_OUTPUT") or os.path.join(
        harness.BUILDDIR, "tests", "output")
    d = os.path.join(base, "webmail")
    os.makedirs(d, exist_ok=True)
    return d



def webmail_port(inst):
    """The port correo init gave the webmail (BASE + 80, or the next one
    browsers open: they refuse 10080 and a few others)."""
    with open(os.path.join(inst.dir, "webmail", "lighttpd.conf")) as f:
        return int(re.search(r"(?m)^server\.port = (\d+)", f.read()).group(1))

class WebmailTest(harness.TestCase):

    @classmethod
    def setUpClass(cls):
        why = webdriver.missing()
        for path in WEB_NEEDS:
            if why is None and not os.path.exists(path):
                why = "%s is not installed (roundcube-core, " \
                      "roundcube-sqlite3, lighttpd, php-cgi)" % path
        for d in ("imapd", "imap-login", "auth", "smtpd", "local"):
            if why is None and not harness.have_daemon(d):
                why = d + " not built"
        if why is not None:
            raise unittest.SkipTest(why)

    def setUp(self):
        inst = self.instance(init=False)
        inst.init(config=CONFIG, extra_args=["--webmail"])
        self.inst = inst
        self.url = "http://127.0.0.1:%d/" % webmail_port(inst)
        # One certificate for both names Roundcube and mbsync check.
        self.cert = inst.make_cert(
            cn="mail.demo.test",
            san="DNS:mail.demo.test,DNS:127.0.0.1,IP:127.0.0.1")
        inst.correo_input(["user", "passwd", DEMO, "--password-stdin"],
                          DEMO_PW + "\n")
        inst.add_user(BOB, BOB_PW)
        inst.start()
        inst.wait_for_port(inst.port(143))
        inst.wait_for_port(inst.port(587))
        if os.environ.get("CORREO_WEBMAIL_DEBUG"):
            with open(os.path.join(inst.dir, "webmail", "config",
                                   "config.inc.php"), "a") as f:
                f.write("$config['imap_debug'] = true;\n")
        r = inst.correo("webmail", "start")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.addCleanup(inst.correo, "webmail", "stop")
        inst.wait_for_port(webmail_port(inst))
        self.work = tempfile.mkdtemp(prefix="correo-webmail-")
        self.addCleanup(shutil.rmtree, self.work, True)
        self.downloads = os.path.join(self.work, "downloads")
        os.makedirs(self.downloads)
        self.shots = os.path.join(output_dir(), self._testMethodName)
        os.makedirs(self.shots, exist_ok=True)
        self.browser = webdriver.Browser(os.path.join(self.work, "chromium"),
                                         self.downloads)
        self.addCleanup(self.browser.close)
        self.step = 0

    # -- helpers --

    def shot(self, name):
        self.step += 1
        self.browser.screenshot(os.path.join(
            self.shots, "%02d-%s.png" % (self.step, name)))

    def web_log(self):
        logs = os.path.join(self.inst.dir, "webmail", "logs")
        out = []
        for n in sorted(os.listdir(logs)):
            with open(os.path.join(logs, n), errors="replace") as f:
                out.append("--- %s\n%s" % (n, f.read()[-3000:]))
        return "\n".join(out)

    def login(self, user, password, expect_inbox=True):
        b = self.browser
        # A new browser session: no Roundcube session cookie.
        b.delete_cookies()
        b.get(self.url)
        try:
            b.wait_for("#rcmloginuser")
        except TimeoutError:
            self.shot("no-login-form")
            self.fail("no login form: %s\n%s" % (b.text()[:500],
                                                  self.web_log()))
        b.find("#rcmloginuser").send_keys(user)
        b.find("#rcmloginpwd").send_keys(password)
        b.find("#rcmloginsubmit").click()
        if expect_inbox:
            try:
                b.wait(lambda: self.rcmail_ready() and
                       b.script("return rcmail.env.task") == "mail")
            except TimeoutError:
                self.shot("login-failed")
                self.fail("no inbox after login as %s: %s\n%s" % (
                    user, b.text()[:500], self.web_log()))

    def rcmail_ready(self):
        return self.browser.script(
            "return typeof rcmail == 'object' && rcmail.env && "
            "!!rcmail.env.mailboxes && !rcmail.busy")

    def open_folder(self, name):
        b = self.browser
        b.get(self.url + "?_task=mail&_mbox=" + name)
        b.wait(lambda: self.rcmail_ready() and b.script(
            "return rcmail.message_list && "
            "!rcmail.message_list.is_loading"))

    def wait_listed(self, folder, subject, timeout=30):
        """Open folder until the message list shows subject (a move is
        finished by an asynchronous request of the page)."""
        def listed():
            self.open_folder(folder)
            return any(subject in t for t in self.list_subjects())
        try:
            self.browser.wait(listed, timeout=timeout, interval=1)
        except TimeoutError:
            # Seen once in a fresh root (2026-12-04): what Roundcube
            # and imapd said (imap_debug) is the clue.
            self.shot("not-listed")
            self.fail("%r not listed in %s within %ds: %s\n%s" % (
                subject, folder, timeout, self.list_subjects(),
                self.web_log() + self.inst.log_tail(40)))

    def list_subjects(self):
        return [r.text for r in self.browser.find_all(
            "#messagelist tbody tr")]

    def uid_of(self, subject):
        """The UID of the listed message with this subject."""
        return self.browser.script(
            "var rows = rcmail.message_list.rows;"
            "for (var uid in rows) {"
            "  if (rows[uid].obj.innerText.indexOf(arguments[0]) >= 0)"
            "    return uid; }"
            "return null;", subject)

    def list_command(self, uid, *command):
        """Select the message in the list and run a toolbar command,
        as its button or menu entry does."""
        b = self.browser
        b.script("rcmail.message_list.select(arguments[0]);"
                 "rcmail.command.apply(rcmail, arguments[1]);",
                 uid, list(command))
        b.wait(lambda: not b.script("return rcmail.busy"))

    def list_remove(self, uid, *command):
        """A command that takes the message out of the list (move,
        delete): run it and wait until the row is gone. Roundcube drops
        a command given while an earlier request of the page is still
        running, so under load it is given again (at most three times);
        the IMAP checks afterwards see what really happened."""
        b = self.browser
        for attempt in range(3):
            self.list_command(uid, *command)
            try:
                b.wait(lambda: not b.script(
                    "return !!rcmail.message_list.rows[arguments[0]]",
                    uid), timeout=10)
                return
            except TimeoutError:
                continue
        self.fail("%s of UID %s never took effect" % (command, uid))

    def imap(self, user, password):
        m = imaplib.IMAP4("127.0.0.1", self.inst.port(143))
        m.login(user, password)
        self.addCleanup(self._logout, m)
        return m

    @staticmethod
    def _logout(m):
        try:
            m.logout()
        except (imaplib.IMAP4.error, OSError):
            pass

    @staticmethod
    def folders(m):
        """The account's folder names, from LIST."""
        typ, data = m.list()
        names = []
        for line in data or []:
            if isinstance(line, bytes):
                name = line.rsplit(b" ", 1)[-1].strip(b'"')
                names.append(name.decode())
        return names

    def fetch_all(self, m, folder):
        """[(flags, message)] of folder, in UID order."""
        typ, _ = m.select('"%s"' % folder, readonly=True)
        self.assertEqual(typ, "OK", folder)
        typ, data = m.uid("FETCH", "1:*", "(FLAGS BODY.PEEK[])")
        out = []
        for item in data:
            if isinstance(item, tuple):
                out.append(([f.decode() for f in imaplib.ParseFlags(item[0])],
                            email.message_from_bytes(
                                item[1], policy=email.policy.default)))
        return out

    @staticmethod
    def attachment(msg):
        for part in msg.iter_attachments():
            return part.get_filename(), part.get_payload(decode=True)
        return None, None

    def deliver(self, subject, name, data):
        msg = EmailMessage()
        msg["From"] = "alice@example.org"
        msg["To"] = DEMO
        msg["Subject"] = subject
        msg.set_content("Hello demo, a file for you.\n")
        msg.add_attachment(data, maintype="application",
                           subtype="octet-stream", filename=name)
        with smtplib.SMTP("127.0.0.1", self.inst.smtp_port,
                          timeout=30) as s:
            s.send_message(msg, "alice@example.org", [DEMO])
        self.inst.wait_for_log(r"to=<%s>.*status=sent" % DEMO, timeout=30)

    def compose(self, to, subject, body, attach):
        b = self.browser
        url = self.url + "?_task=mail&_action=compose"

        def ready():
            return self.rcmail_ready() or b.find(".recipient-input input")
        # The compose page asks IMAP for the folder list and quota: in
        # the sanitizer build beside the other suite it has taken more
        # than 20 s, and twice in a fresh root it never came (right
        # after the login's own page; not reproduced here): ask once
        # more before failing, and say what the browser shows.
        b.get(url)
        try:
            b.wait(ready, timeout=30)
        except TimeoutError:
            self.shot("compose-not-ready")
            b.get(url)
            try:
                b.wait(ready, timeout=60)
            except TimeoutError:
                self.fail("no compose page: %s\n%s" % (b.text()[:500],
                                                        self.web_log()))
        b.wait_for(".recipient-input input").send_keys(to + ", ")
        b.find("#compose-subject").send_keys(subject)
        b.find("#composebody").send_keys(body)
        name = os.path.basename(attach)

        def entries():
            return [e for e in b.find_all("#attachment-list li")
                    if name in e.text]

        def uploaded():
            return [e for e in entries()
                    if "uploading" not in (e.attr("class") or "")]
        # The upload goes through Chromium and Roundcube's PHP: 30 s
        # was once too short in a fresh root beside other work, and
        # once (2026-12-03, a fresh root's normal build, nothing else
        # running) the file was chosen but no upload ever started: no
        # entry at all in 90 s. So the file is chosen again while
        # nothing shows, up to three times; an upload that has
        # started is waited for.
        for attempt in range(3):
            b.find("input[type=file]").send_keys(attach)
            try:
                b.wait(entries, timeout=30)     # started, or done
                break
            except TimeoutError:
                self.shot("attachment-not-started-%d" % attempt)
        try:
            b.wait(uploaded, timeout=90)
        except TimeoutError:
            self.shot("attachment-not-uploaded")
            self.fail("attachment %s not uploaded: %s\n%s" % (
                name, b.text()[:500], self.web_log()))

    def mbsync(self):
        """Sync the whole account into a local Maildir (the second
        device); returns its path."""
        if shutil.which("mbsync") is None:
            self.skipTest("mbsync is not installed (isync)")
        local = os.path.join(self.work, "device")
        os.makedirs(local, exist_ok=True)
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
                        self.inst.port(993), DEMO, DEMO_PW, self.cert,
                        local, local))
        r = subprocess.run(["mbsync", "-c", rc, "-a"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=120,
                           env=dict(os.environ, HOME=self.work))
        self.assertEqual(r.returncode, 0, r.stdout)
        return local

    @staticmethod
    def device_files(local, folder):
        out = []
        for sub in ("cur", "new"):
            d = os.path.join(local, folder, sub)
            if os.path.isdir(d):
                out += [os.path.join(d, n) for n in os.listdir(d)]
        return out

    # -- the tests --

    def test_read_send_and_organise(self):
        b = self.browser
        sent_bytes = os.urandom(30000)
        self.deliver("Quarterly figures", "figures.bin", sent_bytes)

        # The delivered message is in the inbox; open it and download
        # its attachment.
        self.login(DEMO, DEMO_PW)
        self.wait_listed("INBOX", "Quarterly figures")
        self.shot("inbox")
        uid = self.uid_of("Quarterly figures")
        b.get(self.url + "?_task=mail&_mbox=INBOX&_action=show&_uid=" +
              str(uid))
        links = b.wait(lambda: [a for a in b.find_all(
            "#attachment-list li a") if "_part=" in (a.attr("href") or "")])
        self.assertIn("figures.bin", links[0].text)
        self.shot("message")
        href = b.script("return arguments[0].href", {
            webdriver.ELEMENT: links[0].ref})
        b.get(href + "&_download=1")
        path = os.path.join(self.downloads, "figures.bin")
        b.wait(lambda: os.path.exists(path) and not os.path.exists(
            path + ".crdownload"), timeout=30)
        with open(path, "rb") as f:
            self.assertEqual(f.read(), sent_bytes)

        # Write to bob with an attachment.
        upload = os.path.join(self.work, "plan.bin")
        plan = os.urandom(40000)
        with open(upload, "wb") as f:
            f.write(plan)
        self.compose(BOB, "The plan", "Hello Bob,\nthe plan is attached.\n",
                     upload)
        self.shot("compose")
        b.script("rcmail.command('send', {})")
        b.wait(lambda: "_action=compose" not in b.url(), timeout=60)
        self.shot("sent")
        self.inst.wait_for_log(r"to=<%s>.*status=sent" % BOB, timeout=30)
        bob = self.imap(BOB, BOB_PW)
        got = [m for _, m in self.fetch_all(bob, "INBOX")
               if m["Subject"] == "The plan"]
        self.assertEqual(len(got), 1)
        self.assertEqual(self.attachment(got[0]), ("plan.bin", plan))
        self.assertIn("Hello Bob", got[0].get_body(
            ("plain",)).get_content())
        demo = self.imap(DEMO, DEMO_PW)
        sent = [m for _, m in self.fetch_all(demo, "Sent")
                if m["Subject"] == "The plan"]
        self.assertEqual(len(sent), 1)
        self.assertEqual(self.attachment(sent[0]), ("plan.bin", plan))

        # Create a folder (Settings > Folders > Create).
        b.get(self.url + "?_task=settings&_action=add-folder&_framed=1")
        b.wait_for("input[name=_name]").send_keys("Projects")
        self.shot("new-folder")
        b.script("rcmail.command('save')")

        def has_projects():
            self.open_folder("INBOX")
            return "Projects" in b.script(
                "return Object.keys(rcmail.env.mailboxes)")
        b.wait(has_projects, timeout=30, interval=1)

        # Flag the message and move it into the new folder. The row
        # shows the flag before the server has it (Roundcube marks the
        # row, then posts the request), and the move is a request of its
        # own that php-cgi may run first, taking the message away before
        # the flag is stored (seen once in a sanitizer build). So the
        # flag is waited for in IMAP; a mark Roundcube dropped while
        # busy (see list_remove) is given again. Roundcube only posts a
        # mark for rows it does not already show flagged, so before
        # giving it again the row's flag is cleared: a mark whose
        # request never reached the server (once more in a fresh
        # root's sanitizer build, three tries in a row) is sent anew.
        uid = self.uid_of("Quarterly figures")

        def flagged_on_server():
            return any(r"\Flagged" in flags and m["Subject"] ==
                       "Quarterly figures"
                       for flags, m in self.fetch_all(demo, "INBOX"))
        for attempt in range(3):
            if attempt > 0:
                b.script("var r = rcmail.message_list.rows[arguments[0]];"
                         "if (r) r.flagged = false;", uid)
            self.list_command(uid, "mark", "flagged")
            try:
                b.wait(flagged_on_server, timeout=15, interval=0.5)
                break
            except TimeoutError:
                continue
        self.assertTrue(flagged_on_server(), "the mark never reached IMAP")
        self.list_remove(uid, "move", "Projects")
        self.wait_listed("Projects", "Quarterly figures")
        self.shot("moved")
        in_projects = self.fetch_all(demo, "Projects")
        self.assertEqual([m["Subject"] for _, m in in_projects],
                         ["Quarterly figures"])
        self.assertIn(r"\Flagged", in_projects[0][0])
        self.assertEqual([m["Subject"] for _, m in
                          self.fetch_all(demo, "INBOX")], [])

        # The second device sees the folder, the flag and the place.
        local = self.mbsync()
        files = self.device_files(local, "Projects")
        self.assertEqual(len(files), 1, files)
        self.assertIn("F", files[0].rsplit(":2,", 1)[1])
        self.assertEqual(self.device_files(local, "INBOX"), [])

        # Delete it: Roundcube moves it to Trash. Roundcube takes the
        # row out of the list before its request runs, so a request it
        # dropped while busy (see list_remove) looks done in the page:
        # twice in a fresh root's full suite the message was never
        # listed in Trash. IMAP says where the message really is; while
        # it is still in Projects, the delete is given again (at most
        # three times), and what stays wrong fails below.
        def in_trash():
            return any(m["Subject"] == "Quarterly figures"
                       for _, m in self.fetch_all(demo, "Trash")) \
                if "Trash" in self.folders(demo) else False
        for attempt in range(3):
            self.open_folder("Projects")
            uid = self.uid_of("Quarterly figures")
            if uid is None and not self.fetch_all(demo, "Projects"):
                break
            if uid is not None:
                self.list_remove(uid, "delete")
            try:
                b.wait(in_trash, timeout=15, interval=0.5)
                break
            except TimeoutError:
                continue
        self.wait_listed("Trash", "Quarterly figures")
        self.shot("trash")
        self.assertEqual(self.fetch_all(demo, "Projects"), [])
        self.assertEqual([m["Subject"] for _, m in
                          self.fetch_all(demo, "Trash")],
                         ["Quarterly figures"])
        local = self.mbsync()
        self.assertEqual(self.device_files(local, "Projects"), [])
        self.assertEqual(len(self.device_files(local, "Trash")), 1)

    def test_failures(self):
        b = self.browser
        # Over message_size_limit: Roundcube shows the submission error
        # in the compose window and nothing is queued or delivered.
        self.login(DEMO, DEMO_PW)
        big = os.path.join(self.work, "big.bin")
        with open(big, "wb") as f:
            f.write(os.urandom(SIZE_LIMIT * 2))
        self.compose(BOB, "Too big", "This one is too big.\n", big)
        b.script("rcmail.command('send', {})")
        # Roundcube compares the message with the SIZE submission
        # advertises (message_size_limit) and gives up before DATA.
        b.wait(lambda: "SMTP Error" in b.text(), timeout=60)
        self.assertIn("size exceeds server limit", b.text())
        self.assertIn("_action=compose", b.url())
        self.shot("too-big")
        self.assertNotIn("Too big", self.inst.correo("queue").stdout)
        bob = self.imap(BOB, BOB_PW)
        self.assertEqual(self.fetch_all(bob, "INBOX"), [])
        bob.logout()

        # correo stopped under a logged-in user: Roundcube shows its
        # connection error; started again, the same page works.
        self.inst.stop()
        self.inst.wait_for_port_closed(self.inst.port(143))
        b.get(self.url + "?_task=mail&_mbox=INBOX")
        b.wait(lambda: "Connection to storage server failed" in b.text(),
               timeout=30)
        self.shot("correo-stopped")
        self.inst.start()
        self.inst.wait_for_port(self.inst.port(143))
        self.open_folder("INBOX")
        self.assertNotIn("Connection to storage server failed", b.text())
        self.assertIn("Sent", b.script(
            "return Object.keys(rcmail.env.mailboxes)"))
        self.shot("correo-started")

        # A wrong password: Roundcube's login error, a failed login in
        # correo's log, and the failures count toward the lockout: after
        # auth_lockout_threshold of them even the right password is
        # refused for a while.
        for attempt in range(2):
            self.login(BOB, "not the password", expect_inbox=False)
            b.wait(lambda: "Login failed" in b.text(), timeout=30)
        self.shot("wrong-password")
        self.inst.wait_for_log(r"SASL \S+ authentication failed: .*"
                               r"sasl_username=%s" % BOB, timeout=10)
        self.inst.wait_for_log(r"locked out .*sasl_username=%s" % BOB,
                               timeout=10)
        self.login(BOB, BOB_PW, expect_inbox=False)
        b.wait(lambda: "Login failed" in b.text() or
               "unavailable" in b.text(), timeout=30)
        self.shot("locked-out")


class WebmailRootTest(harness.TestCase):
    """Started by root, the web server and PHP run as correo-web: never
    root, never a mail user."""

    def test_runs_as_its_own_user(self):
        for path in WEB_NEEDS:
            if not os.path.exists(path):
                self.skipTest(path + " is not installed")
        if not harness.is_root():
            self.skipTest("needs root")
        inst = self.instance(root_mode=True, init=False)
        inst.init(extra_args=["--webmail"])
        r = inst.correo("webmail", "start")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.addCleanup(inst.correo, "webmail", "stop")
        inst.wait_for_port(webmail_port(inst))
        import pwd
        import urllib.request
        with urllib.request.urlopen("http://127.0.0.1:%d/" %
                                    webmail_port(inst), timeout=30) as page:
            self.assertIn(b"rcmloginuser", page.read())
        web = pwd.getpwnam("correo-web").pw_uid
        pidfile = os.path.join(inst.dir, "webmail", "lighttpd.pid")
        with open(pidfile) as f:
            pid = int(f.read())
        procs = [pid] + [int(p) for p in subprocess.run(
            ["pgrep", "-P", str(pid)], stdout=subprocess.PIPE,
            text=True).stdout.split()]
        self.assertGreater(len(procs), 1, "no php-cgi under lighttpd")
        for p in procs:
            with open("/proc/%d/status" % p) as f:
                uids = [line.split()[1:] for line in f
                        if line.startswith("Uid:")][0]
            self.assertEqual(set(int(u) for u in uids), {web}, p)
        # Root's pid file is not in a directory the web user owns.
        st = os.stat(os.path.dirname(pidfile))
        self.assertEqual(st.st_uid, 0)
        r = inst.correo("webmail", "stop")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        harness.wait_for(lambda: not harness.pid_alive(pid), 10,
                         what="lighttpd gone")



class WebmailPortTest(harness.TestCase):
    """correo init gives the webmail a port browsers open."""

    def test_browser_refused_ports(self):
        harness.require_daemons(self, "master")
        inst = self.instance(init=False)
        r = inst.run([inst.correo_path(), "init", inst.dir, "--ports",
                      str(inst.base), "--webmail", "--webmail-port",
                      "10080"])
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("browsers refuse to open that port", r.stderr)
        self.assertFalse(os.path.exists(inst.dir))
        # BASE 10000: 10080 is refused, so 10081.
        if not all(harness.port_is_free(10000 + n)
                   for n in list(range(0, 1000, 1)) + [1080, 1081]
                   if 10000 + n < 11000):
            self.skipTest("ports 10000-10999 in use")
        r = inst.run([inst.correo_path(), "init", inst.dir, "--ports",
                      "10000", "--webmail"])
        if r.returncode != 0 and "in use" in r.stderr:
            self.skipTest(r.stderr)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(webmail_port(inst), 10081)
        self.assertIn("http://127.0.0.1:10081/", r.stdout + r.stderr)

if __name__ == "__main__":
    harness.main()
