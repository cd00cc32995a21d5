/*
 * sandbox: NoNewPrivs, seccomp allowlists, Landlock, core dumps and
 * capabilities for the daemons (sandbox.h).
 *
 * The seccomp filters are built with libseccomp from classes of system
 * calls (sandbox.h's SANDBOX_ALLOW_*). Every filter's default action is
 * SCMP_ACT_KILL_PROCESS: a call outside the list ends the whole process
 * with SIGSYS, which master logs like any other crash. Arguments are
 * checked where it matters and is cheap: open/openat are read-only
 * without SANDBOX_ALLOW_FS_WRITE, socket() is limited to the address
 * families of the profile (the base may only make the datagram Unix
 * socket syslog(3) reconnects with), clone() may not make namespaces,
 * and clone3() fails with ENOSYS so glibc falls back to clone().
 *
 * Sanitizer builds (CORREO_SANITIZERS, configure --enable-sanitizers)
 * add what LeakSanitizer does at exit: it clones a tracer (CLONE_VM)
 * that ptraces the process's threads and reads /proc/self back. The
 * blocks marked CORREO_SANITIZERS below are the whole difference (and
 * Landlock lets such builds read /proc); normal builds never have them.
 *
 * Landlock is best effort by design: a kernel without it (ENOSYS,
 * EOPNOTSUPP) gets the seccomp filter alone (a debug log line says so).
 * The paths a profile names are opened O_PATH when the rules are made;
 * one that does not exist (e.g. inside a chroot) is skipped.
 *
 * Fitting a profile: build with CPPFLAGS=-DSANDBOX_LOG_ONLY, run the
 * tests, and read the kernel log ("audit: type=1326 ... syscall=N")
 * for the calls a daemon made outside its list.
 *
 * SECURITY: called by every daemon after its init, with the privileges
 * it keeps (root only in master, local and pop3d). Profiles are static
 * data; the only input is the configuration (paths, "sandbox").
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/landlock.h>

#include "cfg.h"
#include "msg.h"
#include "sandbox.h"
#include "str.h"

static char sandbox_error_buf[256];
static uid_t sandbox_fsuid;
static gid_t sandbox_fsgid;
static bool sandbox_fsid_set;

static bool sandbox_fail(const char **error_r, const char *what)
{
	str_snprintf(sandbox_error_buf, sizeof(sandbox_error_buf), "%s: %s",
		     what, strerror(errno));
	*error_r = sandbox_error_buf;
	return false;
}

bool sandbox_enabled(void)
{
	return cfg_main == NULL || cfg_bool(cfg_main, "sandbox");
}

/* ---- NoNewPrivs, dumps ---- */

bool sandbox_no_new_privs(const char **error_r)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return sandbox_fail(error_r, "prctl PR_SET_NO_NEW_PRIVS");
	return true;
}

bool sandbox_no_dumps(const char **error_r)
{
	struct rlimit rl = { 0, 0 };

	if (setrlimit(RLIMIT_CORE, &rl) < 0)
		return sandbox_fail(error_r, "setrlimit RLIMIT_CORE");
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return sandbox_fail(error_r, "prctl PR_SET_DUMPABLE");
	return true;
}

/* ---- Capabilities ---- */

bool sandbox_keep_setid(uid_t fsuid, gid_t fsgid, const char **error_r)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[2];
	uint32_t keep = (1u << CAP_SETUID) | (1u << CAP_SETGID);
	int cap;

	if (geteuid() != 0)
		return true;
	/* The bounding set first: dropping from it needs CAP_SETPCAP. */
	for (cap = 0; cap <= 63; cap++) {
		if (cap == CAP_SETUID || cap == CAP_SETGID)
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 &&
		    errno != EINVAL)
			return sandbox_fail(error_r, "prctl PR_CAPBSET_DROP");
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 &&
	    errno != EINVAL)
		return sandbox_fail(error_r, "prctl PR_CAP_AMBIENT");
	/* Files as the mail owner: without CAP_DAC_OVERRIDE root could not
	 * reach the queue, and with it could reach everything. */
	(void)setfsgid(fsgid);
	(void)setfsuid(fsuid);
	if ((gid_t)setfsgid((gid_t)-1) != fsgid ||
	    (uid_t)setfsuid((uid_t)-1) != fsuid) {
		errno = EPERM;
		return sandbox_fail(error_r, "setfsuid");
	}
	sandbox_fsuid = fsuid;
	sandbox_fsgid = fsgid;
	sandbox_fsid_set = true;
	memset(data, 0, sizeof(data));
	data[0].permitted = data[0].effective = keep;
	if (syscall(SYS_capset, &hdr, data) < 0)
		return sandbox_fail(error_r, "capset");
	/* Verify: exactly the two capabilities are left. */
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &hdr, data) < 0)
		return sandbox_fail(error_r, "capget");
	if (data[0].effective != keep || data[0].permitted != keep ||
	    data[0].inheritable != 0 || data[1].effective != 0 ||
	    data[1].permitted != 0 || data[1].inheritable != 0) {
		errno = EPERM;
		return sandbox_fail(error_r, "capabilities left after capset");
	}
	return true;
}

