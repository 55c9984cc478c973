/*
 * Unit tests for delta: which entries an incremental release sends and
 * which paths it removes from the copy of the base, given the base's
 * manifest, the new one and what the host really has.
 */
#include "unit.h"

#include <stdlib.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "delta.h"
#include "manifest.h"

#define ID1 "1111111111111111111111111111111111111111"
#define ID2 "2222222222222222222222222222222222222222"
#define ID3 "3333333333333333333333333333333333333333"

#define D (S_IFDIR | 0755)
#define F (S_IFREG | 0644)
#define X (S_IFREG | 0755)
#define L (S_IFLNK | 0777)

struct fixture {
	struct manifest *base, *next, *actual;
	bool newer[64];
	struct strvec skip;
};

static struct fixture fx;

static int setup(void **state)
{
	(void)state;
	memset(&fx, 0, sizeof(fx));
	fx.base = manifest_new();
	fx.next = manifest_new();
	fx.actual = manifest_new();
	strvec_init(&fx.skip);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	manifest_free(fx.base);
	manifest_free(fx.next);
	manifest_free(fx.actual);
	strvec_clear(&fx.skip);
	return 0;
}

/* An entry deployed in the base and found as it was on the host. */
static void both(const char *path, unsigned mode, const char *id)
{
	assert_ok(manifest_add(fx.base, path, mode, id));
	assert_ok(manifest_add(fx.actual, path, mode, ""));
}

static void next(const char *path, unsigned mode, const char *id)
{
	assert_ok(manifest_add(fx.next, path, mode, id));
}

/* The plan, as "send: a b; remove: c d". */
static void plan(struct delta *d, char *out, size_t size)
{
	struct delta_input in = { fx.base, fx.next, fx.actual, fx.newer,
				  &fx.skip };
	size_t i;

	assert_ok(delta_plan(d, &in));
	snprintf(out, size, "send:");
	for (i = 0; i < manifest_count(fx.next); i++)
		if (d->send[i])
			snprintf(out + strlen(out), size - strlen(out), " %s",
				 manifest_at(fx.next, i)->path);
	snprintf(out + strlen(out), size - strlen(out), "; remove:");
	for (i = 0; i < d->remove.nr; i++)
		snprintf(out + strlen(out), size - strlen(out), " %s",
			 d->remove.v[i]);
}

static void expect(const char *want)
{
	struct delta d;
	char got[1024];

	plan(&d, got, sizeof(got));
	assert_string_equal(got, want);
	delta_release(&d);
}

/* A base of a/, a/x, a/y (executable), l -> a/x, top. */
static void base_tree(void)
{
	both("a", D, "");
	both("a/x", F, ID1);
	both("a/y", X, ID2);
	both("l", L, ID3);
	both("top", F, ID1);
}

static void same_next(void)
{
	next("a", D, "");
	next("a/x", F, ID1);
	next("a/y", X, ID2);
	next("l", L, ID3);
	next("top", F, ID1);
}

static void test_delta__unchanged(void **state)
{
	struct delta d;
	char got[256];

	(void)state;
	base_tree();
	same_next();
	plan(&d, got, sizeof(got));
	assert_string_equal(got, "send:; remove:");
	assert_int_equal(d.nr_send, 0);
	assert_int_equal(d.nr_reused, 5);
	delta_release(&d);
}

static void test_delta__one_file_changed(void **state)
{
	struct delta d;
	char got[256];

	(void)state;
	base_tree();
	next("a", D, "");
	next("a/x", F, ID3);		/* new content */
	next("a/y", X, ID2);
	next("l", L, ID3);
	next("top", F, ID1);
	/* the file, and its directory with its bits; nothing removed */
	plan(&d, got, sizeof(got));
	assert_string_equal(got, "send: a a/x; remove:");
	assert_int_equal(d.nr_send, 2);
	assert_int_equal(d.nr_reused, 3);
	delta_release(&d);
}

static void test_delta__adds_deletes_renames(void **state)
{
	(void)state;
	base_tree();
	next("a", D, "");
	next("a/y", X, ID2);
	next("a/z", F, ID1);		/* a/x renamed to a/z */
	next("b", D, "");
	next("b/new", F, ID2);		/* added in a new directory */
	next("l", L, ID3);
	/* top deleted */
	expect("send: a a/z b b/new; remove: a/x top");
}

