/*
 * sandbox_profiles: what each daemon may still do after its init
 * (sandbox.h; doc/DESIGN.md sums it up).
 *
 * Each profile was fitted by reading what the daemon does once it
 * serves and by running the whole test suite under the filter (build
 * with -DSANDBOX_LOG_ONLY and read the kernel log for calls outside the
 * list). Landlock paths are relative to the daemon's working directory,
 * which the skeleton made $queue_directory (the jail's root once
 * chrooted: then the absolute paths are simply not there).
 *
 * Interface: the sandbox_* profile objects.
 *
 * SECURITY: static data. Widening a profile widens what an attacker who
 * takes over that daemon can do; say why next to the entry.
 */
#include "config.h"

#include <stddef.h>

#include "sandbox.h"

/* What any process linked with glibc and OpenSSL may read lazily:
 * resolver and NSS files, zone data, CA certificates, NSS modules. */
#define SANDBOX_SYSTEM_RO \
	{ "/etc", SANDBOX_FS_RO }, \
	{ "/usr/lib", SANDBOX_FS_RO }, \
	{ "/lib", SANDBOX_FS_RO }, \
	{ "/usr/share/zoneinfo", SANDBOX_FS_RO }, \
	{ "/usr/share/ca-certificates", SANDBOX_FS_RO }, \
	{ "/dev/null", SANDBOX_FS_RO }, \
	{ "/dev/urandom", SANDBOX_FS_RO }

/* smtpd: writes new queue files in incoming/ (create, write, fsync,
 * rename, unlink on failure); rereads rebuilt tables; asks auth and
 * triggers qmgr over Unix sockets; resolves the client's name (DNS). No
 * other directory, no exec, no fork. */
static const struct sandbox_path sandbox_smtpd_paths[] = {
	{ "incoming", SANDBOX_FS_RW },
	{ "$config_directory", SANDBOX_FS_RO },
	{ "@tables", SANDBOX_FS_RO },
	SANDBOX_SYSTEM_RO,
	{ NULL, SANDBOX_FS_RO },
};

const struct sandbox_profile sandbox_smtpd = {
	.name = "smtpd",
	.allow = SANDBOX_ALLOW_FS_WRITE | SANDBOX_ALLOW_UNIX |
		 SANDBOX_ALLOW_INET,
	.paths = sandbox_smtpd_paths,
	.secret = true,
	.nss = true,
};

/* pickup: reads maildrop/, writes incoming/, quarantines in corrupt/,
 * triggers qmgr. */
static const struct sandbox_path sandbox_pickup_paths[] = {
	{ "maildrop", SANDBOX_FS_RW },
	{ "incoming", SANDBOX_FS_RW },
	{ "corrupt", SANDBOX_FS_RW },
	{ "$config_directory", SANDBOX_FS_RO },
	{ "@tables", SANDBOX_FS_RO },
	SANDBOX_SYSTEM_RO,
	{ NULL, SANDBOX_FS_RO },
};

const struct sandbox_profile sandbox_pickup = {
	.name = "pickup",
	.allow = SANDBOX_ALLOW_FS_WRITE | SANDBOX_ALLOW_UNIX,
	.paths = sandbox_pickup_paths,
	.nss = true,
};

/* qmgr: the whole queue (moves, status marks, bounces, defer logs);
 * connects to the delivery agents. No network. */
/* qmgr expands aliases, and :include: files can be anywhere an
 * administrator put them: it reads the whole tree, and writes only in
 * the queue. */
static const struct sandbox_path sandbox_qmgr_paths[] = {
	{ ".", SANDBOX_FS_RW },
	{ "/", SANDBOX_FS_RO },
	{ NULL, SANDBOX_FS_RO },
};

const struct sandbox_profile sandbox_qmgr = {
	.name = "qmgr",
	.allow = SANDBOX_ALLOW_FS_WRITE | SANDBOX_ALLOW_UNIX,
	.paths = sandbox_qmgr_paths,
	.nss = true,
};

