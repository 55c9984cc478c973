#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "strvec.h"

#define TEST_HOME "/home/tester"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Every element of `sv` joined with `sep`, in a buffer owned by the test. */
static char *join(const struct strvec *sv, const char *sep)
{
	struct buf b = BUF_INIT;
	size_t i;

	for (i = 0; i < sv->nr; i++)
		assert_ok(buf_addf(&b, "%s%s", i ? sep : "", sv->v[i]));
	return buf_detach(&b, NULL);
}

/* Parse `ini`, which must be valid. */
static void parse_ok(struct config *cfg, const char *ini)
{
	struct strvec errors = STRVEC_INIT;
	int r = config_parse_string(cfg, ini, &errors);

	if (r) {
		char *all = join(&errors, "\n");

		print_error("unexpected errors for:\n%s\n---\n%s\n", ini, all);
		free(all);
	}
	assert_int_equal(r, 0);
	assert_int_equal(errors.nr, 0);
	assert_true(cfg->present);
	strvec_clear(&errors);
}

/*
 * Parse `ini`, which must be refused with exactly `expected` (the error
 * lines joined with '\n'), leaving *cfg with the defaults.
 */
static void parse_bad(const char *ini, const char *expected)
{
	struct strvec errors = STRVEC_INIT;
	struct config cfg;
	char *all;
	int r;

	r = config_parse_string(&cfg, ini, &errors);
	all = join(&errors, "\n");
	if (r != ERR_INVALID || strcmp(all, expected))
		print_error("input:\n%s\n---\n", ini);
	assert_int_equal(r, ERR_INVALID);
	assert_string_equal(all, expected);
	assert_string_equal(error_last(), errors.v[0]);
	/* released: back to the defaults */
	assert_false(cfg.present);
	assert_int_equal(cfg.nr_envs, 0);
	assert_null(cfg.envs);
	assert_false(cfg.has_commit_re);
	assert_int_equal(cfg.user_vars.nr, 5);
	free(all);
	strvec_clear(&errors);
	config_release(&cfg);
}

static void test_config__init_defaults(void **state)
{
	struct config cfg;
	char *s;

	(void)state;
	config_init(&cfg);
	assert_false(cfg.present);
	s = join(&cfg.user_vars, " ");
	assert_string_equal(s, "PUSHGATE_USER GL_USER GL_USERNAME "
			    "REMOTE_USER USER");
	free(s);
	assert_int_equal(cfg.lock_timeout, 600);
	assert_int_equal(cfg.protected_branches.nr, 0);
	assert_false(cfg.protect_tags);
	assert_null(cfg.commit_message);
	assert_false(cfg.has_commit_re);
	assert_int_equal(cfg.max_file_size, 0);
	assert_int_equal(cfg.forbid_paths.nr, 0);
	assert_null(cfg.build);
	assert_null(cfg.test);
	assert_int_equal(cfg.test_timeout, 900);
	assert_int_equal(cfg.test_branches.nr, 0);
	assert_int_equal(cfg.nr_envs, 0);
	/* init allocates nothing, release of defaults is a no-op */
	config_release(&cfg);
	config_release(&cfg);
}

static void test_config__empty(void **state)
{
	static const char *const empties[] = {
		"", "\n", "; comment\n# comment\n\n", "\xef\xbb\xbf",
		"[core]\n", "[verify]\n[core]\n",
	};
	struct config cfg;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(empties); i++) {
		parse_ok(&cfg, empties[i]);
		assert_int_equal(cfg.nr_envs, 0);
		assert_int_equal(cfg.lock_timeout, 600);
		config_release(&cfg);
	}
}

/* The field for `key` rendered as text (envs[0] for environment keys). */
static char *render(const struct config *cfg, const char *key)
{
	const struct config_env *e = cfg->nr_envs ? &cfg->envs[0] : NULL;
	struct buf b = BUF_INIT;
	size_t i;
	int r = 0;

#define IS(k) (!strcmp(key, (k)))
#define STR(s) ((s) ? (s) : "(null)")
	if (IS("user_vars"))
		return join(&cfg->user_vars, " ");
	if (IS("protected"))
		return join(&cfg->protected_branches, " ");
	if (IS("forbid_paths"))
		return join(&cfg->forbid_paths, " ");
	if (IS("test_branches"))
		return join(&cfg->test_branches, " ");
	if (IS("sandbox_hide"))
		return join(&cfg->sandbox_hide, " ");
	if (IS("sandbox_write"))
		return join(&cfg->sandbox_write, " ");
	if (IS("requires"))
		return join(&e->requires, " ");
	if (IS("approvers"))
		return join(&e->approvers, " ");
	if (IS("shared"))
		return join(&e->shared, " ");
	if (IS("lock_timeout"))
		r = buf_addf(&b, "%u", cfg->lock_timeout);
	else if (IS("protect_tags"))
		r = buf_addf(&b, "%d", cfg->protect_tags);
	else if (IS("commit_message"))
		r = buf_addf(&b, "%s re=%d", STR(cfg->commit_message),
			     cfg->has_commit_re);
	else if (IS("max_file_size"))
		r = buf_addf(&b, "%llu",
			     (unsigned long long)cfg->max_file_size);
	else if (IS("build"))
		r = buf_addstr(&b, STR(cfg->build));
	else if (IS("test"))
		r = buf_addstr(&b, STR(cfg->test));
	else if (IS("test_timeout"))
		r = buf_addf(&b, "%u", cfg->test_timeout);
	else if (IS("sandbox"))
		r = buf_addf(&b, "%d", (int)cfg->sandbox);
	else if (IS("push_timeout"))
		r = buf_addf(&b, "%u", cfg->push_timeout);
	else if (IS("max_entries"))
		r = buf_addf(&b, "%u", cfg->max_entries);
	else if (IS("branch"))
		r = buf_addstr(&b, STR(e->branch));
	else if (IS("hosts"))
		for (i = 0; !r && i < e->nr_hosts; i++)
			r = buf_addf(&b, "%s%s|%d|%s|%s|%u", i ? " " : "",
				     e->hosts[i].label, e->hosts[i].local,
				     STR(e->hosts[i].user),
				     STR(e->hosts[i].host), e->hosts[i].port);
	else if (IS("path"))
		r = buf_addstr(&b, STR(e->path));
	else if (IS("identity"))
		r = buf_addstr(&b, STR(e->identity));
	else if (IS("known_hosts"))
		r = buf_addstr(&b, STR(e->known_hosts));
	else if (IS("port"))
		r = buf_addf(&b, "%u", e->port);
	else if (IS("mode"))
		r = buf_addstr(&b, e->mode == CONFIG_MODE_MANUAL ? "manual"
								 : "auto");
	else if (IS("artifact"))
		r = buf_addstr(&b, STR(e->artifact));
	else if (IS("config"))
		r = buf_addstr(&b, STR(e->config_dir));
	else if (IS("keep"))
		r = buf_addf(&b, "%u", e->keep);
	else if (IS("maintenance"))
		r = buf_addf(&b, "%d", e->maintenance);
	else if (IS("before"))
		r = buf_addstr(&b, STR(e->before));
	else if (IS("after"))
		r = buf_addstr(&b, STR(e->after));
	else if (IS("healthcheck"))
		r = buf_addstr(&b, STR(e->healthcheck));
	else if (IS("healthcheck_retries"))
		r = buf_addf(&b, "%u", e->healthcheck_retries);
	else if (IS("on_failure"))
		r = buf_addstr(&b, STR(e->on_failure));
	else if (IS("connect_timeout"))
		r = buf_addf(&b, "%u", e->connect_timeout);
	else if (IS("command_timeout"))
		r = buf_addf(&b, "%u", e->command_timeout);
	else if (IS("compress"))
		r = buf_addf(&b, "%d", e->compress);
	else if (IS("parallel"))
		r = buf_addf(&b, "%u", e->parallel);
	else if (IS("batch"))
		r = buf_addf(&b, "%u", e->batch);
	else if (IS("canary"))
		r = buf_addf(&b, "%d", e->canary);
	else if (IS("batch_pause"))
		r = buf_addf(&b, "%u", e->batch_pause);
	else if (IS("primary"))
		r = buf_addf(&b, "%s %zu", STR(e->primary), e->primary_index);
	else if (IS("before_once"))
		r = buf_addstr(&b, STR(e->before_once));
	else if (IS("after_once"))
		r = buf_addstr(&b, STR(e->after_once));
	else if (IS("gitops_remote"))
		r = buf_addf(&b, "%s kind=%d", STR(e->gitops_remote),
			     (int)e->kind);
	else if (IS("gitops_branch"))
		r = buf_addstr(&b, STR(e->gitops_branch));
	else if (IS("gitops_path"))
		r = buf_addstr(&b, STR(e->gitops_path));
	else
		fail_msg("no renderer for '%s'", key);
#undef IS
#undef STR
	assert_ok(r);
	return buf_detach(&b, NULL);
}

struct key_case {
	char section;		/* 'c'ore, 'v'erify, 'e'nvironment */
	const char *key;
	const char *value;	/* NULL: not set, the default applies */
	const char *expect;	/* the field, rendered */
};

