/*
 * fuzz_push - libFuzzer target for what a pusher hands pre-receive
 * (push.c): the "OLD NEW REF" update lines on stdin, the push options in
 * GIT_PUSH_OPTION_*, the pusher's name from the environment; and for
 * what the hooks make of them without a repository: the plan of each
 * update (receive.c), whether it is tested and who may approve it
 * (policy.c), the deploy gate's verdict, the escaping of everything
 * echoed to the pusher (report.c) and the PUSHGATE_* assignments of a
 * remote command line (hookenv.c).
 *
 * The input is text in up to three parts, split at lines "--": the
 * update lines; the push options, one a line (a first line "count=N"
 * sets GIT_PUSH_OPTION_COUNT to N verbatim); the pusher's name. Checked:
 *
 *   - push_parse() and push_read() agree; an accepted update has two
 *     40-hex ids, not both zero, and a ref name that git itself accepts
 *     (git's check-ref-format rules, written here), once; a refused input
 *     says which line;
 *   - push_read_options() takes exactly the options given, or refuses
 *     past PUSH_MAX_OPTIONS, PUSH_MAX_OPTION_LEN, a bad count or a
 *     missing option; push_read_user() takes the first non-empty
 *     variable, and only printable ASCII of at most PUSH_MAX_USER bytes;
 *   - the plan of each update is consistent (an environment exactly when
 *     it deploys, never for a deletion, the one its branch or
 *     refs/deploy/ENV names);
 *   - report_str() of a ref, option or name is valid UTF-8 without
 *     control characters (tabs aside), at most a bounded length;
 *   - the shell assignments of hookenv_shell() read back, as a POSIX
 *     shell reads them, to the values given.
 *
 * Built and run by tests/fuzz/run.sh (make fuzz), and by make check
 * through tests/fuzz/driver.c.
 */
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
#include "hookenv.h"
#include "policy.h"
#include "push.h"
#include "receive.h"
#include "repo.h"
#include "report.h"
#include "strvec.h"

#define MAX_OPTION_LINES (PUSH_MAX_OPTIONS + 4)

static const char config_text[] =
	"[core]\n"
	"user_vars = FUZZ_PUSH_USER FUZZ_PUSH_USER2\n"
	"[verify]\n"
	"protected = main release/*\n"
	"test = make test\n"
	"test_branches = feature/*\n"
	"[environment \"staging\"]\n"
	"branch = develop\n"
	"path = /srv/staging\n"
	"[environment \"production\"]\n"
	"branch = main\n"
	"path = /srv/production\n"
	"mode = manual\n"
	"approvers = alice bob\n"
	"requires = staging\n";

static struct config cfg;

/* git's check-ref-format, as refs.c has it (no pattern, no onelevel). */
static bool git_refname_ok(const char *ref)
{
	const char *c = ref, *start = ref;

	if (!*ref || !strcmp(ref, "@") || *ref == '/')
		return false;
	for (;; c++) {
		unsigned char ch = (unsigned char)*c;

		if (ch == '/' || !ch) {
			size_t n = (size_t)(c - start);

			if (!n || *start == '.')
				return false;
			if (n >= 5 && !memcmp(c - 5, ".lock", 5))
				return false;
			if (!ch)
				break;
			start = c + 1;
			continue;
		}
		if (ch < 040 || ch == 0177 || strchr(" ~^:?*[\\", ch))
			return false;
		if (ch == '.' && c[1] == '.')
			return false;
		if (ch == '@' && c[1] == '{')
			return false;
	}
	return c[-1] != '.';
}

static bool is_hex40(const char *s)
{
	return strlen(s) == 40 && strspn(s, "0123456789abcdef") == 40;
}

static void check_parsed(const struct push *p, size_t lines)
{
	size_t i, j;

	FUZZ_CHECK(p->nr == lines && p->nr <= PUSH_MAX_UPDATES);
	for (i = 0; i < p->nr; i++) {
		const struct push_update *u = &p->updates[i];

		FUZZ_CHECK(is_hex40(u->old_hex) && is_hex40(u->new_hex));
		FUZZ_CHECK(u->is_create == (strspn(u->old_hex, "0") == 40));
		FUZZ_CHECK(u->is_delete == (strspn(u->new_hex, "0") == 40));
		FUZZ_CHECK(!(u->is_create && u->is_delete));
		FUZZ_CHECK(!strncmp(u->ref, "refs/", 5));
		FUZZ_CHECK(strlen(u->ref) <= PUSH_MAX_REFNAME);
		FUZZ_CHECK(git_refname_ok(u->ref));
		for (j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(u->ref, p->updates[j].ref));
	}
}

