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
 * Call `fn` for every path (blobs and submodules; not trees) that commit
 * `commit` adds or changes: whose entry differs from the entry at that
 * path in every parent (all paths of a root commit). Deleted paths are
 * not reported. Subtrees equal to a parent's are skipped without being
 * read. ERR_TOOBIG on paths longer than REPO_MAX_PATH or trees nested
 * deeper than REPO_MAX_DEPTH; ERR_INVALID on an entry name that cannot be
 * a path component ("", ".", "..", or containing '/').
 */
int gittree_changes(struct repo *repo, const struct repo_oid *commit,
		    gittree_change_fn fn, void *payload);

/*
 * Write the tree of `commit` (or its subdirectory `subdir`, "." for all)
 * into `sink`, each directory before its contents: directories 0755,
 * files 0644 or 0755 (executable), symlinks with their target; a
 * submodule is an empty directory. One blob is in memory at a time.
 * ERR_NOTFOUND if `subdir` is not a directory of the commit; ERR_INVALID
 * on an entry name that cannot be a path component, two entries with
 * the same name in one tree, or a symlink target holding a NUL;
 * ERR_TOOBIG past REPO_MAX_ENTRIES entries.
 */
struct sink;
int gittree_export(struct repo *repo, const struct repo_oid *commit,
		   const char *subdir, struct sink *sink);

/*
 * Every entry of the tree of `commit` (or of its subdirectory `subdir`)
 * to `fn`, each directory before what it holds, with the mode and id it
 * would have once exported (gittree_export()): directories S_IFDIR|0755
 * with id "", files S_IFREG|0644 or 0755 and symlinks S_IFLNK|0777 with
 * their blob id (40 hex), a submodule an empty directory. Only trees are
 * read. Errors as gittree_export().
 */
typedef int (*gittree_list_fn)(const char *path, unsigned mode,
			       const char *id, void *payload);

int gittree_list(struct repo *repo, const struct repo_oid *commit,
		 const char *subdir, gittree_list_fn fn, void *payload);

#endif
