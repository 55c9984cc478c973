#ifndef HISTORY_H
#define HISTORY_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "state.h"
#include "strvec.h"

/*
 * The deployment history, $GIT_DIR/pushgate/history: one record per
 * deploy or rollback, one tab-separated line each (time, environment,
 * action, commit, release, user, result, duration, reason, and how the
 * release was sent: full, incremental or mixed; records written before
 * that field existed lack it). Tabs and
 * control characters in a field become spaces; fields are clipped to
 * HISTORY_FIELD_MAX bytes. Records are appended with one write each,
 * under the lock locks/history.lock, so concurrent writers never
 * interleave; a record torn by a crash costs only its own line. Readers
 * skip lines that do not parse (or that a newer pushgate wrote with a
 * word this one does not know), and count as damaged those longer than
 * HISTORY_MAX_LINE, holding a NUL, or cut short.
 *
 * Bounded: once an append would make `history` larger than
 * HISTORY_ROTATE_SIZE, the file becomes history.1 (replacing the one
 * before) and a new `history` starts with a copy of what the state of
 * each environment rests on: its newest record and its newest
 * HISTORY_CARRY_OK successful deploys and rollbacks (the live and
 * previous releases, rollback targets, `requires`), marked as carried
 * ("~" before the line) and together at most HISTORY_CARRY_MAX bytes.
 * Readers read history.1, then `history`, skipping the carried copies
 * of records history.1 holds; so the two files, at most twice
 * HISTORY_ROTATE_SIZE, read as one history in order. Readers hold the
 * lock shared, so that none sees a rotation halfway.
 */

#define HISTORY_FIELD_MAX 1000
#define HISTORY_MAX_LINE 8192
#define HISTORY_ROTATE_SIZE (1024 * 1024)
#define HISTORY_CARRY_OK 10
#define HISTORY_CARRY_MAX (256 * 1024)
/* Environments whose records a rotation carries over, at most. */
#define HISTORY_CARRY_ENVS 256
/* Seconds to wait for the history's lock; then go on without it. */
#define HISTORY_LOCK_TIMEOUT 30

enum history_action {
	HISTORY_DEPLOY = 0,
	HISTORY_ROLLBACK,
	/*
	 * A note on the record before it of the same environment and
	 * release: its notify failed or timed out (result failed, the
	 * reason says how). Only history_newest() passes notes on.
	 */
	HISTORY_NOTIFY
};

enum history_result {
	HISTORY_OK = 0,		/* live on every host */
	HISTORY_FAILED,		/* nothing changed, or rolled back */
	HISTORY_SKIPPED,	/* a newer push owned the environment */
	HISTORY_HELD		/* a window or a lock held it (SPEC §13) */
};

struct history_record {
	int64_t time;		/* seconds since the epoch, UTC */
	const char *env;
	enum history_action action;
	const char *commit;	/* full hex id */
	const char *release;	/* release id, or "" */
	const char *user;	/* or "" */
	enum history_result result;
	double duration;	/* seconds */
	const char *reason;	/* why it failed (or a note), or "" */
	const char *upload;	/* "full", "incremental", "mixed" or "" */
};

/* "deploy", "rollback", "notify"; "ok", "failed", "skipped", "held". */
const char *history_action_name(enum history_action action);
const char *history_result_name(enum history_result result);

/* Append one record. */
int history_add(struct state *st, const struct history_record *rec);

/* Called per record, oldest first; a non-zero return stops the read. */
typedef int (*history_fn)(const struct history_record *rec, void *payload);

/*
 * Read every deploy and rollback record, notes left out (the strings are
 * borrowed for the call). Returns 0, the callback's non-zero value, or
 * ERR_SYS.
 */
int history_read(struct state *st, history_fn fn, void *payload);

/*
 * The newest `max` records of `env` (NULL: of every environment), notes
 * included, newest first, to `fn` (a non-zero return stops), once the
 * history has been read (the lock is not held while `fn` runs). Holds
 * `max` records in memory, whatever the length of the history.
 * *damaged_out (if not NULL) gets the number of damaged lines skipped
 * (see above), for a warning.
 */
int history_newest(size_t *damaged_out, struct state *st, const char *env,
		   size_t max, history_fn fn, void *payload);

/* The header of the table history_format() lines make. */
void history_format_header(struct buf *out);

/*
 * One record as a line of that table (time, environment, action, commit,
 * release, user, result, duration, reason), unescaped: the caller
 * escapes it for display.
 */
void history_format(struct buf *out, const struct history_record *r);

/* The newest record of one environment, and its newest successful one. */
struct history_last {
	struct history_record ok;	/* ok.commit NULL: none */
	struct history_record any;	/* any.commit NULL: none */
	struct strvec keep_ok;		/* own the strings of each */
	struct strvec keep_any;
};

/* Fill *out for `env`; free it with history_last_release(). */
int history_last(struct state *st, const char *env, struct history_last *out);
void history_last_release(struct history_last *l);

#endif
