/* Unit tests for push: update lines, push options, the pusher. */
#include "unit.h"

#include <stdlib.h>

#include "buf.h"
#include "push.h"
#include "repo.h"

#define A40 "1111111111111111111111111111111111111111"
#define B40 "2222222222222222222222222222222222222222"
#define Z40 "0000000000000000000000000000000000000000"

struct bad_case {
	const char *input;
	int code;
	const char *message;
};

static void test_push__good_lines(void **state)
{
	struct push p = PUSH_INIT;
	const char *in = A40 " " B40 " refs/heads/main\n"
			 Z40 " " B40 " refs/tags/v1.0\n"
			 A40 " " Z40 " refs/heads/old\n";

	(void)state;
	assert_ok(push_parse(&p, in, strlen(in)));
	assert_int_equal(p.nr, 3);
	assert_string_equal(p.updates[0].ref, "refs/heads/main");
	assert_string_equal(p.updates[0].old_hex, A40);
	assert_string_equal(p.updates[0].new_hex, B40);
	assert_false(p.updates[0].is_create);
	assert_false(p.updates[0].is_delete);
	assert_true(p.updates[1].is_create);
	assert_true(p.updates[2].is_delete);
	push_release(&p);
}

static void test_push__empty_input(void **state)
{
	struct push p = PUSH_INIT;

	(void)state;
	assert_ok(push_parse(&p, "", 0));
	assert_int_equal(p.nr, 0);
	push_release(&p);
}

static const struct bad_case bad_cases[] = {
	{ "x", ERR_INVALID, "update line 1 has no newline" },
	{ "\n", ERR_INVALID, "update line 1 is not 'OLD NEW REF'" },
	{ A40 " " B40 " refs/heads/main", ERR_INVALID,
	  "update line 1 has no newline" },
	{ A40 " " B40 "  refs/heads/main\n", ERR_INVALID,
	  "update line 1 has an invalid ref name" },
	{ A40 "  " B40 " refs/heads/main\n", ERR_INVALID,
	  "update line 1 is not 'OLD NEW REF'" },
	{ A40 " " B40 " refs/heads/main \n", ERR_INVALID,
	  "update line 1 has an invalid ref name" },
	{ A40 " " B40 " refs/heads/main\r\n", ERR_INVALID,
	  "update line 1 has an invalid ref name" },
	{ "111111111111111111111111111111111111111g " B40
	  " refs/heads/main\n", ERR_INVALID,
	  "update line 1 has a bad object id" },
	{ "1111111111111111111111111111111111111111A " B40
	  " refs/heads/main\n", ERR_INVALID,
	  "update line 1 is not 'OLD NEW REF'" },
	{ "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA " B40
	  " refs/heads/main\n", ERR_INVALID,
	  "update line 1 has a bad object id" },
	{ A40 " " B40 " main\n", ERR_INVALID,
	  "update line 1 has an invalid ref name" },
	{ A40 " " B40 " refs/heads/a..b\n", ERR_INVALID,
	  "update line 1 has an invalid ref name" },
	{ A40 " " B40 " refs/heads/$(touch x)\n", ERR_INVALID,
	  "update line 1 has an invalid ref name" },
	{ A40 " " B40 " refs/heads/a\001b\n", ERR_INVALID,
	  "update line 1 has an invalid ref name" },
	/* DEL is a control character to git, though not to libgit2 1.5 */
	{ A40 " " B40 " refs/heads/a\177b\n", ERR_INVALID,
	  "update line 1 has an invalid ref name" },
	{ A40 " " B40 " refs/heads/main\177\n", ERR_INVALID,
	  "update line 1 has an invalid ref name" },
	{ Z40 " " Z40 " refs/heads/main\n", ERR_INVALID,
	  "update line 1 has two null ids" },
	{ A40 " " B40 " refs/heads/main\n" A40 " " B40 " refs/heads/main\n",
	  ERR_INVALID, "update line 2 repeats a ref" },
	{ A40 " " B40 " refs/heads/ok\nbad\n", ERR_INVALID,
	  "update line 2 is not 'OLD NEW REF'" },
};

static void test_push__bad_lines(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		struct push p = PUSH_INIT;
		int r = push_parse(&p, bad_cases[i].input,
				   strlen(bad_cases[i].input));

		if (r != bad_cases[i].code ||
		    strcmp(error_last(), bad_cases[i].message))
			print_error("case %zu: got %d '%s'\n", i, r,
				    error_last());
		assert_int_equal(r, bad_cases[i].code);
		assert_string_equal(error_last(), bad_cases[i].message);
		push_release(&p);
	}
}

static void test_push__nul_in_line(void **state)
{
	struct push p = PUSH_INIT;
	const char in[] = A40 " " B40 " refs/heads/ma\0in\n";

	(void)state;
	assert_int_equal(push_parse(&p, in, sizeof(in) - 1), ERR_INVALID);
	assert_string_equal(error_last(), "update line 1 holds a NUL");
	push_release(&p);
}

