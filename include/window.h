#ifndef WINDOW_H
#define WINDOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cron.h"

struct buf;
struct tz;

/*
 * Deploy windows (SPEC §13): when a `[window "NAME"]` is open, and
 * whether the windows of an environment let a deploy run at an instant,
 * and if not, which window holds it and until when. Pure: times are
 * instants (seconds since the epoch, UTC) passed in, nothing is read but
 * the zone files at parse time, nothing printed.
 *
 * A window has one of three shapes. Its times are in its zone, with the
 * DST rules of tz.h (a skipped local time happens when the clock jumps, a
 * repeated one the first time):
 *
 *  - `start` and `end` (cron): open from each start until the next end.
 *    It is open at T if its last start at or before T is later than its
 *    last end at or before T. When a start and an end fall on the same
 *    instant, the end wins: the window is closed then (so a window whose
 *    start and end always coincide never opens).
 *  - `start` (cron) and `duration` (seconds): open for `duration` from
 *    each start; occurrences that overlap make one longer opening.
 *  - `from` and `until` (YYYY-MM-DDTHH:MM): open from `from` up to, not
 *    including, `until`.
 *
 * Every interval is closed at its start and open at its end: a window
 * that closes at 08:00 lets a deploy run at 08:00.
 */

enum window_kind {
	WINDOW_DENY,		/* the default */
	WINDOW_ALLOW
};

/* What a deny window does to a deploy started from the CLI. */
enum window_manual {
	WINDOW_MANUAL_DENY,	/* the default: it holds it too */
	WINDOW_MANUAL_ALLOW	/* it lets it pass */
};

enum window_shape {
	WINDOW_START_END,
	WINDOW_START_DURATION,
	WINDOW_FROM_UNTIL
};

/* Longest `duration`, in seconds: 366 days. */
#define WINDOW_DURATION_MAX (366 * 86400)

/*
 * How many times the next change of one window, or the end of a hold, is
 * searched for before the search stops (see window_state() and
 * window_decide()).
 */
#define WINDOW_STEPS_MAX 1000

struct window {
	char *name;
	enum window_kind kind;
	enum window_shape shape;
	struct cron start;	/* START_END and START_DURATION */
	struct cron end;	/* START_END */
	int64_t duration;	/* START_DURATION, seconds */
	int64_t from, until;	/* FROM_UNTIL, instants */
	struct tz *zone;	/* NULL for UTC */
	enum window_manual manual;
	char *message;		/* NULL when none */
};

#define WINDOW_INIT { 0 }

void window_init(struct window *w);

/* Free the name, message and zone; `w` is left initialised. */
void window_release(struct window *w);

/*
 * The values of a `[window "NAME"]` section as written in hooks.ini, NULL
 * when a key is not set (`environments` is not the window's business).
 */
struct window_spec {
	const char *name;
	const char *kind;	/* deny (default) or allow */
	const char *start;
	const char *end;
	const char *duration;
	const char *from;
	const char *until;
	const char *timezone;	/* default UTC */
	const char *manual;	/* deny (default) or allow */
	const char *message;
};

/*
 * Checks of single values, for a schema (see confval.h: ERR_INVALID and a
 * message that reads on after "invalid 'KEY': "): `kind` and `manual`,
 * and `duration`, 1 to WINDOW_DURATION_MAX seconds (digits only). The
 * other keys are checked by cron_check() (`start`, `end`),
 * tz_check_local() (`from`, `until`) and tz_check() (`timezone`).
 */
int window_check_kind(const char *s);
int window_check_manual(const char *s);
int window_check_duration(const char *s);

/*
 * Build window `out` from `spec`: every value is checked (a bad one gives
 * "invalid 'KEY': ..."), then the whole: `start` with exactly one of
 * `end` and `duration`, or `from` with `until` (after `from` once both
 * are instants), nothing of the other shape, and `manual = allow` only on
 * a deny window. ERR_INVALID with a one-line message; `out` is then
 * released. On success the caller releases `out` with window_release().
 */
int window_parse(struct window *out, const struct window_spec *spec);

/* The zone of `w` (tz_utc() when it has none). */
const struct tz *window_zone(const struct window *w);

/* The state of one window at an instant. */
struct window_state {
	bool open;
	bool changes;		/* false: it stays so (as far as searched) */
	int64_t change;		/* when it next opens or closes, after `at` */
};

/*
 * The state of `w` at instant `at`. The next change of a start+end window
 * whose starts coincide with ends, or of a start+duration window whose
 * openings overlap, is followed through at most WINDOW_STEPS_MAX
 * occurrences; past that, `change` is where the search stopped (the
 * window surely stays so until then, and may still do after it).
 */
void window_state(struct window_state *out, const struct window *w,
		  int64_t at);

/* The decision for one environment. */
struct window_decision {
	bool allowed;
	/*
	 * When held: the window that holds it (borrowed from the caller's
	 * array), the open deny window that closes last, or, when no allow
	 * window is open, the allow window that opens first.
	 */
	const struct window *by;
	bool has_until;		/* false: held for good (as far as searched) */
	int64_t until;		/* the first instant after `at` it is allowed */
};

/*
 * May a deploy of an environment whose windows are `windows` (`nr` of
 * them) run at instant `at`? With no allow window, it may unless a deny
 * window is open; with allow windows, only while one is open; a deny
 * beats an allow. When `manual` (a deploy started from the CLI), deny
 * windows with `manual = allow` are ignored.
 *
 * When held, `until` is the first instant at which it is allowed: the
 * changes of all windows are followed in order (a deny that closes when
 * another is open, an allow window that opens inside a deny...), up to
 * WINDOW_STEPS_MAX changes; past that, `until` is where the search
 * stopped, and holding up to it is certain.
 */
void window_decide(struct window_decision *out,
		   const struct window *const *windows, size_t nr, int64_t at,
		   bool manual);

/*
 * The next changes of `w` after `at`, for `pushgate windows`: up to `max`
 * instants into `out`, each opening or closing it in turn (from its state
 * at `at`). Returns how many.
 */
size_t window_changes(int64_t *out, size_t max, const struct window *w,
		      int64_t at);

/*
 * Append instant `t` in the zone of `w` and in UTC:
 * "2026-10-23 17:00 CEST (2026-10-23 15:00Z)", or "2026-10-23 15:00 UTC"
 * for a UTC window. Returns buf_error(b).
 */
int window_addtime(struct buf *b, const struct window *w, int64_t t);

#endif
