/*
 * fuzz_config - libFuzzer target for hooks.ini: its INI syntax
 * (inifile.c over inih), the schema engine (schema.c), the values
 * (confval.c) and the checks across sections (config.c), including the
 * deploy windows built from it. hooks.ini is written by operators, and
 * pre-receive must refuse a broken one as a whole rather than half read
 * it. The input is written as a private hooks.ini and loaded with
 * config_load(), as the hooks load it. Then:
 *
 *   - refused: every problem is one line "hooks.ini:LINE: message" (in
 *     line order, LINE within the file) or the last, "hooks.ini: too
 *     many errors"; loaded: there are none;
 *   - loaded: each environment is found again by its name and its
 *     branch, has hosts and a primary among them, and its windows,
 *     notifications, approvers and the [verify] globs and regex are
 *     asked about as the hooks ask (window states and decisions at a few
 *     instants, the next changes, times shown in the window's zone);
 *   - the same text goes through inifile_parse() alone, with small line
 *     and value limits taken from its length: its events come in the
 *     order of the text, on lines of the text, values within the limit,
 *     without a line break, and a problem is reported exactly when it
 *     returns an error.
 *
 * Built and run by tests/fuzz/run.sh (make fuzz), and by make check
 * through tests/fuzz/driver.c.
 */
#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "config.h"
#include "errors.h"
#include "fuzz.h"
#include "inifile.h"
#include "policy.h"
#include "strvec.h"
#include "window.h"

static char path[600];

static const int64_t instants[] = { 1790000000, 1798761600 };

