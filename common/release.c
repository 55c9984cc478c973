#include "release.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "errors.h"
#include "hookenv.h"
#include "increment.h"
#include "host.h"
#include "report.h"
#include "strvec.h"
#include "timeutil.h"

/*
 * A release is built under PATH/releases/.partial-ID and renamed to ID
 * once complete (REVISION sealed, `shared` linked): a release directory
 * under its own name is whole, whatever killed a deploy while it built
 * one.
 */
#define PARTIAL ".partial-"

/* Marks in command output that tell pushgate what it asked for. */
#define CURRENT_MARK "pushgate-current=["
#define PRESENT_MARK "pushgate-release=present"
#define LIVE_MARK "pushgate-current-is-there"

struct release_target {
	struct target base;
	const struct config_env *env;
	struct host *host;
	char *left_link;	/* where `current` pointed, ours or not */
	char *listing;		/* releases as listed at the switch */
	bool owns_release;	/* the release directory is this deploy's */
};

/* ---- release ids and pure choices ---------------------------------- */

bool release_id_valid(const char *s)
{
	size_t n = strlen(s);

	if (!n || n >= RELEASE_ID_MAX || s[0] == '.' || s[0] == '-')
		return false;
	return strspn(s, "0123456789abcdefghijklmnopqrstuvwxyz"
		      "ABCDEFGHIJKLMNOPQRSTUVWXYZ-_.") == n;
}

void release_id_make(char out[RELEASE_ID_MAX], int64_t time,
		     const char *hex)
{
	char stamp[TIMEUTIL_TEXT_MAX];

	timeutil_format(stamp, time, TIMEUTIL_COMPACT);
	snprintf(out, RELEASE_ID_MAX, "%s-%.12s", stamp, hex);
}

bool release_id_looks_like(const char *s)
{
	size_t digits = strspn(s, "0123456789");

	return digits >= 8 && s[digits] == 'T';
}

const char *release_from_link(const char *link)
{
	if (!strncmp(link, "releases/", 9) && release_id_valid(link + 9))
		return link + 9;
	return NULL;
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct release_entry *)a)->id,
		      ((const struct release_entry *)b)->id);
}

static bool protected(const char *id, const char *live, const char *previous)
{
	return (live && !strcmp(id, live)) ||
	       (previous && !strcmp(id, previous));
}

size_t release_prune_select(const char **drop_out,
			    const struct release_entry *list, size_t nr,
			    unsigned keep, const char *live,
			    const char *previous)
{
	struct release_entry *sorted;
	size_t over, nr_drop = 0, i;
	int pass;

	if (nr <= keep)
		return 0;
	over = nr - keep;
	sorted = xcalloc(nr, sizeof(*sorted));
	memcpy(sorted, list, nr * sizeof(*sorted));
	qsort(sorted, nr, sizeof(*sorted), cmp_entry);
	/* failed releases first, then good ones; oldest first in each */
	for (pass = 0; pass < 2 && nr_drop < over; pass++)
		for (i = 0; i < nr && nr_drop < over; i++) {
			if (sorted[i].failed != (pass == 0) ||
			    protected(sorted[i].id, live, previous))
				continue;
			drop_out[nr_drop++] = sorted[i].id;
		}
	free(sorted);
	/* oldest first, whatever the pass that chose them */
	for (i = 1; i < nr_drop; i++) {
		const char *id = drop_out[i];
		size_t k = i;

		for (; k > 0 && strcmp(drop_out[k - 1], id) > 0; k--)
			drop_out[k] = drop_out[k - 1];
		drop_out[k] = id;
	}
	return nr_drop;
}

/* ---- shell command lines ------------------------------------------ */

static struct release_target *rt_of(struct target *t)
{
	return (struct release_target *)t;
}

/* 'ROOT/REST' (REST NULL: 'ROOT'), quoted. */
static void add_path(struct buf *b, const char *root, const char *rest)
{
	struct buf p = BUF_INIT;

	buf_addstr(&p, root);
	if (rest)
		buf_addf(&p, "/%s", rest);
	if (!buf_inherit_error(b, &p))
		buf_addshq(b, p.ptr);
	buf_release(&p);
}

/* 'PATH/releases/ID[/REST]', quoted. */
static void add_release_path(struct buf *b, const struct config_env *env,
			     const char *id, const char *rest)
{
	struct buf p = BUF_INIT;

	buf_addf(&p, "releases/%s", id);
	if (rest)
		buf_addf(&p, "/%s", rest);
	if (!buf_inherit_error(b, &p))
		add_path(b, env->path, p.ptr);
	buf_release(&p);
}

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
 * target (NULL: no `current`). ERR_GENERIC if the line is not there:
 * then nobody knows what to come back to, and the deploy must not go on.
 */
static int find_current(char **link_out, const char *output)
{
	const char *p = output ? strstr(output, CURRENT_MARK) : NULL;
	const char *end;

	*link_out = NULL;
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
	if (end - 1 > p)
		*link_out = xstrndup(p, (size_t)(end - 1 - p));
	return 0;
}