/* A ref name of exactly PUSH_MAX_REFNAME bytes passes; one more fails. */
static void test_push__refname_cap(void **state)
{
	struct buf b = BUF_INIT;
	struct push p = PUSH_INIT;
	size_t i;

	(void)state;
	buf_init(&b, 2 * PUSH_MAX_LINE);
	buf_addstr(&b, A40 " " B40 " refs/heads/");
	for (i = strlen("refs/heads/"); i < PUSH_MAX_REFNAME; i++)
		buf_addch(&b, (i % 100) ? 'a' : '/');
	buf_addch(&b, '\n');
	assert_ok(push_parse(&p, b.ptr, b.len));
	push_release(&p);
	buf_truncate(&b, b.len - 1);
	buf_addstr(&b, "b\n");
	assert_int_equal(push_parse(&p, b.ptr, b.len), ERR_TOOBIG);
	push_release(&p);
	buf_release(&b);
}

/* PUSH_MAX_UPDATES lines pass; one more is refused. */
static void test_push__updates_cap(void **state)
{
	struct buf b = BUF_INIT;
	struct push p = PUSH_INIT;
	size_t i;

	(void)state;
	buf_init(&b, 200 * (PUSH_MAX_UPDATES + 1));
	for (i = 0; i < PUSH_MAX_UPDATES; i++)
		buf_addf(&b, A40 " " B40 " refs/heads/b%zu\n", i);
	assert_ok(push_parse(&p, b.ptr, b.len));
	assert_int_equal(p.nr, PUSH_MAX_UPDATES);
	push_release(&p);
	buf_addf(&b, A40 " " B40 " refs/heads/one-more\n");
	assert_int_equal(push_parse(&p, b.ptr, b.len), ERR_TOOBIG);
	push_release(&p);
	buf_release(&b);
}

static void test_push__options(void **state)
{
	struct push p = PUSH_INIT;
	char name[64];
	int i;

	(void)state;
	unsetenv("GIT_PUSH_OPTION_COUNT");
	assert_ok(push_read_options(&p));
	assert_int_equal(p.options.nr, 0);

	setenv("GIT_PUSH_OPTION_COUNT", "2", 1);
	setenv("GIT_PUSH_OPTION_0", "deploy", 1);
	setenv("GIT_PUSH_OPTION_1", "ci.skip", 1);
	assert_ok(push_read_options(&p));
	assert_true(push_has_option(&p, "deploy"));
	assert_false(push_has_option(&p, "deplo"));
	push_release(&p);

	setenv("GIT_PUSH_OPTION_COUNT", "x1", 1);
	assert_int_equal(push_read_options(&p), ERR_INVALID);
	push_release(&p);

	setenv("GIT_PUSH_OPTION_COUNT", "3", 1);
	unsetenv("GIT_PUSH_OPTION_2");
	assert_int_equal(push_read_options(&p), ERR_INVALID);
	push_release(&p);

	for (i = 0; i <= PUSH_MAX_OPTIONS; i++) {
		snprintf(name, sizeof(name), "GIT_PUSH_OPTION_%d", i);
		setenv(name, "x", 1);
	}
	snprintf(name, sizeof(name), "%d", PUSH_MAX_OPTIONS);
	setenv("GIT_PUSH_OPTION_COUNT", name, 1);
	assert_ok(push_read_options(&p));
	push_release(&p);
	snprintf(name, sizeof(name), "%d", PUSH_MAX_OPTIONS + 1);
	setenv("GIT_PUSH_OPTION_COUNT", name, 1);
	assert_int_equal(push_read_options(&p), ERR_TOOBIG);
	push_release(&p);
	unsetenv("GIT_PUSH_OPTION_COUNT");
}

static void test_push__user(void **state)
{
	struct push p = PUSH_INIT;
	struct strvec vars = STRVEC_INIT;

	(void)state;
	strvec_split(&vars, "PG_TEST_A PG_TEST_B");
	unsetenv("PG_TEST_A");
	unsetenv("PG_TEST_B");
	push_read_user(&p, &vars);
	assert_null(p.user);
	setenv("PG_TEST_A", "", 1);
	setenv("PG_TEST_B", "bob", 1);
	push_read_user(&p, &vars);
	assert_string_equal(p.user, "bob");
	setenv("PG_TEST_A", "alice", 1);
	push_read_user(&p, &vars);
	assert_string_equal(p.user, "alice");
	/* the first non-empty variable decides, even when it is refused */
	setenv("PG_TEST_A", "ev\x1bil", 1);
	push_read_user(&p, &vars);
	assert_null(p.user);
	setenv("PG_TEST_A", "\xc2\x9b" "2J", 1);
	push_read_user(&p, &vars);
	assert_null(p.user);
	strvec_clear(&vars);
	push_release(&p);
}

static void test_push__branch_name(void **state)
{
	(void)state;
	assert_string_equal(push_branch_name("refs/heads/main"), "main");
	assert_string_equal(push_branch_name("refs/heads/a/b"), "a/b");
	assert_null(push_branch_name("refs/tags/v1"));
	assert_null(push_branch_name("refs/heads/"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_push__good_lines),
		cmocka_unit_test(test_push__empty_input),
		cmocka_unit_test(test_push__bad_lines),
		cmocka_unit_test(test_push__nul_in_line),
		cmocka_unit_test(test_push__refname_cap),
		cmocka_unit_test(test_push__updates_cap),
		cmocka_unit_test(test_push__options),
		cmocka_unit_test(test_push__user),
		cmocka_unit_test(test_push__branch_name),
	};

	repo_library_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
