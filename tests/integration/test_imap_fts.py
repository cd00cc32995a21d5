"""imapd's full-text index (correo-fts.db) against a brute-force answer.

A generated corpus of fuzzed words in mixed charsets (UTF-8 and
ISO-8859-1 bodies, RFC 2047 subjects in both), base64 and
quoted-printable bodies (words broken by QP soft line breaks),
multiparts with a base64 text attachment and a binary one, reaches the
INBOX three ways: delivered over SMTP (local), APPENDed, and dropped
into cur/ by "another program". Over a real login (imap-login, imapd in
its sandbox), UID SEARCH BODY, TEXT and SUBJECT for many needles (1 and
2 characters, case variants, non-ASCII, phrases, words split by soft
breaks, bytes of the binary attachment, NOT and OR) must equal the
answer Python computes from what it generated, not from correo's
parsing. Then the same after the index is deleted, truncated, its
header garbled or replaced by another file, and after imapd is killed
while building it; the index is shown to be
really used (a message file changed behind its back still answers from
the index) and `correo mailbox rebuild` rebuilds it.
"""
import base64
import email.utils
import imaplib
import os
import random
import shlex
import signal
import sqlite3
import subprocess
import time
import unicodedata

import harness

USER = "bob@demo.test"
PASSWORD = "fts secret 7"
CONFIG = {"queue_run_delay": "1s"}
N_DROPPED = 250
N_SMTP = 4
N_APPEND = 6

SYLL = ["ka", "zo", "ri", "mu", "te", "qa", "vel", "orn", "ix", "pu", "sh",
        "an", "el", "yo", "br", "st", "ch", "um"]
ACCENTED = ["caf\u00e9", "na\u00efve", "J\u00f6rg", "Gr\u00fc\u00dfe",
            "ni\u00f1o", "fa\u00e7ade", "\u00e9t\u00e9", "M\u00fcller"]
UTF8_ONLY = ["\u65e5\u672c\u8a9e", "\u0416\u0443\u043a", "\u03b1\u03b2\u03b3",
             "\u20ac\u00a3"]
BINARY_MARK = b"PNGmark"


def fuzz_word(rnd):
    return "".join(rnd.choice(SYLL) for _ in range(rnd.randint(2, 4)))


def encode_word(text, charset):
    """An RFC 2047 encoded word (B or Q at random) of text."""
    raw = text.encode(charset)
    if len(raw) % 2:
        return "=?%s?b?%s?=" % (charset, base64.b64encode(raw).decode())
    q = "".join(chr(b) if (chr(b).isalnum() and b < 128) else
                "_" if b == 32 else "=%02X" % b for b in raw)
    return "=?%s?q?%s?=" % (charset, q)


def qp_encode(data, rnd):
    """Quoted-printable with soft line breaks in random places (inside
    words too)."""
    out, line = [], ""
    for b in data:
        c = chr(b)
        if b == 10:
            out.append(line + "\n")
            line = ""
            continue
        tok = c if (32 < b < 127 and c != "=") else "=%02X" % b
        if len(line) + len(tok) > 70 or (line and rnd.random() < 0.04):
            out.append(line + "=\n")
            line = ""
        line += tok
    out.append(line + "\n")
    return "".join(out)


