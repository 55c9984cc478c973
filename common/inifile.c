#include "inifile.h"

#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "buf.h"
#include "errors.h"

/*
 * inih does the tokenising, but it gives its handler no line numbers, calls
 * nothing for a section header, truncates section names to 49 bytes and
 * silently splits lines longer than its buffer into several "lines". So we
 * feed it through our own line reader, which counts lines, refuses NUL
 * bytes, stray carriage returns and over-long lines before inih sees them,
 * and classifies every line the way inih is about to (comment,
 * continuation, section header, key) so that section headers are handled
 * here, with the full name and the right line.
 *
 * A key is not handed on right away: an indented line that follows may
 * continue its value, so it is kept until the next key, section header or
 * the end of the text.
 */

enum line_kind {
	LINE_COMMENT,		/* blank or comment: inih ignores it */
	LINE_CONTINUATION,	/* indented: more of the previous value */
	LINE_SECTION,		/* handled by the reader */
	LINE_KEY,		/* inih calls the handler */
	LINE_BAD		/* inih will flag it; so did we */
};

struct reader {
	const struct inifile_opts *opts;
	const char *p, *end;	/* the text still to read */
	unsigned lineno;
	enum line_kind kind;	/* of the line inih is processing */
	bool have_prev;		/* inih has a key a continuation goes to */
	bool reported;		/* a problem was reported */
	unsigned first_line;	/* the first one, for error_last() */
	char first[256];

	bool pending;		/* a key whose value may go on */
	unsigned key_line;
	struct buf name, val;
	bool val_too_long;
};