static void test_delta__modes_and_symlinks(void **state)
{
	(void)state;
	base_tree();
	next("a", D, "");
	next("a/x", X, ID1);		/* 644 -> 755: the bytes again */
	next("a/y", F, ID2);		/* 755 -> 644 */
	next("l", L, ID1);		/* retargeted */
	next("top", F, ID1);
	expect("send: a a/x a/y l; remove:");
}

static void test_delta__file_dir_swaps(void **state)
{
	(void)state;
	base_tree();
	next("a", F, ID1);		/* the directory becomes a file */
	next("l", L, ID3);
	next("top", D, "");		/* the file becomes a directory */
	next("top/in", F, ID2);
	/* a/x and a/y go with a */
	expect("send: a top top/in; remove: a top");
}

static void test_delta__symlink_to_file(void **state)
{
	(void)state;
	base_tree();
	next("a", D, "");
	next("a/x", F, ID1);
	next("a/y", X, ID2);
	next("l", F, ID3);		/* a symlink becomes a file */
	next("top", L, ID1);		/* a file becomes a symlink */
	/* replaced in place: no directory involved */
	expect("send: l top; remove:");
}

static void test_delta__tampered_host(void **state)
{
	(void)state;
	base_tree();
	same_next();
	/* a/x appended to after sealing, top chmod'ed, junk added */
	fx.newer[manifest_index(fx.actual, "a/x")] = true;
	assert_ok(manifest_add(fx.actual, "top", S_IFREG | 0666, ""));
	assert_ok(manifest_add(fx.actual, "junk", F, ""));
	assert_ok(manifest_add(fx.actual, "junkdir", D, ""));
	assert_ok(manifest_add(fx.actual, "junkdir/f", F, ""));
	assert_ok(manifest_add(fx.actual, "a/junk", F, ""));
	expect("send: a a/x top; remove: a/junk a/x junk junkdir top");
}

static void test_delta__tampered_types_and_dirs(void **state)
{
	(void)state;
	base_tree();
	same_next();
	/* `a` chmod'ed: sent again for its bits, its content reused */
	assert_ok(manifest_add(fx.actual, "a", S_IFDIR | 0777, ""));
	/* `l` replaced by a directory holding junk */
	assert_ok(manifest_add(fx.actual, "l", D, ""));
	assert_ok(manifest_add(fx.actual, "l/junk", F, ""));
	expect("send: a l; remove: l");
}

static void test_delta__missing_on_host(void **state)
{
	(void)state;
	base_tree();
	same_next();
	/* a/y and the whole of nothing else: deleted on the host */
	manifest_free(fx.actual);
	fx.actual = manifest_new();
	assert_ok(manifest_add(fx.actual, "a", D, ""));
	assert_ok(manifest_add(fx.actual, "a/x", F, ""));
	assert_ok(manifest_add(fx.actual, "l", L, ""));
	assert_ok(manifest_add(fx.actual, "top", F, ""));
	expect("send: a a/y; remove:");
}

static void test_delta__directory_replaced_by_symlink_on_host(void **state)
{
	(void)state;
	base_tree();
	next("a", D, "");
	next("a/y", X, ID2);		/* a/x deleted in the new release */
	next("l", L, ID3);
	next("top", F, ID1);
	/*
	 * Someone made `a` a symlink (to /etc, say): only `a` is removed,
	 * never anything through it, and a comes back whole.
	 */
	assert_ok(manifest_add(fx.actual, "a", L, ""));
	expect("send: a a/y; remove: a");
}

static void test_delta__skipped_paths(void **state)
{
	(void)state;
	base_tree();
	both("uploads", D, "");
	same_next();
	next("uploads", D, "");
	next("uploads/readme", F, ID1);
	strvec_push(&fx.skip, "uploads");
	/* the host has the shared link there: left alone */
	assert_ok(manifest_add(fx.actual, "uploads", L, ""));
	expect("send:; remove:");
}

static void test_delta__never_through_a_file(void **state)
{
	struct delta_input in;
	struct delta d;

	(void)state;
	both("a", D, "");
	both("a/x", F, ID1);
	next("a", D, "");
	/* the host's `a` is a file, yet a/x is to go: never through it */
	manifest_free(fx.actual);
	fx.actual = manifest_new();
	assert_ok(manifest_add(fx.actual, "a", F, ""));
	assert_ok(manifest_add(fx.actual, "a/x", F, ""));
	memset(&in, 0, sizeof(in));
	in.base = fx.base;
	in.next = fx.next;
	in.actual = fx.actual;
	in.newer = fx.newer;
	/* `a` itself is removed (its type changed): a/x goes with it */
	assert_ok(delta_plan(&d, &in));
	assert_int_equal(d.remove.nr, 1);
	assert_string_equal(d.remove.v[0], "a");
	delta_release(&d);
}

