#ifndef MANIFEST_H
#define MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strvec.h"

/*
 * What a release holds: every entry (path, type and permission bits,
 * content id), the `config` overlay included, REVISION not (every
 * release writes its own). pushgate keeps one per deployed release in
 * the state directory, so that the next deploy knows what the live
 * release is made of and sends only what changed (SPEC §9).
 *
 * An entry's mode is st_mode-like: S_IFDIR, S_IFREG or S_IFLNK with the
 * permission bits. Its id is the git blob id of a file's bytes or of a
 * symlink's target (40 hex digits), "" for a directory.
 *
 * The file: a first line "pushgate-manifest 1", a second "artifact KEY"
 * (the built artifact it came from, or "-"), then one record per entry,
 * "MODE ID PATH" ending in a NUL (a path may hold any byte but NUL),
 * with MODE in octal and ID "-" for a directory.
 */

#define MANIFEST_ID_HEX 40
#define MANIFEST_MAX_ENTRIES 2000000

struct manifest_entry {
	char *path;
	unsigned mode;
	char id[MANIFEST_ID_HEX + 1];
};

struct manifest;

/* An empty manifest. */
struct manifest *manifest_new(void);
void manifest_free(struct manifest *m);

/*
 * Add an entry; a later entry for the same path replaces the earlier one
 * (the `config` overlay), keeping its place. ERR_TOOBIG past
 * MANIFEST_MAX_ENTRIES, ERR_INVALID on a bad id.
 */
int manifest_add(struct manifest *m, const char *path, unsigned mode,
		 const char *id);

/* The entry at `path`, or NULL. Borrowed until `m` changes. */
const struct manifest_entry *manifest_get(const struct manifest *m,
					  const char *path);

/* Entries in the order they were first added (each dir before its own). */
size_t manifest_count(const struct manifest *m);
const struct manifest_entry *manifest_at(const struct manifest *m, size_t i);

/* Its index, or (size_t)-1. */
size_t manifest_index(const struct manifest *m, const char *path);

/* The artifact key recorded with it ("-" for none), borrowed. */
const char *manifest_artifact(const struct manifest *m);
void manifest_set_artifact(struct manifest *m, const char *key);

/* Write to `path` (a temporary file renamed into place, mode 0600). */
int manifest_write(const struct manifest *m, const char *path);

/*
 * Read `path`. ERR_NOTFOUND if it does not exist, ERR_INVALID if it is
 * not a manifest.
 */
int manifest_read(struct manifest **out, const char *path);

/* Two entries describe the same thing (type, bits and content). */
bool manifest_entry_same(const struct manifest_entry *a,
			 const struct manifest_entry *b);

#endif
