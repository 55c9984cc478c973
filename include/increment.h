#ifndef INCREMENT_H
#define INCREMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "host.h"
#include "target.h"

/*
 * An incremental release on one host (SPEC §9), in two round trips:
 *
 * 1. inspect: the layout is prepared as for a full upload, then the
 *    base (the live release) is checked — `current` at it, REVISION the
 *    recorded commit, no FAILED — and summed up: the SHA-1 of its
 *    listing (every entry's type, bits and path) and the entries changed
 *    after REVISION was written. When the sum is that of what was
 *    deployed, the base is what its manifest says; otherwise (junk, a
 *    changed mode, a `shared` directory the tree lacks) a second round
 *    trip lists every entry;
 * 2. assemble: the new release starts (in opts->dir) as a copy of the
 *    base (hard links with `incremental = link`, `cp -a` with `copy`),
 *    the entries the plan (delta.h) removes are removed, and the entries
 *    it sends are extracted into an empty directory and linked into
 *    place over what the copy had (each a new file: nothing is written
 *    through an inode an older release shares), REVISION included.
 *
 * When the base cannot be used, nothing was created and the caller
 * falls back to a full upload, saying why.
 */

struct increment_opts {
	struct host *host;
	const char *label;		/* for progress lines */
	const struct config_env *env;
	const struct target_job *job;	/* next, base, base_release, ... */
	const char *prepare;		/* shell command run first (layout) */
	/*
	 * The directory under PATH/releases/ the release is assembled in
	 * (the caller gives it the release's name once it is complete).
	 */
	const char *dir;
};

struct increment_result {
	char *output;		/* what `prepare` printed (caller frees) */
	bool done;		/* the release was assembled */
	char *why;		/* why not (a full upload is due), or NULL */
	size_t sent;		/* entries sent */
	size_t reused;		/* entries reused from the base */
	uint64_t bytes;		/* file bytes sent */
};

/*
 * Try. Returns 0 with out->done, or 0 with out->why when the base cannot
 * be used (nothing was created), or a negative error when the host
 * failed (the release directory may be left: the caller discards it).
 */
int increment_upload(struct increment_result *out,
		     const struct increment_opts *o);

void increment_result_release(struct increment_result *r);

#endif
