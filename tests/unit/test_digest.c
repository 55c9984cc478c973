/* Unit tests for digest: git blob ids of bytes and of files. */
#include "unit.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "digest.h"

static void test_digest__blob(void **state)
{
	char hex[DIGEST_HEX + 1];

	(void)state;
	/* what `git hash-object` says */
	digest_blob(hex, "hello\n", 6);
	assert_string_equal(hex, "ce013625030ba8dba906f756967f9e9ca394464a");
	digest_blob(hex, "", 0);
	assert_string_equal(hex, "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");
}

static void test_digest__fd(void **state)
{
	char path[] = "/tmp/test_digest-XXXXXX", a[DIGEST_HEX + 1];
	char b[DIGEST_HEX + 1];
	char *big = malloc(200000);
	int fd;

	(void)state;
	memset(big, 'x', 200000);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, big, 200000), 200000);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	assert_ok(digest_blob_fd(a, fd, 200000));
	digest_blob(b, big, 200000);
	assert_string_equal(a, b);
	/* a file shorter than announced changed while read */
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	assert_int_equal(digest_blob_fd(a, fd, 200001), ERR_SYS);
	close(fd);
	unlink(path);
	free(big);
}

static void test_digest__plain(void **state)
{
	struct digest *d = digest_new();
	char hex[DIGEST_HEX + 1];

	(void)state;
	/* printf 'ab\0c' | sha1sum, in two pieces */
	digest_add(d, "a", 1);
	digest_add(d, "b\0c", 3);
	digest_end(d, hex);
	assert_string_equal(hex, "dbdd4f85d8a56500aa5c9c8a0d456f96280c92e5");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_digest__blob),
		cmocka_unit_test(test_digest__fd),
		cmocka_unit_test(test_digest__plain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
