/*
 * Unit tests for inifile: the events it hands over (section headers, keys
 * with their joined values, problems), their lines, continuation lines,
 * inline comments, and the lines it refuses (NUL, CR, too long).
 */
#include "unit.h"

#include <stdlib.h>

#include "buf.h"
#include "inifile.h"
#include "strvec.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Every event as one line of text: "S2 core", "K3 name=value", "P1 msg". */
static void on_section(const char *name, unsigned line, void *payload)
{
	strvec_pushf(payload, "S%u %s", line, name ? name : "(bad)");
}

static void on_key(const char *name, const char *value, unsigned line,
		   void *payload)
{
	strvec_pushf(payload, "K%u %s=%s", line, name,
		     value ? value : "(too long)");
}

static void on_problem(unsigned line, const char *msg, void *payload)
{
	strvec_pushf(payload, "P%u %s", line, msg);
}

/* Parse `len` bytes of `text`; the events joined with '|'. */
static char *events_n(const char *text, size_t len, size_t max_line,
		      size_t max_value, int *r)
{
	struct inifile_opts opts = INIFILE_OPTS_INIT;
	struct strvec ev = STRVEC_INIT;
	struct buf b = BUF_INIT;
	size_t i;

	opts.section = on_section;
	opts.key = on_key;
	opts.problem = on_problem;
	opts.payload = &ev;
	opts.max_line = max_line;
	opts.max_value = max_value;
	*r = inifile_parse(text, len, &opts);
	for (i = 0; i < ev.nr; i++)
		assert_ok(buf_addf(&b, "%s%s", i ? "|" : "", ev.v[i]));
	strvec_clear(&ev);
	return buf_detach(&b, NULL);
}

struct event_case {
	const char *text;
	const char *events;
	int r;
};

static const struct event_case cases[] = {
	{ "", "", 0 },
	{ "\n\n; comment\n# comment\n", "", 0 },
	{ "[core]\nlock_timeout = 5\n",
	  "S1 core|K2 lock_timeout=5", 0 },
	/* a key before any section, and the last line without LF */
	{ "a = 1\n[x]\nb: 2", "K1 a=1|S2 x|K3 b=2", 0 },
	/* the whole name, as written, with its line */
	{ "\n[environment \"a name longer than the fifty bytes inih keeps\"]\n",
	  "S2 environment \"a name longer than the fifty bytes inih keeps\"",
	  0 },
	{ "[ core ]\n[]\n", "S1  core |S2 ", 0 },
	{ "[core] ; comment\n[verify] # comment\n",
	  "S1 core|S2 verify", 0 },
	/* spaces around names and values; inline comments */
	{ "[v]\n  k  =  a b  \nc=d ; note\ne = f;g\nh = i # j\n",
	  "S1 v|K2 k=a b|K3 c=d|K4 e=f;g|K5 h=i # j", 0 },
	{ "[v]\nempty =\n", "S1 v|K2 empty=", 0 },
	/* continuations: joined with single spaces, the key's line */
	{ "[v]\nk = a\n  b ; note\n\tc  \nz = 1\n",
	  "S1 v|K2 k=a b c|K5 z=1", 0 },
	{ "[v]\nk =\n  a\n  b\n", "S1 v|K2 k=a b", 0 },
	{ "[v]\nk = a\n\n  b\n# c\n  c\n", "S1 v|K2 k=a b c", 0 },
	/* a header ends the value; an indented key after it is a key */
	{ "[v]\nk = a\n[w]\n  b = c\n", "S1 v|K2 k=a|S3 w|K4 b=c", 0 },
	{ "  a = 1\n", "K1 a=1", 0 },
	/* a key without a name, and what follows it */
	{ "[v]\n= 5\n  x = y\n", "S1 v|K2 =5|K3 x=y", 0 },
	/* byte order mark, CRLF */
	{ "\xef\xbb\xbf[core]\r\nk = v\r\n  w\r\n",
	  "S1 core|K2 k=v w", 0 },
	/* bad headers: a problem, then a header that is not one */
	{ "k = v\n[core\nx = 1\n",
	  "K1 k=v|P2 missing ']' in section header|S2 (bad)|K3 x=1",
	  ERR_INVALID },
	{ "[core] x\n", "P1 unexpected text after section header|S1 (bad)",
	  ERR_INVALID },
	{ "[v]\njunk\nk = 1\n",
	  "S1 v|P2 syntax error (expected 'key = value' or '[section]')|"
	  "K3 k=1", ERR_INVALID },
};

