/*
 * pushgate: the command line for people. main() parses the global
 * options, then the verb's own through one table (which options it
 * takes, whether its first argument is an environment), opens the
 * repository and hooks.ini, and calls the verb's cmd_<verb>(), which
 * only calls modules and prints.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "deploy.h"
#include "deploylog.h"
#include "errors.h"
#include "gate.h"
#include "history.h"
#include "hold.h"
#include "host.h"
#include "policy.h"
#include "proc.h"
#include "receive.h"
#include "release.h"
#include "report.h"
#include "repo.h"
#include "rollback.h"
#include "sshsig.h"
#include "status.h"
#include "suggest.h"
#include "testrun.h"
#include "statuspage.h"
#include "tz.h"

#define PUSHGATE_VERSION "0.2.0"
#define HISTORY_DEFAULT 20

/* What the verb was given, and what it needs opened. */
struct cli {
	const char *dir;
	struct gate g;
	const struct config_env *env;	/* the ENV argument, if any */
	char **args;			/* the arguments after ENV */
	int nargs;
	bool force;
	bool full;
	bool yes;
	bool pending;			/* deploy --pending */
	bool dry_run;			/* deploy, rollback --dry-run */
	bool json;			/* status, history, check --json */
	const char *override;		/* deploy --override-window REASON */
	const char *message;		/* lock -m REASON */
	const char *at;			/* windows --at TIME */
	uint64_t n;
	char *user;			/* login name of the real uid */
	const char *env_name;		/* the ENV argument, or NULL */
};

enum cmd_flags {
	CMD_ENV = 1 << 0,	/* the first argument is an environment */
	CMD_ENV_OPT = 1 << 1	/* ... which may be left out */
};

struct cmd {
	const char *name;
	int (*fn)(struct cli *c);
	unsigned flags;
	const char *opts;	/* getopt short options it takes */
	const char *longs;	/* options it takes in their long form only */
	int max_args;		/* arguments after ENV */
	const char *usage;
	const char *help;
};

static int cmd_deploy(struct cli *c);
static int cmd_rollback(struct cli *c);
static int cmd_status(struct cli *c);
static int cmd_history(struct cli *c);
static int cmd_log(struct cli *c);
static int cmd_lock(struct cli *c);
static int cmd_unlock(struct cli *c);
static int cmd_windows(struct cli *c);
static int cmd_check(struct cli *c);
static int cmd_trust(struct cli *c);
static int cmd_page(struct cli *c);
static void page_again(struct cli *c);

static const struct cmd commands[] = {
	{ "deploy", cmd_deploy, CMD_ENV | CMD_ENV_OPT, "f", "UPOD", 1,
	  "pushgate deploy [--dry-run] [--force] [--full] [--override-window REASON] ENV [REV]",
	  "deploy REV (default: the tip of ENV's branch) after the same checks as a push" },
	{ "deploy", cmd_deploy, CMD_ENV | CMD_ENV_OPT, "", "P", 0,
	  "pushgate deploy --pending [ENV]",
	  "deploy what windows held, where they allow it now (cron, timers)" },
	{ "rollback", cmd_rollback, CMD_ENV, "", "D", 1,
	  "pushgate rollback [--dry-run] ENV [RELEASE-or-COMMIT]",
	  "make the previous good (or the given) release live again" },
	{ "status", cmd_status, CMD_ENV | CMD_ENV_OPT, "", "J", 0,
	  "pushgate status [--json] [ENV]",
	  "live commit and release, last result, waiting commits, drift" },
	{ "history", cmd_history, CMD_ENV | CMD_ENV_OPT, "n:", "J", 0,
	  "pushgate history [-n N] [--json] [ENV]",
	  "deploys and rollbacks, newest first" },
	{ "page", cmd_page, 0, "", "", 0,
	  "pushgate page",
	  "write the status page (status.html, status.json) again now" },
	{ "log", cmd_log, CMD_ENV, "", "", 1,
	  "pushgate log ENV [RELEASE-or-COMMIT]",
	  "the whole output of the last (or that) deploy or rollback" },
	{ "lock", cmd_lock, CMD_ENV, "m:", "", 0,
	  "pushgate lock ENV -m REASON",
	  "hold every deploy of ENV until unlocked" },
	{ "unlock", cmd_unlock, CMD_ENV, "", "", 0,
	  "pushgate unlock ENV",
	  "lift the hold of pushgate lock" },
	{ "windows", cmd_windows, CMD_ENV | CMD_ENV_OPT, "", "A", 0,
	  "pushgate windows [--at TIME] [ENV]",
	  "the deploy windows in force and their next changes" },
	{ "check", cmd_check, CMD_ENV | CMD_ENV_OPT, "", "J", 0,
	  "pushgate check [--json] [ENV]",
	  "validate hooks.ini, then connect to every host and check it" },
	{ "trust", cmd_trust, CMD_ENV, "y", "", 0,
	  "pushgate trust [--yes] ENV",
	  "show each host's key fingerprint and add it to known_hosts" },
};

