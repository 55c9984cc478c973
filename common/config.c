#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

#include "buf.h"
#include "errors.h"
#include "fsutil.h"

/*
 * How hooks.ini is read
 *
 * inih does the tokenising, but it gives its handler no line numbers, calls
 * nothing for a section header, truncates section names to 49 bytes and
 * silently splits lines longer than its buffer into several "lines". So we
 * feed it through our own reader, which counts lines, refuses NUL bytes,
 * stray carriage returns and over-long lines before inih sees them (CRLF
 * is fine), and classifies every line the way inih is about to (comment,
 * continuation, section header, key) so that section headers are handled
 * here, with the full name and the right line.
 *
 * The handler does not store a value right away: an indented line that
 * follows may continue it, so the value is kept in `val` and validated
 * once the next key, section or the end of the text is reached.
 */

/* Longest line we hand to inih: a full value plus room for its key. */
#define LINE_MAX_LEN (CONFIG_MAX_VALUE + 256)

/* Longest piece of untrusted text echoed in a message. */
#define QUOTE_MAX 64

/* Longest environment name (SPEC §3 has no limit; we need one). */
#define ENV_NAME_MAX 64

/* Longest host name (DNS). */
#define HOST_NAME_MAX_LEN 253

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

enum section {
	SEC_NONE = 0,	/* before the first header */
	SEC_CORE,
	SEC_VERIFY,
	SEC_ENV,
	SEC_BAD		/* a rejected header: its keys are ignored */
};

enum key_type {
	T_BOOL,
	T_UINT,
	T_SIZE,
	T_REGEX,
	T_GLOBS,
	T_VARNAMES,
	T_CMD,
	T_BRANCH,
	T_ABSPATH,
	T_HOMEPATH,
	T_RELPATH,
	T_RELPATHS,
	T_MODE,
	T_ENVNAMES,
	T_USERS,
	T_HOSTS
};

/* An empty value is allowed: an empty list, or "unset". */
#define KF_EMPTY_OK (1 << 0)

enum key_id {
	K_USER_VARS,
	K_LOCK_TIMEOUT,
	K_PROTECTED,
	K_PROTECT_TAGS,
	K_COMMIT_MESSAGE,
	K_MAX_FILE_SIZE,
	K_FORBID_PATHS,
	K_BUILD,
	K_TEST,
	K_TEST_TIMEOUT,
	K_TEST_BRANCHES,
	K_BRANCH,
	K_HOSTS,
	K_PATH,
	K_IDENTITY,
	K_KNOWN_HOSTS,
	K_PORT,
	K_MODE,
	K_REQUIRES,
	K_APPROVERS,
	K_ARTIFACT,
	K_CONFIG,
	K_SHARED,
	K_KEEP,
	K_MAINTENANCE,
	K_BEFORE,
	K_AFTER,
	K_HEALTHCHECK,
	K_HEALTHCHECK_RETRIES,
	K_ON_FAILURE,
	K_CONNECT_TIMEOUT,
	K_COMMAND_TIMEOUT,
	NR_KEYS
};

struct key {
	const char *name;
	enum section section;
	enum key_type type;
	unsigned flags;
	size_t off;		/* in struct config or struct config_env */
	unsigned min, max;	/* T_UINT */
};

#define CORE(n, t, f, field, lo, hi) \
	{ n, SEC_CORE, t, f, offsetof(struct config, field), lo, hi }
#define VERIFY(n, t, f, field, lo, hi) \
	{ n, SEC_VERIFY, t, f, offsetof(struct config, field), lo, hi }
#define ENV(n, t, f, field, lo, hi) \
	{ n, SEC_ENV, t, f, offsetof(struct config_env, field), lo, hi }

/* The schema of SPEC §3, in the order of its tables. */
static const struct key keys[NR_KEYS] = {
	[K_USER_VARS] = CORE("user_vars", T_VARNAMES, KF_EMPTY_OK,
			     user_vars, 0, 0),
	[K_LOCK_TIMEOUT] = CORE("lock_timeout", T_UINT, 0,
				lock_timeout, 0, 86400),
	[K_PROTECTED] = VERIFY("protected", T_GLOBS, KF_EMPTY_OK,
			       protected_branches, 0, 0),
	[K_PROTECT_TAGS] = VERIFY("protect_tags", T_BOOL, 0,
				  protect_tags, 0, 0),
	[K_COMMIT_MESSAGE] = VERIFY("commit_message", T_REGEX, KF_EMPTY_OK,
				    commit_message, 0, 0),
	[K_MAX_FILE_SIZE] = VERIFY("max_file_size", T_SIZE, KF_EMPTY_OK,
				   max_file_size, 0, 0),
	[K_FORBID_PATHS] = VERIFY("forbid_paths", T_GLOBS, KF_EMPTY_OK,
				  forbid_paths, 0, 0),
	[K_BUILD] = VERIFY("build", T_CMD, KF_EMPTY_OK, build, 0, 0),
	[K_TEST] = VERIFY("test", T_CMD, KF_EMPTY_OK, test, 0, 0),
	[K_TEST_TIMEOUT] = VERIFY("test_timeout", T_UINT, 0,
				  test_timeout, 1, 86400),
	[K_TEST_BRANCHES] = VERIFY("test_branches", T_GLOBS, KF_EMPTY_OK,
				   test_branches, 0, 0),
	[K_BRANCH] = ENV("branch", T_BRANCH, 0, branch, 0, 0),
	[K_HOSTS] = ENV("hosts", T_HOSTS, 0, hosts, 0, 0),
	[K_PATH] = ENV("path", T_ABSPATH, 0, path, 0, 0),
	[K_IDENTITY] = ENV("identity", T_HOMEPATH, KF_EMPTY_OK,
			   identity, 0, 0),
	[K_KNOWN_HOSTS] = ENV("known_hosts", T_HOMEPATH, 0,
			      known_hosts, 0, 0),
	[K_PORT] = ENV("port", T_UINT, 0, port, 1, 65535),
	[K_MODE] = ENV("mode", T_MODE, 0, mode, 0, 0),
	[K_REQUIRES] = ENV("requires", T_ENVNAMES, KF_EMPTY_OK,
			   requires, 0, 0),
	[K_APPROVERS] = ENV("approvers", T_USERS, KF_EMPTY_OK,
			    approvers, 0, 0),
	[K_ARTIFACT] = ENV("artifact", T_RELPATH, 0, artifact, 0, 0),
	[K_CONFIG] = ENV("config", T_RELPATH, KF_EMPTY_OK, config_dir, 0, 0),
	[K_SHARED] = ENV("shared", T_RELPATHS, KF_EMPTY_OK, shared, 0, 0),
	[K_KEEP] = ENV("keep", T_UINT, 0, keep, 1, 1000),
	[K_MAINTENANCE] = ENV("maintenance", T_BOOL, 0, maintenance, 0, 0),
	[K_BEFORE] = ENV("before", T_CMD, KF_EMPTY_OK, before, 0, 0),
	[K_AFTER] = ENV("after", T_CMD, KF_EMPTY_OK, after, 0, 0),
	[K_HEALTHCHECK] = ENV("healthcheck", T_CMD, KF_EMPTY_OK,
			      healthcheck, 0, 0),
	[K_HEALTHCHECK_RETRIES] = ENV("healthcheck_retries", T_UINT, 0,
				      healthcheck_retries, 1, 100),
	[K_ON_FAILURE] = ENV("on_failure", T_CMD, KF_EMPTY_OK,
			     on_failure, 0, 0),
	[K_CONNECT_TIMEOUT] = ENV("connect_timeout", T_UINT, 0,
				  connect_timeout, 1, 3600),
	[K_COMMAND_TIMEOUT] = ENV("command_timeout", T_UINT, 0,
				  command_timeout, 1, 86400),
};

