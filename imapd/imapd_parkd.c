/*
 * imapd_parkd: the park process of one mailbox owner (imapd --park;
 * imapd.h, doc/DESIGN.md "Idle IMAP sessions", correo-imapd(8)).
 *
 * It holds that user's idle IMAP connections, all of them in one epoll
 * loop, without reading a byte from any: a parked client is a socket,
 * its anvil hold (so mail_max_userip_connections keeps counting it)
 * and the few hundred bytes of its state (imap_park_state.h). For a
 * parked IDLE it watches the folder with inotify (new/, cur/ and the
 * index files). When the folder has only gained messages (after 20 ms
 * for a burst to settle) it tells the client itself, "* N EXISTS" as an
 * imapd would, and keeps it (imap_park_push.c). When the client sends
 * something, hangs up, or the folder changed otherwise, it forks and
 * execs imapd --mail-resume afresh with the client, the hold and a new
 * session connection on which it writes the state; that imapd reports
 * what changed and goes on. An IDLE parked for 30 minutes is ended with
 * the BYE an imapd would send.
 *
 * It also keeps a connection from every live imapd of the user (made
 * by the spawner's child, or the one it made when resuming), so it
 * knows when none is left: with no session and no parked client for
 * the park delay ($imap_hibernate_timeout) it takes the start lock
 * (correo-park.lock), checks that no connection is waiting, removes
 * its socket and exits. A login that comes later starts a new one.
 *
 * SECURITY: runs as the mailbox owner, started by that user's own
 * spawner child, in that user's Maildir; its socket there is mode 0600
 * and it only ever holds that user's clients. Under its sandbox it can
 * write only in the Maildir (its socket), watch it, and fork and exec
 * programs (the imapd binary; Landlock allows executing only in its
 * directory and the system's libraries); it cannot open a socket. It
 * never reads a client's bytes, so a client cannot talk to it. States
 * come from the user's own sessions and are parsed strictly before use.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ev.h"
#include "fdpass.h"
#include "imap_mailbox.h"
#include "imap_park_push.h"
#include "imap_park_state.h"
#include "imapd.h"
#include "login_spawn.h"
#include "mem.h"
#include "msg.h"
#include "sandbox.h"
#include "store.h"
#include "str.h"

#define PARK_SOCKET "correo-park"
#define PARK_LOCK "correo-park.lock"
#define PARK_SETTLE_MS 20

extern char **environ;

enum park_kind { PARK_LISTEN, PARK_NOTIFY, PARK_SESSION, PARK_CLIENT };

struct park_item {
	enum park_kind kind;
};

/* A live imapd of the user. */
struct park_session {
	struct park_item item;
	int fd;
	int stage;		/* 0: 'C' or 'W', 1: 'H'/'N', 2: state */
	int client, hold;	/* being received */
	struct str in, out;
	uint64_t last;		/* id of the client it parked last */
};

/* A parked client. */
struct park_client {
	struct park_item item;
	uint64_t id;
	int fd, hold;
	struct str state;
	bool idle;
	int wd[3];		/* folder, new/, cur/ (-1: none) */
	char *dir;		/* the folder, when polled (no inotify) */
	long long stamp;	/* its change stamp when last polled */
	long long due;		/* resume at (ms; 0: not due) */
	bool input;		/* due for the client's input or hang-up */
	bool readonly;		/* its mailbox was EXAMINEd */
	uint64_t told;		/* folder stamp when last told (0: never) */
	long long deadline;	/* BYE at (ms) */
};

static struct {
	const char *user, *maildir, *exe;
	long delay;
	int verbose;
	bool file_log, sandbox;
	int epoll, listen, notify, lock, devnull;
	struct park_item listen_item, notify_item;
	struct park_session **sessions;
	size_t nsessions;
	struct park_client **clients;
	size_t nclients;
	uint64_t next_id;
} park;

static void park_epoll(int op, int fd, uint32_t events, void *item)
{
	struct epoll_event ev = { .events = events, .data.ptr = item };

	if (epoll_ctl(park.epoll, op, fd, &ev) < 0 && op != EPOLL_CTL_DEL)
		msg_warn("park: epoll_ctl: %m");
}

/* ---- sessions ---- */

