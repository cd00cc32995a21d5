/*
 * imapd_park: the mail process's side of parking idle sessions
 * (imapd.h; the park process itself is imapd_parkd.c, doc/DESIGN.md
 * "Idle IMAP sessions").
 *
 *   imapd_park_prepare  in the spawner's child, as the user, before the
 *                       exec: connect to the user's park process
 *                       (Maildir/correo-park), starting it if none runs;
 *                       the connection becomes LOGIN_MAIL_PARK_FD
 *   imapd_park_idle     in IDLE, after imap_hibernate_timeout without
 *                       input or change: send the state, the client and
 *                       the anvil hold over that connection, wait for
 *                       "ok", and let the process exit
 *   imapd_resume_main   imapd --mail-resume, exec'd by the park process:
 *                       read the state, reopen the folder, rebuild the
 *                       view, report what changed, go on
 *
 * The park process writes one line first on every session connection:
 * "hello DELAY_MS\n", or for a session it resumes "resume DELAY_MS
 * VERBOSE LOG LEN\n" USER "\n" MAILDIR "\n" and LEN bytes of state. A
 * session parks with fdpass 'C' (the client), then 'H' (its anvil
 * hold) or 'N' (none), then "park LEN\n" and LEN bytes of state; the
 * park answers "ok\n" once it watches the folder, and the session may
 * then send "W" (a change came while it was handing over) before
 * it exits.
 *
 * SECURITY: runs as the mailbox owner. The park connection is made
 * before the mail process's sandbox (which allows no new socket), by
 * the spawner's child already running as the user, in the user's own
 * Maildir; the park process started there runs as the user too. A
 * state is read from the user's own park process and parsed strictly
 * (imap_park_state.c); user and Maildir come from the park, which had
 * them from the spawner, never from a state.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cfg.h"
#include "clean_env.h"
#include "ev.h"
#include "fdpass.h"
#include "imap_park_state.h"
#include "imapd.h"
#include "login_spawn.h"
#include "mem.h"
#include "msg.h"
#include "sandbox.h"
#include "str.h"

#define PARK_SOCKET "correo-park"
#define PARK_LOCK "correo-park.lock"
#define PARK_ACK_TIMEOUT 5000	/* ms */

/* Whether fd 3 was an anvil hold when the process started (later it
 * may be any file the session opened). */
static bool imapd_park_has_hold;

void imapd_park_note_hold(void)
{
	imapd_park_has_hold = fcntl(LOGIN_MAIL_HOLD_FD, F_GETFD) >= 0;
}

static int imapd_park_connect(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memcpy(sun.sun_path, PARK_SOCKET, sizeof(PARK_SOCKET));
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
		return fd;
	if (fd >= 0)
		close(fd);
	return -1;
}

/* Start the park process on a fresh socket; the caller holds the lock
 * and is in the Maildir. The listening socket is made here, so the
 * caller can connect at once. */
static bool imapd_park_start(const char *user, const char *mailbox,
			     const char *exe, char **envp, long delay_ms)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	/* The configuration directory only names the instance in ps (as
	 * every daemon's -c does); the park process reads no file. */
	const char *conf = cfg_main != NULL ?
			   cfg_str(cfg_main, "config_directory") : "-";
	char *argv[] = { (char *)"imap-park", (char *)"--park", (char *)"-c",
			 (char *)conf, NULL };
	char park_exe[PATH_MAX];
	const char *slash = strrchr(exe, '/');
	struct str params = STR_INIT;
	int l, p[2], status;
	mode_t old;
	pid_t pid;

	/* imap-park beside imapd (daemon_directory). */
	if (slash == NULL || !str_snprintf(park_exe, sizeof(park_exe),
					   "%.*s/imap-park",
					   (int)(slash - exe), exe))
		return false;
	memcpy(sun.sun_path, PARK_SOCKET, sizeof(PARK_SOCKET));
	(void)unlink(PARK_SOCKET);	/* stale: nobody answered on it */
	l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0)
		return false;
	old = umask(077);
	if (bind(l, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    listen(l, 1024) < 0) {
		umask(old);
		close(l);
		return false;
	}
	umask(old);
	if (pipe2(p, O_CLOEXEC) < 0) {
		close(l);
		return false;
	}
	pid = fork();
	if (pid == 0) {
		/* Twice, so the park is nobody's child but init's (or
		 * the nearest subreaper's). */
		if (fork() != 0)
			_exit(0);
		(void)setsid();
		if (dup2(l, 0) < 0 || dup2(p[0], 1) < 0)
			_exit(71);
		/* Not the session's anvil hold, nor anything else. */
		(void)close_range(3, ~0U, 0);
		execve(park_exe, argv, envp);
		_exit(126);
	}
	close(p[0]);
	close(l);
	if (pid < 0) {
		close(p[1]);
		return false;
	}
	(void)waitpid(pid, &status, 0);
	str_printf(&params, "%s\n%s\n%s\n%ld\n%s\n%d\n%d\n", user, mailbox,
		   exe, delay_ms, msg_file_fd() >= 0 ? "file" : "syslog",
		   msg_verbose, sandbox_enabled() ? 1 : 0);
	/* A few hundred bytes: the pipe takes them without waiting. */
	if (write(p[1], params.data, params.len) != (ssize_t)params.len)
		msg_warn("user=<%s>: park parameters: %m", user);
	close(p[1]);
	str_release(&params);
	return true;
}

