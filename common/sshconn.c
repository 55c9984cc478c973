/*
 * <libssh2.h> comes before our header, which declares sshconn_session()
 * only where libssh2's types are known.
 */
#include <libssh2.h>

#include "sshconn.h"

#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <linux/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include "buf.h"
#include "errors.h"
#include "knownhosts.h"
#include "timeutil.h"

struct sshconn {
	int fd;
	LIBSSH2_SESSION *session;
	struct knownhosts *known;
	struct sshconn_deadline connect_dl;	/* also for authentication */
	char *label;		/* "host:port" or "[v6]:port" */
	const unsigned char *key;	/* host key blob (libssh2's) */
	size_t key_len;
	bool handshaken;
	bool broken;		/* the session cannot be used any more */
};

struct sshconn_deadline sshconn_deadline(unsigned secs, bool command)
{
	struct sshconn_deadline dl = { 0, secs, command, false };

	if (secs)
		dl.at = timeutil_now_ms() + (int64_t)secs * 1000;
	return dl;
}

struct sshconn_deadline sshconn_grace(void)
{
	struct sshconn_deadline dl = { 0, 0, false, true };

	dl.at = timeutil_now_ms() + SSHCONN_GRACE_MS;
	return dl;
}

bool sshconn_deadline_passed(const struct sshconn_deadline *dl)
{
	return dl->at && timeutil_now_ms() >= dl->at;
}

int sshconn_timed_out(const struct sshconn *c,
		      const struct sshconn_deadline *dl)
{
	if (dl->quiet)
		return ERR_TIMEOUT;
	if (dl->command)
		return error_set(ERR_TIMEOUT,
				 "remote command timed out after %u s",
				 dl->secs);
	return error_set(ERR_TIMEOUT, "connection to '%s' timed out after %u s",
			 c->label, dl->secs);
}

/*
 * Wait until `fd` is ready for `events` or the deadline passes. Returns
 * 0, ERR_TIMEOUT (no message set) or ERR_SYS.
 */
static int wait_fd(int fd, short events, const struct sshconn_deadline *dl)
{
	struct pollfd pfd;
	int ms, n;

	for (;;) {
		ms = -1;
		if (dl->at) {
			int64_t left = dl->at - timeutil_now_ms();

			if (left <= 0)
				return ERR_TIMEOUT;
			ms = left > INT_MAX ? INT_MAX : (int)left;
		}
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		n = poll(&pfd, 1, ms);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return error_set_errno(ERR_SYS, "cannot poll");
	}
}

int sshconn_wait(struct sshconn *c, const struct sshconn_deadline *dl)
{
	int dir = libssh2_session_block_directions(c->session);
	short events = 0;
	int r;

	if (dir & LIBSSH2_SESSION_BLOCK_INBOUND)
		events |= POLLIN;
	if (dir & LIBSSH2_SESSION_BLOCK_OUTBOUND)
		events |= POLLOUT;
	if (!events)
		events = POLLIN;
	r = wait_fd(c->fd, events, dl);
	if (r == ERR_TIMEOUT)
		return sshconn_timed_out(c, dl);
	return r;
}

bool sshconn_outbound_pending(const struct sshconn *c)
{
	return libssh2_session_block_directions(c->session) &
	       LIBSSH2_SESSION_BLOCK_OUTBOUND;
}

unsigned sshconn_rtt_us(const struct sshconn *c)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	if (c->fd < 0 || getsockopt(c->fd, IPPROTO_TCP, TCP_INFO, &ti, &len))
		return 0;
	if (len >= offsetof(struct tcp_info, tcpi_min_rtt) +
		   sizeof(ti.tcpi_min_rtt) && ti.tcpi_min_rtt &&
	    ti.tcpi_min_rtt != ~0U)
		return ti.tcpi_min_rtt;
	if (len >= offsetof(struct tcp_info, tcpi_rtt) + sizeof(ti.tcpi_rtt))
		return ti.tcpi_rtt;
	return 0;
}

bool sshconn_is_openssh(const struct sshconn *c)
{
	const char *b = c->handshaken ?
			libssh2_session_banner_get(c->session) : NULL;

	return b && !strncmp(b, "SSH-2.0-OpenSSH_", 16);
}

