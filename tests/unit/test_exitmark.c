#include "unit.h"

#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "buf.h"
#include "exitmark.h"
#include "proc.h"

/* An exitmark_fn that appends to a struct buf. */
static void collect(const char *data, size_t len, void *payload)
{
	struct buf *b = payload;

	assert_true(len > 0);
	assert_ok(buf_add(b, data, len));
}

/*
 * Feed `len` bytes of `data` to a copy of the fresh marker `fresh`, cut
 * into pieces at `cuts` (ascending offsets), then flush if no marker was
 * found. What came through goes to `got`; the marker state to *out.
 */
static void feed(struct exitmark *out, const struct exitmark *fresh,
		 struct buf *got, const char *data, size_t len,
		 const size_t *cuts, size_t ncuts)
{
	size_t i, at = 0;

	*out = *fresh;
	buf_reset(got);
	for (i = 0; i <= ncuts; i++) {
		size_t end = i < ncuts ? cuts[i] : len;

		exitmark_filter(out, data + at, end - at, collect, got);
		at = end;
	}
	if (!out->found)
		exitmark_flush(out, collect, got);
}

static void test_exitmark__nonce(void **state)
{
	struct exitmark a, b;
	size_t i;

	(void)state;
	assert_ok(exitmark_init(&a));
	assert_ok(exitmark_init(&b));
	assert_int_equal(strlen(a.prefix), EXITMARK_PREFIX_LEN);
	assert_int_equal(a.prefix[0], '\037');
	assert_int_equal(a.prefix[EXITMARK_PREFIX_LEN - 1], ' ');
	for (i = 1; i < EXITMARK_PREFIX_LEN - 1; i++)
		assert_non_null(memchr("0123456789abcdef", a.prefix[i], 16));
	/* 128 random bits: two in a row never agree. */
	assert_string_not_equal(a.prefix, b.prefix);
	assert_false(a.found);
	assert_int_equal(a.held, 0);
}

/* The marker is found and taken out wherever the reads cut the stream. */
static void test_exitmark__split_anywhere(void **state)
{
	struct exitmark fresh, m;
	struct buf stream = BUF_INIT, got = BUF_INIT;
	size_t cuts[2], a, b;
	const char *want = "out\nline without newline\035after\n";

	(void)state;
	assert_ok(exitmark_init(&fresh));
	assert_ok(buf_addf(&stream, "out\nline without newline%s42\n"
			   "\035after\n", fresh.prefix));

	/* One cut anywhere, then two. */
	for (a = 0; a <= stream.len; a++) {
		cuts[0] = a;
		feed(&m, &fresh, &got, stream.ptr, stream.len, cuts, 1);
		assert_true(m.found);
		assert_int_equal(m.status, 42);
		assert_string_equal(got.ptr, want);
		for (b = a; b <= stream.len; b++) {
			cuts[1] = b;
			feed(&m, &fresh, &got, stream.ptr, stream.len, cuts,
			     2);
			assert_true(m.found);
			assert_int_equal(m.status, 42);
			assert_string_equal(got.ptr, want);
		}
	}

	/* One byte at a time. */
	m = fresh;
	buf_reset(&got);
	for (a = 0; a < stream.len; a++)
		exitmark_filter(&m, stream.ptr + a, 1, collect, &got);
	assert_true(m.found);
	assert_int_equal(m.status, 42);
	assert_string_equal(got.ptr, want);

	buf_release(&stream);
	buf_release(&got);
}

/* Text that is not quite the marker passes through unchanged. */
static void test_exitmark__near_misses(void **state)
{
	struct exitmark fresh, m;
	struct buf text = BUF_INIT, got = BUF_INIT, other = BUF_INIT;
	const char *p;
	size_t i, k, cut;

	(void)state;
	assert_ok(exitmark_init(&fresh));
	p = fresh.prefix;
	/* Another nonce: the first hex digit changed. */
	assert_ok(buf_addstr(&other, p));
	other.ptr[1] = other.ptr[1] == 'a' ? 'b' : 'a';

	for (i = 0; i < 9; i++) {
		buf_reset(&text);
		switch (i) {
		case 0:		/* another nonce */
			buf_addf(&text, "x%s0\ny", other.ptr);
			break;
		case 1:		/* no digits */
			buf_addf(&text, "%s\n", p);
			break;
		case 2:		/* four digits */
			buf_addf(&text, "%s1234\n", p);
			break;
		case 3:		/* not a digit */
			buf_addf(&text, "%s12x\n", p);
			break;
		case 4:		/* no newline: the output ended */
			buf_addf(&text, "%s7", p);
			break;
		case 5:		/* a beginning only, at the end */
			buf_add(&text, p, EXITMARK_PREFIX_LEN / 2);
			break;
		case 6:		/* no space */
			buf_add(&text, p, EXITMARK_PREFIX_LEN - 1);
			buf_addstr(&text, "0\n");
			break;
		case 7:		/* the start byte alone */
			buf_addstr(&text, "a\037\n\037");
			break;
		case 8:		/* a newline before: not part of it */
			buf_addf(&text, "\n%.*s\n", EXITMARK_PREFIX_LEN - 2,
				 p);
			break;
		}
		assert_ok(buf_error(&text));
		for (cut = 0; cut <= text.len; cut++) {
			feed(&m, &fresh, &got, text.ptr, text.len, &cut, 1);
			assert_false(m.found);
			assert_int_equal(got.len, text.len);
			assert_memory_equal(got.ptr, text.ptr, text.len);
		}
		m = fresh;
		buf_reset(&got);
		for (k = 0; k < text.len; k++)
			exitmark_filter(&m, text.ptr + k, 1, collect, &got);
		exitmark_flush(&m, collect, &got);
		assert_false(m.found);
		assert_int_equal(got.len, text.len);
		assert_memory_equal(got.ptr, text.ptr, text.len);
	}

	/* A start byte just before the real marker is output. */
	buf_reset(&text);
	assert_ok(buf_addf(&text, "\037%s3\n", p));
	feed(&m, &fresh, &got, text.ptr, text.len, NULL, 0);
	assert_true(m.found);
	assert_int_equal(m.status, 3);
	assert_string_equal(got.ptr, "\037");

	buf_release(&other);
	buf_release(&text);
	buf_release(&got);
}