class Corpus:
    """Messages and, for each, the texts the brute force compares."""

    def __init__(self, seed):
        self.rnd = random.Random(seed)
        self.vocab = [fuzz_word(self.rnd) for _ in range(60)]
        self.msgs = {}      # corpus id -> dict

    def sentence(self, extra=()):
        rnd = self.rnd
        words = [rnd.choice(self.vocab) for _ in range(rnd.randint(4, 14))]
        for w in extra:
            words.insert(rnd.randint(0, len(words)), w)
        if rnd.random() < 0.3:
            words.insert(rnd.randint(0, len(words)), rnd.choice(ACCENTED))
        return " ".join(words)

    def make(self, cid):
        rnd = self.rnd
        charset = rnd.choice(["utf-8", "iso-8859-1", "us-ascii"])
        lines = [self.sentence() for _ in range(rnd.randint(1, 6))]
        if charset == "utf-8" and rnd.random() < 0.5:
            lines.append(" ".join(rnd.sample(UTF8_ONLY, 2)))
        if charset == "us-ascii":
            lines = [l.encode("ascii", "replace").decode() for l in lines]
        text = "\n".join(lines) + "\n"
        raw_text = text.encode(charset, "replace")
        text = raw_text.decode(charset)
        cte = rnd.choice(["7bit", "quoted-printable", "base64"])
        if cte == "7bit" and charset != "us-ascii":
            cte = "8bit"
        if cte == "quoted-printable":
            payload = qp_encode(raw_text, rnd)
        elif cte == "base64":
            payload = base64.encodebytes(raw_text).decode()
        else:
            payload = raw_text.decode("latin-1")
        subj_plain = "%s %s" % (rnd.choice(self.vocab), cid)
        if rnd.random() < 0.5:
            accented = rnd.choice(ACCENTED)
            cs = rnd.choice(["utf-8", "iso-8859-1"])
            subject_raw = "%s %s" % (encode_word(accented, cs), subj_plain)
            subject = "%s %s" % (accented, subj_plain)
        else:
            subject_raw = subject = subj_plain
        name = "%s %s" % (rnd.choice(self.vocab).title(),
                          rnd.choice(self.vocab).title())
        addr = "%s@example.org" % rnd.choice(self.vocab)
        fields = [("From", "%s <%s>" % (name, addr)),
                  ("To", USER),
                  ("Subject", subject_raw),
                  ("Date", "Mon, 6 Nov 2023 10:00:00 +0000"),
                  ("Message-ID", "<c%d.fts@example.org>" % cid),
                  ("X-Corpus-Id", str(cid)),
                  ("MIME-Version", "1.0")]
        parts = []          # decoded texts of the leaf parts (bytes)
        part_header = ("Content-Type: text/plain; charset=%s\n"
                       "Content-Transfer-Encoding: %s\n\n" % (charset, cte))
        kind = rnd.choice(["single", "single", "mixed"])
        if kind == "single":
            fields.append(("Content-Type",
                           "text/plain; charset=%s" % charset))
            fields.append(("Content-Transfer-Encoding", cte))
            body = payload
            parts.append(text.encode("utf-8"))
        else:
            b = "b%d" % cid
            fields.append(("Content-Type",
                           "multipart/mixed; boundary=\"%s\"" % b))
            att_text = self.sentence() + "\n"
            blob = bytes(rnd.randrange(256) for _ in range(300))
            blob = blob[:100] + BINARY_MARK + blob[100:]
            body = ("This is a multi-part message.\n--%s\n%s%s\n--%s\n"
                    "Content-Type: text/plain; charset=utf-8; name=a.txt\n"
                    "Content-Disposition: attachment; filename=a.txt\n"
                    "Content-Transfer-Encoding: base64\n\n%s\n--%s\n"
                    "Content-Type: image/png; name=x.png\n"
                    "Content-Transfer-Encoding: base64\n\n%s\n--%s--\n"
                    % (b, part_header, payload.rstrip("\n"), b,
                       base64.encodebytes(att_text.encode()).decode()
                       .rstrip("\n"), b,
                       base64.encodebytes(blob).decode().rstrip("\n"), b))
            parts += [text.encode("utf-8"), att_text.encode("utf-8"),
                      blob]
        head = "".join("%s: %s\n" % f for f in fields)
        # The payload holds bytes as latin-1 characters; the rest is
        # ASCII.
        data = (head + "\n" + body).encode("latin-1")
        self.msgs[cid] = {"data": data, "parts": parts,
                          "subject": subject, "known": dict(
                              (n.lower(), v) for n, v in fields),
                          "decoded_subject": subject}
        return data


def fold_ci(b):
    """imapd's comparison form, i;unicode-casemap (RFC 5051), computed
    here with Python's own Unicode tables: invalid UTF-8 replaced, each
    character's (simple) titlecase, then NFKD."""
    if isinstance(b, bytes):
        b = b.decode("utf-8", "replace")
    title = "".join(c.title() if len(c.title()) == 1 else c for c in b)
    return unicodedata.normalize("NFKD", title).encode("utf-8")


