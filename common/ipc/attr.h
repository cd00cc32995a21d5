#ifndef COMMON_ATTR_H
#define COMMON_ATTR_H

#include <stdbool.h>
#include <stddef.h>

#include "lio.h"

/* The internal request protocol: lists of name/value attributes over a
 * Unix socket. On the wire each attribute is one line "name=value\n";
 * names are [a-z0-9_]+, values are percent-encoded (%, CR, LF, NUL,
 * control characters and bytes >= 0x7f become %XX); an empty line ends
 * the list. A connection starts with the server announcing its protocol
 * ("protocol=NAME\n\n"), which the client checks.
 *
 * Strict mode: the reader is given the attributes it expects; a missing
 * required attribute or any attribute not listed is an error. Every
 * protocol, request and attribute name lives in proto.h. */

#define ATTR_MAX_LINE 65536	/* per attribute, encoded */
#define ATTR_MAX_COUNT 1024	/* per list */

struct attr {
	char *name;
	char *value;		/* decoded; may be "" */
};

struct attr_list {
	struct attr *attrs;
	size_t count;
	size_t cap;
};

#define ATTR_LIST_INIT { NULL, 0, 0 }

void attr_add(struct attr_list *list, const char *name, const char *value);
void attr_addf(struct attr_list *list, const char *name,
	       const char *fmt, ...) MSG_PRINTF(3, 4);
void attr_add_long(struct attr_list *list, const char *name, long value);
/* The first value of name, or NULL. */
const char *attr_get(const struct attr_list *list, const char *name);
/* Parse a numeric attribute strictly; false if missing or malformed. */
bool attr_get_long(const struct attr_list *list, const char *name,
		   long *value_r);
void attr_list_clear(struct attr_list *list);

/* What a strict reader accepts. A list of these ends with { NULL }. */
struct attr_spec {
	const char *name;
	bool required;
	bool repeat;		/* may occur more than once */
};

/* Queue the encoded list (with its terminating blank line) on lio's
 * output; call lio_flush to send. */
void attr_write(struct lio *lio, const struct attr_list *list);
/* Read one list (cleared first). spec NULL accepts anything. Returns
 * LIO_OK, LIO_EOF (clean close before the first line), or an error with
 * a static message in *error_r. A protocol violation returns LIO_ERROR. */
enum lio_status attr_read(struct lio *lio, struct attr_list *list,
			  const struct attr_spec *spec, const char **error_r);

/* Handshake: the server sends its protocol name; the client verifies it. */
void attr_server_hello(struct lio *lio, const char *protocol);
bool attr_client_hello(struct lio *lio, const char *protocol,
		       const char **error_r);

/* Encoding used on the wire, exposed for tests and for queue records. */
void attr_encode(struct str *out, const char *value, size_t len);
/* Decode in place; false on a malformed escape. */
bool attr_decode(struct str *value);

#endif
