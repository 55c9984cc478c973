#ifndef ARTIFACT_H
#define ARTIFACT_H

#include <stdbool.h>

#include "config.h"
#include "repo.h"
#include "state.h"

/*
 * What a deploy ships: the release's entries, from the commit's tree or,
 * with `build`, from the built checkout. The built checkout pre-receive
 * kept for the commit is claimed (renamed into this deploy's own
 * directory, so that two deploys never share it); without one, the
 * deploy builds again. artifact_write() walks the entries into a sink:
 * the `artifact` directory, the `config` overlay over it, and REVISION.
 */

struct sink;

struct artifact {
	struct repo *repo;
	struct repo_oid commit;
	char hex[REPO_OID_HEXSZ + 1];
	const char *subdir;	/* env->artifact, "." for all */
	const char *config_dir;	/* env->config_dir, or NULL */
	char *checkout;		/* the built checkout, or NULL: the tree */
};

struct artifact_opts {
	const struct config *cfg;
	const struct config_env *env;
	struct repo *repo;
	struct state *st;
	const struct repo_oid *commit;
	const char *user;	/* for PUSHGATE_USER of a build */
};

/*
 * Choose the source of `commit`'s release for opts->env, claiming or
 * building the checkout when `build` is set (progress is reported).
 * Errors say why (the build failed, timed out, could not start).
 */
int artifact_open(struct artifact *a, const struct artifact_opts *opts);

/*
 * Write every entry of the release into `sink`: the artifact, then the
 * `config` overlay (a later entry replaces an earlier one), then
 * REVISION holding the full commit id. An entry named REVISION or FAILED
 * at the release's top is refused (pushgate writes those itself).
 * Usable as a target_produce_fn with `a` as payload.
 */
int artifact_write(struct sink *sink, void *a);

/* Remove the claimed or built checkout; `a` is left empty. */
void artifact_release(struct artifact *a);

/*
 * Drop the build pre-receive kept for commit `hex` (a rejected push, or
 * one no deploy claimed). Nothing if there is none.
 */
void artifact_drop_kept(struct state *st, const char *hex);

#endif
