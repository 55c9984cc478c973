#ifndef DEPLOY_H
#define DEPLOY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "history.h"
#include "release.h"
#include "repo.h"
#include "state.h"
#include "target.h"

/*
 * One deployment of one commit to every target of one environment, all
 * or nothing (SPEC §5, §8): take the environment's lock (saying who
 * holds it); a deploy triggered by a push goes on only while its commit
 * is the branch tip; the commit already live is a no-op only if no host
 * drifted (a drifted host is put back); otherwise pick a release id,
 * open the artifact and drive every target through prepare → activate
 * → finish in worker processes (fleet), discarding on a failed prepare
 * and reverting every changed target on a failed activate. The result
 * is a struct deploy_outcome, recorded in the history (a success moves
 * refs/environments/NAME) and shown to the user.
 */

enum deploy_result {
	DEPLOY_OK = 0,		/* live on every target */
	DEPLOY_FAILED,		/* nothing changed, or rolled back */
	DEPLOY_SKIPPED,		/* a newer push owns the environment */
	DEPLOY_UNCHANGED,	/* the commit was live everywhere already */
	DEPLOY_HELD		/* a window or a lock holds it: nothing ran */
};

/* What became of one target (host). */
enum deploy_host_state {
	DEPLOY_HOST_UNTOUCHED = 0,	/* not part of this deploy */
	DEPLOY_HOST_OK,			/* live */
	DEPLOY_HOST_FAILED,		/* failed before anything changed */
	DEPLOY_HOST_STOPPED,		/* prepared, then stopped by another */
	DEPLOY_HOST_ROLLED_BACK,	/* changed, then put back */
	DEPLOY_HOST_ROLLBACK_INCOMPLETE	/* putting it back failed too */
};

struct deploy_host {
	const char *label;		/* borrowed from the config */
	enum deploy_host_state state;
	char *error;			/* what failed there, or NULL */
	char *rollback_error;		/* what failed going back, or NULL */
	char *note;			/* e.g. how drift was repaired */
	double duration;		/* seconds, all phases */
};

struct deploy_outcome {
	enum deploy_result result;
	enum history_action action;
	const char *env;		/* borrowed from the config */
	char commit[REPO_OID_HEXSZ + 1];
	char release[RELEASE_ID_MAX];	/* "" if none was made */
	char *reason;			/* why it failed, or a note, or NULL */
	bool rolled_back;		/* some target changed and went back */
	bool rollback_incomplete;	/* ... and going back failed */
	size_t nr_repaired;		/* drifted targets put back */
	size_t nr_waiting;		/* held: commits not yet live */
	const char *upload;		/* "full", "incremental", "mixed", "" */
	double duration;
	struct deploy_host *hosts;	/* one per target, config order */
	size_t nr_hosts;
};

/* Free what an outcome owns; it is left zeroed. */
void deploy_outcome_release(struct deploy_outcome *o);

struct deploy_opts {
	const struct config *cfg;
	const struct config_env *env;
	struct repo *repo;
	struct state *st;
	struct repo_oid commit;
	const char *user;	/* who asked, or NULL */
	bool from_push;		/* skip unless still the branch tip */
	bool force;		/* deploy even if already live */
	bool full;		/* send every entry, whatever the hosts have */
	/* what asked, for notify: push, cli, approval (NULL: push or cli) */
	const char *trigger;
	/* a person asked (CLI, approval): `manual = allow` windows pass */
	bool manual;
	/* an approver's --override-window REASON (windows only), or NULL */
	const char *override_window;
};

/*
 * Deploy. Returns 0 with *out filled once the deploy ran to an outcome
 * (recorded in the history and shown), or a negative error when it could
 * not start (shown and recorded too where possible; *out says FAILED).
 */
int deploy_run(struct deploy_outcome *out, const struct deploy_opts *opts);

/*
 * A dry run of deploy_run() (release NULL) or deploy_rollback(): prints
 * on stdout the targets, the release id, the windows' verdict, the
 * artifact, what an incremental release would send, and every command
 * each target would run; takes no lock, connects to nothing, builds
 * nothing, writes nothing. Returns 0.
 */
int deploy_dry_run(const struct deploy_opts *opts, const char *release);

/*
 * Called once per history record a deploy or rollback writes, after the
 * lock is released and notify ran (the status page: statuspage.h). It
 * must not fail the deploy: it only warns. One per process, set by the
 * mains (a module above deploy cannot be called from here); NULL: none.
 */
typedef void (*deploy_recorded_fn)(const struct deploy_opts *o,
				   const struct deploy_outcome *out);
void deploy_set_recorded_hook(deploy_recorded_fn fn);

/*
 * Make the existing release `release` live again on every target,
 * through `before`, the switch, `after` and `healthcheck`, with the same
 * locking, all-or-nothing behaviour and history record (action
 * rollback) as a deploy. opts->commit is the commit that release holds.
 * A release that was pruned or is marked FAILED on any target is refused
 * before any target changes.
 */
int deploy_rollback(struct deploy_outcome *out, const struct deploy_opts *opts,
		    const char *release);

/*
 * The switching order of SPEC §11: with `canary`, the first target
 * alone; then the others `batch` at a time (0: all together). Of the
 * targets `pick` selects (NULL: all), batch_of[i] is target i's batch,
 * from 0; returns how many batches there are.
 */
size_t deploy_plan_batches(const struct config_env *env, const bool *pick,
			   size_t *batch_of);

/*
 * Open target `index` of `env`, of the environment's kind (connecting:
 * see host_open() for the errors). For status and check.
 */
int deploy_target_open(struct target **out, const struct config_env *env,
		       size_t index, struct state *st);

/* Who holds an environment's lock (a deploy or rollback running). */
struct deploy_holder {
	enum history_action action;
	char commit[REPO_OID_HEXSZ + 1];
	char user[128];
	int64_t since;		/* seconds since the epoch */
	long pid;		/* its process, 0 if unknown */
	char release[RELEASE_ID_MAX];	/* "" until it has one */
};

/*
 * Is a deploy or rollback of `env` running? *busy says; if so, *out says
 * what (fields empty if its holder line cannot be read).
 */
int deploy_busy(bool *busy, struct deploy_holder *out, struct state *st,
		const char *env);

/*
 * Did the last deploy or rollback of `env` die holding the lock (killed
 * outright), so that it never recorded itself? *left says; if so, *out
 * says what it was. The next deploy or rollback records it, failed.
 */
int deploy_left(bool *left, struct deploy_holder *out, struct state *st,
		const char *env);

#endif
