#include "host.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "archive.h"
#include "buf.h"
#include "errors.h"
#include "fsutil.h"
#include "proc.h"
#include "ssh.h"
#include "strvec.h"

struct host {
	bool local;
	char *label;
	struct ssh *ssh;

	/* the upload in progress */
	bool uploading;
	char *dir;
	struct archive ar;		/* SSH: the tar stream */
	struct ssh_channel *ch;
	struct fsutil_writer fw;	/* local: files written directly */
	int out_fd;			/* producer: the tar stream's pipe */
	bool out_broken;		/* producer: the reader went away */
	uint64_t bytes;
	size_t entries;
};

static char *default_user(void)
{
	struct passwd *pw = getpwuid(getuid());

	return xstrdup(pw && pw->pw_name ? pw->pw_name : "root");
}

/* The SSH options of host `index`; *user_out is the caller's to free. */
static void ssh_opts_of(struct ssh_opts *so, char **user_out,
			const struct config_env *env, size_t index)
{
	const struct config_host *ch = &env->hosts[index];

	*user_out = ch->user ? xstrdup(ch->user) : default_user();
	so->host = ch->host;
	so->port = ch->port ? ch->port : env->port;
	so->user = *user_out;
	so->identity = env->identity;
	so->known_hosts = env->known_hosts;
	so->connect_timeout = env->connect_timeout;
}

int host_open(struct host **out, const struct config_env *env, size_t index)
{
	const struct config_host *ch = &env->hosts[index];
	struct ssh_opts so = SSH_OPTS_INIT;
	struct host *h;
	char *user = NULL;
	int r;

	*out = NULL;
	h = xcalloc(1, sizeof(*h));
	h->local = ch->local;
	h->label = xstrdup(ch->label ? ch->label : "local");
	h->out_fd = -1;
	if (!h->local) {
		ssh_opts_of(&so, &user, env, index);
		r = ssh_connect(&h->ssh, &so);
		free(user);
		if (r < 0) {
			host_free(h);
			if ((r == ERR_NOTFOUND || r == ERR_INVALID) &&
			    strstr(error_last(), "host key"))
				return error_set(r, "%s (run: pushgate trust %s)",
						 error_last(), env->name);
			return r;
		}
	}
	*out = h;
	return 0;
}

int host_fetch_key(struct ssh_hostkey *key, const struct config_env *env,
		   size_t index)
{
	struct ssh_opts so = SSH_OPTS_INIT;
	char *user = NULL;
	int r;

	memset(key, 0, sizeof(*key));
	if (env->hosts[index].local)
		return error_set(ERR_INVALID, "a local host has no host key");
	ssh_opts_of(&so, &user, env, index);
	r = ssh_fetch_hostkey(key, &so);
	free(user);
	return r;
}

int host_trust_key(struct ssh_hostkey *key, const struct config_env *env,
		   size_t index)
{
	struct ssh_opts so = SSH_OPTS_INIT;
	char *user = NULL;
	int r;

	if (env->hosts[index].local)
		return error_set(ERR_INVALID, "a local host has no host key");
	ssh_opts_of(&so, &user, env, index);
	r = ssh_trust_hostkey(key, &so);
	free(user);
	return r;
}

const char *host_label(const struct host *h)
{
	return h->label;
}

bool host_is_local(const struct host *h)
{
	return h->local;
}