static void test_inifile__events(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		int r;
		char *got = events_n(cases[i].text, strlen(cases[i].text),
				     100, 50, &r);

		if (strcmp(got, cases[i].events) || r != cases[i].r)
			print_error("input:\n%s\n---\n", cases[i].text);
		assert_string_equal(got, cases[i].events);
		assert_int_equal(r, cases[i].r);
		free(got);
	}
}

static void test_inifile__refused_lines(void **state)
{
	static const char nul[] = "[v]\nk = 1\0x\nm = 2\n";
	static const char nul_cont[] = "[v]\nk = 1\n  2\0\nm = 3\n";
	int r;
	char *got;

	(void)state;
	/* a NUL byte: the whole line is refused, not cut at the NUL */
	got = events_n(nul, sizeof(nul) - 1, 100, 50, &r);
	assert_string_equal(got, "S1 v|P2 line contains a NUL byte|K3 m=2");
	assert_int_equal(r, ERR_INVALID);
	free(got);
	got = events_n(nul_cont, sizeof(nul_cont) - 1, 100, 50, &r);
	assert_string_equal(got, "S1 v|P3 line contains a NUL byte|K2 k=1|"
			    "K4 m=3");
	free(got);

	/* a carriage return anywhere but before the LF */
	got = events_n("[v]\nk = a\rb\nm = 2\r\r\n", 19, 100, 50, &r);
	assert_string_equal(got, "S1 v|P2 carriage return inside a line (use "
			    "LF or CRLF line endings)|P3 carriage return "
			    "inside a line (use LF or CRLF line endings)");
	assert_int_equal(r, ERR_INVALID);
	free(got);
	assert_string_equal(error_last(), "line 2: carriage return inside a "
			    "line (use LF or CRLF line endings)");
	got = events_n("[v]\rk = 1\r", 10, 100, 50, &r);
	assert_string_equal(got, "P1 carriage return inside a line (use LF "
			    "or CRLF line endings)");
	free(got);
}

static void test_inifile__limits(void **state)
{
	struct buf text = BUF_INIT;
	char *got;
	int r, i;

	(void)state;
	/* a line of max_line bytes (CR and LF not counted), then one more */
	assert_ok(buf_addstr(&text, "k = "));
	for (i = 0; i < 16; i++)
		assert_ok(buf_addch(&text, 'x'));
	assert_ok(buf_addstr(&text, "\r\nm = 1"));
	got = events_n(text.ptr, text.len, 20, 50, &r);
	assert_string_equal(got, "K1 k=xxxxxxxxxxxxxxxx|K2 m=1");
	assert_int_equal(r, 0);
	free(got);
	buf_reset(&text);
	assert_ok(buf_addstr(&text, "k = "));
	for (i = 0; i < 17; i++)
		assert_ok(buf_addch(&text, 'x'));
	/* its tail is never read as a line of its own */
	assert_ok(buf_addstr(&text, "\nm = 1\n"));
	got = events_n(text.ptr, text.len, 20, 50, &r);
	assert_string_equal(got, "P1 line is too long (more than 20 bytes)|"
			    "K2 m=1");
	assert_int_equal(r, ERR_INVALID);
	free(got);

	/* a value of max_value bytes, then one more, also when joined */
	got = events_n("k = 12345678\n", 13, 20, 8, &r);
	assert_string_equal(got, "K1 k=12345678");
	free(got);
	got = events_n("k = 123456789\nm = 1\n", 20, 20, 8, &r);
	assert_string_equal(got, "K1 k=(too long)|K2 m=1");
	assert_int_equal(r, 0);	/* the caller's to report */
	free(got);
	got = events_n("k = 1234\n  567\n", 15, 20, 8, &r);
	assert_string_equal(got, "K1 k=1234 567");
	free(got);
	got = events_n("k = 1234\n  5678\n", 16, 20, 8, &r);
	assert_string_equal(got, "K1 k=(too long)");
	free(got);
	buf_release(&text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inifile__events),
		cmocka_unit_test(test_inifile__refused_lines),
		cmocka_unit_test(test_inifile__limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
