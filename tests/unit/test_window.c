/*
 * Unit tests for window: building windows from hooks.ini values (and the
 * messages for bad ones), the state and next change of each shape across
 * DST changes, and the decision for an environment: deny beats allow,
 * allow-only environments, manual deploys, holds whose end needs several
 * windows, holds that never end. Nothing depends on the process's TZ.
 */
#include "unit.h"

#include <stdlib.h>
#include <time.h>

#include "buf.h"
#include "tz.h"
#include "window.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static int64_t at(const char *s)
{
	int64_t t;

	assert_ok(tz_parse_at(&t, s, NULL));
	return t;
}

static const char *iso(int64_t t, char out[32])
{
	struct tz_fields f;

	tz_split(t, &f);
	snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02dZ", f.year, f.month,
		 f.day, f.hour, f.minute, f.second);
	return out;
}

static void parse(struct window *w, const struct window_spec *spec)
{
	int r = window_parse(w, spec);

	if (r < 0)
		print_error("window '%s': %s\n", spec->name, error_last());
	assert_int_equal(r, 0);
}

/* Friday 17:00 to Monday 08:00 in Berlin. */
static const struct window_spec freeze = {
	.name = "weekend", .start = "0 17 * * FRI", .end = "0 8 * * MON",
	.timezone = "Europe/Berlin", .message = "weekend freeze",
};

static const struct window_spec christmas = {
	.name = "christmas", .from = "2026-12-19T17:00",
	.until = "2027-01-04T08:00", .timezone = "Europe/Berlin",
};

static const struct window_spec office = {
	.name = "office", .kind = "allow", .start = "0 9 * * MON-FRI",
	.end = "0 17 * * MON-FRI", .timezone = "Europe/Berlin",
};

struct state_case {
	const struct window_spec *spec;
	const char *t;
	bool open;
	const char *change;	/* NULL: none */
};