/* After the marker, everything passes, even another marker. */
static void test_exitmark__after_found(void **state)
{
	struct exitmark fresh, m;
	struct buf text = BUF_INIT, got = BUF_INIT, want = BUF_INIT;

	(void)state;
	assert_ok(exitmark_init(&fresh));
	assert_ok(buf_addf(&text, "%s255\nlate %s1\n", fresh.prefix,
			   fresh.prefix));
	assert_ok(buf_addf(&want, "late %s1\n", fresh.prefix));
	feed(&m, &fresh, &got, text.ptr, text.len, NULL, 0);
	assert_true(m.found);
	assert_int_equal(m.status, 255);
	assert_string_equal(got.ptr, want.ptr);
	exitmark_filter(&m, "more", 4, collect, &got);
	assert_int_equal(m.status, 255);
	assert_int_equal(got.len, want.len + 4);
	buf_release(&text);
	buf_release(&got);
	buf_release(&want);
}

/*
 * Run `command` wrapped, with `shell` -c, and filter its output: what
 * came through goes to `got`, the marker's state to *m.
 */
static void run_wrapped(struct exitmark *m, struct buf *got,
			const char *shell, const char *command)
{
	struct buf cmd = BUF_INIT;
	const char *argv[] = { shell, "-c", NULL, NULL };
	struct proc_opts opts = PROC_OPTS_INIT;
	struct proc_result res = PROC_RESULT_INIT;

	assert_ok(exitmark_init(m));
	buf_init(&cmd, strlen(command) + EXITMARK_WRAP_MAX);
	assert_ok(exitmark_wrap(&cmd, m, command));
	argv[2] = cmd.ptr;
	opts.argv = argv;
	opts.timeout = 30;
	opts.capture_cap = 64 * 1024;
	assert_ok(proc_run(&res, &opts));
	buf_reset(got);
	exitmark_filter(m, res.output, res.output_len, collect, got);
	if (!m->found) {
		exitmark_flush(m, collect, got);
		m->status = res.status;
	}
	/* The shell exits with the command's status too. */
	assert_int_equal(res.status, m->status);
	proc_result_release(&res);
	buf_release(&cmd);
}

/* Wrapped command lines run as they would on their own, in sh and bash. */
static void test_exitmark__wrap_runs(void **state)
{
	static const char *const shells[] = { "/bin/sh", "/bin/bash" };
	static const struct {
		const char *command;
		const char *output;
		int status;
	} cases[] = {
		{ "echo hi", "hi\n", 0 },
		{ "printf x; exit 3", "x", 3 },
		{ "", "", 0 },
		{ "exec echo replaced", "replaced\n", 0 },
		{ "cd / && pwd; echo b # a comment", "/\nb\n", 0 },
		{ "echo one\necho two\n", "one\ntwo\n", 0 },
		{ "cat <<EOF\nhere\nEOF", "here\n", 0 },
		{ "echo err >&2; false", "err\n", 1 },
		{ "cat", "", 0 },
		/* only 0, 1 and 2 are open (3 is ls's own) */
		{ "ls /proc/self/fd", "0\n1\n2\n3\n", 0 },
		/* no notice of the shell's ("Terminated") */
		{ "sh -c 'kill -TERM $$'", "", 128 + SIGTERM },
		{ "(sleep 0.1; echo late) & echo early", "early\nlate\n", 0 },
	};
	struct exitmark m;
	struct buf got = BUF_INIT, small;
	size_t i, k;

	(void)state;
	for (k = 0; k < sizeof(shells) / sizeof(shells[0]); k++) {
		if (access(shells[k], X_OK) < 0)
			continue;
		for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			run_wrapped(&m, &got, shells[k], cases[i].command);
			if (!m.found || m.status != cases[i].status ||
			    strcmp(got.ptr, cases[i].output))
				fail_msg("%s -c '%s': %s, status %d, "
					 "output '%s'", shells[k],
					 cases[i].command,
					 m.found ? "marked" : "no marker",
					 m.status, got.ptr);
		}
		/* A syntax error is shown, and no marker comes. */
		run_wrapped(&m, &got, shells[k], "echo (");
		assert_false(m.found);
		assert_int_equal(m.status, 2);
		assert_non_null(strstr(got.ptr, "yntax error"));
	}

	/* The cap of the buffer holds. */
	buf_init(&small, 20);
	assert_ok(exitmark_init(&m));
	assert_int_equal(exitmark_wrap(&small, &m, "echo hi"), ERR_TOOBIG);
	buf_release(&small);
	buf_release(&got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exitmark__nonce),
		cmocka_unit_test(test_exitmark__split_anywhere),
		cmocka_unit_test(test_exitmark__near_misses),
		cmocka_unit_test(test_exitmark__after_found),
		cmocka_unit_test(test_exitmark__wrap_runs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
