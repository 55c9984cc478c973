/*
 * Unit tests for history (records written and read back, hostile fields,
 * lines a reader must skip, the last records of an environment) and
 * hookenv (the PUSHGATE_* variables).
 */
#include "unit.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <unistd.h>

#include "fsutil.h"
#include "history.h"
#include "hookenv.h"
#include "state.h"

#define A40 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define B40 "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static char git_dir[256];
static struct state st = STATE_INIT;

static int setup(void **state)
{
	(void)state;
	snprintf(git_dir, sizeof(git_dir), "/tmp/test_history-XXXXXX");
	if (!mkdtemp(git_dir))
		return -1;
	return state_open(&st, git_dir) < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	state_release(&st);
	return fsutil_remove_tree(git_dir) < 0 ? -1 : 0;
}

struct seen {
	struct strvec lines;
};

static int remember(const struct history_record *r, void *payload)
{
	struct seen *s = payload;

	strvec_pushf(&s->lines, "%lld|%s|%s|%s|%s|%s|%s|%.1f|%s",
		     (long long)r->time, r->env,
		     history_action_name(r->action), r->commit, r->release,
		     r->user, history_result_name(r->result), r->duration,
		     r->reason);
	return 0;
}

static void add(const char *env, enum history_action a, const char *commit,
		const char *release, const char *user,
		enum history_result res, const char *reason)
{
	struct history_record r;

	memset(&r, 0, sizeof(r));
	r.time = 1795670100;
	r.env = env;
	r.action = a;
	r.commit = commit;
	r.release = release;
	r.user = user;
	r.result = res;
	r.duration = 1.25;
	r.reason = reason;
	assert_ok(history_add(&st, &r));
}

static void append_raw(const char *text)
{
	char path[300];
	int fd;

	snprintf(path, sizeof(path), "%s/history", st.dir);
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0600);
	assert_true(fd >= 0);
	assert_ok(fsutil_write_all(fd, text, strlen(text)));
	close(fd);
}

static void test_history__round_trip(void **state)
{
	struct seen s = { STRVEC_INIT };

	(void)state;
	add("staging", HISTORY_DEPLOY, A40, "R1", "alice", HISTORY_OK, "");
	add("prod", HISTORY_ROLLBACK, B40, "", "", HISTORY_FAILED,
	    "web1:\thealthcheck\nfailed\x1b[31m");
	add("prod", HISTORY_DEPLOY, B40, "R2", "bob", HISTORY_SKIPPED,
	    "a newer push owns the environment");
	assert_ok(history_read(&st, remember, &s));
	assert_int_equal(s.lines.nr, 3);
	assert_string_equal(s.lines.v[0], "1795670100|staging|deploy|" A40
			    "|R1|alice|ok|1.2|");
	/* tabs and control characters became spaces: one line, 9 fields */
	assert_string_equal(s.lines.v[1], "1795670100|prod|rollback|" B40
			    "|||failed|1.2|web1: healthcheck failed [31m");
	assert_string_equal(s.lines.v[2], "1795670100|prod|deploy|" B40
			    "|R2|bob|skipped|1.2|a newer push owns the"
			    " environment");
	strvec_clear(&s.lines);
}

static void test_history__skips_what_it_cannot_read(void **state)
{
	struct seen s = { STRVEC_INIT };
	char *long_line = malloc(HISTORY_MAX_LINE + 100);

	(void)state;
	memset(long_line, 'x', HISTORY_MAX_LINE + 98);
	long_line[HISTORY_MAX_LINE + 98] = '\n';
	long_line[HISTORY_MAX_LINE + 99] = '\0';
	append_raw("not a record\n");
	append_raw("2026-11-26T05:15:00Z\tstaging\tfrobnicate\t" A40
		   "\tR\tu\tok\t1.0\t-\n");
	append_raw("2026-11-26T05:15:00Z\tstaging\tdeploy\t" A40
		   "\tR\tu\tmaybe\t1.0\t-\n");
	append_raw("yesterday\tstaging\tdeploy\t" A40 "\tR\tu\tok\t1.0\t-\n");
	append_raw(long_line);
	add("staging", HISTORY_DEPLOY, A40, "R1", "alice", HISTORY_OK, "");
	assert_ok(history_read(&st, remember, &s));
	assert_int_equal(s.lines.nr, 1);
	assert_non_null(strstr(s.lines.v[0], "|R1|alice|ok|"));
	strvec_clear(&s.lines);
	free(long_line);
}

