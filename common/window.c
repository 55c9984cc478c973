#include "window.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "confval.h"
#include "cron.h"
#include "errors.h"
#include "tz.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const char *const kinds[] = { "deny", "allow" };
static const char *const manuals[] = { "deny", "allow" };

void window_init(struct window *w)
{
	memset(w, 0, sizeof(*w));
}

void window_release(struct window *w)
{
	free(w->name);
	free(w->message);
	tz_free(w->zone);
	window_init(w);
}

const struct tz *window_zone(const struct window *w)
{
	return w->zone ? w->zone : tz_utc();
}

int window_check_kind(const char *s)
{
	size_t i;

	return confval_word(s, kinds, ARRAY_SIZE(kinds), &i);
}

int window_check_manual(const char *s)
{
	size_t i;

	return confval_word(s, manuals, ARRAY_SIZE(manuals), &i);
}

static int parse_duration(const char *s, int64_t *out)
{
	struct confval_quote q;
	uint64_t n;

	*out = 0;
	if (parse_uint(s, 1, WINDOW_DURATION_MAX, &n) < 0)
		return error_set(ERR_INVALID, "'%s' is not a number of seconds "
				 "from 1 to %d", confval_quote(&q, s),
				 WINDOW_DURATION_MAX);
	*out = (int64_t)n;
	return 0;
}

int window_check_duration(const char *s)
{
	int64_t n;

	return parse_duration(s, &n);
}

/* ERR_INVALID with "invalid 'KEY': " before the message of `r`. */
static int invalid(int r, const char *key)
{
	struct error_saved saved;

	if (r >= 0)
		return r;
	error_save(&saved);
	return error_set(r, "invalid '%s': %s", key, saved.msg);
}

/* The keys of `spec` that are set, checked alone. */
static int parse_values(struct window *w, const struct window_spec *spec,
			int64_t *from_local, int64_t *until_local)
{
	size_t i;
	int r;

	if (spec->kind) {
		if ((r = invalid(confval_word(spec->kind, kinds,
					      ARRAY_SIZE(kinds), &i),
				 "kind")) < 0)
			return r;
		w->kind = i ? WINDOW_ALLOW : WINDOW_DENY;
	}
	if (spec->manual) {
		if ((r = invalid(confval_word(spec->manual, manuals,
					      ARRAY_SIZE(manuals), &i),
				 "manual")) < 0)
			return r;
		w->manual = i ? WINDOW_MANUAL_ALLOW : WINDOW_MANUAL_DENY;
	}
	if ((spec->start &&
	     (r = invalid(cron_parse(&w->start, spec->start), "start")) < 0) ||
	    (spec->end &&
	     (r = invalid(cron_parse(&w->end, spec->end), "end")) < 0) ||
	    (spec->duration &&
	     (r = invalid(parse_duration(spec->duration, &w->duration),
			  "duration")) < 0) ||
	    (spec->from &&
	     (r = invalid(tz_parse_local(from_local, spec->from),
			  "from")) < 0) ||
	    (spec->until &&
	     (r = invalid(tz_parse_local(until_local, spec->until),
			  "until")) < 0))
		return r;
	if (spec->timezone && strcmp(spec->timezone, "UTC") &&
	    (r = invalid(tz_load(&w->zone, spec->timezone), "timezone")) < 0)
		return r;
	return 0;
}

/* Which keys go together. */
static int check_shape(struct window *w, const struct window_spec *spec)
{
	if (spec->start) {
		if (spec->from || spec->until)
			return error_set(ERR_INVALID, "'%s' cannot be used with "
					 "'start'",
					 spec->from ? "from" : "until");
		if (spec->end && spec->duration)
			return error_set(ERR_INVALID, "'end' and 'duration' "
					 "cannot both be set");
		if (!spec->end && !spec->duration)
			return error_set(ERR_INVALID, "'start' needs 'end' or "
					 "'duration'");
		w->shape = spec->end ? WINDOW_START_END :
			WINDOW_START_DURATION;
		return 0;
	}
	if (spec->end || spec->duration)
		return error_set(ERR_INVALID, "'%s' needs 'start'",
				 spec->end ? "end" : "duration");
	if (!spec->from && !spec->until)
		return error_set(ERR_INVALID, "set 'start' (with 'end' or "
				 "'duration') or 'from' and 'until'");
	if (!spec->from || !spec->until)
		return error_set(ERR_INVALID, "'%s' needs '%s'",
				 spec->from ? "from" : "until",
				 spec->from ? "until" : "from");
	w->shape = WINDOW_FROM_UNTIL;
	return 0;
}

