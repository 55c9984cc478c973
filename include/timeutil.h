#ifndef TIMEUTIL_H
#define TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

/*
 * Time: one monotonic clock for every duration and deadline (never
 * affected by changes of the wall clock), and the UTC formats pushgate
 * shows and records.
 */

/* Seconds on CLOCK_MONOTONIC, for durations shown to people. */
double timeutil_now(void);

/* Milliseconds on CLOCK_MONOTONIC, for deadlines. */
int64_t timeutil_now_ms(void);

/* Longest text of timeutil_format(), terminating NUL included. */
#define TIMEUTIL_TEXT_MAX 32

enum timeutil_style {
	TIMEUTIL_ISO,		/* 2026-11-26T05:15:00Z (records) */
	TIMEUTIL_HUMAN,		/* 2026-11-26 05:15:00Z (output) */
	TIMEUTIL_COMPACT	/* 20261126T051500Z (release ids) */
};

/*
 * Format `t` (seconds since the epoch) in UTC into `out`, which holds
 * TIMEUTIL_TEXT_MAX bytes.
 */
void timeutil_format(char out[TIMEUTIL_TEXT_MAX], int64_t t,
		     enum timeutil_style style);

/*
 * Parse the TIMEUTIL_ISO form back; ERR_INVALID on anything else.
 */
int timeutil_parse_iso(int64_t *out, const char *s);

#endif