int host_run(struct host *h, int *status_out, char **output_out,
	     const char *cmd, unsigned timeout, host_output_fn fn,
	     void *payload)
{
	const char *argv[] = { "/bin/sh", "-c", cmd, NULL };
	struct proc_opts po = PROC_OPTS_INIT;
	struct proc_result res = PROC_RESULT_INIT;
	struct strvec env = STRVEC_INIT;
	int r;

	*status_out = -1;
	if (output_out)
		*output_out = NULL;
	if (!h->local) {
		struct ssh_run_opts so = SSH_RUN_OPTS_INIT;
		struct ssh_result sr = SSH_RESULT_INIT;

		so.command = cmd;
		so.timeout = timeout;
		so.on_output = fn;
		so.payload = payload;
		r = ssh_run(&sr, h->ssh, &so);
		*status_out = sr.status;
		if (output_out) {
			*output_out = sr.output;
			sr.output = NULL;
		}
		ssh_result_release(&sr);
		return r;
	}
	proc_safe_env(&env, NULL);
	po.argv = argv;
	po.env = (const char *const *)env.v;
	po.timeout = timeout;
	po.on_output = fn;
	po.payload = payload;
	po.capture_cap = output_out ? HOST_OUTPUT_CAP : 0;
	r = proc_run(&res, &po);
	strvec_clear(&env);
	if (r < 0)
		return r;
	if (res.timed_out) {
		proc_result_release(&res);
		return error_set(ERR_TIMEOUT,
				 "command timed out after %u s", timeout);
	}
	*status_out = res.status;
	if (output_out) {
		*output_out = res.output ? res.output : xstrdup("");
		res.output = NULL;
	}
	proc_result_release(&res);
	return 0;
}

static int tar_sink(const void *data, size_t len, void *payload)
{
	struct host *h = payload;

	if (h->out_fd >= 0) {
		int r = fsutil_write_all(h->out_fd, data, len);

		h->out_broken = r < 0;
		return r;
	}
	return ssh_channel_write(h->ch, data, len);
}

/* The remote command that unpacks a release into `dir` (which it creates). */
static void add_untar_command(struct buf *cmd, const char *dir)
{
	buf_addstr(cmd, "mkdir -- ");
	buf_addshq(cmd, dir);
	buf_addstr(cmd, " && exec tar --extract --preserve-permissions"
		   " --no-same-owner --file=- --directory=");
	buf_addshq(cmd, dir);
}

/*
 * Close the channel and turn a failed remote side into an error naming
 * its first line of output; the output goes to *output_out (caller
 * frees) when that is not NULL.
 */
static int close_untar(struct host *h, char **output_out)
{
	char *output = NULL;
	int status = -1, r;

	r = ssh_channel_close(h->ch, &status, &output);
	h->ch = NULL;
	if (r == 0 && status != 0) {
		size_t n = output ? strcspn(output, "\n") : 0;

		r = error_set(ERR_GENERIC, "remote side failed (exit %d)%s%.*s",
			      status, n ? ": " : "", (int)n,
			      output ? output : "");
	}
	if (output_out)
		*output_out = output;
	else
		free(output);
	return r;
}

int host_upload_to_fd(struct host *h, int fd, uint64_t mtime)
{
	if (h->local)
		BUG("host_upload_to_fd on a local host");
	h->bytes = 0;
	h->entries = 0;
	h->out_fd = fd;
	h->out_broken = false;
	archive_init(&h->ar, tar_sink, h, mtime);
	h->uploading = true;
	return 0;
}

int host_upload_pump(struct host *h, const char *before, const char *dir,
		     int fd, unsigned timeout, char **output_out)
{
	struct buf cmd = BUF_INIT;
	char *chunk = NULL;
	int r, rc;

	if (h->local)
		BUG("host_upload_pump on a local host");
	if (output_out)
		*output_out = NULL;
	h->bytes = 0;
	if (before) {
		buf_addstr(&cmd, before);
		buf_addstr(&cmd, " && ");
	}
	add_untar_command(&cmd, dir);
	if ((r = ssh_channel_open(&h->ch, h->ssh, cmd.ptr, timeout)) < 0)
		goto out;
	chunk = xmalloc(HOST_PUMP_CHUNK);
	for (;;) {
		ssize_t n = read(fd, chunk, HOST_PUMP_CHUNK);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = error_set_errno(ERR_SYS, "cannot read the release");
			break;
		}
		if (!n)
			break;
		if ((r = ssh_channel_write(h->ch, chunk, (size_t)n)) < 0)
			break;
		h->bytes += (uint64_t)n;
	}
	/*
	 * Always collect the status: a remote side that stopped reading
	 * (a failed `before`, a full disk) says why, which explains a failed
	 * write better than the write itself.
	 */
	if ((rc = close_untar(h, output_out)) < 0)
		r = rc;
