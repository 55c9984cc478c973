/*
 * windows - the cost of deciding an environment's deploy windows
 *
 *   cc -O2 -Iinclude tests/bench/windows.c build/libpushgate.a \
 *	-o /tmp/windows && /tmp/windows [DECISIONS]
 *
 * Builds ten windows in four zones (Europe/Berlin, America/New_York,
 * Asia/Kolkata, UTC; all three shapes, deny and allow), then decides them
 * DECISIONS times (100000) at instants spread over 2026, and prints the
 * microseconds per decision, with how many were held. Zone files are
 * read once, when the windows are built, as hooks.ini is. Not built by
 * the Makefile; the figure is informative, nothing fails on it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "errors.h"
#include "tz.h"
#include "window.h"

#define NR 10

static const struct window_spec specs[NR] = {
	{ .name = "weekend", .start = "0 17 * * FRI", .end = "0 8 * * MON",
	  .timezone = "Europe/Berlin" },
	{ .name = "office", .kind = "allow", .start = "0 9 * * MON-FRI",
	  .end = "0 18 * * MON-FRI", .timezone = "Europe/Berlin" },
	{ .name = "us-office", .kind = "allow", .start = "0 9 * * MON-FRI",
	  .end = "0 17 * * MON-FRI", .timezone = "America/New_York" },
	{ .name = "christmas", .from = "2026-12-19T17:00",
	  .until = "2027-01-04T08:00", .timezone = "Europe/Berlin" },
	{ .name = "lunch", .start = "0 12 * * *", .end = "0 13 * * *",
	  .timezone = "Europe/Berlin", .manual = "allow" },
	{ .name = "backup", .start = "30 2 * * *", .duration = "3600",
	  .timezone = "Europe/Berlin" },
	{ .name = "india-batch", .start = "0 22 * * *", .duration = "5400",
	  .timezone = "Asia/Kolkata" },
	{ .name = "month-end", .start = "0 0 28-31 * *",
	  .duration = "86400" },
	{ .name = "release-train", .kind = "allow", .start = "*/30 * * * *",
	  .duration = "600" },
	{ .name = "audit", .from = "2026-06-01T00:00",
	  .until = "2026-06-15T00:00" },
};

int main(int argc, char **argv)
{
	struct window ws[NR];
	const struct window *ptrs[NR];
	struct window_decision d;
	struct timespec t0, t1;
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 100000, i, held = 0;
	int64_t start;
	double us;
	size_t k;

	if (n < 1)
		n = 1;
	for (k = 0; k < NR; k++) {
		if (window_parse(&ws[k], &specs[k]) < 0) {
			fprintf(stderr, "windows: %s: %s\n", specs[k].name,
				error_last());
			return 1;
		}
		ptrs[k] = &ws[k];
	}
	if (tz_parse_at(&start, "2026-01-01T00:00Z", NULL) < 0)
		return 1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < n; i++) {
		/* a prime step: every minute and weekday of the year */
		int64_t at = start + (i * INT64_C(7919) * 60) % (365 * 86400);

		window_decide(&d, ptrs, NR, at, false);
		held += !d.allowed;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	us = ((double)(t1.tv_sec - t0.tv_sec) * 1e6 +
	      (double)(t1.tv_nsec - t0.tv_nsec) / 1e3) / (double)n;
	printf("windows: %d windows, %ld decisions, %.2f us per decision "
	       "(%ld held)\n", NR, n, us, held);
	for (k = 0; k < NR; k++)
		window_release(&ws[k]);
	return 0;
}
