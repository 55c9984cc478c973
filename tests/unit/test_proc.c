#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "fsutil.h"
#include "proc.h"
#include "strvec.h"

#define CAP (1024 * 1024)

static char dir[256];

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_proc-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	return 0;
}

/*
 * Reap what the tests left to us as subreaper (see main()), waiting a
 * bounded time for killed processes to finish dying.
 */
static void reap_orphans(void)
{
	long long end = now_ms() + 5000;

	while (waitpid(-1, NULL, WNOHANG) >= 0 && now_ms() < end)
		poll(NULL, 0, 10);
}

static int teardown(void **state)
{
	(void)state;
	reap_orphans();
	return fsutil_remove_tree(dir) < 0 ? -1 : 0;
}

/* Run `/bin/sh -c script`, capturing up to CAP bytes. */
static int run_sh(struct proc_result *res, const char *script,
		  unsigned timeout)
{
	const char *argv[] = { "/bin/sh", "-c", script, NULL };
	struct proc_opts opts = PROC_OPTS_INIT;

	opts.argv = argv;
	opts.timeout = timeout;
	opts.capture_cap = CAP;
	return proc_run(res, &opts);
}

/*
 * Wait (bounded) until `pid` no longer exists. We are a child subreaper
 * (see main()), so orphans of the children we run are ours to reap.
 */
static bool wait_gone(pid_t pid, int ms)
{
	long long end = now_ms() + ms;

	for (;;) {
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		if (kill(pid, 0) < 0 && errno == ESRCH)
			return true;
		if (now_ms() > end)
			return false;
		poll(NULL, 0, 10);
	}
}

static pid_t read_pidfile(const char *path)
{
	struct buf b = BUF_INIT;
	uint64_t v;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_ok(buf_read_fd(&b, fd));
	close(fd);
	if (b.len && b.ptr[b.len - 1] == '\n')
		buf_truncate(&b, b.len - 1);
	assert_ok(parse_uint(b.ptr, 2, INT_MAX, &v));
	buf_release(&b);
	return (pid_t)v;
}

static void test_proc__exit_codes(void **state)
{
	struct proc_result res = PROC_RESULT_INIT;

	(void)state;
	assert_ok(run_sh(&res, "exit 0", 0));
	assert_int_equal(res.status, 0);
	assert_false(res.timed_out);
	assert_false(res.output_held);
	assert_non_null(res.output);
	assert_string_equal(res.output, "");
	proc_result_release(&res);
	assert_null(res.output);

	assert_ok(run_sh(&res, "exit 3", 0));
	assert_int_equal(res.status, 3);
	proc_result_release(&res);

	assert_ok(run_sh(&res, "exit 255", 0));
	assert_int_equal(res.status, 255);
	proc_result_release(&res);
}

static void test_proc__signal_status(void **state)
{
	struct proc_result res = PROC_RESULT_INIT;

	(void)state;
	assert_ok(run_sh(&res, "kill -TERM $$", 0));
	assert_int_equal(res.status, 128 + SIGTERM);
	assert_false(res.timed_out);
	proc_result_release(&res);

	assert_ok(run_sh(&res, "kill -KILL $$", 0));
	assert_int_equal(res.status, 128 + SIGKILL);
	proc_result_release(&res);
}

static void test_proc__output_merged(void **state)
{
	struct proc_result res = PROC_RESULT_INIT;

	(void)state;
	assert_ok(run_sh(&res, "echo out; echo err >&2; printf 'a\\0b'", 0));
	assert_int_equal(res.output_len, 11);
	assert_memory_equal(res.output, "out\nerr\na\0b", 11);
	assert_int_equal(res.output[11], '\0');
	assert_false(res.truncated);
	proc_result_release(&res);
}

static void test_proc__capture_cap(void **state)
{
	const char *argv[] = { "/bin/sh", "-c", "printf 0123456789", NULL };
	struct proc_opts opts = PROC_OPTS_INIT;
	struct proc_result res = PROC_RESULT_INIT;

	(void)state;
	opts.argv = argv;

	opts.capture_cap = 10;	/* at the cap */
	assert_ok(proc_run(&res, &opts));
	assert_string_equal(res.output, "0123456789");
	assert_false(res.truncated);
	proc_result_release(&res);

	opts.capture_cap = 9;	/* one past it */
	assert_ok(proc_run(&res, &opts));
	assert_string_equal(res.output, "012345678");
	assert_int_equal(res.output_len, 9);
	assert_true(res.truncated);
	proc_result_release(&res);

	opts.capture_cap = 0;	/* discard */
	assert_ok(proc_run(&res, &opts));
	assert_string_equal(res.output, "");
	assert_true(res.truncated);
	proc_result_release(&res);
	assert_false(res.truncated);
}