/* What was live, from a command's output: t->left and left_link. */
static int learn_current(struct release_target *rt, const char *output)
{
	const char *id;
	int r;

	free(rt->left_link);
	free(rt->base.left);
	rt->base.left = NULL;
	if ((r = find_current(&rt->left_link, output)) < 0)
		return r;
	if (rt->left_link && (id = release_from_link(rt->left_link)))
		rt->base.left = xstrdup(id);
	return 0;
}

static void show_output(const char *data, size_t len, void *payload)
{
	(void)payload;
	report_stream(data, len);
}

enum run_flags {
	RUN_SHOW = 1 << 0,	/* stream the output to the user */
	RUN_TIMEOUT_124 = 1 << 1	/* under timeout(1): 124 is its deadline */
};

/*
 * Run `cmd` on the host; a non-zero exit is an error whose message
 * starts with `what` (and, unless shown, names the first line of
 * output). With `output_out`, the output is handed over (caller frees)
 * when the command succeeded.
 */
static int run_cmd(struct release_target *rt, const char *what,
		   const struct buf *cmd, unsigned flags, char **output_out)
{
	bool show = flags & RUN_SHOW;
	struct host_result res = HOST_RESULT_INIT;
	int r;

	if ((r = buf_error(cmd)) < 0)
		return error_set(r, "%s: the command line is too long", what);
	r = host_run(rt->host, &res, cmd->ptr, rt->env->command_timeout,
		     !show || output_out, show ? show_output : NULL, NULL);
	if (show)
		report_stream_flush();
	if (!r && res.output_held)
		report_info("[%s] %s: a process it started kept its output"
			    " open; not waiting for it", rt->base.label,
			    what);
	if (r < 0) {
		r = error_set(r, "%s: %s", what, error_last());
	} else if (res.status == 124 && (flags & RUN_TIMEOUT_124)) {
		/* the host's timeout(1) was first: the same deadline */
		r = error_set(ERR_TIMEOUT, "%s: command timed out after %u s",
			      what, rt->env->command_timeout);
	} else if (res.status != 0) {
		size_t n = res.output ? strcspn(res.output, "\n") : 0;

		r = error_set(ERR_GENERIC, "%s failed (exit %d)%s%.*s", what,
			      res.status, n && !show ? ": " : "",
			      (int)(show ? 0 : n),
			      res.output ? res.output : "");
	} else if (output_out) {
		*output_out = res.output;
		res.output = NULL;
	}
	host_result_release(&res);
	return r;
}

static int run(struct release_target *rt, const char *what,
	       const struct buf *cmd, bool show, char **output_out)
{
	return run_cmd(rt, what, cmd, show ? RUN_SHOW : 0, output_out);
}

/*
 * An operator's command: "PUSHGATE_…='…' …; export …; cd 'DIR' && exec
 * timeout -k 5 T /bin/sh -c 'CMD'", run in release `cwd`, with
 * PUSHGATE_RELEASE the release going (or being) live and
 * PUSHGATE_PREVIOUS the one left (NULL: none).
 */
static void hook_line(struct buf *line, const struct config_env *env,
		      const struct target_job *job, const char *cmd,
		      const char *live, const char *left, const char *cwd)
{
	struct hookenv he = HOOKENV_INIT;
	struct buf rel = BUF_INIT, prev = BUF_INIT;

	buf_addf(&rel, "%s/releases/%s", env->path, live);
	if (left)
		buf_addf(&prev, "%s/releases/%s", env->path, left);
	he.env = env->name;
	he.commit = job->commit;
	he.ref = job->ref;
	he.release = rel.ptr;
	he.previous = prev.ptr;
	he.user = job->user;
	hookenv_shell(line, &he);
	buf_addstr(line, "cd ");
	add_release_path(line, env, cwd, NULL);
	/*
	 * timeout(1) too: closing our channel at the deadline does not stop
	 * a remote command, so it must stop itself.
	 */
	buf_addf(line, " && exec timeout -k 5 %u /bin/sh -c ",
		 env->command_timeout);
	buf_addshq(line, cmd);
	buf_inherit_error(line, &rel);
	buf_inherit_error(line, &prev);
	buf_release(&rel);
	buf_release(&prev);
}

static int run_hook(struct release_target *rt, const struct target_job *job,
		    const char *what, const char *cmd, const char *live,
		    const char *left, const char *cwd)
{
	struct buf line = BUF_INIT;
	double start = timeutil_now();
	int r;

	if (!cmd)
		return 0;
	hook_line(&line, rt->env, job, cmd, live, left, cwd);
	report_info("[%s] %s", rt->base.label, what);
	r = run_cmd(rt, what, &line, RUN_SHOW | RUN_TIMEOUT_124, NULL);
	if (!r)
		report_info("[%s] %s ok (%.1f s)", rt->base.label, what,
			    timeutil_now() - start);
	buf_release(&line);
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
		buf_inherit_error(cmd, &p);
		buf_addstr(cmd, "; test -e ");
		add_path(cmd, env->path, p.ptr);
		buf_addstr(cmd, " || { echo missing shared file ");
		buf_addshq(cmd, e);
		buf_addstr(cmd, "; exit 3; }");
		buf_release(&p);
	}
}

