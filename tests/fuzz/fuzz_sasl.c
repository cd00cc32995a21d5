/*
 * fuzz_sasl: libFuzzer target for the SASL decoders (common/sasl.c):
 * strict base64 and the PLAIN message.
 *
 * Input: the client's base64 response. Whatever decodes must encode
 * back to exactly the input (strict base64 has one spelling per
 * value). The decoded bytes go through sasl_plain_parse, and the raw
 * input too (a PLAIN message may hold any bytes); fields of a parsed
 * message are NUL-free, within SASL_MAX_FIELD, and authcid and passwd
 * are not empty.
 *
 * SECURITY: test code only.
 */
#include "config.h"

#include "fuzz.h"

#include "sasl.h"

static void check_plain(const struct str *msg)
{
	struct sasl_plain *p = mem_alloc(sizeof(*p));
	const char *error = NULL;

	if (sasl_plain_parse(msg, p, &error)) {
		if (strnlen(p->authzid, sizeof(p->authzid)) > SASL_MAX_FIELD ||
		    strnlen(p->authcid, sizeof(p->authcid)) > SASL_MAX_FIELD ||
		    strnlen(p->passwd, sizeof(p->passwd)) > SASL_MAX_FIELD ||
		    p->authcid[0] == '\0' || p->passwd[0] == '\0')
			abort();
		/* The three fields and two NULs are the whole message. */
		if (strlen(p->authzid) + strlen(p->authcid) +
		    strlen(p->passwd) + 2 != msg->len)
			abort();
	} else if (error == NULL) {
		abort();
	}
	mem_free(p);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_init("fuzz_sasl");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = mem_dup(data, size);
	struct str dec = STR_INIT, enc = STR_INIT, raw = STR_INIT;

	if (sasl_base64_decode(in, size, &dec)) {
		sasl_base64_encode(&enc, dec.data, dec.len);
		if (enc.len != size ||
		    (size > 0 && memcmp(enc.data, in, size) != 0)) {
			fprintf(stderr, "\"%.*s\" decodes, encodes as "
				"\"%s\"\n", (int)size, in, str_c(&enc));
			abort();
		}
		check_plain(&dec);
	}
	str_append_n(&raw, data, size);
	check_plain(&raw);
	str_release(&dec);
	str_release(&enc);
	str_release(&raw);
	mem_free(in);
	return 0;
}
