/*
 * faultshim: a test-only LD_PRELOAD library that turns the Nth call of
 * one kind of file-system operation into a failure or a crash.
 *
 * Loaded into correo's daemons through import_environment (LD_PRELOAD,
 * CORREO_FAULT), never built into them. Configured by one variable:
 *
 *   CORREO_FAULT=PROG:KIND:N:ACTION     fault the Nth KIND call in PROG
 *   CORREO_FAULT=trace                  print every call, fault nothing
 *   CORREO_FAULT=record:FILE            log every change to the file
 *                                       system, with the data, to FILE
 *
 * PROG is the program's short name (smtpd, qmgr, local, imapd, pop3d,
 * pickup, ...; "*" for any), with "-mail" added for a mail process
 * (pop3d-mail, imapd-mail: the same program as its spawner, started with
 * --mail-session). KIND is one of
 *
 *   write     write/pwrite/writev/copy_file_range to a regular file
 *   fsync     fsync or fdatasync (files and directories)
 *   rename    rename/renameat/renameat2
 *   link      link/linkat
 *   unlink    unlink/unlinkat (also rmdir through unlinkat)
 *   create    open/openat with O_CREAT (or O_TMPFILE)
 *   mkdir     mkdir/mkdirat
 *   truncate  ftruncate
 *
 * ACTION is EIO, ENOSPC or EDQUOT (the call fails with that errno and
 * does nothing), kill-before (the process dies before the call, as a
 * SIGKILL would leave it) or kill-after (the call is made, then the
 * process dies). Counting is per process from its start. "Dies" is
 * exit_group(137): no atexit handler, no stdio flush, nothing a crash
 * would not also skip, and allowed by every daemon's seccomp filter.
 *
 * Trace lines go to file descriptor 2 (the daemons' stderr is master's,
 * kept in queue/pid/master.stderr):
 *
 *   correo-fault: PROG PID KIND N [PATH]
 *
 * record mode (tests/fault/powerloss.py) appends one line per successful
 * call to FILE (O_APPEND, one write(2) per line, so processes do not mix
 * their lines), stamped with CLOCK_MONOTONIC nanoseconds:
 *
 *   TS C DEV:INO PATH        a regular file created (or truncated: TS T)
 *   TS W DEV:INO OFF HEX     bytes written at OFF
 *   TS T DEV:INO LEN         ftruncate
 *   TS S DEV:INO             fsync/fdatasync of a file
 *   TS D DEV:INO PATH        fsync of a directory
 *   TS R DEV:INO FROM TO     rename
 *   TS L DEV:INO TO          link
 *   TS U PATH                unlink
 *   TS M DEV:INO PATH        mkdir
 *   TS N DEV:INO MODE        the mode a created file has (octal)
 *   TS P DEV:INO MODE        chmod/fchmod of a file (octal)
 *
 * Paths are absolute (resolved through /proc/self/cwd and fd links), so
 * record mode needs "sandbox = no" too.
 *
 * The shim calls the real functions through dlsym(RTLD_NEXT) and uses
 * only fstat and write(2) itself, so it works under the sandbox; the
 * trace also reads /proc/self/fd links to name files, which the sandbox
 * forbids: trace with "sandbox = no" (the calls counted are the same).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

enum kind { K_WRITE, K_FSYNC, K_RENAME, K_LINK, K_UNLINK, K_CREATE,
	    K_MKDIR, K_TRUNCATE, K_COUNT };
static const char *const kind_names[K_COUNT] = {
	"write", "fsync", "rename", "link", "unlink", "create", "mkdir",
	"truncate",
};

enum action { A_NONE, A_ERRNO, A_KILL_BEFORE, A_KILL_AFTER };

static struct {
	int ready;
	int trace;
	int kind;		/* the faulted kind, or -1 */
	unsigned long nth;
	enum action action;
	int err;
	unsigned long count[K_COUNT];
} fs;

static char prog[64];
static int rec_fd = -2;		/* -2: not yet looked at; -1: off */

