#include "deploy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "artifact.h"
#include "buf.h"
#include "delta.h"
#include "deploylog.h"
#include "errors.h"
#include "fleet.h"
#include "gitops.h"
#include "hold.h"
#include "host.h"
#include "manifest.h"
#include "notify.h"
#include "proc.h"
#include "release.h"
#include "report.h"
#include "sink.h"
#include "strvec.h"
#include "timeutil.h"

/* The phases a worker runs on its target. */
enum phase {
	PHASE_CURRENT = 0,
	PHASE_PREPARE,
	PHASE_ACTIVATE,
	PHASE_RUN_ONCE,
	PHASE_REVERT,
	PHASE_MARK_FAILED,
	PHASE_DISCARD,
	PHASE_FINISH
};

static const char *const phase_names[] = {
	[PHASE_CURRENT] = "read current",
	[PHASE_PREPARE] = "prepare",
	[PHASE_ACTIVATE] = "activate",
	[PHASE_RUN_ONCE] = "run once",
	[PHASE_REVERT] = "revert",
	[PHASE_MARK_FAILED] = "mark failed",
	[PHASE_DISCARD] = "discard",
	[PHASE_FINISH] = "finish",
};

/* Reply flags. */
#define REPLY_CHANGED (1u << 0)		/* the target may have changed */
#define REPLY_HAS_CURRENT (1u << 1)	/* msg is the live release */
#define REPLY_INCREMENTAL (1u << 2)	/* prepare sent only what changed */

/* Longest reason kept: clipped for messages and the history. */
#define REASON_MAX 900

struct deploy {
	const struct deploy_opts *o;
	const struct config_env *env;
	struct deploy_outcome *out;
	struct target_job job;
	struct artifact art;
	struct manifest *next;	/* what the new release holds */
	struct manifest *base;	/* what the live one holds, if known */
	char base_release[RELEASE_ID_MAX];
	char base_commit[REPO_OID_HEXSZ + 1];
	bool *changed;		/* per target: activate may have changed it */
	bool *incremental;	/* per target: prepare sent what changed */
	struct host_spool spool;	/* the release, encoded once */
	char ref[300];
	char subject[256];	/* the commit's, for GitOps messages */
	/* what was live when the lock was taken, for notify */
	char prev_release[RELEASE_ID_MAX];
	char prev_commit[REPO_OID_HEXSZ + 1];
	int64_t started;	/* seconds since the epoch */
	bool recorded;		/* in the history: notify runs */
	char *override_note;	/* --override-window: what the record says */
	/* a deploy that died holding the lock, recorded by this one */
	struct deploy_holder left;
	bool left_recorded;
	/*
	 * The workers, when started before the release was listed, and the
	 * targets they connect to as soon as they start (see start_early()).
	 */
	struct fleet *fleet;
	bool *connect_now;
};

/* One worker's state, in its own process. */
struct worker {
	struct deploy *d;
	size_t index;
	struct target *t;
	/* the phases run, for undoing them if the parent goes away */
	bool prepared, reverted, marked, discarded;
	/* a connection tried at the start that failed, and why */
	int open_failed;
	char *open_error;
};

/*
 * Why a deploy that died (killed outright) failed: in the FAILED file its
 * workers leave, and in the history record the next deploy makes.
 */
#define LEFT_REASON "interrupted: the deploy process died before it" \
	" finished"

/* ---- targets -------------------------------------------------------- */

int deploy_target_open(struct target **out, const struct config_env *env,
		       size_t index, struct state *st)
{
	switch (env->kind) {
	case CONFIG_ENV_RELEASE:
		return release_target_open(out, env, index);
	case CONFIG_ENV_GITOPS:
		return gitops_target_open(out, env, st);
	}
	BUG("deploy_target_open: kind %d", (int)env->kind);
}

/* ---- workers -------------------------------------------------------- */

static int worker_open(struct worker *w)
{
	double start = timeutil_now();
	int r;

	if (w->t)
		return 0;
	if (w->open_failed) {
		/* tried at the start: the reason, without a second wait */
		r = error_set(w->open_failed, "%s", w->open_error);
		w->open_failed = 0;
		return r;
	}
	if ((r = deploy_target_open(&w->t, w->d->env, w->index,
				    w->d->o->st)) < 0)
		return r;
	if (w->d->env->kind == CONFIG_ENV_RELEASE)
		report_info("[%s] connected (%.2f s)", w->t->label,
			    timeutil_now() - start);
	return 0;
}

static void *worker_start(size_t index, void *payload)
{
	struct worker *w = xcalloc(1, sizeof(*w));

	w->d = payload;
	w->index = index;
	/* what the parent started finishes: ^C is the parent's to handle */
	proc_ignore_signals();
	repo_library_export_windows();
	/* the host's login shell starts while the parent lists the release */
	if (w->d->connect_now && w->d->connect_now[index] &&
	    (w->open_failed = worker_open(w)) < 0) {
		w->open_error = xstrdup(error_last());
		error_clear();
	}
	return w;
}

static int worker_run(void *state, unsigned phase, const char *arg,
		      struct fleet_reply *reply)
{
	struct worker *w = state;
	const struct target_job *job = &w->d->job;
	char *current = NULL;
	int r;

	if (phase == PHASE_CURRENT || phase == PHASE_PREPARE) {
		if ((r = worker_open(w)) < 0)
			return r;
	} else if (!w->t) {
		return 0;	/* never connected: nothing to undo */
	}
	switch (phase) {
	case PHASE_CURRENT:
		r = target_current(w->t, &current);
		if (!r && current) {
			reply->flags |= REPLY_HAS_CURRENT;
			snprintf(reply->msg, sizeof(reply->msg), "%s",
				 current);
		}
		free(current);
		return r;
	case PHASE_PREPARE:
		w->prepared = true;
		r = target_prepare(w->t, job);
		break;
	case PHASE_ACTIVATE:
		r = target_activate(w->t, job);
		break;
	case PHASE_RUN_ONCE:
		r = target_run_once(w->t, job, arg ? arg : "");
		break;
	case PHASE_REVERT:
		w->reverted = true;
		r = target_revert(w->t, job);
		break;
	case PHASE_MARK_FAILED:
		w->marked = true;
		r = target_mark_failed(w->t, job, arg);
		break;
	case PHASE_DISCARD:
		w->discarded = true;
		r = target_discard(w->t, job);
		break;
	case PHASE_FINISH:
		r = target_finish(w->t, job);
		break;
	default:
		BUG("worker_run: phase %u", phase);
	}
	if (w->t->changed)
		reply->flags |= REPLY_CHANGED;
	if (w->t->incremental)
		reply->flags |= REPLY_INCREMENTAL;
	if (!r && w->t->note) {
		snprintf(reply->msg, sizeof(reply->msg), "%s", w->t->note);
		free(w->t->note);
		w->t->note = NULL;
	}
	return r;
}

/*
 * The parent died (killed outright) before the deploy was over, and
 * nothing will be recorded: what this worker did to its target is undone
 * as a failed deploy's would be, so that no host stays on a release the
 * history does not have, or keeps a release nobody will mark or remove.
 */
