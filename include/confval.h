#ifndef CONFVAL_H
#define CONFVAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The grammar of single hooks.ini values, whatever key holds them:
 * booleans, numbers, sizes, words from a fixed set, branch names, paths,
 * globs, names, and `hosts` entries.
 *
 * A check returns 0, or ERR_INVALID with a message (error_last()) that
 * says what is wrong with the value and reads on after "invalid 'KEY': ",
 * such as "'maybe' is not a boolean (use true or false)". Text from the
 * value is echoed through confval_quote(), so the message is one line of
 * printable characters. Nothing here allocates.
 */

/* Longest piece of a value echoed in a message, in bytes. */
#define CONFVAL_QUOTE_MAX 64

/* Longest host name in a `hosts` entry (DNS). */
#define CONFVAL_HOST_MAX 253

/* Room for a quoted piece of a value (see confval_quote()). */
struct confval_quote {
	char s[CONFVAL_QUOTE_MAX + 4];
};

/*
 * `s` made safe to echo, in `q`: clipped to CONFVAL_QUOTE_MAX bytes
 * (then "..." is appended) with every control character shown as '?'.
 * Returns q->s.
 */
const char *confval_quote(struct confval_quote *q, const char *s);

/* True if `s` has a control character (a tab counts unless allow_tab). */
bool confval_has_ctl(const char *s, bool allow_tab);

/* true/yes/on/1 or false/no/off/0, in any case. */
int confval_bool(const char *s, bool *out);

/* Decimal digits only, from `min` to `max`. */
int confval_uint(const char *s, unsigned min, unsigned max, unsigned *out);

/*
 * Digits with an optional K, M or G suffix (powers of 1024, either case);
 * ERR_INVALID also on overflow, and on "" (the message is "empty size").
 */
int confval_size(const char *s, uint64_t *out);

/*
 * One of the `nr` words (exactly, case-sensitive); *out is its index.
 * The message lists them: "'x' is not auto or manual".
 */
int confval_word(const char *s, const char *const *words, size_t nr,
		 size_t *out);

/*
 * A short branch name that git check-ref-format --branch accepts, not
 * written as refs/heads/NAME (the message then gives the short form).
 */
int confval_branch(const char *s);

/* An absolute path without a ".." component. */
int confval_abspath(const char *s);

/* A relative path without a ".." component. */
int confval_relpath(const char *s);

/* confval_relpath(), and not "." or "./" alone: it names an entry. */
int confval_relpath_entry(const char *s);

/*
 * An absolute path or "~/PATH" (the caller expands '~'). The message does
 * not echo the value: it may name a private key.
 */
int confval_homepath(const char *s);

/*
 * An fnmatch(3) pattern fnmatch() would not misread: no unbalanced '['
 * or ']' (an unclosed '[' would be taken literally) and no trailing '\'.
 */
int confval_glob(const char *s);

/* An environment variable name: [A-Za-z_][A-Za-z0-9_]*. */
int confval_var_name(const char *s);

/* A user name that cannot be mistaken for an option (no leading '-'). */
int confval_user(const char *s);

/*
 * True if `s` is a section name as SPEC §3 writes it for environments:
 * [a-z0-9][a-z0-9_-]* (the caller limits the length).
 */
bool confval_is_name(const char *s);

/*
 * One `hosts` entry, split without copying: `local`, or
 * [USER@]HOST[:PORT] with an IPv6 address in brackets. The pointers point
 * into the entry. A user, host or port that could be read as an ssh
 * option or a shell word is refused. The message is the reason alone
 * ("host name starts with '-'"), for "invalid 'hosts' entry 'E': ...".
 */
struct confval_host {
	bool local;
	const char *user;	/* NULL when the entry has none */
	size_t user_len;
	const char *host;	/* without the brackets of an IPv6 address */
	size_t host_len;
	unsigned port;		/* 0 when the entry has none */
};

int confval_host(const char *entry, struct confval_host *out);

/*
 * A `gitops_remote` (SPEC §12): ssh://[USER@]HOST[:PORT]/PATH or
 * [USER@]HOST:PATH (scp-like, no port). `host` points into out->text
 * (a copy of the host part), `path` into `s` ("/PATH" for the ssh://
 * form). The message is the reason alone, as for confval_host().
 */
struct confval_remote {
	struct confval_host host;
	const char *path;
	char text[300];
};

int confval_remote(const char *s, struct confval_remote *out);

/* confval_remote() as a schema check (the value only). */
int confval_remote_check(const char *s);

/*
 * A `shared` entry: a relative path of plain names ("uploads/", "logs/app",
 * ".env"), no "", "." or ".." component: the link made for it in each
 * release counts its components to reach PATH/shared/.
 */
int confval_shared_entry(const char *s);

#endif
