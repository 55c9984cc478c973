#include "push.h"

#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <git2.h>

#include "buf.h"
#include "errors.h"

static const char zero_hex[PUSH_HEX_LEN + 1] =
	"0000000000000000000000000000000000000000";

/*
 * Is `ref` a valid full reference name? libgit2's rules, and git's where
 * libgit2 is laxer: libgit2 1.5 lets DEL (0x7f) through, which git's
 * check-ref-format refuses as a control character.
 */
static bool refname_is_valid(const char *ref)
{
	int valid = 0;

	if (strncmp(ref, "refs/", 5) || strchr(ref, 0x7f))
		return false;
	if (git_reference_name_is_valid(&valid, ref) < 0)
		return false;
	return valid != 0;
}

static bool is_hex_id(const char *s)
{
	size_t i;

	for (i = 0; i < PUSH_HEX_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static int parse_line(struct push_update *u, const char *line, size_t len,
		      size_t lineno)
{
	const char *ref;
	size_t reflen;

	if (memchr(line, '\0', len))
		return error_set(ERR_INVALID, "update line %zu holds a NUL",
				 lineno);
	if (len < 2 * PUSH_HEX_LEN + 3 || line[PUSH_HEX_LEN] != ' ' ||
	    line[2 * PUSH_HEX_LEN + 1] != ' ')
		return error_set(ERR_INVALID,
				 "update line %zu is not 'OLD NEW REF'",
				 lineno);
	if (!is_hex_id(line) || !is_hex_id(line + PUSH_HEX_LEN + 1))
		return error_set(ERR_INVALID,
				 "update line %zu has a bad object id", lineno);
	ref = line + 2 * PUSH_HEX_LEN + 2;
	reflen = len - (size_t)(ref - line);
	if (reflen > PUSH_MAX_REFNAME)
		return error_set(ERR_TOOBIG,
				 "update line %zu: ref name longer than %d",
				 lineno, PUSH_MAX_REFNAME);
	memcpy(u->old_hex, line, PUSH_HEX_LEN);
	u->old_hex[PUSH_HEX_LEN] = '\0';
	memcpy(u->new_hex, line + PUSH_HEX_LEN + 1, PUSH_HEX_LEN);
	u->new_hex[PUSH_HEX_LEN] = '\0';
	u->ref = xstrndup(ref, reflen);
	if (!refname_is_valid(u->ref)) {
		free(u->ref);
		u->ref = NULL;
		return error_set(ERR_INVALID,
				 "update line %zu has an invalid ref name",
				 lineno);
	}
	u->is_create = !strcmp(u->old_hex, zero_hex);
	u->is_delete = !strcmp(u->new_hex, zero_hex);
	if (u->is_create && u->is_delete) {
		free(u->ref);
		u->ref = NULL;
		return error_set(ERR_INVALID,
				 "update line %zu has two null ids", lineno);
	}
	return 0;
}

int push_parse(struct push *push, const char *data, size_t len)
{
	size_t pos = 0, lineno = 0, alloc = 0;
	int r;

	while (pos < len) {
		const char *nl = memchr(data + pos, '\n', len - pos);
		size_t linelen;
		size_t i;

		lineno++;
		if (!nl)
			return error_set(ERR_INVALID,
					 "update line %zu has no newline",
					 lineno);
		linelen = (size_t)(nl - (data + pos));
		if (linelen > PUSH_MAX_LINE)
			return error_set(ERR_TOOBIG,
					 "update line %zu is longer than %d bytes",
					 lineno, PUSH_MAX_LINE);
		if (push->nr >= PUSH_MAX_UPDATES)
			return error_set(ERR_TOOBIG,
					 "more than %d ref updates in one push",
					 PUSH_MAX_UPDATES);
		if (push->nr == alloc) {
			alloc = alloc ? alloc * 2 : 8;
			push->updates = xreallocarray(push->updates, alloc,
						      sizeof(*push->updates));
		}
		memset(&push->updates[push->nr], 0, sizeof(*push->updates));
		r = parse_line(&push->updates[push->nr], data + pos, linelen,
			       lineno);
		if (r < 0)
			return r;
		for (i = 0; i < push->nr; i++)
			if (!strcmp(push->updates[i].ref,
				    push->updates[push->nr].ref)) {
				free(push->updates[push->nr].ref);
				return error_set(ERR_INVALID,
						 "update line %zu repeats a ref",
						 lineno);
			}
		push->nr++;
		pos += linelen + 1;
	}
	return 0;
}

int push_read(struct push *push, FILE *fp)
{
	struct buf b = BUF_INIT;
	char chunk[8192];
	size_t n;
	int r = 0;

	buf_init(&b, (size_t)PUSH_MAX_UPDATES * (PUSH_MAX_LINE + 1));
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		if ((r = buf_add(&b, chunk, n)) < 0) {
			r = error_set(ERR_TOOBIG, "too much input on stdin");
			goto out;
		}
	if (ferror(fp)) {
		r = error_set_errno(ERR_SYS, "cannot read the ref updates");
		goto out;
	}
	r = push_parse(push, b.ptr, b.len);
out:
	buf_release(&b);
	return r;
}

int push_read_options(struct push *push)
{
	const char *count = getenv("GIT_PUSH_OPTION_COUNT");
	uint64_t n, i;
	int r;

	if (!count || !*count)
		return 0;
	if ((r = parse_uint(count, 0, UINT64_MAX, &n)) < 0)
		return error_set(ERR_INVALID,
				 "bad GIT_PUSH_OPTION_COUNT '%.20s'", count);
	if (n > PUSH_MAX_OPTIONS)
		return error_set(ERR_TOOBIG, "more than %d push options",
				 PUSH_MAX_OPTIONS);
	for (i = 0; i < n; i++) {
		char name[64];
		const char *v;

		snprintf(name, sizeof(name), "GIT_PUSH_OPTION_%llu",
			 (unsigned long long)i);
		v = getenv(name);
		if (!v)
			return error_set(ERR_INVALID, "push option %llu missing",
					 (unsigned long long)i);
		if (strlen(v) > PUSH_MAX_OPTION_LEN)
			return error_set(ERR_TOOBIG,
					 "push option longer than %d bytes",
					 PUSH_MAX_OPTION_LEN);
		strvec_push(&push->options, v);
	}
	return 0;
}

static bool user_is_sane(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > PUSH_MAX_USER)
		return false;
	/* names are compared and echoed: printable ASCII only */
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

void push_read_user(struct push *push, const struct strvec *vars)
{
	size_t i;

	free(push->user);
	push->user = NULL;
	/* the first non-empty one decides; a bad one means "unknown" */
	for (i = 0; i < vars->nr; i++) {
		const char *v = getenv(vars->v[i]);

		if (!v || !*v)
			continue;
		if (user_is_sane(v))
			push->user = xstrdup(v);
		return;
	}
}

bool push_has_option(const struct push *push, const char *name)
{
	return strvec_has(&push->options, name);
}

const char *push_branch_name(const char *ref)
{
	if (!strncmp(ref, "refs/heads/", 11) && ref[11])
		return ref + 11;
	return NULL;
}

const char *push_deploy_env(const char *ref)
{
	if (!strncmp(ref, "refs/deploy/", 12) && ref[12])
		return ref + 12;
	return NULL;
}

void push_release(struct push *push)
{
	size_t i;

	for (i = 0; i < push->nr; i++)
		free(push->updates[i].ref);
	free(push->updates);
	push->updates = NULL;
	push->nr = 0;
	strvec_clear(&push->options);
	free(push->user);
	push->user = NULL;
}

char *push_login_name(void)
{
	struct passwd *pw = getpwuid(getuid());
	struct buf b = BUF_INIT;

	if (pw && pw->pw_name && *pw->pw_name)
		return xstrdup(pw->pw_name);
	buf_addf(&b, "uid %u", (unsigned)getuid());
	return buf_detach(&b, NULL);
}
