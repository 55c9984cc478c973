#include "receive.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "artifact.h"
#include "buf.h"
#include "deploy.h"
#include "errors.h"
#include "gittree.h"
#include "history.h"
#include "hold.h"
#include "policy.h"
#include "report.h"
#include "testrun.h"
#include "timeutil.h"

/* The push option that approves a manual environment's deploy. */
#define OPTION_DEPLOY "deploy"

void receive_plan(struct receive_plan *out, const struct config *cfg,
		  const struct push *push, const struct push_update *u)
{
	const char *branch = push_branch_name(u->ref);
	const char *approve = push_deploy_env(u->ref);

	out->approval = approve != NULL;
	if (approve) {
		/* refs/deploy/ENV: deploy the commit now, gates permitting */
		out->env = u->is_delete ? NULL : config_env_find(cfg, approve);
		out->when = out->env ? RECEIVE_NOW : RECEIVE_NONE;
		return;
	}
	out->env = branch && !u->is_delete ?
		   config_env_for_branch(cfg, branch) : NULL;
	if (!out->env)
		out->when = RECEIVE_NONE;
	else if (out->env->mode == CONFIG_MODE_AUTO ||
		 push_has_option(push, OPTION_DEPLOY))
		out->when = RECEIVE_NOW;
	else
		out->when = RECEIVE_WAIT;
}

static void warn_options(const struct gate *g)
{
	size_t i;

	for (i = 0; i < g->push.options.nr; i++)
		if (strcmp(g->push.options.v[i], OPTION_DEPLOY))
			report_warn("ignoring unknown push option '%s'",
				    report_str(g->push.options.v[i]));
}

static void show_rejection(const struct push_update *u,
			   const struct verdict *v)
{
	size_t i;

	report_info("REJECTED %s: %s", report_str(u->ref),
		    report_line(v->reason));
	for (i = 0; i < v->details.nr; i++)
		report_info("  %s", report_str(v->details.v[i]));
	for (i = 0; i < v->hints.nr; i++)
		report_info("  fix: %s", report_line(v->hints.v[i]));
}

/* The deploy gate for an update that deploys on this push. */
static int check_gate(struct verdict *v, struct gate *g,
		      const struct push_update *u)
{
	struct receive_plan plan;
	struct policy_deploy pd;
	struct repo_oid id, tip;
	int r;

	receive_plan(&plan, &g->cfg, &g->push, u);
	if (plan.when != RECEIVE_NOW)
		return 0;
	if ((r = repo_oid_from_hex(&id, u->new_hex)) < 0 ||
	    (r = repo_peel_commit(g->repo, &tip, &id)) < 0)
		return r;
	memset(&pd, 0, sizeof(pd));
	pd.env = plan.env;
	pd.repo = g->repo;
	pd.st = &g->st;
	pd.commit = &tip;
	pd.user = g->push.user;
	return policy_check_deploy(v, &pd);
}

/* What to do when the push's budget ran out. */
static void budget_hint(void)
{
	report_info("  fix: push fewer refs or commits at once, or ask to"
		    " raise [verify] push_timeout on the server");
}

/*
 * The [verify] rules and the gate for every update, all by `deadline`
 * (push_timeout); true if all passed.
 */
