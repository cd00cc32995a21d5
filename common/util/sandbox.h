#ifndef COMMON_SANDBOX_H
#define COMMON_SANDBOX_H

#include <stdbool.h>
#include <sys/types.h>

/* What a process may still do once it has finished its init: a seccomp
 * allowlist, Landlock filesystem rules, NoNewPrivs, core dumps and
 * capabilities (doc/DESIGN.md lists each daemon's profile).
 *
 * A profile is a set of SANDBOX_ALLOW_* classes of system calls on top
 * of a base every daemon needs (I/O on descriptors it holds, accept,
 * send/recv, memory, signals, time, exit), plus the directories Landlock
 * lets it reach. Anything else kills the process (SIGSYS, which master
 * logs as "killed by signal 31"). Filters stack: a process may add a
 * stricter profile later (the POP3 mail process after its login), never
 * take one away. */

/* System call classes a profile adds to the base. FS_READ: read-only
 * open, stat, readdir; FS_WRITE: also create, rename, unlink, sync;
 * UNIX: connect to Unix sockets; INET: TCP/UDP clients, DNS; FORK:
 * fork, wait, kill, pipes; EXEC: execve and what sh needs; SETID:
 * setuid, setgid, setgroups, capset; STACK: install a further sandbox. */
#define SANDBOX_ALLOW_FS_READ	(1u << 0)
#define SANDBOX_ALLOW_FS_WRITE	(1u << 1)
#define SANDBOX_ALLOW_UNIX	(1u << 2)
#define SANDBOX_ALLOW_INET	(1u << 3)
#define SANDBOX_ALLOW_FORK	(1u << 4)
#define SANDBOX_ALLOW_EXEC	(1u << 5)
#define SANDBOX_ALLOW_SETID	(1u << 6)
#define SANDBOX_ALLOW_STACK	(1u << 7)
/* NOTIFY: inotify (imapd's IDLE). */
#define SANDBOX_ALLOW_NOTIFY	(1u << 8)
/* LISTEN: bind and listen (with UNIX: a Unix socket of one's own; the
 * IMAP spawner's child makes the user's park socket). */
#define SANDBOX_ALLOW_LISTEN	(1u << 9)

/* Landlock access granted to one directory (and everything below it). */
enum sandbox_fs_access {
	SANDBOX_FS_RO,		/* read files, list directories */
	SANDBOX_FS_RW,		/* also create, write, rename, remove */
	SANDBOX_FS_EXEC,	/* read, and execute programs (the IMAP park
				 * process starts imapd) */
};

struct sandbox_path {
	/* Absolute, relative to the working directory (after the
	 * skeleton's chdir: $queue_directory, or the jail's root), or
	 * "$name": the value of that configuration parameter, or
	 * "@tables": read access to the directory of every lookup table
	 * and CA file the configuration names. A path that does not exist
	 * is skipped. NULL ends the list. */
	const char *path;
	enum sandbox_fs_access access;
};

struct sandbox_profile {
	const char *name;		/* for log lines */
	unsigned allow;			/* SANDBOX_ALLOW_* */
	/* Landlock: the only places the process may reach on disk; NULL
	 * means no Landlock at all (the process may need any path, as
	 * local does for ~/.forward and /file targets). An empty list
	 * ({ NULL }) denies the whole filesystem. */
	const struct sandbox_path *paths;
	/* Holds secrets (TLS keys, passwords): not dumpable, no core. */
	bool secret;
	/* Looks users or groups up after init: load the NSS modules
	 * first (their loading opens files and makes calls the filter
	 * does not allow). Not for statically linked programs, where NSS
	 * modules cannot be loaded at all. */
	bool nss;
};

/* The daemon profiles, in sandbox_profiles.c. A daemon names its own in
 * its struct server_spec (server.h). */
extern const struct sandbox_profile sandbox_smtpd, sandbox_pickup,
	sandbox_qmgr, sandbox_local, sandbox_smtp, sandbox_auth,
	sandbox_pop3_login, sandbox_pop3d, sandbox_pop3d_mail,
	sandbox_echod, sandbox_login, sandbox_spawner, sandbox_imapd_mail,
	sandbox_anvil, sandbox_postscreen, sandbox_metrics;

/* True unless the configuration says "sandbox = no" (cfg_main must be
 * loaded). */
bool sandbox_enabled(void);

/* Everything for profile p, in order: NoNewPrivs, core dumps (p->secret),
 * Landlock, seccomp. Returns false with a static message in *error_r;
 * callers make that fatal. When sandbox_enabled() is false only
 * NoNewPrivs and the core-dump settings are applied. */
bool sandbox_apply(const struct sandbox_profile *p, const char **error_r);

/* PR_SET_NO_NEW_PRIVS: nothing this process executes can gain
 * privileges (setuid bits and file capabilities are ignored). */
bool sandbox_no_new_privs(const char **error_r);

/* PR_SET_DUMPABLE 0 (no ptrace by the same user, /proc/PID owned by
 * root) and RLIMIT_CORE 0. */
bool sandbox_no_dumps(const char **error_r);

/* For a root process that only switches users (local, pop3d): keep
 * CAP_SETUID and CAP_SETGID in the permitted and effective sets, drop
 * every other capability from all sets and the bounding set, and do
 * file access as fsuid/fsgid (the mail owner), so root's remaining power
 * is to become someone else. Does nothing when not root. */
bool sandbox_keep_setid(uid_t fsuid, gid_t fsgid, const char **error_r);

/* Send sig to a process that runs as uid, from a process that
 * sandbox_keep_setid() left without CAP_KILL: the effective uid is
 * switched to uid for the kill() and back (CAP_SETUID suffices).
 * Returns kill()'s result with errno. */
int sandbox_kill_as(uid_t uid, pid_t pid, int sig);

/* Landlock: restrict this process and its future children to paths.
 * Returns 1 when applied, 0 when the kernel has no Landlock (nothing
 * done), -1 on error. */
int sandbox_landlock(const struct sandbox_path *paths, const char **error_r);

/* Install the seccomp allowlist for allow (SANDBOX_ALLOW_*): base set
 * plus those classes; any other call kills the process. */
bool sandbox_seccomp(unsigned allow, const char **error_r);

/* master's floor, inherited by every process it starts: NoNewPrivs and a
 * seccomp filter that kills a process making any of the calls no mail
 * system needs (module loading, kexec, mount, reboot, swap, bpf,
 * perf_event_open, userfaultfd, keyrings, ptrace and friends). Not an
 * allowlist: master execs every daemon and, through local, the
 * administrator's commands, and all of them inherit it. */
bool sandbox_master(const char **error_r);

#endif