static const struct key_case key_cases[] = {
	{ 'c', "user_vars", NULL,
	  "PUSHGATE_USER GL_USER GL_USERNAME REMOTE_USER USER" },
	{ 'c', "user_vars", "DEPLOYER _X x1", "DEPLOYER _X x1" },
	{ 'c', "user_vars", "", "" },
	{ 'c', "lock_timeout", NULL, "600" },
	{ 'c', "lock_timeout", "0", "0" },
	{ 'c', "lock_timeout", "86400", "86400" },
	{ 'v', "protected", NULL, "" },
	{ 'v', "protected", "main release/*", "main release/*" },
	{ 'v', "protected", "", "" },
	{ 'v', "protect_tags", NULL, "0" },
	{ 'v', "protect_tags", "true", "1" },
	{ 'v', "protect_tags", "yes", "1" },
	{ 'v', "protect_tags", "On", "1" },
	{ 'v', "protect_tags", "1", "1" },
	{ 'v', "protect_tags", "false", "0" },
	{ 'v', "protect_tags", "no", "0" },
	{ 'v', "protect_tags", "off", "0" },
	{ 'v', "protect_tags", "0", "0" },
	{ 'v', "commit_message", NULL, "(null) re=0" },
	{ 'v', "commit_message", "^(feat|fix)(\\(.+\\))?: .+",
	  "^(feat|fix)(\\(.+\\))?: .+ re=1" },
	{ 'v', "commit_message", "", "(null) re=0" },
	{ 'v', "max_file_size", NULL, "0" },
	{ 'v', "max_file_size", "5M", "5242880" },
	{ 'v', "max_file_size", "1", "1" },
	{ 'v', "max_file_size", "", "0" },
	{ 'v', "forbid_paths", NULL, "" },
	{ 'v', "forbid_paths", "*.pem *.key .env id_rsa",
	  "*.pem *.key .env id_rsa" },
	{ 'v', "forbid_paths", "[[:digit:]]*.bin []]x [!a]b \\[lit",
	  "[[:digit:]]*.bin []]x [!a]b \\[lit" },
	{ 'v', "build", NULL, "(null)" },
	{ 'v', "build", "make -j4", "make -j4" },
	{ 'v', "build", "", "(null)" },
	{ 'v', "test", NULL, "(null)" },
	{ 'v', "test", "make test;echo done", "make test;echo done" },
	{ 'v', "test", "make test ; comment", "make test" },
	{ 'v', "test", "make\ttest", "make\ttest" },
	{ 'v', "test_timeout", NULL, "900" },
	{ 'v', "test_timeout", "1", "1" },
	{ 'v', "test_timeout", "86400", "86400" },
	{ 'v', "push_timeout", NULL, "1800" },
	{ 'v', "push_timeout", "1", "1" },
	{ 'v', "push_timeout", "86400", "86400" },
	{ 'v', "max_entries", NULL, "1000000" },
	{ 'v', "max_entries", "1", "1" },
	{ 'v', "max_entries", "2000000", "2000000" },
	{ 'v', "test_branches", NULL, "" },
	{ 'v', "test_branches", "feature/* fix-*", "feature/* fix-*" },
	{ 'v', "sandbox", NULL, "0" },
	{ 'v', "sandbox", "required", "1" },
	{ 'v', "sandbox", "off", "2" },
	{ 'v', "sandbox_hide", NULL, "" },
	{ 'v', "sandbox_hide", "/srv/git /etc/deploy-keys",
	  "/srv/git /etc/deploy-keys" },
	{ 'v', "sandbox_write", NULL, "" },
	{ 'v', "sandbox_write", "/var/cache/ccache", "/var/cache/ccache" },
	{ 'e', "branch", "develop", "develop" },
	{ 'e', "branch", "release/2.x", "release/2.x" },
	{ 'e', "hosts", NULL, "local|1|(null)|(null)|0" },
	{ 'e', "hosts", "deploy@web1.example.com web2:2222 local",
	  "deploy@web1.example.com|0|deploy|web1.example.com|22 "
	  "web2:2222|0|(null)|web2|2222 local|1|(null)|(null)|0" },
	{ 'e', "hosts", "user@[::1]:2222 [fe80::1]",
	  "user@[::1]:2222|0|user|::1|2222 [fe80::1]|0|(null)|fe80::1|22" },
	{ 'e', "hosts", "a@b c",
	  "a@b|0|a|b|22 c|0|(null)|c|22" },
	{ 'e', "hosts", "d.e_p-1@10.0.0.1:1 x:65535",
	  "d.e_p-1@10.0.0.1:1|0|d.e_p-1|10.0.0.1|1 x:65535|0|(null)|x|65535" },
	{ 'e', "path", "/srv/app/prod", "/srv/app/prod" },
	{ 'e', "path", "/srv/app with space/a..b", "/srv/app with space/a..b" },
	{ 'e', "identity", NULL, "(null)" },
	{ 'e', "identity", "/etc/pushgate/id_ed25519",
	  "/etc/pushgate/id_ed25519" },
	{ 'e', "identity", "~/.ssh/deploy", TEST_HOME "/.ssh/deploy" },
	{ 'e', "identity", "", "(null)" },
	{ 'e', "known_hosts", NULL, TEST_HOME "/.ssh/known_hosts" },
	{ 'e', "known_hosts", "/etc/ssh/ssh_known_hosts",
	  "/etc/ssh/ssh_known_hosts" },
	{ 'e', "known_hosts", "~/kh", TEST_HOME "/kh" },
	{ 'e', "port", NULL, "22" },
	{ 'e', "port", "2222", "2222" },
	{ 'e', "port", "1", "1" },
	{ 'e', "port", "65535", "65535" },
	{ 'e', "mode", NULL, "auto" },
	{ 'e', "mode", "auto", "auto" },
	{ 'e', "mode", "manual", "manual" },
	{ 'e', "requires", NULL, "" },
	{ 'e', "requires", "z", "z" },
	{ 'e', "requires", "", "" },
	{ 'e', "approvers", NULL, "" },
	{ 'e', "approvers", "alice bob.smith", "alice bob.smith" },
	{ 'e', "artifact", NULL, "." },
	{ 'e', "artifact", "dist", "dist" },
	{ 'e', "artifact", "./build/out/", "./build/out/" },
	{ 'e', "config", NULL, "(null)" },
	{ 'e', "config", "deploy/prod", "deploy/prod" },
	{ 'e', "config", "", "(null)" },
	{ 'e', "shared", NULL, "" },
	{ 'e', "shared", "uploads/ .env logs/ a/b", "uploads/ .env logs/ a/b" },
	{ 'e', "keep", NULL, "5" },
	{ 'e', "keep", "1", "1" },
	{ 'e', "keep", "1000", "1000" },
	{ 'e', "maintenance", NULL, "0" },
	{ 'e', "maintenance", "true", "1" },
	{ 'e', "before", NULL, "(null)" },
	{ 'e', "before", "systemctl stop app", "systemctl stop app" },
	{ 'e', "after", NULL, "(null)" },
	{ 'e', "after", "sudo systemctl restart app",
	  "sudo systemctl restart app" },
	{ 'e', "healthcheck", NULL, "(null)" },
	{ 'e', "healthcheck", "curl -fsS http://localhost:8080/health",
	  "curl -fsS http://localhost:8080/health" },
	{ 'e', "healthcheck_retries", NULL, "3" },
	{ 'e', "healthcheck_retries", "100", "100" },
	{ 'e', "on_failure", NULL, "(null)" },
	{ 'e', "on_failure", "mail -s failed ops < /dev/null",
	  "mail -s failed ops < /dev/null" },
	{ 'e', "connect_timeout", NULL, "10" },
	{ 'e', "connect_timeout", "3600", "3600" },
	{ 'e', "command_timeout", NULL, "600" },
	{ 'e', "command_timeout", "86400", "86400" },
	{ 'e', "compress", NULL, "0" },
	{ 'e', "compress", "true", "1" },
	{ 'e', "compress", "off", "0" },
	{ 'e', "parallel", NULL, "8" },
	{ 'e', "parallel", "1", "1" },
	{ 'e', "parallel", "64", "64" },
	{ 'e', "batch", NULL, "0" },
	{ 'e', "batch", "3", "3" },
	{ 'e', "canary", NULL, "0" },
	{ 'e', "canary", "true", "1" },
	{ 'e', "batch_pause", NULL, "0" },
	{ 'e', "batch_pause", "30", "30" },
	{ 'e', "primary", NULL, "(null) 0" },
	{ 'e', "primary", "local", "local 0" },
	{ 'e', "before_once", NULL, "(null)" },
	{ 'e', "before_once", "./bin/migrate --yes", "./bin/migrate --yes" },
	{ 'e', "after_once", NULL, "(null)" },
	{ 'e', "after_once", "./bin/notify 'done'", "./bin/notify 'done'" },
	{ 'e', "gitops_remote", NULL, "(null) kind=0" },
	{ 'e', "gitops_branch", NULL, "main" },
	{ 'e', "gitops_path", NULL, "(null)" },
};

static void test_config__keys(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(key_cases); i++) {
		const struct key_case *c = &key_cases[i];
		struct buf ini = BUF_INIT;
		struct config cfg;
		char *got;

		if (c->section == 'c')
			assert_ok(buf_addstr(&ini, "[core]\n"));
		else if (c->section == 'v')
			assert_ok(buf_addstr(&ini, "[verify]\n"));
		else
			assert_ok(buf_addstr(&ini, "[environment \"e\"]\n"));
		if (c->section == 'e' && strcmp(c->key, "branch"))
			assert_ok(buf_addstr(&ini, "branch = main\n"));
		if (c->section == 'e' && strcmp(c->key, "path"))
			assert_ok(buf_addstr(&ini, "path = /srv/e\n"));
		if (c->value)
			assert_ok(buf_addf(&ini, "%s = %s\n", c->key,
					   c->value));
		if (c->section == 'e')
			assert_ok(buf_addstr(&ini, "[environment \"z\"]\n"
					     "branch = zz\npath = /srv/z\n"));
		parse_ok(&cfg, ini.ptr);
		got = render(&cfg, c->key);
		if (strcmp(got, c->expect))
			print_error("key '%s' value '%s'\n", c->key,
				    c->value ? c->value : "(unset)");
		assert_string_equal(got, c->expect);
		free(got);
		config_release(&cfg);
		buf_release(&ini);
	}
}

/* Every key set at once, as in a real file. */
static void test_config__full(void **state)
{
	static const char ini[] =
		"[core]\n"
		"user_vars = GL_USER\n"
		"lock_timeout = 30\n"
		"[verify]\n"
		"protected = main\n"
		"commit_message = ^(feat|fix): \n"
		"max_file_size = 2k\n"
		"[environment \"staging\"]\n"
		"branch = develop\n"
		"path = /srv/staging\n"
		"[environment \"prod\"]\n"
		"branch = main\n"
		"path = /srv/prod\n"
		"mode = manual\n"
		"requires = staging\n";
	struct config cfg;
	const struct config_env *e;

	(void)state;
	parse_ok(&cfg, ini);
	assert_int_equal(cfg.nr_envs, 2);
	assert_int_equal(cfg.max_file_size, 2048);
	assert_int_equal(cfg.lock_timeout, 30);
	assert_true(cfg.has_commit_re);
	assert_int_equal(regexec(&cfg.commit_re, "feat: x", 0, NULL, 0), 0);
	assert_int_not_equal(regexec(&cfg.commit_re, "wip", 0, NULL, 0), 0);
	e = config_env_find(&cfg, "prod");
	assert_non_null(e);
	assert_ptr_equal(e, &cfg.envs[1]);
	assert_int_equal(e->line, 11);
	assert_int_equal(cfg.envs[0].line, 8);
	assert_int_equal(e->mode, CONFIG_MODE_MANUAL);
	assert_int_equal(e->incremental, CONFIG_INCREMENTAL_LINK);
	assert_int_equal(cfg.artifacts_keep, 10);
	assert_ptr_equal(config_env_for_branch(&cfg, "main"), e);
	assert_ptr_equal(config_env_for_branch(&cfg, "develop"),
			 &cfg.envs[0]);
	assert_null(config_env_for_branch(&cfg, "feature/x"));
	assert_null(config_env_find(&cfg, "nope"));
	assert_true(config_globs_match(&cfg.protected_branches, "main"));
	assert_false(config_globs_match(&cfg.protected_branches, "mainx"));
	config_release(&cfg);
	/* after release: defaults */
	assert_int_equal(cfg.nr_envs, 0);
	assert_int_equal(cfg.lock_timeout, 600);
	assert_int_equal(cfg.user_vars.nr, 5);
}

static void test_config__syntax(void **state)
{
	struct config cfg;

	(void)state;
	/* ':' separator, CRLF, BOM, comments, inline comments */
	parse_ok(&cfg, "\xef\xbb\xbf; hooks.ini\r\n"
		 "[verify] ; the rules\r\n"
		 "build: make ; inline comment\r\n"
		 "test = make test;true\r\n"
		 "  # an indented comment is a comment\r\n"
		 "\r\n"
		 "protect_tags=yes\r\n");
	assert_string_equal(cfg.build, "make");
	assert_string_equal(cfg.test, "make test;true");
	assert_true(cfg.protect_tags);
	config_release(&cfg);
}

