/*
 * master_svc: services.conf rows turned into services with listening
 * sockets (master.h).
 *
 * master_svc_load() reads correo.conf and services.conf and resolves each
 * row against the configuration: the program path, the user (collapsed
 * to the invoker in instance mode), the process limit and the argv the
 * child gets (server.h). master_svc_listen() opens the sockets: inet rows
 * bind every address inet_interfaces and inet_protocols allow (a bare
 * port means the IPv4 and IPv6 wildcards, each its own socket, IPv6 with
 * IPV6_V6ONLY), unix rows bind queue/private/NAME (0600) or
 * queue/public/NAME (0666), replacing a stale socket.
 *
 * SECURITY: runs as root (or the invoker). Input is the administrator's
 * configuration. Listening sockets are created close-on-exec and are
 * handed to children only by master_spawn; private sockets are owned by
 * $mail_owner, the user every internal client runs as, and sit in a 0700
 * directory. private/ and public/ belong to $mail_owner, so root never
 * works in them by path: they are opened once without following
 * symlinks (safe_mkdirat) and changed through those descriptors only,
 * and a socket is bound there with $mail_owner's effective uid and gid
 * and the final mode set by the umask, as Postfix's master does, so
 * whatever a compromised $mail_owner process plants in them, root
 * neither chowns nor chmods it.
 */
#include "config.h"

#include <errno.h>
#include <time.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cfg.h"
#include "flow.h"
#include "master.h"
#include "mem.h"
#include "msg.h"
#include "priv.h"
#include "safe_file.h"
#include "str.h"
#include "svc.h"

void master_set_error(char **error_r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	*error_r = str_dup_vprintf(fmt, ap);
	va_end(ap);
}

/* The -u argument: the invoker in instance mode, else the row's user or
 * $mail_owner, which must exist. NULL with *error_r on error; NULL
 * without error when there is no name to pass. */
static char *master_svc_user(struct master *m, struct cfg *cfg,
			     const struct svc *svc, char **error_r)
{
	const char *name = svc->user;
	struct priv_user user;
	int ret;

	*error_r = NULL;
	if (m->instance)
		return m->invoker != NULL ? mem_strdup(m->invoker) : NULL;
	if (name == NULL)
		name = cfg_str(cfg, "mail_owner");
	ret = priv_user_lookup(name, &user);
	if (ret < 0) {
		master_set_error(error_r, "look up user %s: %s", name,
				 strerror(errno));
		return NULL;
	}
	if (ret == 0) {
		master_set_error(error_r, "unknown user %s", name);
		return NULL;
	}
	priv_user_free(&user);
	return mem_strdup(name);
}

static char *master_svc_path(struct cfg *cfg, const char *command)
{
	if (strchr(command, '/') != NULL)
		return mem_strdup(command);
	return str_dup_printf("%s/%s", cfg_str(cfg, "daemon_directory"),
			      command);
}

/* argv per server.h: COMMAND -c DIR -s NAME -t TYPE [-u USER] [-r]
 * [-v...] [the row's own options and arguments]. */
static char **master_svc_argv(struct master *m, const struct svc *svc,
			      const char *user, bool chroot)
{
	char **argv = mem_array((size_t)svc->argc + 16, sizeof(char *));
	int n = 0, i;

	argv[n++] = mem_strdup(svc->argv[0]);
	argv[n++] = mem_strdup("-c");
	argv[n++] = mem_strdup(m->config_dir);
	argv[n++] = mem_strdup("-s");
	argv[n++] = mem_strdup(svc->name);
	argv[n++] = mem_strdup("-t");
	argv[n++] = mem_strdup(svc->type == SVC_INET ? "inet" : "unix");
	if (user != NULL) {
		argv[n++] = mem_strdup("-u");
		argv[n++] = mem_strdup(user);
	}
	if (chroot)
		argv[n++] = mem_strdup("-r");
	for (i = 0; i < m->verbose && i < 3; i++)
		argv[n++] = mem_strdup("-v");
	for (i = 1; i < svc->argc; i++)
		argv[n++] = mem_strdup(svc->argv[i]);
	argv[n] = NULL;
	return argv;
}