static void worker_abandoned(void *state)
{
	struct worker *w = state;
	const struct target_job *job = &w->d->job;
	struct target *t = w->t;

	if (!t || !w->prepared)
		return;
	report_info("[%s] the deploy process died: undoing what it did here",
		    t->label);
	if (t->changed) {
		if (!w->reverted && target_revert(t, job) < 0)
			report_info("[%s] rollback incomplete: %s", t->label,
				    report_str(error_last()));
		if (!w->marked && target_mark_failed(t, job,
						     LEFT_REASON) < 0)
			report_info("[%s] cannot mark the release failed: %s",
				    t->label, report_str(error_last()));
	} else if (!w->discarded && job->action != TARGET_ROLLBACK &&
		   target_discard(t, job) < 0) {
		report_info("[%s] cannot remove the partial release: %s",
			    t->label, report_str(error_last()));
	}
	error_clear();
}

static void worker_stop(void *state)
{
	struct worker *w = state;

	target_close(w->t);
	free(w->open_error);
	free(w);
}

static const struct fleet_ops worker_ops = {
	worker_start, worker_run, worker_abandoned, worker_stop
};

/* ---- the outcome ---------------------------------------------------- */

void deploy_outcome_release(struct deploy_outcome *o)
{
	size_t i;

	for (i = 0; i < o->nr_hosts; i++) {
		free(o->hosts[i].error);
		free(o->hosts[i].rollback_error);
		free(o->hosts[i].note);
	}
	free(o->hosts);
	free(o->reason);
	memset(o, 0, sizeof(*o));
}

/* The first failure is the deploy's reason: "LABEL: what failed". */
static void set_reason(struct deploy_outcome *o, const char *label,
		       const char *msg)
{
	struct buf b = BUF_INIT;

	if (o->reason)
		return;
	if (label)
		buf_addf(&b, "%s: ", label);
	buf_addf(&b, "%.*s", REASON_MAX, msg);
	o->reason = buf_detach(&b, NULL);
}

/* "; rollback incomplete on LABEL: what failed", added to the reason. */
static void add_incomplete(struct deploy_outcome *o, const char *label,
			   const char *msg)
{
	struct buf b = BUF_INIT;

	buf_addstr(&b, o->reason ? o->reason : "deploy failed");
	if (b.len < REASON_MAX)
		buf_addf(&b, "; rollback incomplete on %s: %.200s", label,
			 msg);
	free(o->reason);
	o->reason = buf_detach(&b, NULL);
	o->rollback_incomplete = true;
}

static void fail_with(struct deploy_outcome *o, const char *what)
{
	struct buf b = BUF_INIT;

	buf_addf(&b, "%s: %s", what, error_last());
	set_reason(o, NULL, b.ptr);
	buf_release(&b);
}

struct phase_ctx {
	struct deploy *d;
	enum phase phase;
};

static void on_reply(size_t i, const struct fleet_reply *reply, void *payload)
{
	struct phase_ctx *c = payload;
	struct deploy_outcome *o = c->d->out;
	struct deploy_host *h = &o->hosts[i];

	h->duration += reply->seconds;
	if (reply->flags & REPLY_CHANGED)
		c->d->changed[i] = true;
	if (reply->flags & REPLY_INCREMENTAL)
		c->d->incremental[i] = true;
	if (!reply->code) {
		if (reply->msg[0] && c->phase != PHASE_CURRENT) {
			free(h->note);
			h->note = xstrdup(reply->msg);
		}
		return;
	}
	if (c->phase == PHASE_REVERT) {
		report_info("[%s] rollback incomplete: %s", h->label,
			    report_str(reply->msg));
		free(h->rollback_error);
		h->rollback_error = xstrdup(reply->msg);
		add_incomplete(o, h->label, reply->msg);
		return;
	}
	report_info("[%s] failed: %s", h->label, report_str(reply->msg));
	if (c->phase == PHASE_PREPARE || c->phase == PHASE_ACTIVATE ||
	    c->phase == PHASE_RUN_ONCE || c->phase == PHASE_CURRENT) {
		free(h->error);
		h->error = xstrdup(reply->msg);
		set_reason(o, h->label, reply->msg);
	}
}

static size_t run_phase(struct deploy *d, struct fleet *f, enum phase phase,
			const char *arg, const bool *pick)
{
	struct phase_ctx c = { d, phase };

	return fleet_run(f, phase, phase_names[phase], arg, pick, on_reply,
			 &c);
}

/* Prepare, `parallel` targets at a time (SPEC §11). */
static size_t run_prepare(struct deploy *d, struct fleet *f, const bool *pick)
{
	struct phase_ctx c = { d, PHASE_PREPARE };

	return fleet_run_limit(f, PHASE_PREPARE, phase_names[PHASE_PREPARE],
			       NULL, pick, d->env->parallel, on_reply, &c);
}

/* After a failure: what became of each target taking part. */
static void settle_hosts(struct deploy *d, const bool *pick)
{
	struct deploy_outcome *o = d->out;
	size_t i;

	for (i = 0; i < o->nr_hosts; i++) {
		struct deploy_host *h = &o->hosts[i];

		if (pick && !pick[i])
			continue;
		if (h->rollback_error)
			h->state = DEPLOY_HOST_ROLLBACK_INCOMPLETE;
		else if (d->changed[i])
			h->state = DEPLOY_HOST_ROLLED_BACK;
		else if (h->error)
			h->state = DEPLOY_HOST_FAILED;
		else
			h->state = DEPLOY_HOST_STOPPED;
	}
}

size_t deploy_plan_batches(const struct config_env *env, const bool *pick,
			   size_t *batch_of)
{
	size_t n = env->nr_hosts, i, nr = 0, in_batch = 0, seen = 0;
	unsigned size = env->batch;

	for (i = 0; i < n; i++) {
		if (pick && !pick[i])
			continue;
		if (!seen || (seen == 1 && env->canary) ||
		    (size && in_batch == size)) {
			nr++;
			in_batch = 0;
		}
		batch_of[i] = nr - 1;
		in_batch++;
		seen++;
	}
	return nr;
}

/* The one target that runs the once-per-deploy commands, if taking part. */
static bool primary_takes_part(const struct deploy *d, const bool *pick)
{
	return d->job.action != TARGET_REPAIR &&
	       (!pick || pick[d->env->primary_index]);
}

/* `before_once` or `after_once` on the primary; true if it failed. */
static bool run_once(struct deploy *d, struct fleet *f, const bool *pick,
		     const char *which)
{
	bool *one;
	bool failed;

	if (!primary_takes_part(d, pick) ||
	    !(strcmp(which, "before_once") ? d->env->after_once :
	      d->env->before_once))
		return false;
	one = xcalloc(d->env->nr_hosts, sizeof(*one));
	one[d->env->primary_index] = true;
	failed = run_phase(d, f, PHASE_RUN_ONCE, which, one) != 0;
	free(one);
	return failed;
}

/* "batch 2/5: web3 web4" */
static void show_batch(const struct deploy *d, const bool *in, size_t b,
		       size_t nr)
{
	struct buf line = BUF_INIT;
	size_t i;

	buf_addf(&line, "batch %zu/%zu:", b + 1, nr);
	for (i = 0; i < d->env->nr_hosts; i++)
		if (in[i])
			buf_addf(&line, " %s", d->env->hosts[i].label);
	report_info("%s", line.ptr);
	buf_release(&line);
}

/* `batch_pause` seconds after a healthy batch, said first. */
static void pause_between(const struct deploy *d, size_t b)
{
	struct timespec left;

	if (!d->env->batch_pause)
		return;
	report_info("batch %zu healthy: next batch in %u s", b + 1,
		    d->env->batch_pause);
	left.tv_sec = d->env->batch_pause;
	left.tv_nsec = 0;
	while (nanosleep(&left, &left) < 0)
		;
}