static void test_config__continuation(void **state)
{
	struct config cfg;
	char *s;

	(void)state;
	parse_ok(&cfg, "[verify]\n"
		 "protected = main\n"
		 "  release/*  ; legacy branches\n"
		 "\tdevelop\n"
		 "build = make \n"
		 "   && make check\n"
		 "forbid_paths =\n"
		 "    *.pem\n"
		 "    *.key\n");
	s = join(&cfg.protected_branches, " ");
	assert_string_equal(s, "main release/* develop");
	free(s);
	s = join(&cfg.forbid_paths, " ");
	assert_string_equal(s, "*.pem *.key");
	free(s);
	assert_string_equal(cfg.build, "make && make check");
	config_release(&cfg);

	/* a continued value is validated as a whole */
	parse_bad("[environment \"a\"]\n"
		  "branch = main\n"
		  "path = /srv/a\n"
		  "keep = 5\n"
		  "  6\n",
		  "hooks.ini:4: invalid 'keep': '5 6' is not a number from 1 "
		  "to 1000");
	/* continuing a rejected key adds no noise */
	parse_bad("[verify]\n"
		  "protectd = main\n"
		  "  release/*\n",
		  "hooks.ini:2: unknown key 'protectd' in [verify] (did you "
		  "mean 'protected'?)");
}

struct bad_case {
	const char *ini;
	const char *errors;
};

#define ENV_A "[environment \"a\"]\nbranch = main\npath = /srv/a\n"
#define ENV_A_LINES 3
#define GITOPS_A "[environment \"a\"]\nbranch = main\n" \
	"gitops_remote = ssh://git@example.com:2222/srv/cluster.git\n" \
	"gitops_path = apps/a\n"

