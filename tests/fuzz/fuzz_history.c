/*
 * fuzz_history - libFuzzer target for the deployment history reader
 * (history.c): $GIT_DIR/pushgate/history, whose records carry ref
 * names, users and failure reasons that pushers influence, and which a
 * crash may leave with a torn last line. The input is written as the
 * history file of a private state directory, then read the ways the CLI
 * and the deploys read it: every record (history_read), the newest of
 * all and of one environment (history_newest), the last of one
 * environment (history_last), each record formatted as `pushgate
 * history` shows it.
 *
 * Each record read is appended to a second history (history_add) and
 * read back from it: it must come back as written, its fields clipped
 * to HISTORY_FIELD_MAX bytes with tabs and control characters made
 * spaces, its duration to one decimal. history_newest() must give the
 * newest records of history_read() (and the notes it leaves out) newest
 * first. Built and run by tests/fuzz/run.sh (make fuzz), and by make
 * check through tests/fuzz/driver.c.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "errors.h"
#include "fuzz.h"
#include "history.h"
#include "state.h"
#include "strvec.h"

#define MAX_KEPT 16

static struct state st = STATE_INIT, st2 = STATE_INIT;
static char path[600], path2[600];

/* Records as one line of text each, to compare them. */
struct seen {
	struct strvec lines;
	const char *env;	/* only these (NULL: all) */
	bool notes;		/* keep notes too */
	size_t max;
	struct history_record kept[MAX_KEPT];
	struct strvec keep[MAX_KEPT];	/* the strings of kept[] */
	size_t nr_kept;
};

static void describe(struct buf *b, const struct history_record *r)
{
	buf_reset(b);
	buf_addf(b, "%lld|%s|%s|%s|%s|%s|%s|%a|%s|%s", (long long)r->time,
		 r->env, history_action_name(r->action), r->commit,
		 r->release, r->user, history_result_name(r->result),
		 r->duration, r->reason, r->upload);
}

static int remember(const struct history_record *r, void *payload)
{
	struct seen *s = payload;
	struct buf b = BUF_INIT;
	struct buf shown = BUF_INIT;

	FUZZ_CHECK(r->env && r->commit && r->release && r->user &&
		   r->reason && r->upload);
	describe(&b, r);
	strvec_push(&s->lines, b.ptr);
	history_format(&shown, r);
	FUZZ_CHECK(!buf_error(&shown));
	if (s->nr_kept < MAX_KEPT && r->action != HISTORY_NOTIFY) {
		struct history_record *k = &s->kept[s->nr_kept];
		struct strvec *sv = &s->keep[s->nr_kept++];

		*k = *r;
		k->env = strvec_push(sv, r->env);
		k->commit = strvec_push(sv, r->commit);
		k->release = strvec_push(sv, r->release);
		k->user = strvec_push(sv, r->user);
		k->reason = strvec_push(sv, r->reason);
		k->upload = strvec_push(sv, r->upload);
	}
	buf_release(&b);
	buf_release(&shown);
	return 0;
}

static void seen_release(struct seen *s)
{
	size_t i;

	strvec_clear(&s->lines);
	for (i = 0; i < s->nr_kept; i++)
		strvec_clear(&s->keep[i]);
	memset(s, 0, sizeof(*s));
}

/* A field as a record written then read gives it back. */
static void expect_field(struct buf *out, const char *s)
{
	size_t i;

	buf_reset(out);
	for (i = 0; s[i] && i < HISTORY_FIELD_MAX; i++) {
		unsigned char c = (unsigned char)s[i];

		buf_addch(out, c < 0x20 || c == 0x7f ? ' ' : (char)c);
	}
	if (!strcmp(out->ptr, "-"))
		buf_reset(out);
}

static void check_field(const char *got, const char *was)
{
	struct buf want = BUF_INIT;

	expect_field(&want, was);
	FUZZ_CHECK(!strcmp(got, want.ptr));
	buf_release(&want);
}

/*
 * The records of `s` through history_add() and back, after a torn line
 * (a crash in the middle of a write) that must not swallow the first.
 */
