#include "gittree.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <git2.h>

#include "buf.h"
#include "errors.h"
#include "oidmap.h"
#include "sink.h"

static bool bad_component(const char *name)
{
	return !*name || !strcmp(name, ".") || !strcmp(name, "..") ||
	       strchr(name, '/');
}

/*
 * gittree_changes() compares raw tree objects, parsed in place, rather
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
	const struct gittree_changes_opts *o;
	unsigned char *key;	/* a subtree's key: (1 + np) ids */
	size_t key_len;
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
		return repo_git_fail(ERR_NOTFOUND, "cannot read tree");
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

static int walk_tree(struct walk *w, const unsigned char *id,
		     const unsigned char **parents, size_t np, size_t depth);

/* The key of a subtree: its id, then each parent's (zeros: none). */
static void subtree_key(struct walk *w, struct gittree_subtree *t,
			const unsigned char *id,
			const unsigned char **parents, size_t np,
			size_t depth)
{
	size_t j;

	memcpy(w->key, id, REPO_OID_RAWSZ);
	for (j = 0; j < np; j++) {
		unsigned char *k = w->key + (j + 1) * REPO_OID_RAWSZ;

		if (parents[j])
			memcpy(k, parents[j], REPO_OID_RAWSZ);
		else
			memset(k, 0, REPO_OID_RAWSZ);
	}
	t->path = w->path.ptr;
	t->depth = depth;
	t->key = w->key;
	t->key_len = (np + 1) * REPO_OID_RAWSZ;
}