static const char *const events[] = {
	"deployed", "failed", "rolled-back", "rollback", "held", "skipped"
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Lines of `size` bytes of text, counted as an editor does. */
static unsigned count_lines(const uint8_t *data, size_t size)
{
	unsigned n = 1;
	size_t i;

	for (i = 0; i < size; i++)
		n += data[i] == '\n';
	return n;
}

static void check_errors(const struct strvec *errors, unsigned lines)
{
	unsigned last = 0;
	size_t i;

	for (i = 0; i < errors->nr; i++) {
		const char *e = errors->v[i], *p;
		unsigned long line;
		char *end;

		FUZZ_CHECK(!strchr(e, '\n'));
		if (i + 1 == errors->nr &&
		    !strcmp(e, "hooks.ini: too many errors")) {
			FUZZ_CHECK(i == CONFIG_MAX_ERRORS);
			break;
		}
		FUZZ_CHECK(!strncmp(e, "hooks.ini:", 10));
		p = e + 10;
		FUZZ_CHECK(*p >= '0' && *p <= '9');
		line = strtoul(p, &end, 10);
		FUZZ_CHECK(end[0] == ':' && end[1] == ' ' && end[2]);
		FUZZ_CHECK(line <= lines && line >= last);
		last = (unsigned)line;
	}
	FUZZ_CHECK(errors->nr <= CONFIG_MAX_ERRORS + 1);
}

static void ask_windows(const struct config *cfg,
			const struct config_env *env)
{
	const struct window *w[CONFIG_MAX_WINDOWS];
	struct window_decision d;
	struct window_state ws;
	struct buf b = BUF_INIT;
	int64_t changes[4];
	size_t n, i, k, c;

	n = config_env_windows(cfg, env, w, CONFIG_MAX_WINDOWS);
	FUZZ_CHECK(n <= cfg->nr_windows);
	for (k = 0; k < ARRAY_SIZE(instants); k++) {
		window_decide(&d, w, n, instants[k], false);
		FUZZ_CHECK(d.allowed || d.by);
		if (!d.allowed && d.has_until)
			FUZZ_CHECK(d.until > instants[k]);
		window_decide(&d, w, n, instants[k], true);
	}
	for (i = 0; i < n; i++) {
		window_state(&ws, w[i], instants[0]);
		if (ws.changes)
			FUZZ_CHECK(ws.change > instants[0]);
		c = window_changes(changes, ARRAY_SIZE(changes), w[i],
				   instants[0]);
		FUZZ_CHECK(c <= ARRAY_SIZE(changes));
		for (k = 0; k < c; k++) {
			FUZZ_CHECK(changes[k] > (k ? changes[k - 1] :
						 instants[0]));
			buf_reset(&b);
			FUZZ_CHECK(!window_addtime(&b, w[i], changes[k]));
		}
	}
	buf_release(&b);
}

static void ask(const struct config *cfg)
{
	const struct config_env *found;
	size_t i, k;

	FUZZ_CHECK(cfg->present);
	FUZZ_CHECK(cfg->nr_envs <= CONFIG_MAX_ENVS);
	FUZZ_CHECK(cfg->nr_windows <= CONFIG_MAX_WINDOWS);
	for (i = 0; i < cfg->nr_envs; i++) {
		const struct config_env *env = &cfg->envs[i];

		FUZZ_CHECK(config_env_find(cfg, env->name) == env);
		if (env->branch) {
			found = config_env_for_branch(cfg, env->branch);
			FUZZ_CHECK(found && !strcmp(found->branch,
						    env->branch));
		}
		FUZZ_CHECK(env->nr_hosts >= 1 &&
			   env->nr_hosts <= CONFIG_MAX_HOSTS);
		FUZZ_CHECK(env->primary_index < env->nr_hosts);
		for (k = 0; k < env->nr_hosts; k++)
			FUZZ_CHECK(env->hosts[k].label);
		for (k = 0; k < ARRAY_SIZE(events); k++)
			(void)config_notify_wants(cfg, env, events[k]);
		(void)config_notify_command(cfg, env);
		FUZZ_CHECK(config_notify_timeout(cfg, env) > 0);
		(void)policy_may_approve(env, "alice");
		ask_windows(cfg, env);
	}
	FUZZ_CHECK(!config_env_find(cfg, "no such environment"));
	(void)config_globs_match(&cfg->protected_branches, "main");
	(void)config_globs_match(&cfg->test_branches, "feature/x");
	if (cfg->has_commit_re)
		(void)regexec(&cfg->commit_re, "fix: a subject", 0, NULL, 0);
}

/* inifile_parse() alone: what its events must look like. */
struct syntax {
	unsigned lines;		/* in the text */
	unsigned last;		/* line of the last section or key */
	size_t max_value;
	size_t problems;
};

static void on_line(struct syntax *s, unsigned line)
{
	FUZZ_CHECK(line >= 1 && line <= s->lines && line >= s->last);
	s->last = line;
}

static void on_section(const char *name, unsigned line, void *payload)
{
	FUZZ_CHECK(!name || !strpbrk(name, "\r\n"));
	on_line(payload, line);
}

static void on_key(const char *name, const char *value, unsigned line,
		   void *payload)
{
	struct syntax *s = payload;

	FUZZ_CHECK(name && !strpbrk(name, "\r\n"));
	FUZZ_CHECK(!value || (strlen(value) <= s->max_value &&
			      !strpbrk(value, "\r\n")));
	on_line(s, line);
}

static void on_problem(unsigned line, const char *msg, void *payload)
{
	struct syntax *s = payload;

	FUZZ_CHECK(msg && *msg && !strchr(msg, '\n'));
	FUZZ_CHECK(line <= s->lines);
	s->problems++;
}

static void check_syntax(const uint8_t *data, size_t size)
{
	struct inifile_opts opts = INIFILE_OPTS_INIT;
	struct syntax s;
	int r;

	memset(&s, 0, sizeof(s));
	s.lines = count_lines(data, size);
	s.max_value = 1 + size % 61;
	opts.section = on_section;
	opts.key = on_key;
	opts.problem = on_problem;
	opts.payload = &s;
	opts.max_line = 1 + size % 97;
	opts.max_value = s.max_value;
	r = inifile_parse((const char *)data, size, &opts);
	FUZZ_CHECK(r == 0 || r == ERR_INVALID);
	FUZZ_CHECK((r < 0) == (s.problems > 0));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strvec errors = STRVEC_INIT;
	struct config cfg;
	int r;

	if (size > 16384)
		return 0;
	if (!path[0])
		snprintf(path, sizeof(path), "%s/hooks.ini",
			 fuzz_dir("fuzz_config"));
	fuzz_write(path, data, size);
	r = config_load(&cfg, path, &errors);
	FUZZ_CHECK(r == 0 || r == ERR_INVALID);
	check_errors(&errors, count_lines(data, size));
	if (r == 0) {
		FUZZ_CHECK(errors.nr == 0);
		ask(&cfg);
		config_release(&cfg);
	} else {
		FUZZ_CHECK(errors.nr > 0);
	}
	strvec_clear(&errors);
	error_clear();
	check_syntax(data, size);
	error_clear();
	return 0;
}