static struct park_session *park_session_add(int fd)
{
	struct park_session *s = mem_alloc(sizeof(*s));

	s->item.kind = PARK_SESSION;
	s->fd = fd;
	s->client = s->hold = -1;
	park.sessions = mem_array_realloc(park.sessions, park.nsessions + 1,
					  sizeof(*park.sessions));
	park.sessions[park.nsessions++] = s;
	park_epoll(EPOLL_CTL_ADD, fd, EPOLLIN, s);
	return s;
}

static void park_session_free(struct park_session *s)
{
	for (size_t i = 0; i < park.nsessions; i++)
		if (park.sessions[i] == s)
			park.sessions[i] = park.sessions[--park.nsessions];
	park_epoll(EPOLL_CTL_DEL, s->fd, 0, NULL);
	close(s->fd);
	if (s->client >= 0)
		close(s->client);
	if (s->hold >= 0)
		close(s->hold);
	str_release(&s->in);
	str_release(&s->out);
	mem_free(s);
}

/* Write what is queued; false if the session is gone. */
static bool park_session_flush(struct park_session *s)
{
	while (s->out.len > 0) {
		ssize_t n = write(s->fd, s->out.data, s->out.len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			park_epoll(EPOLL_CTL_MOD, s->fd, EPOLLIN | EPOLLOUT, s);
			return true;
		}
		if (n <= 0)
			return false;
		str_consume(&s->out, (size_t)n);
	}
	park_epoll(EPOLL_CTL_MOD, s->fd, EPOLLIN, s);
	return true;
}

/* ---- parked clients ---- */

static bool park_wd_used(int wd, const struct park_client *except)
{
	for (size_t i = 0; i < park.nclients; i++)
		for (int j = 0; j < 3; j++)
			if (park.clients[i] != except &&
			    park.clients[i]->wd[j] == wd)
				return true;
	return false;
}

static void park_client_free(struct park_client *c, bool close_fds)
{
	for (int j = 0; j < 3; j++)
		if (c->wd[j] >= 0 && !park_wd_used(c->wd[j], c))
			(void)inotify_rm_watch(park.notify, c->wd[j]);
	for (size_t i = 0; i < park.nclients; i++)
		if (park.clients[i] == c)
			park.clients[i] = park.clients[--park.nclients];
	park_epoll(EPOLL_CTL_DEL, c->fd, 0, NULL);
	if (close_fds) {
		close(c->fd);
		if (c->hold >= 0)
			close(c->hold);
	}
	str_release(&c->state);
	mem_free(c->dir);
	mem_free(c);
}

/* Without inotify: a stamp of what a change touches (new/ and cur/
 * entries, the index log), compared once a second. */
static long long park_stamp(const char *dir)
{
	static const char *const subs[] = { "/new", "/cur",
					     "/correo-index.log" };
	struct str path = STR_INIT;
	long long h = 0;

	for (int j = 0; j < 3; j++) {
		struct stat st;

		str_clear(&path);
		str_printf(&path, "%s%s", dir, subs[j]);
		if (stat(str_c(&path), &st) == 0)
			h = h * 1000003 + (long long)st.st_mtim.tv_sec *
			    1000000000 + st.st_mtim.tv_nsec + st.st_size +
			    (long long)st.st_ino;
	}
	str_release(&path);
	return h;
}

/* The folder of mailbox, relative to the Maildir, into dir. */
static bool park_folder_dir(const char *mailbox, struct str *dir)
{
	const char *error;

	str_append(dir, ".");
	if (imap_mailbox_is_inbox(mailbox))
		return true;
	str_append_c(dir, '/');
	return imap_mailbox_to_dir(mailbox, dir, &error);
}

static void park_watch(struct park_client *c, const char *mailbox)
{
	static const char *const subs[] = { "", "/new", "/cur" };
	struct str dir = STR_INIT, path = STR_INIT;

	if (!park_folder_dir(mailbox, &dir))
		goto out;
	if (park.notify < 0) {
		c->dir = mem_strdup(str_c(&dir));
		c->stamp = park_stamp(c->dir);
		goto out;
	}
	for (int j = 0; j < 3; j++) {
		str_clear(&path);
		str_printf(&path, "%s%s", str_c(&dir), subs[j]);
		c->wd[j] = inotify_add_watch(park.notify, str_c(&path),
					     IN_CREATE | IN_MOVED_TO |
					     IN_MOVED_FROM | IN_DELETE |
					     IN_MODIFY);
		if (c->wd[j] < 0)
			msg_warn("park: inotify %s: %m", str_c(&path));
	}
out:
	str_release(&dir);
	str_release(&path);
}

