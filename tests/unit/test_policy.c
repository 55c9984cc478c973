/*
 * Unit tests for policy: each [verify] decision on a fixture repository
 * built by tests/fixtures/policy-repo.sh.
 */
#include "unit.h"

#include <dirent.h>
#include <stdlib.h>
#include <unistd.h>

#include "config.h"
#include "gittree.h"
#include "policy.h"
#include "push.h"
#include "repo.h"
#include "state.h"
#include "timeutil.h"

#define Z40 "0000000000000000000000000000000000000000"

static char fixture[256];
static struct repo *repo;

static const char *id_of(const char *name)
{
	static char ids[4][REPO_OID_HEXSZ + 1];
	static unsigned n;
	char path[300], line[256];
	char *hex = ids[n++ % 4];
	size_t len = strlen(name);
	FILE *fp;

	snprintf(path, sizeof(path), "%s/ids", fixture);
	fp = fopen(path, "r");
	assert_non_null(fp);
	hex[0] = '\0';
	while (fgets(line, sizeof(line), fp))
		if (!strncmp(line, name, len) && line[len] == ' ') {
			memcpy(hex, line + len + 1, REPO_OID_HEXSZ);
			hex[REPO_OID_HEXSZ] = '\0';
		}
	fclose(fp);
	if (!hex[0])
		fail_msg("no fixture commit '%s'", name);
	return hex;
}

