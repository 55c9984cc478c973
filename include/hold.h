#ifndef HOLD_H
#define HOLD_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "config.h"
#include "state.h"

/*
 * What holds the deploys of an environment (SPEC §13): an ad-hoc hold
 * (`pushgate lock ENV -m REASON`, until `pushgate unlock ENV`), or its
 * deploy windows at an instant. Rollbacks are never held; the callers
 * see to that. Nothing here prints.
 */

#define HOLD_USER_MAX 128
#define HOLD_REASON_MAX 1024

/* An ad-hoc hold. */
struct hold_lock {
	char user[HOLD_USER_MAX];
	int64_t since;		/* seconds since the epoch */
	char reason[HOLD_REASON_MAX];
};

/* Put ENV on hold (control characters in the texts become spaces). */
int hold_lock_set(struct state *st, const char *env, const char *user,
		  const char *reason, int64_t now);

/* *held says whether ENV is on hold, and *out by whom, since, why. */
int hold_lock_get(struct state *st, const char *env, struct hold_lock *out,
		  bool *held);

/* Lift the hold; *was_held says whether there was one. */
int hold_lock_clear(struct state *st, const char *env, bool *was_held);

/* What holds a deploy, if anything. */
enum hold_by {
	HOLD_NONE = 0,
	HOLD_LOCK,		/* `lock` is set */
	HOLD_WINDOW		/* `window`, `has_until`, `until` are set */
};

struct hold_decision {
	enum hold_by by;
	struct hold_lock lock;
	const struct window *window;	/* borrowed from the config */
	bool has_until;
	int64_t until;
};

/*
 * May a deploy of `env` start at `now`? `manual`: it was asked for by a
 * person (the CLI, an approval by push), so that deny windows with
 * `manual = allow` let it pass. An ad-hoc hold comes first: it holds
 * whatever the windows say (an approver's --override-window passes
 * HOLD_WINDOW only).
 */
int hold_decide(struct hold_decision *out, const struct config *cfg,
		const struct config_env *env, struct state *st, int64_t now,
		bool manual);

/*
 * The reason as people read it: `held by window "NAME" until TIME`
 * (TIME in the window's zone and UTC; "for now" when it has no end in
 * sight) plus its message, or `held by lock: REASON (USER, TIME)`.
 */
void hold_describe(struct buf *out, const struct hold_decision *d);

#endif