void imapd_park_prepare(const char *user, const char *mailbox,
			const char *exe, char **envp)
{
	long delay = cfg_main != NULL ?
		     cfg_time(cfg_main, "imap_hibernate_timeout") : 0;
	int dfd, lock, fd = -1;

	if (delay <= 0 || strchr(user, '\n') != NULL ||
	    strchr(mailbox, '\n') != NULL || strchr(exe, '\n') != NULL)
		return;
	dfd = open(mailbox, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fchdir(dfd) < 0) {
		if (dfd >= 0)
			close(dfd);
		return;
	}
	close(dfd);
	lock = open(PARK_LOCK, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
		    0600);
	if (lock < 0 || flock(lock, LOCK_EX) < 0) {
		if (lock >= 0)
			close(lock);
		return;
	}
	fd = imapd_park_connect();
	if (fd < 0 && imapd_park_start(user, mailbox, exe, envp,
					delay * 1000))
		fd = imapd_park_connect();
	close(lock);		/* and its flock */
	if (fd < 0)
		return;
	if (fd != LOGIN_MAIL_PARK_FD) {
		if (dup2(fd, LOGIN_MAIL_PARK_FD) < 0)
			msg_warn("user=<%s>: park connection: %m", user);
		close(fd);
	} else {
		(void)fcntl(fd, F_SETFD, 0);
	}
}

/* Read one line from the park connection within timeout_ms. */
static bool imapd_park_line(int fd, struct str *line, int timeout_ms)
{
	str_clear(line);
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		char c;
		ssize_t n;

		if (poll(&p, 1, timeout_ms) <= 0)
			return false;
		n = read(fd, &c, 1);
		if (n <= 0)
			return false;
		if (c == '\n')
			return true;
		if (line->len > 4096)
			return false;
		str_append_c(line, c);
	}
}

/* Read exactly len bytes within timeout_ms per read. */
static bool imapd_park_read(int fd, struct str *out, size_t len,
			    int timeout_ms)
{
	str_clear(out);
	str_reserve(out, len);
	while (out->len < len) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, timeout_ms) <= 0)
			return false;
		n = read(fd, out->data + out->len, len - out->len);
		if (n <= 0)
			return false;
		out->len += (size_t)n;
		out->data[out->len] = '\0';
	}
	return true;
}

/* The park's hello ("hello DELAY_MS"), once it is there: false if the
 * park process is gone or said something else. */
static bool imapd_park_hello(struct imapd *s)
{
	struct str line = STR_INIT;
	long v;
	bool ok = imapd_park_line(s->park_fd, &line, 1000) &&
		  str_has_prefix(str_c(&line), "hello ") &&
		  str_to_long(str_c(&line) + 6, 0, 86400000, &v);

	s->park_delay = ok ? (int)v : -1;
	str_release(&line);
	return ok;
}

/* Wait in IDLE until the park delay has passed with nothing from the
 * client and no change: true if it has. The park's hello (a session
 * the spawner started reads it at its first IDLE) is waited for in the
 * same poll, so the client is never kept waiting for it. */
static bool imapd_park_wait(struct imapd *s, int watch_fd)
{
	long long start = ev_now_ms(), now;

	for (;;) {
		struct pollfd p[3] = {
			{ .fd = s->in_fd, .events = POLLIN },
			{ .fd = watch_fd, .events = POLLIN },
			{ .fd = s->park_fd, .events = POLLIN },
		};
		bool hello = s->park_delay == -2;
		long long wait;
		int r;

		now = ev_now_ms();
		if (hello && now - start > 10000)
			return false;	/* no park process after all */
		wait = hello ? 10000 - (now - start) :
		       s->park_delay - (now - start);
		if (!hello && wait <= 0)
			return true;
		r = poll(p, hello ? 3 : 2, (int)wait);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || (p[0].revents | p[1].revents) != 0)
			return false;	/* input or a change: not now */
		if (hello && p[2].revents != 0 && !imapd_park_hello(s))
			return false;
	}
}

