#ifndef NOTIFY_H
#define NOTIFY_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "repo.h"
#include "state.h"

/*
 * Notifications (SPEC §14): after a deploy or rollback is recorded in the
 * history and its lock released, the environment's `notify` command runs
 * on the Git server, if the event is one of its `notify_on`, with
 * PUSHGATE_* variables and the record as a JSON document on stdin. A
 * notify that fails or times out is a warning and a note in the history;
 * nothing it does changes the deploy's result.
 */

/* Most commits listed in the document (the newest ones). */
#define NOTIFY_MAX_COMMITS 50
/* Most bytes of a commit message in the document. */
#define NOTIFY_MAX_MESSAGE 16384

struct notify_host {
	const char *host;	/* its label in hooks.ini */
	const char *result;	/* ok, failed, stopped, rolled-back, ... */
	double duration;	/* seconds */
	const char *error;	/* or NULL */
};

struct notify_event {
	const struct config *cfg;
	const struct config_env *env;
	struct repo *repo;
	struct state *st;
	/* deployed, failed, rolled-back, rollback, held, skipped */
	const char *event;
	const char *action;	/* the history's: deploy or rollback */
	const char *result;	/* the history's: ok, failed, skipped, held */
	const char *reason;	/* or NULL */
	const struct repo_oid *commit;
	const char *release;	/* or "" */
	const char *previous;	/* the release that was live, or NULL */
	const struct repo_oid *previous_commit;	/* its commit, or NULL */
	const char *user;	/* or NULL */
	const char *trigger;	/* push, cli */
	int64_t started_at;	/* seconds since the epoch, UTC */
	int64_t finished_at;
	double duration;
	const struct notify_host *hosts;
	size_t nr_hosts;
};

/*
 * Run the environment's notify for `ev`, if any and if it wants the
 * event. Never fails: problems are warnings (and a history note).
 */
void notify_run(const struct notify_event *ev);

#endif
