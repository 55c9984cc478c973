#include "history.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "errors.h"
#include "fsutil.h"
#include "timeutil.h"

/* The fields of a record; older records lack the last one. */
#define NR_FIELDS 10
#define NR_FIELDS_OLD 9

static const char *const action_names[] = {
	[HISTORY_DEPLOY] = "deploy",
	[HISTORY_ROLLBACK] = "rollback",
	[HISTORY_NOTIFY] = "notify",
};

static const char *const result_names[] = {
	[HISTORY_OK] = "ok",
	[HISTORY_FAILED] = "failed",
	[HISTORY_SKIPPED] = "skipped",
	[HISTORY_HELD] = "held",
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

const char *history_action_name(enum history_action action)
{
	if ((size_t)action >= ARRAY_SIZE(action_names))
		BUG("history_action_name: %d", (int)action);
	return action_names[action];
}

const char *history_result_name(enum history_result result)
{
	if ((size_t)result >= ARRAY_SIZE(result_names))
		BUG("history_result_name: %d", (int)result);
	return result_names[result];
}

/* The index of `word` in `names`, or -1. */
static int lookup(const char *const *names, size_t nr, const char *word)
{
	size_t i;

	for (i = 0; i < nr; i++)
		if (!strcmp(names[i], word))
			return (int)i;
	return -1;
}

/* Append one field, tabs and control characters made spaces. */
static void add_field(struct buf *b, const char *s, bool last)
{
	size_t i;

	if (!s || !*s)
		s = "-";
	for (i = 0; s[i] && i < HISTORY_FIELD_MAX; i++) {
		unsigned char c = (unsigned char)s[i];

		buf_addch(b, (c < 0x20 || c == 0x7f) ? ' ' : (char)c);
	}
	buf_addch(b, last ? '\n' : '\t');
}

/* The mark of a record carried over into a new file by a rotation. */
#define CARRIED '~'

/* `dir`/history, history.1 (ROTATED) or history.new (NEXT). */
#define CURRENT ""
#define ROTATED ".1"
#define NEXT ".new"

static int history_path(struct buf *out, struct state *st, const char *which)
{
	if (!st->dir)
		BUG("history used before state_open()");
	buf_reset(out);
	buf_addf(out, "%s/history%s", st->dir, which);
	return buf_error(out);
}

/*
 * The history's lock: exclusive to append (and rotate), shared to read.
 * -1 when it could not be had in time: then go on without it, a record
 * matters more (but no rotation runs without it).
 */
static int lock_history(struct state *st, bool shared)
{
	struct state_lock_opts o = STATE_LOCK_OPTS_INIT;
	int fd;

	o.timeout = HISTORY_LOCK_TIMEOUT;
	o.shared = shared;
	if ((fd = state_lock(st, "history", &o)) < 0)
		error_clear();
	return fd;
}

static int parse_record(struct history_record *rec, char *line)
{
	char *f[NR_FIELDS];
	char *p = line, *nl = strchr(line, '\n');
	int action, result;
	size_t i, nr = 0;

	if (nl)
		*nl = '\0';
	while (nr < NR_FIELDS) {
		f[nr++] = p;
		if (!(p = strchr(p, '\t')))
			break;
		*p++ = '\0';
	}
	if (p || nr < NR_FIELDS_OLD)
		return -1;
	if (nr == NR_FIELDS_OLD)
		f[nr++] = line + strlen(line);	/* "" */
	for (i = 0; i < nr; i++)
		if (!strcmp(f[i], "-"))
			f[i][0] = '\0';
	memset(rec, 0, sizeof(*rec));
	action = lookup(action_names, ARRAY_SIZE(action_names), f[2]);
	result = lookup(result_names, ARRAY_SIZE(result_names), f[6]);
	if (action < 0 || result < 0 || timeutil_parse_iso(&rec->time,
							    f[0]) < 0) {
		error_clear();
		return -1;
	}
	rec->env = f[1];
	rec->action = (enum history_action)action;
	rec->commit = f[3];
	rec->release = f[4];
	rec->user = f[5];
	rec->result = (enum history_result)result;
	rec->duration = strtod(f[7], NULL);
	rec->reason = f[8];
	rec->upload = f[9];
	return 0;
}

/*
 * One line of `fp` into `line` (HISTORY_MAX_LINE + 2 bytes), newline
 * kept. Returns its length, or -1 at the end of the file; *bad when it
 * was too long, held a NUL, or had no newline.
 */
static long read_line(FILE *fp, char *line, bool *bad)
{
	size_t n = 0;
	bool any = false;
	int c = EOF;

	*bad = false;
	while ((c = getc(fp)) != EOF) {
		any = true;
		if (c == '\n')
			break;
		if (c == '\0' || n >= HISTORY_MAX_LINE)
			*bad = true;
		else
			line[n++] = (char)c;
	}
	if (!any)
		return -1;
	if (c != '\n')
		*bad = true;
	line[n++] = '\n';
	line[n] = '\0';
	return (long)n;
}

/* Called per record of a file, with its line as written (newline kept). */
typedef int (*line_fn)(const char *line, size_t len,
		       const struct history_record *rec, bool carried,
		       void *payload);

/*
 * Every line of `fp` that parses, to `fn`; damaged lines (too long, a
 * NUL, cut short) are counted into *damaged, and only they are lost.
 */
static int scan_file(FILE *fp, line_fn fn, void *payload, size_t *damaged)
{
	char *line = xmalloc(HISTORY_MAX_LINE + 2);
	char *copy = xmalloc(HISTORY_MAX_LINE + 2);
	struct history_record rec;
	long n;
	bool bad;
	int r = 0;

	while ((n = read_line(fp, line, &bad)) >= 0) {
		char *p = line;
		bool carried = false;

		if (bad) {
			(*damaged)++;
			continue;
		}
		if (*p == CARRIED) {
			carried = true;
			p++;
			n--;
		}
		memcpy(copy, p, (size_t)n + 1);
		if (parse_record(&rec, copy) < 0)
			continue;
		if ((r = fn(p, (size_t)n, &rec, carried, payload)) != 0)
			break;
	}
	free(line);
	free(copy);
	return r;
}

/* ---- rotation ----------------------------------------------------------- */

/* One environment's records in the file being rotated. */
struct carry_env {
	char *name;
	size_t total, ok_total;		/* records; successful ones */
	size_t seen, ok_seen;		/* so far, in the current pass */
};

struct carry {
	struct carry_env *env;
	size_t nr;
	size_t quota;		/* successes carried per environment */
	size_t bytes;		/* what the pass selected */
	int fd;			/* the new file, or -1: only measure */
};

static bool success(const struct history_record *rec)
{
	return rec->action != HISTORY_NOTIFY && rec->result == HISTORY_OK;
}

static struct carry_env *carry_env(struct carry *c, const char *name,
				   bool add)
{
	size_t i;

	for (i = 0; i < c->nr; i++)
		if (!strcmp(c->env[i].name, name))
			return &c->env[i];
	if (!add || c->nr == HISTORY_CARRY_ENVS)
		return NULL;
	c->env = xreallocarray(c->env, c->nr + 1, sizeof(*c->env));
	memset(&c->env[c->nr], 0, sizeof(c->env[c->nr]));
	c->env[c->nr].name = xstrdup(name);
	return &c->env[c->nr++];
}

static int count_env(const char *line, size_t len,
		     const struct history_record *rec, bool carried,
		     void *payload)
{
	struct carry_env *e;

	(void)line;
	(void)len;
	(void)carried;
	if (rec->action == HISTORY_NOTIFY ||
	    !(e = carry_env(payload, rec->env, true)))
		return 0;
	e->total++;
	if (success(rec))
		e->ok_total++;
	return 0;
}

/* Its environment's newest record, or one of its newest successes. */
static int carry_line(const char *line, size_t len,
		      const struct history_record *rec, bool carried,
		      void *payload)
{
	struct carry *c = payload;
	struct carry_env *e;
	bool take;
	char mark = CARRIED;

	(void)carried;
	if (rec->action == HISTORY_NOTIFY ||
	    !(e = carry_env(c, rec->env, false)))
		return 0;
	take = ++e->seen == e->total;
	if (success(rec) && ++e->ok_seen + c->quota > e->ok_total)
		take = true;
	if (!take)
		return 0;
	if (c->fd >= 0 && c->bytes + len + 1 > HISTORY_CARRY_MAX)
		return 0;	/* only with absurdly long records */
	c->bytes += len + 1;
	if (c->fd < 0)
		return 0;
	if (fsutil_write_all(c->fd, &mark, 1) < 0 ||
	    fsutil_write_all(c->fd, line, len) < 0)
		return error_set_errno(ERR_SYS, "cannot write the history");
	return 0;
}

static int carry_pass(struct carry *c, FILE *fp)
{
	size_t i, damaged = 0;

	for (i = 0; i < c->nr; i++)
		c->env[i].seen = c->env[i].ok_seen = 0;
	c->bytes = 0;
	rewind(fp);
	return scan_file(fp, carry_line, c, &damaged);
}

/*
 * `history` becomes history.1, and a new `history` starts with what it
 * carries over (see history.h). Under the lock, taken exclusive.
 */
static int rotate(struct state *st)
{
	struct buf cur = BUF_INIT, old = BUF_INIT, next = BUF_INIT;
	struct carry c;
	size_t i, damaged = 0;
	FILE *fp = NULL;
	int r;

	memset(&c, 0, sizeof(c));
	c.fd = -1;
	c.quota = HISTORY_CARRY_OK;
	if ((r = history_path(&cur, st, CURRENT)) < 0 ||
	    (r = history_path(&old, st, ROTATED)) < 0 ||
	    (r = history_path(&next, st, NEXT)) < 0)
		goto out;
	if (!(fp = fopen(cur.ptr, "re"))) {
		r = error_set_errno(ERR_SYS, "cannot read '%s'", cur.ptr);
		goto out;
	}
	if ((r = scan_file(fp, count_env, &c, &damaged)) < 0)
		goto out;
	/* fewer successes per environment until it fits */
	while ((r = carry_pass(&c, fp)) == 0 &&
	       c.bytes > HISTORY_CARRY_MAX && c.quota > 1)
		c.quota /= 2;
	if (r < 0)
		goto out;
	c.fd = open(next.ptr, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
		    O_CLOEXEC, 0600);
	if (c.fd < 0) {
		r = error_set_errno(ERR_SYS, "cannot create '%s'", next.ptr);
		goto out;
	}
	if ((r = carry_pass(&c, fp)) < 0)
		goto out;
	if (fsync(c.fd) < 0 || close(c.fd) < 0) {
		c.fd = -1;
		r = error_set_errno(ERR_SYS, "cannot write '%s'", next.ptr);
		goto out;
	}
	c.fd = -1;
	if (rename(cur.ptr, old.ptr) < 0 || rename(next.ptr, cur.ptr) < 0)
		r = error_set_errno(ERR_SYS, "cannot rotate the history");
out:
	if (c.fd >= 0)
		close(c.fd);
	if (r < 0 && next.ptr)
		unlink(next.ptr);
	if (fp)
		fclose(fp);
	for (i = 0; i < c.nr; i++)
		free(c.env[i].name);
	free(c.env);
	buf_release(&cur);
	buf_release(&old);
	buf_release(&next);
	return r;
}

/* ---- appending ---------------------------------------------------------- */

static int open_current(struct buf *path, struct state *st)
{
	int fd, r;

	if ((r = history_path(path, st, CURRENT)) < 0)
		return r;
	fd = open(path->ptr, O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW |
		  O_CLOEXEC, 0600);
	if (fd < 0)
		return error_set_errno(ERR_SYS, "cannot open '%s'", path->ptr);
	return fd;
}

int history_add(struct state *st, const struct history_record *rec)
{
	struct buf line = BUF_INIT;
	struct buf path = BUF_INIT;
	char stamp[TIMEUTIL_TEXT_MAX], dur[32];
	struct stat sb;
	int fd = -1, lock = -1, r;

	timeutil_format(stamp, rec->time, TIMEUTIL_ISO);
	snprintf(dur, sizeof(dur), "%.1f", rec->duration);
	buf_init(&line, HISTORY_MAX_LINE);
	add_field(&line, stamp, false);
	add_field(&line, rec->env, false);
	add_field(&line, history_action_name(rec->action), false);
	add_field(&line, rec->commit, false);
	add_field(&line, rec->release, false);
	add_field(&line, rec->user, false);
	add_field(&line, history_result_name(rec->result), false);
	add_field(&line, dur, false);
	add_field(&line, rec->reason, false);
	add_field(&line, rec->upload, true);
	if (buf_error(&line)) {
		r = error_set(ERR_TOOBIG, "history record too long");
		goto out;
	}
	lock = lock_history(st, false);
	if ((r = fd = open_current(&path, st)) < 0)
		goto out;
	/* bounded: a full file is rotated first, under the lock only */
	if (lock >= 0 && fstat(fd, &sb) == 0 && sb.st_size > 0 &&
	    (uint64_t)sb.st_size + line.len > HISTORY_ROTATE_SIZE) {
		if (rotate(st) == 0) {
			close(fd);
			if ((r = fd = open_current(&path, st)) < 0)
				goto out;
		}
		error_clear();	/* the record matters more than the bound */
	}
	/*
	 * A record torn by a crash (no newline at the end of the file) must
	 * not swallow this one: it starts on a line of its own.
	 */
	{
		char last = '\n';

		if (fstat(fd, &sb) == 0 && sb.st_size > 0 &&
		    pread(fd, &last, 1, sb.st_size - 1) == 1 && last != '\n') {
			struct buf framed = BUF_INIT;

			buf_init(&framed, HISTORY_MAX_LINE + 1);
			buf_addch(&framed, '\n');
			buf_add(&framed, line.ptr, line.len);
			buf_release(&line);
			line = framed;
		}
	}
	/* one write: records of concurrent deploys never interleave */
	r = fsutil_write_all(fd, line.ptr, line.len);
out:
	if (fd >= 0 && close(fd) < 0 && !r)
		r = error_set_errno(ERR_SYS, "cannot write '%s'", path.ptr);
	state_unlock(lock);
	buf_release(&line);
	buf_release(&path);
	return r;
}

struct reader {
	bool notes;		/* pass notes on */
	bool skip_carried;	/* history.1 was read: its records are */
	history_fn fn;
	void *payload;
};

static int read_one(const char *line, size_t len,
		    const struct history_record *rec, bool carried,
		    void *payload)
{
	struct reader *rd = payload;

	(void)line;
	(void)len;
	if ((carried && rd->skip_carried) ||
	    (rec->action == HISTORY_NOTIFY && !rd->notes))
		return 0;
	return rd->fn(rec, rd->payload);
}

/*
 * history.1, then `history`, to `fn` (the caller holds the lock, shared);
 * the damaged lines skipped are counted into *damaged.
 */
static int read_records(struct state *st, bool notes, history_fn fn,
			void *payload, size_t *damaged)
{
	static const char *const files[] = { ROTATED, CURRENT };
	struct reader rd = { notes, false, fn, payload };
	struct buf path = BUF_INIT;
	size_t i;
	int r = 0;

	for (i = 0; !r && i < sizeof(files) / sizeof(*files); i++) {
		FILE *fp;

		if ((r = history_path(&path, st, files[i])) < 0)
			break;
		if (!(fp = fopen(path.ptr, "re"))) {
			if (errno != ENOENT)
				r = error_set_errno(ERR_SYS,
						    "cannot read '%s'",
						    path.ptr);
			continue;
		}
		r = scan_file(fp, read_one, &rd, damaged);
		fclose(fp);
		/* what the next file carries over, this one holds */
		rd.skip_carried = true;
	}
	buf_release(&path);
	return r;
}

int history_read(struct state *st, history_fn fn, void *payload)
{
	size_t damaged = 0;
	int lock = lock_history(st, true);
	int r = read_records(st, false, fn, payload, &damaged);

	state_unlock(lock);
	return r;
}

struct last_scan {
	const char *env;
	struct history_last *out;
};

/* Copy `src` into *dst, its strings into `keep` (only this record's). */
static void keep_record(struct history_record *dst,
			const struct history_record *src, struct strvec *keep)
{
	strvec_clear(keep);
	*dst = *src;
	dst->env = strvec_push(keep, src->env);
	dst->commit = strvec_push(keep, src->commit);
	dst->release = strvec_push(keep, src->release);
	dst->user = strvec_push(keep, src->user);
	dst->reason = strvec_push(keep, src->reason);
	dst->upload = strvec_push(keep, src->upload);
}

static int scan_last(const struct history_record *rec, void *payload)
{
	struct last_scan *l = payload;

	if (strcmp(rec->env, l->env))
		return 0;
	if (rec->result == HISTORY_OK)
		keep_record(&l->out->ok, rec, &l->out->keep_ok);
	keep_record(&l->out->any, rec, &l->out->keep_any);
	return 0;
}

int history_last(struct state *st, const char *env, struct history_last *out)
{
	struct last_scan l;

	memset(out, 0, sizeof(*out));
	strvec_init(&out->keep_ok);
	strvec_init(&out->keep_any);
	l.env = env;
	l.out = out;
	return history_read(st, scan_last, &l);
}

void history_last_release(struct history_last *l)
{
	strvec_clear(&l->keep_ok);
	strvec_clear(&l->keep_any);
	memset(l, 0, sizeof(*l));
	strvec_init(&l->keep_ok);
	strvec_init(&l->keep_any);
}

struct newest {
	const char *env;
	size_t max;
	size_t total;		/* matching records, first pass */
	size_t seen;		/* matching records so far, second pass */
	struct history_record *keep;	/* the last `max`, oldest first */
	struct strvec *strings;		/* their strings, one vector each */
	size_t nr;
};

static bool wanted(const struct newest *n, const struct history_record *r)
{
	return !n->env || !strcmp(r->env, n->env);
}

static int count(const struct history_record *r, void *payload)
{
	struct newest *n = payload;

	if (wanted(n, r))
		n->total++;
	return 0;
}

static int collect(const struct history_record *r, void *payload)
{
	struct newest *n = payload;

	if (!wanted(n, r) || n->seen++ < n->total - n->max || n->nr >= n->max)
		return 0;
	keep_record(&n->keep[n->nr], r, &n->strings[n->nr]);
	n->nr++;
	return 0;
}

int history_newest(size_t *damaged_out, struct state *st, const char *env,
		   size_t max, history_fn fn, void *payload)
{
	struct newest n;
	size_t i, damaged = 0, ignored = 0;
	int lock, r;

	if (damaged_out)
		*damaged_out = 0;
	memset(&n, 0, sizeof(n));
	n.env = env;
	/* both passes see the same records: appends wait for the lock */
	lock = lock_history(st, true);
	if ((r = read_records(st, true, count, &n, &damaged)) != 0) {
		state_unlock(lock);
		return r;
	}
	if (damaged_out)
		*damaged_out = damaged;
	n.max = max < n.total ? max : n.total;
	n.keep = xcalloc(n.max ? n.max : 1, sizeof(*n.keep));
	n.strings = xcalloc(n.max ? n.max : 1, sizeof(*n.strings));
	for (i = 0; i < n.max; i++)
		strvec_init(&n.strings[i]);
	r = read_records(st, true, collect, &n, &ignored);
	state_unlock(lock);
	for (i = n.nr; !r && i-- > 0;)
		r = fn(&n.keep[i], payload);
	for (i = 0; i < n.max; i++)
		strvec_clear(&n.strings[i]);
	free(n.strings);
	free(n.keep);
	return r;
}

#define ROW "%-20s  %-12s  %-8s  %-12.12s  %-29s  %-10s  %-7s  "

void history_format_header(struct buf *out)
{
	buf_addf(out, ROW "%7s  %s", "TIME", "ENV", "ACTION", "COMMIT",
		 "RELEASE", "USER", "RESULT", "TOOK", "REASON");
}

void history_format(struct buf *out, const struct history_record *r)
{
	char when[TIMEUTIL_TEXT_MAX];

	timeutil_format(when, r->time, TIMEUTIL_HUMAN);
	buf_addf(out, ROW "%6.1fs  %s", when, r->env,
		 history_action_name(r->action), r->commit,
		 r->release[0] ? r->release : "-", r->user[0] ? r->user : "-",
		 history_result_name(r->result), r->duration, r->reason);
}
