/*
 * auth_sasl: the server side of one SASL exchange, as a state machine
 * that turns the client's responses into steps (send a challenge, verify
 * these credentials, fail).
 *
 * Interface (auth.h): auth_mech_find, auth_mech_name, auth_sasl_start,
 * auth_sasl_continue, auth_sasl_reset, auth_step_clear.
 *
 * Mechanisms: PLAIN (RFC 4616): one response "authzid NUL authcid NUL
 * passwd"; an empty challenge first if the client sent no initial
 * response. An authzid other than the authcid is refused: nobody may log
 * in as someone else. LOGIN (draft-murchison-sasl-login): "Username:"
 * then "Password:" challenges; an initial response is the user name.
 * CRAM-MD5 and other challenge-response mechanisms need the plain
 * password on the server, which correo never stores, so they do not
 * exist here.
 *
 * Responses arrive base64 as the client sent them; "=" is an empty
 * initial response (RFC 4954) and "*" cancels (RFC 4954, 5034, 3501).
 *
 * SECURITY: everything here is client data, relayed by a front end that
 * may itself be compromised. Sizes are bounded (SASL_MAX_RESPONSE,
 * SASL_MAX_FIELD), base64 is strict, user names and passwords may not
 * hold NUL bytes, and password copies are wiped when a step is cleared.
 */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "auth.h"
#include "proto.h"
#include "sasl.h"

/* base64 of "Username:" and "Password:" (what clients expect). */
#define AUTH_LOGIN_USER_CHALLENGE "VXNlcm5hbWU6"
#define AUTH_LOGIN_PASS_CHALLENGE "UGFzc3dvcmQ6"

static const char *const auth_mech_names[] = {
	[AUTH_MECH_NONE] = "",
	[AUTH_MECH_PLAIN] = "PLAIN",
	[AUTH_MECH_LOGIN] = "LOGIN",
};

const char *auth_mech_name(enum auth_mech mech)
{
	return auth_mech_names[mech];
}

enum auth_mech auth_mech_find(const char *name, char *const *enabled)
{
	enum auth_mech mech = AUTH_MECH_NONE;

	if (strcasecmp(name, "PLAIN") == 0)
		mech = AUTH_MECH_PLAIN;
	else if (strcasecmp(name, "LOGIN") == 0)
		mech = AUTH_MECH_LOGIN;
	if (mech == AUTH_MECH_NONE)
		return mech;
	for (; *enabled != NULL; enabled++) {
		if (strcasecmp(*enabled, name) == 0)
			return mech;
	}
	return AUTH_MECH_NONE;
}

void auth_step_clear(struct auth_step *step)
{
	if (step->password.data != NULL)
		explicit_bzero(step->password.data, step->password.cap);
	str_release(&step->password);
	str_release(&step->user);
	step->kind = AUTH_STEP_FAIL;
	step->challenge = NULL;
	step->reason = NULL;
}

void auth_sasl_reset(struct auth_sasl *s)
{
	if (s->user.data != NULL)
		explicit_bzero(s->user.data, s->user.cap);
	str_release(&s->user);
	s->state = AUTH_SASL_IDLE;
	s->mech = AUTH_MECH_NONE;
}

static void auth_step_fail(struct auth_sasl *s, struct auth_step *step,
			   const char *reason)
{
	step->kind = AUTH_STEP_FAIL;
	step->reason = reason;
	auth_sasl_reset(s);
}

static void auth_step_challenge(struct auth_sasl *s, struct auth_step *step,
				enum auth_sasl_state next,
				const char *challenge)
{
	step->kind = AUTH_STEP_CHALLENGE;
	step->challenge = challenge;
	s->state = next;
}

/* Decode a response; "=" (only allowed as an initial response) is
 * empty. False for malformed or over-long input. */
static bool auth_decode(const char *response, bool initial, struct str *out)
{
	size_t len = strlen(response);

	if (initial && strcmp(response, "=") == 0) {
		str_clear(out);
		return true;
	}
	return len <= SASL_MAX_RESPONSE &&
	       sasl_base64_decode(response, len, out);
}

