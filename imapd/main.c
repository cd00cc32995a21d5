/*
 * imapd: the IMAP mail process. Run by the mail-process spawner after a
 * login, or by hand on a terminal or pipe as a pre-authenticated session
 * (Dovecot's "imap" binary is used the same way for tests and admin
 * work):
 *
 *	imapd -m MAILDIR [-u USER] [-t TAG]
 *
 * serves the Maildir++ tree MAILDIR on standard input and output, as the
 * user running it, starting with "* PREAUTH"; with -t (a login front end
 * handing over a client whose LOGIN or AUTHENTICATE had that tag), with
 * "TAG OK [CAPABILITY ...] Logged in" instead.
 *
 * SECURITY: runs as the mailbox owner only; it never sees a password.
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "imapd.h"
#include "msg.h"
#include "str.h"

static void usage(void)
{
	fprintf(stderr, "usage: imapd -m MAILDIR [-u USER] [-t TAG]\n");
	exit(64);
}

int main(int argc, char **argv)
{
	const char *maildir = NULL, *user = NULL, *tag = NULL;
	struct str greeting = STR_INIT, caps = STR_INIT;
	struct imapd s;
	int c;

	msg_set_name("imapd");
	msg_open_stderr();
	while ((c = getopt(argc, argv, "m:t:u:")) != -1) {
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
		default:
			usage();
		}
	}
	if (maildir == NULL || optind != argc)
		usage();
	if (user == NULL)
		user = getenv("USER") != NULL ? getenv("USER") : "-";
	signal(SIGPIPE, SIG_IGN);
	imapd_init(&s, 0, 1, user, maildir);
	imapd_special_use_create(&s);
	imapd_capability(&s, &caps);
	if (tag != NULL)
		str_printf(&greeting, "%s OK [CAPABILITY %s] Logged in", tag,
			   str_c(&caps));
	else
		str_printf(&greeting, "* PREAUTH [CAPABILITY %s] Logged in "
			   "as %s", str_c(&caps), user);
	imapd_serve(&s, str_c(&greeting));
	msg_info("imap(%s)<%d>: Logged out in=%llu out=%llu deleted=%u "
		 "expunged=%u", user, (int)getpid(),
		 (unsigned long long)s.in_bytes,
		 (unsigned long long)s.out_bytes, s.deleted, s.expunged);
	imapd_deinit(&s);
	str_release(&greeting);
	str_release(&caps);
	return 0;
}
