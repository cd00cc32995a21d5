/*
 * correo_init: "correo init DIR", a complete, ready instance in one step.
 *
 *   correo init DIR [--domain D] [--ports BASE] [--listen ADDR]
 *                   [--daemon-dir PATH] [--webmail [--webmail-port PORT]]
 *                   [--table-type hash|btree|lmdb]
 *
 * Writes DIR/correo.conf (every path under DIR), DIR/services.conf (smtp
 * on ADDR:BASE+25, submission on BASE+587 and BASE+465, each behind
 * postscreen, anvil, qmgr, local, auth; later services commented out),
 * DIR/tls/ (a self-signed certificate for mail.D and a session ticket
 * key), the queue
 * tree of queue_dirs[] with its modes, DIR/log/, DIR/mail/ and a demo
 * virtual mailbox demo@D with its tables built. BASE defaults to a range
 * whose ports are free right now; ADDR to 127.0.0.1, so instances on a
 * shared machine do not take the real ports or other interfaces.
 * --table-type picks the format of the tables init writes and names in
 * correo.conf (alias_maps, virtual_mailbox_maps, auth_password_maps):
 * hash (the default, Berkeley DB) or lmdb for a site without Berkeley DB.
 * --webmail adds DIR/webmail/, Roundcube on lighttpd at ADDR:BASE+80
 * (tools/correo_webmail.c).
 *
 * Run as root it also creates the system users and group the
 * privilege-separated setup needs (mail_owner, virtual_owner,
 * setgid_group) and hands the queue and mail trees to them, so the same
 * instance runs privilege-separated when root starts it.
 *
 * Interface: correo_init_cmd (tools/correo.h).
 *
 * SECURITY: refuses a DIR that exists and is not empty, so it never
 * overwrites anything. As root it runs useradd/groupadd by absolute
 * path with a fixed argument vector (no shell) and chowns only what it
 * just created. Directories are made and opened one component at a time
 * from DIR's descriptor without following symlinks (safe_mkdirat), and
 * chmod/chown go through descriptors, so a user who owns a directory
 * already handed over (vmail owns mail/ before mail/DOMAIN is made)
 * cannot redirect root to another file with a symlink.
 */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dict.h"
#include "mem.h"
#include "msg.h"
#include "priv.h"
#include "queue.h"
#include "safe_file.h"
#include "str.h"
#include "tls.h"

#include "correo.h"
#include "correo_init.h"
#include "tool.h"

#define INIT_MAIL_OWNER "correo"
#define INIT_VMAIL "vmail"
#define INIT_DROP_GROUP "correodrop"
#define INIT_PORT_MIN 10000
#define INIT_PORT_MAX 60000
#define INIT_PORT_STEP 1000
#define INIT_WEBMAIL_OFFSET 80

/* Ports above 1023 that Chromium and Firefox refuse to open
 * (ERR_UNSAFE_PORT): a webmail there could not be reached. (Most ports
 * below 1024 are refused too; an instance's ports are above.) */
static const long init_browser_refused[] = {
	1719, 1720, 1723, 2049, 3659, 4045, 4190, 5060, 5061, 6000, 6566,
	6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080,
};

static bool init_browser_refuses(long port)
{
	for (size_t i = 0; i < sizeof(init_browser_refused) /
	     sizeof(*init_browser_refused); i++)
		if (init_browser_refused[i] == port)
			return true;
	return false;
}

/* The webmail's port for a base: BASE + 80, or the next one a browser
 * opens. */
static long init_webmail_port(long base)
{
	long port = base + INIT_WEBMAIL_OFFSET;

	while (init_browser_refuses(port))
		port++;
	return port;
}

/* Offsets from BASE: smtp first, then the rows kept for later issues. */
static const int init_port_offsets[] = { 25, 587, 465, 110, 143, 993, 995 };
#define INIT_NPORTS (sizeof(init_port_offsets) / sizeof(init_port_offsets[0]))

struct init {
	char *dir;		/* absolute */
	int dir_fd;		/* dir, opened once (O_NOFOLLOW) */
	const char *domain;
	const char *listen;
	char *daemon_dir;
	long port_base;		/* 0: pick one */
	bool webmail;
	long webmail_port;	/* 0: BASE + 80 */
	const char *table_type;	/* hash, btree or lmdb */
	bool root;
	uid_t owner_uid, vmail_uid;
	gid_t owner_gid, vmail_gid, drop_gid;
};

