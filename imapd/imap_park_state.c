/*
 * imap_park_state: the encoding of a parked IMAP session's state
 * (imap_park_state.h).
 *
 *	correo-park 1
 *	mailbox INBOX
 *	uids 1:40,42
 *	...
 *	end
 *
 * Values are percent-encoded (every byte outside '!'..'~', and '%'), so
 * a line is one key, one space and one value whatever a mailbox name or
 * the read-ahead input holds.
 *
 * SECURITY: a state is written by one session of a user and read by the
 * next imapd of the same user (through that user's park process), so it
 * carries nothing another user could make use of; still, it is parsed
 * as untrusted input: lengths and numbers are checked, unknown or
 * repeated keys and anything after "end" are refused.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "mem.h"

#include "imap_park_state.h"

#define IMAP_PARK_MAGIC "correo-park 1"
/* A view may have as many ranges as a folder has messages. */
#define IMAP_PARK_RANGES_MAX (1u << 24)

void imap_park_state_init(struct imap_park_state *st)
{
	memset(st, 0, sizeof(*st));
}

void imap_park_state_release(struct imap_park_state *st)
{
	mem_free(st->mailbox);
	mem_free(st->idle_tag);
	mem_free(st->quota);
	mem_free(st->addr);
	imap_seqset_release(&st->uids);
	imap_seqset_release(&st->recent);
	imap_seqset_release(&st->saved);
	str_release(&st->input);
	memset(st, 0, sizeof(*st));
}

static void imap_park_put(struct str *out, const char *key, const char *value,
			  size_t len)
{
	static const char hex[] = "0123456789ABCDEF";

	str_append(out, key);
	str_append_c(out, ' ');
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)value[i];

		if (c <= ' ' || c > '~' || c == '%') {
			str_append_c(out, '%');
			str_append_c(out, hex[c >> 4]);
			str_append_c(out, hex[c & 15]);
		} else {
			str_append_c(out, (char)c);
		}
	}
	str_append_c(out, '\n');
}

static void imap_park_put_str(struct str *out, const char *key,
			      const char *value)
{
	if (value != NULL)
		imap_park_put(out, key, value, strlen(value));
}

static void imap_park_put_u64(struct str *out, const char *key, uint64_t v)
{
	str_printf(out, "%s %llu\n", key, (unsigned long long)v);
}

static void imap_park_put_set(struct str *out, const char *key,
			      const struct imap_seqset *set)
{
	struct str text = STR_INIT;

	imap_seqset_format(set, &text);
	imap_park_put(out, key, text.data == NULL ? "" : text.data, text.len);
	str_release(&text);
}

void imap_park_state_write(const struct imap_park_state *st, struct str *out)
{
	str_append(out, IMAP_PARK_MAGIC "\n");
	imap_park_put_str(out, "mailbox", st->mailbox);
	if (st->mailbox != NULL) {
		imap_park_put_u64(out, "uidvalidity", st->uidvalidity);
		imap_park_put_set(out, "uids", &st->uids);
		imap_park_put_set(out, "recent", &st->recent);
		imap_park_put_u64(out, "modseq", st->modseq);
		imap_park_put_u64(out, "keywords", st->keywords);
	}
	if (st->saved.count > 0)
		imap_park_put_set(out, "saved", &st->saved);
	imap_park_put_u64(out, "flags", st->flags);
	imap_park_put_str(out, "idle", st->idle_tag);
	imap_park_put_str(out, "quota", st->quota);
	imap_park_put_str(out, "addr", st->addr);
	imap_park_put_u64(out, "in", st->in_bytes);
	imap_park_put_u64(out, "out", st->out_bytes);
	imap_park_put_u64(out, "deleted", st->deleted);
	imap_park_put_u64(out, "expunged", st->expunged);
	if (st->input.len > 0)
		imap_park_put(out, "input", st->input.data, st->input.len);
	str_append(out, "end\n");
}