static bool master_svc_unix_name(const struct svc *svc, char **path_r,
				 char **error_r)
{
	if (svc->name[0] == '\0' || strchr(svc->name, '/') != NULL ||
	    strcmp(svc->name, ".") == 0 || strcmp(svc->name, "..") == 0) {
		master_set_error(error_r, "bad unix service name \"%s\"",
				 svc->name);
		return false;
	}
	*path_r = str_dup_printf("%s/%s", svc->private_ ? "private" : "public",
				 svc->name);
	return true;
}

/* "[v6addr]" as written in services.conf, without the brackets. */
static char *master_svc_host(const char *host)
{
	size_t len;

	if (host == NULL)
		return NULL;
	len = strlen(host);
	if (len >= 2 && host[0] == '[' && host[len - 1] == ']')
		return mem_strndup(host + 1, len - 2);
	return mem_strdup(host);
}

static char *master_svc_listen_id(struct cfg *cfg, const struct svc *svc,
				  const char *sock_path)
{
	struct str id = STR_INIT;
	char **list;

	if (svc->type == SVC_UNIX)
		return str_dup_printf("unix:%s", sock_path);
	str_printf(&id, "inet:%s:%s|", svc->host != NULL ? svc->host : "*",
		   svc->port);
	/* A bare port follows inet_interfaces and inet_protocols. */
	for (list = cfg_list(cfg, "inet_interfaces");
	     svc->host == NULL && *list != NULL; list++)
		str_printf(&id, "%s,", *list);
	str_append_c(&id, '|');
	for (list = cfg_list(cfg, "inet_protocols"); *list != NULL; list++)
		str_printf(&id, "%s,", *list);
	return str_steal(&id);
}

static struct master_service *master_svc_make(struct master *m,
					      struct cfg *cfg,
					      const struct svc *svc,
					      char **error_r)
{
	struct master_service *s = mem_alloc(sizeof(*s));
	char *user = NULL, *err = NULL;
	bool chroot = svc->chroot && !m->instance;

	s->master = m;
	s->status_rd = s->status_wr = -1;
	s->key = mem_strdup(svc_key(svc));
	s->name = mem_strdup(svc->name);
	s->type = svc->type;
	s->where = str_dup_printf("%s:%d", svc->file, svc->line);
	s->maxproc = svc->maxproc >= 0 ? svc->maxproc :
		cfg_int(cfg, "default_process_limit");
	s->wakeup = svc->wakeup;
	if (s->type == SVC_INET) {
		s->host = master_svc_host(svc->host);
		s->port = mem_strdup(svc->port);
	}
	if (s->type == SVC_UNIX &&
	    !master_svc_unix_name(svc, &s->sock_path, &err))
		goto fail;
	if (s->type == SVC_INET && s->wakeup > 0) {
		msg_warn("%s: service %s: wakeup applies to unix services "
			 "only; ignored", s->where, s->name);
		s->wakeup = 0;
	}
	user = master_svc_user(m, cfg, svc, &err);
	if (err != NULL)
		goto fail;
	s->path = master_svc_path(cfg, svc->argv[0]);
	if (access(s->path, X_OK) < 0) {
		master_set_error(&err, "%s: %s", s->path, strerror(errno));
		goto fail;
	}
	s->argv = master_svc_argv(m, svc, user, chroot);
	s->listen_id = master_svc_listen_id(cfg, svc, s->sock_path);
	free(user);
	return s;
fail:
	master_set_error(error_r, "%s: service %s: %s", s->where, svc->name,
			 err);
	free(err);
	free(user);
	master_svc_free(&s);
	return NULL;
}

