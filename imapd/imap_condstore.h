#ifndef IMAPD_IMAP_CONDSTORE_H
#define IMAPD_IMAP_CONDSTORE_H

#include <stdbool.h>
#include <stdint.h>

#include "imap_parse.h"
#include "imap_seqset.h"

/* The parameters CONDSTORE and QRESYNC (RFC 7162) add to commands:
 *
 *	FETCH set items (CHANGEDSINCE n [VANISHED])
 *	STORE set (UNCHANGEDSINCE n) flags
 *	SELECT/EXAMINE name (CONDSTORE)
 *	SELECT/EXAMINE name (QRESYNC (uidvalidity modseq [known-uids]
 *	                              [(known-seqs known-uids)]))
 *
 * Mod-sequences are 63-bit (RFC 7162 mod-sequence-value); CHANGEDSINCE
 * 0 and UNCHANGEDSINCE 0 are taken (the latter fails every message, as
 * the RFC says). Known UIDs and the sequence match data are sequence
 * sets without '*' or '$' (normalised: the two sets of the sequence
 * match data pair up in ascending order). Names are matched in any
 * case; a modifier given twice, or one this file does not know, is
 * refused. */

struct imap_fetch_mods {
	bool changedsince_set;
	uint64_t changedsince;
	bool vanished;
};

/* FETCH's modifier list (the argument after the items). */
bool imap_fetch_mods_parse(const struct imap_arg *arg,
			   struct imap_fetch_mods *mods_r,
			   const char **error_r);

/* STORE's modifier list: UNCHANGEDSINCE into *unchangedsince_r. */
bool imap_store_mods_parse(const struct imap_arg *arg,
			   uint64_t *unchangedsince_r, const char **error_r);

struct imap_select_params {
	bool condstore;
	bool qresync;
	uint32_t uidvalidity;
	uint64_t modseq;
	struct imap_seqset known_uids;	/* empty if not given */
	bool has_known_uids;
	/* seq-match-data: message numbers and the UIDs they had, in the
	 * same ascending order. */
	struct imap_seqset match_seqs, match_uids;
	bool has_match;
};

#define IMAP_SELECT_PARAMS_INIT { false, false, 0, 0, IMAP_SEQSET_INIT, \
	false, IMAP_SEQSET_INIT, IMAP_SEQSET_INIT, false }

/* SELECT/EXAMINE's parameter list (after the mailbox name). */
bool imap_select_params_parse(const struct imap_arg *arg,
			      struct imap_select_params *params,
			      const char **error_r);
void imap_select_params_release(struct imap_select_params *params);

/* SEARCH MODSEQ's entry name "/flags/<flag>" and type priv, shared or
 * all (RFC 7162 3.1.5). */
bool imap_modseq_entry_valid(const char *name, const char *type);

#endif
