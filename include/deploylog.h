#ifndef DEPLOYLOG_H
#define DEPLOYLOG_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "state.h"

/*
 * Deploy logs (SPEC §14): the whole output of each deploy and rollback,
 * every line pushgate shows (the commands' output included, workers'
 * too), kept in $GIT_DIR/pushgate/logs/ENV/ under a name that sorts by
 * start time and says the action, the release and the commit:
 *
 *	20261204T171500Z.4242.deploy.20261204T171459Z-1a2b3c4d5e6f.HEX.log
 *
 * ("-" for a deploy that failed before it had a release id). The newest
 * DEPLOYLOG_KEEP of each environment are kept.
 */

#define DEPLOYLOG_KEEP 50

struct deploylog {
	int fd;			/* -1: not logging */
	char *tmp;		/* the file while it is written */
	char *env;
	int64_t started;
};

/*
 * Start copying the output of this process (and of the workers it will
 * fork) to a new log of `env`. Never fails: without a log the deploy
 * goes on (with a warning).
 */
void deploylog_start(struct deploylog *l, struct state *st, const char *env);

/*
 * Stop, and keep the log (`keep`) under its final name, or drop it (a
 * deploy that had nothing to do).
 */
void deploylog_finish(struct deploylog *l, struct state *st, bool keep,
		      const char *action, const char *release,
		      const char *commit);

/* A deploy that died holding the lock, as its holder line says. */
struct deploylog_left {
	long pid;		/* its process */
	int64_t started;
	const char *action;	/* "deploy" or "rollback" */
	const char *release;	/* or "" */
	const char *commit;
};

/*
 * The logs of `env` that deploys which died (killed outright) never
 * finished: that of `left` (NULL: none) is kept under the name it
 * would have had, the others (deploys killed while they waited for the
 * lock) go. A log that a live process (a deploy, or the workers one
 * left) still writes stays.
 */
void deploylog_sweep(struct state *st, const char *env,
		     const struct deploylog_left *left);

/*
 * The path of the newest log of `env` for `which`: a release id, a
 * commit id or an abbreviation of one (4 hex digits or more), or NULL
 * for the newest of all. ERR_NOTFOUND when there is none.
 */
int deploylog_find(struct buf *path, struct state *st, const char *env,
		   const char *which);

#endif
