#include "state.h"

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
out:
	buf_release(&path);
	return found;
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
out:
	buf_release(&path);
	return r;
}

int state_lock(struct state *st, const char *name, unsigned timeout)
{
	struct buf path = BUF_INIT;
	long long deadline;
	int fd = -1;
	int r;

	if ((r = check_name("lock name", name)) < 0)
		return r;
	if ((r = subdir_path(st, &path, "locks")) < 0 ||
	    (r = buf_addf(&path, "%s.lock", name)) < 0)
		goto out;
	fd = open(path.ptr, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW |
		  O_NOCTTY, 0600);
	if (fd < 0) {
		r = error_set_errno(ERR_SYS, "cannot open lock '%s'", name);
		goto out;
	}
	deadline = timeutil_now_ms() + (long long)timeout * 1000;
	for (;;) {
		long long left;

		if (!flock(fd, LOCK_EX | LOCK_NB))
			break;
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK) {
			r = error_set_errno(ERR_SYS, "cannot take lock '%s'",
					    name);
			goto out;
		}
		left = deadline - timeutil_now_ms();
		if (left <= 0) {
			r = error_set(ERR_TIMEOUT, "lock '%s' is held by "
				      "another deploy (waited %u s)",
				      name, timeout);
			goto out;
		}
		poll(NULL, 0, left < LOCK_RETRY_MS ? (int)left : LOCK_RETRY_MS);
	}
	r = fd;
	fd = -1;
out:
	if (fd >= 0)
		close(fd);
	buf_release(&path);
	return r;
}

void state_unlock(int fd)
{
	if (fd < 0)
		return;
	/*
	 * Unlock explicitly: a forked child may share the open file
	 * description, and closing our copy alone would not release it.
	 */
	flock(fd, LOCK_UN);
	close(fd);
}

int state_artifact_path(struct state *st, struct buf *out, const char *hex)
{
	size_t base = out->len;
	int r;

	if (strlen(hex) != CACHE_KEY_LEN ||
	    strspn(hex, "0123456789abcdef") != CACHE_KEY_LEN)
		return error_set(ERR_INVALID, "bad commit id '%.60s'", hex);
	if ((r = buf_addf(out, "%s/artifacts", st->dir)) < 0)
		return r;
	if ((r = make_private_dir(out->ptr)) < 0) {
		buf_truncate(out, base);
		return r;
	}
	return buf_addf(out, "/%s", hex);
}

/* Append one field, tabs and control characters made spaces. */
static void add_field(struct buf *b, const char *s, bool last)
{
	size_t i;

	if (!s || !*s)
		s = "-";
	for (i = 0; s[i] && i < STATE_FIELD_MAX; i++) {
		unsigned char c = (unsigned char)s[i];

		buf_addch(b, (c < 0x20 || c == 0x7f) ? ' ' : (char)c);
	}
	buf_addch(b, last ? '\n' : '\t');
}

int state_history_add(struct state *st, const struct history_record *rec)
{
	struct buf line = BUF_INIT;
	struct buf path = BUF_INIT;
	char stamp[32], dur[32];
	time_t t = (time_t)rec->time;
	struct tm tm;
	int fd = -1, r;

	gmtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(dur, sizeof(dur), "%.1f", rec->duration);
	buf_init(&line, STATE_HISTORY_MAX_LINE);
	add_field(&line, stamp, false);
	add_field(&line, rec->env, false);
	add_field(&line, rec->action, false);
	add_field(&line, rec->commit, false);
	add_field(&line, rec->release, false);
	add_field(&line, rec->user, false);
	add_field(&line, rec->result, false);
	add_field(&line, dur, false);
	add_field(&line, rec->reason, true);
	if (!line.len || line.ptr[line.len - 1] != '\n') {
		r = error_set(ERR_TOOBIG, "history record too long");
		goto out;
	}
	buf_addf(&path, "%s/history", st->dir);
	fd = open(path.ptr, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW |
		  O_CLOEXEC, 0600);
	if (fd < 0) {
		r = error_set_errno(ERR_SYS, "cannot open '%s'", path.ptr);
		goto out;
	}
	/* one write: records of concurrent deploys never interleave */
	r = fsutil_write_all(fd, line.ptr, line.len);
out:
	if (fd >= 0 && close(fd) < 0 && !r)
		r = error_set_errno(ERR_SYS, "cannot write '%s'", path.ptr);
	buf_release(&line);
	buf_release(&path);
	return r;
}

