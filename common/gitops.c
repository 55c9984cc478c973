#include "gitops.h"

#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "errors.h"
#include "fsutil.h"
#include "gitremote.h"
#include "report.h"
#include "sink.h"
#include "timeutil.h"

/* Pushes tried when someone else keeps pushing first. */
#define GITOPS_TRIES 3
/* What pushgate pushed for each release, in the cache. */
#define RELEASES "refs/pushgate/releases/"
/* What pushgate pushed last (a deploy, a rollback or a revert). */
#define LIVE "refs/pushgate/live"

struct gitops_target {
	struct target base;		/* first: the engine's view */
	const struct config_env *env;
	struct gitremote *g;
	char *live_file;		/* the cache's note of the live release */
	bool fetched;
	struct repo_oid tip;		/* the remote branch when fetched */
	bool has_tip;
	struct repo_oid now;		/* its directory then */
	bool has_now;
	struct repo_oid tree;		/* the directory the release holds */
	bool has_tree;			/* false: an empty artifact */
	struct repo_oid before;		/* the directory the push replaced */
	bool had_before;
	struct repo_oid commit;		/* the commit to push */
	bool already;			/* the directory already holds it */
	bool pushed;
};

static struct gitops_target *gt_of(struct target *t)
{
	return (struct gitops_target *)t;
}

static bool same_dir(const struct repo_oid *a, bool has_a,
		     const struct repo_oid *b, bool has_b)
{
	return has_a == has_b && (!has_a || repo_oid_equal(a, b));
}

/* Fetch, and what the remote's directory holds now. */
static int fetch(struct gitops_target *gt)
{
	int r;

	if ((r = gitremote_fetch(gt->g, gt->env->gitops_branch, &gt->tip,
				 &gt->has_tip)) < 0)
		return r;
	gt->fetched = true;
	gt->has_now = false;
	if (gt->has_tip)
		r = gitremote_subtree(gt->g, &gt->tip, gt->env->gitops_path,
				      &gt->now, &gt->has_now);
	return r;
}

/* "deploy(ENV): 1a2b3c4d5e6f SUBJECT" and the trailers of SPEC §12. */
static void message(struct buf *b, const struct gitops_target *gt,
		    const struct target_job *job)
{
	const char *user = job->user && *job->user ? job->user : "unknown";
	const char *p;

	buf_addf(b, "%s(%s): %.12s ", job->action == TARGET_ROLLBACK ?
		 "rollback" : "deploy", gt->env->name, job->commit);
	/* a subject is one line of text: no control characters */
	for (p = job->subject ? job->subject : ""; *p; p++)
		buf_addch(b, (unsigned char)*p < 0x20 || *p == 0x7f ? ' ' :
			  *p);
	buf_addf(b, "\n\nPushgate-Environment: %s\nPushgate-Release: %s\n"
		 "Pushgate-Source-Commit: %s\nPushgate-User: ",
		 gt->env->name, job->release, job->commit);
	for (p = user; *p; p++)
		buf_addch(b, (unsigned char)*p < 0x20 || *p == 0x7f ? '?' :
			  *p);
	buf_addch(b, '\n');
}

/* The commit replacing the directory on the tip fetched last. */
static int build_commit(struct gitops_target *gt, const struct target_job *job)
{
	struct buf msg = BUF_INIT;
	int r;

	message(&msg, gt, job);
	if ((r = buf_error(&msg)) < 0)
		r = error_set(r, "the commit message is too long");
	else
		r = gitremote_commit(gt->g, gt->has_tip ? &gt->tip : NULL,
				     gt->env->gitops_path,
				     gt->has_tree ? &gt->tree : NULL, msg.ptr,
				     &gt->commit, &gt->already);
	buf_release(&msg);
	return r;
}

/* The artifact, written as a tree of the cache. */
static int write_tree(struct gitops_target *gt, const struct target_job *job)
{
	struct gitremote_tree *tw = NULL;
	struct sink sink;
	int r;

	if (!job->produce)
		BUG("gitops: a new release without its entries");
	if ((r = gitremote_tree_begin(gt->g, &tw, &sink)) < 0)
		return r;
	r = job->produce(&sink, job->produce_payload);
	if (r < 0) {
		gitremote_tree_end(tw, NULL);
		return r;
	}
	if ((r = gitremote_tree_end(tw, &gt->tree)) < 0)
		return r;
	gt->has_tree = true;
	return 0;
}

