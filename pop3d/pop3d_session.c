/*
 * pop3d_session: one POP3 session after login, in its own process
 * running as the mailbox owner (pop3d.h).
 *
 * TRANSACTION state: STAT, LIST, UIDL, RETR, TOP, DELE, RSET, NOOP, CAPA,
 * QUIT. Deletions are only marks until QUIT enters the UPDATE state; a
 * dropped connection or a timeout removes nothing. One POP3 session per
 * mailbox at a time: the Maildir's "correo-pop3.lock" (flock) is held for
 * the whole session, and a second login is refused with [IN-USE]. IMAP
 * sessions do not take it; they see POP3's deletions like any other
 * Maildir client's.
 *
 * UIDLs are the mailbox store's UIDs, "%08X%08X" of uid and
 * UIDVALIDITY (Dovecot's default format), so they survive sessions and
 * match the UIDs IMAP reports.
 *
 * SECURITY: a fresh process exec'd by the spawner (login_spawn.h) as the
 * uid and gid auth gave for this user (never root: login_mail_init
 * refuses it); it inherited only the client descriptor, its parameter
 * pipe and the log file, and no other user's data. The client is
 * authenticated but still untrusted: every command goes through pop3_parse, numbers are range
 * checked, and the line length and idle time are bounded.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "login_spawn.h"
#include "maildir.h"
#include "mem.h"
#include "msg.h"
#include "priv.h"
#include "safe_file.h"
#include "sandbox.h"
#include "server.h"

#include "pop3_parse.h"
#include "pop3d.h"

#define POP3D_POP3_LOCK "correo-pop3.lock"

struct pop3d_session {
	const struct pop3d_session_args *args;
	struct lio *lio;
	struct pop3d_mbox mb;
	bool quit;
	bool updated;		/* QUIT removed the deleted messages */
	unsigned retr_count, top_count;
	uint64_t retr_bytes, top_bytes;
};

static void pop3d_reply(struct pop3d_session *s, const char *text)
{
	lio_printf(s->lio, "%s\r\n", text);
}

/* A message number argument; NULL reply if it names a live message. */
static const char *pop3d_msgnum(struct pop3d_session *s, const char *arg,
				size_t *idx_r)
{
	unsigned long n;

	if (!pop3_parse_number(arg, 1, ULONG_MAX, &n))
		return "-ERR Invalid message number.";
	if (n > s->mb.count)
		return "-ERR There's no message with that number.";
	if (s->mb.deleted[n - 1])
		return "-ERR Message is deleted.";
	*idx_r = n - 1;
	return NULL;
}

static void pop3d_cmd_stat(struct pop3d_session *s)
{
	lio_printf(s->lio, "+OK %zu %llu\r\n",
		   s->mb.count - s->mb.ndeleted,
		   (unsigned long long)s->mb.size);
}

static void pop3d_list_line(struct pop3d_session *s, size_t i, bool uidl,
			    const char *prefix)
{
	const struct pop3d_msg *r = &s->mb.msgs[i];

	if (uidl)
		lio_printf(s->lio, "%s%zu %08X%08X\r\n", prefix, i + 1,
			   r->uid, s->mb.validity);
	else
		lio_printf(s->lio, "%s%zu %llu\r\n", prefix, i + 1,
			   (unsigned long long)r->vsize);
}

static void pop3d_cmd_list(struct pop3d_session *s,
			   const struct pop3_cmd *cmd, bool uidl)
{
	const char *err;
	size_t i;

	if (cmd->nargs == 1) {
		err = pop3d_msgnum(s, cmd->args[0], &i);
		if (err != NULL)
			pop3d_reply(s, err);
		else
			pop3d_list_line(s, i, uidl, "+OK ");
		return;
	}
	pop3d_reply(s, "+OK");
	for (i = 0; i < s->mb.count; i++)
		if (!s->mb.deleted[i])
			pop3d_list_line(s, i, uidl, "");
	lio_puts(s->lio, ".\r\n");
}