static void collect(const char *data, size_t len, void *payload)
{
	struct buf *b = payload;

	assert_true(len > 0);
	assert_ok(buf_add(b, data, len));
}

static void test_proc__streaming(void **state)
{
	const char *script = "i=0; while [ $i -lt 5000 ]; do "
			     "echo line $i; i=$((i + 1)); done; "
			     "head -c 300000 /dev/zero";
	const char *argv[] = { "/bin/sh", "-c", script, NULL };
	struct proc_opts opts = PROC_OPTS_INIT;
	struct proc_result res = PROC_RESULT_INIT;
	struct buf got, want = BUF_INIT;
	size_t i;

	(void)state;
	buf_init(&got, 4 * CAP);
	for (i = 0; i < 5000; i++)
		assert_ok(buf_addf(&want, "line %zu\n", i));
	opts.argv = argv;
	opts.on_output = collect;
	opts.payload = &got;
	opts.capture_cap = 10;	/* ignored when streaming */
	assert_ok(proc_run(&res, &opts));
	assert_int_equal(res.status, 0);
	assert_null(res.output);
	assert_false(res.truncated);

	assert_int_equal(got.len, want.len + 300000);
	assert_memory_equal(got.ptr, want.ptr, want.len);
	for (i = want.len; i < got.len; i++)
		if (got.ptr[i])
			fail_msg("byte %zu is not NUL", i);
	proc_result_release(&res);
	buf_release(&got);
	buf_release(&want);
}

static void test_proc__stdin(void **state)
{
	const char *cat[] = { "/bin/cat", NULL };
	const char *truecmd[] = { "/bin/true", NULL };
	struct proc_opts opts = PROC_OPTS_INIT;
	struct proc_result res = PROC_RESULT_INIT;
	struct sigaction sa;
	size_t big = 3 * CAP / 2;
	char *data = xmalloc(big);
	size_t i;

	(void)state;
	opts.argv = cat;
	opts.capture_cap = 2 * CAP;

	/* Default: /dev/null. */
	assert_ok(proc_run(&res, &opts));
	assert_int_equal(res.output_len, 0);
	proc_result_release(&res);

	opts.input = "abc\0def";
	opts.input_len = 7;
	assert_ok(proc_run(&res, &opts));
	assert_int_equal(res.output_len, 7);
	assert_memory_equal(res.output, "abc\0def", 7);
	proc_result_release(&res);

	opts.input = "";
	opts.input_len = 0;
	assert_ok(proc_run(&res, &opts));
	assert_int_equal(res.output_len, 0);
	proc_result_release(&res);

	/* More than a pipe holds, both ways at once. */
	for (i = 0; i < big; i++)
		data[i] = (char)('a' + i % 26);
	opts.input = data;
	opts.input_len = big;
	assert_ok(proc_run(&res, &opts));
	assert_int_equal(res.output_len, big);
	assert_memory_equal(res.output, data, big);
	proc_result_release(&res);

	/* A child that never reads its input is not an error. */
	opts.argv = truecmd;
	assert_ok(proc_run(&res, &opts));
	assert_int_equal(res.status, 0);
	proc_result_release(&res);

	/* Our SIGPIPE disposition is restored. */
	assert_int_equal(sigaction(SIGPIPE, NULL, &sa), 0);
	assert_true(sa.sa_handler == SIG_DFL);
	free(data);
}

static void test_proc__env_exact(void **state)
{
	const char *argv[] = { "/usr/bin/env", NULL };
	const char *env[] = { "A=1", "B=two words", NULL };
	struct proc_opts opts = PROC_OPTS_INIT;
	struct proc_result res = PROC_RESULT_INIT;

	(void)state;
	setenv("GIT_DIR", "/should/not/leak", 1);
	opts.argv = argv;
	opts.env = env;
	opts.capture_cap = CAP;
	assert_ok(proc_run(&res, &opts));
	assert_string_equal(res.output, "A=1\nB=two words\n");
	proc_result_release(&res);

	opts.env = NULL;
	assert_ok(proc_run(&res, &opts));
	assert_string_equal(res.output, "");
	proc_result_release(&res);
	unsetenv("GIT_DIR");
}