/*
 * Activate batch after batch, with the once-per-deploy commands before
 * the first and after the last; true if anything failed (the caller
 * reverts every target changed so far, in every batch).
 */
static bool activate_batches(struct deploy *d, struct fleet *f,
			     const bool *pick)
{
	size_t n = d->env->nr_hosts, i, b, nr;
	size_t *batch_of = xcalloc(n, sizeof(*batch_of));
	bool *in = xcalloc(n, sizeof(*in));
	bool failed = run_once(d, f, pick, "before_once");

	nr = deploy_plan_batches(d->env, pick, batch_of);
	for (b = 0; b < nr && !failed; b++) {
		for (i = 0; i < n; i++)
			in[i] = (!pick || pick[i]) && batch_of[i] == b;
		if (nr > 1)
			show_batch(d, in, b, nr);
		failed = run_phase(d, f, PHASE_ACTIVATE, NULL, in) != 0;
		if (!failed && b + 1 < nr)
			pause_between(d, b);
	}
	if (!failed)
		failed = run_once(d, f, pick, "after_once");
	free(batch_of);
	free(in);
	return failed;
}

/*
 * The phases, on the targets `pick` selects (NULL: all): prepare →
 * activate (in batches) → finish, all or nothing.
 */
static enum deploy_result drive(struct deploy *d, const bool *pick)
{
	struct deploy_outcome *o = d->out;
	size_t n = d->env->nr_hosts, i;
	struct fleet *f = d->fleet;
	enum deploy_result res = DEPLOY_FAILED;

	d->fleet = NULL;
	if (!f && fleet_start(&f, n, &worker_ops, d) < 0) {
		fail_with(o, "cannot start");
		return DEPLOY_FAILED;
	}
	if (run_prepare(d, f, pick)) {
		/* nothing changed anywhere: remove what was uploaded */
		if (d->job.action != TARGET_ROLLBACK)
			run_phase(d, f, PHASE_DISCARD, NULL, pick);
		settle_hosts(d, pick);
		goto out;
	}
	if (activate_batches(d, f, pick)) {
		for (i = 0; i < n; i++)
			o->rolled_back |= d->changed[i];
		run_phase(d, f, PHASE_REVERT, NULL, d->changed);
		run_phase(d, f, PHASE_MARK_FAILED, o->reason, pick);
		settle_hosts(d, pick);
		goto out;
	}
	/* a failed finish leaves maintenance or old releases, not a failure */
	run_phase(d, f, PHASE_FINISH, NULL, pick);
	for (i = 0; i < n; i++)
		if (!pick || pick[i])
			o->hosts[i].state = DEPLOY_HOST_OK;
	res = DEPLOY_OK;
out:
	fleet_stop(f);
	return res;
}

/* ---- drift ---------------------------------------------------------- */

struct drift_ctx {
	struct deploy *d;
	const char *recorded;
	bool *pick;
	size_t nr_drift;
};

static void on_current(size_t i, const struct fleet_reply *reply,
		       void *payload)
{
	struct drift_ctx *c = payload;
	struct deploy_host *h = &c->d->out->hosts[i];

	if (reply->code < 0) {
		struct phase_ctx pc = { c->d, PHASE_CURRENT };

		on_reply(i, reply, &pc);
		return;
	}
	if ((reply->flags & REPLY_HAS_CURRENT) &&
	    !strcmp(reply->msg, c->recorded))
		return;
	report_info("[%s] drifted: current -> %s, recorded %s: putting it"
		    " back", h->label, (reply->flags & REPLY_HAS_CURRENT) ?
		    report_str(reply->msg) : "(none)", c->recorded);
	c->pick[i] = true;
	c->nr_drift++;
}

/*
 * The commit recorded live is asked for again: which targets drifted
 * from the recorded release? Returns 0 with c->pick set, or an error
 * when a target could not be asked (the reason is set).
 */
static int find_drift(struct deploy *d, struct drift_ctx *c)
{
	struct fleet *f = NULL;
	size_t failed;

	if (fleet_start(&f, d->env->nr_hosts, &worker_ops, d) < 0) {
		fail_with(d->out, "cannot start");
		return ERR_GENERIC;
	}
	failed = fleet_run(f, PHASE_CURRENT, phase_names[PHASE_CURRENT], NULL,
			   NULL, on_current, c);
	fleet_stop(f);
	return failed ? ERR_GENERIC : 0;
}

/* ---- the whole deploy ----------------------------------------------- */

/*
 * Release ids sort in deploy order: the time stamp never goes back nor
 * repeats for one environment (two deploys in the same second take the
 * next second), whatever the commit ids.
 */
static int make_release_id(struct deploy *d)
{
	struct buf name = BUF_INIT;
	int64_t stamp;
	int r;

	buf_addf(&name, "release-%s", d->env->name);
	r = state_next_time(d->o->st, name.ptr, (int64_t)time(NULL), &stamp);
	buf_release(&name);
	if (r < 0)
		return error_set(r, "cannot pick a release id: %s",
				 error_last());
	release_id_make(d->out->release, stamp, d->out->commit);
	/*
	 * Entries are stamped with the time they are sent, never later:
	 * whatever changes one after that is newer than REVISION (§9).
	 */
	d->job.mtime = (uint64_t)time(NULL);
	return 0;
}

static void record(struct deploy *d, enum history_result result)
{
	struct deploy_outcome *o = d->out;
	struct history_record rec;

	memset(&rec, 0, sizeof(rec));
	rec.time = (int64_t)time(NULL);
	rec.env = o->env;
	rec.action = o->action;
	rec.commit = o->commit;
	rec.release = o->release;
	rec.user = d->o->user ? d->o->user : "";
	rec.result = result;
	rec.duration = o->duration;
	rec.reason = o->reason ? o->reason :
		     d->override_note ? d->override_note : "";
	rec.upload = o->upload;
	if (history_add(d->o->st, &rec) < 0)
		report_warn("cannot record the deploy in the history: %s",
			    report_str(error_last()));
}

/* Is the commit still the tip of the environment's branch? */
static bool still_tip(struct deploy *d)
{
	struct repo_oid tip;
	bool same = false;

	if (repo_resolve_commit(d->o->repo, &tip, d->ref) == 0)
		same = repo_oid_equal(&tip, &d->o->commit);
	else
		error_clear();
	return same;
}

/* Move refs/environments/NAME after a success (never in pre-receive). */
static void move_env_ref(struct deploy *d)
{
	struct buf msg = BUF_INIT;

	buf_addf(&msg, "pushgate: %s %s", history_action_name(d->out->action),
		 d->out->release);
	if (repo_set_env_ref(d->o->repo, d->env->name, &d->o->commit,
			     msg.ptr) < 0)
		report_warn("cannot move refs/environments/%s: %s",
			    d->env->name, report_str(error_last()));
	buf_release(&msg);
}

