/*
 * pushgate: the command line for people. Each verb is a cmd_<verb>()
 * that only calls modules; main() parses the global options and
 * dispatches through the table.
 */
#include <getopt.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "deploy.h"
#include "errors.h"
#include "gate.h"
#include "host.h"
#include "policy.h"
#include "report.h"
#include "repo.h"
#include "testrun.h"

#define PUSHGATE_VERSION "0.1.0"
#define HISTORY_DEFAULT 20
#define WAITING_SHOWN 10

struct cmd {
	const char *name;
	int (*fn)(const char *dir, int argc, char **argv);
	const char *usage;
	const char *help;
};

static int cmd_deploy(const char *dir, int argc, char **argv);
static int cmd_rollback(const char *dir, int argc, char **argv);
static int cmd_status(const char *dir, int argc, char **argv);
static int cmd_history(const char *dir, int argc, char **argv);
static int cmd_check(const char *dir, int argc, char **argv);
static int cmd_trust(const char *dir, int argc, char **argv);

static const struct cmd commands[] = {
	{ "deploy", cmd_deploy, "pushgate deploy [--force] ENV [REV]",
	  "deploy REV (default: the tip of ENV's branch) after the same checks as a push" },
	{ "rollback", cmd_rollback, "pushgate rollback ENV [RELEASE-or-COMMIT]",
	  "make the previous good (or the given) release live again" },
	{ "status", cmd_status, "pushgate status [ENV]",
	  "live commit and release, last result, waiting commits, drift" },
	{ "history", cmd_history, "pushgate history [-n N] [ENV]",
	  "deploys and rollbacks, newest first" },
	{ "check", cmd_check, "pushgate check [ENV]",
	  "validate hooks.ini, then connect to every host and check it" },
	{ "trust", cmd_trust, "pushgate trust [--yes] ENV",
	  "show each host's key fingerprint and add it to known_hosts" },
};

#define NR_COMMANDS (sizeof(commands) / sizeof(commands[0]))

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
		report_out("  %-42s %s", commands[i].usage, commands[i].help);
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

static int usage_error(const char *verb)
{
	report_error("usage: %s", find_cmd(verb)->usage);
	return 2;
}

/*
 * Verb options: getopt over argv (argv[0] is the verb). Returns the
 * option character, -1 at the end, '?' on a bad option.
 */
static int verb_opt(int argc, char **argv, const char *optstring,
		    const struct option *longopts)
{
	opterr = 0;	/* our usage line says it, in one line */
	return getopt_long(argc, argv, optstring, longopts, NULL);
}

/* Open the repository and configuration; 0, or the exit code. */
static int open_gate(struct gate *g, const char *dir)
{
	struct strvec errors = STRVEC_INIT;
	int r = gate_open(g, dir, 0, &errors);

	report_errors(&errors);
	strvec_clear(&errors);

	if (r == ERR_INVALID)
		return 2;
	return r < 0 ? 1 : 0;
}

static const struct config_env *find_env(const struct gate *g,
					 const char *name)
{
	const struct config_env *env = config_env_find(&g->cfg, name);

	if (!env)
		report_error("no environment '%s' in hooks.ini%s",
			     report_str(name),
			     g->cfg.present ? "" : " (there is no hooks.ini)");
	return env;
}

/* Who runs the command: user_vars as for a push, else the login name. */
static const char *cli_user(struct gate *g)
{
	struct passwd *pw;

	push_read_user(&g->push, &g->cfg.user_vars);
	if (!g->push.user && (pw = getpwuid(getuid())) && pw->pw_name)
		g->push.user = xstrdup(pw->pw_name);
	return g->push.user;
}

/* ---- deploy ------------------------------------------------------- */

/* A manual environment changes only by its approvers' hand. */
static bool may_approve(const struct config_env *env, const char *user)
{
	struct buf names = BUF_INIT;
	size_t i;

	if (env->mode != CONFIG_MODE_MANUAL || policy_may_approve(env, user))
		return true;
	for (i = 0; i < env->approvers.nr; i++)
		buf_addf(&names, "%s%s", i ? ", " : "", env->approvers.v[i]);
	report_error("'%s' may not approve deploys to '%s' (approvers: %s)",
		     report_str(user ? user : "unknown user"), env->name,
		     report_str(names.ptr));
	buf_release(&names);
	return false;
}

