#include "state.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "errors.h"
#include "fsutil.h"
#include "timeutil.h"

/* Milliseconds between two attempts at a busy lock. */
#define LOCK_RETRY_MS 50

/* Length of a cache key: a SHA-1 in lowercase hex. */
#define CACHE_KEY_LEN 40

static const char *const subdirs[] = { "tmp", "cache", "locks" };

static int make_private_dir(const char *path)
{
	struct stat st;

	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return error_set_errno(ERR_SYS, "cannot create directory '%s'",
				       path);
	if (lstat(path, &st) < 0)
		return error_set_errno(ERR_SYS, "cannot stat '%s'", path);
	if (!S_ISDIR(st.st_mode))
		return error_set(ERR_INVALID, "'%s' is not a directory", path);
	return 0;
}

int state_open(struct state *st, const char *git_dir)
{
	struct buf path = BUF_INIT;
	char *abs = NULL;
	size_t i, base;
	int r = 0;

	st->dir = NULL;
	abs = realpath(git_dir, NULL);
	if (!abs) {
		if (errno == ENOENT)
			return error_set(ERR_NOTFOUND,
					 "repository '%s' does not exist",
					 git_dir);
		return error_set_errno(ERR_SYS, "cannot resolve '%s'",
				       git_dir);
	}
	if ((r = buf_addf(&path, "%s/pushgate",
			  strcmp(abs, "/") ? abs : "")) < 0 ||
	    (r = make_private_dir(path.ptr)) < 0)
		goto out;
	base = path.len;
	for (i = 0; i < sizeof(subdirs) / sizeof(*subdirs); i++) {
		buf_truncate(&path, base);
		if ((r = buf_addf(&path, "/%s", subdirs[i])) < 0 ||
		    (r = make_private_dir(path.ptr)) < 0)
			goto out;
	}
	buf_truncate(&path, base);
	st->dir = buf_detach(&path, NULL);
out:
	buf_release(&path);
	free(abs);
	return r;
}

void state_release(struct state *st)
{
	free(st->dir);
	st->dir = NULL;
}

/* A label or lock name: [A-Za-z0-9._-]+ not starting with '.'. */
static int check_name(const char *what, const char *name)
{
	const char *p;

	if (!*name)
		return error_set(ERR_INVALID, "empty %s", what);
	if (*name == '.')
		return error_set(ERR_INVALID, "invalid %s '%s': leading '.'",
				 what, name);
	for (p = name; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("._-", *p))
			continue;
		return error_set(ERR_INVALID,
				 "invalid %s '%s': only letters, digits, "
				 "'.', '_' and '-' are allowed", what, name);
	}
	return 0;
}

/*
 * Set `path` to "<state>/<sub>/" (creating <sub> again if it was removed
 * since state_open()).
 */
static int subdir_path(struct state *st, struct buf *path, const char *sub)
{
	int r;

	if (!st->dir)
		BUG("state used before state_open()");
	buf_reset(path);
	if ((r = buf_addf(path, "%s/%s", st->dir, sub)) < 0 ||
	    (r = make_private_dir(path->ptr)) < 0)
		return r;
	return buf_addch(path, '/');
}

int state_mkdtemp(struct state *st, struct buf *out, const char *label)
{
	struct buf path = BUF_INIT;
	int r;

	if ((r = check_name("label", label)) < 0)
		return r;
	if ((r = subdir_path(st, &path, "tmp")) < 0 ||
	    (r = buf_addf(&path, "%s-XXXXXX", label)) < 0)
		goto out;
	if (!mkdtemp(path.ptr)) {
		r = error_set_errno(ERR_SYS, "cannot create directory '%s'",
				    path.ptr);
		goto out;
	}
	if ((r = buf_add(out, path.ptr, path.len)) < 0)
		rmdir(path.ptr);
out:
	buf_release(&path);
	return r;
}

