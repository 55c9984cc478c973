/*
 * Unit tests for oidmap: keys of one or more ids, values kept and found
 * again through growth, and a full map that says so.
 */
#include "unit.h"

#include <stdlib.h>

#include "oidmap.h"

struct val {
	uint64_t a;
	size_t b;
};

/* A key of `ids` 20-byte ids, made from `n`. */
static void make_key(unsigned char *key, size_t ids, unsigned n)
{
	size_t i;

	memset(key, 0, ids * 20);
	for (i = 0; i < ids; i++) {
		key[i * 20] = (unsigned char)(n & 0xff);
		key[i * 20 + 1] = (unsigned char)((n >> 8) & 0xff);
		key[i * 20 + 2] = (unsigned char)((n >> 16) & 0xff);
		key[i * 20 + 19] = (unsigned char)i;
	}
}

static void test_oidmap__put_get(void **state)
{
	struct oidmap m;
	unsigned char key[60];
	struct val *v;
	unsigned n;

	(void)state;
	oidmap_init(&m, sizeof(struct val), 100000);
	make_key(key, 1, 7);
	assert_null(oidmap_get(&m, key, 20));
	for (n = 0; n < 10000; n++) {
		make_key(key, 1 + n % 3, n);
		v = oidmap_put(&m, key, 20 * (1 + n % 3));
		assert_non_null(v);
		assert_int_equal(v->a, 0);	/* new: zeroed */
		v->a = n + 1;
		v->b = n * 2;
	}
	assert_int_equal(m.nr, 10000);
	for (n = 0; n < 10000; n++) {
		make_key(key, 1 + n % 3, n);
		v = oidmap_get(&m, key, 20 * (1 + n % 3));
		assert_non_null(v);
		assert_int_equal(v->a, n + 1);
		assert_int_equal(v->b, n * 2);
		/* the same bytes, another length: another key */
		assert_null(oidmap_get(&m, key, 20 * (1 + (n + 1) % 3)));
	}
	/* put on a key it holds: the same value */
	make_key(key, 1, 3);
	v = oidmap_put(&m, key, 20);
	assert_int_equal(v->a, 4);
	assert_int_equal(m.nr, 10000);
	oidmap_release(&m);
	assert_int_equal(m.nr, 0);
	assert_null(oidmap_get(&m, key, 20));
}

static void test_oidmap__full(void **state)
{
	struct oidmap m;
	unsigned char key[20];
	unsigned n;

	(void)state;
	oidmap_init(&m, sizeof(uint64_t), 100);
	for (n = 0; n < 100; n++) {
		make_key(key, 1, n);
		assert_non_null(oidmap_put(&m, key, 20));
	}
	make_key(key, 1, 100);
	assert_null(oidmap_put(&m, key, 20));
	assert_null(oidmap_get(&m, key, 20));
	/* what it holds is still found, and put again */
	make_key(key, 1, 99);
	assert_non_null(oidmap_get(&m, key, 20));
	assert_non_null(oidmap_put(&m, key, 20));
	assert_int_equal(m.nr, 100);
	oidmap_release(&m);
}

static void test_oidmap__bad_keys(void **state)
{
	struct oidmap m;
	unsigned char *big = calloc(1, OIDMAP_MAX_KEY + 1);

	(void)state;
	assert_non_null(big);
	oidmap_init(&m, 8, 10);
	assert_null(oidmap_put(&m, big, 0));
	assert_null(oidmap_put(&m, big, OIDMAP_MAX_KEY + 1));
	assert_null(oidmap_get(&m, big, OIDMAP_MAX_KEY + 1));
	assert_non_null(oidmap_put(&m, big, OIDMAP_MAX_KEY));
	assert_non_null(oidmap_get(&m, big, OIDMAP_MAX_KEY));
	/* the most a map may hold is clipped */
	oidmap_release(&m);
	oidmap_init(&m, 8, (size_t)-1);
	assert_int_equal(m.max, OIDMAP_MAX_ITEMS);
	oidmap_release(&m);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_oidmap__put_get),
		cmocka_unit_test(test_oidmap__full),
		cmocka_unit_test(test_oidmap__bad_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