/* The gates a push would apply: approvers, tests, requires. */
static int deploy_gates(struct gate *g, const struct config_env *env,
			const struct repo_oid *commit, const char *user)
{
	struct strvec missing = STRVEC_INIT;
	struct testrun_opts to = TESTRUN_OPTS_INIT;
	enum testrun_result tr;
	struct buf ref = BUF_INIT;
	bool met;
	int r = 0;

	if (!may_approve(env, user))
		return 1;
	if (policy_requires_met(&met, &missing, env, g->repo, &g->st,
				commit) < 0) {
		report_error("cannot check requires: %s",
			     report_str(error_last()));
		r = 1;
		goto out;
	}
	if (!met) {
		struct buf names = BUF_INIT;
		size_t i;

		for (i = 0; i < missing.nr; i++)
			buf_addf(&names, "%s'%s'", i ? ", " : "",
				 missing.v[i]);
		report_error("cannot deploy to '%s': the commit was not deployed to %s first",
			     env->name, names.ptr);
		buf_release(&names);
		r = 1;
		goto out;
	}
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
		r = 1;
	} else if (tr == TESTRUN_FAILED || tr == TESTRUN_BUILD_FAILED ||
		   tr == TESTRUN_TIMEOUT) {
		report_error("cannot deploy to '%s': %s", env->name,
			     tr == TESTRUN_FAILED ? "the tests failed" :
			     tr == TESTRUN_BUILD_FAILED ? "the build failed" :
			     "the tests timed out");
		r = 1;
	} else if (tr == TESTRUN_CACHED) {
		report_info("tests passed before on the same tree (cached)");
	}
out:
	buf_release(&ref);
	strvec_clear(&missing);
	return r;
}

static int cmd_deploy(const char *dir, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "force", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 }
	};
	struct gate g = GATE_INIT;
	const struct config_env *env;
	struct deploy_opts o;
	enum deploy_result res;
	struct buf rev = BUF_INIT;
	bool force = false;
	int c, r;

	while ((c = verb_opt(argc, argv, "+f", longopts)) != -1) {
		if (c != 'f')
			return usage_error("deploy");
		force = true;
	}
	if (optind >= argc || argc - optind > 2)
		return usage_error("deploy");
	if ((r = open_gate(&g, dir)) != 0)
		goto out;
	r = 2;
	if (!(env = find_env(&g, argv[optind])))
		goto out;
	if (optind + 1 < argc)
		buf_addstr(&rev, argv[optind + 1]);
	else
		buf_addf(&rev, "refs/heads/%s", env->branch);
	memset(&o, 0, sizeof(o));
	r = 1;
	if (repo_resolve_commit(g.repo, &o.commit, rev.ptr) < 0) {
		report_error("%s", report_str(error_last()));
		goto out;
	}
	o.cfg = &g.cfg;
	o.env = env;
	o.repo = g.repo;
	o.st = &g.st;
	o.user = cli_user(&g);
	o.force = force;
	if ((r = deploy_gates(&g, env, &o.commit, o.user)) != 0)
		goto out;
	r = 1;
	if (deploy_run(&res, &o) == 0 && res != DEPLOY_FAILED)
		r = 0;
out:
	buf_release(&rev);
	gate_release(&g);
	return r;
}

/* ---- rollback ----------------------------------------------------- */

