#ifndef STATUSPAGE_H
#define STATUSPAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "config.h"
#include "deploy.h"
#include "history.h"
#include "json.h"
#include "repo.h"
#include "state.h"
#include "status.h"

/*
 * Looking at it (SPEC §15): the status page and the JSON views of the
 * CLI. After every history record (deploy.c's recorded hook, which the
 * mains point at statuspage_recorded()), the page is written again as
 * $GIT_DIR/pushgate/status.html and status.json, each through a
 * temporary file, fsync and rename, so that a reader sees the old or
 * the new document, never half of one; with [core] status_page set,
 * both are copied there the same way. Nothing here touches the network:
 * the hosts' states are those the last deploy of each environment
 * reported (kept in $GIT_DIR/pushgate/hosts/ENV), never asked anew.
 *
 * The page holds no script and loads nothing (a Content-Security-Policy
 * forbids both); every text that came from a commit, a user or a host
 * goes through statuspage_html_escape().
 */

/* Records in the page's history table and in status.json. */
#define STATUSPAGE_HISTORY 50
/* Waiting commits listed per environment (the count is all of them). */
#define STATUSPAGE_WAITING 5
/* Most bytes of one document (the page or status.json). */
#define STATUSPAGE_MAX (4 * 1024 * 1024)

/*
 * Append `len` bytes of untrusted `s` as HTML text, fit for element
 * content and quoted attribute values alike: & < > " ' become entities,
 * bytes that are not UTF-8, control characters (tab and newline
 * excepted) and C1 controls become U+FFFD.
 */
void statuspage_html_escape(struct buf *out, const char *s, size_t len);

/*
 * The promotion order of cfg's environments: an environment that
 * `requires` another comes after it, otherwise hooks.ini's order (a
 * cycle, which config refuses anyway, falls back to hooks.ini's order).
 * order[] gets cfg->nr_envs indices into cfg->envs.
 */
void statuspage_order(const struct config *cfg, size_t *order);

/*
 * Render the page and status.json for the state of the repository at
 * `now` (seconds since the epoch) into `html` and `json` (either may be
 * NULL). Errors reading the history are returned.
 */
int statuspage_render(struct buf *html, struct buf *json,
		      const struct config *cfg, struct repo *repo,
		      struct state *st, int64_t now);

/*
 * Render and write status.html and status.json into st->dir, and into
 * [core] status_page when set (created mode 0755 if missing). Writers
 * take turns (lock "statuspage"), so the last one shows the newest
 * state. 0, or an error with its message set.
 */
int statuspage_update(const struct config *cfg, struct repo *repo,
		      struct state *st);

/*
 * Keep what the deploy or rollback `out` did on each host (the targets
 * it did not touch keep their earlier state), for the page.
 */
int statuspage_note_hosts(struct state *st, const struct deploy_outcome *out);

/*
 * deploy.c's recorded hook (deploy_set_recorded_hook()): note the hosts,
 * then statuspage_update(); a failure is a warning, never a failed
 * deploy.
 */
void statuspage_recorded(const struct deploy_opts *o,
			 const struct deploy_outcome *out);

/*
 * JSON views, with the field names pushgate(1) documents. Each appends
 * one value to `j` under `key` (NULL in an array).
 */

/* One history record: time, environment, action, commit, ... */
void statuspage_record_json(struct json *j, const char *key,
			    const struct history_record *r);

/*
 * One environment, gathered by status_collect() (with its hosts asked
 * or not: "current" and "drift" are there only when they were).
 */
int statuspage_env_json(struct json *j, const char *key,
			const struct config *cfg, struct repo *repo,
			struct state *st, const struct status_env *s,
			int64_t now);

/*
 * `pushgate check --json` of the targets of `env`: one object per host
 * on stdout, one line each. Returns how many failed.
 */
size_t statuspage_check_json(const struct config_env *env, struct state *st);

#endif
