/*
 * Unit tests for buf: the cap, the sticky failure that makes a string
 * built from many pieces safe to check once, shell quoting and sizes in
 * human units.
 */
#include "unit.h"

#include "buf.h"

static void test_buf__cap_and_sticky_failure(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 8);
	assert_ok(buf_addstr(&b, "rm -rf "));
	assert_int_equal(buf_error(&b), 0);
	/* past the cap: refused, unchanged */
	assert_int_equal(buf_addstr(&b, "'/srv'"), ERR_TOOBIG);
	assert_string_equal(b.ptr, "rm -rf ");
	/* and every later piece fails too, even one that would fit */
	assert_int_equal(buf_addch(&b, 'x'), ERR_TOOBIG);
	assert_int_equal(buf_addf(&b, "%d", 1), ERR_TOOBIG);
	assert_int_equal(buf_add(&b, "", 0), ERR_TOOBIG);
	assert_string_equal(b.ptr, "rm -rf ");
	assert_int_equal(buf_error(&b), ERR_TOOBIG);
	/* a reset starts over */
	buf_reset(&b);
	assert_int_equal(buf_error(&b), 0);
	assert_ok(buf_addstr(&b, "ok"));
	buf_release(&b);
	assert_int_equal(buf_error(&b), 0);
}

static void test_buf__inherit_error(void **state)
{
	struct buf whole = BUF_INIT, part;

	(void)state;
	buf_init(&part, 4);
	assert_int_equal(buf_inherit_error(&whole, &part), 0);
	assert_int_equal(buf_addstr(&part, "too long"), ERR_TOOBIG);
	assert_int_equal(buf_inherit_error(&whole, &part), ERR_TOOBIG);
	assert_int_equal(buf_error(&whole), ERR_TOOBIG);
	assert_int_equal(buf_addstr(&whole, "x"), ERR_TOOBIG);
	buf_release(&whole);
	buf_release(&part);
}

static void test_buf__shell_quote(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "", "''" },
		{ "plain", "'plain'" },
		{ "it's", "'it'\\''s'" },
		{ "$(touch x) `y` \"z\"", "'$(touch x) `y` \"z\"'" },
		{ "-rf", "'-rf'" },
		{ "a\nb", "'a\nb'" },
	};
	struct buf b = BUF_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		buf_reset(&b);
		assert_ok(buf_addshq(&b, cases[i].in));
		assert_string_equal(b.ptr, cases[i].out);
	}
	/* never half a quoted word */
	buf_release(&b);
	buf_init(&b, 5);
	assert_ok(buf_addstr(&b, "x "));
	assert_int_equal(buf_addshq(&b, "abc"), ERR_TOOBIG);
	assert_string_equal(b.ptr, "x ");
	buf_release(&b);
}

static void test_buf__sizes(void **state)
{
	static const struct {
		uint64_t n;
		const char *out;
	} cases[] = {
		{ 0, "0 bytes" },
		{ 1, "1 byte" },
		{ 1023, "1023 bytes" },
		{ 1024, "1 KiB" },
		{ 1025, "1.0 KiB (1025 bytes)" },
		{ 3000, "2.9 KiB (3000 bytes)" },
		{ 2 * 1024 * 1024, "2 MiB" },
		{ 1048577, "1.0 MiB (1048577 bytes)" },
		{ 5ULL << 30, "5 GiB" },
		{ 3ULL << 40, "3 TiB" },
		{ 1ULL << 50, "1024 TiB" },
	};
	struct buf b = BUF_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		buf_reset(&b);
		assert_ok(buf_addsize(&b, cases[i].n));
		assert_string_equal(b.ptr, cases[i].out);
	}
	buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf__cap_and_sticky_failure),
		cmocka_unit_test(test_buf__inherit_error),
		cmocka_unit_test(test_buf__shell_quote),
		cmocka_unit_test(test_buf__sizes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
