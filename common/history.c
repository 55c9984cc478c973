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

static int history_path(struct buf *out, struct state *st)
{
	if (!st->dir)
		BUG("history used before state_open()");
	buf_addf(out, "%s/history", st->dir);
	return buf_error(out);
}

int history_add(struct state *st, const struct history_record *rec)
{
	struct buf line = BUF_INIT;
	struct buf path = BUF_INIT;
	char stamp[TIMEUTIL_TEXT_MAX], dur[32];
	int fd = -1, r;

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
	if ((r = history_path(&path, st)) < 0)
		goto out;
	fd = open(path.ptr, O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW |
		  O_CLOEXEC, 0600);
	if (fd < 0) {
		r = error_set_errno(ERR_SYS, "cannot open '%s'", path.ptr);
		goto out;
	}
	/*
	 * A record torn by a crash (no newline at the end of the file) must
	 * not swallow this one: it starts on a line of its own.
	 */
	{
		struct stat sb;
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
	buf_release(&line);
	buf_release(&path);
	return r;
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

static int read_records(struct state *st, bool notes, history_fn fn,
			void *payload)
{
	struct buf path = BUF_INIT;
	char *line = NULL;
	bool bad;
	FILE *fp;
	int r;

	if ((r = history_path(&path, st)) < 0)
		goto out;
	fp = fopen(path.ptr, "re");
	if (!fp) {
		r = errno == ENOENT ? 0 :
		    error_set_errno(ERR_SYS, "cannot read '%s'", path.ptr);
		goto out;
	}
	line = xmalloc(HISTORY_MAX_LINE + 2);
	/*
	 * Bounded lines: a longer one, one holding a NUL, or a last one
	 * without its newline (torn by a crash) is skipped, and only it.
	 */
	while (read_line(fp, line, &bad) >= 0) {
		struct history_record rec;

		if (bad)
			continue;
		if (parse_record(&rec, line) < 0 ||
		    (rec.action == HISTORY_NOTIFY && !notes))
			continue;
		if ((r = fn(&rec, payload)) != 0)
			break;
	}
	fclose(fp);
out:
	free(line);
	buf_release(&path);
	return r;
}

int history_read(struct state *st, history_fn fn, void *payload)
{
	return read_records(st, false, fn, payload);
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

int history_newest(struct state *st, const char *env, size_t max,
		   history_fn fn, void *payload)
{
	struct newest n;
	size_t i;
	int r;

	memset(&n, 0, sizeof(n));
	n.env = env;
	if ((r = read_records(st, true, count, &n)) != 0)
		return r;
	n.max = max < n.total ? max : n.total;
	n.keep = xcalloc(n.max ? n.max : 1, sizeof(*n.keep));
	n.strings = xcalloc(n.max ? n.max : 1, sizeof(*n.strings));
	for (i = 0; i < n.max; i++)
		strvec_init(&n.strings[i]);
	/* records appended meanwhile come after the ones counted */
	r = read_records(st, true, collect, &n);
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