#include <time.h>

static int recording(void)
{
	const char *spec;

	if (rec_fd == -2) {
		rec_fd = -1;
		spec = getenv("CORREO_FAULT");
		if (spec != NULL && strncmp(spec, "record:", 7) == 0)
			rec_fd = (int)syscall(SYS_openat, AT_FDCWD, spec + 7,
					      O_WRONLY | O_APPEND | O_CREAT |
					      O_CLOEXEC, 0600);
	}
	return rec_fd >= 0;
}

static void rec_line(const char *fmt, ...)
{
	/* Per call, not static: a daemon may record from two threads. */
	const size_t size = 1 << 20;
	char *line = malloc(size);
	struct timespec ts;
	va_list ap;
	int n, m;

	if (line == NULL)
		return;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	n = snprintf(line, size, "%lld ",
		     (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
	va_start(ap, fmt);
	m = vsnprintf(line + n, size - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m >= 0 && (size_t)(n + m) < size - 1) {
		line[n + m] = '\n';
		(void)!syscall(SYS_write, rec_fd, line, (size_t)(n + m + 1));
	}
	free(line);
}

/* The absolute form of path relative to dfd (AT_FDCWD: the cwd). */
static void rec_abs(int dfd, const char *path, char *out, size_t size)
{
	char link[64], base[512];
	ssize_t n;

	if (path[0] == '/') {
		snprintf(out, size, "%s", path);
		return;
	}
	if (dfd == AT_FDCWD)
		snprintf(link, sizeof(link), "/proc/self/cwd");
	else
		snprintf(link, sizeof(link), "/proc/self/fd/%d", dfd);
	n = readlink(link, base, sizeof(base) - 1);
	base[n > 0 ? n : 0] = '\0';
	snprintf(out, size, "%s/%s", base, path);
}

static int rec_ino(int fd, char *out, size_t size, int *dir)
{
	struct stat st;

	if (fstat(fd, &st) != 0)
		return 0;
	snprintf(out, size, "%lu:%lu", (unsigned long)st.st_dev,
		 (unsigned long)st.st_ino);
	if (dir != NULL)
		*dir = S_ISDIR(st.st_mode);
	return S_ISREG(st.st_mode) || S_ISDIR(st.st_mode);
}

static int rec_path_ino(int dfd, const char *path, char *out, size_t size)
{
	struct stat st;

	if (fstatat(dfd, path, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return 0;
	snprintf(out, size, "%lu:%lu", (unsigned long)st.st_dev,
		 (unsigned long)st.st_ino);
	return 1;
}

static void rec_write(int fd, const void *buf, ssize_t done, off_t off)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *p = buf;
	char ino[64], *hex;
	int dir = 0;

	if (done <= 0 || !rec_ino(fd, ino, sizeof(ino), &dir) || dir ||
	    (hex = malloc((1 << 19) + 1)) == NULL)
		return;
	for (ssize_t i = 0; i < done; i += 1 << 18) {
		ssize_t k = done - i < (1 << 18) ? done - i : (1 << 18);

		for (ssize_t j = 0; j < k; j++) {
			hex[2 * j] = digits[p[i + j] >> 4];
			hex[2 * j + 1] = digits[p[i + j] & 15];
		}
		hex[2 * k] = '\0';
		rec_line("W %s %lld %s", ino, (long long)(off + i), hex);
	}
	free(hex);
}

/* The offset a write without one will land at. */
static off_t rec_offset(int fd)
{
	struct stat st;
	int fl = fcntl(fd, F_GETFL);

	if (fl >= 0 && (fl & O_APPEND) && fstat(fd, &st) == 0)
		return st.st_size;
	return lseek(fd, 0, SEEK_CUR);
}

/* A file's mode now: at its creation (N) or after a chmod (P). */
static void rec_mode(char kind, int fd)
{
	struct stat st;

	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
		rec_line("%c %lu:%lu %o", kind, (unsigned long)st.st_dev,
			 (unsigned long)st.st_ino,
			 (unsigned)(st.st_mode & 07777));
}

static void rec_open(int dfd, const char *path, int flags, int fd)
{
	char ino[64], abs[1024];
	int dir = 0;

	if (fd < 0 || !(flags & (O_CREAT | O_TRUNC)) ||
	    !rec_ino(fd, ino, sizeof(ino), &dir) || dir)
		return;
	rec_abs(dfd, path, abs, sizeof(abs));
	rec_line("%c %s %s", (flags & O_TRUNC) ? 'T' : 'C', ino, abs);
	if (flags & O_TRUNC)
		rec_line("T %s 0", ino);
	rec_mode('N', fd);
}

static void rec_sync(int fd)
{
	char ino[64], link[64], path[1024];
	int dir = 0;
	ssize_t n;

	if (!rec_ino(fd, ino, sizeof(ino), &dir))
		return;
	if (!dir) {
		rec_line("S %s", ino);
		return;
	}
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	path[n > 0 ? n : 0] = '\0';
	rec_line("D %s %s", ino, path);
}

/* glibc hands ELF constructors argc, argv and envp. */
__attribute__((constructor)) static void name_process(int argc, char **argv,
							char **envp)
{
	const char *base = argc > 0 && argv[0] != NULL ? argv[0] : "?";
	const char *slash = strrchr(base, '/');
	int mail = 0;

	(void)envp;
	for (int i = 1; i < argc; i++)
		if (argv[i] != NULL && strcmp(argv[i], "--mail-session") == 0)
			mail = 1;
	snprintf(prog, sizeof(prog), "%s%s", slash != NULL ? slash + 1 : base,
		 mail ? "-mail" : "");
}

static void die(void)
{
	syscall(SYS_exit_group, 137);
	for (;;)
		;
}

static void setup(void)
{
	const char *spec = getenv("CORREO_FAULT");
	char buf[256], *who, *kind, *nth, *act;

	fs.ready = 1;
	fs.kind = -1;
	if (spec == NULL || *spec == '\0')
		return;
	if (strcmp(spec, "trace") == 0) {
		fs.trace = 1;
		return;
	}
	snprintf(buf, sizeof(buf), "%s", spec);
	who = strtok(buf, ":");
	kind = strtok(NULL, ":");
	nth = strtok(NULL, ":");
	act = strtok(NULL, ":");
	if (who == NULL || kind == NULL || nth == NULL || act == NULL)
		return;
	if (strcmp(who, "*") != 0 && strcmp(who, prog) != 0)
		return;
	for (int k = 0; k < K_COUNT; k++)
		if (strcmp(kind, kind_names[k]) == 0)
			fs.kind = k;
	fs.nth = strtoul(nth, NULL, 10);
	if (strcmp(act, "EIO") == 0) {
		fs.action = A_ERRNO;
		fs.err = EIO;
	} else if (strcmp(act, "ENOSPC") == 0) {
		fs.action = A_ERRNO;
		fs.err = ENOSPC;
	} else if (strcmp(act, "EDQUOT") == 0) {
		fs.action = A_ERRNO;
		fs.err = EDQUOT;
	} else if (strcmp(act, "kill-before") == 0)
		fs.action = A_KILL_BEFORE;
	else if (strcmp(act, "kill-after") == 0)
		fs.action = A_KILL_AFTER;
	else
		fs.kind = -1;
}

static void trace(int kind, unsigned long n, const char *path)
{
	char line[600];
	int len;

	len = snprintf(line, sizeof(line), "correo-fault: %s %ld %s %lu%s%s\n",
		       prog, (long)getpid(),
		       kind_names[kind], n, path != NULL ? " " : "",
		       path != NULL ? path : "");
	if (len > 0)
		(void)!syscall(SYS_write, 2, line,
			       (size_t)len < sizeof(line) ? (size_t)len :
			       sizeof(line) - 1);
}

/* Count a call; return the action to take for it. */
static enum action hit_fd(int kind, int fd);

static enum action hit(int kind, const char *path)
{
	unsigned long n;
	int saved = errno;

	if (!fs.ready)
		setup();
	n = ++fs.count[kind];
	if (fs.trace)
		trace(kind, n, path);
	errno = saved;
	if (kind != fs.kind || n != fs.nth)
		return A_NONE;
	if (fs.action == A_KILL_BEFORE)
		die();
	return fs.action;
}

/* The same for a call on a descriptor: traced with the file's path. */
static enum action hit_fd(int kind, int fd)
{
	char link[64], path[512];
	ssize_t n = -1;
	int saved = errno;

	if (!fs.ready)
		setup();
	if (fs.trace) {
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		n = readlink(link, path, sizeof(path) - 1);
	}
	path[n > 0 ? n : 0] = '\0';
	errno = saved;
	return hit(kind, n > 0 ? path : NULL);
}

static int regular(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

#define REAL(name, ret, ...) \
	static ret (*real_##name)(__VA_ARGS__); \
	if (real_##name == NULL) \
		real_##name = (ret (*)(__VA_ARGS__))dlsym(RTLD_NEXT, #name)

/* Run the call through act: fail, or call and maybe die after. */
#define FAULT(act, ret_fail, call) do { \
	if ((act) == A_ERRNO) { \
		errno = fs.err; \
		return ret_fail; \
	} else { \
		__typeof__(call) r_ = (call); \
		if ((act) == A_KILL_AFTER) \
			die(); \
		return r_; \
	} \
} while (0)

ssize_t write(int fd, const void *buf, size_t len)
{
	REAL(write, ssize_t, int, const void *, size_t);
	enum action a;

	if (recording() && regular(fd)) {
		off_t off = rec_offset(fd);
		ssize_t r = real_write(fd, buf, len);

		rec_write(fd, buf, r, off);
		return r;
	}
	a = regular(fd) ? hit_fd(K_WRITE, fd) : A_NONE;

	FAULT(a, -1, real_write(fd, buf, len));
}

ssize_t pwrite(int fd, const void *buf, size_t len, off_t off)
{
	REAL(pwrite, ssize_t, int, const void *, size_t, off_t);
	enum action a;

	if (recording() && regular(fd)) {
		ssize_t r = real_pwrite(fd, buf, len, off);

		rec_write(fd, buf, r, off);
		return r;
	}
	a = regular(fd) ? hit_fd(K_WRITE, fd) : A_NONE;

	FAULT(a, -1, real_pwrite(fd, buf, len, off));
}

ssize_t pwrite64(int fd, const void *buf, size_t len, off_t off)
{
	REAL(pwrite64, ssize_t, int, const void *, size_t, off_t);
	enum action a;

	if (recording() && regular(fd)) {
		ssize_t r = real_pwrite64(fd, buf, len, off);

		rec_write(fd, buf, r, off);
		return r;
	}
	a = regular(fd) ? hit_fd(K_WRITE, fd) : A_NONE;

	FAULT(a, -1, real_pwrite64(fd, buf, len, off));
}

ssize_t writev(int fd, const struct iovec *iov, int n)
{
	REAL(writev, ssize_t, int, const struct iovec *, int);
	enum action a;

	if (recording() && regular(fd)) {
		off_t off = rec_offset(fd);
		ssize_t r = real_writev(fd, iov, n), left = r;

		for (int i = 0; i < n && left > 0; i++) {
			ssize_t k = (ssize_t)iov[i].iov_len < left ?
				(ssize_t)iov[i].iov_len : left;

			rec_write(fd, iov[i].iov_base, k, off);
			off += k;
			left -= k;
		}
		return r;
	}
	a = regular(fd) ? hit_fd(K_WRITE, fd) : A_NONE;

	FAULT(a, -1, real_writev(fd, iov, n));
}

/* local copies the body out of the queue file in the kernel. */
ssize_t copy_file_range(int in, off_t *in_off, int out, off_t *out_off,
			size_t len, unsigned flags)
{
	REAL(copy_file_range, ssize_t, int, off_t *, int, off_t *, size_t,
	     unsigned);
	enum action a;

	if (recording() && regular(out)) {
		off_t from = in_off != NULL ? *in_off : lseek(in, 0, SEEK_CUR);
		off_t to = out_off != NULL ? *out_off : rec_offset(out);
		ssize_t r = real_copy_file_range(in, in_off, out, out_off, len,
						 flags);

		if (r > 0) {
			char *buf = malloc((size_t)r);

			if (buf != NULL && pread(in, buf, (size_t)r, from) == r)
				rec_write(out, buf, r, to);
			free(buf);
		}
		return r;
	}
	a = regular(out) ? hit_fd(K_WRITE, out) : A_NONE;
	FAULT(a, -1, real_copy_file_range(in, in_off, out, out_off, len,
					  flags));
}

int fsync(int fd)
{
	REAL(fsync, int, int);
	enum action a;

	if (recording()) {
		int r = real_fsync(fd);

		if (r == 0)
			rec_sync(fd);
		return r;
	}
	a = hit_fd(K_FSYNC, fd);

	FAULT(a, -1, real_fsync(fd));
}

int fdatasync(int fd)
{
	REAL(fdatasync, int, int);
	enum action a;

	if (recording()) {
		int r = real_fdatasync(fd);

		if (r == 0)
			rec_sync(fd);
		return r;
	}
	a = hit_fd(K_FSYNC, fd);

	FAULT(a, -1, real_fdatasync(fd));
}

/* Record a rename: the inode is looked up before, logged after. */
#define REC_RENAME(fd1, from, fd2, to, call) do { \
	char ino_[64], a_[1024], b_[1024]; \
	int ok_ = rec_path_ino(fd1, from, ino_, sizeof(ino_)); \
	int r_; \
	rec_abs(fd1, from, a_, sizeof(a_)); \
	rec_abs(fd2, to, b_, sizeof(b_)); \
	r_ = (call); \
	if (r_ == 0 && ok_) \
		rec_line("R %s %s %s", ino_, a_, b_); \
	return r_; \
} while (0)

int rename(const char *from, const char *to)
{
	REAL(rename, int, const char *, const char *);
	enum action a;

	if (recording())
		REC_RENAME(AT_FDCWD, from, AT_FDCWD, to, real_rename(from, to));
	a = hit(K_RENAME, to);

	FAULT(a, -1, real_rename(from, to));
}

int renameat(int fd1, const char *from, int fd2, const char *to)
{
	REAL(renameat, int, int, const char *, int, const char *);
	enum action a;

	if (recording())
		REC_RENAME(fd1, from, fd2, to, real_renameat(fd1, from, fd2, to));
	a = hit(K_RENAME, to);

	FAULT(a, -1, real_renameat(fd1, from, fd2, to));
}

int renameat2(int fd1, const char *from, int fd2, const char *to,
	      unsigned flags)
{
	REAL(renameat2, int, int, const char *, int, const char *, unsigned);
	enum action a;

	if (recording())
		REC_RENAME(fd1, from, fd2, to,
			   real_renameat2(fd1, from, fd2, to, flags));
	a = hit(K_RENAME, to);

	FAULT(a, -1, real_renameat2(fd1, from, fd2, to, flags));
}

/* Record a link (the source followed: /proc/self/fd/N of an O_TMPFILE
 * file, or "" with AT_EMPTY_PATH), an unlink or a mkdir. */
static void rec_link(int fd1, const char *from, int fd2, const char *to)
{
	struct stat st;
	char b[1024];
	int r = from[0] == '\0' ? fstat(fd1, &st) : fstatat(fd1, from, &st, 0);

	if (r != 0)
		return;
	rec_abs(fd2, to, b, sizeof(b));
	rec_line("L %lu:%lu %s", (unsigned long)st.st_dev,
		 (unsigned long)st.st_ino, b);
}

static void rec_unlink(int fd, const char *path)
{
	char a[1024];

	rec_abs(fd, path, a, sizeof(a));
	rec_line("U %s", a);
}

static void rec_mkdir(int fd, const char *path)
{
	char ino[64], a[1024];

	if (!rec_path_ino(fd, path, ino, sizeof(ino)))
		return;
	rec_abs(fd, path, a, sizeof(a));
	rec_line("M %s %s", ino, a);
}

int link(const char *from, const char *to)
{
	REAL(link, int, const char *, const char *);
	enum action a;

	if (recording()) {
		int r = real_link(from, to);

		if (r == 0)
			rec_link(AT_FDCWD, from, AT_FDCWD, to);
		return r;
	}
	a = hit(K_LINK, to);

	FAULT(a, -1, real_link(from, to));
}

int linkat(int fd1, const char *from, int fd2, const char *to, int flags)
{
	REAL(linkat, int, int, const char *, int, const char *, int);
	enum action a;

	if (recording()) {
		int r = real_linkat(fd1, from, fd2, to, flags);

		if (r == 0)
			rec_link(fd1, from, fd2, to);
		return r;
	}
	a = hit(K_LINK, to);

	FAULT(a, -1, real_linkat(fd1, from, fd2, to, flags));
}

int unlink(const char *path)
{
	REAL(unlink, int, const char *);
	enum action a;

	if (recording()) {
		int r = real_unlink(path);

		if (r == 0)
			rec_unlink(AT_FDCWD, path);
		return r;
	}
	a = hit(K_UNLINK, path);

	FAULT(a, -1, real_unlink(path));
}

int unlinkat(int fd, const char *path, int flags)
{
	REAL(unlinkat, int, int, const char *, int);
	enum action a;

	if (recording()) {
		char abs[1024];
		int r;

		rec_abs(fd, path, abs, sizeof(abs));
		r = real_unlinkat(fd, path, flags);
		if (r == 0)
			rec_line("U %s", abs);
		return r;
	}
	a = hit(K_UNLINK, path);

	FAULT(a, -1, real_unlinkat(fd, path, flags));
}

/* Recorded only (the queue's commit sets a file's mode: power loss
 * must know whether that reached the disk); never faulted. */
int fchmod(int fd, mode_t mode)
{
	REAL(fchmod, int, int, mode_t);
	int r = real_fchmod(fd, mode);

	if (r == 0 && recording())
		rec_mode('P', fd);
	return r;
}

int chmod(const char *path, mode_t mode)
{
	REAL(chmod, int, const char *, mode_t);
	int r = real_chmod(path, mode);

	if (r == 0 && recording()) {
		int fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);

		if (fd >= 0) {
			rec_mode('P', fd);
			close(fd);
		}
	}
	return r;
}

int mkdir(const char *path, mode_t mode)
{
	REAL(mkdir, int, const char *, mode_t);
	enum action a;

	if (recording()) {
		int r = real_mkdir(path, mode);

		if (r == 0)
			rec_mkdir(AT_FDCWD, path);
		return r;
	}
	a = hit(K_MKDIR, path);

	FAULT(a, -1, real_mkdir(path, mode));
}

int mkdirat(int fd, const char *path, mode_t mode)
{
	REAL(mkdirat, int, int, const char *, mode_t);
	enum action a;

	if (recording()) {
		int r = real_mkdirat(fd, path, mode);

		if (r == 0)
			rec_mkdir(fd, path);
		return r;
	}
	a = hit(K_MKDIR, path);

	FAULT(a, -1, real_mkdirat(fd, path, mode));
}

int ftruncate(int fd, off_t len)
{
	REAL(ftruncate, int, int, off_t);
	enum action a;

	if (recording()) {
		int r = real_ftruncate(fd, len);
		char ino[64];
		int dir = 0;

		if (r == 0 && rec_ino(fd, ino, sizeof(ino), &dir) && !dir)
			rec_line("T %s %lld", ino, (long long)len);
		return r;
	}
	a = hit_fd(K_TRUNCATE, fd);

	FAULT(a, -1, real_ftruncate(fd, len));
}

static int creating(int flags)
{
	return (flags & O_CREAT) != 0 || (flags & __O_TMPFILE) == __O_TMPFILE;
}

int open(const char *path, int flags, ...)
{
	REAL(open, int, const char *, int, ...);
	mode_t mode = 0;
	enum action a = A_NONE;

	if (creating(flags)) {
		va_list ap;

		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
		if (recording()) {
			int fd = real_open(path, flags, mode);

			rec_open(AT_FDCWD, path, flags, fd);
			return fd;
		}
		a = hit(K_CREATE, path);
	}
	FAULT(a, -1, real_open(path, flags, mode));
}

int open64(const char *path, int flags, ...)
{
	REAL(open64, int, const char *, int, ...);
	mode_t mode = 0;
	enum action a = A_NONE;

	if (creating(flags)) {
		va_list ap;

		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
		if (recording()) {
			int fd = real_open64(path, flags, mode);

			rec_open(AT_FDCWD, path, flags, fd);
			return fd;
		}
		a = hit(K_CREATE, path);
	}
	FAULT(a, -1, real_open64(path, flags, mode));
}

int openat(int dfd, const char *path, int flags, ...)
{
	REAL(openat, int, int, const char *, int, ...);
	mode_t mode = 0;
	enum action a = A_NONE;

	if (creating(flags)) {
		va_list ap;

		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
		if (recording()) {
			int fd = real_openat(dfd, path, flags, mode);

			rec_open(dfd, path, flags, fd);
			return fd;
		}
		a = hit(K_CREATE, path);
	}
	FAULT(a, -1, real_openat(dfd, path, flags, mode));
}

int openat64(int dfd, const char *path, int flags, ...)
{
	REAL(openat64, int, int, const char *, int, ...);
	mode_t mode = 0;
	enum action a = A_NONE;

	if (creating(flags)) {
		va_list ap;

		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
		if (recording()) {
			int fd = real_openat64(dfd, path, flags, mode);

			rec_open(dfd, path, flags, fd);
			return fd;
		}
		a = hit(K_CREATE, path);
	}
	FAULT(a, -1, real_openat64(dfd, path, flags, mode));
}

/* glibc's mkstemp family opens its file through an internal call that
 * no wrapper above sees, so it gets its own: correo's atomic writes
 * (common/util/safe_file.c, the store's index and log) create their
 * temporary files this way. Unrecorded, such a file's inode number,
 * reused from a file removed earlier, made the power-cut replay write
 * the new file's bytes into the old one. */
int mkostemp(char *template, int flags)
{
	REAL(mkostemp, int, char *, int);
	enum action a;

	if (recording()) {
		int fd = real_mkostemp(template, flags);

		rec_open(AT_FDCWD, template, O_CREAT, fd);
		return fd;
	}
	a = hit(K_CREATE, template);
	FAULT(a, -1, real_mkostemp(template, flags));
}

int mkstemp(char *template)
{
	REAL(mkstemp, int, char *);
	enum action a;

	if (recording()) {
		int fd = real_mkstemp(template);

		rec_open(AT_FDCWD, template, O_CREAT, fd);
		return fd;
	}
	a = hit(K_CREATE, template);
	FAULT(a, -1, real_mkstemp(template));
}

/* correo issues some fsyncs through Linux AIO (common/util/bgsync.c:
 * io_submit of IOCB_CMD_FSYNC), which no libc wrapper here can see.
 * Refusing io_setup makes bgsync fall back to fsync and fdatasync, so
 * every sync on a message's path stays a fault point. Any other raw
 * system call goes through unchanged (six arguments read: the x86-64
 * and aarch64 ABIs pass them in registers, so reading unused ones is
 * harmless). */
long syscall(long number, ...)
{
	REAL(syscall, long, long, ...);
	long a[6];
	va_list ap;

	va_start(ap, number);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (number == SYS_io_setup) {
		errno = ENOSYS;
		return -1;
	}
	return real_syscall(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}