/*
 * In PATH/releases: remove what deploys that died (or could not reach
 * the host to clean up) left of releases they were building (deploys of
 * one path never overlap). Directories first made writable: a release
 * may have read-only ones; never files, which a copy shares with the
 * live release.
 */
static void add_sweep(struct buf *cmd)
{
	buf_addstr(cmd, "{ find " PARTIAL "* .incoming-* -type d ! -perm -u+w"
		   " -exec chmod u+w -- {} + 2>/dev/null || true; rm -rf -- "
		   PARTIAL "* .incoming-* .seal-* 2>/dev/null || true; }");
}

/*
 * Before the upload: create the layout, make sure the new release does
 * not exist, check the shared files, and learn which release is live
 * (the one to come back to).
 */
static void add_prepare(struct buf *cmd, const struct config_env *env,
			const char *id)
{
	size_t i;

	buf_addstr(cmd, "set -e; mkdir -p -- ");
	add_path(cmd, env->path, "releases");
	buf_addch(cmd, ' ');
	add_path(cmd, env->path, "shared");
	/* what earlier deploys left takes room the upload may need */
	buf_addstr(cmd, "; (cd ");
	add_path(cmd, env->path, "releases");
	buf_addstr(cmd, " && ");
	add_sweep(cmd);
	buf_addstr(cmd, "); test ! -e ");
	add_release_path(cmd, env, id, NULL);
	for (i = 0; i < env->shared.nr; i++) {
		const char *e = env->shared.v[i];
		size_t n = strlen(e);
		struct buf p = BUF_INIT;

		if (e[n - 1] != '/')
			continue;
		buf_addstr(&p, "shared/");
		buf_add(&p, e, n - 1);
		buf_inherit_error(cmd, &p);
		buf_addstr(cmd, "; mkdir -p -- ");
		add_path(cmd, env->path, p.ptr);
		buf_release(&p);
	}
	add_shared_checks(cmd, env);
	add_read_current(cmd, env);
}

/*
 * The releases, one "G ID" (good) or "F ID" (failed) line each; what a
 * killed deploy left of a release it built goes.
 */
static void add_list_releases(struct buf *cmd, const struct config_env *env)
{
	buf_addstr(cmd, "cd ");
	add_path(cmd, env->path, "releases");
	buf_addstr(cmd, " && ");
	add_sweep(cmd);
	buf_addstr(cmd, " && for d in *; do test -d \"$d\" || continue;"
		   " if test -f \"$d/FAILED\" && ! test -L \"$d/FAILED\";"
		   " then echo \"F $d\";"
		   " else echo \"G $d\"; fi; done");
}


/* ---- prepare -------------------------------------------------------- */

/*
 * Link each `shared` entry into the release: REL/x -> ../../shared/x
 * (with one more ../ per directory level), after checking that no
 * directory on the way is a symlink and replacing what the release had
 * there.
 */
/* The command linking shared entry `entry` into release `id`. */
static void shared_line(struct buf *cmd, const struct config_env *env,
			const char *id, const char *entry)
{
	char *e = xstrdup(entry);
	size_t n = strlen(e), k;
	struct buf target = BUF_INIT;

	if (n && e[n - 1] == '/')
		e[--n] = '\0';
	buf_addstr(cmd, "set -e; ");
	for (k = 0; k < n; k++) {
		if (e[k] != '/')
			continue;
		e[k] = '\0';
		buf_addstr(cmd, "test ! -L ");
		add_release_path(cmd, env, id, e);
		buf_addstr(cmd, "; mkdir -p -- ");
		add_release_path(cmd, env, id, e);
		buf_addstr(cmd, "; ");
		e[k] = '/';
		buf_addstr(&target, "../");
	}
	buf_addf(&target, "../../shared/%s", e);
	buf_inherit_error(cmd, &target);
	buf_addstr(cmd, "rm -rf -- ");
	add_release_path(cmd, env, id, e);
	buf_addstr(cmd, "; ln -s -- ");
	buf_addshq(cmd, target.ptr);
	buf_addch(cmd, ' ');
	add_release_path(cmd, env, id, e);
	buf_release(&target);
	free(e);
}

static int link_shared(struct release_target *rt, const char *id)
{
	const struct config_env *env = rt->env;
	struct buf cmd = BUF_INIT;
	size_t i;
	int r = 0;

	for (i = 0; i < env->shared.nr && !r; i++) {
		buf_reset(&cmd);
		shared_line(&cmd, env, id, env->shared.v[i]);
		r = run(rt, "link shared", &cmd, false, NULL);
	}
	buf_release(&cmd);
	return r;
}

/* ".partial-ID": where release `id` is built. */
static void partial_of(struct buf *out, const char *id)
{
	buf_addf(out, PARTIAL "%s", id);
}

/*
 * The release built in PARTIAL-ID is complete: it takes its own name
 * (the name was free when the deploy began: see add_prepare()).
 */
