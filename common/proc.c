#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "errors.h"
#include "sandbox.h"
#include "timeutil.h"

#define SAFE_PATH "PATH=/usr/local/bin:/usr/bin:/bin"

/* Without a pidfd: how often (ms) to check whether the child exited. */
#define EXIT_TICK_MS 50

/* Bytes read from the output pipe, or written to stdin, at a time. */
#define CHUNK_SIZE 16384

/* Highest fd closed one by one in the child if close_range() fails. */
#define MAX_FD_LOOP (1 << 20)

/* What the child sends back over the close-on-exec pipe on failure. */
enum child_stage {
	STAGE_SETUP,
	STAGE_CHDIR,
	STAGE_SANDBOX,
	STAGE_EXEC
};

struct child_error {
	int stage;
	int err;
};

/* Everything the child needs, prepared before fork(). */
struct child_args {
	const char *path;
	char *const *argv;
	char *const *envp;
	const char *cwd;
	int in_fd;
	int out_fd;
	int err_fd;
	int max_fd;
	const struct sandbox *sandbox;	/* NULL: none */
	struct sigaction dfl;
	sigset_t empty;
};

/* The parent's side of one run. */
struct run {
	const struct proc_opts *opts;
	struct proc_result *result;
	struct buf capture;
	pid_t pid;
	int pidfd;		/* -1 if pidfd_open() is unavailable */
	int out_fd;		/* read end of the output pipe, or -1 */
	int in_fd;		/* write end of the stdin pipe, or -1 */
	size_t in_off;		/* bytes of input written so far */
	bool exited;		/* the child exited; not reaped yet */
	bool kill_group;	/* SIGKILL the group before reaping */
};


static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/*
 * The child's fds must not be 0, 1 or 2 (possible when our own stdio is
 * closed), or dup2() onto them would keep FD_CLOEXEC.
 */
static int move_high(int *fd)
{
	int nfd;

	if (*fd > 2)
		return 0;
	nfd = fcntl(*fd, F_DUPFD_CLOEXEC, 3);
	if (nfd < 0)
		return error_set_errno(ERR_SYS, "cannot duplicate fd");
	close(*fd);
	*fd = nfd;
	return 0;
}

static int set_nonblock(int fd)
{
	int flags = fcntl(fd, F_GETFL);

	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return error_set_errno(ERR_SYS, "cannot set up a pipe");
	return 0;
}

static int max_fd(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur > MAX_FD_LOOP)
		return MAX_FD_LOOP;
	return (int)rl.rlim_cur;
}

/* In the child: report what failed and why, then exit. */
__attribute__((noreturn))
static void child_fail(int err_fd, int stage)
{
	struct child_error ce = { stage, errno };

	while (write(err_fd, &ce, sizeof(ce)) < 0 && errno == EINTR)
		;
	_exit(127);
}

/*
 * In the child, between fork() and execve(): async-signal-safe calls
 * only, nothing allocated.
 */
__attribute__((noreturn))
static void run_child(const struct child_args *ca)
{
	int fd, sig;

	if (setpgid(0, 0) < 0)
		child_fail(ca->err_fd, STAGE_SETUP);
	/* first: the sandbox's rules are fds that close_range() closes */
	if (ca->sandbox && sandbox_enter(ca->sandbox) < 0)
		child_fail(ca->err_fd, STAGE_SANDBOX);
	if (dup2(ca->in_fd, 0) < 0 || dup2(ca->out_fd, 1) < 0 ||
	    dup2(ca->out_fd, 2) < 0)
		child_fail(ca->err_fd, STAGE_SETUP);
	/* Keep the error pipe as fd 3, close-on-exec, and close the rest. */
	if (ca->err_fd != 3 && dup2(ca->err_fd, 3) < 0)
		child_fail(ca->err_fd, STAGE_SETUP);
	if (fcntl(3, F_SETFD, FD_CLOEXEC) < 0)
		child_fail(3, STAGE_SETUP);
	if (close_range(4, ~0U, 0) < 0)
		for (fd = 4; fd < ca->max_fd; fd++)
			close(fd);
	for (sig = 1; sig < NSIG; sig++)
		sigaction(sig, &ca->dfl, NULL);	/* fails for KILL, STOP */
	if (sigprocmask(SIG_SETMASK, &ca->empty, NULL) < 0)
		child_fail(3, STAGE_SETUP);
	if (ca->cwd && chdir(ca->cwd) < 0)
		child_fail(3, STAGE_CHDIR);
	execve(ca->path, ca->argv, ca->envp);
	child_fail(3, STAGE_EXEC);
}

