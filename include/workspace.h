#ifndef WORKSPACE_H
#define WORKSPACE_H

#include <stddef.h>

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

/* Create a new directory under `st` and export `commit`'s tree into it. */
int workspace_create(struct workspace *ws, struct state *st,
		     struct repo *repo, const struct repo_oid *commit);

/* Remove the checkout directory (if any) and free `ws`. */
void workspace_remove(struct workspace *ws);

#endif
