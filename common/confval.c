#include "confval.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "errors.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

const char *confval_quote(struct confval_quote *q, const char *s)
{
	size_t i;

	for (i = 0; s[i] && i < CONFVAL_QUOTE_MAX; i++) {
		unsigned char c = (unsigned char)s[i];

		q->s[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	if (s[i])
		memcpy(q->s + i, "...", 4);
	else
		q->s[i] = '\0';
	return q->s;
}

static bool is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

bool confval_has_ctl(const char *s, bool allow_tab)
{
	for (; *s; s++)
		if (is_ctl((unsigned char)*s) && !(allow_tab && *s == '\t'))
			return true;
	return false;
}

int confval_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };
	struct confval_quote q;
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
	return error_set(ERR_INVALID, "'%s' is not a boolean (use true or "
			 "false)", confval_quote(&q, s));
}

int confval_uint(const char *s, unsigned min, unsigned max, unsigned *out)
{
	struct confval_quote q;
	uint64_t n;

	if (parse_uint(s, min, max, &n) < 0)
		return error_set(ERR_INVALID, "'%s' is not a number from %u "
				 "to %u", confval_quote(&q, s), min, max);
	*out = (unsigned)n;
	return 0;
}

int confval_size(const char *s, uint64_t *out)
{
	const char *orig = s;
	char digits[24];
	struct confval_quote q;
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
				 "optional K, M or G suffix)",
				 confval_quote(&q, s));
	while (n > 1 && *s == '0') {
		s++;		/* leading zeros do not count */
		n--;
	}
	if (n >= sizeof(digits))
		return error_set(ERR_INVALID, "'%s' is too large",
				 confval_quote(&q, orig));
	memcpy(digits, s, n);
	digits[n] = '\0';
	if (parse_uint(digits, 0, UINT64_MAX, &v) < 0 ||
	    v > (UINT64_MAX >> shift))
		return error_set(ERR_INVALID, "'%s' is too large",
				 confval_quote(&q, orig));
	*out = v << shift;
	return 0;
}

