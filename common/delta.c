#include "delta.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "digest.h"
#include "errors.h"

static bool is_dir(unsigned mode)
{
	return S_ISDIR(mode);
}

/* Same type, and for what is not a symlink, the same bits. */
static bool same_kind(unsigned a, unsigned b)
{
	if ((a & S_IFMT) != (b & S_IFMT))
		return false;
	return S_ISLNK(a) || (a & 07777) == (b & 07777);
}

bool delta_skipped(const struct strvec *skip, const char *path)
{
	size_t i, n;

	for (i = 0; skip && i < skip->nr; i++) {
		n = strlen(skip->v[i]);
		if (!strncmp(path, skip->v[i], n) &&
		    (!path[n] || path[n] == '/'))
			return true;
	}
	return false;
}

/* Is `path`, or a directory above it, in `set`? */
static bool covered(const struct manifest *set, const char *path)
{
	struct buf b = BUF_INIT;
	bool found = false;
	char *slash;

	if (manifest_get(set, path))
		return true;
	buf_addstr(&b, path);
	while (!found && (slash = strrchr(b.ptr, '/'))) {
		*slash = '\0';
		found = manifest_get(set, b.ptr) != NULL;
	}
	buf_release(&b);
	return found;
}

/* Every directory above `path` is a directory on the host. */
static bool under_dirs(const struct manifest *actual, const char *path)
{
	struct buf b = BUF_INIT;
	const struct manifest_entry *a;
	bool ok = true;
	char *slash;

	buf_addstr(&b, path);
	while (ok && (slash = strrchr(b.ptr, '/'))) {
		*slash = '\0';
		a = manifest_get(actual, b.ptr);
		ok = !a || is_dir(a->mode);
	}
	buf_release(&b);
	return ok;
}

static int cmp_path(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * `cand` holds the paths to remove, some under others: keep only the
 * top-most ones, in order.
 */
static int top_most(struct strvec *out, const struct manifest *cand,
		    const struct manifest *actual)
{
	struct manifest *kept = manifest_new();
	char **paths;
	size_t i, n = manifest_count(cand);
	int r = 0;

	paths = xcalloc(n ? n : 1, sizeof(*paths));
	for (i = 0; i < n; i++)
		paths[i] = manifest_at(cand, i)->path;
	/* sorted, a directory comes before what is under it */
	qsort(paths, n, sizeof(*paths), cmp_path);
	for (i = 0; i < n && !r; i++) {
		if (covered(kept, paths[i]))
			continue;
		if (!under_dirs(actual, paths[i])) {
			r = error_set(ERR_INVALID, "'%.200s' is under something"
				      " that is not a directory", paths[i]);
			break;
		}
		if ((r = manifest_add(kept, paths[i], 0, "")) == 0)
			strvec_push(out, paths[i]);
	}
	free(paths);
	manifest_free(kept);
	return r;
}

int delta_plan(struct delta *out, const struct delta_input *in)
{
	struct manifest *rm = manifest_new(), *fix = manifest_new();
	const struct manifest_entry *a, *b, *n;
	size_t i, count = manifest_count(in->next);
	int r = 0;

	memset(out, 0, sizeof(*out));
	strvec_init(&out->remove);
	out->send = xcalloc(count ? count : 1, sizeof(*out->send));
	/* what the host has: junk, and what changed since it was sealed */
	for (i = 0; i < manifest_count(in->actual) && !r; i++) {
		a = manifest_at(in->actual, i);
		if (delta_skipped(in->skip, a->path))
			continue;
		b = manifest_get(in->base, a->path);
		if (!b || (a->mode & S_IFMT) != (b->mode & S_IFMT))
			r = manifest_add(rm, a->path, 0, "");
		else if (is_dir(a->mode) && !same_kind(a->mode, b->mode))
			r = manifest_add(fix, a->path, 0, "");	/* its bits */
		else if (!is_dir(a->mode) &&
			 (!same_kind(a->mode, b->mode) || in->newer[i]))
			r = manifest_add(rm, a->path, 0, "");
	}
	/* what the new release no longer has, or has as another type */
	for (i = 0; i < manifest_count(in->base) && !r; i++) {
		b = manifest_at(in->base, i);
		if (delta_skipped(in->skip, b->path))
			continue;
		n = manifest_get(in->next, b->path);
		if (!n || is_dir(n->mode) != is_dir(b->mode))
			r = manifest_add(rm, b->path, 0, "");
	}
	if (r || (r = top_most(&out->remove, rm, in->actual)) < 0)
		goto out;
	/* what to send: anything not reusable as it is in the copy */
	for (i = 0; i < count; i++) {
		n = manifest_at(in->next, i);
		if (delta_skipped(in->skip, n->path))
			continue;
		b = manifest_get(in->base, n->path);
		a = manifest_get(in->actual, n->path);
		out->send[i] = !b || !a || !manifest_entry_same(b, n) ||
			       covered(rm, n->path) ||
			       manifest_get(fix, n->path) != NULL;
	}
	/* the directories above what is sent come too, with their bits */
	for (i = count; i-- > 0;) {
		struct buf p = BUF_INIT;
		char *slash;
		size_t k;

		if (!out->send[i])
			continue;
		buf_addstr(&p, manifest_at(in->next, i)->path);
		while ((slash = strrchr(p.ptr, '/'))) {
			*slash = '\0';
			k = manifest_index(in->next, p.ptr);
			if (k == (size_t)-1 || out->send[k])
				break;
			out->send[k] = true;
		}
		buf_release(&p);
	}
	for (i = 0; i < count; i++) {
		if (delta_skipped(in->skip, manifest_at(in->next, i)->path))
			continue;
		if (out->send[i])
			out->nr_send++;
		else
			out->nr_reused++;
	}
out:
	manifest_free(rm);
	manifest_free(fix);
	if (r)
		delta_release(out);
	return r;
}

void delta_release(struct delta *d)
{
	strvec_clear(&d->remove);
	free(d->send);
	d->send = NULL;
	d->nr_send = d->nr_reused = 0;
}

static char find_type(unsigned mode)
{
	if (S_ISDIR(mode))
		return 'd';
	if (S_ISLNK(mode))
		return 'l';
	return 'f';
}

static int by_bytes(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void delta_listing_digest(char out[DIGEST_HEX + 1], const struct manifest *m,
			  const struct strvec *skip)
{
	struct strvec records = STRVEC_INIT;
	const struct manifest_entry *e;
	struct digest *d;
	size_t i;

	for (i = 0; i < manifest_count(m); i++) {
		e = manifest_at(m, i);
		if (!delta_skipped(skip, e->path))
			strvec_pushf(&records, "%c %o %s", find_type(e->mode),
				     e->mode & 07777, e->path);
	}
	if (records.nr)
		qsort(records.v, records.nr, sizeof(*records.v), by_bytes);
	d = digest_new();
	for (i = 0; i < records.nr; i++)
		digest_add(d, records.v[i], strlen(records.v[i]) + 1);
	digest_end(d, out);
	strvec_clear(&records);
}
