/*
 * local_forward: ~/.forward for system accounts when local runs as root
 * (local.h), as Postfix's local(8) does.
 *
 * When the final recipient of a delivery is a system account (not a
 * virtual mailbox, not an alias's |command or /file), local asks that
 * owner's worker (local_worker.c, running as the owner) to read
 * HOME/.forward: the home is opened as the owner, the file with
 * O_NOFOLLOW|O_NONBLOCK, and it must be a regular file owned by the
 * owner or root that neither group nor others may write. A refused or
 * unreadable file defers the delivery (the owner fixes it and the mail
 * goes out), as a refused :include: file does. No file, or one without
 * a target, means the mailbox as usual.
 *
 * Each line holds targets separated by commas or whitespace ("#" starts
 * a comment line; quotes protect "|command with spaces"):
 *   \user, user, or the recipient's own address: the user's mailbox;
 *   |command, /file: run or appended as the user, only where
 *     allow_mail_to_commands / allow_mail_to_files list "forward";
 *   any other address (a bare name gets the recipient's domain): sent
 *     on in one new queue file with the same envelope sender and
 *     "Delivered-To: recipient" prepended, so the copy that comes back
 *     here bounces as a forwarding loop (local_content_loop).
 *
 * Order: the mailbox, commands and files first; if one of them defers,
 * the whole recipient defers and nothing is sent on (the retry does it
 * all again, so a target that succeeded may get a second copy, as with
 * Postfix); then the new queue file. The recipient's result is the
 * worst of all (defer, then bounce).
 *
 * Interface: local_forward, local_forward_read.
 *
 * SECURITY: the file is read by a process running as its owner, so a
 * user's .forward can never show root what the user could not read,
 * and a symlink or a file others can change is refused. Commands and
 * files run in that owner's worker, never as root or as default_privs.
 * The text comes back to root as one bounded attribute; root only
 * splits it into addresses and paths.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "local.h"
#include "mem.h"
#include "msg.h"
#include "priv.h"
#include "proto.h"
#include "queue.h"
#include "resolve.h"
#include "safe_file.h"
#include "server.h"
#include "str.h"

/* Most bytes of a .forward file. */
#define LOCAL_FORWARD_MAX (16 * 1024)
/* Most addresses one .forward sends on to. */
#define LOCAL_FORWARD_ADDRS 100

/* ---- The worker side (runs as the owner) ---- */

