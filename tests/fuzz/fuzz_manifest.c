/*
 * fuzz_manifest - libFuzzer target for release manifests (manifest.c),
 * the files in the state directory that say what each deployed release
 * holds, and for the incremental plan made from them (delta.c). Their
 * paths are those of pushed commits and of builds, and a manifest left
 * half written by a crash must be refused, not misread. The input is
 * written as a manifest file and read. When it reads:
 *
 *   - each path is listed once, found again by manifest_get() and
 *     manifest_index(), with a valid id and mode;
 *   - written out and read again, it is the same manifest, with the same
 *     listing digest;
 *   - a release identical to the one live on a host that holds exactly
 *     it is sent as nothing, and nothing is removed;
 *   - onto an empty host, everything is sent;
 *   - to a release without any entry, every path goes: each is one of the
 *     top-most paths removed or lies under one, and none of those lies
 *     under another.
 *
 * Built and run by tests/fuzz/run.sh (make fuzz), and by make check
 * through tests/fuzz/driver.c.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "delta.h"
#include "digest.h"
#include "errors.h"
#include "fuzz.h"
#include "manifest.h"
#include "strvec.h"

static char path[600], path2[600];

static void check_entries(const struct manifest *m)
{
	size_t i, n = manifest_count(m);

	FUZZ_CHECK(strlen(manifest_artifact(m)) > 0);
	FUZZ_CHECK(!strpbrk(manifest_artifact(m), " \n"));
	for (i = 0; i < n; i++) {
		const struct manifest_entry *e = manifest_at(m, i);
		size_t idlen = strlen(e->id);

		FUZZ_CHECK(e->path[0]);
		FUZZ_CHECK(e->mode <= 0177777);
		FUZZ_CHECK(idlen == 0 || (idlen == MANIFEST_ID_HEX &&
					  strspn(e->id, "0123456789abcdef") ==
					  idlen));
		FUZZ_CHECK(manifest_index(m, e->path) == i);
		FUZZ_CHECK(manifest_get(m, e->path) == e);
	}
	FUZZ_CHECK(!manifest_at(m, n));
}

static void check_same(const struct manifest *a, const struct manifest *b)
{
	size_t i;

	FUZZ_CHECK(!strcmp(manifest_artifact(a), manifest_artifact(b)));
	FUZZ_CHECK(manifest_count(a) == manifest_count(b));
	for (i = 0; i < manifest_count(a); i++) {
		const struct manifest_entry *x = manifest_at(a, i);
		const struct manifest_entry *y = manifest_at(b, i);

		FUZZ_CHECK(!strcmp(x->path, y->path));
		FUZZ_CHECK(x->mode == y->mode && !strcmp(x->id, y->id));
		FUZZ_CHECK(manifest_entry_same(x, y));
	}
}

/* Is `p` equal to `top` or under it? */
static bool under(const char *p, const char *top)
{
	size_t n = strlen(top);

	return !strncmp(p, top, n) && (!p[n] || p[n] == '/');
}

static void check_delta(const struct manifest *m, const struct strvec *skip)
{
	struct manifest *none = manifest_new();
	struct delta_input in;
	struct delta d;
	size_t i, j, n = manifest_count(m);
	bool *newer = calloc(n ? n : 1, sizeof(*newer));

	FUZZ_CHECK(newer);
	/* the same release again, onto a host that has it: nothing to do */
	in.base = m;
	in.next = m;
	in.actual = m;
	in.newer = newer;
	in.skip = skip;
	FUZZ_CHECK(!delta_plan(&d, &in));
	FUZZ_CHECK(d.nr_send == 0 && d.remove.nr == 0);
	for (i = 0; i < n; i++)
		FUZZ_CHECK(!d.send[i]);
	delta_release(&d);

	/* onto an empty host: all of it */
	in.base = none;
	in.actual = none;
	FUZZ_CHECK(!delta_plan(&d, &in));
	FUZZ_CHECK(d.nr_reused == 0 && d.remove.nr == 0);
	for (i = 0; i < n; i++)
		FUZZ_CHECK(d.send[i] ||
			   delta_skipped(skip, manifest_at(m, i)->path));
	delta_release(&d);

	/* to nothing: every path removed, top-most paths only */
	in.base = m;
	in.actual = m;
	in.next = none;
	if (!delta_plan(&d, &in)) {
		for (i = 0; i < n; i++) {
			const char *p = manifest_at(m, i)->path;
			bool gone = delta_skipped(skip, p);

			for (j = 0; j < d.remove.nr && !gone; j++)
				gone = under(p, d.remove.v[j]);
			FUZZ_CHECK(gone);
		}
		for (i = 0; i < d.remove.nr; i++) {
			FUZZ_CHECK(manifest_get(m, d.remove.v[i]));
			for (j = 0; j < d.remove.nr; j++)
				FUZZ_CHECK(i == j ||
					   !under(d.remove.v[i],
						  d.remove.v[j]));
		}
		delta_release(&d);
	}
	error_clear();
	manifest_free(none);
	free(newer);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct manifest *m = NULL, *m2 = NULL;
	struct strvec skip = STRVEC_INIT;
	char digest[DIGEST_HEX + 1], digest2[DIGEST_HEX + 1];

	if (!path[0]) {
		const char *dir = fuzz_dir("fuzz_manifest");

		snprintf(path, sizeof(path), "%s/manifest", dir);
		snprintf(path2, sizeof(path2), "%s/manifest.again", dir);
	}
	fuzz_write(path, data, size);
	if (manifest_read(&m, path) < 0) {
		FUZZ_CHECK(!m);
		error_clear();
		return 0;
	}
	check_entries(m);
	FUZZ_CHECK(!manifest_write(m, path2));
	FUZZ_CHECK(!manifest_read(&m2, path2));
	check_same(m, m2);
	strvec_push(&skip, "shared");
	strvec_push(&skip, "var/log");
	delta_listing_digest(digest, m, &skip);
	delta_listing_digest(digest2, m2, &skip);
	FUZZ_CHECK(!strcmp(digest, digest2));
	check_delta(m, &skip);
	strvec_clear(&skip);
	manifest_free(m);
	manifest_free(m2);
	error_clear();
	return 0;
}
