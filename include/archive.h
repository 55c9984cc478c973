#ifndef ARCHIVE_H
#define ARCHIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Release entries: validation of their names and POSIX tar (ustar with
 * pax extended headers for long names) encoding into a sink.
 *
 * A release is written as a stream of entries, each directory before its
 * contents. Names are relative paths of the release. Every name is
 * checked before anything is written for it: not absolute, no empty, "."
 * or ".." component, no NUL, at most ARCHIVE_MAX_PATH bytes, and no
 * proper prefix naming a symlink written earlier in the same stream (so
 * nothing can land outside the release directory through a link).
 */

#define ARCHIVE_BLOCK 512
#define ARCHIVE_MAX_PATH 4096		/* = FSUTIL_MAX_PATH */
#define ARCHIVE_MAX_LINK 4096
#define ARCHIVE_MAX_SYMLINKS 200000

/* Receives encoded bytes; returns 0 or a negative error. */
typedef int (*archive_write_fn)(const void *data, size_t len, void *payload);

struct archive {
	archive_write_fn write;
	void *payload;
	uint64_t mtime;		/* stamped on every entry */
	uint64_t bytes;		/* bytes written to the sink */
	uint64_t file_left;	/* data still owed for the open file */
	uint64_t file_size;
	char **links;		/* hash set of symlink paths written */
	size_t links_nr;
	size_t links_alloc;
	unsigned char *out;	/* output buffer of ARCHIVE_BUFSZ bytes */
	size_t out_len;
};

/* Bytes buffered before each write to the sink. */
#define ARCHIVE_BUFSZ (256 * 1024)

/* Start a stream writing to `write(…, payload)`; allocates nothing. */
void archive_init(struct archive *a, archive_write_fn write, void *payload,
		  uint64_t mtime);

/*
 * Is `path` acceptable as a release entry name (see above)? Returns 0 or
 * ERR_INVALID / ERR_TOOBIG with a message naming the entry.
 */
int archive_check_name(const struct archive *a, const char *path);

/* A directory entry. `mode` holds the permission bits. */
int archive_add_dir(struct archive *a, const char *path, unsigned mode);

/*
 * A regular file of `size` bytes: its header, then exactly `size` bytes
 * through archive_add_data() (in any number of calls); the padding is
 * written by the next add or by archive_finish().
 */
int archive_add_file(struct archive *a, const char *path, unsigned mode,
		     uint64_t size);
int archive_add_data(struct archive *a, const void *data, size_t len);

/* A symlink to `target` (any text without NUL, at most ARCHIVE_MAX_LINK). */
int archive_add_symlink(struct archive *a, const char *path,
			const char *target);

/* True if `path` was written as a symlink in this stream. */
bool archive_is_symlink(const struct archive *a, const char *path);

/* The end-of-archive marker (two zero blocks); flushes everything. */
int archive_finish(struct archive *a);

/* Free the symlink set. */
void archive_release(struct archive *a);

/* The stream as a sink (borrowing `a`). */
struct sink;
void archive_sink(struct sink *out, struct archive *a);

#endif
