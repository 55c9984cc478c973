#include "gitremote.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <git2.h>

#include "buf.h"
#include "errors.h"
#include "knownhosts.h"
#include "sink.h"

/* Where the fetched branch is kept in the cache. */
#define TRACKING "refs/pushgate/remote/"
/* The commit being pushed, named for the push's refspec. */
#define OUTGOING "refs/pushgate/outgoing"

struct gitremote {
	git_repository *git;
	struct gitremote_opts o;
	struct knownhosts *known;
	unsigned auth_tries;
	bool rejected;		/* set by the push's per-ref callback */
	struct buf why;		/* a callback's own failure, or empty */
	struct buf refusal;	/* why the last push was refused */
};

static int git_fail(struct gitremote *g, int code, const char *what)
{
	const git_error *e = git_error_last();

	if (g && g->why.len)
		return error_set(code, "%s", g->why.ptr);
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

int gitremote_open(struct gitremote **out, const struct gitremote_opts *o)
{
	struct gitremote *g = xcalloc(1, sizeof(*g));
	int r;

	*out = NULL;
	/* kept: copies of the strings */
	g->o.cache = xstrdup(o->cache);
	g->o.url = xstrdup(o->url);
	g->o.user = xstrdup(o->user);
	g->o.host = xstrdup(o->host);
	g->o.port = o->port;
	g->o.label = xstrdup(o->label);
	g->o.identity = o->identity ? xstrdup(o->identity) : NULL;
	g->o.known_hosts = o->known_hosts ? xstrdup(o->known_hosts) : NULL;
	g->o.trust_hint = o->trust_hint ? xstrdup(o->trust_hint) : NULL;
	buf_init(&g->why, 1024);
	buf_init(&g->refusal, 1024);
	if (git_repository_open_bare(&g->git, g->o.cache) < 0) {
		git_error_clear();
		if (git_repository_init(&g->git, g->o.cache, 1) < 0) {
			r = git_fail(NULL, ERR_SYS, "cannot create the cache "
				     "repository");
			gitremote_free(g);
			return r;
		}
	}
	if ((r = knownhosts_load(&g->known, g->o.known_hosts, g->o.host,
				 g->o.port, g->o.label)) < 0) {
		gitremote_free(g);
		return r;
	}
	*out = g;
	return 0;
}

void gitremote_free(struct gitremote *g)
{
	if (!g)
		return;
	git_repository_free(g->git);
	knownhosts_free(g->known);
	free((char *)g->o.cache);
	free((char *)g->o.url);
	free((char *)g->o.user);
	free((char *)g->o.host);
	free((char *)g->o.label);
	free((char *)g->o.identity);
	free((char *)g->o.known_hosts);
	free((char *)g->o.trust_hint);
	buf_release(&g->why);
	buf_release(&g->refusal);
	free(g);
}

/* ---- the connection: host key and credentials ------------------------ */

static int fail_cb(struct gitremote *g, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int fail_cb(struct gitremote *g, const char *fmt, ...)
{
	va_list ap;

	buf_reset(&g->why);
	va_start(ap, fmt);
	buf_vaddf(&g->why, fmt, ap);
	va_end(ap);
	git_error_set_str(GIT_ERROR_SSH, g->why.ptr);
	return GIT_EUSER;
}

static int check_cert(git_cert *cert, int valid, const char *host,
		      void *payload)
{
	struct gitremote *g = payload;
	const git_cert_hostkey *hk = (const git_cert_hostkey *)cert;
	char type[64], fp[KNOWNHOSTS_FINGERPRINT_MAX] = "";
	enum knownhosts_match match;
	const char *hint = g->o.trust_hint;

	(void)valid;
	(void)host;
	if (cert->cert_type != GIT_CERT_HOSTKEY_LIBSSH2 ||
	    !(hk->type & GIT_CERT_SSH_RAW))
		return fail_cb(g, "cannot check the host key of '%s'",
			       g->o.label);
	knownhosts_key_type(type, sizeof(type), hk->hostkey,
			    hk->hostkey_len);
	if (hk->type & GIT_CERT_SSH_SHA256)
		knownhosts_fingerprint(fp, sizeof(fp), hk->hash_sha256);
	if (!knownhosts_key_supported(hk->hostkey, hk->hostkey_len))
		return fail_cb(g, "unsupported host key type for '%s' (%s %s)",
			       g->o.label, type, fp);
	if (knownhosts_check(&match, g->known, hk->hostkey,
			     hk->hostkey_len) < 0) {
		error_clear();
		return fail_cb(g, "cannot look up the host key of '%s'",
			       g->o.label);
	}
	if (match == KNOWNHOSTS_MATCH)
		return 0;
	if (match == KNOWNHOSTS_CHANGED)
		return fail_cb(g, "host key for '%s' has changed (%s %s)%s%s%s",
			       g->o.label, type, fp, hint ? " (run: " : "",
			       hint ? hint : "", hint ? ")" : "");
	return fail_cb(g, "unknown host key for '%s' (%s %s)%s%s%s",
		       g->o.label, type, fp, hint ? " (run: " : "",
		       hint ? hint : "", hint ? ")" : "");
}

static int credentials(git_credential **out, const char *url,
		       const char *user_from_url, unsigned int allowed,
		       void *payload)
{
	struct gitremote *g = payload;
	const char *user = g->o.user;

	(void)url;
	if (user_from_url && *user_from_url)
		user = user_from_url;
	if (allowed & GIT_CREDENTIAL_USERNAME)
		return git_credential_username_new(out, user);
	if (!(allowed & GIT_CREDENTIAL_SSH_KEY))
		return fail_cb(g, "'%s' asks for a way of logging in other "
			       "than a key", g->o.label);
	/* libgit2 asks again after a refusal: once is enough */
	if (g->auth_tries++)
		return fail_cb(g, "'%s' refused the key of '%s' (%s)",
			       g->o.label, user, g->o.identity ?
			       g->o.identity : "the ssh agent's keys");
	if (g->o.identity)
		return git_credential_ssh_key_new(out, user, NULL,
						  g->o.identity, NULL);
	return git_credential_ssh_key_from_agent(out, user);
}

static int push_ref_status(const char *refname, const char *status,
			   void *payload)
{
	struct gitremote *g = payload;

	(void)refname;
	if (status) {
		g->rejected = true;
		buf_reset(&g->refusal);
		buf_addf(&g->refusal, "%s", status);
	}
	return 0;
}

/*
 * An anonymous remote for the URL as configured: the private cache
 * repository has no url.*.insteadOf to apply, and skipping the lookup
 * keeps libgit2 from compiling (and, in 1.5, leaking) its regexps.
 */
static int open_remote(struct gitremote *g, git_remote **out)
{
	git_remote_create_options o;

	git_remote_create_options_init(&o, GIT_REMOTE_CREATE_OPTIONS_VERSION);
	o.repository = g->git;
	o.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF |
		  GIT_REMOTE_CREATE_SKIP_DEFAULT_FETCHSPEC;
	if (git_remote_create_with_opts(out, g->o.url, &o) < 0)
		return git_fail(g, ERR_INVALID, "invalid remote");
	return 0;
}

static void callbacks(struct gitremote *g, git_remote_callbacks *cb)
{
	cb->certificate_check = check_cert;
	cb->credentials = credentials;
	cb->push_update_reference = push_ref_status;
	cb->payload = g;
	g->auth_tries = 0;
	buf_reset(&g->why);
	git_error_clear();
}

/* ---- fetch, refs ------------------------------------------------------ */

int gitremote_get_ref(struct gitremote *g, const char *name,
		      struct repo_oid *id, bool *found)
{
	git_oid oid;
	int rc = git_reference_name_to_id(&oid, g->git, name);

	*found = rc == 0;
	if (rc == GIT_ENOTFOUND) {
		git_error_clear();
		return 0;
	}
	if (rc < 0)
		return git_fail(NULL, ERR_GENERIC, "cannot read a ref");
	from_git(id, &oid);
	return 0;
}

int gitremote_set_ref(struct gitremote *g, const char *name,
		      const struct repo_oid *id)
{
	git_reference *ref = NULL;
	git_oid oid;

	to_git(&oid, id);
	if (git_reference_create(&ref, g->git, name, &oid, 1, NULL) < 0)
		return git_fail(NULL, ERR_GENERIC, "cannot write a ref");
	git_reference_free(ref);
	return 0;
}

int gitremote_fetch(struct gitremote *g, const char *branch,
		    struct repo_oid *tip, bool *found)
{
	git_fetch_options fo;
	git_remote *remote = NULL;
	struct buf spec = BUF_INIT, track = BUF_INIT;
	char *specs[1];
	git_strarray arr = { specs, 1 };
	int r = 0;

	*found = false;
	git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
	buf_addf(&track, TRACKING "%s", branch);
	buf_addf(&spec, "+refs/heads/%s:%s", branch, track.ptr);
	if (buf_error(&spec) || buf_error(&track)) {
		r = error_set(ERR_TOOBIG, "branch name too long");
		goto out;
	}
	/* what the remote does not have must not linger from before */
	if (git_reference_remove(g->git, track.ptr) < 0)
		git_error_clear();
	specs[0] = spec.ptr;
	callbacks(g, &fo.callbacks);
	fo.prune = GIT_FETCH_NO_PRUNE;
	fo.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
	if ((r = open_remote(g, &remote)) < 0)
		goto out;
	if (git_remote_fetch(remote, &arr, &fo, NULL) < 0) {
		r = git_fail(g, ERR_GENERIC, "cannot fetch");
		goto out;
	}
	r = gitremote_get_ref(g, track.ptr, tip, found);
out:
	git_remote_free(remote);
	buf_release(&spec);
	buf_release(&track);
	return r;
}

int gitremote_check(struct gitremote *g, const char *branch, bool *found)
{
	git_remote_callbacks cb;
	const git_remote_head **heads = NULL;
	git_remote *remote = NULL;
	struct buf want = BUF_INIT;
	size_t n = 0, i;
	int r = 0;

	*found = false;
	git_remote_init_callbacks(&cb, GIT_REMOTE_CALLBACKS_VERSION);
	callbacks(g, &cb);
	buf_addf(&want, "refs/heads/%s", branch);
	if ((r = open_remote(g, &remote)) < 0)
		goto out;
	if (git_remote_connect(remote, GIT_DIRECTION_FETCH, &cb, NULL,
			       NULL) < 0 ||
	    git_remote_ls(&heads, &n, remote) < 0) {
		r = git_fail(g, ERR_GENERIC, "cannot reach the remote");
		goto out;
	}
	for (i = 0; i < n; i++)
		if (!strcmp(heads[i]->name, want.ptr))
			*found = true;
	git_remote_disconnect(remote);
out:
	git_remote_free(remote);
	buf_release(&want);
	return r;
}

/* ---- trees ------------------------------------------------------------- */

int gitremote_subtree(struct gitremote *g, const struct repo_oid *commit,
		      const char *path, struct repo_oid *tree, bool *found)
{
	git_commit *c = NULL;
	git_tree *root = NULL;
	git_tree_entry *e = NULL;
	git_oid oid;
	int r = 0, rc;

	*found = false;
	to_git(&oid, commit);
	if (git_commit_lookup(&c, g->git, &oid) < 0 ||
	    git_commit_tree(&root, c) < 0) {
		r = git_fail(NULL, ERR_NOTFOUND, "cannot read the commit");
		goto out;
	}
	rc = git_tree_entry_bypath(&e, root, path);
	if (rc == GIT_ENOTFOUND) {
		git_error_clear();
		goto out;
	}
	if (rc < 0) {
		r = git_fail(NULL, ERR_GENERIC, "cannot read the tree");
		goto out;
	}
	if (git_tree_entry_type(e) == GIT_OBJECT_TREE) {
		from_git(tree, git_tree_entry_id(e));
		*found = true;
	}
out:
	git_tree_entry_free(e);
	git_tree_free(root);
	git_commit_free(c);
	return r;
}

/* One directory being written: its path ("" the root) and its entries. */
struct dir {
	char *path;
	git_treebuilder *b;
};

struct gitremote_tree {
	struct gitremote *g;
	git_odb *odb;
	struct dir *dirs;
	size_t nr, alloc;
	size_t last;		/* the dir used last: entries come grouped */
	/* the file being written */
	git_odb_stream *stream;
	char *name;		/* its name in its directory */
	size_t dir;		/* index of that directory */
	unsigned mode;
	uint64_t left;
	bool skip;		/* the top-level REVISION: swallowed */
	int failed;
};

static size_t find_dir(struct gitremote_tree *t, const char *path, size_t len)
{
	size_t i;

	if (t->last < t->nr && strlen(t->dirs[t->last].path) == len &&
	    !memcmp(t->dirs[t->last].path, path, len))
		return t->last;
	for (i = 0; i < t->nr; i++)
		if (strlen(t->dirs[i].path) == len &&
		    !memcmp(t->dirs[i].path, path, len))
			return t->last = i;
	return (size_t)-1;
}

static int add_dir(struct gitremote_tree *t, const char *path)
{
	git_treebuilder *b = NULL;

	if (find_dir(t, path, strlen(path)) != (size_t)-1)
		return 0;
	if (git_treebuilder_new(&b, t->g->git, NULL) < 0)
		return git_fail(NULL, ERR_GENERIC, "cannot build a tree");
	if (t->nr == t->alloc) {
		t->alloc = t->alloc ? 2 * t->alloc : 64;
		t->dirs = xreallocarray(t->dirs, t->alloc, sizeof(*t->dirs));
	}
	t->dirs[t->nr].path = xstrdup(path);
	t->dirs[t->nr].b = b;
	t->last = t->nr++;
	return 0;
}

/* The directory of `path` (created if the walk never announced it). */
static int parent_of(struct gitremote_tree *t, const char *path,
		     size_t *dir, const char **name)
{
	const char *slash = strrchr(path, '/');
	size_t len = slash ? (size_t)(slash - path) : 0;
	struct buf p = BUF_INIT;
	int r;

	*name = slash ? slash + 1 : path;
	if ((*dir = find_dir(t, path, len)) != (size_t)-1)
		return 0;
	buf_add(&p, path, len);
	r = buf_error(&p) ? ERR_TOOBIG : add_dir(t, p.ptr);
	buf_release(&p);
	if (r < 0)
		return r;
	*dir = t->nr - 1;
	return 0;
}

static int insert(struct gitremote_tree *t, size_t dir, const char *name,
		  const git_oid *oid, git_filemode_t mode)
{
	if (git_treebuilder_insert(NULL, t->dirs[dir].b, name, oid, mode) < 0)
		return git_fail(NULL, ERR_INVALID, "cannot add an entry");
	return 0;
}

static int tw_dir(void *self, const char *path, unsigned mode)
{
	struct gitremote_tree *t = self;

	(void)mode;	/* git keeps no bits for a directory */
	return t->failed ? t->failed : add_dir(t, path);
}

static int finish_file(struct gitremote_tree *t)
{
	git_oid oid;
	int r;

	if (git_odb_stream_finalize_write(&oid, t->stream) < 0)
		r = git_fail(NULL, ERR_GENERIC, "cannot write a blob");
	else
		r = insert(t, t->dir, t->name, &oid, (t->mode & 0111) ?
			   GIT_FILEMODE_BLOB_EXECUTABLE : GIT_FILEMODE_BLOB);
	git_odb_stream_free(t->stream);
	t->stream = NULL;
	free(t->name);
	t->name = NULL;
	return r;
}

static int tw_file(void *self, const char *path, unsigned mode,
		   uint64_t size)
{
	struct gitremote_tree *t = self;
	const char *name;
	int r;

	if (t->failed)
		return t->failed;
	t->left = size;
	t->skip = !strcmp(path, "REVISION");
	if (t->skip)
		return 0;
	if ((r = parent_of(t, path, &t->dir, &name)) < 0)
		return t->failed = r;
	if (git_odb_open_wstream(&t->stream, t->odb, (git_object_size_t)size,
				 GIT_OBJECT_BLOB) < 0)
		return t->failed = git_fail(NULL, ERR_GENERIC,
					    "cannot write a blob");
	t->name = xstrdup(name);
	t->mode = mode;
	if (!size && (r = finish_file(t)) < 0)
		return t->failed = r;
	return 0;
}

static int tw_data(void *self, const void *data, size_t len)
{
	struct gitremote_tree *t = self;
	int r;

	if (t->failed)
		return t->failed;
	if (len > t->left)
		BUG("gitremote: more data than announced");
	t->left -= len;
	if (t->skip)
		return 0;
	if (git_odb_stream_write(t->stream, data, len) < 0)
		return t->failed = git_fail(NULL, ERR_GENERIC,
					    "cannot write a blob");
	if (!t->left && (r = finish_file(t)) < 0)
		return t->failed = r;
	return 0;
}

static int tw_symlink(void *self, const char *path, const char *target)
{
	struct gitremote_tree *t = self;
	const char *name;
	size_t dir;
	git_oid oid;
	int r;

	if (t->failed)
		return t->failed;
	if ((r = parent_of(t, path, &dir, &name)) < 0)
		return t->failed = r;
	if (git_blob_create_from_buffer(&oid, t->g->git, target,
					strlen(target)) < 0)
		return t->failed = git_fail(NULL, ERR_GENERIC,
					    "cannot write a blob");
	if ((r = insert(t, dir, name, &oid, GIT_FILEMODE_LINK)) < 0)
		return t->failed = r;
	return 0;
}

static const struct sink_ops tree_ops = {
	tw_dir, NULL, tw_file, tw_data, tw_symlink
};

int gitremote_tree_begin(struct gitremote *g, struct gitremote_tree **out,
			 struct sink *sink)
{
	struct gitremote_tree *t = xcalloc(1, sizeof(*t));
	int r;

	t->g = g;
	if (git_repository_odb(&t->odb, g->git) < 0) {
		r = git_fail(NULL, ERR_GENERIC, "cannot open the cache");
		free(t);
		return r;
	}
	if ((r = add_dir(t, "")) < 0) {
		gitremote_tree_end(t, NULL);
		return r;
	}
	sink_init(sink, &tree_ops, t);
	*out = t;
	return 0;
}

/* Deepest first: a directory's tree is written before its parent's. */
static int by_depth(const void *a, const void *b)
{
	const struct dir *x = a, *y = b;
	size_t dx = 0, dy = 0;
	const char *p;

	for (p = x->path; *p; p++)
		dx += *p == '/';
	for (p = y->path; *p; p++)
		dy += *p == '/';
	dx += !!*x->path;
	dy += !!*y->path;
	return dx < dy ? 1 : dx > dy ? -1 : strcmp(x->path, y->path);
}

int gitremote_tree_end(struct gitremote_tree *t, struct repo_oid *tree)
{
	size_t i, parent;
	const char *name;
	git_oid oid;
	int r = t->failed;

	if (!r && tree && t->stream)
		BUG("gitremote: a file was left short");
	if (!r && tree) {
		qsort(t->dirs, t->nr, sizeof(*t->dirs), by_depth);
		t->last = 0;
		for (i = 0; i < t->nr && !r; i++) {
			if (git_treebuilder_write(&oid, t->dirs[i].b) < 0) {
				r = git_fail(NULL, ERR_GENERIC,
					     "cannot write a tree");
				break;
			}
			if (!*t->dirs[i].path) {
				from_git(tree, &oid);
				continue;
			}
			/* empty directories do not exist in git */
			if (!git_treebuilder_entrycount(t->dirs[i].b))
				continue;
			r = parent_of(t, t->dirs[i].path, &parent, &name);
			if (!r)
				r = insert(t, parent, name, &oid,
					   GIT_FILEMODE_TREE);
		}
	}
	if (t->stream)
		git_odb_stream_free(t->stream);
	free(t->name);
	for (i = 0; i < t->nr; i++) {
		git_treebuilder_free(t->dirs[i].b);
		free(t->dirs[i].path);
	}
	free(t->dirs);
	git_odb_free(t->odb);
	free(t);
	return r;
}

/* ---- commits and pushes ------------------------------------------------ */

/*
 * The tree `base` (NULL: empty) with the entry at the path `parts[0]/...`
 * set to the tree `sub` (NULL: removed), written; its id in *out.
 */
static int replace_at(git_repository *git, const git_tree *base,
		      char **parts, size_t nr, const git_oid *sub,
		      git_oid *out)
{
	git_treebuilder *b = NULL;
	const git_tree_entry *e;
	git_tree *below = NULL;
	git_oid child;
	int r = 0;

	if (git_treebuilder_new(&b, git, base) < 0)
		return git_fail(NULL, ERR_GENERIC, "cannot build a tree");
	e = base ? git_tree_entry_byname(base, parts[0]) : NULL;
	if (nr > 1) {
		if (e && git_tree_entry_type(e) == GIT_OBJECT_TREE &&
		    git_tree_lookup(&below, git, git_tree_entry_id(e)) < 0) {
			r = git_fail(NULL, ERR_GENERIC, "cannot read a tree");
			goto out;
		}
		if ((r = replace_at(git, below, parts + 1, nr - 1, sub,
				    &child)) < 0)
			goto out;
		sub = &child;
		/* a directory left empty goes */
		if (git_oid_equal(&child, &(git_oid){ { 0 } }))
			sub = NULL;
	}
	if (sub && git_treebuilder_insert(NULL, b, parts[0], sub,
					  GIT_FILEMODE_TREE) < 0) {
		r = git_fail(NULL, ERR_GENERIC, "cannot build a tree");
		goto out;
	}
	if (!sub && e && git_treebuilder_remove(b, parts[0]) < 0) {
		r = git_fail(NULL, ERR_GENERIC, "cannot build a tree");
		goto out;
	}
	if (!git_treebuilder_entrycount(b)) {
		memset(out, 0, sizeof(*out));	/* no tree: nothing left */
		goto out;
	}
	if (git_treebuilder_write(out, b) < 0)
		r = git_fail(NULL, ERR_GENERIC, "cannot write a tree");
out:
	git_tree_free(below);
	git_treebuilder_free(b);
	return r;
}

int gitremote_commit(struct gitremote *g, const struct repo_oid *parent,
		     const char *path, const struct repo_oid *tree,
		     const char *message, struct repo_oid *out, bool *same)
{
	git_commit *pc = NULL;
	git_tree *base = NULL, *result = NULL;
	git_signature *sig = NULL;
	git_oid oid, sub, root, empty;
	char *copy = xstrdup(path), *parts[256], *save = NULL, *p;
	char host[256] = "localhost", email[300];
	size_t nr = 0;
	int r = 0;

	*same = false;
	for (p = strtok_r(copy, "/", &save); p && nr < 256;
	     p = strtok_r(NULL, "/", &save))
		if (strcmp(p, "."))
			parts[nr++] = p;
	if (!nr || p) {
		r = error_set(ERR_INVALID, "bad path '%s'", path);
		goto out;
	}
	if (parent) {
		to_git(&oid, parent);
		if (git_commit_lookup(&pc, g->git, &oid) < 0 ||
		    git_commit_tree(&base, pc) < 0) {
			r = git_fail(NULL, ERR_NOTFOUND, "cannot read the tip");
			goto out;
		}
	}
	if (tree)
		to_git(&sub, tree);
	if ((r = replace_at(g->git, base, parts, nr, tree ? &sub : NULL,
			    &root)) < 0)
		goto out;
	if (git_oid_equal(&root, &(git_oid){ { 0 } })) {
		/* nothing at all: the empty tree */
		git_treebuilder *b = NULL;

		if (git_treebuilder_new(&b, g->git, NULL) < 0 ||
		    git_treebuilder_write(&empty, b) < 0) {
			git_treebuilder_free(b);
			r = git_fail(NULL, ERR_GENERIC, "cannot write a tree");
			goto out;
		}
		git_treebuilder_free(b);
		root = empty;
	}
	if (base && git_oid_equal(&root, git_tree_id(base))) {
		*same = true;
		goto out;
	}
	if (git_tree_lookup(&result, g->git, &root) < 0) {
		r = git_fail(NULL, ERR_GENERIC, "cannot read the new tree");
		goto out;
	}
	gethostname(host, sizeof(host) - 1);
	snprintf(email, sizeof(email), "pushgate@%s", host);
	if (git_signature_now(&sig, "pushgate", email) < 0) {
		r = git_fail(NULL, ERR_GENERIC, "cannot sign the commit");
		goto out;
	}
	{
		const git_commit *parents[1] = { pc };

		if (git_commit_create(&oid, g->git, NULL, sig, sig, "UTF-8",
				      message, result, pc ? 1 : 0,
				      parents) < 0) {
			r = git_fail(NULL, ERR_GENERIC, "cannot commit");
			goto out;
		}
	}
	from_git(out, &oid);
out:
	git_signature_free(sig);
	git_tree_free(result);
	git_tree_free(base);
	git_commit_free(pc);
	free(copy);
	return r;
}

int gitremote_push(struct gitremote *g, const char *branch,
		   const struct repo_oid *commit, bool *rejected)
{
	git_push_options po;
	git_remote *remote = NULL;
	struct buf spec = BUF_INIT;
	char *specs[1];
	git_strarray arr = { specs, 1 };
	int r, rc;

	*rejected = false;
	git_push_options_init(&po, GIT_PUSH_OPTIONS_VERSION);
	if ((r = gitremote_set_ref(g, OUTGOING, commit)) < 0)
		return r;
	/* no '+': never forced */
	buf_addf(&spec, OUTGOING ":refs/heads/%s", branch);
	if (buf_error(&spec)) {
		buf_release(&spec);
		return error_set(ERR_TOOBIG, "branch name too long");
	}
	specs[0] = spec.ptr;
	callbacks(g, &po.callbacks);
	g->rejected = false;
	buf_reset(&g->refusal);
	if ((r = open_remote(g, &remote)) < 0)
		goto out;
	rc = git_remote_push(remote, &arr, &po);
	if (rc == GIT_ENONFASTFORWARD || (rc == 0 && g->rejected)) {
		/* the branch moved since the fetch: the caller fetches again */
		const git_error *e = git_error_last();

		if (!g->rejected) {
			buf_reset(&g->refusal);
			buf_addstr(&g->refusal, e && e->message ? e->message :
				   "not a fast-forward");
		}
		*rejected = true;
		git_error_clear();
		goto out;
	}
	if (rc < 0)
		r = git_fail(g, ERR_GENERIC, "cannot push");
out:
	git_remote_free(remote);
	buf_release(&spec);
	return r;
}

const char *gitremote_refusal(const struct gitremote *g)
{
	return g->refusal.len ? g->refusal.ptr : "";
}
