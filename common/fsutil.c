#include "fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "errors.h"
#include "sink.h"

/* Attempts at a unique temporary name before giving up. */
#define TEMP_ATTEMPTS 100

static int check_private(const char *path, int fd)
{
	struct stat st;
	int flags;

	if (fstat(fd, &st) < 0)
		return error_set_errno(ERR_SYS, "cannot stat '%s'", path);
	if (!S_ISREG(st.st_mode))
		return error_set(ERR_INVALID, "'%s' is not a regular file",
				 path);
	if (st.st_uid != getuid() && st.st_uid != 0)
		return error_set(ERR_INVALID,
				 "'%s' is owned by uid %lu, not by this user "
				 "(uid %lu) or root", path,
				 (unsigned long)st.st_uid,
				 (unsigned long)getuid());
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return error_set(ERR_INVALID,
				 "'%s' is writable by group or others "
				 "(run: chmod go-w %s)", path, path);
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0)
		return error_set_errno(ERR_SYS, "cannot open '%s'", path);
	return 0;
}

int fsutil_open_private_file(const char *path)
{
	int fd, r;

	/*
	 * O_NONBLOCK so that a FIFO planted at `path` cannot block the open;
	 * check_private() clears it once we know this is a regular file.
	 */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK |
		  O_NOCTTY);
	if (fd < 0) {
		if (errno == ENOENT)
			return error_set(ERR_NOTFOUND, "'%s' does not exist",
					 path);
		if (errno == ELOOP)
			return error_set(ERR_INVALID,
					 "'%s' is a symbolic link (make it a "
					 "regular file)", path);
		return error_set_errno(ERR_SYS, "cannot open '%s'", path);
	}
	if ((r = check_private(path, fd)) < 0) {
		close(fd);
		return r;
	}
	return fd;
}

int fsutil_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			int e = errno;

			if (e == EINTR)
				continue;
			error_set_errno(ERR_SYS, "cannot write");
			errno = e;	/* for callers adding a file name */
			return ERR_SYS;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int mkdir_one(const char *path, mode_t mode)
{
	struct stat st;

	if (!mkdir(path, mode))
		return 0;
	if (errno != EEXIST)
		return error_set_errno(ERR_SYS, "cannot create directory '%s'",
				       path);
	if (stat(path, &st) < 0)
		return error_set_errno(ERR_SYS, "cannot stat '%s'", path);
	if (!S_ISDIR(st.st_mode))
		return error_set(ERR_INVALID, "'%s' is not a directory", path);
	return 0;
}

int fsutil_mkdir_p(const char *path, mode_t mode)
{
	char *copy = NULL;
	char *p;
	int r = 0;

	if (!*path)
		return error_set(ERR_INVALID, "cannot create directory ''");
	copy = xstrdup(path);
	for (p = copy + 1; *p; p++) {
		if (*p != '/' || p[-1] == '/')
			continue;
		*p = '\0';
		r = mkdir_one(copy, mode);
		*p = '/';
		if (r < 0)
			goto out;
	}
	r = mkdir_one(copy, mode);
out:
	free(copy);
	return r;
}

/*
 * Open the directory `name` in `parent_fd` without following a symlink, and
 * make sure we can list and empty it: a directory left read-only (or
 * without any permission) gets u+rwx first. Returns the fd, or -1 with
 * errno set.
 */
static int open_dir_for_removal(int parent_fd, const char *name)
{
	const int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
	struct stat st;
	int fd, e;

	fd = openat(parent_fd, name, flags);
	if (fd < 0 && errno == EACCES) {
		if (fchmodat(parent_fd, name, S_IRWXU,
			     AT_SYMLINK_NOFOLLOW) < 0)
			return -1;
		fd = openat(parent_fd, name, flags);
	}
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0)
		goto fail;
	if ((st.st_mode & S_IRWXU) != S_IRWXU &&
	    fchmod(fd, (st.st_mode & 07777) | S_IRWXU) < 0)
		goto fail;
	return fd;
fail:
	e = errno;
	close(fd);
	errno = e;
	return -1;
}

/*
 * One pass over the directory `d`: remove every entry that is not a
 * non-empty directory. Stops at the first non-empty subdirectory and
 * returns it open in *child (else -1).
 */
