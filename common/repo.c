#include "repo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <git2.h>
#include <git2/sys/odb_backend.h>

#include "buf.h"
#include "errors.h"

struct repo {
	git_repository *git;
	git_odb *odb;
	char *path;
	bool from_env;		/* opened as a hook: GIT_DIR, quarantine */
};

int repo_git_fail(int code, const char *what)
{
	const git_error *e = git_error_last();

	return error_set(code, "%s: %s", what,
			 e && e->message ? e->message : "libgit2 error");
}

static void to_git(git_oid *out, const struct repo_oid *id)
{
	memcpy(out->id, id->id, REPO_OID_RAWSZ);
}

static void from_git(struct repo_oid *out, const git_oid *id)
{
	memcpy(out->id, id->id, REPO_OID_RAWSZ);
}

/*
 * libgit2 maps pack files in windows of up to 1 GB and keeps them mapped;
 * small windows and a low ceiling keep a deploy's or a hook's memory flat
 * whatever the size of the repository.
 */
#define REPO_MWINDOW_SIZE (64 << 20)
#define REPO_MWINDOW_MAPPED_LIMIT (128 << 20)
#define REPO_EXPORT_MWINDOW_SIZE (64 << 20)
#define REPO_EXPORT_MWINDOW_MAPPED_LIMIT (256 << 20)
#define REPO_WIDE_MAPPED_LIMIT ((size_t)1 << 30)

void repo_library_init(void)
{
	git_libgit2_init();
	git_libgit2_opts(GIT_OPT_SET_MWINDOW_SIZE, (size_t)REPO_MWINDOW_SIZE);
	git_libgit2_opts(GIT_OPT_SET_MWINDOW_MAPPED_LIMIT,
			 (size_t)REPO_MWINDOW_MAPPED_LIMIT);
}

/*
 * An export reads each blob once, in the order of the tree, not of the
 * pack. A pack written by fast-import, or one that grew push by push,
 * keeps the blobs of one tree all over it: with windows that cannot hold
 * it, an export remaps a window for most blobs, and every unmap costs a
 * flush of the other CPUs' TLBs (an interrupt each, dear on a virtual
 * machine): 1 MB windows took 1.7 CPU-s to export a 113 MB tree from a
 * 168 MB pack, windows that hold the whole pack 0.25 s. Its pages are
 * the page cache's, resident while mapped; the ceiling bounds them.
 */
void repo_library_export_windows(void)
{
	git_libgit2_opts(GIT_OPT_SET_MWINDOW_SIZE,
			 (size_t)REPO_EXPORT_MWINDOW_SIZE);
	git_libgit2_opts(GIT_OPT_SET_MWINDOW_MAPPED_LIMIT,
			 (size_t)REPO_EXPORT_MWINDOW_MAPPED_LIMIT);
}

void repo_library_wide_windows(bool on)
{
	git_libgit2_opts(GIT_OPT_SET_MWINDOW_MAPPED_LIMIT,
			 on ? (size_t)REPO_WIDE_MAPPED_LIMIT :
			 (size_t)REPO_MWINDOW_MAPPED_LIMIT);
}

void repo_library_shutdown(void)
{
	git_libgit2_shutdown();
}

/*
 * During pre-receive nearly every object read is a pushed one, in the
 * quarantine; libgit2 1.5 searches the alternates (the real objects)
 * first and builds a "not found" error each time. A second pack backend
 * on the quarantine, searched first, saves 8-10% of a big push. Only an
 * optimisation: on any failure the odb stays as it was.
 */
#define REPO_QUARANTINE_PRIORITY 3

static void prefer_quarantine(git_odb *odb)
{
	const char *q = getenv("GIT_QUARANTINE_PATH");
	git_odb_backend *pack = NULL;

	if (!q || !*q)
		return;
	if (git_odb_backend_pack(&pack, q) < 0) {
		git_error_clear();
		return;
	}
	if (git_odb_add_backend(odb, pack, REPO_QUARANTINE_PRIORITY) < 0) {
		git_error_clear();
		pack->free(pack);
	}
}

static int open_git(git_repository **out, const char *path)
{
	int r;

	if (path)
		r = git_repository_open_bare(out, path);
	else
		r = git_repository_open_ext(out, NULL,
					    GIT_REPOSITORY_OPEN_FROM_ENV,
					    NULL);
	if (r < 0)
		return repo_git_fail(ERR_NOTFOUND, "cannot open the repository");
	return 0;
}

