/*
 * fuzz_attr: libFuzzer target for the internal request protocol's
 * reader (common/attr.c: attr_read, attr_decode, attr_client_hello).
 *
 * Input: byte 0 picks the mode: a strict spec or none for attr_read,
 * the handshake, or attr_decode of the rest as one value. The rest is
 * what the peer sent, read through lio from a memfd. Every list read
 * is checked (names [a-z0-9_]+, at most ATTR_MAX_COUNT attributes, the
 * spec's required names present) and written back with attr_write:
 * reading that must give the same list (the encoding round-trips).
 *
 * SECURITY: test code only.
 */
#include "config.h"

#include "fuzz.h"

#include "attr.h"
#include "lio.h"

static const struct attr_spec spec_strict[] = {
	{ "request", true, false },
	{ "user", true, false },
	{ "rcpt", false, true },
	{ "size", false, false },
	{ NULL, false, false },
};

static void check_list(const struct attr_list *list,
		       const struct attr_spec *spec)
{
	const struct attr_spec *sp;
	size_t i;

	if (list->count > ATTR_MAX_COUNT)
		abort();
	for (i = 0; i < list->count; i++) {
		const char *n = list->attrs[i].name;

		if (n[0] == '\0' ||
		    strspn(n, "abcdefghijklmnopqrstuvwxyz0123456789_") !=
		    strlen(n) || list->attrs[i].value == NULL)
			abort();
	}
	for (sp = spec; sp != NULL && sp->name != NULL; sp++)
		if (sp->required && attr_get(list, sp->name) == NULL)
			abort();
}

/* Write list, read it back, compare. */
static void round_trip(const struct attr_list *list,
		       const struct attr_spec *spec)
{
	struct lio *out = lio_create(fuzz_fd(NULL, 0), 0);
	struct attr_list again = ATTR_LIST_INIT;
	struct lio *in;
	const char *error = NULL;
	size_t i;

	attr_write(out, list);
	if (lio_flush(out) != LIO_OK)
		abort();
	in = lio_create(dup(lio_fd(out)), 0);
	if (lseek(lio_fd(in), 0, SEEK_SET) != 0)
		abort();
	if (attr_read(in, &again, spec, &error) != LIO_OK) {
		fprintf(stderr, "round trip: %s\n", error);
		abort();
	}
	if (again.count != list->count)
		abort();
	for (i = 0; i < list->count; i++)
		if (strcmp(again.attrs[i].name, list->attrs[i].name) != 0 ||
		    strcmp(again.attrs[i].value, list->attrs[i].value) != 0)
			abort();
	attr_list_clear(&again);
	lio_free(&in);
	lio_free(&out);
}

static void fuzz_read(const uint8_t *data, size_t size,
		      const struct attr_spec *spec)
{
	struct lio *lio = lio_create(fuzz_fd(data, size), 0);
	struct attr_list list = ATTR_LIST_INIT;
	const char *error;
	int n;

	/* Several lists may follow one another, as on a connection. */
	for (n = 0; n < 8; n++) {
		error = NULL;
		if (attr_read(lio, &list, spec, &error) != LIO_OK)
			break;
		check_list(&list, spec);
		round_trip(&list, spec);
	}
	attr_list_clear(&list);
	lio_free(&lio);
}

static void fuzz_decode(const uint8_t *data, size_t size)
{
	struct str value = STR_INIT, enc = STR_INIT;

	str_append_n(&value, data, size);
	if (attr_decode(&value)) {
		/* Whatever decoded must encode and decode back to itself. */
		attr_encode(&enc, value.data, value.len);
		if (enc.len > 0 &&
		    (memchr(enc.data, '\n', enc.len) != NULL ||
		     memchr(enc.data, '\0', enc.len) != NULL))
			abort();
		if (!attr_decode(&enc) || enc.len != value.len ||
		    (value.len > 0 &&
		     memcmp(enc.data, value.data, value.len) != 0))
			abort();
	}
	str_release(&value);
	str_release(&enc);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_init("fuzz_attr");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lio *lio;
	const char *error;

	if (size < 1)
		return 0;
	switch (data[0] % 4) {
	case 0:
		fuzz_read(data + 1, size - 1, NULL);
		break;
	case 1:
		fuzz_read(data + 1, size - 1, spec_strict);
		break;
	case 2:
		lio = lio_create(fuzz_fd(data + 1, size - 1), 0);
		error = NULL;
		if (attr_client_hello(lio, "fuzz", &error) == (error != NULL))
			abort();
		lio_free(&lio);
		break;
	default:
		fuzz_decode(data + 1, size - 1);
		break;
	}
	return 0;
}
