#include "ssh.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <libssh2.h>

#include "buf.h"
#include "errors.h"
#include "fsutil.h"
#include "timeutil.h"

/*
 * The session runs in non-blocking mode: every libssh2 call that returns
 * LIBSSH2_ERROR_EAGAIN is repeated after poll() says the socket is ready
 * in the direction libssh2 is blocked on, so that each step honours a
 * deadline (connect_timeout for TCP, handshake and authentication; the
 * command timeout for a channel).
 *
 * One rule keeps libssh2's state machines happy: when a call returns
 * EAGAIN with a packet half sent (LIBSSH2_SESSION_BLOCK_OUTBOUND), that
 * same call is repeated, with the same arguments, before any other call
 * that may send. libssh2 keeps only one outgoing packet in flight and
 * refuses (or stalls on) a different one.
 */

/* libssh2 puts at most this many data bytes into one channel packet. */
#define PACKET_DATA 32700
/* Largest known_hosts file read, and its longest line. */
#define KNOWN_HOSTS_MAX (16 * 1024 * 1024)
#define KNOWN_HOSTS_LINE_MAX (16 * 1024)
/* How long closing a channel or the session may take after a failure. */
#define GRACE_MS 1000
/* Bytes read from a channel in one call. */
#define READ_CHUNK (32 * 1024)

struct deadline {
	int64_t at;		/* CLOCK_MONOTONIC milliseconds; 0: none */
	unsigned secs;		/* for the message */
	bool command;		/* a remote command's deadline, not connect's */
	bool quiet;		/* no message: a cleanup's grace period */
};

struct ssh {
	int fd;
	LIBSSH2_SESSION *session;
	LIBSSH2_KNOWNHOSTS *known;
	struct ssh_channel *channels;	/* open, for ssh_free() */
	char *label;		/* "host:port" or "[v6]:port", for messages */
	const unsigned char *key;	/* host key blob, owned by libssh2 */
	size_t key_len;
	int key_mask;		/* LIBSSH2_KNOWNHOST_KEY_* of the host key */
	bool handshaken;
	bool broken;		/* the session cannot be used any more */
};

struct ssh_channel {
	struct ssh *s;
	LIBSSH2_CHANNEL *ch;	/* NULL once freed or left to the session */
	struct ssh_channel *next;
	struct deadline dl;
	ssh_output_fn on_output;
	void *payload;
	char *ring;		/* the last SSH_OUTPUT_CAP bytes of output */
	size_t ring_start, ring_len;
	int error;		/* the failure of an earlier step, or 0 */
	bool eof_sent;
	bool remote_closed;	/* the command is gone: drop further input */
	size_t wlen;		/* bytes waiting in wbuf */
	char errmsg[ERROR_MSG_MAX];
	char wbuf[PACKET_DATA];
	char rbuf[READ_CHUNK];
};

/* Host key types we accept, in the order we prefer them (OpenSSH's). */
static const struct keytype {
	int type;		/* LIBSSH2_HOSTKEY_TYPE_* */
	int mask;		/* LIBSSH2_KNOWNHOST_KEY_* */
	const char *name;
	/* Host key algorithms for this key type, best first. */
	const char *algorithms[4];
} keytypes[] = {
	{ LIBSSH2_HOSTKEY_TYPE_ED25519, LIBSSH2_KNOWNHOST_KEY_ED25519,
	  "ssh-ed25519", { "ssh-ed25519", NULL } },
	{ LIBSSH2_HOSTKEY_TYPE_ECDSA_256, LIBSSH2_KNOWNHOST_KEY_ECDSA_256,
	  "ecdsa-sha2-nistp256", { "ecdsa-sha2-nistp256", NULL } },
	{ LIBSSH2_HOSTKEY_TYPE_ECDSA_384, LIBSSH2_KNOWNHOST_KEY_ECDSA_384,
	  "ecdsa-sha2-nistp384", { "ecdsa-sha2-nistp384", NULL } },
	{ LIBSSH2_HOSTKEY_TYPE_ECDSA_521, LIBSSH2_KNOWNHOST_KEY_ECDSA_521,
	  "ecdsa-sha2-nistp521", { "ecdsa-sha2-nistp521", NULL } },
	{ LIBSSH2_HOSTKEY_TYPE_RSA, LIBSSH2_KNOWNHOST_KEY_SSHRSA,
	  "ssh-rsa", { "rsa-sha2-512", "rsa-sha2-256", "ssh-rsa", NULL } },
};

#define NKEYTYPES (sizeof(keytypes) / sizeof(keytypes[0]))

static struct ssh_hostkey last_hostkey;

static struct deadline deadline_in(unsigned secs, bool command)
{
	struct deadline dl = { 0, secs, command, false };

	if (secs)
		dl.at = timeutil_now_ms() + (int64_t)secs * 1000;
	return dl;
}

static struct deadline grace(void)
{
	struct deadline dl = { 0, 0, false, true };

	dl.at = timeutil_now_ms() + GRACE_MS;
	return dl;
}

static bool deadline_passed(const struct deadline *dl)
{
	return dl->at && timeutil_now_ms() >= dl->at;
}

static int timed_out(const struct ssh *s, const struct deadline *dl)
{
	if (dl->quiet)
		return ERR_TIMEOUT;
	if (dl->command)
		return error_set(ERR_TIMEOUT,
				 "remote command timed out after %u s",
				 dl->secs);
	return error_set(ERR_TIMEOUT, "connection to '%s' timed out after %u s",
			 s->label, dl->secs);
}