static int open_odb(struct repo *repo)
{
	if (git_repository_odb(&repo->odb, repo->git) < 0)
		return repo_git_fail(ERR_GENERIC, "cannot open the object "
				     "database");
	if (repo->from_env)
		prefer_quarantine(repo->odb);
	return 0;
}

int repo_open(struct repo **out, const char *path)
{
	struct repo *repo = NULL;
	git_repository *g = NULL;
	const char *p;
	size_t n;
	int r;

	*out = NULL;
	if ((r = open_git(&g, path)) < 0)
		return r;
	repo = xcalloc(1, sizeof(*repo));
	repo->git = g;
	repo->from_env = !path;
	if ((r = open_odb(repo)) < 0) {
		repo_free(repo);
		return r;
	}
	p = git_repository_path(g);
	n = strlen(p);
	while (n > 1 && p[n - 1] == '/')
		n--;
	repo->path = xstrndup(p, n);
	*out = repo;
	return 0;
}

void repo_free(struct repo *repo)
{
	if (!repo)
		return;
	git_odb_free(repo->odb);
	git_repository_free(repo->git);
	free(repo->path);
	free(repo);
}

int repo_reopen(struct repo *repo)
{
	git_repository *g = NULL;
	int r;

	/* the same way, at the same place, whatever the environment now */
	if ((r = open_git(&g, repo->from_env ? NULL : repo->path)) < 0)
		return r;
	/*
	 * The packs are shared by every handle (libgit2 keeps one per
	 * file): the old handle goes before the new one loads them.
	 */
	git_odb_free(repo->odb);
	repo->odb = NULL;
	git_repository_free(repo->git);
	repo->git = g;
	return open_odb(repo);
}

const char *repo_path(const struct repo *repo)
{
	return repo->path;
}

int repo_oid_from_hex(struct repo_oid *out, const char *hex)
{
	git_oid id;

	memset(out, 0, sizeof(*out));
	if (strlen(hex) != REPO_OID_HEXSZ || git_oid_fromstr(&id, hex) < 0)
		return error_set(ERR_INVALID, "'%.60s' is not an object id",
				 hex);
	from_git(out, &id);
	return 0;
}

void repo_oid_to_hex(char out[REPO_OID_HEXSZ + 1], const struct repo_oid *id)
{
	git_oid g;

	to_git(&g, id);
	git_oid_tostr(out, REPO_OID_HEXSZ + 1, &g);
}

bool repo_oid_equal(const struct repo_oid *a, const struct repo_oid *b)
{
	return !memcmp(a->id, b->id, REPO_OID_RAWSZ);
}

static int peel(struct repo *repo, struct repo_oid *out, git_object *obj)
{
	git_object *peeled = NULL;

	if (git_object_peel(&peeled, obj, GIT_OBJECT_COMMIT) < 0)
		return error_set(ERR_INVALID, "%s does not point to a commit",
				 git_object_type2string(git_object_type(obj)));
	from_git(out, git_object_id(peeled));
	git_object_free(peeled);
	(void)repo;
	return 0;
}

int repo_peel_commit(struct repo *repo, struct repo_oid *out,
		     const struct repo_oid *id)
{
	git_object *obj = NULL;
	git_oid g;
	int r;

	memset(out, 0, sizeof(*out));
	to_git(&g, id);
	if (git_object_lookup(&obj, repo->git, &g, GIT_OBJECT_ANY) < 0)
		return repo_git_fail(ERR_NOTFOUND, "cannot read object");
	r = peel(repo, out, obj);
	git_object_free(obj);
	return r;
}

int repo_resolve_commit(struct repo *repo, struct repo_oid *out,
			const char *rev)
{
	git_object *obj = NULL;
	int r;

	memset(out, 0, sizeof(*out));
	if (!*rev || *rev == '-')
		return error_set(ERR_INVALID, "bad revision '%.100s'", rev);
	if (git_revparse_single(&obj, repo->git, rev) < 0)
		return error_set(ERR_NOTFOUND, "unknown revision '%.100s'",
				 rev);
	r = peel(repo, out, obj);
	git_object_free(obj);
	return r;
}

int repo_commit_tree(struct repo *repo, struct repo_oid *out,
		     const struct repo_oid *commit)
{
	git_commit *c = NULL;
	git_oid g;

	memset(out, 0, sizeof(*out));
	to_git(&g, commit);
	if (git_commit_lookup(&c, repo->git, &g) < 0)
		return repo_git_fail(ERR_NOTFOUND, "cannot read commit");
	from_git(out, git_commit_tree_id(c));
	git_commit_free(c);
	return 0;
}