static int remove_entries(DIR *d, int *child, const char *top)
{
	struct dirent *de;
	int e;

	*child = -1;
	for (;;) {
		const char *name;

		errno = 0;
		de = readdir(d);
		if (!de)
			break;
		name = de->d_name;
		if (!strcmp(name, ".") || !strcmp(name, ".."))
			continue;
		if (!unlinkat(dirfd(d), name, 0) || errno == ENOENT)
			continue;
		if (errno != EISDIR && errno != EPERM)
			goto fail;
		e = errno;
		if (!unlinkat(dirfd(d), name, AT_REMOVEDIR) || errno == ENOENT)
			continue;
		if (errno == ENOTDIR)
			errno = e;	/* not a directory after all */
		if (errno != ENOTEMPTY && errno != EEXIST)
			goto fail;
		*child = open_dir_for_removal(dirfd(d), name);
		if (*child < 0)
			goto fail;
		return 0;
	}
	if (errno)
		return error_set_errno(ERR_SYS, "cannot read '%s'", top);
	return 0;
fail:
	return error_set_errno(ERR_SYS, "cannot remove '%s' in '%s'",
			       de->d_name, top);
}

struct dir_id {
	dev_t dev;
	ino_t ino;
};

/*
 * Empty the directory open as `fd` (taken over), depth first, without
 * recursion and with one directory open at a time: descend into a
 * non-empty subdirectory, and come back up through ".." once it is empty,
 * checking that ".." is still the directory we came from (so a directory
 * moved away meanwhile cannot lead us outside the tree). The parent is
 * then scanned again, which removes the emptied subdirectory.
 */
static int empty_dir(int fd, const char *top)
{
	struct dir_id *stack = NULL;
	size_t depth = 0, alloc = 0;
	DIR *d = NULL;
	struct stat st;
	int next = -1;
	int r = 0;

	d = fdopendir(fd);
	if (!d) {
		r = error_set_errno(ERR_SYS, "cannot read '%s'", top);
		close(fd);
		goto out;
	}
	for (;;) {
		if ((r = remove_entries(d, &next, top)) < 0)
			goto out;
		if (next >= 0) {
			/* Descend, remembering where we came from. */
			if (fstat(dirfd(d), &st) < 0) {
				r = error_set_errno(ERR_SYS,
						    "cannot remove '%s'", top);
				goto out;
			}
			if (depth == alloc) {
				alloc = alloc ? alloc * 2 : 16;
				stack = xreallocarray(stack, alloc,
						      sizeof(*stack));
			}
			stack[depth].dev = st.st_dev;
			stack[depth].ino = st.st_ino;
			depth++;
		} else if (depth) {
			/* Empty: go back up. */
			next = openat(dirfd(d), "..",
				      O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (next < 0) {
				r = error_set_errno(ERR_SYS,
						    "cannot remove '%s'", top);
				goto out;
			}
			depth--;
			if (fstat(next, &st) < 0 ||
			    st.st_dev != stack[depth].dev ||
			    st.st_ino != stack[depth].ino) {
				r = error_set(ERR_SYS, "cannot remove '%s': "
					      "a directory moved meanwhile",
					      top);
				goto out;
			}
		} else {
			break;
		}
		closedir(d);
		d = fdopendir(next);
		if (!d) {
			/* fdopendir() failed: `next` is still ours. */
			r = error_set_errno(ERR_SYS, "cannot remove '%s'", top);
			goto out;
		}
		next = -1;
	}
out:
	if (next >= 0)
		close(next);
	if (d)
		closedir(d);
	free(stack);
	return r;
}

int fsutil_remove_tree(const char *path)
{
	struct stat st;
	int fd, r;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		return error_set_errno(ERR_SYS, "cannot remove '%s'", path);
	}
	if (!S_ISDIR(st.st_mode)) {
		if (unlink(path) < 0 && errno != ENOENT)
			return error_set_errno(ERR_SYS, "cannot remove '%s'",
					       path);
		return 0;
	}
	fd = open_dir_for_removal(AT_FDCWD, path);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		/* Replaced by something else since the lstat()? */
		if (errno != ENOTDIR && errno != ELOOP)
			return error_set_errno(ERR_SYS, "cannot remove '%s'",
					       path);
		if (unlink(path) < 0 && errno != ENOENT)
			return error_set_errno(ERR_SYS, "cannot remove '%s'",
					       path);
		return 0;
	}
	if ((r = empty_dir(fd, path)) < 0)
		return r;
	if (rmdir(path) < 0 && errno != ENOENT)
		return error_set_errno(ERR_SYS, "cannot remove '%s'", path);
	return 0;
}

