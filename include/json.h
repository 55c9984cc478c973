#ifndef JSON_H
#define JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/*
 * A JSON text writer into a buf (RFC 8259). Strings may hold any bytes:
 * quotes, backslashes and control characters are escaped, U+2028 and
 * U+2029 too (so the text is also a JavaScript literal), and bytes that
 * are not valid UTF-8 become U+FFFD. The writer places the commas; the
 * caller opens and closes objects and arrays in order, and passes a key
 * exactly when the value goes into an object. Failures (the buf's cap)
 * are sticky in the buf: check buf_error() once at the end.
 */

#define JSON_MAX_DEPTH 16

struct json {
	struct buf *out;
	unsigned depth;
	bool first[JSON_MAX_DEPTH + 1];	/* no value yet at that depth */
};

void json_init(struct json *j, struct buf *out);

/* `key` is the member name inside an object, NULL anywhere else. */
void json_object_begin(struct json *j, const char *key);
void json_object_end(struct json *j);
void json_array_begin(struct json *j, const char *key);
void json_array_end(struct json *j);

/* A NULL string is written as null. */
void json_str(struct json *j, const char *key, const char *s);
void json_strn(struct json *j, const char *key, const char *s, size_t len);
void json_int(struct json *j, const char *key, int64_t v);
/* A number with up to `decimals` digits after the point. */
void json_double(struct json *j, const char *key, double v,
		 unsigned decimals);
void json_bool(struct json *j, const char *key, bool v);
void json_null(struct json *j, const char *key);

/* Append `len` bytes of `s` as one JSON string literal, quotes included. */
void json_quote(struct buf *out, const char *s, size_t len);

#endif