int sandbox_kill_as(uid_t uid, pid_t pid, int sig)
{
	int ret, saved;

	if (geteuid() != 0 || !sandbox_fsid_set)
		return kill(pid, sig);
	if (seteuid(uid) < 0)
		return -1;
	ret = kill(pid, sig);
	saved = errno;
	/* Back to euid 0 (the saved uid allows it); the effective
	 * capabilities come back from the permitted set, and the fsuid,
	 * which followed the euid, is set again. */
	if (seteuid(0) < 0)
		msg_fatal("seteuid 0 after kill: %m");
	(void)setfsgid(sandbox_fsgid);
	(void)setfsuid(sandbox_fsuid);
	errno = saved;
	return ret;
}

/* ---- Landlock ---- */

#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER (1ULL << 13)
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)
#endif

#define SANDBOX_LL_FILE (LANDLOCK_ACCESS_FS_EXECUTE | \
	LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_FILE | \
	LANDLOCK_ACCESS_FS_TRUNCATE | LANDLOCK_ACCESS_FS_IOCTL_DEV)
#define SANDBOX_LL_RO (LANDLOCK_ACCESS_FS_READ_FILE | \
	LANDLOCK_ACCESS_FS_READ_DIR)
#define SANDBOX_LL_RW (SANDBOX_LL_RO | LANDLOCK_ACCESS_FS_WRITE_FILE | \
	LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE | \
	LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG | \
	LANDLOCK_ACCESS_FS_REFER | LANDLOCK_ACCESS_FS_TRUNCATE | \
	LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_SYM)
/* MAKE_FIFO and MAKE_SYM: Landlock checks a rename as the making of the
 * file's type, and pickup quarantines FIFOs and symlinks planted in
 * maildrop/ by renaming them into corrupt/. */

/* Everything the kernel's Landlock ABI version can restrict. */
static uint64_t sandbox_ll_handled(int abi)
{
	uint64_t all = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1;

	if (abi >= 2)
		all |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		all |= LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi >= 5)
		all |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	return all;
}

/* "$name" -> that parameter's value; anything else as it is. */
static const char *sandbox_path_expand(const char *path)
{
	if (path[0] == '$' && cfg_main != NULL)
		return cfg_str(cfg_main, path + 1);
	return path;
}

static int sandbox_ll_add(int ruleset, const char *path, uint64_t access,
			  uint64_t handled, const char **error_r)
{
	struct landlock_path_beneath_attr rule;
	struct stat st;
	int fd, ret, saved;

	fd = open(path, O_PATH | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT || errno == EACCES || errno == ENOTDIR)
			return 0;	/* not here (e.g. in a chroot) */
		return sandbox_fail(error_r, path) ? 0 : -1;
	}
	if (fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode))
		access &= SANDBOX_LL_FILE;
	rule.allowed_access = access & handled;
	rule.parent_fd = fd;
	ret = (int)syscall(SYS_landlock_add_rule, ruleset,
			   LANDLOCK_RULE_PATH_BENEATH, &rule, 0);
	saved = errno;
	close(fd);
	errno = saved;
	if (ret < 0)
		return sandbox_fail(error_r, "landlock_add_rule") ? 0 : -1;
	return 0;
}

static bool sandbox_ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Read access to the directory of one "type:/path" table or "/path"
 * file named by the configuration. */
