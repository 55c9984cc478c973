#include "host.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "archive.h"
#include "buf.h"
#include "errors.h"
#include "fsutil.h"
#include "proc.h"
#include "sink.h"
#include "ssh.h"
#include "strvec.h"
#include "timeutil.h"

struct host {
	bool local;
	char *label;
	struct ssh *ssh;
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
	so->compress = env->compress;
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

void host_result_release(struct host_result *res)
{
	free(res->output);
	res->output = NULL;
	res->status = -1;
	res->output_held = false;
}

static int run_local(struct host_result *res, const char *cmd,
		     unsigned timeout, bool capture, host_output_fn fn,
		     void *payload)
{
	const char *argv[] = { "/bin/sh", "-c", cmd, NULL };
	struct proc_opts po = PROC_OPTS_INIT;
	struct proc_result pr = PROC_RESULT_INIT;
	struct strvec env = STRVEC_INIT;
	int r;

	proc_safe_env(&env, NULL);
	po.argv = argv;
	po.env = (const char *const *)env.v;
	po.timeout = timeout;
	po.on_output = fn;
	po.payload = payload;
	po.capture_cap = capture ? HOST_OUTPUT_CAP : 0;
	/* a daemon an operator's command starts keeps running, as over SSH */
	po.leave_running = true;
	r = proc_run(&pr, &po);
	strvec_clear(&env);
	if (r < 0)
		return r;
	if (pr.timed_out) {
		proc_result_release(&pr);
		return error_set(ERR_TIMEOUT,
				 "command timed out after %u s", timeout);
	}
	res->status = pr.status;
	res->output_held = pr.output_held;
	if (capture) {
		res->output = pr.output ? pr.output : xstrdup("");
		pr.output = NULL;
	}
	proc_result_release(&pr);
	return 0;
}

static int run_ssh(struct host *h, struct host_result *res, const char *cmd,
		   unsigned timeout, bool capture, host_output_fn fn,
		   void *payload)
{
	struct ssh_run_opts so = SSH_RUN_OPTS_INIT;
	struct ssh_result sr = SSH_RESULT_INIT;
	int r;

	so.command = cmd;
	so.timeout = timeout;
	so.on_output = fn;
	so.payload = payload;
	/* one remote shell for every command (started here at the latest) */
	ssh_shell_start(h->ssh);
	r = ssh_run(&sr, h->ssh, &so);
	res->status = sr.status;
	res->output_held = sr.output_held;
	if (capture && !r) {
		res->output = sr.output ? sr.output : xstrdup("");
		sr.output = NULL;
	}
	ssh_result_release(&sr);
	return r;
}

int host_run(struct host *h, struct host_result *res, const char *cmd,
	     unsigned timeout, bool capture, host_output_fn fn,
	     void *payload)
{
	res->status = -1;
	res->output = NULL;
	res->output_held = false;
	if (h->local)
		return run_local(res, cmd, timeout, capture, fn, payload);
	return run_ssh(h, res, cmd, timeout, capture, fn, payload);
}

/* GNU tar's last words after a failure, which say only that one came. */
#define TAR_SUMMARY "Exiting with failure status due to previous errors"

/*
 * The last non-empty line of `output` (a failure's best explanation),
 * or the one before it when that is tar's summary ("Cannot write: No
 * space left on device" says why an upload failed; the summary does not).
 */
static void last_line(const char *output, const char **p, int *len)
{
	const char *end = output + strlen(output);
	const char *start;
	size_t n = strlen(TAR_SUMMARY);
	int tries;

	for (tries = 0; tries < 2; tries++) {
		while (end > output && (end[-1] == '\n' || end[-1] == '\r'))
			end--;
		start = end;
		while (start > output && start[-1] != '\n')
			start--;
		if (tries && start == end)
			return;		/* nothing before the summary */
		*p = start;
		*len = (int)(end - start);
		if ((size_t)(end - start) < n ||
		    memcmp(end - n, TAR_SUMMARY, n))
			return;
		end = start;		/* the summary: the line before */
	}
}

/*
 * A command that exited non-zero, as an error naming its last line:
 * "failed (exit 3): missing shared file 'x'" (the caller says what).
 */
static int remote_failed(int status, const char *output)
{
	const char *line = "";
	int n = 0;

	if (output)
		last_line(output, &line, &n);
	return error_set(ERR_GENERIC, "failed (exit %d)%s%.*s", status,
			 n ? ": " : "", n, line);
}

/* ---- local uploads ------------------------------------------------- */

static int upload_local(struct host *h, const struct host_upload *up,
			struct host_upload_stats *stats, char **output_out)
{
	struct host_result res = HOST_RESULT_INIT;
	struct fsutil_writer fw;
	struct sink sink;
	int r, r2;

