#include "policy.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "errors.h"
#include "gittree.h"
#include "history.h"
#include "oidmap.h"
#include "sshsig.h"
#include "timeutil.h"

#define SUBJECT_MAX 8192

/*
 * What the walk of one changed directory found, kept under its key (its
 * tree and the parents' trees at its path, see gittree_subtree): the
 * same key met again, anywhere in the commits of the update, holds the
 * same changes, so they are added up instead of walked again. Paths are
 * judged again only where a forbid_paths glob could match more than the
 * base name (see policy_glob_depth()).
 */
struct memo {
	uint64_t entries;	/* directories and paths below it */
	uint64_t paths;		/* paths below it */
	uint64_t bad_sizes;	/* blobs over max_file_size */
	uint64_t bad_paths;	/* paths forbid_paths forbids */
	size_t height;		/* trees nested below it */
	size_t tail;		/* longest path below it, less its own */
};

/* Directories whose findings are kept per update: past that, walked. */
#define MEMO_MAX (1024 * 1024)

/* A directory being walked: the counters when it was entered. */
struct frame {
	uint64_t entries, paths, bad_sizes, bad_paths;
	size_t path_len;
	size_t deepest;		/* depth of the deepest tree below */
	size_t longest;		/* longest path below */
};

/* From a walk's callbacks: the commit holds more than max_entries. */
#define STOP_TOO_LARGE 2
/* Events between two looks at the clock. */
#define CLOCK_EVERY 1024

struct check {
	const struct config *cfg;
	struct repo *repo;
	struct verdict *v;
	char commit_hex[REPO_OID_HEXSZ + 1];
	uint64_t bad_sizes;
	uint64_t bad_paths;
	uint64_t paths;
	uint64_t entries;	/* of the commit being walked */
	struct strvec size_details;
	struct strvec path_details;
	double deadline;	/* 0: none */
	unsigned ticks;
	size_t free_depth;	/* from this depth on, paths are memoized */
	struct oidmap memo;
	struct frame *frames;	/* [depth], 0 the root */
	size_t top;		/* depth of the directory being walked */
};

static void reject(struct verdict *v, const char *reason)
{
	struct buf b = BUF_INIT;

	v->rejected = true;
	if (v->reason) {
		buf_addstr(&b, v->reason);
		buf_addstr(&b, "; ");
		free(v->reason);
	}
	buf_addstr(&b, reason);
	v->reason = buf_detach(&b, NULL);
}

static void add_details(struct verdict *v, const struct strvec *lines,
			size_t total)
{
	size_t i;

	for (i = 0; i < lines->nr; i++)
		strvec_push(&v->details, lines->v[i]);
	if (total > lines->nr)
		strvec_pushf(&v->details, "... and %zu more",
			     total - lines->nr);
}

/* The forbid_paths pattern matching the path or its base name, or NULL. */
static const char *forbidden_by(const struct config *cfg,
				const struct gittree_change *c)
{
	size_t i;

	for (i = 0; i < cfg->forbid_paths.nr; i++)
		if (!fnmatch(cfg->forbid_paths.v[i], c->path, 0) ||
		    !fnmatch(cfg->forbid_paths.v[i], c->name, 0))
			return cfg->forbid_paths.v[i];
	return NULL;
}

size_t policy_glob_depth(const char *glob)
{
	size_t k = 1;
	const char *p;

	/* "*.pem": the end of the base name, wherever it is */
	if (glob[0] == '*' && !strpbrk(glob + 1, "*?[\\/"))
		return 0;
	/* any other '*' matches across '/' as well: "*secret*" */
	if (strchr(glob, '*'))
		return POLICY_ANY_DEPTH;
	/* each '/', '?' or bracket matches at most one '/' */
	for (p = glob; *p; p++)
		if (*p == '/' || *p == '?' || *p == '[')
			k++;
	return k;
}

/* The depth from which every forbid_paths glob is path-free. */
static size_t rules_free_depth(const struct config *cfg)
{
	size_t i, d, most = 0;

	for (i = 0; i < cfg->forbid_paths.nr; i++) {
		d = policy_glob_depth(cfg->forbid_paths.v[i]);
		if (d > most)
			most = d;
	}
	return most;
}

/* A look at the clock now and then: ERR_TIMEOUT past the deadline. */
static int out_of_time(struct check *ck)
{
	if (!ck->deadline || ++ck->ticks % CLOCK_EVERY)
		return 0;
	if (timeutil_now() <= ck->deadline)
		return 0;
	return error_set(ERR_TIMEOUT, "push_timeout (%u s) ran out while "
			 "checking the new commits", ck->cfg->push_timeout);
}