int confval_word(const char *s, const char *const *words, size_t nr,
		 size_t *out)
{
	char list[256];
	struct confval_quote q;
	size_t i, len = 0;

	for (i = 0; i < nr; i++) {
		if (!strcmp(s, words[i])) {
			*out = i;
			return 0;
		}
	}
	list[0] = '\0';
	for (i = 0; i < nr && len < sizeof(list); i++) {
		int n = snprintf(list + len, sizeof(list) - len, "%s%s",
				 !i ? "" : i + 1 < nr ? ", " : " or ",
				 words[i]);

		if (n < 0)
			break;
		len += (size_t)n;
	}
	return error_set(ERR_INVALID, "'%s' is not %s", confval_quote(&q, s),
			 list);
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

int confval_branch(const char *s)
{
	struct confval_quote q;

	if (!strncmp(s, "refs/heads/", 11) && valid_branch(s + 11))
		return error_set(ERR_INVALID, "write the short name '%s', not "
				 "'%s'", confval_quote(&q, s + 11), s);
	if (!valid_branch(s))
		return error_set(ERR_INVALID, "'%s' is not a valid branch name",
				 confval_quote(&q, s));
	return 0;
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

/* ERR_INVALID with "'S' WHY". */
static int bad(const char *s, const char *why)
{
	struct confval_quote q;

	return error_set(ERR_INVALID, "'%s' %s", confval_quote(&q, s), why);
}

int confval_abspath(const char *s)
{
	if (s[0] != '/')
		return bad(s, "is not an absolute path");
	if (has_dotdot(s))
		return bad(s, "has a '..' component");
	return 0;
}

int confval_relpath(const char *s)
{
	if (s[0] == '/')
		return bad(s, "is not a relative path");
	if (has_dotdot(s))
		return bad(s, "has a '..' component");
	return 0;
}

int confval_relpath_entry(const char *s)
{
	int r = confval_relpath(s);

	if (r < 0)
		return r;
	if (only_dots(s))
		return bad(s, "does not name a file or directory");
	return 0;
}

int confval_shared_entry(const char *s)
{
	size_t n = strlen(s), i, start = 0;
	int r = confval_relpath_entry(s);

	if (r < 0)
		return r;
	/* a trailing '/' marks a directory; every component is a name */
	if (n && s[n - 1] == '/')
		n--;
	for (i = 0; i <= n; i++) {
		if (i < n && s[i] != '/')
			continue;
		if (i == start || (i - start == 1 && s[start] == '.'))
			return bad(s, "has an empty or '.' component (write "
				   "it as a plain relative path)");
		start = i + 1;
	}
	return 0;
}

int confval_homepath(const char *s)
{
	if (s[0] == '/' || (s[0] == '~' && s[1] == '/'))
		return 0;
	/* no echo: the pusher sees this, and it may name a key */
	return error_set(ERR_INVALID, "not an absolute path or ~/path");
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
				char close[3] = { g[i + 1], ']', '\0' };
				const char *end = strstr(g + i + 2, close);

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

int confval_glob(const char *s)
{
	const char *why = glob_problem(s);
	struct confval_quote q;

	if (why)
		return error_set(ERR_INVALID, "%s in '%s'", why,
				 confval_quote(&q, s));
	return 0;
}

int confval_var_name(const char *s)
{
	size_t i;

	if (!(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return bad(s, "is not an environment variable name");
	for (i = 1; s[i]; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
			return bad(s, "is not an environment variable name");
	return 0;
}

int confval_user(const char *s)
{
	return s[0] == '-' ? bad(s, "is not a user name") : 0;
}

bool confval_is_name(const char *s)
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

/* The host part of an entry, from `rest` (after "user@"). */
static int split_host(const char *rest, struct confval_host *out,
		      const char **after_out)
{
	const char *host = rest, *after;
	size_t len, i;

	if (*rest == '[') {
		host = rest + 1;
		after = strchr(host, ']');
		if (!after)
			return error_set(ERR_INVALID, "missing ']' after IPv6 "
					 "address");
		len = (size_t)(after - host);
		if (!len)
			return error_set(ERR_INVALID, "empty host name");
		for (i = 0; i < len; i++)
			if (!isxdigit((unsigned char)host[i]) &&
			    host[i] != ':' && host[i] != '.')
				return error_set(ERR_INVALID,
						 "invalid IPv6 address");
		if (!memchr(host, ':', len))
			return error_set(ERR_INVALID, "invalid IPv6 address");
		after++;
	} else {
		len = strcspn(host, ":");
		after = host + len;
		if (*after == ':' && strchr(after + 1, ':'))
			return error_set(ERR_INVALID, "IPv6 addresses need "
					 "brackets, e.g. user@[::1]:22");
		if (!len)
			return error_set(ERR_INVALID, "empty host name");
		if (host[0] == '-')
			return error_set(ERR_INVALID,
					 "host name starts with '-'");
		for (i = 0; i < len; i++)
			if (!isalnum((unsigned char)host[i]) &&
			    host[i] != '.' && host[i] != '-')
				return error_set(ERR_INVALID, "host name may "
						 "only have letters, digits, "
						 "'.' and '-'");
	}
	if (len > CONFVAL_HOST_MAX)
		return error_set(ERR_INVALID, "host name is too long");
	out->host = host;
	out->host_len = len;
	*after_out = after;
	return 0;
}

int confval_host(const char *entry, struct confval_host *out)
{
	const char *at, *after = NULL;
	struct confval_quote q;
	size_t i;
	int r;

	memset(out, 0, sizeof(*out));
	if (!strcmp(entry, "local")) {
		out->local = true;
		return 0;
	}
	at = strchr(entry, '@');
	if (at) {
		out->user = entry;
		out->user_len = (size_t)(at - entry);
		if (!out->user_len)
			return error_set(ERR_INVALID, "empty user name");
		if (entry[0] == '-')
			return error_set(ERR_INVALID,
					 "user name starts with '-'");
		for (i = 0; i < out->user_len; i++)
			if (!isalnum((unsigned char)entry[i]) &&
			    !strchr("._-", entry[i]))
				return error_set(ERR_INVALID, "user name may "
						 "only have letters, digits, "
						 "'.', '_' and '-'");
	}
	if ((r = split_host(at ? at + 1 : entry, out, &after)) < 0)
		return r;
	if (*after == ':') {
		if (confval_uint(after + 1, 1, 65535, &out->port) < 0)
			return error_set(ERR_INVALID, "port '%s' is not a "
					 "number from 1 to 65535",
					 confval_quote(&q, after + 1));
	} else if (*after) {
		return error_set(ERR_INVALID, "unexpected text after ']'");
	}
	return 0;
}

int confval_remote(const char *s, struct confval_remote *out)
{
	const char *rest = s, *end, *path;
	size_t len;
	int r;

	memset(out, 0, sizeof(*out));
	if (!strncmp(s, "ssh://", 6)) {
		rest = s + 6;
		end = rest;
		if (strchr(rest, '[') && strchr(rest, ']') &&
		    strchr(rest, '[') < strchr(rest, '/'))
			end = strchr(rest, ']');
		end = strchr(end, '/');
		if (!end)
			return error_set(ERR_INVALID, "no path after the host");
		path = end;
	} else {
		if (strstr(s, "://"))
			return error_set(ERR_INVALID, "only ssh:// remotes, or "
					 "USER@HOST:PATH");
		end = rest;
		if (strchr(rest, '[') && strchr(rest, ']'))
			end = strchr(rest, ']');
		end = strchr(end, ':');
		if (!end)
			return error_set(ERR_INVALID, "no ':' between the host "
					 "and the path");
		path = end + 1;
	}
	len = (size_t)(end - rest);
	if (!len || len >= sizeof(out->text))
		return error_set(ERR_INVALID, "bad host part");
	memcpy(out->text, rest, len);
	out->text[len] = '\0';
	if ((r = confval_host(out->text, &out->host)) < 0)
		return r;
	if (out->host.local)
		return error_set(ERR_INVALID, "'local' is not a remote host");
	if (!*path || (path[0] == '/' && !path[1]))
		return error_set(ERR_INVALID, "empty repository path");
	if (path[0] == '-')
		return error_set(ERR_INVALID, "repository path starts with "
				 "'-'");
	for (end = path; *end; end++)
		if ((unsigned char)*end < 0x20 || *end == 0x7f)
			return error_set(ERR_INVALID, "control character in "
					 "the repository path");
	out->path = path;
	return 0;
}

int confval_remote_check(const char *s)
{
	struct confval_remote rem;
	struct confval_quote q;
	int r = confval_remote(s, &rem);

	if (r < 0) {
		char why[200];

		snprintf(why, sizeof(why), "%s", error_last());
		error_clear();
		return error_set(ERR_INVALID, "'%s': %s", confval_quote(&q, s),
				 why);
	}
	return 0;
}