static int setup(void **state)
{
	char cmd[400];

	(void)state;
	snprintf(fixture, sizeof(fixture), "%s/pushgate-policy-%d",
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

/* Check OLD..NEW on REF under the hooks.ini text `ini`. */
static void check(struct verdict *v, const char *ini, const char *old_hex,
		  const char *new_hex, const char *ref)
{
	struct config cfg;
	struct strvec errors = STRVEC_INIT;
	struct policy_opts o = POLICY_OPTS_INIT;
	struct push_update u;

	memset(&u, 0, sizeof(u));
	assert_ok(config_parse_string(&cfg, ini, &errors));
	o.cfg = &cfg;
	o.repo = repo;
	snprintf(u.old_hex, sizeof(u.old_hex), "%s", old_hex);
	snprintf(u.new_hex, sizeof(u.new_hex), "%s", new_hex);
	u.ref = (char *)ref;
	u.is_create = !strcmp(old_hex, Z40);
	u.is_delete = !strcmp(new_hex, Z40);
	assert_ok(policy_check_update(v, &o, &u));
	config_release(&cfg);
	strvec_clear(&errors);
}

static void assert_rejected(struct verdict *v, const char *reason)
{
	assert_true(v->rejected);
	assert_string_equal(v->reason, reason);
}

static bool details_have(const struct verdict *v, const char *needle)
{
	size_t i;

	for (i = 0; i < v->details.nr; i++)
		if (strstr(v->details.v[i], needle))
			return true;
	return false;
}

static void test_policy__environments_refs(void **state)
{
	struct verdict v = VERDICT_INIT;

	(void)state;
	check(&v, "", Z40, id_of("base"), "refs/environments/prod");
	assert_rejected(&v, "refs/environments/ is managed by pushgate");
	verdict_release(&v);
	check(&v, "", id_of("base"), Z40, "refs/environments/prod");
	assert_true(v.rejected);
	verdict_release(&v);
}

static void test_policy__no_rules_accepts(void **state)
{
	struct verdict v = VERDICT_INIT;

	(void)state;
	check(&v, "", id_of("good1"), id_of("rewrite"), "refs/heads/main");
	assert_false(v.rejected);
	verdict_release(&v);
	check(&v, "", id_of("base"), Z40, "refs/heads/main");
	assert_false(v.rejected);
	verdict_release(&v);
}

static void test_policy__protected(void **state)
{
	const char *ini = "[verify]\nprotected = main release/*\n";
	struct verdict v = VERDICT_INIT;

	(void)state;
	check(&v, ini, id_of("base"), Z40, "refs/heads/main");
	assert_rejected(&v, "protected branch cannot be deleted");
	verdict_release(&v);
	check(&v, ini, id_of("base"), Z40, "refs/heads/release/1.0");
	assert_rejected(&v, "protected branch cannot be deleted");
	verdict_release(&v);
	check(&v, ini, id_of("good1"), id_of("rewrite"), "refs/heads/main");
	assert_rejected(&v, "non-fast-forward update of a protected branch");
	verdict_release(&v);
	check(&v, ini, id_of("base"), id_of("good2"), "refs/heads/main");
	assert_false(v.rejected);
	assert_int_equal(v.nr_new_commits, 0);
	verdict_release(&v);
	/* unprotected branches may be rewound and deleted */
	check(&v, ini, id_of("good1"), id_of("rewrite"), "refs/heads/topic");
	assert_false(v.rejected);
	verdict_release(&v);
	check(&v, ini, id_of("good1"), Z40, "refs/heads/mainline");
	assert_false(v.rejected);
	verdict_release(&v);
}

static void test_policy__protect_tags(void **state)
{
	const char *ini = "[verify]\nprotect_tags = true\n";
	struct verdict v = VERDICT_INIT;

	(void)state;
	check(&v, ini, id_of("tag-v1"), id_of("good1"), "refs/tags/v1");
	assert_rejected(&v, "existing tags cannot be deleted or moved");
	verdict_release(&v);
	check(&v, ini, id_of("tag-v1"), Z40, "refs/tags/v1");
	assert_rejected(&v, "existing tags cannot be deleted or moved");
	verdict_release(&v);
	check(&v, ini, Z40, id_of("good1"), "refs/tags/v2");
	assert_false(v.rejected);
	verdict_release(&v);
	check(&v, "", id_of("tag-v1"), Z40, "refs/tags/v1");
	assert_false(v.rejected);
	verdict_release(&v);
}

static void test_policy__commit_message(void **state)
{
	const char *ini = "[verify]\ncommit_message = ^(feat|fix|docs): \n";
	struct verdict v = VERDICT_INIT;

	(void)state;
	check(&v, ini, id_of("base"), id_of("good2"), "refs/heads/main");
	assert_false(v.rejected);
	assert_int_equal(v.nr_new_commits, 2);
	verdict_release(&v);
	check(&v, ini, id_of("base"), id_of("badsubj"), "refs/heads/main");
	assert_rejected(&v, "commit subject does not match commit_message"
			" '^(feat|fix|docs):'");
	assert_int_equal(v.hints.nr, 1);
	assert_non_null(strstr(v.hints.v[0], "git commit --amend"));
	assert_int_equal(v.nr_new_commits, 3);
	assert_int_equal(v.details.nr, 1);
	assert_true(details_have(&v, "wip stuff"));
	assert_int_equal(strncmp(v.details.v[0], id_of("badsubj"), 12), 0);
	verdict_release(&v);
}

static void test_policy__forbid_paths(void **state)
{
	struct verdict v = VERDICT_INIT;

	(void)state;
	check(&v, "[verify]\nforbid_paths = *.pem\n", id_of("base"),
	      id_of("forbidden"), "refs/heads/main");
	assert_rejected(&v, "a new commit adds or changes a forbidden path");
	assert_true(details_have(&v, "conf/server.pem (matches '*.pem')"));
	verdict_release(&v);
	/* the full path matches too */
	check(&v, "[verify]\nforbid_paths = conf/*\n", id_of("base"),
	      id_of("forbidden"), "refs/heads/main");
	assert_true(v.rejected);
	verdict_release(&v);
	check(&v, "[verify]\nforbid_paths = *.key\n", id_of("base"),
	      id_of("forbidden"), "refs/heads/main");
	assert_false(v.rejected);
	verdict_release(&v);
}

/* A merge is charged only with what it introduces itself. */
static void test_policy__merge_not_charged(void **state)
{
	struct verdict v = VERDICT_INIT;

	(void)state;
	check(&v, "[verify]\nforbid_paths = *.pem\n", id_of("base"),
	      id_of("merge"), "refs/heads/main");
	assert_false(v.rejected);
	assert_int_equal(v.nr_new_commits, 2);
	verdict_release(&v);
}

static void test_policy__max_file_size(void **state)
{
	struct verdict v = VERDICT_INIT;

	(void)state;
	check(&v, "[verify]\nmax_file_size = 2K\n", id_of("base"),
	      id_of("big"), "refs/heads/main");
	assert_rejected(&v,
			"a new blob is larger than max_file_size (2 KiB)");
	assert_true(details_have(&v, "big.bin: 2.9 KiB (3000 bytes)"));
	assert_true(v.hints.nr == 1);
	verdict_release(&v);
	check(&v, "[verify]\nmax_file_size = 3000\n", id_of("base"),
	      id_of("big"), "refs/heads/main");
	assert_false(v.rejected);
	verdict_release(&v);
	check(&v, "[verify]\nmax_file_size = 2999\n", id_of("base"),
	      id_of("big"), "refs/heads/main");
	assert_true(v.rejected);
	verdict_release(&v);
}

static void test_policy__annotated_tags(void **state)
{
	struct verdict v = VERDICT_INIT;

	(void)state;
	check(&v, "[verify]\ncommit_message = ^feat\n", Z40, id_of("tag-v1"),
	      "refs/tags/v1-again");
	assert_false(v.rejected);
	verdict_release(&v);
	check(&v, "", Z40, id_of("treetag"), "refs/tags/tree");
	assert_rejected(&v, "the new value does not point to a commit");
	verdict_release(&v);
}

static void test_policy__several_rules(void **state)
{
	struct verdict v = VERDICT_INIT;

	(void)state;
	check(&v, "[verify]\ncommit_message = ^feat\nmax_file_size = 1K\n",
	      id_of("base"), id_of("badsubj"), "refs/heads/main");
	assert_rejected(&v, "commit subject does not match commit_message"
			" '^feat'");
	verdict_release(&v);
}

static void test_policy__needs_test(void **state)
{
	struct config cfg;
	struct strvec errors = STRVEC_INIT;
	struct push_update u;

	(void)state;
	memset(&u, 0, sizeof(u));
	snprintf(u.old_hex, sizeof(u.old_hex), "%s", Z40);
	snprintf(u.new_hex, sizeof(u.new_hex), "%s", id_of("good1"));
	assert_ok(config_parse_string(&cfg,
		"[verify]\ntest = true\ntest_branches = feature/*\n"
		"[environment \"staging\"]\nbranch = develop\n"
		"path = /srv/app\n", &errors));
	u.ref = (char *)"refs/heads/develop";
	assert_true(policy_needs_test(&cfg, &u));
	u.ref = (char *)"refs/heads/feature/x";
	assert_true(policy_needs_test(&cfg, &u));
	u.ref = (char *)"refs/heads/other";
	assert_false(policy_needs_test(&cfg, &u));
	u.ref = (char *)"refs/tags/develop";
	assert_false(policy_needs_test(&cfg, &u));
	u.ref = (char *)"refs/heads/develop";
	u.is_delete = true;
	assert_false(policy_needs_test(&cfg, &u));
	config_release(&cfg);
	assert_ok(config_parse_string(&cfg,
		"[environment \"staging\"]\nbranch = develop\n"
		"path = /srv/app\n", &errors));
	u.is_delete = false;
	assert_false(policy_needs_test(&cfg, &u));
	config_release(&cfg);
	strvec_clear(&errors);
}

/* Where a forbid_paths glob stops depending on more than the name. */
static void test_policy__glob_depth(void **state)
{
	static const struct {
		const char *glob;
		size_t depth;
	} cases[] = {
		{ "*", 0 },
		{ "*.pem", 0 },
		{ "*id_rsa", 0 },
		{ "*.tar.gz", 0 },
		{ ".env", 1 },
		{ "id_rsa", 1 },
		{ "conf/id_rsa", 2 },
		{ "a/b/c", 3 },
		{ "a?b", 2 },		/* '?' matches a '/' too */
		{ "[ab]c", 2 },		/* so may a bracket */
		{ "a\\/b", 2 },
		{ "**", POLICY_ANY_DEPTH },
		{ "*.p?m", POLICY_ANY_DEPTH },
		{ "*.[ch]", POLICY_ANY_DEPTH },
		{ "*/k.pem", POLICY_ANY_DEPTH },
		{ "*\\*", POLICY_ANY_DEPTH },
		{ "conf/*", POLICY_ANY_DEPTH },
		{ "*secret*", POLICY_ANY_DEPTH },
		{ "a*", POLICY_ANY_DEPTH },
		{ "[*]", POLICY_ANY_DEPTH },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (policy_glob_depth(cases[i].glob) != cases[i].depth)
			print_error("glob '%s'\n", cases[i].glob);
		assert_true(policy_glob_depth(cases[i].glob) ==
			    cases[i].depth);
	}
}

/*
 * Twelve copies of a directory: judged once where the rules allow it,
 * walked each time where they do not; the verdicts are the same, and
 * the details name ten findings of each rule either way.
 */
static void test_policy__copies_judged_once(void **state)
{
	static const char *const inis[] = {
		"[verify]\nforbid_paths = *.pem\nmax_file_size = 2K\n",
		"[verify]\nforbid_paths = k.pem\nmax_file_size = 2K\n",
		"[verify]\nforbid_paths = */k.pem\nmax_file_size = 2K\n",
	};
	struct verdict v = VERDICT_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(inis) / sizeof(inis[0]); i++) {
		check(&v, inis[i], id_of("base"), id_of("dups"),
		      "refs/heads/main");
		assert_true(v.rejected);
		assert_non_null(strstr(v.reason, "max_file_size"));
		assert_non_null(strstr(v.reason, "forbidden path"));
		assert_int_equal(v.nr_paths, 24);
		/* 10 + "... and 2 more", for each of the two rules */
		assert_int_equal(v.details.nr, 22);
		assert_true(details_have(&v, "d01/big.bin: 2.9 KiB"));
		assert_true(details_have(&v, "d10/big.bin: 2.9 KiB"));
		assert_true(details_have(&v, "d10/k.pem (matches"));
		assert_false(details_have(&v, "d11/"));
		assert_string_equal(v.details.v[10], "... and 2 more");
		assert_string_equal(v.details.v[21], "... and 2 more");
		verdict_release(&v);
	}
}

/* The pushed commit's tree: at most max_entries, with or without rules. */
static void test_policy__tree_too_large(void **state)
{
	struct verdict v = VERDICT_INIT;

	(void)state;
	/* 16384 entries: README, bomb/ and the 16382 below it */
	check(&v, "[verify]\nmax_entries = 16384\n", id_of("base"),
	      id_of("bomb"), "refs/heads/main");
	assert_false(v.rejected);
	verdict_release(&v);
	check(&v, "[verify]\nmax_entries = 16383\n", id_of("base"),
	      id_of("bomb"), "refs/heads/main");
	assert_rejected(&v, "tree too large: more than 16383 entries");
	assert_true(details_have(&v, "is the pushed commit"));
	assert_int_equal(strncmp(v.details.v[0], id_of("bomb"), 12), 0);
	assert_non_null(strstr(v.hints.v[0], "max_entries"));
	verdict_release(&v);
	check(&v, "[verify]\nforbid_paths = *.pem\nmax_entries = 16383\n",
	      Z40, id_of("bomb"), "refs/tags/bomb");
	assert_rejected(&v, "tree too large: more than 16383 entries");
	assert_int_equal(v.nr_new_commits, 0);	/* refused before */
	verdict_release(&v);
	/* the default: 2^13 paths are nothing */
	check(&v, "", id_of("base"), id_of("bomb"), "refs/heads/main");
	assert_false(v.rejected);
	verdict_release(&v);
}

/*
 * A new commit that is not the tip: with forbid_paths or max_file_size
 * what it adds or changes counts (bomb/ and its 16382 entries), with or
 * without the memo, at the limit and one past it.
 */
static void test_policy__commit_too_large(void **state)
{
	static const char *const rules[] = {
		"forbid_paths = *.pem",		/* judged once */
		"forbid_paths = zzz/*",		/* every path walked */
		"max_file_size = 1M",
	};
	struct verdict v = VERDICT_INIT;
	char ini[200];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		snprintf(ini, sizeof(ini), "[verify]\n%s\nmax_entries = "
			 "16383\n", rules[i]);
		check(&v, ini, id_of("base"), id_of("unbomb"),
		      "refs/heads/main");
		assert_false(v.rejected);
		assert_int_equal(v.nr_new_commits, 2);
		assert_int_equal(v.nr_paths, 8192);
		verdict_release(&v);
		snprintf(ini, sizeof(ini), "[verify]\n%s\nmax_entries = "
			 "16382\n", rules[i]);
		check(&v, ini, id_of("base"), id_of("unbomb"),
		      "refs/heads/main");
		assert_rejected(&v, "tree too large: more than 16382 entries");
		assert_true(details_have(&v, "adds or changes them"));
		assert_int_equal(strncmp(v.details.v[0], id_of("bomb"), 12),
				 0);
		verdict_release(&v);
	}
	/* without such rules the commits are not walked */
	check(&v, "[verify]\nmax_entries = 16382\n", id_of("base"),
	      id_of("unbomb"), "refs/heads/main");
	assert_false(v.rejected);
	verdict_release(&v);
}

