/*
 * fuzz_json - libFuzzer target for the JSON writer (json.c), whose
 * strings carry what pushers write (ref names, commit subjects, user
 * names) into `status --json`, `history --json`, `check --json` and the
 * status page. The input is a program of writer calls (objects and
 * arrays inside one top array, strings of any bytes, NUL included, as
 * values and keys, integers, doubles of any bits, booleans, nulls).
 *
 * The text written is read back by a strict RFC 8259 parser written
 * here, which checks that it is one JSON text, in valid UTF-8, without
 * a raw U+2028 or U+2029, holding exactly the values written: the same
 * nesting and keys, each string equal to its bytes once every byte that
 * does not start a valid UTF-8 sequence is replaced by U+FFFD (decoded
 * here without buf.c's decoder), each integer equal, each double within
 * rounding of its decimals, and null for a NaN or an infinity. The same
 * program is written again into a buffer with a small cap, whose sticky
 * failure must leave a prefix of the whole text and never more. Built
 * and run by tests/fuzz/run.sh (make fuzz), and by make check through
 * tests/fuzz/driver.c.
 */
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "errors.h"
#include "fuzz.h"
#include "json.h"

#define MAX_OPS 400
#define MAX_EVENTS (MAX_OPS + JSON_MAX_DEPTH + 2)

enum kind { OBJECT, ARRAY, END, STRING, INT, DOUBLE, BOOL, NUL };

/* One value (or the end of a container) as written, or as read back. */
struct event {
	enum kind kind;
	bool has_key;
	struct buf key;		/* decoded: what a reader gets */
	struct buf str;		/* STRING: decoded */
	int64_t i;
	double d;
	unsigned decimals;
	bool b;
	struct buf number;	/* as read: the number's text */
};

struct events {
	struct event e[MAX_EVENTS];
	size_t nr;
};

static struct event *new_event(struct events *ev, enum kind kind)
{
	struct event *e;

	FUZZ_CHECK(ev->nr < MAX_EVENTS);
	e = &ev->e[ev->nr++];
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	buf_init(&e->key, 1 << 20);
	buf_init(&e->str, 1 << 20);
	buf_init(&e->number, 1 << 20);
	return e;
}

static void events_release(struct events *ev)
{
	size_t i;

	for (i = 0; i < ev->nr; i++) {
		buf_release(&ev->e[i].key);
		buf_release(&ev->e[i].str);
		buf_release(&ev->e[i].number);
	}
	ev->nr = 0;
}