static void check_same_push(const struct push *a, const struct push *b)
{
	size_t i;

	FUZZ_CHECK(a->nr == b->nr);
	for (i = 0; i < a->nr; i++) {
		FUZZ_CHECK(!strcmp(a->updates[i].ref, b->updates[i].ref));
		FUZZ_CHECK(!strcmp(a->updates[i].old_hex,
				   b->updates[i].old_hex));
		FUZZ_CHECK(!strcmp(a->updates[i].new_hex,
				   b->updates[i].new_hex));
	}
}

/* What the pusher sees of `s`: nothing a terminal would act on. */
static void check_escaped(const char *s)
{
	const unsigned char *e = (const unsigned char *)report_str(s);
	size_t len = strlen((const char *)e), i = 0;

	/* at most REPORT_CLIP bytes shown, each at most "\u00NN" long */
	FUZZ_CHECK(len <= REPORT_CLIP * 6 + 3);
	while (i < len) {
		unsigned c = e[i];

		FUZZ_CHECK(c == '\t' || (c >= 0x20 && c != 0x7f));
		if (c < 0x80) {
			i++;
			continue;
		}
		/* a valid sequence, and no C1 control (U+0080..U+009F) */
		FUZZ_CHECK(c >= 0xc2 && c <= 0xf4);
		FUZZ_CHECK(c != 0xc2 || e[i + 1] >= 0xa0);
		FUZZ_CHECK((e[i + 1] & 0xc0) == 0x80);
		if (c >= 0xe0)
			FUZZ_CHECK((e[i + 2] & 0xc0) == 0x80);
		if (c >= 0xf0)
			FUZZ_CHECK((e[i + 3] & 0xc0) == 0x80);
		FUZZ_CHECK(c != 0xe0 || e[i + 1] >= 0xa0);
		FUZZ_CHECK(c != 0xed || e[i + 1] < 0xa0);
		FUZZ_CHECK(c != 0xf0 || e[i + 1] >= 0x90);
		FUZZ_CHECK(c != 0xf4 || e[i + 1] < 0x90);
		i += c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
	}
	FUZZ_CHECK(i == len);
}

/*
 * One shell word of `line` at *pos as a POSIX shell reads it, quotes and
 * backslashes removed, into `out`; it ends at a blank or ';'.
 */
static void shell_word(const char *line, size_t *pos, struct buf *out)
{
	const char *p = line + *pos;

	buf_reset(out);
	while (*p && *p != ' ' && *p != ';') {
		if (*p == '\'') {
			const char *q = strchr(p + 1, '\'');

			FUZZ_CHECK(q);
			buf_add(out, p + 1, (size_t)(q - p - 1));
			p = q + 1;
		} else {
			/* only \' may stand outside the quotes */
			FUZZ_CHECK(p[0] == '\\' && p[1] == '\'');
			buf_addch(out, '\'');
			p += 2;
		}
	}
	*pos = (size_t)(p - line);
}

static void check_shell(const struct hookenv *h)
{
	static const char *const names[] = {
		"PUSHGATE_ENV", "PUSHGATE_COMMIT", "PUSHGATE_REF",
		"PUSHGATE_RELEASE", "PUSHGATE_PREVIOUS", "PUSHGATE_USER"
	};
	const char *values[6];
	struct buf line = BUF_INIT, word = BUF_INIT;
	size_t pos = 0, i;

	values[0] = h->env;
	values[1] = h->commit;
	values[2] = h->ref;
	values[3] = h->release;
	values[4] = h->previous;
	values[5] = h->user;
	hookenv_shell(&line, h);
	FUZZ_CHECK(!buf_error(&line));
	for (i = 0; i < 6; i++) {
		size_t n = strlen(names[i]);

		if (i) {
			FUZZ_CHECK(line.ptr[pos] == ' ');
			pos++;
		}
		FUZZ_CHECK(!strncmp(line.ptr + pos, names[i], n) &&
			   line.ptr[pos + n] == '=');
		pos += n + 1;
		shell_word(line.ptr, &pos, &word);
		FUZZ_CHECK(!strcmp(word.ptr, values[i] ? values[i] : ""));
	}
	FUZZ_CHECK(!strncmp(line.ptr + pos, "; export ", 9));
	buf_release(&line);
	buf_release(&word);
}

