/*
 * fuzz_dict_source: libFuzzer target for lookup-table text: the source
 * file format (dict_parse_source, texthash:), inline:{...} specs, and
 * hash: tables built from a source with dict_build.
 *
 * Input: byte 0 picks the mode; the rest is an inline spec (after
 * "inline:") or the text of a source file. Whatever a table iterates
 * must be found again by dict_lookup with the same value (keys are
 * folded to lower case both ways), and every key dict_parse_source
 * reports must be found in the texthash: table of the same file.
 *
 * SECURITY: test code only.
 */
#include "config.h"

#include "fuzz.h"

#include "dict.h"

static bool check_entry(const char *key, const char *value, void *ctx)
{
	struct dict *dict = ctx;
	struct str found = STR_INIT;
	const char *error = NULL;

	if (dict_lookup(dict, key, &found, &error) != 1 ||
	    strcmp(str_c(&found), value) != 0) {
		fprintf(stderr, "%s: key \"%s\" iterates as \"%s\","
			" looks up as \"%s\" (%s)\n", dict_name(dict), key,
			value, str_c(&found), error ? error : "");
		abort();
	}
	str_release(&found);
	return true;
}

static void check_dict(const char *spec, struct dict *match_keys_of)
{
	struct dict *dict;
	char *error = NULL;
	const char *lerror = NULL;

	dict = dict_open(spec, &error);
	if (dict == NULL) {
		if (error == NULL)
			abort();
		mem_free(error);
		return;
	}
	if (!dict_iterate(dict, check_entry, dict, &lerror))
		abort();
	if (match_keys_of != NULL &&
	    !dict_iterate(match_keys_of, check_entry, dict, &lerror))
		abort();
	dict_close(&dict);
}

/* Each key the parser reports must be in the texthash: table. */
static bool check_parsed(const char *key, const char *value, void *ctx)
{
	struct dict *dict = ctx;
	struct str found = STR_INIT;
	const char *error = NULL;

	if (dict_lookup(dict, key, &found, &error) != 1) {
		fprintf(stderr, "parsed key \"%s\" not in texthash\n", key);
		abort();
	}
	str_release(&found);
	return true;
}

static void fuzz_source(const uint8_t *data, size_t size, bool build)
{
	const char *path = fuzz_file("source", data, size);
	struct str spec = STR_INIT, db = STR_INIT;
	struct dict *text;
	char *error = NULL;

	str_printf(&spec, "texthash:%s", path);
	text = dict_open(str_c(&spec), &error);
	if (text == NULL) {
		if (error == NULL)
			abort();
		mem_free(error);
		str_release(&spec);
		return;
	}
	if (!dict_parse_source(path, check_parsed, text, &error))
		abort();
	check_dict(str_c(&spec), NULL);
	if (build) {
		if (!dict_build("hash", path, &error))
			abort();
		str_clear(&spec);
		str_printf(&spec, "hash:%s", path);
		check_dict(str_c(&spec), text);
		str_printf(&db, "%s.db", path);
		unlink(str_c(&db));
	}
	dict_close(&text);
	str_release(&spec);
	str_release(&db);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_init("fuzz_dict_source");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct str spec = STR_INIT;

	if (size < 1 || memchr(data + 1, '\0', size - 1) != NULL)
		return 0;
	switch (data[0] % 3) {
	case 0:
		str_append(&spec, "inline:");
		str_append_n(&spec, data + 1, size - 1);
		check_dict(str_c(&spec), NULL);
		str_release(&spec);
		break;
	case 1:
		fuzz_source(data + 1, size - 1, false);
		break;
	default:
		fuzz_source(data + 1, size - 1, true);
		break;
	}
	return 0;
}
