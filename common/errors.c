#include "errors.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char last_msg[ERROR_MSG_MAX];

static void set_msg(const char *fmt, va_list ap, int errnum)
	__attribute__((format(printf, 1, 0)));

/*
 * Format into a scratch buffer first: callers may pass error_last() itself
 * as an argument, to wrap the message they were given.
 */
static void set_msg(const char *fmt, va_list ap, int errnum)
{
	char tmp[ERROR_MSG_MAX];
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);

	if (n < 0)
		tmp[0] = '\0';
	if (errnum && n >= 0 && (size_t)n < sizeof(tmp))
		snprintf(tmp + n, sizeof(tmp) - n, ": %s", strerror(errnum));
	memcpy(last_msg, tmp, sizeof(last_msg));
}

int error_set(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_msg(fmt, ap, 0);
	va_end(ap);
	return code;
}

int error_set_errno(int code, const char *fmt, ...)
{
	int errnum = errno;
	va_list ap;

	va_start(ap, fmt);
	set_msg(fmt, ap, errnum);
	va_end(ap);
	return code;
}

const char *error_last(void)
{
	return last_msg;
}

void error_clear(void)
{
	last_msg[0] = '\0';
}

void error_save(struct error_saved *saved)
{
	memcpy(saved->msg, last_msg, sizeof(saved->msg));
}

int error_restore(const struct error_saved *saved, int code)
{
	memcpy(last_msg, saved->msg, sizeof(last_msg));
	return code;
}

static void die_oom(void)
{
	static const char msg[] = "fatal: out of memory\n";

	if (write(2, msg, sizeof(msg) - 1) < 0)
		exit(1);
	exit(1);
}

void *xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (!p)
		die_oom();
	return p;
}

void *xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (!p)
		die_oom();
	return p;
}

void *xreallocarray(void *ptr, size_t nmemb, size_t size)
{
	void *p;

	if (size && nmemb > SIZE_MAX / size)
		die_oom();
	p = realloc(ptr, (nmemb && size) ? nmemb * size : 1);
	if (!p)
		die_oom();
	return p;
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = xmalloc(len + 1);

	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

int parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	const char *p;

	*out = 0;
	if (!s || !*s)
		return error_set(ERR_INVALID, "empty number");
	for (p = s; *p; p++) {
		unsigned d;

		if (*p < '0' || *p > '9')
			return error_set(ERR_INVALID, "'%s' is not a number",
					 s);
		d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return error_set(ERR_INVALID, "'%s' is too large", s);
		v = v * 10 + d;
	}
	if (v < min || v > max)
		return error_set(ERR_INVALID,
				 "'%s' is out of range (%llu to %llu)", s,
				 (unsigned long long)min,
				 (unsigned long long)max);
	*out = v;
	return 0;
}

void error_bug(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "BUG: %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}
