/*
 * Unit tests for gittree's bounds, on the fixture repository of the
 * policy tests (tests/fixtures/policy-repo.sh): entry counts kept per
 * tree, exports and listings refused past max_entries before anything
 * is written, and the hook around each changed directory.
 */
#include "unit.h"

#include <stdlib.h>
#include <unistd.h>

#include "gittree.h"
#include "repo.h"
#include "sink.h"

static char fixture[256];
static struct repo *repo;

static struct repo_oid oid_of(const char *name)
{
	char path[300], line[256];
	struct repo_oid id;
	size_t len = strlen(name);
	bool found = false;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/ids", fixture);
	fp = fopen(path, "r");
	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp))
		if (!strncmp(line, name, len) && line[len] == ' ') {
			line[len + 1 + REPO_OID_HEXSZ] = '\0';
			assert_ok(repo_oid_from_hex(&id, line + len + 1));
			found = true;
		}
	fclose(fp);
	if (!found)
		fail_msg("no fixture commit '%s'", name);
	return id;
}

static int setup(void **state)
{
	char cmd[400];

	(void)state;
	snprintf(fixture, sizeof(fixture), "%s/pushgate-gittree-%d",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
	snprintf(cmd, sizeof(cmd),
		 "sh tests/fixtures/policy-repo.sh '%s' >/dev/null 2>&1",
		 fixture);
	if (system(cmd) != 0)
		return -1;
	repo_library_init();
	return repo_open(&repo, fixture);
}

static int teardown(void **state)
{
	char cmd[400];

	(void)state;
	repo_free(repo);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fixture);
	return system(cmd) ? -1 : 0;
}

static uint64_t count(const char *commit, const char *subdir, uint64_t max)
{
	struct gittree_sizes *s = gittree_sizes_new(max);
	struct repo_oid id = oid_of(commit);
	uint64_t n;

	assert_ok(gittree_count(repo, &n, &id, subdir, s));
	gittree_sizes_free(s);
	return n;
}

/* Exact up to max, max + 1 beyond; a directory of the commit too. */
static void test_gittree__count(void **state)
{
	struct gittree_sizes *s;
	struct repo_oid id;
	uint64_t n;

	(void)state;
	assert_int_equal(count("base", NULL, 100), 1);
	/* README a.txt src src/deep src/deep/b.c */
	assert_int_equal(count("good2", ".", 100), 5);
	assert_int_equal(count("bomb", NULL, 1000000), 16384);
	assert_int_equal(count("bomb", NULL, 16384), 16384);
	assert_int_equal(count("bomb", NULL, 16383), 16384);
	assert_int_equal(count("bomb", NULL, 1), 2);
	assert_int_equal(count("bomb", "bomb", 1000000), 16382);
	assert_int_equal(count("bomb", "bomb/a/b", 1000000), 4094);
	assert_int_equal(count("dups", NULL, 1000000), 37);
	/* one store for several commits: the counts kept agree */
	s = gittree_sizes_new(16383);
	id = oid_of("bomb");
	assert_ok(gittree_count(repo, &n, &id, "bomb", s));
	assert_int_equal(n, 16382);
	assert_ok(gittree_count(repo, &n, &id, NULL, s));
	assert_int_equal(n, 16384);
	assert_ok(gittree_count(repo, &n, &id, "bomb/b", s));
	assert_int_equal(n, 8190);
	assert_int_equal(gittree_sizes_max(s), 16383);
	id = oid_of("dups");
	assert_ok(gittree_count(repo, &n, &id, NULL, s));
	assert_int_equal(n, 37);
	assert_int_equal(gittree_count(repo, &n, &id, "nope", s),
			 ERR_NOTFOUND);
	error_clear();
	gittree_sizes_free(s);
}

/* A sink that counts what it gets. */
static int sk_dir(void *self, const char *path, unsigned mode)
{
	(void)self;
	(void)path;
	(void)mode;
	return 0;
}

static int sk_file(void *self, const char *path, unsigned mode,
		   uint64_t size)
{
	(void)self;
	(void)path;
	(void)mode;
	(void)size;
	return 0;
}

static int sk_data(void *self, const void *data, size_t len)
{
	(void)self;
	(void)data;
	(void)len;
	return 0;
}