static int sandbox_ll_table(int ruleset, const char *value, bool typed,
			    uint64_t handled, const char **error_r)
{
	const char *path = value, *colon, *slash;
	char dir[4096];

	if (typed) {
		colon = strchr(value, ':');
		if (colon == NULL)
			return 0;
		path = colon + 1;
	}
	slash = strrchr(path, '/');
	if (path[0] != '/' || slash == NULL || slash == path)
		return 0;
	if (!str_snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path),
			  path))
		return 0;
	return sandbox_ll_add(ruleset, dir, SANDBOX_LL_RO, handled, error_r);
}

/* "@tables": every lookup table (keys ending in _maps, alias_database)
 * and CA file (_CAfile) the configuration names, read-only, so a table
 * rebuilt outside $config_directory is still reopened. */
static int sandbox_ll_tables(int ruleset, uint64_t handled,
			     const char **error_r)
{
	const struct cfg_key *k;
	char **list;
	bool typed;
	int ret = 0;

	if (cfg_main == NULL)
		return 0;
	for (k = cfg_keys; ret == 0 && k->name != NULL; k++) {
		typed = sandbox_ends_with(k->name, "_maps") ||
			strcmp(k->name, "alias_database") == 0;
		if (!typed && !sandbox_ends_with(k->name, "_CAfile"))
			continue;
		if (k->type != CFG_LIST) {
			ret = sandbox_ll_table(ruleset, cfg_str(cfg_main,
								k->name),
					       typed, handled, error_r);
			continue;
		}
		for (list = cfg_list(cfg_main, k->name);
		     ret == 0 && *list != NULL; list++)
			ret = sandbox_ll_table(ruleset, *list, typed, handled,
					       error_r);
	}
	return ret;
}

int sandbox_landlock(const struct sandbox_path *paths, const char **error_r)
{
	struct landlock_ruleset_attr attr;
	uint64_t access;
	int abi, ruleset, ret = 0;

	abi = (int)syscall(SYS_landlock_create_ruleset, NULL, 0,
			   LANDLOCK_CREATE_RULESET_VERSION);
	if (abi < 0) {
		if (errno == ENOSYS || errno == EOPNOTSUPP)
			return 0;
		return sandbox_fail(error_r, "landlock version") ? 0 : -1;
	}
	memset(&attr, 0, sizeof(attr));
	attr.handled_access_fs = sandbox_ll_handled(abi);
	ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr,
			       sizeof(attr.handled_access_fs), 0);
	if (ruleset < 0)
		return sandbox_fail(error_r, "landlock_create_ruleset") ? 0 :
		       -1;
	for (; ret == 0 && paths->path != NULL; paths++) {
		access = paths->access == SANDBOX_FS_RW ? SANDBOX_LL_RW :
			 paths->access == SANDBOX_FS_EXEC ?
			 SANDBOX_LL_RO | LANDLOCK_ACCESS_FS_EXECUTE :
			 SANDBOX_LL_RO;
		if (strcmp(paths->path, "@tables") == 0)
			ret = sandbox_ll_tables(ruleset, attr.handled_access_fs,
						error_r);
		else
			ret = sandbox_ll_add(ruleset,
					     sandbox_path_expand(paths->path),
					     access, attr.handled_access_fs,
					     error_r);
	}
#ifdef CORREO_SANITIZERS
	/* LeakSanitizer reads /proc/self/{maps,task} at exit. */
	if (ret == 0)
		ret = sandbox_ll_add(ruleset, "/proc", SANDBOX_LL_RO,
				     attr.handled_access_fs, error_r);
#endif
	if (ret == 0 && syscall(SYS_landlock_restrict_self, ruleset, 0) < 0)
		ret = sandbox_fail(error_r, "landlock_restrict_self") ? 0 : -1;
	close(ruleset);
	return ret < 0 ? -1 : 1;
}

/* ---- seccomp ---- */

#define SB(name) SCMP_SYS(name)

