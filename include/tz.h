#ifndef TZ_H
#define TZ_H

#include <stdbool.h>
#include <stdint.h>

struct buf;

/*
 * IANA time zones read from the system's TZif files (RFC 8536), for deploy
 * windows (SPEC §13). Pure: no TZ variable, no tzset(), no global state
 * but the built-in UTC zone, so the TZ of the process never matters.
 *
 * Two kinds of time appear below. An instant is seconds since the epoch
 * (UTC). A local time is seconds since 1970-01-01 00:00 on the zone's
 * wall clock, so tz_split() and tz_join() turn it into fields and back
 * with no zone involved.
 *
 * Daylight saving time, for a local time turned into an instant:
 *
 *  - a local time that the clock skips (spring forward: 02:30 on
 *    2026-03-29 in Europe/Berlin) happens at the instant the clock jumps
 *    over it (03:00 CEST, 01:00Z);
 *  - a local time that the clock shows twice (fall back: 02:30 on
 *    2026-10-25 in Europe/Berlin) happens once, at its first occurrence
 *    (02:30 CEST, 00:30Z).
 *
 * So tz_to_utc() never decreases as the local time grows. Instants are
 * supported from TZ_TIME_MIN to TZ_TIME_MAX: the rule at the end of a
 * TZif file (its POSIX TZ string) is expanded up to TZ_YEAR_MAX, and the
 * last offset holds after that.
 */

/* Longest time zone name, in bytes. */
#define TZ_NAME_MAX 255

/* Largest TZif file read, in bytes (the biggest real one is about 4 KB). */
#define TZ_FILE_MAX (256 * 1024)

/* The years and instants supported: 1970-01-01T00:00Z to 2200-01-01. */
#define TZ_YEAR_MIN 1970
#define TZ_YEAR_MAX 2199
#define TZ_TIME_MIN INT64_C(0)
#define TZ_TIME_MAX INT64_C(7258118400)

/* The directory of the TZif files when TZDIR is unset or empty. */
#define TZ_DEFAULT_DIR "/usr/share/zoneinfo"

/* A loaded time zone (opaque). */
struct tz;

/*
 * The built-in UTC zone, named "UTC", needing no file. Never freed
 * (tz_free() ignores it).
 */
const struct tz *tz_utc(void);

/*
 * Load the zone `name`: "UTC" is the built-in zone, anything else an
 * IANA name (Europe/Berlin) whose TZif file is read from $TZDIR or
 * TZ_DEFAULT_DIR. Refused with ERR_INVALID: an empty name, an absolute
 * path, a ".." or empty component, characters other than letters,
 * digits and "/_-+.", "localtime", a file that is missing, not a regular
 * file, larger than TZ_FILE_MAX, not TZif, malformed, or counting leap
 * seconds (right/...). The message reads on after "invalid 'timezone': "
 * (see confval.h). *out is the caller's, to free with tz_free().
 */
int tz_load(struct tz **out, const char *name);

/* tz_load() as a schema check: loads `name` and frees it. */
int tz_check(const char *name);

/* Free a zone from tz_load(); NULL and tz_utc() are ignored. */
void tz_free(struct tz *z);

/* The name given to tz_load(); borrowed from `z`. */
const char *tz_name(const struct tz *z);

/*
 * The local time at instant `t` in `z`. *abbr_out (if abbr_out is not
 * NULL) is the abbreviation in force ("CEST", "+0530"), borrowed from z.
 */
int64_t tz_to_local(const struct tz *z, int64_t t, const char **abbr_out);

/* The instant of local time `local` in `z`, with the DST rules above. */
int64_t tz_to_utc(const struct tz *z, int64_t local);

/*
 * The largest UTC offset in force in `z` at any instant of [t - 2 days,
 * t], in seconds: how far ahead of `t` a local time happening at or
 * before `t` can be.
 */
int32_t tz_max_offset(const struct tz *z, int64_t t);

/* A local time (or an instant read in UTC) as calendar fields. */
struct tz_fields {
	int year;
	int month;		/* 1-12 */
	int day;		/* 1-31 */
	int hour;		/* 0-23 */
	int minute;		/* 0-59 */
	int second;		/* 0-59 */
	int weekday;		/* 0-6, Sunday is 0 (tz_split() only) */
};

/* Days since 1970-01-01 of the proleptic Gregorian date y-m-d. */
int64_t tz_days_from_civil(int year, int month, int day);

/* 28 to 31; 0 if `month` is not 1-12. */
int tz_days_in_month(int year, int month);

/* Split local time `local` into fields (weekday included). */
void tz_split(int64_t local, struct tz_fields *out);

/* The local time of fields `f` (weekday ignored; no range checks). */
int64_t tz_join(const struct tz_fields *f);

/*
 * Parse a local time written YYYY-MM-DDTHH:MM (`from` and `until` in
 * hooks.ini), years TZ_YEAR_MIN to TZ_YEAR_MAX. ERR_INVALID with a
 * message that reads on after "invalid 'KEY': ".
 */
int tz_parse_local(int64_t *out, const char *s);

/* tz_parse_local() as a schema check. */
int tz_check_local(const char *s);

/*
 * Parse the TIME of `pushgate windows --at TIME` into an instant:
 * YYYY-MM-DDTHH:MM[:SS] followed by "Z" (UTC), or without it a local time
 * in `z` (NULL: UTC; the DST rules above), or @SECONDS since the epoch.
 * Within TZ_TIME_MIN to TZ_TIME_MAX. ERR_INVALID with a message.
 */
int tz_parse_at(int64_t *out, const char *s, const struct tz *z);

/*
 * Append instant `t` as the wall clock of `z` shows it:
 * "2026-10-23 17:00 CEST", with ":SS" after the minutes when the seconds
 * are not zero. Returns buf_error(b).
 */
int tz_addtime(struct buf *b, const struct tz *z, int64_t t);

#endif
