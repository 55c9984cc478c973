#ifndef RECEIVE_H
#define RECEIVE_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "gate.h"
#include "push.h"

/*
 * What the hooks do with a push: pre-receive's decision (every update
 * through the [verify] rules and the deploy gate, then build and test of
 * the tips that need it) and post-receive's deploys. Which environment
 * an update deploys, and whether now, is answered in one place:
 * receive_plan().
 */

enum receive_when {
	RECEIVE_NONE = 0,	/* no environment's branch, or a deletion */
	RECEIVE_NOW,		/* deploys on this push: auto, or -o deploy */
	RECEIVE_WAIT		/* a manual environment: waits for approval */
};

struct receive_plan {
	const struct config_env *env;	/* NULL with RECEIVE_NONE */
	enum receive_when when;
	bool approval;		/* refs/deploy/ENV (SPEC §14) */
};

/* The plan for update `u` of `push` (pure: no I/O). */
void receive_plan(struct receive_plan *out, const struct config *cfg,
		  const struct push *push, const struct push_update *u);

/*
 * pre-receive: every update of g->push through the [verify] rules and,
 * for those that deploy now, the deploy gate (approvers, `requires`);
 * then build and test of each tip that needs it. Prints progress, one
 * final line per ref and a warning per unknown push option; drops the
 * kept builds of a rejected push. True if the push is accepted.
 */
bool receive_verify(struct gate *g);

/*
 * The checks a push applies, for a deploy asked for by hand (pushgate
 * deploy ENV REV by `user`): the deploy gate (approvers, `requires`),
 * then build and test (from the cache, or run now). Prints why it
 * refuses and how to fix it; returns 0 (go ahead) or 1 (refused).
 */
int receive_check_deploy(struct gate *g, const struct config_env *env,
			 const struct repo_oid *commit, const char *user);

/*
 * post-receive: deploy every update planned RECEIVE_NOW, and tell the
 * pusher what the others wait for; then drop the builds no deploy
 * claimed. Returns the number of deploys that failed.
 */
size_t receive_deploy(struct gate *g);

/*
 * `pushgate deploy --pending [ENV]` (SPEC §13): deploy the tip of every
 * auto environment (or of `env`) that is not live and that nothing holds
 * now, as `user`; say why for the others. Idempotent. Returns the number
 * of deploys that failed.
 */
size_t receive_pending(struct gate *g, const struct config_env *env,
		       const char *user);

#endif