static int init_usage(void)
{
	fprintf(stderr, "usage: correo init DIR [--domain DOMAIN] "
		"[--ports BASE] [--listen ADDR] [--daemon-dir PATH]\n"
		"       [--webmail [--webmail-port PORT]] "
		"[--table-type hash|btree|lmdb]\n");
	return 2;
}

static bool init_domain_ok(const char *d)
{
	const char *p;

	if (*d == '\0' || *d == '.' || *d == '-' || strlen(d) > 253)
		return false;
	for (p = d; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-')
			return false;
	return strstr(d, "..") == NULL && p[-1] != '.';
}

/* "--name value" or "--name=value"; advances *i past what it used. */
static const char *init_opt(const char *name, int argc, char **argv, int *i)
{
	size_t len = strlen(name);

	if (strncmp(argv[*i], name, len) != 0)
		return NULL;
	if (argv[*i][len] == '=')
		return argv[*i] + len + 1;
	if (argv[*i][len] != '\0' || *i + 1 >= argc)
		return NULL;
	return argv[++*i];
}

static bool init_parse(struct init *in, int argc, char **argv,
		       const char **dir_r)
{
	const char *v;
	int i;

	for (i = 1; i < argc; i++) {
		if ((v = init_opt("--domain", argc, argv, &i)) != NULL)
			in->domain = v;
		else if ((v = init_opt("--listen", argc, argv, &i)) != NULL)
			in->listen = v;
		else if ((v = init_opt("--daemon-dir", argc, argv, &i)) != NULL)
			in->daemon_dir = mem_strdup(v);
		else if ((v = init_opt("--table-type", argc, argv,
				       &i)) != NULL) {
			if (strcmp(v, "hash") != 0 && strcmp(v, "btree") != 0 &&
			    strcmp(v, "lmdb") != 0) {
				tool_complain("--table-type %s: expected hash, "
					      "btree or lmdb", v);
				return false;
			}
			in->table_type = v;
		} else if (strcmp(argv[i], "--webmail") == 0)
			in->webmail = true;
		else if ((v = init_opt("--webmail-port", argc, argv,
				       &i)) != NULL) {
			in->webmail = true;
			if (!str_to_long(v, 1, 65535, &in->webmail_port)) {
				tool_complain("--webmail-port %s: expected a "
					      "port number", v);
				return false;
			}
			if (init_browser_refuses(in->webmail_port)) {
				tool_complain("--webmail-port %s: browsers "
					      "refuse to open that port "
					      "(ERR_UNSAFE_PORT): choose "
					      "another", v);
				return false;
			}
		}
		else if ((v = init_opt("--ports", argc, argv, &i)) != NULL) {
			if (!str_to_long(v, 1, 65535 - 995, &in->port_base)) {
				tool_complain("--ports %s: expected a number "
					      "between 1 and %d", v,
					      65535 - 995);
				return false;
			}
		} else if (argv[i][0] == '-' || *dir_r != NULL)
			return false;
		else
			*dir_r = argv[i];
	}
	return true;
}

static bool init_port_free(const char *addr, int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int one = 1;
	bool ok;
	int fd;

	sin.sin_port = htons((unsigned short)port);
	if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1)
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return false;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	ok = bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
	close(fd);
	return ok;
}

/* A base whose ports are all free now, starting at a random place so
 * instances created side by side (parallel tests) rarely collide. */
static long init_pick_ports(const char *addr, bool webmail)
{
	long n = (INIT_PORT_MAX - INIT_PORT_MIN) / INIT_PORT_STEP;
	long start = ((long)getpid() ^ (long)time(NULL)) % n;
	long k;
	size_t j;

	for (k = 0; k < n; k++) {
		long base = INIT_PORT_MIN + ((start + k) % n) * INIT_PORT_STEP;

		for (j = 0; j < INIT_NPORTS; j++)
			if (!init_port_free(addr, (int)base +
					    init_port_offsets[j]))
				break;
		if (j == INIT_NPORTS && (!webmail ||
		    init_port_free(addr, (int)init_webmail_port(base))))
			return base;
	}
	return 0;
}

