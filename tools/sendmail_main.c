/*
 * sendmail: the Sendmail-compatible mail submission command, also
 * installed as mailq (= sendmail -bp) and newaliases (= sendmail -bi).
 *
 *   sendmail [-t] [-i|-oi] [-f sender] [-F name] [-C dir] [rcpt ...]
 *   sendmail -bp | -bi | -q
 *   sendmail -bs [-C dir]       SMTP on stdin/stdout (sendmail_smtp.c)
 *
 * The message is read from stdin; the file goes into
 * $queue_directory/maildrop as a queue file (queue.h format, written
 * with queue_writer_create_in), where correo-pickup(8) finds it: at once if it
 * runs (we trigger public/pickup), else when the mail system starts.
 * The configuration directory is -C DIR, else $CORREO_CONFIG_DIR, else
 * the compiled-in default.
 *
 * SECURITY: installed setgid $setgid_group (correodrop), the only group
 * that may write to maildrop/ (mode 1730). The effective gid is dropped
 * at once (the saved gid keeps it) and raised again only to create,
 * write and rename the finished file and to trigger pickup; then every
 * gid is set to the real one. An unprivileged user who names another
 * configuration (-C or the environment) loses the setgid privilege
 * before that configuration is read, so it can never redirect the
 * privileged write. The file is created 0644 owned by the user; pickup
 * takes the submitting uid from the file's owner and trusts nothing
 * else in it.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "cfg.h"
#include "mem.h"
#include "msg.h"
#include "proto.h"
#include "queue.h"
#include "server.h"
#include "str.h"

#include "correo.h"
#include "queue_admin.h"
#include "sendmail.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc/correo"
#endif

enum sm_mode {
	SM_DELIVER,
	SM_LIST,	/* -bp, mailq */
	SM_ALIASES,	/* -bi, newaliases */
	SM_FLUSH,	/* -q */
	SM_SMTP,	/* -bs */
};

struct sm_opts {
	enum sm_mode mode;
	bool extract;		/* -t */
	bool dot_ends;		/* not -i / -oi */
	const char *sender;	/* -f / -r */
	const char *full_name;	/* -F */
	const char *config_dir;
	bool other_config;	/* -C or the environment */
	char **rcpts;
	int nrcpt;
};

static const char *sm_prog = "sendmail";
static gid_t sm_drop_gid, sm_real_gid;

static void sm_privs_init(void)
{
	sm_real_gid = getgid();
	sm_drop_gid = getegid();
	if (sm_drop_gid != sm_real_gid && setegid(sm_real_gid) < 0) {
		fprintf(stderr, "%s: fatal: setegid: %s\n", sm_prog,
			strerror(errno));
		exit(EX_OSERR);
	}
}

/* Give up the setgid privilege for good. */
static void sm_privs_drop(void)
{
	if (setresgid(sm_real_gid, sm_real_gid, sm_real_gid) < 0 ||
	    getegid() != sm_real_gid) {
		fprintf(stderr, "%s: fatal: cannot drop privileges: %s\n",
			sm_prog, strerror(errno));
		exit(EX_OSERR);
	}
	sm_drop_gid = sm_real_gid;	/* sm_privs_raise: nothing left */
}

static void sm_privs_raise(void)
{
	if (sm_drop_gid != sm_real_gid && setegid(sm_drop_gid) < 0) {
		fprintf(stderr, "%s: fatal: setegid: %s\n", sm_prog,
			strerror(errno));
		exit(EX_OSERR);
	}
}

/* Back to the real gid, keeping the saved one (-bs: more messages). */
static void sm_privs_lower(void)
{
	if (sm_drop_gid != sm_real_gid && setegid(sm_real_gid) < 0) {
		fprintf(stderr, "%s: fatal: setegid: %s\n", sm_prog,
			strerror(errno));
		exit(EX_OSERR);
	}
}

static void MSG_PRINTF(2, 3) __attribute__((noreturn))
sm_fatal_exit(int status, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "%s: fatal: ", sm_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(status);
}