#define NR_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static const struct option verb_longopts[] = {
	{ "force", no_argument, NULL, 'f' },
	{ "full", no_argument, NULL, 'U' },
	{ "yes", no_argument, NULL, 'y' },
	{ "pending", no_argument, NULL, 'P' },
	{ "dry-run", no_argument, NULL, 'D' },
	{ "override-window", required_argument, NULL, 'O' },
	{ "at", required_argument, NULL, 'A' },
	{ "message", required_argument, NULL, 'm' },
	{ "json", no_argument, NULL, 'J' },
	{ NULL, 0, NULL, 0 }
};

static void usage(bool to_stdout)
{
	size_t i;

	if (!to_stdout) {
		report_error("usage: pushgate [-C DIR] COMMAND [ARGS] (see: pushgate --help)");
		return;
	}
	report_out("usage: pushgate [-C DIR] COMMAND [ARGS]");
	report_out("%s", "");
	report_out("Run inside the bare repository, or name it with -C DIR.");
	report_out("%s", "");
	for (i = 0; i < NR_COMMANDS; i++)
		report_out("  %-45s  %s", commands[i].usage, commands[i].help);
	report_out("%s", "");
	report_out("Exit codes: 0 success, 1 the operation failed,"
		   " 2 usage or configuration error.");
}

