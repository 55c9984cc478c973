#include "unit.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "fsutil.h"
#include "state.h"

#define KEY "0123456789abcdef0123456789abcdef01234567"
#define OTHER_KEY "1123456789abcdef0123456789abcdef01234567"

static char git_dir[256];
static struct state st = STATE_INIT;

static int setup(void **state)
{
	(void)state;
	snprintf(git_dir, sizeof(git_dir), "/tmp/test_state-XXXXXX");
	if (!mkdtemp(git_dir))
		return -1;
	return state_open(&st, git_dir) < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	state_release(&st);
	return fsutil_remove_tree(git_dir) < 0 ? -1 : 0;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void assert_private_dir(const char *path)
{
	struct stat sb;

	assert_int_equal(lstat(path, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	assert_int_equal(sb.st_mode & 077, 0);
}

static void test_state__open_creates_dirs(void **state)
{
	static const char *const subs[] = { "", "/tmp", "/cache", "/locks" };
	char path[PATH_MAX];
	size_t i;

	(void)state;
	snprintf(path, sizeof(path), "%s/pushgate", git_dir);
	assert_string_equal(st.dir, path);
	for (i = 0; i < sizeof(subs) / sizeof(*subs); i++) {
		snprintf(path, sizeof(path), "%s/pushgate%s", git_dir,
			 subs[i]);
		assert_private_dir(path);
	}
}

static void test_state__open_relative_and_missing(void **state)
{
	struct state other = STATE_INIT;
	char cwd[PATH_MAX];

	(void)state;
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(git_dir), 0);
	assert_ok(state_open(&other, "."));
	assert_int_equal(chdir(cwd), 0);
	assert_string_equal(other.dir, st.dir);
	state_release(&other);
	assert_null(other.dir);

	assert_int_equal(state_open(&other, "/nonexistent/repo.git"),
			 ERR_NOTFOUND);
	assert_null(other.dir);
}

static void test_state__mkdtemp(void **state)
{
	static const char *const good[] = { "build", "a.b_c-1", "X" };
	char prefix[PATH_MAX];
	struct buf out = BUF_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(*good); i++) {
		snprintf(prefix, sizeof(prefix), "%s/tmp/%s-", st.dir,
			 good[i]);
		buf_reset(&out);
		assert_ok(state_mkdtemp(&st, &out, good[i]));
		assert_int_equal(strncmp(out.ptr, prefix, strlen(prefix)), 0);
		assert_int_equal(out.len, strlen(prefix) + 6);
		assert_private_dir(out.ptr);
	}

	/* The path is appended; two calls give two directories. */
	buf_reset(&out);
	assert_ok(buf_addstr(&out, "x:"));
	assert_ok(state_mkdtemp(&st, &out, "build"));
	assert_int_equal(strncmp(out.ptr, "x:/", 3), 0);
	buf_release(&out);
}

static void test_state__mkdtemp_bad_labels(void **state)
{
	static const char *const bad[] = {
		"", ".", "..", ".hidden", "a/b", "../x", "a b", "tab\t",
		"new\nline", "semi;colon", "star*", "dollar$", "\xc3\xa9",
	};
	struct buf out = BUF_INIT;
	char tmp[PATH_MAX];
	struct dirent *de;
	DIR *d;
	size_t i;

	(void)state;
	assert_ok(buf_addstr(&out, "keep"));
	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		assert_int_equal(state_mkdtemp(&st, &out, bad[i]),
				 ERR_INVALID);
		assert_string_equal(out.ptr, "keep");
	}
	buf_release(&out);

	/* Too long for the cap of `out`: nothing is left behind. */
	buf_init(&out, 8);
	assert_int_equal(state_mkdtemp(&st, &out, "build"), ERR_TOOBIG);
	assert_int_equal(out.len, 0);
	buf_release(&out);
	snprintf(tmp, sizeof(tmp), "%s/tmp", st.dir);
	d = opendir(tmp);
	assert_non_null(d);
	while ((de = readdir(d)))
		assert_true(!strcmp(de->d_name, ".") ||
			    !strcmp(de->d_name, ".."));
	closedir(d);
}

