#include "cron.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "confval.h"
#include "errors.h"
#include "tz.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Candidate minutes whose instant is not past the one asked about, at
 * most: those of a repeated hour (or day) of a fall-back, and the first.
 */
#define SKIP_MAX (26 * 60 + 2)

static const char *const month_names[] = {
	"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
	"JUL", "AUG", "SEP", "OCT", "NOV", "DEC"
};

static const char *const day_names[] = {
	"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"
};

struct field {
	const char *name;
	int min, max;
	const char *const *names;	/* min is names[0] */
	size_t nr_names;
	const char *names_hint;
};

static const struct field fields[] = {
	{ "minute", 0, 59, NULL, 0, NULL },
	{ "hour", 0, 23, NULL, 0, NULL },
	{ "day-of-month", 1, 31, NULL, 0, NULL },
	{ "month", 1, 12, month_names, ARRAY_SIZE(month_names), "JAN-DEC" },
	{ "day-of-week", 0, 7, day_names, ARRAY_SIZE(day_names), "SUN-SAT" },
};

/* One value of field `f` (`n` bytes of `s`): a number or a name. */
static int parse_value(const struct field *f, const char *s, size_t n,
		       int *out)
{
	char text[CRON_TEXT_MAX + 1];
	struct confval_quote q;
	size_t i;
	int v = 0;

	memcpy(text, s, n);
	text[n] = '\0';
	if (n && strspn(text, "0123456789") == n) {
		for (i = 0; i < n && v <= f->max; i++)
			v = v * 10 + (text[i] - '0');
		if (v < f->min || v > f->max)
			return error_set(ERR_INVALID, "%s field: '%s' is not "
					 "from %d to %d", f->name,
					 confval_quote(&q, text), f->min,
					 f->max);
		*out = v;
		return 0;
	}
	for (i = 0; n == 3 && i < f->nr_names; i++) {
		if (!strcasecmp(text, f->names[i])) {
			*out = f->min + (int)i;
			return 0;
		}
	}
	if (f->names)
		return error_set(ERR_INVALID, "%s field: '%s' is not a number "
				 "from %d to %d or a name %s", f->name,
				 confval_quote(&q, text), f->min, f->max,
				 f->names_hint);
	return error_set(ERR_INVALID, "%s field: '%s' is not a number from "
			 "%d to %d", f->name, confval_quote(&q, text), f->min,
			 f->max);
}

/* One list item: `*`, N, N-M, with /S. Sets its bits in *bits. */
static int parse_item(const struct field *f, const char *s, size_t n,
		      uint64_t *bits)
{
	char text[CRON_TEXT_MAX + 1];
	struct confval_quote q;
	const char *slash, *dash;
	int lo, hi, step = 0, v, r;

	memcpy(text, s, n);
	text[n] = '\0';
	if (!n)
		return error_set(ERR_INVALID, "%s field: empty list item",
				 f->name);
	slash = memchr(s, '/', n);
	if (slash) {
		const char *p = slash + 1;
		size_t len = n - (size_t)(p - s), i;
		int span = f->max - f->min;

		for (i = 0; i < len && i < 3 && isdigit((unsigned char)p[i]);
		     i++)
			step = step * 10 + (p[i] - '0');
		if (!len || i < len || step < 1 || step > span)
			return error_set(ERR_INVALID, "%s field: step in '%s' "
					 "is not from 1 to %d", f->name,
					 confval_quote(&q, text), span);
		n = (size_t)(slash - s);
	}
	dash = memchr(s, '-', n);
	if (n == 1 && s[0] == '*') {
		lo = f->min;
		hi = f->max;
	} else if (dash) {
		if (dash == s || (size_t)(dash - s) + 1 == n)
			return error_set(ERR_INVALID, "%s field: range '%s' "
					 "needs both ends", f->name,
					 confval_quote(&q, text));
		if ((r = parse_value(f, s, (size_t)(dash - s), &lo)) < 0 ||
		    (r = parse_value(f, dash + 1, n - (size_t)(dash - s) - 1,
				     &hi)) < 0)
			return r;
		if (f->max == 7 && hi == 0 && lo > 0)
			hi = 7;	/* FRI-SUN */
		if (hi < lo)
			return error_set(ERR_INVALID, "%s field: range '%s' "
					 "goes backwards", f->name,
					 confval_quote(&q, text));
	} else {
		if ((r = parse_value(f, s, n, &lo)) < 0)
			return r;
		if (slash)
			return error_set(ERR_INVALID, "%s field: a step needs "
					 "'*' or a range ('%s': write "
					 "%d-%d%s)", f->name,
					 confval_quote(&q, text), lo, f->max,
					 text + (slash - s));
		hi = lo;
	}
	if (!step)
		step = 1;
	for (v = lo; v <= hi; v += step)
		*bits |= UINT64_C(1) << v;
	return 0;
}