/*
 * Append "<dir of path>/.<base of path>.<tag>-" to `b`, where the random
 * suffix is added by the caller.
 */
static int temp_prefix(struct buf *b, const char *path, const char *tag)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	int r;

	if (!*base)
		return error_set(ERR_INVALID, "'%s' is not a file name", path);
	if (slash && (r = buf_add(b, path, (size_t)(base - path))) < 0)
		return r;
	return buf_addf(b, ".%s.%s-", base, tag);
}

static void fsync_parent(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int fd;

	dir = slash ? xstrndup(path, slash == path ? 1 : (size_t)(slash - path))
		    : xstrdup(".");
	/* Best effort: some file systems refuse fsync on directories. */
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(dir);
}

int fsutil_write_file_atomic(const char *path, const void *data, size_t len,
			     mode_t mode)
{
	struct buf tmp = BUF_INIT;
	int fd = -1;
	int r;

	if ((r = temp_prefix(&tmp, path, "tmp")) < 0 ||
	    (r = buf_addstr(&tmp, "XXXXXX")) < 0)
		goto out;
	/* mkostemp() creates the file with O_EXCL and mode 0600. */
	fd = mkostemp(tmp.ptr, O_CLOEXEC);
	if (fd < 0) {
		r = error_set_errno(ERR_SYS,
				    "cannot create a temporary file for '%s'",
				    path);
		buf_reset(&tmp);
		goto out;
	}
	if (fchmod(fd, mode) < 0) {
		r = error_set_errno(ERR_SYS, "cannot set the mode of '%s'",
				    tmp.ptr);
		goto out;
	}
	if ((r = fsutil_write_all(fd, data, len)) < 0) {
		r = error_set_errno(ERR_SYS, "cannot write '%s'", tmp.ptr);
		goto out;
	}
	if (fsync(fd) < 0) {
		r = error_set_errno(ERR_SYS, "cannot sync '%s'", tmp.ptr);
		goto out;
	}
	if (close(fd) < 0) {
		fd = -1;
		r = error_set_errno(ERR_SYS, "cannot write '%s'", tmp.ptr);
		goto out;
	}
	fd = -1;
	if (rename(tmp.ptr, path) < 0) {
		r = error_set_errno(ERR_SYS, "cannot rename '%s' to '%s'",
				    tmp.ptr, path);
		goto out;
	}
	buf_reset(&tmp);
	fsync_parent(path);
out:
	if (fd >= 0)
		close(fd);
	if (tmp.len)
		unlink(tmp.ptr);
	buf_release(&tmp);
	return r;
}

bool fsutil_exists(const char *path)
{
	struct stat st;

	return !lstat(path, &st);
}

struct walk {
	struct buf path;
	fsutil_walk_fn fn;
	void *payload;
	size_t entries;
};

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in directory `fd`, sorted; *nr_out of them (caller frees). */
static int list_dir(char ***out, size_t *nr_out, int fd, const char *path)
{
	struct dirent *de;
	char **names = NULL;
	size_t nr = 0, alloc = 0, i;
	DIR *dir;
	int dup_fd = dup(fd);

	*out = NULL;
	*nr_out = 0;
	if (dup_fd < 0 || !(dir = fdopendir(dup_fd))) {
		if (dup_fd >= 0)
			close(dup_fd);
		return error_set_errno(ERR_SYS, "cannot read '%s'", path);
	}
	while ((de = readdir(dir))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (nr == alloc) {
			alloc = alloc ? alloc * 2 : 32;
			names = xreallocarray(names, alloc, sizeof(*names));
		}
		names[nr++] = xstrdup(de->d_name);
		if (nr > FSUTIL_MAX_ENTRIES) {
			for (i = 0; i < nr; i++)
				free(names[i]);
			free(names);
			closedir(dir);
			return error_set(ERR_TOOBIG, "'%s' holds too many entries",
					 path);
		}
	}
	closedir(dir);
	if (nr)
		qsort(names, nr, sizeof(*names), cmp_names);
	*out = names;
	*nr_out = nr;
	return 0;
}

