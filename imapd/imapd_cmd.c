/*
 * imapd_cmd: command dispatch of the IMAP mail process (imapd.h) and the
 * commands that need no mailbox: CAPABILITY, NOOP, LOGOUT, ENABLE, ID,
 * NAMESPACE, CHECK, plus the refusals of pre-authentication commands.
 *
 * Each command names the states it is valid in; in the wrong state it is
 * answered BAD, as RFC 3501 asks. After every command the selected
 * mailbox is synchronised, with untagged EXPUNGE held back while a
 * command by sequence number (FETCH, STORE, SEARCH) is answered.
 *
 * SECURITY: runs as the mailbox owner; arguments come from the parser
 * and are checked by each command.
 */
#include "config.h"

#include <stdarg.h>
#include <string.h>
#include <strings.h>

#include "imapd.h"

#define CAPS_COMMON "IMAP4rev1 IMAP4rev2 LITERAL+ ENABLE IDLE UIDPLUS MOVE UNSELECT " \
	"NAMESPACE ID CHILDREN SPECIAL-USE SEARCHRES ESEARCH BINARY " \
	"MULTIAPPEND STATUS=SIZE LIST-EXTENDED LIST-STATUS CONDSTORE QRESYNC " \
	"QUOTA QUOTA=RES-STORAGE QUOTA=RES-MESSAGE " \
	"SORT SORT=DISPLAY ESORT THREAD=ORDEREDSUBJECT THREAD=REFERENCES WITHIN " \
	"CONTEXT=SEARCH CONTEXT=SORT CATENATE NOTIFY COMPRESS=DEFLATE UTF8=ACCEPT OBJECTID PREVIEW SAVEDATE"

void imapd_capability(struct imapd *s, struct str *out)
{
	str_printf(out, "%s APPENDLIMIT=%u", CAPS_COMMON,
		   (unsigned)IMAPD_APPEND_MAX);
}

void imapd_tagged(struct imapd *s, const char *tag, const char *fmt, ...)
{
	va_list ap;

	str_clear(&s->tagged);
	str_printf(&s->tagged, "%s ", tag);
	va_start(ap, fmt);
	str_vprintf(&s->tagged, fmt, ap);
	va_end(ap);
	str_append(&s->tagged, "\r\n");
}

/* "tag OK text" becomes "tag OK [HIGHESTMODSEQ n] text". */
static void imapd_tagged_modseq(struct imapd *s, const char *tag)
{
	struct str text = STR_INIT;
	size_t skip = strlen(tag) + 4;

	if (s->tagged.len < skip ||
	    strncmp(s->tagged.data + skip - 3, "OK ", 3) != 0)
		return;
	str_printf(&text, "%s OK [HIGHESTMODSEQ %llu] ", tag,
		   (unsigned long long)imapd_modseq(s->view_modseq));
	str_append_n(&text, s->tagged.data + skip, s->tagged.len - skip);
	str_set(&s->tagged, str_c(&text));
	str_release(&text);
}

static void cmd_capability(struct imapd *s, const struct imap_cmd *cmd)
{
	struct str caps = STR_INIT;

	imapd_capability(s, &caps);
	imapd_printf(s, "* CAPABILITY %s\r\n", str_c(&caps));
	imapd_tagged(s, cmd->tag, "OK Capability completed.");
	str_release(&caps);
}

static void cmd_noop(struct imapd *s, const struct imap_cmd *cmd)
{
	imapd_tagged(s, cmd->tag, "OK %s completed.", cmd->name);
}

static void cmd_logout(struct imapd *s, const struct imap_cmd *cmd)
{
	imapd_printf(s, "* BYE Logging out\r\n");
	imapd_tagged(s, cmd->tag, "OK Logout completed.");
	s->logout = true;
}

/* ENABLE (RFC 5161): IMAP4rev2 (RFC 9051) switches the session to its
 * rules (UTF-8 mailbox names, no \Recent, ESEARCH answers to SEARCH);
 * UTF8=ACCEPT (RFC 6855) to UTF-8 in quoted strings and mailbox names
 * both ways, APPEND's UTF8 data item, and no SEARCH CHARSET;
 * CONDSTORE and QRESYNC (RFC 7162; QRESYNC implies CONDSTORE) turn on
 * MODSEQ in FETCH responses and VANISHED instead of EXPUNGE; unknown
 * capabilities are ignored, as RFC 5161 asks. */
