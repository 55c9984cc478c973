#ifndef FLEET_H
#define FLEET_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Workers driven phase by phase: one forked process per member of a
 * fleet (a deploy's hosts), each keeping its own state (an SSH session)
 * from one phase to the next, so that members work in parallel on two
 * or more cores. The parent sends a named phase with an argument to
 * the members it picks, then collects one reply from each through a
 * callback. fleet knows nothing about what a member is.
 *
 * The pipe protocol: the parent writes a request (phase number, argument
 * length, argument bytes); the worker answers with one fixed-size reply
 * (code, flags, message). A worker that dies or cannot be reached
 * counts as a failure of that phase, with a message saying so.
 */

/* Most members (one worker process each). */
#define FLEET_MAX 256
/* Longest argument sent with a phase, and message in a reply. */
#define FLEET_ARG_MAX 1024
#define FLEET_MSG_MAX 512

struct fleet;

/* What a worker answers for one phase. */
struct fleet_reply {
	int code;		/* 0, or a negative ERR_* */
	unsigned flags;		/* the caller's own bits */
	double seconds;		/* how long the phase took in the worker */
	char msg[FLEET_MSG_MAX];	/* the error, or a note; "" if none */
};

/* The work, run in each worker process. */
struct fleet_ops {
	/* Once, at the start: the worker's state for member `index`. */
	void *(*start)(size_t index, void *payload);
	/*
	 * One phase: returns 0 or an error (its message becomes the
	 * reply's); may set reply->flags and, on success, reply->msg.
	 */
	int (*run)(void *state, unsigned phase, const char *arg,
		   struct fleet_reply *reply);
	/*
	 * Once, when the parent went away (it died without telling the
	 * worker to stop: killed outright, say) instead of the next phase;
	 * then stop runs. NULL: nothing to do.
	 */
	void (*abandoned)(void *state);
	/* Once, at the end (also when the parent went away). */
	void (*stop)(void *state);
};

/*
 * Fork `n` workers (1 <= n <= FLEET_MAX). `ops` and `payload` are used
 * in the workers, as they were in the parent when it forked.
 */
int fleet_start(struct fleet **out, size_t n, const struct fleet_ops *ops,
		void *payload);

/* Receives each picked member's reply, in member order. */
typedef void (*fleet_reply_fn)(size_t index, const struct fleet_reply *reply,
			       void *payload);

/*
 * Run `phase` (named `name` in messages) with `arg` (NULL: none; clipped
 * to FLEET_ARG_MAX) on the members `pick` selects (NULL: all), in
 * parallel, and hand every reply to `fn`. Returns how many failed.
 */
size_t fleet_run(struct fleet *f, unsigned phase, const char *name,
		 const char *arg, const bool *pick, fleet_reply_fn fn,
		 void *payload);

/*
 * The same with at most `limit` members working at any moment (0: no
 * limit): the next picked member starts as soon as one answers. The
 * replies still reach `fn` in member order, once all are in.
 */
size_t fleet_run_limit(struct fleet *f, unsigned phase, const char *name,
		       const char *arg, const bool *pick, size_t limit,
		       fleet_reply_fn fn, void *payload);

/* Tell every worker to stop, and wait for them; frees `f` (NULL ok). */
void fleet_stop(struct fleet *f);

/*
 * In a worker: has the parent gone away (died, so that the worker was
 * handed to another process)? A long phase may ask, to stop early; the
 * worker's `abandoned` runs once the phase returns. False outside a
 * worker.
 */
bool fleet_parent_gone(void);

#endif