/*
 * Wait until `fd` is ready for `events` or the deadline passes. Returns
 * 0, ERR_TIMEOUT (no message set) or ERR_SYS.
 */
static int wait_fd(int fd, short events, const struct deadline *dl)
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

/* Wait for the socket in the direction libssh2 is blocked on. */
static int wait_socket(struct ssh *s, const struct deadline *dl)
{
	int dir = libssh2_session_block_directions(s->session);
	short events = 0;
	int r;

	if (dir & LIBSSH2_SESSION_BLOCK_INBOUND)
		events |= POLLIN;
	if (dir & LIBSSH2_SESSION_BLOCK_OUTBOUND)
		events |= POLLOUT;
	if (!events)
		events = POLLIN;
	r = wait_fd(s->fd, events, dl);
	if (r == ERR_TIMEOUT)
		return timed_out(s, dl);
	return r;
}

static bool outbound_pending(const struct ssh *s)
{
	return libssh2_session_block_directions(s->session) &
	       LIBSSH2_SESSION_BLOCK_OUTBOUND;
}

/* Errors of the transport leave the session unusable. */
static void broken_if_fatal(struct ssh *s, int rc)
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
		s->broken = true;
		break;
	}
}

/*
 * A libssh2 failure: "WHAT 'HOST:PORT' failed: libssh2's message", or
 * ERR_SYS for a lost connection.
 */
static int lib_error(struct ssh *s, int rc, const char *what)
{
	char *msg = NULL;
	const char *text;

	libssh2_session_last_error(s->session, &msg, NULL, 0);
	text = msg && *msg ? msg : "unknown libssh2 error";
	broken_if_fatal(s, rc);
	switch (rc) {
	case LIBSSH2_ERROR_SOCKET_SEND:
	case LIBSSH2_ERROR_SOCKET_RECV:
	case LIBSSH2_ERROR_SOCKET_DISCONNECT:
	case LIBSSH2_ERROR_SOCKET_TIMEOUT:
		return error_set(ERR_SYS, "lost the connection to '%s' (%s)",
				 s->label, text);
	}
	return error_set(ERR_GENERIC, "%s '%s' failed: %s", what, s->label,
			 text);
}

/*
 * Our recv() for libssh2: re-arm TCP_QUICKACK first, so that the kernel
 * acknowledges at once instead of delaying (this removes a 40 ms stall
 * waiting for the channel-open confirmation). Returns -errno like
 * libssh2's own.
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

/* OpenSSH's form of a SHA-256 digest: "SHA256:" + unpadded base64. */
static void fingerprint(char *out, size_t size, const unsigned char *hash)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		"abcdefghijklmnopqrstuvwxyz0123456789+/";
	char text[48];		/* 43 characters for 32 bytes */
	size_t i, n = 0;

	for (i = 0; i < 32; i += 3) {
		uint32_t v = (uint32_t)hash[i] << 16;

		if (i + 1 < 32)
			v |= (uint32_t)hash[i + 1] << 8;
		if (i + 2 < 32)
			v |= hash[i + 2];
		text[n++] = b64[(v >> 18) & 63];
		text[n++] = b64[(v >> 12) & 63];
		if (i + 1 < 32)
			text[n++] = b64[(v >> 6) & 63];
		if (i + 2 < 32)
			text[n++] = b64[v & 63];
	}
	text[n] = '\0';
	snprintf(out, size, "SHA256:%s", text);
}

static const struct keytype *keytype_of(int type)
{
	size_t i;

	for (i = 0; i < NKEYTYPES; i++)
		if (keytypes[i].type == type)
			return &keytypes[i];
	return NULL;
}

/* The key type name at the start of a key blob, else from `kt`. */
static void key_type_name(char *out, size_t size, const unsigned char *blob,
			  size_t len, const struct keytype *kt)
{
	size_t n = 0, i;

	if (len >= 4)
		n = (size_t)blob[0] << 24 | (size_t)blob[1] << 16 |
		    (size_t)blob[2] << 8 | blob[3];
	if (!n || n >= size || n > len - 4) {
		snprintf(out, size, "%s", kt ? kt->name : "unknown");
		return;
	}
	for (i = 0; i < n; i++) {
		if (blob[4 + i] <= ' ' || blob[4 + i] > '~') {
			snprintf(out, size, "%s", kt ? kt->name : "unknown");
			return;
		}
		out[i] = (char)blob[4 + i];
	}
	out[n] = '\0';
}

/*
 * Read `path` into s->known (and its text into `text`, if given). A
 * missing file is an empty one. Lines libssh2 cannot parse (markers such
 * as @cert-authority, key types it does not know) are skipped: they can
 * only make a key unknown, never accept one.
 */
