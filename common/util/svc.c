/*
 * svc: services.conf, the table of services master runs (svc.h).
 *
 * One row per service, eight whitespace separated columns (service,
 * type, private, user, chroot, wakeup, maxproc, command) followed by the
 * command's arguments. Blank lines and lines whose first non-blank
 * character is '#' are ignored; a line starting with whitespace continues
 * the previous row. "{ text }" makes one argument of text with spaces.
 * Every column is checked here, so master can trust a loaded table; an
 * error names the file, the line where the row starts and the column.
 *
 * Interface: svc_load/svc_parse, svc_table_free, svc_key. Resolving
 * service names ("smtp") to ports and user names to uids is left to
 * master, which does it when it binds and spawns.
 *
 * SECURITY: services.conf is written by the administrator and read by
 * master as root. It is parsed with bounded sizes and every field is
 * checked against a strict character set before master uses it in a
 * path (unix socket names) or passes it to getpwnam.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mem.h"
#include "msg.h"
#include "safe_file.h"
#include "str.h"
#include "svc.h"

#define SVC_MAX_FILE (1024 * 1024)
#define SVC_MAX_NAME 64
#define SVC_MAX_WAKEUP (7 * 86400L)
#define SVC_MAX_PROC 100000L
#define SVC_COLUMNS 8

static const char *const svc_column_names[SVC_COLUMNS] = {
	"service", "type", "private", "user", "chroot", "wakeup", "maxproc",
	"command",
};

/* ---- Splitting a row into words ---- */

/* The next word at *pp: a run of non-blanks, or "{ ... }" as one word.
 * Returns false with *error_r on an unbalanced brace; *word_r is NULL at
 * the end of the row. */
static bool svc_next_word(const char **pp, char **word_r, char **error_r)
{
	const char *p = *pp + strspn(*pp, " \t"), *end;
	char *word;

	*word_r = NULL;
	if (*p == '\0') {
		*pp = p;
		return true;
	}
	if (*p == '{') {
		end = strchr(p, '}');
		if (end == NULL) {
			*error_r = str_dup_printf("missing \"}\" after \"{\"");
			return false;
		}
		if (end[1] != '\0' && end[1] != ' ' && end[1] != '\t') {
			*error_r = str_dup_printf("text right after \"}\"");
			return false;
		}
		word = mem_strndup(p + 1, (size_t)(end - p - 1));
		*word_r = mem_strdup(str_trim(word));
		free(word);
		*pp = end + 1;
		return true;
	}
	end = p + strcspn(p, " \t");
	*word_r = mem_strndup(p, (size_t)(end - p));
	*pp = end;
	return true;
}

static void svc_words_free(char **words)
{
	char **p;

	if (words == NULL)
		return;
	for (p = words; *p != NULL; p++)
		free(*p);
	free(words);
}

static char **svc_split(const char *text, int *count_r, char **error_r)
{
	char **words = mem_array(strlen(text) / 2 + 2, sizeof(*words));
	const char *p = text;
	char *word;
	int n = 0;

	for (;;) {
		if (!svc_next_word(&p, &word, error_r)) {
			svc_words_free(words);
			return NULL;
		}
		if (word == NULL)
			break;
		words[n++] = word;
	}
	*count_r = n;
	return words;
}

/* ---- Checking columns ---- */

static bool svc_word_ok(const char *s, const char *extra)
{
	size_t len = strlen(s);

	if (len == 0 || len > SVC_MAX_NAME)
		return false;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && strchr(extra, *s) == NULL)
			return false;
	return true;
}

static bool svc_all_digits(const char *s)
{
	return *s != '\0' && strspn(s, "0123456789") == strlen(s);
}

static char *svc_check_port(const char *port)
{
	long n;

	if (*port == '\0')
		return str_dup_printf("missing port");
	if (svc_all_digits(port)) {
		if (!str_to_long(port, 1, 65535, &n))
			return str_dup_printf("port %s is not in 1-65535",
					      port);
		return NULL;
	}
	if (!isalpha((unsigned char)*port) || !svc_word_ok(port, "-_."))
		return str_dup_printf("bad port or service name \"%s\"", port);
	return NULL;
}

static char *svc_check_host(const char *host, bool v6)
{
	unsigned char addr[16];

	if (v6)
		return inet_pton(AF_INET6, host, addr) == 1 ? NULL :
		       str_dup_printf("bad IPv6 address \"%s\"", host);
	if (*host == '\0')
		return str_dup_printf("missing host before \":\"");
	if (strchr(host, ':') != NULL)
		return str_dup_printf("an IPv6 address needs brackets, like"
				      " [::1]:25");
	if (strspn(host, "0123456789.") == strlen(host))
		return inet_pton(AF_INET, host, addr) == 1 ? NULL :
		       str_dup_printf("bad IPv4 address \"%s\"", host);
	if (!svc_word_ok(host, "-.") || *host == '-' || *host == '.')
		return str_dup_printf("bad host name \"%s\"", host);
	return NULL;
}