/*
 * Wait for the child to exec: the close-on-exec pipe reads EOF on
 * success, or the child's struct child_error.
 */
static int read_child_error(int fd, const struct proc_opts *opts)
{
	struct child_error ce;
	ssize_t n;

	do
		n = read(fd, &ce, sizeof(ce));
	while (n < 0 && errno == EINTR);
	if (!n)
		return 0;
	if (n != (ssize_t)sizeof(ce))
		return error_set(ERR_SYS, "cannot run '%s'", opts->argv[0]);
	errno = ce.err;
	if (ce.stage == STAGE_CHDIR)
		return error_set_errno(ERR_SYS, "cannot run '%s' in '%s'",
				       opts->argv[0], opts->cwd);
	if (ce.stage == STAGE_SANDBOX)
		return error_set_errno(ERR_SYS, "cannot run '%s' in the "
				       "sandbox", opts->argv[0]);
	if (ce.stage == STAGE_SETUP)
		return error_set_errno(ERR_SYS, "cannot run '%s': child setup",
				       opts->argv[0]);
	return error_set_errno(ERR_SYS, "cannot run '%s'", opts->argv[0]);
}

static int open_pidfd(pid_t pid)
{
#ifdef SYS_pidfd_open
	/* The kernel sets close-on-exec on pidfds. */
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	(void)pid;
	return -1;
#endif
}

/* Note (without reaping it, so its pid stays ours) if the child exited. */
static int check_exited(struct run *run)
{
	siginfo_t info;

	for (;;) {
		memset(&info, 0, sizeof(info));
		if (!waitid(P_PID, (id_t)run->pid, &info,
			    WEXITED | WNOHANG | WNOWAIT))
			break;
		if (errno != EINTR)
			return error_set_errno(ERR_SYS,
					       "cannot wait for '%s'",
					       run->opts->argv[0]);
	}
	if (info.si_pid == run->pid)
		run->exited = true;
	return 0;
}

static void deliver(struct run *run, const char *data, size_t len)
{
	const struct proc_opts *opts = run->opts;
	size_t room = run->capture.cap - run->capture.len;

	if (opts->on_output) {
		opts->on_output(data, len, opts->payload);
		return;
	}
	if (len > room) {
		run->result->truncated = true;
		len = room;
	}
	if (len && buf_add(&run->capture, data, len) < 0)
		BUG("capture past its cap");
}

static int read_output(struct run *run)
{
	char chunk[CHUNK_SIZE];
	ssize_t n = read(run->out_fd, chunk, sizeof(chunk));

	if (n < 0) {
		if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		return error_set_errno(ERR_SYS, "cannot read from '%s'",
				       run->opts->argv[0]);
	}
	if (!n)
		close_fd(&run->out_fd);
	else
		deliver(run, chunk, (size_t)n);
	return 0;
}

/* A child that stops reading its input (EPIPE) is not an error. */
static int feed_input(struct run *run)
{
	const struct proc_opts *opts = run->opts;
	size_t left = opts->input_len - run->in_off;
	ssize_t n;

	n = write(run->in_fd, opts->input + run->in_off,
		  left < CHUNK_SIZE ? left : CHUNK_SIZE);
	if (n < 0) {
		if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		if (errno == EPIPE) {
			close_fd(&run->in_fd);
			return 0;
		}
		return error_set_errno(ERR_SYS, "cannot write to '%s'",
				       opts->argv[0]);
	}
	run->in_off += (size_t)n;
	if (run->in_off == opts->input_len)
		close_fd(&run->in_fd);
	return 0;
}

