#ifndef POLICY_H
#define POLICY_H

#include <stdbool.h>

#include "config.h"
#include "push.h"
#include "repo.h"
#include "state.h"
#include "strvec.h"

/*
 * The [verify] rules applied to one ref update. A violation is a verdict,
 * not an error: policy_check_update() returns 0 with verdict->rejected
 * set. An error (the repository could not be read) is a negative code.
 * Never prints.
 */

/* Offending commits, blobs or paths listed per rule in a verdict. */
#define POLICY_MAX_DETAILS 10

struct verdict {
	bool rejected;
	char *reason;		/* one line: why the update is rejected */
	struct strvec details;	/* up to POLICY_MAX_DETAILS lines */
	size_t nr_new_commits;	/* new commits checked */
	size_t nr_paths;	/* changed paths checked */
};

#define VERDICT_INIT { false, NULL, STRVEC_INIT, 0, 0 }

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
 * successfully (history result "ok") to every environment that
 * env->requires names? *out is set; the names missing are appended to
 * `missing`.
 */
int policy_requires_met(bool *out, struct strvec *missing,
			const struct config_env *env, struct repo *repo,
			struct state *st, const struct repo_oid *commit);

/*
 * The delivery gates pre-receive applies to one update on top of the
 * [verify] rules: `-o deploy` to a manual environment's branch only from
 * an approver, and the new tip of an `auto` environment's branch (or of a
 * manual one pushed with `-o deploy`) must meet its `requires`. Fills
 * *out like policy_check_update().
 */
int policy_check_gates(struct verdict *out, const struct config *cfg,
		       struct repo *repo, struct state *st,
		       const struct push *push, const struct push_update *u);

/* Free the reason and details; the verdict is left empty. */
void verdict_release(struct verdict *v);

#endif