/* [host:]port, host "*", an IPv4 address, a name or [v6addr]. */
static char *svc_parse_inet(struct svc *svc)
{
	const char *name = svc->name, *sep, *port;
	char *error;
	bool v6 = false;

	if (name[0] == '[') {
		sep = strchr(name, ']');
		if (sep == NULL)
			return str_dup_printf("missing \"]\"");
		if (sep[1] != ':')
			return str_dup_printf("expected \":port\" after \"]\"");
		svc->host = mem_strndup(name + 1, (size_t)(sep - name - 1));
		port = sep + 2;
		v6 = true;
	} else if ((sep = strrchr(name, ':')) != NULL) {
		svc->host = mem_strndup(name, (size_t)(sep - name));
		port = sep + 1;
	} else {
		port = name;
	}
	if (svc->host != NULL && strcmp(svc->host, "*") == 0)
		mem_free(svc->host);
	else if (svc->host != NULL &&
		 (error = svc_check_host(svc->host, v6)) != NULL)
		return error;
	if ((error = svc_check_port(port)) != NULL)
		return error;
	svc->port = mem_strdup(port);
	return NULL;
}

static char *svc_parse_name(struct svc *svc)
{
	char *error;

	if (svc->type == SVC_UNIX) {
		if (!svc_word_ok(svc->name, "-_.") || svc->name[0] == '.')
			return str_dup_printf("bad unix service name \"%s\""
					      " (letters, digits, \"-_.\")",
					      svc->name);
		return NULL;
	}
	error = svc_parse_inet(svc);
	if (error != NULL) {
		char *full = str_dup_printf("bad inet service \"%s\": %s",
					    svc->name, error);

		free(error);
		return full;
	}
	return NULL;
}

/* y/n/- with "-" meaning def. */
static char *svc_parse_yn(const char *column, const char *word, bool def,
			  bool *value_r)
{
	if (strcmp(word, "-") == 0)
		*value_r = def;
	else if (strcmp(word, "y") == 0)
		*value_r = true;
	else if (strcmp(word, "n") == 0)
		*value_r = false;
	else
		return str_dup_printf("%s: expected y, n or -, got \"%s\"",
				      column, word);
	return NULL;
}

/* A number in 0..max, or "-" for def. wakeup may end in '?' (Postfix's
 * "only when used"), which correo accepts and ignores. */
static char *svc_parse_num(const char *column, const char *word, long max,
			   long def, long *value_r)
{
	char buf[32];
	size_t len = strlen(word);

	if (strcmp(word, "-") == 0) {
		*value_r = def;
		return NULL;
	}
	if (strcmp(column, "wakeup") == 0 && len > 1 && len < sizeof(buf) &&
	    word[len - 1] == '?') {
		memcpy(buf, word, len - 1);
		buf[len - 1] = '\0';
		word = buf;
	}
	if (!svc_all_digits(word) || !str_to_long(word, 0, max, value_r))
		return str_dup_printf("%s: expected a number from 0 to %ld or"
				      " -, got \"%s\"", column, max, word);
	return NULL;
}

static char *svc_parse_columns(struct svc *svc, char **words)
{
	char *error;

	if (strcmp(words[1], "inet") == 0)
		svc->type = SVC_INET;
	else if (strcmp(words[1], "unix") == 0)
		svc->type = SVC_UNIX;
	else
		return str_dup_printf("unknown service type \"%s\" (expected"
				      " inet or unix)", words[1]);
	if ((error = svc_parse_name(svc)) != NULL ||
	    (error = svc_parse_yn("private", words[2], svc->type == SVC_UNIX,
				  &svc->private_)) != NULL ||
	    (error = svc_parse_yn("chroot", words[4], false,
				  &svc->chroot)) != NULL ||
	    (error = svc_parse_num("wakeup", words[5], SVC_MAX_WAKEUP, 0,
				   &svc->wakeup)) != NULL ||
	    (error = svc_parse_num("maxproc", words[6], SVC_MAX_PROC, -1,
				   &svc->maxproc)) != NULL)
		return error;
	if (svc->type == SVC_INET && svc->private_)
		return str_dup_printf("private: an inet service cannot be"
				      " private");
	if (strcmp(words[3], "-") != 0) {
		if (!svc_word_ok(words[3], "-_.") || words[3][0] == '-')
			return str_dup_printf("user: bad user name \"%s\"",
					      words[3]);
		svc->user = mem_strdup(words[3]);
	}
	return NULL;
}

static void svc_make_key(struct svc *svc)
{
	struct str key = STR_INIT;

	if (svc->type == SVC_UNIX)
		str_printf(&key, "unix/%s", svc->name);
	else if (svc->host == NULL)
		str_printf(&key, "inet/*:%s", svc->port);
	else if (strchr(svc->host, ':') != NULL)
		str_printf(&key, "inet/[%s]:%s", svc->host, svc->port);
	else
		str_printf(&key, "inet/%s:%s", svc->host, svc->port);
	svc->key = str_steal(&key);
}