static void test_window__state(void **state)
{
	static const struct window_spec night = {
		.name = "night", .start = "30 2 * * *", .duration = "3600",
		.timezone = "Europe/Berlin",
	};
	static const struct window_spec overlap = {
		.name = "overlap", .start = "0 9,10 * * *", .duration = "5400",
	};
	static const struct window_spec mondays = {
		.name = "mondays", .start = "0 12 * * *",
		.end = "0 12 * * MON",
	};
	static const struct state_case cases[] = {
		/* the freeze, over the fall-back weekend */
		{ &freeze, "2026-10-23T14:59Z", false, "2026-10-23T15:00Z" },
		{ &freeze, "2026-10-23T15:00Z", true, "2026-10-26T07:00Z" },
		{ &freeze, "2026-10-25T01:30Z", true, "2026-10-26T07:00Z" },
		{ &freeze, "2026-10-26T06:59:59Z", true, "2026-10-26T07:00Z" },
		{ &freeze, "2026-10-26T07:00Z", false, "2026-10-30T16:00Z" },
		/* and over the spring-forward one */
		{ &freeze, "2026-03-28T12:00Z", true, "2026-03-30T06:00Z" },
		{ &freeze, "2026-03-27T15:59Z", false, "2026-03-27T16:00Z" },
		/* an hour from 02:30, which 2026-03-29 skips */
		{ &night, "2026-03-29T00:30Z", false, "2026-03-29T01:00Z" },
		{ &night, "2026-03-29T01:00Z", true, "2026-03-29T02:00Z" },
		{ &night, "2026-03-29T02:00Z", false, "2026-03-30T00:30Z" },
		/* and which 2026-10-25 shows twice: open once, from the first */
		{ &night, "2026-10-25T00:29Z", false, "2026-10-25T00:30Z" },
		{ &night, "2026-10-25T01:10Z", true, "2026-10-25T01:30Z" },
		{ &night, "2026-10-25T01:30Z", false, "2026-10-26T01:30Z" },
		/* 09:00 for 90 min and 10:00 for 90 min: 09:00 to 11:30 */
		{ &overlap, "2026-05-05T09:30Z", true, "2026-05-05T11:30Z" },
		{ &overlap, "2026-05-05T10:45Z", true, "2026-05-05T11:30Z" },
		{ &overlap, "2026-05-05T11:30Z", false, "2026-05-06T09:00Z" },
		{ &christmas, "2026-12-19T15:59Z", false, "2026-12-19T16:00Z" },
		{ &christmas, "2026-12-19T16:00Z", true, "2027-01-04T07:00Z" },
		{ &christmas, "2027-01-04T07:00Z", false, NULL },
		/* an end at the instant of a start wins (2026-02-02: Monday) */
		{ &mondays, "2026-02-02T11:59Z", true, "2026-02-02T12:00Z" },
		{ &mondays, "2026-02-02T12:00Z", false, "2026-02-03T12:00Z" },
		{ &mondays, "2026-02-03T12:00Z", true, "2026-02-09T12:00Z" },
		{ &office, "2026-10-24T12:00Z", false, "2026-10-26T08:00Z" },
		{ &office, "2026-10-23T14:59Z", true, "2026-10-23T15:00Z" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct state_case *c = &cases[i];
		struct window w;
		struct window_state st;
		char a[32], b[32];

		parse(&w, c->spec);
		window_state(&st, &w, at(c->t));
		if (st.open != c->open || st.changes != !!c->change ||
		    (c->change && st.change != at(c->change)))
			print_error("%s at %s: %s, %s\n", c->spec->name, c->t,
				    st.open ? "open" : "closed",
				    st.changes ? iso(st.change, a) : "never");
		assert_int_equal(st.open, c->open);
		assert_int_equal(st.changes, !!c->change);
		if (c->change)
			assert_string_equal(iso(st.change, a),
					    iso(at(c->change), b));
		window_release(&w);
	}
}

/* Windows that never open or never close stay bounded. */
static void test_window__bounded(void **state)
{
	static const struct window_spec always = {
		.name = "always", .start = "*/30 * * * *", .duration = "3600",
	};
	static const struct window_spec coincide = {
		.name = "coincide", .start = "0 12 * * *", .end = "0 12 * * *",
	};
	static const struct window_spec feb31 = {
		.name = "feb31", .start = "0 0 31 2 *", .end = "0 0 1 3 *",
	};
	struct window w;
	struct window_state st;
	int64_t t = at("2026-05-05T10:10Z");

	(void)state;
	/* always open: the search stops WINDOW_STEPS_MAX starts later */
	parse(&w, &always);
	window_state(&st, &w, t);
	assert_true(st.open);
	assert_true(st.changes);
	assert_true(st.change >= t + (WINDOW_STEPS_MAX - 1) * 1800);
	window_release(&w);

	/* never open: every start is cancelled by an end */
	parse(&w, &coincide);
	window_state(&st, &w, t);
	assert_false(st.open);
	assert_true(!st.changes || st.change > t + 900 * 86400);
	window_release(&w);

	parse(&w, &feb31);
	window_state(&st, &w, t);
	assert_false(st.open);
	assert_false(st.changes);
	window_release(&w);
}

struct decide_case {
	const char *what;
	const struct window_spec *specs[4];
	const char *t;
	bool manual;
	const char *by;		/* NULL: allowed */
	const char *until;	/* NULL: never (when held) */
};

static void test_window__decide(void **state)
{
	static const struct window_spec a = {
		.name = "a", .from = "2026-05-05T10:00",
		.until = "2026-05-05T12:00",
	};
	static const struct window_spec b = {
		.name = "b", .from = "2026-05-05T11:00",
		.until = "2026-05-05T14:00",
	};
	static const struct window_spec c = {
		.name = "c", .from = "2026-05-05T12:00",
		.until = "2026-05-05T13:00",
	};
	static const struct window_spec lunch = {
		.name = "lunch", .start = "0 12 * * *", .end = "0 13 * * *",
		.timezone = "Europe/Berlin",
	};
	static const struct window_spec late = {
		.name = "late", .start = "0 16 * * *", .duration = "3600",
		.timezone = "Europe/Berlin",
	};
	static const struct window_spec hotfix = {
		.name = "hotfix", .from = "2026-05-05T10:00",
		.until = "2026-05-05T12:00", .manual = "allow",
	};
	static const struct window_spec never = {
		.name = "never", .kind = "allow", .start = "0 0 31 2 *",
		.end = "0 0 1 3 *",
	};
	static const struct window_spec forever = {
		.name = "forever", .start = "0 * * * *", .end = "0 0 31 2 *",
	};
	static const struct window_spec ist = {
		.name = "ist", .kind = "allow", .start = "0 10 * * *",
		.duration = "7200", .timezone = "Asia/Kolkata",
	};
	static const struct window_spec ny = {
		.name = "ny", .start = "30 1 * * SUN", .duration = "1800",
		.timezone = "America/New_York",
	};
	static const struct decide_case cases[] = {
		{ "no windows", { NULL }, "2026-10-24T12:00Z", false, NULL,
		  NULL },
		{ "outside a deny", { &freeze }, "2026-10-22T12:00Z", false,
		  NULL, NULL },
		{ "inside a deny", { &freeze }, "2026-10-24T12:00Z", false,
		  "weekend", "2026-10-26T07:00Z" },
		{ "manual in a deny", { &freeze }, "2026-10-24T12:00Z", true,
		  "weekend", "2026-10-26T07:00Z" },
		{ "allow only, outside", { &office }, "2026-10-24T12:00Z",
		  false, "office", "2026-10-26T08:00Z" },
		{ "allow only, inside", { &office }, "2026-10-26T08:00Z",
		  false, NULL, NULL },
		{ "allow only, after hours", { &office }, "2026-10-26T16:00Z",
		  false, "office", "2026-10-27T08:00Z" },
		/* the freeze ends at 08:00, the office opens at 09:00 */
		{ "deny beats allow", { &office, &christmas },
		  "2026-12-21T10:00Z", false, "christmas",
		  "2027-01-04T08:00Z" },
		{ "both, weekend", { &freeze, &office }, "2026-10-24T12:00Z",
		  false, "weekend", "2026-10-26T08:00Z" },
		{ "deny inside allow", { &office, &lunch },
		  "2026-10-26T11:30Z", false, "lunch", "2026-10-26T12:00Z" },
		/* the deny closes as the office does: wait for tomorrow */
		{ "deny until allow closes", { &office, &late },
		  "2026-10-26T15:30Z", false, "late", "2026-10-27T08:00Z" },
		/* overlapping denies: the one that closes last is named */
		{ "denies chain", { &a, &b }, "2026-05-05T10:30Z", false,
		  "a", "2026-05-05T14:00Z" },
		{ "denies overlap", { &a, &b }, "2026-05-05T11:30Z", false,
		  "b", "2026-05-05T14:00Z" },
		{ "denies touch", { &a, &c }, "2026-05-05T10:30Z", false, "a",
		  "2026-05-05T13:00Z" },
		{ "manual = allow, manual", { &hotfix }, "2026-05-05T10:30Z",
		  true, NULL, NULL },
		{ "manual = allow, auto", { &hotfix }, "2026-05-05T10:30Z",
		  false, "hotfix", "2026-05-05T12:00Z" },
		{ "manual = allow beside a deny", { &hotfix, &b },
		  "2026-05-05T11:30Z", true, "b", "2026-05-05T14:00Z" },
		{ "an allow that never opens", { &never }, "2026-05-05T10:30Z",
		  false, "never", NULL },
		{ "a deny that never closes", { &forever },
		  "2026-05-05T10:30Z", false, "forever", NULL },
		{ "deny first, allow never", { &a, &never },
		  "2026-05-05T10:30Z", false, "a", NULL },
		/* 10:00 IST is 04:30Z */
		{ "allow in Kolkata", { &ist }, "2026-05-05T04:29Z", false,
		  "ist", "2026-05-05T04:30Z" },
		{ "allow in Kolkata, in", { &ist }, "2026-05-05T06:29Z", false,
		  NULL, NULL },
		/* 01:30 on 2026-11-01 is EDT (05:30Z), once */
		{ "New York fall-back", { &ny }, "2026-11-01T05:45Z", false,
		  "ny", "2026-11-01T06:00Z" },
		{ "New York fall-back, again", { &ny }, "2026-11-01T06:45Z",
		  false, NULL, NULL },
	};
	size_t i, j;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct decide_case *dc = &cases[i];
		struct window ws[4];
		const struct window *ptrs[4];
		struct window_decision d;
		size_t nr = 0;
		char s1[32], s2[32];

		for (j = 0; j < ARRAY_SIZE(dc->specs) && dc->specs[j]; j++) {
			parse(&ws[j], dc->specs[j]);
			ptrs[j] = &ws[j];
			nr++;
		}
		window_decide(&d, ptrs, nr, at(dc->t), dc->manual);
		if (d.allowed != !dc->by ||
		    (dc->by && strcmp(d.by->name, dc->by)) ||
		    (dc->by && d.has_until != !!dc->until) ||
		    (dc->until && d.until != at(dc->until)))
			print_error("%s: %s by %s until %s\n", dc->what,
				    d.allowed ? "allowed" : "held",
				    d.by ? d.by->name : "-",
				    d.has_until ? iso(d.until, s1) : "never");
		assert_int_equal(d.allowed, !dc->by);
		if (dc->by) {
			assert_non_null(d.by);
			assert_string_equal(d.by->name, dc->by);
			assert_int_equal(d.has_until, !!dc->until);
		} else {
			assert_null(d.by);
			assert_false(d.has_until);
		}
		if (dc->until)
			assert_string_equal(iso(d.until, s1),
					    iso(at(dc->until), s2));
		for (j = 0; j < nr; j++)
			window_release(&ws[j]);
	}
}

