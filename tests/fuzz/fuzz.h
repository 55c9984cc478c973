#ifndef FUZZ_H
#define FUZZ_H

/*
 * Helpers shared by the fuzz targets of tests/fuzz/: each target is one
 * file that includes this header once, so the helpers are static.
 *
 *   FUZZ_CHECK(cond)   a property of the code under test; when it does
 *                      not hold, the input is a finding: print and abort
 *                      (libFuzzer and the sanitizers then keep the input)
 *   fuzz_dir(name)     a private directory for the target's files, made
 *                      on first use under TMPDIR, else /dev/shm (a
 *                      tmpfs: the targets that write files run ten times
 *                      faster there), else /tmp, and removed with
 *                      everything in it when the process exits
 *   fuzz_write(path, data, size)   the input as a file of mode 0600
 *   struct fuzz_in     the input read as a stream of small numbers and
 *                      byte strings, for targets whose input is a program
 *                      (give zeros once it is used up)
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "fsutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond) do { \
	if (!(cond)) \
		fuzz_fail(__FILE__, __LINE__, #cond); \
} while (0)

static inline void fuzz_fail(const char *file, int line,
			     const char *what)
	__attribute__((noreturn));

static inline void fuzz_fail(const char *file, int line,
			     const char *what)
{
	fprintf(stderr, "%s:%d: check failed: %s\n", file, line, what);
	abort();
}

static char fuzz_dir_path[512];

static inline void fuzz_dir_remove(void)
{
	if (fuzz_dir_path[0])
		fsutil_remove_tree(fuzz_dir_path);
}

static inline const char *fuzz_dir(const char *name)
{
	const char *tmp = getenv("TMPDIR");

	if (fuzz_dir_path[0])
		return fuzz_dir_path;
	if (!tmp || *tmp != '/')
		tmp = access("/dev/shm", W_OK | X_OK) ? "/tmp" : "/dev/shm";
	if ((size_t)snprintf(fuzz_dir_path, sizeof(fuzz_dir_path),
			     "%s/%s-XXXXXX", tmp, name) >=
	    sizeof(fuzz_dir_path) - 256 || !mkdtemp(fuzz_dir_path)) {
		fprintf(stderr, "%s: cannot make a directory in %s\n", name,
			tmp);
		abort();
	}
	atexit(fuzz_dir_remove);
	return fuzz_dir_path;
}

static inline void fuzz_write(const char *path, const void *data,
			      size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
		      O_CLOEXEC, 0600);

	if (fd < 0 || fsutil_write_all(fd, data, size) < 0 || close(fd) < 0) {
		fprintf(stderr, "cannot write '%s'\n", path);
		abort();
	}
}

struct fuzz_in {
	const uint8_t *p;
	size_t left;
};

static inline void fuzz_in_init(struct fuzz_in *in, const uint8_t *data,
			 size_t size)
{
	in->p = data;
	in->left = size;
}

static inline bool fuzz_in_empty(const struct fuzz_in *in)
{
	return !in->left;
}

/* The next byte, or 0 past the end. */
static inline unsigned fuzz_byte(struct fuzz_in *in)
{
	if (!in->left)
		return 0;
	in->left--;
	return *in->p++;
}

/* Up to `max` next bytes (fewer at the end): where, and *len how many. */
static inline const uint8_t *fuzz_bytes(struct fuzz_in *in, size_t max,
				 size_t *len)
{
	const uint8_t *p = in->p;

	*len = max < in->left ? max : in->left;
	in->p += *len;
	in->left -= *len;
	return p;
}

/* A string of up to `max` bytes, its length first: malloc'ed, NUL-ended. */
static inline char *fuzz_str(struct fuzz_in *in, size_t max)
{
	size_t want = fuzz_byte(in) % (max + 1), len;
	const uint8_t *p = fuzz_bytes(in, want, &len);
	char *s = malloc(len + 1);

	if (!s)
		abort();
	memcpy(s, p, len);
	s[len] = '\0';
	return s;
}

#endif