static void test_delta__manifest_file(void **state)
{
	char path[] = "/tmp/test_delta-XXXXXX";
	struct manifest *m = NULL;
	const struct manifest_entry *e;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	both("a", D, "");
	both("we\nird name 'x'", F, ID1);
	both("a/l", L, ID3);
	manifest_set_artifact(fx.base, "0123abcd");
	assert_ok(manifest_add(fx.base, "a/l", L, ID2));	/* replaced */
	assert_ok(manifest_write(fx.base, path));
	assert_ok(manifest_read(&m, path));
	assert_int_equal(manifest_count(m), 3);
	assert_string_equal(manifest_artifact(m), "0123abcd");
	e = manifest_at(m, 1);
	assert_string_equal(e->path, "we\nird name 'x'");
	assert_int_equal(e->mode, F);
	assert_string_equal(e->id, ID1);
	e = manifest_get(m, "a/l");
	assert_non_null(e);
	assert_string_equal(e->id, ID2);
	assert_string_equal(manifest_get(m, "a")->id, "");
	manifest_free(m);
	/* not a manifest */
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_int_equal(write(fd, "hello\n", 6), 6);
	close(fd);
	assert_int_equal(manifest_read(&m, path), ERR_INVALID);
	unlink(path);
	assert_int_equal(manifest_read(&m, path), ERR_NOTFOUND);
	assert_int_equal(manifest_add(fx.base, "x", F, "nothex"),
			 ERR_INVALID);
}

/*
 * The sum a host's `find -printf '%y %m %P\0' | LC_ALL=C sort -z |
 * sha1sum` gives for a release holding what was deployed: records in
 * byte order (not the manifest's), bits without leading zeros, the
 * `shared` paths and what is under them left out.
 */
static void test_delta__listing_digest(void **state)
{
	static const char listing[] =
		"d 755 b\0"
		"d 755 b c\0"
		"f 4755 b c/run\0"
		"f 644 b-\0"
		"f 644 b/\n\0"
		"l 777 a-link\0";
	char got[DIGEST_HEX + 1], want[DIGEST_HEX + 1], again[DIGEST_HEX + 1];
	struct digest *d;

	(void)state;
	assert_ok(manifest_add(fx.base, "b", D, ""));
	assert_ok(manifest_add(fx.base, "b/\n", F, ID1));
	assert_ok(manifest_add(fx.base, "b c", D, ""));
	assert_ok(manifest_add(fx.base, "b c/run", S_IFREG | 04755, ID2));
	assert_ok(manifest_add(fx.base, "a-link", L, ID3));
	assert_ok(manifest_add(fx.base, "b-", F, ID1));
	assert_ok(manifest_add(fx.base, "uploads", D, ""));
	assert_ok(manifest_add(fx.base, "uploads/x", F, ID1));
	strvec_push(&fx.skip, "uploads");
	delta_listing_digest(got, fx.base, &fx.skip);
	d = digest_new();
	digest_add(d, listing, sizeof(listing) - 1);
	digest_end(d, want);
	assert_string_equal(got, want);
	/* a mode, or an entry more, is another sum */
	assert_ok(manifest_add(fx.base, "b-", X, ID1));
	delta_listing_digest(again, fx.base, &fx.skip);
	assert_string_not_equal(again, want);
	/* nothing at all: the sum of nothing */
	delta_listing_digest(got, fx.next, &fx.skip);
	assert_string_equal(got, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_delta__unchanged),
		T(test_delta__listing_digest),
		T(test_delta__one_file_changed),
		T(test_delta__adds_deletes_renames),
		T(test_delta__modes_and_symlinks),
		T(test_delta__file_dir_swaps),
		T(test_delta__symlink_to_file),
		T(test_delta__tampered_host),
		T(test_delta__tampered_types_and_dirs),
		T(test_delta__missing_on_host),
		T(test_delta__directory_replaced_by_symlink_on_host),
		T(test_delta__skipped_paths),
		T(test_delta__never_through_a_file),
		T(test_delta__manifest_file),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
