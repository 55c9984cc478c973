#ifndef BUF_H
#define BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A growable byte string with a hard cap, always NUL-terminated so that
 * `ptr` can be used as a C string when the data holds no NUL.
 *
 * `cap` is the most bytes (excluding the terminating NUL) the buffer may
 * hold; an append that would go past it fails with ERR_TOOBIG and leaves
 * the buffer unchanged. The failure is sticky (as in libgit2's git_str):
 * every later append fails too, without changing anything, until
 * buf_reset() or buf_release(). So a string built from many pieces is
 * checked once, with buf_error(), before it is used: a dropped piece can
 * never silently change a command that runs. `ptr` is never NULL: an
 * empty buffer points at a static empty string until the first append.
 */
struct buf {
	char *ptr;
	size_t len;
	size_t alloc;
	size_t cap;
	int err;		/* 0, or the first append's failure (sticky) */
};

extern char buf_empty[];

/* The default cap of BUF_INIT: enough for any line or path we build. */
#define BUF_DEFAULT_CAP (1024 * 1024)

#define BUF_INIT { buf_empty, 0, 0, BUF_DEFAULT_CAP, 0 }

/* Initialise an empty buffer with the given cap; allocates nothing. */
void buf_init(struct buf *b, size_t cap);

/* Free the contents; the buffer is left initialised and empty. */
void buf_release(struct buf *b);

/* Empty the buffer, keeping its memory; forgets a sticky failure. */
void buf_reset(struct buf *b);

/* Shorten to `len` bytes (len <= b->len). */
void buf_truncate(struct buf *b, size_t len);

/*
 * 0, or the failure of the first append that failed since the buffer was
 * initialised or reset (ERR_TOOBIG, with the message set at that time).
 * Check it once before using text built from several appends.
 */
int buf_error(const struct buf *b);

/*
 * A piece built in `part` goes into `b`: if `part` failed, `b` fails too
 * (so that buf_error(b) tells); returns buf_error(b).
 */
int buf_inherit_error(struct buf *b, const struct buf *part);

/* Append; 0 or ERR_TOOBIG (also once an earlier append failed). */
int buf_add(struct buf *b, const void *data, size_t len);
int buf_addstr(struct buf *b, const char *s);
int buf_addch(struct buf *b, char c);
int buf_addf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int buf_vaddf(struct buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/*
 * Append `s` quoted for a POSIX shell: wrapped in single quotes, each
 * embedded single quote written as '\''. Safe for any byte string.
 */
int buf_addshq(struct buf *b, const char *s);

/*
 * Append a size in human units, as hooks.ini's K, M and G count (powers
 * of 1024): "512 bytes", "2 KiB", and with the exact count when rounded:
 * "3.4 MiB (3565158 bytes)".
 */
int buf_addsize(struct buf *b, uint64_t n);

/*
 * Append everything read from `fd` until end of file, retrying on EINTR.
 * ERR_TOOBIG past the cap, ERR_SYS on a read error.
 */
int buf_read_fd(struct buf *b, int fd);

/* Take the string out: the caller frees it; the buffer is left empty. */
char *buf_detach(struct buf *b, size_t *len_out);

/*
 * Length of the valid UTF-8 sequence at s (len >= 1 bytes available), or
 * 0 if it is not one. Overlong forms, surrogates and code points past
 * U+10FFFF are invalid. *cp gets the code point.
 */
size_t buf_utf8_seq(const unsigned char *s, size_t len, unsigned *cp);

#endif
