/*
 * correo_check: "correo check", the sanity check that also guards
 * "correo start".
 *
 * It loads correo.conf and services.conf (errors carry FILE:LINE), walks
 * the queue tree comparing every directory of queue_dirs[] with its
 * expected mode and owner ($mail_owner when run as root, the invoking
 * user in instance mode), and looks for every daemon services.conf names
 * in $daemon_directory. Each problem is one plain sentence that ends
 * with the fix.
 *
 * Interface: correo_check_cmd (tools/correo.h), tool_check (tool.h).
 *
 * SECURITY: only reads: stat(2), lstat(2), access(2) and the
 * configuration files. Runs with the invoker's privileges.
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfg.h"
#include "mem.h"
#include "msg.h"
#include "priv.h"
#include "queue.h"
#include "str.h"
#include "svc.h"

#include "correo.h"
#include "tool.h"

struct check {
	struct cfg *cfg;
	struct svc_table *services;
	const char *queue_dir;
	bool have_owner;	/* expected_uid is meaningful */
	uid_t expected_uid;
	const char *expected_name;
	bool quiet;
	int problems;
};

static void check_problem(struct check *c, const char *fmt, ...)
	MSG_PRINTF(2, 3);

static void check_vsay(struct check *c, const char *prefix, const char *fmt,
		       va_list ap)
{
	if (c->quiet)
		return;
	fflush(stdout);
	fprintf(stderr, "%s: %s", TOOL_NAME, prefix);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

static void check_problem(struct check *c, const char *fmt, ...)
{
	va_list ap;

	c->problems++;
	va_start(ap, fmt);
	check_vsay(c, "", fmt, ap);
	va_end(ap);
}

/* Something that works but is probably not what the admin wants. */
static void check_warning(struct check *c, const char *fmt, ...)
	MSG_PRINTF(2, 3);

static void check_warning(struct check *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	check_vsay(c, "warning: ", fmt, ap);
	va_end(ap);
}

/* uid's name in buf (copied: getpwuid's buffer is overwritten by the
 * next call, which made "owned by root, expected root" of a queue
 * directory owned by root when another user was expected). */
static const char *check_user_name(uid_t uid, char *buf, size_t size)
{
	struct passwd *pw = getpwuid(uid);

	if (pw != NULL)
		str_snprintf(buf, size, "%s", pw->pw_name);
	else
		str_snprintf(buf, size, "%ld", (long)uid);
	return buf;
}

static void check_user(struct check *c, const char *name, const char *why)
{
	struct priv_user user;
	int r = priv_user_lookup(name, &user);

	if (r > 0) {
		priv_user_free(&user);
		return;
	}
	check_problem(c, "user %s (%s) does not exist: run \"correo "
		      "setup\" as root (or \"systemd-sysusers correo.conf\", "
		      "which the package installs), or \"useradd --system "
		      "--user-group --no-create-home --shell "
		      "/usr/sbin/nologin %s\"", name, why, name);
}

/* Under root every account the configuration names must exist (in
 * instance mode they all collapse to the invoking user). */
static void check_accounts(struct check *c)
{
	const char *drop = tool_cfg_str(c->cfg, "setgid_group", "correodrop");
	struct str why = STR_INIT;

	if (!priv_is_root())
		return;
	check_user(c, tool_cfg_str(c->cfg, "mail_owner", "correo"),
		   "mail_owner");
	check_user(c, tool_cfg_str(c->cfg, "virtual_owner", "vmail"),
		   "virtual_owner");
	if (getgrnam(drop) == NULL)
		check_problem(c, "group %s (setgid_group) does not exist: run "
			      "\"correo setup\" as root (or \"systemd-sysusers "
			      "correo.conf\"), or \"groupadd --system %s\"",
			      drop, drop);
	for (int i = 0; c->services != NULL && i < c->services->count; i++) {
		const struct svc *svc = &c->services->svcs[i];
		int j;

		if (svc->user == NULL || strcmp(svc->user, "root") == 0)
			continue;
		for (j = 0; j < i; j++)
			if (c->services->svcs[j].user != NULL &&
			    strcmp(c->services->svcs[j].user, svc->user) == 0)
				break;
		if (j < i)
			continue;
		str_clear(&why);
		str_printf(&why, "the user of service %s in services.conf",
			   svc->name);
		check_user(c, svc->user, str_c(&why));
	}
	str_release(&why);
}

/* Who should own the queue: $mail_owner under root, else ourselves. */
static void check_expected_owner(struct check *c)
{
	static char name[64];
	struct priv_user user;
	const char *owner;
	int r;

	if (!priv_is_root()) {
		c->expected_uid = getuid();
		c->expected_name = check_user_name(getuid(), name,
						   sizeof(name));
		c->have_owner = true;
		return;
	}
	owner = tool_cfg_str(c->cfg, "mail_owner", "correo");
	r = priv_user_lookup(owner, &user);
	if (r <= 0) {
		/* check_accounts names it. */
		return;
	}
	str_snprintf(name, sizeof(name), "%s", user.name);
	c->expected_uid = user.uid;
	c->expected_name = name;
	c->have_owner = true;
	priv_user_free(&user);
}

static void check_queue_dir(struct check *c, const struct queue_dir_spec *q)
{
	char *path = tool_path(c->queue_dir, q->name);
	char name[64];
	struct stat st;
	unsigned mode;

	/* lstat: master refuses a symlink here (it never follows one). */
	if (lstat(path, &st) < 0) {
		check_problem(c, "queue directory %s is missing (%s): create "
			      "it with \"mkdir -m %o %s\" (as root, \"correo "
			      "setup\" makes the whole tree)", path,
			      strerror(errno), q->mode, path);
		goto done;
	}
	if (!S_ISDIR(st.st_mode)) {
		check_problem(c, "%s is not a directory%s: move it away and "
			      "run \"mkdir -m %o %s\"", path,
			      S_ISLNK(st.st_mode) ? " but a symlink" : "",
			      q->mode, path);
		goto done;
	}
	mode = st.st_mode & 07777;
	if (mode != q->mode)
		check_problem(c, "queue directory %s is mode %04o, expected "
			      "%04o: chmod %o %s", path, mode, q->mode, q->mode,
			      path);
	/* Under root the pid directory stays root's: whoever can write it
	 * can make "correo stop" signal any process. */
	if (priv_is_root() && strcmp(q->name, QUEUE_PID) == 0) {
		if (st.st_uid != 0)
			check_problem(c, "queue directory %s is owned by %s, "
				      "expected root: chown root %s", path,
				      check_user_name(st.st_uid, name,
						      sizeof(name)), path);
	} else if (c->have_owner && st.st_uid != c->expected_uid) {
		check_problem(c, "queue directory %s is owned by %s, expected "
			      "%s: chown %s %s", path,
			      check_user_name(st.st_uid, name, sizeof(name)),
			      c->expected_name, c->expected_name, path);
	}
done:
	mem_free(path);
}

static void check_queue(struct check *c)
{
	const struct queue_dir_spec *q;
	struct stat st;

	if (stat(c->queue_dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		check_problem(c, "queue_directory %s does not exist: create "
			      "the tree with \"correo setup\" (a system "
			      "install, as root; or \"systemd-tmpfiles "
			      "--create correo.conf\"), \"correo init DIR\" "
			      "(an instance), or fix queue_directory in "
			      "correo.conf", c->queue_dir);
		return;
	}
	check_expected_owner(c);
	for (q = queue_dirs; q->name != NULL; q++)
		check_queue_dir(c, q);
}

/* One executable, reported once however many rows run it. */
static void check_program(struct check *c, const char *dir, const char *cmd,
			  const char *why)
{
	char *path = cmd[0] == '/' ? mem_strdup(cmd) : tool_path(dir, cmd);
	struct stat st;

	if (stat(path, &st) < 0)
		check_problem(c, "%s %s does not exist (%s): build and install "
			      "it, or point daemon_directory in correo.conf at "
			      "the directory that holds it", why, path,
			      strerror(errno));
	else if (!S_ISREG(st.st_mode) || access(path, X_OK) < 0)
		check_problem(c, "%s %s is not an executable file: "
			      "chmod 755 %s", why, path, path);
	mem_free(path);
}

static void check_daemons(struct check *c)
{
	const char *dir = tool_cfg_str(c->cfg, "daemon_directory",
				       PKGLIBEXECDIR);
	struct stat st;
	int i;
	int j;

	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		check_problem(c, "daemon_directory %s does not exist: build "
			      "correo (make) or install it (make install), or "
			      "fix daemon_directory in correo.conf", dir);
		return;
	}
	check_program(c, dir, "master", "the supervisor");
	if (c->services == NULL)
		return;
	for (i = 0; i < c->services->count; i++) {
		const char *cmd = c->services->svcs[i].argv[0];

		for (j = 0; j < i; j++)
			if (strcmp(c->services->svcs[j].argv[0], cmd) == 0)
				break;
		if (j == i)
			check_program(c, dir, cmd, "the daemon");
	}
}

/* qmgr keeps its connections to delivery agents open while it has work;
 * an agent service with fewer processes than qmgr's concurrency for it
 * leaves connections unaccepted (qmgr moves their jobs elsewhere, but
 * the limit the admin set is not the one in effect). */
static void check_concurrency(struct check *c)
{
	static const char *const agents[][2] = {
		{ "local", "local_destination_concurrency_limit" },
		{ "smtp", "smtp_destination_concurrency_limit" },
		{ "lmtp", "default_destination_concurrency_limit" },
	};
	long limit, maxproc;

	for (int i = 0; c->services != NULL && i < c->services->count; i++) {
		const struct svc *svc = &c->services->svcs[i];

		for (size_t a = 0; a < sizeof(agents) / sizeof(agents[0]); a++) {
			if (svc->type != SVC_UNIX ||
			    strcmp(svc->name, agents[a][0]) != 0)
				continue;
			maxproc = svc->maxproc >= 0 ? svc->maxproc :
				  cfg_int(c->cfg, "default_process_limit");
			limit = cfg_int(c->cfg, agents[a][1]);
			if (maxproc != 0 && maxproc < limit)
				check_warning(c, "service %s has a process "
					      "limit of %ld, but qmgr may keep "
					      "%ld connections to it (%s), so "
					      "fewer deliveries run at once "
					      "than configured: raise its "
					      "maxproc column in "
					      "services.conf to %ld, or lower "
					      "%s", svc->name, maxproc, limit,
					      agents[a][1], limit,
					      agents[a][1]);
		}
	}
}

/* The pass service a postscreen row hands its clients to: its own
 * "-o postscreen_pass_service=X", else the correo.conf value. */
static const char *check_pass_name(struct check *c, const struct svc *svc)
{
	const char *key = "postscreen_pass_service=";
	const char *name = tool_cfg_str(c->cfg, "postscreen_pass_service",
					"smtpd");
	int k;

	for (k = 1; k < svc->argc; k++)
		if (str_has_prefix(svc->argv[k], key))
			name = svc->argv[k] + strlen(key);
	return name;
}

/* Each postscreen row needs an smtpd row of type unix to hand clients
 * to, and anvil to count them (without it the limits are off). */
static void check_postscreen(struct check *c)
{
	const struct svc *svc, *pass;
	const char *name, *prog;
	bool have_anvil = false, have_postscreen = false;
	int i, j;

	for (i = 0; c->services != NULL && i < c->services->count; i++) {
		svc = &c->services->svcs[i];
		prog = strrchr(svc->argv[0], '/');
		prog = prog != NULL ? prog + 1 : svc->argv[0];
		if (strcmp(prog, "anvil") == 0)
			have_anvil = true;
		if (strcmp(prog, "postscreen") != 0)
			continue;
		have_postscreen = true;
		name = check_pass_name(c, svc);
		pass = NULL;
		for (j = 0; j < c->services->count; j++)
			if (c->services->svcs[j].type == SVC_UNIX &&
			    strcmp(c->services->svcs[j].name, name) == 0)
				pass = &c->services->svcs[j];
		if (pass == NULL)
			check_problem(c, "service %s (postscreen) hands "
				      "clients to \"%s\", but services.conf "
				      "has no unix row of that name: add "
				      "\"%s unix - - n - 100 smtpd\"",
				      svc->name, name, name);
		else if (strstr(pass->argv[0], "smtpd") == NULL)
			check_problem(c, "service %s (postscreen) hands "
				      "clients to \"%s\", which runs %s, not "
				      "smtpd", svc->name, name, pass->argv[0]);
	}
	if (have_postscreen && !have_anvil)
		check_warning(c, "no anvil row in services.conf: connection "
			      "limits are not enforced (add \"anvil unix - - "
			      "n - 1 anvil\")");
}

static void check_log(struct check *c)
{
	const char *log_file = tool_cfg_str(c->cfg, "log_file", "");
	char *dir;
	char *slash;
	struct stat st;

	if (*log_file == '\0')
		return;
	dir = mem_strdup(log_file);
	slash = strrchr(dir, '/');
	if (slash != NULL && slash != dir) {
		*slash = '\0';
		if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
			check_problem(c, "the directory of log_file %s does "
				      "not exist: mkdir -p %s", log_file, dir);
	}
	mem_free(dir);
}

int tool_check(const char *config_dir, bool quiet)
{
	struct check c = { .quiet = quiet };
	char *error = NULL;

	c.cfg = tool_load_config(config_dir, &error);
	if (c.cfg == NULL) {
		check_problem(&c, "%s", error);
		mem_free(error);
		return -1;
	}
	c.services = tool_load_services(config_dir, &error);
	if (c.services == NULL) {
		check_problem(&c, "%s", error);
		mem_free(error);
	}
	c.queue_dir = cfg_str(c.cfg, "queue_directory");
	check_accounts(&c);
	check_queue(&c);
	check_daemons(&c);
	check_concurrency(&c);
	check_postscreen(&c);
	check_log(&c);
	if (c.services != NULL)
		svc_table_free(&c.services);
	cfg_main = NULL;
	cfg_free(&c.cfg);
	return c.problems;
}

int correo_check_cmd(const char *config_dir, int argc, char **argv)
{
	int problems;

	if (argc != 1) {
		fprintf(stderr, "usage: correo [-c DIR] check\n");
		return 2;
	}
	problems = tool_check(config_dir, false);
	if (problems == 0) {
		tool_say("%s: no problems found", config_dir);
		return 0;
	}
	if (problems > 0)
		tool_complain("%d problem%s found", problems,
			      problems == 1 ? "" : "s");
	return 1;
}