static int walk_dir(struct walk *w, int fd, size_t depth)
{
	char **names = NULL;
	size_t nr = 0, i;
	int r;

	if (depth > FSUTIL_MAX_DEPTH)
		return error_set(ERR_TOOBIG, "directories nested deeper than %d",
				 FSUTIL_MAX_DEPTH);
	if ((r = list_dir(&names, &nr, fd, w->path.ptr)) < 0)
		return r;
	for (i = 0; i < nr && !r; i++) {
		size_t base = w->path.len;
		struct fsutil_entry e;
		char target[FSUTIL_MAX_PATH + 1];
		struct stat st;

		if (++w->entries > FSUTIL_MAX_ENTRIES) {
			r = error_set(ERR_TOOBIG, "more than %d entries",
				      FSUTIL_MAX_ENTRIES);
			break;
		}
		if ((base && buf_addch(&w->path, '/') < 0) ||
		    buf_addstr(&w->path, names[i]) < 0) {
			r = error_set(ERR_TOOBIG, "a path is longer than %d bytes",
				      FSUTIL_MAX_PATH);
			break;
		}
		memset(&e, 0, sizeof(e));
		e.path = w->path.ptr;
		e.name = names[i];
		e.dirfd = fd;
		if (fstatat(fd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
			r = error_set_errno(ERR_SYS, "cannot stat '%s'", e.path);
			break;
		}
		e.mode = st.st_mode;
		e.size = S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
		if (S_ISLNK(st.st_mode)) {
			ssize_t n = readlinkat(fd, names[i], target,
					       sizeof(target) - 1);

			if (n < 0 || (size_t)n >= sizeof(target) - 1) {
				r = error_set(ERR_INVALID,
					      "cannot read the symlink '%s'",
					      e.path);
				break;
			}
			target[n] = '\0';
			e.link_target = target;
		}
		r = w->fn(&e, w->payload);
		if (!r && S_ISDIR(st.st_mode)) {
			int sub = openat(fd, names[i], O_RDONLY | O_DIRECTORY |
					 O_NOFOLLOW | O_CLOEXEC);

			if (sub < 0) {
				r = error_set_errno(ERR_SYS, "cannot open '%s'",
						    w->path.ptr);
				break;
			}
			r = walk_dir(w, sub, depth + 1);
			close(sub);
		}
		buf_truncate(&w->path, base);
	}
	for (i = 0; i < nr; i++)
		free(names[i]);
	free(names);
	return r;
}

int fsutil_walk(const char *root, fsutil_walk_fn fn, void *payload)
{
	struct walk w;
	int fd, r;

	fd = open(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return error_set_errno(errno == ENOENT ? ERR_NOTFOUND : ERR_SYS,
				       "cannot open directory '%s'", root);
	buf_init(&w.path, FSUTIL_MAX_PATH);
	w.fn = fn;
	w.payload = payload;
	w.entries = 0;
	r = walk_dir(&w, fd, 0);
	close(fd);
	buf_release(&w.path);
	return r;
}

int fsutil_entry_open(const struct fsutil_entry *e)
{
	struct stat st;
	int fd;

	fd = openat(e->dirfd, e->name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
		    O_NONBLOCK);
	if (fd < 0)
		return error_set_errno(ERR_SYS, "cannot open '%s'", e->path);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size != e->size) {
		close(fd);
		return error_set(ERR_SYS, "'%s' changed while read", e->path);
	}
	return fd;
}

int fsutil_check_relpath(const char *path)
{
	size_t len = strlen(path), i, start = 0;

	if (!len)
		return error_set(ERR_INVALID, "empty entry name");
	if (len > FSUTIL_MAX_PATH)
		return error_set(ERR_TOOBIG, "entry name longer than %d bytes",
				 FSUTIL_MAX_PATH);
	if (path[0] == '/')
		return error_set(ERR_INVALID, "entry '%.200s' is absolute",
				 path);
	for (i = 0; i <= len; i++) {
		size_t n;

		if (path[i] != '/' && path[i] != '\0')
			continue;
		n = i - start;
		if (!n || (n == 1 && path[start] == '.') ||
		    (n == 2 && path[start] == '.' && path[start + 1] == '.'))
			return error_set(ERR_INVALID,
					 "entry '%.200s' has an empty, '.' or '..' component",
					 path);
		start = i + 1;
	}
	return 0;
}

int fsutil_writer_open(struct fsutil_writer *w, const char *dir, bool create)
{
	w->rootfd = w->parentfd = w->filefd = -1;
	w->parent = w->file_path = NULL;
	w->file_left = w->bytes = 0;
	w->entries = 0;
	w->mtime = 0;
	if (create && mkdir(dir, 0755) < 0)
		return error_set_errno(ERR_SYS, "cannot create '%s'", dir);
	w->rootfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (w->rootfd < 0)
		return error_set_errno(ERR_SYS, "cannot open '%s'", dir);
	return 0;
}

/* Close the file being written, checking its size. */
static int writer_end_file(struct fsutil_writer *w)
{
	int r = 0;

	if (w->filefd < 0)
		return 0;
	if (w->file_left)
		r = error_set(ERR_INVALID, "'%.200s' ended %llu bytes short",
			      w->file_path, (unsigned long long)w->file_left);
	if (!r && w->mtime) {
		struct timespec t[2] = { { w->mtime, 0 }, { w->mtime, 0 } };

		if (futimens(w->filefd, t) < 0)
			r = error_set_errno(ERR_SYS, "cannot stamp '%.200s'",
					    w->file_path);
	}
	if (close(w->filefd) < 0 && !r)
		r = error_set_errno(ERR_SYS, "cannot write '%.200s'",
				    w->file_path);
	w->filefd = -1;
	free(w->file_path);
	w->file_path = NULL;
	return r;
}

/*
 * The fd of the directory holding `path` (borrowed), opened one component
 * at a time with O_NOFOLLOW; *name_out points at the last component.
 */
static int writer_parent(struct fsutil_writer *w, const char *path,
			 const char **name_out)
{
	const char *slash = strrchr(path, '/');
	size_t plen = slash ? (size_t)(slash - path) : 0;
	const char *p = path;
	int fd, next;

	*name_out = slash ? slash + 1 : path;
	if (!plen)
		return w->rootfd;
	if (w->parent && strlen(w->parent) == plen &&
	    !strncmp(w->parent, path, plen))
		return w->parentfd;
	if (w->parentfd >= 0)
		close(w->parentfd);
	free(w->parent);
	w->parent = NULL;
	w->parentfd = -1;
	fd = w->rootfd;
	while (p < path + plen) {
		size_t n = strcspn(p, "/");
		char *comp = xstrndup(p, n);

		next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
			      O_CLOEXEC);
		free(comp);
		if (fd != w->rootfd)
			close(fd);
		if (next < 0)
			return error_set_errno(ERR_INVALID,
					       "cannot enter the directory of '%.200s'",
					       path);
		fd = next;
		p += n + 1;
	}
	w->parent = xstrndup(path, plen);
	w->parentfd = fd;
	return fd;
}