void local_forward_read(const char *home, struct local_result *res)
{
	struct str text = STR_INIT;
	const char *why = NULL;
	struct stat st;
	uid_t owner;
	int dir, fd;

	dir = home != NULL && *home == '/' ?
		open(home, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	if (dir < 0) {
		/* No home (or not ours to enter): no .forward. */
		local_result_set(res, LOCAL_OK, "2.0.0", "N");
		return;
	}
	fd = safe_open_regular(dir, ".forward", &owner, &why);
	close(dir);
	if (fd < 0 && why == NULL && errno == ENOENT) {
		local_result_set(res, LOCAL_OK, "2.0.0", "N");
		return;
	}
	if (fd >= 0 && fstat(fd, &st) < 0)
		why = "cannot be checked";
	else if (fd >= 0 && owner != getuid() && owner != 0)
		why = "is not owned by the user or root";
	else if (fd >= 0 && (st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
		why = "is group or world writable";
	if (fd >= 0 && why != NULL) {
		close(fd);
		fd = -1;
	}
	if (fd < 0) {
		local_result_set(res, LOCAL_DEFER, "4.3.0",
				 "mail system configuration error: %s/.forward"
				 " %s", home, why != NULL ? why :
				 strerror(errno));
		return;
	}
	str_append_c(&text, 'F');
	if (!safe_read_fd(fd, &text, LOCAL_FORWARD_MAX))
		local_result_set(res, LOCAL_DEFER, "4.3.0",
				 "cannot read %s/.forward: %s", home,
				 errno == EFBIG ? "too large" :
				 strerror(errno));
	else
		local_result_set(res, LOCAL_OK, "2.0.0", "%s", str_c(&text));
	close(fd);
	str_release(&text);
}

/* ---- The root side ---- */

struct local_fwd {
	struct local_result res;	/* the worst so far */
	char **addrs;
	size_t naddrs;
	size_t done;			/* local deliveries made */
};

/* Keep the worse of the two results in f->res. */
static void local_fwd_merge(struct local_fwd *f, const struct local_result *r)
{
	if (r->status == LOCAL_OK || (f->res.status == LOCAL_DEFER) ||
	    (f->res.status == LOCAL_BOUNCE && r->status != LOCAL_DEFER))
		return;
	local_result_set(&f->res, r->status, r->dsn, "%s", str_c(&r->reason));
}

/* One target of the file. */
static void local_fwd_target(struct local_fwd *f,
			     const struct local_content *c,
			     const struct resolve_delivery *d,
			     const char *user, const char *target)
{
	struct local_result r = { LOCAL_OK, "2.0.0", STR_INIT };
	struct resolve_delivery t = *d;
	const char *at = strrchr(c->rcpt, '@');
	bool self;

	self = target[0] == '\\' || strcasecmp(target, user) == 0 ||
		strcasecmp(target, c->rcpt) == 0;
	if (self) {
		local_worker_write(c, d, &r);
	} else if (target[0] == '|' || target[0] == '/') {
		bool cmd = target[0] == '|';

		if (!resolve_forward_allows(local_state.resolver, cmd)) {
			local_result_set(&r, LOCAL_BOUNCE, "5.7.1",
					 "mail to %s is restricted",
					 cmd ? "command" : "file");
		} else {
			t.kind = cmd ? RESOLVE_COMMAND : RESOLVE_FILE;
			t.path = (char *)(cmd ? target + 1 : target);
			local_worker_write(c, &t, &r);
		}
	} else if (str_case_prefix(target, ":include:")) {
		local_result_set(&r, LOCAL_BOUNCE, "5.3.5",
				 ":include: is not supported in .forward");
	} else if (f->naddrs >= LOCAL_FORWARD_ADDRS) {
		local_result_set(&r, LOCAL_BOUNCE, "5.3.5",
				 ".forward names more than %d addresses",
				 LOCAL_FORWARD_ADDRS);
	} else {
		f->addrs = mem_array_realloc(f->addrs, f->naddrs + 1,
					     sizeof(*f->addrs));
		f->addrs[f->naddrs++] = strchr(target, '@') != NULL ?
			mem_strdup(target) : str_dup_printf("%s%s", target,
							    at != NULL ? at :
							    "");
		str_release(&r.reason);
		return;
	}
	if (r.status == LOCAL_OK)
		f->done++;
	local_fwd_merge(f, &r);
	str_release(&r.reason);
}

/* Send the message on to f->addrs in one new queue file. */
static bool local_fwd_submit(struct local_fwd *f,
			     const struct local_content *c)
{
	struct queue_writer *w = queue_writer_create();
	struct str head = STR_INIT;
	char buf[65536];
	off_t pos = 0;
	ssize_t n;
	bool ok;

	if (w == NULL)
		return false;
	queue_writer_sender(w, c->sender);
	queue_writer_attr(w, "protocol", "local");
	for (size_t i = 0; i < f->naddrs; i++)
		queue_writer_rcpt(w, f->addrs[i], c->rcpt, 0);
	/* The recipient never has CR or LF (smtpd checked the envelope). */
	str_printf(&head, "Delivered-To: %s\n", c->rcpt);
	ok = queue_writer_content(w, head.data, head.len);
	while (ok && (n = queue_msg_content_read(c->msg, pos, buf,
						 sizeof(buf))) > 0) {
		ok = queue_writer_content(w, buf, (size_t)n);
		pos += n;
	}
	ok = ok && n == 0 && queue_writer_commit(w);
	if (ok) {
		msg_info("%s: forwarded as %s to %zu address(es)",
			 c->msg->id, queue_writer_id(w), f->naddrs);
		/* qmgr's next scan finds it anyway if the trigger fails. */
		(void)server_trigger(QUEUE_PRIVATE "/qmgr",
				     PROTO_TRIGGER_SCAN);
		queue_writer_free(&w);
	} else {
		queue_writer_abort(&w);
	}
	str_release(&head);
	return ok;
}

bool local_forward(const struct local_content *c,
		   const struct local_rcpt *rcpt,
		   const struct resolve_delivery *d, struct local_result *res)
{
	struct resolve_delivery rd = *d;
	struct local_fwd f = { { LOCAL_OK, "2.0.0", STR_INIT }, NULL, 0, 0 };
	struct priv_user user;
	char *cursor, *line;
	char *text;
	bool handled = true;

	if (rcpt->target != NULL || d->class != RESOLVE_LOCAL ||
	    d->user == NULL || !local_state.switch_user ||
	    (d->kind != RESOLVE_MAILDIR && d->kind != RESOLVE_MAILBOX))
		return false;
	if (priv_user_lookup(d->user, &user) <= 0)
		return false;
	rd.kind = (enum resolve_kind)LOCAL_KIND_FORWARD;
	rd.path = user.home;
	local_worker_write(c, &rd, res);
	if (res->status != LOCAL_OK) {
		msg_warn("%s: %s", c->msg->id, str_c(&res->reason));
		priv_user_free(&user);
		return true;
	}
	if (str_c(&res->reason)[0] != 'F') {
		priv_user_free(&user);
		return false;
	}
	text = mem_strdup(str_c(&res->reason) + 1);
	cursor = text;
	while ((line = str_token(&cursor, "\n")) != NULL) {
		size_t count;
		char **targets;

		line = str_trim(line);
		if (*line == '#' || *line == '\0')
			continue;
		targets = resolve_targets(line, &count);
		for (size_t i = 0; i < count; i++)
			local_fwd_target(&f, c, d, user.name, targets[i]);
		resolve_targets_free(targets, count);
	}
	if (f.done == 0 && f.naddrs == 0 && f.res.status == LOCAL_OK) {
		handled = false;	/* no target: the mailbox */
	} else if (f.res.status == LOCAL_DEFER) {
		local_result_set(res, f.res.status, f.res.dsn, "%s",
				 str_c(&f.res.reason));
	} else if (f.naddrs > 0 && !local_fwd_submit(&f, c)) {
		local_result_set(res, LOCAL_DEFER, "4.3.0",
				 "cannot forward: queue file: %s",
				 strerror(errno));
	} else if (f.res.status == LOCAL_BOUNCE) {
		local_result_set(res, f.res.status, f.res.dsn, "%s",
				 str_c(&f.res.reason));
	} else {
		local_result_set(res, LOCAL_OK, "2.0.0",
				 "delivered via %s/.forward (%zu local, %zu "
				 "forwarded)", user.home, f.done, f.naddrs);
	}
	for (size_t i = 0; i < f.naddrs; i++)
		mem_free(f.addrs[i]);
	free(f.addrs);
	mem_free(text);
	str_release(&f.res.reason);
	priv_user_free(&user);
	return handled;
}
