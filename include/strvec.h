#ifndef STRVEC_H
#define STRVEC_H

#include <stddef.h>

/*
 * A NULL-terminated array of owned strings, for argv and envp vectors and
 * simple string lists. `v` is never NULL: an empty vector points at a
 * static { NULL }.
 */
struct strvec {
	char **v;
	size_t nr;
	size_t alloc;
};

extern char *strvec_empty[];

#define STRVEC_INIT { strvec_empty, 0, 0 }

/* Initialise an empty vector; allocates nothing. */
void strvec_init(struct strvec *sv);

/* Append a copy of `s`; returns the stored copy (owned by the vector). */
const char *strvec_push(struct strvec *sv, const char *s);
const char *strvec_pushf(struct strvec *sv, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Append the words of `s` split on spaces and tabs. */
void strvec_split(struct strvec *sv, const char *s);

/* True if `s` is one of the strings. */
int strvec_has(const struct strvec *sv, const char *s);

/* Free every string and the array; the vector is left empty. */
void strvec_clear(struct strvec *sv);

#endif
