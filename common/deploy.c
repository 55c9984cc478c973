#include "deploy.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "errors.h"
#include "fsutil.h"
#include "host.h"
#include "proc.h"
#include "report.h"
#include "strvec.h"
#include "workspace.h"

#define RESULT_MSG_MAX 512
#define RELEASE_ID_MAX DEPLOY_RELEASE_ID_MAX

/* What the parent asks a host worker to do. */
enum phase {
	PHASE_PREPARE = 'P',	/* connect, upload, overlay, shared links */
	PHASE_SWITCH = 'S',	/* maintenance, before, switch, after, health */
	PHASE_ROLLBACK = 'B',	/* back to the previous release, on_failure */
	PHASE_MARK_FAILED = 'F',	/* FAILED file, maintenance off */
	PHASE_REMOVE = 'X',	/* remove the partial release */
	PHASE_FINISH = 'M',	/* maintenance off, prune */
	PHASE_QUIT = 'Q'
};

struct result {
	int code;		/* 0, or a negative ERR_* */
	int switched;		/* PHASE_SWITCH began changing the host */
	char msg[RESULT_MSG_MAX];
};

/* Where the release content comes from. */
struct source {
	bool from_tree;		/* the commit's tree, else a local checkout */
	const char *artifact;	/* subdirectory of the tree or checkout */
	const char *config_dir;	/* overlay directory, or NULL */
	char *checkout;		/* local checkout (built), or NULL */
	bool remove_checkout;	/* built by this deploy */
};

struct deploy {
	const struct deploy_opts *o;
	bool rollback;			/* switch to an existing release */
	const char *action;		/* "deploy" or "rollback" */
	const struct config_env *env;
	char hex[REPO_OID_HEXSZ + 1];
	char id[RELEASE_ID_MAX];	/* release id */
	char *reason;			/* why the deploy failed */
	bool switched_any;		/* some host switched, then rolled back */
	struct source src;
	uint64_t mtime;
};

struct worker {
	pid_t pid;
	int cmd_fd;		/* parent -> worker */
	int res_fd;		/* worker -> parent */
	bool prepared;
	bool switched;
	const char *label;
};

