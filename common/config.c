#include "config.h"

#include <fnmatch.h>
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
#include "repo.h"
#include "schema.h"
#include "suggest.h"
#include "tz.h"

/*
 * hooks.ini is two tables, read by the schema engine: the kinds of
 * section (kinds[]) and the keys (keys[]), each key in one kind. The
 * engine does everything a row implies: the default, the check and
 * storing of the value, unknown, misplaced and duplicate keys and
 * sections, keys a section must set, and freeing. A new key is a row of
 * keys[] (and its field); a new kind of section a row of kinds[] (and its
 * struct, an array of them in struct config), and its keys.
 *
 * What remains here: the `hosts` entries (a type of their own), the
 * checks that need the whole file (two environments deploying one
 * branch, `requires` naming unknown environments or making a cycle), and
 * reading the file.
 */

/* Longest line we accept: a full value plus room for its key. */
#define LINE_MAX_LEN (CONFIG_MAX_VALUE + 256)

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

enum kind_id {
	KIND_CORE,
	KIND_VERIFY,
	KIND_ENV,
	KIND_WINDOW,
	NR_KINDS
};

static void check_envs(struct schema_parser *sp, void *obj);
static void check_verify(struct schema_parser *sp, void *obj);
static void check_windows(struct schema_parser *sp, void *obj);

#define NAMED(type, array, nr, most, ok, rule, chk) \
	.named = true, .array_off = offsetof(struct config, array), \
	.nr_off = offsetof(struct config, nr), .elem_size = sizeof(type), \
	.name_off = offsetof(type, name), .line_off = offsetof(type, line), \
	.max = most, .name_max = SCHEMA_NAME_MAX, .name_ok = ok, \
	.name_rule = rule, .check = chk

/* In the order messages list them ("expected [core], [verify] or ..."). */
static const struct schema_kind kinds[NR_KINDS] = {
	[KIND_CORE] = { .name = "core" },
	[KIND_VERIFY] = { .name = "verify", .check = check_verify },
	[KIND_ENV] = { .name = "environment",
		       NAMED(struct config_env, envs, nr_envs, CONFIG_MAX_ENVS,
			     confval_is_name, "use a-z, 0-9, '_' and '-', "
			     "starting with a letter or digit", check_envs) },
	[KIND_WINDOW] = { .name = "window",
			  NAMED(struct config_window, windows, nr_windows,
				CONFIG_MAX_WINDOWS, confval_is_name,
				"use a-z, 0-9, '_' and '-', starting with a "
				"letter or digit", check_windows) },
};

static int env_name_entry(const char *e);
static void store_hosts(struct schema_parser *sp, const struct schema_key *k,
			char *base, unsigned line, const char *v);
static void release_hosts(const struct schema_key *k, char *base,
			  bool shared);

static const char *const mode_words[] = { "auto", "manual" };

/* The events of SPEC §14, and the default of `notify_on`. */
static const char *const notify_events[] = {
	"deployed", "failed", "rolled-back", "rollback", "held", "skipped"
};
#define NOTIFY_ON_DEFAULT "deployed failed rolled-back rollback held"
static int notify_event_entry(const char *e);
static int sandbox_hide_entry(const char *e);
static const char *const incremental_words[] = { "link", "copy", "off" };
static const char *const signatures_words[] = { "off", "tips", "all" };
static const char *const sandbox_words[] = { "auto", "required", "off" };

#define KEY(n, k, t, f, d, st, field) \
	.name = n, .kind = k, .type = t, .flags = f, .def = d, \
	.off = offsetof(st, field)
#define CORE(n, t, f, d, field) KEY(n, KIND_CORE, t, f, d, struct config, field)
#define VERIFY(n, t, f, d, field) \
	KEY(n, KIND_VERIFY, t, f, d, struct config, field)
#define ENV(n, t, f, d, field) \
	KEY(n, KIND_ENV, t, f, d, struct config_env, field)
