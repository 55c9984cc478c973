#include "artifact.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "digest.h"
#include "errors.h"
#include "fsutil.h"
#include "gittree.h"
#include "history.h"
#include "manifest.h"
#include "release.h"
#include "report.h"
#include "sink.h"
#include "testrun.h"

/* Release `a` after failure `r`, keeping r's message; returns r. */
static int release_failed(struct artifact *a, int r)
{
	struct error_saved saved;

	error_save(&saved);
	artifact_release(a);
	return error_restore(&saved, r);
}

int artifact_claim(struct artifact *a, const struct artifact_opts *o)
{
	struct buf path = BUF_INIT;
	struct stat sb;
	bool found;
	int r = 0;

	memset(a, 0, sizeof(*a));
	a->hold = -1;
	a->claimed = true;
	a->repo = o->repo;
	a->commit = *o->commit;
	repo_oid_to_hex(a->hex, o->commit);
	a->subdir = o->env->artifact ? o->env->artifact : ".";
	a->config_dir = o->env->config_dir;
	a->max_entries = o->cfg->max_entries;
	if (!o->cfg->build)
		return 0;
	if ((r = testrun_artifact_key(a->key, o->cfg, o->repo,
				      o->commit)) < 0)
		goto out;
	if (o->dry_run) {
		/* a look leaves no lock file behind for what is not kept */
		if ((r = state_artifact_path(o->st, &path, a->key)) < 0)
			goto out;
		if (lstat(path.ptr, &sb) < 0 || !S_ISDIR(sb.st_mode))
			goto out;
	}
	if ((a->hold = state_artifact_hold(o->st, a->key, o->dry_run ?
					   STATE_HOLD_PEEK : 0, &found)) < 0) {
		r = a->hold;
		a->hold = -1;
	}
out:
	buf_release(&path);
	return r < 0 ? release_failed(a, r) : r;
}

int artifact_open(struct artifact *a, const struct artifact_opts *o)
{
	struct testrun_opts to = TESTRUN_OPTS_INIT;
	struct buf ref = BUF_INIT, path = BUF_INIT;
	struct stat sb;
	int r = 0;

	if (!a->claimed && (r = artifact_claim(a, o)) < 0)
		return r;
	if (!o->cfg->build)
		return 0;
	if ((r = state_artifact_path(o->st, &path, a->key)) < 0)
		goto out;
	/* claimed: what is there now stays until artifact_release() */
	if (a->hold >= 0 && !lstat(path.ptr, &sb) && S_ISDIR(sb.st_mode)) {
		if (!o->dry_run)
			report_info("using the artifact built for %.12s (%.12s)",
				    a->hex, a->key);
	} else if (o->dry_run) {
		r = error_set(ERR_NOTFOUND, "no artifact kept for %.12s: the "
			      "deploy would build it first", a->hex);
		goto out;
	} else {
		/* held already: nobody drops it between build and use */
		buf_addf(&ref, "refs/heads/%s", o->env->branch);
		to.cfg = o->cfg;
		to.repo = o->repo;
		to.st = o->st;
		to.commit = o->commit;
		to.ref = ref.ptr;
		to.env = o->env->name;
		to.user = o->user;
		if ((r = testrun_build(&to)) < 0)
			goto out;
	}
	a->dir = buf_detach(&path, NULL);
out:
	buf_release(&ref);
	buf_release(&path);
	return r < 0 ? release_failed(a, r) : r;
}

/*
 * REVISION and FAILED at the top of a release are pushgate's: a pushed
 * file or link of that name could fake a failure, or (a symlink named
 * FAILED) redirect the marker's write outside the release.
 */
static int refuse_reserved(const char *path)
{
	if (!strcmp(path, "REVISION") || !strcmp(path, "FAILED"))
		return error_set(ERR_INVALID,
				 "the release may not contain '%s' at its top:"
				 " pushgate writes that file itself", path);
	return 0;
}

static int refuse_in_sink(const char *path, void *payload)
{
	(void)payload;
	return refuse_reserved(path);
}

