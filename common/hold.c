#include "hold.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "timeutil.h"

/* Copy `s` into `out` (size `size`), tabs and control bytes as spaces. */
static void clean_copy(char *out, size_t size, const char *s)
{
	size_t i;

	snprintf(out, size, "%s", s ? s : "");
	for (i = 0; out[i]; i++)
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
			out[i] = ' ';
}

int hold_lock_set(struct state *st, const char *env, const char *user,
		  const char *reason, int64_t now)
{
	char u[HOLD_USER_MAX], why[HOLD_REASON_MAX];
	struct buf text = BUF_INIT;
	int r;

	clean_copy(u, sizeof(u), user);
	clean_copy(why, sizeof(why), reason);
	buf_addf(&text, "%s\t%lld\t%s\n", u, (long long)now, why);
	if ((r = buf_error(&text)) == 0)
		r = state_hold_set(st, env, text.ptr);
	buf_release(&text);
	return r;
}

int hold_lock_get(struct state *st, const char *env, struct hold_lock *out,
		  bool *held)
{
	char *text = NULL, *tab1, *tab2, *nl;
	int r;

	memset(out, 0, sizeof(*out));
	*held = false;
	if ((r = state_hold_get(st, env, &text)) < 0 || !text)
		return r;
	*held = true;	/* whatever the file says: it exists */
	if ((nl = strchr(text, '\n')))
		*nl = '\0';
	if ((tab1 = strchr(text, '\t')) && (tab2 = strchr(tab1 + 1, '\t'))) {
		*tab1 = *tab2 = '\0';
		clean_copy(out->user, sizeof(out->user), text);
		out->since = strtoll(tab1 + 1, NULL, 10);
		clean_copy(out->reason, sizeof(out->reason), tab2 + 1);
	} else {
		clean_copy(out->reason, sizeof(out->reason), text);
	}
	free(text);
	return 0;
}

int hold_lock_clear(struct state *st, const char *env, bool *was_held)
{
	return state_hold_clear(st, env, was_held);
}

int hold_decide(struct hold_decision *out, const struct config *cfg,
		const struct config_env *env, struct state *st, int64_t now,
		bool manual)
{
	const struct window *windows[CONFIG_MAX_WINDOWS];
	struct window_decision wd;
	bool held;
	size_t n;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = hold_lock_get(st, env->name, &out->lock, &held)) < 0)
		return r;
	if (held) {
		out->by = HOLD_LOCK;
		return 0;
	}
	n = config_env_windows(cfg, env, windows, CONFIG_MAX_WINDOWS);
	if (!n)
		return 0;
	window_decide(&wd, windows, n, now, manual);
	if (wd.allowed)
		return 0;
	out->by = HOLD_WINDOW;
	out->window = wd.by;
	out->has_until = wd.has_until;
	out->until = wd.until;
	return 0;
}

void hold_describe(struct buf *out, const struct hold_decision *d)
{
	char when[TIMEUTIL_TEXT_MAX];

	switch (d->by) {
	case HOLD_NONE:
		return;
	case HOLD_LOCK:
		timeutil_format(when, d->lock.since, TIMEUTIL_HUMAN);
		buf_addf(out, "held by lock: %s (%s, %s)",
			 d->lock.reason[0] ? d->lock.reason : "no reason given",
			 d->lock.user[0] ? d->lock.user : "unknown", when);
		return;
	case HOLD_WINDOW:
		buf_addf(out, "held by window \"%s\" ", d->window->name);
		if (d->has_until) {
			buf_addstr(out, "until ");
			window_addtime(out, d->window, d->until);
		} else {
			buf_addstr(out, "with no end in sight");
		}
		if (d->window->message)
			buf_addf(out, ": %s", d->window->message);
		return;
	}
	BUG("hold_describe: %d", (int)d->by);
}
