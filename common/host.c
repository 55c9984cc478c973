#include "host.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
		/*
		 * Every connection runs commands, through one remote shell:
		 * its login shell starts now, while the caller gets on.
		 */
		ssh_shell_start(h->ssh);
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

/*
 * Where the producer writes: a pipe to the sender (bell -1), or the
 * growing spool (a file), with a byte written to `bell` after each write
 * so that a sender waiting for more wakes up.
 */
struct stream_out {
	int fd;
	int bell;
	bool broken;		/* the sender is gone */
};

static int write_out(const void *data, size_t len, void *payload)
{
	struct stream_out *so = payload;
	char tick = 1;
	ssize_t n;
	int r;

	if ((r = fsutil_write_all(so->fd, data, len)) < 0) {
		so->broken = so->bell < 0;
		return so->bell < 0 ? r : error_set_errno(ERR_SYS, "cannot "
							  "write the encoded release");
	}
	if (so->bell < 0)
		return 0;
	/* non-blocking: a full pipe wakes the sender all the same */
	do
		n = write(so->bell, &tick, 1);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno != EAGAIN) {
		so->broken = true;
		return error_set_errno(ERR_SYS, "the upload stopped");
	}
	return 0;
}

static void run_producer(const struct host_upload *up, struct stream_out *so,
			 int done_fd)
{
	struct produced res;
	struct archive ar;
	struct sink sink;

	/* a sender that stopped reading is an error here, not a signal */
	signal(SIGPIPE, SIG_IGN);
	memset(&res, 0, sizeof(res));
	archive_init(&ar, write_out, so, up->mtime);
	archive_sink(&sink, &ar);
	res.code = up->produce(&sink, up->payload);
	if (!res.code)
		res.code = archive_finish(&ar);
	res.entries = sink.entries;
	res.bytes = sink.bytes;
	if (res.code)
		snprintf(res.msg, sizeof(res.msg), "%s", error_last());
	res.broken = so->broken;
	archive_release(&ar);
	/* the sender sees the end: EOF on the pipe, or on the bell */
	close(so->bell >= 0 ? so->bell : so->fd);
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

/* The producer's report from `fd`; "the export process died" without one. */
static void read_produced(int fd, struct produced *res)
{
	memset(res, 0, sizeof(*res));
	if (read_full(fd, res, sizeof(*res)) < 0) {
		res->code = ERR_GENERIC;
		snprintf(res->msg, sizeof(res->msg), "the export process died");
	}
	res->msg[sizeof(res->msg) - 1] = '\0';
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

/*
 * Send bytes [*off, end) of the encoded release in `fd`: 1 if the
 * command stopped reading; *off is where it stopped.
 */
static int send_range(struct ssh_channel *ch, int fd, struct progress *pr,
		      char *buf, uint64_t *off, uint64_t end)
{
	int r;

	while (*off < end) {
		size_t want = end - *off < HOST_PUMP_CHUNK ?
			      (size_t)(end - *off) : HOST_PUMP_CHUNK;
		ssize_t n = pread(fd, buf, want, (off_t)*off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return error_set_errno(ERR_SYS, "cannot read the "
					       "encoded release");
		if (pr->up->cancelled && pr->up->cancelled())
			return error_set(ERR_GENERIC, "the upload was given up");
		if ((r = ssh_channel_write(ch, buf, (size_t)n)) < 0)
			return r;
		if (ssh_channel_stopped(ch))
			return 1;	/* the rest would be dropped */
		*off += (uint64_t)n;
		progress_add(pr, (size_t)n);
	}
	return 0;
}

/* An ssh_stdin feed: the whole spool. */
static int feed_spool(struct ssh_channel *ch, void *payload)
{
	struct spool_feed *f = payload;
	char *buf = xmalloc(HOST_PUMP_CHUNK);
	uint64_t off = 0;
	int r = send_range(ch, f->up->spool->fd, &f->pr, buf, &off,
			   f->up->spool->size);

	free(buf);
	return r < 0 ? r : 0;
}

/*
 * Run the upload command `cmd` with `in` for stdin, through the host's
 * persistent shell, which then runs the commands after the upload too:
 * one login shell per host instead of two (see ssh_run_stdin()).
 */
static int run_upload(struct host *h, const char *cmd,
		      const struct host_upload *up, const struct ssh_stdin *in,
		      char **output_out)
{
	struct ssh_run_opts opts = SSH_RUN_OPTS_INIT;
	struct ssh_result res = SSH_RESULT_INIT;
	int r;

	opts.command = cmd;
	opts.timeout = up->timeout;
	r = ssh_run_stdin(&res, h->ssh, &opts, in);
	if (!r && res.status != 0)
		r = remote_failed(res.status, res.output);
	if (output_out) {
		*output_out = res.output;
		res.output = NULL;
	}
	ssh_result_release(&res);
	return r;
}

/* Send the spool, whole, to `cmd`. */
static int pump_spool(struct host *h, const char *cmd,
		      const struct host_upload *up, char **output_out)
{
	struct spool_feed f;
	struct ssh_stdin in;

	f.up = up;
	progress_init(&f.pr, up);
	in.size = up->spool->size;
	in.feed = feed_spool;
	in.payload = &f;
	return run_upload(h, cmd, up, &in, output_out);
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

/* ---- the growing spool: one host's upload through its shell -------- */

/*
 * A single host's release is encoded into an unnamed file that the
 * sender reads as it grows, in chunks of whatever is there (at least
 * HOST_CHUNK_MIN until the end): the upload can then go through the
 * host's persistent shell like the fleet's (one login shell per host),
 * with few chunks, since the export runs ahead of the sender.
 */
struct grow_feed {
	const struct host_upload *up;
	struct progress pr;
	int fd;			/* the spool */
	int bell;		/* a byte per write of the producer; EOF: done */
	int done_fd;		/* the producer's struct produced */
	bool done;		/* the producer ended: the size is final */
	bool have_res;
	struct produced res;
	int failed;		/* the feed's own error, the host told */
	struct error_saved why;
};

/* Wait until the producer wrote more, or ended. */
static int grow_wait(struct grow_feed *f)
{
	char ticks[4096];
	ssize_t n;

	do
		n = read(f->bell, ticks, sizeof(ticks));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return error_set_errno(ERR_SYS, "cannot wait for the export");
	if (n)
		return 0;
	f->done = true;
	read_produced(f->done_fd, &f->res);
	f->have_res = true;
	/* the feed fails, which spoils what was sent (feed_growing()) */
	if (f->res.code < 0)
		return error_set(f->res.code, "%s", f->res.msg);
	return 0;
}

/*
 * The feed failed after the upload command started (a bad entry in the
 * export, the deploy given up): the `left` bytes still due in the chunk,
 * then two blocks that no tar takes for a header or the end, so that the
 * command fails on the host, and only then is the upload over, rather
 * than a tar that found a whole entry last taking the stream for the
 * release while the deploy discards it. Returns 0 when sent.
 */
static int spoil_stream(struct ssh_channel *ch, char *buf, uint64_t left)
{
	size_t n;
	int r = 0;

	memset(buf, 'x', HOST_PUMP_CHUNK);
	while (!r && left) {
		n = left < HOST_PUMP_CHUNK ? (size_t)left : HOST_PUMP_CHUNK;
		r = ssh_channel_write(ch, buf, n);
		left -= n;
	}
	if (!r && !(r = ssh_channel_chunk(ch, 1024)))
		r = ssh_channel_write(ch, buf, 1024);
	return r;
}

/* An ssh_stdin feed: the spool as it grows, chunk by chunk. */
static int feed_growing(struct ssh_channel *ch, void *payload)
{
	struct grow_feed *f = payload;
	char *buf = xmalloc(HOST_PUMP_CHUNK);
	uint64_t off = 0, end = 0;
	struct stat st;
	int r = 0;

	progress_init(&f->pr, f->up);
	for (;;) {
		if (fstat(f->fd, &st) < 0) {
			r = error_set_errno(ERR_SYS, "cannot read the encoded "
					    "release");
			break;
		}
		end = (uint64_t)st.st_size;
		if (!f->done && end - off < HOST_CHUNK_MIN) {
			if ((r = grow_wait(f)) < 0)
				break;
			continue;
		}
		if (end == off)
			break;
		if ((r = ssh_channel_chunk(ch, end - off)) < 0 ||
		    (r = send_range(ch, f->fd, &f->pr, buf, &off,
					 end)) != 0)
			break;
	}
	if (r < 0 && !ssh_channel_stopped(ch)) {
		/* the host may take what came as whole: tell it otherwise */
		error_save(&f->why);
		f->failed = r;
		if (!spoil_stream(ch, buf, end > off ? end - off : 0))
			r = 0;	/* and wait for the command to fail */
	}
	free(buf);
	return r < 0 ? r : 0;
}

/*
 * Start the producer writing into `so` (the caller's ends of the pipes
 * are closed in it). Returns its pid and the read end of its report.
 */
static int start_producer(const struct host_upload *up, struct stream_out *so,
			  int close_fd, pid_t *pid, int *done_out)
{
	int done[2];

	if (pipe2(done, O_CLOEXEC) < 0)
		return error_set_errno(ERR_SYS, "cannot create a pipe");
	fflush(NULL);
	if ((*pid = fork()) < 0) {
		close(done[0]);
		close(done[1]);
		return error_set_errno(ERR_SYS, "cannot fork");
	}
	if (*pid == 0) {
		close(close_fd);
		close(done[0]);
		run_producer(up, so, done[1]);
	}
	close(done[1]);
	*done_out = done[0];
	return 0;
}

/*
 * Collect the producer (its report `res`, read now unless `have_res`):
 * its own failure (a bad entry) explains a truncated stream best; a
 * producer that only lost its reader explains nothing.
 */
static int finish_producer(pid_t pid, int done_fd, struct produced *res,
			   bool have_res, int r,
			   struct host_upload_stats *stats)
{
	struct error_saved saved;

	if (!have_res)
		read_produced(done_fd, res);
	close(done_fd);
	error_save(&saved);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	error_restore(&saved, 0);
	if (res->code < 0 && (!res->broken || r == 0))
		r = error_set(res->code, "%s", res->msg);
	stats->entries = res->entries;
	stats->bytes = res->bytes;
	return r;
}

/* The stream through a pipe, into an exec channel of its own. */
static int stream_pipe(struct host *h, const char *cmd,
		       const struct host_upload *up,
		       struct host_upload_stats *stats, char **output_out)
{
	struct stream_out so = { -1, -1, false };
	struct produced res;
	int data[2], done_fd, r;
	pid_t pid;

	if (pipe2(data, O_CLOEXEC) < 0)
		return error_set_errno(ERR_SYS, "cannot create a pipe");
	/*
	 * Room for four of the pump's reads: the export runs ahead instead
	 * of waking the pump every 64 KB (5% of a first deploy's time on two
	 * CPUs). Without it (a lower pipe-max-size), the default pipe does.
	 */
	fcntl(data[1], F_SETPIPE_SZ, 4 * HOST_PUMP_CHUNK);
	so.fd = data[1];
	r = start_producer(up, &so, data[0], &pid, &done_fd);
	close(data[1]);
	if (r < 0) {
		close(data[0]);
		return r;
	}
	r = pump(h, cmd, data[0], up, output_out);
	/* a producer still writing sees EOF on its reader and stops */
	close(data[0]);
	return finish_producer(pid, done_fd, &res, false, r, stats);
}

static int stream_spool(struct host *h, const char *cmd,
			const struct host_upload *up,
			struct host_upload_stats *stats, char **output_out)
{
	struct stream_out so = { -1, -1, false };
	struct grow_feed f;
	struct ssh_stdin in;
	int bell[2], r;
	pid_t pid;

	memset(&f, 0, sizeof(f));
	/* no file there (a read-only directory): the stream, as without */
	if ((so.fd = open_unnamed(up->spool_dir)) < 0)
		return stream_pipe(h, cmd, up, stats, output_out);
	if (pipe2(bell, O_CLOEXEC) < 0) {
		r = error_set_errno(ERR_SYS, "cannot create a pipe");
		close(so.fd);
		return r;
	}
	fcntl(bell[1], F_SETFL, O_NONBLOCK);
	so.bell = bell[1];
	r = start_producer(up, &so, bell[0], &pid, &f.done_fd);
	close(bell[1]);
	if (r < 0) {
		close(bell[0]);
		close(so.fd);
		return r;
	}
	f.up = up;
	f.fd = so.fd;
	f.bell = bell[0];
	in.size = SSH_STDIN_CHUNKED;
	in.feed = feed_growing;
	in.payload = &f;
	r = run_upload(h, cmd, up, &in, output_out);
	if (f.failed)
		r = error_restore(&f.why, f.failed);
	/* a producer still writing sees EPIPE on its bell and stops */
	close(f.bell);
	r = finish_producer(pid, f.done_fd, &f.res, f.have_res, r, stats);
	close(so.fd);
	return r;
}

static int upload_ssh(struct host *h, const struct host_upload *up,
		      struct host_upload_stats *stats, char **output_out)
{
	struct buf cmd = BUF_INIT;
	int r;

	host_upload_command(&cmd, up);
	if ((r = buf_error(&cmd)) < 0)
		goto out;
	if (up->spool) {
		r = pump_spool(h, cmd.ptr, up, output_out);
		*stats = up->spool->stats;
	} else if (up->spool_dir) {
		r = stream_spool(h, cmd.ptr, up, stats, output_out);
	} else {
		r = stream_pipe(h, cmd.ptr, up, stats, output_out);
	}
out:
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
	buf_addf(out, "remote shell: one login shell runs the upload and "
		 "the commands below, each as /bin/sh -c COMMAND under "
		 "timeout -k 5 %u",
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
