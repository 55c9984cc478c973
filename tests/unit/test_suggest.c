/*
 * Unit tests for suggest: the optimal string alignment distance, its
 * length caps, and which candidate "did you mean" picks (thresholds and
 * ties).
 */
#include "unit.h"

#include <stdlib.h>

#include "suggest.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct distance_case {
	const char *a, *b;
	size_t d;
};

static void test_suggest__distance(void **state)
{
	static const struct distance_case cases[] = {
		{ "", "", 0 },
		{ "abc", "abc", 0 },
		{ "", "abc", 3 },
		{ "abc", "", 3 },
		{ "protectd", "protected", 1 },	/* insertion */
		{ "protectedd", "protected", 1 },	/* deletion */
		{ "Protected", "protected", 1 },	/* case counts */
		{ "verfy", "verify", 1 },
		{ "keeep", "keep", 1 },
		{ "ab", "ba", 1 },		/* one swap */
		{ "healthcheck_retires", "healthcheck_retries", 1 },
		{ "kitten", "sitting", 3 },
		/* no substring is edited twice: 3, where Damerau says 2 */
		{ "ca", "abc", 3 },
		{ "core", "environment", 9 },
		{ "\xc3\xa9", "e", 2 },		/* bytes, not characters */
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		size_t d = suggest_distance(cases[i].a, cases[i].b);

		if (d != cases[i].d)
			print_error("'%s' -> '%s': %zu\n", cases[i].a,
				    cases[i].b, d);
		assert_int_equal(d, cases[i].d);
	}
}

/* A string of `n` copies of `c`, for the caps. */
static char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static void test_suggest__caps(void **state)
{
	char *b64 = repeat('a', SUGGEST_MAX_LEN);
	char *b65 = repeat('a', SUGGEST_MAX_LEN + 1);
	char *a128 = repeat('a', 2 * SUGGEST_MAX_LEN);
	char *a129 = repeat('a', 2 * SUGGEST_MAX_LEN + 1);

	(void)state;
	/* a candidate at the cap, and a word twice as long */
	assert_int_equal(suggest_distance(b64, b64), 0);
	assert_int_equal(suggest_distance(a128, b64), SUGGEST_MAX_LEN);
	assert_int_equal(suggest_distance("", b64), SUGGEST_MAX_LEN);
	/* one past either: never close */
	assert_int_equal(suggest_distance(b64, b65), SIZE_MAX);
	assert_int_equal(suggest_distance(a129, b64), SIZE_MAX);
	assert_null(suggest_closest(b65, (const char *const[]){ b65 }, 1));
	assert_ptr_equal(suggest_closest(b64, (const char *const[]){ b64 }, 1),
			 b64);
	free(b64);
	free(b65);
	free(a128);
	free(a129);
}

struct closest_case {
	const char *word;
	const char *best;	/* NULL: nothing close enough */
};

static void test_suggest__thresholds(void **state)
{
	static const char *const cands[] = {
		"core", "verify", "environment", "hosts", "healthcheck_retries",
	};
	static const struct closest_case cases[] = {
		{ "core", "core" },
		{ "cor", "core" },
		{ "cxre", "core" },
		{ "ocre", "core" },
		{ "cr", "core" },	/* 2 edits: the floor of the limit */
		{ "c", NULL },		/* 3 edits for a 4-byte candidate */
		{ "x", NULL },
		{ "", NULL },
		{ "verfy", "verify" },
		{ "enviroment", "environment" },
		{ "envrnmnt", "environment" },	/* 3 = 11 / 3 */
		{ "envrnmt", NULL },		/* 4 */
		{ "healthcheck_retires", "healthcheck_retries" },
		/* 6 edits: a third of 19 bytes */
		{ "healthcheck_r", "healthcheck_retries" },
		{ "healthcheck_", NULL },	/* 7 */
		{ "HOSTS", NULL },
		{ "host", "hosts" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *got = suggest_closest(cases[i].word, cands,
						  ARRAY_SIZE(cands));

		if (got != cases[i].best &&
		    (!got || !cases[i].best || strcmp(got, cases[i].best)))
			print_error("'%s': got '%s'\n", cases[i].word,
				    got ? got : "(null)");
		if (cases[i].best) {
			assert_non_null(got);
			assert_string_equal(got, cases[i].best);
		} else {
			assert_null(got);
		}
	}
	assert_null(suggest_closest("core", cands, 0));
}

static void test_suggest__short_candidates(void **state)
{
	/* never as many edits as the candidate has bytes */
	static const char *const two[] = { "ab" };
	static const char *const one[] = { "a" };

	(void)state;
	assert_ptr_equal(suggest_closest("ax", two, 1), two[0]);
	assert_null(suggest_closest("xy", two, 1));
	assert_null(suggest_closest("b", one, 1));
	assert_ptr_equal(suggest_closest("a", one, 1), one[0]);
}

static void test_suggest__ties(void **state)
{
	static const char *const kd[] = { "keep", "deep", "beep" };
	static const char *const dk[] = { "deep", "keep" };
	static const char *const far[] = { "peek", "keep" };

	(void)state;
	/* equally close: the earlier candidate */
	assert_ptr_equal(suggest_closest("jeep", kd, 3), kd[0]);
	assert_ptr_equal(suggest_closest("jeep", dk, 2), dk[0]);
	/* an exact match wins wherever it is */
	assert_ptr_equal(suggest_closest("beep", kd, 3), kd[2]);
	/* the closer one, not the first */
	assert_ptr_equal(suggest_closest("keap", far, 2), far[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_suggest__distance),
		cmocka_unit_test(test_suggest__caps),
		cmocka_unit_test(test_suggest__thresholds),
		cmocka_unit_test(test_suggest__short_candidates),
		cmocka_unit_test(test_suggest__ties),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
