#ifndef CONFIG_H
#define CONFIG_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strvec.h"
#include "window.h"

/*
 * hooks.ini, parsed and validated against the schema of SPEC §3 into a
 * read-only struct config. Every problem found is collected as one
 * "hooks.ini:LINE: message" string; a config with any problem is refused
 * as a whole (fail closed).
 */

/* Limits on what hooks.ini may hold. */
#define CONFIG_MAX_ENVS 64
#define CONFIG_MAX_WINDOWS 64
#define CONFIG_MAX_HOSTS 64
#define CONFIG_MAX_LIST 256	/* words in one list value */
#define CONFIG_MAX_VALUE 4096	/* bytes in one value */
#define CONFIG_MAX_ERRORS 100	/* errors kept; the rest are counted */
#define CONFIG_MAX_FILE (1024 * 1024)

/* How a release is assembled on a host from the live one (SPEC §9). */
enum config_incremental {
	CONFIG_INCREMENTAL_LINK = 0,	/* hard links to the live release */
	CONFIG_INCREMENTAL_COPY,	/* a real copy (reflinks if possible) */
	CONFIG_INCREMENTAL_OFF		/* every release sent whole */
};

/* [verify] signatures (SPEC §14): which commits must be signed. */
enum config_signatures {
	CONFIG_SIGNATURES_OFF = 0,
	CONFIG_SIGNATURES_TIPS,		/* the pushed tips */
	CONFIG_SIGNATURES_ALL		/* every new commit */
};

/* [verify] sandbox: Landlock for build and test (sandbox.h). */
enum config_sandbox {
	CONFIG_SANDBOX_AUTO = 0,	/* where the kernel offers it; else warn */
	CONFIG_SANDBOX_REQUIRED,	/* never run pushed code unconfined */
	CONFIG_SANDBOX_OFF
};

enum config_mode {
	CONFIG_MODE_AUTO = 0,
	CONFIG_MODE_MANUAL
};

/* One deploy target: `local`, or an SSH `user@host[:port]`. */
struct config_host {
	bool local;
	char *user;		/* NULL: the hook's own user name */
	char *host;		/* name or address, IPv6 without brackets */
	unsigned port;		/* from the entry, else the env's `port` */
	char *label;		/* as written in hooks.ini, for messages */
};

/*
 * What an environment deploys to: a release environment's commits become
 * releases on its `hosts`, which default to one `local` host (SPEC
 * §3-5); a GitOps environment's (SPEC §12, `gitops_remote` set) become
 * commits in a directory of a remote Git repository. A GitOps
 * environment has no `hosts`: its one target is the remote, which
 * `hosts` then holds (the SSH user, host and port of `gitops_remote`,
 * labelled with the whole value), so that the deploy engine, `check`
 * and `trust` treat it as one SSH target.
 */
enum config_env_kind {
	CONFIG_ENV_RELEASE = 0,
	CONFIG_ENV_GITOPS	/* `gitops_remote` set (SPEC §12) */
};

/* One [environment "NAME"] section. Strings are NULL when unset. */
struct config_env {
	char *name;
	enum config_env_kind kind;	/* CONFIG_ENV_RELEASE, for now */
	char *branch;		/* short branch name, e.g. "main" */
	struct config_host *hosts;
	size_t nr_hosts;	/* >= 1; default one `local` host */
	char *path;		/* absolute deploy root */
	char *identity;
	char *known_hosts;	/* always set: default resolved at load */
	unsigned port;		/* default 22 */
	enum config_mode mode;
	struct strvec requires;	/* names of other environments */
	struct strvec approvers;
	char *artifact;		/* relative, default "." */
	char *config_dir;	/* the `config` key: relative dir or NULL */
	struct strvec shared;	/* relative paths; "dir/" or "file" */
	unsigned keep;		/* default 5 */
	enum config_incremental incremental;	/* default link */
	bool maintenance;
	char *before;
	char *after;
	char *healthcheck;
	unsigned healthcheck_retries;	/* default 3 */
	char *on_failure;
	unsigned connect_timeout;	/* default 10 */
	unsigned command_timeout;	/* default 600 */
	bool compress;		/* SSH transport compression (SPEC §9) */
	/* fleets (SPEC §11) */
	unsigned parallel;	/* hosts prepared at once, default 8 */
	unsigned batch;		/* hosts switched at once; 0: all */
	bool canary;		/* the first host switches alone, first */
	unsigned batch_pause;	/* seconds between healthy batches */
	char *primary;		/* as written; NULL: the first host */
	size_t primary_index;	/* its index in `hosts` */
	char *before_once;	/* on the primary, before the first switch */
	char *after_once;	/* on the primary, after the last batch */
	/* GitOps (SPEC §12) */
	char *gitops_remote;	/* as written; NULL: a release environment */
	char *gitops_repo;	/* its repository path on the server */
	char *gitops_branch;	/* default "main" */
	char *gitops_path;	/* the directory pushgate owns there */
	/* [core]'s notify keys, when the environment sets its own */
	char *notify;		/* NULL: [core]'s */
	struct strvec notify_on;	/* empty: [core]'s */
	unsigned notify_timeout;	/* 0: [core]'s */
	unsigned line;		/* line of the section header */
};

struct config {
	bool present;		/* false: no hooks.ini (no rules at all) */

