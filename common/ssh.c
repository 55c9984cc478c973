#include "ssh.h"

#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libssh2.h>

#include "buf.h"
#include "errors.h"
#include "exitmark.h"
#include "sshconn.h"
#include "timeutil.h"

/*
 * Commands run over exec channels of one connection (sshconn). Each
 * libssh2 call that returns LIBSSH2_ERROR_EAGAIN is repeated after
 * sshconn_wait() says the socket is ready, so that every step honours
 * the command's deadline; see sshconn_outbound_pending() for the one
 * rule that keeps libssh2's state machines happy.
 */

/* libssh2 puts at most this many data bytes into one channel packet. */
#define PACKET_DATA 32700
/* Bytes read from a channel in one call. */
#define READ_CHUNK (32 * 1024)
/* Bytes sent between two reads of a command's output (channel_send()). */
#define SEND_DRAIN_EVERY (1024 * 1024)
/*
 * Bytes of stdin sent ahead of the server (sent, but not yet given back
 * in a window adjustment) beyond what the network itself holds: see
 * send_room().
 */
#define AHEAD_BASE (512 * 1024)
/* Bytes sent between two estimates of the send rate (send_room()). */
#define AHEAD_SAMPLE (1024 * 1024)
/*
 * How long (ms) the sender waits, held back by that limit alone, for a
 * window adjustment before it drops the limit (send_room()).
 */
#define AHEAD_STALL_MS 5000
/* A pause in sending longer than this (ms) starts a new estimate. */
#define AHEAD_IDLE_MS 200
/* Hex digits of an exit marker's nonce. */
#define NONCE_HEX (EXITMARK_PREFIX_LEN - 2)
/* Seconds the persistent shell's channel may take to open. */
#define SHELL_OPEN_TIMEOUT 10
/*
 * Seconds a new shell may take to start its driver (the login shell's
 * start-up files: a tenth of a second where they are slow) before its
 * commands take exec channels instead.
 */
#define SHELL_READY_TIMEOUT 10

struct ssh {
	struct sshconn *conn;
	struct ssh_channel *channels;	/* open, for ssh_free() */
	struct ssh_channel *shell;	/* the persistent shell, or NULL */
	bool shell_wanted;	/* ssh_shell_start() was called */
	bool shell_off;		/* a shell failed: exec channels only */
};

/* The persistent shell's markers (see "the persistent shell" below). */
struct shell_state {
	struct exitmark ready;	/* printed once, when the driver runs */
	struct exitmark exit;	/* the command's exit and status */
	struct exitmark closed;	/* nothing holds its output any more */
	bool busy;		/* a command was sent */
};

struct ssh_channel {
	struct ssh *s;
	LIBSSH2_CHANNEL *ch;	/* NULL once freed or left to the session */
	struct ssh_channel *next;
	struct sshconn_deadline dl;
	ssh_output_fn on_output;
	void *payload;
	struct exitmark *mark;	/* ssh_run()'s, looked for in stdout */
	struct shell_state *shell;	/* set for the persistent shell */
	char *ring;		/* the last SSH_OUTPUT_CAP bytes of output */
	size_t ring_start, ring_len;
	int error;		/* the failure of an earlier step, or 0 */
	bool eof;		/* the server sent the end of the output */
	bool eof_sent;
	bool remote_closed;	/* the command is gone: drop further input */
	size_t wlen;		/* bytes waiting in wbuf */
	size_t undrained;	/* bytes sent since the output was last read */
	unsigned long window_max;	/* the largest send window seen */
	unsigned long window_seen;	/* the window after our last send */
	unsigned long ahead_cap;	/* send_room()'s limit; 0: not set */
	bool eager;		/* the server gives back small parts */
	bool ahead_off;		/* the server stalled: no limit */
	uint64_t sample_bytes;	/* sent since sample_at */
	int64_t sample_at;	/* ms: when the rate's sample began */
	int64_t sent_at;	/* ms: when bytes were last sent */
	uint64_t stdin_left;	/* ssh_run_stdin(): bytes still to come */
	bool chunked;		/* ... announced chunk by chunk */
	char errmsg[ERROR_MSG_MAX];
	char wbuf[PACKET_DATA];
	char rbuf[READ_CHUNK];
};

static struct ssh_hostkey last_hostkey;

/*
 * Open a connection as sshconn_open() does, with the host key it saw in
 * last_hostkey (also on failure).
 */
static int open_conn(struct sshconn **out, const struct ssh_opts *opts)
{
	struct sshconn_opts co = SSHCONN_OPTS_INIT;
	struct sshconn_hostkey key;
	int r;

	if (opts) {
		co.host = opts->host;
		co.port = opts->port;
		co.known_hosts = opts->known_hosts;
		co.connect_timeout = opts->connect_timeout;
		co.compress = opts->compress;
	}
	r = sshconn_open(out, &key, opts ? &co : NULL);
	memset(&last_hostkey, 0, sizeof(last_hostkey));
	snprintf(last_hostkey.type, sizeof(last_hostkey.type), "%s",
		 key.type);
	snprintf(last_hostkey.fingerprint, sizeof(last_hostkey.fingerprint),
		 "%s", key.fingerprint);
	last_hostkey.known = key.known;
	last_hostkey.changed = key.changed;
	return r;
}

