/*
 * fuzz_pop3_parse: libFuzzer target for the POP3 command parser
 * (pop3d/pop3_parse.c: pop3_parse, pop3_parse_number).
 *
 * Input: byte 0 picks the function. For pop3_parse the rest is a
 * command line as read (line end included): a parsed command has a name,
 * an argument count within POP3_MAX_ARGS, arguments without CR, LF or
 * NUL; a refusal has a reply text. For pop3_parse_number, bytes 1-2 give
 * min and max and the rest is the number: an accepted number lies in
 * [min, max] and is what strtoul reads.
 *
 * SECURITY: test code only.
 */
#include "config.h"

#include <limits.h>

#include "fuzz.h"

#include "pop3_parse.h"

static struct pop3_cmd cmd = POP3_CMD_INIT;

static void fuzz_parse(const uint8_t *data, size_t size)
{
	struct str line = STR_INIT;
	const char *error = NULL;
	int i;

	str_append_n(&line, data, size);
	if (!pop3_parse(&line, &cmd, &error)) {
		if (error == NULL)
			abort();
		str_release(&line);
		return;
	}
	if (cmd.name == NULL || cmd.nargs < 0 || cmd.nargs > POP3_MAX_ARGS)
		abort();
	for (i = 0; i < cmd.nargs; i++)
		if (cmd.args[i] == NULL || cmd.args[i][0] == '\0' ||
		    strpbrk(cmd.args[i], "\r\n") != NULL ||
		    cmd.args[i] < cmd.buf.data ||
		    cmd.args[i] >= cmd.buf.data + cmd.buf.len)
			abort();
	str_release(&line);
}

static void fuzz_number(const uint8_t *data, size_t size)
{
	unsigned long min, max, n = 0;
	char *s;

	if (size < 2)
		return;
	min = data[0];
	max = data[1] == 255 ? ULONG_MAX : data[1];
	s = fuzz_cstr(data + 2, size - 2);
	if (s == NULL)
		return;
	if (pop3_parse_number(s, min, max, &n)) {
		if (n < min || n > max || s[0] < '0' || s[0] > '9' ||
		    strtoul(s, NULL, 10) != n) {
			fprintf(stderr, "pop3_parse_number(\"%s\", %lu, %lu)"
				" = %lu\n", s, min, max, n);
			abort();
		}
	}
	mem_free(s);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_init("fuzz_pop3_parse");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1)
		fuzz_number(data + 1, size - 1);
	else
		fuzz_parse(data + 1, size - 1);
	return 0;
}
