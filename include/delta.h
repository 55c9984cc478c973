#ifndef DELTA_H
#define DELTA_H

#include <stdbool.h>
#include <stddef.h>

#include "digest.h"
#include "manifest.h"
#include "strvec.h"

/*
 * What an incremental release needs (SPEC §9): the new release starts as
 * a copy of the base release on the host (hard links, or a real copy),
 * then the paths `remove` names are removed from the copy, and every
 * entry of the new manifest marked in `send` is sent and moved into
 * place. Pure: from the base's manifest (what was deployed), the new
 * release's manifest, and what the host really has in the base (each
 * entry's type and bits, and whether it changed after the base was
 * sealed). Nothing of the base is trusted that the host's listing does
 * not confirm: an entry changed after sealing, of another type or bits
 * than deployed, missing, or not deployed at all (junk) is never reused.
 */

struct delta_input {
	const struct manifest *base;	/* what was deployed in the base */
	const struct manifest *next;	/* the new release */
	/*
	 * The host's base: its entries with their type and bits (ids
	 * empty); newer[i] is true for an entry of `actual` whose content
	 * changed after the base was sealed.
	 */
	const struct manifest *actual;
	const bool *newer;
	const struct strvec *skip;	/* paths left alone (`shared`) */
};

struct delta {
	struct strvec remove;	/* top-most paths, each at most once */
	bool *send;		/* per entry of `next` */
	size_t nr_send;		/* entries sent */
	size_t nr_reused;	/* entries of `next` reused from the base */
};

/*
 * Plan. ERR_INVALID (then a full upload is needed) if a path to remove
 * lies under something the host has that is not a directory.
 */
int delta_plan(struct delta *out, const struct delta_input *in);
void delta_release(struct delta *d);

/* Is `path` one of `skip`, or under one? */
bool delta_skipped(const struct strvec *skip, const char *path);

/*
 * What the host's listing of a release that holds exactly `m` (but
 * `skip`) hashes to: the SHA-1 of one record per entry, "%y %m %P" and a
 * NUL as find(1) prints them ("f 644 a/b": type d, f or l, the bits in
 * octal, the path), in byte order (`LC_ALL=C sort -z`). Equal digests
 * spare listing the release entry by entry.
 */
void delta_listing_digest(char out[DIGEST_HEX + 1], const struct manifest *m,
			  const struct strvec *skip);

#endif