static void cmd_enable(struct imapd *s, const struct imap_cmd *cmd)
{
	struct str enabled = STR_INIT;
	const char *name;
	/* "ENABLE QRESYNC CONDSTORE" names both, as if in the other order. */
	bool condstore_before = s->condstore, condstore_named = false;

	if (cmd->nargs == 0) {
		imapd_tagged(s, cmd->tag, "BAD Missing capability.");
		return;
	}
	for (unsigned i = 0; i < cmd->nargs; i++) {
		if (!imap_arg_get_atom(&cmd->args[i], &name)) {
			imapd_tagged(s, cmd->tag, "BAD Invalid arguments.");
			str_release(&enabled);
			return;
		}
		if (strcasecmp(name, "IMAP4rev2") == 0 && !s->rev2) {
			s->rev2 = s->utf8 = true;
			str_append(&enabled, " IMAP4rev2");
		} else if (strcasecmp(name, "UTF8=ACCEPT") == 0 &&
			   !s->utf8_accept) {
			s->utf8_accept = s->utf8 = true;
			str_append(&enabled, " UTF8=ACCEPT");
		} else if (strcasecmp(name, "CONDSTORE") == 0 &&
			   !condstore_before && !condstore_named) {
			imapd_condstore_enable(s);
			str_append(&enabled, " CONDSTORE");
			condstore_named = true;
		} else if (strcasecmp(name, "QRESYNC") == 0 && !s->qresync) {
			imapd_condstore_enable(s);
			s->qresync = true;
			str_append(&enabled, " QRESYNC");
		}
	}
	if (enabled.len > 0)
		imapd_printf(s, "* ENABLED%s\r\n", str_c(&enabled));
	else
		imapd_printf(s, "* ENABLED\r\n");
	imapd_tagged(s, cmd->tag, "OK Enabled.");
	str_release(&enabled);
}

/* COMPRESS DEFLATE (RFC 4978): the OK goes out uncompressed, everything
 * after it compressed both ways (imapd_compress_start, run by the
 * session loop once the tagged reply is written). TLS compression is
 * never on (OpenSSL 3 has it off), so only a second COMPRESS is
 * refused with COMPRESSIONACTIVE. */
static void cmd_compress(struct imapd *s, const struct imap_cmd *cmd)
{
	const char *mech;

	if (cmd->nargs != 1 || !imap_arg_get_atom(&cmd->args[0], &mech)) {
		imapd_tagged(s, cmd->tag, "BAD Invalid COMPRESS arguments.");
		return;
	}
	if (s->zlib != NULL) {
		imapd_tagged(s, cmd->tag, "NO [COMPRESSIONACTIVE] DEFLATE "
			     "active via COMPRESS.");
		return;
	}
	if (strcasecmp(mech, "DEFLATE") != 0) {
		imapd_tagged(s, cmd->tag, "BAD Unknown compression "
			     "mechanism.");
		return;
	}
	imapd_tagged(s, cmd->tag, "OK Begin compression.");
	s->zlib_start = true;
}

/* ID (RFC 2971): what the client says is logged by nobody yet; the
 * answer names the server without its version. */
static void cmd_id(struct imapd *s, const struct imap_cmd *cmd)
{
	const struct imap_arg *list;
	unsigned count;

	if (cmd->nargs != 1 ||
	    (cmd->args[0].type != IMAP_ARG_NIL &&
	     !imap_arg_get_list(&cmd->args[0], &list, &count))) {
		imapd_tagged(s, cmd->tag, "BAD Invalid ID arguments.");
		return;
	}
	imapd_printf(s, "* ID (\"name\" \"correo\")\r\n");
	imapd_tagged(s, cmd->tag, "OK ID completed.");
}

static void cmd_namespace(struct imapd *s, const struct imap_cmd *cmd)
{
	imapd_printf(s, "* NAMESPACE ((\"\" \".\")) NIL NIL\r\n");
	imapd_tagged(s, cmd->tag, "OK Namespace completed.");
}

static void cmd_select(struct imapd *s, const struct imap_cmd *cmd)
{
	struct imap_select_params params = IMAP_SELECT_PARAMS_INIT;
	const char *name, *error;

	if (cmd->nargs < 1 || !imap_arg_get_astring(&cmd->args[0], &name)) {
		imapd_tagged(s, cmd->tag, "BAD Missing mailbox name.");
		return;
	}
	if (cmd->nargs > 2 ||
	    (cmd->nargs == 2 &&
	     !imap_select_params_parse(&cmd->args[1], &params, &error))) {
		imapd_tagged(s, cmd->tag, "BAD %s", cmd->nargs > 2 ?
			     "Invalid SELECT parameters." : error);
		goto out;
	}
	/* RFC 7162 3.2.5: QRESYNC must have been enabled first. */
	if (params.qresync && !s->qresync) {
		imapd_tagged(s, cmd->tag, "BAD QRESYNC not enabled.");
		goto out;
	}
	(void)imapd_select(s, cmd->tag, name,
			   strcmp(cmd->name, "EXAMINE") == 0, &params);
out:
	imap_select_params_release(&params);
}

