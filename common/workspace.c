#include "workspace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "errors.h"
#include "fsutil.h"

struct export {
	struct fsutil_writer fw;
	size_t entries;
};

static int write_entry(const struct repo_entry *e, void *payload)
{
	struct export *ex = payload;
	char *target;
	int r;

	if (++ex->entries > WORKSPACE_MAX_ENTRIES)
		return error_set(ERR_TOOBIG, "more than %d entries in the tree",
				 WORKSPACE_MAX_ENTRIES);
	if (e->mode == 040000)
		return fsutil_writer_dir(&ex->fw, e->path, 0755);
	if (e->mode == 0120000) {
		target = xstrndup(e->data, e->size);
		if (strlen(target) != e->size)
			r = error_set(ERR_INVALID,
				      "symlink '%.200s' has a bad target",
				      e->path);
		else
			r = fsutil_writer_symlink(&ex->fw, e->path, target);
		free(target);
		return r;
	}
	if ((r = fsutil_writer_file(&ex->fw, e->path,
				    e->mode == 0100755 ? 0755 : 0644,
				    e->size)) < 0)
		return r;
	return fsutil_writer_data(&ex->fw, e->data, e->size);
}

int workspace_export(struct repo *repo, const struct repo_oid *commit,
		     const char *dir)
{
	struct export ex;
	int r, r2;

	ex.entries = 0;
	if ((r = fsutil_writer_open(&ex.fw, dir, false)) == 0)
		r = repo_walk_tree(repo, commit, ".", write_entry, &ex);
	r2 = fsutil_writer_close(&ex.fw);
	return r ? r : r2;
}

int workspace_create(struct workspace *ws, struct state *st,
		     struct repo *repo, const struct repo_oid *commit)
{
	struct buf dir = BUF_INIT;
	int r;

	ws->dir = NULL;
	if ((r = state_mkdtemp(st, &dir, "checkout")) < 0)
		return r;
	ws->dir = buf_detach(&dir, NULL);
	if ((r = workspace_export(repo, commit, ws->dir)) < 0) {
		char msg[ERROR_MSG_MAX];

		/* removing the partial checkout must not hide why it failed */
		snprintf(msg, sizeof(msg), "%s", error_last());
		workspace_remove(ws);
		return error_set(r, "%s", msg);
	}
	return 0;
}

void workspace_remove(struct workspace *ws)
{
	if (!ws->dir)
		return;
	fsutil_remove_tree(ws->dir);
	free(ws->dir);
	ws->dir = NULL;
}