static void check_plan(const struct push *p, const struct push_update *u)
{
	struct receive_plan plan;
	const char *approve = push_deploy_env(u->ref);
	const char *branch = push_branch_name(u->ref);

	receive_plan(&plan, &cfg, p, u);
	FUZZ_CHECK(plan.approval == (approve != NULL));
	FUZZ_CHECK((plan.when == RECEIVE_NONE) == !plan.env);
	if (u->is_delete)
		FUZZ_CHECK(!plan.env);
	if (plan.env && approve)
		FUZZ_CHECK(!strcmp(plan.env->name, approve));
	else if (plan.env)
		FUZZ_CHECK(branch && !strcmp(plan.env->branch, branch));
	if (plan.when == RECEIVE_WAIT)
		FUZZ_CHECK(plan.env->mode == CONFIG_MODE_MANUAL &&
			   !push_has_option(p, "deploy"));
	(void)policy_needs_test(&cfg, u);
	if (plan.env) {
		struct verdict v = VERDICT_INIT;
		struct strvec missing = STRVEC_INIT;
		bool approver = policy_may_approve(plan.env, p->user);

		strvec_push(&missing, "staging");
		policy_deploy_verdict(&v, plan.env, p->user, approver,
				      &missing, u->new_hex);
		FUZZ_CHECK(v.rejected && v.reason);
		verdict_release(&v);
		strvec_clear(&missing);
	}
}

/* A user name push_read_user() keeps. */
static bool user_ok(const char *s)
{
	size_t n = strlen(s), i;

	if (!n || n > PUSH_MAX_USER)
		return false;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
			return false;
	return true;
}

/*
 * The length of the part of `data` that ends at a line "--" (or at its
 * end); *next is where the part after it starts.
 */
static size_t part_len(const uint8_t *data, size_t size, size_t *next)
{
	size_t p = 0, end;

	while (p < size) {
		const uint8_t *nl = memchr(data + p, '\n', size - p);

		end = nl ? (size_t)(nl - data) : size;
		if (end - p == 2 && data[p] == '-' && data[p + 1] == '-') {
			*next = nl ? end + 1 : end;
			return p;
		}
		p = nl ? end + 1 : size;
	}
	*next = size;
	return size;
}

/* `len` bytes as a C string (cut at a NUL, as the environment is). */
static char *text_of(const uint8_t *data, size_t len)
{
	char *s = malloc(len + 1);

	FUZZ_CHECK(s);
	memcpy(s, data, len);
	s[len] = '\0';
	return s;
}

static void set_options(char *text, struct strvec *given, char *count,
			size_t count_size)
{
	char name[64];
	size_t n = 0;
	char *nl;

	snprintf(count, count_size, "0");
	if (!strncmp(text, "count=", 6)) {
		nl = strchr(text, '\n');
		if (nl)
			*nl = '\0';
		snprintf(count, count_size, "%s", text + 6);
		text = nl ? nl + 1 : text + strlen(text);
		n = (size_t)-1;
	}
	while (*text && given->nr < MAX_OPTION_LINES) {
		nl = strchr(text, '\n');
		if (nl)
			*nl = '\0';
		snprintf(name, sizeof(name), "GIT_PUSH_OPTION_%zu",
			 given->nr);
		setenv(name, text, 1);
		strvec_push(given, text);
		text = nl ? nl + 1 : text + strlen(text);
	}
	if (n != (size_t)-1)
		snprintf(count, count_size, "%zu", given->nr);
	setenv("GIT_PUSH_OPTION_COUNT", count, 1);
}

