/*
 * smtpd: the SMTP server (RFC 5321 with PIPELINING, SIZE, 8BITMIME,
 * ENHANCEDSTATUSCODES, CHUNKING, SMTPUTF8, DSN, STARTTLS and AUTH), also
 * the submission service (587, 465). One process serves one client at a
 * time; master runs as many as the load needs. See correo-smtpd(8).
 *
 * SECURITY: faces the network before any authentication. Runs as the
 * mail owner, optionally chrooted in the queue directory; its only
 * writable place is queue/incoming.
 */
#include "config.h"

#include "server.h"
#include "smtpd_server.h"

int main(int argc, char **argv)
{
	return server_main(argc, argv, &(struct server_spec) {
		.name = "smtpd",
		.mode = SERVER_SINGLE,
		.serve = smtpd_serve,		/* one client connection */
		.pre_init = smtpd_pre_init,	/* tables, TLS keys */
		.post_init = smtpd_post_init,	/* limits */
		.sandbox = &sandbox_smtpd,
	});
}
