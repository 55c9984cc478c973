#ifndef GITOPS_H
#define GITOPS_H

#include "config.h"
#include "state.h"
#include "target.h"

/*
 * The GitOps target of SPEC §12: a release is a commit on `gitops_branch`
 * of `gitops_remote` whose `gitops_path` holds the artifact (with
 * `config`), and nothing else of that repository changes. prepare
 * fetches the branch and builds the commit (or finds the directory
 * already holds it: "already live"); activate pushes it, never forced,
 * fetching and building again on the new tip when someone pushed first
 * (3 tries); revert pushes a commit restoring the directory as it was.
 * A rollback is a new commit restoring a release's directory. What was
 * pushed for each release is remembered in the cache repository,
 * $GIT_DIR/pushgate/gitops/ENV.git, so that `current` tells drift: the
 * remote directory is not what pushgate pushed last.
 */

/* Open the target of `env` (a GitOps environment). */
int gitops_target_open(struct target **out, const struct config_env *env,
		       struct state *st);

#endif
