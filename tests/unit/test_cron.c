/*
 * Unit tests for cron and tz: cron expressions (valid and hostile), their
 * next and previous occurrences across month ends, leap years and the
 * day-of-month/day-of-week rule, in UTC and in zones with DST changes
 * (Europe/Berlin, America/New_York), odd offsets (Asia/Kolkata,
 * Pacific/Chatham); zone names, TZif files, local times and --at.
 * Nothing here depends on the TZ of the process.
 */
#include "unit.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cron.h"
#include "tz.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* An instant from "YYYY-MM-DDTHH:MM[:SS]Z". */
static int64_t at(const char *s)
{
	int64_t t;

	assert_ok(tz_parse_at(&t, s, NULL));
	return t;
}

/* An instant as "YYYY-MM-DDTHH:MM:SSZ", for readable failures. */
static const char *iso(int64_t t, char out[32])
{
	struct tz_fields f;

	tz_split(t, &f);
	snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02dZ", f.year, f.month,
		 f.day, f.hour, f.minute, f.second);
	return out;
}

static struct tz *load(const char *name)
{
	struct tz *z;

	assert_ok(tz_load(&z, name));
	return z;
}

struct valid_case {
	const char *expr;
	uint64_t minutes;
	uint32_t hours, days;
	uint16_t months;
	uint8_t weekdays;
	bool days_star, weekdays_star;
};

#define ALL_MIN ((UINT64_C(1) << 60) - 1)
#define ALL_HOURS ((UINT32_C(1) << 24) - 1)
#define ALL_DAYS (((UINT32_C(1) << 31) - 1) << 1)
#define ALL_MONTHS 0x1ffe
#define ALL_WDAYS 0x7f
#define B(n) (UINT64_C(1) << (n))

static void test_cron__parse(void **state)
{
	static const struct valid_case cases[] = {
		{ "* * * * *", ALL_MIN, ALL_HOURS, ALL_DAYS, ALL_MONTHS,
		  ALL_WDAYS, true, true },
		{ "*/15 * * * *", B(0) | B(15) | B(30) | B(45), ALL_HOURS,
		  ALL_DAYS, ALL_MONTHS, ALL_WDAYS, true, true },
		{ "1-5/2 0 * * *", B(1) | B(3) | B(5), 1, ALL_DAYS,
		  ALL_MONTHS, ALL_WDAYS, true, true },
		{ "0 9-17/4 * * *", 1, B(9) | B(13) | B(17), ALL_DAYS,
		  ALL_MONTHS, ALL_WDAYS, true, true },
		{ "59 23 31 12 6", B(59), B(23), B(31), B(12), B(6), false,
		  false },
		{ "0,30 8,20 1,15 * *", B(0) | B(30), B(8) | B(20),
		  B(1) | B(15), ALL_MONTHS, ALL_WDAYS, false, true },
		{ "0 17 * * FRI", 1, B(17), ALL_DAYS, ALL_MONTHS, B(5), true,
		  false },
		{ "0 8 * * mon-Fri", 1, B(8), ALL_DAYS, ALL_MONTHS, 0x3e,
		  true, false },
		{ "0 0 * jan,JUL,Dec *", 1, 1, ALL_DAYS, B(1) | B(7) | B(12),
		  ALL_WDAYS, true, true },
		{ "0 0 * MAR-may *", 1, 1, ALL_DAYS, B(3) | B(4) | B(5),
		  ALL_WDAYS, true, true },
		{ "0 0 * * 0", 1, 1, ALL_DAYS, ALL_MONTHS, B(0), true, false },
		{ "0 0 * * 7", 1, 1, ALL_DAYS, ALL_MONTHS, B(0), true, false },
		{ "0 0 * * 5-7", 1, 1, ALL_DAYS, ALL_MONTHS,
		  B(5) | B(6) | B(0), true, false },
		{ "0 0 * * FRI-SUN", 1, 1, ALL_DAYS, ALL_MONTHS,
		  B(5) | B(6) | B(0), true, false },
		{ "0 0 * * */2", 1, 1, ALL_DAYS, ALL_MONTHS,
		  B(0) | B(2) | B(4) | B(6), true, true },
		{ "0 0 */10 * *", 1, 1, B(1) | B(11) | B(21) | B(31),
		  ALL_MONTHS, ALL_WDAYS, true, true },
		{ "0 0 13 * FRI", 1, 1, B(13), ALL_MONTHS, B(5), false,
		  false },
		{ "  0\t0   *  *  *  ", 1, 1, ALL_DAYS, ALL_MONTHS, ALL_WDAYS,
		  true, true },
		{ "00 007 01 01 00", 1, B(7), B(1), B(1), B(0), false, false },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct valid_case *c = &cases[i];
		struct cron cron;

		if (cron_parse(&cron, c->expr) < 0)
			print_error("'%s': %s\n", c->expr, error_last());
		assert_ok(cron_parse(&cron, c->expr));
		if (cron.minutes != c->minutes || cron.hours != c->hours ||
		    cron.days != c->days || cron.months != c->months ||
		    cron.weekdays != c->weekdays ||
		    cron.days_star != c->days_star ||
		    cron.weekdays_star != c->weekdays_star)
			print_error("'%s': %llx %x %x %x %x %d %d\n", c->expr,
				    (unsigned long long)cron.minutes,
				    cron.hours, cron.days, cron.months,
				    cron.weekdays, cron.days_star,
				    cron.weekdays_star);
		assert_true(cron.minutes == c->minutes);
		assert_int_equal(cron.hours, c->hours);
		assert_int_equal(cron.days, c->days);
		assert_int_equal(cron.months, c->months);
		assert_int_equal(cron.weekdays, c->weekdays);
		assert_int_equal(cron.days_star, c->days_star);
		assert_int_equal(cron.weekdays_star, c->weekdays_star);
		assert_ok(cron_check(c->expr));
	}
}

