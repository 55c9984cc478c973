#include "workspace.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <git2.h>

#include "buf.h"
#include "errors.h"
#include "fsutil.h"

struct export {
	git_repository *git;
	struct buf path;	/* relative path, for messages */
	size_t entries;
};

static int git_fail(int code, const char *what)
{
	const git_error *e = git_error_last();

	return error_set(code, "%s: %s", what,
			 e && e->message ? e->message : "libgit2 error");
}

static bool bad_component(const char *name)
{
	return !*name || !strcmp(name, ".") || !strcmp(name, "..") ||
	       strchr(name, '/');
}

static int write_blob(struct export *ex, int dirfd, const char *name,
		      const git_oid *id, git_filemode_t mode)
{
	git_blob *blob = NULL;
	const char *data;
	size_t len;
	int fd = -1, r = 0;

	if (git_blob_lookup(&blob, ex->git, id) < 0)
		return git_fail(ERR_NOTFOUND, "cannot read blob");
	data = git_blob_rawcontent(blob);
	len = (size_t)git_blob_rawsize(blob);
	if (mode == GIT_FILEMODE_LINK) {
		char *target = xstrndup(data, len);

		if (strlen(target) != len || !len) {
			r = error_set(ERR_INVALID,
				      "symlink '%s' has a bad target",
				      ex->path.ptr);
		} else if (symlinkat(target, dirfd, name) < 0) {
			r = error_set_errno(ERR_SYS, "cannot create '%s'",
					    ex->path.ptr);
		}
		free(target);
		goto out;
	}
	fd = openat(dirfd, name,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		    0600);
	if (fd < 0) {
		r = error_set_errno(ERR_SYS, "cannot create '%s'",
				    ex->path.ptr);
		goto out;
	}
	if ((r = fsutil_write_all(fd, data, len)) < 0)
		goto out;
	if (fchmod(fd, mode == GIT_FILEMODE_BLOB_EXECUTABLE ? 0755 : 0644) <
	    0)
		r = error_set_errno(ERR_SYS, "cannot chmod '%s'",
				    ex->path.ptr);
out:
	if (fd >= 0 && close(fd) < 0 && !r)
		r = error_set_errno(ERR_SYS, "cannot write '%s'",
				    ex->path.ptr);
	git_blob_free(blob);
	return r;
}

static int export_tree(struct export *ex, const git_tree *tree, int dirfd,
		       size_t depth)
{
	size_t i, n = git_tree_entrycount(tree);
	int r = 0;

	if (depth > REPO_MAX_DEPTH)
		return error_set(ERR_TOOBIG, "trees nested deeper than %d",
				 REPO_MAX_DEPTH);
	for (i = 0; i < n && !r; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(tree, i);
		const char *name = git_tree_entry_name(e);
		git_filemode_t mode = git_tree_entry_filemode(e);
		size_t base = ex->path.len;

		if (bad_component(name))
			return error_set(ERR_INVALID,
					 "tree entry '%.100s' is not a valid name",
					 name);
		if (++ex->entries > WORKSPACE_MAX_ENTRIES)
			return error_set(ERR_TOOBIG,
					 "more than %d entries in the tree",
					 WORKSPACE_MAX_ENTRIES);
		if ((base && buf_addch(&ex->path, '/') < 0) ||
		    buf_addstr(&ex->path, name) < 0)
			return error_set(ERR_TOOBIG,
					 "a path is longer than %d bytes",
					 REPO_MAX_PATH);
		switch (mode) {
		case GIT_FILEMODE_TREE: {
			git_tree *sub = NULL;
			int fd;

			if (mkdirat(dirfd, name, 0755) < 0) {
				r = error_set_errno(ERR_SYS,
						    "cannot create '%s'",
						    ex->path.ptr);
				break;
			}
			fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY |
				    O_NOFOLLOW | O_CLOEXEC);
			if (fd < 0) {
				r = error_set_errno(ERR_SYS, "cannot open '%s'",
						    ex->path.ptr);
				break;
			}
			if (git_tree_lookup(&sub, ex->git,
					    git_tree_entry_id(e)) < 0)
				r = git_fail(ERR_NOTFOUND, "cannot read tree");
			else
				r = export_tree(ex, sub, fd, depth + 1);
			git_tree_free(sub);
			close(fd);
			break;
		}
		case GIT_FILEMODE_BLOB:
		case GIT_FILEMODE_BLOB_EXECUTABLE:
		case GIT_FILEMODE_LINK:
			r = write_blob(ex, dirfd, name, git_tree_entry_id(e),
				       mode);
			break;
		case GIT_FILEMODE_COMMIT:
			/* a submodule: an empty directory, as git does */
			if (mkdirat(dirfd, name, 0755) < 0)
				r = error_set_errno(ERR_SYS,
						    "cannot create '%s'",
						    ex->path.ptr);
			break;
		default:
			r = error_set(ERR_INVALID, "'%s' has an unknown mode",
				      ex->path.ptr);
		}
		buf_truncate(&ex->path, base);
	}
	return r;
}

int workspace_export(struct repo *repo, const struct repo_oid *commit,
		     const char *dir)
{
	struct export ex;
	git_commit *c = NULL;
	git_tree *tree = NULL;
	git_oid g;
	int fd = -1, r;

	ex.git = repo_libgit2(repo);
	ex.entries = 0;
	buf_init(&ex.path, REPO_MAX_PATH);
	memcpy(g.id, commit->id, REPO_OID_RAWSZ);
	if (git_commit_lookup(&c, ex.git, &g) < 0 ||
	    git_commit_tree(&tree, c) < 0) {
		r = git_fail(ERR_NOTFOUND, "cannot read the commit's tree");
		goto out;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		r = error_set_errno(ERR_SYS, "cannot open '%s'", dir);
		goto out;
	}
	r = export_tree(&ex, tree, fd, 0);
out:
	if (fd >= 0)
		close(fd);
	git_tree_free(tree);
	git_commit_free(c);
	buf_release(&ex.path);
	return r;
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
