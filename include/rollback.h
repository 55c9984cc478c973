#ifndef ROLLBACK_H
#define ROLLBACK_H

#include <stdbool.h>

#include "history.h"
#include "release.h"
#include "repo.h"
#include "state.h"

/*
 * Which release `pushgate rollback ENV [RELEASE-or-COMMIT]` makes live,
 * chosen from the history: only releases whose deploy succeeded qualify.
 */

/* The release `pushgate rollback` makes live. */
struct rollback_target {
	char release[RELEASE_ID_MAX];
	struct repo_oid commit;
};

/*
 * The choice, fed the history records of `env` twice, oldest first: in
 * a first pass with rollback_pick_live() (which release is live), then in
 * a second with rollback_pick_feed(). It picks the release want_release if
 * given, else the newest release of the commit want_commit (full hex) if
 * given, else the newest good release older than the live one. Only
 * releases whose deploy succeeded qualify. Pure: no I/O.
 */
struct rollback_pick {
	const char *env;
	const char *want_release;
	const char *want_commit;
	char live[RELEASE_ID_MAX];
	char release[RELEASE_ID_MAX];
	char commit[REPO_OID_HEXSZ + 1];
	bool failed;		/* the named release failed */
};

void rollback_pick_init(struct rollback_pick *p, const char *env,
		      const char *want_release, const char *want_commit);
void rollback_pick_live(struct rollback_pick *p, const struct history_record *r);
void rollback_pick_feed(struct rollback_pick *p, const struct history_record *r);

/*
 * The choice made: 0 with *out set, ERR_NOTFOUND if there is none,
 * ERR_INVALID if the named release failed; the message says so.
 */
int rollback_pick_result(struct rollback_target *out,
		       const struct rollback_pick *p);

/* rollback_pick_*() over the history of `env`. */
int rollback_choose(struct rollback_target *out, struct state *st,
			 const char *env, const char *want_release,
			 const char *want_commit);

#endif