static void sm_option_o(struct sm_opts *o, const char *arg)
{
	if (strcmp(arg, "i") == 0)
		o->dot_ends = false;
	else
		fprintf(stderr, "%s: warning: -o%s option ignored\n",
			sm_prog, arg);
}

static void sm_option_b(struct sm_opts *o, const char *arg)
{
	if (strcmp(arg, "p") == 0)
		o->mode = SM_LIST;
	else if (strcmp(arg, "i") == 0)
		o->mode = SM_ALIASES;
	else if (strcmp(arg, "s") == 0)
		o->mode = SM_SMTP;
	else if (strcmp(arg, "m") == 0)
		o->mode = SM_DELIVER;
	else
		sm_fatal_exit(EX_USAGE, "unsupported: -b%s", arg);
}

static void sm_parse(struct sm_opts *o, int argc, char **argv)
{
	int ch;

	opterr = 0;
	while ((ch = getopt(argc, argv, "+B:b:C:F:f:h:iL:N:no:O:p:q::R:r:"
			    "tV:vX:")) != -1) {
		switch (ch) {
		case 'b':
			sm_option_b(o, optarg);
			break;
		case 'C':
			o->config_dir = optarg;
			o->other_config = true;
			break;
		case 'F':
			o->full_name = optarg;
			break;
		case 'f':
		case 'r':
			o->sender = optarg;
			break;
		case 'i':
			o->dot_ends = false;
			break;
		case 'o':
			sm_option_o(o, optarg);
			break;
		case 'q':
			o->mode = SM_FLUSH;
			break;
		case 't':
			o->extract = true;
			break;
		case 'v':
			break;
		case '?':
			fprintf(stderr, "%s: warning: -%c option ignored\n",
				sm_prog, optopt);
			break;
		default:
			fprintf(stderr, "%s: warning: -%c option ignored\n",
				sm_prog, ch);
			break;
		}
	}
	o->rcpts = argv + optind;
	o->nrcpt = argc - optind;
}

/* The envelope sender: -f, else the invoking user @ $myorigin. */
static void sm_sender(const struct sm_opts *o, const char *origin,
		      const char *myorigin, struct str *out)
{
	const char *error = NULL;
	struct passwd *pw;

	if (o->sender != NULL) {
		if (!sendmail_qualify(o->sender, origin, true, out, &error))
			sm_fatal_exit(EX_DATAERR, "bad sender address: %s",
				      o->sender);
		return;
	}
	pw = getpwuid(getuid());
	if (pw == NULL)
		sm_fatal_exit(EX_NOUSER, "no login name for uid %ld",
			      (long)getuid());
	if (!sendmail_qualify(pw->pw_name, myorigin, false, out, &error))
		sm_fatal_exit(EX_DATAERR, "bad login name: %s", pw->pw_name);
}

static void sm_recipients(const struct sm_opts *o, struct str *msg,
			  const char *origin, struct sendmail_list *out)
{
	struct sendmail_list raw = { NULL, 0 };
	struct str a = STR_INIT;
	const char *error;

	for (int i = 0; i < o->nrcpt; i++)
		sendmail_address_list(o->rcpts[i], strlen(o->rcpts[i]), &raw);
	sendmail_headers(msg, o->extract, &raw);
	for (size_t i = 0; i < raw.count; i++) {
		if (!sendmail_qualify(raw.items[i], origin, false, &a,
				      &error))
			sm_fatal_exit(EX_DATAERR, "bad recipient address: %s",
				      raw.items[i]);
		sendmail_list_add(out, a.data, a.len);
	}
	str_release(&a);
	sendmail_list_free(&raw);
	if (out->count == 0)
		sm_fatal_exit(EX_USAGE, "%s", "No recipient addresses found"
			      " in message header or on the command line");
}

/* Privileged: create, write and commit maildrop/ID; wake pickup. The
 * privilege is lowered again (not dropped) before returning. False with
 * errno set when the file could not be written (nothing is left). */
