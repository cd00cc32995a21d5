/*
 * fuzz_svc: libFuzzer target for common/svc.c (services.conf rows).
 *
 * Input: the file's text (up to the first NUL). A parsed table must hold
 * sane rows: a name, a command, argc matching argv, an inet port, a key.
 * An error must come with a "NAME:LINE: " message.
 *
 * SECURITY: test code only.
 */
#include "config.h"

#include "fuzz.h"

#include "svc.h"

static void check_row(const struct svc *svc)
{
	int i;

	if (svc->name == NULL || svc->argv == NULL || svc->argc < 1 ||
	    svc->argv[svc->argc] != NULL)
		abort();
	for (i = 0; i < svc->argc; i++)
		if (svc->argv[i] == NULL)
			abort();
	if (svc->type == SVC_INET && svc->port == NULL)
		abort();
	if (svc->wakeup < 0 || svc->maxproc < -1)
		abort();
	if (svc_key(svc) == NULL)
		abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_init("fuzz_svc");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = mem_strndup((const char *)data, size);
	char *error = NULL;
	struct svc_table *t;
	int i;

	t = svc_parse(text, "services.conf", &error);
	if (t == NULL) {
		if (error == NULL ||
		    strncmp(error, "services.conf:", 14) != 0) {
			fprintf(stderr, "bad error \"%s\"\n",
				error != NULL ? error : "(null)");
			abort();
		}
		mem_free(error);
	} else {
		for (i = 0; i < t->count; i++)
			check_row(&t->svcs[i]);
		svc_table_free(&t);
	}
	mem_free(text);
	return 0;
}