void state_tmp_sweep(struct state *st, int64_t older_than)
{
	struct buf dir = BUF_INIT, path = BUF_INIT;
	time_t now = time(NULL);
	struct dirent *de;
	struct stat sb;
	DIR *d;

	if (subdir_path(st, &dir, "tmp") < 0 || !(d = opendir(dir.ptr))) {
		error_clear();
		goto out;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		buf_reset(&path);
		buf_addf(&path, "%s%s", dir.ptr, de->d_name);
		if (buf_error(&path) || lstat(path.ptr, &sb) < 0 ||
		    !S_ISDIR(sb.st_mode) ||
		    (int64_t)(now - sb.st_mtime) <= older_than)
			continue;
		/* left by a process killed outright: nobody uses it */
		if (fsutil_remove_tree(path.ptr) < 0)
			error_clear();
	}
	closedir(d);
out:
	buf_release(&dir);
	buf_release(&path);
}

static int check_key(const char *key)
{
	size_t i;

	for (i = 0; i < CACHE_KEY_LEN; i++)
		if (!((key[i] >= '0' && key[i] <= '9') ||
		      (key[i] >= 'a' && key[i] <= 'f')))
			break;
	if (i != CACHE_KEY_LEN || key[i])
		return error_set(ERR_INVALID,
				 "invalid cache key '%.64s': expected %d "
				 "lowercase hex digits", key, CACHE_KEY_LEN);
	return 0;
}

bool state_cache_has(struct state *st, const char *key)
{
	struct buf path = BUF_INIT;
	struct stat sb;
	bool found = false;

	if (check_key(key) < 0 || subdir_path(st, &path, "cache") < 0 ||
	    buf_addstr(&path, key) < 0) {
		error_clear();
		goto out;
	}
	found = !lstat(path.ptr, &sb) && S_ISREG(sb.st_mode);
	/* used now: the cache keeps what is used most recently */
	if (found && utimensat(AT_FDCWD, path.ptr, NULL,
			       AT_SYMLINK_NOFOLLOW) < 0)
		error_clear();
out:
	buf_release(&path);
	return found;
}

struct cache_entry {
	char key[CACHE_KEY_LEN + 1];
	int64_t used;
};

static int cache_newest_first(const void *a, const void *b)
{
	const struct cache_entry *x = a, *y = b;

	if (x->used != y->used)
		return x->used > y->used ? -1 : 1;
	return strcmp(x->key, y->key);
}

/* Seconds after which a temporary file nobody renamed is left over. */
#define STALE_TMP 3600

