/*
 * fuzz_cfg: libFuzzer target for common/cfg.c (correo.conf parsing,
 * type checks, $key expansion).
 *
 * Input: the configuration text; if it holds a NUL, the text after the
 * first NUL is a services.conf "-o" assignment applied with
 * cfg_set_assignment. After a successful parse every declared key is
 * read through its typed getter: cfg_parse promises that values are
 * type checked and expandable at load time, so a getter's msg_panic
 * ("unchecked value", an expansion error) is a bug the fuzzer reports as
 * a crash. cfg_print expands everything once more.
 *
 * SECURITY: test code only.
 */
#include "config.h"

#include "fuzz.h"

#include "cfg.h"

static FILE *devnull;

static void read_all(struct cfg *cfg)
{
	const struct cfg_key *k;

	for (k = cfg_keys; k->name != NULL; k++) {
		cfg_str(cfg, k->name);
		cfg_is_set(cfg, k->name);
		cfg_default(cfg, k->name);
		switch (k->type) {
		case CFG_INT:
			cfg_int(cfg, k->name);
			break;
		case CFG_TIME:
			cfg_time(cfg, k->name);
			break;
		case CFG_SIZE:
			cfg_size(cfg, k->name);
			break;
		case CFG_BOOL:
			cfg_bool(cfg, k->name);
			break;
		case CFG_LIST:
			cfg_list(cfg, k->name);
			break;
		case CFG_STR:
			break;
		}
	}
	cfg_print(cfg, devnull, NULL, false);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_init("fuzz_cfg");
	devnull = fopen("/dev/null", "w");
	if (devnull == NULL)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = mem_strndup((const char *)data, size);
	const char *nul = memchr(data, '\0', size);
	char *error = NULL, *assign = NULL;
	struct cfg *cfg;

	if (nul != NULL)
		assign = mem_strndup(nul + 1,
				     size - (size_t)(nul - (const char *)data)
				     - 1);
	cfg = cfg_parse(text, "fuzz.conf", "/nonexistent", &error);
	if (cfg == NULL) {
		if (error == NULL)
			abort();
		mem_free(error);
		goto out;
	}
	read_all(cfg);
	if (assign != NULL) {
		if (cfg_set_assignment(cfg, assign, &error))
			read_all(cfg);
		else if (error == NULL)
			abort();
		mem_free(error);
	}
	cfg_free(&cfg);
	if (cfg != NULL)
		abort();
out:
	mem_free(text);
	mem_free(assign);
	return 0;
}
