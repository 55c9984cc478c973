#ifndef REPO_H
#define REPO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "strvec.h"

/*
 * All libgit2 access outside workspace: opening the repository (with
 * git's quarantine visible), the new commits of an update, ancestry,
 * object sizes from headers, streamed tree walks over what a commit
 * changes, and refs/environments/.
 */

struct repo;

#define REPO_OID_RAWSZ 20
#define REPO_OID_HEXSZ 40
#define REPO_MAX_COMMITS 1000000	/* new commits walked per update */
#define REPO_MAX_PATH 4096		/* bytes in one path of a tree */
#define REPO_MAX_DEPTH 256		/* nested trees */
#define REPO_MAX_ENTRIES 2000000	/* entries exported from one tree */

struct repo_oid {
	unsigned char id[REPO_OID_RAWSZ];
};

/* Initialise and shut down libgit2 (once per process, from main). */
void repo_library_init(void);
void repo_library_shutdown(void);

/*
 * Pack windows for a process that exports trees (a deploy worker): room
 * for a pack of up to 256 MB, which an export reads all over (see
 * repo.c); its memory is those mapped pages and one blob, whatever the
 * size of the tree.
 */
void repo_library_export_windows(void);

/*
 * Walk the trees of one commit with room to keep the whole pack mapped
 * (`on`), then drop those windows: repo_reopen() after, so that a process
 * forked later (a deploy's workers) does not inherit them. A pack whose
 * trees lie all over it (as fast-import writes them) otherwise remaps a
 * 64 MB window for most trees: 0.15 s of a 113 MB tree's listing.
 */
void repo_library_wide_windows(bool on);

/*
 * Open the repository again as repo_open() did, freeing the old handle
 * first: every pack window it had mapped is unmapped. No object read
 * from it may still be in use.
 */
int repo_reopen(struct repo *repo);

/*
 * Open the repository git runs the hook in, from the environment
 * (GIT_DIR, GIT_OBJECT_DIRECTORY, GIT_ALTERNATE_OBJECT_DIRECTORIES), so
 * that objects still in git's quarantine are visible. `path` NULL means
 * the environment / current directory; otherwise open that bare repo.
 */
int repo_open(struct repo **out, const char *path);

/* Close the repository and free `repo` (NULL is fine). */
void repo_free(struct repo *repo);

/*
 * For gittree, the only other module that speaks libgit2: the handles
 * (borrowed), a libgit2 failure as our error (its text kept), and the
 * settings of a bulk read of many objects (on: a bounded object cache,
 * hashes not verified again; off: back to libgit2's defaults).
 */
struct git_repository;
struct git_odb;
struct git_repository *repo_git(struct repo *repo);
struct git_odb *repo_odb(struct repo *repo);
int repo_git_fail(int code, const char *what);
void repo_bulk_read(bool on);

/* Absolute path of the repository directory ($GIT_DIR). Borrowed. */
const char *repo_path(const struct repo *repo);

/*
 * Object ids: parse exactly 40 hex digits (ERR_INVALID otherwise),
 * format, and compare.
 */
int repo_oid_from_hex(struct repo_oid *out, const char *hex);
void repo_oid_to_hex(char out[REPO_OID_HEXSZ + 1], const struct repo_oid *id);
bool repo_oid_equal(const struct repo_oid *a, const struct repo_oid *b);

/*
 * Peel `id` (a commit or an annotated tag) to a commit. ERR_INVALID if it
 * is neither (e.g. a tag of a tree or blob), ERR_NOTFOUND if missing.
 */
int repo_peel_commit(struct repo *repo, struct repo_oid *out,
		     const struct repo_oid *id);

/* Resolve a revision (ref name, short id, "main~2") to a commit. */
int repo_resolve_commit(struct repo *repo, struct repo_oid *out,
			const char *rev);

/* The tree of a commit. */
int repo_commit_tree(struct repo *repo, struct repo_oid *out,
		     const struct repo_oid *commit);

/*
 * Is `ancestor` reachable from `descendant` (or equal)? *out set on
 * success.
 */
int repo_is_ancestor(struct repo *repo, bool *out,
		     const struct repo_oid *ancestor,
		     const struct repo_oid *descendant);