static int load_known_hosts(struct ssh *s, const char *path, struct buf *text)
{
	struct buf local = BUF_INIT, line = BUF_INIT;
	struct buf *file = text ? text : &local;
	struct stat st;
	const char *p, *end, *nl;
	int fd = -1, r = 0;

	buf_init(&local, KNOWN_HOSTS_MAX);
	buf_init(&line, KNOWN_HOSTS_LINE_MAX);
	buf_reset(file);
	s->known = libssh2_knownhost_init(s->session);
	if (!s->known) {
		r = error_set(ERR_GENERIC, "cannot allocate known hosts");
		goto out;
	}
	if (!path)
		goto out;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		if (errno != ENOENT)
			r = error_set_errno(ERR_SYS, "cannot open '%s'", path);
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		r = error_set_errno(ERR_SYS, "cannot stat '%s'", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = error_set(ERR_INVALID, "'%s' is not a regular file", path);
		goto out;
	}
	if ((r = buf_read_fd(file, fd)) < 0) {
		char why[ERROR_MSG_MAX];

		snprintf(why, sizeof(why), "%s", error_last());
		r = error_set(r, "cannot read '%s': %s", path, why);
		goto out;
	}
	for (p = file->ptr, end = file->ptr + file->len; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			nl = end;
		buf_reset(&line);
		if (memchr(p, '\0', (size_t)(nl - p)) ||
		    buf_add(&line, p, (size_t)(nl - p)) < 0 ||
		    buf_addch(&line, '\n') < 0)
			continue;
		/* Skipped if libssh2 cannot parse it (see above). */
		libssh2_knownhost_readline(s->known, line.ptr, line.len,
					   LIBSSH2_KNOWNHOST_FILE_OPENSSH);
	}
out:
	if (fd >= 0)
		close(fd);
	buf_release(&line);
	buf_release(&local);
	return r;
}

static bool supported(const char **algs, int n, const char *name)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcmp(algs[i], name))
			return true;
	return false;
}

/*
 * Prefer the host key types known_hosts holds for this host (as OpenSSH
 * does), so that a server with several keys presents the one we know.
 * The others follow: an unknown key is then reported, not a failed
 * key exchange. DSA is never accepted.
 */
static int prefer_known_types(struct ssh *s, const struct ssh_opts *opts)
{
	struct buf prefs = BUF_INIT;
	const char **algs = NULL;
	const char *const *name;
	bool known[NKEYTYPES];
	size_t i;
	int nalgs, pass, rc, r = 0;

	/*
	 * Only names libssh2 supports: its method_pref() would strip the
	 * others with an overlapping memcpy() (libssh2 1.10).
	 */
	nalgs = libssh2_session_supported_algs(s->session,
					       LIBSSH2_METHOD_HOSTKEY, &algs);
	if (nalgs <= 0)
		return lib_error(s, nalgs, "listing host key types for");

	for (i = 0; i < NKEYTYPES; i++) {
		/* A dummy key: MISMATCH means an entry of this type exists. */
		rc = libssh2_knownhost_checkp(s->known, opts->host,
					      (int)opts->port, "x", 1,
					      LIBSSH2_KNOWNHOST_TYPE_PLAIN |
					      LIBSSH2_KNOWNHOST_KEYENC_RAW |
					      keytypes[i].mask, NULL);
		known[i] = rc == LIBSSH2_KNOWNHOST_CHECK_MISMATCH;
	}
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < NKEYTYPES; i++) {
			if (known[i] != !pass)
				continue;
			for (name = keytypes[i].algorithms; *name; name++) {
				if (!supported(algs, nalgs, *name))
					continue;
				if (prefs.len &&
				    (r = buf_addch(&prefs, ',')) < 0)
					goto out;
				if ((r = buf_addstr(&prefs, *name)) < 0)
					goto out;
			}
		}
	}
	if (!prefs.len) {
		r = error_set(ERR_GENERIC, "no usable host key type for '%s'",
			      s->label);
		goto out;
	}
	rc = libssh2_session_method_pref(s->session, LIBSSH2_METHOD_HOSTKEY,
					 prefs.ptr);
	if (rc)
		r = lib_error(s, rc, "choosing host key types for");
out:
	libssh2_free(s->session, algs);
	buf_release(&prefs);
	return r;
}

static int tcp_connect(struct ssh *s, const struct ssh_opts *opts,
		       const struct deadline *dl)
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
				 s->label, gai == EAI_SYSTEM ?
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
				r = timed_out(s, dl);
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
		r = error_set(ERR_SYS, "cannot connect to '%s': %s", s->label,
			      strerror(err));
		goto out;
	}
	/* Small packets (channel requests, window adjustments) go at once. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	s->fd = fd;
	fd = -1;
out:
	if (fd >= 0)
		close(fd);
	freeaddrinfo(res);
	return r;
}

/*
 * Read the host key the server presented into last_hostkey and s, and
 * look it up in known_hosts (known or changed). An unknown or changed key
 * is not an error here: the callers decide.
 */
static int check_hostkey(struct ssh *s, const struct ssh_opts *opts)
{
	const struct keytype *kt;
	const char *raw, *hash;
	size_t len;
	int type, rc;

	raw = libssh2_session_hostkey(s->session, &len, &type);
	hash = libssh2_hostkey_hash(s->session, LIBSSH2_HOSTKEY_HASH_SHA256);
	if (!raw || !hash)
		return error_set(ERR_GENERIC, "no host key from '%s'",
				 s->label);
	kt = keytype_of(type);
	key_type_name(last_hostkey.type, sizeof(last_hostkey.type),
		      (const unsigned char *)raw, len, kt);
	fingerprint(last_hostkey.fingerprint, sizeof(last_hostkey.fingerprint),
		    (const unsigned char *)hash);
	if (!kt)
		return error_set(ERR_INVALID,
				 "unsupported host key type for '%s' (%s %s)",
				 s->label, last_hostkey.type,
				 last_hostkey.fingerprint);
	s->key = (const unsigned char *)raw;
	s->key_len = len;
	s->key_mask = kt->mask;
	rc = libssh2_knownhost_checkp(s->known, opts->host, (int)opts->port,
				      raw, len, LIBSSH2_KNOWNHOST_TYPE_PLAIN |
				      LIBSSH2_KNOWNHOST_KEYENC_RAW | kt->mask,
				      NULL);
	switch (rc) {
	case LIBSSH2_KNOWNHOST_CHECK_MATCH:
		last_hostkey.known = true;
		break;
	case LIBSSH2_KNOWNHOST_CHECK_MISMATCH:
		last_hostkey.changed = true;
		break;
	case LIBSSH2_KNOWNHOST_CHECK_NOTFOUND:
		break;
	default:
		return lib_error(s, rc, "checking the host key of");
	}
	return 0;
}

