#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fsutil.h"
#include "sandbox.h"

/*
 * The sandbox on this kernel: a child enters it and reports what it could
 * open. A kernel without Landlock makes these tests fail, not skip: the
 * project's tests need it (the CI machines have it).
 */

static char dir[256];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_sandbox-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return fsutil_remove_tree(dir) < 0 ? -1 : 0;
}

static const char *at(const char *name)
{
	static char paths[4][PATH_MAX];
	static int which;
	char *p = paths[which];

	which = (which + 1) % 4;
	snprintf(p, PATH_MAX, "%s/%s", dir, name);
	return p;
}

static void make_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(close(fd), 0);
}

/*
 * In a child confined by `sb`: 0 if open(path, flags) works, else its
 * errno (EACCES when the sandbox refused).
 */
static int try_open(const struct sandbox *sb, const char *path, int flags)
{
	pid_t pid = fork();
	int status, fd;

	assert_true(pid >= 0);
	if (!pid) {
		if (sandbox_enter(sb) < 0)
			_exit(200);
		fd = open(path, flags | O_CLOEXEC, 0600);
		_exit(fd < 0 ? errno : 0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/* dir/repo (hidden, holding the writable checkout), dir/key, dir/open */
static void make_tree(void)
{
	assert_int_equal(mkdir(at("repo"), 0700), 0);
	assert_int_equal(mkdir(at("repo/tmp"), 0700), 0);
	assert_int_equal(mkdir(at("repo/tmp/checkout"), 0700), 0);
	make_file(at("repo/hooks.ini"));
	make_file(at("key"));
	make_file(at("open"));
	assert_int_equal(mkdir(at("cache"), 0700), 0);
}

static void test_sandbox__hides_and_confines(void **state)
{
	struct sandbox sb = SANDBOX_INIT;
	struct sandbox_opts so = SANDBOX_OPTS_INIT;
	const char *hidden[3], *writable[3];

	(void)state;
	assert_true(sandbox_abi() >= 1);
	make_tree();
	hidden[0] = at("repo");
	hidden[1] = at("key");
	hidden[2] = NULL;
	writable[0] = at("repo/tmp/checkout");
	writable[1] = at("cache");
	writable[2] = NULL;
	so.hidden = hidden;
	so.writable = writable;
	assert_ok(sandbox_prepare(&sb, &so));
	assert_true(sandbox_active(&sb));
	assert_true(sb.nr_rules > 0);

	assert_int_equal(try_open(&sb, at("repo/hooks.ini"), O_RDONLY),
			 EACCES);
	assert_int_equal(try_open(&sb, at("repo/hooks.ini"), O_WRONLY),
			 EACCES);
	assert_int_equal(try_open(&sb, at("key"), O_RDONLY), EACCES);
	assert_int_equal(try_open(&sb, at("repo"), O_RDONLY | O_DIRECTORY),
			 EACCES);
	/* the way to a hidden path cannot be listed */
	assert_int_equal(try_open(&sb, dir, O_RDONLY | O_DIRECTORY), EACCES);
	/* its siblings can be read, not written */
	assert_int_equal(try_open(&sb, at("open"), O_RDONLY), 0);
	assert_int_equal(try_open(&sb, at("open"), O_WRONLY), EACCES);
	assert_int_equal(try_open(&sb, "/etc/passwd", O_RDONLY), 0);
	assert_int_equal(try_open(&sb, "/dev/null", O_WRONLY), 0);
	/* the writable directories, even inside a hidden one */
	assert_int_equal(try_open(&sb, at("repo/tmp/checkout/new"),
				  O_WRONLY | O_CREAT), 0);
	assert_int_equal(try_open(&sb, at("cache/new"), O_WRONLY | O_CREAT),
			 0);
	assert_int_equal(try_open(&sb, at("repo/tmp/new"),
				  O_WRONLY | O_CREAT), EACCES);
	assert_int_equal(try_open(&sb, at("new"), O_WRONLY | O_CREAT),
			 EACCES);
	sandbox_release(&sb);
	assert_false(sandbox_active(&sb));
}

/* A hidden path through a symlink is resolved: the link hides nothing. */
static void test_sandbox__hidden_through_a_link(void **state)
{
	struct sandbox sb = SANDBOX_INIT;
	struct sandbox_opts so = SANDBOX_OPTS_INIT;
	const char *hidden[2], *writable[1] = { NULL };

	(void)state;
	make_tree();
	assert_int_equal(symlink(at("repo"), at("link")), 0);
	hidden[0] = at("link");
	hidden[1] = NULL;
	so.hidden = hidden;
	so.writable = writable;
	assert_ok(sandbox_prepare(&sb, &so));
	assert_int_equal(try_open(&sb, at("repo/hooks.ini"), O_RDONLY),
			 EACCES);
	assert_int_equal(try_open(&sb, at("link/hooks.ini"), O_RDONLY),
			 EACCES);
	assert_int_equal(try_open(&sb, at("key"), O_RDONLY), 0);
	sandbox_release(&sb);
}

/* Missing hidden paths are skipped; "/" cannot be hidden. */
static void test_sandbox__odd_paths(void **state)
{
	struct sandbox sb = SANDBOX_INIT;
	struct sandbox_opts so = SANDBOX_OPTS_INIT;
	const char *hidden[2], *writable[2];

	(void)state;
	hidden[0] = at("missing");
	hidden[1] = NULL;
	writable[0] = NULL;
	so.hidden = hidden;
	so.writable = writable;
	assert_ok(sandbox_prepare(&sb, &so));
	sandbox_release(&sb);

	hidden[0] = "/";
	assert_int_equal(sandbox_prepare(&sb, &so), ERR_INVALID);
	assert_false(sandbox_active(&sb));

	hidden[0] = NULL;
	writable[0] = at("missing");
	writable[1] = NULL;
	assert_int_equal(sandbox_prepare(&sb, &so), ERR_SYS);
	assert_false(sandbox_active(&sb));
}

/* Connecting to a closed TCP port fails; another port is only refused. */
static void test_sandbox__closed_port(void **state)
{
	static const unsigned closed[] = { 1 };
	struct sandbox sb = SANDBOX_INIT;
	struct sandbox_opts so = SANDBOX_OPTS_INIT;
	const char *writable[1] = { NULL };
	int status;
	pid_t pid;

	(void)state;
	if (sandbox_abi() < SANDBOX_ABI_NET)
		fail_msg("Landlock ABI %d has no TCP rules", sandbox_abi());
	so.writable = writable;
	so.closed_ports = closed;
	so.nr_closed_ports = 1;
	assert_ok(sandbox_prepare(&sb, &so));
	assert_true(sb.net_fd >= 0);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		struct sockaddr_in sin;
		int fd, e1, e2;

		if (sandbox_enter(&sb) < 0)
			_exit(200);
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sin.sin_port = htons(1);
		fd = socket(AF_INET, SOCK_STREAM, 0);
		e1 = connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ?
		     errno : 0;
		close(fd);
		sin.sin_port = htons(2);
		fd = socket(AF_INET, SOCK_STREAM, 0);
		e2 = connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ?
		     errno : 0;
		close(fd);
		_exit(e1 == EACCES && e2 == ECONNREFUSED ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	sandbox_release(&sb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_sandbox__hides_and_confines, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_sandbox__hidden_through_a_link, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sandbox__odd_paths, setup,
						teardown),
		cmocka_unit_test(test_sandbox__closed_port),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
