#ifndef ARTIFACT_H
#define ARTIFACT_H

#include <stdbool.h>

#include "config.h"
#include "manifest.h"
#include "repo.h"
#include "state.h"

/*
 * What a deploy ships: the release's entries, from the commit's tree or,
 * with `build`, from the artifact built for it (SPEC §10): kept in the
 * store under the digest of the tree and the `build` command, so that
 * every environment that deploys the commit gets the same bytes, built
 * once. A deploy claims its artifact (a shared lock, artifact_claim())
 * before it waits for its environment's lock, and holds it until it is
 * done reading; without one it builds, and says so. artifact_write()
 * walks the entries into a sink: the `artifact` directory, the `config`
 * overlay over it, and REVISION; artifact_manifest() describes them.
 */

/*
 * Seconds after it was kept or last used during which no artifact is
 * dropped, whatever artifacts_keep says: pre-receive's build waits
 * there until post-receive claims it for its deploy.
 */
#define ARTIFACT_FRESH (60 * 60)

struct sink;

struct artifact {
	struct repo *repo;
	struct repo_oid commit;
	char hex[REPO_OID_HEXSZ + 1];
	const char *subdir;	/* env->artifact, "." for all */
	const char *config_dir;	/* env->config_dir, or NULL */
	char key[REPO_OID_HEXSZ + 1];	/* "" for the tree itself */
	char *dir;		/* the kept artifact, or NULL: the tree */
	int hold;		/* its shared lock, or -1 */
	uint64_t max_entries;	/* [verify] max_entries */
	bool claimed;		/* artifact_claim() was called */
	bool listed;		/* artifact_manifest() listed the tree */
};

struct artifact_opts {
	const struct config *cfg;
	const struct config_env *env;
	struct repo *repo;
	struct state *st;
	const struct repo_oid *commit;
	const char *user;	/* for PUSHGATE_USER of a build */
	/*
	 * A dry run: a kept artifact is held while read but not marked
	 * used, and none is built: ERR_NOTFOUND when there is none.
	 */
	bool dry_run;
};

/*
 * With `build`: hold the artifact `commit` deploys from, kept or not
 * (a build will store it under the same claim), so that no prune drops
 * it from now until artifact_release(); without `build`, only set `a`
 * up. Nothing is built. A deploy calls it before it waits for its
 * environment's lock; a claim that fails is tried again by
 * artifact_open(). On error `a` is left released.
 */
int artifact_claim(struct artifact *a, const struct artifact_opts *opts);

/*
 * Choose the source of `commit`'s release for opts->env: the tree, or
 * with `build` the kept artifact (held: claimed first if it was not),
 * built now if there is none. Errors say why (the build failed, timed
 * out, could not start).
 */
int artifact_open(struct artifact *a, const struct artifact_opts *opts);

/*
 * Write every entry of the release into `sink`: the artifact, then the
 * `config` overlay (a later entry replaces an earlier one), then
 * REVISION holding the full commit id. An entry named REVISION or FAILED
 * at the release's top is refused (pushgate writes those itself). A sink
 * that does not want an entry (sink_wants()) does not get it, and its
 * content is not read. Usable as a target_produce_fn with `a` as
 * payload.
 */
int artifact_write(struct sink *sink, void *a);

/*
 * What artifact_write() writes, REVISION aside: every entry with its
 * type, bits and content id (see manifest.h), without sending anything.
 * A built artifact's files are read to hash them; a tree's are not.
 */
int artifact_manifest(struct manifest **out, struct artifact *a);

/* Let the artifact go (it stays in the store); `a` is left empty. */
void artifact_release(struct artifact *a);

/*
 * Bound the store to [core] artifacts_keep: the least recently used
 * artifacts go first, never one in `protect` (the keys of the releases
 * live or previous anywhere), one a deploy claimed or reads, nor one
 * kept or used less than ARTIFACT_FRESH seconds ago. Lock files of
 * artifacts that are gone go too.
 */
void artifact_gc(struct state *st, const struct config *cfg,
		 const struct strvec *protect);

/*
 * artifact_gc() keeping every artifact that a release live or previous
 * in any environment came from (read from the history and the releases'
 * manifests).
 */
void artifact_gc_protected(struct state *st, const struct config *cfg);

#endif