/*
 * The new commits of an update: reachable from `tip` and from no existing
 * ref (refs/ and HEAD), i.e. `git rev-list TIP --not --all`. The array
 * is the caller's to free(); ERR_TOOBIG past REPO_MAX_COMMITS.
 */
int repo_new_commits(struct repo *repo, struct repo_oid **out, size_t *nr_out,
		     const struct repo_oid *tip);

/*
 * The subject of a commit as `git log --format=%s` prints it: the first
 * paragraph, lines joined with spaces. Written into `out` (clipped to
 * `size`, always NUL-terminated).
 */
int repo_commit_subject(struct repo *repo, char *out, size_t size,
			const struct repo_oid *commit);

/*
 * What people read of a commit (for notifications): its subject as
 * above, its whole message (clipped to `max_message` bytes), its author
 * and its committer time. Free with repo_commit_text_release().
 */
struct repo_commit_text {
	char *subject;
	char *message;
	char *author_name;
	char *author_email;
	int64_t time;		/* committer time, seconds since the epoch */
};

int repo_commit_text(struct repo *repo, struct repo_commit_text *out,
		     const struct repo_oid *commit, size_t max_message);
void repo_commit_text_release(struct repo_commit_text *t);

/*
 * What checking a commit's signature needs (see sshsig.h): the text of
 * its "gpgsig" header, armored, as git-verify-commit reads it; the
 * bytes that were signed, the commit without that header; and the
 * committer's email and time. Unsigned commits are told apart by
 * `is_signed`, not by an error. Reuse one for many commits: each call
 * empties it first. Free with repo_signature_release().
 */
#define REPO_MAX_SIGNATURE (64 * 1024)		/* bytes of the header */
#define REPO_MAX_SIGNED (16 * 1024 * 1024)	/* bytes of the commit */
#define REPO_MAX_EMAIL 1024

struct repo_signature {
	bool is_signed;
	struct buf signature;	/* "" when not signed */
	struct buf data;	/* "" when not signed */
	struct buf email;	/* the committer's, without <> */
	int64_t when;		/* committer time, seconds since the epoch */
};

#define REPO_SIGNATURE_INIT { false, \
	{ buf_empty, 0, 0, REPO_MAX_SIGNATURE, 0 }, \
	{ buf_empty, 0, 0, REPO_MAX_SIGNED, 0 }, \
	{ buf_empty, 0, 0, REPO_MAX_EMAIL, 0 }, 0 }

/*
 * Fill `out` for `commit`. ERR_NOTFOUND if it is missing or not a
 * commit, ERR_TOOBIG past the caps above (a commit so large is refused,
 * not half checked), ERR_GENERIC if libgit2 fails otherwise.
 */
int repo_commit_signature(struct repo *repo, struct repo_signature *out,
			  const struct repo_oid *commit);

/* Free the buffers; `sig` is left as REPO_SIGNATURE_INIT. */
void repo_signature_release(struct repo_signature *sig);

/* Size of an object read from its header (the blob is not loaded). */
int repo_object_size(struct repo *repo, uint64_t *out,
		     const struct repo_oid *id);

/*
 * Hash `data` as git would hash a blob of it: a stable 40-hex key (used
 * for the test-result cache).
 */
int repo_hash_hex(char out[REPO_OID_HEXSZ + 1], const void *data, size_t len);

/*
 * The commits reachable from `tip` and not from `base` (NULL: none
 * hidden), newest first: at most `max` of them in *out (caller frees),
 * and how many there are in all (up to REPO_MAX_COMMITS) in *total_out.
 */
int repo_commits_between(struct repo *repo, struct repo_oid **out,
			 size_t *nr_out, size_t *total_out,
			 const struct repo_oid *base, const struct repo_oid *tip,
			 size_t max);

/*
 * refs/environments/NAME: read (ERR_NOTFOUND if absent) and write. Never
 * call repo_set_env_ref() from pre-receive (quarantine).
 */
int repo_env_ref(struct repo *repo, struct repo_oid *out, const char *env);
int repo_set_env_ref(struct repo *repo, const char *env,
		     const struct repo_oid *commit, const char *message);

/*
 * Delete ref `name` if it still points at `id` (never from pre-receive):
 * *deleted says whether it did; a ref that is gone or moved is left.
 */
int repo_delete_ref_at(struct repo *repo, const char *name,
		       const struct repo_oid *id, bool *deleted);

#endif