/* One directory of the source (tree or kept artifact) into `sink`. */
static int write_dir(struct artifact *a, const char *sub, struct sink *sink)
{
	struct buf path = BUF_INIT;
	int r;

	if (!a->dir && a->listed)
		return gittree_export_listed(a->repo, &a->commit, sub,
					     a->max_entries, sink);
	if (!a->dir)
		return gittree_export(a->repo, &a->commit, sub, a->max_entries,
				      sink);
	buf_addstr(&path, a->dir);
	if (strcmp(sub, "."))
		buf_addf(&path, "/%s", sub);
	if ((r = buf_error(&path)) == 0)
		r = fsutil_export_dir(path.ptr, sink);
	buf_release(&path);
	return r;
}

int artifact_write(struct sink *sink, void *payload)
{
	struct artifact *a = payload;
	char revision[REPO_OID_HEXSZ + 2];
	struct sink_filter f;
	struct sink checked;
	int r;

	sink_filter_init(&checked, &f, sink, refuse_in_sink, NULL);
	snprintf(revision, sizeof(revision), "%s\n", a->hex);
	if ((r = write_dir(a, a->subdir, &checked)) < 0 ||
	    (a->config_dir &&
	     (r = write_dir(a, a->config_dir, &checked)) < 0))
		return r;
	return sink_file_data(sink, "REVISION", 0644, revision,
			      strlen(revision));
}

/* ---- manifests -------------------------------------------------------- */

/* The manifest being made, and what bounds it. */
struct listing {
	struct manifest *m;
	const struct artifact *a;
};

/* One entry more: the release, `config` overlay included, is bounded. */
static int add_entry(struct listing *l, const char *path, unsigned mode,
		     const char *id)
{
	int r;

	if ((r = manifest_add(l->m, path, mode, id)) < 0 ||
	    manifest_count(l->m) <= l->a->max_entries)
		return r;
	if (!l->a->dir)
		return error_set(ERR_TOOBIG, GITTREE_TOO_LARGE,
				 (unsigned long long)l->a->max_entries);
	return error_set(ERR_TOOBIG, "artifact too large: more than %llu "
			 "entries", (unsigned long long)l->a->max_entries);
}

static int add_listed(const char *path, unsigned mode, const char *id,
		      void *payload)
{
	int r;

	if ((r = refuse_reserved(path)) < 0)
		return r;
	return add_entry(payload, path, mode, id);
}

static int add_walked(const struct fsutil_entry *e, void *payload)
{
	char id[DIGEST_HEX + 1] = "";
	unsigned mode;
	int fd, r;

	if ((r = refuse_reserved(e->path)) < 0)
		return r;
	if (S_ISDIR(e->mode)) {
		mode = S_IFDIR | fsutil_release_mode(e->mode);
	} else if (S_ISLNK(e->mode)) {
		mode = S_IFLNK | 0777;
		digest_blob(id, e->link_target, strlen(e->link_target));
	} else if (S_ISREG(e->mode)) {
		mode = S_IFREG | fsutil_release_mode(e->mode);
		if ((fd = fsutil_entry_open(e)) < 0)
			return fd;
		r = digest_blob_fd(id, fd, e->size);
		close(fd);
		if (r < 0)
			return error_set(r, "'%.200s': %s", e->path,
					 error_last());
	} else {
		return 0;	/* not part of a release, as in uploads */
	}
	return add_entry(payload, e->path, mode, id);
}

static int list_dir(struct artifact *a, const char *sub, struct listing *l)
{
	struct buf path = BUF_INIT;
	int r;

	if (!a->dir)
		return gittree_list(a->repo, &a->commit, sub, a->max_entries,
				    add_listed, l);
	buf_addstr(&path, a->dir);
	if (strcmp(sub, "."))
		buf_addf(&path, "/%s", sub);
	if ((r = buf_error(&path)) == 0)
		r = fsutil_walk(path.ptr, add_walked, l);
	buf_release(&path);
	return r;
}

