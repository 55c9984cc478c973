#ifndef TARGET_H
#define TARGET_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"

/*
 * Where an environment's releases go live, one host (or one remote
 * repository) at a time, behind one interface: the deploy engine drives
 * every kind of target through the same phases and never asks which
 * kind it has. The release-directory target of SPEC §5 (release.c, over
 * a local or SSH host) is the first kind; a GitOps repository (§12) is
 * the second.
 *
 * A deploy calls, per target: prepare (everything that can fail before
 * anything live changes: the release is in place) → activate (the live
 * change: switch, with its commands and health check) → finish (after
 * every target is live: clean up); on one target, run_once before the
 * first activate and after the last. If any target fails to prepare,
 * every target discards; if any fails to activate (or a run_once
 * fails), every target that began activating reverts (back to what it
 * had), and every target marks the release failed.
 *
 * Every operation returns 0 or a negative error with its message set
 * (one line, naming what failed; the target's label is added by the
 * caller). Operations run in a worker process, one per target.
 */

struct host_spool;
struct manifest;
struct sink;
struct target;

enum target_action {
	TARGET_DEPLOY = 0,	/* a new release from the artifact */
	TARGET_ROLLBACK,	/* an existing release, made live again */
	TARGET_REPAIR		/* the recorded release, put back (drift) */
};

/* Writes the release's entries (artifact, config overlay, REVISION). */
typedef int (*target_produce_fn)(struct sink *sink, void *payload);

/* What one deploy or rollback asks of every target. */
struct target_job {
	const struct config_env *env;
	enum target_action action;
	const char *commit;	/* full hex id of the release's commit */
	const char *subject;	/* that commit's subject, or NULL */
	const char *release;	/* the release id made live */
	const char *ref;	/* refs/heads/BRANCH, for PUSHGATE_REF */
	const char *user;	/* who asked, or NULL */
	uint64_t mtime;		/* stamped on uploaded entries */
	target_produce_fn produce;	/* the entries, for a new release */
	void *produce_payload;
	/* the same, encoded once for every SSH host (NULL: none, SPEC §11) */
	const struct host_spool *spool;
	/* where an SSH host's upload may encode it (NULL: a pipe) */
	const char *spool_dir;
	/*
	 * A new release may start from the live one (SPEC §9): what it holds
	 * (`next`, NULL: unknown), and the base it may start from (its
	 * manifest, id and commit; NULL: none, send everything).
	 */
	const struct manifest *next;
	const struct manifest *base;
	const char *base_release;
	const char *base_commit;
	/* should an upload stop now (the deploy is given up)? NULL: never */
	bool (*cancelled)(void);
};

struct target_ops {
	/*
	 * Make the release ready without changing what is live: upload it
	 * (or check that a rollback's release is still there and good),
	 * and learn what is live now (t->left).
	 */
	int (*prepare)(struct target *t, const struct target_job *job);
	/*
	 * Make the release live (with the target's own commands and
	 * health check). Sets t->changed as soon as anything live may
	 * have changed, so that a failure is reverted.
	 */
	int (*activate)(struct target *t, const struct target_job *job);
	/*
	 * Run a command once for the whole deploy (SPEC §11: `before_once`
	 * before the first switch, `after_once` after the last batch), on
	 * the target chosen as primary; `which` names the key. Sets
	 * t->changed: such a command may have changed what is live.
	 */
	int (*run_once)(struct target *t, const struct target_job *job,
			const char *which);
	/* Go back to exactly what was live before activate. */
	int (*revert)(struct target *t, const struct target_job *job);
	/* Leave a mark saying why the release failed, for inspection. */
	int (*mark_failed)(struct target *t, const struct target_job *job,
			   const char *reason);
	/* Remove what prepare left (nothing was activated anywhere). */
	int (*discard)(struct target *t, const struct target_job *job);
	/* After every target went live: end maintenance, prune. */
	int (*finish)(struct target *t, const struct target_job *job);
	/* The release live now (*out NULL if none, or not pushgate's). */
	int (*current)(struct target *t, char **out);
	/* `pushgate check`: can this target take a deploy? */
	int (*check)(struct target *t);
	/* Disconnect and free. */
	void (*close)(struct target *t);
};

/* The part every kind of target shares (embedded first in each kind). */
struct target {
	const struct target_ops *ops;
	const char *label;	/* as in hooks.ini, for messages; borrowed */
	bool changed;		/* activate may have changed what is live */
	bool incremental;	/* prepare sent only what changed */
	char *left;		/* the release live before (NULL: none) */
	char *note;		/* one line for the outcome, or NULL */
};

/*
 * The calls, through the target's ops; `job` must be the same for every
 * call of one deploy. target_close() accepts NULL.
 */
int target_prepare(struct target *t, const struct target_job *job);
int target_activate(struct target *t, const struct target_job *job);
int target_run_once(struct target *t, const struct target_job *job,
		    const char *which);
int target_revert(struct target *t, const struct target_job *job);
int target_mark_failed(struct target *t, const struct target_job *job,
		       const char *reason);
int target_discard(struct target *t, const struct target_job *job);
int target_finish(struct target *t, const struct target_job *job);
int target_current(struct target *t, char **out);
int target_check(struct target *t);
void target_close(struct target *t);

/* For implementations: set up and free the shared part. */
void target_init(struct target *t, const struct target_ops *ops,
		 const char *label);
void target_release(struct target *t);

/* Set t->note (replacing an earlier one). */
void target_set_note(struct target *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