static void test_proc__safe_env(void **state)
{
	const char *argv[] = { "/usr/bin/env", NULL };
	const char *extra[] = { "PUSHGATE_REF=refs/heads/main", NULL };
	struct strvec env = STRVEC_INIT;
	struct proc_opts opts = PROC_OPTS_INIT;
	struct proc_result res = PROC_RESULT_INIT;
	char *old_home = getenv("HOME") ? xstrdup(getenv("HOME")) : NULL;
	char *old_lang = getenv("LANG") ? xstrdup(getenv("LANG")) : NULL;

	(void)state;
	setenv("GIT_DIR", ".", 1);
	setenv("GIT_QUARANTINE_PATH", "/x", 1);
	setenv("SSH_AUTH_SOCK", "/tmp/agent", 1);
	setenv("HOME", "/home/deploy", 1);
	setenv("LANG", "C.UTF-8", 1);
	proc_safe_env(&env, extra);
	assert_int_equal(env.nr, 4);
	assert_string_equal(env.v[0], "PATH=/usr/local/bin:/usr/bin:/bin");
	assert_string_equal(env.v[1], "HOME=/home/deploy");
	assert_string_equal(env.v[2], "LANG=C.UTF-8");
	assert_string_equal(env.v[3], "PUSHGATE_REF=refs/heads/main");
	assert_null(env.v[4]);

	opts.argv = argv;
	opts.env = (const char *const *)env.v;
	opts.capture_cap = CAP;
	assert_ok(proc_run(&res, &opts));
	assert_string_equal(res.output,
			    "PATH=/usr/local/bin:/usr/bin:/bin\n"
			    "HOME=/home/deploy\n"
			    "LANG=C.UTF-8\n"
			    "PUSHGATE_REF=refs/heads/main\n");
	proc_result_release(&res);
	strvec_clear(&env);

	/* Unset ones are left out. */
	unsetenv("HOME");
	unsetenv("LANG");
	proc_safe_env(&env, NULL);
	assert_int_equal(env.nr, 1);
	strvec_clear(&env);

	unsetenv("GIT_DIR");
	unsetenv("GIT_QUARANTINE_PATH");
	unsetenv("SSH_AUTH_SOCK");
	if (old_home)
		setenv("HOME", old_home, 1);
	if (old_lang)
		setenv("LANG", old_lang, 1);
	free(old_home);
	free(old_lang);
}

static void test_proc__cwd(void **state)
{
	const char *argv[] = { "/bin/pwd", NULL };
	struct proc_opts opts = PROC_OPTS_INIT;
	struct proc_result res = PROC_RESULT_INIT;
	char *real = realpath(dir, NULL);
	char want[PATH_MAX + 2];

	(void)state;
	assert_non_null(real);
	snprintf(want, sizeof(want), "%s\n", real);
	opts.argv = argv;
	opts.cwd = dir;
	opts.capture_cap = CAP;
	assert_ok(proc_run(&res, &opts));
	assert_string_equal(res.output, want);
	proc_result_release(&res);
	free(real);

	opts.cwd = "/nonexistent";
	assert_int_equal(proc_run(&res, &opts), ERR_SYS);
	assert_string_equal(error_last(), "cannot run '/bin/pwd' in "
			    "'/nonexistent': No such file or directory");
	assert_null(res.output);
}

static void test_proc__exec_failure(void **state)
{
	const char *missing[] = { "/nonexistent/prog", NULL };
	char path[300];
	const char *notexec[] = { path, NULL };
	const char *relative[] = { "sh", "-c", "true", NULL };
	const char *empty[] = { NULL };
	struct proc_opts opts = PROC_OPTS_INIT;
	struct proc_result res = PROC_RESULT_INIT;

	(void)state;
	opts.argv = missing;
	assert_int_equal(proc_run(&res, &opts), ERR_SYS);
	assert_string_equal(error_last(), "cannot run '/nonexistent/prog': "
			    "No such file or directory");
	assert_null(res.output);

	/* Not executable. */
	snprintf(path, sizeof(path), "%s/script", dir);
	assert_ok(fsutil_write_file_atomic(path, "#!/bin/sh\n", 10, 0600));
	opts.argv = notexec;
	assert_int_equal(proc_run(&res, &opts), ERR_SYS);
	assert_non_null(strstr(error_last(), "Permission denied"));

	opts.argv = relative;
	assert_int_equal(proc_run(&res, &opts), ERR_INVALID);
	opts.argv = empty;
	assert_int_equal(proc_run(&res, &opts), ERR_INVALID);
}