/* The hold's message comes with the window. */
static void test_window__message(void **state)
{
	struct window w;
	const struct window *ptrs[1] = { &w };
	struct window_decision d;

	(void)state;
	parse(&w, &freeze);
	window_decide(&d, ptrs, 1, at("2026-10-24T12:00Z"), false);
	assert_false(d.allowed);
	assert_ptr_equal(d.by, &w);
	assert_string_equal(d.by->message, "weekend freeze");
	window_release(&w);
	parse(&w, &christmas);
	assert_null(w.message);
	window_release(&w);
}

static void test_window__changes(void **state)
{
	static const char *const expected[] = {
		"2026-10-23 17:00 CEST (2026-10-23 15:00Z)",
		"2026-10-26 08:00 CET (2026-10-26 07:00Z)",
		"2026-10-30 17:00 CET (2026-10-30 16:00Z)",
		"2026-11-02 08:00 CET (2026-11-02 07:00Z)",
	};
	static const struct window_spec utc = {
		.name = "utc", .from = "2026-05-05T10:00",
		.until = "2026-05-05T12:00",
	};
	struct window w;
	struct buf b = BUF_INIT;
	int64_t changes[8];
	size_t i, n;

	(void)state;
	parse(&w, &freeze);
	n = window_changes(changes, ARRAY_SIZE(expected), &w,
			   at("2026-10-21T00:00Z"));
	assert_int_equal(n, ARRAY_SIZE(expected));
	for (i = 0; i < n; i++) {
		buf_reset(&b);
		assert_ok(window_addtime(&b, &w, changes[i]));
		assert_string_equal(b.ptr, expected[i]);
	}
	buf_reset(&b);
	assert_ok(window_addtime(&b, &w, at("2026-10-23T15:00:30Z")));
	assert_string_equal(b.ptr,
			    "2026-10-23 17:00:30 CEST (2026-10-23 15:00:30Z)");
	window_release(&w);

	parse(&w, &utc);
	n = window_changes(changes, ARRAY_SIZE(changes), &w,
			   at("2026-05-01T00:00Z"));
	assert_int_equal(n, 2);
	buf_reset(&b);
	assert_ok(window_addtime(&b, &w, changes[1]));
	assert_string_equal(b.ptr, "2026-05-05 12:00 UTC");
	window_release(&w);
	buf_release(&b);
}

