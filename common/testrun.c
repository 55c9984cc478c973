#include "testrun.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "digest.h"
#include "hookenv.h"
#include "errors.h"
#include "fsutil.h"
#include "proc.h"
#include "report.h"
#include "strvec.h"
#include "timeutil.h"
#include "workspace.h"

static void stream_output(const char *data, size_t len, void *payload)
{
	(void)payload;
	report_stream(data, len);
}

/* The cache key: the tree and the exact commands that passed on it. */
static int cache_key(char out[REPO_OID_HEXSZ + 1],
		     const struct testrun_opts *o, const struct repo_oid *tree)
{
	struct buf b = BUF_INIT;
	char hex[REPO_OID_HEXSZ + 1];
	int r;

	repo_oid_to_hex(hex, tree);
	buf_addf(&b, "pushgate-test-v1\n%s\n", hex);
	buf_addstr(&b, o->cfg->build ? o->cfg->build : "");
	buf_addch(&b, '\0');
	if ((r = buf_addstr(&b, o->cfg->test ? o->cfg->test : "")) == 0)
		r = repo_hash_hex(out, b.ptr, b.len);
	buf_release(&b);
	return r;
}

static void command_env(struct strvec *env, const struct testrun_opts *o,
			const char *dir)
{
	struct strvec extra = STRVEC_INIT;
	struct hookenv he = HOOKENV_INIT;
	char hex[REPO_OID_HEXSZ + 1];

	repo_oid_to_hex(hex, o->commit);
	he.env = o->env;
	he.commit = hex;
	he.ref = o->ref;
	he.release = dir;
	he.user = o->user;
	hookenv_strvec(&extra, &he);
	/* git run by the commands must not find the server's repository */
	strvec_pushf(&extra, "GIT_CEILING_DIRECTORIES=%s", o->st->dir);
	proc_safe_env(env, (const char *const *)extra.v);
	strvec_clear(&extra);
}

/*
 * Run one command in the checkout; *failed set (with the reason shown)
 * when it exits non-zero or times out. `deadline` is shared by build and
 * test.
 */
static int run_step(enum testrun_result *out, const char *what,
		    const char *cmd, const char *dir,
		    const struct strvec *env, double deadline)
{
	const char *argv[] = { "/bin/sh", "-c", cmd, NULL };
	struct proc_opts po = PROC_OPTS_INIT;
	struct proc_result res = PROC_RESULT_INIT;
	double left = deadline - timeutil_now();
	int r;

	*out = TESTRUN_PASSED;
	if (left < 1) {
		*out = TESTRUN_TIMEOUT;
		return 0;
	}
	report_info("running %s: %s", what, report_str(cmd));
	po.argv = argv;
	po.env = (const char *const *)env->v;
	po.cwd = dir;
	po.timeout = (unsigned)(left + 0.999);
	po.on_output = stream_output;
	r = proc_run(&res, &po);
	report_stream_flush();
	if (r < 0)
		return r;
	if (res.timed_out)
		*out = TESTRUN_TIMEOUT;
	else if (res.status != 0) {
		*out = TESTRUN_FAILED;
		report_info("%s failed (exit %d)", what, res.status);
	}
	proc_result_release(&res);
	return 0;
}

int testrun_artifact_key(char out[REPO_OID_HEXSZ + 1],
			 const struct config *cfg, struct repo *repo,
			 const struct repo_oid *commit)
{
	struct buf b = BUF_INIT;
	char hex[REPO_OID_HEXSZ + 1];
	struct repo_oid tree;
	int r;

	if ((r = repo_commit_tree(repo, &tree, commit)) < 0)
		return r;
	repo_oid_to_hex(hex, &tree);
	buf_addf(&b, "pushgate-artifact-v1\n%s\n%s", hex,
		 cfg->build ? cfg->build : "");
	if ((r = buf_error(&b)) == 0)
		digest_blob(out, b.ptr, b.len);
	buf_release(&b);
	return r;
}

/*
 * Keep the built checkout in the artifact store, for every environment
 * that deploys this commit. A failure only costs a build at deploy time.
 */
static void keep_checkout(struct workspace *ws, const struct testrun_opts *o)
{
	char key[REPO_OID_HEXSZ + 1];

	if (testrun_artifact_key(key, o->cfg, o->repo, o->commit) < 0 ||
	    state_artifact_store(o->st, key, ws->dir) < 0) {
		report_warn("cannot keep the build for the deploys: %s",
			    report_str(error_last()));
		return;
	}
	free(ws->dir);
	ws->dir = NULL;
}

