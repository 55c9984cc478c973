#include "gate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "errors.h"
#include "policy.h"
#include "report.h"
#include "testrun.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int load_config(struct gate *g)
{
	struct strvec errors = STRVEC_INIT;
	struct buf path = BUF_INIT;
	size_t i;
	int r;

	buf_addf(&path, "%s/hooks.ini", repo_path(g->repo));
	r = config_load(&g->cfg, path.ptr, &errors);
	if (r < 0) {
		for (i = 0; i < errors.nr; i++)
			report_error("%s", errors.v[i]);
		if (!errors.nr)
			report_error("cannot read hooks.ini: %s", error_last());
		report_error("hooks.ini is invalid: fix it on the server (pushgate check lists the errors)");
		r = ERR_INVALID;
	}
	strvec_clear(&errors);
	buf_release(&path);
	return r;
}

int gate_open(struct gate *g, const char *dir, unsigned flags)
{
	int r;

	config_init(&g->cfg);
	if (flags & GATE_READ_PUSH) {
		/* read all of stdin first: git waits for us to consume it */
		if ((r = push_read(&g->push, stdin)) < 0 ||
		    (r = push_read_options(&g->push)) < 0) {
			report_error("bad input from git: %s", error_last());
			return r;
		}
	}
	if ((r = repo_open(&g->repo, (flags & GATE_FROM_ENV) ? NULL : dir)) <
	    0) {
		report_error("%s", error_last());
		return r;
	}
	if ((r = load_config(g)) < 0)
		return r;
	if ((r = state_open(&g->st, repo_path(g->repo))) < 0) {
		report_error("cannot use the state directory: %s",
			     error_last());
		return r;
	}
	if (flags & GATE_READ_PUSH)
		push_read_user(&g->push, &g->cfg.user_vars);
	return 0;
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

	report_info("REJECTED %s: %s", report_str(u->ref), v->reason);
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
		if (policy_check_update(&v, &g->cfg, g->repo, u) < 0) {
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

/* Build and test one tip; true if it passed. */
static bool test_tip(struct gate *g, const struct push_update *u)
{
	struct testrun_opts o = TESTRUN_OPTS_INIT;
	enum testrun_result res;
	struct repo_oid id;
	double start = now();

	if (repo_oid_from_hex(&id, u->new_hex) < 0)
		goto fail;
	o.cfg = &g->cfg;
	o.repo = g->repo;
	o.st = &g->st;
	o.commit = &id;
	o.ref = u->ref;
	o.env = env_of(g, u);
	o.user = g->push.user;
	report_info("testing %s at %.12s", report_str(u->ref), u->new_hex);
	if (testrun_run(&res, &o) < 0)
		goto fail;
	switch (res) {
	case TESTRUN_PASSED:
		report_info("tests passed for %s in %.1f s",
			    report_str(u->ref), now() - start);
		return true;
	case TESTRUN_CACHED:
		report_info("tests passed before on the same tree (cached)");
		return true;
	case TESTRUN_SKIPPED:
		return true;
	case TESTRUN_FAILED:
		report_info("REJECTED %s: tests failed", report_str(u->ref));
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

bool gate_verify(struct gate *g)
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
	free(failed);
	return ok;
}

void gate_release(struct gate *g)
{
	push_release(&g->push);
	state_release(&g->st);
	config_release(&g->cfg);
	repo_free(g->repo);
	g->repo = NULL;
}