/* Errors of the transport leave the session unusable. */
static void broken_if_fatal(struct sshconn *c, int rc)
{
	switch (rc) {
	case LIBSSH2_ERROR_SOCKET_SEND:
	case LIBSSH2_ERROR_SOCKET_RECV:
	case LIBSSH2_ERROR_SOCKET_DISCONNECT:
	case LIBSSH2_ERROR_SOCKET_TIMEOUT:
	case LIBSSH2_ERROR_TIMEOUT:
	case LIBSSH2_ERROR_DECRYPT:
	case LIBSSH2_ERROR_PROTO:
	case LIBSSH2_ERROR_KEX_FAILURE:
	case LIBSSH2_ERROR_BAD_USE:
		c->broken = true;
		break;
	}
}

int sshconn_error(struct sshconn *c, int rc, const char *what)
{
	char *msg = NULL;
	const char *text;

	libssh2_session_last_error(c->session, &msg, NULL, 0);
	text = msg && *msg ? msg : "unknown libssh2 error";
	broken_if_fatal(c, rc);
	switch (rc) {
	case LIBSSH2_ERROR_SOCKET_SEND:
	case LIBSSH2_ERROR_SOCKET_RECV:
	case LIBSSH2_ERROR_SOCKET_DISCONNECT:
	case LIBSSH2_ERROR_SOCKET_TIMEOUT:
		return error_set(ERR_SYS, "lost the connection to '%s' (%s)",
				 c->label, text);
	}
	return error_set(ERR_GENERIC, "%s '%s' failed: %s", what, c->label,
			 text);
}

const char *sshconn_compression(const struct sshconn *c)
{
	const char *m = NULL;

	if (c->handshaken)
		m = libssh2_session_methods(c->session,
					    LIBSSH2_METHOD_COMP_CS);
	return m ? m : "none";
}

const char *sshconn_label(const struct sshconn *c)
{
	return c->label;
}

bool sshconn_broken(const struct sshconn *c)
{
	return c->broken;
}

void sshconn_set_broken(struct sshconn *c)
{
	c->broken = true;
}

LIBSSH2_SESSION *sshconn_session(const struct sshconn *c)
{
	return c->session;
}

/*
 * Our recv() for libssh2: re-arm TCP_QUICKACK first, so that the kernel
 * acknowledges at once instead of delaying (this removes a 40 ms stall
 * waiting for the channel-open confirmation). Also while an upload
 * streams: when the server is the slower side, the window fills, nothing
 * goes out to carry an acknowledgement, and the server's next window
 * adjustment waits for one (Nagle's rule): a delayed one slowed a
 * ten-host deploy down by a tenth. Returns -errno like libssh2's own.
 */
static ssize_t recv_quickack(libssh2_socket_t fd, void *buffer, size_t length,
			     int flags, void **abstract)
{
	int one = 1;
	ssize_t n;

	(void)abstract;
	setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
	do
		n = recv(fd, buffer, length, flags);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

static int library_init(void)
{
	static bool done;

	if (done)
		return 0;
	if (libssh2_init(0))
		return error_set(ERR_GENERIC, "cannot initialise libssh2");
	done = true;
	return 0;
}

/*
 * Ask for the host key types known_hosts holds for this host first (see
 * knownhosts_algorithms()).
 */
static int prefer_known_types(struct sshconn *c)
{
	struct buf prefs = BUF_INIT;
	const char **algs = NULL;
	int nalgs, rc, r;

	/*
	 * Only names libssh2 supports: its method_pref() would strip the
	 * others with an overlapping memcpy() (libssh2 1.10).
	 */
	nalgs = libssh2_session_supported_algs(c->session,
					       LIBSSH2_METHOD_HOSTKEY, &algs);
	if (nalgs <= 0)
		return sshconn_error(c, nalgs, "listing host key types for");
	if ((r = knownhosts_algorithms(&prefs, c->known, algs,
				       (size_t)nalgs)) < 0)
		goto out;
	rc = libssh2_session_method_pref(c->session, LIBSSH2_METHOD_HOSTKEY,
					 prefs.ptr);
	if (rc)
		r = sshconn_error(c, rc, "choosing host key types for");
out:
	libssh2_free(c->session, algs);
	buf_release(&prefs);
	return r;
}

static int tcp_connect(struct sshconn *c, const struct sshconn_opts *opts,
		       const struct sshconn_deadline *dl)
{
	struct addrinfo hints, *res = NULL, *ai;
	char port[16];
	int fd = -1, err = ECONNREFUSED, gai, r = 0, one = 1;
	socklen_t len;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%u", opts->port);
	gai = getaddrinfo(opts->host, port, &hints, &res);
	if (gai)
		return error_set(ERR_SYS, "cannot connect to '%s': %s",
				 c->label, gai == EAI_SYSTEM ?
				 strerror(errno) : gai_strerror(gai));
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
			    SOCK_NONBLOCK, ai->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		if (!connect(fd, ai->ai_addr, ai->ai_addrlen))
			break;
		err = errno;
		if (err == EINPROGRESS || err == EINTR) {
			r = wait_fd(fd, POLLOUT, dl);
			if (r == ERR_TIMEOUT) {
				r = sshconn_timed_out(c, dl);
				goto out;
			}
			if (r < 0)
				goto out;
			len = sizeof(err);
			if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err,
				       &len) < 0)
				err = errno;
			if (!err)
				break;
		}
		close(fd);
		fd = -1;
	}
	if (fd < 0) {
		r = error_set(ERR_SYS, "cannot connect to '%s': %s", c->label,
			      strerror(err));
		goto out;
	}
	/* Small packets (channel requests, window adjustments) go at once. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->fd = fd;
	fd = -1;
out:
	if (fd >= 0)
		close(fd);
	freeaddrinfo(res);
	return r;
}

/*
 * Read the host key the server presented into *key and c, and look it up
 * in known_hosts (known or changed). An unknown or changed key is not an
 * error here: the callers decide.
 */