def contains(texts, needle):
    n = fold_ci(needle)
    return any(n in fold_ci(t) for t in texts)


ADDRESS_FIELDS = ("from", "to", "cc", "bcc", "sender", "reply-to")


def header_texts(raw_header, msg):
    """The texts of each field as imapd compares them: unfolded,
    encoded words decoded (only our Subject has them), and for address
    fields the "Name <mailbox@domain>, " form as well."""
    texts = []
    fields = []
    for line in raw_header.split(b"\n"):
        line = line.rstrip(b"\r")
        if not line:
            continue
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1][1] += line
        elif b":" in line:
            name, value = line.split(b":", 1)
            fields.append([name.strip(), value])
    for name, value in fields:
        lname = name.decode().lower()
        if lname == "subject":
            texts.append(msg["decoded_subject"].encode())
        else:
            texts.append(value.strip())
        if lname in ADDRESS_FIELDS:
            out = ""
            for real, addr in email.utils.getaddresses([value.decode()]):
                if real:
                    out += real + " "
                out += "<%s>, " % addr
            texts.append(out.encode())
    return texts


def brute(msgs, key, needle):
    """UIDs whose message matches key ("BODY", "TEXT", "SUBJECT")."""
    out = set()
    for uid, m in msgs.items():
        if key == "BODY":
            hit = contains(m["parts"], needle)
        elif key == "SUBJECT":
            hit = contains([m["decoded_subject"].encode()], needle)
        else:
            hit = (contains(m["header_texts"], needle) or
                   contains(m["parts"], needle))
        if hit:
            out.add(uid)
    return out