static void test_proc__child_setup(void **state)
{
	const char *grep[] = { "/bin/grep", "-E", "^Sig(Blk|Ign)",
			       "/proc/self/status", NULL };
	struct proc_opts opts = PROC_OPTS_INIT;
	struct proc_result res = PROC_RESULT_INIT;
	struct sigaction ign, old_int;
	sigset_t block, old_mask;
	char fds[64], stdin_path[64];
	long pgid, pid;
	int fd;

	(void)state;
	/* An inherited fd, an ignored and a blocked signal. */
	fd = open("/dev/null", O_RDONLY);
	assert_true(fd > 2);
	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	assert_int_equal(sigaction(SIGINT, &ign, &old_int), 0);
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	assert_int_equal(sigprocmask(SIG_BLOCK, &block, &old_mask), 0);

	/* No pipeline: the shell must hold no pipe while ls looks. */
	assert_ok(run_sh(&res, "ls /proc/$$/fd; readlink /proc/$$/fd/0; "
			 "cut -d' ' -f5 /proc/$$/stat; echo $$", 0));
	/* Only 0, 1 and 2 are open, stdin is /dev/null, pgid == pid. */
	assert_int_equal(sscanf(res.output,
				"%63[0-9\n]%63[^\n]\n%ld\n%ld",
				fds, stdin_path, &pgid, &pid), 4);
	assert_string_equal(fds, "0\n1\n2\n");
	assert_string_equal(stdin_path, "/dev/null");
	assert_int_equal(pgid, pid);
	proc_result_release(&res);

	opts.argv = grep;
	opts.capture_cap = CAP;
	assert_ok(proc_run(&res, &opts));
	{
		unsigned long long blk, ignored;

		/*
		 * Signals 1-31 only: glibc reserves 32 and 33 and refuses to
		 * change them, so an environment that ignores them (some
		 * sandboxes do) passes that on to every process.
		 */
		assert_int_equal(sscanf(res.output,
					"SigBlk:\t%llx\nSigIgn:\t%llx",
					&blk, &ignored), 2);
		assert_int_equal(blk & 0x7fffffffULL, 0);
		assert_int_equal(ignored & 0x7fffffffULL, 0);
	}
	proc_result_release(&res);

	sigprocmask(SIG_SETMASK, &old_mask, NULL);
	sigaction(SIGINT, &old_int, NULL);
	close(fd);
}

static void test_proc__timeout_kills_group(void **state)
{
	char script[512], pidfile[300];
	struct proc_result res = PROC_RESULT_INIT;
	long long start, took;
	pid_t bg;

	(void)state;
	snprintf(pidfile, sizeof(pidfile), "%s/pid", dir);
	snprintf(script, sizeof(script),
		 "/bin/sleep 30 & echo $! > '%s'; echo started; "
		 "/bin/sleep 30", pidfile);
	start = now_ms();
	assert_ok(run_sh(&res, script, 1));
	took = now_ms() - start;
	assert_true(res.timed_out);
	assert_int_equal(res.status, 128 + SIGTERM);
	assert_string_equal(res.output, "started\n");
	/* The children die on SIGTERM: no waiting out the grace period. */
	assert_true(took >= 1000);
	assert_true(took < 1000 + PROC_KILL_GRACE * 1000 - 500);
	proc_result_release(&res);

	bg = read_pidfile(pidfile);
	assert_true(wait_gone(bg, 5000));
}

static void test_proc__timeout_sigkill_after_grace(void **state)
{
	struct proc_result res = PROC_RESULT_INIT;
	long long start, took;

	(void)state;
	start = now_ms();
	assert_ok(run_sh(&res, "trap '' TERM; /bin/sleep 30", 1));
	took = now_ms() - start;
	assert_true(res.timed_out);
	assert_int_equal(res.status, 128 + SIGKILL);
	assert_true(took >= 1000 + PROC_KILL_GRACE * 1000);
	assert_true(took < 1000 + PROC_KILL_GRACE * 1000 + 2000);
	proc_result_release(&res);
}