/* The state of the session, which imapd_sync() just made current. */
static void imapd_park_state_of(struct imapd *s, const char *tag,
				struct imap_park_state *st)
{
	imap_park_state_init(st);
	if (s->folder != NULL) {
		st->mailbox = mem_strdup(s->mailbox);
		st->uidvalidity = s->folder->uidvalidity;
		for (size_t i = 0; i < s->nview; i++) {
			struct imapd_view v;

			imapd_view_entry(s, i, &v);	/* shared or not */
			imap_seqset_add(&st->uids, v.uid);
			if (v.recent)
				imap_seqset_add(&st->recent, v.uid);
		}
		st->modseq = s->view_modseq;
		st->keywords = s->announced_keywords;
		imap_seqset_merge(&st->saved, &s->saved);
		imap_seqset_normalise(&st->saved);
	}
	st->flags = (s->rev2 ? IMAP_PARK_REV2 : 0) |
		    (s->utf8 ? IMAP_PARK_UTF8 : 0) |
		    (s->utf8_accept ? IMAP_PARK_UTF8_ACCEPT : 0) |
		    (s->condstore ? IMAP_PARK_CONDSTORE : 0) |
		    (s->qresync ? IMAP_PARK_QRESYNC : 0) |
		    (s->readonly && s->folder != NULL ?
		     IMAP_PARK_READONLY : 0) |
		    (s->tls ? IMAP_PARK_TLS : 0);
	st->idle_tag = tag != NULL ? mem_strdup(tag) : NULL;
	st->quota = s->quota_rule != NULL ? mem_strdup(s->quota_rule) : NULL;
	st->addr = s->addr != NULL ? mem_strdup(s->addr) : NULL;
	st->in_bytes = s->in_bytes;
	st->out_bytes = s->out_bytes;
	st->deleted = s->deleted;
	st->expunged = s->expunged;
	str_append_n(&st->input, s->in.data, s->in.len);
}

/* Can the session be parked now, with nothing held back? */
static bool imapd_park_possible(const struct imapd *s)
{
	/* NOTIFY's state (RFC 5465) is not in a park state: such a
	 * session stays in its process, as a COMPRESS one does. */
	if (s->park_fd < 0 || s->zlib != NULL || s->ncontexts > 0 ||
	    s->notify != NULL || s->in.len > 0 || s->exists_changed)
		return false;
	for (size_t i = 0; i < s->nview && !s->view_shared; i++)
		if (s->view[i].expunged || s->view[i].flags_changed)
			return false;
	return true;
}