/* Make room for a new entry `name` in `dirfd` (replace a file). */
static int writer_replace(int dirfd, const char *name, const char *path)
{
	struct stat st;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 :
		       error_set_errno(ERR_SYS, "cannot stat '%.200s'", path);
	if (S_ISDIR(st.st_mode))
		return error_set(ERR_INVALID,
				 "'%.200s' would replace a directory", path);
	if (unlinkat(dirfd, name, 0) < 0)
		return error_set_errno(ERR_SYS, "cannot replace '%.200s'", path);
	return 0;
}

static int writer_begin(struct fsutil_writer *w, const char *path,
			const char **name)
{
	int r;

	if (w->rootfd < 0)
		BUG("fsutil writer not open");
	w->entries++;
	if ((r = writer_end_file(w)) < 0 ||
	    (r = fsutil_check_relpath(path)) < 0)
		return r;
	return writer_parent(w, path, name);
}

int fsutil_writer_dir(struct fsutil_writer *w, const char *path,
		      unsigned mode)
{
	const char *name;
	struct stat st;
	int dirfd;

	if ((dirfd = writer_begin(w, path, &name)) < 0)
		return dirfd;
	if (mkdirat(dirfd, name, mode & 07777) == 0)
		return fchmodat(dirfd, name, mode & 07777, 0) < 0 ?
		       error_set_errno(ERR_SYS, "cannot chmod '%.200s'",
				       path) : 0;
	if (errno == EEXIST && fstatat(dirfd, name, &st,
				       AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISDIR(st.st_mode))
		return 0;
	return error_set_errno(ERR_SYS, "cannot create directory '%.200s'",
			       path);
}

int fsutil_writer_file(struct fsutil_writer *w, const char *path,
		       unsigned mode, uint64_t size)
{
	const char *name;
	int dirfd, fd, r;

	if ((dirfd = writer_begin(w, path, &name)) < 0)
		return dirfd;
	if ((r = writer_replace(dirfd, name, path)) < 0)
		return r;
	fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, 0600);
	if (fd < 0)
		return error_set_errno(ERR_SYS, "cannot create '%.200s'", path);
	if (fchmod(fd, mode & 07777) < 0) {
		close(fd);
		return error_set_errno(ERR_SYS, "cannot chmod '%.200s'", path);
	}
	w->filefd = fd;
	w->file_left = size;
	w->file_path = xstrdup(path);
	return 0;
}

