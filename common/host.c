#include "host.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
	int rootfd;			/* local: the release directory */
	int parentfd;			/* local: cached parent directory */
	char *parent;			/* its path relative to rootfd */
	int filefd;			/* local: file being written */
	uint64_t file_left;
	char *file_path;
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
	h->rootfd = h->parentfd = h->filefd = -1;
	if (!h->local) {
		ssh_opts_of(&so, &user, env, index);
		r = ssh_connect(&h->ssh, &so);
		free(user);
		if (r < 0) {
			host_free(h);
			if (r == ERR_NOTFOUND || r == ERR_INVALID)
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
	if (!h->local)
		return ssh_run(h->ssh, status_out, output_out, cmd, timeout,
			       fn, payload);
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

	return ssh_channel_write(h->ch, data, len);
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
		if (mkdir(dir, 0755) < 0)
			return error_set_errno(ERR_SYS, "cannot create '%s'",
					       dir);
		h->rootfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
				 O_CLOEXEC);
		if (h->rootfd < 0)
			return error_set_errno(ERR_SYS, "cannot open '%s'",
					       dir);
		h->uploading = true;
		return 0;
	}
	buf_addstr(&cmd, "mkdir -- ");
	buf_addshq(&cmd, dir);
	buf_addstr(&cmd, " && exec tar --extract --preserve-permissions"
		   " --no-same-owner --file=- --directory=");
	if ((r = buf_addshq(&cmd, dir)) == 0 &&
	    (r = ssh_channel_open(&h->ch, h->ssh, cmd.ptr, timeout)) == 0)
		h->uploading = true;
	buf_release(&cmd);
	return r;
}

/* Local: close the file being written, checking its size. */
static int local_end_file(struct host *h)
{
	int r = 0;

	if (h->filefd < 0)
		return 0;
	if (h->file_left)
		r = error_set(ERR_INVALID, "'%s' ended %llu bytes short",
			      h->file_path, (unsigned long long)h->file_left);
	if (close(h->filefd) < 0 && !r)
		r = error_set_errno(ERR_SYS, "cannot write '%s'",
				    h->file_path);
	h->filefd = -1;
	free(h->file_path);
	h->file_path = NULL;
	return r;
}

/*
 * Local: the fd of the directory holding `path` (borrowed), opened one
 * component at a time with O_NOFOLLOW so that no symlink is ever
 * followed; *name_out points at the last component.
 */
static int local_parent(struct host *h, const char *path,
			const char **name_out)
{
	const char *slash = strrchr(path, '/');
	size_t plen = slash ? (size_t)(slash - path) : 0;
	const char *p = path;
	int fd, next;

	*name_out = slash ? slash + 1 : path;
	if (!plen)
		return h->rootfd;
	if (h->parent && strlen(h->parent) == plen &&
	    !strncmp(h->parent, path, plen))
		return h->parentfd;
	if (h->parentfd >= 0)
		close(h->parentfd);
	free(h->parent);
	h->parent = NULL;
	h->parentfd = -1;
	fd = h->rootfd;
	while (p < path + plen) {
		size_t n = strcspn(p, "/");
		char *comp = xstrndup(p, n);

		next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
			      O_CLOEXEC);
		free(comp);
		if (fd != h->rootfd)
			close(fd);
		if (next < 0)
			return error_set_errno(ERR_INVALID,
					       "cannot enter the directory of '%.200s'",
					       path);
		fd = next;
		p += n + 1;
	}
	h->parent = xstrndup(path, plen);
	h->parentfd = fd;
	return fd;
}

/* Local: make room for a new entry `name` in `dirfd` (replace a file). */
static int local_replace(int dirfd, const char *name, const char *path)
{
	struct stat st;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 :
		       error_set_errno(ERR_SYS, "cannot stat '%s'", path);
	if (S_ISDIR(st.st_mode))
		return error_set(ERR_INVALID,
				 "'%.200s' would replace a directory", path);
	if (unlinkat(dirfd, name, 0) < 0)
		return error_set_errno(ERR_SYS, "cannot replace '%s'", path);
	return 0;
}