static long long min_time(long long a, long long b)
{
	if (a < 0)
		return b;
	if (b < 0)
		return a;
	return a < b ? a : b;
}

/*
 * After the child's own exit, processes it started still hold the output
 * pipe: stop reading, and have the caller kill the group unless they are
 * to be left running.
 */
static int drain_cut(struct run *run)
{
	run->result->output_held = true;
	if (!run->opts->leave_running)
		run->kill_group = true;
	return 0;
}

/*
 * Pump the pipes until the child has exited and its output reached EOF,
 * with these bounds:
 * - the deadline: SIGTERM to the group, then up to PROC_KILL_GRACE
 *   seconds of draining before the caller sends SIGKILL;
 * - after the child's own exit, processes it left behind may hold the
 *   output pipe open: drain it for at most PROC_DRAIN_TIME seconds (and
 *   not past the deadline), then drain_cut().
 * Times are absolute milliseconds on CLOCK_MONOTONIC, -1 for none.
 */
/* The signal that asked us to stop (proc_catch_signals()), or 0. */
static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig)
{
	interrupted = sig;
}

void proc_catch_signals(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_interrupt;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

void proc_ignore_signals(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	size_t i;

	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], SIG_IGN);
	interrupted = 0;
}

int proc_interrupted(void)
{
	return interrupted;
}

static int pump(struct run *run)
{
	const struct proc_opts *opts = run->opts;
	long long deadline = -1, drain_end = -1;
	bool grace = false;
	int r;

	if (opts->timeout)
		deadline = timeutil_now_ms() + (long long)opts->timeout * 1000;
	for (;;) {
		struct pollfd pfd[3];
		int out_i = -1, in_i = -1;
		long long now, until;
		nfds_t n = 0;
		int ms;

		if (interrupted && !run->exited) {
			/* stop the child's whole group, as on a timeout */
			kill(-run->pid, SIGTERM);
			kill(-run->pid, SIGCONT);
			run->kill_group = true;
			return error_set(ERR_GENERIC, "interrupted by signal %d",
					 (int)interrupted);
		}
		if (!run->exited && (r = check_exited(run)) < 0)
			return r;
		if (run->exited) {
			close_fd(&run->in_fd);
			if (run->out_fd < 0)
				return 0;
		}
		now = timeutil_now_ms();
		if (run->exited && !grace && drain_end < 0)
			drain_end = now + PROC_DRAIN_TIME * 1000;
		if (deadline >= 0 && now >= deadline) {
			if (grace) {
				run->kill_group = true;
				return 0;
			}
			/*
			 * Past the deadline after the child's own exit is
			 * only a cut drain, not a timeout.
			 */
			if (run->exited)
				return drain_cut(run);
			run->kill_group = true;
			run->result->timed_out = true;
			kill(-run->pid, SIGTERM);
			kill(-run->pid, SIGCONT);	/* if stopped */
			close_fd(&run->in_fd);
			grace = true;
			deadline = now + PROC_KILL_GRACE * 1000;
			continue;
		}
		if (drain_end >= 0 && now >= drain_end)
			return drain_cut(run);

		if (run->out_fd >= 0) {
			out_i = (int)n;
			pfd[n].fd = run->out_fd;
			pfd[n++].events = POLLIN;
		}
		if (run->in_fd >= 0) {
			in_i = (int)n;
			pfd[n].fd = run->in_fd;
			pfd[n++].events = POLLOUT;
		}
		if (!run->exited && run->pidfd >= 0) {
			pfd[n].fd = run->pidfd;
			pfd[n++].events = POLLIN;
		}
		until = min_time(deadline, drain_end);
		if (!run->exited && run->pidfd < 0)
			until = min_time(until, now + EXIT_TICK_MS);
		ms = until < 0 ? -1 :
		     until - now > INT_MAX ? INT_MAX : (int)(until - now);

		if (poll(pfd, n, ms) < 0) {
			if (errno == EINTR)
				continue;
			return error_set_errno(ERR_SYS, "cannot run '%s': poll",
					       opts->argv[0]);
		}
		if (out_i >= 0 && pfd[out_i].revents &&
		    (r = read_output(run)) < 0)
			return r;
		if (in_i >= 0 && pfd[in_i].revents && run->in_fd >= 0 &&
		    (r = feed_input(run)) < 0)
			return r;
	}
}

