#include "tz.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "confval.h"
#include "errors.h"

#define DAY 86400
#define HOUR 3600

/* Longest abbreviation kept ("CEST", "+0530"), NUL included. */
#define ABBR_MAX 16

/* RFC 8536 allows at most 256 types; the POSIX rule adds two. */
#define FILE_TYPES_MAX 256
#define FILE_TIMES_MAX 65536

/* Transitions the POSIX rule adds: two a year, up to TZ_YEAR_MAX + 1. */
#define RULE_TIMES_MAX (2 * (TZ_YEAR_MAX + 2 - TZ_YEAR_MIN))

/* Longest POSIX TZ string at the end of a TZif file. */
#define FOOTER_MAX 255

/* A UTC offset beyond a day and two hours is not a real one. */
#define OFFSET_MAX (26 * HOUR)

struct tz_type {
	int32_t utoff;
	bool isdst;
	char abbr[ABBR_MAX];
};

struct tz {
	char name[TZ_NAME_MAX + 1];
	struct tz_type *types;
	size_t nr_types;
	int64_t *at;		/* the transitions, strictly increasing */
	uint16_t *idx;		/* the type in force from at[i] on */
	size_t nr;
};

static struct tz_type utc_type = { 0, false, "UTC" };
static struct tz utc_zone = { "UTC", &utc_type, 1, NULL, NULL, 0 };

const struct tz *tz_utc(void)
{
	return &utc_zone;
}

const char *tz_name(const struct tz *z)
{
	return z->name;
}

void tz_free(struct tz *z)
{
	if (!z || z == &utc_zone)
		return;
	free(z->types);
	free(z->at);
	free(z->idx);
	free(z);
}

static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b < 0);
}

static bool is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int tz_days_in_month(int year, int month)
{
	static const int days[] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};

	if (month < 1 || month > 12)
		return 0;
	return days[month - 1] + (month == 2 && is_leap(year));
}