/*
 * Connect and do the key exchange; the host key is then in last_hostkey
 * (known or changed from known_hosts) and in s. Does not authenticate.
 * The known_hosts text goes to `known_text` if given.
 */
static int session_open(struct ssh **out, const struct ssh_opts *opts,
			const struct deadline *dl, struct buf *known_text)
{
	struct ssh *s = NULL;
	struct buf label = BUF_INIT;
	int rc, r;

	*out = NULL;
	memset(&last_hostkey, 0, sizeof(last_hostkey));
	if (!opts || !opts->host || !*opts->host || !opts->port ||
	    opts->port > 65535)
		return error_set(ERR_INVALID, "invalid ssh host or port");
	if ((r = library_init()) < 0)
		return r;
	s = xcalloc(1, sizeof(*s));
	s->fd = -1;
	if (strchr(opts->host, ':'))
		r = buf_addf(&label, "[%s]:%u", opts->host, opts->port);
	else
		r = buf_addf(&label, "%s:%u", opts->host, opts->port);
	s->label = buf_detach(&label, NULL);
	if (r < 0) {
		r = error_set(ERR_INVALID, "ssh host name too long");
		goto out;
	}
	if ((r = tcp_connect(s, opts, dl)) < 0)
		goto out;
	s->session = libssh2_session_init_ex(NULL, NULL, NULL, s);
	if (!s->session) {
		r = error_set(ERR_GENERIC, "cannot start an ssh session");
		goto out;
	}
	libssh2_session_set_blocking(s->session, 0);
	libssh2_session_callback_set(s->session, LIBSSH2_CALLBACK_RECV,
				     (void *)recv_quickack);
	if ((r = load_known_hosts(s, opts->known_hosts, known_text)) < 0 ||
	    (r = prefer_known_types(s, opts)) < 0)
		goto out;
	for (;;) {
		rc = libssh2_session_handshake(s->session, s->fd);
		if (rc != LIBSSH2_ERROR_EAGAIN)
			break;
		if ((r = wait_socket(s, dl)) < 0)
			goto out;
	}
	if (rc) {
		r = lib_error(s, rc, "ssh handshake with");
		goto out;
	}
	s->handshaken = true;
	if ((r = check_hostkey(s, opts)) < 0)
		goto out;
	*out = s;
	s = NULL;
out:
	ssh_free(s);
	return r;
}

static int auth_agent(struct ssh *s, const char *user,
		      const struct deadline *dl, bool *ok)
{
	LIBSSH2_AGENT *agent = NULL;
	struct libssh2_agent_publickey *id = NULL, *prev = NULL;
	int rc, r = 0;

	agent = libssh2_agent_init(s->session);
	if (!agent || libssh2_agent_connect(agent) ||
	    libssh2_agent_list_identities(agent))
		goto out;
	while (!*ok && !s->broken &&
	       !libssh2_agent_get_identity(agent, &id, prev)) {
		for (;;) {
			rc = libssh2_agent_userauth(agent, user, id);
			if (rc != LIBSSH2_ERROR_EAGAIN)
				break;
			if ((r = wait_socket(s, dl)) < 0)
				goto out;
		}
		if (!rc)
			*ok = true;
		else
			broken_if_fatal(s, rc);
		prev = id;
	}
out:
	if (agent) {
		libssh2_agent_disconnect(agent);
		libssh2_agent_free(agent);
	}
	return r;
}

static int authenticate(struct ssh *s, const struct ssh_opts *opts,
			const struct deadline *dl)
{
	bool ok = false;
	int rc, r;

	if (!opts->user || !*opts->user)
		return error_set(ERR_INVALID, "no ssh user for '%s'",
				 s->label);
	if (opts->identity) {
		/*
		 * No public key file: libssh2 derives it from the private
		 * key. An empty passphrase rather than NULL, so that OpenSSL
		 * never prompts on a terminal for an encrypted PEM key.
		 */
		for (;;) {
			rc = libssh2_userauth_publickey_fromfile_ex(s->session,
				opts->user, (unsigned)strlen(opts->user), NULL,
				opts->identity, "");
			if (rc != LIBSSH2_ERROR_EAGAIN)
				break;
			if ((r = wait_socket(s, dl)) < 0)
				return r;
		}
		ok = !rc;
	} else if ((r = auth_agent(s, opts->user, dl, &ok)) < 0) {
		return r;
	}
	if (!ok || !libssh2_userauth_authenticated(s->session))
		return error_set(ERR_GENERIC,
				 "authentication failed for '%s@%s'",
				 opts->user, s->label);
	return 0;
}