#define WINDOW(n, t, f, d, field) \
	KEY(n, KIND_WINDOW, t, f, d, struct config_window, field)

#define RANGE(lo, hi) .min = lo, .max = hi
#define NAME SCHEMA_NO_TAB	/* names and paths: a tab is a typo */
#define QUOTED SCHEMA_QUOTES_OK	/* commands, regexes: quotes are text */

/* The schema of SPEC §3, in the order of its tables. */
static const struct schema_key keys[] = {
	{ CORE("user_vars", SCHEMA_LIST, 0, "PUSHGATE_USER GL_USER "
	       "GL_USERNAME REMOTE_USER USER", user_vars),
	  .check = confval_var_name },
	{ CORE("lock_timeout", SCHEMA_UINT, 0, "600", lock_timeout),
	  RANGE(0, 86400) },
	{ CORE("artifacts_keep", SCHEMA_UINT, 0, "10", artifacts_keep),
	  RANGE(1, 1000) },
	{ CORE("notify", SCHEMA_STRING, QUOTED, NULL, notify) },
	{ CORE("notify_on", SCHEMA_LIST, 0, NOTIFY_ON_DEFAULT, notify_on),
	  .check = notify_event_entry },
	{ CORE("notify_timeout", SCHEMA_UINT, 0, "10", notify_timeout),
	  RANGE(1, 3600) },
	{ CORE("status_page", SCHEMA_STRING, NAME, NULL, status_page),
	  .check = confval_abspath },
	{ VERIFY("protected", SCHEMA_LIST, 0, NULL, protected_branches),
	  .check = confval_glob },
	{ VERIFY("protect_tags", SCHEMA_BOOL, 0, "false", protect_tags) },
	{ VERIFY("commit_message", SCHEMA_REGEX, QUOTED, NULL,
		 commit_message),
	  .aux_off = offsetof(struct config, commit_re),
	  .flag_off = offsetof(struct config, has_commit_re) },
	{ VERIFY("max_file_size", SCHEMA_SIZE, 0, NULL, max_file_size) },
	{ VERIFY("forbid_paths", SCHEMA_LIST, 0, NULL, forbid_paths),
	  .check = confval_glob },
	{ VERIFY("max_entries", SCHEMA_UINT, 0, "1000000", max_entries),
	  RANGE(1, REPO_MAX_ENTRIES) },
	{ VERIFY("build", SCHEMA_STRING, QUOTED, NULL, build) },
	{ VERIFY("test", SCHEMA_STRING, QUOTED, NULL, test) },
	{ VERIFY("test_timeout", SCHEMA_UINT, 0, "900", test_timeout),
	  RANGE(1, 86400) },
	{ VERIFY("push_timeout", SCHEMA_UINT, 0, "1800", push_timeout),
	  RANGE(1, 86400) },
	{ VERIFY("test_branches", SCHEMA_LIST, 0, NULL, test_branches),
	  .check = confval_glob },
	{ VERIFY("signatures", SCHEMA_WORD, 0, "off", signatures),
	  .words = signatures_words,
	  .nr_words = ARRAY_SIZE(signatures_words) },
	{ VERIFY("allowed_signers", SCHEMA_HOMEPATH, NAME, NULL,
		 allowed_signers) },
	{ VERIFY("sandbox", SCHEMA_WORD, 0, "auto", sandbox),
	  .words = sandbox_words, .nr_words = ARRAY_SIZE(sandbox_words) },
	{ VERIFY("sandbox_hide", SCHEMA_LIST, 0, NULL, sandbox_hide),
	  .check = sandbox_hide_entry },
	{ VERIFY("sandbox_write", SCHEMA_LIST, 0, NULL, sandbox_write),
	  .check = confval_abspath },
	{ ENV("branch", SCHEMA_STRING, SCHEMA_REQUIRED | NAME, NULL, branch),
	  .check = confval_branch },
	{ ENV("hosts", SCHEMA_CUSTOM, 0, "local", hosts),
	  .aux_off = offsetof(struct config_env, nr_hosts),
	  .store = store_hosts, .release = release_hosts },
	{ ENV("path", SCHEMA_STRING, SCHEMA_REQUIRED | NAME, NULL, path),
	  .check = confval_abspath, .unless = "gitops_remote" },
	{ ENV("identity", SCHEMA_HOMEPATH, NAME, NULL, identity) },
	{ ENV("known_hosts", SCHEMA_HOMEPATH, NAME, "~/.ssh/known_hosts",
	      known_hosts) },
	{ ENV("port", SCHEMA_UINT, 0, "22", port), RANGE(1, 65535) },
	{ ENV("mode", SCHEMA_WORD, 0, "auto", mode),
	  .words = mode_words, .nr_words = ARRAY_SIZE(mode_words) },
	{ ENV("requires", SCHEMA_LIST, 0, NULL, requires),
	  .check = env_name_entry },
	{ ENV("approvers", SCHEMA_LIST, 0, NULL, approvers),
	  .check = confval_user },
	{ ENV("artifact", SCHEMA_STRING, NAME, ".", artifact),
	  .check = confval_relpath },
	{ ENV("config", SCHEMA_STRING, NAME, NULL, config_dir),
	  .check = confval_relpath },
	{ ENV("shared", SCHEMA_LIST, 0, NULL, shared),
	  .check = confval_shared_entry },
	{ ENV("keep", SCHEMA_UINT, 0, "5", keep), RANGE(1, 1000) },
	{ ENV("incremental", SCHEMA_WORD, 0, "link", incremental),
	  .words = incremental_words,
	  .nr_words = ARRAY_SIZE(incremental_words) },
	{ ENV("maintenance", SCHEMA_BOOL, 0, "false", maintenance) },
	{ ENV("before", SCHEMA_STRING, QUOTED, NULL, before) },
	{ ENV("after", SCHEMA_STRING, QUOTED, NULL, after) },
	{ ENV("healthcheck", SCHEMA_STRING, QUOTED, NULL, healthcheck) },
	{ ENV("healthcheck_retries", SCHEMA_UINT, 0, "3",
	      healthcheck_retries), RANGE(1, 100) },
	{ ENV("on_failure", SCHEMA_STRING, QUOTED, NULL, on_failure) },
	{ ENV("connect_timeout", SCHEMA_UINT, 0, "10", connect_timeout),
	  RANGE(1, 3600) },
	{ ENV("command_timeout", SCHEMA_UINT, 0, "600", command_timeout),
	  RANGE(1, 86400) },
	{ ENV("compress", SCHEMA_BOOL, 0, "false", compress) },
	{ ENV("parallel", SCHEMA_UINT, 0, "8", parallel),
	  RANGE(1, CONFIG_MAX_HOSTS) },
	{ ENV("batch", SCHEMA_UINT, 0, "0", batch), RANGE(0, CONFIG_MAX_HOSTS) },
	{ ENV("canary", SCHEMA_BOOL, 0, "false", canary) },
	{ ENV("batch_pause", SCHEMA_UINT, 0, "0", batch_pause),
	  RANGE(0, 86400) },
	{ ENV("primary", SCHEMA_STRING, NAME, NULL, primary) },
	{ ENV("before_once", SCHEMA_STRING, QUOTED, NULL, before_once) },
	{ ENV("after_once", SCHEMA_STRING, QUOTED, NULL, after_once) },
	{ ENV("gitops_remote", SCHEMA_STRING, NAME, NULL, gitops_remote),
	  .check = confval_remote_check },
	{ ENV("gitops_branch", SCHEMA_STRING, NAME, "main", gitops_branch),
	  .check = confval_branch },
	{ ENV("gitops_path", SCHEMA_STRING, NAME, NULL, gitops_path),
	  .check = confval_relpath_entry },
	{ ENV("notify", SCHEMA_STRING, QUOTED, NULL, notify) },
	{ ENV("notify_on", SCHEMA_LIST, 0, NULL, notify_on),
	  .check = notify_event_entry },
	{ ENV("notify_timeout", SCHEMA_UINT, 0, NULL, notify_timeout),
	  RANGE(1, 3600) },
	{ WINDOW("environments", SCHEMA_LIST, SCHEMA_REQUIRED, NULL,
		 environments), .check = env_name_entry },
	{ WINDOW("kind", SCHEMA_STRING, NAME, "deny", kind),
	  .check = window_check_kind },
	{ WINDOW("start", SCHEMA_STRING, NAME, NULL, start),
	  .check = cron_check },
	{ WINDOW("end", SCHEMA_STRING, NAME, NULL, end), .check = cron_check },
	{ WINDOW("duration", SCHEMA_STRING, NAME, NULL, duration),
	  .check = window_check_duration },
	{ WINDOW("from", SCHEMA_STRING, NAME, NULL, from),
	  .check = tz_check_local },
	{ WINDOW("until", SCHEMA_STRING, NAME, NULL, until),
	  .check = tz_check_local },
	{ WINDOW("timezone", SCHEMA_STRING, NAME, "UTC", timezone),
	  .check = tz_check },
	{ WINDOW("manual", SCHEMA_STRING, NAME, "deny", manual),
	  .check = window_check_manual },
	{ WINDOW("message", SCHEMA_STRING, QUOTED, NULL, message) },
};

