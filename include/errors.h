#ifndef ERRORS_H
#define ERRORS_H

#include <stddef.h>
#include <stdint.h>

/*
 * Error codes returned by every fallible function in pushgate: 0 on
 * success, one of these (negative) on failure. The message describing the
 * failure is set once, where it is detected, with error_set().
 */
enum {
	ERR_GENERIC = -1,	/* anything not covered below */
	ERR_INVALID = -2,	/* bad input: config, ref line, name, value */
	ERR_NOTFOUND = -3,	/* object, file, key or host missing */
	ERR_TOOBIG = -4,	/* a cap was reached */
	ERR_TIMEOUT = -5,	/* a deadline passed */
	ERR_SYS = -6		/* a system call failed (errno in message) */
};

/* Longest message kept by error_set(); longer ones are clipped. */
#define ERROR_MSG_MAX 1024

/*
 * Record `fmt` as the last error message and return `code`, so callers can
 * write `return error_set(ERR_INVALID, "bad id '%s'", s);`.
 */
int error_set(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Like error_set(), appending ": strerror(errno)" to the message. */
int error_set_errno(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The last message set, or "" if none; borrowed until the next set. */
const char *error_last(void);

/* Forget the last error (after handling it). */
void error_clear(void);

/*
 * Keep the last message across cleanup that may set its own (removing a
 * partial checkout must not hide why it failed):
 *
 *	struct error_saved saved;
 *
 *	error_save(&saved);
 *	workspace_remove(&ws);
 *	return error_restore(&saved, r);
 *
 * error_restore() puts the message back and returns `code`.
 */
struct error_saved {
	char msg[ERROR_MSG_MAX];
};

void error_save(struct error_saved *saved);
int error_restore(const struct error_saved *saved, int code);

/*
 * Allocation wrappers: they check for size overflow and print a message and
 * exit(1) when memory runs out, so callers never see NULL.
 */
void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xreallocarray(void *ptr, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/*
 * Parse the decimal number `s` (digits only, no sign, no space) into *out.
 * Returns ERR_INVALID unless min <= value <= max.
 */
int parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* A broken invariant: print where and exit(1). */
#define BUG(...) error_bug(__FILE__, __LINE__, __VA_ARGS__)
void error_bug(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), noreturn));

#endif
