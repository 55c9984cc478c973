#ifndef SCHEMA_H
#define SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

#include "strvec.h"

/*
 * A table-driven reader of INI sections and keys into a C struct: the
 * engine behind config, which holds the tables (what hooks.ini may say)
 * and feeds in what inifile reads.
 *
 * Two tables describe a file. The kinds of section (struct schema_kind):
 * a single kind such as [core] appears at most once and its keys are
 * fields of the struct itself; a named kind such as [environment "NAME"]
 * appears once per NAME, as an element of an array in the struct, and its
 * keys are fields of the element. The keys (struct schema_key): each
 * belongs to one kind, has a type that says how its value is checked and
 * stored, and a default written as the file would write it.
 *
 * From the rows alone the engine handles defaults, values checked against
 * their type, unknown, misplaced and duplicate keys and sections (with a
 * "did you mean" suggestion), keys a named section must set, and freeing.
 * Every problem is collected as "FILE:LINE: message"; nothing stops at
 * the first one.
 *
 * Defaults are stored once per process, by the same code that stores a
 * value read from the file, into a prototype of the struct and of each
 * kind's element. A struct or element starts as a copy of its prototype,
 * so a field that keeps its default shares the prototype's memory, and
 * freeing skips it. Such fields must be treated as read-only, as the
 * whole struct is meant to be once read.
 */

/* Longest name of a named section's element, in bytes. */
#define SCHEMA_NAME_MAX 64

/* How a key's value is checked and stored. */
enum schema_type {
	SCHEMA_BOOL,		/* bool: true/yes/on/1 or false/no/off/0 */
	SCHEMA_UINT,		/* unsigned, from `min` to `max` */
	SCHEMA_SIZE,		/* uint64_t, K/M/G; 0 only as empty */
	SCHEMA_WORD,		/* int: the index of the value in `words` */
	SCHEMA_STRING,		/* char *, NULL when empty; passes `check` */
	SCHEMA_HOMEPATH,	/* char *: absolute, or ~/ expanded */
	SCHEMA_REGEX,		/* char *, compiled into `aux_off` */
	SCHEMA_LIST,		/* struct strvec: words, each passing `check` */
	SCHEMA_CUSTOM		/* a pointer, set by `store`, `release`d */
};

/* What else a key's row says about its value. */
enum schema_key_flags {
	SCHEMA_REQUIRED = 1 << 0,	/* every named section must set it */
	SCHEMA_NO_TAB = 1 << 1,		/* names and paths: a tab is a typo */
	SCHEMA_QUOTES_OK = 1 << 2	/* commands, regexes: quotes are text */
};

/* One file being read: see schema_parser_new(). */
struct schema_parser;
struct schema_key;

/*
 * SCHEMA_CUSTOM: check `value` (already checked for control characters
 * and quotes, and not empty unless the key allows it), report what is wrong
 * with schema_problem(), and store it into `base` (the struct or the
 * element) after schema_clear_field(). `release` resets the field (and
 * anything at `aux_off`), freeing what it points to unless `shared` (it
 * is the default, which every struct shares).
 */
typedef void (*schema_store_fn)(struct schema_parser *sp,
				const struct schema_key *k, char *base,
				unsigned line, const char *value);
typedef void (*schema_release_fn)(const struct schema_key *k, char *base,
				  bool shared);

/*
 * One key. A key whose default is NULL (empty) and that is not required,
 * or any SCHEMA_LIST, may be given an empty value; any other key may not
 * ("missing value for 'KEY'").
 */
struct schema_key {
	const char *name;
	size_t kind;		/* index in the schema's kinds */
	enum schema_type type;
	unsigned flags;		/* enum schema_key_flags */
	const char *def;	/* the default, as in the file; NULL: empty */
	size_t off;		/* of the field, in the struct or the element */
	size_t aux_off;		/* REGEX: its regex_t; CUSTOM: its own use */
	size_t flag_off;	/* REGEX: bool, true once compiled */
	unsigned min, max;	/* UINT */
	const char *const *words;	/* WORD */
	size_t nr_words;
	/*
	 * STRING: the value; LIST: each word. Returns 0, or ERR_INVALID with
	 * a message that reads on after "invalid 'KEY': " (see confval.h).
	 */
	int (*check)(const char *s);
	schema_store_fn store;		/* CUSTOM */
	schema_release_fn release;	/* CUSTOM */
	/* with SCHEMA_REQUIRED: not required where this key is set */
	const char *unless;
};

