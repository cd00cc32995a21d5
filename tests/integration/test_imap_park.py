#!/usr/bin/env python3
"""imap park: idle IMAP sessions handed to their user's park process.

With imap_hibernate_timeout = 1s, a session that sits in IDLE for a
second hands its client to the user's park process and its imapd exits
(checked in the process table: no mail process is left). Then, through
a real instance on loopback:

  - a message delivered over SMTP is announced (* N EXISTS, * N RECENT)
    to the parked client by the park process itself (no imapd is
    started for new mail; \\Recent goes to one read-write session, as
    with an imapd), DONE gets its OK, and the session goes on (FETCH,
    STORE, another IDLE that parks again);
  - flag changes and expunges made by another session of the user
    reach the parked client as FETCH and EXPUNGE; with QRESYNC enabled
    as VANISHED;
  - DONE sent right after IDLE (in the same packet, or while parked)
    is answered, not lost;
  - the connections of one user share one park process, two users
    never share one, and a park process holds exactly its own user's
    client sockets (from /proc: its descriptors against the kernel's
    TCP table);
  - killing a user's park process drops that user's parked connections
    only; the next login of that user starts a new one;
  - mail_max_userip_connections still counts parked sessions;
  - a session that is merely quiet (not in IDLE) is parked too, woken
    by the client only, and hears of changes after its next command
    (EXPUNGE held back during FETCH);
  - a change while a session waits to be parked does not keep it from
    being parked;
  - a COMPRESS=DEFLATE session is not parked (its zlib state would be
    lost);
  - a park process with no connections left exits.
"""
import os
import re
import signal
import socket
import time
import unittest
import zlib

import harness

PASSWORD = "park me 5"
USERS = ["ann@demo.test", "bob@demo.test"]
CONFIG = {"imap_hibernate_timeout": "1s", "queue_run_delay": "1s",
          "mail_max_userip_connections": "3"}
WAIT = 60.0	# bound on every wait (the machine may be loaded)


class Raw:
    """A line-level IMAP client."""

    def __init__(self, port, user):
        self.sock = socket.create_connection(("127.0.0.1", port),
                                             timeout=WAIT)
        self.f = self.sock.makefile("rb")
        self.n = 0
        self.user = user
        assert self.f.readline().startswith(b"* OK")

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, data):
        self.sock.sendall(data)

    def line(self):
        line = self.f.readline()
        if not line:
            raise EOFError("connection closed")
        return line.rstrip(b"\r\n")

    def cmd(self, text):
        self.n += 1
        tag = b"p%d" % self.n
        self.send(tag + b" " + text.encode() + b"\r\n")
        untagged = []
        while True:
            line = self.line()
            if line.startswith(tag + b" "):
                return untagged, line[len(tag) + 1:]
            untagged.append(line)

    def ok(self, text):
        untagged, tagged = self.cmd(text)
        assert tagged.startswith(b"OK"), (text, untagged, tagged)
        return untagged

    def idle(self):
        self.n += 1
        self.idle_tag = b"p%d" % self.n
        self.send(self.idle_tag + b" IDLE\r\n")
        line = self.line()
        assert line.startswith(b"+ "), line

    def until(self, pattern):
        """Lines up to the first that matches pattern (bounded by the
        socket timeout)."""
        seen = []
        while True:
            line = self.line()
            seen.append(line)
            if re.search(pattern, line):
                return seen

    def done(self):
        self.send(b"DONE\r\n")
        seen = self.until(rb"^" + self.idle_tag + rb" ")
        assert seen[-1] == self.idle_tag + b" OK Idle completed.", seen
        return seen[:-1]


def server_sockets(pid):
    """Socket inodes among the descriptors of pid."""
    out = set()
    fddir = "/proc/%d/fd" % pid
    for name in os.listdir(fddir):
        try:
            target = os.readlink(os.path.join(fddir, name))
        except OSError:
            continue
        m = re.match(r"socket:\[(\d+)\]", target)
        if m:
            out.add(int(m.group(1)))
    return out


