#ifndef PROC_H
#define PROC_H

#include <stdbool.h>
#include <stddef.h>

#include "strvec.h"

struct sandbox;

/*
 * One local child process: an absolute argv, an explicit environment (the
 * caller's environment is never passed on), a working directory, stdin
 * from /dev/null or fed from a buffer, stdout and stderr merged and either
 * streamed to a callback or captured up to a cap, a deadline counted from
 * the start to the child's exit, and its own process group, killed whole
 * (SIGTERM, then SIGKILL after a grace period) when the deadline passes.
 */

/* Seconds between SIGTERM and SIGKILL on timeout. */
#define PROC_KILL_GRACE 2

/*
 * Seconds we keep reading after the child itself exited while processes
 * it started (in its group) still hold the output pipe open. Then we
 * stop reading, so that a backgrounded daemon cannot hang the caller
 * (result.output_held), and kill the group unless opts.leave_running.
 */
#define PROC_DRAIN_TIME 1

/* Receives the child's output as it arrives (not split into lines). */
typedef void (*proc_output_fn)(const char *data, size_t len, void *payload);

struct proc_opts {
	const char *const *argv;	/* argv[0] is an absolute path */
	const char *const *env;		/* NULL-terminated; NULL = empty */
	const char *cwd;		/* NULL: inherit */
	const char *input;		/* fed to stdin; NULL: /dev/null */
	size_t input_len;
	unsigned timeout;		/* seconds; 0 = none */
	proc_output_fn on_output;	/* NULL: capture (or discard) */
	void *payload;
	size_t capture_cap;		/* bytes kept in result.output */
	/*
	 * Processes the child started and left holding the output are not
	 * killed when the drain ends (a daemon an operator's command starts
	 * on purpose); only a timeout kills the group. Without it they are.
	 */
	bool leave_running;
	/* confines the child (sandbox.h); NULL or without rules: none */
	const struct sandbox *sandbox;
};

#define PROC_OPTS_INIT \
	{ NULL, NULL, NULL, NULL, 0, 0, NULL, NULL, 0, false, NULL }

struct proc_result {
	int status;		/* exit code, or 128 + signal number */
	bool timed_out;		/* the deadline passed; group killed */
	char *output;		/* captured output (NUL-terminated) or NULL */
	size_t output_len;
	bool truncated;		/* output went past capture_cap */
	/*
	 * The child exited, but a process it started still held the output
	 * open PROC_DRAIN_TIME later: we stopped reading there (status is
	 * the child's own).
	 */
	bool output_held;
};

#define PROC_RESULT_INIT { 0, false, NULL, 0, false, false }

/*
 * Run the child to completion. Returns 0 when it ran (whatever its exit
 * status: see result->status, result->timed_out and result->output_held),
 * ERR_SYS when it could not be started (exec failure is reported from the
 * child through a close-on-exec pipe). When the call returns, no process
 * of the child's process group is left running if it timed out, nor, if
 * the output was held and opts->leave_running is false, any that held it.
 */
int proc_run(struct proc_result *result, const struct proc_opts *opts);

/*
 * For the CLI: SIGINT, SIGTERM and SIGHUP no longer kill us; they are
 * remembered, and a running (or next) proc_run() stops its child's
 * process group and fails with "interrupted", so that the caller can
 * clean up (temporary checkouts) before it exits.
 */
void proc_catch_signals(void);

/* The signal caught since, or 0. */
int proc_interrupted(void);

/*
 * For worker processes that their parent drives: ignore those signals
 * (and forget one caught), so that what the parent started finishes.
 */
void proc_ignore_signals(void);

/* Free the captured output; the result is left initialised. */
void proc_result_release(struct proc_result *result);

/*
 * The environment for commands that run pushed code (build, test):
 * PATH (a fixed safe value), HOME, LANG from ours if set and `extra`
 * does not set them, and `extra` entries ("NAME=value", e.g. PUSHGATE_*). Never SSH_AUTH_SOCK or GIT_*,
 * except GIT_CEILING_DIRECTORIES (which keeps git in a checkout from
 * finding the repository around it).
 */
void proc_safe_env(struct strvec *out, const char *const *extra);

#endif