/* DIR may exist only as an empty directory. */
static bool init_make_dir(const char *dir)
{
	DIR *d;
	struct dirent *e;
	struct stat st;
	bool empty = true;

	if (mkdir(dir, 0755) == 0)
		return true;
	if (errno == ENOENT && safe_mkdir_p(dir, 0755))
		return true;
	if (errno != EEXIST || (d = opendir(dir)) == NULL) {
		tool_complain("cannot create %s: %s", dir, strerror(errno));
		return false;
	}
	/* root must not fill a directory someone else prepared (/tmp). */
	if (fstat(dirfd(d), &st) == 0 && st.st_uid != geteuid()) {
		closedir(d);
		tool_complain("%s exists and belongs to another user: choose "
			      "a new directory", dir);
		return false;
	}
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			empty = false;
	closedir(d);
	if (!empty)
		tool_complain("%s exists and is not empty: choose a new "
			      "directory (correo init never overwrites)", dir);
	return empty;
}

/* The instance directory must be searchable by the users the daemons
 * run as (correo, vmail), whatever the umask or mktemp made it. Opened
 * once, without following a symlink; everything below goes through
 * this descriptor. */
static bool init_open_dir(struct init *in)
{
	struct stat st;

	in->dir_fd = open(in->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
			  O_CLOEXEC);
	if (in->dir_fd < 0 || fstat(in->dir_fd, &st) < 0) {
		tool_complain("cannot open %s: %s", in->dir, strerror(errno));
		return false;
	}
	if (st.st_uid != geteuid()) {
		tool_complain("%s belongs to another user: choose a new "
			      "directory", in->dir);
		return false;
	}
	if (fchmod(in->dir_fd, 0755) < 0) {
		tool_complain("chmod 755 %s: %s", in->dir, strerror(errno));
		return false;
	}
	return true;
}

/* An explicit --ports BASE: every port init assigns must be free. */
static bool init_ports_free(const char *addr, long base)
{
	for (size_t j = 0; j < INIT_NPORTS; j++) {
		if (!init_port_free(addr, (int)base + init_port_offsets[j])) {
			tool_complain("port %ld on %s is in use: choose another"
				      " --ports BASE", base +
				      init_port_offsets[j], addr);
			return false;
		}
	}
	return true;
}

/* The build tree's libexec/ when this correo runs from a build tree. */
static char *init_daemon_dir(void)
{
	char *self = tool_self_dir();
	char *dir;
	char *master;
	bool found;

	if (self == NULL)
		return mem_strdup(PKGLIBEXECDIR);
	dir = tool_path(self, "libexec");
	master = tool_path(dir, "master");
	found = access(master, X_OK) == 0;
	mem_free(master);
	mem_free(self);
	if (found)
		return dir;
	mem_free(dir);
	return mem_strdup(PKGLIBEXECDIR);
}

static bool init_write(const char *dir, const char *name, const char *text,
		       mode_t mode)
{
	char *path = tool_path(dir, name);
	bool ok = safe_write_file(path, text, strlen(text), mode);

	if (!ok)
		tool_complain("cannot write %s: %s", path, strerror(errno));
	mem_free(path);
	return ok;
}

static bool init_config(const struct init *in)
{
	struct str s = STR_INIT;
	bool ok;

	str_printf(&s,
		   "# correo.conf: written by \"correo init\". Every path "
		   "lives under this\n"
		   "# directory. \"correo -c %s config\" shows every "
		   "parameter.\n"
		   "queue_directory = $config_directory/queue\n"
		   "daemon_directory = %s\n"
		   "log_file = $config_directory/log/correo.log\n"
		   "myhostname = mail.%s\n"
		   "mydomain = %s\n"
		   "mydestination = $myhostname, localhost\n"
		   "virtual_mailbox_domains = %s\n"
		   "virtual_mailbox_maps = %s:$config_directory/vmailbox\n"
		   "virtual_mailbox_base = $config_directory/mail\n"
		   "alias_maps = %s:$config_directory/aliases\n",
		   in->dir, in->daemon_dir, in->domain, in->domain,
		   in->domain, in->table_type, in->table_type);
	/* The default names a hash: table; say it when it is another. */
	if (strcmp(in->table_type, "hash") != 0)
		str_printf(&s, "auth_password_maps = %s:$config_directory/"
			   "passwd\n", in->table_type);
	ok = init_write(in->dir, "correo.conf", str_c(&s), 0644);
	str_release(&s);
	return ok;
}

