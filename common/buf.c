#include "buf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "errors.h"

char buf_empty[1];

void buf_init(struct buf *b, size_t cap)
{
	b->ptr = buf_empty;
	b->len = 0;
	b->alloc = 0;
	b->cap = cap;
	b->err = 0;
}

void buf_release(struct buf *b)
{
	if (b->alloc)
		free(b->ptr);
	buf_init(b, b->cap);
}

void buf_reset(struct buf *b)
{
	buf_truncate(b, 0);
	b->err = 0;
}

int buf_error(const struct buf *b)
{
	return b->err;
}

int buf_inherit_error(struct buf *b, const struct buf *part)
{
	if (part->err && !b->err)
		b->err = part->err;
	return b->err;
}

/* A failed append: remembered, so that every later one fails too. */
static int fail(struct buf *b, int code)
{
	if (!b->err)
		b->err = code;
	return code;
}

void buf_truncate(struct buf *b, size_t len)
{
	if (len > b->len)
		BUG("buf_truncate past end (%zu > %zu)", len, b->len);
	b->len = len;
	if (b->alloc)
		b->ptr[len] = '\0';
}

static int grow(struct buf *b, size_t extra)
{
	size_t want;

	if (b->err)
		return b->err;
	if (extra > b->cap || b->len > b->cap - extra)
		return fail(b, error_set(ERR_TOOBIG,
					 "text longer than %zu bytes",
					 b->cap));
	want = b->len + extra + 1;
	if (want <= b->alloc)
		return 0;
	if (want < 64)
		want = 64;
	if (want < b->alloc + b->alloc / 2)
		want = b->alloc + b->alloc / 2;
	if (want > b->cap + 1)
		want = b->cap + 1;
	if (!b->alloc) {
		b->ptr = xmalloc(want);
		b->ptr[0] = '\0';
	} else {
		b->ptr = xreallocarray(b->ptr, want, 1);
	}
	b->alloc = want;
	return 0;
}

int buf_add(struct buf *b, const void *data, size_t len)
{
	int r;

	if (!len)
		return b->err;
	if ((r = grow(b, len)) < 0)
		return r;
	memcpy(b->ptr + b->len, data, len);
	b->len += len;
	b->ptr[b->len] = '\0';
	return 0;
}

int buf_addstr(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

int buf_addch(struct buf *b, char c)
{
	return buf_add(b, &c, 1);
}

int buf_vaddf(struct buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n, r;

	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (b->err)
		return b->err;
	if (n < 0)
		return fail(b, error_set(ERR_INVALID, "bad format '%s'", fmt));
	if ((r = grow(b, (size_t)n)) < 0)
		return r;
	vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int buf_addf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = buf_vaddf(b, fmt, ap);
	va_end(ap);
	return r;
}

int buf_addshq(struct buf *b, const char *s)
{
	size_t start = b->len;
	int r = 0;

	r = buf_addch(b, '\'');
	for (; !r && *s; s++) {
		if (*s == '\'')
			r = buf_addstr(b, "'\\''");
		else
			r = buf_addch(b, *s);
	}
	if (!r)
		r = buf_addch(b, '\'');
	/* never half a quoted word: the sticky failure stays */
	if (r)
		buf_truncate(b, start);
	return r;
}

int buf_addsize(struct buf *b, uint64_t n)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB" };
	uint64_t scale = 1024;
	size_t i;

	if (n < 1024)
		return buf_addf(b, "%llu byte%s", (unsigned long long)n,
				n == 1 ? "" : "s");
	for (i = 0; i + 1 < sizeof(units) / sizeof(units[0]) &&
	     n >= scale * 1024; i++)
		scale *= 1024;
	if (n % scale == 0)
		return buf_addf(b, "%llu %s",
				(unsigned long long)(n / scale), units[i]);
	/* rounded, so the exact count too: 1025 bytes is not "1.0 KiB" */
	return buf_addf(b, "%.1f %s (%llu bytes)", (double)n / (double)scale,
			units[i], (unsigned long long)n);
}

char *buf_detach(struct buf *b, size_t *len_out)
{
	char *p;

	if (len_out)
		*len_out = b->len;
	p = b->alloc ? b->ptr : xstrdup("");
	buf_init(b, b->cap);
	return p;
}

int buf_read_fd(struct buf *out, int fd)
{
	char chunk[8192];

	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return error_set_errno(ERR_SYS, "cannot read");
		}
		if (!n)
			return 0;
		if ((size_t)n > out->cap - out->len)
			return fail(out, error_set(ERR_TOOBIG,
					 "input is longer than %zu bytes",
					 out->cap));
		if (buf_add(out, chunk, (size_t)n) < 0)
			return ERR_TOOBIG;
	}
}

size_t buf_utf8_seq(const unsigned char *s, size_t len, unsigned *cp)
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