struct invalid_case {
	const char *expr;
	const char *msg;
};

static void test_cron__invalid(void **state)
{
	static const struct invalid_case cases[] = {
		{ "", "empty cron expression (use minute hour day-of-month "
		  "month day-of-week)" },
		{ "   ", "empty cron expression (use minute hour "
		  "day-of-month month day-of-week)" },
		{ "* * * *", "4 fields instead of 5 (minute hour "
		  "day-of-month month day-of-week)" },
		{ "0 * * * * *", "6 fields instead of 5 (minute hour "
		  "day-of-month month day-of-week)" },
		{ "60 * * * *", "minute field: '60' is not from 0 to 59" },
		{ "* 24 * * *", "hour field: '24' is not from 0 to 23" },
		{ "* * 0 * *", "day-of-month field: '0' is not from 1 to 31" },
		{ "* * 32 * *", "day-of-month field: '32' is not from 1 to "
		  "31" },
		{ "* * * 13 *", "month field: '13' is not from 1 to 12" },
		{ "* * * 0 *", "month field: '0' is not from 1 to 12" },
		{ "* * * * 8", "day-of-week field: '8' is not from 0 to 7" },
		{ "* * * * FRY", "day-of-week field: 'FRY' is not a number "
		  "from 0 to 7 or a name SUN-SAT" },
		{ "* * * JANUARY *", "month field: 'JANUARY' is not a "
		  "number from 1 to 12 or a name JAN-DEC" },
		{ "* * MON * *", "day-of-month field: 'MON' is not a number "
		  "from 1 to 31" },
		{ "* * * MON *", "month field: 'MON' is not a number from 1 "
		  "to 12 or a name JAN-DEC" },
		{ "-1 * * * *", "minute field: range '-1' needs both ends" },
		{ "x * * * *", "minute field: 'x' is not a number from 0 to "
		  "59" },
		{ "1,,2 * * * *", "minute field: empty list item" },
		{ "1, * * * *", "minute field: empty list item" },
		{ "30-10 * * * *", "minute field: range '30-10' goes "
		  "backwards" },
		{ "* 22-2 * * *", "hour field: range '22-2' goes backwards" },
		{ "* * * DEC-JAN *", "month field: range 'DEC-JAN' goes "
		  "backwards" },
		{ "*/0 * * * *", "minute field: step in '*/0' is not from 1 "
		  "to 59" },
		{ "*/60 * * * *", "minute field: step in '*/60' is not from "
		  "1 to 59" },
		{ "*/ * * * *", "minute field: step in '*/' is not from 1 to "
		  "59" },
		{ "*/1x * * * *", "minute field: step in '*/1x' is not from "
		  "1 to 59" },
		{ "1-5/2/3 * * * *", "minute field: step in '1-5/2/3' is not "
		  "from 1 to 59" },
		{ "5/10 * * * *", "minute field: a step needs '*' or a range "
		  "('5/10': write 5-59/10)" },
		{ "* 3/2 * * *", "hour field: a step needs '*' or a range "
		  "('3/2': write 3-23/2)" },
		{ "1-2-3 * * * *", "minute field: '2-3' is not a number from "
		  "0 to 59" },
		{ "** * * * *", "minute field: '**' is not a number from 0 "
		  "to 59" },
		{ "0 0 * * MON-", "day-of-week field: range 'MON-' needs "
		  "both ends" },
		{ "99999999999999999999 * * * *", "minute field: "
		  "'99999999999999999999' is not from 0 to 59" },
		{ "\x01 * * * *", "minute field: '?' is not a number from 0 "
		  "to 59" },
		{ "@daily", "1 fields instead of 5 (minute hour day-of-month "
		  "month day-of-week)" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct cron cron;
		int r = cron_parse(&cron, cases[i].expr);

		if (r != ERR_INVALID || strcmp(error_last(), cases[i].msg))
			print_error("'%s': %d %s\n", cases[i].expr, r,
				    error_last());
		assert_int_equal(r, ERR_INVALID);
		assert_string_equal(error_last(), cases[i].msg);
		assert_int_equal(cron_check(cases[i].expr), ERR_INVALID);
	}
}

static void test_cron__too_long(void **state)
{
	char s[CRON_TEXT_MAX + 2];
	struct cron cron;

	(void)state;
	/* at the cap: 5 fields padded with spaces */
	memset(s, ' ', CRON_TEXT_MAX);
	memcpy(s, "0 0 * * *", 9);
	s[CRON_TEXT_MAX] = '\0';
	assert_ok(cron_parse(&cron, s));
	s[CRON_TEXT_MAX] = ' ';
	s[CRON_TEXT_MAX + 1] = '\0';
	assert_int_equal(cron_parse(&cron, s), ERR_INVALID);
	assert_string_equal(error_last(),
			    "cron expression longer than 256 bytes");
}

struct occ_case {
	const char *expr;
	const char *zone;
	const char *t;
	const char *next;	/* NULL: never */
	const char *prev;	/* NULL: never */
};

static void check_occurrences(const struct occ_case *cases, size_t nr)
{
	size_t i;

	for (i = 0; i < nr; i++) {
		const struct occ_case *c = &cases[i];
		struct tz *z = load(c->zone);
		int64_t t = at(c->t), next = 0, prev = 0;
		struct cron cron;
		char a[32], b[32];
		bool has_next, has_prev;

		assert_ok(cron_parse(&cron, c->expr));
		has_next = cron_next(&cron, z, t, &next);
		has_prev = cron_prev(&cron, z, t, &prev);
		if (has_next != !!c->next || has_prev != !!c->prev ||
		    (c->next && next != at(c->next)) ||
		    (c->prev && prev != at(c->prev)))
			print_error("'%s' in %s at %s: next %s, prev %s\n",
				    c->expr, c->zone, c->t,
				    has_next ? iso(next, a) : "never",
				    has_prev ? iso(prev, b) : "never");
		assert_int_equal(has_next, !!c->next);
		assert_int_equal(has_prev, !!c->prev);
		if (c->next)
			assert_string_equal(iso(next, a), iso(at(c->next), b));
		if (c->prev)
			assert_string_equal(iso(prev, a), iso(at(c->prev), b));
		tz_free(z);
	}
}

static void test_cron__utc(void **state)
{
	static const struct occ_case cases[] = {
		/* month ends, year end */
		{ "0 0 1 * *", "UTC", "2026-01-31T12:00Z",
		  "2026-02-01T00:00Z", "2026-01-01T00:00Z" },
		{ "0 0 31 * *", "UTC", "2026-04-15T00:00Z",
		  "2026-05-31T00:00Z", "2026-03-31T00:00Z" },
		{ "*/15 * * * *", "UTC", "2026-12-31T23:50Z",
		  "2027-01-01T00:00Z", "2026-12-31T23:45Z" },
		{ "59 23 31 12 *", "UTC", "2026-06-01T00:00Z",
		  "2026-12-31T23:59Z", "2025-12-31T23:59Z" },
		/* strictly after, at or before */
		{ "0 12 * * *", "UTC", "2026-05-05T12:00Z",
		  "2026-05-06T12:00Z", "2026-05-05T12:00Z" },
		{ "0 12 * * *", "UTC", "2026-05-05T12:00:01Z",
		  "2026-05-06T12:00Z", "2026-05-05T12:00Z" },
		{ "0 12 * * *", "UTC", "2026-05-05T11:59:59Z",
		  "2026-05-05T12:00Z", "2026-05-04T12:00Z" },
		{ "* * * * *", "UTC", "2026-05-05T10:20:30Z",
		  "2026-05-05T10:21Z", "2026-05-05T10:20Z" },
		/* leap years */
		{ "0 12 29 2 *", "UTC", "2026-03-01T00:00Z",
		  "2028-02-29T12:00Z", "2024-02-29T12:00Z" },
		{ "0 12 29 2 *", "UTC", "2096-03-01T00:00Z",
		  "2104-02-29T12:00Z", "2096-02-29T12:00Z" },
		{ "0 0 28-31 2 *", "UTC", "2028-02-28T12:00Z",
		  "2028-02-29T00:00Z", "2028-02-28T00:00Z" },
		{ "0 0 28-31 2 *", "UTC", "2027-02-28T12:00Z",
		  "2028-02-28T00:00Z", "2027-02-28T00:00Z" },
		/* never */
		{ "0 0 31 2 *", "UTC", "2026-01-01T00:00Z", NULL, NULL },
		{ "0 0 30 2 *", "UTC", "2026-01-01T00:00Z", NULL, NULL },
		{ "0 0 31 4,6,9,11 *", "UTC", "2026-01-01T00:00Z", NULL,
		  NULL },
		/* day of month OR day of week (2026-02-01 is a Sunday) */
		{ "0 0 13 * FRI", "UTC", "2026-02-01T00:00Z",
		  "2026-02-06T00:00Z", "2026-01-30T00:00Z" },
		{ "0 0 13 * FRI", "UTC", "2026-01-10T00:00Z",
		  "2026-01-13T00:00Z", "2026-01-09T00:00Z" },
		{ "0 0 1 * MON", "UTC", "2026-02-24T00:00Z",
		  "2026-03-01T00:00Z", "2026-02-23T00:00Z" },
		/* a '*' field makes it AND: odd days that are Mondays */
		{ "0 0 */2 * MON", "UTC", "2026-02-01T00:00Z",
		  "2026-02-09T00:00Z", "2026-01-19T00:00Z" },
		{ "0 0 * * MON", "UTC", "2026-02-01T00:00Z",
		  "2026-02-02T00:00Z", "2026-01-26T00:00Z" },
		/* names, steps, Sunday as 0 and 7 */
		{ "0 17 * * FRI", "UTC", "2026-10-21T00:00Z",
		  "2026-10-23T17:00Z", "2026-10-16T17:00Z" },
		{ "30 8 * * 7", "UTC", "2026-02-02T00:00Z",
		  "2026-02-08T08:30Z", "2026-02-01T08:30Z" },
		{ "0 0 1 jul *", "UTC", "2026-07-02T00:00Z",
		  "2027-07-01T00:00Z", "2026-07-01T00:00Z" },
		{ "10-50/20 9-17/8 * * *", "UTC", "2026-05-05T09:31Z",
		  "2026-05-05T09:50Z", "2026-05-05T09:30Z" },
		{ "10-50/20 9-17/8 * * *", "UTC", "2026-05-05T09:51Z",
		  "2026-05-05T17:10Z", "2026-05-05T09:50Z" },
		{ "0 0 * * sat,sun", "UTC", "2026-02-02T00:00Z",
		  "2026-02-07T00:00Z", "2026-02-01T00:00Z" },
		/* the edges of the supported years */
		{ "0 0 1 1 *", "UTC", "2199-06-01T00:00Z", NULL,
		  "2199-01-01T00:00Z" },
		{ "0 0 1 1 *", "UTC", "1970-06-01T00:00Z",
		  "1971-01-01T00:00Z", "1970-01-01T00:00Z" },
		{ "0 0 2 1 *", "UTC", "1970-06-01T00:00Z",
		  "1971-01-02T00:00Z", "1970-01-02T00:00Z" },
		{ "0 0 31 12 *", "UTC", "1970-06-01T00:00Z",
		  "1970-12-31T00:00Z", NULL },
	};

	(void)state;
	check_occurrences(cases, ARRAY_SIZE(cases));
}

static void test_cron__zones(void **state)
{
	static const struct occ_case cases[] = {
		/* Berlin springs forward 2026-03-29 02:00 CET -> 03:00 */
		{ "30 2 * * *", "Europe/Berlin", "2026-03-28T12:00Z",
		  "2026-03-29T01:00Z", "2026-03-28T01:30Z" },
		{ "0 2 * * *", "Europe/Berlin", "2026-03-28T12:00Z",
		  "2026-03-29T01:00Z", "2026-03-28T01:00Z" },
		{ "30 2 * * *", "Europe/Berlin", "2026-03-29T01:00Z",
		  "2026-03-30T00:30Z", "2026-03-29T01:00Z" },
		{ "30 2 * * *", "Europe/Berlin", "2026-03-29T00:59:59Z",
		  "2026-03-29T01:00Z", "2026-03-28T01:30Z" },
		{ "0 3 * * *", "Europe/Berlin", "2026-03-29T00:30Z",
		  "2026-03-29T01:00Z", "2026-03-28T02:00Z" },
		{ "59 1 * * *", "Europe/Berlin", "2026-03-29T01:00Z",
		  "2026-03-29T23:59Z", "2026-03-29T00:59Z" },
		/* Berlin falls back 2026-10-25 03:00 CEST -> 02:00 CET */
		{ "30 2 * * *", "Europe/Berlin", "2026-10-24T12:00Z",
		  "2026-10-25T00:30Z", "2026-10-24T00:30Z" },
		{ "30 2 * * *", "Europe/Berlin", "2026-10-25T00:30Z",
		  "2026-10-26T01:30Z", "2026-10-25T00:30Z" },
		/* 02:10 CET, the second time: 02:30 was already shown */
		{ "30 2 * * *", "Europe/Berlin", "2026-10-25T01:10Z",
		  "2026-10-26T01:30Z", "2026-10-25T00:30Z" },
		{ "*/15 * * * *", "Europe/Berlin", "2026-10-25T00:50Z",
		  "2026-10-25T02:00Z", "2026-10-25T00:45Z" },
		{ "*/15 * * * *", "Europe/Berlin", "2026-10-25T01:20Z",
		  "2026-10-25T02:00Z", "2026-10-25T00:45Z" },
		{ "0 3 * * *", "Europe/Berlin", "2026-10-25T00:30Z",
		  "2026-10-25T02:00Z", "2026-10-24T01:00Z" },
		/* past the table: the rule of the TZif footer */
		{ "30 2 * * *", "Europe/Berlin", "2100-03-27T12:00Z",
		  "2100-03-28T01:00Z", "2100-03-27T01:30Z" },
		{ "0 12 1 7 *", "Europe/Berlin", "2150-01-01T00:00Z",
		  "2150-07-01T10:00Z", "2149-07-01T10:00Z" },
		/* New York: 2026-03-08 02:00 EST -> 03:00 EDT */
		{ "30 2 * * *", "America/New_York", "2026-03-07T12:00Z",
		  "2026-03-08T07:00Z", "2026-03-07T07:30Z" },
		/* 2026-11-01 02:00 EDT -> 01:00 EST: first 01:30 is EDT */
		{ "30 1 * * *", "America/New_York", "2026-10-31T12:00Z",
		  "2026-11-01T05:30Z", "2026-10-31T05:30Z" },
		{ "30 1 * * *", "America/New_York", "2026-11-01T06:40Z",
		  "2026-11-02T06:30Z", "2026-11-01T05:30Z" },
		/* +05:30, no DST */
		{ "0 9 * * MON-FRI", "Asia/Kolkata", "2026-02-06T04:00Z",
		  "2026-02-09T03:30Z", "2026-02-06T03:30Z" },
		{ "0 0 1 * *", "Asia/Kolkata", "2026-02-28T18:29Z",
		  "2026-02-28T18:30Z", "2026-01-31T18:30Z" },
		/* +12:45 in June (Chatham winter), +13:45 in January */
		{ "0 0 * * *", "Pacific/Chatham", "2026-06-01T00:00Z",
		  "2026-06-01T11:15Z", "2026-05-31T11:15Z" },
		{ "0 0 * * *", "Pacific/Chatham", "2026-01-10T00:00Z",
		  "2026-01-10T10:15Z", "2026-01-09T10:15Z" },
		{ "0 12 * * *", "Etc/UTC", "2026-05-05T00:00Z",
		  "2026-05-05T12:00Z", "2026-05-04T12:00Z" },
	};

	(void)state;
	check_occurrences(cases, ARRAY_SIZE(cases));
}

/* The search stays bounded: never-matching at both ends of the range. */
static void test_cron__never_is_bounded(void **state)
{
	struct tz *z = load("Europe/Berlin");
	struct cron cron;
	int64_t t;

	(void)state;
	assert_ok(cron_parse(&cron, "* * 31 2 *"));
	assert_false(cron_next(&cron, z, at("2026-01-01T00:00Z"), &t));
	assert_false(cron_prev(&cron, z, at("2026-01-01T00:00Z"), &t));
	assert_false(cron_next(&cron, z, TZ_TIME_MIN, &t));
	assert_false(cron_prev(&cron, z, TZ_TIME_MAX, &t));
	assert_ok(cron_parse(&cron, "* * 30 2 SUN"));	/* OR: Sundays */
	assert_true(cron_next(&cron, z, at("2026-02-01T00:00Z"), &t));
	tz_free(z);
}

static void test_cron__matches(void **state)
{
	struct cron cron;
	struct tz_fields f = { 2026, 10, 23, 17, 0, 0, 0 };

	(void)state;
	assert_ok(cron_parse(&cron, "0 17 * * FRI"));
	assert_true(cron_matches(&cron, tz_join(&f)));
	f.minute = 1;
	assert_false(cron_matches(&cron, tz_join(&f)));
	f.minute = 0;
	f.day = 24;
	assert_false(cron_matches(&cron, tz_join(&f)));
}

struct local_case {
	const char *zone;
	const char *local;	/* YYYY-MM-DDTHH:MM */
	const char *utc;
	const char *shown;	/* tz_addtime() of the instant */
};

static void test_cron__tz_local_to_utc(void **state)
{
	static const struct local_case cases[] = {
		{ "Europe/Berlin", "2026-03-29T01:59", "2026-03-29T00:59Z",
		  "2026-03-29 01:59 CET" },
		/* the gap: when the clock jumps */
		{ "Europe/Berlin", "2026-03-29T02:00", "2026-03-29T01:00Z",
		  "2026-03-29 03:00 CEST" },
		{ "Europe/Berlin", "2026-03-29T02:30", "2026-03-29T01:00Z",
		  "2026-03-29 03:00 CEST" },
		{ "Europe/Berlin", "2026-03-29T02:59", "2026-03-29T01:00Z",
		  "2026-03-29 03:00 CEST" },
		{ "Europe/Berlin", "2026-03-29T03:00", "2026-03-29T01:00Z",
		  "2026-03-29 03:00 CEST" },
		{ "Europe/Berlin", "2026-03-29T03:01", "2026-03-29T01:01Z",
		  "2026-03-29 03:01 CEST" },
		/* the repeated hour: the first time */
		{ "Europe/Berlin", "2026-10-25T01:59", "2026-10-24T23:59Z",
		  "2026-10-25 01:59 CEST" },
		{ "Europe/Berlin", "2026-10-25T02:00", "2026-10-25T00:00Z",
		  "2026-10-25 02:00 CEST" },
		{ "Europe/Berlin", "2026-10-25T02:30", "2026-10-25T00:30Z",
		  "2026-10-25 02:30 CEST" },
		{ "Europe/Berlin", "2026-10-25T03:00", "2026-10-25T02:00Z",
		  "2026-10-25 03:00 CET" },
		{ "Europe/Berlin", "2026-10-23T17:00", "2026-10-23T15:00Z",
		  "2026-10-23 17:00 CEST" },
		{ "Europe/Berlin", "2026-10-26T08:00", "2026-10-26T07:00Z",
		  "2026-10-26 08:00 CET" },
		{ "Europe/Berlin", "2026-12-19T17:00", "2026-12-19T16:00Z",
		  "2026-12-19 17:00 CET" },
		{ "Europe/Berlin", "2180-07-01T12:00", "2180-07-01T10:00Z",
		  "2180-07-01 12:00 CEST" },
		{ "America/New_York", "2026-03-08T02:30", "2026-03-08T07:00Z",
		  "2026-03-08 03:00 EDT" },
		{ "America/New_York", "2026-11-01T01:30", "2026-11-01T05:30Z",
		  "2026-11-01 01:30 EDT" },
		{ "America/New_York", "2026-11-01T02:00", "2026-11-01T07:00Z",
		  "2026-11-01 02:00 EST" },
		{ "Asia/Kolkata", "2026-01-01T00:00", "2025-12-31T18:30Z",
		  "2026-01-01 00:00 IST" },
		{ "Pacific/Chatham", "2026-04-05T02:45", "2026-04-04T13:00Z",
		  "2026-04-05 02:45 +1345" },
		{ "Australia/Lord_Howe", "2026-04-05T01:45",
		  "2026-04-04T14:45Z", "2026-04-05 01:45 +11" },
		{ "UTC", "2026-03-29T02:30", "2026-03-29T02:30Z",
		  "2026-03-29 02:30 UTC" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct local_case *c = &cases[i];
		struct tz *z = load(c->zone);
		struct buf b = BUF_INIT;
		int64_t local, t;
		char s1[32], s2[32];

		assert_ok(tz_parse_local(&local, c->local));
		t = tz_to_utc(z, local);
		assert_ok(tz_addtime(&b, z, t));
		if (t != at(c->utc) || strcmp(b.ptr, c->shown))
			print_error("%s %s: %s, %s\n", c->zone, c->local,
				    iso(t, s1), b.ptr);
		assert_string_equal(iso(t, s1), iso(at(c->utc), s2));
		assert_string_equal(b.ptr, c->shown);
		/* --at reads the same local time the same way */
		assert_ok(tz_parse_at(&t, c->local, z));
		assert_string_equal(iso(t, s1), iso(at(c->utc), s2));
		buf_release(&b);
		tz_free(z);
	}
}

struct name_case {
	const char *name;
	const char *msg;	/* NULL: valid */
};

static void test_cron__tz_names(void **state)
{
	static const struct name_case cases[] = {
		{ "UTC", NULL },
		{ "Etc/UTC", NULL },
		{ "Europe/Berlin", NULL },
		{ "America/Argentina/Buenos_Aires", NULL },
		{ "Etc/GMT+5", NULL },
		{ "", "empty time zone name" },
		{ "/etc/localtime", "'/etc/localtime' is a path, not a time "
		  "zone name (use an IANA name such as Europe/Berlin)" },
		{ "/usr/share/zoneinfo/UTC", "'/usr/share/zoneinfo/UTC' is a "
		  "path, not a time zone name (use an IANA name such as "
		  "Europe/Berlin)" },
		{ "../etc/passwd", "'../etc/passwd' is not a time zone name "
		  "('..' is not allowed)" },
		{ "Europe/../../etc/passwd", "'Europe/../../etc/passwd' is "
		  "not a time zone name ('..' is not allowed)" },
		{ "Europe/..", "'Europe/..' is not a time zone name ('..' is "
		  "not allowed)" },
		{ "Nowhere/City", "'Nowhere/City' is not a known time zone "
		  "(no such file in /usr/share/zoneinfo)" },
		{ "Europe", "'Europe' is not a time zone (not a file)" },
		{ "zone.tab", "'zone.tab' is not a time zone (not a TZif "
		  "file)" },
		{ "localtime", "'localtime' is not a time zone name (use an "
		  "IANA name such as Europe/Berlin)" },
		{ "./UTC", "'./UTC' is not a time zone name (use an IANA name "
		  "such as Europe/Berlin)" },
		{ "Europe//Berlin", "'Europe//Berlin' is not a time zone name "
		  "(use an IANA name such as Europe/Berlin)" },
		{ "Europe/", "'Europe/' is not a time zone name (use an IANA "
		  "name such as Europe/Berlin)" },
		{ "-UTC", "'-UTC' is not a time zone name (use an IANA name "
		  "such as Europe/Berlin)" },
		{ "Europe/Berlin ", "'Europe/Berlin ' is not a time zone name "
		  "(use an IANA name such as Europe/Berlin)" },
		{ "Europe\\Berlin", "'Europe\\Berlin' is not a time zone name "
		  "(use an IANA name such as Europe/Berlin)" },
		{ "Europe/Berlin\n", "'Europe/Berlin?' is not a time zone "
		  "name (use an IANA name such as Europe/Berlin)" },
		{ "utc", "'utc' is not a known time zone (no such file in "
		  "/usr/share/zoneinfo)" },
	};
	size_t i;

	(void)state;
	unsetenv("TZDIR");
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct tz *z = NULL;
		int r = tz_load(&z, cases[i].name);

		if (!cases[i].msg) {
			if (r < 0)
				print_error("'%s': %s\n", cases[i].name,
					    error_last());
			assert_int_equal(r, 0);
			assert_string_equal(tz_name(z), cases[i].name);
			assert_ok(tz_check(cases[i].name));
		} else {
			if (r != ERR_INVALID ||
			    strcmp(error_last(), cases[i].msg))
				print_error("'%s': %d %s\n", cases[i].name, r,
					    error_last());
			assert_int_equal(r, ERR_INVALID);
			assert_null(z);
			assert_string_equal(error_last(), cases[i].msg);
		}
		tz_free(z);
	}
}

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

/* TZDIR, and files that look like TZif but are not quite. */
static void test_cron__tzdir(void **state)
{
	char dir[] = "/tmp/pushgate-tz.XXXXXX";
	char path[256];
	static const unsigned char truncated[] = "TZif2\0\0\0";
	unsigned char leap[44] = "TZif";
	struct tz *z;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/Short", dir);
	write_file(path, truncated, sizeof(truncated));
	snprintf(path, sizeof(path), "%s/Leap", dir);
	leap[31] = 1;	/* one leap second record */
	write_file(path, leap, sizeof(leap));
	snprintf(path, sizeof(path), "%s/Fifo", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	setenv("TZDIR", dir, 1);

	assert_int_equal(tz_load(&z, "Short"), ERR_INVALID);
	assert_string_equal(error_last(), "'Short' is not a time zone "
			    "(malformed TZif file)");
	assert_int_equal(tz_load(&z, "Leap"), ERR_INVALID);
	assert_string_equal(error_last(), "'Leap' counts leap seconds (use "
			    "the zone without them)");
	assert_int_equal(tz_load(&z, "Fifo"), ERR_INVALID);
	assert_string_equal(error_last(), "'Fifo' is not a time zone (not a "
			    "file)");
	assert_int_equal(tz_load(&z, "Europe/Berlin"), ERR_INVALID);
	assert_true(strstr(error_last(), "(no such file in /tmp/") != NULL);
	/* UTC needs no file */
	assert_ok(tz_load(&z, "UTC"));
	assert_ptr_equal(z, tz_utc());
	tz_free(z);
	unsetenv("TZDIR");

	snprintf(path, sizeof(path), "%s/Short", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/Leap", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/Fifo", dir);
	unlink(path);
	rmdir(dir);
}

struct text_case {
	const char *s;
	const char *utc;	/* NULL: invalid, with msg */
	const char *msg;
};

static void test_cron__parse_at(void **state)
{
	static const struct text_case cases[] = {
		{ "2026-10-23T17:00Z", "2026-10-23T17:00:00Z", NULL },
		{ "2026-10-23T17:00:59Z", "2026-10-23T17:00:59Z", NULL },
		{ "2026-10-23T17:00", "2026-10-23T15:00:00Z", NULL },
		{ "2026-10-23T17:00:30", "2026-10-23T15:00:30Z", NULL },
		{ "2026-03-29T02:30", "2026-03-29T01:00:00Z", NULL },
		{ "@0", "1970-01-01T00:00:00Z", NULL },
		{ "@1792774800", "2026-10-23T17:00:00Z", NULL },
		{ "1970-01-01T00:00Z", "1970-01-01T00:00:00Z", NULL },
		{ "2199-12-31T23:59:59Z", "2199-12-31T23:59:59Z", NULL },
		{ "2026-10-23 17:00", NULL, "'2026-10-23 17:00' is not a time "
		  "(use YYYY-MM-DDTHH:MM[:SS] in the zone, with Z for UTC, "
		  "or @SECONDS)" },
		{ "2026-10-23T17:00+02", NULL, "'2026-10-23T17:00+02' is not "
		  "a time (use YYYY-MM-DDTHH:MM[:SS] in the zone, with Z for "
		  "UTC, or @SECONDS)" },
		{ "2026-10-23T17", NULL, "'2026-10-23T17' is not a time (use "
		  "YYYY-MM-DDTHH:MM[:SS] in the zone, with Z for UTC, or "
		  "@SECONDS)" },
		{ "2026-10-23T17:00:5Z", NULL, "'2026-10-23T17:00:5Z' is not "
		  "a time (use YYYY-MM-DDTHH:MM[:SS] in the zone, with Z for "
		  "UTC, or @SECONDS)" },
		{ "", NULL, "'' is not a time (use YYYY-MM-DDTHH:MM[:SS] in "
		  "the zone, with Z for UTC, or @SECONDS)" },
		{ "2026-02-29T00:00Z", NULL, "'2026-02-29T00:00Z' is not a "
		  "date (2026-02 has 28 days)" },
		{ "2026-13-01T00:00Z", NULL, "'2026-13-01T00:00Z' has no "
		  "month 13" },
		{ "2026-10-23T24:00Z", NULL, "'2026-10-23T24:00Z' is not a "
		  "time of day" },
		{ "2026-10-23T23:59:60Z", NULL, "'2026-10-23T23:59:60Z' is "
		  "not a time of day" },
		{ "1969-12-31T23:59Z", NULL, "'1969-12-31T23:59Z' is outside "
		  "the years 1970 to 2199" },
		{ "2200-01-01T00:00Z", NULL, "'2200-01-01T00:00Z' is outside "
		  "the years 1970 to 2199" },
		{ "@", NULL, "'@' is not a number of seconds from 0 to "
		  "7258118400" },
		{ "@-1", NULL, "'@-1' is not a number of seconds from 0 to "
		  "7258118400" },
		{ "@7258118401", NULL, "'@7258118401' is not a number of "
		  "seconds from 0 to 7258118400" },
	};
	struct tz *z = load("Europe/Berlin");
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		int64_t t;
		char s[32];
		int r = tz_parse_at(&t, cases[i].s, z);

		if (cases[i].utc) {
			if (r < 0)
				print_error("'%s': %s\n", cases[i].s,
					    error_last());
			assert_int_equal(r, 0);
			assert_string_equal(iso(t, s), cases[i].utc);
		} else {
			if (r != ERR_INVALID ||
			    strcmp(error_last(), cases[i].msg))
				print_error("'%s': %d %s\n", cases[i].s, r,
					    error_last());
			assert_int_equal(r, ERR_INVALID);
			assert_string_equal(error_last(), cases[i].msg);
		}
	}
	tz_free(z);
}

static void test_cron__parse_local(void **state)
{
	static const struct text_case cases[] = {
		{ "2026-12-19T17:00", "2026-12-19T17:00:00Z", NULL },
		{ "2028-02-29T00:00", "2028-02-29T00:00:00Z", NULL },
		{ "2026-12-19T17:00Z", NULL, "'2026-12-19T17:00Z' is not a "
		  "local time (use YYYY-MM-DDTHH:MM)" },
		{ "2026-12-19T17:00:00", NULL, "'2026-12-19T17:00:00' is not "
		  "a local time (use YYYY-MM-DDTHH:MM)" },
		{ "2026-12-19", NULL, "'2026-12-19' is not a local time (use "
		  "YYYY-MM-DDTHH:MM)" },
		{ " 2026-12-19T17:00", NULL, "' 2026-12-19T17:00' is not a "
		  "local time (use YYYY-MM-DDTHH:MM)" },
		{ "2026-04-31T00:00", NULL, "'2026-04-31T00:00' is not a date "
		  "(2026-04 has 30 days)" },
		{ "2026-00-10T00:00", NULL, "'2026-00-10T00:00' has no month "
		  "0" },
		{ "2026-12-19T17:60", NULL, "'2026-12-19T17:60' is not a time "
		  "of day" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		int64_t t;
		char s[32];
		int r = tz_parse_local(&t, cases[i].s);

		if (cases[i].utc) {
			assert_ok(r);
			assert_string_equal(iso(t, s), cases[i].utc);
			assert_ok(tz_check_local(cases[i].s));
		} else {
			if (r != ERR_INVALID ||
			    strcmp(error_last(), cases[i].msg))
				print_error("'%s': %d %s\n", cases[i].s, r,
					    error_last());
			assert_int_equal(r, ERR_INVALID);
			assert_string_equal(error_last(), cases[i].msg);
		}
	}
}

/* The calendar against the C library's, day by day over 1970-2199. */
static void test_cron__calendar(void **state)
{
	int64_t day;

	(void)state;
	for (day = 0; day * 86400 < TZ_TIME_MAX; day += 1) {
		time_t t = (time_t)(day * 86400 + 45296);	/* 12:34:56 */
		struct tz_fields f;
		struct tm tm;

		assert_non_null(gmtime_r(&t, &tm));
		tz_split((int64_t)t, &f);
		if (f.year != tm.tm_year + 1900 || f.month != tm.tm_mon + 1 ||
		    f.day != tm.tm_mday || f.weekday != tm.tm_wday ||
		    f.hour != 12 || f.minute != 34 || f.second != 56)
			print_error("day %lld\n", (long long)day);
		assert_int_equal(f.year, tm.tm_year + 1900);
		assert_int_equal(f.month, tm.tm_mon + 1);
		assert_int_equal(f.day, tm.tm_mday);
		assert_int_equal(f.weekday, tm.tm_wday);
		assert_int_equal(tz_join(&f), (int64_t)t);
	}
}

/* Offsets agree with the C library's reading of the same zone. */
static void test_cron__offsets_match_libc(void **state)
{
	static const char *const zones[] = {
		"Europe/Berlin", "America/New_York", "Asia/Kolkata",
		"Pacific/Chatham", "Australia/Lord_Howe", "America/Sao_Paulo",
		"Africa/Casablanca", "Europe/Dublin", "Pacific/Apia",
	};
	char *old = getenv("TZ") ? strdup(getenv("TZ")) : NULL;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(zones); i++) {
		struct tz *z = load(zones[i]);
		int64_t t;

		setenv("TZ", zones[i], 1);
		tzset();
		/* every 7 hours, 1970 to 2100 */
		for (t = 0; t < INT64_C(4102444800); t += 7 * 3600 + 13) {
			time_t tt = (time_t)t;
			struct tm tm;
			const char *abbr;
			int64_t local = tz_to_local(z, t, &abbr);

			assert_non_null(localtime_r(&tt, &tm));
			if (local - t != tm.tm_gmtoff ||
			    strcmp(abbr, tm.tm_zone))
				print_error("%s at %lld: %lld %s, libc %ld "
					    "%s\n", zones[i], (long long)t,
					    (long long)(local - t), abbr,
					    tm.tm_gmtoff, tm.tm_zone);
			assert_int_equal(local - t, tm.tm_gmtoff);
			assert_string_equal(abbr, tm.tm_zone);
		}
		tz_free(z);
	}
	if (old)
		setenv("TZ", old, 1);
	else
		unsetenv("TZ");
	tzset();
	free(old);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cron__parse),
		cmocka_unit_test(test_cron__invalid),
		cmocka_unit_test(test_cron__too_long),
		cmocka_unit_test(test_cron__utc),
		cmocka_unit_test(test_cron__zones),
		cmocka_unit_test(test_cron__never_is_bounded),
		cmocka_unit_test(test_cron__matches),
		cmocka_unit_test(test_cron__tz_local_to_utc),
		cmocka_unit_test(test_cron__tz_names),
		cmocka_unit_test(test_cron__tzdir),
		cmocka_unit_test(test_cron__parse_at),
		cmocka_unit_test(test_cron__parse_local),
		cmocka_unit_test(test_cron__calendar),
		cmocka_unit_test(test_cron__offsets_match_libc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