/* Every daemon, after init: work on descriptors it already holds. */
static const int sandbox_base[] = {
	SB(read), SB(write), SB(readv), SB(writev), SB(pread64),
	SB(pwrite64), SB(close), SB(fstat), SB(newfstatat), SB(lseek),
	SB(mmap), SB(munmap), SB(mremap), SB(mprotect), SB(brk),
	SB(madvise), SB(rt_sigaction), SB(rt_sigprocmask),
	SB(rt_sigreturn), SB(sigaltstack), SB(poll), SB(ppoll),
	SB(select), SB(pselect6), SB(epoll_create), SB(epoll_create1),
	SB(epoll_ctl), SB(epoll_wait), SB(epoll_pwait), SB(epoll_pwait2),
	SB(clock_gettime), SB(clock_getres), SB(clock_nanosleep),
	SB(nanosleep), SB(gettimeofday), SB(time), SB(getpid),
	SB(getppid), SB(gettid), SB(getuid), SB(geteuid), SB(getgid),
	SB(getegid), SB(getresuid), SB(getresgid), SB(getgroups),
	SB(exit), SB(exit_group), SB(futex), SB(alarm), SB(setitimer),
	SB(getitimer), SB(dup), SB(dup2), SB(dup3), SB(fcntl), SB(ioctl),
	SB(accept), SB(accept4), SB(recvfrom), SB(recvmsg), SB(recvmmsg),
	SB(sendto), SB(sendmsg), SB(sendmmsg), SB(shutdown),
	SB(getsockopt), SB(setsockopt), SB(getsockname), SB(getpeername),
	SB(getrandom), SB(uname), SB(getrlimit),
	SB(sched_yield), SB(restart_syscall), SB(tgkill), SB(rseq),
	SB(sched_getaffinity), SB(socketpair),
	SB(timerfd_create), SB(timerfd_settime), SB(timerfd_gettime),
	SB(signalfd4), SB(eventfd2), SB(pipe2), SB(umask), SB(getcwd),
	SB(connect), SB(rt_sigpending), SB(rt_sigtimedwait),
	SB(sysinfo),	/* glibc's qsort sizes its buffer by it */
	SB(set_robust_list), SB(get_robust_list),
};

/* Opening read-only is checked on the flags (below); these come with
 * it. */
static const int sandbox_fs_read[] = {
	SB(getdents64), SB(statx), SB(stat), SB(lstat), SB(access),
	SB(faccessat), SB(faccessat2), SB(readlink), SB(readlinkat),
	SB(flock), SB(fstatfs), SB(statfs), SB(chdir), SB(fchdir),
	SB(fadvise64),
};

static const int sandbox_fs_write[] = {
	SB(open), SB(openat), SB(creat), SB(rename), SB(renameat),
	SB(renameat2), SB(unlink), SB(unlinkat), SB(mkdir), SB(mkdirat),
	SB(rmdir), SB(link), SB(linkat), SB(fsync), SB(fdatasync),
	SB(ftruncate), SB(fchmod), SB(fchown), SB(utimensat),
	SB(fallocate), SB(sync_file_range),
	/* bgsync.c: a file's fsync beside its directory's (legacy AIO
	 * with FSYNC control blocks only; io_uring stays out). */
	SB(io_setup), SB(io_submit), SB(io_getevents), SB(io_destroy),
};

static const int sandbox_inet[] = {
	SB(bind),
};

static const int sandbox_fork[] = {
	SB(fork), SB(vfork), SB(wait4), SB(waitid), SB(kill), SB(setsid),
	SB(setpgid), SB(getpgid), SB(getpgrp), SB(getsid), SB(pipe),
	SB(socketpair), SB(prctl), SB(close_range), SB(set_robust_list),
	SB(get_robust_list),
};

/* What /bin/sh and the dynamic loader need after execve (local's
 * |command deliveries); the commands themselves live with it. */
static const int sandbox_exec[] = {
	SB(execve), SB(execveat), SB(arch_prctl), SB(set_tid_address),
	SB(sysinfo), SB(times), SB(getrusage), SB(sched_getaffinity),
	SB(getpriority), SB(setpriority), SB(pause), SB(rt_sigsuspend),
	SB(rt_sigtimedwait), SB(mincore), SB(chmod), SB(fchmodat),
	SB(chown), SB(lchown), SB(fchownat), SB(symlink), SB(symlinkat),
	SB(sendfile), SB(copy_file_range), SB(splice), SB(tee),
	SB(membarrier), SB(memfd_create), SB(timer_create),
	SB(timer_settime), SB(timer_delete), SB(timer_gettime),
	SB(sched_getparam), SB(sched_getscheduler), SB(futex_waitv),
	SB(get_mempolicy), SB(utime), SB(utimes), SB(futimesat),
	SB(pipe), SB(getxattr), SB(lgetxattr), SB(fgetxattr),
	SB(inotify_init1), SB(inotify_add_watch), SB(inotify_rm_watch),
};

