/*
 * Unit tests for common/queue.c and common/queue_file.c: queue IDs, the
 * queue file writer and reader, status marks, corruption reports, the
 * golden fixture in tests/data/queue/, queue_move and queue_scan.
 *
 * Every test runs in its own temporary queue directory (Check forks per
 * test, so the chdir does not leak). Corrupt files are built by hand
 * with make_file(), independent of the writer, so the reader is checked
 * against the documented format rather than against the writer alone.
 *
 * SECURITY: test code; writes only below a mkdtemp() directory.
 */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mem.h"
#include "queue.h"
#include "str.h"
#include "test_util.h"

#ifndef QUEUE_TEST_DATA
#define QUEUE_TEST_DATA "tests/data/queue"
#endif
#define GOLDEN_ID "1K0T8KD6CVR00K8E00"
#define GOLDEN_TIME "1700000000.123456"


/* Files in incoming/ other than the group commit state (queue.h). */
static unsigned incoming_entries(void)
{
	int n = tu_count_entries("incoming");

	if (access(QUEUE_INCOMING "/" QUEUE_SYNC_FILE, F_OK) == 0)
		n--;
	return (unsigned)n;
}

static char tmpdir[64];

static void setup(void)
{
	size_t i;

	tu_tmpdir(tmpdir, sizeof(tmpdir), "correo-queue");
	ck_assert_int_eq(chdir(tmpdir), 0);
	for (i = 0; queue_dirs[i].name != NULL; i++)
		ck_assert_int_eq(mkdir(queue_dirs[i].name, 0700), 0);
}

static void teardown(void)
{
	if (chdir("/") == 0)
		(void)tu_rmtree(tmpdir);
}

static void read_whole(const char *path, struct str *out)
{
	char buf[65536];
	ssize_t n;
	int fd = open(path, O_RDONLY);

	ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
	str_clear(out);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		str_append_n(out, buf, (size_t)n);
	ck_assert_int_eq(n, 0);
	close(fd);
}

static void write_whole(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
}

/* Commit a message; return its path (static). */
static const char *commit(struct queue_writer *w)
{
	static char path[64];

	ck_assert(str_snprintf(path, sizeof(path), "incoming/%s",
			       queue_writer_id(w)));
	ck_assert_msg(queue_writer_commit(w), "commit: %s", strerror(errno));
	queue_writer_free(&w);
	return path;
}

static struct queue_msg *open_ok(const char *path, bool update)
{
	struct queue_msg *msg = NULL;
	const char *error = NULL;
	int ret = queue_msg_open(path, update, &msg, &error);

	ck_assert_msg(ret == 1, "open %s: %d %s %s", path, ret,
		      error != NULL ? error : "", strerror(errno));
	ck_assert_ptr_nonnull(msg);
	return msg;
}

/*
 * Queue IDs.
 */

START_TEST(test_id_format)
{
	char id[QUEUE_ID_SIZE];
	struct timespec ts, now;

	queue_id_new(id);
	ck_assert_uint_eq(strlen(id), QUEUE_ID_LEN);
	ck_assert(queue_id_valid(id));
	ck_assert(queue_id_time(id, &ts));
	clock_gettime(CLOCK_REALTIME, &now);
	ck_assert(ts.tv_sec <= now.tv_sec && ts.tv_sec >= now.tv_sec - 2);

	ck_assert(!queue_id_valid(""));
	ck_assert(!queue_id_valid("1K0T8KD6CVR00K8E0"));	/* short */
	ck_assert(!queue_id_valid("1K0T8KD6CVR00K8E000"));	/* long */
	ck_assert(!queue_id_valid("1k0T8KD6CVR00K8E00"));	/* lower */
	ck_assert(!queue_id_valid(".K0T8KD6CVR00K8E00"));
	ck_assert(!queue_id_valid("1K0T8KD6C/R00K8E00"));
	ck_assert(!queue_id_valid("1K0T8KD6CIR00K8E00"));	/* I */
	ck_assert(!queue_id_valid("1K0T8KD6CUR00K8E00"));	/* U */
	ck_assert(queue_id_valid(GOLDEN_ID));
	ck_assert(!queue_id_time("bad", &ts));
}
END_TEST

START_TEST(test_id_increasing)
{
	char prev[QUEUE_ID_SIZE], id[QUEUE_ID_SIZE];
	int i;

	queue_id_new(prev);
	for (i = 0; i < 100000; i++) {
		queue_id_new(id);
		ck_assert_msg(strcmp(prev, id) < 0, "%s !< %s", prev, id);
		memcpy(prev, id, sizeof(id));
	}
}
END_TEST

static int cmp_id(const void *a, const void *b)
{
	return strcmp(a, b);
}

#define ID_CHILDREN 4
#define ID_PER_CHILD 25000

/* Children and the parent generate IDs at the same time (after a fork,
 * the child inherits the counter state); none may collide. */
START_TEST(test_id_forked_unique)
{
	size_t total = (ID_CHILDREN + 1) * ID_PER_CHILD, n = 0, i;
	char (*ids)[QUEUE_ID_SIZE] = mem_array(total, QUEUE_ID_SIZE);
	int fds[ID_CHILDREN][2], c, status;
	pid_t pids[ID_CHILDREN];

	queue_id_new(ids[n++]);	/* prime the per-process state */
	for (c = 0; c < ID_CHILDREN; c++) {
		ck_assert_int_eq(pipe(fds[c]), 0);
		pids[c] = fork();
		ck_assert_int_ge(pids[c], 0);
		if (pids[c] == 0) {
			char id[QUEUE_ID_SIZE];

			close(fds[c][0]);
			for (i = 0; i < ID_PER_CHILD; i++) {
				queue_id_new(id);
				if (write(fds[c][1], id, sizeof(id)) !=
				    sizeof(id))
					_exit(1);
			}
			_exit(0);
		}
		close(fds[c][1]);
	}
	while (n < ID_PER_CHILD)
		queue_id_new(ids[n++]);
	for (c = 0; c < ID_CHILDREN; c++) {
		for (i = 0; i < ID_PER_CHILD; i++) {
			ck_assert_int_eq(read(fds[c][0], ids[n], QUEUE_ID_SIZE),
					 QUEUE_ID_SIZE);
			ck_assert(queue_id_valid(ids[n]));
			if (i > 0)
				ck_assert(strcmp(ids[n - 1], ids[n]) < 0);
			n++;
		}
		ck_assert_int_eq(waitpid(pids[c], &status, 0), pids[c]);
		ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		close(fds[c][0]);
	}
	qsort(ids, n, QUEUE_ID_SIZE, cmp_id);
	for (i = 1; i < n; i++)
		ck_assert_msg(strcmp(ids[i - 1], ids[i]) != 0, "dup %s",
			      ids[i]);
	mem_free(ids);
}
END_TEST

/* An ID made later by another process sorts after ours. */
START_TEST(test_id_time_order)
{
	char a[QUEUE_ID_SIZE], b[QUEUE_ID_SIZE];
	int fd[2];
	pid_t pid;

	queue_id_new(a);
	usleep(2000);
	ck_assert_int_eq(pipe(fd), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		queue_id_new(b);
		_exit(write(fd[1], b, sizeof(b)) == sizeof(b) ? 0 : 1);
	}
	ck_assert_int_eq(read(fd[0], b, sizeof(b)), sizeof(b));
	waitpid(pid, NULL, 0);
	ck_assert_msg(strcmp(a, b) < 0, "%s !< %s", a, b);
}
END_TEST

