/*
 * Unit tests for archive: entry-name checks (hostile table), symlink
 * tracking, and tar streams that GNU tar extracts to the same tree.
 */
#include "unit.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive.h"
#include "buf.h"
#include "fsutil.h"

struct name_case {
	const char *name;
	int code;
};

static const struct name_case names[] = {
	{ "a", 0 },
	{ "dir/file.txt", 0 },
	{ "with space/$(touch PWNED) `x` 'q' \"d\"", 0 },
	{ "caf\xc3\xa9/\xe2\x82\xac", 0 },
	{ "new\nline", 0 },
	{ "-rf", 0 },
	{ "--checkpoint-action=exec=sh", 0 },
	{ "..foo", 0 },
	{ "foo..", 0 },
	{ ".hidden", 0 },
	{ "", ERR_INVALID },
	{ "/etc/passwd", ERR_INVALID },
	{ "/", ERR_INVALID },
	{ ".", ERR_INVALID },
	{ "..", ERR_INVALID },
	{ "../x", ERR_INVALID },
	{ "a/../../x", ERR_INVALID },
	{ "a/..", ERR_INVALID },
	{ "a/./b", ERR_INVALID },
	{ "a//b", ERR_INVALID },
	{ "a/", ERR_INVALID },
	{ "./a", ERR_INVALID },
};

static void test_archive__names(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		int r = archive_check_name(NULL, names[i].name);

		if (r != names[i].code)
			print_error("case %zu '%s': got %d (%s)\n", i,
				    names[i].name, r, error_last());
		assert_int_equal(r, names[i].code);
	}
}

/* A name of exactly ARCHIVE_MAX_PATH bytes passes; one more fails. */
static void test_archive__name_cap(void **state)
{
	char *name = malloc(ARCHIVE_MAX_PATH + 2);

	(void)state;
	memset(name, 'a', ARCHIVE_MAX_PATH + 1);
	name[ARCHIVE_MAX_PATH] = '\0';
	assert_ok(archive_check_name(NULL, name));
	name[ARCHIVE_MAX_PATH] = 'a';
	name[ARCHIVE_MAX_PATH + 1] = '\0';
	assert_int_equal(archive_check_name(NULL, name), ERR_TOOBIG);
	free(name);
}

static int to_buf(const void *data, size_t len, void *payload)
{
	return buf_add(payload, data, len);
}

/* Nothing may be written through a symlink written earlier. */
static void test_archive__through_symlink(void **state)
{
	struct buf out = BUF_INIT;
	struct archive a;

	(void)state;
	buf_init(&out, 1 << 20);
	archive_init(&a, to_buf, &out, 0);
	assert_ok(archive_add_symlink(&a, "etc", "/etc"));
	assert_true(archive_is_symlink(&a, "etc"));
	assert_int_equal(archive_add_file(&a, "etc/passwd", 0644, 1),
			 ERR_INVALID);
	assert_int_equal(archive_add_dir(&a, "etc/x", 0755), ERR_INVALID);
	assert_ok(archive_add_dir(&a, "etcetera", 0755));
	assert_ok(archive_add_symlink(&a, "d/deep", "../../.."));
	assert_int_equal(archive_add_symlink(&a, "d/deep/y", "z"),
			 ERR_INVALID);
	/* replacing the link itself is fine: tar unlinks it first */
	assert_ok(archive_add_file(&a, "etc", 0644, 0));
	archive_release(&a);
	buf_release(&out);
}

static void test_archive__file_size_enforced(void **state)
{
	struct buf out = BUF_INIT;
	struct archive a;

	(void)state;
	buf_init(&out, 1 << 20);
	archive_init(&a, to_buf, &out, 0);
	assert_ok(archive_add_file(&a, "f", 0644, 3));
	assert_int_equal(archive_add_data(&a, "abcd", 4), ERR_INVALID);
	assert_ok(archive_add_data(&a, "ab", 2));
	assert_int_equal(archive_finish(&a), ERR_INVALID);
	archive_release(&a);
	buf_release(&out);
}

