/*
 * Unit tests for statuspage: the HTML escaping every untrusted text of
 * the page goes through (the five characters that matter, control
 * characters, bytes that are not UTF-8), and the promotion order of the
 * cards (an environment that requires another comes after it).
 */
#include "unit.h"

#include <stdlib.h>

#include "config.h"
#include "statuspage.h"
#include "strvec.h"

/* The HTML text of `len` bytes of `s`. */
static char *escaped(const char *s, size_t len)
{
	static char out[512];
	struct buf b = BUF_INIT;

	statuspage_html_escape(&b, s, len);
	assert_int_equal(buf_error(&b), 0);
	assert_true(b.len < sizeof(out));
	memcpy(out, b.ptr, b.len + 1);
	buf_release(&b);
	return out;
}

#define E(lit) escaped(lit, sizeof(lit) - 1)
#define FFFD "\xef\xbf\xbd"

static void test_statuspage__escape_markup(void **state)
{
	(void)state;
	assert_string_equal(E(""), "");
	assert_string_equal(E("plain text, 1.0"), "plain text, 1.0");
	assert_string_equal(E("a & b"), "a &amp; b");
	assert_string_equal(E("<script>"), "&lt;script&gt;");
	assert_string_equal(E("\"quoted\""), "&quot;quoted&quot;");
	assert_string_equal(E("it's"), "it&#39;s");
	assert_string_equal(E("&amp;"), "&amp;amp;");
	assert_string_equal(E("\"><script>document.title='x'</script>"
			      "<img src=x onerror=alert(1)>"),
			    "&quot;&gt;&lt;script&gt;document.title=&#39;x"
			    "&#39;&lt;/script&gt;&lt;img src=x onerror=alert"
			    "(1)&gt;");
	/* attribute breakers in any position */
	assert_string_equal(E("x\" onmouseover=\"y"),
			    "x&quot; onmouseover=&quot;y");
	assert_string_equal(E("x' y='z"), "x&#39; y=&#39;z");
}

static void test_statuspage__escape_bytes(void **state)
{
	(void)state;
	/* valid UTF-8 passes as it is */
	assert_string_equal(E("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x9a\x80"),
			    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x9a\x80");
	/* tab and newline stay; other controls and DEL do not */
	assert_string_equal(E("a\tb\nc"), "a\tb\nc");
	assert_string_equal(E("a\rb\x1b[31mc\x7f"),
			    "a" FFFD "b" FFFD "[31mc" FFFD);
	/* NUL is a byte like the others */
	assert_string_equal(escaped("a\0b", 3), "a" FFFD "b");
	/* not UTF-8: a lone continuation, a truncated sequence, overlong
	 * forms, a surrogate, past U+10FFFF, 0xff */
	assert_string_equal(E("\x80"), FFFD);
	assert_string_equal(E("x\xe2\x82"), "x" FFFD FFFD);
	assert_string_equal(E("\xc0\xbc"), FFFD FFFD);	/* overlong '<' */
	assert_string_equal(E("\xe0\x80\xbc"), FFFD FFFD FFFD);
	assert_string_equal(E("\xed\xa0\x80"), FFFD FFFD FFFD);
	assert_string_equal(E("\xf4\x90\x80\x80"), FFFD FFFD FFFD FFFD);
	assert_string_equal(E("\xff<"), FFFD "&lt;");
	/* C1 controls (U+0080..U+009F) */
	assert_string_equal(E("a\xc2\x85" "b\xc2\x9b"), "a" FFFD "b" FFFD);
	assert_string_equal(E("\xc2\xa0"), "\xc2\xa0");
	/* a clipped string never cuts into an entity: only `len` is read */
	assert_string_equal(escaped("<<<", 1), "&lt;");
}

/* The names of cfg's environments in promotion order, space-separated. */
static char *ordered(const char *ini)
{
	static char out[256];
	struct strvec errors = STRVEC_INIT;
	struct config cfg;
	struct buf b = BUF_INIT;
	size_t *order, i;

	if (config_parse_string(&cfg, ini, &errors) < 0) {
		for (i = 0; i < errors.nr; i++)
			print_error("%s\n", errors.v[i]);
		fail();
	}
	order = calloc(cfg.nr_envs + 1, sizeof(*order));
	assert_non_null(order);
	statuspage_order(&cfg, order);
	for (i = 0; i < cfg.nr_envs; i++)
		assert_ok(buf_addf(&b, "%s%s", i ? " " : "",
				   cfg.envs[order[i]].name));
	assert_true(b.len < sizeof(out));
	memcpy(out, b.ptr, b.len + 1);
	buf_release(&b);
	free(order);
	config_release(&cfg);
	strvec_clear(&errors);
	return out;
}

#define ENV(name, branch, extra) \
	"[environment \"" name "\"]\nbranch = " branch "\npath = /srv/" name \
	"\n" extra

static void test_statuspage__order(void **state)
{
	(void)state;
	/* hooks.ini's order when nothing requires anything */
	assert_string_equal(ordered(ENV("b", "b", "") ENV("a", "a", "")),
			    "b a");
	/* a required environment first, even when written after */
	assert_string_equal(ordered(ENV("production", "main",
					"requires = staging\n")
				    ENV("staging", "develop", "")),
			    "staging production");
	/* a chain written backwards */
	assert_string_equal(ordered(ENV("eu", "eu", "requires = prod\n")
				    ENV("prod", "prod", "requires = stage\n")
				    ENV("stage", "stage", "")),
			    "stage prod eu");
	/* two roots: each keeps its place, dependants right after */
	assert_string_equal(ordered(ENV("p", "p", "requires = s\n")
				    ENV("x", "x", "")
				    ENV("s", "s", "")
				    ENV("q", "q", "requires = p x\n")),
			    "x s p q");
	/* one environment requiring two */
	assert_string_equal(ordered(ENV("c", "c", "requires = a b\n")
				    ENV("b", "b", "")
				    ENV("a", "a", "")),
			    "b a c");
	/* no environments at all */
	assert_string_equal(ordered(""), "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_statuspage__escape_markup),
		cmocka_unit_test(test_statuspage__escape_bytes),
		cmocka_unit_test(test_statuspage__order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