def tcp_inode(local_port, remote_port):
    """The inode of the server side of a loopback TCP connection whose
    server end is local_port and client end remote_port."""
    with open("/proc/net/tcp") as f:
        for row in f.readlines()[1:]:
            fields = row.split()
            lport = int(fields[1].split(":")[1], 16)
            rport = int(fields[2].split(":")[1], 16)
            if lport == local_port and rport == remote_port:
                return int(fields[9])
    return None


class ImapParkTest(harness.TestCase):

    @classmethod
    def setUpClass(cls):
        for d in ("imapd", "imap-login", "auth"):
            if not harness.have_daemon(d):
                raise unittest.SkipTest(d + " not built")

    def setUp(self):
        inst = self.instance(config=CONFIG)
        for u in USERS:
            inst.add_user(u, PASSWORD)
        inst.start()
        self.port = inst.port(143)
        inst.wait_for_port(self.port)
        self.inst = inst
        self.delivered = {u: 0 for u in USERS}

    # ---- helpers ----

    def maildir(self, user):
        local, domain = user.split("@")
        return os.path.join(self.inst.mail_dir, domain, local)

    def login(self, user=USERS[0], select="INBOX"):
        r = Raw(self.port, user)
        self.addCleanup(r.close)
        r.ok('LOGIN "%s" "%s"' % (user, PASSWORD))
        if select:
            r.ok("SELECT " + select)
        return r

    def deliver(self, user=USERS[0], n=1, present=None):
        """n messages to user; present: how many the Maildir then has
        (default: all delivered so far)."""
        for _ in range(n):
            self.delivered[user] += 1
            i = self.delivered[user]
            self.inst.send_mail("alice@example.org", [user],
                                "Subject: m%d\r\n\r\nbody %d\r\n" % (i, i))
        local, domain = user.split("@")
        self.inst.wait_for_maildir("%s/%s" % (domain, local),
                                   self.delivered[user] if present is None
                                   else present, timeout=WAIT)

    def owner_uid(self):
        """The mailbox owner in instance mode: the instance's user (the
        test user when the suite runs as root)."""
        return harness.proc_info(self.inst.master_pid())["uid"]

    def mail_processes(self):
        """imapd mail processes of the instance (started by the spawner
        or resumed by a park process)."""
        return [p for p in self.inst.processes()
                if p["argv"][1:2] in (["--mail-session"],
                                      ["--mail-resume"])]

    def parks(self):
        """{Maildir: park process} of the instance (its working
        directory; a park process is not dumpable, so only root reads
        it: else {None: ...})."""
        return {p["cwd"]: p for p in self.inst.processes()
                if p["argv"][:2] == ["imap-park", "--park"]}

    def need_proc(self):
        """A park process's /proc entries (cwd, fd) belong to root."""
        if os.geteuid() != 0:
            self.skipTest("needs root to read a park process's /proc")

    def wait_parked(self, n_mail=0):
        """Until only n_mail mail processes are left."""
        harness.wait_for(lambda: len(self.mail_processes()) == n_mail,
                         WAIT, what="%d mail process(es) left: %r" %
                         (n_mail, self.mail_processes()))

    # ---- tests ----

    def test_delivery_while_parked(self):
        self.need_proc()
        self.deliver(n=2)
        r = self.login()
        r.idle()
        self.wait_parked()
        parks = self.parks()
        self.assertEqual(list(parks), [self.maildir(USERS[0])])
        self.assertEqual(parks[self.maildir(USERS[0])]["uid"],
                         self.owner_uid())
        self.deliver()
        seen = r.until(rb"^\* 3 EXISTS$")
        # 1 and 2 were recent at SELECT and still are in this session.
        self.assertEqual(r.line(), b"* 3 RECENT")
        self.assertNotIn(b"EXPUNGE", b"".join(seen))
        r.done()
        # The session goes on, on the same view.
        untagged = r.ok("FETCH 1:3 (UID FLAGS)")
        self.assertEqual(len(untagged), 3, untagged)
        self.assertRegex(untagged[2], rb"^\* 3 FETCH \(UID 3 FLAGS "
                         rb"\(\\Recent\)\)$")
        untagged = r.ok("STORE 2 +FLAGS (\\Flagged)")
        self.assertEqual(len(untagged), 1, untagged)
        self.assertRegex(untagged[0], rb"^\* 2 FETCH \(FLAGS \(\\Flagged"
                         rb"( \\Recent)?\)\)$")
        # Parked again; the next delivery is announced again.
        r.idle()
        self.wait_parked()
        self.deliver()
        r.until(rb"^\* 4 EXISTS$")
        r.done()
        untagged = r.ok("UID SEARCH FLAGGED")
        self.assertEqual(untagged, [b"* SEARCH 2"])
        r.ok("LOGOUT")
        # The last connection gone, the park process goes too.
        harness.wait_for(lambda: not self.parks(), WAIT,
                         what="the park process to exit")
        self.assertFalse(os.path.exists(
            os.path.join(self.maildir(USERS[0]), "correo-park")))
        self.assertIn("Logged out in=", self.inst.log())

    def test_new_mail_told_by_the_park(self):
        """New mail only: the park process tells a parked IDLE itself,
        no imapd is started, and the session's view (UIDs, \\Recent)
        is what the client was told when an imapd takes over."""
        self.deliver(n=2)
        r = self.login()
        ro = self.login(select=None)
        ro.ok("EXAMINE INBOX")
        r.idle()
        ro.idle()
        self.wait_parked()
        for n in (3, 4):
            self.deliver()
            self.assertEqual(r.until(rb"EXISTS$")[-1], b"* %d EXISTS" % n)
            # The read-write session takes each new message as \Recent.
            self.assertEqual(r.line(), b"* %d RECENT" % n)
            self.assertEqual(ro.until(rb"EXISTS$")[-1],
                             b"* %d EXISTS" % n)
            # The read-only one sees them recent, as EXAMINE does, but
            # the other session took them: not any more once it has.
            self.assertRegex(ro.line(), rb"^\* \d RECENT$")
            self.assertEqual(self.mail_processes(), [],
                             "an imapd was started for new mail")
        # Another session's flag change needs an imapd: reported so.
        other = self.login()
        other.ok("STORE 4 +FLAGS (\\Flagged)")
        other.ok("LOGOUT")
        seen = r.until(rb"^\* 4 FETCH ")
        self.assertRegex(seen[-1], rb"^\* 4 FETCH \(FLAGS \(\\Flagged "
                         rb"\\Recent\)\)$")
        r.done()
        untagged = r.ok("FETCH 1:* (UID FLAGS)")
        self.assertEqual(len(untagged), 4, untagged)
        self.assertRegex(untagged[2], rb"^\* 3 FETCH \(UID 3 FLAGS "
                         rb"\(\\Recent\)\)$")
        # The next delivery after a resume and a new park: told again.
        r.idle()
        self.wait_parked()
        self.deliver()
        self.assertEqual(r.until(rb"EXISTS$")[-1], b"* 5 EXISTS")
        self.assertEqual(r.line(), b"* 5 RECENT")
        r.done()
        untagged = r.ok("UID SEARCH RECENT")
        self.assertEqual(untagged, [b"* SEARCH 1 2 3 4 5"])
        ro.done()
        untagged = ro.ok("FETCH 5 (UID)")
        self.assertEqual(untagged, [b"* 5 FETCH (UID 5)"])

    def test_changes_by_another_session(self):
        self.deliver(n=3)
        r = self.login()
        r.idle()
        self.wait_parked()
        other = self.login()
        other.ok("STORE 1 +FLAGS (\\Seen)")
        seen = r.until(rb"^\* 1 FETCH ")
        self.assertRegex(seen[-1], rb"^\* 1 FETCH \(FLAGS \(\\Seen"
                         rb"( \\Recent)?\)\)$")
        other.ok("LOGOUT")
        self.wait_parked()
        other = self.login()
        other.ok("STORE 2 +FLAGS (\\Deleted)")
        other.ok("EXPUNGE")
        seen = r.until(rb"EXPUNGE")
        self.assertEqual(seen[-1], b"* 2 EXPUNGE")
        r.done()
        untagged = r.ok("FETCH 1:* (UID)")
        self.assertEqual(untagged, [b"* 1 FETCH (UID 1)",
                                    b"* 2 FETCH (UID 3)"])

    def test_parks_after_a_change_in_idle(self):
        """A change while the session waits to be parked is reported,
        and the session parks after it all the same."""
        self.deliver(n=2)
        r = self.login()
        other = self.login()
        r.idle()
        other.ok("STORE 2 +FLAGS (\\Answered)")
        seen = r.until(rb"^\* 2 FETCH ")
        self.assertIn(b"\\Answered", seen[-1])
        other.ok("LOGOUT")
        self.wait_parked()
        r.done()

    def test_quiet_session_parked(self):
        """Not in IDLE, just quiet: parked too, woken only by the
        client; what changed meanwhile comes after its next command,
        EXPUNGE never during FETCH."""
        self.deliver(n=3)
        r = self.login()
        self.wait_parked()
        # Parked sessions do not wake for changes (nothing may be said
        # outside a command).
        other = self.login()
        other.ok("STORE 1 +FLAGS (\\Flagged)")
        other.ok("STORE 3 +FLAGS (\\Deleted)")
        other.ok("EXPUNGE")
        other.ok("LOGOUT")
        self.deliver(present=3)
        self.wait_parked()
        # FETCH by sequence number: the expunge is held back (the
        # client's numbers stay valid: 3 is the expunged one, answered
        # as a session that never parked answers), the rest is told.
        untagged, tagged = r.cmd("FETCH 1:3 (UID)")
        self.assertTrue(tagged.startswith(b"NO [EXPUNGEISSUED]"), tagged)
        self.assertIn(b"* 1 FETCH (UID 1)", untagged)
        self.assertIn(b"* 2 FETCH (UID 2)", untagged)
        self.assertFalse(any(b"EXPUNGE" in u for u in untagged), untagged)
        self.assertTrue(any(u.startswith(b"* 1 FETCH (FLAGS (\\Flagged")
                            for u in untagged), untagged)
        self.assertIn(b"* 4 EXISTS", untagged)
        untagged = r.ok("NOOP")
        self.assertEqual(untagged[0], b"* 3 EXPUNGE")
        untagged = r.ok("FETCH 1:* (UID)")
        self.assertEqual(untagged, [b"* 1 FETCH (UID 1)",
                                    b"* 2 FETCH (UID 2)",
                                    b"* 3 FETCH (UID 4)"])
        # And it parks again, unselected too.
        r.ok("UNSELECT")
        self.wait_parked()
        untagged = r.ok("STATUS INBOX (MESSAGES)")
        self.assertEqual(untagged, [b"* STATUS \"INBOX\" (MESSAGES 3)"])

    def test_qresync_vanished(self):
        self.deliver(n=3)
        r = self.login(select=None)
        r.ok("ENABLE QRESYNC")
        r.ok("SELECT INBOX")
        r.idle()
        self.wait_parked()
        other = self.login()
        other.ok("UID STORE 3 +FLAGS (\\Deleted)")
        other.ok("UID EXPUNGE 3")
        seen = r.until(rb"^\* VANISHED")
        self.assertEqual(seen[-1], b"* VANISHED 3")
        r.done()
        untagged = r.ok("FETCH 1:* (UID)")
        self.assertEqual(len(untagged), 2, untagged)

    def test_done_right_after_idle(self):
        self.deliver()
        r = self.login()
        # In the same packet as IDLE: never parked.
        r.n += 1
        r.send(b"p%d IDLE\r\nDONE\r\n" % r.n)
        self.assertTrue(r.line().startswith(b"+ "))
        self.assertEqual(r.line(), b"p%d OK Idle completed." % r.n)
        # While parked: the park process reads nothing, the resumed
        # imapd finds DONE waiting.
        r.idle()
        self.wait_parked()
        self.assertEqual(r.done(), [])
        r.ok("NOOP")
        # DONE and the next command in one packet, while parked.
        r.idle()
        self.wait_parked()
        r.send(b"DONE\r\nq1 FETCH 1 (UID)\r\n")
        self.assertEqual(r.line(), r.idle_tag + b" OK Idle completed.")
        self.assertEqual(r.line(), b"* 1 FETCH (UID 1)")
        self.assertEqual(r.line(), b"q1 OK Fetch completed.")

    def test_one_park_per_user(self):
        self.need_proc()
        conns = {u: [self.login(u) for _ in range(3 if u == USERS[0]
                                                  else 2)]
                 for u in USERS}
        for cs in conns.values():
            for c in cs:
                c.idle()
        self.wait_parked()
        parks = self.parks()
        self.assertEqual(sorted(parks), sorted(self.maildir(u)
                                               for u in USERS))
        for u, cs in conns.items():
            park = parks[self.maildir(u)]
            # As the mailbox owner (in instance mode, the invoking
            # user; root mode makes it each user's own uid).
            self.assertEqual(park["uid"], self.owner_uid())
            held = server_sockets(park["pid"])
            for other, ocs in conns.items():
                for c in ocs:
                    inode = tcp_inode(self.port, c.sock.getsockname()[1])
                    self.assertIsNotNone(inode)
                    self.assertEqual(inode in held, other == u,
                                     (u, other))
        for cs in conns.values():
            for c in cs:
                c.done()

    def test_kill_park(self):
        self.need_proc()
        a = [self.login(USERS[0]) for _ in range(2)]
        b = self.login(USERS[1])
        for c in a + [b]:
            c.idle()
        self.wait_parked()
        park = self.parks()[self.maildir(USERS[0])]
        os.kill(park["pid"], signal.SIGKILL)
        for c in a:
            self.assertRaises((EOFError, ConnectionResetError), c.line)
        # The other user's session is untouched.
        self.deliver(USERS[1])
        b.until(rb"^\* 1 EXISTS$")
        b.done()
        b.ok("NOOP")
        # A new login of the first user gets a new park process (the
        # dead one's socket is stale).
        c = self.login(USERS[0])
        c.idle()
        self.wait_parked()	# b too: quiet, it parks as well
        new = self.parks()[self.maildir(USERS[0])]
        self.assertNotEqual(new["pid"], park["pid"])
        self.deliver(USERS[0])
        c.until(rb"^\* 1 EXISTS$")
        c.done()

    def test_userip_limit_holds(self):
        a = [self.login(USERS[0]) for _ in range(3)]
        for c in a:
            c.idle()
        self.wait_parked()
        r = Raw(self.port, USERS[0])
        self.addCleanup(r.close)
        untagged, tagged = r.cmd('LOGIN "%s" "%s"' % (USERS[0], PASSWORD))
        self.assertTrue(tagged.startswith(b"NO [LIMIT]"), tagged)
        a[0].done()
        a[0].ok("LOGOUT")
        # The hold is released when that session's process is gone,
        # which is after its LOGOUT reply (slow under a sanitizer):
        # the place becomes free within a bound, not at the reply.
        deadline = time.monotonic() + WAIT
        while True:
            r = Raw(self.port, USERS[0])
            self.addCleanup(r.close)
            untagged, tagged = r.cmd('LOGIN "%s" "%s"' %
                                     (USERS[0], PASSWORD))
            if not tagged.startswith(b"NO [LIMIT]"):
                break
            self.assertLess(time.monotonic(), deadline, tagged)
            r.close()
            time.sleep(0.1)
        self.assertTrue(tagged.startswith(b"OK"), tagged)
        r.ok("NOOP")

    def test_compress_not_parked(self):
        r = self.login()
        r.ok("COMPRESS DEFLATE")
        comp = zlib.compressobj(wbits=-15)
        decomp = zlib.decompressobj(wbits=-15)
        r.send(comp.compress(b"z1 IDLE\r\n") +
               comp.flush(zlib.Z_SYNC_FLUSH))
        out = b""
        while b"\r\n" not in out:
            out += decomp.decompress(r.sock.recv(4096))
        self.assertTrue(out.startswith(b"+ "), out)
        time.sleep(2.5)	# past imap_hibernate_timeout
        self.assertEqual(len(self.mail_processes()), 1)
        r.send(comp.compress(b"DONE\r\n") + comp.flush(zlib.Z_SYNC_FLUSH))
        out = b""
        while b"z1 " not in out:
            out += decomp.decompress(r.sock.recv(4096))
        self.assertIn(b"z1 OK Idle completed.", out)


if __name__ == "__main__":
    harness.main()
