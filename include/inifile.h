#ifndef INIFILE_H
#define INIFILE_H

#include <stddef.h>

/*
 * The INI syntax of hooks.ini, read with inih: what is a comment, a
 * section header, a key and its value, and which line each is on. It
 * knows nothing about the sections and keys pushgate accepts; it hands
 * its caller three kinds of events, in the order of the text:
 *
 *   - a section header: the text between the brackets, as written (so
 *     `[environment "prod"]` gives `environment "prod"`), and its line;
 *   - a key, once its value is complete: the name, the value with inline
 *     comments removed and continuation lines (indented lines after it)
 *     joined with single spaces, and the line of the key;
 *   - a problem with the syntax: a line and a message such as "missing
 *     ']' in section header".
 *
 * The rules are inih's, with its runtime options set for the call (and
 * put back afterwards): `;` and `#` start a comment line, ` ;` (a
 * semicolon after white space) an inline comment, `key = value` and
 * `key: value` are keys, and an indented line continues the value of the
 * key before it. On top of inih, lines are counted here, a UTF-8 byte
 * order mark on the first line is skipped, LF and CRLF line endings are
 * both fine, and a line with a NUL byte, a carriage return inside it or
 * more than `max_line` bytes is a problem (and otherwise ignored), so
 * that no line is ever cut, split or read in part.
 */

/*
 * A section header at `line`. `name` is the text between the brackets,
 * or NULL for a header that is not one (a problem was reported): the
 * keys that follow belong to no valid section.
 */
typedef void (*inifile_section_fn)(const char *name, unsigned line,
				   void *payload);

/*
 * A key at `line`. `name` is never NULL but may be empty (a line such
 * as "= 5"). `value` is the complete value, or NULL when it has more than
 * `max_value` bytes: the caller reports that in its own words.
 */
typedef void (*inifile_key_fn)(const char *name, const char *value,
			       unsigned line, void *payload);

/* A syntax problem at `line` (0: not tied to a line). */
typedef void (*inifile_problem_fn)(unsigned line, const char *msg,
				   void *payload);

/* What inifile_parse() calls, with what, and its limits. */
struct inifile_opts {
	inifile_section_fn section;
	inifile_key_fn key;
	inifile_problem_fn problem;
	void *payload;		/* passed to the three callbacks */
	size_t max_line;	/* longest line, in bytes without the LF */
	size_t max_value;	/* longest value, continuations joined */
};

/* Largest `max_line` inifile_parse() accepts. */
#define INIFILE_MAX_LINE (1024 * 1024)

#define INIFILE_OPTS_INIT { NULL, NULL, NULL, NULL, 0, 0 }

/*
 * Read the `len` bytes of `text` (which need not be NUL-terminated) and
 * call the callbacks of `opts`, which must all be set, with its events.
 * Every line is read, whatever problems are found. `max_line` must be
 * from 1 to INIFILE_MAX_LINE and `max_value` at least 1. Returns 0, or
 * ERR_INVALID if a problem was reported (every message went to
 * `opts->problem`; error_last() is "line N: " and the first).
 */
int inifile_parse(const char *text, size_t len,
		  const struct inifile_opts *opts);

#endif