int repo_is_ancestor(struct repo *repo, bool *out,
		     const struct repo_oid *ancestor,
		     const struct repo_oid *descendant)
{
	git_oid a, d;
	int r;

	*out = false;
	if (repo_oid_equal(ancestor, descendant)) {
		*out = true;
		return 0;
	}
	to_git(&a, ancestor);
	to_git(&d, descendant);
	r = git_graph_descendant_of(repo->git, &d, &a);
	if (r < 0)
		return repo_git_fail(ERR_GENERIC, "cannot compare history");
	*out = r == 1;
	return 0;
}

/*
 * libgit2's object cache keeps every commit and tree read, up to 256 MB
 * (230 MB on a 10,000-commit push), and past a smaller cap its eviction
 * rescans the whole map. The change walk reads most trees twice, soon
 * one after the other, and the pack's cache of delta bases already makes
 * the second read cheap: trees are not cached at all. Commits are (the
 * subject check and the walk look each new commit up again after the
 * revwalk), within a cap. Process-wide settings, made before the first
 * bulk read.
 */
#define REPO_CACHE_BYTES (16 << 20)

static void bound_object_cache(void)
{
	static bool done;

	if (done)
		return;
	done = true;
	git_libgit2_opts(GIT_OPT_SET_CACHE_OBJECT_LIMIT, GIT_OBJECT_TREE,
			 (size_t)0);
	git_libgit2_opts(GIT_OPT_SET_CACHE_MAX_SIZE,
			 (ssize_t)REPO_CACHE_BYTES);
}

/*
 * libgit2 hashes every object it reads to check it against its id; git
 * does not. The bulk readers (the revwalk of repo_new_commits(), the
 * change and export walks) turn that off while they run: index-pack
 * computed the id of each pushed object from its content, and the others
 * were checked when they arrived. Hashing was 40% of the change walk.
 * Back on when done: on is libgit2's default, set nowhere else.
 */
static void verify_hashes(bool on)
{
	git_libgit2_opts(GIT_OPT_ENABLE_STRICT_HASH_VERIFICATION, (int)on);
}

void repo_bulk_read(bool on)
{
	if (on)
		bound_object_cache();
	verify_hashes(!on);
}

struct git_repository *repo_git(struct repo *repo)
{
	return repo->git;
}

struct git_odb *repo_odb(struct repo *repo)
{
	return repo->odb;
}

int repo_new_commits(struct repo *repo, struct repo_oid **out, size_t *nr_out,
		     const struct repo_oid *tip)
{
	git_revwalk *walk = NULL;
	struct repo_oid *list = NULL;
	size_t nr = 0, alloc = 0;
	git_oid g;
	int r;

	*out = NULL;
	*nr_out = 0;
	bound_object_cache();
	if (git_revwalk_new(&walk, repo->git) < 0)
		return repo_git_fail(ERR_GENERIC, "cannot walk history");
	verify_hashes(false);
	git_revwalk_sorting(walk, GIT_SORT_NONE);
	to_git(&g, tip);
	if (git_revwalk_push(walk, &g) < 0) {
		r = repo_git_fail(ERR_NOTFOUND, "cannot walk from the new tip");
		goto out;
	}
	if (git_revwalk_hide_glob(walk, "refs/*") < 0) {
		r = repo_git_fail(ERR_GENERIC, "cannot read the existing refs");
		goto out;
	}
	/* HEAD is unborn in a new repository: nothing to hide then */
	if (git_revwalk_hide_head(walk) < 0)
		git_error_clear();
	while ((r = git_revwalk_next(&g, walk)) == 0) {
		if (nr == REPO_MAX_COMMITS) {
			r = error_set(ERR_TOOBIG,
				      "more than %d new commits in one update",
				      REPO_MAX_COMMITS);
			goto out;
		}
		if (nr == alloc) {
			alloc = alloc ? alloc * 2 : 64;
			list = xreallocarray(list, alloc, sizeof(*list));
		}
		from_git(&list[nr++], &g);
	}
	if (r != GIT_ITEROVER) {
		r = repo_git_fail(ERR_GENERIC, "cannot walk history");
		goto out;
	}
	r = 0;
	*out = list;
	*nr_out = nr;
	list = NULL;
out:
	verify_hashes(true);
	free(list);
	git_revwalk_free(walk);
	return r;
}