static const int sandbox_notify[] = {
	SB(inotify_init1), SB(inotify_add_watch), SB(inotify_rm_watch),
};

/* Unix sockets only, unless INET allows more socket families. */
static const int sandbox_listen[] = {
	SB(bind), SB(listen),
};

static const int sandbox_setid[] = {
	SB(setuid), SB(setgid), SB(setreuid), SB(setregid),
	SB(setresuid), SB(setresgid), SB(setgroups), SB(setfsuid),
	SB(setfsgid), SB(capget), SB(capset), SB(prctl),
};

static const int sandbox_stack[] = {
	SB(seccomp), SB(prctl), SB(landlock_create_ruleset),
	SB(landlock_add_rule), SB(landlock_restrict_self),
};

#ifdef CORREO_SANITIZERS
/* LeakSanitizer at exit: a tracer task made with clone(CLONE_VM) that
 * ptraces every thread, reads /proc/self/{maps,task} back (read-only
 * opens, allowed below) and is waited for. */
static const int sandbox_sanitizer_extra[] = {
	SB(ptrace), SB(wait4), SB(waitid), SB(getdents), SB(getdents64),
	SB(readlink), SB(readlinkat), SB(prctl), SB(sched_getaffinity),
	SB(process_vm_readv),
};
#endif

#define SANDBOX_N(a) (sizeof(a) / sizeof((a)[0]))

static int sandbox_allow_list(scmp_filter_ctx ctx, const int *list,
			      size_t n)
{
	int ret;

	for (size_t i = 0; i < n; i++) {
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, list[i], 0);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* open/openat without a flag that could create, write or truncate. */
static int sandbox_allow_open_ro(scmp_filter_ctx ctx)
{
	/* O_TMPFILE without its O_DIRECTORY bit: directories may be
	 * opened (OpenSSL lists its CA directory). */
	const scmp_datum_t mask = O_ACCMODE | O_CREAT | O_TRUNC |
				  O_APPEND | (O_TMPFILE & ~O_DIRECTORY);
	int ret;

	ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SB(openat), 1,
			       SCMP_A2(SCMP_CMP_MASKED_EQ, mask, 0));
	if (ret == 0)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SB(open), 1,
				       SCMP_A1(SCMP_CMP_MASKED_EQ, mask, 0));
	return ret;
}

static int sandbox_allow_socket(scmp_filter_ctx ctx, int family, int type)
{
	if (type < 0)
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SB(socket), 1,
					SCMP_A0(SCMP_CMP_EQ,
						(scmp_datum_t)family));
	return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SB(socket), 2,
				SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)family),
				SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf,
					(scmp_datum_t)type));
}

/* clone for fork(): threads and processes, never namespaces; clone3
 * reports ENOSYS, so glibc uses clone (its flags can be checked). */
static int sandbox_allow_clone(scmp_filter_ctx ctx)
{
	const scmp_datum_t ns = CLONE_NEWNS | CLONE_NEWCGROUP |
				CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |
				CLONE_NEWPID | CLONE_NEWNET;
	int ret;

	ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SB(clone), 1,
			       SCMP_A0(SCMP_CMP_MASKED_EQ, ns, 0));
	if (ret == 0)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS),
				       SB(clone3), 0);
	return ret;
}