static void show_outcome(const struct deploy *d)
{
	const struct deploy_outcome *o = d->out;
	bool rollback = o->action == HISTORY_ROLLBACK;

	switch (o->result) {
	case DEPLOY_OK:
		if (o->nr_repaired)
			report_result(REPORT_GOOD, "put back %zu drifted host%s of '%s' on"
				    " %.12s in %.1f s (release %s)",
				    o->nr_repaired, o->nr_repaired == 1 ?
				    "" : "s", o->env, o->commit, o->duration,
				    o->release);
		else if (d->env->kind == CONFIG_ENV_GITOPS)
			report_result(REPORT_GOOD, "handed %.12s to GitOps: '%s' is %s on %s of"
				    " %s in %.1f s (release %s)", o->commit,
				    o->env, o->hosts[0].note &&
				    !strcmp(o->hosts[0].note, "already live") ?
				    "already live" : "committed",
				    d->env->gitops_branch,
				    d->env->gitops_remote, o->duration,
				    o->release);
		else if (o->nr_hosts > 1)
			report_result(REPORT_GOOD, "%s %.12s to '%s' on %zu hosts in %.1f s"
				    " (release %s)", rollback ? "rolled back" :
				    "deployed", o->commit, o->env, o->nr_hosts,
				    o->duration, o->release);
		else
			report_result(REPORT_GOOD, "%s %.12s to '%s' in %.1f s"
				      " (release %s)",
				    rollback ? "rolled back" : "deployed",
				    o->commit, o->env, o->duration,
				    o->release);
		break;
	case DEPLOY_SKIPPED:
		report_result(REPORT_WAIT, "skipped '%s': %.12s is no longer the tip of '%s'",
			    o->env, o->commit, d->env->branch);
		break;
	case DEPLOY_HELD:
		report_result(REPORT_WAIT, "'%s' %s (%zu commit%s waiting)", o->env,
			    report_line(o->reason ? o->reason : "held"),
			    o->nr_waiting, o->nr_waiting == 1 ? "" : "s");
		break;
	case DEPLOY_UNCHANGED:
		report_info("'%s' already runs %.12s: nothing to do (--force to"
			    " deploy it again)", o->env, o->commit);
		break;
	case DEPLOY_FAILED:
		report_result(REPORT_BAD, "FAILED to %s %.12s to '%s': %s%s; the whole "
			    "output: pushgate log %s %.*s",
			    rollback ? "roll back" : "deploy", o->commit,
			    o->env, report_line(o->reason ? o->reason :
						"unknown error"),
			    o->rolled_back && !o->rollback_incomplete ?
			    " (rolled back)" : "", o->env,
			    o->release[0] ? (int)strlen(o->release) : 12,
			    o->release[0] ? o->release : o->commit);
		break;
	}
}

/*
 * The lock's holder line:
 * "ACTION<TAB>COMMIT<TAB>USER<TAB>SINCE<TAB>PID<TAB>RELEASE" (RELEASE
 * empty until the deploy has its id). What it says outlives a holder
 * killed outright: the next one records that deploy (record_left()).
 */
static void holder_line(struct buf *b, const struct deploy *d)
{
	const char *user = d->o->user ? d->o->user : "";

	buf_addf(b, "%s\t%s\t%.100s\t%lld\t%ld\t%s",
		 history_action_name(d->out->action), d->out->commit,
		 user[strcspn(user, "\t\n")] ? "" : user,
		 (long long)d->started, (long)getpid(), d->out->release);
}

static int parse_holder(struct deploy_holder *out, const char *line)
{
	char action[16];
	const char *p = line, *tab;
	size_t n;

	memset(out, 0, sizeof(*out));
	if (!(tab = strchr(p, '\t')) || (n = (size_t)(tab - p)) >= sizeof(action))
		return ERR_INVALID;
	memcpy(action, p, n);
	action[n] = '\0';
	out->action = strcmp(action, "rollback") ? HISTORY_DEPLOY :
		      HISTORY_ROLLBACK;
	p = tab + 1;
	if (!(tab = strchr(p, '\t')) || tab - p != REPO_OID_HEXSZ)
		return ERR_INVALID;
	memcpy(out->commit, p, REPO_OID_HEXSZ);
	p = tab + 1;
	if (!(tab = strchr(p, '\t')) ||
	    (n = (size_t)(tab - p)) >= sizeof(out->user))
		return ERR_INVALID;
	memcpy(out->user, p, n);
	out->since = strtoll(tab + 1, NULL, 10);
	/* the process and the release (none in an older line) */
	if (!(tab = strchr(tab + 1, '\t')))
		return 0;
	out->pid = strtol(tab + 1, NULL, 10);
	if ((tab = strchr(tab + 1, '\t')) && release_id_valid(tab + 1))
		snprintf(out->release, sizeof(out->release), "%s", tab + 1);
	return 0;
}

static void lock_name(struct buf *b, const char *env)
{
	buf_addf(b, "env-%s", env);
}

int deploy_busy(bool *busy, struct deploy_holder *out, struct state *st,
		const char *env)
{
	struct buf name = BUF_INIT;
	char *line = NULL;
	int r;

	*busy = false;
	memset(out, 0, sizeof(*out));
	lock_name(&name, env);
	if ((r = state_lock_holder(st, name.ptr, &line)) == 0 && line) {
		*busy = true;
		if (parse_holder(out, line) < 0)
			memset(out, 0, sizeof(*out));
	}
	free(line);
	buf_release(&name);
	return r;
}

static void on_wait(const char *holder, void *payload)
{
	struct deploy *d = payload;
	struct deploy_holder h;
	char when[TIMEUTIL_TEXT_MAX];

	if (!holder || parse_holder(&h, holder) < 0) {
		report_info("waiting for another deploy of '%s' to finish",
			    d->env->name);
		return;
	}
	timeutil_format(when, h.since, TIMEUTIL_HUMAN);
	report_info("waiting for the %s of %.12s to '%s' (by %s, since %s)",
		    history_action_name(h.action), h.commit, d->env->name,
		    h.user[0] ? report_str(h.user) : "unknown", when);
}

int deploy_left(bool *left, struct deploy_holder *out, struct state *st,
		const char *env)
{
	struct buf name = BUF_INIT;
	char *line = NULL;
	int r;

	*left = false;
	memset(out, 0, sizeof(*out));
	lock_name(&name, env);
	if ((r = state_lock_left(st, name.ptr, &line)) == 0 && line &&
	    parse_holder(out, line) == 0)
		*left = true;
	free(line);
	buf_release(&name);
	return r;
}

static bool interrupted(void)
{
	return proc_interrupted() != 0;
}

/*
 * The deploy or rollback that held the lock before this one and died
 * holding it (killed outright) never recorded itself: it is recorded
 * now, failed, with its log (what its workers did after it died
 * included: they undo what it did, fleet.h), so that the history has
 * one record for every deploy.
 */
static void record_left(struct deploy *d, const char *line)
{
	struct deploy_holder *h = &d->left;
	struct history_record rec;
	char when[TIMEUTIL_TEXT_MAX];

	if (parse_holder(h, line) < 0)
		return;
	timeutil_format(when, h->since, TIMEUTIL_HUMAN);
	report_info("the %s of %.12s to '%s' (by %s, since %s) did not finish:"
		    " its process died; recorded as failed",
		    history_action_name(h->action), h->commit, d->env->name,
		    h->user[0] ? report_str(h->user) : "unknown", when);
	memset(&rec, 0, sizeof(rec));
	rec.time = (int64_t)time(NULL);
	rec.env = d->env->name;
	rec.action = h->action;
	rec.commit = h->commit;
	rec.release = h->release;
	rec.user = h->user;
	rec.result = HISTORY_FAILED;
	rec.duration = rec.time > h->since && h->since > 0 ?
		       (double)(rec.time - h->since) : 0;
	rec.reason = LEFT_REASON;
	rec.upload = "";
	if (history_add(d->o->st, &rec) < 0) {
		report_warn("cannot record the interrupted %s in the history:"
			    " %s", history_action_name(h->action),
			    report_str(error_last()));
		return;
	}
	d->left_recorded = true;
}