static bool sm_write_file(const char *full_name, const char *sender,
			  const struct sendmail_list *rcpts,
			  const struct str *msg, struct str *id_r)
{
	struct queue_writer *w;
	int saved;

	sm_privs_raise();
	(void)umask(022);	/* pickup, another user, must read it */
	w = queue_writer_create_in(QUEUE_MAILDROP, 0644);
	if (w == NULL) {
		saved = errno;
		sm_privs_lower();
		errno = saved;
		return false;
	}
	queue_writer_sender(w, sender);
	if (full_name != NULL && full_name[0] != '\0')
		queue_writer_attr(w, "full_name", full_name);
	for (size_t i = 0; i < rcpts->count; i++)
		queue_writer_rcpt(w, rcpts->items[i], NULL, 0);
	if (!queue_writer_content(w, msg->data != NULL ? msg->data : "",
				  msg->len) ||
	    !queue_writer_commit(w)) {
		saved = errno;
		queue_writer_abort(&w);
		sm_privs_lower();
		errno = saved;
		return false;
	}
	if (id_r != NULL)
		str_set(id_r, queue_writer_id(w));
	queue_writer_free(&w);
	/* A stopped mail system is fine: pickup scans at start. */
	(void)server_trigger(QUEUE_PUBLIC "/pickup", PROTO_TRIGGER_WAKEUP);
	sm_privs_lower();
	return true;
}

static void sm_write(const struct sm_opts *o, const char *sender,
		     const struct sendmail_list *rcpts, const struct str *msg)
{
	if (!sm_write_file(o->full_name, sender, rcpts, msg, NULL))
		sm_fatal_exit(EX_TEMPFAIL, "cannot write to maildrop/: %s",
			      strerror(errno));
	sm_privs_drop();
}

/* -bs: one maildrop file per message the SMTP dialogue accepts. */
static bool sm_smtp_commit(void *ctx, const char *sender,
			   const struct sendmail_list *rcpts,
			   const struct str *msg, struct str *id_r,
			   const char **error_r)
{
	const struct sm_opts *o = ctx;

	if (sm_write_file(o->full_name, sender, rcpts, msg, id_r))
		return true;
	*error_r = strerror(errno);
	return false;
}

/* Write out and empty the pending replies; false if stdout is gone. */
static bool sm_smtp_flush(struct str *out)
{
	bool ok = out->len == 0 ||
		(fwrite(out->data, 1, out->len, stdout) == out->len &&
		 fflush(stdout) == 0);

	str_clear(out);
	return ok;
}

static int sm_smtp(struct sm_opts *o, struct cfg *cfg)
{
	const char *origin = cfg_bool(cfg, "append_at_myorigin") ?
		cfg_str(cfg, "myorigin") : NULL;
	long long max = cfg_size(cfg, "message_size_limit");
	struct sendmail_smtp *smtp;
	struct str out = STR_INIT;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	bool ok = true;

	if (chdir(cfg_str(cfg, "queue_directory")) < 0)
		sm_fatal_exit(EX_TEMPFAIL, "cannot enter the queue: %s",
			      strerror(errno));
	smtp = sendmail_smtp_create(cfg_str(cfg, "myhostname"), origin,
				    max > 0 ? (size_t)max : 0,
				    sm_smtp_commit, o);
	sendmail_smtp_greeting(smtp, &out);
	ok = sm_smtp_flush(&out);
	while (ok && !sendmail_smtp_done(smtp) &&
	       (len = getline(&line, &cap, stdin)) > 0) {
		size_t n = (size_t)len;

		if (n > 0 && line[n - 1] == '\n')
			n--;
		if (n > 0 && line[n - 1] == '\r')
			n--;
		sendmail_smtp_line(smtp, line, n, &out);
		/* Each reply goes out at once: allowed with PIPELINING too
		 * (the client reads them when it is ready). */
		ok = sm_smtp_flush(&out);
	}
	ok = sm_smtp_flush(&out) && ok;
	free(line);
	str_release(&out);
	sendmail_smtp_free(&smtp);
	sm_privs_drop();
	if (ferror(stdin))
		sm_fatal_exit(EX_IOERR, "error reading input: %s",
			      strerror(errno));
	return ok ? EX_OK : EX_IOERR;
}

