/*
 * imap_condstore: the CONDSTORE and QRESYNC parameters of FETCH, STORE
 * and SELECT/EXAMINE (RFC 7162), from the parser's argument tree
 * (imap_condstore.h).
 *
 * SECURITY: the arguments are the client's: numbers are range-checked
 * (63 bits for mod-sequences), sets go through imap_seqset_parse with
 * its range limit, and nothing here allocates more than the sets.
 */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "imap_condstore.h"
#include "imap_flags.h"

/* A mod-sequence: 0..2^63-1 (number64). */
static bool imap_modseq_arg(const struct imap_arg *arg, uint64_t *r)
{
	const char *s;

	return imap_arg_get_atom(arg, &s) && imap_parse_number64(s, r);
}

bool imap_fetch_mods_parse(const struct imap_arg *arg,
			   struct imap_fetch_mods *mods_r,
			   const char **error_r)
{
	const struct imap_arg *list;
	unsigned int count;

	memset(mods_r, 0, sizeof(*mods_r));
	if (!imap_arg_get_list(arg, &list, &count) || count == 0) {
		*error_r = "Invalid FETCH modifiers.";
		return false;
	}
	for (unsigned int i = 0; i < count; i++) {
		if (imap_arg_atom_equals(&list[i], "CHANGEDSINCE") &&
		    !mods_r->changedsince_set) {
			if (i + 1 >= count ||
			    !imap_modseq_arg(&list[i + 1],
					     &mods_r->changedsince)) {
				*error_r = "Invalid CHANGEDSINCE modseq.";
				return false;
			}
			mods_r->changedsince_set = true;
			i++;
		} else if (imap_arg_atom_equals(&list[i], "VANISHED") &&
			   !mods_r->vanished) {
			mods_r->vanished = true;
		} else {
			*error_r = "Unknown FETCH modifier.";
			return false;
		}
	}
	/* RFC 7162 3.2.6: VANISHED only with CHANGEDSINCE. */
	if (mods_r->vanished && !mods_r->changedsince_set) {
		*error_r = "VANISHED used without CHANGEDSINCE.";
		return false;
	}
	return true;
}

bool imap_store_mods_parse(const struct imap_arg *arg,
			   uint64_t *unchangedsince_r, const char **error_r)
{
	const struct imap_arg *list;
	unsigned int count;

	*unchangedsince_r = UINT64_MAX;
	if (!imap_arg_get_list(arg, &list, &count) || count != 2 ||
	    !imap_arg_atom_equals(&list[0], "UNCHANGEDSINCE")) {
		*error_r = "Invalid STORE modifiers.";
		return false;
	}
	if (!imap_modseq_arg(&list[1], unchangedsince_r)) {
		*unchangedsince_r = UINT64_MAX;
		*error_r = "Invalid UNCHANGEDSINCE modseq.";
		return false;
	}
	return true;
}

/* A set of message numbers or UIDs without '*' and '$'. */
static bool imap_known_set(const struct imap_arg *arg,
			   struct imap_seqset *set, const char **error_r)
{
	const char *s;

	if (!imap_arg_get_atom(arg, &s) ||
	    !imap_seqset_parse(set, s, 0, 0, error_r))
		return false;
	if (set->star) {
		*error_r = "'*' is not allowed in known UIDs.";
		return false;
	}
	imap_seqset_normalise(set);
	return true;
}

/* QRESYNC's list: (uidvalidity modseq [known-uids [seq-match-data]]). */
static bool imap_qresync_parse(const struct imap_arg *arg,
			       struct imap_select_params *p,
			       const char **error_r)
{
	const struct imap_arg *list, *match;
	unsigned int count, mcount;
	const char *s;

	if (!imap_arg_get_list(arg, &list, &count) || count < 2 ||
	    count > 4 || !imap_arg_get_atom(&list[0], &s) ||
	    !imap_parse_nz_number(s, &p->uidvalidity) ||
	    !imap_modseq_arg(&list[1], &p->modseq) || p->modseq == 0) {
		*error_r = "Invalid QRESYNC parameters.";
		return false;
	}
	p->qresync = true;
	if (count >= 3 && list[2].type != IMAP_ARG_LIST) {
		if (!imap_known_set(&list[2], &p->known_uids, error_r))
			return false;
		p->has_known_uids = true;
	}
	if (count == 4 && !p->has_known_uids) {
		*error_r = "Invalid QRESYNC parameters.";
		return false;
	}
	if (count >= 3 && list[count - 1].type == IMAP_ARG_LIST) {
		if (!imap_arg_get_list(&list[count - 1], &match, &mcount) ||
		    mcount != 2 ||
		    !imap_known_set(&match[0], &p->match_seqs, error_r) ||
		    !imap_known_set(&match[1], &p->match_uids, error_r)) {
			if (mcount != 2)
				*error_r = "Invalid QRESYNC sequence match "
					   "data.";
			return false;
		}
		if (imap_seqset_count(&p->match_seqs) !=
		    imap_seqset_count(&p->match_uids)) {
			*error_r = "QRESYNC sequence match data sets differ "
				   "in size.";
			return false;
		}
		p->has_match = true;
	}
	return true;
}

bool imap_select_params_parse(const struct imap_arg *arg,
			      struct imap_select_params *p,
			      const char **error_r)
{
	const struct imap_arg *list;
	unsigned int count;

	if (!imap_arg_get_list(arg, &list, &count) || count == 0) {
		*error_r = "Invalid SELECT parameters.";
		return false;
	}
	for (unsigned int i = 0; i < count; i++) {
		if (imap_arg_atom_equals(&list[i], "CONDSTORE") &&
		    !p->condstore) {
			p->condstore = true;
		} else if (imap_arg_atom_equals(&list[i], "QRESYNC") &&
			   !p->qresync && i + 1 < count) {
			if (!imap_qresync_parse(&list[++i], p, error_r))
				return false;
		} else {
			*error_r = "Unknown SELECT parameter.";
			return false;
		}
	}
	return true;
}

void imap_select_params_release(struct imap_select_params *p)
{
	imap_seqset_release(&p->known_uids);
	imap_seqset_release(&p->match_seqs);
	imap_seqset_release(&p->match_uids);
}

bool imap_modseq_entry_valid(const char *name, const char *type)
{
	if (strncasecmp(name, "/flags/", 7) != 0)
		return false;
	name += 7;
	/* A system flag, a flag extension, or a keyword. */
	if (!imap_flags_keyword_valid(*name == '\\' ? name + 1 : name))
		return false;
	return strcasecmp(type, "priv") == 0 ||
	       strcasecmp(type, "shared") == 0 ||
	       strcasecmp(type, "all") == 0;
}