int testrun_cached(bool *out, const struct testrun_opts *o)
{
	char key[REPO_OID_HEXSZ + 1];
	struct repo_oid tree;
	int r;

	*out = false;
	if ((r = repo_commit_tree(o->repo, &tree, o->commit)) < 0 ||
	    (r = cache_key(key, o, &tree)) < 0)
		return r;
	*out = state_cache_has(o->st, key);
	return 0;
}

int testrun_run(enum testrun_result *out, const struct testrun_opts *o)
{
	const struct config *cfg = o->cfg;
	struct workspace ws = WORKSPACE_INIT;
	struct strvec env = STRVEC_INIT;
	char key[REPO_OID_HEXSZ + 1];
	struct repo_oid tree;
	double start = timeutil_now(), deadline;
	int r;

	*out = TESTRUN_SKIPPED;
	if (!cfg->build && !cfg->test)
		return 0;
	if ((r = repo_commit_tree(o->repo, &tree, o->commit)) < 0 ||
	    (r = cache_key(key, o, &tree)) < 0)
		return r;
	if (state_cache_has(o->st, key)) {
		*out = TESTRUN_CACHED;
		return 0;
	}
	/* checkouts of killed runs go: no run lives past its deadline */
	state_tmp_sweep(o->st, (int64_t)o->cfg->test_timeout + 3600);
	if ((r = workspace_create(&ws, o->st, o->repo, o->commit,
				  cfg->max_entries)) < 0)
		return r;
	command_env(&env, o, ws.dir);
	deadline = start + cfg->test_timeout;
	if (o->deadline && o->deadline < deadline)
		deadline = o->deadline;
	if (cfg->build &&
	    ((r = run_step(out, "build", cfg->build, ws.dir, &env,
			   deadline)) < 0 || *out != TESTRUN_PASSED)) {
		if (*out == TESTRUN_FAILED)
			*out = TESTRUN_BUILD_FAILED;
		goto out;
	}
	if (cfg->test &&
	    ((r = run_step(out, "test", cfg->test, ws.dir, &env,
			   deadline)) < 0 || *out != TESTRUN_PASSED))
		goto out;
	*out = TESTRUN_PASSED;
	if (cfg->build)
		keep_checkout(&ws, o);
	/* the verdict stands without the cache; the next push just re-tests */
	if (state_cache_add(o->st, key) < 0)
		report_warn("cannot record the test result: %s", error_last());
out:
	strvec_clear(&env);
	workspace_remove(&ws);
	return r;
}

int testrun_build(const struct testrun_opts *o)
{
	const struct config *cfg = o->cfg;
	struct workspace ws = WORKSPACE_INIT;
	struct strvec env = STRVEC_INIT;
	struct error_saved saved;
	enum testrun_result res;
	char hex[REPO_OID_HEXSZ + 1], key[REPO_OID_HEXSZ + 1];
	int r;

	if (!cfg->build)
		BUG("testrun_build without a build command");
	repo_oid_to_hex(hex, o->commit);
	if ((r = testrun_artifact_key(key, cfg, o->repo, o->commit)) < 0)
		return r;
	report_info("building %.12s for '%s': no kept artifact",
		    hex, o->env ? o->env : "");
	/* checkouts of killed runs go: no run lives past its deadline */
	state_tmp_sweep(o->st, (int64_t)o->cfg->test_timeout + 3600);
	if ((r = workspace_create(&ws, o->st, o->repo, o->commit,
				  cfg->max_entries)) < 0)
		return r;
	command_env(&env, o, ws.dir);
	r = run_step(&res, "build", cfg->build, ws.dir, &env,
		     timeutil_now() + cfg->test_timeout);
	if (!r && res == TESTRUN_TIMEOUT)
		r = error_set(ERR_TIMEOUT, "build timed out after %u s"
			      " (test_timeout)", cfg->test_timeout);
	else if (!r && res != TESTRUN_PASSED)
		r = error_set(ERR_GENERIC, "build failed");
	strvec_clear(&env);
	if (!r && (r = state_artifact_store(o->st, key, ws.dir)) == 0) {
		free(ws.dir);
		ws.dir = NULL;
	}
	error_save(&saved);
	workspace_remove(&ws);
	return error_restore(&saved, r);
}