static int complete_release(struct release_target *rt, const char *id)
{
	struct buf cmd = BUF_INIT, partial = BUF_INIT;
	int r;

	partial_of(&partial, id);
	buf_inherit_error(&cmd, &partial);
	buf_addstr(&cmd, "mv -T -- ");
	add_release_path(&cmd, rt->env, partial.ptr, NULL);
	buf_addch(&cmd, ' ');
	add_release_path(&cmd, rt->env, id, NULL);
	r = run(rt, "complete the release", &cmd, false, NULL);
	buf_release(&cmd);
	buf_release(&partial);
	return r;
}

/* A new release: layout, upload (artifact, config, REVISION), shared. */
/*
 * An incremental upload (increment.h) when the job has a base: 0 with
 * *done set when it went that way, 0 without when the host gets a full
 * upload (it says why), or an error.
 */
static int try_increment(struct release_target *rt,
			 const struct target_job *job, const char *prepare,
			 const char *dir, bool *done)
{
	struct increment_opts io;
	struct increment_result ir;
	int r, r2;

	*done = false;
	if (!job->base || !job->next ||
	    rt->env->incremental == CONFIG_INCREMENTAL_OFF)
		return 0;
	memset(&io, 0, sizeof(io));
	io.host = rt->host;
	io.label = rt->base.label;
	io.env = rt->env;
	io.job = job;
	io.prepare = prepare;
	io.dir = dir;
	r = increment_upload(&ir, &io);
	/* the mark tells that the new id was free: the release is ours */
	if (ir.output) {
		struct error_saved saved;

		error_save(&saved);
		r2 = learn_current(rt, ir.output);
		rt->owns_release = r2 == 0;
		if (!r && r2 < 0)
			r = r2;
		else
			error_restore(&saved, r);
	}
	if (r < 0) {
		r = error_set(r, "upload: %s", error_last());
	} else if (ir.done) {
		*done = true;
		rt->base.incremental = true;
	} else {
		report_info("[%s] full upload: %s", rt->base.label,
			    report_str(ir.why ? ir.why :
				       "the live release cannot be used"));
	}
	increment_result_release(&ir);
	return r;
}

/* A long upload says how far it got: "[web1] uploading: 45.2 MB, ..." */
static void show_progress(uint64_t bytes, double seconds, void *payload)
{
	const struct release_target *rt = payload;

	report_info("[%s] uploading: %.1f MB sent, %.1f MB/s", rt->base.label,
		    (double)bytes / 1e6,
		    seconds > 0 ? (double)bytes / 1e6 / seconds : 0.0);
}

/*
 * A full upload's steps around the tar stream: `prepare` (layout, checks,
 * the live release), the directory the release is built in, and `seal`:
 * REVISION touched with the host's clock once all is there, so that
 * whatever changes in the release later is newer (SPEC §9).
 */
static int upload_steps(const struct config_env *env, const char *id,
			struct buf *prepare, struct buf *dir, struct buf *seal)
{
	struct buf partial = BUF_INIT;
	int r;

	partial_of(&partial, id);
	add_prepare(prepare, env, id);
	buf_addf(dir, "%s/releases/%s", env->path, partial.ptr);
	buf_addstr(seal, "touch -- ");
	add_release_path(seal, env, partial.ptr, "REVISION");
	buf_inherit_error(seal, &partial);
	buf_release(&partial);
	if ((r = buf_error(prepare)) < 0 || (r = buf_error(dir)) < 0 ||
	    (r = buf_error(seal)) < 0)
		return error_set(r, "upload: the command line is too long");
	return 0;
}

static int upload_release(struct release_target *rt,
			  const struct target_job *job)
{
	struct host_upload up;
	struct host_upload_stats stats;
	struct buf prepare = BUF_INIT, dir = BUF_INIT, seal = BUF_INIT;
	struct buf partial = BUF_INIT;
	double start = timeutil_now();
	char *output = NULL;
	bool done;
	int r, r2;

	partial_of(&partial, job->release);
	if ((r = buf_error(&partial)) < 0 ||
	    (r = upload_steps(rt->env, job->release, &prepare, &dir,
			      &seal)) < 0 ||
	    (r = try_increment(rt, job, prepare.ptr, partial.ptr,
			       &done)) < 0)
		goto out;
	if (done) {
		if (!(r = link_shared(rt, partial.ptr)))
			r = complete_release(rt, job->release);
		goto out;
	}
	memset(&up, 0, sizeof(up));
	up.dir = dir.ptr;
	up.before = prepare.ptr;
	up.after = seal.ptr;
	up.mtime = job->mtime;
	up.timeout = rt->env->command_timeout;
	up.produce = job->produce;
	up.payload = job->produce_payload;
	up.spool = job->spool;
	up.spool_dir = job->spool_dir;
	up.progress = show_progress;
	up.progress_payload = rt;
	up.cancelled = job->cancelled;
	r = host_upload(rt->host, &up, &stats, &output);
	/*
	 * The mark is printed once the id was found free, before mkdir: only
	 * then is the release directory this deploy's to remove.
	 */
	if (r < 0) {
		struct error_saved saved;

		error_save(&saved);
		r2 = learn_current(rt, output);
		rt->owns_release = r2 == 0;
		r = error_restore(&saved, r);
		r = error_set(r, "upload: %s", error_last());
		goto out;
	}
	if ((r = learn_current(rt, output)) < 0)
		goto out;
	rt->owns_release = true;
	report_info("[%s] uploaded %llu entries, %.1f MB in %.1f s",
		    rt->base.label, (unsigned long long)stats.entries,
		    (double)stats.bytes / 1e6, timeutil_now() - start);
	if (!(r = link_shared(rt, partial.ptr)))
		r = complete_release(rt, job->release);
out:
	free(output);
	buf_release(&prepare);
	buf_release(&dir);
	buf_release(&seal);
	buf_release(&partial);
	return r;
}