static int check_hostkey(struct sshconn *c, struct sshconn_hostkey *key)
{
	enum knownhosts_match match;
	const char *raw, *hash;
	size_t len;
	int type, r;

	raw = libssh2_session_hostkey(c->session, &len, &type);
	hash = libssh2_hostkey_hash(c->session, LIBSSH2_HOSTKEY_HASH_SHA256);
	if (!raw || !hash)
		return error_set(ERR_GENERIC, "no host key from '%s'",
				 c->label);
	knownhosts_key_type(key->type, sizeof(key->type), raw, len);
	knownhosts_fingerprint(key->fingerprint, sizeof(key->fingerprint),
			       (const unsigned char *)hash);
	if (!knownhosts_key_supported(raw, len))
		return error_set(ERR_INVALID,
				 "unsupported host key type for '%s' (%s %s)",
				 c->label, key->type, key->fingerprint);
	c->key = (const unsigned char *)raw;
	c->key_len = len;
	if ((r = knownhosts_check(&match, c->known, raw, len)) < 0)
		return r;
	key->known = match == KNOWNHOSTS_MATCH;
	key->changed = match == KNOWNHOSTS_CHANGED;
	return 0;
}

int sshconn_open(struct sshconn **out, struct sshconn_hostkey *key,
		 const struct sshconn_opts *opts)
{
	struct sshconn *c = NULL;
	struct buf label = BUF_INIT;
	int rc, r;

	*out = NULL;
	memset(key, 0, sizeof(*key));
	if (!opts || !opts->host || !*opts->host || !opts->port ||
	    opts->port > 65535)
		return error_set(ERR_INVALID, "invalid ssh host or port");
	if ((r = library_init()) < 0)
		return r;
	c = xcalloc(1, sizeof(*c));
	c->fd = -1;
	c->connect_dl = sshconn_deadline(opts->connect_timeout, false);
	if (strchr(opts->host, ':'))
		r = buf_addf(&label, "[%s]:%u", opts->host, opts->port);
	else
		r = buf_addf(&label, "%s:%u", opts->host, opts->port);
	c->label = buf_detach(&label, NULL);
	if (r < 0) {
		r = error_set(ERR_INVALID, "ssh host name too long");
		goto out;
	}
	if ((r = tcp_connect(c, opts, &c->connect_dl)) < 0)
		goto out;
	c->session = libssh2_session_init_ex(NULL, NULL, NULL, c);
	if (!c->session) {
		r = error_set(ERR_GENERIC, "cannot start an ssh session");
		goto out;
	}
	libssh2_session_set_blocking(c->session, 0);
	libssh2_session_callback_set(c->session, LIBSSH2_CALLBACK_RECV,
				     (void *)recv_quickack);
	if ((r = knownhosts_load(&c->known, opts->known_hosts, opts->host,
				 opts->port, c->label)) < 0 ||
	    (r = prefer_known_types(c)) < 0)
		goto out;
	/*
	 * With this flag libssh2 1.10 offers "zlib,zlib@openssh.com,none"
	 * (without it, or when built without zlib, only "none"). OpenSSH
	 * servers offer only the delayed zlib@openssh.com, which starts
	 * after authentication; a server that offers none of them gets an
	 * uncompressed connection.
	 */
	if (opts->compress &&
	    (rc = libssh2_session_flag(c->session, LIBSSH2_FLAG_COMPRESS, 1))) {
		r = sshconn_error(c, rc, "asking for compression with");
		goto out;
	}
	for (;;) {
		rc = libssh2_session_handshake(c->session, c->fd);
		if (rc != LIBSSH2_ERROR_EAGAIN)
			break;
		if ((r = sshconn_wait(c, &c->connect_dl)) < 0)
			goto out;
	}
	if (rc) {
		r = sshconn_error(c, rc, "ssh handshake with");
		goto out;
	}
	c->handshaken = true;
	if ((r = check_hostkey(c, key)) < 0)
		goto out;
	*out = c;
	c = NULL;
out:
	sshconn_free(c);
	return r;
}

