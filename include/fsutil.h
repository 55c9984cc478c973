#ifndef FSUTIL_H
#define FSUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "buf.h"

/*
 * File-system helpers: no-follow and close-on-exec opens, ownership and
 * mode checks, private directories, full reads and writes, removal of
 * trees, atomic replacement of files and symlinks.
 */

/*
 * Open `path` read-only without following a final symlink, with
 * O_CLOEXEC, and check it is a regular file owned by the current user or
 * root and not writable by group or others. Returns the fd, or
 * ERR_NOTFOUND if it does not exist, ERR_INVALID with a message naming
 * the fix (e.g. "chmod go-w") if it is unsafe, ERR_SYS otherwise.
 */
int fsutil_open_private_file(const char *path);

/* Read all of fd into `out` (bounded by out->cap). */
int fsutil_read_fd(struct buf *out, int fd);

/* Write all of `len` bytes, retrying on EINTR and short writes. */
int fsutil_write_all(int fd, const void *data, size_t len);

/* mkdir -p with `mode` for the directories created. */
int fsutil_mkdir_p(const char *path, mode_t mode);

/*
 * Remove `path` and everything under it, never following symlinks.
 * A missing path is not an error.
 */
int fsutil_remove_tree(const char *path);

/*
 * Write `data` to `path` atomically: a temporary file in the same
 * directory (mode `mode`), fsync, rename over `path`.
 */
int fsutil_write_file_atomic(const char *path, const void *data, size_t len,
			     mode_t mode);

/*
 * Point the symlink `linkpath` at `target` atomically: create a new link
 * beside it and rename it over the old one.
 */
int fsutil_symlink_swap(const char *target, const char *linkpath);

/* True if `path` exists (lstat). */
bool fsutil_exists(const char *path);

#endif