/*
 * The default user_vars live in static storage so that config_init()
 * allocates nothing; config_release() knows not to free them.
 */
static char uv_pushgate_user[] = "PUSHGATE_USER";
static char uv_gl_user[] = "GL_USER";
static char uv_gl_username[] = "GL_USERNAME";
static char uv_remote_user[] = "REMOTE_USER";
static char uv_user[] = "USER";
static char *default_user_vars[] = {
	uv_pushgate_user, uv_gl_user, uv_gl_username, uv_remote_user,
	uv_user, NULL
};

enum line_kind {
	LINE_COMMENT,		/* blank or comment: inih ignores it */
	LINE_CONTINUATION,	/* indented: more of the previous value */
	LINE_SECTION,		/* handled by the reader */
	LINE_KEY,		/* inih calls the handler */
	LINE_BAD		/* inih will flag it; so did we */
};

struct problem {
	unsigned line;
	char *msg;
};

struct parser {
	struct config *cfg;
	const char *p, *end;	/* the text still to read */
	unsigned lineno;
	enum line_kind kind;	/* of the line inih is processing */
	bool have_prev;		/* inih has a key a continuation goes to */

	enum section sec;
	size_t env;		/* cfg->envs index when sec == SEC_ENV */
	unsigned core_line, verify_line;
	unsigned key_line[NR_KEYS];		/* [core] and [verify] */
	unsigned (*env_key_line)[NR_KEYS];	/* per environment */
	bool too_many_envs;

	const struct key *key;	/* the key whose value is in `val` */
	unsigned key_lineno;
	struct buf val;
	bool val_too_long;

	bool home_done;
	char *home;

	struct problem probs[CONFIG_MAX_ERRORS];
	size_t nr_probs;
	bool too_many;
};

struct quote {
	char s[QUOTE_MAX + 4];
};

/*
 * `s` made safe to echo: clipped to QUOTE_MAX bytes (with "..."), control
 * characters shown as '?'.
 */