/* local: root that forks one worker per mailbox owner (setuid), which
 * writes Maildirs and mbox files anywhere an alias or .forward points,
 * and runs |command targets through /bin/sh. So: files, fork, exec and
 * the id switches; no network, and no Landlock (homes, /file targets and
 * commands can be anywhere). The commands run under this filter too: a
 * program that needs a call outside it dies with SIGSYS and the
 * delivery is deferred; "sandbox = no" is the way out. Unix sockets:
 * a ~/.forward that names addresses writes a new queue file and
 * triggers qmgr on private/qmgr (local_forward.c). */
const struct sandbox_profile sandbox_local = {
	.name = "local",
	.allow = SANDBOX_ALLOW_FS_WRITE | SANDBOX_ALLOW_FORK |
		 SANDBOX_ALLOW_EXEC | SANDBOX_ALLOW_SETID |
		 SANDBOX_ALLOW_UNIX,
	.paths = NULL,
	.nss = true,
};

/* smtp/lmtp client: reads the queue file it is handed, the tables and
 * CA files; connects out (TCP, DNS, LMTP over Unix sockets). Writes
 * nothing on disk. */
static const struct sandbox_path sandbox_smtp_paths[] = {
	{ ".", SANDBOX_FS_RO },
	{ "$config_directory", SANDBOX_FS_RO },
	{ "@tables", SANDBOX_FS_RO },
	SANDBOX_SYSTEM_RO,
	{ NULL, SANDBOX_FS_RO },
};

const struct sandbox_profile sandbox_smtp = {
	.name = "smtp",
	.allow = SANDBOX_ALLOW_FS_READ | SANDBOX_ALLOW_UNIX |
		 SANDBOX_ALLOW_INET,
	.paths = sandbox_smtp_paths,
	.secret = true,
	.nss = true,
};

/* auth: the password table (reread when rebuilt), nothing else. */
static const struct sandbox_path sandbox_auth_paths[] = {
	{ "$config_directory", SANDBOX_FS_RO },
	{ "@tables", SANDBOX_FS_RO },
	SANDBOX_SYSTEM_RO,
	{ NULL, SANDBOX_FS_RO },
};

const struct sandbox_profile sandbox_auth = {
	.name = "auth",
	.allow = SANDBOX_ALLOW_FS_READ,
	.paths = sandbox_auth_paths,
	.secret = true,
	.nss = true,
};

/* pop3-login: the pre-auth front end. Its connection to pop3d is made
 * in pre_init; after that it only talks on descriptors it holds. No
 * file, no socket but syslog's, no fork, no exec; Landlock denies the
 * whole filesystem (it is chrooted in an empty directory anyway). */
static const struct sandbox_path sandbox_nothing[] = {
	{ NULL, SANDBOX_FS_RO },
};

const struct sandbox_profile sandbox_pop3_login = {
	.name = "pop3-login",
	.allow = 0,
	.paths = sandbox_nothing,
	.secret = true,
};

/* pop3d: root (CAP_SETUID/CAP_SETGID only) that relays SASL to auth
 * and forks the mail process, which switches to the mailbox owner and
 * then stacks sandbox_pop3d_mail. Everything the mail process does
 * must be allowed here too (filters are inherited). */
const struct sandbox_profile sandbox_pop3d = {
	.name = "pop3d",
	.allow = SANDBOX_ALLOW_FS_WRITE | SANDBOX_ALLOW_UNIX |
		 SANDBOX_ALLOW_FORK | SANDBOX_ALLOW_SETID |
		 SANDBOX_ALLOW_STACK,
	.paths = NULL,
	.secret = true,
};

/* The POP3 mail process after login: its own Maildir (the working
 * directory) and nothing else; no fork, no id changes, no sockets. */
static const struct sandbox_path sandbox_pop3d_mail_paths[] = {
	{ ".", SANDBOX_FS_RW },
	{ NULL, SANDBOX_FS_RO },
};