/*
 * The logs that deploys which died never finished: that of the one
 * record_left() recorded is kept as its log, the others go.
 */
static void sweep_logs(struct deploy *d)
{
	const struct deploy_holder *h = &d->left;
	struct deploylog_left dl;

	memset(&dl, 0, sizeof(dl));
	dl.pid = h->pid;
	dl.started = h->since;
	dl.action = history_action_name(h->action);
	dl.release = h->release;
	dl.commit = h->commit;
	deploylog_sweep(d->o->st, d->env->name,
			d->left_recorded && h->pid > 0 ? &dl : NULL);
}

static int take_lock(struct deploy *d)
{
	struct state_lock_opts lo = STATE_LOCK_OPTS_INIT;
	struct buf name = BUF_INIT, holder = BUF_INIT;
	char *left = NULL;
	int fd;

	lock_name(&name, d->env->name);
	holder_line(&holder, d);
	lo.timeout = d->o->cfg->lock_timeout;
	lo.holder = holder.ptr;
	lo.on_wait = on_wait;
	lo.payload = d;
	lo.cancelled = interrupted;
	lo.left_out = &left;
	fd = state_lock(d->o->st, name.ptr, &lo);
	if (fd >= 0 && left)
		record_left(d, left);
	if (fd >= 0)
		sweep_logs(d);
	free(left);
	buf_release(&name);
	buf_release(&holder);
	return fd;
}

/* The holder line again, now that the release has its id. */
static void note_release(struct deploy *d, int lock)
{
	struct buf holder = BUF_INIT;

	holder_line(&holder, d);
	if (!buf_error(&holder))
		state_lock_note(lock, holder.ptr);
	buf_release(&holder);
}

/*
 * The commit recorded live is asked for again: a no-op unless a target
 * drifted. Returns 0 (none drifted: nothing to do), 1 with *pick_out
 * selecting the drifted targets and the job set to put the recorded
 * release back, or an error (the reason is set).
 */
static int plan_repair(struct deploy *d, bool **pick_out)
{
	struct deploy_outcome *o = d->out;
	struct history_last last;
	struct drift_ctx c;
	int r = 0;

	*pick_out = NULL;
	memset(&c, 0, sizeof(c));
	if (history_last(d->o->st, o->env, &last) < 0 || !last.ok.commit ||
	    strcmp(last.ok.commit, o->commit) ||
	    !release_id_valid(last.ok.release)) {
		/* nothing recorded to compare with: a no-op, as always */
		error_clear();
		goto out;
	}
	c.d = d;
	c.recorded = last.ok.release;
	c.pick = xcalloc(d->env->nr_hosts, sizeof(*c.pick));
	if ((r = find_drift(d, &c)) < 0 || !c.nr_drift)
		goto out;
	snprintf(o->release, sizeof(o->release), "%s", last.ok.release);
	d->job.action = TARGET_REPAIR;
	d->job.release = o->release;
	o->nr_repaired = c.nr_drift;
	*pick_out = c.pick;
	c.pick = NULL;
	r = 1;
out:
	free(c.pick);
	history_last_release(&last);
	return r;
}

/* The repaired targets, for the history: "put back on web1, web2". */
static void note_repair(struct deploy_outcome *o, const bool *pick)
{
	struct buf b = BUF_INIT;
	size_t i, k = 0;

	buf_addstr(&b, "drift repaired on");
	for (i = 0; i < o->nr_hosts; i++)
		if (pick[i])
			buf_addf(&b, "%s %s", k++ ? "," : "",
				 o->hosts[i].label);
	free(o->reason);
	o->reason = buf_detach(&b, NULL);
}

/*
 * The base an incremental release may start from (SPEC §9): the live
 * release as recorded, with the manifest kept when it was deployed. The
 * hosts check that they really have it.
 */
static void choose_base(struct deploy *d)
{
	struct history_last last;
	struct buf path = BUF_INIT;
	int r;

	if (d->env->incremental == CONFIG_INCREMENTAL_OFF || d->o->full)
		return;
	if (history_last(d->o->st, d->env->name, &last) < 0 ||
	    !last.ok.commit || !release_id_valid(last.ok.release) ||
	    strlen(last.ok.commit) != REPO_OID_HEXSZ) {
		error_clear();	/* a first deploy: nothing to start from */
		goto out;
	}
	if (state_manifest_path(d->o->st, &path, d->env->name,
				last.ok.release) < 0 ||
	    (r = manifest_read(&d->base, path.ptr)) < 0) {
		report_info("full upload: no manifest of the live release %s",
			    last.ok.release);
		error_clear();
		goto out;
	}
	snprintf(d->base_release, sizeof(d->base_release), "%s",
		 last.ok.release);
	snprintf(d->base_commit, sizeof(d->base_commit), "%s",
		 last.ok.commit);
	d->job.base = d->base;
	d->job.base_release = d->base_release;
	d->job.base_commit = d->base_commit;
out:
	buf_release(&path);
	history_last_release(&last);
}

/*
 * With more than one SSH host taking part and every one of them due a
 * full upload, the release is encoded once here, and each host's upload
 * sends that (SPEC §11) instead of exporting it again.
 */
static int encode_once(struct deploy *d, const bool *pick)
{
	const struct config_env *env = d->env;
	double start = timeutil_now();
	size_t i, nr = 0;
	int r;

	if (d->job.action == TARGET_ROLLBACK || !d->job.produce || d->job.base)
		return 0;
	for (i = 0; i < env->nr_hosts; i++)
		if ((!pick || pick[i]) && !env->hosts[i].local)
			nr++;
	if (nr < 2)
		return 0;
	r = host_spool_create(&d->spool, d->o->st->dir, d->job.produce,
			      d->job.produce_payload, d->job.mtime);
	if (r < 0)
		return r;
	d->job.spool = &d->spool;
	report_info("encoded the release once for %zu hosts: %llu entries,"
		    " %.1f MB in %.1f s", nr,
		    (unsigned long long)d->spool.stats.entries,
		    (double)d->spool.size / 1e6, timeutil_now() - start);
	return 0;
}

/*
 * A new release sent whole to every host needs nothing from its listing
 * in the workers: they are started before it, and each connects at once
 * (the first `parallel` hosts taking part), so that the hosts' login
 * shells start while the parent lists. With a base, the workers need the
 * listing (the increment is its difference), and start after it.
 */
static int start_early(struct deploy *d, const bool *pick)
{
	const struct config_env *env = d->env;
	size_t i, nr = 0;
	int r;

	if (d->job.action != TARGET_DEPLOY || d->job.base ||
	    env->kind != CONFIG_ENV_RELEASE)
		return 0;
	d->connect_now = xcalloc(env->nr_hosts, sizeof(*d->connect_now));
	for (i = 0; i < env->nr_hosts; i++) {
		if ((pick && !pick[i]) || env->hosts[i].local ||
		    (env->parallel && nr == env->parallel))
			continue;
		d->connect_now[i] = true;
		nr++;
	}
	r = fleet_start(&d->fleet, env->nr_hosts, &worker_ops, d);
	free(d->connect_now);
	d->connect_now = NULL;
	if (r < 0) {
		fail_with(d->out, "cannot start");
		d->fleet = NULL;
	}
	return r;
}