/* One more entry in the commit: STOP_TOO_LARGE past max_entries. */
static int count_entries(struct check *ck, uint64_t n)
{
	ck->entries += n;
	return ck->entries > ck->cfg->max_entries ? STOP_TOO_LARGE : 0;
}

static void seen_below(struct frame *f, size_t depth, size_t len)
{
	if (depth > f->deepest)
		f->deepest = depth;
	if (len > f->longest)
		f->longest = len;
}

static int check_change(const struct gittree_change *c, void *payload)
{
	struct check *ck = payload;
	const struct config *cfg = ck->cfg;
	const char *glob;
	int r;

	if ((r = count_entries(ck, 1)) || (r = out_of_time(ck)))
		return r;
	ck->paths++;
	seen_below(&ck->frames[ck->top], 0, strlen(c->path));
	if (cfg->forbid_paths.nr && (glob = forbidden_by(cfg, c)) &&
	    ck->bad_paths++ < POLICY_MAX_DETAILS)
		strvec_pushf(&ck->path_details, "%.12s %s (matches '%s')",
			     ck->commit_hex, c->path, glob);
	if (cfg->max_file_size && c->is_blob) {
		uint64_t size;

		if ((r = repo_object_size(ck->repo, &size, &c->id)) < 0)
			return r;
		if (size > cfg->max_file_size &&
		    ck->bad_sizes++ < POLICY_MAX_DETAILS) {
			struct buf b = BUF_INIT;

			buf_addf(&b, "%.12s %s: ", ck->commit_hex, c->path);
			buf_addsize(&b, size);
			strvec_push(&ck->size_details, b.ptr);
			buf_release(&b);
		}
	}
	return 0;
}

/*
 * May what was found under `m` stand for the directory `t` without a
 * walk? Only if the walk could not differ: not nested too deep there,
 * no path too long, and no finding the details still want to name.
 */
static bool memo_stands(const struct check *ck, const struct memo *m,
			const struct gittree_subtree *t, size_t len)
{
	return t->depth + m->height <= REPO_MAX_DEPTH &&
	       len + m->tail <= REPO_MAX_PATH &&
	       !(m->bad_sizes && ck->bad_sizes < POLICY_MAX_DETAILS) &&
	       !(m->bad_paths && ck->bad_paths < POLICY_MAX_DETAILS);
}

static int enter_dir(const struct gittree_subtree *t, void *payload)
{
	struct check *ck = payload;
	struct frame *parent = &ck->frames[ck->top], *f;
	size_t len = strlen(t->path);
	const struct memo *m;
	int r;

	if ((r = count_entries(ck, 1)) || (r = out_of_time(ck)))
		return r;
	if (t->depth > REPO_MAX_DEPTH || t->depth != ck->top + 1)
		return 0;	/* the walk refuses it, or a bug: no memo */
	seen_below(parent, t->depth, len);
	if (t->depth >= ck->free_depth &&
	    (m = oidmap_get(&ck->memo, t->key, t->key_len)) &&
	    memo_stands(ck, m, t, len)) {
		ck->paths += m->paths;
		ck->bad_sizes += m->bad_sizes;
		ck->bad_paths += m->bad_paths;
		seen_below(parent, t->depth + m->height, len + m->tail);
		return count_entries(ck, m->entries) ? STOP_TOO_LARGE :
		       GITTREE_SKIP;
	}
	f = &ck->frames[++ck->top];
	f->entries = ck->entries;
	f->paths = ck->paths;
	f->bad_sizes = ck->bad_sizes;
	f->bad_paths = ck->bad_paths;
	f->path_len = len;
	f->deepest = t->depth;
	f->longest = len;
	return 0;
}

static int leave_dir(const struct gittree_subtree *t, void *payload)
{
	struct check *ck = payload;
	struct frame *f = &ck->frames[ck->top];
	struct memo *m;

	if (!ck->top || t->depth != ck->top)
		return 0;	/* not entered: see enter_dir() */
	if (t->depth >= ck->free_depth &&
	    (m = oidmap_put(&ck->memo, t->key, t->key_len))) {
		m->entries = ck->entries - f->entries;
		m->paths = ck->paths - f->paths;
		m->bad_sizes = ck->bad_sizes - f->bad_sizes;
		m->bad_paths = ck->bad_paths - f->bad_paths;
		m->height = f->deepest - t->depth;
		m->tail = f->longest - f->path_len;
	}
	ck->top--;
	seen_below(&ck->frames[ck->top], f->deepest, f->longest);
	return 0;
}

