#ifndef STATE_H
#define STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "strvec.h"

/*
 * $GIT_DIR/pushgate/: locks, the test-result cache, temporary checkouts,
 * kept builds (and, in module history, the history). Created on first
 * use with mode 0700.
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

/* Longest holder line kept in a lock file. */
#define STATE_HOLDER_MAX 512

/* Called once when state_lock() finds the lock busy and starts waiting. */
typedef void (*state_wait_fn)(const char *holder, void *payload);

/* While waiting: should we give up (the user pressed ^C)? */
typedef bool (*state_cancel_fn)(void);

struct state_lock_opts {
	unsigned timeout;	/* seconds to wait; 0: do not wait */
	const char *holder;	/* one line saying who holds it, or NULL */
	state_wait_fn on_wait;	/* or NULL */
	void *payload;
	state_cancel_fn cancelled;	/* or NULL */
};

#define STATE_LOCK_OPTS_INIT { 0, NULL, NULL, NULL, NULL }

/*
 * Take the exclusive lock `name` (a file under pushgate/locks/), waiting
 * up to opts->timeout seconds. Once taken, opts->holder (clipped to
 * STATE_HOLDER_MAX bytes) is written into the lock file for
 * state_lock_holder(); on_wait gets the current holder's line (NULL if
 * it left none) when the lock is busy. Returns the lock fd (>= 0),
 * released by state_unlock() or when the process exits; ERR_TIMEOUT if
 * it stayed busy, ERR_GENERIC if opts->cancelled said to give up.
 */
int state_lock(struct state *st, const char *name,
	       const struct state_lock_opts *opts);

/* Forget the holder line and release the lock. */
void state_unlock(int fd);

/*
 * Is lock `name` held right now? *holder_out is NULL if it is free,
 * else the line its holder wrote ("" if none yet); the caller frees it.
 */
int state_lock_holder(struct state *st, const char *name, char **holder_out);

/*
 * A strictly increasing time for the sequence `name` (a file under
 * `dir`/locks/, used under the caller's lock): *out is `now`, or one
 * second after the last time handed out if that is not earlier.
 */
int state_next_time(struct state *st, const char *name, int64_t now,
		    int64_t *out);

/*
 * Where pre-receive keeps the built checkout of an accepted tip until
 * post-receive has deployed it: `dir`/artifacts/<commit hex>, appended to
 * `out` (the artifacts directory is created).
 */
int state_artifact_path(struct state *st, struct buf *out, const char *hex);

#endif