/* A rollback's directory: the one pushed for that release. */
static int release_tree(struct gitops_target *gt, const char *release)
{
	struct buf ref = BUF_INIT;
	struct repo_oid commit;
	bool found = false;
	int r;

	buf_addf(&ref, RELEASES "%s", release);
	if ((r = buf_error(&ref)) < 0)
		r = error_set(r, "release id too long");
	else if ((r = gitremote_get_ref(gt->g, ref.ptr, &commit, &found)) == 0
		 && !found)
		r = error_set(ERR_NOTFOUND, "release %s was never pushed from "
			      "here", release);
	else if (!r)
		r = gitremote_subtree(gt->g, &commit, gt->env->gitops_path,
				      &gt->tree, &gt->has_tree);
	buf_release(&ref);
	return r;
}

/*
 * Remember that `release` is live, held by `commit` (pushed, or found
 * there already): its ref, the live ref, and the note of its id.
 */
static int remember(struct gitops_target *gt, const char *release,
		    const struct repo_oid *commit)
{
	struct buf ref = BUF_INIT;
	int r;

	buf_addf(&ref, RELEASES "%s", release);
	if ((r = buf_error(&ref)) < 0)
		r = error_set(r, "release id too long");
	else if ((r = gitremote_set_ref(gt->g, ref.ptr, commit)) == 0 &&
		 (r = gitremote_set_ref(gt->g, LIVE, commit)) == 0)
		r = fsutil_write_file_atomic(gt->live_file, release,
					     strlen(release), 0600);
	buf_release(&ref);
	return r;
}

/*
 * The release live: the one pushgate made live last, when the remote's
 * directory still is what it was then; NULL otherwise (drift).
 */
static int gt_current(struct target *t, char **out)
{
	struct gitops_target *gt = gt_of(t);
	struct repo_oid live, ours;
	bool has_live, has_ours = false;
	struct buf id = BUF_INIT;
	int fd, r;

	if (!gt->fetched && (r = fetch(gt)) < 0)
		return r;
	if ((r = gitremote_get_ref(gt->g, LIVE, &live, &has_live)) < 0 ||
	    !has_live)
		return r;
	if ((r = gitremote_subtree(gt->g, &live, gt->env->gitops_path, &ours,
				   &has_ours)) < 0)
		return r;
	if (!same_dir(&ours, has_ours, &gt->now, gt->has_now))
		return 0;
	buf_init(&id, 128);
	fd = open(gt->live_file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd >= 0 && buf_read_fd(&id, fd) == 0 && id.len &&
	    !memchr(id.ptr, '\n', id.len))
		*out = buf_detach(&id, NULL);
	if (fd >= 0)
		close(fd);
	error_clear();
	buf_release(&id);
	return 0;
}

static int gt_prepare(struct target *t, const struct target_job *job)
{
	struct gitops_target *gt = gt_of(t);
	double start = timeutil_now();
	char *live = NULL;
	int r;

	if ((r = fetch(gt)) < 0 || (r = gt_current(t, &live)) < 0)
		return r;
	free(t->left);
	t->left = live;
	if (job->action == TARGET_ROLLBACK)
		r = release_tree(gt, job->release);
	else
		r = write_tree(gt, job);
	if (r < 0 || (r = build_commit(gt, job)) < 0)
		return r;
	if (gt->already)
		report_info("[%s] %s on %s already holds this release",
			    t->label, gt->env->gitops_path,
			    gt->env->gitops_branch);
	else
		report_info("[%s] fetched %s and committed %s in %.1f s",
			    t->label, gt->env->gitops_branch,
			    gt->env->gitops_path, timeutil_now() - start);
	return 0;
}

/* Push, fetching and committing again when someone pushed first. */
static int push(struct gitops_target *gt, const struct target_job *job,
		const char *what)
{
	bool rejected = false;
	int tries, r;

	for (tries = 1; tries <= GITOPS_TRIES; tries++) {
		if (gt->already)
			return 0;
		gt->before = gt->now;
		gt->had_before = gt->has_now;
		gt->base.changed = true;
		if ((r = gitremote_push(gt->g, gt->env->gitops_branch,
					&gt->commit, &rejected)) < 0)
			return r;
		if (!rejected) {
			gt->pushed = true;
			return 0;
		}
		report_info("[%s] %s moved meanwhile (%s): fetching again",
			    gt->base.label, gt->env->gitops_branch,
			    report_str(gitremote_refusal(gt->g)));
		if ((r = fetch(gt)) < 0 || (r = build_commit(gt, job)) < 0)
			return r;
	}
	return error_set(ERR_GENERIC, "%s: %s kept moving (%d tries): %s",
			 what, gt->env->gitops_branch, GITOPS_TRIES,
			 gitremote_refusal(gt->g));
}