/* Walk what `commit` adds or changes; 1 if it holds too many entries. */
static int walk_commit(struct check *ck, const struct repo_oid *commit)
{
	struct gittree_changes_opts o = GITTREE_CHANGES_OPTS_INIT;
	int r;

	o.change = check_change;
	o.enter = enter_dir;
	o.leave = leave_dir;
	o.payload = ck;
	ck->entries = 0;
	ck->top = 0;
	memset(&ck->frames[0], 0, sizeof(ck->frames[0]));
	r = gittree_changes(ck->repo, commit, &o);
	if (r == STOP_TOO_LARGE)
		return 1;
	if (r > 0)
		BUG("gittree_changes returned %d", r);
	return r;
}

static void reject_too_large(struct verdict *v, const struct config *cfg,
			     const char *hex, const char *what)
{
	struct buf b = BUF_INIT;

	buf_addf(&b, GITTREE_TOO_LARGE, (unsigned long long)cfg->max_entries);
	reject(v, b.ptr);
	buf_reset(&b);
	buf_addf(&b, "%.12s %s", hex, what);
	strvec_push(&v->details, b.ptr);
	buf_release(&b);
	strvec_push(&v->hints, "leave out what makes the tree so large "
		    "(generated or vendored files, a directory repeated "
		    "under many names), or ask to raise [verify] max_entries"
		    " on the server");
}

/*
 * [verify] signatures: each of `commits` must carry an SSH signature by
 * a key allowed_signers allows for its committer's email. Returns 0 (the
 * verdict tells) or an error reading the repository.
 */
static int check_signatures(struct verdict *v, const struct config *cfg,
			    struct repo *repo, const struct repo_oid *commits,
			    size_t nr)
{
	struct repo_signature sig = REPO_SIGNATURE_INIT;
	struct strvec details = STRVEC_INIT;
	struct sshsig_signers *signers = NULL;
	struct sshsig_verdict sv;
	char hex[REPO_OID_HEXSZ + 1];
	size_t i, bad = 0;
	int r = 0;

	if (!nr)
		return 0;
	if (sshsig_signers_load(&signers, cfg->allowed_signers, NULL) < 0) {
		struct buf why = BUF_INIT;

		/* what cannot be checked does not pass */
		buf_addf(&why, "cannot check signatures: allowed_signers: %s",
			 error_last());
		reject(v, why.ptr);
		buf_release(&why);
		strvec_push(&v->hints, "fix allowed_signers on the server "
			    "(pushgate check shows every problem)");
		error_clear();
		return 0;
	}
	for (i = 0; i < nr; i++) {
		if ((r = repo_commit_signature(repo, &sig, &commits[i])) < 0)
			goto out;
		if (!sig.is_signed) {
			memset(&sv, 0, sizeof(sv));
			sv.result = SSHSIG_NOT_SIGNED;
			snprintf(sv.message, sizeof(sv.message), "not signed");
		} else {
			sshsig_check(signers, sig.signature.ptr,
				     sig.signature.len, sig.data.ptr,
				     sig.data.len, sig.email.ptr, sig.when,
				     &sv);
		}
		if (sv.result == SSHSIG_VALID)
			continue;
		repo_oid_to_hex(hex, &commits[i]);
		if (bad++ < POLICY_MAX_DETAILS)
			strvec_pushf(&details, "%.12s %s", hex, sv.message);
	}
	if (bad) {
		reject(v, cfg->signatures == CONFIG_SIGNATURES_ALL ?
		       "a new commit is not signed by an allowed key" :
		       "the pushed commit is not signed by an allowed key");
		add_details(v, &details, bad);
		strvec_push(&v->hints, "sign with an SSH key listed in "
			    "allowed_signers for your committer email: git "
			    "config gpg.format ssh; git config user.signingkey"
			    " ~/.ssh/id_ed25519.pub; then git commit --amend "
			    "-S --no-edit (git rebase --exec 'git commit "
			    "--amend -S --no-edit' for older commits)");
	}
out:
	sshsig_signers_free(signers);
	strvec_clear(&details);
	repo_signature_release(&sig);
	return r;
}