static int cmd_rollback(const char *dir, int argc, char **argv)
{
	struct gate g = GATE_INIT;
	const struct config_env *env;
	struct deploy_opts o;
	struct deploy_target t;
	enum deploy_result res;
	const char *want_release = NULL;
	char want_commit[REPO_OID_HEXSZ + 1] = "";
	struct repo_oid id;
	int r;

	if (argc < 2 || argc > 3 || argv[1][0] == '-')
		return usage_error("rollback");
	if ((r = open_gate(&g, dir)) != 0)
		goto out;
	r = 2;
	if (!(env = find_env(&g, argv[1])))
		goto out;
	r = 1;
	if (argc == 3) {
		if (strspn(argv[2], "0123456789") >= 8 && strchr(argv[2], 'T'))
			want_release = argv[2];
		else if (repo_resolve_commit(g.repo, &id, argv[2]) == 0)
			repo_oid_to_hex(want_commit, &id);
		else
			want_release = argv[2];
	}
	if (deploy_pick_rollback(&t, &g.st, env->name, want_release,
				 want_commit[0] ? want_commit : NULL) < 0) {
		report_error("%s", report_str(error_last()));
		goto out;
	}
	memset(&o, 0, sizeof(o));
	o.commit = t.commit;
	o.user = cli_user(&g);
	if (!may_approve(env, o.user))
		goto out;
	o.cfg = &g.cfg;
	o.env = env;
	o.repo = g.repo;
	o.st = &g.st;
	if (deploy_rollback(&res, &o, t.release) == 0 && res == DEPLOY_OK)
		r = 0;
out:
	gate_release(&g);
	return r;
}

/* ---- status ------------------------------------------------------- */

static void format_time(char *out, size_t size, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, size, "%Y-%m-%d %H:%M:%SZ", &tm);
}

static void show_waiting(struct gate *g, const struct config_env *env,
			 const struct repo_oid *live, bool has_live)
{
	struct repo_oid tip, *list = NULL;
	struct buf ref = BUF_INIT;
	size_t nr = 0, total = 0, i;

	buf_addf(&ref, "refs/heads/%s", env->branch);
	if (repo_resolve_commit(g->repo, &tip, ref.ptr) < 0) {
		error_clear();
		report_out("  waiting:  nothing (no branch '%s')", env->branch);
		goto out;
	}
	if (repo_commits_between(g->repo, &list, &nr, &total,
				 has_live ? live : NULL, &tip,
				 WAITING_SHOWN) < 0) {
		report_out("  waiting:  unknown (%s)", report_str(error_last()));
		goto out;
	}
	if (!total) {
		report_out("  waiting:  nothing: '%s' is live", env->branch);
		goto out;
	}
	if (env->mode == CONFIG_MODE_MANUAL)
		report_out("  waiting:  %zu commit%s on '%s' (approve: pushgate"
			   " deploy %s, or git push -o deploy)", total,
			   total == 1 ? "" : "s", env->branch, env->name);
	else
		report_out("  waiting:  %zu commit%s on '%s'", total,
			   total == 1 ? "" : "s", env->branch);
	for (i = 0; i < nr; i++) {
		char hex[REPO_OID_HEXSZ + 1], subject[256];

		repo_oid_to_hex(hex, &list[i]);
		if (repo_commit_subject(g->repo, subject, sizeof(subject),
					&list[i]) < 0)
			subject[0] = '\0';
		report_out("            %.12s %s", hex, report_str(subject));
	}
	if (total > nr)
		report_out("            ... and %zu more", total - nr);
out:
	free(list);
	buf_release(&ref);
}

static bool show_drift(const struct config_env *env, const char *release)
{
	bool drift = false;
	size_t i;

	for (i = 0; i < env->nr_hosts; i++) {
		const char *label = env->hosts[i].label;
		char *cur = NULL;

		if (deploy_host_current(&cur, env, i) < 0) {
			report_out("  host %-20s unreachable: %s", label,
				   report_str(error_last()));
			drift = true;
			continue;
		}
		if (!release[0] && !cur) {
			report_out("  host %-20s nothing deployed", label);
		} else if (cur && !strcmp(cur, release)) {
			report_out("  host %-20s ok (current -> releases/%s)",
				   label, cur);
		} else {
			report_out("  host %-20s DRIFT: current -> %s, recorded %s",
				   label, cur ? report_str(cur) : "(none)",
				   release[0] ? release : "(none)");
			drift = true;
		}
		free(cur);
	}
	return drift;
}

