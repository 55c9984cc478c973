#include "config.h"

#include <fnmatch.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "buf.h"
#include "confval.h"
#include "errors.h"
#include "fsutil.h"
#include "inifile.h"
#include "suggest.h"

/*
 * The schema of hooks.ini is two tables: the kinds of section (kinds[])
 * and the keys (keys[]), each key in one kind of section. Everything
 * else works from them: defaults, parsing and validation of values,
 * unknown and duplicate keys and sections, "did you mean", keys a
 * section must set, and freeing. A new key is a row of keys[] (plus its
 * field); a new kind of section is a row of kinds[] (plus its struct and
 * an array in struct config), and its keys.
 *
 * inifile reads the syntax and hands over section headers and complete
 * keys with their lines; the checks that need the whole file (such as
 * two environments deploying one branch) run at the end.
 */

/* Longest line we accept: a full value plus room for its key. */
#define LINE_MAX_LEN (CONFIG_MAX_VALUE + 256)

/* Longest name of a [KIND "NAME"] section (SPEC §3 has none; we need one). */
#define SECTION_NAME_MAX 64

/* Room for "[KIND \"NAME\"]" or "KIND 'NAME'" in a message. */
#define LABEL_MAX (SECTION_NAME_MAX + 48)

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct parser;

enum kind_id {
	KIND_CORE,
	KIND_VERIFY,
	KIND_ENV,
	NR_KINDS
};

/* The section keys go to, besides a kind: */
#define SEC_NONE (-1)	/* before the first header */
#define SEC_BAD (-2)	/* a rejected header: its keys are ignored */

/*
 * A kind of section: single ([core]: at most once, its keys are fields of
 * struct config) or named ([environment "NAME"]: any number up to `max`,
 * each an element of an array in struct config, its keys fields of the
 * element).
 */
struct section_kind {
	const char *name;
	bool named;
	size_t array_off;	/* the array: a pointer in struct config */
	size_t nr_off;		/* its length: a size_t in struct config */
	size_t elem_size;
	size_t name_off;	/* char *: the element's name */
	size_t line_off;	/* unsigned: the line of its header */
	unsigned max;		/* elements */
	size_t name_max;	/* bytes in a name */
	bool (*name_ok)(const char *name);
	const char *name_rule;	/* for "invalid KIND name 'x' (RULE)" */
	void (*check)(struct parser *ps);	/* whole-file checks */
};

static void check_envs(struct parser *ps);

#define NAMED(type, array, nr, most, ok, rule, chk) \
	.named = true, .array_off = offsetof(struct config, array), \
	.nr_off = offsetof(struct config, nr), .elem_size = sizeof(type), \
	.name_off = offsetof(type, name), .line_off = offsetof(type, line), \
	.max = most, .name_max = SECTION_NAME_MAX, .name_ok = ok, \
	.name_rule = rule, .check = chk

/* In the order messages list them ("expected [core], [verify] or ..."). */
static const struct section_kind kinds[NR_KINDS] = {
	[KIND_CORE] = { .name = "core" },
	[KIND_VERIFY] = { .name = "verify" },
	[KIND_ENV] = { .name = "environment",
		       NAMED(struct config_env, envs, nr_envs, CONFIG_MAX_ENVS,
			     confval_is_name, "use a-z, 0-9, '_' and '-', "
			     "starting with a letter or digit", check_envs) },
};

enum key_type {
	T_BOOL,
	T_UINT,		/* unsigned, from `min` to `max` */
	T_SIZE,		/* uint64_t; empty or 0 is "no limit" */
	T_WORD,		/* an enum: the index of the value in `words` */
	T_REGEX,	/* the text, compiled into `aux_off` (flag_off: done) */
	T_CMD,
	T_BRANCH,
	T_ABSPATH,
	T_HOMEPATH,	/* '~' expanded */
	T_RELPATH,
	T_GLOBS,
	T_VARNAMES,
	T_ENVNAMES,
	T_RELPATHS,
	T_USERS,
	T_HOSTS		/* struct config_host *; `aux_off`: the count */
};

/* How a type is stored, and so set, shared and freed. */
enum storage {
	S_BOOL,
	S_UINT,
	S_SIZE,
	S_WORD,
	S_STRING,	/* char *, NULL when empty */
	S_LIST,		/* struct strvec */
	S_HOSTS
};

static int env_name_entry(const char *e);

struct type_info {
	enum storage storage;
	bool no_tab;		/* names and paths: a tab is a typo */
	bool quotes_ok;		/* commands and regexes may quote */
	int (*check)(const char *s);	/* the value, or each list entry */
};

static const struct type_info types[] = {
	[T_BOOL] = { .storage = S_BOOL },
	[T_UINT] = { .storage = S_UINT },
	[T_SIZE] = { .storage = S_SIZE },
	[T_WORD] = { .storage = S_WORD },
	[T_REGEX] = { .storage = S_STRING, .quotes_ok = true },
	[T_CMD] = { .storage = S_STRING, .quotes_ok = true },
	[T_BRANCH] = { S_STRING, true, false, confval_branch },
	[T_ABSPATH] = { S_STRING, true, false, confval_abspath },
	[T_HOMEPATH] = { S_STRING, true, false, confval_homepath },
	[T_RELPATH] = { S_STRING, true, false, confval_relpath },
	[T_GLOBS] = { S_LIST, false, false, confval_glob },
	[T_VARNAMES] = { S_LIST, false, false, confval_var_name },
	[T_ENVNAMES] = { S_LIST, false, false, env_name_entry },
	[T_RELPATHS] = { S_LIST, false, false, confval_relpath_entry },
	[T_USERS] = { S_LIST, false, false, confval_user },
	[T_HOSTS] = { .storage = S_HOSTS },
};

