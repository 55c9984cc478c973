#include "report.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "strvec.h"

#define RING 4
#define ESC_MAX (REPORT_LINE_MAX * 6 + 16)

static const char *prefix = "pushgate: ";
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
 * Length of the valid UTF-8 sequence at s (at most `len` bytes), or 0 if
 * it is not one. Overlong forms, surrogates and code points past U+10FFFF
 * are invalid. *cp gets the code point.
 */
static size_t utf8_seq(const unsigned char *s, size_t len, unsigned *cp)
{
	size_t n, i;
	unsigned c = s[0], min;

	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if ((c & 0xe0) == 0xc0) {
		n = 2, c &= 0x1f, min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		n = 3, c &= 0x0f, min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		n = 4, c &= 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (n > len)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
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
		size_t n = utf8_seq(u + i, len - i, &cp);

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

static void vline(FILE *fp, const char *pre, const char *kind,
		  const char *fmt, va_list ap)
{
	struct buf b = BUF_INIT;

	buf_addstr(&b, pre);
	buf_addstr(&b, kind);
	buf_vaddf(&b, fmt, ap);
	buf_addch(&b, '\n');
	fwrite(b.ptr, 1, b.len, fp);
	fflush(fp);
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

	escape_into(esc, partial, partial_len, REPORT_LINE_MAX);
	if (partial_dropped)
		fprintf(stderr, "%s  | %s... (%zu more bytes)\n", prefix, esc,
			partial_dropped);
	else
		fprintf(stderr, "%s  | %s\n", prefix, esc);
	fflush(stderr);
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