static int check_commits(struct verdict *v, const struct policy_opts *o,
			 const struct repo_oid *tip)
{
	const struct config *cfg = o->cfg;
	struct repo *repo = o->repo;
	struct check ck;
	struct strvec subj_details = STRVEC_INIT;
	bool walk = cfg->max_file_size || cfg->forbid_paths.nr;
	struct repo_oid *commits = NULL;
	size_t nr = 0, i, bad_subjects = 0;
	int r;

	memset(&ck, 0, sizeof(ck));
	ck.cfg = cfg;
	ck.repo = repo;
	ck.v = v;
	strvec_init(&ck.size_details);
	strvec_init(&ck.path_details);
	ck.deadline = o->deadline;
	ck.free_depth = rules_free_depth(cfg);
	oidmap_init(&ck.memo, sizeof(struct memo), MEMO_MAX);
	if (cfg->signatures == CONFIG_SIGNATURES_TIPS &&
	    (r = check_signatures(v, cfg, repo, tip, 1)) < 0)
		goto out;
	r = 0;
	if (!cfg->has_commit_re && !walk &&
	    cfg->signatures != CONFIG_SIGNATURES_ALL)
		goto out;
	if ((r = repo_new_commits(repo, &commits, &nr, tip)) < 0)
		goto out;
	if (cfg->signatures == CONFIG_SIGNATURES_ALL &&
	    (r = check_signatures(v, cfg, repo, commits, nr)) < 0)
		goto out;
	if (walk)
		ck.frames = xcalloc(REPO_MAX_DEPTH + 2, sizeof(*ck.frames));
	v->nr_new_commits = nr;
	for (i = 0; i < nr; i++) {
		if (o->deadline && timeutil_now() > o->deadline) {
			r = error_set(ERR_TIMEOUT, "push_timeout (%u s) ran "
				      "out while checking the new commits",
				      cfg->push_timeout);
			goto out;
		}
		repo_oid_to_hex(ck.commit_hex, &commits[i]);
		if (cfg->has_commit_re) {
			struct repo_commit_text t;

			/* the whole subject: a clipped one could pass */
			if ((r = repo_commit_text(repo, &t, &commits[i],
						  0)) < 0)
				goto out;
			if (regexec(&cfg->commit_re, t.subject, 0, NULL, 0) &&
			    bad_subjects++ < POLICY_MAX_DETAILS)
				strvec_pushf(&subj_details, "%.12s %.*s",
					     ck.commit_hex, SUBJECT_MAX,
					     t.subject);
			repo_commit_text_release(&t);
		}
		if (walk && (r = walk_commit(&ck, &commits[i])) < 0)
			goto out;
		if (r > 0) {
			/* the push is refused: its other commits can wait */
			reject_too_large(v, cfg, ck.commit_hex,
					 "adds or changes them");
			r = 0;
			break;
		}
	}
	v->nr_paths = ck.paths;
	if (bad_subjects) {
		struct buf b = BUF_INIT;

		buf_addf(&b, "commit subject does not match commit_message"
			 " '%s'", cfg->commit_message);
		reject(v, b.ptr);
		buf_release(&b);
		add_details(v, &subj_details, bad_subjects);
		strvec_push(&v->hints, "reword the subjects: git commit --amend"
			    " for the last commit, git rebase -i for older"
			    " ones");
	}
	if (ck.bad_sizes) {
		struct buf b = BUF_INIT;

		buf_addstr(&b, "a new blob is larger than max_file_size (");
		buf_addsize(&b, cfg->max_file_size);
		buf_addch(&b, ')');
		reject(v, b.ptr);
		buf_release(&b);
		add_details(v, &ck.size_details, ck.bad_sizes);
		strvec_push(&v->hints, "remove the files from the commits"
			    " that add them (git rm --cached FILE, then git"
			    " commit --amend or git rebase -i)");
	}
	if (ck.bad_paths) {
		reject(v, "a new commit adds or changes a forbidden path");
		add_details(v, &ck.path_details, ck.bad_paths);
		strvec_push(&v->hints, "remove those paths from the commits"
			    " that add them (git rm --cached PATH, then git"
			    " commit --amend or git rebase -i)");
	}
out:
	strvec_clear(&subj_details);
	strvec_clear(&ck.size_details);
	strvec_clear(&ck.path_details);
	oidmap_release(&ck.memo);
	free(ck.frames);
	free(commits);
	return r;
}

/* The cache key of "the tree of `commit` is within `max` entries". */
static int size_key(char out[REPO_OID_HEXSZ + 1], const struct repo_oid *commit,
		    uint64_t max)
{
	char hex[REPO_OID_HEXSZ + 1];
	char text[64 + REPO_OID_HEXSZ];
	int n;

	repo_oid_to_hex(hex, commit);
	n = snprintf(text, sizeof(text), "pushgate-size-v1\n%s\n%llu\n", hex,
		     (unsigned long long)max);
	return repo_hash_hex(out, text, (size_t)n);
}