/* A named section must set the key (it has no default). */
#define KF_REQUIRED (1 << 0)

struct key {
	const char *name;
	enum kind_id kind;
	enum key_type type;
	unsigned flags;
	/*
	 * The default, as hooks.ini would write it, stored by the same code
	 * as a value read from the file; NULL: empty. Keys with an empty
	 * default, and lists, may be set to an empty value; the others may
	 * not ("missing value").
	 */
	const char *def;
	size_t off;		/* in struct config, or the element */
	size_t aux_off, flag_off;	/* see enum key_type */
	unsigned min, max;	/* T_UINT */
	const char *const *words;	/* T_WORD */
	size_t nr_words;
};

static const char *const mode_words[] = { "auto", "manual" };

#define KEY(n, k, t, f, d, st, field) \
	.name = n, .kind = k, .type = t, .flags = f, .def = d, \
	.off = offsetof(st, field)
#define CORE(n, t, d, field) KEY(n, KIND_CORE, t, 0, d, struct config, field)
#define VERIFY(n, t, d, field) \
	KEY(n, KIND_VERIFY, t, 0, d, struct config, field)
#define ENV(n, t, f, d, field) \
	KEY(n, KIND_ENV, t, f, d, struct config_env, field)
#define RANGE(lo, hi) .min = lo, .max = hi
#define WORDS(w) .words = w, .nr_words = ARRAY_SIZE(w)

/* The schema of SPEC §3, in the order of its tables. */
static const struct key keys[] = {
	{ CORE("user_vars", T_VARNAMES, "PUSHGATE_USER GL_USER GL_USERNAME "
	       "REMOTE_USER USER", user_vars) },
	{ CORE("lock_timeout", T_UINT, "600", lock_timeout), RANGE(0, 86400) },
	{ VERIFY("protected", T_GLOBS, NULL, protected_branches) },
	{ VERIFY("protect_tags", T_BOOL, "false", protect_tags) },
	{ VERIFY("commit_message", T_REGEX, NULL, commit_message),
	  .aux_off = offsetof(struct config, commit_re),
	  .flag_off = offsetof(struct config, has_commit_re) },
	{ VERIFY("max_file_size", T_SIZE, NULL, max_file_size) },
	{ VERIFY("forbid_paths", T_GLOBS, NULL, forbid_paths) },
	{ VERIFY("build", T_CMD, NULL, build) },
	{ VERIFY("test", T_CMD, NULL, test) },
	{ VERIFY("test_timeout", T_UINT, "900", test_timeout),
	  RANGE(1, 86400) },
	{ VERIFY("test_branches", T_GLOBS, NULL, test_branches) },
	{ ENV("branch", T_BRANCH, KF_REQUIRED, NULL, branch) },
	{ ENV("hosts", T_HOSTS, 0, "local", hosts),
	  .aux_off = offsetof(struct config_env, nr_hosts) },
	{ ENV("path", T_ABSPATH, KF_REQUIRED, NULL, path) },
	{ ENV("identity", T_HOMEPATH, 0, NULL, identity) },
	{ ENV("known_hosts", T_HOMEPATH, 0, "~/.ssh/known_hosts",
	      known_hosts) },
	{ ENV("port", T_UINT, 0, "22", port), RANGE(1, 65535) },
	{ ENV("mode", T_WORD, 0, "auto", mode), WORDS(mode_words) },
	{ ENV("requires", T_ENVNAMES, 0, NULL, requires) },
	{ ENV("approvers", T_USERS, 0, NULL, approvers) },
	{ ENV("artifact", T_RELPATH, 0, ".", artifact) },
	{ ENV("config", T_RELPATH, 0, NULL, config_dir) },
	{ ENV("shared", T_RELPATHS, 0, NULL, shared) },
	{ ENV("keep", T_UINT, 0, "5", keep), RANGE(1, 1000) },
	{ ENV("maintenance", T_BOOL, 0, "false", maintenance) },
	{ ENV("before", T_CMD, 0, NULL, before) },
	{ ENV("after", T_CMD, 0, NULL, after) },
	{ ENV("healthcheck", T_CMD, 0, NULL, healthcheck) },
	{ ENV("healthcheck_retries", T_UINT, 0, "3", healthcheck_retries),
	  RANGE(1, 100) },
	{ ENV("on_failure", T_CMD, 0, NULL, on_failure) },
	{ ENV("connect_timeout", T_UINT, 0, "10", connect_timeout),
	  RANGE(1, 3600) },
	{ ENV("command_timeout", T_UINT, 0, "600", command_timeout),
	  RANGE(1, 86400) },
};

#define NR_KEYS ARRAY_SIZE(keys)

/* T_WORD stores the index into an enum field. */
_Static_assert(sizeof(enum config_mode) == sizeof(int), "enum size");

struct problem {
	unsigned line;
	char *msg;
};

struct parser {
	struct config *cfg;
	int sec;		/* kind of the current section, or SEC_* */
	size_t elem;		/* its element, for a named kind */
	unsigned sec_line[NR_KINDS];	/* single kinds: header line */
	unsigned *key_line[NR_KINDS];	/* NR_KEYS per element */
	bool too_many[NR_KINDS];	/* elements, reported once */
	const char *default_for;	/* applying a default: whose */

	bool home_done;
	char *home;

	struct problem probs[CONFIG_MAX_ERRORS];
	size_t nr_probs;
	bool too_many_probs;
};