START_TEST(test_path_valid)
{
	char id[QUEUE_ID_SIZE], path[64];

	queue_id_new(id);
	snprintf(path, sizeof(path), "active/%s", id);
	ck_assert(queue_path_valid(path, id));
	snprintf(path, sizeof(path), "deferred/%s", id);
	ck_assert(queue_path_valid(path, id));
	snprintf(path, sizeof(path), "corrupt/%s", id);
	ck_assert(!queue_path_valid(path, id));
	snprintf(path, sizeof(path), "../active/%s", id);
	ck_assert(!queue_path_valid(path, id));
	snprintf(path, sizeof(path), "active/%s", id);
	ck_assert(!queue_path_valid(path, "ABC"));
	ck_assert(!queue_path_valid(id, id));
	ck_assert(!queue_path_valid("active/x/y", "y"));
}
END_TEST

START_TEST(test_queue_dirs)
{
	static const struct queue_dir_spec want[] = {
		{ "incoming", 0700 }, { "active", 0700 },
		{ "deferred", 0700 }, { "hold", 0700 },
		{ "corrupt", 0700 }, { "defer", 0700 },
		{ "maildrop", 01730 },
		{ "private", 0700 }, { "public", 0710 }, { "pid", 0755 },
	};
	size_t i, j, n;

	for (n = 0; queue_dirs[n].name != NULL; n++)
		;
	ck_assert_uint_eq(n, sizeof(want) / sizeof(want[0]));
	for (i = 0; i < n; i++) {
		for (j = 0; j < n; j++) {
			if (strcmp(queue_dirs[j].name, want[i].name) == 0)
				break;
		}
		ck_assert_msg(j < n, "missing %s", want[i].name);
		ck_assert_uint_eq(queue_dirs[j].mode, want[i].mode);
	}
}
END_TEST

/*
 * Writer -> reader.
 */

static const char binary[] = "Subject: x\n\nnul\0here \x80\xff\xfe\n.\n\0";

START_TEST(test_roundtrip)
{
	struct queue_writer *w = queue_writer_create();
	struct queue_msg *msg;
	struct str s = STR_INIT;
	const char *path;
	char byte, buf[7];
	size_t i;
	off_t pos;
	ssize_t n;

	ck_assert_ptr_nonnull(w);
	ck_assert(queue_id_valid(queue_writer_id(w)));
	queue_writer_sender(w, "alice@alice.test");
	queue_writer_attr(w, "client_addr", "192.0.2.1");
	queue_writer_attr(w, "helo", "line\nbreak=and:colon");
	queue_writer_attr(w, "empty", "");
	queue_writer_rcpt(w, "bob@marvel.test", "Bob@Marvel.TEST",
			  QUEUE_NOTIFY_SUCCESS | QUEUE_NOTIFY_FAILURE);
	queue_writer_rcpt(w, "carol@marvel.test", NULL, 0);
	queue_writer_rcpt(w, "dave@x.test", "", QUEUE_NOTIFY_NEVER);
	ck_assert(queue_writer_content(w, binary, 10));
	ck_assert(queue_writer_content(w, binary + 10, sizeof(binary) - 10));
	ck_assert_uint_eq(queue_writer_size(w), sizeof(binary));
	path = commit(w);
	ck_assert_uint_eq(incoming_entries(), 1);

	msg = open_ok(path, false);
	ck_assert_str_eq(msg->id, path + strlen("incoming/"));
	ck_assert_str_eq(msg->path, path);
	ck_assert(msg->arrival > 1600000000);
	ck_assert(msg->arrival_usec >= 0 && msg->arrival_usec < 1000000);
	ck_assert_str_eq(msg->sender, "alice@alice.test");
	ck_assert_uint_eq(msg->attrs.count, 3);
	ck_assert_str_eq(msg->attrs.attrs[0].name, "client_addr");
	ck_assert_str_eq(msg->attrs.attrs[0].value, "192.0.2.1");
	ck_assert_str_eq(msg->attrs.attrs[1].name, "helo");
	ck_assert_str_eq(msg->attrs.attrs[1].value, "line\nbreak=and:colon");
	ck_assert_str_eq(msg->attrs.attrs[2].name, "empty");
	ck_assert_str_eq(msg->attrs.attrs[2].value, "");
	ck_assert_uint_eq(msg->nrcpt, 3);
	ck_assert_str_eq(msg->rcpts[0].address, "bob@marvel.test");
	ck_assert_str_eq(msg->rcpts[0].orig, "Bob@Marvel.TEST");
	ck_assert_uint_eq(msg->rcpts[0].notify, 6);
	ck_assert_str_eq(msg->rcpts[1].address, "carol@marvel.test");
	ck_assert_ptr_null(msg->rcpts[1].orig);
	ck_assert_uint_eq(msg->rcpts[1].notify, 0);
	ck_assert_ptr_null(msg->rcpts[2].orig);
	ck_assert_uint_eq(msg->rcpts[2].notify, QUEUE_NOTIFY_NEVER);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(msg->rcpts[i].status, QUEUE_RCPT_TODO);
		ck_assert_int_eq(pread(msg->fd, &byte, 1,
				       msg->rcpts[i].status_offset), 1);
		ck_assert_int_eq(byte, QUEUE_RCPT_TODO);
	}
	ck_assert_uint_eq(queue_msg_todo(msg), 3);
	ck_assert_int_eq(msg->content_len, sizeof(binary));
	/* Small and read-only: the first read held it all, and the
	 * content is served from it. */
	ck_assert_ptr_nonnull(msg->whole);

	ck_assert(queue_msg_content(msg, &s, sizeof(binary)));
	ck_assert_uint_eq(s.len, sizeof(binary));
	ck_assert(memcmp(s.data, binary, sizeof(binary)) == 0);
	str_clear(&s);
	errno = 0;
	ck_assert(!queue_msg_content(msg, &s, sizeof(binary) - 1));
	ck_assert_int_eq(errno, EFBIG);

	/* Chunked reads of an odd size cover every byte once. */
	for (pos = 0; (n = queue_msg_content_read(msg, pos, buf,
						  sizeof(buf))) > 0; pos += n)
		str_append_n(&s, buf, (size_t)n);
	ck_assert_int_eq(n, 0);
	ck_assert_uint_eq(s.len, sizeof(binary));
	ck_assert(memcmp(s.data, binary, sizeof(binary)) == 0);
	ck_assert_int_eq(queue_msg_content_read(msg, -1, buf, 1), -1);
	queue_msg_free(&msg);
	ck_assert_ptr_null(msg);
	str_release(&s);
}
END_TEST

START_TEST(test_null_sender_empty_content)
{
	struct queue_writer *w = queue_writer_create();
	struct queue_msg *msg;
	struct str s = STR_INIT;
	const char *path;

	queue_writer_rcpt(w, "alice@alice.test", NULL, 0);
	queue_writer_sender(w, "");
	ck_assert(queue_writer_content(w, "", 0));
	path = commit(w);
	msg = open_ok(path, false);
	ck_assert_str_eq(msg->sender, "");
	ck_assert_uint_eq(msg->attrs.count, 0);
	ck_assert_int_eq(msg->content_len, 0);
	ck_assert(queue_msg_content(msg, &s, 0));
	ck_assert_uint_eq(s.len, 0);
	queue_msg_free(&msg);

	/* No content call at all. */
	w = queue_writer_create();
	queue_writer_sender(w, "a@b");
	queue_writer_rcpt(w, "c@d", NULL, 0);
	path = commit(w);
	msg = open_ok(path, false);
	ck_assert_int_eq(msg->content_len, 0);
	ck_assert_int_eq(queue_msg_content_read(msg, 0, &s, 1), 0);
	queue_msg_free(&msg);
	str_release(&s);
}
END_TEST