void state_cache_prune(struct state *st, size_t keep, int64_t max_age)
{
	struct cache_entry *v = NULL;
	struct buf dir = BUF_INIT;
	int64_t now = (int64_t)time(NULL);
	size_t nr = 0, alloc = 0, i;
	struct dirent *de;
	DIR *d;

	if (subdir_path(st, &dir, "cache") < 0 || !(d = opendir(dir.ptr))) {
		error_clear();
		goto out;
	}
	while ((de = readdir(d))) {
		struct stat sb;
		int64_t age;

		if (fstatat(dirfd(d), de->d_name, &sb,
			    AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(sb.st_mode))
			continue;
		age = now - (int64_t)sb.st_mtime;
		if (de->d_name[0] == '.') {
			if (age > STALE_TMP)
				unlinkat(dirfd(d), de->d_name, 0);
			continue;
		}
		if (strlen(de->d_name) != CACHE_KEY_LEN ||
		    check_key(de->d_name) < 0) {
			error_clear();
			continue;
		}
		if (age > max_age) {
			unlinkat(dirfd(d), de->d_name, 0);
			continue;
		}
		if (nr == alloc) {
			alloc = alloc ? 2 * alloc : 64;
			v = xreallocarray(v, alloc, sizeof(*v));
		}
		memcpy(v[nr].key, de->d_name, CACHE_KEY_LEN + 1);
		v[nr++].used = (int64_t)sb.st_mtime;
	}
	if (nr > keep) {
		qsort(v, nr, sizeof(*v), cache_newest_first);
		for (i = keep; i < nr; i++)
			unlinkat(dirfd(d), v[i].key, 0);
	}
	closedir(d);
out:
	free(v);
	buf_release(&dir);
}

int state_cache_add(struct state *st, const char *key)
{
	static const char content[] = "passed\n";
	struct buf path = BUF_INIT;
	int r;

	if ((r = check_key(key)) < 0)
		return r;
	if ((r = subdir_path(st, &path, "cache")) < 0 ||
	    (r = buf_addstr(&path, key)) < 0)
		goto out;
	r = fsutil_write_file_atomic(path.ptr, content, sizeof(content) - 1,
				     0600);
	if (!r)
		state_cache_prune(st, STATE_CACHE_KEEP, STATE_CACHE_MAX_AGE);
out:
	buf_release(&path);
	return r;
}

/* The lock file of `name`, opened with `flags`. */
static int open_lock(struct state *st, const char *name, int flags)
{
	struct buf path = BUF_INIT;
	int fd, r;

	if ((r = check_name("lock name", name)) < 0)
		return r;
	if ((r = subdir_path(st, &path, "locks")) < 0 ||
	    (r = buf_addf(&path, "%s.lock", name)) < 0)
		goto out;
	fd = open(path.ptr, flags | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
	if (fd < 0)
		r = error_set_errno(errno == ENOENT ? ERR_NOTFOUND : ERR_SYS,
				    "cannot open lock '%s'", name);
	else
		r = fd;
out:
	buf_release(&path);
	return r;
}

/* The holder line of an open lock file (caller frees), "" if none. */
static char *read_holder(int fd)
{
	struct buf b;
	char *p;

	buf_init(&b, STATE_HOLDER_MAX);
	if (lseek(fd, 0, SEEK_SET) < 0 || buf_read_fd(&b, fd) < 0) {
		error_clear();
		buf_reset(&b);
	}
	p = buf_detach(&b, NULL);
	p[strcspn(p, "\n")] = '\0';
	return p;
}

/* Tell the waiting caller, once, who holds the lock. */
static void tell_wait(int fd, const struct state_lock_opts *o)
{
	char *holder;

	if (!o->on_wait)
		return;
	holder = read_holder(fd);
	o->on_wait(*holder ? holder : NULL, o->payload);
	free(holder);
}

static void write_holder(int fd, const char *holder)
{
	size_t n = strcspn(holder, "\n");

	if (n > STATE_HOLDER_MAX - 1)
		n = STATE_HOLDER_MAX - 1;
	/* only a note for others: a failure changes nothing */
	if (ftruncate(fd, 0) < 0 || pwrite(fd, holder, n, 0) < 0)
		error_clear();
}

int state_lock(struct state *st, const char *name,
	       const struct state_lock_opts *o)
{
	int64_t deadline;
	bool told = false;
	int fd, r;

	if ((fd = open_lock(st, name, O_RDWR | O_CREAT)) < 0)
		return fd;
	deadline = timeutil_now_ms() + (int64_t)o->timeout * 1000;
	for (;;) {
		int64_t left;

		if (!flock(fd, (o->shared ? LOCK_SH : LOCK_EX) | LOCK_NB))
			break;
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK) {
			r = error_set_errno(ERR_SYS, "cannot take lock '%s'",
					    name);
			goto fail;
		}
		left = deadline - timeutil_now_ms();
		if (left <= 0) {
			r = error_set(ERR_TIMEOUT, "lock '%s' is held by "
				      "another deploy (waited %u s)",
				      name, o->timeout);
			goto fail;
		}
		if (o->cancelled && o->cancelled()) {
			r = error_set(ERR_GENERIC, "interrupted while waiting"
				      " for lock '%s'", name);
			goto fail;
		}
		if (!told) {
			tell_wait(fd, o);
			told = true;
		}
		poll(NULL, 0, left < LOCK_RETRY_MS ? (int)left : LOCK_RETRY_MS);
	}
	if (o->left_out) {
		/* a holder that lived emptied the file when it unlocked */
		char *left = read_holder(fd);

		*o->left_out = NULL;
		if (*left)
			*o->left_out = left;
		else
			free(left);
	}
	if (o->holder)
		write_holder(fd, o->holder);
	return fd;
fail:
	close(fd);
	return r;
}

void state_unlock(int fd)
{
	if (fd < 0)
		return;
	if (ftruncate(fd, 0) < 0)
		error_clear();
	/*
	 * Unlock explicitly: a forked child may share the open file
	 * description, and closing our copy alone would not release it.
	 */
	flock(fd, LOCK_UN);
	close(fd);
}

void state_lock_note(int fd, const char *holder)
{
	write_holder(fd, holder);
}

int state_lock_left(struct state *st, const char *name, char **holder_out)
{
	char *line;
	int fd;

	*holder_out = NULL;
	fd = open_lock(st, name, O_RDONLY);
	if (fd == ERR_NOTFOUND) {
		error_clear();
		return 0;	/* never taken */
	}
	if (fd < 0)
		return fd;
	while (flock(fd, LOCK_SH | LOCK_NB) < 0) {
		if (errno != EINTR) {
			/* held: its holder lives (or cannot be told) */
			close(fd);
			return 0;
		}
	}
	line = read_holder(fd);
	if (*line)
		*holder_out = line;
	else
		free(line);
	flock(fd, LOCK_UN);
	close(fd);
	return 0;
}

int state_lock_holder(struct state *st, const char *name, char **holder_out)
{
	int fd;

	*holder_out = NULL;
	fd = open_lock(st, name, O_RDONLY);
	if (fd == ERR_NOTFOUND) {
		error_clear();
		return 0;	/* never taken */
	}
	if (fd < 0)
		return fd;
	while (flock(fd, LOCK_SH | LOCK_NB) < 0) {
		if (errno == EINTR)
			continue;
		if (errno == EWOULDBLOCK)
			*holder_out = read_holder(fd);
		else
			error_clear();
		close(fd);
		return 0;
	}
	flock(fd, LOCK_UN);
	close(fd);
	return 0;
}

int state_artifact_path(struct state *st, struct buf *out, const char *key)
{
	size_t base = out->len;
	int r;

	if (strlen(key) != CACHE_KEY_LEN ||
	    strspn(key, "0123456789abcdef") != CACHE_KEY_LEN)
		return error_set(ERR_INVALID, "bad artifact key '%.60s'", key);
	if ((r = buf_addf(out, "%s/artifacts", st->dir)) < 0)
		return r;
	if ((r = make_private_dir(out->ptr)) < 0) {
		buf_truncate(out, base);
		return r;
	}
	return buf_addf(out, "/%s", key);
}

/* Mark an artifact used now: artifacts_keep drops the least recent. */
static void mark_used(const char *path)
{
	if (utimensat(AT_FDCWD, path, NULL, AT_SYMLINK_NOFOLLOW) < 0)
		error_clear();	/* only the order of dropping */
}

int state_artifact_store(struct state *st, const char *key, const char *dir)
{
	struct buf path = BUF_INIT;
	int r;

	if ((r = state_artifact_path(st, &path, key)) < 0)
		goto out;
	if (rename(dir, path.ptr) < 0) {
		if (errno == EEXIST || errno == ENOTEMPTY)
			r = fsutil_remove_tree(dir);	/* another build won */
		else
			r = error_set_errno(ERR_SYS,
					    "cannot keep the artifact");
	}
	/* kept now: what waits for its deploy is not dropped (artifact.h) */
	if (!r)
		mark_used(path.ptr);
out:
	buf_release(&path);
	return r;
}

/*
 * The lock file of KEY, opened (and created) and locked with `how`
 * (LOCK_SH, or LOCK_EX | LOCK_NB). A drop unlinks the file while it holds
 * it, so a lock taken on a file no longer at the path is let go and taken
 * again on the new one. ERR_TIMEOUT when LOCK_NB found it held.
 */
static int artifact_lock(struct state *st, const char *key, int how)
{
	struct buf path = BUF_INIT;
	struct stat held, now;
	int fd = -1, r, tries;

	if ((r = state_artifact_path(st, &path, key)) < 0 ||
	    (r = buf_addstr(&path, ".lock")) < 0)
		goto out;
	for (tries = 0; tries < 100; tries++) {
		fd = open(path.ptr, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW |
			  O_NOCTTY, 0600);
		if (fd < 0) {
			r = error_set_errno(ERR_SYS, "cannot open '%s'",
					    path.ptr);
			goto out;
		}
		while ((r = flock(fd, how)) < 0 && errno == EINTR)
			;
		if (r < 0) {
			r = errno == EWOULDBLOCK ? ERR_TIMEOUT :
			    error_set_errno(ERR_SYS, "cannot lock '%s'",
					    path.ptr);
			goto out;
		}
		if (fstat(fd, &held) == 0 && held.st_nlink > 0 &&
		    lstat(path.ptr, &now) == 0 && now.st_ino == held.st_ino &&
		    now.st_dev == held.st_dev) {
			r = fd;
			fd = -1;
			goto out;
		}
		close(fd);	/* dropped meanwhile: the new file's turn */
		fd = -1;
	}
	r = error_set(ERR_GENERIC, "cannot lock '%s'", path.ptr);
out:
	if (fd >= 0)
		close(fd);
	buf_release(&path);
	return r;
}

int state_artifact_hold(struct state *st, const char *key, unsigned flags,
			bool *found)
{
	struct buf path = BUF_INIT;
	struct stat sb;
	int fd;

	*found = false;
	if ((fd = artifact_lock(st, key, LOCK_SH)) < 0)
		return fd;
	state_artifact_path(st, &path, key);
	*found = !lstat(path.ptr, &sb) && S_ISDIR(sb.st_mode);
	if (*found && !(flags & STATE_HOLD_PEEK))
		mark_used(path.ptr);
	buf_release(&path);
	return fd;
}

int state_artifact_list(struct state *st, state_artifact_fn fn,
			void *payload)
{
	struct buf path = BUF_INIT;
	struct dirent *de;
	DIR *dir;
	int r = 0;

	buf_addf(&path, "%s/artifacts", st->dir);
	if (!(dir = opendir(path.ptr))) {
		r = errno == ENOENT ? 0 :
		    error_set_errno(ERR_SYS, "cannot read '%s'", path.ptr);
		goto out;
	}
	while (!r && (de = readdir(dir))) {
		struct stat sb;

		if (strlen(de->d_name) != CACHE_KEY_LEN ||
		    check_key(de->d_name) < 0 ||
		    fstatat(dirfd(dir), de->d_name, &sb,
			    AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(sb.st_mode)) {
			error_clear();
			continue;
		}
		r = fn(de->d_name, (int64_t)sb.st_mtime, payload);
	}
	closedir(dir);
out:
	buf_release(&path);
	return r;
}

int state_artifact_drop(struct state *st, const char *key, bool *dropped)
{
	struct buf path = BUF_INIT, gone = BUF_INIT;
	int fd, r = 0;

	*dropped = false;
	fd = artifact_lock(st, key, LOCK_EX | LOCK_NB);
	if (fd == ERR_TIMEOUT)
		return 0;	/* a deploy reads it */
	if (fd < 0)
		return fd;
	/*
	 * Out of sight first, with one rename: a removal that stops halfway
	 * must never leave a partial artifact under its key.
	 */
	state_artifact_path(st, &path, key);
	buf_addf(&gone, "%s/artifacts/.drop-%s-%ld", st->dir, key,
		 (long)getpid());
	if ((r = buf_error(&gone)) == 0 && rename(path.ptr, gone.ptr) < 0 &&
	    errno != ENOENT)
		r = error_set_errno(ERR_SYS, "cannot drop artifact '%s'", key);
	if (!r) {
		*dropped = true;
		/* while still held: a new holder locks a new file */
		buf_addstr(&path, ".lock");
		unlink(path.ptr);
	}
	flock(fd, LOCK_UN);
	close(fd);
	if (!r)
		r = fsutil_remove_tree(gone.ptr);
	buf_release(&path);
	buf_release(&gone);
	return r;
}

/*
 * The lock file `name` (KEY.lock) of an artifact that does not exist:
 * removed if nobody holds it. Unlinked while locked, as a drop does, so
 * that a holder that opened it meanwhile takes a new one.
 */
static void sweep_lock(struct state *st, const char *name)
{
	char key[CACHE_KEY_LEN + 1];
	struct buf path = BUF_INIT;
	struct stat sb;
	int fd;

	if (strlen(name) != CACHE_KEY_LEN + 5 ||
	    strcmp(name + CACHE_KEY_LEN, ".lock"))
		return;
	memcpy(key, name, CACHE_KEY_LEN);
	key[CACHE_KEY_LEN] = '\0';
	if (check_key(key) < 0 ||
	    state_artifact_path(st, &path, key) < 0 ||
	    !lstat(path.ptr, &sb) || errno != ENOENT)
		goto out;
	if ((fd = artifact_lock(st, key, LOCK_EX | LOCK_NB)) < 0)
		goto out;	/* held: a deploy is building it */
	if (lstat(path.ptr, &sb) < 0 && errno == ENOENT &&
	    buf_addstr(&path, ".lock") == 0)
		unlink(path.ptr);
	flock(fd, LOCK_UN);
	close(fd);
out:
	error_clear();
	buf_release(&path);
}

void state_artifact_sweep(struct state *st)
{
	struct buf path = BUF_INIT;
	struct dirent *de;
	DIR *dir;

	buf_addf(&path, "%s/artifacts", st->dir);
	if (buf_error(&path) || !(dir = opendir(path.ptr)))
		goto out;
	while ((de = readdir(dir))) {
		size_t base = path.len;

		if (strncmp(de->d_name, ".drop-", 6)) {
			sweep_lock(st, de->d_name);
			continue;
		}
		buf_addf(&path, "/%s", de->d_name);
		if (!buf_error(&path))
			fsutil_remove_tree(path.ptr);
		buf_truncate(&path, base);
	}
	closedir(dir);
out:
	error_clear();
	buf_release(&path);
}

int state_next_time(struct state *st, const char *name, int64_t now,
		    int64_t *out)
{
	struct buf path = BUF_INIT, text = BUF_INIT;
	char num[32];
	uint64_t last = 0;
	int fd, r;

	*out = now;
	if ((r = check_name("sequence name", name)) < 0)
		return r;
	buf_addf(&path, "%s/locks/%s.time", st->dir, name);
	buf_init(&text, 64);
	fd = open(path.ptr, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0) {
		if (buf_read_fd(&text, fd) == 0 &&
		    parse_uint(text.ptr, 0, INT64_MAX, &last) == 0 &&
		    (int64_t)last >= now)
			*out = (int64_t)last + 1;
		error_clear();
		close(fd);
	}
	snprintf(num, sizeof(num), "%lld", (long long)*out);
	r = fsutil_write_file_atomic(path.ptr, num, strlen(num), 0600);
	buf_release(&path);
	buf_release(&text);
	return r;
}

/* $STATE/KIND/ENV[/NAME], the directories made private as needed. */
static int env_path(struct state *st, struct buf *out, const char *kind,
		    const char *env, const char *what, const char *name)
{
	size_t base = out->len;
	int r;

	if ((r = check_name("environment", env)) < 0 ||
	    (name && (r = check_name(what, name)) < 0))
		return r;
	buf_addf(out, "%s/%s", st->dir, kind);
	if ((r = buf_error(out)) < 0 || (r = make_private_dir(out->ptr)) < 0)
		goto fail;
	buf_addf(out, "/%s", env);
	if ((r = buf_error(out)) < 0 || (r = make_private_dir(out->ptr)) < 0)
		goto fail;
	if (name)
		buf_addf(out, "/%s", name);
	if ((r = buf_error(out)) == 0)
		return 0;
fail:
	buf_truncate(out, base);
	return r;
}

int state_manifest_path(struct state *st, struct buf *out, const char *env,
			const char *id)
{
	return env_path(st, out, "manifests", env, "release id", id);
}

int state_log_path(struct state *st, struct buf *out, const char *env,
		   const char *name)
{
	return env_path(st, out, "logs", env, "log name", name);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in `dir` not starting with '.', sorted. */
static void list_names(struct strvec *out, const char *dir)
{
	struct dirent *de;
	DIR *d;

	if (!(d = opendir(dir)))
		return;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			strvec_push(out, de->d_name);
	closedir(d);
	qsort(out->v, out->nr, sizeof(*out->v), cmp_names);
}

/* Remove all but the last `keep` names of `dir` (and those in `also`). */
static void trim(const char *dir, size_t keep, const char *const *also)
{
	struct strvec names = STRVEC_INIT;
	struct buf path = BUF_INIT;
	const char *const *a;
	size_t i;

	list_names(&names, dir);
	for (i = 0; i + keep < names.nr; i++) {
		for (a = also; a && *a && strcmp(*a, names.v[i]); a++)
			;
		if (a && *a)
			continue;
		buf_reset(&path);
		buf_addf(&path, "%s/%s", dir, names.v[i]);
		if (!buf_error(&path))
			unlink(path.ptr);
	}
	strvec_clear(&names);
	buf_release(&path);
}

void state_manifests_trim(struct state *st, const char *env, size_t keep,
			  const char *const *also)
{
	struct buf dir = BUF_INIT;

	if (state_manifest_path(st, &dir, env, NULL) == 0)
		trim(dir.ptr, keep, also);
	error_clear();
	buf_release(&dir);
}

void state_logs_trim(struct state *st, const char *env, size_t keep)
{
	struct buf dir = BUF_INIT;

	if (state_log_path(st, &dir, env, NULL) == 0)
		trim(dir.ptr, keep, NULL);
	error_clear();
	buf_release(&dir);
}

int state_logs_list(struct state *st, const char *env, struct strvec *out)
{
	struct buf dir = BUF_INIT;
	int r;

	if ((r = state_log_path(st, &dir, env, NULL)) == 0)
		list_names(out, dir.ptr);
	buf_release(&dir);
	return r;
}

/* $STATE/holds/ENV */
static int hold_path(struct state *st, struct buf *out, const char *env)
{
	int r;

	if ((r = check_name("environment", env)) < 0)
		return r;
	buf_addf(out, "%s/holds", st->dir);
	if ((r = buf_error(out)) < 0 || (r = make_private_dir(out->ptr)) < 0)
		return r;
	buf_addf(out, "/%s", env);
	return buf_error(out);
}

int state_hold_set(struct state *st, const char *env, const char *text)
{
	struct buf path = BUF_INIT;
	int r;

	if ((r = hold_path(st, &path, env)) == 0)
		r = fsutil_write_file_atomic(path.ptr, text, strlen(text),
					     0600);
	buf_release(&path);
	return r;
}

int state_hold_get(struct state *st, const char *env, char **out)
{
	struct buf path = BUF_INIT, text;
	int fd, r;

	*out = NULL;
	buf_init(&text, STATE_HOLD_MAX);
	if ((r = hold_path(st, &path, env)) < 0)
		goto out;
	fd = open(path.ptr, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		r = errno == ENOENT ? 0 : error_set_errno(ERR_SYS,
				"cannot read '%s'", path.ptr);
		goto out;
	}
	r = buf_read_fd(&text, fd);
	close(fd);
	if (r == 0)
		*out = buf_detach(&text, NULL);
out:
	buf_release(&text);
	buf_release(&path);
	return r;
}

int state_hold_clear(struct state *st, const char *env, bool *was_held)
{
	struct buf path = BUF_INIT;
	int r;

	*was_held = false;
	if ((r = hold_path(st, &path, env)) == 0) {
		if (unlink(path.ptr) == 0)
			*was_held = true;
		else if (errno != ENOENT)
			r = error_set_errno(ERR_SYS, "cannot remove '%s'",
					    path.ptr);
	}
	buf_release(&path);
	return r;
}
