#ifndef CRON_H
#define CRON_H

#include <stdbool.h>
#include <stdint.h>

struct tz;

/*
 * Five-field cron expressions (`start` and `end` of a deploy window,
 * SPEC §13) and their occurrences in a time zone.
 *
 * Fields: minute (0-59), hour (0-23), day of month (1-31), month (1-12 or
 * JAN-DEC), day of week (0-7 or SUN-SAT; 0 and 7 are Sunday). Each is a
 * comma-separated list of `*`, N, N-M, `*`/S or N-M/S; names are read in
 * any case and may end a range (MON-FRI; FRI-SUN is 5-7). A range goes
 * forwards (22-2 is refused); a step needs `*` or a range (5/10 is
 * refused: write 5-59/10).
 *
 * The day rule of classic (Vixie) cron: when the day-of-month and the
 * day-of-week fields are both restricted, a day matches if either does;
 * a field whose text starts with `*` (`*`, `*`/2) is unrestricted, and
 * then only the other one counts.
 *
 * An occurrence is a matching minute of the zone's wall clock, made an
 * instant with tz_to_utc(): a minute the clock skips happens when the
 * clock jumps (so `30 2 * * *` fires at 03:00 CEST on the day Berlin
 * springs forward), a minute the clock shows twice happens once, the
 * first time.
 */

/* Longest expression, in bytes. */
#define CRON_TEXT_MAX 256

/*
 * How far cron_next() and cron_prev() look, in years: far enough for any
 * expression that can match (Feb 29 comes back within 8 years, as 2100 is
 * not a leap year), so that one that cannot (`0 0 31 2 *`) answers
 * "never" after a bounded search.
 */
#define CRON_SEARCH_YEARS 9

struct cron {
	uint64_t minutes;	/* bit N: minute N matches */
	uint32_t hours;
	uint32_t days;		/* bits 1-31 */
	uint16_t months;	/* bits 1-12 */
	uint8_t weekdays;	/* bits 0-6, Sunday is 0 */
	bool days_star;		/* the day-of-month field starts with '*' */
	bool weekdays_star;
};

/*
 * Parse expression `s` into *out. ERR_INVALID with a one-line message
 * naming the field and the problem ("hour field: '24' is not from 0 to
 * 23"), which reads on after "invalid 'KEY': " (see confval.h).
 */
int cron_parse(struct cron *out, const char *s);

/* cron_parse() as a schema check. */
int cron_check(const char *s);

/* True if local time `local` (see tz.h) falls in a matching minute. */
bool cron_matches(const struct cron *c, int64_t local);

/*
 * The first occurrence strictly after instant `t` in zone `z`: true and
 * *out, or false if there is none within CRON_SEARCH_YEARS or before
 * TZ_TIME_MAX. The work is bounded: whole months, days and hours that
 * do not match are skipped at once.
 */
bool cron_next(const struct cron *c, const struct tz *z, int64_t t,
	       int64_t *out);

/*
 * The last occurrence at or before instant `t` in zone `z`: true and
 * *out, or false if there is none within CRON_SEARCH_YEARS or after
 * TZ_TIME_MIN.
 */
bool cron_prev(const struct cron *c, const struct tz *z, int64_t t,
	       int64_t *out);

#endif