static void problem(struct parser *ps, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void problem(struct parser *ps, unsigned line, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (ps->nr_probs >= CONFIG_MAX_ERRORS) {
		ps->too_many_probs = true;
		return;
	}
	va_start(ap, fmt);
	if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
		snprintf(msg, sizeof(msg), "unprintable error");
	va_end(ap);
	ps->probs[ps->nr_probs].line = line;
	ps->probs[ps->nr_probs].msg = xstrdup(msg);
	ps->nr_probs++;
}

/* The value of `k` at `line` failed its check: say why (error_last()). */
static void invalid(struct parser *ps, const struct key *k, unsigned line)
{
	problem(ps, line, "invalid '%s': %s", k->name, error_last());
	error_clear();
}

/* The elements of a named kind, and their number. */
static char *elems(const struct config *cfg, const struct section_kind *sk)
{
	char *p;

	memcpy(&p, (const char *)cfg + sk->array_off, sizeof(p));
	return p;
}

static size_t *nr_elems(struct config *cfg, const struct section_kind *sk)
{
	return (size_t *)((char *)cfg + sk->nr_off);
}

static char *elem_at(const struct config *cfg, const struct section_kind *sk,
		     size_t i)
{
	return elems(cfg, sk) + i * sk->elem_size;
}

static char **elem_name(char *elem, const struct section_kind *sk)
{
	return (char **)(elem + sk->name_off);
}

static unsigned *elem_line(char *elem, const struct section_kind *sk)
{
	return (unsigned *)(elem + sk->line_off);
}

/*
 * The defaults, built once per process by store() from the `def` texts:
 * the single kinds' fields in proto_cfg, one element per named kind. A
 * config or an element starts as a copy, so a field that keeps its
 * default shares the memory of the prototype; field_release() frees a
 * field only when it does not.
 */
static struct config proto_cfg;
static char *proto_elem[NR_KINDS];

static char *proto_of(enum kind_id kind)
{
	return kinds[kind].named ? proto_elem[kind] : (char *)&proto_cfg;
}

/*
 * A home path's default depends on the process (its HOME), so it cannot
 * be shared: it is applied when the file has been read, to the sections
 * that did not set the key.
 */
static bool late_default(const struct key *k)
{
	return k->def && k->type == T_HOMEPATH;
}

static bool empty_ok(const struct key *k)
{
	return types[k->type].storage == S_LIST ||
	       (!k->def && !(k->flags & KF_REQUIRED));
}

static void hosts_free(struct config_host *hosts, size_t nr)
{
	size_t i;

	for (i = 0; i < nr; i++) {
		free(hosts[i].user);
		free(hosts[i].host);
		free(hosts[i].label);
	}
	free(hosts);
}

/* Free the field of `k` in `base` unless shared; leave it empty. */
static void field_release(const struct key *k, char *base)
{
	const char *proto = proto_of(k->kind) + k->off;
	void *f = base + k->off;

	switch (types[k->type].storage) {
	case S_STRING:
		if (*(char **)f != *(char *const *)proto)
			free(*(char **)f);
		*(char **)f = NULL;
		if (k->type == T_REGEX && *(bool *)(base + k->flag_off)) {
			regfree((regex_t *)(base + k->aux_off));
			*(bool *)(base + k->flag_off) = false;
		}
		break;
	case S_LIST:
		if (((struct strvec *)f)->v ==
		    ((const struct strvec *)proto)->v)
			strvec_init(f);
		else
			strvec_clear(f);
		break;
	case S_HOSTS:
		if (*(struct config_host **)f !=
		    *(struct config_host *const *)proto)
			hosts_free(*(struct config_host **)f,
				   *(size_t *)(base + k->aux_off));
		*(struct config_host **)f = NULL;
		*(size_t *)(base + k->aux_off) = 0;
		break;
	default:
		break;
	}
}

/* The home directory: $HOME, else the password database; or NULL. */
static const char *home_dir(struct parser *ps)
{
	const char *h;
	size_t len;

	if (ps->home_done)
		return ps->home;
	ps->home_done = true;
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
	ps->home = xstrndup(h, len);
	return ps->home;
}

/* A `requires` entry: the name of an environment. */
static int env_name_entry(const char *e)
{
	struct confval_quote q;

	if (strlen(e) <= kinds[KIND_ENV].name_max && kinds[KIND_ENV].name_ok(e))
		return 0;
	return error_set(ERR_INVALID, "'%s' is not an environment name",
			 confval_quote(&q, e));
}

static void store_size(struct parser *ps, const struct key *k,
		       unsigned line, const char *v, uint64_t *field)
{
	struct confval_quote q;
	uint64_t n;

	if (!*v)
		return;
	if (confval_size(v, &n) < 0)
		invalid(ps, k, line);
	else if (!n)
		problem(ps, line, "invalid '%s': '%s' is zero (leave it empty "
			"for no limit)", k->name, confval_quote(&q, v));
	else
		*field = n;
}

static void store_string(struct parser *ps, const struct key *k,
			 char *base, unsigned line, const char *v)
{
	struct buf b = BUF_INIT;
	char **field = (char **)(base + k->off);
	const char *home;
	int (*check)(const char *) = types[k->type].check;

	if (!*v) {
		field_release(k, base);
		return;
	}
	if (check && check(v) < 0) {
		invalid(ps, k, line);
		return;
	}
	field_release(k, base);
	if (k->type == T_REGEX) {
		regex_t *re = (regex_t *)(base + k->aux_off);
		int rc = regcomp(re, v, REG_EXTENDED | REG_NOSUB);

		if (rc) {
			char msg[256];

			regerror(rc, re, msg, sizeof(msg));
			problem(ps, line, "invalid '%s': %s", k->name, msg);
			return;
		}
		*(bool *)(base + k->flag_off) = true;
	}
	if (k->type != T_HOMEPATH || v[0] != '~') {
		*field = xstrdup(v);
		return;
	}
	home = home_dir(ps);
	if (!home && ps->default_for)
		problem(ps, line, "%s: no home directory for the default '%s' "
			"(set '%s')", ps->default_for, k->name, k->name);
	else if (!home)
		problem(ps, line, "invalid '%s': cannot expand '~' (no home "
			"directory)", k->name);
	if (!home)
		return;
	if (buf_addf(&b, "%s%s", home, v + 1) < 0)
		BUG("store_string: %s", error_last());
	*field = buf_detach(&b, NULL);
}

static void store_list(struct parser *ps, const struct key *k, char *base,
		       unsigned line, const char *v)
{
	struct strvec list = STRVEC_INIT;
	bool ok = true;
	size_t i;

	strvec_split(&list, v);
	if (list.nr > CONFIG_MAX_LIST) {
		problem(ps, line, "invalid '%s': too many entries (at most "
			"%d)", k->name, CONFIG_MAX_LIST);
		strvec_clear(&list);
		return;
	}
	for (i = 0; i < list.nr; i++)
		if (types[k->type].check(list.v[i]) < 0) {
			invalid(ps, k, line);	/* each one, then give up */
			ok = false;
		}
	if (ok) {
		field_release(k, base);
		*(struct strvec *)(base + k->off) = list;
		return;
	}
	strvec_clear(&list);
}

static void store_hosts(struct parser *ps, const struct key *k, char *base,
			unsigned line, const char *v)
{
	struct strvec words = STRVEC_INIT;
	struct config_host *hosts = NULL;
	size_t i, nr = 0;
	bool ok = true;

	strvec_split(&words, v);
	if (!words.nr) {
		problem(ps, line, "missing value for '%s'", k->name);
		goto out;
	}
	if (words.nr > CONFIG_MAX_HOSTS) {
		problem(ps, line, "invalid '%s': too many hosts (at most %d)",
			k->name, CONFIG_MAX_HOSTS);
		goto out;
	}
	hosts = xcalloc(words.nr, sizeof(*hosts));
	for (i = 0; i < words.nr; i++) {
		struct config_host *h = &hosts[nr];
		struct confval_host e;
		struct confval_quote q;

		if (confval_host(words.v[i], &e) < 0) {
			problem(ps, line, "invalid '%s' entry '%s': %s",
				k->name, confval_quote(&q, words.v[i]),
				error_last());
			error_clear();
			ok = false;
			continue;
		}
		h->local = e.local;
		h->user = e.user ? xstrndup(e.user, e.user_len) : NULL;
		h->host = e.host ? xstrndup(e.host, e.host_len) : NULL;
		h->port = e.port;
		h->label = xstrdup(words.v[i]);
		nr++;
	}
	if (!ok)
		goto out;
	field_release(k, base);
	*(struct config_host **)(base + k->off) = hosts;
	*(size_t *)(base + k->aux_off) = nr;
	hosts = NULL;
	nr = 0;
out:
	hosts_free(hosts, nr);
	strvec_clear(&words);
}

/* Validate the value `v` of key `k` set at `line`, and store it in `base`. */
static void store(struct parser *ps, const struct key *k, char *base,
		  unsigned line, const char *v)
{
	const struct type_info *t = &types[k->type];
	void *field = base + k->off;
	size_t word;

	if (confval_has_ctl(v, !t->no_tab)) {
		problem(ps, line, "value of '%s' contains a control character",
			k->name);
		return;
	}
	if (!t->quotes_ok && strpbrk(v, "\"'")) {
		/* `protected = "main"` would silently protect nothing */
		problem(ps, line, "invalid '%s': remove the quotes (values in "
			"hooks.ini are not quoted)", k->name);
		return;
	}
	if (!*v && !empty_ok(k)) {
		problem(ps, line, "missing value for '%s'", k->name);
		return;
	}
	switch (t->storage) {
	case S_BOOL:
		if (confval_bool(v, field) < 0)
			invalid(ps, k, line);
		break;
	case S_UINT:
		if (confval_uint(v, k->min, k->max, field) < 0)
			invalid(ps, k, line);
		break;
	case S_SIZE:
		store_size(ps, k, line, v, field);
		break;
	case S_WORD:
		if (confval_word(v, k->words, k->nr_words, &word) < 0)
			invalid(ps, k, line);
		else
			*(int *)field = (int)word;
		break;
	case S_STRING:
		store_string(ps, k, base, line, v);
		break;
	case S_LIST:
		store_list(ps, k, base, line, v);
		break;
	case S_HOSTS:
		store_hosts(ps, k, base, line, v);
		break;
	}
}

/* Build the prototypes (once), checking the tables on the way. */
static void defaults_build(void)
{
	static bool done;
	struct parser ps;
	size_t i;

	if (done)
		return;
	memset(&ps, 0, sizeof(ps));
	memset(&proto_cfg, 0, sizeof(proto_cfg));
	ps.cfg = &proto_cfg;
	for (i = 0; i < NR_KINDS; i++) {
		if (kinds[i].named && kinds[i].name_max > SECTION_NAME_MAX)
			BUG("kind '%s': names too long", kinds[i].name);
		if (kinds[i].named)
			proto_elem[i] = xcalloc(1, kinds[i].elem_size);
	}
	for (i = 0; i < NR_KEYS; i++) {
		const struct key *k = &keys[i];
		char *base = proto_of(k->kind);

		if (types[k->type].storage == S_LIST)
			strvec_init((struct strvec *)(base + k->off));
		if ((k->type == T_REGEX && k->def) ||
		    (!kinds[k->kind].named &&
		     (late_default(k) || (k->flags & KF_REQUIRED))))
			BUG("key '%s': unsupported default", k->name);
		if (k->def && !late_default(k))
			store(&ps, k, base, 0, k->def);
		if (ps.nr_probs)
			BUG("default of '%s': %s", k->name, ps.probs[0].msg);
	}
	done = true;
}

void config_init(struct config *cfg)
{
	defaults_build();
	*cfg = proto_cfg;
}

void config_release(struct config *cfg)
{
	size_t i, j, e;

	for (i = 0; i < NR_KEYS; i++)
		if (!kinds[keys[i].kind].named)
			field_release(&keys[i], (char *)cfg);
	for (i = 0; i < NR_KINDS; i++) {
		const struct section_kind *sk = &kinds[i];

		if (!sk->named)
			continue;
		for (e = 0; e < *nr_elems(cfg, sk); e++) {
			char *elem = elem_at(cfg, sk, e);

			for (j = 0; j < NR_KEYS; j++)
				if (keys[j].kind == i)
					field_release(&keys[j], elem);
			free(*elem_name(elem, sk));
		}
		free(elems(cfg, sk));
	}
	config_init(cfg);
}

bool config_key(size_t i, struct config_key_info *out)
{
	if (i >= NR_KEYS)
		return false;
	out->section = kinds[keys[i].kind].name;
	out->section_named = kinds[keys[i].kind].named;
	out->name = keys[i].name;
	out->default_text = keys[i].def;
	out->required = keys[i].flags & KF_REQUIRED;
	return true;
}

int config_parse_size(const char *s, uint64_t *out)
{
	return confval_size(s, out);
}

bool config_globs_match(const struct strvec *globs, const char *s)
{
	size_t i;

	for (i = 0; i < globs->nr; i++)
		if (!fnmatch(globs->v[i], s, 0))
			return true;
	return false;
}

const struct config_env *config_env_find(const struct config *cfg,
					 const char *name)
{
	size_t i;

	for (i = 0; i < cfg->nr_envs; i++)
		if (!strcmp(cfg->envs[i].name, name))
			return &cfg->envs[i];
	return NULL;
}

const struct config_env *config_env_for_branch(const struct config *cfg,
					       const char *branch)
{
	size_t i;

	for (i = 0; i < cfg->nr_envs; i++)
		if (cfg->envs[i].branch && !strcmp(cfg->envs[i].branch, branch))
			return &cfg->envs[i];
	return NULL;
}

/*
 * "[core]", "[environment \"NAME\"]" for a section in messages: the
 * current one with its name, or (ps NULL) the kind in general.
 */
static const char *section_label(const struct parser *ps, enum kind_id kind,
				 char out[LABEL_MAX])
{
	const struct section_kind *sk = &kinds[kind];

	if (!sk->named)
		snprintf(out, LABEL_MAX, "[%s]", sk->name);
	else if (ps)
		snprintf(out, LABEL_MAX, "[%s \"%s\"]", sk->name,
			 *elem_name(elem_at(ps->cfg, sk, ps->elem), sk));
	else
		snprintf(out, LABEL_MAX, "[%s \"NAME\"]", sk->name);
	return out;
}

static const struct key *find_key(const char *name, int kind)
{
	size_t i;

	for (i = 0; i < NR_KEYS; i++)
		if ((kind < 0 || (int)keys[i].kind == kind) &&
		    !strcmp(keys[i].name, name))
			return &keys[i];
	return NULL;
}

/* The lines where the keys of element `e` of `kind` were set (0: not). */
static unsigned *key_lines(struct parser *ps, int kind, size_t e)
{
	return ps->key_line[kind] + (kinds[kind].named ? e * NR_KEYS : 0);
}

/* The line of key `name` in environment `i`, or 0. */
static unsigned env_key_line(struct parser *ps, size_t i, const char *name)
{
	const struct key *k = find_key(name, KIND_ENV);

	if (!k)
		BUG("env_key_line: no key '%s'", name);
	return key_lines(ps, KIND_ENV, i)[k - keys];
}

static void unknown_key(struct parser *ps, const char *name, unsigned line)
{
	const char *cands[NR_KEYS];
	const struct key *other = find_key(name, -1);
	const char *best;
	char here[LABEL_MAX], there[LABEL_MAX];
	struct confval_quote q;
	size_t i, nr = 0;

	section_label(ps, ps->sec, here);
	if (other) {
		problem(ps, line, "unknown key '%s' in %s (it belongs in %s)",
			name, here, section_label(NULL, other->kind, there));
		return;
	}
	for (i = 0; i < NR_KEYS; i++)
		if ((int)keys[i].kind == ps->sec)
			cands[nr++] = keys[i].name;
	best = suggest_closest(name, cands, nr);
	if (best)
		problem(ps, line, "unknown key '%s' in %s (did you mean '%s'?)",
			confval_quote(&q, name), here, best);
	else
		problem(ps, line, "unknown key '%s' in %s",
			confval_quote(&q, name), here);
}

/* inifile: a key and its complete value (NULL: too long). */
static void on_key(const char *name, const char *value, unsigned line,
		   void *payload)
{
	struct parser *ps = payload;
	const struct key *k;
	unsigned *lines;
	char label[LABEL_MAX];
	struct confval_quote q;

	if (ps->sec == SEC_BAD)
		return;
	if (!*name) {
		problem(ps, line, "missing key name before '='");
		return;
	}
	if (ps->sec == SEC_NONE) {
		k = find_key(name, -1);
		if (k)
			problem(ps, line, "key '%s' is outside any section (it "
				"belongs in %s)", name,
				section_label(NULL, k->kind, label));
		else
			problem(ps, line, "key '%s' is outside any section",
				confval_quote(&q, name));
		return;
	}
	k = find_key(name, ps->sec);
	if (!k) {
		unknown_key(ps, name, line);
		return;
	}
	lines = key_lines(ps, ps->sec, ps->elem);
	if (lines[k - keys]) {
		problem(ps, line, "duplicate key '%s' in %s (first set at line "
			"%u)", name, section_label(ps, ps->sec, label),
			lines[k - keys]);
		return;
	}
	lines[k - keys] = line;
	if (!value)
		problem(ps, line, "value of '%s' is too long (more than %d "
			"bytes)", k->name, CONFIG_MAX_VALUE);
	else if (kinds[k->kind].named)
		store(ps, k, elem_at(ps->cfg, &kinds[k->kind], ps->elem), line,
		      value);
	else
		store(ps, k, (char *)ps->cfg, line, value);
}

/* inifile: a problem with the syntax. */
static void on_problem(unsigned line, const char *msg, void *payload)
{
	problem(payload, line, "%s", msg);
}

/* A [KIND "NAME"] header at `line`: a new element of a named kind. */
static void begin_named(struct parser *ps, enum kind_id kind,
			const char *name, unsigned line)
{
	const struct section_kind *sk = &kinds[kind];
	size_t *nr = nr_elems(ps->cfg, sk), i;
	struct confval_quote q;
	char *array, *elem;

	if (strlen(name) > sk->name_max) {
		problem(ps, line, "%s name '%s' is too long (at most %zu "
			"characters)", sk->name, confval_quote(&q, name),
			sk->name_max);
		return;
	}
	if (!sk->name_ok(name)) {
		problem(ps, line, "invalid %s name '%s' (%s)", sk->name,
			confval_quote(&q, name), sk->name_rule);
		return;
	}
	for (i = 0; i < *nr; i++) {
		elem = elem_at(ps->cfg, sk, i);
		if (!strcmp(*elem_name(elem, sk), name)) {
			problem(ps, line, "duplicate %s '%s' (first defined at "
				"line %u)", sk->name, name,
				*elem_line(elem, sk));
			return;
		}
	}
	if (*nr >= sk->max) {
		if (!ps->too_many[kind])
			problem(ps, line, "too many %ss (at most %u)", sk->name,
				sk->max);
		ps->too_many[kind] = true;
		return;
	}
	array = xreallocarray(elems(ps->cfg, sk), *nr + 1, sk->elem_size);
	memcpy((char *)ps->cfg + sk->array_off, &array, sizeof(array));
	elem = elem_at(ps->cfg, sk, *nr);
	memcpy(elem, proto_elem[kind], sk->elem_size);
	*elem_name(elem, sk) = xstrdup(name);
	*elem_line(elem, sk) = line;
	ps->sec = kind;
	ps->elem = (*nr)++;
}

/*
 * `[KIND "NAME"]` in `text`, which starts with the kind's name: begin the
 * element, or report a malformed header.
 */
static void begin_quoted(struct parser *ps, enum kind_id kind,
			 const char *text, unsigned line)
{
	size_t plen = strlen(kinds[kind].name), len;
	const char *s = text + plen + strspn(text + plen, " \t");
	struct confval_quote q;
	char *name;

	len = strlen(s);
	if (s == text + plen || len < 2 || s[0] != '"' || s[len - 1] != '"' ||
	    memchr(s + 1, '"', len - 2)) {
		problem(ps, line, "malformed section '[%s]' (write [%s "
			"\"NAME\"])", confval_quote(&q, text),
			kinds[kind].name);
		return;
	}
	name = xstrndup(s + 1, len - 2);
	begin_named(ps, kind, name, line);
	free(name);
}

static void unknown_section(struct parser *ps, const char *text,
			    unsigned line)
{
	const char *names[NR_KINDS], *best, *s;
	char word[CONFVAL_QUOTE_MAX + 1], label[LABEL_MAX];
	struct buf all = BUF_INIT;
	struct confval_quote q;
	size_t i;

	for (i = 0; i < NR_KINDS; i++)
		names[i] = kinds[i].name;
	/* suggest from the first word, so `[ core ]` finds [core] */
	s = text + strspn(text, " \t");
	snprintf(word, sizeof(word), "%.*s", (int)strcspn(s, " \t\""), s);
	best = suggest_closest(word, names, NR_KINDS);
	if (best) {
		for (i = 0; names[i] != best; i++)
			;
		problem(ps, line, "unknown section '[%s]' (did you mean '%s'?)",
			confval_quote(&q, text), section_label(NULL, i, label));
		return;
	}
	for (i = 0; i < NR_KINDS; i++)
		buf_addf(&all, "%s%s", !i ? "" : i + 1 < NR_KINDS ? ", " :
			 " or ", section_label(NULL, i, label));
	if (buf_error(&all) < 0)
		BUG("unknown_section: %s", error_last());
	problem(ps, line, "unknown section '[%s]' (expected %s)",
		confval_quote(&q, text), all.ptr);
	buf_release(&all);
}

/* inifile: `[TEXT]` at `line` (TEXT NULL: a bad header, reported). */
static void on_section(const char *text, unsigned line, void *payload)
{
	struct parser *ps = payload;
	size_t i;

	ps->sec = SEC_BAD;
	if (!text)
		return;
	for (i = 0; i < NR_KINDS; i++) {
		const struct section_kind *sk = &kinds[i];
		size_t plen = strlen(sk->name);

		if (!sk->named && !strcmp(text, sk->name)) {
			if (ps->sec_line[i]) {
				problem(ps, line, "duplicate section '[%s]' "
					"(first at line %u)", text,
					ps->sec_line[i]);
				return;
			}
			ps->sec_line[i] = line;
			ps->sec = (int)i;
			return;
		}
		if (sk->named && !strncmp(text, sk->name, plen) &&
		    (!text[plen] || text[plen] == ' ' || text[plen] == '\t')) {
			begin_quoted(ps, i, text, line);
			return;
		}
	}
	unknown_section(ps, text, line);
}

static ssize_t env_index(const struct config *cfg, const char *name)
{
	size_t i;

	for (i = 0; i < cfg->nr_envs; i++)
		if (!strcmp(cfg->envs[i].name, name))
			return (ssize_t)i;
	return -1;
}

static void report_cycle(struct parser *ps, const size_t *stack,
			 size_t depth, size_t j)
{
	struct buf b;
	size_t i = 0;

	buf_init(&b, 2 * CONFIG_MAX_ENVS * (SECTION_NAME_MAX + 4));
	while (i < depth && stack[i] != j)
		i++;
	for (; i < depth; i++)
		buf_addf(&b, "%s -> ", ps->cfg->envs[stack[i]].name);
	buf_addstr(&b, ps->cfg->envs[j].name);
	if (buf_error(&b) < 0)
		BUG("report_cycle: %s", error_last());
	problem(ps, env_key_line(ps, j, "requires"),
		"'requires' makes a cycle: %s", b.ptr);
	buf_release(&b);
}

static void find_cycles(struct parser *ps, size_t i, unsigned char *color,
			size_t *stack, size_t depth)
{
	const struct config_env *env = &ps->cfg->envs[i];
	size_t r;

	color[i] = 1;
	stack[depth] = i;
	for (r = 0; r < env->requires.nr; r++) {
		ssize_t j = env_index(ps->cfg, env->requires.v[r]);

		if (j < 0 || (size_t)j == i)
			continue;
		if (color[j] == 1)
			report_cycle(ps, stack, depth + 1, (size_t)j);
		else if (!color[j])
			find_cycles(ps, (size_t)j, color, stack, depth + 1);
	}
	color[i] = 2;
}

static void check_requires(struct parser *ps, size_t i)
{
	const struct config *cfg = ps->cfg;
	const struct config_env *env = &cfg->envs[i];
	const char *names[CONFIG_MAX_ENVS];
	unsigned line = env_key_line(ps, i, "requires");
	size_t r, k;

	for (k = 0; k < cfg->nr_envs; k++)
		names[k] = cfg->envs[k].name;
	for (r = 0; r < env->requires.nr; r++) {
		const char *req = env->requires.v[r];
		const char *best;

		if (!strcmp(req, env->name)) {
			problem(ps, line, "environment '%s' requires itself",
				env->name);
			continue;
		}
		if (env_index(cfg, req) >= 0)
			continue;
		best = suggest_closest(req, names, cfg->nr_envs);
		if (best)
			problem(ps, line, "environment '%s' requires unknown "
				"environment '%s' (did you mean '%s'?)",
				env->name, req, best);
		else
			problem(ps, line, "environment '%s' requires unknown "
				"environment '%s'", env->name, req);
	}
}

static bool same_host(const struct config_host *a,
		      const struct config_host *b)
{
	if (a->local || b->local)
		return a->local && b->local;
	return !strcasecmp(a->host, b->host) && a->port == b->port;
}

static void check_hosts(struct parser *ps, struct config_env *env, size_t i)
{
	size_t a, b;

	for (a = 0; a < env->nr_hosts; a++)
		if (!env->hosts[a].local && !env->hosts[a].port)
			env->hosts[a].port = env->port;
	for (a = 0; a < env->nr_hosts; a++) {
		for (b = 0; b < a; b++) {
			if (!same_host(&env->hosts[a], &env->hosts[b]))
				continue;
			problem(ps, env_key_line(ps, i, "hosts"),
				"invalid 'hosts': '%s' and '%s' are the same "
				"host", env->hosts[b].label,
				env->hosts[a].label);
			break;
		}
	}
}

/*
 * Two environments deploying to one path on one host would prune each
 * other's releases and fight over `current`.
 */
static void check_shared_target(struct parser *ps, size_t i)
{
	struct config *cfg = ps->cfg;
	const struct config_env *env = &cfg->envs[i];
	size_t j, a, b;

	if (!env->path)
		return;
	for (j = 0; j < i; j++) {
		const struct config_env *other = &cfg->envs[j];

		if (!other->path || strcmp(other->path, env->path))
			continue;
		for (a = 0; a < env->nr_hosts; a++)
			for (b = 0; b < other->nr_hosts; b++) {
				if (!same_host(&env->hosts[a],
					       &other->hosts[b]))
					continue;
				problem(ps, env_key_line(ps, i, "path"),
					"environments '%s' and '%s' both "
					"deploy to '%s' on '%s'", other->name,
					env->name, env->path,
					env->hosts[a].label);
				return;
			}
	}
}

/* The checks of [environment] sections that need the whole file. */
static void check_envs(struct parser *ps)
{
	struct config *cfg = ps->cfg;
	unsigned char color[CONFIG_MAX_ENVS] = { 0 };
	size_t stack[CONFIG_MAX_ENVS];
	size_t i, j;

	for (i = 0; i < cfg->nr_envs; i++) {
		struct config_env *env = &cfg->envs[i];

		/* until SPEC §12's gitops_remote makes the second kind */
		env->kind = CONFIG_ENV_RELEASE;
		for (j = 0; env->branch && j < i; j++) {
			if (!cfg->envs[j].branch ||
			    strcmp(cfg->envs[j].branch, env->branch))
				continue;
			problem(ps, env_key_line(ps, i, "branch"),
				"environments '%s' and '%s' both deploy "
				"branch '%s'", cfg->envs[j].name, env->name,
				env->branch);
			break;
		}
		check_requires(ps, i);
		check_hosts(ps, env, i);
		check_shared_target(ps, i);
	}
	for (i = 0; i < cfg->nr_envs; i++)
		if (!color[i])
			find_cycles(ps, i, color, stack, 0);
}

/*
 * Every element of a named kind: the keys it must set, and the defaults
 * that could not be applied when it began.
 */
static void check_elements(struct parser *ps, enum kind_id kind)
{
	const struct section_kind *sk = &kinds[kind];
	char label[LABEL_MAX];
	size_t e, i;

	for (e = 0; e < *nr_elems(ps->cfg, sk); e++) {
		char *elem = elem_at(ps->cfg, sk, e);
		unsigned *lines = key_lines(ps, kind, e);
		unsigned line = *elem_line(elem, sk);

		snprintf(label, sizeof(label), "%s '%s'", sk->name,
			 *elem_name(elem, sk));
		for (i = 0; i < NR_KEYS; i++) {
			const struct key *k = &keys[i];

			if (k->kind != kind || lines[i])
				continue;
			if (k->flags & KF_REQUIRED)
				problem(ps, line, "%s has no '%s'", label,
					k->name);
			if (!late_default(k))
				continue;
			ps->default_for = label;
			store(ps, k, elem, line, k->def);
			ps->default_for = NULL;
		}
	}
}

/* Checks that need the whole file. */
static void check_config(struct parser *ps)
{
	size_t i;

	for (i = 0; i < NR_KINDS; i++)
		if (kinds[i].named)
			check_elements(ps, i);
	for (i = 0; i < NR_KINDS; i++)
		if (kinds[i].check)
			kinds[i].check(ps);
}

/* Hand the problems over as "hooks.ini:LINE: message", sorted by line. */
static int report_problems(struct parser *ps, struct strvec *errors)
{
	size_t i, j;

	for (i = 1; i < ps->nr_probs; i++) {
		struct problem p = ps->probs[i];

		for (j = i; j > 0 && ps->probs[j - 1].line > p.line; j--)
			ps->probs[j] = ps->probs[j - 1];
		ps->probs[j] = p;
	}
	for (i = 0; errors && i < ps->nr_probs; i++)
		strvec_pushf(errors, "hooks.ini:%u: %s", ps->probs[i].line,
			     ps->probs[i].msg);
	if (ps->too_many_probs && errors)
		strvec_push(errors, "hooks.ini: too many errors");
	if (ps->nr_probs)
		return error_set(ERR_INVALID, "hooks.ini:%u: %s",
				 ps->probs[0].line, ps->probs[0].msg);
	return error_set(ERR_INVALID, "hooks.ini: too many errors");
}

/* Parse `len` bytes of hooks.ini into *cfg (already initialised). */
static int parse_text(struct config *cfg, const char *text, size_t len,
		      struct strvec *errors)
{
	struct inifile_opts opts = INIFILE_OPTS_INIT;
	struct parser ps;
	size_t i;
	int r = 0;

	memset(&ps, 0, sizeof(ps));
	ps.cfg = cfg;
	ps.sec = SEC_NONE;
	for (i = 0; i < NR_KINDS; i++)
		ps.key_line[i] = xcalloc(kinds[i].named ? kinds[i].max : 1,
					 NR_KEYS * sizeof(unsigned));
	cfg->present = true;

	opts.section = on_section;
	opts.key = on_key;
	opts.problem = on_problem;
	opts.payload = &ps;
	opts.max_line = LINE_MAX_LEN;
	opts.max_value = CONFIG_MAX_VALUE;
	if (inifile_parse(text, len, &opts) < 0)
		error_clear();	/* each problem is in ps.probs already */
	check_config(&ps);

	if (ps.nr_probs || ps.too_many_probs) {
		r = report_problems(&ps, errors);
		config_release(cfg);
	}
	for (i = 0; i < ps.nr_probs; i++)
		free(ps.probs[i].msg);
	for (i = 0; i < NR_KINDS; i++)
		free(ps.key_line[i]);
	free(ps.home);
	return r;
}

int config_parse_string(struct config *cfg, const char *text,
			struct strvec *errors)
{
	config_init(cfg);
	return parse_text(cfg, text, strlen(text), errors);
}

/* A problem with the file itself: "hooks.ini:0: ..." */
static int file_problem(struct strvec *errors, int code, const char *fmt,
			...)
	__attribute__((format(printf, 3, 4)));

static int file_problem(struct strvec *errors, int code, const char *fmt,
			...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	buf_addstr(&b, "hooks.ini:0: ");
	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	if (buf_error(&b) < 0)
		BUG("file_problem: %s", error_last());
	if (errors)
		strvec_push(errors, b.ptr);
	error_set(code, "%s", b.ptr);
	buf_release(&b);
	return code;
}

int config_load(struct config *cfg, const char *path, struct strvec *errors)
{
	struct buf text;
	int fd, r;

	config_init(cfg);
	buf_init(&text, CONFIG_MAX_FILE);
	fd = fsutil_open_private_file(path);
	if (fd == ERR_NOTFOUND) {
		error_clear();
		return 0;	/* no hooks.ini: no rules */
	}
	if (fd < 0)
		return file_problem(errors, fd, "%s", error_last());
	r = buf_read_fd(&text, fd);
	close(fd);
	if (r == ERR_TOOBIG)
		r = file_problem(errors, ERR_INVALID, "'%s' is too large "
				 "(more than %d bytes)", path, CONFIG_MAX_FILE);
	else if (r < 0)
		r = file_problem(errors, r, "%s", error_last());
	else
		r = parse_text(cfg, text.ptr, text.len, errors);
	buf_release(&text);
	return r;
}
