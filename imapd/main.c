/*
 * imapd: the IMAP mail process, and the spawner that starts it.
 *
 * Started by master, it is the IMAP mail-process spawner on
 * private/imapd (login_spawn.h): it serves one imap-login process,
 * redeems auth's login cookies and starts mail processes. Each mail
 * process is this binary exec'd afresh with LOGIN_MAIL_ARG, already
 * running as the mailbox owner, serving one session; it answers the
 * front end's LOGIN or AUTHENTICATE (whose tag it is handed) with
 * "tag OK [CAPABILITY ...] Logged in".
 *
 * By hand, on a terminal or a pipe, it serves a pre-authenticated
 * session as the user running it (Dovecot's "imap" is used the same way
 * for tests and admin work):
 *
 *	imapd -m MAILDIR [-u USER] [-t TAG] [-q QUOTA]
 *
 * starting with "* PREAUTH", or with "TAG OK ..." given -t. QUOTA is a
 * quota rule ("storage=1M messages=100"); without it the limits are
 * those in the Maildir's maildirsize, if any.
 *
 * SECURITY: the spawner is privileged (root, or the invoking user in
 * instance mode) and never sees a password; the mail process never runs
 * as root, holds only its client, and never sees a password either.
 */
#include "config.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imapd.h"
#include "login_spawn.h"
#include "mem.h"
#include "msg.h"
#include "sandbox.h"
#include "server.h"
#include "str.h"

static const struct login_spawn_spec imapd_spawn = {
	.service = "imap",
	.mail_name = "imapd",
	.timeout_key = "imap_timeout",
	.prepare = imapd_park_prepare,
};

/* Serve one session on in/out; tag NULL: PREAUTH. */
static void imapd_session(int in, int out, const char *user,
			  const char *maildir, const char *tag,
			  const char *quota, const char *input,
			  size_t input_len, const struct login_mail *m)
{
	struct str greeting = STR_INIT, caps = STR_INIT;
	struct imapd s;

	signal(SIGPIPE, SIG_IGN);
	imapd_init(&s, in, out, user, maildir);
	imapd_quota_init(&s, quota);
	if (m != NULL) {
		/* What a parked session takes along (imapd_park.c). */
		s.quota_rule = quota != NULL ? mem_strdup(quota) : NULL;
		s.addr = mem_strdup(m->addr);
		s.tls = m->tls;
		if (fcntl(LOGIN_MAIL_PARK_FD, F_GETFD) >= 0) {
			s.park_fd = LOGIN_MAIL_PARK_FD;
			s.park_delay = -2;	/* in the park's hello */
		}
	}
	if (input != NULL)
		str_append_n(&s.in, input, input_len);
	imapd_special_use_create(&s);
	imapd_capability(&s, &caps);
	if (tag != NULL)
		str_printf(&greeting, "%s OK [CAPABILITY %s] Logged in", tag,
			   str_c(&caps));
	else
		str_printf(&greeting, "* PREAUTH [CAPABILITY %s] Logged in "
			   "as %s", str_c(&caps), user);
	imapd_serve(&s, str_c(&greeting));
	if (!s.parked)
		msg_info("imap(%s)<%d>: Logged out in=%llu out=%llu deleted=%u "
			 "expunged=%u", user, (int)getpid(),
			 (unsigned long long)s.in_bytes,
			 (unsigned long long)s.out_bytes, s.deleted,
			 s.expunged);
	imapd_deinit(&s);
	str_release(&greeting);
	str_release(&caps);
}

static void imapd_mail_main(void)
{
	struct login_mail m;
	struct str dir = STR_INIT;
	const char *error;

	imapd_park_note_hold();
	login_mail_init("imapd", &m);
	str_set(&dir, m.mailbox);
	while (dir.len > 1 && dir.data[dir.len - 1] == '/')
		str_truncate(&dir, dir.len - 1);
	/* In the Maildir, then nothing but it (and inotify for IDLE). */
	if (chdir(str_c(&dir)) < 0)
		msg_fatal("user=<%s>: chdir %s: %m", m.user, str_c(&dir));
	if (!sandbox_apply(&sandbox_imapd_mail, &error))
		msg_fatal("user=<%s>: sandbox: %s", m.user, error);
	/* Paths relative to the Maildir: Landlock lets nothing above it
	 * be opened, not even on the way down from "/". */
	imapd_session(LOGIN_MAIL_CLIENT_FD, LOGIN_MAIL_CLIENT_FD, m.user, ".",
		      m.data != NULL ? m.data : "*", m.quota, m.input,
		      m.input_len, &m);
	str_release(&dir);
	exit(0);
}

static void usage(void)
{
	fprintf(stderr, "usage: imapd -m MAILDIR [-u USER] [-t TAG] "
		"[-q QUOTA]\n");
	exit(64);
}

int main(int argc, char **argv)
{
	const char *maildir = NULL, *user = NULL, *tag = NULL, *quota = NULL;
	int c;

	if (login_mail_is_session(argc, argv))
		imapd_mail_main();
	if (argc == 2 && strcmp(argv[1], "--mail-resume") == 0)
		imapd_resume_main();
	if (argc > 1 && strcmp(argv[1], "-m") != 0 &&
	    strcmp(argv[1], "-u") != 0 && strcmp(argv[1], "-t") != 0 &&
	    strcmp(argv[1], "-q") != 0)
		return server_main(argc, argv, &(struct server_spec) {
			.sandbox = &sandbox_spawner,
			.name = "imapd",
			.mode = SERVER_SINGLE,
			.serve = login_spawn_serve,
			.pre_init = login_spawn_pre_init,
			.privileged = true,
			.ctx = (void *)&imapd_spawn,
		});
	msg_set_name("imapd");
	msg_open_stderr();
	while ((c = getopt(argc, argv, "m:q:t:u:")) != -1) {
		switch (c) {
		case 'm':
			maildir = optarg;
			break;
		case 'u':
			user = optarg;
			break;
		case 't':
			tag = optarg;
			break;
		case 'q':
			quota = optarg;
			break;
		default:
			usage();
		}
	}
	if (maildir == NULL || optind != argc)
		usage();
	if (user == NULL)
		user = getenv("USER") != NULL ? getenv("USER") : "-";
	imapd_session(0, 1, user, maildir, tag, quota, NULL, 0, NULL);
	return 0;
}