static int write_file(const char *path, const void *data, size_t len)
{
	FILE *fp = fopen(path, "wb");
	size_t n;

	if (!fp)
		return -1;
	n = fwrite(data, 1, len, fp);
	return fclose(fp) || n != len ? -1 : 0;
}

/* GNU tar extracts what we encode: long names, modes, links, content. */
static void test_archive__roundtrip_with_tar(void **state)
{
	char dir[] = "/tmp/pushgate-archive-XXXXXX";
	char cmd[2048], path[256], big[100000];
	struct buf out = BUF_INIT, longname = BUF_INIT, target = BUF_INIT;
	struct archive a;
	struct stat st;
	size_t i;

	(void)state;
	assert_non_null(mkdtemp(dir));
	for (i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 7);
	for (i = 0; i < 30; i++)
		buf_addstr(&longname, "segment-");
	buf_addstr(&longname, "/file");
	for (i = 0; i < 150; i++)
		buf_addch(&target, 't');
	buf_init(&out, 16 << 20);
	archive_init(&a, to_buf, &out, 1700000000);
	assert_ok(archive_add_dir(&a, "bin", 0755));
	assert_ok(archive_add_file(&a, "bin/run", 0755, 3));
	assert_ok(archive_add_data(&a, "hi\n", 3));
	assert_ok(archive_add_file(&a, "big", 0600, sizeof(big)));
	for (i = 0; i < sizeof(big); i += 1000)
		assert_ok(archive_add_data(&a, big + i, 1000));
	assert_ok(archive_add_symlink(&a, "link", "bin/run"));
	assert_ok(archive_add_symlink(&a, "longlink", target.ptr));
	assert_ok(archive_add_dir(&a, "segment-segment-segment-segment-segment-segment-segment-segment-segment-segment-segment-segment-segment-segment-segment-segment-segment-segment-segment-segment-segment-segment-segment-segment-segment-segment-segment-segment-segment-segment-", 0755));
	assert_ok(archive_add_file(&a, longname.ptr, 0644, 0));
	assert_ok(archive_add_file(&a, "we ird $(x) 'q'\n", 0644, 1));
	assert_ok(archive_add_data(&a, "x", 1));
	assert_ok(archive_finish(&a));
	assert_int_equal(out.len % ARCHIVE_BLOCK, 0);
	assert_int_equal(a.bytes, out.len);
	snprintf(path, sizeof(path), "%s/stream.tar", dir);
	assert_int_equal(write_file(path, out.ptr, out.len), 0);
	snprintf(cmd, sizeof(cmd),
		 "mkdir '%s/x' && tar -x -p --no-same-owner -f '%s' -C '%s/x'",
		 dir, path, dir);
	assert_int_equal(system(cmd), 0);

	snprintf(path, sizeof(path), "%s/x/bin/run", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	assert_int_equal(st.st_size, 3);
	snprintf(path, sizeof(path), "%s/x/big", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_size, sizeof(big));
	assert_int_equal(st.st_mtime, 1700000000);
	snprintf(cmd, sizeof(cmd), "test \"$(readlink '%s/x/link')\" = bin/run"
		 " && test \"$(readlink '%s/x/longlink' | wc -c)\" = 151"
		 " && test -f '%s/x/%s'"
		 " && test \"$(cat '%s/x/we ird $(x) '\\''q'\\''\n')\" = x",
		 dir, dir, dir, longname.ptr, dir);
	assert_int_equal(system(cmd), 0);
	archive_release(&a);
	buf_release(&out);
	buf_release(&longname);
	buf_release(&target);
	assert_ok(fsutil_remove_tree(dir));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_archive__names),
		cmocka_unit_test(test_archive__name_cap),
		cmocka_unit_test(test_archive__through_symlink),
		cmocka_unit_test(test_archive__file_size_enforced),
		cmocka_unit_test(test_archive__roundtrip_with_tar),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
