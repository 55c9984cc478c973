#ifndef HOOKENV_H
#define HOOKENV_H

#include "buf.h"
#include "strvec.h"

/*
 * The PUSHGATE_* variables every command pushgate runs gets (SPEC §3):
 * build and test on the Git server, `before`, `after`, `healthcheck` and
 * `on_failure` on the hosts. Built in one place so that every command
 * sees the same names; a field left NULL is set to the empty string.
 */

struct hookenv {
	const char *env;	/* PUSHGATE_ENV: the environment, or NULL */
	const char *commit;	/* PUSHGATE_COMMIT: full commit id */
	const char *ref;	/* PUSHGATE_REF: the ref pushed or deployed */
	const char *release;	/* PUSHGATE_RELEASE: release (or checkout) dir */
	const char *previous;	/* PUSHGATE_PREVIOUS: the release left */
	const char *user;	/* PUSHGATE_USER: who pushed or asked */
};

#define HOOKENV_INIT { NULL, NULL, NULL, NULL, NULL, NULL }

/* Append "PUSHGATE_ENV=value" ... entries to `out` (for proc_run()). */
void hookenv_strvec(struct strvec *out, const struct hookenv *h);

/*
 * Append the same as shell assignments for a remote command line, every
 * value single-quoted, then "; export PUSHGATE_ENV ...; ". Check
 * buf_error(out) before using the line.
 */
void hookenv_shell(struct buf *out, const struct hookenv *h);

#endif