int policy_tree_too_large(bool *too_large, struct state *st, bool remember,
			  struct repo *repo, struct gittree_sizes *sizes,
			  const struct repo_oid *commit)
{
	char key[REPO_OID_HEXSZ + 1];
	bool keyed;
	uint64_t n;
	int r;

	*too_large = false;
	keyed = st && !size_key(key, commit, gittree_sizes_max(sizes));
	if (!keyed)
		error_clear();
	else if (state_cache_has(st, key))
		return 0;
	if ((r = gittree_count(repo, &n, commit, NULL, sizes)) < 0)
		return r;
	*too_large = n > gittree_sizes_max(sizes);
	/* without the cache the next check only counts again */
	if (!*too_large && keyed && remember && state_cache_add(st, key) < 0)
		error_clear();
	return 0;
}

/* The pushed commit's tree must hold at most max_entries entries. */
static int check_tree_size(struct verdict *v, const struct policy_opts *o,
			   const struct repo_oid *tip)
{
	struct gittree_sizes *own = NULL, *sizes = o->sizes;
	char hex[REPO_OID_HEXSZ + 1];
	bool too_large;
	int r;

	if (!sizes)
		sizes = own = gittree_sizes_new(o->cfg->max_entries);
	r = policy_tree_too_large(&too_large, o->st, false, o->repo, sizes,
				  tip);
	if (!r && too_large) {
		repo_oid_to_hex(hex, tip);
		reject_too_large(v, o->cfg, hex, "is the pushed commit");
	}
	gittree_sizes_free(own);
	return r;
}

int policy_check_update(struct verdict *out, const struct policy_opts *o,
			const struct push_update *u)
{
	const struct config *cfg = o->cfg;
	struct repo *repo = o->repo;
	const char *branch = push_branch_name(u->ref);
	struct repo_oid old_id, new_id, tip;
	int r;

	const char *deploy_env = push_deploy_env(u->ref);

	if (!strncmp(u->ref, "refs/environments/", 18)) {
		reject(out, "refs/environments/ is managed by pushgate");
		return 0;
	}
	if (deploy_env && u->is_delete)
		return 0;	/* an approval that was left behind */
	if (deploy_env && !config_env_find(cfg, deploy_env)) {
		struct buf why = BUF_INIT;

		buf_addf(&why, "no environment '%.100s' in hooks.ini "
			 "(refs/deploy/ENV asks to deploy to ENV)", deploy_env);
		reject(out, why.ptr);
		buf_release(&why);
		return 0;
	}
	if ((r = repo_oid_from_hex(&old_id, u->old_hex)) < 0 ||
	    (r = repo_oid_from_hex(&new_id, u->new_hex)) < 0)
		return r;
	if (branch && config_globs_match(&cfg->protected_branches, branch)) {
		if (u->is_delete) {
			reject(out, "protected branch cannot be deleted");
			return 0;
		}
		if (!u->is_create) {
			bool ff;

			if ((r = repo_is_ancestor(repo, &ff, &old_id,
						  &new_id)) < 0)
				return r;
			if (!ff) {
				reject(out, "non-fast-forward update of a protected branch");
				return 0;
			}
		}
	}
	if (!strncmp(u->ref, "refs/tags/", 10) && cfg->protect_tags &&
	    !u->is_create) {
		reject(out, "existing tags cannot be deleted or moved");
		return 0;
	}
	if (u->is_delete)
		return 0;
	r = repo_peel_commit(repo, &tip, &new_id);
	if (r == ERR_INVALID) {
		error_clear();
		reject(out, "the new value does not point to a commit");
		return 0;
	}
	if (r < 0)
		return r;
	/* no hooks.ini: no rules at all (SPEC §3), not even this one */
	if (cfg->present &&
	    ((r = check_tree_size(out, o, &tip)) < 0 || out->rejected))
		return r;
	return check_commits(out, o, &tip);
}

bool policy_needs_test(const struct config *cfg, const struct push_update *u)
{
	const char *branch = push_branch_name(u->ref);

	if (!cfg->build && !cfg->test)
		return false;
	if (u->is_delete)
		return false;
	if (push_deploy_env(u->ref))
		return true;	/* as for `pushgate deploy ENV COMMIT` */
	if (!branch)
		return false;
	return config_env_for_branch(cfg, branch) ||
	       config_globs_match(&cfg->test_branches, branch);
}

