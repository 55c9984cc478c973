#ifndef TESTRUN_H
#define TESTRUN_H

#include <stdbool.h>

#include "config.h"
#include "repo.h"
#include "state.h"

/*
 * Build and test one tip: look the tree up in the test-result cache; if
 * it did not pass before, export it to a fresh workspace, run `build`
 * then `test` there with /bin/sh -c under test_timeout (output streamed to
 * the pusher), record a pass in the cache, keep the build in the
 * artifact store (SPEC §10) and remove the workspace.
 */

enum testrun_result {
	TESTRUN_PASSED = 0,	/* ran and passed */
	TESTRUN_CACHED,		/* the same tree passed the same commands */
	TESTRUN_SKIPPED,	/* no build or test configured */
	TESTRUN_FAILED,		/* test exited non-zero */
	TESTRUN_BUILD_FAILED,	/* build exited non-zero (test not run) */
	TESTRUN_TIMEOUT		/* test_timeout or opts->deadline: killed */
};

struct testrun_opts {
	const struct config *cfg;
	struct repo *repo;
	struct state *st;
	const struct repo_oid *commit;
	const char *ref;	/* for PUSHGATE_REF and messages */
	const char *env;	/* environment name or NULL */
	const char *user;	/* pusher or NULL */
	/*
	 * timeutil_now() past which build and test are stopped as by
	 * test_timeout, when that comes first (what is left of the
	 * push's push_timeout); 0: test_timeout alone
	 */
	double deadline;
};

#define TESTRUN_OPTS_INIT { NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0 }

/*
 * Returns 0 with *out set, or a negative error when the tip could not be
 * tested (export failed, command could not start).
 */
int testrun_run(enum testrun_result *out, const struct testrun_opts *opts);

/* Did this tree pass the current build and test before (cached)? */
int testrun_cached(bool *out, const struct testrun_opts *opts);

/*
 * The key of the artifact built for `commit`: a digest of its tree and
 * the `build` command (two commits with one tree share it).
 */
int testrun_artifact_key(char out[REPO_OID_HEXSZ + 1],
			 const struct config *cfg, struct repo *repo,
			 const struct repo_oid *commit);

/*
 * A deploy-time build, when no artifact was kept for the commit: a fresh
 * checkout with `build` run in it under test_timeout (output streamed),
 * moved into the artifact store under testrun_artifact_key(). An error
 * says whether the build failed or timed out.
 */
int testrun_build(const struct testrun_opts *o);

#endif