static int parse_field(const struct field *f, const char *s, size_t n,
		       uint64_t *bits)
{
	size_t i = 0;
	int r;

	*bits = 0;
	for (;;) {
		const char *comma = memchr(s + i, ',', n - i);
		size_t len = comma ? (size_t)(comma - s) - i : n - i;

		if ((r = parse_item(f, s + i, len, bits)) < 0)
			return r;
		if (!comma)
			return 0;
		i += len + 1;
	}
}

int cron_parse(struct cron *out, const char *s)
{
	const char *start[ARRAY_SIZE(fields)];
	size_t len[ARRAY_SIZE(fields)];
	uint64_t bits[ARRAY_SIZE(fields)];
	size_t nr = 0, i;
	int r;

	memset(out, 0, sizeof(*out));
	if (strlen(s) > CRON_TEXT_MAX)
		return error_set(ERR_INVALID, "cron expression longer than %d "
				 "bytes", CRON_TEXT_MAX);
	for (;;) {
		s += strspn(s, " \t");
		if (!*s)
			break;
		if (nr < ARRAY_SIZE(fields)) {
			start[nr] = s;
			len[nr] = strcspn(s, " \t");
		}
		nr++;
		s += strcspn(s, " \t");
	}
	if (!nr)
		return error_set(ERR_INVALID, "empty cron expression (use "
				 "minute hour day-of-month month "
				 "day-of-week)");
	if (nr != ARRAY_SIZE(fields))
		return error_set(ERR_INVALID, "%zu fields instead of 5 (minute "
				 "hour day-of-month month day-of-week)", nr);
	for (i = 0; i < nr; i++)
		if ((r = parse_field(&fields[i], start[i], len[i],
				     &bits[i])) < 0)
			return r;
	out->minutes = bits[0];
	out->hours = (uint32_t)bits[1];
	out->days = (uint32_t)bits[2];
	out->months = (uint16_t)bits[3];
	out->weekdays = (uint8_t)((bits[4] | bits[4] >> 7) & 0x7f);
	out->days_star = start[2][0] == '*';
	out->weekdays_star = start[4][0] == '*';
	return 0;
}

int cron_check(const char *s)
{
	struct cron c;

	return cron_parse(&c, s);
}

static bool day_matches(const struct cron *c, int y, int m, int d)
{
	int64_t days = tz_days_from_civil(y, m, d);
	int wday = (int)(((days + 4) % 7 + 7) % 7);
	bool dom = c->days >> d & 1;
	bool dow = c->weekdays >> wday & 1;

	if (c->days_star || c->weekdays_star)
		return dom && dow;
	return dom || dow;
}

bool cron_matches(const struct cron *c, int64_t local)
{
	struct tz_fields f;

	tz_split(local, &f);
	return (c->minutes >> f.minute & 1) && (c->hours >> f.hour & 1) &&
		(c->months >> f.month & 1) &&
		day_matches(c, f.year, f.month, f.day);
}

/*
 * The first matching minute at or after local time `local`, within
 * CRON_SEARCH_YEARS: each step skips a month, a day or to the next
 * matching hour, so a year costs at most a few hundred steps.
 */