/*
 * An existing release (rollback, repair): is it still there and good?
 * With `absent_ok`, a missing release is no error: *present says.
 * The live release is learnt in the same round trip.
 */
static int check_existing(struct release_target *rt, const char *id,
			  bool absent_ok, bool *present)
{
	struct buf cmd = BUF_INIT;
	char *output = NULL;
	int r;

	*present = false;
	buf_addstr(&cmd, "if test -d ");
	add_release_path(&cmd, rt->env, id, NULL);
	buf_addstr(&cmd, "; then if test -e ");
	add_release_path(&cmd, rt->env, id, "FAILED");
	buf_addstr(&cmd, "; then echo release is marked FAILED; exit 3; fi; "
		   "echo " PRESENT_MARK "; ");
	if (absent_ok)
		buf_addstr(&cmd, "fi");
	else
		buf_addstr(&cmd, "else echo release was pruned; exit 3; fi");
	add_read_current(&cmd, rt->env);
	r = run(rt, "check release", &cmd, false, &output);
	if (!r)
		r = learn_current(rt, output);
	if (!r)
		*present = strstr(output, PRESENT_MARK "\n") != NULL;
	free(output);
	buf_release(&cmd);
	return r;
}

static int rt_prepare(struct target *t, const struct target_job *job)
{
	struct release_target *rt = rt_of(t);
	bool present;
	int r;

	switch (job->action) {
	case TARGET_DEPLOY:
		return upload_release(rt, job);
	case TARGET_ROLLBACK:
		return check_existing(rt, job->release, false, &present);
	case TARGET_REPAIR:
		if ((r = check_existing(rt, job->release, true,
					&present)) < 0)
			return r;
		if (present) {
			target_set_note(t, "re-pointed to the recorded"
					" release");
			return 0;
		}
		report_info("[%s] release %s is gone: uploading it again",
			    t->label, job->release);
		target_set_note(t, "redeployed the recorded release");
		return upload_release(rt, job);
	}
	BUG("rt_prepare: action %d", (int)job->action);
}

/* ---- activate and revert -------------------------------------------- */

/*
 * Point `current` at `link` (as the symlink will hold it; NULL: remove
 * `current`). With `list`, the same round trip lists the releases for
 * prune() into rt->listing.
 */
static void switch_line(struct buf *cmd, const struct config_env *env,
			const char *link, const char *tmp_id, bool list)
{
	const char *path = env->path;
	struct buf tmp = BUF_INIT;

	if (!link) {
		buf_addstr(cmd, "rm -f -- ");
		add_path(cmd, path, "current");
	} else {
		buf_addf(&tmp, ".current-%s", tmp_id);
		buf_inherit_error(cmd, &tmp);
		buf_addstr(cmd, "ln -sfn -- ");
		buf_addshq(cmd, link);
		buf_addch(cmd, ' ');
		add_path(cmd, path, tmp.ptr);
		buf_addstr(cmd, " && mv -T -- ");
		add_path(cmd, path, tmp.ptr);
		buf_addch(cmd, ' ');
		add_path(cmd, path, "current");
	}
	if (list) {
		buf_addstr(cmd, " && { ");
		add_list_releases(cmd, env);
		buf_addstr(cmd, "; }");
	}
	buf_release(&tmp);
}

static int switch_link(struct release_target *rt, const char *link,
		       const char *tmp_id, bool list)
{
	struct buf cmd = BUF_INIT;
	int r;

	switch_line(&cmd, rt->env, link, tmp_id, list);
	if (list) {
		free(rt->listing);
		rt->listing = NULL;
	}
	r = run(rt, "switch", &cmd, false, list ? &rt->listing : NULL);
	buf_release(&cmd);
	return r;
}

static int maintenance(struct release_target *rt, bool on)
{
	struct buf cmd = BUF_INIT;
	int r;

	if (!rt->env->maintenance)
		return 0;
	buf_addstr(&cmd, on ? "touch -- " : "rm -f -- ");
	add_path(&cmd, rt->env->path, "maintenance");
	r = run(rt, on ? "maintenance on" : "maintenance off", &cmd, false,
		NULL);
	buf_release(&cmd);
	return r;
}