struct parse_case {
	struct window_spec spec;
	const char *msg;
};

static void test_window__parse_invalid(void **state)
{
	static const struct parse_case cases[] = {
		{ { .kind = "maybe", .start = "0 0 * * *", .end = "0 1 * * *" },
		  "invalid 'kind': 'maybe' is not deny or allow" },
		{ { .manual = "yes", .start = "0 0 * * *", .end = "0 1 * * *" },
		  "invalid 'manual': 'yes' is not deny or allow" },
		{ { .start = "0 25 * * *", .end = "0 1 * * *" },
		  "invalid 'start': hour field: '25' is not from 0 to 23" },
		{ { .start = "0 0 * * *", .end = "0 1 * *" },
		  "invalid 'end': 4 fields instead of 5 (minute hour "
		  "day-of-month month day-of-week)" },
		{ { .start = "0 0 * * *", .duration = "0" },
		  "invalid 'duration': '0' is not a number of seconds from 1 "
		  "to 31622400" },
		{ { .start = "0 0 * * *", .duration = "1h" },
		  "invalid 'duration': '1h' is not a number of seconds from 1 "
		  "to 31622400" },
		{ { .start = "0 0 * * *", .duration = "31622401" },
		  "invalid 'duration': '31622401' is not a number of seconds "
		  "from 1 to 31622400" },
		{ { .from = "2026-12-19", .until = "2027-01-04T08:00" },
		  "invalid 'from': '2026-12-19' is not a local time (use "
		  "YYYY-MM-DDTHH:MM)" },
		{ { .from = "2026-12-19T17:00", .until = "2027-02-30T08:00" },
		  "invalid 'until': '2027-02-30T08:00' is not a date "
		  "(2027-02 has 28 days)" },
		{ { .start = "0 0 * * *", .end = "0 1 * * *",
		    .timezone = "Nowhere/City" },
		  "invalid 'timezone': 'Nowhere/City' is not a known time "
		  "zone (no such file in /usr/share/zoneinfo)" },
		{ { .start = "0 0 * * *", .end = "0 1 * * *",
		    .timezone = "../etc/passwd" },
		  "invalid 'timezone': '../etc/passwd' is not a time zone "
		  "name ('..' is not allowed)" },
		{ { .start = "0 0 * * *", .end = "0 1 * * *",
		    .timezone = "/etc/localtime" },
		  "invalid 'timezone': '/etc/localtime' is a path, not a time "
		  "zone name (use an IANA name such as Europe/Berlin)" },
		{ { .start = "0 0 * * *", .end = "0 1 * * *",
		    .timezone = "" },
		  "invalid 'timezone': empty time zone name" },
		{ { .start = "0 0 * * *" },
		  "'start' needs 'end' or 'duration'" },
		{ { .start = "0 0 * * *", .end = "0 1 * * *",
		    .duration = "60" },
		  "'end' and 'duration' cannot both be set" },
		{ { .start = "0 0 * * *", .end = "0 1 * * *",
		    .from = "2026-12-19T17:00" },
		  "'from' cannot be used with 'start'" },
		{ { .start = "0 0 * * *", .duration = "60",
		    .until = "2026-12-19T17:00" },
		  "'until' cannot be used with 'start'" },
		{ { .end = "0 1 * * *" }, "'end' needs 'start'" },
		{ { .duration = "60" }, "'duration' needs 'start'" },
		{ { .end = "0 1 * * *", .from = "2026-12-19T17:00",
		    .until = "2027-01-04T08:00" }, "'end' needs 'start'" },
		{ { .name = "empty" }, "set 'start' (with 'end' or "
		  "'duration') or 'from' and 'until'" },
		{ { .from = "2026-12-19T17:00" }, "'from' needs 'until'" },
		{ { .until = "2026-12-19T17:00" }, "'until' needs 'from'" },
		{ { .from = "2026-12-19T17:00", .until = "2026-12-19T17:00" },
		  "'until' is not after 'from'" },
		{ { .from = "2026-12-19T17:00", .until = "2026-12-19T16:59" },
		  "'until' is not after 'from'" },
		/* both in the gap of 2026-03-29: the same instant */
		{ { .from = "2026-03-29T02:00", .until = "2026-03-29T02:30",
		    .timezone = "Europe/Berlin" },
		  "'until' is not after 'from'" },
		{ { .kind = "allow", .manual = "allow", .start = "0 9 * * *",
		    .end = "0 17 * * *" },
		  "'manual = allow' only applies to a deny window" },
	};
	size_t i;

	(void)state;
	unsetenv("TZDIR");
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct window w;
		int r = window_parse(&w, &cases[i].spec);

		if (r != ERR_INVALID || strcmp(error_last(), cases[i].msg))
			print_error("case %zu: %d %s\n", i, r, error_last());
		assert_int_equal(r, ERR_INVALID);
		assert_string_equal(error_last(), cases[i].msg);
		/* released on failure */
		assert_null(w.name);
		assert_null(w.zone);
	}
}

