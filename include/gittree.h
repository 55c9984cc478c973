#ifndef GITTREE_H
#define GITTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "repo.h"

/*
 * Walks over the trees of a commit, through libgit2: the paths a commit
 * adds or changes (the [verify] rules), its tree exported into a sink
 * (checkouts and deploys), and its entries with their ids (the manifest
 * of a release), reading only tree objects.
 */

/* One path a commit adds or changes (see gittree_changes()). */
struct gittree_change {
	const char *path;		/* full path, borrowed for the call */
	const char *name;		/* base name, points into path */
	struct repo_oid id;
	unsigned mode;			/* git file mode (0100644, 0120000...) */
	bool is_blob;			/* a file or symlink, not a submodule */
};

/* Return non-zero to stop the walk; that value is returned. */
typedef int (*gittree_change_fn)(const struct gittree_change *c, void *payload);

/*
 * A directory that a commit adds or changes, as gittree_changes() walks
 * into it. What the walk reports below it depends only on `key` (and,
 * for the names, on `path`): a caller may remember what it learnt under
 * the key and skip the directory the next time the key comes.
 */
struct gittree_subtree {
	const char *path;	/* full path, borrowed for the call */
	size_t depth;		/* components of path: 1 at the top */
	/*
	 * Borrowed for the call: its tree id, then the tree at `path` in
	 * each parent (zeros: none there); key_len is REPO_OID_RAWSZ times
	 * (1 + parents).
	 */
	const unsigned char *key;
	size_t key_len;
};

/*
 * From `enter`: GITTREE_SKIP leaves the directory out (nothing under it
 * is reported), 0 walks it; any other value stops the walk and is
 * returned. `leave`'s non-zero value stops the walk likewise.
 */
typedef int (*gittree_subtree_fn)(const struct gittree_subtree *t,
				  void *payload);
#define GITTREE_SKIP 1

struct gittree_changes_opts {
	gittree_change_fn change;	/* each path added or changed */
	gittree_subtree_fn enter;	/* before a directory; may be NULL */
	gittree_subtree_fn leave;	/* after a directory walked whole
					 * (not skipped, not stopped) */
	void *payload;			/* for all three */
};

#define GITTREE_CHANGES_OPTS_INIT { NULL, NULL, NULL, NULL }

/*
 * Call o->change for every path (blobs and submodules; not trees) that
 * commit `commit` adds or changes: whose entry differs from the entry at
 * that path in every parent (all paths of a root commit). Deleted paths
 * are not reported. Subtrees equal to a parent's are skipped without
 * being read; each other directory is passed to o->enter before what it
 * holds and to o->leave after. ERR_TOOBIG on paths longer than
 * REPO_MAX_PATH or trees nested deeper than REPO_MAX_DEPTH; ERR_INVALID
 * on an entry name that cannot be a path component ("", ".", "..", or
 * containing '/').
 */
int gittree_changes(struct repo *repo, const struct repo_oid *commit,
		    const struct gittree_changes_opts *o);

/*
 * Counting the entries of trees, to refuse one too large before walking
 * it ([verify] max_entries): every file, symlink, submodule and
 * directory, and what each directory holds, recursively. The count of
 * each tree is kept under its id in a `struct gittree_sizes`, so a tree
 * is read once however often it occurs (a tree holding the same subtree
 * twice, 40 levels deep, describes 2^40 entries in 40 small objects):
 * the time is that of the distinct trees, never of the entries they
 * describe. Counting stops past `max`: a count is exact up to `max`,
 * and "more than max" beyond.
 */
#define GITTREE_TOO_LARGE "tree too large: more than %llu entries"

struct gittree_sizes;

/*
 * A new, empty store of counts up to `max` (1 to REPO_MAX_ENTRIES;
 * other values are clipped into that range). Share one between the
 * counts of one push. Free with gittree_sizes_free() (NULL is fine).
 */
struct gittree_sizes *gittree_sizes_new(uint64_t max);
void gittree_sizes_free(struct gittree_sizes *s);

/* The `max` of `s`. */
uint64_t gittree_sizes_max(const struct gittree_sizes *s);

/*
 * *out = the number of entries of the tree of `commit` (or of its
 * subdirectory `subdir`; NULL or "." for all), or max + 1 when there
 * are more than `max`. ERR_NOTFOUND if `subdir` is not a directory of
 * the commit or an object is missing; ERR_INVALID on an object that is
 * not a tree where one is due, or a corrupt tree; ERR_TOOBIG on trees
 * nested deeper than REPO_MAX_DEPTH.
 */
int gittree_count(struct repo *repo, uint64_t *out,
		  const struct repo_oid *commit, const char *subdir,
		  struct gittree_sizes *sizes);

/*
 * Write the tree of `commit` (or its subdirectory `subdir`, "." for all)
 * into `sink`, each directory before its contents: directories 0755,
 * files 0644 or 0755 (executable), symlinks with their target; a
 * submodule is an empty directory. One blob is in memory at a time.
 * ERR_NOTFOUND if `subdir` is not a directory of the commit; ERR_INVALID
 * on an entry name that cannot be a path component, two entries with
 * the same name in one tree, or a symlink target holding a NUL;
 * ERR_TOOBIG (GITTREE_TOO_LARGE) when the tree has more than
 * `max_entries` entries (clipped to 1..REPO_MAX_ENTRIES): counted by
 * gittree_count() before anything is written.
 */
struct sink;
int gittree_export(struct repo *repo, const struct repo_oid *commit,
		   const char *subdir, uint64_t max_entries,
		   struct sink *sink);

/*
 * gittree_export() of a tree already found within `max_entries` (a
 * gittree_list() of the same commit and directory succeeded): not
 * counted again first. The walk still stops past `max_entries`.
 */
int gittree_export_listed(struct repo *repo, const struct repo_oid *commit,
			  const char *subdir, uint64_t max_entries,
			  struct sink *sink);

/*
 * Every entry of the tree of `commit` (or of its subdirectory `subdir`)
 * to `fn`, each directory before what it holds, with the mode and id it
 * would have once exported (gittree_export()): directories S_IFDIR|0755
 * with id "", files S_IFREG|0644 or 0755 and symlinks S_IFLNK|0777 with
 * their blob id (40 hex), a submodule an empty directory. Only trees are
 * read. Errors as gittree_export(), `max_entries` too.
 */
typedef int (*gittree_list_fn)(const char *path, unsigned mode,
			       const char *id, void *payload);

int gittree_list(struct repo *repo, const struct repo_oid *commit,
		 const char *subdir, uint64_t max_entries, gittree_list_fn fn,
		 void *payload);

#endif