static bool check_rules(struct gate *g, bool *failed, double deadline)
{
	struct policy_opts po = POLICY_OPTS_INIT;
	bool all_ok = true;
	size_t i;
	int r;

	po.cfg = &g->cfg;
	po.repo = g->repo;
	po.deadline = deadline;
	po.st = &g->st;
	/* a tree shared by the updates is counted once */
	po.sizes = gittree_sizes_new(g->cfg.max_entries);
	for (i = 0; i < g->push.nr; i++) {
		const struct push_update *u = &g->push.updates[i];
		struct verdict v = VERDICT_INIT;

		failed[i] = false;
		if (timeutil_now() > deadline)
			r = error_set(ERR_TIMEOUT, "push_timeout (%u s) ran "
				      "out before it was checked",
				      g->cfg.push_timeout);
		else if ((r = policy_check_update(&v, &po, u)) == 0 &&
			 !v.rejected)
			r = check_gate(&v, g, u);
		if (r == ERR_TIMEOUT) {
			report_info("REJECTED %s: %s", report_str(u->ref),
				    report_str(error_last()));
			budget_hint();
			failed[i] = true;
		} else if (r < 0) {
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
		error_clear();
		verdict_release(&v);
	}
	gittree_sizes_free(po.sizes);
	return all_ok;
}

/*
 * Build and test one tip, stopped by test_timeout or at `deadline` (what
 * is left of push_timeout), whichever comes first; true if it passed.
 */
static bool test_tip(struct gate *g, const struct push_update *u,
		     double deadline)
{
	struct testrun_opts o = TESTRUN_OPTS_INIT;
	struct receive_plan plan;
	enum testrun_result res;
	struct repo_oid id;
	struct buf ref = BUF_INIT;
	double start = timeutil_now();
	bool passed = false;

	if (repo_oid_from_hex(&id, u->new_hex) < 0)
		goto fail;
	receive_plan(&plan, &g->cfg, &g->push, u);
	/* an approval is tested as the environment's branch would be */
	if (plan.approval && plan.env)
		buf_addf(&ref, "refs/heads/%s", plan.env->branch);
	o.cfg = &g->cfg;
	o.repo = g->repo;
	o.st = &g->st;
	o.commit = &id;
	o.ref = ref.len ? ref.ptr : u->ref;
	o.env = plan.env ? plan.env->name : NULL;
	o.user = g->push.user;
	o.deadline = deadline;
	if (deadline - start < 1) {
		report_info("REJECTED %s: not tested: push_timeout (%u s) ran "
			    "out", report_str(u->ref), g->cfg.push_timeout);
		budget_hint();
		goto out;
	}
	report_info("testing %s at %.12s", report_str(u->ref), u->new_hex);
	if (testrun_run(&res, &o) < 0)
		goto fail;
	switch (res) {
	case TESTRUN_PASSED:
		report_info("tests passed for %s in %.1f s",
			    report_str(u->ref), timeutil_now() - start);
		passed = true;
		goto out;
	case TESTRUN_CACHED:
		report_info("tests passed before on the same tree (cached)");
		passed = true;
		goto out;
	case TESTRUN_SKIPPED:
		passed = true;
		goto out;
	case TESTRUN_FAILED:
		report_info("REJECTED %s: tests failed", report_str(u->ref));
		goto out;
	case TESTRUN_BUILD_FAILED:
		report_info("REJECTED %s: build failed", report_str(u->ref));
		goto out;
	case TESTRUN_TIMEOUT:
		if (deadline < start + g->cfg.test_timeout) {
			report_info("REJECTED %s: tests stopped: push_timeout"
				    " (%u s) ran out", report_str(u->ref),
				    g->cfg.push_timeout);
			budget_hint();
			goto out;
		}
		report_info("REJECTED %s: tests timed out after %u s (test_timeout)",
			    report_str(u->ref), g->cfg.test_timeout);
		goto out;
	}
fail:
	report_info("REJECTED %s: cannot test: %s", report_str(u->ref),
		    report_str(error_last()));
out:
	buf_release(&ref);
	return passed;
}

bool receive_verify(struct gate *g)
{
	bool *failed = xcalloc(g->push.nr ? g->push.nr : 1, sizeof(*failed));
	/* one budget for the whole push, however many refs it updates */
	double deadline = timeutil_now() + g->cfg.push_timeout;
	size_t i, nr_failed = 0;
	bool ok;

	warn_options(g);
	ok = check_rules(g, failed, deadline);
	for (i = 0; ok && i < g->push.nr; i++) {
		const struct push_update *u = &g->push.updates[i];

		if (policy_needs_test(&g->cfg, u) &&
		    !test_tip(g, u, deadline)) {
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
	free(failed);
	/* builds were kept: bound the store (this push's are fresh) */
	artifact_gc_protected(&g->st, &g->cfg);
	return ok;
}

/* A manual environment's candidate: what it waits for. */
static void show_waiting(struct gate *g, const struct config_env *env,
			 const struct push_update *u)
{
	struct strvec missing = STRVEC_INIT;
	struct buf names = BUF_INIT;
	struct repo_oid id;
	bool met = true;
	size_t i;

	if (repo_oid_from_hex(&id, u->new_hex) < 0 ||
	    policy_requires_met(&met, &missing, env, g->repo, &g->st,
				&id) < 0) {
		error_clear();
		met = true;
	}
	if (met) {
		report_info("'%s' waits for approval of %.12s: git push origin %.12s:refs/deploy/%s, or: pushgate deploy %s %.12s",
			    env->name, u->new_hex, u->new_hex, env->name,
			    env->name, u->new_hex);
		goto out;
	}
	for (i = 0; i < missing.nr; i++)
		buf_addf(&names, "%s'%s'", i ? (i + 1 == missing.nr ?
				" and " : ", ") : "", missing.v[i]);
	report_info("'%s' waits for %.12s to be live on %s first: pushgate deploy %s %.12s",
		    env->name, u->new_hex, names.ptr, missing.v[0],
		    u->new_hex);
out:
	buf_release(&names);
	strvec_clear(&missing);
}

/* refs/deploy/ENV never stays: it was a request, now answered. */
static void drop_approval(struct gate *g, const struct push_update *u)
{
	struct repo_oid id;
	bool deleted = false;

	if (repo_oid_from_hex(&id, u->new_hex) < 0 ||
	    repo_delete_ref_at(g->repo, u->ref, &id, &deleted) < 0)
		report_warn("cannot delete %s: %s", report_str(u->ref),
			    report_str(error_last()));
	error_clear();
}

/*
 * Deploy the tip of `env`'s branch if it is not live and nothing holds
 * it now (SPEC §13). With `only_held`, only an environment whose last
 * record is a hold (post-receive, after the push's own deploys). A tip
 * whose last deploy failed is left for a person. Returns 1 if a deploy
 * ran and failed, else 0.
 */
static size_t deploy_pending(struct gate *g, const struct config_env *env,
			     const char *user, bool only_held, bool verbose)
{
	struct deploy_outcome out;
	struct deploy_opts o;
	struct history_last last;
	struct hold_decision hd;
	struct repo_oid tip, live;
	char hex[REPO_OID_HEXSZ + 1];
	struct buf ref = BUF_INIT, why = BUF_INIT;
	size_t failed = 0;

	memset(&out, 0, sizeof(out));
	memset(&last, 0, sizeof(last));
	if (env->mode != CONFIG_MODE_AUTO)
		goto out;
	buf_addf(&ref, "refs/heads/%s", env->branch);
	if (repo_resolve_commit(g->repo, &tip, ref.ptr) < 0) {
		error_clear();
		goto out;	/* no branch yet */
	}
	repo_oid_to_hex(hex, &tip);
	if (repo_env_ref(g->repo, &live, env->name) == 0 &&
	    repo_oid_equal(&live, &tip)) {
		if (verbose)
			report_info("'%s': %.12s is live, nothing pending",
				    env->name, hex);
		goto out;
	}
	error_clear();
	if (history_last(&g->st, env->name, &last) < 0)
		error_clear();
	if (only_held && (!last.any.commit ||
			  last.any.result != HISTORY_HELD))
		goto out;
	if (last.any.commit && !strcmp(last.any.commit, hex) &&
	    last.any.action == HISTORY_DEPLOY &&
	    last.any.result == HISTORY_FAILED) {
		if (verbose)
			report_info("'%s': the deploy of %.12s failed before: "
				    "deploy it by hand (pushgate deploy %s)",
				    env->name, hex, env->name);
		goto out;
	}
	if (hold_decide(&hd, &g->cfg, env, &g->st, (int64_t)time(NULL),
			false) < 0) {
		report_warn("'%s': cannot read the holds: %s", env->name,
			    report_str(error_last()));
		error_clear();
		goto out;
	}
	if (hd.by != HOLD_NONE) {
		if (verbose) {
			hold_describe(&why, &hd);
			report_info("'%s' still %s", env->name,
				    report_line(why.ptr));
		}
		goto out;
	}
	memset(&o, 0, sizeof(o));
	o.cfg = &g->cfg;
	o.env = env;
	o.repo = g->repo;
	o.st = &g->st;
	o.user = user;
	o.commit = tip;
	o.from_push = true;	/* still the tip once the lock is taken */
	o.trigger = "pending";
	if (deploy_run(&out, &o) < 0 || out.result == DEPLOY_FAILED)
		failed = 1;
	deploy_outcome_release(&out);
out:
	history_last_release(&last);
	buf_release(&ref);
	buf_release(&why);
	return failed;
}

size_t receive_pending(struct gate *g, const struct config_env *env,
		       const char *user)
{
	size_t i, failed = 0;

	for (i = 0; i < g->cfg.nr_envs; i++)
		if (!env || env == &g->cfg.envs[i])
			failed += deploy_pending(g, &g->cfg.envs[i], user,
						 false, true);
	return failed;
}

/*
 * Claim the artifact of every deploy this push makes, before the first
 * one starts: the later deploys wait for the earlier ones, and another
 * push's prune must not drop what pre-receive built for them meanwhile.
 * A claim that fails costs nothing: the deploy claims it again.
 */
static struct artifact *claim_all(struct gate *g)
{
	struct artifact *claims = xcalloc(g->push.nr ? g->push.nr : 1,
					  sizeof(*claims));
	size_t i;

	for (i = 0; i < g->push.nr; i++) {
		const struct push_update *u = &g->push.updates[i];
		struct receive_plan plan;
		struct artifact_opts ao;
		struct repo_oid id;

		claims[i].hold = -1;
		receive_plan(&plan, &g->cfg, &g->push, u);
		if (plan.when != RECEIVE_NOW ||
		    repo_oid_from_hex(&id, u->new_hex) < 0)
			continue;
		memset(&ao, 0, sizeof(ao));
		ao.cfg = &g->cfg;
		ao.env = plan.env;
		ao.repo = g->repo;
		ao.st = &g->st;
		ao.commit = &id;
		if (artifact_claim(&claims[i], &ao) < 0)
			error_clear();
	}
	error_clear();
	return claims;
}

size_t receive_deploy(struct gate *g)
{
	size_t i, nr_failed = 0;
	bool *done = xcalloc(g->cfg.nr_envs ? g->cfg.nr_envs : 1,
			     sizeof(*done));
	struct artifact *claims = claim_all(g);

	for (i = 0; i < g->push.nr; i++) {
		const struct push_update *u = &g->push.updates[i];
		struct receive_plan plan;
		struct deploy_outcome out;
		struct deploy_opts o;

		memset(&out, 0, sizeof(out));
		receive_plan(&plan, &g->cfg, &g->push, u);
		if (plan.when == RECEIVE_WAIT)
			show_waiting(g, plan.env, u);
		if (plan.when != RECEIVE_NOW)
			continue;
		memset(&o, 0, sizeof(o));
		o.cfg = &g->cfg;
		o.env = plan.env;
		o.repo = g->repo;
		o.st = &g->st;
		o.user = g->push.user;
		/* an approval deploys its commit, tip or not, as the CLI */
		o.from_push = !plan.approval;
		o.trigger = plan.approval ? "approval" : "push";
		o.manual = plan.approval;
		done[plan.env - g->cfg.envs] = true;
		if (repo_oid_from_hex(&o.commit, u->new_hex) < 0 ||
		    deploy_run(&out, &o) < 0 || out.result == DEPLOY_FAILED)
			nr_failed++;
		deploy_outcome_release(&out);
		if (plan.approval)
			drop_approval(g, u);
	}
	/* the next push deploys what a window held, once it is open */
	for (i = 0; i < g->cfg.nr_envs; i++)
		if (!done[i])
			nr_failed += deploy_pending(g, &g->cfg.envs[i],
						    g->push.user, true, false);
	for (i = 0; i < g->push.nr; i++)
		artifact_release(&claims[i]);
	free(claims);
	free(done);
	return nr_failed;
}

/*
 * A tree with more than max_entries entries is refused before anything
 * is built, tested or exported (pre-receive refuses such a push: this is
 * for commits that came otherwise). 0 if it may go on.
 */
static int refuse_too_large(struct gate *g, const struct config_env *env,
			    const struct repo_oid *commit)
{
	struct gittree_sizes *sizes = gittree_sizes_new(g->cfg.max_entries);
	bool too_large;
	int r;

	if ((r = policy_tree_too_large(&too_large, &g->st, true, g->repo,
				       sizes, commit)) < 0) {
		report_error("cannot deploy to '%s': %s", env->name,
			     report_str(error_last()));
	} else if (too_large) {
		report_error("cannot deploy to '%s': " GITTREE_TOO_LARGE,
			     env->name, (unsigned long long)
			     gittree_sizes_max(sizes));
		report_info("fix: deploy a commit without what makes its"
			    " tree so large, or raise [verify] max_entries");
		r = 1;
	}
	gittree_sizes_free(sizes);
	return r ? 1 : 0;
}

int receive_check_deploy(struct gate *g, const struct config_env *env,
			 const struct repo_oid *commit, const char *user)
{
	struct verdict v = VERDICT_INIT;
	struct policy_deploy pd = { env, g->repo, &g->st, commit, user };
	struct testrun_opts to = TESTRUN_OPTS_INIT;
	enum testrun_result tr;
	struct buf ref = BUF_INIT;
	size_t i;
	int r = 1;

	if (policy_check_deploy(&v, &pd) < 0) {
		report_error("cannot check '%s': %s", env->name,
			     report_str(error_last()));
		goto out;
	}
	if (v.rejected) {
		report_error("%s", report_line(v.reason));
		for (i = 0; i < v.hints.nr; i++)
			report_info("fix: %s", report_line(v.hints.v[i]));
		goto out;
	}
	if (refuse_too_large(g, env, commit))
		goto out;
	buf_addf(&ref, "refs/heads/%s", env->branch);
	to.cfg = &g->cfg;
	to.repo = g->repo;
	to.st = &g->st;
	to.commit = commit;
	to.ref = ref.ptr;
	to.env = env->name;
	to.user = user;
	if (testrun_run(&tr, &to) < 0) {
		report_error("cannot test: %s", report_str(error_last()));
	} else if (tr == TESTRUN_FAILED || tr == TESTRUN_BUILD_FAILED ||
		   tr == TESTRUN_TIMEOUT) {
		report_error("cannot deploy to '%s': %s", env->name,
			     tr == TESTRUN_FAILED ? "the tests failed" :
			     tr == TESTRUN_BUILD_FAILED ? "the build failed" :
			     "the tests timed out");
	} else {
		if (tr == TESTRUN_CACHED)
			report_info("tests passed before on the same tree"
				    " (cached)");
		r = 0;
	}
out:
	buf_release(&ref);
	verdict_release(&v);
	return r;
}
