#ifndef SMTPD_SMTPD_SERVER_H
#define SMTPD_SMTPD_SERVER_H

#include "cfg.h"
#include "smtpd.h"

/* The server_spec hooks of smtpd (main.c). */
void smtpd_pre_init(void *ctx);
void smtpd_post_init(void *ctx);
void smtpd_serve(int fd, void *ctx);

/* Read the limits and switches from cfg into c (tests use it too). */
void smtpd_config_load(struct smtpd_config *c, struct cfg *cfg);

#endif