static void test_history__last(void **state)
{
	struct history_last l;

	(void)state;
	assert_ok(history_last(&st, "staging", &l));
	assert_null(l.ok.commit);
	assert_null(l.any.commit);
	history_last_release(&l);

	add("staging", HISTORY_DEPLOY, A40, "R1", "alice", HISTORY_OK, "");
	add("prod", HISTORY_DEPLOY, A40, "P1", "alice", HISTORY_OK, "");
	add("staging", HISTORY_DEPLOY, B40, "R2", "bob", HISTORY_FAILED,
	    "boom");
	assert_ok(history_last(&st, "staging", &l));
	assert_string_equal(l.ok.release, "R1");
	assert_string_equal(l.ok.user, "alice");
	assert_string_equal(l.any.release, "R2");
	assert_string_equal(l.any.reason, "boom");
	assert_int_equal(l.any.result, HISTORY_FAILED);
	history_last_release(&l);
}

static int newest(const struct history_record *r, void *payload)
{
	struct seen *s = payload;

	strvec_pushf(&s->lines, "%s %s", r->env, r->release);
	return 0;
}

static void test_history__newest(void **state)
{
	struct seen s = { STRVEC_INIT };
	char id[8];
	int i;

	(void)state;
	for (i = 0; i < 30; i++) {
		snprintf(id, sizeof(id), "R%02d", i);
		add(i % 3 ? "staging" : "prod", HISTORY_DEPLOY, A40, id, "u",
		    HISTORY_OK, "");
	}
	assert_ok(history_newest(NULL, &st, "staging", 3, newest, &s));
	assert_int_equal(s.lines.nr, 3);
	assert_string_equal(s.lines.v[0], "staging R29");
	assert_string_equal(s.lines.v[1], "staging R28");
	assert_string_equal(s.lines.v[2], "staging R26");
	strvec_clear(&s.lines);
	assert_ok(history_newest(NULL, &st, NULL, 2, newest, &s));
	assert_int_equal(s.lines.nr, 2);
	assert_string_equal(s.lines.v[0], "staging R29");
	assert_string_equal(s.lines.v[1], "staging R28");
	strvec_clear(&s.lines);
	/* more asked than there are */
	assert_ok(history_newest(NULL, &st, "prod", 100, newest, &s));
	assert_int_equal(s.lines.nr, 10);
	assert_string_equal(s.lines.v[9], "prod R00");
	strvec_clear(&s.lines);
	assert_ok(history_newest(NULL, &st, "nowhere", 5, newest, &s));
	assert_int_equal(s.lines.nr, 0);
}

static void test_history__hookenv(void **state)
{
	struct hookenv he = HOOKENV_INIT;
	struct strvec env = STRVEC_INIT;
	struct buf sh = BUF_INIT;

	(void)state;
	he.env = "staging";
	he.commit = A40;
	he.release = "/srv/app/releases/R1";
	he.user = "o'brien";
	hookenv_strvec(&env, &he);
	assert_int_equal(env.nr, 6);
	assert_string_equal(env.v[0], "PUSHGATE_ENV=staging");
	assert_string_equal(env.v[2], "PUSHGATE_REF=");
	assert_string_equal(env.v[4], "PUSHGATE_PREVIOUS=");
	assert_string_equal(env.v[5], "PUSHGATE_USER=o'brien");
	hookenv_shell(&sh, &he);
	assert_int_equal(buf_error(&sh), 0);
	assert_non_null(strstr(sh.ptr, "PUSHGATE_USER='o'\\''brien'"));
	assert_non_null(strstr(sh.ptr, "PUSHGATE_REF='' "));
	assert_non_null(strstr(sh.ptr, "; export PUSHGATE_ENV PUSHGATE_COMMIT"
			       " PUSHGATE_REF PUSHGATE_RELEASE"
			       " PUSHGATE_PREVIOUS PUSHGATE_USER; "));
	strvec_clear(&env);
	buf_release(&sh);
}