static int imap_park_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode a value (between line and end) into out; false if malformed. */
static bool imap_park_decode(const char *p, const char *end, struct str *out)
{
	str_clear(out);
	str_reserve(out, (size_t)(end - p));
	while (p < end) {
		unsigned char c = (unsigned char)*p;

		if (c <= ' ' || c > '~')
			return false;
		if (c == '%') {
			int hi, lo;

			if (end - p < 3 || (hi = imap_park_hex(p[1])) < 0 ||
			    (lo = imap_park_hex(p[2])) < 0)
				return false;
			c = (unsigned char)(hi << 4 | lo);
			/* Canonical: only what the writer escapes. */
			if (c > ' ' && c <= '~' && c != '%')
				return false;
			p += 3;
		} else {
			p++;
		}
		str_append_c(out, (char)c);
	}
	return true;
}

static bool imap_park_u64(const char *text, uint64_t max, uint64_t *v_r)
{
	uint64_t v = 0;

	if (text[0] == '\0' || (text[0] == '0' && text[1] != '\0'))
		return false;
	for (const char *p = text; *p != '\0'; p++) {
		if (*p < '0' || *p > '9' ||
		    v > (max - (uint64_t)(*p - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	*v_r = v;
	return true;
}

/* A normalised set, written exactly as imap_seqset_format would. */
static bool imap_park_set(const struct str *value, struct imap_seqset *set)
{
	struct str again = STR_INIT;
	const char *error;
	bool ok;

	imap_seqset_clear(set);
	if (value->len == 0)
		return true;
	if (strlen(str_c(value)) != value->len ||
	    !imap_seqset_parse(set, str_c(value), 0, IMAP_PARK_RANGES_MAX,
			       &error) || set->star)
		return false;
	imap_seqset_normalise(set);
	imap_seqset_format(set, &again);
	ok = str_equals(&again, str_c(value));
	str_release(&again);
	return ok;
}

/* RFC 3501 tag: ASTRING-CHARs but '+'. */
static bool imap_park_tag_ok(const struct str *v)
{
	if (v->len == 0 || v->len > 256)
		return false;
	for (size_t i = 0; i < v->len; i++) {
		unsigned char c = (unsigned char)v->data[i];

		if (c <= ' ' || c > '~' || strchr("(){%*\"\\+", c) != NULL)
			return false;
	}
	return true;
}

static bool imap_park_text_ok(const struct str *v)
{
	return strlen(str_c(v)) == v->len;
}

enum imap_park_key {
	K_MAILBOX, K_UIDVALIDITY, K_UIDS, K_RECENT, K_MODSEQ, K_KEYWORDS,
	K_SAVED, K_FLAGS, K_IDLE, K_QUOTA, K_ADDR, K_IN, K_OUT, K_DELETED,
	K_EXPUNGED, K_INPUT, K_COUNT
};

static const char *const imap_park_keys[K_COUNT] = {
	"mailbox", "uidvalidity", "uids", "recent", "modseq", "keywords",
	"saved", "flags", "idle", "quota", "addr", "in", "out", "deleted",
	"expunged", "input",
};

/* One "key value" line into st; false if it is not a good one. */
static bool imap_park_line(struct imap_park_state *st, enum imap_park_key k,
			   const struct str *v)
{
	uint64_t n = 0;

	switch (k) {
	case K_MAILBOX:
		if (v->len == 0 || !imap_park_text_ok(v))
			return false;
		st->mailbox = mem_strdup(str_c(v));
		return true;
	case K_IDLE:
		if (!imap_park_tag_ok(v))
			return false;
		st->idle_tag = mem_strdup(str_c(v));
		return true;
	case K_QUOTA:
	case K_ADDR:
		if (!imap_park_text_ok(v))
			return false;
		*(k == K_QUOTA ? &st->quota : &st->addr) =
			mem_strdup(str_c(v));
		return true;
	case K_INPUT:
		str_append_n(&st->input, v->data, v->len);
		return v->len > 0;
	case K_UIDS:
		return imap_park_set(v, &st->uids);
	case K_RECENT:
		return imap_park_set(v, &st->recent);
	case K_SAVED:
		return imap_park_set(v, &st->saved);
	default:
		break;
	}
	if (!imap_park_text_ok(v))
		return false;
	switch (k) {
	case K_UIDVALIDITY:
		if (!imap_park_u64(str_c(v), UINT32_MAX, &n) || n == 0)
			return false;
		st->uidvalidity = (uint32_t)n;
		return true;
	case K_MODSEQ:
		return imap_park_u64(str_c(v), INT64_MAX, &st->modseq);
	case K_KEYWORDS:
		if (!imap_park_u64(str_c(v), 64, &n))
			return false;
		st->keywords = (unsigned)n;
		return true;
	case K_FLAGS:
		if (!imap_park_u64(str_c(v), IMAP_PARK_FLAGS_ALL, &n))
			return false;
		st->flags = (unsigned)n;
		return true;
	case K_IN:
		return imap_park_u64(str_c(v), UINT64_MAX, &st->in_bytes);
	case K_OUT:
		return imap_park_u64(str_c(v), UINT64_MAX, &st->out_bytes);
	case K_DELETED:
	case K_EXPUNGED:
		if (!imap_park_u64(str_c(v), UINT32_MAX, &n))
			return false;
		*(k == K_DELETED ? &st->deleted : &st->expunged) =
			(unsigned)n;
		return true;
	default:
		return false;
	}
}

/* Cross-field rules: a view needs its folder's numbers, and the
 * \Recent ones are in the view. */
static bool imap_park_consistent(const struct imap_park_state *st,
				 const bool seen[K_COUNT])
{
	bool sel = st->mailbox != NULL;

	if (!seen[K_FLAGS] || !seen[K_IN] || !seen[K_OUT] ||
	    !seen[K_DELETED] || !seen[K_EXPUNGED])
		return false;
	if (sel != seen[K_UIDVALIDITY] || sel != seen[K_UIDS] ||
	    sel != seen[K_RECENT] || sel != seen[K_MODSEQ] ||
	    sel != seen[K_KEYWORDS])
		return false;
	if (!sel && seen[K_SAVED])
		return false;
	if (!sel && (st->flags & IMAP_PARK_READONLY))
		return false;
	/* Both normalised: each recent range inside one view range. */
	for (unsigned r = 0, u = 0; r < st->recent.count; r++) {
		while (u < st->uids.count &&
		       st->uids.ranges[u].hi < st->recent.ranges[r].lo)
			u++;
		if (u == st->uids.count ||
		    st->uids.ranges[u].lo > st->recent.ranges[r].lo ||
		    st->uids.ranges[u].hi < st->recent.ranges[r].hi)
			return false;
	}
	return true;
}

bool imap_park_state_parse(const char *data, size_t len,
			   struct imap_park_state *st, const char **error_r)
{
	const char *p = data, *end = data + len;
	bool seen[K_COUNT] = { false }, ended = false;
	struct str value = STR_INIT;
	size_t magic = strlen(IMAP_PARK_MAGIC "\n");

	imap_park_state_init(st);
	*error_r = "malformed state";
	if (len > IMAP_PARK_STATE_MAX) {
		*error_r = "state too long";
		goto fail;
	}
	if (len < magic || memcmp(data, IMAP_PARK_MAGIC "\n", magic) != 0) {
		*error_r = "not a park state (version)";
		goto fail;
	}
	for (p += magic; p < end && !ended;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *sp;
		unsigned k;

		if (nl == NULL) {
			*error_r = "truncated state";
			goto fail;
		}
		if (nl - p == 3 && memcmp(p, "end", 3) == 0) {
			ended = true;
			p = nl + 1;
			break;
		}
		sp = memchr(p, ' ', (size_t)(nl - p));
		if (sp == NULL)
			goto fail;
		for (k = 0; k < K_COUNT; k++)
			if (strlen(imap_park_keys[k]) == (size_t)(sp - p) &&
			    memcmp(imap_park_keys[k], p, (size_t)(sp - p)) == 0)
				break;
		if (k == K_COUNT) {
			*error_r = "unknown key in state";
			goto fail;
		}
		if (seen[k]) {
			*error_r = "repeated key in state";
			goto fail;
		}
		seen[k] = true;
		if (!imap_park_decode(sp + 1, nl, &value) ||
		    !imap_park_line(st, (enum imap_park_key)k, &value)) {
			*error_r = "bad value in state";
			goto fail;
		}
		p = nl + 1;
	}
	if (!ended) {
		*error_r = "truncated state";
		goto fail;
	}
	if (p != end) {
		*error_r = "data after the end of the state";
		goto fail;
	}
	if (!imap_park_consistent(st, seen)) {
		*error_r = "inconsistent state";
		goto fail;
	}
	str_release(&value);
	return true;
fail:
	str_release(&value);
	imap_park_state_release(st);
	return false;
}