/* One services.conf row, columns aligned; "#" prefix for rows kept for
 * later releases. */
static void init_row(struct str *s, const char *prefix, const char *name,
		     const char *rest)
{
	str_printf(s, "%s%-*s %s\n", prefix, 20 - (int)strlen(prefix), name,
		   rest);
}

/* The login front ends' inet rows up to their command. */
#define INIT_LOGIN_ROW "inet n       " CORREO_LOGIN_USER " y -   100     "

struct init_listen {
	const char *listen;	/* NULL: a bare port (inet_interfaces) */
	long port_base;
};

static void init_inet_row(struct str *s, const struct init_listen *in,
			  const char *prefix, int offset, const char *rest)
{
	struct str name = STR_INIT;

	/* An IPv6 address needs brackets before ":port". */
	if (in->listen == NULL)
		str_printf(&name, "%ld", in->port_base + offset);
	else
		str_printf(&name, strchr(in->listen, ':') != NULL ?
			   "[%s]:%ld" : "%s:%ld", in->listen,
			   in->port_base + offset);
	init_row(s, prefix, str_c(&name), rest);
	str_release(&name);
}

void correo_init_services(struct str *out, const char *listen,
			  long port_base)
{
	const struct init_listen l = { listen, port_base };
	const struct init_listen *in = &l;
	struct str s = STR_INIT;

	str_append(&s, "# services.conf: the services master runs "
		   "(correo(8), services.conf(5)).\n");
	init_row(&s, "# ", "service", "type private user chroot wakeup "
		 "maxproc command + args");
	/* SMTP: postscreen holds each port's clients until they speak, then
	 * hands them to the smtpd pass row named by
	 * postscreen_pass_service; anvil counts clients for both.
	 * correo-postscreen(8), correo-smtpd(8), correo-anvil(8). */
	init_inet_row(&s, in, "", 25, "inet n       -    n      -      1"
		      "       postscreen");
	init_row(&s, "", "smtpd", "unix -       -    n      -      100     "
		 "smtpd");
	init_row(&s, "", "anvil", "unix -       -    n      -      1       "
		 "anvil");
	init_row(&s, "", "qmgr", "unix -       -    n      300    1       "
		 "qmgr");
	init_row(&s, "", "local", "unix -       root n      -      10      "
		 "local");
	init_row(&s, "", "auth", "unix -       " CORREO_AUTH_USER
		 " n      -      1       auth");
	/* Submission (RFC 6409, 8314): STARTTLS then AUTH on 587, TLS from
	 * the first byte on 465 (postscreen holds those clients until their
	 * ClientHello); correo-smtpd(8), correo.conf(5). */
	init_inet_row(&s, in, "", 587, "inet n       -    n      -      1"
		      "       postscreen"
		      " -o postscreen_pass_service=submission");
	init_row(&s, "", "submission", "unix -       -    n      -      100"
		 "     smtpd -o smtpd_tls_security_level=encrypt"
		 " -o smtpd_sasl_auth_enable=yes"
		 " -o smtpd_require_auth=yes");
	init_inet_row(&s, in, "", 465, "inet n       -    n      -      1"
		      "       postscreen"
		      " -o postscreen_pass_service=submissions"
		      " -o smtpd_tls_wrappermode=yes");
	init_row(&s, "", "submissions", "unix -       -    n      -      100"
		 "     smtpd -o smtpd_tls_wrappermode=yes"
		 " -o smtpd_sasl_auth_enable=yes"
		 " -o smtpd_require_auth=yes");
	init_row(&s, "", "pickup", "unix n       -    n      60     1       "
		 "pickup");
	/* Relay: qmgr hands non-local mail to private/<transport>. */
	init_row(&s, "", "smtp", "unix -       -    n      -      -       "
		 "smtp");
	init_row(&s, "", "lmtp", "unix -       -    n      -      -       "
		 "smtp");
	/* POP3: the front end, jailed, and the mail-process spawner,
	 * one per front-end process (so no process limit of its own: the
	 * front-end rows' limits bound it, and a flood on one port cannot
	 * take the spawners another port needs); correo-pop3d(8). */
	init_row(&s, "", "pop3d", "unix -       root n      -      0       "
		 "pop3d");
	init_inet_row(&s, in, "", 110, INIT_LOGIN_ROW "pop3-login");
	init_inet_row(&s, in, "", 995, INIT_LOGIN_ROW
		      "pop3-login -o pop3_tls_wrapper=yes");
	/* IMAP: the same shape as POP3; correo-imapd(8). */
	init_row(&s, "", "imapd", "unix -       root n      -      0       "
		 "imapd");
	init_inet_row(&s, in, "", 143, INIT_LOGIN_ROW "imap-login");
	init_inet_row(&s, in, "", 993, INIT_LOGIN_ROW
		      "imap-login -o imap_tls_wrapper=yes");
	/* Metrics for Prometheus on a loopback port, off until the
	 * administrator wants it (it opens a port); correo-metrics(8). */
	init_row(&s, "#", "127.0.0.1:9154", "inet n       -    n      -"
		 "      1       metrics");
	str_append(out, str_c(&s));
	str_release(&s);
}

