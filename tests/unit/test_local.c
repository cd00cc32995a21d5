/*
 * Unit tests for the local delivery agent's library (delivery/): the
 * bytes written (Return-Path, Delivered-To, mbox From_ quoting), the
 * Delivered-To loop check, command delivery with its exit codes and time
 * limit, and whole deliveries into a virtual Maildir.
 */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfg.h"
#include "queue.h"
#include "resolve.h"
#include "safe_file.h"
#include "str.h"

#include "../../delivery/local.h"

static char tmpdir[] = "/tmp/test_local.XXXXXX";

#define VMAILBOX "demo@virt.test virt.test/demo/\nbox@virt.test virt.test/box\n" \
	"bad@virt.test virt.test/bad/\n"
/* demo@virt.test holds 3 messages; bad@virt.test's rule is broken. */
#define QUOTA_TABLE "demo@virt.test messages=3\nbad@virt.test storage=lots\n"
static char oldcwd[1024];
static struct cfg *cfg;

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	return remove(path);
}

static const char *path_in(const char *name)
{
	static char buf[8][512];
	static int which;

	which = (which + 1) % 8;
	ck_assert(str_snprintf(buf[which], sizeof(buf[which]), "%s/%s",
			       tmpdir, name));
	return buf[which];
}

static void setup(void)
{
	struct str text = STR_INIT;
	char *error = NULL;

	memcpy(tmpdir, "/tmp/test_local.XXXXXX", sizeof(tmpdir));
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	ck_assert_ptr_nonnull(getcwd(oldcwd, sizeof(oldcwd)));
	ck_assert_int_eq(chdir(tmpdir), 0);
	ck_assert_int_eq(mkdir(QUEUE_INCOMING, 0700), 0);
	str_printf(&text,
		   "myhostname = mail.example.test\n"
		   "virtual_mailbox_domains = virt.test\n"
		   "virtual_mailbox_base = %s/vmail\n"
		   "virtual_mailbox_maps = texthash:%s/vmailbox\n"
		   "alias_maps = texthash:%s/aliases\n"
		   "mailbox_quota_maps = texthash:%s/quota\n", tmpdir, tmpdir,
		   tmpdir, tmpdir);
	ck_assert(safe_write_file("aliases", "pipe: |/bin/true\n", 17, 0600));
	ck_assert(safe_write_file("quota", QUOTA_TABLE, strlen(QUOTA_TABLE),
				  0600));
	ck_assert(safe_write_file("vmailbox", VMAILBOX, strlen(VMAILBOX),
				  0600));
	cfg = cfg_parse(str_c(&text), "test.conf", tmpdir, &error);
	ck_assert_msg(cfg != NULL, "%s", error);
	local_state.resolver = resolve_create(cfg, &error);
	ck_assert_msg(local_state.resolver != NULL, "%s", error);
	local_state.switch_user = false;
	local_state.command_timeout = 5;
	str_release(&text);
}