static const char *quote(struct quote *q, const char *s)
{
	size_t i;

	for (i = 0; s[i] && i < QUOTE_MAX; i++) {
		unsigned char c = (unsigned char)s[i];

		q->s[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	if (s[i])
		memcpy(q->s + i, "...", 4);
	else
		q->s[i] = '\0';
	return q->s;
}

static void problem(struct parser *ps, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void problem(struct parser *ps, unsigned line, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (ps->nr_probs >= CONFIG_MAX_ERRORS) {
		ps->too_many = true;
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

/* Optimal string alignment distance (Levenshtein plus transpositions). */
static size_t edit_distance(const char *a, const char *b)
{
	size_t rows[3][ENV_NAME_MAX + 2];
	size_t *prev2 = rows[0], *prev = rows[1], *cur = rows[2], *t;
	size_t la = strlen(a), lb = strlen(b), i, j;

	if (lb > ENV_NAME_MAX || la > 2 * ENV_NAME_MAX)
		return SIZE_MAX;
	for (j = 0; j <= lb; j++)
		prev[j] = j;
	for (i = 1; i <= la; i++) {
		cur[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t cost = a[i - 1] != b[j - 1];
			size_t d = prev[j - 1] + cost;

			if (prev[j] + 1 < d)
				d = prev[j] + 1;
			if (cur[j - 1] + 1 < d)
				d = cur[j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && prev2[j - 2] + 1 < d)
				d = prev2[j - 2] + 1;
			cur[j] = d;
		}
		t = prev2;
		prev2 = prev;
		prev = cur;
		cur = t;
	}
	return prev[lb];
}

/*
 * The candidate closest to `s`, if close enough to be a likely typo: at
 * most 2 edits (or a third of its length), and fewer edits than it has
 * characters. Ties go to the first candidate.
 */
static const char *closest(const char *s, const char *const *cands,
			   size_t nr)
{
	const char *best = NULL;
	size_t best_d = SIZE_MAX, i;

	for (i = 0; i < nr; i++) {
		size_t len = strlen(cands[i]);
		size_t d = edit_distance(s, cands[i]);
		size_t limit = len / 3 > 2 ? len / 3 : 2;

		if (d <= limit && d < len && d < best_d) {
			best = cands[i];
			best_d = d;
		}
	}
	return best;
}

static bool is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

static bool has_ctl(const char *s, bool allow_tab)
{
	for (; *s; s++)
		if (is_ctl((unsigned char)*s) && !(allow_tab && *s == '\t'))
			return true;
	return false;
}

static bool valid_env_name(const char *s)
{
	size_t i;

	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
		return false;
	for (i = 1; s[i]; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= '0' && s[i] <= '9') ||
		      s[i] == '_' || s[i] == '-'))
			return false;
	return true;
}

static bool valid_var_name(const char *s)
{
	size_t i;

	if (!(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return false;
	for (i = 1; s[i]; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
			return false;
	return true;
}

/*
 * A plausible short branch name: what git check-ref-format --branch
 * accepts, minus anything that looks like a full ref name.
 */
static bool valid_branch(const char *s)
{
	size_t len = strlen(s);
	const char *c;

	if (!len || s[0] == '-' || s[0] == '/' || s[len - 1] == '/' ||
	    s[len - 1] == '.' || !strcmp(s, "@"))
		return false;
	if (strstr(s, "..") || strstr(s, "@{") || strstr(s, "//") ||
	    !strncmp(s, "refs/", 5))
		return false;
	for (c = s; *c; c++)
		if (is_ctl((unsigned char)*c) || strchr(" ~^:?*[\\", *c))
			return false;
	for (c = s;; c++) {
		size_t n = strcspn(c, "/");

		if (c[0] == '.')
			return false;
		if (n >= 5 && !strncmp(c + n - 5, ".lock", 5))
			return false;
		c += n;
		if (!*c)
			return true;
	}
}

/* True if one of the '/'-separated components of `s` is "..". */
static bool has_dotdot(const char *s)
{
	for (;;) {
		size_t n = strcspn(s, "/");

		if (n == 2 && s[0] == '.' && s[1] == '.')
			return true;
		if (!s[n])
			return false;
		s += n + 1;
	}
}

/* True if every component of `s` is "." or empty: ".", "./", "./.". */
static bool only_dots(const char *s)
{
	for (;;) {
		size_t n = strcspn(s, "/");

		if (n > 1 || (n == 1 && s[0] != '.'))
			return false;
		if (!s[n])
			return true;
		s += n + 1;
	}
}

/*
 * Why glob `g` is unusable, or NULL. fnmatch() would take an unclosed
 * '[' literally, which is never what the author meant.
 */
static const char *glob_problem(const char *g)
{
	size_t i = 0;

	while (g[i]) {
		if (g[i] == '\\') {
			if (!g[i + 1])
				return "trailing '\\'";
			i += 2;
			continue;
		}
		if (g[i] == ']')
			return "unbalanced ']'";
		if (g[i] != '[') {
			i++;
			continue;
		}
		i++;
		if (g[i] == '!' || g[i] == '^')
			i++;
		if (g[i] == ']')
			i++;
		while (g[i] && g[i] != ']') {
			if (g[i] == '[' && g[i + 1] &&
			    strchr(":.=", g[i + 1])) {
				const char *end = g + i + 2;
				char close[3] = { g[i + 1], ']', '\0' };

				end = strstr(end, close);
				if (!end)
					return "unbalanced '['";
				i = (size_t)(end - g) + 2;
				continue;
			}
			if (g[i] == '\\' && g[i + 1])
				i++;
			i++;
		}
		if (!g[i])
			return "unbalanced '['";
		i++;
	}
	return NULL;
}

static int parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(yes); i++) {
		if (!strcasecmp(s, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcasecmp(s, no[i])) {
			*out = false;
			return 0;
		}
	}
	return ERR_INVALID;
}

int config_parse_size(const char *s, uint64_t *out)
{
	const char *orig = s;
	char digits[24];
	struct quote q;
	size_t n;
	unsigned shift = 0;
	uint64_t v;

	*out = 0;
	n = strspn(s, "0123456789");
	if (!*s)
		return error_set(ERR_INVALID, "empty size");
	if (n && s[n] && !s[n + 1] && strchr("KkMmGg", s[n]))
		shift = strchr("Kk", s[n]) ? 10 : strchr("Mm", s[n]) ? 20 : 30;
	else if (!n || s[n])
		return error_set(ERR_INVALID,
				 "'%s' is not a size (use digits with an "
				 "optional K, M or G suffix)", quote(&q, s));
	while (n > 1 && *s == '0') {
		s++;		/* leading zeros do not count */
		n--;
	}
	if (n >= sizeof(digits))
		return error_set(ERR_INVALID, "'%s' is too large",
				 quote(&q, orig));
	memcpy(digits, s, n);
	digits[n] = '\0';
	if (parse_uint(digits, 0, UINT64_MAX, &v) < 0 ||
	    v > (UINT64_MAX >> shift)) {
		error_clear();
		return error_set(ERR_INVALID, "'%s' is too large",
				 quote(&q, orig));
	}
	*out = v << shift;
	return 0;
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

static void env_init(struct config_env *env, const char *name,
		     unsigned line)
{
	memset(env, 0, sizeof(*env));
	env->name = xstrdup(name);
	env->hosts = xcalloc(1, sizeof(*env->hosts));
	env->hosts[0].local = true;
	env->hosts[0].label = xstrdup("local");
	env->nr_hosts = 1;
	env->port = 22;
	env->mode = CONFIG_MODE_AUTO;
	strvec_init(&env->requires);
	strvec_init(&env->approvers);
	env->artifact = xstrdup(".");
	strvec_init(&env->shared);
	env->keep = 5;
	env->healthcheck_retries = 3;
	env->connect_timeout = 10;
	env->command_timeout = 600;
	env->line = line;
}

static void env_release(struct config_env *env)
{
	free(env->name);
	free(env->branch);
	hosts_free(env->hosts, env->nr_hosts);
	free(env->path);
	free(env->identity);
	free(env->known_hosts);
	strvec_clear(&env->requires);
	strvec_clear(&env->approvers);
	free(env->artifact);
	free(env->config_dir);
	strvec_clear(&env->shared);
	free(env->before);
	free(env->after);
	free(env->healthcheck);
	free(env->on_failure);
}

/* strvec_clear() that knows about the static default user_vars. */
static void list_release(struct strvec *sv)
{
	if (sv->v == default_user_vars)
		strvec_init(sv);
	else
		strvec_clear(sv);
}

void config_init(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->present = false;
	cfg->user_vars.v = default_user_vars;
	cfg->user_vars.nr = ARRAY_SIZE(default_user_vars) - 1;
	cfg->user_vars.alloc = 0;
	cfg->lock_timeout = 600;
	strvec_init(&cfg->protected_branches);
	cfg->protect_tags = false;
	cfg->commit_message = NULL;
	cfg->has_commit_re = false;
	cfg->max_file_size = 0;
	strvec_init(&cfg->forbid_paths);
	cfg->build = NULL;
	cfg->test = NULL;
	cfg->test_timeout = 900;
	strvec_init(&cfg->test_branches);
	cfg->envs = NULL;
	cfg->nr_envs = 0;
}

void config_release(struct config *cfg)
{
	size_t i;

	list_release(&cfg->user_vars);
	strvec_clear(&cfg->protected_branches);
	free(cfg->commit_message);
	if (cfg->has_commit_re)
		regfree(&cfg->commit_re);
	strvec_clear(&cfg->forbid_paths);
	free(cfg->build);
	free(cfg->test);
	strvec_clear(&cfg->test_branches);
	for (i = 0; i < cfg->nr_envs; i++)
		env_release(&cfg->envs[i]);
	free(cfg->envs);
	config_init(cfg);
}

/* "[core]", "[verify]" or "[environment "NAME"]", for messages. */
static const char *section_label(const struct parser *ps, enum section sec,
				 char *out, size_t size)
{
	if (sec == SEC_CORE)
		snprintf(out, size, "[core]");
	else if (sec == SEC_VERIFY)
		snprintf(out, size, "[verify]");
	else if (sec == SEC_ENV && ps)
		snprintf(out, size, "[environment \"%s\"]",
			 ps->cfg->envs[ps->env].name);
	else
		snprintf(out, size, "[environment \"NAME\"]");
	return out;
}

static const struct key *find_key(const char *name, enum section sec)
{
	size_t i;

	for (i = 0; i < NR_KEYS; i++)
		if (keys[i].section == sec && !strcmp(keys[i].name, name))
			return &keys[i];
	return NULL;
}

static const struct key *find_key_anywhere(const char *name)
{
	size_t i;

	for (i = 0; i < NR_KEYS; i++)
		if (!strcmp(keys[i].name, name))
			return &keys[i];
	return NULL;
}

static unsigned *key_lines(struct parser *ps)
{
	return ps->sec == SEC_ENV ? ps->env_key_line[ps->env] : ps->key_line;
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

static void unknown_key(struct parser *ps, const char *name)
{
	const char *cands[NR_KEYS];
	const struct key *other = find_key_anywhere(name);
	const char *best;
	char here[ENV_NAME_MAX + 32], there[ENV_NAME_MAX + 32];
	struct quote q;
	size_t i, nr = 0;

	section_label(ps, ps->sec, here, sizeof(here));
	if (other) {
		problem(ps, ps->lineno,
			"unknown key '%s' in %s (it belongs in %s)", name,
			here, section_label(NULL, other->section, there,
					    sizeof(there)));
		return;
	}
	for (i = 0; i < NR_KEYS; i++)
		if (keys[i].section == ps->sec)
			cands[nr++] = keys[i].name;
	best = closest(name, cands, nr);
	if (best)
		problem(ps, ps->lineno,
			"unknown key '%s' in %s (did you mean '%s'?)",
			quote(&q, name), here, best);
	else
		problem(ps, ps->lineno, "unknown key '%s' in %s",
			quote(&q, name), here);
}

/* Split a list value, enforcing CONFIG_MAX_LIST. */
static bool split_list(struct parser *ps, const struct key *k,
		       unsigned line, const char *v, struct strvec *out)
{
	strvec_split(out, v);
	if (out->nr <= CONFIG_MAX_LIST)
		return true;
	problem(ps, line, "invalid '%s': too many entries (at most %d)",
		k->name, CONFIG_MAX_LIST);
	strvec_clear(out);
	return false;
}

/*
 * Parse one `hosts` word into *h. Returns NULL, or why it is invalid
 * (written to `why` when it needs formatting).
 */
static const char *parse_host(const char *w, struct config_host *h,
			      char *why, size_t why_size)
{
	const char *at, *rest, *host, *after;
	size_t user_len = 0, host_len, i;
	uint64_t port = 0;
	struct quote q;

	memset(h, 0, sizeof(*h));
	if (!strcmp(w, "local")) {
		h->local = true;
		h->label = xstrdup(w);
		return NULL;
	}
	at = strchr(w, '@');
	rest = at ? at + 1 : w;
	if (at) {
		user_len = (size_t)(at - w);
		if (!user_len)
			return "empty user name";
		if (w[0] == '-')
			return "user name starts with '-'";
		for (i = 0; i < user_len; i++)
			if (!isalnum((unsigned char)w[i]) &&
			    !strchr("._-", w[i]))
				return "user name may only have letters, "
				       "digits, '.', '_' and '-'";
	}
	if (*rest == '[') {
		host = rest + 1;
		after = strchr(host, ']');
		if (!after)
			return "missing ']' after IPv6 address";
		host_len = (size_t)(after - host);
		if (!host_len)
			return "empty host name";
		for (i = 0; i < host_len; i++)
			if (!isxdigit((unsigned char)host[i]) &&
			    host[i] != ':' && host[i] != '.')
				return "invalid IPv6 address";
		if (!memchr(host, ':', host_len))
			return "invalid IPv6 address";
		after++;
	} else {
		host = rest;
		host_len = strcspn(host, ":");
		after = host + host_len;
		if (*after == ':' && strchr(after + 1, ':'))
			return "IPv6 addresses need brackets, "
			       "e.g. user@[::1]:22";
		if (!host_len)
			return "empty host name";
		if (host[0] == '-')
			return "host name starts with '-'";
		for (i = 0; i < host_len; i++)
			if (!isalnum((unsigned char)host[i]) &&
			    host[i] != '.' && host[i] != '-')
				return "host name may only have letters, "
				       "digits, '.' and '-'";
	}
	if (host_len > HOST_NAME_MAX_LEN)
		return "host name is too long";
	if (*after == ':') {
		if (parse_uint(after + 1, 1, 65535, &port) < 0) {
			error_clear();
			snprintf(why, why_size,
				 "port '%s' is not a number from 1 to 65535",
				 quote(&q, after + 1));
			return why;
		}
	} else if (*after) {
		return "unexpected text after ']'";
	}
	h->user = at ? xstrndup(w, user_len) : NULL;
	h->host = xstrndup(host, host_len);
	h->port = (unsigned)port;
	h->label = xstrdup(w);
	return NULL;
}

static void set_hosts(struct parser *ps, const struct key *k,
		      unsigned line, const char *v)
{
	struct config_env *env = &ps->cfg->envs[ps->env];
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
		char why[160];
		const char *err;
		struct quote q;

		err = parse_host(words.v[i], &hosts[nr], why, sizeof(why));
		if (err) {
			problem(ps, line, "invalid '%s' entry '%s': %s",
				k->name, quote(&q, words.v[i]), err);
			ok = false;
			continue;
		}
		nr++;
	}
	if (!ok)
		goto out;
	hosts_free(env->hosts, env->nr_hosts);
	env->hosts = hosts;
	env->nr_hosts = nr;
	hosts = NULL;
	nr = 0;
out:
	hosts_free(hosts, nr);
	strvec_clear(&words);
}

static void set_regex(struct parser *ps, const struct key *k,
		      unsigned line, const char *v)
{
	struct config *cfg = ps->cfg;
	int rc;

	if (!*v)
		return;
	rc = regcomp(&cfg->commit_re, v, REG_EXTENDED | REG_NOSUB);
	if (rc) {
		char msg[256];

		regerror(rc, &cfg->commit_re, msg, sizeof(msg));
		problem(ps, line, "invalid '%s': %s", k->name, msg);
		return;
	}
	cfg->has_commit_re = true;
	cfg->commit_message = xstrdup(v);
}

static void replace_string(char **field, const char *v)
{
	free(*field);
	*field = v ? xstrdup(v) : NULL;
}

static void replace_list(struct strvec *field, struct strvec *list)
{
	list_release(field);
	*field = *list;
	strvec_init(list);
}

/* Check one entry of a list; report it and return false if invalid. */
static bool check_entry(struct parser *ps, const struct key *k,
			unsigned line, const char *e)
{
	const char *why = NULL;
	struct quote q;

	switch (k->type) {
	case T_GLOBS:
		why = glob_problem(e);
		if (why) {
			problem(ps, line, "invalid '%s': %s in '%s'", k->name,
				why, quote(&q, e));
			return false;
		}
		return true;
	case T_VARNAMES:
		if (valid_var_name(e))
			return true;
		why = "is not an environment variable name";
		break;
	case T_ENVNAMES:
		if (valid_env_name(e) && strlen(e) <= ENV_NAME_MAX)
			return true;
		why = "is not an environment name";
		break;
	case T_RELPATHS:
		if (e[0] == '/')
			why = "is not a relative path";
		else if (has_dotdot(e))
			why = "has a '..' component";
		else if (only_dots(e))
			why = "does not name a file or directory";
		else
			return true;
		break;
	case T_USERS:
		if (e[0] != '-')
			return true;
		why = "is not a user name";
		break;
	default:
		BUG("check_entry: type %d", (int)k->type);
	}
	problem(ps, line, "invalid '%s': '%s' %s", k->name, quote(&q, e), why);
	return false;
}

static void set_list(struct parser *ps, const struct key *k, unsigned line,
		     const char *v, struct strvec *field)
{
	struct strvec list = STRVEC_INIT;
	bool ok = true;
	size_t i;

	if (!split_list(ps, k, line, v, &list))
		return;
	for (i = 0; i < list.nr; i++)
		if (!check_entry(ps, k, line, list.v[i]))
			ok = false;
	if (ok)
		replace_list(field, &list);
	strvec_clear(&list);
}

static void set_homepath(struct parser *ps, const struct key *k,
			 unsigned line, const char *v, char **field)
{
	struct buf b = BUF_INIT;
	const char *home;

	if (!*v) {
		replace_string(field, NULL);
		return;
	}
	if (v[0] == '/') {
		replace_string(field, v);
		return;
	}
	if (v[0] != '~' || v[1] != '/') {
		/* no echo: the pusher sees this, and it may name a key */
		problem(ps, line,
			"invalid '%s': not an absolute path or ~/path",
			k->name);
		return;
	}
	home = home_dir(ps);
	if (!home) {
		problem(ps, line,
			"invalid '%s': cannot expand '~' (no home directory)",
			k->name);
		return;
	}
	if (buf_addf(&b, "%s%s", home, v + 1) < 0)
		BUG("set_homepath: %s", error_last());
	free(*field);
	*field = buf_detach(&b, NULL);
}

/* Validate the value of key `k` set at `line`, and store it. */
static void store(struct parser *ps, const struct key *k, unsigned line,
		  const char *v)
{
	char *base;
	void *field;
	bool scalar_name;
	uint64_t n;
	struct quote q;
	const char *why = NULL;

	scalar_name = k->type == T_BRANCH || k->type == T_ABSPATH ||
		      k->type == T_HOMEPATH || k->type == T_RELPATH;
	if (has_ctl(v, !scalar_name)) {
		problem(ps, line, "value of '%s' contains a control character",
			k->name);
		return;
	}
	if (k->type != T_CMD && k->type != T_REGEX && strpbrk(v, "\"'")) {
		/* `protected = "main"` would silently protect nothing */
		problem(ps, line, "invalid '%s': remove the quotes (values in "
			"hooks.ini are not quoted)", k->name);
		return;
	}
	if (!*v && !(k->flags & KF_EMPTY_OK)) {
		problem(ps, line, "missing value for '%s'", k->name);
		return;
	}
	base = k->section == SEC_ENV ? (char *)&ps->cfg->envs[ps->env]
				     : (char *)ps->cfg;
	field = base + k->off;

	switch (k->type) {
	case T_BOOL:
		if (parse_bool(v, field) < 0)
			problem(ps, line, "invalid '%s': '%s' is not a boolean "
				"(use true or false)", k->name, quote(&q, v));
		break;
	case T_UINT:
		if (parse_uint(v, k->min, k->max, &n) < 0) {
			error_clear();
			problem(ps, line, "invalid '%s': '%s' is not a number "
				"from %u to %u", k->name, quote(&q, v), k->min,
				k->max);
		} else {
			*(unsigned *)field = (unsigned)n;
		}
		break;
	case T_SIZE:
		if (!*v)
			break;
		if (config_parse_size(v, &n) < 0) {
			problem(ps, line, "invalid '%s': %s", k->name,
				error_last());
			error_clear();
		} else if (!n) {
			problem(ps, line, "invalid '%s': '%s' is zero (leave "
				"it empty for no limit)", k->name,
				quote(&q, v));
		} else {
			*(uint64_t *)field = n;
		}
		break;
	case T_REGEX:
		set_regex(ps, k, line, v);
		break;
	case T_CMD:
		replace_string(field, *v ? v : NULL);
		break;
	case T_BRANCH:
		if (!strncmp(v, "refs/heads/", 11) && valid_branch(v + 11))
			problem(ps, line, "invalid '%s': write the short name "
				"'%s', not '%s'", k->name, quote(&q, v + 11),
				v);
		else if (!valid_branch(v))
			problem(ps, line, "invalid '%s': '%s' is not a valid "
				"branch name", k->name, quote(&q, v));
		else
			replace_string(field, v);
		break;
	case T_ABSPATH:
		if (v[0] != '/')
			why = "is not an absolute path";
		else if (has_dotdot(v))
			why = "has a '..' component";
		if (why)
			problem(ps, line, "invalid '%s': '%s' %s", k->name,
				quote(&q, v), why);
		else
			replace_string(field, v);
		break;
	case T_HOMEPATH:
		set_homepath(ps, k, line, v, field);
		break;
	case T_RELPATH:
		if (!*v)
			replace_string(field, NULL);
		else if (v[0] == '/')
			why = "is not a relative path";
		else if (has_dotdot(v))
			why = "has a '..' component";
		else
			replace_string(field, v);
		if (why)
			problem(ps, line, "invalid '%s': '%s' %s", k->name,
				quote(&q, v), why);
		break;
	case T_MODE:
		if (!strcmp(v, "auto"))
			*(enum config_mode *)field = CONFIG_MODE_AUTO;
		else if (!strcmp(v, "manual"))
			*(enum config_mode *)field = CONFIG_MODE_MANUAL;
		else
			problem(ps, line, "invalid '%s': '%s' is not auto or "
				"manual", k->name, quote(&q, v));
		break;
	case T_GLOBS:
	case T_VARNAMES:
	case T_RELPATHS:
	case T_ENVNAMES:
	case T_USERS:
		set_list(ps, k, line, v, field);
		break;
	case T_HOSTS:
		set_hosts(ps, k, line, v);
		break;
	}
}

/* The value of the current key is complete: validate and store it. */
static void finish_key(struct parser *ps)
{
	const struct key *k = ps->key;

	if (!k)
		return;
	ps->key = NULL;
	if (ps->val_too_long)
		problem(ps, ps->key_lineno,
			"value of '%s' is too long (more than %d bytes)",
			k->name, CONFIG_MAX_VALUE);
	else
		store(ps, k, ps->key_lineno, ps->val.ptr);
	buf_reset(&ps->val);
	ps->val_too_long = false;
}

static void begin_key(struct parser *ps, const char *name, const char *value)
{
	const struct key *k;
	unsigned *lines;
	char label[ENV_NAME_MAX + 32];
	struct quote q;

	if (ps->sec == SEC_BAD)
		return;
	if (!*name) {
		problem(ps, ps->lineno, "missing key name before '='");
		return;
	}
	if (ps->sec == SEC_NONE) {
		k = find_key_anywhere(name);
		if (k)
			problem(ps, ps->lineno, "key '%s' is outside any "
				"section (it belongs in %s)", name,
				section_label(NULL, k->section, label,
					      sizeof(label)));
		else
			problem(ps, ps->lineno,
				"key '%s' is outside any section",
				quote(&q, name));
		return;
	}
	k = find_key(name, ps->sec);
	if (!k) {
		unknown_key(ps, name);
		return;
	}
	lines = key_lines(ps);
	if (lines[k - keys]) {
		problem(ps, ps->lineno,
			"duplicate key '%s' in %s (first set at line %u)",
			name, section_label(ps, ps->sec, label, sizeof(label)),
			lines[k - keys]);
		return;
	}
	lines[k - keys] = ps->lineno;
	ps->key = k;
	ps->key_lineno = ps->lineno;
	buf_reset(&ps->val);
	ps->val_too_long = buf_addstr(&ps->val, value) < 0;
}

/*
 * Mirror of inih's find_chars_or_comment(): the first of `chars` in
 * [s, end), or an inline ';' comment (one after whitespace), or end.
 */
static const char *find_chars_or_comment(const char *s, const char *end,
					 const char *chars)
{
	bool was_space = false;

	while (s < end && !(chars && strchr(chars, *s)) &&
	       !(was_space && *s == ';')) {
		was_space = isspace((unsigned char)*s);
		s++;
	}
	return s;
}

/* An indented line goes on with the value of the key before it. */
static void continue_value(struct parser *ps, const char *value)
{
	const char *end;
	size_t len;

	if (!ps->key)
		return;		/* its key was rejected: already reported */
	/* inih strips inline comments from key lines only; do the same */
	end = find_chars_or_comment(value, value + strlen(value), NULL);
	len = (size_t)(end - value);
	while (len && isspace((unsigned char)value[len - 1]))
		len--;
	if (!len)
		return;
	if ((ps->val.len && buf_addch(&ps->val, ' ') < 0) ||
	    buf_add(&ps->val, value, len) < 0)
		ps->val_too_long = true;
}

static int on_value(void *user, const char *section, const char *name,
		    const char *value)
{
	struct parser *ps = user;

	(void)section;		/* we track sections ourselves */
	if (!value)
		value = "";
	if (ps->kind == LINE_CONTINUATION) {
		continue_value(ps, value);
		return 1;
	}
	if (ps->kind != LINE_KEY) {
		/* our mirror of inih disagrees with inih: fail closed */
		problem(ps, ps->lineno, "cannot parse this line");
		return 1;
	}
	ps->have_prev = *name != '\0';
	finish_key(ps);
	begin_key(ps, name, value);
	return 1;
}

static void begin_env(struct parser *ps, const char *name)
{
	struct config *cfg = ps->cfg;
	struct quote q;
	size_t i;

	if (strlen(name) > ENV_NAME_MAX) {
		problem(ps, ps->lineno, "environment name '%s' is too long "
			"(at most %d characters)", quote(&q, name),
			ENV_NAME_MAX);
		return;
	}
	if (!valid_env_name(name)) {
		problem(ps, ps->lineno, "invalid environment name '%s' (use "
			"a-z, 0-9, '_' and '-', starting with a letter or "
			"digit)", quote(&q, name));
		return;
	}
	for (i = 0; i < cfg->nr_envs; i++) {
		if (!strcmp(cfg->envs[i].name, name)) {
			problem(ps, ps->lineno, "duplicate environment '%s' "
				"(first defined at line %u)", name,
				cfg->envs[i].line);
			return;
		}
	}
	if (cfg->nr_envs >= CONFIG_MAX_ENVS) {
		if (!ps->too_many_envs)
			problem(ps, ps->lineno, "too many environments "
				"(at most %d)", CONFIG_MAX_ENVS);
		ps->too_many_envs = true;
		return;
	}
	cfg->envs = xreallocarray(cfg->envs, cfg->nr_envs + 1,
				  sizeof(*cfg->envs));
	env_init(&cfg->envs[cfg->nr_envs], name, ps->lineno);
	ps->env = cfg->nr_envs++;
	ps->sec = SEC_ENV;
}

/* `[NAME]` read at ps->lineno: NAME is the text between the brackets. */
static void begin_section(struct parser *ps, const char *name)
{
	static const char *const sections[] = {
		"core", "verify", "environment"
	};
	static const char env_prefix[] = "environment";
	size_t plen = sizeof(env_prefix) - 1;
	unsigned *seen = NULL;
	const char *best, *s;
	char word[QUOTE_MAX + 1];
	struct quote q;

	ps->sec = SEC_BAD;
	if (!strcmp(name, "core"))
		seen = &ps->core_line;
	else if (!strcmp(name, "verify"))
		seen = &ps->verify_line;
	if (seen) {
		if (*seen) {
			problem(ps, ps->lineno, "duplicate section '[%s]' "
				"(first at line %u)", name, *seen);
			return;
		}
		*seen = ps->lineno;
		ps->sec = seen == &ps->core_line ? SEC_CORE : SEC_VERIFY;
		return;
	}
	if (!strncmp(name, env_prefix, plen) &&
	    (!name[plen] || name[plen] == ' ' || name[plen] == '\t')) {
		size_t len;
		char *env_name;

		s = name + plen + strspn(name + plen, " \t");
		len = strlen(s);

		if (s == name + plen || len < 2 || s[0] != '"' ||
		    s[len - 1] != '"' || memchr(s + 1, '"', len - 2)) {
			problem(ps, ps->lineno, "malformed section '[%s]' "
				"(write [environment \"NAME\"])",
				quote(&q, name));
			return;
		}
		env_name = xstrndup(s + 1, len - 2);
		begin_env(ps, env_name);
		free(env_name);
		return;
	}
	/* suggest from the first word, so `[ core ]` finds [core] */
	s = name + strspn(name, " \t");
	snprintf(word, sizeof(word), "%.*s", (int)strcspn(s, " \t\""), s);
	best = closest(word, sections, ARRAY_SIZE(sections));
	if (best && !strcmp(best, "environment"))
		problem(ps, ps->lineno, "unknown section '[%s]' (did you mean "
			"'[environment \"NAME\"]'?)", quote(&q, name));
	else if (best)
		problem(ps, ps->lineno, "unknown section '[%s]' (did you mean "
			"'[%s]'?)", quote(&q, name), best);
	else
		problem(ps, ps->lineno, "unknown section '[%s]' (expected "
			"[core], [verify] or [environment \"NAME\"])",
			quote(&q, name));
}

/*
 * Classify `line` the way inih's ini_parse_stream() is about to, and
 * handle section headers here.
 */
static void classify(struct parser *ps, const char *line)
{
	const char *s = line, *end = line + strlen(line), *e, *rest;
	char *name;

	while (end > s && isspace((unsigned char)end[-1]))
		end--;
	while (s < end && isspace((unsigned char)*s))
		s++;
	if (s == end || *s == ';' || *s == '#') {
		ps->kind = LINE_COMMENT;
		return;
	}
	if (ps->have_prev && s > line) {
		ps->kind = LINE_CONTINUATION;
		return;
	}
	if (*s == '[') {
		finish_key(ps);
		e = find_chars_or_comment(s + 1, end, "]");
		if (e == end || *e != ']') {
			/* inih keeps the previous section and key */
			ps->kind = LINE_BAD;
			ps->sec = SEC_BAD;
			problem(ps, ps->lineno,
				"missing ']' in section header");
			return;
		}
		ps->kind = LINE_SECTION;
		ps->have_prev = false;
		rest = e + 1;
		while (rest < end && isspace((unsigned char)*rest))
			rest++;
		if (rest < end && *rest != ';' && *rest != '#') {
			ps->sec = SEC_BAD;
			problem(ps, ps->lineno,
				"unexpected text after section header");
			return;
		}
		name = xstrndup(s + 1, (size_t)(e - s - 1));
		begin_section(ps, name);
		free(name);
		return;
	}
	e = find_chars_or_comment(s, end, "=:");
	if (e == end || (*e != '=' && *e != ':')) {
		ps->kind = LINE_BAD;
		problem(ps, ps->lineno,
			"syntax error (expected 'key = value' or '[section]')");
		return;
	}
	ps->kind = LINE_KEY;
}

/* The ini_reader: one line of the text per call, as fgets() would. */
static char *read_line(char *str, int num, void *stream)
{
	struct parser *ps = stream;
	const char *line = ps->p, *nl;
	size_t len;

	if (ps->p >= ps->end)
		return NULL;
	nl = memchr(line, '\n', (size_t)(ps->end - line));
	len = nl ? (size_t)(nl - line) : (size_t)(ps->end - line);
	ps->p = line + len + (nl != NULL);
	ps->lineno++;
	if (ps->lineno == 1 && len >= 3 && !memcmp(line, "\xef\xbb\xbf", 3)) {
		line += 3;	/* a UTF-8 byte order mark */
		len -= 3;
	}
	ps->kind = LINE_COMMENT;
	str[0] = '\0';
	if (memchr(line, '\0', len)) {
		problem(ps, ps->lineno, "line contains a NUL byte");
		return str;
	}
	if (len && line[len - 1] == '\r')
		len--;		/* CRLF */
	if (memchr(line, '\r', len)) {
		problem(ps, ps->lineno, "carriage return inside a line "
			"(use LF or CRLF line endings)");
		return str;
	}
	if (len > LINE_MAX_LEN || len + 1 > (size_t)num) {
		problem(ps, ps->lineno, "line is too long (more than %d "
			"bytes)", LINE_MAX_LEN);
		return str;
	}
	memcpy(str, line, len);
	str[len] = '\0';
	classify(ps, str);
	return str;
}

/* Run inih over the text with the options this file relies on. */
static int run_inih(struct parser *ps)
{
	/*
	 * Debian's libinih is built with runtime options; set every one we
	 * depend on, and put them back afterwards.
	 */
	static char start_prefixes[] = ";#";
	static char inline_prefixes[] = ";";
	bool multiline = ini_allow_multiline, bom = ini_allow_bom;
	bool inline_comments = ini_allow_inline_comments;
	bool use_stack = ini_use_stack, no_value = ini_allow_no_value;
	bool stop = ini_stop_on_first_error, realloc_ok = ini_allow_realloc;
	char *start = ini_start_comment_prefixes;
	char *inl = ini_inline_comment_prefixes;
	int max_line = ini_max_line;
	int r;

	ini_allow_multiline = true;
	ini_allow_bom = false;		/* read_line() skips it */
	ini_allow_inline_comments = true;
	ini_use_stack = true;
	ini_allow_no_value = false;
	ini_stop_on_first_error = false;
	ini_allow_realloc = false;
	ini_start_comment_prefixes = start_prefixes;
	ini_inline_comment_prefixes = inline_prefixes;
	ini_max_line = LINE_MAX_LEN + 2;

	r = ini_parse_stream(read_line, ps, on_value, ps);

	ini_allow_multiline = multiline;
	ini_allow_bom = bom;
	ini_allow_inline_comments = inline_comments;
	ini_use_stack = use_stack;
	ini_allow_no_value = no_value;
	ini_stop_on_first_error = stop;
	ini_allow_realloc = realloc_ok;
	ini_start_comment_prefixes = start;
	ini_inline_comment_prefixes = inl;
	ini_max_line = max_line;
	return r;
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

	buf_init(&b, 2 * CONFIG_MAX_ENVS * (ENV_NAME_MAX + 4));
	while (i < depth && stack[i] != j)
		i++;
	for (; i < depth; i++)
		if (buf_addf(&b, "%s -> ", ps->cfg->envs[stack[i]].name) < 0)
			BUG("report_cycle: %s", error_last());
	if (buf_addstr(&b, ps->cfg->envs[j].name) < 0)
		BUG("report_cycle: %s", error_last());
	problem(ps, ps->env_key_line[j][K_REQUIRES],
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
	unsigned line = ps->env_key_line[i][K_REQUIRES];
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
		best = closest(req, names, cfg->nr_envs);
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
			problem(ps, ps->env_key_line[i][K_HOSTS],
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
				problem(ps, ps->env_key_line[i][K_PATH],
					"environments '%s' and '%s' both "
					"deploy to '%s' on '%s'", other->name,
					env->name, env->path,
					env->hosts[a].label);
				return;
			}
	}
}

/* Checks that need the whole file. */
static void check_config(struct parser *ps)
{
	struct config *cfg = ps->cfg;
	unsigned char color[CONFIG_MAX_ENVS] = { 0 };
	size_t stack[CONFIG_MAX_ENVS];
	size_t i, j;

	for (i = 0; i < cfg->nr_envs; i++) {
		struct config_env *env = &cfg->envs[i];
		unsigned *lines = ps->env_key_line[i];

		if (!lines[K_BRANCH])
			problem(ps, env->line, "environment '%s' has no "
				"'branch'", env->name);
		if (!lines[K_PATH])
			problem(ps, env->line, "environment '%s' has no "
				"'path'", env->name);
		for (j = 0; env->branch && j < i; j++) {
			if (!cfg->envs[j].branch ||
			    strcmp(cfg->envs[j].branch, env->branch))
				continue;
			problem(ps, lines[K_BRANCH], "environments '%s' and "
				"'%s' both deploy branch '%s'",
				cfg->envs[j].name, env->name, env->branch);
			break;
		}
		check_requires(ps, i);
		check_hosts(ps, env, i);
		check_shared_target(ps, i);
		if (!env->known_hosts && !lines[K_KNOWN_HOSTS]) {
			const char *home = home_dir(ps);
			struct buf b = BUF_INIT;

			if (!home) {
				problem(ps, env->line, "environment '%s': no "
					"home directory for the default "
					"'known_hosts' (set 'known_hosts')",
					env->name);
				continue;
			}
			if (buf_addf(&b, "%s/.ssh/known_hosts", home) < 0)
				BUG("check_config: %s", error_last());
			env->known_hosts = buf_detach(&b, NULL);
		}
	}
	for (i = 0; i < cfg->nr_envs; i++)
		if (!color[i])
			find_cycles(ps, i, color, stack, 0);
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
	if (ps->too_many && errors)
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
	struct parser ps;
	size_t i;
	int r = 0;

	memset(&ps, 0, sizeof(ps));
	ps.cfg = cfg;
	ps.p = text;
	ps.end = text + len;
	ps.sec = SEC_NONE;
	ps.env_key_line = xcalloc(CONFIG_MAX_ENVS, sizeof(*ps.env_key_line));
	buf_init(&ps.val, CONFIG_MAX_VALUE);
	cfg->present = true;

	r = run_inih(&ps);
	finish_key(&ps);
	if (r < 0)
		problem(&ps, 0, "cannot parse (inih error %d)", r);
	else if (r > 0 && !ps.nr_probs)
		problem(&ps, (unsigned)r, "cannot parse this line");
	check_config(&ps);

	r = 0;
	if (ps.nr_probs || ps.too_many) {
		r = report_problems(&ps, errors);
		config_release(cfg);
	}
	for (i = 0; i < ps.nr_probs; i++)
		free(ps.probs[i].msg);
	buf_release(&ps.val);
	free(ps.env_key_line);
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
static int file_problem(struct strvec *errors, int code, int errnum,
			const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int file_problem(struct strvec *errors, int code, int errnum,
			const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;
	int r;

	r = buf_addstr(&b, "hooks.ini:0: ");
	va_start(ap, fmt);
	if (!r)
		r = buf_vaddf(&b, fmt, ap);
	va_end(ap);
	if (!r && errnum)
		r = buf_addf(&b, ": %s", strerror(errnum));
	if (r < 0)
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
		return file_problem(errors, fd, 0, "%s", error_last());
	r = buf_read_fd(&text, fd);
	close(fd);
	if (r == ERR_TOOBIG)
		r = file_problem(errors, ERR_INVALID, 0, "'%s' is too large "
				 "(more than %d bytes)", path,
				 CONFIG_MAX_FILE);
	else if (r < 0)
		r = file_problem(errors, r, 0, "%s", error_last());
	else
		r = parse_text(cfg, text.ptr, text.len, errors);
	buf_release(&text);
	return r;
}