static int sandbox_build(scmp_filter_ctx ctx, unsigned allow)
{
	int ret;

	ret = sandbox_allow_list(ctx, sandbox_base, SANDBOX_N(sandbox_base));
	/* syslog(3) reconnects to /dev/log with a datagram socket. */
	if (ret == 0)
		ret = sandbox_allow_socket(ctx, AF_UNIX, SOCK_DGRAM);
	/* getrlimit/setrlimit of this process only, not of others. */
	if (ret == 0)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SB(prlimit64), 1,
				       SCMP_A0(SCMP_CMP_EQ, 0));
	if (ret == 0 && (allow & (SANDBOX_ALLOW_FS_READ |
				  SANDBOX_ALLOW_FS_WRITE |
				  SANDBOX_ALLOW_EXEC)))
		ret = sandbox_allow_list(ctx, sandbox_fs_read,
					 SANDBOX_N(sandbox_fs_read));
	if (ret == 0 && (allow & (SANDBOX_ALLOW_FS_WRITE | SANDBOX_ALLOW_EXEC)))
		ret = sandbox_allow_list(ctx, sandbox_fs_write,
					 SANDBOX_N(sandbox_fs_write));
	else if (ret == 0 && (allow & SANDBOX_ALLOW_FS_READ))
		ret = sandbox_allow_open_ro(ctx);
	if (ret == 0 && (allow & SANDBOX_ALLOW_UNIX))
		ret = sandbox_allow_socket(ctx, AF_UNIX, -1);
	/* Without it, a stream socket fails instead of killing: NSS
	 * modules (nscd, systemd's userdb) try one and fall back. */
	else if (ret == 0)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SB(socket),
				       2, SCMP_A0(SCMP_CMP_EQ, AF_UNIX),
				       SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf,
					       SOCK_STREAM));
	if (ret == 0 && (allow & SANDBOX_ALLOW_INET)) {
		ret = sandbox_allow_socket(ctx, AF_INET, -1);
		if (ret == 0)
			ret = sandbox_allow_socket(ctx, AF_INET6, -1);
		if (ret == 0)
			ret = sandbox_allow_list(ctx, sandbox_inet,
						 SANDBOX_N(sandbox_inet));
	}
	if (ret == 0 && (allow & (SANDBOX_ALLOW_FORK | SANDBOX_ALLOW_EXEC))) {
		ret = sandbox_allow_list(ctx, sandbox_fork,
					 SANDBOX_N(sandbox_fork));
		if (ret == 0)
			ret = sandbox_allow_clone(ctx);
	}
	if (ret == 0 && (allow & SANDBOX_ALLOW_EXEC))
		ret = sandbox_allow_list(ctx, sandbox_exec,
					 SANDBOX_N(sandbox_exec));
	if (ret == 0 && (allow & SANDBOX_ALLOW_NOTIFY))
		ret = sandbox_allow_list(ctx, sandbox_notify,
					 SANDBOX_N(sandbox_notify));
	if (ret == 0 && (allow & SANDBOX_ALLOW_LISTEN))
		ret = sandbox_allow_list(ctx, sandbox_listen,
					 SANDBOX_N(sandbox_listen));
	if (ret == 0 && (allow & SANDBOX_ALLOW_SETID))
		ret = sandbox_allow_list(ctx, sandbox_setid,
					 SANDBOX_N(sandbox_setid));
	if (ret == 0 && (allow & SANDBOX_ALLOW_STACK))
		ret = sandbox_allow_list(ctx, sandbox_stack,
					 SANDBOX_N(sandbox_stack));
#ifdef CORREO_SANITIZERS
	if (ret == 0)
		ret = sandbox_allow_list(ctx, sandbox_sanitizer_extra,
					 SANDBOX_N(sandbox_sanitizer_extra));
	if (ret == 0 && !(allow & (SANDBOX_ALLOW_FS_WRITE | SANDBOX_ALLOW_EXEC |
				   SANDBOX_ALLOW_FS_READ)))
		ret = sandbox_allow_open_ro(ctx);
	/* The tracer shares the address space; fork() does not. */
	if (ret == 0)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SB(clone), 1,
				       SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_VM,
					       CLONE_VM));
#endif
	return ret;
}

/* The default action. SANDBOX_LOG_ONLY is a developer's switch (make
 * CPPFLAGS=-DSANDBOX_LOG_ONLY): calls outside the list are allowed and
 * logged by the kernel (dmesg, "audit: type=1326 ... syscall=N"), to fit
 * a profile by running the test suite. Never in a normal build. */
#ifdef SANDBOX_LOG_ONLY
#define SANDBOX_DEFAULT_ACTION SCMP_ACT_LOG
#else
#define SANDBOX_DEFAULT_ACTION SCMP_ACT_KILL_PROCESS
#endif