int ssh_connect(struct ssh **out, const struct ssh_opts *opts)
{
	struct sshconn *c = NULL;
	int r;

	*out = NULL;
	if ((r = open_conn(&c, opts)) < 0)
		goto out;
	if (last_hostkey.changed) {
		r = error_set(ERR_INVALID,
			      "host key for '%s' has changed (%s %s)",
			      sshconn_label(c), last_hostkey.type,
			      last_hostkey.fingerprint);
		goto out;
	}
	if (!last_hostkey.known) {
		r = error_set(ERR_NOTFOUND, "unknown host key for '%s' (%s %s)",
			      sshconn_label(c), last_hostkey.type,
			      last_hostkey.fingerprint);
		goto out;
	}
	if ((r = sshconn_authenticate(c, opts->user, opts->identity)) < 0)
		goto out;
	*out = xcalloc(1, sizeof(**out));
	(*out)->conn = c;
	c = NULL;
out:
	sshconn_free(c);
	return r;
}

int ssh_fetch_hostkey(struct ssh_hostkey *key, const struct ssh_opts *opts)
{
	struct sshconn *c = NULL;
	int r;

	memset(key, 0, sizeof(*key));
	if ((r = open_conn(&c, opts)) < 0)
		goto out;
	*key = last_hostkey;
out:
	sshconn_free(c);
	return r;
}

int ssh_trust_hostkey(struct ssh_hostkey *key, const struct ssh_opts *opts)
{
	struct sshconn *c = NULL;
	char expected[SSH_FINGERPRINT_MAX];
	int r;

	/* the key the user confirmed, if any: only that one may be added */
	snprintf(expected, sizeof(expected), "%s", key->fingerprint);
	memset(key, 0, sizeof(*key));
	if (!opts || !opts->known_hosts || !*opts->known_hosts)
		return error_set(ERR_INVALID, "no known_hosts file to update");
	if ((r = open_conn(&c, opts)) < 0)
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
	if ((r = sshconn_add_hostkey(c)) < 0)
		goto out;
	key->known = true;
	key->changed = false;
	last_hostkey = *key;
out:
	sshconn_free(c);
	return r;
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

/* An exitmark_fn: output that is not the marker. */
static void mark_output(const char *data, size_t len, void *payload)
{
	channel_output(payload, data, len);
}

/*
 * The command exited (its marker came): what is left is a drain,
 * SSH_DRAIN_TIME at most, and not past the command's deadline; its end
 * is no error (a quiet deadline).
 */
static void start_drain(struct ssh_channel *ch)
{
	struct sshconn_deadline drain;

	drain = sshconn_deadline(SSH_DRAIN_TIME, false);
	if (ch->dl.at && ch->dl.at < drain.at)
		drain.at = ch->dl.at;
	drain.quiet = true;
	ch->dl = drain;
}

static void shell_stdout(struct ssh_channel *ch, const char *data,
			 size_t len);

/*
 * The command's stdout: through the filter of its exit marker, if it has
 * one (or those of the persistent shell). Once the marker is found, the
 * command has exited, and what is left is a drain.
 */
static void channel_stdout(struct ssh_channel *ch, const char *data,
			   size_t len)
{
	bool was_found;

	if (ch->shell) {
		shell_stdout(ch, data, len);
		return;
	}
	if (!ch->mark) {
		channel_output(ch, data, len);
		return;
	}
	was_found = ch->mark->found;
	exitmark_filter(ch->mark, data, len, mark_output, ch);
	if (!was_found && ch->mark->found)
		start_drain(ch);
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
			if (sshconn_deadline_passed(&ch->dl))
				return sshconn_timed_out(s->conn, &ch->dl);
			n = libssh2_channel_read_ex(ch->ch, streams[i],
						    ch->rbuf,
						    sizeof(ch->rbuf));
			if (n > 0) {
				/*
				 * The persistent shell's stderr is the
				 * login shell's own (its commands' goes
				 * into stdout): dropped.
				 */
				if (streams[i] && !ch->shell)
					channel_output(ch, ch->rbuf,
						       (size_t)n);
				else if (!streams[i])
					channel_stdout(ch, ch->rbuf,
						       (size_t)n);
				*progress = true;
				continue;
			}
			if (n == LIBSSH2_ERROR_EAGAIN &&
			    sshconn_outbound_pending(s->conn)) {
				/* A window adjustment is half sent. */
				if ((r = sshconn_wait(s->conn, &ch->dl)) < 0)
					return r;
				continue;
			}
			if (n == 0 || n == LIBSSH2_ERROR_EAGAIN)
				break;
			return sshconn_error(s->conn, (int)n, "reading from");
		}
	}
	return 0;
}

/*
 * A command of the persistent shell that reads stdin (ssh_run_stdin())
 * failed before it was sent all of it: the rest would only be drained.
 */
