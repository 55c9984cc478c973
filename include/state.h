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
 * Remove what is left in $GIT_DIR/pushgate/tmp/ of processes killed
 * outright: directories not changed for `older_than` seconds (more than
 * any build or test may run).
 */
void state_tmp_sweep(struct state *st, int64_t older_than);

/*
 * The test-result cache: `key` is a 40-hex digest of the tree and the
 * commands. state_cache_has() is true if that key passed before, and
 * marks it used. state_cache_add() records a pass, then bounds the
 * cache: see state_cache_prune().
 */
bool state_cache_has(struct state *st, const char *key);
int state_cache_add(struct state *st, const char *key);

/* What state_cache_add() keeps: results, and seconds since last use. */
#define STATE_CACHE_KEEP 1000
#define STATE_CACHE_MAX_AGE (90 * 24 * 3600)

/*
 * Drop the results not used for `max_age` seconds, then the least
 * recently used beyond `keep`, and temporary files older than an hour
 * (a writer killed outright).
 */
void state_cache_prune(struct state *st, size_t keep, int64_t max_age);

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
	/*
	 * If not NULL: once the lock is taken, *left_out is the line an
	 * earlier holder left because it died holding the lock (killed
	 * outright: it never called state_unlock()), or NULL if none; the
	 * caller frees it.
	 */
	char **left_out;
	bool shared;		/* a reader's lock: others may share it */
};

#define STATE_LOCK_OPTS_INIT { 0, NULL, NULL, NULL, NULL, NULL, false }

/*
 * Take the exclusive (or, with opts->shared, the shared) lock `name` (a
 * file under pushgate/locks/), waiting up to opts->timeout seconds.
 * Once taken, opts->holder (clipped to
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

/* Replace the holder line of a lock we hold (a note: never fails). */
void state_lock_note(int fd, const char *holder);

/*
 * Is lock `name` held right now? *holder_out is NULL if it is free,
 * else the line its holder wrote ("" if none yet); the caller frees it.
 */
int state_lock_holder(struct state *st, const char *name, char **holder_out);

/*
 * Did the last holder of lock `name` die holding it? *holder_out is the
 * line it left if the lock is free but still has one (see
 * opts->left_out), NULL otherwise; the caller frees it.
 */
int state_lock_left(struct state *st, const char *name, char **holder_out);

/*
 * A strictly increasing time for the sequence `name` (a file under
 * `dir`/locks/, used under the caller's lock): *out is `now`, or one
 * second after the last time handed out if that is not earlier.
 */
int state_next_time(struct state *st, const char *name, int64_t now,
		    int64_t *out);

/*
 * The artifact store (SPEC §10): built checkouts kept as
 * `dir`/artifacts/KEY, KEY a 40-hex digest of the tree and the `build`
 * command. A kept artifact is complete (moved in with one rename) and
 * never changes; a deploy reads it under a shared lock, and only an
 * artifact nobody holds is dropped.
 */

/* Append `dir`/artifacts/KEY to `out` (the store is created). */
int state_artifact_path(struct state *st, struct buf *out, const char *key);

/*
 * Move the finished checkout `dir` into the store as KEY. If the store
 * has KEY already (another build won), `dir` is removed and that one is
 * kept. Either way KEY is marked used now. `dir` must be on the state
 * directory's file system.
 */
int state_artifact_store(struct state *st, const char *key, const char *dir);

enum state_hold_flags {
	/* do not mark the artifact used (a dry run only looks) */
	STATE_HOLD_PEEK = 1 << 0
};

/*
 * Hold KEY for reading, or claim it before it is built: a shared lock,
 * taken before checking that the artifact exists (*found), which
 * state_artifact_drop() never breaks. Returns the lock fd, for
 * state_unlock(); a child forked meanwhile shares the hold. Marks the
 * artifact used now (what artifacts_keep drops last) unless `flags`
 * has STATE_HOLD_PEEK.
 */
int state_artifact_hold(struct state *st, const char *key, unsigned flags,
			bool *found);

/*
 * Where the manifest of release ID of environment ENV is kept:
 * `dir`/manifests/ENV/ID appended to `out` (the directories are
 * created). ENV and ID must be safe file names.
 */
int state_manifest_path(struct state *st, struct buf *out, const char *env,
			const char *id);

/*
 * Keep the manifests of ENV's `keep` newest releases (ids sort in deploy
 * order) and of `also` (NULL-terminated ids); remove the rest.
 */
void state_manifests_trim(struct state *st, const char *env, size_t keep,
			  const char *const *also);

/*
 * Deploy logs, $GIT_DIR/pushgate/logs/ENV/NAME (NAME NULL: the
 * directory), made as needed; trimmed to the `keep` last names in
 * sorted order; listed sorted (names starting with '.' left out).
 */
int state_log_path(struct state *st, struct buf *out, const char *env,
		   const char *name);
void state_logs_trim(struct state *st, const char *env, size_t keep);
int state_logs_list(struct state *st, const char *env, struct strvec *out);

/* One kept artifact, for state_artifact_list(). */
typedef int (*state_artifact_fn)(const char *key, int64_t used,
				 void *payload);

/* Every kept artifact with the time it was last used, in no order. */
int state_artifact_list(struct state *st, state_artifact_fn fn,
			void *payload);

/*
 * Drop KEY unless somebody holds it (*dropped says). A missing artifact
 * is dropped already.
 */
int state_artifact_drop(struct state *st, const char *key, bool *dropped);

/*
 * Remove what drops that were stopped halfway left behind, and the lock
 * files of artifacts that do not exist (a build that failed or was
 * killed) which nobody holds.
 */
void state_artifact_sweep(struct state *st);

/*
 * Ad-hoc holds (`pushgate lock ENV -m REASON`, SPEC §13): one small file
 * per environment, $GIT_DIR/pushgate/holds/ENV, holding `text` (the
 * caller's format). state_hold_get() gives NULL when ENV is not held.
 */
#define STATE_HOLD_MAX 4096
int state_hold_set(struct state *st, const char *env, const char *text);
int state_hold_get(struct state *st, const char *env, char **out);
int state_hold_clear(struct state *st, const char *env, bool *was_held);

#endif
