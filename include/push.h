#ifndef PUSH_H
#define PUSH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "strvec.h"

/*
 * What git hands the hooks: the "OLD NEW REF" lines on stdin, the push
 * options in GIT_PUSH_OPTION_*, and the pusher's identity from the
 * variables listed in [core] user_vars.
 */

#define PUSH_MAX_UPDATES 1000		/* ref updates in one push */
#define PUSH_MAX_LINE 1100		/* bytes in one update line */
#define PUSH_MAX_REFNAME 1000		/* libgit2 reads no longer names */
#define PUSH_MAX_OPTIONS 32		/* push options */
#define PUSH_MAX_OPTION_LEN 1024	/* bytes in one push option */
#define PUSH_HEX_LEN 40			/* SHA-1 object ids */
#define PUSH_MAX_USER 256

struct push_update {
	char old_hex[PUSH_HEX_LEN + 1];
	char new_hex[PUSH_HEX_LEN + 1];
	char *ref;		/* full name, e.g. refs/heads/main */
	bool is_create;		/* old is all zeros */
	bool is_delete;		/* new is all zeros */
};

struct push {
	struct push_update *updates;
	size_t nr;
	struct strvec options;	/* raw push options, in order */
	char *user;		/* the pusher, or NULL if unknown */
};

#define PUSH_INIT { NULL, 0, STRVEC_INIT, NULL }

/*
 * Parse the update lines in `data` (all of stdin). Each line must be
 * exactly "<40 hex> SP <40 hex> SP <refname> LF" with a refname that git
 * accepts. On a bad line returns ERR_INVALID with a message naming the
 * line number; ERR_TOOBIG past PUSH_MAX_UPDATES or PUSH_MAX_LINE.
 */
int push_parse(struct push *push, const char *data, size_t len);

/* Read all of `fp` (bounded) and push_parse() it. */
int push_read(struct push *push, FILE *fp);

/*
 * Read GIT_PUSH_OPTION_COUNT and GIT_PUSH_OPTION_<n> from the environment
 * into push->options. ERR_INVALID / ERR_TOOBIG past the caps.
 */
int push_read_options(struct push *push);

/* Set push->user from the first non-empty variable named in `vars`. */
void push_read_user(struct push *push, const struct strvec *vars);

/*
 * Who runs the CLI: the login name of the real uid (never an environment
 * variable, which anyone can set), or "uid N". The caller frees it.
 */
char *push_login_name(void);

/* True if the push carries the option `name` (exactly). */
bool push_has_option(const struct push *push, const char *name);

/* The short name of a branch ref ("main" for refs/heads/main) or NULL. */
const char *push_branch_name(const char *ref);

/*
 * The environment named by an approval ref, refs/deploy/ENV (SPEC §14:
 * `git push origin COMMIT:refs/deploy/ENV`), or NULL for any other ref.
 */
const char *push_deploy_env(const char *ref);

/* Free the updates, options and user; the push is left empty. */
void push_release(struct push *push);

#endif