/* 1 MB of content in uneven pieces (one larger than the buffer) and an
 * envelope larger than both the writer buffer and the reader's first
 * read, so the header is pwritten and the envelope read twice. */
START_TEST(test_large)
{
	struct queue_writer *w = queue_writer_create();
	size_t size = 1 << 20, i, done, nrcpt = 5000;
	char *data = mem_alloc(size), addr[64], buf[4097];
	struct queue_msg *msg;
	struct str s = STR_INIT;
	const char *path;
	int fd;

	for (i = 0; i < size; i++)
		data[i] = (char)(i * 7 + i / 251);
	queue_writer_sender(w, "big@x.test");
	for (i = 0; i < nrcpt; i++) {
		ck_assert(str_snprintf(addr, sizeof(addr), "user%zu@x.test",
				       i));
		queue_writer_rcpt(w, addr, NULL, 0);
	}
	for (done = 0; done < size; ) {
		size_t chunk = done == 3000 ? 200000 : 1000;

		if (chunk > size - done)
			chunk = size - done;
		ck_assert(queue_writer_content(w, data + done, chunk));
		done += chunk;
	}
	path = commit(w);
	msg = open_ok(path, true);
	ck_assert_ptr_null(msg->whole);
	ck_assert_uint_eq(msg->nrcpt, nrcpt);
	ck_assert_str_eq(msg->rcpts[4999].address, "user4999@x.test");
	ck_assert(msg->content_offset > 65536);
	ck_assert_int_eq(msg->content_len, size);
	ck_assert(queue_msg_content(msg, &s, size));
	ck_assert(s.len == size && memcmp(s.data, data, size) == 0);
	str_clear(&s);
	for (done = 0; done < size; done += (size_t)i) {
		i = (size_t)queue_msg_content_read(msg, (off_t)done, buf,
						   sizeof(buf));
		ck_assert(i > 0 && i <= sizeof(buf));
		ck_assert(memcmp(buf, data + done, i) == 0);
	}
	/* Copy to a file that already has a prefix (like Delivered-To). */
	fd = open("copy", O_RDWR | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "X: y\n", 5), 5);
	ck_assert(queue_msg_content_copy(msg, fd));
	close(fd);
	read_whole("copy", &s);
	ck_assert_uint_eq(s.len, size + 5);
	ck_assert(memcmp(s.data + 5, data, size) == 0);
	/* Into a memory file, as local copies for its workers: another
	 * file system, where copy_file_range refuses and sendfile copies. */
	fd = memfd_create("test-queue", MFD_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert(queue_msg_content_copy(msg, fd));
	ck_assert(queue_msg_content_copy(msg, fd));	/* appends */
	str_clear(&s);
	str_reserve(&s, 2 * size);
	ck_assert_int_eq(pread(fd, s.data, 2 * size, 0), (ssize_t)(2 * size));
	ck_assert(memcmp(s.data, data, size) == 0);
	ck_assert(memcmp(s.data + size, data, size) == 0);
	close(fd);
	ck_assert(queue_msg_mark(msg, 4999, QUEUE_RCPT_DONE));
	queue_msg_free(&msg);
	msg = open_ok(path, false);
	ck_assert_int_eq(msg->rcpts[4999].status, QUEUE_RCPT_DONE);
	ck_assert_uint_eq(queue_msg_todo(msg), nrcpt - 1);
	/* Read-only but larger than the first read: from the file. */
	ck_assert_ptr_null(msg->whole);
	str_clear(&s);
	ck_assert(queue_msg_content(msg, &s, size));
	ck_assert(s.len == size && memcmp(s.data, data, size) == 0);
	queue_msg_free(&msg);
	str_release(&s);
	mem_free(data);
}
END_TEST

START_TEST(test_mark)
{
	struct queue_writer *w = queue_writer_create();
	struct queue_msg *msg;
	const char *path;

	queue_writer_sender(w, "a@b");
	queue_writer_rcpt(w, "r1@x", "R1@X", 0);
	queue_writer_rcpt(w, "r2@x", NULL, 0);
	queue_writer_rcpt(w, "r3@x", NULL, 0);
	queue_writer_content(w, "body\n", 5);
	path = commit(w);

	msg = open_ok(path, true);
	ck_assert(queue_msg_mark(msg, 0, QUEUE_RCPT_DONE));
	ck_assert(queue_msg_set_status(msg, 2, QUEUE_RCPT_BOUNCED));
	ck_assert(queue_msg_sync(msg));
	ck_assert_uint_eq(queue_msg_todo(msg), 1);
	errno = 0;
	ck_assert(!queue_msg_mark(msg, 3, QUEUE_RCPT_DONE));
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert(!queue_msg_mark(msg, 1, 'X'));
	ck_assert_int_eq(errno, EINVAL);
	queue_msg_free(&msg);

	msg = open_ok(path, false);
	ck_assert_int_eq(msg->rcpts[0].status, QUEUE_RCPT_DONE);
	ck_assert_int_eq(msg->rcpts[1].status, QUEUE_RCPT_TODO);
	ck_assert_int_eq(msg->rcpts[2].status, QUEUE_RCPT_BOUNCED);
	ck_assert_str_eq(msg->rcpts[0].orig, "R1@X");
	ck_assert_uint_eq(queue_msg_todo(msg), 1);
	/* Read-only: marking fails and changes nothing. */
	ck_assert(!queue_msg_mark(msg, 1, QUEUE_RCPT_DONE));
	ck_assert_int_eq(msg->rcpts[1].status, QUEUE_RCPT_TODO);
	queue_msg_free(&msg);
	msg = open_ok(path, false);
	ck_assert_uint_eq(queue_msg_todo(msg), 1);
	queue_msg_free(&msg);
}
END_TEST

static struct queue_writer *writer_with(const char *content, size_t len);

static bool scan_has(const char *id, void *ctx)
{
	if (strcmp(id, ctx) == 0)
		((char *)ctx)[0] = '\0';	/* seen */
	return true;
}

static bool listed(const char *dir, const char *id)
{
	char want[QUEUE_ID_SIZE];

	memcpy(want, id, strlen(id) + 1);
	ck_assert_int_ge(queue_scan(dir, scan_has, want), 0);
	return want[0] == '\0';
}

/* While written, incoming/ID is in the writing mode and locked by its
 * writer: no reader lists it, and qmgr's sweep cannot take the lock.
 * The commit gives it the mode 0600 that makes it a message. */