static void unset_options(void)
{
	char name[64];
	size_t i;

	for (i = 0; i < MAX_OPTION_LINES; i++) {
		snprintf(name, sizeof(name), "GIT_PUSH_OPTION_%zu", i);
		unsetenv(name);
	}
	unsetenv("GIT_PUSH_OPTION_COUNT");
}

static void check_options(const struct push *p, const struct strvec *given,
			  const char *count, int r)
{
	uint64_t n;
	size_t i;
	bool long_one = false;

	if (!*count) {
		FUZZ_CHECK(!r && !p->options.nr);
		return;
	}
	if (parse_uint(count, 0, UINT64_MAX, &n) < 0) {
		FUZZ_CHECK(r == ERR_INVALID);
		return;
	}
	for (i = 0; i < n && i < given->nr; i++)
		if (strlen(given->v[i]) > PUSH_MAX_OPTION_LEN)
			long_one = true;
	if (n > PUSH_MAX_OPTIONS || long_one) {
		FUZZ_CHECK(r == ERR_TOOBIG);
	} else if (n > given->nr) {
		FUZZ_CHECK(r == ERR_INVALID);
	} else {
		FUZZ_CHECK(!r && p->options.nr == n);
		for (i = 0; i < n; i++)
			FUZZ_CHECK(!strcmp(p->options.v[i], given->v[i]));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct push push = PUSH_INIT, again = PUSH_INIT;
	struct strvec given = STRVEC_INIT;
	struct hookenv h = HOOKENV_INIT;
	char *options, *user, *nl, count[64];
	size_t i, n, next, lines = 0;
	FILE *fp;
	int r, r2;

	if (size > 65536)
		return 0;
	if (!cfg.present) {
		/* as the hooks' main() does: libgit2 checks the ref names */
		repo_library_init();
		if (config_parse_string(&cfg, config_text, NULL))
			BUG("fuzz_push: the fixed config does not parse: %s",
			    error_last());
	}

	/* stdin: every byte of the input up to a line "--" */
	n = part_len(data, size, &next);
	r = push_parse(&push, (const char *)data, n);
	for (i = 0; i < n; i++)
		lines += data[i] == '\n';
	if (!r) {
		check_parsed(&push, lines);
	} else {
		FUZZ_CHECK(r == ERR_INVALID || r == ERR_TOOBIG);
		FUZZ_CHECK(strstr(error_last(), "line") ||
			   strstr(error_last(), "more than"));
	}
	if (n && (fp = fmemopen((void *)data, n, "r"))) {
		FUZZ_CHECK(push_read(&again, fp) == r);
		if (!r)
			check_same_push(&push, &again);
		fclose(fp);
	}
	push_release(&again);
	error_clear();

	/* the options and the pusher */
	data += next;
	size -= next;
	n = part_len(data, size, &next);
	options = text_of(data, n);
	user = text_of(data + next, size - next);
	if ((nl = strchr(user, '\n')))
		*nl = '\0';
	set_options(options, &given, count, sizeof(count));
	r2 = push_read_options(&push);
	check_options(&push, &given, count, r2);
	unset_options();
	error_clear();
	setenv("FUZZ_PUSH_USER", user, 1);
	setenv("FUZZ_PUSH_USER2", "fallback", 1);
	push_read_user(&push, &cfg.user_vars);
	if (*user)
		FUZZ_CHECK(user_ok(user) ? push.user &&
			   !strcmp(push.user, user) : !push.user);
	else
		FUZZ_CHECK(push.user && !strcmp(push.user, "fallback"));
	check_escaped(user);
	for (i = 0; i < given.nr; i++)
		check_escaped(given.v[i]);

	for (i = 0; !r && i < push.nr; i++) {
		const struct push_update *u = &push.updates[i];

		check_plan(&push, u);
		check_escaped(u->ref);
		h.env = push_branch_name(u->ref);
		h.commit = u->new_hex;
		h.ref = u->ref;
		h.user = push.user ? push.user : user;
		h.release = given.nr ? given.v[0] : "/srv/it's";
		check_shell(&h);
	}
	push_release(&push);
	strvec_clear(&given);
	free(options);
	free(user);
	error_clear();
	return 0;
}
