#include "policy.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "errors.h"
#include "gittree.h"
#include "history.h"
#include "sshsig.h"

#define SUBJECT_MAX 8192

struct check {
	const struct config *cfg;
	struct repo *repo;
	struct verdict *v;
	char commit_hex[REPO_OID_HEXSZ + 1];
	size_t bad_sizes;
	size_t bad_paths;
	struct strvec size_details;
	struct strvec path_details;
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

static int check_change(const struct gittree_change *c, void *payload)
{
	struct check *ck = payload;
	const struct config *cfg = ck->cfg;
	const char *glob;
	int r;

	ck->v->nr_paths++;
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

static int check_commits(struct verdict *v, const struct config *cfg,
			 struct repo *repo, const struct repo_oid *tip)
{
	struct check ck = { cfg, repo, v, "", 0, 0, STRVEC_INIT, STRVEC_INIT };
	struct strvec subj_details = STRVEC_INIT;
	bool walk = cfg->max_file_size || cfg->forbid_paths.nr;
	struct repo_oid *commits = NULL;
	size_t nr = 0, i, bad_subjects = 0;
	int r;

	if (cfg->signatures == CONFIG_SIGNATURES_TIPS &&
	    (r = check_signatures(v, cfg, repo, tip, 1)) < 0)
		return r;
	if (!cfg->has_commit_re && !walk &&
	    cfg->signatures != CONFIG_SIGNATURES_ALL)
		return 0;
	if ((r = repo_new_commits(repo, &commits, &nr, tip)) < 0)
		goto out;
	if (cfg->signatures == CONFIG_SIGNATURES_ALL &&
	    (r = check_signatures(v, cfg, repo, commits, nr)) < 0)
		goto out;
	v->nr_new_commits = nr;
	for (i = 0; i < nr; i++) {
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
		if (walk &&
		    (r = gittree_changes(repo, &commits[i], check_change,
					   &ck)) < 0)
			goto out;
	}
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
	free(commits);
	return r;
}

int policy_check_update(struct verdict *out, const struct config *cfg,
			struct repo *repo, const struct push_update *u)
{
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
	return check_commits(out, cfg, repo, &tip);
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