START_TEST(test_writing_mode)
{
	struct queue_writer *w = writer_with("hello\n", 6);
	char path[64], id[QUEUE_ID_SIZE];
	struct stat st;
	int fd;

	memcpy(id, queue_writer_id(w), sizeof(id));
	ck_assert(str_snprintf(path, sizeof(path), "incoming/%s", id));
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, QUEUE_MODE_WRITING);
	ck_assert(queue_file_writing(AT_FDCWD, path));
	ck_assert(!listed(QUEUE_INCOMING, id));
	fd = open(path, O_WRONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_ne(flock(fd, LOCK_EX | LOCK_NB), 0);
	ck_assert_int_eq(errno, EWOULDBLOCK);

	ck_assert(queue_writer_commit(w));
	queue_writer_free(&w);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	ck_assert(!queue_file_writing(AT_FDCWD, path));
	ck_assert(listed(QUEUE_INCOMING, id));
	/* Done writing: the lock went with the writer's descriptor. */
	ck_assert_int_eq(flock(fd, LOCK_EX | LOCK_NB), 0);
	close(fd);

	/* Removed while written ("correo queue delete"): the commit
	 * fails, nothing is acknowledged. */
	w = writer_with("x\n", 2);
	ck_assert(str_snprintf(path, sizeof(path), "incoming/%s",
			       queue_writer_id(w)));
	ck_assert_int_eq(unlink(path), 0);
	errno = 0;
	ck_assert(!queue_writer_commit(w));
	ck_assert_int_eq(errno, ENOENT);
	queue_writer_free(&w);
}
END_TEST

START_TEST(test_abort_and_failed_commit)
{
	struct queue_writer *w = queue_writer_create();

	queue_writer_sender(w, "a@b");
	queue_writer_rcpt(w, "c@d", NULL, 0);
	queue_writer_content(w, "x\n", 2);
	ck_assert_uint_eq(incoming_entries(), 1);
	queue_writer_abort(&w);
	ck_assert_ptr_null(w);
	ck_assert_uint_eq(incoming_entries(), 0);

	/* free without commit also removes the partial file */
	w = queue_writer_create();
	queue_writer_free(&w);
	ck_assert_uint_eq(incoming_entries(), 0);

	/* no sender */
	w = queue_writer_create();
	queue_writer_rcpt(w, "c@d", NULL, 0);
	errno = 0;
	ck_assert(!queue_writer_commit(w));
	ck_assert_int_eq(errno, EINVAL);
	queue_writer_free(&w);
	ck_assert_uint_eq(incoming_entries(), 0);

	/* no recipient */
	w = queue_writer_create();
	queue_writer_sender(w, "a@b");
	ck_assert(!queue_writer_commit(w));
	ck_assert_int_eq(errno, EINVAL);
	queue_writer_abort(&w);
	ck_assert_uint_eq(incoming_entries(), 0);

	/* no incoming/ directory */
	ck_assert_int_eq(rmdir("incoming"), 0);
	errno = 0;
	ck_assert_ptr_null(queue_writer_create());
	ck_assert_int_eq(errno, ENOENT);
}
END_TEST

/* A write error (file size limit) surfaces at content and commit, and
 * leaves nothing behind. */
START_TEST(test_write_error)
{
	struct rlimit rl = { 100000, 100000 };
	struct queue_writer *w;
	char chunk[10000];
	bool ok = true;
	int i;

	memset(chunk, 'x', sizeof(chunk));
	signal(SIGXFSZ, SIG_IGN);
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
	w = queue_writer_create();
	queue_writer_sender(w, "a@b");
	queue_writer_rcpt(w, "c@d", NULL, 0);
	for (i = 0; i < 30 && ok; i++)
		ok = queue_writer_content(w, chunk, sizeof(chunk));
	ck_assert(!ok);
	ck_assert_int_eq(errno, EFBIG);
	ck_assert(!queue_writer_content(w, chunk, 1));
	ck_assert(!queue_writer_commit(w));
	ck_assert_int_eq(errno, EFBIG);
	queue_writer_free(&w);
	ck_assert_uint_eq(incoming_entries(), 0);
}
END_TEST

START_TEST(test_record_after_content_panics)
{
	struct queue_writer *w = queue_writer_create();

	queue_writer_sender(w, "a@b");
	queue_writer_content(w, "x", 1);
	queue_writer_rcpt(w, "c@d", NULL, 0);
}
END_TEST

START_TEST(test_sender_twice_panics)
{
	struct queue_writer *w = queue_writer_create();

	queue_writer_sender(w, "a@b");
	queue_writer_sender(w, "a@b");
}
END_TEST

/*
 * Corruption: hand-built files.
 */

#define GOOD_ENV "T17:1700000000.000001\nS3:a@b\nR7:R00:c@d\nE0:\n"

/* Write header + env + content with the given numbers. */
static void make_file_n(const char *path, const char *env, size_t envlen,
			const char *content, long long off, long long len,
			long long nrcpt)
{
	struct str s = STR_INIT;

	str_printf(&s, "CORREO-Q 1 %012lld %012lld %08lld\n", off, len,
		   nrcpt);
	ck_assert_uint_eq(s.len, 46);
	str_append_n(&s, env, envlen);
	str_append(&s, content);
	write_whole(path, s.data, s.len);
	str_release(&s);
}

static void make_file(const char *path, const char *env, long long nrcpt)
{
	make_file_n(path, env, strlen(env), "body\n",
		    46 + (long long)strlen(env), 5, nrcpt);
}

static void expect_corrupt(const char *path, const char *reason)
{
	struct queue_msg *msg = (void *)1;
	const char *error = NULL;
	int ret = queue_msg_open(path, false, &msg, &error);

	ck_assert_msg(ret == 0, "%s: expected corrupt (%s), got %d",
		      path, reason, ret);
	ck_assert_ptr_null(msg);
	ck_assert_ptr_nonnull(error);
	ck_assert_msg(strstr(error, reason) != NULL,
		      "expected '%s', got '%s'", reason, error);
}

#define P "active/" GOLDEN_ID

START_TEST(test_handmade_good)
{
	struct queue_msg *msg;

	make_file(P, GOOD_ENV, 1);
	msg = open_ok(P, false);
	ck_assert_str_eq(msg->id, GOLDEN_ID);
	ck_assert_int_eq(msg->arrival, 1700000000);
	ck_assert_int_eq(msg->arrival_usec, 1);
	ck_assert_str_eq(msg->rcpts[0].address, "c@d");
	ck_assert_int_eq(msg->rcpts[0].status_offset, 46 + 22 + 7 + 3);
	ck_assert_int_eq(msg->content_offset, 46 + strlen(GOOD_ENV));
	queue_msg_free(&msg);

	/* A file name that is not an ID still parses, with an empty id. */
	make_file("active/other", GOOD_ENV, 1);
	msg = open_ok("active/other", false);
	ck_assert_str_eq(msg->id, "");
	queue_msg_free(&msg);
}
END_TEST