/* A complete park request from s: take the client. */
static void park_take(struct park_session *s, const char *state, size_t len)
{
	struct imap_park_state st;
	struct park_client *c;
	const char *error;

	if (!imap_park_state_parse(state, len, &st, &error)) {
		/* No "ok": the session keeps its client. */
		msg_warn("park: user=<%s>: %s", park.user, error);
		close(s->client);
		if (s->hold >= 0)
			close(s->hold);
		s->client = s->hold = -1;
		return;
	}
	c = mem_alloc(sizeof(*c));
	c->item.kind = PARK_CLIENT;
	c->id = ++park.next_id;
	c->fd = s->client;
	c->hold = s->hold;
	s->client = s->hold = -1;
	c->wd[0] = c->wd[1] = c->wd[2] = -1;
	str_append_n(&c->state, state, len);
	c->idle = st.idle_tag != NULL;
	c->readonly = (st.flags & IMAP_PARK_READONLY) != 0;
	c->deadline = ev_now_ms() + (long long)(c->idle ? IMAPD_IDLE_MAX :
					       IMAPD_TIMEOUT) * 1000;
	if (c->idle && st.mailbox != NULL)
		park_watch(c, st.mailbox);
	imap_park_state_release(&st);
	park.clients = mem_array_realloc(park.clients, park.nclients + 1,
					 sizeof(*park.clients));
	park.clients[park.nclients++] = c;
	park_epoll(EPOLL_CTL_ADD, c->fd, EPOLLIN | EPOLLRDHUP, c);
	s->last = c->id;
	str_append(&s->out, "ok\n");
}

static struct park_client *park_client_by_id(uint64_t id)
{
	for (size_t i = 0; i < park.nclients; i++)
		if (park.clients[i]->id == id)
			return park.clients[i];
	return NULL;
}

/* Read what the session sent; false when it is gone. */
static bool park_session_input(struct park_session *s)
{
	for (;;) {
		char mark, buf[16384];
		int fd = -1, r;
		ssize_t n;

		if (s->stage < 2) {
			r = fdpass_recv(s->fd, &mark, &fd);
			if (r < 0 && (errno == EAGAIN || errno == EINTR))
				return true;
			if (r <= 0)
				return false;
			if (s->stage == 0 && mark == 'W' && fd < 0) {
				struct park_client *c =
					park_client_by_id(s->last);

				if (c != NULL && c->due == 0)
					c->due = ev_now_ms() + PARK_SETTLE_MS;
				continue;
			}
			if (s->stage == 0 && mark == 'C' && fd >= 0) {
				s->client = fd;
				s->stage = 1;
				continue;
			}
			if (s->stage == 1 && (mark == 'H' || mark == 'N') &&
			    (fd >= 0) == (mark == 'H')) {
				s->hold = fd;
				s->stage = 2;
				continue;
			}
			if (fd >= 0)
				close(fd);
			return false;
		}
		n = read(s->fd, buf, sizeof(buf));
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return true;
		if (n <= 0)
			return false;
		str_append_n(&s->in, buf, (size_t)n);
		const char *nl = memchr(s->in.data, '\n', s->in.len);
		unsigned long long len;
		size_t head;

		if (nl == NULL) {
			if (s->in.len > 64)
				return false;
			continue;
		}
		head = (size_t)(nl - s->in.data) + 1;
		if (sscanf(s->in.data, "park %llu\n", &len) != 1 ||
		    len > IMAP_PARK_STATE_MAX)
			return false;
		if (s->in.len < head + len)
			continue;
		if (s->in.len > head + len)
			return false;	/* nothing may follow before "ok" */
		park_take(s, s->in.data + head, (size_t)len);
		str_clear(&s->in);
		s->stage = 0;
		return park_session_flush(s);
	}
}

/* ---- resuming ---- */