void verdict_release(struct verdict *v)
{
	free(v->reason);
	v->reason = NULL;
	strvec_clear(&v->details);
	strvec_clear(&v->hints);
	v->rejected = false;
	v->nr_new_commits = 0;
	v->nr_paths = 0;
}

bool policy_may_approve(const struct config_env *env, const char *user)
{
	if (!env->approvers.nr)
		return true;
	return user && strvec_has(&env->approvers, user);
}

struct requires_scan {
	const char *env;
	struct repo *repo;
	const struct repo_oid *commit;
	struct repo_oid tree;
	bool found;
};

/* Stops at the first successful deploy of the commit or of its tree. */
static int scan_deploys(const struct history_record *rec, void *payload)
{
	struct requires_scan *s = payload;
	struct repo_oid id, tree;

	if (strcmp(rec->env, s->env) || rec->result != HISTORY_OK ||
	    repo_oid_from_hex(&id, rec->commit) < 0) {
		error_clear();
		return 0;
	}
	if (repo_oid_equal(&id, s->commit) ||
	    (repo_commit_tree(s->repo, &tree, &id) == 0 &&
	     repo_oid_equal(&tree, &s->tree))) {
		s->found = true;
		return 1;
	}
	error_clear();
	return 0;
}

int policy_requires_met(bool *out, struct strvec *missing,
			const struct config_env *env, struct repo *repo,
			struct state *st, const struct repo_oid *commit)
{
	struct requires_scan s;
	size_t i;
	int r;

	*out = true;
	if (!env->requires.nr)
		return 0;
	memset(&s, 0, sizeof(s));
	s.repo = repo;
	s.commit = commit;
	if ((r = repo_commit_tree(repo, &s.tree, commit)) < 0)
		return r;
	for (i = 0; i < env->requires.nr; i++) {
		s.env = env->requires.v[i];
		s.found = false;
		if ((r = history_read(st, scan_deploys, &s)) < 0)
			return r;
		if (!s.found) {
			*out = false;
			strvec_push(missing, s.env);
		}
	}
	return 0;
}

/* "'a'", "'a' or 'b'", "'a', 'b' or 'c'" (`last` the final joiner). */
static void join(struct buf *b, const struct strvec *names, const char *last)
{
	size_t i;

	for (i = 0; i < names->nr; i++)
		buf_addf(b, "%s'%s'", i ? (i + 1 == names->nr ? last : ", ") :
			 "", names->v[i]);
}

void policy_deploy_verdict(struct verdict *out, const struct config_env *env,
			   const char *user, bool approver,
			   const struct strvec *missing, const char *hex)
{
	struct buf msg = BUF_INIT;
	size_t i;

	if (!approver) {
		buf_addf(&msg, "'%s' may not approve deploys to '%s': ask ",
			 user ? user : "an unknown user", env->name);
		join(&msg, &env->approvers, " or ");
		reject(out, msg.ptr);
		buf_reset(&msg);
		buf_addf(&msg, "'%s' is a manual environment: only its"
			 " approvers deploy there", env->name);
		strvec_push(&out->hints, msg.ptr);
		buf_release(&msg);
		return;
	}
	if (!missing || !missing->nr)
		return;
	buf_addf(&msg, "'%s' requires this commit to be live on ", env->name);
	join(&msg, missing, " and ");
	buf_addstr(&msg, " first");
	reject(out, msg.ptr);
	for (i = 0; i < missing->nr; i++) {
		buf_reset(&msg);
		buf_addf(&msg, "deploy it to '%s' first: pushgate deploy %s"
			 " %.12s", missing->v[i], missing->v[i], hex);
		strvec_push(&out->hints, msg.ptr);
	}
	buf_release(&msg);
}

int policy_check_deploy(struct verdict *out, const struct policy_deploy *d)
{
	struct strvec missing = STRVEC_INIT;
	char hex[REPO_OID_HEXSZ + 1];
	bool approver, met;
	int r;

	approver = d->env->mode != CONFIG_MODE_MANUAL ||
		   policy_may_approve(d->env, d->user);
	repo_oid_to_hex(hex, d->commit);
	if (approver &&
	    (r = policy_requires_met(&met, &missing, d->env, d->repo, d->st,
				     d->commit)) < 0)
		goto out;
	policy_deploy_verdict(out, d->env, d->user, approver, &missing, hex);
	r = 0;
out:
	strvec_clear(&missing);
	return r;
}