START_TEST(test_corrupt_header)
{
	static const char env[] = GOOD_ENV;
	size_t elen = strlen(env);
	struct str s = STR_INIT;
	size_t i;

	write_whole(P, "", 0);
	expect_corrupt(P, "truncated header (0 bytes)");
	write_whole(P, "CORREO-Q 1 0000", 15);
	expect_corrupt(P, "truncated header (15 bytes)");

	make_file(P, env, 1);
	read_whole(P, &s);
	s.data[7] = 'X';
	write_whole(P, s.data, s.len);
	expect_corrupt(P, "bad magic");
	s.data[7] = 'Q';
	s.data[9] = '2';
	write_whole(P, s.data, s.len);
	expect_corrupt(P, "unsupported version 0x32");
	s.data[9] = '1';
	s.data[15] = 'x';
	write_whole(P, s.data, s.len);
	expect_corrupt(P, "malformed header");
	s.data[15] = '0';
	s.data[45] = ' ';
	write_whole(P, s.data, s.len);
	expect_corrupt(P, "malformed header");
	s.data[45] = '\n';
	s.data[36] = '0';
	write_whole(P, s.data, s.len);
	expect_corrupt(P, "malformed header");

	/* The writer's placeholder. */
	make_file_n(P, env, elen, "body\n", 0, 0, 0);
	expect_corrupt(P, "uncommitted header");
	make_file_n(P, env, elen, "body\n", 10, 5, 1);
	expect_corrupt(P, "content offset 10 inside header");
	/* content length past EOF, short of EOF, offset past EOF */
	make_file_n(P, env, elen, "body\n", 46 + (long long)elen, 6, 1);
	expect_corrupt(P, "does not match file size");
	make_file_n(P, env, elen, "body\n", 46 + (long long)elen, 4, 1);
	expect_corrupt(P, "does not match file size");
	make_file_n(P, env, elen, "body\n", 999999, 0, 1);
	expect_corrupt(P, "does not match file size");
	make_file_n(P, env, elen, "body\n", 46 + (long long)elen, 5, 0);
	expect_corrupt(P, "no recipients in header");

	/* Every truncation of a good file is corrupt. */
	make_file(P, env, 1);
	read_whole(P, &s);
	for (i = 0; i < s.len; i++) {
		write_whole(P, s.data, i);
		expect_corrupt(P, i < 46 ? "truncated header" :
			       "does not match file size");
	}
	str_release(&s);
}
END_TEST

static const struct {
	const char *env;
	long long nrcpt;
	const char *reason;
} bad_envs[] = {
	{ "T17:1700000000.000001\nS3:a@b\nR7:R00:c@d\n", 1,
	  "missing end record" },
	{ "T17:1700000000.000001\nS3:a@b\nR7:R00:c@d\nE0:\nA3:a=b\n", 1,
	  "offset 86: end record not at the content offset 97" },
	{ "T17:1700000000.000001\nS3:a@b\nR7:R00:c@d\nE1:x\n", 1,
	  "offset 86: end record not empty" },
	{ "T17:1700000000.000001\nQ3:a@b\nR7:R00:c@d\nE0:\n", 1,
	  "offset 68: unknown record type 0x51" },
	{ "T17:1700000000.000001\nS99:a@b\nR7:R00:c@d\nE0:\n", 1,
	  "offset 68: record length 99 past the envelope end" },
	{ "T17:1700000000.000001\nS9999999999:a@b\nR7:R00:c@d\nE0:\n", 1,
	  "past the envelope end" },
	{ "T17:1700000000.000001\nS99999999999:a@b\nR7:R00:c@d\nE0:\n", 1,
	  "offset 68: bad record length" },
	{ "T17:1700000000.000001\nS03:a@b\nR7:R00:c@d\nE0:\n", 1,
	  "bad record length" },
	{ "T17:1700000000.000001\nS:a@b\nR7:R00:c@d\nE0:\n", 1,
	  "bad record length" },
	{ "T17:1700000000.000001\nS-3:a@b\nR7:R00:c@d\nE0:\n", 1,
	  "bad record length" },
	{ "T17:1700000000.000001\nS3a@b\nR7:R00:c@d\nE0:\n", 1,
	  "bad record length" },
	{ "T17:1700000000.000001\nS2:a@b\nR7:R00:c@d\nE0:\n", 1,
	  "record not ended by LF" },
	{ "T17:1700000000.000001\nS3:a\0b\nR7:R00:c@d\nE0:\n", 1,
	  "NUL in record" },
	{ "S3:a@b\nR7:R00:c@d\nE0:\n", 1, "missing arrival time" },
	{ "T17:1700000000.000001\nR7:R00:c@d\nE0:\n", 1, "missing sender" },
	{ "T17:1700000000.000001\nS3:a@b\nS3:a@b\nR7:R00:c@d\nE0:\n", 1,
	  "second sender" },
	{ "T17:1700000000.000001\nT17:1700000000.000001\nS3:a@b\n"
	  "R7:R00:c@d\nE0:\n", 1, "second arrival time" },
	{ "T16:1700000000.00001\nS3:a@b\nR7:R00:c@d\nE0:\n", 1,
	  "offset 46: bad arrival time" },
	{ "T17:17000000x0.000001\nS3:a@b\nR7:R00:c@d\nE0:\n", 1,
	  "bad arrival time" },
	{ "T10:1700000000\nS3:a@b\nR7:R00:c@d\nE0:\n", 1,
	  "bad arrival time" },
	{ "T7:.000001\nS3:a@b\nR7:R00:c@d\nE0:\n", 1, "bad arrival time" },
	{ "T17:1700000000.000001\nS3:a@b\nA3:X=b\nR7:R00:c@d\nE0:\n", 1,
	  "bad attribute name" },
	{ "T17:1700000000.000001\nS3:a@b\nA3:abc\nR7:R00:c@d\nE0:\n", 1,
	  "bad attribute name" },
	{ "T17:1700000000.000001\nS3:a@b\nA2:=b\nR7:R00:c@d\nE0:\n", 1,
	  "bad attribute name" },
	{ "T17:1700000000.000001\nS3:a@b\nR7:X00:c@d\nE0:\n", 1,
	  "bad recipient status" },
	{ "T17:1700000000.000001\nS3:a@b\nR4:R00:\nE0:\n", 1,
	  "offset 75: short recipient" },
	{ "T17:1700000000.000001\nS3:a@b\nR7:RF0:c@d\nE0:\n", 1,
	  "bad notify flags" },
	{ "T17:1700000000.000001\nS3:a@b\nR7:Rg0:c@d\nE0:\n", 1,
	  "bad notify flags" },
	{ "T17:1700000000.000001\nS3:a@b\nR7:R03:c@d\nE0:\n", 1,
	  "bad recipient lengths" },
	{ "T17:1700000000.000001\nS3:a@b\nR7:R09:c@d\nE0:\n", 1,
	  "bad recipient lengths" },
	{ "T17:1700000000.000001\nS3:a@b\nR7:R0x:c@d\nE0:\n", 1,
	  "bad recipient lengths" },
	{ "T17:1700000000.000001\nS3:a@b\nR7:R00:c@d\nE0:\n", 2,
	  "1 recipients, header says 2" },
	{ "T17:1700000000.000001\nS3:a@b\nR7:R00:c@d\nR7:R00:e@f\nE0:\n", 1,
	  "offset 86: more recipients than the header's 1" },
	{ "T17:1700000000.000001\nS3:a@b\nR7:R00:c@d\nE0:", 1,
	  "offset 86: record length 0 past the envelope end 89" },
};

START_TEST(test_corrupt_envelope)
{
	const char *env = bad_envs[_i].env;
	size_t len = strlen(env);

	/* The NUL case needs its length counted past the NUL. */
	if (strstr(bad_envs[_i].reason, "NUL") != NULL)
		len = sizeof("T17:1700000000.000001\nS3:a\0b\nR7:R00:c@d\n"
			     "E0:\n") - 1;
	make_file_n(P, env, len, "body\n", 46 + (long long)len, 5,
		    bad_envs[_i].nrcpt);
	expect_corrupt(P, bad_envs[_i].reason);
}
END_TEST

/* Change every envelope byte to a few troublesome values: the reader
 * must answer 0 or 1 and never read out of bounds (run this under
 * ASan), and an accepted file must still be self-consistent. */