class ImapFtsTest(harness.TestCase):

    @classmethod
    def setUpClass(cls):
        for d in ("imapd", "imap-login", "auth", "smtpd", "local"):
            if not harness.have_daemon(d):
                raise __import__("unittest").SkipTest(d + " not built")

    def setUp(self):
        seed = int(os.environ.get("FTS_SEED", "20261202"))
        self.corpus = Corpus(seed)
        self.rnd = random.Random(seed + 1)
        inst = self.instance(config=CONFIG)
        inst.add_user(USER, PASSWORD)
        inst.start()
        self.inst = inst
        self.p143 = inst.port(143)
        inst.wait_for_port(self.p143)
        self.md = os.path.join(inst.mail_dir, "demo.test", "bob")
        self.db = os.path.join(self.md, "correo-fts.db")
        cid = 0
        for _ in range(N_SMTP):
            cid += 1
            inst.send_mail("alice@example.org", [USER],
                           self.corpus.make(cid).replace(b"\n", b"\r\n"))
        inst.wait_for_maildir("demo.test/bob", N_SMTP)
        cur = os.path.join(self.md, "cur")
        for _ in range(N_DROPPED):
            cid += 1
            path = os.path.join(cur, "1700000000.M%dP1.other:2,S" % cid)
            with open(path, "wb") as f:
                f.write(self.corpus.make(cid))
            if inst.user is not None:
                os.chown(path, inst.user.pw_uid, inst.user.pw_gid)
        m = self.login()
        for _ in range(N_APPEND):
            cid += 1
            typ, data = m.append("INBOX", None, None,
                                 self.corpus.make(cid).replace(b"\n",
                                                               b"\r\n"))
            self.assertEqual(typ, "OK", data)
        self.uids = self.map_uids(m)
        self.assertEqual(len(self.uids), cid)

    def login(self):
        m = imaplib.IMAP4("127.0.0.1", self.p143, timeout=120)
        self.addCleanup(self.close, m)
        typ, data = m.login(USER, PASSWORD)
        self.assertEqual(typ, "OK", data)
        typ, data = m.select("INBOX")
        self.assertEqual(typ, "OK", data)
        return m

    @staticmethod
    def close(m):
        try:
            m.logout()
        except (imaplib.IMAP4.error, OSError, EOFError):
            pass

    def map_uids(self, m):
        """uid -> the corpus entry, with the header texts as the server
        keeps the header (local adds Received and the like)."""
        typ, data = m.uid("FETCH", "1:*", "(UID BODY.PEEK[HEADER])")
        self.assertEqual(typ, "OK", data)
        out = {}
        for item in data:
            if not isinstance(item, tuple):
                continue
            uid = int(item[0].split(b"UID ")[1].split()[0])
            header = item[1]
            cid = int(header.split(b"X-Corpus-Id: ")[1].split(b"\r")[0])
            msg = dict(self.corpus.msgs[cid])
            msg["header_texts"] = header_texts(header, msg)
            out[uid] = msg
        return out

    def needles(self):
        rnd = self.rnd
        vocab = self.corpus.vocab
        out = []
        for w in rnd.sample(vocab, 25):
            out += [w, w.upper(), w[:3], w.title(), w[1:-1]]
        out += ["a", "k", "Q", "zo", "ZO", "rI", "e\u0301"[:1], "\u00e9",
                "\u00e9t", "x y", "ka ", " zo"]
        out += ACCENTED + [a.upper() for a in ACCENTED] + UTF8_ONLY
        out += ["%s %s" % tuple(rnd.sample(vocab, 2)) for _ in range(10)]
        out += [BINARY_MARK.decode(), "pngMARK", "multi-part message",
                "example.org", "X-Corpus", "nowhere-to-be-found"]
        # Phrases and words as written in messages (spanning QP soft
        # breaks when the message is QP).
        for m in rnd.sample(list(self.corpus.msgs.values()), 20):
            t = m["parts"][0]
            if len(t) > 12:
                at = rnd.randrange(len(t) - 12)
                piece = t[at:at + rnd.randint(3, 12)]
                try:
                    out.append(piece.decode("utf-8"))
                except UnicodeDecodeError:
                    pass
        return [n for n in out if n and "\n" not in n and "\r" not in n]

    def search(self, m, criteria, needle):
        m.literal = needle.encode("utf-8")
        typ, data = m.uid("SEARCH", "CHARSET", "UTF-8", *criteria)
        self.assertEqual(typ, "OK", (criteria, needle, data))
        return set(int(x) for x in data[0].split())

    def check_all(self, m, needles=None, label=""):
        needles = needles or self.needles()
        everything = set(self.uids)
        for needle in needles:
            nb = needle.encode("utf-8")
            for key in ("BODY", "TEXT", "SUBJECT"):
                want = brute(self.uids, key, nb)
                got = self.search(m, [key], needle)
                self.assertEqual(got, want, "%s%s %r: extra %s missing %s"
                                 % (label, key, needle,
                                    sorted(got - want)[:10],
                                    sorted(want - got)[:10]))
            got = self.search(m, ["NOT", "BODY"], needle)
            self.assertEqual(got, everything - brute(self.uids, "BODY", nb),
                             "%sNOT BODY %r" % (label, needle))
        # OR of two keys, both through the index.
        a, b = self.rnd.sample(self.corpus.vocab, 2)
        typ, data = m.uid("SEARCH", "OR", "BODY", a, "SUBJECT", b)
        self.assertEqual(typ, "OK", data)
        self.assertEqual(set(int(x) for x in data[0].split()),
                         brute(self.uids, "BODY", a.encode()) |
                         brute(self.uids, "SUBJECT", b.encode()))

    def indexed(self):
        """Messages the index holds (read-only: no -shm as root)."""
        db = sqlite3.connect("file:%s?mode=ro" % self.db, uri=True)
        try:
            return db.execute("SELECT count(*) FROM done").fetchone()[0]
        finally:
            db.close()

    def test_search_equals_brute_force(self):
        m = self.login()
        self.check_all(m)
        self.assertEqual(self.indexed(), len(self.uids))
        st = os.stat(self.db)
        self.assertEqual(st.st_mode & 0o777, 0o600)
        # The index answers: a file changed behind its back (same
        # name, so no rescan) is still found by its old text.
        uid = sorted(self.uids)[len(self.uids) // 2]
        word = self.uids[uid]["subject"].split()[-1]   # the corpus id
        path = self.message_path(m, uid)
        with open(path, "rb") as f:
            old = f.read()
        target = self.uids[uid]["parts"][0].split()[0].decode("utf-8",
                                                            "replace")
        with open(path, "r+b") as f:
            f.truncate(0)
            f.write(b"Subject: changed\n\nnothing here\n")
        try:
            if len(target) >= 3:
                self.assertIn(uid, self.search(m, ["BODY"], target))
        finally:
            with open(path, "wb") as f:
                f.write(old)
        self.assertTrue(word)

    def message_path(self, m, uid):
        cid = self.uids[uid]["known"]["x-corpus-id"]
        for sub in ("cur", "new"):
            d = os.path.join(self.md, sub)
            for n in os.listdir(d):
                with open(os.path.join(d, n), "rb") as f:
                    if b"X-Corpus-Id: %s\n" % cid.encode() in f.read():
                        return os.path.join(d, n)
        self.fail("no file for uid %d" % uid)

    def damage_and_check(self, damage, label):
        m = self.login()
        self.search(m, ["BODY"], "warm-up")     # builds the index
        self.close(m)
        damage()
        m = self.login()
        self.check_all(m, self.needles()[::3], label)
        self.assertEqual(self.indexed(), len(self.uids))

    def test_index_deleted(self):
        def damage():
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(self.db + suffix):
                    os.unlink(self.db + suffix)
        self.damage_and_check(damage, "deleted: ")

    def test_index_truncated(self):
        def damage():
            os.truncate(self.db, os.path.getsize(self.db) // 3)
        self.damage_and_check(damage, "truncated: ")

    def test_index_garbled(self):
        """Garbage over the file's first pages (its header and schema),
        and a file that is not a database at all. (Garbage in the
        middle of FTS5's data pages is not detected: SQLite keeps no
        page checksums; see DESIGN.md.)"""
        def damage():
            with open(self.db, "r+b") as f:
                f.write(os.urandom(3 * 4096))
        self.damage_and_check(damage, "garbled: ")

        def damage2():
            with open(self.db, "wb") as f:
                f.write(b"not a database\n" * 1000)
        self.damage_and_check(damage2, "foreign: ")

    def test_killed_while_indexing(self):
        """imapd SIGKILLed at random moments of its catch-up (a
        pre-authenticated imapd on a pipe, as the owner)."""
        cmd = [harness.libexec("imapd"), "-m", self.md, "-u", "bob"]
        if self.inst.user is not None:
            cmd = ["setpriv", "--reuid=%d" % self.inst.user.pw_uid,
                   "--regid=%d" % self.inst.user.pw_gid,
                   "--clear-groups"] + cmd
        for rnd in range(4):
            for suffix in ("", "-wal", "-shm"):
                if rnd % 2 == 0 and os.path.exists(self.db + suffix):
                    os.unlink(self.db + suffix)
            p = subprocess.Popen(cmd, stdin=subprocess.PIPE,
                                 stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
            p.stdin.write(b"a SELECT INBOX\r\nb SEARCH BODY qqqq\r\n")
            p.stdin.flush()
            time.sleep(self.rnd.uniform(0.05, 0.6))
            p.send_signal(signal.SIGKILL)
            p.wait(timeout=30)
            p.stdin.close()
        m = self.login()
        self.check_all(m, self.needles()[::3], "killed: ")
        self.assertEqual(self.indexed(), len(self.uids))

    def test_mailbox_rebuild(self):
        m = self.login()
        self.close(m)
        r = self.inst.correo("mailbox", USER, "rebuild", check=True)
        self.assertIn("full-text index rebuilt, %d messages"
                      % len(self.uids), r.stdout + r.stderr)
        self.assertEqual(self.indexed(), len(self.uids))
        m = self.login()
        self.uids = self.map_uids(m)        # a new UIDVALIDITY maybe
        self.check_all(m, self.needles()[::4], "rebuilt: ")


if __name__ == "__main__":
    harness.main()