static void check_round_trip(const struct seen *s)
{
	static const char torn[] = "2026-01-01T00:00:00Z\tprod\tdeploy";
	const struct history_record *added[MAX_KEPT];
	struct seen back;
	size_t i, nr = 0;

	memset(&back, 0, sizeof(back));
	fuzz_write(path2, torn, sizeof(torn) - 1);
	/* ten fields of at most HISTORY_FIELD_MAX bytes: always fits */
	for (i = 0; i < s->nr_kept; i++) {
		FUZZ_CHECK(!history_add(&st2, &s->kept[i]));
		added[nr++] = &s->kept[i];
	}
	FUZZ_CHECK(!history_read(&st2, remember, &back));
	FUZZ_CHECK(back.nr_kept == nr);
	for (i = 0; i < nr; i++) {
		const struct history_record *a = added[i];
		const struct history_record *b = &back.kept[i];

		FUZZ_CHECK(a->time == b->time);
		FUZZ_CHECK(a->action == b->action && a->result == b->result);
		check_field(b->env, a->env);
		check_field(b->commit, a->commit);
		check_field(b->release, a->release);
		check_field(b->user, a->user);
		check_field(b->reason, a->reason);
		check_field(b->upload, a->upload);
		/* measured durations: one decimal, as written */
		if (a->duration < 1e15 && a->duration > -1e15) {
			char dur[32];

			snprintf(dur, sizeof(dur), "%.1f", a->duration);
			FUZZ_CHECK(b->duration == strtod(dur, NULL));
		}
	}
	seen_release(&back);
}

static int count_newest(const struct history_record *r, void *payload)
{
	struct seen *s = payload;
	struct buf b = BUF_INIT;

	describe(&b, r);
	strvec_push(&s->lines, b.ptr);
	buf_release(&b);
	return 0;
}

/*
 * history_newest(env, max) against every record read: its lines are the
 * last `max` of those (of `env`), newest first.
 */
static void check_newest(const char *env, size_t max)
{
	struct seen all, newest;
	size_t i, nr = 0;

	memset(&all, 0, sizeof(all));
	memset(&newest, 0, sizeof(newest));
	FUZZ_CHECK(!history_newest(NULL, &st, env, (size_t)-1, count_newest,
				   &all));
	FUZZ_CHECK(!history_newest(NULL, &st, env, max, count_newest, &newest));
	nr = all.lines.nr < max ? all.lines.nr : max;
	FUZZ_CHECK(newest.lines.nr == nr);
	for (i = 0; i < nr; i++)
		FUZZ_CHECK(!strcmp(newest.lines.v[i], all.lines.v[i]));
	seen_release(&all);
	seen_release(&newest);
}

static int stop_at_second(const struct history_record *r, void *payload)
{
	size_t *n = payload;

	(void)r;
	return ++*n == 2 ? 7 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seen all;
	struct history_last last;
	struct buf b = BUF_INIT;
	size_t n = 0;
	int r;

	if (!path[0]) {
		const char *dir = fuzz_dir("fuzz_history");
		char git_dir[600];

		snprintf(git_dir, sizeof(git_dir), "%s/one.git", dir);
		FUZZ_CHECK(!mkdir(git_dir, 0700) && !state_open(&st, git_dir));
		snprintf(git_dir, sizeof(git_dir), "%s/two.git", dir);
		FUZZ_CHECK(!mkdir(git_dir, 0700) &&
			   !state_open(&st2, git_dir));
		snprintf(path, sizeof(path), "%s/history", st.dir);
		snprintf(path2, sizeof(path2), "%s/history", st2.dir);
	}
	fuzz_write(path, data, size);

	memset(&all, 0, sizeof(all));
	FUZZ_CHECK(!history_read(&st, remember, &all));
	check_round_trip(&all);

	/* the callback's value stops the read and is returned */
	r = history_read(&st, stop_at_second, &n);
	FUZZ_CHECK(all.lines.nr >= 2 ? r == 7 && n == 2 :
		   !r && n == all.lines.nr);

	check_newest(NULL, 3);
	check_newest(all.nr_kept ? all.kept[0].env : "prod", 2);

	FUZZ_CHECK(!history_last(&st, "prod", &last));
	if (last.any.commit) {
		describe(&b, &last.any);
		FUZZ_CHECK(!strcmp(last.any.env, "prod"));
	}
	if (last.ok.commit)
		FUZZ_CHECK(last.ok.result == HISTORY_OK);
	history_last_release(&last);
	history_format_header(&b);

	buf_release(&b);
	seen_release(&all);
	error_clear();
	return 0;
}