	/* [core] */
	struct strvec user_vars;	/* default: SPEC §3 list */
	unsigned lock_timeout;		/* default 600 */
	unsigned artifacts_keep;	/* default 10 */
	/* notifications (SPEC §14); an environment may override each */
	char *notify;			/* a shell command, or NULL */
	struct strvec notify_on;	/* events; default SPEC §14 list */
	unsigned notify_timeout;	/* seconds, default 10 */
	/* a directory the status page is copied into (SPEC §15), or NULL */
	char *status_page;

	/* [verify] */
	struct strvec protected_branches;	/* globs */
	bool protect_tags;
	char *commit_message;		/* the regex text, or NULL */
	bool has_commit_re;
	regex_t commit_re;		/* REG_EXTENDED | REG_NOSUB */
	uint64_t max_file_size;		/* 0: no limit */
	struct strvec forbid_paths;	/* globs */
	/* entries a tree may have (tested, deployed, pushed as a tip) */
	unsigned max_entries;		/* default 1000000 */
	char *build;
	char *test;
	unsigned test_timeout;		/* default 900 */
	unsigned push_timeout;		/* all of pre-receive, default 1800 */
	struct strvec test_branches;	/* globs */
	enum config_signatures signatures;	/* default off */
	char *allowed_signers;		/* path, or NULL */
	enum config_sandbox sandbox;		/* default auto */
	struct strvec sandbox_hide;		/* absolute paths */
	struct strvec sandbox_write;		/* absolute paths */

	struct config_env *envs;
	size_t nr_envs;

	struct config_window *windows;
	size_t nr_windows;
};

/*
 * Set every field to its default (as if hooks.ini were empty). Nothing
 * needs freeing afterwards: a field that holds its default shares it
 * with every other config (the defaults are built once per process, from
 * the texts config_key() shows), and config_release() knows not to free
 * it.
 */
void config_init(struct config *cfg);

/*
 * Load `path`. A missing file is not an error: *cfg gets the defaults and
 * present = false. The file is opened without following symlinks and must
 * be a regular file owned by the current user or root and not writable by
 * group or others. On any problem returns ERR_INVALID and appends one
 * "hooks.ini:LINE: message" per problem to `errors` (LINE is 0 when the
 * problem is the file itself); *cfg is then released. ERR_SYS if the file
 * cannot be read.
 */
/*
 * One [window "NAME"] section (SPEC §13): the values as written, and the
 * window they make (window.h), built when hooks.ini is loaded.
 */
struct config_window {
	char *name;
	struct strvec environments;	/* names, each an environment */
	char *kind, *start, *end, *duration, *from, *until, *timezone;
	char *manual, *message;
	struct window w;
	unsigned line;		/* line of the section header */
};

int config_load(struct config *cfg, const char *path, struct strvec *errors);

/* Same as config_load() on text already in memory (the unit tests). */
int config_parse_string(struct config *cfg, const char *text,
			struct strvec *errors);

/* Free everything; `cfg` is left initialised with the defaults. */
void config_release(struct config *cfg);

/* The environment named `name`, or NULL. Borrowed from cfg. */
const struct config_env *config_env_find(const struct config *cfg,
					 const char *name);

/* The environment deployed from branch `branch` (short name), or NULL. */
const struct config_env *config_env_for_branch(const struct config *cfg,
					       const char *branch);

/*
 * Sizes: digits with an optional K, M or G suffix (powers of 1024, either
 * case). ERR_INVALID on anything else or on overflow.
 */
int config_parse_size(const char *s, uint64_t *out);

/* True if `s` matches one of the fnmatch(3) globs (flags 0). */
bool config_globs_match(const struct strvec *globs, const char *s);

/* One key of the schema, as config_key() shows it. Borrowed strings. */
struct config_key_info {
	const char *section;	/* "core", "verify", "environment" */
	bool section_named;	/* written [SECTION "NAME"], many of them */
	const char *name;	/* "lock_timeout" */
	/*
	 * The default, written as in hooks.ini ("600", "false", "auto", ".",
	 * "~/.ssh/known_hosts"), or NULL when the key has none: empty, unset
	 * or, with `required`, one the section must set.
	 */
	const char *default_text;
	bool required;
};

/*
 * Fill *out with key `i` of the schema (0 first, in the order of SPEC
 * §3). Returns false, leaving *out alone, when there is no key `i`:
 *
 *	for (i = 0; config_key(i, &k); i++)
 */
bool config_key(size_t i, struct config_key_info *out);

/*
 * The notification settings that apply to `env` (its own, else
 * [core]'s): the command (NULL: none), whether `event` ("deployed",
 * "failed", "rolled-back", "rollback", "held", "skipped") is one it is
 * run for, and its timeout in seconds.
 */
const char *config_notify_command(const struct config *cfg,
				  const struct config_env *env);
bool config_notify_wants(const struct config *cfg,
			 const struct config_env *env, const char *event);
unsigned config_notify_timeout(const struct config *cfg,
			       const struct config_env *env);

/*
 * The windows of environment `env`, at most `max` of them into `out` (in
 * the order of hooks.ini). Returns how many apply.
 */
size_t config_env_windows(const struct config *cfg,
			  const struct config_env *env,
			  const struct window **out, size_t max);

#endif
