#include "report.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"

#define RING 4
#define ESC_MAX (REPORT_LINE_MAX * 4 + 8)

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
 * Escape up to `clip` bytes of s into out (size ESC_MAX): printable ASCII
 * and bytes >= 0x80 (UTF-8) pass, tabs stay, other controls become \xNN.
 */
static void escape_into(char *out, const char *s, size_t len, size_t clip)
{
	size_t i, o = 0;

	for (i = 0; i < len && i < clip && o + 8 < ESC_MAX; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else if ((c < 0x20 && c != '\t') || c == 0x7f) {
			o += (size_t)snprintf(out + o, ESC_MAX - o, "\\x%02x",
					      c);
		} else {
			out[o++] = (char)c;
		}
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