static int sm_deliver(struct sm_opts *o, struct cfg *cfg)
{
	const char *origin = cfg_bool(cfg, "append_at_myorigin") ?
		cfg_str(cfg, "myorigin") : NULL;
	struct sendmail_list rcpts = { NULL, 0 };
	struct str msg = STR_INIT, sender = STR_INIT;
	long long max = cfg_size(cfg, "message_size_limit");
	int ret;

	if (max <= 0)
		max = (long long)1 << 40;
	sm_sender(o, origin, cfg_str(cfg, "myorigin"), &sender);
	ret = sendmail_read_message(stdin, o->dot_ends, (size_t)max, &msg);
	if (ret < 0)
		sm_fatal_exit(EX_IOERR, "error reading input: %s",
			      strerror(errno));
	if (ret == 0)
		sm_fatal_exit(EX_DATAERR, "%s", "message file too big");
	sm_recipients(o, &msg, origin, &rcpts);
	if (chdir(cfg_str(cfg, "queue_directory")) < 0)
		sm_fatal_exit(EX_TEMPFAIL, "cannot enter the queue: %s",
			      strerror(errno));
	sm_write(o, str_c(&sender), &rcpts, &msg);
	sendmail_list_free(&rcpts);
	str_release(&msg);
	str_release(&sender);
	return EX_OK;
}

static struct cfg *sm_config(const char *config_dir)
{
	char path[4096];
	char *error = NULL;
	struct cfg *cfg;

	if (!str_snprintf(path, sizeof(path), "%s/correo.conf", config_dir))
		sm_fatal_exit(EX_CONFIG, "config path too long: %s",
			      config_dir);
	cfg = cfg_load(path, &error);
	if (cfg == NULL)
		sm_fatal_exit(EX_CONFIG, "%s", error);
	cfg_main = cfg;
	return cfg;
}

static void sm_set_prog(struct sm_opts *o, const char *argv0)
{
	const char *base = strrchr(argv0, '/');

	base = base != NULL ? base + 1 : argv0;
	if (strcmp(base, "mailq") == 0) {
		sm_prog = "mailq";
		o->mode = SM_LIST;
	} else if (strcmp(base, "newaliases") == 0) {
		sm_prog = "newaliases";
		o->mode = SM_ALIASES;
	}
}

int main(int argc, char **argv)
{
	struct sm_opts o = { .dot_ends = true };
	const char *env = getenv("CORREO_CONFIG_DIR");
	char *aliases_argv[] = { "newaliases", NULL };

	sm_privs_init();
	sm_set_prog(&o, argv[0]);
	msg_set_name(sm_prog);
	msg_open_stderr();
	o.config_dir = SYSCONFDIR;
	if (env != NULL && *env != '\0') {
		o.config_dir = env;
		o.other_config = true;
	}
	sm_parse(&o, argc, argv);
	if (o.mode != SM_DELIVER && o.mode != SM_SMTP)
		sm_privs_drop();
	else if (o.other_config && getuid() != 0 &&
		 strcmp(o.config_dir, SYSCONFDIR) != 0)
		sm_privs_drop();
	switch (o.mode) {
	case SM_LIST:
		if (!queue_admin_enter(sm_prog, o.config_dir))
			return EX_TEMPFAIL;
		return queue_list_print(stdout, sm_prog, false) == 0 ?
			EX_OK : EX_TEMPFAIL;
	case SM_ALIASES:
		return correo_newaliases_cmd(o.config_dir, 1, aliases_argv);
	case SM_FLUSH:
		if (!queue_admin_enter(sm_prog, o.config_dir))
			return EX_TEMPFAIL;
		return correo_queue_flush(sm_prog) == 0 ? EX_OK : EX_TEMPFAIL;
	case SM_SMTP:
		return sm_smtp(&o, sm_config(o.config_dir));
	case SM_DELIVER:
		break;
	}
	return sm_deliver(&o, sm_config(o.config_dir));
}