int fsutil_writer_data(struct fsutil_writer *w, const void *data,
		       size_t len)
{
	int r;

	if (w->filefd < 0 || len > w->file_left)
		return error_set(ERR_INVALID, "file data past its size");
	if ((r = fsutil_write_all(w->filefd, data, len)) < 0)
		return r;
	w->file_left -= len;
	w->bytes += len;
	return 0;
}

int fsutil_writer_symlink(struct fsutil_writer *w, const char *path,
			  const char *target)
{
	const char *name;
	int dirfd, r;

	if ((dirfd = writer_begin(w, path, &name)) < 0)
		return dirfd;
	if (!*target || strlen(target) > FSUTIL_MAX_PATH)
		return error_set(ERR_INVALID,
				 "symlink '%.200s' has a bad target", path);
	if ((r = writer_replace(dirfd, name, path)) < 0)
		return r;
	if (symlinkat(target, dirfd, name) < 0)
		return error_set_errno(ERR_SYS, "cannot create '%.200s'", path);
	if (w->mtime) {
		struct timespec t[2] = { { w->mtime, 0 }, { w->mtime, 0 } };

		if (utimensat(dirfd, name, t, AT_SYMLINK_NOFOLLOW) < 0)
			return error_set_errno(ERR_SYS, "cannot stamp '%.200s'",
					       path);
	}
	return 0;
}

int fsutil_writer_close(struct fsutil_writer *w)
{
	int r = writer_end_file(w);

	if (w->parentfd >= 0)
		close(w->parentfd);
	if (w->rootfd >= 0)
		close(w->rootfd);
	w->parentfd = w->rootfd = -1;
	free(w->parent);
	w->parent = NULL;
	return r;
}

static int ws_dir(void *self, const char *path, unsigned mode)
{
	return fsutil_writer_dir(self, path, mode);
}

static int ws_file(void *self, const char *path, unsigned mode,
		   uint64_t size)
{
	return fsutil_writer_file(self, path, mode, size);
}

static int ws_data(void *self, const void *data, size_t len)
{
	return fsutil_writer_data(self, data, len);
}

static int ws_symlink(void *self, const char *path, const char *target)
{
	return fsutil_writer_symlink(self, path, target);
}

static const struct sink_ops writer_sink_ops = {
	ws_dir, NULL, ws_file, ws_data, ws_symlink
};

void fsutil_writer_sink(struct sink *out, struct fsutil_writer *w)
{
	sink_init(out, &writer_sink_ops, w);
}

unsigned fsutil_release_mode(unsigned mode)
{
	return mode & 0755;
}

static int export_entry(const struct fsutil_entry *e, void *payload)
{
	struct sink *sink = payload;
	int fd, r;

	if (!sink_wants(sink, e->path))
		return 0;	/* a directory is still walked into */
	if (S_ISDIR(e->mode))
		return sink_dir(sink, e->path, fsutil_release_mode(e->mode));
	if (S_ISLNK(e->mode))
		return sink_symlink(sink, e->path, e->link_target);
	if (!S_ISREG(e->mode))
		return 0;
	if ((fd = fsutil_entry_open(e)) < 0)
		return fd;
	r = sink_file_fd(sink, e->path, fsutil_release_mode(e->mode), fd,
			 e->size);
	close(fd);
	return r;
}

int fsutil_export_dir(const char *root, struct sink *sink)
{
	return fsutil_walk(root, export_entry, sink);
}