/* Reap the child, retrying on EINTR. */
static int reap(pid_t pid, int *status, const char *name)
{
	while (waitpid(pid, status, 0) < 0)
		if (errno != EINTR)
			return error_set_errno(ERR_SYS, "cannot wait for '%s'",
					       name);
	return 0;
}

/*
 * Create the pipes; the child's ends go to `ca`, ours to `run`. All are
 * close-on-exec; the child's are moved above 2 and dup2()ed in place.
 */
static int make_pipes(struct run *run, struct child_args *ca, int *err_rd)
{
	const struct proc_opts *opts = run->opts;
	int p[2];
	int r;

	if (pipe2(p, O_CLOEXEC) < 0)
		return error_set_errno(ERR_SYS, "cannot create a pipe");
	run->out_fd = p[0];
	ca->out_fd = p[1];
	if (opts->input) {
		if (pipe2(p, O_CLOEXEC) < 0)
			return error_set_errno(ERR_SYS, "cannot create a pipe");
		ca->in_fd = p[0];
		run->in_fd = p[1];
		if ((r = set_nonblock(run->in_fd)) < 0)
			return r;
	} else {
		ca->in_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (ca->in_fd < 0)
			return error_set_errno(ERR_SYS,
					       "cannot open '/dev/null'");
	}
	if (pipe2(p, O_CLOEXEC) < 0)
		return error_set_errno(ERR_SYS, "cannot create a pipe");
	*err_rd = p[0];
	ca->err_fd = p[1];
	if ((r = set_nonblock(run->out_fd)) < 0 ||
	    (r = move_high(&ca->in_fd)) < 0 ||
	    (r = move_high(&ca->out_fd)) < 0 ||
	    (r = move_high(&ca->err_fd)) < 0)
		return r;
	return 0;
}

int proc_run(struct proc_result *result, const struct proc_opts *opts)
{
	static const char *const no_env[] = { NULL };
	struct child_args ca;
	struct run run;
	struct sigaction ign, old_pipe;
	sigset_t all, old_mask;
	bool pipe_ignored = false;
	int err_rd = -1;
	int r = 0, wstatus = 0;

	result->status = 0;
	result->timed_out = false;
	result->output = NULL;
	result->output_len = 0;
	result->truncated = false;
	result->output_held = false;
	if (!opts->argv || !opts->argv[0])
		return error_set(ERR_INVALID, "cannot run an empty command");
	if (opts->argv[0][0] != '/')
		return error_set(ERR_INVALID,
				 "cannot run '%s': not an absolute path",
				 opts->argv[0]);

	memset(&run, 0, sizeof(run));
	run.opts = opts;
	run.result = result;
	buf_init(&run.capture, opts->capture_cap);
	run.pid = -1;
	run.pidfd = run.out_fd = run.in_fd = -1;

	memset(&ca, 0, sizeof(ca));
	ca.path = opts->argv[0];
	/* execve() does not modify them; its prototype predates const. */
	ca.argv = (char *const *)opts->argv;
	ca.envp = (char *const *)(opts->env ? opts->env : no_env);
	ca.cwd = opts->cwd;
	ca.in_fd = ca.out_fd = ca.err_fd = -1;
	ca.max_fd = max_fd();
	ca.sandbox = opts->sandbox;
	ca.dfl.sa_handler = SIG_DFL;
	sigemptyset(&ca.dfl.sa_mask);
	sigemptyset(&ca.empty);

	if ((r = make_pipes(&run, &ca, &err_rd)) < 0)
		goto out;

	/* No handler of ours may run in the child before it resets them. */
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old_mask);
	run.pid = fork();
	if (!run.pid)
		run_child(&ca);
	if (run.pid < 0)
		r = error_set_errno(ERR_SYS, "cannot run '%s': fork",
				    opts->argv[0]);
	sigprocmask(SIG_SETMASK, &old_mask, NULL);
	if (r < 0)
		goto out;
	close_fd(&ca.in_fd);
	close_fd(&ca.out_fd);
	close_fd(&ca.err_fd);
	if ((r = read_child_error(err_rd, opts)) < 0)
		goto out;
	run.pidfd = open_pidfd(run.pid);

	if (run.in_fd >= 0) {
		memset(&ign, 0, sizeof(ign));
		ign.sa_handler = SIG_IGN;
		sigemptyset(&ign.sa_mask);
		if (sigaction(SIGPIPE, &ign, &old_pipe) < 0) {
			r = error_set_errno(ERR_SYS, "cannot ignore SIGPIPE");
			goto out;
		}
		pipe_ignored = true;
		if (!opts->input_len)
			close_fd(&run.in_fd);
	}
	r = pump(&run);

