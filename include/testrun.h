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
 * the pusher), record a pass in the cache, and remove the workspace.
 */

enum testrun_result {
	TESTRUN_PASSED = 0,	/* ran and passed */
	TESTRUN_CACHED,		/* the same tree passed the same commands */
	TESTRUN_SKIPPED,	/* no build or test configured */
	TESTRUN_FAILED,		/* test exited non-zero */
	TESTRUN_BUILD_FAILED,	/* build exited non-zero (test not run) */
	TESTRUN_TIMEOUT		/* test_timeout expired; group killed */
};

struct testrun_opts {
	const struct config *cfg;
	struct repo *repo;
	struct state *st;
	const struct repo_oid *commit;
	const char *ref;	/* for PUSHGATE_REF and messages */
	const char *env;	/* environment name or NULL */
	const char *user;	/* pusher or NULL */
	bool keep_artifact;	/* keep the built checkout for the deploy */
};

#define TESTRUN_OPTS_INIT { NULL, NULL, NULL, NULL, NULL, NULL, NULL, false }

/*
 * Returns 0 with *out set, or a negative error when the tip could not be
 * tested (export failed, command could not start).
 */
int testrun_run(enum testrun_result *out, const struct testrun_opts *opts);

/*
 * A deploy-time build: a fresh checkout of the commit with `build` run
 * in it under test_timeout (output streamed), when no build was kept for
 * the deploy. *dir_out is the checkout (the caller removes it). An error
 * says whether the build failed or timed out.
 */
int testrun_build(char **dir_out, const struct testrun_opts *o);

#endif