static bool sandbox_load(scmp_filter_ctx ctx, int ret, const char **error_r)
{
	if (ret == 0)
		ret = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
				       SCMP_ACT_KILL_PROCESS);
	/* Every thread, not only the caller: auth's hashing threads exist
	 * before its filter is loaded. */
	if (ret == 0)
		ret = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (ret == 0)
		ret = seccomp_load(ctx);
	seccomp_release(ctx);
	if (ret < 0) {
		errno = -ret;
		return sandbox_fail(error_r, "seccomp filter");
	}
	return true;
}

bool sandbox_seccomp(unsigned allow, const char **error_r)
{
	scmp_filter_ctx ctx = seccomp_init(SANDBOX_DEFAULT_ACTION);

	if (ctx == NULL) {
		errno = ENOMEM;
		return sandbox_fail(error_r, "seccomp_init");
	}
	return sandbox_load(ctx, sandbox_build(ctx, allow), error_r);
}

/* master's floor: calls no process of a mail system makes. */
static const int sandbox_master_deny[] = {
	SB(init_module), SB(finit_module), SB(delete_module),
	SB(kexec_load), SB(kexec_file_load), SB(reboot), SB(mount),
	SB(umount2), SB(pivot_root), SB(swapon), SB(swapoff), SB(bpf),
	SB(perf_event_open), SB(userfaultfd), SB(add_key),
	SB(request_key), SB(keyctl), SB(open_by_handle_at),
	SB(name_to_handle_at), SB(acct), SB(quotactl), SB(settimeofday),
	SB(clock_settime), SB(clock_adjtime), SB(adjtimex), SB(iopl),
	SB(ioperm), SB(syslog), SB(lookup_dcookie), SB(fanotify_init),
	SB(move_mount), SB(open_tree), SB(fsopen), SB(fsmount),
	SB(fsconfig), SB(fspick), SB(mount_setattr), SB(setns),
	SB(unshare), SB(vhangup), SB(sethostname), SB(setdomainname),
	SB(process_vm_writev), SB(kcmp),
#ifndef CORREO_SANITIZERS
	/* LeakSanitizer ptraces its own threads and reads their memory. */
	SB(ptrace), SB(process_vm_readv),
#endif
};

bool sandbox_master(const char **error_r)
{
	scmp_filter_ctx ctx;
	int ret = 0;

	if (!sandbox_no_new_privs(error_r))
		return false;
	if (!sandbox_enabled())
		return true;
	ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (ctx == NULL) {
		errno = ENOMEM;
		return sandbox_fail(error_r, "seccomp_init");
	}
	for (size_t i = 0; ret == 0 && i < SANDBOX_N(sandbox_master_deny);
	     i++)
		ret = seccomp_rule_add(ctx, SCMP_ACT_KILL_PROCESS,
				       sandbox_master_deny[i], 0);
	return sandbox_load(ctx, ret, error_r);
}

/* ---- Putting it together ---- */

/* What glibc loads on first use, done before the filter: the zone file,
 * and the NSS modules of the user and group databases (dlopen'd at the
 * first lookup that "files" cannot answer; systemd's pulls in libcap,
 * whose constructor calls prctl). The name is one no system has. */
static void sandbox_preload(const struct sandbox_profile *p)
{
	tzset();
	if (!p->nss)
		return;
	(void)getpwnam("correo-sandbox-preload.invalid");
	(void)getgrnam("correo-sandbox-preload.invalid");
	endpwent();
	endgrent();
}

bool sandbox_apply(const struct sandbox_profile *p, const char **error_r)
{
	int ret;

	if (!sandbox_no_new_privs(error_r))
		return false;
	if (p->secret && !sandbox_no_dumps(error_r))
		return false;
	if (!sandbox_enabled())
		return true;
	sandbox_preload(p);
	if (p->paths != NULL) {
		ret = sandbox_landlock(p->paths, error_r);
		if (ret < 0)
			return false;
		if (ret == 0)
			msg_debug("%s: no Landlock in this kernel; seccomp "
				  "only", p->name);
	}
	return sandbox_seccomp(p->allow, error_r);
}
