#ifndef DEPLOY_H
#define DEPLOY_H

#include <stdbool.h>

#include "config.h"
#include "gate.h"
#include "repo.h"
#include "state.h"

/*
 * One deployment of one commit to every host of one environment, all or
 * nothing (SPEC §5): take the environment's lock; make sure a deploy
 * triggered by a push is still for the branch tip; export the artifact
 * (the commit's tree, or the built `artifact` directory) and stream it
 * to a new release directory on every host in parallel, with the
 * `config` overlay, REVISION and the `shared` links; then on each host
 * maintenance on, `before`, the atomic switch of `current`, `after` and
 * `healthcheck`; on any failure every switched host goes back to its
 * previous release (then `after`, then `on_failure`) and the new release
 * is marked FAILED; on success maintenance off and pruning to `keep`.
 * Every outcome is recorded in the history, and a success moves
 * refs/environments/NAME.
 *
 * Each host is served by its own worker process (forked, one SSH session
 * each) that the deploy drives phase by phase over a pipe.
 */

enum deploy_result {
	DEPLOY_OK = 0,		/* live on every host */
	DEPLOY_FAILED,		/* nothing changed, or rolled back */
	DEPLOY_SKIPPED,		/* a newer push owns the environment */
	DEPLOY_UNCHANGED	/* the commit is already live */
};

struct deploy_opts {
	const struct config *cfg;
	const struct config_env *env;
	struct repo *repo;
	struct state *st;
	struct repo_oid commit;
	const char *user;	/* who asked, or NULL */
	bool from_push;		/* skip unless still the branch tip */
	bool force;		/* deploy even if already live */
};

/*
 * Deploy. Returns 0 with *out set once the deploy ran to an outcome
 * (recorded in the history), or a negative error when it could not start
 * (reported and recorded too where possible).
 */
int deploy_run(enum deploy_result *out, const struct deploy_opts *opts);

/*
 * Make the existing release `release` live again on every host, through
 * `before`, the switch, `after` and `healthcheck`, with the same locking,
 * all-or-nothing behaviour and history record (action "rollback") as a
 * deploy. opts->commit is the commit that release holds. A release that
 * was pruned or is marked FAILED on any host is refused before any host
 * changes.
 */
int deploy_rollback(enum deploy_result *out, const struct deploy_opts *opts,
		    const char *release);

/* Longest release id, terminating NUL included. */
#define DEPLOY_RELEASE_ID_MAX 64

/* A release to go back to, as found in the history. */
struct deploy_target {
	char release[DEPLOY_RELEASE_ID_MAX];
	struct repo_oid commit;
};

/*
 * The release `pushgate rollback` makes live, from the history of `env`:
 * the release `want_release` if given, else the newest release of the
 * commit `want_commit` (full hex) if given, else the newest good release
 * older than the live one. Only releases whose deploy succeeded qualify.
 * ERR_NOTFOUND if there is none, ERR_INVALID if the named release failed;
 * the message says so.
 */
int deploy_pick_rollback(struct deploy_target *out, struct state *st,
			 const char *env, const char *want_release,
			 const char *want_commit);

/*
 * post-receive's work: deploy every updated branch whose environment is
 * `auto` (or `manual` with the push option `deploy`, pre-receive having
 * checked the approver), and tell the pusher how to approve the others.
 * Returns the number of deploys that failed.
 */
size_t deploy_push(struct gate *g);

/*
 * For `pushgate status`: the release id `current` points at on host
 * `index` of `env` (*out NULL if there is none; caller frees).
 */
int deploy_host_current(char **out, const struct config_env *env,
			size_t index);

/*
 * For `pushgate check`: connect to host `index` (host key,
 * authentication) and check that `path` is writable (creating it if
 * needed), that tar is installed and that every `shared` file exists.
 * Returns 0, or an error whose message says what is wrong.
 */
int deploy_check_host(const struct config_env *env, size_t index);

/* Seconds between two healthcheck attempts. */
#define DEPLOY_HEALTHCHECK_DELAY 2
/* Most hosts deployed at once (one worker process each). */
#define DEPLOY_MAX_WORKERS CONFIG_MAX_HOSTS

#endif