int ssh_connect(struct ssh **out, const struct ssh_opts *opts)
{
	struct ssh *s = NULL;
	struct deadline dl;
	int r;

	*out = NULL;
	dl = deadline_in(opts ? opts->connect_timeout : 0, false);
	if ((r = session_open(&s, opts, &dl, NULL)) < 0)
		goto out;
	if (last_hostkey.changed) {
		r = error_set(ERR_INVALID,
			      "host key for '%s' has changed (%s %s)",
			      s->label, last_hostkey.type,
			      last_hostkey.fingerprint);
		goto out;
	}
	if (!last_hostkey.known) {
		r = error_set(ERR_NOTFOUND, "unknown host key for '%s' (%s %s)",
			      s->label, last_hostkey.type,
			      last_hostkey.fingerprint);
		goto out;
	}
	if ((r = authenticate(s, opts, &dl)) < 0)
		goto out;
	*out = s;
	s = NULL;
out:
	ssh_free(s);
	return r;
}

int ssh_fetch_hostkey(struct ssh_hostkey *key, const struct ssh_opts *opts)
{
	struct ssh *s = NULL;
	struct deadline dl;
	int r;

	memset(key, 0, sizeof(*key));
	dl = deadline_in(opts ? opts->connect_timeout : 0, false);
	if ((r = session_open(&s, opts, &dl, NULL)) < 0)
		goto out;
	*key = last_hostkey;
out:
	ssh_free(s);
	return r;
}

/*
 * Does the known_hosts line `line` hold another key of our key's type for
 * exactly `name`? (Such a line is replaced by trust.)
 */
static bool line_has_other_key(struct ssh *s, const char *line, size_t len,
			       const char *name)
{
	LIBSSH2_KNOWNHOSTS *one;
	struct buf tmp = BUF_INIT;
	bool other = false;

	buf_init(&tmp, KNOWN_HOSTS_LINE_MAX);
	one = libssh2_knownhost_init(s->session);
	if (one && !memchr(line, '\0', len) && buf_add(&tmp, line, len) >= 0 &&
	    buf_addch(&tmp, '\n') >= 0 &&
	    !libssh2_knownhost_readline(one, tmp.ptr, tmp.len,
					LIBSSH2_KNOWNHOST_FILE_OPENSSH))
		/* check(), unlike checkp(), looks at this name only. */
		other = libssh2_knownhost_check(one, name,
						(const char *)s->key,
						s->key_len,
						LIBSSH2_KNOWNHOST_TYPE_PLAIN |
						LIBSSH2_KNOWNHOST_KEYENC_RAW |
						s->key_mask, NULL) ==
			LIBSSH2_KNOWNHOST_CHECK_MISMATCH;
	if (one)
		libssh2_knownhost_free(one);
	buf_release(&tmp);
	return other;
}

/* Create the directory of `path` (mode 0700) if it is missing. */
static int make_parent(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int r = 0;

	if (!slash || slash == path)
		return 0;
	dir = xstrndup(path, (size_t)(slash - path));
	if (!fsutil_exists(dir))
		r = fsutil_mkdir_p(dir, 0700);
	free(dir);
	return r;
}

/*
 * Rewrite known_hosts: every line as it was (comments, hashed entries,
 * lines libssh2 does not understand), except those holding another key
 * of the same type for this very name, plus one line for the key.
 */
int ssh_trust_hostkey(struct ssh_hostkey *key, const struct ssh_opts *opts)
{
	struct ssh *s = NULL;
	struct buf text = BUF_INIT, out = BUF_INIT, name = BUF_INIT;
	LIBSSH2_KNOWNHOSTS *one = NULL;
	struct libssh2_knownhost *entry = NULL;
	struct deadline dl;
	const char *p, *end, *nl;
	char line[KNOWN_HOSTS_LINE_MAX];
	char expected[SSH_FINGERPRINT_MAX];
	size_t len = 0;
	int rc, r;

	/* the key the user confirmed, if any: only that one may be added */
	snprintf(expected, sizeof(expected), "%s", key->fingerprint);
	memset(key, 0, sizeof(*key));
	if (!opts || !opts->known_hosts || !*opts->known_hosts)
		return error_set(ERR_INVALID, "no known_hosts file to update");
	buf_init(&text, KNOWN_HOSTS_MAX);
	buf_init(&out, KNOWN_HOSTS_MAX + KNOWN_HOSTS_LINE_MAX);
	dl = deadline_in(opts->connect_timeout, false);
	if ((r = session_open(&s, opts, &dl, &text)) < 0)
		goto out;
	*key = last_hostkey;
	if (expected[0] && strcmp(expected, key->fingerprint)) {
		r = error_set(ERR_INVALID,
			      "the host key changed since it was shown (%s now): not trusted",
			      key->fingerprint);
		goto out;
	}
	if (key->known)
		goto out;
	if (opts->port == 22)
		r = buf_addstr(&name, opts->host);
	else
		r = buf_addf(&name, "[%s]:%u", opts->host, opts->port);
	if (r < 0)
		goto out;
	for (p = text.ptr, end = text.ptr + text.len; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			nl = end;
		if (line_has_other_key(s, p, (size_t)(nl - p), name.ptr))
			continue;
		if ((r = buf_add(&out, p, (size_t)(nl - p))) < 0 ||
		    (r = buf_addch(&out, '\n')) < 0)
			goto out;
	}
	one = libssh2_knownhost_init(s->session);
	if (!one) {
		r = error_set(ERR_GENERIC, "cannot allocate known hosts");
		goto out;
	}
	rc = libssh2_knownhost_addc(one, name.ptr, NULL, (const char *)s->key,
				    s->key_len, NULL, 0,
				    LIBSSH2_KNOWNHOST_TYPE_PLAIN |
				    LIBSSH2_KNOWNHOST_KEYENC_RAW | s->key_mask,
				    &entry);
	if (!rc)
		rc = libssh2_knownhost_writeline(one, entry, line,
				sizeof(line), &len,
				LIBSSH2_KNOWNHOST_FILE_OPENSSH);
	if (rc) {
		r = lib_error(s, rc, "adding the host key of");
		goto out;
	}
	if ((r = buf_add(&out, line, len)) < 0 ||
	    (r = make_parent(opts->known_hosts)) < 0 ||
	    (r = fsutil_write_file_atomic(opts->known_hosts, out.ptr, out.len,
					  0600)) < 0)
		goto out;
	key->known = true;
	key->changed = false;
	last_hostkey = *key;
out:
	if (one)
		libssh2_knownhost_free(one);
	ssh_free(s);
	buf_release(&name);
	buf_release(&out);
	buf_release(&text);
	return r;
}