static void test_state__cache(void **state)
{
	char path[PATH_MAX];
	struct stat sb;

	(void)state;
	assert_false(state_cache_has(&st, KEY));
	assert_ok(state_cache_add(&st, KEY));
	assert_true(state_cache_has(&st, KEY));
	/* Adding twice is fine. */
	assert_ok(state_cache_add(&st, KEY));
	assert_true(state_cache_has(&st, KEY));
	assert_false(state_cache_has(&st, OTHER_KEY));

	snprintf(path, sizeof(path), "%s/cache/%s", st.dir, KEY);
	assert_int_equal(lstat(path, &sb), 0);
	assert_true(S_ISREG(sb.st_mode));
	assert_int_equal(sb.st_mode & 07777, 0600);
}

/* A cache key made of `n`, and its file's path. */
static void nth_key(char key[41], char *path, size_t size, unsigned n)
{
	snprintf(key, 41, "%040x", n);
	snprintf(path, size, "%s/cache/%s", st.dir, key);
}

static void set_mtime(const char *path, time_t when)
{
	struct timespec t[2] = { { when, 0 }, { when, 0 } };

	assert_int_equal(utimensat(AT_FDCWD, path, t, AT_SYMLINK_NOFOLLOW),
			 0);
}

/*
 * The cache is bounded: results unused for the maximum age go, then the
 * least recently used beyond the count; a hit counts as a use; stale
 * temporary files go too.
 */
static void test_state__cache_prune(void **state)
{
	char key[41], path[PATH_MAX], tmp[PATH_MAX];
	time_t now = time(NULL);
	unsigned i;
	int fd;

	(void)state;
	for (i = 0; i < 10; i++) {
		nth_key(key, path, sizeof(path), i);
		assert_ok(state_cache_add(&st, key));
		/* key i used i minutes after the first */
		set_mtime(path, now - 3600 + 60 * (time_t)i);
	}
	/* a hit makes key 0 the most recently used */
	nth_key(key, path, sizeof(path), 0);
	assert_true(state_cache_has(&st, key));
	/* key 9 is older than the maximum age */
	nth_key(key, path, sizeof(path), 9);
	set_mtime(path, now - 7200);
	snprintf(tmp, sizeof(tmp), "%s/cache/.%s.tmp-abcdef", st.dir, key);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	close(fd);
	set_mtime(tmp, now - 7200);
	state_cache_prune(&st, 4, 5400);
	/* kept: 0 (hit), then 8, 7, 6 */
	for (i = 0; i < 10; i++) {
		nth_key(key, path, sizeof(path), i);
		assert_int_equal(fsutil_exists(path),
				 i == 0 || (i >= 6 && i <= 8));
	}
	assert_false(fsutil_exists(tmp));
	/* adding prunes with the default bounds: nothing more goes */
	nth_key(key, path, sizeof(path), 100);
	assert_ok(state_cache_add(&st, key));
	assert_true(state_cache_has(&st, key));
	nth_key(key, path, sizeof(path), 8);
	assert_true(fsutil_exists(path));
}

static void test_state__cache_bad_keys(void **state)
{
	static const char *const bad[] = {
		"",
		"0123456789abcdef0123456789abcdef0123456",	/* 39 */
		"0123456789abcdef0123456789abcdef012345678",	/* 41 */
		"0123456789ABCDEF0123456789abcdef01234567",
		"0123456789abcdeg0123456789abcdef01234567",
		"../../../../../../../../../../../../etc/x",
		"0123456789abcdef0123456789abcdef0123456 ",
		"0123456789abcdef0123456789abcdef0123456\n",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		assert_int_equal(state_cache_add(&st, bad[i]), ERR_INVALID);
		assert_false(state_cache_has(&st, bad[i]));
	}
}

static int take(const char *name, unsigned timeout)
{
	struct state_lock_opts o = STATE_LOCK_OPTS_INIT;

	o.timeout = timeout;
	return state_lock(&st, name, &o);
}