/* The valid UTF-8 sequence at s (n >= 1 bytes), its length; 0 if none. */
static size_t utf8_seq(const unsigned char *s, size_t n, unsigned *cp)
{
	unsigned c = s[0], v, min;
	size_t need, i;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf)
		need = 1, min = 0x80, v = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		need = 2, min = 0x800, v = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		need = 3, min = 0x10000, v = c & 0x07;
	else
		return 0;
	if (n < need + 1)
		return 0;
	for (i = 1; i <= need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (s[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return need + 1;
}

/* What a reader must get for the bytes s: bad bytes as U+FFFD. */
static void expect_text(struct buf *out, const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, n;
	unsigned cp;

	while (i < len) {
		if ((n = utf8_seq(u + i, len - i, &cp))) {
			buf_add(out, u + i, n);
			i += n;
		} else {
			buf_add(out, "\xef\xbf\xbd", 3);
			i++;
		}
	}
}

static void add_utf8(struct buf *out, unsigned cp)
{
	char b[4];

	if (cp < 0x80) {
		b[0] = (char)cp;
		buf_add(out, b, 1);
	} else if (cp < 0x800) {
		b[0] = (char)(0xc0 | cp >> 6);
		b[1] = (char)(0x80 | (cp & 0x3f));
		buf_add(out, b, 2);
	} else if (cp < 0x10000) {
		b[0] = (char)(0xe0 | cp >> 12);
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		buf_add(out, b, 3);
	} else {
		b[0] = (char)(0xf0 | cp >> 18);
		b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (char)(0x80 | (cp & 0x3f));
		buf_add(out, b, 4);
	}
}

/*
 * Run the program in `in` against `j`; record what it writes in `ev`
 * (NULL: not recorded).
 */
static void write_program(struct fuzz_in *in, struct json *j,
			  struct events *ev)
{
	bool in_object[JSON_MAX_DEPTH + 1];
	unsigned depth = 1, ops;
	struct event *e;

	json_array_begin(j, NULL);
	in_object[1] = false;
	if (ev)
		new_event(ev, ARRAY);
	for (ops = 0; ops < MAX_OPS && !fuzz_in_empty(in); ops++) {
		unsigned op = fuzz_byte(in) % 9;
		char *key = NULL;
		const uint8_t *p;
		size_t len;
		uint64_t bits = 0;

		if (op == 2) {
			if (depth > 1) {
				if (in_object[depth])
					json_object_end(j);
				else
					json_array_end(j);
				depth--;
				if (ev)
					new_event(ev, END);
			}
			continue;
		}
		if (in_object[depth])
			key = fuzz_str(in, 24);
		e = NULL;
		switch (op) {
		case 0:
		case 1:
			if (depth >= JSON_MAX_DEPTH) {
				json_null(j, key);
				if (ev)
					e = new_event(ev, NUL);
				break;
			}
			if (op == 0)
				json_object_begin(j, key);
			else
				json_array_begin(j, key);
			in_object[++depth] = op == 0;
			if (ev)
				e = new_event(ev, op == 0 ? OBJECT : ARRAY);
			break;
		case 3:
			p = fuzz_bytes(in, fuzz_byte(in) % 80, &len);
			json_strn(j, key, (const char *)p, len);
			if (ev) {
				e = new_event(ev, STRING);
				expect_text(&e->str, (const char *)p, len);
			}
			break;
		case 4: {
			char *s = fuzz_str(in, 80);

			json_str(j, key, s);
			if (ev) {
				e = new_event(ev, STRING);
				expect_text(&e->str, s, strlen(s));
			}
			free(s);
			break;
		}
		case 5:
		case 6:
			p = fuzz_bytes(in, 8, &len);
			memcpy(&bits, p, len);
			if (op == 5) {
				int64_t v;

				memcpy(&v, &bits, sizeof(v));
				json_int(j, key, v);
				if (ev) {
					e = new_event(ev, INT);
					e->i = v;
				}
			} else {
				unsigned dec = fuzz_byte(in) % 12;
				double d;

				memcpy(&d, &bits, sizeof(d));
				json_double(j, key, d, dec);
				if (ev) {
					e = new_event(ev, isfinite(d) ?
						      DOUBLE : NUL);
					e->d = d;
					e->decimals = dec > 9 ? 9 : dec;
				}
			}
			break;
		case 7: {
			bool b = fuzz_byte(in) & 1;

			json_bool(j, key, b);
			if (ev) {
				e = new_event(ev, BOOL);
				e->b = b;
			}
			break;
		}
		default:
			if (fuzz_byte(in) & 1)
				json_null(j, key);
			else
				json_str(j, key, NULL);
			if (ev)
				e = new_event(ev, NUL);
			break;
		}
		if (e && key) {
			e->has_key = true;
			expect_text(&e->key, key, strlen(key));
		}
		free(key);
	}
	for (; depth > 0; depth--) {
		if (in_object[depth])
			json_object_end(j);
		else
			json_array_end(j);
		if (ev)
			new_event(ev, END);
	}
}

/* The reader: a cursor over the text and the events it found. */
struct reader {
	const unsigned char *p, *end;
	struct events *ev;
};

static bool at(struct reader *r, char c)
{
	return r->p < r->end && *r->p == c;
}

static void expect_char(struct reader *r, char c)
{
	FUZZ_CHECK(at(r, c));
	r->p++;
}

static unsigned hex4(struct reader *r)
{
	unsigned v = 0, i;

	FUZZ_CHECK(r->end - r->p >= 4);
	for (i = 0; i < 4; i++) {
		unsigned char c = *r->p++;

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			FUZZ_CHECK(!"a \\u escape with a non-hex digit");
	}
	return v;
}

/* A string literal, decoded into `out`. */
static void read_string(struct reader *r, struct buf *out)
{
	unsigned cp;
	size_t n;

	expect_char(r, '"');
	for (;;) {
		FUZZ_CHECK(r->p < r->end);
		if (*r->p == '"') {
			r->p++;
			return;
		}
		FUZZ_CHECK(*r->p >= 0x20);
		if (*r->p != '\\') {
			n = utf8_seq(r->p, (size_t)(r->end - r->p), &cp);
			FUZZ_CHECK(n);
			FUZZ_CHECK(cp != 0x2028 && cp != 0x2029);
			buf_add(out, r->p, n);
			r->p += n;
			continue;
		}
		r->p++;
		FUZZ_CHECK(r->p < r->end);
		switch (*r->p++) {
		case '"': buf_addch(out, '"'); break;
		case '\\': buf_addch(out, '\\'); break;
		case '/': buf_addch(out, '/'); break;
		case 'b': buf_addch(out, '\b'); break;
		case 'f': buf_addch(out, '\f'); break;
		case 'n': buf_addch(out, '\n'); break;
		case 'r': buf_addch(out, '\r'); break;
		case 't': buf_addch(out, '\t'); break;
		case 'u':
			cp = hex4(r);
			if (cp >= 0xd800 && cp <= 0xdbff) {
				unsigned lo;

				expect_char(r, '\\');
				expect_char(r, 'u');
				lo = hex4(r);
				FUZZ_CHECK(lo >= 0xdc00 && lo <= 0xdfff);
				cp = 0x10000 + ((cp - 0xd800) << 10) +
				     (lo - 0xdc00);
			} else {
				FUZZ_CHECK(cp < 0xdc00 || cp > 0xdfff);
			}
			add_utf8(out, cp);
			break;
		default:
			FUZZ_CHECK(!"an unknown escape");
		}
	}
}

static bool is_digit(struct reader *r)
{
	return r->p < r->end && *r->p >= '0' && *r->p <= '9';
}

/* A number, as RFC 8259 spells it; its text into `out`. */
static void read_number(struct reader *r, struct buf *out)
{
	const unsigned char *start = r->p;

	if (at(r, '-'))
		r->p++;
	FUZZ_CHECK(is_digit(r));
	if (*r->p++ != '0')
		while (is_digit(r))
			r->p++;
	if (at(r, '.')) {
		r->p++;
		FUZZ_CHECK(is_digit(r));
		while (is_digit(r))
			r->p++;
	}
	if (at(r, 'e') || at(r, 'E')) {
		r->p++;
		if (at(r, '+') || at(r, '-'))
			r->p++;
		FUZZ_CHECK(is_digit(r));
		while (is_digit(r))
			r->p++;
	}
	buf_add(out, start, (size_t)(r->p - start));
}

static void read_literal(struct reader *r, const char *word)
{
	size_t n = strlen(word);

	FUZZ_CHECK((size_t)(r->end - r->p) >= n && !memcmp(r->p, word, n));
	r->p += n;
}

static void read_value(struct reader *r, struct buf *key, unsigned depth)
{
	struct event *e;
	struct buf k = BUF_INIT;

	FUZZ_CHECK(depth <= JSON_MAX_DEPTH + 1);
	FUZZ_CHECK(r->p < r->end);
	switch (*r->p) {
	case '{':
	case '[': {
		bool object = *r->p == '{';
		char close = object ? '}' : ']';
		bool first = true;

		e = new_event(r->ev, object ? OBJECT : ARRAY);
		if (key) {
			e->has_key = true;
			buf_add(&e->key, key->ptr, key->len);
		}
		r->p++;
		while (!at(r, close)) {
			if (!first)
				expect_char(r, ',');
			first = false;
			if (object) {
				buf_reset(&k);
				read_string(r, &k);
				expect_char(r, ':');
			}
			read_value(r, object ? &k : NULL, depth + 1);
		}
		r->p++;
		new_event(r->ev, END);
		buf_release(&k);
		return;
	}
	case '"':
		e = new_event(r->ev, STRING);
		read_string(r, &e->str);
		break;
	case 't':
		read_literal(r, "true");
		e = new_event(r->ev, BOOL);
		e->b = true;
		break;
	case 'f':
		read_literal(r, "false");
		e = new_event(r->ev, BOOL);
		break;
	case 'n':
		read_literal(r, "null");
		e = new_event(r->ev, NUL);
		break;
	default:
		e = new_event(r->ev, INT);	/* a number: see same() */
		read_number(r, &e->number);
		break;
	}
	if (key) {
		e->has_key = true;
		buf_add(&e->key, key->ptr, key->len);
	}
}

static double magnitude(double d)
{
	return d < 0 ? -d : d;
}

static bool same_buf(const struct buf *a, const struct buf *b)
{
	return a->len == b->len && !memcmp(a->ptr, b->ptr, a->len);
}

/* Does the value read (`got`) hold what was written (`want`)? */
static void check_same(const struct event *want, const struct event *got)
{
	FUZZ_CHECK(want->has_key == got->has_key);
	FUZZ_CHECK(same_buf(&want->key, &got->key));
	switch (want->kind) {
	case INT: {
		char *end;
		long long v;

		FUZZ_CHECK(got->kind == INT);
		FUZZ_CHECK(!strpbrk(got->number.ptr, ".eE"));
		v = strtoll(got->number.ptr, &end, 10);
		FUZZ_CHECK(!*end && v == want->i);
		break;
	}
	case DOUBLE: {
		static const double half_unit[] = {
			0.5, 0.05, 0.005, 5e-4, 5e-5, 5e-6, 5e-7, 5e-8, 5e-9,
			5e-10
		};
		double v, tol;

		FUZZ_CHECK(got->kind == INT);
		v = strtod(got->number.ptr, NULL);
		tol = half_unit[want->decimals] * 1.000001 +
		      magnitude(want->d) * 1e-15;
		FUZZ_CHECK(magnitude(v - want->d) <= tol);
		break;
	}
	case STRING:
		FUZZ_CHECK(got->kind == STRING);
		FUZZ_CHECK(same_buf(&want->str, &got->str));
		break;
	case BOOL:
		FUZZ_CHECK(got->kind == BOOL && got->b == want->b);
		break;
	default:
		FUZZ_CHECK(got->kind == want->kind);
		break;
	}
}

static struct events written, read_back;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf out = BUF_INIT, capped = BUF_INIT;
	struct fuzz_in in;
	struct json j;
	struct reader r;
	size_t i;

	if (size > 4096)
		return 0;
	buf_init(&out, 1 << 20);
	fuzz_in_init(&in, data, size);
	json_init(&j, &out);
	write_program(&in, &j, &written);
	FUZZ_CHECK(!buf_error(&out));

	r.p = (const unsigned char *)out.ptr;
	r.end = r.p + out.len;
	r.ev = &read_back;
	read_value(&r, NULL, 1);
	FUZZ_CHECK(r.p == r.end);
	FUZZ_CHECK(written.nr == read_back.nr);
	for (i = 0; i < written.nr; i++)
		check_same(&written.e[i], &read_back.e[i]);

	/* again with a cap: a prefix, and the failure sticks */
	buf_init(&capped, size ? data[0] * 4 : 0);
	fuzz_in_init(&in, data, size);
	json_init(&j, &capped);
	write_program(&in, &j, NULL);
	FUZZ_CHECK(capped.len <= out.len &&
		   !memcmp(capped.ptr, out.ptr, capped.len));
	FUZZ_CHECK(!buf_error(&capped) == (capped.len == out.len));

	events_release(&written);
	events_release(&read_back);
	buf_release(&out);
	buf_release(&capped);
	error_clear();
	return 0;
}