const struct ssh_hostkey *ssh_last_hostkey(void)
{
	return &last_hostkey;
}

/* Remember the last SSH_OUTPUT_CAP bytes and pass them on. */
static void channel_output(struct ssh_channel *ch, const char *data,
			   size_t len)
{
	size_t at, n;

	if (ch->on_output)
		ch->on_output(data, len, ch->payload);
	if (!ch->ring)
		ch->ring = xmalloc(SSH_OUTPUT_CAP);
	if (len >= SSH_OUTPUT_CAP) {
		memcpy(ch->ring, data + len - SSH_OUTPUT_CAP, SSH_OUTPUT_CAP);
		ch->ring_start = 0;
		ch->ring_len = SSH_OUTPUT_CAP;
		return;
	}
	at = (ch->ring_start + ch->ring_len) % SSH_OUTPUT_CAP;
	n = SSH_OUTPUT_CAP - at < len ? SSH_OUTPUT_CAP - at : len;
	memcpy(ch->ring + at, data, n);
	memcpy(ch->ring, data + n, len - n);
	ch->ring_len += len;
	if (ch->ring_len > SSH_OUTPUT_CAP) {
		ch->ring_start = (ch->ring_start + ch->ring_len -
				  SSH_OUTPUT_CAP) % SSH_OUTPUT_CAP;
		ch->ring_len = SSH_OUTPUT_CAP;
	}
}

static char *channel_output_detach(struct ssh_channel *ch)
{
	char *out = xmalloc(ch->ring_len + 1);
	size_t n = SSH_OUTPUT_CAP - ch->ring_start;

	if (n > ch->ring_len)
		n = ch->ring_len;
	if (ch->ring_len) {
		memcpy(out, ch->ring + ch->ring_start, n);
		memcpy(out + n, ch->ring, ch->ring_len - n);
	}
	out[ch->ring_len] = '\0';
	return out;
}

/*
 * Read whatever the command has written so far, on both streams, until
 * libssh2 would block. *progress is set if anything came.
 */
static int channel_drain(struct ssh_channel *ch, bool *progress)
{
	static const int streams[] = { 0, SSH_EXTENDED_DATA_STDERR };
	struct ssh *s = ch->s;
	ssize_t n;
	size_t i;
	int r;

	for (i = 0; i < sizeof(streams) / sizeof(streams[0]); i++) {
		for (;;) {
			if (deadline_passed(&ch->dl))
				return timed_out(s, &ch->dl);
			n = libssh2_channel_read_ex(ch->ch, streams[i],
						    ch->rbuf,
						    sizeof(ch->rbuf));
			if (n > 0) {
				channel_output(ch, ch->rbuf, (size_t)n);
				*progress = true;
				continue;
			}
			if (n == LIBSSH2_ERROR_EAGAIN && outbound_pending(s)) {
				/* A window adjustment is half sent. */
				if ((r = wait_socket(s, &ch->dl)) < 0)
					return r;
				continue;
			}
			if (n == 0 || n == LIBSSH2_ERROR_EAGAIN)
				break;
			return lib_error(s, (int)n, "reading from");
		}
	}
	return 0;
}

/*
 * Send `len` bytes of stdin, reading the command's output meanwhile so
 * that it never blocks on a full pipe (and so stops reading its input).
 */
static int channel_send(struct ssh_channel *ch, const char *data, size_t len)
{
	struct ssh *s = ch->s;
	struct deadline dl;
	bool progress;
	ssize_t n;
	int r;

	while (len && !ch->remote_closed) {
		if (deadline_passed(&ch->dl))
			return timed_out(s, &ch->dl);
		n = libssh2_channel_write_ex(ch->ch, 0, data, len);
		if (n > 0) {
			data += n;
			len -= (size_t)n;
			progress = false;
			if ((r = channel_drain(ch, &progress)) < 0)
				return r;
			continue;
		}
		if (n < 0 && n != LIBSSH2_ERROR_EAGAIN)
			return lib_error(s, (int)n, "sending to");
		if (outbound_pending(s)) {
			/* Repeat this very write once the socket drains. */
			r = wait_socket(s, &ch->dl);
			if (r == ERR_TIMEOUT) {
				/*
				 * Finish the half-sent packet, briefly, so
				 * that the session stays usable.
				 */
				dl = grace();
				while (libssh2_channel_write_ex(ch->ch, 0,
						data, len) ==
				       LIBSSH2_ERROR_EAGAIN &&
				       outbound_pending(s))
					if (wait_socket(s, &dl) < 0) {
						s->broken = true;
						break;
					}
			}
			if (r < 0)
				return r;
			continue;
		}
		/* The window is full: read, or wait for an adjustment. */
		progress = false;
		if ((r = channel_drain(ch, &progress)) < 0)
			return r;
		if (progress)
			continue;
		if (libssh2_channel_eof(ch->ch)) {
			/*
			 * The command closed its output. Has it gone for
			 * good (the server closed the channel)? Then it
			 * stopped reading: like EPIPE for a local child, not
			 * an error, its exit status tells.
			 */
			n = libssh2_channel_wait_closed(ch->ch);
			if (!n) {
				ch->remote_closed = true;
				break;
			}
			if (n != LIBSSH2_ERROR_EAGAIN)
				return lib_error(s, (int)n, "sending to");
		}
		if ((r = wait_socket(s, &ch->dl)) < 0)
			return r;
	}
	return 0;
}