/*
 * What the release holds (d->next), listed with room to keep the pack
 * mapped, which the workers forked next then do not inherit (see
 * repo_library_wide_windows()).
 */
static int list_release(struct deploy *d)
{
	int r, r2;

	repo_library_wide_windows(true);
	r = artifact_manifest(&d->next, &d->art);
	repo_library_wide_windows(false);
	if ((r2 = repo_reopen(d->o->repo)) < 0 && !r)
		r = r2;
	return r;
}

/* How the release was sent: incremental, full or mixed (by host). */
static void set_upload(struct deploy *d, const bool *pick)
{
	size_t i, nr = 0, inc = 0;

	if (d->job.action == TARGET_ROLLBACK)
		return;
	for (i = 0; i < d->env->nr_hosts; i++) {
		if (pick && !pick[i])
			continue;
		nr++;
		inc += d->incremental[i];
	}
	d->out->upload = !inc ? "full" : inc == nr ? "incremental" : "mixed";
}

/*
 * The new release's manifest, for the next deploy to start from; the
 * manifests of releases pruned long ago go.
 */
static void keep_manifest(struct deploy *d)
{
	const char *also[] = { d->base_release, NULL };
	struct buf path = BUF_INIT;

	if (state_manifest_path(d->o->st, &path, d->env->name,
				d->out->release) < 0 ||
	    manifest_write(d->next, path.ptr) < 0) {
		report_warn("cannot keep the manifest of %s: %s (the next"
			    " deploy sends everything)", d->out->release,
			    report_str(error_last()));
		error_clear();
	}
	state_manifests_trim(d->o->st, d->env->name, d->env->keep + 2,
			     d->base_release[0] ? also : NULL);
	buf_release(&path);
}

static void outcome_init(struct deploy_outcome *o, const struct deploy_opts *opts,
			 bool rollback)
{
	size_t i;

	memset(o, 0, sizeof(*o));
	o->result = DEPLOY_FAILED;
	o->action = rollback ? HISTORY_ROLLBACK : HISTORY_DEPLOY;
	o->env = opts->env->name;
	repo_oid_to_hex(o->commit, &opts->commit);
	o->nr_hosts = opts->env->nr_hosts;
	o->hosts = xcalloc(o->nr_hosts, sizeof(*o->hosts));
	for (i = 0; i < o->nr_hosts; i++)
		o->hosts[i].label = opts->env->hosts[i].label;
}

/*
 * Is the deploy held (SPEC §13)? Then the outcome says by what, and how
 * many commits wait, and nothing runs. An approver's override of the
 * windows is noted in the record of the deploy it lets through.
 */
static bool held(struct deploy *d)
{
	struct deploy_outcome *o = d->out;
	const struct deploy_opts *opts = d->o;
	struct hold_decision hd;
	struct buf why = BUF_INIT;
	struct repo_oid live, *ids = NULL;
	size_t nr = 0, total = 0;

	if (hold_decide(&hd, opts->cfg, d->env, opts->st, (int64_t)time(NULL),
			opts->manual) < 0) {
		/* what cannot be read may be a hold: fail closed */
		fail_with(o, "cannot read the holds");
		return true;
	}
	if (hd.by == HOLD_WINDOW && opts->override_window) {
		/* an approver passes the windows, never a lock */
		report_info("window overridden by %s: %s",
			    opts->user ? report_str(opts->user) : "unknown",
			    report_str(opts->override_window));
		buf_addf(&why, "window \"%s\" overridden: %.500s",
			 hd.window->name, opts->override_window);
		free(d->override_note);
		d->override_note = buf_detach(&why, NULL);
		return false;
	}
	if (hd.by == HOLD_NONE)
		return false;
	hold_describe(&why, &hd);
	o->result = DEPLOY_HELD;
	set_reason(o, NULL, why.ptr);
	if (repo_env_ref(opts->repo, &live, o->env) < 0 ||
	    repo_commits_between(opts->repo, &ids, &nr, &total, &live,
				 &opts->commit, 0) < 0)
		total = 1;
	error_clear();
	o->nr_waiting = total;
	free(ids);
	buf_release(&why);
	return true;
}

/* What is live before this deploy changes anything (for notify). */
static void remember_previous(struct deploy *d)
{
	struct history_last last;

	if (history_last(d->o->st, d->env->name, &last) == 0 &&
	    last.ok.commit && strlen(last.ok.commit) == REPO_OID_HEXSZ) {
		snprintf(d->prev_commit, sizeof(d->prev_commit), "%s",
			 last.ok.commit);
		snprintf(d->prev_release, sizeof(d->prev_release), "%s",
			 last.ok.release);
	}
	error_clear();
	history_last_release(&last);
}

static const char *host_result(enum deploy_host_state s)
{
	switch (s) {
	case DEPLOY_HOST_UNTOUCHED: return "untouched";
	case DEPLOY_HOST_OK: return "ok";
	case DEPLOY_HOST_FAILED: return "failed";
	case DEPLOY_HOST_STOPPED: return "stopped";
	case DEPLOY_HOST_ROLLED_BACK: return "rolled-back";
	case DEPLOY_HOST_ROLLBACK_INCOMPLETE: return "rollback-incomplete";
	}
	BUG("host_result: %d", (int)s);
}

/* The event of SPEC §14 that the outcome's history record is. */
static const char *event_of(const struct deploy_outcome *o)
{
	if (o->result == DEPLOY_SKIPPED)
		return "skipped";
	if (o->result == DEPLOY_HELD)
		return "held";
	if (o->result == DEPLOY_OK)
		return o->action == HISTORY_ROLLBACK ? "rollback" :
		       "deployed";
	if (o->action == HISTORY_DEPLOY && o->rolled_back)
		return "rolled-back";
	return "failed";
}

static deploy_recorded_fn recorded_hook;

void deploy_set_recorded_hook(deploy_recorded_fn fn)
{
	recorded_hook = fn;
}

/* Once the lock is released: notify, for the record just written. */
static void notify_outcome(struct deploy *d)
{
	const struct deploy_outcome *o = d->out;
	struct notify_host *hosts;
	struct notify_event ev;
	struct repo_oid prev;
	size_t i;

	hosts = xcalloc(o->nr_hosts ? o->nr_hosts : 1, sizeof(*hosts));
	for (i = 0; i < o->nr_hosts; i++) {
		hosts[i].host = o->hosts[i].label;
		hosts[i].result = host_result(o->hosts[i].state);
		hosts[i].duration = o->hosts[i].duration;
		hosts[i].error = o->hosts[i].error;
	}
	memset(&ev, 0, sizeof(ev));
	ev.cfg = d->o->cfg;
	ev.env = d->env;
	ev.repo = d->o->repo;
	ev.st = d->o->st;
	ev.event = event_of(o);
	ev.action = history_action_name(o->action);
	ev.result = o->result == DEPLOY_OK ? "ok" :
		    o->result == DEPLOY_SKIPPED ? "skipped" :
		    o->result == DEPLOY_HELD ? "held" : "failed";
	ev.reason = o->reason;
	ev.commit = &d->o->commit;
	ev.release = o->release;
	ev.previous = d->prev_release[0] ? d->prev_release : NULL;
	if (d->prev_commit[0] && repo_oid_from_hex(&prev, d->prev_commit) == 0)
		ev.previous_commit = &prev;
	error_clear();
	ev.user = d->o->user;
	ev.trigger = d->o->trigger ? d->o->trigger :
		     d->o->from_push ? "push" : "cli";
	ev.started_at = d->started;
	ev.finished_at = (int64_t)time(NULL);
	ev.duration = o->duration;
	ev.hosts = hosts;
	ev.nr_hosts = o->nr_hosts;
	notify_run(&ev);
	free(hosts);
}