static int cmd_status(const char *dir, int argc, char **argv)
{
	struct gate g = GATE_INIT;
	size_t i;
	bool drift = false;
	int r;

	if (argc > 2 || (argc == 2 && argv[1][0] == '-'))
		return usage_error("status");
	if ((r = open_gate(&g, dir)) != 0)
		goto out;
	if (argc == 2 && !find_env(&g, argv[1])) {
		r = 2;
		goto out;
	}
	if (!g.cfg.nr_envs)
		report_out("no environments in hooks.ini");
	for (i = 0; i < g.cfg.nr_envs; i++) {
		const struct config_env *env = &g.cfg.envs[i];
		struct history_last l;
		struct repo_oid live;
		bool has_live;
		char when[32];

		if (argc == 2 && strcmp(env->name, argv[1]))
			continue;
		if (state_history_last(&g.st, env->name, &l) < 0)
			report_warn("cannot read the history: %s",
				    report_str(error_last()));
		has_live = repo_env_ref(g.repo, &live, env->name) == 0;
		error_clear();
		report_out("%s (branch %s, %s, %zu host%s)", env->name,
			   env->branch, env->mode == CONFIG_MODE_AUTO ?
			   "auto" : "manual", env->nr_hosts,
			   env->nr_hosts == 1 ? "" : "s");
		if (l.ok.commit) {
			format_time(when, sizeof(when), l.ok.time);
			report_out("  live:     %.12s release %s, %s by %s",
				   l.ok.commit, l.ok.release, when,
				   report_str(l.ok.user[0] ? l.ok.user :
					      "unknown"));
		} else {
			report_out("  live:     nothing deployed yet");
		}
		if (l.any.commit) {
			format_time(when, sizeof(when), l.any.time);
			report_out("  last:     %s %.12s %s at %s%s%s",
				   l.any.action, l.any.commit, l.any.result,
				   when, l.any.reason[0] ? ": " : "",
				   report_str(l.any.reason));
		}
		show_waiting(&g, env, &live, has_live);
		if (show_drift(env, l.ok.release ? l.ok.release : ""))
			drift = true;
		state_history_last_release(&l);
	}
	r = drift ? 1 : 0;
out:
	gate_release(&g);
	return r;
}

/* ---- history ------------------------------------------------------ */

struct lines {
	const char *env;
	struct strvec v;
};

static int collect(const struct history_record *rec, void *payload)
{
	struct lines *l = payload;
	char when[32];

	if (l->env && strcmp(rec->env, l->env))
		return 0;
	format_time(when, sizeof(when), rec->time);
	strvec_pushf(&l->v, "%-20s  %-12s  %-8s  %.12s  %-29s  %-10s  %-7s  %6.1fs  %s",
		     when, rec->env, rec->action, rec->commit,
		     rec->release[0] ? rec->release : "-",
		     rec->user[0] ? rec->user : "-", rec->result,
		     rec->duration, rec->reason);
	return 0;
}

static int cmd_history(const char *dir, int argc, char **argv)
{
	struct gate g = GATE_INIT;
	struct lines l;
	uint64_t n = HISTORY_DEFAULT;
	size_t i, shown = 0;
	int c, r;

	while ((c = verb_opt(argc, argv, "n:", NULL)) != -1) {
		if (c != 'n' || parse_uint(optarg, 1, 1000000, &n) < 0)
			return usage_error("history");
	}
	if (argc - optind > 1)
		return usage_error("history");
	if ((r = open_gate(&g, dir)) != 0)
		goto out;
	memset(&l, 0, sizeof(l));
	strvec_init(&l.v);
	l.env = optind < argc ? argv[optind] : NULL;
	if (l.env && !find_env(&g, l.env)) {
		r = 2;
		goto out;
	}
	if (state_history_read(&g.st, collect, &l) < 0) {
		report_error("cannot read the history: %s",
			     report_str(error_last()));
		r = 1;
	} else {
		report_out("%-20s  %-12s  %-8s  %-12s  %-29s  %-10s  %-7s  %7s  %s",
			   "TIME", "ENV", "ACTION", "COMMIT", "RELEASE",
			   "USER", "RESULT", "TOOK", "REASON");
		for (i = l.v.nr; i-- > 0 && shown < n; shown++)
			report_out("%s", report_line(l.v.v[i]));
	}
	strvec_clear(&l.v);
out:
	gate_release(&g);
	return r;
}