/* A changed directory at w->path: enter, walk (unless skipped), leave. */
static int walk_subtree(struct walk *w, const unsigned char *id,
			const unsigned char **parents, size_t np,
			size_t depth)
{
	struct gittree_subtree t;
	int r;

	if (w->o->enter) {
		subtree_key(w, &t, id, parents, np, depth);
		r = w->o->enter(&t, w->o->payload);
		if (r == GITTREE_SKIP)
			return 0;
		if (r)
			return r;
	}
	if ((r = walk_tree(w, id, parents, np, depth)) || !w->o->leave)
		return r;
	/* deeper levels wrote their own keys over this one */
	subtree_key(w, &t, id, parents, np, depth);
	return w->o->leave(&t, w->o->payload);
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
				r = walk_subtree(w, e->id, sub, np, depth + 1);
			} else {
				struct gittree_change c;

				c.path = w->path.ptr;
				c.name = w->path.ptr + (base ? base + 1 : 0);
				memcpy(c.id.id, e->id, REPO_OID_RAWSZ);
				c.mode = mode;
				c.is_blob = !mode_is_gitlink(e->attr);
				r = w->o->change(&c, w->o->payload);
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

int gittree_changes(struct repo *repo, const struct repo_oid *commit,
		    const struct gittree_changes_opts *o)
{
	struct walk w;
	git_commit *c = NULL, *few_pc[WALK_FEW_PARENTS], **pc = few_pc;
	const unsigned char *few[WALK_FEW_PARENTS], **parents = few;
	const unsigned char *root;
	size_t np = 0, i;
	git_oid g;
	int r = 0;

	repo_bulk_read(true);
	w.odb = repo_odb(repo);
	buf_init(&w.path, REPO_MAX_PATH);
	w.o = o;
	w.key = NULL;
	memcpy(g.id, commit->id, REPO_OID_RAWSZ);
	if (git_commit_lookup(&c, repo_git(repo), &g) < 0) {
		r = repo_git_fail(ERR_NOTFOUND, "cannot read commit");
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
			r = repo_git_fail(ERR_NOTFOUND,
				     "cannot read a parent commit");
			goto out;
		}
		parents[i] = git_commit_tree_id(pc[i])->id;
		/* the same tree as a parent's: nothing changed */
		if (!memcmp(parents[i], root, REPO_OID_RAWSZ))
			goto out;
	}
	w.key = xcalloc(np + 1, REPO_OID_RAWSZ);
	r = walk_tree(&w, root, parents, np, 0);
out:
	repo_bulk_read(false);
	free(w.key);
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

/* ---- counting ---------------------------------------------------------- */

struct gittree_sizes {
	struct oidmap known;	/* tree id -> struct known_size */
	uint64_t max;
};

/* The count of one tree: exact up to max, else max + 1. */
struct known_size {
	uint64_t count;
	size_t height;		/* trees nested below it (exact counts) */
};

/* max_entries as the walks apply it: 1 to REPO_MAX_ENTRIES. */
static uint64_t clip_max(uint64_t max)
{
	if (!max)
		return 1;
	return max < REPO_MAX_ENTRIES ? max : REPO_MAX_ENTRIES;
}

/* Trees whose counts are kept: beyond, trees are counted again. */
#define SIZES_MAX_KEPT (1024 * 1024)

struct gittree_sizes *gittree_sizes_new(uint64_t max)
{
	struct gittree_sizes *s = xcalloc(1, sizeof(*s));

	s->max = clip_max(max);
	oidmap_init(&s->known, sizeof(struct known_size), SIZES_MAX_KEPT);
	return s;
}

void gittree_sizes_free(struct gittree_sizes *s)
{
	if (!s)
		return;
	oidmap_release(&s->known);
	free(s);
}

uint64_t gittree_sizes_max(const struct gittree_sizes *s)
{
	return s->max;
}

static int too_deep(void)
{
	return error_set(ERR_TOOBIG, "trees nested deeper than %d",
			 REPO_MAX_DEPTH);
}

/*
 * Count tree `id` at `depth`, up to `limit` (at most s->max): *out is
 * the count, or limit + 1 for "more than limit". A count is kept when it
 * is exact, or when it is "more than max" (true for any limit); one cut
 * short by a smaller limit is not (it depends on where the tree is).
 */
static int count_tree(struct walk *w, struct gittree_sizes *s,
		      const unsigned char *id, uint64_t limit, size_t depth,
		      struct known_size *out)
{
	struct known_size *known, sub;
	struct raw_tree t;
	uint64_t sum = 0;
	size_t height = 0;
	int r;

	if (depth > REPO_MAX_DEPTH)
		return too_deep();
	if ((known = oidmap_get(&s->known, id, REPO_OID_RAWSZ))) {
		if (known->count > s->max) {
			out->count = limit + 1;
			out->height = 0;
			return 0;
		}
		if (depth + known->height > REPO_MAX_DEPTH)
			return too_deep();
		out->count = known->count <= limit ? known->count : limit + 1;
		out->height = known->height;
		return 0;
	}
	if ((r = tree_open(w, &t, id)) < 0)
		goto out;
	while (!t.done && sum <= limit) {
		sum++;
		if (sum <= limit && mode_is_dir(t.e.attr)) {
			if ((r = count_tree(w, s, t.e.id, limit - sum,
					    depth + 1, &sub)) < 0)
				goto out;
			sum += sub.count;
			if (sub.height + 1 > height)
				height = sub.height + 1;
		}
		if ((r = tree_next(&t)) < 0)
			goto out;
	}
	out->count = sum <= limit ? sum : limit + 1;
	out->height = height;
	if (sum <= limit || limit == s->max) {
		struct known_size *keep = oidmap_put(&s->known, id,
						     REPO_OID_RAWSZ);

		if (keep) {
			keep->count = sum <= limit ? sum : s->max + 1;
			keep->height = height;
		}
	}
out:
	tree_close(&t);
	return r;
}

/* The id of the tree of `commit`, or of its directory `subdir`. */
static int tree_of(git_repository *git, git_oid *out,
		   const struct repo_oid *commit, const char *subdir)
{
	git_commit *c = NULL;
	git_tree *root = NULL;
	git_tree_entry *te = NULL;
	git_oid g;
	int r = 0;

	memcpy(g.id, commit->id, REPO_OID_RAWSZ);
	if (git_commit_lookup(&c, git, &g) < 0 ||
	    git_commit_tree(&root, c) < 0) {
		r = repo_git_fail(ERR_NOTFOUND,
				  "cannot read the commit's tree");
		goto out;
	}
	if (!subdir || !*subdir || !strcmp(subdir, ".")) {
		git_oid_cpy(out, git_tree_id(root));
		goto out;
	}
	if (git_tree_entry_bypath(&te, root, subdir) < 0 ||
	    git_tree_entry_type(te) != GIT_OBJECT_TREE) {
		git_error_clear();
		r = error_set(ERR_NOTFOUND, "no directory '%.200s' in commit",
			      subdir);
		goto out;
	}
	git_oid_cpy(out, git_tree_entry_id(te));
out:
	git_tree_entry_free(te);
	git_tree_free(root);
	git_commit_free(c);
	return r;
}

int gittree_count(struct repo *repo, uint64_t *out,
		  const struct repo_oid *commit, const char *subdir,
		  struct gittree_sizes *sizes)
{
	struct known_size total;
	struct walk w;
	git_oid tree;
	int r;

	*out = 0;
	memset(&w, 0, sizeof(w));
	w.odb = repo_odb(repo);
	repo_bulk_read(true);
	if ((r = tree_of(repo_git(repo), &tree, commit, subdir)) == 0 &&
	    (r = count_tree(&w, sizes, tree.id, sizes->max, 0,
			    &total)) == 0)
		*out = total.count;
	repo_bulk_read(false);
	return r;
}

/* ERR_TOOBIG if the tree to export has more than `max` entries. */
static int check_size(struct repo *repo, const struct repo_oid *commit,
		      const char *subdir, uint64_t max)
{
	struct gittree_sizes *s = gittree_sizes_new(max);
	uint64_t n;
	int r;

	if ((r = gittree_count(repo, &n, commit, subdir, s)) == 0 &&
	    n > s->max)
		r = error_set(ERR_TOOBIG, GITTREE_TOO_LARGE,
			      (unsigned long long)s->max);
	gittree_sizes_free(s);
	return r;
}

struct export_walk {
	git_repository *git;
	struct buf path;
	struct sink *sink;
	uint64_t entries;
	uint64_t max;
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

		if (++w->entries > w->max)
			return error_set(ERR_TOOBIG, GITTREE_TOO_LARGE,
					 (unsigned long long)w->max);
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
			if (sink_wants(w->sink, w->path.ptr))
				r = sink_dir(w->sink, w->path.ptr, 0755);
			if (!r && mode == GIT_FILEMODE_TREE) {
				if (git_tree_lookup(&sub, w->git,
						    git_tree_entry_id(e)) < 0)
					r = repo_git_fail(ERR_NOTFOUND,
						     "cannot read tree");
				else
					r = export_tree(w, sub, depth + 1);
				git_tree_free(sub);
			}
		} else if (mode == GIT_FILEMODE_BLOB ||
			   mode == GIT_FILEMODE_BLOB_EXECUTABLE ||
			   mode == GIT_FILEMODE_LINK) {
			git_blob *blob = NULL;

			if (!sink_wants(w->sink, w->path.ptr))
				;	/* not read at all */
			else if (git_blob_lookup(&blob, w->git,
						 git_tree_entry_id(e)) < 0) {
				r = repo_git_fail(ERR_NOTFOUND, "cannot read blob");
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

static int export_commit(struct repo *repo, const struct repo_oid *commit,
			 const char *subdir, uint64_t max_entries,
			 struct sink *sink, bool count)
{
	struct export_walk w;
	git_commit *c = NULL;
	git_tree *root = NULL, *tree = NULL;
	git_tree_entry *te = NULL;
	git_oid g;
	int r;

	w.git = repo_git(repo);
	buf_init(&w.path, REPO_MAX_PATH);
	w.sink = sink;
	w.entries = 0;
	w.max = clip_max(max_entries);
	memcpy(g.id, commit->id, REPO_OID_RAWSZ);
	/* nothing is written of a tree too large to write whole */
	if (count && (r = check_size(repo, commit, subdir, w.max)) < 0)
		goto out;
	/* a bulk reader too: see repo_bulk_read() */
	repo_bulk_read(true);
	if (git_commit_lookup(&c, w.git, &g) < 0 ||
	    git_commit_tree(&root, c) < 0) {
		r = repo_git_fail(ERR_NOTFOUND, "cannot read the commit's tree");
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
	if (git_tree_lookup(&tree, w.git, git_tree_entry_id(te)) < 0)
		r = repo_git_fail(ERR_NOTFOUND, "cannot read tree");
	else
		r = export_tree(&w, tree, 0);
out:
	repo_bulk_read(false);
	git_tree_entry_free(te);
	git_tree_free(tree);
	git_tree_free(root);
	git_commit_free(c);
	buf_release(&w.path);
	return r;
}

int gittree_export(struct repo *repo, const struct repo_oid *commit,
		   const char *subdir, uint64_t max_entries,
		   struct sink *sink)
{
	return export_commit(repo, commit, subdir, max_entries, sink, true);
}

int gittree_export_listed(struct repo *repo, const struct repo_oid *commit,
			  const char *subdir, uint64_t max_entries,
			  struct sink *sink)
{
	return export_commit(repo, commit, subdir, max_entries, sink, false);
}


struct list_walk {
	git_repository *git;
	struct buf path;
	gittree_list_fn fn;
	void *payload;
	uint64_t entries;
	uint64_t max;
};

static unsigned list_mode(git_filemode_t mode)
{
	switch (mode) {
	case GIT_FILEMODE_BLOB:
		return S_IFREG | 0644;
	case GIT_FILEMODE_BLOB_EXECUTABLE:
		return S_IFREG | 0755;
	case GIT_FILEMODE_LINK:
		return S_IFLNK | 0777;
	default:
		return S_IFDIR | 0755;	/* trees and submodules */
	}
}

static int list_tree(struct list_walk *w, const git_tree *tree, size_t depth)
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
		char hex[GIT_OID_HEXSZ + 1];

		if (++w->entries > w->max)
			return error_set(ERR_TOOBIG, GITTREE_TOO_LARGE,
					 (unsigned long long)w->max);
		if (bad_component(name))
			return error_set(ERR_INVALID,
					 "tree entry '%.100s' is not a valid name",
					 name);
		if ((base && buf_addch(&w->path, '/') < 0) ||
		    buf_addstr(&w->path, name) < 0)
			return error_set(ERR_TOOBIG,
					 "a path is longer than %d bytes",
					 REPO_MAX_PATH);
		if (mode != GIT_FILEMODE_TREE && mode != GIT_FILEMODE_COMMIT &&
		    mode != GIT_FILEMODE_BLOB &&
		    mode != GIT_FILEMODE_BLOB_EXECUTABLE &&
		    mode != GIT_FILEMODE_LINK)
			return error_set(ERR_INVALID,
					 "'%.200s' has an unknown mode",
					 w->path.ptr);
		if (mode == GIT_FILEMODE_TREE || mode == GIT_FILEMODE_COMMIT)
			hex[0] = '\0';
		else
			git_oid_tostr(hex, sizeof(hex), git_tree_entry_id(e));
		r = w->fn(w->path.ptr, list_mode(mode), hex, w->payload);
		if (!r && mode == GIT_FILEMODE_TREE) {
			git_tree *sub = NULL;

			if (git_tree_lookup(&sub, w->git,
					    git_tree_entry_id(e)) < 0)
				r = repo_git_fail(ERR_NOTFOUND,
						  "cannot read tree");
			else
				r = list_tree(w, sub, depth + 1);
			git_tree_free(sub);
		}
		buf_truncate(&w->path, base);
	}
	return r;
}

int gittree_list(struct repo *repo, const struct repo_oid *commit,
		 const char *subdir, uint64_t max_entries, gittree_list_fn fn,
		 void *payload)
{
	struct list_walk w;
	git_commit *c = NULL;
	git_tree *root = NULL, *tree = NULL;
	git_tree_entry *te = NULL;
	git_oid g;
	int r;

	w.git = repo_git(repo);
	buf_init(&w.path, REPO_MAX_PATH);
	w.fn = fn;
	w.payload = payload;
	w.entries = 0;
	w.max = clip_max(max_entries);
	memcpy(g.id, commit->id, REPO_OID_RAWSZ);
	if ((r = check_size(repo, commit, subdir, w.max)) < 0)
		goto out;
	repo_bulk_read(true);
	if (git_commit_lookup(&c, w.git, &g) < 0 ||
	    git_commit_tree(&root, c) < 0) {
		r = repo_git_fail(ERR_NOTFOUND, "cannot read the commit's tree");
		goto out;
	}
	if (!subdir || !*subdir || !strcmp(subdir, ".")) {
		r = list_tree(&w, root, 0);
		goto out;
	}
	if (git_tree_entry_bypath(&te, root, subdir) < 0 ||
	    git_tree_entry_type(te) != GIT_OBJECT_TREE) {
		git_error_clear();
		r = error_set(ERR_NOTFOUND, "no directory '%.200s' in commit",
			      subdir);
		goto out;
	}
	if (git_tree_lookup(&tree, w.git, git_tree_entry_id(te)) < 0)
		r = repo_git_fail(ERR_NOTFOUND, "cannot read tree");
	else
		r = list_tree(&w, tree, 0);
out:
	repo_bulk_read(false);
	git_tree_entry_free(te);
	git_tree_free(tree);
	git_tree_free(root);
	git_commit_free(c);
	buf_release(&w.path);
	return r;
}