static void channel_fail(struct ssh_channel *ch, int r)
{
	ch->error = r;
	snprintf(ch->errmsg, sizeof(ch->errmsg), "%s", error_last());
}

/*
 * Give up on a channel (timeout or error): send our close, which makes
 * the server close the command's stdin and output, without waiting for
 * the command to exit (a timed-out one may run for long). A channel still
 * waiting for the server's close is left to the session, which frees it.
 */
static void channel_abort(struct ssh_channel *ch)
{
	struct ssh *s = ch->s;
	struct deadline dl = grace();
	int rc;

	if (!ch->ch)
		return;
	while (!s->broken) {
		rc = libssh2_channel_close(ch->ch);
		if (!rc) {
			if (!libssh2_channel_free(ch->ch))
				ch->ch = NULL;
			break;
		}
		if (rc != LIBSSH2_ERROR_EAGAIN) {
			s->broken = true;
			break;
		}
		if (!outbound_pending(s))
			break;	/* sent; the server's close comes later */
		if (wait_socket(s, &dl) < 0)
			s->broken = true;
	}
	ch->ch = NULL;
}

static void channel_release(struct ssh_channel *ch)
{
	struct ssh_channel **pp;

	for (pp = &ch->s->channels; *pp; pp = &(*pp)->next)
		if (*pp == ch) {
			*pp = ch->next;
			break;
		}
	free(ch->ring);
	free(ch);
}

static int signal_number(const char *name)
{
	static const struct {
		const char *name;
		int num;
	} sigs[] = {
		{ "HUP", SIGHUP }, { "INT", SIGINT }, { "QUIT", SIGQUIT },
		{ "ILL", SIGILL }, { "TRAP", SIGTRAP }, { "ABRT", SIGABRT },
		{ "BUS", SIGBUS }, { "FPE", SIGFPE }, { "KILL", SIGKILL },
		{ "USR1", SIGUSR1 }, { "SEGV", SIGSEGV }, { "USR2", SIGUSR2 },
		{ "PIPE", SIGPIPE }, { "ALRM", SIGALRM }, { "TERM", SIGTERM },
		{ "XCPU", SIGXCPU }, { "XFSZ", SIGXFSZ },
	};
	size_t i;

	if (!strncmp(name, "SIG", 3))
		name += 3;
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (!strcmp(name, sigs[i].name))
			return sigs[i].num;
	return -1;
}

/* The exit status the server reported: 128 + signal if killed by one. */
static int exit_status(struct ssh_channel *ch)
{
	char *sig = NULL;
	size_t len = 0;
	int status, num;

	if (libssh2_channel_get_exit_signal(ch->ch, &sig, &len, NULL, NULL,
					    NULL, NULL) || !sig)
		return libssh2_channel_get_exit_status(ch->ch);
	num = signal_number(sig);
	libssh2_free(ch->s->session, sig);
	/* A signal we have no number for: 255, as ssh(1) would exit. */
	status = num > 0 ? 128 + num : 255;
	return status;
}

/* Flush stdin, send EOF, read to the end, wait for the close. */
static int channel_finish(struct ssh_channel *ch, int *status)
{
	struct ssh *s = ch->s;
	bool progress;
	int rc, r;

	if (ch->wlen) {
		r = channel_send(ch, ch->wbuf, ch->wlen);
		ch->wlen = 0;
		if (r < 0)
			return r;
	}
	while (!ch->eof_sent) {
		rc = libssh2_channel_send_eof(ch->ch);
		if (!rc)
			break;
		if (rc != LIBSSH2_ERROR_EAGAIN)
			return lib_error(s, rc, "sending to");
		if ((r = wait_socket(s, &ch->dl)) < 0)
			return r;
	}
	ch->eof_sent = true;
	for (;;) {
		progress = false;
		if ((r = channel_drain(ch, &progress)) < 0)
			return r;
		if (libssh2_channel_eof(ch->ch))
			break;
		if (!progress && (r = wait_socket(s, &ch->dl)) < 0)
			return r;
	}
	/*
	 * The server sends the exit status before its close, not always
	 * before its EOF: wait for the close, then send ours.
	 */
	for (;;) {
		rc = libssh2_channel_wait_closed(ch->ch);
		if (rc != LIBSSH2_ERROR_EAGAIN)
			break;
		if ((r = wait_socket(s, &ch->dl)) < 0)
			return r;
	}
	if (rc)
		return lib_error(s, rc, "closing a channel to");
	for (;;) {
		rc = libssh2_channel_close(ch->ch);
		if (rc != LIBSSH2_ERROR_EAGAIN)
			break;
		if ((r = wait_socket(s, &ch->dl)) < 0)
			return r;
	}
	if (rc)
		return lib_error(s, rc, "closing a channel to");
	*status = exit_status(ch);
	if (!libssh2_channel_free(ch->ch))
		ch->ch = NULL;
	return 0;
}