static void test_window__parse_valid(void **state)
{
	static const struct window_spec gap = {
		.name = "gap", .from = "2026-03-29T02:30",
		.until = "2026-03-29T03:30", .timezone = "Europe/Berlin",
		.kind = "deny", .manual = "allow",
	};
	struct window w;
	char s[32];

	(void)state;
	parse(&w, &freeze);
	assert_string_equal(w.name, "weekend");
	assert_int_equal(w.kind, WINDOW_DENY);
	assert_int_equal(w.manual, WINDOW_MANUAL_DENY);
	assert_int_equal(w.shape, WINDOW_START_END);
	assert_string_equal(tz_name(window_zone(&w)), "Europe/Berlin");
	window_release(&w);

	parse(&w, &office);
	assert_int_equal(w.kind, WINDOW_ALLOW);
	window_release(&w);

	/* from in the gap: when the clock jumps */
	parse(&w, &gap);
	assert_int_equal(w.shape, WINDOW_FROM_UNTIL);
	assert_int_equal(w.manual, WINDOW_MANUAL_ALLOW);
	assert_string_equal(iso(w.from, s), "2026-03-29T01:00:00Z");
	assert_string_equal(iso(w.until, s), "2026-03-29T01:30:00Z");
	window_release(&w);

	/* UTC, named or not, needs no zone file */
	parse(&w, &(struct window_spec){ .name = "u", .timezone = "UTC",
					 .start = "0 0 * * *",
					 .duration = "60" });
	assert_null(w.zone);
	assert_ptr_equal(window_zone(&w), tz_utc());
	assert_int_equal(w.shape, WINDOW_START_DURATION);
	assert_int_equal(w.duration, 60);
	window_release(&w);
	window_release(&w);	/* twice is harmless */

	assert_ok(window_check_kind("allow"));
	assert_int_equal(window_check_kind("Allow"), ERR_INVALID);
	assert_ok(window_check_manual("deny"));
	assert_ok(window_check_duration("31622400"));
	assert_int_equal(window_check_duration("-1"), ERR_INVALID);
}