static void teardown(void)
{
	resolve_free(&local_state.resolver);
	cfg_free(&cfg);
	ck_assert_int_eq(chdir(oldcwd), 0);
	nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Queue a message and open it read-only. */
static struct queue_msg *queue(const char *sender, const char *content)
{
	struct queue_writer *w = queue_writer_create();
	struct queue_msg *msg = NULL;
	struct str path = STR_INIT;
	const char *error = NULL;

	ck_assert_ptr_nonnull(w);
	queue_writer_sender(w, sender);
	queue_writer_rcpt(w, "demo@virt.test", NULL, 0);
	ck_assert(queue_writer_content(w, content, strlen(content)));
	ck_assert(queue_writer_commit(w));
	str_printf(&path, "%s/%s", QUEUE_INCOMING, queue_writer_id(w));
	queue_writer_free(&w);
	ck_assert_int_eq(queue_msg_open(str_c(&path), false, &msg, &error),
			 1);
	str_release(&path);
	return msg;
}

static void read_file(const char *path, struct str *out)
{
	str_clear(out);
	ck_assert(safe_read_file(path, out, 1 << 20));
}

START_TEST(content_headers)
{
	struct queue_msg *msg = queue("alice@a.test",
				      "Subject: x\n\nFrom me\nbody\n");
	struct local_content c = { msg, "alice@a.test", "demo@virt.test",
				     NULL, NULL };
	struct str got = STR_INIT;
	int fd = open(path_in("out"), O_WRONLY | O_CREAT, 0600);

	ck_assert(local_content_write(fd, &c));
	close(fd);
	read_file(path_in("out"), &got);
	ck_assert_str_eq(str_c(&got),
			 "Return-Path: <alice@a.test>\n"
			 "Delivered-To: demo@virt.test\n"
			 "Subject: x\n\nFrom me\nbody\n");
	/* A CR/LF in an envelope address cannot add a header line. */
	c.sender = "evil\r\nX-Injected: 1";
	fd = open(path_in("out2"), O_WRONLY | O_CREAT, 0600);
	ck_assert(local_content_write(fd, &c));
	close(fd);
	read_file(path_in("out2"), &got);
	ck_assert(str_has_prefix(str_c(&got),
				 "Return-Path: <evilX-Injected: 1>\n"));
	queue_msg_free(&msg);
	str_release(&got);
}
END_TEST

START_TEST(mbox_quoting)
{
	struct queue_msg *msg = queue("", "Subject: x\n\nFrom me\n"
				      ">From you\nlast line no newline");
	struct local_content c = { msg, "", "box@virt.test", NULL, NULL };
	struct local_result res = { LOCAL_DEFER, NULL, STR_INIT };
	struct str got = STR_INIT;

	local_mbox(&c, path_in("mbox"), &res);
	ck_assert_int_eq(res.status, LOCAL_OK);
	local_mbox(&c, path_in("mbox"), &res);
	ck_assert_int_eq(res.status, LOCAL_OK);
	read_file(path_in("mbox"), &got);
	/* mboxo quoting (Postfix's): only "From " lines gain a '>'. */
	ck_assert(str_has_prefix(str_c(&got), "From MAILER-DAEMON "));
	ck_assert_ptr_nonnull(strstr(str_c(&got), "\n>From me\n>From you\n"
				     "last line no newline\n\nFrom "));
	ck_assert(got.len > 2 && strcmp(got.data + got.len - 2, "\n\n") == 0);
	/* A symlink is never followed. */
	ck_assert_int_eq(symlink(path_in("mbox"), path_in("link")), 0);
	local_mbox(&c, path_in("link"), &res);
	ck_assert_int_ne(res.status, LOCAL_OK);
	queue_msg_free(&msg);
	str_release(&got);
	str_release(&res.reason);
}
END_TEST

START_TEST(loop_check)
{
	struct queue_msg *msg = queue("a@b.test",
				      "Received: x\n"
				      "Delivered-To:  Demo@Virt.Test \n"
				      "Subject: y\n\n"
				      "Delivered-To: body@virt.test\n");

	ck_assert_int_eq(local_content_loop(msg, "demo@virt.test"), 1);
	ck_assert_int_eq(local_content_loop(msg, "other@virt.test"), 0);
	/* Only the header counts. */
	ck_assert_int_eq(local_content_loop(msg, "body@virt.test"), 0);
	queue_msg_free(&msg);
	msg = queue("a@b.test", "\nDelivered-To: demo@virt.test\n");
	ck_assert_int_eq(local_content_loop(msg, "demo@virt.test"), 0);
	queue_msg_free(&msg);
}
END_TEST

START_TEST(commands)
{
	struct queue_msg *msg = queue("a@b.test", "Subject: c\n\nhello\n");
	struct local_content c = { msg, "a@b.test", "pipe@virt.test",
				     NULL, NULL };
	struct local_result res = { LOCAL_DEFER, NULL, STR_INIT };
	struct str cmd = STR_INIT, got = STR_INIT;

	str_printf(&cmd, "cat > %s; echo \"$SENDER $RECIPIENT\" >> %s",
		   path_in("piped"), path_in("piped"));
	local_command(&c, str_c(&cmd), 5, &res);
	ck_assert_msg(res.status == LOCAL_OK, "%s", str_c(&res.reason));
	read_file(path_in("piped"), &got);
	ck_assert_str_eq(str_c(&got), "Return-Path: <a@b.test>\n"
			 "Delivered-To: pipe@virt.test\n"
			 "Subject: c\n\nhello\na@b.test pipe@virt.test\n");

	local_command(&c, "exit 75", 5, &res);
	ck_assert_int_eq(res.status, LOCAL_DEFER);
	local_command(&c, "echo no such list; exit 67", 5, &res);
	ck_assert_int_eq(res.status, LOCAL_BOUNCE);
	ck_assert_str_eq(res.dsn, "5.3.0");
	ck_assert_ptr_nonnull(strstr(str_c(&res.reason), "no such list"));
	local_command(&c, "exec sleep 30", 1, &res);
	ck_assert_int_eq(res.status, LOCAL_DEFER);
	ck_assert_ptr_nonnull(strstr(str_c(&res.reason), "time limit"));
	/* A command that ignores its input still works. */
	local_command(&c, "true", 5, &res);
	ck_assert_int_eq(res.status, LOCAL_OK);
	queue_msg_free(&msg);
	str_release(&cmd);
	str_release(&got);
	str_release(&res.reason);
}
END_TEST

static int count_new(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

START_TEST(deliver_virtual)
{
	struct queue_msg *msg = queue("a@b.test", "Subject: v\n\nbody\n");
	struct local_result res = { LOCAL_DEFER, NULL, STR_INIT };
	struct local_rcpt rcpt = { "demo@virt.test", "demo@virt.test", NULL,
				   0 };

	local_deliver(msg, &rcpt, &res);
	ck_assert_msg(res.status == LOCAL_OK, "%s", str_c(&res.reason));
	ck_assert_str_eq(str_c(&res.reason), "delivered to maildir");
	ck_assert_int_eq(count_new(path_in("vmail/virt.test/demo/new")), 1);

	rcpt.address = "nobody@virt.test";
	local_deliver(msg, &rcpt, &res);
	ck_assert_int_eq(res.status, LOCAL_BOUNCE);
	ck_assert_str_eq(res.dsn, "5.1.1");

	/* A target qmgr names that the expansion does not give. */
	rcpt.address = "demo@virt.test";
	rcpt.target = "|/bin/sh -c evil";
	local_deliver(msg, &rcpt, &res);
	ck_assert_int_eq(res.status, LOCAL_BOUNCE);
	ck_assert_int_eq(count_new(path_in("vmail/virt.test/demo/new")), 1);
	queue_msg_free(&msg);

	/* Delivered-To loop. */
	msg = queue("a@b.test", "Delivered-To: demo@virt.test\n\nx\n");
	rcpt.target = NULL;
	local_deliver(msg, &rcpt, &res);
	ck_assert_int_eq(res.status, LOCAL_BOUNCE);
	ck_assert_str_eq(str_c(&res.reason),
			 "mail forwarding loop for demo@virt.test");
	ck_assert_int_eq(count_new(path_in("vmail/virt.test/demo/new")), 1);
	queue_msg_free(&msg);
	str_release(&res.reason);
}
END_TEST

/* mailbox_quota_maps: deliveries until the limit, then a 4.2.2
 * deferral; a broken rule defers too (the admin must fix it). */
START_TEST(deliver_over_quota)
{
	struct queue_msg *msg = queue("a@b.test", "Subject: q\n\nbody\n");
	struct local_result res = { LOCAL_DEFER, NULL, STR_INIT };
	struct local_rcpt rcpt = { "demo+ext@virt.test", "demo@virt.test",
				   NULL, 0 };
	const char *newdir = path_in("vmail/virt.test/demo/new");
	struct str text = STR_INIT;

	for (int i = 0; i < 3; i++) {
		local_deliver(msg, &rcpt, &res);
		ck_assert_msg(res.status == LOCAL_OK, "%s",
			      str_c(&res.reason));
	}
	local_deliver(msg, &rcpt, &res);
	ck_assert_int_eq(res.status, LOCAL_DEFER);
	ck_assert_str_eq(res.dsn, "4.2.2");
	ck_assert_str_eq(str_c(&res.reason), "maildir delivery failed: 4.2.2 "
			 "Mailbox full / quota exceeded (mailbox for user is "
			 "full)");
	ck_assert_int_eq(count_new(newdir), 3);
	read_file(path_in("vmail/virt.test/demo/maildirsize"), &text);
	ck_assert_msg(strncmp(str_c(&text), "3C\n", 3) == 0, "%s",
		      str_c(&text));

	rcpt.address = "bad@virt.test";
	local_deliver(msg, &rcpt, &res);
	ck_assert_int_eq(res.status, LOCAL_DEFER);
	ck_assert_str_eq(res.dsn, "4.3.5");
	queue_msg_free(&msg);
	str_release(&res.reason);
	str_release(&text);
}
END_TEST

START_TEST(deliver_alias_command)
{
	struct queue_msg *msg = queue("a@b.test", "Subject: p\n\nbody\n");
	struct local_result res = { LOCAL_DEFER, NULL, STR_INIT };
	struct local_rcpt rcpt = { "pipe@mail.example.test",
				   "pipe@mail.example.test", "|/bin/true", 0 };

	/* The expansion of the original recipient yields the command. */
	local_deliver(msg, &rcpt, &res);
	ck_assert_msg(res.status == LOCAL_OK, "%s", str_c(&res.reason));
	ck_assert_str_eq(str_c(&res.reason),
			 "delivered to command: /bin/true");
	/* The same command claimed for another recipient is refused. */
	rcpt.orig = "demo@virt.test";
	local_deliver(msg, &rcpt, &res);
	ck_assert_int_eq(res.status, LOCAL_BOUNCE);
	queue_msg_free(&msg);
	str_release(&res.reason);
}
END_TEST

/* Root mode: the first delivery for an owner starts a worker running as
 * that owner, later ones reuse it (no fork per message), a worker that
 * died while idle is replaced, and root owners are refused. */
static void owner_config(const char *owner)
{
	struct str text = STR_INIT;
	char *error = NULL;

	resolve_free(&local_state.resolver);
	cfg_free(&cfg);
	str_printf(&text,
		   "virtual_mailbox_domains = virt.test\n"
		   "virtual_mailbox_base = %s/vmail\n"
		   "virtual_mailbox_maps = texthash:%s/vmailbox\n"
		   "alias_maps = texthash:%s/aliases\n"
		   "mailbox_quota_maps = texthash:%s/quota\n"
		   "virtual_owner = %s\n", tmpdir, tmpdir, tmpdir, tmpdir,
		   owner);
	cfg = cfg_parse(str_c(&text), "test.conf", tmpdir, &error);
	ck_assert_msg(cfg != NULL, "%s", error);
	local_state.resolver = resolve_create(cfg, &error);
	ck_assert_msg(local_state.resolver != NULL, "%s", error);
	str_release(&text);
}

/* The real, effective, saved and filesystem uids of pid, all uid? */
static bool runs_as(pid_t pid, uid_t uid)
{
	struct str status = STR_INIT, want = STR_INIT;
	char path[64];
	bool ok;

	ck_assert(str_snprintf(path, sizeof(path), "/proc/%ld/status",
			       (long)pid));
	ck_assert(safe_read_file(path, &status, 1 << 16));
	str_printf(&want, "\nUid:\t%lu\t%lu\t%lu\t%lu\n", (unsigned long)uid,
		   (unsigned long)uid, (unsigned long)uid, (unsigned long)uid);
	ok = strstr(str_c(&status), str_c(&want)) != NULL;
	str_release(&status);
	str_release(&want);
	return ok;
}

/* Wait (up to 5 s) until our child pid has died: its descriptors are
 * closed then. */
static void wait_zombie(pid_t pid)
{
	struct str stat = STR_INIT;
	char path[64];
	const char *p;

	ck_assert(str_snprintf(path, sizeof(path), "/proc/%ld/stat",
			       (long)pid));
	for (int i = 0; i < 500; i++) {
		str_clear(&stat);
		ck_assert(safe_read_file(path, &stat, 4096));
		p = strrchr(str_c(&stat), ')');
		if (p != NULL && p[1] == ' ' && p[2] == 'Z')
			break;
		usleep(10000);
	}
	str_release(&stat);
}

/* The owner of the only file in dir. */
static uid_t new_file_owner(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	struct stat st;
	uid_t uid = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		ck_assert_int_eq(fstatat(dirfd(d), e->d_name, &st, 0), 0);
		uid = st.st_uid;
	}
	closedir(d);
	return uid;
}

/* How many files in dir hold text. */
static int files_with(const char *dir, const char *text)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	struct str path = STR_INIT, data = STR_INIT;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		str_clear(&path);
		str_clear(&data);
		str_printf(&path, "%s/%s", dir, e->d_name);
		ck_assert(safe_read_file(str_c(&path), &data, 1 << 20));
		n += strstr(str_c(&data), text) != NULL;
	}
	closedir(d);
	str_release(&path);
	str_release(&data);
	return n;
}

