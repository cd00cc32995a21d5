/*
 * smtpd_check: recipient acceptance and relay control at RCPT time
 * (smtpd.h).
 *
 * The policy is Postfix's default "permit_mynetworks,
 * reject_unauth_destination" plus recipient validation, decided while
 * the client is still connected so nothing is accepted that would later
 * bounce (no backscatter):
 *
 *   - a recipient in one of our domains (resolve class local, virtual or
 *     alias) is accepted from anyone if it exists (resolve_rcpt_exists),
 *     else 550 5.1.1 User unknown; postmaster always exists, and a bare
 *     "postmaster" means postmaster@$myhostname (RFC 5321 4.5.1);
 *   - any other domain is relayed only for clients in $mynetworks and
 *     clients that authenticated (AUTH), else 554 5.7.1 Relay access
 *     denied.
 *
 * Address tricks are settled here:
 *   - routing inside the local part ("user%other@ours", "other!user@ours",
 *     "\"user@other\"@ours") is never relayed for an untrusted client
 *     (554 5.7.1 Relay access denied, like Postfix with
 *     allow_untrusted_routing = no); for a trusted client it is just a
 *     local part, which normally does not exist (550 5.1.1);
 *   - a source route was already dropped by the parser; the final
 *     address is judged;
 *   - a trailing dot was dropped by the parser ("ours." is ours,
 *     "other." is other);
 *   - an address literal is ours only when it names the address the
 *     client connected to; it is then rewritten to $myhostname.
 *
 * SECURITY: runs unprivileged on untrusted, already validated addresses;
 * the tables were opened before the privilege drop.
 */
#include "config.h"

#include <string.h>
#include <stdlib.h>
#include <strings.h>

#include "mem.h"
#include "resolve.h"
#include "smtpd.h"

/* permit_mynetworks, permit_sasl_authenticated. */
static bool smtpd_may_relay(const struct smtpd_session *s)
{
	return s->trusted || s->sasl_user != NULL;
}

static bool smtpd_relay_denied(struct smtpd_perr *err, const char *orig)
{
	(void)str_snprintf(err->reply, sizeof(err->reply),
			   "554 5.7.1 <%s>: Relay access denied", orig);
	return false;
}

/* Is the literal "[a.b.c.d]" / "[ipv6:x]" the address we were reached
 * on? The parser lower-cased it. */
static bool smtpd_literal_is_us(const struct smtpd_session *s,
				const char *domain)
{
	const char *in = domain + 1;
	size_t n = strlen(in);

	if (n == 0 || in[n - 1] != ']' || s->server_addr[0] == '\0')
		return false;
	n--;
	if (strncasecmp(in, "ipv6:", 5) == 0) {
		in += 5;
		n -= 5;
	}
	return strlen(s->server_addr) == n &&
	       strncasecmp(in, s->server_addr, n) == 0;
}

static const char *smtpd_table_name(enum resolve_class class)
{
	switch (class) {
	case RESOLVE_VIRTUAL:
		return "virtual mailbox table";
	case RESOLVE_ALIAS_DOMAIN:
		return "virtual alias table";
	default:
		return "local recipient table";
	}
}

/* Build local@domain into buf for an address in one of our domains. */
static void smtpd_check_address(struct smtpd_session *s,
				const struct addr *a, const char *domain)
{
	const char *at;

	str_clear(&s->buf);
	if (domain == a->domain) {
		str_append(&s->buf, a->text);
		return;
	}
	at = a->domain[0] != '\0' ? strrchr(a->text, '@') : NULL;
	if (at != NULL)
		str_append_n(&s->buf, a->text, (size_t)(at - a->text));
	else
		str_append(&s->buf, a->text);
	str_append_c(&s->buf, '@');
	str_append(&s->buf, domain);
}

static bool smtpd_check_ours(struct smtpd_session *s,
			     const struct smtpd_rcpt_arg *r,
			     enum resolve_class class, const char *domain,
			     char **address_r, struct smtpd_perr *err)
{
	const char *why = NULL;
	int found;

	if (addr_has_routing(&r->addr) && !smtpd_may_relay(s))
		return smtpd_relay_denied(err, r->orig);
	smtpd_check_address(s, &r->addr, domain);
	if (!addr_is_postmaster(&r->addr)) {
		found = resolve_rcpt_exists(s->cfg->resolver, s->buf.data,
					    &why);
		if (found < 0) {
			msg_warn("%s: recipient lookup failed: %s",
				 s->buf.data, why != NULL ? why : "?");
			(void)str_snprintf(err->reply, sizeof(err->reply),
					   "451 4.3.0 <%s>: Temporary lookup"
					   " failure", r->orig);
			return false;
		}
		if (found == 0) {
			(void)str_snprintf(err->reply, sizeof(err->reply),
					   "550 5.1.1 <%s>: Recipient address"
					   " rejected: User unknown in %s",
					   r->orig, smtpd_table_name(class));
			return false;
		}
	}
	*address_r = mem_strdup(s->buf.data);
	return true;
}

bool smtpd_check_rcpt(struct smtpd_session *s, const struct smtpd_rcpt_arg *r,
		      char **address_r, struct smtpd_perr *err)
{
	const char *domain = r->addr.domain;
	enum resolve_class class = RESOLVE_RELAY;

	if (domain[0] == '\0')	/* the parser allows only postmaster */
		domain = s->cfg->myhostname;
	if (r->addr.literal) {
		if (smtpd_literal_is_us(s, domain)) {
			domain = s->cfg->myhostname;
			class = resolve_domain_class(s->cfg->resolver, domain);
		}
	} else {
		class = resolve_domain_class(s->cfg->resolver, domain);
	}
	if (class != RESOLVE_RELAY)
		return smtpd_check_ours(s, r, class, domain, address_r, err);
	if (!smtpd_may_relay(s))
		return smtpd_relay_denied(err, r->orig);
	*address_r = mem_strdup(r->addr.text);
	return true;
}
