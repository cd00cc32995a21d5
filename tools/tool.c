/*
 * tool: helpers shared by the subcommands of the correo admin command
 * (tool.h): messages to the admin, loading the configuration, finding the
 * running master through its pid file, showing the tail of a log.
 *
 * SECURITY: runs with the privileges of whoever invokes correo (often
 * root). It reads the configuration the admin points it at and files under
 * $queue_directory; a pid file is trusted only as far as kill(pid, 0) and
 * /proc agree that such a process lives.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "mem.h"
#include "msg.h"
#include "safe_file.h"
#include "str.h"
#include "svc.h"

#include "tool.h"

static void tool_vprint(FILE *out, const char *fmt, va_list ap)
{
	fputs(TOOL_NAME ": ", out);
	vfprintf(out, fmt, ap);
	fputc('\n', out);
	fflush(out);
}

void tool_say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tool_vprint(stdout, fmt, ap);
	va_end(ap);
}

void tool_complain(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	va_start(ap, fmt);
	tool_vprint(stderr, fmt, ap);
	va_end(ap);
}

char *tool_path(const char *dir, const char *name)
{
	struct str s = STR_INIT;

	str_printf(&s, "%s/%s", dir, name);
	return str_steal(&s);
}

struct cfg *tool_load_config(const char *config_dir, char **error_r)
{
	char *path = tool_path(config_dir, "correo.conf");
	struct cfg *cfg = cfg_load(path, error_r);

	mem_free(path);
	if (cfg != NULL)
		cfg_main = cfg;
	return cfg;
}

struct svc_table *tool_load_services(const char *config_dir, char **error_r)
{
	char *path = tool_path(config_dir, "services.conf");
	struct svc_table *table = svc_load(path, error_r);

	mem_free(path);
	return table;
}

const char *tool_cfg_str(struct cfg *cfg, const char *key, const char *def)
{
	if (cfg_key_find(key) == NULL)
		return def;
	return cfg_str(cfg, key);
}

char *tool_pid_file(struct cfg *cfg)
{
	struct str s = STR_INIT;

	if (cfg_key_find("master_pid_file") != NULL)
		return mem_strdup(cfg_str(cfg, "master_pid_file"));
	str_printf(&s, "%s/pid/master.pid",
		   cfg_str(cfg, "queue_directory"));
	return str_steal(&s);
}

/* A zombie still answers kill(pid, 0); /proc/PID/stat tells. Outside
 * Linux (no /proc) we trust kill. */
bool tool_pid_alive(pid_t pid)
{
	char path[64];
	struct str stat = STR_INIT;
	const char *paren;
	bool alive = true;

	if (pid <= 0)
		return false;
	if (kill(pid, 0) < 0 && errno != EPERM)
		return false;
	str_snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if (safe_read_file(path, &stat, 4096)) {
		paren = strrchr(str_c(&stat), ')');
		if (paren != NULL && (paren[1] == ' ' &&
				      (paren[2] == 'Z' || paren[2] == 'X')))
			alive = false;
	} else if (errno == ENOENT) {
		alive = false;
	}
	str_release(&stat);
	return alive;
}

/* A stale pid file may name a pid reused by another program: believe it
 * only if that process runs a program called master (when /proc can
 * tell). */
static bool tool_pid_is_master(pid_t pid)
{
	char path[64];
	struct str cmd = STR_INIT;
	const char *base;
	bool ok = true;

	str_snprintf(path, sizeof(path), "/proc/%ld/cmdline", (long)pid);
	if (safe_read_file(path, &cmd, 4096) && cmd.len > 0) {
		base = strrchr(str_c(&cmd), '/');
		base = base != NULL ? base + 1 : str_c(&cmd);
		ok = strcmp(base, "master") == 0;
	}
	str_release(&cmd);
	return ok;
}

pid_t tool_master_pid(struct cfg *cfg)
{
	char *path = tool_pid_file(cfg);
	struct str text = STR_INIT;
	long pid = 0;

	if (safe_read_file(path, &text, 256)) {
		str_rtrim(&text);
		if (!str_to_long(str_trim(text.data != NULL ? text.data : ""),
				 1, INT_MAX, &pid))
			pid = 0;
	}
	str_release(&text);
	mem_free(path);
	if (pid > 0 && (!tool_pid_alive((pid_t)pid) ||
			!tool_pid_is_master((pid_t)pid)))
		pid = 0;
	return (pid_t)pid;
}

void tool_print_tail(const char *path, int lines)
{
	struct str text = STR_INIT;
	const char *start;
	const char *p;
	int n = 0;

	/* The last 64 KiB are plenty for a few lines. */
	FILE *fp = fopen(path, "r");

	if (fp == NULL)
		return;
	if (fseek(fp, -65536, SEEK_END) < 0)
		rewind(fp);
	for (;;) {
		char buf[4096];
		size_t got = fread(buf, 1, sizeof(buf), fp);

		if (got == 0)
			break;
		str_append_n(&text, buf, got);
	}
	fclose(fp);
	str_rtrim(&text);
	start = str_c(&text);
	for (p = start + text.len; p > start; p--) {
		if (p[-1] == '\n' && ++n >= lines)
			break;
	}
	fprintf(stderr, "--- last lines of %s:\n%s\n---\n", path, p);
	str_release(&text);
}

char *tool_self_dir(void)
{
	char buf[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
	char *slash;

	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	slash = strrchr(buf, '/');
	if (slash == NULL)
		return NULL;
	if (slash == buf)
		slash++;
	*slash = '\0';
	return mem_strdup(buf);
}