/* In the child: the exec contract of imapd --mail-resume. */
static void park_exec(int client, int hold, int conn)
{
	char *argv[] = { (char *)"imapd", (char *)"--mail-resume", NULL };
	int c2 = fcntl(client, F_DUPFD, 10), n2 = fcntl(park.devnull,
							F_DUPFD, 10);
	int h2 = hold >= 0 ? fcntl(hold, F_DUPFD, 10) : -1;
	int s2 = fcntl(conn, F_DUPFD, 10);
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGCHLD, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	if (c2 < 0 || n2 < 0 || s2 < 0 || (hold >= 0 && h2 < 0) ||
	    dup2(c2, LOGIN_MAIL_CLIENT_FD) < 0 ||
	    dup2(n2, LOGIN_MAIL_PARAMS_FD) < 0 ||
	    (!park.file_log && dup2(n2, LOGIN_MAIL_LOG_FD) < 0) ||
	    (h2 >= 0 && dup2(h2, LOGIN_MAIL_HOLD_FD) < 0) ||
	    dup2(s2, LOGIN_MAIL_PARK_FD) < 0)
		_exit(71);
	if (h2 < 0)
		close(LOGIN_MAIL_HOLD_FD);
	(void)close_range(LOGIN_MAIL_PARK_FD + 1, ~0U, 0);
	execve(park.exe, argv, environ);
	_exit(126);
}

static void park_resume(struct park_client *c)
{
	struct park_session *s;
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		msg_warn("park: socketpair: %m");
		c->due = ev_now_ms() + 1000;
		return;
	}
	pid = fork();
	if (pid == 0)
		park_exec(c->fd, c->hold, sv[1]);
	close(sv[1]);
	if (pid < 0) {
		msg_warn("park: fork: %m");
		close(sv[0]);
		c->due = ev_now_ms() + 1000;
		return;
	}
	(void)fcntl(sv[0], F_SETFL, O_NONBLOCK);
	s = park_session_add(sv[0]);
	str_printf(&s->out, "resume %ld %d %s %zu\n%s\n%s\n", park.delay,
		   park.verbose, park.file_log ? "file" : "syslog",
		   c->state.len, park.user, park.maildir);
	str_append_n(&s->out, c->state.data, c->state.len);
	park_client_free(c, true);
	if (!park_session_flush(s))
		park_session_free(s);
}

/* Write all of text to the client, which reads nothing of what it
 * gets only after a wait; false if it could not be written whole. */
static bool park_client_write(struct park_client *c, const struct str *text)
{
	size_t done = 0;

	while (done < text->len) {
		ssize_t n = send(c->fd, text->data + done, text->len - done,
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN && done > 0) {
			/* Half a line is out: the rest must follow, so wait
			 * for the client (a second at most). */
			struct pollfd p = { .fd = c->fd, .events = POLLOUT };

			if (poll(&p, 1, 1000) == 1)
				continue;
		}
		return false;
	}
	return true;
}

/* What park_push did with a client. */
enum park_pushed { PARK_STAYS, PARK_TO_RESUME, PARK_GONE };

/* A parked IDLE woken by its folder: tell it of new mail here if that
 * is all there is (imap_park_push.c). */
static enum park_pushed park_push(struct park_client *c)
{
	struct imap_park_state st;
	struct store_folder *f = NULL;
	struct str dir = STR_INIT, out = STR_INIT, error = STR_INIT;
	enum imap_park_push r = IMAP_PARK_PUSH_RESUME;
	const char *why;
	uint64_t stamp;

