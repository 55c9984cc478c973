#ifndef RELEASE_H
#define RELEASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "target.h"

/*
 * The release-directory target of SPEC §5, on one host (local or SSH):
 *
 *	PATH/releases/<release-id>/	one directory per release, REVISION
 *	PATH/current -> releases/<id>	relative symlink, swapped atomically
 *	PATH/shared/			linked into every release
 *	PATH/maintenance		only during a maintenance window
 *
 * Every shell command line sent to the host is built here, from parts
 * that are each single-quoted; the operator's commands (`before`,
 * `after`, `healthcheck`, `on_failure`) run with the PUSHGATE_*
 * variables in the release directory, under timeout(1).
 *
 * Also here: release ids, the parser of `current`, and which releases
 * pruning removes — pure functions, tested on their own.
 */

/* Longest release id, terminating NUL included. */
#define RELEASE_ID_MAX 64
/* Seconds between two healthcheck attempts. */
#define RELEASE_HEALTHCHECK_DELAY 2

/*
 * Is `s` a release id pushgate could have made: 1-63 characters of
 * [A-Za-z0-9._-], not starting with '.' or '-'?
 */
bool release_id_valid(const char *s);

/*
 * The id of a release made at `time` (seconds since the epoch) of
 * commit `hex`: "20261126T051500Z-1a2b3c4d5e6f".
 */
void release_id_make(char out[RELEASE_ID_MAX], int64_t time,
		     const char *hex);

/*
 * Does `s` look like a release id rather than a revision (for `pushgate
 * rollback ENV ARG`): at least 8 digits, then a 'T'?
 */
bool release_id_looks_like(const char *s);

/*
 * "releases/ID" (what `current` holds) → ID if it is a valid id; NULL
 * otherwise (a link pushgate did not make). The result points into
 * `link`.
 */
const char *release_from_link(const char *link);

/* One release found on a host. */
struct release_entry {
	const char *id;
	bool failed;		/* holds a FAILED marker */
};

/*
 * Which releases pruning removes: the host keeps at most `keep` (FAILED
 * ones count); when it holds more, FAILED releases go first, then the
 * oldest good ones (ids sort in deploy order), never `live` nor
 * `previous` (either may be NULL). `list` may be in any order. The ids
 * to remove are stored in drop_out (room for `nr`), oldest first;
 * returns how many.
 */
size_t release_prune_select(const char **drop_out,
			    const struct release_entry *list, size_t nr,
			    unsigned keep, const char *live,
			    const char *previous);

/*
 * Open host `index` of the release environment `env` as a target
 * (connecting to it: see host_open() for the errors).
 */
int release_target_open(struct target **out, const struct config_env *env,
			size_t index);

/*
 * A dry run: every command a deploy (or rollback) of `job` would run on
 * a host of `env`, in order, one "WHAT: COMMAND" line each into `out`,
 * with `left` (the live release as recorded, or NULL) as the one left
 * (each host tells its own at deploy time). Runs nothing.
 */
struct strvec;
void release_describe(const struct config_env *env,
		      const struct target_job *job, const char *left,
		      struct strvec *out);

#endif
