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
#include "sandbox.h"
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
			const char *dir, const char *home)
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
	/* in the sandbox, the only places they may write besides the checkout */
	if (home) {
		strvec_pushf(&extra, "HOME=%s", home);
		strvec_pushf(&extra, "TMPDIR=%s", home);
	}
	proc_safe_env(env, (const char *const *)extra.v);
	strvec_clear(&extra);
}

/*
 * Where one checkout's build and test run (sandbox.h): the Landlock rules
 * and the private directory that is their HOME and TMPDIR.
 */
struct jail {
	struct sandbox sb;
	char *home;		/* NULL: no sandbox */
};

#define JAIL_INIT { SANDBOX_INIT, NULL }

/* The repository, the SSH secrets of every environment, `sandbox_hide`. */
static void hidden_paths(struct strvec *out, const struct testrun_opts *o)
{
	const struct config *cfg = o->cfg;
	const char *home = getenv("HOME");
	size_t i;

	strvec_push(out, repo_path(o->repo));
	strvec_push(out, o->st->dir);
	for (i = 0; i < cfg->nr_envs; i++) {
		if (cfg->envs[i].identity)
			strvec_push(out, cfg->envs[i].identity);
		if (cfg->envs[i].known_hosts)
			strvec_push(out, cfg->envs[i].known_hosts);
	}
	if (home && *home == '/')
		strvec_pushf(out, "%s/.ssh", home);
	for (i = 0; i < cfg->sandbox_hide.nr; i++)
		strvec_push(out, cfg->sandbox_hide.v[i]);
}

/* The SSH ports of every deploy host (and GitOps remote), once each. */
static size_t closed_ports(unsigned *out, size_t max,
			   const struct config *cfg)
{
	size_t i, j, k, n = 0;

	for (i = 0; i < cfg->nr_envs; i++)
		for (j = 0; j < cfg->envs[i].nr_hosts; j++) {
			const struct config_host *h = &cfg->envs[i].hosts[j];

			if (h->local || !h->port)
				continue;
			for (k = 0; k < n && out[k] != h->port; k++)
				;
			if (k == n && n < max)
				out[n++] = h->port;
		}
	return n;
}

/* `sandbox_write` must not open the repository to the pushed code. */
static int check_writable(const struct testrun_opts *o)
{
	const struct strvec *w = &o->cfg->sandbox_write;
	char *repo = realpath(repo_path(o->repo), NULL), *real;
	size_t i, len;
	int r = 0;

	if (!repo)
		return error_set_errno(ERR_SYS, "cannot resolve '%s'",
				       repo_path(o->repo));
	len = strlen(repo);
	for (i = 0; !r && i < w->nr; i++) {
		if (!(real = realpath(w->v[i], NULL))) {
			r = error_set_errno(ERR_NOTFOUND, "sandbox_write: "
					    "'%s'", w->v[i]);
			break;
		}
		if (!strncmp(real, repo, len) &&
		    (!real[len] || real[len] == '/'))
			r = error_set(ERR_INVALID, "sandbox_write: '%s' is "
				      "inside the repository", w->v[i]);
		else if (!strncmp(repo, real, strlen(real)) &&
			 (repo[strlen(real)] == '/' || !strcmp(real, "/")))
			r = error_set(ERR_INVALID, "sandbox_write: '%s' holds "
				      "the repository", w->v[i]);
		free(real);
	}
	free(repo);
	return r;
}

static void jail_release(struct jail *j)
{
	sandbox_release(&j->sb);
	if (j->home) {
		fsutil_remove_tree(j->home);
		free(j->home);
		j->home = NULL;
	}
}

/*
 * Build the sandbox of checkout `dir` as [verify] sandbox asks: nothing
 * when off, or (auto) when the kernel has no Landlock, with a warning.
 */