static void test_proc__background_holding_pipe(void **state)
{
	char script[512], pidfile[300];
	struct proc_result res = PROC_RESULT_INIT;
	long long start, took;
	pid_t bg;

	(void)state;
	snprintf(pidfile, sizeof(pidfile), "%s/pid", dir);
	snprintf(script, sizeof(script),
		 "/bin/sleep 30 & echo $! > '%s'; echo done; exit 5",
		 pidfile);
	start = now_ms();
	assert_ok(run_sh(&res, script, 0));
	took = now_ms() - start;
	assert_false(res.timed_out);
	assert_int_equal(res.status, 5);
	assert_string_equal(res.output, "done\n");
	assert_true(took < PROC_DRAIN_TIME * 1000 + 1500);
	assert_true(res.output_held);
	proc_result_release(&res);

	/* Left holding our pipe, it was killed. */
	bg = read_pidfile(pidfile);
	assert_true(wait_gone(bg, 5000));

	/* The same under a (long) deadline. */
	start = now_ms();
	assert_ok(run_sh(&res, script, 60));
	took = now_ms() - start;
	assert_false(res.timed_out);
	assert_int_equal(res.status, 5);
	assert_true(took < PROC_DRAIN_TIME * 1000 + 1500);
	assert_true(res.output_held);
	proc_result_release(&res);
	bg = read_pidfile(pidfile);
	assert_true(wait_gone(bg, 5000));
}

/*
 * Open the FIFO `path` for writing once a reader has it open, waiting
 * up to `ms`; -1 if none came.
 */
static int open_fifo_writer(const char *path, int ms)
{
	long long end = now_ms() + ms;
	int fd;

	while ((fd = open(path, O_WRONLY | O_NONBLOCK)) < 0 &&
	       errno == ENXIO && now_ms() < end)
		poll(NULL, 0, 10);
	return fd;
}

/* Wait (bounded) until the file `path` holds exactly `text`. */
static bool wait_content(const char *path, const char *text, int ms)
{
	long long end = now_ms() + ms;
	struct buf b = BUF_INIT;
	bool same = false;
	int fd;

	while (!same && now_ms() < end) {
		buf_reset(&b);
		fd = open(path, O_RDONLY);
		if (fd >= 0) {
			same = buf_read_fd(&b, fd) == 0 && !strcmp(b.ptr, text);
			close(fd);
		}
		if (!same)
			poll(NULL, 0, 10);
	}
	buf_release(&b);
	return same;
}

static void test_proc__leave_running(void **state)
{
	char script[1024], pidfile[300], fifo[300], answer[300];
	const char *argv[] = { "/bin/sh", "-c", script, NULL };
	struct proc_opts opts = PROC_OPTS_INIT;
	struct proc_result res = PROC_RESULT_INIT;
	long long start, took;
	pid_t bg;
	int fd;

	(void)state;
	snprintf(pidfile, sizeof(pidfile), "%s/pid", dir);
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	snprintf(answer, sizeof(answer), "%s/answer", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	/*
	 * A process that holds our pipe, waits for a word from the test and
	 * writes it back to a file: only a live one can.
	 */
	snprintf(script, sizeof(script),
		 "(read x <'%s'; echo \"$x\" >'%s') & echo $! >'%s'; "
		 "echo done; exit 5", fifo, answer, pidfile);
	opts.argv = argv;
	opts.capture_cap = CAP;
	opts.timeout = 60;
	opts.leave_running = true;
	start = now_ms();
	assert_ok(proc_run(&res, &opts));
	took = now_ms() - start;
	assert_false(res.timed_out);
	assert_true(res.output_held);
	assert_int_equal(res.status, 5);
	assert_string_equal(res.output, "done\n");
	assert_true(took >= PROC_DRAIN_TIME * 1000);
	assert_true(took < PROC_DRAIN_TIME * 1000 + 1500);
	proc_result_release(&res);

	/* It was left running: it answers. */
	fd = open_fifo_writer(fifo, 5000);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "alive\n", 6), 6);
	close(fd);
	assert_true(wait_content(answer, "alive\n", 5000));
	bg = read_pidfile(pidfile);
	assert_true(wait_gone(bg, 5000));

	/* Without leave_running, it is killed before it can answer. */
	assert_int_equal(unlink(answer), 0);
	opts.leave_running = false;
	assert_ok(proc_run(&res, &opts));
	assert_true(res.output_held);
	assert_int_equal(res.status, 5);
	proc_result_release(&res);
	bg = read_pidfile(pidfile);
	assert_true(wait_gone(bg, 5000));
	assert_int_equal(open_fifo_writer(fifo, 0), -1);
	assert_int_equal(access(answer, F_OK), -1);
}