static void cmd_close(struct imapd *s, const struct imap_cmd *cmd)
{
	bool close = strcmp(cmd->name, "CLOSE") == 0;

	imapd_close_mailbox(s, close && !s->readonly);
	/* No CLOSED here: RFC 7162 sends it only when a SELECT or EXAMINE
	 * replaces the mailbox (imapd_select). */
	imapd_tagged(s, cmd->tag, "OK %s completed.",
		     close ? "Close" : "Unselect");
}

static void cmd_expunge(struct imapd *s, const struct imap_cmd *cmd)
{
	struct imap_seqset uids = IMAP_SEQSET_INIT;
	const char *set, *error;

	if (s->readonly) {
		imapd_tagged(s, cmd->tag, "NO Mailbox is read-only.");
		return;
	}
	if (cmd->uid) {
		if (cmd->nargs != 1 ||
		    !imap_arg_get_atom(&cmd->args[0], &set) ||
		    !imapd_uidset(s, set, true, &uids, &error)) {
			imapd_tagged(s, cmd->tag, "BAD %s", cmd->nargs != 1 ?
				     "Missing sequence set." : error);
			imap_seqset_release(&uids);
			return;
		}
	}
	if (!imapd_expunge(s, cmd->uid ? &uids : NULL)) {
		imapd_tagged(s, cmd->tag, "NO [SERVERBUG] Expunge failed.");
	} else {
		imapd_tagged(s, cmd->tag, "OK Expunge completed.");
		/* RFC 7162 3.2.9 / 3.1.10: the modseq after the expunges,
		 * given once they are reported. */
		s->tag_modseq = s->condstore;
	}
	imap_seqset_release(&uids);
}

static void cmd_idle(struct imapd *s, const struct imap_cmd *cmd)
{
	imapd_idle(s, cmd->tag);
}

static void cmd_uid_fetch(struct imapd *s, const struct imap_cmd *cmd)
{
	imapd_cmd_fetch(s, cmd);
}

static void cmd_list(struct imapd *s, const struct imap_cmd *cmd)
{
	if (strcmp(cmd->name, "LSUB") == 0)
		imapd_cmd_list(s, cmd, true);
	else
		imapd_cmd_list_ext(s, cmd);
}

static void cmd_subscribe(struct imapd *s, const struct imap_cmd *cmd)
{
	imapd_cmd_subscribe(s, cmd, strcmp(cmd->name, "SUBSCRIBE") == 0);
}

static void cmd_copy(struct imapd *s, const struct imap_cmd *cmd)
{
	imapd_cmd_copy(s, cmd, strcmp(cmd->name, "MOVE") == 0);
}

static void cmd_already(struct imapd *s, const struct imap_cmd *cmd)
{
	imapd_tagged(s, cmd->tag, "BAD Already logged in.");
}

enum {
	ST_AUTH = 0x1,		/* authenticated, nothing selected */
	ST_SEL = 0x2,		/* a mailbox selected */
	ST_ANY = ST_AUTH | ST_SEL,
	UID_OK = 0x4,		/* has a UID form */
	NO_EXPUNGE = 0x8,	/* by sequence number: hold EXPUNGE back */
	NO_ARGS = 0x10,		/* takes no arguments (but its UID form) */
	NO_VIEW = 0x20,		/* needs no view of the selected mailbox
				 * (it may stay the store's, imapd_view.c) */
};

