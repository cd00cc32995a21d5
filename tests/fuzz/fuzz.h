#ifndef TESTS_FUZZ_FUZZ_H
#define TESTS_FUZZ_FUZZ_H

/* Helpers shared by the libFuzzer targets in tests/fuzz (header-only:
 * each target is one .c file plus this).
 *
 * fuzz_init: log lines go to /dev/null (FUZZ_VERBOSE=1 in the
 * environment sends them to stderr, for reproducing a crash), and
 * msg_fatal aborts instead of exiting, so a fatal error on input shows
 * up as a crash with a stack trace.
 *
 * fuzz_cstr: the input as a NUL-terminated copy (NULL if the input has a
 * NUL inside, for parsers that take C strings).
 *
 * fuzz_fd / fuzz_file: the input as the contents of a memfd (read from
 * offset 0) or of a regular file in a private temporary directory, for
 * parsers that read from a descriptor or a path.
 *
 * SECURITY: test code only; never linked into a daemon. */

#include "config.h"	/* _GNU_SOURCE for memfd_create */
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mem.h"
#include "msg.h"
#include "str.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static char fuzz_dir[64];
static char fuzz_paths[8][128];
static int fuzz_npaths;

static inline void fuzz_abort(void)
{
	abort();
}

/* Remove the files fuzz_file made and the directory (targets that make
 * other files there remove them themselves). */
static inline void fuzz_cleanup(void)
{
	for (int i = 0; i < fuzz_npaths; i++)
		unlink(fuzz_paths[i]);
	if (fuzz_dir[0] != '\0')
		rmdir(fuzz_dir);
}

static inline void fuzz_init(const char *name)
{
	const char *verbose = getenv("FUZZ_VERBOSE");

	msg_set_name(name);
	if (verbose != NULL && *verbose == '1')
		msg_open_stderr();
	else if (!msg_open_file("/dev/null"))
		msg_open_stderr();
	msg_set_fatal_hook(fuzz_abort);
}

static inline const char *fuzz_tmpdir(void)
{
	if (fuzz_dir[0] == '\0') {
		memcpy(fuzz_dir, "/tmp/correo-fuzz.XXXXXX", 24);
		if (mkdtemp(fuzz_dir) == NULL) {
			perror("mkdtemp");
			abort();
		}
		atexit(fuzz_cleanup);
	}
	return fuzz_dir;
}

/* Allocated (mem_free) NUL-terminated copy, or NULL with an inner NUL. */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
	if (memchr(data, '\0', size) != NULL)
		return NULL;
	return mem_strndup((const char *)data, size);
}

static inline void fuzz_write_all(int fd, const uint8_t *data, size_t size)
{
	while (size > 0) {
		ssize_t n = write(fd, data, size);

		if (n <= 0) {
			perror("fuzz write");
			abort();
		}
		data += n;
		size -= (size_t)n;
	}
}

/* A memfd holding the input, positioned at 0. The caller closes it. */
static inline int fuzz_fd(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz", MFD_CLOEXEC);

	if (fd < 0) {
		perror("memfd_create");
		abort();
	}
	fuzz_write_all(fd, data, size);
	if (lseek(fd, 0, SEEK_SET) != 0)
		abort();
	return fd;
}

static inline bool fuzz_known(const char *path)
{
	for (int i = 0; i < fuzz_npaths; i++)
		if (strcmp(fuzz_paths[i], path) == 0)
			return true;
	return false;
}

/* Write the input to the file name in the private directory; returns
 * its path (static buffer). */
static inline const char *fuzz_file(const char *name, const uint8_t *data,
			     size_t size)
{
	static char path[128];
	int fd;

	if (!str_snprintf(path, sizeof(path), "%s/%s", fuzz_tmpdir(), name))
		abort();
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0 && !fuzz_known(path)) {
		if (fuzz_npaths == 8)
			abort();
		memcpy(fuzz_paths[fuzz_npaths++], path, sizeof(path));
	}
	if (fd < 0) {
		perror(path);
		abort();
	}
	fuzz_write_all(fd, data, size);
	close(fd);
	return path;
}

#endif