/* Howard Hinnant's days_from_civil() and civil_from_days(). */
int64_t tz_days_from_civil(int year, int month, int day)
{
	int64_t y = (int64_t)year - (month <= 2);
	int64_t era = floor_div(y, 400);
	int64_t yoe = y - era * 400;
	int64_t mp = (month + 9) % 12;
	int64_t doy = (153 * mp + 2) / 5 + day - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

void tz_split(int64_t local, struct tz_fields *out)
{
	int64_t days = floor_div(local, DAY);
	int64_t secs = local - days * DAY;
	int64_t z = days + 719468;
	int64_t era = floor_div(z, 146097);
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int64_t m = mp < 10 ? mp + 3 : mp - 9;

	out->year = (int)(yoe + era * 400 + (m <= 2));
	out->month = (int)m;
	out->day = (int)(doy - (153 * mp + 2) / 5 + 1);
	out->hour = (int)(secs / HOUR);
	out->minute = (int)(secs % HOUR / 60);
	out->second = (int)(secs % 60);
	out->weekday = (int)(days - floor_div(days + 4, 7) * 7 + 4);
}

int64_t tz_join(const struct tz_fields *f)
{
	return tz_days_from_civil(f->year, f->month, f->day) * DAY +
		f->hour * HOUR + f->minute * 60 + f->second;
}

/* How many transitions happen at or before `t`. */
static size_t count_until(const struct tz *z, int64_t t)
{
	size_t lo = 0, hi = z->nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (z->at[mid] <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * Period k runs from transition k - 1 (or forever) to transition k (or
 * forever) with one type; type 0 holds before the first transition.
 */
static const struct tz_type *period_type(const struct tz *z, size_t k)
{
	return &z->types[k ? z->idx[k - 1] : 0];
}

int64_t tz_to_local(const struct tz *z, int64_t t, const char **abbr_out)
{
	const struct tz_type *type = period_type(z, count_until(z, t));

	if (abbr_out)
		*abbr_out = type->abbr;
	return t + type->utoff;
}

int64_t tz_to_utc(const struct tz *z, int64_t local)
{
	size_t k = count_until(z, local - 2 * DAY);

	/*
	 * Walk the periods from well before `local` (offsets stay within a
	 * day and two hours). The first period whose offset puts `local`
	 * inside it gives the first occurrence; if `local` fits none, it
	 * lies in a gap, and the first period whose wall clock starts after
	 * it starts at the instant the clock jumps over it.
	 */
	for (; k <= z->nr; k++) {
		int32_t off = period_type(z, k)->utoff;
		int64_t t = local - off;

		if ((!k || t >= z->at[k - 1]) && (k == z->nr || t < z->at[k]))
			return t;
		if (k && z->at[k - 1] + off > local)
			return z->at[k - 1];
	}
	return local - period_type(z, z->nr)->utoff;	/* not reached */
}

int32_t tz_max_offset(const struct tz *z, int64_t t)
{
	size_t k = count_until(z, t - 2 * DAY);
	size_t last = count_until(z, t);
	int32_t max = period_type(z, k)->utoff;

	for (; k <= last; k++)
		if (period_type(z, k)->utoff > max)
			max = period_type(z, k)->utoff;
	return max;
}

/* The name, as a file below the zone directory. */
static int check_name(const char *name)
{
	struct confval_quote q;
	const char *c;

	if (!*name)
		return error_set(ERR_INVALID, "empty time zone name");
	if (strlen(name) > TZ_NAME_MAX)
		return error_set(ERR_INVALID, "time zone name longer than %d "
				 "bytes", TZ_NAME_MAX);
	if (name[0] == '/')
		return error_set(ERR_INVALID, "'%s' is a path, not a time zone "
				 "name (use an IANA name such as "
				 "Europe/Berlin)", confval_quote(&q, name));
	for (c = name; *c; c++)
		if (!strchr("abcdefghijklmnopqrstuvwxyz"
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/_-+.", *c))
			goto bad;
	for (c = name;;) {
		size_t n = strcspn(c, "/");

		if (!n || (n == 1 && c[0] == '.') || c[0] == '-')
			goto bad;
		if (n == 2 && c[0] == '.' && c[1] == '.')
			return error_set(ERR_INVALID, "'%s' is not a time zone "
					 "name ('..' is not allowed)",
					 confval_quote(&q, name));
		if (!c[n])
			break;
		c += n + 1;
	}
	if (!strcmp(name, "localtime"))
		goto bad;
	return 0;
bad:
	return error_set(ERR_INVALID, "'%s' is not a time zone name (use an "
			 "IANA name such as Europe/Berlin)",
			 confval_quote(&q, name));
}

static int read_zone_file(const char *name, unsigned char **data_out,
			  size_t *len_out)
{
	const char *dir = getenv("TZDIR");
	char path[4096];
	struct confval_quote q;
	unsigned char *data = NULL;
	struct stat st;
	size_t len = 0;
	int fd = -1, r = 0, n;

	*data_out = NULL;
	*len_out = 0;
	if (!dir || !*dir)
		dir = TZ_DEFAULT_DIR;
	n = snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= sizeof(path))
		return error_set(ERR_INVALID, "time zone directory '%s' is too "
				 "long", confval_quote(&q, dir));
	/* O_NONBLOCK: a FIFO in the zone directory must not block us */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return error_set(ERR_INVALID, "'%s' is not a known time "
					 "zone (no such file in %s)",
					 confval_quote(&q, name), dir);
		return error_set_errno(ERR_INVALID, "cannot read time zone "
				       "'%s'", confval_quote(&q, name));
	}
	if (fstat(fd, &st) < 0) {
		r = error_set_errno(ERR_INVALID, "cannot read time zone '%s'",
				    confval_quote(&q, name));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > TZ_FILE_MAX) {
		r = error_set(ERR_INVALID, "'%s' is not a time zone (%s)",
			      confval_quote(&q, name),
			      S_ISREG(st.st_mode) ? "file too large" :
			      "not a file");
		goto out;
	}
	data = xmalloc((size_t)st.st_size + 1);
	while (len <= (size_t)st.st_size) {
		ssize_t got = read(fd, data + len, (size_t)st.st_size + 1 - len);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			r = error_set_errno(ERR_INVALID, "cannot read time "
					    "zone '%s'",
					    confval_quote(&q, name));
			goto out;
		}
		if (!got)
			break;
		len += (size_t)got;
	}
	if (len > (size_t)st.st_size) {
		r = error_set(ERR_INVALID, "time zone '%s' changed while read",
			      confval_quote(&q, name));
		goto out;
	}
	*data_out = data;
	*len_out = len;
	data = NULL;
out:
	free(data);
	close(fd);
	return r;
}

/* A bounded reader over the file's bytes. */
struct reader {
	const unsigned char *p;
	size_t left;
};

static const unsigned char *take(struct reader *r, size_t n)
{
	const unsigned char *p = r->p;

	if (n > r->left)
		return NULL;
	r->p += n;
	r->left -= n;
	return p;
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
		(uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

struct header {
	unsigned char version;
	uint32_t isut, isstd, leap, times, types, chars;
};

static bool read_header(struct reader *r, struct header *h)
{
	const unsigned char *p = take(r, 44);

	if (!p || memcmp(p, "TZif", 4))
		return false;
	h->version = p[4];
	h->isut = be32(p + 20);
	h->isstd = be32(p + 24);
	h->leap = be32(p + 28);
	h->times = be32(p + 32);
	h->types = be32(p + 36);
	h->chars = be32(p + 40);
	return true;
}

/* The size of a data block with times of `size` bytes (4 or 8). */
static size_t block_size(const struct header *h, size_t size)
{
	return h->times * size + h->times + h->types * 6 + h->chars +
		h->leap * (size + 4) + h->isstd + h->isut;
}

/* The POSIX TZ string of the footer: std offset [dst [offset] [,rules]]. */
struct rule {
	char kind;		/* 'J' (1-365, no Feb 29), 'D' (0-365), 'M' */
	int day, week, month;
	int32_t time;		/* seconds after local midnight */
};

struct posix {
	struct tz_type std, dst;
	bool has_dst;
	struct rule start, end;
};

static bool parse_num(const char **s, int min, int max, int *out)
{
	const char *p = *s;
	int n = 0;

	if (*p < '0' || *p > '9')
		return false;
	while (*p >= '0' && *p <= '9' && n <= max)
		n = n * 10 + (*p++ - '0');
	if (n < min || n > max)
		return false;
	*s = p;
	*out = n;
	return true;
}

/* [+-]hh[:mm[:ss]] with hh up to `max_hours`. */
static bool parse_hms(const char **s, int max_hours, int32_t *out)
{
	int sign = 1, h, m = 0, sec = 0;

	if (**s == '+' || **s == '-')
		sign = *(*s)++ == '-' ? -1 : 1;
	if (!parse_num(s, 0, max_hours, &h))
		return false;
	if (**s == ':') {
		(*s)++;
		if (!parse_num(s, 0, 59, &m))
			return false;
		if (**s == ':') {
			(*s)++;
			if (!parse_num(s, 0, 59, &sec))
				return false;
		}
	}
	*out = sign * (h * HOUR + m * 60 + sec);
	return true;
}

static bool parse_abbr(const char **s, char out[ABBR_MAX])
{
	const char *p = *s;
	size_t n = 0;

	if (*p == '<') {
		p++;
		n = strspn(p, "abcdefghijklmnopqrstuvwxyz"
			   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-");
		if (p[n] != '>')
			return false;
		*s = p + n + 1;
	} else {
		n = strspn(p, "abcdefghijklmnopqrstuvwxyz"
			   "ABCDEFGHIJKLMNOPQRSTUVWXYZ");
		*s = p + n;
	}
	if (n < 3 || n >= ABBR_MAX)
		return false;
	memcpy(out, p, n);
	out[n] = '\0';
	return true;
}

static bool parse_rule(const char **s, struct rule *r)
{
	const char *p = *s;

	if (*p++ != ',')
		return false;
	r->time = 2 * HOUR;
	if (*p == 'J') {
		p++;
		r->kind = 'J';
		if (!parse_num(&p, 1, 365, &r->day))
			return false;
	} else if (*p == 'M') {
		p++;
		r->kind = 'M';
		if (!parse_num(&p, 1, 12, &r->month) || *p++ != '.' ||
		    !parse_num(&p, 1, 5, &r->week) || *p++ != '.' ||
		    !parse_num(&p, 0, 6, &r->day))
			return false;
	} else {
		r->kind = 'D';
		if (!parse_num(&p, 0, 365, &r->day))
			return false;
	}
	if (*p == '/') {
		p++;
		if (!parse_hms(&p, 167, &r->time))
			return false;
	}
	*s = p;
	return true;
}

static bool parse_posix(const char *s, struct posix *out)
{
	int32_t off;

	memset(out, 0, sizeof(*out));
	if (!parse_abbr(&s, out->std.abbr) || !parse_hms(&s, 24, &off))
		return false;
	out->std.utoff = -off;	/* POSIX counts hours west of Greenwich */
	if (!*s)
		return true;
	if (!parse_abbr(&s, out->dst.abbr))
		return false;
	out->has_dst = true;
	out->dst.isdst = true;
	out->dst.utoff = out->std.utoff + HOUR;
	if (*s && *s != ',') {
		if (!parse_hms(&s, 24, &off))
			return false;
		out->dst.utoff = -off;
	}
	if (!*s) {
		/* no rule: the US rule, as POSIX implementations assume */
		const char *us = ",M3.2.0,M11.1.0";

		return parse_rule(&us, &out->start) &&
			parse_rule(&us, &out->end);
	}
	return parse_rule(&s, &out->start) && parse_rule(&s, &out->end) &&
		!*s;
}

/* The day (since the epoch) rule `r` names in `year`. */
static int64_t rule_day(const struct rule *r, int year)
{
	int64_t jan1 = tz_days_from_civil(year, 1, 1);
	int64_t first;
	int day;

	switch (r->kind) {
	case 'J':
		return jan1 + r->day - 1 + (is_leap(year) && r->day >= 60);
	case 'D':
		return jan1 + r->day;
	default:
		first = tz_days_from_civil(year, r->month, 1);
		day = (int)((r->day - (first + 4) % 7 + 14) % 7);
		day += (r->week - 1) * 7;
		while (day >= tz_days_in_month(year, r->month))
			day -= 7;
		return first + day;
	}
}

static bool same_type(const struct tz_type *a, const struct tz_type *b)
{
	return a->utoff == b->utoff && a->isdst == b->isdst &&
		!strcmp(a->abbr, b->abbr);
}

static void add_transition(struct tz *z, int64_t t, uint16_t type)
{
	const struct tz_type *now = period_type(z, z->nr);

	if (z->nr && t <= z->at[z->nr - 1])
		return;
	if (same_type(now, &z->types[type]))
		return;
	z->at[z->nr] = t;
	z->idx[z->nr++] = type;
}

/* After the last transition of the file, the rule's, to TZ_YEAR_MAX. */
static void expand_rule(struct tz *z, const struct posix *px)
{
	uint16_t std = (uint16_t)z->nr_types, dst = std + 1;
	struct tz_fields f;
	int y;

	z->types[std] = px->std;
	z->types[dst] = px->dst;
	z->nr_types += 2;
	y = TZ_YEAR_MIN;
	if (z->nr) {
		tz_split(z->at[z->nr - 1], &f);
		if (f.year > y)
			y = f.year;
	}
	for (; y <= TZ_YEAR_MAX + 1; y++) {
		int64_t on = rule_day(&px->start, y) * DAY +
			px->start.time - px->std.utoff;
		int64_t off = rule_day(&px->end, y) * DAY +
			px->end.time - px->dst.utoff;

		if (on < off) {
			add_transition(z, on, dst);
			add_transition(z, off, std);
		} else {
			add_transition(z, off, std);
			add_transition(z, on, dst);
		}
	}
}

static bool read_block(struct tz *z, struct reader *r, const struct header *h,
		       size_t size)
{
	const unsigned char *times, *idx, *types, *chars;
	uint32_t i;

	if (h->types < 1 || h->types > FILE_TYPES_MAX ||
	    h->times > FILE_TIMES_MAX || h->chars < 1 ||
	    (h->isstd && h->isstd != h->types) ||
	    (h->isut && h->isut != h->types))
		return false;
	times = take(r, h->times * size);
	idx = take(r, h->times);
	types = take(r, h->types * 6);
	chars = take(r, h->chars);
	if (!times || !idx || !types || !chars ||
	    !take(r, h->leap * (size + 4) + h->isstd + h->isut))
		return false;
	z->types = xcalloc(h->types + 2, sizeof(*z->types));
	z->at = xcalloc(h->times + RULE_TIMES_MAX, sizeof(*z->at));
	z->idx = xcalloc(h->times + RULE_TIMES_MAX, sizeof(*z->idx));
	for (i = 0; i < h->types; i++) {
		const unsigned char *p = types + i * 6;
		struct tz_type *t = &z->types[i];
		const char *abbr = (const char *)chars + p[5];
		size_t n;

		t->utoff = (int32_t)be32(p);
		t->isdst = p[4];
		if (t->utoff < -OFFSET_MAX || t->utoff > OFFSET_MAX ||
		    p[4] > 1 || p[5] >= h->chars)
			return false;
		n = strnlen(abbr, h->chars - p[5]);
		if (n == h->chars - p[5])
			return false;
		if (n >= ABBR_MAX)
			n = ABBR_MAX - 1;
		memcpy(t->abbr, abbr, n);
	}
	z->nr_types = h->types;
	for (i = 0; i < h->times; i++) {
		int64_t t = size == 8 ? be64(times + i * 8) :
			(int32_t)be32(times + i * 4);

		if ((i && t <= z->at[i - 1]) || idx[i] >= h->types)
			return false;
		z->at[i] = t;
		z->idx[i] = idx[i];
	}
	z->nr = h->times;
	return true;
}

static bool parse_tzif(struct tz *z, const unsigned char *data, size_t len,
		       bool *leap_out)
{
	struct reader r = { data, len };
	struct header h;
	const unsigned char *p;
	char footer[FOOTER_MAX + 1];
	struct posix px;
	size_t n;

	*leap_out = false;
	if (!read_header(&r, &h))
		return false;
	if (h.version >= '2') {
		if (!take(&r, block_size(&h, 4)) || !read_header(&r, &h))
			return false;
	}
	if (h.leap) {
		*leap_out = true;
		return false;
	}
	if (!read_block(z, &r, &h, h.version >= '2' ? 8 : 4))
		return false;
	if (h.version < '2')
		return true;
	p = take(&r, 1);
	if (!p || *p != '\n')
		return false;
	for (n = 0; n < r.left && n <= FOOTER_MAX && r.p[n] != '\n'; n++)
		;
	if (n >= r.left || n > FOOTER_MAX)
		return false;
	memcpy(footer, r.p, n);
	footer[n] = '\0';
	if (!n)
		return true;	/* no rule: the last type holds */
	if (!parse_posix(footer, &px))
		return false;
	if (px.has_dst)
		expand_rule(z, &px);
	return true;
}

int tz_load(struct tz **out, const char *name)
{
	struct confval_quote q;
	unsigned char *data = NULL;
	struct tz *z = NULL;
	size_t len;
	bool leap;
	int r;

	*out = NULL;
	if (!strcmp(name, "UTC")) {
		*out = &utc_zone;
		return 0;
	}
	if ((r = check_name(name)) < 0 ||
	    (r = read_zone_file(name, &data, &len)) < 0)
		goto out;
	z = xcalloc(1, sizeof(*z));
	memcpy(z->name, name, strlen(name) + 1);
	if (!parse_tzif(z, data, len, &leap)) {
		if (leap)
			r = error_set(ERR_INVALID, "'%s' counts leap seconds "
				      "(use the zone without them)",
				      confval_quote(&q, name));
		else if (len < 4 || memcmp(data, "TZif", 4))
			r = error_set(ERR_INVALID, "'%s' is not a time zone "
				      "(not a TZif file)",
				      confval_quote(&q, name));
		else
			r = error_set(ERR_INVALID, "'%s' is not a time zone "
				      "(malformed TZif file)",
				      confval_quote(&q, name));
		goto out;
	}
	*out = z;
	z = NULL;
out:
	tz_free(z);
	free(data);
	return r;
}

int tz_check(const char *name)
{
	struct tz *z;
	int r = tz_load(&z, name);

	tz_free(z);
	return r;
}

/*
 * YYYY-MM-DDTHH:MM, then ":SS" if `seconds` is true and present; `*end`
 * is what follows. False if the shape is wrong; the ranges are checked
 * by check_fields().
 */
static bool parse_fields(const char *s, bool seconds, struct tz_fields *f,
			 const char **end)
{
	static const char shape[] = "dddd-dd-ddTdd:dd";
	int *const parts[] = {
		&f->year, &f->month, &f->day, &f->hour, &f->minute
	};
	size_t i, part = 0;

	memset(f, 0, sizeof(*f));
	for (i = 0; shape[i]; i++) {
		if (shape[i] != 'd') {
			if (s[i] != shape[i])
				return false;
			part++;
		} else if (s[i] < '0' || s[i] > '9') {
			return false;
		} else {
			*parts[part] = *parts[part] * 10 + (s[i] - '0');
		}
	}
	s += i;
	if (seconds && s[0] == ':') {
		if (s[1] < '0' || s[1] > '9' || s[2] < '0' || s[2] > '9')
			return false;
		f->second = (s[1] - '0') * 10 + (s[2] - '0');
		s += 3;
	}
	*end = s;
	return true;
}

static int check_fields(const struct tz_fields *f, const char *s)
{
	struct confval_quote q;
	int days = tz_days_in_month(f->year, f->month);

	if (f->year < TZ_YEAR_MIN || f->year > TZ_YEAR_MAX)
		return error_set(ERR_INVALID, "'%s' is outside the years %d "
				 "to %d", confval_quote(&q, s), TZ_YEAR_MIN,
				 TZ_YEAR_MAX);
	if (!days)
		return error_set(ERR_INVALID, "'%s' has no month %d",
				 confval_quote(&q, s), f->month);
	if (f->day < 1 || f->day > days)
		return error_set(ERR_INVALID, "'%s' is not a date "
				 "(%04d-%02d has %d days)",
				 confval_quote(&q, s), f->year, f->month, days);
	if (f->hour > 23 || f->minute > 59 || f->second > 59)
		return error_set(ERR_INVALID, "'%s' is not a time of day",
				 confval_quote(&q, s));
	return 0;
}

int tz_parse_local(int64_t *out, const char *s)
{
	struct confval_quote q;
	struct tz_fields f;
	const char *end;
	int r;

	*out = 0;
	if (!parse_fields(s, false, &f, &end) || *end)
		return error_set(ERR_INVALID, "'%s' is not a local time (use "
				 "YYYY-MM-DDTHH:MM)", confval_quote(&q, s));
	if ((r = check_fields(&f, s)) < 0)
		return r;
	*out = tz_join(&f);
	return 0;
}

int tz_check_local(const char *s)
{
	int64_t t;

	return tz_parse_local(&t, s);
}

int tz_parse_at(int64_t *out, const char *s, const struct tz *z)
{
	struct confval_quote q;
	struct tz_fields f;
	const char *end;
	uint64_t n;
	int64_t t;
	int r;

	*out = 0;
	if (s[0] == '@') {
		if (parse_uint(s + 1, (uint64_t)TZ_TIME_MIN,
			       (uint64_t)TZ_TIME_MAX, &n) < 0)
			return error_set(ERR_INVALID, "'%s' is not a number of "
					 "seconds from %lld to %lld",
					 confval_quote(&q, s),
					 (long long)TZ_TIME_MIN,
					 (long long)TZ_TIME_MAX);
		*out = (int64_t)n;
		return 0;
	}
	if (!parse_fields(s, true, &f, &end) || (*end && strcmp(end, "Z")))
		return error_set(ERR_INVALID, "'%s' is not a time (use "
				 "YYYY-MM-DDTHH:MM[:SS] in the zone, with Z "
				 "for UTC, or @SECONDS)", confval_quote(&q, s));
	if ((r = check_fields(&f, s)) < 0)
		return r;
	t = tz_join(&f);
	if (!*end)
		t = tz_to_utc(z ? z : &utc_zone, t);
	if (t < TZ_TIME_MIN || t >= TZ_TIME_MAX)
		return error_set(ERR_INVALID, "'%s' is outside the years %d "
				 "to %d", confval_quote(&q, s), TZ_YEAR_MIN,
				 TZ_YEAR_MAX);
	*out = t;
	return 0;
}

int tz_addtime(struct buf *b, const struct tz *z, int64_t t)
{
	const char *abbr;
	struct tz_fields f;

	tz_split(tz_to_local(z, t, &abbr), &f);
	buf_addf(b, "%04d-%02d-%02d %02d:%02d", f.year, f.month, f.day,
		 f.hour, f.minute);
	if (f.second)
		buf_addf(b, ":%02d", f.second);
	buf_addf(b, " %s", abbr);
	return buf_error(b);
}
