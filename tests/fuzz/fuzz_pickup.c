/*
 * fuzz_pickup: libFuzzer target for pickup's handling of maildrop files
 * (pickup/pickup_file.c: pickup_file). maildrop/ is writable by every
 * local user through sendmail(1), so its files are untrusted input.
 *
 * Input: a whole maildrop file. It is placed as maildrop/ID in a
 * private queue directory and handed to pickup_file. A file pickup
 * accepts must become exactly one incoming/ queue file that the queue
 * reader accepts with as many recipients and the same sender, and the
 * maildrop file must be gone; a refused file must be moved to corrupt/.
 * pickup_file runs with the private directory as cwd; the fuzzer's own
 * cwd is restored after each input.
 *
 * SECURITY: test code only.
 */
#include "config.h"

#include <sys/stat.h>

#include "fuzz.h"

#include "pickup.h"
#include "queue.h"

#define ID "1K0T8KD6CVR00K8E00"

static int home_fd = -1;
static const char *const dirs[] = {
	QUEUE_MAILDROP, QUEUE_INCOMING, QUEUE_CORRUPT, NULL,
};

static void remove_dirs(void)
{
	if (fchdir(home_fd) < 0 || chdir(fuzz_tmpdir()) < 0)
		return;
	for (int i = 0; dirs[i] != NULL; i++)
		rmdir(dirs[i]);
	if (fchdir(home_fd) < 0)
		return;
}

struct seen {
	char id[QUEUE_ID_SIZE];
	int count;
};

static bool note_id(const char *id, void *ctx)
{
	struct seen *seen = ctx;

	str_snprintf(seen->id, sizeof(seen->id), "%s", id);
	seen->count++;
	return true;
}

/* The original file as the queue reader sees it, for comparison. */
static int open_original(struct queue_msg **m_r)
{
	const char *why;

	return queue_msg_open(QUEUE_MAILDROP "/" ID, false, m_r, &why);
}

static void check_accepted(const struct queue_msg *orig)
{
	struct seen seen = { "", 0 };
	struct queue_msg *m = NULL;
	struct str path = STR_INIT;
	const char *why = NULL;

	if (access(QUEUE_MAILDROP "/" ID, F_OK) == 0)
		abort();
	if (queue_scan(QUEUE_INCOMING, note_id, &seen) != 1)
		abort();
	str_printf(&path, "%s/%s", QUEUE_INCOMING, seen.id);
	if (queue_msg_open(str_c(&path), false, &m, &why) != 1) {
		fprintf(stderr, "pickup wrote a bad queue file: %s\n", why);
		abort();
	}
	if (orig == NULL || m->nrcpt != orig->nrcpt ||
	    strcmp(m->sender, orig->sender) != 0)
		abort();
	queue_msg_free(&m);
	unlink(str_c(&path));
	str_release(&path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_init("fuzz_pickup");
	home_fd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (home_fd < 0 || chdir(fuzz_tmpdir()) < 0)
		abort();
	for (int i = 0; dirs[i] != NULL; i++)
		if (mkdir(dirs[i], 0700) < 0)
			abort();
	if (fchdir(home_fd) < 0)
		abort();
	atexit(remove_dirs);	/* runs before fuzz_cleanup's rmdir */
	pickup_settings.myhostname = "mx.example.com";
	pickup_settings.size_limit = 10240000;
	pickup_settings.rcpt_limit = 1000;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct queue_msg *orig = NULL;
	int fd, ret;

	if (chdir(fuzz_tmpdir()) < 0)
		abort();
	fd = open(QUEUE_MAILDROP "/" ID, O_WRONLY | O_CREAT | O_TRUNC |
		  O_CLOEXEC, 0600);
	if (fd < 0)
		abort();
	fuzz_write_all(fd, data, size);
	close(fd);
	if (open_original(&orig) != 1)
		orig = NULL;
	ret = pickup_file(ID);
	if (ret == 1) {
		check_accepted(orig);
	} else if (ret == 0) {
		if (access(QUEUE_MAILDROP "/" ID, F_OK) == 0 ||
		    unlink(QUEUE_CORRUPT "/" ID) < 0)
			abort();
	} else {
		fprintf(stderr, "pickup_file left a regular file: %d\n", ret);
		abort();
	}
	if (orig != NULL)
		queue_msg_free(&orig);
	if (fchdir(home_fd) < 0)
		abort();
	return 0;
}
