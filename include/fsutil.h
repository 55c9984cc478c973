#ifndef FSUTIL_H
#define FSUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>


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

/* True if `path` exists (lstat). */
bool fsutil_exists(const char *path);

/* Limits of fsutil_walk(). */
#define FSUTIL_MAX_DEPTH 256
#define FSUTIL_MAX_PATH 4096
#define FSUTIL_MAX_ENTRIES 2000000

/* One entry met by fsutil_walk(). Everything is borrowed for the call. */
struct fsutil_entry {
	const char *path;	/* relative to the walked root */
	const char *name;	/* last component, within `dirfd` */
	int dirfd;		/* the directory holding it */
	mode_t mode;		/* from lstat: type and permission bits */
	uint64_t size;		/* regular files */
	const char *link_target;	/* symlinks, else NULL */
};

typedef int (*fsutil_walk_fn)(const struct fsutil_entry *e, void *payload);

/*
 * Walk the directory `root` (not itself reported): every entry in name
 * order, each directory before its contents, never following a symlink.
 * A non-zero return from `fn` stops the walk and is returned.
 */
int fsutil_walk(const char *root, fsutil_walk_fn fn, void *payload);

/*
 * Open the regular file of an entry for reading (O_NOFOLLOW), checking
 * it is still a regular file of the size reported.
 */
int fsutil_entry_open(const struct fsutil_entry *e);

/*
 * Is `path` a safe relative path: not empty, not absolute, no empty, "."
 * or ".." component, at most FSUTIL_MAX_PATH bytes? 0, or ERR_INVALID /
 * ERR_TOOBIG with a message naming it.
 */
int fsutil_check_relpath(const char *path);

/*
 * A tree writer: entries written under one directory, each directory
 * before what it holds, every path checked with fsutil_check_relpath()
 * and opened one component at a time with O_NOFOLLOW, so that nothing is
 * ever written through a symlink or outside the directory. A later entry
 * for an existing file or symlink replaces it; a directory is never
 * replaced. Files are created with exactly the mode given (no umask).
 */
struct fsutil_writer {
	int rootfd;
	int parentfd;		/* cached directory of the last entry */
	char *parent;		/* its path relative to rootfd */
	int filefd;		/* file being written */
	uint64_t file_left;
	char *file_path;
	uint64_t bytes;		/* file bytes written */
	size_t entries;
	int64_t mtime;		/* stamped on files and symlinks; 0: now */
};

#define FSUTIL_WRITER_INIT { -1, -1, NULL, -1, 0, NULL, 0, 0, 0 }

/* Open `dir`, creating it (mode 0755) first if `create` is set. */
int fsutil_writer_open(struct fsutil_writer *w, const char *dir, bool create);
int fsutil_writer_dir(struct fsutil_writer *w, const char *path,
		      unsigned mode);
/* A file of `size` bytes, given by fsutil_writer_data() calls. */
int fsutil_writer_file(struct fsutil_writer *w, const char *path,
		       unsigned mode, uint64_t size);
int fsutil_writer_data(struct fsutil_writer *w, const void *data,
		       size_t len);
int fsutil_writer_symlink(struct fsutil_writer *w, const char *path,
			  const char *target);
/* Finish: the last file must be complete. Frees everything. */
int fsutil_writer_close(struct fsutil_writer *w);

/* The writer as a sink (borrowing `w`, which stays open). */
struct sink;
void fsutil_writer_sink(struct sink *out, struct fsutil_writer *w);

/*
 * The permission bits an exported entry keeps: at most 0755 (no setuid,
 * setgid or sticky bit, no write for group or others), whatever a build
 * left on it.
 */
unsigned fsutil_release_mode(unsigned mode);

/*
 * Write the tree under the local directory `root` into `sink`: every
 * directory and regular file (its bits, through fsutil_release_mode(),
 * and its bytes) and symlink, in fsutil_walk() order; sockets, fifos and
 * devices are not part of a release and are skipped.
 */
int fsutil_export_dir(const char *root, struct sink *sink);

#endif
