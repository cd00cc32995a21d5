/*
 * cfg_keys: the one table of every correo.conf parameter (cfg.h).
 *
 * Each entry is { name, type, default, one-line doc }. Defaults may refer
 * to other parameters with $name; cfg.c expands them at lookup time. The
 * table stays in human order, grouped by area with one section comment
 * each; cfg.c sorts an index of it once for lookups, so order here does
 * not matter to the code. To add a parameter, add one entry to the
 * section of the program that reads it and document it in
 * doc/man/correo.conf.5.
 *
 * Three defaults are computed in cfg.c rather than written here (their
 * entry holds "" and says so): config_directory (the directory correo.conf
 * was read from), myhostname (gethostname(), lowercased) and mydomain
 * (myhostname minus its first label, or "localdomain").
 *
 * SECURITY: static data only.
 */
#include "config.h"

#include <paths.h>
#include <stddef.h>

#include "cfg.h"

#ifndef PKGLIBEXECDIR
#define PKGLIBEXECDIR "/usr/local/libexec/correo"
#endif
#ifndef SBINDIR
#define SBINDIR "/usr/local/sbin"
#endif
/* configure's --localstatedir (Makefile.am): /var in a system install. */
#ifndef LOCALSTATEDIR
#define LOCALSTATEDIR "/usr/local/var"
#endif