static int gt_activate(struct target *t, const struct target_job *job)
{
	struct gitops_target *gt = gt_of(t);
	char hex[REPO_OID_HEXSZ + 1];
	int r;

	if ((r = push(gt, job, "push")) < 0)
		return r;
	if (gt->already) {
		target_set_note(t, "already live");
		return remember(gt, job->release, &gt->tip);
	}
	repo_oid_to_hex(hex, &gt->commit);
	report_info("[%s] pushed %.12s to %s", t->label, hex,
		    gt->env->gitops_branch);
	return remember(gt, job->release, &gt->commit);
}

/*
 * Take back what this deploy pushed: a commit putting the directory back
 * as it was, unless someone changed it since.
 */
static int gt_revert(struct target *t, const struct target_job *job)
{
	struct gitops_target *gt = gt_of(t);
	struct repo_oid back = gt->before;
	bool had = gt->had_before;
	int r;

	if (!gt->pushed)
		return 0;
	if ((r = fetch(gt)) < 0)
		return r;
	if (!same_dir(&gt->now, gt->has_now, &gt->tree, gt->has_tree))
		return 0;
	gt->tree = back;
	gt->has_tree = had;
	gt->pushed = false;
	if ((r = build_commit(gt, job)) < 0 ||
	    (r = push(gt, job, "revert")) < 0)
		return r;
	report_info("[%s] put %s back as it was", t->label,
		    gt->env->gitops_path);
	if (t->left)
		return remember(gt, t->left, &gt->commit);
	return gitremote_set_ref(gt->g, LIVE, &gt->commit);
}

static int gt_nothing(struct target *t, const struct target_job *job)
{
	(void)t;
	(void)job;
	return 0;
}

static int gt_run_once(struct target *t, const struct target_job *job,
		       const char *which)
{
	(void)t;
	(void)job;
	(void)which;
	return 0;	/* a GitOps environment has no commands */
}

static int gt_mark_failed(struct target *t, const struct target_job *job,
			  const char *reason)
{
	(void)t;
	(void)job;
	(void)reason;
	return 0;	/* nothing was left to mark: a commit is all or nothing */
}

static int gt_check(struct target *t)
{
	struct gitops_target *gt = gt_of(t);
	bool found;
	int r;

	if ((r = gitremote_check(gt->g, gt->env->gitops_branch, &found)) < 0)
		return r;
	if (!found)
		target_set_note(t, "no branch yet: the first deploy creates it");
	return 0;
}

static void gt_close(struct target *t)
{
	struct gitops_target *gt = gt_of(t);

	gitremote_free(gt->g);
	free(gt->live_file);
	target_release(t);
	free(gt);
}

static const struct target_ops gitops_ops = {
	gt_prepare, gt_activate, gt_run_once, gt_revert, gt_mark_failed,
	gt_nothing, gt_nothing, gt_current, gt_check, gt_close
};

int gitops_target_open(struct target **out, const struct config_env *env,
		       struct state *st)
{
	const struct config_host *h = &env->hosts[0];
	struct gitremote_opts o;
	struct gitops_target *gt;
	struct buf cache = BUF_INIT, hint = BUF_INIT;
	struct passwd *pw;
	int r;

	*out = NULL;
	if (env->kind != CONFIG_ENV_GITOPS || env->nr_hosts != 1)
		BUG("gitops_target_open: not a GitOps environment");
	gt = xcalloc(1, sizeof(*gt));
	target_init(&gt->base, &gitops_ops, h->label);
	gt->env = env;
	buf_addf(&cache, "%s/gitops/%s.git", st->dir, env->name);
	gt->live_file = xstrdup(cache.ptr);
	buf_addf(&hint, "pushgate trust %s", env->name);
	memset(&o, 0, sizeof(o));
	o.cache = cache.ptr;
	o.url = env->gitops_remote;
	o.user = h->user;
	if (!o.user && (pw = getpwuid(getuid())))
		o.user = pw->pw_name;
	o.host = h->host;
	o.port = h->port;
	o.label = h->label;
	o.identity = env->identity;
	o.known_hosts = env->known_hosts;
	o.trust_hint = hint.ptr;
	if ((r = buf_error(&cache)) < 0)
		r = error_set(r, "state directory path too long");
	else if (!o.user)
		r = error_set(ERR_INVALID, "no ssh user for '%s'", h->label);
	else if ((r = gitremote_open(&gt->g, &o)) == 0) {
		free(gt->live_file);
		gt->live_file = xstrdup(cache.ptr);
		buf_reset(&cache);
		buf_addf(&cache, "%s/pushgate-live", gt->live_file);
		free(gt->live_file);
		gt->live_file = xstrdup(cache.ptr);
	}
	buf_release(&cache);
	buf_release(&hint);
	if (r < 0) {
		gt_close(&gt->base);
		return r;
	}
	*out = &gt->base;
	return 0;
}