static bool master_svc_unique(struct master_service *list, char **error_r)
{
	struct master_service *a, *b;

	for (a = list; a != NULL; a = a->next) {
		for (b = a->next; b != NULL; b = b->next) {
			if (strcmp(a->key, b->key) != 0 &&
			    strcmp(a->listen_id, b->listen_id) != 0)
				continue;
			master_set_error(error_r, "%s: service %s: duplicate "
					 "of %s", b->where, b->name,
					 a->where);
			return false;
		}
	}
	return true;
}

static bool master_svc_build(struct master *m, struct cfg *cfg,
			     const struct svc_table *table,
			     struct master_service **services_r,
			     char **error_r)
{
	struct master_service *list = NULL, **tail = &list, *s;
	int i;

	for (i = 0; i < table->count; i++) {
		s = master_svc_make(m, cfg, &table->svcs[i], error_r);
		if (s == NULL) {
			master_svc_free_list(&list);
			return false;
		}
		*tail = s;
		tail = &s->next;
	}
	if (!master_svc_unique(list, error_r)) {
		master_svc_free_list(&list);
		return false;
	}
	*services_r = list;
	return true;
}

bool master_svc_load(struct master *m, const char *dir, struct cfg **cfg_r,
		     struct master_service **services_r, char **error_r)
{
	struct svc_table *table;
	struct cfg *cfg;
	char *path;
	bool ok;

	path = str_dup_printf("%s/correo.conf", dir);
	cfg = cfg_load(path, error_r);
	free(path);
	if (cfg == NULL)
		return false;
	path = str_dup_printf("%s/services.conf", dir);
	table = svc_load(path, error_r);
	free(path);
	if (table == NULL) {
		cfg_free(&cfg);
		return false;
	}
	ok = master_svc_build(m, cfg, table, services_r, error_r);
	svc_table_free(&table);
	if (!ok) {
		cfg_free(&cfg);
		return false;
	}
	*cfg_r = cfg;
	return true;
}

static void master_svc_add_fd(struct master_service *s, int fd)
{
	s->fds = mem_array_realloc(s->fds, (size_t)s->nfds + 1,
				  sizeof(*s->fds));
	s->fds[s->nfds++] = fd;
}

static void master_addr_text(const struct addrinfo *ai, char *buf,
			     size_t size)
{
	char host[NI_MAXHOST], port[NI_MAXSERV];

	if (getnameinfo(ai->ai_addr, ai->ai_addrlen, host, sizeof(host),
			port, sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV))
		str_snprintf(buf, size, "(unknown address)");
	else
		str_snprintf(buf, size, "%s port %s", host, port);
}

/* Returns the listening fd, or -1 with errno and a message. */
/* At start, an address in use may still be held by the previous
 * master's children (a master killed, or stopped and started at once:
 * its postscreen and smtpd close their listeners only as they exit):
 * bind is retried for up to this long. Not at reload, where it would
 * stall the running master. */
#define MASTER_BIND_WAIT_MS 8000
static bool master_bind_patient;

void master_svc_patient(bool on)
{
	master_bind_patient = on;
}

static int master_bind_inet(const struct addrinfo *ai, char **error_r)
{
	char where[NI_MAXHOST + NI_MAXSERV + 8];
	const char *step = "socket";
	int fd, on = 1, saved;

	master_addr_text(ai, where, sizeof(where));
	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol);
	if (fd < 0)
		goto fail;
	step = "setsockopt";
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0)
		goto fail;
	if (ai->ai_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) < 0)
		goto fail;
	step = "bind";
	for (int waited = 0; bind(fd, ai->ai_addr, ai->ai_addrlen) < 0;
	     waited += 100) {
		struct timespec ts = { 0, 100 * 1000 * 1000 };

		if (errno != EADDRINUSE || !master_bind_patient ||
		    waited >= MASTER_BIND_WAIT_MS)
			goto fail;
		if (waited == 0)
			msg_warn("bind %s: address in use; waiting up to %d s "
				 "for a previous master's process to let go",
				 where, MASTER_BIND_WAIT_MS / 1000);
		nanosleep(&ts, NULL);
	}
	step = "listen";
	if (listen(fd, SOMAXCONN) < 0)
		goto fail;
	return fd;