/* State of one worker process. */
struct host_job {
	struct deploy *d;
	size_t index;
	struct host *host;
	const char *label;
	char *previous;		/* previous release id, or NULL */
	char *previous_link;	/* where `current` pointed, or NULL */
	char *listing;		/* releases as listed at the switch */
	bool owns_release;	/* the release directory is this deploy's */
	bool switched;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- remote shell command lines ---------------------------------- */

static void add_path(struct buf *b, const char *root, const char *rest)
{
	struct buf p = BUF_INIT;

	buf_addstr(&p, root);
	if (rest) {
		buf_addch(&p, '/');
		buf_addstr(&p, rest);
	}
	buf_addshq(b, p.ptr);
	buf_release(&p);
}

static void add_release_path(struct buf *b, const struct deploy *d,
			     const char *id, const char *rest)
{
	struct buf p = BUF_INIT;

	buf_addf(&p, "releases/%s", id);
	if (rest)
		buf_addf(&p, "/%s", rest);
	add_path(b, d->env->path, p.ptr);
	buf_release(&p);
}

/*
 * "export PUSHGATE_…='…' …; cd 'DIR' && /bin/sh -c 'CMD'": the operator's
 * command, with every value single-quoted.
 */
static void add_hook_command(struct buf *b, const struct host_job *j,
			     const char *release, const char *cwd_id,
			     const char *cmd)
{
	const struct deploy *d = j->d;
	struct buf prev = BUF_INIT;

	if (j->previous)
		buf_addf(&prev, "%s/releases/%s", d->env->path, j->previous);
	buf_addstr(b, "PUSHGATE_ENV=");
	buf_addshq(b, d->env->name);
	buf_addstr(b, " PUSHGATE_COMMIT=");
	buf_addshq(b, d->hex);
	buf_addstr(b, " PUSHGATE_RELEASE=");
	buf_addshq(b, release);
	buf_addstr(b, " PUSHGATE_PREVIOUS=");
	buf_addshq(b, prev.ptr);
	buf_addstr(b, " PUSHGATE_USER=");
	buf_addshq(b, d->o->user ? d->o->user : "");
	buf_addstr(b, "; export PUSHGATE_ENV PUSHGATE_COMMIT PUSHGATE_RELEASE"
		   " PUSHGATE_PREVIOUS PUSHGATE_USER; cd ");
	add_release_path(b, d, cwd_id, NULL);
	/*
	 * timeout(1) too: closing our channel at the deadline does not stop
	 * a remote command, so it must stop itself.
	 */
	buf_addf(b, " && exec timeout -k 5 %u /bin/sh -c ",
		 d->env->command_timeout);
	buf_addshq(b, cmd);
	buf_release(&prev);
}

static void show_output(const char *data, size_t len, void *payload)
{
	(void)payload;
	report_stream(data, len);
}

/*
 * Run `cmd` on the job's host; a non-zero exit is an error whose message
 * starts with `what`. With `output_out`, the command's output is handed
 * over (caller frees) when it succeeded.
 */
static int run_capture(struct host_job *j, const char *what, const char *cmd,
		       bool show, char **output_out)
{
	char *output = NULL;
	int status, r;

	r = host_run(j->host, &status, &output, cmd,
		     j->d->env->command_timeout, show ? show_output : NULL,
		     NULL);
	if (show)
		report_stream_flush();
	if (r < 0) {
		r = error_set(r, "%s: %s", what, error_last());
	} else if (status != 0) {
		size_t n = output ? strcspn(output, "\n") : 0;

		r = error_set(ERR_GENERIC, "%s failed (exit %d)%s%.*s", what,
			      status, n && !show ? ": " : "",
			      (int)(show ? 0 : n), output ? output : "");
	} else if (output_out) {
		*output_out = output;
		output = NULL;
	}
	free(output);
	return r;
}

static int run(struct host_job *j, const char *what, const char *cmd,
	       bool show)
{
	return run_capture(j, what, cmd, show, NULL);
}

static int run_hook(struct host_job *j, const char *what, const char *cmd,
		    const char *release_id, const char *cwd_id)
{
	struct buf line = BUF_INIT;
	struct buf rel = BUF_INIT;
	double start = now();
	int r;

	if (!cmd)
		return 0;
	buf_addf(&rel, "%s/releases/%s", j->d->env->path, release_id);
	add_hook_command(&line, j, rel.ptr, cwd_id, cmd);
	report_info("[%s] %s", j->label, what);
	r = run(j, what, line.ptr, true);
	if (!r)
		report_info("[%s] %s ok (%.1f s)", j->label, what,
			    now() - start);
	buf_release(&line);
	buf_release(&rel);
	return r;
}

/* ---- upload ------------------------------------------------------- */

static void add_prepare(struct buf *cmd, struct host_job *j);
static int learn_current(struct host_job *j, const char *output);

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


/*
 * REVISION and FAILED at the top of a release are pushgate's: a pushed
 * file or link of that name could fake a failure, or (a symlink named
 * FAILED) redirect the marker's write outside the release.
 */
static int check_reserved(const char *path)
{
	if (!strcmp(path, "REVISION") || !strcmp(path, "FAILED"))
		return error_set(ERR_INVALID,
				 "the release may not contain '%s' at its top:"
				 " pushgate writes that file itself", path);
	return 0;
}

static int upload_tree_entry(const struct repo_entry *e, void *payload)
{
	struct host *h = payload;
	char *target;
	int r;

	if ((r = check_reserved(e->path)) < 0)
		return r;
	if (e->mode == 040000)
		return host_upload_dir(h, e->path, 0755);
	if (e->mode == 0120000) {
		target = xstrndup(e->data, e->size);
		if (strlen(target) != e->size) {
			free(target);
			return error_set(ERR_INVALID,
					 "symlink '%.200s' has a bad target",
					 e->path);
		}
		r = host_upload_symlink(h, e->path, target);
		free(target);
		return r;
	}
	if ((r = host_upload_file(h, e->path,
				  e->mode == 0100755 ? 0755 : 0644,
				  e->size)) < 0)
		return r;
	return host_upload_data(h, e->data, e->size);
}

static int upload_local_entry(const struct fsutil_entry *e, void *payload)
{
	struct host *h = payload;
	char chunk[64 * 1024];
	uint64_t left;
	int fd, r;

	if ((r = check_reserved(e->path)) < 0)
		return r;
	if (S_ISDIR(e->mode))
		return host_upload_dir(h, e->path, e->mode & 07777);
	if (S_ISLNK(e->mode))
		return host_upload_symlink(h, e->path, e->link_target);
	if (!S_ISREG(e->mode))
		return 0;	/* sockets, fifos: not part of a release */
	if ((fd = fsutil_entry_open(e)) < 0)
		return fd;
	if ((r = host_upload_file(h, e->path, e->mode & 07777, e->size)) < 0)
		goto out;
	for (left = e->size; left && !r;) {
		ssize_t n = read(fd, chunk, left < sizeof(chunk) ?
				 (size_t)left : sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = error_set(ERR_SYS, "'%.200s' changed while read",
				      e->path);
			break;
		}
		r = host_upload_data(h, chunk, (size_t)n);
		left -= (uint64_t)n;
	}
out:
	close(fd);
	return r;
}

static int upload_dir(struct host_job *j, const char *sub)
{
	const struct source *src = &j->d->src;
	struct buf path = BUF_INIT;
	int r;

	if (src->from_tree)
		return repo_walk_tree(j->d->o->repo, &j->d->o->commit, sub,
				      upload_tree_entry, j->host);
	buf_addstr(&path, src->checkout);
	if (strcmp(sub, "."))
		buf_addf(&path, "/%s", sub);
	r = fsutil_walk(path.ptr, upload_local_entry, j->host);
	buf_release(&path);
	return r;
}

/* Every entry of the release: artifact, config overlay, REVISION. */
static int send_entries(struct host_job *j)
{
	struct deploy *d = j->d;
	char revision[REPO_OID_HEXSZ + 2];
	int r;

	snprintf(revision, sizeof(revision), "%s\n", d->hex);
	if ((r = upload_dir(j, d->src.artifact)) < 0 ||
	    (d->src.config_dir && (r = upload_dir(j, d->src.config_dir)) < 0))
		return r;
	if ((r = host_upload_file(j->host, "REVISION", 0644,
				  strlen(revision))) < 0)
		return r;
	return host_upload_data(j->host, revision, strlen(revision));
}

/* What the producer of an SSH upload reports when it is done. */
struct produced {
	int code;
	int broken;		/* failed only because the pump stopped */
	uint64_t bytes;
	uint64_t entries;
	char msg[RESULT_MSG_MAX];
};

/*
 * SSH: a child process exports and encodes the release into a pipe while
 * this worker encrypts and sends it, so that both cores work.
 */
static int upload_ssh(struct host_job *j, const char *dir, size_t *entries)
{
	struct deploy *d = j->d;
	struct buf prepare = BUF_INIT;
	char *output = NULL;
	struct produced res;
	int data[2], done[2], r;
	pid_t pid;

	*entries = 0;
	if (pipe2(data, O_CLOEXEC) < 0)
		return error_set_errno(ERR_SYS, "cannot create a pipe");
	if (pipe2(done, O_CLOEXEC) < 0) {
		close(data[0]);
		close(data[1]);
		return error_set_errno(ERR_SYS, "cannot create a pipe");
	}
	if ((pid = fork()) < 0) {
		r = error_set_errno(ERR_SYS, "cannot fork");
		close(data[1]);
		close(done[1]);
		goto out;
	}
	if (pid == 0) {
		close(data[0]);
		close(done[0]);
		memset(&res, 0, sizeof(res));
		host_upload_to_fd(j->host, data[1], d->mtime);
		res.code = send_entries(j);
		res.entries = host_upload_entries(j->host);
		res.bytes = host_upload_bytes(j->host);
		if (!res.code)
			res.code = host_upload_end(j->host);
		if (res.code)
			snprintf(res.msg, sizeof(res.msg), "%s", error_last());
		res.broken = host_upload_broken(j->host);
		close(data[1]);
		fsutil_write_all(done[1], &res, sizeof(res));
		_exit(0);
	}
	close(data[1]);
	close(done[1]);
	add_prepare(&prepare, j);
	r = host_upload_pump(j->host, prepare.ptr, dir, data[0],
			     d->env->command_timeout, &output);
	/* the mark is printed once the id was found free, before mkdir */
	if (!r) {
		r = learn_current(j, output);
		j->owns_release = r == 0;
	} else {
		char msg[ERROR_MSG_MAX];

		snprintf(msg, sizeof(msg), "%s", error_last());
		j->owns_release = learn_current(j, output) == 0;
		error_set(r, "%s", msg);
	}
	/* a producer still writing sees EOF on its reader and stops */
	close(data[0]);
	data[0] = -1;
	memset(&res, 0, sizeof(res));
	if (read_full(done[0], &res, sizeof(res)) < 0) {
		res.code = ERR_GENERIC;
		snprintf(res.msg, sizeof(res.msg), "the export process died");
	}
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	/*
	 * The export's own failure (a bad entry) explains a truncated stream
	 * best; a producer that only lost its reader explains nothing.
	 */
	if (res.code < 0 && (!res.broken || r == 0))
		r = error_set(res.code, "%s", res.msg);
	*entries = (size_t)res.entries;
out:
	if (data[0] >= 0)
		close(data[0]);
	close(done[0]);
	free(output);
	buf_release(&prepare);
	return r;
}

static int upload(struct host_job *j)
{
	struct deploy *d = j->d;
	struct buf dir = BUF_INIT;
	double start = now();
	size_t entries = 0;
	int r;

	buf_addf(&dir, "%s/releases/%s", d->env->path, d->id);
	if (!host_is_local(j->host)) {
		r = upload_ssh(j, dir.ptr, &entries);
	} else {
		r = host_upload_begin(j->host, dir.ptr, d->mtime,
				      d->env->command_timeout);
		if (!r)
			r = send_entries(j);
		entries = host_upload_entries(j->host);
		if (!r)
			r = host_upload_end(j->host);
		else
			host_upload_abort(j->host);
	}
	if (!r)
		report_info("[%s] uploaded %zu entries, %.1f MB in %.1f s",
			    j->label, entries,
			    (double)host_upload_bytes(j->host) / 1e6,
			    now() - start);
	else
		r = error_set(r, "upload: %s", error_last());
	buf_release(&dir);
	return r;
}

/* ---- phases (in the worker) -------------------------------------- */

static bool valid_release_id(const char *s)
{
	size_t n = strlen(s);

	if (!n || n >= RELEASE_ID_MAX || s[0] == '.' || s[0] == '-')
		return false;
	return strspn(s, "0123456789abcdefghijklmnopqrstuvwxyz"
		      "ABCDEFGHIJKLMNOPQRSTUVWXYZ-_.") == n;
}

/* "releases/ID" → a copy of ID if it is one of our release ids, or NULL. */
static char *parse_current(const char *target)
{
	if (!strncmp(target, "releases/", 9) && valid_release_id(target + 9))
		return xstrdup(target + 9);
	return NULL;
}

#define CURRENT_MARK "pushgate-current=["

/*
 * "; echo pushgate-current=[TARGET]": where `current` points, appended to
 * a command. The brackets tell an empty target (no `current`) from a
 * line lost in the output.
 */
static void add_read_current(struct buf *cmd, const struct config_env *env)
{
	buf_addstr(cmd, "; echo \"" CURRENT_MARK "$(readlink -- ");
	add_path(cmd, env->path, "current");
	buf_addstr(cmd, " || true)]\"");
}

/*
 * Find add_read_current()'s line in `output`: *link_out gets the raw
 * target (NULL: no `current`), *id_out our release id in it if it is one.
 * ERR_GENERIC if the line is not there: then nobody knows what to come
 * back to, and the deploy must not go on.
 */
static int find_current(char **id_out, char **link_out, const char *output)
{
	const char *p = output ? strstr(output, CURRENT_MARK) : NULL;
	const char *end;

	*id_out = *link_out = NULL;
	while (p && p != output && p[-1] != '\n')
		p = strstr(p + 1, CURRENT_MARK);
	if (!p)
		return error_set(ERR_GENERIC,
				 "cannot tell which release is live");
	p += strlen(CURRENT_MARK);
	end = p + strcspn(p, "\n");
	if (end == p || end[-1] != ']')
		return error_set(ERR_GENERIC,
				 "cannot tell which release is live");
	if (end - 1 > p) {
		*link_out = xstrndup(p, (size_t)(end - 1 - p));
		*id_out = parse_current(*link_out);
	}
	return 0;
}

/* The job's idea of the live release, from a command's output. */
static int learn_current(struct host_job *j, const char *output)
{
	free(j->previous);
	free(j->previous_link);
	return find_current(&j->previous, &j->previous_link, output);
}

/* The release `current` points at (*out NULL if none, or not ours). */
static int read_current(struct host_job *j, char **out)
{
	struct buf cmd = BUF_INIT;
	char *output = NULL, *link = NULL;
	int r;

	*out = NULL;
	buf_addstr(&cmd, "true");
	add_read_current(&cmd, j->d->env);
	r = run_capture(j, "read current", cmd.ptr, false, &output);
	if (!r)
		r = find_current(out, &link, output);
	free(link);
	free(output);
	buf_release(&cmd);
	return r;
}

/*
 * "; test -e 'PATH/shared/F' || { echo missing shared file 'F'; exit 3; }"
 * for every file entry of `shared` (directories are created instead).
 */
static void add_shared_checks(struct buf *cmd, const struct config_env *env)
{
	size_t i;

	for (i = 0; i < env->shared.nr; i++) {
		const char *e = env->shared.v[i];
		struct buf p = BUF_INIT;

		if (e[strlen(e) - 1] == '/')
			continue;
		buf_addf(&p, "shared/%s", e);
		buf_addstr(cmd, "; test -e ");
		add_path(cmd, env->path, p.ptr);
		buf_addstr(cmd, " || { echo missing shared file ");
		buf_addshq(cmd, e);
		buf_addstr(cmd, "; exit 3; }");
		buf_release(&p);
	}
}

/*
 * Before the upload: create the layout, make sure the new release does
 * not exist, check the shared files, and learn which release is live (the
 * one to come back to). For SSH hosts this runs in the upload's own round
 * trip; for local ones on its own.
 */
static void add_prepare(struct buf *cmd, struct host_job *j)
{
	const struct config_env *env = j->d->env;
	size_t i;

	buf_addstr(cmd, "set -e; mkdir -p -- ");
	add_path(cmd, env->path, "releases");
	buf_addch(cmd, ' ');
	add_path(cmd, env->path, "shared");
	buf_addstr(cmd, "; test ! -e ");
	add_release_path(cmd, j->d, j->d->id, NULL);
	for (i = 0; i < env->shared.nr; i++) {
		const char *e = env->shared.v[i];
		size_t n = strlen(e);
		struct buf p = BUF_INIT;

		if (e[n - 1] != '/')
			continue;
		buf_addstr(&p, "shared/");
		buf_add(&p, e, n - 1);
		buf_addstr(cmd, "; mkdir -p -- ");
		add_path(cmd, env->path, p.ptr);
		buf_release(&p);
	}
	add_shared_checks(cmd, env);
	add_read_current(cmd, env);
}

static int check_layout(struct host_job *j)
{
	struct buf cmd = BUF_INIT;
	char *output = NULL;
	int r;

	add_prepare(&cmd, j);
	r = run_capture(j, "prepare", cmd.ptr, false, &output);
	if (!r)
		r = learn_current(j, output);
	j->owns_release = r == 0;
	free(output);
	buf_release(&cmd);
	return r;
}

/*
 * Link each `shared` entry into the release: REL/x -> ../../shared/x
 * (with one more ../ per directory level), after checking that no
 * directory on the way is a symlink and replacing what the release had
 * there.
 */
static int link_shared(struct host_job *j)
{
	const struct config_env *env = j->d->env;
	struct buf cmd = BUF_INIT;
	size_t i, k;
	int r = 0;

	for (i = 0; i < env->shared.nr && !r; i++) {
		char *e = xstrdup(env->shared.v[i]);
		size_t n = strlen(e);
		struct buf target = BUF_INIT;

		if (n && e[n - 1] == '/')
			e[--n] = '\0';
		buf_reset(&cmd);
		buf_addstr(&cmd, "set -e; ");
		for (k = 0; k < n; k++) {
			if (e[k] != '/')
				continue;
			e[k] = '\0';
			buf_addstr(&cmd, "test ! -L ");
			add_release_path(&cmd, j->d, j->d->id, e);
			buf_addstr(&cmd, "; mkdir -p -- ");
			add_release_path(&cmd, j->d, j->d->id, e);
			buf_addstr(&cmd, "; ");
			e[k] = '/';
			buf_addstr(&target, "../");
		}
		buf_addf(&target, "../../shared/%s", e);
		buf_addstr(&cmd, "rm -rf -- ");
		add_release_path(&cmd, j->d, j->d->id, e);
		buf_addstr(&cmd, "; ln -s -- ");
		buf_addshq(&cmd, target.ptr);
		buf_addch(&cmd, ' ');
		add_release_path(&cmd, j->d, j->d->id, e);
		r = run(j, "link shared", cmd.ptr, false);
		buf_release(&target);
		free(e);
	}
	buf_release(&cmd);
	return r;
}

/*
 * Rollback: the target must still be there, and not a failed release;
 * and the live release is learnt in the same round trip.
 */
static int check_target(struct host_job *j)
{
	struct buf cmd = BUF_INIT;
	char *output = NULL;
	int r;

	buf_addstr(&cmd, "if ! test -d ");
	add_release_path(&cmd, j->d, j->d->id, NULL);
	buf_addstr(&cmd, "; then echo release was pruned; exit 3; fi; "
		   "if test -e ");
	add_release_path(&cmd, j->d, j->d->id, "FAILED");
	buf_addstr(&cmd, "; then echo release is marked FAILED; exit 3; fi");
	add_read_current(&cmd, j->d->env);
	r = run_capture(j, "check release", cmd.ptr, false, &output);
	if (!r)
		r = learn_current(j, output);
	free(output);
	buf_release(&cmd);
	return r;
}

static int phase_prepare(struct host_job *j)
{
	double start = now();
	int r;

	if ((r = host_open(&j->host, j->d->env, j->index)) < 0)
		return r;
	report_info("[%s] connected (%.2f s)", j->label, now() - start);
	if (j->d->rollback)
		return check_target(j);
	if ((host_is_local(j->host) && (r = check_layout(j)) < 0) ||
	    (r = upload(j)) < 0 || (r = link_shared(j)) < 0)
		return r;
	return 0;
}

/* The releases, one "G ID" (good) or "F ID" (failed) line each. */
static void add_list_releases(struct buf *cmd, const struct config_env *env)
{
	buf_addstr(cmd, "cd ");
	add_path(cmd, env->path, "releases");
	buf_addstr(cmd, " && for d in *; do test -d \"$d\" || continue;"
		   " if test -f \"$d/FAILED\" && ! test -L \"$d/FAILED\";"
		   " then echo \"F $d\";"
		   " else echo \"G $d\"; fi; done");
}

/*
 * Point `current` at `target` (as the symlink will hold it; NULL: remove
 * `current`). With `list`, the same round trip lists the releases for
 * prune() into j->listing.
 */
static int switch_link(struct host_job *j, const char *target, bool list)
{
	const char *path = j->d->env->path;
	struct buf cmd = BUF_INIT;
	struct buf tmp = BUF_INIT;
	int r;

	if (!target) {
		buf_addstr(&cmd, "rm -f -- ");
		add_path(&cmd, path, "current");
	} else {
		buf_addf(&tmp, ".current-%s", j->d->id);
		buf_addstr(&cmd, "ln -sfn -- ");
		buf_addshq(&cmd, target);
		buf_addch(&cmd, ' ');
		add_path(&cmd, path, tmp.ptr);
		buf_addstr(&cmd, " && mv -T -- ");
		add_path(&cmd, path, tmp.ptr);
		buf_addch(&cmd, ' ');
		add_path(&cmd, path, "current");
	}
	if (list) {
		buf_addstr(&cmd, " && { ");
		add_list_releases(&cmd, j->d->env);
		buf_addstr(&cmd, "; }");
	}
	r = run_capture(j, "switch", cmd.ptr, false,
			list ? &j->listing : NULL);
	buf_release(&cmd);
	buf_release(&tmp);
	return r;
}

/* Point `current` at our release `id` (NULL: remove `current`). */
static int switch_to(struct host_job *j, const char *id, bool list)
{
	struct buf target = BUF_INIT;
	int r;

	if (id)
		buf_addf(&target, "releases/%s", id);
	r = switch_link(j, id ? target.ptr : NULL, list);
	buf_release(&target);
	return r;
}

static int maintenance(struct host_job *j, bool on)
{
	struct buf cmd = BUF_INIT;
	int r;

	if (!j->d->env->maintenance)
		return 0;
	buf_addstr(&cmd, on ? "touch -- " : "rm -f -- ");
	add_path(&cmd, j->d->env->path, "maintenance");
	r = run(j, on ? "maintenance on" : "maintenance off", cmd.ptr, false);
	buf_release(&cmd);
	return r;
}

static int healthcheck(struct host_job *j)
{
	const struct config_env *env = j->d->env;
	unsigned attempt;
	int r = 0;

	if (!env->healthcheck)
		return 0;
	for (attempt = 1; attempt <= env->healthcheck_retries; attempt++) {
		struct timespec delay = { DEPLOY_HEALTHCHECK_DELAY, 0 };

		r = run_hook(j, "healthcheck", env->healthcheck, j->d->id,
			     j->d->id);
		if (!r)
			return 0;
		if (attempt < env->healthcheck_retries) {
			report_info("[%s] healthcheck attempt %u of %u failed,"
				    " retrying in %d s", j->label, attempt,
				    env->healthcheck_retries,
				    DEPLOY_HEALTHCHECK_DELAY);
			while (nanosleep(&delay, &delay) < 0 && errno == EINTR)
				;
		}
	}
	return r;
}

static int phase_switch(struct host_job *j)
{
	const struct config_env *env = j->d->env;
	int r;

	/*
	 * From here on the host counts as switched: a failed `before` may
	 * have stopped services, and a switch whose answer was lost may have
	 * happened. Going back is idempotent, and runs `after`.
	 */
	j->switched = true;
	if ((r = maintenance(j, true)) < 0 ||
	    (r = run_hook(j, "before", env->before, j->d->id, j->d->id)) < 0 ||
	    (r = switch_to(j, j->d->id, true)) < 0)
		return r;
	report_info("[%s] current -> releases/%s", j->label, j->d->id);
	if ((r = run_hook(j, "after", env->after, j->d->id, j->d->id)) < 0 ||
	    (r = healthcheck(j)) < 0)
		return r;
	return 0;
}

static int mark_failed(struct host_job *j)
{
	struct buf cmd = BUF_INIT;
	int r;

	if (!j->host)
		return 0;	/* never connected: nothing to mark */
	/* a rollback target is an older good release: leave it unmarked */
	if (j->d->rollback)
		return maintenance(j, false);
	/* never through a link: remove, then create exclusively (set -C) */
	buf_addstr(&cmd, "test ! -d ");
	add_release_path(&cmd, j->d, j->d->id, NULL);
	buf_addstr(&cmd, " || { rm -f -- ");
	add_release_path(&cmd, j->d, j->d->id, "FAILED");
	buf_addstr(&cmd, " && (set -C; printf '%s\\n' ");
	buf_addshq(&cmd, j->d->reason ? j->d->reason : "deploy failed");
	buf_addstr(&cmd, " > ");
	add_release_path(&cmd, j->d, j->d->id, "FAILED");
	buf_addstr(&cmd, "); }");
	r = run(j, "mark failed", cmd.ptr, false);
	buf_release(&cmd);
	if (maintenance(j, false) < 0 && !r)
		r = ERR_GENERIC;
	return r;
}

static int phase_rollback(struct host_job *j)
{
	const struct config_env *env = j->d->env;
	int r, r2;

	/* exactly where `current` pointed before, ours or not */
	r = switch_link(j, j->previous_link, false);
	if (!r)
		report_info("[%s] rolled back to %s", j->label,
			    j->previous ? j->previous : j->previous_link ?
			    report_str(j->previous_link) : "(no release)");
	if (!r && j->previous)
		r = run_hook(j, "after", env->after, j->previous,
			     j->previous);
	if (env->on_failure) {
		r2 = run_hook(j, "on_failure", env->on_failure, j->d->id,
			      j->previous ? j->previous : j->d->id);
		if (r2 < 0 && !r)
			r = r2;
	}
	r2 = mark_failed(j);
	return r ? r : r2;
}

static int phase_remove(struct host_job *j)
{
	struct buf cmd = BUF_INIT;
	int r;

	/* only what this deploy created: the id was free when it began */
	if (!j->host || !j->owns_release)
		return 0;
	buf_addstr(&cmd, "rm -rf -- ");
	add_release_path(&cmd, j->d, j->d->id, NULL);
	r = run(j, "remove partial release", cmd.ptr, false);
	buf_release(&cmd);
	return r;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Keep the newest `keep` good releases, the live one and the previous
 * one; failed releases go first.
 */
static int prune(struct host_job *j)
{
	const struct config_env *env = j->d->env;
	struct strvec good = STRVEC_INIT, bad = STRVEC_INIT, drop = STRVEC_INIT;
	struct buf cmd = BUF_INIT;
	char *output = NULL, *line, *save = NULL;
	size_t i, kept = 0;
	int status, r = 0;

	if (j->listing) {
		output = j->listing;
		j->listing = NULL;
	} else {
		add_list_releases(&cmd, env);
		r = host_run(j->host, &status, &output, cmd.ptr,
			     env->command_timeout, NULL, NULL);
		if (r < 0 || status != 0)
			goto out;
	}
	for (line = strtok_r(output, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (strlen(line) < 3 || !valid_release_id(line + 2))
			continue;
		strvec_push(line[0] == 'F' ? &bad : &good, line + 2);
	}
	qsort(good.v, good.nr, sizeof(*good.v), cmp_str);
	for (i = 0; i < bad.nr; i++)
		if (strcmp(bad.v[i], j->d->id) &&
		    (!j->previous || strcmp(bad.v[i], j->previous)))
			strvec_push(&drop, bad.v[i]);
	for (i = good.nr; i-- > 0;) {
		const char *id = good.v[i];

		if (!strcmp(id, j->d->id) ||
		    (j->previous && !strcmp(id, j->previous)) ||
		    kept < env->keep) {
			kept++;
			continue;
		}
		strvec_push(&drop, id);
	}
	if (!drop.nr)
		goto out;
	buf_reset(&cmd);
	buf_addstr(&cmd, "cd ");
	add_path(&cmd, env->path, "releases");
	buf_addstr(&cmd, " && rm -rf --");
	for (i = 0; i < drop.nr; i++) {
		buf_addch(&cmd, ' ');
		buf_addshq(&cmd, drop.v[i]);
	}
	r = run(j, "prune", cmd.ptr, false);
	if (!r)
		report_info("[%s] pruned %zu old release%s", j->label,
			    drop.nr, drop.nr == 1 ? "" : "s");
out:
	free(output);
	buf_release(&cmd);
	strvec_clear(&good);
	strvec_clear(&bad);
	strvec_clear(&drop);
	return r;
}

static int phase_finish(struct host_job *j)
{
	int r = maintenance(j, false);

	/* a failed prune leaves old releases behind, nothing more */
	if (!j->d->rollback && prune(j) < 0)
		report_warn("[%s] cannot prune: %s", j->label,
			    report_str(error_last()));
	return r;
}

/* ---- workers ------------------------------------------------------ */


/* Phases that write the deploy's failure reason on the host get it too. */
static bool phase_takes_reason(char phase)
{
	return phase == PHASE_ROLLBACK || phase == PHASE_MARK_FAILED;
}

/* The reason, as known in the parent once every host reported. */
static int read_reason(struct deploy *d, int fd)
{
	uint16_t len;
	char *s;

	if (read_full(fd, &len, sizeof(len)) < 0)
		return -1;
	s = xmalloc((size_t)len + 1);
	if (read_full(fd, s, len) < 0) {
		free(s);
		return -1;
	}
	s[len] = '\0';
	free(d->reason);
	d->reason = s;
	return 0;
}

static void worker_main(struct deploy *d, size_t index, int cmd_fd,
			int res_fd)
{
	struct host_job j;
	char cmd;

	memset(&j, 0, sizeof(j));
	j.d = d;
	j.index = index;
	j.label = d->env->hosts[index].label;
	repo_library_limit_memory();
	while (read_full(cmd_fd, &cmd, 1) == 0 && cmd != PHASE_QUIT) {
		struct result res;
		int r;

		if (phase_takes_reason(cmd) && read_reason(d, cmd_fd) < 0)
			break;
		memset(&res, 0, sizeof(res));
		error_clear();
		switch (cmd) {
		case PHASE_PREPARE:
			r = phase_prepare(&j);
			break;
		case PHASE_SWITCH:
			r = phase_switch(&j);
			break;
		case PHASE_ROLLBACK:
			r = phase_rollback(&j);
			break;
		case PHASE_MARK_FAILED:
			r = mark_failed(&j);
			break;
		case PHASE_REMOVE:
			r = phase_remove(&j);
			break;
		case PHASE_FINISH:
			r = phase_finish(&j);
			break;
		default:
			r = error_set(ERR_GENERIC, "unknown phase");
		}
		res.code = r;
		res.switched = j.switched;
		if (r < 0)
			snprintf(res.msg, sizeof(res.msg), "%s", error_last());
		if (fsutil_write_all(res_fd, &res, sizeof(res)) < 0)
			break;
	}
	host_free(j.host);
	free(j.previous);
	free(j.previous_link);
	free(j.listing);
}

static int start_workers(struct worker *w, struct deploy *d)
{
	size_t i, n = d->env->nr_hosts;

	for (i = 0; i < n; i++) {
		int cmd[2], res[2];
		pid_t pid;

		w[i].label = d->env->hosts[i].label;
		if (pipe2(cmd, O_CLOEXEC) < 0)
			return error_set_errno(ERR_SYS, "cannot create a pipe");
		if (pipe2(res, O_CLOEXEC) < 0) {
			close(cmd[0]);
			close(cmd[1]);
			return error_set_errno(ERR_SYS, "cannot create a pipe");
		}
		fflush(NULL);
		pid = fork();
		if (pid < 0) {
			close(cmd[0]);
			close(cmd[1]);
			close(res[0]);
			close(res[1]);
			return error_set_errno(ERR_SYS, "cannot fork");
		}
		if (pid == 0) {
			size_t k;

			for (k = 0; k < i; k++) {
				close(w[k].cmd_fd);
				close(w[k].res_fd);
			}
			close(cmd[1]);
			close(res[0]);
			worker_main(d, i, cmd[0], res[1]);
			_exit(0);
		}
		close(cmd[0]);
		close(res[1]);
		w[i].pid = pid;
		w[i].cmd_fd = cmd[1];
		w[i].res_fd = res[0];
	}
	return 0;
}

static void stop_workers(struct worker *w, size_t n)
{
	char quit = PHASE_QUIT;
	size_t i;

	for (i = 0; i < n; i++) {
		if (w[i].pid <= 0)
			continue;
		if (fsutil_write_all(w[i].cmd_fd, &quit, 1) < 0)
			error_clear();
		close(w[i].cmd_fd);
		close(w[i].res_fd);
		while (waitpid(w[i].pid, NULL, 0) < 0 && errno == EINTR)
			;
		w[i].pid = 0;
	}
}

static int send_phase(struct deploy *d, int fd, char phase)
{
	const char *reason = d->reason ? d->reason : "deploy failed";
	size_t n = strlen(reason);
	uint16_t len = (uint16_t)(n > RESULT_MSG_MAX ? RESULT_MSG_MAX : n);
	int r;

	if ((r = fsutil_write_all(fd, &phase, 1)) < 0 ||
	    !phase_takes_reason(phase))
		return r;
	if ((r = fsutil_write_all(fd, &len, sizeof(len))) < 0)
		return r;
	return fsutil_write_all(fd, reason, len);
}

/*
 * Run `phase` on the workers selected by `pick` (all if NULL), in
 * parallel; returns the number that failed, and keeps the first failure
 * message as the deploy's reason.
 */
static size_t run_phase(struct deploy *d, struct worker *w, size_t n,
			char phase, const bool *pick, bool *failed)
{
	size_t i, nr_failed = 0;
	bool *sent = xcalloc(n, sizeof(*sent));

	for (i = 0; i < n; i++) {
		if (pick && !pick[i])
			continue;
		sent[i] = send_phase(d, w[i].cmd_fd, phase) == 0;
		if (!sent[i])
			error_clear();
	}
	for (i = 0; i < n; i++) {
		struct result res;

		if (pick && !pick[i])
			continue;
		if (failed)
			failed[i] = false;
		memset(&res, 0, sizeof(res));
		if (!sent[i] || read_full(w[i].res_fd, &res, sizeof(res)) < 0) {
			res.code = ERR_GENERIC;
			snprintf(res.msg, sizeof(res.msg),
				 "the worker for this host died");
		}
		if (phase == PHASE_SWITCH)
			w[i].switched = res.switched;
		if (res.code < 0) {
			nr_failed++;
			if (failed)
				failed[i] = true;
			report_info("[%s] failed: %s", w[i].label,
				    report_str(res.msg));
			if (!d->reason) {
				struct buf b = BUF_INIT;

				buf_addf(&b, "%s: %s", w[i].label, res.msg);
				d->reason = buf_detach(&b, NULL);
			}
		}
	}
	free(sent);
	return nr_failed;
}

/* ---- the whole deploy --------------------------------------------- */

/*
 * Release ids sort in deploy order: the time stamp never goes back nor
 * repeats for one environment (two deploys in the same second take the
 * next second), whatever the commit ids.
 */
static int make_release_id(struct deploy *d)
{
	struct buf name = BUF_INIT;
	int r;
	int64_t stamp_time = (int64_t)time(NULL);
	time_t t;
	struct tm tm;
	char stamp[32];

	buf_addf(&name, "release-%s", d->env->name);
	r = state_next_time(d->o->st, name.ptr, stamp_time, &stamp_time);
	buf_release(&name);
	if (r < 0)
		return error_set(r, "cannot pick a release id: %s",
				 error_last());
	t = (time_t)stamp_time;
	gmtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	snprintf(d->id, sizeof(d->id), "%s-%.12s", stamp, d->hex);
	d->mtime = (uint64_t)t;
	return 0;
}

/* Run `build` in a fresh checkout: the deploy's own artifact. */
static int build_now(struct deploy *d)
{
	const struct config *cfg = d->o->cfg;
	const char *argv[] = { "/bin/sh", "-c", cfg->build, NULL };
	struct workspace ws = WORKSPACE_INIT;
	struct proc_opts po = PROC_OPTS_INIT;
	struct proc_result res = PROC_RESULT_INIT;
	struct strvec env = STRVEC_INIT, extra = STRVEC_INIT;
	int r;

	report_info("building %.12s for '%s'", d->hex, d->env->name);
	if ((r = workspace_create(&ws, d->o->st, d->o->repo,
				  &d->o->commit)) < 0)
		return r;
	strvec_pushf(&extra, "PUSHGATE_ENV=%s", d->env->name);
	strvec_pushf(&extra, "PUSHGATE_COMMIT=%s", d->hex);
	strvec_pushf(&extra, "PUSHGATE_RELEASE=%s", ws.dir);
	strvec_push(&extra, "PUSHGATE_PREVIOUS=");
	strvec_pushf(&extra, "PUSHGATE_USER=%s",
		     d->o->user ? d->o->user : "");
	/* git run by the build must not find the server's repository */
	strvec_pushf(&extra, "GIT_CEILING_DIRECTORIES=%s", d->o->st->dir);
	proc_safe_env(&env, (const char *const *)extra.v);
	po.argv = argv;
	po.env = (const char *const *)env.v;
	po.cwd = ws.dir;
	po.timeout = cfg->test_timeout;
	po.on_output = show_output;
	r = proc_run(&res, &po);
	report_stream_flush();
	if (!r && (res.timed_out || res.status))
		r = error_set(ERR_GENERIC, "build %s (exit %d)",
			      res.timed_out ? "timed out" : "failed",
			      res.status);
	proc_result_release(&res);
	strvec_clear(&env);
	strvec_clear(&extra);
	if (r < 0) {
		char msg[ERROR_MSG_MAX];

		snprintf(msg, sizeof(msg), "%s", error_last());
		workspace_remove(&ws);
		return error_set(r, "%s", msg);
	}
	d->src.checkout = ws.dir;
	d->src.remove_checkout = true;
	return 0;
}

/* Remove a checkout, and the deploy-XXXXXX directory that claimed it. */
static void remove_checkout(char *dir)
{
	size_t n = strlen(dir);
	const size_t tail = strlen("/checkout");

	fsutil_remove_tree(dir);
	if (n > tail && !strcmp(dir + n - tail, "/checkout")) {
		dir[n - tail] = '\0';
		fsutil_remove_tree(dir);
	}
}

/*
 * Take the checkout pre-receive kept for this commit, by renaming it into
 * a directory of this deploy's own: two deploys of one commit never
 * share it, and the one that finds it gone builds again. `out` gets its
 * path.
 */
static int claim_artifact(struct deploy *d, struct buf *out)
{
	struct buf kept = BUF_INIT, mine = BUF_INIT;
	int r;

	if ((r = state_artifact_path(d->o->st, &kept, d->hex)) < 0 ||
	    !fsutil_exists(kept.ptr) ||
	    (r = state_mkdtemp(d->o->st, &mine, "deploy")) < 0) {
		r = r < 0 ? r : ERR_NOTFOUND;
		goto out;
	}
	buf_addstr(&mine, "/checkout");
	if (rename(kept.ptr, mine.ptr) < 0) {
		r = error_set_errno(ERR_NOTFOUND, "cannot take the artifact");
		buf_truncate(&mine, mine.len - strlen("/checkout"));
		fsutil_remove_tree(mine.ptr);
		goto out;
	}
	buf_addstr(out, mine.ptr);
out:
	buf_release(&kept);
	buf_release(&mine);
	return r;
}

static int find_source(struct deploy *d)
{
	const struct config *cfg = d->o->cfg;
	struct buf kept = BUF_INIT;
	int r = 0;

	d->src.artifact = d->env->artifact ? d->env->artifact : ".";
	d->src.config_dir = d->env->config_dir;
	if (!cfg->build) {
		d->src.from_tree = true;
		return 0;
	}
	if (claim_artifact(d, &kept) == 0) {
		report_info("using the artifact built by pre-receive");
		d->src.checkout = buf_detach(&kept, NULL);
		d->src.remove_checkout = true;
	} else {
		error_clear();
		r = build_now(d);
	}
	buf_release(&kept);
	return r;
}

static void record(struct deploy *d, const char *result, double start)
{
	struct history_record rec;

	memset(&rec, 0, sizeof(rec));
	rec.time = (int64_t)time(NULL);
	rec.env = d->env->name;
	rec.action = d->action;
	rec.commit = d->hex;
	rec.release = d->id[0] ? d->id : "-";
	rec.user = d->o->user ? d->o->user : "";
	rec.result = result;
	rec.duration = now() - start;
	rec.reason = d->reason ? d->reason : "";
	if (state_history_add(d->o->st, &rec) < 0)
		report_warn("cannot record the deploy in the history: %s",
			    report_str(error_last()));
}

static void fail(struct deploy *d, const char *what)
{
	if (!d->reason) {
		struct buf b = BUF_INIT;

		buf_addf(&b, "%s: %s", what, error_last());
		d->reason = buf_detach(&b, NULL);
	}
}

/* Is the commit still the tip of the environment's branch? */
static bool still_tip(struct deploy *d)
{
	struct buf ref = BUF_INIT;
	struct repo_oid tip;
	bool same = false;

	buf_addf(&ref, "refs/heads/%s", d->env->branch);
	if (repo_resolve_commit(d->o->repo, &tip, ref.ptr) == 0)
		same = repo_oid_equal(&tip, &d->o->commit);
	else
		error_clear();
	buf_release(&ref);
	return same;
}

static enum deploy_result deploy_hosts(struct deploy *d)
{
	size_t n = d->env->nr_hosts, i, nr_failed;
	struct worker *w = xcalloc(n, sizeof(*w));
	bool *failed = xcalloc(n, sizeof(*failed));
	bool *pick = xcalloc(n, sizeof(*pick));
	enum deploy_result out = DEPLOY_FAILED;
	struct sigaction ign, old;

	/* a worker that died must not take the deploy down with EPIPE */
	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &ign, &old);
	if (start_workers(w, d) < 0) {
		fail(d, "cannot start");
		goto out;
	}
	nr_failed = run_phase(d, w, n, PHASE_PREPARE, NULL, failed);
	if (nr_failed) {
		/* nothing switched anywhere: remove what was uploaded */
		if (!d->rollback)
			run_phase(d, w, n, PHASE_REMOVE, NULL, NULL);
		goto out;
	}
	nr_failed = run_phase(d, w, n, PHASE_SWITCH, NULL, failed);
	if (nr_failed) {
		for (i = 0; i < n; i++) {
			pick[i] = w[i].switched;
			d->switched_any |= w[i].switched;
		}
		run_phase(d, w, n, PHASE_ROLLBACK, pick, NULL);
		for (i = 0; i < n; i++)
			pick[i] = !w[i].switched;
		run_phase(d, w, n, PHASE_MARK_FAILED, pick, NULL);
		goto out;
	}
	run_phase(d, w, n, PHASE_FINISH, NULL, NULL);
	out = DEPLOY_OK;
out:
	stop_workers(w, n);
	sigaction(SIGPIPE, &old, NULL);
	free(w);
	free(failed);
	free(pick);
	return out;
}

/* Move refs/environments/NAME after a success (never in pre-receive). */
static void move_env_ref(struct deploy *d)
{
	struct buf msg = BUF_INIT;

	buf_addf(&msg, "pushgate: %s %s", d->action, d->id);
	if (repo_set_env_ref(d->o->repo, d->env->name, &d->o->commit,
			     msg.ptr) < 0)
		report_warn("cannot move refs/environments/%s: %s",
			    d->env->name, report_str(error_last()));
	buf_release(&msg);
}

static void show_outcome(struct deploy *d, enum deploy_result res,
			 double start)
{
	switch (res) {
	case DEPLOY_OK:
		report_info("%s %.12s to '%s' in %.1f s (release %s)",
			    d->rollback ? "rolled back" : "deployed", d->hex,
			    d->env->name, now() - start, d->id);
		break;
	case DEPLOY_SKIPPED:
		report_info("skipped '%s': %.12s is no longer the tip of '%s'",
			    d->env->name, d->hex, d->env->branch);
		break;
	case DEPLOY_UNCHANGED:
		report_info("'%s' already runs %.12s: nothing to do (--force to"
			    " deploy it again)", d->env->name, d->hex);
		break;
	case DEPLOY_FAILED:
		report_info("FAILED to %s %.12s to '%s': %s%s",
			    d->rollback ? "roll back" : "deploy", d->hex,
			    d->env->name,
			    report_str(d->reason ? d->reason : "unknown error"),
			    d->switched_any ? " (rolled back)" : "");
		break;
	}
}

/*
 * The part shared by deploy and rollback: lock, checks, hosts, record.
 * `release` is the existing release to switch to (rollback) or NULL.
 */
static int run_locked(enum deploy_result *out, const struct deploy_opts *o,
		      const char *release)
{
	struct deploy d;
	struct repo_oid live;
	struct buf lockname = BUF_INIT;
	double start = now();
	int lock = -1, r = 0;

	*out = DEPLOY_FAILED;
	memset(&d, 0, sizeof(d));
	d.o = o;
	d.env = o->env;
	d.rollback = release != NULL;
	d.action = d.rollback ? "rollback" : "deploy";
	repo_oid_to_hex(d.hex, &o->commit);
	if (release)
		snprintf(d.id, sizeof(d.id), "%s", release);
	buf_addf(&lockname, "env-%s", d.env->name);
	report_info("%s %.12s%s%s to '%s' (%zu host%s)",
		    d.rollback ? "rolling back" : "deploying", d.hex,
		    release ? ", release " : "", release ? release : "",
		    d.env->name, d.env->nr_hosts,
		    d.env->nr_hosts == 1 ? "" : "s");
	lock = state_lock(o->st, lockname.ptr, o->cfg->lock_timeout);
	if (lock < 0) {
		fail(&d, "cannot take the lock");
		record(&d, "failed", start);
		r = lock;
		goto out;
	}
	if (o->from_push && !still_tip(&d)) {
		*out = DEPLOY_SKIPPED;
		d.reason = xstrdup("a newer push owns the environment");
		record(&d, "skipped", start);
		goto out;
	}
	if (!o->force && !d.rollback &&
	    repo_env_ref(o->repo, &live, d.env->name) == 0 &&
	    repo_oid_equal(&live, &o->commit)) {
		*out = DEPLOY_UNCHANGED;
		goto out;
	}
	error_clear();
	if (!d.rollback) {
		if (make_release_id(&d) < 0) {
			fail(&d, "release");
			record(&d, "failed", start);
			goto out;
		}
		if (find_source(&d) < 0) {
			fail(&d, "artifact");
			record(&d, "failed", start);
			goto out;
		}
	}
	*out = deploy_hosts(&d);
	if (*out == DEPLOY_OK)
		move_env_ref(&d);
	record(&d, *out == DEPLOY_OK ? "ok" : "failed", start);
out:
	show_outcome(&d, *out, start);
	if (d.src.remove_checkout && d.src.checkout)
		remove_checkout(d.src.checkout);
	free(d.src.checkout);
	free(d.reason);
	if (lock >= 0)
		state_unlock(lock);
	buf_release(&lockname);
	return r;
}

int deploy_run(enum deploy_result *out, const struct deploy_opts *o)
{
	return run_locked(out, o, NULL);
}

int deploy_rollback(enum deploy_result *out, const struct deploy_opts *o,
		    const char *release)
{
	if (!valid_release_id(release))
		return error_set(ERR_INVALID, "'%.100s' is not a release id",
				 release);
	return run_locked(out, o, release);
}

struct pick {
	const char *env;
	char live[RELEASE_ID_MAX];	/* release of the newest ok record */
	const char *want_commit;	/* NULL or a commit (hex) */
	const char *want_release;	/* NULL or a release id */
	char release[RELEASE_ID_MAX];	/* the choice */
	char commit[REPO_OID_HEXSZ + 1];
	bool failed;			/* the named release failed */
};

static int find_live(const struct history_record *rec, void *payload)
{
	struct pick *p = payload;

	if (!strcmp(rec->env, p->env) && !strcmp(rec->result, "ok"))
		snprintf(p->live, sizeof(p->live), "%s", rec->release);
	return 0;
}

static int find_target(const struct history_record *rec, void *payload)
{
	struct pick *p = payload;
	bool take;

	if (strcmp(rec->env, p->env) || strcmp(rec->action, "deploy"))
		return 0;
	if (p->want_release)
		take = !strcmp(rec->release, p->want_release);
	else if (p->want_commit)
		take = !strcmp(rec->commit, p->want_commit);
	else
		take = strcmp(rec->release, p->live) < 0;
	if (!take)
		return 0;
	if (strcmp(rec->result, "ok")) {
		if (p->want_release)
			p->failed = true;
		return 0;
	}
	/* the newest match wins: records are read oldest first */
	if (!p->want_commit && !p->want_release &&
	    strcmp(rec->release, p->release) < 0)
		return 0;
	p->failed = false;
	snprintf(p->release, sizeof(p->release), "%s", rec->release);
	snprintf(p->commit, sizeof(p->commit), "%s", rec->commit);
	return 0;
}

int deploy_pick_rollback(struct deploy_target *out, struct state *st,
			 const char *env, const char *want_release,
			 const char *want_commit)
{
	struct pick p;
	int r;

	memset(out, 0, sizeof(*out));
	memset(&p, 0, sizeof(p));
	p.env = env;
	p.want_release = want_release;
	p.want_commit = want_commit;
	if ((r = state_history_read(st, find_live, &p)) < 0 ||
	    (r = state_history_read(st, find_target, &p)) < 0)
		return error_set(r, "cannot read the history: %s",
				 error_last());
	if (p.failed)
		return error_set(ERR_INVALID,
				 "release '%s' failed: pushgate never rolls back to a failed release",
				 want_release);
	if (!p.release[0]) {
		if (want_release || want_commit)
			return error_set(ERR_NOTFOUND,
					 "no successful deploy of '%s' to '%s' in the history",
					 want_release ? want_release :
					 want_commit, env);
		return error_set(ERR_NOTFOUND,
				 "'%s' has no earlier good release to roll back to",
				 env);
	}
	if ((r = repo_oid_from_hex(&out->commit, p.commit)) < 0)
		return error_set(r, "bad history record for '%s'", p.release);
	snprintf(out->release, sizeof(out->release), "%s", p.release);
	return 0;
}

size_t deploy_push(struct gate *g)
{
	size_t i, nr_failed = 0;

	for (i = 0; i < g->push.nr; i++) {
		const struct push_update *u = &g->push.updates[i];
		const char *branch = push_branch_name(u->ref);
		const struct config_env *env;
		struct deploy_opts o;
		enum deploy_result res;

		env = branch ? config_env_for_branch(&g->cfg, branch) : NULL;
		if (!env || u->is_delete)
			continue;
		if (env->mode == CONFIG_MODE_MANUAL &&
		    !push_has_option(&g->push, "deploy")) {
			report_info("'%s' waits for approval of %.12s: git push -o deploy, or: pushgate deploy %s %.12s",
				    env->name, u->new_hex, env->name,
				    u->new_hex);
			continue;
		}
		memset(&o, 0, sizeof(o));
		o.cfg = &g->cfg;
		o.env = env;
		o.repo = g->repo;
		o.st = &g->st;
		o.user = g->push.user;
		o.from_push = true;
		if (repo_oid_from_hex(&o.commit, u->new_hex) < 0 ||
		    deploy_run(&res, &o) < 0 || res == DEPLOY_FAILED)
			nr_failed++;
	}
	return nr_failed;
}

/*
 * One host outside a deploy (status, check): a job with a bare deploy
 * context, connected.
 */
struct lone_job {
	struct deploy d;
	struct deploy_opts o;
	struct host_job j;
};

static int lone_open(struct lone_job *l, const struct config_env *env,
		     size_t index)
{
	memset(l, 0, sizeof(*l));
	l->o.env = env;
	l->d.o = &l->o;
	l->d.env = env;
	l->j.d = &l->d;
	l->j.index = index;
	l->j.label = env->hosts[index].label;
	return host_open(&l->j.host, env, index);
}

int deploy_host_current(char **out, const struct config_env *env,
			size_t index)
{
	struct lone_job l;
	int r;

	*out = NULL;
	if ((r = lone_open(&l, env, index)) == 0)
		r = read_current(&l.j, out);
	host_free(l.j.host);
	return r;
}

int deploy_check_host(const struct config_env *env, size_t index)
{
	struct lone_job l;
	struct buf cmd = BUF_INIT;
	int r;

	if ((r = lone_open(&l, env, index)) < 0) {
		host_free(l.j.host);
		return r;
	}
	buf_addstr(&cmd, "mkdir -p -- ");
	add_path(&cmd, env->path, NULL);
	buf_addstr(&cmd, " 2>/dev/null; test -d ");
	add_path(&cmd, env->path, NULL);
	buf_addstr(&cmd, " && test -w ");
	add_path(&cmd, env->path, NULL);
	buf_addstr(&cmd, " || { echo path is not writable; exit 3; }; "
		   "for t in tar timeout mv readlink; do command -v $t"
		   " >/dev/null || { echo $t is not installed; exit 3; };"
		   " done");
	add_shared_checks(&cmd, env);
	r = run(&l.j, "check", cmd.ptr, false);
	buf_release(&cmd);
	host_free(l.j.host);
	return r;
}