int artifact_manifest(struct manifest **out, struct artifact *a)
{
	struct listing l;
	int r;

	*out = NULL;
	l.m = manifest_new();
	l.a = a;
	manifest_set_artifact(l.m, a->key[0] ? a->key : NULL);
	if ((r = list_dir(a, a->subdir, &l)) < 0 ||
	    (a->config_dir && (r = list_dir(a, a->config_dir, &l)) < 0)) {
		manifest_free(l.m);
		return r;
	}
	/* within max_entries: the export need not count it again */
	a->listed = !a->dir;
	*out = l.m;
	return 0;
}

void artifact_release(struct artifact *a)
{
	state_unlock(a->hold);
	a->hold = -1;
	a->claimed = false;
	free(a->dir);
	a->dir = NULL;
}

/* ---- keeping the store bounded ---------------------------------------- */

struct kept {
	char key[REPO_OID_HEXSZ + 1];
	int64_t used;
};

struct kept_list {
	struct kept *v;
	size_t nr, alloc;
};

static int collect(const char *key, int64_t used, void *payload)
{
	struct kept_list *l = payload;

	if (l->nr == l->alloc) {
		l->alloc = l->alloc ? 2 * l->alloc : 16;
		l->v = xreallocarray(l->v, l->alloc, sizeof(*l->v));
	}
	snprintf(l->v[l->nr].key, sizeof(l->v[l->nr].key), "%s", key);
	l->v[l->nr++].used = used;
	return 0;
}

static int newest_first(const void *a, const void *b)
{
	const struct kept *x = a, *y = b;

	if (x->used != y->used)
		return x->used > y->used ? -1 : 1;
	return strcmp(x->key, y->key);
}

void artifact_gc(struct state *st, const struct config *cfg,
		 const struct strvec *protect)
{
	struct kept_list l = { NULL, 0, 0 };
	int64_t now = (int64_t)time(NULL);
	size_t i, kept = 0;
	bool dropped;

	state_artifact_sweep(st);
	if (state_artifact_list(st, collect, &l) < 0) {
		error_clear();
		goto out;
	}
	qsort(l.v, l.nr, sizeof(*l.v), newest_first);
	for (i = 0; i < l.nr; i++) {
		if (protect && strvec_has(protect, l.v[i].key))
			continue;
		if (kept < cfg->artifacts_keep) {
			kept++;
			continue;
		}
		/* a push's build may still wait for its deploy's claim */
		if (now - l.v[i].used < ARTIFACT_FRESH)
			continue;
		if (state_artifact_drop(st, l.v[i].key, &dropped) < 0)
			error_clear();
	}
out:
	free(l.v);
}

/* The releases live and previous in one environment, from the history. */
struct live_scan {
	const char *env;
	char live[RELEASE_ID_MAX];
	char previous[RELEASE_ID_MAX];
};

static int scan_live(const struct history_record *rec, void *payload)
{
	struct live_scan *s = payload;

	if (strcmp(rec->env, s->env) || rec->result != HISTORY_OK ||
	    !strcmp(rec->release, s->live))
		return 0;
	memcpy(s->previous, s->live, sizeof(s->previous));
	snprintf(s->live, sizeof(s->live), "%s", rec->release);
	return 0;
}

void artifact_gc_protected(struct state *st, const struct config *cfg)
{
	struct strvec keys = STRVEC_INIT;
	struct buf path = BUF_INIT;
	size_t i, k;

	if (!cfg->build)
		return;
	for (i = 0; i < cfg->nr_envs; i++) {
		struct live_scan s;
		const char *ids[2];

		memset(&s, 0, sizeof(s));
		s.env = cfg->envs[i].name;
		if (history_read(st, scan_live, &s) < 0)
			error_clear();
		ids[0] = s.live;
		ids[1] = s.previous;
		for (k = 0; k < 2; k++) {
			struct manifest *m = NULL;

			buf_reset(&path);
			if (!ids[k][0] ||
			    state_manifest_path(st, &path, s.env, ids[k]) < 0 ||
			    manifest_read(&m, path.ptr) < 0) {
				error_clear();
				continue;
			}
			strvec_push(&keys, manifest_artifact(m));
			manifest_free(m);
		}
	}
	artifact_gc(st, cfg, &keys);
	strvec_clear(&keys);
	buf_release(&path);
}
