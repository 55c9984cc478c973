#include "status.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "errors.h"
#include "report.h"
#include "timeutil.h"
#include "target.h"

static void ask_hosts(struct status_env *s, struct state *st)
{
	const struct config_env *env = s->env;
	const char *recorded = s->last.ok.release ? s->last.ok.release : "";
	size_t i;

	s->nr_hosts = env->nr_hosts;
	s->hosts = xcalloc(env->nr_hosts, sizeof(*s->hosts));
	for (i = 0; i < env->nr_hosts; i++) {
		struct status_host *h = &s->hosts[i];
		struct target *t = NULL;

		h->label = env->hosts[i].label;
		if (deploy_target_open(&t, env, i, st) < 0 ||
		    target_current(t, &h->current) < 0) {
			h->error = xstrdup(error_last());
			error_clear();
			h->drift = true;
		} else if (h->current) {
			h->drift = strcmp(h->current, recorded) != 0;
		} else {
			h->drift = recorded[0] != '\0';
		}
		s->drift |= h->drift;
		target_close(t);
	}
}

static void find_waiting(struct status_env *s, struct repo *repo,
			 size_t max)
{
	struct buf ref = BUF_INIT;
	struct repo_oid tip;

	buf_addf(&ref, "refs/heads/%s", s->env->branch);
	if (repo_resolve_commit(repo, &tip, ref.ptr) < 0) {
		error_clear();
		s->no_branch = true;
	} else if (repo_commits_between(repo, &s->waiting, &s->nr_waiting,
					&s->total_waiting,
					s->has_live ? &s->live : NULL, &tip,
					max) < 0) {
		s->waiting_error = xstrdup(error_last());
		error_clear();
	}
	buf_release(&ref);
}

int status_collect(struct status_env *out, struct repo *repo,
		   struct state *st, const struct config_env *env,
		   size_t max_waiting, bool ask)
{
	int r;

	memset(out, 0, sizeof(*out));
	out->env = env;
	if ((r = history_last(st, env->name, &out->last)) < 0)
		return r;
	out->has_live = repo_env_ref(repo, &out->live, env->name) == 0;
	error_clear();
	if ((r = deploy_busy(&out->busy, &out->holder, st, env->name)) < 0 ||
	    (!out->busy &&
	     (r = deploy_left(&out->left, &out->left_by, st, env->name)) < 0) ||
	    (r = hold_lock_get(st, env->name, &out->hold, &out->held)) < 0)
		return r;
	find_waiting(out, repo, max_waiting);
	if (ask && !out->busy)
		ask_hosts(out, st);
	return 0;
}

void status_env_release(struct status_env *s)
{
	size_t i;

	history_last_release(&s->last);
	free(s->waiting_error);
	free(s->waiting);
	for (i = 0; i < s->nr_hosts; i++) {
		free(s->hosts[i].current);
		free(s->hosts[i].error);
	}
	free(s->hosts);
	memset(s, 0, sizeof(*s));
}


static void show_waiting(const struct status_env *s, struct repo *repo)
{
	const struct config_env *env = s->env;
	bool manual = env->mode == CONFIG_MODE_MANUAL;
	size_t i;

	if (s->no_branch) {
		report_out("  waiting:  nothing (no branch '%s')", env->branch);
		return;
	}
	if (s->waiting_error) {
		report_out("  waiting:  unknown (%s)",
			   report_str(s->waiting_error));
		return;
	}
	if (!s->total_waiting) {
		report_out("  waiting:  nothing: '%s' is live", env->branch);
		return;
	}
	report_out("  waiting:  %zu commit%s on '%s'%s%s%s", s->total_waiting,
		   s->total_waiting == 1 ? "" : "s", env->branch,
		   manual ? " (approve: pushgate deploy " : "",
		   manual ? env->name : "",
		   manual ? ", or git push -o deploy)" : "");
	for (i = 0; i < s->nr_waiting; i++) {
		char hex[REPO_OID_HEXSZ + 1], subject[256];

		repo_oid_to_hex(hex, &s->waiting[i]);
		if (repo_commit_subject(repo, subject, sizeof(subject),
					&s->waiting[i]) < 0) {
			error_clear();
			subject[0] = '\0';
		}
		report_out("            %.12s %s", hex, report_str(subject));
	}
	if (s->total_waiting > s->nr_waiting)
		report_out("            ... and %zu more",
			   s->total_waiting - s->nr_waiting);
}