out:
	if (pipe_ignored)
		sigaction(SIGPIPE, &old_pipe, NULL);
	if (run.pid > 0) {
		/* Not reaped yet: the child's group id is still ours. */
		if (r < 0 || run.kill_group)
			kill(-run.pid, SIGKILL);
		if (reap(run.pid, &wstatus, opts->argv[0]) < 0 && !r)
			r = ERR_SYS;
	}
	close_fd(&run.pidfd);
	close_fd(&run.in_fd);
	close_fd(&run.out_fd);
	close_fd(&err_rd);
	close_fd(&ca.in_fd);
	close_fd(&ca.out_fd);
	close_fd(&ca.err_fd);
	if (!r) {
		if (WIFEXITED(wstatus))
			result->status = WEXITSTATUS(wstatus);
		else if (WIFSIGNALED(wstatus))
			result->status = 128 + WTERMSIG(wstatus);
		if (!opts->on_output)
			result->output = buf_detach(&run.capture,
						    &result->output_len);
	} else {
		result->timed_out = false;
		result->truncated = false;
		result->output_held = false;
	}
	buf_release(&run.capture);
	return r;
}

void proc_result_release(struct proc_result *result)
{
	free(result->output);
	result->status = 0;
	result->timed_out = false;
	result->output = NULL;
	result->output_len = 0;
	result->truncated = false;
	result->output_held = false;
}

/* Does `env` set variable `name`? */
static bool in_env(const char *const *env, const char *name)
{
	size_t len = strlen(name);

	for (; env && *env; env++)
		if (!strncmp(*env, name, len) && (*env)[len] == '=')
			return true;
	return false;
}

void proc_safe_env(struct strvec *out, const char *const *extra)
{
	static const char *const copied[] = { "HOME", "LANG" };
	size_t i;

	strvec_push(out, SAFE_PATH);
	for (i = 0; i < sizeof(copied) / sizeof(*copied); i++) {
		const char *v = getenv(copied[i]);

		if (v && !in_env(extra, copied[i]))
			strvec_pushf(out, "%s=%s", copied[i], v);
	}
	for (; extra && *extra; extra++) {
		const char *e = *extra;

		if (!strchr(e, '=') || *e == '=')
			BUG("proc_safe_env: bad entry '%s'", e);
		/* GIT_CEILING_DIRECTORIES only fences git in; it reveals nothing */
		if ((!strncmp(e, "GIT_", 4) &&
		     strncmp(e, "GIT_CEILING_DIRECTORIES=", 24)) ||
		    !strncmp(e, "SSH_AUTH_SOCK=", 14))
			BUG("proc_safe_env: '%s' is never passed on", e);
		strvec_push(out, e);
	}
}
