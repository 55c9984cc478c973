#include "unit.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "fsutil.h"

static char dir[256];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_fsutil-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return fsutil_remove_tree(dir) < 0 ? -1 : 0;
}

/* "<dir>/<name>" in a static buffer (one of two, alternating). */
static const char *at(const char *name)
{
	static char paths[2][PATH_MAX];
	static int which;
	char *p = paths[which];

	which = !which;
	snprintf(p, PATH_MAX, "%s/%s", dir, name);
	return p;
}

static void make_file(const char *path, const char *content, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_ok(fsutil_write_all(fd, content, strlen(content)));
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(close(fd), 0);
}

static void assert_content(const char *path, const char *expect)
{
	struct buf b = BUF_INIT;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_ok(buf_read_fd(&b, fd));
	close(fd);
	assert_string_equal(b.ptr, expect);
	buf_release(&b);
}

static int count_entries(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void test_fsutil__private_file_ok(void **state)
{
	const char *p = at("hooks.ini");
	struct buf b = BUF_INIT;
	int fd;

	(void)state;
	make_file(p, "[verify]\n", 0600);
	fd = fsutil_open_private_file(p);
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_false(fcntl(fd, F_GETFL) & O_NONBLOCK);
	assert_ok(buf_read_fd(&b, fd));
	assert_string_equal(b.ptr, "[verify]\n");
	close(fd);
	buf_release(&b);

	make_file(p, "x", 0644);
	fd = fsutil_open_private_file(p);
	assert_true(fd >= 0);
	close(fd);
}

static void test_fsutil__private_file_missing(void **state)
{
	(void)state;
	assert_int_equal(fsutil_open_private_file(at("nope")), ERR_NOTFOUND);
}

static void test_fsutil__private_file_symlink(void **state)
{
	(void)state;
	make_file(at("real"), "x", 0600);
	assert_int_equal(symlink(at("real"), at("link")), 0);
	assert_int_equal(fsutil_open_private_file(at("link")), ERR_INVALID);
	assert_non_null(strstr(error_last(), "symbolic link"));
}

static void test_fsutil__private_file_group_writable(void **state)
{
	char expect[PATH_MAX * 3];
	const char *p = at("hooks.ini");

	(void)state;
	make_file(p, "x", 0620);
	assert_int_equal(fsutil_open_private_file(p), ERR_INVALID);
	snprintf(expect, sizeof(expect),
		 "'%s' is writable by group or others (run: chmod go-w %s)",
		 p, p);
	assert_string_equal(error_last(), expect);

	make_file(p, "x", 0602);
	assert_int_equal(fsutil_open_private_file(p), ERR_INVALID);
	assert_string_equal(error_last(), expect);
}

static void test_fsutil__private_file_not_regular(void **state)
{
	(void)state;
	assert_int_equal(mkdir(at("d"), 0700), 0);
	assert_int_equal(fsutil_open_private_file(at("d")), ERR_INVALID);
	assert_non_null(strstr(error_last(), "not a regular file"));

	/* A FIFO must be refused, not block the open. */
	assert_int_equal(mkfifo(at("fifo"), 0600), 0);
	assert_int_equal(fsutil_open_private_file(at("fifo")), ERR_INVALID);
}

static void test_fsutil__read_fd_cap(void **state)
{
	struct buf b;
	int fd;

	(void)state;
	make_file(at("f"), "0123456789", 0600);

	buf_init(&b, 10);	/* exactly at the cap */
	fd = open(at("f"), O_RDONLY);
	assert_ok(buf_read_fd(&b, fd));
	assert_int_equal(b.len, 10);
	close(fd);
	buf_release(&b);

	buf_init(&b, 9);	/* one past it */
	fd = open(at("f"), O_RDONLY);
	assert_int_equal(buf_read_fd(&b, fd), ERR_TOOBIG);
	close(fd);
	buf_release(&b);
}

static void test_fsutil__write_all_large(void **state)
{
	size_t len = 300 * 1000;
	char *data = xmalloc(len + 1);
	struct buf b;
	int fd;

	(void)state;
	memset(data, 'z', len);
	data[len] = '\0';
	fd = open(at("big"), O_RDWR | O_CREAT, 0600);
	assert_ok(fsutil_write_all(fd, data, len));
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	buf_init(&b, len);
	assert_ok(buf_read_fd(&b, fd));
	assert_int_equal(b.len, len);
	assert_memory_equal(b.ptr, data, len);
	close(fd);
	buf_release(&b);
	free(data);

	/* A bad fd is reported, not ignored. */
	assert_int_equal(fsutil_write_all(-1, "x", 1), ERR_SYS);
}

static void test_fsutil__mkdir_p(void **state)
{
	struct stat st;

	(void)state;
	assert_ok(fsutil_mkdir_p(at("a/b//c/"), 0700));
	assert_int_equal(stat(at("a/b/c"), &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_ok(fsutil_mkdir_p(at("a/b/c"), 0700));

	make_file(at("file"), "x", 0600);
	assert_int_equal(fsutil_mkdir_p(at("file/sub"), 0700), ERR_INVALID);
	assert_int_equal(fsutil_mkdir_p(at("file"), 0700), ERR_INVALID);
}

static void test_fsutil__write_file_atomic(void **state)
{
	const char *p = at("out");
	struct stat st;

	(void)state;
	assert_ok(fsutil_write_file_atomic(p, "one\n", 4, 0640));
	assert_content(p, "one\n");
	assert_int_equal(lstat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);

	assert_ok(fsutil_write_file_atomic(p, "two\n", 4, 0600));
	assert_content(p, "two\n");
	assert_int_equal(lstat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);

	/* Empty content is fine; no temporary file is left behind. */
	assert_ok(fsutil_write_file_atomic(p, "", 0, 0600));
	assert_content(p, "");
	assert_int_equal(count_entries(dir), 1);
}

static void test_fsutil__write_file_atomic_failure(void **state)
{
	(void)state;
	/* rename() over a directory fails: the temporary file goes away. */
	assert_int_equal(mkdir(at("d"), 0700), 0);
	assert_int_equal(fsutil_write_file_atomic(at("d"), "x", 1, 0600),
			 ERR_SYS);
	assert_int_equal(count_entries(dir), 1);

	assert_int_equal(fsutil_write_file_atomic(at("none/f"), "x", 1, 0600),
			 ERR_SYS);
	assert_int_equal(fsutil_write_file_atomic(at(""), "x", 1, 0600),
			 ERR_INVALID);
}

static void test_fsutil__exists(void **state)
{
	(void)state;
	assert_false(fsutil_exists(at("x")));
	assert_int_equal(symlink("/nonexistent/target", at("x")), 0);
	assert_true(fsutil_exists(at("x")));
}

static void test_fsutil__remove_tree_missing_and_file(void **state)
{
	(void)state;
	assert_ok(fsutil_remove_tree(at("missing")));
	make_file(at("f"), "x", 0400);
	assert_ok(fsutil_remove_tree(at("f")));
	assert_false(fsutil_exists(at("f")));
}

static void test_fsutil__remove_tree_symlink_outside(void **state)
{
	(void)state;
	assert_ok(fsutil_mkdir_p(at("outside/keep"), 0700));
	make_file(at("outside/keep/precious"), "data\n", 0600);
	assert_ok(fsutil_mkdir_p(at("tree/a/b"), 0700));
	make_file(at("tree/a/b/f"), "x", 0600);
	make_file(at("tree/top"), "x", 0600);
	assert_int_equal(symlink(at("outside"), at("tree/a/to-dir")), 0);
	assert_int_equal(symlink(at("outside/keep/precious"),
				 at("tree/a/b/to-file")), 0);
	assert_int_equal(symlink("../../../outside", at("tree/a/b/rel")), 0);

	assert_ok(fsutil_remove_tree(at("tree")));
	assert_false(fsutil_exists(at("tree")));
	assert_content(at("outside/keep/precious"), "data\n");

	/* The top path itself a symlink: only the link goes. */
	assert_int_equal(symlink(at("outside"), at("link")), 0);
	assert_ok(fsutil_remove_tree(at("link")));
	assert_false(fsutil_exists(at("link")));
	assert_content(at("outside/keep/precious"), "data\n");
}

static void test_fsutil__remove_tree_read_only(void **state)
{
	(void)state;
	assert_ok(fsutil_mkdir_p(at("tree/ro/sub"), 0700));
	assert_ok(fsutil_mkdir_p(at("tree/none"), 0700));
	make_file(at("tree/ro/sub/f"), "x", 0400);
	make_file(at("tree/ro/f"), "x", 0400);
	make_file(at("tree/none/f"), "x", 0400);
	assert_int_equal(chmod(at("tree/ro/sub"), 0500), 0);
	assert_int_equal(chmod(at("tree/ro"), 0555), 0);
	assert_int_equal(chmod(at("tree/none"), 0), 0);
	assert_int_equal(chmod(at("tree"), 0500), 0);

	assert_ok(fsutil_remove_tree(at("tree")));
	assert_false(fsutil_exists(at("tree")));
}

static void test_fsutil__remove_tree_deep(void **state)
{
	int depth = 600;	/* deeper than PATH_MAX allows by name */
	int fd, i;

	(void)state;
	assert_int_equal(mkdir(at("deep"), 0700), 0);
	fd = open(at("deep"), O_RDONLY | O_DIRECTORY);
	assert_true(fd >= 0);
	for (i = 0; i < depth; i++) {
		int sub, f;

		f = openat(fd, "file", O_WRONLY | O_CREAT, 0600);
		assert_true(f >= 0);
		close(f);
		assert_int_equal(mkdirat(fd, "directory-level", 0700), 0);
		sub = openat(fd, "directory-level", O_RDONLY | O_DIRECTORY);
		assert_true(sub >= 0);
		close(fd);
		fd = sub;
	}
	close(fd);

	assert_ok(fsutil_remove_tree(at("deep")));
	assert_false(fsutil_exists(at("deep")));
}

/* The tree writer never writes through a symlink or outside its root. */
static void test_fsutil__writer_no_escape(void **state)
{
	char root[] = "/tmp/pushgate-writer-XXXXXX";
	char outside[] = "/tmp/pushgate-outside-XXXXXX";
	char path[300];
	struct fsutil_writer w = FSUTIL_WRITER_INIT;
	struct stat st;

	(void)state;
	assert_non_null(mkdtemp(root));
	assert_non_null(mkdtemp(outside));
	snprintf(path, sizeof(path), "%s/rel", root);
	assert_ok(fsutil_writer_open(&w, path, true));
	assert_ok(fsutil_writer_symlink(&w, "out", outside));
	assert_int_equal(fsutil_writer_file(&w, "out/x", 0644, 1),
			 ERR_INVALID);
	assert_int_equal(fsutil_writer_dir(&w, "out/d", 0755), ERR_INVALID);
	assert_int_equal(fsutil_writer_file(&w, "../x", 0644, 1),
			 ERR_INVALID);
	assert_int_equal(fsutil_writer_file(&w, "/abs", 0644, 1),
			 ERR_INVALID);
	/* a file replaces a file or a link; never a directory */
	assert_ok(fsutil_writer_dir(&w, "d", 0750));
	assert_int_equal(fsutil_writer_file(&w, "d", 0644, 0), ERR_INVALID);
	assert_ok(fsutil_writer_file(&w, "d/f", 0755, 2));
	assert_ok(fsutil_writer_data(&w, "ab", 2));
	assert_ok(fsutil_writer_file(&w, "d/f", 0600, 1));
	assert_ok(fsutil_writer_data(&w, "c", 1));
	assert_ok(fsutil_writer_file(&w, "out", 0644, 0));
	assert_ok(fsutil_writer_close(&w));
	snprintf(path, sizeof(path), "%s/rel/d/f", root);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_size, 1);
	snprintf(path, sizeof(path), "%s/rel/d", root);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0750);
	snprintf(path, sizeof(path), "%s/x", outside);
	assert_int_equal(lstat(path, &st), -1);
	assert_ok(fsutil_remove_tree(root));
	assert_ok(fsutil_remove_tree(outside));
}

/* A short file is an error when the next entry starts or at close. */
static void test_fsutil__writer_short_file(void **state)
{
	char root[] = "/tmp/pushgate-writer-XXXXXX";
	struct fsutil_writer w = FSUTIL_WRITER_INIT;

	(void)state;
	assert_non_null(mkdtemp(root));
	assert_ok(fsutil_writer_open(&w, root, false));
	assert_ok(fsutil_writer_file(&w, "f", 0644, 3));
	assert_ok(fsutil_writer_data(&w, "a", 1));
	assert_int_equal(fsutil_writer_data(&w, "abc", 3), ERR_INVALID);
	assert_int_equal(fsutil_writer_dir(&w, "g", 0755), ERR_INVALID);
	assert_int_equal(fsutil_writer_close(&w), 0);
	assert_ok(fsutil_remove_tree(root));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_fsutil__private_file_ok),
		T(test_fsutil__private_file_missing),
		T(test_fsutil__private_file_symlink),
		T(test_fsutil__private_file_group_writable),
		T(test_fsutil__private_file_not_regular),
		T(test_fsutil__read_fd_cap),
		T(test_fsutil__write_all_large),
		T(test_fsutil__mkdir_p),
		T(test_fsutil__write_file_atomic),
		T(test_fsutil__write_file_atomic_failure),
		T(test_fsutil__exists),
		T(test_fsutil__remove_tree_missing_and_file),
		T(test_fsutil__remove_tree_symlink_outside),
		T(test_fsutil__remove_tree_read_only),
		T(test_fsutil__remove_tree_deep),
#undef T
		cmocka_unit_test(test_fsutil__writer_no_escape),
		cmocka_unit_test(test_fsutil__writer_short_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