static const struct bad_case bad_cases[] = {
	/* lines and sections */
	{ "[core\n", "hooks.ini:1: missing ']' in section header" },
	{ "[core] x\n", "hooks.ini:1: unexpected text after section header" },
	{ "[core]\njunk\n",
	  "hooks.ini:2: syntax error (expected 'key = value' or '[section]')" },
	{ "[core]\n= 5\n", "hooks.ini:2: missing key name before '='" },
	{ "protected = main\n",
	  "hooks.ini:1: key 'protected' is outside any section (it belongs "
	  "in [verify])" },
	{ "\nport = 22\n",
	  "hooks.ini:2: key 'port' is outside any section (it belongs in "
	  "[environment \"NAME\"])" },
	{ "foo = 1\n", "hooks.ini:1: key 'foo' is outside any section" },
	{ "[foo]\n",
	  "hooks.ini:1: unknown section '[foo]' (expected [core], [verify], "
	  "[environment \"NAME\"] or [window \"NAME\"])" },
	{ "[verfy]\n",
	  "hooks.ini:1: unknown section '[verfy]' (did you mean "
	  "'[verify]'?)" },
	{ "[ core ]\n",
	  "hooks.ini:1: unknown section '[ core ]' (did you mean '[core]'?)" },
	{ "[Core]\n",
	  "hooks.ini:1: unknown section '[Core]' (did you mean '[core]'?)" },
	{ "[enviroment \"x\"]\n",
	  "hooks.ini:1: unknown section '[enviroment \"x\"]' (did you mean "
	  "'[environment \"NAME\"]'?)" },
	{ "[environment]\n",
	  "hooks.ini:1: malformed section '[environment]' (write "
	  "[environment \"NAME\"])" },
	{ "[environment prod]\n",
	  "hooks.ini:1: malformed section '[environment prod]' (write "
	  "[environment \"NAME\"])" },
	{ "[environment \"a\"\"b\"]\n",
	  "hooks.ini:1: malformed section '[environment \"a\"\"b\"]' (write "
	  "[environment \"NAME\"])" },
	{ "[environment \"Prod\"]\n",
	  "hooks.ini:1: invalid environment name 'Prod' (use a-z, 0-9, '_' "
	  "and '-', starting with a letter or digit)" },
	{ "[environment \"-x\"]\n",
	  "hooks.ini:1: invalid environment name '-x' (use a-z, 0-9, '_' "
	  "and '-', starting with a letter or digit)" },
	{ "[environment \"a b\"]\n",
	  "hooks.ini:1: invalid environment name 'a b' (use a-z, 0-9, '_' "
	  "and '-', starting with a letter or digit)" },
	{ "[environment \"\"]\n",
	  "hooks.ini:1: invalid environment name '' (use a-z, 0-9, '_' "
	  "and '-', starting with a letter or digit)" },
	{ "[core]\n[verify]\n[core]\nlock_timeout = x\n",
	  "hooks.ini:3: duplicate section '[core]' (first at line 1)" },
	{ ENV_A "[environment \"a\"]\nbranch = other\n",
	  "hooks.ini:4: duplicate environment 'a' (first defined at line 1)" },
	/* keys */
	{ "# comment\n\n[verify]\nprotectd = main\n",
	  "hooks.ini:4: unknown key 'protectd' in [verify] (did you mean "
	  "'protected'?)" },
	{ "[verify]\nProtected = main\n",
	  "hooks.ini:2: unknown key 'Protected' in [verify] (did you mean "
	  "'protected'?)" },
	{ "[verify]\ntest_timout = 5\n",
	  "hooks.ini:2: unknown key 'test_timout' in [verify] (did you mean "
	  "'test_timeout'?)" },
	{ "[verify]\nfoo = 1\n", "hooks.ini:2: unknown key 'foo' in [verify]" },
	{ "[verify]\nbranch = main\n",
	  "hooks.ini:2: unknown key 'branch' in [verify] (it belongs in "
	  "[environment \"NAME\"])" },
	{ "[core]\ntest = make test\n",
	  "hooks.ini:2: unknown key 'test' in [core] (it belongs in "
	  "[verify])" },
	{ ENV_A "keeep = 3\n",
	  "hooks.ini:4: unknown key 'keeep' in [environment \"a\"] (did you "
	  "mean 'keep'?)" },
	{ ENV_A "healthcheck_retires = 3\n",
	  "hooks.ini:4: unknown key 'healthcheck_retires' in [environment "
	  "\"a\"] (did you mean 'healthcheck_retries'?)" },
	{ ENV_A "lock_timeout = 3\n",
	  "hooks.ini:4: unknown key 'lock_timeout' in [environment \"a\"] "
	  "(it belongs in [core])" },
	{ "[verify]\nbuild = a\nbuild = b\n",
	  "hooks.ini:3: duplicate key 'build' in [verify] (first set at line "
	  "2)" },
	{ ENV_A "keep = 3\nkeep = 3\n",
	  "hooks.ini:5: duplicate key 'keep' in [environment \"a\"] (first "
	  "set at line 4)" },
	{ ENV_A "path = /srv/b\n",
	  "hooks.ini:4: duplicate key 'path' in [environment \"a\"] (first "
	  "set at line 3)" },
	/* control characters */
	{ "[verify]\nbuild = a\001b\n",
	  "hooks.ini:2: value of 'build' contains a control character" },
	{ "[verify]\nbuild = a\rb\n",
	  "hooks.ini:2: carriage return inside a line (use LF or CRLF line "
	  "endings)" },
	{ "[verify]\rprotected = main\r",
	  "hooks.ini:1: carriage return inside a line (use LF or CRLF line "
	  "endings)" },
	{ "[verify]\nprotected = main\r\r\n",
	  "hooks.ini:2: carriage return inside a line (use LF or CRLF line "
	  "endings)" },
	{ "[verify]\nbuild = a\033[0mb\n",
	  "hooks.ini:2: value of 'build' contains a control character" },
	{ "[verify]\nbuild = a\177b\n",
	  "hooks.ini:2: value of 'build' contains a control character" },
	{ "[environment \"a\"]\nbranch = main\npath = /srv/a\tb\n",
	  "hooks.ini:3: value of 'path' contains a control character" },
	{ "[environment \"a\"]\nbranch = ma\tin\npath = /srv/a\n",
	  "hooks.ini:2: value of 'branch' contains a control character" },
	/* quotes are not INI syntax here; in a glob they would match nothing */
	{ "[verify]\nprotected = \"main\"\n",
	  "hooks.ini:2: invalid 'protected': remove the quotes (values in "
	  "hooks.ini are not quoted)" },
	{ "[environment \"a\"]\nbranch = 'main'\npath = /srv/a\n",
	  "hooks.ini:2: invalid 'branch': remove the quotes (values in "
	  "hooks.ini are not quoted)" },
	{ ENV_A "keep = \"3\"\n",
	  "hooks.ini:4: invalid 'keep': remove the quotes (values in "
	  "hooks.ini are not quoted)" },
	{ "[verify]\nsandbox = on\n",
	  "hooks.ini:2: invalid 'sandbox': 'on' is not auto, required or "
	  "off" },
	{ "[verify]\nsandbox_hide = /srv/git keys\n",
	  "hooks.ini:2: invalid 'sandbox_hide': 'keys' is not an absolute "
	  "path" },
	{ "[verify]\nsandbox_write = cache\n",
	  "hooks.ini:2: invalid 'sandbox_write': 'cache' is not an absolute "
	  "path" },
	{ "[verify]\nsandbox_hide = //\n",
	  "hooks.ini:2: invalid 'sandbox_hide': '//' would hide everything" },
	/* missing values */
	{ "[verify]\ntest_timeout =\n",
	  "hooks.ini:2: missing value for 'test_timeout'" },
	{ "[verify]\nprotect_tags =\n",
	  "hooks.ini:2: missing value for 'protect_tags'" },
	{ "[environment \"a\"]\nbranch =\npath = /srv/a\n",
	  "hooks.ini:2: missing value for 'branch'" },
	{ "[environment \"a\"]\nbranch = main\npath =\n",
	  "hooks.ini:3: missing value for 'path'" },
	{ ENV_A "hosts =\n", "hooks.ini:4: missing value for 'hosts'" },
	{ ENV_A "known_hosts =\n",
	  "hooks.ini:4: missing value for 'known_hosts'" },
	{ ENV_A "artifact =\n", "hooks.ini:4: missing value for 'artifact'" },
	{ ENV_A "mode =\n", "hooks.ini:4: missing value for 'mode'" },
	/* booleans and numbers */
	{ "[verify]\nprotect_tags = maybe\n",
	  "hooks.ini:2: invalid 'protect_tags': 'maybe' is not a boolean "
	  "(use true or false)" },
	{ ENV_A "maintenance = 2\n",
	  "hooks.ini:4: invalid 'maintenance': '2' is not a boolean (use "
	  "true or false)" },
	{ ENV_A "compress = zlib\n",
	  "hooks.ini:4: invalid 'compress': 'zlib' is not a boolean (use "
	  "true or false)" },
	{ ENV_A "compress =\n", "hooks.ini:4: missing value for 'compress'" },
	{ ENV_A "parallel = 0\n",
	  "hooks.ini:4: invalid 'parallel': '0' is not a number from 1 to 64" },
	{ ENV_A "batch = 65\n",
	  "hooks.ini:4: invalid 'batch': '65' is not a number from 0 to 64" },
	{ ENV_A "canary = first\n",
	  "hooks.ini:4: invalid 'canary': 'first' is not a boolean (use "
	  "true or false)" },
	{ ENV_A "hosts = a@web1 a@web2\nprimary = web1\n",
	  "hooks.ini:5: invalid 'primary': 'web1' is not one of 'hosts'" },
	{ ENV_A "primary = web1\n",
	  "hooks.ini:4: invalid 'primary': 'web1' is not one of 'hosts'" },
	/* GitOps environments (SPEC §12) */
	{ ENV_A "gitops_path = apps/web\n",
	  "hooks.ini:4: 'gitops_path' needs 'gitops_remote'" },
	{ ENV_A "gitops_branch = deploy\n",
	  "hooks.ini:4: 'gitops_branch' needs 'gitops_remote'" },
	{ GITOPS_A "hosts = web1\n",
	  "hooks.ini:5: 'hosts' does not apply to a GitOps environment (it "
	  "has gitops_remote)" },
	{ GITOPS_A "path = /srv/a\n",
	  "hooks.ini:5: 'path' does not apply to a GitOps environment (it "
	  "has gitops_remote)" },
	{ GITOPS_A "batch = 2\n",
	  "hooks.ini:5: 'batch' does not apply to a GitOps environment (it "
	  "has gitops_remote)" },
	{ GITOPS_A "healthcheck = true\n",
	  "hooks.ini:5: 'healthcheck' does not apply to a GitOps environment "
	  "(it has gitops_remote)" },
	{ "[environment \"a\"]\nbranch = main\n"
	  "gitops_remote = git@example.com:cluster.git\n",
	  "hooks.ini:3: environment 'a' has gitops_remote but no "
	  "'gitops_path'" },
	{ "[environment \"a\"]\nbranch = main\n"
	  "gitops_remote = https://example.com/cluster.git\n"
	  "gitops_path = apps/a\n",
	  "hooks.ini:3: invalid 'gitops_remote': 'https://example.com/"
	  "cluster.git': only ssh:// remotes, or USER@HOST:PATH" },
	{ "[environment \"a\"]\nbranch = main\n"
	  "gitops_remote = ssh://git@-oProxyCommand=x/repo.git\n"
	  "gitops_path = apps/a\n",
	  "hooks.ini:3: invalid 'gitops_remote': 'ssh://git@-oProxyCommand=x/"
	  "repo.git': host name starts with '-'" },
	{ "[environment \"a\"]\nbranch = main\n"
	  "gitops_remote = git@example.com:cluster.git\n"
	  "gitops_path = .\n",
	  "hooks.ini:4: invalid 'gitops_path': '.' does not name a file or "
	  "directory" },
	{ "[core]\nlock_timeout = 86401\n",
	  "hooks.ini:2: invalid 'lock_timeout': '86401' is not a number from "
	  "0 to 86400" },
	{ "[core]\nlock_timeout = -1\n",
	  "hooks.ini:2: invalid 'lock_timeout': '-1' is not a number from 0 "
	  "to 86400" },
	{ "[core]\nlock_timeout = 1e3\n",
	  "hooks.ini:2: invalid 'lock_timeout': '1e3' is not a number from 0 "
	  "to 86400" },
	{ "[core]\nlock_timeout = 99999999999999999999999\n",
	  "hooks.ini:2: invalid 'lock_timeout': '99999999999999999999999' is "
	  "not a number from 0 to 86400" },
	{ "[verify]\ntest_timeout = 0\n",
	  "hooks.ini:2: invalid 'test_timeout': '0' is not a number from 1 "
	  "to 86400" },
	{ "[verify]\ntest_timeout = 86401\n",
	  "hooks.ini:2: invalid 'test_timeout': '86401' is not a number from "
	  "1 to 86400" },
	{ "[verify]\npush_timeout = 0\n",
	  "hooks.ini:2: invalid 'push_timeout': '0' is not a number from 1 "
	  "to 86400" },
	{ "[verify]\npush_timeout = 86401\n",
	  "hooks.ini:2: invalid 'push_timeout': '86401' is not a number from "
	  "1 to 86400" },
	{ "[verify]\nmax_entries = 0\n",
	  "hooks.ini:2: invalid 'max_entries': '0' is not a number from 1 "
	  "to 2000000" },
	{ "[verify]\nmax_entries = 2000001\n",
	  "hooks.ini:2: invalid 'max_entries': '2000001' is not a number "
	  "from 1 to 2000000" },
	{ "[verify]\nmax_entries = 1M\n",
	  "hooks.ini:2: invalid 'max_entries': '1M' is not a number from 1 "
	  "to 2000000" },
	{ ENV_A "port = 0\n",
	  "hooks.ini:4: invalid 'port': '0' is not a number from 1 to "
	  "65535" },
	{ ENV_A "port = 65536\n",
	  "hooks.ini:4: invalid 'port': '65536' is not a number from 1 to "
	  "65535" },
	{ ENV_A "keep = 0\n",
	  "hooks.ini:4: invalid 'keep': '0' is not a number from 1 to 1000" },
	{ ENV_A "keep = 1001\n",
	  "hooks.ini:4: invalid 'keep': '1001' is not a number from 1 to "
	  "1000" },
	{ ENV_A "healthcheck_retries = 0\n",
	  "hooks.ini:4: invalid 'healthcheck_retries': '0' is not a number "
	  "from 1 to 100" },
	{ ENV_A "healthcheck_retries = 101\n",
	  "hooks.ini:4: invalid 'healthcheck_retries': '101' is not a number "
	  "from 1 to 100" },
	{ ENV_A "connect_timeout = 0\n",
	  "hooks.ini:4: invalid 'connect_timeout': '0' is not a number from "
	  "1 to 3600" },
	{ ENV_A "connect_timeout = 3601\n",
	  "hooks.ini:4: invalid 'connect_timeout': '3601' is not a number "
	  "from 1 to 3600" },
	{ ENV_A "command_timeout = 0\n",
	  "hooks.ini:4: invalid 'command_timeout': '0' is not a number from "
	  "1 to 86400" },
	{ ENV_A "command_timeout = 86401\n",
	  "hooks.ini:4: invalid 'command_timeout': '86401' is not a number "
	  "from 1 to 86400" },
	/* sizes */
	{ "[verify]\nmax_file_size = 12X\n",
	  "hooks.ini:2: invalid 'max_file_size': '12X' is not a size (use "
	  "digits with an optional K, M or G suffix)" },
	{ "[verify]\nmax_file_size = K\n",
	  "hooks.ini:2: invalid 'max_file_size': 'K' is not a size (use "
	  "digits with an optional K, M or G suffix)" },
	{ "[verify]\nmax_file_size = 5 M\n",
	  "hooks.ini:2: invalid 'max_file_size': '5 M' is not a size (use "
	  "digits with an optional K, M or G suffix)" },
	{ "[verify]\nmax_file_size = 5MB\n",
	  "hooks.ini:2: invalid 'max_file_size': '5MB' is not a size (use "
	  "digits with an optional K, M or G suffix)" },
	{ "[verify]\nmax_file_size = 99999999999G\n",
	  "hooks.ini:2: invalid 'max_file_size': '99999999999G' is too "
	  "large" },
	{ "[verify]\nmax_file_size = 0\n",
	  "hooks.ini:2: invalid 'max_file_size': '0' is zero (leave it empty "
	  "for no limit)" },
	{ "[verify]\nmax_file_size = 0K\n",
	  "hooks.ini:2: invalid 'max_file_size': '0K' is zero (leave it "
	  "empty for no limit)" },
	/* regex and globs */
	{ "[verify]\ncommit_message = ^(feat\n",
	  "hooks.ini:2: invalid 'commit_message': Unmatched ( or \\(" },
	{ "[verify]\ncommit_message = a{1\n",
	  "hooks.ini:2: invalid 'commit_message': Unmatched \\{" },
	{ "[verify]\nprotected = main rel[ease\n",
	  "hooks.ini:2: invalid 'protected': unbalanced '[' in 'rel[ease'" },
	{ "[verify]\nforbid_paths = a] [[:alpha:]\n",
	  "hooks.ini:2: invalid 'forbid_paths': unbalanced ']' in 'a]'\n"
	  "hooks.ini:2: invalid 'forbid_paths': unbalanced '[' in "
	  "'[[:alpha:]'" },
	{ "[verify]\ntest_branches = x\\\n",
	  "hooks.ini:2: invalid 'test_branches': trailing '\\' in 'x\\'" },
	{ "[core]\nuser_vars = USER GL-USER 1X\n",
	  "hooks.ini:2: invalid 'user_vars': 'GL-USER' is not an "
	  "environment variable name\n"
	  "hooks.ini:2: invalid 'user_vars': '1X' is not an environment "
	  "variable name" },
	/* names and paths */
	{ ENV_A "mode = Auto\n",
	  "hooks.ini:4: invalid 'mode': 'Auto' is not auto or manual" },
	{ ENV_A "incremental = rsync\n",
	  "hooks.ini:4: invalid 'incremental': 'rsync' is not link, copy or"
	  " off" },
	{ "[core]\nartifacts_keep = 0\n",
	  "hooks.ini:2: invalid 'artifacts_keep': '0' is not a number from 1"
	  " to 1000" },
	{ "[environment \"a\"]\nbranch = main\npath = srv/app\n",
	  "hooks.ini:3: invalid 'path': 'srv/app' is not an absolute path" },
	{ "[environment \"a\"]\nbranch = main\npath = -oFoo\n",
	  "hooks.ini:3: invalid 'path': '-oFoo' is not an absolute path" },
	{ "[environment \"a\"]\nbranch = main\npath = /srv/../etc\n",
	  "hooks.ini:3: invalid 'path': '/srv/../etc' has a '..' "
	  "component" },
	{ "[environment \"a\"]\nbranch = main\npath = /srv/..\n",
	  "hooks.ini:3: invalid 'path': '/srv/..' has a '..' component" },
	{ ENV_A "identity = id_rsa\n",
	  "hooks.ini:4: invalid 'identity': not an absolute path or ~/path" },
	{ ENV_A "identity = ~alice/.ssh/id\n",
	  "hooks.ini:4: invalid 'identity': not an absolute path or ~/path" },
	{ ENV_A "known_hosts = .ssh/kh\n",
	  "hooks.ini:4: invalid 'known_hosts': not an absolute path or "
	  "~/path" },
	{ ENV_A "artifact = /dist\n",
	  "hooks.ini:4: invalid 'artifact': '/dist' is not a relative path" },
	{ ENV_A "artifact = ../dist\n",
	  "hooks.ini:4: invalid 'artifact': '../dist' has a '..' component" },
	{ ENV_A "config = a/../../x\n",
	  "hooks.ini:4: invalid 'config': 'a/../../x' has a '..' component" },
	{ ENV_A "shared = uploads/ /etc/passwd ../x . ./\n",
	  "hooks.ini:4: invalid 'shared': '/etc/passwd' is not a relative "
	  "path\n"
	  "hooks.ini:4: invalid 'shared': '../x' has a '..' component\n"
	  "hooks.ini:4: invalid 'shared': '.' does not name a file or "
	  "directory\n"
	  "hooks.ini:4: invalid 'shared': './' does not name a file or "
	  "directory" },
	/* links counted by components must not climb out of the path */
	{ ENV_A "shared = ./uploads/ logs//app/ a/./b uploads//\n",
	  "hooks.ini:4: invalid 'shared': './uploads/' has an empty or '.' "
	  "component (write it as a plain relative path)\n"
	  "hooks.ini:4: invalid 'shared': 'logs//app/' has an empty or '.' "
	  "component (write it as a plain relative path)\n"
	  "hooks.ini:4: invalid 'shared': 'a/./b' has an empty or '.' "
	  "component (write it as a plain relative path)\n"
	  "hooks.ini:4: invalid 'shared': 'uploads//' has an empty or '.' "
	  "component (write it as a plain relative path)" },
	{ ENV_A "approvers = alice -bob\n",
	  "hooks.ini:4: invalid 'approvers': '-bob' is not a user name" },
	{ ENV_A "requires = Prod\n",
	  "hooks.ini:4: invalid 'requires': 'Prod' is not an environment "
	  "name" },
	/* whole-config checks */
	{ "[environment \"prod\"]\npath = /srv/p\n",
	  "hooks.ini:1: environment 'prod' has no 'branch'" },
	{ "[core]\n[environment \"prod\"]\nbranch = main\n",
	  "hooks.ini:2: environment 'prod' has no 'path'" },
	{ "[environment \"prod\"]\n",
	  "hooks.ini:1: environment 'prod' has no 'branch'\n"
	  "hooks.ini:1: environment 'prod' has no 'path'" },
	{ ENV_A "[environment \"b\"]\nbranch = main\npath = /srv/b\n",
	  "hooks.ini:5: environments 'a' and 'b' both deploy branch 'main'" },
	{ ENV_A "[environment \"b\"]\nbranch = dev\npath = /srv/a\n",
	  "hooks.ini:6: environments 'a' and 'b' both deploy to '/srv/a' on 'local'" },
	{ ENV_A "hosts = u@h:2222\n[environment \"b\"]\nbranch = dev\n"
	  "path = /srv/a\nhosts = local v@h:2222\n",
	  "hooks.ini:7: environments 'a' and 'b' both deploy to '/srv/a' on 'v@h:2222'" },
	{ ENV_A "requires = a\n",
	  "hooks.ini:4: environment 'a' requires itself" },
	{ ENV_A "requires = stagin\n"
	  "[environment \"staging\"]\nbranch = dev\npath = /srv/s\n",
	  "hooks.ini:4: environment 'a' requires unknown environment "
	  "'stagin' (did you mean 'staging'?)" },
	{ ENV_A "requires = qa\n",
	  "hooks.ini:4: environment 'a' requires unknown environment 'qa'" },
	{ ENV_A "requires = b\n"
	  "[environment \"b\"]\nbranch = b\npath = /srv/b\nrequires = a\n",
	  "hooks.ini:4: 'requires' makes a cycle: a -> b -> a" },
	{ "[environment \"a\"]\nbranch = a\npath = /a\nrequires = b\n"
	  "[environment \"b\"]\nbranch = b\npath = /b\nrequires = c\n"
	  "[environment \"c\"]\nbranch = c\npath = /c\nrequires = a\n"
	  "[environment \"d\"]\nbranch = d\npath = /d\nrequires = a c\n",
	  "hooks.ini:4: 'requires' makes a cycle: a -> b -> c -> a" },
	{ ENV_A "hosts = web1 deploy@web1:22 WEB1:23\n",
	  "hooks.ini:4: invalid 'hosts': 'web1' and 'deploy@web1:22' are the "
	  "same host" },
	{ ENV_A "port = 23\nhosts = web1:23 web1\n",
	  "hooks.ini:5: invalid 'hosts': 'web1:23' and 'web1' are the same "
	  "host" },
	{ ENV_A "hosts = local local\n",
	  "hooks.ini:4: invalid 'hosts': 'local' and 'local' are the same "
	  "host" },
	/* several problems: all reported, sorted by line */
	{ "[environment \"prod\"]\n"
	  "keep = 0\n"
	  "[verify]\n"
	  "protect_tags = maybe\n"
	  "bogus = 1\n",
	  "hooks.ini:1: environment 'prod' has no 'branch'\n"
	  "hooks.ini:1: environment 'prod' has no 'path'\n"
	  "hooks.ini:2: invalid 'keep': '0' is not a number from 1 to 1000\n"
	  "hooks.ini:4: invalid 'protect_tags': 'maybe' is not a boolean "
	  "(use true or false)\n"
	  "hooks.ini:5: unknown key 'bogus' in [verify]" },
	/* keys of a rejected section are skipped, not reported */
	{ "[foo]\nbar = 1\n[environment \"X\"]\nbranch = main\n",
	  "hooks.ini:1: unknown section '[foo]' (expected [core], [verify], "
	  "[environment \"NAME\"] or [window \"NAME\"])\n"
	  "hooks.ini:3: invalid environment name 'X' (use a-z, 0-9, '_' and "
	  "'-', starting with a letter or digit)" },
};

