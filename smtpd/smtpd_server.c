/*
 * smtpd_server: the smtpd process around its sessions (smtpd.h,
 * smtpd_server.h).
 *
 * Configuration is read once per process: smtpd_pre_init (privileged,
 * before any chroot) opens the lookup tables through resolve_create,
 * parses $mynetworks, loads the TLS certificate and key (smtpd_tls.c)
 * opens $smtpd_sender_login_maps (smtpd_auth.c) and the anvil client
 * (smtpd_limit.c); smtpd_post_init
 * reads the limits. smtpd_serve then runs one session per accepted
 * client with no further config work, so a session costs no more than
 * its protocol. A row of type unix receives clients from postscreen
 * instead of accepting them (smtpd_pass.c).
 *
 * SECURITY: pre_init runs with the privileges master gave us, only to
 * open tables the admin configured; everything after runs as the mail
 * owner. A bad $mynetworks is fatal: guessing could open a relay.
 */
#include "config.h"

#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cfg.h"
#include "cidr.h"
#include "flow.h"
#include "group_sync.h"
#include "mem.h"
#include "msg.h"
#include "resolve.h"
#include "smtpd.h"
#include "smtpd_server.h"

static struct smtpd_config smtpd_config;

void smtpd_pre_init(void *ctx)
{
	char *error = NULL;

	/* The boot id for the group commit of incoming/, before a chroot
	 * hides /proc. */
	group_sync_prepare();
	smtpd_config.mynetworks = cidr_list_create(cfg_list(cfg_main,
							    "mynetworks"),
						   &error);
	if (smtpd_config.mynetworks == NULL)
		msg_fatal("mynetworks: %s", error);
	smtpd_config.resolver = resolve_create(cfg_main, &error);
	if (smtpd_config.resolver == NULL)
		msg_fatal("cannot open address tables: %s", error);
	smtpd_tls_init(&smtpd_config, cfg_main);
	smtpd_auth_init(&smtpd_config, cfg_main);
	smtpd_limit_init(&smtpd_config, cfg_main);
}

void smtpd_config_load(struct smtpd_config *c, struct cfg *cfg)
{
	long line = cfg_int(cfg, "line_length_limit");

	c->myhostname = cfg_str(cfg, "myhostname");
	c->flow_fd = -1;
	c->flow_delay_ms = cfg_time(cfg, "in_flow_delay") * 1000;
	c->banner = cfg_str(cfg, "smtpd_banner");
	c->size_limit = cfg_size(cfg, "message_size_limit");
	c->queue_minfree = cfg_size(cfg, "queue_minfree");
	c->rcpt_limit = cfg_int(cfg, "smtpd_recipient_limit");
	/* RFC 5321 4.5.3.1.4: command lines of 512 octets must fit. */
	c->line_limit = (size_t)(line < 512 ? 512 : line);
	c->hard_error_limit = cfg_int(cfg, "smtpd_hard_error_limit");
	c->soft_error_limit = cfg_int(cfg, "smtpd_soft_error_limit");
	c->junk_limit = cfg_int(cfg, "smtpd_junk_command_limit");
	c->error_sleep = cfg_time(cfg, "smtpd_error_sleep_time");
	c->timeout = (int)cfg_time(cfg, "smtpd_timeout");
	c->forbid_bare_lf = cfg_bool(cfg, "smtpd_forbid_bare_newline");
	c->peername_lookup = cfg_bool(cfg, "smtpd_peername_lookup");
	c->helo_required = cfg_bool(cfg, "smtpd_helo_required");
}

void smtpd_post_init(void *ctx)
{
	smtpd_config_load(&smtpd_config, cfg_main);
	/* Before the sandbox: private/ is out of its reach afterwards. */
	if (smtpd_config.flow_delay_ms > 0 &&
	    (smtpd_config.flow_fd = flow_open(FLOW_PATH)) < 0)
		msg_warn("open %s: %m (no inflow control)", FLOW_PATH);
}

/* A row of type unix is a pass service: postscreen's clients. */
static bool smtpd_is_pass(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	return getsockname(fd, (struct sockaddr *)&ss, &len) == 0 &&
	       ss.ss_family == AF_UNIX;
}

void smtpd_serve(int fd, void *ctx)
{
	int own;

	if (smtpd_is_pass(fd)) {
		smtpd_pass_serve(&smtpd_config, fd);
		return;
	}
	own = dup(fd);	/* lio_free closes it; the skeleton closes fd */

	if (own < 0) {
		msg_warn("dup: %m");
		return;
	}
	smtpd_session_run(&smtpd_config, own);
}
