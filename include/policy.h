#ifndef POLICY_H
#define POLICY_H

#include <stdbool.h>

#include "config.h"
#include "push.h"
#include "repo.h"
#include "state.h"
#include "strvec.h"

/*
 * The decisions: the [verify] rules applied to one ref update, and the
 * gate every deploy passes (a push that deploys, post-receive, the CLI):
 * approvers and `requires`. A violation is a verdict, not an error: the
 * functions return 0 with verdict->rejected set. An error (the
 * repository could not be read) is a negative code. Never prints.
 */

/* Offending commits, blobs or paths listed per rule in a verdict. */
#define POLICY_MAX_DETAILS 10

struct verdict {
	bool rejected;
	char *reason;		/* one line: why it is rejected */
	struct strvec details;	/* up to POLICY_MAX_DETAILS lines each rule */
	struct strvec hints;	/* how to fix it, one line each */
	size_t nr_new_commits;	/* new commits checked */
	size_t nr_paths;	/* changed paths checked */
};

#define VERDICT_INIT { false, NULL, STRVEC_INIT, STRVEC_INIT, 0, 0 }

struct gittree_sizes;

/* What checking an update needs, and what the updates of a push share. */
struct policy_opts {
	const struct config *cfg;
	struct repo *repo;
	/* timeutil_now() past which the check gives up; 0: never */
	double deadline;
	/*
	 * The counts of trees (gittree_count()) made with
	 * cfg->max_entries, shared by the updates of one push so that a
	 * tree is counted once; NULL: each call counts on its own.
	 */
	struct gittree_sizes *sizes;
	/* where trees found within max_entries are remembered; or NULL */
	struct state *st;
};

#define POLICY_OPTS_INIT { NULL, NULL, 0, NULL, NULL }

/*
 * Does the tree of `commit` hold more than max_entries entries
 * (*too_large)? Counted with `sizes`, which holds max_entries, unless
 * st's cache (when st is not NULL) says the commit was found within that
 * limit before. With `remember`, a commit found within it is added to
 * the cache: a deploy does, so that the next deploys of the commit (a
 * promotion, a redeploy) do not count again (40 ms for a
 * 5,000-entry tree spread over a 170 MB pack, before anything else can
 * start); pre-receive does not, as the write would cost every push a
 * file system sync.
 */
int policy_tree_too_large(bool *too_large, struct state *st, bool remember,
			  struct repo *repo, struct gittree_sizes *sizes,
			  const struct repo_oid *commit);

/*
 * Check `u` against cfg's [verify] rules and the refs/environments/
 * guard. With a hooks.ini (cfg->present), the pushed commit's tree may
 * hold at most max_entries entries ("tree too large: more than N
 * entries"), and with forbid_paths or max_file_size so may what each
 * new commit adds or changes. Fills *out; returns 0 (accepted or
 * rejected) or a negative error when the decision could not be made:
 * ERR_TIMEOUT once o->deadline has passed.
 *
 * The walk of the new commits does not walk a changed directory again
 * when the same tree, against the same parents' trees, was walked before
 * in this update and no rule can tell the two apart: max_file_size and
 * the counts never can; forbid_paths only from policy_glob_depth() on.
 * The time is then that of the distinct trees, not of the paths.
 */
int policy_check_update(struct verdict *out, const struct policy_opts *o,
			const struct push_update *u);

/*
 * From which depth on a forbid_paths glob says nothing about a path that
 * its base name does not say: for a directory with that many components
 * in its path (or more), matching the glob against the full paths below
 * it gives the same answers wherever the directory is. 0 for "*" and a
 * "*" followed by plain characters ("*.pem": the end of the base name);
 * for a glob without '*', the most components a path it matches can
 * have (".env": 1, "conf/id_rsa": 2); POLICY_ANY_DEPTH for any other
 * "*" ("*secret*", or "conf/" then "*": the whole path counts, at any
 * depth).
 */
#define POLICY_ANY_DEPTH ((size_t)-1)
size_t policy_glob_depth(const char *glob);

/* True if the update's new tip must be built and tested. */
bool policy_needs_test(const struct config *cfg, const struct push_update *u);

/* May `user` approve deploys to `env`? An empty `approvers` means anyone. */
bool policy_may_approve(const struct config_env *env, const char *user);

/*
 * `requires`: was `commit`, or a commit with the identical tree, deployed
 * successfully (history result ok) to every environment that
 * env->requires names? *out is set; the names missing are appended to
 * `missing`.
 */
int policy_requires_met(bool *out, struct strvec *missing,
			const struct config_env *env, struct repo *repo,
			struct state *st, const struct repo_oid *commit);

/* What the deploy gate looks at. */
struct policy_deploy {
	const struct config_env *env;
	struct repo *repo;
	struct state *st;
	const struct repo_oid *commit;
	const char *user;	/* who deploys (pusher, CLI user), or NULL */
};

/*
 * The deploy gate, one wording wherever it refuses: a `manual`
 * environment is deployed only by its approvers, and a commit only once
 * it (or a commit with the same tree) is live on every environment of
 * `requires`. Fills *out (with a hint saying what to do); returns 0 or
 * a negative error.
 */
int policy_check_deploy(struct verdict *out, const struct policy_deploy *d);

/*
 * The verdict of the deploy gate from what was found, without I/O:
 * `approver` (may the user deploy here?) and the environments of
 * `requires` the commit is `missing` from (NULL: none). `hex` is the
 * commit (full id).
 */
void policy_deploy_verdict(struct verdict *out, const struct config_env *env,
			   const char *user, bool approver,
			   const struct strvec *missing, const char *hex);

/* Free the reason, details and hints; the verdict is left empty. */
void verdict_release(struct verdict *v);

#endif
