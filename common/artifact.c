#include "artifact.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "errors.h"
#include "gittree.h"
#include "fsutil.h"
#include "report.h"
#include "sink.h"
#include "testrun.h"

/* The name of the claimed checkout inside this deploy's directory. */
#define CLAIMED "/checkout"

/*
 * Take the checkout pre-receive kept for this commit, by renaming it into
 * a directory of this deploy's own: two deploys of one commit never
 * share it, and the one that finds it gone builds again. `out` gets its
 * path. ERR_NOTFOUND if there is none.
 */
static int claim(struct state *st, const char *hex, struct buf *out)
{
	struct buf kept = BUF_INIT, mine = BUF_INIT;
	int r;

	if ((r = state_artifact_path(st, &kept, hex)) < 0)
		goto out;
	if (!fsutil_exists(kept.ptr)) {
		r = ERR_NOTFOUND;
		goto out;
	}
	if ((r = state_mkdtemp(st, &mine, "deploy")) < 0)
		goto out;
	buf_addstr(&mine, CLAIMED);
	if ((r = buf_error(&mine)) < 0)
		goto out;
	if (rename(kept.ptr, mine.ptr) < 0) {
		r = error_set_errno(ERR_NOTFOUND, "cannot take the artifact");
		buf_truncate(&mine, mine.len - strlen(CLAIMED));
		fsutil_remove_tree(mine.ptr);
		goto out;
	}
	buf_addstr(out, mine.ptr);
	r = buf_error(out);
out:
	buf_release(&kept);
	buf_release(&mine);
	return r;
}

int artifact_open(struct artifact *a, const struct artifact_opts *o)
{
	struct testrun_opts to = TESTRUN_OPTS_INIT;
	struct buf claimed = BUF_INIT, ref = BUF_INIT;
	int r = 0;

	memset(a, 0, sizeof(*a));
	a->repo = o->repo;
	a->commit = *o->commit;
	repo_oid_to_hex(a->hex, o->commit);
	a->subdir = o->env->artifact ? o->env->artifact : ".";
	a->config_dir = o->env->config_dir;
	if (!o->cfg->build)
		return 0;
	if (claim(o->st, a->hex, &claimed) == 0) {
		report_info("using the artifact built by pre-receive");
		a->checkout = buf_detach(&claimed, NULL);
		goto out;
	}
	error_clear();
	buf_addf(&ref, "refs/heads/%s", o->env->branch);
	to.cfg = o->cfg;
	to.repo = o->repo;
	to.st = o->st;
	to.commit = o->commit;
	to.ref = ref.ptr;
	to.env = o->env->name;
	to.user = o->user;
	r = testrun_build(&a->checkout, &to);
out:
	buf_release(&claimed);
	buf_release(&ref);
	return r;
}

/*
 * REVISION and FAILED at the top of a release are pushgate's: a pushed
 * file or link of that name could fake a failure, or (a symlink named
 * FAILED) redirect the marker's write outside the release.
 */
static int refuse_reserved(const char *path, void *payload)
{
	(void)payload;
	if (!strcmp(path, "REVISION") || !strcmp(path, "FAILED"))
		return error_set(ERR_INVALID,
				 "the release may not contain '%s' at its top:"
				 " pushgate writes that file itself", path);
	return 0;
}

/* One directory of the source (the tree, or the checkout) into `sink`. */
static int write_dir(struct artifact *a, const char *sub, struct sink *sink)
{
	struct buf path = BUF_INIT;
	int r;

	if (!a->checkout)
		return gittree_export(a->repo, &a->commit, sub, sink);
	buf_addstr(&path, a->checkout);
	if (strcmp(sub, "."))
		buf_addf(&path, "/%s", sub);
	if ((r = buf_error(&path)) == 0)
		r = fsutil_export_dir(path.ptr, sink);
	buf_release(&path);
	return r;
}

int artifact_write(struct sink *sink, void *payload)
{
	struct artifact *a = payload;
	char revision[REPO_OID_HEXSZ + 2];
	struct sink_filter f;
	struct sink checked;
	int r;

	sink_filter_init(&checked, &f, sink, refuse_reserved, NULL);
	snprintf(revision, sizeof(revision), "%s\n", a->hex);
	if ((r = write_dir(a, a->subdir, &checked)) < 0 ||
	    (a->config_dir &&
	     (r = write_dir(a, a->config_dir, &checked)) < 0))
		return r;
	return sink_file_data(sink, "REVISION", 0644, revision,
			      strlen(revision));
}

/* Remove a checkout, and the deploy-XXXXXX directory that claimed it. */
static void remove_checkout(char *dir)
{
	size_t n = strlen(dir);
	const size_t tail = strlen(CLAIMED);

	fsutil_remove_tree(dir);
	if (n > tail && !strcmp(dir + n - tail, CLAIMED)) {
		dir[n - tail] = '\0';
		fsutil_remove_tree(dir);
	}
}

void artifact_release(struct artifact *a)
{
	if (a->checkout)
		remove_checkout(a->checkout);
	free(a->checkout);
	a->checkout = NULL;
}

void artifact_drop_kept(struct state *st, const char *hex)
{
	struct buf path = BUF_INIT;

	if (state_artifact_path(st, &path, hex) == 0)
		fsutil_remove_tree(path.ptr);
	error_clear();
	buf_release(&path);
}