	if (up->before) {
		r = host_run(h, &res, up->before, up->timeout, true, NULL,
			     NULL);
		if (!r && res.status != 0)
			r = remote_failed(res.status, res.output);
		if (output_out) {
			*output_out = res.output;
			res.output = NULL;
		}
		host_result_release(&res);
		if (r < 0)
			return r;
	}
	if ((r = fsutil_writer_open(&fw, up->dir, true)) == 0) {
		/* as over SSH, where tar stamps them */
		fw.mtime = (int64_t)up->mtime;
		fsutil_writer_sink(&sink, &fw);
		r = up->produce(&sink, up->payload);
		stats->entries = sink.entries;
		stats->bytes = sink.bytes;
	}
	r2 = fsutil_writer_close(&fw);
	if (!r)
		r = r2;
	if (!r && up->after) {
		r = host_run(h, &res, up->after, up->timeout, true, NULL,
			     NULL);
		if (!r && res.status != 0)
			r = remote_failed(res.status, res.output);
		host_result_release(&res);
	}
	return r;
}

/* ---- SSH uploads: a producer process encodes, this one sends ------- */

/* What the producer reports when it is done. */
struct produced {
	int code;
	int broken;		/* failed only because the pump stopped */
	uint64_t bytes;
	uint64_t entries;
	char msg[ERROR_MSG_MAX];
};

struct pipe_out {
	int fd;
	bool broken;
};

static int write_pipe(const void *data, size_t len, void *payload)
{
	struct pipe_out *po = payload;
	int r = fsutil_write_all(po->fd, data, len);

	po->broken = r < 0;
	return r;
}

static void run_producer(const struct host_upload *up, int data_fd,
			 int done_fd)
{
	struct pipe_out po = { data_fd, false };
	struct produced res;
	struct archive ar;
	struct sink sink;

	/* a pump that stopped reading is an error here, not a signal */
	signal(SIGPIPE, SIG_IGN);
	memset(&res, 0, sizeof(res));
	archive_init(&ar, write_pipe, &po, up->mtime);
	archive_sink(&sink, &ar);
	res.code = up->produce(&sink, up->payload);
	if (!res.code)
		res.code = archive_finish(&ar);
	res.entries = sink.entries;
	res.bytes = sink.bytes;
	if (res.code)
		snprintf(res.msg, sizeof(res.msg), "%s", error_last());
	res.broken = po.broken;
	archive_release(&ar);
	close(data_fd);
	fsutil_write_all(done_fd, &res, sizeof(res));
	_exit(0);
}

static int read_full(int fd, void *p, size_t len)
{
	char *c = p;

	while (len) {
		ssize_t n = read(fd, c, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		c += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Progress of one upload: when it started, when it last reported. */
struct progress {
	const struct host_upload *up;
	double start, next;
	uint64_t sent;
};

static void progress_init(struct progress *p, const struct host_upload *up)
{
	p->up = up;
	p->start = timeutil_now();
	p->next = p->start + HOST_PROGRESS_AFTER;
	p->sent = 0;
}

static void progress_add(struct progress *p, size_t n)
{
	double now;

	p->sent += n;
	if (!p->up->progress || (now = timeutil_now()) < p->next)
		return;
	p->next = now + 1.0;
	p->up->progress(p->sent, now - p->start, p->up->progress_payload);
}

/*
 * Start the remote shell of the commands after an upload (the switch)
 * while the release streams, so that the switch then costs a round trip
 * instead of a login shell: once `sent` bytes have gone past
 * HOST_SHELL_AFTER, or when the stream has ended (`done`).
 */
static void start_shell(struct host *h, uint64_t sent, bool done)
{
	if (done || sent >= HOST_SHELL_AFTER)
		ssh_shell_start(h->ssh);
}

/* Copy the tar stream from `fd` into a new channel running `cmd`. */
static int pump(struct host *h, const char *cmd, int fd,
		const struct host_upload *up, char **output_out)
{
	struct ssh_channel *ch = NULL;
	char *chunk = NULL, *output = NULL;
	struct progress pr;
	int status = -1, r, rc;

	if ((r = ssh_channel_open(&ch, h->ssh, cmd, up->timeout)) < 0)
		return r;
	progress_init(&pr, up);
	chunk = xmalloc(HOST_PUMP_CHUNK);
	for (;;) {
		ssize_t n = read(fd, chunk, HOST_PUMP_CHUNK);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = error_set_errno(ERR_SYS, "cannot read the release");
			break;
		}
		if (n && up->cancelled && up->cancelled()) {
			r = error_set(ERR_GENERIC, "the upload was given up");
			break;
		}
		if (!n || (r = ssh_channel_write(ch, chunk, (size_t)n)) < 0)
			break;
		progress_add(&pr, (size_t)n);
		start_shell(h, pr.sent, false);
	}
	if (!r)
		start_shell(h, pr.sent, true);
	/*
	 * Always collect the status: a remote side that stopped reading
	 * (a failed `before`, a full disk) says why, which explains a failed
	 * write better than the write itself.
	 */
	rc = ssh_channel_close(ch, &status, &output);
	if (!rc && status != 0)
		rc = remote_failed(status, output);
	if (rc < 0)
		r = rc;
	if (output_out)
		*output_out = output;
	else
		free(output);
	free(chunk);
	return r;
}

/* ---- the spool: a release encoded once, for every SSH host ---------- */

struct spool_out {
	int fd;
	uint64_t size;
};

static int write_spool(const void *data, size_t len, void *payload)
{
	struct spool_out *so = payload;
	int r = fsutil_write_all(so->fd, data, len);

	if (r < 0)
		return error_set_errno(ERR_SYS, "cannot write the encoded "
				       "release");
	so->size += len;
	return 0;
}

/* An unnamed file in `dir`: gone with its last descriptor. */
static int open_unnamed(const char *dir)
{
	struct buf path = BUF_INIT;
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR &&
			errno != EINVAL))
		return fd;
	/* a file system without O_TMPFILE: a named file, unlinked at once */
	buf_addf(&path, "%s/.spool-XXXXXX", dir);
	if (!buf_error(&path) && (fd = mkostemp(path.ptr, O_CLOEXEC)) >= 0)
		unlink(path.ptr);
	buf_release(&path);
	return fd;
}

int host_spool_create(struct host_spool *out, const char *dir,
		      int (*produce)(struct sink *sink, void *payload),
		      void *payload, uint64_t mtime)
{
	struct spool_out so = { -1, 0 };
	struct archive ar;
	struct sink sink;
	int r;

	out->fd = -1;
	if ((so.fd = open_unnamed(dir)) < 0)
		return error_set_errno(ERR_SYS, "cannot create a file in %s",
				       dir);
	archive_init(&ar, write_spool, &so, mtime);
	archive_sink(&sink, &ar);
	r = produce(&sink, payload);
	if (!r)
		r = archive_finish(&ar);
	archive_release(&ar);
	if (r < 0) {
		close(so.fd);
		return r;
	}
	out->fd = so.fd;
	out->size = so.size;
	out->stats.entries = sink.entries;
	out->stats.bytes = sink.bytes;
	return 0;
}

void host_spool_release(struct host_spool *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

struct spool_feed {
	const struct host_upload *up;
	struct progress pr;
};

/* An ssh_stdin feed: the whole spool, in chunks. */
static int feed_spool(struct ssh_channel *ch, void *payload)
{
	struct spool_feed *f = payload;
	const struct host_spool *spool = f->up->spool;
	char *chunk = xmalloc(HOST_PUMP_CHUNK);
	uint64_t off = 0;
	int r = 0;

	while (off < spool->size) {
		size_t want = spool->size - off < HOST_PUMP_CHUNK ?
			      (size_t)(spool->size - off) : HOST_PUMP_CHUNK;
		ssize_t n = pread(spool->fd, chunk, want, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = error_set_errno(ERR_SYS, "cannot read the encoded"
					    " release");
			break;
		}
		if (f->up->cancelled && f->up->cancelled()) {
			r = error_set(ERR_GENERIC, "the upload was given up");
			break;
		}
		if ((r = ssh_channel_write(ch, chunk, (size_t)n)) < 0)
			break;
		off += (uint64_t)n;
		progress_add(&f->pr, (size_t)n);
	}
	free(chunk);
	return r;
}

/*
 * Send the spool to `cmd` through the host's persistent shell, which
 * then runs the commands after the upload too: one login shell per host
 * instead of two (see ssh_run_stdin()).
 */
static int pump_spool(struct host *h, const char *cmd,
		      const struct host_upload *up, char **output_out)
{
	struct ssh_run_opts opts = SSH_RUN_OPTS_INIT;
	struct ssh_result res = SSH_RESULT_INIT;
	struct spool_feed f;
	struct ssh_stdin in;
	int r;

	f.up = up;
	progress_init(&f.pr, up);
	in.size = up->spool->size;
	in.feed = feed_spool;
	in.payload = &f;
	opts.command = cmd;
	opts.timeout = up->timeout;
	r = ssh_run_stdin(&res, h->ssh, &opts, &in);
	if (!r && res.status != 0)
		r = remote_failed(res.status, res.output);
	if (output_out) {
		*output_out = res.output;
		res.output = NULL;
	}
	ssh_result_release(&res);
	return r;
}

void host_upload_command(struct buf *cmd, const struct host_upload *up)
{
	if (up->before)
		buf_addf(cmd, "%s && ", up->before);
	buf_addstr(cmd, "mkdir -- ");
	buf_addshq(cmd, up->dir);
	buf_addf(cmd, " && %star --extract --preserve-permissions"
		 " --no-same-owner --file=- --directory=",
		 up->after ? "" : "exec ");
	buf_addshq(cmd, up->dir);
	if (up->after)
		buf_addf(cmd, " && %s", up->after);
}

static int upload_ssh(struct host *h, const struct host_upload *up,
		      struct host_upload_stats *stats, char **output_out)
{
	struct buf cmd = BUF_INIT;
	struct error_saved saved;
	struct produced res;
	int data[2], done[2], r;
	pid_t pid;

	host_upload_command(&cmd, up);
	if ((r = buf_error(&cmd)) < 0)
		goto out_cmd;
	if (up->spool) {
		r = pump_spool(h, cmd.ptr, up, output_out);
		*stats = up->spool->stats;
		goto out_cmd;
	}
	if (pipe2(data, O_CLOEXEC) < 0) {
		r = error_set_errno(ERR_SYS, "cannot create a pipe");
		goto out_cmd;
	}
	/*
	 * Room for four of the pump's reads: the export runs ahead instead
	 * of waking the pump every 64 KB (5% of a first deploy's time on two
	 * CPUs). Without it (a lower pipe-max-size), the default pipe does.
	 */
	fcntl(data[1], F_SETPIPE_SZ, 4 * HOST_PUMP_CHUNK);
	if (pipe2(done, O_CLOEXEC) < 0) {
		r = error_set_errno(ERR_SYS, "cannot create a pipe");
		close(data[0]);
		close(data[1]);
		goto out_cmd;
	}
	fflush(NULL);
	if ((pid = fork()) < 0) {
		r = error_set_errno(ERR_SYS, "cannot fork");
		close(data[1]);
		close(done[1]);
		goto out;
	}
	if (pid == 0) {
		close(data[0]);
		close(done[0]);
		run_producer(up, data[1], done[1]);
	}
	close(data[1]);
	close(done[1]);
	r = pump(h, cmd.ptr, data[0], up, output_out);
	/* a producer still writing sees EOF on its reader and stops */
	close(data[0]);
	data[0] = -1;
	memset(&res, 0, sizeof(res));
	if (read_full(done[0], &res, sizeof(res)) < 0) {
		res.code = ERR_GENERIC;
		snprintf(res.msg, sizeof(res.msg), "the export process died");
	}
	res.msg[sizeof(res.msg) - 1] = '\0';
	error_save(&saved);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	error_restore(&saved, 0);
	/*
	 * The export's own failure (a bad entry) explains a truncated stream
	 * best; a producer that only lost its reader explains nothing.
	 */
	if (res.code < 0 && (!res.broken || r == 0))
		r = error_set(res.code, "%s", res.msg);
	stats->entries = res.entries;
	stats->bytes = res.bytes;
out:
	if (data[0] >= 0)
		close(data[0]);
	close(done[0]);
out_cmd:
	buf_release(&cmd);
	return r;
}

int host_upload(struct host *h, const struct host_upload *up,
		struct host_upload_stats *stats, char **output_out)
{
	memset(stats, 0, sizeof(*stats));
	if (output_out)
		*output_out = NULL;
	if (h->local)
		return upload_local(h, up, stats, output_out);
	return upload_ssh(h, up, stats, output_out);
}

void host_describe(struct buf *out, const struct config_env *env,
		   size_t index)
{
	if (env->hosts[index].local)
		return;
	buf_addf(out, "remote shell: one login shell runs the commands "
		 "below, each as /bin/sh -c COMMAND under timeout -k 5 %u;"
		 " the upload too when it is encoded once for several "
		 "hosts, else it has a channel of its own",
		 env->command_timeout ? env->command_timeout +
		 SSH_SHELL_KILL_MARGIN : 0);
}

void host_free(struct host *h)
{
	if (!h)
		return;
	ssh_free(h->ssh);
	free(h->label);
	free(h);
}