/* The notification of record_left()'s record (SPEC §14: one a record). */
static void notify_left(struct deploy *d)
{
	const struct deploy_holder *h = &d->left;
	struct notify_event ev;
	struct repo_oid commit;

	if (repo_oid_from_hex(&commit, h->commit) < 0) {
		error_clear();
		return;
	}
	memset(&ev, 0, sizeof(ev));
	ev.cfg = d->o->cfg;
	ev.env = d->env;
	ev.repo = d->o->repo;
	ev.st = d->o->st;
	ev.event = "failed";
	ev.action = history_action_name(h->action);
	ev.result = "failed";
	ev.reason = LEFT_REASON;
	ev.commit = &commit;
	ev.release = h->release;
	ev.user = h->user[0] ? h->user : NULL;
	ev.started_at = h->since;
	ev.finished_at = d->started;
	ev.duration = d->started > h->since ? (double)(d->started - h->since) :
		      0;
	notify_run(&ev);
}

/*
 * The part shared by deploy and rollback: lock, checks, targets,
 * record. `release` is the existing release to switch to (rollback) or
 * NULL.
 */
/* The artifact of the deploy `o` asks for. */
static void artifact_opts_of(struct artifact_opts *ao,
			     const struct deploy_opts *o)
{
	memset(ao, 0, sizeof(*ao));
	ao->cfg = o->cfg;
	ao->env = o->env;
	ao->repo = o->repo;
	ao->st = o->st;
	ao->commit = &o->commit;
	ao->user = o->user;
}

static int run_locked(struct deploy_outcome *out, const struct deploy_opts *o,
		      const char *release)
{
	struct deploy d;
	struct deploylog log;
	struct repo_oid live;
	struct artifact_opts ao;
	double start = timeutil_now();
	bool *pick = NULL;
	int lock = -1, r = 0, plan;

	outcome_init(out, o, release != NULL);
	deploylog_start(&log, o->st, o->env->name);
	memset(&d, 0, sizeof(d));
	d.o = o;
	d.env = o->env;
	d.out = out;
	d.art.hold = -1;
	d.spool.fd = -1;
	d.started = (int64_t)time(NULL);
	d.changed = xcalloc(o->env->nr_hosts, sizeof(*d.changed));
	d.incremental = xcalloc(o->env->nr_hosts, sizeof(*d.incremental));
	snprintf(d.ref, sizeof(d.ref), "refs/heads/%s", o->env->branch);
	d.job.env = o->env;
	d.job.action = release ? TARGET_ROLLBACK : TARGET_DEPLOY;
	d.job.commit = out->commit;
	if (repo_commit_subject(o->repo, d.subject, sizeof(d.subject),
				&o->commit) == 0)
		d.job.subject = d.subject;
	error_clear();
	d.job.release = out->release;
	d.job.ref = d.ref;
	d.job.user = o->user;
	/* a worker whose parent died stops sending (worker_abandoned()) */
	d.job.cancelled = fleet_parent_gone;
	d.job.spool_dir = o->st->dir;
	if (release)
		snprintf(out->release, sizeof(out->release), "%s", release);
	if (o->env->kind == CONFIG_ENV_GITOPS)
		report_info("%s %.12s%s%s to '%s' (GitOps: %s of %s)",
			    release ? "rolling back" : "deploying",
			    out->commit, release ? ", release " : "",
			    release ? release : "", out->env,
			    o->env->gitops_path, o->env->gitops_branch);
	else
		report_info("%s %.12s%s%s to '%s' (%zu host%s)",
			    release ? "rolling back" : "deploying",
			    out->commit, release ? ", release " : "",
			    release ? release : "", out->env, out->nr_hosts,
			    out->nr_hosts == 1 ? "" : "s");
	artifact_opts_of(&ao, o);
	/* claimed while waiting: no other push's prune drops it meanwhile */
	if (!release && artifact_claim(&d.art, &ao) < 0)
		error_clear();	/* artifact_open() says why */
	if ((lock = take_lock(&d)) < 0) {
		fail_with(out, "cannot take the lock");
		r = lock;
		goto record;
	}
	remember_previous(&d);
	if (o->from_push && !still_tip(&d)) {
		out->result = DEPLOY_SKIPPED;
		set_reason(out, NULL, "a newer push owns the environment");
		goto record;
	}
	if (!release && !o->force &&
	    repo_env_ref(o->repo, &live, out->env) == 0 &&
	    repo_oid_equal(&live, &o->commit)) {
		if ((plan = plan_repair(&d, &pick)) == 0) {
			out->result = DEPLOY_UNCHANGED;
			goto done;
		}
		if (plan < 0)
			goto record;
	}
	error_clear();
	if (d.job.action == TARGET_DEPLOY && held(&d))
		goto record;
	if (d.job.action == TARGET_DEPLOY && make_release_id(&d) < 0) {
		fail_with(out, "release");
		goto record;
	}
	if (d.job.action == TARGET_DEPLOY)
		note_release(&d, lock);
	if (d.job.action != TARGET_ROLLBACK) {
		if (artifact_open(&d.art, &ao) < 0) {
			fail_with(out, "artifact");
			goto record;
		}
		d.job.produce = artifact_write;
		d.job.produce_payload = &d.art;
		if (d.job.action == TARGET_DEPLOY)
			choose_base(&d);
	}
	if (encode_once(&d, pick) < 0) {
		fail_with(out, "encoding the release");
		goto record;
	}
	if (start_early(&d, pick) < 0)
		goto record;
	if (d.job.action != TARGET_ROLLBACK) {
		if (list_release(&d) < 0) {
			fail_with(out, "artifact");
			goto record;
		}
		d.job.next = d.next;
	}
	out->result = drive(&d, pick);
	set_upload(&d, pick);
	if (out->result == DEPLOY_OK && d.job.action == TARGET_REPAIR)
		note_repair(out, pick);
	else if (out->result == DEPLOY_OK)
		move_env_ref(&d);
	if (out->result == DEPLOY_OK && d.job.action == TARGET_DEPLOY)
		keep_manifest(&d);
record:
	out->duration = timeutil_now() - start;
	record(&d, out->result == DEPLOY_OK ? HISTORY_OK :
	       out->result == DEPLOY_SKIPPED ? HISTORY_SKIPPED :
	       out->result == DEPLOY_HELD ? HISTORY_HELD : HISTORY_FAILED);
	d.recorded = true;
done:
	out->duration = timeutil_now() - start;
	show_outcome(&d);
	fleet_stop(d.fleet);
	host_spool_release(&d.spool);
	artifact_release(&d.art);
	manifest_free(d.next);
	manifest_free(d.base);
	if (lock >= 0)
		state_unlock(lock);
	if (out->result == DEPLOY_OK)
		artifact_gc_protected(o->st, o->cfg);
	if (d.left_recorded)
		notify_left(&d);
	if (d.recorded)
		notify_outcome(&d);
	if (d.recorded && recorded_hook)
		recorded_hook(o, out);
	deploylog_finish(&log, o->st, d.recorded,
			 history_action_name(out->action), out->release,
			 out->commit);
	free(pick);
	free(d.changed);
	free(d.incremental);
	free(d.override_note);
	return r;
}

