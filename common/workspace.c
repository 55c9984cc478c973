#include "workspace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "errors.h"
#include "gittree.h"
#include "fsutil.h"
#include "sink.h"

/* Export `commit`'s tree into the existing empty directory `dir`. */
static int export(struct repo *repo, const struct repo_oid *commit,
		  const char *dir, uint64_t max_entries)
{
	struct fsutil_writer fw;
	struct sink sink;
	int r, r2;

	if ((r = fsutil_writer_open(&fw, dir, false)) == 0) {
		fsutil_writer_sink(&sink, &fw);
		r = gittree_export(repo, commit, ".", max_entries, &sink);
	}
	r2 = fsutil_writer_close(&fw);
	return r ? r : r2;
}

int workspace_create(struct workspace *ws, struct state *st,
		     struct repo *repo, const struct repo_oid *commit,
		     uint64_t max_entries)
{
	struct buf dir = BUF_INIT;
	struct error_saved saved;
	int r;

	ws->dir = NULL;
	if ((r = state_mkdtemp(st, &dir, "checkout")) < 0)
		return r;
	ws->dir = buf_detach(&dir, NULL);
	if ((r = export(repo, commit, ws->dir, max_entries)) < 0) {
		/* removing the partial checkout must not hide why it failed */
		error_save(&saved);
		workspace_remove(ws);
		return error_restore(&saved, r);
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
