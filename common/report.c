#include "report.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "strvec.h"

#define RING 4
#define ESC_MAX (REPORT_LINE_MAX * 6 + 16)

static const char *prefix = "pushgate: ";
/* report_log(): a copy of every stderr line, and how much went there */
static int log_fd = -1;
static size_t log_bytes;
static bool log_full;
static char ring[RING][ESC_MAX];
static unsigned ring_next;
static char partial[REPORT_LINE_MAX + 1];
static size_t partial_len;
static size_t partial_dropped;

void report_set_prefix(const char *p)
{
	prefix = p;
}

/*
 * Escape up to `clip` bytes of s into out (size ESC_MAX): printable ASCII
 * and valid UTF-8 pass, tabs stay, C0 and C1 controls and DEL become
 * \xNN or \u00NN, bytes that are not UTF-8 become \xNN. A terminal
 * reading the result never sees an escape sequence.
 */
static void escape_into(char *out, const char *s, size_t len, size_t clip)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, o = 0;

	while (i < len && i < clip && o + 8 < ESC_MAX) {
		unsigned cp;
		size_t n = buf_utf8_seq(u + i, len - i, &cp);

		if (n && cp == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else if (n && cp == '\r') {
			out[o++] = '\\';
			out[o++] = 'r';
		} else if (n == 1 && ((cp < 0x20 && cp != '\t') || cp == 0x7f)) {
			o += (size_t)snprintf(out + o, ESC_MAX - o, "\\x%02x",
					      cp);
		} else if (n && cp >= 0x80 && cp < 0xa0) {
			o += (size_t)snprintf(out + o, ESC_MAX - o, "\\u%04x",
					      cp);
		} else if (!n) {
			o += (size_t)snprintf(out + o, ESC_MAX - o, "\\x%02x",
					      u[i]);
			n = 1;
		} else {
			memcpy(out + o, u + i, n);
			o += n;
		}
		i += n;
	}
	if (i < len && o + 4 < ESC_MAX) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

const char *report_escape(const char *s, size_t len)
{
	char *out = ring[ring_next++ % RING];

	if (!s)
		s = "(null)", len = 6;
	escape_into(out, s, len, REPORT_CLIP);
	return out;
}

const char *report_line(const char *s)
{
	char *out = ring[ring_next++ % RING];

	if (!s)
		s = "(null)";
	escape_into(out, s, strlen(s), REPORT_LINE_MAX);
	return out;
}

const char *report_str(const char *s)
{
	return report_escape(s, s ? strlen(s) : 0);
}

void report_log(int fd)
{
	log_fd = fd;
	log_bytes = 0;
	log_full = false;
}

/* One whole line (prefix included) to the log, in one write. */
static void to_log(const char *line, size_t len)
{
	size_t skip = strlen(prefix);
	ssize_t n;

	if (log_fd < 0 || log_full)
		return;
	if (len >= skip && !strncmp(line, prefix, skip)) {
		line += skip;
		len -= skip;
	}
	if (log_bytes + len > REPORT_LOG_MAX) {
		static const char cut[] = "... (the log stops here: "
					  "it reached its size limit)\n";

		log_full = true;
		line = cut;
		len = sizeof(cut) - 1;
	}
	do
		n = write(log_fd, line, len);
	while (n < 0 && errno == EINTR);
	if (n > 0)
		log_bytes += (size_t)n;
}

/*
 * Lines for stderr while the reader (git, passing them to the pusher) is
 * not taking them are dropped and counted rather than waited for without
 * end: a stopped client must not stop a test's deadline, nor keep a
 * deploy's lock for ever. A command's output waits REPORT_STALL_MS for
 * room in the pipe; after that, until room appears, its lines are dropped
 * at once. Our own lines (progress, verdicts) wait REPORT_OWN_WAIT_MS
 * each. The next line that gets through is preceded by how many were not
 * shown.
 */
static size_t stalled_lines;
static bool stalled;

/* Room for a write on stderr within `ms`? */
static bool writable(int ms)
{
	struct pollfd p = { STDERR_FILENO, POLLOUT, 0 };
	int n;

	do
		n = poll(&p, 1, ms);
	while (n < 0 && errno == EINTR);
	return n > 0 && !(p.revents & (POLLERR | POLLNVAL));
}

/* Write it all, waiting at most `ms` for each piece to fit. */
static bool write_within(const char *s, size_t len, int ms)
{
	ssize_t n;

	while (len) {
		if (!writable(ms))
			return false;
		/* at most PIPE_BUF: a pipe with room takes it without waiting */
		do
			n = write(STDERR_FILENO, s, len < PIPE_BUF ? len
								  : PIPE_BUF);
		while (n < 0 && errno == EINTR);
		if (n < 0)
			return false;
		s += n;
		len -= (size_t)n;
	}
	return true;
}

/* One whole line for the pusher: a command's (`own` false) or ours. */
static void to_stderr(const char *line, size_t len, bool own)
{
	int ms = own ? REPORT_OWN_WAIT_MS : stalled ? 0 : REPORT_STALL_MS;
	char note[128];
	int n;

	fflush(stderr);
	if (stalled) {
		if (!writable(ms)) {
			stalled_lines++;
			return;
		}
		n = snprintf(note, sizeof(note), "%s(%zu line%s not shown: "
			     "the client was not reading)\n", prefix,
			     stalled_lines, stalled_lines == 1 ? "" : "s");
		if (n <= 0 || (size_t)n >= sizeof(note) ||
		    !write_within(note, (size_t)n, ms)) {
			stalled_lines++;
			return;
		}
		stalled = false;
		stalled_lines = 0;
	}
	if (!write_within(line, len, ms)) {
		stalled = true;
		stalled_lines++;
	}
}

static bool color;

void report_set_color(bool on)
{
	color = on;
}

void report_result(enum report_tone tone, const char *fmt, ...)
{
	static const char *const sgr[] = {
		[REPORT_GOOD] = "\033[1;32m",
		[REPORT_BAD] = "\033[1;31m",
		[REPORT_WAIT] = "\033[1;33m",
	};
	struct buf line = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vaddf(&line, fmt, ap);
	va_end(ap);
	{
		struct buf out = BUF_INIT;

		if (color)
			buf_addf(&out, "%s%s%s\033[0m\n", prefix, sgr[tone],
				 line.ptr);
		else
			buf_addf(&out, "%s%s\n", prefix, line.ptr);
		to_stderr(out.ptr, out.len, true);
		/* the log gets the words, never the colours */
		buf_reset(&out);
		buf_addf(&out, "%s%s\n", prefix, line.ptr);
		to_log(out.ptr, out.len);
		buf_release(&out);
	}
	buf_release(&line);
}

static void vline(FILE *fp, const char *pre, const char *kind,
		  const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));

