#include "schema.h"

#include <pwd.h>
#include <regex.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "confval.h"
#include "errors.h"
#include "suggest.h"

/* Where the keys read go, besides a kind: */
#define SEC_NONE (-1)	/* before the first header */
#define SEC_BAD (-2)	/* a rejected header: its keys are ignored */

/* Room for "[KIND \"NAME\"]" or "KIND 'NAME'" in a message. */
#define LABEL_MAX (SCHEMA_NAME_MAX + 48)

/* The prototypes: the struct, and one element per named kind. */
struct schema_defaults {
	char *obj;
	char **elems;
};

struct problem {
	unsigned line;
	char *msg;
};

struct schema_parser {
	const struct schema *s;
	char *obj;
	int sec;		/* kind of the current section, or SEC_* */
	size_t elem;		/* its element, for a named kind */
	unsigned *sec_line;	/* per kind: line of a single kind's header */
	unsigned **key_line;	/* per kind: nr_keys lines per element */
	bool *too_many;		/* per kind: too many elements, reported */
	const char *default_for;	/* applying a late default: whose */

	bool home_done;
	char *home;

	struct problem *probs;
	size_t nr_probs;
	bool too_many_probs;
};

void schema_problem(struct schema_parser *sp, unsigned line,
		    const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (sp->nr_probs >= sp->s->max_problems) {
		sp->too_many_probs = true;
		return;
	}
	va_start(ap, fmt);
	if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
		snprintf(msg, sizeof(msg), "unprintable error");
	va_end(ap);
	sp->probs[sp->nr_probs].line = line;
	sp->probs[sp->nr_probs].msg = xstrdup(msg);
	sp->nr_probs++;
}

/* The value of `k` at `line` failed its check: say why (error_last()). */
static void invalid(struct schema_parser *sp, const struct schema_key *k,
		    unsigned line)
{
	schema_problem(sp, line, "invalid '%s': %s", k->name, error_last());
	error_clear();
}