/* ---- check and trust ---------------------------------------------- */

static int cmd_check(const char *dir, int argc, char **argv)
{
	struct gate g = GATE_INIT;
	const char *only = argc > 1 ? argv[1] : NULL;
	size_t i, k, bad = 0;
	int r;

	if (argc > 2 || (only && only[0] == '-'))
		return usage_error("check");
	if ((r = open_gate(&g, dir)) != 0)
		goto out;
	if (only && !find_env(&g, only)) {
		r = 2;
		goto out;
	}
	report_out("hooks.ini: ok (%s, %zu environment%s)",
		   g.cfg.present ? "present" : "absent: no rules",
		   g.cfg.nr_envs, g.cfg.nr_envs == 1 ? "" : "s");
	for (i = 0; i < g.cfg.nr_envs; i++) {
		const struct config_env *env = &g.cfg.envs[i];

		if (only && strcmp(only, env->name))
			continue;
		for (k = 0; k < env->nr_hosts; k++) {
			if (deploy_check_host(env, k) < 0) {
				report_out("%s: %s: FAILED: %s", env->name,
					   env->hosts[k].label,
					   report_str(error_last()));
				bad++;
			} else {
				report_out("%s: %s: ok (%s, %s writable, tar present)",
					   env->name, env->hosts[k].label,
					   env->hosts[k].local ? "local" :
					   "host key and login ok",
					   env->path);
			}
		}
	}
	r = bad ? 1 : 0;
out:
	gate_release(&g);
	return r;
}

static bool confirm(const char *question)
{
	char answer[16];

	report_info("%s [y/N] ", question);
	if (!fgets(answer, sizeof(answer), stdin))
		return false;
	return answer[0] == 'y' || answer[0] == 'Y';
}

static int cmd_trust(const char *dir, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "yes", no_argument, NULL, 'y' },
		{ NULL, 0, NULL, 0 }
	};
	struct gate g = GATE_INIT;
	const struct config_env *env;
	bool yes = false;
	size_t k, bad = 0;
	int c, r;

	while ((c = verb_opt(argc, argv, "+y", longopts)) != -1) {
		if (c != 'y')
			return usage_error("trust");
		yes = true;
	}
	if (argc - optind != 1)
		return usage_error("trust");
	if ((r = open_gate(&g, dir)) != 0)
		goto out;
	r = 2;
	if (!(env = find_env(&g, argv[optind])))
		goto out;
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
		if (!yes && !confirm("trust this key and add it to known_hosts?")) {
			report_out("%s: not trusted", label);
			bad++;
			continue;
		}
		if (host_trust_key(&key, env, k) < 0) {
			report_out("%s: FAILED: %s", label,
				   report_str(error_last()));
			bad++;
		} else {
			report_out("%s: added to %s", label, env->known_hosts);
		}
	}
	r = bad ? 1 : 0;
out:
	gate_release(&g);
	return r;
}

/* ---- main --------------------------------------------------------- */

/* Help for one verb: `pushgate VERB --help`. */
static bool verb_help(const struct cmd *c, int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			report_out("usage: %s", c->usage);
			report_out("%s", c->help);
			return true;
		}
	return false;
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
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+C:hV", longopts, NULL)) != -1) {
		if (c == 'C') {
			dir = optarg;
		} else if (c == 'h') {
			usage(true);
			return 0;
		} else if (c == 'V') {
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
	if (!(cmd = find_cmd(argv[optind]))) {
		report_error("unknown command '%s' (see: pushgate --help)",
			     report_str(argv[optind]));
		return 2;
	}
	argc -= optind;
	argv += optind;
	if (verb_help(cmd, argc, argv))
		return 0;
	optind = 0;	/* 0: glibc starts over, ordering mode included */
	repo_library_init();
	r = cmd->fn(dir, argc, argv);
	repo_library_shutdown();
	return r;
}
