#include "repo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <git2.h>

#include "buf.h"
#include "errors.h"

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

void repo_library_init(void)
{
	git_libgit2_init();
}

void repo_library_shutdown(void)
{
	git_libgit2_shutdown();
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

struct git_repository *repo_libgit2(struct repo *repo)
{
	return repo->git;
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

bool repo_oid_is_zero(const struct repo_oid *id)
{
	size_t i;

	for (i = 0; i < REPO_OID_RAWSZ; i++)
		if (id->id[i])
			return false;
	return true;
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
	if (git_revwalk_new(&walk, repo->git) < 0)
		return git_fail(ERR_GENERIC, "cannot walk history");
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

struct walk {
	git_repository *git;
	struct buf path;
	repo_change_fn fn;
	void *payload;
};

static bool bad_component(const char *name)
{
	return !*name || !strcmp(name, ".") || !strcmp(name, "..") ||
	       strchr(name, '/');
}

/* Compare `tree` with the same directory in each parent tree (NULL: absent). */
static int walk_tree(struct walk *w, const git_tree *tree,
		     git_tree **parents, size_t np, size_t depth)
{
	size_t i, j, n = git_tree_entrycount(tree);
	git_tree **sub = NULL;
	int r = 0;

	if (depth > REPO_MAX_DEPTH)
		return error_set(ERR_TOOBIG, "trees nested deeper than %d",
				 REPO_MAX_DEPTH);
	for (i = 0; i < n && !r; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(tree, i);
		const char *name = git_tree_entry_name(e);
		const git_oid *id = git_tree_entry_id(e);
		git_filemode_t mode = git_tree_entry_filemode(e);
		git_object_t type = git_tree_entry_type(e);
		size_t base = w->path.len;
		bool same = false;

		if (bad_component(name))
			return error_set(ERR_INVALID,
					 "tree entry '%.100s' under '%.200s' is not a valid name",
					 name, w->path.ptr);
		for (j = 0; j < np && !same; j++) {
			const git_tree_entry *pe;

			if (!parents[j])
				continue;
			pe = git_tree_entry_byname(parents[j], name);
			same = pe && git_oid_equal(git_tree_entry_id(pe), id) &&
			       git_tree_entry_filemode(pe) == mode;
		}
		if (same)
			continue;
		if ((base && buf_addch(&w->path, '/') < 0) ||
		    buf_addstr(&w->path, name) < 0)
			return error_set(ERR_TOOBIG,
					 "a path is longer than %d bytes",
					 REPO_MAX_PATH);
		if (type == GIT_OBJECT_TREE) {
			git_tree *t = NULL;

			if (git_tree_lookup(&t, w->git, id) < 0) {
				r = git_fail(ERR_NOTFOUND, "cannot read tree");
				goto next;
			}
			if (np && !sub)
				sub = xcalloc(np, sizeof(*sub));
			for (j = 0; j < np; j++) {
				const git_tree_entry *pe;

				sub[j] = NULL;
				if (!parents[j])
					continue;
				pe = git_tree_entry_byname(parents[j], name);
				if (pe && git_tree_entry_type(pe) ==
					  GIT_OBJECT_TREE &&
				    git_tree_lookup(&sub[j], w->git,
						    git_tree_entry_id(pe)) < 0) {
					r = git_fail(ERR_NOTFOUND,
						     "cannot read tree");
					break;
				}
			}
			if (!r)
				r = walk_tree(w, t, sub, np, depth + 1);
			for (j = 0; j < np; j++) {
				git_tree_free(sub[j]);
				sub[j] = NULL;
			}
			git_tree_free(t);
		} else {
			struct repo_change c;

			c.path = w->path.ptr;
			c.name = w->path.ptr + (base ? base + 1 : 0);
			from_git(&c.id, id);
			c.mode = (unsigned)mode;
			c.is_blob = type == GIT_OBJECT_BLOB;
			r = w->fn(&c, w->payload);
		}
next:
		buf_truncate(&w->path, base);
	}
	free(sub);
	return r;
}

int repo_walk_changes(struct repo *repo, const struct repo_oid *commit,
		      repo_change_fn fn, void *payload)
{
	struct walk w;
	git_commit *c = NULL;
	git_tree *tree = NULL;
	git_tree **parents = NULL;
	size_t np = 0, i;
	git_oid g;
	int r;

	w.git = repo->git;
	buf_init(&w.path, REPO_MAX_PATH);
	w.fn = fn;
	w.payload = payload;
	to_git(&g, commit);
	if (git_commit_lookup(&c, repo->git, &g) < 0)
		return git_fail(ERR_NOTFOUND, "cannot read commit");
	if (git_commit_tree(&tree, c) < 0) {
		r = git_fail(ERR_NOTFOUND, "cannot read the commit's tree");
		goto out;
	}
	np = git_commit_parentcount(c);
	if (np) {
		parents = xcalloc(np, sizeof(*parents));
		for (i = 0; i < np; i++) {
			git_commit *p = NULL;

			if (git_commit_parent(&p, c, (unsigned)i) < 0 ||
			    git_commit_tree(&parents[i], p) < 0) {
				git_commit_free(p);
				r = git_fail(ERR_NOTFOUND,
					     "cannot read a parent commit");
				goto out;
			}
			git_commit_free(p);
		}
	}
	r = walk_tree(&w, tree, parents, np, 0);
out:
	for (i = 0; i < np && parents; i++)
		git_tree_free(parents[i]);
	free(parents);
	git_tree_free(tree);
	git_commit_free(c);
	buf_release(&w.path);
	return r;
}

struct export_walk {
	git_repository *git;
	struct buf path;
	repo_entry_fn fn;
	void *payload;
};

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
		struct repo_entry out;

		if (bad_component(name))
			return error_set(ERR_INVALID,
					 "tree entry '%.100s' is not a valid name",
					 name);
		if ((base && buf_addch(&w->path, '/') < 0) ||
		    buf_addstr(&w->path, name) < 0)
			return error_set(ERR_TOOBIG,
					 "a path is longer than %d bytes",
					 REPO_MAX_PATH);
		memset(&out, 0, sizeof(out));
		out.path = w->path.ptr;
		if (mode == GIT_FILEMODE_TREE || mode == GIT_FILEMODE_COMMIT) {
			git_tree *sub = NULL;

			out.mode = GIT_FILEMODE_TREE;
			r = w->fn(&out, w->payload);
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
				out.mode = (unsigned)mode;
				out.data = git_blob_rawcontent(blob);
				out.size = (size_t)git_blob_rawsize(blob);
				r = w->fn(&out, w->payload);
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

int repo_walk_tree(struct repo *repo, const struct repo_oid *commit,
		   const char *subdir, repo_entry_fn fn, void *payload)
{
	struct export_walk w;
	git_commit *c = NULL;
	git_tree *root = NULL, *tree = NULL;
	git_tree_entry *te = NULL;
	git_oid g;
	int r;

	w.git = repo->git;
	buf_init(&w.path, REPO_MAX_PATH);
	w.fn = fn;
	w.payload = payload;
	to_git(&g, commit);
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