static int sk_symlink(void *self, const char *path, const char *target)
{
	(void)self;
	(void)path;
	(void)target;
	return 0;
}

static const struct sink_ops counting_ops = {
	sk_dir, NULL, sk_file, sk_data, sk_symlink
};

static int listed(const char *path, unsigned mode, const char *id,
		  void *payload)
{
	(void)path;
	(void)mode;
	(void)id;
	(*(uint64_t *)payload)++;
	return 0;
}

/* Too large: refused before the first entry; at the limit: written. */
static void test_gittree__export_bounded(void **state)
{
	struct repo_oid id = oid_of("bomb");
	struct sink s;
	uint64_t n = 0;

	(void)state;
	sink_init(&s, &counting_ops, NULL);
	assert_int_equal(gittree_export(repo, &id, ".", 16383, &s),
			 ERR_TOOBIG);
	assert_string_equal(error_last(),
			    "tree too large: more than 16383 entries");
	error_clear();
	assert_int_equal(s.entries, 0);
	assert_ok(gittree_export(repo, &id, ".", 16384, &s));
	assert_int_equal(s.entries, 16384);
	sink_init(&s, &counting_ops, NULL);
	assert_ok(gittree_export(repo, &id, "bomb/a", 8190, &s));
	assert_int_equal(s.entries, 8190);
	assert_int_equal(gittree_list(repo, &id, NULL, 16383, listed, &n),
			 ERR_TOOBIG);
	assert_string_equal(error_last(),
			    "tree too large: more than 16383 entries");
	error_clear();
	assert_int_equal(n, 0);
	assert_ok(gittree_list(repo, &id, NULL, 16384, listed, &n));
	assert_int_equal(n, 16384);
}

struct seen {
	size_t enters, leaves, changes;
	size_t max_depth;
	size_t key_len;
	bool skip;
};

static int on_change(const struct gittree_change *c, void *payload)
{
	struct seen *s = payload;

	(void)c;
	s->changes++;
	return 0;
}

static size_t components(const char *path)
{
	size_t n = 1;

	for (; *path; path++)
		n += *path == '/';
	return n;
}

static int on_enter(const struct gittree_subtree *t, void *payload)
{
	struct seen *s = payload;

	s->enters++;
	s->key_len = t->key_len;
	if (t->depth > s->max_depth)
		s->max_depth = t->depth;
	assert_int_equal(t->depth, components(t->path));
	return s->skip ? GITTREE_SKIP : 0;
}

static int on_leave(const struct gittree_subtree *t, void *payload)
{
	struct seen *s = payload;

	(void)t;
	s->leaves++;
	return 0;
}

/* enter and leave around each changed directory; a skip hides it all. */
static void test_gittree__changes_hooks(void **state)
{
	struct gittree_changes_opts o = GITTREE_CHANGES_OPTS_INIT;
	struct repo_oid id = oid_of("good2");
	struct seen s;

	(void)state;
	memset(&s, 0, sizeof(s));
	o.change = on_change;
	o.enter = on_enter;
	o.leave = on_leave;
	o.payload = &s;
	assert_ok(gittree_changes(repo, &id, &o));
	/* src, src/deep and src/deep/b.c */
	assert_int_equal(s.enters, 2);
	assert_int_equal(s.leaves, 2);
	assert_int_equal(s.changes, 1);
	assert_int_equal(s.max_depth, 2);
	assert_int_equal(s.key_len, 2 * REPO_OID_RAWSZ);	/* 1 parent */
	memset(&s, 0, sizeof(s));
	s.skip = true;
	assert_ok(gittree_changes(repo, &id, &o));
	assert_int_equal(s.enters, 1);
	assert_int_equal(s.leaves, 0);
	assert_int_equal(s.changes, 0);
	/* without hooks: every path */
	memset(&s, 0, sizeof(s));
	o.enter = NULL;
	o.leave = NULL;
	id = oid_of("dups");
	assert_ok(gittree_changes(repo, &id, &o));
	assert_int_equal(s.changes, 24);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gittree__count),
		cmocka_unit_test(test_gittree__export_bounded),
		cmocka_unit_test(test_gittree__changes_hooks),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