/* How many entries the state's cache holds. */
static int cache_entries(void)
{
	char path[300];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "%s/pushgate/cache", fixture);
	if (!(d = opendir(path)))
		return 0;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/*
 * A deploy remembers a tree found within max_entries (pre-receive only
 * reads), keyed by the commit and the limit; what is remembered is not
 * counted again: a planted entry makes the bomb pass a limit it fails.
 */
static void test_policy__size_remembered(void **state)
{
	struct gittree_sizes *sizes;
	struct repo_oid bomb;
	struct state st;
	char key[REPO_OID_HEXSZ + 1], text[128];
	bool too_large = true;

	(void)state;
	assert_int_equal(repo_oid_from_hex(&bomb, id_of("bomb")), 0);
	assert_int_equal(state_open(&st, fixture), 0);
	sizes = gittree_sizes_new(16384);
	assert_int_equal(policy_tree_too_large(&too_large, &st, false, repo,
					       sizes, &bomb), 0);
	assert_false(too_large);
	assert_int_equal(cache_entries(), 0);
	assert_int_equal(policy_tree_too_large(&too_large, &st, true, repo,
					       sizes, &bomb), 0);
	assert_false(too_large);
	assert_int_equal(cache_entries(), 1);
	gittree_sizes_free(sizes);

	/* one entry less: counted, too large, not remembered */
	sizes = gittree_sizes_new(16383);
	assert_int_equal(policy_tree_too_large(&too_large, &st, true, repo,
					       sizes, &bomb), 0);
	assert_true(too_large);
	assert_int_equal(cache_entries(), 1);

	/* the cache is believed: an entry for this limit, planted */
	snprintf(text, sizeof(text), "pushgate-size-v1\n%s\n16383\n",
		 id_of("bomb"));
	assert_int_equal(repo_hash_hex(key, text, strlen(text)), 0);
	assert_int_equal(state_cache_add(&st, key), 0);
	assert_int_equal(policy_tree_too_large(&too_large, &st, false, repo,
					       sizes, &bomb), 0);
	assert_false(too_large);
	/* without a state nothing is read */
	assert_int_equal(policy_tree_too_large(&too_large, NULL, true, repo,
					       sizes, &bomb), 0);
	assert_true(too_large);
	gittree_sizes_free(sizes);
	state_release(&st);
}