/* A user name or password from LOGIN: no NUL, bounded, not empty. */
static bool auth_field_ok(const struct str *field)
{
	return field->len > 0 && field->len <= SASL_MAX_FIELD &&
	       memchr(field->data, '\0', field->len) == NULL;
}

static void auth_plain_step(struct auth_sasl *s, const struct str *msg,
			    struct auth_step *step)
{
	struct sasl_plain plain;
	const char *error;

	if (!sasl_plain_parse(msg, &plain, &error)) {
		auth_step_fail(s, step, "malformed PLAIN response");
	} else if (plain.authzid[0] != '\0' &&
		   strcmp(plain.authzid, plain.authcid) != 0) {
		str_set(&step->user, plain.authcid);
		auth_step_fail(s, step, "authorization identity refused");
	} else {
		step->kind = AUTH_STEP_VERIFY;
		str_set(&step->user, plain.authcid);
		str_set(&step->password, plain.passwd);
		auth_sasl_reset(s);
	}
	explicit_bzero(&plain, sizeof(plain));
}

static void auth_login_step(struct auth_sasl *s, struct str *msg,
			    struct auth_step *step)
{
	if (!auth_field_ok(msg)) {
		if (s->state == AUTH_SASL_LOGIN_PASS)
			str_set(&step->user, str_c(&s->user));
		auth_step_fail(s, step, "malformed LOGIN response");
	} else if (s->state == AUTH_SASL_LOGIN_USER) {
		str_set(&s->user, str_c(msg));
		auth_step_challenge(s, step, AUTH_SASL_LOGIN_PASS,
				    AUTH_LOGIN_PASS_CHALLENGE);
	} else {
		step->kind = AUTH_STEP_VERIFY;
		str_set(&step->user, str_c(&s->user));
		str_append_n(&step->password, msg->data, msg->len);
		auth_sasl_reset(s);
	}
}

/* Feed one decoded response to the state machine. */
static void auth_sasl_feed(struct auth_sasl *s, struct str *msg,
			   struct auth_step *step)
{
	if (s->state == AUTH_SASL_PLAIN)
		auth_plain_step(s, msg, step);
	else
		auth_login_step(s, msg, step);
}

static void auth_sasl_respond(struct auth_sasl *s, const char *response,
			      bool initial, struct auth_step *step)
{
	struct str msg = STR_INIT;

	auth_step_clear(step);
	if (!initial && strcmp(response, "*") == 0) {
		step->kind = AUTH_STEP_CANCEL;
		step->reason = "authentication cancelled";
		auth_sasl_reset(s);
	} else if (!auth_decode(response, initial, &msg)) {
		if (s->state == AUTH_SASL_LOGIN_PASS)
			str_set(&step->user, str_c(&s->user));
		auth_step_fail(s, step, "malformed base64 response");
	} else {
		auth_sasl_feed(s, &msg, step);
	}
	if (msg.data != NULL)
		explicit_bzero(msg.data, msg.cap);
	str_release(&msg);
}

void auth_sasl_start(struct auth_sasl *s, enum auth_mech mech,
		     const char *response, struct auth_step *step)
{
	auth_sasl_reset(s);
	auth_step_clear(step);
	s->mech = mech;
	if (mech == AUTH_MECH_PLAIN) {
		s->state = AUTH_SASL_PLAIN;
		if (response == NULL)
			auth_step_challenge(s, step, AUTH_SASL_PLAIN, "");
		else
			auth_sasl_respond(s, response, true, step);
	} else if (mech == AUTH_MECH_LOGIN) {
		s->state = AUTH_SASL_LOGIN_USER;
		if (response == NULL || strcmp(response, "=") == 0)
			auth_step_challenge(s, step, AUTH_SASL_LOGIN_USER,
					    AUTH_LOGIN_USER_CHALLENGE);
		else
			auth_sasl_respond(s, response, true, step);
	} else {
		auth_step_fail(s, step, "unsupported mechanism");
	}
}

bool auth_sasl_continue(struct auth_sasl *s, const char *response,
			struct auth_step *step)
{
	if (s->state == AUTH_SASL_IDLE)
		return false;
	auth_sasl_respond(s, response, false, step);
	return true;
}