fail:
	saved = errno;
	master_set_error(error_r, "%s %s: %s", step, where, strerror(saved));
	if (fd >= 0)
		close(fd);
	errno = saved;
	return -1;
}

/* Bind every address of host (NULL: the wildcard) in family. A family
 * the host has no address in, or (when not asked for by name) an IPv6
 * the kernel lacks, is skipped. */
static bool master_listen_host(struct master_service *s, const char *host,
			       const char *port, int family, bool must,
			       char **error_r)
{
	struct addrinfo hints, *res, *ai;
	int ret, fd;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = family;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	ret = getaddrinfo(host, port, &hints, &res);
	if (ret == EAI_ADDRFAMILY || ret == EAI_NONAME || ret == EAI_NODATA)
		return true;
	if (ret != 0) {
		master_set_error(error_r, "%s port %s: %s",
				 host != NULL ? host : "*", port,
				 gai_strerror(ret));
		return false;
	}
	for (ai = res; ai != NULL && s->nfds < MASTER_MAX_LISTEN;
	     ai = ai->ai_next) {
		fd = master_bind_inet(ai, error_r);
		if (fd >= 0) {
			master_svc_add_fd(s, fd);
			continue;
		}
		if (!must && family == AF_INET6 && (errno == EAFNOSUPPORT ||
		    errno == EADDRNOTAVAIL)) {
			msg_warn("IPv6 is not available: %s", *error_r);
			mem_free(*error_r);
			continue;
		}
		freeaddrinfo(res);
		return false;
	}
	freeaddrinfo(res);
	return true;
}

static bool master_list_has(char **list, const char *word)
{
	for (; *list != NULL; list++)
		if (strcmp(*list, word) == 0)
			return true;
	return false;
}

static bool master_listen_inet(struct master_service *s, struct cfg *cfg,
			       const char *host, const char *port,
			       char **error_r)
{
	static const char *loopback[] = { "127.0.0.1", "::1" };
	char **protocols = cfg_list(cfg, "inet_protocols");
	char **ifaces = cfg_list(cfg, "inet_interfaces");
	bool all = master_list_has(protocols, "all");
	bool v4 = all || master_list_has(protocols, "ipv4");
	bool v6 = all || master_list_has(protocols, "ipv6");
	const char *const *hosts = (const char *const *)ifaces;
	const char *one[1] = { host };
	size_t i, n = 0;

	/* A NULL host is the wildcard address. */
	if (host != NULL || ifaces[0] == NULL ||
	    master_list_has(ifaces, "all")) {
		hosts = one;
		n = 1;
	} else if (master_list_has(ifaces, "loopback-only")) {
		hosts = loopback;
		n = 2;
	} else {
		while (ifaces[n] != NULL)
			n++;
	}
	for (i = 0; i < n; i++) {
		if (v4 && !master_listen_host(s, hosts[i], port, AF_INET,
					      !all, error_r))
			return false;
		if (v6 && !master_listen_host(s, hosts[i], port, AF_INET6,
					      !all, error_r))
			return false;
	}
	if (s->nfds == 0) {
		master_set_error(error_r, "no address to listen on for %s "
				 "(check inet_interfaces and "
				 "inet_protocols)", s->name);
		return false;
	}
	return true;
}

/* Run as $mail_owner (effective ids only) while touching the
 * directories $mail_owner owns, or back as root. In instance mode there
 * is no one to switch to. Failing to get root back leaves master in an
 * unknown state: fatal. */
static bool master_as_owner(struct master *m, bool on)
{
	if (m->instance)
		return true;
	if (on) {
		if (setegid(m->owner_gid) < 0)
			return false;
		if (seteuid(m->owner_uid) < 0) {
			if (setegid(0) < 0)
				msg_fatal("setegid 0: %m");
			return false;
		}
		return true;
	}
	if (seteuid(0) < 0 || setegid(0) < 0)
		msg_fatal("get root back after creating a socket: %m");
	return true;
}

