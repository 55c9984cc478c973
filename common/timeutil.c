#include "timeutil.h"

#include <string.h>
#include <time.h>

#include "errors.h"

#define ISO_FORMAT "%Y-%m-%dT%H:%M:%SZ"

double timeutil_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int64_t timeutil_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void timeutil_format(char out[TIMEUTIL_TEXT_MAX], int64_t t,
		     enum timeutil_style style)
{
	time_t tt = (time_t)t;
	struct tm tm;
	size_t n = 0;

	if (gmtime_r(&tt, &tm)) {
		/* literal formats, so that the compiler checks them */
		switch (style) {
		case TIMEUTIL_ISO:
			n = strftime(out, TIMEUTIL_TEXT_MAX, ISO_FORMAT, &tm);
			break;
		case TIMEUTIL_HUMAN:
			n = strftime(out, TIMEUTIL_TEXT_MAX,
				     "%Y-%m-%d %H:%M:%SZ", &tm);
			break;
		case TIMEUTIL_COMPACT:
			n = strftime(out, TIMEUTIL_TEXT_MAX, "%Y%m%dT%H%M%SZ",
				     &tm);
			break;
		}
	}
	if (!n)
		memcpy(out, "?", 2);
}

int timeutil_parse_iso(int64_t *out, const char *s)
{
	struct tm tm;
	const char *end;

	*out = 0;
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, ISO_FORMAT, &tm);
	if (!end || *end)
		return error_set(ERR_INVALID, "'%.40s' is not a time", s);
	*out = (int64_t)timegm(&tm);
	return 0;
}
