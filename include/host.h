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
 * `tar -x`). The deploy engine only speaks to this interface.
 */

struct host;

/* Bytes moved per write by host_upload_pump(). */
#define HOST_PUMP_CHUNK (256 * 1024)

/* Bytes of command output kept by host_run(). */
#define HOST_OUTPUT_CAP (64 * 1024)

/* Receives command output as it arrives. */
typedef void (*host_output_fn)(const char *data, size_t len, void *payload);

/*
 * Open host `index` of `env`: for SSH, connect, check the host key and
 * authenticate (see ssh_connect() for the errors). Local hosts need no
 * connection.
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

/* Disconnect and free. */
void host_free(struct host *h);

/* The host as written in hooks.ini ("local", "deploy@web1"). Borrowed. */
const char *host_label(const struct host *h);

/* True for `local` (this machine, no SSH). */
bool host_is_local(const struct host *h);

/*
 * Run the shell command line `cmd` on the host (local: /bin/sh -c with a
 * clean environment; SSH: the login shell of the remote user) and wait
 * up to `timeout` seconds. *status_out gets its exit status; output goes
 * to `fn` if given and its last HOST_OUTPUT_CAP bytes to *output_out if
 * that is non-NULL (caller frees). Returns ERR_TIMEOUT when it ran too
 * long, ERR_SYS / ERR_GENERIC when it could not run.
 */
int host_run(struct host *h, int *status_out, char **output_out,
	     const char *cmd, unsigned timeout, host_output_fn fn,
	     void *payload);

/*
 * Upload release entries into the directory `dir` (absolute on the host),
 * which must not exist yet and is created. Entries come in tree order,
 * each directory before what it holds; a later entry for an existing
 * file replaces it (the `config` overlay). Names are checked as
 * archive_check_name() does, and nothing is ever written through a
 * symlink. host_upload_end() completes the transfer and reports the
 * remote side's failure; after any error call host_upload_abort().
 */
int host_upload_begin(struct host *h, const char *dir, uint64_t mtime,
		      unsigned timeout);
int host_upload_dir(struct host *h, const char *path, unsigned mode);
int host_upload_file(struct host *h, const char *path, unsigned mode,
		     uint64_t size);
int host_upload_data(struct host *h, const void *data, size_t len);
int host_upload_symlink(struct host *h, const char *path,
			const char *target);
int host_upload_end(struct host *h);
void host_upload_abort(struct host *h);

/*
 * The same upload split over two processes, for SSH hosts: a producer
 * (usually a forked child) calls host_upload_to_fd() and then the entry
 * functions and host_upload_end() as above, which write the tar stream
 * into `fd` instead of a channel; meanwhile host_upload_pump() copies
 * what it reads from the other end of that pipe into a new channel for
 * `dir`, until end of file, and waits for the remote `tar`. Export and
 * encryption then use two cores. `before`, if not NULL, is a shell
 * command run first in the same round trip (the upload fails if it
 * fails); the command's output is handed over in *output_out (caller
 * frees, also after a failure) when that is not NULL.
 */
int host_upload_to_fd(struct host *h, int fd, uint64_t mtime);
int host_upload_pump(struct host *h, const char *before, const char *dir,
		     int fd, unsigned timeout, char **output_out);

/* Producer: did the upload fail because the pump stopped reading? */
bool host_upload_broken(const struct host *h);

/* Bytes and entries sent by the last upload (for progress lines). */
uint64_t host_upload_bytes(const struct host *h);
size_t host_upload_entries(const struct host *h);

#endif