int window_parse(struct window *out, const struct window_spec *spec)
{
	int64_t from = 0, until = 0;
	int r;

	window_init(out);
	if ((r = parse_values(out, spec, &from, &until)) < 0 ||
	    (r = check_shape(out, spec)) < 0)
		goto out;
	if (out->shape == WINDOW_FROM_UNTIL) {
		out->from = tz_to_utc(window_zone(out), from);
		out->until = tz_to_utc(window_zone(out), until);
		if (out->until <= out->from) {
			r = error_set(ERR_INVALID, "'until' is not after "
				      "'from'");
			goto out;
		}
	}
	if (out->kind == WINDOW_ALLOW && out->manual == WINDOW_MANUAL_ALLOW) {
		r = error_set(ERR_INVALID, "'manual = allow' only applies to a "
			      "deny window");
		goto out;
	}
	out->name = xstrdup(spec->name ? spec->name : "");
	if (spec->message)
		out->message = xstrdup(spec->message);
out:
	if (r < 0)
		window_release(out);
	return r;
}

/* True if `c` has an occurrence at instant `t` in `z`. */
static bool occurs_at(const struct cron *c, const struct tz *z, int64_t t)
{
	int64_t last;

	return cron_prev(c, z, t, &last) && last == t;
}

static void state_start_end(struct window_state *out,
			    const struct window *w, int64_t at)
{
	const struct tz *z = window_zone(w);
	int64_t start, end, t = at;
	bool has_end;
	int i;

	has_end = cron_prev(&w->end, z, at, &end);
	out->open = cron_prev(&w->start, z, at, &start) &&
		(!has_end || start > end);
	if (out->open) {
		/* an end closes it, even at the instant of a start */
		out->changes = cron_next(&w->end, z, at, &out->change);
		return;
	}
	/* the first start that no end cancels opens it */
	for (i = 0; i < WINDOW_STEPS_MAX; i++) {
		if (!cron_next(&w->start, z, t, &start))
			return;
		if (!occurs_at(&w->end, z, start)) {
			out->changes = true;
			out->change = start;
			return;
		}
		t = start;
	}
	out->changes = true;
	out->change = t;
}

static void state_duration(struct window_state *out, const struct window *w,
			   int64_t at)
{
	const struct tz *z = window_zone(w);
	int64_t start, next;
	int i;

	/* the last start gives the latest end of the openings so far */
	out->open = cron_prev(&w->start, z, at, &start) &&
		at < start + w->duration;
	if (!out->open) {
		out->changes = cron_next(&w->start, z, at, &out->change);
		return;
	}
	/* a start at or before the end keeps it open */
	out->changes = true;
	out->change = start + w->duration;
	for (i = 0; i < WINDOW_STEPS_MAX; i++) {
		if (!cron_next(&w->start, z, start, &next) ||
		    next > out->change)
			return;
		start = next;
		out->change = start + w->duration;
	}
}

void window_state(struct window_state *out, const struct window *w,
		  int64_t at)
{
	memset(out, 0, sizeof(*out));
	switch (w->shape) {
	case WINDOW_START_END:
		state_start_end(out, w, at);
		break;
	case WINDOW_START_DURATION:
		state_duration(out, w, at);
		break;
	case WINDOW_FROM_UNTIL:
		out->open = w->from <= at && at < w->until;
		out->changes = at < w->until;
		out->change = at < w->from ? w->from : w->until;
		break;
	}
}

