#ifndef GITREMOTE_H
#define GITREMOTE_H

#include <stdbool.h>
#include <stddef.h>

#include "repo.h"

/*
 * A remote Git repository that pushgate commits to (SPEC §12, a GitOps
 * environment's), through a private cache repository of its own: fetch
 * a branch, write a release's entries as a tree, replace one directory
 * of the branch's tree with it, commit and push without force. Every
 * access goes through libgit2, whose SSH transport is libssh2; the
 * server's host key is checked against known_hosts with the port, fail
 * closed, before anything is sent.
 */

struct gitremote;
struct sink;

struct gitremote_opts {
	const char *cache;	/* the cache repository (created if missing) */
	const char *url;	/* as written in hooks.ini */
	const char *user;	/* the SSH user */
	const char *host;	/* to look the host key up */
	unsigned port;
	const char *label;	/* names the remote in messages */
	const char *identity;	/* private key file; NULL: the agent */
	const char *known_hosts;
	const char *trust_hint;	/* appended to host key errors, or NULL */
};

/* Open (or create) the cache repository; nothing is fetched yet. */
int gitremote_open(struct gitremote **out, const struct gitremote_opts *o);
void gitremote_free(struct gitremote *g);

/*
 * Fetch `branch`: *found says whether the remote has it, and *tip is its
 * commit then.
 */
int gitremote_fetch(struct gitremote *g, const char *branch,
		    struct repo_oid *tip, bool *found);

/*
 * The tree at `path` in `commit` (of the cache): *found is false when
 * there is none (or not a directory).
 */
int gitremote_subtree(struct gitremote *g, const struct repo_oid *commit,
		      const char *path, struct repo_oid *tree, bool *found);

/*
 * A sink that writes a release's entries into the cache as a tree (blobs
 * streamed, each directory a tree; empty directories and the top-level
 * REVISION, pushgate's own, are left out): gitremote_tree_begin() gives
 * the sink, gitremote_tree_end() the id of the tree written (and frees
 * the writer, also after a failure: pass tree NULL then).
 */
struct gitremote_tree;

int gitremote_tree_begin(struct gitremote *g, struct gitremote_tree **out,
			 struct sink *sink);
int gitremote_tree_end(struct gitremote_tree *t, struct repo_oid *tree);

/*
 * A new commit in the cache: the tree of `parent` (NULL: an empty tree,
 * no parent) with the directory `path` replaced by `tree` (NULL:
 * removed), and `message`, by "pushgate". *same is set, and no commit
 * made, when the result is the parent's own tree.
 */
int gitremote_commit(struct gitremote *g, const struct repo_oid *parent,
		     const char *path, const struct repo_oid *tree,
		     const char *message, struct repo_oid *out, bool *same);

/*
 * Push `commit` to `branch`, never forced. *rejected is set (and 0
 * returned) when the remote refused it because the branch moved.
 */
int gitremote_push(struct gitremote *g, const char *branch,
		   const struct repo_oid *commit, bool *rejected);

/* What the remote said when it last refused a push ("" if nothing). */
const char *gitremote_refusal(const struct gitremote *g);

/* Refs of the cache, to remember what was pushed (refs/pushgate/...). */
int gitremote_set_ref(struct gitremote *g, const char *name,
		      const struct repo_oid *id);
int gitremote_get_ref(struct gitremote *g, const char *name,
		      struct repo_oid *id, bool *found);

/* Connect and list the remote's refs only: can it be reached? */
int gitremote_check(struct gitremote *g, const char *branch, bool *found);

#endif
