#include "testrun.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "gate.h"
#include "policy.h"
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
	char hex[REPO_OID_HEXSZ + 1];

	repo_oid_to_hex(hex, o->commit);
	strvec_pushf(&extra, "PUSHGATE_ENV=%s", o->env ? o->env : "");
	strvec_pushf(&extra, "PUSHGATE_COMMIT=%s", hex);
	strvec_pushf(&extra, "PUSHGATE_REF=%s", o->ref ? o->ref : "");
	strvec_pushf(&extra, "PUSHGATE_RELEASE=%s", dir);
	strvec_push(&extra, "PUSHGATE_PREVIOUS=");
	strvec_pushf(&extra, "PUSHGATE_USER=%s", o->user ? o->user : "");
	/* git run by the tests must not find the server's repository */
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

/*
 * Move the built checkout where post-receive's deploy will find it. A
 * failure only costs a second build at deploy time.
 */
static void keep_checkout(struct workspace *ws, const struct testrun_opts *o)
{
	struct buf path = BUF_INIT;
	char hex[REPO_OID_HEXSZ + 1];

	repo_oid_to_hex(hex, o->commit);
	if (state_artifact_path(o->st, &path, hex) < 0 ||
	    fsutil_remove_tree(path.ptr) < 0 ||
	    rename(ws->dir, path.ptr) < 0) {
		report_warn("cannot keep the build for the deploy: %s",
			    report_str(error_last()));
	} else {
		free(ws->dir);
		ws->dir = NULL;
	}
	buf_release(&path);
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
	if ((r = workspace_create(&ws, o->st, o->repo, o->commit)) < 0)
		return r;
	command_env(&env, o, ws.dir);
	deadline = start + cfg->test_timeout;
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
	if (o->keep_artifact && cfg->build)
		keep_checkout(&ws, o);
	/* the verdict stands without the cache; the next push just re-tests */
	if (state_cache_add(o->st, key) < 0)
		report_warn("cannot record the test result: %s", error_last());
out:
	strvec_clear(&env);
	workspace_remove(&ws);
	return r;
}

static void warn_options(const struct gate *g)
{
	size_t i;

	for (i = 0; i < g->push.options.nr; i++)
		if (strcmp(g->push.options.v[i], "deploy"))
			report_warn("ignoring unknown push option '%s'",
				    report_str(g->push.options.v[i]));
}

static void show_rejection(const struct push_update *u,
			   const struct verdict *v)
{
	size_t i;

	report_info("REJECTED %s: %s", report_str(u->ref),
		    report_escape(v->reason, strlen(v->reason)));
	for (i = 0; i < v->details.nr; i++)
		report_info("  %s", report_str(v->details.v[i]));
}

/* The [verify] rules for every update; true if all passed. */
static bool check_rules(struct gate *g, bool *failed)
{
	bool all_ok = true;
	size_t i;

	for (i = 0; i < g->push.nr; i++) {
		const struct push_update *u = &g->push.updates[i];
		struct verdict v = VERDICT_INIT;

		failed[i] = false;
		if (policy_check_update(&v, &g->cfg, g->repo, u) < 0 ||
		    (!v.rejected && policy_check_gates(&v, &g->cfg, g->repo,
						       &g->st, &g->push,
						       u) < 0)) {
			report_info("REJECTED %s: cannot check: %s",
				    report_str(u->ref),
				    report_str(error_last()));
			failed[i] = true;
		} else if (v.rejected) {
			show_rejection(u, &v);
			failed[i] = true;
		} else if (v.nr_new_commits) {
			report_info("%s: %zu new commit%s checked",
				    report_str(u->ref), v.nr_new_commits,
				    v.nr_new_commits == 1 ? "" : "s");
		}
		if (failed[i])
			all_ok = false;
		verdict_release(&v);
	}
	return all_ok;
}

static const char *env_of(const struct gate *g, const struct push_update *u)
{
	const struct config_env *env;
	const char *branch = push_branch_name(u->ref);

	env = branch ? config_env_for_branch(&g->cfg, branch) : NULL;
	return env ? env->name : NULL;
}

/* Will post-receive deploy this update's tip right away? */
static bool env_deploys_now(const struct gate *g, const struct push_update *u)
{
	const char *branch = push_branch_name(u->ref);
	const struct config_env *env;

	env = branch ? config_env_for_branch(&g->cfg, branch) : NULL;
	return env && (env->mode == CONFIG_MODE_AUTO ||
		       push_has_option(&g->push, "deploy"));
}

/* Build and test one tip; true if it passed. */
static bool test_tip(struct gate *g, const struct push_update *u)
{
	struct testrun_opts o = TESTRUN_OPTS_INIT;
	enum testrun_result res;
	struct repo_oid id;
	double start = timeutil_now();

	if (repo_oid_from_hex(&id, u->new_hex) < 0)
		goto fail;
	o.cfg = &g->cfg;
	o.repo = g->repo;
	o.st = &g->st;
	o.commit = &id;
	o.ref = u->ref;
	o.env = env_of(g, u);
	o.user = g->push.user;
	o.keep_artifact = env_deploys_now(g, u);
	report_info("testing %s at %.12s", report_str(u->ref), u->new_hex);
	if (testrun_run(&res, &o) < 0)
		goto fail;
	switch (res) {
	case TESTRUN_PASSED:
		report_info("tests passed for %s in %.1f s",
			    report_str(u->ref), timeutil_now() - start);
		return true;
	case TESTRUN_CACHED:
		report_info("tests passed before on the same tree (cached)");
		return true;
	case TESTRUN_SKIPPED:
		return true;
	case TESTRUN_FAILED:
		report_info("REJECTED %s: tests failed", report_str(u->ref));
		return false;
	case TESTRUN_BUILD_FAILED:
		report_info("REJECTED %s: build failed", report_str(u->ref));
		return false;
	case TESTRUN_TIMEOUT:
		report_info("REJECTED %s: tests timed out after %u s (test_timeout)",
			    report_str(u->ref), g->cfg.test_timeout);
		return false;
	}
fail:
	report_info("REJECTED %s: cannot test: %s", report_str(u->ref),
		    report_str(error_last()));
	return false;
}

bool testrun_verify_push(struct gate *g)
{
	bool *failed = xcalloc(g->push.nr ? g->push.nr : 1, sizeof(*failed));
	size_t i, nr_failed = 0;
	bool ok;

	warn_options(g);
	ok = check_rules(g, failed);
	for (i = 0; ok && i < g->push.nr; i++) {
		const struct push_update *u = &g->push.updates[i];

		if (policy_needs_test(&g->cfg, u) && !test_tip(g, u)) {
			failed[i] = true;
			ok = false;
		}
	}
	for (i = 0; i < g->push.nr; i++) {
		if (failed[i])
			nr_failed++;
		else if (ok)
			report_info("ok %s", report_str(g->push.updates[i].ref));
	}
	if (!ok && nr_failed < g->push.nr)
		report_info("%zu of %zu refs rejected: nothing was updated",
			    nr_failed, g->push.nr);
	if (!ok)
		testrun_drop_artifacts(g);
	free(failed);
	return ok;
}

void testrun_drop_artifacts(struct gate *g)
{
	size_t i;

	for (i = 0; i < g->push.nr; i++) {
		struct buf path = BUF_INIT;

		if (!g->push.updates[i].is_delete &&
		    state_artifact_path(&g->st, &path,
					g->push.updates[i].new_hex) == 0)
			fsutil_remove_tree(path.ptr);
		error_clear();
		buf_release(&path);
	}
}