/* Does window `w` count for this deploy? */
static bool counts(const struct window *w, bool manual)
{
	return !(manual && w->kind == WINDOW_DENY &&
		 w->manual == WINDOW_MANUAL_ALLOW);
}

/*
 * The verdict at one instant, from the states there: allowed, or the
 * window to blame.
 */
static bool allowed_now(const struct window *const *windows,
			const struct window_state *st, size_t nr, bool manual,
			const struct window **by)
{
	const struct window *deny = NULL, *allow = NULL;
	const struct window_state *deny_st = NULL, *allow_st = NULL;
	bool has_allow = false, allow_open = false;
	size_t i;

	for (i = 0; i < nr; i++) {
		const struct window *w = windows[i];

		if (!counts(w, manual))
			continue;
		if (w->kind == WINDOW_DENY) {
			if (!st[i].open)
				continue;
			/* the open deny window that closes last */
			if (!deny || (deny_st->changes &&
				      (!st[i].changes ||
				       st[i].change > deny_st->change))) {
				deny = w;
				deny_st = &st[i];
			}
			continue;
		}
		has_allow = true;
		if (st[i].open)
			allow_open = true;
		/* the allow window that opens first */
		if (!allow || (st[i].changes &&
			       (!allow_st->changes ||
				st[i].change < allow_st->change))) {
			allow = w;
			allow_st = &st[i];
		}
	}
	if (deny) {
		*by = deny;
		return false;
	}
	if (has_allow && !allow_open) {
		*by = allow;
		return false;
	}
	*by = NULL;
	return true;
}

void window_decide(struct window_decision *out,
		   const struct window *const *windows, size_t nr, int64_t at,
		   bool manual)
{
	struct window_state *st;
	const struct window *by;
	int64_t t = at;
	size_t i;
	int step;

	memset(out, 0, sizeof(*out));
	if (!nr) {
		out->allowed = true;
		return;
	}
	st = xcalloc(nr, sizeof(*st));
	for (i = 0; i < nr; i++)
		if (counts(windows[i], manual))
			window_state(&st[i], windows[i], at);
	out->allowed = allowed_now(windows, st, nr, manual, &out->by);
	/*
	 * Held: follow the changes of every window, in order, to the first
	 * instant the verdict turns. A state holds up to its next change,
	 * so only the windows changing at each step are evaluated again.
	 */
	for (step = 0; !out->allowed && step < WINDOW_STEPS_MAX; step++) {
		bool any = false;

		for (i = 0; i < nr; i++) {
			if (!st[i].changes || !counts(windows[i], manual))
				continue;
			if (!any || st[i].change < t)
				t = st[i].change;
			any = true;
		}
		if (!any)
			goto out;	/* held for good */
		for (i = 0; i < nr; i++)
			if (st[i].changes && st[i].change == t &&
			    counts(windows[i], manual))
				window_state(&st[i], windows[i], t);
		if (allowed_now(windows, st, nr, manual, &by))
			break;
	}
	if (!out->allowed) {
		out->has_until = true;
		out->until = t;
	}
out:
	free(st);
}

size_t window_changes(int64_t *out, size_t max, const struct window *w,
		      int64_t at)
{
	struct window_state st;
	size_t n = 0;

	window_state(&st, w, at);
	while (n < max && st.changes) {
		out[n++] = st.change;
		window_state(&st, w, st.change);
	}
	return n;
}

int window_addtime(struct buf *b, const struct window *w, int64_t t)
{
	const struct tz *z = window_zone(w);
	struct tz_fields f;

	tz_addtime(b, z, t);
	if (z != tz_utc()) {
		tz_split(t, &f);
		buf_addf(b, " (%04d-%02d-%02d %02d:%02d", f.year, f.month,
			 f.day, f.hour, f.minute);
		if (f.second)
			buf_addf(b, ":%02d", f.second);
		buf_addstr(b, "Z)");
	}
	return buf_error(b);
}
