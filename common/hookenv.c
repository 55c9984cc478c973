#include "hookenv.h"

#include <stddef.h>

struct var {
	const char *name;
	size_t off;
};

static const struct var vars[] = {
	{ "PUSHGATE_ENV", offsetof(struct hookenv, env) },
	{ "PUSHGATE_COMMIT", offsetof(struct hookenv, commit) },
	{ "PUSHGATE_REF", offsetof(struct hookenv, ref) },
	{ "PUSHGATE_RELEASE", offsetof(struct hookenv, release) },
	{ "PUSHGATE_PREVIOUS", offsetof(struct hookenv, previous) },
	{ "PUSHGATE_USER", offsetof(struct hookenv, user) },
};

#define NR_VARS (sizeof(vars) / sizeof(vars[0]))

static const char *value(const struct hookenv *h, size_t i)
{
	const char *v = *(const char *const *)((const char *)h + vars[i].off);

	return v ? v : "";
}

void hookenv_strvec(struct strvec *out, const struct hookenv *h)
{
	size_t i;

	for (i = 0; i < NR_VARS; i++)
		strvec_pushf(out, "%s=%s", vars[i].name, value(h, i));
}

void hookenv_shell(struct buf *out, const struct hookenv *h)
{
	size_t i;

	for (i = 0; i < NR_VARS; i++) {
		buf_addf(out, "%s%s=", i ? " " : "", vars[i].name);
		buf_addshq(out, value(h, i));
	}
	buf_addstr(out, "; export");
	for (i = 0; i < NR_VARS; i++)
		buf_addf(out, " %s", vars[i].name);
	buf_addstr(out, "; ");
}