static const struct imapd_cmd_def {
	const char *name;
	void (*run)(struct imapd *s, const struct imap_cmd *cmd);
	unsigned how;
} imapd_cmds[] = {
	{ "CAPABILITY", cmd_capability, ST_ANY | NO_ARGS | NO_VIEW },
	{ "NOOP", cmd_noop, ST_ANY | NO_ARGS | NO_VIEW },
	{ "LOGOUT", cmd_logout, ST_ANY | NO_ARGS | NO_VIEW },
	{ "ENABLE", cmd_enable, ST_AUTH | NO_VIEW },
	{ "ID", cmd_id, ST_ANY | NO_VIEW },
	{ "NAMESPACE", cmd_namespace, ST_ANY | NO_ARGS | NO_VIEW },
	{ "COMPRESS", cmd_compress, ST_ANY | NO_VIEW },
	{ "LOGIN", cmd_already, ST_ANY | NO_VIEW },
	{ "AUTHENTICATE", cmd_already, ST_ANY | NO_VIEW },
	{ "STARTTLS", cmd_already, ST_ANY | NO_VIEW },
	{ "SELECT", cmd_select, ST_ANY | NO_VIEW },
	{ "EXAMINE", cmd_select, ST_ANY | NO_VIEW },
	{ "CREATE", imapd_cmd_create, ST_ANY | NO_VIEW },
	{ "DELETE", imapd_cmd_delete, ST_ANY },
	{ "RENAME", imapd_cmd_rename, ST_ANY },
	{ "SUBSCRIBE", cmd_subscribe, ST_ANY | NO_VIEW },
	{ "UNSUBSCRIBE", cmd_subscribe, ST_ANY | NO_VIEW },
	{ "LIST", cmd_list, ST_ANY | NO_VIEW },
	{ "LSUB", cmd_list, ST_ANY | NO_VIEW },
	{ "STATUS", imapd_cmd_status, ST_ANY | NO_VIEW },
	{ "APPEND", imapd_cmd_append, ST_ANY },
	{ "IDLE", cmd_idle, ST_ANY | NO_ARGS | NO_VIEW },
	{ "CHECK", cmd_noop, ST_SEL | NO_ARGS | NO_VIEW },
	{ "CLOSE", cmd_close, ST_SEL | NO_ARGS },
	{ "UNSELECT", cmd_close, ST_SEL | NO_ARGS },
	{ "EXPUNGE", cmd_expunge, ST_SEL | UID_OK | NO_ARGS },
	{ "SEARCH", imapd_cmd_search, ST_SEL | UID_OK | NO_EXPUNGE },
	{ "SORT", imapd_cmd_sort, ST_SEL | UID_OK | NO_EXPUNGE },
	{ "THREAD", imapd_cmd_thread, ST_SEL | UID_OK | NO_EXPUNGE },
	{ "CANCELUPDATE", imapd_cmd_cancelupdate, ST_SEL },
	{ "FETCH", cmd_uid_fetch, ST_SEL | UID_OK | NO_EXPUNGE },
	{ "STORE", imapd_cmd_store, ST_SEL | UID_OK | NO_EXPUNGE },
	{ "COPY", cmd_copy, ST_SEL | UID_OK },
	{ "MOVE", cmd_copy, ST_SEL | UID_OK },
	{ "NOTIFY", imapd_cmd_notify, ST_ANY },
	{ "GETQUOTA", imapd_cmd_getquota, ST_ANY | NO_VIEW },
	{ "GETQUOTAROOT", imapd_cmd_getquotaroot, ST_ANY | NO_VIEW },
	{ "SETQUOTA", imapd_cmd_setquota, ST_ANY | NO_VIEW },
};

void imapd_command(struct imapd *s, const struct imap_cmd *cmd)
{
	const struct imapd_cmd_def *def = NULL;
	enum imapd_sync_mode mode = IMAPD_SYNC_ALL;

	for (size_t i = 0; i < sizeof(imapd_cmds) / sizeof(*imapd_cmds); i++)
		if (strcmp(imapd_cmds[i].name, cmd->name) == 0)
			def = &imapd_cmds[i];
	str_clear(&s->tagged);
	s->cmd_seq++;
	if (def == NULL || (cmd->uid && !(def->how & UID_OK)))
		imapd_tagged(s, cmd->tag, "BAD Unknown command.");
	else if (s->folder == NULL && !(def->how & ST_AUTH))
		imapd_tagged(s, cmd->tag, "BAD No mailbox selected.");
	else if ((def->how & NO_ARGS) && !cmd->uid && cmd->nargs > 0)
		/* RFC 3501 9: "NOOP x" is not a NOOP. */
		imapd_tagged(s, cmd->tag, "BAD Unexpected arguments.");
	else {
		if (s->folder != NULL && !(def->how & NO_VIEW))
			imapd_view_materialize(s);
		def->run(s, cmd);
	}
	if (def != NULL && (def->how & NO_EXPUNGE) && !cmd->uid)
		mode = IMAPD_SYNC_NO_EXPUNGE;
	/* What others changed is reported after the command ran on the
	 * view the client knew, before its tagged reply. */
	if (s->folder != NULL && !s->logout)
		imapd_sync(s, mode);
	if (!s->logout)
		imapd_notify_check(s);
	if (s->tag_modseq && s->folder != NULL)
		imapd_tagged_modseq(s, cmd->tag);
	s->tag_modseq = false;
	imapd_append(s, s->tagged.data == NULL ? "" : s->tagged.data,
		     s->tagged.len);
	str_clear(&s->tagged);
}