/* ---- a dry run -------------------------------------------------------- */

/* The upload line of a dry run: what a new release would send. */
static void plan_upload(struct deploy *d)
{
	struct delta_input in;
	struct delta plan;
	bool *newer;
	size_t n = manifest_count(d->next);

	if (!d->job.base) {
		report_out("upload:   everything, %zu entries (%s)", n,
			   d->o->full ? "--full" :
			   d->env->incremental == CONFIG_INCREMENTAL_OFF ?
			   "incremental = off" : "nothing to start from");
		return;
	}
	newer = xcalloc(manifest_count(d->job.base) + 1, sizeof(*newer));
	memset(&in, 0, sizeof(in));
	in.base = d->job.base;
	in.next = d->next;
	in.actual = d->job.base;
	in.newer = newer;
	in.skip = &d->env->shared;
	if (delta_plan(&plan, &in) < 0) {
		report_out("upload:   everything, %zu entries (%s)", n,
			   report_str(error_last()));
		error_clear();
	} else {
		report_out("upload:   %zu changed entr%s to send, %zu path%s to "
			   "remove, %zu reused from %s (if a host holds it as "
			   "deployed; else everything)", plan.nr_send,
			   plan.nr_send == 1 ? "y" : "ies", plan.remove.nr,
			   plan.remove.nr == 1 ? "" : "s", plan.nr_reused,
			   d->base_release);
		delta_release(&plan);
	}
	free(newer);
}

/* Every command of every target, in order. */
static void plan_targets(struct deploy *d)
{
	const struct config_env *env = d->env;
	struct strvec lines = STRVEC_INIT;
	size_t i, j;

	if (env->kind == CONFIG_ENV_GITOPS) {
		report_out("[%s] fetch %s into $GIT_DIR/pushgate/gitops/%s.git",
			   env->gitops_remote, env->gitops_branch, env->name);
		report_out("[%s] replace %s with the release in a new commit on"
			   " %s (none if it holds the release already)",
			   env->gitops_remote, env->gitops_path,
			   env->gitops_branch);
		report_out("[%s] push %s, without force (up to 3 tries)",
			   env->gitops_remote, env->gitops_branch);
		return;
	}
	if (env->before_once)
		report_out("[%s] before_once, once before the first switch: %s",
			   env->hosts[env->primary_index].label,
			   report_line(env->before_once));
	release_describe(env, &d->job,
			 d->prev_release[0] ? d->prev_release : NULL, &lines);
	for (i = 0; i < env->nr_hosts; i++) {
		struct buf how = BUF_INIT;

		host_describe(&how, env, i);
		if (how.len && !buf_error(&how))
			report_out("[%s] %s", env->hosts[i].label, how.ptr);
		buf_release(&how);
		for (j = 0; j < lines.nr; j++)
			report_out("[%s] %s", env->hosts[i].label,
				   report_line(lines.v[j]));
	}
	if (env->after_once)
		report_out("[%s] after_once, once after the last batch: %s",
			   env->hosts[env->primary_index].label,
			   report_line(env->after_once));
	strvec_clear(&lines);
}

int deploy_dry_run(const struct deploy_opts *o, const char *release)
{
	struct deploy_outcome out;
	struct deploy d;
	struct artifact_opts ao;
	struct hold_decision hd;
	struct buf why = BUF_INIT;
	struct repo_oid live;
	char hex[REPO_OID_HEXSZ + 1], subject[256] = "";
	size_t i;
	int r = 0;

	outcome_init(&out, o, release != NULL);
	memset(&d, 0, sizeof(d));
	d.o = o;
	d.env = o->env;
	d.out = &out;
	d.art.hold = -1;
	snprintf(d.ref, sizeof(d.ref), "refs/heads/%s", o->env->branch);
	d.job.env = o->env;
	d.job.action = release ? TARGET_ROLLBACK : TARGET_DEPLOY;
	d.job.commit = out.commit;
	d.job.release = out.release;
	d.job.ref = d.ref;
	d.job.user = o->user;
	repo_oid_to_hex(hex, &o->commit);
	if (repo_commit_subject(o->repo, subject, sizeof(subject),
				&o->commit) < 0)
		error_clear();
	remember_previous(&d);
	if (release)
		snprintf(out.release, sizeof(out.release), "%s", release);
	else
		/* the id it would get now; the deploy reserves its own */
		release_id_make(out.release, (int64_t)time(NULL), out.commit);
	report_out("dry run: nothing is changed");
	report_out("%s %.12s %s to '%s'", release ? "roll back to" : "deploy",
		   hex, report_str(subject), o->env->name);
	for (i = 0; i < o->env->nr_hosts; i++)
		report_out("target:   %s", report_str(o->env->hosts[i].label));
	report_out("release:  %s%s", out.release,
		   release ? "" : " (the id it would get now)");
	if (repo_env_ref(o->repo, &live, o->env->name) == 0) {
		repo_oid_to_hex(hex, &live);
		report_out("live:     %.12s", hex);
		if (!release && !o->force && repo_oid_equal(&live, &o->commit))
			report_out("note:     already live: the deploy would do "
				   "nothing unless a host drifted (--force "
				   "makes a new release)");
	} else {
		report_out("live:     nothing deployed yet");
	}
	error_clear();
	if (release) {
		report_out("windows:  rollbacks are never held");
	} else if (hold_decide(&hd, o->cfg, o->env, o->st, (int64_t)time(NULL),
			       o->manual) < 0) {
		report_out("windows:  cannot tell: %s",
			   report_str(error_last()));
		error_clear();
	} else if (hd.by == HOLD_NONE) {
		report_out("windows:  the deploy may run now");
	} else if (hd.by == HOLD_WINDOW && o->override_window) {
		report_out("windows:  the deploy may run now (window \"%s\" "
			   "overridden)", hd.window->name);
	} else {
		hold_describe(&why, &hd);
		report_out("windows:  %s: the deploy would be held",
			   report_line(why.ptr));
	}
	if (!release) {
		artifact_opts_of(&ao, o);
		ao.dry_run = true;
		if (artifact_open(&d.art, &ao) < 0 ||
		    artifact_manifest(&d.next, &d.art) < 0) {
			report_out("artifact: %s", report_str(error_last()));
			error_clear();
		} else {
			report_out("artifact: %s, %zu entries",
				   d.art.dir ? "the kept build" : "the tree",
				   manifest_count(d.next));
			choose_base(&d);
			plan_upload(&d);
		}
	}
	plan_targets(&d);
	artifact_release(&d.art);
	manifest_free(d.next);
	manifest_free(d.base);
	deploy_outcome_release(&out);
	buf_release(&why);
	return r;
}

int deploy_run(struct deploy_outcome *out, const struct deploy_opts *o)
{
	return run_locked(out, o, NULL);
}

int deploy_rollback(struct deploy_outcome *out, const struct deploy_opts *o,
		    const char *release)
{
	if (!release_id_valid(release)) {
		outcome_init(out, o, true);
		return error_set(ERR_INVALID, "'%.100s' is not a release id",
				 release);
	}
	return run_locked(out, o, release);
}
