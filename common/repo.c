#include "repo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <git2.h>
#include <git2/sys/odb_backend.h>

#include "buf.h"
#include "errors.h"
#include "sink.h"

struct repo {
	git_repository *git;
	git_odb *odb;
	char *path;
};

static int git_fail(int code, const char *what)
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
#define REPO_EXPORT_MWINDOW_SIZE (16 << 20)
#define REPO_EXPORT_MWINDOW_MAPPED_LIMIT (32 << 20)

void repo_library_init(void)
{
	git_libgit2_init();
	git_libgit2_opts(GIT_OPT_SET_MWINDOW_SIZE, (size_t)REPO_MWINDOW_SIZE);
	git_libgit2_opts(GIT_OPT_SET_MWINDOW_MAPPED_LIMIT,
			 (size_t)REPO_MWINDOW_MAPPED_LIMIT);
}

/*
 * An export reads each blob once, front to back: small windows cost it
 * nothing, while the policy walk of a big push, which jumps around the
 * pack, would remap thousands of times with them.
 */
void repo_library_limit_memory(void)
{
	git_libgit2_opts(GIT_OPT_SET_MWINDOW_SIZE,
			 (size_t)REPO_EXPORT_MWINDOW_SIZE);
	git_libgit2_opts(GIT_OPT_SET_MWINDOW_MAPPED_LIMIT,
			 (size_t)REPO_EXPORT_MWINDOW_MAPPED_LIMIT);
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

int repo_open(struct repo **out, const char *path)
{
	struct repo *repo = NULL;
	git_repository *g = NULL;
	const char *p;
	size_t n;
	int r;

	*out = NULL;
	if (path)
		r = git_repository_open_bare(&g, path);
	else
		r = git_repository_open_ext(&g, NULL,
					    GIT_REPOSITORY_OPEN_FROM_ENV,
					    NULL);
	if (r < 0)
		return git_fail(ERR_NOTFOUND, "cannot open the repository");
	repo = xcalloc(1, sizeof(*repo));
	repo->git = g;
	if (git_repository_odb(&repo->odb, g) < 0) {
		r = git_fail(ERR_GENERIC, "cannot open the object database");
		repo_free(repo);
		return r;
	}
	if (!path)
		prefer_quarantine(repo->odb);
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
		return git_fail(ERR_NOTFOUND, "cannot read object");
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
		return git_fail(ERR_NOTFOUND, "cannot read commit");
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
		return git_fail(ERR_GENERIC, "cannot compare history");
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
		return git_fail(ERR_GENERIC, "cannot walk history");
	verify_hashes(false);
	git_revwalk_sorting(walk, GIT_SORT_NONE);
	to_git(&g, tip);
	if (git_revwalk_push(walk, &g) < 0) {
		r = git_fail(ERR_NOTFOUND, "cannot walk from the new tip");
		goto out;
	}
	if (git_revwalk_hide_glob(walk, "refs/*") < 0) {
		r = git_fail(ERR_GENERIC, "cannot read the existing refs");
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
		r = git_fail(ERR_GENERIC, "cannot walk history");
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
		return git_fail(ERR_NOTFOUND, "cannot read commit");
	s = git_commit_summary(c);
	if (s && size)
		snprintf(out, size, "%s", s);
	git_commit_free(c);
	return 0;
}

static bool bad_component(const char *name)
{
	return !*name || !strcmp(name, ".") || !strcmp(name, "..") ||
	       strchr(name, '/');
}

/*
 * repo_walk_changes() compares raw tree objects, parsed in place, rather
 * than git_tree objects. A tree is a sequence of "MODE SP NAME NUL ID"
 * entries (ID: REPO_OID_RAWSZ bytes) sorted in git's tree order, so a
 * tree and the same directory in each parent can be walked side by side
 * (a merge join): each entry meets its namesake in every parent in one
 * pass, with no allocation per entry and no binary search per name. On a
 * long push this walk is the hook's main cost.
 */
struct raw_entry {
	const char *name;	/* NUL-terminated, inside the object */
	size_t len;
	const unsigned char *id;	/* REPO_OID_RAWSZ bytes */
	unsigned attr;		/* the mode as written */
};

/* A cursor over the entries of one tree; `done` once past the last. */
struct raw_tree {
	git_odb_object *obj;	/* NULL for an absent tree (done at once) */
	const char *p, *end;
	struct raw_entry e;
	bool done;
};

/* Parents whose tree cursors live on the stack; more are allocated. */
#define WALK_FEW_PARENTS 2

struct walk {
	git_odb *odb;
	struct buf path;
	repo_change_fn fn;
	void *payload;
};

static int tree_corrupt(const git_oid *id)
{
	char hex[REPO_OID_HEXSZ + 1];

	git_oid_tostr(hex, sizeof(hex), id);
	return error_set(ERR_INVALID, "tree %s is corrupt", hex);
}

/*
 * Read tree `id` as a raw object. libgit2 caches no trees (see
 * bound_object_cache()): each is read again when needed, which the pack's
 * cache of delta bases makes cheap; a cache of our own (8192 trees, 95%
 * hits on the second reads) measured no faster.
 */
static int read_tree(struct walk *w, git_odb_object **out,
		     const unsigned char *id)
{
	char hex[REPO_OID_HEXSZ + 1];
	git_oid g;

	*out = NULL;
	memcpy(g.id, id, REPO_OID_RAWSZ);
	if (git_odb_read(out, w->odb, &g) < 0)
		return git_fail(ERR_NOTFOUND, "cannot read tree");
	if (git_odb_object_type(*out) != GIT_OBJECT_TREE) {
		git_odb_object_free(*out);
		*out = NULL;
		git_oid_tostr(hex, sizeof(hex), &g);
		return error_set(ERR_INVALID, "object %s is not a tree", hex);
	}
	return 0;
}

#define MODE_FMT 0170000

static bool mode_is_dir(unsigned attr)
{
	return (attr & MODE_FMT) == 0040000;
}

static bool mode_is_gitlink(unsigned attr)
{
	return (attr & MODE_FMT) == 0160000;
}

/*
 * The mode as git_tree_entry_filemode() gives it: the written mode may be
 * non-canonical (100664 from early versions of git), and two entries
 * that differ only there are the same file.
 */
static unsigned normal_mode(unsigned attr)
{
	unsigned type = attr & ~0777u;

	if (type == 0040000)
		return 0040000;
	if (attr & 0100)
		return 0100755;
	if (type == 0160000)
		return 0160000;
	if (type == 0120000)
		return 0120000;
	return 0100644;
}

/*
 * Parse the entry at t->p into t->e, or mark the end. As strict as git's
 * own parser (the mode is octal digits), so that a tree git cannot read
 * is refused rather than half read.
 */
static int tree_next(struct raw_tree *t)
{
	const char *p = t->p, *mode = t->p, *nul;
	unsigned attr = 0;

	if (p == t->end) {
		t->done = true;
		return 0;
	}
	while (p < t->end && *p >= '0' && *p <= '7') {
		attr = attr * 8 + (unsigned)(*p++ - '0');
		if (attr > 0xffff)
			break;
	}
	if (p == mode || attr > 0xffff || p == t->end || *p++ != ' ')
		goto corrupt;
	nul = memchr(p, '\0', (size_t)(t->end - p));
	if (!nul || t->end - (nul + 1) < REPO_OID_RAWSZ)
		goto corrupt;
	t->e.name = p;
	t->e.len = (size_t)(nul - p);
	t->e.id = (const unsigned char *)nul + 1;
	t->e.attr = attr;
	t->p = nul + 1 + REPO_OID_RAWSZ;
	return 0;
corrupt:
	return tree_corrupt(git_odb_object_id(t->obj));
}

/* Open a cursor on tree `id`; NULL gives an empty cursor. */
static int tree_open(struct walk *w, struct raw_tree *t,
		     const unsigned char *id)
{
	int r;

	memset(t, 0, sizeof(*t));
	if (!id) {
		t->done = true;
		return 0;
	}
	if ((r = read_tree(w, &t->obj, id)) < 0)
		return r;
	t->p = git_odb_object_data(t->obj);
	t->end = t->p + git_odb_object_size(t->obj);
	return tree_next(t);
}

static void tree_close(struct raw_tree *t)
{
	git_odb_object_free(t->obj);
	t->obj = NULL;
}

/* git's tree order: bytewise, a tree's name as if it ended with '/'. */
static int entry_cmp(const struct raw_entry *a, const struct raw_entry *b)
{
	size_t n = a->len < b->len ? a->len : b->len;
	int c = memcmp(a->name, b->name, n);
	unsigned ca, cb;

	if (c)
		return c;
	ca = n < a->len ? (unsigned char)a->name[n] :
			  mode_is_dir(a->attr) ? '/' : 0;
	cb = n < b->len ? (unsigned char)b->name[n] :
			  mode_is_dir(b->attr) ? '/' : 0;
	return (int)ca - (int)cb;
}

/*
 * Move a parent's cursor past the entries that sort before `e` (paths the
 * commit deleted) and say whether it now stands on `e`'s name. Equal in
 * tree order means the same name and both trees or both not. In a tree
 * that is not sorted an entry may be passed over: the commit's entry is
 * then reported as changed, never wrongly skipped.
 */
static int tree_seek(struct raw_tree *t, const struct raw_entry *e,
		     bool *found)
{
	int c = 1, r;

	while (!t->done && (c = entry_cmp(&t->e, e)) < 0)
		if ((r = tree_next(t)) < 0)
			return r;
	*found = !t->done && !c;
	return 0;
}

/*
 * Report what tree `id` changes against the same directory in each parent
 * (parents[j] NULL: absent there), recursing only into subtrees that
 * differ from every parent's.
 */
static int walk_tree(struct walk *w, const unsigned char *id,
		     const unsigned char **parents, size_t np, size_t depth)
{
	struct raw_tree tree, few[WALK_FEW_PARENTS], *pt = few;
	const unsigned char *few_sub[WALK_FEW_PARENTS], **sub = few_sub;
	size_t j;
	int r;

	if (depth > REPO_MAX_DEPTH)
		return error_set(ERR_TOOBIG, "trees nested deeper than %d",
				 REPO_MAX_DEPTH);
	if (np > WALK_FEW_PARENTS) {
		pt = xcalloc(np, sizeof(*pt));
		sub = xcalloc(np, sizeof(*sub));
	} else {
		memset(few, 0, sizeof(few));
	}
	if ((r = tree_open(w, &tree, id)) < 0)
		goto out;
	for (j = 0; j < np; j++)
		if ((r = tree_open(w, &pt[j], parents[j])) < 0)
			goto out;
	while (!tree.done) {
		const struct raw_entry *e = &tree.e;
		unsigned mode = normal_mode(e->attr);
		size_t base = w->path.len;
		bool same = false, found;

		if (bad_component(e->name)) {
			r = error_set(ERR_INVALID,
				      "tree entry '%.100s' under '%.200s' is not a valid name",
				      e->name, w->path.ptr);
			goto out;
		}
		for (j = 0; j < np && !same; j++) {
			sub[j] = NULL;
			if ((r = tree_seek(&pt[j], e, &found)) < 0)
				goto out;
			if (!found)
				continue;
			same = !memcmp(pt[j].e.id, e->id, REPO_OID_RAWSZ) &&
			       normal_mode(pt[j].e.attr) == mode;
			sub[j] = pt[j].e.id;
		}
		if (!same) {
			if ((base && buf_addch(&w->path, '/') < 0) ||
			    buf_add(&w->path, e->name, e->len) < 0) {
				r = error_set(ERR_TOOBIG,
					      "a path is longer than %d bytes",
					      REPO_MAX_PATH);
				goto out;
			}
			if (mode_is_dir(e->attr)) {
				/* found in tree order: each sub[j] is a tree */
				r = walk_tree(w, e->id, sub, np, depth + 1);
			} else {
				struct repo_change c;

				c.path = w->path.ptr;
				c.name = w->path.ptr + (base ? base + 1 : 0);
				memcpy(c.id.id, e->id, REPO_OID_RAWSZ);
				c.mode = mode;
				c.is_blob = !mode_is_gitlink(e->attr);
				r = w->fn(&c, w->payload);
			}
			buf_truncate(&w->path, base);
			if (r)
				goto out;
		}
		if ((r = tree_next(&tree)) < 0)
			goto out;
	}
out:
	for (j = 0; j < np; j++)
		tree_close(&pt[j]);
	tree_close(&tree);
	if (pt != few) {
		free(pt);
		free(sub);
	}
	return r;
}

int repo_walk_changes(struct repo *repo, const struct repo_oid *commit,
		      repo_change_fn fn, void *payload)
{
	struct walk w;
	git_commit *c = NULL, *few_pc[WALK_FEW_PARENTS], **pc = few_pc;
	const unsigned char *few[WALK_FEW_PARENTS], **parents = few;
	const unsigned char *root;
	size_t np = 0, i;
	git_oid g;
	int r = 0;

	bound_object_cache();
	w.odb = repo->odb;
	buf_init(&w.path, REPO_MAX_PATH);
	w.fn = fn;
	w.payload = payload;
	verify_hashes(false);
	to_git(&g, commit);
	if (git_commit_lookup(&c, repo->git, &g) < 0) {
		r = git_fail(ERR_NOTFOUND, "cannot read commit");
		goto out;
	}
	root = git_commit_tree_id(c)->id;
	np = git_commit_parentcount(c);
	if (np > WALK_FEW_PARENTS) {
		pc = xcalloc(np, sizeof(*pc));
		parents = xcalloc(np, sizeof(*parents));
	} else {
		memset(few_pc, 0, sizeof(few_pc));
	}
	for (i = 0; i < np; i++) {
		if (git_commit_parent(&pc[i], c, (unsigned)i) < 0) {
			r = git_fail(ERR_NOTFOUND,
				     "cannot read a parent commit");
			goto out;
		}
		parents[i] = git_commit_tree_id(pc[i])->id;
		/* the same tree as a parent's: nothing changed */
		if (!memcmp(parents[i], root, REPO_OID_RAWSZ))
			goto out;
	}
	r = walk_tree(&w, root, parents, np, 0);
out:
	verify_hashes(true);
	for (i = 0; i < np; i++)
		git_commit_free(pc[i]);
	if (pc != few_pc) {
		free(pc);
		free(parents);
	}
	git_commit_free(c);
	buf_release(&w.path);
	return r;
}

struct export_walk {
	git_repository *git;
	struct buf path;
	struct sink *sink;
	uint64_t entries;
};

/* One blob as a sink entry: a file (0644 or 0755) or a symlink. */
static int export_blob(struct export_walk *w, git_filemode_t mode,
		       const git_blob *blob)
{
	const char *data = git_blob_rawcontent(blob);
	size_t size = (size_t)git_blob_rawsize(blob);
	char *target;
	int r;

	if (mode != GIT_FILEMODE_LINK)
		return sink_file_data(w->sink, w->path.ptr,
				      mode == GIT_FILEMODE_BLOB_EXECUTABLE ?
				      0755 : 0644, data, size);
	target = xstrndup(data, size);
	if (strlen(target) != size)
		r = error_set(ERR_INVALID, "symlink '%.200s' has a bad target",
			      w->path.ptr);
	else
		r = sink_symlink(w->sink, w->path.ptr, target);
	free(target);
	return r;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Two entries of one tree with the same name could shadow each other. */
static int check_duplicates(const git_tree *tree)
{
	size_t i, n = git_tree_entrycount(tree);
	const char **names;
	int r = 0;

	if (n < 2)
		return 0;
	names = xcalloc(n, sizeof(*names));
	for (i = 0; i < n; i++)
		names[i] = git_tree_entry_name(git_tree_entry_byindex(tree, i));
	qsort(names, n, sizeof(*names), cmp_names);
	for (i = 1; i < n && !r; i++)
		if (!strcmp(names[i - 1], names[i]))
			r = error_set(ERR_INVALID,
				      "a tree holds '%.100s' twice", names[i]);
	free(names);
	return r;
}

static int export_tree(struct export_walk *w, const git_tree *tree,
		       size_t depth)
{
	size_t i, n = git_tree_entrycount(tree);
	int r;

	if (depth > REPO_MAX_DEPTH)
		return error_set(ERR_TOOBIG, "trees nested deeper than %d",
				 REPO_MAX_DEPTH);
	if ((r = check_duplicates(tree)) < 0)
		return r;
	for (i = 0; i < n && !r; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(tree, i);
		const char *name = git_tree_entry_name(e);
		git_filemode_t mode = git_tree_entry_filemode(e);
		size_t base = w->path.len;

		if (++w->entries > REPO_MAX_ENTRIES)
			return error_set(ERR_TOOBIG,
					 "more than %d entries in the tree",
					 REPO_MAX_ENTRIES);
		if (bad_component(name))
			return error_set(ERR_INVALID,
					 "tree entry '%.100s' is not a valid name",
					 name);
		if ((base && buf_addch(&w->path, '/') < 0) ||
		    buf_addstr(&w->path, name) < 0)
			return error_set(ERR_TOOBIG,
					 "a path is longer than %d bytes",
					 REPO_MAX_PATH);
		if (mode == GIT_FILEMODE_TREE || mode == GIT_FILEMODE_COMMIT) {
			git_tree *sub = NULL;

			/* a submodule is an empty directory */
			r = sink_dir(w->sink, w->path.ptr, 0755);
			if (!r && mode == GIT_FILEMODE_TREE) {
				if (git_tree_lookup(&sub, w->git,
						    git_tree_entry_id(e)) < 0)
					r = git_fail(ERR_NOTFOUND,
						     "cannot read tree");
				else
					r = export_tree(w, sub, depth + 1);
				git_tree_free(sub);
			}
		} else if (mode == GIT_FILEMODE_BLOB ||
			   mode == GIT_FILEMODE_BLOB_EXECUTABLE ||
			   mode == GIT_FILEMODE_LINK) {
			git_blob *blob = NULL;

			if (git_blob_lookup(&blob, w->git,
					    git_tree_entry_id(e)) < 0) {
				r = git_fail(ERR_NOTFOUND, "cannot read blob");
			} else {
				r = export_blob(w, mode, blob);
			}
			git_blob_free(blob);
		} else {
			r = error_set(ERR_INVALID, "'%.200s' has an unknown mode",
				      w->path.ptr);
		}
		buf_truncate(&w->path, base);
	}
	return r;
}

int repo_export_tree(struct repo *repo, const struct repo_oid *commit,
		     const char *subdir, struct sink *sink)
{
	struct export_walk w;
	git_commit *c = NULL;
	git_tree *root = NULL, *tree = NULL;
	git_tree_entry *te = NULL;
	git_oid g;
	int r;

	w.git = repo->git;
	buf_init(&w.path, REPO_MAX_PATH);
	w.sink = sink;
	w.entries = 0;
	to_git(&g, commit);
	/* a bulk reader too: see verify_hashes() */
	bound_object_cache();
	verify_hashes(false);
	if (git_commit_lookup(&c, repo->git, &g) < 0 ||
	    git_commit_tree(&root, c) < 0) {
		r = git_fail(ERR_NOTFOUND, "cannot read the commit's tree");
		goto out;
	}
	if (!subdir || !*subdir || !strcmp(subdir, ".")) {
		r = export_tree(&w, root, 0);
		goto out;
	}
	if (git_tree_entry_bypath(&te, root, subdir) < 0 ||
	    git_tree_entry_type(te) != GIT_OBJECT_TREE) {
		git_error_clear();
		r = error_set(ERR_NOTFOUND, "no directory '%.200s' in commit",
			      subdir);
		goto out;
	}
	if (git_tree_lookup(&tree, repo->git, git_tree_entry_id(te)) < 0)
		r = git_fail(ERR_NOTFOUND, "cannot read tree");
	else
		r = export_tree(&w, tree, 0);
out:
	verify_hashes(true);
	git_tree_entry_free(te);
	git_tree_free(tree);
	git_tree_free(root);
	git_commit_free(c);
	buf_release(&w.path);
	return r;
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
		return git_fail(ERR_NOTFOUND, "cannot read object header");
	*out = len;
	return 0;
}

int repo_hash_hex(char out[REPO_OID_HEXSZ + 1], const void *data, size_t len)
{
	git_oid g;

	if (git_odb_hash(&g, data, len, GIT_OBJECT_BLOB) < 0)
		return git_fail(ERR_GENERIC, "cannot hash");
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
		r = git_fail(ERR_GENERIC, "cannot read the environment ref");
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
		r = git_fail(ERR_GENERIC, "cannot update the environment ref");
	git_reference_free(ref);
	buf_release(&name);
	return r;
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
		return git_fail(ERR_GENERIC, "cannot walk history");
	git_revwalk_sorting(walk, GIT_SORT_TOPOLOGICAL | GIT_SORT_TIME);
	to_git(&g, tip);
	if (git_revwalk_push(walk, &g) < 0) {
		r = git_fail(ERR_NOTFOUND, "cannot walk from the tip");
		goto out;
	}
	if (base) {
		to_git(&g, base);
		if (git_revwalk_hide(walk, &g) < 0) {
			r = git_fail(ERR_NOTFOUND, "cannot read the live commit");
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
		r = git_fail(ERR_GENERIC, "cannot walk history");
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