static void test_config__errors(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(bad_cases); i++)
		parse_bad(bad_cases[i].ini, bad_cases[i].errors);
}

struct branch_case {
	const char *branch;
	bool ok;
};

static void test_config__branch_names(void **state)
{
	static const struct branch_case cases[] = {
		{ "main", true }, { "release/2.x", true },
		{ "feature/a-b_c", true }, { "v1.0", true },
		{ "caf\xc3\xa9", true }, { "a.locks", true },
		{ "-x", false }, { "/x", false }, { "x/", false },
		{ "a b", false }, { "feat..x", false }, { "x.lock", false },
		{ "a/x.lock/b", false }, { "a~1", false }, { "a^", false },
		{ "a:b", false }, { "a?", false }, { "a*", false },
		{ "a[b", false }, { "a\\b", false }, { ".hidden", false },
		{ "a/.b", false }, { "@", false }, { "a@{1}", false },
		{ "x.", false }, { "a//b", false }, { "refs/tags/v1", false },
		{ "refs/heads", false },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct buf ini = BUF_INIT, want = BUF_INIT;
		struct config cfg;

		assert_ok(buf_addf(&ini, "[environment \"a\"]\nbranch = %s\n"
				   "path = /srv/a\n", cases[i].branch));
		if (cases[i].ok) {
			parse_ok(&cfg, ini.ptr);
			assert_string_equal(cfg.envs[0].branch,
					    cases[i].branch);
			config_release(&cfg);
		} else {
			assert_ok(buf_addf(&want, "hooks.ini:2: invalid "
					   "'branch': '%s' is not a valid "
					   "branch name", cases[i].branch));
			parse_bad(ini.ptr, want.ptr);
		}
		buf_release(&ini);
		buf_release(&want);
	}
	parse_bad("[environment \"a\"]\nbranch = refs/heads/main\n"
		  "path = /srv/a\n",
		  "hooks.ini:2: invalid 'branch': write the short name 'main', "
		  "not 'refs/heads/main'");
}

struct host_case {
	const char *hosts;
	const char *error;	/* the reason, or NULL if valid */
};