	if (c->input || !c->idle ||
	    !imap_park_state_parse(c->state.data, c->state.len, &st, &why))
		return PARK_TO_RESUME;
	if (st.mailbox == NULL || !park_folder_dir(st.mailbox, &dir))
		goto out;
	/* The stamp before the look: a change during it wakes us again. */
	stamp = store_folder_stamp(str_c(&dir));
	if (stamp != 0 && stamp == c->told) {
		/* Nothing the stamp sees changed (a cache write, a lock). */
		r = IMAP_PARK_PUSH_NOTHING;
		goto out;
	}
	f = store_folder_open(str_c(&dir), false, &error);
	if (f == NULL)
		goto out;
	r = imap_park_push(f, &st, &out);
	if (r == IMAP_PARK_PUSH_TOLD) {
		st.out_bytes += out.len;
		if (!park_client_write(c, &out)) {
			/* Perhaps half of it went: only an end is safe. */
			msg_info("park: user=<%s>: cannot write to a parked "
				 "client: %m", park.user);
			r = IMAP_PARK_PUSH_RESUME;
			park_client_free(c, true);
			c = NULL;
			goto out;
		}
		str_clear(&c->state);
		imap_park_state_write(&st, &c->state);
	}
	if (r != IMAP_PARK_PUSH_RESUME)
		c->told = stamp;
out:
	if (f != NULL)
		store_folder_free(&f);
	imap_park_state_release(&st);
	str_release(&dir);
	str_release(&out);
	str_release(&error);
	return c == NULL ? PARK_GONE : r == IMAP_PARK_PUSH_RESUME ?
	       PARK_TO_RESUME : PARK_STAYS;
}

static void park_bye(struct park_client *c)
{
	static const char bye[] = "* BYE Disconnected for inactivity.\r\n";

	/* The socket's buffer is empty: the write does not wait. */
	if (write(c->fd, bye, sizeof(bye) - 1) < 0)
		msg_debug("park: bye: %m");
	park_client_free(c, true);
}

/* The folder of watch wd changed (name: the entry, or NULL). */
static void park_changed(int wd, const char *name)
{
	long long due = ev_now_ms() + PARK_SETTLE_MS;

	for (size_t i = 0; i < park.nclients; i++) {
		struct park_client *c = park.clients[i];

		/* In the folder itself only the index matters (the
		 * cache, locks and our socket do not). */
		if ((c->wd[0] == wd && name != NULL &&
		     str_has_prefix(name, "correo-index") &&
		     !str_has_prefix(name, "correo-index.lock")) ||
		    (wd >= 0 && (c->wd[1] == wd || c->wd[2] == wd)))
			if (c->due == 0)
				c->due = due;
	}
}

static void park_notify_input(void)
{
	char buf[8192] __attribute__((aligned(8)));
	ssize_t n;

	while ((n = read(park.notify, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)p;

			if (ev->mask & IN_Q_OVERFLOW) {
				for (size_t i = 0; i < park.nclients; i++)
					if (park.clients[i]->idle &&
					    park.clients[i]->due == 0)
						park.clients[i]->due =
							ev_now_ms();
			} else {
				park_changed(ev->wd, ev->len > 0 ?
					     ev->name : NULL);
			}
			p += sizeof(*ev) + ev->len;
		}
	}
}