static void pop3d_cmd_retr(struct pop3d_session *s,
			   const struct pop3_cmd *cmd, bool top)
{
	unsigned long lines = 0;
	const char *err;
	size_t i;
	int fd;

	err = pop3d_msgnum(s, cmd->args[0], &i);
	if (err == NULL && top &&
	    !pop3_parse_number(cmd->args[1], 0, LONG_MAX, &lines))
		err = "-ERR Invalid number of lines.";
	if (err != NULL) {
		pop3d_reply(s, err);
		return;
	}
	fd = pop3d_mbox_open_msg(&s->mb, i);
	if (fd < 0) {
		msg_warn("user=<%s>: open message uid %u: %m",
			 s->args->user, s->mb.msgs[i].uid);
		pop3d_reply(s, errno == ENOENT ?
			    "-ERR Message was removed by another client." :
			    "-ERR [SYS/TEMP] Cannot read the message.");
		return;
	}
	if (top) {
		pop3d_reply(s, "+OK");
		s->top_count++;
	} else {
		lio_printf(s->lio, "+OK %llu octets\r\n",
			   (unsigned long long)s->mb.msgs[i].vsize);
		s->retr_count++;
	}
	if (!pop3d_mbox_send(s->lio, fd, top ? (long)lines : -1,
			     top ? &s->top_bytes : &s->retr_bytes)) {
		msg_error("user=<%s>: read message uid %u: %m",
			  s->args->user, s->mb.msgs[i].uid);
		s->quit = true;	/* the reply is cut short */
	}
	close(fd);
}

static void pop3d_cmd_dele(struct pop3d_session *s,
			   const struct pop3_cmd *cmd)
{
	const char *err;
	size_t i;

	err = pop3d_msgnum(s, cmd->args[0], &i);
	if (err != NULL) {
		pop3d_reply(s, err);
		return;
	}
	s->mb.deleted[i] = 1;
	s->mb.ndeleted++;
	s->mb.size -= s->mb.msgs[i].vsize;
	pop3d_reply(s, "+OK Marked to be deleted.");
}

static void pop3d_cmd_rset(struct pop3d_session *s)
{
	size_t i;

	for (i = 0; i < s->mb.count; i++)
		if (s->mb.deleted[i]) {
			s->mb.deleted[i] = 0;
			s->mb.size += s->mb.msgs[i].vsize;
		}
	s->mb.ndeleted = 0;
	pop3d_reply(s, "+OK");
}

/* The POP3 lock of the session's mailbox, released at QUIT before the
 * reply, so a client that logs in again at once finds it free. */
static int pop3d_lock_fd = -1;

static void pop3d_cmd_quit(struct pop3d_session *s)
{
	size_t failed = 0;

	if (s->mb.ndeleted > 0)
		failed = pop3d_mbox_expunge(&s->mb);
	s->updated = true;
	if (pop3d_lock_fd >= 0) {
		close(pop3d_lock_fd);	/* the flock goes with it */
		pop3d_lock_fd = -1;
	}
	if (failed > 0)
		pop3d_reply(s, "-ERR [SYS/TEMP] Some deleted messages could "
			    "not be removed.");
	else
		pop3d_reply(s, "+OK Logging out.");
	s->quit = true;
}

static void pop3d_dispatch(struct pop3d_session *s, struct pop3_cmd *cmd)
{
	switch (cmd->id) {
	case POP3_CMD_STAT: pop3d_cmd_stat(s); break;
	case POP3_CMD_LIST: pop3d_cmd_list(s, cmd, false); break;
	case POP3_CMD_UIDL: pop3d_cmd_list(s, cmd, true); break;
	case POP3_CMD_RETR: pop3d_cmd_retr(s, cmd, false); break;
	case POP3_CMD_TOP: pop3d_cmd_retr(s, cmd, true); break;
	case POP3_CMD_DELE: pop3d_cmd_dele(s, cmd); break;
	case POP3_CMD_RSET: pop3d_cmd_rset(s); break;
	case POP3_CMD_NOOP: pop3d_reply(s, "+OK"); break;
	case POP3_CMD_QUIT: pop3d_cmd_quit(s); break;
	case POP3_CMD_CAPA:
		lio_puts(s->lio, "+OK\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\n"
			 "PIPELINING\r\nIMPLEMENTATION correo\r\n.\r\n");
		break;
	default:
		pop3d_reply(s, "-ERR Already logged in.");
		break;
	}
}