static int healthcheck(struct release_target *rt,
		       const struct target_job *job)
{
	const struct config_env *env = rt->env;
	unsigned attempt;
	int r = 0;

	if (!env->healthcheck)
		return 0;
	for (attempt = 1; attempt <= env->healthcheck_retries; attempt++) {
		struct timespec delay = { RELEASE_HEALTHCHECK_DELAY, 0 };

		r = run_hook(rt, job, "healthcheck", env->healthcheck,
			     job->release, rt->base.left, job->release);
		if (!r)
			return 0;
		if (attempt < env->healthcheck_retries) {
			report_info("[%s] healthcheck attempt %u of %u failed,"
				    " retrying in %d s", rt->base.label,
				    attempt, env->healthcheck_retries,
				    RELEASE_HEALTHCHECK_DELAY);
			while (nanosleep(&delay, &delay) < 0 && errno == EINTR)
				;
		}
	}
	return r;
}

static int rt_activate(struct target *t, const struct target_job *job)
{
	struct release_target *rt = rt_of(t);
	const struct config_env *env = rt->env;
	struct buf link = BUF_INIT;
	int r;

	/*
	 * From here on the host counts as changed: a failed `before` may
	 * have stopped services, and a switch whose answer was lost may have
	 * happened. Going back is idempotent, and runs `after`.
	 */
	t->changed = true;
	buf_addf(&link, "releases/%s", job->release);
	if ((r = maintenance(rt, true)) < 0 ||
	    (r = run_hook(rt, job, "before", env->before, job->release,
			  t->left, job->release)) < 0 ||
	    (r = switch_link(rt, link.ptr, job->release,
			     job->action == TARGET_DEPLOY)) < 0)
		goto out;
	report_info("[%s] current -> releases/%s", t->label, job->release);
	if ((r = run_hook(rt, job, "after", env->after, job->release,
			  t->left, job->release)) < 0 ||
	    (r = healthcheck(rt, job)) < 0)
		goto out;
out:
	buf_release(&link);
	return r;
}

static int rt_run_once(struct target *t, const struct target_job *job,
		       const char *which)
{
	struct release_target *rt = rt_of(t);
	const struct config_env *env = rt->env;
	const char *cmd = !strcmp(which, "before_once") ? env->before_once :
			  !strcmp(which, "after_once") ? env->after_once : NULL;

	/* a migration may change what the live release sees */
	if (cmd)
		t->changed = true;
	return run_hook(rt, job, which, cmd, job->release, t->left,
			job->release);
}

/*
 * Back to exactly where `current` pointed, ours or not; then `after` in
 * that release (PUSHGATE_RELEASE: made live again, PUSHGATE_PREVIOUS:
 * the release left) and `on_failure` (PUSHGATE_RELEASE: the release
 * that failed, SPEC §5). Every step runs even if one before failed;
 * the first failure is returned.
 */
static int rt_revert(struct target *t, const struct target_job *job)
{
	struct release_target *rt = rt_of(t);
	const struct config_env *env = rt->env;
	const char *back = t->left;
	int r, r2 = 0;

	r = switch_link(rt, rt->left_link, job->release, false);
	if (!r)
		report_info("[%s] rolled back to %s", t->label,
			    back ? back : rt->left_link ?
			    report_str(rt->left_link) : "(no release)");
	if (!r && back)
		r = run_hook(rt, job, "after", env->after, back, job->release,
			     back);
	if (env->on_failure)
		r2 = run_hook(rt, job, "on_failure", env->on_failure,
			      job->release, back, back ? back : job->release);
	return r ? r : r2;
}

static int rt_mark_failed(struct target *t, const struct target_job *job,
			  const char *reason)
{
	struct release_target *rt = rt_of(t);
	struct buf cmd = BUF_INIT;
	int r = 0, r2;

	/* an existing release (rollback, repair) stays good elsewhere */
	if (job->action == TARGET_DEPLOY) {
		/* never through a link: remove, then create with set -C */
		buf_addstr(&cmd, "test ! -d ");
		add_release_path(&cmd, rt->env, job->release, NULL);
		buf_addstr(&cmd, " || { rm -f -- ");
		add_release_path(&cmd, rt->env, job->release, "FAILED");
		buf_addstr(&cmd, " && (set -C; printf '%s\\n' ");
		buf_addshq(&cmd, reason ? reason : "deploy failed");
		buf_addstr(&cmd, " > ");
		add_release_path(&cmd, rt->env, job->release, "FAILED");
		buf_addstr(&cmd, "); }");
		r = run(rt, "mark failed", &cmd, false, NULL);
	}
	r2 = maintenance(rt, false);
	buf_release(&cmd);
	return r ? r : r2;
}