/* The inflow control FIFO (flow.h), made as $mail_owner so that root
 * never creates a file in private/. Without it smtpd and pickup run
 * with no inflow control, so a failure is only logged. */
static void master_flow_fifo(struct master *m)
{
	int ret = -1, saved = 0;

	if (master_as_owner(m, true)) {
		ret = mkfifoat(m->private_fd, FLOW_NAME, 0600);
		saved = errno;
		master_as_owner(m, false);
	}
	if (ret < 0 && saved != EEXIST)
		msg_warn("create %s/private/%s: %s (no inflow control)",
			 m->queue_dir, FLOW_NAME, strerror(saved));
}

/* The directory fd and the socket's name in it. */
static int master_sock_dir(const struct master_service *s,
			   const char **name_r)
{
	*name_r = strchr(s->sock_path, '/') + 1;
	return strncmp(s->sock_path, "private/", 8) == 0 ?
		s->master->private_fd : s->master->public_fd;
}

/* Remove a stale socket; anything else in the way is an error. */
static bool master_unlink_stale(struct master *m, int dir, const char *name,
				const struct master_service *s,
				char **error_r)
{
	struct stat st;

	if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return true;
	if (!S_ISSOCK(st.st_mode)) {
		master_set_error(error_r, "%s/%s exists and is not a socket",
				 m->queue_dir, s->sock_path);
		return false;
	}
	/* unlinkat never follows: at worst a name is removed that
	 * $mail_owner could remove anyway. */
	if (unlinkat(dir, name, 0) < 0 && errno != ENOENT) {
		master_set_error(error_r, "remove %s/%s: %s", m->queue_dir,
				 s->sock_path, strerror(errno));
		return false;
	}
	return true;
}

/* bind() by the bare name in dir (fchdir there and back: master has one
 * thread), as $mail_owner, under a umask that yields the final mode. */
static bool master_bind_unix(struct master *m, int fd, int dir,
			     const char *name, mode_t mode)
{
	struct sockaddr_un sun;
	mode_t old_mask;
	int ret = -1, saved;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (!str_snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", name)) {
		errno = ENAMETOOLONG;
		return false;
	}
	if (fchdir(dir) < 0)
		return false;
	old_mask = umask(~mode & 0777);
	if (master_as_owner(m, true)) {
		ret = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
		saved = errno;
		master_as_owner(m, false);
		errno = saved;
	}
	saved = errno;
	umask(old_mask);
	if (fchdir(m->queue_fd) < 0)
		msg_fatal("fchdir %s: %m", m->queue_dir);
	errno = saved;
	return ret == 0;
}

static bool master_listen_unix(struct master *m, struct master_service *s,
			       char **error_r)
{
	const char *name;
	int dir = master_sock_dir(s, &name);
	mode_t mode = dir == m->private_fd ? 0600 : 0666;
	int fd;

	if (!master_unlink_stale(m, dir, name, s, error_r))
		return false;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || !master_bind_unix(m, fd, dir, name, mode) ||
	    listen(fd, SOMAXCONN) < 0) {
		master_set_error(error_r, "listen on %s/%s: %s",
				 m->queue_dir, s->sock_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return false;
	}
	master_svc_add_fd(s, fd);
	return true;
}

bool master_svc_listen(struct master *m, struct cfg *cfg,
		       struct master_service *s, char **error_r)
{
	if (s->type == SVC_UNIX)
		return master_listen_unix(m, s, error_r);
	if (!master_listen_inet(s, cfg, s->host, s->port, error_r)) {
		master_svc_close(s, false);
		return false;
	}
	return true;
}