static void test_state__lock(void **state)
{
	long long start;
	int fd, fd2;

	(void)state;
	fd = take("prod", 0);
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);

	assert_int_equal(take("prod", 0), ERR_TIMEOUT);
	assert_string_equal(error_last(),
			    "lock 'prod' is held by another deploy "
			    "(waited 0 s)");

	start = now_ms();
	assert_int_equal(take("prod", 1), ERR_TIMEOUT);
	assert_true(now_ms() - start >= 1000);
	assert_true(now_ms() - start < 3000);

	/* Another name is another lock. */
	fd2 = take("staging", 0);
	assert_true(fd2 >= 0);
	state_unlock(fd2);

	state_unlock(fd);
	fd = take("prod", 0);
	assert_true(fd >= 0);
	state_unlock(fd);
	state_unlock(-1);
}

static void test_state__lock_bad_names(void **state)
{
	static const char *const bad[] = { "", ".x", "a/b", "..", "a b" };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		assert_int_equal(take(bad[i], 0), ERR_INVALID);
}

/*
 * A child takes the lock and waits for us to close its pipe, then
 * _exit()s without unlocking: the lock must be free once it is gone.
 */
static void test_state__lock_released_when_holder_dies(void **state)
{
	int ready[2], go[2];
	char c;
	pid_t pid;
	int fd, wstatus;

	(void)state;
	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(go), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		close(ready[0]);
		close(go[1]);
		if (take("prod", 0) < 0)
			_exit(1);
		if (write(ready[1], "x", 1) != 1)
			_exit(2);
		while (read(go[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(ready[1]);
	close(go[0]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);

	assert_int_equal(take("prod", 0), ERR_TIMEOUT);

	/* Let it die, and wait for the lock (without reaping first). */
	close(go[1]);
	fd = take("prod", 10);
	assert_true(fd >= 0);
	state_unlock(fd);

	assert_int_equal(waitpid(pid, &wstatus, 0), pid);
	assert_true(WIFEXITED(wstatus));
	assert_int_equal(WEXITSTATUS(wstatus), 0);
}

static void remember(const char *holder, void *payload)
{
	char **seen = payload;

	free(*seen);
	*seen = strdup(holder ? holder : "(none)");
}

/* The holder line is there for others while the lock is held. */
static void test_state__lock_holder(void **state)
{
	struct state_lock_opts o = STATE_LOCK_OPTS_INIT;
	char *holder = NULL, *seen = NULL;
	int fd;

	(void)state;
	assert_int_equal(state_lock_holder(&st, "never", &holder), 0);
	assert_null(holder);

	o.holder = "deploy\tabc\talice\n(not kept)";
	fd = state_lock(&st, "prod", &o);
	assert_true(fd >= 0);
	assert_int_equal(state_lock_holder(&st, "prod", &holder), 0);
	assert_non_null(holder);
	assert_string_equal(holder, "deploy\tabc\talice");
	free(holder);

	/* a waiter is told who holds it, once */
	o.holder = "second";
	o.timeout = 1;
	o.on_wait = remember;
	o.payload = &seen;
	assert_int_equal(state_lock(&st, "prod", &o), ERR_TIMEOUT);
	assert_non_null(seen);
	assert_string_equal(seen, "deploy\tabc\talice");
	free(seen);
	seen = NULL;

	state_unlock(fd);
	assert_int_equal(state_lock_holder(&st, "prod", &holder), 0);
	assert_null(holder);

	/* the next holder replaces the line */
	o.timeout = 0;
	fd = state_lock(&st, "prod", &o);
	assert_true(fd >= 0);
	assert_null(seen);
	assert_int_equal(state_lock_holder(&st, "prod", &holder), 0);
	assert_string_equal(holder, "second");
	free(holder);
	state_unlock(fd);
}

/*
 * A holder killed outright never empties its line: the lock is free, and
 * the line tells who died holding it (state_lock_left(), and to the next
 * holder through left_out); a holder that unlocked leaves none.
 */
static void test_state__lock_left_by_a_dead_holder(void **state)
{
	struct state_lock_opts o = STATE_LOCK_OPTS_INIT;
	char *left = NULL;
	pid_t pid;
	int fd, wstatus;

	(void)state;
	assert_int_equal(state_lock_left(&st, "prod", &left), 0);
	assert_null(left);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		o.holder = "deploy\tabc\talice";
		_exit(state_lock(&st, "prod", &o) < 0);
	}
	assert_int_equal(waitpid(pid, &wstatus, 0), pid);
	assert_true(WIFEXITED(wstatus));
	assert_int_equal(WEXITSTATUS(wstatus), 0);

	assert_int_equal(state_lock_left(&st, "prod", &left), 0);
	assert_non_null(left);
	assert_string_equal(left, "deploy\tabc\talice");
	free(left);
	left = (char *)"not set";

	/* the next holder is told, and writes its own line */
	o.holder = "deploy\tdef\tbob";
	o.left_out = &left;
	fd = state_lock(&st, "prod", &o);
	assert_true(fd >= 0);
	assert_non_null(left);
	assert_string_equal(left, "deploy\tabc\talice");
	free(left);
	assert_int_equal(state_lock_left(&st, "prod", &left), 0);
	assert_null(left);	/* held: nobody died */
	state_lock_note(fd, "deploy\tdef\tbob\t42");
	assert_int_equal(state_lock_holder(&st, "prod", &left), 0);
	assert_string_equal(left, "deploy\tdef\tbob\t42");
	free(left);
	state_unlock(fd);

	/* after an unlock, nothing was left */
	assert_int_equal(state_lock_left(&st, "prod", &left), 0);
	assert_null(left);
	left = (char *)"not set";
	fd = state_lock(&st, "prod", &o);
	assert_true(fd >= 0);
	assert_null(left);
	state_unlock(fd);
}

static int count_keys(const char *key, int64_t used, void *payload)
{
	(void)key;
	(void)used;
	++*(int *)payload;
	return 0;
}

static void make_checkout(char *out, size_t size, const char *content)
{
	struct buf dir = BUF_INIT;
	char file[PATH_MAX];
	FILE *fp;

	assert_ok(state_mkdtemp(&st, &dir, "checkout"));
	snprintf(out, size, "%s", dir.ptr);
	snprintf(file, sizeof(file), "%s/f", dir.ptr);
	fp = fopen(file, "w");
	assert_non_null(fp);
	fputs(content, fp);
	fclose(fp);
	buf_release(&dir);
}

/* The artifact store: kept whole, held while read, dropped when not. */
static void test_state__artifacts(void **state)
{
	char a[PATH_MAX], b[PATH_MAX], file[PATH_MAX + 8];
	struct buf path = BUF_INIT;
	bool found, dropped;
	int fd, n = 0;
	FILE *fp;

	(void)state;
	fd = state_artifact_hold(&st, KEY, 0, &found);
	assert_true(fd >= 0);
	assert_false(found);
	/* stored while held (a deploy building it) */
	make_checkout(a, sizeof(a), "first");
	assert_ok(state_artifact_store(&st, KEY, a));
	assert_false(fsutil_exists(a));
	/* another build of the same key: the first stays */
	make_checkout(b, sizeof(b), "second");
	assert_ok(state_artifact_store(&st, KEY, b));
	assert_false(fsutil_exists(b));
	assert_ok(state_artifact_path(&st, &path, KEY));
	snprintf(file, sizeof(file), "%s/f", path.ptr);
	fp = fopen(file, "r");
	assert_non_null(fp);
	assert_non_null(fgets(a, sizeof(a), fp));
	assert_string_equal(a, "first");
	fclose(fp);
	assert_ok(state_artifact_list(&st, count_keys, &n));
	assert_int_equal(n, 1);
	/* held: not dropped */
	assert_ok(state_artifact_drop(&st, KEY, &dropped));
	assert_false(dropped);
	assert_true(fsutil_exists(path.ptr));
	state_unlock(fd);
	/* let go: dropped, and nothing partial is ever left under the key */
	assert_ok(state_artifact_drop(&st, KEY, &dropped));
	assert_true(dropped);
	assert_false(fsutil_exists(path.ptr));
	fd = state_artifact_hold(&st, KEY, 0, &found);
	assert_true(fd >= 0);
	assert_false(found);
	state_unlock(fd);
	n = 0;
	assert_ok(state_artifact_list(&st, count_keys, &n));
	assert_int_equal(n, 0);
	assert_int_equal(state_artifact_path(&st, &path, "../x"), ERR_INVALID);
	buf_release(&path);
}

static int64_t used_of(const char *key)
{
	struct buf path = BUF_INIT;
	struct stat sb;

	assert_ok(state_artifact_path(&st, &path, key));
	assert_int_equal(lstat(path.ptr, &sb), 0);
	buf_release(&path);
	return (int64_t)sb.st_mtime;
}

static void set_used(const char *key, time_t when)
{
	struct buf path = BUF_INIT;
	struct timespec t[2] = { { when, 0 }, { when, 0 } };

	assert_ok(state_artifact_path(&st, &path, key));
	assert_int_equal(utimensat(AT_FDCWD, path.ptr, t,
				   AT_SYMLINK_NOFOLLOW), 0);
	buf_release(&path);
}

/*
 * Keeping and holding mark an artifact used, a peek does not; the lock
 * file of an artifact that never came (a build that failed) goes with
 * the next sweep, unless somebody holds it.
 */
static void test_state__artifact_use_and_locks(void **state)
{
	char dir[PATH_MAX], lock[PATH_MAX + 64];
	struct buf path = BUF_INIT;
	bool found;
	int fd, fd2;

	(void)state;
	make_checkout(dir, sizeof(dir), "x");
	assert_ok(state_artifact_store(&st, KEY, dir));
	assert_true(used_of(KEY) > time(NULL) - 60);
	set_used(KEY, 1000000000);
	fd = state_artifact_hold(&st, KEY, STATE_HOLD_PEEK, &found);
	assert_true(fd >= 0);
	assert_true(found);
	assert_int_equal(used_of(KEY), 1000000000);
	state_unlock(fd);
	fd = state_artifact_hold(&st, KEY, 0, &found);
	assert_true(fd >= 0);
	assert_true(used_of(KEY) > time(NULL) - 60);
	state_unlock(fd);
	/* another build of a kept key marks it used too */
	set_used(KEY, 1000000000);
	make_checkout(dir, sizeof(dir), "y");
	assert_ok(state_artifact_store(&st, KEY, dir));
	assert_true(used_of(KEY) > time(NULL) - 60);

	/* a claim for a build that never came leaves a lock file */
	fd = state_artifact_hold(&st, OTHER_KEY, 0, &found);
	assert_true(fd >= 0);
	assert_false(found);
	assert_ok(state_artifact_path(&st, &path, OTHER_KEY));
	snprintf(lock, sizeof(lock), "%s.lock", path.ptr);
	assert_true(fsutil_exists(lock));
	/* still claimed: kept */
	state_artifact_sweep(&st);
	assert_true(fsutil_exists(lock));
	/* a second holder shares the claim */
	fd2 = state_artifact_hold(&st, OTHER_KEY, 0, &found);
	assert_true(fd2 >= 0);
	state_unlock(fd);
	state_artifact_sweep(&st);
	assert_true(fsutil_exists(lock));
	state_unlock(fd2);
	state_artifact_sweep(&st);
	assert_false(fsutil_exists(lock));
	/* the kept artifact's own lock file stays */
	buf_reset(&path);
	assert_ok(state_artifact_path(&st, &path, KEY));
	snprintf(lock, sizeof(lock), "%s.lock", path.ptr);
	assert_true(fsutil_exists(lock));
	assert_true(fsutil_exists(path.ptr));
	buf_release(&path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_state__open_creates_dirs),
		T(test_state__open_relative_and_missing),
		T(test_state__mkdtemp),
		T(test_state__mkdtemp_bad_labels),
		T(test_state__cache),
		T(test_state__cache_prune),
		T(test_state__cache_bad_keys),
		T(test_state__lock),
		T(test_state__lock_bad_names),
		T(test_state__lock_released_when_holder_dies),
		T(test_state__lock_holder),
		T(test_state__lock_left_by_a_dead_holder),
		T(test_state__artifacts),
		T(test_state__artifact_use_and_locks),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