static bool imapd_park_send(struct imapd *s, const char *tag)
{
	struct imap_park_state st;
	struct str data = STR_INIT, line = STR_INIT;
	int hold = imapd_park_has_hold ? LOGIN_MAIL_HOLD_FD : -1;
	bool ok;

	imapd_park_state_of(s, tag, &st);
	imap_park_state_write(&st, &line);
	str_printf(&data, "park %zu\n", line.len);
	str_append_n(&data, line.data, line.len);
	imap_park_state_release(&st);
	ok = fdpass_send(s->park_fd, 'C', s->in_fd) &&
	     fdpass_send(s->park_fd, hold >= 0 ? 'H' : 'N', hold);
	for (size_t off = 0; ok && off < data.len;) {
		ssize_t n = write(s->park_fd, data.data + off,
				  data.len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			ok = false;
		else
			off += (size_t)n;
	}
	ok = ok && imapd_park_line(s->park_fd, &line, PARK_ACK_TIMEOUT) &&
	     str_equals(&line, "ok");
	str_release(&data);
	str_release(&line);
	return ok;
}

bool imapd_park_idle(struct imapd *s, const char *tag, int watch_fd)
{
	struct pollfd p[2] = {
		{ .fd = s->in_fd, .events = POLLIN },
		{ .fd = watch_fd, .events = POLLIN },
	};
	char buf[4096];

	/* Without an inotify descriptor of its own (the user's
	 * fs.inotify.max_user_instances reached) the session still
	 * parks: the park process watches. */
	if (s->park_fd < 0 || s->park_delay == -1 || !imapd_park_possible(s))
		return false;
	if (!imapd_park_wait(s, watch_fd)) {
		if (s->park_delay == -1) {
			close(s->park_fd);	/* no park for this session */
			s->park_fd = -1;
		}
		return false;	/* input or a change: IDLE goes on here */
	}
	if (s->folder != NULL) {
		imapd_sync(s, IMAPD_SYNC_ALL);
		if (!imapd_flush(s))
			return false;
	}
	/* Our own changes are queued by now: what comes after this is
	 * someone else's, and wakes the parked session. */
	while (watch_fd >= 0 && read(watch_fd, buf, sizeof(buf)) > 0)
		;
	if (!imapd_park_possible(s))
		return false;
	if (!imapd_park_send(s, tag)) {
		msg_warn("%s: park process did not take the session",
			 s->user);
		close(s->park_fd);
		s->park_fd = -1;
		return false;
	}
	p[0].fd = watch_fd;
	if (watch_fd >= 0 && poll(p, 1, 0) > 0 &&
	    write(s->park_fd, "W", 1) != 1)
		msg_warn("%s: wake the parked session: %m", s->user);
	msg_debug("imap(%s)<%d>: parked", s->user, (int)getpid());
	s->parked = true;
	s->logout = true;
	return true;
}

bool imapd_park_quiet(struct imapd *s)
{
	if (s->park_fd < 0 || s->park_delay == -1 || s->logout ||
	    !imapd_park_possible(s))
		return false;
	if (!imapd_park_wait(s, -1)) {
		if (s->park_delay == -1) {
			close(s->park_fd);
			s->park_fd = -1;
		}
		return false;
	}
	/* No sync: outside a command nothing may be said (no EXPUNGE,
	 * RFC 3501 7.4.1); what changes meanwhile is reported after the
	 * next command, by the imapd that resumes it. */
	if (!imapd_park_send(s, NULL)) {
		msg_warn("%s: park process did not take the session",
			 s->user);
		close(s->park_fd);
		s->park_fd = -1;
		return false;
	}
	msg_debug("imap(%s)<%d>: parked (quiet)", s->user, (int)getpid());
	s->parked = true;
	return true;
}

/* ---- a session resumed by the park process ---- */

/* The view as it was, with what changed meanwhile marked for the
 * sync that follows. False (and a BYE) if the folder is not the one
 * the client knows any more. */
static bool imapd_resume_view(struct imapd *s,
			      const struct imap_park_state *st)
{
	struct str dir = STR_INIT, error = STR_INIT;
	const char *why = NULL;
	struct imap_seqset_iter it;
	uint32_t uid, last = 0;
	bool ok = false;

	if (!imapd_mailbox_dir(s, st->mailbox, &dir, &why))
		goto out;
	s->folder = store_folder_open(str_c(&dir), false, &error);
	if (s->folder == NULL || s->folder->uidvalidity != st->uidvalidity)
		goto out;
	s->mailbox = mem_strdup(st->mailbox);
	s->readonly = (st->flags & IMAP_PARK_READONLY) != 0;
	imap_seqset_iter_init(&it, &st->uids);
	while (imap_seqset_iter_next(&it, &uid)) {
		const struct store_msg *m = store_lookup(s->folder, uid, NULL);
		struct store_msg gone = { .uid = uid };
		struct imapd_view *v = imapd_view_add(s, m != NULL ? m :
						      &gone);

		v->expunged = m == NULL;
		v->flags_changed = m != NULL && m->modseq > st->modseq;
		v->recent = imap_seqset_contains(&st->recent, uid);
		last = uid;
	}
	for (size_t i = 0; i < s->folder->count; i++) {
		const struct store_msg *m = &s->folder->msgs[i];
		struct imapd_view *v;

		if (m->uid <= last)
			continue;
		v = imapd_view_add(s, m);
		v->recent = s->readonly && (m->in_new ||
					    (m->flags & STORE_F_RECENT));
		s->exists_changed = true;
	}
	if (s->exists_changed)
		imapd_claim_recent(s);
	s->folder->nchanges = 0;
	s->announced_keywords = st->keywords;
	s->view_modseq = st->modseq;
	imap_seqset_merge(&s->saved, &st->saved);
	ok = true;
out:
	if (!ok)
		msg_info("imap(%s): resume in %s: %s", s->user, st->mailbox,
			 s->folder == NULL ? (why != NULL ? why :
					      str_c(&error)) :
			 "UIDVALIDITY changed");
	str_release(&dir);
	str_release(&error);
	return ok;
}

/* Go on with the session; returns at its end. */
static void imapd_resume_session(struct imapd *s,
				 const struct imap_park_state *st)
{
	unsigned f = st->flags;

	s->rev2 = (f & IMAP_PARK_REV2) != 0;
	s->utf8 = (f & IMAP_PARK_UTF8) != 0;
	s->utf8_accept = (f & IMAP_PARK_UTF8_ACCEPT) != 0;
	s->condstore = (f & IMAP_PARK_CONDSTORE) != 0;
	s->qresync = (f & IMAP_PARK_QRESYNC) != 0;
	s->tls = (f & IMAP_PARK_TLS) != 0;
	s->in_bytes = st->in_bytes;
	s->out_bytes = st->out_bytes;
	s->deleted = st->deleted;
	s->expunged = st->expunged;
	str_append_n(&s->in, st->input.data, st->input.len);
	if (st->mailbox != NULL && !imapd_resume_view(s, st)) {
		imapd_printf(s, "* BYE Selected mailbox was deleted, have "
			     "to disconnect.\r\n");
		(void)imapd_flush(s);
		return;
	}
	if (st->idle_tag != NULL) {
		/* Still in IDLE: what changed now, then the loop; its end
		 * is the IDLE command's end (imapd_command's). */
		if (s->folder != NULL)
			imapd_sync(s, IMAPD_SYNC_ALL);
		(void)imapd_flush(s);
		str_clear(&s->tagged);
		imapd_idle_loop(s, st->idle_tag);
		if (s->parked)
			return;
		if (s->folder != NULL && !s->logout)
			imapd_sync(s, IMAPD_SYNC_ALL);
		imapd_append(s, s->tagged.data == NULL ? "" : s->tagged.data,
			     s->tagged.len);
		str_clear(&s->tagged);
	}
	if (!s->logout)
		imapd_serve(s, NULL);
}

void imapd_resume_main(void)
{
	struct str line = STR_INIT, user = STR_INIT, maildir = STR_INIT;
	struct str data = STR_INIT;
	struct imap_park_state st;
	struct imapd s;
	const char *error;
	char log[16];
	long delay, len;
	int verbose;

	msg_set_name("imapd");
	imapd_park_note_hold();
	if (!imapd_park_line(LOGIN_MAIL_PARK_FD, &line, 10000) ||
	    sscanf(str_c(&line), "resume %ld %d %15s %ld", &delay, &verbose,
		   log, &len) != 4 || len < 0 || len > IMAP_PARK_STATE_MAX ||
	    !imapd_park_line(LOGIN_MAIL_PARK_FD, &user, 10000) ||
	    !imapd_park_line(LOGIN_MAIL_PARK_FD, &maildir, 10000) ||
	    !imapd_park_read(LOGIN_MAIL_PARK_FD, &data, (size_t)len, 10000))
		_exit(75);
	std_fds_reserve();	/* before syslog's socket */
	if (strcmp(log, "file") == 0)
		msg_open_fd(LOGIN_MAIL_LOG_FD);
	else
		msg_open_syslog();
	msg_set_verbose(verbose);
	if (geteuid() == 0 || getuid() == 0)
		msg_fatal("user=<%s>: a mail process never runs as root",
			  str_c(&user));
	if (!imap_park_state_parse(data.data, data.len, &st, &error))
		msg_fatal("user=<%s>: resume: %s", str_c(&user), error);
	if (chdir(str_c(&maildir)) < 0)
		msg_fatal("user=<%s>: chdir %s: %m", str_c(&user),
			  str_c(&maildir));
	if (!sandbox_apply(&sandbox_imapd_mail, &error))
		msg_fatal("user=<%s>: sandbox: %s", str_c(&user), error);
	signal(SIGPIPE, SIG_IGN);
	imapd_init(&s, LOGIN_MAIL_CLIENT_FD, LOGIN_MAIL_CLIENT_FD,
		   str_c(&user), ".");
	imapd_quota_init(&s, st.quota);
	s.quota_rule = st.quota != NULL ? mem_strdup(st.quota) : NULL;
	s.addr = st.addr != NULL ? mem_strdup(st.addr) : NULL;
	s.park_fd = LOGIN_MAIL_PARK_FD;
	s.park_delay = (int)delay;
	msg_debug("imap(%s)<%d>: resumed", s.user, (int)getpid());
	imapd_resume_session(&s, &st);
	(void)imapd_flush(&s);
	if (!s.parked)
		msg_info("imap(%s)<%d>: Logged out in=%llu out=%llu "
			 "deleted=%u expunged=%u", s.user, (int)getpid(),
			 (unsigned long long)s.in_bytes,
			 (unsigned long long)s.out_bytes, s.deleted,
			 s.expunged);
	imap_park_state_release(&st);
	imapd_deinit(&s);
	str_release(&line);
	str_release(&data);
	exit(0);
}