out:
	free(chunk);
	buf_release(&cmd);
	return r;
}

int host_upload_begin(struct host *h, const char *dir, uint64_t mtime,
		      unsigned timeout)
{
	struct buf cmd = BUF_INIT;
	int r;

	if (h->uploading)
		BUG("host_upload_begin: upload already in progress");
	h->bytes = 0;
	h->entries = 0;
	h->dir = xstrdup(dir);
	archive_init(&h->ar, tar_sink, h, mtime);
	if (h->local) {
		if ((r = fsutil_writer_open(&h->fw, dir, true)) < 0) {
			fsutil_writer_close(&h->fw);
			return r;
		}
		h->uploading = true;
		return 0;
	}
	add_untar_command(&cmd, dir);
	if ((r = ssh_channel_open(&h->ch, h->ssh, cmd.ptr, timeout)) == 0)
		h->uploading = true;
	buf_release(&cmd);
	return r;
}

static void begin_entry(struct host *h)
{
	if (!h->uploading)
		BUG("host upload entry outside an upload");
	h->entries++;
}

int host_upload_dir(struct host *h, const char *path, unsigned mode)
{
	begin_entry(h);
	if (h->local)
		return fsutil_writer_dir(&h->fw, path, mode);
	return archive_add_dir(&h->ar, path, mode);
}

int host_upload_file(struct host *h, const char *path, unsigned mode,
		     uint64_t size)
{
	begin_entry(h);
	if (h->local)
		return fsutil_writer_file(&h->fw, path, mode, size);
	return archive_add_file(&h->ar, path, mode, size);
}

int host_upload_data(struct host *h, const void *data, size_t len)
{
	int r;

	if (h->local)
		r = fsutil_writer_data(&h->fw, data, len);
	else
		r = archive_add_data(&h->ar, data, len);
	if (!r)
		h->bytes += len;
	return r;
}

int host_upload_symlink(struct host *h, const char *path,
			const char *target)
{
	begin_entry(h);
	if (h->local)
		return fsutil_writer_symlink(&h->fw, path, target);
	return archive_add_symlink(&h->ar, path, target);
}

static void upload_cleanup(struct host *h)
{
	if (h->local)
		fsutil_writer_close(&h->fw);
	h->out_fd = -1;
	free(h->dir);
	h->dir = NULL;
	archive_release(&h->ar);
	h->uploading = false;
}

int host_upload_end(struct host *h)
{
	int r;

	if (!h->uploading)
		BUG("host_upload_end without an upload");
	if (h->local) {
		r = fsutil_writer_close(&h->fw);
		upload_cleanup(h);
		return r;
	}
	r = archive_finish(&h->ar);
	if (r == 0 && h->out_fd < 0)
		r = close_untar(h, NULL);
	if (r < 0)
		host_upload_abort(h);
	else
		upload_cleanup(h);
	return r;
}

void host_upload_abort(struct host *h)
{
	if (!h->uploading)
		return;
	if (h->ch) {
		int status;

		/* the channel is dropped; its status no longer matters */
		ssh_channel_close(h->ch, &status, NULL);
		h->ch = NULL;
	}
	upload_cleanup(h);
}

bool host_upload_broken(const struct host *h)
{
	return h->out_broken;
}

uint64_t host_upload_bytes(const struct host *h)
{
	return h->bytes;
}

size_t host_upload_entries(const struct host *h)
{
	return h->entries;
}

void host_free(struct host *h)
{
	if (!h)
		return;
	host_upload_abort(h);
	ssh_free(h->ssh);
	free(h->label);
	free(h);
}