static void pop3d_loop(struct pop3d_session *s)
{
	struct pop3_cmd cmd = POP3_CMD_INIT;
	struct str line = STR_INIT;
	const char *error;
	enum lio_status st;

	while (!s->quit) {
		st = lio_read_line(s->lio, &line, POP3_LINE_MAX);
		if (st == LIO_TOOLONG) {
			pop3d_reply(s, "-ERR Line too long.");
			do {
				st = lio_read_line(s->lio, &line,
						   POP3_LINE_MAX);
			} while (st == LIO_TOOLONG);
			continue;
		}
		if (st == LIO_TIMEOUT) {
			pop3d_reply(s, "-ERR Disconnected for inactivity.");
			msg_info("user=<%s>: idle timeout", s->args->user);
		}
		if (st != LIO_OK)
			break;
		if (!pop3_parse(&line, &cmd, &error))
			lio_printf(s->lio, "-ERR %s.\r\n", error);
		else
			pop3d_dispatch(s, &cmd);
	}
	(void)lio_flush(s->lio);
	pop3_cmd_free(&cmd);
	str_release(&line);
}

/* How long a login waits for the previous session of the same mailbox
 * to finish (it may be exiting right after its QUIT). */
#define POP3D_LOCK_WAIT_MS 3000

/* Enter the Maildir and lock it. NULL or a reply. */
static const char *pop3d_enter(const struct pop3d_session_args *a)
{
	int waited = 0;

	if (chdir(a->mailbox) < 0) {
		if (errno != ENOENT || !maildir_create(a->mailbox, NULL) ||
		    chdir(a->mailbox) < 0) {
			msg_error("user=<%s>: mailbox %s: %m", a->user,
				  a->mailbox);
			return "-ERR [SYS/TEMP] Mailbox unavailable.";
		}
	}
	while ((pop3d_lock_fd = safe_lock_file(POP3D_POP3_LOCK)) < 0 &&
	       errno == EWOULDBLOCK && waited < POP3D_LOCK_WAIT_MS) {
		usleep(50000);
		waited += 50;
	}
	if (pop3d_lock_fd < 0) {
		if (errno == EWOULDBLOCK)
			return "-ERR [IN-USE] Mailbox is locked by another "
				"POP3 session.";
		msg_error("user=<%s>: lock %s/%s: %m", a->user, a->mailbox,
			  POP3D_POP3_LOCK);
		return "-ERR [SYS/TEMP] Mailbox unavailable.";
	}
	return NULL;
}

void pop3d_session_run(int fd, const struct pop3d_session_args *a)
{
	struct pop3d_session s;
	struct str error = STR_INIT;
	const char *refusal, *error_text;

	memset(&s, 0, sizeof(s));
	s.args = a;
	s.lio = lio_create(fd, a->timeout);
	refusal = pop3d_enter(a);
	if (refusal == NULL && !pop3d_mbox_open(&s.mb, &error)) {
		msg_error("user=<%s>: %s", a->user, str_c(&error));
		refusal = "-ERR [SYS/TEMP] Mailbox unavailable.";
	}
	if (refusal != NULL) {
		pop3d_reply(&s, refusal);
		(void)lio_flush(s.lio);
		msg_info("user=<%s>: refused: %s", a->user, refusal + 5);
		exit(0);
	}
	/* In its Maildir as its owner: from here on nothing else. */
	if (!sandbox_apply(&sandbox_pop3d_mail, &error_text))
		msg_fatal("user=<%s>: sandbox: %s", a->user, error_text);
	pop3d_reply(&s, "+OK Logged in.");
	if (a->input_len > 0)
		(void)lio_push_input(s.lio, a->input, a->input_len);
	pop3d_loop(&s);
	msg_info("logout: user=<%s>, rip=%s, top=%u/%llu, retr=%u/%llu, "
		 "del=%zu/%zu, size=%llu", a->user, a->addr, s.top_count,
		 (unsigned long long)s.top_bytes, s.retr_count,
		 (unsigned long long)s.retr_bytes,
		 s.updated ? s.mb.ndeleted : 0, s.mb.count,
		 (unsigned long long)s.mb.size);
	exit(0);
}

void pop3d_mail_main(void)
{
	struct pop3d_session_args a;
	struct login_mail m;

	login_mail_init("pop3d", &m);
	memset(&a, 0, sizeof(a));
	a.user = m.user;
	a.mailbox = m.mailbox;
	a.uid = m.uid;
	a.gid = m.gid;
	a.addr = m.addr;
	a.tls = m.tls;
	a.input = m.input;
	a.input_len = m.input_len;
	a.timeout = m.timeout;
	pop3d_session_run(LOGIN_MAIL_CLIENT_FD, &a);
}
