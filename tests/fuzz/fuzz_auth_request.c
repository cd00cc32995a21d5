/*
 * fuzz_auth_request: libFuzzer target for what auth reads from a front
 * end (auth/auth_request.c and auth_sasl.c): attribute lists read with
 * proto_auth_request_spec, checked by auth_request_parse, and fed to
 * the SASL state machine as auth_server.c does.
 *
 * Input: what a front end sends on one connection, read through lio
 * from a memfd; up to 16 requests in turn, sharing one SASL state.
 * Checked: a parsed authenticate request has service, mechanism, client
 * address and name within their alphabets (they go into log lines); a
 * continue request has only its response; a VERIFY step has a non-empty,
 * NUL-free user and password no longer than SASL_MAX_FIELD; a challenge
 * is one of the static ones; a failure has a reason; log text made with
 * auth_log_safe is printable ASCII.
 *
 * SECURITY: test code only.
 */
#include "config.h"

#include "fuzz.h"

#include <ctype.h>

#include "attr.h"
#include "auth.h"
#include "lio.h"
#include "proto.h"
#include "sasl.h"

static char *mechs[] = { "PLAIN", "LOGIN", NULL };

/* Non-empty, printable, no space, no 8-bit: fit for a log line. */
static void check_token(const char *s, size_t max)
{
	size_t len = strlen(s);

	if (len == 0 || len > max)
		abort();
	for (; *s != '\0'; s++)
		if (!isgraph((unsigned char)*s))
			abort();
}

static void check_request(const struct attr_list *list,
			  const struct auth_request *req)
{
	if (req->kind == AUTH_REQ_CONTINUE) {
		if (req->response == NULL || list->count != 2)
			abort();
		return;
	}
	check_token(req->service, 32);
	check_token(req->mechanism, 32);
	check_token(req->client_addr, 64);
	check_token(req->client_name, 255);
}

static void check_field(const struct str *s)
{
	if (s->len == 0 || s->len > SASL_MAX_FIELD ||
	    memchr(s->data, '\0', s->len) != NULL ||
	    strlen(str_c(s)) != s->len)
		abort();
}

static void check_step(const struct auth_step *step)
{
	struct str safe = STR_INIT;

	switch (step->kind) {
	case AUTH_STEP_VERIFY:
		check_field(&step->user);
		check_field(&step->password);
		auth_log_safe(&safe, str_c(&step->user), 256);
		for (size_t i = 0; i < safe.len; i++)
			if (!isprint((unsigned char)safe.data[i]))
				abort();
		break;
	case AUTH_STEP_CHALLENGE:
		if (step->challenge == NULL)
			abort();
		break;
	case AUTH_STEP_FAIL:
	case AUTH_STEP_CANCEL:
		if (step->reason == NULL || step->password.len != 0)
			abort();
		break;
	}
	str_release(&safe);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_init("fuzz_auth_request");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lio *lio = lio_create(fuzz_fd(data, size), 0);
	struct attr_list list = ATTR_LIST_INIT;
	struct auth_sasl sasl = { AUTH_SASL_IDLE, AUTH_MECH_NONE, STR_INIT };
	struct auth_step step = AUTH_STEP_INIT;
	struct auth_request req;
	const char *error;

	for (int n = 0; n < 16; n++) {
		error = NULL;
		if (attr_read(lio, &list, proto_auth_request_spec, &error) !=
		    LIO_OK)
			break;
		if (!auth_request_parse(&list, &req, &error)) {
			if (error == NULL)
				abort();
			continue;
		}
		check_request(&list, &req);
		if (req.kind == AUTH_REQ_AUTHENTICATE)
			auth_sasl_start(&sasl, auth_mech_find(req.mechanism,
							      mechs),
					req.response, &step);
		else if (!auth_sasl_continue(&sasl, req.response, &step))
			continue;
		check_step(&step);
		auth_step_clear(&step);
	}
	auth_step_clear(&step);
	auth_sasl_reset(&sasl);
	attr_list_clear(&list);
	lio_free(&lio);
	return 0;
}