static void test_config__hostile_hosts(void **state)
{
	static const struct host_case cases[] = {
		{ "-oProxyCommand=x", "host name starts with '-'" },
		{ "user@-oProxyCommand=x", "host name starts with '-'" },
		{ "user@", "empty host name" },
		{ "@host", "empty user name" },
		{ "-u@host", "user name starts with '-'" },
		{ "u$@host", "user name may only have letters, digits, '.', "
			     "'_' and '-'" },
		{ "u!x@host", "user name may only have letters, digits, '.', "
			      "'_' and '-'" },
		{ "user@host:0", "port '0' is not a number from 1 to 65535" },
		{ "user@host:99999",
		  "port '99999' is not a number from 1 to 65535" },
		{ "user@host:", "port '' is not a number from 1 to 65535" },
		{ "user@host:22x",
		  "port '22x' is not a number from 1 to 65535" },
		{ "user@host:-1", "port '-1' is not a number from 1 to 65535" },
		{ "user@ho_st", "host name may only have letters, digits, '.' "
				"and '-'" },
		{ "a@b@c", "host name may only have letters, digits, '.' and "
			   "'-'" },
		{ "host;id", "host name may only have letters, digits, '.' and "
			     "'-'" },
		{ "$(id)", "host name may only have letters, digits, '.' and "
			   "'-'" },
		{ "user@[::1", "missing ']' after IPv6 address" },
		{ "user@[]", "empty host name" },
		{ "user@[xyz]", "invalid IPv6 address" },
		{ "user@[1.2.3.4]", "invalid IPv6 address" },
		{ "user@[::1]x", "unexpected text after ']'" },
		{ "user@[::1]:0", "port '0' is not a number from 1 to 65535" },
		{ "::1", "IPv6 addresses need brackets, e.g. user@[::1]:22" },
		{ "user@fe80::1:22",
		  "IPv6 addresses need brackets, e.g. user@[::1]:22" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct buf ini = BUF_INIT, want = BUF_INIT;

		assert_ok(buf_addf(&ini, ENV_A "hosts = %s\n",
				   cases[i].hosts));
		assert_ok(buf_addf(&want, "hooks.ini:4: invalid 'hosts' entry "
				   "'%s': %s", cases[i].hosts,
				   cases[i].error));
		parse_bad(ini.ptr, want.ptr);
		buf_release(&ini);
		buf_release(&want);
	}
}

static void test_config__hosts(void **state)
{
	struct buf ini = BUF_INIT, want = BUF_INIT;
	struct config cfg;
	char *s;
	int i;

	(void)state;
	/* `port` applies to entries without one, even when set after */
	parse_ok(&cfg, ENV_A "hosts = web1 deploy@web2:2 user@[::1]\n"
		 "port = 2222\n");
	s = render(&cfg, "hosts");
	assert_string_equal(s, "web1|0|(null)|web1|2222 "
			    "deploy@web2:2|0|deploy|web2|2 "
			    "user@[::1]|0|user|::1|2222");
	free(s);
	config_release(&cfg);

	/* CONFIG_MAX_HOSTS hosts, then one more */
	assert_ok(buf_addstr(&ini, ENV_A "hosts ="));
	for (i = 0; i < CONFIG_MAX_HOSTS; i++)
		assert_ok(buf_addf(&ini, " h%d", i));
	parse_ok(&cfg, ini.ptr);
	assert_int_equal(cfg.envs[0].nr_hosts, CONFIG_MAX_HOSTS);
	config_release(&cfg);
	assert_ok(buf_addstr(&ini, " one-more\n"));
	assert_ok(buf_addf(&want, "hooks.ini:4: invalid 'hosts': too many "
			   "hosts (at most %d)", CONFIG_MAX_HOSTS));
	parse_bad(ini.ptr, want.ptr);
	buf_reset(&ini);
	buf_reset(&want);

	/* host name length */
	assert_ok(buf_addstr(&ini, ENV_A "hosts = u@"));
	for (i = 0; i < 253; i++)
		assert_ok(buf_addch(&ini, 'a'));
	parse_ok(&cfg, ini.ptr);
	config_release(&cfg);
	assert_ok(buf_addstr(&ini, "a\n"));
	parse_bad(ini.ptr, "hooks.ini:4: invalid 'hosts' entry "
		  "'u@aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		  "aaaaaa...': host name is too long");
	buf_release(&ini);
	buf_release(&want);
}

struct size_case {
	const char *s;
	int r;
	uint64_t v;
};

static void test_config__sizes(void **state)
{
	static const struct size_case cases[] = {
		{ "0", 0, 0 },
		{ "1", 0, 1 },
		{ "1024", 0, 1024 },
		{ "1k", 0, 1024 },
		{ "1K", 0, 1024 },
		{ "5m", 0, 5ULL << 20 },
		{ "5M", 0, 5ULL << 20 },
		{ "2g", 0, 2ULL << 30 },
		{ "2G", 0, 2ULL << 30 },
		{ "007K", 0, 7 << 10 },
		{ "0000000000000000000000000001", 0, 1 },
		{ "18446744073709551615", 0, UINT64_MAX },
		{ "17179869183G", 0, 17179869183ULL << 30 },
		{ "", ERR_INVALID, 0 },
		{ "12X", ERR_INVALID, 0 },
		{ "K", ERR_INVALID, 0 },
		{ "1KK", ERR_INVALID, 0 },
		{ "1T", ERR_INVALID, 0 },
		{ "-1", ERR_INVALID, 0 },
		{ "+1", ERR_INVALID, 0 },
		{ " 1", ERR_INVALID, 0 },
		{ "1 ", ERR_INVALID, 0 },
		{ "1.5M", ERR_INVALID, 0 },
		{ "0x10", ERR_INVALID, 0 },
		{ "99999999999G", ERR_INVALID, 0 },
		{ "17179869184G", ERR_INVALID, 0 },
		{ "18446744073709551616", ERR_INVALID, 0 },
		{ "99999999999999999999999999", ERR_INVALID, 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		uint64_t v = 42;
		int r = config_parse_size(cases[i].s, &v);

		if (r != cases[i].r || v != cases[i].v)
			print_error("size '%s': %d %llu\n", cases[i].s, r,
				    (unsigned long long)v);
		assert_int_equal(r, cases[i].r);
		assert_int_equal(v, cases[i].v);
	}
	assert_int_equal(config_parse_size("", &(uint64_t){ 0 }), ERR_INVALID);
	assert_string_equal(error_last(), "empty size");
	config_parse_size("12X", &(uint64_t){ 0 });
	assert_string_equal(error_last(), "'12X' is not a size (use digits "
			    "with an optional K, M or G suffix)");
	config_parse_size("99999999999G", &(uint64_t){ 0 });
	assert_string_equal(error_last(), "'99999999999G' is too large");
}

static void test_config__globs_match(void **state)
{
	struct strvec globs = STRVEC_INIT;

	(void)state;
	assert_false(config_globs_match(&globs, "main"));
	strvec_split(&globs, "main release/* *.pem");
	assert_true(config_globs_match(&globs, "main"));
	assert_true(config_globs_match(&globs, "release/1.0"));
	/* flags 0: '*' matches '/' too */
	assert_true(config_globs_match(&globs, "release/1/2"));
	assert_true(config_globs_match(&globs, "a/b/key.pem"));
	assert_false(config_globs_match(&globs, "mainline"));
	assert_false(config_globs_match(&globs, "develop"));
	strvec_clear(&globs);
}

static void test_config__limits(void **state)
{
	struct buf ini = BUF_INIT, want = BUF_INIT;
	struct config cfg;
	int i;

	(void)state;
	/* a value of CONFIG_MAX_VALUE bytes, then one more */
	assert_ok(buf_addstr(&ini, "[verify]\nbuild = "));
	for (i = 0; i < CONFIG_MAX_VALUE; i++)
		assert_ok(buf_addch(&ini, 'x'));
	parse_ok(&cfg, ini.ptr);
	assert_int_equal(strlen(cfg.build), CONFIG_MAX_VALUE);
	config_release(&cfg);
	assert_ok(buf_addstr(&ini, "x\n"));
	assert_ok(buf_addf(&want, "hooks.ini:2: value of 'build' is too long "
			   "(more than %d bytes)", CONFIG_MAX_VALUE));
	parse_bad(ini.ptr, want.ptr);

	/* the same through continuation lines */
	buf_reset(&ini);
	assert_ok(buf_addstr(&ini, "[verify]\nbuild = true\n"));
	for (i = 0; i < CONFIG_MAX_VALUE / 61 + 1; i++)
		assert_ok(buf_addf(&ini, "  && %58d\n", i));
	parse_bad(ini.ptr, want.ptr);

	/*
	 * A line far longer than any value: one error, and its tail is
	 * never read as a line of its own (inih would split it).
	 */
	buf_reset(&ini);
	assert_ok(buf_addstr(&ini, "[verify]\nbuild = "));
	for (i = 0; i < 3 * CONFIG_MAX_VALUE; i++)
		assert_ok(buf_addch(&ini, 'x'));
	assert_ok(buf_addstr(&ini, "\ntest = x\n"));
	buf_reset(&want);
	assert_ok(buf_addf(&want, "hooks.ini:2: line is too long (more than "
			   "%d bytes)", CONFIG_MAX_VALUE + 256));
	parse_bad(ini.ptr, want.ptr);
	/* CONFIG_MAX_LIST list entries, then one more */
	buf_reset(&ini);
	assert_ok(buf_addstr(&ini, "[verify]\nprotected ="));
	for (i = 0; i < CONFIG_MAX_LIST; i++)
		assert_ok(buf_addf(&ini, " b%d", i));
	parse_ok(&cfg, ini.ptr);
	assert_int_equal(cfg.protected_branches.nr, CONFIG_MAX_LIST);
	config_release(&cfg);
	assert_ok(buf_addstr(&ini, " b\n"));
	buf_reset(&want);
	assert_ok(buf_addf(&want, "hooks.ini:2: invalid 'protected': too "
			   "many entries (at most %d)", CONFIG_MAX_LIST));
	parse_bad(ini.ptr, want.ptr);

	/* CONFIG_MAX_ENVS environments, then one more */
	buf_reset(&ini);
	for (i = 0; i < CONFIG_MAX_ENVS; i++)
		assert_ok(buf_addf(&ini, "[environment \"e%d\"]\nbranch = b%d\n"
				   "path = /srv/%d\n", i, i, i));
	parse_ok(&cfg, ini.ptr);
	assert_int_equal(cfg.nr_envs, CONFIG_MAX_ENVS);
	config_release(&cfg);
	assert_ok(buf_addstr(&ini, "[environment \"x\"]\nbranch = x\n"
			     "[environment \"y\"]\n"));
	buf_reset(&want);
	assert_ok(buf_addf(&want, "hooks.ini:%d: too many environments (at "
			   "most %d)", 3 * CONFIG_MAX_ENVS + 1,
			   CONFIG_MAX_ENVS));
	parse_bad(ini.ptr, want.ptr);

	/* environment names of 64 characters, then 65 */
	buf_reset(&ini);
	assert_ok(buf_addf(&ini, "[environment \"%s\"]\nbranch = a\n"
			   "path = /a\n", "0123456789012345678901234567890123"
			   "456789012345678901234567890123"));
	parse_ok(&cfg, ini.ptr);
	assert_int_equal(strlen(cfg.envs[0].name), 64);
	config_release(&cfg);
	parse_bad("[environment \"0123456789012345678901234567890123456789"
		  "0123456789012345678901234\"]\n",
		  "hooks.ini:1: environment name '0123456789012345678901234567"
		  "890123456789012345678901234567890123...' is too long (at "
		  "most 64 characters)");

	buf_release(&ini);
	buf_release(&want);
}

static void test_config__too_many_errors(void **state)
{
	struct buf ini = BUF_INIT;
	struct strvec errors = STRVEC_INIT;
	struct config cfg;
	int i;

	(void)state;
	assert_ok(buf_addstr(&ini, "[verify]\n"));
	for (i = 0; i < CONFIG_MAX_ERRORS + 50; i++)
		assert_ok(buf_addf(&ini, "x%d = 1\n", i));
	assert_int_equal(config_parse_string(&cfg, ini.ptr, &errors),
			 ERR_INVALID);
	assert_int_equal(errors.nr, CONFIG_MAX_ERRORS + 1);
	assert_string_equal(errors.v[0],
			    "hooks.ini:2: unknown key 'x0' in [verify]");
	assert_string_equal(errors.v[CONFIG_MAX_ERRORS - 1],
			    "hooks.ini:101: unknown key 'x99' in [verify]");
	assert_string_equal(errors.v[CONFIG_MAX_ERRORS],
			    "hooks.ini: too many errors");
	strvec_clear(&errors);
	config_release(&cfg);
	buf_release(&ini);
}

static void test_config__known_hosts_default(void **state)
{
	const char *saved = getenv("HOME");
	char *home = saved ? strdup(saved) : NULL;
	struct passwd *pw = getpwuid(getuid());
	struct buf want = BUF_INIT;
	struct config cfg;

	(void)state;
	setenv("HOME", "/srv/home/", 1);
	parse_ok(&cfg, ENV_A);
	assert_string_equal(cfg.envs[0].known_hosts,
			    "/srv/home/.ssh/known_hosts");
	config_release(&cfg);

	/* no HOME: the password database */
	unsetenv("HOME");
	if (pw && pw->pw_dir && pw->pw_dir[0] == '/') {
		assert_ok(buf_addf(&want, "%s/.ssh/known_hosts",
				   strcmp(pw->pw_dir, "/") ? pw->pw_dir : ""));
		parse_ok(&cfg, ENV_A "identity = ~/.ssh/id\n");
		assert_string_equal(cfg.envs[0].known_hosts, want.ptr);
		config_release(&cfg);
	}
	setenv("HOME", home ? home : TEST_HOME, 1);
	free(home);
	buf_release(&want);
}

/* A private temporary directory for file tests. */
static char tmpdir[64];

static int setup_tmpdir(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_config.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_tmpdir(void **state)
{
	(void)state;
	/* best effort: the tests remove what they create */
	return rmdir(tmpdir) < 0 && errno != ENOENT ? -1 : 0;
}

static char *tmp_path(const char *name)
{
	struct buf b = BUF_INIT;

	assert_ok(buf_addf(&b, "%s/%s", tmpdir, name));
	return buf_detach(&b, NULL);
}

static void write_file(const char *path, const void *data, size_t len,
		       mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(close(fd), 0);
}

/* Load `path`, which must be refused with exactly the one `expected`. */
static void load_bad(const char *path, int code, const char *expected)
{
	struct strvec errors = STRVEC_INIT;
	struct config cfg;

	assert_int_equal(config_load(&cfg, path, &errors), code);
	assert_int_equal(errors.nr, 1);
	assert_string_equal(errors.v[0], expected);
	assert_string_equal(error_last(), expected);
	assert_false(cfg.present);
	assert_int_equal(cfg.nr_envs, 0);
	strvec_clear(&errors);
	config_release(&cfg);
}

static void test_config__load_missing(void **state)
{
	struct strvec errors = STRVEC_INIT;
	struct config cfg;
	char *path = tmp_path("hooks.ini");

	(void)state;
	assert_ok(config_load(&cfg, path, &errors));
	assert_false(cfg.present);
	assert_int_equal(errors.nr, 0);
	assert_int_equal(cfg.nr_envs, 0);
	assert_int_equal(cfg.lock_timeout, 600);
	config_release(&cfg);
	free(path);
}

static void test_config__load_ok(void **state)
{
	static const char ini[] = ENV_A "keep = 7\n";
	struct strvec errors = STRVEC_INIT;
	struct config cfg;
	char *path = tmp_path("hooks.ini");

	(void)state;
	write_file(path, ini, sizeof(ini) - 1, 0644);
	assert_ok(config_load(&cfg, path, &errors));
	assert_true(cfg.present);
	assert_int_equal(cfg.nr_envs, 1);
	assert_int_equal(cfg.envs[0].keep, 7);
	config_release(&cfg);

	/* problems in the file are reported like parse errors */
	write_file(path, ENV_A "keep = x\n", sizeof(ENV_A) + 8, 0600);
	assert_int_equal(config_load(&cfg, path, &errors), ERR_INVALID);
	assert_int_equal(errors.nr, 1);
	assert_string_equal(errors.v[0], "hooks.ini:4: invalid 'keep': 'x' "
			    "is not a number from 1 to 1000");
	strvec_clear(&errors);
	config_release(&cfg);

	/* a NUL byte cannot hide the rest of a line */
	write_file(path, "[core]\nlock_timeout = 5\0junk\n", 29, 0600);
	load_bad(path, ERR_INVALID, "hooks.ini:2: line contains a NUL byte");
	assert_int_equal(unlink(path), 0);
	free(path);
}

static void test_config__load_unsafe(void **state)
{
	static const char ini[] = "[core]\n";
	struct buf want = BUF_INIT;
	char *path = tmp_path("hooks.ini");
	char *link = tmp_path("link.ini");
	int fd;

	(void)state;
	write_file(path, ini, sizeof(ini) - 1, 0664);
	assert_ok(buf_addf(&want, "hooks.ini:0: '%s' is writable by group or "
			   "others (run: chmod go-w %s)", path, path));
	load_bad(path, ERR_INVALID, want.ptr);
	assert_int_equal(chmod(path, 0602), 0);
	load_bad(path, ERR_INVALID, want.ptr);

	/* a symlink, even to a safe file, is refused */
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(symlink(path, link), 0);
	buf_reset(&want);
	assert_ok(buf_addf(&want, "hooks.ini:0: '%s' is a symbolic link "
			   "(make it a regular file)", link));
	load_bad(link, ERR_INVALID, want.ptr);
	assert_int_equal(unlink(link), 0);

	/* owned by someone else (only testable as root) */
	if (!getuid()) {
		assert_int_equal(chown(path, 12345, 12345), 0);
		buf_reset(&want);
		assert_ok(buf_addf(&want, "hooks.ini:0: '%s' is owned by uid "
				   "12345, not by this user (uid 0) or root",
				   path));
		load_bad(path, ERR_INVALID, want.ptr);
		assert_int_equal(chown(path, 0, 0), 0);
	}

	/* too large */
	fd = open(path, O_WRONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, CONFIG_MAX_FILE + 1), 0);
	assert_int_equal(close(fd), 0);
	buf_reset(&want);
	assert_ok(buf_addf(&want, "hooks.ini:0: '%s' is too large (more than "
			   "%d bytes)", path, CONFIG_MAX_FILE));
	load_bad(path, ERR_INVALID, want.ptr);
	assert_int_equal(unlink(path), 0);

	/* not a regular file */
	assert_int_equal(mkdir(path, 0700), 0);
	buf_reset(&want);
	assert_ok(buf_addf(&want, "hooks.ini:0: '%s' is not a regular file",
			   path));
	load_bad(path, ERR_INVALID, want.ptr);
	assert_int_equal(rmdir(path), 0);

	/* a FIFO must not block the hook */
	assert_int_equal(mkfifo(path, 0600), 0);
	load_bad(path, ERR_INVALID, want.ptr);
	assert_int_equal(unlink(path), 0);

	buf_release(&want);
	free(path);
	free(link);
}

static void test_config__load_example(void **state)
{
	struct buf text;
	struct strvec errors = STRVEC_INIT;
	struct config cfg;
	const struct config_env *staging, *prod;
	char chunk[4096];
	char *path = tmp_path("hooks.ini");
	ssize_t n;
	size_t i;
	int fd;

	(void)state;
	buf_init(&text, CONFIG_MAX_FILE);
	fd = open("hooks.ini.example", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fail_msg("cannot open hooks.ini.example (run from the "
			 "repository root)");
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		assert_ok(buf_add(&text, chunk, (size_t)n));
	assert_int_equal(n, 0);
	close(fd);
	write_file(path, text.ptr, text.len, 0600);

	if (config_load(&cfg, path, &errors)) {
		char *all = join(&errors, "\n");

		print_error("%s\n", all);
		free(all);
		fail();
	}
	assert_true(cfg.present);
	/* every key is documented, set or commented out */
	for (i = 0; i < ARRAY_SIZE(key_cases); i++) {
		struct buf set = BUF_INIT, commented = BUF_INIT;

		assert_ok(buf_addf(&set, "\n%s =", key_cases[i].key));
		assert_ok(buf_addf(&commented, "\n# %s =", key_cases[i].key));
		if (!strstr(text.ptr, set.ptr) &&
		    !strstr(text.ptr, commented.ptr))
			fail_msg("hooks.ini.example lacks '%s'",
				 key_cases[i].key);
		buf_release(&set);
		buf_release(&commented);
	}
	assert_true(config_globs_match(&cfg.protected_branches, "main"));
	assert_true(config_globs_match(&cfg.protected_branches,
				       "release/1.2"));
	assert_true(cfg.has_commit_re);
	assert_int_equal(cfg.max_file_size, 5 << 20);
	assert_true(config_globs_match(&cfg.forbid_paths, "id_rsa"));
	assert_string_equal(cfg.build, "make");
	assert_string_equal(cfg.test, "make test");
	assert_true(config_globs_match(&cfg.test_branches, "feature/x"));
	assert_int_equal(cfg.nr_envs, 2);

	staging = config_env_find(&cfg, "staging");
	assert_non_null(staging);
	assert_string_equal(staging->branch, "develop");
	assert_int_equal(staging->mode, CONFIG_MODE_AUTO);
	assert_int_equal(staging->nr_hosts, 1);
	assert_true(staging->hosts[0].local);
	assert_string_equal(staging->path, "/srv/app/staging");
	assert_non_null(staging->healthcheck);

	prod = config_env_for_branch(&cfg, "main");
	assert_non_null(prod);
	assert_string_equal(prod->name, "production");
	assert_int_equal(prod->mode, CONFIG_MODE_MANUAL);
	assert_true(strvec_has(&prod->requires, "staging"));
	assert_true(strvec_has(&prod->approvers, "alice"));
	assert_true(strvec_has(&prod->approvers, "bob"));
	assert_int_equal(prod->nr_hosts, 2);
	assert_string_equal(prod->hosts[0].user, "deploy");
	assert_string_equal(prod->hosts[0].host, "web1.example.com");
	assert_string_equal(prod->hosts[1].host, "web2.example.com");
	assert_string_equal(prod->path, "/srv/app/production");
	assert_non_null(prod->identity);
	assert_null(prod->before);
	assert_non_null(prod->before_once);
	assert_int_equal(prod->primary_index, 0);
	assert_true(prod->canary);
	assert_int_equal(prod->batch, 1);
	assert_non_null(prod->after);
	assert_non_null(prod->healthcheck);
	assert_non_null(prod->on_failure);

	config_release(&cfg);
	strvec_clear(&errors);
	buf_release(&text);
	assert_int_equal(unlink(path), 0);
	free(path);
}

/* The lines of file `name` at the top of the source tree. */
static void read_source_lines(const char *name, struct strvec *lines)
{
	const char *dir = getenv("PUSHGATE_SRCDIR");
	struct buf path = BUF_INIT, text;
	char chunk[4096], *p, *nl;
	ssize_t n;
	int fd;

	buf_init(&text, CONFIG_MAX_FILE);
	assert_ok(buf_addf(&path, "%s/%s", dir && *dir ? dir : ".", name));
	fd = open(path.ptr, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fail_msg("cannot open %s (set PUSHGATE_SRCDIR)", path.ptr);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		assert_ok(buf_add(&text, chunk, (size_t)n));
	assert_int_equal(n, 0);
	close(fd);
	for (p = text.ptr; *p; p = nl) {
		nl = p + strcspn(p, "\n");
		if (*nl)
			*nl++ = '\0';
		strvec_push(lines, p);
	}
	buf_release(&path);
	buf_release(&text);
}

static bool starts_with(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

/*
 * The lines [*begin, *end) of the section that starts with the line
 * `head` (a prefix of the line if `prefix`) and ends before the next line
 * that starts with `mark`. False if there is no such section.
 */
static bool find_section(const struct strvec *lines, const char *head,
			 bool prefix, const char *mark, size_t *begin,
			 size_t *end)
{
	size_t i;

	for (i = 0; i < lines->nr; i++)
		if (prefix ? starts_with(lines->v[i], head)
			   : !strcmp(lines->v[i], head))
			break;
	if (i == lines->nr)
		return false;
	*begin = ++i;
	while (i < lines->nr && !starts_with(lines->v[i], mark))
		i++;
	*end = i;
	return true;
}

/*
 * What `text` says the default is: the words after `intro`, up to " (",
 * "; " or ". " (a value is at least one byte: "Default: . (the whole
 * checkout)" says "."), without a final period; NULL if it says none.
 */
static char *stated_default(const char *text, const char *intro)
{
	static const char *const ends[] = { " (", "; ", ". " };
	const char *p = strstr(text, intro);
	size_t len, i;

	if (!p)
		return NULL;
	p += strlen(intro);
	len = strlen(p);
	for (i = 0; *p && i < ARRAY_SIZE(ends); i++) {
		const char *e = strstr(p + 1, ends[i]);	/* "." is a value */

		if (e && (size_t)(e - p) < len)
			len = (size_t)(e - p);
	}
	if (len > 1 && p[len - 1] == '.')
		len--;
	return strndup(p, len);
}

/*
 * The default of `k` as the documentation writes it: "empty" for none,
 * and $HOME/ for the ~/ of a home path.
 */
static void documented_form(const struct config_key_info *k, struct buf *out)
{
	const char *d = k->default_text;

	if (!d)
		assert_ok(buf_addstr(out, "empty"));
	else if (starts_with(d, "~/"))
		assert_ok(buf_addf(out, "$HOME/%s", d + 2));
	else
		assert_ok(buf_addstr(out, d));
}

/*
 * hooks.ini.example: the comment block above `KEY =` or `# KEY =` in the
 * key's section, joined with spaces.
 */
static char *example_block(const struct strvec *lines,
			   const struct config_key_info *k)
{
	struct buf head = BUF_INIT, set = BUF_INIT, commented = BUF_INIT;
	struct buf block = BUF_INIT;
	size_t begin, end, i, j;

	if (k->section_named)
		assert_ok(buf_addf(&head, "[%s \"", k->section));
	else
		assert_ok(buf_addf(&head, "[%s]", k->section));
	if (!find_section(lines, head.ptr, k->section_named, "[", &begin,
			  &end))
		fail_msg("hooks.ini.example has no section for '%s'", k->name);
	assert_ok(buf_addf(&set, "%s =", k->name));
	assert_ok(buf_addf(&commented, "# %s =", k->name));
	for (i = begin; i < end; i++)
		if (starts_with(lines->v[i], set.ptr) ||
		    starts_with(lines->v[i], commented.ptr))
			break;
	if (i == end)
		fail_msg("hooks.ini.example does not document '%s' in its "
			 "section", k->name);
	for (j = i; j > begin && starts_with(lines->v[j - 1], "#"); j--)
		;
	for (; j < i; j++)
		assert_ok(buf_addf(&block, "%s%s", block.len ? " " : "",
				   lines->v[j] + 1 + (lines->v[j][1] == ' ')));
	buf_release(&head);
	buf_release(&set);
	buf_release(&commented);
	return buf_detach(&block, NULL);
}

/* Append roff text `s` with \- \(dq \e \& resolved. */
static void add_roff(struct buf *b, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		char c = s[i];

		if (c == '\\' && i + 3 < len && s[i + 1] == '(') {
			c = !strncmp(s + i + 2, "dq", 2) ? '"' : '?';
			i += 3;
		} else if (c == '\\' && i + 1 < len) {
			c = s[++i];
			if (c != 'e' && c != '-')
				continue;	/* \& and the like: nothing */
			if (c == 'e')
				c = '\\';
		}
		assert_ok(buf_addch(b, c));
	}
}

/*
 * One line of man(7) source as text: a font macro's arguments (quoted or
 * not) run together, as the alternating macros (.BR, .IR...) print them;
 * the other requests give nothing.
 */
static void add_man_line(struct buf *b, const char *line)
{
	const char *p = line;
	bool first;

	if (b->len)
		assert_ok(buf_addch(b, ' '));
	if (line[0] != '.') {
		add_roff(b, line, strlen(line));
		return;
	}
	p += strcspn(p, " ");
	if (!strchr("BIR", line[1]) || (line[2] && !strchr("BIR ", line[2])))
		return;
	for (first = true; *(p += strspn(p, " ")); first = false) {
		size_t n = *p == '"' ? strcspn(p + 1, "\"") : strcspn(p, " ");

		if (!first && (!line[2] || line[2] == ' '))
			assert_ok(buf_addch(b, ' '));	/* .B, .I: words */
		add_roff(b, p + (*p == '"'), n);
		p += n + 2 * (*p == '"');
	}
}

/*
 * hooks.ini(5): the text of `k`'s entry in its section (".TP", ".B KEY"),
 * up to the ".br" that starts its description.
 */
static char *man_entry(const struct strvec *lines,
		       const struct config_key_info *k)
{
	struct buf head = BUF_INIT, key = BUF_INIT, text = BUF_INIT;
	size_t begin, end, i;

	if (k->section_named)
		assert_ok(buf_addf(&head, ".SH [%s \\(dq", k->section));
	else
		assert_ok(buf_addf(&head, ".SH [%s]", k->section));
	if (!find_section(lines, head.ptr, k->section_named, ".SH", &begin,
			  &end))
		fail_msg("hooks.ini.5 has no section for '%s'", k->name);
	assert_ok(buf_addf(&key, ".B %s", k->name));
	for (i = begin + 1; i < end; i++)
		if (!strcmp(lines->v[i], key.ptr) &&
		    !strcmp(lines->v[i - 1], ".TP"))
			break;
	if (i == end)
		fail_msg("hooks.ini.5 does not document '%s' in its section",
			 k->name);
	for (i++; i < end && strcmp(lines->v[i], ".br") &&
	     !starts_with(lines->v[i], ".TP"); i++)
		add_man_line(&text, lines->v[i]);
	buf_release(&head);
	buf_release(&key);
	return buf_detach(&text, NULL);
}

/*
 * Every key of the schema is in hooks.ini.example and hooks.ini(5), in
 * its section, and both state the default the code applies (or that the
 * key is required).
 */
static void test_config__defaults_documented(void **state)
{
	struct strvec example = STRVEC_INIT, man = STRVEC_INIT;
	struct config_key_info k;
	size_t i;

	(void)state;
	read_source_lines("hooks.ini.example", &example);
	read_source_lines("man/hooks.ini.5", &man);
	for (i = 0; config_key(i, &k); i++) {
		char *block = example_block(&example, &k);
		char *entry = man_entry(&man, &k);
		char *in_example = stated_default(block, "Default: ");
		char *in_man = stated_default(entry, "default ");
		struct buf want = BUF_INIT;

		if (k.required) {
			if (!strstr(block, "Required.") || in_example)
				fail_msg("hooks.ini.example: '%s' is required "
					 "and has no default: %s", k.name,
					 block);
			if (!strstr(entry, "required") || in_man)
				fail_msg("hooks.ini.5: '%s' is required and "
					 "has no default: %s", k.name, entry);
		} else {
			documented_form(&k, &want);
			if (!in_example || strcmp(in_example, want.ptr))
				fail_msg("hooks.ini.example: the default of "
					 "'%s' is '%s', not '%s'", k.name,
					 want.ptr, in_example ? in_example
							      : "(none)");
			if (!in_man || strcmp(in_man, want.ptr))
				fail_msg("hooks.ini.5: the default of '%s' is "
					 "'%s', not '%s'", k.name, want.ptr,
					 in_man ? in_man : "(none)");
		}
		free(block);
		free(entry);
		free(in_example);
		free(in_man);
		buf_release(&want);
	}
	assert_true(i > 0);
	strvec_clear(&example);
	strvec_clear(&man);
}

/* config_key() shows the table: sections, names, defaults, in order. */
static void test_config__key_info(void **state)
{
	struct config_key_info k;
	struct config cfg;
	size_t i, nr_env = 0;

	(void)state;
	memset(&k, 0, sizeof(k));
	assert_true(config_key(0, &k));
	assert_string_equal(k.section, "core");
	assert_false(k.section_named);
	assert_string_equal(k.name, "user_vars");
	assert_string_equal(k.default_text, "PUSHGATE_USER GL_USER "
			    "GL_USERNAME REMOTE_USER USER");
	assert_false(k.required);
	for (i = 0; config_key(i, &k); i++) {
		if (strcmp(k.section, "environment"))
			continue;
		assert_true(k.section_named);
		nr_env++;
		if (!strcmp(k.name, "branch") || !strcmp(k.name, "path"))
			assert_true(k.required);
		else
			assert_false(k.required);
		if (!strcmp(k.name, "keep"))
			assert_string_equal(k.default_text, "5");
		if (!strcmp(k.name, "known_hosts"))
			assert_string_equal(k.default_text,
					    "~/.ssh/known_hosts");
		if (!strcmp(k.name, "before"))
			assert_null(k.default_text);
	}
	assert_int_equal(nr_env, 36);
	assert_int_equal(i, 69);
	/* past the end: false, and *out untouched */
	k.name = "unchanged";
	assert_false(config_key(i, &k));
	assert_string_equal(k.name, "unchanged");

	/* every environment is a release environment, for now */
	parse_ok(&cfg, ENV_A "[environment \"b\"]\nbranch = b\npath = /b\n");
	assert_int_equal(cfg.envs[0].kind, CONFIG_ENV_RELEASE);
	assert_int_equal(cfg.envs[1].kind, CONFIG_ENV_RELEASE);
	config_release(&cfg);
}

/* A GitOps environment: its one target is the remote. */
static void test_config__gitops(void **state)
{
	struct config cfg;
	const struct config_env *e;

	(void)state;
	parse_ok(&cfg, "[environment \"k8s\"]\nbranch = main\n"
		 "gitops_remote = ssh://deploy@git.example.com:2222/srv/c.git\n"
		 "gitops_branch = production\ngitops_path = apps/web\n"
		 "port = 22\nartifact = deploy\nmode = manual\n"
		 "[environment \"k9s\"]\nbranch = dev\n"
		 "gitops_remote = git@example.com:team/cluster.git\n"
		 "gitops_path = apps/dev\n");
	e = config_env_find(&cfg, "k8s");
	assert_non_null(e);
	assert_int_equal(e->kind, CONFIG_ENV_GITOPS);
	assert_null(e->path);
	assert_int_equal(e->nr_hosts, 1);
	assert_false(e->hosts[0].local);
	assert_string_equal(e->hosts[0].user, "deploy");
	assert_string_equal(e->hosts[0].host, "git.example.com");
	assert_int_equal(e->hosts[0].port, 2222);
	assert_string_equal(e->hosts[0].label,
			    "ssh://deploy@git.example.com:2222/srv/c.git");
	assert_string_equal(e->gitops_repo, "/srv/c.git");
	assert_string_equal(e->gitops_branch, "production");
	e = config_env_find(&cfg, "k9s");
	assert_non_null(e);
	assert_string_equal(e->hosts[0].user, "git");
	assert_string_equal(e->hosts[0].host, "example.com");
	assert_int_equal(e->hosts[0].port, 22);
	assert_string_equal(e->gitops_repo, "team/cluster.git");
	assert_string_equal(e->gitops_branch, "main");
	config_release(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config__init_defaults),
		cmocka_unit_test(test_config__empty),
		cmocka_unit_test(test_config__keys),
		cmocka_unit_test(test_config__full),
		cmocka_unit_test(test_config__syntax),
		cmocka_unit_test(test_config__continuation),
		cmocka_unit_test(test_config__errors),
		cmocka_unit_test(test_config__branch_names),
		cmocka_unit_test(test_config__hostile_hosts),
		cmocka_unit_test(test_config__hosts),
		cmocka_unit_test(test_config__sizes),
		cmocka_unit_test(test_config__globs_match),
		cmocka_unit_test(test_config__limits),
		cmocka_unit_test(test_config__too_many_errors),
		cmocka_unit_test(test_config__known_hosts_default),
		cmocka_unit_test(test_config__load_missing),
		cmocka_unit_test(test_config__load_ok),
		cmocka_unit_test(test_config__load_unsafe),
		cmocka_unit_test(test_config__load_example),
		cmocka_unit_test(test_config__defaults_documented),
		cmocka_unit_test(test_config__key_info),
		cmocka_unit_test(test_config__gitops),
	};

	/* deterministic ~/ expansion and known_hosts defaults */
	setenv("HOME", TEST_HOME, 1);
	return cmocka_run_group_tests(tests, setup_tmpdir, teardown_tmpdir);
}