static void show_hosts(const struct status_env *s)
{
	const char *recorded = s->last.ok.release ? s->last.ok.release : "";
	size_t i;

	for (i = 0; i < s->nr_hosts; i++) {
		const struct status_host *h = &s->hosts[i];

		if (h->error)
			report_out("  host %-20s unreachable: %s", h->label,
				   report_str(h->error));
		else if (!h->drift && !h->current)
			report_out("  host %-20s nothing deployed", h->label);
		else if (!h->drift && s->env->kind == CONFIG_ENV_GITOPS)
			report_out("  remote %s ok (%s on %s holds release %s)",
				   h->label, s->env->gitops_path,
				   s->env->gitops_branch, h->current);
		else if (!h->drift)
			report_out("  host %-20s ok (current -> releases/%s)",
				   h->label, h->current);
		else if (s->env->kind == CONFIG_ENV_GITOPS)
			report_out("  remote %s DRIFT: %s on %s is not what "
				   "pushgate pushed (recorded %s)", h->label,
				   s->env->gitops_path, s->env->gitops_branch,
				   recorded[0] ? recorded : "(none)");
		else
			report_out("  host %-20s DRIFT: current -> %s, recorded %s",
				   h->label, h->current ?
				   report_str(h->current) : "(none)",
				   recorded[0] ? recorded : "(none)");
	}
}

void status_print(const struct status_env *s, struct repo *repo)
{
	const struct config_env *env = s->env;
	const struct history_record *ok = &s->last.ok, *any = &s->last.any;
	char when[TIMEUTIL_TEXT_MAX];

	report_out("%s (branch %s, %s, %zu host%s)", env->name, env->branch,
		   env->mode == CONFIG_MODE_AUTO ? "auto" : "manual",
		   env->nr_hosts, env->nr_hosts == 1 ? "" : "s");
	if (ok->commit) {
		timeutil_format(when, ok->time, TIMEUTIL_HUMAN);
		report_out("  live:     %.12s release %s, %s by %s", ok->commit,
			   ok->release, when, report_str(ok->user[0] ?
							 ok->user : "unknown"));
	} else {
		report_out("  live:     nothing deployed yet");
	}
	if (any->commit) {
		timeutil_format(when, any->time, TIMEUTIL_HUMAN);
		report_out("  last:     %s %.12s %s at %s%s%s",
			   history_action_name(any->action), any->commit,
			   history_result_name(any->result), when,
			   any->reason[0] ? ": " : "",
			   report_str(any->reason));
	}
	if (s->held) {
		timeutil_format(when, s->hold.since, TIMEUTIL_HUMAN);
		report_out("  held:     by lock: %s (%s, %s): pushgate unlock %s",
			   report_str(s->hold.reason),
			   report_str(s->hold.user[0] ? s->hold.user :
				      "unknown"), when, env->name);
	}
	if (s->busy) {
		timeutil_format(when, s->holder.since, TIMEUTIL_HUMAN);
		report_out("  now:      %s %.12s (by %s, since %s)",
			   s->holder.action == HISTORY_ROLLBACK ?
			   "rolling back to" : "deploying",
			   s->holder.commit[0] ? s->holder.commit : "?",
			   s->holder.user[0] ? report_str(s->holder.user) :
			   "unknown", s->holder.since ? when : "?");
	}
	if (s->left) {
		timeutil_format(when, s->left_by.since, TIMEUTIL_HUMAN);
		report_out("  stopped:  %s %.12s (by %s, since %s) did not "
			   "finish: its process died (the next deploy records"
			   " it)", history_action_name(s->left_by.action),
			   s->left_by.commit, s->left_by.user[0] ?
			   report_str(s->left_by.user) : "unknown", when);
	}
	show_waiting(s, repo);
	show_hosts(s);
}

size_t status_check(const struct config_env *env, struct state *st)
{
	size_t k, bad = 0;

	for (k = 0; k < env->nr_hosts; k++) {
		const struct config_host *h = &env->hosts[k];
		struct target *t = NULL;

		if (deploy_target_open(&t, env, k, st) < 0 ||
		    target_check(t) < 0) {
			report_out("%s: %s: FAILED: %s", env->name, h->label,
				   report_str(error_last()));
			bad++;
		} else {
			if (env->kind == CONFIG_ENV_GITOPS)
				report_out("%s: %s: ok (host key, login and"
					   " repository ok)", env->name,
					   h->label);
			else
				report_out("%s: %s: ok (%s, %s writable, tar"
					   " present)", env->name, h->label,
					   h->local ? "local" :
					   "host key and login ok", env->path);
		}
		target_close(t);
	}
	return bad;
}
