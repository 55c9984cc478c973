#include "json.h"

#include <math.h>
#include <string.h>

#include "errors.h"

void json_init(struct json *j, struct buf *out)
{
	memset(j, 0, sizeof(*j));
	j->out = out;
	j->first[0] = true;
}

void json_quote(struct buf *out, const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, n;
	unsigned cp;

	buf_addch(out, '"');
	while (i < len) {
		unsigned char c = u[i];

		if (c == '"' || c == '\\') {
			buf_addch(out, '\\');
			buf_addch(out, (char)c);
			i++;
		} else if (c < 0x20) {
			switch (c) {
			case '\n': buf_addstr(out, "\\n"); break;
			case '\r': buf_addstr(out, "\\r"); break;
			case '\t': buf_addstr(out, "\\t"); break;
			case '\b': buf_addstr(out, "\\b"); break;
			case '\f': buf_addstr(out, "\\f"); break;
			default: buf_addf(out, "\\u%04x", c); break;
			}
			i++;
		} else if (c < 0x80) {
			buf_addch(out, (char)c);
			i++;
		} else if (!(n = buf_utf8_seq(u + i, len - i, &cp))) {
			buf_addstr(out, "\\ufffd");
			i++;
		} else if (cp == 0x2028 || cp == 0x2029) {
			buf_addf(out, "\\u%04x", cp);
			i += n;
		} else {
			buf_add(out, s + i, n);
			i += n;
		}
	}
	buf_addch(out, '"');
}

/* The comma and the key before a value. */
static void member(struct json *j, const char *key)
{
	if (!j->first[j->depth])
		buf_addch(j->out, ',');
	j->first[j->depth] = false;
	if (key) {
		json_quote(j->out, key, strlen(key));
		buf_addch(j->out, ':');
	}
}

static void open_(struct json *j, const char *key, char c)
{
	if (j->depth >= JSON_MAX_DEPTH)
		BUG("json: nested deeper than %d", JSON_MAX_DEPTH);
	member(j, key);
	buf_addch(j->out, c);
	j->first[++j->depth] = true;
}

static void close_(struct json *j, char c)
{
	if (!j->depth)
		BUG("json: closing what was not opened");
	j->depth--;
	buf_addch(j->out, c);
}

void json_object_begin(struct json *j, const char *key)
{
	open_(j, key, '{');
}

void json_object_end(struct json *j)
{
	close_(j, '}');
}

void json_array_begin(struct json *j, const char *key)
{
	open_(j, key, '[');
}

void json_array_end(struct json *j)
{
	close_(j, ']');
}

void json_strn(struct json *j, const char *key, const char *s, size_t len)
{
	member(j, key);
	if (s)
		json_quote(j->out, s, len);
	else
		buf_addstr(j->out, "null");
}

void json_str(struct json *j, const char *key, const char *s)
{
	json_strn(j, key, s, s ? strlen(s) : 0);
}

void json_int(struct json *j, const char *key, int64_t v)
{
	member(j, key);
	buf_addf(j->out, "%lld", (long long)v);
}

void json_double(struct json *j, const char *key, double v,
		 unsigned decimals)
{
	member(j, key);
	/* JSON has no NaN or infinity */
	if (!isfinite(v))
		buf_addstr(j->out, "null");
	else
		buf_addf(j->out, "%.*f", (int)(decimals > 9 ? 9 : decimals),
			 v);
}

void json_bool(struct json *j, const char *key, bool v)
{
	member(j, key);
	buf_addstr(j->out, v ? "true" : "false");
}

void json_null(struct json *j, const char *key)
{
	member(j, key);
	buf_addstr(j->out, "null");
}