static int begin_entry(struct host *h, const char *path, int *dirfd,
		       const char **name)
{
	int r;

	if (!h->uploading)
		BUG("host upload entry outside an upload");
	h->entries++;
	if (!h->local)
		return 0;
	if ((r = local_end_file(h)) < 0 ||
	    (r = archive_check_name(NULL, path)) < 0)
		return r;
	if ((r = local_parent(h, path, name)) < 0)
		return r;
	*dirfd = r;
	return 0;
}

int host_upload_dir(struct host *h, const char *path, unsigned mode)
{
	const char *name;
	struct stat st;
	int dirfd, r;

	if ((r = begin_entry(h, path, &dirfd, &name)) < 0)
		return r;
	if (!h->local)
		return archive_add_dir(&h->ar, path, mode);
	if (mkdirat(dirfd, name, mode & 07777) == 0)
		return 0;
	if (errno == EEXIST && fstatat(dirfd, name, &st,
				       AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISDIR(st.st_mode))
		return 0;
	return error_set_errno(ERR_SYS, "cannot create directory '%.200s'",
			       path);
}

int host_upload_file(struct host *h, const char *path, unsigned mode,
		     uint64_t size)
{
	const char *name;
	int dirfd, fd, r;

	if ((r = begin_entry(h, path, &dirfd, &name)) < 0)
		return r;
	if (!h->local)
		return archive_add_file(&h->ar, path, mode, size);
	if ((r = local_replace(dirfd, name, path)) < 0)
		return r;
	fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, 0600);
	if (fd < 0)
		return error_set_errno(ERR_SYS, "cannot create '%.200s'", path);
	if (fchmod(fd, mode & 07777) < 0) {
		close(fd);
		return error_set_errno(ERR_SYS, "cannot chmod '%.200s'", path);
	}
	h->filefd = fd;
	h->file_left = size;
	h->file_path = xstrdup(path);
	return 0;
}

int host_upload_data(struct host *h, const void *data, size_t len)
{
	int r;

	if (!h->local) {
		if ((r = archive_add_data(&h->ar, data, len)) == 0)
			h->bytes += len;
		return r;
	}
	if (h->filefd < 0 || len > h->file_left)
		return error_set(ERR_INVALID, "file data past its size");
	if ((r = fsutil_write_all(h->filefd, data, len)) < 0)
		return r;
	h->file_left -= len;
	h->bytes += len;
	return 0;
}

int host_upload_symlink(struct host *h, const char *path,
			const char *target)
{
	const char *name;
	int dirfd, r;

	if ((r = begin_entry(h, path, &dirfd, &name)) < 0)
		return r;
	if (!h->local)
		return archive_add_symlink(&h->ar, path, target);
	if (!*target || strlen(target) > ARCHIVE_MAX_LINK)
		return error_set(ERR_INVALID, "symlink '%.200s' has a bad target",
				 path);
	if ((r = local_replace(dirfd, name, path)) < 0)
		return r;
	if (symlinkat(target, dirfd, name) < 0)
		return error_set_errno(ERR_SYS, "cannot create '%.200s'", path);
	return 0;
}

static void upload_cleanup(struct host *h)
{
	if (h->filefd >= 0)
		close(h->filefd);
	if (h->parentfd >= 0)
		close(h->parentfd);
	if (h->rootfd >= 0)
		close(h->rootfd);
	h->filefd = h->parentfd = h->rootfd = -1;
	free(h->file_path);
	free(h->parent);
	free(h->dir);
	h->file_path = h->parent = h->dir = NULL;
	archive_release(&h->ar);
	h->uploading = false;
}

int host_upload_end(struct host *h)
{
	char *output = NULL;
	int status = -1, r;

	if (!h->uploading)
		BUG("host_upload_end without an upload");
	if (h->local) {
		r = local_end_file(h);
		upload_cleanup(h);
		return r;
	}
	r = archive_finish(&h->ar);
	if (r == 0) {
		r = ssh_channel_close(h->ch, &status, &output);
		h->ch = NULL;
		if (r == 0 && status != 0) {
			size_t n = output ? strcspn(output, "\n") : 0;

			r = error_set(ERR_GENERIC,
				      "remote tar failed (exit %d)%s%.*s",
				      status, n ? ": " : "", (int)n,
				      output ? output : "");
		}
	}
	free(output);
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