/* The same decisions whatever the TZ of the process. */
static void test_window__process_tz(void **state)
{
	static const char *const zones[] = {
		"Pacific/Chatham", "America/St_Johns", "UTC", "Asia/Kolkata",
	};
	char *old = getenv("TZ") ? strdup(getenv("TZ")) : NULL;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(zones); i++) {
		struct window ws[2];
		const struct window *ptrs[2] = { &ws[0], &ws[1] };
		struct window_decision d;
		char s[32];

		setenv("TZ", zones[i], 1);
		tzset();
		parse(&ws[0], &office);
		parse(&ws[1], &christmas);
		window_decide(&d, ptrs, 2, at("2026-12-21T10:00Z"), false);
		assert_false(d.allowed);
		assert_true(d.has_until);
		assert_string_equal(iso(d.until, s), "2027-01-04T08:00:00Z");
		window_release(&ws[0]);
		window_release(&ws[1]);
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
		cmocka_unit_test(test_window__state),
		cmocka_unit_test(test_window__bounded),
		cmocka_unit_test(test_window__decide),
		cmocka_unit_test(test_window__message),
		cmocka_unit_test(test_window__changes),
		cmocka_unit_test(test_window__parse_invalid),
		cmocka_unit_test(test_window__parse_valid),
		cmocka_unit_test(test_window__process_tz),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