static int parse_record(struct history_record *rec, char *line)
{
	char *f[9];
	struct tm tm;
	size_t i;
	char *p = line, *end;

	for (i = 0; i < 9; i++) {
		f[i] = p;
		p = strchr(p, i < 8 ? '\t' : '\n');
		if (!p) {
			if (i < 8)
				return -1;
		} else {
			*p++ = '\0';
		}
		if (!strcmp(f[i], "-"))
			f[i][0] = '\0';
	}
	memset(&tm, 0, sizeof(tm));
	end = strptime(f[0], "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (!end || *end)
		return -1;
	memset(rec, 0, sizeof(*rec));
	rec->time = (int64_t)timegm(&tm);
	rec->env = f[1];
	rec->action = f[2];
	rec->commit = f[3];
	rec->release = f[4];
	rec->user = f[5];
	rec->result = f[6];
	rec->duration = strtod(f[7], NULL);
	rec->reason = f[8];
	return 0;
}

int state_history_read(struct state *st, state_history_fn fn, void *payload)
{
	struct buf path = BUF_INIT;
	char *line = xmalloc(STATE_HISTORY_MAX_LINE + 2);
	bool skipping = false;
	FILE *fp;
	int r = 0;

	buf_addf(&path, "%s/history", st->dir);
	fp = fopen(path.ptr, "re");
	if (!fp) {
		r = errno == ENOENT ? 0 :
		    error_set_errno(ERR_SYS, "cannot read '%s'", path.ptr);
		buf_release(&path);
		free(line);
		return r;
	}
	/* bounded lines: a longer one (never written by us) is skipped */
	while (fgets(line, STATE_HISTORY_MAX_LINE + 2, fp)) {
		struct history_record rec;
		bool whole = strchr(line, '\n') != NULL;

		if (skipping || !whole) {
			skipping = !whole;
			continue;
		}
		if (parse_record(&rec, line) < 0)
			continue;
		if ((r = fn(&rec, payload)) != 0)
			break;
	}
	free(line);
	fclose(fp);
	buf_release(&path);
	return r;
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

struct last_scan {
	const char *env;
	struct history_last *out;
};

static void keep_record(struct history_record *dst,
			const struct history_record *src, struct strvec *keep)
{
	*dst = *src;
	dst->env = strvec_push(keep, src->env);
	dst->action = strvec_push(keep, src->action);
	dst->commit = strvec_push(keep, src->commit);
	dst->release = strvec_push(keep, src->release);
	dst->user = strvec_push(keep, src->user);
	dst->result = strvec_push(keep, src->result);
	dst->reason = strvec_push(keep, src->reason);
}

static int scan_last(const struct history_record *rec, void *payload)
{
	struct last_scan *l = payload;

	if (strcmp(rec->env, l->env))
		return 0;
	if (!strcmp(rec->result, "ok"))
		keep_record(&l->out->ok, rec, &l->out->keep);
	keep_record(&l->out->any, rec, &l->out->keep);
	return 0;
}

int state_history_last(struct state *st, const char *env,
		       struct history_last *out)
{
	struct last_scan l;

	memset(out, 0, sizeof(*out));
	strvec_init(&out->keep);
	l.env = env;
	l.out = out;
	return state_history_read(st, scan_last, &l);
}

void state_history_last_release(struct history_last *l)
{
	strvec_clear(&l->keep);
	memset(l, 0, sizeof(*l));
	strvec_init(&l->keep);
}