START_TEST(test_mutations)
{
	static const char values[] = { '0', '9', ':', '\n', '\0', 'R', 'E',
				       (char)0xff };
	static const char env[] = "T17:1700000000.000001\nS3:a@b\n"
		"A6:helo=x\nR11:R64:ORIGc@d\nE0:\n";
	struct str s = STR_INIT;
	size_t i, v, envend = 46 + sizeof(env) - 1, accepted = 0;

	make_file(P, env, 1);
	queue_msg_free((struct queue_msg *[]){ open_ok(P, false) });
	read_whole(P, &s);
	for (i = 0; i < envend; i++) {
		for (v = 0; v < sizeof(values); v++) {
			struct queue_msg *msg = NULL;
			const char *error = NULL;
			char old = s.data[i];
			int ret;

			s.data[i] = values[v];
			write_whole(P, s.data, s.len);
			s.data[i] = old;
			ret = queue_msg_open(P, false, &msg, &error);
			ck_assert_msg(ret == 0 || ret == 1, "ret %d", ret);
			if (ret == 0) {
				ck_assert_ptr_nonnull(error);
				continue;
			}
			accepted++;
			ck_assert_uint_eq(msg->nrcpt, 1);
			ck_assert_int_eq(msg->content_len, 5);
			queue_msg_free(&msg);
		}
	}
	/* Some changes are harmless (a letter in an address), most not. */
	ck_assert_msg(accepted > 0 && accepted < envend * sizeof(values) / 4,
		      "accepted %zu of %zu", accepted, envend * sizeof(values));
	str_release(&s);
}
END_TEST

START_TEST(test_not_regular)
{
	struct queue_msg *msg;
	const char *error;

	ck_assert_int_eq(mkdir("active/" GOLDEN_ID, 0700), 0);
	expect_corrupt(P, "not a regular file");
	ck_assert_int_eq(rmdir(P), 0);
	errno = 0;
	ck_assert_int_eq(queue_msg_open(P, false, &msg, &error), -1);
	ck_assert_int_eq(errno, ENOENT);
	make_file("hold/x", GOOD_ENV, 1);
	ck_assert_int_eq(symlink("../hold/x", P), 0);
	ck_assert_int_eq(queue_msg_open(P, false, &msg, &error), -1);
	ck_assert_int_eq(errno, ELOOP);
}
END_TEST

/*
 * The golden fixture: a committed file that must keep parsing to the
 * same fields, and that the writer must reproduce byte for byte (apart
 * from the arrival time, which is patched in).
 */

static const char golden_content[] =
	"From: Alice <alice@alice.test>\n"
	"To: bob@marvel.test\n"
	"Subject: caf\xc3\xa9\n"
	"\n"
	"Hello Bob.\n"
	".leading dot, unstuffed\n";

static void golden_write(struct queue_writer *w)
{
	queue_writer_sender(w, "alice@alice.test");
	queue_writer_attr(w, "client_addr", "192.0.2.7");
	queue_writer_attr(w, "helo", "alice.test");
	queue_writer_attr(w, "protocol", "ESMTPSA");
	queue_writer_attr(w, "envid", "x=y");
	queue_writer_rcpt(w, "bob@marvel.test", "Bob@Marvel.TEST",
			  QUEUE_NOTIFY_SUCCESS | QUEUE_NOTIFY_FAILURE);
	queue_writer_rcpt(w, "carol@marvel.test", NULL, 0);
	queue_writer_rcpt(w, "postmaster", NULL, QUEUE_NOTIFY_NEVER);
	ck_assert(queue_writer_content(w, golden_content,
				       sizeof(golden_content) - 1));
}

START_TEST(test_golden)
{
	const char *golden = QUEUE_TEST_DATA "/" GOLDEN_ID;
	struct str want = STR_INIT, got = STR_INIT;
	struct queue_msg *msg;
	struct queue_writer *w;
	const char *path;

	msg = open_ok(golden, false);
	ck_assert_str_eq(msg->id, GOLDEN_ID);
	ck_assert_int_eq(msg->arrival, 1700000000);
	ck_assert_int_eq(msg->arrival_usec, 123456);
	ck_assert_str_eq(msg->sender, "alice@alice.test");
	ck_assert_uint_eq(msg->attrs.count, 4);
	ck_assert_str_eq(msg->attrs.attrs[0].name, "client_addr");
	ck_assert_str_eq(msg->attrs.attrs[0].value, "192.0.2.7");
	ck_assert_str_eq(msg->attrs.attrs[3].name, "envid");
	ck_assert_str_eq(msg->attrs.attrs[3].value, "x=y");
	ck_assert_uint_eq(msg->nrcpt, 3);
	ck_assert_str_eq(msg->rcpts[0].address, "bob@marvel.test");
	ck_assert_str_eq(msg->rcpts[0].orig, "Bob@Marvel.TEST");
	ck_assert_uint_eq(msg->rcpts[0].notify, 6);
	ck_assert_int_eq(msg->rcpts[0].status, QUEUE_RCPT_TODO);
	ck_assert_int_eq(msg->rcpts[0].status_offset, 173);
	ck_assert_int_eq(msg->rcpts[1].status_offset, 213);
	ck_assert_int_eq(msg->rcpts[2].status_offset, 239);
	ck_assert_int_eq(msg->rcpts[1].status, QUEUE_RCPT_DONE);
	ck_assert_ptr_null(msg->rcpts[1].orig);
	ck_assert_str_eq(msg->rcpts[2].address, "postmaster");
	ck_assert_uint_eq(msg->rcpts[2].notify, QUEUE_NOTIFY_NEVER);
	ck_assert_int_eq(msg->rcpts[2].status, QUEUE_RCPT_BOUNCED);
	ck_assert_uint_eq(queue_msg_todo(msg), 1);
	ck_assert_int_eq(msg->content_offset, 258);
	ck_assert_int_eq(msg->content_len, sizeof(golden_content) - 1);
	ck_assert(queue_msg_content(msg, &got, 1000));
	ck_assert_str_eq(got.data, golden_content);
	queue_msg_free(&msg);

	w = queue_writer_create();
	golden_write(w);
	path = commit(w);
	msg = open_ok(path, true);
	ck_assert(queue_msg_mark(msg, 1, QUEUE_RCPT_DONE));
	ck_assert(queue_msg_mark(msg, 2, QUEUE_RCPT_BOUNCED));
	queue_msg_free(&msg);
	read_whole(golden, &want);
	read_whole(path, &got);
	ck_assert_uint_eq(got.len, want.len);
	ck_assert(memcmp(got.data + 46, "T17:", 4) == 0);
	memcpy(got.data + 50, GOLDEN_TIME, 17);
	ck_assert_msg(memcmp(got.data, want.data, want.len) == 0,
		      "writer output differs from the golden file");
	str_release(&want);
	str_release(&got);
}
END_TEST

/*
 * Moving and scanning.
 */

static bool scan_collect(const char *id, void *ctx)
{
	struct str *s = ctx;

	str_append(s, id);
	str_append_c(s, ' ');
	return true;
}

static bool scan_stop(const char *id, void *ctx)
{
	(void)id;
	(void)ctx;
	return false;
}

