#ifndef SINK_H
#define SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Where the entries of a release or checkout go, one at a time, each
 * directory before what it holds: a directory written on disk
 * (fsutil_writer_sink()), a tar stream (archive_sink()), a host's upload.
 * Whoever walks a tree, a commit's or a build's, writes into a sink and
 * never needs to know which one.
 *
 * A file is announced with its size, then exactly that many bytes come
 * through sink_data() (in any number of calls). Paths are relative to
 * the sink's root; the sink checks them (see fsutil_check_relpath()).
 */

struct sink_ops {
	int (*dir)(void *self, const char *path, unsigned mode);
	/*
	 * Optional (NULL: everything): does the sink want the entry at
	 * `path`? A walker asks before it reads an entry's content, and
	 * still walks into a directory it does not want.
	 */
	bool (*wants)(void *self, const char *path);
	int (*file)(void *self, const char *path, unsigned mode,
		    uint64_t size);
	int (*data)(void *self, const void *data, size_t len);
	int (*symlink)(void *self, const char *path, const char *target);
};

struct sink {
	const struct sink_ops *ops;
	void *self;
	uint64_t entries;	/* entries written so far */
	uint64_t bytes;		/* file bytes written so far */
};

/* Point `s` at `ops` over `self`, counters at zero. */
void sink_init(struct sink *s, const struct sink_ops *ops, void *self);

/* Does `s` want the entry at `path`? (See sink_ops.wants.) */
bool sink_wants(struct sink *s, const char *path);

/* One entry each; 0 or the sink's error. `mode`: permission bits. */
int sink_dir(struct sink *s, const char *path, unsigned mode);
int sink_file(struct sink *s, const char *path, unsigned mode,
	      uint64_t size);
int sink_data(struct sink *s, const void *data, size_t len);
int sink_symlink(struct sink *s, const char *path, const char *target);

/*
 * A whole file at once: sink_file() with `len` bytes of `data`, then the
 * data.
 */
int sink_file_data(struct sink *s, const char *path, unsigned mode,
		   const void *data, size_t len);

/*
 * A whole file read from `fd` (at its current offset): exactly `size`
 * bytes, read in bounded chunks. ERR_SYS naming `path` if the file ends
 * early (it changed while read).
 */
int sink_file_fd(struct sink *s, const char *path, unsigned mode, int fd,
		 uint64_t size);

/*
 * A filter in front of another sink: every entry whose path `refuse`
 * rejects (a non-zero error with its message set) stops the walk. Used
 * for names pushgate reserves at a release's top (REVISION, FAILED).
 */
typedef int (*sink_check_fn)(const char *path, void *payload);

struct sink_filter {
	struct sink *next;
	sink_check_fn refuse;
	void *payload;
};

void sink_filter_init(struct sink *s, struct sink_filter *f,
		      struct sink *next, sink_check_fn refuse, void *payload);

#endif