/* A kind of section. The fields after `named` are for named kinds. */
struct schema_kind {
	const char *name;
	bool named;
	size_t array_off;	/* the elements: a pointer in the struct */
	size_t nr_off;		/* how many: a size_t in the struct */
	size_t elem_size;
	size_t name_off;	/* char *: the element's name */
	size_t line_off;	/* unsigned: the line of its header */
	unsigned max;		/* most elements */
	size_t name_max;	/* bytes in a name, up to SCHEMA_NAME_MAX */
	bool (*name_ok)(const char *name);
	const char *name_rule;	/* for "invalid KIND name 'x' (RULE)" */
	/* checks that need the whole file, run by schema_finish(); or NULL */
	void (*check)(struct schema_parser *sp, void *obj);
};

/* The defaults, built by the engine on first use (opaque). */
struct schema_defaults;

/* A file: its tables, the struct they fill, and its limits. */
struct schema {
	const char *file;	/* for messages: "hooks.ini" */
	const struct schema_kind *kinds;
	size_t nr_kinds;
	const struct schema_key *keys;
	size_t nr_keys;
	size_t size;		/* of the struct */
	size_t max_value;	/* longer values come as NULL: "too long" */
	size_t max_list;	/* words in a SCHEMA_LIST value */
	size_t max_problems;	/* kept; the rest are counted */
	/* a NULL pointer in static storage, for the engine to fill */
	struct schema_defaults **defaults;
};

/*
 * Give the struct at `obj` (s->size bytes) its defaults, and no element
 * of any named kind. The defaults are built on the first call of the
 * process (a table default that does not pass its own check is a BUG());
 * after that, nothing is allocated, and a struct that was only
 * initialised needs no release.
 */
void schema_init(const struct schema *s, void *obj);

/* Free what the fields and elements of `obj` own, then schema_init(). */
void schema_release(const struct schema *s, void *obj);

/*
 * A parser storing into `obj`, which schema_init() prepared. Free it with
 * schema_parser_free() (which leaves `obj` alone).
 */
struct schema_parser *schema_parser_new(const struct schema *s, void *obj);
void schema_parser_free(struct schema_parser *sp);

/*
 * A section header at `line`: `text` is what is between the brackets, or
 * NULL for a header the reader could not read (its keys are skipped).
 */
void schema_read_section(struct schema_parser *sp, const char *text,
			 unsigned line);

/*
 * Key `name` at `line` with its complete `value` (NULL: longer than
 * s->max_value), in the section read last.
 */
void schema_read_key(struct schema_parser *sp, const char *name,
		     const char *value, unsigned line);

/* Record a problem at `line` (0: the file as a whole). */
void schema_problem(struct schema_parser *sp, unsigned line,
		    const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * The line where key `name` of element `elem` of kind `kind` (elem 0 for
 * a single kind) was set, or 0. BUG() if the kind has no such key.
 */
unsigned schema_key_line(const struct schema_parser *sp, size_t kind,
			 size_t elem, const char *name);

/*
 * For a SCHEMA_CUSTOM store: free the field of `k` in `base` unless it
 * is the shared default, and reset it.
 */
void schema_clear_field(const struct schema_parser *sp,
			const struct schema_key *k, char *base);

/*
 * The whole file has been read: report the keys each named section must
 * set, apply the defaults that depend on the process (a home path's),
 * and run the kinds' checks. Returns 0 if no problem was recorded;
 * otherwise appends every problem to `errors` (may be NULL) as
 * "FILE:LINE: message", sorted by line, plus "FILE: too many errors" if
 * some were dropped, and returns ERR_INVALID with the first as the
 * message. The caller then releases `obj`.
 */
int schema_finish(struct schema_parser *sp, struct strvec *errors);

#endif