static void report(struct reader *r, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void report(struct reader *r, unsigned line, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
		snprintf(msg, sizeof(msg), "unprintable error");
	va_end(ap);
	if (!r->reported) {
		r->first_line = line;
		memcpy(r->first, msg, sizeof(r->first));
	}
	r->reported = true;
	r->opts->problem(line, msg, r->opts->payload);
}

/* The pending key is complete: hand it on. */
static void finish_key(struct reader *r)
{
	if (!r->pending)
		return;
	r->pending = false;
	r->opts->key(r->name.ptr, r->val_too_long ? NULL : r->val.ptr,
		     r->key_line, r->opts->payload);
	buf_reset(&r->name);
	buf_reset(&r->val);
	r->val_too_long = false;
}

/*
 * Mirror of inih's find_chars_or_comment(): the first of `chars` in
 * [s, end), or an inline ';' comment (one after whitespace), or end.
 */
static const char *find_chars_or_comment(const char *s, const char *end,
					 const char *chars)
{
	bool was_space = false;

	while (s < end && !(chars && strchr(chars, *s)) &&
	       !(was_space && *s == ';')) {
		was_space = isspace((unsigned char)*s);
		s++;
	}
	return s;
}

/* An indented line goes on with the value of the key before it. */
static void continue_value(struct reader *r, const char *value)
{
	const char *end;
	size_t len;

	if (!r->pending)
		return;
	/* inih strips inline comments from key lines only; do the same */
	end = find_chars_or_comment(value, value + strlen(value), NULL);
	len = (size_t)(end - value);
	while (len && isspace((unsigned char)value[len - 1]))
		len--;
	if (!len)
		return;
	if ((r->val.len && buf_addch(&r->val, ' ') < 0) ||
	    buf_add(&r->val, value, len) < 0)
		r->val_too_long = true;
}

/* inih's handler: a key line, or a continuation line. */
static int on_value(void *user, const char *section, const char *name,
		    const char *value)
{
	struct reader *r = user;

	(void)section;		/* we track sections ourselves */
	if (!value)
		value = "";
	if (r->kind == LINE_CONTINUATION) {
		continue_value(r, value);
		return 1;
	}
	if (r->kind != LINE_KEY) {
		/* our mirror of inih disagrees with inih: fail closed */
		report(r, r->lineno, "cannot parse this line");
		return 1;
	}
	r->have_prev = *name != '\0';
	finish_key(r);
	if (buf_addstr(&r->name, name) < 0)
		BUG("inifile: key name longer than its line");
	r->pending = true;
	r->key_line = r->lineno;
	r->val_too_long = buf_addstr(&r->val, value) < 0;
	return 1;
}

/* A section header in [s, end), which starts with '['. */
static void section_line(struct reader *r, const char *s, const char *end)
{
	const char *e, *rest;
	char *name;

	finish_key(r);
	e = find_chars_or_comment(s + 1, end, "]");
	if (e == end || *e != ']') {
		/* inih keeps the previous section and key */
		r->kind = LINE_BAD;
		report(r, r->lineno, "missing ']' in section header");
		r->opts->section(NULL, r->lineno, r->opts->payload);
		return;
	}
	r->kind = LINE_SECTION;
	r->have_prev = false;
	rest = e + 1;
	while (rest < end && isspace((unsigned char)*rest))
		rest++;
	if (rest < end && *rest != ';' && *rest != '#') {
		report(r, r->lineno, "unexpected text after section header");
		r->opts->section(NULL, r->lineno, r->opts->payload);
		return;
	}
	name = xstrndup(s + 1, (size_t)(e - s - 1));
	r->opts->section(name, r->lineno, r->opts->payload);
	free(name);
}

/*
 * Classify `line` the way inih's ini_parse_stream() is about to, and
 * handle section headers here.
 */
static void classify(struct reader *r, const char *line)
{
	const char *s = line, *end = line + strlen(line), *e;

	while (end > s && isspace((unsigned char)end[-1]))
		end--;
	while (s < end && isspace((unsigned char)*s))
		s++;
	if (s == end || *s == ';' || *s == '#') {
		r->kind = LINE_COMMENT;
		return;
	}
	if (r->have_prev && s > line) {
		r->kind = LINE_CONTINUATION;
		return;
	}
	if (*s == '[') {
		section_line(r, s, end);
		return;
	}
	e = find_chars_or_comment(s, end, "=:");
	if (e == end || (*e != '=' && *e != ':')) {
		r->kind = LINE_BAD;
		report(r, r->lineno,
		       "syntax error (expected 'key = value' or '[section]')");
		return;
	}
	r->kind = LINE_KEY;
}

/* The ini_reader: one line of the text per call, as fgets() would. */
static char *read_line(char *str, int num, void *stream)
{
	struct reader *r = stream;
	const char *line = r->p, *nl;
	size_t len, max = r->opts->max_line;

	if (r->p >= r->end)
		return NULL;
	nl = memchr(line, '\n', (size_t)(r->end - line));
	len = nl ? (size_t)(nl - line) : (size_t)(r->end - line);
	r->p = line + len + (nl != NULL);
	r->lineno++;
	if (r->lineno == 1 && len >= 3 && !memcmp(line, "\xef\xbb\xbf", 3)) {
		line += 3;	/* a UTF-8 byte order mark */
		len -= 3;
	}
	r->kind = LINE_COMMENT;
	str[0] = '\0';
	if (memchr(line, '\0', len)) {
		report(r, r->lineno, "line contains a NUL byte");
		return str;
	}
	if (len && line[len - 1] == '\r')
		len--;		/* CRLF */
	if (memchr(line, '\r', len)) {
		report(r, r->lineno, "carriage return inside a line (use LF "
		       "or CRLF line endings)");
		return str;
	}
	if (len > max || len + 1 > (size_t)num) {
		report(r, r->lineno, "line is too long (more than %zu bytes)",
		       max);
		return str;
	}
	memcpy(str, line, len);
	str[len] = '\0';
	classify(r, str);
	return str;
}

/* Run inih over the text with the options this reader relies on. */
static int run_inih(struct reader *r)
{
	/*
	 * Debian's libinih is built with runtime options; set every one we
	 * depend on, and put them back afterwards.
	 */
	static char start_prefixes[] = ";#";
	static char inline_prefixes[] = ";";
	bool multiline = ini_allow_multiline, bom = ini_allow_bom;
	bool inline_comments = ini_allow_inline_comments;
	bool use_stack = ini_use_stack, no_value = ini_allow_no_value;
	bool stop = ini_stop_on_first_error, realloc_ok = ini_allow_realloc;
	char *start = ini_start_comment_prefixes;
	char *inl = ini_inline_comment_prefixes;
	int max_line = ini_max_line;
	int ret;

	ini_allow_multiline = true;
	ini_allow_bom = false;		/* read_line() skips it */
	ini_allow_inline_comments = true;
	ini_use_stack = true;
	ini_allow_no_value = false;
	ini_stop_on_first_error = false;
	ini_allow_realloc = false;
	ini_start_comment_prefixes = start_prefixes;
	ini_inline_comment_prefixes = inline_prefixes;
	/* room for the line, its LF and the NUL */
	ini_max_line = (int)r->opts->max_line + 2;

	ret = ini_parse_stream(read_line, r, on_value, r);

	ini_allow_multiline = multiline;
	ini_allow_bom = bom;
	ini_allow_inline_comments = inline_comments;
	ini_use_stack = use_stack;
	ini_allow_no_value = no_value;
	ini_stop_on_first_error = stop;
	ini_allow_realloc = realloc_ok;
	ini_start_comment_prefixes = start;
	ini_inline_comment_prefixes = inl;
	ini_max_line = max_line;
	return ret;
}

int inifile_parse(const char *text, size_t len,
		  const struct inifile_opts *opts)
{
	struct reader r;
	int ret;

	if (!opts->section || !opts->key || !opts->problem ||
	    !opts->max_line || opts->max_line > INIFILE_MAX_LINE ||
	    !opts->max_value)
		BUG("inifile_parse: incomplete options");
	memset(&r, 0, sizeof(r));
	r.opts = opts;
	r.p = text;
	r.end = text + len;
	buf_init(&r.name, opts->max_line);
	buf_init(&r.val, opts->max_value);

	ret = run_inih(&r);
	finish_key(&r);
	if (ret < 0)
		report(&r, 0, "cannot parse (inih error %d)", ret);
	else if (ret > 0 && !r.reported)
		report(&r, (unsigned)ret, "cannot parse this line");

	buf_release(&r.name);
	buf_release(&r.val);
	if (r.reported)
		return error_set(ERR_INVALID, "line %u: %s", r.first_line,
				 r.first);
	return 0;
}