static int auth_agent(struct sshconn *c, const char *user, bool *ok)
{
	LIBSSH2_AGENT *agent = NULL;
	struct libssh2_agent_publickey *id = NULL, *prev = NULL;
	int rc, r = 0;

	agent = libssh2_agent_init(c->session);
	if (!agent || libssh2_agent_connect(agent) ||
	    libssh2_agent_list_identities(agent))
		goto out;
	while (!*ok && !c->broken &&
	       !libssh2_agent_get_identity(agent, &id, prev)) {
		for (;;) {
			rc = libssh2_agent_userauth(agent, user, id);
			if (rc != LIBSSH2_ERROR_EAGAIN)
				break;
			if ((r = sshconn_wait(c, &c->connect_dl)) < 0)
				goto out;
		}
		if (!rc)
			*ok = true;
		else
			broken_if_fatal(c, rc);
		prev = id;
	}
out:
	if (agent) {
		libssh2_agent_disconnect(agent);
		libssh2_agent_free(agent);
	}
	return r;
}

int sshconn_authenticate(struct sshconn *c, const char *user,
			 const char *identity)
{
	bool ok = false;
	int rc, r;

	if (!user || !*user)
		return error_set(ERR_INVALID, "no ssh user for '%s'",
				 c->label);
	if (identity) {
		/*
		 * No public key file: libssh2 derives it from the private
		 * key. An empty passphrase rather than NULL, so that OpenSSL
		 * never prompts on a terminal for an encrypted PEM key.
		 */
		for (;;) {
			rc = libssh2_userauth_publickey_fromfile_ex(c->session,
				user, (unsigned)strlen(user), NULL, identity,
				"");
			if (rc != LIBSSH2_ERROR_EAGAIN)
				break;
			if ((r = sshconn_wait(c, &c->connect_dl)) < 0)
				return r;
		}
		ok = !rc;
	} else if ((r = auth_agent(c, user, &ok)) < 0) {
		return r;
	}
	if (!ok || !libssh2_userauth_authenticated(c->session))
		return error_set(ERR_GENERIC,
				 "authentication failed for '%s@%s'",
				 user, c->label);
	return 0;
}

int sshconn_add_hostkey(struct sshconn *c)
{
	return knownhosts_add(c->known, c->key, c->key_len);
}

/*
 * A polite disconnect, briefly; the socket is shut down before anything
 * is freed, so that nothing left can wait on the server.
 */
void sshconn_free(struct sshconn *c)
{
	struct sshconn_deadline dl = sshconn_grace();
	int rc;

	if (!c)
		return;
	if (c->session) {
		while (c->handshaken && !c->broken) {
			rc = libssh2_session_disconnect(c->session,
							"closed by pushgate");
			if (rc != LIBSSH2_ERROR_EAGAIN ||
			    sshconn_wait(c, &dl) < 0)
				break;
		}
		if (c->fd >= 0)
			shutdown(c->fd, SHUT_RDWR);
		libssh2_session_free(c->session);
	}
	knownhosts_free(c->known);
	if (c->fd >= 0)
		close(c->fd);
	free(c->label);
	free(c);
}