START_TEST(test_move_scan)
{
	struct queue_writer *w;
	struct str s = STR_INIT;
	char id[QUEUE_ID_SIZE];
	struct stat st;

	w = queue_writer_create();
	memcpy(id, queue_writer_id(w), sizeof(id));
	queue_writer_sender(w, "a@b");
	queue_writer_rcpt(w, "c@d", NULL, 0);
	(void)commit(w);
	w = queue_writer_create();	/* in progress (0200): not scanned */
	write_whole("incoming/junk", "", 0);
	ck_assert_int_eq(queue_scan("incoming", scan_collect, &s), 1);
	ck_assert_uint_eq(s.len, QUEUE_ID_LEN + 1);
	ck_assert(strncmp(s.data, id, QUEUE_ID_LEN) == 0);
	ck_assert_int_eq(queue_scan("incoming", scan_stop, NULL), 1);
	ck_assert_int_eq(queue_scan("active", scan_stop, NULL), 0);
	errno = 0;
	ck_assert_int_eq(queue_scan("nonexistent", scan_stop, NULL), -1);
	ck_assert_int_eq(errno, ENOENT);

	ck_assert(queue_move(id, QUEUE_INCOMING, QUEUE_ACTIVE));
	ck_assert_int_eq(stat("active/", &st), 0);
	str_clear(&s);
	ck_assert_int_eq(queue_scan("active", scan_collect, &s), 1);
	ck_assert(strncmp(s.data, id, QUEUE_ID_LEN) == 0);
	ck_assert_int_eq(queue_scan("incoming", scan_stop, NULL), 0);
	errno = 0;
	ck_assert(!queue_move(id, QUEUE_INCOMING, QUEUE_ACTIVE));
	ck_assert_int_eq(errno, ENOENT);
	errno = 0;
	ck_assert(!queue_move("../etc", QUEUE_ACTIVE, QUEUE_HOLD));
	ck_assert_int_eq(errno, EINVAL);
	queue_writer_abort(&w);
	str_release(&s);
}
END_TEST

/*
 * The spare pool (queue_spare.c).
 */

static unsigned spare_entries(void)
{
	return (unsigned)tu_count_entries(QUEUE_SPARE);
}

/* The path of the one file in the pool. */
static const char *only_spare(void)
{
	static char path[64];
	struct dirent *de;
	DIR *d = opendir(QUEUE_SPARE);
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' && de->d_name[1] >= '0' &&
		    de->d_name[1] <= '9') {
			ck_assert(str_snprintf(path, sizeof(path), "%s/%s",
					       QUEUE_SPARE, de->d_name));
			n++;
		}
	}
	closedir(d);
	ck_assert_int_eq(n, 1);
	return path;
}

/* A writer with a two-recipient envelope and content, not committed. */
static struct queue_writer *writer_with(const char *content, size_t len)
{
	struct queue_writer *w = queue_writer_create();

	ck_assert_ptr_nonnull(w);
	queue_writer_sender(w, "s@x.test");
	queue_writer_rcpt(w, "a@x.test", NULL, 0);
	queue_writer_rcpt(w, "b@x.test", NULL, 0);
	ck_assert(queue_writer_content(w, content, len));
	return w;
}

static const char *commit_content(const char *content, size_t len)
{
	return commit(writer_with(content, len));
}

static ino_t inode_of(const char *path)
{
	struct stat st;

	ck_assert_int_eq(stat(path, &st), 0);
	return st.st_ino;
}