/* A crash's torn record, or a NUL, costs only its own line. */
static void test_history__torn_records(void **state)
{
	struct seen s = { STRVEC_INIT };
	char path[300];
	int fd;

	(void)state;
	add("staging", HISTORY_DEPLOY, A40, "R1", "alice", HISTORY_OK, "");
	/* a record cut short by a crash: no newline at the end */
	append_raw("2026-11-26T05:15:00Z\tstaging\tdeploy\t" A40 "\tR");
	add("staging", HISTORY_DEPLOY, B40, "R2", "bob", HISTORY_OK, "");
	/* a NUL inside a line: that line goes, the next one stays */
	snprintf(path, sizeof(path), "%s/history", st.dir);
	fd = open(path, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_ok(fsutil_write_all(fd, "2026\0junk\n", 10));
	close(fd);
	add("prod", HISTORY_DEPLOY, B40, "R3", "carol", HISTORY_OK, "");
	assert_ok(history_read(&st, remember, &s));
	assert_int_equal(s.lines.nr, 3);
	assert_string_equal(s.lines.v[0], "1795670100|staging|deploy|" A40
			    "|R1|alice|ok|1.2|");
	assert_string_equal(s.lines.v[1], "1795670100|staging|deploy|" B40
			    "|R2|bob|ok|1.2|");
	assert_string_equal(s.lines.v[2], "1795670100|prod|deploy|" B40
			    "|R3|carol|ok|1.2|");
	strvec_clear(&s.lines);
}

/* How many records of `env` are read, and are their releases in order? */
struct order {
	const char *env;
	size_t nr;
	char last[64];
	bool sorted;
};

static int check_order(const struct history_record *r, void *payload)
{
	struct order *o = payload;

	if (strcmp(r->env, o->env))
		return 0;
	if (o->nr && strcmp(o->last, r->release) >= 0)
		o->sorted = false;
	snprintf(o->last, sizeof(o->last), "%s", r->release);
	o->nr++;
	return 0;
}

static off_t size_of(const char *name)
{
	char path[300];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/%s", st.dir, name);
	if (stat(path, &sb) < 0)
		return -1;
	return sb.st_size;
}

/* A staging deploy of about 1 KB (a long reason), release S<n>. */
static void add_big(unsigned n)
{
	char id[16], reason[901];

	snprintf(id, sizeof(id), "S%06u", n);
	memset(reason, 'r', sizeof(reason) - 1);
	reason[sizeof(reason) - 1] = '\0';
	add("staging", HISTORY_DEPLOY, A40, id, "u", HISTORY_OK, reason);
}

/*
 * The history is bounded: past HISTORY_ROTATE_SIZE it moves to
 * history.1, and what an environment's state rests on is carried over,
 * so that an environment deployed once long ago keeps its live release.
 */
static void test_history__rotation(void **state)
{
	struct order o = { "staging", 0, "", true };
	struct history_last l;
	unsigned n = 0, after_first;
	off_t first;

	(void)state;
	add("prod", HISTORY_DEPLOY, B40, "P1", "alice", HISTORY_OK, "");
	add("prod", HISTORY_DEPLOY, A40, "P2", "bob", HISTORY_FAILED,
	    "boom");
	while (size_of("history.1") < 0) {
		add_big(n++);
		assert_true(n < 10000);
	}
	after_first = n;
	/* everything is still there, once, in order */
	assert_ok(history_read(&st, check_order, &o));
	assert_int_equal(o.nr, n);
	assert_true(o.sorted);
	assert_true(size_of("history.1") <= HISTORY_ROTATE_SIZE);
	assert_true(size_of("history") < HISTORY_ROTATE_SIZE / 2);
	/* a second rotation drops the oldest records, not prod's state */
	first = size_of("history.1");
	while (size_of("history.1") == first || n < 2 * after_first) {
		add_big(n++);
		assert_true(n < 10000);
	}
	assert_true(size_of("history.1") <= HISTORY_ROTATE_SIZE);
	assert_true(size_of("history") <= HISTORY_ROTATE_SIZE);
	memset(&o, 0, sizeof(o));
	o.env = "staging";
	o.sorted = true;
	assert_ok(history_read(&st, check_order, &o));
	assert_true(o.sorted);
	assert_true(o.nr < n);
	assert_true(o.nr > after_first / 2);
	assert_ok(history_last(&st, "prod", &l));
	assert_non_null(l.ok.commit);
	assert_string_equal(l.ok.release, "P1");
	assert_string_equal(l.any.release, "P2");
	assert_string_equal(l.any.reason, "boom");
	history_last_release(&l);
	assert_ok(history_last(&st, "staging", &l));
	snprintf(o.last, sizeof(o.last), "S%06u", n - 1);
	assert_string_equal(l.ok.release, o.last);
	history_last_release(&l);
	/* without history.1, what was carried over stands in for it */
	{
		char path[300];

		snprintf(path, sizeof(path), "%s/history.1", st.dir);
		assert_int_equal(unlink(path), 0);
	}
	assert_ok(history_last(&st, "prod", &l));
	assert_string_equal(l.ok.release, "P1");
	assert_string_equal(l.any.release, "P2");
	history_last_release(&l);
	memset(&o, 0, sizeof(o));
	o.env = "prod";
	o.sorted = true;
	assert_ok(history_read(&st, check_order, &o));
	assert_int_equal(o.nr, 2);
}

static int ignore(const struct history_record *r, void *payload)
{
	(void)r;
	(void)payload;
	return 0;
}

/* Damaged lines are skipped and counted, for a warning. */
static void test_history__damaged_lines_counted(void **state)
{
	char *long_line = malloc(HISTORY_MAX_LINE + 100);
	size_t damaged = 99;
	char path[300];
	int fd;

	(void)state;
	assert_ok(history_newest(&damaged, &st, NULL, 10, ignore, NULL));
	assert_int_equal(damaged, 0);
	memset(long_line, 'x', HISTORY_MAX_LINE + 98);
	long_line[HISTORY_MAX_LINE + 98] = '\n';
	long_line[HISTORY_MAX_LINE + 99] = '\0';
	add("staging", HISTORY_DEPLOY, A40, "R1", "alice", HISTORY_OK, "");
	append_raw(long_line);
	snprintf(path, sizeof(path), "%s/history", st.dir);
	fd = open(path, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_ok(fsutil_write_all(fd, "2026\0junk\n", 10));
	close(fd);
	append_raw("not a record, skipped without a word\n");
	add("staging", HISTORY_DEPLOY, A40, "R2", "alice", HISTORY_OK, "");
	/* cut short at the end of the file */
	append_raw("2026-11-26T05:15:00Z\tstaging\tdeploy\t" A40 "\tR");
	assert_ok(history_newest(&damaged, &st, NULL, 10, ignore, NULL));
	assert_int_equal(damaged, 3);
	free(long_line);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_history__round_trip),
		T(test_history__skips_what_it_cannot_read),
		T(test_history__torn_records),
		T(test_history__last),
		T(test_history__newest),
		T(test_history__hookenv),
		T(test_history__rotation),
		T(test_history__damaged_lines_counted),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