#define NR_KEYS ARRAY_SIZE(keys)

/* SCHEMA_WORD stores the index of the word as an int. */
_Static_assert(sizeof(enum config_mode) == sizeof(int), "enum size");
_Static_assert(sizeof(enum config_incremental) == sizeof(int), "enum size");
_Static_assert(sizeof(enum config_signatures) == sizeof(int), "enum size");

static struct schema_defaults *defaults;

static const struct schema schema = {
	.file = "hooks.ini",
	.kinds = kinds,
	.nr_kinds = NR_KINDS,
	.keys = keys,
	.nr_keys = NR_KEYS,
	.size = sizeof(struct config),
	.max_value = CONFIG_MAX_VALUE,
	.max_list = CONFIG_MAX_LIST,
	.max_problems = CONFIG_MAX_ERRORS,
	.defaults = &defaults,
};

/* A `requires` entry: the name of an environment. */
static int env_name_entry(const char *e)
{
	struct confval_quote q;

	if (strlen(e) <= kinds[KIND_ENV].name_max && confval_is_name(e))
		return 0;
	return error_set(ERR_INVALID, "'%s' is not an environment name",
			 confval_quote(&q, e));
}

/* A `notify_on` entry: one of the events. */
static int notify_event_entry(const char *e)
{
	struct confval_quote q;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(notify_events); i++)
		if (!strcmp(e, notify_events[i]))
			return 0;
	return error_set(ERR_INVALID, "'%s' is not an event (deployed, "
			 "failed, rolled-back, rollback, held, skipped)",
			 confval_quote(&q, e));
}

