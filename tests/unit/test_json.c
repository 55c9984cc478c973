/*
 * Unit tests for json: commas and nesting, and strings from anyone (a
 * commit subject, a file name) escaped into valid JSON whatever their
 * bytes.
 */
#include "unit.h"

#include "json.h"

/* The JSON string literal of `len` bytes of `s`. */
static char *quoted(const char *s, size_t len)
{
	static char out[256];
	struct buf b = BUF_INIT;

	json_quote(&b, s, len);
	assert_int_equal(buf_error(&b), 0);
	assert_true(b.len < sizeof(out));
	memcpy(out, b.ptr, b.len + 1);
	buf_release(&b);
	return out;
}

#define Q(lit) quoted(lit, sizeof(lit) - 1)

static void test_json__strings(void **state)
{
	(void)state;
	assert_string_equal(Q("plain"), "\"plain\"");
	assert_string_equal(Q("say \"hi\" \\ bye"),
			    "\"say \\\"hi\\\" \\\\ bye\"");
	assert_string_equal(Q("a\nb\r\tc\b\f"), "\"a\\nb\\r\\tc\\b\\f\"");
	/* every other control byte, NUL included */
	assert_string_equal(Q("\x01\x1f\x00z"), "\"\\u0001\\u001f\\u0000z\"");
	/* DEL is valid JSON as it is */
	assert_string_equal(Q("\x7f"), "\"\x7f\"");
	/* valid UTF-8 passes */
	assert_string_equal(Q("d\xc3\xa9ploy \xe2\x82\xac \xf0\x9f\x9a\x80"),
			    "\"d\xc3\xa9ploy \xe2\x82\xac \xf0\x9f\x9a\x80\"");
	/* U+2028 and U+2029 are escaped (JavaScript) */
	assert_string_equal(Q("\xe2\x80\xa8\xe2\x80\xa9"),
			    "\"\\u2028\\u2029\"");
	/* not UTF-8: one U+FFFD per bad byte */
	assert_string_equal(Q("\xff"), "\"\\ufffd\"");
	assert_string_equal(Q("a\xc3"), "\"a\\ufffd\"");	/* cut short */
	assert_string_equal(Q("\xc0\xaf"), "\"\\ufffd\\ufffd\"");  /* overlong */
	assert_string_equal(Q("\xed\xa0\x80"),			/* surrogate */
			    "\"\\ufffd\\ufffd\\ufffd\"");
	assert_string_equal(Q("\xf4\x90\x80\x80"),		/* > U+10FFFF */
			    "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
	assert_string_equal(Q(""), "\"\"");
}

static void test_json__document(void **state)
{
	struct buf b = BUF_INIT;
	struct json j;

	(void)state;
	json_init(&j, &b);
	json_object_begin(&j, NULL);
	json_str(&j, "event", "deployed");
	json_str(&j, "reason", NULL);
	json_int(&j, "n", -42);
	json_double(&j, "duration_s", 1.25, 2);
	json_double(&j, "nan", 0.0 / 0.0, 2);
	json_bool(&j, "ok", true);
	json_object_begin(&j, "commit");
	json_str(&j, "id", "abc");
	json_object_end(&j);
	json_array_begin(&j, "hosts");
	json_object_begin(&j, NULL);
	json_str(&j, "host", "web1");
	json_object_end(&j);
	json_object_begin(&j, NULL);
	json_null(&j, "error");
	json_object_end(&j);
	json_array_end(&j);
	json_array_begin(&j, "empty");
	json_array_end(&j);
	json_strn(&j, "k\"ey", "x\0y", 3);
	json_object_end(&j);
	assert_int_equal(buf_error(&b), 0);
	assert_string_equal(b.ptr,
		"{\"event\":\"deployed\",\"reason\":null,\"n\":-42,"
		"\"duration_s\":1.25,\"nan\":null,\"ok\":true,"
		"\"commit\":{\"id\":\"abc\"},"
		"\"hosts\":[{\"host\":\"web1\"},{\"error\":null}],"
		"\"empty\":[],\"k\\\"ey\":\"x\\u0000y\"}");
	assert_int_equal(j.depth, 0);
	buf_release(&b);
}

static void test_json__cap(void **state)
{
	struct buf b;
	struct json j;

	(void)state;
	buf_init(&b, 8);
	json_init(&j, &b);
	json_object_begin(&j, NULL);
	json_str(&j, "long", "far too long for the cap");
	json_object_end(&j);
	/* the failure is sticky: one check at the end */
	assert_int_equal(buf_error(&b), ERR_TOOBIG);
	buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json__strings),
		cmocka_unit_test(test_json__document),
		cmocka_unit_test(test_json__cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
