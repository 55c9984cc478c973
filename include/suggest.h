#ifndef SUGGEST_H
#define SUGGEST_H

#include <stddef.h>

/*
 * "Did you mean ...?": the candidate closest to a misspelt word, for the
 * messages about keys, sections and names read from hooks.ini.
 */

/*
 * Longest candidate suggest_distance() compares, in bytes; the word it is
 * compared with may be up to twice as long.
 */
#define SUGGEST_MAX_LEN 64

/*
 * The optimal string alignment distance from `a` to `b`: the fewest
 * single-byte insertions, deletions, substitutions and swaps of two
 * adjacent bytes that turn `a` into `b`, editing no substring twice.
 * Byte-wise and case-sensitive. Returns SIZE_MAX ("not close") when `b`
 * is longer than SUGGEST_MAX_LEN or `a` longer than twice that.
 */
size_t suggest_distance(const char *a, const char *b);

/*
 * The one of the `nr` candidates closest to `word`, if it is close
 * enough to be a likely typo: at most 2 edits away (or a third of the
 * candidate's length, when that is more), and fewer edits than the
 * candidate has bytes. Ties go to the earlier candidate. Returns the
 * candidate (borrowed from `cands`), or NULL when none is close enough.
 */
const char *suggest_closest(const char *word, const char *const *cands,
			    size_t nr);

#endif