int repo_commit_subject(struct repo *repo, char *out, size_t size,
			const struct repo_oid *commit)
{
	git_commit *c = NULL;
	const char *s;
	git_oid g;

	if (size)
		out[0] = '\0';
	to_git(&g, commit);
	if (git_commit_lookup(&c, repo->git, &g) < 0)
		return repo_git_fail(ERR_NOTFOUND, "cannot read commit");
	s = git_commit_summary(c);
	if (s && size)
		snprintf(out, size, "%s", s);
	git_commit_free(c);
	return 0;
}

/* Copy a libgit2 buffer into ours; ERR_TOOBIG past its cap. */
static int copy_buf(struct buf *out, const git_buf *in, const char *what)
{
	if (buf_add(out, in->ptr, in->size) < 0)
		return error_set(ERR_TOOBIG, "the commit's %s is larger than "
				 "%zu bytes", what, out->cap);
	return 0;
}

int repo_commit_signature(struct repo *repo, struct repo_signature *out,
			  const struct repo_oid *commit)
{
	git_buf sig = GIT_BUF_INIT, data = GIT_BUF_INIT;
	const git_signature *who;
	git_commit *c = NULL;
	git_oid g;
	int r;

	out->is_signed = false;
	buf_reset(&out->signature);
	buf_reset(&out->data);
	buf_reset(&out->email);
	out->when = 0;
	to_git(&g, commit);
	if (git_commit_lookup(&c, repo->git, &g) < 0)
		return repo_git_fail(ERR_NOTFOUND, "cannot read commit");
	who = git_commit_committer(c);
	if (buf_addstr(&out->email, who->email) < 0) {
		r = error_set(ERR_TOOBIG, "the committer's email is longer "
			      "than %d bytes", REPO_MAX_EMAIL);
		goto out;
	}
	out->when = (int64_t)who->when.time;
	r = git_commit_extract_signature(&sig, &data, repo->git, &g, "gpgsig");
	if (r == GIT_ENOTFOUND) {
		git_error_clear();
		r = 0;
		goto out;
	}
	if (r < 0) {
		r = repo_git_fail(ERR_GENERIC, "cannot read the signature");
		goto out;
	}
	if ((r = copy_buf(&out->signature, &sig, "signature")) < 0 ||
	    (r = copy_buf(&out->data, &data, "signed text")) < 0)
		goto out;
	out->is_signed = true;
out:
	if (r < 0) {
		buf_reset(&out->signature);
		buf_reset(&out->data);
	}
	git_buf_dispose(&data);
	git_buf_dispose(&sig);
	git_commit_free(c);
	return r;
}

void repo_signature_release(struct repo_signature *sig)
{
	buf_release(&sig->signature);
	buf_release(&sig->data);
	buf_release(&sig->email);
	sig->is_signed = false;
	sig->when = 0;
}

int repo_commit_text(struct repo *repo, struct repo_commit_text *out,
		     const struct repo_oid *commit, size_t max_message)
{
	const git_signature *a;
	git_commit *c = NULL;
	const char *s;
	git_oid g;

	memset(out, 0, sizeof(*out));
	to_git(&g, commit);
	if (git_commit_lookup(&c, repo->git, &g) < 0)
		return repo_git_fail(ERR_NOTFOUND, "cannot read commit");
	s = git_commit_summary(c);
	out->subject = xstrdup(s ? s : "");
	s = git_commit_message(c);
	out->message = xstrndup(s ? s : "", max_message);
	a = git_commit_author(c);
	out->author_name = xstrdup(a && a->name ? a->name : "");
	out->author_email = xstrdup(a && a->email ? a->email : "");
	out->time = (int64_t)git_commit_time(c);
	git_commit_free(c);
	return 0;
}

void repo_commit_text_release(struct repo_commit_text *t)
{
	free(t->subject);
	free(t->message);
	free(t->author_name);
	free(t->author_email);
	memset(t, 0, sizeof(*t));
}

int repo_object_size(struct repo *repo, uint64_t *out,
		     const struct repo_oid *id)
{
	git_object_t type;
	size_t len;
	git_oid g;

	*out = 0;
	to_git(&g, id);
	if (git_odb_read_header(&len, &type, repo->odb, &g) < 0)
		return repo_git_fail(ERR_NOTFOUND, "cannot read object header");
	*out = len;
	return 0;
}

