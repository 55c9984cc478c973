#ifndef GATE_H
#define GATE_H

#include <stdbool.h>

#include "config.h"
#include "push.h"
#include "repo.h"
#include "state.h"
#include "strvec.h"

/*
 * What every entry point needs before it can decide anything: the
 * repository (quarantine visible), hooks.ini, the state directory, and
 * for the hooks the push itself (updates on stdin, push options, the
 * pusher).
 */

struct gate {
	struct repo *repo;
	struct config cfg;
	struct state st;
	struct push push;
};

#define GATE_INIT { NULL, { 0 }, STATE_INIT, PUSH_INIT }

enum gate_flags {
	GATE_READ_PUSH = 1 << 0,	/* read updates from stdin, options */
	GATE_FROM_ENV = 1 << 1		/* open the repo git runs us in */
};

/*
 * Open the repository (`dir`, or from the environment with
 * GATE_FROM_ENV), load hooks.ini, open the state directory and, with
 * GATE_READ_PUSH, read the push. Returns 0, or ERR_INVALID for a
 * configuration or input error, or another negative error; every problem
 * is appended to `errors` as one line for the caller to show.
 */
int gate_open(struct gate *g, const char *dir, unsigned flags,
	      struct strvec *errors);

/* Free everything gate_open() opened (also after it failed). */
void gate_release(struct gate *g);

#endif