static const struct cmd *find_cmd(const char *name)
{
	size_t i;

	for (i = 0; i < NR_COMMANDS; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

static int usage_error(const struct cmd *cmd)
{
	report_error("usage: %s", cmd->usage);
	return 2;
}

/*
 * The verb's options (anywhere on the line: `deploy staging --force`)
 * and arguments into *c. 0, or the exit code of a usage error.
 */
static int parse_verb(struct cli *c, const struct cmd *cmd, int argc,
		      char **argv)
{
	int opt, first;

	opterr = 0;	/* our usage line says it, in one line */
	optind = 0;	/* 0: glibc starts over */
	while ((opt = getopt_long(argc, argv, cmd->opts, verb_longopts,
				  NULL)) != -1) {
		if (opt == '?' || opt == ':' || (!strchr(cmd->opts, opt) &&
						      !strchr(cmd->longs, opt)))
			return usage_error(cmd);
		if (opt == 'f')
			c->force = true;
		else if (opt == 'U')
			c->full = true;
		else if (opt == 'y')
			c->yes = true;
		else if (opt == 'P')
			c->pending = true;
		else if (opt == 'D')
			c->dry_run = true;
		else if (opt == 'O')
			c->override = optarg;
		else if (opt == 'm')
			c->message = optarg;
		else if (opt == 'A')
			c->at = optarg;
		else if (opt == 'J')
			c->json = true;
		else if (opt == 'n' && parse_uint(optarg, 1, 1000000, &c->n) < 0)
			return usage_error(cmd);
	}
	first = optind;
	if ((cmd->flags & CMD_ENV) && first >= argc &&
	    !(cmd->flags & CMD_ENV_OPT))
		return usage_error(cmd);
	if ((cmd->flags & CMD_ENV) && first < argc)
		c->env_name = argv[first++];
	if (argc - first > cmd->max_args)
		return usage_error(cmd);
	c->args = argv + first;
	c->nargs = argc - first;
	return 0;
}

/* Open the repository and hooks.ini, find ENV; 0 or the exit code. */
static int open_cli(struct cli *c)
{
	const char *env = c->env_name;
	struct strvec errors = STRVEC_INIT;
	int r = gate_open(&c->g, c->dir, 0, &errors);

	report_errors(&errors);
	strvec_clear(&errors);
	if (r < 0)
		return r == ERR_INVALID ? 2 : 1;
	if (!env)
		return 0;
	if (!(c->env = config_env_find(&c->g.cfg, env))) {
		const char *names[CONFIG_MAX_ENVS], *near;
		size_t i;

		for (i = 0; i < c->g.cfg.nr_envs && i < CONFIG_MAX_ENVS; i++)
			names[i] = c->g.cfg.envs[i].name;
		near = suggest_closest(env, names, i);
		report_error("no environment '%s' in hooks.ini%s%s%s",
			     report_str(env), c->g.cfg.present ? "" :
			     " (there is no hooks.ini)",
			     near ? ": did you mean " : "",
			     near ? near : "");
		return 2;
	}
	return 0;
}

/* Show a refusal of the deploy gate: the reason, then how to fix it. */
static void show_refusal(const struct verdict *v)
{
	size_t i;

	report_error("%s", report_line(v->reason));
	for (i = 0; i < v->hints.nr; i++)
		report_info("fix: %s", report_line(v->hints.v[i]));
}

/* ---- deploy and rollback ------------------------------------------ */

static struct deploy_opts deploy_opts_of(struct cli *c)
{
	struct deploy_opts o;

	memset(&o, 0, sizeof(o));
	o.cfg = &c->g.cfg;
	o.env = c->env;
	o.repo = c->g.repo;
	o.st = &c->g.st;
	o.user = c->user;
	o.force = c->force;
	o.full = c->full;
	return o;
}

/* deploy --dry-run: the gates, the tests' cache, then the plan. */
static int dry_run_deploy(struct cli *c, const struct deploy_opts *o)
{
	struct verdict v = VERDICT_INIT;
	struct policy_deploy pd = { c->env, c->g.repo, &c->g.st, &o->commit,
				    c->user };
	struct testrun_opts to = TESTRUN_OPTS_INIT;
	bool cached = false;
	int r = 0;

	if (policy_check_deploy(&v, &pd) < 0) {
		report_error("cannot check '%s': %s", c->env->name,
			     report_str(error_last()));
		r = 1;
	} else if (v.rejected) {
		show_refusal(&v);
		r = 1;
	}
	verdict_release(&v);
	if (r)
		return r;
	to.cfg = &c->g.cfg;
	to.repo = c->g.repo;
	to.st = &c->g.st;
	to.commit = &o->commit;
	if (c->g.cfg.build || c->g.cfg.test) {
		if (testrun_cached(&cached, &to) < 0)
			error_clear();
		report_out("tests:    %s", cached ? "passed before on the same "
			   "tree (cached)" : "build and test would run first");
	}
	return deploy_dry_run(o, NULL) < 0 ? 1 : 0;
}

static int cmd_deploy(struct cli *c)
{
	struct deploy_opts o = deploy_opts_of(c);
	struct deploy_outcome out;
	struct buf rev = BUF_INIT;
	int r = 1;

	if (c->pending) {
		if (c->nargs || c->force || c->full || c->override ||
		    c->dry_run)
			return usage_error(find_cmd("deploy"));
		return receive_pending(&c->g, c->env, c->user) ? 1 : 0;
	}
	if (!c->env)
		return usage_error(find_cmd("deploy"));
	if (c->override && !c->override[strspn(c->override, " \t")]) {
		report_error("--override-window needs a reason, which the "
			     "history records");
		return 2;
	}
	if (c->override && !policy_may_approve(c->env, c->user)) {
		report_error("only the approvers of '%s' may override its "
			     "windows (%s is not one)", c->env->name,
			     report_str(c->user ? c->user : "unknown"));
		return 1;
	}
	o.manual = true;
	o.override_window = c->override;
	memset(&out, 0, sizeof(out));
	if (c->nargs)
		buf_addstr(&rev, c->args[0]);
	else
		buf_addf(&rev, "refs/heads/%s", c->env->branch);
	if (repo_resolve_commit(c->g.repo, &o.commit, rev.ptr) < 0)
		report_error("%s", report_str(error_last()));
	else if (c->dry_run)
		r = dry_run_deploy(c, &o);
	else if (receive_check_deploy(&c->g, c->env, &o.commit,
				      c->user) == 0 &&
		 deploy_run(&out, &o) == 0 && out.result != DEPLOY_FAILED &&
		 out.result != DEPLOY_HELD)
		r = 0;
	deploy_outcome_release(&out);
	buf_release(&rev);
	return r;
}

static int cmd_rollback(struct cli *c)
{
	struct deploy_opts o = deploy_opts_of(c);
	struct verdict v = VERDICT_INIT;
	struct deploy_outcome out;
	struct rollback_target t;
	const char *want_release = NULL;
	char want_commit[REPO_OID_HEXSZ + 1] = "";
	const char *arg = c->nargs ? c->args[0] : NULL;
	struct repo_oid id;
	int r = 1;

	memset(&out, 0, sizeof(out));
	if (arg && release_id_looks_like(arg))
		want_release = arg;
	else if (arg && repo_resolve_commit(c->g.repo, &id, arg) == 0)
		repo_oid_to_hex(want_commit, &id);
	else if (arg)
		want_release = arg;
	error_clear();
	if (rollback_choose(&t, &c->g.st, c->env->name, want_release,
				 want_commit[0] ? want_commit : NULL) < 0) {
		report_error("%s", report_str(error_last()));
		goto out;
	}
	/* a manual environment changes only by its approvers' hand */
	policy_deploy_verdict(&v, c->env, c->user,
			      c->env->mode != CONFIG_MODE_MANUAL ||
			      policy_may_approve(c->env, c->user), NULL, "");
	if (v.rejected) {
		show_refusal(&v);
		goto out;
	}
	o.commit = t.commit;
	if (c->dry_run)
		r = deploy_dry_run(&o, t.release) < 0 ? 1 : 0;
	else if (deploy_rollback(&out, &o, t.release) == 0 &&
		 out.result == DEPLOY_OK)
		r = 0;
out:
	verdict_release(&v);
	deploy_outcome_release(&out);
	return r;
}

/* ---- status and history ------------------------------------------- */

/* `status --json`: one object per environment, one line each. */
static void status_json(struct cli *c, const struct status_env *s)
{
	struct buf line = BUF_INIT;
	struct json j;

	json_init(&j, &line);
	if (statuspage_env_json(&j, NULL, &c->g.cfg, c->g.repo, &c->g.st, s,
				(int64_t)time(NULL)) < 0)
		report_warn("cannot read the history: %s",
			    report_str(error_last()));
	report_out("%s", line.ptr);
	buf_release(&line);
}

static int cmd_status(struct cli *c)
{
	bool drift = false;
	size_t i;

	if (!c->g.cfg.nr_envs && !c->json)
		report_out("no environments in hooks.ini");
	for (i = 0; i < c->g.cfg.nr_envs; i++) {
		struct status_env s;

		if (c->env && c->env != &c->g.cfg.envs[i])
			continue;
		if (status_collect(&s, c->g.repo, &c->g.st, &c->g.cfg.envs[i],
				   STATUS_WAITING_SHOWN, true) < 0)
			report_warn("cannot read the history: %s",
				    report_str(error_last()));
		if (c->json)
			status_json(c, &s);
		else
			status_print(&s, c->g.repo);
		drift |= s.drift;
		status_env_release(&s);
	}
	return drift ? 1 : 0;
}

static int print_record(const struct history_record *rec, void *payload)
{
	struct buf line = BUF_INIT;
	struct json j;

	if (payload) {	/* --json */
		json_init(&j, &line);
		statuspage_record_json(&j, NULL, rec);
		report_out("%s", line.ptr);
		buf_release(&line);
		return 0;
	}
	history_format(&line, rec);
	report_out("%s", report_line(line.ptr));
	buf_release(&line);
	return 0;
}

static int cmd_history(struct cli *c)
{
	struct buf header = BUF_INIT;
	size_t damaged;
	int r;

	history_format_header(&header);
	if (!c->json)
		report_out("%s", header.ptr);
	buf_release(&header);
	r = history_newest(&damaged, &c->g.st, c->env ? c->env->name : NULL,
			   c->n ? (size_t)c->n : HISTORY_DEFAULT, print_record,
			   c->json ? c : NULL);
	if (r < 0)
		report_error("cannot read the history: %s",
			     report_str(error_last()));
	else if (damaged)
		report_warn("skipped %zu damaged line%s of the history (longer"
			    " than %d bytes, holding a NUL byte, or cut short)",
			    damaged, damaged == 1 ? "" : "s",
			    HISTORY_MAX_LINE);
	return r < 0 ? 1 : 0;
}

static int cmd_log(struct cli *c)
{
	struct buf path = BUF_INIT;
	char *line = NULL;
	size_t size = 0;
	ssize_t n;
	FILE *fp = NULL;
	int r = 0;

	if (deploylog_find(&path, &c->g.st, c->env->name,
			   c->nargs ? c->args[0] : NULL) < 0) {
		report_error("%s", report_str(error_last()));
		r = 1;
		goto out;
	}
	if (!(fp = fopen(path.ptr, "re"))) {
		report_error("cannot read '%s': %s", report_str(path.ptr),
			     strerror(errno));
		r = 1;
		goto out;
	}
	/* lines pushgate wrote, escaped when they were shown */
	while ((n = getline(&line, &size, fp)) > 0) {
		if (line[n - 1] == '\n')
			line[n - 1] = '\0';
		report_out("%s", line);
	}
out:
	if (fp)
		fclose(fp);
	free(line);
	buf_release(&path);
	return r;
}

/* ---- holds and windows ------------------------------------------- */

static int cmd_lock(struct cli *c)
{
	if (!c->message || !c->message[strspn(c->message, " \t")]) {
		report_error("pushgate lock needs a reason: -m REASON");
		return 2;
	}
	if (hold_lock_set(&c->g.st, c->env->name, c->user ? c->user : "",
			  c->message, (int64_t)time(NULL)) < 0) {
		report_error("cannot hold '%s': %s", c->env->name,
			     report_str(error_last()));
		return 1;
	}
	report_info("'%s' is held: every deploy waits until pushgate unlock "
		    "%s (rollbacks still run)", c->env->name, c->env->name);
	page_again(c);
	return 0;
}

static int cmd_unlock(struct cli *c)
{
	bool was;

	if (hold_lock_clear(&c->g.st, c->env->name, &was) < 0) {
		report_error("cannot lift the hold of '%s': %s", c->env->name,
			     report_str(error_last()));
		return 1;
	}
	report_info(was ? "'%s' is no longer held: pushgate deploy --pending "
		    "%s deploys what waits" : "'%s' was not held%s",
		    c->env->name, was ? c->env->name : "");
	if (was)
		page_again(c);
	return 0;
}

/* One window of `pushgate windows`: its state at `at`, its next changes. */
static void show_window(const struct config_window *cw, int64_t at)
{
	struct window_state ws;
	int64_t next[2];
	size_t n, i;
	struct buf line = BUF_INIT;

	window_state(&ws, &cw->w, at);
	buf_addf(&line, "  window %s (%s%s): %s", cw->name,
		 cw->w.kind == WINDOW_ALLOW ? "allow" : "deny",
		 cw->w.kind == WINDOW_DENY &&
		 cw->w.manual == WINDOW_MANUAL_ALLOW ?
		 ", manual deploys pass" : "",
		 ws.open ? "open" : "closed");
	if (cw->w.message)
		buf_addf(&line, " - %s", cw->w.message);
	report_out("%s", report_line(line.ptr));
	n = window_changes(next, 2, &cw->w, at);
	for (i = 0; i < n; i++) {
		buf_reset(&line);
		buf_addf(&line, "    %s ", (ws.open ? i % 2 == 0 : i % 2) ?
			 "closes" : "opens ");
		window_addtime(&line, &cw->w, next[i]);
		report_out("%s", line.ptr);
	}
	if (!n)
		report_out("    %s", ws.open ? "stays open" : "never opens");
	buf_release(&line);
}

static int cmd_windows(struct cli *c)
{
	struct hold_decision hd;
	struct buf line = BUF_INIT;
	int64_t at = (int64_t)time(NULL);
	size_t i, j, k;

	if (c->at && tz_parse_at(&at, c->at, NULL) < 0) {
		report_error("--at: %s", report_str(error_last()));
		return 2;
	}
	buf_addstr(&line, "at ");
	tz_addtime(&line, tz_utc(), at);
	report_out("%s", line.ptr);
	for (i = 0; i < c->g.cfg.nr_envs; i++) {
		const struct config_env *env = &c->g.cfg.envs[i];

		if (c->env && c->env != env)
			continue;
		report_out("%s (%s)", env->name,
			   env->mode == CONFIG_MODE_AUTO ? "auto" : "manual");
		for (j = 0; j < c->g.cfg.nr_windows; j++) {
			const struct config_window *cw = &c->g.cfg.windows[j];

			for (k = 0; k < cw->environments.nr; k++)
				if (!strcmp(cw->environments.v[k], env->name))
					break;
			if (k < cw->environments.nr) {
				show_window(cw, at);
			}
		}
		if (hold_decide(&hd, &c->g.cfg, env, &c->g.st, at,
				false) < 0) {
			report_error("%s", report_str(error_last()));
			buf_release(&line);
			return 1;
		}
		buf_reset(&line);
		if (hd.by == HOLD_NONE)
			buf_addstr(&line, "deploys may run");
		else
			hold_describe(&line, &hd);
		report_out("  => %s", report_line(line.ptr));
	}
	if (!c->g.cfg.nr_windows)
		report_out("no windows in hooks.ini: deploys may run at any "
			   "time");
	buf_release(&line);
	return 0;
}

/* ---- check and trust ---------------------------------------------- */

/* `check --json`: one line, one object with "check" and "result". */
static void check_json(const char *check, const char *result,
		       const char *error, const char *path, int64_t count)
{
	struct buf line = BUF_INIT;
	struct json j;

	json_init(&j, &line);
	json_object_begin(&j, NULL);
	json_str(&j, "check", check);
	json_str(&j, "result", result);
	json_str(&j, "error", error);
	if (path)
		json_str(&j, "path", path);
	json_int(&j, !strcmp(check, "hooks.ini") ? "environments" : "keys",
		 count);
	json_object_end(&j);
	report_out("%s", line.ptr);
	buf_release(&line);
}

/* `pushgate check`: can pre-receive read allowed_signers? 1 if not. */
static size_t check_signers(const char *path, bool json)
{
	struct strvec problems = STRVEC_INIT;
	struct sshsig_signers *signers = NULL;
	size_t i, bad = 0;
	bool ok = sshsig_signers_load(&signers, path, &problems) == 0;

	if (!ok && !problems.nr)
		strvec_push(&problems, error_last());
	if (json)
		check_json("allowed_signers", ok ? "ok" : "failed",
			   ok ? NULL : problems.v[0], path,
			   ok ? (int64_t)sshsig_signers_count(signers) : 0);
	else if (ok)
		report_out("allowed_signers: ok (%zu key%s in %s)",
			   sshsig_signers_count(signers),
			   sshsig_signers_count(signers) == 1 ? "" : "s",
			   report_str(path));
	for (i = 0; !ok && !json && i < problems.nr; i++)
		report_out("allowed_signers: FAILED: %s",
			   report_str(problems.v[i]));
	bad = !ok;
	error_clear();
	sshsig_signers_free(signers);
	strvec_clear(&problems);
	return bad;
}

static int cmd_check(struct cli *c)
{
	size_t i, bad = 0;

	if (c->json)
		check_json("hooks.ini", "ok", NULL, c->g.cfg.present ?
			   "hooks.ini" : NULL, (int64_t)c->g.cfg.nr_envs);
	else
		report_out("hooks.ini: ok (%s, %zu environment%s)",
			   c->g.cfg.present ? "present" : "absent: no rules",
			   c->g.cfg.nr_envs, c->g.cfg.nr_envs == 1 ? "" : "s");
	if (!c->env && c->g.cfg.signatures != CONFIG_SIGNATURES_OFF)
		bad += check_signers(c->g.cfg.allowed_signers, c->json);
	for (i = 0; i < c->g.cfg.nr_envs; i++)
		if ((!c->env || c->env == &c->g.cfg.envs[i]) && c->json)
			bad += statuspage_check_json(&c->g.cfg.envs[i],
						     &c->g.st);
		else if (!c->env || c->env == &c->g.cfg.envs[i])
			bad += status_check(&c->g.cfg.envs[i], &c->g.st);
	return bad ? 1 : 0;
}

/* ---- the status page --------------------------------------------- */

static int cmd_page(struct cli *c)
{
	if (statuspage_update(&c->g.cfg, c->g.repo, &c->g.st) < 0) {
		report_error("cannot write the status page: %s",
			     report_str(error_last()));
		return 1;
	}
	report_out("wrote %s/status.html and status.json", c->g.st.dir);
	if (c->g.cfg.status_page)
		report_out("copied them to %s", c->g.cfg.status_page);
	return 0;
}

/* A hold changed what the page shows; a failure only warns. */
static void page_again(struct cli *c)
{
	if (statuspage_update(&c->g.cfg, c->g.repo, &c->g.st) < 0)
		report_warn("the status page was not updated: %s",
			    report_str(error_last()));
}

static bool confirm(const char *question)
{
	char answer[16];

	report_info("%s [y/N] ", question);
	if (!fgets(answer, sizeof(answer), stdin))
		return false;
	return answer[0] == 'y' || answer[0] == 'Y';
}

static int cmd_trust(struct cli *c)
{
	const struct config_env *env = c->env;
	size_t k, bad = 0;

	for (k = 0; k < env->nr_hosts; k++) {
		const char *label = env->hosts[k].label;
		struct ssh_hostkey key;

		if (env->hosts[k].local) {
			report_out("%s: local, no host key", label);
			continue;
		}
		if (host_fetch_key(&key, env, k) < 0) {
			report_out("%s: FAILED: %s", label,
				   report_str(error_last()));
			bad++;
			continue;
		}
		report_out("%s: %s %s (%s)", label, key.type, key.fingerprint,
			   key.known ? "already trusted" : key.changed ?
			   "CHANGED: differs from known_hosts" : "unknown");
		if (key.known)
			continue;
		if (!c->yes &&
		    !confirm("trust this key and add it to known_hosts?")) {
			report_out("%s: not trusted", label);
			bad++;
		} else if (host_trust_key(&key, env, k) < 0) {
			report_out("%s: FAILED: %s", label,
				   report_str(error_last()));
			bad++;
		} else {
			report_out("%s: added to %s", label, env->known_hosts);
		}
	}
	return bad ? 1 : 0;
}

/* ---- main --------------------------------------------------------- */

/* Help for one verb: `pushgate VERB --help`. */
static bool verb_help(const struct cmd *c, int argc, char **argv)
{
	int i;

	for (i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			size_t k;

			/* every form of the verb (deploy, deploy --pending) */
			for (k = 0; k < NR_COMMANDS; k++)
				if (!strcmp(commands[k].name, c->name)) {
					report_out("usage: %s",
						   commands[k].usage);
					report_out("%s", commands[k].help);
				}
			return true;
		}
	return false;
}

static int run_verb(const char *dir, const struct cmd *cmd, int argc,
		    char **argv)
{
	struct cli c;
	int r;

	memset(&c, 0, sizeof(c));
	c.dir = dir;
	c.g = (struct gate)GATE_INIT;
	if ((r = parse_verb(&c, cmd, argc, argv)) != 0)
		return r;
	c.user = push_login_name();
	if ((r = open_cli(&c)) == 0)
		r = cmd->fn(&c);
	gate_release(&c.g);
	free(c.user);
	return r;
}

/* Colour only on a terminal, never with NO_COLOR (no-color.org) or dumb. */
static bool want_color(void)
{
	const char *no = getenv("NO_COLOR"), *term = getenv("TERM");

	return isatty(STDERR_FILENO) && !(no && *no) &&
	       !(term && !strcmp(term, "dumb"));
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	const struct cmd *cmd;
	const char *dir = ".";
	int c, r;

	closefrom(3);
	report_set_prefix("pushgate: ");
	report_set_color(want_color());
	/* a reader that went away (| head) must not stop us halfway */
	signal(SIGPIPE, SIG_IGN);
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+C:hV", longopts, NULL)) != -1) {
		if (c == 'C') {
			dir = optarg;
		} else if (c == 'h' || c == 'V') {
			if (c == 'h')
				usage(true);
			else
				report_out("pushgate %s", PUSHGATE_VERSION);
			return 0;
		} else {
			usage(false);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(false);
		return 2;
	}
	/* `pushgate help [VERB]` is `pushgate --help` or `pushgate VERB --help` */
	if (!strcmp(argv[optind], "help")) {
		static char help_opt[] = "--help";
		char *verb_argv[] = { NULL, help_opt, NULL };

		if (optind + 1 >= argc) {
			usage(true);
			return 0;
		}
		if (optind + 2 < argc || !(cmd = find_cmd(argv[optind + 1]))) {
			report_error("usage: pushgate help [COMMAND]");
			return 2;
		}
		verb_argv[0] = argv[optind + 1];
		verb_help(cmd, 2, verb_argv);
		return 0;
	}
	if (!(cmd = find_cmd(argv[optind]))) {
		const char *names[NR_COMMANDS], *near;
		size_t i;

		for (i = 0; i < NR_COMMANDS; i++)
			names[i] = commands[i].name;
		near = suggest_closest(argv[optind], names, NR_COMMANDS);
		report_error("unknown command '%s' (%s%s%ssee: pushgate --help)",
			     report_str(argv[optind]),
			     near ? "did you mean " : "", near ? near : "",
			     near ? "? " : "");
		return 2;
	}
	argc -= optind;
	argv += optind;
	if (verb_help(cmd, argc, argv))
		return 0;
	/* builds and tests stop on ^C, and their checkouts are removed */
	proc_catch_signals();
	repo_library_init();
	deploy_set_recorded_hook(statuspage_recorded);
	r = run_verb(dir, cmd, argc, argv);
	repo_library_shutdown();
	/* what was interrupted failed; what finished anyway stands */
	if (r != 0 && proc_interrupted())
		return 128 + proc_interrupted();
	return r;
}
