#ifndef STATE_H
#define STATE_H

#include <stdbool.h>

#include "buf.h"

/*
 * $GIT_DIR/pushgate/: locks, the test-result cache, temporary checkouts
 * and (with the deploy engine) the history. Created on first use with
 * mode 0700.
 */

struct state {
	char *dir;		/* absolute path of $GIT_DIR/pushgate */
};

#define STATE_INIT { NULL }

/* Point at (and create if needed) `git_dir`/pushgate. */
int state_open(struct state *st, const char *git_dir);
void state_release(struct state *st);

/*
 * Make a fresh private directory under pushgate/tmp/ named after `label`
 * (which must be a safe file name component) and a random suffix; its
 * absolute path is appended to `out`.
 */
int state_mkdtemp(struct state *st, struct buf *out, const char *label);

/*
 * The test-result cache: `key` is a 40-hex digest of the tree and the
 * commands. state_cache_has() is true if that key passed before.
 */
bool state_cache_has(struct state *st, const char *key);
int state_cache_add(struct state *st, const char *key);

/*
 * Take the exclusive lock `name` (a file under pushgate/locks/), waiting
 * up to `timeout` seconds (0: do not wait). Returns the lock fd (>= 0),
 * released by state_unlock() or when the process exits; ERR_TIMEOUT if it
 * stayed busy.
 */
int state_lock(struct state *st, const char *name, unsigned timeout);
void state_unlock(int fd);

#endif