const struct cfg_key cfg_keys[] = {
	/* ---- General ---- */
	{ "config_directory", CFG_STR, "",
	  "Directory of correo.conf and services.conf (set from where the"
	  " file was read)" },
	{ "queue_directory", CFG_STR, LOCALSTATEDIR "/spool/correo",
	  "Root of the mail queue; also the chroot directory" },
	{ "data_directory", CFG_STR, LOCALSTATEDIR "/lib/correo",
	  "Persistent state outside the queue (correo setup puts the"
	  " virtual mailboxes of a system install under it)" },
	{ "daemon_directory", CFG_STR, PKGLIBEXECDIR,
	  "Directory of the daemon programs that master starts" },
	{ "command_directory", CFG_STR, SBINDIR,
	  "Directory of the correo and sendmail commands" },
	{ "mail_owner", CFG_STR, "correo",
	  "Unprivileged user that owns the queue and runs most daemons" },
	{ "setgid_group", CFG_STR, "correodrop",
	  "Group of the maildrop directory, used by the sendmail command" },
	{ "default_privs", CFG_STR, "nobody",
	  "User for deliveries to commands and files without an owner" },
	{ "message_size_limit", CFG_SIZE, "10240000",
	  "Largest message accepted, in bytes, headers included" },
	{ "queue_minfree", CFG_SIZE, "0",
	  "Free queue space below which smtpd refuses MAIL (452 4.3.1)" },
	{ "line_length_limit", CFG_INT, "2048",
	  "Longest line kept whole; longer lines are split" },

	/* ---- Master and processes ---- */
	{ "master_pid_file", CFG_STR, "$queue_directory/pid/master.pid",
	  "Pid file of the master process (also its lock)" },
	{ "default_process_limit", CFG_INT, "100",
	  "Process limit of a service whose maxproc column is \"-\"" },
	{ "max_use", CFG_INT, "100",
	  "Clients a daemon serves before it exits (0: no limit)" },
	{ "max_idle", CFG_TIME, "100s",
	  "Time an idle daemon waits for a client before it exits" },
	{ "service_throttle_time", CFG_TIME, "60s",
	  "Pause before restarting a service whose process failed" },
	{ "daemon_timeout", CFG_TIME, "18000s",
	  "Time a daemon may spend on one request before it is killed" },
	{ "ipc_timeout", CFG_TIME, "3600s",
	  "Time limit of one internal request over a Unix socket" },
	{ "import_environment", CFG_LIST,
	  "TZ, LANG=C, ASAN_OPTIONS, UBSAN_OPTIONS, LSAN_OPTIONS",
	  "The only environment master and its daemons keep: NAME keeps a"
	  " variable, NAME=VALUE sets one" },
	{ "sandbox", CFG_BOOL, "yes",
	  "Seccomp and Landlock sandboxes after each daemon's init (no:"
	  " only for debugging)" },

	/* ---- Logging ---- */
	{ "log_file", CFG_STR, "",
	  "Log to this file instead of syslog (empty: syslog, LOG_MAIL)" },
	{ "syslog_name", CFG_STR, "correo",
	  "Prefix of the syslog ident (\"correo/smtpd\")" },

	/* ---- Addresses and domains ---- */
	{ "myhostname", CFG_STR, "",
	  "Fully qualified name of this host (default: gethostname())" },
	{ "mydomain", CFG_STR, "",
	  "Domain of this host (default: $myhostname minus its first"
	  " label)" },
	{ "myorigin", CFG_STR, "$myhostname",
	  "Domain added to unqualified addresses of local senders" },
	{ "mydestination", CFG_LIST, "$myhostname, localhost.$mydomain,"
	  " localhost",
	  "Domains delivered locally to system users and aliases" },
	{ "mynetworks", CFG_LIST, "127.0.0.0/8 [::1]/128",
	  "Client networks trusted to relay" },
	{ "inet_interfaces", CFG_LIST, "all",
	  "Addresses that inet services without a host listen on" },
	{ "inet_protocols", CFG_LIST, "all",
	  "IP versions to use: ipv4, ipv6 or all" },
	{ "recipient_delimiter", CFG_STR, "+",
	  "Characters that separate a user from an address extension" },
	{ "virtual_mailbox_domains", CFG_LIST, "",
	  "Domains whose users have virtual mailboxes" },
	{ "virtual_alias_maps", CFG_LIST, "",
	  "Tables that rewrite recipient addresses to other addresses" },
	{ "virtual_alias_recursion_limit", CFG_INT, "100",
	  "Deepest nesting of virtual and local aliases" },
	{ "virtual_alias_expansion_limit", CFG_INT, "1000",
	  "Most addresses one recipient may expand into" },

	/* ---- Lookup tables ---- */
	{ "alias_maps", CFG_LIST, "hash:$config_directory/aliases",
	  "Tables of local aliases used by local delivery" },
	{ "alias_database", CFG_LIST, "$alias_maps",
	  "Alias tables that \"correo newaliases\" rebuilds" },
	{ "local_recipient_maps", CFG_LIST, "",
	  "Tables of local parts that are local recipients whatever"
	  " local_system_recipients says" },
	{ "local_system_recipients", CFG_STR, "login",
	  "Which system accounts are local recipients: login (a login"
	  " shell and a home the account owns), all, or none" },

	/* ---- smtpd ---- */
	{ "smtpd_banner", CFG_STR, "$myhostname ESMTP correo",
	  "Text after \"220 \" in the greeting" },
	{ "smtpd_recipient_limit", CFG_INT, "1000",
	  "Recipients accepted per message" },
	{ "smtpd_timeout", CFG_TIME, "300s",
	  "Time to wait for a client command or data" },
	{ "smtpd_hard_error_limit", CFG_INT, "20",
	  "Errors after which the client is disconnected" },
	{ "smtpd_soft_error_limit", CFG_INT, "10",
	  "Errors after which each error reply is delayed" },
	{ "smtpd_junk_command_limit", CFG_INT, "100",
	  "NOOP, VRFY and RSET commands before each counts as an error" },
	{ "smtpd_error_sleep_time", CFG_TIME, "1s",
	  "Delay of each error reply past smtpd_soft_error_limit" },
	{ "smtpd_client_connection_count_limit", CFG_INT, "50",
	  "Simultaneous connections from one client (0: no limit)" },
	{ "smtpd_client_connection_rate_limit", CFG_INT, "0",
	  "Connections from one client per anvil_rate_time_unit"
	  " (0: no limit)" },
	{ "smtpd_stress_timeout", CFG_TIME, "10s",
	  "smtpd_timeout (and postscreen's) while the service is under"
	  " stress" },
	{ "anvil_rate_time_unit", CFG_TIME, "60s",
	  "Time unit of connection rates counted by anvil" },
	{ "postscreen_command_time_limit", CFG_TIME, "$smtpd_timeout",
	  "Time postscreen waits for a client's first command" },
	{ "postscreen_client_limit", CFG_INT, "10000",
	  "Clients one postscreen process holds at once" },
	{ "postscreen_pass_service", CFG_STR, "smtpd",
	  "Private service (an smtpd row) postscreen hands clients to" },
	{ "smtpd_forbid_bare_newline", CFG_BOOL, "yes",
	  "Refuse a message with a bare LF in DATA (SMTP smuggling)" },
	{ "smtpd_peername_lookup", CFG_BOOL, "no",
	  "Look up the client's name in DNS (no: \"unknown\")" },
	{ "smtpd_helo_required", CFG_BOOL, "no",
	  "Require HELO or EHLO before MAIL" },
	{ "smtpd_tls_security_level", CFG_STR, "may",
	  "STARTTLS: none, may (offer it) or encrypt (require it)" },
	{ "smtpd_tls_wrappermode", CFG_BOOL, "no",
	  "Start TLS at connect (port 465, submissions)" },
	{ "smtpd_tls_auth_only", CFG_BOOL, "yes",
	  "Offer and accept AUTH only over TLS" },
	{ "smtpd_sasl_auth_enable", CFG_BOOL, "no",
	  "Offer AUTH (checked by the auth service)" },
	{ "smtpd_require_auth", CFG_BOOL, "no",
	  "Refuse MAIL until the client has authenticated (submission)" },
	{ "smtpd_sender_login_maps", CFG_LIST, "",
	  "Tables of sender address -> logins that may use it" },

	/* ---- qmgr ---- */
	{ "queue_run_delay", CFG_TIME, "300s",
	  "Time between scans of the deferred queue" },
	{ "minimal_backoff_time", CFG_TIME, "300s",
	  "Least time a deferred message waits before its next attempt" },
	{ "maximal_backoff_time", CFG_TIME, "4000s",
	  "Most time a deferred message waits before its next attempt" },
	{ "maximal_queue_lifetime", CFG_TIME, "5d",
	  "Time after which an undeliverable message is bounced" },
	{ "bounce_queue_lifetime", CFG_TIME, "5d",
	  "Time after which an undeliverable bounce is discarded" },
	{ "qmgr_message_active_limit", CFG_INT, "20000",
	  "Messages in the active queue (and in qmgr's memory)" },
	{ "in_flow_delay", CFG_TIME, "1s",
	  "Longest pause of smtpd and pickup per message while qmgr hands"
	  " out no tokens (0: no inflow control)" },
	{ "in_flow_tokens", CFG_INT, "100",
	  "Messages qmgr may hold before smtpd and pickup start to pause" },
	{ "default_destination_concurrency_limit", CFG_INT, "20",
	  "Parallel deliveries to one destination" },
	{ "local_destination_concurrency_limit", CFG_INT, "10",
	  "Parallel local deliveries to one recipient" },
	{ "qmgr_local_batch_limit", CFG_INT, "50",
	  "Recipients of one message sent to local in one request" },
	{ "smtp_destination_concurrency_limit", CFG_INT,
	  "$default_destination_concurrency_limit",
	  "Parallel smtp deliveries to one next hop" },
	{ "destination_concurrency_failed_cohort_limit", CFG_INT, "1",
	  "Whole-destination failures in a row that make it dead" },
	{ "destination_dead_time", CFG_TIME, "$minimal_backoff_time",
	  "Time mail for a dead destination is deferred without trying" },
	{ "delay_warning_time", CFG_TIME, "0s",
	  "Age at which the sender is told mail is delayed (0: never)" },
	{ "bounce_notice_recipient", CFG_STR, "postmaster",
	  "Recipient of undeliverable bounces (double bounces)" },

	/* ---- sendmail and pickup ---- */
	{ "append_at_myorigin", CFG_BOOL, "yes",
	  "sendmail: add @$myorigin to addresses without a domain" },
	{ "pickup_recipient_limit", CFG_INT, "1000",
	  "Most recipients of one message submitted with sendmail" },

	/* ---- local delivery ---- */
	{ "home_mailbox", CFG_STR, "Maildir/",
	  "Maildir of a system user, relative to the home directory" },
	{ "mail_spool_directory", CFG_STR, _PATH_MAILDIR,
	  "The system's mail spool (mbox per user), used when home_mailbox"
	  " is empty" },
	{ "allow_mail_to_commands", CFG_LIST, "alias, forward",
	  "Where |command destinations are allowed: alias, forward, include" },
	{ "allow_mail_to_files", CFG_LIST, "alias, forward",
	  "Where /file destinations are allowed: alias, forward, include" },
	{ "virtual_mailbox_base", CFG_STR, "",
	  "Directory prefixed to the paths in virtual_mailbox_maps" },
	{ "virtual_mailbox_maps", CFG_LIST, "",
	  "Tables of virtual address -> Maildir path under the base" },
	{ "virtual_owner", CFG_STR, "vmail",
	  "User that owns and delivers to every virtual mailbox" },
	{ "command_time_limit", CFG_TIME, "1000s",
	  "Time limit of a delivery to a |command" },
	{ "mailbox_size_limit", CFG_SIZE, "0",
	  "Largest message one Maildir delivery may write (0: no limit)" },
	{ "mailbox_quota_maps", CFG_LIST, "",
	  "Tables of address or user -> quota (storage=1G messages=100000)" },
	{ "mailbox_quota_default", CFG_STR, "",
	  "Quota of a mailbox without a mailbox_quota_maps entry"
	  " (empty: none)" },
	{ "local_delivery_timeout", CFG_TIME, "600s",
	  "Time qmgr waits for local to answer one delivery request" },

	/* ---- smtp client ---- */
	{ "relayhost", CFG_STR, "",
	  "Next hop for relay mail without a transport_maps entry"
	  " (\"[host]:port\" skips the MX lookup)" },
	{ "transport_maps", CFG_LIST, "",
	  "Tables of domain -> transport:nexthop (transport(5) style)" },
	{ "default_transport", CFG_STR, "smtp",
	  "Transport (and optional :nexthop) for relay mail without an entry" },
	{ "smtp_helo_name", CFG_STR, "$myhostname",
	  "Name the smtp client sends in EHLO/HELO" },
	{ "smtp_connect_timeout", CFG_TIME, "30s",
	  "Time limit of a TCP connect by the smtp client" },
	{ "smtp_helo_timeout", CFG_TIME, "300s",
	  "Time limit for the greeting and the EHLO/HELO reply" },
	{ "smtp_starttls_timeout", CFG_TIME, "300s",
	  "Time limit of the STARTTLS reply and the TLS handshake" },
	{ "smtp_mail_timeout", CFG_TIME, "300s",
	  "Time limit for the reply to MAIL FROM" },
	{ "smtp_rcpt_timeout", CFG_TIME, "300s",
	  "Time limit for the reply to each RCPT TO" },
	{ "smtp_data_init_timeout", CFG_TIME, "120s",
	  "Time limit for the reply to DATA" },
	{ "smtp_data_xfer_timeout", CFG_TIME, "180s",
	  "Time limit of each write of the message content" },
	{ "smtp_data_done_timeout", CFG_TIME, "600s",
	  "Time limit for the reply to the final \".\"" },
	{ "smtp_quit_timeout", CFG_TIME, "300s",
	  "Time limit for the replies to RSET and QUIT" },
	{ "smtp_tls_security_level", CFG_STR, "may",
	  "TLS policy: none, may, encrypt, verify or secure" },
	{ "smtp_tls_policy_maps", CFG_LIST, "",
	  "Tables of nexthop -> TLS security level, overriding the default" },
	{ "smtp_tls_CAfile", CFG_STR, "",
	  "Trust anchors (PEM) for verified TLS (empty: the system's)" },
	{ "smtp_connection_reuse_time", CFG_TIME, "300s",
	  "How long one connection is reused for further messages" },
	{ "smtp_connection_cache_limit", CFG_INT, "8",
	  "Idle connections the smtp client keeps open for reuse" },
	{ "smtp_bind_address", CFG_STR, "",
	  "Local address for outgoing connections (empty: the kernel's)" },
	{ "smtp_mx_address_limit", CFG_INT, "5",
	  "Most addresses (over all MX hosts) tried per delivery" },
	{ "smtp_sasl_auth_enable", CFG_BOOL, "no",
	  "Authenticate (AUTH PLAIN/LOGIN over TLS) to servers that have "
	  "credentials in smtp_sasl_password_maps" },
	{ "smtp_sasl_password_maps", CFG_LIST, "",
	  "Tables of nexthop ([host]:port) or server name -> user:password" },
	{ "smtp_sasl_mechanism_filter", CFG_LIST, "",
	  "Mechanisms the smtp client may use (empty: PLAIN and LOGIN)" },
	{ "smtp_sasl_auth_soft_bounce", CFG_BOOL, "yes",
	  "Defer rather than bounce when a server rejects our AUTH (5xx)" },
	{ "lmtp_lhlo_name", CFG_STR, "$myhostname",
	  "Name the lmtp client sends in LHLO" },
	{ "lmtp_connect_timeout", CFG_TIME, "30s",
	  "Time limit of a connect by the lmtp client" },
	{ "lmtp_lhlo_timeout", CFG_TIME, "300s",
	  "Time limit for the LMTP greeting and the LHLO reply" },
	{ "lmtp_starttls_timeout", CFG_TIME, "300s",
	  "Time limit of the LMTP STARTTLS reply and handshake" },
	{ "lmtp_mail_timeout", CFG_TIME, "300s",
	  "Time limit for the LMTP reply to MAIL FROM" },
	{ "lmtp_rcpt_timeout", CFG_TIME, "300s",
	  "Time limit for the LMTP reply to each RCPT TO" },
	{ "lmtp_data_init_timeout", CFG_TIME, "120s",
	  "Time limit for the LMTP reply to DATA" },
	{ "lmtp_data_xfer_timeout", CFG_TIME, "180s",
	  "Time limit of each write of the message content over LMTP" },
	{ "lmtp_data_done_timeout", CFG_TIME, "600s",
	  "Time limit for each LMTP reply after the final \".\"" },
	{ "lmtp_quit_timeout", CFG_TIME, "300s",
	  "Time limit for the LMTP replies to RSET and QUIT" },
	{ "lmtp_tls_security_level", CFG_STR, "none",
	  "LMTP TLS policy: none, may, encrypt, verify or secure" },
	{ "lmtp_tls_policy_maps", CFG_LIST, "",
	  "Tables of nexthop -> TLS security level for LMTP" },
	{ "lmtp_tls_CAfile", CFG_STR, "",
	  "Trust anchors (PEM) for verified LMTP TLS" },
	{ "lmtp_connection_reuse_time", CFG_TIME, "300s",
	  "How long one LMTP connection is reused" },
	{ "lmtp_connection_cache_limit", CFG_INT, "8",
	  "Idle LMTP connections kept open for reuse" },
	{ "lmtp_bind_address", CFG_STR, "",
	  "Local address for outgoing LMTP connections over TCP" },
	{ "lmtp_mx_address_limit", CFG_INT, "5",
	  "Most addresses tried per LMTP delivery" },

	/* ---- auth ---- */
	{ "auth_password_maps", CFG_LIST, "hash:$config_directory/passwd",
	  "Tables of lower-cased login address -> crypt(3) password hash" },
	{ "auth_mechanisms", CFG_LIST, "PLAIN LOGIN",
	  "SASL mechanisms auth accepts and front ends offer: PLAIN, LOGIN" },
	{ "auth_failure_delay", CFG_STR, "1s",
	  "Delay of the reply to a failed login (ms or s), doubled per"
	  " recent failure" },
	{ "auth_failure_delay_max", CFG_STR, "15s",
	  "Longest delay of a failed login's reply (ms or s)" },
	{ "auth_lockout_threshold", CFG_INT, "10",
	  "Failures of one user from one client address that lock both"
	  " out (0: never)" },
	{ "auth_lockout_address_threshold", CFG_INT, "20",
	  "Failures from one client address that lock it out (0: never)" },
	{ "auth_lockout_window", CFG_TIME, "15m",
	  "Quiet time after which failures are forgotten" },
	{ "auth_lockout_time", CFG_TIME, "15m",
	  "How long a lockout lasts" },
	{ "auth_worker_count", CFG_INT, "0",
	  "Threads that hash passwords in auth (0: one per CPU)" },

	/* ---- login front ends (pop3-login, imap-login) ---- */
	{ "login_client_limit", CFG_INT, "1000",
	  "Clients one pre-auth front-end process serves at once" },
	{ "login_timeout", CFG_TIME, "60s",
	  "Time a client has to log in (a quarter of it when the process "
	  "is 3/4 full)" },
	{ "login_command_limit", CFG_INT, "50",
	  "Commands (CAPA included) a client may send before logging in" },
	{ "login_client_connection_count_limit", CFG_INT, "50",
	  "Connections one client outside mynetworks may have open to a "
	  "login front end (0: no limit; counted by anvil)" },
	{ "login_client_connection_rate_limit", CFG_INT, "0",
	  "Connections one client outside mynetworks may make to a login "
	  "front end per anvil_rate_time_unit (0: no limit)" },
	{ "mail_max_userip_connections", CFG_INT, "10",
	  "Sessions one user may have open from one client address, per "
	  "protocol (IMAP, POP3); 0: no limit (counted by anvil)" },
	{ "login_plaintext_loopback", CFG_BOOL, "yes",
	  "Allow plaintext logins on loopback (or local = remote address) "
	  "even when plaintext is otherwise refused" },

	/* ---- pop3 ---- */
	{ "pop3_disable_plaintext_auth", CFG_BOOL, "yes",
	  "Refuse USER/PASS and AUTH before STLS (except on loopback, "
	  "see login_plaintext_loopback)" },
	{ "pop3_timeout", CFG_TIME, "600s",
	  "Idle time after which a logged-in POP3 client is disconnected" },
	{ "pop3_tls_wrapper", CFG_BOOL, "no",
	  "Start TLS at connect (port 995) instead of waiting for STLS" },

	/* ---- imap ---- */
	{ "imap_disable_plaintext_auth", CFG_BOOL, "yes",
	  "Refuse LOGIN and AUTHENTICATE before STARTTLS (LOGINDISABLED; "
	  "except on loopback, see login_plaintext_loopback)" },
	{ "imap_timeout", CFG_TIME, "30m",
	  "Idle time after which a logged-in IMAP client is disconnected" },
	{ "imap_hibernate_timeout", CFG_TIME, "10s",
	  "Time in IDLE or between commands after which a session is handed "
	  "to its user's park process and its mail process exits (0: "
	  "never)" },
	{ "imap_tls_wrapper", CFG_BOOL, "no",
	  "Start TLS at connect (port 993) instead of waiting for STARTTLS" },

	/* ---- TLS ---- */
	{ "tls_cert_file", CFG_STR, "$config_directory/tls/cert.pem",
	  "Server certificate chain (PEM, leaf first)" },
	{ "tls_key_file", CFG_STR, "$config_directory/tls/key.pem",
	  "Private key of tls_cert_file (PEM)" },
	{ "tls_min_protocol", CFG_STR, "TLSv1.2",
	  "Oldest TLS version accepted or offered: TLSv1.2 or TLSv1.3" },
	{ "tls_ciphers", CFG_STR, "",
	  "OpenSSL cipher list for TLS 1.2 (empty: OpenSSL's default)" },
	{ "tls_sni_maps", CFG_STR, "",
	  "Table of server name -> \"keyfile certfile\" for SNI (smtpd)" },
	{ "tls_session_ticket_key", CFG_STR, "$config_directory/tls/ticket.key",
	  "80-byte secret the session-ticket keys of every service are "
	  "derived from" },
	{ "tls_session_ticket_rotation", CFG_TIME, "1h",
	  "How long one session-ticket key encrypts new tickets" },

	{ NULL, CFG_STR, NULL, NULL }
};
