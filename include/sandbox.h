#ifndef SANDBOX_H
#define SANDBOX_H

#include <stdbool.h>
#include <stddef.h>

/*
 * A Landlock sandbox for the pushed code that `build` and `test` run.
 * Inside it a process may read and execute the whole system except the
 * hidden paths (the repository, the SSH identities and known_hosts files,
 * the hook user's ~/.ssh, `sandbox_hide`), write only the writable
 * directories (its checkout and a private temporary directory) and a few
 * devices (/dev/null and friends, /dev/shm), connect over TCP to any port
 * but the closed ones (the deploy hosts' SSH ports), and neither signal
 * nor ptrace a process outside the sandbox, nor reach an abstract UNIX
 * socket outside it.
 *
 * Landlock rules are an allow list: a hidden path is left out by granting
 * reading to each of its siblings, then to its parent's siblings, and so
 * on up to the root. So the directories on the way to a hidden path cannot
 * be listed, and what appears in them after the sandbox was built cannot
 * be read.
 *
 * The rules are built in the parent (sandbox_prepare) and applied in the
 * child between fork() and execve() (sandbox_enter), so that a build or
 * test never runs unconfined because of a late failure.
 */

/* Landlock ABI versions with the features we use. */
#define SANDBOX_ABI_NET 4	/* TCP connect rules */
#define SANDBOX_ABI_SCOPE 6	/* signal and abstract socket scoping */

/* Rules one sandbox may hold (entries beside the hidden paths). */
#define SANDBOX_MAX_RULES 100000

struct sandbox {
	int fs_fd;		/* ruleset for files and scopes, or -1 */
	int net_fd;		/* ruleset for TCP connects, or -1 */
	int abi;		/* the kernel's Landlock ABI; 0: none */
	size_t nr_rules;	/* rules in fs_fd (for the benchmark) */
};

#define SANDBOX_INIT { -1, -1, 0, 0 }

struct sandbox_opts {
	const char *const *writable;	/* NULL-terminated absolute dirs */
	const char *const *hidden;	/* NULL-terminated absolute paths */
	const unsigned *closed_ports;	/* TCP ports not to connect to */
	size_t nr_closed_ports;
};

#define SANDBOX_OPTS_INIT { NULL, NULL, NULL, 0 }

/*
 * The kernel's Landlock ABI version (1 or more), or 0 when Landlock is
 * not built in or not enabled. Asked once per process.
 */
int sandbox_abi(void);

/*
 * Build the rules. Returns ERR_NOTFOUND (nothing to release) when the
 * kernel has no Landlock, ERR_SYS when a rule could not be built, and
 * ERR_TOOBIG past SANDBOX_MAX_RULES. Hidden paths that do not exist are
 * skipped; a writable one must exist. TCP rules need SANDBOX_ABI_NET
 * (sb->net_fd stays -1 below it, or without closed ports).
 */
int sandbox_prepare(struct sandbox *sb, const struct sandbox_opts *opts);

/*
 * In a child, between fork() and execve(): confine this process (and
 * everything it starts) for good. Async-signal-safe. Returns 0, or -1
 * with errno set. A sandbox without rules (fs_fd -1) does nothing.
 */
int sandbox_enter(const struct sandbox *sb);

/* Close the rules; `sb` is left initialised. */
void sandbox_release(struct sandbox *sb);

/* Does the sandbox hold any rules (will sandbox_enter() confine)? */
bool sandbox_active(const struct sandbox *sb);

#endif