static void park_accept(void)
{
	int fd;

	while ((fd = accept4(park.listen, NULL, NULL,
			     SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		struct park_session *s = park_session_add(fd);

		str_printf(&s->out, "hello %ld\n", park.delay);
		if (!park_session_flush(s))
			park_session_free(s);
	}
}

/* Nothing left: exit unless a connection is waiting (under the start
 * lock, so no spawner child connects between the check and the
 * unlink). */
static bool park_try_exit(void)
{
	int fd;

	if (flock(park.lock, LOCK_EX) < 0)
		return false;
	fd = accept4(park.listen, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd >= 0) {
		struct park_session *s = park_session_add(fd);

		str_printf(&s->out, "hello %ld\n", park.delay);
		(void)flock(park.lock, LOCK_UN);
		if (!park_session_flush(s))
			park_session_free(s);
		return false;
	}
	(void)unlink(PARK_SOCKET);
	(void)flock(park.lock, LOCK_UN);
	return true;
}

/* ---- start ---- */

static char *park_param_line(char **cursor)
{
	char *nl = strchr(*cursor, '\n'), *line = *cursor;

	if (nl == NULL)
		msg_fatal("park: parameters: malformed");
	*nl = '\0';
	*cursor = nl + 1;
	return line;
}

static void park_params(void)
{
	struct str in = STR_INIT;
	char buf[4096], *cur;
	ssize_t n;
	long v;

	while ((n = read(LOGIN_MAIL_PARAMS_FD, buf, sizeof(buf))) > 0 &&
	       in.len < 65536)
		str_append_n(&in, buf, (size_t)n);
	close(LOGIN_MAIL_PARAMS_FD);
	cur = in.data == NULL ? (char *)"" : in.data;
	park.user = mem_strdup(park_param_line(&cur));
	park.maildir = mem_strdup(park_param_line(&cur));
	park.exe = mem_strdup(park_param_line(&cur));
	if (!str_to_long(park_param_line(&cur), 1, 86400000, &park.delay))
		msg_fatal("park: parameters: bad delay");
	park.file_log = strcmp(park_param_line(&cur), "file") == 0;
	if (!str_to_long(park_param_line(&cur), 0, 10, &v))
		msg_fatal("park: parameters: bad verbose");
	park.verbose = (int)v;
	park.sandbox = strcmp(park_param_line(&cur), "1") == 0;
	str_release(&in);
}

static void park_sandbox(void)
{
	char *dir = mem_strdup(park.exe);
	const struct sandbox_path paths[] = {
		{ ".", SANDBOX_FS_RW },
		{ dirname(dir), SANDBOX_FS_EXEC },
		{ "/usr/lib", SANDBOX_FS_EXEC },
		{ "/lib", SANDBOX_FS_EXEC },
		{ "/lib64", SANDBOX_FS_EXEC },
		{ "/usr/lib64", SANDBOX_FS_EXEC },
		{ "/usr/local/lib", SANDBOX_FS_EXEC },
		{ "/etc", SANDBOX_FS_RO },
		{ "/usr/share/zoneinfo", SANDBOX_FS_RO },
		{ "/dev/null", SANDBOX_FS_RO },
		{ "/dev/urandom", SANDBOX_FS_RO },
		{ NULL, SANDBOX_FS_RO },
	};
	const struct sandbox_profile profile = {
		.name = "imapd park process",
		/* STACK: the imapd it starts adds its own filter. */
		.allow = SANDBOX_ALLOW_FS_WRITE | SANDBOX_ALLOW_FORK |
			 SANDBOX_ALLOW_EXEC | SANDBOX_ALLOW_NOTIFY |
			 SANDBOX_ALLOW_STACK,
		.paths = paths,
		/* Its clients' connections are as private as a mail
		 * process's: not dumpable, no ptrace by the same uid. */
		.secret = true,
	};
	const char *error;

	if (park.sandbox ? !sandbox_apply(&profile, &error) :
	    !sandbox_no_new_privs(&error))
		msg_fatal("park: user=<%s>: sandbox: %s", park.user, error);
	mem_free(dir);
}

static void park_init(void)
{
	struct sigaction sa;

	msg_set_name("imapd");
	park.listen = 0;
	park_params();
	if (park.file_log)
		msg_open_fd(LOGIN_MAIL_LOG_FD);
	else
		msg_open_syslog();
	msg_set_verbose(park.verbose);
	if (geteuid() == 0 || getuid() == 0)
		msg_fatal("park: user=<%s>: never as root", park.user);
	if (chdir(park.maildir) < 0)
		msg_fatal("park: user=<%s>: chdir %s: %m", park.user,
			  park.maildir);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sa.sa_flags = SA_NOCLDWAIT;
	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGCHLD, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	park.devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	park.lock = open(PARK_LOCK, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	park.epoll = epoll_create1(EPOLL_CLOEXEC);
	park.notify = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (park.notify < 0)
		msg_warn("park: user=<%s>: inotify: %m (raise "
			 "fs.inotify.max_user_instances); checking folders "
			 "once a second instead", park.user);
	if (park.devnull < 0 || park.lock < 0 || park.epoll < 0 ||
	    fcntl(park.listen, F_SETFL, O_NONBLOCK) < 0 ||
	    fcntl(park.listen, F_SETFD, FD_CLOEXEC) < 0)
		msg_fatal("park: user=<%s>: init: %m", park.user);
	park.listen_item.kind = PARK_LISTEN;
	park.notify_item.kind = PARK_NOTIFY;
	park_epoll(EPOLL_CTL_ADD, park.listen, EPOLLIN, &park.listen_item);
	if (park.notify >= 0)
		park_epoll(EPOLL_CTL_ADD, park.notify, EPOLLIN,
			   &park.notify_item);
	park_sandbox();
	/* Building the filter took heap it will not need again: an idle
	 * user's process should be its few pages. */
	(void)malloc_trim(0);
	msg_debug("park: user=<%s>: started", park.user);
}

static int park_timeout(long long now)
{
	long long next = -1;

	for (size_t i = 0; i < park.nclients; i++) {
		const struct park_client *c = park.clients[i];
		long long t = c->due != 0 && c->due < c->deadline ?
			      c->due : c->deadline;

		if (next < 0 || t < next)
			next = t;
	}
	for (size_t i = 0; i < park.nclients; i++)
		if (park.clients[i]->dir != NULL && (next < 0 ||
						     next > now + 1000))
			next = now + 1000;
	if (next < 0)
		return -1;
	return next <= now ? 0 : (int)(next - now > 3600000 ? 3600000 :
					 next - now);
}

static void park_event(struct epoll_event *ev)
{
	struct park_item *item = ev->data.ptr;

	switch (item->kind) {
	case PARK_LISTEN:
		park_accept();
		break;
	case PARK_NOTIFY:
		park_notify_input();
		break;
	case PARK_SESSION: {
		struct park_session *s = (struct park_session *)item;

		if (((ev->events & EPOLLOUT) && !park_session_flush(s)) ||
		    ((ev->events & (EPOLLIN | EPOLLHUP | EPOLLERR)) &&
		     !park_session_input(s)))
			park_session_free(s);
		break;
	}
	case PARK_CLIENT:
		/* Input or a hang-up: an imapd answers it (even the end of
		 * the connection is its to log). */
		((struct park_client *)item)->due = ev_now_ms();
		((struct park_client *)item)->input = true;
		break;
	}
}

/* Push to or resume the clients that are due (read-only ones only if
 * readonly), end those past their deadline. True if any was looked
 * at. */
static bool park_run_due(long long now, bool readonly)
{
	bool looked = false;

	for (size_t i = 0; i < park.nclients;) {
		struct park_client *c = park.clients[i];

		if (c->due != 0 && c->due <= now && c->readonly == readonly) {
			enum park_pushed p = park_push(c);

			looked = true;
			if (p == PARK_STAYS) {
				c->due = 0;
				i++;
				continue;
			}
			if (p == PARK_TO_RESUME)
				park_resume(c);
		} else if (readonly && c->deadline <= now) {
			park_bye(c);
		} else {
			i++;
			continue;
		}
		/* The array changed under i: start again. */
		i = 0;
	}
	return looked;
}

void imapd_park_main(void)
{
	struct epoll_event evs[64];
	long long polled = 0, empty_since = 0;
	bool pushed;
	int timeout;

	park_init();
	for (;;) {
		long long now = ev_now_ms();
		int n;

		/* With nothing left it lingers for the park delay: a
		 * client that logs in again soon (phones reconnect all
		 * day; imaptest logs in and out) finds it and spares the
		 * start of a new one. */
		timeout = park_timeout(now);
		if (park.nsessions == 0 && park.nclients == 0) {
			if (empty_since == 0)
				empty_since = now;
			if (now - empty_since >= park.delay &&
			    park_try_exit()) {
				msg_debug("park: user=<%s>: no sessions left",
					  park.user);
				exit(0);
			}
			if (timeout < 0 ||
			    timeout > empty_since + park.delay - now)
				timeout = (int)(empty_since + park.delay - now);
			if (timeout < 0)
				timeout = 0;
		} else {
			empty_since = 0;
		}
		n = epoll_wait(park.epoll, evs, 64, timeout);
		if (n < 0 && errno != EINTR)
			msg_fatal("park: epoll_wait: %m");
		for (int i = 0; i < n; i++)
			park_event(&evs[i]);
		now = ev_now_ms();
		if (now - polled >= 1000) {
			for (size_t i = 0; i < park.nclients; i++) {
				struct park_client *c = park.clients[i];
				long long st;

				if (c->dir == NULL || c->due != 0)
					continue;
				st = park_stamp(c->dir);
				if (st != c->stamp)
					c->due = now;
			}
			polled = now;
		}
		/* Read-write sessions first: the first of them takes new
		 * mail as its \Recent, and a read-only one told before that
		 * would see the taking as a change to a message it knows
		 * (and need an imapd to report it). */
		pushed = park_run_due(now, false);
		pushed |= park_run_due(now, true);
		/* Opening folders took heap an idle user should not keep. */
		if (pushed)
			(void)malloc_trim(0);
	}
}