static int channel_open(struct ssh_channel **out, struct ssh *s,
			const char *command, unsigned timeout,
			ssh_output_fn on_output, void *payload)
{
	struct ssh_channel *ch;
	int rc, r = 0;

	*out = NULL;
	if (s->broken)
		return error_set(ERR_GENERIC,
				 "the connection to '%s' is no longer usable",
				 s->label);
	ch = xcalloc(1, sizeof(*ch));
	ch->s = s;
	ch->dl = deadline_in(timeout, true);
	ch->on_output = on_output;
	ch->payload = payload;
	ch->next = s->channels;
	s->channels = ch;
	for (;;) {
		ch->ch = libssh2_channel_open_session(s->session);
		if (ch->ch)
			break;
		rc = libssh2_session_last_errno(s->session);
		if (rc != LIBSSH2_ERROR_EAGAIN) {
			r = lib_error(s, rc, "opening a channel to");
			goto out;
		}
		if ((r = wait_socket(s, &ch->dl)) < 0)
			goto out;
	}
	for (;;) {
		rc = libssh2_channel_exec(ch->ch, command);
		if (rc != LIBSSH2_ERROR_EAGAIN)
			break;
		if ((r = wait_socket(s, &ch->dl)) < 0)
			goto out;
	}
	if (rc) {
		r = lib_error(s, rc, "running a command on");
		goto out;
	}
	*out = ch;
	ch = NULL;
out:
	if (ch) {
		channel_abort(ch);
		channel_release(ch);
	}
	return r;
}

int ssh_channel_open(struct ssh_channel **out, struct ssh *s,
		     const char *command, unsigned timeout)
{
	return channel_open(out, s, command, timeout, NULL, NULL);
}

int ssh_channel_write(struct ssh_channel *ch, const void *data, size_t len)
{
	const char *p = data;
	size_t n;
	int r;

	if (ch->error)
		return error_set(ch->error, "%s", ch->errmsg);
	if (ch->remote_closed)
		return 0;
	/*
	 * Whole packets (libssh2 cuts at PACKET_DATA) go straight out; a
	 * shorter tail waits in wbuf for the next write or the close, so
	 * that small writes still make full packets.
	 */
	if (ch->wlen) {
		n = PACKET_DATA - ch->wlen < len ? PACKET_DATA - ch->wlen : len;
		memcpy(ch->wbuf + ch->wlen, p, n);
		ch->wlen += n;
		p += n;
		len -= n;
		if (ch->wlen < PACKET_DATA)
			return 0;
		r = channel_send(ch, ch->wbuf, ch->wlen);
		ch->wlen = 0;
		if (r < 0)
			goto fail;
	}
	n = len - len % PACKET_DATA;
	if (n && (r = channel_send(ch, p, n)) < 0)
		goto fail;
	if (!ch->remote_closed) {
		memcpy(ch->wbuf, p + n, len - n);
		ch->wlen = len - n;
	}
	return 0;
fail:
	channel_fail(ch, r);
	return r;
}

int ssh_channel_close(struct ssh_channel *ch, int *status_out,
		      char **output_out)
{
	int status = -1, r;

	if (status_out)
		*status_out = -1;
	if (output_out)
		*output_out = NULL;
	if (!ch)
		return 0;
	if (ch->error)
		r = error_set(ch->error, "%s", ch->errmsg);
	else
		r = channel_finish(ch, &status);
	if (r < 0)
		channel_abort(ch);
	if (status_out)
		*status_out = status;
	if (output_out)
		*output_out = channel_output_detach(ch);
	channel_release(ch);
	return r;
}

int ssh_run(struct ssh *s, int *status_out, char **output_out,
	    const char *command, unsigned timeout, ssh_output_fn on_output,
	    void *payload)
{
	struct ssh_channel *ch = NULL;
	int r;

	if (status_out)
		*status_out = -1;
	if (output_out)
		*output_out = NULL;
	if ((r = channel_open(&ch, s, command, timeout, on_output,
			      payload)) < 0)
		return r;
	return ssh_channel_close(ch, status_out, output_out);
}

/*
 * Channels first, then the session (a polite disconnect, briefly), then
 * known_hosts. libssh2 frees known_hosts through the session, so that
 * happens before the session's memory goes, and the socket is shut down
 * first so that nothing left can wait on the server.
 */
void ssh_free(struct ssh *s)
{
	struct deadline dl = grace();
	int rc;

	if (!s)
		return;
	while (s->channels) {
		channel_abort(s->channels);
		channel_release(s->channels);
	}
	if (s->session) {
		while (s->handshaken && !s->broken) {
			rc = libssh2_session_disconnect(s->session,
							"closed by pushgate");
			if (rc != LIBSSH2_ERROR_EAGAIN ||
			    wait_socket(s, &dl) < 0)
				break;
		}
		if (s->fd >= 0)
			shutdown(s->fd, SHUT_RDWR);
		if (s->known)
			libssh2_knownhost_free(s->known);
		libssh2_session_free(s->session);
	}
	if (s->fd >= 0)
		close(s->fd);
	free(s->label);
	free(s);
}
