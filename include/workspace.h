#ifndef WORKSPACE_H
#define WORKSPACE_H

#include <stddef.h>
#include <stdint.h>

#include "repo.h"
#include "state.h"

/*
 * A fresh checkout of one commit under the state directory, written from
 * the object database by gittree_export() into an fsutil writer:
 * regular and executable files, symlinks (as links, never followed),
 * directories. Entry names that could escape the directory are refused
 * and nothing is written through a symlink.
 */

struct workspace {
	char *dir;		/* absolute path, or NULL */
};

#define WORKSPACE_INIT { NULL }

/*
 * Create a new directory under `st` and export `commit`'s tree into it:
 * ERR_TOOBIG, with nothing written, if the tree has more than
 * `max_entries` entries ([verify] max_entries, see gittree_export()).
 */
int workspace_create(struct workspace *ws, struct state *st,
		     struct repo *repo, const struct repo_oid *commit,
		     uint64_t max_entries);

/* Remove the checkout directory (if any) and free `ws`. */
void workspace_remove(struct workspace *ws);

#endif