static void vline(FILE *fp, const char *pre, const char *kind,
		  const char *fmt, va_list ap)
{
	struct buf b = BUF_INIT;

	buf_addstr(&b, pre);
	buf_addstr(&b, kind);
	buf_vaddf(&b, fmt, ap);
	buf_addch(&b, '\n');
	if (fp == stderr) {
		to_stderr(b.ptr, b.len, true);
		to_log(b.ptr, b.len);
	} else {
		fwrite(b.ptr, 1, b.len, fp);
		fflush(fp);
	}
	buf_release(&b);
}

void report_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vline(stderr, prefix, "", fmt, ap);
	va_end(ap);
}

void report_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vline(stderr, prefix, "warning: ", fmt, ap);
	va_end(ap);
}

void report_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vline(stderr, prefix, "error: ", fmt, ap);
	va_end(ap);
}

void report_errors(const struct strvec *lines)
{
	size_t i;

	for (i = 0; i < lines->nr; i++)
		report_error("%s", lines->v[i]);
}

void report_out(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vline(stdout, "", "", fmt, ap);
	va_end(ap);
}

static void emit_partial(void)
{
	char esc[ESC_MAX];
	struct buf b = BUF_INIT;

	escape_into(esc, partial, partial_len, REPORT_LINE_MAX);
	if (partial_dropped)
		buf_addf(&b, "%s  | %s... (%zu more bytes)\n", prefix, esc,
			 partial_dropped);
	else
		buf_addf(&b, "%s  | %s\n", prefix, esc);
	to_stderr(b.ptr, b.len, false);
	to_log(b.ptr, b.len);
	buf_release(&b);
	partial_len = 0;
	partial_dropped = 0;
}

void report_stream(const char *data, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		char c = data[i];

		if (c == '\n') {
			/* drop a CR before LF (CRLF output) */
			if (partial_len && partial[partial_len - 1] == '\r')
				partial_len--;
			emit_partial();
		} else if (partial_len < REPORT_LINE_MAX) {
			partial[partial_len++] = c;
		} else {
			partial_dropped++;
		}
	}
}

void report_stream_flush(void)
{
	if (partial_len || partial_dropped)
		emit_partial();
}