/* Past the push's deadline the check gives up, naming push_timeout. */
static void test_policy__deadline(void **state)
{
	struct config cfg;
	struct strvec errors = STRVEC_INIT;
	struct policy_opts o = POLICY_OPTS_INIT;
	struct verdict v = VERDICT_INIT;
	struct push_update u;

	(void)state;
	memset(&u, 0, sizeof(u));
	assert_ok(config_parse_string(&cfg, "[verify]\nforbid_paths = *.pem"
				      "\npush_timeout = 7\n", &errors));
	o.cfg = &cfg;
	o.repo = repo;
	o.deadline = timeutil_now() - 1;
	snprintf(u.old_hex, sizeof(u.old_hex), "%s", id_of("base"));
	snprintf(u.new_hex, sizeof(u.new_hex), "%s", id_of("good2"));
	u.ref = (char *)"refs/heads/main";
	assert_int_equal(policy_check_update(&v, &o, &u), ERR_TIMEOUT);
	assert_string_equal(error_last(), "push_timeout (7 s) ran out while "
			    "checking the new commits");
	error_clear();
	verdict_release(&v);
	/* in time */
	o.deadline = timeutil_now() + 60;
	assert_ok(policy_check_update(&v, &o, &u));
	assert_false(v.rejected);
	verdict_release(&v);
	config_release(&cfg);
	strvec_clear(&errors);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy__environments_refs),
		cmocka_unit_test(test_policy__no_rules_accepts),
		cmocka_unit_test(test_policy__protected),
		cmocka_unit_test(test_policy__protect_tags),
		cmocka_unit_test(test_policy__commit_message),
		cmocka_unit_test(test_policy__forbid_paths),
		cmocka_unit_test(test_policy__merge_not_charged),
		cmocka_unit_test(test_policy__max_file_size),
		cmocka_unit_test(test_policy__annotated_tags),
		cmocka_unit_test(test_policy__several_rules),
		cmocka_unit_test(test_policy__needs_test),
		cmocka_unit_test(test_policy__glob_depth),
		cmocka_unit_test(test_policy__copies_judged_once),
		cmocka_unit_test(test_policy__tree_too_large),
		cmocka_unit_test(test_policy__commit_too_large),
		cmocka_unit_test(test_policy__size_remembered),
		cmocka_unit_test(test_policy__deadline),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