static int jail_open(struct jail *j, const struct testrun_opts *o,
		     const char *dir)
{
	static bool said_none, said_net;
	unsigned ports[CONFIG_MAX_ENVS * CONFIG_MAX_HOSTS];
	struct sandbox_opts so = SANDBOX_OPTS_INIT;
	struct strvec hidden = STRVEC_INIT;
	struct buf home = BUF_INIT;
	struct strvec writable = STRVEC_INIT;
	struct error_saved saved;
	size_t i;
	int r;

	if (o->cfg->sandbox == CONFIG_SANDBOX_OFF)
		return 0;
	if (!sandbox_abi()) {
		if (o->cfg->sandbox == CONFIG_SANDBOX_REQUIRED)
			return error_set(ERR_GENERIC, "sandbox = required, but "
					 "this kernel does not offer Landlock:"
					 " pushed code is not run");
		/* once per process: one push, one deploy */
		if (!said_none)
			report_warn("build and test run WITHOUT a sandbox: this"
				    " kernel does not offer Landlock (sandbox "
				    "= auto), so they can read the deploy keys"
				    " and write the repository");
		said_none = true;
		return 0;
	}
	if ((r = check_writable(o)) < 0 ||
	    (r = state_mkdtemp(o->st, &home, "home")) < 0)
		return r;
	j->home = buf_detach(&home, NULL);
	strvec_push(&writable, dir);
	strvec_push(&writable, j->home);
	for (i = 0; i < o->cfg->sandbox_write.nr; i++)
		strvec_push(&writable, o->cfg->sandbox_write.v[i]);
	hidden_paths(&hidden, o);
	so.writable = (const char *const *)writable.v;
	so.hidden = (const char *const *)hidden.v;
	so.closed_ports = ports;
	so.nr_closed_ports = closed_ports(ports, sizeof(ports) / sizeof(*ports),
					  o->cfg);
	r = sandbox_prepare(&j->sb, &so);
	strvec_clear(&hidden);
	strvec_clear(&writable);
	if (r < 0) {
		error_save(&saved);
		jail_release(j);
		return error_restore(&saved, r);
	}
	if (so.nr_closed_ports && j->sb.abi < SANDBOX_ABI_NET && !said_net)
		report_warn("the sandbox cannot keep build and test from "
			    "connecting to the deploy hosts: this kernel's "
			    "Landlock ABI is %d (4 needed)", j->sb.abi);
	said_net = true;
	return 0;
}

/*
 * Run one command in the checkout; *failed set (with the reason shown)
 * when it exits non-zero or times out. `deadline` is shared by build and
 * test.
 */
static int run_step(enum testrun_result *out, const char *what,
		    const char *cmd, const char *dir,
		    const struct strvec *env, const struct jail *j,
		    double deadline)
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
	po.sandbox = &j->sb;
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
	struct jail jail = JAIL_INIT;
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
	if ((r = jail_open(&jail, o, ws.dir)) < 0)
		goto out;
	command_env(&env, o, ws.dir, jail.home);
	deadline = start + cfg->test_timeout;
	if (o->deadline && o->deadline < deadline)
		deadline = o->deadline;
	if (cfg->build &&
	    ((r = run_step(out, "build", cfg->build, ws.dir, &env, &jail,
			   deadline)) < 0 || *out != TESTRUN_PASSED)) {
		if (*out == TESTRUN_FAILED)
			*out = TESTRUN_BUILD_FAILED;
		goto out;
	}
	if (cfg->test &&
	    ((r = run_step(out, "test", cfg->test, ws.dir, &env, &jail,
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
	jail_release(&jail);
	workspace_remove(&ws);
	return r;
}

int testrun_build(const struct testrun_opts *o)
{
	const struct config *cfg = o->cfg;
	struct workspace ws = WORKSPACE_INIT;
	struct jail jail = JAIL_INIT;
	struct strvec env = STRVEC_INIT;
	struct error_saved saved;
	enum testrun_result res = TESTRUN_PASSED;
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
	if ((r = jail_open(&jail, o, ws.dir)) == 0) {
		command_env(&env, o, ws.dir, jail.home);
		r = run_step(&res, "build", cfg->build, ws.dir, &env, &jail,
			     timeutil_now() + cfg->test_timeout);
	}
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
	jail_release(&jail);
	workspace_remove(&ws);
	return error_restore(&saved, r);
}
