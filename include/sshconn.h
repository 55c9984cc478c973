#ifndef SSHCONN_H
#define SSHCONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "knownhosts.h"

/*
 * One SSH connection through libssh2, for the ssh module (which runs
 * the channels): TCP connect, the key exchange, the host key looked up
 * in known_hosts, and authentication with a key file or ssh-agent (never
 * a password, never agent forwarding). The session runs in non-blocking
 * mode, and every step that waits honours a deadline; the channel code
 * waits through sshconn_wait() in the same way.
 */

struct sshconn;

struct sshconn_opts {
	const char *host;	/* name or address; IPv6 without brackets */
	unsigned port;
	const char *known_hosts;	/* the file; NULL: none */
	unsigned connect_timeout;	/* s, for TCP + handshake + auth */
	bool compress;		/* offer zlib compression in the handshake */
};

#define SSHCONN_OPTS_INIT { NULL, 22, NULL, 10, false }

/* The host key the server presented, and what known_hosts says of it. */
struct sshconn_hostkey {
	char type[32];		/* "ssh-ed25519", "ssh-rsa", ... */
	/* "SHA256:base64" */
	char fingerprint[KNOWNHOSTS_FINGERPRINT_MAX];
	bool known;		/* matches known_hosts */
	bool changed;		/* known_hosts holds another key */
};

/*
 * A point in time that a wait may not pass, and how to report it. The
 * caller reads and sets the fields; sshconn_deadline() and
 * sshconn_grace() make the usual ones.
 */
struct sshconn_deadline {
	int64_t at;		/* CLOCK_MONOTONIC milliseconds; 0: none */
	unsigned secs;		/* for the message */
	bool command;		/* a remote command's, not connect's */
	bool quiet;		/* no message: a cleanup's grace period */
};

/* `secs` seconds from now (0: none), for a command or the connection. */
struct sshconn_deadline sshconn_deadline(unsigned secs, bool command);

/* SSHCONN_GRACE_MS from now, quiet: for closing after a failure. */
struct sshconn_deadline sshconn_grace(void);

/* How long closing a channel or the connection may take after a failure */
#define SSHCONN_GRACE_MS 1000

/* Whether `dl` has passed. */
bool sshconn_deadline_passed(const struct sshconn_deadline *dl);

/*
 * The error for a passed deadline: ERR_TIMEOUT with "remote command
 * timed out after N s" or "connection to 'HOST:PORT' timed out after
 * N s", or no message for a quiet one.
 */
int sshconn_timed_out(const struct sshconn *c,
		      const struct sshconn_deadline *dl);

/*
 * Connect to opts->host and do the key exchange, then look the host key
 * up in opts->known_hosts. *key is cleared first, then filled as far as
 * the server got (also on failure). An unknown or changed key is not an
 * error here: the caller decides, from *key. Errors: ERR_INVALID for
 * bad options or an unsupported host key type, ERR_TIMEOUT, ERR_SYS
 * "cannot connect to 'HOST:PORT': ..." or a lost connection,
 * ERR_GENERIC for a failed key exchange; those of knownhosts_load().
 * Free with sshconn_free().
 */
int sshconn_open(struct sshconn **out, struct sshconn_hostkey *key,
		 const struct sshconn_opts *opts);

/*
 * Log in as `user` with the private key file `identity`, or with the
 * keys of ssh-agent when it is NULL, within the connect deadline.
 * ERR_GENERIC "authentication failed for 'USER@HOST:PORT'".
 */
int sshconn_authenticate(struct sshconn *c, const char *user,
			 const char *identity);

/* Add the key the server presented to known_hosts: knownhosts_add(). */
int sshconn_add_hostkey(struct sshconn *c);

/*
 * Disconnect (politely, for at most SSHCONN_GRACE_MS) and free. The
 * caller has closed or given up its channels. NULL is allowed.
 */
void sshconn_free(struct sshconn *c);

/*
 * The compression method negotiated for data sent to the server:
 * "none", "zlib" or "zlib@openssh.com". Borrowed from libssh2.
 */
const char *sshconn_compression(const struct sshconn *c);

/* "host:port" or "[v6]:port", for messages. Borrowed. */
const char *sshconn_label(const struct sshconn *c);

/* Whether the connection can no longer be used (lost, or out of step). */
bool sshconn_broken(const struct sshconn *c);

/* Mark the connection unusable: nothing more is sent on it. */
void sshconn_set_broken(struct sshconn *c);

/*
 * Wait until the socket is ready in the direction the last libssh2 call
 * was blocked on, or `dl` passes: 0, sshconn_timed_out(), or ERR_SYS.
 */
int sshconn_wait(struct sshconn *c, const struct sshconn_deadline *dl);

/*
 * Whether libssh2 holds a packet half sent. The call that returned
 * LIBSSH2_ERROR_EAGAIN must then be repeated, with the same arguments,
 * before any other call that may send: libssh2 keeps only one outgoing
 * packet in flight.
 */
bool sshconn_outbound_pending(const struct sshconn *c);

/*
 * The connection's round-trip time as the kernel measures it (TCP_INFO),
 * in microseconds: the least it saw (Linux 4.6 and later), else the
 * smoothed one; 0 when it cannot tell.
 */
unsigned sshconn_rtt_us(const struct sshconn *c);

/* Whether the server's banner names OpenSSH. */
bool sshconn_is_openssh(const struct sshconn *c);

/*
 * Turn the libssh2 failure `rc` of `what` into ours: ERR_SYS "lost the
 * connection to 'HOST:PORT' (...)", else ERR_GENERIC "WHAT 'HOST:PORT'
 * failed: libssh2's message". A failure of the transport marks the
 * connection broken.
 */
int sshconn_error(struct sshconn *c, int rc, const char *what);

/*
 * The libssh2 session, for the channels. Declared only where <libssh2.h>
 * was included first (the modules allowed to use libssh2), so that the
 * library's types stay out of every other module.
 */
#ifdef LIBSSH2_H
LIBSSH2_SESSION *sshconn_session(const struct sshconn *c);
#endif

#endif