static bool shell_failed_early(const struct ssh_channel *ch)
{
	return ch->shell && ch->shell->exit.found && ch->shell->exit.status;
}

/*
 * The limit on bytes sent ahead of the server: AHEAD_BASE plus what the
 * network holds at the rate sent so far (rate x round trip: nothing on
 * a LAN, the bandwidth-delay product far away), re-estimated every
 * AHEAD_SAMPLE bytes by ahead_update(). The round trip is the least the
 * kernel saw (sshconn_rtt_us()): a burst into an open window is fast and
 * makes queues that lengthen the smoothed one. Until there is a rate,
 * AHEAD_BASE alone near the server (a round trip under a millisecond),
 * else no limit. An OpenSSH server is known to give its window back in
 * small parts (send_room()).
 */
static void ahead_start(struct ssh_channel *ch)
{
	unsigned rtt = sshconn_rtt_us(ch->s->conn);

	ch->ahead_cap = rtt && rtt < 1000 ? AHEAD_BASE : ULONG_MAX;
	ch->eager = sshconn_is_openssh(ch->s->conn);
}

/* Count `sent` bytes in the rate's sample; a whole one sets the limit. */
static void ahead_update(struct ssh_channel *ch, size_t sent)
{
	int64_t now = timeutil_now_ms();
	uint64_t per_ms;

	if (!ch->sample_at || now - ch->sent_at > AHEAD_IDLE_MS) {
		ch->sample_at = now;
		ch->sample_bytes = 0;
	}
	ch->sent_at = now;
	ch->sample_bytes += sent;
	if (ch->sample_bytes < AHEAD_SAMPLE || now <= ch->sample_at)
		return;
	per_ms = ch->sample_bytes / (uint64_t)(now - ch->sample_at);
	ch->ahead_cap = AHEAD_BASE + (unsigned long)(per_ms *
			sshconn_rtt_us(ch->s->conn) / 1000);
	ch->sample_at = now;
	ch->sample_bytes = 0;
}

/*
 * How many of `len` bytes to hand libssh2 now: 0 to wait for the
 * server. The server's window lets a sender run up to 2 MB (OpenSSH)
 * ahead of the command, and whatever the network does not hold then
 * waits in the server's channel buffer. OpenSSH (8.9 and later) grows
 * that buffer a little at a time, copying it whole each time, and
 * moves what is left to its front as it drains: its cost grows with its
 * size, and on a fast link the server spent more CPU on those copies
 * than on decrypting (a full upload on loopback took half again as
 * long). So no more than ahead_cap is sent ahead, in whole packets, to
 * a server that gives its window back in small parts: OpenSSH, which
 * does every 3 packets the command took, or one that has shown it does
 * (less than half of the window at once). Never to another: one that
 * waits until half of the window is used would never answer.
 */
static size_t send_room(struct ssh_channel *ch, size_t len)
{
	unsigned long avail = libssh2_channel_window_write_ex(ch->ch, NULL);
	unsigned long ahead, room;

	if (avail > ch->window_max)
		ch->window_max = avail;
	if (avail > ch->window_seen &&
	    avail - ch->window_seen < ch->window_max / 2)
		ch->eager = true;
	ch->window_seen = avail;
	if (!ch->ahead_cap)
		ahead_start(ch);
	if (!ch->eager || ch->ahead_off)
		return len;
	ahead = ch->window_max - avail;
	if (ahead >= ch->ahead_cap)
		return 0;
	room = ch->ahead_cap - ahead;
	if (room >= len)
		return len;
	return room >= PACKET_DATA ? room : 0;
}

/*
 * Send `len` bytes of stdin, reading the command's output meanwhile so
 * that it never blocks on a full pipe (and so stops reading its input):
 * whenever the window is full, and every SEND_DRAIN_EVERY bytes. Not
 * after every packet: each read that finds nothing costs two system
 * calls, a fifth of what sending a packet costs on a fast link, and
 * output the command writes meanwhile waits in libssh2 (at most its
 * window) or in the command's pipe.
 */