/* A `sandbox_hide` entry: an absolute path other than the root. */
static int sandbox_hide_entry(const char *e)
{
	struct confval_quote q;
	int r;

	if ((r = confval_abspath(e)) < 0)
		return r;
	if (strspn(e, "/") == strlen(e))
		return error_set(ERR_INVALID, "'%s' would hide everything",
				 confval_quote(&q, e));
	return 0;
}

const char *config_notify_command(const struct config *cfg,
				  const struct config_env *env)
{
	return env && env->notify ? env->notify : cfg->notify;
}

bool config_notify_wants(const struct config *cfg,
			 const struct config_env *env, const char *event)
{
	const struct strvec *on = env && env->notify_on.nr ?
				  &env->notify_on : &cfg->notify_on;
	size_t i;

	for (i = 0; i < on->nr; i++)
		if (!strcmp(on->v[i], event))
			return true;
	return false;
}

unsigned config_notify_timeout(const struct config *cfg,
			       const struct config_env *env)
{
	return env && env->notify_timeout ? env->notify_timeout :
	       cfg->notify_timeout;
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

static void release_hosts(const struct schema_key *k, char *base,
			  bool shared)
{
	struct config_host **hosts = (struct config_host **)(base + k->off);
	size_t *nr = (size_t *)(base + k->aux_off);

	if (!shared)
		hosts_free(*hosts, *nr);
	*hosts = NULL;
	*nr = 0;
}

/* `hosts`: one config_host per word, in the order given. */
static void store_hosts(struct schema_parser *sp, const struct schema_key *k,
			char *base, unsigned line, const char *v)
{
	struct strvec words = STRVEC_INIT;
	struct config_host *hosts = NULL;
	size_t i, nr = 0;
	bool ok = true;

	strvec_split(&words, v);
	if (!words.nr) {
		schema_problem(sp, line, "missing value for '%s'", k->name);
		goto out;
	}
	if (words.nr > CONFIG_MAX_HOSTS) {
		schema_problem(sp, line, "invalid '%s': too many hosts (at "
			       "most %d)", k->name, CONFIG_MAX_HOSTS);
		goto out;
	}
	hosts = xcalloc(words.nr, sizeof(*hosts));
	for (i = 0; i < words.nr; i++) {
		struct config_host *h = &hosts[nr];
		struct confval_host e;
		struct confval_quote q;

		if (confval_host(words.v[i], &e) < 0) {
			schema_problem(sp, line, "invalid '%s' entry '%s': %s",
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
	schema_clear_field(sp, k, base);
	*(struct config_host **)(base + k->off) = hosts;
	*(size_t *)(base + k->aux_off) = nr;
	hosts = NULL;
	nr = 0;
out:
	hosts_free(hosts, nr);
	strvec_clear(&words);
}

void config_init(struct config *cfg)
{
	schema_init(&schema, cfg);
}

void config_release(struct config *cfg)
{
	size_t i;

	/* the fields no key owns */
	for (i = 0; cfg->envs && i < cfg->nr_envs; i++) {
		free(cfg->envs[i].gitops_repo);
		cfg->envs[i].gitops_repo = NULL;
	}
	for (i = 0; cfg->windows && i < cfg->nr_windows; i++)
		window_release(&cfg->windows[i].w);
	schema_release(&schema, cfg);
}

bool config_key(size_t i, struct config_key_info *out)
{
	if (i >= NR_KEYS)
		return false;
	out->section = kinds[keys[i].kind].name;
	out->section_named = kinds[keys[i].kind].named;
	out->name = keys[i].name;
	out->default_text = keys[i].def;
	out->required = keys[i].flags & SCHEMA_REQUIRED;
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

static ssize_t env_index(const struct config *cfg, const char *name)
{
	size_t i;

	for (i = 0; i < cfg->nr_envs; i++)
		if (!strcmp(cfg->envs[i].name, name))
			return (ssize_t)i;
	return -1;
}

/* The line where environment `i` sets `key` (0: it does not). */
static unsigned env_line(struct schema_parser *sp, size_t i,
			 const char *key)
{
	return schema_key_line(sp, KIND_ENV, i, key);
}

static void report_cycle(struct schema_parser *sp, const struct config *cfg,
			 const size_t *stack, size_t depth, size_t j)
{
	struct buf b;
	size_t i = 0;

	buf_init(&b, 2 * CONFIG_MAX_ENVS * (SCHEMA_NAME_MAX + 4));
	while (i < depth && stack[i] != j)
		i++;
	for (; i < depth; i++)
		buf_addf(&b, "%s -> ", cfg->envs[stack[i]].name);
	buf_addstr(&b, cfg->envs[j].name);
	if (buf_error(&b) < 0)
		BUG("report_cycle: %s", error_last());
	schema_problem(sp, env_line(sp, j, "requires"),
		       "'requires' makes a cycle: %s", b.ptr);
	buf_release(&b);
}

static void find_cycles(struct schema_parser *sp, const struct config *cfg,
			size_t i, unsigned char *color, size_t *stack,
			size_t depth)
{
	const struct config_env *env = &cfg->envs[i];
	size_t r;

	color[i] = 1;
	stack[depth] = i;
	for (r = 0; r < env->requires.nr; r++) {
		ssize_t j = env_index(cfg, env->requires.v[r]);

		if (j < 0 || (size_t)j == i)
			continue;
		if (color[j] == 1)
			report_cycle(sp, cfg, stack, depth + 1, (size_t)j);
		else if (!color[j])
			find_cycles(sp, cfg, (size_t)j, color, stack,
				    depth + 1);
	}
	color[i] = 2;
}

static void check_requires(struct schema_parser *sp,
			   const struct config *cfg, size_t i)
{
	const struct config_env *env = &cfg->envs[i];
	const char *names[CONFIG_MAX_ENVS];
	unsigned line = env_line(sp, i, "requires");
	size_t r, k;

	for (k = 0; k < cfg->nr_envs; k++)
		names[k] = cfg->envs[k].name;
	for (r = 0; r < env->requires.nr; r++) {
		const char *req = env->requires.v[r];
		const char *best;

		if (!strcmp(req, env->name)) {
			schema_problem(sp, line, "environment '%s' requires "
				       "itself", env->name);
			continue;
		}
		if (env_index(cfg, req) >= 0)
			continue;
		best = suggest_closest(req, names, cfg->nr_envs);
		if (best)
			schema_problem(sp, line, "environment '%s' requires "
				       "unknown environment '%s' (did you "
				       "mean '%s'?)", env->name, req, best);
		else
			schema_problem(sp, line, "environment '%s' requires "
				       "unknown environment '%s'", env->name,
				       req);
	}
}

static bool same_host(const struct config_host *a,
		      const struct config_host *b)
{
	if (a->local || b->local)
		return a->local && b->local;
	return !strcasecmp(a->host, b->host) && a->port == b->port;
}

/* Entries without a port get the environment's; none may repeat. */
static void check_hosts(struct schema_parser *sp, struct config_env *env,
			size_t i)
{
	struct confval_quote q;
	size_t a, b;

	for (a = 0; a < env->nr_hosts; a++)
		if (!env->hosts[a].local && !env->hosts[a].port)
			env->hosts[a].port = env->port;
	for (a = 0; a < env->nr_hosts; a++) {
		for (b = 0; b < a; b++) {
			if (!same_host(&env->hosts[a], &env->hosts[b]))
				continue;
			schema_problem(sp, env_line(sp, i, "hosts"),
				       "invalid 'hosts': '%s' and '%s' are "
				       "the same host", env->hosts[b].label,
				       env->hosts[a].label);
			break;
		}
	}
	/* `primary`: one of `hosts`, as written there */
	env->primary_index = 0;
	if (!env->primary)
		return;
	for (a = 0; a < env->nr_hosts; a++)
		if (!strcmp(env->hosts[a].label, env->primary))
			break;
	if (a < env->nr_hosts) {
		env->primary_index = a;
		return;
	}
	schema_problem(sp, env_line(sp, i, "primary"), "invalid 'primary':"
		       " '%s' is not one of 'hosts'",
		       confval_quote(&q, env->primary));
}

/* The keys of a release environment that a GitOps one must not set. */
static const char *const not_gitops[] = {
	"hosts", "path", "before", "after", "healthcheck",
	"healthcheck_retries", "maintenance", "shared", "keep", "incremental",
	"parallel", "batch", "canary", "batch_pause", "primary",
	"before_once", "after_once"
};

/*
 * A GitOps environment: no key that only hosts have, a `gitops_path`,
 * and its one target, the remote, as `hosts`.
 */
static void check_gitops(struct schema_parser *sp, struct config_env *env,
			 size_t i)
{
	struct confval_remote rem;
	struct config_host *h;
	size_t k;

	for (k = 0; k < ARRAY_SIZE(not_gitops); k++)
		if (env_line(sp, i, not_gitops[k]))
			schema_problem(sp, env_line(sp, i, not_gitops[k]),
				       "'%s' does not apply to a GitOps "
				       "environment (it has gitops_remote)",
				       not_gitops[k]);
	if (!env->gitops_path && !env_line(sp, i, "gitops_path"))
		schema_problem(sp, env_line(sp, i, "gitops_remote"),
			       "environment '%s' has gitops_remote but no "
			       "'gitops_path'", env->name);
	if (confval_remote(env->gitops_remote, &rem) < 0) {
		error_clear();	/* reported by the key's own check */
		return;
	}
	h = xcalloc(1, sizeof(*h));
	h->user = rem.host.user ? xstrndup(rem.host.user,
					   rem.host.user_len) : NULL;
	h->host = xstrndup(rem.host.host, rem.host.host_len);
	h->port = rem.host.port ? rem.host.port : env->port;
	h->label = xstrdup(env->gitops_remote);
	free(env->gitops_repo);
	env->gitops_repo = xstrdup(rem.path);
	/* what `hosts` held (its shared default, or an error) goes */
	for (k = 0; k < NR_KEYS; k++)
		if (keys[k].kind == KIND_ENV && !strcmp(keys[k].name, "hosts"))
			schema_clear_field(sp, &keys[k], (char *)env);
	env->hosts = h;
	env->nr_hosts = 1;
	env->primary_index = 0;
}

/* `gitops_branch` and `gitops_path` make sense with gitops_remote only. */
static void check_gitops_keys(struct schema_parser *sp,
			      const struct config_env *env, size_t i)
{
	static const char *const keys_[] = { "gitops_branch", "gitops_path" };
	size_t k;

	/* an invalid gitops_remote was reported already */
	if (env->gitops_remote || env_line(sp, i, "gitops_remote"))
		return;
	for (k = 0; k < ARRAY_SIZE(keys_); k++)
		if (env_line(sp, i, keys_[k]))
			schema_problem(sp, env_line(sp, i, keys_[k]),
				       "'%s' needs 'gitops_remote'", keys_[k]);
}

/*
 * Two environments deploying to one path on one host would prune each
 * other's releases and fight over `current`.
 */
/*
 * [verify] signatures needs allowed_signers. The file itself is read
 * where it is used (pre-receive refuses a push it cannot check) and by
 * `pushgate check`.
 */
static void check_verify(struct schema_parser *sp, void *obj)
{
	struct config *cfg = obj;

	if (cfg->signatures != CONFIG_SIGNATURES_OFF && !cfg->allowed_signers)
		schema_problem(sp, schema_key_line(sp, KIND_VERIFY, 0,
						   "signatures"),
			       "signatures = %s needs allowed_signers (the "
			       "keys allowed to sign, in ssh-keygen's "
			       "allowed-signers format)",
			       signatures_words[cfg->signatures]);
}

/*
 * Each [window "NAME"]: the window its values make (window_parse() says
 * what is wrong with them together), for environments that exist.
 */
static void check_windows(struct schema_parser *sp, void *obj)
{
	struct config *cfg = obj;
	size_t i, j;

	for (i = 0; i < cfg->nr_windows; i++) {
		struct config_window *cw = &cfg->windows[i];
		struct window_spec spec;

		for (j = 0; j < cw->environments.nr; j++)
			if (!config_env_find(cfg, cw->environments.v[j]))
				schema_problem(sp, schema_key_line(sp,
					       KIND_WINDOW, i, "environments"),
					       "window '%s': no environment "
					       "'%s'", cw->name,
					       cw->environments.v[j]);
		memset(&spec, 0, sizeof(spec));
		spec.name = cw->name;
		spec.kind = cw->kind;
		spec.start = cw->start;
		spec.end = cw->end;
		spec.duration = cw->duration;
		spec.from = cw->from;
		spec.until = cw->until;
		spec.timezone = cw->timezone;
		spec.manual = cw->manual;
		spec.message = cw->message;
		if (window_parse(&cw->w, &spec) < 0) {
			schema_problem(sp, cw->line, "window '%s': %s",
				       cw->name, error_last());
			error_clear();
		}
	}
}

size_t config_env_windows(const struct config *cfg,
			  const struct config_env *env,
			  const struct window **out, size_t max)
{
	size_t i, j, n = 0;

	for (i = 0; i < cfg->nr_windows; i++)
		for (j = 0; j < cfg->windows[i].environments.nr; j++)
			if (!strcmp(cfg->windows[i].environments.v[j],
				    env->name)) {
				if (n < max)
					out[n] = &cfg->windows[i].w;
				n++;
				break;
			}
	return n;
}

static void check_shared_target(struct schema_parser *sp,
				const struct config *cfg, size_t i)
{
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
				schema_problem(sp, env_line(sp, i, "path"),
					       "environments '%s' and '%s' "
					       "both deploy to '%s' on '%s'",
					       other->name, env->name,
					       env->path, env->hosts[a].label);
				return;
			}
	}
}

/* The checks of [environment] sections that need the whole file. */
static void check_envs(struct schema_parser *sp, void *obj)
{
	struct config *cfg = obj;
	unsigned char color[CONFIG_MAX_ENVS] = { 0 };
	size_t stack[CONFIG_MAX_ENVS];
	size_t i, j;

	for (i = 0; i < cfg->nr_envs; i++) {
		struct config_env *env = &cfg->envs[i];

		env->kind = env->gitops_remote ? CONFIG_ENV_GITOPS :
			    CONFIG_ENV_RELEASE;
		for (j = 0; env->branch && j < i; j++) {
			if (!cfg->envs[j].branch ||
			    strcmp(cfg->envs[j].branch, env->branch))
				continue;
			schema_problem(sp, env_line(sp, i, "branch"),
				       "environments '%s' and '%s' both "
				       "deploy branch '%s'", cfg->envs[j].name,
				       env->name, env->branch);
			break;
		}
		check_requires(sp, cfg, i);
		if (env->kind == CONFIG_ENV_GITOPS) {
			check_gitops(sp, env, i);
			continue;
		}
		check_gitops_keys(sp, env, i);
		check_hosts(sp, env, i);
		check_shared_target(sp, cfg, i);
	}
	for (i = 0; i < cfg->nr_envs; i++)
		if (!color[i])
			find_cycles(sp, cfg, i, color, stack, 0);
}

/* inifile's events, handed to the engine. */
static void on_section(const char *text, unsigned line, void *payload)
{
	schema_read_section(payload, text, line);
}

static void on_key(const char *name, const char *value, unsigned line,
		   void *payload)
{
	schema_read_key(payload, name, value, line);
}

static void on_problem(unsigned line, const char *msg, void *payload)
{
	schema_problem(payload, line, "%s", msg);
}

/* Parse `len` bytes of hooks.ini into *cfg (already initialised). */
static int parse_text(struct config *cfg, const char *text, size_t len,
		      struct strvec *errors)
{
	struct inifile_opts opts = INIFILE_OPTS_INIT;
	struct schema_parser *sp = schema_parser_new(&schema, cfg);
	int r;

	cfg->present = true;
	opts.section = on_section;
	opts.key = on_key;
	opts.problem = on_problem;
	opts.payload = sp;
	opts.max_line = LINE_MAX_LEN;
	opts.max_value = CONFIG_MAX_VALUE;
	if (inifile_parse(text, len, &opts) < 0)
		error_clear();	/* each problem went to on_problem() */
	r = schema_finish(sp, errors);
	if (r < 0)
		config_release(cfg);
	schema_parser_free(sp);
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