int repo_hash_hex(char out[REPO_OID_HEXSZ + 1], const void *data, size_t len)
{
	git_oid g;

	if (git_odb_hash(&g, data, len, GIT_OBJECT_BLOB) < 0)
		return repo_git_fail(ERR_GENERIC, "cannot hash");
	git_oid_tostr(out, REPO_OID_HEXSZ + 1, &g);
	return 0;
}

static int env_refname(struct buf *b, const char *env)
{
	return buf_addf(b, "refs/environments/%s", env);
}

int repo_env_ref(struct repo *repo, struct repo_oid *out, const char *env)
{
	struct buf name = BUF_INIT;
	git_oid g;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = env_refname(&name, env)) < 0)
		return r;
	r = git_reference_name_to_id(&g, repo->git, name.ptr);
	if (r == GIT_ENOTFOUND)
		r = error_set(ERR_NOTFOUND, "'%s' has no live commit", env);
	else if (r < 0)
		r = repo_git_fail(ERR_GENERIC, "cannot read the environment ref");
	else
		from_git(out, &g);
	buf_release(&name);
	return r;
}

int repo_set_env_ref(struct repo *repo, const char *env,
		     const struct repo_oid *commit, const char *message)
{
	struct buf name = BUF_INIT;
	git_reference *ref = NULL;
	git_oid g;
	int r;

	if ((r = env_refname(&name, env)) < 0)
		return r;
	to_git(&g, commit);
	if (git_reference_create(&ref, repo->git, name.ptr, &g, 1, message) < 0)
		r = repo_git_fail(ERR_GENERIC, "cannot update the environment ref");
	git_reference_free(ref);
	buf_release(&name);
	return r;
}

int repo_delete_ref_at(struct repo *repo, const char *name,
		       const struct repo_oid *id, bool *deleted)
{
	git_reference *ref = NULL;
	const git_oid *target;
	git_oid g;
	int rc;

	*deleted = false;
	to_git(&g, id);
	rc = git_reference_lookup(&ref, repo->git, name);
	if (rc == GIT_ENOTFOUND) {
		git_error_clear();
		return 0;
	}
	if (rc < 0)
		return repo_git_fail(ERR_GENERIC, "cannot read the ref");
	target = git_reference_target(ref);
	if (target && git_oid_equal(target, &g)) {
		if (git_reference_delete(ref) < 0) {
			git_reference_free(ref);
			return repo_git_fail(ERR_GENERIC,
					     "cannot delete the ref");
		}
		*deleted = true;
	}
	git_reference_free(ref);
	return 0;
}

int repo_commits_between(struct repo *repo, struct repo_oid **out,
			 size_t *nr_out, size_t *total_out,
			 const struct repo_oid *base, const struct repo_oid *tip,
			 size_t max)
{
	git_revwalk *walk = NULL;
	struct repo_oid *list = NULL;
	size_t nr = 0, total = 0;
	git_oid g;
	int r;

	*out = NULL;
	*nr_out = 0;
	*total_out = 0;
	if (git_revwalk_new(&walk, repo->git) < 0)
		return repo_git_fail(ERR_GENERIC, "cannot walk history");
	git_revwalk_sorting(walk, GIT_SORT_TOPOLOGICAL | GIT_SORT_TIME);
	to_git(&g, tip);
	if (git_revwalk_push(walk, &g) < 0) {
		r = repo_git_fail(ERR_NOTFOUND, "cannot walk from the tip");
		goto out;
	}
	if (base) {
		to_git(&g, base);
		if (git_revwalk_hide(walk, &g) < 0) {
			r = repo_git_fail(ERR_NOTFOUND, "cannot read the live commit");
			goto out;
		}
	}
	if (max)
		list = xcalloc(max, sizeof(*list));
	while (total < REPO_MAX_COMMITS &&
	       (r = git_revwalk_next(&g, walk)) == 0) {
		if (nr < max)
			from_git(&list[nr++], &g);
		total++;
	}
	if (total < REPO_MAX_COMMITS && r != GIT_ITEROVER) {
		r = repo_git_fail(ERR_GENERIC, "cannot walk history");
		goto out;
	}
	r = 0;
	*out = list;
	*nr_out = nr;
	*total_out = total;
	list = NULL;
out:
	free(list);
	git_revwalk_free(walk);
	return r;
}