const char *svc_key(const struct svc *svc)
{
	return svc->key;
}

/* ---- Rows and tables ---- */

static void svc_clear(struct svc *svc)
{
	free(svc->name);
	free(svc->user);
	free(svc->host);
	free(svc->port);
	svc_words_free(svc->argv);
	free(svc->file);
	free(svc->key);
	memset(svc, 0, sizeof(*svc));
}

/* Fill svc from the words of a row; returns an error without position. */
static char *svc_fill(struct svc *svc, char **words, int nwords)
{
	char *error;
	int i;

	if (nwords < SVC_COLUMNS) {
		if (nwords == SVC_COLUMNS - 1)
			return str_dup_printf("missing command (a row is:"
					      " service type private user"
					      " chroot wakeup maxproc command"
					      " [args])");
		return str_dup_printf("missing the %s column (a row has %d"
				      " columns and the command's arguments)",
				      svc_column_names[nwords], SVC_COLUMNS);
	}
	svc->name = mem_strdup(words[0]);
	if ((error = svc_parse_columns(svc, words)) != NULL)
		return error;
	svc->argc = nwords - (SVC_COLUMNS - 1);
	svc->argv = mem_array((size_t)svc->argc + 1, sizeof(*svc->argv));
	for (i = 0; i < svc->argc; i++)
		svc->argv[i] = mem_strdup(words[SVC_COLUMNS - 1 + i]);
	svc_make_key(svc);
	return NULL;
}

static bool svc_add_row(struct svc_table *table, const char *file, int line,
			const char *text, char **error_r)
{
	struct svc svc = { 0 };
	char **words, *error = NULL;
	int nwords = 0, i;

	words = svc_split(text, &nwords, &error);
	if (words != NULL)
		error = svc_fill(&svc, words, nwords);
	svc_words_free(words);
	for (i = 0; error == NULL && i < table->count; i++)
		if (strcmp(table->svcs[i].key, svc.key) == 0)
			error = str_dup_printf("duplicate service \"%s\" (%s,"
					       " first defined at line %d)",
					       svc.name, svc.key,
					       table->svcs[i].line);
	if (error != NULL) {
		*error_r = str_dup_printf("%s:%d: %s", file, line, error);
		free(error);
		svc_clear(&svc);
		return false;
	}
	svc.file = mem_strdup(file);
	svc.line = line;
	table->svcs = mem_array_realloc(table->svcs, (size_t)table->count + 1,
					sizeof(*table->svcs));
	table->svcs[table->count++] = svc;
	return true;
}

/* One physical line; *start is the first line of the pending row in
 * *row, 0 if none. */
static bool svc_parse_line(struct svc_table *table, const char *file,
			   struct str *phys, int lineno, struct str *row,
			   int *start, char **error_r)
{
	const char *text;

	str_rtrim(phys);
	text = str_c(phys) + strspn(str_c(phys), " \t\f\v\r");
	if (*text == '\0' || *text == '#')
		return true;
	if (text != str_c(phys)) {
		if (*start == 0) {
			*error_r = str_dup_printf("%s:%d: continuation line"
						  " without a service row"
						  " before it", file, lineno);
			return false;
		}
		str_append_c(row, ' ');
		str_append(row, text);
		return true;
	}
	if (*start > 0 && !svc_add_row(table, file, *start, str_c(row),
				       error_r))
		return false;
	str_set(row, text);
	*start = lineno;
	return true;
}

struct svc_table *svc_parse(const char *text, const char *name,
			    char **error_r)
{
	struct svc_table *table = mem_alloc(sizeof(*table));
	struct str row = STR_INIT, phys = STR_INIT;
	const char *p = text, *nl;
	int lineno = 0, start = 0;
	bool ok = true;
	size_t len;

	while (ok && *p != '\0') {
		nl = strchr(p, '\n');
		len = nl != NULL ? (size_t)(nl - p) : strlen(p);
		str_clear(&phys);
		str_append_n(&phys, p, len);
		ok = svc_parse_line(table, name, &phys, ++lineno, &row, &start,
				    error_r);
		p += len + (nl != NULL);
	}
	if (ok && start > 0)
		ok = svc_add_row(table, name, start, str_c(&row), error_r);
	str_release(&row);
	str_release(&phys);
	if (!ok)
		svc_table_free(&table);
	return table;
}

struct svc_table *svc_load(const char *path, char **error_r)
{
	struct svc_table *table = NULL;
	char *text = safe_read_text(path, SVC_MAX_FILE, error_r);

	if (text != NULL)
		table = svc_parse(text, path, error_r);
	free(text);
	return table;
}

void svc_table_free(struct svc_table **tablep)
{
	struct svc_table *table = *tablep;
	int i;

	if (table == NULL)
		return;
	for (i = 0; i < table->count; i++)
		svc_clear(&table->svcs[i]);
	free(table->svcs);
	free(table);
	*tablep = NULL;
}