/* A pointer stored at `p`, whatever it points to. */
static void *ptr_at(const char *p)
{
	void *v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static char *elems(const char *obj, const struct schema_kind *sk)
{
	return ptr_at(obj + sk->array_off);
}

static size_t *nr_elems(char *obj, const struct schema_kind *sk)
{
	return (size_t *)(obj + sk->nr_off);
}

static char *elem_at(const char *obj, const struct schema_kind *sk,
		     size_t i)
{
	return elems(obj, sk) + i * sk->elem_size;
}

static char **elem_name(char *elem, const struct schema_kind *sk)
{
	return (char **)(elem + sk->name_off);
}

static unsigned *elem_line(char *elem, const struct schema_kind *sk)
{
	return (unsigned *)(elem + sk->line_off);
}

/* The prototype the keys of `kind` are stored in. */
static char *proto_of(const struct schema *s, size_t kind)
{
	const struct schema_defaults *d = *s->defaults;

	return s->kinds[kind].named ? d->elems[kind] : d->obj;
}

/*
 * A home path's default depends on the process (its HOME), so it is not
 * shared: it is applied when the file has been read, to each section that
 * did not set the key.
 */
static bool late_default(const struct schema_key *k)
{
	return k->def && k->type == SCHEMA_HOMEPATH;
}

static bool empty_ok(const struct schema_key *k)
{
	return k->type == SCHEMA_LIST ||
	       (!k->def && !(k->flags & SCHEMA_REQUIRED));
}

static bool stores_string(const struct schema_key *k)
{
	return k->type == SCHEMA_STRING || k->type == SCHEMA_HOMEPATH ||
	       k->type == SCHEMA_REGEX;
}

/* Free the field of `k` in `base` unless shared; leave it empty. */
static void field_release(const struct schema *s, const struct schema_key *k,
			  char *base)
{
	const char *proto = proto_of(s, k->kind) + k->off;
	char *f = base + k->off;

	if (stores_string(k)) {
		if (ptr_at(f) != ptr_at(proto))
			free(*(char **)f);
		*(char **)f = NULL;
		if (k->type == SCHEMA_REGEX && *(bool *)(base + k->flag_off)) {
			regfree((regex_t *)(base + k->aux_off));
			*(bool *)(base + k->flag_off) = false;
		}
	} else if (k->type == SCHEMA_LIST) {
		if (((struct strvec *)f)->v ==
		    ((const struct strvec *)proto)->v)
			strvec_init((struct strvec *)f);
		else
			strvec_clear((struct strvec *)f);
	} else if (k->type == SCHEMA_CUSTOM) {
		k->release(k, base, ptr_at(f) == ptr_at(proto));
	}
}

void schema_clear_field(const struct schema_parser *sp,
			const struct schema_key *k, char *base)
{
	field_release(sp->s, k, base);
}

/* The home directory: $HOME, else the password database; or NULL. */
static const char *home_dir(struct schema_parser *sp)
{
	const char *h;
	size_t len;

	if (sp->home_done)
		return sp->home;
	sp->home_done = true;
	h = getenv("HOME");
	if (!h || h[0] != '/') {
		struct passwd *pw = getpwuid(getuid());

		h = pw && pw->pw_dir && pw->pw_dir[0] == '/' ? pw->pw_dir
							     : NULL;
	}
	if (!h)
		return NULL;
	len = strlen(h);
	while (len && h[len - 1] == '/')
		len--;
	sp->home = xstrndup(h, len);
	return sp->home;
}

static void store_size(struct schema_parser *sp, const struct schema_key *k,
		       unsigned line, const char *v, uint64_t *field)
{
	struct confval_quote q;
	uint64_t n;

	if (!*v)
		return;
	if (confval_size(v, &n) < 0)
		invalid(sp, k, line);
	else if (!n)
		schema_problem(sp, line, "invalid '%s': '%s' is zero (leave "
			       "it empty for no limit)", k->name,
			       confval_quote(&q, v));
	else
		*field = n;
}

/* ~/PATH into *field, with the home directory. */
static void store_home(struct schema_parser *sp, const struct schema_key *k,
		       unsigned line, const char *v, char **field)
{
	struct buf b = BUF_INIT;
	const char *home = home_dir(sp);

	if (!home && sp->default_for) {
		schema_problem(sp, line, "%s: no home directory for the "
			       "default '%s' (set '%s')", sp->default_for,
			       k->name, k->name);
		return;
	}
	if (!home) {
		schema_problem(sp, line, "invalid '%s': cannot expand '~' (no "
			       "home directory)", k->name);
		return;
	}
	if (buf_addf(&b, "%s%s", home, v + 1) < 0)
		BUG("store_home: %s", error_last());
	*field = buf_detach(&b, NULL);
}

static void store_string(struct schema_parser *sp, const struct schema_key *k,
			 char *base, unsigned line, const char *v)
{
	char **field = (char **)(base + k->off);
	int (*check)(const char *) = k->check;

	if (k->type == SCHEMA_HOMEPATH)
		check = confval_homepath;
	if (*v && check && check(v) < 0) {
		invalid(sp, k, line);
		return;
	}
	field_release(sp->s, k, base);
	if (!*v)
		return;
	if (k->type == SCHEMA_REGEX) {
		regex_t *re = (regex_t *)(base + k->aux_off);
		int rc = regcomp(re, v, REG_EXTENDED | REG_NOSUB);

		if (rc) {
			char msg[256];

			regerror(rc, re, msg, sizeof(msg));
			schema_problem(sp, line, "invalid '%s': %s", k->name,
				       msg);
			return;
		}
		*(bool *)(base + k->flag_off) = true;
	}
	if (k->type == SCHEMA_HOMEPATH && v[0] == '~')
		store_home(sp, k, line, v, field);
	else
		*field = xstrdup(v);
}

static void store_list(struct schema_parser *sp, const struct schema_key *k,
		       char *base, unsigned line, const char *v)
{
	struct strvec list = STRVEC_INIT;
	bool ok = true;
	size_t i;

	strvec_split(&list, v);
	if (list.nr > sp->s->max_list) {
		schema_problem(sp, line, "invalid '%s': too many entries (at "
			       "most %zu)", k->name, sp->s->max_list);
		strvec_clear(&list);
		return;
	}
	for (i = 0; k->check && i < list.nr; i++) {
		if (k->check(list.v[i]) < 0) {
			invalid(sp, k, line);	/* each one, then give up */
			ok = false;
		}
	}
	if (ok) {
		field_release(sp->s, k, base);
		*(struct strvec *)(base + k->off) = list;
		return;
	}
	strvec_clear(&list);
}

/* Check the value `v` of key `k` set at `line`, and store it in `base`. */
static void store(struct schema_parser *sp, const struct schema_key *k,
		  char *base, unsigned line, const char *v)
{
	void *field = base + k->off;
	size_t word;

	if (confval_has_ctl(v, !(k->flags & SCHEMA_NO_TAB))) {
		schema_problem(sp, line, "value of '%s' contains a control "
			       "character", k->name);
		return;
	}
	if (!(k->flags & SCHEMA_QUOTES_OK) && strpbrk(v, "\"'")) {
		/* `protected = "main"` would silently protect nothing */
		schema_problem(sp, line, "invalid '%s': remove the quotes "
			       "(values in %s are not quoted)", k->name,
			       sp->s->file);
		return;
	}
	if (!*v && !empty_ok(k)) {
		schema_problem(sp, line, "missing value for '%s'", k->name);
		return;
	}
	switch (k->type) {
	case SCHEMA_BOOL:
		if (confval_bool(v, field) < 0)
			invalid(sp, k, line);
		break;
	case SCHEMA_UINT:
		if (!*v)	/* a key without a default: unset again */
			*(unsigned *)field = 0;
		else if (confval_uint(v, k->min, k->max, field) < 0)
			invalid(sp, k, line);
		break;
	case SCHEMA_SIZE:
		store_size(sp, k, line, v, field);
		break;
	case SCHEMA_WORD:
		if (confval_word(v, k->words, k->nr_words, &word) < 0)
			invalid(sp, k, line);
		else
			*(int *)field = (int)word;
		break;
	case SCHEMA_STRING:
	case SCHEMA_HOMEPATH:
	case SCHEMA_REGEX:
		store_string(sp, k, base, line, v);
		break;
	case SCHEMA_LIST:
		store_list(sp, k, base, line, v);
		break;
	case SCHEMA_CUSTOM:
		k->store(sp, k, base, line, v);
		break;
	}
}

/* Check the tables, and build the prototypes. */
static void defaults_build(const struct schema *s)
{
	struct schema_defaults *d;
	struct schema_parser *sp;
	size_t i;

	if (*s->defaults)
		return;
	d = xcalloc(1, sizeof(*d));
	d->obj = xcalloc(1, s->size);
	d->elems = xcalloc(s->nr_kinds, sizeof(*d->elems));
	for (i = 0; i < s->nr_kinds; i++) {
		if (s->kinds[i].named &&
		    s->kinds[i].name_max > SCHEMA_NAME_MAX)
			BUG("kind '%s': names too long", s->kinds[i].name);
		if (s->kinds[i].named)
			d->elems[i] = xcalloc(1, s->kinds[i].elem_size);
	}
	*s->defaults = d;
	sp = schema_parser_new(s, d->obj);
	for (i = 0; i < s->nr_keys; i++) {
		const struct schema_key *k = &s->keys[i];
		char *base = proto_of(s, k->kind);

		if (k->type == SCHEMA_LIST)
			strvec_init((struct strvec *)(base + k->off));
		/* a compiled regex cannot be shared, nor a late default */
		if ((k->type == SCHEMA_REGEX && k->def) ||
		    (!s->kinds[k->kind].named &&
		     (late_default(k) || (k->flags & SCHEMA_REQUIRED))))
			BUG("key '%s': unsupported default", k->name);
		if (k->def && !late_default(k))
			store(sp, k, base, 0, k->def);
		if (sp->nr_probs)
			BUG("default of '%s': %s", k->name, sp->probs[0].msg);
	}
	schema_parser_free(sp);
}

void schema_init(const struct schema *s, void *obj)
{
	defaults_build(s);
	memcpy(obj, (*s->defaults)->obj, s->size);
}

void schema_release(const struct schema *s, void *obj)
{
	char *o = obj;
	size_t i, j, e;

	for (i = 0; i < s->nr_keys; i++)
		if (!s->kinds[s->keys[i].kind].named)
			field_release(s, &s->keys[i], o);
	for (i = 0; i < s->nr_kinds; i++) {
		const struct schema_kind *sk = &s->kinds[i];

		if (!sk->named)
			continue;
		for (e = 0; e < *nr_elems(o, sk); e++) {
			char *elem = elem_at(o, sk, e);

			for (j = 0; j < s->nr_keys; j++)
				if (s->keys[j].kind == i)
					field_release(s, &s->keys[j], elem);
			free(*elem_name(elem, sk));
		}
		free(elems(o, sk));
	}
	schema_init(s, obj);
}

struct schema_parser *schema_parser_new(const struct schema *s, void *obj)
{
	struct schema_parser *sp = xcalloc(1, sizeof(*sp));
	size_t i;

	sp->s = s;
	sp->obj = obj;
	sp->sec = SEC_NONE;
	sp->sec_line = xcalloc(s->nr_kinds, sizeof(*sp->sec_line));
	sp->key_line = xcalloc(s->nr_kinds, sizeof(*sp->key_line));
	sp->too_many = xcalloc(s->nr_kinds, sizeof(*sp->too_many));
	for (i = 0; i < s->nr_kinds; i++)
		sp->key_line[i] = xcalloc(s->kinds[i].named ?
					  s->kinds[i].max : 1,
					  s->nr_keys * sizeof(unsigned));
	sp->probs = xcalloc(s->max_problems, sizeof(*sp->probs));
	return sp;
}

void schema_parser_free(struct schema_parser *sp)
{
	size_t i;

	if (!sp)
		return;
	for (i = 0; i < sp->nr_probs; i++)
		free(sp->probs[i].msg);
	free(sp->probs);
	for (i = 0; i < sp->s->nr_kinds; i++)
		free(sp->key_line[i]);
	free(sp->key_line);
	free(sp->sec_line);
	free(sp->too_many);
	free(sp->home);
	free(sp);
}

/*
 * "[core]", "[environment \"NAME\"]": a section in messages, the current
 * one with its name (sp set), or the kind in general.
 */
static const char *section_label(const struct schema_parser *sp,
				 const struct schema *s, size_t kind,
				 char out[LABEL_MAX])
{
	const struct schema_kind *sk = &s->kinds[kind];

	if (!sk->named)
		snprintf(out, LABEL_MAX, "[%s]", sk->name);
	else if (sp)
		snprintf(out, LABEL_MAX, "[%s \"%s\"]", sk->name,
			 *elem_name(elem_at(sp->obj, sk, sp->elem), sk));
	else
		snprintf(out, LABEL_MAX, "[%s \"NAME\"]", sk->name);
	return out;
}

/* Key `name` of `kind`, or of any kind (kind < 0); or NULL. */
static const struct schema_key *find_key(const struct schema *s,
					 const char *name, int kind)
{
	size_t i;

	for (i = 0; i < s->nr_keys; i++)
		if ((kind < 0 || s->keys[i].kind == (size_t)kind) &&
		    !strcmp(s->keys[i].name, name))
			return &s->keys[i];
	return NULL;
}

/* The lines where the keys of element `e` of `kind` were set (0: not). */
static unsigned *key_lines(const struct schema_parser *sp, size_t kind,
			   size_t e)
{
	const struct schema *s = sp->s;

	return sp->key_line[kind] + (s->kinds[kind].named ? e * s->nr_keys
							  : 0);
}

unsigned schema_key_line(const struct schema_parser *sp, size_t kind,
			 size_t elem, const char *name)
{
	const struct schema_key *k = find_key(sp->s, name, (int)kind);

	if (!k)
		BUG("schema_key_line: no key '%s'", name);
	return key_lines(sp, kind, elem)[k - sp->s->keys];
}

static void unknown_key(struct schema_parser *sp, const char *name,
			unsigned line)
{
	const struct schema *s = sp->s;
	const struct schema_key *other = find_key(s, name, -1);
	const char **cands, *best;
	char here[LABEL_MAX], there[LABEL_MAX];
	struct confval_quote q;
	size_t i, nr = 0;

	section_label(sp, s, (size_t)sp->sec, here);
	if (other) {
		schema_problem(sp, line, "unknown key '%s' in %s (it belongs "
			       "in %s)", name, here,
			       section_label(NULL, s, other->kind, there));
		return;
	}
	cands = xcalloc(s->nr_keys, sizeof(*cands));
	for (i = 0; i < s->nr_keys; i++)
		if (s->keys[i].kind == (size_t)sp->sec)
			cands[nr++] = s->keys[i].name;
	best = suggest_closest(name, cands, nr);
	if (best)
		schema_problem(sp, line, "unknown key '%s' in %s (did you "
			       "mean '%s'?)", confval_quote(&q, name), here,
			       best);
	else
		schema_problem(sp, line, "unknown key '%s' in %s",
			       confval_quote(&q, name), here);
	free(cands);
}

void schema_read_key(struct schema_parser *sp, const char *name,
		     const char *value, unsigned line)
{
	const struct schema *s = sp->s;
	const struct schema_key *k;
	unsigned *lines;
	char label[LABEL_MAX];
	struct confval_quote q;

	if (sp->sec == SEC_BAD)
		return;
	if (!*name) {
		schema_problem(sp, line, "missing key name before '='");
		return;
	}
	if (sp->sec == SEC_NONE) {
		k = find_key(s, name, -1);
		if (k)
			schema_problem(sp, line, "key '%s' is outside any "
				       "section (it belongs in %s)", name,
				       section_label(NULL, s, k->kind, label));
		else
			schema_problem(sp, line, "key '%s' is outside any "
				       "section", confval_quote(&q, name));
		return;
	}
	k = find_key(s, name, sp->sec);
	if (!k) {
		unknown_key(sp, name, line);
		return;
	}
	lines = key_lines(sp, k->kind, sp->elem);
	if (lines[k - s->keys]) {
		schema_problem(sp, line, "duplicate key '%s' in %s (first set "
			       "at line %u)", name,
			       section_label(sp, s, k->kind, label),
			       lines[k - s->keys]);
		return;
	}
	lines[k - s->keys] = line;
	if (!value)
		schema_problem(sp, line, "value of '%s' is too long (more "
			       "than %zu bytes)", k->name, s->max_value);
	else if (s->kinds[k->kind].named)
		store(sp, k, elem_at(sp->obj, &s->kinds[k->kind], sp->elem),
		      line, value);
	else
		store(sp, k, sp->obj, line, value);
}

/* A [KIND "NAME"] header at `line`: a new element of a named kind. */
static void begin_named(struct schema_parser *sp, size_t kind,
			const char *name, unsigned line)
{
	const struct schema_kind *sk = &sp->s->kinds[kind];
	size_t *nr = nr_elems(sp->obj, sk), i;
	struct confval_quote q;
	char *array, *elem;

	if (strlen(name) > sk->name_max) {
		schema_problem(sp, line, "%s name '%s' is too long (at most "
			       "%zu characters)", sk->name,
			       confval_quote(&q, name), sk->name_max);
		return;
	}
	if (!sk->name_ok(name)) {
		schema_problem(sp, line, "invalid %s name '%s' (%s)", sk->name,
			       confval_quote(&q, name), sk->name_rule);
		return;
	}
	for (i = 0; i < *nr; i++) {
		elem = elem_at(sp->obj, sk, i);
		if (!strcmp(*elem_name(elem, sk), name)) {
			schema_problem(sp, line, "duplicate %s '%s' (first "
				       "defined at line %u)", sk->name, name,
				       *elem_line(elem, sk));
			return;
		}
	}
	if (*nr >= sk->max) {
		if (!sp->too_many[kind])
			schema_problem(sp, line, "too many %ss (at most %u)",
				       sk->name, sk->max);
		sp->too_many[kind] = true;
		return;
	}
	array = xreallocarray(elems(sp->obj, sk), *nr + 1, sk->elem_size);
	memcpy(sp->obj + sk->array_off, &array, sizeof(array));
	elem = elem_at(sp->obj, sk, *nr);
	memcpy(elem, proto_of(sp->s, kind), sk->elem_size);
	*elem_name(elem, sk) = xstrdup(name);
	*elem_line(elem, sk) = line;
	sp->sec = (int)kind;
	sp->elem = (*nr)++;
}

/*
 * `[KIND "NAME"]`: `text` starts with the kind's name. Begin the element,
 * or report a malformed header.
 */
static void begin_quoted(struct schema_parser *sp, size_t kind,
			 const char *text, unsigned line)
{
	const char *kname = sp->s->kinds[kind].name;
	size_t plen = strlen(kname), len;
	const char *s = text + plen + strspn(text + plen, " \t");
	struct confval_quote q;
	char *name;

	len = strlen(s);
	if (s == text + plen || len < 2 || s[0] != '"' || s[len - 1] != '"' ||
	    memchr(s + 1, '"', len - 2)) {
		schema_problem(sp, line, "malformed section '[%s]' (write "
			       "[%s \"NAME\"])", confval_quote(&q, text),
			       kname);
		return;
	}
	name = xstrndup(s + 1, len - 2);
	begin_named(sp, kind, name, line);
	free(name);
}

static void unknown_section(struct schema_parser *sp, const char *text,
			    unsigned line)
{
	const struct schema *s = sp->s;
	const char **names, *best, *w;
	char word[CONFVAL_QUOTE_MAX + 1], label[LABEL_MAX];
	struct buf all = BUF_INIT;
	struct confval_quote q;
	size_t i, n = s->nr_kinds;

	names = xcalloc(n, sizeof(*names));
	for (i = 0; i < n; i++)
		names[i] = s->kinds[i].name;
	/* suggest from the first word, so `[ core ]` finds [core] */
	w = text + strspn(text, " \t");
	snprintf(word, sizeof(word), "%.*s", (int)strcspn(w, " \t\""), w);
	best = suggest_closest(word, names, n);
	for (i = 0; best && names[i] != best; i++)
		;
	free(names);
	if (best) {
		schema_problem(sp, line, "unknown section '[%s]' (did you mean "
			       "'%s'?)", confval_quote(&q, text),
			       section_label(NULL, s, i, label));
		return;
	}
	for (i = 0; i < n; i++)
		buf_addf(&all, "%s%s", !i ? "" : i + 1 < n ? ", " : " or ",
			 section_label(NULL, s, i, label));
	if (buf_error(&all) < 0)
		BUG("unknown_section: %s", error_last());
	schema_problem(sp, line, "unknown section '[%s]' (expected %s)",
		       confval_quote(&q, text), all.ptr);
	buf_release(&all);
}

void schema_read_section(struct schema_parser *sp, const char *text,
			 unsigned line)
{
	size_t i;

	sp->sec = SEC_BAD;
	if (!text)
		return;
	for (i = 0; i < sp->s->nr_kinds; i++) {
		const struct schema_kind *sk = &sp->s->kinds[i];
		size_t plen = strlen(sk->name);

		if (!sk->named && !strcmp(text, sk->name)) {
			if (sp->sec_line[i]) {
				schema_problem(sp, line, "duplicate section "
					       "'[%s]' (first at line %u)",
					       text, sp->sec_line[i]);
				return;
			}
			sp->sec_line[i] = line;
			sp->sec = (int)i;
			return;
		}
		if (sk->named && !strncmp(text, sk->name, plen) &&
		    (!text[plen] || text[plen] == ' ' || text[plen] == '\t')) {
			begin_quoted(sp, i, text, line);
			return;
		}
	}
	unknown_section(sp, text, line);
}

/*
 * Each element of named kind `kind`: the keys it must set, and the
 * defaults that are applied only now.
 */
static void check_elements(struct schema_parser *sp, size_t kind)
{
	const struct schema *s = sp->s;
	const struct schema_kind *sk = &s->kinds[kind];
	char label[LABEL_MAX];
	size_t e, i;

	for (e = 0; e < *nr_elems(sp->obj, sk); e++) {
		char *elem = elem_at(sp->obj, sk, e);
		unsigned *lines = key_lines(sp, kind, e);
		unsigned line = *elem_line(elem, sk);

		snprintf(label, sizeof(label), "%s '%s'", sk->name,
			 *elem_name(elem, sk));
		for (i = 0; i < s->nr_keys; i++) {
			const struct schema_key *k = &s->keys[i];

			if (k->kind != kind || lines[i])
				continue;
			if ((k->flags & SCHEMA_REQUIRED) &&
			    !(k->unless && lines[find_key(s, k->unless,
							  (int)kind) -
						 s->keys]))
				schema_problem(sp, line, "%s has no '%s'",
					       label, k->name);
			if (!late_default(k))
				continue;
			sp->default_for = label;
			store(sp, k, elem, line, k->def);
			sp->default_for = NULL;
		}
	}
}

/* Hand the problems over as "FILE:LINE: message", sorted by line. */
static int report(struct schema_parser *sp, struct strvec *errors)
{
	const char *file = sp->s->file;
	size_t i, j;

	for (i = 1; i < sp->nr_probs; i++) {
		struct problem p = sp->probs[i];

		for (j = i; j > 0 && sp->probs[j - 1].line > p.line; j--)
			sp->probs[j] = sp->probs[j - 1];
		sp->probs[j] = p;
	}
	for (i = 0; errors && i < sp->nr_probs; i++)
		strvec_pushf(errors, "%s:%u: %s", file, sp->probs[i].line,
			     sp->probs[i].msg);
	if (sp->too_many_probs && errors)
		strvec_pushf(errors, "%s: too many errors", file);
	if (sp->nr_probs)
		return error_set(ERR_INVALID, "%s:%u: %s", file,
				 sp->probs[0].line, sp->probs[0].msg);
	return error_set(ERR_INVALID, "%s: too many errors", file);
}

int schema_finish(struct schema_parser *sp, struct strvec *errors)
{
	const struct schema *s = sp->s;
	size_t i;

	for (i = 0; i < s->nr_kinds; i++)
		if (s->kinds[i].named)
			check_elements(sp, i);
	for (i = 0; i < s->nr_kinds; i++)
		if (s->kinds[i].check)
			s->kinds[i].check(sp, sp->obj);
	if (!sp->nr_probs && !sp->too_many_probs)
		return 0;
	return report(sp, errors);
}