static bool find_next(const struct cron *c, int64_t local, int64_t *out)
{
	struct tz_fields f;
	int last_year;

	tz_split(local + 59, &f);	/* up to a whole minute */
	f.second = 0;
	last_year = f.year + CRON_SEARCH_YEARS;
	if (last_year > TZ_YEAR_MAX + 1)
		last_year = TZ_YEAR_MAX + 1;
	while (f.year <= last_year) {
		uint32_t hours;
		uint64_t minutes;

		if (!(c->months >> f.month & 1) ||
		    f.day > tz_days_in_month(f.year, f.month)) {
			if (++f.month > 12) {
				f.month = 1;
				f.year++;
			}
			f.day = 1;
			f.hour = f.minute = 0;
			continue;
		}
		hours = c->hours >> f.hour;
		if (!hours || !day_matches(c, f.year, f.month, f.day)) {
			f.day++;
			f.hour = f.minute = 0;
			continue;
		}
		if (!(hours & 1)) {
			f.hour += __builtin_ctz(hours);
			f.minute = 0;
		}
		minutes = c->minutes >> f.minute;
		if (!minutes) {
			f.minute = 0;
			if (++f.hour == 24) {
				f.hour = 0;
				f.day++;
			}
			continue;
		}
		f.minute += __builtin_ctzll(minutes);
		*out = tz_join(&f);
		return true;
	}
	return false;
}

/* Step back to the last minute of the day before f's. */
static void day_before(struct tz_fields *f)
{
	if (--f->day < 1) {
		if (--f->month < 1) {
			f->month = 12;
			f->year--;
		}
		f->day = tz_days_in_month(f->year, f->month);
	}
	f->hour = 23;
	f->minute = 59;
}

/* The last matching minute at or before local time `local`. */
static bool find_prev(const struct cron *c, int64_t local, int64_t *out)
{
	struct tz_fields f;
	int first_year;

	tz_split(local, &f);
	f.second = 0;
	first_year = f.year - CRON_SEARCH_YEARS;
	if (first_year < TZ_YEAR_MIN - 1)
		first_year = TZ_YEAR_MIN - 1;
	while (f.year >= first_year) {
		uint32_t hours;
		uint64_t minutes;

		if (!(c->months >> f.month & 1)) {
			f.day = 1;
			day_before(&f);
			continue;
		}
		hours = c->hours & ((UINT32_C(2) << f.hour) - 1);
		if (!hours || !day_matches(c, f.year, f.month, f.day)) {
			day_before(&f);
			continue;
		}
		if (!(hours >> f.hour & 1)) {
			f.hour = 31 - __builtin_clz(hours);
			f.minute = 59;
		}
		minutes = c->minutes & ((UINT64_C(2) << f.minute) - 1);
		if (!minutes) {
			f.minute = 59;
			if (--f.hour < 0)
				day_before(&f);
			continue;
		}
		f.minute = 63 - __builtin_clzll(minutes);
		*out = tz_join(&f);
		return true;
	}
	return false;
}

bool cron_next(const struct cron *c, const struct tz *z, int64_t t,
	       int64_t *out)
{
	int64_t local = tz_to_local(z, t, NULL), found, at;
	int i;

	/*
	 * tz_to_utc() never decreases, so the first matching minute from
	 * the wall clock at `t` on whose instant is past `t` is the answer;
	 * minutes before are not, and those skipped here are the ones the
	 * clock showed earlier (a fall-back) or at `t` itself.
	 */
	local -= (local % 60 + 60) % 60;
	for (i = 0; i < SKIP_MAX; i++) {
		if (!find_next(c, local, &found))
			return false;
		at = tz_to_utc(z, found);
		if (at > t) {
			if (at >= TZ_TIME_MAX)
				return false;
			*out = at;
			return true;
		}
		local = found + 60;
	}
	return false;
}

bool cron_prev(const struct cron *c, const struct tz *z, int64_t t,
	       int64_t *out)
{
	int64_t local = t + tz_max_offset(z, t), found, at;
	int i;

	/*
	 * A minute shown before `t` may be ahead of the wall clock at `t`
	 * after a fall-back: start from the largest offset of the last
	 * days, and skip the minutes whose instant is after `t`.
	 */
	for (i = 0; i < SKIP_MAX; i++) {
		if (!find_prev(c, local, &found))
			return false;
		at = tz_to_utc(z, found);
		if (at <= t) {
			if (at < TZ_TIME_MIN)
				return false;
			*out = at;
			return true;
		}
		local = found - 60;
	}
	return false;
}
