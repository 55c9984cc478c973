#ifndef STATUS_H
#define STATUS_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "deploy.h"
#include "history.h"
#include "hold.h"
#include "repo.h"
#include "state.h"

/*
 * What `pushgate status` shows of one environment, gathered in one
 * place (for the terminal today, for JSON and the status page later):
 * the live commit and release, the last record, a deploy running now,
 * the commits waiting on the branch, and each target's `current`
 * against the recorded release (drift). A target is not asked while a
 * deploy of the environment runs: its `current` is moving.
 */

struct status_host {
	const char *label;	/* borrowed from the config */
	char *current;		/* what `current` points at, or NULL */
	char *error;		/* could not be asked: why; or NULL */
	bool drift;		/* not the recorded release */
};

struct status_env {
	const struct config_env *env;
	struct history_last last;	/* last.ok: live; last.any: last */
	bool has_live;			/* refs/environments/NAME exists */
	struct repo_oid live;
	bool busy;			/* a deploy or rollback runs now */
	bool held;			/* pushgate lock ENV holds it */
	struct hold_lock hold;		/* by whom, since, why */
	struct deploy_holder holder;	/* which, if busy */
	bool left;			/* the last one died unrecorded */
	struct deploy_holder left_by;	/* which, if left */
	bool no_branch;			/* the branch does not exist */
	char *waiting_error;		/* waiting commits unknown: why */
	struct repo_oid *waiting;	/* the newest waiting commits */
	size_t nr_waiting;
	size_t total_waiting;		/* how many wait in all */
	struct status_host *hosts;	/* one per target, or NULL */
	size_t nr_hosts;
	bool drift;			/* a host drifted or was unreachable */
};

/*
 * Gather the status of `env`: at most `max_waiting` waiting commits
 * listed, and the targets asked only if `ask_hosts`. Errors reading the
 * history are returned; everything else is part of the status.
 */
int status_collect(struct status_env *out, struct repo *repo,
		   struct state *st, const struct config_env *env,
		   size_t max_waiting, bool ask_hosts);

void status_env_release(struct status_env *s);

/*
 * `pushgate check` of every target of `env`: one line each on stdout
 * ("ENV: HOST: ok (...)" or "ENV: HOST: FAILED: why"). Returns how many
 * failed.
 */
size_t status_check(const struct config_env *env, struct state *st);

/* Waiting commits `pushgate status` lists per environment. */
#define STATUS_WAITING_SHOWN 10

/*
 * Print `s` as `pushgate status` shows it, on stdout (commit subjects
 * read from `repo`).
 */
void status_print(const struct status_env *s, struct repo *repo);

#endif
