#ifndef STATE_H
#define STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "strvec.h"

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

/*
 * The deployment history: one record per deploy or rollback, appended to
 * `dir`/history as one tab-separated line (time, env, action, commit,
 * release, user, result, duration, reason). Tabs and control characters
 * in the fields are replaced by spaces; fields are clipped to
 * STATE_FIELD_MAX bytes.
 */
#define STATE_FIELD_MAX 1000
#define STATE_HISTORY_MAX_LINE 8192

struct history_record {
	int64_t time;		/* seconds since the epoch, UTC */
	const char *env;
	const char *action;	/* "deploy", "rollback" */
	const char *commit;	/* full hex id */
	const char *release;	/* release id or "-" */
	const char *user;
	const char *result;	/* "ok", "failed", "skipped" */
	double duration;	/* seconds */
	const char *reason;	/* why it failed, or "" */
};

/* Append one record (a single write, so records never interleave). */
int state_history_add(struct state *st, const struct history_record *rec);

/* Called per record, oldest first; non-zero stops the read. */
typedef int (*state_history_fn)(const struct history_record *rec,
				void *payload);

/* Read every record (lines that do not parse are skipped). */
int state_history_read(struct state *st, state_history_fn fn, void *payload);

/* The newest record of one environment, and its newest successful one. */
struct history_last {
	struct history_record ok;	/* ok.commit NULL: none */
	struct history_record any;	/* any.commit NULL: none */
	struct strvec keep;		/* owns the strings of both */
};

/* Fill *out for `env` (release it with state_history_last_release()). */
int state_history_last(struct state *st, const char *env,
		       struct history_last *out);
void state_history_last_release(struct history_last *l);

#endif