static int channel_send(struct ssh_channel *ch, const char *data, size_t len)
{
	struct ssh *s = ch->s;
	struct sshconn_deadline dl;
	bool progress, full;
	size_t room = 0;
	ssize_t n;
	int r;

	while (len && !ch->remote_closed && !shell_failed_early(ch)) {
		if (sshconn_deadline_passed(&ch->dl))
			return sshconn_timed_out(s->conn, &ch->dl);
		/* a half-sent packet goes on with the same arguments */
		if (!sshconn_outbound_pending(s->conn))
			room = send_room(ch, len);
		n = room ? libssh2_channel_write_ex(ch->ch, 0, data, room) :
			   LIBSSH2_ERROR_EAGAIN;
		if (n > 0) {
			data += n;
			len -= (size_t)n;
			ch->window_seen -= ch->window_seen < (size_t)n ?
					   ch->window_seen : (size_t)n;
			ahead_update(ch, (size_t)n);
			ch->undrained += (size_t)n;
			if (ch->undrained < SEND_DRAIN_EVERY)
				continue;
			ch->undrained = 0;
			progress = false;
			if ((r = channel_drain(ch, &progress)) < 0)
				return r;
			continue;
		}
		if (n < 0 && n != LIBSSH2_ERROR_EAGAIN)
			return sshconn_error(s->conn, (int)n, "sending to");
		if (sshconn_outbound_pending(s->conn)) {
			/* Repeat this very write once the socket drains. */
			r = sshconn_wait(s->conn, &ch->dl);
			if (r == ERR_TIMEOUT) {
				/*
				 * Finish the half-sent packet, briefly, so
				 * that the session stays usable.
				 */
				dl = sshconn_grace();
				while (libssh2_channel_write_ex(ch->ch, 0,
						data, room) ==
				       LIBSSH2_ERROR_EAGAIN &&
				       sshconn_outbound_pending(s->conn))
					if (sshconn_wait(s->conn, &dl) < 0) {
						sshconn_set_broken(s->conn);
						break;
					}
			}
			if (r < 0)
				return r;
			continue;
		}
		/*
		 * The window is full, or as full as send_room() lets it
		 * be: read, or wait for an adjustment. (An open window
		 * means the write waits for something else, a key
		 * exchange: the socket then.)
		 */
		full = !room || !libssh2_channel_window_write_ex(ch->ch, NULL);
		ch->undrained = 0;
		progress = false;
		if ((r = channel_drain(ch, &progress)) < 0)
			return r;
		/*
		 * The read may have taken in the adjustment itself: then
		 * the socket has nothing more to say (the server waits for
		 * data), and waiting on it would last until the deadline.
		 */
		if (progress ||
		    (full && libssh2_channel_window_write_ex(ch->ch, NULL) &&
		     send_room(ch, len)))
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
				return sshconn_error(s->conn, (int)n,
						     "sending to");
		}
		if (!room && libssh2_channel_window_write_ex(ch->ch, NULL)) {
			/*
			 * Held back by send_room() alone. Should the server
			 * stop giving its window back in small parts, it
			 * might never answer: after AHEAD_STALL_MS of
			 * silence, the limit goes for this channel.
			 */
			dl = ch->dl;
			dl.quiet = true;
			if (!dl.at || dl.at > timeutil_now_ms() + AHEAD_STALL_MS)
				dl.at = timeutil_now_ms() + AHEAD_STALL_MS;
			r = sshconn_wait(s->conn, &dl);
			if (r == ERR_TIMEOUT && !sshconn_deadline_passed(&ch->dl))
				ch->ahead_off = true;
			else if (r < 0)
				return sshconn_deadline_passed(&ch->dl) ?
				       sshconn_timed_out(s->conn, &ch->dl) : r;
			continue;
		}
		if ((r = sshconn_wait(s->conn, &ch->dl)) < 0)
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
	struct sshconn_deadline dl = sshconn_grace();
	int rc;

	if (!ch->ch)
		return;
	while (!sshconn_broken(s->conn)) {
		rc = libssh2_channel_close(ch->ch);
		if (!rc) {
			if (!libssh2_channel_free(ch->ch))
				ch->ch = NULL;
			break;
		}
		if (rc != LIBSSH2_ERROR_EAGAIN) {
			sshconn_set_broken(s->conn);
			break;
		}
		if (!sshconn_outbound_pending(s->conn))
			break;	/* sent; the server's close comes later */
		if (sshconn_wait(s->conn, &dl) < 0)
			sshconn_set_broken(s->conn);
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
	free(ch->shell);
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
	libssh2_free(sshconn_session(ch->s->conn), sig);
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
			return sshconn_error(s->conn, rc, "sending to");
		if ((r = sshconn_wait(s->conn, &ch->dl)) < 0)
			return r;
	}
	ch->eof_sent = true;
	for (;;) {
		progress = false;
		if ((r = channel_drain(ch, &progress)) < 0)
			return r;
		if (libssh2_channel_eof(ch->ch))
			break;
		if (!progress && (r = sshconn_wait(s->conn, &ch->dl)) < 0)
			return r;
	}
	ch->eof = true;
	/*
	 * The server sends the exit status before its close, not always
	 * before its EOF: wait for the close, then send ours.
	 */
	for (;;) {
		rc = libssh2_channel_wait_closed(ch->ch);
		if (rc != LIBSSH2_ERROR_EAGAIN)
			break;
		if ((r = sshconn_wait(s->conn, &ch->dl)) < 0)
			return r;
	}
	if (rc)
		return sshconn_error(s->conn, rc, "closing a channel to");
	for (;;) {
		rc = libssh2_channel_close(ch->ch);
		if (rc != LIBSSH2_ERROR_EAGAIN)
			break;
		if ((r = sshconn_wait(s->conn, &ch->dl)) < 0)
			return r;
	}
	if (rc)
		return sshconn_error(s->conn, rc, "closing a channel to");
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
	if (sshconn_broken(s->conn))
		return error_set(ERR_GENERIC,
				 "the connection to '%s' is no longer usable",
				 sshconn_label(s->conn));
	ch = xcalloc(1, sizeof(*ch));
	ch->s = s;
	ch->dl = sshconn_deadline(timeout, true);
	ch->on_output = on_output;
	ch->payload = payload;
	ch->next = s->channels;
	s->channels = ch;
	for (;;) {
		ch->ch = libssh2_channel_open_session(sshconn_session(s->conn));
		if (ch->ch)
			break;
		rc = libssh2_session_last_errno(sshconn_session(s->conn));
		if (rc != LIBSSH2_ERROR_EAGAIN) {
			r = sshconn_error(s->conn, rc, "opening a channel to");
			goto out;
		}
		if ((r = sshconn_wait(s->conn, &ch->dl)) < 0)
			goto out;
	}
	for (;;) {
		rc = libssh2_channel_exec(ch->ch, command);
		if (rc != LIBSSH2_ERROR_EAGAIN)
			break;
		if ((r = sshconn_wait(s->conn, &ch->dl)) < 0)
			goto out;
	}
	if (rc) {
		r = sshconn_error(s->conn, rc, "running a command on");
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

/* Queue `len` bytes for the command's stdin (see ssh_channel_write()). */
static int channel_write(struct ssh_channel *ch, const void *data, size_t len)
{
	const char *p = data;
	size_t n;
	int r;

	if (ch->remote_closed || shell_failed_early(ch))
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

int ssh_channel_write(struct ssh_channel *ch, const void *data, size_t len)
{
	if (ch->error)
		return error_set(ch->error, "%s", ch->errmsg);
	if (ch->shell) {
		if (len > ch->stdin_left)
			return error_set(ERR_GENERIC, "more input than the "
					 "command was announced");
		ch->stdin_left -= len;
	}
	return channel_write(ch, data, len);
}

/* A chunk's header, or (size 0) the end of a chunked stdin. */
static int chunk_header(struct ssh_channel *ch, uint64_t size)
{
	char line[32];
	int n = snprintf(line, sizeof(line), "%llu\n",
			 (unsigned long long)size);

	return channel_write(ch, line, (size_t)n);
}

bool ssh_channel_stopped(const struct ssh_channel *ch)
{
	return ch->error || ch->remote_closed || shell_failed_early(ch);
}

int ssh_channel_chunk(struct ssh_channel *ch, unsigned long long size)
{
	if (ch->error)
		return error_set(ch->error, "%s", ch->errmsg);
	if (!ch->shell || !ch->chunked || !size)
		return 0;
	if (ch->stdin_left)
		return error_set(ERR_GENERIC, "a chunk of input began before "
				 "the last one was whole");
	ch->stdin_left = size;
	return chunk_header(ch, size);
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

/* ssh_run() over an exec channel of its own, with stdin from `in`. */
static int run_channel(struct ssh_result *result, struct ssh *s,
		       const struct ssh_run_opts *opts,
		       const struct ssh_stdin *in)
{
	struct exitmark mark;
	struct buf cmd = BUF_INIT;
	struct ssh_channel *ch = NULL;
	int status = -1, r;

	if ((r = exitmark_init(&mark)) < 0)
		return r;
	buf_init(&cmd, strlen(opts->command) + EXITMARK_WRAP_MAX);
	if ((r = exitmark_wrap(&cmd, &mark, opts->command)) < 0 ||
	    (r = channel_open(&ch, s, cmd.ptr, opts->timeout, opts->on_output,
			      opts->payload)) < 0)
		goto out;
	ch->mark = &mark;
	r = in ? in->feed(ch, in->payload) : 0;
	if (!r)
		r = channel_finish(ch, &status);
	if (r < 0)
		channel_abort(ch);
	if (mark.found && (!r || r == ERR_TIMEOUT)) {
		/*
		 * The command exited: its own status counts, and a timeout
		 * now only ended the drain.
		 */
		result->output_held = !ch->eof;
		status = mark.status;
		r = 0;
	} else {
		/* No marker: what the filter held back was output. */
		exitmark_flush(&mark, mark_output, ch);
	}
	if (!r)
		result->status = status;
	result->output = channel_output_detach(ch);
	channel_release(ch);
out:
	buf_release(&cmd);
	return r;
}

/* ---- the persistent shell ------------------------------------------- */

/*
 * Every remote shell command costs the start of the remote user's login
 * shell, start-up files included (rbenv, nvm or pyenv init in .bashrc:
 * a tenth of a second on some servers). So once ssh_shell_start() was
 * called, ssh_run() sends its commands to one shell that stays: an exec
 * channel running the driver of shell_driver(), which reads requests
 *
 *	EXIT-NONCE SP CLOSED-NONCE SP SECONDS LF
 *	COMMAND LF	(backslashes doubled, newlines as \n: printf %b)
 *
 * from its stdin, byte by byte as a shell's `read` does on a pipe, so
 * that nothing of the next request is taken. It runs each command as
 * `/bin/sh -c COMMAND` under timeout(1) (SECONDS; 0: none), in the
 * environment the login shell set up, with stdin from /dev/null and
 * stderr into stdout (one stream: the order of the lines is kept). Once
 * the command exited it prints the exit marker with its status, and
 * once nothing holds the command's output open any more (`cat` reached
 * its end) the closed marker; both as exitmark.h defines them. Before
 * its loop it prints a ready marker: what comes before that is the
 * login shell's own (a greeting from .bashrc) and is dropped.
 *
 * A command is sent once the ready marker came, so that a login shell
 * whose start-up files read stdin never takes one.
 *
 * The shell is given up (its channel closed) when a command timed out,
 * or left a process holding its output open for SSH_DRAIN_TIME past its
 * exit (output_held): the driver waits for that output, and the next
 * command starts a new shell. A shell that ends before its ready marker,
 * or is not ready within SHELL_READY_TIMEOUT, never ran a command: that
 * one takes an exec channel of its own, as every later one does
 * (ssh->shell_off), and so do the commands after a shell that died any
 * other way.
 */

/* The driver of a new shell, printing `ready` first. */
static void shell_driver(struct buf *b, const struct exitmark *ready)
{
	unsigned start = (unsigned char)ready->prefix[0];

	/*
	 * The command's stderr goes into stdout in its own process (the
	 * subshell's exec), so that the shell's notice of a command killed
	 * by a signal ("Terminated") stays out of its output. `command` and
	 * `exec` pass by functions of the same names that start-up files
	 * may define; `set +e` keeps a failing command from ending the loop
	 * before its marker. A request that does not start with the ready
	 * nonce ends the shell: nothing but a request of ours runs. With
	 * stdin, the exit marker of a command that failed comes at once (no
	 * more is sent), that of one that succeeded once the rest of its
	 * input was drained (its output's drain time starts after that).
	 */
	buf_addf(b, "exec 2>/dev/null; set +e; pg_t=; "
		 "command -v timeout >/dev/null && pg_t=1; "
		 "pg_r() { (exec 2>&1; test -z \"$pg_t\" || exec timeout -k 5 "
		 "\"$pg_s\" /bin/sh -c \"$pg_l\"; exec /bin/sh -c \"$pg_l\"); }; "
		 "pg_m() { command printf '\\%03o%%s %%d\\n' \"$pg_e\" \"$1\"; }; "
		 "pg_d() { command dd bs=1M count=\"$1\" "
		 "iflag=fullblock,count_bytes; }; "
		 "pg_i() { test \"$pg_n\" = - || { pg_d \"$pg_n\"; return; }; "
		 "while IFS= read -r pg_z && test \"$pg_z\" != 0; do "
		 "pg_d \"$pg_z\" || return; done; }; "
		 "command printf '\\%03o%%s 0\\n' %.*s; "
		 "while IFS=' ' read -r pg_k pg_e pg_c pg_s pg_n && "
		 "test \"$pg_k\" = %.*s && IFS= read -r pg_l; "
		 "do pg_l=$(command printf %%b \"$pg_l\"); "
		 "if test \"$pg_n\" = 0; then pg_r </dev/null; pg_m $?; "
		 "else pg_i | { pg_r; pg_x=$?; "
		 "test $pg_x = 0 || pg_m $pg_x; command cat >/dev/null; "
		 "test $pg_x != 0 || pg_m 0; }; fi | { command cat; "
		 "command printf '\\%03o%%s 0\\n' \"$pg_c\"; }; done",
		 start, start, NONCE_HEX, ready->prefix + 1, NONCE_HEX,
		 ready->prefix + 1, start);
}

/*
 * One request of shell_driver(): the shell's key (its ready nonce), the
 * markers, the time limit, the bytes of stdin that follow (0: none, the
 * command reads /dev/null; `-`: chunks, each a line with its length and
 * then its bytes, up to a chunk of length 0), `cmd`.
 */
static void shell_request(struct buf *b, const struct shell_state *st,
			  const char *cmd, unsigned timeout, uint64_t size)
{
	const char *p;

	buf_addf(b, "%.*s %.*s %.*s %u ", NONCE_HEX,
		 st->ready.prefix + 1, NONCE_HEX, st->exit.prefix + 1,
		 NONCE_HEX, st->closed.prefix + 1,
		 timeout ? timeout + SSH_SHELL_KILL_MARGIN : 0);
	if (size == SSH_STDIN_CHUNKED)
		buf_addstr(b, "-\n");
	else
		buf_addf(b, "%llu\n", (unsigned long long)size);
	for (p = cmd; *p; p++)
		if (*p == '\\')
			buf_addstr(b, "\\\\");
		else if (*p == '\n')
			buf_addstr(b, "\\n");
		else
			buf_addch(b, *p);
	buf_addch(b, '\n');
}

/* An exitmark_fn: the command's output after its exit (a drain). */
static void shell_after_exit(const char *data, size_t len, void *payload)
{
	struct ssh_channel *ch = payload;

	/* nothing comes after the closed marker */
	if (!ch->shell->closed.found)
		channel_output(ch, data, len);
}

/* An exitmark_fn: the command's output, from the exit filter. */
static void shell_output(const char *data, size_t len, void *payload)
{
	struct ssh_channel *ch = payload;
	struct shell_state *st = ch->shell;

	if (!st->exit.found)
		channel_output(ch, data, len);
	else if (!st->closed.found)
		exitmark_filter(&st->closed, data, len, shell_after_exit, ch);
}

/* An exitmark_fn: the driver's output, from the ready filter. */
static void shell_after_ready(const char *data, size_t len, void *payload)
{
	struct ssh_channel *ch = payload;
	struct shell_state *st = ch->shell;

	/* the login shell's greeting, or (never) output nobody asked for */
	if (!st->ready.found || !st->busy)
		return;
	if (st->exit.found) {
		shell_output(data, len, ch);
		return;
	}
	exitmark_filter(&st->exit, data, len, shell_output, ch);
	if (st->exit.found)
		start_drain(ch);
}

static void shell_stdout(struct ssh_channel *ch, const char *data,
			 size_t len)
{
	struct shell_state *st = ch->shell;

	if (st->ready.found)
		shell_after_ready(data, len, ch);
	else
		exitmark_filter(&st->ready, data, len, shell_after_ready, ch);
}

/* Start a shell: open its channel, without waiting for it to run. */
static int shell_open(struct ssh *s)
{
	struct shell_state *st = xcalloc(1, sizeof(*st));
	struct buf driver = BUF_INIT;
	struct ssh_channel *ch = NULL;
	int r;

	if ((r = exitmark_init(&st->ready)) < 0)
		goto out;
	shell_driver(&driver, &st->ready);
	if ((r = buf_error(&driver)) < 0 ||
	    (r = channel_open(&ch, s, driver.ptr, SHELL_OPEN_TIMEOUT, NULL,
			      NULL)) < 0)
		goto out;
	ch->shell = st;
	st = NULL;
	s->shell = ch;
out:
	free(st);
	buf_release(&driver);
	return r;
}

/* Give the shell up: close its channel without waiting for it. */
static void shell_close(struct ssh *s)
{
	if (!s->shell)
		return;
	channel_abort(s->shell);
	channel_release(s->shell);
	s->shell = NULL;
}

void ssh_shell_start(struct ssh *s)
{
	s->shell_wanted = true;
	/* a packet half sent (an upload's) goes first: later, then */
	if (s->shell || s->shell_off || sshconn_outbound_pending(s->conn))
		return;
	if (shell_open(s) < 0) {
		/* exec channels, as without a shell */
		s->shell_off = true;
		error_clear();
	}
}

/*
 * Wait until the shell is ready (its driver runs), at most
 * SHELL_READY_TIMEOUT and not past the command's deadline: 0 when it is,
 * or when it ended before (*gone), a quiet ERR_TIMEOUT when it did not
 * get there in time (a login shell that waits for its stdin, which is
 * ours), or the connection's failure. Nothing is sent meanwhile, so
 * that a login shell that reads its stdin never takes a command.
 */
static int shell_wait_ready(struct ssh *s, struct ssh_channel *ch,
			    bool *gone)
{
	struct sshconn_deadline cmd_dl = ch->dl;
	bool progress;
	int r;

	ch->dl = sshconn_deadline(SHELL_READY_TIMEOUT, false);
	if (cmd_dl.at && cmd_dl.at < ch->dl.at)
		ch->dl.at = cmd_dl.at;
	ch->dl.quiet = true;
	for (;;) {
		progress = false;
		r = channel_drain(ch, &progress);
		if (ch->shell->ready.found || r < 0)
			break;
		if (libssh2_channel_eof(ch->ch)) {
			*gone = true;
			break;
		}
		if (!progress && (r = sshconn_wait(s->conn, &ch->dl)) < 0)
			break;
	}
	ch->dl = cmd_dl;
	return r;
}

/*
 * ssh_run() through the shell. *not_run is set when the shell ended
 * before it could run the command (nothing else is set then): the
 * caller runs it over an exec channel instead.
 */
static int shell_run(struct ssh_result *result, struct ssh *s,
		     const struct ssh_run_opts *opts,
		     const struct ssh_stdin *in, bool *not_run)
{
	struct ssh_channel *ch = s->shell;
	struct shell_state *st = ch->shell;
	struct buf req = BUF_INIT;
	bool progress, sent = false, gone = false, short_in = false;
	int r;

	*not_run = false;
	if ((r = exitmark_init(&st->exit)) < 0 ||
	    (r = exitmark_init(&st->closed)) < 0)
		return r;
	buf_init(&req, 2 * strlen(opts->command) + 128);
	shell_request(&req, st, opts->command, opts->timeout,
		      in ? in->size : 0);
	if ((r = buf_error(&req)) < 0)
		goto out;
	ch->dl = sshconn_deadline(opts->timeout, true);
	ch->on_output = opts->on_output;
	ch->payload = opts->payload;
	ch->ring_start = 0;
	ch->ring_len = 0;
	st->busy = true;
	if (!st->ready.found) {
		r = shell_wait_ready(s, ch, &gone);
		if (r < 0 && r != ERR_TIMEOUT)
			goto out;
		/* not there in time: as if it had ended */
		gone = gone || r == ERR_TIMEOUT;
		r = 0;
		if (gone)
			goto out;
	}
	/* what came meanwhile: the end of a shell that was ready? */
	progress = false;
	if ((r = channel_drain(ch, &progress)) < 0)
		goto out;
	if (libssh2_channel_eof(ch->ch)) {
		gone = true;
		goto out;
	}
	r = channel_send(ch, req.ptr, req.len);
	sent = !ch->remote_closed;
	if (r < 0)
		goto out;
	if (in) {
		if (!sent) {
			/* gone before it read the request: an exec channel */
			gone = true;
			goto out;
		}
		/*
		 * The driver reads exactly in->size bytes after the request
		 * (dd), or the chunks up to the empty one: all of them, or
		 * the shell is closed after the command (it would wait for
		 * the rest).
		 */
		ch->chunked = in->size == SSH_STDIN_CHUNKED;
		ch->stdin_left = ch->chunked ? 0 : in->size;
		ch->wlen = 0;
		ch->error = 0;
		r = in->feed(ch, in->payload);
		if (!r && ch->chunked && !ch->stdin_left)
			r = chunk_header(ch, 0);
		if (!r && ch->wlen)
			r = channel_send(ch, ch->wbuf, ch->wlen);
		ch->wlen = 0;
		ch->chunked = false;
		short_in = ch->stdin_left || shell_failed_early(ch) ||
			   ch->remote_closed;
		if (r < 0 || (short_in && !st->exit.found)) {
			if (!r)
				r = error_set(ERR_GENERIC, "the upload to '%s' "
					      "ended early",
					      sshconn_label(s->conn));
			goto out;
		}
		/*
		 * Success is marked once all the input was drained: one
		 * before that means the driver stopped handing it over (its
		 * dd failed), and the command took a truncated stream.
		 */
		if (short_in && !st->exit.status) {
			r = error_set(ERR_GENERIC, "the upload to '%s' was not "
				      "taken whole (dd failed on the host?)",
				      sshconn_label(s->conn));
			goto out;
		}
	}
	for (;;) {
		if (short_in)
			break;	/* the exit marker came: no closed marker */
		progress = false;
		r = channel_drain(ch, &progress);
		if (st->closed.found || r < 0)
			break;
		if (libssh2_channel_eof(ch->ch)) {
			gone = true;
			break;
		}
		if (!progress && (r = sshconn_wait(s->conn, &ch->dl)) < 0)
			break;
	}
out:
	st->busy = false;
	if (gone && (!sent || !st->ready.found)) {
		/* it never read the command: an exec channel runs it */
		*not_run = true;
		s->shell_off = true;
		shell_close(s);
		buf_release(&req);
		return 0;
	}
	if (st->exit.found && (!r || r == ERR_TIMEOUT)) {
		/* it exited; without the closed marker, it left a process */
		result->status = st->exit.status;
		result->output_held = !st->closed.found && !gone && !short_in;
		exitmark_flush(&st->closed, shell_after_exit, ch);
		r = 0;
	} else {
		/* no marker: what the filter held back was output */
		exitmark_flush(&st->exit, shell_output, ch);
		if (!r && gone)
			r = error_set(ERR_GENERIC, "the remote shell on '%s' "
				      "ended while running a command",
				      sshconn_label(s->conn));
	}
	result->output = channel_output_detach(ch);
	if (gone)
		s->shell_off = true;
	if (!st->closed.found)
		shell_close(s);
	buf_release(&req);
	return r;
}

/* ssh_run() and ssh_run_stdin(): through the shell if there is one. */
static int run_command(struct ssh_result *result, struct ssh *s,
		       const struct ssh_run_opts *opts,
		       const struct ssh_stdin *in)
{
	bool not_run = false;
	int r;

	result->status = -1;
	result->output = NULL;
	result->output_held = false;
	if (s->shell_wanted)
		ssh_shell_start(s);	/* again, after one was given up */
	if (s->shell) {
		r = shell_run(result, s, opts, in, &not_run);
		if (!not_run)
			return r;
	}
	return run_channel(result, s, opts, in);
}

int ssh_run(struct ssh_result *result, struct ssh *s,
	    const struct ssh_run_opts *opts)
{
	return run_command(result, s, opts, NULL);
}

int ssh_run_stdin(struct ssh_result *result, struct ssh *s,
		  const struct ssh_run_opts *opts, const struct ssh_stdin *in)
{
	s->shell_wanted = true;	/* the upload starts the shell */
	return run_command(result, s, opts, in);
}

void ssh_result_release(struct ssh_result *result)
{
	free(result->output);
	result->status = -1;
	result->output = NULL;
	result->output_held = false;
}

/* Channels first (given up on), then the connection. */
void ssh_free(struct ssh *s)
{
	if (!s)
		return;
	while (s->channels) {
		channel_abort(s->channels);
		channel_release(s->channels);
	}
	sshconn_free(s->conn);
	free(s);
}

const char *ssh_compression(const struct ssh *s)
{
	return sshconn_compression(s->conn);
}