const struct sandbox_profile sandbox_pop3d_mail = {
	.name = "pop3d mail process",
	.allow = SANDBOX_ALLOW_FS_WRITE,
	.paths = sandbox_pop3d_mail_paths,
	.secret = true,
};

/* The pre-auth front ends on the login library (pop3-login, imap-login):
 * the spawner, auth and anvil connections are made before the filter
 * (auth's come from the spawner as descriptors), so after init they only
 * serve clients on descriptors they hold; no file, no new socket, no
 * fork; Landlock denies the whole filesystem (they are chrooted in an
 * empty directory anyway). */
const struct sandbox_profile sandbox_login = {
	.name = "login front end",
	.allow = 0,
	.paths = sandbox_nothing,
	.secret = true,
};

/* The mail-process spawners (the pop3d and imapd services): root with
 * only CAP_SETUID/CAP_SETGID kept by master's drop rules, connecting to
 * auth, forking and exec'ing the mail program, which inherits this
 * filter (and adds its own): so it also allows what the mail processes
 * do in a Maildir. No Landlock: mailboxes may be anywhere. LISTEN: the
 * IMAP spawner's child, as the user, makes the user's park socket in
 * the Maildir (imapd_park.c) and the park process it starts inherits
 * this filter. */
const struct sandbox_profile sandbox_spawner = {
	.name = "mail-process spawner",
	.allow = SANDBOX_ALLOW_FS_WRITE | SANDBOX_ALLOW_UNIX |
		 SANDBOX_ALLOW_FORK | SANDBOX_ALLOW_EXEC |
		 SANDBOX_ALLOW_SETID | SANDBOX_ALLOW_STACK |
		 SANDBOX_ALLOW_NOTIFY | SANDBOX_ALLOW_LISTEN,
	.paths = NULL,
	.secret = true,
};

/* The IMAP mail process once it runs as the mailbox owner: files in its
 * Maildir tree (the user's folders are its subdirectories) and inotify
 * for IDLE; no fork, exec, id changes or sockets. */
static const struct sandbox_path sandbox_imapd_mail_paths[] = {
	{ ".", SANDBOX_FS_RW },
	{ NULL, SANDBOX_FS_RO },
};

const struct sandbox_profile sandbox_imapd_mail = {
	.name = "imapd mail process",
	.allow = SANDBOX_ALLOW_FS_WRITE | SANDBOX_ALLOW_NOTIFY,
	.paths = sandbox_imapd_mail_paths,
	.secret = true,
};

/* anvil: counts from memory, answers on descriptors it accepts. */
const struct sandbox_profile sandbox_anvil = {
	.name = "anvil",
	.allow = 0,
	.paths = sandbox_nothing,
};

/* metrics: counts from memory (updates and scrapes on descriptors it
 * accepts from sockets bound before the filter); at a scrape it lists
 * the queue folders to count them, reading no file. */
static const struct sandbox_path sandbox_metrics_paths[] = {
	{ "incoming", SANDBOX_FS_RO },
	{ "active", SANDBOX_FS_RO },
	{ "deferred", SANDBOX_FS_RO },
	{ "hold", SANDBOX_FS_RO },
	{ "corrupt", SANDBOX_FS_RO },
	{ NULL, SANDBOX_FS_RO },
};

const struct sandbox_profile sandbox_metrics = {
	.name = "metrics",
	.allow = SANDBOX_ALLOW_FS_READ,
	.paths = sandbox_metrics_paths,
};

/* postscreen: holds clients, connects to smtpd's row and anvil to hand
 * them over; no files. */
const struct sandbox_profile sandbox_postscreen = {
	.name = "postscreen",
	.allow = SANDBOX_ALLOW_UNIX,
	.paths = sandbox_nothing,
};

/* echod, the test daemon: descriptors it holds, nothing else, so a test
 * can ask it for a forbidden call and watch it die. */
const struct sandbox_profile sandbox_echod = {
	.name = "echod",
	.allow = 0,
	.paths = sandbox_nothing,
};
