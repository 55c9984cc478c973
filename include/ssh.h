#ifndef SSH_H
#define SSH_H

#include <stdbool.h>
#include <stddef.h>

/*
 * SSH through libssh2: connect with a timeout, check the host key against
 * known_hosts (always; an unknown or changed key fails), authenticate
 * with a key file or ssh-agent (never a password, never agent
 * forwarding), and run commands over exec channels, with stdin streamed
 * from the caller and the exit status checked.
 */

struct ssh;
struct ssh_channel;

/* Longest fingerprint text: "SHA256:" + 43 base64 characters. */
#define SSH_FINGERPRINT_MAX 64
/* Bytes of command output kept by ssh_run() and ssh_channel_close(). */
#define SSH_OUTPUT_CAP (64 * 1024)

struct ssh_opts {
	const char *host;	/* name or address; IPv6 without brackets */
	unsigned port;
	const char *user;
	const char *identity;	/* private key file; NULL: ssh-agent */
	const char *known_hosts;	/* file checked (and written by trust) */
	unsigned connect_timeout;	/* seconds, for TCP + handshake + auth */
	/*
	 * Ask for zlib transport compression (`compress` in hooks.ini).
	 * It is used only if the server offers it too; otherwise the
	 * connection goes uncompressed, as OpenSSH's `ssh -C` does.
	 */
	bool compress;
};

#define SSH_OPTS_INIT { NULL, 22, NULL, NULL, NULL, 10, false }

/* What the server presented, for `pushgate trust` and error messages. */
struct ssh_hostkey {
	char type[32];		/* "ssh-ed25519", "ecdsa-sha2-nistp256", ... */
	char fingerprint[SSH_FINGERPRINT_MAX];	/* "SHA256:base64" */
	bool known;		/* matches known_hosts */
	bool changed;		/* known_hosts holds another key */
};

/* Receives command output (stdout and stderr) as it arrives. */
typedef void (*ssh_output_fn)(const char *data, size_t len, void *payload);

/*
 * Connect, check the host key and authenticate. Errors (one line, no key
 * paths): ERR_TIMEOUT, ERR_SYS "cannot connect to 'HOST:PORT': ...",
 * ERR_NOTFOUND "unknown host key for 'HOST:PORT' (TYPE SHA256:...)",
 * ERR_INVALID "host key for 'HOST:PORT' has changed (TYPE SHA256:...)",
 * ERR_GENERIC "authentication failed for 'USER@HOST:PORT'".
 */
int ssh_connect(struct ssh **out, const struct ssh_opts *opts);

/*
 * Connect and read the host key only (no check, no authentication):
 * for `pushgate trust`. Fills *key (known/changed from known_hosts).
 */
int ssh_fetch_hostkey(struct ssh_hostkey *key, const struct ssh_opts *opts);

/*
 * Add the host key the server presents now to opts->known_hosts (created
 * with mode 0600 if missing), replacing a changed entry for that host.
 * If key->fingerprint is set on entry (the key the user confirmed), a
 * server presenting any other key is refused with ERR_INVALID. *key is
 * then filled with what the server presented.
 */
int ssh_trust_hostkey(struct ssh_hostkey *key, const struct ssh_opts *opts);


/*
 * The compression the connection negotiated for what we send: "none",
 * "zlib", or "zlib@openssh.com" (zlib that starts once we are logged
 * in, the only kind OpenSSH servers offer). Borrowed from `s`.
 */
const char *ssh_compression(const struct ssh *s);

/* Disconnect and free (channel, then session, then known_hosts). */
void ssh_free(struct ssh *s);

/*
 * Seconds ssh_run() keeps reading after the command itself exited while
 * a process it started still holds its output open; then it stops
 * waiting (result.output_held). The same as PROC_DRAIN_TIME for a local
 * command.
 */
#define SSH_DRAIN_TIME 1

struct ssh_run_opts {
	/*
	 * A complete remote shell command line, built by the caller from
	 * single-quoted parts; the remote user's login shell (a POSIX
	 * shell) runs it.
	 */
	const char *command;
	unsigned timeout;	/* s from its start to its exit; 0: none */
	ssh_output_fn on_output;	/* all output as it comes, or NULL */
	void *payload;
};

#define SSH_RUN_OPTS_INIT { NULL, 0, NULL, NULL }

struct ssh_result {
	/*
	 * The command's own exit status (128 + signal if it died by one);
	 * -1 when ssh_run() failed.
	 */
	int status;
	/*
	 * The last SSH_OUTPUT_CAP bytes of output (stdout and stderr),
	 * NUL-terminated; set once the command started, also when
	 * ssh_run() then failed; freed by ssh_result_release().
	 */
	char *output;
	/*
	 * The command exited, but a process it started still held its
	 * output open SSH_DRAIN_TIME later: we stopped reading and closed
	 * the channel there, leaving that process running.
	 */
	bool output_held;
};

#define SSH_RESULT_INIT { -1, NULL, false }