static bool init_services(const struct init *in)
{
	struct str s = STR_INIT;
	bool ok;

	correo_init_services(&s, in->listen, in->port_base);
	ok = init_write(in->dir, "services.conf", str_c(&s), 0644);
	str_release(&s);
	return ok;
}

/* mkdirat + fchmod (umask must not decide) + fchown under root, on the
 * descriptor of the directory opened without following a symlink.
 * shown is its path for messages. Returns its fd, or -1. */
int correo_init_mkdirat(int parent, const char *name, const char *shown,
			mode_t mode, uid_t uid, gid_t gid, bool root)
{
	int fd = safe_mkdirat(parent, name, mode, NULL);

	if (fd < 0) {
		tool_complain("cannot create %s: %s%s", shown, strerror(errno),
			      errno == ELOOP || errno == ENOTDIR ?
			      " (a symlink or not a directory)" : "");
		return -1;
	}
	if (fchmod(fd, mode) < 0 || (root && fchown(fd, uid, gid) < 0)) {
		tool_complain("cannot set up %s: %s", shown, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* init_mkdirat for a directory only made, not worked in. */
static bool init_mkdir(int parent, const char *parent_path,
		       const char *name, mode_t mode, uid_t uid, gid_t gid,
		       bool root)
{
	char *path = tool_path(parent_path, name);
	int fd = correo_init_mkdirat(parent, name, path, mode, uid, gid, root);

	mem_free(path);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

bool correo_init_queue(int parent_fd, const char *parent_path,
		       const char *name, const struct correo_init_ids *ids,
		       bool root)
{
	char *queue = tool_path(parent_path, name);
	const struct queue_dir_spec *q;
	int qfd = correo_init_mkdirat(parent_fd, name, queue, 0755, 0, 0, root);
	bool ok = qfd >= 0;

	for (q = queue_dirs; ok && q->name != NULL; q++) {
		uid_t uid = ids->owner_uid;
		gid_t gid = ids->owner_gid;

		if (strcmp(q->name, QUEUE_PID) == 0)
			uid = gid = 0;
		else if (strcmp(q->name, QUEUE_MAILDROP) == 0 ||
			 strcmp(q->name, QUEUE_PUBLIC) == 0)
			gid = ids->drop_gid;
		ok = init_mkdir(qfd, queue, q->name, q->mode, uid, gid, root);
	}
	if (qfd >= 0)
		close(qfd);
	mem_free(queue);
	return ok;
}

static bool init_queue(const struct init *in)
{
	const struct correo_init_ids ids = {
		.owner_uid = in->owner_uid, .owner_gid = in->owner_gid,
		.drop_gid = in->drop_gid,
	};

	return correo_init_queue(in->dir_fd, in->dir, "queue", &ids,
				 in->root);
}

/* mail/DOMAIN/demo/{cur,new,tmp}, vmail's: mail/ is vmail's already,
 * so each level is made and opened from its parent's descriptor. */
static bool init_maildir(const struct init *in)
{
	static const char *const names[] = { "mail", NULL, "demo" };
	static const char *const subs[] = { "cur", "new", "tmp" };
	struct str path = STR_INIT;
	int fd = in->dir_fd, next;
	bool ok = true;
	size_t i;

	str_append(&path, in->dir);
	for (i = 0; ok && i < 3; i++) {
		const char *name = names[i] != NULL ? names[i] : in->domain;

		str_printf(&path, "/%s", name);
		next = correo_init_mkdirat(fd, name, str_c(&path), 0700,
				    in->vmail_uid, in->vmail_gid, in->root);
		if (fd != in->dir_fd)
			close(fd);
		fd = next;
		ok = fd >= 0;
	}
	for (i = 0; ok && i < 3; i++)
		ok = init_mkdir(fd, str_c(&path), subs[i], 0700,
				in->vmail_uid, in->vmail_gid, in->root);
	if (fd >= 0 && fd != in->dir_fd)
		close(fd);
	str_release(&path);
	return ok;
}

/* The demo mailbox: tables (text + .db or .lmdb) and the Maildir itself. */
static bool init_demo(const struct init *in)
{
	struct str s = STR_INIT;
	char *error = NULL;
	char *path;
	bool ok = true;
	size_t i;

	str_printf(&s, "# virtual address -> Maildir under "
		   "virtual_mailbox_base.\n# Rebuild: correo -c %s map "
		   "%s:%s/vmailbox\ndemo@%s %s/demo/\n", in->dir,
		   in->table_type, in->dir, in->domain, in->domain);
	ok = init_write(in->dir, "vmailbox", str_c(&s), 0644);
	str_clear(&s);
	str_printf(&s, "# local aliases. Rebuild: correo -c %s newaliases\n"
		   "postmaster: demo@%s\nabuse: demo@%s\nroot: demo@%s\n"
		   "mailer-daemon: postmaster\n", in->dir, in->domain,
		   in->domain, in->domain);
	ok = ok && init_write(in->dir, "aliases", str_c(&s), 0644);
	for (i = 0; ok && i < 2; i++) {
		path = tool_path(in->dir, i == 0 ? "vmailbox" : "aliases");
		if (!dict_build(in->table_type, path, &error)) {
			tool_complain("%s", error);
			mem_free(error);
			ok = false;
		}
		mem_free(path);
	}
	ok = ok && init_maildir(in);
	str_release(&s);
	return ok;
}

/* A self-signed certificate and a session ticket key, so STARTTLS
 * and port 465 work out of the box (replace them with real ones). */
static bool init_tls(const struct init *in)
{
	char *dir = tool_path(in->dir, "tls");
	char *cert = tool_path(dir, "cert.pem");
	char *key = tool_path(dir, "key.pem");
	char *ticket = tool_path(dir, "ticket.key");
	struct str host = STR_INIT;
	char *error = NULL;
	bool ok = init_mkdir(in->dir_fd, in->dir, "tls", 0755, 0, 0, false);

	str_printf(&host, "mail.%s", in->domain);
	if (ok && (!tls_make_selfsigned(cert, key, str_c(&host), &error) ||
		   !tls_make_ticket_key(ticket, &error))) {
		tool_complain("%s", error);
		mem_free(error);
		ok = false;
	}
	str_release(&host);
	mem_free(ticket);
	mem_free(key);
	mem_free(cert);
	mem_free(dir);
	return ok;
}

static bool init_dirs(const struct init *in)
{
	return init_mkdir(in->dir_fd, in->dir, "log", 0755, 0, 0, false) &&
	       init_mkdir(in->dir_fd, in->dir, "mail", 0700, in->vmail_uid,
			  in->vmail_gid, in->root);
}

/* Run a program (absolute path, no shell); true if it exited 0. */
bool correo_init_run(char *const argv[])
{
	int status;
	pid_t pid;

	fflush(NULL);
	if ((pid = fork()) < 0)
		return false;
	if (pid == 0) {
		execv(argv[0], argv);
		fprintf(stderr, "correo: cannot run %s: %s\n", argv[0],
			strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return false;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* Another correo init (or any admin tool) may be creating the same
 * account at the same moment: useradd then fails ("already exists", or
 * /etc/passwd is locked). Look again, and retry a few times. */
#define INIT_ACCOUNT_TRIES 20

static void init_account_backoff(void)
{
	struct timespec ts = { 0, 100 * 1000 * 1000 };

	nanosleep(&ts, NULL);
}

bool correo_init_group(const char *name, gid_t *gid_r)
{
	char *const add[] = { "/usr/sbin/groupadd", "--system", (char *)name,
			      NULL };
	struct group *gr = getgrnam(name);

	if (gr == NULL) {
		tool_say("creating system group %s", name);
		for (int i = 0; i < INIT_ACCOUNT_TRIES && gr == NULL; i++) {
			if (!correo_init_run(add))
				init_account_backoff();
			gr = getgrnam(name);
		}
		if (gr == NULL) {
			tool_complain("cannot create group %s", name);
			return false;
		}
	}
	*gid_r = gr->gr_gid;
	return true;
}

bool correo_init_user(const char *name, uid_t *uid_r, gid_t *gid_r)
{
	char *const add[] = { "/usr/sbin/useradd", "--system", "--user-group",
			      "--no-create-home", "--home-dir", "/nonexistent",
			      "--shell", "/usr/sbin/nologin", (char *)name,
			      NULL };
	struct passwd *pw = getpwnam(name);

	if (pw == NULL) {
		tool_say("creating system user %s", name);
		for (int i = 0; i < INIT_ACCOUNT_TRIES && pw == NULL; i++) {
			if (!correo_init_run(add))
				init_account_backoff();
			pw = getpwnam(name);
		}
		if (pw == NULL) {
			tool_complain("cannot create user %s", name);
			return false;
		}
	}
	*uid_r = pw->pw_uid;
	*gid_r = pw->pw_gid;
	return true;
}

bool correo_init_accounts(const char *owner, const char *vmail,
			  const char *drop, struct correo_init_ids *ids)
{
	uid_t auth_uid;		/* correo-auth(8) reads the password table */
	gid_t auth_gid;
	uid_t login_uid;	/* pop3-login: pre-login, jailed */
	gid_t login_gid;

	return correo_init_user(owner, &ids->owner_uid, &ids->owner_gid) &&
	       correo_init_user(vmail, &ids->vmail_uid, &ids->vmail_gid) &&
	       correo_init_user(CORREO_AUTH_USER, &auth_uid, &auth_gid) &&
	       correo_init_user(CORREO_LOGIN_USER, &login_uid, &login_gid) &&
	       correo_init_group(drop, &ids->drop_gid);
}

/* Root only: the accounts of the privilege-separated setup. */
static bool init_accounts(struct init *in)
{
	struct correo_init_ids ids;
	uid_t web_uid;		/* the webmail's web server */
	gid_t web_gid;

	if (in->webmail && !correo_init_user(WEBMAIL_USER, &web_uid,
					     &web_gid))
		return false;
	if (!correo_init_accounts(INIT_MAIL_OWNER, INIT_VMAIL,
				  INIT_DROP_GROUP, &ids))
		return false;
	in->owner_uid = ids.owner_uid;
	in->owner_gid = ids.owner_gid;
	in->vmail_uid = ids.vmail_uid;
	in->vmail_gid = ids.vmail_gid;
	in->drop_gid = ids.drop_gid;
	return true;
}

/* Roundcube on lighttpd for this instance (correo_webmail.c). */
static bool init_webmail(struct init *in)
{
	char *cafile = tool_path(in->dir, "tls/cert.pem");
	struct webmail_setup w = {
		.dir = in->dir, .dir_fd = in->dir_fd, .domain = in->domain,
		.listen = in->listen, .cafile = cafile, .root = in->root,
		.imap_port = in->port_base + 143,
		.submission_port = in->port_base + 587,
	};
	bool ok;

	if (in->webmail_port == 0)
		in->webmail_port = init_webmail_port(in->port_base);
	w.web_port = in->webmail_port;
	if (!init_port_free(in->listen, (int)w.web_port)) {
		tool_complain("webmail port %ld on %s is in use: choose "
			      "another --webmail-port", w.web_port,
			      in->listen);
		mem_free(cafile);
		return false;
	}
	ok = webmail_setup(&w);
	mem_free(cafile);
	return ok;
}

static void init_report(const struct init *in)
{
	char *self_dir = tool_self_dir();
	struct str correo = STR_INIT;
	long smtp = in->port_base + 25;

	str_printf(&correo, "%s%scorreo -c %s",
		   self_dir != NULL ? self_dir : "",
		   self_dir != NULL ? "/" : "", in->dir);
	tool_say("created a correo instance in %s", in->dir);
	printf("  config:    %s/correo.conf, %s/services.conf\n"
	       "  daemons:   %s\n"
	       "  queue:     %s/queue\n"
	       "  log:       %s/log/correo.log\n"
	       "  mailbox:   demo@%s -> %s/mail/%s/demo/ (Maildir)\n"
	       "  smtp:      %s port %ld (submission: %ld STARTTLS, %ld TLS)\n"
	       "%s"
	       "Start it:    %s start\n"
	       "Status:      %s status\n"
	       "Send a test: swaks --server %s --port %ld --to demo@%s "
	       "--from you@example.org\n"
	       "Read it:     ls %s/mail/%s/demo/new/\n"
	       "Stop it:     %s stop\n",
	       in->dir, in->dir, in->daemon_dir, in->dir, in->dir,
	       in->domain, in->dir, in->domain, in->listen, smtp,
	       in->port_base + 587, in->port_base + 465,
	       in->root ? "  (run as root: queue owned by " INIT_MAIL_OWNER
			  ", mailboxes by " INIT_VMAIL ")\n" : "",
	       str_c(&correo), str_c(&correo), in->listen, smtp, in->domain,
	       in->dir, in->domain, str_c(&correo));
	if (in->webmail)
		printf("Webmail:     %s webmail start, then http://%s:%ld/ "
		       "(demo@%s)\n", str_c(&correo), in->listen,
		       in->webmail_port, in->domain);
	str_release(&correo);
	mem_free(self_dir);
}

static bool init_absolute(struct init *in, const char *dir)
{
	char buf[PATH_MAX];

	if (!init_make_dir(dir))
		return false;
	if (realpath(dir, buf) == NULL) {
		tool_complain("%s: %s", dir, strerror(errno));
		return false;
	}
	in->dir = mem_strdup(buf);
	return init_open_dir(in);
}

int correo_init_cmd(const char *config_dir, int argc, char **argv)
{
	struct init in = { .domain = "demo.test", .listen = "127.0.0.1",
			   .table_type = "hash",
			   .dir_fd = -1 };
	const char *dir = NULL;
	int ret = 1;

	if (!init_parse(&in, argc, argv, &dir))
		return init_usage();
	if (dir == NULL && strcmp(config_dir, SYSCONFDIR) != 0)
		dir = config_dir;
	if (dir == NULL || !init_domain_ok(in.domain)) {
		if (dir != NULL)
			tool_complain("--domain %s: not a domain name",
				      in.domain);
		return init_usage();
	}
	in.root = priv_is_root();
	if (in.webmail && !webmail_installed(false))
		return 1;
	if (in.port_base != 0 && !init_ports_free(in.listen, in.port_base))
		return 1;
	if (in.port_base == 0 && (in.port_base =
				  init_pick_ports(in.listen, in.webmail)) == 0) {
		tool_complain("no free port range found on %s; give one with "
			      "--ports BASE", in.listen);
		return 1;
	}
	if (in.daemon_dir == NULL)
		in.daemon_dir = init_daemon_dir();
	if ((in.root && !init_accounts(&in)) || !init_absolute(&in, dir))
		goto done;
	if (init_config(&in) && init_services(&in) && init_queue(&in) &&
	    init_dirs(&in) && init_demo(&in) && init_tls(&in) &&
	    (!in.webmail || init_webmail(&in))) {
		init_report(&in);
		ret = 0;
	}
done:
	if (in.dir_fd >= 0)
		close(in.dir_fd);
	mem_free(in.dir);
	mem_free(in.daemon_dir);
	return ret;
}
