/*
 * correo_tls: "correo [-c DIR] tls check", what the TLS services will
 * present (correo.h).
 *
 * Prints the chain in $tls_cert_file (subject, issuer and expiry of
 * each certificate) and whether $tls_key_file matches its leaf; also
 * says whether the session ticket key exists. Exit 0 when the pair is
 * usable and unexpired, 1 otherwise (so it fits in a monitoring check),
 * 2 for a usage error.
 *
 * SECURITY: runs as the invoking user, who must be able to read the key
 * (root, or the instance's owner). Only the match is reported, never key
 * material.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cfg.h"
#include "mem.h"
#include "str.h"
#include "tls.h"

#include "correo.h"
#include "tool.h"

static int tls_check(const char *config_dir)
{
	struct str out = STR_INIT;
	const char *cert, *key, *ticket;
	char *error = NULL;
	struct cfg *cfg;
	struct stat st;
	bool ok;

	cfg = tool_load_config(config_dir, &error);
	if (cfg == NULL) {
		tool_complain("%s", error);
		mem_free(error);
		return 1;
	}
	cert = cfg_str(cfg, "tls_cert_file");
	key = cfg_str(cfg, "tls_key_file");
	ticket = cfg_str(cfg, "tls_session_ticket_key");
	printf("tls_cert_file = %s\ntls_key_file = %s\n", cert, key);
	ok = tls_describe(cert, key, &out);
	fputs(str_c(&out), stdout);
	if (stat(ticket, &st) == 0)
		printf("session ticket key %s (%lld bytes)\n", ticket,
		       (long long)st.st_size);
	else
		printf("no session ticket key %s: sessions resume only in the"
		       " same process\n", ticket);
	printf("%s\n", ok ? "ok" : "NOT usable: fix the files above");
	str_release(&out);
	cfg_main = NULL;
	cfg_free(&cfg);
	return ok ? 0 : 1;
}

int correo_tls_cmd(const char *config_dir, int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "check") == 0)
		return tls_check(config_dir);
	fprintf(stderr, "usage: correo [-c DIR] tls check\n");
	return 2;
}
