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

/*
 * Check `u` against cfg's [verify] rules and the refs/environments/
 * guard. Fills *out; returns 0 (accepted or rejected) or a negative error
 * when the decision could not be made.
 */
int policy_check_update(struct verdict *out, const struct config *cfg,
			struct repo *repo, const struct push_update *u);

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
