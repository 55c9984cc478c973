#ifndef HOST_H
#define HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "ssh.h"

/*
 * One deploy host behind one interface, whether it is this machine
 * (`local`: commands through /bin/sh, files written directly) or an SSH
 * host (commands over exec channels, files as a tar stream into a remote
 * `tar -x`, encoded by a second process so that two cores work). The
 * release target only speaks to this interface and never asks which
 * kind of host it has.
 */

struct host;
struct sink;

/* Bytes moved per write when pumping an upload into a channel. */
#define HOST_PUMP_CHUNK (256 * 1024)

/*
 * Bytes an SSH upload sends before the remote shell of the commands after
 * it (ssh_shell_start()) starts: past the SSH window (2 MB with OpenSSH),
 * so that the upload's own login shell has started by then. Two login
 * shells starting at once slow each other down: start-up files take
 * locks (`pyenv rehash` waits a tenth of a second for another's).
 */
#define HOST_SHELL_AFTER (4 * 1024 * 1024)

/*
 * The smallest chunk an upload through the persistent shell sends before
 * the end of the release: each chunk starts a `dd` on the host.
 */
#define HOST_CHUNK_MIN (1024 * 1024)

/* Bytes of command output kept by host_run(). */
#define HOST_OUTPUT_CAP (64 * 1024)

/* Receives command output as it arrives. */
typedef void (*host_output_fn)(const char *data, size_t len, void *payload);

/*
 * Open host `index` of `env`: for SSH, connect, check the host key and
 * authenticate (see ssh_connect() for the errors; a host-key failure
 * names `pushgate trust ENV`). Local hosts need no connection.
 */
int host_open(struct host **out, const struct config_env *env, size_t index);

/*
 * For `pushgate trust`: the key host `index` presents (SSH hosts only;
 * ERR_INVALID for a local host), and adding it to the env's known_hosts.
 */
int host_fetch_key(struct ssh_hostkey *key, const struct config_env *env,
		   size_t index);
int host_trust_key(struct ssh_hostkey *key, const struct config_env *env,
		   size_t index);

/* Disconnect and free (NULL is fine). */
void host_free(struct host *h);

/* What a command did. */
struct host_result {
	int status;		/* exit status, 128 + signal, -1 unknown */
	char *output;		/* its last HOST_OUTPUT_CAP bytes, or NULL */
	bool output_held;	/* it exited, but a process it started kept
				 * its output open: not waited for */
};

#define HOST_RESULT_INIT { -1, NULL, false }

void host_result_release(struct host_result *res);

/*
 * Run the shell command line `cmd` on the host (local: /bin/sh -c with a
 * clean environment; SSH: the login shell of the remote user), its time
 * limit `timeout` seconds counted from its start. Output goes to `fn` if
 * given and its tail to res->output when `capture` is set. A process
 * the command leaves running is neither killed nor waited for (see
 * res->output_held). Returns 0 when the command ran (whatever its exit
 * status), ERR_TIMEOUT when it ran too long, ERR_SYS / ERR_GENERIC when
 * it could not run.
 */
int host_run(struct host *h, struct host_result *res, const char *cmd,
	     unsigned timeout, bool capture, host_output_fn fn,
	     void *payload);

struct host_upload_stats {
	uint64_t entries;
	uint64_t bytes;		/* file bytes */
};

/*
 * A release encoded once for every SSH host of a deploy (SPEC §11): the
 * tar stream an upload sends, in an unnamed file, read by each upload
 * at its own offset.
 */
struct host_spool {
	int fd;			/* -1: none */
	uint64_t size;		/* bytes of the stream */
	struct host_upload_stats stats;
};

#define HOST_SPOOL_INIT { -1, 0, { 0, 0 } }

/*
 * Encode what `produce` writes (entries stamped `mtime`) into a new
 * spool, an unnamed file in directory `dir`.
 */
int host_spool_create(struct host_spool *out, const char *dir,
		      int (*produce)(struct sink *sink, void *payload),
		      void *payload, uint64_t mtime);
void host_spool_release(struct host_spool *s);

/* One upload of release entries into a new directory. */
struct host_upload {
	const char *dir;	/* absolute on the host; must not exist */
	const char *before;	/* shell command run first, in the same round
				 * trip; the upload fails if it fails */
	const char *after;	/* shell command run once the entries are
				 * in `dir`, in the same round trip; the
				 * upload fails if it fails */
	uint64_t mtime;		/* stamped on every entry */
	unsigned timeout;	/* seconds, for the whole upload */
	/* writes the entries, each directory before what it holds */
	int (*produce)(struct sink *sink, void *payload);
	void *payload;
	/* SSH hosts: send this instead of running `produce` (NULL: none) */
	const struct host_spool *spool;
	/*
	 * SSH hosts, without `spool`: a directory for the encoded release,
	 * which then goes through the host's persistent shell as it grows
	 * (one login shell per host). NULL: a pipe into a channel of its own.
	 */
	const char *spool_dir;
	/*
	 * SSH hosts: called about once a second with the bytes sent so far
	 * and the seconds since the upload started, once it has taken
	 * HOST_PROGRESS_AFTER seconds (NULL: none).
	 */
	void (*progress)(uint64_t bytes, double seconds, void *payload);
	void *progress_payload;
	/*
	 * SSH hosts: asked between two chunks; true stops sending (the
	 * upload fails, the host is left with a truncated stream). NULL:
	 * never.
	 */
	bool (*cancelled)(void);
};

#define HOST_PROGRESS_AFTER 2.0

/*
 * Run up->before, create up->dir and write there everything up->produce
 * writes into its sink, then run up->after. Names are checked as archive_check_name() does
 * and nothing is ever written through a symlink; a later entry for an
 * existing file replaces it (the `config` overlay). The output of the
 * remote side (`before` first) is handed over in *output_out when that
 * is not NULL (caller frees; also after a failure). A failure of the
 * remote side is an error naming its last line of output.
 */
int host_upload(struct host *h, const struct host_upload *up,
		struct host_upload_stats *stats, char **output_out);

/*
 * For a dry run: how host `index` of `env` would run a deploy's commands,
 * as one line into `out` (nothing for a local host, whose commands run
 * here, each by /bin/sh -c); check buf_error(out). Connects to nothing.
 */
void host_describe(struct buf *out, const struct config_env *env,
		   size_t index);

/*
 * The one remote command of an SSH host's upload (up->before, then an
 * extraction of the tar stream into up->dir, then up->after), as
 * host_upload() runs it; check buf_error(cmd).
 */
void host_upload_command(struct buf *cmd, const struct host_upload *up);

#endif