/* Output does not push the deadline back: it counts from the start. */
static void test_proc__timeout_counts_from_start(void **state)
{
	struct proc_result res = PROC_RESULT_INIT;
	long long start, took;

	(void)state;
	start = now_ms();
	assert_ok(run_sh(&res, "while :; do echo tick; /bin/sleep 0.2; done",
			 2));
	took = now_ms() - start;
	assert_true(res.timed_out);
	assert_false(res.output_held);
	assert_int_equal(res.status, 128 + SIGTERM);
	assert_true(took >= 2000);
	assert_true(took < 2000 + PROC_KILL_GRACE * 1000);
	assert_int_equal(strncmp(res.output, "tick\ntick\n", 10), 0);
	proc_result_release(&res);
}

static void test_proc__late_output_is_kept(void **state)
{
	struct proc_result res = PROC_RESULT_INIT;

	(void)state;
	/* A background writer that finishes soon after the child exits. */
	assert_ok(run_sh(&res, "(/bin/sleep 0.2; echo late) & echo early",
			 0));
	assert_string_equal(res.output, "early\nlate\n");
	assert_int_equal(res.status, 0);
	assert_false(res.output_held);
	proc_result_release(&res);
}

static void test_proc__detached_background_does_not_wait(void **state)
{
	char script[512], pidfile[300];
	struct proc_result res = PROC_RESULT_INIT;
	long long start;
	pid_t bg;

	(void)state;
	snprintf(pidfile, sizeof(pidfile), "%s/pid", dir);
	snprintf(script, sizeof(script),
		 "/bin/sleep 30 >/dev/null 2>&1 & echo $! > '%s'", pidfile);
	start = now_ms();
	assert_ok(run_sh(&res, script, 0));
	assert_true(now_ms() - start < PROC_DRAIN_TIME * 1000);
	assert_int_equal(res.status, 0);
	assert_false(res.output_held);
	proc_result_release(&res);
	bg = read_pidfile(pidfile);
	assert_int_equal(kill(bg, SIGKILL), 0);
	assert_true(wait_gone(bg, 5000));
}

static void test_proc__stdout_closed_early(void **state)
{
	struct proc_result res = PROC_RESULT_INIT;

	(void)state;
	/* EOF comes first; the exit status is still waited for. */
	assert_ok(run_sh(&res, "echo bye; exec >&- 2>&-; "
			 "/bin/sleep 0.3; exit 4", 0));
	assert_string_equal(res.output, "bye\n");
	assert_int_equal(res.status, 4);
	proc_result_release(&res);

	assert_ok(run_sh(&res, "exec >&- 2>&-; /bin/sleep 30", 1));
	assert_true(res.timed_out);
	assert_int_equal(res.status, 128 + SIGTERM);
	proc_result_release(&res);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_proc__exit_codes),
		T(test_proc__signal_status),
		T(test_proc__output_merged),
		T(test_proc__capture_cap),
		T(test_proc__streaming),
		T(test_proc__stdin),
		T(test_proc__env_exact),
		T(test_proc__safe_env),
		T(test_proc__cwd),
		T(test_proc__exec_failure),
		T(test_proc__child_setup),
		T(test_proc__timeout_kills_group),
		T(test_proc__timeout_sigkill_after_grace),
		T(test_proc__background_holding_pipe),
		T(test_proc__leave_running),
		T(test_proc__timeout_counts_from_start),
		T(test_proc__late_output_is_kept),
		T(test_proc__detached_background_does_not_wait),
		T(test_proc__stdout_closed_early),
#undef T
	};

	/*
	 * Become a subreaper so that processes orphaned by the tests are
	 * reparented to us, and wait_gone() can reap them whatever init
	 * does in this container.
	 */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