void master_svc_close(struct master_service *s, bool unlink_socket)
{

	const char *name;
	int dir;

	/* No fds: they moved to a new service, and so did the name. */
	if (unlink_socket && s->sock_path != NULL && s->nfds > 0) {
		dir = master_sock_dir(s, &name);
		if (dir >= 0 && unlinkat(dir, name, 0) < 0 && errno != ENOENT)
			msg_warn("remove %s/%s: %m", s->master->queue_dir,
				 s->sock_path);
	}
	for (int i = 0; i < s->nfds; i++)
		close(s->fds[i]);
	mem_free(s->fds);
	s->nfds = 0;
}

void master_svc_free(struct master_service **sp)
{
	struct master_service *s = *sp;
	char **a;

	if (s == NULL)
		return;
	master_svc_close(s, false);
	master_spawn_status_close(s);
	for (a = s->argv; a != NULL && *a != NULL; a++)
		free(*a);
	free(s->argv);
	free(s->key);
	free(s->listen_id);
	free(s->name);
	free(s->path);
	free(s->sock_path);
	free(s->host);
	free(s->port);
	free(s->where);
	mem_free(*sp);
}

void master_svc_free_list(struct master_service **list)
{
	struct master_service *s, *next;

	for (s = *list; s != NULL; s = next) {
		next = s->next;
		master_svc_free(&s);
	}
	*list = NULL;
}

/* Make or open queue/NAME without following a symlink; chown only
 * through the descriptor: to the owner (root when !owned) when created
 * here, else only a wrong user is corrected (an administrator's group,
 * such as public/'s correodrop, is kept). Returns the fd, -1 on error. */
static int master_dir(struct master *m, const char *name, mode_t mode,
		      bool owned, char **error_r)
{
	uid_t uid = owned ? m->owner_uid : 0;
	gid_t gid = owned ? m->owner_gid : 0;
	struct stat st;
	bool made;
	int fd;

	fd = safe_mkdirat(m->queue_fd, name, mode, &made);
	if (fd < 0) {
		master_set_error(error_r, "create %s/%s: %s%s", m->queue_dir,
				 name, strerror(errno), errno == ELOOP ||
				 errno == ENOTDIR ? " (a symlink or not a "
				 "directory: refusing to follow it)" : "");
		return -1;
	}
	if (m->instance)
		return fd;
	if (fstat(fd, &st) < 0 ||
	    (made && fchown(fd, uid, gid) < 0) ||
	    (!made && st.st_uid != uid && fchown(fd, uid, (gid_t)-1) < 0)) {
		master_set_error(error_r, "chown %s/%s: %s", m->queue_dir,
				 name, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

bool master_svc_queue_dirs(struct master *m, char **error_r)
{
	const char *owner = cfg_str(m->cfg, "mail_owner");
	struct priv_user user;
	int pid_fd;

	if (!m->instance) {
		if (priv_user_lookup(owner, &user) != 1) {
			master_set_error(error_r, "mail_owner %s: no such "
					 "user", owner);
			return false;
		}
		m->owner_uid = user.uid;
		m->owner_gid = user.gid;
		priv_user_free(&user);
	}
	if (mkdir(m->queue_dir, 0755) < 0 && errno != EEXIST) {
		master_set_error(error_r, "create %s: %s", m->queue_dir,
				 strerror(errno));
		return false;
	}
	m->queue_fd = open(m->queue_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (m->queue_fd < 0 || fchdir(m->queue_fd) < 0) {
		master_set_error(error_r, "chdir %s: %s", m->queue_dir,
				 strerror(errno));
		return false;
	}
	m->private_fd = master_dir(m, "private", 0700, true, error_r);
	if (m->private_fd < 0)
		return false;
	master_flow_fifo(m);
	m->public_fd = master_dir(m, "public", 0711, true, error_r);
	if (m->public_fd < 0)
		return false;
	/* The pid file and the lock are written there by path. */
	pid_fd = master_dir(m, "pid", 0755, false, error_r);
	if (pid_fd < 0)
		return false;
	close(pid_fd);
	return true;
}
