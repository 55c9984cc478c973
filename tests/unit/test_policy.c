/*
 * Unit tests for policy: each [verify] decision on a fixture repository
 * built by tests/fixtures/policy-repo.sh.
 */
#include "unit.h"

#include <stdlib.h>
#include <unistd.h>

#include "config.h"
#include "policy.h"
#include "push.h"
#include "repo.h"

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
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
