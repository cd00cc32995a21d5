#ifndef TESTS_UNIT_TEST_UTIL_H
#define TESTS_UNIT_TEST_UTIL_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "str.h"

/* Helpers shared by the Check unit tests (tests/unit/test_*.c), linked in
 * as libtestutil.a. Each helper that can fail fails the running test with
 * a Check assertion, so callers need no error handling; use them only
 * from a test's setup, teardown or body (or a forked child of one). */

/* Create a fresh private directory "/tmp/NAME.XXXXXX" with mkdtemp() and
 * store its path in buf (size bytes). */
void tu_tmpdir(char *buf, size_t size, const char *name);
/* Remove path and everything below it, depth first, never following
 * symbolic links. Returns 0, or -1 with errno set from the first failed
 * removal (teardowns usually ignore it). */
int tu_rmtree(const char *path);
/* "dir/name" in a static ring of 16 buffers: the last 16 results stay
 * valid, so several may appear in one call. */
const char *tu_path(const char *dir, const char *name);
/* Number of entries in dir, not counting "." and "..". */
int tu_count_entries(const char *dir);
/* Write text (NUL-terminated) to path atomically with safe_write_file(),
 * creating it with mode. */
void tu_write_file(const char *path, const char *text, mode_t mode);
/* A maildir_write_fn (store_deliver, maildir_deliver) writing the
 * NUL-terminated text ctx. */
bool tu_write_text(int fd, void *ctx);

/* Wait for the child pid; return its exit status, or 100 + the signal
 * number if a signal killed it. */
int tu_wait(pid_t pid);
/* Run fn(arg) in a forked child that exits with fn's return value;
 * return what tu_wait() says about it. */
int tu_run_child(int (*fn)(void *), void *arg);

/* Send msg_* output to the file path (created or appended) until
 * tu_msg_capture_end(), which sends it back to stderr, appends what was
 * logged to out and removes the file. */
void tu_msg_capture_begin(const char *path);
void tu_msg_capture_end(const char *path, struct str *out);

/* Run every test of suite s (which it frees) in the normal fork mode and
 * return EXIT_SUCCESS if none failed, else EXIT_FAILURE: a test's main()
 * is "return tu_run_suite(foo_suite());". */
int tu_run_suite(Suite *s);

#endif