/*
 * Run opts->command and wait until it exits, up to opts->timeout
 * seconds. The command is followed by a marker with a random nonce and
 * its status (see exitmark.h), which tells that the command itself
 * exited even while a process it started (`server &`) keeps its output
 * open; the marker never shows in the output. The output is then read
 * for at most SSH_DRAIN_TIME more (output_held if it stays open).
 *
 * Without ssh_shell_start(), the command runs over an exec channel of its
 * own, in a subshell of the login shell; without a marker (the shell was
 * killed), the status is the one the channel reports. After it, the
 * command goes to the persistent shell instead (see there).
 *
 * Returns 0 when the command ran (whatever its status), ERR_TIMEOUT
 * "remote command timed out after N s" (the channel, or the persistent
 * shell, is closed), and ERR_SYS / ERR_GENERIC when it could not run or
 * the connection failed.
 */
int ssh_run(struct ssh_result *result, struct ssh *s,
	    const struct ssh_run_opts *opts);

/*
 * Stdin for ssh_run_stdin(): feed() writes exactly `size` bytes with
 * ssh_channel_write() to the channel it is given, and returns 0, or an
 * error (the command is then given up). With `size` SSH_STDIN_CHUNKED,
 * a total not known beforehand: feed() announces each chunk with
 * ssh_channel_chunk() and then writes exactly that many bytes.
 */
#define SSH_STDIN_CHUNKED (~0ULL)

struct ssh_stdin {
	unsigned long long size;
	int (*feed)(struct ssh_channel *ch, void *payload);
	void *payload;
};

/*
 * ssh_run() with `in` for stdin, through the persistent shell (started
 * now if it was not): its login shell then serves the upload and the
 * commands after it, one start-up instead of two. The driver hands the
 * command exactly in->size bytes of its own stdin (dd), and drains what
 * the command left unread, so that the next request is read where it
 * begins. A command that fails before it was sent everything (a status
 * other than 0) is sent no more; the shell is closed then, as after any
 * upload that did not send all of its bytes. Without a shell, over an
 * exec channel of its own, as ssh_run() does.
 */
int ssh_run_stdin(struct ssh_result *result, struct ssh *s,
		  const struct ssh_run_opts *opts, const struct ssh_stdin *in);

/*
 * The next `size` bytes (more than 0) of a chunked stdin (see struct
 * ssh_stdin): the driver reads the chunk's length, then hands the
 * command exactly that many bytes (dd), chunk after chunk until the
 * stdin ends. Each chunk costs the host a dd process: few and large
 * ones, not one per write. On an exec channel (no shell) it does
 * nothing: the bytes go as they are.
 */
int ssh_channel_chunk(struct ssh_channel *ch, unsigned long long size);

/*
 * Whether the command stopped taking stdin (it exited, or failed before
 * it read it all): what a feed writes then is dropped, so it may stop.
 */
bool ssh_channel_stopped(const struct ssh_channel *ch);

/* Free the output; the result is left as SSH_RESULT_INIT. */
void ssh_result_release(struct ssh_result *result);

/*
 * Start the persistent shell of `s`, without waiting for it: from then
 * on ssh_run() sends its commands to one remote login shell that stays
 * (a "control session"), so that the login shell and its start-up files
 * (rbenv, nvm or pyenv init in .bashrc) start once for all of them, and
 * its start overlaps whatever comes before the first command (an
 * upload). It runs each command as `/bin/sh -c COMMAND` in the
 * environment the login shell set up, with stdin from /dev/null and
 * stderr merged into stdout in order, and under `timeout -k 5` (GNU
 * coreutils, when the host has it) SSH_SHELL_KILL_MARGIN seconds past
 * opts->timeout: a command given up on is stopped on the host too.
 *
 * A command that timed out, or left a process holding its output open
 * (output_held), closes the shell; the next command starts a new one.
 * A shell that cannot be opened, or ends before it runs anything (a
 * login shell that is not a POSIX shell), or does not get to run
 * anything within 10 s (start-up files that read stdin), leaves
 * ssh_run() to exec channels, one per command, for good; a command it
 * never read runs over one of those instead. So does every command after a shell that
 * ended any other way (that command fails with ERR_GENERIC "the remote
 * shell on 'HOST:PORT' ended while running a command"). Uploads go
 * through the shell with ssh_run_stdin(); streams of ssh_channel_open()
 * keep channels of their own.
 */
void ssh_shell_start(struct ssh *s);

/* Seconds a persistent shell's command may run past opts->timeout. */
#define SSH_SHELL_KILL_MARGIN 1

/*
 * Streaming: open an exec channel for `command`, write its stdin with
 * ssh_channel_write() (blocks until all is sent, draining the command's
 * output meanwhile, bounded by `timeout` for the whole channel), then
 * ssh_channel_close() sends EOF, waits for the exit status and frees the
 * channel. Output is kept as for ssh_run(), but the command runs as it
 * is (no exit marker): the channel's end is its end. A tail shorter
 * than one SSH packet (32,700 bytes) may wait for the next write or the
 * close, so that small writes still make full packets. If the command
 * exits without reading all its input, the rest is dropped without an
 * error (like EPIPE for a local child): its exit status tells.
 */
int ssh_channel_open(struct ssh_channel **out, struct ssh *s,
		     const char *command, unsigned timeout);
int ssh_channel_write(struct ssh_channel *ch, const void *data, size_t len);
int ssh_channel_close(struct ssh_channel *ch, int *status_out,
		      char **output_out);

#endif