START_TEST(test_spare_reuse)
{
	size_t big = 100000, i;
	char *data = mem_alloc(big), path_a[64], path_c[64];
	struct queue_msg *msg;
	struct str s = STR_INIT;
	struct stat st;
	ino_t ino;
	int fd;

	queue_spare_clear();
	ck_assert_uint_eq(spare_entries(), 0);
	for (i = 0; i < big; i++)
		data[i] = (char)('a' + i % 26);
	memcpy(path_a, commit_content(data, big), sizeof(path_a));
	ino = inode_of(path_a);
	msg = open_ok(path_a, false);
	ck_assert(queue_spare_put(path_a, -1, msg->content_offset +
				  msg->content_len));
	queue_msg_free(&msg);
	ck_assert_int_ne(access(path_a, F_OK), 0);
	ck_assert_uint_eq(spare_entries(), 1);

	/* The next writer takes it: same inode, only the new message; and
	 * young while written, in the writing mode, under its final name
	 * (qmgr's sweep looks at a file's age first). */
	{
		struct timeval old[2] = { { 1000000000, 0 },
					  { 1000000000, 0 } };
		struct queue_writer *w;
		char tmp[64];

		ck_assert_int_eq(utimes(only_spare(), old), 0);
		w = writer_with("short\n", 6);	/* buffered: not written */
		ck_assert(str_snprintf(tmp, sizeof(tmp), "incoming/%s",
				       queue_writer_id(w)));
		ck_assert_int_eq(stat(tmp, &st), 0);
		ck_assert_uint_eq(st.st_ino, ino);
		ck_assert(time(NULL) - st.st_mtime < 60);
		ck_assert_uint_eq(st.st_mode & 07777, QUEUE_MODE_WRITING);
		msg = open_ok(commit(w), false);
	}
	ck_assert_uint_eq(inode_of(msg->path), ino);
	ck_assert_uint_eq(spare_entries(), 0);
	ck_assert_int_eq(msg->content_len, 6);
	ck_assert(queue_msg_content(msg, &s, 100));
	ck_assert_uint_eq(s.len, 6);
	ck_assert(memcmp(s.data, "short\n", 6) == 0);
	ck_assert_int_eq(fstat(msg->fd, &st), 0);
	ck_assert_int_eq(st.st_size, msg->content_offset + 6);
	ck_assert_uint_eq(msg->nrcpt, 2);
	ck_assert_str_eq(msg->rcpts[1].address, "b@x.test");

	/* Its mode is the writer's, whatever it was before (qmgr keeps
	 * the delay warning in the owner execute bit). */
	ck_assert_int_eq(fchmod(msg->fd, 0700), 0);
	ck_assert(queue_spare_put(msg->path, -1, st.st_size));
	queue_msg_free(&msg);
	memcpy(path_c, commit_content(data, 1000), sizeof(path_c));
	ck_assert_uint_eq(inode_of(path_c), ino);
	ck_assert_int_eq(stat(path_c, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);

	/* A name with a second link (a crash left a spare's entry beside
	 * a committed message's) is never written through. */
	ck_assert_int_eq(link(path_c, QUEUE_SPARE "/.7"), 0);
	msg = open_ok(commit_content("other\n", 6), false);
	ck_assert_uint_ne(inode_of(msg->path), ino);
	queue_msg_free(&msg);
	msg = open_ok(path_c, false);
	ck_assert_int_eq(msg->content_len, 1000);
	str_clear(&s);
	ck_assert(queue_msg_content(msg, &s, 2000));
	ck_assert(memcmp(s.data, data, 1000) == 0);
	queue_msg_free(&msg);
	ck_assert_int_eq(stat(path_c, &st), 0);
	ck_assert_uint_eq(st.st_nlink, 1);

	/* Anything not a regular file is dropped, not taken. */
	ck_assert_int_eq(mkfifo(QUEUE_SPARE "/.8", 0600), 0);
	msg = open_ok(commit_content("third\n", 6), false);
	queue_msg_free(&msg);
	ck_assert_uint_eq(spare_entries(), 0);

	/* So is a file not in the writing mode: renamed into incoming/,
	 * it would look committed before its writer wrote a byte. */
	ck_assert(queue_spare_put(path_c, -1, 1000));
	ck_assert_int_eq(chmod(only_spare(), 0600), 0);
	fd = open(only_spare(), O_RDONLY);	/* keeps its inode number */
	ck_assert_int_ge(fd, 0);
	msg = open_ok(commit_content("fourth\n", 7), false);
	ck_assert_uint_ne(inode_of(msg->path), ino);
	queue_msg_free(&msg);
	ck_assert_uint_eq(spare_entries(), 0);
	close(fd);

	str_release(&s);
	mem_free(data);
}
END_TEST

START_TEST(test_spare_bounds)
{
	char name[64];
	unsigned kept = 0;
	int fd;

	queue_spare_clear();
	/* Too big to keep. */
	ck_assert(!queue_spare_put("incoming/none", -1, QUEUE_SPARE_SIZE_MAX + 1));
	/* At most QUEUE_SPARE_MAX, then the caller unlinks. */
	for (unsigned i = 0; i < QUEUE_SPARE_MAX + 10; i++) {
		ck_assert(str_snprintf(name, sizeof(name), "active/f%u", i));
		fd = open(name, O_WRONLY | O_CREAT | O_EXCL, 0600);
		ck_assert_int_ge(fd, 0);
		close(fd);
		if (queue_spare_put(name, -1, 0))
			kept++;
		else
			ck_assert_int_eq(unlink(name), 0);
	}
	ck_assert_uint_eq(kept, QUEUE_SPARE_MAX);
	ck_assert_uint_eq(spare_entries(), QUEUE_SPARE_MAX);
	/* A start empties the pool: nothing from before is reused. */
	queue_spare_clear();
	ck_assert_uint_eq(spare_entries(), 0);
}
END_TEST

/* A new file active/NAME; false if it cannot be made. */
static bool spare_new_file(const char *name, const char *data)
{
	int fd = open(name, O_WRONLY | O_CREAT | O_EXCL, 0600);
	bool ok;

	if (fd < 0)
		return false;
	ok = write(fd, data, strlen(data)) == (ssize_t)strlen(data);
	return close(fd) == 0 && ok;
}

/* qmgr's picture of the slots: a slot filled behind its back is never
 * replaced, and slots that writers emptied are used again. */
START_TEST(test_spare_put_picture)
{
	char name[64], data[16];
	unsigned kept = 0;
	int fd;

	queue_spare_clear();
	for (unsigned i = 0; i < 3; i++) {
		ck_assert(str_snprintf(name, sizeof(name), "active/p%u", i));
		ck_assert(spare_new_file(name, ""));
		ck_assert(queue_spare_put(name, -1, 0));
	}
	ck_assert_uint_eq(spare_entries(), 3);
	/* Every other slot, filled by hand: each put must go around. */
	for (unsigned i = 0; i < QUEUE_SPARE_MAX; i += 2) {
		ck_assert(str_snprintf(name, sizeof(name), "%s/.%u",
				       QUEUE_SPARE, i));
		fd = open(name, O_WRONLY | O_CREAT, 0600);
		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(write(fd, "X", 1), 1);
		close(fd);
	}
	for (unsigned i = 3; kept < 8; i++) {
		ck_assert_uint_lt(i, 64);
		ck_assert(str_snprintf(name, sizeof(name), "active/p%u", i));
		ck_assert(spare_new_file(name, "new"));
		if (queue_spare_put(name, -1, 3))
			kept++;
		else
			ck_assert_int_eq(unlink(name), 0);
	}
	/* No hand-made slot was replaced. */
	for (unsigned i = 0; i < QUEUE_SPARE_MAX; i += 2) {
		ck_assert(str_snprintf(name, sizeof(name), "%s/.%u",
				       QUEUE_SPARE, i));
		fd = open(name, O_RDONLY);
		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(read(fd, data, sizeof(data)), 1);
		close(fd);
	}
	/* .2 was one of the three. */
	ck_assert_uint_eq(spare_entries(), QUEUE_SPARE_MAX / 2 + 2 + 8);
	/* Fill it up, then empty two slots as writers do: after the puts
	 * that unlink while the pool was seen full, they are used again. */
	for (unsigned i = 100; spare_entries() < QUEUE_SPARE_MAX; i++) {
		ck_assert_uint_lt(i, 100 + QUEUE_SPARE_MAX);
		ck_assert(str_snprintf(name, sizeof(name), "active/p%u", i));
		ck_assert(spare_new_file(name, ""));
		if (!queue_spare_put(name, -1, 0))
			ck_assert_int_eq(unlink(name), 0);
	}
	ck_assert(str_snprintf(name, sizeof(name), "%s/.1", QUEUE_SPARE));
	ck_assert_int_eq(unlink(name), 0);
	ck_assert(str_snprintf(name, sizeof(name), "%s/.3", QUEUE_SPARE));
	ck_assert_int_eq(unlink(name), 0);
	kept = 0;
	for (unsigned i = 400; i < 500 && kept < 2; i++) {
		ck_assert(str_snprintf(name, sizeof(name), "active/p%u", i));
		ck_assert(spare_new_file(name, ""));
		if (queue_spare_put(name, -1, 0))
			kept++;
		else
			ck_assert_int_eq(unlink(name), 0);
	}
	ck_assert_uint_eq(kept, 2);
	ck_assert_uint_eq(spare_entries(), QUEUE_SPARE_MAX);
	queue_spare_clear();
	ck_assert_uint_eq(spare_entries(), 0);
}
END_TEST

static Suite *queue_suite(void)
{
	Suite *s = suite_create("queue");
	TCase *tc = tcase_create("id");

	tcase_add_test(tc, test_id_format);
	tcase_add_test(tc, test_path_valid);
	tcase_add_test(tc, test_id_increasing);
	tcase_add_test(tc, test_id_forked_unique);
	tcase_add_test(tc, test_id_time_order);
	tcase_add_test(tc, test_queue_dirs);
	suite_add_tcase(s, tc);

	tc = tcase_create("file");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_roundtrip);
	tcase_add_test(tc, test_null_sender_empty_content);
	tcase_add_test(tc, test_large);
	tcase_add_test(tc, test_mark);
	tcase_add_test(tc, test_writing_mode);
	tcase_add_test(tc, test_abort_and_failed_commit);
	tcase_add_test(tc, test_write_error);
	tcase_add_test(tc, test_handmade_good);
	tcase_add_test(tc, test_corrupt_header);
	tcase_add_loop_test(tc, test_corrupt_envelope, 0,
			    sizeof(bad_envs) / sizeof(bad_envs[0]));
	tcase_add_test(tc, test_mutations);
	tcase_add_test(tc, test_not_regular);
	tcase_add_test(tc, test_golden);
	tcase_add_test(tc, test_move_scan);
	tcase_add_test(tc, test_spare_reuse);
	tcase_add_test(tc, test_spare_bounds);
	tcase_add_test(tc, test_spare_put_picture);
	suite_add_tcase(s, tc);

	/* A panic skips a checked teardown, so these share one directory
	 * made and removed in the parent. */
	tc = tcase_create("panic");
	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_add_test_raise_signal(tc, test_record_after_content_panics,
				    SIGABRT);
	tcase_add_test_raise_signal(tc, test_sender_twice_panics, SIGABRT);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	msg_open_stderr();
	msg_set_name("test_queue");
	return tu_run_suite(queue_suite());
}