START_TEST(deliver_as_owner)
{
	struct passwd *pw = getpwnam("nobody");
	struct local_result res = { LOCAL_DEFER, NULL, STR_INIT };
	struct local_rcpt rcpt = { "demo@virt.test", "demo@virt.test", NULL,
				   0 };
	const char *newdir = path_in("vmail/virt.test/demo/new");
	struct queue_msg *msg, *big;
	struct str text = STR_INIT;
	pid_t pid, pid2;

	if (geteuid() != 0 || pw == NULL || pw->pw_uid == 0) {
		fprintf(stderr, "deliver_as_owner: skipped (needs root and"
			" a user nobody)\n");
		return;
	}
	owner_config("nobody");
	ck_assert_int_eq(chmod(tmpdir, 0755), 0);
	ck_assert_int_eq(mkdir(path_in("vmail"), 0755), 0);
	ck_assert_int_eq(chown(path_in("vmail"), pw->pw_uid, pw->pw_gid), 0);
	local_state.switch_user = true;
	msg = queue("a@b.test", "Subject: o\n\nbody\n");

	local_deliver(msg, &rcpt, &res);
	ck_assert_msg(res.status == LOCAL_OK, "%s", str_c(&res.reason));
	ck_assert_str_eq(res.dsn, "2.0.0");
	ck_assert_int_eq(count_new(newdir), 1);
	ck_assert_int_eq(new_file_owner(newdir), pw->pw_uid);
	/* A small message travels with the request (inline). */
	ck_assert_int_eq(files_with(newdir, "Delivered-To: demo@virt.test\n"
				    "Subject: o\n\nbody\n"), 1);
	pid = local_worker_pid("nobody");
	ck_assert_int_gt(pid, 0);
	ck_assert(runs_as(pid, pw->pw_uid));

	local_deliver(msg, &rcpt, &res);
	ck_assert_msg(res.status == LOCAL_OK, "%s", str_c(&res.reason));
	ck_assert_int_eq(count_new(newdir), 2);
	ck_assert_int_eq(local_worker_pid("nobody"), pid);

	/* Killed while idle: the next delivery gets a new worker. This
	 * one is past the inline limit: it goes in a memory file. */
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	wait_zombie(pid);
	str_append(&text, "Subject: big\n\n");
	for (int i = 0; i < 2000; i++)
		str_printf(&text, "line %d of a message bigger than 64 kB\n",
			   i);
	str_append(&text, "the last line\n");
	big = queue("a@b.test", str_c(&text));
	local_deliver(big, &rcpt, &res);
	ck_assert_msg(res.status == LOCAL_OK, "%s", str_c(&res.reason));
	ck_assert_int_eq(count_new(newdir), 3);
	ck_assert_int_eq(files_with(newdir, "line 1999 of a message bigger "
				    "than 64 kB\nthe last line\n"), 1);
	queue_msg_free(&big);
	str_release(&text);
	pid2 = local_worker_pid("nobody");
	ck_assert_int_gt(pid2, 0);
	ck_assert_int_ne(pid2, pid);
	ck_assert(runs_as(pid2, pw->pw_uid));

	/* The worker is handed the quota rule: the fourth is deferred. */
	local_deliver(msg, &rcpt, &res);
	ck_assert_int_eq(res.status, LOCAL_DEFER);
	ck_assert_str_eq(res.dsn, "4.2.2");
	ck_assert_int_eq(count_new(newdir), 3);

	local_worker_close_all();
	ck_assert_int_eq(local_worker_pid("nobody"), 0);
	ck_assert_int_eq(kill(pid2, 0), -1);
	ck_assert_int_eq(errno, ESRCH);

	/* Never as root. */
	owner_config("root");
	local_deliver(msg, &rcpt, &res);
	ck_assert_int_eq(res.status, LOCAL_DEFER);
	ck_assert_str_eq(str_c(&res.reason),
			 "will not deliver as root: alias root to a user");
	ck_assert_int_eq(local_worker_pid("root"), 0);
	ck_assert_int_eq(count_new(newdir), 3);
	local_state.switch_user = false;
	queue_msg_free(&msg);
	str_release(&res.reason);
}
END_TEST

static Suite *local_suite(void)
{
	Suite *s = suite_create("local");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, content_headers);
	tcase_add_test(tc, mbox_quoting);
	tcase_add_test(tc, loop_check);
	tcase_add_test(tc, commands);
	tcase_add_test(tc, deliver_virtual);
	tcase_add_test(tc, deliver_over_quota);
	tcase_add_test(tc, deliver_alias_command);
	tcase_add_test(tc, deliver_as_owner);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(local_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
