#ifndef REPORT_H
#define REPORT_H

#include <stdbool.h>
#include <stddef.h>

/*
 * The only writer to stdout and stderr. Everything goes to stderr (which
 * the pusher sees live as "remote:" lines) unless it is a command's
 * result (report_out). Untrusted text passes through report_escape():
 * control characters become \xNN or \n, and the text is clipped.
 */

/* Most bytes of one untrusted string shown in a message. */
#define REPORT_CLIP 200
/* Most bytes of one line of child output shown to the pusher. */
#define REPORT_LINE_MAX 1000

/*
 * How long a line for stderr waits for the reader (the pusher's git)
 * before it is dropped: a command's output line (after which, until the
 * reader is back, the command's lines are dropped at once), and one of
 * our own. Dropped lines are counted and said to be missing once the
 * reader is back, so a client that stops reading never holds a deadline,
 * nor a lock for more than a bounded time.
 */
#define REPORT_STALL_MS 2000
#define REPORT_OWN_WAIT_MS 10000

/* Prefix of every hook line, e.g. "pushgate: ". Default "pushgate: ". */
void report_set_prefix(const char *prefix);

/* A progress or information line on stderr (prefix + text + LF). */
void report_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A warning: "warning: ..." on stderr. */
void report_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* An error: "error: ..." on stderr. */
void report_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/* report_error() for each line of `lines` (config errors and the like). */
struct strvec;
void report_errors(const struct strvec *lines);

/* A result on stdout (CLI output such as status or history). */
void report_out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Escape untrusted `s` (up to `len` bytes) for display into a static
 * buffer (one of a small ring, so up to 4 calls may appear in one format
 * call). Clipped at REPORT_CLIP bytes with "...".
 */
const char *report_escape(const char *s, size_t len);
const char *report_str(const char *s);	/* report_escape(s, strlen(s)) */

/* Like report_str(), clipped at REPORT_LINE_MAX: whole result lines. */
const char *report_line(const char *s);

/*
 * Stream child output to the pusher, line by line, each line prefixed with
 * "  | " and escaped; keeps a partial line between calls. Call
 * report_stream_flush() when the child is done.
 */
void report_stream(const char *data, size_t len);
void report_stream_flush(void);

/* Most bytes report_log() writes to one log. */
#define REPORT_LOG_MAX (8 * 1024 * 1024)

/*
 * From now on, also write every stderr line (without the prefix) to
 * `fd`, each line in one write(2), so that forked workers sharing the
 * descriptor (O_APPEND) never interleave within a line; past
 * REPORT_LOG_MAX bytes a last line says the log stops there. -1 stops.
 */
void report_log(int fd);

/* The outcome lines: a deploy done, failed, or waiting. */
enum report_tone {
	REPORT_GOOD = 0,
	REPORT_BAD,
	REPORT_WAIT
};

/*
 * Colour the outcome lines (for a terminal: the CLI decides, from
 * isatty() and NO_COLOR). Off by default, and in the hooks.
 */
void report_set_color(bool on);

/* report_info() of an outcome line, coloured by `tone` when enabled. */
void report_result(enum report_tone tone, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