static int rt_discard(struct target *t, const struct target_job *job)
{
	struct release_target *rt = rt_of(t);
	struct buf cmd = BUF_INIT;
	int r;

	/* only what this deploy created: the id was free when it began */
	if (!rt->owns_release)
		return 0;
	/* its directories may be read-only (copied so, or so uploaded) */
	buf_addstr(&cmd, "cd ");
	add_path(&cmd, rt->env->path, "releases");
	buf_addf(&cmd, " && { find '%s' '" PARTIAL "%s' '.incoming-%s' -type d"
		 " ! -perm -u+w -exec chmod u+w -- {} + 2>/dev/null; rm -rf --"
		 " '%s' '" PARTIAL "%s' '.incoming-%s' '.seal-%s'; }",
		 job->release, job->release, job->release, job->release,
		 job->release, job->release, job->release);
	r = run(rt, "remove partial release", &cmd, false, NULL);
	buf_release(&cmd);
	return r;
}

/* ---- finish: prune -------------------------------------------------- */

static int prune(struct release_target *rt, const struct target_job *job)
{
	const struct config_env *env = rt->env;
	struct release_entry *list = NULL;
	const char **drop = NULL;
	struct buf cmd = BUF_INIT;
	char *output = rt->listing, *line, *save = NULL;
	size_t nr = 0, nr_drop, i;
	int r = 0;

	rt->listing = NULL;
	if (!output) {
		add_list_releases(&cmd, env);
		if ((r = run(rt, "list releases", &cmd, false, &output)) < 0)
			goto out;
	}
	for (line = strtok_r(output, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (strlen(line) < 3 || !release_id_valid(line + 2))
			continue;
		list = xreallocarray(list, nr + 1, sizeof(*list));
		list[nr].id = line + 2;
		list[nr++].failed = line[0] == 'F';
	}
	drop = xcalloc(nr ? nr : 1, sizeof(*drop));
	nr_drop = release_prune_select(drop, list, nr, env->keep,
				       job->release, rt->base.left);
	if (!nr_drop)
		goto out;
	buf_reset(&cmd);
	buf_addstr(&cmd, "cd ");
	add_path(&cmd, env->path, "releases");
	buf_addstr(&cmd, " && rm -rf --");
	for (i = 0; i < nr_drop; i++) {
		buf_addch(&cmd, ' ');
		buf_addshq(&cmd, drop[i]);
	}
	r = run(rt, "prune", &cmd, false, NULL);
	if (!r)
		report_info("[%s] pruned %zu old release%s", rt->base.label,
			    nr_drop, nr_drop == 1 ? "" : "s");
out:
	free(output);
	free(list);
	free(drop);
	buf_release(&cmd);
	return r;
}

static int rt_finish(struct target *t, const struct target_job *job)
{
	struct release_target *rt = rt_of(t);
	int r = maintenance(rt, false);

	/* a failed prune leaves old releases behind, nothing more */
	if (job->action == TARGET_DEPLOY && prune(rt, job) < 0)
		report_warn("[%s] cannot prune: %s", t->label,
			    report_str(error_last()));
	return r;
}

/* ---- outside a deploy: current and check ---------------------------- */

static int rt_current(struct target *t, char **out)
{
	struct release_target *rt = rt_of(t);
	struct buf cmd = BUF_INIT;
	char *output = NULL, *link = NULL;
	const char *id;
	int r;

	buf_addstr(&cmd, "true");
	add_read_current(&cmd, rt->env);
	/* a `current` whose release is gone is no live release */
	buf_addstr(&cmd, "; if test -d ");
	add_path(&cmd, rt->env->path, "current/");
	buf_addstr(&cmd, "; then echo " LIVE_MARK "; fi");
	r = run(rt, "read current", &cmd, false, &output);
	if (!r)
		r = find_current(&link, output);
	if (!r && link && !strstr(output, "\n" LIVE_MARK "\n")) {
		struct buf b = BUF_INIT;

		buf_addf(&b, "%s (missing)", link);
		*out = buf_detach(&b, NULL);
	} else if (!r && link) {
		*out = xstrdup((id = release_from_link(link)) ? id : link);
	}
	free(link);
	free(output);
	buf_release(&cmd);
	return r;
}

static int rt_check(struct target *t)
{
	struct release_target *rt = rt_of(t);
	const struct config_env *env = rt->env;
	struct buf cmd = BUF_INIT;
	int r;

	buf_addstr(&cmd, "mkdir -p -- ");
	add_path(&cmd, env->path, NULL);
	buf_addstr(&cmd, " 2>/dev/null; test -d ");
	add_path(&cmd, env->path, NULL);
	buf_addstr(&cmd, " && test -w ");
	add_path(&cmd, env->path, NULL);
	buf_addstr(&cmd, " || { echo path is not writable; exit 3; }; "
		   "for t in tar timeout mv readlink find xargs cp sort sha1sum dd"
		   " cat; do command -v $t >/dev/null ||"
		   " { echo $t is not installed; exit 3; }; done;"
		   " find / -maxdepth 0 -printf '' 2>/dev/null"
		   " || { echo find is not GNU find; exit 3; };"
		   " cp --remove-destination --help >/dev/null 2>&1"
		   " || { echo cp is not GNU cp; exit 3; };"
		   " test \"$(printf ab | dd bs=1M count=1"
		   " iflag=fullblock,count_bytes 2>/dev/null)\" = a"
		   " || { echo dd is not GNU dd; exit 3; };"
		   " case $(tar --version 2>/dev/null) in *'GNU tar'*) ;;"
		   " *) echo tar is not GNU tar; exit 3;; esac");
	add_shared_checks(&cmd, env);
	r = run(rt, "check", &cmd, false, NULL);
	buf_release(&cmd);
	return r;
}

static void rt_close(struct target *t)
{
	struct release_target *rt = rt_of(t);

	host_free(rt->host);
	free(rt->left_link);
	free(rt->listing);
	target_release(t);
	free(rt);
}

static const struct target_ops release_ops = {
	rt_prepare, rt_activate, rt_run_once, rt_revert, rt_mark_failed,
	rt_discard, rt_finish, rt_current, rt_check, rt_close
};

int release_target_open(struct target **out, const struct config_env *env,
			size_t index)
{
	struct release_target *rt;
	int r;

	*out = NULL;
	rt = xcalloc(1, sizeof(*rt));
	target_init(&rt->base, &release_ops, env->hosts[index].label);
	rt->env = env;
	if ((r = host_open(&rt->host, env, index)) < 0) {
		free(rt);
		return r;
	}
	*out = &rt->base;
	return 0;
}

/* ---- a dry run ---------------------------------------------------------- */

/* One "WHAT: COMMAND" line of release_describe(). */
static void describe(struct strvec *out, const char *what, struct buf *cmd)
{
	if (buf_error(cmd) < 0)
		strvec_pushf(out, "%s: (the command line is too long)", what);
	else
		strvec_pushf(out, "%s: %s", what, cmd->ptr);
	buf_reset(cmd);
}

void release_describe(const struct config_env *env,
		      const struct target_job *job, const char *left,
		      struct strvec *out)
{
	struct buf cmd = BUF_INIT, link = BUF_INIT, partial = BUF_INIT;
	const char *id = job->release;
	size_t i;

	if (job->action == TARGET_ROLLBACK) {
		buf_addstr(&cmd, "test -d ");
		add_release_path(&cmd, env, id, NULL);
		buf_addstr(&cmd, " && test ! -e ");
		add_release_path(&cmd, env, id, "FAILED");
		describe(out, "check release", &cmd);
	} else {
		struct buf prepare = BUF_INIT, dir = BUF_INIT, seal = BUF_INIT;
		struct host_upload up;

		memset(&up, 0, sizeof(up));
		if (upload_steps(env, id, &prepare, &dir, &seal) < 0) {
			error_clear();
			strvec_push(out, "upload: (the command line is too "
				    "long)");
		} else {
			up.dir = dir.ptr;
			up.before = prepare.ptr;
			up.after = seal.ptr;
			host_upload_command(&cmd, &up);
			describe(out, "upload (the release as a tar stream; "
				 "only what changed, into a copy of the live "
				 "release, when the host holds it as deployed)",
				 &cmd);
		}
		buf_release(&prepare);
		buf_release(&dir);
		buf_release(&seal);
		partial_of(&partial, id);
		for (i = 0; i < env->shared.nr; i++) {
			shared_line(&cmd, env, partial.ptr, env->shared.v[i]);
			describe(out, "link shared", &cmd);
		}
		buf_inherit_error(&cmd, &partial);
		buf_addstr(&cmd, "mv -T -- ");
		add_release_path(&cmd, env, partial.ptr, NULL);
		buf_addch(&cmd, ' ');
		add_release_path(&cmd, env, id, NULL);
		describe(out, "complete the release", &cmd);
	}
	if (env->maintenance) {
		buf_addstr(&cmd, "touch -- ");
		add_path(&cmd, env->path, "maintenance");
		describe(out, "maintenance on", &cmd);
	}
	if (env->before) {
		hook_line(&cmd, env, job, env->before, id, left, id);
		describe(out, "before", &cmd);
	}
	buf_addf(&link, "releases/%s", id);
	switch_line(&cmd, env, link.ptr, id, job->action == TARGET_DEPLOY);
	describe(out, "switch", &cmd);
	if (env->after) {
		hook_line(&cmd, env, job, env->after, id, left, id);
		describe(out, "after", &cmd);
	}
	if (env->healthcheck) {
		char what[64];

		snprintf(what, sizeof(what), "healthcheck (up to %u tries)",
			 env->healthcheck_retries);
		hook_line(&cmd, env, job, env->healthcheck, id, left, id);
		describe(out, what, &cmd);
	}
	if (env->maintenance) {
		buf_addstr(&cmd, "rm -f -- ");
		add_path(&cmd, env->path, "maintenance");
		describe(out, "maintenance off", &cmd);
	}
	if (job->action == TARGET_DEPLOY)
		strvec_pushf(out, "prune: rm -rf the releases beyond keep = %u "
			     "(FAILED ones first; never the live or previous "
			     "one)", env->keep);
	buf_release(&link);
	buf_release(&cmd);
	buf_release(&partial);
}
